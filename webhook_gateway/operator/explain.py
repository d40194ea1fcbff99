"""`POST /routes/{name}/explain` (operator token): a route's dry run over a sample request.

The request body is JSON: `{"body": <the webhook's JSON body>, "headers": {...},
"query": {...}, "path_params": {...}}` (all but `body` optional). The answer is what
`hooktide explain` prints: event type, each rule matched or not and why, each target's
workflow id and input, schema errors. Nothing is verified, started or stored.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.errors import MalformedBody, RouteNotFound
from webhook_gateway.operator.auth import authorize
from webhook_gateway.routing.explain import explain, sample
from webhook_gateway.routing.plan import Planner

MAX_SAMPLE_BYTES = 1_048_576


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: JsonValue = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | list[str]] = Field(default_factory=dict)
    path_params: dict[str, str] = Field(default_factory=dict)


async def explain_route(request: Request) -> Response:
    authorize(request)
    config: HooktideConfig = request.app.state.config
    name = request.path_params["name"]
    try:
        route = config.route(name)
    except KeyError:
        names = ", ".join(r.name for r in config.routes)
        raise RouteNotFound(f"No route named '{name}'; the routes are: {names}.") from None
    given = await _sample(request)
    planner = Planner(route, forwarded=route.forwarded_headers())
    delivery = sample(
        body=given.body,
        headers=given.headers,
        query=given.query,
        path_params=given.path_params,
        raw=json.dumps(given.body).encode(),
        id_headers=route.verifier.id_headers,
    )
    return JSONResponse(explain(planner, delivery))


async def _sample(request: Request) -> Sample:
    raw = await request.body()
    if len(raw) > MAX_SAMPLE_BYTES:
        raise MalformedBody(f"The sample is larger than {MAX_SAMPLE_BYTES} bytes.")
    try:
        data: Any = json.loads(raw or b"{}")
        return Sample.model_validate(data)
    except (ValueError, RecursionError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise MalformedBody(
            'Send JSON {"body": ..., "headers": {...}, "query": {...}, "path_params": {...}}: '
            f"{detail}"
        ) from None
