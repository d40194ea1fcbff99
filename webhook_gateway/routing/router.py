"""Which rules of a route take an event: event-type globs, then the `when` condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook_gateway.config.event_type import search
from webhook_gateway.config.routes import Route
from webhook_gateway.config.rules import Rule
from webhook_gateway.routing.condition import Condition


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; everything else true."""
    return not (value is None or value is False or value in ("", [], {}))


@dataclass(frozen=True, kw_only=True)
class RuleCheck:
    """One rule against one event, for a dry run: matched or not, and why."""

    rule: str
    matched: bool
    reason: str


class Router:
    """A route's rules, compiled once (the route file's validation compiled every pattern
    and expression already; this keeps them at hand, each condition as closures)."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._rules = [
            (
                rule,
                rule.events_pattern,
                None if rule.condition is None else Condition(rule.condition),
            )
            for rule in route.rules
        ]
        self._first = route.fan_out == "first"

    def select(self, event_type: str | None, context: dict[str, Any]) -> list[Rule]:
        """The rules that take the event (`fan_out: first`: at most one), else the
        `otherwise` rule if the route names one; empty when the event matches nothing."""
        chosen: list[Rule] = []
        for rule, pattern, condition in self._rules:
            if pattern is not None and (event_type is None or not pattern.match(event_type)):
                continue
            if condition is not None and not truthy(search(condition, context)):
                continue
            chosen.append(rule)
            if self._first:
                break
        if not chosen and self.route.otherwise not in ("ignore", "reject"):
            chosen.append(self.route.rule(self.route.otherwise))
        return chosen

    def checks(self, event_type: str | None, context: dict[str, Any]) -> list[RuleCheck]:
        """Every rule, matched or not, with the reason (a dry run; `select` decides)."""
        checks = []
        for rule, pattern, condition in self._rules:
            if pattern is not None and event_type is None:
                reason, matched = "the request names no event type", False
            elif pattern is not None and not pattern.match(event_type or ""):
                reason, matched = f"event type {event_type!r} is not one of {rule.events}", False
            elif condition is not None and not truthy(value := search(condition, context)):
                reason, matched = f"condition `{rule.when}` is {_shown(value)}", False
            else:
                reason = "event type and condition match" if rule.when else "event type matches"
                matched = True
            checks.append(RuleCheck(rule=rule.name, matched=matched, reason=reason))
        return checks


def _shown(value: Any) -> str:
    if value is None:
        return "null (a field it reads is missing, or a comparison mixed types)"
    return f"false ({value!r})" if value is not False else "false"
