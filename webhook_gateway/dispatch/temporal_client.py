"""Connecting to Temporal with the settings every process shares."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client, Interceptor, TLSConfig
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from webhook_gateway.config.payload_keys import payload_keys
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import data_converter


def tls_config(settings: Settings) -> TLSConfig | bool | None:
    files = (settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca)
    if any(files):
        cert, key, ca = (p.read_bytes() if p else None for p in files)
        return TLSConfig(client_cert=cert, client_private_key=key, server_root_ca_cert=ca)
    if settings.temporal_tls:
        return True
    # None lets the SDK turn TLS on by itself when an API key is set.
    return None if settings.temporal_api_key else False


async def connect(
    settings: Settings,
    *,
    lazy: bool = False,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """A client with Hooktide's data converter (pydantic JSON, encrypted when
    HOOKTIDE_PAYLOAD_KEYS is set); `lazy` defers the connection to first use, so a gateway
    can start (and answer 503) while Temporal is still down."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.target,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=tls_config(settings),
        data_converter=converter(settings),
        lazy=lazy,
        runtime=runtime,
        interceptors=interceptors,
    )


def converter(settings: Settings) -> DataConverter:
    """The data converter every process uses for these settings."""
    return data_converter(payload_keys(settings), encrypt_failures=settings.encrypt_failures)
