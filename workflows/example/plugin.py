"""The bundled examples as a worker plug-in (`HOOKTIDE_WORKER_MODULES=workflows.example.plugin`,
which `make run` sets): the order saga, the ticket conversation, and the GitHub and Stripe
workflows of hooktide.yaml's rules. A user's own plug-in looks the same."""

from __future__ import annotations

from activities.example.orders import OrderActivities
from activities.settings import OrderSettings
from webhook_gateway.contracts.plugins import Registration
from workflows.example.github import DeployWorkflow, PullRequestWorkflow
from workflows.example.order import OrderWorkflow
from workflows.example.stripe import CheckoutWorkflow, InvoiceWorkflow, LedgerWorkflow
from workflows.example.ticket import TicketWorkflow

WORKFLOWS: list[type] = [
    OrderWorkflow,
    TicketWorkflow,
    DeployWorkflow,
    PullRequestWorkflow,
    CheckoutWorkflow,
    InvoiceWorkflow,
    LedgerWorkflow,
]


def hooktide_worker(settings: OrderSettings) -> Registration:
    orders = OrderActivities(settings)
    return Registration(
        workflows=WORKFLOWS,
        activities=[orders.validate_order, orders.send_customer_email, orders.request_approval],
    )
