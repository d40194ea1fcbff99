"""The approval gate of an order: one pending decision, identified by a nonce.

A decision arrives as the update `decide` (the approval page; its validator refuses a
second decision, a wrong nonce or a closed gate without touching history) or as the signal
`approval_decision` (operators, tools without updates), which applies the same checks and
ignores what they refuse. Deterministic: no I/O, the clock is `workflow.now()`.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ApplicationError

from webhook_gateway.contracts.order import ApprovalDecision, ApprovalState

APPROVAL_CLOSED = "ApprovalClosed"
APPROVAL_ALREADY_DECIDED = "ApprovalAlreadyDecided"
APPROVAL_UNKNOWN = "ApprovalUnknown"


class ApprovalGate:
    def __init__(self) -> None:
        self.state: ApprovalState | None = None

    def open(self, nonce: str, now: datetime, expires_at: datetime) -> None:
        self.state = ApprovalState(
            status="pending", nonce=nonce, requested_at=now, expires_at=expires_at
        )

    @property
    def decided(self) -> bool:
        return self.state is not None and self.state.status != "pending"

    @property
    def approved(self) -> bool:
        return self.state is not None and self.state.status == "approved"

    def check(self, decision: ApprovalDecision) -> None:
        """Raise `ApplicationError` if `decision` may not be applied now."""
        state = self.state
        if state is None:
            raise ApplicationError("This order is not waiting for approval.", type=APPROVAL_CLOSED)
        if decision.nonce != state.nonce:
            raise ApplicationError(
                "This approval request is not the order's current one.", type=APPROVAL_UNKNOWN
            )
        if state.status != "pending":
            raise ApplicationError(
                f"This order was already {state.status}"
                f"{f' by {state.decided_by}' if state.decided_by else ''}.",
                type=APPROVAL_ALREADY_DECIDED,
            )

    def apply(self, decision: ApprovalDecision, now: datetime) -> ApprovalState:
        self.check(decision)
        assert self.state is not None
        self.state = self.state.model_copy(
            update={
                "status": "approved" if decision.approved else "rejected",
                "decided_at": now,
                "decided_by": decision.by,
                "note": decision.note,
            }
        )
        return self.state

    def expire(self, now: datetime) -> None:
        if self.state is not None and self.state.status == "pending":
            self.state = self.state.model_copy(
                update={"status": "expired", "decided_at": now, "decided_by": "deadline"}
            )
