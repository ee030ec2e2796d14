"""Breadth-first traversal and lineage on generated graphs, checked against plain Python.

The expected answers here are computed independently of the store and of
:mod:`lineagegraph.algorithms` — a breadth-first search over the generated edge
list, and networkx for strongly connected components — on both stores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineagegraph.algorithms.lineage import lineage
from lineagegraph.algorithms.traversal import bfs, reach, strongly_connected
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import (
    FLOW_KINDS,
    ChangeSet,
    Dataset,
    Direction,
    EdgeKind,
    Field,
    Job,
    Origin,
)
from lineagegraph.store import Store
from lineagegraph.store.base import Hop
from tests.conftest import STORE_KINDS, make_store

NS = "mem://gen"
T0 = datetime(2026, 5, 1, tzinfo=UTC)
EXAMPLES = {"embedded": 60, "neo4j": 15}


def ds(i: int) -> str:
    return make_id(Kind.DATASET, NS, f"d{i}")


def jb(i: int) -> str:
    return make_id(Kind.JOB, NS, f"j{i}")


def fd(i: int, c: int) -> str:
    return make_id(Kind.FIELD, NS, f"d{i}", f"c{c}")


@dataclass(frozen=True)
class Graph:
    """A generated lineage graph: datasets with fields, jobs, and their edges."""

    datasets: int
    jobs: int
    fields: tuple[int, ...]  # fields per dataset
    reads: frozenset[tuple[int, int]]  # (dataset, job)
    writes: frozenset[tuple[int, int]]  # (job, dataset)
    derives: frozenset[tuple[tuple[int, int], tuple[int, int]]]  # ((d, c), (d, c))
    root: int

    def changeset(self) -> ChangeSet:
        cs = ChangeSet(origin=Origin.INFERRED)
        for d in range(self.datasets):
            cs.add(Dataset(namespace=NS, name=f"d{d}"))
            for c in range(self.fields[d]):
                cs.add(Field(namespace=NS, name=f"d{d}", path=f"c{c}"))
                cs.link(ds(d), EdgeKind.HAS_FIELD, fd(d, c), T0)
        for j in range(self.jobs):
            cs.add(Job(namespace=NS, name=f"j{j}"))
        for d, j in sorted(self.reads):
            cs.link(ds(d), EdgeKind.READS, jb(j), T0)
        for j, d in sorted(self.writes):
            cs.link(jb(j), EdgeKind.WRITES, ds(d), T0)
        for (d1, c1), (d2, c2) in sorted(self.derives):
            cs.link(fd(d1, c1), EdgeKind.DERIVES, fd(d2, c2), T0)
        return cs

    def flow(self, column: bool) -> dict[str, list[str]]:
        """Successors along data flow, as plain adjacency lists."""
        out: dict[str, list[str]] = {}
        for d, j in self.reads:
            out.setdefault(ds(d), []).append(jb(j))
        for j, d in self.writes:
            out.setdefault(jb(j), []).append(ds(d))
        if column:
            for (d1, c1), (d2, c2) in self.derives:
                out.setdefault(fd(d1, c1), []).append(fd(d2, c2))
        return out

    def fields_of(self, dataset: str) -> list[str]:
        index = int(dataset.rsplit("|", 1)[1][1:])
        return [fd(index, c) for c in range(self.fields[index])]


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    datasets = draw(st.integers(1, 9))
    jobs = draw(st.integers(0, 7))
    fields = tuple(draw(st.lists(st.integers(1, 3), min_size=datasets, max_size=datasets)))
    d = st.integers(0, datasets - 1)
    reads: frozenset[tuple[int, int]] = frozenset()
    writes: frozenset[tuple[int, int]] = frozenset()
    if jobs:
        j = st.integers(0, jobs - 1)
        reads = frozenset(draw(st.sets(st.tuples(d, j), max_size=20)))
        writes = frozenset(draw(st.sets(st.tuples(j, d), max_size=20)))
    column = d.flatmap(lambda i: st.tuples(st.just(i), st.integers(0, fields[i] - 1)))
    derives = frozenset(draw(st.sets(st.tuples(column, column), max_size=20)))
    return Graph(datasets, jobs, fields, reads, writes, derives, draw(d))


def distances(adjacency: dict[str, list[str]], root: str) -> dict[str, int]:
    """Plain breadth-first search: hop distance of everything reachable from root."""
    seen = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for nxt in adjacency.get(node, []):
            if nxt not in seen:
                seen[nxt] = seen[node] + 1
                queue.append(nxt)
    return seen


def reverse(adjacency: dict[str, list[str]]) -> dict[str, list[str]]:
    back: dict[str, list[str]] = {}
    for source, targets in adjacency.items():
        for target in targets:
            back.setdefault(target, []).append(source)
    return back


def everything(
    store: Store,
    root: str,
    direction: Direction = Direction.DOWNSTREAM,
    column_level: bool = False,
) -> list[tuple[str, int, bool]]:
    """Every node of a lineage, walking all pages: (id, depth, partial)."""
    found: list[tuple[str, int, bool]] = []
    after = None
    while True:
        page = lineage(store, root, direction, column_level=column_level, first=7, after=after)
        found.extend((n.id, n.depth, n.partial) for n in page.nodes)
        if not page.page_info.has_next_page:
            return found
        after = page.page_info.end_cursor


def run_examples(kind: str, test: Callable[[Graph], None]) -> None:
    """Run a hypothesis test body with a fresh store per example."""
    wrapped = settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )(given(graph=graphs())(test))
    wrapped()


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_dataset_level_lineage_equals_breadth_first_reachability(kind: str) -> None:
    def check(graph: Graph) -> None:
        store = make_store(kind)
        try:
            store.apply(graph.changeset())
            adjacency = graph.flow(column=False)
            root = ds(graph.root)
            for direction, links in (
                (Direction.DOWNSTREAM, adjacency),
                (Direction.UPSTREAM, reverse(adjacency)),
            ):
                expected = distances(links, root)
                expected.pop(root)
                got = everything(store, root, direction=direction)
                assert {i: d for i, d, _ in got} == expected
                assert len(got) == len(expected)  # each node exactly once across pages
        finally:
            store.close()

    run_examples(kind, check)


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_column_level_lineage_equals_reachability_with_containment(kind: str) -> None:
    def check(graph: Graph) -> None:
        store = make_store(kind)
        try:
            store.apply(graph.changeset())
            adjacency = graph.flow(column=True)
            root = ds(graph.root)
            # A whole dataset brings all its fields; a field reached alone makes its
            # dataset partial.
            whole = {root}
            reached = {root, *graph.fields_of(root)}
            queue = deque(sorted(reached))
            while queue:
                node = queue.popleft()
                for nxt in adjacency.get(node, []):
                    if nxt not in reached:
                        reached.add(nxt)
                        queue.append(nxt)
                    if nxt.startswith("dataset|") and nxt not in whole:
                        whole.add(nxt)
                        for member in graph.fields_of(nxt):
                            if member not in reached:
                                reached.add(member)
                                queue.append(member)
            partial = {
                "dataset|" + "|".join(f.split("|")[1:3]) for f in reached if f.startswith("field|")
            } - whole
            expected = {i: False for i in reached - {root}} | {i: True for i in partial}
            got = everything(store, root, column_level=True)
            assert {i: p for i, _, p in got} == expected
            assert len(got) == len(expected)
        finally:
            store.close()

    run_examples(kind, check)


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_lineage_reports_the_cycles_and_edges_of_the_reached_subgraph(kind: str) -> None:
    def check(graph: Graph) -> None:
        store = make_store(kind)
        try:
            store.apply(graph.changeset())
            adjacency = graph.flow(column=False)
            root = ds(graph.root)
            reached = set(distances(adjacency, root))
            sub = nx.DiGraph()
            sub.add_nodes_from(reached)
            sub.add_edges_from(
                (s, t) for s, ts in adjacency.items() if s in reached for t in ts if t in reached
            )
            expected_cycles = sorted(
                sorted(c) for c in nx.strongly_connected_components(sub) if len(c) > 1
            )
            result = lineage(store, root, first=1000)
            assert result.cycles == expected_cycles
            assert {(e.source_id, e.target_id) for e in result.edges} == set(sub.edges)
            assert all(len(e.edges) == 1 and e.via == () for e in result.edges)
        finally:
            store.close()

    run_examples(kind, check)


def test_bfs_terminates_on_a_dense_cyclic_graph(store: Store) -> None:
    size = 12
    cs = ChangeSet()
    for i in range(size):
        cs.add(Dataset(namespace=NS, name=f"d{i}"), Job(namespace=NS, name=f"j{i}"))
    for i in range(size):
        for k in range(size):
            cs.link(ds(i), EdgeKind.READS, jb(k), T0).link(jb(k), EdgeKind.WRITES, ds(i), T0)
    store.apply(cs)
    traversal = bfs(store, [ds(0)], Direction.DOWNSTREAM, [EdgeKind.READS, EdgeKind.WRITES])
    assert len(traversal.reached) == 2 * size
    assert max(r.depth for r in traversal.reached.values()) == 2
    assert len(traversal.hops) == 2 * size * size
    result = lineage(store, ds(0), first=1000)
    assert result.cycles == [sorted([*(ds(i) for i in range(size)), *(jb(i) for i in range(size))])]


def test_bfs_start_depths_let_sources_enter_late(store: Store) -> None:
    # d0 -> j0 -> d1 -> j1 -> d2; j1 enters at depth 1 and d2 is then 2 hops in.
    cs = ChangeSet()
    for i in range(3):
        cs.add(Dataset(namespace=NS, name=f"d{i}"))
    for i in range(2):
        cs.add(Job(namespace=NS, name=f"j{i}"))
        cs.link(ds(i), EdgeKind.READS, jb(i), T0).link(jb(i), EdgeKind.WRITES, ds(i + 1), T0)
    store.apply(cs)
    kinds = [EdgeKind.READS, EdgeKind.WRITES]
    late = bfs(store, [ds(0), jb(1)], Direction.DOWNSTREAM, kinds, start_depths={jb(1): 1})
    assert {r.id: r.depth for r in late.reached.values()} == {
        ds(0): 0,
        jb(1): 1,
        jb(0): 1,
        ds(1): 2,
        ds(2): 2,
    }
    assert late.path_to(ds(2)) == [jb(1), ds(2)]
    # A source already reached sooner keeps its earlier depth and path.
    sooner = bfs(store, [ds(0), ds(1)], Direction.DOWNSTREAM, kinds, start_depths={ds(1): 5})
    assert sooner.reached[ds(1)].depth == 2
    assert sooner.path_to(ds(2)) == [ds(0), jb(0), ds(1), jb(1), ds(2)]


def test_bfs_expand_hook_replaces_the_store_hops(store: Store) -> None:
    cs = ChangeSet()
    cs.add(Dataset(namespace=NS, name="d0"), Job(namespace=NS, name="j0"))
    cs.link(ds(0), EdgeKind.READS, jb(0), T0)
    store.apply(cs)
    calls: list[list[str]] = []

    def nothing(frontier: Sequence[str]) -> list[Hop]:
        calls.append(list(frontier))
        return []

    traversal = bfs(store, [ds(0)], Direction.DOWNSTREAM, [EdgeKind.READS], expand=nothing)
    assert list(traversal.reached) == [ds(0)]
    assert calls == [[ds(0)]]


@settings(max_examples=200, deadline=None)
@given(
    edges=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 15)), max_size=60),
    downstream=st.booleans(),
)
def test_strongly_connected_equals_networkx(edges: list[tuple[int, int]], downstream: bool) -> None:
    hops = [Hop(f"n{a:02d}", EdgeKind.DERIVES, f"n{b:02d}") for a, b in edges]
    direction = Direction.DOWNSTREAM if downstream else Direction.UPSTREAM
    graph = nx.DiGraph()
    graph.add_edges_from((h.source, h.target) if downstream else (h.target, h.source) for h in hops)
    expected = sorted(
        sorted(group)
        for group in nx.strongly_connected_components(graph)
        if len(group) > 1 or graph.has_edge(next(iter(group)), next(iter(group)))
    )
    assert strongly_connected(hops, direction) == expected


def test_bfs_same_level_kinds_add_no_depth(store: Store) -> None:
    # d0 holds c0, which derives d1.c0; d0 is read by j0, which writes d1.
    cs = ChangeSet()
    for d in range(2):
        cs.add(Dataset(namespace=NS, name=f"d{d}"), Field(namespace=NS, name=f"d{d}", path="c0"))
        cs.link(ds(d), EdgeKind.HAS_FIELD, fd(d, 0), T0)
    cs.add(Job(namespace=NS, name="j0"))
    cs.link(ds(0), EdgeKind.READS, jb(0), T0).link(jb(0), EdgeKind.WRITES, ds(1), T0)
    cs.link(fd(0, 0), EdgeKind.DERIVES, fd(1, 0), T0)
    store.apply(cs)
    kinds = [EdgeKind.READS, EdgeKind.WRITES, EdgeKind.DERIVES, EdgeKind.HAS_FIELD]
    traversal = bfs(store, [ds(0)], Direction.DOWNSTREAM, kinds, same_level={EdgeKind.HAS_FIELD})
    assert {r.id: r.depth for r in traversal.reached.values()} == {
        ds(0): 0,
        fd(0, 0): 0,
        jb(0): 1,
        fd(1, 0): 1,
        ds(1): 2,
    }
    assert traversal.path_to(fd(1, 0)) == [ds(0), fd(0, 0), fd(1, 0)]
    capped = bfs(
        store, [ds(0)], Direction.DOWNSTREAM, kinds, same_level={EdgeKind.HAS_FIELD}, max_depth=0
    )
    assert sorted(capped.reached) == [ds(0), fd(0, 0)]
    assert capped.truncation == "depth"


BOUNDS = st.tuples(st.none() | st.integers(0, 3), st.none() | st.integers(0, 12))


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_reach_finds_what_bfs_finds_at_the_same_depths_within_the_same_bounds(kind: str) -> None:
    traversed = [EdgeKind.READS, EdgeKind.WRITES, EdgeKind.DERIVES, EdgeKind.HAS_FIELD]
    inside = {EdgeKind.HAS_FIELD}

    @settings(max_examples=EXAMPLES[kind], deadline=None)
    @given(graph=graphs(), bounds=BOUNDS, downstream=st.booleans(), containment=st.booleans())
    def check(
        graph: Graph,
        bounds: tuple[int | None, int | None],
        downstream: bool,
        containment: bool,
    ) -> None:
        store = make_store(kind)
        try:
            store.apply(graph.changeset())
            direction = Direction.DOWNSTREAM if downstream else Direction.UPSTREAM
            same = inside if containment else set()
            max_depth, max_nodes = bounds
            sources = [ds(graph.root), *graph.fields_of(ds(graph.root))[:1]]
            walked = bfs(
                store,
                sources,
                direction,
                traversed,
                max_depth=max_depth,
                max_nodes=max_nodes,
                same_level=same,
            )
            reached = reach(
                store,
                sources,
                direction,
                traversed,
                max_depth=max_depth,
                max_nodes=max_nodes,
                same_level=same,
            )
            assert reached.depths == {r.id: r.depth for r in walked.reached.values()}
            assert (reached.truncated, reached.truncation) == (walked.truncated, walked.truncation)
            assert [n for level in reached.levels for n in level] == list(reached.depths)
            # a node's data-flow hops were followed exactly when bfs crossed them
            followed = {n for level in reached.levels[: reached.followed] for n in level}
            flow_sources = {h.source for h in walked.hops if h.kind not in same}
            assert flow_sources <= followed
        finally:
            store.close()

    check()


class WithoutCycleIndex:
    """A store that keeps no cycle index, so lineage finds cycles from the hops it crosses."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def on_cycles(self, ids: object, edge_kinds: object) -> None:
        return None


def whole_lineage(store: Store, root: str, **options: object) -> list[object]:
    """Every page of a lineage, as plain data."""
    pages: list[object] = []
    after = None
    while True:
        page = lineage(store, root, first=5, after=after, **options)  # type: ignore[arg-type]
        pages.append(page.model_dump())
        if not page.page_info.has_next_page:
            return pages
        after = page.page_info.end_cursor


@settings(max_examples=80, deadline=None)
@given(
    graph=graphs(),
    bounds=BOUNDS,
    direction=st.sampled_from(Direction),
    column_level=st.booleans(),
)
def test_lineage_over_the_cycle_index_equals_lineage_from_the_hops(
    graph: Graph,
    bounds: tuple[int | None, int | None],
    direction: Direction,
    column_level: bool,
) -> None:
    store = make_store("embedded")
    try:
        store.apply(graph.changeset())
        # derived fields feed their datasets' jobs: cycles through columns and tables
        loop = ChangeSet(origin=Origin.INFERRED)
        for (d1, _), (d2, _) in sorted(graph.derives)[:3]:
            if graph.jobs:
                loop.link(ds(d2), EdgeKind.READS, jb(d1 % graph.jobs), T0)
                loop.link(jb(d1 % graph.jobs), EdgeKind.WRITES, ds(d1), T0)
        store.apply(loop)
        depth, max_nodes = bounds
        options = {
            "direction": direction,
            "column_level": column_level,
            "depth": depth,
            "max_nodes": max_nodes,
        }
        assert store.on_cycles((), FLOW_KINDS | {EdgeKind.HAS_FIELD}) is not None
        plain = WithoutCycleIndex(store)
        for root in (ds(graph.root), fd(graph.root, 0)):
            indexed = whole_lineage(store, root, **options)
            assert indexed == whole_lineage(plain, root, **options)  # type: ignore[arg-type]
    finally:
        store.close()


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_lineage_steps_reach_what_its_expanders_reach_both_ways_at_both_levels(kind: str) -> None:
    from lineagegraph.algorithms.lineage import _Walk

    @settings(max_examples=EXAMPLES[kind], deadline=None)
    @given(graph=graphs(), column=st.booleans(), downstream=st.booleans())
    def check(graph: Graph, column: bool, downstream: bool) -> None:
        store = make_store(kind)
        try:
            store.apply(graph.changeset())
            walk = _Walk(store, column, None)
            side = Direction.DOWNSTREAM if downstream else Direction.UPSTREAM
            sources = [ds(graph.root)]
            options = {"same_level": walk.same_level}
            walked = bfs(
                store, sources, side, walk.traversed, expand=walk.expander(side), **options
            )
            reached = reach(
                store, sources, side, walk.traversed, step=walk.stepper(side), **options
            )
            assert reached.depths == {r.id: r.depth for r in walked.reached.values()}
        finally:
            store.close()

    check()
