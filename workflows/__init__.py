"""Hooktide's workflows. Each module defines one workflow; `worker.py` registers them all."""

from __future__ import annotations

TASK_QUEUE = "hooktide"
