"""Worker plug-ins: the user's workflows and activities, registered without editing Hooktide."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from webhook_gateway.config.routes import parse_config
from webhook_gateway.config.settings import Settings
from webhook_gateway.config.worker_modules import load, module_names
from webhook_gateway.contracts.errors import ConfigError
from worker import build_worker, plugins, task_queues

GREETER = """
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def greet(name: str) -> str:
    return f"hello, {name}"


@workflow.defn
class GreeterWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=5)
        )
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, uniquely named package on sys.path, as a user's own would be installed."""
    name = f"acme_{uuid.uuid4().hex[:8]}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def write(package: str, module: str, text: str) -> str:
    base = Path(next(p for p in sys.path if (Path(p) / package).is_dir())) / package
    (base / f"{module}.py").write_text(textwrap.dedent(text))
    return f"{package}.{module}"


def test_a_module_with_lists_registers_them(package: str) -> None:
    write(package, "greeter", GREETER)
    name = write(
        package,
        "plugin",
        f"from {package}.greeter import GreeterWorkflow, greet\n"
        "WORKFLOWS = [GreeterWorkflow]\nACTIVITIES = [greet]\n",
    )
    [plugin] = load([name], Settings())
    assert plugin.workflow_types == ["GreeterWorkflow"]
    assert [a.__name__ for a in plugin.activities] == ["greet"]


def test_a_registration_function_gets_the_settings(package: str) -> None:
    write(package, "greeter", GREETER)
    name = write(
        package,
        "plugin",
        f"""
        from webhook_gateway.contracts.plugins import Registration
        from {package}.greeter import GreeterWorkflow, greet

        def hooktide_worker(settings):
            assert settings.task_queue == "q-from-settings"
            return Registration(workflows=[GreeterWorkflow], activities=[greet])
        """,
    )
    [plugin] = load([name], Settings(HOOKTIDE_TASK_QUEUE="q-from-settings"))
    assert plugin.workflow_types == ["GreeterWorkflow"]


def test_bad_modules_stop_the_worker_naming_module_and_fix(package: str) -> None:
    with pytest.raises(ConfigError) as missing:
        load([f"{package}.nope"], Settings())
    assert f"Worker module '{package}.nope' cannot be imported (ModuleNotFoundError" in str(
        missing.value
    )
    assert "HOOKTIDE_WORKER_MODULES" in str(missing.value)
    empty = write(package, "empty", "X = 1\n")
    with pytest.raises(ConfigError, match="registers no workflows and no activities; define"):
        load([empty], Settings())
    wrong = write(package, "wrong", "def hooktide_worker(settings):\n    return [1]\n")
    with pytest.raises(ConfigError, match="returned list; return webhook_gateway"):
        load([wrong], Settings())
    undecorated = write(package, "undecorated", "class Plain: pass\nWORKFLOWS = [Plain]\n")
    with pytest.raises(ConfigError, match=r"\['Plain'\] are not workflow classes"):
        load([undecorated], Settings())
    write(package, "greeter", GREETER)
    one = write(
        package, "one", f"from {package}.greeter import GreeterWorkflow as W\nWORKFLOWS = [W]\n"
    )
    two = write(
        package, "two", f"from {package}.greeter import GreeterWorkflow as W\nWORKFLOWS = [W]\n"
    )
    with pytest.raises(ConfigError, match="both register workflow type 'GreeterWorkflow'"):
        load([one, two], Settings())


def test_modules_come_from_the_environment_the_route_file_and_entry_points() -> None:
    config = parse_config(
        {"routes": {}, "worker": {"modules": ["b.mod", "a.mod"], "task_queues": ["q2"]}}
    )
    assert module_names(["a.mod", " ", "c.mod"], config.worker)[:3] == ["a.mod", "c.mod", "b.mod"]
    settings = Settings(HOOKTIDE_TASK_QUEUE="q1", HOOKTIDE_TASK_QUEUES="q3, q1")
    assert task_queues(settings, config) == ["q1", "q3", "q2"]


async def test_a_plugin_workflow_runs_beside_hookides_own(
    package: str, time_skipping: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(package, "greeter", GREETER)
    name = write(
        package,
        "plugin",
        f"from {package}.greeter import GreeterWorkflow, greet\n"
        "WORKFLOWS = [GreeterWorkflow]\nACTIVITIES = [greet]\n",
    )
    monkeypatch.setenv("HOOKTIDE_WORKER_MODULES", name)
    queue = f"plugins-{uuid.uuid4().hex[:8]}"
    assert [p.module for p in plugins(Settings(), parse_config({"routes": {}}))] == [name]
    async with build_worker(time_skipping.client, queue):
        result = await time_skipping.client.execute_workflow(
            "GreeterWorkflow", "ada", id=f"greet-{uuid.uuid4().hex}", task_queue=queue
        )
    assert result == "hello, ada"


async def test_a_workflow_that_is_not_deterministic_safe_fails_at_worker_start(
    package: str, time_skipping: WorkflowEnvironment
) -> None:
    write(
        package,
        "clock",
        """
        from datetime import datetime

        from temporalio import workflow

        STARTED = datetime.now()  # read at import: the sandbox refuses it


        @workflow.defn
        class ClockWorkflow:
            @workflow.run
            async def run(self) -> str:
                return STARTED.isoformat()
        """,
    )
    name = write(
        package,
        "plugin",
        f"from {package}.clock import ClockWorkflow\nWORKFLOWS = [ClockWorkflow]\n",
    )
    with pytest.raises(RuntimeError, match="Failed validating workflow ClockWorkflow") as info:
        build_worker(time_skipping.client, "never-polled", modules=[name])
    assert "Cannot access datetime.datetime.now" in str(info.value.__cause__)


def test_check_worker_lists_types_and_flags_routes_no_plugin_registers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support.repo import REPO
    from webhook_gateway.cli.check_worker import worker_report
    from webhook_gateway.config.routes import load_config

    config = load_config(REPO / "hooktide.yaml")
    with_examples = worker_report(
        Settings(HOOKTIDE_WORKER_MODULES="workflows.example.plugin"), config
    )
    assert with_examples.problems == []
    assert "DeployWorkflow" in with_examples.registered["workflows.example.plugin"]
    assert "HooktideInbox" in with_examples.registered["hooktide"]
    bare = worker_report(Settings(HOOKTIDE_WORKER_MODULES=""), config)
    assert any(
        "Route 'github', rule 'deploy-main', starts workflow type 'DeployWorkflow', which no "
        "plug-in registers (plug-ins: none)" in p
        for p in bare.problems
    )
    elsewhere = worker_report(
        Settings(HOOKTIDE_WORKER_MODULES="workflows.example.plugin", HOOKTIDE_TASK_QUEUE="other"),
        config,
    )
    assert any(
        "task queue 'hooktide', which this worker does not poll" in w for w in elsewhere.warnings
    )
