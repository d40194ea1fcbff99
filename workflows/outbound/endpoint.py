"""EndpointWorkflow: the durable enabled/disabled state of one outbound webhook endpoint.

Started (signal-with-start) the first time a delivery disables the endpoint; it then waits
for signals. Re-enable an endpoint with
`temporal workflow signal --workflow-id hooktide-endpoint-<name> --name enable`, or the
operator console's Outbound page.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.outbound import DisableInput, EndpointState


@workflow.defn
class EndpointWorkflow:
    @workflow.init
    def __init__(self, state: EndpointState) -> None:
        self._state = state

    @workflow.run
    async def run(self, state: EndpointState) -> EndpointState:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._state)

    @workflow.signal
    def disable(self, data: DisableInput) -> None:
        self._state = self._state.model_copy(
            update={"disabled": True, "reason": data.reason, "changed_at": workflow.now()}
        )

    @workflow.signal
    def enable(self) -> None:
        self._state = self._state.model_copy(
            update={"disabled": False, "reason": None, "changed_at": workflow.now()}
        )

    @workflow.query
    def state(self) -> EndpointState:
        return self._state
