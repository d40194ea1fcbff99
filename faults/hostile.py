"""The hostile-input campaign: thousands of forged, malformed, oversized and slow requests
against a real gateway process, each with the answer it must get.

    .venv/bin/python -m faults.hostile [--requests 10000]

Checks: no 5xx at all; every answer is the expected precise status with a problem+json body;
no workflow started by a rejected request; slow bodies cut off with 408; the gateway's
memory flat across the campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client

from faults.stack import LOOPBACK, Stack
from webhook_gateway.contracts.signing import decode_secret, sign

SECRET = "whsec_aG9zdGlsZS1pbnB1dC1jYW1wYWlnbi1zZWNyZXQ="  # noqa: S105 (test-only)
LIMIT = 4096
BODY_TIMEOUT = 1.0
PATH = "/webhooks/orders"
#: Kinds that reach Temporal: for them, 503 + Retry-After is a legitimate answer under load.
ACCEPTABLE_503 = frozenset({"valid"})


@dataclass(frozen=True)
class Case:
    kind: str
    expect: int
    method: str = "POST"
    path: str = PATH
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    chunked: bool = False


@dataclass
class CampaignResult:
    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    not_problem_json: int = 0
    server_errors: int = 0
    busy_503: int = 0
    accepted: int = 0
    workflows_started: int = -1
    slow_bodies: int = 0
    slow_408: int = 0
    rss_start_kib: int = 0
    rss_end_kib: int = 0
    schemathesis_requests: int = 0
    schemathesis_exit: int | None = None


def _order(n: int) -> bytes:
    order = {
        "id": f"H-{n}",
        "customer": {"id": "c", "email": "a@b.co"},
        "lines": [{"sku": "S", "quantity": 1, "unit_price": "1"}],
    }
    return json.dumps(order).encode()


def _signed(
    key: bytes, body: bytes, *, msg_id: str | None = None, stamp: int | None = None
) -> dict[str, bytes]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "content-type": b"application/json",
        "webhook-id": msg_id.encode(),
        "webhook-timestamp": str(stamp).encode(),
        "webhook-signature": sign(key, msg_id, stamp, body).encode(),
    }


def _raw(headers: dict[str, bytes]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.encode(), value) for name, value in headers.items())


def make_case(rng: random.Random, key: bytes, n: int) -> Case:
    body = _order(n)
    h = _signed(key, body)
    kind = rng.choice(KINDS)
    now = int(time.time())
    if kind == "valid":
        return Case(kind, 202, headers=_raw(h), body=body)
    if kind == "forged":
        h["webhook-signature"] = b"v1," + base64.b64encode(rng.randbytes(32))
    elif kind == "expired":
        msg = h["webhook-id"].decode()
        h = _signed(key, body, msg_id=msg, stamp=now - rng.randint(301, 10**7))
    elif kind == "future":
        msg = h["webhook-id"].decode()
        h = _signed(key, body, msg_id=msg, stamp=now + rng.randint(301, 10**7))
    elif kind == "replayed-other-body":
        body = _order(n + 1)
    elif kind == "missing-header":
        del h[rng.choice(["webhook-id", "webhook-timestamp", "webhook-signature"])]
    elif kind == "garbage-header":
        name = rng.choice(["webhook-id", "webhook-timestamp", "webhook-signature"])
        h[name] = rng.choice(
            [
                b"",
                bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 40))),
                b"x" * rng.randint(4000, 7000),
                b"v1," + b"%" * 30,
                b"v1,",
                b" ".join([b"v1,AAAA"] * rng.randint(2, 300)),
                b"-1",
                b"1e9",
                b"99999999999999999999",
            ]
        )
    elif kind == "repeated-header":
        forged = b"v1," + base64.b64encode(rng.randbytes(32))
        headers = (*_raw(h), (b"webhook-signature", forged))
        return Case(kind, 401, headers=headers, body=body)  # sent twice: malformed
    elif kind == "oversize":
        body = b'{"pad": "' + b"x" * rng.randint(LIMIT, 4 * LIMIT) + b'"}'
        return Case(kind, 413, headers=_raw(_signed(key, body)), body=body)
    elif kind == "oversize-chunked":
        body = b'{"pad": "' + b"x" * rng.randint(LIMIT, 4 * LIMIT) + b'"}'
        headers = _raw(_signed(key, body))
        return Case(kind, 413, headers=headers, body=body, chunked=True)
    elif kind == "wrong-content-type":
        h["content-type"] = rng.choice([b"text/plain", b"multipart/form-data", b"application/xml"])
        return Case(kind, 415, headers=_raw(h), body=body)
    elif kind == "no-content-type":
        del h["content-type"]
        return Case(kind, 415, headers=_raw(h), body=body)
    elif kind in ("invalid-utf8", "deep-json", "nan-json", "truncated-json"):
        body = {
            "invalid-utf8": b'{"id": "\xff\xfe\xfa"}',
            "deep-json": b"[" * 2000 + b"]" * 2000,
            "nan-json": b'{"id": NaN}',
            "truncated-json": body[: rng.randint(1, len(body) - 1)],
        }[kind]
        return Case(kind, 400, headers=_raw(_signed(key, body)), body=body)
    elif kind == "unknown-route":
        return Case(kind, 404, path=f"/webhooks/{uuid.uuid4().hex}", headers=_raw(h))
    elif kind == "wrong-method":
        return Case(kind, 405, method=rng.choice(["GET", "PUT", "DELETE", "PATCH"]))
    return Case(kind, 401, headers=_raw(h), body=body)


KINDS = [
    "valid", "forged", "expired", "future", "replayed-other-body", "missing-header",
    "garbage-header", "garbage-header", "repeated-header", "oversize", "oversize-chunked",
    "wrong-content-type", "no-content-type", "invalid-utf8", "deep-json", "nan-json",
    "truncated-json", "unknown-route", "wrong-method",
]  # fmt: skip


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1024):
        yield body[start : start + 1024]


async def _send(http: httpx.AsyncClient, case: Case, result: CampaignResult) -> None:
    content: bytes | AsyncIterator[bytes] = _chunks(case.body) if case.chunked else case.body
    response = await http.request(
        case.method, case.path, headers=list(case.headers), content=content
    )
    result.requests += 1
    result.by_kind[case.kind] += 1
    result.statuses[response.status_code] += 1
    if response.status_code == 503 and case.kind in ACCEPTABLE_503:
        # Temporal too slow to commit in time (a loaded machine): the documented answer.
        result.busy_503 += 1
    elif response.status_code >= 500:
        result.server_errors += 1
    if response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        result.not_problem_json += 1
    busy = response.status_code == 503 and case.kind in ACCEPTABLE_503
    if response.status_code != case.expect and not busy and len(result.mismatches) < 20:
        result.mismatches.append(f"{case.kind}: expected {case.expect}, got {response.status_code}")
    if response.status_code == 202 and not response.json()["duplicate"]:
        result.accepted += 1


async def slow_body(port: int, *, declared: int = 200, sent: int = 20) -> int:
    """Send headers and a little of the body, then stall; return the status the gateway sent."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    head = (
        f"POST {PATH} HTTP/1.1\r\nhost: {LOOPBACK}\r\ncontent-type: application/json\r\n"
        f"content-length: {declared}\r\n\r\n"
    ).encode()
    writer.write(head + b"{" * sent)
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=BODY_TIMEOUT + 5)
    finally:
        writer.close()
    parts = status_line.split()
    return int(parts[1]) if len(parts) >= 2 else 0


def run_schemathesis(url: str, workdir: Path, max_examples: int) -> tuple[int, int]:
    har = workdir / "schemathesis.har"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
            "--checks", "not_a_server_error", "--max-examples", str(max_examples),
            "--seed", "1", "--workers", "2", "--report", "har", "--report-har-path", str(har),
            "--suppress-health-check", "all", "--warnings", "off",
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"] if har.exists() else []
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode, len(entries)


async def campaign(
    requests: int, *, concurrency: int = 16, slow: int = 20, schemathesis_examples: int = 100
) -> CampaignResult:
    rng = random.Random(20261127)  # noqa: S311 (reproducible corpus, not crypto)
    key = decode_secret(SECRET, route="hostile")
    result = CampaignResult()
    with tempfile.TemporaryDirectory(prefix="hooktide-hostile-") as tmp:
        queue = f"hostile-{uuid.uuid4().hex[:6]}"
        stack = Stack(
            Path(tmp), secret=SECRET, task_queue=queue,
            route={"max_body_bytes": LIMIT},
            env={"HOOKTIDE_BODY_TIMEOUT": str(BODY_TIMEOUT)},
        )  # fmt: skip
        await stack.start()
        try:
            # Idle connections expire before uvicorn's 5 s keep-alive closes them under us.
            limits = httpx.Limits(max_connections=concurrency, keepalive_expiry=2.0)
            async with httpx.AsyncClient(base_url=stack.url, timeout=30, limits=limits) as http:
                cases = [make_case(rng, key, n) for n in range(requests)]
                warm = min(1000, requests // 5)
                await _run(http, cases[:warm], result, concurrency)
                result.rss_start_kib = stack.rss_kib()
                slow_tasks = [asyncio.create_task(slow_body(stack.port)) for _ in range(slow)]
                await _run(http, cases[warm:], result, concurrency)
                for status in await asyncio.gather(*slow_tasks):
                    result.slow_bodies += 1
                    result.slow_408 += status == 408
                result.rss_end_kib = stack.rss_kib()
            if schemathesis_examples:
                code, count = await asyncio.to_thread(
                    run_schemathesis, stack.url, Path(tmp), schemathesis_examples
                )
                result.schemathesis_exit, result.schemathesis_requests = code, count
            client = await Client.connect(stack.temporal.address)
            counted = await client.count_workflows(f"TaskQueue = '{queue}'")
            result.workflows_started = counted.count
        finally:
            stack.stop()
    return result


async def _run(
    http: httpx.AsyncClient, cases: list[Case], result: CampaignResult, concurrency: int
) -> None:
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in cases:
        queue.put_nowait(case)

    async def lane() -> None:
        while not queue.empty():
            await _send(http, queue.get_nowait(), result)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def report(result: CampaignResult) -> str:
    growth = (result.rss_end_kib - result.rss_start_kib) / 1024
    return "\n".join(
        [
            f"hand-made corpus requests: {result.requests} ({len(result.by_kind)} kinds)",
            f"schemathesis requests:     {result.schemathesis_requests} "
            f"(exit {result.schemathesis_exit})",
            f"statuses:                  {dict(sorted(result.statuses.items()))}",
            f"5xx:                       {result.server_errors} "
            f"(plus {result.busy_503} 503 + Retry-After for valid events under load)",
            f"wrong status:              {len(result.mismatches)} {result.mismatches[:5]}",
            f"errors not problem+json:   {result.not_problem_json}",
            f"accepted / workflows:      {result.accepted} / {result.workflows_started}",
            f"slow bodies cut with 408:  {result.slow_408} of {result.slow_bodies}",
            f"gateway RSS:               {result.rss_start_kib / 1024:.1f} MiB -> "
            f"{result.rss_end_kib / 1024:.1f} MiB ({growth:+.1f} MiB)",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Hostile-input campaign against the gateway.")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--schemathesis-examples", type=int, default=100)
    args = parser.parse_args()
    outcome = asyncio.run(campaign(args.requests, schemathesis_examples=args.schemathesis_examples))
    print(report(outcome))
    bad = outcome.server_errors or outcome.mismatches or outcome.schemathesis_exit
    raise SystemExit(1 if bad else 0)
