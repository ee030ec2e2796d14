"""Store benchmarks: writes, opening, memory and traversal, on the embedded store and Neo4j.

For each size in ``ctx.sizes`` the synthetic graph is written through ``Store.apply`` in
its batches, then a full downstream traversal (every data-flow kind plus ``HAS_FIELD``)
runs from the graph's hub table and from a typical table, breadth first through the
port (one ``expand`` per level). Baselines, measured in the same run on the same data:

- embedded: ``networkx.descendants`` on the store's in-memory graph;
- Neo4j: one raw Cypher variable-length query for the same set.

The embedded file is also reopened in a fresh process to time the load and to read the
resident memory of a process holding the whole graph.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path

import networkx as nx

from bench.baselines import TRAVERSED, raw_cypher, remove_store_files
from bench.common import BenchContext
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.store.base import Store
from lineagegraph.store.embedded import EmbeddedStore
from lineagegraph.store.neo4j import Neo4jStore
from lineagegraph.synthetic import SyntheticGraph

# Opens the file in a fresh process: seconds to load, and resident bytes afterwards.
OPEN_PROBE = """
import json, sys, time
import psutil
from lineagegraph.store.embedded import EmbeddedStore
started = time.perf_counter()
store = EmbeddedStore(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rss": psutil.Process().memory_info().rss,
                  "nodes": store.graph.number_of_nodes()}))
store.close()
"""


def run(ctx: BenchContext) -> None:
    """Measure both stores at every size."""
    for size in ctx.sizes:
        graph = SyntheticGraph(size)
        bench_embedded(ctx, graph, size)
        if ctx.neo4j_uri:
            bench_neo4j(ctx, graph, size, ctx.neo4j_uri)
        else:
            print("  neo4j: skipped, LINEAGEGRAPH_TEST_NEO4J_URI is not set", flush=True)


def write_all(store: Store, graph: SyntheticGraph) -> tuple[int, float]:
    """Apply the graph's changesets; items written and seconds spent inside ``apply``."""
    items = 0
    seconds = 0.0
    for cs in graph.changesets():
        started = time.perf_counter()
        store.apply(cs)
        seconds += time.perf_counter() - started
        items += len(cs.nodes) + len(cs.edges)
    return items, seconds


def port_descendants(store: Store, source: str, kinds: Collection[EdgeKind]) -> set[str]:
    """Everything downstream of ``source`` but itself: breadth first, one ``expand`` per level."""
    seen = {source}
    frontier = [source]
    while frontier:
        reached = {hop.target for hop in store.expand(frontier, Direction.DOWNSTREAM, kinds)}
        new = reached - seen
        seen |= new
        frontier = list(new)
    seen.discard(source)
    return seen


def best_of(repeats: int, fn: Callable[[], set[str]]) -> tuple[float, set[str]]:
    """The fastest of some runs, and the result of the last one."""
    times = []
    result: set[str] = set()
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def compare_traversals(
    ctx: BenchContext,
    *,
    store_name: str,
    size: int,
    starts: dict[str, str],
    port: Callable[[str], set[str]],
    raw: Callable[[str], set[str]],
    raw_name: str,
) -> None:
    """Time the port traversal against the raw one from each start; they must agree."""
    repeats = 1 if ctx.quick else 3
    for label, source in starts.items():
        port(source)  # warm caches on both sides before timing
        raw(source)
        port_seconds, through_port = best_of(repeats, lambda s=source: port(s))
        raw_seconds, direct = best_of(repeats, lambda s=source: raw(s))
        if through_port != direct:
            raise AssertionError(
                f"{store_name}: traversal from {label} reached {len(through_port)} nodes "
                f"through the port but {len(direct)} with {raw_name}"
            )
        ctx.report(
            f"downstream traversal from {label} ({len(direct):,} nodes)",
            port_seconds * 1000,
            "ms",
            baseline=raw_seconds * 1000,
            baseline_name=raw_name,
            target="<= 1.5x",
            size=size,
            store=store_name,
        )


def bench_embedded(ctx: BenchContext, graph: SyntheticGraph, size: int) -> None:
    """Write throughput, open time, memory and traversal of the file-backed embedded store."""
    path = Path(ctx.workdir) / f"embedded-{size}.db"
    remove_store_files(path)
    store = EmbeddedStore(path)
    try:
        items, seconds = write_all(store, graph)
        ctx.report(
            "write throughput (nodes+edges)",
            items / seconds,
            "items/s",
            target=">= 20,000/s",
            size=size,
            store="embedded",
        )
        nx_graph = store.graph
        compare_traversals(
            ctx,
            store_name="embedded",
            size=size,
            starts={"hub": graph.hub_id, "typical node": graph.typical_id},
            port=lambda source: port_descendants(store, source, TRAVERSED),
            raw=lambda source: set(nx.descendants(nx_graph, source)),
            raw_name="networkx.descendants",
        )
    finally:
        store.close()
    done = subprocess.run(
        [sys.executable, "-c", OPEN_PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    probe = json.loads(done.stdout)
    ctx.report(
        f"open file-backed store ({probe['nodes']:,} nodes)",
        probe["seconds"],
        "s",
        target="<= 15 s at 1M nodes",
        size=size,
        store="embedded",
    )
    ctx.report(
        "resident memory after open",
        probe["rss"] / 2**20,
        "MiB",
        target="<= 3 GiB at 1M nodes",
        size=size,
        store="embedded",
    )
    remove_store_files(path)


def bench_neo4j(ctx: BenchContext, graph: SyntheticGraph, size: int, uri: str) -> None:
    """Write throughput through the adapter and traversal through the port on Neo4j."""
    store = Neo4jStore.from_url(uri)
    try:
        with raw_cypher(store) as raw:
            store.wipe()
            items, seconds = write_all(store, graph)
            ctx.report(
                "write throughput through the adapter (nodes+edges)",
                items / seconds,
                "items/s",
                target=">= 10,000/s",
                size=size,
                store="neo4j",
            )
            compare_traversals(
                ctx,
                store_name="neo4j",
                size=size,
                starts={"hub": graph.hub_id, "typical node": graph.typical_id},
                port=lambda source: port_descendants(store, source, TRAVERSED),
                raw=raw,
                raw_name="raw Cypher",
            )
            store.wipe()
    finally:
        store.close()
