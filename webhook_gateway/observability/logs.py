"""Process logging: one JSON object per line (or readable text for `make run`), secrets redacted.

Every record keeps the fields passed with `extra=` (route, delivery_id, workflow_id, outcome,
status, latency_ms ...) as top-level JSON keys; the Temporal SDK's workflow and activity
loggers add `temporal_workflow` / `temporal_activity` the same way, so worker lines carry
the workflow id too. The current OpenTelemetry trace id, when there is one, is added as
`trace_id` so that a log line leads to its trace. python-json-logger writes the JSON.

`RedactingFilter` sits on the handler, so it sees every record from every logger: known
secret values become `[REDACTED]` wherever they appear, and so do credential headers
(Authorization, cookies, API keys, anything named like a signature) in mappings and text.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace
from pydantic import BaseModel
from pythonjsonlogger import json as jsonlogger
from pythonjsonlogger.core import RESERVED_ATTRS, merge_record_extra

from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource

REDACTED = "[REDACTED]"
#: Shorter values would redact ordinary words; real secrets are far longer.
MIN_SECRET_CHARS = 6
SENSITIVE_NAMES = re.compile(
    r"(authorization|cookie|api[-_]?key|token|secret|password|signature|hmac)", re.IGNORECASE
)
#: After "Bearer" or "Basic" outside a named header, a value is taken for a credential only
#: when shaped like one (a digit, a dot or "+", mixed case, "=" padding): in "bearer tokens"
#: or "route bearer /webhooks/bearer" the words stay.
_CREDENTIAL_SHAPE = re.compile(r"[0-9.+]|[a-z][A-Z]|=$")


def _redacted(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2) + REDACTED


def _redacted_if_credential(match: re.Match[str]) -> str:
    value = match.group(3)
    if value.startswith("/") or not _CREDENTIAL_SHAPE.search(value):
        return match.group(0)
    return _redacted(match)


_CREDENTIAL_TEXT: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    # "Authorization: Bearer abc", "authorization=Basic abc", "'x-api-key': 'abc'"
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|cookie|x-api-key|[\w-]*signature[\w-]*"
            r"|x-shopify-hmac-sha256)(['\"]?\s*[:=]\s*['\"]?)"
            # the value: "Bearer x", "v1,sig", "v1,a v1,b" (a rotation's signature list)
            r"((?:(?:bearer|basic)\s+)?[^\s'\"}]+(?:\s+v\d+a?,[^\s'\"}]+)*)"
        ),
        _redacted,
    ),
    # "?bearer=abc", "bearer=abc": named as a parameter, whatever its shape
    (re.compile(r"\b((?i:bearer|basic))(=)([^\s&'\"},;]+)"), _redacted),
    # "Bearer eyJhbGciOi...", "Basic dXNlcjpwYXNz": a token68 (RFC 9110) standing alone
    (
        re.compile(
            r"\b((?i:bearer|basic))(\s*:\s*|\s+)"
            r"([A-Za-z0-9._~+/-]{6,}=*)(?![^\s'\"},;)\]])"
        ),
        _redacted_if_credential,
    ),
]


#: Every pattern above needs one of these words (as case-blind as they are): a text without
#: any is left as it is, without running them.
_CREDENTIAL_WORDS = re.compile(
    r"(?i)authorization|cookie|x-api-key|signature|x-shopify-hmac-sha256|bearer|basic"
)
#: Values with nothing to redact in them.
_PLAIN = frozenset({int, float, bool, type(None)})


@functools.lru_cache(maxsize=1024)
def _sensitive(name: str) -> bool:
    """A field named like a credential (field names repeat: each is looked at once)."""
    return SENSITIVE_NAMES.search(name) is not None


#: python-json-logger's list of LogRecord's own attributes, as a set: each record's every
#: attribute is looked up in it.
_RESERVED = frozenset(RESERVED_ATTRS)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields passed with `extra=`, as python-json-logger picks them."""
    return merge_record_extra(record, {}, reserved=_RESERVED)


class RedactingFilter(logging.Filter):
    """Replaces known secret values and credential headers in every record it passes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets) | {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        if _CREDENTIAL_WORDS.search(text) is None:
            return text
        for pattern, replace in _CREDENTIAL_TEXT:
            text = pattern.sub(replace, text)
        return text

    def clean(self, value: Any, name: str = "") -> Any:
        if type(value) in _PLAIN:
            return value
        if name and _sensitive(name) and isinstance(value, str | bytes):
            return REDACTED
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            return self.redact(value.decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {str(k): self.clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.clean(v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # Formatters print the redacted exc_text in its place; python-json-logger would
            # otherwise render the traceback afresh, secrets and all.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        attributes = record.__dict__
        for key in attributes.keys() - _RESERVED:  # the extras, as `_extras` finds them
            if not (isinstance(key, str) and key.startswith("_")):
                setattr(record, key, self.clean(attributes[key], key))
        return True


def _trace_ids() -> dict[str, str]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class JsonFormatter(jsonlogger.JsonFormatter):
    """`{"ts", "level", "logger", "message", ...extra fields}`, one object per line."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={
                "asctime": "ts",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data |= _trace_ids()


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message key=value ...`, for people reading `make run`'s logs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _extras(record) | _trace_ids()
        if not fields:
            return text
        head, sep, tail = text.partition("\n")
        pairs = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
        return f"{head} {pairs}{sep}{tail}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, separators=(",", ":"))
    return str(value)


def configure(
    *,
    fmt: str = "json",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every logger's records to one handler on the root logger; returns the handler
    (tests remove it again with `logging.getLogger().removeHandler(handler)`)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(TextFormatter() if fmt == "text" else JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "hooktide", False)]:
        root.removeHandler(old)
    handler.hooktide = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def secret_values(*objects: object) -> list[str]:
    """Every secret value reachable from `objects` (route files, settings): resolved
    `SecretSource`s, pydantic `SecretStr`s, walked through models, lists and mappings.
    Sources that cannot be resolved are skipped: there is nothing of theirs to leak."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretSource):
            with contextlib.suppress(ConfigError):  # reported by `hooktide check`, not here
                found.extend(value.resolve("logging"))
        elif hasattr(value, "get_secret_value"):
            found.append(str(value.get_secret_value()))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    for obj in objects:
        walk(obj)
    return found
