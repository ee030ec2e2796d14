"""Every mutation through ``schema.execute``, on both stores: the written state read back
through queries, typed errors for expected failures, and the ``write`` scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lineagegraph import demo
from lineagegraph.api.auth import Principal, Scope
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.service import LineageService
from tests.api_helpers import gql, load_demo, run_graphql

NS = "postgres://warehouse:5432"


def with_ns(text: str) -> str:
    """A GraphQL document with @NS standing for the test namespace."""
    return text.replace("@NS", NS)


def upsert_dataset(service: LineageService, input: dict[str, Any]) -> Any:
    return gql(
        service,
        """mutation($input: DatasetInput!) { upsertDataset(input: $input) {
            __typename
            ... on EntityPayload { node { id ... on Dataset { owners tags
                  schema { path type nullable } fields { id } } } }
            ... on InvalidInputError { message field }
        } }""",
        {"input": input},
    )["upsertDataset"]


def test_upsert_dataset_with_fields_then_replace_the_schema(service: LineageService) -> None:
    first = upsert_dataset(
        service,
        {
            "namespace": NS,
            "name": "public.orders",
            "owners": ["team:oltp", " team:oltp ", "ops@example.com"],
            "tags": ["source"],
            "fields": [
                {"path": "id", "type": "bigint", "nullable": False, "ordinal": 1},
                {"path": "customer", "type": "struct", "ordinal": 2},
                {"path": "customer.zip", "type": "varchar", "ordinal": 3},
                {"path": "note", "type": "text", "ordinal": 4},
            ],
        },
    )
    assert first["__typename"] == "EntityPayload"
    node = first["node"]
    assert node["id"] == "dataset|postgres://warehouse:5432|public.orders"
    assert node["owners"] == ["ops@example.com", "team:oltp"]
    assert node["tags"] == ["source"]
    assert [f["path"] for f in node["schema"]] == ["id", "customer", "customer.zip", "note"]
    # customer.zip hangs under customer (nested), not under the dataset.
    nested = gql(
        service,
        with_ns("""{ entity(kind: FIELD, namespace: "@NS", name: "public.orders",
                            path: "customer.zip") { ... on Field { type dataset { name } } } }"""),
    )["entity"]
    assert nested == {"type": "varchar", "dataset": {"name": "public.orders"}}

    second = upsert_dataset(
        service,
        {
            "namespace": NS,
            "name": "public.orders",
            "replaceFields": True,
            "fields": [{"path": "id", "type": "bigint"}, {"path": "total", "type": "numeric"}],
        },
    )
    assert [f["path"] for f in second["node"]["schema"]] == ["id", "total"]
    # Owners given before are kept: an upsert never erases what it does not mention.
    assert second["node"]["owners"] == ["ops@example.com", "team:oltp"]
    dropped = gql(
        service,
        with_ns("""{ entity(kind: FIELD, namespace: "@NS", name: "public.orders", path: "note")
             { ... on Field { deleted } } }"""),
    )["entity"]
    assert dropped == {"deleted": True}


def test_upsert_dataset_rejects_bad_input_with_the_field_named(service: LineageService) -> None:
    duplicate = upsert_dataset(
        service,
        {"namespace": NS, "name": "t", "fields": [{"path": "a"}, {"path": "a"}]},
    )
    assert duplicate == {
        "__typename": "InvalidInputError",
        "message": "field 'a' is listed twice",
        "field": "fields",
    }
    empty = upsert_dataset(service, {"namespace": " ", "name": "t"})
    assert empty == {
        "__typename": "InvalidInputError",
        "message": "namespace must not be empty",
        "field": "namespace",
    }
    negative = upsert_dataset(
        service, {"namespace": NS, "name": "t", "fields": [{"path": "a", "ordinal": -1}]}
    )
    assert negative["field"] == "fields[0].ordinal"
    # a nested path with an empty part made a field whose parent is named "" (it was taken)
    for path in ("a..b", ".a", "a."):
        hollow = upsert_dataset(service, {"namespace": NS, "name": "t", "fields": [{"path": path}]})
        assert hollow == {
            "__typename": "InvalidInputError",
            "message": f"field path {path!r} has an empty part: write nested fields as a.b",
            "field": "fields[0].path",
        }
    assert gql(service, "{ stats { nodes { key count } } }")["stats"]["nodes"] == []


def test_upsert_field_nested_under_an_existing_parent(service: LineageService) -> None:
    upsert_dataset(service, {"namespace": NS, "name": "t", "fields": [{"path": "a"}]})
    data = gql(
        service,
        with_ns("""mutation { upsertField(input: {namespace: "@NS", name: "t",
                       field: {path: "a.b", type: "int", description: "inner"}}) {
            ... on EntityPayload { node { id ... on Field { path type description } } } } }"""),
    )["upsertField"]
    assert data["node"] == {
        "id": "field|postgres://warehouse:5432|t|a.b",
        "path": "a.b",
        "type": "int",
        "description": "inner",
    }
    paths = gql(
        service,
        with_ns(
            '{ entity(kind: DATASET, namespace: "@NS", name: "t") '
            "{ ... on Dataset { fields { path } } } }"
        ),
    )["entity"]["fields"]
    assert [f["path"] for f in paths] == ["a", "a.b"]


def test_upsert_job_with_column_lineage_creates_what_it_mentions(service: LineageService) -> None:
    src = {"kind": "FIELD", "namespace": NS, "name": "raw", "path": "amount"}
    dst = {"kind": "FIELD", "namespace": NS, "name": "clean", "path": "amount_usd"}
    data = gql(
        service,
        """mutation($input: JobInput!) { upsertJob(input: $input) {
            ... on EntityPayload { node { ... on Job { jobType codeVersion
                inputs { id } outputs { id } } } } } }""",
        {
            "input": {
                "namespace": "airflow://etl",
                "name": "clean",
                "jobType": "BATCH",
                "codeVersion": "abc123",
                "inputs": [{"kind": "DATASET", "namespace": NS, "name": "raw"}],
                "outputs": [{"id": f"dataset|{NS}|clean"}],
                "columnLineage": [
                    {"source": src, "target": dst, "subtype": "transformation", "masking": False}
                ],
            }
        },
    )["upsertJob"]["node"]
    assert data == {
        "jobType": "BATCH",
        "codeVersion": "abc123",
        "inputs": [{"id": "dataset|postgres://warehouse:5432|raw"}],
        "outputs": [{"id": "dataset|postgres://warehouse:5432|clean"}],
    }
    lineage = gql(
        service,
        with_ns("""{ lineage(id: "field|@NS|clean|amount_usd", direction: UPSTREAM,
                             kinds: [FIELD]) {
              nodes { node { id } } edges { kind source attrs current } } }"""),
    )["lineage"]
    assert lineage["nodes"] == [{"node": {"id": "field|postgres://warehouse:5432|raw|amount"}}]
    assert lineage["edges"] == [
        {
            "kind": "DERIVES",
            "source": "API",
            "attrs": {
                "job": "job|airflow://etl|clean",
                "transformation": "DIRECT",
                "subtype": "TRANSFORMATION",
                "masking": False,
            },
            "current": True,
        }
    ]


def test_upsert_job_refuses_a_missing_feature_and_a_field_as_input(
    service: LineageService,
) -> None:
    query = """mutation($input: JobInput!) { upsertJob(input: $input) {
        __typename ... on NotFoundError { message id } ... on InvalidInputError { message field }
    } }"""
    missing = gql(
        service,
        query,
        {"input": {"namespace": "n", "name": "j", "inputs": [{"id": "feature|fs|view:f"}]}},
    )["upsertJob"]
    assert missing == {
        "__typename": "NotFoundError",
        "message": "no entity with id 'feature|fs|view:f'",
        "id": "feature|fs|view:f",
    }
    wrong_kind = gql(
        service,
        query,
        {"input": {"namespace": "n", "name": "j", "outputs": [{"id": "field|n|t|c"}]}},
    )["upsertJob"]
    assert wrong_kind["__typename"] == "InvalidInputError"
    assert wrong_kind["field"] == "outputs[0]"
    assert wrong_kind["message"].startswith("'field|n|t|c' is a FIELD; expected one of")
    bad_ref = gql(
        service,
        query,
        {"input": {"namespace": "n", "name": "j", "inputs": [{"kind": "DATASET", "name": "x"}]}},
    )["upsertJob"]
    assert bad_ref == {
        "__typename": "InvalidInputError",
        "message": "give an id, or a kind, namespace and name",
        "field": "inputs[0]",
    }
    assert gql(service, "{ stats { nodes { count } } }")["stats"]["nodes"] == []


def test_feature_model_deployment_and_check_upserts(service: LineageService) -> None:
    upsert_dataset(service, {"namespace": NS, "name": "t", "fields": [{"path": "x"}]})
    feature = gql(
        service,
        with_ns("""mutation { upsertFeature(input: {namespace: "feast://fs", name: "view:x",
              dtype: "float", computedFrom: [{id: "field|@NS|t|x"}]}) {
            ... on EntityPayload { node { ... on Feature { dtype computedFrom { id } } } } } }"""),
    )["upsertFeature"]["node"]
    assert feature == {"dtype": "float", "computedFrom": [{"id": f"field|{NS}|t|x"}]}
    model = gql(
        service,
        """mutation { upsertModel(input: {namespace: "mlflow://r", name: "m",
              framework: "sklearn", owners: ["ml"]}) {
            ... on EntityPayload { node { id ... on Model { framework owners } } } } }""",
    )["upsertModel"]["node"]
    assert model == {"id": "model|mlflow://r|m", "framework": "sklearn", "owners": ["ml"]}
    deployment = gql(
        service,
        """mutation { upsertDeployment(input: {namespace: "k8s://c", name: "m-prod",
              environment: "production", endpoint: "https://m/predict"}) {
            ... on EntityPayload { node { id ... on Deployment { environment endpoint } } } } }""",
    )["upsertDeployment"]["node"]
    assert deployment == {
        "id": "deployment|k8s://c|m-prod",
        "environment": "production",
        "endpoint": "https://m/predict",
    }
    check = gql(
        service,
        with_ns("""mutation { upsertCheck(input: {namespace: "@NS", name: "t", check: "not_null(x)",
              field: "x", checkType: "not_null", severity: "warn"}) {
            ... on EntityPayload { node { id ... on Check { severity target { id } } } } } }"""),
    )["upsertCheck"]["node"]
    assert check == {
        "id": f"check|{NS}|t|not_null(x)",
        "severity": "WARN",
        "target": {"id": f"field|{NS}|t|x"},
    }
    missing = gql(
        service,
        with_ns("""mutation { upsertCheck(input: {namespace: "@NS", name: "t", check: "c",
                                                field: "nope"}) {
                __typename ... on NotFoundError { id } } }"""),
    )["upsertCheck"]
    assert missing == {"__typename": "NotFoundError", "id": f"field|{NS}|t|nope"}


def test_row_and_byte_counts_past_32_bits_are_longs(service: LineageService) -> None:
    # A warehouse table has more than 2**31 - 1 rows; GraphQL's Int refused them.
    big = {"namespace": NS, "name": "events", "version": "v1", "rowCount": 5_000_000_000}
    query = """mutation($input: DatasetVersionInput!) { upsertDatasetVersion(input: $input) {
        __typename ... on EntityPayload { node { ... on DatasetVersion { rowCount byteCount } } }
        } }"""
    stored = gql(service, query, {"input": {**big, "byteCount": 2**62}})["upsertDatasetVersion"]
    assert stored["node"] == {"rowCount": 5_000_000_000, "byteCount": 2**62}
    literal = with_ns("""mutation { upsertDatasetVersion(input: {namespace: "@NS",
        name: "events", version: "v2", rowCount: 3000000000}) {
        ... on EntityPayload { node { ... on DatasetVersion { rowCount } } } } }""")
    assert gql(service, literal)["upsertDatasetVersion"]["node"] == {"rowCount": 3_000_000_000}
    for wrong, why in ((2**63, "does not fit 64 bits"), (1.5, "not an integer"), ("7", "not")):
        data, errors = run_graphql(service, query, {"input": {**big, "rowCount": wrong}})
        assert data is None and why in errors[0]["message"], errors
    assert service.stats().nodes_by_kind["DATASET_VERSION"] == 2
    # counts sent later keep when the version was created (it moved to now)
    created = """mutation($input: DatasetVersionInput!) { upsertDatasetVersion(input: $input) {
        ... on EntityPayload { node { ... on DatasetVersion { createdAt rowCount } } } } }"""
    first = {
        "namespace": NS,
        "name": "events",
        "version": "v3",
        "createdAt": "2025-01-02T03:04:05Z",
    }
    gql(service, created, {"input": first})
    later = {"namespace": NS, "name": "events", "version": "v3", "rowCount": 12}
    assert gql(service, created, {"input": later})["upsertDatasetVersion"]["node"] == {
        "createdAt": "2025-01-02T03:04:05+00:00",
        "rowCount": 12,
    }


def test_record_run_reads_latest_versions_writes_new_ones_and_ends_old_edges(
    service: LineageService,
) -> None:
    query = """mutation($input: RunInput!) { recordRun(input: $input) {
        __typename ... on EntityPayload { node { ... on Run { runId state codeVersion
            inputs { id } outputs { id ... on DatasetVersion { rowCount schema { path } } }
            job { codeVersion } } } }
        ... on InvalidInputError { message field } } }"""
    gql(
        service,
        with_ns("""mutation { upsertDatasetVersion(input: {namespace: "@NS", name: "raw",
              version: "v7", createdAt: "2026-01-01T00:00:00Z", rowCount: 10}) { __typename } }"""),
    )
    run = gql(
        service,
        query,
        {
            "input": {
                "namespace": "airflow://etl",
                "name": "load",
                "runId": "run-1",
                "state": "COMPLETE",
                "startedAt": "2026-01-02T00:00:00Z",
                "endedAt": "2026-01-02T00:10:00Z",
                "codeVersion": "v2",
                "inputs": [
                    {"entity": {"id": f"dataset|{NS}|raw"}},
                    {"entity": {"id": f"dataset|{NS}|old"}},
                ],
                "outputs": [
                    {
                        "entity": {"id": f"dataset|{NS}|out"},
                        "rowCount": 5,
                        "schema": [{"path": "a", "type": "int"}],
                    }
                ],
            }
        },
    )["recordRun"]["node"]
    assert run == {
        "runId": "run-1",
        "state": "COMPLETE",
        "codeVersion": "v2",
        "inputs": [{"id": f"dataset_version|{NS}|raw|v7"}],
        "outputs": [
            {"id": f"dataset_version|{NS}|out|run-1", "rowCount": 5, "schema": [{"path": "a"}]}
        ],
        "job": {"codeVersion": "v2"},
    }
    # The next complete run no longer reads `old`: that edge stops being current.
    gql(
        service,
        query,
        {
            "input": {
                "namespace": "airflow://etl",
                "name": "load",
                "runId": "run-2",
                "state": "COMPLETE",
                "startedAt": "2026-01-03T00:00:00Z",
                "endedAt": "2026-01-03T00:10:00Z",
                "inputs": [{"entity": {"id": f"dataset|{NS}|raw"}, "version": "v8"}],
                "outputs": [{"entity": {"id": f"dataset|{NS}|out"}}],
            }
        },
    )
    inputs = gql(service, '{ node(id: "job|airflow://etl|load") { ... on Job { inputs { id } } } }')
    assert inputs["node"]["inputs"] == [{"id": f"dataset|{NS}|raw"}]
    backwards = gql(
        service,
        query,
        {
            "input": {
                "namespace": "airflow://etl",
                "name": "load",
                "runId": "run-3",
                "startedAt": "2026-01-03T00:00:00Z",
                "endedAt": "2026-01-02T00:00:00Z",
            }
        },
    )["recordRun"]
    assert backwards == {
        "__typename": "InvalidInputError",
        "message": "an end time must not be before its start time",
        "field": "endedAt",
    }


def test_record_run_refuses_a_negative_row_count(service: LineageService) -> None:
    # upsertDatasetVersion and OpenLineage refused it, but a run wrote it on its version.
    query = """mutation($input: RunInput!) { recordRun(input: $input) {
        __typename ... on InvalidInputError { message field } } }"""
    for side in ("inputs", "outputs"):
        io = {"entity": {"id": f"dataset|{NS}|counted"}, "rowCount": -7}
        run = {"namespace": "airflow://etl", "name": "count", "runId": f"run-{side}"}
        refused = gql(service, query, {"input": {**run, "state": "COMPLETE", side: [io]}})
        assert refused["recordRun"] == {
            "__typename": "InvalidInputError",
            "message": "row_count must not be negative",
            "field": f"{side}[0].rowCount",
        }
    assert gql(service, "{ stats { nodes { count } } }")["stats"]["nodes"] == []


def test_record_run_names_the_entity_of_an_input_or_output_of_the_wrong_kind(
    service: LineageService,
) -> None:
    # The field was inputs[0].id, which RunIOInput does not have, while a malformed id in
    # the same entity was named inputs[0].entity.id.
    query = """mutation($input: RunInput!) { recordRun(input: $input) {
        __typename ... on InvalidInputError { message field } } }"""
    run = {"namespace": "airflow://etl", "name": "kinds", "runId": "r1", "state": "COMPLETE"}
    for side in ("inputs", "outputs"):
        job = {"entity": {"kind": "JOB", "namespace": "airflow://etl", "name": "other"}}
        refused = gql(service, query, {"input": {**run, side: [job]}})["recordRun"]
        assert refused == {
            "__typename": "InvalidInputError",
            "message": "'job|airflow://etl|other' is a JOB; expected one of DATASET, FEATURE, "
            "MODEL_VERSION",
            "field": f"{side}[0].entity",
        }
        garbled = gql(service, query, {"input": {**run, side: [{"entity": {"id": "x"}}]}})
        assert garbled["recordRun"]["field"] == f"{side}[0].entity.id"
    assert gql(service, "{ stats { nodes { count } } }")["stats"]["nodes"] == []


def test_an_empty_key_part_is_named_by_every_mutation(service: LineageService) -> None:
    # These five said "a DATASET key needs a non-empty namespace, name and parts" with
    # field null, where the other mutations name the field.
    load_demo(service)
    before = gql(service, "{ stats { nodes { key count } } }")
    version = {"id": "model_version|mlflow://registry|churn_classifier|3"}
    cases = [
        ("upsertDataset", "DatasetInput", {"namespace": "", "name": "t"}, "namespace"),
        ("upsertDataset", "DatasetInput", {"namespace": "pg", "name": " "}, "name"),
        (
            "upsertDatasetVersion",
            "DatasetVersionInput",
            {"namespace": "pg", "name": "t", "version": ""},
            "version",
        ),
        (
            "recordQualityResult",
            "QualityResultInput",
            {"namespace": "", "name": "t", "check": "c", "passed": True},
            "namespace",
        ),
        (
            "registerModelVersion",
            "ModelVersionInput",
            {"namespace": "mlflow://r", "name": "", "version": "1"},
            "name",
        ),
        (
            "deploy",
            "DeployInput",
            {"namespace": "", "name": "d", "modelVersion": version},
            "namespace",
        ),
    ]
    for mutation, input_type, value, field in cases:
        query = f"""mutation($i: {input_type}!) {{ {mutation}(input: $i) {{
            __typename ... on InvalidInputError {{ message field }} }} }}"""
        refused = gql(service, query, {"i": value})[mutation]
        assert refused == {
            "__typename": "InvalidInputError",
            "message": f"{field} must not be empty",
            "field": field,
        }, mutation
    assert gql(service, "{ stats { nodes { key count } } }") == before


def test_record_quality_result_on_the_latest_version(service: LineageService) -> None:
    load_demo(service)
    query = """mutation($input: QualityResultInput!) { recordQualityResult(input: $input) {
        __typename
        ... on EntityPayload { node { id ... on CheckResult { passed observed
              datasetVersion { version } check { check severity } } } }
        ... on NotFoundError { id } } }"""
    data = gql(
        service,
        query,
        {
            "input": {
                "namespace": demo.SF,
                "name": demo.STG_ORDERS.name,
                "check": "row_count_min",
                "checkType": "row_count",
                "severity": "warn",
                "passed": False,
                "observed": "12",
                "expected": ">= 1000",
                "observedAt": "2026-10-05T06:00:00Z",
                "resultKey": "manual-1",
            }
        },
    )["recordQualityResult"]
    assert data == {
        "__typename": "EntityPayload",
        "node": {
            "id": "result|snowflake://acme|analytics.staging.stg_orders|row_count_min|manual-1",
            "passed": False,
            "observed": "12",
            "datasetVersion": {"version": "day5"},
            "check": {"check": "row_count_min", "severity": "WARN"},
        },
    }
    missing = gql(
        service,
        query,
        {
            "input": {
                "namespace": demo.SF,
                "name": demo.STG_ORDERS.name,
                "check": "c",
                "passed": True,
                "datasetVersion": "day99",
            }
        },
    )["recordQualityResult"]
    assert missing == {
        "__typename": "NotFoundError",
        "id": "dataset_version|snowflake://acme|analytics.staging.stg_orders|day99",
    }


def test_results_at_the_same_time_latest_result_is_the_one_health_goes_by(
    service: LineageService,
) -> None:
    # Two runs of a check stamped with the same time (a dbt run_results copied with its
    # timings, a clock of one-second resolution): the check showed the passing one as its
    # latest result while the dataset's health went by the failing one.
    load_demo(service)
    record = """mutation($input: QualityResultInput!) { recordQualityResult(input: $input) {
        __typename ... on NotFoundError { id } } }"""
    for key, passed in (("run-b", False), ("run-a", True)):
        data = gql(
            service,
            record,
            {
                "input": {
                    "namespace": demo.RAW_PAYMENTS.namespace,
                    "name": demo.RAW_PAYMENTS.name,
                    "check": "row_count_min",
                    "passed": passed,
                    "observedAt": "2026-10-06T06:00:00Z",
                    "resultKey": key,
                }
            },
        )
        assert data["recordQualityResult"] == {"__typename": "EntityPayload"}
    answer = gql(
        service,
        """query($id: ID!) { node(id: $id) { ... on Dataset {
            health { status }
            checks { check latestResult { passed }
                     results(first: 2) { edges { node { passed } } } } } } }""",
        {"id": demo.RAW_PAYMENTS.id},
    )["node"]
    (check,) = [c for c in answer["checks"] if c["check"] == "row_count_min"]
    assert answer["health"]["status"] == "FAILING"
    assert check["latestResult"] == {"passed": False}
    assert [e["node"]["passed"] for e in check["results"]["edges"]] == [False, True]


def test_a_run_naming_a_feature_that_does_not_exist_is_not_found(
    service: LineageService,
) -> None:
    # It was an InvalidInputError quoting the store ("WRITES edge ... does not exist").
    query = """mutation($input: RunInput!) { recordRun(input: $input) { __typename
        ... on NotFoundError { id } } }"""
    feature = "feature|feast://fs|customer:spend"
    for side in ("inputs", "outputs"):
        run = {"namespace": "etl", "name": "features", "runId": f"r-{side}", "state": "COMPLETE"}
        data = gql(service, query, {"input": {**run, side: [{"entity": {"id": feature}}]}})
        assert data["recordRun"] == {"__typename": "NotFoundError", "id": feature}
    assert service.store.stats().nodes == 0  # nothing of the runs was written


def test_a_run_recorded_before_the_version_it_read_arrives_is_linked_to_it(
    service: LineageService,
) -> None:
    # recordRun linked an input without a version to the latest one stored, reported as
    # the API's own: a version that arrived late (the day's load recorded after the
    # report) never took it over, as it does for OpenLineage runs.
    query = """mutation($input: RunInput!) { recordRun(input: $input) { __typename } }"""
    orders, daily = "dataset|pg|orders", "dataset|pg|daily"

    def record(name: str, run_id: str, day: int, hour: int, reads: list[str], writes: str) -> None:
        run = {
            "namespace": "etl",
            "name": name,
            "runId": run_id,
            "state": "COMPLETE",
            "startedAt": f"2024-05-0{day}T{hour:02d}:00:00Z",
            "endedAt": f"2024-05-0{day}T{hour:02d}:10:00Z",
            "inputs": [{"entity": {"id": i}} for i in reads],
            "outputs": [{"entity": {"id": writes}}],
        }
        assert gql(service, query, {"input": run})["recordRun"] == {"__typename": "EntityPayload"}

    record("load", "l1", 1, 1, [], orders)
    record("report", "r2", 2, 2, [orders], daily)
    record("load", "l2", 2, 1, [], orders)  # arrives late
    reads = service.store.edges(["run|etl|report|r2"], Direction.UPSTREAM, [EdgeKind.READ_BY])
    assert [(e.source_id, e.origin.value) for e in reads] == [
        ("dataset_version|pg|orders|l2", "inferred")
    ]


def test_register_model_version_and_deploy_it(service: LineageService) -> None:
    load_demo(service)
    run_id = make_id(
        Kind.RUN, demo.AIRFLOW, "train_churn_classifier", demo.run_id("train_churn_classifier", 5)
    )
    registered = gql(
        service,
        """mutation($input: ModelVersionInput!) { registerModelVersion(input: $input) {
            ... on EntityPayload { node { id ... on ModelVersion { version createdAt
                metrics { name value } trainingRun { id } trainedOn { id } model { name } } } }
        } }""",
        {
            "input": {
                "namespace": demo.MLFLOW,
                "name": "churn_classifier",
                "version": "4",
                "createdAt": "2026-10-06T07:00:00Z",
                "metrics": [{"name": "auc", "value": 0.86}, {"name": "f1", "value": 0.7}],
                "trainingRun": {"id": run_id},
                "trainedOn": [{"id": demo.feature_id("order_count_90d")}],
            }
        },
    )["registerModelVersion"]["node"]
    assert registered == {
        "id": "model_version|mlflow://registry|churn_classifier|4",
        "version": "4",
        "createdAt": "2026-10-06T07:00:00+00:00",
        "metrics": [{"name": "auc", "value": 0.86}, {"name": "f1", "value": 0.7}],
        "trainingRun": {"id": run_id},
        "trainedOn": [{"id": demo.feature_id("order_count_90d")}],
        "model": {"name": "churn_classifier"},
    }
    # Metrics sent later keep the version's creation time (it moved to now, which took
    # the version's training out of root cause's window).
    updated = gql(
        service,
        """mutation($input: ModelVersionInput!) { registerModelVersion(input: $input) {
            ... on EntityPayload { node { ... on ModelVersion { createdAt metrics { name } } } }
        } }""",
        {
            "input": {
                "namespace": demo.MLFLOW,
                "name": "churn_classifier",
                "version": "4",
                "metrics": [{"name": "precision", "value": 0.8}],
            }
        },
    )["registerModelVersion"]["node"]
    assert updated["createdAt"] == "2026-10-06T07:00:00+00:00"
    assert [m["name"] for m in updated["metrics"]] == ["precision"]
    deploy = """mutation($input: DeployInput!) { deploy(input: $input) {
        __typename
        ... on EntityPayload { node { ... on Deployment { servedVersions {
              modelVersionId since current traffic intervals { from until } } } } }
        ... on InvalidInputError { field message } } }"""
    v4 = {
        "kind": "MODEL_VERSION",
        "namespace": demo.MLFLOW,
        "name": "churn_classifier",
        "version": "4",
    }
    # not before the version existed (it was taken, and rewrote what served then)
    early = {"modelVersion": v4, "namespace": demo.SERVING, "name": "churn-production"}
    early["from"] = "2026-10-06T06:00:00Z"
    refused = gql(service, deploy, {"input": early})["deploy"]
    assert refused == {
        "__typename": "InvalidInputError",
        "field": "from",
        "message": "2026-10-06T06:00:00+00:00 is before "
        "model_version|mlflow://registry|churn_classifier|4 was created "
        "(2026-10-06T07:00:00+00:00): it cannot have served then",
    }
    served = gql(
        service,
        deploy,
        {
            "input": {
                "modelVersion": v4,
                "namespace": demo.SERVING,
                "name": "churn-production",
                "from": "2026-10-06T12:00:00Z",
                "traffic": 50,
            }
        },
    )["deploy"]["node"]["servedVersions"]
    assert served == [
        {
            "modelVersionId": "model_version|mlflow://registry|churn_classifier|4",
            "since": "2026-10-06T12:00:00+00:00",
            "current": True,
            "traffic": 50.0,
            "intervals": [{"from": "2026-10-06T12:00:00+00:00", "until": None}],
        }
    ]
    # v3 stopped serving at that time, and its interval says so.
    v3 = gql(
        service,
        """query($id: ID!) { node(id: $id) { ... on ModelVersion {
              now: deployments { deploymentId }
              before: deployments(at: "2026-10-06T11:00:00Z") {
                deploymentId until intervals { from until } } } } }""",
        {"id": demo.CHURN.version_id(3)},
    )["node"]
    assert v3["now"] == [{"deploymentId": demo.deployment_id("churn-staging")}]
    assert v3["before"][0] == {
        "deploymentId": demo.deployment_id("churn-production"),
        "until": "2026-10-06T12:00:00+00:00",
        "intervals": [{"from": "2026-10-05T12:00:00+00:00", "until": "2026-10-06T12:00:00+00:00"}],
    }
    early = gql(
        service,
        deploy,
        {
            "input": {
                "modelVersion": {"id": demo.CHURN.version_id(1)},
                "namespace": demo.SERVING,
                "name": "churn-production",
                "from": "2026-10-01T00:00:00Z",
            }
        },
    )["deploy"]
    assert early["__typename"] == "InvalidInputError"
    assert early["field"] == "from"  # the input field it names


def test_a_rollback_serves_again_without_rewriting_the_past(service: LineageService) -> None:
    # Deploying a version served before replaced its intervals with the new one, and
    # its one edge made it serve through the pause: at 10-06 both v2 and v3 served.
    load_demo(service)
    deploy = """mutation($input: DeployInput!) { deploy(input: $input) {
        ... on InvalidInputError { field message } ... on EntityPayload { node { id } } } }"""
    rollback = {
        "modelVersion": {"id": demo.CHURN.version_id(2)},
        "namespace": demo.SERVING,
        "name": "churn-production",
        "from": "2026-10-07T00:00:00Z",
    }
    gql(service, deploy, {"input": rollback})
    query = """query($id: ID!) { node(id: $id) { ... on Deployment {
        now: servedVersions { modelVersionId }
        paused: servedVersions(at: "2026-10-06T12:00:00Z") { modelVersionId }
        first: servedVersions(at: "2026-10-04T00:00:00Z") { modelVersionId since until }
        servingHistory { modelVersionId current since until intervals { from until } } } } }"""
    data = gql(service, query, {"id": demo.deployment_id("churn-production")})["node"]
    assert data["now"] == [{"modelVersionId": demo.CHURN.version_id(2)}]
    assert data["paused"] == [{"modelVersionId": demo.CHURN.version_id(3)}]
    v2 = next(s for s in data["servingHistory"] if s["modelVersionId"] == demo.CHURN.version_id(2))
    assert v2["current"] is True
    # since and until are those of the serving meant: now the rollback's, then the first
    assert (v2["since"], v2["until"]) == ("2026-10-07T00:00:00+00:00", None)
    assert data["first"] == [
        {
            "modelVersionId": demo.CHURN.version_id(2),
            "since": "2026-10-03T12:00:00+00:00",
            "until": "2026-10-05T12:00:00+00:00",
        }
    ]
    assert v2["intervals"] == [
        {"from": "2026-10-03T12:00:00+00:00", "until": "2026-10-05T12:00:00+00:00"},
        {"from": "2026-10-07T00:00:00+00:00", "until": None},
    ]
    # Lineage as of the pause agrees with servedVersions: v2's one edge was valid then,
    # so lineage listed both v2 and v3 as serving.
    lineage = """query($id: ID!, $at: DateTime, $way: Direction!) {
        lineage(id: $id, direction: $way, depth: 1, asOf: $at) {
            nodes { node { id } } edges { from to kind } } }"""
    model = make_id(Kind.MODEL, demo.MLFLOW, "churn_classifier")
    deployment = demo.deployment_id("churn-production")
    for at, served in [
        ("2026-10-06T12:00:00Z", demo.CHURN.version_id(3)),
        ("2026-10-04T00:00:00Z", demo.CHURN.version_id(2)),
        (None, demo.CHURN.version_id(2)),
    ]:
        up = gql(service, lineage, {"id": deployment, "at": at, "way": "UPSTREAM"})["lineage"]
        assert [n["node"]["id"] for n in up["nodes"]] == [served], at
        assert up["edges"] == [{"from": served, "to": deployment, "kind": "SERVES"}], at
        down = gql(service, lineage, {"id": model, "at": at, "way": "DOWNSTREAM"})["lineage"]
        serving = [e for e in down["edges"] if e["to"] == deployment]
        assert serving == [{"from": served, "to": deployment, "kind": "SERVES"}], at
    # and one that starts in the future is refused, changing nothing
    later = {
        **rollback,
        "modelVersion": {"id": demo.CHURN.version_id(3)},
        "from": "2999-01-01T00:00:00Z",
    }
    refused = gql(service, deploy, {"input": later})["deploy"]
    assert refused["field"] == "from" and "in the future" in refused["message"]
    again = gql(service, query, {"id": demo.deployment_id("churn-production")})["node"]
    assert again == data


def test_a_mutation_is_not_undone_by_an_older_event_that_arrives_after_it(
    service: LineageService,
) -> None:
    # A mutation kept the time of the event before it, so a retried event older than
    # the mutation but newer than that event overwrote what the mutation said.
    def described(time: str, words: str) -> dict[str, Any]:
        return {
            "eventTime": time,
            "producer": "https://example.com/producer",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": {
                "namespace": "pg",
                "name": "t",
                "facets": {"documentation": {"description": words}},
            },
        }

    ingest = """mutation($e: JSON!) { ingestOpenLineage(event: $e) { __typename } }"""
    gql(service, ingest, {"e": described("2024-05-01T10:00:00Z", "from the event")})
    upsert = """mutation { upsertDataset(input: {namespace: "pg", name: "t",
        description: "said by hand"}) { __typename } }"""
    gql(service, upsert)
    gql(service, ingest, {"e": described("2024-05-01T11:00:00Z", "a retried event")})
    assert service.node(make_id(Kind.DATASET, "pg", "t")).attrs["description"] == "said by hand"


def test_ingest_open_lineage_event(service: LineageService, shared_data: Path) -> None:
    event = json.loads((shared_data / "marquez/open_lineage/event_simple.json").read_text())
    query = """mutation($event: JSON!) { ingestOpenLineage(event: $event) {
        __typename ... on IngestPayload { ids } ... on InvalidInputError { message } } }"""
    data = gql(service, query, {"event": event})["ingestOpenLineage"]
    assert data["__typename"] == "IngestPayload"
    assert "job|my-scheduler-namespace|myjob" in data["ids"]
    assert "dataset|my-datasource-namespace|instance.schema.output-1" in data["ids"]
    job = gql(
        service,
        '{ node(id: "job|my-scheduler-namespace|myjob") { ... on Job { inputs { name } } } }',
    )["node"]
    assert job == {
        "inputs": [{"name": "instance.schema.input-1"}, {"name": "instance.schema.input-2"}]
    }
    no_run_id = json.loads(
        (shared_data / "openlineage/proxy_fluentd/event_no_run_id.json").read_text()
    )
    query = query.replace("{ message }", "{ message field }")
    refused = gql(service, query, {"event": no_run_id})["ingestOpenLineage"]
    assert refused["__typename"] == "InvalidInputError"
    assert "runId" in refused["message"]
    assert refused["field"] == "run.runId"  # it was always null
    # the path is the event's own, keys as sent (not made GraphQL names)
    metrics = {"rowCount": 1, "columnMetrics": {"order_id": {"nullCount": "none"}}}
    event["inputs"][0]["inputFacets"] = {"dataQualityMetrics": metrics}
    bad = gql(service, query, {"event": event})["ingestOpenLineage"]
    assert bad["field"] == (
        "inputs[0].inputFacets.dataQualityMetrics.columnMetrics.order_id.nullCount"
    ), bad


def test_ingest_open_lineage_refuses_in_a_literal_what_json_text_could_not_carry(
    service: LineageService,
) -> None:
    # A variable's event is decoded from JSON text, which refuses 1e400 and nesting past
    # 100 levels; an event written into the document was stored with Infinity in it (read
    # back as null) or nested 120 levels deep.
    def literal(facet: str) -> str:
        run = '{runId: "3f5e83fa-3480-44ff-99c5-ff943904e5e8", facets: {acme: FACET}}'
        return (
            '{eventType: "COMPLETE", eventTime: "2026-11-01T00:00:00Z", producer: "p", '
            'run: RUN, job: {namespace: "probe", name: "literal"}}'
        ).replace("RUN", run.replace("FACET", facet))

    def query(event: str) -> str:
        return """mutation { ingestOpenLineage(event: EVENT) {
            __typename ... on InvalidInputError { message field } } }""".replace("EVENT", event)

    huge = gql(service, query(literal("{x: [1, -1e400]}")))["ingestOpenLineage"]
    assert huge == {
        "__typename": "InvalidInputError",
        "message": "run.facets.acme.x[1]: number out of range: no 64-bit float holds it",
        "field": "run.facets.acme.x[1]",
    }
    deep = gql(service, query(literal("{a: " * 120 + "1" + "}" * 120)))["ingestOpenLineage"]
    assert deep == {
        "__typename": "InvalidInputError",
        "message": "JSON nested deeper than 100 levels",
        "field": None,
    }
    assert gql(service, "{ stats { nodes { count } } }")["stats"]["nodes"] == []
    # what JSON text carries is still taken as written
    kept = gql(service, query(literal("{x: 1e300}")))["ingestOpenLineage"]
    assert kept == {"__typename": "IngestPayload"}


def test_delete_entity_with_what_it_contains(service: LineageService) -> None:
    load_demo(service)
    query = """mutation($id: ID!) { deleteEntity(id: $id) { __typename
        ... on DeletePayload { deletedIds } ... on NotFoundError { id }
        ... on InvalidInputError { field } } }"""
    deleted = gql(service, query, {"id": demo.CUSTOMER_LTV.id})["deleteEntity"]["deletedIds"]
    ltv = demo.CUSTOMER_LTV
    check = make_id(Kind.CHECK, ltv.namespace, ltv.name, "non_negative(lifetime_value)")
    assert deleted == sorted(
        [
            ltv.id,
            ltv.field_id("customer_id"),
            ltv.field_id("lifetime_value"),
            check,
            *(
                make_id(
                    Kind.RESULT, ltv.namespace, ltv.name, "non_negative(lifetime_value)", f"day{n}"
                )
                for n in range(1, 6)
            ),
            *(
                make_id(Kind.DATASET_VERSION, ltv.namespace, ltv.name, f"day{n}")
                for n in range(1, 6)
            ),
        ]
    )
    assert gql(service, "query($id: ID!) { node(id: $id) { id } }", {"id": ltv.id})["node"] is None
    job = gql(
        service,
        '{ node(id: "job|dbt://acme-analytics|customer_ltv") { ... on Job { outputs { id } } } }',
    )["node"]
    assert job == {"outputs": []}
    again = gql(service, query, {"id": ltv.id})["deleteEntity"]
    assert again == {"__typename": "NotFoundError", "id": ltv.id}
    malformed = gql(service, query, {"id": "nope"})["deleteEntity"]
    assert malformed == {"__typename": "InvalidInputError", "field": "id"}


def test_mutations_need_the_write_scope(service: LineageService) -> None:
    reader = Principal("token#1", frozenset({Scope.READ}))
    data, errors = run_graphql(
        service,
        'mutation { upsertModel(input: {namespace: "m", name: "x"}) { __typename } }',
        principal=reader,
    )
    assert data is None
    assert errors[0]["message"] == "this operation needs a token with the 'write' scope"
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert gql(service, "{ stats { nodes { count } } }")["stats"]["nodes"] == []
    allowed, errors = run_graphql(service, "{ kinds }", principal=reader)
    assert errors == [] and allowed is not None


def test_a_training_run_creates_the_model_version_it_outputs(service: LineageService) -> None:
    # Naming a model version that was not registered yet as a run's output was refused
    # (NotFound), and registering it with its training run first was refused too.
    run = """mutation($i: RunInput!) { recordRun(input: $i) { __typename
        ... on EntityPayload { node { ... on Run { outputs { id ... on ModelVersion {
            createdAt trainingRun { id } model { id } } } } } }
        ... on InvalidInputError { message field } } }"""
    version = {"kind": "MODEL_VERSION", "namespace": "mlflow://r", "name": "m", "version": "1"}
    train = {"namespace": "af", "name": "train", "runId": "tr-1", "outputs": [{"entity": version}]}
    train |= {"startedAt": "2025-05-01T03:00:00Z"}
    started = gql(service, run, {"i": {**train, "state": "START"}})["recordRun"]
    assert started["__typename"] == "InvalidInputError"
    assert started["field"] == "outputs[0].entity"  # RunIOInput has no id (it said .id)
    assert "a COMPLETE run creates the model versions it outputs" in started["message"]
    assert "registerModelVersion" in started["message"]
    done = {**train, "state": "COMPLETE", "endedAt": "2025-05-01T04:00:00Z"}
    written = gql(service, run, {"i": done})["recordRun"]["node"]
    assert written["outputs"] == [
        {
            "id": "model_version|mlflow://r|m|1",
            "createdAt": "2025-05-01T04:00:00+00:00",
            "trainingRun": {"id": "run|af|train|tr-1"},
            "model": {"id": "model|mlflow://r|m"},
        }
    ]
    # Metrics registered after the run keep the version's creation and training run.
    register = """mutation($i: ModelVersionInput!) { registerModelVersion(input: $i) {
        __typename ... on EntityPayload { node { ... on ModelVersion { createdAt
            trainingRun { id } metrics { name } } } }
        ... on InvalidInputError { message field } } }"""
    metrics = {"namespace": "mlflow://r", "name": "m", "version": "1"}
    metrics |= {"metrics": [{"name": "auc", "value": 0.8}]}
    assert gql(service, register, {"i": metrics})["registerModelVersion"]["node"] == {
        "createdAt": "2025-05-01T04:00:00+00:00",
        "trainingRun": {"id": "run|af|train|tr-1"},
        "metrics": [{"name": "auc"}],
    }
    # A version registered before its run: naming a run not recorded yet says what to do.
    early = {"namespace": "mlflow://r", "name": "m", "version": "2"}
    early |= {"trainingRun": {"kind": "RUN", "namespace": "af", "name": "train", "runId": "tr-2"}}
    refused = gql(service, register, {"i": early})["registerModelVersion"]
    assert refused["__typename"] == "InvalidInputError"
    assert refused["field"] == "trainingRun"
    assert "record the training run first with recordRun" in refused["message"]
    # Registered without it, the run recorded after links them.
    del early["trainingRun"]
    assert gql(service, register, {"i": early})["registerModelVersion"]["__typename"] == (
        "EntityPayload"
    )
    second = {**done, "runId": "tr-2", "outputs": [{"entity": {**version, "version": "2"}}]}
    second |= {"startedAt": "2025-05-02T03:00:00Z", "endedAt": "2025-05-02T04:00:00Z"}
    linked = gql(service, run, {"i": second})["recordRun"]["node"]["outputs"][0]
    assert linked["trainingRun"] == {"id": "run|af|train|tr-2"}


def test_a_run_recorded_reading_a_feature_reads_the_data_behind_it(
    service: LineageService,
) -> None:
    # recordRun linked a feature read to nothing: a model trained on a feature view of bad
    # data stayed OK, and its provenance listed no data (OpenLineage runs were linked).
    run = """mutation($i: RunInput!) { recordRun(input: $i) { __typename } }"""
    gql(
        service,
        """mutation { upsertDataset(input: {namespace: "pg://db", name: "raw.events",
            fields: [{path: "a", type: "int"}]}) { __typename } }""",
    )
    gql(
        service,
        """mutation { upsertFeature(input: {namespace: "feast://fs", name: "view:fa",
            computedFrom: [{kind: FIELD, namespace: "pg://db", name: "raw.events", path: "a"}]})
            { __typename } }""",
    )
    feature = {"kind": "FEATURE", "namespace": "feast://fs", "name": "view:fa"}
    raw = {"kind": "DATASET", "namespace": "pg://db", "name": "raw.events"}
    ingest = {"namespace": "af", "name": "ingest", "runId": "ing-1", "state": "COMPLETE"}
    ingest |= {"startedAt": "2025-05-01T01:00:00Z", "endedAt": "2025-05-01T01:10:00Z"}
    ingest["outputs"] = [{"entity": raw, "version": "r1"}]
    gql(service, run, {"i": ingest})
    model = {"kind": "MODEL_VERSION", "namespace": "mlflow://r", "name": "m", "version": "1"}
    gql(
        service,
        """mutation($i: ModelVersionInput!) { registerModelVersion(input: $i) { __typename } }""",
        {"i": {"namespace": "mlflow://r", "name": "m", "version": "1", "trainedOn": [feature]}},
    )
    train = {"namespace": "af", "name": "train", "runId": "tr-1", "state": "COMPLETE"}
    train |= {"startedAt": "2025-05-01T03:00:00Z", "endedAt": "2025-05-01T04:00:00Z"}
    train |= {"inputs": [{"entity": feature}], "outputs": [{"entity": model}]}
    assert gql(service, run, {"i": train})["recordRun"]["__typename"] == "EntityPayload"
    version = make_id(Kind.MODEL_VERSION, "mlflow://r", "m", "1")
    raw_r1 = make_id(Kind.DATASET_VERSION, "pg://db", "raw.events", "r1")
    query = f'{{ provenance(id: "{version}") {{ versions {{ id }} }} }}'
    assert {"id": raw_r1} in gql(service, query)["provenance"]["versions"]
    failed = gql(
        service,
        """mutation { recordQualityResult(input: {namespace: "pg://db", name: "raw.events",
            check: "not_null(a)", field: "a", passed: false, severity: "error",
            observedAt: "2025-05-01T01:20:00Z", datasetVersion: "r1", resultKey: "d1"})
            { __typename } }""",
    )
    assert failed["recordQualityResult"]["__typename"] == "EntityPayload"
    health = gql(service, f'{{ health(id: "{version}") {{ status reasons {{ precision }} }} }}')
    assert health["health"]["status"] == "AT_RISK"
    assert {r["precision"] for r in health["health"]["reasons"]} == {"CONFIRMED"}


def test_a_reference_or_delete_by_an_id_written_another_way_names_the_stored_entity(
    service: LineageService,
) -> None:
    # the kind in upper case and `|` escaped as %7c parse to the key of the id shown everywhere
    upsert_dataset(service, {"namespace": NS, "name": "a|b"})
    written = f"DATASET|{NS}|a%7cb"
    data = gql(
        service,
        """mutation($input: JobInput!) { upsertJob(input: $input) {
            __typename ... on EntityPayload { node { ... on Job { inputs { id } } } } } }""",
        {"input": {"namespace": "airflow://etl", "name": "reads_ab", "inputs": [{"id": written}]}},
    )
    assert data["upsertJob"] == {
        "__typename": "EntityPayload",
        "node": {"inputs": [{"id": f"dataset|{NS}|a%7Cb"}]},
    }
    data = gql(
        service,
        "mutation($id: ID!) { deleteEntity(id: $id) { __typename"
        " ... on DeletePayload { deletedIds } } }",
        {"id": written},
    )
    assert data["deleteEntity"] == {
        "__typename": "DeletePayload",
        "deletedIds": [f"dataset|{NS}|a%7Cb"],
    }
