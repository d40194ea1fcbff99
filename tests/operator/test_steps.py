"""A delivery's step summary from a real history on the dev server: each activity, its
attempts and last failure, and failures that HOOKTIDE_ENCRYPT_FAILURES sealed, opened through
the payload codec."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from tests.support.console_flows import CRM, ConsoleProbeWorkflow, sync_to_crm
from webhook_gateway.contracts.codec import data_converter, new_key, parse_keys
from webhook_gateway.operator import steps


async def test_a_sealed_failure_is_read_through_the_codec(client: Client) -> None:
    sealed = Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=data_converter(parse_keys(new_key("steps-1")), encrypt_failures=True),
    )
    queue = f"steps-{uuid.uuid4().hex[:8]}"
    workflow_id = f"steps-{uuid.uuid4().hex[:8]}"
    CRM.up = False
    try:
        async with Worker(
            sealed, task_queue=queue, workflows=[ConsoleProbeWorkflow], activities=[sync_to_crm]
        ):
            with pytest.raises(WorkflowFailureError):
                await sealed.execute_workflow(
                    "ConsoleProbeWorkflow", {"body": {}}, id=workflow_id, task_queue=queue
                )
    finally:
        CRM.up = True
    history = await sealed.get_workflow_handle(workflow_id).fetch_history()
    sealed_summary = steps.summarize(history)
    assert sealed_summary.failure is not None and "CRM answered 503" not in sealed_summary.failure

    await steps.decode_failures(history, [], sealed.data_converter.payload_codec)
    summary = steps.summarize(history)
    [step] = summary.steps
    assert (step.kind, step.name, step.status, step.attempts) == (
        "activity", "sync_to_crm", "failed", 1,
    )  # fmt: skip
    assert step.last_failure == "CRM answered 503 Service Unavailable"
    assert summary.failure is not None and "CRM answered 503" in summary.failure
