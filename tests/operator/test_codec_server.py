"""The Web UI's codec server: decode needs the operator's token (or, under `make run` only,
a loopback caller), CORS answers the UI's origin alone, bad bodies are 400 problem+json."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest

from tests.support.gateway import GatewayClient, serve_gateway
from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import new_key

TOKEN = "operator-codec-token-0123456789"
UI = "http://127.0.0.1:8233"
KEYS = new_key("k2") + "," + new_key("k1")


def settings(**extra: object) -> Settings:
    return Settings(
        TEMPORAL_ADDRESS="127.0.0.1:9",
        HOOKTIDE_OPERATOR_TOKEN=TOKEN,
        HOOKTIDE_PAYLOAD_KEYS=KEYS,
        HOOKTIDE_CODEC_CORS_ORIGIN=UI,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def gateway() -> AsyncIterator[GatewayClient]:
    async with serve_gateway(parse_config({"routes": {}}), settings()) as http:
        yield http


def payloads(*texts: str) -> dict[str, object]:
    return {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(text.encode()).decode(),
            }
            for text in texts
        ]
    }


AUTH = {"authorization": f"Bearer {TOKEN}"}


async def test_encode_then_decode_with_the_operator_token(gateway: GatewayClient) -> None:
    original = payloads('{"email": "ada@example.com"}', '"second"')
    encoded = await gateway.post("/codec/encode", json=original, headers=AUTH)
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"]
    assert base64.b64decode(sealed[0]["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(sealed[0]["metadata"]["encryption-key-id"]) == b"k2"
    assert b"ada@example.com" not in base64.b64decode(sealed[0]["data"])
    decoded = await gateway.post("/codec/decode", json={"payloads": sealed}, headers=AUTH)
    assert decoded.status_code == 200
    assert decoded.json() == original


async def test_decode_without_the_token_is_refused(gateway: GatewayClient) -> None:
    sealed = (await gateway.post("/codec/encode", json=payloads('"x"'), headers=AUTH)).json()
    for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}):
        answer = await gateway.post("/codec/decode", json=sealed, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert "x" not in answer.json().get("payloads", [])


async def test_cors_is_granted_to_the_ui_origin_only(gateway: GatewayClient) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-namespace",
    }
    granted = await gateway.options("/codec/decode", headers={"origin": UI, **preflight})
    assert granted.status_code == 204
    assert granted.headers["access-control-allow-origin"] == UI
    assert granted.headers["access-control-allow-credentials"] == "true"
    assert "X-Namespace" in granted.headers["access-control-allow-headers"]
    other = await gateway.options(
        "/codec/decode", headers={"origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers
    posted = await gateway.post(
        "/codec/decode", json=payloads('"x"'), headers={**AUTH, "origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in posted.headers


async def test_malformed_bodies_and_unknown_keys_are_problems(gateway: GatewayClient) -> None:
    for body in (b"not json", b'{"payloads": "nope"}', b"[1, 2]"):
        answer = await gateway.post("/codec/decode", content=body, headers=AUTH)
        assert answer.status_code == 400, body
        assert answer.json()["type"].endswith("/malformed-body")
    foreign = {
        "payloads": [
            {
                "metadata": {
                    "encoding": base64.b64encode(b"binary/encrypted").decode(),
                    "encryption-key-id": base64.b64encode(b"k0").decode(),
                },
                "data": base64.b64encode(b"\x00" * 40).decode(),
            }
        ]
    }
    answer = await gateway.post("/codec/decode", json=foreign, headers=AUTH)
    assert answer.status_code == 422
    assert "key id 'k0'" in answer.json()["detail"]


async def test_loopback_callers_need_no_token_only_when_make_run_allows_it() -> None:
    sealed: object = None
    async with serve_gateway(
        parse_config({"routes": {}}), settings(HOOKTIDE_CODEC_ALLOW_LOOPBACK=True)
    ) as http:
        answer = await http.post("/codec/encode", json=payloads('"x"'))
        assert answer.status_code == 200
        sealed = answer.json()
        assert (await http.post("/codec/decode", json=sealed)).status_code == 200
    async with serve_gateway(parse_config({"routes": {}}), settings()) as http:
        assert (await http.post("/codec/decode", json=sealed)).status_code == 401


async def test_the_endpoints_say_when_encryption_is_off() -> None:
    off = Settings(TEMPORAL_ADDRESS="127.0.0.1:9", HOOKTIDE_OPERATOR_TOKEN=TOKEN)
    async with serve_gateway(parse_config({"routes": {}}), off) as http:
        answer = await http.post("/codec/decode", json=payloads('"x"'), headers=AUTH)
    assert answer.status_code == 404
    assert "Payload encryption is off" in json.loads(answer.text)["detail"]
