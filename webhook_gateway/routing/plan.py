"""`plan()`: a delivery's event type, and the targets it goes to (or none), with each
target's event and workflow id. Nothing here talks to Temporal."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.ids import extract_id
from webhook_gateway.config.routes import Route
from webhook_gateway.config.rules import Rule
from webhook_gateway.config.target import Target
from webhook_gateway.contracts.events import WebhookEvent
from webhook_gateway.contracts.flow import FlowValues
from webhook_gateway.errors import NoMatchingRule, UnprocessableEvent
from webhook_gateway.routing.delivery import Delivery
from webhook_gateway.routing.flow import flow_values
from webhook_gateway.routing.payload import check_schema, project, required_keys
from webhook_gateway.routing.router import Router


@dataclass(frozen=True, kw_only=True)
class Planned:
    """One target of a delivery: where it goes, what the workflow receives, under which id."""

    target: Target
    event: WebhookEvent
    workflow_id: str
    flow: FlowValues | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    delivery_id: str
    event_type: str | None
    targets: list[Planned]
    ignored: bool = False  # no rule took it, and the route ignores such events


class Planner:
    """One route's routing, compiled once at start."""

    def __init__(self, route: Route, *, forwarded: frozenset[str]) -> None:
        self.route = route
        self.router = Router(route)
        self.forwarded = forwarded
        self.event_type_rule: EventTypeRule | None = route.event_type_rule
        self._required = {rule.name: required_keys(rule) for rule in route.rules}

    def event_type(self, delivery: Delivery) -> str | None:
        rule = self.event_type_rule
        return rule.read(headers=delivery.headers, body=delivery.body) if rule else None

    def base_event(
        self, delivery: Delivery, delivery_id: str, event_type: str | None
    ) -> WebhookEvent:
        try:
            return self._event(delivery, delivery_id, event_type)
        except ValidationError as exc:
            raise UnprocessableEvent(
                "The body cannot be carried to a workflow: "
                f"{exc.errors()[0]['msg']} (JSON nested a few hundred levels deep?)."
            ) from None

    def _event(self, delivery: Delivery, delivery_id: str, event_type: str | None) -> WebhookEvent:
        return WebhookEvent(
            route=self.route.name,
            delivery_id=delivery_id,
            received_at=delivery.received_at,
            method=delivery.method,
            path_params=dict(delivery.path_params),
            query={k: list(v) for k, v in delivery.query.items()},
            headers={k: v for k, v in delivery.headers.items() if k in self.forwarded},
            content_type=delivery.content_type,
            body=delivery.body,
            raw_body=delivery.raw_body,
            event_type=event_type,
        )

    def plan(self, delivery: Delivery) -> Plan:
        """Raises `UnprocessableEvent` (a missing id, a schema mismatch, a null input, no
        rule under `otherwise: reject`): then nothing of the delivery is sent anywhere."""
        route = self.route
        self.check_route_schema(delivery)
        delivery_id = extract_id(route.delivery_id_rule, what="delivery id", **delivery.id_sources)
        event_type = self.event_type(delivery)
        base = self.base_event(delivery, delivery_id, event_type)
        if not route.rules:
            own = self.own(base, delivery)
            return Plan(delivery_id=delivery_id, event_type=event_type, targets=[own])
        context = delivery.context(event_type)
        rules = self.router.select(event_type, context)
        if not rules:
            if route.otherwise == "reject":
                raise NoMatchingRule(
                    f"No rule of route '{route.name}' takes event type {event_type!r}, and the "
                    "route rejects such events (otherwise: reject)."
                )
            return Plan(delivery_id=delivery_id, event_type=event_type, targets=[], ignored=True)
        return Plan(
            delivery_id=delivery_id,
            event_type=event_type,
            targets=[self.planned(rule, base, delivery, context) for rule in rules],
        )

    def check_route_schema(self, delivery: Delivery) -> None:
        if self.route.schema_file is not None:
            check_schema(self.route.schema_file, delivery.body, owner=f"route '{self.route.name}'")

    def own(self, base: WebhookEvent, delivery: Delivery) -> Planned:
        """A route without rules: its own workflow, with the whole event."""
        target = self.route.targets[None]
        workflow_id = self._workflow_id(target, delivery, base.delivery_id)
        flow = None
        if target.flow is not None or target.priority is not None:
            context = delivery.context(base.event_type)
            flow = flow_values(target, context, owner=f"route '{self.route.name}'")
        return Planned(target=target, event=base, workflow_id=workflow_id, flow=flow)

    def planned(
        self, rule: Rule, base: WebhookEvent, delivery: Delivery, context: dict[str, object]
    ) -> Planned:
        target = self.route.targets[rule.name]
        if rule.schema_file is not None:
            check_schema(
                rule.schema_file,
                delivery.body,
                owner=f"route '{self.route.name}', rule '{rule.name}'",
            )
        update: dict[str, object] = {"rule": rule.name}
        if rule.projection is not None:
            update["body"] = project(rule, context, self._required[rule.name])
            update["raw_body"] = None
            if rule.keep_body:
                update["full_body"] = delivery.body
        event = base.model_copy(update=update)
        owner = f"route '{self.route.name}', rule '{rule.name}'"
        return Planned(
            target=target,
            event=event,
            workflow_id=self._workflow_id(target, delivery, base.delivery_id),
            flow=flow_values(target, context, owner=owner),
        )

    @staticmethod
    def _workflow_id(target: Target, delivery: Delivery, delivery_id: str) -> str:
        return extract_id(
            target.workflow_id, what="workflow id", default=delivery_id, **delivery.id_sources
        )
