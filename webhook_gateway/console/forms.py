"""Form posts (application/x-www-form-urlencoded), read with a size bound."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.requests import Request

from webhook_gateway.errors import BodyTooLarge, UnsupportedMediaType

MAX_FORM_BYTES = 1_048_576  # the explain form carries a sample body


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))


async def read_form(request: Request) -> Form:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(f"Console forms are sent as a form, not as {media}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BodyTooLarge(f"The form is larger than {MAX_FORM_BYTES} bytes.")
    return Form(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
