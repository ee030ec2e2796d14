"""dbt artifacts → datasets, jobs, checks, runs and results: the jaffle_shop projects."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest.dbt import slim_manifest, translate_dbt
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import Direction, EdgeKind, ReasonKind
from lineagegraph.service import LineageService

PG = "postgres://postgres"
SF = "snowflake://DEMO_DB"
JOBS = "dbt://jaffle_shop"
PG_INVOCATION = "1269f08d-da04-4fbd-8207-1ddc9110cb1b"
SF_INVOCATION = "ebb384bf-f2f3-4303-bb1b-98b1daa6d2d4"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def postgres(shared_data: Path) -> Path:
    return shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"


@pytest.fixture
def snowflake(shared_data: Path) -> Path:
    return shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test"


def pg(table: str) -> str:
    return make_id(Kind.DATASET, PG, f"postgres.public.{table}")


def pg_job(model: str) -> str:
    return make_id(Kind.JOB, JOBS, f"postgres.public.jaffle_shop.{model}")


def test_postgres_run_counts(service: LineageService, postgres: Path) -> None:
    translation = translate_dbt(
        load(postgres / "manifest.json"), load(postgres / "run_results.json")
    )
    assert translation.warnings == ()  # v7 and v4 match their schemas exactly
    service.apply(translation.changeset)
    stats = service.stats()
    assert stats.nodes_by_kind == {
        "CHECK": 20,
        "DATASET": 8,
        "DATASET_VERSION": 5,
        "FIELD": 23,
        "JOB": 6,
        "RUN": 6,
    }
    # 5 model->model and 3 seed->model dependencies
    assert stats.edges_by_kind["READS"] == 8
    assert stats.edges_by_kind["WRITES"] == 5
    assert stats.edges_by_kind["PARENT_OF"] == 5
    # customers and orders read the 3 and 2 staging views this invocation built
    assert stats.edges_by_kind["READ_BY"] == 5


def test_postgres_lineage_and_runs(service: LineageService, postgres: Path) -> None:
    service.apply(
        translate_dbt(
            load(postgres / "manifest.json"), load(postgres / "run_results.json")
        ).changeset
    )
    reads = service.store.expand([pg_job("customers")], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(h.target for h in reads) == [
        pg("stg_customers"),
        pg("stg_orders"),
        pg("stg_payments"),
    ]
    writes = service.store.expand([pg_job("stg_orders")], Direction.DOWNSTREAM, [EdgeKind.WRITES])
    assert [h.target for h in writes] == [pg("stg_orders")]
    seeded = service.store.expand([pg_job("stg_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    assert [h.target for h in seeded] == [pg("raw_orders")]
    job = service.node(pg_job("orders"))
    assert job.attrs["job_type"] == "DBT_MODEL"
    assert job.attrs["code_location"] == "models/orders.sql"
    assert "order_payments" in job.attrs["sql"]
    invocation = make_id(Kind.RUN, JOBS, "jaffle_shop", PG_INVOCATION)
    children = service.store.expand([invocation], Direction.DOWNSTREAM, [EdgeKind.PARENT_OF])
    assert len(children) == 5
    assert service.node(invocation).attrs["state"] == "COMPLETE"
    assert service.node(invocation).attrs["command"] == "run"
    customers_run = service.store.expand(
        [pg_job("customers")], Direction.DOWNSTREAM, [EdgeKind.HAS_RUN]
    )
    run = service.node(customers_run[0].target)
    assert run.attrs["state"] == "COMPLETE"
    assert run.attrs["parent_run"] == invocation
    # the code a model's run ran is the model file's checksum, as dbt's state:modified
    # compares it (runs had no code version: a changed model was no code change)
    manifest = load(postgres / "manifest.json")
    checksum = manifest["nodes"]["model.jaffle_shop.customers"]["checksum"]
    assert checksum["name"] == "sha256"
    assert run.attrs["code_version"] == f"sha256:{checksum['checksum'][:12]}"
    assert service.node(pg_job("customers")).attrs["code_version"] == run.attrs["code_version"]
    version = make_id(Kind.DATASET_VERSION, PG, "postgres.public.customers", PG_INVOCATION)
    assert service.node(version).attrs["row_count"] == 100
    assert (
        "row_count"
        not in service.node(
            make_id(Kind.DATASET_VERSION, PG, "postgres.public.stg_orders", PG_INVOCATION)
        ).attrs
    )  # a view reports rows_affected -1
    read = service.store.expand([run.id], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert sorted(h.target for h in read) == [
        make_id(Kind.DATASET_VERSION, PG, f"postgres.public.{t}", PG_INVOCATION)
        for t in ("stg_customers", "stg_orders", "stg_payments")
    ]


def test_tests_become_checks_on_their_columns(service: LineageService, postgres: Path) -> None:
    service.apply(translate_dbt(load(postgres / "manifest.json")).changeset)
    orders = "postgres.public.orders"
    amount = make_id(Kind.FIELD, PG, orders, "amount")
    on_amount = service.store.expand([amount], Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK])
    assert [h.target for h in on_amount] == [
        make_id(Kind.CHECK, PG, orders, "not_null_orders_amount")
    ]
    relationship = service.node(
        make_id(
            Kind.CHECK, PG, orders, "relationships_orders_customer_id__customer_id__ref_customers_"
        )
    )
    assert relationship.attrs["check_type"] == "relationships"
    assert relationship.attrs["field"] == "customer_id"
    assert relationship.attrs["severity"] == "ERROR"
    assert relationship.attrs["source"] == "dbt"
    accepted = make_id(
        Kind.CHECK,
        PG,
        "postgres.public.stg_payments",
        "accepted_values_stg_payments_payment_method__credit_card__coupon__bank_transfer__gift_card",
    )
    assert service.node(accepted).attrs["check_type"] == "accepted_values"


def test_snowflake_test_run_records_two_failures_on_customers(
    service: LineageService, snowflake: Path
) -> None:
    translation = translate_dbt(
        load(snowflake / "manifest.json"), load(snowflake / "run_results.json")
    )
    assert translation.warnings == (
        "manifest: does not match the dbt v12 schema exactly (1686 problems); read leniently",
        "run_results: does not match the dbt v5 schema exactly (1 problem); read leniently",
        "run_results: (empty unique_id) is not in the manifest; skipped",
    )
    service.apply(translation.changeset)
    assert service.stats().nodes_by_kind["RESULT"] == 20
    nodes, _ = service.store.export()
    failing = sorted(n.id for n in nodes if n.kind is Kind.RESULT and not n.attrs["passed"])
    customers = "DEMO_DB.public.customers"
    assert failing == [
        make_id(Kind.RESULT, SF, customers, "not_null_customers_customer_id", SF_INVOCATION),
        make_id(Kind.RESULT, SF, customers, "unique_customers_customer_id", SF_INVOCATION),
    ]
    unique = service.node(failing[1])
    assert unique.attrs["observed"] == "1"
    assert unique.attrs["expected"] == "0"
    assert unique.attrs["message"] == "Test failure"
    assert unique.attrs["observed_at"] == "2021-07-05T11:43:16.146647Z"
    # the v12 test has no model kwarg: the test name says which parent it checks
    relationship = make_id(
        Kind.CHECK,
        SF,
        "DEMO_DB.public.orders",
        "relationships_orders_customer_id__customer_id__ref_customers_",
    )
    assert service.node(relationship).attrs["field"] == "customer_id"
    invocation = service.node(make_id(Kind.RUN, JOBS, "jaffle_shop", SF_INVOCATION))
    assert invocation.attrs["state"] == "FAIL"
    assert invocation.attrs["command"] == "test"


def test_dbt_artifacts_and_openlineage_events_meet_on_the_same_checks(
    service: LineageService, snowflake: Path
) -> None:
    account = "snowflake://ASDF1234.eu-central-1.aws"
    service.apply(
        translate_dbt(
            load(snowflake / "manifest.json"),
            load(snowflake / "run_results.json"),
            dataset_namespace=account,
            job_namespace="dbt-test-namespace",
        ).changeset
    )
    for document in load(snowflake / "result.json"):
        service.apply(translate_event(document))
    stats = service.stats()
    assert stats.nodes_by_kind["CHECK"] == 20  # the same 20 checks, reported twice
    assert stats.nodes_by_kind["RESULT"] == 40  # one per check per invocation or run
    assert stats.nodes_by_kind["DATASET"] == 8


def stg_orders_catalog(*dropped: str) -> dict[str, Any]:
    """A catalog of the jaffle_shop postgres run: stg_orders with 4 columns, less ``dropped``."""
    columns = {
        "order_id": {"type": "integer", "index": 1, "name": "order_id", "comment": None},
        "customer_id": {
            "type": "integer",
            "index": 2,
            "name": "customer_id",
            "comment": "who ordered",
        },
        "order_date": {"type": "date", "index": 3, "name": "order_date", "comment": None},
        "status": {"type": "text", "index": 4, "name": "status", "comment": None},
    }
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": "1.3.1",
            "generated_at": "2022-12-14T21:30:00Z",
            "invocation_id": PG_INVOCATION,
            "env": {},
        },
        "nodes": {
            "model.jaffle_shop.stg_orders": {
                "metadata": {
                    "type": "VIEW",
                    "schema": "public",
                    "name": "stg_orders",
                    "database": "postgres",
                    "comment": None,
                    "owner": "postgres",
                },
                "columns": {k: v for k, v in columns.items() if k not in dropped},
                "stats": {},
                "unique_id": "model.jaffle_shop.stg_orders",
            }
        },
        "sources": {},
        "errors": None,
    }


def test_catalog_adds_types_order_and_undocumented_columns(
    service: LineageService, postgres: Path
) -> None:
    catalog = stg_orders_catalog()
    translation = translate_dbt(load(postgres / "manifest.json"), catalog=catalog)
    assert translation.warnings == ()
    service.apply(translation.changeset)
    table = "postgres.public.stg_orders"
    assert service.node(make_id(Kind.FIELD, PG, table, "order_id")).attrs == {
        "ordinal": 1,
        "type": "integer",
    }
    assert service.node(make_id(Kind.FIELD, PG, table, "customer_id")).attrs == {
        "description": "who ordered",
        "ordinal": 2,
        "type": "integer",
    }
    fields = service.store.expand([pg("stg_orders")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    assert len(fields) == 4


def test_a_column_the_catalog_no_longer_lists_stops_being_current(
    service: LineageService, postgres: Path
) -> None:
    # The catalog is the warehouse's schema: a column dropped there stayed current.
    manifest = load(postgres / "manifest.json")
    service.apply(translate_dbt(manifest, catalog=stg_orders_catalog()).changeset)
    later = copy.deepcopy(manifest)
    later["metadata"]["generated_at"] = "2022-12-15T21:28:16.748601Z"
    # status is gone from the warehouse but still documented: the manifest reports it
    service.apply(
        translate_dbt(later, catalog=stg_orders_catalog("customer_id", "status")).changeset
    )
    fields = service.store.expand([pg("stg_orders")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    table = "postgres.public.stg_orders"
    assert sorted(h.target for h in fields) == [
        make_id(Kind.FIELD, PG, table, p) for p in ("order_date", "order_id", "status")
    ]
    # without a catalog the manifest's columns are not the whole schema: nothing ends
    service.apply(translate_dbt(later).changeset)
    again = service.store.expand([pg("stg_orders")], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    assert len(again) == 3


def test_a_removed_dependency_stops_being_current(service: LineageService, postgres: Path) -> None:
    manifest = load(postgres / "manifest.json")
    service.apply(translate_dbt(manifest).changeset)
    changed = copy.deepcopy(manifest)
    changed["metadata"]["generated_at"] = "2022-12-20T09:00:00Z"
    node = changed["nodes"]["model.jaffle_shop.customers"]
    node["depends_on"]["nodes"].remove("model.jaffle_shop.stg_payments")
    service.apply(translate_dbt(changed).changeset)
    reads = service.store.expand([pg_job("customers")], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(h.target for h in reads) == [pg("stg_customers"), pg("stg_orders")]
    _, edges = service.store.export()
    gone = [
        e for e in edges if e.source_id == pg("stg_payments") and e.target_id == pg_job("customers")
    ]
    assert [e.ended_at for e in gone] == ["2022-12-20T09:00:00.000000Z"]


def test_a_build_evaluates_the_versions_it_built(service: LineageService, postgres: Path) -> None:
    invocation = "5b7f0a43-2c50-4a52-8f55-0f3e2b8b9a11"

    def result(unique_id: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
        return {
            "status": status,
            "timing": [{"name": "execute", "started_at": at, "completed_at": at}],
            "thread_id": "Thread-1",
            "execution_time": 0.1,
            "adapter_response": {},
            "message": None,
            "failures": 0 if status in ("pass", "fail") else None,
            "unique_id": unique_id,
            **extra,
        }

    run_results = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v4.json",
            "dbt_version": "1.3.1",
            "generated_at": "2022-12-15T08:10:00Z",
            "invocation_id": invocation,
            "env": {},
        },
        "results": [
            result("seed.jaffle_shop.raw_orders", "success", "2022-12-15T08:00:00Z"),
            result("model.jaffle_shop.stg_orders", "success", "2022-12-15T08:01:00Z"),
            result(
                "test.jaffle_shop.unique_stg_orders_order_id.e3b841c71a",
                "pass",
                "2022-12-15T08:02:00Z",
            ),
            result(
                "test.jaffle_shop.not_null_stg_orders_order_id.81cfe2fe64",
                "fail",
                "2022-12-15T08:03:00Z",
                failures=4,
            ),
            result(
                "model.jaffle_shop.orders",
                "error",
                "2022-12-15T08:04:00Z",
                message="relation missing",
            ),
        ],
        "elapsed_time": 1.0,
        "args": {"which": "build"},
    }
    translation = translate_dbt(load(postgres / "manifest.json"), run_results)
    assert translation.warnings == ()
    service.apply(translation.changeset)
    stg = "postgres.public.stg_orders"
    version = make_id(Kind.DATASET_VERSION, PG, stg, invocation)
    failed = service.node(make_id(Kind.RESULT, PG, stg, "not_null_stg_orders_order_id", invocation))
    assert failed.attrs["passed"] is False
    assert failed.attrs["observed"] == "4"
    assert failed.attrs["dataset_version"] == version
    evaluated = service.store.expand([failed.id], Direction.DOWNSTREAM, [EdgeKind.EVALUATED])
    assert [h.target for h in evaluated] == [version]
    seed_version = make_id(Kind.DATASET_VERSION, PG, "postgres.public.raw_orders", invocation)
    run = service.store.expand([version], Direction.UPSTREAM, [EdgeKind.WROTE])[0].target
    read = service.store.expand([run], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [h.target for h in read] == [seed_version]
    orders_runs = service.store.expand([pg_job("orders")], Direction.DOWNSTREAM, [EdgeKind.HAS_RUN])
    failed_run = service.node(orders_runs[0].target)
    assert failed_run.attrs["state"] == "FAIL"
    assert failed_run.attrs["error_message"] == "relation missing"
    assert not service.store.expand([failed_run.id], Direction.DOWNSTREAM, [EdgeKind.WROTE])
    assert service.node(make_id(Kind.RUN, JOBS, "jaffle_shop", invocation)).attrs["state"] == "FAIL"


def test_replaying_artifacts_changes_nothing(service: LineageService, postgres: Path) -> None:
    manifest, results = load(postgres / "manifest.json"), load(postgres / "run_results.json")
    service.apply(translate_dbt(manifest, results).changeset)
    nodes, edges = service.store.export()
    before = ([n.model_dump() for n in nodes], [e.model_dump() for e in edges])
    service.apply(translate_dbt(manifest, results).changeset)
    nodes, edges = service.store.export()
    assert ([n.model_dump() for n in nodes], [e.model_dump() for e in edges]) == before


def test_namespaces_can_be_chosen(postgres: Path) -> None:
    changeset = translate_dbt(
        load(postgres / "manifest.json"),
        dataset_namespace="postgres://warehouse:5432",
        job_namespace="airflow",
    ).changeset
    ids = {n.id for n in changeset.nodes}
    assert make_id(Kind.DATASET, "postgres://warehouse:5432", "postgres.public.orders") in ids
    assert make_id(Kind.JOB, "airflow", "postgres.public.jaffle_shop.orders") in ids


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ([], "manifest: must be a JSON object"),
        ({"nodes": {}}, "manifest: metadata.dbt_schema_version is missing or not a dbt schema"),
        (
            {
                "metadata": {
                    "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v7.json"
                },
                "nodes": {"x": {"resource_type": "model"}},
            },
            "manifest.nodes.x.unique_id: missing (and 1 more problem)",
        ),
    ],
)
def test_malformed_manifests_are_rejected(manifest: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        translate_dbt(manifest)
    assert str(raised.value) == message


def test_an_artifact_of_another_kind_is_refused(postgres: Path) -> None:
    # run_results.json as the manifest ingested nothing and exited 0; a catalog as run
    # results made a bogus invocation run.
    manifest, results = load(postgres / "manifest.json"), load(postgres / "run_results.json")
    with pytest.raises(InvalidInput) as raised:
        translate_dbt(results)
    assert str(raised.value) == (
        "manifest: this is dbt's run_results.json (its dbt_schema_version says so), "
        "not manifest.json"
    )
    with pytest.raises(InvalidInput, match=r"run_results: this is dbt.s manifest\.json"):
        translate_dbt(manifest, manifest)
    with pytest.raises(InvalidInput, match=r"catalog: this is dbt.s run_results\.json"):
        translate_dbt(manifest, catalog=results)


def test_run_results_need_an_invocation(postgres: Path) -> None:
    results = load(postgres / "run_results.json")
    del results["metadata"]["invocation_id"]
    with pytest.raises(InvalidInput, match="invocation_id"):
        translate_dbt(load(postgres / "manifest.json"), results)


def test_failing_tests_make_customers_failing_and_leave_the_rest_ok(
    service: LineageService, snowflake: Path
) -> None:
    service.apply(
        translate_dbt(
            load(snowflake / "manifest.json"), load(snowflake / "run_results.json")
        ).changeset
    )

    def sf(table: str) -> str:
        return make_id(Kind.DATASET, SF, f"DEMO_DB.public.{table}")

    tables = ["customers", "orders", "stg_customers", "stg_orders", "stg_payments"]
    health = service.health_of([sf(t) for t in tables])
    assert {t: health[sf(t)].status.value for t in tables} == {
        "customers": "FAILING",
        "orders": "OK",
        "stg_customers": "OK",
        "stg_orders": "OK",
        "stg_payments": "OK",
    }
    reasons = health[sf("customers")].reasons
    assert sorted(r.check_id.split("|")[3] for r in reasons) == [
        "not_null_customers_customer_id",
        "unique_customers_customer_id",
    ]
    field = make_id(Kind.FIELD, SF, "DEMO_DB.public.customers", "customer_id")
    assert service.health_of([field])[field].status.value == "FAILING"


def test_sources_and_snapshots(service: LineageService, postgres: Path) -> None:
    manifest = load(postgres / "manifest.json")
    manifest["sources"]["source.jaffle_shop.shop.orders"] = {
        "unique_id": "source.jaffle_shop.shop.orders",
        "resource_type": "source",
        "name": "orders",
        "identifier": "orders_v2",
        "database": "postgres",
        "schema": "shop",
        "package_name": "jaffle_shop",
        "description": "Orders as the shop writes them",
        "columns": {"id": {"name": "id", "description": "order id", "data_type": "integer"}},
        "meta": {"owner": "team:shop"},
        "tags": ["source"],
    }
    manifest["nodes"]["model.jaffle_shop.stg_orders"]["depends_on"]["nodes"] = [
        "source.jaffle_shop.shop.orders"
    ]
    manifest["nodes"]["snapshot.jaffle_shop.orders_history"] = {
        "unique_id": "snapshot.jaffle_shop.orders_history",
        "resource_type": "snapshot",
        "name": "orders_history",
        "alias": "orders_history",
        "database": "postgres",
        "schema": "snapshots",
        "package_name": "jaffle_shop",
        "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
        "config": {"materialized": "snapshot"},
        "raw_code": "select * from {{ ref('orders') }}",
    }
    service.apply(translate_dbt(manifest).changeset)
    source = make_id(Kind.DATASET, PG, "postgres.shop.orders_v2")
    node = service.node(source)
    assert node.attrs["owners"] == ["team:shop"]
    assert node.attrs["dbt_resource_type"] == "source"
    assert service.node(make_id(Kind.FIELD, PG, "postgres.shop.orders_v2", "id")).attrs == {
        "description": "order id",
        "type": "integer",
    }
    reads = service.store.expand([pg_job("stg_orders")], Direction.UPSTREAM, [EdgeKind.READS])
    assert [h.target for h in reads] == [source]
    snapshot_job = make_id(Kind.JOB, JOBS, "postgres.snapshots.jaffle_shop.orders_history")
    assert service.node(snapshot_job).attrs["job_type"] == "DBT_SNAPSHOT"
    writes = service.store.expand([snapshot_job], Direction.DOWNSTREAM, [EdgeKind.WRITES])
    assert [h.target for h in writes] == [
        make_id(Kind.DATASET, PG, "postgres.snapshots.orders_history")
    ]


# --- dbt 1.10 on DuckDB: three real builds (tests/data/dbt/shop_duckdb/README.md) ---------------

SHOP = Path(__file__).parent / "data" / "dbt" / "shop_duckdb"
DUCK = "duckdb://shop"
SHOP_JOBS = "dbt://shop"
SHOP_INVOCATIONS = (
    "304487b0-730c-43ce-bc58-536e6f26003a",
    "48c17fc9-3d66-4515-a885-f23e45b84be5",
    "06e42eb3-cb4f-494e-98e8-51f589e3bce9",
)
EMAIL_CHECK = "not_null_stg_customers_email"
UNIT_TEST = "unit_test.shop.customers.test_customers_counts_orders"
STATUS_CHECK = (
    "accepted_values_stg_orders_status__placed__shipped__completed__return_pending__returned"
)


def shop_build(number: int) -> Any:
    """The translation of one of the three builds, with its catalog when it has one."""
    folder = SHOP / f"build{number}"
    catalog = folder / "catalog.json"
    return translate_dbt(
        json.loads(gzip.decompress((folder / "manifest.json.gz").read_bytes())),
        load(folder / "run_results.json"),
        catalog=load(catalog) if catalog.exists() else None,
    )


def duck(table: str) -> str:
    return make_id(Kind.DATASET, DUCK, f"shop.{table}")


def health_by_check(service: LineageService) -> dict[str, tuple[str, set[tuple[str, str]]]]:
    """Datasets not OK: status, and (check name, precision) of each reason."""
    return {
        record.id: (
            record.status.value,
            {(r.check_id.rsplit("|", 1)[1], r.precision.value) for r in record.reasons},
        )
        for record in service.at_risk(kinds=[Kind.DATASET], first=100).items
    }


def test_dbt_1_10_artifacts_match_their_schemas(service: LineageService) -> None:
    # manifest v12, run results v6 (dbt 1.8 and later) and catalog v1, unit tests included
    for number in (1, 2, 3):
        assert shop_build(number).warnings == ()
    service.apply(shop_build(1).changeset)
    stats = service.stats()
    # 3 seeds (which the 3 sources name too), 3 staging views, 2 tables, 1 snapshot
    assert stats.nodes_by_kind["DATASET"] == 9
    assert stats.nodes_by_kind["CHECK"] == 16
    assert stats.nodes_by_kind["RESULT"] == 12  # the 4 tests of customers were skipped
    source = service.node(duck("main_raw.raw_customers"))
    assert source.attrs["dbt_resource_type"] in ("seed", "source")
    lifetime_value = make_id(Kind.FIELD, DUCK, "shop.main.customers", "lifetime_value")
    # customers was not built, so the catalog lacks it: the type is its contract's
    assert service.node(lifetime_value).attrs["type"] == "double"
    customers_job = service.node(make_id(Kind.JOB, SHOP_JOBS, "shop.main.shop.customers"))
    assert customers_job.attrs["dbt_unit_tests"] == ["test_customers_counts_orders"]
    # the unit test is not a check: it tests code on fixed rows, not the data
    nodes, _ = service.store.export()
    assert not any("test_customers_counts_orders" in n.id for n in nodes if n.kind is Kind.CHECK)
    service.apply(shop_build(2).changeset)
    assert service.node(lifetime_value).attrs["type"] == "DOUBLE"  # the catalog's, once built


def test_dbt_exposures_are_consumers_with_owners(service: LineageService) -> None:
    service.apply(shop_build(1).changeset)
    dashboard = service.node(make_id(Kind.JOB, SHOP_JOBS, "exposure.weekly_revenue"))
    assert dashboard.attrs["job_type"] == "DBT_EXPOSURE"
    assert dashboard.attrs["exposure_type"] == "dashboard"
    assert dashboard.attrs["owners"] == ["finance-analytics@example.com"]
    assert dashboard.attrs["url"] == "https://bi.example.com/dashboards/12"
    reads = service.store.expand([dashboard.id], Direction.UPSTREAM, [EdgeKind.READS])
    assert sorted(h.target for h in reads) == [duck("main.customers"), duck("main.orders")]
    # Dropping a column of customers reaches both exposures, and their owners are told.
    report = service.impact(
        {
            "dataset_id": duck("main.customers"),
            "changes": [{"action": "DROP_FIELD", "path": "lifetime_value"}],
        }
    )
    affected_jobs = {a.id for a in report.of_kind(Kind.JOB)}
    assert {
        make_id(Kind.JOB, SHOP_JOBS, "exposure.weekly_revenue"),
        make_id(Kind.JOB, SHOP_JOBS, "exposure.churn_model"),
    } <= affected_jobs
    owners = {o.owner for o in report.owners}
    assert {"finance-analytics@example.com", "ml-team@example.com"} <= owners
    # The exposures run nothing: their "no-op" results are not runs, and not warned about.
    nodes, _ = service.store.export()
    assert not any(n.kind is Kind.RUN and "exposure." in n.id for n in nodes)


@pytest.mark.parametrize(
    ("folder", "versions"),
    [("dbt-1.5", ("v9", "v4")), ("dbt-1.7", ("v11", "v5")), ("build1", ("v12", "v6"))],
)
def test_older_dbt_versions_give_the_same_first_build(
    service: LineageService, folder: str, versions: tuple[str, str]
) -> None:
    build = SHOP / folder
    manifest = json.loads(gzip.decompress((build / "manifest.json.gz").read_bytes()))
    run_results = load(build / "run_results.json")
    claimed = (
        manifest["metadata"]["dbt_schema_version"],
        run_results["metadata"]["dbt_schema_version"],
    )
    assert tuple(url.rsplit("/", 1)[1].removesuffix(".json") for url in claimed) == versions
    translation = translate_dbt(manifest, run_results)
    assert translation.warnings == ()  # each matches its own schema exactly
    service.apply(translation.changeset)
    statuses = {i: status for i, (status, _) in health_by_check(service).items()}
    assert statuses == {
        duck("main.stg_customers"): "FAILING",
        duck("main.stg_orders"): "FAILING",
        duck("main.orders"): "AT_RISK",
        duck("main.customers"): "AT_RISK",
        duck("main.customers_snapshot"): "AT_RISK",
    }
    stats = service.stats()
    assert (stats.nodes_by_kind["DATASET"], stats.nodes_by_kind["CHECK"]) == (9, 16)


@pytest.mark.parametrize(
    "manifest",
    [
        "jaffle_shop_postgres_run",  # v7
        "jaffle_shop_snowflake_test",  # claims v12 with v7 fields: read leniently, warned
        "dbt-1.5",  # v9
        "dbt-1.7",  # v11
        "build2",  # v12
    ],
)
def test_a_slim_manifest_translates_the_same_at_a_fraction_of_the_size(
    shared_data: Path, manifest: str
) -> None:
    shared = shared_data / "openlineage" / "dbt" / manifest / "manifest.json"
    if shared.exists():
        full = load(shared)
        run_results = load(shared.with_name("run_results.json"))
    else:
        full = json.loads(gzip.decompress((SHOP / manifest / "manifest.json.gz").read_bytes()))
        run_results = load(SHOP / manifest / "run_results.json")
    slim = slim_manifest(full)
    assert "macros" in full and slim["macros"] == {} and slim["docs"] == {}
    assert slim["nodes"] == full["nodes"] and slim["metadata"] == full["metadata"]
    # macros are most of a small project's manifest
    assert len(json.dumps(slim)) < len(json.dumps(full)) / 3
    whole, sliced = translate_dbt(full, run_results), translate_dbt(slim, run_results)
    # the same warnings, with the same counts: the emptied sections' own schema problems
    # are not counted in either (--server said 1690 problems where --store said 1999)
    assert sliced.warnings == whole.warnings
    assert sliced.changeset == whole.changeset
    assert len(whole.changeset.nodes) > 50
    assert slim_manifest([1]) == [1]  # not a manifest: left for the translation to refuse


def test_dbt_builds_cascade_and_recover(service: LineageService) -> None:
    service.apply(shop_build(1).changeset)
    # Kathleen has no email: the failing not_null test skips customers, so it and the
    # snapshot are at risk by design lineage only; the status test warns, and the
    # orders table built from the warned-about version is confirmed at risk.
    assert health_by_check(service) == {
        duck("main.stg_customers"): ("FAILING", {(EMAIL_CHECK, "CONFIRMED")}),
        duck("main.stg_orders"): ("FAILING", {(STATUS_CHECK, "CONFIRMED")}),
        duck("main.orders"): ("AT_RISK", {(STATUS_CHECK, "CONFIRMED")}),
        duck("main.customers"): (
            "AT_RISK",
            {(EMAIL_CHECK, "POTENTIAL"), (STATUS_CHECK, "POTENTIAL")},
        ),
        duck("main.customers_snapshot"): ("AT_RISK", {(EMAIL_CHECK, "POTENTIAL")}),
    }
    first = service.node(make_id(Kind.RUN, SHOP_JOBS, "shop", SHOP_INVOCATIONS[0]))
    assert first.attrs["state"] == "FAIL"
    assert first.attrs["unit_tests"] == {UNIT_TEST: "skipped"}

    # The email filled in: the rebuilt stg_customers passes, customers is built from it,
    # and only the warning still reaches downstream (a warning does not fail the build).
    service.apply(shop_build(2).changeset)
    assert health_by_check(service) == {
        duck("main.stg_orders"): ("FAILING", {(STATUS_CHECK, "CONFIRMED")}),
        duck("main.orders"): ("AT_RISK", {(STATUS_CHECK, "CONFIRMED")}),
        duck("main.customers"): ("AT_RISK", {(STATUS_CHECK, "CONFIRMED")}),
    }
    second = service.node(make_id(Kind.RUN, SHOP_JOBS, "shop", SHOP_INVOCATIONS[1]))
    assert second.attrs["state"] == "COMPLETE"

    # A bug in customers.sql: its unit test fails, customers is not rebuilt, and its run
    # says why.
    service.apply(shop_build(3).changeset)
    third = service.node(make_id(Kind.RUN, SHOP_JOBS, "shop", SHOP_INVOCATIONS[2]))
    assert third.attrs["state"] == "FAIL"
    assert third.attrs["unit_tests"] == {UNIT_TEST: "fail"}
    runs = service.store.expand(
        [make_id(Kind.JOB, SHOP_JOBS, "shop.main.shop.customers")],
        Direction.DOWNSTREAM,
        [EdgeKind.HAS_RUN],
    )
    aborted = [
        service.node(h.target)
        for h in runs
        if service.node(h.target).attrs.get("parent_run", "").endswith(SHOP_INVOCATIONS[2])
    ]
    assert [r.attrs["state"] for r in aborted] == ["ABORT"]
    assert aborted[0].attrs["unit_tests"] == {"test_customers_counts_orders": "fail"}
    message = aborted[0].attrs["error_message"]
    assert message.startswith("unit test test_customers_counts_orders failed: actual differs")
    assert "\x1b" not in message  # dbt's terminal colours are gone
    assert "15.0→30.0" in message


def test_a_dbt_model_skipped_after_a_failure_is_not_said_to_have_read_it(
    service: LineageService,
) -> None:
    # In the first build not_null_stg_customers_email fails, so dbt skips customers and
    # customers_snapshot. Their jobs are at risk through their skipped runs (recorded
    # with the failing version as input), and the evidence said they read the data,
    # "confirmed through recorded runs", as for a model that was built from it; then it
    # said they read nothing, but not why they stay at risk.
    service.apply(shop_build(1).changeset)
    customers = service.health(make_id(Kind.JOB, SHOP_JOBS, "shop.main.shop.customers"))
    snapshot = service.health(make_id(Kind.JOB, SHOP_JOBS, "shop.main.shop.customers_snapshot"))
    orders = service.health(make_id(Kind.JOB, SHOP_JOBS, "shop.main.shop.orders"))
    for record in (customers, snapshot):
        (reason,) = (r for r in record.reasons if r.check_id.endswith(EMAIL_CHECK))
        assert record.status.value == "AT_RISK"
        assert reason.message == (
            "its latest run was skipped, reading and writing nothing, so its output has not "
            f"been refreshed since data where shop.main.stg_customers@{EMAIL_CHECK} on "
            "shop.main.stg_customers.email failed, 3 hops upstream, and its consumers still "
            "read stale data (recorded runs)"
        )
        assert reason.kind is ReasonKind.NOT_REFRESHED
        assert _run_state(service, reason.path[-2]) == "ABORT"
    # orders was built from the data its check warned about: it read it
    (reason,) = orders.reasons
    assert reason.message.startswith("reads data where shop.main.stg_orders@accepted_values")
    assert reason.message.endswith("(confirmed through recorded runs)")
    assert reason.kind is ReasonKind.RECORDED_RUNS
    assert _run_state(service, reason.path[-2]) == "COMPLETE"


def _run_state(service: LineageService, run_id: str) -> object:
    return service.node(run_id).attrs["state"]


def test_dbt_source_freshness_puts_what_is_built_from_a_stale_source_at_risk(
    service: LineageService,
) -> None:
    folder = SHOP / "freshness"
    manifest = json.loads(gzip.decompress((folder / "manifest.json.gz").read_bytes()))
    stale = translate_dbt(manifest, sources=load(folder / "sources_stale.json"))
    assert stale.warnings == ()  # sources v3 matches its schema exactly
    service.apply(stale.changeset)
    raw_orders = duck("main_raw.raw_orders")
    check = make_id(Kind.CHECK, DUCK, "shop.main_raw.raw_orders", "freshness")
    assert service.node(check).attrs["check_type"] == "freshness"
    assert service.node(check).attrs["severity"] == "ERROR"
    (hop,) = service.store.expand([check], Direction.DOWNSTREAM, [EdgeKind.HAS_RESULT])
    result = service.node(hop.target).attrs
    assert result["passed"] is False
    assert result["observed"] == "loaded 2024-01-05T00:00:00+00:00, 1,058 days before the check"
    assert result["expected"] == "warn after 1 day, error after 30 days"
    assert result["message"] == "error"
    not_ok = health_by_check(service)
    assert not_ok[raw_orders] == ("FAILING", {("freshness", "CONFIRMED")})
    # every model built from raw_orders is at risk by design lineage
    for table in ("main.stg_orders", "main.orders", "main.customers"):
        assert not_ok[duck(table)] == ("AT_RISK", {("freshness", "POTENTIAL")})
    assert duck("main.stg_customers") not in not_ok

    fresh = translate_dbt(manifest, sources=load(folder / "sources_fresh.json"))
    service.apply(fresh.changeset)
    assert health_by_check(service) == {}  # the reloaded source is fresh again
