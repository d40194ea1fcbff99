"""The Hooktide worker: runs every workflow and activity; stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.batches import summarize_batch
from activities.example.orders import OrderActivities
from activities.http.request import HttpActivities
from activities.http.ssrf import OutboundPolicy
from activities.notifications import NotifyActivities
from activities.outbound import OutboundActivities, disable_endpoint
from activities.start_events import start_events
from webhook_gateway.config.routes import load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.contracts import search_attributes
from webhook_gateway.contracts.outbound import Subscription
from webhook_gateway.dispatch.temporal_client import connect
from webhook_gateway.observability import tracing
from webhook_gateway.observability.metrics import worker_runtime
from webhook_gateway.observability.process import setup_process
from workflows.example.github import DeployWorkflow, PullRequestWorkflow
from workflows.example.order import OrderWorkflow
from workflows.example.stripe import CheckoutWorkflow, InvoiceWorkflow, LedgerWorkflow
from workflows.example.ticket import TicketWorkflow
from workflows.highfreq.batch import BatchCollectorWorkflow
from workflows.highfreq.debounce import DebounceCollectorWorkflow
from workflows.highfreq.event_batch import EventBatchWorkflow
from workflows.highfreq.inbox import InboxWorkflow
from workflows.outbound.delivery import WebhookDeliveryWorkflow
from workflows.outbound.endpoint import EndpointWorkflow

WORKFLOWS: Sequence[type] = [
    OrderWorkflow,
    TicketWorkflow,
    WebhookDeliveryWorkflow,
    EndpointWorkflow,
    InboxWorkflow,
    BatchCollectorWorkflow,
    DebounceCollectorWorkflow,
    EventBatchWorkflow,
    DeployWorkflow,
    PullRequestWorkflow,
    CheckoutWorkflow,
    InvoiceWorkflow,
    LedgerWorkflow,
]


def activities(
    settings: Settings, subscriptions: Sequence[Subscription]
) -> list[Callable[..., Any]]:
    """Every activity, built once with what it needs: settings, the route file's
    subscriptions, the SSRF policy."""
    policy = OutboundPolicy.from_setting(settings.outbound_allow)
    orders = OrderActivities(settings)
    outbound = OutboundActivities(subscriptions, policy)
    return [
        orders.validate_order,
        orders.send_customer_email,
        orders.request_approval,
        NotifyActivities(settings).notify_ops,
        HttpActivities(policy).http_request,
        outbound.publish_event,
        outbound.deliver_webhook,
        disable_endpoint,
        start_events,
        summarize_batch,
    ]


log = logging.getLogger("hooktide.worker")


def build_worker(client: Client, task_queue: str, settings: Settings | None = None) -> Worker:
    """A worker with every workflow and activity; the settings (default: the environment)
    and the route file's subscriptions are read here, once."""
    settings = settings or Settings()
    subscriptions = load_config(settings.config_path).subscriptions
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(settings, subscriptions),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run(settings: Settings) -> None:
    client = await _connect_with_retry(
        settings, runtime=worker_runtime(settings.worker_metrics_address)
    )
    await _warn_of_missing_search_attributes(client)
    worker = build_worker(client, settings.task_queue, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %r on %s", settings.task_queue, settings.target)
    async with worker:
        await stop.wait()
        log.info("worker stopping: letting running activities finish")
    log.info("worker stopped")


async def _warn_of_missing_search_attributes(client: Client) -> None:
    """Says which of Hooktide's search attributes the namespace lacks, and how to add them.

    The worker starts anyway: workflows that set none run as usual, one that sets a missing
    attribute retries its workflow task until the attribute is added (nothing is lost), and
    the attributes can be added while the worker runs. Refusing to start would stop every
    workflow for the sake of some."""
    try:
        absent = await search_attributes.missing(client, timeout=timedelta(seconds=10))
    except RPCError as exc:
        log.warning(
            "could not list the search attributes of namespace %r (%s); Hooktide needs %s",
            client.namespace,
            exc,
            ", ".join(key.name for key in search_attributes.ALL),
        )
        return
    if absent:
        log.warning(
            "%s Add them with: %s",
            search_attributes.describe_missing(absent, client.namespace),
            " && ".join(search_attributes.create_command(k, client.namespace) for k in absent),
        )


async def _connect_with_retry(
    settings: Settings, attempts: int = 30, *, runtime: Runtime | None = None
) -> Client:
    # The worker inherits the client's tracing interceptor: workflow and activity spans.
    interceptors = tracing.client_interceptors(tracing.tracer(settings))
    for attempt in range(1, attempts + 1):
        try:
            return await connect(settings, runtime=runtime, interceptors=interceptors)
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.warning("Temporal at %s not reachable yet (%s); retrying", settings.target, exc)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def main() -> None:
    settings = Settings()
    setup_process(settings, service="hooktide-worker")
    asyncio.run(run(settings))
    exit_now(0)


def exit_now(code: int) -> None:
    """Exit without interpreter teardown, once everything has shut down cleanly.

    The SDK's Rust threads can outlive the event loop and abort the process while Python
    finalizes (sdk-python issue #300: "PyGILState_Release ... must be current"). Nothing is
    left to clean up at this point, so skip the teardown rather than risk a SIGABRT.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
