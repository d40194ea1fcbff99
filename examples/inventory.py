"""The example inventory service: reserves stock for orders and releases it again.

    POST /reservations                    {"order_id", "lines": [{"sku", "quantity"}]}
                                          201 reserved | 200 already reserved | 409 short
    POST /reservations/{order_id}/release 200 released (again: 200) | 404 unknown
    GET  /reservations/{order_id}, GET /stock, /healthz, /admin/faults (see peers.py)

Every SKU starts with `--default-stock` units. State lives in a JSON file.

    python -m examples.inventory --port 8101 --state .hooktide/inventory.json
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.peers import Faults, JsonState, Peer, faults_from


class Line(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class ReserveRequest(BaseModel):
    order_id: str = Field(min_length=1)
    lines: list[Line] = Field(min_length=1)


def create_app(
    state_file: Path, *, default_stock: int = 100, faults: Faults | None = None
) -> Starlette:
    peer = Peer("inventory", JsonState(state_file, {"stock": {}, "reservations": {}}), faults)
    data = peer.state.data

    def stock(sku: str) -> int:
        return int(data["stock"].setdefault(sku, default_stock))

    async def reserve(request: Request, payload: Any) -> tuple[int, Any]:
        ask = ReserveRequest.model_validate(payload)
        existing = data["reservations"].get(ask.order_id)
        if existing is not None and existing["status"] == "reserved":
            return 200, existing
        short = [line.sku for line in ask.lines if stock(line.sku) < line.quantity]
        if short:
            return 409, {"error": "insufficient stock", "skus": short}
        for line in ask.lines:
            data["stock"][line.sku] = stock(line.sku) - line.quantity
        reservation = {
            "reservation_id": f"res_{uuid.uuid4().hex[:12]}",
            "order_id": ask.order_id,
            "lines": [line.model_dump() for line in ask.lines],
            "status": "reserved",
            "reserved_at": datetime.now(UTC).isoformat(),
        }
        data["reservations"][ask.order_id] = reservation
        return 201, reservation

    async def release(request: Request, payload: Any) -> tuple[int, Any]:
        reservation = data["reservations"].get(request.path_params["order_id"])
        if reservation is None:
            return 404, {"error": "no such reservation"}
        if reservation["status"] == "reserved":
            for line in reservation["lines"]:
                data["stock"][line["sku"]] = stock(line["sku"]) + line["quantity"]
            reservation["status"] = "released"
            reservation["released_at"] = datetime.now(UTC).isoformat()
        return 200, reservation

    async def show(request: Request) -> Response:
        reservation = data["reservations"].get(request.path_params["order_id"])
        if reservation is None:
            return JSONResponse({"error": "no such reservation"}, status_code=404)
        return JSONResponse(reservation)

    async def show_stock(request: Request) -> Response:
        return JSONResponse(data["stock"])

    return peer.app(
        [
            Route("/reservations", peer.endpoint(reserve), methods=["POST"]),
            Route("/reservations/{order_id}/release", peer.endpoint(release), methods=["POST"]),
            Route("/reservations/{order_id}", show, methods=["GET"]),
            Route("/stock", show_stock, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--state", type=Path, default=Path(".hooktide/inventory.json"))
    parser.add_argument("--default-stock", type=int, default=100)
    parser.add_argument(
        "--faults", default=os.environ.get("HOOKTIDE_INVENTORY_FAULTS"),
        help='failures to inject from the start, e.g. \'{"status": 503, "retry_after": 5}\'',
    )  # fmt: skip
    args = parser.parse_args()
    app = create_app(args.state, default_stock=args.default_stock, faults=faults_from(args.faults))
    print(f"inventory  listening on http://{args.host}:{args.port}, state {args.state}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
