"""An example receiver of Hooktide's outbound webhooks, verified with `standardwebhooks`.

    HOOKTIDE_SUBSCRIBER_SECRET=whsec_... python -m examples.subscriber --port 8103

POST /webhooks verifies the signature (401 if it does not match), keeps each message once
(by `webhook-id`: a redelivery is acknowledged, not stored twice) in a JSON-lines file and
prints one line. GET /events lists what arrived.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.peers import log

SECRET_ENV = "HOOKTIDE_SUBSCRIBER_SECRET"  # noqa: S105 (a variable name)


def create_app(secret: str, events_file: Path) -> Starlette:
    webhook = Webhook(secret)
    events_file.parent.mkdir(parents=True, exist_ok=True)

    def stored() -> list[dict[str, object]]:
        if not events_file.exists():
            return []
        lines = events_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    async def receive(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = webhook.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            log("subscriber", f"refused a delivery: {exc}")
            return JSONResponse({"error": "signature verification failed"}, status_code=401)
        msg_id = headers.get("webhook-id", "")
        if any(e.get("id") == msg_id for e in stored()):
            return JSONResponse({"ok": True, "duplicate": True})
        event = {
            "id": msg_id,
            "type": payload.get("type"),
            "data": payload.get("data"),
            "received_at": datetime.now(UTC).isoformat(),
        }
        with events_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")
        data = payload.get("data") or {}
        log("subscriber", f"{event['type']} order={data.get('order_id')} ({msg_id})")
        return JSONResponse({"ok": True})

    async def events(request: Request) -> Response:
        return JSONResponse(stored())

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "subscriber"})

    return Starlette(
        routes=[
            Route("/webhooks", receive, methods=["POST"]),
            Route("/events", events, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--events", type=Path, default=Path(".hooktide/subscriber-events.jsonl"))
    args = parser.parse_args()
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        raise SystemExit(
            f"{SECRET_ENV} is not set: the secret of the 'example-subscriber' subscription"
        )
    app = create_app(secret, args.events)
    log("subscriber", f"listening on http://{args.host}:{args.port}/webhooks")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
