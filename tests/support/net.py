"""Loopback helpers: every server a test starts listens on 127.0.0.1 only (the local
stack's own helpers, webhook_gateway/dev/processes.py)."""

from __future__ import annotations

from webhook_gateway.dev.processes import LOOPBACK, free_port

__all__ = ["LOOPBACK", "LOOPBACK_ONLY", "free_port"]

#: HOOKTIDE_OUTBOUND_ALLOW for tests whose outbound calls go to a peer on loopback.
LOOPBACK_ONLY = "127.0.0.0/8,::1/128"
