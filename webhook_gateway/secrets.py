"""Where a route's secrets come from: environment variables or files, never the YAML itself."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from webhook_gateway.errors import ConfigError


class SecretSource(BaseModel):
    """Names where secrets live. Each variable or file may hold several whitespace-separated
    secrets, so a rotation is: add the new secret next to the old one, then drop the old one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | list[str] | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if self.env is None and self.file is None:
            raise ValueError("name an environment variable ('env') or a file ('file')")
        return self

    def describe(self) -> str:
        parts = [f"${name}" for name in self._env_names()]
        if self.file:
            parts.append(self.file)
        return ", ".join(parts)

    def env_names(self) -> list[str]:
        """The environment variables this source reads."""
        return self._env_names()

    def _env_names(self) -> list[str]:
        if self.env is None:
            return []
        return [self.env] if isinstance(self.env, str) else list(self.env)

    def resolve(self, route: str, environ: dict[str, str] | None = None) -> list[str]:
        """Every secret currently configured; raises `ConfigError` naming what is missing."""
        env = os.environ if environ is None else environ
        secrets: list[str] = []
        for name in self._env_names():
            value = env.get(name, "")
            if not value.strip():
                raise ConfigError(
                    f"Route '{route}': environment variable {name} is not set or empty; "
                    f"set it to the route's secret."
                )
            secrets.extend(value.split())
        if self.file:
            path = Path(self.file)
            try:
                content = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"Route '{route}': secret file {self.file} cannot be read ({exc.strerror})."
                ) from exc
            if not content.strip():
                raise ConfigError(f"Route '{route}': secret file {self.file} is empty.")
            secrets.extend(content.split())
        return secrets
