"""Engine benchmarks: lineage and schema-change impact on the synthetic graph, both stores.

For each size in ``ctx.sizes`` the synthetic graph is written to a fresh store, then:

- **lineage from typical nodes** — the default query (downstream, dataset level, first
  page of 100) from up to 20 ordinary tables whose lineage has at most 1,000 nodes,
  several times each: p50 and p95 (target p50 <= 10 ms on the embedded store);
- **lineage from the hub** — column-level lineage from the most connected table, which
  walks the same edges as the baselines (data flow plus containment), against the
  same set computed raw in the same run: ``networkx.descendants`` on the embedded
  store's graph, one variable-length Cypher query on Neo4j (target <= 1.5x). The
  lineage answer does more than the baselines — depths, partial datasets, cycles,
  ordering, the first page with its edges — and the traversal alone is reported too
  (reachability on the embedded store, whose cycle index gives the cycles; a
  breadth-first search with its hops on Neo4j, which keeps no index). How long the
  embedded store takes to build that index, on the first lineage after a load, is
  reported apart;
- **impact of dropping one hub column**: p50 and p95, with the number of affected
  entities.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from bench.baselines import TRAVERSED, raw_cypher, remove_store_files
from bench.common import BenchContext, percentiles
from lineagegraph.algorithms.impact import FieldChange, SchemaChange, impact
from lineagegraph.algorithms.lineage import lineage
from lineagegraph.algorithms.traversal import bfs, reach
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.store.base import Store
from lineagegraph.store.embedded import EmbeddedStore
from lineagegraph.store.neo4j import Neo4jStore
from lineagegraph.synthetic import LAYERS, SyntheticGraph, dataset_id

CONTAINMENT = frozenset({EdgeKind.HAS_FIELD})
TYPICAL_LIMIT = 1000
TYPICAL_COUNT = 20


def run(ctx: BenchContext) -> None:
    """Measure lineage and impact on both stores at every size."""
    for size in ctx.sizes:
        graph = SyntheticGraph(size)
        bench_embedded(ctx, graph, size)
        if ctx.neo4j_uri:
            bench_neo4j(ctx, graph, size, ctx.neo4j_uri)
        else:
            print("  neo4j: skipped, LINEAGEGRAPH_TEST_NEO4J_URI is not set", flush=True)


def load(store: Store, graph: SyntheticGraph) -> None:
    """Write the synthetic graph through the port."""
    for cs in graph.changesets():
        store.apply(cs)


def samples(repeats: int, fn: Callable[[], Any]) -> list[float]:
    """Seconds of each of ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def typical_tables(store: Store, graph: SyntheticGraph) -> list[str]:
    """Up to 20 tables from the middle and upper layers with at most 1,000 lineage nodes."""
    rng = random.Random(7)
    low = graph.datasets * 3 // LAYERS
    candidates = [graph.typical_id] + [
        dataset_id(rng.randrange(low, graph.datasets)) for _ in range(TYPICAL_COUNT * 3)
    ]
    chosen: list[str] = []
    for table in dict.fromkeys(candidates):
        total = lineage(store, table, first=0).page_info.total
        if 0 < total <= TYPICAL_LIMIT:
            chosen.append(table)
        if len(chosen) == TYPICAL_COUNT:
            break
    return chosen


def bench_lineage_and_impact(
    ctx: BenchContext,
    store: Store,
    store_name: str,
    graph: SyntheticGraph,
    size: int,
    raw: Callable[[str], set[str]],
    raw_name: str,
) -> None:
    """The figures of the module docstring for one store."""
    repeats = 3 if ctx.quick else 9
    started = time.perf_counter()
    indexed = store.on_cycles((), TRAVERSED) is not None  # the first question builds it
    if indexed:
        ctx.report(
            "cycle index, built on first use",
            (time.perf_counter() - started) * 1000,
            "ms",
            size=size,
            store=store_name,
        )
    tables = typical_tables(store, graph)
    typical: list[float] = []
    for table in tables:
        typical.extend(samples(max(2, repeats // 2), lambda t=table: lineage(store, t)))
    if typical:
        p50, p95 = percentiles(typical)
        name = f"lineage from typical tables ({len(tables)} tables, <= {TYPICAL_LIMIT:,} nodes)"
        target = "p50 <= 10 ms" if store_name == "embedded" else None
        ctx.report(f"{name} p50", p50 * 1000, "ms", target=target, size=size, store=store_name)
        ctx.report(f"{name} p95", p95 * 1000, "ms", size=size, store=store_name)

    hub = graph.hub_id
    reached = raw(hub)
    answer = lineage(store, hub, column_level=True, first=100)
    label = f"lineage from the hub ({answer.page_info.total:,} nodes; raw {len(reached):,})"
    baseline = samples(repeats, lambda: raw(hub))
    full = samples(repeats, lambda: lineage(store, hub, column_level=True, first=100))
    # The traversal lineage runs: reachability where the store keeps a cycle index,
    # breadth-first search with its hops (to find cycles from) where it does not.
    traverse = reach if indexed else bfs
    walk = samples(
        repeats,
        lambda: traverse(store, [hub], Direction.DOWNSTREAM, TRAVERSED, same_level=CONTAINMENT),
    )
    base50, base95 = percentiles(baseline)
    for title, times in (("", full), (", traversal only", walk)):
        p50, p95 = percentiles(times)
        ctx.report(
            f"{label}{title} p50",
            p50 * 1000,
            "ms",
            baseline=base50 * 1000,
            baseline_name=raw_name,
            target="<= 1.5x",
            size=size,
            store=store_name,
        )
        ctx.report(
            f"{label}{title} p95",
            p95 * 1000,
            "ms",
            baseline=base95 * 1000,
            baseline_name=raw_name,
            size=size,
            store=store_name,
        )

    change = SchemaChange(dataset_id=hub, changes=[FieldChange.drop_field("col_0")])
    report = impact(store, change)
    times = samples(max(2, repeats // 3), lambda: impact(store, change))
    p50, p95 = percentiles(times)
    name = f"impact of dropping a hub column ({len(report.affected):,} affected)"
    ctx.report(f"{name} p50", p50 * 1000, "ms", size=size, store=store_name)
    ctx.report(f"{name} p95", p95 * 1000, "ms", size=size, store=store_name)


def bench_embedded(ctx: BenchContext, graph: SyntheticGraph, size: int) -> None:
    """The embedded store on a file, against networkx.descendants on its own graph."""
    path = Path(ctx.workdir) / f"engine-{size}.db"
    remove_store_files(path)
    store = EmbeddedStore(path, synchronous="NORMAL")
    try:
        load(store, graph)
        nx_graph = store.graph
        bench_lineage_and_impact(
            ctx,
            store,
            "embedded",
            graph,
            size,
            lambda source: set(nx.descendants(nx_graph, source)),
            "networkx.descendants",
        )
    finally:
        store.close()
        remove_store_files(path)


def bench_neo4j(ctx: BenchContext, graph: SyntheticGraph, size: int, uri: str) -> None:
    """Neo4j through the adapter, against one raw Cypher query for the same set."""
    store = Neo4jStore.from_url(uri)
    try:
        with raw_cypher(store) as raw:
            store.wipe()
            load(store, graph)
            bench_lineage_and_impact(ctx, store, "neo4j", graph, size, raw, "raw Cypher")
            store.wipe()
    finally:
        store.close()
