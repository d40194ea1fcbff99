"""What a worker plug-in gives `hooktide worker`: its workflows and activities.

A plug-in is a Python module named in `HOOKTIDE_WORKER_MODULES`, in the route file's
`worker: {modules: [...]}`, or in the `hooktide.workers` entry-point group. It defines either

    WORKFLOWS = [PaymentWorkflow]            # and/or
    ACTIVITIES = [charge_card]

or, when its activities need settings or clients built once,

    def hooktide_worker(settings) -> Registration:
        payments = PaymentActivities(settings)
        return Registration(workflows=[PaymentWorkflow], activities=[payments.charge])

`settings` is the worker's `Settings` (every HOOKTIDE_* variable; read what you need, or read
your own environment). Hooktide's own infrastructure (inboxes, collectors, outbound delivery)
is registered beside every plug-in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The function a plug-in module may define instead of WORKFLOWS / ACTIVITIES.
REGISTER = "hooktide_worker"
#: The entry-point group installed packages use to name their plug-in modules.
ENTRY_POINT_GROUP = "hooktide.workers"


@dataclass(frozen=True)
class Registration:
    workflows: Sequence[type] = field(default_factory=tuple)
    activities: Sequence[Callable[..., Any]] = field(default_factory=tuple)
