"""OpenLineage events → ChangeSets: real files from Marquez and OpenLineage, and every facet."""

from __future__ import annotations

import copy
import gzip
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest._olspec import _Remembered
from lineagegraph.ingest.batching import Document, ingest_documents, read_path
from lineagegraph.ingest.openlineage import EventTranslator, parse_event, translate_event
from lineagegraph.model import ChangeFold, ChangeSet, Direction, Edge, EdgeKind, Node, Origin
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from lineagegraph.store.base import canonical_json
from tests.api_helpers import gql

PRODUCER = "https://example.com/producer"
RUN_A = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
RUN_B = "7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1"


def event(
    event_type: str | None = "COMPLETE",
    time: str = "2024-05-01T10:00:00Z",
    run_id: str = RUN_A,
    job: tuple[str, str] = ("etl", "load_orders"),
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A RunEvent with the required fields filled in."""
    document: dict[str, Any] = {
        "eventTime": time,
        "producer": PRODUCER,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }
    if event_type is not None:
        document["eventType"] = event_type
    return document


def dataset(namespace: str, name: str, **facets: Any) -> dict[str, Any]:
    """A dataset reference with facets."""
    return {"namespace": namespace, "name": name, "facets": facets}


def by_id(changeset: ChangeSet) -> dict[str, Node]:
    """The changeset's nodes after merging duplicates, by id."""
    return {n.id: n for n in changeset.normalized().nodes}


def edge_map(changeset: ChangeSet, kind: EdgeKind) -> dict[tuple[str, str], Edge]:
    """The changeset's edges of one kind, by (source, target)."""
    return {(e.source_id, e.target_id): e for e in changeset.normalized().edges if e.kind is kind}


def ds(namespace: str, name: str) -> str:
    return make_id(Kind.DATASET, namespace, name)


def fld(namespace: str, name: str, path: str) -> str:
    return make_id(Kind.FIELD, namespace, name, path)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def apply_all(service: LineageService, documents: list[Any]) -> None:
    for document in documents:
        service.apply(translate_event(document))


def current_edges(service: LineageService, kinds: set[EdgeKind]) -> set[tuple[str, str, str]]:
    _, edges = service.store.export()
    return {
        (e.source_id, e.kind.value, e.target_id) for e in edges if e.kind in kinds and e.current
    }


# --- the Marquez demo ("food_delivery") --------------------------------------------------------

FOOD = "food_delivery"


def test_marquez_demo_counts(service: LineageService, shared_data: Path) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    stats = service.stats()
    assert stats.nodes_by_kind["JOB"] == 13
    assert stats.nodes_by_kind["RUN"] == 13
    # 13 datasets the events describe, plus public.menu_item_id that only a column edge names.
    assert stats.nodes_by_kind["DATASET"] == 14
    assert stats.nodes_by_kind["DATASET_VERSION"] == 13
    assert stats.edges_by_kind["READS"] == 14
    assert stats.edges_by_kind["WRITES"] == 13
    assert stats.edges_by_kind["DERIVES"] == 39
    assert stats.edges_by_kind["HAS_RUN"] == 13
    assert stats.edges_by_kind["WROTE"] == 13


def test_marquez_demo_lineage_edges(service: LineageService, shared_data: Path) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    job = make_id(Kind.JOB, FOOD, "etl_delivery_7_days")
    upstream = service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(h.target for h in upstream) == [
        ds(FOOD, "public.customers"),
        ds(FOOD, "public.drivers"),
        ds(FOOD, "public.order_status"),
        ds(FOOD, "public.orders_7_days"),
        ds(FOOD, "public.restaurants"),
    ]
    downstream = service.store.expand(
        [make_id(Kind.JOB, FOOD, "delivery_times_7_days")], Direction.DOWNSTREAM, [EdgeKind.WRITES]
    )
    assert sorted(h.target for h in downstream) == [
        ds(FOOD, "public.discounts"),
        ds(FOOD, "public.top_delivery_times"),
    ]
    derives = service.store.edges(
        [fld(FOOD, "public.delivery_7_days", "driver_id")], Direction.UPSTREAM, [EdgeKind.DERIVES]
    )
    assert sorted(e.source_id for e in derives) == [
        fld(FOOD, "public.drivers", "id"),
        fld(FOOD, "public.order_status", "driver_id"),
    ]
    assert {e.attrs["job"] for e in derives} == {job}
    assert all(e.origin.value == "openlineage" for e in derives)


def test_marquez_demo_runs_merge_start_and_complete(
    service: LineageService, shared_data: Path
) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    run = service.node(make_id(Kind.RUN, FOOD, "etl_menus", "4d3b8069-69b6-4708-ade0-3275112c9f04"))
    assert run.attrs["state"] == "COMPLETE"
    assert run.attrs["started_at"] == "2020-02-22T22:42:42Z"
    assert run.attrs["ended_at"] == "2020-02-22T22:45:52Z"
    assert run.attrs["nominal_time"] == "2020-02-22T22:00:00Z"
    job = service.node(make_id(Kind.JOB, FOOD, "etl_menus"))
    assert job.attrs["description"] == "Loads newly added restaurant menus daily."
    assert job.attrs["sql"].startswith("INSERT INTO menus (id, name, restaurant_id, description)")
    menus = service.node(ds(FOOD, "public.menus"))
    assert menus.attrs["description"] == "A table for menus."
    assert menus.attrs["source_name"] == "food_delivery_db"
    field = service.node(fld(FOOD, "public.menus", "restaurant_id"))
    assert field.attrs["type"] == "INTEGER"
    assert field.attrs["ordinal"] == 3


def test_marquez_demo_column_edges_to_missing_nodes_are_kept_bare(
    service: LineageService, shared_data: Path
) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    target = fld(FOOD, "public.delivery_7_days", "category_id")
    sources = service.store.edges([target], Direction.UPSTREAM, [EdgeKind.DERIVES])
    assert [e.source_id for e in sources] == [fld(FOOD, "public.menu_item_id", "category_id")]
    missing_dataset = service.node(ds(FOOD, "public.menu_item_id"))
    assert missing_dataset.attrs == {}
    missing_field = service.node(fld(FOOD, "public.restaurants", "menu_item_id"))
    assert missing_field.attrs == {}
    contained = service.store.expand(
        [ds(FOOD, "public.restaurants")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD]
    )
    # the ten fields of the schema facet plus the one only a column edge names
    assert len(contained) == 11
    assert fld(FOOD, "public.restaurants", "menu_item_id") in {h.target for h in contained}


def test_marquez_demo_quality_assertions(service: LineageService, shared_data: Path) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    run_id = "d5a2a4c4-fc78-428d-ae85-08c942ed8371"
    name = "public.delivery_7_days"
    check = service.node(make_id(Kind.CHECK, FOOD, name, "not_null(driver_id)"))
    assert check.attrs["check_type"] == "not_null"
    assert check.attrs["field"] == "driver_id"
    failed = service.node(make_id(Kind.RESULT, FOOD, name, "not_null(driver_id)", run_id))
    assert failed.attrs["passed"] is False
    passed = service.node(make_id(Kind.RESULT, FOOD, name, "is_string(customer_address)", run_id))
    assert passed.attrs["passed"] is True
    version = make_id(Kind.DATASET_VERSION, FOOD, name, run_id)
    evaluated = service.store.expand([failed.id], Direction.DOWNSTREAM, [EdgeKind.EVALUATED])
    assert [h.target for h in evaluated] == [version]
    on = service.store.expand(
        [fld(FOOD, name, "driver_id")], Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK]
    )
    assert [h.target for h in on] == [check.id]


def test_replaying_the_demo_changes_nothing(service: LineageService, shared_data: Path) -> None:
    events = load(shared_data / "marquez" / "metadata.json")
    apply_all(service, events)
    nodes, edges = service.store.export()
    before = ([n.model_dump() for n in nodes], [e.model_dump() for e in edges])
    apply_all(service, events)
    nodes, edges = service.store.export()
    after = ([n.model_dump() for n in nodes], [e.model_dump() for e in edges])
    assert after == before


# --- current versus historical lineage: the Marquez apples -----------------------------------

KITCHEN = "grandmas.kitchen"


def test_apples_current_lineage_differs_from_the_past_where_the_jobs_changed(
    service: LineageService, shared_data: Path
) -> None:
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    assert [f.name[0] for f in files] == ["1", "2", "3", "5", "6", "7", "8", "9"]
    apply_all(service, [load(f) for f in files])
    pie = ds(KITCHEN, "apple.pie")

    def upstream(as_of: datetime | None) -> set[tuple[str, str]]:
        result = service.lineage(pie, Direction.UPSTREAM, as_of=as_of)
        return {(e.source_id, e.target_id) for e in result.edges}

    earlier = upstream(datetime(2020, 10, 1, tzinfo=UTC))
    now = upstream(None)
    gather = make_id(Kind.JOB, KITCHEN, "gather_apples")
    filling = make_id(Kind.JOB, KITCHEN, "prepare_apple_filling")
    assert earlier - now == {(ds("laurents-orchard", "red.delicious"), gather)}
    assert now - earlier == {
        (ds("backyard", "crab.apples"), gather),
        (ds("cupboard", "sugar"), filling),
    }


def test_apples_count_every_run_versus_the_latest_runs(
    service: LineageService, shared_data: Path
) -> None:
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    apply_all(service, [load(f) for f in files])
    _, edges = service.store.export()
    flow = [e for e in edges if e.kind in (EdgeKind.READS, EdgeKind.WRITES)]
    assert len(flow) == 14
    assert len([e for e in flow if e.current]) == 13
    ended = [e for e in flow if not e.current]
    assert [(e.source_id, e.ended_at) for e in ended] == [
        (ds("laurents-orchard", "red.delicious"), "2020-10-15T03:00:00.000000Z")
    ]
    stats = service.stats()
    assert stats.nodes_by_kind["RUN"] == 8
    assert stats.nodes_by_kind["JOB"] == 5
    assert stats.nodes_by_kind["DATASET"] == 9


def test_apples_arriving_newest_first_give_the_same_current_lineage(
    service: LineageService, shared_data: Path
) -> None:
    # An older event arriving late made what only it reported current again:
    # gather_apples read red.delicious once more, beside crab.apples.
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    apply_all(service, [load(f) for f in reversed(files)])
    _, edges = service.store.export()
    flow = {
        (e.source_id, e.target_id): e for e in edges if e.kind in (EdgeKind.READS, EdgeKind.WRITES)
    }
    assert len(flow) == 14
    assert len([e for e in flow.values() if e.current]) == 13
    gather = make_id(Kind.JOB, KITCHEN, "gather_apples")
    red = flow[(ds("laurents-orchard", "red.delicious"), gather)]
    # it ends when the later run reported the job's lineage, as in file order
    assert (red.first_seen, red.ended_at) == (
        "2020-08-29T23:00:00.000000Z",
        "2020-10-15T03:00:00.000000Z",
    )
    pie = ds(KITCHEN, "apple.pie")
    earlier = service.lineage(pie, Direction.UPSTREAM, as_of=datetime(2020, 10, 1, tzinfo=UTC))
    assert (red.source_id, gather) in {(e.source_id, e.target_id) for e in earlier.edges}


def test_apples_batched_and_sequential_ingestion_agree(shared_data: Path) -> None:
    folder = shared_data / "marquez" / "apples"
    sequential = LineageService(open_store("memory://"))
    for document in read_path(folder):
        sequential.apply(translate_event(document.value))
    batched = LineageService(open_store("memory://"))
    report = ingest_documents(read_path(folder), translate_event, batched.apply)
    assert report.ok == 8
    nodes_a, edges_a = sequential.store.export()
    nodes_b, edges_b = batched.store.export()
    assert [n.model_dump() for n in nodes_a] == [n.model_dump() for n in nodes_b]
    assert [e.model_dump() for e in edges_a] == [e.model_dump() for e in edges_b]


def rerun(events: list[Any], days: int) -> list[Any]:
    """The same events a day later, with new run ids: a scheduler running the jobs again."""
    again = []
    for original in events:
        document = copy.deepcopy(original)
        if "eventTime" in document:
            at = datetime.fromisoformat(document["eventTime"].replace("Z", "+00:00"))
            document["eventTime"] = (at + timedelta(days=days)).isoformat()
        if "run" in document:
            document["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, document["run"]["runId"]))
        again.append(document)
    return again


def test_grouped_translation_in_batches_agrees_with_plain_events_one_by_one(
    shared_data: Path,
) -> None:
    """Repeated descriptions reported by reference and folded in batches store the same."""
    sources = [shared_data / "marquez" / "metadata.json", DBT_OL / "build1.jsonl"]
    once = [d.value for source in sources for d in read_path(source)]
    documents = [Document(f"{n}", d) for n, d in enumerate([*once, *rerun(once, days=1)])]
    translator = EventTranslator()
    grouped = [translator.grouped(d.value) for d in documents]
    assert sum(len(g.groups) for g in grouped) >= 40  # the reruns repeat descriptions
    sequential = LineageService(open_store("memory://"))
    for document in documents:
        sequential.apply(translate_event(document.value))
    batched = LineageService(open_store("memory://"))
    report = ingest_documents(documents, EventTranslator().grouped, batched.apply)
    assert report.failed == []
    nodes_a, edges_a = sequential.store.export()
    nodes_b, edges_b = batched.store.export()
    assert [n.model_dump() for n in nodes_a] == [n.model_dump() for n in nodes_b]

    # dbt-ol sends every START before any COMPLETE, and a model's new version is a
    # version once its run completes: one by one, a test that STARTs first reads the
    # version before (yesterday's), until the model's COMPLETE moves the read to the
    # new one, retracting the first (never current at any time). A batch holds the
    # COMPLETE already and links the new version at once. That is the only difference.
    def never_current(edge: Edge) -> bool:
        return edge.origin is Origin.INFERRED and edge.ended_at == edge.first_seen

    edges_a = list(edges_a)
    retracted = [e for e in edges_a if never_current(e)]
    reads = [e for e in retracted if e.kind is EdgeKind.READ_BY]
    assert {(e.kind, e.target_id.split("|")[2]) for e in reads} == {
        (EdgeKind.READ_BY, name)
        for name in (
            "shop.main.shop.orders.build.run",
            "shop.main.shop.orders.build.test",
            "shop.main.shop.stg_customers.build.test",
            "shop.main.shop.stg_orders.build.test",
            "shop.main.shop.stg_payments.build.test",
            "test.shop.assert_orders_have_amount",
        )
    }
    # The results the tests reported on their inputs judged what they read: they moved too.
    judged = [e for e in retracted if e.kind is EdgeKind.EVALUATED]
    assert judged and len(judged) + len(reads) == len(retracted)
    assert {e.target_id for e in judged} <= {e.source_id for e in reads}
    kept = [e for e in edges_a if not never_current(e)]
    assert [e.model_dump() for e in kept] == [e.model_dump() for e in edges_b]


# --- the Marquez and OpenLineage example events ------------------------------------------------


def test_marquez_examples_are_all_accepted(service: LineageService, shared_data: Path) -> None:
    folder = shared_data / "marquez" / "open_lineage"
    report = ingest_documents(read_path(folder), translate_event, service.apply)
    assert report.ok == 8 and report.failed == []
    unicode_job = service.node(make_id(Kind.JOB, "my-scheduler-namespace", "myjob.buggy_task🕷"))
    assert unicode_job.name == "myjob.buggy_task🕷"
    source = service.node(ds("s3://blob-source", "instance.schema.table"))
    assert source.attrs["platform"] == "s3"
    assert source.namespace == "s3://blob-source"
    sink_field = service.node(fld("s3://blob-sink", "instance.schema.table", "column1"))
    assert sink_field.attrs["type"] == "VARCHAR"
    # the DatasetEvent: a dataset and its schema, no job
    assert service.node(fld("my-dataset-namespace", "my-dataset-name", "col_a")).attrs == {
        "description": "string",
        "ordinal": 1,
        "type": "VARCHAR",
    }
    # the JobEvent: design-time lineage without a run
    job = make_id(Kind.JOB, "my-scheduler-namespace", "myjob")
    inputs = service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])
    assert {h.target for h in inputs} == {
        ds("my-datasource-namespace", "instance.schema.input-1"),
        ds("my-datasource-namespace", "instance.schema.input-2"),
    }


def test_full_event_maps_every_facet(shared_data: Path) -> None:
    changeset = translate_event(load(shared_data / "marquez" / "open_lineage" / "event_full.json"))
    nodes = by_id(changeset)
    job = nodes[make_id(Kind.JOB, "my-scheduler-namespace", "myjob.mytask")]
    assert job.attrs["job_type"] == "QUERY"
    assert job.attrs["integration"] == "FLINK"
    assert job.attrs["processing_type"] == "STREAMING"
    assert job.attrs["sql"] == "SELECT * FROM foo"
    assert job.attrs["description"] == "string"
    assert job.attrs["code_location"] == "http://example.com"
    assert sorted(job.attrs["facets"]) == ["additionalProp1", "additionalProp2", "additionalProp3"]
    run_id = "ea041791-68bc-4ae1-bd89-4c8106a157e4"
    run = nodes[make_id(Kind.RUN, "my-scheduler-namespace", "myjob.mytask", run_id)]
    parent = make_id(
        Kind.RUN, "my-scheduler-namespace", "myjob.mytask", "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
    )
    assert run.attrs["parent_run"] == parent
    assert run.attrs["nominal_time"] == "2020-12-17T03:00:00.001000Z"
    assert sorted(run.attrs["facets"]) == ["additionalProp1", "additionalProp2", "additionalProp3"]
    assert edge_map(changeset, EdgeKind.PARENT_OF).keys() == {(parent, run.id)}
    table = ds("my-datasource-namespace", "instance.schema.table")
    # the input is the output: a self-loop is kept, not rejected
    assert (table, job.id) in edge_map(changeset, EdgeKind.READS)
    assert (job.id, table) in edge_map(changeset, EdgeKind.WRITES)
    version = nodes[
        make_id(Kind.DATASET_VERSION, "my-datasource-namespace", "instance.schema.table", run_id)
    ]
    assert version.attrs["row_count"] == 2000
    assert version.attrs["byte_count"] == 2097152
    assert run.attrs["input_metrics"] == {table: {"bytes": 1048576, "rowCount": 1000}}
    results = {n.parts[0]: n for n in nodes.values() if n.kind is Kind.RESULT}
    assert sorted(results) == ["no_null_values(id)", "row_count_equal_to"]
    assert all(r.attrs["passed"] is True for r in results.values())
    assert sorted(nodes[table].attrs["facets"]) == [
        "additionalProp1",
        "additionalProp2",
        "additionalProp3",
    ]


def test_event_without_event_type_or_schema_url_is_accepted(shared_data: Path) -> None:
    changeset = translate_event(
        load(shared_data / "marquez" / "open_lineage" / "event_required_only.json")
    )
    run = by_id(changeset)[
        make_id(Kind.RUN, "my-namespace", "myjob", "43d7db3b-8984-4cda-b237-8c6919b36670")
    ]
    assert "state" not in run.attrs
    assert changeset.snapshots == []
    without = load(shared_data / "marquez" / "open_lineage" / "event_without_schema_url.json")
    assert "schemaURL" not in without
    assert len(translate_event(without).snapshots) == 1


# --- facets -------------------------------------------------------------------------------------


def test_nested_schema_fields_are_contained_in_their_parents(shared_data: Path) -> None:
    schema = load(shared_data / "openlineage" / "spec_tests" / "SchemaDatasetFacet_1.json")
    changeset = translate_event(event(outputs=[dataset("kafka://broker", "payments", **schema)]))
    nodes = by_id(changeset)
    paths = sorted(n.parts[0] for n in nodes.values() if n.kind is Kind.FIELD)
    assert paths == [
        "addresses",
        "addresses.country",
        "addresses.state",
        "addresses.street",
        "addresses.type",
        "addresses.zip",
        "amount",
        "counterparty_id",
        "currency",
        "custom_properties",
        "custom_properties.key",
        "custom_properties.value",
        "custom_properties.value._0",
        "custom_properties.value._1",
        "phones",
        "phones._element",
        "user_id",
    ]
    contains = edge_map(changeset, EdgeKind.HAS_FIELD)
    table = ds("kafka://broker", "payments")
    assert (
        fld("kafka://broker", "payments", "addresses"),
        fld("kafka://broker", "payments", "addresses.zip"),
    ) in contains
    assert (
        fld("kafka://broker", "payments", "custom_properties.value"),
        fld("kafka://broker", "payments", "custom_properties.value._1"),
    ) in contains
    assert (table, fld("kafka://broker", "payments", "phones")) in contains
    assert (table, fld("kafka://broker", "payments", "phones._element")) not in contains
    zip_field = nodes[fld("kafka://broker", "payments", "addresses.zip")]
    assert zip_field.attrs == {"description": "Zip code", "ordinal": 3, "type": "string"}
    version = nodes[make_id(Kind.DATASET_VERSION, "kafka://broker", "payments", RUN_A)]
    assert version.attrs["schema_fields"][4] == {"path": "phones", "type": "array", "ordinal": 5}


def test_column_lineage_with_transformations(shared_data: Path) -> None:
    facet = load(shared_data / "openlineage" / "spec_tests" / "ColumnLineageDatasetFacet_1.json")
    ns = "SnowflakeOpenLineage"
    changeset = translate_event(event(outputs=[dataset(ns, "DISCOUNTED", **facet)]))
    derives = edge_map(changeset, EdgeKind.DERIVES)
    assert len(derives) == 12
    job = make_id(Kind.JOB, "etl", "load_orders")
    direct = derives[(fld(ns, "CUSTOMERS", "NAME"), fld(ns, "DISCOUNTED", "NAME"))]
    assert direct.attrs == {"job": job, "transformation": "DIRECT", "subtype": "IDENTITY"}
    join = derives[(fld(ns, "CUSTOMERS", "ID"), fld(ns, "DISCOUNTED", "NAME"))]
    assert join.attrs == {
        "job": job,
        "transformation": "INDIRECT",
        "subtype": "JOIN",
        "description": "ON (DISCOUNTS.CUSTOMERS_ID=CUSTOMERS.ID)",
    }
    # inputs the event does not list are created bare, so the edges have both ends
    nodes = by_id(changeset)
    assert nodes[ds(ns, "CUSTOMERS")].attrs == {}
    assert nodes[fld(ns, "DISCOUNTS", "AMOUNT_OFF")].attrs == {}


def test_dataset_level_column_lineage_reaches_every_output_field(shared_data: Path) -> None:
    facet = load(shared_data / "openlineage" / "spec_tests" / "ColumnLineageDatasetFacet_2.json")
    ns = "s3://test-bucket"
    people = "/iceberg_warehouse/some-database/people"
    out = "/iceberg_warehouse/some-database/adults"
    changeset = translate_event(event(outputs=[dataset(ns, out, **facet)]))
    derives = edge_map(changeset, EdgeKind.DERIVES)
    # 4 field-level pairs, and 3 dataset-level inputs x 4 output fields, 3 of them shared
    assert len(derives) == 13
    sort_only = derives[(fld(ns, people, "last_name"), fld(ns, out, "id"))]
    assert sort_only.attrs["transformation"] == "INDIRECT"
    assert sort_only.attrs["subtype"] == "SORT"
    assert sort_only.attrs["scope"] == "dataset"
    both = derives[(fld(ns, people, "age"), fld(ns, out, "ageNextYear"))]
    assert both.attrs["transformation"] == "DIRECT"
    assert both.attrs["subtype"] == "TRANSFORMATION"
    assert "scope" not in both.attrs
    assert [t["subtype"] for t in both.attrs["transformations"]] == ["TRANSFORMATION", "FILTER"]


def test_deprecated_column_lineage_fields() -> None:
    lineage = {
        "fields": {
            "email_hash": {
                "inputFields": [{"namespace": "pg", "name": "users", "field": "email"}],
                "transformationDescription": "sha256(email)",
                "transformationType": "MASKED",
            },
            "user_id": {
                "inputFields": [{"namespace": "pg", "name": "users", "field": "id"}],
                "transformationType": "IDENTITY",
            },
            "city": {"inputFields": [{"namespace": "pg", "name": "users", "field": "city"}]},
        }
    }
    changeset = translate_event(
        event(outputs=[dataset("pg", "users_clean", columnLineage=lineage)])
    )
    derives = edge_map(changeset, EdgeKind.DERIVES)
    job = make_id(Kind.JOB, "etl", "load_orders")
    masked = derives[(fld("pg", "users", "email"), fld("pg", "users_clean", "email_hash"))]
    assert masked.attrs == {
        "job": job,
        "transformation": "DIRECT",
        "subtype": "TRANSFORMATION",
        "description": "sha256(email)",
        "masking": True,
    }
    identity = derives[(fld("pg", "users", "id"), fld("pg", "users_clean", "user_id"))]
    assert identity.attrs == {"job": job, "transformation": "DIRECT", "subtype": "IDENTITY"}
    untyped = derives[(fld("pg", "users", "city"), fld("pg", "users_clean", "city"))]
    assert untyped.attrs == {"job": job}


def test_hive_masking_and_group_by(shared_data: Path) -> None:
    document = load(shared_data / "openlineage" / "hive" / "cllSimpleQueryMaskingComplete.json")
    document.update(eventTime="2024-05-01T10:00:00Z", producer=PRODUCER)
    document["run"]["runId"] = RUN_A
    changeset = translate_event(document)
    hive = "hive://localhost:9083"
    derives = edge_map(changeset, EdgeKind.DERIVES)
    masked = {t for (s, t), e in derives.items() if e.attrs.get("masking")}
    assert masked == {fld(hive, "test.xxx", "mt"), fld(hive, "test.xxx", "ma")}
    # the GROUP BY on t1.a reaches every output field
    grouped = {t for (s, t), e in derives.items() if s == fld(hive, "test.t1", "a")}
    assert grouped == {fld(hive, "test.xxx", p) for p in ("i", "t", "mt", "a", "ma")}
    nodes = by_id(changeset)
    assert nodes[ds(hive, "test.t1")].attrs["aliases"] == [
        ds("file", "/opt/hive/data/warehouse/test.db/t1")
    ]
    run = nodes[make_id(Kind.RUN, "default", "createtable_as_select.test.xxx", RUN_A)]
    assert set(run.attrs["facets"]) == {
        "processing_engine",
        "hive_properties",
        "hive_query",
        "hive_session",
    }
    job = nodes[make_id(Kind.JOB, "default", "createtable_as_select.test.xxx")]
    assert job.attrs["sql_dialect"] == "hive"


def test_spark_column_lineage(shared_data: Path) -> None:
    document = load(shared_data / "openlineage" / "spark" / "pysparkCLLEnd.json")
    document.update(eventTime="2024-05-01T10:00:00Z", producer=PRODUCER, run={"runId": RUN_A})
    document["job"]["name"] = "cll_job"
    changeset = translate_event(document)
    derives = edge_map(changeset, EdgeKind.DERIVES)
    assert len(derives) == 10
    agg = derives[
        (fld("file", "/tmp/cll_test/cll_source2", "c"), fld("file", "/tmp/cll_test/tbl1", "agg"))
    ]
    assert (agg.attrs["transformation"], agg.attrs["subtype"]) == ("DIRECT", "AGGREGATION")
    snapshot = changeset.snapshots[0]
    assert sorted(snapshot.inputs) == [
        ds("file", "/tmp/cll_test/cll_source1"),
        ds("file", "/tmp/cll_test/cll_source2"),
    ]
    assert snapshot.column_edges is not None and len(snapshot.column_edges) == 10


def test_ownership_documentation_tags_and_data_source() -> None:
    facets = {
        "ownership": {
            "owners": [{"name": "team:payments", "type": "MAINTAINER"}, {"name": "user:ana"}]
        },
        "documentation": {"description": "Orders, one row each"},
        "dataSource": {"name": "warehouse", "uri": "postgres://db:5432/shop"},
        "tags": {
            "tags": [
                {"key": "pii", "value": "true"},
                {"key": "tier", "value": "gold"},
                {"key": "pii", "value": "true", "field": "email"},
            ]
        },
        "schema": {"fields": [{"name": "email", "type": "text"}]},
    }
    changeset = translate_event(
        event(outputs=[dataset("postgres://db:5432", "shop.orders", **facets)])
    )
    nodes = by_id(changeset)
    orders = nodes[ds("postgres://db:5432", "shop.orders")]
    assert orders.attrs["owners"] == ["team:payments", "user:ana"]
    assert orders.attrs["description"] == "Orders, one row each"
    assert orders.attrs["tags"] == ["pii", "tier:gold"]
    assert orders.attrs["source_uri"] == "postgres://db:5432/shop"
    assert orders.attrs["platform"] == "postgres"
    assert nodes[fld("postgres://db:5432", "shop.orders", "email")].attrs["tags"] == ["pii"]


def test_error_message_and_root_parent(shared_data: Path) -> None:
    spec = shared_data / "openlineage" / "spec_tests"
    facets = {**load(spec / "ErrorMessageRunFacet_1.json"), **load(spec / "ParentRunFacet_2.json")}
    changeset = translate_event(event("FAIL", run_facets=facets))
    run = by_id(changeset)[make_id(Kind.RUN, "etl", "load_orders", RUN_A)]
    assert run.attrs["state"] == "FAIL"
    assert run.attrs["error_message"] == "failed"
    assert run.attrs["error_language"] == "JAVA"
    assert run.attrs["parent_run"] == make_id(
        Kind.RUN, "airflow", "my_dag.my_task", "f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11"
    )
    assert run.attrs["root_run"] == make_id(
        Kind.RUN, "airflow", "my_dag", "a0000000-3c3c-1a1a-2b2b-c1b95c24ff11"
    )


def test_quality_metrics_on_a_versioned_input(shared_data: Path) -> None:
    spec = shared_data / "openlineage" / "spec_tests"
    read = {
        "namespace": "postgres://db:5432",
        "name": "shop.payments",
        "facets": load(spec / "DatasetVersionDatasetFacet_1.json"),
        "inputFacets": load(spec / "DataQualityMetricsInputDatasetFacet_1.json"),
    }
    changeset = translate_event(event(inputs=[read]))
    nodes = by_id(changeset)
    version_id = make_id(Kind.DATASET_VERSION, "postgres://db:5432", "shop.payments", "2")
    version = nodes[version_id]
    assert version.attrs["row_count"] == 10
    assert version.attrs["file_count"] == 5
    assert version.attrs["column_metrics"]["amount"] == {
        "count": 10.0,
        "max": 1500.0,
        "min": 100.0,
        "sum": 6600.0,
    }
    run_id = make_id(Kind.RUN, "etl", "load_orders", RUN_A)
    assert (version_id, run_id) in edge_map(changeset, EdgeKind.READ_BY)
    assert "created_at" not in version.attrs  # the run read it; it did not write it


def test_assertions_as_input_facet_and_dataset_facet_merge(shared_data: Path) -> None:
    events = load(
        shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test" / "result.json"
    )
    failing = events[-1]
    assert failing["eventType"] == "FAIL"
    nodes = by_id(translate_event(failing))
    ns, name = "snowflake://ASDF1234.eu-central-1.aws", "DEMO_DB.public.customers"
    result = nodes[
        make_id(
            Kind.RESULT,
            ns,
            name,
            "unique_customers_customer_id",
            "6edf42ed-d8d0-454a-b819-d09b9067ff99",
        )
    ]
    assert result.attrs["passed"] is False
    assert result.attrs["observed"] == "1"
    assert result.attrs["expected"] == "0"
    check = nodes[make_id(Kind.CHECK, ns, name, "unique_customers_customer_id")]
    assert check.attrs == {
        "check_type": "unique",
        "field": "customer_id",
        "severity": "ERROR",
        "source": "openlineage",
    }


def test_dbt_test_events_from_the_openlineage_integration(
    service: LineageService, shared_data: Path
) -> None:
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test"
    apply_all(service, load(folder / "result.json"))
    stats = service.stats()
    assert stats.nodes_by_kind["JOB"] == 6  # 5 test jobs and their parent dbt-job-name
    assert stats.nodes_by_kind["CHECK"] == 20
    assert stats.nodes_by_kind["RESULT"] == 20
    nodes, _ = service.store.export()
    failing = sorted(n.id for n in nodes if n.kind is Kind.RESULT and not n.attrs["passed"])
    ns = "snowflake://ASDF1234.eu-central-1.aws"
    run = "6edf42ed-d8d0-454a-b819-d09b9067ff99"
    assert failing == [
        make_id(Kind.RESULT, ns, "DEMO_DB.public.customers", "not_null_customers_customer_id", run),
        make_id(Kind.RESULT, ns, "DEMO_DB.public.customers", "unique_customers_customer_id", run),
    ]
    test_run = service.node(
        make_id(Kind.RUN, "dbt-test-namespace", "DEMO_DB.public.jaffle_shop.customers.test", run)
    )
    assert test_run.attrs["state"] == "FAIL"
    customers = ds(ns, "DEMO_DB.public.customers")
    orders = ds(ns, "DEMO_DB.public.orders")
    health = service.health_of([customers, orders])
    assert (health[customers].status.value, health[orders].status.value) == ("FAILING", "OK")


def test_dbt_run_events_with_templated_run_ids(service: LineageService, shared_data: Path) -> None:
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
    events = load(folder / "result.json")
    for document in events:
        # the file expects any run id; give each job one, as the integration would
        document["run"]["runId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, document["job"]["name"]))
    apply_all(service, events)
    stats = service.stats()
    assert stats.nodes_by_kind["DATASET"] == 5
    assert stats.edges_by_kind["READS"] + stats.edges_by_kind["WRITES"] == 10
    customers = make_id(Kind.JOB, "job-namespace", "postgres.public.jaffle_shop.customers")
    reads = service.store.expand([customers], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(h.target for h in reads) == [
        ds("postgres://POSTGRES_HOST:1234", f"postgres.public.{t}")
        for t in ("stg_customers", "stg_orders", "stg_payments")
    ]


# --- lifecycle, versions, symlinks ----------------------------------------------------------


def test_drop_marks_deleted_and_rename_keeps_the_old_identity(service: LineageService) -> None:
    service.apply(
        translate_event(event(outputs=[dataset("file", "/tmp/alter_test/alter_table_test")]))
    )
    rename = {
        "lifecycleStateChange": {
            "lifecycleStateChange": "RENAME",
            "previousIdentifier": {"name": "/tmp/alter_test/alter_table_test", "namespace": "file"},
        }
    }
    service.apply(
        translate_event(
            event(
                time="2024-05-02T10:00:00Z",
                run_id=RUN_B,
                outputs=[dataset("file", "/tmp/alter_test/renamed", **rename)],
            )
        )
    )
    old = ds("file", "/tmp/alter_test/alter_table_test")
    new = service.node(ds("file", "/tmp/alter_test/renamed"))
    assert new.attrs["aliases"] == [old]
    assert new.attrs["lifecycle_state"] == "RENAME"
    assert service.node(old).attrs["deleted"] is True
    assert service.node(old).attrs["renamed_to"] == new.id
    drop = {"lifecycleStateChange": {"lifecycleStateChange": "DROP"}}
    service.apply(
        translate_event(
            event(
                time="2024-05-03T10:00:00Z",
                run_id=RUN_A,
                job=("etl", "cleanup"),
                outputs=[dataset("file", "/tmp/alter_test/renamed", **drop)],
            )
        )
    )
    assert service.node(new.id).attrs["deleted"] is True


def test_a_rename_revives_a_name_that_was_dropped_or_renamed_away(
    service: LineageService,
) -> None:
    # a table renamed back to its old name, and one renamed onto a name dropped before,
    # exist under that name again: the newer RENAME clears what the older report set
    def rename(old: str) -> dict[str, Any]:
        return {
            "lifecycleStateChange": {
                "lifecycleStateChange": "RENAME",
                "previousIdentifier": {"namespace": "pg", "name": old},
            }
        }

    drop = {"lifecycleStateChange": {"lifecycleStateChange": "DROP"}}
    steps = [
        ("2024-05-01T10:00:00Z", dataset("pg", "a")),
        ("2024-05-02T10:00:00Z", dataset("pg", "b", **rename("a"))),
        ("2024-05-03T10:00:00Z", dataset("pg", "a", **rename("b"))),
        ("2024-05-04T10:00:00Z", dataset("pg", "c", **drop)),
        ("2024-05-05T10:00:00Z", dataset("pg", "c", **rename("a"))),
    ]
    for time, output in steps:
        service.apply(translate_event(event(time=time, run_id=str(uuid.uuid4()), outputs=[output])))
    deleted = {name: service.node(ds("pg", name)).attrs.get("deleted") for name in "abc"}
    assert deleted == {"a": True, "b": True, "c": False}
    assert service.node(ds("pg", "a")).attrs["renamed_to"] == ds("pg", "c")


def test_a_late_report_of_a_renamed_dataset_does_not_give_it_another_lifecycle_state(
    service: LineageService,
) -> None:
    # the old identity's last change is the rename; a CREATE reported before it and
    # arriving after it must not read as the state of a dataset that is deleted
    rename = {
        "lifecycleStateChange": {
            "lifecycleStateChange": "RENAME",
            "previousIdentifier": {"namespace": "pg", "name": "a"},
        }
    }
    create = {"lifecycleStateChange": {"lifecycleStateChange": "CREATE"}}
    for time, output in (
        ("2024-05-02T10:00:00Z", dataset("pg", "b", **rename)),
        ("2024-05-01T10:00:00Z", dataset("pg", "a", **create)),
    ):
        service.apply(translate_event(event(time=time, run_id=str(uuid.uuid4()), outputs=[output])))
    old = service.node(ds("pg", "a")).attrs
    assert (old["deleted"], old["lifecycle_state"], old["renamed_to"]) == (
        True,
        "RENAME",
        ds("pg", "b"),
    )


def test_a_renamed_dataset_is_found_by_its_old_name_after_later_reports(
    service: LineageService,
) -> None:
    # Spark and Hive send symlinks with every event; the report after a rename sets
    # aliases anew from them, and the previous identity must not be lost with it
    symlinks = {"symlinks": {"identifiers": [{"namespace": "s3://b", "name": "wh/sales"}]}}
    rename = {
        "lifecycleStateChange": {
            "lifecycleStateChange": "RENAME",
            "previousIdentifier": {"namespace": "pg", "name": "orders_legacy"},
        }
    }
    for time, facets in (
        ("2024-05-02T10:00:00Z", {**rename, **symlinks}),
        ("2024-05-03T10:00:00Z", symlinks),
    ):
        output = dataset("pg", "sales", **facets)
        service.apply(translate_event(event(time=time, run_id=str(uuid.uuid4()), outputs=[output])))
    sales = service.node(ds("pg", "sales"))
    assert sales.attrs["aliases"] == [ds("s3://b", "wh/sales")]
    assert sales.attrs["renamed_from"] == [ds("pg", "orders_legacy")]
    found = [n.id for n in service.search("orders_legacy").items]
    assert found == [ds("pg", "orders_legacy"), sales.id]


def test_version_facets_name_the_versions_read_and_written(service: LineageService) -> None:
    source = dataset("pg", "raw.orders", version={"datasetVersion": "v41"})
    target = dataset("pg", "mart.orders", version={"datasetVersion": "v7"})
    unversioned = dataset("pg", "mart.order_stats")
    service.apply(translate_event(event(inputs=[source], outputs=[target, unversioned])))
    run = make_id(Kind.RUN, "etl", "load_orders", RUN_A)
    read = service.store.expand([run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [h.target for h in read] == [make_id(Kind.DATASET_VERSION, "pg", "raw.orders", "v41")]
    wrote = service.store.expand([run], Direction.DOWNSTREAM, [EdgeKind.WROTE])
    assert sorted(h.target for h in wrote) == [
        make_id(Kind.DATASET_VERSION, "pg", "mart.order_stats", RUN_A),
        make_id(Kind.DATASET_VERSION, "pg", "mart.orders", "v7"),
    ]
    assert service.node(run).attrs["inputs"] == [ds("pg", "raw.orders")]


def test_an_input_without_a_version_is_listed_on_the_run() -> None:
    changeset = translate_event(event(inputs=[dataset("pg", "raw.orders")]))
    run = by_id(changeset)[make_id(Kind.RUN, "etl", "load_orders", RUN_A)]
    assert run.attrs["inputs"] == [ds("pg", "raw.orders")]
    assert edge_map(changeset, EdgeKind.READ_BY) == {}


# --- runs: states, snapshots --------------------------------------------------------------------


def test_run_state_never_moves_backwards(service: LineageService) -> None:
    run = make_id(Kind.RUN, "etl", "load_orders", RUN_A)
    service.apply(translate_event(event("COMPLETE", time="2024-05-01T10:05:00Z")))
    service.apply(translate_event(event("START", time="2024-05-01T10:00:00Z")))
    node = service.node(run)
    assert node.attrs["state"] == "COMPLETE"
    assert node.attrs["started_at"] == "2024-05-01T10:00:00Z"
    assert node.attrs["ended_at"] == "2024-05-01T10:05:00Z"
    service.apply(translate_event(event("RUNNING", time="2024-05-01T10:01:00Z")))
    assert service.node(run).attrs["state"] == "COMPLETE"
    # a later terminal state wins over an earlier one
    service.apply(translate_event(event("FAIL", time="2024-05-01T10:09:00Z")))
    assert service.node(run).attrs["state"] == "FAIL"
    service.apply(translate_event(event("ABORT", time="2024-05-01T10:07:00Z")))
    assert service.node(run).attrs["state"] == "FAIL"
    assert service.node(run).attrs["ended_at"] == "2024-05-01T10:09:00Z"


def test_run_state_in_one_batch_in_either_order(service: LineageService) -> None:
    combined = translate_event(event("COMPLETE", time="2024-05-01T10:05:00Z"))
    combined.extend(translate_event(event("START", time="2024-05-01T10:00:00Z")))
    service.apply(combined)
    run = service.node(make_id(Kind.RUN, "etl", "load_orders", RUN_A))
    assert run.attrs["state"] == "COMPLETE"


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("start_first", [False, True])
def test_run_state_moves_forward_when_the_start_is_stamped_after_the_end(
    service: LineageService, batched: bool, start_first: bool
) -> None:
    # Clocks of the emitters disagree: the START is stamped a second after the COMPLETE.
    # A report older than a node's attributes only fills gaps, so the COMPLETE that
    # arrived after the START left the run STARTed (and so did a batch, in either order).
    start = event("START", time="2024-05-01T10:05:01Z")
    complete = event("COMPLETE", time="2024-05-01T10:05:00Z")
    events = [start, complete] if start_first else [complete, start]
    if batched:
        documents = [Document(f"[{n}]", e) for n, e in enumerate(events)]
        assert ingest_documents(documents, EventTranslator().grouped, service.apply).ok == 2
    else:
        apply_all(service, events)
    run = service.node(make_id(Kind.RUN, "etl", "load_orders", RUN_A))
    assert run.attrs["state"] == "COMPLETE"
    assert run.attrs["state_at"] == "2024-05-01T10:05:00.000000Z"
    assert run.attrs["started_at"] == "2024-05-01T10:05:01Z"
    assert run.attrs["ended_at"] == "2024-05-01T10:05:00Z"
    # a later terminal state still wins, whatever the attributes' time
    apply_all(service, [event("FAIL", time="2024-05-01T10:05:00.5Z")])
    assert service.node(run.id).attrs["state"] == "FAIL"
    apply_all(service, [event("RUNNING", time="2024-05-01T10:05:02Z")])
    assert service.node(run.id).attrs["state"] == "FAIL"


def test_start_lineage_is_kept_and_later_runs_end_what_they_no_longer_report(
    service: LineageService,
) -> None:
    job = make_id(Kind.JOB, "etl", "load_orders")
    service.apply(
        translate_event(event("START", inputs=[dataset("pg", "a")], outputs=[dataset("pg", "out")]))
    )
    service.apply(translate_event(event("COMPLETE", time="2024-05-01T10:05:00Z")))
    reads = {h.target for h in service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])}
    assert reads == {ds("pg", "a")}
    # a RUNNING event that reports only part of the lineage ends nothing
    service.apply(
        translate_event(
            event("RUNNING", time="2024-05-02T09:00:00Z", run_id=RUN_B, inputs=[dataset("pg", "b")])
        )
    )
    reads = {h.target for h in service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])}
    assert reads == {ds("pg", "a"), ds("pg", "b")}
    service.apply(
        translate_event(
            event(
                "COMPLETE",
                time="2024-05-02T10:00:00Z",
                run_id=RUN_B,
                inputs=[dataset("pg", "b")],
                outputs=[dataset("pg", "out")],
            )
        )
    )
    reads = {h.target for h in service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])}
    assert reads == {ds("pg", "b")}
    before = service.store.expand(
        [job], Direction.UPSTREAM, [EdgeKind.READS], as_of=datetime(2024, 5, 1, 12, tzinfo=UTC)
    )
    assert {h.target for h in before} == {ds("pg", "a")}


def test_column_edges_a_job_stops_reporting_stop_being_current(service: LineageService) -> None:
    def lineage(*sources: str) -> dict[str, Any]:
        return {
            "fields": {
                "total": {
                    "inputFields": [{"namespace": "pg", "name": "a", "field": s} for s in sources]
                }
            }
        }

    service.apply(
        translate_event(
            event(
                inputs=[dataset("pg", "a")],
                outputs=[dataset("pg", "out", columnLineage=lineage("x", "y"))],
            )
        )
    )
    service.apply(
        translate_event(
            event(
                time="2024-05-02T10:00:00Z",
                run_id=RUN_B,
                inputs=[dataset("pg", "a")],
                outputs=[dataset("pg", "out", columnLineage=lineage("x"))],
            )
        )
    )
    total = fld("pg", "out", "total")
    now = service.store.expand([total], Direction.UPSTREAM, [EdgeKind.DERIVES])
    assert [h.target for h in now] == [fld("pg", "a", "x")]
    then = service.store.expand(
        [total], Direction.UPSTREAM, [EdgeKind.DERIVES], as_of=datetime(2024, 5, 1, 12, tzinfo=UTC)
    )
    assert sorted(h.target for h in then) == [fld("pg", "a", "x"), fld("pg", "a", "y")]


def test_a_late_older_event_leaves_the_later_column_lineage_current(
    service: LineageService,
) -> None:
    def run(time: str, run_id: str, source: str) -> dict[str, Any]:
        field = {"inputFields": [{"namespace": "pg", "name": "a", "field": source}]}
        facet = {"fields": {"total": field}}
        out = dataset("pg", "out", columnLineage=facet)
        return event(time=time, run_id=run_id, inputs=[dataset("pg", "a")], outputs=[out])

    service.apply(translate_event(run("2024-05-02T10:00:00Z", RUN_B, "x")))
    service.apply(translate_event(run("2024-05-01T10:00:00Z", RUN_A, "y")))  # late
    total = fld("pg", "out", "total")
    now = service.store.expand([total], Direction.UPSTREAM, [EdgeKind.DERIVES])
    assert [h.target for h in now] == [fld("pg", "a", "x")]
    then = service.store.expand(
        [total], Direction.UPSTREAM, [EdgeKind.DERIVES], as_of=datetime(2024, 5, 1, 12, tzinfo=UTC)
    )
    assert [h.target for h in then] == [fld("pg", "a", "y")]


# --- schema snapshots: fields a dataset's schema no longer lists ------------------------------


def schema(*fields: str | tuple[str, list[Any]]) -> dict[str, Any]:
    """A schema facet: names, or (name, nested fields) pairs."""

    def field(f: str | tuple[str, list[Any]]) -> dict[str, Any]:
        if isinstance(f, str):
            return {"name": f, "type": "STRING"}
        return {"name": f[0], "type": "STRUCT", "fields": [field(c) for c in f[1]]}

    return {"fields": [field(f) for f in fields]}


def current_fields(
    service: LineageService, dataset_id: str, as_of: datetime | None = None
) -> set[str]:
    """Paths of a dataset's fields (nested ones too), now or ``as_of``."""
    paths: set[str] = set()
    frontier = [dataset_id]
    while frontier:
        hops = service.store.expand(
            frontier, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD], as_of=as_of
        )
        frontier = [h.target for h in hops]
        paths.update(f.rsplit("|", 1)[1] for f in frontier)
    return paths


def write(time: str, run_id: str, facet: dict[str, Any], event_type: str = "COMPLETE") -> Any:
    """A run of ``etl.load_orders`` writing ``pg.out`` with this schema facet."""
    out = dataset("pg", "out", schema=facet)
    return event(event_type, time=time, run_id=run_id, inputs=[dataset("pg", "a")], outputs=[out])


def test_fields_an_output_schema_no_longer_lists_stop_being_current(
    service: LineageService,
) -> None:
    # Each field the producer ever reported stayed current: a dropped column was still
    # in the dataset's schema, in impact analysis and in the UI, forever.
    out = ds("pg", "out")
    address = ("address", ["street", "city"])
    service.apply(
        translate_event(write("2024-05-01T10:00:00Z", RUN_A, schema("id", "name", address)))
    )
    service.apply(translate_event(write("2024-05-02T10:00:00Z", RUN_B, schema("id", "name"))))
    assert current_fields(service, out) == {"id", "name"}
    # the dropped ones are kept, as they were before the drop
    day_one = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert current_fields(service, out, day_one) == {
        "id",
        "name",
        "address",
        "address.street",
        "address.city",
    }
    _, edges = service.store.export()
    ended = {
        e.target_id: e.ended_at for e in edges if e.kind is EdgeKind.HAS_FIELD and not e.current
    }
    assert ended == dict.fromkeys(
        [fld("pg", "out", p) for p in ("address", "address.street", "address.city")],
        "2024-05-02T10:00:00.000000Z",
    )
    query = "query($id: ID!) { node(id: $id) { ... on Dataset { schema { path } } } }"
    found = gql(service, query, {"id": out})["node"]["schema"]
    assert sorted(f["path"] for f in found) == ["id", "name"]
    deleted = "query($id: ID!) { node(id: $id) { ... on Field { deleted } } }"
    for path, dropped in (("address.city", True), ("name", False)):
        field = gql(service, deleted, {"id": fld("pg", "out", path)})["node"]
        assert field == {"deleted": dropped}
    # a column that comes back is current again, and only it
    third = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    partial = ("address", ["street"])
    service.apply(translate_event(write("2024-05-03T10:00:00Z", third, schema("id", partial))))
    assert current_fields(service, out) == {"id", "address", "address.street"}


def test_a_late_older_schema_neither_ends_nor_revives_fields(service: LineageService) -> None:
    out = ds("pg", "out")
    service.apply(translate_event(write("2024-05-02T10:00:00Z", RUN_B, schema("id", "name"))))
    service.apply(translate_event(write("2024-05-01T10:00:00Z", RUN_A, schema("id", "legacy"))))
    # name was reported after the late schema was true; legacy was gone by then
    assert current_fields(service, out) == {"id", "name"}
    day_one = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert "legacy" in current_fields(service, out, day_one)
    _, edges = service.store.export()
    legacy = next(e for e in edges if e.target_id == fld("pg", "out", "legacy"))
    assert (legacy.first_seen, legacy.ended_at) == (
        "2024-05-01T10:00:00.000000Z",
        "2024-05-02T10:00:00.000000Z",
    )


def test_a_readers_reference_does_not_date_a_late_writers_schema(
    service: LineageService,
) -> None:
    # A reader naming out.id in its column lineage moved the fields' last report, so the
    # writer's schema that came after it (though older) ended the column it added.
    out = ds("pg", "out")
    service.apply(translate_event(write("2024-05-01T10:00:00Z", RUN_A, schema("id"))))
    lineage = {
        "fields": {"id": {"inputFields": [{"namespace": "pg", "name": "out", "field": "id"}]}}
    }
    reader = event(
        time="2024-05-03T10:00:00Z",
        run_id="5b1d0e8a-3c4f-4a6b-9d2e-7f8a9b0c1d2e",
        job=("etl", "report"),
        inputs=[dataset("pg", "out")],
        outputs=[dataset("pg", "report", columnLineage=lineage)],
    )
    service.apply(translate_event(reader))
    service.apply(translate_event(write("2024-05-02T10:00:00Z", RUN_B, schema("id", "email"))))
    assert current_fields(service, out) == {"id", "email"}


def test_only_a_whole_schema_ends_fields(service: LineageService) -> None:
    # Readers may report the columns they read; a RUNNING event, an empty field list
    # or an event without a schema says nothing of the fields left out.
    out = ds("pg", "out")
    service.apply(translate_event(write("2024-05-01T10:00:00Z", RUN_A, schema("id", "name"))))
    reader = event(
        time="2024-05-02T10:00:00Z",
        run_id=RUN_B,
        job=("etl", "report"),
        inputs=[dataset("pg", "out", schema=schema("id"))],
    )
    service.apply(translate_event(reader))
    service.apply(translate_event(write("2024-05-03T10:00:00Z", RUN_A, schema("id"), "RUNNING")))
    service.apply(translate_event(write("2024-05-04T10:00:00Z", RUN_A, {"fields": []})))
    assert current_fields(service, out) == {"id", "name"}


def test_a_dataset_event_schema_ends_the_fields_it_leaves_out(service: LineageService) -> None:
    def dataset_event(time: str, facet: dict[str, Any]) -> dict[str, Any]:
        return {
            "eventTime": time,
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": dataset("pg", "static", schema=facet),
        }

    service.apply(translate_event(dataset_event("2024-05-01T10:00:00Z", schema("a", "b"))))
    service.apply(translate_event(dataset_event("2024-05-02T10:00:00Z", schema("a", "c"))))
    assert current_fields(service, ds("pg", "static")) == {"a", "c"}


def test_schema_changes_batched_and_one_by_one_agree() -> None:
    # Snapshots are resolved against the store before their batch: two schemas of one
    # dataset in a batch would each miss the other's fields.
    facets = [schema("id", "name"), schema("id"), schema("id", "name", "email"), schema("id")]
    runs = [str(uuid.UUID(int=i + 1)) for i in range(len(facets))]
    documents = [write(f"2024-05-0{i + 1}T10:00:00Z", runs[i], f) for i, f in enumerate(facets)]
    sequential = LineageService(open_store("memory://"))
    apply_all(sequential, documents)
    batched = LineageService(open_store("memory://"))
    items = [Document(f"[{i}]", d) for i, d in enumerate(documents)]
    assert ingest_documents(items, translate_event, batched.apply).ok == 4
    assert current_fields(batched, ds("pg", "out")) == {"id"}
    nodes_a, edges_a = sequential.store.export()
    nodes_b, edges_b = batched.store.export()
    assert [n.model_dump() for n in nodes_a] == [n.model_dump() for n in nodes_b]
    assert [e.model_dump() for e in edges_a] == [e.model_dump() for e in edges_b]


def test_lineage_over_time_does_not_depend_on_arrival_order() -> None:
    # A late event showed the output written then, but an edge that a later event had
    # ended kept that later end: asOf between them listed both outputs.
    def write(time: str, run_id: str, output: str) -> dict[str, Any]:
        return event(
            time=time, run_id=run_id, inputs=[dataset("pg", "in")], outputs=[dataset("pg", output)]
        )

    events = [
        write("2024-06-01T10:00:00Z", RUN_A, "a"),
        write("2024-06-01T15:00:00Z", "c3f0a1de-1111-4a2b-9c3d-5e6f7a8b9c0d", "c"),
        write("2024-06-01T20:00:00Z", RUN_B, "b"),
    ]

    def flow(order: list[int]) -> list[tuple[str, str, str | None]]:
        service = LineageService(open_store("memory://"))
        apply_all(service, [events[i] for i in order])
        _, edges = service.store.export()
        return sorted(
            (e.target_id, e.first_seen, e.ended_at) for e in edges if e.kind is EdgeKind.WRITES
        )

    in_order = flow([0, 1, 2])
    assert in_order == [
        (ds("pg", "a"), "2024-06-01T10:00:00.000000Z", "2024-06-01T15:00:00.000000Z"),
        (ds("pg", "b"), "2024-06-01T20:00:00.000000Z", None),
        (ds("pg", "c"), "2024-06-01T15:00:00.000000Z", "2024-06-01T20:00:00.000000Z"),
    ]
    assert flow([0, 2, 1]) == in_order


def test_a_late_older_event_does_not_overwrite_newer_attributes(service: LineageService) -> None:
    # The last event to arrive set the attributes: a retried old event turned a bigint
    # column back into an int, and impact analysis then passed a narrowing to int.
    def described(time: str, type_: str, description: str, **more: Any) -> dict[str, Any]:
        facets = {
            "schema": {"fields": [{"name": "c", "type": type_}]},
            "documentation": {"description": description},
            **more,
        }
        return {
            "eventTime": time,
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": dataset("test://iso", "a", **facets),
        }

    newer = described("2024-05-10T00:00:00Z", "bigint", "current")
    owners = {"ownership": {"owners": [{"name": "team:data"}]}}
    late = described("2024-05-05T00:00:00Z", "int", "stale", **owners)
    service.apply(translate_event(newer))
    service.apply(translate_event(late))
    field = service.node(fld("test://iso", "a", "c"))
    assert field.attrs["type"] == "bigint"
    table = service.node(ds("test://iso", "a"))
    assert table.attrs["description"] == "current"
    assert table.attrs["owners"] == ["team:data"]  # what only the late event says fills in
    # in one batch (a file, the server's group commit) the same
    batched = LineageService(open_store("memory://"))
    items = [Document("[0]", newer), Document("[1]", late)]
    assert ingest_documents(items, translate_event, batched.apply).ok == 2
    assert batched.node(fld("test://iso", "a", "c")).attrs["type"] == "bigint"
    assert batched.node(ds("test://iso", "a")).attrs["description"] == "current"
    # and a newer report still wins, also one that repeats the late one (which a
    # process remembered as reported, and so skipped)
    translator = EventTranslator()  # one process: repeated facets are the same objects
    service.apply(translator(described("2024-05-12T00:00:00Z", "decimal(20,0)", "widened")))
    assert service.node(fld("test://iso", "a", "c")).attrs["type"] == "decimal(20,0)"
    assert service.node(ds("test://iso", "a")).attrs["description"] == "widened"
    service.apply(translator(described("2024-05-01T00:00:00Z", "int", "stale")))
    service.apply(translator(described("2024-05-20T00:00:00Z", "int", "stale")))
    assert service.node(fld("test://iso", "a", "c")).attrs["type"] == "int"
    assert service.node(ds("test://iso", "a")).attrs["description"] == "stale"


def test_a_bare_reference_does_not_date_a_nodes_attributes(service: LineageService) -> None:
    # A reader naming the table (no facets) moved its time on one store, so the writer's
    # description that came after it, though newer than the one held, was taken as late.
    def writer(time: str, run_id: str, words: str) -> dict[str, Any]:
        out = dataset("pg", "d", documentation={"description": words})
        return event(time=time, run_id=run_id, outputs=[out])

    service.apply(translate_event(writer("2024-05-01T00:00:00Z", RUN_A, "old")))
    reader = event(
        time="2024-05-03T00:00:00Z",
        run_id="0f6c2c1e-5a1b-4c3d-8e9f-0a1b2c3d4e5f",
        job=("etl", "report"),
        inputs=[dataset("pg", "d")],
    )
    service.apply(translate_event(reader))
    service.apply(translate_event(writer("2024-05-02T00:00:00Z", RUN_B, "new")))
    assert service.node(ds("pg", "d")).attrs["description"] == "new"


def test_a_node_a_reference_created_takes_any_description_as_its_first(
    service: LineageService,
) -> None:
    # Column lineage naming a field no event had described created the field and its
    # table bare, dated by the reader's event; the writer's events, older than it, were
    # then all late, so its first description stuck and a newer one was taken as late.
    lineage = {"fields": {"x": {"inputFields": [{"namespace": "pg", "name": "src", "field": "b"}]}}}
    reader = event(
        time="2024-05-03T00:00:00Z",
        run_id="0f6c2c1e-5a1b-4c3d-8e9f-0a1b2c3d4e5f",
        job=("etl", "report"),
        outputs=[dataset("pg", "report", columnLineage=lineage)],
    )

    def writer(time: str, run_id: str, type_: str, words: str) -> dict[str, Any]:
        facets = {
            "schema": {"fields": [{"name": "b", "type": type_}]},
            "documentation": {"description": words},
        }
        return event(time=time, run_id=run_id, outputs=[dataset("pg", "src", **facets)])

    service.apply(translate_event(reader))
    service.apply(translate_event(writer("2024-05-01T00:00:00Z", RUN_A, "int", "old")))
    service.apply(translate_event(writer("2024-05-02T00:00:00Z", RUN_B, "bigint", "new")))
    assert service.node(fld("pg", "src", "b")).attrs["type"] == "bigint"
    assert service.node(ds("pg", "src")).attrs["description"] == "new"


def test_job_event_lineage_replaces_the_jobs_design_lineage(service: LineageService) -> None:
    def job_event(time: str, source: str) -> dict[str, Any]:
        return {
            "eventTime": time,
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
            "job": {"namespace": "etl", "name": "design"},
            "inputs": [dataset("pg", source)],
            "outputs": [dataset("pg", "out")],
        }

    service.apply(translate_event(job_event("2024-05-01T10:00:00Z", "a")))
    service.apply(translate_event(job_event("2024-05-02T10:00:00Z", "b")))
    job = make_id(Kind.JOB, "etl", "design")
    reads = service.store.expand([job], Direction.UPSTREAM, [EdgeKind.READS])
    assert [h.target for h in reads] == [ds("pg", "b")]
    assert service.stats().nodes_by_kind.get("RUN", 0) == 0


# --- ML conventions -----------------------------------------------------------------------------


def test_feature_views_and_models(service: LineageService) -> None:
    table = dataset(
        "snowflake://acme",
        "marts.customers",
        schema={"fields": [{"name": "orders_90d"}, {"name": "ltv"}]},
    )
    view_lineage = {
        "fields": {
            "order_count": {
                "inputFields": [
                    {
                        "namespace": "snowflake://acme",
                        "name": "marts.customers",
                        "field": "orders_90d",
                    }
                ]
            },
            "value": {
                "inputFields": [
                    {"namespace": "snowflake://acme", "name": "marts.customers", "field": "ltv"}
                ]
            },
        }
    }
    view = dataset(
        "feast://shop",
        "customer_features",
        schema={
            "fields": [{"name": "order_count", "type": "INT64"}, {"name": "value", "type": "FLOAT"}]
        },
        columnLineage=view_lineage,
    )
    service.apply(
        translate_event(event(job=("airflow", "materialize"), inputs=[table], outputs=[view]))
    )
    order_count = make_id(Kind.FEATURE, "feast://shop", "customer_features:order_count")
    value = make_id(Kind.FEATURE, "feast://shop", "customer_features:value")
    assert service.node(order_count).attrs["dtype"] == "INT64"
    written = service.store.expand(
        [make_id(Kind.JOB, "airflow", "materialize")], Direction.DOWNSTREAM, [EdgeKind.WRITES]
    )
    assert sorted(h.target for h in written) == [order_count, value]
    computed = service.store.expand([order_count], Direction.UPSTREAM, [EdgeKind.COMPUTED_FROM])
    assert [h.target for h in computed] == [
        fld("snowflake://acme", "marts.customers", "orders_90d")
    ]

    features = dataset(
        "feast://shop",
        "customer_features",
        schema={"fields": [{"name": "order_count"}, {"name": "value"}]},
    )
    model = dataset("mlflow://registry", "churn", version={"datasetVersion": "7"})
    service.apply(
        translate_event(
            event(job=("airflow", "train_churn"), run_id=RUN_B, inputs=[features], outputs=[model])
        )
    )
    version = make_id(Kind.MODEL_VERSION, "mlflow://registry", "churn", "7")
    node = service.node(version)
    assert node.attrs["training_run"] == make_id(Kind.RUN, "airflow", "train_churn", RUN_B)
    trained = service.store.expand([version], Direction.UPSTREAM, [EdgeKind.TRAINED_ON])
    assert sorted(h.target for h in trained) == [order_count, value]
    owner = service.store.expand([version], Direction.UPSTREAM, [EdgeKind.HAS_VERSION])
    assert [h.target for h in owner] == [make_id(Kind.MODEL, "mlflow://registry", "churn")]
    assert service.node(make_id(Kind.MODEL, "mlflow://registry", "churn")).kind is Kind.MODEL


def test_dataset_type_facet_makes_features_and_models() -> None:
    feature = dataset(
        "s3://bucket", "user_stats:sessions_7d", datasetType={"datasetType": "FEATURE"}
    )
    model = dataset("s3://bucket", "models/ranker", datasetType={"datasetType": "MODEL"})
    changeset = translate_event(event(inputs=[feature], outputs=[model]))
    nodes = by_id(changeset)
    assert (
        nodes[make_id(Kind.FEATURE, "s3://bucket", "user_stats:sessions_7d")].kind is Kind.FEATURE
    )
    version = make_id(Kind.MODEL_VERSION, "s3://bucket", "models/ranker", RUN_A)
    assert version in nodes
    assert (make_id(Kind.FEATURE, "s3://bucket", "user_stats:sessions_7d"), version) in edge_map(
        changeset, EdgeKind.TRAINED_ON
    )


# --- validation ----------------------------------------------------------------------------------

NEGATIVE = {
    "event_no_run_id.json": "run.runId: missing",
    "event_invalid_run_facet.json": "run.facets.parent.run.runId: missing",
    "event_invalid_job_facet.json": "job.facets.ownership.owners[0].name: missing",
    "event_invalid_dataset_facet.json": "outputs[0].facets.ownership.owners[0].name: missing",
    "event_invalid_input_dataset_facet.json": (
        "inputs[0].inputFacets.dataQualityMetrics: needs rowCount or columnMetrics"
    ),
    "event_invalid_output_dataset_facet.json": (
        "outputs[0].outputFacets.outputStatistics.rowCount: must be an integer"
    ),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_examples_are_rejected_naming_the_field(name: str, shared_data: Path) -> None:
    document = load(shared_data / "openlineage" / "proxy_fluentd" / name)
    with pytest.raises(InvalidInput) as raised:
        translate_event(document)
    assert str(raised.value) == NEGATIVE[name]


@pytest.mark.parametrize(
    ("valid", "invalid", "message"),
    [
        (1, 1.0, "inputs[0].facets.schema.fields[0].ordinal_position: must be an integer"),
        (1, True, "inputs[0].facets.schema.fields[0].ordinal_position: must be an integer"),
    ],
)
def test_a_dataset_validated_before_is_validated_again_when_its_json_differs(
    valid: Any, invalid: Any, message: str
) -> None:
    # A dataset listed exactly as before is not validated again; 1, 1.0 and true are
    # equal in Python, but not the same JSON, and only the first is an ordinal.
    def with_ordinal(ordinal: Any) -> dict[str, Any]:
        schema = {"fields": [{"name": "id", "type": "INT", "ordinal_position": ordinal}]}
        return event(inputs=[dataset("pg", "orders", schema=schema)])

    for _ in range(2):
        assert parse_event(with_ordinal(valid))
        with pytest.raises(InvalidInput) as raised:
            parse_event(with_ordinal(invalid))
        assert str(raised.value) == message


def test_a_dataset_validated_before_is_validated_again_once_changed_in_place() -> None:
    document = event(inputs=[dataset("pg", "orders", schema=schema_facet("id"))])
    first = translate_event(document)
    document["inputs"][0]["facets"]["schema"]["fields"][0]["type"] = "BIGINT"
    changed = by_id(translate_event(document))[fld("pg", "orders", "id")]
    assert (
        changed.attrs["type"]
        == "BIGINT"
        != by_id(first)[fld("pg", "orders", "id")].attrs.get("type")
    )
    document["inputs"][0]["facets"]["schema"]["fields"][0]["name"] = ""
    with pytest.raises(InvalidInput, match=r"inputs\[0\]\.facets\.schema\.fields\[0\]\.name"):
        translate_event(document)


def test_a_dataset_validated_before_shares_nothing_with_the_document_it_came_from() -> None:
    # A facet of the producer's own is kept as sent: the dataset remembered as validated
    # held the first document's very object, so changing that document afterwards (a
    # template reused for the next event) changed what every later event with the first
    # text was translated as.
    def document(value: Any) -> dict[str, Any]:
        facets = {"acme": {"_producer": PRODUCER, "tier": value}}
        return event(inputs=[dataset("pg", "shared_orders", **facets)])

    def facets_of(changeset: ChangeSet) -> Any:
        return by_id(changeset)[ds("pg", "shared_orders")].attrs["facets"]

    template = document(1)
    assert facets_of(translate_event(template))["acme"]["tier"] == 1
    template["inputs"][0]["facets"]["acme"]["tier"] = 2
    assert facets_of(translate_event(template))["acme"]["tier"] == 2
    for translate in (translate_event, EventTranslator()):
        assert facets_of(translate(document(1)))["acme"]["tier"] == 1


def test_the_datasets_validated_before_are_bounded_in_number_and_bytes() -> None:
    validated: list[Any] = []

    def handler(value: Any) -> Any:
        validated.append(value)
        return dict(value)

    remembered = _Remembered(capacity=3, budget=16 * 200 * 8)  # 200 bytes of text a dataset
    small = [{"namespace": "pg", "name": f"t{n}"} for n in range(5)]
    for value in [*small, small[4]]:
        remembered(value, handler)  # type: ignore[arg-type]
    assert len(remembered) == 3 and len(validated) == 5  # the last one was remembered
    remembered(small[0], handler)  # type: ignore[arg-type]
    assert len(validated) == 6  # the oldest were dropped
    # A dataset of more than a sixteenth of the budget is validated every time, and
    # the text held stays within the budget.
    large = {"namespace": "pg", "name": "x" * 250}
    for _ in range(2):
        remembered(large, handler)  # type: ignore[arg-type]
    assert len(validated) == 8
    roomy = _Remembered(capacity=100, budget=16 * 200 * 8)
    medium = [{"namespace": "pg", "name": f"{n:02}" + "y" * 150} for n in range(30)]
    for value in medium:
        roomy(value, handler)  # type: ignore[arg-type]
    assert 10 < len(roomy) < 30 and roomy._size <= roomy.budget
    roomy(medium[-1], handler)  # type: ignore[arg-type]
    assert len(validated) == 8 + 30


def test_a_dataset_naming_null_in_a_string_is_remembered_and_one_holding_null_is_not() -> None:
    validated: list[Any] = []

    def handler(value: Any) -> Any:
        validated.append(value)
        return value

    remembered = _Remembered()
    assertion = {"assertion": "not_null", "column": "is_null", "success": True}
    named = {
        "namespace": "pg",
        "name": "orders",
        "facets": {"dataQualityAssertions": {"assertions": [assertion]}},
    }
    for value in [named, named, {**named, "facets": {"documentation": None}}] * 2:
        remembered(value, handler)  # type: ignore[arg-type]
    assert len(validated) == 3 and len(remembered) == 1


def test_nan_is_not_taken_for_null_by_the_datasets_validated_before() -> None:
    # orjson writes NaN as null; a dataset holding either is validated every time
    def with_quantile(value: Any) -> dict[str, Any]:
        metrics = {"rowCount": 1, "columnMetrics": {"id": {"quantiles": {"0.5": value}}}}
        return event(
            inputs=[{**dataset("pg", "orders"), "inputFacets": {"dataQualityMetrics": metrics}}]
        )

    assert parse_event(with_quantile(float("nan")))
    with pytest.raises(InvalidInput, match=re.escape("quantiles['0.5']: must be a number")):
        parse_event(with_quantile(None))


def test_a_count_past_64_bits_is_refused(shared_data: Path) -> None:
    # It was stored, and then served as null: GraphQL's Long holds 64 bits.
    document = load(shared_data / "openlineage" / "proxy_fluentd" / "event_full.json")
    statistics = {"_producer": "p", "_schemaURL": "s", "rowCount": 10**30}
    document["outputs"][0]["outputFacets"] = {"outputStatistics": statistics}
    with pytest.raises(InvalidInput) as raised:
        translate_event(document)
    assert str(raised.value) == (
        "outputs[0].outputFacets.outputStatistics.rowCount: is too large (at most 2**63 - 1)"
    )
    statistics["rowCount"] = 2**63 - 1
    assert translate_event(document).nodes
    # an ordinal is a GraphQL Int: 32 bits (it was stored, and served as null)
    schema = {
        "_producer": "p",
        "_schemaURL": "s",
        "fields": [{"name": "id", "ordinal_position": 2**40}],
    }
    document["outputs"][0]["facets"] = {"schema": schema}
    with pytest.raises(InvalidInput) as raised:
        translate_event(document)
    assert str(raised.value) == (
        "outputs[0].facets.schema.fields[0].ordinal_position: is too large (at most 2**31 - 1)"
    )


def test_the_proxys_full_event_is_accepted(shared_data: Path) -> None:
    changeset = translate_event(
        load(shared_data / "openlineage" / "proxy_fluentd" / "event_full.json")
    )
    assert changeset.snapshots[0].job_id == make_id(
        Kind.JOB, "my-scheduler-namespace", "myjob.mytask"
    )


def broken(path: str, value: Any) -> dict[str, Any]:
    """A valid event with one value replaced (``None`` removes the key)."""
    document = event(inputs=[dataset("pg", "a")], outputs=[dataset("pg", "b")])
    target: Any = document
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is None:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("eventTime", None, "eventTime: missing"),
        (
            "eventTime",
            "yesterday",
            "eventTime: must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z",
        ),
        (
            "eventTime",
            "2024-05-01",
            "eventTime: must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z",
        ),
        ("producer", None, "producer: missing"),
        ("run.runId", "run-1", "run.runId: must be a UUID"),
        ("run.runId", 42, "run.runId: must be a string"),
        ("job.name", "", "job.name: must not be empty"),
        ("job.namespace", None, "job.namespace: missing"),
        ("inputs.0.namespace", None, "inputs[0].namespace: missing"),
        ("outputs.0.name", 7, "outputs[0].name: must be a string"),
        (
            "eventType",
            "DONE",
            "eventType: must be 'START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL' or 'OTHER'",
        ),
        ("inputs", {"namespace": "pg"}, "inputs: must be an array"),
    ],
)
def test_envelope_errors_name_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_event(broken(path, value))
    assert str(raised.value) == message


def test_unknown_facets_and_deleted_facets() -> None:
    strange = {
        "myCompany_cost": {"dollars": 3.5},
        "schema": {"_deleted": True},
        "documentation": None,
    }
    document = event(outputs=[dataset("pg", "b", **strange)])
    document["run"]["facets"] = {"spark_version": {"version": "3.5.0"}, "weird": [1, 2]}
    nodes = by_id(translate_event(document))
    assert nodes[ds("pg", "b")].attrs["facets"] == {"myCompany_cost": {"dollars": 3.5}}
    run = nodes[make_id(Kind.RUN, "etl", "load_orders", RUN_A)]
    assert run.attrs["facets"] == {"spark_version": {"version": "3.5.0"}, "weird": [1, 2]}
    assert not [n for n in nodes.values() if n.kind is Kind.FIELD]


def test_translation_is_deterministic_and_leaves_the_document_alone(shared_data: Path) -> None:
    document = load(shared_data / "marquez" / "open_lineage" / "event_full.json")
    pristine = copy.deepcopy(document)
    first = translate_event(document)
    second = translate_event(document)
    assert first.model_dump() == second.model_dump()
    assert document == pristine


# --- the versions runs read, and the cascade ---------------------------------------------------


def test_runs_read_the_latest_version_before_they_started(service: LineageService) -> None:
    raw = dataset("pg", "raw")

    def load(run: str, time: str) -> dict[str, Any]:
        return event(time=time, run_id=run, job=("etl", "load"), outputs=[raw])

    first, second = RUN_A, RUN_B
    third = "b3c2b3f3-6b1e-4c52-a3f1-0fdb7f0f6a8e"
    consumer = "0d6c7a4e-6f0a-4c33-9d59-6c4a1f3e2b10"
    service.apply(translate_event(load(first, "2024-05-01T01:00:00Z")))
    service.apply(translate_event(load(second, "2024-05-02T01:00:00Z")))
    service.apply(translate_event(load(third, "2024-05-03T01:00:00Z")))
    start = event("START", "2024-05-02T12:00:00Z", consumer, ("etl", "use"), inputs=[raw])
    service.apply(translate_event(start))
    run = make_id(Kind.RUN, "etl", "use", consumer)
    read = service.store.edges([run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [(e.source_id, e.origin.value, e.first_seen) for e in read] == [
        (
            make_id(Kind.DATASET_VERSION, "pg", "raw", second),
            "inferred",
            "2024-05-02T12:00:00.000000Z",
        )
    ]
    # the COMPLETE, later, lists the input again: the run already read its version
    complete = event("COMPLETE", "2024-05-03T12:00:00Z", consumer, ("etl", "use"), inputs=[raw])
    service.apply(translate_event(complete))
    read = service.store.expand([run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [h.target for h in read] == [make_id(Kind.DATASET_VERSION, "pg", "raw", second)]


def test_runs_known_only_from_their_end_are_ordered_by_time_not_by_run_id(
    service: LineageService,
) -> None:
    # Producers that send COMPLETE alone (no START) give runs without started_at: they
    # were ordered by runId, so health and latestRun took whichever id sorts last.
    def check(success: bool) -> dict[str, Any]:
        assertion = {"assertion": "not_null", "column": "id", "success": success}
        return {"dataQualityAssertions": {"assertions": [assertion]}}

    src, dst = dataset("pg", "src"), dataset("pg", "dst")
    bad, good = dataset("pg", "src", **check(False)), dataset("pg", "src", **check(True))
    late_id = "00000000-0000-4000-8000-000000000004"
    early_id = "ffffffff-0000-4000-8000-000000000002"
    producer, use = ("etl", "producer"), ("etl", "use")
    events = [
        event(time="2024-05-01T01:00:00Z", run_id=RUN_A, job=producer, outputs=[bad]),
        event(time="2024-05-01T02:00:00Z", run_id=early_id, job=use, inputs=[src], outputs=[dst]),
        event(time="2024-05-01T03:00:00Z", run_id=RUN_B, job=producer, outputs=[good]),
        event(time="2024-05-01T04:00:00Z", run_id=late_id, job=use, inputs=[src], outputs=[dst]),
    ]
    for document in events:
        service.apply(translate_event(document))
    job = make_id(Kind.JOB, "etl", "use")
    late = make_id(Kind.RUN, "etl", "use", late_id)
    assert service.store.latest_history([job]) == {job: late}
    # the latest run read the clean version, so nothing downstream is at risk any more
    health = service.health_of([job, make_id(Kind.DATASET, "pg", "dst")])
    assert {i: r.status.value for i, r in health.items()} == {
        job: "OK",
        make_id(Kind.DATASET, "pg", "dst"): "OK",
    }
    repair = service.recompute_health()  # what was stored is what recomputing finds
    assert (repair.written, repair.removed) == ((), ())
    runs = gql(
        service,
        '{ node(id: "job|etl|use") { ... on Job { latestRun { id } '
        "runs { edges { node { id } } } } } }",
    )["node"]
    assert runs["latestRun"]["id"] == late
    assert [e["node"]["id"] for e in runs["runs"]["edges"]] == [
        late,
        make_id(Kind.RUN, "etl", "use", early_id),
    ]


def test_a_chain_posted_out_of_order_cascades_as_in_order(service: LineageService) -> None:
    # job{k} reads ds{k} and writes ds{k+1}, an hour apart; a check fails on ds2. Posted
    # downstream first (concurrent producers, a replay), each run came before the version
    # it read, was linked to none, and the failure stopped at ds2 (the stores' servers
    # answered differently, by the order events reached each).
    failing = {"assertion": "not_null", "column": "id", "success": False}
    chain = [
        event(
            time=f"2024-05-01T{hour:02d}:00:00Z",
            run_id=f"00000000-0000-4000-8000-00000000000{hour}",
            job=("etl", f"job{hour}"),
            inputs=[dataset("pg", f"ds{hour}")],
            outputs=[
                dataset("pg", "ds2", dataQualityAssertions={"assertions": [failing]})
                if hour == 1
                else dataset("pg", f"ds{hour + 1}")
            ],
        )
        for hour in range(1, 5)
    ]
    for document in reversed(chain):
        service.apply(translate_event(document))
    ids = [make_id(Kind.DATASET, "pg", f"ds{k}") for k in range(3, 6)]
    ids += [make_id(Kind.JOB, "etl", f"job{k}") for k in range(2, 5)]
    health = service.health_of(ids)
    assert {i: r.status.value for i, r in health.items()} == dict.fromkeys(ids, "AT_RISK")
    last = make_id(Kind.RUN, "etl", "job4", "00000000-0000-4000-8000-000000000004")
    read = service.store.edges([last], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [(e.source_id, e.origin.value) for e in read] == [
        (
            make_id(Kind.DATASET_VERSION, "pg", "ds4", "00000000-0000-4000-8000-000000000003"),
            "inferred",
        )
    ]
    repair = service.recompute_health()  # what was stored is what recomputing finds
    assert (repair.written, repair.removed) == ((), ())
    # replaying links nothing again
    before = service.store.stats()
    for document in chain:
        service.apply(translate_event(document))
    assert service.store.stats() == before


def test_a_version_arriving_late_takes_over_the_reads_inferred_before_it(
    service: LineageService,
) -> None:
    # "load" writes orders daily, "report" reads it an hour later. The second day's load
    # event arrives after the report's (concurrent producers): the report was linked to
    # the first day's version, and the second day's failing check never reached it. An
    # audit that named the version it read keeps its link.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    failing = {"assertion": "not_null", "column": "id", "success": False}
    loads = [
        event(
            time=f"2024-05-0{day}T01:00:00Z",
            run_id=run(day),
            job=("etl", "load"),
            outputs=[
                dataset("pg", "orders", dataQualityAssertions={"assertions": [failing]})
                if day == 2
                else dataset("pg", "orders")
            ],
        )
        for day in (1, 2)
    ]
    report = event(
        time="2024-05-02T02:00:00Z",
        run_id=run(12),
        job=("etl", "report"),
        inputs=[dataset("pg", "orders")],
        outputs=[dataset("pg", "daily")],
    )
    audit = event(
        time="2024-05-02T03:00:00Z",
        run_id=run(13),
        job=("etl", "audit"),
        inputs=[dataset("pg", "orders", version={"datasetVersion": run(1)})],
        outputs=[dataset("pg", "audited")],
    )
    for document in (loads[0], report, audit, loads[1]):
        service.apply(translate_event(document))
    first, second = (make_id(Kind.DATASET_VERSION, "pg", "orders", run(d)) for d in (1, 2))
    report_run = make_id(Kind.RUN, "etl", "report", run(12))
    audit_run = make_id(Kind.RUN, "etl", "audit", run(13))
    reads = service.store.edges([report_run, audit_run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert sorted((e.source_id, e.target_id, e.origin.value) for e in reads) == [
        (first, audit_run, "openlineage"),
        (second, report_run, "inferred"),
    ]
    # The first link never was current: not even as of the report's start.
    at_start = datetime(2024, 5, 2, 2, tzinfo=UTC)
    assert [
        e.source_id
        for e in service.store.edges([report_run], Direction.UPSTREAM, [EdgeKind.READ_BY], at_start)
    ] == [second]
    health = service.health_of([ds("pg", "daily"), ds("pg", "audited")])
    assert {i: r.status.value for i, r in health.items()} == {
        ds("pg", "daily"): "AT_RISK",
        ds("pg", "audited"): "OK",
    }
    repair = service.recompute_health()  # what was stored is what recomputing finds
    assert (repair.written, repair.removed) == ((), ())
    before = service.store.stats()
    for document in (*loads, report, audit):
        service.apply(translate_event(document))
    assert service.store.stats() == before
    reads = service.store.edges([report_run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [e.source_id for e in reads] == [second]


def _versions_of(service: LineageService, dataset_id: str) -> list[str]:
    hops = service.store.expand([dataset_id], Direction.DOWNSTREAM, [EdgeKind.HAS_VERSION])
    return sorted(h.target for h in hops)


def _read_by(service: LineageService, run_id: str) -> list[str]:
    return sorted(
        h.target for h in service.store.expand([run_id], Direction.UPSTREAM, [EdgeKind.READ_BY])
    )


def test_an_output_version_is_a_version_only_once_its_run_completes(
    service: LineageService,
) -> None:
    # A run that has started, or failed, has not written its output: readers meanwhile
    # read the version before it, and a failed run's output never becomes a version.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    orders = dataset("pg", "orders")
    version = partial(make_id, Kind.DATASET_VERSION, "pg", "orders")
    write = partial(event, job=("etl", "load"), outputs=[orders])
    read = partial(event, job=("etl", "report"), inputs=[orders], outputs=[dataset("pg", "r")])
    reader = partial(make_id, Kind.RUN, "etl", "report")
    for document in (
        write("START", "2024-05-01T01:00:00Z", run(1)),
        write("COMPLETE", "2024-05-01T01:30:00Z", run(1)),
        write("START", "2024-05-02T01:00:00Z", run(2)),
        read("START", "2024-05-02T01:10:00Z", run(12)),
    ):
        service.apply(translate_event(document))
    assert _versions_of(service, ds("pg", "orders")) == [version(run(1))]
    assert _read_by(service, reader(run(12))) == [version(run(1))]
    service.apply(translate_event(write("FAIL", "2024-05-02T01:20:00Z", run(2))))
    service.apply(translate_event(read("START", "2024-05-02T02:00:00Z", run(13))))
    assert _versions_of(service, ds("pg", "orders")) == [version(run(1))]
    assert _read_by(service, reader(run(12))) == [version(run(1))]
    assert _read_by(service, reader(run(13))) == [version(run(1))]
    # The failed run is still recorded as writing it: what it was writing is known.
    wrote = service.store.expand(
        [make_id(Kind.RUN, "etl", "load", run(2))], Direction.DOWNSTREAM, [EdgeKind.WROTE]
    )
    assert [h.target for h in wrote] == [version(run(2))]
    # A COMPLETE that lists no outputs completes what the START listed: the version is
    # one from when the run started, so the reader that started since reads it.
    service.apply(translate_event(write("START", "2024-05-03T01:00:00Z", run(3))))
    service.apply(translate_event(read("START", "2024-05-03T01:10:00Z", run(14))))
    assert _read_by(service, reader(run(14))) == [version(run(1))]
    service.apply(
        translate_event(event("COMPLETE", "2024-05-03T01:30:00Z", run(3), job=("etl", "load")))
    )
    assert _versions_of(service, ds("pg", "orders")) == [version(run(1)), version(run(3))]
    assert _read_by(service, reader(run(14))) == [version(run(3))]
    [has] = service.store.edges([version(run(3))], Direction.UPSTREAM, [EdgeKind.HAS_VERSION])
    assert has.first_seen == "2024-05-03T01:00:00.000000Z"
    node = service.store.get([version(run(3))])[version(run(3))]
    assert node.attrs["created_at"] == "2024-05-03T01:30:00Z"
    repair = service.recompute_health()
    assert (repair.written, repair.removed) == ((), ())


def test_a_late_event_of_a_completed_run_makes_its_output_a_version(
    service: LineageService,
) -> None:
    # The COMPLETE (without outputs) arrives first; the START that lists the output
    # comes late: the run has completed, so what it wrote is a version at once.
    orders = dataset("pg", "orders")
    service.apply(translate_event(event("COMPLETE", "2024-05-01T01:30:00Z", job=("etl", "load"))))
    service.apply(
        translate_event(
            event("START", "2024-05-01T01:00:00Z", job=("etl", "load"), outputs=[orders])
        )
    )
    written = make_id(Kind.DATASET_VERSION, "pg", "orders", RUN_A)
    assert _versions_of(service, ds("pg", "orders")) == [written]
    [has] = service.store.edges([written], Direction.UPSTREAM, [EdgeKind.HAS_VERSION])
    assert has.first_seen == "2024-05-01T01:00:00.000000Z"


def test_a_run_completing_what_its_start_listed_does_not_read_its_own_output(
    service: LineageService,
) -> None:
    # INSERT INTO t SELECT … FROM t: the START lists t as input and output, the COMPLETE
    # lists nothing. The version it wrote became one, and the run's inferred read moved
    # onto it, as if the run had read what it wrote.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    counts = dataset("pg", "counts")
    for document in (
        event("COMPLETE", "2024-05-01T00:00:00Z", run(1), job=("etl", "seed"), outputs=[counts]),
        event("START", "2024-05-02T01:00:00Z", run(2), ("etl", "upd"), [counts], outputs=[counts]),
        event("COMPLETE", "2024-05-02T01:30:00Z", run(2), job=("etl", "upd")),
    ):
        service.apply(translate_event(document))
    version = partial(make_id, Kind.DATASET_VERSION, "pg", "counts")
    assert _versions_of(service, ds("pg", "counts")) == [version(run(1)), version(run(2))]
    assert _read_by(service, make_id(Kind.RUN, "etl", "upd", run(2))) == [version(run(1))]


def test_a_start_naming_no_version_adds_none_beside_the_one_its_complete_names(
    service: LineageService,
) -> None:
    # A Delta or Iceberg writer names the version it committed only when it completes:
    # the START's version (named by the runId) is not a second version of the table.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    named = partial(dataset, "pg", "orders")
    for document in (
        event(
            "COMPLETE",
            "2024-05-01T00:30:00Z",
            run(1),
            outputs=[named(version={"datasetVersion": "4"})],
        ),
        event("START", "2024-05-02T01:00:00Z", run(2), outputs=[named()]),
        event(
            "COMPLETE",
            "2024-05-02T01:30:00Z",
            run(2),
            outputs=[named(version={"datasetVersion": "5"})],
        ),
    ):
        service.apply(translate_event(document))
    version = partial(make_id, Kind.DATASET_VERSION, "pg", "orders")
    assert _versions_of(service, ds("pg", "orders")) == [version("4"), version("5")]
    assert service.store.latest_history([ds("pg", "orders")]) == {ds("pg", "orders"): version("5")}


def test_a_result_reported_before_the_first_version_arrived_judges_it_when_it_does(
    service: LineageService,
) -> None:
    # The writer of a new table STARTs, a quality job STARTs reading it and COMPLETEs
    # with a failing assertion on it, then the writer COMPLETEs. The table's first
    # version came after the result, which stayed on no version one by one (a batch
    # placed it), so nothing built from the bad data was at risk.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    orders = dataset("pg", "orders")
    failing = dataset("pg", "orders")
    failing["inputFacets"] = {
        "dataQualityAssertions": {
            "assertions": [{"assertion": "not_null", "column": "id", "success": False}]
        }
    }
    check = partial(event, job=("etl", "check"), outputs=[dataset("pg", "checked")])
    documents = [
        event("START", "2024-05-02T01:00:00Z", run(2), outputs=[orders]),
        check("START", "2024-05-02T01:10:00Z", run(12), inputs=[orders]),
        check("COMPLETE", "2024-05-02T01:20:00Z", run(12), inputs=[failing]),
        event("COMPLETE", "2024-05-02T01:30:00Z", run(2), outputs=[orders]),
    ]
    for document in documents:
        service.apply(translate_event(document))
    written = make_id(Kind.DATASET_VERSION, "pg", "orders", run(2))
    result = make_id(Kind.RESULT, "pg", "orders", "not_null(id)", run(12))
    judged = service.store.expand([result], Direction.DOWNSTREAM, [EdgeKind.EVALUATED])
    assert [h.target for h in judged] == [written]
    checked = make_id(Kind.DATASET_VERSION, "pg", "checked", run(12))
    health = service.health_of([written, checked])
    assert [health[i].status.value for i in (written, checked)] == ["AT_RISK", "AT_RISK"]
    batched = LineageService(open_store("memory://"))
    ingest_documents(
        [Document(str(n), d) for n, d in enumerate(documents)], translate_event, batched.apply
    )
    assert batched.health_of([written, checked]) == health
    repair = service.recompute_health()
    assert (repair.written, repair.removed) == ((), ())


def test_a_training_run_registers_its_model_version_only_when_it_completes(
    service: LineageService,
) -> None:
    # A training run that failed trained no model: its version is not one of the
    # model's versions. A run whose COMPLETE lists no outputs registers what it started.
    run = "00000000-0000-4000-8000-0000000000{:02d}".format
    churn = dataset("mlflow://registry", "churn")
    train = partial(event, job=("airflow", "train_churn"))
    for document in (
        train("START", "2024-05-01T01:00:00Z", run(1), outputs=[churn]),
        train("FAIL", "2024-05-01T01:20:00Z", run(1), outputs=[churn]),
        train("START", "2024-05-02T01:00:00Z", run(2), outputs=[churn]),
        train("COMPLETE", "2024-05-02T01:30:00Z", run(2)),
    ):
        service.apply(translate_event(document))
    model = make_id(Kind.MODEL, "mlflow://registry", "churn")
    version = make_id(Kind.MODEL_VERSION, "mlflow://registry", "churn", run(2))
    hops = service.store.expand([model], Direction.DOWNSTREAM, [EdgeKind.HAS_VERSION])
    assert [h.target for h in hops] == [version]
    node = service.node(version)
    assert node.attrs["created_at"] == "2024-05-02T01:30:00Z"
    assert node.attrs["training_run"] == make_id(Kind.RUN, "airflow", "train_churn", run(2))


def test_a_streaming_job_writes_its_output_as_it_runs(service: LineageService) -> None:
    streaming = {"jobType": {"processingType": "STREAMING", "jobType": "JOB"}}
    service.apply(
        translate_event(event("START", outputs=[dataset("kafka", "clicks")], job_facets=streaming))
    )
    assert _versions_of(service, ds("kafka", "clicks")) == [
        make_id(Kind.DATASET_VERSION, "kafka", "clicks", RUN_A)
    ]


def test_a_run_never_reads_the_version_it_writes(service: LineageService) -> None:
    table = dataset("pg", "counts")
    service.apply(translate_event(event(inputs=[table], outputs=[table])))
    run = make_id(Kind.RUN, "etl", "load_orders", RUN_A)
    assert service.store.expand([run], Direction.UPSTREAM, [EdgeKind.READ_BY]) == []
    later = event(time="2024-05-02T10:00:00Z", run_id=RUN_B, inputs=[table], outputs=[table])
    service.apply(translate_event(later))
    second = make_id(Kind.RUN, "etl", "load_orders", RUN_B)
    read = service.store.expand([second], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [h.target for h in read] == [make_id(Kind.DATASET_VERSION, "pg", "counts", RUN_A)]


def test_a_failing_assertion_cascades_through_the_marquez_demo(
    service: LineageService, shared_data: Path
) -> None:
    apply_all(service, load(shared_data / "marquez" / "metadata.json"))
    assert service.stats().edges_by_kind["READ_BY"] == 14
    ids = [
        ds(FOOD, "public.delivery_7_days"),
        ds(FOOD, "public.top_delivery_times"),
        ds(FOOD, "public.discounts"),
        ds(FOOD, "public.popular_orders_day_of_week"),
        make_id(Kind.JOB, FOOD, "email_discounts"),
        ds(FOOD, "public.orders_7_days"),
        ds(FOOD, "public.drivers"),
    ]
    health = service.health_of(ids)
    assert [health[i].status.value for i in ids] == [
        "FAILING",
        "AT_RISK",
        "AT_RISK",
        "AT_RISK",
        "AT_RISK",
        "OK",
        "OK",
    ]
    assert health[ds(FOOD, "public.top_delivery_times")].reasons[0].precision.value == "CONFIRMED"


# --- every other example file -------------------------------------------------------------------


def test_the_templated_marquez_seed_after_filling_in_times(
    service: LineageService, shared_data: Path
) -> None:
    text = (shared_data / "marquez" / "metadata.template.json").read_text()
    # what docker/seed.sh does: a start time, and end times some minutes after it
    text = text.replace("{{RUN_START_TIME}}", "2024-05-01T10:00:00Z")
    for minutes in range(5, 11):
        text = text.replace(
            f"{{{{RUN_END_TIME_AFTER_{minutes}_MINUTES}}}}", f"2024-05-01T10:{minutes:02d}:00Z"
        )
    assert "{{" not in text
    apply_all(service, json.loads(text))
    stats = service.stats()
    assert stats.nodes_by_kind["JOB"] == 13
    assert stats.nodes_by_kind["DATASET"] == 14
    assert stats.edges_by_kind["READS"] == 14
    assert stats.edges_by_kind["WRITES"] == 13
    assert stats.edges_by_kind["DERIVES"] == 39


def test_hive_common_table_expressions(shared_data: Path) -> None:
    document = load(shared_data / "openlineage" / "hive" / "cllComplexQueryCTEJoinsComplete.json")
    document.update(eventTime="2024-05-01T10:00:00Z", producer=PRODUCER)
    document["run"]["runId"] = RUN_A
    changeset = translate_event(document)
    hive = "hive://localhost:9083"
    derives = edge_map(changeset, EdgeKind.DERIVES)
    direct = {(s, t) for (s, t), e in derives.items() if e.attrs["transformation"] == "DIRECT"}
    assert direct == {
        (fld(hive, "test.t1", "a"), fld(hive, "test.xxx", "a")),
        (fld(hive, "test.t3", "d"), fld(hive, "test.xxx", "d")),
    }
    # 6 dataset-level inputs reach the 4 output fields; 2 pairs are also direct
    assert len(derives) == 24
    sort = derives[(fld(hive, "test.t3", "d"), fld(hive, "test.xxx", "b"))]
    assert (sort.attrs["subtype"], sort.attrs["scope"]) == ("SORT", "dataset")
    assert sorted(changeset.snapshots[0].inputs) == [
        ds(hive, "test.t1"),
        ds(hive, "test.t2"),
        ds(hive, "test.t3"),
    ]


def test_example_full_event_with_a_stray_dataset_key(shared_data: Path) -> None:
    document = load(shared_data / "openlineage" / "spec_tests" / "example_full_event.json")
    changeset = translate_event(document)
    nodes = by_id(changeset)
    job = nodes[make_id(Kind.JOB, "food_delivery", "dbt")]
    assert job.attrs["sql"] == "SELECT 1"
    assert ds("123", "1") not in nodes  # a RunEvent's "dataset" key is not part of it
    assert changeset.snapshots == []


SPEC = "openlineage/spec_tests"


def _in_run(facet: dict[str, Any]) -> dict[str, Any]:
    return event(run_facets=facet)


def _in_job(facet: dict[str, Any]) -> dict[str, Any]:
    return event(job_facets=facet)


def _on_output(facet: dict[str, Any]) -> dict[str, Any]:
    return event(outputs=[dataset("pg", "out", **facet)])


@pytest.mark.parametrize(
    ("name", "place", "entity", "expected"),
    [
        (
            "ParentRunFacet_1.json",
            _in_run,
            make_id(Kind.RUN, "etl", "load_orders", RUN_A),
            {
                "parent_run": make_id(
                    Kind.RUN, "dbt", "dbt-job-name", "f99310b4-3c3c-1a1a-2b2b-c1b95c24ff11"
                )
            },
        ),
        (
            "JobTypeJobFacet_1.json",
            _in_job,
            make_id(Kind.JOB, "etl", "load_orders"),
            {"job_type": "QUERY", "integration": "SPARK", "processing_type": "BATCH"},
        ),
        (
            "OwnershipDatasetFacet_1.json",
            _on_output,
            ds("pg", "out"),
            {"owners": ["owner"]},
        ),
        (
            "DatasourceDatasetFacet_1.json",
            _on_output,
            ds("pg", "out"),
            {
                "source_name": "datasource_one",
                "source_uri": "https://some.location.com/datsource/one",
            },
        ),
        (
            "LifecycleStateChangeDatasetFacet_1.json",
            _on_output,
            ds("pg", "out"),
            {
                "lifecycle_state": "RENAME",
                "aliases": [ds("file", "/tmp/alter_test/alter_table_test")],
            },
        ),
        (
            "DatasetVersionDatasetFacet_1.json",
            _on_output,
            make_id(Kind.DATASET_VERSION, "pg", "out", "2"),
            {"run": make_id(Kind.RUN, "etl", "load_orders", RUN_A)},
        ),
    ],
)
def test_spec_facet_examples(
    name: str, place: Any, entity: str, expected: dict[str, Any], shared_data: Path
) -> None:
    facet = load(shared_data / SPEC / name)
    nodes = by_id(translate_event(place(facet)))
    attrs = nodes[entity].attrs
    assert {k: attrs.get(k) for k in expected} == expected


def test_spec_assertions_example_makes_ten_checks(shared_data: Path) -> None:
    facet = load(shared_data / SPEC / "DataQualityAssertionsDatasetFacet_1.json")
    changeset = translate_event(_on_output(facet))
    checks = sorted(n.parts[0] for n in changeset.normalized().nodes if n.kind is Kind.CHECK)
    assert checks == [
        "accepted_values(status)",
        "not_null(amount)",
        "not_null(bank_transfer_amount)",
        "not_null(coupon_amount)",
        "not_null(credit_card_amount)",
        "not_null(customer_id)",
        "not_null(gift_card_amount)",
        "not_null(order_id)",
        "relationships(customer_id)",
        "unique(order_id)",
    ]
    on = edge_map(changeset, EdgeKind.HAS_CHECK)
    assert (
        fld("pg", "out", "order_id"),
        make_id(Kind.CHECK, "pg", "out", "unique(order_id)"),
    ) in on


def test_spec_sql_example(shared_data: Path) -> None:
    facet = load(shared_data / SPEC / "SQLJobFacet_1.json")
    nodes = by_id(translate_event(_in_job(facet)))
    sql = nodes[make_id(Kind.JOB, "etl", "load_orders")].attrs["sql"]
    assert sql.startswith("\n\nwith orders as (")
    assert sql.endswith("select * from final")


def lineage_facet(*sources: str, dataset_level: bool = False) -> dict[str, Any]:
    """A columnLineage facet: ``id`` of the output from ``id`` of each source table."""
    inputs = [{"namespace": "pg", "name": s, "field": "id"} for s in sources]
    if dataset_level:
        return {"fields": {}, "dataset": inputs}
    return {"fields": {"id": {"inputFields": inputs}}}


def schema_facet(*fields: str) -> dict[str, Any]:
    return {"fields": [{"name": f, "type": "INT"} for f in fields]}


def test_the_event_translator_builds_what_translate_event_builds(shared_data: Path) -> None:
    documents = [
        d.value
        for folder in ("marquez", "openlineage")
        for path in sorted((shared_data / folder).rglob("*.json"))
        for d in read_path(path)
        if d.value is not None
    ]
    source = dataset("pg", "raw", schema=schema_facet("id", "name"))
    bare_source = dataset("pg", "raw")  # named, not described: lineage adds its fields bare
    output = dataset("pg", "mart", schema=schema_facet("id"), columnLineage=lineage_facet("raw"))
    wider = dataset(
        "pg", "mart", schema=schema_facet("id", "x"), columnLineage=lineage_facet("raw")
    )
    whole = dataset(
        "pg",
        "mart",
        schema=schema_facet("id", "x"),
        columnLineage=lineage_facet("raw", dataset_level=True),
    )
    whole_wider = dataset(
        "pg",
        "mart",
        schema=schema_facet("id", "x", "y"),
        columnLineage=lineage_facet("raw", dataset_level=True),
    )
    # The job's own description changes too, and comes back.
    job_facets: list[dict[str, Any]] = [
        {"sql": {"query": "select 1"}},
        {"sql": {"query": "select 2"}},
        {},
    ]
    made = [
        event(
            time=f"2024-05-0{1 + n % 9}T10:00:00Z",
            inputs=[i],
            outputs=[o],
            job_facets=job_facets[n % 3],
        )
        for n, (i, o) in enumerate(
            [
                (source, output),
                (source, output),  # everything repeats
                (bare_source, output),  # the same lineage, but its source fields are not there
                (source, wider),  # another schema
                (source, output),
                (source, whole),
                (source, whole),
                (source, whole_wider),  # the same facet over more output fields
                (bare_source, whole),
                (wider, whole),  # a job that reads the table it writes, described otherwise
                (wider, whole),
                (output, wider),
                (output, wider),
            ]
        )
    ]
    translator = EventTranslator()
    for document in [*documents, *made, *documents, *made]:
        try:
            expected = translate_event(document)
        except InvalidInput as error:
            with pytest.raises(InvalidInput, match=re.escape(str(error))):
                translator(document)
            continue
        assert translator(document).model_dump() == expected.model_dump()


def test_a_batch_folds_a_description_reported_again_as_one_group() -> None:
    # The first report of a description is by reference too: folded item by item, it
    # left its edges folded already at the second report, so the group never became one.
    translator = EventTranslator()
    schema = schema_facet("id", "amount")
    lineage = {
        "fields": {
            "amount": {"inputFields": [{"namespace": "pg", "name": "orders", "field": "amount"}]}
        }
    }
    events = [
        event(
            run_id=str(uuid.UUID(int=n + 1, version=4)),
            time=f"2024-05-0{n + 1}T10:00:00Z",
            inputs=[dataset("pg", "orders", schema=schema)],
            outputs=[dataset("pg", "totals", schema=schema, columnLineage=lineage)],
        )
        for n in range(3)
    ]
    first = translator.grouped(events[0])
    assert len(first.groups) == 3  # orders and totals described, and the column lineage
    fold = ChangeFold(Origin.OPENLINEAGE)
    for document in events:
        fold.add(translator.grouped(document))
    # each repeat of the three moved its edges' times once, and nothing else
    assert sorted(len(group.nodes) for group in fold._sole) == [0, 3, 3]


def test_the_event_translator_tells_1_1_0_and_true_apart() -> None:
    # Python holds 1, 1.0 and true equal; a producer that turns one into another has
    # changed its facet, and the translator must not answer with what it remembered.
    translator = EventTranslator()
    lineage = {
        "fields": {
            "amount": {
                "inputFields": [{"namespace": "pg", "name": "orders", "field": "amount"}],
                "myCompany_weight": 1,
            }
        }
    }
    for n, value in enumerate([1, True, 1.0, 1]):
        lineage["fields"]["amount"]["myCompany_weight"] = value
        document = event(
            run_id=str(uuid.UUID(int=n + 1, version=4)),
            job_facets={"myCompany_tier": {"level": value}},
            inputs=[dataset("pg", "orders", myCompany_cost={"flag": value})],
            outputs=[dataset("pg", "totals", schema=schema_facet("amount"), columnLineage=lineage)],
        )
        expected = translate_event(copy.deepcopy(document))
        got = translator(document)
        assert canonical_json(got.model_dump(mode="json")) == canonical_json(
            expected.model_dump(mode="json")
        )
        nodes = by_id(got)
        assert type(nodes[ds("pg", "orders")].attrs["facets"]["myCompany_cost"]["flag"]) is type(
            value
        )


def test_the_event_translator_forgets_the_oldest_descriptions() -> None:
    translator = EventTranslator(capacity=2)
    for n in range(5):
        translator(event(inputs=[dataset("pg", f"t{n}", schema=schema_facet("id"))]))
    later = event(inputs=[dataset("pg", "t0", schema=schema_facet("id", "new"))])
    assert translator(later).model_dump() == translate_event(later).model_dump()
    assert len(translator._memo.described) == 2


def test_the_event_translator_is_not_fooled_by_a_document_changed_after_translation() -> None:
    # Facets of the producer's own are kept as sent, and the translator remembered the
    # job's and datasets' facets it compares later events with, which held the caller's
    # objects: a template changed after one event (tier 1 to 2) then compared equal to
    # what was remembered, and the job and table kept tier 1.
    translator = EventTranslator()
    acme = {"_producer": PRODUCER, "tier": 1, "note": None}  # null: validated every time
    template = event(job_facets={"acme": acme}, inputs=[dataset("pg", "tiered", acme=acme)])
    translator(template)
    acme["tier"] = 2
    assert translator(template).model_dump() == translate_event(template).model_dump()
    job = by_id(translator(template))[make_id(Kind.JOB, "etl", "load_orders")]
    assert job.attrs["facets"]["acme"]["tier"] == 2


# --- events of the OpenLineage dbt integration 1.54 (tests/data/openlineage/dbt_ol_shop_duckdb) --

DBT_OL = Path(__file__).parent / "data" / "openlineage" / "dbt_ol_shop_duckdb"
DUCKDB = "duckdb://shop.duckdb"


def not_ok_datasets(service: LineageService) -> dict[str, tuple[str, set[str]]]:
    """Datasets that are not OK: status and the names of the checks behind it."""
    return {
        record.id: (record.status.value, {r.check_id.rsplit("|", 1)[1] for r in record.reasons})
        for record in service.at_risk(kinds=[Kind.DATASET], first=100).items
    }


def test_dbt_ol_events_fail_and_recover(service: LineageService) -> None:
    report = ingest_documents(read_path(DBT_OL / "build1.jsonl"), EventTranslator(), service.apply)
    assert (report.ok, report.failed) == (22, [])
    stats = service.stats()
    assert stats.nodes_by_kind["CHECK"] == 16
    # a run job and a test job per model, the snapshot, the singular test, the invocation
    assert stats.nodes_by_kind["JOB"] == 11
    # column lineage from the compiled SQL, renames included
    customer_id = fld(DUCKDB, "shop.main.stg_orders", "customer_id")
    upstream = service.store.expand([customer_id], Direction.UPSTREAM, [EdgeKind.DERIVES])
    assert [h.target for h in upstream] == [fld(DUCKDB, "shop.main_raw.raw_orders", "user_id")]
    email = make_id(Kind.CHECK, DUCKDB, "shop.main.stg_customers", "not_null_stg_customers_email")
    results = service.store.expand([email], Direction.DOWNSTREAM, [EdgeKind.HAS_RESULT])
    outcomes = [service.node(h.target).attrs for h in results]
    assert [(a["passed"], a["observed"]) for a in outcomes] == [(False, "1")]
    status = (
        "accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned"
    )
    # dbt skipped the tests of customers; the integration reports them as failed assertions
    skipped = {
        "dbt_utils_free_positive_customers_lifetime_value",
        "not_null_customers_customer_id",
        "unique_customers_customer_id",
    }
    assert not_ok_datasets(service) == {
        ds(DUCKDB, "shop.main.stg_customers"): ("FAILING", {"not_null_stg_customers_email"}),
        ds(DUCKDB, "shop.main.stg_orders"): ("FAILING", {status}),
        ds(DUCKDB, "shop.main.orders"): (
            "FAILING",
            {status, "relationships_orders_customer_id__customer_id__ref_customers_"},
        ),
        ds(DUCKDB, "shop.main.customers"): ("FAILING", skipped),
    }

    report = ingest_documents(read_path(DBT_OL / "build2.jsonl"), EventTranslator(), service.apply)
    assert (report.ok, report.failed) == (26, [])
    # customers was built this time, with its column lineage
    lifetime_value = fld(DUCKDB, "shop.main.customers", "lifetime_value")
    upstream = service.store.expand([lifetime_value], Direction.UPSTREAM, [EdgeKind.DERIVES])
    assert [h.target for h in upstream] == [fld(DUCKDB, "shop.main.orders", "amount")]
    # the email filled in: only the warning on stg_orders.status still reaches downstream
    assert not_ok_datasets(service) == {
        ds(DUCKDB, "shop.main.stg_orders"): ("FAILING", {status}),
        ds(DUCKDB, "shop.main.orders"): ("AT_RISK", {status}),
        ds(DUCKDB, "shop.main.customers"): ("AT_RISK", {status}),
    }


def test_dbt_ol_events_and_dbt_artifacts_meet_on_the_same_checks(
    service: LineageService,
) -> None:
    from lineagegraph.ingest.dbt import translate_dbt

    build = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "build1"
    manifest = json.loads(gzip.decompress((build / "manifest.json.gz").read_bytes()))
    translation = translate_dbt(
        manifest, load(build / "run_results.json"), dataset_namespace=DUCKDB
    )
    service.apply(translation.changeset)
    ingest_documents(read_path(DBT_OL / "build1.jsonl"), EventTranslator(), service.apply)
    stats = service.stats()
    assert stats.nodes_by_kind["CHECK"] == 16  # the same 16 checks, reported both ways
    assert stats.nodes_by_kind["DATASET"] == 9  # the 8 the events name, and one more seed


# --- an Airflow DAG run on PostgreSQL (tests/data/openlineage/airflow_postgres) ----------------

AIRFLOW_EVENTS = Path(__file__).parent / "data" / "openlineage" / "airflow_postgres"
PG_SHOP = "postgres://127.0.0.1:5432"


def test_airflow_dag_run_lineage_runs_and_failure(service: LineageService) -> None:
    report = ingest_documents(
        read_path(AIRFLOW_EVENTS / "shop_daily.jsonl"), EventTranslator(), service.apply
    )
    assert (report.ok, report.failed) == (11, [])
    stats = service.stats()
    assert stats.nodes_by_kind["JOB"] == 6  # the DAG and its five tasks
    assert stats.nodes_by_kind["RUN"] == 6
    table = lambda name: ds(PG_SHOP, f"shop.public.{name}")  # noqa: E731
    column = lambda name, path: fld(PG_SHOP, f"shop.public.{name}", path)  # noqa: E731
    task = lambda name: make_id(Kind.JOB, "airflow-shop", f"shop_daily.{name}")  # noqa: E731
    assert current_edges(service, {EdgeKind.READS, EdgeKind.WRITES}) == {
        (task("load_orders"), "WRITES", table("raw_orders")),
        (task("load_orders"), "WRITES", table("customers")),
        (table("raw_orders"), "READS", task("clean_orders")),
        (task("clean_orders"), "WRITES", table("orders")),
        (table("orders"), "READS", task("customer_totals")),
        (table("customers"), "READS", task("customer_totals")),
        (task("customer_totals"), "WRITES", table("customer_totals")),
    }
    # column lineage through both CREATE TABLE … AS SELECT statements
    page = service.lineage(column("raw_orders", "amount"), Direction.DOWNSTREAM, first=10)
    assert [(n.id, n.depth, n.partial) for n in page.nodes] == [
        (table("orders"), 1, True),
        (column("orders", "amount"), 1, False),
        (table("customer_totals"), 2, True),
        (column("customer_totals", "total_amount"), 2, False),
    ]
    # empty deprecated transformation fields record no transformation
    derives = service.store.edges(
        [column("customer_totals", "total_amount")], Direction.UPSTREAM, [EdgeKind.DERIVES]
    )
    assert [(e.source_id, e.attrs) for e in derives] == [
        (column("orders", "amount"), {"job": task("customer_totals")})
    ]
    # the task runs hang under the DAG run; the failed check says why
    dag_runs = [
        n for n in service.store.export()[0] if n.kind is Kind.RUN and n.name == "shop_daily"
    ]
    assert [r.attrs["state"] for r in dag_runs] == ["FAIL"]
    children = service.store.expand([dag_runs[0].id], Direction.DOWNSTREAM, [EdgeKind.PARENT_OF])
    assert len(children) == 5
    check_run = next(service.node(h.target) for h in children if "check_orders" in h.target)
    assert check_run.attrs["state"] == "FAIL"
    assert "('customer_id', 'null_check', 1)" in check_run.attrs["error_message"]
