"""The local stack: Temporal's dev server, the worker (`python -m worker`), the gateway
(`python -m webhook_gateway gateway`) and any helper processes, on this machine.

Each part logs to `<logs>/<name>.log`, is waited for until it is ready, can be killed -9 and
restarted on its own, and all are stopped in the reverse order of their start, so that the
gateway stops before the worker and Temporal and no acknowledged request is left half-done.
`hooktide run`, the fault-injection harness and the benchmarks all start their stack here:

    async with LocalStack(tmp, isolated_env({"HOOKTIDE_CONFIG": ...})) as stack:
        await stack.start_temporal(db_file=tmp / "temporal.db")
        url = await stack.start_hooktide(port=free_port())
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from webhook_gateway.dev.processes import LOOPBACK, Child, Ready, free_port, http_ok
from webhook_gateway.dev.temporal_server import TemporalDevServer

#: What the worker logs (at INFO) once it polls its task queue.
WORKER_POLLING = b"worker polling task queue"


#: The stacks the benchmarks and fault harness start run the bundled example's workflows.
EXAMPLE_PLUGIN = {"HOOKTIDE_WORKER_MODULES": "workflows.example.plugin"}


def isolated_env(values: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any HOOKTIDE_ variable (but HOOKTIDE_ENV_FILE,
    which says whether a .env file may be read), with the example's plug-in, then
    `values`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("HOOKTIDE_")}
    if "HOOKTIDE_ENV_FILE" in os.environ:
        kept["HOOKTIDE_ENV_FILE"] = os.environ["HOOKTIDE_ENV_FILE"]
    return kept | EXAMPLE_PLUGIN | dict(values)


async def _worker_polls(child: Child) -> bool:
    # A log level above INFO hides the line: then a worker that runs is all we can see.
    level = (child.env or {}).get("HOOKTIDE_LOG_LEVEL", "INFO").upper()
    return level not in ("DEBUG", "INFO") or WORKER_POLLING in child.output()


class LocalStack:
    """Processes started in order, each waited for; stopped in reverse (module docstring)."""

    def __init__(
        self,
        logs: Path,
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.logs = logs
        #: What each child is started with (start_temporal adds TEMPORAL_ADDRESS).
        self.env = dict(env)
        self.cwd = cwd
        self.parts: dict[str, Child] = {}
        self._say = say
        self._temporal: TemporalDevServer | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        return f"<LocalStack {list(self.parts)} logs={str(self.logs)!r}>"

    async def __aenter__(self) -> LocalStack:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def temporal(self) -> TemporalDevServer:
        if self._temporal is None:
            raise RuntimeError("this stack has no Temporal dev server")
        return self._temporal

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        if self._url is None:
            raise RuntimeError("this stack has no gateway")
        return self._url

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def process(self, name: str) -> subprocess.Popen[bytes]:
        """The process of one part, to signal it yourself."""
        process = self.parts[name].process
        if process is None:
            raise RuntimeError(f"{name} is not running")
        return process

    async def start_temporal(
        self,
        *,
        db_file: Path | None,
        port: int | None = None,
        ui_port: int | None = None,
        ui_codec: str | None = None,
        fairness: bool = False,
    ) -> TemporalDevServer:
        """The dev server on `db_file` (None: in memory), headless unless `ui_port` is given;
        its Web UI decodes payloads through `ui_codec` (the gateway's /codec) if given; with
        `fairness`, its task queues dispatch by fairness key (docs/FLOW_CONTROL.md)."""
        extra: tuple[str, ...] = ("--ui-codec-endpoint", ui_codec) if ui_codec and ui_port else ()
        if fairness:
            extra += ("--dynamic-config-value", "matching.enableFairness=true")
        server = TemporalDevServer(
            db_file=db_file,
            port=port or free_port(),
            ui_port=ui_port,
            log=self.log("temporal"),
            new_session=True,
            extra_args=extra,
        )
        self._add(server)
        self._temporal = server
        await server.wait_ready()
        self.env["TEMPORAL_ADDRESS"] = server.address
        return server

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        ready: Ready | None = None,
        env: Mapping[str, str] | None = None,
        hint: str = "",
    ) -> Child:
        """Starts `argv` with the stack's environment and `env`; `ready()` waits for it."""
        child = Child(
            name, argv, env=self.env | dict(env or {}), log=self.log(name), cwd=self.cwd,
            ready=ready, hint=hint, new_session=True,
        )  # fmt: skip
        self._add(child)
        return child

    def spawn_worker(self, *, name: str = "worker") -> Child:
        """A worker; give a second one a name of its own (`worker-2`)."""
        return self.spawn(name, [sys.executable, "-m", "worker"], ready=_worker_polls)

    def spawn_gateway(self, *, port: int, host: str = LOOPBACK, name: str = "gateway") -> Child:
        """A gateway; a second one (`name="gateway-2"`) leaves `url` the first one's."""
        url = f"http://{host}:{port}"
        if name == "gateway":
            self._url = url
        return self.spawn(
            name,
            [sys.executable, "-m", "webhook_gateway", "gateway"],
            ready=http_ok(f"{url}/readyz"),
            env={"HOOKTIDE_PORT": str(port)},
        )

    async def start_hooktide(self, *, port: int, host: str = LOOPBACK) -> str:
        """The worker and the gateway, started together; the gateway's base URL once both
        are ready (the worker polls, the gateway's /readyz answers 200)."""
        self.spawn_worker()
        self.spawn_gateway(port=port, host=host)
        await self.ready("worker", "gateway")
        return self.url

    async def ready(self, *names: str) -> None:
        """Until each named part (all, if none is named) is ready; raises if one exits."""
        for name in names or list(self.parts):
            await self.parts[name].wait_ready()

    def kill(self, name: str) -> None:
        """kill -9, and wait until it is gone."""
        self.parts[name].stop(kill=True)

    async def restart(self, name: str) -> None:
        part = self.parts[name]
        part.start()
        await part.wait_ready()

    def exited(self) -> list[tuple[str, int]]:
        """(name, exit code) of each part that ended without being stopped."""
        return [
            (name, code)
            for name, part in self.parts.items()
            if part.process is not None and (code := part.process.poll()) is not None
        ]

    def stop(self, *names: str) -> None:
        """Stops the named parts (all, if none is named), in the reverse order of their start."""
        for name in reversed(list(self.parts)):
            part = self.parts[name]
            if (names and name not in names) or not part.running:
                continue
            if self._say:
                self._say(f"  stopping {name} ...")
            part.stop()

    def _add(self, part: Child) -> None:
        if part.name in self.parts:
            raise ValueError(f"this stack already has a part named {part.name!r}")
        self.parts[part.name] = part
        part.start()
