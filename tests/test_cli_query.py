"""The query commands, against a local store and against a running server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner, Result

from lineagegraph import demo
from lineagegraph.cli.client import GraphQLClient
from lineagegraph.cli.main import main
from lineagegraph.cli.query import EXIT_BREAKING, _fails, _proposed_fields, resolve_reference
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, short_name
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from tests.api_helpers import RunningServer, load_demo, running_server


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding the demo scenario."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'lineage.db'}"
    service = load_demo(LineageService(open_store(url)))
    service.close()
    return url


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    service = load_demo(LineageService(open_store("memory://")))
    settings = Settings(store="memory://", tokens="cli-reader:read")
    with running_server(service, settings) as running:
        yield running
    service.close()


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_lineage_table_names_the_nodes_and_the_bound(store_url: str) -> None:
    result = invoke("lineage", "analytics.staging.stg_orders", "--depth", "2", "--store", store_url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "downstream lineage of analytics.staging.stg_orders" in out
    # a field's lineage names the field, not its table
    field = invoke(
        "lineage", "analytics.staging.stg_payments.amount", "--both", "--store", store_url
    )
    assert field.exit_code == 0, field.output
    assert "lineage up and downstream of analytics.staging.stg_payments.amount" in field.output
    for name in ("customer_ltv", "customer_orders", "analytics.marts.customer_ltv"):
        assert name in out
    assert "truncated: the traversal hit the depth bound" in out


def test_lineage_json_by_id_and_by_kind_prefix(store_url: str) -> None:
    by_id = invoke(
        "lineage",
        demo.deployment_id("churn-production"),
        "--upstream",
        "--kind",
        "model_version",
        "--json",
        "--store",
        store_url,
    )
    assert by_id.exit_code == 0, by_id.output
    data = json.loads(by_id.output)
    assert [n["node"]["id"] for n in data["nodes"]] == [demo.CHURN.version_id(3)]
    by_name = invoke(
        "lineage",
        "deployment:churn-production",
        "--upstream",
        "--kind",
        "MODEL_VERSION",
        "--json",
        "--store",
        store_url,
    )
    assert json.loads(by_name.output) == data


def test_lineage_as_of_and_column_level(store_url: str) -> None:
    result = invoke(
        "lineage",
        "analytics.staging.stg_payments.amount",
        "--upstream",
        "--kind",
        "FIELD",
        "--as-of",
        "2026-10-02T12:00:00Z",
        "--json",
        "--store",
        store_url,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["columnLevel"] is True
    assert [n["node"]["id"] for n in data["nodes"]] == [demo.RAW_PAYMENTS.field_id("amount")]
    # the table says which time it shows, in UTC whatever offset was typed
    table = invoke(
        "lineage",
        "analytics.staging.stg_payments.amount",
        "--upstream",
        "--as-of",
        "2026-10-02T14:00:00+02:00",
        "--store",
        store_url,
    )
    assert table.exit_code == 0, table.output
    heading = f"Lineage of `{demo.STG_PAYMENTS.field_id('amount')}`"
    lines = " ".join(table.output.split())  # the table wraps long lines
    assert lines.startswith(f"{heading} as of 2026-10-02T12:00:00+00:00 upstream lineage of")
    now = invoke("lineage", "analytics.staging.stg_payments.amount", "--store", store_url)
    assert now.output.startswith(f"{heading}\n")


def test_ambiguous_and_unknown_references_are_clear_errors(store_url: str) -> None:
    missing = invoke("lineage", "no_such_table", "--store", store_url)
    assert missing.exit_code == 1
    assert "nothing is named 'no_such_table'" in missing.output
    # A field where a dataset is asked for was "nothing is named ...", though it exists.
    field = "analytics.staging.stg_payments.amount"
    wrong_kind = invoke("impact", field, "--drop", "x", "--store", store_url)
    assert wrong_kind.exit_code == 1
    assert (
        f"'{field}' names a field, not a dataset: "
        "field|snowflake://acme|analytics.staging.stg_payments|amount"
    ) in wrong_kind.output
    # a name typed in other case (Snowflake folds unquoted names) was "nothing is named"
    shouted = invoke("lineage", "ANALYTICS.STAGING.STG_ORDERS", "--store", store_url)
    assert shouted.exit_code == 1
    assert (
        "nothing is named 'ANALYTICS.STAGING.STG_ORDERS'; in other case: "
        "dataset|snowflake://acme|analytics.staging.stg_orders"
    ) in shouted.output
    bad_time = invoke("lineage", "stg_orders", "--as-of", "noon", "--store", store_url)
    assert bad_time.exit_code == 2
    assert "not an ISO-8601 time: 'noon'" in bad_time.output
    # a depth past GraphQL's Int was the server's refusal, exit code 1, not a usage error
    deep = invoke("lineage", "stg_orders", "--depth", "100000000000", "--store", store_url)
    assert deep.exit_code == 2, deep.output
    assert "Invalid value for '--depth'" in deep.output
    deepest = invoke("lineage", "stg_orders", "--depth", str(2**31 - 1), "--store", store_url)
    assert deepest.exit_code == 0, deepest.output


def test_a_name_of_another_kind_is_found_past_the_first_page() -> None:
    # The hint looked at the first page of hits only: a field behind 200 datasets whose
    # names hold the same words was "nothing is named ...".
    field = "field|pg|t.amount|x"
    datasets = [f"dataset|pg|t.amount.x{k}" for k in range(200)]

    class Pages:
        def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            hits = [] if variables["kinds"] else [*datasets, field]
            start = int(variables["after"] or 0)
            page = hits[start : start + 200]
            edges = [{"node": {"id": i, "kind": "", "name": "", "label": ""}} for i in page]
            more = start + 200 < len(hits)
            info = {"hasNextPage": more, "endCursor": str(start + 200)}
            return {"search": {"edges": edges, "pageInfo": info}}

    with pytest.raises(InvalidInput, match=r"'t\.amount\.x' names a field, not a dataset"):
        resolve_reference(cast(GraphQLClient, Pages()), "t.amount.x", Kind.DATASET)


def test_impact_gates_ci_on_breaking_changes(store_url: str) -> None:
    breaking = invoke(
        "impact",
        "analytics.staging.stg_payments",
        "--rename",
        "amount=amount_usd",
        "--fail-on",
        "breaking",
        "--markdown",
        "--store",
        store_url,
    )
    # apart from errors (1) and usage errors (2), which a gate must not take for breaking
    assert breaking.exit_code == EXIT_BREAKING == 3
    assert breaking.output.startswith("## Schema change impact:")
    assert "| 1 | rename amount -> amount_usd | BREAKING |" in breaking.output
    widening = invoke(
        "impact",
        "analytics.staging.stg_payments",
        "--retype",
        "amount=number(18,2)",
        "--fail-on",
        "breaking",
        "--json",
        "--store",
        store_url,
    )
    assert widening.exit_code == 0, widening.output
    report = json.loads(widening.output)
    assert report["breaking"] is False
    assert report["changes"][0]["compatibility"] == "NON_BREAKING"
    report_only = invoke(
        "impact", "analytics.staging.stg_payments", "--drop", "amount", "--store", store_url
    )
    assert report_only.exit_code == 0
    assert "BREAKING" in report_only.output and "owners to notify" in report_only.output


def test_impact_gates_only_on_what_a_breaking_change_reaches(store_url: str) -> None:
    # payment_id has no known consumers: "--fail-on breaking" fails the build all the same,
    # and a team gating on what breaks downstream had no way to say so.
    def gate(field: str, fail_on: str) -> int:
        result = invoke(
            "impact", "analytics.staging.stg_payments", "--drop", field,
            "--fail-on", fail_on, "--json", "--store", store_url,
        )  # fmt: skip
        assert result.exit_code in (0, EXIT_BREAKING), result.output
        return result.exit_code

    assert [gate("payment_id", g) for g in ("breaking", "consumers", "deployments")] == [3, 0, 0]
    assert [gate("amount", g) for g in ("breaking", "consumers", "deployments")] == [3, 3, 3]


@pytest.mark.parametrize(
    ("affected", "truncated", "expected"),
    [
        ([], False, {"breaking": True, "consumers": False, "deployments": False}),
        ([("JOB", False)], False, {"breaking": True, "consumers": False, "deployments": False}),
        ([("JOB", True)], False, {"breaking": True, "consumers": True, "deployments": False}),
        ([("DEPLOYMENT", True)], False, {"breaking": True, "consumers": True, "deployments": True}),
        ([], True, {"breaking": True, "consumers": True, "deployments": True}),
    ],
)
def test_fail_on_reads_the_breaking_consumers_of_the_report(
    affected: list[tuple[str, bool]], truncated: bool, expected: dict[str, bool]
) -> None:
    report = {
        "breaking": True,
        "truncated": truncated,
        "schemaRecorded": True,
        "affected": [{"kind": kind, "breaking": breaking} for kind, breaking in affected],
    }
    assert {gate: _fails(gate, report) for gate in expected} == expected
    assert not _fails("never", report)
    assert not any(_fails(gate, {**report, "breaking": False}) for gate in expected)
    # a proposed schema diffed against no recorded fields proves nothing: it read as
    # NON_BREAKING and every gate passed
    unknown = {**report, "breaking": False, "schemaRecorded": False}
    assert all(_fails(gate, unknown) for gate in expected)
    assert not _fails("never", unknown)


def test_proposed_schema_files_in_dbt_and_openlineage_shapes(
    store_url: str, tmp_path: Path
) -> None:
    # dbt's data_type was ignored, so a narrowing retype passed the gate; nested
    # OpenLineage fields were dropped, so an unchanged nested schema "broke".
    columns = [
        {"name": "payment_id", "data_type": "number", "constraints": [{"type": "not_null"}]},
        {"name": "order_id", "data_type": "number", "constraints": [{"type": "not_null"}]},
        {"name": "payment_method", "data_type": "varchar", "description": "card or cash"},
        {"name": "amount", "data_type": "number(8,2)", "constraints": [{"type": "not_null"}]},
    ]
    proposed = tmp_path / "contract.json"
    proposed.write_text(json.dumps(columns))
    result = invoke(
        "impact", "analytics.staging.stg_payments", "--schema", str(proposed), "--json",
        "--fail-on", "breaking", "--store", store_url,
    )  # fmt: skip
    assert result.exit_code == EXIT_BREAKING, result.output
    descriptions = [c["description"] for c in json.loads(result.output)["changes"]]
    assert descriptions == ["change amount (type number(8,2))"]  # nullable unsaid: unchanged
    proposed.write_text(json.dumps([{"name": "amount", "datatype": "number"}]))
    refused = invoke(
        "impact", "analytics.staging.stg_payments", "--schema", str(proposed), "--store", store_url
    )
    assert refused.exit_code == 2
    assert "field 0: unknown key 'datatype'" in refused.output
    # a usage error too, not a GraphQL one (exit 1) nor a drop of everything (exit 3)
    for content, message in (
        ([{"name": "amount", "data_type": 8}], "field 0: the type is not text"),
        ([{"name": "amount", "nullable": "yes"}], "field 0: nullable is not true or false"),
        ([{"name": "amount", "constraints": "not_null"}], "field 0.constraints is not a list"),
        ([], "the proposed schema lists no fields"),
    ):
        proposed.write_text(json.dumps(content))
        bad = invoke(
            "impact",
            "analytics.staging.stg_payments",
            "--schema",
            str(proposed),
            "--store",
            store_url,
        )
        assert bad.exit_code == 2 and message in bad.output, bad.output
    nested = {"fields": [{"name": "address", "type": "struct", "fields": [{"name": "zip"}]}]}
    assert _proposed_fields(nested["fields"], "") == [
        {"path": "address", "type": "struct", "nullable": None},
        {"path": "address.zip", "type": None, "nullable": None},
    ]


def test_impact_json_says_which_change_reaches_each_consumer(store_url: str) -> None:
    # --json left out each consumer's changes and a partial table's fields, and each
    # change's action, path, field and old type: with two changes a program could not
    # tell which one reached a consumer, though the Markdown and GraphQL said so.
    args = ["--drop", "payment_method", "--retype", "amount=number(18,2)"]
    result = invoke(
        "impact", "analytics.staging.stg_payments", *args, "--json", "--store", store_url
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    service = LineageService(open_store(store_url))
    try:
        expected = service.impact(
            {
                "dataset_id": "dataset|snowflake://acme|analytics.staging.stg_payments",
                "changes": [
                    {"action": "DROP_FIELD", "path": "payment_method"},
                    {"action": "CHANGE_TYPE", "path": "amount", "new_type": "number(18,2)"},
                ],
            }
        )
    finally:
        service.close()
    assert [
        (c["action"], c["path"], c["newType"], c["fieldId"], c["oldType"])
        for c in report["changes"]
    ] == [
        (c.change.action.value, c.change.path, c.change.new_type, c.field_id, c.old_type)
        for c in expected.changes
    ]
    assert [(a["id"], a["changes"], a["fields"]) for a in report["affected"]] == [
        (a.id, list(a.changes), list(a.fields)) for a in expected.affected
    ]
    assert {tuple(a["changes"]) for a in report["affected"]} >= {(1,), (2,)}
    assert any(a["partial"] and a["fields"] for a in report["affected"])


def test_a_change_option_without_its_value_shows_its_own_form(store_url: str) -> None:
    # Every option was told FIELD=VALUE, though --help says FIELD=TYPE and FIELD=NEW.
    for option, form in (
        ("--retype", "FIELD=TYPE"),
        ("--add", "FIELD=TYPE"),
        ("--rename", "FIELD=NEW"),
    ):
        result = CliRunner().invoke(
            main, ["impact", "stg_payments", option, "amount", "--store", store_url]
        )
        assert result.exit_code == 2
        assert f"write {option} {form}, got 'amount'" in result.output
    # An empty name or type (an unset variable in CI) is a usage error too, not exit 1
    for args in (["--drop", ""], ["--drop", " "], ["--retype", "amount= "], ["--add", " =int"]):
        result = CliRunner().invoke(main, ["impact", "stg_payments", *args, "--store", store_url])
        assert result.exit_code == 2, result.output
        assert f"Invalid value for {args[0]}: write {args[0]} " in result.output


def test_impact_of_a_proposed_schema_file(store_url: str, tmp_path: Path) -> None:
    proposed = tmp_path / "schema.json"
    proposed.write_text(
        json.dumps(
            [
                {"path": "payment_id", "type": "number"},
                {"path": "order_id", "type": "number"},
                {"path": "payment_method", "type": "varchar"},
            ]
        )
    )
    result = invoke(
        "impact",
        "dataset:analytics.staging.stg_payments",
        "--schema",
        str(proposed),
        "--json",
        "--fail-on",
        "breaking",
        "--store",
        store_url,
    )
    assert result.exit_code == EXIT_BREAKING
    report = json.loads(result.output)
    assert [c["description"] for c in report["changes"]] == ["drop amount"]
    neither = invoke("impact", "analytics.staging.stg_payments", "--store", store_url)
    assert neither.exit_code == 2
    assert "give changes" in neither.output
    # a path listed twice is a fault of the file, a usage error (the server refused it: 1)
    proposed.write_text(json.dumps([{"name": "amount"}, {"path": "amount", "type": "int"}]))
    twice = invoke(
        "impact", "analytics.staging.stg_payments", "--schema", str(proposed), "--store", store_url
    )
    assert twice.exit_code == 2, twice.output
    assert "lists 'amount' more than once" in twice.output


def test_search_with_filters(store_url: str) -> None:
    result = invoke("search", "--tag", "pii", "--json", "--store", store_url)
    assert result.exit_code == 0
    assert [e["node"]["name"] for e in json.loads(result.output)["edges"]] == [
        "shop.public.customers",
        "analytics.staging.stg_customers",
    ]
    table = invoke("search", "--kind", "MODEL", "--store", store_url)
    assert "churn_classifier" in table.output and "ltv_regressor" in table.output
    # past the first page: the table names the cursor, and --after takes it
    everything = json.loads(
        invoke("search", "--first", "1000", "--json", "--store", store_url).output
    )["edges"]
    first = invoke("search", "--first", "3", "--store", store_url).output
    cursor = re.search(r"--after (\S+)\)", " ".join(first.split()))
    assert cursor is not None, first
    rest = invoke(
        "search", "--after", cursor.group(1), "--first", "1000", "--json", "--store", store_url
    )
    ids = [e["node"]["id"] for e in everything]
    assert [e["node"]["id"] for e in json.loads(rest.output)["edges"]] == ids[3:]
    # --json is the GraphQL answer, with the cursor a program pages on (it was a bare list)
    page = json.loads(invoke("search", "--first", "3", "--json", "--store", store_url).output)
    assert page["pageInfo"] == {"hasNextPage": True, "endCursor": cursor.group(1)}


def test_markdown_sections(store_url: str) -> None:
    result = invoke("search", "--namespace", "k8s://ml-serving", "--markdown", "--store", store_url)
    assert result.exit_code == 0
    assert "| kind | namespace | name | id |" in result.output
    assert (
        "| DEPLOYMENT | k8s://ml-serving | churn-production | "
        "deployment\\|k8s://ml-serving\\|churn-production |"
    ) in result.output


def test_against_a_server_with_a_token(server: RunningServer) -> None:
    result = invoke(
        "lineage",
        "analytics.staging.stg_orders",
        "--depth",
        "1",
        "--json",
        "--server",
        server.url,
        "--token",
        "cli-reader",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totalCount"] == 2
    refused = invoke("search", "--server", server.url, "--token", "wrong")
    assert refused.exit_code == 1
    assert "unknown bearer token" in refused.output
    assert "(give the token with --token or LINEAGEGRAPH_TOKEN)" in refused.output
    missing = invoke("search", "--server", server.url)
    assert missing.exit_code == 1
    assert "needs a bearer token" in missing.output and "--token" in missing.output
    both = invoke(
        "lineage",
        "stg_orders",
        "--both",
        "--depth",
        "1",
        "--server",
        server.url,
        "--token",
        "cli-reader",
    )
    assert "lineage up and downstream of" in both.output  # it said "both lineage of"
    unreachable = invoke("search", "--server", "http://127.0.0.1:9")
    assert unreachable.exit_code == 1
    assert "cannot reach http://127.0.0.1:9/graphql" in unreachable.output
    # stats too asks the server, with the counts a local store gives
    counted = invoke("stats", "--json", "--server", server.url, "--token", "cli-reader")
    assert counted.exit_code == 0, counted.output
    counts = json.loads(counted.output)
    assert counts["store"] == "memory://"
    assert counts["nodes"]["DATASET"] == 9
    assert counts["edges"]["DERIVES"] == 24
    assert sorted(counts["health"]) == ["AT_RISK", "FAILING"]
    assert counts["health"]["FAILING"] == 2


def test_at_risk_health_and_cascade(store_url: str) -> None:
    at_risk = invoke("at-risk", "--kind", "DEPLOYMENT", "--json", "--store", store_url)
    assert at_risk.exit_code == 0, at_risk.output
    deployments = [
        demo.deployment_id("churn-production"),
        demo.deployment_id("churn-staging"),
        demo.deployment_id("ltv-staging"),
    ]
    assert [e["node"]["id"] for e in json.loads(at_risk.output)["edges"]] == deployments
    # pages: at-risk had no --after, so past 1000 entities the rest were out of reach
    first = invoke("at-risk", "--kind", "DEPLOYMENT", "--first", "2", "--store", store_url)
    cursor = re.search(r"--after (\S+)\)", " ".join(first.output.split()))
    assert cursor is not None, first.output
    rest = invoke(
        "at-risk",
        "--kind",
        "DEPLOYMENT",
        "--after",
        cursor.group(1),
        "--json",
        "--store",
        store_url,
    )
    answer = json.loads(rest.output)
    assert [e["node"]["id"] for e in answer["edges"]] == deployments[2:]
    assert answer["pageInfo"]["hasNextPage"] is False
    health = invoke("health", "churn_classifier@2", "--store", store_url)
    assert health.exit_code == 0
    assert "model version churn_classifier@2: OK" in health.output
    # a job named like a table's last part says it is the job
    job = invoke("health", "stg_orders", "--store", store_url)
    assert "job stg_orders: " in job.output
    failing = invoke(
        "health", "analytics.staging.stg_orders.customer_id", "--json", "--store", store_url
    )
    assert json.loads(failing.output)["status"] == "FAILING"
    # a field is named as references write it (table.column); it was table@column, like
    # a version. The check is named as search lists it, so it can be looked up by that name.
    table = invoke("health", "analytics.staging.stg_orders", "--json", "--store", store_url)
    check = "analytics.staging.stg_orders@not_null(customer_id)"
    assert [r["message"] for r in json.loads(table.output)["reasons"]] == [
        f"{check} on field analytics.staging.stg_orders.customer_id failed (412 null values)"
    ]
    found = invoke(
        "search", "not_null customer_id", "--kind", "CHECK", "--json", "--store", store_url
    )
    assert [short_name(e["node"]["id"]) for e in json.loads(found.output)["edges"]] == [check]
    assert invoke("health", check, "--store", store_url).output.startswith(f"check {check}: ")
    result = "analytics.staging.stg_orders@not_null(customer_id)@day5"
    cascade = invoke("cascade", result, "--json", "--store", store_url)
    assert cascade.exit_code == 0, cascade.output
    data = json.loads(cascade.output)
    assert data["passed"] is False and data["latest"] is True
    assert demo.CHURN.version_id(3) in {a["id"] for a in data["atRisk"]}


def test_at_risk_says_when_an_entity_has_more_reasons_and_json_gives_their_kind(
    tmp_path: Path,
) -> None:
    # Two checks fail on the table a job reads: the table it writes is at risk for both.
    # The table showed the first reason only, so fixing one looked like fixing it all.
    url = f"sqlite://{tmp_path / 'two.db'}"
    failing = [
        {"assertion": "row_count", "success": False},
        {"assertion": "freshness", "success": False},
    ]
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.com/producer",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"},
        "job": {"namespace": "etl", "name": "clean"},
        "inputs": [
            {
                "namespace": "pg",
                "name": "raw",
                "inputFacets": {"dataQualityAssertions": {"assertions": failing}},
            }
        ],
        "outputs": [{"namespace": "pg", "name": "clean"}],
    }
    events = tmp_path / "events.json"
    events.write_text(json.dumps(event))
    assert invoke("ingest", "openlineage", str(events), "--store", url).exit_code == 0
    table = invoke("at-risk", "--kind", "DATASET", "--store", url)
    assert table.exit_code == 0, table.output
    [clean] = [line for line in table.output.splitlines() if "AT_RISK" in line]
    assert "(+1 more: see health)" in clean
    answer = json.loads(invoke("at-risk", "--kind", "DATASET", "--json", "--store", url).output)
    reasons = {e["node"]["id"]: e["node"]["reasons"] for e in answer["edges"]}
    assert [r["kind"] for r in reasons["dataset|pg|clean"]] == ["DESIGN_LINEAGE"] * 2
    health = json.loads(invoke("health", "dataset|pg|clean", "--json", "--store", url).output)
    assert [r["kind"] for r in health["reasons"]] == ["DESIGN_LINEAGE"] * 2
    result = health["reasons"][0]["resultId"]
    cascade = json.loads(invoke("cascade", result, "--json", "--store", url).output)
    assert {a["id"]: a["reasonKind"] for a in cascade["atRisk"]}["dataset|pg|clean"] == (
        "DESIGN_LINEAGE"
    )


def test_provenance_diff_and_root_cause(store_url: str) -> None:
    provenance = invoke("provenance", "churn_classifier@3", "--json", "--store", store_url)
    assert provenance.exit_code == 0, provenance.output
    assert json.loads(provenance.output)["roots"] == [demo.CHURN.version_id(3)]
    # the table: nearest first, with the code each job ran and the features used
    table = invoke("provenance", "churn_classifier@3", "--markdown", "--store", store_url)
    assert table.exit_code == 0, table.output
    versions = re.findall(r"^\| (\d) \| (?:DATASET|MODEL)_VERSION \|", table.output, re.M)
    assert versions == sorted(versions) and versions[0] == "0"
    assert "| stg_payments | v2 | git@github.com:acme/analytics.git#models/stg_payments.sql |" in (
        table.output
    )
    assert "| customer_features:order_count_90d | churn_classifier@3 |" in table.output
    diff = invoke(
        "diff", "churn_classifier@2", "churn_classifier@3", "--markdown", "--store", store_url
    )
    assert diff.exit_code == 0, diff.output
    assert "| NEW_FAILURE | analytics.staging.stg_orders@not_null(customer_id) | yes | no |" in (
        diff.output
    )
    cause = invoke("root-cause", "deployment:churn-production", "--store", store_url)
    assert cause.exit_code == 0, cause.output
    assert "Root cause for churn_classifier@3 (baseline churn_classifier@2)" in cause.output
    assert "FAILED_CHECK" in cause.output


def test_a_typed_store_wins_over_the_server_from_the_environment(store_url: str) -> None:
    away = {"LINEAGEGRAPH_SERVER": "http://127.0.0.1:9"}
    local = CliRunner().invoke(main, ["search", "stg_orders", "--store", store_url], env=away)
    assert local.exit_code == 0, local.output
    assert "stg_orders" in local.output
    asked = CliRunner().invoke(main, ["search", "stg_orders"], env=away)
    assert asked.exit_code == 1
    assert "cannot reach http://127.0.0.1:9/graphql" in asked.output
    both = invoke("search", "--store", store_url, "--server", "http://127.0.0.1:9")
    assert both.exit_code == 2
    assert "give --store or --server, not both" in both.output


@pytest.mark.parametrize(
    "args",
    [
        ["at-risk", "--server", ""],
        ["impact", "orders", "--drop", "id", "--server", " "],
        ["search", "orders", "--store", ""],
        ["stats", "--store", ""],
        ["ingest", "openlineage", "-", "--server", ""],
        ["serve", "--store", ""],
    ],
)
def test_an_empty_store_or_server_on_the_command_line_is_refused(args: list[str]) -> None:
    # A CI job passing an unset secret (--server "$LINEAGE_URL") was answered from the
    # default local store: "everything is OK", or "nothing is named ...", about a graph
    # that was not the one asked. Nothing is created either.
    option = "--server" if "--server" in args else "--store"
    result = CliRunner().invoke(main, args, env={"LINEAGEGRAPH_SERVER": "http://127.0.0.1:9"})
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': is empty (a variable that is not set?)" in result.output


def test_an_empty_server_variable_is_refused_unless_a_store_is_typed(store_url: str) -> None:
    # env: LINEAGEGRAPH_SERVER: ${{ secrets.URL }} with the secret unset: Click reads an
    # empty variable as none, and the command answered from the default local store.
    empty = {"LINEAGEGRAPH_SERVER": ""}
    for args in (["at-risk"], ["ingest", "openlineage", "-"]):
        result = CliRunner().invoke(main, args, env=empty)
        assert result.exit_code == 2, result.output
        assert "LINEAGEGRAPH_SERVER is set but empty" in result.output
    typed = CliRunner().invoke(main, ["search", "stg_orders", "--store", store_url], env=empty)
    assert typed.exit_code == 0, typed.output
    assert "stg_orders" in typed.output


@pytest.mark.parametrize(
    ("server", "message"),
    [("http://[::1", "'http://[::1' is not a URL"), ("127.0.0.1:8000", "is not an http(s) URL")],
)
def test_a_malformed_server_url_is_a_usage_error(server: str, message: str) -> None:
    # It ended in a traceback (httpx.InvalidURL) for the query and ingest commands alike.
    for arguments in (["health", "churn-production"], ["ingest", "openlineage", "-"]):
        result = CliRunner().invoke(main, [*arguments, "--server", server], input="{}")
        assert result.exit_code == 2, result.output
        assert "Invalid value for --server: " in result.output and message in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_tables_print_names_with_brackets_as_they_are(tmp_path: Path) -> None:
    """Names are text: a '[/b]' in a name was read as a style tag by the table printer
    (a MarkupError traceback) and '[bold]…[/bold]' vanished from the heading."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": "0190c1b2-0000-7000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "load[/]orders"},
        "inputs": [{"namespace": "pg://db", "name": "raw.[bold]orders[/bold]"}],
        "outputs": [{"namespace": "pg://db", "name": "mart.orders[0]"}],
    }
    events = tmp_path / "event.json"
    events.write_text(json.dumps(event), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    assert invoke("ingest", "openlineage", str(events), "--store", url).exit_code == 0

    def wide(*args: str) -> Result:  # no name folded across lines
        return CliRunner().invoke(main, list(args), env={"COLUMNS": "300"}, catch_exceptions=False)

    found = wide("search", "orders", "--store", url)
    assert found.exit_code == 0, found.output
    for name in ("load[/]orders", "raw.[bold]orders[/bold]", "mart.orders[0]"):
        assert name in found.output
    walked = wide("lineage", "raw.[bold]orders[/bold]", "--store", url)
    assert walked.exit_code == 0, walked.output
    assert "Lineage of `dataset|pg://db|raw.[bold]orders[/bold]`" in walked.output
    assert "load[/]orders" in walked.output


def test_piped_tables_keep_each_row_on_one_line(store_url: str) -> None:
    """Written to a pipe, a table was folded at 80 columns, names cut in the middle
    (customer_features:preferred_paymen / t_method), so grep missed them."""
    args = ["lineage", "analytics.staging.stg_orders", "--store", store_url]
    piped = CliRunner().invoke(main, args, env={"COLUMNS": None}, catch_exceptions=False)
    assert piped.exit_code == 0, piped.output
    rows = [line for line in piped.output.splitlines() if "preferred_payment_method" in line]
    feature = "customer_features:preferred_payment_method"
    assert any("FEATURE" in row and feature in row for row in rows)
    assert any("TRAINED_ON" in row and "churn_classifier@3" in row for row in rows)
    # COLUMNS still sets the width
    narrow = CliRunner().invoke(main, args, env={"COLUMNS": "60"}, catch_exceptions=False)
    assert max(len(line) for line in narrow.output.splitlines()) <= 60


def test_lineage_pages_on_with_after(store_url: str) -> None:
    """A lineage longer than --first (at most 1000) could not be read past its first
    page: the note said 'use --first' and there was no --after."""
    args = ["lineage", "analytics.staging.stg_orders", "--store", store_url]
    whole = json.loads(invoke(*args, "--json").output)
    seen: list[str] = []
    after: list[str] = []
    for _ in range(10):
        page = invoke(*args, "--first", "4", "--json", *after)
        assert page.exit_code == 0, page.output
        data = json.loads(page.output)
        seen.extend(n["node"]["id"] for n in data["nodes"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = ["--after", data["pageInfo"]["endCursor"]]
    assert seen == [n["node"]["id"] for n in whole["nodes"]] and len(seen) > 8
    first = invoke(*args, "--first", "4")
    cursor = json.loads(invoke(*args, "--first", "4", "--json").output)["pageInfo"]["endCursor"]
    assert f"more nodes follow (use --first, or --after {cursor})" in first.output


def test_control_characters_in_names_are_shown_escaped(tmp_path: Path) -> None:
    """A name holding an ESC sequence reached the terminal raw (recolouring it; another
    sequence could clear it or retitle the window), and one holding a newline split its
    row in two; tables and Markdown now show them escaped."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": "0190c1b2-0000-7000-8000-000000000002"},
        "job": {"namespace": "etl", "name": "load\x1b[31morders\x1b[0m"},
        "inputs": [{"namespace": "pg://db", "name": "raw\norders"}],
        "outputs": [],
    }
    events = tmp_path / "event.json"
    events.write_text(json.dumps(event), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    assert invoke("ingest", "openlineage", str(events), "--store", url).exit_code == 0
    table = invoke("search", "--store", url)
    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.output
    assert "load\\x1b[31morders\\x1b[0m" in table.output
    assert any("DATASET" in line and "raw\\norders" in line for line in table.output.splitlines())
    markdown = invoke("search", "--store", url, "--markdown")
    assert "\x1b" not in markdown.output and "load\\\\x1b[31morders" in markdown.output
    # JSON keeps the names as they are (escaped as JSON escapes them)
    page = json.loads(invoke("search", "--store", url, "--json").output)
    names = {e["node"]["name"] for e in page["edges"]}
    assert names >= {"load\x1b[31morders\x1b[0m", "raw\norders"}
