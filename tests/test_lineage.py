"""Lineage (ARCHITECTURE §4.1) on both stores, against answers written out by hand."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineagegraph import demo
from lineagegraph.algorithms.lineage import LineageResult, lineage
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import (
    ChangeSet,
    Dataset,
    Deployment,
    Direction,
    EdgeKind,
    Feature,
    Field,
    Job,
    JobSnapshot,
    Model,
    ModelVersion,
    Origin,
    Run,
    format_time,
)
from lineagegraph.service import LineageService
from lineagegraph.store import Store
from lineagegraph.synthetic import SyntheticGraph

NS = "postgres://db:5432"
ETL = "airflow://etl"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def ds(name: str) -> str:
    return make_id(Kind.DATASET, NS, name)


def fld(table: str, path: str) -> str:
    return make_id(Kind.FIELD, NS, table, path)


def job(name: str) -> str:
    return make_id(Kind.JOB, ETL, name)


RAW, STG, REPORT = ds("public.raw"), ds("public.stg"), ds("public.report")
CLEAN, SUMMARIZE = job("clean"), job("summarize")
FEATURE = make_id(Kind.FEATURE, "feast://fs", "orders:amount_usd")
MODEL = make_id(Kind.MODEL, "mlflow://reg", "fraud")
MV1 = make_id(Kind.MODEL_VERSION, "mlflow://reg", "fraud", "1")
DEPLOYMENT = make_id(Kind.DEPLOYMENT, "k8s://serving", "fraud-prod")


def shop() -> ChangeSet:
    """raw -clean-> stg -summarize-> report, with column lineage; a feature from
    stg.amount_usd trains fraud v1, served by fraud-prod."""
    cs = ChangeSet(origin=Origin.API)
    columns = {
        "public.raw": ("id", "amount"),
        "public.stg": ("id", "amount_usd"),
        "public.report": ("total",),
    }
    for table, paths in columns.items():
        cs.add(Dataset(namespace=NS, name=table, owners=[f"owner-of-{table}"]))
        for path in paths:
            cs.add(Field(namespace=NS, name=table, path=path, type="bigint"))
            cs.link(ds(table), EdgeKind.HAS_FIELD, fld(table, path), T0)
    cs.add(
        Job(namespace=ETL, name="clean"),
        Job(namespace=ETL, name="summarize"),
        Feature(namespace="feast://fs", name="orders:amount_usd"),
        Model(namespace="mlflow://reg", name="fraud"),
        ModelVersion(namespace="mlflow://reg", name="fraud", version="1"),
        Deployment(namespace="k8s://serving", name="fraud-prod"),
    )
    cs.link(RAW, EdgeKind.READS, CLEAN, T0)
    cs.link(CLEAN, EdgeKind.WRITES, STG, T0)
    cs.link(STG, EdgeKind.READS, SUMMARIZE, T0)
    cs.link(SUMMARIZE, EdgeKind.WRITES, REPORT, T0)
    cs.link(fld("public.raw", "id"), EdgeKind.DERIVES, fld("public.stg", "id"), T0, {"job": CLEAN})
    cs.link(
        fld("public.raw", "amount"),
        EdgeKind.DERIVES,
        fld("public.stg", "amount_usd"),
        T0,
        {"job": CLEAN},
    )
    cs.link(
        fld("public.stg", "amount_usd"),
        EdgeKind.DERIVES,
        fld("public.report", "total"),
        T0,
        {"job": SUMMARIZE},
    )
    cs.link(fld("public.stg", "amount_usd"), EdgeKind.COMPUTED_FROM, FEATURE, T0)
    cs.link(FEATURE, EdgeKind.TRAINED_ON, MV1, T0)
    cs.link(MODEL, EdgeKind.HAS_VERSION, MV1, T0)
    cs.link(MV1, EdgeKind.SERVES, DEPLOYMENT, T0)
    return cs


def placed(result: LineageResult) -> list[tuple[int, str, str]]:
    """(depth, direction, id) of each node, in the order returned."""
    return [(n.depth, n.direction.value, n.id) for n in result.nodes]


def connections(result: LineageResult) -> set[tuple[str, str | None, str, tuple[str, ...]]]:
    return {(e.source_id, e.kind, e.target_id, e.via) for e in result.edges}


@pytest.fixture
def shop_store(store: Store) -> Store:
    store.apply(shop())
    return store


def test_downstream_dataset_level_reaches_jobs_datasets_features_models_deployments(
    shop_store: Store,
) -> None:
    result = lineage(shop_store, RAW)
    assert placed(result) == [
        (1, "DOWNSTREAM", CLEAN),
        (2, "DOWNSTREAM", STG),
        (3, "DOWNSTREAM", FEATURE),
        (3, "DOWNSTREAM", SUMMARIZE),
        (4, "DOWNSTREAM", REPORT),
        (4, "DOWNSTREAM", MV1),
        (5, "DOWNSTREAM", DEPLOYMENT),
    ]
    amount_usd = fld("public.stg", "amount_usd")
    assert connections(result) == {
        (RAW, EdgeKind.READS, CLEAN, ()),
        (CLEAN, EdgeKind.WRITES, STG, ()),
        (STG, None, FEATURE, (amount_usd,)),  # the field edge, lifted to its dataset
        (STG, EdgeKind.READS, SUMMARIZE, ()),
        (SUMMARIZE, EdgeKind.WRITES, REPORT, ()),
        (FEATURE, EdgeKind.TRAINED_ON, MV1, ()),
        (MV1, EdgeKind.SERVES, DEPLOYMENT, ()),
    }
    lifted = next(e for e in result.edges if e.target_id == FEATURE)
    assert [(e.source_id, e.kind, e.target_id) for e in lifted.edges] == [
        (STG, EdgeKind.HAS_FIELD, amount_usd),
        (amount_usd, EdgeKind.COMPUTED_FROM, FEATURE),
    ]
    assert result.truncated is False and result.truncation is None
    assert result.cycles == []
    assert result.page_info.total == 7 and result.page_info.has_next_page is False
    assert result.root.id == RAW and result.column_level is False


def test_edges_carry_their_provenance(shop_store: Store) -> None:
    result = lineage(shop_store, RAW, depth=1)
    (edge,) = result.edges
    (stored,) = edge.edges
    assert (stored.source_id, stored.kind, stored.target_id) == (RAW, EdgeKind.READS, CLEAN)
    assert stored.origin is Origin.API
    assert stored.first_seen == format_time(T0) and stored.last_seen == format_time(T0)
    assert stored.current is True


def test_upstream_from_a_deployment_lifts_the_feature_field_to_its_dataset(
    shop_store: Store,
) -> None:
    result = lineage(shop_store, DEPLOYMENT, Direction.UPSTREAM)
    assert placed(result) == [
        (1, "UPSTREAM", MV1),
        (2, "UPSTREAM", FEATURE),
        (3, "UPSTREAM", STG),
        (4, "UPSTREAM", CLEAN),
        (5, "UPSTREAM", RAW),
    ]


def test_both_directions_list_upstream_first_then_downstream(shop_store: Store) -> None:
    result = lineage(shop_store, STG, Direction.BOTH)
    assert placed(result) == [
        (1, "UPSTREAM", CLEAN),
        (2, "UPSTREAM", RAW),
        (1, "DOWNSTREAM", FEATURE),
        (1, "DOWNSTREAM", SUMMARIZE),
        (2, "DOWNSTREAM", REPORT),
        (2, "DOWNSTREAM", MV1),
        (3, "DOWNSTREAM", DEPLOYMENT),
    ]


def test_kind_filter_returns_only_those_kinds_and_collapses_the_rest(shop_store: Store) -> None:
    result = lineage(shop_store, RAW, kinds={Kind.DATASET, Kind.DEPLOYMENT})
    assert placed(result) == [
        (2, "DOWNSTREAM", STG),
        (4, "DOWNSTREAM", REPORT),
        (5, "DOWNSTREAM", DEPLOYMENT),
    ]
    amount_usd = fld("public.stg", "amount_usd")
    assert connections(result) == {
        (RAW, None, STG, (CLEAN,)),
        (STG, None, REPORT, (SUMMARIZE,)),
        (STG, None, DEPLOYMENT, (amount_usd, FEATURE, MV1)),
    }
    to_report = next(e for e in result.edges if e.target_id == REPORT)
    assert [e.kind for e in to_report.edges] == [EdgeKind.READS, EdgeKind.WRITES]


def test_an_empty_kind_filter_is_no_filter(shop_store: Store) -> None:
    # as in search and atRisk: `kinds: []` asked for every kind, not for none
    everything = lineage(shop_store, RAW)
    assert everything.nodes
    assert placed(lineage(shop_store, RAW, kinds=set())) == placed(everything)


def test_depth_bound_truncates(shop_store: Store) -> None:
    result = lineage(shop_store, RAW, depth=2)
    assert placed(result) == [(1, "DOWNSTREAM", CLEAN), (2, "DOWNSTREAM", STG)]
    assert result.truncated is True and result.truncation == "depth"
    exact = lineage(shop_store, RAW, depth=5)
    assert exact.truncated is False and exact.page_info.total == 7


def test_node_cap_truncates(shop_store: Store) -> None:
    result = lineage(shop_store, RAW, max_nodes=2)
    assert [n.id for n in result.nodes] == [CLEAN, STG]
    assert result.truncated is True and result.truncation == "nodes"


def test_column_level_from_a_dataset_brings_its_fields_and_column_edges(
    shop_store: Store,
) -> None:
    result = lineage(shop_store, RAW, column_level=True)
    down = "DOWNSTREAM"
    assert placed(result) == [
        (0, down, fld("public.raw", "amount")),
        (0, down, fld("public.raw", "id")),
        (1, down, fld("public.stg", "amount_usd")),
        (1, down, fld("public.stg", "id")),
        (1, down, CLEAN),
        (2, down, STG),
        (2, down, FEATURE),
        (2, down, fld("public.report", "total")),
        (3, down, SUMMARIZE),
        (3, down, MV1),
        (4, down, REPORT),
        (4, down, DEPLOYMENT),
    ]
    assert not any(n.partial for n in result.nodes)
    raw_id, raw_amount = fld("public.raw", "id"), fld("public.raw", "amount")
    stg_id, amount_usd = fld("public.stg", "id"), fld("public.stg", "amount_usd")
    total = fld("public.report", "total")
    assert connections(result) == {
        (RAW, EdgeKind.HAS_FIELD, raw_amount, ()),
        (RAW, EdgeKind.HAS_FIELD, raw_id, ()),
        (STG, EdgeKind.HAS_FIELD, amount_usd, ()),
        (STG, EdgeKind.HAS_FIELD, stg_id, ()),
        (REPORT, EdgeKind.HAS_FIELD, total, ()),
        (raw_id, EdgeKind.DERIVES, stg_id, ()),
        (raw_amount, EdgeKind.DERIVES, amount_usd, ()),
        (amount_usd, EdgeKind.DERIVES, total, ()),
        (RAW, EdgeKind.READS, CLEAN, ()),
        (CLEAN, EdgeKind.WRITES, STG, ()),
        (STG, EdgeKind.READS, SUMMARIZE, ()),
        (SUMMARIZE, EdgeKind.WRITES, REPORT, ()),
        (amount_usd, EdgeKind.COMPUTED_FROM, FEATURE, ()),
        (FEATURE, EdgeKind.TRAINED_ON, MV1, ()),
        (MV1, EdgeKind.SERVES, DEPLOYMENT, ()),
    }


def test_lineage_of_a_field_is_column_level_and_shows_partial_datasets(
    shop_store: Store,
) -> None:
    field = fld("public.stg", "amount_usd")
    down = lineage(shop_store, field)
    assert down.column_level is True
    assert [(n.depth, n.id, n.partial) for n in down.nodes] == [
        (1, REPORT, True),
        (1, FEATURE, False),
        (1, fld("public.report", "total"), False),
        (2, MV1, False),
        (3, DEPLOYMENT, False),
    ]
    up = lineage(shop_store, field, Direction.UPSTREAM)
    assert [(n.depth, n.id, n.partial) for n in up.nodes] == [
        (1, RAW, True),
        (1, fld("public.raw", "amount"), False),
    ]
    assert connections(up) == {
        (RAW, EdgeKind.HAS_FIELD, fld("public.raw", "amount"), ()),
        (fld("public.raw", "amount"), EdgeKind.DERIVES, field, ()),
    }
    derives = next(e for e in up.edges if e.kind is EdgeKind.DERIVES)
    assert derives.edges[0].attrs == {"job": CLEAN}


def test_lineage_of_a_model_is_that_of_its_versions(shop_store: Store) -> None:
    down = lineage(shop_store, MODEL)
    assert placed(down) == [(0, "DOWNSTREAM", MV1), (1, "DOWNSTREAM", DEPLOYMENT)]
    assert connections(down) == {
        (MODEL, EdgeKind.HAS_VERSION, MV1, ()),
        (MV1, EdgeKind.SERVES, DEPLOYMENT, ()),
    }
    up = lineage(shop_store, MODEL, Direction.UPSTREAM)
    assert [n.id for n in up.nodes] == [MV1, FEATURE, STG, CLEAN, RAW]


def test_pages_cover_every_node_and_every_edge_exactly_once(shop_store: Store) -> None:
    whole = lineage(shop_store, RAW, Direction.BOTH, column_level=True, first=1000)
    nodes: list[str] = []
    edges: list[tuple[str, str | None, str, tuple[str, ...]]] = []
    after = None
    pages = 0
    while True:
        page = lineage(shop_store, RAW, Direction.BOTH, column_level=True, first=5, after=after)
        pages += 1
        returned = {RAW, *nodes, *(n.id for n in page.nodes)}
        for edge in page.edges:
            assert edge.source_id in returned and edge.target_id in returned
        nodes.extend(n.id for n in page.nodes)
        edges.extend((e.source_id, e.kind, e.target_id, e.via) for e in page.edges)
        assert page.page_info.total == 12
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    assert pages == 3
    assert nodes == [n.id for n in whole.nodes]
    assert sorted(edges, key=repr) == sorted(connections(whole), key=repr)
    assert len(edges) == len(set(edges))


def test_a_job_reading_and_writing_its_own_dataset_is_a_reported_cycle(store: Store) -> None:
    cs = ChangeSet()
    cs.add(Dataset(namespace=NS, name="public.events"), Job(namespace=ETL, name="dedupe"))
    cs.link(ds("public.events"), EdgeKind.READS, job("dedupe"), T0)
    cs.link(job("dedupe"), EdgeKind.WRITES, ds("public.events"), T0)
    store.apply(cs)
    result = lineage(store, ds("public.events"))
    assert placed(result) == [(1, "DOWNSTREAM", job("dedupe"))]
    assert result.cycles == [[ds("public.events"), job("dedupe")]]
    assert connections(result) == {
        (ds("public.events"), EdgeKind.READS, job("dedupe"), ()),
        (job("dedupe"), EdgeKind.WRITES, ds("public.events"), ()),
    }


def test_a_connection_from_the_root_back_to_itself_is_on_the_first_page(store: Store) -> None:
    # A column derived from itself (UPDATE t SET n = n + 1), and a job reading and
    # writing the root's table with the job filtered out: the root's connection to
    # itself was reported as a cycle but returned on no page.
    n = fld("public.events", "n")
    cs = ChangeSet()
    cs.add(
        Dataset(namespace=NS, name="public.events"),
        Field(namespace=NS, name="public.events", path="n", type="int"),
        Job(namespace=ETL, name="dedupe"),
    )
    cs.link(ds("public.events"), EdgeKind.HAS_FIELD, n, T0)
    cs.link(ds("public.events"), EdgeKind.READS, job("dedupe"), T0)
    cs.link(job("dedupe"), EdgeKind.WRITES, ds("public.events"), T0)
    cs.link(n, EdgeKind.DERIVES, n, T0, {"job": job("dedupe")})
    store.apply(cs)
    loop = (n, EdgeKind.DERIVES, n, ())
    for direction in Direction:
        result = lineage(store, n, direction)
        assert result.cycles == [[n]]
        assert result.page_info.total == 0
        assert connections(result) == {loop}, direction
        # not on a page that asks for no nodes
        assert connections(lineage(store, n, direction, first=0)) == set()
    # with more pages, on the first one only
    m = fld("public.summary", "n")
    more = ChangeSet()
    more.add(Field(namespace=NS, name="public.summary", path="n", type="int"))
    more.link(n, EdgeKind.DERIVES, m, T0, {"job": job("dedupe")})
    store.apply(more)
    pages = [lineage(store, n, first=1, kinds=[Kind.FIELD])]
    cursor = pages[0].page_info.end_cursor
    pages.append(lineage(store, n, first=1, kinds=[Kind.FIELD], after=cursor))
    assert [[node.id for node in page.nodes] for page in pages] == [[m], []]
    assert [connections(page) for page in pages] == [{loop, (n, EdgeKind.DERIVES, m, ())}, set()]
    collapsed = lineage(store, ds("public.events"), kinds=[Kind.DATASET])
    assert collapsed.page_info.total == 0
    assert connections(collapsed) == {
        (ds("public.events"), None, ds("public.events"), (job("dedupe"),))
    }


def test_mutual_dependencies_terminate_and_are_reported_both_ways(store: Store) -> None:
    a, b, j1, j2 = ds("public.a"), ds("public.b"), job("a_to_b"), job("b_to_a")
    cs = ChangeSet()
    cs.add(
        Dataset(namespace=NS, name="public.a"),
        Dataset(namespace=NS, name="public.b"),
        Job(namespace=ETL, name="a_to_b"),
        Job(namespace=ETL, name="b_to_a"),
    )
    cs.link(a, EdgeKind.READS, j1, T0).link(j1, EdgeKind.WRITES, b, T0)
    cs.link(b, EdgeKind.READS, j2, T0).link(j2, EdgeKind.WRITES, a, T0)
    store.apply(cs)
    cycle = [[a, b, j1, j2]]
    down = lineage(store, a)
    assert placed(down) == [(1, "DOWNSTREAM", j1), (2, "DOWNSTREAM", b), (3, "DOWNSTREAM", j2)]
    assert down.cycles == cycle
    up = lineage(store, a, Direction.UPSTREAM)
    assert placed(up) == [(1, "UPSTREAM", j2), (2, "UPSTREAM", b), (3, "UPSTREAM", j1)]
    assert up.cycles == cycle
    both = lineage(store, a, Direction.BOTH)
    assert placed(both) == [(1, "BOTH", j1), (1, "BOTH", j2), (2, "BOTH", b)]
    assert both.cycles == cycle
    assert len(both.edges) == 4


def test_the_node_cap_counts_a_node_on_both_sides_once(store: Store) -> None:
    # Lineage BOTH ways counted the nodes of a cycle through the root on each side, so
    # the downstream side was cut short: 4 nodes of a lineage of 5 under a cap of 5,
    # marked truncated.
    a, b, c = ds("public.a"), ds("public.b"), ds("public.c")
    j1, j2, j3 = job("a_to_b"), job("b_to_a"), job("a_to_c")
    cs = ChangeSet()
    cs.add(*(Dataset(namespace=NS, name=f"public.{n}") for n in "abc"))
    cs.add(*(Job(namespace=ETL, name=n) for n in ("a_to_b", "b_to_a", "a_to_c")))
    cs.link(a, EdgeKind.READS, j1, T0).link(j1, EdgeKind.WRITES, b, T0)
    cs.link(b, EdgeKind.READS, j2, T0).link(j2, EdgeKind.WRITES, a, T0)
    cs.link(a, EdgeKind.READS, j3, T0).link(j3, EdgeKind.WRITES, c, T0)
    store.apply(cs)
    whole = [(1, "BOTH", j1), (1, "BOTH", j2), (2, "BOTH", b), (1, "DOWNSTREAM", j3)]
    whole.append((2, "DOWNSTREAM", c))
    for cap in (5, 6):
        result = lineage(store, a, Direction.BOTH, max_nodes=cap)
        assert placed(result) == whole, cap
        assert (result.truncated, result.truncation) == (False, None), cap
        assert result.page_info.total == 5
    # over the cap, the nodes nearest the root (the downstream side stopped before
    # reaching b_to_a, which it reaches at depth 3)
    result = lineage(store, a, Direction.BOTH, max_nodes=4)
    assert placed(result) == [
        (1, "UPSTREAM", j2),
        (1, "BOTH", j1),
        (2, "BOTH", b),
        (1, "DOWNSTREAM", j3),
    ]
    assert (result.truncated, result.truncation) == (True, "nodes")


def test_as_of_shows_the_inputs_a_job_had_at_that_time(service: LineageService) -> None:
    a, b, c, load = ds("public.a"), ds("public.b"), ds("public.c"), job("load")
    day1, day2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    setup = ChangeSet()
    setup.add(
        Dataset(namespace=NS, name="public.a"),
        Dataset(namespace=NS, name="public.b"),
        Dataset(namespace=NS, name="public.c"),
        Job(namespace=ETL, name="load"),
    )
    service.apply(setup)
    for at, source in ((day1, a), (day2, b)):
        run = ChangeSet()
        run.add(Run(namespace=ETL, name="load", run_id=f"run-{at.day}", started_at=at))
        run.link(load, EdgeKind.HAS_RUN, make_id(Kind.RUN, ETL, "load", f"run-{at.day}"), at)
        run.link(source, EdgeKind.READS, load, at).link(load, EdgeKind.WRITES, c, at)
        run.snapshots.append(
            JobSnapshot(job_id=load, at=format_time(at), inputs=(source,), outputs=(c,))
        )
        service.apply(run)
    now = service.lineage(c, Direction.UPSTREAM)
    assert placed(now) == [(1, "UPSTREAM", load), (2, "UPSTREAM", b)]
    between = service.lineage(c, Direction.UPSTREAM, as_of=day1 + timedelta(hours=12))
    assert placed(between) == [(1, "UPSTREAM", load), (2, "UPSTREAM", a)]
    old_read = next(e for e in between.edges if e.source_id == a)
    (stored,) = old_read.edges
    assert stored.current is False and stored.ended_at == format_time(day2)
    before = service.lineage(c, Direction.UPSTREAM, as_of=T0)
    assert before.nodes == [] and before.page_info.total == 0


def test_the_demo_downstream_of_stg_payments(service: LineageService) -> None:
    for cs in demo.scenario():
        service.apply(cs)
    result = service.lineage(demo.STG_PAYMENTS.id, first=50)
    feature = demo.feature_id
    churn, ltv = demo.CHURN.version_id, demo.LTV.version_id
    assert placed(result) == [
        (1, "DOWNSTREAM", make_id(Kind.JOB, demo.AIRFLOW, "build_customer_features")),
        (1, "DOWNSTREAM", make_id(Kind.JOB, demo.DBT, "customer_ltv")),
        (2, "DOWNSTREAM", demo.CUSTOMER_FEATURES.id),
        (2, "DOWNSTREAM", demo.CUSTOMER_LTV.id),
        (3, "DOWNSTREAM", feature("days_since_last_order")),
        (3, "DOWNSTREAM", feature("lifetime_value")),
        (3, "DOWNSTREAM", feature("order_count_90d")),
        (3, "DOWNSTREAM", feature("preferred_payment_method")),
        (3, "DOWNSTREAM", demo.CHURN.job_id),
        (3, "DOWNSTREAM", demo.LTV.job_id),
        (4, "DOWNSTREAM", churn(1)),
        (4, "DOWNSTREAM", churn(2)),
        (4, "DOWNSTREAM", churn(3)),
        (4, "DOWNSTREAM", ltv(1)),
        (4, "DOWNSTREAM", ltv(2)),
        (5, "DOWNSTREAM", demo.deployment_id("churn-production")),
        (5, "DOWNSTREAM", demo.deployment_id("churn-staging")),
        (5, "DOWNSTREAM", demo.deployment_id("ltv-production")),
        (5, "DOWNSTREAM", demo.deployment_id("ltv-staging")),
    ]
    # Only the versions each deployment serves now are connected to it.
    serves = {(e.source_id, e.target_id) for e in result.edges if e.kind is EdgeKind.SERVES}
    assert serves == {
        (churn(3), demo.deployment_id("churn-production")),
        (churn(3), demo.deployment_id("churn-staging")),
        (ltv(1), demo.deployment_id("ltv-production")),
        (ltv(2), demo.deployment_id("ltv-staging")),
    }


def test_the_demo_column_lineage_of_the_renamed_payment_amount(service: LineageService) -> None:
    for cs in demo.scenario():
        service.apply(cs)
    stg_amount = demo.STG_PAYMENTS.field_id("amount")
    now = service.lineage(stg_amount, Direction.UPSTREAM)
    assert [(n.id, n.partial) for n in now.nodes] == [
        (demo.RAW_PAYMENTS.id, True),
        (demo.RAW_PAYMENTS.field_id("amount_cents"), False),
    ]
    on_day2 = service.lineage(stg_amount, Direction.UPSTREAM, as_of=demo.day(2, 12))
    assert [(n.id, n.partial) for n in on_day2.nodes] == [
        (demo.RAW_PAYMENTS.id, True),
        (demo.RAW_PAYMENTS.field_id("amount"), False),
    ]


def test_service_applies_the_configured_node_cap(store: Store) -> None:
    store.apply(shop())
    service = LineageService(store, Settings(max_traversal_nodes=1))
    result = service.lineage(RAW)
    assert [n.id for n in result.nodes] == [CLEAN]
    assert result.truncated is True and result.truncation == "nodes"


def every_page(store: Store, root: str, **options: Any) -> list[LineageResult]:
    """Every page of a lineage, 1000 nodes at a time."""
    pages = [lineage(store, root, first=1000, **options)]
    while pages[-1].page_info.has_next_page:
        pages.append(
            lineage(store, root, first=1000, after=pages[-1].page_info.end_cursor, **options)
        )
    return pages


def test_the_node_cap_bounds_the_whole_answer_at_column_level(store: Store) -> None:
    # Column lineage from a dataset answered more nodes than the cap: the root's own
    # fields and the datasets that reached fields bring along were never counted.
    graph = SyntheticGraph(3000, seed=7)
    for changeset in graph.changesets():
        store.apply(changeset)
    over = 0
    for root in (graph.hub_id, graph.typical_id):
        for direction in Direction:
            for column_level in (True, False):
                options: dict[str, Any] = {"direction": direction, "column_level": column_level}
                whole = {n.id for page in every_page(store, root, **options) for n in page.nodes}
                for cap in (3, 120):
                    ask = (root, direction, column_level, cap)
                    pages = every_page(store, root, max_nodes=cap, **options)
                    capped = pages[0]
                    over += len(whole) > cap and column_level
                    assert capped.page_info.total <= cap, ask
                    if capped.page_info.total < len(whole):
                        assert (capped.truncated, capped.truncation) == (True, "nodes"), ask
                    else:
                        assert not capped.truncated, ask
                    # The pages hold what the count says, each node once, all of the
                    # lineage, and every connection and cycle joins nodes of the answer.
                    ids = [n.id for page in pages for n in page.nodes]
                    assert len(ids) == len(set(ids)) == capped.page_info.total, ask
                    assert set(ids) <= whole, ask
                    answer = {root, *ids}
                    for page in pages:
                        assert all(
                            e.source_id in answer and e.target_id in answer for e in page.edges
                        ), ask
                        assert all(set(group) <= answer for group in page.cycles), ask
    assert over >= 4  # the graph is large enough for the cap to matter


def test_bad_requests_are_rejected_clearly(shop_store: Store) -> None:
    with pytest.raises(NotFound):
        lineage(shop_store, ds("public.missing"))
    run_id = make_id(Kind.RUN, ETL, "clean", "r1")
    cs = ChangeSet()
    cs.add(Run(namespace=ETL, name="clean", run_id="r1"))
    shop_store.apply(cs)
    with pytest.raises(InvalidInput, match="lineage is defined for"):
        lineage(shop_store, run_id)
    with pytest.raises(InvalidInput, match="depth"):
        lineage(shop_store, RAW, depth=-1)
    with pytest.raises(InvalidInput, match="cursor"):
        lineage(shop_store, RAW, after="not-a-cursor")
    with pytest.raises(InvalidInput, match="first"):
        lineage(shop_store, RAW, first=1001)


def test_a_spent_time_budget_truncates_with_timeout(shop_store: Store) -> None:
    result = lineage(shop_store, RAW, timeout=0.0)
    assert result.truncated is True and result.truncation == "timeout"
    assert result.nodes == []


def collector_states(store: Store) -> list[bool]:
    """Whether the cyclic collector was on at each of the store's expansions from now on."""
    states: list[bool] = []
    expand = store.expand

    def recording(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return expand(*args, **kwargs)

    setattr(store, "expand", recording)  # noqa: B010 - the store is the test's own
    return states


def test_lineage_traverses_with_the_cyclic_collector_paused_and_restores_it(
    shop_store: Store,
) -> None:
    states = collector_states(shop_store)
    assert gc.isenabled()
    page = lineage(shop_store, RAW, column_level=True)
    assert page.nodes
    assert states and not any(states)
    assert gc.isenabled()
