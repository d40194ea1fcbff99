"""The route file (`hooktide.yaml`): what each webhook route accepts and which workflow it feeds."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from webhook_gateway.config.event_type import EventTypeRule
from webhook_gateway.config.id_rule import SOURCES as ID_SOURCES
from webhook_gateway.config.id_rule import IdRule as IdRule  # re-exported: tests
from webhook_gateway.config.networks import parse_networks
from webhook_gateway.config.rate_limit import RateLimitConfig
from webhook_gateway.config.reserved import RESERVED_PREFIXES, reserved_prefix
from webhook_gateway.config.rules import AckConfig, Rule
from webhook_gateway.config.schemas import SchemaFile
from webhook_gateway.config.target import ADDRESSED_MODES as ADDRESSED_MODES
from webhook_gateway.config.target import Dispatch, Target
from webhook_gateway.config.worker_modules import WorkerConfig
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import Subscriptions
from webhook_gateway.verifiers import VerifierConfig

NEVER_FORWARDED = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
DEFAULT_FORWARDED = ("content-type", "user-agent")
PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


#: Route fields that say where events go: on a route with rules, each rule sets its own.
PER_RULE = (
    "workflow",
    "mode",
    "workflow_id",
    "signal",
    "update",
    "group_commit",
    "batch",
    "debounce",
    "reply_timeout_seconds",
    "ordered",
    "concurrency",
    "throttle",
    "priority",
    "on_failure",
)


class Route(Dispatch):
    """One webhook URL: how its requests are checked, and where their events go (the route's
    own `workflow`, or its `rules`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    path: str
    methods: list[str] = Field(default_factory=lambda: ["POST"])
    workflow: str | None = None
    delivery_id: IdRule | None = None  # None: the verifier's sender default
    verifier: VerifierConfig
    event_type: EventTypeRule | None = None  # None: the verifier's sender default
    schema_file: SchemaFile | None = Field(default=None, alias="schema")
    rules: list[Rule] = Field(default_factory=list)
    fan_out: Literal["first", "all"] = "first"
    otherwise: str = "ignore"  # ignore | reject | a rule's name
    ack: AckConfig | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1, le=64 * 1_048_576)
    content_types: list[str] = Field(default_factory=lambda: ["application/json"])
    forward_headers: list[str] = Field(default_factory=list)
    allow_ips: list[str] = Field(default_factory=list)
    rate_limit: RateLimitConfig | None = None

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        reserved = reserved_prefix(value)
        if reserved is not None:
            raise ValueError(
                f"is under {reserved}, which is reserved for the gateway's own endpoints "
                f"({', '.join(RESERVED_PREFIXES)}); choose another path"
            )
        return value

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        methods = [m.upper() for m in value]
        bad = [m for m in methods if m not in {"POST", "PUT", "PATCH", "DELETE", "GET"}]
        if bad or not methods:
            raise ValueError(f"must be a non-empty list of POST, PUT, PATCH, DELETE, GET: {bad}")
        return methods

    @field_validator("content_types", "forward_headers")
    @classmethod
    def _lower_list(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    @field_validator("allow_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(n) for n in parse_networks(value, what="allow_ips")]

    @model_validator(mode="after")
    def _consistent(self) -> Route:
        params = set(PARAM.findall(self.path))
        for field_name in ("delivery_id", "workflow_id"):
            rule: IdRule | None = getattr(self, field_name)
            if rule is not None and rule.path_param and rule.path_param not in params:
                raise ValueError(
                    f"{field_name}.path_param '{rule.path_param}' is not a parameter of path "
                    f"'{self.path}' (it has: {sorted(params) or 'none'})"
                )
        if self.delivery_id is not None and not self.delivery_id.sources():
            raise ValueError(f"delivery_id must name one of {', '.join(ID_SOURCES)}")
        if self.delivery_id is None and self.verifier.default_delivery_id() is None:
            raise ValueError(
                f"route '{self.name}': field delivery_id is missing, and verifier type "
                f"'{self.verifier.type}' has no default; set delivery_id: {{header: ..., "
                "unsigned: true}"
            )
        if self.rules:
            self._rules_consistent(params)
        else:
            if self.workflow is None:
                raise ValueError(
                    f"route '{self.name}': field workflow is missing; name the workflow type "
                    "that receives its events, or give the route rules"
                )
            self._check_dispatch(f"route '{self.name}'")
        for field_name, rule in self._dedupe_ids():
            self._signed(field_name, rule)
        forbidden = sorted(NEVER_FORWARDED.intersection(self.forward_headers))
        if forbidden:
            raise ValueError(f"forward_headers may not carry credentials: {forbidden}")
        return self

    def _signed(self, field_name: str, rule: IdRule) -> None:
        """An id that dedupes must be one the sender signed, or be marked as not."""
        if rule.unsigned or self.verifier.signs(rule):
            return
        parts = self.verifier.signed_parts
        options = [
            *(["{signed_id: true}"] if "signed_id" in parts else []),
            *(["a jmespath into the body", "{body_sha256: true}"] if "body" in parts else []),
            *(["a path_param"] if "url" in parts else []),
        ]
        instead = f"Use {' or '.join(options)}, or add" if options else "Add"
        raise ValueError(
            f"route '{self.name}': {field_name} is the {rule.describe()}, which the "
            f"'{self.verifier.type}' verifier does not sign, so a captured request replayed "
            f"under a fresh id would start a new workflow. {instead} 'unsigned: true' to "
            "accept that"
        )

    def _rules_consistent(self, params: set[str]) -> None:
        route = f"route '{self.name}'"
        for field_name in PER_RULE:
            if field_name in self.model_fields_set:
                raise ValueError(
                    f"{route} has rules, so field {field_name} belongs on each rule, not on "
                    "the route"
                )
        names = [rule.name for rule in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{route}: rule names must be unique; repeated: {twice}")
        if self.otherwise not in ("ignore", "reject", *names):
            raise ValueError(
                f"{route}: otherwise is '{self.otherwise}'; use ignore, reject or one of the "
                f"route's rules ({', '.join(names)})"
            )
        if self.event_type_rule is None and any(rule.events for rule in self.rules):
            raise ValueError(
                f"{route}: the '{self.verifier.type}' verifier's sender names no event type, "
                "so rules cannot match on events; add event_type: {header: ...} or "
                "{jmespath: ...}, or use 'when' conditions"
            )
        updates = [rule.name for rule in self.rules if rule.mode == "update"]
        if self.fan_out == "all" and len(updates) > 1:
            raise ValueError(
                f"{route}: with fan_out: all, at most one rule may use mode update (its reply "
                f"is the HTTP answer); these do: {updates}"
            )
        for rule in self.rules:
            owner = f"{route}, rule '{rule.name}'"
            rule._check_dispatch(owner)
            if (
                rule.workflow_id
                and rule.workflow_id.path_param
                and (rule.workflow_id.path_param not in params)
            ):
                raise ValueError(
                    f"{owner}: workflow_id.path_param '{rule.workflow_id.path_param}' is not a "
                    f"parameter of path '{self.path}' (it has: {sorted(params) or 'none'})"
                )

    @cached_property
    def delivery_id_rule(self) -> IdRule:
        """The configured delivery id, else the sender's default (`webhook-id`, ...)."""
        rule = self.delivery_id or self.verifier.default_delivery_id()
        assert rule is not None  # _consistent refuses a route with neither
        return self.verifier.normalize_id(rule)

    @cached_property
    def workflow_id_rule(self) -> IdRule:
        return self.verifier.normalize_id(self.workflow_id or IdRule(prefix=f"{self.name}-"))

    @cached_property
    def event_type_rule(self) -> EventTypeRule | None:
        """The configured event type, else the sender's convention (None: it has none)."""
        return self.event_type or self.verifier.default_event_type()

    @cached_property
    def targets(self) -> dict[str | None, Target]:
        """Where events go, by rule name (None: the route's own workflow, when it has no
        rules). A rule's workflow id is, unless it names one, the delivery id prefixed by
        route and rule, so that each target of one delivery has its own."""
        if not self.rules:
            assert self.workflow is not None  # _consistent refuses a route with neither
            own = Target.of(
                self,
                route=self.name,
                rule=None,
                workflow=self.workflow,
                workflow_id=self.workflow_id_rule,
            )
            return {None: own}
        return {
            rule.name: Target.of(
                rule,
                route=self.name,
                rule=rule.name,
                workflow=rule.workflow,
                workflow_id=self.verifier.normalize_id(
                    rule.workflow_id or IdRule(prefix=f"{self.name}-{rule.name}-")
                ),
            )
            for rule in self.rules
        }

    def rule(self, name: str) -> Rule:
        return next(rule for rule in self.rules if rule.name == name)

    def _dedupe_ids(self) -> list[tuple[str, IdRule]]:
        """The ids Temporal dedupes this route's deliveries on: the delivery id, and a start
        target's workflow id when it is read from the request."""
        rules = [("delivery_id", self.delivery_id_rule)]
        if not self.rules and self.dedupes_on_workflow_id:
            rules.append(("workflow_id", self.workflow_id_rule))
        for rule in self.rules:
            if rule.dedupes_on_workflow_id:
                rules.append(
                    (f"rule '{rule.name}' workflow_id", self.targets[rule.name].workflow_id)
                )
        return rules

    def unsigned_ids(self) -> list[str]:
        """Warnings for ids this route dedupes on although its signature does not cover them."""
        return [
            f"Route '{self.name}': {field_name} is the {rule.describe()}, which the "
            f"'{self.verifier.type}' verifier does not sign; a captured request replayed "
            "under a fresh id starts a new workflow (docs/SECURITY.md)."
            for field_name, rule in self._dedupe_ids()
            if not self.verifier.signs(rule)
        ]

    def unsigned_event_type(self) -> list[str]:
        """A warning when rules route on an event type the signature does not cover."""
        rule = self.event_type_rule
        if not self.rules or rule is None or rule.part in self.verifier.signed_parts:
            return []
        return [
            f"Route '{self.name}': its rules read the event type from the {rule.describe()}, "
            f"which the '{self.verifier.type}' verifier does not sign; whoever holds a captured "
            "delivery can replay its body under another event type, so a rule that starts "
            "work should also check the body (a `when` on a field only that event has; "
            "docs/RULES.md)."
        ]

    def forwarded_headers(self) -> frozenset[str]:
        names = set(DEFAULT_FORWARDED) | set(self.forward_headers)
        rule = self.delivery_id_rule
        if rule.header:
            names.add(rule.header)
        if rule.signed_id:
            names.update(self.verifier.id_headers)
        return frozenset(names - NEVER_FORWARDED)


class HooktideConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route]
    subscriptions: Subscriptions = []
    worker: WorkerConfig | None = None  # plug-in modules and task queues (worker only)

    @model_validator(mode="before")
    @classmethod
    def _named_routes(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("routes"), dict):
            named = []
            for name, body in data["routes"].items():
                named.append({"name": name, **body} if isinstance(body, dict) else body)
            data = {**data, "routes": named}
        return data

    @model_validator(mode="after")
    def _unique(self) -> HooktideConfig:
        seen: dict[tuple[str, str], str] = {}
        for route in self.routes:
            shape = PARAM.sub("{}", route.path)
            for method in route.methods:
                other = seen.setdefault((method, shape), route.name)
                if other != route.name:
                    raise ValueError(
                        f"routes '{other}' and '{route.name}' both take {method} {route.path}"
                    )
        return self

    def route(self, name: str) -> Route:
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)


def parse_config(
    data: Any, *, source: str = "<config>", base_dir: str | Path | None = None
) -> HooktideConfig:
    """`base_dir`: where relative paths in the file (schemas) start; the current folder if
    None."""
    try:
        return HooktideConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, data, source)) from exc


def load_config(path: str | Path) -> HooktideConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Route file {path} cannot be read ({exc.strerror}); set HOOKTIDE_CONFIG to its path."
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Route file {path} is not valid YAML: {exc}") from exc
    return parse_config(data, source=str(path), base_dir=path.parent)


def _describe(exc: ValidationError, data: Any, source: str) -> str:
    names: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("routes"), dict):
        names = list(data["routes"])
    lines = [f"{source}: {exc.error_count()} problem(s) in the route file:"]
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "routes" and isinstance(loc[1], int) and names:
            rest = ".".join(str(p) for p in loc[2:]) or "(route)"
            where = f"route '{names[loc[1]]}', field {rest}"
        lines.append(f"  - {where}: {err['msg']}")
    return "\n".join(lines)
