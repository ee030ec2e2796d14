"""GraphQL over HTTP: requests/s and p50/p99 latency of a typical ``lineage`` query at 32
concurrent clients, against one uvicorn worker, on the demo graph and on the synthetic graph
(``ctx.sizes``), each compared with the same traversal called in-process.

The server runs in its own process (``lineagegraph serve``, one worker, file-backed
embedded store) so it has a core to itself; the load generator is a small asyncio
HTTP/1.1 keep-alive client in this process (lighter than a general-purpose client, so
the figures measure the server). Targets (demo graph): >= 500 req/s and p99 <= 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import BenchContext
from lineagegraph import demo
from lineagegraph.api.context import make_context
from lineagegraph.api.schema import build_schema
from lineagegraph.config import Settings
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from lineagegraph.store.embedded import EmbeddedStore
from lineagegraph.synthetic import SyntheticGraph

CLIENTS = 32
DEPTH = 3
QUERY = """query($id: ID!, $depth: Int) {
  lineage(id: $id, depth: $depth, first: 100) {
    totalCount truncated
    nodes { depth direction node { id kind name } }
    edges { from to kind source current }
  }
}"""


def run(ctx: BenchContext) -> None:
    """Demo graph first (the targets are stated for it), then each synthetic size."""
    seconds = 3.0 if ctx.quick else 10.0
    demo_path = Path(ctx.workdir) / "api-demo.db"
    service = LineageService(EmbeddedStore(demo_path))
    for changeset in demo.scenario():
        service.apply(changeset)
    service.close()
    measure(ctx, demo_path, demo.STG_ORDERS.id, size=None, label="demo", seconds=seconds)
    for size in ctx.sizes:
        graph = SyntheticGraph(size)
        path = Path(ctx.workdir) / f"api-synthetic-{size}.db"
        store = EmbeddedStore(path, synchronous="NORMAL")
        for changeset in graph.changesets():
            store.apply(changeset)
        store.close()
        measure(ctx, path, graph.typical_id, size=size, label="synthetic", seconds=seconds)


def measure(
    ctx: BenchContext, path: Path, root: str, size: int | None, label: str, seconds: float
) -> None:
    """Serve the file, load it with 32 clients, and compare with in-process calls."""
    in_process = _in_process(path, root)
    port = _free_port()
    server = _start_server(path, port)
    try:
        body = json.dumps({"query": QUERY, "variables": {"id": root, "depth": DEPTH}}).encode()
        asyncio.run(_load("127.0.0.1", port, body, CLIENTS, 1.0))  # warm up
        latencies, failures, elapsed = asyncio.run(_load("127.0.0.1", port, body, CLIENTS, seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failures:
        raise RuntimeError(f"{failures} requests failed during the {label} run")
    ordered = sorted(latencies)
    p50 = _percentile(ordered, 0.50) * 1000
    p99 = _percentile(ordered, 0.99) * 1000
    demo_targets = label == "demo"
    ctx.report(
        f"lineage over HTTP, {CLIENTS} clients ({label})",
        len(latencies) / elapsed,
        "req/s",
        target=">= 500 req/s" if demo_targets else None,
        size=size,
        store="embedded",
    )
    ctx.report(
        f"lineage over HTTP p50 ({label})",
        p50,
        "ms",
        baseline=in_process["service"] * 1000,
        baseline_name="in-process service.lineage p50",
        size=size,
        store="embedded",
    )
    ctx.report(
        f"lineage over HTTP p99 ({label})",
        p99,
        "ms",
        baseline=in_process["service"] * 1000,
        baseline_name="in-process service.lineage p50",
        target="<= 50 ms" if demo_targets else None,
        size=size,
        store="embedded",
    )
    ctx.report(
        f"lineage via schema.execute in-process p50 ({label})",
        in_process["graphql"] * 1000,
        "ms",
        baseline=in_process["service"] * 1000,
        baseline_name="in-process service.lineage p50",
        size=size,
        store="embedded",
    )


def _in_process(path: Path, root: str) -> dict[str, float]:
    """p50 seconds of the traversal alone and of the whole GraphQL execution, in-process."""
    service = LineageService(open_store(f"sqlite:///{path}"))
    settings = Settings()
    schema = build_schema(settings)
    try:
        service_p50 = _time_p50(lambda: service.lineage(root, depth=DEPTH, first=100), 200)

        async def execute_many(count: int) -> list[float]:
            samples = []
            for _ in range(count):
                context = make_context(service, settings)
                started = time.perf_counter()
                result = await schema.execute(
                    QUERY, variable_values={"id": root, "depth": DEPTH}, context_value=context
                )
                samples.append(time.perf_counter() - started)
                if result.errors:
                    raise RuntimeError(str(result.errors))
            return samples

        asyncio.run(execute_many(20))
        graphql_p50 = statistics.median(asyncio.run(execute_many(200)))
    finally:
        service.close()
    return {"service": service_p50, "graphql": graphql_p50}


def _time_p50(fn: Callable[[], Any], count: int) -> float:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEGRAPH_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from lineagegraph.cli.main import main; main()",
            "serve",
            "--store",
            f"sqlite:///{path}",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not become ready")


async def _load(
    host: str, port: int, body: bytes, clients: int, seconds: float
) -> tuple[list[float], int, float]:
    """``clients`` keep-alive connections posting ``body`` until ``seconds`` have passed."""
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    failures = 0
    started = time.perf_counter()
    stop_at = started + seconds

    async def client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                payload = await reader.readexactly(length)
                latencies.append(time.perf_counter() - sent)
                if not status.startswith(b"HTTP/1.1 200") or b'"errors"' in payload:
                    failures += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, failures, time.perf_counter() - started
