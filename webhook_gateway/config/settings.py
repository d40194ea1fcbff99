"""Process settings, from the environment (and an optional `.env`): one class for gateway,
worker and CLI alike, so every deployment is configured by the same variables.

HOOKTIDE_ENV_FILE names that dotenv file (default `.env`, in the working directory); set to
the empty string, no file is read. The test suite sets it empty, for itself and every process
it starts, so that a developer's `.env` never changes a test's result."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_TASK_QUEUE = "hooktide"
ENV_FILE = "HOOKTIDE_ENV_FILE"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    config_path: Path = Field(
        default=Path("hooktide.yaml"), validation_alias=AliasChoices("HOOKTIDE_CONFIG")
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOOKTIDE_HOST"))
    port: int = Field(default=8000, validation_alias=AliasChoices("HOOKTIDE_PORT"))
    operator_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_OPERATOR_TOKEN")
    )
    public_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_PUBLIC_URL")
    )
    #: The operator console (/console, on when HOOKTIDE_OPERATOR_TOKEN is set) signs a
    #: session out after this many minutes without a request.
    console_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, validation_alias=AliasChoices("HOOKTIDE_CONSOLE_IDLE_MINUTES")
    )
    # Peers whose X-Forwarded-For / Forwarded headers are believed: CIDRs, comma-separated.
    trusted_proxies: str = Field(
        default="", validation_alias=AliasChoices("HOOKTIDE_TRUSTED_PROXIES")
    )
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = Field(
        default="x-forwarded-for", validation_alias=AliasChoices("HOOKTIDE_FORWARDED_HEADER")
    )

    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE")
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_API_KEY")
    )
    temporal_tls: bool = Field(default=False, validation_alias=AliasChoices("TEMPORAL_TLS"))

    # Payload encryption at rest (docs/SECURITY.md, "Payloads at rest"): `id:base64` keys,
    # the first encrypts, all decrypt; from the variable, or one per line from the file.
    payload_keys: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_PAYLOAD_KEYS")
    )
    payload_keys_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_PAYLOAD_KEYS_FILE")
    )
    #: Failure messages and stack traces encrypted too (the SDK's encoded attributes).
    encrypt_failures: bool = Field(
        default=False, validation_alias=AliasChoices("HOOKTIDE_ENCRYPT_FAILURES")
    )
    #: The Web UI origin allowed to call the codec endpoints (CORS), e.g. http://127.0.0.1:8233.
    codec_cors_origin: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_CODEC_CORS_ORIGIN")
    )
    #: `make run` only: the codec endpoints answer loopback callers without the operator token.
    codec_allow_loopback: bool = Field(
        default=False, validation_alias=AliasChoices("HOOKTIDE_CODEC_ALLOW_LOOPBACK")
    )
    temporal_tls_cert: Path | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_TLS_CLIENT_CERT_PATH")
    )
    temporal_tls_key: Path | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_TLS_CLIENT_KEY_PATH")
    )
    temporal_tls_ca: Path | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_TLS_SERVER_CA_CERT_PATH")
    )
    temporal_rpc_timeout: float = Field(
        default=2.0, gt=0, le=30, validation_alias=AliasChoices("HOOKTIDE_TEMPORAL_RPC_TIMEOUT")
    )
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, validation_alias=AliasChoices("HOOKTIDE_BODY_TIMEOUT")
    )
    drain_seconds: float = Field(
        default=10.0, ge=0, le=600, validation_alias=AliasChoices("HOOKTIDE_DRAIN_SECONDS")
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, le=3600, validation_alias=AliasChoices("HOOKTIDE_RETRY_AFTER")
    )
    task_queue: str = Field(
        default=DEFAULT_TASK_QUEUE, validation_alias=AliasChoices("HOOKTIDE_TASK_QUEUE")
    )
    #: The worker: task queues it serves besides `task_queue` (comma-separated).
    task_queues: str = Field(default="", validation_alias=AliasChoices("HOOKTIDE_TASK_QUEUES"))
    #: The worker: plug-in modules with the user's workflows and activities (comma-separated).
    worker_modules: str = Field(
        default="", validation_alias=AliasChoices("HOOKTIDE_WORKER_MODULES")
    )

    # `hooktide run` only: where the embedded dev server listens and keeps its files.
    state_dir: Path = Field(
        default=Path(".hooktide"), validation_alias=AliasChoices("HOOKTIDE_STATE_DIR")
    )
    dev_temporal_port: int = Field(
        default=7233, validation_alias=AliasChoices("HOOKTIDE_DEV_TEMPORAL_PORT")
    )
    dev_ui_port: int = Field(default=8233, validation_alias=AliasChoices("HOOKTIDE_DEV_UI_PORT"))
    #: CIDRs outbound HTTP may reach despite the SSRF guard, e.g. "127.0.0.0/8,::1/128".
    outbound_allow: str = Field(
        default="", validation_alias=AliasChoices("HOOKTIDE_OUTBOUND_ALLOW")
    )

    # The order example (README, "The order example"): its peers, mail, approvals, events.
    # An unset URL or SMTP host leaves that step out; `hooktide run` sets them all.
    inventory_url: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_INVENTORY_URL")
    )
    crm_url: str | None = Field(default=None, validation_alias=AliasChoices("HOOKTIDE_CRM_URL"))
    smtp_host: str | None = Field(default=None, validation_alias=AliasChoices("HOOKTIDE_SMTP_HOST"))
    smtp_port: int = Field(default=25, validation_alias=AliasChoices("HOOKTIDE_SMTP_PORT"))
    smtp_starttls: bool = Field(
        default=False, validation_alias=AliasChoices("HOOKTIDE_SMTP_STARTTLS")
    )
    smtp_username: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_SMTP_USERNAME")
    )
    smtp_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_SMTP_PASSWORD")
    )
    mail_from: str = Field(
        default="Hooktide <orders@hooktide.localhost>",
        validation_alias=AliasChoices("HOOKTIDE_MAIL_FROM"),
    )
    ops_email: str | None = Field(default=None, validation_alias=AliasChoices("HOOKTIDE_OPS_EMAIL"))
    approver_email: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_APPROVER_EMAIL")
    )
    approval_threshold: Decimal = Field(
        default=Decimal(1000), ge=0, validation_alias=AliasChoices("HOOKTIDE_APPROVAL_THRESHOLD")
    )
    approval_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_APPROVAL_SECRET")
    )
    order_events: bool = Field(
        default=False, validation_alias=AliasChoices("HOOKTIDE_ORDER_EVENTS")
    )
    ui_url: str = Field(
        default="http://127.0.0.1:8233", validation_alias=AliasChoices("HOOKTIDE_UI_URL")
    )
    dev_inventory_port: int = Field(
        default=8101, validation_alias=AliasChoices("HOOKTIDE_DEV_INVENTORY_PORT")
    )
    dev_crm_port: int = Field(default=8102, validation_alias=AliasChoices("HOOKTIDE_DEV_CRM_PORT"))
    dev_subscriber_port: int = Field(
        default=8103, validation_alias=AliasChoices("HOOKTIDE_DEV_SUBSCRIBER_PORT")
    )
    dev_smtp_port: int = Field(
        default=8025, validation_alias=AliasChoices("HOOKTIDE_DEV_SMTP_PORT")
    )

    # Telemetry (docs/OPERATIONS.md): log format, the worker's SDK metrics, OTLP traces.
    log_format: Literal["json", "text"] = Field(
        default="json", validation_alias=AliasChoices("HOOKTIDE_LOG_FORMAT")
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("HOOKTIDE_LOG_LEVEL")
    )
    #: host:port where the worker serves Temporal SDK metrics for Prometheus; unset: off.
    worker_metrics_address: str | None = Field(
        default=None, validation_alias=AliasChoices("HOOKTIDE_WORKER_METRICS_ADDRESS")
    )
    #: OTLP/HTTP collector, e.g. http://otel-collector:4318; unset: no traces exported.
    otel_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_service_name: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_SERVICE_NAME")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources; the dotenv file is the one HOOKTIDE_ENV_FILE names, if set."""
        env_file = os.environ.get(ENV_FILE)
        if env_file is not None:
            dotenv_settings = DotEnvSettingsSource(settings_cls, env_file=env_file or None)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @property
    def target(self) -> str:
        return self.temporal_address or "127.0.0.1:7233"

    @property
    def gateway_url(self) -> str:
        """Where people reach the gateway (approval links): HOOKTIDE_PUBLIC_URL, else host:port."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
