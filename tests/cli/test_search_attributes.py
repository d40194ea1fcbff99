"""Hooktide's search attributes on a Temporal that does not have them, as a fresh cluster:
docker-compose.yml's namespace job adds them (and can run again), `hooktide check --temporal`
and the worker's start-up name the missing ones with the commands that add them. Against
real dev servers: one started without the attributes, and the suite's own (with them)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from tests.support.hooktide import clean_env, hooktide
from tests.support.net import LOOPBACK, free_port
from tests.support.polling import eventually
from tests.support.repo import REPO, compose
from tests.support.signing import ORDERS_SECRET
from webhook_gateway.contracts import search_attributes
from webhook_gateway.dev.temporal_server import TemporalDevServer, temporal_binary

COMMANDS = [search_attributes.create_command(key, "default") for key in search_attributes.ALL]


@contextlib.asynccontextmanager
async def bare_dev_server() -> AsyncIterator[str]:
    """A dev server (in memory) started without Hooktide's search attribute flags."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        temporal_binary(), "server", "start-dev", "--headless", "--ip", LOOPBACK,
        "--port", str(port), "--log-level", "warn",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    address = f"{LOOPBACK}:{port}"

    async def healthy() -> bool:
        assert proc.returncode is None, f"the dev server exited: {proc.returncode}"
        try:
            client = await Client.connect(address)
            await client.service_client.check_health()
        except RuntimeError:
            return False
        return True

    try:
        assert await eventually(healthy, bool, timeout=60), "the dev server never answered"
        yield address
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@pytest.fixture(scope="module")
async def bare() -> AsyncIterator[str]:
    async with bare_dev_server() as address:
        yield address


async def registered(address: str) -> dict[str, int]:
    client = await Client.connect(address)
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    return dict(listed.custom_attributes)


def route_file(tmp_path: Path) -> str:
    route = {
        "path": "/webhooks/orders",
        "workflow": "OrderWorkflow",
        "verifier": {"type": "standard_webhooks", "secret": {"env": "SA_ORDERS_SECRET"}},
    }
    config = tmp_path / "routes.yaml"
    config.write_text(yaml.safe_dump({"routes": {"orders": route}}), encoding="utf-8")
    return str(config)


def app_env(address: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        TEMPORAL_ADDRESS=address,
        HOOKTIDE_CONFIG=route_file(tmp_path),
        SA_ORDERS_SECRET=ORDERS_SECRET,
        **extra,
    )


async def worker_start_log(address: str, tmp_path: Path) -> list[dict[str, Any]]:
    """The worker's log records up to the line saying it polls, as a real process."""
    env = app_env(
        address,
        tmp_path,
        HOOKTIDE_TASK_QUEUE=f"sa-{uuid.uuid4().hex[:8]}",
        HOOKTIDE_LOG_FORMAT="json",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", cwd=REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    records: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while line := await proc.stderr.readline():
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
                if records and records[-1].get("message", "").startswith("worker polling"):
                    break
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
    assert any(r.get("message", "").startswith("worker polling") for r in records), records
    return records


def search_attribute_warnings(records: list[dict[str, Any]]) -> list[str]:
    return [
        r["message"]
        for r in records
        if r.get("level") == "WARNING" and "search attribute" in r.get("message", "")
    ]


async def test_check_names_each_missing_search_attribute_with_the_command_that_adds_it(
    bare: str, tmp_path: Path
) -> None:
    ran = await hooktide("check", "--temporal", env=app_env(bare, tmp_path))

    assert ran.code == 1, ran.out + ran.err
    assert "Temporal namespace 'default' lacks the search attributes" in ran.out
    for key in search_attributes.ALL:
        assert key.name in ran.out
    lines = [line.strip() for line in ran.out.splitlines()]
    for command in COMMANDS:
        assert command in lines, ran.out


async def test_check_is_content_when_the_namespace_has_them(
    dev_server: TemporalDevServer, client: Client, tmp_path: Path
) -> None:
    ran = await hooktide("check", "--temporal", env=app_env(dev_server.address, tmp_path))

    assert ran.code == 0, ran.out + ran.err
    assert "search attribute" not in ran.out
    assert "OK: the route file and the environment are valid." in ran.out


async def test_worker_warns_at_start_of_the_missing_search_attributes_and_starts(
    bare: str, tmp_path: Path
) -> None:
    records = await worker_start_log(bare, tmp_path)

    [warning] = search_attribute_warnings(records)
    assert "Temporal namespace 'default' lacks the search attributes" in warning
    assert " && ".join(COMMANDS) in warning
    assert next(r for r in records if r["message"] == warning)["logger"] == "hooktide.worker"


async def test_worker_says_nothing_of_search_attributes_when_the_namespace_has_them(
    dev_server: TemporalDevServer, client: Client, tmp_path: Path
) -> None:
    records = await worker_start_log(dev_server.address, tmp_path)

    assert search_attribute_warnings(records) == []


async def test_the_compose_namespace_job_adds_every_search_attribute_and_can_run_again() -> None:
    [script] = compose()["services"]["temporal-namespace"]["command"]
    # What Compose hands the shell: "$$" is its escape for "$".
    script = script.replace("$$", "$")
    bin_dir = str(Path(temporal_binary()).parent)
    async with bare_dev_server() as address:
        env = clean_env(TEMPORAL_ADDRESS=address)
        env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
        runs = []
        for _ in range(2):
            ran = await asyncio.create_subprocess_exec(
                "/bin/sh", "-ec", script, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(ran.communicate(), timeout=120)
            runs.append((ran.returncode, out.decode()))
            assert ran.returncode == 0, out.decode()
            have = await registered(address)
            for key in search_attributes.ALL:
                assert have.get(key.name) == key.indexed_value_type.value, have

    assert runs[0][1].count("Search attributes have been added") == len(search_attributes.ALL)
    assert "Search attributes have been added" not in runs[1][1]
