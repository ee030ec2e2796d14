"""What is particular to the Neo4j store: its graph model in Neo4j, schema, search rules,
query-parameter safety, concurrent writers, configuration and outage behaviour.

The behaviour both stores share is in test_store_contract.py; the search-term test here
runs on both stores too, since the two full-text engines must agree on what matches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import neo4j
import pytest

from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, StoreUnavailable
from lineagegraph.ids import Kind, kind_of, make_id, parse_id
from lineagegraph.model import (
    FLOW_KINDS,
    ChangeSet,
    Dataset,
    Direction,
    EdgeKind,
    Field,
    HealthReason,
    HealthRecord,
    HealthStatus,
    Job,
    Node,
    Origin,
    Precision,
    format_time,
)
from lineagegraph.service import LineageService
from lineagegraph.store import SearchFilter, Store, open_store
from lineagegraph.store import neo4j as neo4j_adapter
from lineagegraph.store.base import HistoryRequest, Hop, RunRequest
from lineagegraph.store.neo4j import (
    _MARK_MEMBERS,
    Neo4jStore,
    _health_records,
    _lost_a_creation_race,
    _mark_members,
    search_text,
    search_title,
)
from tests.conftest import neo4j_uri

ROOT = Path(__file__).resolve().parents[1]
NEO4J_SCRIPT = ROOT / "scripts" / "neo4j.sh"
NS = "s3://lake"
ETL = "airflow://etl"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def ds(name: str, namespace: str = NS) -> str:
    return make_id(Kind.DATASET, namespace, name)


def job(name: str) -> str:
    return make_id(Kind.JOB, ETL, name)


@pytest.fixture
def neo4j_store() -> Iterator[Neo4jStore]:
    """An empty Neo4j store on the test server."""
    store = Neo4jStore.from_url(neo4j_uri())
    store.wipe()
    yield store
    store.close()


@pytest.fixture
def raw(neo4j_store: Neo4jStore) -> Iterator[neo4j.Driver]:
    """A plain driver on the same server, to look at what the store wrote."""
    driver = neo4j.GraphDatabase.driver(neo4j_store.url, auth=None)
    yield driver
    driver.close()


def cypher(driver: neo4j.Driver, query: str) -> list[list[object]]:
    records, _, _ = driver.execute_query(query, database_="neo4j")
    return [list(r.values()) for r in records]


def small_graph() -> ChangeSet:
    cs = ChangeSet(origin=Origin.OPENLINEAGE)
    cs.add(
        Dataset(namespace=NS, name="raw.orders", owners=["alice"]),
        Dataset(namespace=NS, name="mart.revenue"),
        Field(namespace=NS, name="raw.orders", path="amount", type="double"),
        Field(namespace=NS, name="mart.revenue", path="total", type="double"),
        Job(namespace=ETL, name="daily_revenue", job_type="SQL"),
    )
    cs.link(
        ds("raw.orders"), EdgeKind.HAS_FIELD, make_id(Kind.FIELD, NS, "raw.orders", "amount"), T0
    )
    cs.link(
        ds("mart.revenue"), EdgeKind.HAS_FIELD, make_id(Kind.FIELD, NS, "mart.revenue", "total"), T0
    )
    cs.link(ds("raw.orders"), EdgeKind.READS, job("daily_revenue"), T0)
    cs.link(job("daily_revenue"), EdgeKind.WRITES, ds("mart.revenue"), T0)
    cs.link(
        make_id(Kind.FIELD, NS, "raw.orders", "amount"),
        EdgeKind.DERIVES,
        make_id(Kind.FIELD, NS, "mart.revenue", "total"),
        T0,
        {"job": job("daily_revenue"), "transformation": "AGGREGATION"},
    )
    return cs


# --- the graph model in Neo4j ---------------------------------------------------------------


@pytest.mark.neo4j
def test_entities_carry_the_shared_label_and_one_label_per_kind(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    neo4j_store.apply(small_graph())
    labels = cypher(raw, "MATCH (n) RETURN n.id, labels(n) ORDER BY n.id")
    assert [(i, sorted(ls)) for i, ls in labels] == [  # type: ignore[call-overload]
        ("dataset|s3://lake|mart.revenue", ["Dataset", "Entity"]),
        ("dataset|s3://lake|raw.orders", ["Dataset", "Entity"]),
        ("field|s3://lake|mart.revenue|total", ["Entity", "Field"]),
        ("field|s3://lake|raw.orders|amount", ["Entity", "Field"]),
        ("job|airflow://etl|daily_revenue", ["Entity", "Job"]),
    ]
    rels = cypher(
        raw,
        "MATCH (s)-[r]->(t) "
        "RETURN s.id, type(r), t.id, r.origin, r.first_seen ORDER BY s.id, type(r)",
    )
    assert rels == [
        ["dataset|s3://lake|mart.revenue", "HAS_FIELD", "field|s3://lake|mart.revenue|total",
         "openlineage", "2026-03-01T00:00:00.000000Z"],
        ["dataset|s3://lake|raw.orders", "HAS_FIELD", "field|s3://lake|raw.orders|amount",
         "openlineage", "2026-03-01T00:00:00.000000Z"],
        ["dataset|s3://lake|raw.orders", "READS", "job|airflow://etl|daily_revenue",
         "openlineage", "2026-03-01T00:00:00.000000Z"],
        ["field|s3://lake|raw.orders|amount", "DERIVES", "field|s3://lake|mart.revenue|total",
         "openlineage", "2026-03-01T00:00:00.000000Z"],
        ["job|airflow://etl|daily_revenue", "WRITES", "dataset|s3://lake|mart.revenue",
         "openlineage", "2026-03-01T00:00:00.000000Z"],
    ]  # fmt: skip
    owners = cypher(raw, "MATCH (n:Dataset) RETURN n.id, n.owners ORDER BY n.id")
    assert owners == [
        ["dataset|s3://lake|mart.revenue", None],
        ["dataset|s3://lake|raw.orders", ["alice"]],
    ]


@pytest.mark.neo4j
def test_versions_and_runs_carry_their_time_stamp_and_older_nodes_without_it_still_count(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    orders = ds("raw.orders")
    versions = [make_id(Kind.DATASET_VERSION, NS, "raw.orders", f"v{n}") for n in range(3)]
    cs = small_graph()
    for version, created in zip(
        versions,
        ["2026-03-01T10:00:00+05:00", "2026-03-01T06:00:00Z", "no time"],
        strict=True,
    ):
        cs.nodes.append(Node.from_key(parse_id(version), {"created_at": created}))
        cs.link(orders, EdgeKind.HAS_VERSION, version, T0)
    neo4j_store.apply(cs)
    stamps = cypher(raw, "MATCH (v:DatasetVersion) RETURN v.id, v.stamp ORDER BY v.id")
    assert stamps == [
        [versions[0], "2026-03-01T05:00:00.000000Z"],
        [versions[1], "2026-03-01T06:00:00.000000Z"],
        [versions[2], ""],
    ]
    assert cypher(raw, "MATCH (d:Dataset) WHERE d.stamp IS NOT NULL RETURN d.id") == []
    # A version written before the property existed is ordered by its attributes.
    cypher(raw, f"MATCH (v:Entity {{id: '{versions[0]}'}}) REMOVE v.stamp")
    assert neo4j_store.latest_history([orders]) == {orders: versions[1]}
    five, six = "2026-03-01T05:00:00.000000Z", "2026-03-01T06:00:00.000000Z"
    assert neo4j_store.history_between(
        [
            HistoryRequest(orders, "", six),
            HistoryRequest(orders, six, six),  # after the one before: unstamped, at 05:00
            HistoryRequest(orders, "2026-03-01T05:30:00.000000Z", "2026-03-01T05:45:00.000000Z"),
        ]
    ) == [
        [("", versions[2]), (five, versions[0]), (six, versions[1])],
        [(five, versions[0]), (six, versions[1])],
        [(five, versions[0])],
    ]
    neo4j_store.apply(
        ChangeSet(
            nodes=[Node.from_key(parse_id(versions[2]), {"created_at": "2026-03-01T04:00:00Z"})]
        )
    )
    cypher(raw, "MATCH (v:DatasetVersion) REMOVE v.stamp")
    assert neo4j_store.latest_history([orders]) == {orders: versions[1]}
    neo4j_store.apply(
        ChangeSet(
            nodes=[Node.from_key(parse_id(versions[0]), {"created_at": "2026-03-01T07:00:00Z"})]
        )
    )
    assert neo4j_store.latest_history([orders]) == {orders: versions[0]}


@pytest.mark.neo4j
def test_runs_stamped_before_runs_were_placed_by_their_end_are_reordered_at_open(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    # A run known only from its end (no START) was stamped "", so ordered by its id.
    early = make_id(Kind.RUN, ETL, "j", "ffffffff-0000-4000-8000-000000000001")
    late = make_id(Kind.RUN, ETL, "j", "00000000-0000-4000-8000-000000000002")
    cs = ChangeSet()
    cs.add(Job(namespace=ETL, name="j"))
    for run, ended in ((early, "2026-03-01T01:00:00Z"), (late, "2026-03-01T02:00:00Z")):
        cs.nodes.append(Node.from_key(parse_id(run), {"state": "COMPLETE", "ended_at": ended}))
        cs.link(job("j"), EdgeKind.HAS_RUN, run, T0)
    neo4j_store.apply(cs)
    assert neo4j_store.latest_history([job("j")]) == {job("j"): late}
    # a database written before: runs stamped "", and without their state
    cypher(raw, "MATCH (r:Run) SET r.stamp = '' REMOVE r.state, r.done")
    assert neo4j_store.latest_history([job("j")]) == {job("j"): early}
    again = Neo4jStore.from_url(neo4j_store.url)
    try:
        assert again.latest_history([job("j")]) == {job("j"): late}
    finally:
        again.close()
    # and stamped by their end, as a write would stamp them
    assert cypher(raw, "MATCH (r:Run) RETURN r.id, r.stamp ORDER BY r.stamp") == [
        [early, "2026-03-01T01:00:00.000000Z"],
        [late, "2026-03-01T02:00:00.000000Z"],
    ]


@pytest.mark.neo4j
def test_runs_carry_their_state_and_completion_and_older_runs_without_them_still_count(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    runs = {name: make_id(Kind.RUN, ETL, "j", name) for name in ("a", "b", "c", "d")}
    cs = ChangeSet()
    cs.add(Job(namespace=ETL, name="j"))
    for name, attrs in (
        ("a", {"state": "COMPLETE", "ended_at": "2026-03-01T01:00:00+01:00"}),
        ("b", {"state": "COMPLETE", "started_at": "2026-03-01T00:30:00Z"}),  # no end
        ("c", {"state": "FAIL", "ended_at": "2026-03-01T03:00:00Z"}),
        ("d", {}),  # a bare reference (a parent run, say)
    ):
        cs.nodes.append(Node.from_key(parse_id(runs[name]), attrs))
        cs.link(job("j"), EdgeKind.HAS_RUN, runs[name], T0)
    neo4j_store.apply(cs)
    assert cypher(raw, "MATCH (r:Run) RETURN r.id, r.state, r.done ORDER BY r.id") == [
        [runs["a"], "COMPLETE", "2026-03-01T00:00:00.000000Z"],
        [runs["b"], "COMPLETE", "2026-03-01T00:30:00.000000Z"],
        [runs["c"], "FAIL", None],
        [runs["d"], "", None],
    ]
    assert (
        cypher(raw, "MATCH (j:Job) WHERE j.state IS NOT NULL OR j.done IS NOT NULL RETURN j") == []
    )
    request = [RunRequest((job("j"),), "")]
    assert neo4j_store.last_completed_runs(request) == [("2026-03-01T00:30:00.000000Z", runs["b"])]
    # Runs written before the properties existed are judged by their attributes.
    cypher(raw, f"MATCH (r:Entity {{id: '{runs['b']}'}}) REMOVE r.state, r.done")
    assert neo4j_store.last_completed_runs(request) == [("2026-03-01T00:30:00.000000Z", runs["b"])]
    cypher(raw, "MATCH (r:Run) REMOVE r.state, r.done")
    assert neo4j_store.last_completed_runs(request) == [("2026-03-01T00:30:00.000000Z", runs["b"])]
    before = [RunRequest((job("j"),), "2026-03-01T00:10:00.000000Z")]
    assert neo4j_store.last_completed_runs(before) == [("2026-03-01T00:00:00.000000Z", runs["a"])]


@pytest.mark.neo4j
def test_versions_and_runs_written_before_their_history_properties_get_them_at_open(
    neo4j_store: Neo4jStore, raw: neo4j.Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(neo4j_adapter, "_MARK_PAGE", 2)  # pages that end mid-kind
    orders = ds("raw.orders")
    runs = {name: make_id(Kind.RUN, ETL, "j", name) for name in ("a", "b", "c")}
    versions = [make_id(Kind.DATASET_VERSION, NS, "raw.orders", v) for v in ("v1", "v2")]
    cs = small_graph()
    cs.add(Job(namespace=ETL, name="j"))
    for name, attrs in (
        ("a", {"state": "COMPLETE", "started_at": "2026-03-01T00:10:00Z"}),
        ("b", {"state": "FAIL", "ended_at": "2026-03-01T03:00:00Z"}),
        ("c", {}),
    ):
        cs.nodes.append(Node.from_key(parse_id(runs[name]), attrs))
        cs.link(job("j"), EdgeKind.HAS_RUN, runs[name], T0)
    for version, attrs in zip(versions, ({"created_at": "2026-03-01T06:00:00Z"}, {}), strict=True):
        cs.nodes.append(Node.from_key(parse_id(version), attrs))
        cs.link(orders, EdgeKind.HAS_VERSION, version, T0)
    neo4j_store.apply(cs)
    members = (
        "MATCH (m:Entity) WHERE m:Run OR m:DatasetVersion "
        "RETURN m.id, m.stamp, m.state, m.done ORDER BY m.id"
    )
    written = cypher(raw, members)
    assert [row[1:] for row in written if row[0] == runs["a"]] == [
        ["2026-03-01T00:10:00.000000Z", "COMPLETE", "2026-03-01T00:10:00.000000Z"]
    ]
    # a database written before the properties existed (and before runs were stamped
    # by their end: "" for a run without a start)
    cypher(raw, "MATCH (m:Run) REMOVE m.state, m.done SET m.stamp = ''")
    cypher(raw, "MATCH (m:DatasetVersion) REMOVE m.stamp")
    # A node written again since the migration read it keeps what that write set.
    stale = {"id": runs["a"], "attrs": "{}", "stamp": "x", "state": "FAIL", "done": None}
    raw.execute_query(_MARK_MEMBERS, rows=[stale])
    assert cypher(raw, f"MATCH (r:Entity {{id: '{runs['a']}'}}) RETURN r.state") == [[None]]
    again = Neo4jStore.from_url(neo4j_store.url)
    try:
        request = [RunRequest((job("j"),), "")]
        assert again.last_completed_runs(request) == [("2026-03-01T00:10:00.000000Z", runs["a"])]
    finally:
        again.close()
    assert cypher(raw, members) == written
    # once marked, nothing is marked again (the run without any time stays stamped "")
    with raw.session() as session:
        assert _mark_members(session) == 0


@pytest.mark.neo4j
def test_schema_is_created_once_and_opening_again_is_harmless(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    again = Neo4jStore.from_url(neo4j_store.url)
    again.ping()
    again.close()
    constraints = {row[0] for row in cypher(raw, "SHOW CONSTRAINTS YIELD name RETURN name")}
    assert {"lineagegraph_entity_id", "lineagegraph_health_id"} <= constraints
    indexes = {
        (row[0], row[1], row[2])
        for row in cypher(raw, "SHOW INDEXES YIELD name, type, state RETURN name, type, state")
    }
    assert ("lineagegraph_entity_text", "FULLTEXT", "ONLINE") in indexes
    assert ("lineagegraph_field_key", "RANGE", "ONLINE") in indexes


@pytest.mark.neo4j
def test_a_second_node_with_the_same_id_is_refused_by_the_constraint(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    neo4j_store.apply(ChangeSet().add(Dataset(namespace=NS, name="raw.orders")))
    with pytest.raises(neo4j.exceptions.ConstraintError):
        raw.execute_query("CREATE (:Entity {id: $id})", {"id": ds("raw.orders")}, database_="neo4j")


@pytest.mark.neo4j
def test_expand_orders_hops_by_direction_frontier_kind_and_neighbour(
    neo4j_store: Neo4jStore,
) -> None:
    cs = ChangeSet()
    cs.add(Job(namespace=ETL, name="j"))
    for name in ("b", "a", "c"):
        cs.add(Dataset(namespace=NS, name=name))
    cs.link(ds("b"), EdgeKind.READS, job("j"), T0)
    cs.link(ds("a"), EdgeKind.READS, job("j"), T0)
    cs.link(job("j"), EdgeKind.WRITES, ds("c"), T0)
    cs.link(job("j"), EdgeKind.WRITES, ds("a"), T0)
    neo4j_store.apply(cs)
    hops = neo4j_store.expand([job("j"), ds("b")], Direction.BOTH, FLOW_KINDS)
    assert hops == [
        Hop(job("j"), EdgeKind.WRITES, ds("a")),
        Hop(job("j"), EdgeKind.WRITES, ds("c")),
        Hop(ds("b"), EdgeKind.READS, job("j")),
        Hop(job("j"), EdgeKind.READS, ds("a")),
        Hop(job("j"), EdgeKind.READS, ds("b")),
    ]


@pytest.mark.neo4j
def test_unknown_edge_kinds_and_directions_are_invalid_input(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(small_graph())
    with pytest.raises(InvalidInput, match="edge kind"):
        neo4j_store.expand([job("daily_revenue")], Direction.DOWNSTREAM, ["WRITES]->() DELETE"])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="direction"):
        neo4j_store.expand([job("daily_revenue")], "SIDEWAYS", FLOW_KINDS)  # type: ignore[arg-type]
    assert neo4j_store.stats().nodes == 5


# --- parameters only: hostile text round-trips and changes nothing else --------------------

HOSTILE = [
    'it\'s "quoted"',
    "back`tick`",
    "{braces: $x}",
    "a // comment",
    "x'}) MATCH (n) DETACH DELETE n //",
    "`) RETURN 1 UNION MATCH (n) DETACH DELETE n //",
    "title:foo AND bar* OR \\ ~2 ^3 [a TO b]",
]


@pytest.mark.neo4j
def test_hostile_names_round_trip_and_change_nothing_else(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    cs = ChangeSet()
    cs.add(Job(namespace=ETL, name="loader"))
    for name in HOSTILE:
        cs.add(
            Dataset(namespace=NS, name=name, description=name, owners=[name], tags=[name]),
            Field(namespace=NS, name=name, path=name, description=name),
        )
        cs.link(ds(name), EdgeKind.READS, job("loader"), T0, {"note": name})
        cs.link(ds(name), EdgeKind.HAS_FIELD, make_id(Kind.FIELD, NS, name, name), T0)
    neo4j_store.apply(cs)
    reason = HealthReason(
        result_id=HOSTILE[4],
        check_id=HOSTILE[5],
        checked_id=ds(HOSTILE[0]),
        path=tuple(HOSTILE),
        hops=1,
        precision=Precision.POTENTIAL,
        message=HOSTILE[6],
    )
    record = HealthRecord(
        id=ds(HOSTILE[1]), kind=Kind.DATASET, status=HealthStatus.AT_RISK, reasons=(reason,)
    )
    neo4j_store.apply(ChangeSet(health=[record]))

    ids = [ds(name) for name in HOSTILE]
    found = neo4j_store.get(ids)
    assert [found[i].name for i in ids] == HOSTILE
    assert [found[i].attrs["description"] for i in ids] == HOSTILE
    edges = neo4j_store.edges([job("loader")], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(e.attrs["note"] for e in edges) == sorted(HOSTILE)
    assert neo4j_store.health([ds(HOSTILE[1])]) == {ds(HOSTILE[1]): record}
    for name in HOSTILE:
        assert [n.id for n in neo4j_store.search("", SearchFilter(owner=name)).items] == [ds(name)]
        assert [n.id for n in neo4j_store.search("", SearchFilter(tag=name)).items] == [ds(name)]
        matched = neo4j_store.search(name, SearchFilter(kinds=frozenset({Kind.DATASET})))
        assert ds(name) in [n.id for n in matched.items]
    # nothing but what was written: 7 datasets, 7 fields, 1 job, 1 health record, 14 edges
    assert cypher(raw, "MATCH (n) RETURN count(n)") == [[16]]
    assert cypher(raw, "MATCH ()-[r]->() RETURN count(r)") == [[14]]
    stats = neo4j_store.stats()
    assert stats.nodes_by_kind == {"DATASET": 7, "FIELD": 7, "JOB": 1}


# --- search follows the embedded store's term rules -----------------------------------------

SEARCH_NAMES = [
    ("public.café_crème", "Crème brûlée sales"),
    ("raw.straße", None),
    ("日本語テーブル", None),
    ("σίγμα.Table", None),
    ("sales.order__lines", "one row per order line"),
]


def _search_ids(store: Store, query: str) -> list[str]:
    page = store.search(query, SearchFilter(kinds=frozenset({Kind.DATASET})), first=50)
    return sorted(n.id for n in page.items)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cafe", ["public.café_crème"]),
        ("CRÈME", ["public.café_crème"]),
        ("brulee", ["public.café_crème"]),
        ("strasse", []),
        ("STRAßE", ["raw.straße"]),
        ("日本", ["日本語テーブル"]),
        ("テーブル", []),
        ("σιγμα", []),
        ("ΣΊΓΜΑ", ["σίγμα.Table"]),
        ("order_lines", ["sales.order__lines"]),
        ("order_li", ["sales.order__lines"]),
        ("line_order", []),
        ("lake sales", ["public.café_crème", "sales.order__lines"]),
        ("sales*", ["public.café_crème", "sales.order__lines"]),
        ("tab", ["σίγμα.Table"]),
        ("_", []),
        ("title:foo", []),
    ],
)
def test_search_terms_match_the_same_words_on_both_stores(
    store: Store, query: str, expected: list[str]
) -> None:
    cs = ChangeSet()
    for name, description in SEARCH_NAMES:
        cs.add(Dataset(namespace=NS, name=name, description=description))
    store.apply(cs)
    assert _search_ids(store, query) == sorted(ds(name) for name in expected)


def test_search_text_is_the_unicode61_tokens_of_the_node() -> None:
    node = Dataset(
        namespace="s3://lake", name="Café_Crème", description="ΣΊΓΜΑ ab\u0301cd 日本語; x__y"
    ).to_node()
    assert search_text(node, ["order_id"]) == (
        " cafe creme s3 lake σίγμα abcd 日本語 x y order id "
    )
    assert search_title(node) == " cafe creme "
    job_node = Job(namespace=ETL, name="load", owners=["Zoë"]).to_node()
    assert search_text(job_node, ["ignored"]) == " load airflow etl zoe "
    field_node = Field(namespace=NS, name="raw.orders", path="customer.zip_code").to_node()
    assert search_title(field_node) == " customer zip code "


@pytest.mark.neo4j
def test_search_text_follows_a_datasets_fields(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(small_graph())
    assert _search_ids(neo4j_store, "amount") == [ds("raw.orders")]
    field_id = make_id(Kind.FIELD, NS, "raw.orders", "discount_rate")
    neo4j_store.apply(ChangeSet().add(Field(namespace=NS, name="raw.orders", path="discount_rate")))
    assert _search_ids(neo4j_store, "discount_ra") == [ds("raw.orders")]
    neo4j_store.apply(ChangeSet(deletes=[field_id]))
    assert _search_ids(neo4j_store, "discount") == []
    assert _search_ids(neo4j_store, "amount") == [ds("raw.orders")]


# --- concurrent writers ------------------------------------------------------------------------


def apply_at_once(store: Neo4jStore, changesets: list[ChangeSet]) -> list[BaseException]:
    """Apply each changeset in a thread of its own, all released together; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(changesets))

    def write(changeset: ChangeSet) -> None:
        start.wait()
        try:
            store.apply(changeset)
        except BaseException as error:  # reported to the caller
            errors.append(error)

    threads = [threading.Thread(target=write, args=(cs,)) for cs in changesets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.neo4j
def test_concurrent_writers_of_one_node_and_edge_lose_no_update(neo4j_store: Neo4jStore) -> None:
    neo4j_store.apply(ChangeSet().add(Job(namespace=ETL, name="consumer")))
    key = Dataset(namespace=NS, name="shared").key

    def changeset(i: int) -> ChangeSet:
        cs = ChangeSet().add(Node.from_key(key, {f"k{i}": i}))
        cs.link(key.id, EdgeKind.READS, job("consumer"), T0 + timedelta(hours=i), {f"a{i}": i})
        return cs

    assert apply_at_once(neo4j_store, [changeset(i) for i in range(8)]) == []
    assert neo4j_store.get([key.id])[key.id].attrs == {f"k{i}": i for i in range(8)}
    (edge,) = neo4j_store.edges([key.id], Direction.DOWNSTREAM, [EdgeKind.READS])
    assert edge.first_seen == format_time(T0)
    assert edge.last_seen == format_time(T0 + timedelta(hours=7))
    assert edge.attrs == {f"a{i}": i for i in range(8)}
    assert neo4j_store.stats().edges_by_kind == {"READS": 1}


@pytest.mark.neo4j
def test_concurrent_writers_of_the_same_new_health_records_all_succeed(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    # New health records are created, not merged: a writer that loses the race on the
    # unique constraint applies its changeset again, over the stored records.
    neo4j_store.apply(small_graph())
    ids = [ds("raw.orders"), ds("mart.revenue"), job("daily_revenue")]

    def changeset(i: int) -> ChangeSet:
        reason = HealthReason(
            result_id="result|s3://lake|raw.orders|not_null|r1",
            check_id="check|s3://lake|raw.orders|not_null",
            checked_id=ds("raw.orders"),
            path=(ds("raw.orders"),),
            hops=0,
            precision=Precision.CONFIRMED,
            message=f"writer {i}",
        )
        records = [
            HealthRecord(
                id=entity_id,
                kind=kind_of(entity_id),
                status=HealthStatus.FAILING,
                reasons=(reason,),
            )
            for entity_id in ids
        ]
        return ChangeSet(health=records)

    assert apply_at_once(neo4j_store, [changeset(i) for i in range(6)]) == []
    assert cypher(raw, "MATCH (h:Health) RETURN count(h)") == [[3]]
    stored = neo4j_store.health(ids)
    assert set(stored) == set(ids)
    # Each changeset wrote all three at once: the last one to commit holds them all.
    assert len({record.reasons[0].message for record in stored.values()}) == 1


HOLD_WRITER = """
import sys, time
from lineagegraph.store.neo4j import Neo4jStore

store = Neo4jStore.from_url(sys.argv[1])
with store.writer():
    print("holding", flush=True)
    time.sleep(120)
"""


def _write_in_thread(service: LineageService, changeset: ChangeSet) -> threading.Event:
    """Apply in a thread of its own; the event is set once the apply returned."""
    done = threading.Event()

    def run() -> None:
        service.apply(changeset)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.mark.neo4j
def test_services_of_replicas_sharing_neo4j_take_turns_to_write(neo4j_store: Neo4jStore) -> None:
    # Two services over two drivers, as two app replicas: while one is between its write
    # and what follows it (the health update reads what the write changed), the other's
    # write waits, as a second thread of one replica would.
    first = LineageService(neo4j_store)
    other_store = Neo4jStore.from_url(neo4j_uri())
    try:
        second = LineageService(other_store)
        paused, resume = threading.Event(), threading.Event()

        def pause(_: LineageService, applied: ChangeSet) -> None:
            if applied.nodes and not paused.is_set():
                paused.set()
                resume.wait(60)

        first.on_apply(pause)
        first_done = _write_in_thread(first, small_graph())
        assert paused.wait(60)
        second_done = _write_in_thread(
            second, ChangeSet().add(Dataset(namespace=NS, name="from.the.other.replica"))
        )
        assert not second_done.wait(1.5), "the other replica wrote while the first held the lock"
        resume.set()
        assert first_done.wait(60) and second_done.wait(60)
        written = other_store.get([ds("raw.orders"), ds("from.the.other.replica")])
        assert len(written) == 2
    finally:
        other_store.close()


@pytest.mark.neo4j
def test_a_replica_that_dies_holding_the_writer_lock_does_not_block_the_others(
    neo4j_store: Neo4jStore,
) -> None:
    service = LineageService(neo4j_store)  # which takes the lock to reconcile health
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, neo4j_uri()], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        waiting = _write_in_thread(service, small_graph())
        assert not waiting.wait(1.0), "the lock was not held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        assert waiting.wait(60), "the writer lock outlived its holder"
    finally:
        holder.kill()
        holder.wait(30)


@pytest.mark.neo4j
def test_waiting_for_the_writer_lock_is_bounded(neo4j_store: Neo4jStore) -> None:
    patient = Neo4jStore.from_url(neo4j_uri(), Settings(neo4j_write_lock_seconds=1.5))
    try:
        with neo4j_store.writer():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as refused, patient.writer():
                pass  # pragma: no cover - the lock is held
            waited = time.monotonic() - started
        assert "LINEAGEGRAPH_NEO4J_WRITE_LOCK_SECONDS" in str(refused.value)
        assert 1.0 < waited < 30
        with patient.writer():  # free again
            pass
    finally:
        patient.close()


@pytest.mark.neo4j
def test_the_longest_writer_lock_time_settings_take_is_one_neo4j_takes(
    neo4j_store: Neo4jStore,
) -> None:
    longest = Settings.model_fields["neo4j_write_lock_seconds"].metadata
    limit = next(bound.le for bound in longest if hasattr(bound, "le"))
    store = Neo4jStore.from_url(neo4j_uri(), Settings(neo4j_write_lock_seconds=limit))
    try:
        store.apply(small_graph())
        assert store.stats().nodes
    finally:
        store.close()


@pytest.mark.neo4j
def test_a_replica_that_hangs_holding_the_writer_lock_loses_it_at_its_limit(
    neo4j_store: Neo4jStore, caplog: pytest.LogCaptureFixture
) -> None:
    hanging = Neo4jStore.from_url(neo4j_uri(), Settings(neo4j_write_lock_seconds=2))
    try:
        with hanging.writer():
            started = time.monotonic()
            with neo4j_store.writer():  # waits until Neo4j ends the hanging holder's lock
                taken = time.monotonic() - started
            assert 1.0 < taken < 30
        assert "past its limit" in caplog.text  # the holder says its lock ended early
    finally:
        hanging.close()


@pytest.mark.neo4j
def test_the_writer_lock_holder_reads_in_its_transaction_and_sees_committed_writes(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[str] = []  # the threads that opened a transaction to read
    execute_query = neo4j_store._driver.execute_query

    def counted(*args: object, **kwargs: object) -> object:
        transactions.append(threading.current_thread().name)
        return execute_query(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(neo4j_store._driver, "execute_query", counted)
    orders = Dataset(namespace=NS, name="raw.orders")
    with neo4j_store.writer():
        assert neo4j_store.get([orders.key.id]) == {}
        neo4j_store.apply(ChangeSet().add(orders))
        assert set(neo4j_store.get([orders.key.id])) == {orders.key.id}  # committed: seen
        assert transactions == []
        # another thread (a query served meanwhile) reads on its own
        other = threading.Thread(target=neo4j_store.get, args=([orders.key.id],), name="query")
        other.start()
        other.join(30)
        assert transactions == ["query"]
    assert set(neo4j_store.get([orders.key.id])) == {orders.key.id}
    assert transactions == ["query", threading.current_thread().name]


@pytest.mark.neo4j
def test_a_writer_lock_holder_still_reads_once_neo4j_ended_its_transaction() -> None:
    store = Neo4jStore.from_url(neo4j_uri(), Settings(neo4j_write_lock_seconds=1))
    try:
        store.apply(ChangeSet().add(Dataset(namespace=NS, name="raw.orders")))
        with store.writer():
            time.sleep(2.5)  # past the limit: Neo4j ends the lock's transaction
            assert set(store.get([ds("raw.orders")])) == {ds("raw.orders")}
            assert set(store.get([ds("raw.orders")])) == {ds("raw.orders")}
    finally:
        store.close()


@pytest.mark.neo4j
def test_neo4j_never_reports_settled_health(neo4j_store: Neo4jStore) -> None:
    # Replicas share the database: one replica's clean close says nothing of another's
    # crash, so every service over Neo4j recomputes health at start.
    neo4j_store.settle_health("rules")
    other = Neo4jStore.from_url(neo4j_uri())
    try:
        assert other.settled_health() is None
        assert neo4j_store.settled_health() is None
    finally:
        other.close()


# --- configuration -----------------------------------------------------------------------------


def test_url_credentials_stay_out_of_the_url_attribute() -> None:
    settings = Settings(neo4j_user="reader", neo4j_password="", neo4j_database="lineage")
    store = Neo4jStore.from_url("bolt://admin:s3cret@127.0.0.1:9/", settings)
    try:
        assert store.url == "bolt://127.0.0.1:9/"
        assert store.database == "lineage"
    finally:
        store.close()
    with pytest.raises(StoreUnavailable, match="closed"):
        store.get(["dataset|a|b"])


def test_a_store_opened_while_neo4j_is_down_reports_it_as_unavailable() -> None:
    store = Neo4jStore("bolt://127.0.0.1:9", retry_seconds=0.5, connect_seconds=0.5)
    try:
        with pytest.raises(StoreUnavailable, match=r"Neo4j at bolt://127\.0\.0\.1:9"):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.get([ds("raw.orders")])
    finally:
        store.close()


@pytest.mark.neo4j
def test_open_store_picks_neo4j_for_bolt_urls() -> None:
    store = open_store(neo4j_uri())
    try:
        assert isinstance(store, Neo4jStore)
        store.ping()
    finally:
        store.close()


@pytest.mark.neo4j
def test_a_missing_database_is_reported_as_unavailable() -> None:
    store = Neo4jStore(neo4j_uri(), database="no_such_database", retry_seconds=0.5)
    try:
        with pytest.raises(StoreUnavailable, match="no database 'no_such_database'"):
            store.get([ds("raw.orders")])
    finally:
        store.close()


# --- outage ------------------------------------------------------------------------------------


def _neo4j(command: str, folder: Path, port: int | None = None) -> str:
    env = dict(os.environ)
    if port is not None:
        env["NEO4J_PORT"] = str(port)
    done = subprocess.run(
        [str(NEO4J_SCRIPT), command, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.neo4j
@pytest.mark.own_neo4j
@pytest.mark.slow
def test_the_store_reports_an_outage_and_recovers_when_neo4j_is_back(tmp_path: Path) -> None:
    neo4j_uri()  # skips or fails like every Neo4j test when Neo4j is not wanted
    folder = tmp_path / "neo4j"
    uri = _neo4j("start", folder)
    port = int(uri.rsplit(":", 1)[1])
    store = Neo4jStore(uri, retry_seconds=1.0, connect_seconds=1.0)
    try:
        store.apply(small_graph())
        _neo4j("stop", folder)
        with pytest.raises(StoreUnavailable, match="unavailable"):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.get([ds("raw.orders")])
        with pytest.raises(StoreUnavailable):
            store.apply(ChangeSet().add(Dataset(namespace=NS, name="during.outage")))

        assert _neo4j("start", folder, port) == uri
        store.ping()
        assert set(store.get([ds("raw.orders"), ds("during.outage")])) == {ds("raw.orders")}
        store.apply(ChangeSet().add(Dataset(namespace=NS, name="after.outage")))
        assert store.kinds([ds("after.outage")]) == {ds("after.outage"): Kind.DATASET}

        # a restart between two calls: the pooled connections are dead and get replaced
        _neo4j("stop", folder)
        assert _neo4j("start", folder, port) == uri
        store.ping()
        assert set(store.get([ds("raw.orders"), ds("after.outage")])) == {
            ds("raw.orders"),
            ds("after.outage"),
        }
        assert [
            h.target for h in store.expand([ds("raw.orders")], Direction.DOWNSTREAM, FLOW_KINDS)
        ] == [job("daily_revenue")]
    finally:
        store.close()
        _neo4j("stop", folder)


@pytest.mark.neo4j
def test_a_changeset_found_invalid_after_its_writes_leaves_nothing(
    neo4j_store: Neo4jStore, raw: neo4j.Driver
) -> None:
    neo4j_store.apply(small_graph())
    nodes, edges = neo4j_store.export()
    before = ([n.model_dump() for n in nodes], [e.model_dump() for e in edges])
    new_field = make_id(Kind.FIELD, NS, "new.table", "id")
    bad = ChangeSet()
    bad.add(
        Dataset(namespace=NS, name="new.table", owners=["dave"]),
        Field(namespace=NS, name="new.table", path="id"),
        Dataset(namespace=NS, name="raw.orders", description="changed"),
    )
    bad.link(ds("new.table"), EdgeKind.HAS_FIELD, new_field, T0)
    bad.link(ds("raw.orders"), EdgeKind.READS, job("daily_revenue"), T0 + timedelta(days=1))
    bad.link(job("daily_revenue"), EdgeKind.WRITES, new_field, T0)  # a job cannot write a field
    with pytest.raises(
        InvalidInput, match="is a FIELD, expected one of DATASET, FEATURE, MODEL_VERSION"
    ):
        neo4j_store.apply(bad)
    missing_health = ChangeSet(
        nodes=[Dataset(namespace=NS, name="other.table").to_node()],
        health=[HealthRecord(id=ds("ghost"), kind=Kind.DATASET, status=HealthStatus.FAILING)],
    )
    with pytest.raises(InvalidInput, match=r"health for dataset\|s3://lake\|ghost"):
        neo4j_store.apply(missing_health)
    nodes, edges = neo4j_store.export()
    assert ([n.model_dump() for n in nodes], [e.model_dump() for e in edges]) == before
    assert cypher(raw, "MATCH (n) RETURN count(n)") == [[5]]
    assert _search_ids(neo4j_store, "dave") == []


def test_a_conflict_reported_through_a_failed_result_counts_as_a_lost_creation_race() -> None:
    # A transaction that loses a race on a uniqueness constraint may report it from a later
    # query, as the cause of a ResultFailedError; both forms mean "apply again".
    conflict = neo4j.exceptions.ConstraintError("already exists")
    failed = neo4j.exceptions.ResultFailedError(None, "the result has failed")
    failed.__cause__ = conflict
    assert _lost_a_creation_race(conflict)
    assert _lost_a_creation_race(failed)
    unrelated = neo4j.exceptions.ResultFailedError(None, "the result has failed")
    unrelated.__cause__ = neo4j.exceptions.CypherSyntaxError("bad query")
    assert not _lost_a_creation_race(unrelated)
    assert not _lost_a_creation_race(neo4j.exceptions.ResultFailedError(None, "failed"))


def test_a_health_record_deleted_while_it_was_read_is_left_out() -> None:
    # Read-committed: a record deleted after the read matched it comes back with null fields.
    rows = [
        ["dataset|pg|a", "DATASET", "AT_RISK", "[]"],
        ["dataset|pg|gone", None, None, None],
    ]
    (record,) = _health_records(rows)
    assert (record.id, record.kind, record.status) == (
        "dataset|pg|a",
        Kind.DATASET,
        HealthStatus.AT_RISK,
    )


def test_credentials_in_the_url_are_percent_decoded_and_a_bad_port_shows_nothing_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A password holding '/' is written %2F in the URL; Neo4j gets the password itself.
    given: list[object] = []
    real_driver = neo4j.GraphDatabase.driver

    def driver(uri: str, **options: object) -> neo4j.Driver:
        given.append(options["auth"])
        return real_driver(uri, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", driver)
    store = Neo4jStore("bolt://ops%40acme:pa%2Fss%3Aw0rd@127.0.0.1:1", retry_seconds=0.1)
    store.close()
    assert given == [neo4j.basic_auth("ops@acme", "pa/ss:w0rd")]
    assert store.url == "bolt://127.0.0.1:1"
    # Written as is, the '/' ends the host part, so part of the password reads as the
    # port: refused without a traceback, and without repeating any of the URL.
    for url in ("bolt://ops:s3cr/et@127.0.0.1:7687", "bolt://127.0.0.1:99999"):
        with pytest.raises(InvalidInput, match="port is not a number") as refused:
            Neo4jStore(url)
        assert "s3cr" not in str(refused.value) and "127.0.0.1" not in str(refused.value)


def test_a_url_without_a_host_is_refused_instead_of_reaching_localhost() -> None:
    # The driver reads an empty host as localhost:7687, and the error then named "bolt:".
    for url in ("bolt://ops:s3cret@", "neo4j://", "bolt://:7687"):
        with pytest.raises(InvalidInput, match="names no host") as refused:
            Neo4jStore(url)
        assert "s3cret" not in str(refused.value)
