"""docker-compose.yml, the Dockerfile and .dockerignore: checked as files, no Docker needed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineagegraph.config import Settings

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's ``${VAR}`` / ``${VAR:-default}`` substitution, with ``env`` as the shell."""
    env = env or {}

    def replace(match: re.Match[str]) -> str:
        return env.get(match["name"]) or match["default"] or ""

    return VARIABLE.sub(replace, value)


def environment(service: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    """A service's environment as a mapping, interpolated, whichever form the file uses."""
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def neo4j(compose: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"]["neo4j"]
    return service


@pytest.fixture(scope="module")
def app(compose: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"]["lineagegraph"]
    return service


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"neo4j", "lineagegraph"}


def test_neo4j_is_community_526_lts(neo4j: dict[str, Any]) -> None:
    assert neo4j["image"] == "neo4j:5.26-community"


def test_neo4j_ports_are_published_on_loopback_only(neo4j: dict[str, Any]) -> None:
    # Neo4j's default password is in this file: the ports must not reach the network.
    assert {str(port) for port in neo4j["ports"]} == {"127.0.0.1:7474:7474", "127.0.0.1:7687:7687"}


def test_neo4j_auth_defaults_and_follows_the_password_variable(neo4j: dict[str, Any]) -> None:
    assert environment(neo4j)["NEO4J_AUTH"] == "neo4j/lineagegraph-dev"
    chosen = environment(neo4j, {"NEO4J_PASSWORD": "another-secret"})["NEO4J_AUTH"]
    assert chosen == "neo4j/another-secret"


def test_neo4j_memory_is_bounded(neo4j: dict[str, Any]) -> None:
    env = environment(neo4j)

    def mebibytes(size: str) -> int:
        match = re.fullmatch(r"(\d+)([MG])", size.upper())
        assert match, f"not a size: {size!r}"
        return int(match[1]) * (1024 if match[2] == "G" else 1)

    pagecache = mebibytes(env["NEO4J_server_memory_pagecache_size"])
    initial = mebibytes(env["NEO4J_server_memory_heap_initial__size"])
    maximum = mebibytes(env["NEO4J_server_memory_heap_max__size"])
    assert 0 < pagecache <= 4096
    assert 0 < initial <= maximum <= 4096


def test_neo4j_data_lives_in_a_named_volume(compose: dict[str, Any], neo4j: dict[str, Any]) -> None:
    mounts = [str(volume).split(":") for volume in neo4j["volumes"]]
    data = [source for source, target, *_ in mounts if target == "/data"]
    assert len(data) == 1
    assert data[0] in (compose.get("volumes") or {}), "the /data volume must be a named volume"


def test_neo4j_healthcheck_probes_neo4j(neo4j: dict[str, Any]) -> None:
    command = healthcheck_command(neo4j)
    assert "cypher-shell" in command or ("wget" in command and "7474" in command)
    assert "curl" not in command  # the community image has no curl


def test_app_is_built_from_the_repo_dockerfile(app: dict[str, Any]) -> None:
    build = app["build"]
    context = build if isinstance(build, str) else build["context"]
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context).resolve() == ROOT
    assert (ROOT / context / dockerfile).is_file()


def test_app_waits_for_a_healthy_neo4j(app: dict[str, Any]) -> None:
    assert app["depends_on"]["neo4j"]["condition"] == "service_healthy"


def test_app_port_and_healthcheck(app: dict[str, Any]) -> None:
    # Published on loopback unless LINEAGEGRAPH_BIND says otherwise: without tokens anyone
    # reaching the port may write.
    assert [interpolate(str(port), None) for port in app["ports"]] == ["127.0.0.1:8000:8000"]
    chosen = [interpolate(str(port), {"LINEAGEGRAPH_BIND": "0.0.0.0"}) for port in app["ports"]]
    assert chosen == ["0.0.0.0:8000:8000"]
    assert "http://localhost:8000/healthz" in healthcheck_command(app)


def test_app_store_points_at_the_neo4j_service(app: dict[str, Any]) -> None:
    store = environment(app)["LINEAGEGRAPH_STORE"]
    assert store == "neo4j://neo4j:7687"


def test_app_credentials_match_neo4j(app: dict[str, Any], neo4j: dict[str, Any]) -> None:
    for env in ({}, {"NEO4J_PASSWORD": "another-secret"}):
        user, _, password = environment(neo4j, env)["NEO4J_AUTH"].partition("/")
        app_env = environment(app, env)
        assert app_env["LINEAGEGRAPH_NEO4J_USER"] == user
        assert app_env["LINEAGEGRAPH_NEO4J_PASSWORD"] == password
        assert len(password) >= 8  # Neo4j 5 refuses shorter initial passwords


def test_app_tokens_come_from_the_environment(app: dict[str, Any]) -> None:
    assert environment(app)["LINEAGEGRAPH_TOKENS"] == ""
    spec = "reader:read,writer:write"
    assert environment(app, {"LINEAGEGRAPH_TOKENS": spec})["LINEAGEGRAPH_TOKENS"] == spec


def test_app_settings_are_ones_the_server_reads(app: dict[str, Any]) -> None:
    known = {f"LINEAGEGRAPH_{name.upper()}" for name in Settings.model_fields}
    assert set(environment(app)) <= known


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    values = {word: rest for word, rest in instructions}  # the last of each kind
    assert [rest for word, rest in instructions if word == "FROM"] == ["python:3.11-slim"]
    assert any(word == "RUN" and "pip install ." in rest for word, rest in instructions)
    assert json.loads(values["CMD"]) == [
        "lineagegraph",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--open",
    ]
    assert values["EXPOSE"].split() == ["8000"]
    user = values["USER"].split(":")[0]
    assert user not in {"root", "0"}


def test_dockerignore_keeps_what_pip_install_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # an allow-list: secrets, .venv and .neo4j stay out
    for needed in ("!pyproject.toml", "!README.md", "!src/"):
        assert needed in patterns
