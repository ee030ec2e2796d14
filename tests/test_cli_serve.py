"""``lineagegraph serve``: the loopback rule, the demo, the printed URLs, a real process."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from lineagegraph.cli.main import main
from lineagegraph.cli.serve import listen, urls
from tests.api_helpers import free_port

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGEGRAPH_")}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The servers serve would have run: uvicorn's run is recorded instead (the sockets it
    was given), and the server counts as started."""
    import uvicorn

    calls: list[object] = []

    def run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        calls.append(sockets)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    return calls


def test_a_non_loopback_bind_without_tokens_is_refused() -> None:
    result = CliRunner().invoke(
        main, ["serve", "--host", "0.0.0.0", "--store", "memory://"], env=_unset()
    )
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without auth" in result.output
    assert "--open" in result.output


def test_an_open_server_says_it_is_open_to_the_network(started: list[object]) -> None:
    # With --open on 0.0.0.0 the banner said "auth: off (loopback only)".
    port = str(free_port())
    args = ["serve", "--store", "memory://", "--port", port]
    result = CliRunner().invoke(main, [*args, "--host", "0.0.0.0", "--open"], env=_unset())
    assert result.exit_code == 0, result.output
    assert "auth:        off, open to the network (anyone who can connect" in result.output
    assert "loopback" not in result.output
    result = CliRunner().invoke(main, args, env=_unset())
    assert "auth:        off (loopback only)" in result.output
    env = {**_unset(), "LINEAGEGRAPH_TOKENS": "t0k:read"}
    result = CliRunner().invoke(main, [*args, "--host", "0.0.0.0"], env=env)
    assert "auth:        bearer tokens" in result.output


def test_malformed_tokens_are_refused() -> None:
    result = CliRunner().invoke(
        main, ["serve", "--tokens", "abc:admin", "--store", "memory://"], env=_unset()
    )
    assert result.exit_code == 1
    assert "token #1: unknown scope 'admin' (use read or write)" in result.output
    assert "abc" not in result.output.replace("abc:admin", "")


def test_a_token_listed_twice_is_refused(started: list[object]) -> None:
    # It took whichever scope was listed last, and the server started.
    env = {**_unset(), "LINEAGEGRAPH_TOKENS": "abc:write,abc:read"}
    result = CliRunner().invoke(main, ["serve", "--store", "memory://"], env=env)
    assert result.exit_code == 1
    assert result.output == (
        "Error: token #2 is token #1 again: list each token once, with one scope "
        "(write implies read)\n"
    )
    assert not started


def test_settings_out_of_range_are_refused_before_serving(started: list[object]) -> None:
    # --port 99999 served on port 34463 while printing :99999, and a negative limit
    # (LINEAGEGRAPH_MAX_QUERY_DEPTH=-3) started a server that refused every query.
    runner = CliRunner()
    flags = {
        "--port": ("99999", "1<=x<=65535"),
        "--max-query-depth": ("0", "x>=1"),
        "--max-query-tokens": ("-1", "x>=1"),
        "--max-aliases": ("-1", "x>=0"),
        "--max-traversal-nodes": ("0", "x>=1"),
        "--traversal-timeout": ("0", "x>0"),
        "--max-body-bytes": ("0", "x>=1"),
    }
    for flag, (value, bounds) in flags.items():
        result = runner.invoke(main, ["serve", "--store", "memory://", flag, value], env=_unset())
        assert result.exit_code == 2, (flag, result.output)
        assert f"Invalid value for '{flag}'" in result.output, result.output
        assert bounds in result.output, result.output
    # NaN passes every range check: it was refused later, as if LINEAGEGRAPH_* said it
    nan = runner.invoke(main, ["serve", "--traversal-timeout", "nan"], env=_unset())
    assert nan.exit_code == 2, nan.output
    assert "Invalid value for '--traversal-timeout': nan is not a number" in nan.output
    # in the environment: every request was answered 413, or every traversal truncated
    # at once, and a port past 65535 printed URLs no one could open
    variables = [
        ("LINEAGEGRAPH_PORT", "0", "greater than or equal to 1"),
        ("LINEAGEGRAPH_PORT", "99999", "less than or equal to 65535"),
        ("LINEAGEGRAPH_MAX_QUERY_DEPTH", "-3", "greater than or equal to 1"),
        ("LINEAGEGRAPH_MAX_QUERY_TOKENS", "0", "greater than or equal to 1"),
        ("LINEAGEGRAPH_MAX_ALIASES", "-1", "greater than or equal to 0"),
        ("LINEAGEGRAPH_MAX_TRAVERSAL_NODES", "-5", "greater than or equal to 1"),
        ("LINEAGEGRAPH_TRAVERSAL_TIMEOUT", "-1", "greater than 0"),
        ("LINEAGEGRAPH_TRAVERSAL_TIMEOUT", "nan", "greater than 0"),
        ("LINEAGEGRAPH_MAX_BODY_BYTES", "0", "greater than or equal to 1"),
        ("LINEAGEGRAPH_MAX_BODY_BYTES", "-1", "greater than or equal to 1"),
    ]
    for name, value, reason in variables:
        env = {**_unset(), name: value}
        result = runner.invoke(main, ["serve", "--store", "memory://"], env=env)
        assert result.exit_code == 1, (name, result.output)
        assert f"Error: {name}={value!r}: Input should be {reason}" in result.output
    assert not started
    # The bounds themselves are accepted.
    bounds_env = {
        **_unset(),
        "LINEAGEGRAPH_PORT": "65535",
        "LINEAGEGRAPH_MAX_ALIASES": "0",
        "LINEAGEGRAPH_TRAVERSAL_TIMEOUT": "inf",  # no timeout
    }
    result = runner.invoke(main, ["serve", "--store", "memory://"], env=bounds_env)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:65535/graphql" in result.output
    assert len(started) == 1


def test_a_neo4j_write_lock_time_neo4j_cannot_take_is_refused_at_start(
    started: list[object],
) -> None:
    # inf, or any time past 64-bit milliseconds, was accepted and then failed every write
    # to Neo4j with an OverflowError (a traceback on the command line, 500 from the server)
    runner = CliRunner()
    name = "LINEAGEGRAPH_NEO4J_WRITE_LOCK_SECONDS"
    for value, reason in [
        ("inf", "less than or equal to 1000000000"),
        ("1e16", "less than or equal to 1000000000"),
        ("0", "greater than 0"),
        ("nan", "less than or equal to 1000000000"),
    ]:
        env = {**_unset(), name: value}
        result = runner.invoke(main, ["serve", "--store", "memory://"], env=env)
        assert result.exit_code == 1, (value, result.output)
        assert f"Error: {name}={value!r}: Input should be {reason}" in result.output
    assert not started
    env = {**_unset(), name: "1e9"}
    result = runner.invoke(main, ["serve", "--store", "memory://"], env=env)
    assert result.exit_code == 0, result.output
    assert len(started) == 1


def _unset() -> dict[str, str | None]:
    return {k: None for k in os.environ if k.startswith("LINEAGEGRAPH_")}


def test_urls_for_wildcard_and_ipv6_binds() -> None:
    assert urls("0.0.0.0", 8000)["ui"] == "http://127.0.0.1:8000/"
    assert urls("::1", 9000)["graphiql"] == "http://[::1]:9000/graphql"
    assert urls("127.0.0.1", 8000)["openlineage"] == "http://127.0.0.1:8000/api/v1/lineage"


def _serve(store: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from lineagegraph.cli.main import main; main()",
            "serve",
            "--demo",
            "--store",
            store,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=CLEAN_ENV,
    )


def _wait_ready(process: subprocess.Popen[str], port: int) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while not any("auth:" in line for line in lines):
        line = process.stdout.readline()
        if not line:
            pytest.fail("serve exited early:\n" + "".join(lines))
        lines.append(line)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return lines
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.fail("the server never became ready")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


def test_serve_loads_the_demo_once_and_prints_the_urls(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'lineage.db'}"
    port = free_port()
    process = _serve(store, port)
    try:
        lines = _wait_ready(process, port)
        text = "".join(lines)
        assert "demo scenario loaded" in text
        assert f"web UI:      http://127.0.0.1:{port}/" in text
        assert f"GraphiQL:    http://127.0.0.1:{port}/graphql" in text
        assert "auth:        off (loopback only)" in text
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ search(kinds: [MODEL]) { edges { node { name } } } }"},
            timeout=10,
        ).json()
        assert answer == {
            "data": {
                "search": {
                    "edges": [
                        {"node": {"name": "churn_classifier"}},
                        {"node": {"name": "ltv_regressor"}},
                    ]
                }
            }
        }
    finally:
        _stop(process)
    again = _serve(store, port)
    try:
        text = "".join(_wait_ready(again, port))
        assert "store is not empty: demo scenario not loaded again" in text
    finally:
        _stop(again)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_server_closes_its_store_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    # `docker stop` sends SIGTERM, after which uvicorn re-raises the signal and the process
    # ended before the store was closed: every stop counted as a crash, and the next start
    # recomputed all health.
    path = tmp_path / "lineage.db"
    port = free_port()
    process = _serve(f"sqlite:///{path}", port)
    try:
        _wait_ready(process, port)
        process.send_signal(sig)
        process.wait(timeout=30)
    finally:
        _stop(process)
    with sqlite3.connect(path) as con:
        keys = {key for (key,) in con.execute("SELECT key FROM meta")}
    assert "settled_health" in keys


def test_a_port_in_use_is_one_clear_error_before_anything_is_printed(tmp_path: Path) -> None:
    # The URLs were printed (and the demo loaded) before uvicorn found the port taken; it
    # then logged its own error and the process exited 3.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _serve(f"sqlite:///{tmp_path / 'lineage.db'}", port)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}" in output
    assert "choose another with --port" in output
    assert "web UI" not in output and "demo scenario" not in output
    assert not (tmp_path / "lineage.db").exists()


def test_a_port_is_listened_on_before_the_store_opens() -> None:
    # The port was bound early but listened on only when uvicorn started: a second server
    # binding it meanwhile (SO_REUSEADDR allows that) took it, and the first printed its
    # URLs, served nothing, and exited 0.
    first = listen("127.0.0.1", 0)
    try:
        port = first[0].getsockname()[1]
        with pytest.raises(click.ClickException, match=f"cannot listen on 127.0.0.1:{port}"):
            listen("127.0.0.1", port)
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the port already takes connections, which uvicorn then serves
    finally:
        for sock in first:
            sock.close()
