"""Carrying out a confirmed bulk redrive, inbound or outbound: each step through the same
`lookup.execute` as `hooktide deliveries redrive`, each audited, a failure kept beside the
others rather than stopping them."""

from __future__ import annotations

from temporalio.exceptions import WorkflowAlreadyStartedError

from webhook_gateway.console.page import Ctx
from webhook_gateway.dispatch.temporal_errors import temporal_errors
from webhook_gateway.errors import GatewayError
from webhook_gateway.operator import lookup


async def carry_out(
    ctx: Ctx, planned: list[lookup.Step], *, action: str
) -> list[tuple[lookup.Step, str]]:
    """Each step and what became of it; audit lines `<action>` and `<action>-failed`."""
    done: list[tuple[lookup.Step, str]] = []
    for step in planned:
        try:
            with temporal_errors(retry_after=ctx.settings.retry_after_seconds):
                started = await lookup.execute(ctx.client, step)
        except (GatewayError, WorkflowAlreadyStartedError) as exc:
            done.append((step, f"failed: {exc}"))
            ctx.audit(f"{action}-failed", workflow_id=step.workflow_id, error=str(exc))
        else:
            done.append((step, f"new run {started.run_id}"))
            ctx.audit(action, workflow_id=step.workflow_id, new_run_id=started.run_id, bulk=True)
    return done
