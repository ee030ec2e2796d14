"""The CLI skeleton: demo, stats and export against a file store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import networkx as nx
import pytest
from click.testing import CliRunner

from lineagegraph.cli.main import main
from lineagegraph.store import open_store


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "stats", "export"):
        assert command in result.output
    # each summary is a sentence or its start: "e.g." ended at-risk's at "e.g."
    for line in result.output.split("Commands:")[1].splitlines():
        assert not line.endswith(("e.g.", "i.e.")), line
    # the help is plain text: reStructuredText's ``-`` showed its backquotes
    groups = [(main, []), (main.commands["ingest"], ["ingest"])]
    for group, path in groups:
        assert isinstance(group, click.Group)
        for name in group.commands:
            shown = CliRunner().invoke(main, [*path, name, "--help"])
            assert shown.exit_code == 0 and "``" not in shown.output, (name, shown.output)
            # every option says what it is, and --store the variable that sets it
            command = group.commands[name]
            for option in command.params:
                if isinstance(option, click.Option) and option.name != "help":
                    assert option.help, (name, option.name)
                    if option.name == "store_url":
                        assert "LINEAGEGRAPH_STORE" in option.help, name


# Runs a command in a fresh interpreter and prints which of the GraphQL modules it imported.
_IMPORTS = """
import sys
from lineagegraph.cli.main import main
try:
    main(sys.argv[1:], prog_name="lineagegraph")
except SystemExit as end:
    assert not end.code, end.code
loaded = [m for m in ("lineagegraph.api.schema", "strawberry") if m in sys.modules]
print("graphql modules:", loaded, file=sys.stderr)
"""

_EVENTS = Path(__file__).parent / "data" / "openlineage" / "airflow_postgres" / "shop_daily.jsonl"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["ingest", "--help"],
        ["ingest", "openlineage", str(_EVENTS), "--store", "{store}"],
        ["demo", "--store", "{store}"],
        ["export", "--store", "memory://"],
        ["stats", "--help"],
        ["search", "--help"],
        ["impact", "--help"],
    ],
    ids=" ".join,
)
def test_commands_that_ask_no_graphql_do_not_import_the_schema(
    args: list[str], tmp_path: Path
) -> None:
    # Every command imported strawberry and built the schema: 1.6 s before anything ran.
    store = f"sqlite:///{tmp_path / 'lineage.db'}"
    run = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *(a.format(store=store) for a in args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "graphql modules: []" in run.stderr, run.stderr


def test_a_query_on_a_local_store_still_answers_through_the_schema(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'lineage.db'}"
    args = [["demo", "--store", store], ["search", "stg_orders", "--store", store, "--json"]]
    runs = [
        subprocess.run(
            [sys.executable, "-c", _IMPORTS, *a], capture_output=True, text=True, timeout=120
        )
        for a in args
    ]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert "'lineagegraph.api.schema'" in runs[1].stderr
    ids = [e["node"]["id"] for e in json.loads(runs[1].stdout)["edges"]]
    assert "dataset|snowflake://acme|analytics.staging.stg_orders" in ids


def test_demo_stats_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    loaded = runner.invoke(main, ["demo", "--store", store])
    assert loaded.exit_code == 0, loaded.output
    assert "179 nodes" in loaded.output
    again = runner.invoke(main, ["demo", "--store", store])
    assert "179 nodes, 340 edges" in again.output  # idempotent

    stats = runner.invoke(main, ["stats", "--json", "--store", store])
    counts = json.loads(stats.output)
    assert counts["nodes"]["DATASET"] == 9
    assert counts["nodes"]["MODEL_VERSION"] == 5
    assert counts["edges"]["DERIVES"] == 24
    table = runner.invoke(main, ["stats", "--store", store])
    assert "DEPLOYMENT" in table.output

    out = tmp_path / "graph.json"
    runner.invoke(main, ["export", "--format", "json", "-o", str(out), "--store", store])
    graph = json.loads(out.read_text())
    # "-o -" is stdout, as for other tools (it wrote a file named "-")
    piped = runner.invoke(main, ["export", "-o", "-", "--store", store])
    assert json.loads(piped.output) == graph
    assert len(graph["nodes"]) == 179
    assert len(graph["edges"]) == 340
    ended = [e for e in graph["edges"] if e["ended_at"] is not None]
    assert {e["kind"] for e in ended} == {"DERIVES", "HAS_FIELD", "SERVES"}

    graphml = tmp_path / "graph.graphml"
    runner.invoke(main, ["export", "--format", "graphml", "-o", str(graphml), "--store", store])
    loaded_graph = nx.read_graphml(graphml)
    assert loaded_graph.number_of_nodes() == 179
    assert loaded_graph.number_of_edges() == 340
    orders = "dataset|snowflake://acme|analytics.staging.stg_orders"
    assert loaded_graph.nodes[orders]["kind"] == "DATASET"


def test_export_to_a_path_it_cannot_write_is_an_error_line(tmp_path: Path) -> None:
    # It ended in a FileNotFoundError traceback.
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    assert runner.invoke(main, ["demo", "--store", store]).exit_code == 0
    target = tmp_path / "no-such-dir" / "graph.json"
    result = runner.invoke(main, ["export", "-o", str(target), "--store", store])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output == f"Error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()


def test_commands_on_a_store_file_another_process_owns_say_so(tmp_path: Path) -> None:
    path = tmp_path / "lineage.db"
    owner = open_store(f"sqlite:///{path}")  # as a running server holds it
    try:
        runner = CliRunner()
        for args in (
            ["stats"],
            ["demo"],
            ["export"],
            ["search", "orders"],
            ["ingest", "openlineage", str(tmp_path)],
        ):
            result = runner.invoke(main, [*args, "--store", f"sqlite:///{path}"])
            assert result.exit_code != 0, args
            assert result.exception is None or isinstance(result.exception, SystemExit), args
            assert "is in use by process" in result.output, (args, result.output)
            assert "--server" in result.output, args
    finally:
        owner.close()
    assert CliRunner().invoke(main, ["stats", "--store", f"sqlite:///{path}"]).exit_code == 0


def test_a_setting_that_does_not_parse_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    store = f"sqlite:///{tmp_path / 'lineage.db'}"
    open_store(store).close()  # stats only reads a store that exists
    cases = {
        "LINEAGEGRAPH_MAX_TRAVERSAL_NODES": ("lots", "valid integer"),
        "LINEAGEGRAPH_NEO4J_WRITE_LOCK_SECONDS": ("0", "greater than 0"),
        "LINEAGEGRAPH_SQLITE_SYNCHRONOUS": ("off", "use one of FULL, NORMAL, EXTRA"),
    }
    for name, (value, reason) in cases.items():
        result = runner.invoke(main, ["stats", "--store", store], env={name: value})
        assert result.exit_code == 1, (name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        assert f"Error: {name}={value!r}: " in result.output, result.output
        assert reason in result.output
    served = runner.invoke(main, ["serve", "--store", store], env={"LINEAGEGRAPH_PORT": "x"})
    assert served.exit_code == 1
    assert "Error: LINEAGEGRAPH_PORT='x': Input should be a valid integer" in served.output


def test_a_store_url_that_cannot_be_opened_is_one_error_line_without_its_password(
    tmp_path: Path,
) -> None:
    # A directory or a file that is not SQLite ended in a traceback; a URL of another
    # database (postgres://user:password@…) was repeated whole, password and all.
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n" * 200)
    runner = CliRunner()
    for url, message in (
        (f"sqlite://{tmp_path}", f"Error: cannot open {tmp_path} as a store file: "),
        (f"sqlite://{not_sqlite}", f"Error: cannot open {not_sqlite} as a store file: "),
        (
            "postgres://lineage:s3cr/et@db.internal:5432/lineage",
            "Error: unknown store URL 'postgres://db.internal:5432/lineage': use memory://",
        ),
    ):
        for args in (["stats"], ["demo"]):
            result = runner.invoke(main, [*args, "--store", url])
            assert result.exit_code == 1, (url, args, result.output)
            assert result.output.startswith(message), (url, args, result.output)
            assert result.output.count("\n") == 1 and "s3cr" not in result.output
    assert not_sqlite.read_text() == "not a database\n" * 200


def test_a_store_file_it_may_not_write_is_one_error_line(tmp_path: Path) -> None:
    # A lock file it could not make, a folder under a file, or a read-only store file
    # ended in a PermissionError, IsADirectoryError or sqlite3 traceback.
    runner = CliRunner()
    (tmp_path / "locked.db.lock").mkdir()
    (tmp_path / "file.txt").write_text("x")
    for path, reason in (
        (tmp_path / "locked.db", f"({tmp_path / 'locked.db.lock'})"),
        (tmp_path / "file.txt" / "lineage.db", f"({tmp_path / 'file.txt'})"),
    ):
        result = runner.invoke(main, ["demo", "--store", f"sqlite://{path}"])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: cannot open {path} as a store file: "), result
        assert result.output.rstrip("\n").endswith(reason) and result.output.count("\n") == 1
    readonly = tmp_path / "readonly.db"
    assert runner.invoke(main, ["demo", "--store", f"sqlite://{readonly}"]).exit_code == 0
    readonly.chmod(0o444)
    # root writes a read-only file unless it gives up overriding permissions
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")  # util-linux, an essential package on Debian
        assert setpriv is not None, "as root, setpriv is needed to drop CAP_DAC_OVERRIDE"
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]
    for args in (["stats"], ["demo"]):
        command = [*prefix, sys.executable, "-m", "lineagegraph.cli.main", *args]
        done = subprocess.run(
            [*command, "--store", f"sqlite://{readonly}"], capture_output=True, text=True
        )
        assert done.returncode == 1, done
        assert done.stderr == (
            f"Error: cannot open {readonly} as a store file: attempt to write a readonly database\n"
        ), done


def test_commands_that_only_read_refuse_a_store_file_that_does_not_exist(tmp_path: Path) -> None:
    # A mistyped --store made an empty store there and answered "not found".
    missing = tmp_path / "typo" / "lineage.db"
    runner = CliRunner()
    for args in (
        ["stats"],
        ["export"],
        ["search", "orders"],
        ["at-risk"],
        ["lineage", "dataset|s3://b|orders"],
        ["health", "dataset|s3://b|orders"],
        ["impact", "dataset|s3://b|orders", "--drop", "id"],
    ):
        result = runner.invoke(main, [*args, "--store", f"sqlite://{missing}"])
        assert result.exit_code == 1, (args, result.output)
        assert result.output == (
            f"Error: no store file {missing} (only writing makes one: check the store URL)\n"
        ), args
    # The default store, under the user's data directory, is no different.
    data = tmp_path / "data"
    result = runner.invoke(main, ["stats"], env={"XDG_DATA_HOME": str(data)})
    assert result.exit_code == 1 and result.output.startswith("Error: no store file "), result
    assert str(data / "lineagegraph" / "lineage.db") in result.output
    assert not (tmp_path / "typo").exists() and not data.exists()
    # Commands that write still make a new store.
    assert runner.invoke(main, ["demo", "--store", f"sqlite://{missing}"]).exit_code == 0
    assert runner.invoke(main, ["stats", "--store", f"sqlite://{missing}"]).exit_code == 0
    events = tmp_path / "events.json"
    events.write_text("[]")
    fresh = tmp_path / "fresh" / "lineage.db"
    ingested = runner.invoke(
        main, ["ingest", "openlineage", str(events), "--store", f"sqlite://{fresh}"]
    )
    assert ingested.exit_code == 0, ingested.output
    assert fresh.exists()
