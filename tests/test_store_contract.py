"""The store contract: one suite, run against every adapter through the ``store`` fixture."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineagegraph.algorithms.traversal import bfs, strongly_connected
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, make_id, parse_id
from lineagegraph.model import (
    FLOW_KINDS,
    HISTORY_ORDER,
    ChangeSet,
    Dataset,
    DatasetVersion,
    Direction,
    Edge,
    EdgeEnding,
    EdgeKind,
    Field,
    HealthReason,
    HealthRecord,
    HealthStatus,
    Job,
    Node,
    Origin,
    Precision,
    Run,
    RunState,
    end_edge,
    format_time,
    merge_attrs,
    merge_edge,
    time_stamp,
)
from lineagegraph.store import SearchFilter, Store, open_store
from lineagegraph.store.base import (
    NO_FILTER,
    HistoryRequest,
    Hop,
    RunRequest,
    VersionRequest,
    encode_cursor,
)
from tests.conftest import STORE_KINDS, make_store

NS = "postgres://db:5432"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def ds(name: str) -> str:
    return make_id(Kind.DATASET, NS, name)


def job(name: str) -> str:
    return make_id(Kind.JOB, "airflow://etl", name)


def fld(table: str, path: str) -> str:
    return make_id(Kind.FIELD, NS, table, path)


def pipeline(at: datetime = T0) -> ChangeSet:
    """orders -> clean_orders job -> orders_clean (with column lineage) -> report job -> report."""
    cs = ChangeSet(origin=Origin.API)
    for name, owners, tags in (
        ("public.orders", ["alice"], ["raw"]),
        ("public.orders_clean", ["bob"], ["staging"]),
        ("public.report", ["carol"], ["mart"]),
    ):
        cs.add(
            Dataset(
                namespace=NS, name=name, owners=owners, tags=tags, description=f"the {name} table"
            )
        )
    for table, path in (
        ("public.orders", "id"),
        ("public.orders", "amount"),
        ("public.orders_clean", "order_id"),
        ("public.orders_clean", "amount_usd"),
    ):
        cs.add(Field(namespace=NS, name=table, path=path, type="bigint"))
        cs.link(ds(table), EdgeKind.HAS_FIELD, fld(table, path), at)
    cs.add(
        Job(namespace="airflow://etl", name="clean_orders", job_type="BATCH"),
        Job(namespace="airflow://etl", name="report", job_type="SQL"),
    )
    cs.link(ds("public.orders"), EdgeKind.READS, job("clean_orders"), at)
    cs.link(job("clean_orders"), EdgeKind.WRITES, ds("public.orders_clean"), at)
    cs.link(ds("public.orders_clean"), EdgeKind.READS, job("report"), at)
    cs.link(job("report"), EdgeKind.WRITES, ds("public.report"), at)
    cs.link(
        fld("public.orders", "id"),
        EdgeKind.DERIVES,
        fld("public.orders_clean", "order_id"),
        at,
        {"job": job("clean_orders"), "transformation": "DIRECT"},
    )
    cs.link(
        fld("public.orders", "amount"),
        EdgeKind.DERIVES,
        fld("public.orders_clean", "amount_usd"),
        at,
        {"job": job("clean_orders")},
    )
    return cs


def canonical_hash(store: Store) -> str:
    nodes, edges = store.export()
    payload = {
        "nodes": [n.model_dump(mode="json") for n in nodes],
        "edges": [e.model_dump(mode="json") for e in edges],
        "health": [
            r.model_dump(mode="json")
            for r in store.health_page(list(HealthStatus), first=10_000).items
        ],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def test_apply_then_get_returns_nodes_with_attributes(store: Store) -> None:
    result = store.apply(pipeline())
    assert (result.nodes, result.edges) == (9, 10)
    found = store.get([ds("public.orders"), fld("public.orders", "id"), ds("missing")])
    assert set(found) == {ds("public.orders"), fld("public.orders", "id")}
    orders = found[ds("public.orders")]
    assert orders.kind is Kind.DATASET
    assert (orders.namespace, orders.name) == (NS, "public.orders")
    assert orders.attrs["owners"] == ["alice"]
    assert found[fld("public.orders", "id")].parts == ("id",)
    assert store.kinds([job("report"), "dataset|x|y"]) == {job("report"): Kind.JOB}


def test_upsert_merges_attributes_and_none_never_erases(store: Store) -> None:
    store.apply(pipeline())
    store.apply(ChangeSet().add(Dataset(namespace=NS, name="public.orders", platform="postgres")))
    attrs = store.get([ds("public.orders")])[ds("public.orders")].attrs
    assert attrs["platform"] == "postgres"
    assert attrs["owners"] == ["alice"]
    assert attrs["description"] == "the public.orders table"


def test_applying_the_same_changesets_twice_gives_an_identical_graph(store: Store) -> None:
    later = T0 + timedelta(days=1)
    changes = [pipeline(), pipeline(later)]
    for cs in changes:
        store.apply(cs)
    first = canonical_hash(store)
    for cs in changes:
        store.apply(cs)
    assert canonical_hash(store) == first


def test_a_changeset_that_fails_validation_half_way_leaves_nothing(store: Store) -> None:
    store.apply(pipeline())
    before = canonical_hash(store)
    bad = ChangeSet()
    bad.add(Dataset(namespace=NS, name="public.new_table"))
    bad.link(ds("public.new_table"), EdgeKind.READS, job("report"), T0)
    bad.link(ds("public.orders"), EdgeKind.READS, job("does_not_exist"), T0)
    with pytest.raises(InvalidInput, match="does_not_exist"):
        store.apply(bad)
    assert canonical_hash(store) == before
    assert store.get([ds("public.new_table")]) == {}


def test_edges_must_join_the_kinds_their_kind_allows(store: Store) -> None:
    store.apply(pipeline())
    bad = ChangeSet().link(ds("public.orders"), EdgeKind.WRITES, ds("public.report"), T0)
    with pytest.raises(InvalidInput, match="expected one of"):
        store.apply(bad)


def test_expand_follows_direction_and_kinds(store: Store) -> None:
    store.apply(pipeline())
    down = store.expand([ds("public.orders")], Direction.DOWNSTREAM, FLOW_KINDS)
    assert down == [Hop(ds("public.orders"), EdgeKind.READS, job("clean_orders"))]
    up = store.expand([ds("public.orders_clean")], Direction.UPSTREAM, FLOW_KINDS)
    assert up == [Hop(ds("public.orders_clean"), EdgeKind.WRITES, job("clean_orders"))]
    both = store.expand([job("clean_orders")], Direction.BOTH, [EdgeKind.READS, EdgeKind.WRITES])
    assert sorted(both) == sorted(
        [
            Hop(job("clean_orders"), EdgeKind.WRITES, ds("public.orders_clean")),
            Hop(job("clean_orders"), EdgeKind.READS, ds("public.orders")),
        ]
    )
    fields = store.expand([ds("public.orders")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    assert sorted(h.target for h in fields) == [
        fld("public.orders", "amount"),
        fld("public.orders", "id"),
    ]
    frontier = [ds("public.orders"), ds("public.orders_clean")]
    assert len(store.expand(frontier, Direction.DOWNSTREAM, [EdgeKind.READS])) == 2


def test_edges_carry_provenance(store: Store) -> None:
    store.apply(pipeline())
    store.apply(pipeline(T0 + timedelta(hours=5)))
    (edge,) = store.edges([fld("public.orders", "id")], Direction.DOWNSTREAM, [EdgeKind.DERIVES])
    assert edge.origin is Origin.API
    assert edge.first_seen == format_time(T0)
    assert edge.last_seen == format_time(T0 + timedelta(hours=5))
    assert edge.current
    assert edge.attrs == {"job": job("clean_orders"), "transformation": "DIRECT"}
    (upstream,) = store.edges([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    assert upstream.key == (ds("public.orders"), EdgeKind.READS, job("clean_orders"))


def _odd_dataset(attrs: dict[str, Any]) -> ChangeSet:
    change = ChangeSet().add(Dataset(namespace=NS, name="public.odd"))
    change.nodes[0] = change.nodes[0].model_copy(update={"attrs": {**attrs}})
    change.add(Field(namespace=NS, name="public.odd", path="id"))
    change.link(ds("public.odd"), EdgeKind.HAS_FIELD, fld("public.odd", "id"), T0, attrs=attrs)
    return change


def test_attributes_past_what_orjson_writes_round_trip_and_reapply_as_no_change(
    store: Store,
) -> None:
    odd = {"rows": 2**70, "ratio": 1e16, "inf": float("inf"), "nested": {"b": 1, "a": [2]}}
    store.apply(_odd_dataset(odd))
    assert store.get([ds("public.odd")])[ds("public.odd")].attrs == odd
    (edge,) = store.edges([ds("public.odd")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    assert edge.attrs == odd
    again = store.apply(_odd_dataset(odd))
    assert again.changes is None or (not again.changes.nodes and not again.changes.edges)
    assert store.get([ds("public.odd")])[ds("public.odd")].attrs == odd


@pytest.mark.parametrize("where", ["attrs", "name"])
def test_text_with_a_lone_surrogate_is_refused_and_changes_nothing(
    store: Store, where: str
) -> None:
    # JSON may escape a lone surrogate ("\\ud800"), which no store can keep as UTF-8.
    store.apply(pipeline())
    before = store.stats()
    if where == "attrs":
        change = _odd_dataset({"note": "bad \ud800 text"})
    else:
        change = ChangeSet().add(Dataset(namespace=NS, name="public.bad\ud800"))
    change.add(Dataset(namespace=NS, name="public.fine"))
    with pytest.raises(InvalidInput, match="not valid Unicode: it holds a lone surrogate"):
        store.apply(change)
    assert store.stats() == before
    assert store.get([ds("public.fine"), ds("public.odd")]) == {}


def test_an_edge_read_then_reported_again_reads_with_its_new_times(store: Store) -> None:
    """Reads after a write see the write, also where only an edge's times changed."""
    store.apply(pipeline())
    reads = [ds("public.orders")], Direction.DOWNSTREAM, [EdgeKind.READS, EdgeKind.HAS_FIELD]
    before = {e.key: e.last_seen for e in store.edges(*reads)}
    assert set(before.values()) == {format_time(T0)}
    store.apply(pipeline(T0 + timedelta(hours=5)))
    after = {e.key: (e.first_seen, e.last_seen) for e in store.edges(*reads)}
    later = (format_time(T0), format_time(T0 + timedelta(hours=5)))
    assert after == dict.fromkeys(before, later)


def test_ended_edges_are_history_and_as_of_travels_in_time(store: Store) -> None:
    store.apply(pipeline())
    t1 = T0 + timedelta(days=1)
    change = ChangeSet(origin=Origin.OPENLINEAGE)
    change.add(Dataset(namespace=NS, name="public.refunds"))
    change.link(ds("public.refunds"), EdgeKind.READS, job("clean_orders"), t1)
    change.endings.append(
        EdgeEnding(
            source_id=ds("public.orders"),
            kind=EdgeKind.READS,
            target_id=job("clean_orders"),
            at=format_time(t1),
        )
    )
    store.apply(change)
    now = store.expand([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    assert [h.target for h in now] == [ds("public.refunds")]
    between = store.expand(
        [job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS], T0 + timedelta(hours=12)
    )
    assert [h.target for h in between] == [ds("public.orders")]
    before = store.expand(
        [job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS], T0 - timedelta(hours=1)
    )
    assert before == []
    (old,) = [
        e for e in store.edges([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS], T0)
    ]
    assert old.ended_at == format_time(t1)
    # a later report revives the edge; an older replay does not
    store.apply(pipeline(T0))
    assert {
        h.target for h in store.expand([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    } == {ds("public.refunds")}
    store.apply(pipeline(t1 + timedelta(hours=1)))
    assert {
        h.target for h in store.expand([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    } == {
        ds("public.refunds"),
        ds("public.orders"),
    }


def test_delete_removes_the_node_its_edges_and_health(store: Store) -> None:
    store.apply(pipeline())
    reason = HealthReason(
        result_id="result|a|b|c|d",
        check_id="check|a|b|c",
        checked_id=ds("public.orders"),
        path=(ds("public.orders"),),
        hops=0,
        precision=Precision.CONFIRMED,
        message="failed",
    )
    store.apply(
        ChangeSet(
            health=[
                HealthRecord(
                    id=job("report"), kind=Kind.JOB, status=HealthStatus.AT_RISK, reasons=(reason,)
                )
            ]
        )
    )
    store.apply(ChangeSet(deletes=[job("report")]))
    assert store.get([job("report")]) == {}
    assert store.expand([ds("public.orders_clean")], Direction.DOWNSTREAM, FLOW_KINDS) == []
    assert store.expand([ds("public.report")], Direction.UPSTREAM, FLOW_KINDS) == []
    assert store.health([job("report")]) == {}
    assert store.search("report", SearchFilter(kinds=frozenset({Kind.JOB}))).items == []


def history(store: Store) -> tuple[list[str], list[str]]:
    """The pipeline with three runs of its job, each writing a version of its output."""
    cs = pipeline()
    runs, versions = [], []
    for n in range(3):
        cs.add(Run(namespace="airflow://etl", name="clean_orders", run_id=f"r{n}"))
        runs.append(make_id(Kind.RUN, "airflow://etl", "clean_orders", f"r{n}"))
        cs.add(DatasetVersion(namespace=NS, name="public.orders_clean", version=f"v{n}"))
        versions.append(make_id(Kind.DATASET_VERSION, NS, "public.orders_clean", f"v{n}"))
        cs.link(job("clean_orders"), EdgeKind.HAS_RUN, runs[-1], T0)
        cs.link(ds("public.orders_clean"), EdgeKind.HAS_VERSION, versions[-1], T0)
        cs.link(runs[-1], EdgeKind.WROTE, versions[-1], T0)
    store.apply(cs)
    return runs, versions


def test_history_edges_expand_beside_the_others_and_leave_with_their_node(store: Store) -> None:
    runs, versions = history(store)
    down, up = Direction.DOWNSTREAM, Direction.UPSTREAM

    def ends(ids: list[str], direction: Direction, *kinds: EdgeKind) -> set[tuple[str, str]]:
        found = {(h.kind.value, h.target) for h in store.expand(ids, direction, kinds)}
        # Nothing has ended: every stored edge is a current one.
        every = store.expand(ids, direction, kinds, include_ended=True)
        assert {(h.kind.value, h.target) for h in every} == found
        return found

    writes = ("WRITES", ds("public.orders_clean"))
    assert ends([job("clean_orders")], down, EdgeKind.WRITES) == {writes}
    assert ends([job("clean_orders")], down, EdgeKind.HAS_RUN, EdgeKind.WRITES) == {
        writes,
        *(("HAS_RUN", r) for r in runs),
    }
    assert ends([versions[0]], up, EdgeKind.WROTE, EdgeKind.HAS_VERSION) == {
        ("WROTE", runs[0]),
        ("HAS_VERSION", ds("public.orders_clean")),
    }
    assert ends([ds("public.orders_clean")], Direction.BOTH, EdgeKind.HAS_VERSION) == {
        ("HAS_VERSION", v) for v in versions
    }
    store.apply(ChangeSet(deletes=[runs[0]]))
    assert ends([job("clean_orders")], down, EdgeKind.HAS_RUN) == {("HAS_RUN", r) for r in runs[1:]}
    assert ends([versions[0]], up, EdgeKind.WROTE) == set()
    assert len(store.edges([job("clean_orders")], down, [EdgeKind.HAS_RUN])) == 2


def test_latest_versions_answer_each_request_with_the_latest_version_then(store: Store) -> None:
    _, versions = history(store)  # v0, v1, v2, all seen at T0
    later = ChangeSet()
    for n, days in ((3, 2), (4, 1)):  # v3 seen a day after v4
        later.add(DatasetVersion(namespace=NS, name="public.orders_clean", version=f"v{n}"))
        versions.append(make_id(Kind.DATASET_VERSION, NS, "public.orders_clean", f"v{n}"))
        later.link(
            ds("public.orders_clean"), EdgeKind.HAS_VERSION, versions[-1], T0 + timedelta(days)
        )
    store.apply(later)
    store.apply(
        ChangeSet(
            endings=[
                EdgeEnding(
                    source_id=ds("public.orders_clean"),
                    kind=EdgeKind.HAS_VERSION,
                    target_id=versions[3],
                    at=STAMPS[3],
                )
            ]
        )
    )
    clean, day = ds("public.orders_clean"), STAMPS
    answers = store.latest_versions(
        [
            VersionRequest(clean, day[0]),  # ties on time: the largest id
            VersionRequest(clean, day[0], frozenset({versions[2]})),
            VersionRequest(clean, day[1]),
            VersionRequest(clean, day[3]),  # v3 ended: v4 is the latest current one
            VersionRequest(clean, format_time(T0 - timedelta(days=1))),
            VersionRequest(ds("public.orders"), day[3]),  # no versions
            VersionRequest(ds("public.missing"), day[3]),
        ]
    )
    assert answers == [
        (day[0], versions[2]),
        (day[0], versions[1]),
        (day[1], versions[4]),
        (day[1], versions[4]),
        None,
        None,
        None,
    ]
    assert store.latest_versions([]) == []
    # Seen earlier than first thought, then deleted: the answers follow.
    earlier = T0 - timedelta(days=2)
    store.apply(ChangeSet().link(clean, EdgeKind.HAS_VERSION, versions[4], earlier))
    before = VersionRequest(clean, format_time(T0 - timedelta(days=1)))
    assert store.latest_versions([before]) == [(format_time(earlier), versions[4])]
    store.apply(ChangeSet(deletes=[versions[4], versions[2]]))
    assert store.latest_versions([before, VersionRequest(clean, day[3])]) == [
        None,
        (day[0], versions[1]),
    ]


def completed_runs(store: Store) -> dict[str, str]:
    """Runs of two jobs, by name: COMPLETE ones ending at various times, one that failed,
    one still running, one long run, one known before it completed, one ended edge."""
    hour = timedelta(hours=1)
    cs = ChangeSet()
    ids: dict[str, str] = {}

    def run(
        job_name: str, name: str, state: RunState, start: int, end: int | None, seen: int = -1
    ) -> None:
        cs.add(
            Run(
                namespace="airflow://etl",
                name=job_name,
                run_id=name,
                state=state,
                started_at=T0 + start * hour,
                ended_at=None if end is None else T0 + end * hour,
            )
        )
        ids[name] = make_id(Kind.RUN, "airflow://etl", job_name, name)
        cs.link(job(job_name), EdgeKind.HAS_RUN, ids[name], T0 + max(start, seen) * hour)

    cs.add(Job(namespace="airflow://etl", name="build"))
    cs.add(Job(namespace="airflow://etl", name="rebuild"))
    run("build", "short", RunState.COMPLETE, 2, 3)
    run("build", "long", RunState.COMPLETE, 1, 8)  # started first, ended last of all
    run("build", "failed", RunState.FAIL, 4, 9)
    run("build", "running", RunState.START, 5, None)
    run("build", "reported_late", RunState.COMPLETE, 5, 6, seen=12)  # first seen after it ended
    run("rebuild", "other_job", RunState.COMPLETE, 6, 7)
    store.apply(cs)
    return ids


def test_last_completed_runs_pick_the_run_that_completed_last_by_the_time(store: Store) -> None:
    ids = completed_runs(store)

    def at(hours: float) -> str:
        return format_time(T0 + timedelta(hours=hours))

    build, rebuild = job("build"), job("rebuild")
    answers = store.last_completed_runs(
        [
            RunRequest((build,), at(7.5)),  # the long run has not ended yet
            RunRequest((build,), at(8)),  # now it has, after the short one
            RunRequest((build,), at(20)),  # failed and running runs never count
            RunRequest((build,), at(2.5)),  # nothing completed yet
            RunRequest((build, rebuild), at(7.5)),  # the other job's run ended later
            RunRequest((build,), ""),  # no time: the latest of all
            RunRequest((job("missing"),), at(20)),
            RunRequest((), at(20)),
        ]
    )
    assert answers == [
        (at(3), ids["short"]),
        (at(8), ids["long"]),
        (at(8), ids["long"]),
        None,
        (at(7), ids["other_job"]),
        (at(8), ids["long"]),
        None,
        None,
    ]
    # The run first seen after it ended counts from when it was seen.
    assert store.last_completed_runs([RunRequest((build,), at(6.5))]) == [(at(3), ids["short"])]
    assert store.last_completed_runs([]) == []
    # An ended HAS_RUN edge still leads to the job's run; a run that completes later counts.
    store.apply(
        ChangeSet(
            endings=[
                EdgeEnding(source_id=build, kind=EdgeKind.HAS_RUN, target_id=ids["long"], at=at(9))
            ],
            nodes=[
                Node.from_key(
                    parse_id(ids["running"]),
                    {"state": "COMPLETE", "ended_at": at(10)},
                )
            ],
        )
    )
    assert store.last_completed_runs([RunRequest((build,), at(8)), RunRequest((build,), "")]) == [
        (at(8), ids["long"]),
        (at(10), ids["running"]),
    ]
    assert store.last_completed_runs([RunRequest((build,), at(11))]) == [(at(10), ids["running"])]
    store.apply(ChangeSet(deletes=[ids["running"]]))
    assert store.last_completed_runs([RunRequest((build,), at(11))]) == [(at(8), ids["long"])]


def test_health_is_stored_paged_and_removed(store: Store) -> None:
    store.apply(pipeline())
    reason = HealthReason(
        result_id="result|ns|t|c|r1",
        check_id="check|ns|t|c",
        checked_id=ds("public.orders"),
        path=(ds("public.orders"), job("clean_orders"), ds("public.orders_clean")),
        hops=2,
        precision=Precision.POTENTIAL,
        message="upstream check failed",
    )
    records = [
        HealthRecord(id=ds("public.orders"), kind=Kind.DATASET, status=HealthStatus.FAILING),
        HealthRecord(
            id=ds("public.orders_clean"),
            kind=Kind.DATASET,
            status=HealthStatus.AT_RISK,
            reasons=(reason,),
        ),
        HealthRecord(id=job("report"), kind=Kind.JOB, status=HealthStatus.AT_RISK),
    ]
    store.apply(ChangeSet(health=records))
    assert store.health([ds("public.orders_clean")])[ds("public.orders_clean")] == records[1]
    at_risk = store.health_page([HealthStatus.AT_RISK])
    assert [r.id for r in at_risk.items] == [ds("public.orders_clean"), job("report")]
    datasets = store.health_page([HealthStatus.AT_RISK], kinds=[Kind.DATASET])
    assert [r.id for r in datasets.items] == [ds("public.orders_clean")]
    first = store.health_page(list(HealthStatus), first=2)
    assert first.has_next_page
    rest = store.health_page(list(HealthStatus), first=2, after=first.end_cursor)
    assert [r.id for r in first.items + rest.items] == sorted(r.id for r in records)
    assert not rest.has_next_page
    store.apply(ChangeSet(health_removals=[job("report")]))
    assert [r.id for r in store.health_page([HealthStatus.AT_RISK]).items] == [
        ds("public.orders_clean")
    ]
    assert store.stats().health_by_status == {"AT_RISK": 1, "FAILING": 1}


def test_health_reads_after_writes_see_the_writes_never_an_earlier_read(store: Store) -> None:
    store.apply(pipeline())
    orders, clean, report = ds("public.orders"), ds("public.orders_clean"), job("report")
    failing = HealthRecord(id=orders, kind=Kind.DATASET, status=HealthStatus.FAILING)
    at_risk = HealthRecord(id=clean, kind=Kind.DATASET, status=HealthStatus.AT_RISK)
    assert store.health([orders, clean]) == {}
    assert store.health_page(list(HealthStatus)).items == []
    store.apply(ChangeSet(health=[failing, at_risk]))
    # Read once, so a store that keeps what it read has it in hand.
    assert store.health([orders, clean, report]) == {orders: failing, clean: at_risk}

    rewritten = at_risk.model_copy(update={"status": HealthStatus.FAILING})
    store.apply(ChangeSet(health=[rewritten], health_removals=[orders]))
    assert store.health([orders, clean]) == {clean: rewritten}
    assert [r.id for r in store.health_page([HealthStatus.FAILING]).items] == [clean]

    # A rejected changeset leaves health as it was.
    ghost = HealthRecord(id=ds("public.ghost"), kind=Kind.DATASET, status=HealthStatus.AT_RISK)
    with pytest.raises(InvalidInput):
        store.apply(ChangeSet(health=[failing, ghost], health_removals=[clean]))
    assert store.health([orders, clean]) == {clean: rewritten}

    # Deleting an entity deletes its health; a record written again afterwards is read.
    store.apply(ChangeSet(deletes=[clean]))
    assert store.health([clean]) == {}
    assert store.health_page(list(HealthStatus)).items == []
    store.apply(ChangeSet(health=[failing]))
    assert store.health([orders, clean]) == {orders: failing}
    assert store.health_page([HealthStatus.AT_RISK]).items == []
    assert [r.id for r in store.health_page(list(HealthStatus)).items] == [orders]


def test_health_for_an_entity_that_does_not_exist_is_rejected_and_nothing_is_written(
    store: Store,
) -> None:
    store.apply(pipeline())
    new_table = Dataset(namespace=NS, name="public.new")
    records = [
        HealthRecord(id=ds("public.orders"), kind=Kind.DATASET, status=HealthStatus.FAILING),
        HealthRecord(id=ds("public.ghost"), kind=Kind.DATASET, status=HealthStatus.AT_RISK),
        HealthRecord(id=new_table.id, kind=Kind.DATASET, status=HealthStatus.AT_RISK),
    ]
    with pytest.raises(InvalidInput, match=r"health for dataset\|postgres://db:5432\|public.ghost"):
        store.apply(ChangeSet(nodes=[new_table.to_node()], health=records))
    assert store.health([ds("public.orders"), new_table.id]) == {}
    assert store.get([new_table.id]) == {}
    # Health of a node written by the same changeset, and of a stored one, is accepted.
    store.apply(ChangeSet(nodes=[new_table.to_node()], health=[records[0], records[2]]))
    assert set(store.health([ds("public.orders"), new_table.id])) == {
        ds("public.orders"),
        new_table.id,
    }


def test_the_last_health_record_of_an_id_in_a_changeset_wins(store: Store) -> None:
    store.apply(pipeline())
    first = HealthRecord(id=ds("public.orders"), kind=Kind.DATASET, status=HealthStatus.AT_RISK)
    last = HealthRecord(id=ds("public.orders"), kind=Kind.DATASET, status=HealthStatus.FAILING)
    store.apply(ChangeSet(health=[first, last]))
    assert store.health([ds("public.orders")]) == {ds("public.orders"): last}
    store.apply(ChangeSet(health=[last, first]))
    assert store.health([ds("public.orders")]) == {ds("public.orders"): first}


def test_health_naming_finds_exactly_the_records_that_name_the_results(store: Store) -> None:
    store.apply(pipeline())
    store.apply(ChangeSet(nodes=[Dataset(namespace=NS, name='odd "name" ünïcode').to_node()]))
    odd = ds('odd "name" ünïcode')

    def reason(result: str, message: str = "upstream check failed") -> HealthReason:
        return HealthReason(
            result_id=result,
            check_id="check|ns|t|c",
            checked_id=ds("public.orders"),
            path=(ds("public.orders"),),
            hops=1,
            precision=Precision.POTENTIAL,
            message=message,
        )

    r1, r2, r20 = "result|ns|t|c|r1", 'result|ns|t|c|r2 "ü"', 'result|ns|t|c|r2 "ü"0'
    records = {
        ds("public.orders"): (reason(r1),),
        ds("public.orders_clean"): (reason(r1), reason(r2)),
        ds("public.report"): (reason(r20),),
        job("report"): (reason(r1, message=f"mentions {r2} and {json.dumps(r2)}"),),
        odd: (reason(r2),),
        job("clean_orders"): (),
    }
    store.apply(
        ChangeSet(
            health=[
                HealthRecord(
                    id=entity_id,
                    kind=Kind.JOB if entity_id.startswith("job") else Kind.DATASET,
                    status=HealthStatus.AT_RISK,
                    reasons=reasons,
                )
                for entity_id, reasons in records.items()
            ]
        )
    )
    stored = store.health(list(records))
    assert set(store.health_naming([r2])) == {ds("public.orders_clean"), odd}
    assert store.health_naming([r2]) == {i: stored[i] for i in (ds("public.orders_clean"), odd)}
    assert set(store.health_naming([r1, r20])) == {
        ds("public.orders"),
        ds("public.orders_clean"),
        ds("public.report"),
        job("report"),
    }
    assert store.health_naming(["result|ns|t|c|r3"]) == {}
    assert store.health_naming([]) == {}
    # Writes after the first question: a record rewritten to name other results, one
    # removed, a node deleted (its record with it), and a record both written and removed.
    orders_clean, report = ds("public.orders_clean"), ds("public.report")
    rewritten = HealthRecord(
        id=orders_clean, kind=Kind.DATASET, status=HealthStatus.AT_RISK, reasons=(reason(r20),)
    )
    written_then_removed = HealthRecord(
        id=job("clean_orders"), kind=Kind.JOB, status=HealthStatus.AT_RISK, reasons=(reason(r2),)
    )
    store.apply(
        ChangeSet(
            health=[rewritten, written_then_removed],
            health_removals=[ds("public.orders"), job("clean_orders")],
        )
    )
    store.apply(ChangeSet(deletes=[odd]))
    assert store.health_naming([r2]) == {}
    assert store.health_naming([r1]) == {job("report"): stored[job("report")]}
    assert store.health_naming([r20]) == {orders_clean: rewritten, report: stored[report]}


def test_search_matches_names_descriptions_owners_tags_and_field_names(store: Store) -> None:
    store.apply(pipeline())
    ids = {n.id for n in store.search("orders_clean").items}
    assert ds("public.orders_clean") in ids
    assert ds("public.report") not in ids
    by_field = store.search("amount_usd", SearchFilter(kinds=frozenset({Kind.DATASET})))
    assert [n.id for n in by_field.items] == [ds("public.orders_clean")]
    assert [n.id for n in store.search("carol").items] == [ds("public.report")]
    assert [n.id for n in store.search("repo").items if n.kind is Kind.DATASET] == [
        ds("public.report")
    ]
    tagged = store.search("", SearchFilter(tag="staging"))
    assert [n.id for n in tagged.items] == [ds("public.orders_clean")]
    owned = store.search("table", SearchFilter(owner="alice"))
    assert [n.id for n in owned.items] == [ds("public.orders")]
    jobs = store.search("", SearchFilter(kinds=frozenset({Kind.JOB})))
    assert [n.id for n in jobs.items] == [job("clean_orders"), job("report")]
    in_ns = store.search("", SearchFilter(namespace="airflow://etl"))
    assert {n.kind for n in in_ns.items} == {Kind.JOB}
    assert store.search("nothing_matches_this").items == []


def test_search_pages_with_cursors_cover_everything_once(store: Store) -> None:
    store.apply(pipeline())
    seen: list[str] = []
    after = None
    while True:
        page = store.search("", first=3, after=after)
        seen.extend(n.id for n in page.items)
        if not page.has_next_page:
            break
        after = page.end_cursor
    nodes, _ = store.export()
    assert seen == [n.id for n in nodes]
    with pytest.raises(InvalidInput):
        store.search("", after="not-a-cursor")
    with pytest.raises(InvalidInput):
        store.search("", first=-1)


def test_search_and_health_pages_count_every_item_when_asked(store: Store) -> None:
    # The total was never given: a first page could say whether items exist, not how many.
    store.apply(pipeline())
    nodes, _ = store.export()
    every = [n.id for n in nodes]
    datasets = SearchFilter(kinds=frozenset({Kind.DATASET}))
    hits = [n.id for n in store.search("orders", first=1000).items]
    assert len(hits) >= 3
    for query, filters, expected in [
        ("", NO_FILTER, len(every)),
        ("", datasets, sum(i.startswith("dataset|") for i in every)),
        ("orders", NO_FILTER, len(hits)),
        ("nothing_matches_this", NO_FILTER, 0),
    ]:
        first = store.search(query, filters, first=0, count=True)
        assert first.items == [] and first.total == expected, (query, filters)
        after = None
        for size in (2, 1000):  # a page in the middle, and one that reaches the end
            page = store.search(query, filters, first=size, after=after, count=True)
            assert page.total == expected, (query, filters, size)
            after = page.end_cursor
        past = store.search(query, filters, first=5, after=after, count=True)
        assert (past.items, past.total) == ([], expected), (query, filters)
    assert store.search("orders").total is None  # counted only when asked

    assert store.health_page(list(HealthStatus), first=0, count=True).total == 0
    store.apply(
        ChangeSet(
            health=[
                HealthRecord(id=i, kind=Kind.DATASET, status=HealthStatus.AT_RISK)
                for i in every
                if i.startswith("dataset|")
            ]
            + [HealthRecord(id=job("report"), kind=Kind.JOB, status=HealthStatus.FAILING)]
        )
    )
    at_risk = sum(i.startswith("dataset|") for i in every)
    for statuses, kinds, expected in [
        (list(HealthStatus), (), at_risk + 1),
        ([HealthStatus.AT_RISK], (), at_risk),
        (list(HealthStatus), [Kind.JOB], 1),
        ([HealthStatus.OK], (), 0),
    ]:
        for first, after in [(0, None), (1, None), (1000, None), (5, encode_cursor(50))]:
            page = store.health_page(statuses, kinds, first=first, after=after, count=True)
            assert page.total == expected, (statuses, kinds, first, after)
    assert store.health_page(list(HealthStatus), first=1).total is None


def test_search_treats_query_syntax_as_text(store: Store) -> None:
    store.apply(pipeline())
    for query in ['"', "orders OR", "a*b", "NEAR(", "-x", "col:val", "'; DROP TABLE nodes; --"]:
        store.search(query)
    assert store.stats().nodes == 9


def test_names_with_quotes_and_braces_round_trip(store: Store) -> None:
    names = ['it\'s "quoted"', "back`tick`", "{braces}", "a // comment", "x'); MATCH (n) DELETE n"]
    cs = ChangeSet()
    for name in names:
        cs.add(Dataset(namespace="s3://bucket", name=name, description=name))
    store.apply(cs)
    ids = [make_id(Kind.DATASET, "s3://bucket", n) for n in names]
    found = store.get(ids)
    assert [found[i].name for i in ids] == names
    assert store.stats().nodes == len(names)


def test_traversal_terminates_on_a_job_reading_and_writing_the_same_dataset(store: Store) -> None:
    cs = pipeline()
    cs.link(job("report"), EdgeKind.WRITES, ds("public.orders"), T0)  # a loop back upstream
    cs.add(Job(namespace="airflow://etl", name="dedupe"))
    cs.link(ds("public.report"), EdgeKind.READS, job("dedupe"), T0)
    cs.link(job("dedupe"), EdgeKind.WRITES, ds("public.report"), T0)  # reads and writes itself
    store.apply(cs)
    result = bfs(store, [ds("public.orders")], Direction.DOWNSTREAM, FLOW_KINDS)
    assert result.ids() == [
        job("clean_orders"),
        ds("public.orders_clean"),
        job("report"),
        ds("public.report"),
        job("dedupe"),
    ]
    assert strongly_connected(result.hops, Direction.DOWNSTREAM) == [
        [ds("public.orders"), ds("public.orders_clean"), job("clean_orders"), job("report")],
        [ds("public.report"), job("dedupe")],
    ]


def test_stats_and_export_are_sorted_and_complete(store: Store) -> None:
    store.apply(pipeline())
    stats = store.stats()
    assert stats.nodes_by_kind == {"DATASET": 3, "FIELD": 4, "JOB": 2}
    assert stats.edges_by_kind == {"DERIVES": 2, "HAS_FIELD": 4, "READS": 2, "WRITES": 2}
    nodes, edges = store.export()
    node_ids = [n.id for n in nodes]
    edge_keys = [e.key for e in edges]
    assert node_ids == sorted(node_ids)
    assert edge_keys == sorted(edge_keys)
    assert len(edge_keys) == 10
    store.ping()


def test_search_ranks_own_name_matches_first_then_catalog_kinds(store: Store) -> None:
    store.apply(pipeline())
    hits = [n.id for n in store.search("report").items]
    # both are named "report"; the dataset comes before the job
    assert hits[:2] == [ds("public.report"), job("report")]
    hits = [n.id for n in store.search("orders_clean").items]
    assert hits[0] == ds("public.orders_clean")
    # its fields match only through the dataset name they carry: after the dataset
    assert set(hits[1:]) == {
        fld("public.orders_clean", "order_id"),
        fld("public.orders_clean", "amount_usd"),
    }
    hits = [n.id for n in store.search("amount").items]
    assert hits[:2] == [fld("public.orders", "amount"), fld("public.orders_clean", "amount_usd")]


def test_search_orders_whole_words_and_shorter_names_first_on_every_store(store: Store) -> None:
    # The stores ordered within a kind by their engines' scores (FTS5's bm25, Lucene's),
    # so their pages held different entities; the embedded store put raw_orders before
    # public.orders for "orders".
    names = [
        "shop.public.orders",
        "public.raw_orders",
        "public.orders",
        "public.ordersummary",
        "orders",
        "staging.stg_orders",
    ]
    store.apply(
        ChangeSet().add(
            *(Dataset(namespace=NS, name=n, description="orders " * 3) for n in names),
            Dataset(namespace=NS, name="public.payments", description="orders of payments"),
        )
    )
    hits = [n.name for n in store.search("orders").items]
    assert hits == [
        "orders",
        "public.orders",
        "public.raw_orders",  # whole words: raw, orders
        "shop.public.orders",  # as long as the next one: by id
        "staging.stg_orders",
        "public.ordersummary",  # "orders" only starts its word
        "public.payments",  # in its description, not its name
    ]
    assert [n.name for n in store.search("public orders", first=3).items] == [
        "public.orders",
        "public.raw_orders",
        "shop.public.orders",
    ]


def test_edges_with_the_ended_ones_give_the_whole_history(store: Store) -> None:
    store.apply(pipeline())
    source, target = fld("public.orders", "id"), fld("public.orders_clean", "order_id")
    ended_at = format_time(T0 + timedelta(days=2))
    store.apply(
        ChangeSet(
            endings=[
                EdgeEnding(source_id=source, kind=EdgeKind.DERIVES, target_id=target, at=ended_at)
            ]
        )
    )
    assert store.edges([source], Direction.DOWNSTREAM, [EdgeKind.DERIVES]) == []
    everything = store.edges([source], Direction.DOWNSTREAM, [EdgeKind.DERIVES], include_ended=True)
    assert [(e.target_id, e.ended_at) for e in everything] == [(target, ended_at)]
    upstream = store.edges([target], Direction.UPSTREAM, [EdgeKind.DERIVES], include_ended=True)
    assert upstream == everything
    # Current edges come too, and only of the kinds asked for.
    both = store.edges(
        [job("clean_orders")], Direction.BOTH, [EdgeKind.READS, EdgeKind.WRITES], include_ended=True
    )
    assert {(e.source_id, e.kind, e.target_id) for e in both} == {
        (ds("public.orders"), EdgeKind.READS, job("clean_orders")),
        (job("clean_orders"), EdgeKind.WRITES, ds("public.orders_clean")),
    }
    with pytest.raises(InvalidInput, match="takes no as_of"):
        store.edges([source], Direction.DOWNSTREAM, [EdgeKind.DERIVES], T0, include_ended=True)
    # Hops the same way.
    assert store.expand([source], Direction.DOWNSTREAM, [EdgeKind.DERIVES]) == []
    assert store.expand([target], Direction.UPSTREAM, [EdgeKind.DERIVES], include_ended=True) == [
        Hop(target, EdgeKind.DERIVES, source)
    ]
    hops = store.expand(
        [job("clean_orders")], Direction.BOTH, [EdgeKind.READS, EdgeKind.WRITES], include_ended=True
    )
    assert {(h.source, h.kind, h.target) for h in hops} == {
        (job("clean_orders"), EdgeKind.READS, ds("public.orders")),
        (job("clean_orders"), EdgeKind.WRITES, ds("public.orders_clean")),
    }
    with pytest.raises(InvalidInput, match="takes no as_of"):
        store.expand([source], Direction.DOWNSTREAM, [EdgeKind.DERIVES], T0, include_ended=True)


def test_an_edge_ended_by_the_changeset_that_reports_it_keeps_its_history(store: Store) -> None:
    store.apply(pipeline())
    later = T0 + timedelta(days=4)
    cs = ChangeSet()
    cs.link(ds("public.orders"), EdgeKind.READS, job("clean_orders"), later, {"x": 1})
    cs.endings.append(
        EdgeEnding(
            source_id=ds("public.orders"),
            kind=EdgeKind.READS,
            target_id=job("clean_orders"),
            at=format_time(later + timedelta(days=1)),
        )
    )
    store.apply(cs)
    (edge,) = store.edges([job("clean_orders")], Direction.UPSTREAM, [EdgeKind.READS], later)
    assert edge.first_seen == format_time(T0)
    assert edge.last_seen == format_time(later)
    assert edge.ended_at == format_time(later + timedelta(days=1))
    assert edge.attrs == {"x": 1}


def test_reads_after_writes_see_the_writes_never_an_earlier_read(store: Store) -> None:
    store.apply(pipeline())
    orders, derives = ds("public.orders"), fld("public.orders", "id")
    # Read everything once, so a store that keeps what it read has it in hand.
    assert store.get([orders])[orders].attrs["owners"] == ["alice"]
    (edge,) = store.edges([derives], Direction.DOWNSTREAM, [EdgeKind.DERIVES])
    assert edge.current

    store.apply(ChangeSet().add(Dataset(namespace=NS, name="public.orders", owners=["dave"])))
    assert store.get([orders])[orders].attrs["owners"] == ["dave"]

    ended_at = format_time(T0 + timedelta(days=2))
    target = fld("public.orders_clean", "order_id")
    store.apply(
        ChangeSet(
            endings=[
                EdgeEnding(source_id=derives, kind=EdgeKind.DERIVES, target_id=target, at=ended_at)
            ]
        )
    )
    (old,) = store.edges([derives], Direction.DOWNSTREAM, [EdgeKind.DERIVES], T0)
    assert old.ended_at == ended_at

    # A rejected changeset leaves what readers see as it was.
    bad = ChangeSet().add(Dataset(namespace=NS, name="public.orders", owners=["eve"]))
    bad.link(orders, EdgeKind.READS, "job|airflow://etl|missing", T0)
    with pytest.raises(InvalidInput):
        store.apply(bad)
    assert store.get([orders])[orders].attrs["owners"] == ["dave"]

    store.apply(ChangeSet(deletes=[orders]))
    assert store.get([orders]) == {}
    assert store.edges([derives], Direction.DOWNSTREAM, [EdgeKind.DERIVES], T0) == [old]


# --- merging what is reported again: the store folds reports like merge_attrs/merge_edge ---

STAMPS = [format_time(T0 + timedelta(days=d)) for d in range(4)]
# Shared objects on purpose: a store may recognise attributes it was last given.
ATTRS_POOL: list[dict[str, Any]] = [{}, {}, {"p": 1}, {"p": 2}, {"p": 1, "q": 3}]
MERGE_NODES = [ds("public.a"), ds("public.b"), job("j")]


@st.composite
def reports(draw: st.DrawFn) -> ChangeSet:
    """A changeset re-reporting the same few nodes and edges (some inferred), with endings
    (some retracting)."""
    cs = ChangeSet(origin=draw(st.sampled_from([Origin.OPENLINEAGE, Origin.API])))
    for node_id in MERGE_NODES:
        node = Node.from_key(parse_id(node_id))
        cs.nodes.append(node.model_copy(update={"attrs": draw(st.sampled_from(ATTRS_POOL))}))
    for _ in range(draw(st.integers(0, 4))):
        first = draw(st.sampled_from(STAMPS))
        edge = Edge(
            source_id=draw(st.sampled_from(MERGE_NODES[:2])),
            kind=EdgeKind.READS,
            target_id=job("j"),
            origin=draw(st.sampled_from([cs.origin, Origin.INFERRED])),
            first_seen=first,
            last_seen=max(first, draw(st.sampled_from(STAMPS))),
        )
        # model_copy keeps the pooled object itself, which validation would copy
        cs.edges.append(edge.model_copy(update={"attrs": draw(st.sampled_from(ATTRS_POOL))}))
    for _ in range(draw(st.integers(0, 2))):
        cs.endings.append(
            EdgeEnding(
                source_id=draw(st.sampled_from(MERGE_NODES[:2])),
                kind=EdgeKind.READS,
                target_id=job("j"),
                at=draw(st.sampled_from(STAMPS)),
                retract=draw(st.booleans()),
            )
        )
    return cs


def folded(changesets: list[ChangeSet]) -> tuple[dict[str, Any], dict[Any, Edge]]:
    """What applying the changesets in order must store, by merge_attrs/merge_edge/end_edge."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[Any, Edge] = {}
    for changeset in changesets:
        for node in changeset.nodes:
            nodes[node.id] = merge_attrs(nodes.get(node.id, {}), node.attrs)
        reported: dict[Any, Edge] = {}
        for edge in changeset.edges:
            reported[edge.key] = merge_edge(reported.get(edge.key), edge)
        for key, edge in reported.items():
            edges[key] = merge_edge(edges.get(key), edge)
        for ending in changeset.endings:
            key = (ending.source_id, ending.kind, ending.target_id)
            if key in edges:
                edges[key] = end_edge(edges[key], ending.at, retract=ending.retract)
    return nodes, edges


@pytest.mark.parametrize("kind", STORE_KINDS)
@settings(max_examples=60, deadline=None)
@given(st.lists(reports(), min_size=1, max_size=6))
def test_reports_fold_like_merge_attrs_merge_edge_and_end_edge(
    kind: str, changesets: list[ChangeSet]
) -> None:
    store = make_store(kind)
    try:
        for changeset in changesets:
            store.apply(changeset)
        nodes, edges = store.export()
        expected_nodes, expected_edges = folded(changesets)
        assert {n.id: n.attrs for n in nodes} == expected_nodes
        assert {e.key: e.model_dump() for e in edges} == {
            k: e.model_dump() for k, e in expected_edges.items()
        }
        current = {
            (h.target, h.source)
            for h in store.expand([job("j")], Direction.UPSTREAM, [EdgeKind.READS])
        }
        assert current == {(k[0], k[2]) for k, e in expected_edges.items() if e.current}
    finally:
        store.close()


def test_an_edge_reported_again_with_the_attributes_object_it_took_on_still_merges_by_time(
    store: Store,
) -> None:
    # One attributes object per description, shared between reports, as translators do.
    x: dict[str, Any] = {"p": 1}
    y: dict[str, Any] = {"p": 2}
    key = (ds("public.a"), EdgeKind.READS, job("j"))

    def report(attrs: dict[str, Any], day: int) -> dict[str, Any]:
        cs = ChangeSet(nodes=[Node.from_key(parse_id(i)) for i in MERGE_NODES[::2]])
        edge = Edge(
            source_id=key[0],
            kind=key[1],
            target_id=key[2],
            first_seen=STAMPS[day],
            last_seen=STAMPS[day],
        )
        cs.edges.append(edge.model_copy(update={"attrs": attrs}))
        store.apply(cs)
        return store.edges([key[0]], Direction.DOWNSTREAM, [key[1]])[0].attrs

    assert report(x, 1) == {"p": 1}
    assert report(y, 0) == {"p": 1}  # older: the stored value stays
    assert report(y, 2) == {"p": 2}  # newer: y wins, though y was reported before
    assert report(x, 3) == {"p": 1}  # newer again: x wins, though x was reported before
    assert report(y, 2) == {"p": 1}  # older: nothing changes
    store.apply(ChangeSet(deletes=[key[0]]))
    assert report(x, 3) == {"p": 1}  # made anew after a delete, with the same object


def test_the_embedded_store_names_what_a_changeset_changed() -> None:
    store = open_store("memory://")
    first = pipeline(T0)
    result = store.apply(first)
    assert result.changes is not None
    assert len(result.changes.nodes) == len(first.normalized().nodes)  # all new
    assert len(result.changes.edges) == len(first.normalized().edges)
    # Reported again later: only seen times move, which no read of the present sees.
    again = store.apply(pipeline(T0 + timedelta(days=1)))
    assert again.changes is not None
    assert again.changes.is_empty()
    # An ending, a revival, a new attribute and a new edge are changes.
    stamp = format_time(T0 + timedelta(days=2))
    ending = ChangeSet(
        endings=[
            EdgeEnding(
                source_id=ds("public.orders"),
                kind=EdgeKind.READS,
                target_id=job("clean_orders"),
                at=stamp,
            )
        ]
    )
    ended = store.apply(ending)
    assert ended.changes is not None
    assert [e.source_id for e in ended.changes.endings] == [ds("public.orders")]
    revival = ChangeSet().add(Dataset(namespace=NS, name="public.orders", description="new"))
    revival.link(ds("public.orders"), EdgeKind.READS, job("clean_orders"), T0 + timedelta(days=3))
    revival.link(ds("public.report"), EdgeKind.READS, job("clean_orders"), T0 + timedelta(days=3))
    revived = store.apply(revival)
    assert revived.changes is not None
    assert [n.attrs["description"] for n in revived.changes.nodes] == ["new"]
    assert sorted(e.source_id for e in revived.changes.edges) == [
        ds("public.orders"),
        ds("public.report"),
    ]
    store.close()


# --- latest versions and runs by the health rules' order --------------------------------------

HISTORY_OWNERS = {ds("public.orders_clean"): Kind.DATASET_VERSION, job("clean_orders"): Kind.RUN}
# Times as stored attributes: equal instants written differently, naive, malformed, not text.
MEMBER_TIMES: list[object] = [
    "2026-03-01T05:00:00Z",
    "2026-03-01T10:00:00+05:00",
    "2026-03-01T06:00:00+00:00",
    "2026-03-01T04:00:00",
    "2026-03-02T00:00:00.000000Z",
    "yesterday",
    "",
    17,
    None,  # the attribute is absent
]


def member(owner: str, n: int, when: object = None, **extra: object) -> Node:
    """Version ``n`` of the dataset, or run ``n`` of the job, with its time attribute."""
    kind = HISTORY_OWNERS[owner]
    key = parse_id(owner)
    node = Node.from_key(parse_id(make_id(kind, key.namespace, key.name, f"m{n}")))
    attr = "created_at" if kind is Kind.DATASET_VERSION else "started_at"
    attrs: dict[str, Any] = {"note": f"m{n}", **extra}
    if when is not None:
        attrs[attr] = when
    return node.model_copy(update={"attrs": attrs})


def member_edge(owner: str, n: int, hour: int) -> Edge:
    """The HAS_VERSION or HAS_RUN edge to member ``n``, seen at ``hour``."""
    kind = (
        EdgeKind.HAS_VERSION if HISTORY_OWNERS[owner] is Kind.DATASET_VERSION else EdgeKind.HAS_RUN
    )
    seen = format_time(T0 + timedelta(hours=hour))
    return Edge(
        source_id=owner,
        kind=kind,
        target_id=member(owner, n).id,
        origin=Origin.API,
        first_seen=seen,
        last_seen=seen,
    )


def expected_histories(store: Store) -> dict[str, list[tuple[str, str]]]:
    """The histories of the owners that have current edges of their kind, as the rules
    order them ((stamp, member) ascending), from everything exported."""
    nodes, exported = store.export()
    attrs = {n.id: n.attrs for n in nodes}
    edges = list(exported)
    histories: dict[str, list[tuple[str, str]]] = {}
    for owner, member_kind in HISTORY_OWNERS.items():
        edge_kind, _, names = HISTORY_ORDER[parse_id(owner).kind]
        targets = [e.target_id for e in edges if e.key[:2] == (owner, edge_kind) and e.current]
        if not targets:
            continue
        members = [t for t in targets if parse_id(t).kind is member_kind]
        # the first of the member's times it has (a run without a start: its end)
        histories[owner] = sorted(
            (next(filter(None, (time_stamp(attrs[m].get(n)) for n in names)), ""), m)
            for m in members
        )
    return histories


def expected_latest(store: Store) -> dict[str, str | None]:
    """latest_history of the owners as the rules define it, from everything exported."""
    return {
        owner: history[-1][1] if history else None
        for owner, history in expected_histories(store).items()
    }


def expected_between(history: list[tuple[str, str]], start: str, end: str) -> list[tuple[str, str]]:
    """history_between of one history: from start to end, after the member before start."""
    if start > end:
        return []
    before = [key for key in history if key < (start, "")]
    within = [key for key in history if (start, "") <= key and key[0] <= end]
    return [before[-1], *within] if before else within


def test_latest_history_orders_by_the_members_own_times_then_id(store: Store) -> None:
    clean, etl = ds("public.orders_clean"), job("clean_orders")
    store.apply(pipeline())
    owners = [clean, etl, ds("public.orders"), job("report"), ds("public.missing")]
    # Datasets and jobs without versions or runs, and ids of other kinds, are absent.
    assert store.latest_history(owners) == {}
    assert store.latest_history([]) == {}
    cs = ChangeSet()
    # 10:00+05:00 is 05:00Z: as text it would sort last; first seen says nothing either.
    for n, when, hour in ((0, "2026-03-01T10:00:00+05:00", 9), (1, "2026-03-01T06:00:00Z", 1)):
        cs.nodes.append(member(clean, n, when))
        cs.edges.append(member_edge(clean, n, hour))
    cs.nodes.append(member(clean, 2, "not a time"))
    cs.edges.append(member_edge(clean, 2, 12))
    for n, when in ((0, 12345), (1, "2026-03-02T00:00:00Z"), (2, "2026-03-02T00:00:00+00:00")):
        cs.nodes.append(member(etl, n, when))
        cs.edges.append(member_edge(etl, n, 0))
    store.apply(cs)
    m = {o: [member(o, n).id for n in range(4)] for o in (clean, etl)}
    # Equal times: the larger id. Malformed or non-text times sort before every time.
    assert store.latest_history([*owners, m[clean][0], fld("public.orders", "id")]) == {
        clean: m[clean][1],
        etl: m[etl][2],
    }
    # A member's time moves it; a new member with an equal time and a larger id wins.
    store.apply(ChangeSet(nodes=[member(clean, 2, "2026-03-01T07:00:00+00:00")]))
    assert store.latest_history([clean]) == {clean: m[clean][2]}
    store.apply(ChangeSet(nodes=[member(clean, 0, "2026-03-03T00:00:00Z")]))
    assert store.latest_history([clean]) == {clean: m[clean][0]}
    store.apply(ChangeSet(nodes=[member(etl, 3, "2026-03-02T00:00:00Z")]))  # no edge yet
    assert store.latest_history([etl]) == {etl: m[etl][2]}
    store.apply(ChangeSet(edges=[member_edge(etl, 3, 2)]))
    assert store.latest_history([etl]) == {etl: m[etl][3]}
    # Attributes without the time leave it as it was (None never erases a value).
    store.apply(ChangeSet(nodes=[member(clean, 0, None, rows=3)]))
    assert store.latest_history([clean]) == {clean: m[clean][0]}
    # An ended edge drops its member until the edge is reported again.
    ending = EdgeEnding(
        source_id=clean, kind=EdgeKind.HAS_VERSION, target_id=m[clean][0], at=STAMPS[2]
    )
    store.apply(ChangeSet(endings=[ending]))
    assert store.latest_history([clean]) == {clean: m[clean][2]}
    store.apply(ChangeSet(edges=[member_edge(clean, 0, 24 * 3)]))
    assert store.latest_history([clean]) == {clean: m[clean][0]}
    # Deleted members and owners leave.
    store.apply(ChangeSet(deletes=[m[clean][0], m[etl][3]]))
    assert store.latest_history([clean, etl]) == {clean: m[clean][2], etl: m[etl][2]}
    store.apply(ChangeSet(deletes=[m[etl][0], m[etl][1], m[etl][2]]))
    assert store.latest_history([clean, etl]) == {clean: m[clean][2]}
    # A dataset whose current versions are all model versions has versions but no latest.
    report = ds("public.report")
    mv = make_id(Kind.MODEL_VERSION, "mlflow://models", "churn", "1")
    store.apply(
        ChangeSet(
            nodes=[Node.from_key(parse_id(mv))],
            edges=[
                Edge(
                    source_id=report,
                    kind=EdgeKind.HAS_VERSION,
                    target_id=mv,
                    origin=Origin.API,
                    first_seen=STAMPS[0],
                    last_seen=STAMPS[0],
                )
            ],
        )
    )
    assert store.latest_history([report, clean]) == {report: None, clean: m[clean][2]}
    store.apply(ChangeSet(deletes=[clean]))
    assert store.latest_history([report, clean]) == {report: None}
    assert store.latest_history([report]) == expected_latest(store) | {report: None}


def member_ending(owner: str, n: int, hour: int) -> EdgeEnding:
    """The ending, at ``hour``, of the HAS_VERSION or HAS_RUN edge to member ``n``."""
    edge = member_edge(owner, n, hour)
    return EdgeEnding(source_id=owner, kind=edge.kind, target_id=edge.target_id, at=edge.last_seen)


@st.composite
def history_steps(draw: st.DrawFn) -> ChangeSet:
    """A changeset that adds, re-times, links, ends or deletes versions and runs."""
    cs = ChangeSet(origin=Origin.API)
    for _ in range(draw(st.integers(1, 3))):
        owner = draw(st.sampled_from(sorted(HISTORY_OWNERS)))
        n = draw(st.integers(0, 3))
        step = draw(st.sampled_from(["link", "time", "end", "delete"]))
        hour = draw(st.integers(0, 6))
        if step == "link":
            cs.nodes.append(member(owner, n, draw(st.sampled_from(MEMBER_TIMES))))
            cs.edges.append(member_edge(owner, n, hour))
        elif step == "time":
            cs.nodes.append(member(owner, n, draw(st.sampled_from(MEMBER_TIMES))))
        elif step == "end":
            cs.endings.append(member_ending(owner, n, hour))
        else:
            cs.deletes.append(member(owner, n).id)
    return cs


@pytest.mark.parametrize("kind", STORE_KINDS)
@settings(max_examples=40, deadline=None)
@given(st.lists(history_steps(), min_size=1, max_size=8), st.booleans())
def test_latest_history_follows_every_write_like_a_reading_of_all_versions(
    kind: str, steps: list[ChangeSet], ask_first: bool
) -> None:
    store = make_store(kind)
    try:
        store.apply(pipeline())
        owners = sorted(HISTORY_OWNERS)
        if ask_first:  # a store may keep what it answered and update it as writes come
            assert store.latest_history(owners) == {}
        for changeset in steps:
            if changeset.deletes and (changeset.nodes or changeset.edges):
                store.apply(ChangeSet(deletes=changeset.deletes))
                changeset = changeset.model_copy(update={"deletes": []})
            store.apply(changeset)
            if ask_first:
                assert store.latest_history(owners) == expected_latest(store)
        assert store.latest_history(owners) == expected_latest(store)
        histories = expected_histories(store)
        windows = [("", format_time(T0 + timedelta(days=2)))] + [
            (format_time(T0 + timedelta(hours=a)), format_time(T0 + timedelta(hours=b)))
            for a, b in ((4, 6), (5, 5), (6, 30), (-10, 4), (30, 40), (6, 4))
        ]
        requests = [
            HistoryRequest(o, a, b) for o in [*owners, ds("public.missing")] for a, b in windows
        ]
        assert store.history_between(requests) == [
            expected_between(histories.get(r.owner_id, []), r.start, r.end) for r in requests
        ]
    finally:
        store.close()


RUN_STATES = ["COMPLETE", "COMPLETE", "FAIL", "START", None]


@st.composite
def run_steps(draw: st.DrawFn) -> ChangeSet:
    """A changeset that adds runs of the job, changes their state and times, links them
    to the job at some hour, ends those edges or deletes runs."""
    cs = ChangeSet(origin=Origin.API)
    owner = job("clean_orders")
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 4))
        step = draw(st.sampled_from(["link", "report", "end", "delete"]))
        hour = draw(st.integers(0, 6))
        if step in ("link", "report"):
            attrs: dict[str, Any] = {}
            state = draw(st.sampled_from(RUN_STATES))
            if state is not None:
                attrs["state"] = state
            for name in ("started_at", "ended_at"):
                when = draw(st.sampled_from([None, *MEMBER_TIMES]))
                if when is not None:
                    attrs[name] = when
            cs.nodes.append(member(owner, n).model_copy(update={"attrs": attrs}))
            if step == "link":
                cs.edges.append(member_edge(owner, n, hour))
        elif step == "end":
            cs.endings.append(member_ending(owner, n, hour))
        else:
            cs.deletes.append(member(owner, n).id)
    return cs


def expected_completed(store: Store, at: str) -> tuple[str, str] | None:
    """last_completed_runs of the job at a time, from everything exported."""
    nodes, edges = store.export()
    attrs = {n.id: n.attrs for n in nodes}
    owner = job("clean_orders")
    found = []
    for edge in edges:
        if edge.key[:2] != (owner, EdgeKind.HAS_RUN) or (at and edge.first_seen > at):
            continue
        run = attrs[edge.target_id]
        if run.get("state") != "COMPLETE":
            continue
        stamp = time_stamp(run.get("ended_at")) or time_stamp(run.get("started_at"))
        if not at or stamp <= at:
            found.append((stamp, edge.target_id))
    return max(found, default=None)


# Fewer sequences on Neo4j, where each step is a round trip or more.
RUN_EXAMPLES = {"embedded": 40, "neo4j": 12}


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_last_completed_runs_follow_every_write_like_a_reading_of_all_runs(kind: str) -> None:
    times = ["", *(format_time(T0 + timedelta(hours=h)) for h in (0, 3, 5, 6, 12))]
    requests = [RunRequest((job("clean_orders"),), at) for at in times]

    @settings(max_examples=RUN_EXAMPLES[kind], deadline=None)
    @given(st.lists(run_steps(), min_size=1, max_size=8), st.booleans())
    def check_sequence(steps: list[ChangeSet], ask_first: bool) -> None:
        store = make_store(kind)
        try:
            store.apply(pipeline())

            def check() -> None:
                expected = [expected_completed(store, at) for at in times]
                assert store.last_completed_runs(requests) == expected

            if ask_first:  # a store may keep what it answered and update it as writes come
                check()
            for changeset in steps:
                if changeset.deletes and (changeset.nodes or changeset.edges):
                    store.apply(ChangeSet(deletes=changeset.deletes))
                    changeset = changeset.model_copy(update={"deletes": []})
                store.apply(changeset)
                if ask_first:
                    check()
            check()
        finally:
            store.close()

    check_sequence()


def test_expand_targets_are_where_the_hops_of_expand_lead(store: Store) -> None:
    store.apply(pipeline())
    t1 = T0 + timedelta(days=1)
    change = ChangeSet(origin=Origin.OPENLINEAGE)
    change.endings.append(
        EdgeEnding(
            source_id=ds("public.orders"),
            kind=EdgeKind.READS,
            target_id=job("clean_orders"),
            at=format_time(t1),
        )
    )
    store.apply(change)
    nodes = [
        ds("public.orders"),
        ds("public.orders_clean"),
        job("clean_orders"),
        fld("public.orders", "id"),
    ]
    kinds = FLOW_KINDS | {EdgeKind.HAS_FIELD}
    inside = {EdgeKind.HAS_FIELD}
    for direction in Direction:
        for as_of in (None, T0 + timedelta(hours=1)):
            for seen in ((), {fld("public.orders", "amount"), job("clean_orders")}):
                hops = store.expand(nodes, direction, kinds, as_of)
                expected_inside = {h.target for h in hops if h.kind in inside} - set(seen)
                expected = {h.target for h in hops if h.kind not in inside} - set(seen)
                found, contained = store.expand_targets(
                    nodes, direction, kinds, as_of, seen=seen, same_level=inside
                )
                assert (set(found), set(contained)) == (expected, expected_inside)
    # the READS edge ended: only a time before its end still leads from orders to the job
    now, _ = store.expand_targets([ds("public.orders")], Direction.DOWNSTREAM, [EdgeKind.READS])
    before, _ = store.expand_targets(
        [ds("public.orders")], Direction.DOWNSTREAM, [EdgeKind.READS], T0 + timedelta(hours=1)
    )
    assert (now, before) == ([], [job("clean_orders")])


def test_on_cycles_knows_no_index_or_names_every_node_on_a_cycle(store: Store) -> None:
    store.apply(pipeline())
    # a backfill closes a loop: orders -> clean_orders -> orders_clean -> report -> (table)
    # report -> backfill -> orders
    loop = ChangeSet(origin=Origin.API)
    loop.add(Job(namespace="airflow://etl", name="backfill"))
    loop.link(ds("public.report"), EdgeKind.READS, job("backfill"), T0)
    loop.link(job("backfill"), EdgeKind.WRITES, ds("public.orders"), T0)
    store.apply(loop)
    on_loop = {
        ds("public.orders"),
        job("clean_orders"),
        ds("public.orders_clean"),
        job("report"),
        ds("public.report"),
        job("backfill"),
    }
    everything = [*on_loop, fld("public.orders", "id"), fld("public.orders_clean", "order_id")]
    found = store.on_cycles(everything, FLOW_KINDS | {EdgeKind.HAS_FIELD})
    assert found is None or found >= on_loop
    assert store.on_cycles((), FLOW_KINDS | {EdgeKind.HAS_FIELD}) == (
        None if found is None else set()
    )


def test_a_newer_report_that_changes_only_a_values_json_type_is_kept(store: Store) -> None:
    # 1, 1.0 and true are equal in Python but not in JSON: a producer that reports a
    # value as true after reporting it as 1 has changed it, for nodes and for edges.
    key = (ds("public.a"), EdgeKind.READS, job("j"))

    def report(value: Any, day: int, timed: bool = True) -> tuple[Any, Any]:
        cs = ChangeSet(reported_at=STAMPS[day] if timed else None)
        cs.nodes.append(Node.from_key(parse_id(key[0])).model_copy(update={"attrs": {"x": value}}))
        cs.nodes.append(Node.from_key(parse_id(key[2])))
        cs.edges.append(
            Edge(
                source_id=key[0],
                kind=key[1],
                target_id=key[2],
                first_seen=STAMPS[day],
                last_seen=STAMPS[day],
                attrs={"w": value},
            )
        )
        store.apply(cs)
        node = store.get([key[0]])[key[0]].attrs["x"]
        edge = store.edges([key[0]], Direction.DOWNSTREAM, [key[1]])[0].attrs["w"]
        return node, edge

    # newer each day, then again on the last day, then with no time (which wins too)
    reports = [(0, 1, True), (1, True, True), (2, 1.0, True), (3, 1, True), (3, True, True)]
    for day, value, timed in [*reports, (3, 1.0, False)]:
        node, edge = report(value, day, timed)
        assert (type(node), node) == (type(value), value)
        assert (type(edge), edge) == (type(value), value)
