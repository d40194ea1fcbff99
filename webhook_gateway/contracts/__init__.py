"""What the gateway, workflows, activities and users' own workers share: the event a workflow
receives and the reply it may give, the high-frequency payloads, workflow/signal/update names,
search attributes, and the formats both sides of Temporal must agree on. Imports nothing else
of Hooktide's.
"""

from __future__ import annotations

from webhook_gateway.contracts.events import WebhookEvent, WebhookReply

__all__ = ["WebhookEvent", "WebhookReply"]
