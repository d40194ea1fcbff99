"""The one error every layer may raise for a wrong setting (route file or environment)."""

from __future__ import annotations


class ConfigError(Exception):
    """The route file or the environment is wrong; the message names what to fix."""
