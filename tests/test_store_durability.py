"""Durability, reopening and concurrent reads of the stores."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lineagegraph.algorithms import cascade as cascade_analysis
from lineagegraph.algorithms.cascade import compute_health, stored_health
from lineagegraph.demo import scenario as demo_scenario
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import (
    FLOW_KINDS,
    ChangeSet,
    Dataset,
    Direction,
    EdgeKind,
    Field,
    HealthRecord,
    HealthStatus,
    format_time,
)
from lineagegraph.service import LineageService
from lineagegraph.store import Store, open_store
from lineagegraph.store.base import VersionRequest
from lineagegraph.store.embedded import EmbeddedStore
from tests.test_store_contract import NS, T0, canonical_hash, ds, history, job, pipeline

WRITER = """
import sys
from datetime import UTC, datetime
from lineagegraph.model import ChangeSet, Dataset, EdgeKind, Job
from lineagegraph.store import open_store

store = open_store(sys.argv[1])
start = int(sys.argv[2])
at = datetime(2026, 1, 1, tzinfo=UTC)
for i in range(start, start + 100_000):
    cs = ChangeSet()
    cs.add(Dataset(namespace="s3://acks", name=f"table_{i}"))
    cs.add(Job(namespace="s3://acks", name=f"job_{i}"))
    cs.link(f"dataset|s3://acks|table_{i}", EdgeKind.READS, f"job|s3://acks|job_{i}", at)
    if i > 0:
        cs.link(f"job|s3://acks|job_{i - 1}", EdgeKind.WRITES, f"dataset|s3://acks|table_{i}", at)
    store.apply(cs)
    print(i, flush=True)  # acknowledged only after apply returned
"""


def _acked(lines: list[str]) -> list[int]:
    return [int(line) for line in lines if line.strip().isdigit()]


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    rng = random.Random(7)
    acknowledged: list[int] = []
    next_index = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(next_index)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        # Wait until it writes, then kill it at a random moment mid-stream.
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        batch = _acked([first, *rest.splitlines()])
        acknowledged.extend(batch)
        store = open_store(url)
        try:
            assert isinstance(store, EmbeddedStore)
            ids = [make_id(Kind.DATASET, "s3://acks", f"table_{i}") for i in acknowledged]
            found = store.get(ids)
            assert len(found) == len(ids), "an acknowledged write is missing"
            nodes, edges = store.export()
            node_ids = {n.id for n in nodes}
            edge_list = list(edges)
            assert all(e.source_id in node_ids and e.target_id in node_ids for e in edge_list)
            assert store.graph.number_of_nodes() == len(node_ids)
            assert sum(len(d) for _, _, d in store.graph.edges(data=True)) == len(edge_list)
            # every changeset is whole: a job exists exactly when its table does
            assert sum(1 for i in node_ids if i.startswith("job|")) == len(node_ids) // 2
            next_index = max(int(i.rsplit("_", 1)[1]) for i in node_ids if i.startswith("job|")) + 1
        finally:
            store.close()
    assert len(acknowledged) >= 20


OPENER = """
import sys
from lineagegraph.errors import StoreUnavailable
from lineagegraph.store import open_store

try:
    open_store(sys.argv[1]).close()
except StoreUnavailable as error:
    print(error)
    sys.exit(3)
print("opened")
"""


def test_a_store_file_is_owned_by_one_process_at_a_time(tmp_path: Path) -> None:
    # Another process's writes would never reach this one's in-memory graph. (The lock
    # also goes with a killed owner: the SIGKILL test above reopens after every kill.)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"

    def open_elsewhere(where: str = url) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", OPENER, where], capture_output=True, text=True, timeout=60
        )

    store = open_store(url)
    try:
        refused = open_elsewhere()
        assert refused.returncode == 3, refused.stderr
        assert f"is in use by process {os.getpid()}" in refused.stdout
        assert "--server" in refused.stdout
        # A symlink names the same file, and so the same owner.
        (tmp_path / "link.db").symlink_to(tmp_path / "lineage.db")
        through_link = open_elsewhere(f"sqlite:///{tmp_path / 'link.db'}")
        assert through_link.returncode == 3, through_link.stdout
        assert f"is in use by process {os.getpid()}" in through_link.stdout
        store.apply(ChangeSet().add(Dataset(namespace=NS, name="still.mine")))
    finally:
        store.close()
    opened = open_elsewhere()
    assert (opened.returncode, opened.stdout.strip()) == (0, "opened"), opened.stderr
    reopened = open_store(url)
    try:
        assert reopened.get([make_id(Kind.DATASET, NS, "still.mine")])
    finally:
        reopened.close()


def test_reopening_a_file_store_loads_the_same_graph(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'lineage.db'}"
    store = open_store(url)
    store.apply(pipeline())
    failing = HealthRecord(id=ds("public.orders"), kind=Kind.DATASET, status=HealthStatus.FAILING)
    store.apply(ChangeSet(health=[failing]))
    before = canonical_hash(store)
    store.close()
    reopened = open_store(url)
    try:
        assert canonical_hash(reopened) == before
        hops = reopened.expand([ds("public.orders")], Direction.DOWNSTREAM, FLOW_KINDS)
        assert [h.target for h in hops] == ["job|airflow://etl|clean_orders"]
        assert reopened.search("orders_clean").items[0].id == ds("public.orders_clean")
        assert reopened.health([ds("public.orders"), ds("public.orders_clean")]) == {
            ds("public.orders"): failing
        }
        assert reopened.health_page([HealthStatus.FAILING]).items == [failing]
    finally:
        reopened.close()


def test_reopening_a_file_store_loads_history_edges_apart_and_the_same(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = open_store(url)
    runs, versions = history(store)
    before = canonical_hash(store)
    store.close()
    reopened = open_store(url)
    try:
        assert canonical_hash(reopened) == before
        hops = reopened.expand(versions, Direction.UPSTREAM, [EdgeKind.WROTE, EdgeKind.HAS_VERSION])
        assert sorted((h.source, h.kind.value, h.target) for h in hops) == sorted(
            [(v, "WROTE", r) for v, r in zip(versions, runs, strict=True)]
            + [(v, "HAS_VERSION", ds("public.orders_clean")) for v in versions]
        )
        requests = [
            VersionRequest(ds("public.orders_clean"), format_time(T0), frozenset(x))
            for x in ((), versions[2:])
        ]
        assert reopened.latest_versions(requests) == [
            (format_time(T0), versions[2]),
            (format_time(T0), versions[1]),
        ]
        assert isinstance(reopened, EmbeddedStore)
        assert not any(
            kind in (EdgeKind.HAS_RUN, EdgeKind.WROTE)
            for data in reopened.graph.adj[job("clean_orders")].values()
            for kind in data
        )
    finally:
        reopened.close()


def test_a_file_whose_search_index_has_other_columns_gets_it_rebuilt_at_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lineage.db"
    store = open_store(f"sqlite:///{path}")
    store.apply(pipeline())
    queries = ["orders_clean", "orders", "clean_orders", "amount_usd", "carol", ""]
    before = {q: [n.id for n in store.search(q).items] for q in queries}
    store.close()
    # The layout of an older version: one indexed column, no title.
    con = sqlite3.connect(path)
    con.execute("DROP TABLE search")
    con.execute("CREATE VIRTUAL TABLE search USING fts5(body, tokenize = 'unicode61')")
    con.commit()
    con.close()

    reopened = open_store(f"sqlite:///{path}")
    try:
        assert all(before[q] for q in queries)
        assert {q: [n.id for n in reopened.search(q).items] for q in queries} == before
        cs = ChangeSet()
        cs.add(Dataset(namespace=NS, name="public.refunds"))
        reopened.apply(cs)
        assert [n.id for n in reopened.search("refunds").items] == [ds("public.refunds")]
    finally:
        reopened.close()


def test_a_file_without_report_times_gets_the_column_at_open(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    store = open_store(f"sqlite:///{path}")
    store.apply(pipeline())
    before = store.export()
    store.close()
    # The layout of an older version: no time of each node's report.
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE nodes DROP COLUMN seen")
    con.commit()
    con.close()

    reopened = open_store(f"sqlite:///{path}")
    try:
        assert [list(part) for part in reopened.export()] == [list(part) for part in before]
        late = ChangeSet(reported_at="2000-01-01T00:00:00.000000Z")
        late.add(Dataset(namespace=NS, name="public.orders", description="old words"))
        reopened.apply(late)  # a node whose time is unknown takes the report
        assert reopened.get([ds("public.orders")])[ds("public.orders")].attrs["description"] == (
            "old words"
        )
    finally:
        reopened.close()
    con = sqlite3.connect(path)
    seen = con.execute("SELECT seen FROM nodes WHERE id = ?", (ds("public.orders"),)).fetchone()
    con.close()
    assert seen == ("2000-01-01T00:00:00.000000Z",)


def test_readers_see_a_changeset_whole_or_not_at_all(store: Store) -> None:
    """The embedded store gives readers whole changesets. Neo4j reads with read-committed
    isolation: one query running while a changeset commits may see part of it (README,
    Running against Neo4j), so there what readers see after the writes is checked."""
    rounds = 40
    width = 25
    errors: list[str] = []
    done = threading.Event()

    def batch(k: int) -> ChangeSet:
        cs = ChangeSet()
        cs.add(Dataset(namespace="s3://c", name=f"t{k}"))
        for j in range(width):
            cs.add(Field(namespace="s3://c", name=f"t{k}", path=f"c{j}"))
            cs.link(f"dataset|s3://c|t{k}", EdgeKind.HAS_FIELD, f"field|s3://c|t{k}|c{j}", T0)
        return cs

    def ids_of(k: int) -> list[str]:
        return [f"dataset|s3://c|t{k}"] + [f"field|s3://c|t{k}|c{j}" for j in range(width)]

    def reader() -> None:
        while not done.is_set():
            for k in range(rounds):
                ids = ids_of(k)
                found = len(store.get(ids))
                if found not in (0, width + 1):
                    errors.append(f"get saw {found} of batch {k}")
                hops = store.expand([ids[0]], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
                if len(hops) not in (0, width):
                    errors.append(f"expand saw {len(hops)} of batch {k}")

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        for k in range(rounds):
            store.apply(batch(k))
    finally:
        done.set()
        for thread in readers:
            thread.join()
    if isinstance(store, EmbeddedStore):
        assert errors == []
    for k in range(rounds):
        ids = ids_of(k)
        assert len(store.get(ids)) == width + 1
        assert len(store.expand([ids[0]], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])) == width
    assert store.stats().nodes == rounds * (width + 1)


def test_a_file_store_names_itself_by_the_url_it_was_opened_with(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'x.db'}"
    store = open_store(url)
    try:
        assert store.url == url
        assert url.startswith("sqlite:///")
        assert not url.startswith("sqlite:////")
    finally:
        store.close()


def test_a_file_store_creates_the_missing_directories_of_its_path(tmp_path: Path) -> None:
    # As the README documents: a first `lineagegraph demo --store sqlite:///new/dir/x.db`
    # works without a mkdir first.
    path = tmp_path / "not" / "yet" / "there.db"
    store = open_store(f"sqlite://{path}")
    store.close()
    assert path.is_file()


# --- health settled at a clean close -----------------------------------------------------------


def test_a_settled_health_record_is_found_once_by_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    store = EmbeddedStore(path)
    assert store.settled_health() is None
    store.settle_health("rules-1")
    store.close()
    reopened = EmbeddedStore(path)
    assert reopened.settled_health() == "rules-1"
    reopened.apply(ChangeSet().add(Dataset(namespace=NS, name="written.after.open")))
    assert reopened.settled_health() is None  # no longer the state that was settled
    reopened.close()  # closed without settling, as a process that dies does
    again = EmbeddedStore(path)
    assert again.settled_health() is None  # taken by the open before
    again.close()
    memory = open_store("memory://")
    memory.settle_health("rules-1")
    assert memory.settled_health() is None  # nothing outlives a memory store


def test_a_service_trusts_health_only_after_a_clean_close_under_the_same_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lineage.db"
    calls: list[int] = []
    original = cascade_analysis.repair_health

    def counting(store: Store) -> cascade_analysis.HealthRepair:
        calls.append(1)
        return original(store)

    monkeypatch.setattr(cascade_analysis, "repair_health", counting)
    first = LineageService(EmbeddedStore(path))
    for changeset in demo_scenario():
        first.apply(changeset)
    assert first.at_risk().items, "the demo has failing checks"
    first.close()
    assert calls == [1]  # a new file: nothing settled yet

    second = LineageService(EmbeddedStore(path))
    assert calls == [1]  # closed cleanly under the same rules: no recomputation
    assert stored_health(second.store) == compute_health(second.store)
    second.store.close()  # a crash: the service never settles

    third = LineageService(EmbeddedStore(path))
    assert calls == [1, 1]  # nothing settled: recomputed
    third.close()

    monkeypatch.setattr(cascade_analysis, "health_rules_fingerprint", lambda: "other rules")
    fourth = LineageService(EmbeddedStore(path))
    assert calls == [1, 1, 1]  # settled under other rules: recomputed
    fourth.close()


@pytest.mark.parametrize("mode", ["OFF", "bogus"])
def test_a_synchronous_mode_that_could_lose_commits_or_is_unknown_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # OFF would acknowledge writes a crash can lose; before, anything but NORMAL was FULL.
    monkeypatch.setenv("LINEAGEGRAPH_SQLITE_SYNCHRONOUS", mode)
    with pytest.raises(InvalidInput, match="use one of FULL, NORMAL, EXTRA"):
        open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    assert not (tmp_path / "lineage.db").exists()


@pytest.mark.parametrize(("mode", "pragma"), [("extra", 3), ("", 2)])
def test_extra_synchronous_is_taken_and_empty_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, pragma: int
) -> None:
    monkeypatch.setenv("LINEAGEGRAPH_SQLITE_SYNCHRONOUS", mode)
    store = open_store(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        assert store._con.execute("PRAGMA synchronous").fetchone() == (pragma,)
    finally:
        store.close()


def test_the_cache_of_last_reports_keeps_the_newest_within_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It dropped the oldest entry one at a time, each drop scanning every slot deleted
    # before: writes slowed as the graph outgrew the cache (see bench_ingest's growth).
    from lineagegraph.store import embedded

    monkeypatch.setattr(embedded, "_REPORTS_KEPT", 8)
    reports: dict[str, dict[str, int]] = {}
    for n in range(100):
        embedded._remember(reports, [(f"k{n}", {"n": n})])
        assert len(reports) <= 10  # the bound and a quarter more
    assert list(reports)[-1] == "k99"
    assert all(int(k[1:]) >= 100 - 10 for k in reports)  # the newest are kept
