"""The payload codec's keys, from HOOKTIDE_PAYLOAD_KEYS or HOOKTIDE_PAYLOAD_KEYS_FILE."""

from __future__ import annotations

from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts.codec import PayloadKey, PayloadKeyError, parse_keys
from webhook_gateway.contracts.errors import ConfigError


def payload_keys(settings: Settings) -> list[PayloadKey] | None:
    """None when encryption is off; `ConfigError` naming the variable (or file) and the key
    id when a key is malformed (never the key)."""
    if settings.payload_keys is not None and settings.payload_keys_file is not None:
        raise ConfigError("Set HOOKTIDE_PAYLOAD_KEYS or HOOKTIDE_PAYLOAD_KEYS_FILE, not both.")
    try:
        if settings.payload_keys is not None:
            keys = parse_keys(settings.payload_keys.get_secret_value())
        elif settings.payload_keys_file is not None:
            path = settings.payload_keys_file
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"HOOKTIDE_PAYLOAD_KEYS_FILE: {path} cannot be read ({exc.strerror})."
                ) from exc
            keys = parse_keys(text, source=f"HOOKTIDE_PAYLOAD_KEYS_FILE ({path})")
        else:
            return None
    except PayloadKeyError as exc:
        raise ConfigError(str(exc)) from exc
    if not keys:
        raise ConfigError("HOOKTIDE_PAYLOAD_KEYS is set but lists no key; unset it or add one.")
    return keys
