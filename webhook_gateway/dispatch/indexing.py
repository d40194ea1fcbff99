"""What makes an inbound delivery findable: the search attributes HooktideRoute,
HooktideDeliveryId and HooktideEventType on each workflow the gateway starts, so the console
and `hooktide deliveries list` can filter by them and Temporal's Web UI can search them.

A start that names a search attribute the namespace has not registered is refused by
Temporal, so the gateway asks once which of them are registered (`search_attributes.missing`)
and sets only those; when it cannot ask (Temporal down, no permission) it starts without
them and asks again ten seconds later. The dev server and docker-compose.yml register them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from webhook_gateway.contracts import search_attributes as sa
from webhook_gateway.contracts.events import WebhookEvent

log = logging.getLogger("hooktide.gateway")
WANTED = (sa.ROUTE, sa.DELIVERY_ID, sa.EVENT_TYPE)
RETRY_SECONDS = 10.0
MAX_VALUE = 1000  # well under Temporal's per-value limit (2 KiB by default)


class DeliveryIndex:
    def __init__(self, client: Client, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._names: frozenset[str] | None = None
        self._asking: asyncio.Task[frozenset[str] | None] | None = None
        self._retry_at = 0.0

    async def attributes(self, event: WebhookEvent) -> TypedSearchAttributes | None:
        names = await self._registered()
        if not names:
            return None
        values = {sa.ROUTE: event.route, sa.DELIVERY_ID: event.delivery_id}
        if event.event_type is not None:
            values[sa.EVENT_TYPE] = event.event_type
        return TypedSearchAttributes(
            [
                SearchAttributePair(key, value)
                for key, value in values.items()
                if key.name in names and len(value) <= MAX_VALUE
            ]
        )

    async def registered(self) -> frozenset[str]:
        """The Hooktide search attributes the namespace has (empty while unknown)."""
        names = await self._registered()
        return names if self._names is not None else frozenset()

    async def _registered(self) -> frozenset[str]:
        if self._names is not None:
            return self._names
        if time.monotonic() < self._retry_at:
            return frozenset()
        if self._asking is None:
            self._asking = asyncio.create_task(self._ask())
        asking = self._asking
        try:
            names = await asyncio.shield(asking)
        finally:
            if self._asking is asking and asking.done():
                self._asking = None
        return names or frozenset()

    def _unknown(self, why: str) -> None:
        self._retry_at = time.monotonic() + RETRY_SECONDS
        log.warning(
            "Could not list the namespace's search attributes (%s): deliveries are started "
            "without HooktideRoute/HooktideDeliveryId/HooktideEventType until they can be "
            "(asked again in %.0f s).",
            why,
            RETRY_SECONDS,
        )

    async def _ask(self) -> frozenset[str] | None:
        try:
            absent = await sa.missing(self._client, timeout=timedelta(seconds=self._timeout))
        except RPCError as exc:
            if exc.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
                log.info("Search attributes cannot be listed here (%s): none set.", exc.status.name)
                self._names = frozenset()
                return self._names
            self._unknown(exc.status.name if exc.status else str(exc))
            return None
        except Exception as exc:  # not connected yet (the lazy client), or gone
            self._unknown(f"{type(exc).__name__}: {exc}")
            return None
        names = frozenset(k.name for k in sa.ALL) - {k.name for k in absent}
        if absent:
            log.warning(
                "%s; run: %s",
                sa.describe_missing(absent, self._client.namespace),
                "; ".join(sa.create_command(k, self._client.namespace) for k in absent),
            )
        self._names = names
        return names
