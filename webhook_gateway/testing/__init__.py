"""Hooktide's testing kit (`pip install hooktide[testing]`): a pytest plug-in whose fixtures run
your route file's gateway and a worker with your workflows against Temporal's time-skipping
test server, in the test's own process (README, "Your own workflows").

    async def test_a_sign_up_is_reminded_three_days_later(hooktide: KitFactory) -> None:
        async with hooktide(routes="hooktide.yaml") as kit:
            ack = await kit.send("signups", {"type": "user.created", "user": "ada"})
            assert ack.status == 202, ack
            await kit.sleep(timedelta(days=3))
            assert await kit.result(ack) == "reminded ada"

The names below are imported on first use, so that loading the plug-in stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhook_gateway.testing.kit import Kit, KitFactory
    from webhook_gateway.testing.peer import Peer, Recorded, Reply, serve_peer
    from webhook_gateway.testing.sending import Answer

__all__ = ["Answer", "Kit", "KitFactory", "Peer", "Recorded", "Reply", "serve_peer"]

_HOMES = {
    "Answer": "sending",
    "Kit": "kit",
    "KitFactory": "kit",
    "Peer": "peer",
    "Recorded": "peer",
    "Reply": "peer",
    "serve_peer": "peer",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
