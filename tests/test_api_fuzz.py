"""Fuzzing the running server with schemathesis in GraphQL mode: generated queries and
mutations for every root field, valid and otherwise, never get a 5xx answer.

The schema comes from the code's SDL; each operation gets a bounded number of
examples, sent over HTTP to a real uvicorn serving the demo, so the whole run
takes about a minute. (Schemathesis's pytest plugin is not used: the operations
are parametrized here and drawn with hypothesis directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.graphql import nodes

from lineagegraph import demo
from lineagegraph.api.schema import sdl
from lineagegraph.config import Settings
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from tests.api_helpers import RunningServer, load_demo, running_server


def _literal(value: Any) -> graphql.ValueNode:
    """A GraphQL literal for a JSON value."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_literal(v) for v in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_literal(v))
            for k, v in value.items()
        ]
    )


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
_datasets = st.fixed_dictionaries(
    {"namespace": st.sampled_from([demo.SF, demo.PG, "s3://fuzz", ""]), "name": _names}
)
_events = st.fixed_dictionaries(
    {
        "eventType": st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "NOPE"]),
        "eventTime": st.sampled_from(["2026-10-06T00:00:00Z", "2026-10-06T00:00:00+02:00", "x"]),
        "run": st.fixed_dictionaries(
            {"runId": st.sampled_from(["3f5e83fa-3480-44ff-99c5-ff943904e5e8", "", "not-a-uuid"])}
        ),
        "job": st.fixed_dictionaries({"namespace": _names, "name": _names}),
        "inputs": st.lists(_datasets, max_size=2),
        "outputs": st.lists(_datasets, max_size=2),
        "producer": st.just("https://example.com/fuzz"),
        "schemaURL": st.just("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"),
    }
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=8,
)

schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes(
        min_value=datetime(2026, 9, 25), max_value=datetime(2026, 10, 10), timezones=st.just(UTC)
    ).map(lambda moment: nodes.String(moment.isoformat())),
)
schemathesis.graphql.scalar("JSON", st.one_of(_events, _json).map(_literal))

SCHEMA = schemathesis.graphql.from_file(sdl())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def fuzzed_server() -> Iterator[RunningServer]:
    service = load_demo(LineageService(open_store("memory://")))
    with running_server(service, Settings(store="memory://")) as running:
        yield running
    service.close()


def test_every_root_field_is_fuzzed() -> None:
    labels = {operation.label for operation in OPERATIONS}
    assert {
        "Query.lineage",
        "Query.impact",
        "Mutation.deploy",
        "Mutation.ingestOpenLineage",
    } <= labels
    assert len(labels) == 28


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.label for o in OPERATIONS])
def test_no_server_errors(operation: Any, fuzzed_server: RunningServer) -> None:
    endpoint = f"{fuzzed_server.url}/graphql"

    @given(data=st.data())
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        response = case.call(base_url=endpoint)
        assert response.status_code < 500, (response.status_code, case.body, response.text)
        body = response.json()
        assert "data" in body or "errors" in body
        for error in body.get("errors") or []:
            assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR", (
                case.body,
                error,
            )

    check()
