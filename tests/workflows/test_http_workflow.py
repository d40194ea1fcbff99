"""`http_call` inside a workflow on the time-skipping server: retries, Retry-After, typed
failures and the Idempotency-Key, against a real HTTP peer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from activities.http.models import HttpRequest, JsonBody
from activities.http.request import idempotency_key_for
from tests.support.flows import HttpProbeWorkflow, ProbeInput, ProbeResult
from tests.support.peer import Peer, Reply

#: The peers live on loopback, which the SSRF guard refuses unless allowlisted.
pytestmark = pytest.mark.usefixtures("allow_loopback")


async def probe(
    client: Client, queue: str, data: ProbeInput
) -> tuple[ProbeResult, WorkflowHandle[HttpProbeWorkflow, ProbeResult]]:
    handle = await client.start_workflow(
        HttpProbeWorkflow.run, data, id=f"probe-{uuid.uuid4().hex[:10]}", task_queue=queue
    )
    return await handle.result(), handle


async def activity_wait(
    handle: WorkflowHandle[HttpProbeWorkflow, ProbeResult],
) -> tuple[int, timedelta]:
    """(attempt, time from scheduling to the last attempt's start) of the workflow's activity."""
    history = await handle.fetch_history()
    scheduled = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    )
    wait = started.event_time.ToDatetime() - scheduled.event_time.ToDatetime()
    return started.activity_task_started_event_attributes.attempt, wait


async def test_retry_after_sets_the_wait_before_the_next_attempt(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/pay", Reply(503, {"retry-after": "120"}), Reply(200, {}, b'{"paid": true}'))
    request = HttpRequest(method="POST", url=peer.url("/pay"), body=JsonBody(data={"n": 1}))
    result, handle = await probe(ts_client, ts_queue, ProbeInput(request=request, step="charge"))
    assert result.response is not None
    assert result.response.body == {"paid": True}
    attempt, wait = await activity_wait(handle)
    assert attempt == 2
    assert timedelta(seconds=120) <= wait < timedelta(seconds=180)


async def test_idempotency_key_is_the_same_on_every_retry_and_built_from_workflow_and_step(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/pay", Reply(502), Reply(500), Reply(201))
    request = HttpRequest(method="POST", url=peer.url("/pay"), body=JsonBody(data={}))
    result, handle = await probe(ts_client, ts_queue, ProbeInput(request=request, step="charge"))
    assert result.response is not None and result.response.status == 201
    keys = {r.headers["idempotency-key"] for r in peer.at("/pay")}
    assert len(peer.at("/pay")) == 3
    assert keys == {idempotency_key_for(handle.id, "charge")}


async def test_without_a_step_each_run_after_continue_as_new_gets_its_own_key(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/pay", Reply(503), Reply(200), Reply(503), Reply(200))
    request = HttpRequest(method="POST", url=peer.url("/pay"), body=JsonBody(data={}))
    await probe(ts_client, ts_queue, ProbeInput(request=request, continue_once=True))
    keys = [r.headers["idempotency-key"] for r in peer.at("/pay")]
    assert len(keys) == 4
    assert keys[0] == keys[1]
    assert keys[2] == keys[3]
    assert keys[0] != keys[2]


async def test_a_4xx_reaches_the_workflow_as_a_typed_non_retryable_failure(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/orders", Reply(422, {}, b'{"error": "bad sku"}'))
    request = HttpRequest(method="POST", url=peer.url("/orders"), body=JsonBody(data={}))
    result, _ = await probe(ts_client, ts_queue, ProbeInput(request=request))
    assert (result.error_type, result.error_status, result.non_retryable) == (
        "HttpClientError",
        422,
        True,
    )
    assert len(peer.at("/orders")) == 1


async def test_retryable_failures_stop_at_the_retry_policy_limit(
    ts_client: Client, ts_queue: str, peer: Peer
) -> None:
    peer.script("/down", Reply(503))
    result, _ = await probe(
        ts_client, ts_queue, ProbeInput(request=HttpRequest(url=peer.url("/down")), max_attempts=3)
    )
    assert (result.error_type, result.error_status) == ("HttpRetryableStatus", 503)
    assert len(peer.at("/down")) == 3


async def test_an_ssrf_refusal_fails_the_step_without_retrying(
    ts_client: Client, ts_queue: str
) -> None:
    request = HttpRequest(url="http://169.254.169.254/latest/meta-data/")
    result, handle = await probe(ts_client, ts_queue, ProbeInput(request=request))
    assert (result.error_type, result.non_retryable) == ("HttpDestinationForbidden", True)
    assert (await activity_wait(handle))[0] == 1
