"""The codec server for Temporal's Web UI: `POST /codec/encode` and `POST /codec/decode`,
Temporal's remote codec protocol (a JSON `{"payloads": [...]}` of protobuf-JSON payloads in,
the same out).

Never an open decryption oracle: each call needs `Authorization: Bearer <operator token>`
(the Web UI sends its user's access token when "pass access token" is on, so put the UI and
the gateway behind one identity provider, or a proxy that adds the operator token for signed-in
users), or — with HOOKTIDE_CODEC_ALLOW_LOOPBACK, which only `make run` sets — a loopback
caller. CORS answers only HOOKTIDE_CODEC_CORS_ORIGIN (the Web UI's origin), with credentials.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from starlette.requests import Request
from starlette.responses import Response
from temporalio.api.common.v1 import Payloads

from webhook_gateway.config.payload_keys import payload_keys
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import EncryptionCodec, PayloadKeyError
from webhook_gateway.errors import MalformedBody, RequestRejected, RouteNotFound
from webhook_gateway.operator.auth import authorize
from webhook_gateway.problem import error_response

MAX_BODY = 4 * 1_048_576
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


class UndecodablePayload(RequestRejected):
    status = 422
    slug = "undecodable-payload"
    title = "A payload cannot be decrypted"


def endpoints(settings: Settings) -> tuple[Callable[[Request], Awaitable[Response]], ...]:
    """(encode, decode): each answers its CORS preflight too."""
    keys = payload_keys(settings)
    codec = EncryptionCodec(keys) if keys else None

    def make(direction: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            cors = _cors(settings, request)
            if request.method == "OPTIONS":
                return Response(status_code=204 if cors else 403, headers=cors)
            try:
                if codec is None:
                    raise RouteNotFound(
                        "Payload encryption is off (HOOKTIDE_PAYLOAD_KEYS is not set): there is "
                        "nothing to decode."
                    )
                _authorize(settings, request)
                payloads = await _payloads(request)
                try:
                    if direction == "encode":
                        done = await codec.encode(list(payloads.payloads))
                    else:
                        done = await codec.decode(list(payloads.payloads))
                except PayloadKeyError as exc:
                    raise UndecodablePayload(str(exc)) from None
            except RequestRejected as exc:
                response = error_response(exc, instance=request.url.path)
                response.headers.update(cors)
                return response
            body = json_format.MessageToJson(Payloads(payloads=done))
            return Response(body, media_type="application/json", headers=cors)

        return endpoint

    return make("encode"), make("decode")


def _cors(settings: Settings, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin != settings.codec_cors_origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Vary": "Origin",
    }


def _authorize(settings: Settings, request: Request) -> None:
    if settings.codec_allow_loopback and _loopback(request):
        return
    authorize(
        request,
        off="The codec endpoints are off (under make run only, HOOKTIDE_CODEC_ALLOW_LOOPBACK "
        "lets callers on this machine in without a token)",
    )


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _payloads(request: Request) -> Payloads:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise MalformedBody(f"The body is larger than {MAX_BODY} bytes.")
    try:
        json.loads(raw)
        return json_format.Parse(raw, Payloads())
    except (ValueError, json_format.ParseError, DecodeError) as exc:
        raise MalformedBody(
            'Send {"payloads": [{"metadata": {...}, "data": "<base64>"}]}, as Temporal\'s '
            f"remote codec protocol does: {str(exc)[:200]}"
        ) from None
