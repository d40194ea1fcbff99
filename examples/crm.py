"""The example CRM: one record per customer, with the orders it has heard of.

    POST /customers/{customer_id}/orders  {"order_id", "email", "name", "total", "currency",
                                           "status"} -> 200, the customer record
    GET  /customers/{customer_id}, GET /customers, /healthz, /admin/faults (see peers.py)

An order is recorded once per (customer, order id), whatever the number of calls.

    python -m examples.crm --port 8102 --state .hooktide/crm.json
"""

from __future__ import annotations

import argparse
import os
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


class OrderNote(BaseModel):
    order_id: str = Field(min_length=1)
    email: str = Field(min_length=3)
    name: str | None = None
    total: str
    currency: str = "EUR"
    status: str = "confirmed"


def create_app(state_file: Path, *, faults: Faults | None = None) -> Starlette:
    peer = Peer("crm", JsonState(state_file, {"customers": {}}), faults)
    customers: dict[str, Any] = peer.state.data["customers"]

    async def record(request: Request, payload: Any) -> tuple[int, Any]:
        note = OrderNote.model_validate(payload)
        cid = request.path_params["customer_id"]
        customer = customers.setdefault(cid, {"id": cid, "orders": {}})
        customer.update(email=note.email, name=note.name or customer.get("name"))
        customer["orders"][note.order_id] = {
            **note.model_dump(exclude={"email", "name"}),
            "updated_at": datetime.now(UTC).isoformat(),
        }
        return 200, customer

    async def show(request: Request) -> Response:
        customer = customers.get(request.path_params["customer_id"])
        if customer is None:
            return JSONResponse({"error": "no such customer"}, status_code=404)
        return JSONResponse(customer)

    async def index(request: Request) -> Response:
        return JSONResponse(customers)

    return peer.app(
        [
            Route("/customers/{customer_id}/orders", peer.endpoint(record), methods=["POST"]),
            Route("/customers/{customer_id}", show, methods=["GET"]),
            Route("/customers", index, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--state", type=Path, default=Path(".hooktide/crm.json"))
    parser.add_argument(
        "--faults", default=os.environ.get("HOOKTIDE_CRM_FAULTS"),
        help='failures to inject from the start, e.g. \'{"status": 500, "times": -1}\'',
    )  # fmt: skip
    args = parser.parse_args()
    app = create_app(args.state, faults=faults_from(args.faults))
    print(f"crm        listening on http://{args.host}:{args.port}, state {args.state}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
