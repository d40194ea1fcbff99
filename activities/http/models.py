"""The `http_request` activity's input and output. They travel through workflow history, so
they hold no credential: auth names the environment variable that holds it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from webhook_gateway.contracts.outbound import WebUrl

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
METHODS = frozenset({"GET", "HEAD", "OPTIONS", *UNSAFE_METHODS})
STATUS_RANGE = re.compile(r"^([1-5])xx$|^(\d{3})-(\d{3})$|^(\d{3})$")
DEFAULT_RESPONSE_HEADERS = ("content-type", "location", "etag", "retry-after")


class BearerAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bearer"] = "bearer"
    token_env: str


class BasicAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["basic"] = "basic"
    username: str
    password_env: str


class HeaderAuth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["header"] = "header"
    name: str
    value_env: str


Auth = Annotated[BearerAuth | BasicAuth | HeaderAuth, Field(discriminator="type")]


class JsonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["json"] = "json"
    data: JsonValue


class FormBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["form"] = "form"
    data: dict[str, str | list[str]]


class RawBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, ser_json_bytes="base64", val_json_bytes="base64"
    )

    type: Literal["raw"] = "raw"
    content: bytes
    content_type: str = "application/octet-stream"


Body = Annotated[JsonBody | FormBody | RawBody, Field(discriminator="type")]


class Timeouts(BaseModel):
    """Seconds: to connect, between bytes read, and for the whole exchange."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect: float = Field(default=5.0, gt=0, le=300)
    read: float = Field(default=30.0, gt=0, le=3600)
    total: float = Field(default=60.0, gt=0, le=3600)


class HttpRequest(BaseModel):
    """One HTTP call. `expected_status` takes codes (200), ranges ("200-299") or classes ("2xx").

    `idempotency_key` is normally set by `workflows.http.http_call`; left empty on an unsafe
    method, the activity derives one from the workflow id, run id and activity id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "GET"
    url: WebUrl
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | list[str]] = Field(default_factory=dict)
    body: Body | None = None
    auth: Auth | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    expected_status: list[int | str] = Field(default_factory=lambda: _success())
    response: Literal["json", "text", "none"] = "json"
    response_headers: list[str] = Field(default_factory=list)
    max_response_bytes: int = Field(default=1_048_576, ge=0, le=64 * 1_048_576)
    follow_redirects: bool = False
    max_redirects: int = Field(default=5, ge=1, le=20)
    idempotency_key: str | None = None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        method = value.upper()
        if method not in METHODS:
            raise ValueError(f"must be one of {sorted(METHODS)}")
        return method

    @field_validator("expected_status")
    @classmethod
    def _statuses(cls, value: list[int | str]) -> list[int | str]:
        for item in value:
            status_ranges([item])
        if not value:
            raise ValueError("must name at least one status")
        return value

    @field_validator("response_headers")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    @model_validator(mode="after")
    def _body_fits_method(self) -> HttpRequest:
        if self.body is not None and self.method in {"GET", "HEAD", "OPTIONS"}:
            raise ValueError(f"a {self.method} request carries no body")
        return self

    @property
    def unsafe(self) -> bool:
        return self.method in UNSAFE_METHODS

    def expects(self, status: int) -> bool:
        return any(low <= status <= high for low, high in status_ranges(self.expected_status))


def status_ranges(items: list[int | str]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for item in items:
        match = STATUS_RANGE.match(str(item).strip().lower())
        if match is None:
            raise ValueError(f"{item!r} is not a status, a range 'low-high' or a class '2xx'")
        klass, low, high, single = match.groups()
        if klass:
            ranges.append((int(klass) * 100, int(klass) * 100 + 99))
        elif single:
            ranges.append((int(single), int(single)))
        else:
            if int(low) > int(high):
                raise ValueError(f"range {item!r} runs backwards")
            ranges.append((int(low), int(high)))
    for low, high in ranges:
        if low < 100 or high > 599:
            raise ValueError(f"status {low}-{high} is outside 100-599")
    return ranges


def _success() -> list[int | str]:
    return ["2xx"]


class HttpResponse(BaseModel):
    """The selected part of a response: what a workflow may keep in its history."""

    model_config = ConfigDict(frozen=True)

    status: int
    url: str
    headers: dict[str, str]
    body: JsonValue = None
    elapsed_seconds: float
