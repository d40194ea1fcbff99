"""The kit a test drives Hooktide with: the gateway built from the user's route file, in
process, and a worker with Hooktide's infrastructure and the user's workflows, both on one
fresh task queue of the session's Temporal server.

    async with hooktide(routes="hooktide.yaml", modules=["acme.reminders"]) as kit:
        ack = await kit.send("signups", {"user": "ada"})  # signed as `hooktide send` signs
        assert ack.status == 202
        await kit.sleep(timedelta(days=3))  # the time-skipping server skips it
        assert await kit.result(ack) == "reminded ada"

Leaving the block, whether the test passed or not, stops the gateway, terminates the
workflows the kit's client started that still run, stops the worker and restores the
environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from webhook_gateway.app import create_app
from webhook_gateway.config import worker_modules
from webhook_gateway.config.routes import HooktideConfig, Route
from webhook_gateway.config.settings import ENV_FILE, Settings
from webhook_gateway.dispatch.temporal_client import converter
from webhook_gateway.observability.metrics import with_interceptors
from webhook_gateway.testing import sending
from webhook_gateway.testing.environ import Environ
from webhook_gateway.testing.peer import Peer, serve_peer
from webhook_gateway.testing.routes import Routes, load_routes, missing_secrets
from webhook_gateway.testing.sending import BASE_URL, Answer
from webhook_gateway.testing.temporal import (
    SkippingHandle,
    StartedWorkflows,
    terminate_running,
    time_skipping,
)
from worker import WORKFLOWS as HOOKTIDE_WORKFLOWS
from worker import activities as hooktide_activities
from worker import plugins as configured_plugins

#: HOOKTIDE_OUTBOUND_ALLOW's loopback networks, for peers on 127.0.0.1.
LOOPBACK = "127.0.0.0/8,::1/128"
Ack = Answer | Mapping[str, Any] | str

T = TypeVar("T")


class Kit:
    """One test's gateway and worker; made by the `hooktide` fixture (`KitFactory`), used
    as `async with`. See `KitFactory.__call__` for the options.

    While it runs: `client` (Temporal's, recording what it starts), `task_queue`, `config`
    (the routes, on that queue), `settings`, `secrets` (the generated ones, by variable),
    `worker`, `app` (the gateway) and `http` (an httpx client on it, for what `send` does
    not do: GET, the operator endpoints)."""

    def __init__(
        self,
        environment: WorkflowEnvironment,
        *,
        routes: Routes | None = None,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        modules: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        allow_loopback: bool = False,
    ) -> None:
        self.environment = environment
        self.task_queue = f"hooktide-test-{uuid.uuid4().hex[:12]}"
        self._routes = routes
        self._workflows = list(workflows)
        self._activities = list(activities)
        self._modules = None if modules is None else list(modules)
        self._env = dict(env or {})
        self._allow_loopback = allow_loopback
        self._started = StartedWorkflows()
        self._stack = AsyncExitStack()
        self.client: Client = with_interceptors(environment.client, self._started)
        self.secrets: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Kit task_queue={self.task_queue!r}>"

    async def __aenter__(self) -> Kit:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        """Environment, routes and secrets, worker, gateway; `_stack` undoes them in reverse."""
        environ = Environ()
        self._stack.callback(environ.restore)
        for name, value in self._env.items():
            environ.set(name, value)
        if ENV_FILE not in os.environ:
            environ.set(ENV_FILE, "")  # a developer's .env never changes a test's result
        if self._allow_loopback:
            allowed = os.environ.get("HOOKTIDE_OUTBOUND_ALLOW", "")
            environ.set("HOOKTIDE_OUTBOUND_ALLOW", ",".join(filter(None, [allowed, LOOPBACK])))
        routes = self._routes if self._routes is not None else Settings().config_path
        if not isinstance(routes, Mapping):
            environ.set("HOOKTIDE_CONFIG", str(Path(routes)))
        self.config: HooktideConfig = load_routes(routes, self.task_queue)
        self.secrets = missing_secrets(self.config)
        for name, value in self.secrets.items():
            environ.set(name, value)
        self.settings = Settings()
        codec = converter(self.settings)  # HOOKTIDE_PAYLOAD_KEYS: encrypted, as in production
        if codec.payload_codec is not None:
            config = self.client.config()
            config["data_converter"] = codec
            self.client = Client(**config)

        self.worker = self._build_worker(self.settings)
        await self._stack.enter_async_context(self.worker)
        self._stack.push_async_callback(
            terminate_running, self.client, self._started.ids, reason="the hooktide kit closed"
        )
        self.app: Starlette = create_app(self.settings, config=self.config, client=self.client)
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        self.http = await self._stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url=BASE_URL, timeout=30
            )
        )

    def _build_worker(self, settings: Settings) -> Worker:
        """Hooktide's workflows and activities, the plug-ins' (`modules`, else those the
        environment, route file and entry points name, as `hooktide worker` loads them), then
        the test's own, which replace any of the same name."""
        if self._modules is None:
            loaded = configured_plugins(settings, self.config)
        else:
            loaded = worker_modules.load(self._modules, settings)
        workflows = _replacing(
            [*HOOKTIDE_WORKFLOWS, *(w for p in loaded for w in p.workflows)],
            self._workflows,
            worker_modules.workflow_type,
        )
        activities = _replacing(
            [
                *hooktide_activities(settings, self.config.subscriptions),
                *(a for p in loaded for a in p.activities),
            ],
            self._activities,
            _activity_name,
        )
        return Worker(
            self.client, task_queue=self.task_queue, workflows=workflows, activities=activities
        )

    async def send(
        self,
        route: str,
        body: Any,
        headers: Mapping[str, str | None] | None = None,
        delivery_id: str | None = None,
        path_params: Mapping[str, str] | None = None,
        *,
        method: str | None = None,
    ) -> Answer:
        """Sign `body` with `route`'s verifier as `hooktide send` does, and send it.

        `body`: bytes or text as they are, anything else as JSON (or as a form, for a route
        that takes forms and not JSON). `headers` are laid over the signed ones: the same
        name replaces a signed header, None removes it. `path_params` fill the route's path.
        Every status comes back as an `Answer`; only an unexpected error in the gateway
        raises (with its traceback) where a sender would see 500."""
        request = sending.signed_request(
            self._route(route),
            body,
            headers=headers,
            delivery_id=delivery_id,
            path_params=path_params,
            method=method,
        )
        response = await self.http.request(
            request.method, request.path, content=request.content, headers=request.headers
        )
        return sending.answer(route, request, response)

    def _route(self, name: str) -> Route:
        try:
            return self.config.route(name)
        except KeyError:
            names = ", ".join(r.name for r in self.config.routes)
            raise KeyError(f"No route '{name}' in the kit's routes ({names})") from None

    def workflow(
        self, ack: Ack, *, rule: str | None = None, result_type: type | None = None
    ) -> WorkflowHandle[Any, Any]:
        """The workflow an acknowledgement names (a route's; with rules the first target's,
        or rule `rule`'s), or the workflow of that id. Its `result()` lets the time-skipping
        server skip time while it waits, and is a `result_type` if given (else plain JSON:
        dicts and lists)."""
        workflow_id = ack if isinstance(ack, str) else sending.workflow_id(ack, rule)
        return SkippingHandle(
            self.client,
            workflow_id,
            lambda: time_skipping(self.environment),
            result_type=result_type,
        )

    async def result(
        self, ack: Ack, *, rule: str | None = None, result_type: type | None = None
    ) -> Any:
        """The workflow's result once it completes (time skips meanwhile on the time-skipping
        server); raises `WorkflowFailureError` if it failed."""
        return await self.workflow(ack, rule=rule, result_type=result_type).result()

    async def history(self, ack: Ack, *, rule: str | None = None) -> WorkflowHistory:
        return await self.workflow(ack, rule=rule).fetch_history()

    async def sleep(self, duration: timedelta | float) -> None:
        """Let `duration` pass for the workflows: skipped at once on the time-skipping server,
        really slept on the dev server (--hooktide-server=dev)."""
        await self.environment.sleep(duration)

    async def peer(self) -> Peer:
        """A recording HTTP peer on 127.0.0.1, served until the kit closes. Hooktide's HTTP
        activities reach it only with `allow_loopback=True`; a peer whose URL the worker must
        know at start (an environment variable) is served before the kit: `serve_peer()`."""
        return await self._stack.enter_async_context(serve_peer())


class KitFactory:
    """What the `hooktide` fixture gives a test: `async with hooktide(...) as kit`."""

    def __init__(self, environment: WorkflowEnvironment) -> None:
        self.environment = environment

    def __call__(
        self,
        *,
        routes: Routes | None = None,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        modules: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        allow_loopback: bool = False,
    ) -> Kit:
        """A kit for one test.

        routes: the route file's path, or its content as a dict (`{"routes": {...}}`);
            default: HOOKTIDE_CONFIG's file, else ./hooktide.yaml. Every route's and rule's
            task_queue becomes the kit's own.
        workflows, activities: registered on the kit's worker beside Hooktide's own and the
            plug-ins'; one of the same name as a plug-in's replaces it (a stand-in activity).
        modules: the plug-in modules to load; default: those `hooktide worker` would load
            (HOOKTIDE_WORKER_MODULES, the route file's worker.modules, the hooktide.workers
            entry points); [] for none.
        env: environment variables set while the kit runs (the worker's settings, a plug-in's
            own); each secret variable the routes name that is still unset then gets a
            generated value of its verifier's form (`kit.secrets`).
        allow_loopback: let Hooktide's HTTP activities and outbound deliveries reach
            127.0.0.1 (HOOKTIDE_OUTBOUND_ALLOW), for peers.
        """
        return Kit(
            self.environment,
            routes=routes,
            workflows=workflows,
            activities=activities,
            modules=modules,
            env=env,
            allow_loopback=allow_loopback,
        )


def _activity_name(activity: Callable[..., Any]) -> str:
    defn = getattr(activity, "__temporal_activity_definition", None)
    name = getattr(defn, "name", None)
    return name if isinstance(name, str) else getattr(activity, "__name__", repr(activity))


def _replacing(base: Sequence[T], own: Sequence[T], name: Callable[[T], str]) -> list[T]:
    """`base` without what `own` replaces (by name) or repeats, then `own`."""
    replaced = {name(item) for item in own}
    kept = [item for item in dict.fromkeys(base) if name(item) not in replaced]
    return [*kept, *dict.fromkeys(own)]
