"""Prometheus metrics: the gateway's own (`GET /metrics`) and the worker's SDK metrics.

Gateway (one registry per app, so tests and several apps in one process never collide):

    hooktide_requests_total{route,mode,outcome,status}      every webhook request answered
    hooktide_verification_failures_total{route,reason}      401s, by verifier reason
    hooktide_ack_latency_seconds{route,mode}                request start -> 2xx written
    hooktide_temporal_rpc_seconds{operation}                each Temporal client call
    hooktide_temporal_rpc_errors_total{operation,error}     ... that raised (gRPC status name)
    hooktide_requests_in_flight                             requests being handled now
    hooktide_group_commit_*{route}                          group commit, where a route uses it

The worker's metrics are the Temporal SDK's own (`temporal_*`), served by the SDK's Rust
runtime on HOOKTIDE_WORKER_METRICS_ADDRESS (`worker_runtime`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from temporalio import client as tc
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError

from webhook_gateway.observability.recent import RecentCounts

T = TypeVar("T")
M = TypeVar("M", bound=MetricWrapperBase)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class CommitStatsLike(Protocol):
    """What `group_commit.GroupCommitter.stats()` returns (read, never imported here)."""

    @property
    def route(self) -> str: ...
    @property
    def batches(self) -> int: ...
    @property
    def events(self) -> int: ...
    @property
    def failed_batches(self) -> int: ...
    @property
    def rejected_backlog(self) -> int: ...
    @property
    def last_batch_size(self) -> int: ...
    @property
    def max_batch_size(self) -> int: ...
    @property
    def queued(self) -> tuple[int, ...]: ...
    @property
    def estimated_backlog(self) -> tuple[int, ...]: ...
    @property
    def start_rate(self) -> tuple[float | None, ...]: ...


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "hooktide_requests",
            "Webhook requests answered, by route, mode, outcome and HTTP status.",
            ["route", "mode", "outcome", "status"],
            registry=r,
        )
        self.rule_targets = Counter(
            "hooktide_rule_targets",
            "Events a routing rule sent to its workflow (Temporal holds them), by route and rule.",
            ["route", "rule"],
            registry=r,
        )
        self.verification_failures = Counter(
            "hooktide_verification_failures",
            "Requests refused by the route's verifier (401), by reason.",
            ["route", "reason"],
            registry=r,
        )
        self.ack_latency = Histogram(
            "hooktide_ack_latency_seconds",
            "Time from the request's arrival to its 2xx answer (Temporal holds the event).",
            ["route", "mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rpc_latency = Histogram(
            "hooktide_temporal_rpc_seconds",
            "Duration of each Temporal client call made by the gateway.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rpc_errors = Counter(
            "hooktide_temporal_rpc_errors",
            "Temporal client calls that raised, by gRPC status (or exception) name.",
            ["operation", "error"],
            registry=r,
        )
        self._gauges = _Gauges()
        r.register(self._gauges)
        self._requests_by = _Children(self.requests)
        self._ack_latency_by = _Children(self.ack_latency)
        self.rpc_latency_by = _Children(self.rpc_latency)
        self.recent = RecentCounts()

    def request_done(
        self, *, route: str, mode: str, outcome: str, status: int, seconds: float
    ) -> None:
        self._requests_by.get(route, mode, outcome.split("/")[0], str(status)).inc()
        self.recent.add(route, outcome.split("/")[0])
        if 200 <= status < 300:
            self._ack_latency_by.get(route, mode).observe(seconds)

    def rule_matched(self, *, route: str, rule: str) -> None:
        self.rule_targets.labels(route, rule).inc()

    def verification_failed(self, *, route: str, reason: str) -> None:
        self.verification_failures.labels(route, reason).inc()
        self.recent.add_reason(route, reason)

    def watch_in_flight(self, read: Callable[[], int]) -> None:
        self._gauges.in_flight = read

    def watch_group_commit(self, read: Callable[[], Iterable[CommitStatsLike]]) -> None:
        """Hook for group commit: `read()` returns each committer's `stats()` snapshot."""
        self._gauges.group_commit = read

    def interceptor(self) -> RpcMetricsInterceptor:
        return RpcMetricsInterceptor(self)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _Children(Generic[M]):
    """A labelled metric's children, looked up once per label values: `labels()` checks
    and copies its arguments and takes a lock on every call."""

    def __init__(self, metric: M) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], M] = {}

    def get(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class _Gauges(Collector):
    """Values read at scrape time from the objects that own them."""

    def __init__(self) -> None:
        self.in_flight: Callable[[], int] | None = None
        self.group_commit: Callable[[], Iterable[CommitStatsLike]] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.in_flight is not None:
            gauge = GaugeMetricFamily(
                "hooktide_requests_in_flight", "Requests being handled right now."
            )
            gauge.add_metric([], self.in_flight())
            yield gauge
        if self.group_commit is not None:
            yield from _group_commit_families(list(self.group_commit()))


def _group_commit_families(stats: list[CommitStatsLike]) -> Iterator[Metric]:
    batches = CounterMetricFamily(
        "hooktide_group_commit_batches", "Group-commit calls sent.", labels=["route"]
    )
    events = CounterMetricFamily(
        "hooktide_group_commit_events", "Events carried by group-commit calls.", labels=["route"]
    )
    failed = CounterMetricFamily(
        "hooktide_group_commit_failed_batches", "Group-commit calls that failed.", labels=["route"]
    )
    rejected = CounterMetricFamily(
        "hooktide_group_commit_rejected",
        "Requests refused (503) because the inbox backlog was over its limit.",
        labels=["route"],
    )
    last = GaugeMetricFamily(
        "hooktide_group_commit_last_batch_size", "Size of the last batch.", labels=["route"]
    )
    largest = GaugeMetricFamily(
        "hooktide_group_commit_max_batch_size", "Largest batch so far.", labels=["route"]
    )
    queued = GaugeMetricFamily(
        "hooktide_group_commit_queued", "Requests waiting for a batch.", labels=["route", "shard"]
    )
    backlog = GaugeMetricFamily(
        "hooktide_group_commit_backlog",
        "Estimated events the shard's inbox workflow has not started yet.",
        labels=["route", "shard"],
    )
    rate = GaugeMetricFamily(
        "hooktide_group_commit_start_rate",
        "Workflow starts per second the shard's inbox paces itself to (it adapts to Temporal).",
        labels=["route", "shard"],
    )
    for s in stats:
        batches.add_metric([s.route], s.batches)
        events.add_metric([s.route], s.events)
        failed.add_metric([s.route], s.failed_batches)
        rejected.add_metric([s.route], s.rejected_backlog)
        last.add_metric([s.route], s.last_batch_size)
        largest.add_metric([s.route], s.max_batch_size)
        for shard, (waiting, estimate) in enumerate(
            zip(s.queued, s.estimated_backlog, strict=False)
        ):
            queued.add_metric([s.route, str(shard)], waiting)
            backlog.add_metric([s.route, str(shard)], estimate)
        for shard, pace in enumerate(s.start_rate):
            if pace is not None:
                rate.add_metric([s.route, str(shard)], pace)
    yield from (batches, events, failed, rejected, last, largest, queued, backlog, rate)


class RpcMetricsInterceptor(tc.Interceptor):
    """Times every Temporal call the gateway makes, wherever it is made (dispatch, operator)."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics

    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _RpcMetricsOutbound(next, self.metrics)


class _RpcMetricsOutbound(tc.OutboundInterceptor):
    def __init__(self, next: tc.OutboundInterceptor, metrics: GatewayMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        except WorkflowAlreadyStartedError:
            self._metrics.rpc_errors.labels(operation, "ALREADY_EXISTS").inc()
            raise
        except RPCError as exc:
            self._metrics.rpc_errors.labels(operation, exc.status.name).inc()
            raise
        except asyncio.CancelledError:
            # The dispatcher's outer deadline cancelled the call.
            self._metrics.rpc_errors.labels(operation, "CANCELLED").inc()
            raise
        except Exception as exc:
            self._metrics.rpc_errors.labels(operation, type(exc).__name__).inc()
            raise
        finally:
            self._metrics.rpc_latency_by.get(operation).observe(time.perf_counter() - started)

    async def start_workflow(self, input: tc.StartWorkflowInput) -> tc.WorkflowHandle[Any, Any]:
        operation = "signal_with_start_workflow" if input.start_signal else "start_workflow"
        return await self._timed(operation, super().start_workflow(input))

    async def signal_workflow(self, input: tc.SignalWorkflowInput) -> None:
        await self._timed("signal_workflow", super().signal_workflow(input))

    async def start_update_with_start_workflow(
        self, input: tc.StartWorkflowUpdateWithStartInput
    ) -> tc.WorkflowUpdateHandle[Any]:
        return await self._timed(
            "update_with_start_workflow", super().start_update_with_start_workflow(input)
        )

    async def start_workflow_update(
        self, input: tc.StartWorkflowUpdateInput
    ) -> tc.WorkflowUpdateHandle[Any]:
        return await self._timed("update_workflow", super().start_workflow_update(input))

    async def describe_workflow(
        self, input: tc.DescribeWorkflowInput
    ) -> tc.WorkflowExecutionDescription:
        return await self._timed("describe_workflow", super().describe_workflow(input))

    async def query_workflow(self, input: tc.QueryWorkflowInput) -> Any:
        return await self._timed("query_workflow", super().query_workflow(input))


def with_interceptors(client: tc.Client, *interceptors: tc.Interceptor) -> tc.Client:
    """The same connection and settings, with `interceptors` added to the client's own."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return tc.Client(**config)


def worker_runtime(bind_address: str | None) -> Runtime | None:
    """A Temporal runtime serving SDK metrics for Prometheus at `bind_address` (host:port);
    None (the SDK's default runtime, no metrics endpoint) when it is not set."""
    if not bind_address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))
