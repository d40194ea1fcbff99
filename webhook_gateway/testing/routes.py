"""The user's route file as a test runs it: every target on the test's own task queue, and a
generated secret of the right form for each variable a verifier names that is not set."""

from __future__ import annotations

import base64
import copy
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webhook_gateway.config.routes import HooktideConfig, parse_config
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.secrets import SecretSource, SecretSources
from webhook_gateway.verifiers.standard_webhooks import StandardWebhooksConfig

#: A route file's path, or its content as the YAML would parse (`{"routes": {...}}`).
Routes = str | Path | Mapping[str, Any]
#: What a variable must hold: a `whsec_` key, a `whpk_` public key, or any long random text
#: (which suits every HMAC secret, token, API key and password minimum).
SecretForm = Literal["whsec", "whpk", "text"]


def load_routes(routes: Routes, task_queue: str) -> HooktideConfig:
    """The routes with every route's and rule's `task_queue` replaced by `task_queue`;
    relative paths in a file (schemas) start at the file's folder."""
    if isinstance(routes, Mapping):
        data, source, base_dir = copy.deepcopy(dict(routes)), "<routes>", None
    else:
        path = Path(routes)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"Route file {path} cannot be read: {exc}") from exc
        source, base_dir = str(path), path.parent
    for route in _route_bodies(data):
        rules = route.get("rules")
        if rules:
            for rule in rules:
                if isinstance(rule, dict):
                    rule["task_queue"] = task_queue
        else:
            route["task_queue"] = task_queue
    return parse_config(data, source=source, base_dir=base_dir)


def _route_bodies(data: Any) -> Iterator[dict[str, Any]]:
    routes = data.get("routes") if isinstance(data, dict) else None
    bodies = routes.values() if isinstance(routes, dict) else routes or []
    yield from (body for body in bodies if isinstance(body, dict))


def missing_secrets(
    config: HooktideConfig, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A generated value for each variable the routes' verifiers (and the subscriptions)
    name that `environ` (default: the process's) lacks or has empty."""
    env = os.environ if environ is None else environ
    forms: dict[str, SecretForm] = {}
    order: tuple[SecretForm, ...] = ("text", "whpk", "whsec")
    for name, form in _named_secrets(config):
        if not env.get(name) and order.index(form) >= order.index(forms.get(name, "text")):
            forms[name] = form
    return {name: generate(form) for name, form in forms.items()}


def _named_secrets(config: HooktideConfig) -> Iterator[tuple[str, SecretForm]]:
    for route in config.routes:
        verifier = route.verifier
        for field_name in type(verifier).model_fields:
            source = getattr(verifier, field_name)
            if not isinstance(source, SecretSources | SecretSource):
                continue
            form: SecretForm = "text"
            if field_name == "public_key":
                form = "whpk"
            elif isinstance(verifier, StandardWebhooksConfig):
                form = "whsec"
            yield from ((name, form) for name in source.env_names())
    for subscription in config.subscriptions:
        yield from ((name, "whsec") for name in subscription.secret.env_names())


def generate(form: SecretForm) -> str:
    """A fresh secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks wants 24 at
    least), a `whpk_` ed25519 public key, or 43 random URL-safe characters (HMAC secrets want
    16 bytes, tokens 16 characters)."""
    if form == "whsec":
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    if form == "whpk":
        public = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        return "whpk_" + base64.b64encode(public).decode()
    return secrets.token_urlsafe(32)
