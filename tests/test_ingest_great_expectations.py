"""Great Expectations validation and checkpoint results → checks and results."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lineagegraph.errors import InvalidField, InvalidInput
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest.dbt import translate_dbt
from lineagegraph.ingest.great_expectations import check_name, dataset_named, translate_gx
from lineagegraph.ingest.mutations import FieldSpec, upsert_field
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.service import LineageService

TITANIC = ("file", "/data/titanic.csv")
SHOP = Path(__file__).parent / "data" / "dbt" / "shop_duckdb"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def profiler(shared_data: Path) -> Any:
    return load(shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json")


@pytest.fixture
def operator_result(shared_data: Path) -> Any:
    return load(
        shared_data
        / "great_expectations"
        / "ValidationOperatorResult_with_multiple_validation_results.json"
    )


def test_profiler_results_have_eight_failures(service: LineageService, profiler: Any) -> None:
    translation = translate_gx(profiler, namespace=TITANIC[0], name=TITANIC[1])
    service.apply(translation.changeset)
    stats = service.stats()
    assert stats.nodes_by_kind == {"CHECK": 51, "DATASET": 1, "FIELD": 7, "RESULT": 51}
    nodes, _ = service.store.export()
    failing = sorted(n.parts[0] for n in nodes if n.kind is Kind.RESULT and not n.attrs["passed"])
    in_set = "expect_column_values_to_be_in_set"
    assert failing == [
        f"{in_set}(Age)#500c0a2d",
        f"{in_set}(Name)#500c0a2d",
        f"{in_set}(PClass)#500c0a2d",
        f"{in_set}(Sex)#500c0a2d",
        f"{in_set}(SexCode)#500c0a2d",
        f"{in_set}(Survived)#500c0a2d",
        f"{in_set}(Unnamed: 0)#500c0a2d",
        "expect_column_values_to_not_match_regex(Name)#aebd4b76",
    ]


def test_profiler_checks_sit_on_their_columns(service: LineageService, profiler: Any) -> None:
    service.apply(translate_gx(profiler, namespace=TITANIC[0], name=TITANIC[1]).changeset)
    age = make_id(Kind.FIELD, *TITANIC, "Age")
    checks = service.store.expand([age], Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK])
    names = sorted(h.target.split("|")[3] for h in checks)
    not_null_name = check_name(
        "expect_column_values_to_not_be_null", {"column": "Age", "mostly": 0.5}
    )
    assert not_null_name.startswith("expect_column_values_to_not_be_null(Age)#")
    assert not_null_name in names
    assert len(names) == 11
    not_null = service.node(make_id(Kind.CHECK, *TITANIC, not_null_name))
    assert not_null.attrs["check_type"] == "expect_column_values_to_not_be_null"
    assert not_null.attrs["field"] == "Age"
    assert not_null.attrs["source"] == "great_expectations"
    assert not_null.attrs["suite"] == "default"
    row_count = make_id(
        Kind.CHECK,
        *TITANIC,
        check_name("expect_table_row_count_to_be_between", {"min_value": 0, "max_value": None}),
    )
    on_table = service.store.expand(
        [make_id(Kind.DATASET, *TITANIC)], Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK]
    )
    assert row_count in {h.target for h in on_table}
    key = "2020-03-22T17:02:47.671855Z/f499679e-6c5e-11ea-8d20-acde48001122"
    result = service.node(make_id(Kind.RESULT, *TITANIC, row_count.split("|")[3], key))
    assert result.attrs["observed"] == "1313"
    assert result.attrs["observed_at"] == "2020-03-22T17:02:47.671855Z"
    age_in_set = service.node(
        make_id(Kind.RESULT, *TITANIC, "expect_column_values_to_be_in_set(Age)#500c0a2d", key)
    )
    assert age_in_set.attrs["observed"] == "756 unexpected of 1313"
    assert age_in_set.attrs["expected"] == '{"value_set": []}'


def test_legacy_operator_result_with_two_validations(
    service: LineageService, operator_result: Any
) -> None:
    translation = translate_gx(operator_result, namespace="gx://getest", name="payroll")
    service.apply(translation.changeset)
    stats = service.stats()
    assert stats.nodes_by_kind["CHECK"] == 11
    assert stats.nodes_by_kind["RESULT"] == 22
    nodes, _ = service.store.export()
    failing = sorted(n.parts[1] for n in nodes if n.kind is Kind.RESULT and not n.attrs["passed"])
    assert failing == [
        "2020-07-27T17:19:32.959193Z/4e0d84813237541d5dbb9f8af649a7ef",
        "2020-07-27T17:19:32.959193Z/4e0d84813237541d5dbb9f8af649a7ef",
        "2020-07-27T17:19:33.959193Z/4e0d84813237541d5dbb9f8af649a7eg",
        "2020-07-27T17:19:33.959193Z/4e0d84813237541d5dbb9f8af649a7eg",
    ]
    median = service.node(
        make_id(
            Kind.RESULT,
            "gx://getest",
            "payroll",
            check_name(
                "expect_column_median_to_be_between",
                {"column": ' "Payroll (millions)"', "max_value": 86000.75, "min_value": 84000.75},
            ),
            "2020-07-27T17:19:32.959193Z/4e0d84813237541d5dbb9f8af649a7ef",
        )
    )
    assert median.attrs["observed"] == "85.75"
    assert median.attrs["run_name"] == "getest run"


def test_a_result_that_names_no_dataset_asks_for_one(profiler: Any, operator_result: Any) -> None:
    with pytest.raises(
        InvalidInput, match="give the namespace and name of the dataset it validated"
    ):
        translate_gx(profiler)
    with pytest.raises(InvalidInput, match=r"run_results\['ValidationResultIdentifier::basic"):
        translate_gx(operator_result)


def gx1_result(meta: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "success": False,
        "suite_name": "orders.critical",
        "suite_parameters": {},
        "meta": meta,
        "results": results,
        "statistics": {},
    }


def expectation(kind: str, success: bool, **kwargs: Any) -> dict[str, Any]:
    return {
        "success": success,
        "expectation_config": {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"},
        "result": {"observed_value": 0}
        if not kwargs.get("column")
        else {"unexpected_count": 3, "element_count": 10},
        "exception_info": {"raised_exception": False},
    }


def test_gx1_batch_definition_names_the_dataset() -> None:
    meta = {
        "active_batch_definition": {
            "datasource_name": "warehouse",
            "data_asset_name": "public.orders",
        },
        "run_id": {"run_name": "nightly", "run_time": "2024-06-01T02:00:00+00:00"},
        "validation_time": "20240601T020005.000000Z",
    }
    document = gx1_result(
        meta, [expectation("expect_column_values_to_not_be_null", False, column="customer_id")]
    )
    changeset = translate_gx(document).changeset
    check = make_id(
        Kind.CHECK,
        "gx://warehouse",
        "public.orders",
        "expect_column_values_to_not_be_null(customer_id)",
    )
    nodes = {n.id: n for n in changeset.normalized().nodes}
    assert nodes[check].attrs["severity"] == "CRITICAL"
    results = [n for n in nodes.values() if n.kind is Kind.RESULT]
    assert [r.parts[1] for r in results] == ["2024-06-01T02:00:05.000000Z"]
    assert results[0].attrs["observed"] == "3 unexpected of 10"


@pytest.mark.parametrize(
    ("meta", "dataset"),
    [
        (
            {"batch_kwargs": {"path": "/data/orders.csv", "datasource": "files"}},
            ("file", "/data/orders.csv"),
        ),
        (
            {"batch_kwargs": {"table": "orders", "schema": "public", "datasource": "pg"}},
            ("gx://pg", "public.orders"),
        ),
        (
            {"batch_spec": {"table_name": "orders", "schema_name": "sales"}},
            ("gx://default", "sales.orders"),
        ),
    ],
)
def test_legacy_batch_kwargs_name_the_dataset(
    meta: dict[str, Any], dataset: tuple[str, str]
) -> None:
    meta = {**meta, "run_id": {"run_name": "r", "run_time": "2020-01-01T00:00:00Z"}}
    document = {
        "meta": meta,
        "results": [expectation("expect_table_row_count_to_be_between", True, min_value=1)],
        "success": True,
    }
    changeset = translate_gx(document).changeset
    assert make_id(Kind.DATASET, *dataset) in {n.id for n in changeset.nodes}


def test_a_raised_exception_is_a_failure() -> None:
    item = expectation("expect_column_values_to_be_unique", True, column="id")
    item["exception_info"] = {"raised_exception": True, "exception_message": "column id not found"}
    meta = {"run_id": {"run_name": "r", "run_time": "2020-01-01T00:00:00Z"}}
    changeset = translate_gx(gx1_result(meta, [item]), namespace="pg", name="t").changeset
    result = next(n for n in changeset.nodes if n.kind is Kind.RESULT)
    assert result.attrs["passed"] is False
    assert result.attrs["message"] == "column id not found"


def test_check_names_are_readable_and_stable() -> None:
    assert (
        check_name(
            "expect_column_values_to_not_be_null", {"column": "Age", "result_format": "SUMMARY"}
        )
        == "expect_column_values_to_not_be_null(Age)"
    )
    first = check_name(
        "expect_column_values_to_be_between", {"column": "x", "min_value": 0, "max_value": 9}
    )
    again = check_name(
        "expect_column_values_to_be_between", {"max_value": 9, "column": "x", "min_value": 0}
    )
    other = check_name(
        "expect_column_values_to_be_between", {"column": "x", "min_value": 1, "max_value": 9}
    )
    assert first == again != other
    assert first.startswith("expect_column_values_to_be_between(x)#")
    assert (
        check_name("expect_column_pair_values_to_be_equal", {"column_A": "a", "column_B": "b"})
        == "expect_column_pair_values_to_be_equal(a, b)"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"results": []}, "result.meta: needs run_id.run_time or validation_time"),
        ({"hello": 1}, "result: not a Great Expectations validation or checkpoint result"),
        ("text", "result: must be a JSON object"),
        (
            {"meta": {"run_id": "20200101T000000.000000Z"}, "results": [{"success": True}]},
            r"result.results\[0\].expectation_config: missing",
        ),
        (
            {
                "meta": {"run_id": "20200101T000000.000000Z"},
                "results": [{"success": "yes", "expectation_config": {"type": "e"}}],
            },
            r"result.results\[0\].success: must be true or false",
        ),
    ],
)
def test_malformed_results_are_rejected(document: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        translate_gx(document, namespace="pg", name="t")


def test_namespace_and_name_go_together(profiler: Any) -> None:
    with pytest.raises(InvalidInput, match="both a namespace and a name"):
        translate_gx(profiler, namespace="pg")


def test_gx1_checkpoint_result_holds_validation_results_directly() -> None:
    meta = {
        "active_batch_definition": {"datasource_name": "lake", "data_asset_name": "events"},
        "run_id": {"run_name": None, "run_time": "2024-06-02T00:00:00+00:00"},
    }
    validation = gx1_result(
        meta, [expectation("expect_table_row_count_to_be_between", False, min_value=10)]
    )
    checkpoint = {
        "run_id": {"run_name": None, "run_time": "2024-06-02T00:00:00+00:00"},
        "run_results": {
            "ValidationResultIdentifier::orders.critical/__none__/"
            "20240602T000000.000000Z/lake-events": validation
        },
        "checkpoint_config": {"name": "nightly"},
        "success": False,
    }
    changeset = translate_gx(checkpoint).changeset
    results = [n for n in changeset.normalized().nodes if n.kind is Kind.RESULT]
    assert [(r.namespace, r.name, r.parts[1], r.attrs["passed"]) for r in results] == [
        ("gx://lake", "events", "2024-06-02T00:00:00.000000Z/lake-events", False)
    ]


GX1 = Path(__file__).parent / "data" / "great_expectations" / "gx1_orders"


def test_gx_1_24_stored_validation_result(service: LineageService) -> None:
    # what GX 1.24 stores under gx/uncommitted/validations/ when a checkpoint runs
    document = json.loads((GX1 / "validation_result.json").read_text())
    translation = translate_gx(document)
    assert translation.warnings == ()
    service.apply(translation.changeset)
    orders = make_id(Kind.DATASET, "gx://shop_files", "orders")
    stats = service.stats()
    assert (stats.nodes_by_kind["CHECK"], stats.nodes_by_kind["RESULT"]) == (7, 7)
    failing = {record.id: record.status.value for record in service.at_risk(first=100).items}
    field = lambda path: make_id(Kind.FIELD, "gx://shop_files", "orders", path)  # noqa: E731
    assert failing == {
        orders: "FAILING",
        field("customer_id"): "FAILING",  # an order without a customer
        field("status"): "FAILING",  # "lost" is not in the set
        field("amount"): "FAILING",  # a negative amount
    }
    check = make_id(
        Kind.CHECK, "gx://shop_files", "orders", "expect_column_values_to_not_be_null(customer_id)"
    )
    result = make_id(
        Kind.RESULT,
        "gx://shop_files",
        "orders",
        "expect_column_values_to_not_be_null(customer_id)",
        "2026-11-27T12:27:10.230390Z",
    )
    assert service.node(check).attrs["field"] == "customer_id"
    assert service.node(result).attrs["observed"] == "1 unexpected of 6"
    before = service.store.export()
    service.apply(translate_gx(document).changeset)  # a replay changes nothing
    assert [list(part) for part in service.store.export()] == [list(part) for part in before]


def test_checkpoint_describe_output_is_refused_with_what_to_ingest_instead() -> None:
    document = json.loads((GX1 / "checkpoint_describe.json").read_text())
    with pytest.raises(InvalidInput, match=r"describe\(\) output.*gx/uncommitted/validations"):
        translate_gx(document)


def test_gx_0_18_and_1_24_results_of_the_same_suite_are_the_same_checks(
    service: LineageService,
) -> None:
    legacy = json.loads(
        (GX1.parent / "gx018_orders" / "checkpoint_result.json").read_text(encoding="utf-8")
    )
    current = json.loads((GX1 / "validation_result.json").read_text(encoding="utf-8"))
    translated = translate_gx(legacy)
    assert translated.warnings == ()
    service.apply(translated.changeset)
    service.apply(translate_gx(current).changeset)
    nodes, _ = service.store.export()
    checks = sorted(n.parts[0] for n in nodes if n.kind is Kind.CHECK)
    # GX 1.24 writes min_value=0 as 0.0: still the same check. The 1.24 suite has one
    # expectation more.
    assert checks == [
        "expect_column_values_to_be_between(amount)#f96fb829",
        "expect_column_values_to_be_in_set(status)#51ac23db",
        "expect_column_values_to_be_unique(order_id)",
        "expect_column_values_to_not_be_null(customer_id)",
        "expect_column_values_to_not_be_null(order_id)",
        "expect_table_columns_to_match_ordered_list#a3cbde8e",
        "expect_table_row_count_to_be_between#eeb4fa92",
    ]
    failing = {r.id for r in service.at_risk(first=100).items}
    assert make_id(Kind.FIELD, "gx://shop_files", "orders", "amount") in failing
    # each version's run is its own result of the shared check
    amount = make_id(
        Kind.CHECK,
        "gx://shop_files",
        "orders",
        "expect_column_values_to_be_between(amount)#f96fb829",
    )
    results = service.store.expand([amount], Direction.DOWNSTREAM, [EdgeKind.HAS_RESULT])
    assert len(results) == 2


def test_a_dataset_given_for_validations_of_several_assets_is_refused(
    two_asset_checkpoint: Any, operator_result: Any
) -> None:
    # it put the results of both assets on the one dataset given
    with pytest.raises(InvalidInput, match="are of different datasets") as refused:
        translate_gx(two_asset_checkpoint, namespace="duckdb://shop", name="shop.main.stg_orders")
    assert "(dataset|gx://shop_files|customers, dataset|gx://shop_files|orders)" in str(
        refused.value
    )
    # without one, each validation's results go on the asset it names
    results = [
        n for n in translate_gx(two_asset_checkpoint).changeset.nodes if n.kind is Kind.RESULT
    ]
    assert sorted(Counter(r.name for r in results).items()) == [("customers", 6), ("orders", 6)]
    # validations that name no dataset may share the one given (the legacy operator
    # result validates one in-memory batch twice); one naming its own and one naming none
    # may not
    assert translate_gx(operator_result, namespace="gx://getest", name="payroll").changeset.nodes
    first = next(iter(operator_result["run_results"].values()))
    first["validation_result"]["meta"]["batch_kwargs"]["table"] = "payroll"
    with pytest.raises(
        InvalidInput, match=r"\(dataset\|gx://getest\|payroll, \(one naming none\)\)"
    ):
        translate_gx(operator_result, namespace="gx://getest", name="payroll")


def test_a_dataset_is_named_by_its_id_or_by_namespace_and_name() -> None:
    assert dataset_named("dataset|pg://x|public.t", None, None) == ("pg://x", "public.t")
    assert dataset_named(None, "pg://x", "public.t") == ("pg://x", "public.t")
    assert dataset_named(None, None, None) == (None, None)
    option = lambda key: f"--{key}"  # noqa: E731
    with pytest.raises(
        InvalidInput, match=r"^give --dataset or --namespace with --name, not both$"
    ):
        dataset_named("dataset|pg://x|t", "pg://x", None, option)
    with pytest.raises(InvalidInput, match=r"^--namespace and --name go together$"):
        dataset_named(None, None, "t", option)
    with pytest.raises(InvalidField, match="is a JOB id, not a dataset id") as wrong:
        dataset_named("job|etl|x", None, None)
    assert wrong.value.field == "dataset"


def test_warns_of_checks_on_a_dataset_or_column_the_store_did_not_know(
    service: LineageService,
) -> None:
    build = SHOP / "build1"
    manifest = json.loads(gzip.decompress((build / "manifest.json.gz").read_bytes()))
    catalog = json.loads((build / "catalog.json").read_text())
    service.apply(translate_dbt(manifest, catalog=catalog).changeset)
    legacy = json.loads((GX1.parent / "gx018_orders" / "checkpoint_result.json").read_text())

    def ingested(name: str) -> list[str]:
        changeset = translate_gx(legacy, namespace="duckdb://shop", name=name).changeset
        warnings = service.unknown_check_targets(changeset)
        service.apply(changeset)
        return warnings

    # a mistyped id made a new dataset without a word
    assert ingested("shop.main.stg_paymnts") == [
        "dataset|duckdb://shop|shop.main.stg_paymnts: no such dataset was stored; it was "
        "created to hold these results (check its id if it should have existed)"
    ]
    # stg_orders has no amount (stg_payments has): the results add it as a field
    orders = make_id(Kind.DATASET, "duckdb://shop", "shop.main.stg_orders")
    columns = lambda: {  # noqa: E731
        h.target for h in service.store.expand([orders], Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
    }
    assert make_id(Kind.FIELD, "duckdb://shop", "shop.main.stg_orders", "amount") not in columns()
    no_amount = [
        f"{orders}: its current schema has no column amount; it is a field only because "
        "check results name it (check the dataset id and the column names)"
    ]
    assert ingested("shop.main.stg_orders") == no_amount
    amount = make_id(Kind.FIELD, "duckdb://shop", "shop.main.stg_orders", "amount")
    assert amount in columns()
    # A replay warns again while the schema does not list the column: the field the
    # results made is no part of it (the warning was given once, then never again). The
    # columns the dbt catalog lists and the results check too are part of it still.
    assert ingested("shop.main.stg_orders") == no_amount
    # a dataset that only results made has no schema to compare with, and is known now
    assert ingested("shop.main.stg_paymnts") == []
    # once a schema lists the column, the results on it are no news
    described = FieldSpec(path="amount", type="DOUBLE")
    now = datetime.now(UTC)
    service.apply(upsert_field("duckdb://shop", "shop.main.stg_orders", described, now))
    assert ingested("shop.main.stg_orders") == []
