"""Where a route's secrets come from: environment variables or files, never the YAML itself.

Each value is taken exactly as written: a variable's whole value is one secret, a file holds
one secret per line (only the line ending is removed). Several live secrets (a rotation) are
named as a list: `secret: [{env: NEW}, {env: OLD}]`, `env: [NEW, OLD]`, several files, or
several lines in one file. One exception keeps an older form working where it cannot be
ambiguous: a value made only of space-separated `whsec_...`/`whpk_...` keys (base64 holds no
spaces) is read as those keys.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from webhook_gateway.contracts.errors import ConfigError

log = logging.getLogger("hooktide.config")

KEY_PREFIXES = ("whsec_", "whpk_")


@dataclass(frozen=True)
class Secret:
    """One secret value and where it was read (a variable's name or a file's path)."""

    value: str
    origin: str
    allow_short: bool = False

    def check_length(self, route: str, length: int, *, minimum: int, unit: str) -> None:
        """Refuse a secret shorter than the scheme's minimum, naming where it came from and
        never the value; with `allow_short`, warn instead (at every start)."""
        if length >= minimum:
            return
        text = (
            f"Route '{route}': the secret in {self.origin} has {length} {unit}; this scheme "
            f"needs at least {minimum}."
        )
        if not self.allow_short:
            raise ConfigError(
                f"{text} Use a longer random secret, or, for a sender whose secret you cannot "
                "change, set 'allow_short: true' next to its 'env'/'file'."
            )
        log.warning("%s Accepted because of 'allow_short: true'.", text)


class SecretSource(BaseModel):
    """One place secrets live: environment variable(s) and/or file(s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | list[str] | None = None
    file: str | list[str] | None = None
    allow_short: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if not self.env_names() and not self.file_names():
            raise ValueError("name an environment variable ('env') or a file ('file')")
        return self

    def describe(self) -> str:
        return ", ".join([f"${name}" for name in self.env_names()] + self.file_names())

    def env_names(self) -> list[str]:
        """The environment variables this source reads."""
        return _names(self.env)

    def file_names(self) -> list[str]:
        return _names(self.file)

    def secrets(self, route: str, environ: Mapping[str, str] | None = None) -> list[Secret]:
        """Every secret currently configured; raises `ConfigError` naming what is missing."""
        env = os.environ if environ is None else environ
        found: list[Secret] = []
        for name in self.env_names():
            value = env.get(name, "")
            if not value:
                raise ConfigError(
                    f"Route '{route}': environment variable {name} is not set or empty; "
                    f"set it to the route's secret."
                )
            found += [Secret(v, f"${name}", self.allow_short) for v in _split_keys(value)]
        for path in self.file_names():
            lines = [v for v in _lines(_read(route, path)) if v]
            if not lines:
                raise ConfigError(f"Route '{route}': secret file {path} is empty.")
            for line in lines:
                found += [Secret(v, path, self.allow_short) for v in _split_keys(line)]
        return found

    def resolve(self, route: str, environ: Mapping[str, str] | None = None) -> list[str]:
        """The secret values, as written."""
        return [s.value for s in self.secrets(route, environ)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict | SecretSource) else value


class SecretSources(BaseModel):
    """A verifier's secrets: one source (`{env: X}`) or an explicit list of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: Annotated[list[SecretSource], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _wrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) == {"sources"}:
            return data
        return {"sources": _as_list(data)}

    def describe(self) -> str:
        return ", ".join(s.describe() for s in self.sources)

    def env_names(self) -> list[str]:
        return [name for s in self.sources for name in s.env_names()]

    def secrets(self, route: str, environ: Mapping[str, str] | None = None) -> list[Secret]:
        return [secret for s in self.sources for secret in s.secrets(route, environ)]

    def resolve(self, route: str, environ: Mapping[str, str] | None = None) -> list[str]:
        return [s.value for s in self.secrets(route, environ)]

    def keys(self, route: str, *, minimum: int, unit: str = "bytes") -> list[bytes]:
        """The secrets as HMAC keys (UTF-8 bytes), each at least `minimum` long: counted in
        bytes, or in characters for tokens and passwords (`unit="characters"`)."""
        keys: list[bytes] = []
        for secret in self.secrets(route):
            key = secret.value.encode("utf-8")
            length = len(secret.value) if unit == "characters" else len(key)
            secret.check_length(route, length, minimum=minimum, unit=unit)
            keys.append(key)
        return keys


def _names(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _read(route: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Route '{route}': secret file {path} cannot be read ({exc.strerror})."
        ) from exc


def _lines(content: str) -> list[str]:
    # Only "\n" (and a "\r" before it) ends a line: str.splitlines would also split on
    # characters a secret may hold.
    return [line.removesuffix("\r") for line in content.split("\n")]


def _split_keys(value: str) -> list[str]:
    parts = value.split(" ")
    if len(parts) > 1 and all(p.startswith(KEY_PREFIXES) for p in parts):
        return parts
    return [value]
