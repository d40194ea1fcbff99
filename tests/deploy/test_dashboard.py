"""Every query of the Grafana dashboards (deploy/grafana/dashboards/) reads a series that the
processes really export, with the labels it filters and groups by: a real gateway, served on
loopback and sent a mix of requests, and a real worker, with the Temporal runtime's
Prometheus exporter on a free port, that made outbound attempts both ways (the first as a
local activity, one as a regular activity). Names are compared as Prometheus stores them:
the Temporal SDK writes counters without `_total`, prometheus_client with it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.outbound import ATTEMPTS_METRIC, DeliveryInput, DeliveryTarget, start_delivery
from tests.deploy import exposition, promql
from tests.deploy.exposition import Series
from tests.support.gateway import serve, serve_gateway
from tests.support.net import LOOPBACK, LOOPBACK_ONLY, free_port
from tests.support.peer import Peer, Reply
from tests.support.polling import eventually
from tests.support.repo import REPO
from tests.support.routes import ORDERS_VERIFIER, SECRET, orders_route
from tests.support.signing import order_payload, signed
from webhook_gateway.config.routes import parse_config
from webhook_gateway.contracts.secrets import SecretSource
from webhook_gateway.dev.temporal_server import TemporalDevServer
from webhook_gateway.observability.metrics import worker_runtime
from worker import build_worker

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
#: Labels Prometheus puts on every series it scrapes (deploy/prometheus.yml's jobs).
TARGET_LABELS = frozenset({"job", "instance"})
#: Series Prometheus makes itself for each target.
PROMETHEUS_OWN: Series = {"up": set(TARGET_LABELS)}
#: A delivery started searchable makes its first attempt as a local activity; one started
#: without search attributes (as a redrive is) makes it as a regular activity.
LOCAL_ENDPOINT, REGULAR_ENDPOINT = "crm", "erp"


@dataclass(frozen=True)
class Panel:
    file: str
    title: str
    expr: str


def dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS.glob("*.json"))
    }


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def queries(boards: dict[str, dict[str, Any]] | None = None) -> list[Panel]:
    found = []
    for name, board in (boards or dashboards()).items():
        for panel in _panels(board["panels"]):
            for target in panel.get("targets", []):
                found.append(Panel(name, panel["title"], target["expr"]))
    return found


def variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board["templating"]["list"]}


def unknown_series(panels: list[Panel], exported: Series) -> list[str]:
    """`file / panel: name` for each series a query reads that nothing exports."""
    return [
        f"{p.file} / {p.title}: {s.name}"
        for p in panels
        for s in promql.parse(p.expr).selectors
        if s.name not in exported
    ]


def unknown_labels(panels: list[Panel], exported: Series) -> list[str]:
    """`file / panel: label` for each label a query matches or groups by that its series
    do not carry (a `by (endpoint)` over a series without `endpoint` is one empty group)."""
    wrong = []
    for p in panels:
        query = promql.parse(p.expr)
        carried: set[str] = set(TARGET_LABELS)
        for s in query.selectors:
            labels = exported.get(s.name, set()) | TARGET_LABELS
            carried |= labels
            wrong += [
                f"{p.file} / {p.title}: {s.name}{{{k}}}" for k in s.matchers if k not in labels
            ]
        wrong += [f"{p.file} / {p.title}: by {k}" for k in sorted(query.grouping - carried)]
    return wrong


def read_series(worker: bool) -> set[str]:
    """The series the dashboards read from the workers (else from the gateways)."""
    names = {s.name for p in queries() for s in promql.parse(p.expr).selectors}
    of_worker = {n for n in names if n.startswith("temporal_") or n == ATTEMPTS_METRIC}
    return of_worker if worker else names - of_worker - set(PROMETHEUS_OWN)


def exports(names: set[str]) -> Callable[[str], bool]:
    return lambda text: names <= set(exposition.series(text))


# -- the processes --------------------------------------------------------------------------


async def scrape(url: str, until: Callable[[str], bool]) -> str:
    """`url`'s exposition once `until(text)` holds (or its deadline passed: the checks say
    what is missing)."""

    async def get() -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(url)
        response.raise_for_status()
        return response.text

    return await eventually(get, until)


@pytest.fixture(scope="module")
async def gateway_series(client: Client, task_queue: str) -> Series:
    """A gateway's /metrics after accepted, duplicate, ignored and refused requests on a
    route with rules, and a few on a group-commit route."""
    prefix = f"dash-{uuid.uuid4().hex[:6]}-"
    orders = {
        "path": "/webhooks/orders",
        "verifier": ORDERS_VERIFIER,
        "rules": [
            {
                "name": "orders",
                "when": "body.id != 'ignore-me'",
                "workflow": "OrderWorkflow",
                "task_queue": task_queue,
                "workflow_id": {"prefix": prefix},
            }
        ],
    }
    fast = orders_route(
        task_queue,
        f"dash-fast-{uuid.uuid4().hex[:6]}-",
        path="/webhooks/fast",
        group_commit={"max_batch": 10, "max_wait_ms": 5, "shards": 2},
    )
    config = parse_config({"routes": {"orders": orders, "fast": fast}})
    async with serve_gateway(config, client=client) as http:
        body, headers = signed(order_payload())
        answers = [
            await http.post("/webhooks/orders", content=body, headers=headers),
            await http.post("/webhooks/orders", content=body, headers=headers),  # duplicate
        ]
        ignored, ignored_headers = signed(order_payload("ignore-me"))
        answers.append(
            await http.post("/webhooks/orders", content=ignored, headers=ignored_headers)
        )
        forged = headers | {"webhook-signature": "v1,AAAA"}
        refused = await http.post("/webhooks/orders", content=body, headers=forged)
        for _ in range(3):
            fast_body, fast_headers = signed(order_payload())
            answers.append(
                await http.post("/webhooks/fast", content=fast_body, headers=fast_headers)
            )
        assert [a.status_code for a in answers] == [202, 202, 200, 202, 202, 202], [
            a.text for a in answers
        ]
        assert refused.status_code == 401

        # The inboxes' start rate appears once the gateway has asked them for their backlog.
        text = await scrape(f"{http.url}/metrics", exports(read_series(worker=False)))
    return exposition.series(text)


@dataclass(frozen=True)
class WorkerRun:
    series: Series
    text: str
    local: WorkflowHistory
    regular: WorkflowHistory


@pytest.fixture(scope="module")
async def worker_run(client: Client, dev_server: TemporalDevServer) -> AsyncIterator[WorkerRun]:
    """The worker `hooktide worker` builds, on a client whose runtime serves Prometheus
    metrics (as HOOKTIDE_WORKER_METRICS_ADDRESS makes it), after two deliveries: one to
    LOCAL_ENDPOINT, delivered, one to REGULAR_ENDPOINT, aborted by the receiver."""
    port = free_port()
    runtime = worker_runtime(f"{LOOPBACK}:{port}")
    assert runtime is not None
    metered = await Client.connect(
        dev_server.address, data_converter=pydantic_data_converter, runtime=runtime
    )
    peer = Peer()
    peer.script("/erp", Reply(400, {"webhook-delivery": "abort-message"}))
    queue = f"dash-worker-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOOKTIDE_OUTBOUND_ALLOW", LOOPBACK_ONLY)  # the peer is on loopback
        async with serve(peer.app) as base:
            peer.base = base
            async with build_worker(metered, queue):
                local = await start_delivery(
                    metered, _delivery(peer, LOCAL_ENDPOINT), task_queue=queue
                )
                regular = await metered.start_workflow(
                    "WebhookDeliveryWorkflow",
                    _delivery(peer, REGULAR_ENDPOINT),
                    id=f"dash-redrive-{uuid.uuid4().hex}",
                    task_queue=queue,
                )
                results = [await local.result(), await regular.result()]
                assert [r["outcome"] for r in results] == ["delivered", "aborted"], results
                # The SDK records a task's metrics as the worker completes it.
                wanted = exports(read_series(worker=True))
                text = await scrape(
                    f"http://{LOOPBACK}:{port}/metrics",
                    lambda t: wanted(t) and t.count(f"{ATTEMPTS_METRIC}{{") == 2,
                )
                yield WorkerRun(
                    exposition.series(text),
                    text,
                    await local.fetch_history(),
                    await regular.fetch_history(),
                )


def _delivery(peer: Peer, endpoint: str) -> DeliveryInput:
    target = DeliveryTarget(
        subscription=endpoint, url=peer.url(f"/{endpoint}"), secret=SecretSource(**SECRET)
    )
    payload: dict[str, Any] = {"type": "order.completed", "data": {"order_id": "A-1"}}
    return DeliveryInput(target=target, msg_id=f"msg_{uuid.uuid4().hex}", payload=payload)


@pytest.fixture(scope="module")
def exported(gateway_series: Series, worker_run: WorkerRun) -> Series:
    merged: Series = {}
    for source in (gateway_series, worker_run.series, PROMETHEUS_OWN):
        for name, labels in source.items():
            merged.setdefault(name, set()).update(labels)
    return merged


# -- the checks -----------------------------------------------------------------------------


def test_the_dashboard_folder_holds_dashboards_with_queries() -> None:
    boards = dashboards()
    assert "hooktide.json" in boards
    assert len(queries(boards)) >= 20


def test_every_dashboard_query_parses() -> None:
    for panel in queries():
        promql.parse(panel.expr)  # raises, naming the expression


def test_every_series_a_query_reads_is_exported(exported: Series) -> None:
    wrong = unknown_series(queries(), exported)
    assert not wrong, "nothing exports:\n" + "\n".join(wrong)


def test_every_label_a_query_filters_or_groups_by_is_on_its_series(exported: Series) -> None:
    wrong = unknown_labels(queries(), exported)
    assert not wrong, "no such label on the series:\n" + "\n".join(wrong)


def test_a_renamed_metric_or_label_is_caught(exported: Series) -> None:
    board = dashboards()["hooktide.json"]
    text = json.dumps(board)
    renamed = json.loads(
        text.replace("hooktide_verification_failures_total", "hooktide_auth_failures_total")
    )
    relabelled = json.loads(text.replace("by (route, reason)", "by (route, cause)"))

    assert unknown_series(queries({"x": renamed}), exported) == [
        "x / Verification failures by reason: hooktide_auth_failures_total"
    ]
    assert unknown_labels(queries({"x": relabelled}), exported) == [
        "x / Verification failures by reason: by cause"
    ]
    # The worker's counter is stored without `_total`; a query that adds it reads nothing.
    assert f"{ATTEMPTS_METRIC}_total" not in exported
    assert "temporal_request_failure_total" not in exported


def test_template_variables_read_exported_labels(exported: Series) -> None:
    for name, board in dashboards().items():
        for variable in variables(board).values():
            if variable["type"] != "query":
                continue
            metric, label = promql.label_values(variable["query"]["query"])
            assert label in exported.get(metric, set()), f"{name} ${variable['name']}"


def test_every_query_on_a_routed_or_endpoint_series_follows_its_variable(
    exported: Series,
) -> None:
    follows = {"route": "$route", "endpoint": "$endpoint"}
    missing = []
    for panel in queries():
        for s in promql.parse(panel.expr).selectors:
            for label, variable in follows.items():
                if label in exported.get(s.name, set()) and s.matchers.get(label) != (
                    "=~",
                    variable,
                ):
                    missing.append(f'{panel.title}: {s.name} without {label}=~"{variable}"')
    assert not missing, "\n".join(missing)


def test_panels_are_unique_and_use_the_dashboard_data_source() -> None:
    for name, board in dashboards().items():
        panels = list(_panels(board["panels"]))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), name
        assert variables(board)["datasource"]["query"] == "prometheus"
        for panel in panels:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)) and refs, panel["title"]
            assert panel.get("description"), f"{panel['title']} says what it shows"


def test_outbound_attempts_are_counted_by_endpoint_and_outcome_on_both_paths(
    worker_run: WorkerRun,
) -> None:
    def scheduled(history: WorkflowHistory) -> list[str]:
        return [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]

    assert "deliver_webhook" not in scheduled(worker_run.local)  # it ran as a local activity
    assert "deliver_webhook" in scheduled(worker_run.regular)
    [family] = [
        f for f in text_string_to_metric_families(worker_run.text) if f.name == ATTEMPTS_METRIC
    ]
    counted = {(s.labels["endpoint"], s.labels["outcome"]): s.value for s in family.samples}

    assert counted == {(LOCAL_ENDPOINT, "delivered"): 1, (REGULAR_ENDPOINT, "aborted"): 1}
    assert family.type == "counter"
    labels = worker_run.series[ATTEMPTS_METRIC]
    assert {"endpoint", "outcome", "task_queue", "activity_type"} <= labels
    assert not labels & {"url", "msg_id", "delivery_id"}


def test_dashboard_files_are_what_grafana_is_told_to_load() -> None:
    # Grafana's provider loads every *.json of the folder; anything else there is ignored.
    assert {p.suffix for p in DASHBOARDS.iterdir()} == {".json"}
    for board in dashboards().values():
        assert board["uid"] and board["title"]
        assert "id" not in board or board["id"] is None  # Grafana assigns it


def test_every_panel_is_described_in_operations_md() -> None:
    section = (REPO / "docs" / "OPERATIONS.md").read_text(encoding="utf-8").split("\n## Grafana\n")
    assert len(section) == 2, "docs/OPERATIONS.md has a Grafana section"
    titles = [p["title"] for b in dashboards().values() for p in _panels(b["panels"])]
    missing = [t for t in titles if f"| {t} |" not in section[1]]
    assert not missing, f"panels docs/OPERATIONS.md does not describe: {missing}"
