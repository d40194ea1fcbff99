"""The harness's stack: a dev server on a SQLite file, one worker process and one gateway
process with a one-route config, each of which can be killed -9 and restarted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from webhook_gateway.dev.local_stack import LocalStack, isolated_env
from webhook_gateway.dev.processes import LOOPBACK, free_port, rss_kib

__all__ = ["LOOPBACK", "Stack"]


class Stack(LocalStack):
    """Temporal dev server (SQLite file), one worker process, one gateway process."""

    def __init__(
        self,
        workdir: Path,
        *,
        secret: str,
        task_queue: str,
        route: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.task_queue = task_queue
        config = {
            "routes": {
                "orders": {
                    "path": "/webhooks/orders",
                    "workflow": "OrderWorkflow",
                    "task_queue": task_queue,
                    "delivery_id": {"header": "webhook-id"},
                    "workflow_id": {"prefix": "order-"},
                    "verifier": {
                        "type": "standard_webhooks",
                        "secret": {"env": "HOOKTIDE_ORDERS_SECRET"},
                    },
                }
                | (route or {})
            }
        }
        config_file = workdir / "hooktide.yaml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        values = {
            "HOOKTIDE_CONFIG": str(config_file),
            "HOOKTIDE_ORDERS_SECRET": secret,
            "HOOKTIDE_TASK_QUEUE": task_queue,
        }
        super().__init__(workdir, isolated_env(values | (env or {})))

    async def start(self) -> None:
        await self.start_temporal(db_file=self.workdir / "temporal.db")
        await self.start_hooktide(port=self.port)

    def rss_kib(self, name: str = "gateway") -> int:
        """Resident memory of one part, from /proc (Linux)."""
        return rss_kib(self.process(name).pid)
