"""`hooktide check`: every problem with the route file and the environment, named at once."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from webhook_gateway.config.payload_keys import payload_keys
from webhook_gateway.config.routes import HooktideConfig, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.dispatch.temporal_client import connect

CONNECT_TIMEOUT = 5.0


def settings_errors(exc: ValidationError) -> list[str]:
    """Names each variable and what is wrong with it; never echoes the value (a secret?)."""
    return [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]


def describe_settings_error(exc: ValidationError) -> str:
    return "Invalid environment: " + "; ".join(settings_errors(exc))


def _secret_sources(value: object, where: str) -> list[tuple[str, SecretSource]]:
    if isinstance(value, SecretSource):
        return [(where, value)]
    found: list[tuple[str, SecretSource]] = []
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += _secret_sources(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            label = getattr(item, "name", None) or str(i)
            found += _secret_sources(item, f"{where}[{label}]")
    return found


def _config_problems(config: HooktideConfig) -> list[str]:
    problems: list[str] = []
    for route in config.routes:
        try:
            route.verifier.build(route.name)
        except ConfigError as exc:
            problems.append(str(exc))
    for where, source in _secret_sources(config.subscriptions, "subscriptions"):
        try:
            source.resolve(where)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def _settings_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    try:
        payload_keys(settings)
    except ConfigError as exc:
        problems.append(str(exc))
    files = {
        "TEMPORAL_TLS_CLIENT_CERT_PATH": settings.temporal_tls_cert,
        "TEMPORAL_TLS_CLIENT_KEY_PATH": settings.temporal_tls_key,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": settings.temporal_tls_ca,
    }
    for name, path in files.items():
        if path is not None and not path.is_file():
            problems.append(f"{name}: file {path} does not exist.")
    if (settings.temporal_tls_cert is None) != (settings.temporal_tls_key is None):
        problems.append(
            "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together: "
            "set both or neither."
        )
    address = settings.worker_metrics_address
    if address is not None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            problems.append(
                f"HOOKTIDE_WORKER_METRICS_ADDRESS must be host:port, e.g. 0.0.0.0:9464; "
                f"it is '{address}'."
            )
    endpoint = settings.otel_endpoint
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        problems.append(
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL of an OTLP/HTTP collector, "
            "e.g. http://otel-collector:4318."
        )
    return problems


async def _temporal_problem(settings: Settings) -> str | None:
    try:
        client = await asyncio.wait_for(connect(settings), timeout=CONNECT_TIMEOUT)
        await client.service_client.check_health(timeout=timedelta(seconds=CONNECT_TIMEOUT))
    except Exception as exc:  # any failure to connect is the problem we report
        return f"Temporal at {settings.target} is not reachable: {exc or type(exc).__name__}"
    return await _search_attributes_problem(client)


async def _search_attributes_problem(client: Client) -> str | None:
    namespace = client.namespace
    try:
        absent = await search_attributes.missing(client, timeout=timedelta(seconds=CONNECT_TIMEOUT))
    except RPCError as exc:
        return f"Cannot list the search attributes of Temporal namespace '{namespace}': {exc}"
    if not absent:
        return None
    commands = "".join(f"\n      {search_attributes.create_command(k, namespace)}" for k in absent)
    return f"{search_attributes.describe_missing(absent, namespace)} Add them with:{commands}"


def _settings_without(exc: ValidationError) -> Settings | None:
    """Settings with the invalid variables at their defaults, so that the other checks
    still run and every problem is named in one go."""
    defaults: dict[str, object] = {}
    for err in exc.errors():
        alias = str(err["loc"][0]) if err["loc"] else ""
        for field in Settings.model_fields.values():
            if alias in getattr(field.validation_alias, "choices", ()):
                defaults[alias] = field.default
    try:
        return Settings(**defaults)  # type: ignore[arg-type]
    except ValidationError:
        return None


@dataclass(frozen=True)
class Report:
    """What is wrong (the gateway would not start), and what is accepted but weaker than it
    could be (ids a replay could change)."""

    problems: list[str]
    warnings: list[str]
    #: With `worker`: each plug-in module's workflow types ("hooktide": the infrastructure's).
    registered: dict[str, list[str]] | None = None


def check(*, connect_temporal: bool = False, worker: bool = False) -> Report:
    found: list[str] = []
    warned: list[str] = []
    registered: dict[str, list[str]] | None = None
    config: HooktideConfig | None = None
    settings: Settings | None
    try:
        settings = Settings()
    except ValidationError as exc:
        found += settings_errors(exc)
        settings = _settings_without(exc)
    config_path = (
        settings.config_path
        if settings
        else Path(os.environ.get("HOOKTIDE_CONFIG") or "hooktide.yaml")
    )
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        found.append(str(exc))
    else:
        found += _config_problems(config)
        warned = [
            warning
            for route in config.routes
            for warning in (*route.unsigned_ids(), *route.unsigned_event_type())
        ]
    if worker and settings is not None and config is not None:
        from webhook_gateway.cli.check_worker import worker_report

        seen = worker_report(settings, config)
        found += seen.problems
        warned += seen.warnings
        registered = seen.registered
    if settings is not None:
        found += _settings_problems(settings)
        if connect_temporal:
            problem = asyncio.run(_temporal_problem(settings))
            if problem:
                found.append(problem)
    return Report(problems=found, warnings=warned, registered=registered)


def notes() -> list[str]:
    """Not problems, but worth knowing."""
    told: list[str] = []
    if not os.environ.get("HOOKTIDE_OPERATOR_TOKEN"):
        told.append("HOOKTIDE_OPERATOR_TOKEN is unset: /deliveries/{id} answers 403.")
    if not os.environ.get("TEMPORAL_ADDRESS"):
        told.append("TEMPORAL_ADDRESS is unset: the gateway and worker use 127.0.0.1:7233.")
    return told
