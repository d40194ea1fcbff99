"""The workflows bench/flow.py runs, as a worker plug-in (`HOOKTIDE_WORKER_MODULES=flow_plugin`
with bench/ on PYTHONPATH): kept apart from the benchmark so that each workflow run's sandbox
imports only this module.

- `BenchFlowWorkflow` does nothing but return: the cheapest workflow there is (one workflow
  task), so that what a sequencer adds is as visible as it can be.
- `BenchTenantWorkflow` runs one activity that holds a worker slot for the body's `ms`
  milliseconds: with few slots, a flood of them makes a backlog on the task queue.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent


@workflow.defn(name="BenchFlowWorkflow")
class BenchFlowWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> str:
        return event.delivery_id


@activity.defn(name="bench_tenant_work")
async def bench_tenant_work(ms: float) -> None:
    await asyncio.sleep(ms / 1000)


@workflow.defn(name="BenchTenantWorkflow")
class BenchTenantWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> str:
        body = event.body if isinstance(event.body, dict) else {}
        ms = body.get("ms", 50)
        await workflow.execute_activity(
            bench_tenant_work,
            float(ms) if isinstance(ms, int | float) else 50.0,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return event.delivery_id


WORKFLOWS: list[type] = [BenchFlowWorkflow, BenchTenantWorkflow]
ACTIVITIES = [bench_tenant_work]
