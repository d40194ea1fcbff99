"""`hooktide init`: a project of one's own, and that it works from Hooktide's wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.repo import REPO
from webhook_gateway.cli.main import main
from webhook_gateway.config.routes import load_config


def test_init_writes_a_project_whose_route_file_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "demo-shop"
    assert main(["init", str(target)]) == 0
    assert {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()} == {
        "hooktide.yaml",
        "demo_shop/__init__.py",
        "demo_shop/workflows.py",
        "tests/test_signups.py",
        "pyproject.toml",
        "Makefile",
        "README.md",
    }
    monkeypatch.setenv("DEMO_SHOP_WEBHOOK_SECRET", "whsec_" + "A" * 40)
    config = load_config(target / "hooktide.yaml")
    assert config.worker is not None and config.worker.modules == ["demo_shop.workflows"]
    assert [r.name for r in config.route("events").rules] == ["signups"]
    assert "whsec_" in (target / "Makefile").read_text()
    compile((target / "demo_shop" / "workflows.py").read_text(), "workflows.py", "exec")
    compile((target / "tests" / "test_signups.py").read_text(), "test.py", "exec")
    assert "$" not in (target / "tests" / "test_signups.py").read_text()


def test_init_never_overwrites_and_refuses_hooktides_own_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "demo"
    target.mkdir()
    (target / "README.md").write_text("mine")
    assert main(["init", str(target)]) == 1
    err = capsys.readouterr().err
    assert "README.md" in err and "never overwrites" in err
    assert (target / "README.md").read_text() == "mine"
    assert not (target / "hooktide.yaml").exists()
    assert main(["init", str(tmp_path / "workflows")]) == 1
    assert "may not be called 'workflows'" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "x"), "--package", "class"]) == 1
    assert "not a Python package name" in capsys.readouterr().err


@pytest.mark.slow
def test_a_project_made_from_the_wheel_passes_its_own_tests(tmp_path: Path) -> None:
    """Build Hooktide's wheel, install it in a fresh virtual environment (packages from the
    registry, pinned by constraints.txt), `hooktide init`, and run the project's `make test`
    with that environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKTIDE_", "TEMPORAL_"))}
    env |= {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "HOOKTIDE_ENV_FILE": ""}
    started = time.monotonic()

    def run(*args: str | Path, cwd: Path = tmp_path, timeout: float = 600) -> str:
        done = subprocess.run(
            [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    # Built from a copy of the tree (tracked and new files), so no build/ is left in it.
    source = tmp_path / "source"
    listed = run("git", "ls-files", "-co", "--exclude-standard", cwd=REPO).splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source)
    [wheel] = dist.glob("hooktide-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "webhook_gateway/cli/templates/project/hooktide.yaml.tmpl" in names
    assert "worker.py" in names and "workflows/example/plugin.py" in names
    assert "webhook_gateway/testing/__init__.py" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    env |= {"PIP_FIND_LINKS": str(dist), "PIP_CONSTRAINT": str(REPO / "constraints.txt")}
    run(venv / "bin" / "pip", "install", "--quiet", "hooktide[testing]")
    run(venv / "bin" / "hooktide", "init", tmp_path / "demo")
    project = tmp_path / "demo"
    # The project's own `make test`, with the environment made above as its `.venv`.
    out = run("make", "test", f"VENV={venv}", cwd=project, timeout=900)
    assert "2 passed" in out, out
    routes = yaml.safe_load((project / "hooktide.yaml").read_text())
    assert routes["worker"]["modules"] == ["demo.workflows"]
    print(f"wheel, fresh venv, init and the project's tests: {time.monotonic() - started:.0f} s")
