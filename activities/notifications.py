"""Telling operations that something ended badly: one email to HOOKTIDE_OPS_EMAIL with the
reason and a link to the workflow in the Temporal Web UI (HOOKTIDE_UI_URL).

Used by failed orders and by outbound webhook deliveries that gave up. Without
HOOKTIDE_OPS_EMAIL or an SMTP server the notice is only logged: the workflow still shows
the failure, in its status and in its search attributes.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel
from temporalio import activity

from activities.email import build_message, send_message
from activities.settings import OpsSettings


class OpsNotice(BaseModel):
    kind: str  # "order.failed", "webhook.failed", ...
    subject: str
    reason: str
    workflow_id: str
    namespace: str = "default"


def workflow_ui_link(ui_url: str, namespace: str, workflow_id: str) -> str:
    ns, wid = quote(namespace, safe=""), quote(workflow_id, safe="")
    return f"{ui_url.rstrip('/')}/namespaces/{ns}/workflows/{wid}"


class NotifyActivities:
    def __init__(self, settings: OpsSettings) -> None:
        self._settings = settings

    @activity.defn
    async def notify_ops(self, notice: OpsNotice) -> bool:
        """Email operations; False when there is nobody (or no server) to email."""
        settings = self._settings
        link = workflow_ui_link(settings.ui_url, notice.namespace, notice.workflow_id)
        if not (settings.ops_email and settings.smtp_host):
            activity.logger.warning(
                "%s (%s): %s; %s", notice.subject, notice.kind, notice.reason, link
            )
            return False
        text = (
            f"{notice.subject}\n\nWhat: {notice.kind}\nWhy: {notice.reason}\n"
            f"Workflow: {notice.workflow_id}\n\nSee it in the Temporal Web UI:\n{link}\n"
        )
        message = build_message(
            settings,
            to=[settings.ops_email],
            subject=f"[hooktide] {notice.subject}",
            text=text,
            key=f"{notice.workflow_id}/ops/{notice.kind}",
        )
        await send_message(settings, message)
        return True
