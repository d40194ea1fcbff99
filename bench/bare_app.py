"""The ceiling for `bench/throughput.py`: bare Starlette on uvicorn, as the gateway is served
(one process, no access log), reading the body and answering a small 202 JSON.

    .venv/bin/python bench/bare_app.py PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"received": len(body)}, status_code=202)


app = Starlette(routes=[Route("/webhooks/{name}", accept, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
