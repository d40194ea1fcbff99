"""`hooktide check --worker`: which workflow types this worker's configuration registers,
and which routes (or rules) start a type that none of them registers.

The gateway cannot know this itself (the workers may run elsewhere, in any SDK language), so
a route's type missing here is a problem only for a deployment whose workers are these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webhook_gateway.config.routes import HooktideConfig
from webhook_gateway.config.settings import Settings
from webhook_gateway.config.worker_modules import workflow_type
from webhook_gateway.contracts.errors import ConfigError


@dataclass
class WorkerReport:
    registered: dict[str, list[str]] = field(default_factory=dict)  # module → workflow types
    queues: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def worker_report(settings: Settings, config: HooktideConfig) -> WorkerReport:
    import worker  # the worker's own view of its plug-ins (cli may import it)

    report = WorkerReport(queues=worker.task_queues(settings, config))
    report.registered["hooktide"] = [workflow_type(w) for w in worker.WORKFLOWS]
    try:
        loaded = worker.plugins(settings, config)
    except ConfigError as exc:
        report.problems.append(str(exc))
        return report
    for plugin in loaded:
        report.registered[plugin.module] = plugin.workflow_types
    known = {name for names in report.registered.values() for name in names}
    modules = ", ".join(m for m in report.registered if m != "hooktide") or "none"
    for route in config.routes:
        for target in route.targets.values():
            where = f"Route '{route.name}'" + (f", rule '{target.rule}'," if target.rule else "")
            if target.workflow not in known:
                report.problems.append(
                    f"{where} starts workflow type '{target.workflow}', which no plug-in "
                    f"registers (plug-ins: {modules}); add the module that defines it to "
                    "HOOKTIDE_WORKER_MODULES or the route file's worker.modules."
                )
            if target.task_queue not in report.queues:
                report.warnings.append(
                    f"{where} sends to task queue '{target.task_queue}', which this worker "
                    f"does not poll ({', '.join(report.queues)}); another worker must, or add "
                    "it to HOOKTIDE_TASK_QUEUES."
                )
    return report
