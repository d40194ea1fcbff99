"""The gateway's own endpoints, in one list: the app mounts them from it (the example's only
when the example is configured), and the route file may not declare a webhook under any of
their first path segments, mounted or not."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorPath:
    name: str
    path: str
    methods: tuple[str, ...] = ("GET",)
    #: Mounted only when the order example is configured (HOOKTIDE_APPROVAL_SECRET).
    example: bool = False

    @property
    def openapi_path(self) -> str:
        """The path as OpenAPI writes it: Starlette's `{key:path}` (a key that may hold
        slashes) is plain `{key}` there."""
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)


OPERATOR_PATHS = (
    OperatorPath("healthz", "/healthz"),
    OperatorPath("readyz", "/readyz"),
    OperatorPath("delivery", "/deliveries/{delivery_id}"),
    OperatorPath("openapi", "/openapi.json"),
    OperatorPath("metrics", "/metrics"),
    OperatorPath("approval", "/approvals/{token}", ("GET", "POST"), example=True),
    OperatorPath("outbound-status", "/outbound/{delivery_id}"),
    OperatorPath("outbound-redrive", "/outbound/{delivery_id}/redrive", ("POST",)),
    OperatorPath("explain", "/routes/{name}/explain", ("POST",)),
    OperatorPath("codec-encode", "/codec/encode", ("POST", "OPTIONS")),
    OperatorPath("codec-decode", "/codec/decode", ("POST", "OPTIONS")),
    OperatorPath("flow-view", "/flow/{target}/{key:path}"),
    OperatorPath("flow-release", "/flow/{target}/{key:path}/release", ("POST",)),
)

#: The operator console's pages (webhook_gateway/console/), mounted as one tree.
CONSOLE_PREFIX = "/console"

RESERVED_PREFIXES = tuple(
    dict.fromkeys(["/" + p.path.split("/")[1] for p in OPERATOR_PATHS] + [CONSOLE_PREFIX])
)


def reserved_prefix(path: str) -> str | None:
    """The operator prefix `path` falls under, if any."""
    for prefix in RESERVED_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return None
