"""What every `hooktide` subcommand needs: its settings, its route file, a Temporal client,
and `CommandFailed` for a request it cannot carry out."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio.client import Client

from webhook_gateway.cli import check as cli_check
from webhook_gateway.config.routes import HooktideConfig, Route, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.dispatch.temporal_client import connect
from webhook_gateway.dispatch.temporal_errors import temporal_errors


class CommandFailed(Exception):
    """The command could not do what was asked; the message says why."""


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(cli_check.describe_settings_error(exc)) from exc


def config(settings: Settings) -> HooktideConfig:
    return load_config(settings.config_path)


def route(config: HooktideConfig, name: str) -> Route:
    try:
        return config.route(name)
    except KeyError:
        known = ", ".join(r.name for r in config.routes)
        raise ConfigError(f"No route named '{name}'; the routes are: {known}.") from None


async def client(settings: Settings) -> Client:
    with temporal_errors(retry_after=settings.retry_after_seconds):
        return await connect(settings)
