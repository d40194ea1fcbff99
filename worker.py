"""The Hooktide worker: Hooktide's infrastructure workflows and activities (inboxes,
collectors, outbound delivery, endpoint state) and every plug-in's (your workflows, named in
HOOKTIDE_WORKER_MODULES or the route file's `worker.modules`), on each task queue it serves;
stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
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
from activities.flow import flow_statuses
from activities.http.request import HttpActivities
from activities.http.ssrf import OutboundPolicy
from activities.notifications import NotifyActivities
from activities.outbound import OutboundActivities, disable_endpoint
from activities.start_batch import start_batch_workflow
from activities.start_events import start_events
from webhook_gateway.config import worker_modules
from webhook_gateway.config.routes import HooktideConfig, load_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.config.worker_modules import Plugin
from webhook_gateway.contracts import search_attributes
from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.outbound import Subscription
from webhook_gateway.dispatch.temporal_client import connect
from webhook_gateway.observability import tracing
from webhook_gateway.observability.metrics import worker_runtime
from webhook_gateway.observability.process import setup_process
from workflows.flow.sequencer import SequencerWorkflow
from workflows.highfreq.batch import BatchCollectorWorkflow
from workflows.highfreq.debounce import DebounceCollectorWorkflow
from workflows.highfreq.event_batch import EventBatchWorkflow
from workflows.highfreq.inbox import InboxWorkflow
from workflows.outbound.delivery import WebhookDeliveryWorkflow
from workflows.outbound.endpoint import EndpointWorkflow

#: Hooktide's own workflows, registered on every task queue beside the plug-ins'.
WORKFLOWS: Sequence[type] = [
    WebhookDeliveryWorkflow,
    EndpointWorkflow,
    InboxWorkflow,
    BatchCollectorWorkflow,
    DebounceCollectorWorkflow,
    EventBatchWorkflow,
    SequencerWorkflow,
]
#: The bundled examples' plug-in (on under `make run`; see workflows/example/plugin.py).
EXAMPLE_MODULE = "workflows.example.plugin"


def activities(
    settings: Settings, subscriptions: Sequence[Subscription]
) -> list[Callable[..., Any]]:
    """Hooktide's own activities, built once with what they need: settings, the route file's
    subscriptions, the SSRF policy."""
    policy = OutboundPolicy.from_setting(settings.outbound_allow)
    outbound = OutboundActivities(subscriptions, policy)
    return [
        NotifyActivities(settings).notify_ops,
        HttpActivities(policy).http_request,
        outbound.publish_event,
        outbound.deliver_webhook,
        disable_endpoint,
        start_events,
        start_batch_workflow,
        summarize_batch,
        flow_statuses,
    ]


log = logging.getLogger("hooktide.worker")


def plugins(settings: Settings, config: HooktideConfig) -> list[Plugin]:
    """The plug-ins named by HOOKTIDE_WORKER_MODULES, the route file and entry points;
    `ConfigError` names a module that cannot be loaded and the fix."""
    names = worker_modules.module_names(settings.worker_modules.split(","), config.worker)
    return worker_modules.load(names, settings)


def task_queues(settings: Settings, config: HooktideConfig) -> list[str]:
    """HOOKTIDE_TASK_QUEUE, then HOOKTIDE_TASK_QUEUES and the route file's
    `worker.task_queues`."""
    extra = [
        *settings.task_queues.split(","),
        *(config.worker.task_queues if config.worker else []),
    ]
    return list(dict.fromkeys(q.strip() for q in [settings.task_queue, *extra] if q.strip()))


def build_worker(
    client: Client,
    task_queue: str,
    settings: Settings | None = None,
    *,
    modules: Sequence[str] | None = None,
    config: HooktideConfig | None = None,
    loaded: Sequence[Plugin] | None = None,
) -> Worker:
    """A worker with Hooktide's workflows and activities and the plug-ins' (`loaded`, else
    `modules`, else those the settings and route file name); the settings (default: the
    environment) and the route file (default: read here) are read once. Building it runs
    every workflow's sandbox check, so a workflow that is not deterministic-safe stops the
    worker here, with the SDK's message."""
    settings = settings or Settings()
    config = config or load_config(settings.config_path)
    if loaded is None:
        loaded = (
            worker_modules.load(modules, settings)
            if modules is not None
            else plugins(settings, config)
        )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[*WORKFLOWS, *(w for p in loaded for w in p.workflows)],
        activities=[
            *activities(settings, config.subscriptions),
            *(a for p in loaded for a in p.activities),
        ],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run(settings: Settings) -> None:
    config = load_config(settings.config_path)
    loaded = plugins(settings, config)  # a bad plug-in stops the worker before it connects
    queues = task_queues(settings, config)
    client = await _connect_with_retry(
        settings, runtime=worker_runtime(settings.worker_metrics_address)
    )
    await _warn_of_missing_search_attributes(client)
    names = [p.module for p in loaded]
    workers = [
        build_worker(client, queue, settings, config=config, loaded=loaded) for queue in queues
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queue(s) %s on %s with plug-ins %s",
        ", ".join(repr(q) for q in queues),
        settings.target,
        ", ".join(names) or "(none)",
    )
    async with contextlib.AsyncExitStack() as running:
        for worker in workers:
            await running.enter_async_context(worker)
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
    try:
        asyncio.run(run(settings))
    except ConfigError as exc:
        log.error("%s", exc)
        print(f"ConfigError: {exc}", file=sys.stderr)
        exit_now(1)
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
