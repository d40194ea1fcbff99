"""`IdRule`: where a delivery id or workflow id comes from.

Its own module so that verifiers can name their sender's default delivery id without
importing the route file's models (which import the verifiers).
"""

from __future__ import annotations

from typing import Literal

import jmespath
import jmespath.exceptions
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

IdPart = Literal["header", "body", "url", "signed_id"]


class IdRule(BaseModel):
    """Where an id comes from: one of a header, a JMESPath over the parsed body, the SHA-256
    of the raw body, a path param, or the id the verifier authenticated (`signed_id`).

    For `workflow_id`, naming none of them means "the delivery id"; `prefix` is prepended.
    `unsigned: true` says that the route knowingly takes an id its signature does not cover.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str | None = None
    jmespath: str | None = None
    path_param: str | None = None
    body_sha256: bool = False
    signed_id: bool = False
    prefix: str = ""
    unsigned: bool = False

    @field_validator("header")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("jmespath")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                jmespath.compile(value)
            except jmespath.exceptions.JMESPathError as exc:
                raise ValueError(f"not a valid JMESPath expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _at_most_one(self) -> IdRule:
        if len(self.sources()) > 1:
            raise ValueError(
                "name only one of 'header', 'jmespath', 'path_param', 'body_sha256', 'signed_id'"
            )
        return self

    def sources(self) -> list[str]:
        return [k for k in SOURCES if getattr(self, k) not in (None, False)]

    @property
    def part(self) -> IdPart | None:
        """The part of the request the id is read from; None: the delivery id."""
        if self.header:
            return "header"
        if self.jmespath or self.body_sha256:
            return "body"
        if self.path_param:
            return "url"
        return "signed_id" if self.signed_id else None

    def describe(self) -> str:
        if self.header:
            return f"header {self.header}"
        if self.jmespath:
            return f"body field {self.jmespath}"
        if self.path_param:
            return f"path parameter {self.path_param}"
        if self.body_sha256:
            return "SHA-256 of the body"
        return "signed id" if self.signed_id else "delivery id"


SOURCES = ("header", "jmespath", "path_param", "body_sha256", "signed_id")
