"""The embedded store's cycle index, checked against networkx on the current edges.

The index answers :meth:`Store.on_cycles` with a superset of the nodes on a cycle of
current data-flow and containment edges; built from the whole graph it is exact. Writes
keep it up to date: a new edge adds the cycles it closes, and an edge that ends or a
node that goes leaves it a superset.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineagegraph.model import (
    FLOW_KINDS,
    ChangeSet,
    Dataset,
    EdgeEnding,
    EdgeKind,
    Field,
    Job,
    format_time,
)
from lineagegraph.store import embedded, open_store
from lineagegraph.store.embedded import EmbeddedStore
from tests.test_traversal import NS, T0, ds, fd, jb

KINDS = FLOW_KINDS | {EdgeKind.HAS_FIELD}
SIZE = 6
# (dataset, job) reads and (job, dataset) writes, by number
LINKS = st.lists(
    st.tuples(st.booleans(), st.integers(0, SIZE - 1), st.integers(0, SIZE - 1)),
    max_size=16,
)


def link(cs: ChangeSet, reads: bool, d: int, j: int) -> tuple[str, EdgeKind, str]:
    key = (ds(d), EdgeKind.READS, jb(j)) if reads else (jb(j), EdgeKind.WRITES, ds(d))
    cs.link(*key, T0)
    return key


def on_cycles_now(store: EmbeddedStore) -> set[str]:
    """Every node on a cycle of the store's current edges, by networkx."""
    graph = nx.DiGraph()
    for source, targets in store.graph.adjacency():
        for target, data in targets.items():
            if any(kind in KINDS and ended is None for kind, (_, ended) in data.items()):
                graph.add_edge(source, target)
    return {
        node
        for group in nx.strongly_connected_components(graph)
        for node in group
        if len(group) > 1 or graph.has_edge(node, node)
    }


def fresh_answer(store: EmbeddedStore, ids: list[str]) -> set[str] | None:
    store._cyclic = None  # what an index built now from the whole graph says
    return store.on_cycles(ids, KINDS)


@settings(max_examples=150, deadline=None)
@given(first=LINKS, later=st.lists(LINKS, max_size=4), endings=st.lists(st.integers(0, 40)))
def test_the_index_stays_a_superset_through_writes_and_is_exact_when_built(
    first: list[tuple[bool, int, int]],
    later: list[list[tuple[bool, int, int]]],
    endings: list[int],
) -> None:
    store = open_store("memory://")
    assert isinstance(store, EmbeddedStore)
    try:
        cs = ChangeSet()
        for i in range(SIZE):
            cs.add(Dataset(namespace=NS, name=f"d{i}"), Job(namespace=NS, name=f"j{i}"))
        keys = [link(cs, *spec) for spec in first]
        store.apply(cs)
        ids = sorted(store.graph)
        assert store.on_cycles(ids, KINDS) == on_cycles_now(store)
        for batch in later:
            cs = ChangeSet()
            keys.extend(link(cs, *spec) for spec in batch)
            for index in endings[: len(batch)]:
                if keys:
                    source, kind, target = keys[index % len(keys)]
                    cs.endings.append(
                        EdgeEnding(
                            source_id=source, kind=kind, target_id=target, at=format_time(T0)
                        )
                    )
            store.apply(cs)
            kept = store.on_cycles(ids, KINDS)
            assert kept is not None and kept >= on_cycles_now(store)
        assert fresh_answer(store, ids) == on_cycles_now(store)
    finally:
        store.close()


def test_a_new_edge_that_closes_a_long_loop_is_found_or_the_index_rebuilt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_store("memory://")
    assert isinstance(store, EmbeddedStore)
    size = 30
    chain = ChangeSet()
    for i in range(size):
        chain.add(Dataset(namespace=NS, name=f"d{i}"), Job(namespace=NS, name=f"j{i}"))
        chain.link(ds(i), EdgeKind.READS, jb(i), T0)
        if i + 1 < size:
            chain.link(jb(i), EdgeKind.WRITES, ds(i + 1), T0)
    store.apply(chain)
    ids = sorted(store.graph)
    assert store.on_cycles(ids, KINDS) == set()
    # j29 writes d0: the whole chain is one loop, 29 hops from d0 back to d0
    store.apply(ChangeSet().link(jb(size - 1), EdgeKind.WRITES, ds(0), T0))
    assert store._cyclic == set(ids)
    assert store.on_cycles([ds(3), jb(7)], KINDS) == {ds(3), jb(7)}
    # with a search too small to close it, the index is dropped and rebuilt when asked
    monkeypatch.setattr(embedded, "_CYCLE_SEARCH_LIMIT", 4)
    store.apply(ChangeSet().link(jb(size - 1), EdgeKind.WRITES, ds(1), T0))
    assert store._cyclic is None
    assert store.on_cycles(ids, KINDS) == set(ids)
    # a self-loop is a cycle of one
    store.apply(
        ChangeSet().add(
            Dataset(namespace=NS, name="d99"), Field(namespace=NS, name="d99", path="c0")
        )
    )
    store.apply(ChangeSet().link(fd(99, 0), EdgeKind.DERIVES, fd(99, 0), T0))
    assert store.on_cycles([ds(99), fd(99, 0)], KINDS) == {fd(99, 0)}
    # deleted nodes leave it
    store.apply(ChangeSet(deletes=[jb(5)]))
    assert jb(5) not in (store.on_cycles(ids, KINDS) or set())
    store.close()


def test_the_index_answers_only_for_the_kinds_it_covers() -> None:
    store = open_store("memory://")
    assert store.on_cycles([], [EdgeKind.READS, EdgeKind.WRITES]) == set()
    assert store.on_cycles([], [EdgeKind.HAS_RUN]) is None
    assert store.on_cycles([], [EdgeKind.HAS_CHECK]) is None
    store.close()


def test_a_clean_close_keeps_the_index_for_the_next_open_and_a_crash_does_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lineage.db"
    store = EmbeddedStore(path)
    loop = ChangeSet()
    for i in range(3):
        loop.add(Dataset(namespace=NS, name=f"d{i}"), Job(namespace=NS, name=f"j{i}"))
        loop.link(ds(i), EdgeKind.READS, jb(i), T0).link(
            jb(i), EdgeKind.WRITES, ds((i + 1) % 3), T0
        )
    store.apply(loop)
    on_loop = {ds(i) for i in range(3)} | {jb(i) for i in range(3)}
    assert store.on_cycles(sorted(store.graph), KINDS) == on_loop
    store.close()

    reopened = EmbeddedStore(path)
    assert reopened._cyclic == on_loop  # taken from the file, not built again
    # taken, not left: a process that dies from here on leaves no index behind
    recorded = reopened._con.execute("SELECT count(*) FROM meta WHERE key = 'cycle_index'")
    assert recorded.fetchone() == (0,)
    reopened.apply(ChangeSet().link(jb(0), EdgeKind.WRITES, ds(0), T0))
    reopened._con.close()  # as if the process died: no clean close
    reopened._closed = True
    assert reopened._owner is not None
    reopened._owner.release()

    after_crash = EmbeddedStore(path)
    assert after_crash._cyclic is None
    assert after_crash.on_cycles(sorted(after_crash.graph), KINDS) == on_loop
    after_crash.close()
