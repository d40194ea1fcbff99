"""Hooktide's custom search attributes: what makes deliveries and orders findable in the
Temporal Web UI and through visibility queries.

The embedded dev server registers them at start (`webhook_gateway/devserver.py`), and so
does docker-compose.yml's namespace job; on another Temporal cluster register them once with
the commands `create_command` gives. `hooktide check --temporal` and the worker's start-up
name any that are missing (`missing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.common import SearchAttributeKey

if TYPE_CHECKING:
    from temporalio.client import Client

ROUTE = SearchAttributeKey.for_keyword("HooktideRoute")
DELIVERY_ID = SearchAttributeKey.for_keyword("HooktideDeliveryId")
STATUS = SearchAttributeKey.for_keyword("HooktideStatus")
ORDER_ID = SearchAttributeKey.for_keyword("HooktideOrderId")
CUSTOMER = SearchAttributeKey.for_keyword("HooktideCustomer")
ENDPOINT = SearchAttributeKey.for_keyword("HooktideEndpoint")
EVENT_TYPE = SearchAttributeKey.for_keyword("HooktideEventType")

ALL = (ROUTE, DELIVERY_ID, STATUS, ORDER_ID, CUSTOMER, ENDPOINT, EVENT_TYPE)


def cli_type(key: SearchAttributeKey[Any]) -> str:
    """The type as the `temporal` CLI spells it: Keyword, KeywordList, Datetime, ..."""
    return "".join(part.capitalize() for part in key.indexed_value_type.name.split("_"))


def dev_server_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={cli_type(key)}"]
    return flags


def create_command(key: SearchAttributeKey[Any], namespace: str) -> str:
    return (
        f"temporal operator search-attribute create --namespace {namespace} "
        f"--name {key.name} --type {cli_type(key)}"
    )


def describe_missing(absent: Sequence[SearchAttributeKey[Any]], namespace: str) -> str:
    return (
        f"Temporal namespace '{namespace}' lacks the search attributes "
        f"{', '.join(key.name for key in absent)}: deliveries cannot be searched by them, "
        "and a workflow that sets one stalls until it is added."
    )


async def missing(
    client: Client, *, timeout: timedelta | None = None
) -> Sequence[SearchAttributeKey[Any]]:
    """Hooktide's search attributes that the client's namespace has not registered. Raises
    `RPCError` when they cannot be listed (no such namespace, no permission)."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), timeout=timeout
    )
    return [key for key in ALL if key.name not in listed.custom_attributes]
