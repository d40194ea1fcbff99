"""A user's project, as files: the plug-in module `acme.reminders`, whose workflow waits three
days before it answers, and the route file that sends sign-ups to it (README, "Your own
workflows", word for word). The kit's tests write it to a temporary folder and import it from
there, as a user's own code."""

from __future__ import annotations

from pathlib import Path

PLUGIN = "acme.reminders"
SECRET_VARIABLE = "ACME_SIGNUPS_SECRET"

FILES = {
    "acme/__init__.py": "",
    "acme/reminders.py": """
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from webhook_gateway.contracts.events import WebhookEvent


@workflow.defn
class ReminderWorkflow:
    @workflow.run
    async def run(self, event: WebhookEvent) -> str:
        await workflow.sleep(timedelta(days=3))
        return f"reminded {event.body['user']}"


WORKFLOWS = [ReminderWorkflow]
""",
    "hooktide.yaml": f"""
routes:
  signups:
    path: /webhooks/signups
    workflow: ReminderWorkflow
    verifier: {{type: standard_webhooks, secret: {{env: {SECRET_VARIABLE}}}}}
worker:
  modules: [{PLUGIN}]
""",
}


def write(root: Path) -> Path:
    """The project under `root`; returns its route file."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip(), encoding="utf-8")
    return root / "hooktide.yaml"
