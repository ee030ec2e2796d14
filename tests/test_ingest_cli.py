"""``lineagegraph ingest openlineage|dbt|gx`` into a store file or to a running server."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from lineagegraph.cli.main import main
from lineagegraph.config import Settings
from lineagegraph.ids import Kind, make_id
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from lineagegraph.store.embedded import EmbeddedStore
from tests.api_helpers import running_server


def run(*args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=stdin, env=env)


def stored(url: str) -> LineageService:
    return LineageService(open_store(url))


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lineage.db'}"


def test_ingest_a_file_of_events(store_url: str, shared_data: Path) -> None:
    path = shared_data / "marquez" / "metadata.json"
    result = run("ingest", "openlineage", str(path), "--store", store_url)
    assert result.exit_code == 0, result.output
    assert "26 events, 26 ok, 0 failed" in result.output
    service = stored(store_url)
    try:
        assert service.stats().nodes_by_kind["JOB"] == 13
        before = service.stats()
    finally:
        service.close()
    # A replay reports the same nodes again (it said "upserts", as if it wrote them anew)
    # and changes nothing.
    again = run("ingest", "openlineage", str(path), "--store", store_url)
    assert "(merged into what the store holds; a replay adds nothing)" in again.output
    assert "upserts" not in again.output
    service = stored(store_url)
    try:
        assert service.stats() == before
    finally:
        service.close()


def test_a_folder_without_event_files_is_said_and_counts_read_in_words(
    store_url: str, tmp_path: Path
) -> None:
    # A mistyped folder ingested "0 events" as if it had been read; and one event of one
    # node was counted "1 nodes".
    empty = tmp_path / "events"
    empty.mkdir()
    (empty / "notes.txt").write_text("not events")
    result = run("ingest", "openlineage", str(empty), "--store", store_url)
    assert result.exit_code == 0, result.output
    assert f"warning: {empty} holds no event files (names ending .json, .jsonl" in result.output
    as_json = run("ingest", "openlineage", str(empty), "--store", store_url, "--json")
    assert json.loads(as_json.output)["warnings"] == [
        f"{empty} holds no event files (names ending "
        ".json, .jsonl, .ndjson, .json.gz, .jsonl.gz, .ndjson.gz)"
    ]
    # an empty file, [] or empty input ingested "0 events" with no word of it
    (empty / "crashed.json").write_text("")
    (empty / "none.json").write_text("[]")
    for given in (empty / "crashed.json", empty / "none.json", empty):
        nothing = run("ingest", "openlineage", str(given), "--store", store_url)
        assert nothing.exit_code == 0, nothing.output
        assert f"warning: {given} holds no events" in nothing.output
    piped = run("ingest", "openlineage", "-", "--store", store_url, stdin="")
    assert "warning: standard input holds no events" in piped.output
    dataset_event = {
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "pg", "name": "orders"},
    }
    one = run("ingest", "openlineage", "-", "--store", store_url, stdin=json.dumps(dataset_event))
    assert one.exit_code == 0, one.output
    assert "-: 1 event, 1 ok, 0 failed" in one.output
    assert "store now holds 1 node, 0 edges" in one.output
    assert "reported: 1 node, 0 edges" in one.output
    assert "warning" not in one.output


def test_ingest_a_folder_with_failures_as_json(store_url: str, shared_data: Path) -> None:
    folder = shared_data / "openlineage" / "proxy_fluentd"
    result = run("ingest", "openlineage", str(folder), "--store", store_url, "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["events"] == 7
    assert summary["ok"] == 1
    assert {Path(f["source"]).name: f["error"] for f in summary["failed"]} == {
        "event_invalid_dataset_facet.json": "outputs[0].facets.ownership.owners[0].name: missing",
        "event_invalid_input_dataset_facet.json": (
            "inputs[0].inputFacets.dataQualityMetrics: needs rowCount or columnMetrics"
        ),
        "event_invalid_job_facet.json": "job.facets.ownership.owners[0].name: missing",
        "event_invalid_output_dataset_facet.json": (
            "outputs[0].outputFacets.outputStatistics.rowCount: must be an integer"
        ),
        "event_invalid_run_facet.json": "run.facets.parent.run.runId: missing",
        "event_no_run_id.json": "run.runId: missing",
    }
    assert summary["store"]["nodes"] > 0


def test_ingest_json_lines_from_stdin(store_url: str, shared_data: Path) -> None:
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    lines = "\n".join(json.dumps(json.loads(f.read_text())) for f in files)
    result = run("ingest", "openlineage", "-", "--store", store_url, "--json", stdin=lines)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["events"], summary["ok"]) == (8, 8)
    service = stored(store_url)
    try:
        assert service.stats().nodes_by_kind["RUN"] == 8
    finally:
        service.close()


def test_stdin_is_read_as_a_file_is_gzipped_or_not_utf_8(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    # Piped gzip data (gzip -c events.jsonl) was split into "lines" of binary and each
    # failed "not UTF-8 text"; the same bytes in events.jsonl.gz were 8 events. Input
    # that is not UTF-8 failed line by line, where a file is refused whole.
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    lines = "\n".join(json.dumps(json.loads(f.read_text())) for f in files).encode()
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(lines))
    from_file = run("ingest", "openlineage", str(packed), "--store", store_url, "--json")
    other = f"sqlite:///{tmp_path / 'piped.db'}"
    piped = run("ingest", "openlineage", "-", "--store", other, "--json", stdin=packed.read_bytes())
    assert piped.exit_code == 0, piped.output
    summary = json.loads(piped.stdout)
    assert (summary["events"], summary["ok"]) == (8, 8)
    assert summary["store"] == json.loads(from_file.stdout)["store"]
    latin = run("ingest", "openlineage", "-", "--store", other, "--json", stdin=b"\xff\n{}\n\xfe\n")
    assert latin.exit_code == 1
    failed = json.loads(latin.stdout)["failed"]
    assert len(failed) == 1
    assert failed[0]["source"] == "<stdin>"
    assert failed[0]["error"].startswith("cannot read standard input: 'utf-8' codec")


def complete_event(i: int, job: int, *, reads: bool = True) -> dict[str, Any]:
    """Run ``i`` of job ``job`` (a second each), reading ``in_<job>``, writing ``out_<job>``."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z",
        "producer": "https://example.com/p",
        "run": {"runId": f"00000000-0000-4000-8000-{i:012d}"},
        "job": {"namespace": "etl", "name": f"job_{job}"},
        "inputs": [{"namespace": "pg", "name": f"in_{job}"}] if reads else [],
        "outputs": [{"namespace": "pg", "name": f"out_{job}"}],
    }


def test_many_events_show_progress_and_all_arrive(store_url: str, tmp_path: Path) -> None:
    events = [complete_event(i, i % 25) for i in range(300)]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    result = run("ingest", "openlineage", str(path), "--store", store_url, "--batch-size", "40")
    assert result.exit_code == 0, result.output
    assert "300 events, 300 ok, 0 failed" in result.stdout
    service = stored(store_url)
    try:
        assert service.stats().nodes_by_kind["RUN"] == 300
    finally:
        service.close()


def test_without_a_batch_size_the_store_says_how_many_events_a_transaction_holds(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied: list[int] = []
    original = LineageService.apply

    def counted(self: LineageService, changeset: Any) -> Any:
        applied.append(len([n for n in changeset.nodes if n.kind is Kind.RUN]))
        return original(self, changeset)

    monkeypatch.setattr(EmbeddedStore, "batch_events", 7)
    monkeypatch.setattr(LineageService, "apply", counted)
    lines = [json.dumps(complete_event(i, i, reads=False)) for i in range(30)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines))
    result = run("ingest", "openlineage", str(path), "--store", store_url)
    assert result.exit_code == 0, result.output
    assert applied == [7, 7, 7, 7, 2]


def test_usage_errors(store_url: str, tmp_path: Path) -> None:
    missing = run("ingest", "openlineage", str(tmp_path / "nope.json"), "--store", store_url)
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    # An empty PATH (an unset shell variable, say) names no file, not the current folder.
    empty = run("ingest", "openlineage", "", "--store", store_url)
    assert empty.exit_code == 2
    assert "PATH" in empty.output and "empty" in empty.output
    both = run(
        "ingest", "openlineage", "-", "--store", store_url, "--server", "http://x", stdin="{}"
    )
    assert both.exit_code == 2
    assert "not both" in both.output


def test_ingest_dbt_artifacts(store_url: str, shared_data: Path) -> None:
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test"
    result = run(
        "ingest",
        "dbt",
        "--manifest",
        str(folder / "manifest.json"),
        "--run-results",
        str(folder / "run_results.json"),
        "--dataset-namespace",
        "snowflake://ASDF1234.eu-central-1.aws",
        "--store",
        store_url,
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["written_by_kind"] == {
        "CHECK": 20,
        "DATASET": 8,
        "FIELD": 21,
        "JOB": 6,
        "RESULT": 20,
        "RUN": 1,
    }
    assert (
        summary["warnings"][-1] == "run_results: (empty unique_id) is not in the manifest; skipped"
    )
    service = stored(store_url)
    try:
        customers = make_id(
            Kind.DATASET, "snowflake://ASDF1234.eu-central-1.aws", "DEMO_DB.public.customers"
        )
        assert service.node(customers).attrs["platform"] == "snowflake"
    finally:
        service.close()


@pytest.mark.parametrize("option", ["--dataset-namespace", "--job-namespace"])
def test_an_empty_dbt_namespace_is_refused_not_taken_for_the_default(
    option: str, store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    # `--dataset-namespace "$WAREHOUSE_NS"` with the variable unset put the tables in the
    # default namespace, apart from those the other producers report, and said nothing.
    manifest = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run" / "manifest.json"
    for value in ("", "  "):
        result = run(
            "ingest", "dbt", "--manifest", str(manifest), option, value, "--store", store_url
        )
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '{option}': is empty (a variable that is not set?)" in (
            result.output
        )
    assert not (tmp_path / "lineage.db").exists()


def test_ingest_gx_results(store_url: str, shared_data: Path) -> None:
    path = str(shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json")
    unnamed = run("ingest", "gx", path, "--store", store_url)
    assert unnamed.exit_code == 1
    assert "does not name its dataset" in unnamed.output
    assert "(--dataset ID, or --namespace NS with --name NAME)" in unnamed.output
    wrong = run("ingest", "gx", path, "--store", store_url, "--dataset", "job|etl|x")
    assert wrong.exit_code == 2
    assert "not a dataset id" in wrong.output
    named = run(
        "ingest", "gx", path, "--store", store_url, "--dataset", "dataset|file|/data/titanic.csv"
    )
    assert named.exit_code == 0, named.output
    assert "51 CHECK" in named.output
    again = run(
        "ingest",
        "gx",
        path,
        "--store",
        store_url,
        "--namespace",
        "file",
        "--name",
        "/data/titanic.csv",
    )
    assert again.exit_code == 0
    service = stored(store_url)
    try:
        assert service.stats().nodes_by_kind["RESULT"] == 51
    finally:
        service.close()


def test_send_to_a_running_server(service: LineageService, shared_data: Path) -> None:
    settings = Settings(store="memory://", tokens="cli-secret:write")
    with running_server(service, settings) as server:
        folder = shared_data / "marquez" / "apples"
        refused = run("ingest", "openlineage", str(folder), "--server", server.url)
        assert refused.exit_code == 1
        assert "answered 401" in refused.output
        assert "--token or LINEAGEGRAPH_TOKEN" in refused.output
        env = {"LINEAGEGRAPH_TOKEN": "cli-secret"}
        sent = run(
            "ingest",
            "openlineage",
            str(folder),
            "--server",
            server.url,
            "--batch-size",
            "3",
            "--json",
            env=env,
        )
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.stdout)["ok"] == 8
        dbt = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
        uploaded = run(
            "ingest",
            "dbt",
            "--manifest",
            str(dbt / "manifest.json"),
            "--server",
            server.url,
            "--token",
            "cli-secret",
        )
        assert uploaded.exit_code == 0, uploaded.output
        gx = str(shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json")
        failed = run("ingest", "gx", gx, "--server", server.url, "--token", "cli-secret")
        assert failed.exit_code == 1
        assert "does not name its dataset" in failed.output
        assert "(--dataset ID, or --namespace NS with --name NAME)" in failed.output
    stats = service.stats()
    assert stats.nodes_by_kind["RUN"] == 8
    assert stats.nodes_by_kind["CHECK"] == 20
    assert stats.nodes_by_kind.get("RESULT", 0) == 0


def test_the_server_can_come_from_the_environment_and_a_typed_store_wins_over_it(
    service: LineageService, shared_data: Path, store_url: str
) -> None:
    events = str(shared_data / "marquez" / "apples")
    with running_server(service, Settings(store="memory://")) as server:
        env = {"LINEAGEGRAPH_SERVER": server.url}
        sent = run("ingest", "openlineage", events, "--json", env=env)
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.stdout)["target"] == server.url
        assert service.stats().nodes_by_kind["RUN"] == 8
        # a store typed on the command line goes where it says
        local = run("ingest", "openlineage", events, "--store", store_url, "--json", env=env)
        assert local.exit_code == 0, local.output
        assert json.loads(local.stdout)["target"] == store_url
        # from the environment alone, the server wins, as for the query commands
        both = {**env, "LINEAGEGRAPH_STORE": store_url}
        assert (
            json.loads(run("ingest", "openlineage", events, "--json", env=both).stdout)["target"]
            == server.url
        )
    local_service = stored(store_url)
    try:
        assert local_service.stats().nodes_by_kind["RUN"] == 8
    finally:
        local_service.close()


def test_ingest_dbt_reads_gzipped_artifacts(store_url: str, tmp_path: Path) -> None:
    build = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "build2"
    result = run(
        "ingest",
        "dbt",
        "--manifest",
        str(build / "manifest.json.gz"),
        "--run-results",
        str(build / "run_results.json"),
        "--catalog",
        str(build / "catalog.json"),
        "--store",
        store_url,
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["warnings"] == []
    assert summary["written_by_kind"]["DATASET"] == 9
    plain = tmp_path / "manifest.json.gz"  # named .gz, but not gzipped
    plain.write_bytes((build / "run_results.json").read_bytes())
    refused = run("ingest", "dbt", "--manifest", str(plain), "--store", store_url)
    assert refused.exit_code == 2
    assert "cannot read" in refused.output and "gzip" in refused.output.lower()


def test_a_body_over_the_server_limit_says_what_to_change(
    service: LineageService, shared_data: Path
) -> None:
    settings = Settings(store="memory://", max_body_bytes=256)
    with running_server(service, settings) as server:
        folder = shared_data / "marquez" / "apples"
        refused = run("ingest", "openlineage", str(folder), "--server", server.url)
        assert refused.exit_code == 1
        assert "answered 413" in refused.output
        assert "LINEAGEGRAPH_MAX_BODY_BYTES" in refused.output
        assert "--batch-size" in refused.output
        build = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "build1"
        manifest = run(
            "ingest", "dbt", "--manifest", str(build / "manifest.json.gz"), "--server", server.url
        )
        assert manifest.exit_code == 1
        assert "LINEAGEGRAPH_MAX_BODY_BYTES" in manifest.output
        assert "--batch-size" not in manifest.output
    assert service.stats().nodes == 0


def test_a_server_url_with_an_extra_path_is_an_error_naming_the_url(
    service: LineageService, shared_data: Path
) -> None:
    # The UI's mount answers a POST to /api/api/v1/lineage/batch 405: every event was
    # listed as failed with "Method Not Allowed", as if the events were at fault.
    with running_server(service, Settings(store="memory://")) as server:
        wrong = f"{server.url}/api"
        folder = shared_data / "marquez" / "apples"
        events = run("ingest", "openlineage", str(folder), "--server", wrong)
        assert events.exit_code == 1
        assert f"{wrong}/api/v1/lineage/batch answered 405" in events.output
        assert "failed 1_pick_apples" not in events.output
        dbt = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
        manifest = run("ingest", "dbt", "--manifest", str(dbt / "manifest.json"), "--server", wrong)
        assert manifest.exit_code == 1
        assert f"{wrong}/api/v1/ingest/dbt answered 405" in manifest.output
        gx = shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json"
        result = run("ingest", "gx", str(gx), "--dataset", "dataset|file|t", "--server", wrong)
        assert result.exit_code == 1
        assert f"{wrong}/api/v1/ingest/gx answered 405" in result.output
    assert service.stats().nodes == 0


def test_a_server_url_ending_in_graphql_is_the_server_as_for_the_questions(
    service: LineageService, shared_data: Path
) -> None:
    # The questions take http://host:8000/graphql (the GraphiQL URL serve prints) as the
    # server; ingest posted to /graphql/api/v1/lineage/batch and ended on its 405.
    with running_server(service, Settings(store="memory://")) as server:
        endpoint = f"{server.url}/graphql/"
        folder = shared_data / "marquez" / "apples"
        events = run("ingest", "openlineage", str(folder), "--server", endpoint)
        assert events.exit_code == 0, events.output
        dbt = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
        manifest = run(
            "ingest", "dbt", "--manifest", str(dbt / "manifest.json"), "--server", endpoint
        )
        assert manifest.exit_code == 0, manifest.output
        gx = shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json"
        result = run("ingest", "gx", str(gx), "--dataset", "dataset|file|t", "--server", endpoint)
        assert result.exit_code == 0, result.output
    kinds = service.stats().nodes_by_kind
    assert kinds["DATASET"] > 9 and kinds["CHECK"] > 20, kinds
    assert service.store.get(["dataset|file|t"]), "the GX results' dataset"


def test_a_dbt_manifest_goes_to_a_server_without_what_the_translation_never_reads(
    store_url: str, service: LineageService
) -> None:
    build = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "build1"
    manifest, results = build / "manifest.json.gz", build / "run_results.json"
    arguments = ["ingest", "dbt", "--manifest", str(manifest), "--run-results", str(results)]
    local = run(*arguments, "--store", store_url, "--json")
    assert local.exit_code == 0, local.output
    # Most of the manifest is macros: the whole of it gzipped is about 90 KB, what the
    # translation reads about 10 KB.
    settings = Settings(store="memory://", max_body_bytes=40_000)
    whole = {
        "manifest": json.loads(gzip.decompress(manifest.read_bytes())),
        "run_results": json.loads(results.read_text()),
    }
    with running_server(service, settings) as server:
        refused = httpx.post(
            f"{server.url}/api/v1/ingest/dbt",
            content=gzip.compress(json.dumps(whole).encode(), compresslevel=3),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert refused.status_code == 413
        sent = run(*arguments, "--server", server.url, "--json")
        assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["warnings"] == json.loads(local.stdout)["warnings"] == []
    assert service.stats().nodes_by_kind == stored_kinds(store_url)


def stored_kinds(url: str) -> dict[str, int]:
    service = stored(url)
    try:
        return service.stats().nodes_by_kind
    finally:
        service.close()


def test_impact_says_where_it_falls_back_to_dataset_level(store_url: str) -> None:
    build = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "build1"
    files = ("--manifest", "manifest.json.gz", "--catalog", "catalog.json")
    arguments = [str(build / f) if f.endswith((".gz", ".json")) else f for f in files]
    assert run("ingest", "dbt", *arguments, "--store", store_url).exit_code == 0
    table = run("impact", "shop.main.stg_payments", "--drop", "amount", "--store", store_url)
    assert table.exit_code == 0, table.output
    # The table said DATASET precision without saying why (--markdown and --json did)
    assert (
        "#1: job|dbt://shop|shop.main.shop.orders reads dataset|duckdb://shop|"
        "shop.main.stg_payments without column lineage from it"
    ) in " ".join(table.output.split())


def test_impact_reads_a_manifest_nodes_columns_as_the_proposed_schema(
    store_url: str, shared_data: Path, tmp_path: Path
) -> None:
    # A manifest keeps a model's columns as an object keyed by name, which --schema
    # refused with a message that named neither dbt form.
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test"
    manifest_path = folder / "manifest.json"
    assert (
        run("ingest", "dbt", "--manifest", str(manifest_path), "--store", store_url).exit_code == 0
    )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    columns = manifest["nodes"]["model.jaffle_shop.stg_payments"]["columns"]
    assert isinstance(columns, dict) and set(columns) == {"payment_id", "payment_method"}
    proposed = tmp_path / "columns.json"

    def descriptions(document: Any) -> list[str]:
        proposed.write_text(json.dumps(document))
        result = run(
            "impact", "dataset:DEMO_DB.public.stg_payments", "--schema", str(proposed),
            "--json", "--store", store_url,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return [c["description"] for c in json.loads(result.output)["changes"]]

    assert descriptions(columns) == descriptions(list(columns.values())) == []
    # dbt 1.10 and later give each column config and doc_blocks ("unknown key 'config'")
    newer = {
        name: {**column, "config": {"meta": {}, "tags": []}, "doc_blocks": []}
        for name, column in columns.items()
    }
    assert descriptions(newer) == []
    kept = {k: v for k, v in columns.items() if k != "payment_method"}
    assert descriptions(kept) == descriptions(list(kept.values())) == ["drop payment_method"]
    # an object that is not columns keyed by their names is still refused, naming the forms
    proposed.write_text(json.dumps({"schema": {"fields": [{"name": "payment_id"}]}}))
    refused = run(
        "impact", "dataset:DEMO_DB.public.stg_payments", "--schema", str(proposed),
        "--store", store_url,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "a manifest node's columns keyed by name" in " ".join(refused.output.split())


def test_ingest_dbt_source_freshness_locally_and_to_a_server(
    store_url: str, service: LineageService
) -> None:
    folder = Path(__file__).parent / "data" / "dbt" / "shop_duckdb" / "freshness"
    arguments = [
        "ingest",
        "dbt",
        "--manifest",
        str(folder / "manifest.json.gz"),
        "--sources",
        str(folder / "sources_stale.json"),
        "--json",
    ]
    local = run(*arguments, "--store", store_url)
    assert local.exit_code == 0, local.output
    assert json.loads(local.stdout)["written_by_kind"]["RESULT"] == 1
    with running_server(service, Settings(store="memory://")) as server:
        sent = run(*arguments, "--server", server.url)
        assert sent.exit_code == 0, sent.output
    stale = make_id(Kind.DATASET, "duckdb://shop", "shop.main_raw.raw_orders")
    assert service.health(stale).status.value == "FAILING"


STG_ORDERS_SNOWFLAKE = "dataset|snowflake://DEMO_DB|DEMO_DB.public.stg_orders"


def test_a_server_and_a_store_get_the_same_summary(
    store_url: str, service: LineageService, shared_data: Path
) -> None:
    snowflake = shared_data / "openlineage" / "dbt" / "jaffle_shop_snowflake_test"
    gx = Path(__file__).parent / "data" / "great_expectations" / "gx018_orders"
    commands = [
        ["dbt", "--manifest", str(snowflake / "manifest.json")],
        ["dbt", "--manifest", str(snowflake / "manifest.json")],  # a replay
        ["gx", str(gx / "checkpoint_result.json"), "--dataset", "dataset|pg://x|orders"],
        ["gx", str(gx / "checkpoint_result.json"), "--dataset", STG_ORDERS_SNOWFLAKE],
    ]
    summaries = []
    with running_server(service, Settings(store="memory://")) as server:
        for command in commands:
            for as_json in (["--json"], []):
                local = run("ingest", *command, *as_json, "--store", store_url)
                sent = run("ingest", *command, *as_json, "--server", server.url)
                assert local.exit_code == sent.exit_code == 0, local.output + sent.output
                # --server left out what was written and what the store holds, and counted
                # the manifest's schema problems apart
                assert sent.stdout.replace(server.url, store_url) == local.stdout
                summaries.append(sent.stdout)
    dbt, _, _, replayed, gx_json, gx_text, columns_json, columns_text = summaries
    assert "1686 problems" in json.loads(dbt)["warnings"][0]
    assert "written: 20 CHECK, 8 DATASET, 21 FIELD, 5 JOB" in replayed
    assert "store now holds" in replayed and "reported:" in replayed
    assert json.loads(gx_json)["warnings"] == [
        "dataset|pg://x|orders: no such dataset was stored; it was created to hold these "
        "results (check its id if it should have existed)"
    ]
    assert "warning" not in gx_text  # the dataset is known now
    # The manifest documents order_id and status of stg_orders, not amount or customer_id:
    # the results make them fields, which a replay warned of no more.
    unlisted = (
        f"{STG_ORDERS_SNOWFLAKE}: its current schema has no columns amount, customer_id; they "
        "are fields only because check results name them (check the dataset id and the "
        "column names)"
    )
    assert json.loads(columns_json)["warnings"] == [unlisted]
    assert f"warning: {unlisted}" in " ".join(columns_text.split())
    stats = service.stats()  # a replay adds nothing
    assert json.loads(columns_json)["store"] == {"nodes": stats.nodes, "edges": stats.edges}


def test_a_failed_file_reports_no_counts(
    store_url: str, service: LineageService, tmp_path: Path, two_asset_checkpoint: Any
) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps(two_asset_checkpoint))
    arguments = ["ingest", "gx", str(path), "--dataset", "dataset|duckdb://shop|stg_orders"]
    with running_server(service, Settings(store="memory://")) as server:
        for target in (["--store", store_url], ["--server", server.url]):
            failed = run(*arguments, *target)
            assert failed.exit_code == 1
            assert "1 file, 0 ok, 1 failed" in failed.output
            assert "are of different datasets" in failed.output
            assert "(leave out --dataset, or --namespace and --name)" in failed.output
            # a failure said "reported: 0 nodes, 0 edges (…; a replay adds nothing)"
            assert "reported:" not in failed.output and "replay" not in failed.output
            summary = json.loads(run(*arguments, *target, "--json").stdout)
            assert "nodes_written" not in summary and summary["ok"] == 0
    assert service.stats().nodes == 0
    assert stored_kinds(store_url) == {}


def test_the_impact_gate_fails_a_schema_it_cannot_diff(store_url: str, tmp_path: Path) -> None:
    # A table no event described with columns: the proposal read as NON_BREAKING with no
    # consumers, and --fail-on breaking passed though it may drop any real column.
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"},
        "job": {"namespace": "airflow", "name": "bake"},
        "inputs": [{"namespace": "pg", "name": "raw.sugar"}],
        "outputs": [],
    }
    events = tmp_path / "events.json"
    events.write_text(json.dumps(event))
    assert run("ingest", "openlineage", str(events), "--store", store_url).exit_code == 0
    proposed = tmp_path / "schema.json"
    proposed.write_text(json.dumps([{"path": "grams", "type": "int"}]))
    ask = ["impact", "raw.sugar", "--schema", str(proposed), "--store", store_url]
    gated = run(*ask, "--fail-on", "breaking")
    assert gated.exit_code == 3, gated.output
    assert "current fields are not recorded" in gated.output
    assert run(*ask).exit_code == 0
    assert json.loads(run(*ask, "--json").output)["schemaRecorded"] is False
