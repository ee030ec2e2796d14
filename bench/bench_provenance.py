"""Provenance and root cause as a feature job's history grows, on both stores.

A feature computed from a table by a job that runs over and over, and a model version
trained on it: the provenance of the model version names the run of the feature's job
that completed last before the training read the feature (a run that started long
before others may end after them all, so no run can be passed over unread by its start
alone). The store picks that run (``Store.last_completed_runs``).

For a job with :data:`SMALL` runs and one with :data:`LARGE` (500 with ``--quick``),
each in a fresh store: the median of :data:`REPEATS` provenance queries and of as many
root-cause queries (the model version against the one trained before it), after one
untimed query. Target: no slowdown as the history grows (about 1x against the same with
:data:`SMALL` runs, measured in the same run).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import BenchContext
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest import mutations as mx
from lineagegraph.model import ChangeFold, ChangeSet, Origin, RunState
from lineagegraph.service import LineageService
from lineagegraph.store import open_store

SMALL = 50
LARGE = 5000
REPEATS = 10
FS, PG, REGISTRY = "feast://features", "postgres://warehouse", "mlflow://registry"
FEATURE = make_id(Kind.FEATURE, FS, "customer:total_spend")
START = datetime(2026, 1, 1, tzinfo=UTC)


def run(ctx: BenchContext) -> None:
    """Both history sizes on the embedded store and (when there is one) Neo4j."""
    large = 500 if ctx.quick else LARGE
    stores = [("embedded", f"sqlite:///{ctx.workdir / 'provenance-{runs}.db'}")]
    if ctx.neo4j_uri:
        stores.append(("neo4j", ctx.neo4j_uri))
    else:
        print("  neo4j: skipped, LINEAGEGRAPH_TEST_NEO4J_URI is not set", flush=True)
    for label, url in stores:
        small_times = _measure(url.format(runs=SMALL), SMALL)
        large_times = _measure(url.format(runs=large), large)
        for name, index in (("provenance of a model version", 0), ("root cause", 1)):
            ctx.report(
                f"{name}, feature job with {large:,} runs",
                large_times[index] * 1000,
                "ms",
                baseline=small_times[index] * 1000,
                baseline_name=f"the same with {SMALL} runs",
                target="no slowdown as history grows (about 1x)",
                size=large,
                store=label,
            )


def history(runs: int) -> ChangeSet:
    """The table, the feature, ``runs`` hourly runs of its job (each 50 minutes long, the
    first of them 3 hours long), and two training runs after them, as one changeset."""
    amount = make_id(Kind.FIELD, PG, "public.orders", "amount")
    fold = ChangeFold(Origin.API)
    fold.add(
        mx.upsert_dataset(
            mx.DatasetSpec(PG, "public.orders", fields=[mx.FieldSpec("amount", "numeric")]), START
        )
    )
    fold.add(
        mx.upsert_feature(mx.FeatureSpec(FS, "customer:total_spend", computed_from=[amount]), START)
    )
    for n in range(runs):
        begin = START + timedelta(hours=n)
        end = begin + (timedelta(hours=3) if n == 0 else timedelta(minutes=50))
        fold.add(_run("build_features", f"build-{n}", begin, end, [], [FEATURE]))
    trained = START + timedelta(hours=runs + 2)
    for version in ("1", "2"):
        model_version = make_id(Kind.MODEL_VERSION, REGISTRY, "churn", version)
        fold.add(
            _run("train_churn", f"train-{version}", trained, trained, [FEATURE], [model_version])
        )
        trained += timedelta(minutes=30)
    return fold.result()


def _run(
    job: str, run_id: str, begin: datetime, end: datetime, inputs: list[str], outputs: list[str]
) -> ChangeSet:
    spec = mx.RunSpec(
        "airflow://ml",
        job,
        run_id,
        RunState.COMPLETE,
        started_at=begin,
        ended_at=end,
        inputs=[mx.RunIO(i) for i in inputs],
        outputs=[mx.RunIO(o) for o in outputs],
    )
    return mx.record_run(spec, end, None, {o for o in outputs if o.startswith("model_version|")})


def _measure(url: str, runs: int) -> tuple[float, float]:
    """Median seconds of a provenance and of a root-cause query, over a fresh store."""
    store = open_store(url)
    wipe = getattr(store, "wipe", None)
    if callable(wipe):
        wipe()
    service = LineageService(store)
    try:
        service.apply(history(runs))
        latest = make_id(Kind.MODEL_VERSION, REGISTRY, "churn", "2")
        computing = make_id(Kind.RUN, "airflow://ml", "build_features", f"build-{runs - 1}")
        found = {r.id for r in service.provenance(latest).runs}
        assert computing in found, sorted(found)  # the run that completed last
        return (
            _median(lambda: service.provenance(latest)),
            _median(lambda: service.root_cause(latest)),
        )
    finally:
        service.close()


def _median(query: Callable[[], Any]) -> float:
    query()  # untimed: caches warm, as on a server that has answered before
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        query()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
