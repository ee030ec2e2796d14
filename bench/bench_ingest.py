"""OpenLineage ingestion throughput: from files and over HTTP, into the embedded store and Neo4j.

Events are of realistic size: a COMPLETE RunEvent with 2 inputs and 1 output, each
with a 10-field ``schema`` facet and a ``dataSource`` facet, column lineage for every
output field from both inputs, and the ``sql`` and ``nominalTime`` facets (about
6 KB of JSON). 200 jobs run over and over, as a scheduler would run them.

- **files**: the events written as JSON lines, then ``lineagegraph ingest
  openlineage`` reads, validates, translates and applies them in batches (target
  >= 2,000 events/s into the embedded store). Baseline: reading, validating and
  translating alone, without a store.
- **history**: the same events from 10 jobs that run over and over, each reading the
  output of the job before it (no version facets, so the service infers which version
  each run read) and a raw table, with a failing check on job 0's raw table: one apply
  per event, early (about 50 runs per job) against late (1,000 runs per job; 200 with
  ``--quick``), into the embedded store. Target: no slowdown as history grows.
- **growth**: events from 50 jobs whose every run writes a table of its own, so the
  graph grows by a dataset, its fields and a version per event: one apply per event,
  the first 500 against the last 500 of 10,000 (2,000 with ``--quick``). Target: no
  slowdown as the graph grows.
- **hub**: 200 jobs that each read a shared raw table and a table of their own, with
  a failing check on the shared table, so each event lands inside the failing result's
  reach (about 2,400 entities at risk): one apply per event into the embedded store,
  against the same events with the check passing. No target: it shows what keeping
  health up to date costs while a widely read table fails.
- **HTTP**: a ``lineagegraph serve`` process over a store file (every acknowledged
  event committed with ``synchronous=FULL``) receives each event as its own ``POST
  /api/v1/lineage`` from 8 concurrent producer processes (target >= 500 events/s); the
  batch endpoint is measured too. Baseline: the same events applied one by one in
  process, without HTTP.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import BenchContext
from lineagegraph.ingest.batching import Document, ingest_documents, read_path
from lineagegraph.ingest.openlineage import EventTranslator, translate_event
from lineagegraph.service import LineageService
from lineagegraph.store import open_store

JOBS = 200
FIELDS = [f"col_{k}" for k in range(10)]
NAMESPACE = "postgres://warehouse:5432"
PRODUCERS = 8
BATCH = 100


def _dataset(name: str, inputs: list[str] | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "schema": {
            "_producer": "https://example.com/bench",
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
            "fields": [{"name": f, "type": "VARCHAR", "description": f"the {f}"} for f in FIELDS],
        },
        "dataSource": {"name": "warehouse", "uri": "postgres://warehouse:5432/shop"},
    }
    if inputs:
        facets["columnLineage"] = {
            "fields": {
                f: {
                    "inputFields": [
                        {
                            "namespace": NAMESPACE,
                            "name": source,
                            "field": f,
                            "transformations": [
                                {"type": "DIRECT", "subtype": "IDENTITY"}
                                if i == 0
                                else {"type": "INDIRECT", "subtype": "JOIN"}
                            ],
                        }
                        for i, source in enumerate(inputs)
                    ]
                }
                for f in FIELDS
            }
        }
    return {"namespace": NAMESPACE, "name": name, "facets": facets}


def make_events(
    count: int, offset: int = 0, jobs: int = JOBS, chained: bool = False
) -> list[dict[str, Any]]:
    """``count`` realistic COMPLETE events, runs numbered from ``offset``.

    ``chained``: each job reads the output of the job before it and one raw table.
    """
    events = []
    for n in range(offset, offset + count):
        job = n % jobs
        inputs = [f"raw.table_{(2 * job) % 300}", f"raw.table_{(2 * job + 1) % 300}"]
        if chained:
            inputs[1] = f"mart.table_{(job - 1) % jobs}"
        seconds = 60 * n
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": f"2024-{1 + seconds // 2_419_200 % 12:02d}-"
                f"{1 + seconds // 86_400 % 28:02d}T{seconds // 3600 % 24:02d}:"
                f"{seconds // 60 % 60:02d}:00Z",
                "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.20.0/integration/airflow",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {
                    "runId": str(uuid.UUID(int=n + 1, version=4)),
                    "facets": {"nominalTime": {"nominalStartTime": "2024-01-01T00:00:00Z"}},
                },
                "job": {
                    "namespace": "airflow",
                    "name": f"shop.task_{job}",
                    "facets": {"sql": {"query": f"insert into mart.table_{job} select ..."}},
                },
                "inputs": [_dataset(name) for name in inputs],
                "outputs": [_dataset(f"mart.table_{job}", inputs)],
            }
        )
    return events


def run(ctx: BenchContext) -> None:
    """Files and HTTP, on the embedded store and (when there is one) Neo4j."""
    count = 500 if ctx.quick else 5000
    events = make_events(count)
    path = ctx.workdir / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events))
    print(f"  {count} events, {path.stat().st_size / count / 1024:.1f} KB each", flush=True)
    translate_rate = _translate_only(path, count)
    stores: list[tuple[str, str]] = [("embedded", f"sqlite:///{ctx.workdir / 'files.db'}")]
    if ctx.neo4j_uri:
        stores.append(("neo4j", ctx.neo4j_uri))
    else:
        print("  neo4j: skipped, LINEAGEGRAPH_TEST_NEO4J_URI is not set", flush=True)
    for label, url in stores:
        _files(ctx, label, url, path, count, translate_rate)
    _history(ctx)
    _growth(ctx)
    _hub(ctx)
    http_stores: list[tuple[str, str]] = [("embedded", f"sqlite:///{ctx.workdir / 'http.db'}")]
    if ctx.neo4j_uri:
        http_stores.append(("neo4j", ctx.neo4j_uri))
    for label, url in http_stores:
        _http(ctx, label, url, min(count, 2000))


def _translate_only(path: Path, count: int) -> float:
    translate = EventTranslator().grouped  # as the CLI translates
    started = time.perf_counter()
    for document in read_path(path):
        translate(document.value)
    return count / (time.perf_counter() - started)


def _fresh(url: str) -> LineageService:
    store = open_store(url)
    wipe = getattr(store, "wipe", None)
    if callable(wipe):
        wipe()
    return LineageService(store)


def _files(
    ctx: BenchContext, label: str, url: str, path: Path, count: int, baseline: float
) -> None:
    service = _fresh(url)
    try:
        wipe = getattr(service.store, "wipe", None)
        if callable(wipe):
            # Untimed, on a store that can be emptied again (Neo4j): a first ingest of
            # the same shape, so the server has planned and compiled the write statements
            # before timing, as a server that has ingested before has.
            warm_up = [Document("warm-up", e) for e in make_events(200, offset=10**6)]
            ingest_documents(warm_up, EventTranslator().grouped, service.apply)
            wipe()
        started = time.perf_counter()
        report = ingest_documents(
            read_path(path),
            EventTranslator().grouped,
            service.apply,
            max_events=service.store.batch_events,  # what the CLI uses
        )
        seconds = time.perf_counter() - started
    finally:
        service.close()
    assert report.ok == count, report.failed[:3]
    ctx.report(
        "files -> store",
        count / seconds,
        "events/s",
        baseline=baseline,
        baseline_name="read+translate only",
        target=">= 2,000 events/s (embedded)" if label == "embedded" else None,
        size=count,
        store=label,
    )


HISTORY_JOBS = 10
HISTORY_WINDOW = 500


def _history(ctx: BenchContext) -> None:
    """One apply per event as the jobs' histories grow (see the module docstring)."""
    runs = 200 if ctx.quick else 1000
    total = HISTORY_JOBS * runs
    service = _fresh(f"sqlite:///{ctx.workdir / 'history.db'}")
    translate = EventTranslator()
    try:
        failing = make_events(1, jobs=HISTORY_JOBS, chained=True)[0]
        failing["inputs"][0]["inputFacets"] = {
            "dataQualityAssertions": {
                "assertions": [{"assertion": "not_null", "column": "col_0", "success": False}]
            }
        }
        service.apply(translate(failing))
        early_start = HISTORY_JOBS * 50
        rates: list[float] = []
        done = 1
        for start in (early_start, total - HISTORY_WINDOW):
            if start > done:  # the events in between, untimed
                for event in make_events(start - done, done, HISTORY_JOBS, chained=True):
                    service.apply(translate(event))
            window = make_events(HISTORY_WINDOW, start, HISTORY_JOBS, chained=True)
            started = time.perf_counter()
            for event in window:
                service.apply(translate(event))
            rates.append(HISTORY_WINDOW / (time.perf_counter() - started))
            done = start + HISTORY_WINDOW
    finally:
        service.close()
    ctx.report(
        f"one apply per event at {runs:,} runs per job (chained jobs, a failing check)",
        rates[1],
        "events/s",
        baseline=rates[0],
        baseline_name="the same at 50 runs per job",
        target="no slowdown as history grows (about 1x)",
        size=total,
        store="embedded",
    )


GROWTH_JOBS = 50
GROWTH_WINDOW = 500


def _growth(ctx: BenchContext) -> None:
    """One apply per event as the graph grows: each run writes a table of its own (a
    partition, a snapshot), so every event adds a dataset, its fields and a version."""
    total = 2000 if ctx.quick else 10_000
    service = _fresh(f"sqlite:///{ctx.workdir / 'growth.db'}")
    translate = EventTranslator()

    def events(start: int, count: int) -> list[dict[str, Any]]:
        batch = make_events(count, start, GROWTH_JOBS)
        for offset, event in enumerate(batch):
            event["outputs"][0]["name"] = f"mart.snapshot_{start + offset}"
        return batch

    try:
        rates: list[float] = []
        done = 0
        for start in (0, total - GROWTH_WINDOW):
            if start > done:  # the events in between, untimed
                for event in events(done, start - done):
                    service.apply(translate(event))
            window = events(start, GROWTH_WINDOW)
            started = time.perf_counter()
            for event in window:
                service.apply(translate(event))
            rates.append(GROWTH_WINDOW / (time.perf_counter() - started))
            done = start + GROWTH_WINDOW
        nodes = service.stats().nodes
    finally:
        service.close()
    ctx.report(
        f"one apply per event at {nodes:,} nodes (a new table per run)",
        rates[1],
        "events/s",
        baseline=rates[0],
        baseline_name=f"the same in the first {GROWTH_WINDOW} events",
        target="no slowdown as the graph grows (about 1x)",
        size=total,
        store="embedded",
    )


HUB_JOBS = 200
HUB_WINDOW = 100


def _hub(ctx: BenchContext) -> None:
    """One apply per event inside the reach of a failing check on a widely read table."""
    window = 40 if ctx.quick else HUB_WINDOW

    def events(start: int, count: int) -> list[dict[str, Any]]:
        batch = make_events(count, start, HUB_JOBS)
        for event in batch:
            event["inputs"][0]["name"] = "raw.shared"
            for lineage in event["outputs"][0]["facets"]["columnLineage"]["fields"].values():
                lineage["inputFields"][0]["name"] = "raw.shared"
        return batch

    rates: dict[bool, float] = {}
    for passed in (True, False):
        service = _fresh(f"sqlite:///{ctx.workdir / f'hub-{passed}.db'}")
        translate = EventTranslator()
        try:
            for event in events(0, HUB_JOBS):  # every job once, untimed
                service.apply(translate(event))
            check = events(10**6, 1)[0]
            check["inputs"][0]["inputFacets"] = {
                "dataQualityAssertions": {
                    "assertions": [{"assertion": "not_null", "column": "col_0", "success": passed}]
                }
            }
            service.apply(translate(check))
            window_events = [translate(e) for e in events(HUB_JOBS, window)]
            started = time.perf_counter()
            for changeset in window_events:
                service.apply(changeset)
            rates[passed] = window / (time.perf_counter() - started)
        finally:
            service.close()
    ctx.report(
        f"one apply per event under a failing check read by {HUB_JOBS} jobs",
        rates[False],
        "events/s",
        baseline=rates[True],
        baseline_name="the same with the check passing",
        size=window,
        store="embedded",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(url: str) -> Iterator[str]:
    """A ``lineagegraph serve`` process over a store URL; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "LINEAGEGRAPH_TOKENS": "", "LINEAGEGRAPH_STORE": url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lineagegraph.cli.main",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("lineagegraph serve did not become ready")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _produce(base: str, bodies: list[bytes], ready: Any, done: Any) -> None:
    """One producer process: connects, waits for the start, posts its events one by one."""
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/readyz")  # the connection is open before the clock starts
            ready.wait()
            for body in bodies:
                response = client.post(
                    "/api/v1/lineage", content=body, headers={"Content-Type": "application/json"}
                )
                if response.status_code != 201:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    except Exception as error:
        ready.abort()  # a producer that never got to the start stops the others too
        done.put(f"{type(error).__name__}: {error}")
    else:
        done.put("")


def _post_all(base: str, events: list[dict[str, Any]]) -> float:
    """Post every event on its own from ``PRODUCERS`` processes; seconds taken.

    Producers are processes, as the Airflow workers and Spark drivers that send
    OpenLineage events are: threads of one interpreter would take turns at its lock.
    """
    bodies = [json.dumps(e).encode() for e in events]
    context = multiprocessing.get_context("spawn")
    ready, done = context.Barrier(PRODUCERS + 1), context.Queue()
    producers = [
        context.Process(target=_produce, args=(base, bodies[i::PRODUCERS], ready, done))
        for i in range(PRODUCERS)
    ]
    for producer in producers:
        producer.start()
    try:
        try:
            ready.wait(timeout=120)
        except threading.BrokenBarrierError:
            raise RuntimeError(f"a producer failed: {done.get(timeout=10)}") from None
        started = time.perf_counter()
        errors = [error for error in (done.get(timeout=600) for _ in producers) if error]
        elapsed = time.perf_counter() - started
    finally:
        for producer in producers:
            producer.join(timeout=60)
            if producer.is_alive():
                producer.kill()
    if errors:
        raise RuntimeError(f"a producer failed: {errors[0]}")
    return elapsed


def _post_batches(base: str, events: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=120) as client:
        for start in range(0, len(events), BATCH):
            response = client.post("/api/v1/lineage/batch", json=events[start : start + BATCH])
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return time.perf_counter() - started


def _http(ctx: BenchContext, label: str, url: str, count: int) -> None:
    events = make_events(count)
    baseline_service = _fresh(url if label == "neo4j" else f"{url}.baseline")
    try:
        started = time.perf_counter()
        for event in events:
            baseline_service.apply(translate_event(event))
        in_process = count / (time.perf_counter() - started)
    finally:
        baseline_service.close()
    _fresh(url).close()
    with _server(url) as base:
        single = count / _post_all(base, events)
        batched = count / _post_batches(base, make_events(count, offset=count))
    ctx.report(
        "HTTP POST /api/v1/lineage, 8 producers",
        single,
        "events/s",
        baseline=in_process,
        baseline_name="in-process, one apply per event",
        target=">= 500 events/s",
        size=count,
        store=label,
    )
    ctx.report(
        f"HTTP POST /api/v1/lineage/batch ({BATCH} per request)",
        batched,
        "events/s",
        baseline=in_process,
        baseline_name="in-process, one apply per event",
        size=count,
        store=label,
    )
