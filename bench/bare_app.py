"""The ceiling for the gateway benchmarks: bare Starlette on uvicorn, as the gateway is served
(one process, uvloop with httptools, no access log), reading the body and answering a small
202 JSON. `--loop asyncio --http h11` serves it on the standard stack instead (the pair
bench/ack_path.py compares).

    .venv/bin/python bench/bare_app.py PORT [--loop uvloop|asyncio] [--http httptools|h11]
"""

from __future__ import annotations

import argparse

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop=args.loop,
        http=args.http,
        access_log=False,
        log_level="warning",
    )
