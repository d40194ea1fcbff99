"""Hooktide's custom search attributes: what makes deliveries and orders findable in the
Temporal Web UI and through visibility queries.

The embedded dev server registers them at start (`webhook_gateway/devserver.py`); on a
Temporal cluster register them once, e.g.
`temporal operator search-attribute create --name HooktideStatus --type Keyword`.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ROUTE = SearchAttributeKey.for_keyword("HooktideRoute")
DELIVERY_ID = SearchAttributeKey.for_keyword("HooktideDeliveryId")
STATUS = SearchAttributeKey.for_keyword("HooktideStatus")
ORDER_ID = SearchAttributeKey.for_keyword("HooktideOrderId")
CUSTOMER = SearchAttributeKey.for_keyword("HooktideCustomer")
ENDPOINT = SearchAttributeKey.for_keyword("HooktideEndpoint")
EVENT_TYPE = SearchAttributeKey.for_keyword("HooktideEventType")

ALL = (ROUTE, DELIVERY_ID, STATUS, ORDER_ID, CUSTOMER, ENDPOINT, EVENT_TYPE)


def dev_server_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}=Keyword"]
    return flags
