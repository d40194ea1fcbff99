"""Loading worker plug-ins: the user's workflows and activities, without forking Hooktide.

Modules are named, in this order, by `HOOKTIDE_WORKER_MODULES` (comma-separated), the route
file's `worker.modules`, and the `hooktide.workers` entry-point group; each is imported once.
See `contracts/plugins.py` for what a module defines.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from webhook_gateway.contracts.errors import ConfigError
from webhook_gateway.contracts.plugins import ENTRY_POINT_GROUP, REGISTER, Registration


class WorkerConfig(BaseModel):
    """The route file's `worker:` section: `{modules: [acme.payments], task_queues: [...]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: list[str] = Field(default_factory=list)
    task_queues: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Plugin:
    """One loaded module and what it registers."""

    module: str
    workflows: tuple[type, ...]
    activities: tuple[Callable[..., Any], ...]

    @property
    def workflow_types(self) -> list[str]:
        return [workflow_type(w) for w in self.workflows]


def workflow_type(workflow: type) -> str:
    """The type name Temporal knows a workflow class by (`@workflow.defn(name=...)`)."""
    defn = getattr(workflow, "__temporal_workflow_definition", None)
    name = getattr(defn, "name", None)
    return name if isinstance(name, str) else workflow.__name__


def module_names(from_env: Iterable[str], config: WorkerConfig | None) -> list[str]:
    names = [*from_env, *(config.modules if config else [])]
    names += [
        ep.value.split(":")[0] for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    ]
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def load(names: Iterable[str], settings: object) -> list[Plugin]:
    """Import each module; a module that cannot be imported, or registers nothing, or a
    workflow type two modules register, is a `ConfigError` naming the module and the fix."""
    plugins = [_load(name, settings) for name in names]
    seen: dict[str, str] = {}
    for plugin in plugins:
        for name in plugin.workflow_types:
            other = seen.setdefault(name, plugin.module)
            if other != plugin.module:
                raise ConfigError(
                    f"Worker modules '{other}' and '{plugin.module}' both register workflow "
                    f"type '{name}'; a task queue can run one workflow of a name. Rename one "
                    "(@workflow.defn(name=...)) or drop a module."
                )
    return plugins


def _load(name: str, settings: object) -> Plugin:
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise ConfigError(
            f"Worker module '{name}' cannot be imported ({type(exc).__name__}: {exc}); install "
            "the package that provides it in the worker's environment, or correct the name in "
            "HOOKTIDE_WORKER_MODULES / the route file's worker.modules."
        ) from exc
    register = getattr(module, REGISTER, None)
    if callable(register):
        registration = register(settings)
        if not isinstance(registration, Registration):
            raise ConfigError(
                f"Worker module '{name}': {REGISTER}(settings) returned "
                f"{type(registration).__name__}; return webhook_gateway.contracts.plugins."
                "Registration(workflows=[...], activities=[...])."
            )
    else:
        registration = Registration(
            workflows=list(getattr(module, "WORKFLOWS", ())),
            activities=list(getattr(module, "ACTIVITIES", ())),
        )
    if not registration.workflows and not registration.activities:
        raise ConfigError(
            f"Worker module '{name}' registers no workflows and no activities; define "
            f"WORKFLOWS = [...] and/or ACTIVITIES = [...] in it, or {REGISTER}(settings) "
            "returning a Registration (docs: README, 'Your own workflows')."
        )
    not_workflows = [
        getattr(w, "__name__", repr(w))
        for w in registration.workflows
        if getattr(w, "__temporal_workflow_definition", None) is None
    ]
    if not_workflows:
        raise ConfigError(
            f"Worker module '{name}': {not_workflows} are not workflow classes; decorate each "
            "with @workflow.defn."
        )
    return Plugin(
        module=name,
        workflows=tuple(registration.workflows),
        activities=tuple(registration.activities),
    )
