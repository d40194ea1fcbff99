"""`IdRule`: where a delivery id or workflow id comes from.

Its own module so that verifiers can name their sender's default delivery id without
importing the route file's models (which import the verifiers).
"""

from __future__ import annotations

import jmespath
import jmespath.exceptions
from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class IdRule(BaseModel):
    """Where an id comes from: one of a header, a JMESPath over the JSON body, a path param.

    For `workflow_id`, naming none of them means "the delivery id"; `prefix` is prepended.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str | None = None
    jmespath: str | None = None
    path_param: str | None = None
    prefix: str = ""

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
            raise ValueError("name only one of 'header', 'jmespath', 'path_param'")
        return self

    def sources(self) -> list[str]:
        return [k for k in ("header", "jmespath", "path_param") if getattr(self, k) is not None]
