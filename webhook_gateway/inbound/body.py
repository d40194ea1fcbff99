"""Reading and parsing a request body within the route's limits.

JSON is parsed by orjson where it is sure to agree with the standard library, and by the
standard library otherwise: every body gets the standard library's answer, result or 400,
only sooner (tests/inbound/test_json_parsing.py pins each edge). orjson reads an integer
past 64 bits as a float, and nests 1024 levels where the standard library may stop sooner,
so a body with a run of 19 digits or many brackets goes to the standard library; so does
every body orjson refuses, for the standard library's own error message (or its result:
it takes NaN-free bodies that orjson refuses, such as 1e400). A lone surrogate escape is
valid JSON but no UTF-8 text can hold it, so such a body is refused (422) rather than
answered 503 on every retry when the event cannot be encoded.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from webhook_gateway.errors import (
    BodyTimeout,
    BodyTooLarge,
    MalformedBody,
    UnprocessableEvent,
    UnsupportedMediaType,
)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_media_type(content_type: str | None, accepted: list[str]) -> str:
    media = media_type(content_type)
    if "*/*" in accepted or media in accepted:
        return media
    raise UnsupportedMediaType(
        f"Content-Type '{media or '(none)'}' is not accepted by this route; "
        f"send one of: {', '.join(accepted)}."
    )


async def read_body(request: Request, limit: int, *, timeout: float = 10.0) -> bytes:
    """The whole body, counted while it streams in: Content-Length is a hint, not a promise.

    The whole body must arrive within `timeout` seconds, so a slow sender cannot hold a
    connection (and its buffer) open for ever."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise MalformedBody("Content-Length must be a whole number of bytes.")
        if int(declared) > limit:
            raise BodyTooLarge(f"The body is {declared} bytes; this route accepts at most {limit}.")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"The body exceeds this route's limit of {limit} bytes.")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise BodyTimeout(f"The body did not arrive within {timeout:g} s.") from exc
    return b"".join(chunks)


#: 18 digits always fit orjson's 64-bit integers; 19 may not.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
#: A UTF-16 surrogate escape: JSON allows one unpaired, UTF-8 text cannot hold it.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Far below any depth the standard library stops at (about 1000 less the stack in use).
MAX_FAST_BRACKETS = 200


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _stdlib_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"The JSON body is not valid UTF-8 (byte {exc.start}).") from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from exc
    except ValueError as exc:
        raise MalformedBody(f"The body is not valid JSON: {exc}.") from exc
    except RecursionError as exc:
        raise MalformedBody("The JSON body is nested too deeply.") from exc
    if _SURROGATE_ESCAPE.search(body) is not None:
        _check_text(value)
    return value


def _check_text(value: Any) -> None:
    """Refuses a string no UTF-8 text can hold (an unpaired surrogate escape, `\\ud800`):
    the event could never be stored, and the sender's retries would all fail alike."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnprocessableEvent(
            "The body cannot be carried to a workflow: it holds an unpaired UTF-16 surrogate "
            f"escape (\\u{ord(exc.object[exc.start]):04x}), which UTF-8 text cannot store; "
            "send the character as a surrogate pair or drop it."
        ) from None
    except (ValueError, RecursionError):
        return  # refused later, where the event is built (too deep to carry)


def parse_json(body: bytes) -> Any:
    """The body's JSON value, as `json.loads` makes it; `MalformedBody` with its message."""
    brackets = body.count(b"{") + body.count(b"[")
    if brackets < MAX_FAST_BRACKETS and _LONG_DIGITS.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return _stdlib_json(body)


def parse_body(media: str, body: bytes) -> tuple[Any, bytes | None]:
    """(parsed body, raw bytes): JSON and forms are parsed; any other type is kept raw."""
    if media == "application/json" or media.endswith("+json"):
        return parse_json(body), None
    if media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise MalformedBody("The form body is not valid UTF-8.") from exc
        form: dict[str, str | list[str]] = {}
        for key, value in pairs:
            existing = form.get(key)
            if existing is None:
                form[key] = value
            elif isinstance(existing, list):
                existing.append(value)
            else:
                form[key] = [existing, value]
        return form, None
    return None, body
