"""The gateway's own JSON answers (acks, problem+json), written by orjson.

Compact and UTF-8, byte for byte what Starlette's `JSONResponse` writes for the strings,
integers, booleans and nulls these bodies hold. What orjson will not write (an integer past
64 bits, a non-string key, a lone surrogate) goes to `fallback`: by default the standard
library with Starlette's settings, so that it answers (or fails) as `JSONResponse` would.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response


def starlette_json(content: Any) -> bytes:
    """What Starlette's `JSONResponse` writes."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return self.fallback(content)

    @staticmethod
    def fallback(content: Any) -> bytes:
        return starlette_json(content)
