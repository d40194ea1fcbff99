"""The route file (`hooktide.yaml`): what each webhook route accepts and which workflow it feeds."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from webhook_gateway.config.highfreq import BatchConfig, DebounceConfig, GroupCommitConfig
from webhook_gateway.config.id_rule import SOURCES as ID_SOURCES
from webhook_gateway.config.id_rule import IdRule as IdRule  # re-exported: tests
from webhook_gateway.config.networks import parse_networks
from webhook_gateway.config.rate_limit import RateLimitConfig
from webhook_gateway.config.reserved import RESERVED_PREFIXES, reserved_prefix
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import Subscriptions
from webhook_gateway.verifiers import VerifierConfig

Mode = Literal["start", "signal", "signal_with_start", "update", "batch", "debounce"]
ADDRESSED_MODES = ("signal", "signal_with_start", "update")

NEVER_FORWARDED = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
DEFAULT_FORWARDED = ("content-type", "user-agent")
PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    path: str
    methods: list[str] = Field(default_factory=lambda: ["POST"])
    mode: Mode = "start"
    workflow: str
    task_queue: str = "hooktide"
    delivery_id: IdRule | None = None  # None: the verifier's sender default
    workflow_id: IdRule | None = None
    signal: str = "webhook"
    update: str = "webhook"
    reply_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    verifier: VerifierConfig
    max_body_bytes: int = Field(default=1_048_576, ge=1, le=64 * 1_048_576)
    content_types: list[str] = Field(default_factory=lambda: ["application/json"])
    forward_headers: list[str] = Field(default_factory=list)
    allow_ips: list[str] = Field(default_factory=list)
    rate_limit: RateLimitConfig | None = None
    group_commit: GroupCommitConfig | None = None  # start mode only
    batch: BatchConfig | None = None  # mode batch
    debounce: DebounceConfig | None = None  # mode debounce

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
        for field_name, rule in self._dedupe_ids():
            self._signed(field_name, rule)
        self._high_frequency_fields()
        if self.mode in ADDRESSED_MODES and (
            self.workflow_id is None or not self.workflow_id.sources()
        ):
            raise ValueError(
                f"mode '{self.mode}' needs workflow_id with a 'header', 'jmespath' or "
                "'path_param': it names the workflow that receives the event"
            )
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

    def _high_frequency_fields(self) -> None:
        for field_name, mode in (("batch", "batch"), ("debounce", "debounce")):
            if self.mode == mode and getattr(self, field_name) is None:
                raise ValueError(
                    f"route '{self.name}': field {field_name} is missing; mode '{mode}' needs "
                    f"{field_name}: {{key: <JMESPath over the body>, ...}}"
                )
            if self.mode != mode and getattr(self, field_name) is not None:
                raise ValueError(
                    f"route '{self.name}': field {field_name} is only for mode '{mode}' "
                    f"(this route's mode is '{self.mode}')"
                )
        if self.group_commit is not None and self.mode != "start":
            raise ValueError(
                f"route '{self.name}': field group_commit is only for mode 'start' "
                f"(this route's mode is '{self.mode}')"
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

    def _dedupe_ids(self) -> list[tuple[str, IdRule]]:
        """The ids Temporal dedupes this route's deliveries on: the delivery id, and a start
        route's workflow id when it is read from the request."""
        rules = [("delivery_id", self.delivery_id_rule)]
        if self.mode == "start" and self.workflow_id is not None and self.workflow_id.sources():
            rules.append(("workflow_id", self.workflow_id_rule))
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


def parse_config(data: Any, *, source: str = "<config>") -> HooktideConfig:
    try:
        return HooktideConfig.model_validate(data)
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
    return parse_config(data, source=str(path))


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
