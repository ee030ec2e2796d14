"""Health benchmark: the incremental update after one quality result, on both stores.

For each size in ``ctx.sizes`` the synthetic graph is written to a fresh store,
with a check on every 50th table carrying three results; the latest fails on
every 20th of those checks, so health holds other failures elsewhere and a full
recomputation has real work to do. Next to it sits a pipeline with recorded
runs: a checked source table feeds a tree of jobs (six outputs per table) whose
runs read the latest version of their input and write a version of their
output, and the last tables train model versions that deployments serve — so a
failure on the source taints about 10,000 entities (tables, their versions and
columns, jobs, model versions, deployments). Then, through
``LineageService.apply`` (data write plus the incremental health hook), in
:data:`ROUNDS` rounds (one with ``--quick``) of:

- **one passing result** of the source's check re-run on the same version (a
  false alarm), which clears them all;
- **one failing result** on the source's check, which puts them at risk again —
  target <= 1 s; the number of health records it put at risk is reported with it.

Each is reported as the median of the rounds and the slowest round, with the CPU
time of this process (the rest is waiting for the store, or for a busy machine)
and the number of store calls it made (each one a round trip on Neo4j).

The baseline, measured in the same run on the same data, handles the same
result by a full recomputation instead: the result is written without the hook,
then ``LineageService.recompute_health`` recomputes all health from scratch and
stores the difference. After each incremental update a full recomputation must
find nothing to change, which checks that the update was right.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from bench.common import BenchContext
from lineagegraph.algorithms.cascade import HealthRepair
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    Deployment,
    EdgeKind,
    Field,
    Job,
    Model,
    ModelVersion,
    Result,
    Run,
    RunState,
)
from lineagegraph.service import LineageService
from lineagegraph.store.base import Store
from lineagegraph.store.embedded import EmbeddedStore
from lineagegraph.store.neo4j import Neo4jStore
from lineagegraph.synthetic import NAMESPACE, SyntheticGraph, dataset_id

PIPELINE = "bench://pipeline"
BRANCHING = 6  # tables each pipeline table feeds
TABLES = 1_950  # pipeline tables: with versions, columns and jobs, about 10,000 entities
MODELS = 20  # model versions trained on the last tables, each served by a deployment
SOURCE = make_id(Kind.DATASET, PIPELINE, "source")
SOURCE_VERSION = make_id(Kind.DATASET_VERSION, PIPELINE, "source", "v1")
CHECK = "not_null(id)"

CHECK_EVERY = 50  # tables with a background check
FAIL_EVERY = 20  # background checks whose latest result fails
ROUNDS = 3  # passing and failing results timed, one after the other
T0 = datetime(2026, 2, 1, tzinfo=UTC)


def run(ctx: BenchContext) -> None:
    """Measure both stores at every size."""
    for size in ctx.sizes:
        graph = SyntheticGraph(size)
        store: Store = EmbeddedStore(None)
        try:
            bench_store(ctx, store, "embedded", graph, size)
        finally:
            store.close()
        if ctx.neo4j_uri:
            neo = Neo4jStore.from_url(ctx.neo4j_uri)
            try:
                neo.wipe()
                bench_store(ctx, neo, "neo4j", graph, size)
                neo.wipe()
            finally:
                neo.close()
        else:
            print("  neo4j: skipped, LINEAGEGRAPH_TEST_NEO4J_URI is not set", flush=True)


def background_checks(graph: SyntheticGraph) -> ChangeSet:
    """A table-level check with three results on every 50th table (some failing now)."""
    cs = ChangeSet()
    for number, index in enumerate(range(0, graph.datasets, CHECK_EVERY)):
        name = f"table_{index:07d}"
        check = Check(namespace=NAMESPACE, name=name, check="row_count", severity="ERROR")
        cs.add(check)
        cs.link(dataset_id(index), EdgeKind.HAS_CHECK, check.id, T0)
        for day in range(3):
            when = T0 + timedelta(days=day)
            result = Result(
                namespace=NAMESPACE,
                name=name,
                check="row_count",
                result=f"day{day}",
                passed=day < 2 or number % FAIL_EVERY != 0,
                observed_at=when,
            )
            cs.add(result)
            cs.link(check.id, EdgeKind.HAS_RESULT, result.id, when)
    return cs


def pipeline() -> ChangeSet:
    """The checked source, a tree of jobs with recorded runs, models and deployments."""
    cs = ChangeSet()

    def table(name: str, version_at: datetime, run: str | None) -> str:
        dataset = Dataset(namespace=PIPELINE, name=name)
        version = DatasetVersion(namespace=PIPELINE, name=name, version="v1", created_at=version_at)
        cs.add(dataset, version)
        cs.link(dataset.id, EdgeKind.HAS_VERSION, version.id, version_at)
        for column in ("id", "value"):
            field = Field(namespace=PIPELINE, name=name, path=column, type="bigint")
            cs.add(field)
            cs.link(dataset.id, EdgeKind.HAS_FIELD, field.id, T0)
        if run is not None:
            cs.link(run, EdgeKind.WROTE, version.id, version_at)
        return version.id

    def job(name: str, reads: str, read_version: str, at: datetime) -> str:
        job_node = Job(namespace=PIPELINE, name=name)
        run = Run(
            namespace=PIPELINE, name=name, run_id="r1", started_at=at, state=RunState.COMPLETE
        )
        cs.add(job_node, run)
        cs.link(job_node.id, EdgeKind.HAS_RUN, run.id, at)
        cs.link(reads, EdgeKind.READS, job_node.id, at)
        cs.link(read_version, EdgeKind.READ_BY, run.id, at)
        return run.id

    table("source", T0, None)
    check = Check(namespace=PIPELINE, name="source", check=CHECK, severity="ERROR")
    cs.add(check)
    cs.link(SOURCE, EdgeKind.HAS_CHECK, check.id, T0)
    queue = ["source"]
    made: list[str] = []
    while len(made) < TABLES:
        parent = queue.pop(0)
        parent_id = make_id(Kind.DATASET, PIPELINE, parent)
        parent_version = make_id(Kind.DATASET_VERSION, PIPELINE, parent, "v1")
        for _ in range(BRANCHING):
            if len(made) >= TABLES:
                break
            name = f"table_{len(made):05d}"
            at = T0 + timedelta(minutes=len(made) + 1)
            run = job(f"build_{name}", parent_id, parent_version, at)
            cs.link(
                make_id(Kind.JOB, PIPELINE, f"build_{name}"),
                EdgeKind.WRITES,
                make_id(Kind.DATASET, PIPELINE, name),
                at,
            )
            table(name, at, run)
            made.append(name)
            queue.append(name)
    later = T0 + timedelta(days=1)
    for index, leaf in enumerate(made[-MODELS:]):
        model = f"model_{index:02d}"
        run = job(
            f"train_{model}",
            make_id(Kind.DATASET, PIPELINE, leaf),
            make_id(Kind.DATASET_VERSION, PIPELINE, leaf, "v1"),
            later,
        )
        version = ModelVersion(namespace=PIPELINE, name=model, version="1", created_at=later)
        deployment = Deployment(namespace=PIPELINE, name=f"serve_{model}")
        cs.add(Model(namespace=PIPELINE, name=model), version, deployment)
        cs.link(make_id(Kind.MODEL, PIPELINE, model), EdgeKind.HAS_VERSION, version.id, later)
        cs.link(run, EdgeKind.WROTE, version.id, later)
        cs.link(version.id, EdgeKind.SERVES, deployment.id, later)
    return cs


def result_for(key: str, passed: bool, when: datetime) -> ChangeSet:
    """One result of the source's check, on its only version."""
    result = Result(
        namespace=PIPELINE,
        name="source",
        check=CHECK,
        result=key,
        passed=passed,
        observed_at=when,
        observed="0 nulls" if passed else "1,204 nulls",
        dataset_version=SOURCE_VERSION,
    )
    cs = ChangeSet().add(result)
    cs.link(result.check_id, EdgeKind.HAS_RESULT, result.id, when)
    cs.link(result.id, EdgeKind.EVALUATED, SOURCE_VERSION, when)
    return cs


def before_label(store: Store) -> str:
    """How many entities are not OK, for the log."""
    return f"{sum(store.stats().health_by_status.values()):,}"


class CountingStore:
    """A store that counts the calls made through it (each one a round trip on Neo4j)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


@dataclass
class Samples:
    """Wall-clock and CPU seconds and store calls of the updates of one kind."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)


def timed_apply(
    service: LineageService, counter: CountingStore, changeset: ChangeSet, samples: Samples
) -> None:
    """Time one ``apply`` (CPU time shows load on shared machines) and count its store calls."""
    gc.collect()
    counter.calls = 0
    started, cpu = time.perf_counter(), time.process_time()
    service.apply(changeset)
    samples.wall.append(time.perf_counter() - started)
    samples.cpu.append(time.process_time() - cpu)
    samples.calls.append(counter.calls)


def timed_recompute(service: LineageService) -> tuple[float, HealthRepair]:
    """Seconds of one full recomputation, and what it changed."""
    gc.collect()
    started = time.perf_counter()
    repair = service.recompute_health()
    return time.perf_counter() - started, repair


def bench_store(
    ctx: BenchContext, store: Store, name: str, graph: SyntheticGraph, size: int
) -> None:
    """Load, then time passing and failing results against a full recomputation."""
    for cs in graph.changesets():
        store.apply(cs)
    store.apply(background_checks(graph))
    store.apply(pipeline())
    counter = CountingStore(store)
    service = LineageService(cast(Store, counter))  # reconciles health once at start
    print(f"  [{name}] {before_label(store)} entities not OK before the failure", flush=True)
    before = sum(store.stats().health_by_status.values())
    check = service.recompute_health()
    if check.written or check.removed:
        raise AssertionError(f"{name}: health was not consistent after loading")

    # Baseline: the same failure handled by a full recomputation (written without the
    # hook, then recomputed from scratch and the difference stored).
    when = T0 + timedelta(days=5)
    store.apply(result_for("bad-1", False, when))
    full_fail, repair = timed_recompute(service)
    flagged = len(repair.written)
    # Incremental: the false alarm clears, then the check fails again, round after round.
    clears, fails = Samples(), Samples()
    for round_ in range(1, (1 if ctx.quick else ROUNDS) + 1):
        when += timedelta(days=1)
        timed_apply(service, counter, result_for(f"good-{round_}", True, when), clears)
        consistent(service, name, "clearing")
        when += timedelta(days=1)
        timed_apply(service, counter, result_for(f"bad-{round_ + 1}", False, when), fails)
        consistent(service, name, "failure")
    # Baseline for clearing: the passing re-run handled by a full recomputation.
    store.apply(result_for("good-last", True, when + timedelta(days=1)))
    full_clear, repair = timed_recompute(service)
    if sum(store.stats().health_by_status.values()) != before:
        raise AssertionError(f"{name}: health did not clear after the passing result")
    report(
        ctx,
        f"health update, one failing result ({flagged:,} at risk)",
        fails,
        full_fail,
        size,
        name,
    )
    report(ctx, f"health update, passing re-run clears {flagged:,}", clears, full_clear, size, name)


def report(
    ctx: BenchContext, title: str, samples: Samples, full: float, size: int, store: str
) -> None:
    """The median update against the full recomputation, the slowest, CPU and store calls."""
    ctx.report(
        title,
        statistics.median(samples.wall) * 1000,
        "ms",
        baseline=full * 1000,
        baseline_name="full recomputation",
        target="<= 1000 ms",
        size=size,
        store=store,
    )
    rounds = len(samples.wall)
    ctx.report(
        f"  slowest of {rounds} rounds", max(samples.wall) * 1000, "ms", size=size, store=store
    )
    ctx.report(
        "  of which CPU time in this process",
        statistics.median(samples.cpu) * 1000,
        "ms",
        size=size,
        store=store,
    )
    ctx.report("  store calls", statistics.median(samples.calls), "calls", size=size, store=store)


def consistent(service: LineageService, name: str, step: str) -> None:
    """Raise unless a full recomputation finds nothing to change after an update."""
    repair = service.recompute_health()
    if repair.written or repair.removed:
        raise AssertionError(
            f"{name}: after the {step}, incremental health differed from a full recomputation "
            f"({len(repair.written)} written, {len(repair.removed)} removed)"
        )
