"""The recording HTTP peer, which now ships with the testing kit (webhook_gateway/testing/peer.py);
re-exported for the suite's outbound tests."""

from __future__ import annotations

from webhook_gateway.testing.peer import METHODS, Peer, Recorded, Reply

__all__ = ["METHODS", "Peer", "Recorded", "Reply"]
