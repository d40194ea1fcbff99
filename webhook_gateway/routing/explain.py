"""A dry run: what a route would do with a request, rule by rule, without Temporal.

`hooktide explain` and `POST /routes/{name}/explain` print this. It takes the request as
already verified (it checks no signature) and follows `Planner`, the endpoint's own path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from webhook_gateway.config.ids import extract_id
from webhook_gateway.config.routes import NEVER_FORWARDED
from webhook_gateway.contracts.flow import sequencer_workflow_id
from webhook_gateway.errors import SchemaMismatch, UnprocessableEvent
from webhook_gateway.routing.delivery import Delivery
from webhook_gateway.routing.plan import Planned, Planner

#: Stands in for the delivery id when the request carries none (a hand-made sample).
PLACEHOLDER_ID = "{delivery_id}"


def sample(
    *,
    body: Any,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    path_params: Mapping[str, str] | None = None,
    raw: bytes = b"",
    id_headers: Sequence[str] = (),
) -> Delivery:
    """A hand-given request (a body and its headers) as the endpoint would see it once
    verified; credential headers are dropped as there. The signed id is the first of
    `id_headers` (the route's verifier's) given: what verification would have reported."""
    lower = {k.lower(): v for k, v in (headers or {}).items()}
    return Delivery(
        signed_id=next((lower[h] for h in id_headers if h in lower), None),
        headers={k: v for k, v in lower.items() if k not in NEVER_FORWARDED},
        query={k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()},
        path_params=dict(path_params or {}),
        content_type=lower.get("content-type", "application/json"),
        body=body,
        raw=raw,
    )


def explain(planner: Planner, delivery: Delivery) -> dict[str, Any]:
    """`outcome` is `sent` (to `targets`), `ignored` or `rejected` (see the errors)."""
    route = planner.route
    report: dict[str, Any] = {"route": route.name}
    try:
        delivery_id = extract_id(route.delivery_id_rule, what="delivery id", **delivery.id_sources)
    except UnprocessableEvent as exc:
        delivery_id = PLACEHOLDER_ID
        report["delivery_id_error"] = exc.detail
    event_type = planner.event_type(delivery)
    report |= {"delivery_id": delivery_id, "event_type": event_type}
    if planner.event_type_rule is not None:
        report["event_type_from"] = planner.event_type_rule.describe()
    report["schema_errors"] = _errors(lambda: planner.check_route_schema(delivery)).get(
        "schema_errors", []
    )
    base = planner.base_event(delivery, delivery_id, event_type)
    if not route.rules:
        report["targets"] = [_target(lambda: planner.own(base, delivery))]
    else:
        context = delivery.context(event_type)
        chosen = [rule.name for rule in planner.router.select(event_type, context)]
        report |= {"fan_out": route.fan_out, "otherwise": route.otherwise}
        report["rules"] = [
            {"rule": c.rule, "matched": c.matched, "reason": c.reason, "chosen": c.rule in chosen}
            for c in planner.router.checks(event_type, context)
        ]
        report["targets"] = [
            _target(partial(planner.planned, route.rule(name), base, delivery, context), name)
            for name in chosen
        ]
    failed = report["schema_errors"] or any(
        "error" in t or t.get("schema_errors") for t in report["targets"]
    )
    if failed or (not report["targets"] and route.otherwise == "reject"):
        report["outcome"] = "rejected"
    else:
        report["outcome"] = "sent" if report["targets"] else "ignored"
    return report


def _errors(step: Callable[[], object]) -> dict[str, Any]:
    try:
        step()
    except SchemaMismatch as exc:
        return {"schema_errors": exc.errors}
    except UnprocessableEvent as exc:
        return {"error": exc.detail}
    return {}


def _target(make: Callable[[], Planned], rule: str | None = None) -> dict[str, Any]:
    """What one target would get, or why it cannot be sent."""
    found: dict[str, Planned] = {}
    failure = _errors(lambda: found.setdefault("planned", make()))
    if failure:
        return {"rule": rule, **failure}
    planned = found["planned"]
    target = planned.target
    report: dict[str, Any] = {
        "rule": target.rule,
        "workflow": target.workflow,
        "mode": target.mode,
        "task_queue": target.task_queue,
        "workflow_id": planned.workflow_id,
        "input": planned.event.body,
    }
    flow = planned.flow
    if flow is not None and flow.key is not None:
        report["sequencer"] = {
            "workflow_id": sequencer_workflow_id(target.name, flow.key),
            "key": flow.key,
            "order": flow.order,
        }
    if flow is not None and flow.priority is not None:
        report["priority"] = flow.priority.model_dump(exclude_none=True)
    return report
