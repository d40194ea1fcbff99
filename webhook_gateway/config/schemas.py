"""JSON Schema files a route or rule names (`schema: schemas/order.json`), checked at start-up.

Draft 2020-12, validated with the `jsonschema` library; `$ref`s resolve only inside the
file (nothing is fetched over the network).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import AfterValidator, ValidationInfo


@lru_cache(maxsize=256)
def load_schema(path: str) -> Draft202012Validator:
    """The compiled validator for a schema file; ValueError names the file and the problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"schema file {path} cannot be read ({exc.strerror})") from exc
    try:
        schema: Any = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"schema file {path} is not valid JSON or YAML: {exc}") from exc
    if not isinstance(schema, dict | bool):
        raise ValueError(f"schema file {path} must hold a JSON Schema object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ValueError(
            f"schema file {path} is not a valid draft 2020-12 schema at {where}: {exc.message}"
        ) from exc
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _resolve(value: str, info: ValidationInfo) -> str:
    """A relative path is relative to the route file's folder."""
    base = (info.context or {}).get("base_dir")
    path = Path(value)
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    resolved = str(path.resolve())
    load_schema(resolved)
    return resolved


#: A schema file's path, made absolute and checked when the route file is read.
SchemaFile = Annotated[str, AfterValidator(_resolve)]
