"""What the kit adds to the session's Temporal client: it notes every workflow it starts, so
that the kit can end those a test leaves running, and its handles let the time-skipping
server skip time while they wait for a result, as the SDK's own test handles do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from temporalio import client as tc
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

RUNNING = WorkflowExecutionStatus.RUNNING
#: How long `SkippingHandle.result` waits for a sequencer to start the workflow.
START_WAIT = 30.0
#: The last event of a run whose workflow task a worker has not completed yet.
IN_FLIGHT = frozenset(
    {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}
)


class StartedWorkflows(tc.Interceptor):
    """Records in `ids` the workflow id of every start through the client (the gateway's,
    the worker's activities', the test's own), signal- and update-with-start included."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _Recording(next, self.ids)


class _Recording(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, ids: set[str]) -> None:
        super().__init__(next)
        self.ids = ids

    async def start_workflow(self, input: tc.StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self.ids.add(input.id)
        return await super().start_workflow(input)

    async def start_update_with_start_workflow(
        self, input: tc.StartWorkflowUpdateWithStartInput
    ) -> tc.WorkflowUpdateHandle[Any]:
        self.ids.add(input.start_workflow_input.id)
        return await super().start_update_with_start_workflow(input)


async def terminate_running(
    client: Client, ids: Iterable[str], *, reason: str, settle_seconds: float = 10.0
) -> None:
    """Terminate those of the workflows `ids` that still run, each once its worker (still
    running) has finished the workflow task or activity it holds, for at most
    `settle_seconds`.

    Left waiting without their worker, their next timer would hold the time-skipping
    server's clock for every later test. Terminated while a workflow task is in flight, a
    run holds that clock too (measured: the next `sleep` never returns), as a run that ends
    with an activity outstanding does (sdk-java #1138)."""
    loop = asyncio.get_running_loop()

    async def stop(workflow_id: str) -> None:
        handle = client.get_workflow_handle(workflow_id)
        deadline = loop.time() + settle_seconds
        with contextlib.suppress(RPCError):
            while (described := await handle.describe()).status == RUNNING:
                if loop.time() > deadline or not await _busy(handle, described):
                    await handle.terminate(reason=reason)
                    return
                await asyncio.sleep(0.02)

    await asyncio.gather(*(stop(w) for w in sorted(ids)))


async def _busy(handle: WorkflowHandle[Any, Any], described: WorkflowExecutionDescription) -> bool:
    """A workflow task or an activity of the run is in a worker's hands."""
    pending = described.raw_description.pending_activities
    if any(a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for a in pending):
        return True
    events = (await handle.fetch_history()).events
    return bool(events) and events[-1].event_type in IN_FLIGHT


@asynccontextmanager
async def time_skipping(env: WorkflowEnvironment) -> AsyncIterator[None]:
    """Time skips on the time-skipping server while the block runs (elsewhere: nothing)."""
    if not env.supports_time_skipping_v1:
        yield
        return
    service = env.client.test_service
    await service.unlock_time_skipping(UnlockTimeSkippingRequest())
    try:
        yield
    finally:
        await service.lock_time_skipping(LockTimeSkippingRequest())


class SkippingHandle(WorkflowHandle[Any, Any]):
    """A workflow handle whose `result()` waits with time skipping unlocked."""

    def __init__(
        self,
        client: Client,
        workflow_id: str,
        unlocked: Callable[[], AbstractAsyncContextManager[None]],
        *,
        result_type: type | None = None,
    ) -> None:
        super().__init__(client, workflow_id, result_type=result_type)
        self._unlocked = unlocked

    async def result(self, **options: Any) -> Any:
        """The result; a flow-controlled target's workflow (ordered, concurrency, throttle)
        is started by its key's sequencer in its turn, so until then (`START_WAIT` seconds
        at most) there is no workflow to wait for, and this waits for it to exist."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WAIT
        async with self._unlocked():
            while True:
                try:
                    return await super().result(**options)
                except RPCError as exc:
                    if exc.status != RPCStatusCode.NOT_FOUND or loop.time() > deadline:
                        raise
                await asyncio.sleep(0.05)
