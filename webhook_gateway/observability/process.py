"""What every long-running process does first: logging, then tracing, from the settings."""

from __future__ import annotations

import contextlib

from webhook_gateway.config.routes import HooktideConfig, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.observability import logs as logging_setup
from webhook_gateway.observability import tracing


def setup_process(
    settings: Settings, *, service: str, config: HooktideConfig | None = None
) -> None:
    """JSON (or text) logs with every known secret redacted, and OTLP traces when configured.
    The route file is read only to learn the secrets to redact; its errors are reported by
    whoever loads it for real."""
    if config is None:
        with contextlib.suppress(ConfigError):
            config = load_config(settings.config_path)
    logging_setup.configure(
        fmt=settings.log_format,
        level=settings.log_level,
        secrets=logging_setup.secret_values(settings, config),
    )
    tracing.configure(settings, service=service)
