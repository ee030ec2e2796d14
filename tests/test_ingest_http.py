"""The OpenLineage HTTP endpoint and the artifact uploads, through the real app."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from lineagegraph.api.app import create_app
from lineagegraph.config import Settings
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest.batching import read_path
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.service import LineageService

LINEAGE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"
DBT = "/api/v1/ingest/dbt"
GX = "/api/v1/ingest/gx"
RUN = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


def valid_event(run: str = RUN, job: str = "load_orders") -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T10:00:00Z",
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": "pg", "name": "raw.orders"}],
        "outputs": [{"namespace": "pg", "name": "mart.orders"}],
    }


def make_client(service: LineageService, **overrides: Any) -> TestClient:
    options: dict[str, Any] = {"store": "memory://", "tokens": "", **overrides}
    return TestClient(create_app(Settings(**options), service))


@pytest.fixture
def client(service: LineageService) -> Iterator[TestClient]:
    with make_client(service) as test_client:
        yield test_client


def snapshot(service: LineageService) -> tuple[list[Any], list[Any]]:
    nodes, edges = service.store.export()
    return [n.model_dump() for n in nodes], [e.model_dump() for e in edges]


def test_one_event_is_created(client: TestClient, service: LineageService) -> None:
    response = client.post(LINEAGE, json=valid_event())
    assert response.status_code == 201
    assert response.content == b""
    run = service.node(make_id(Kind.RUN, "etl", "load_orders", RUN))
    assert run.attrs["state"] == "COMPLETE"


def test_compressed_bodies(client: TestClient, service: LineageService) -> None:
    body = json.dumps(valid_event()).encode()
    gzipped = client.post(
        LINEAGE,
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert gzipped.status_code == 201
    deflated = client.post(
        LINEAGE,
        content=zlib.compress(json.dumps(valid_event(job="other")).encode()),
        headers={"Content-Encoding": "deflate"},
    )
    assert deflated.status_code == 201
    assert service.stats().nodes_by_kind["JOB"] == 2
    # Several gzip members are one stream (RFC 1952), as gzip and Python read them; only
    # the first member was read, and its half of the event refused.
    third = json.dumps(valid_event(job="third")).encode()
    members = gzip.compress(third[:20]) + gzip.compress(third[20:]) + b"\0\0"
    concatenated = client.post(LINEAGE, content=members, headers={"Content-Encoding": "gzip"})
    assert concatenated.status_code == 201, concatenated.text
    assert service.stats().nodes_by_kind["JOB"] == 3
    # Members padded with NULs each, as tape-style writers pad every file to a block,
    # then concatenated: the padding after the first member was refused.
    fourth = json.dumps(valid_event(job="fourth")).encode()
    block = 512
    padded = b"".join(
        member + b"\0" * (block - len(member) % block)
        for member in (gzip.compress(fourth[:30]), gzip.compress(fourth[30:]))
    )
    assert gzip.decompress(padded) == fourth  # as Python's gzip module reads it
    answer = client.post(LINEAGE, content=padded, headers={"Content-Encoding": "gzip"})
    assert answer.status_code == 201, answer.text
    assert service.stats().nodes_by_kind["JOB"] == 4


def test_posting_the_same_event_twice_changes_nothing(
    client: TestClient, service: LineageService
) -> None:
    assert client.post(LINEAGE, json=valid_event()).status_code == 201
    before = snapshot(service)
    assert client.post(LINEAGE, json=valid_event()).status_code == 201
    assert snapshot(service) == before


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
def test_negative_examples_are_refused_and_nothing_is_stored(
    name: str, client: TestClient, service: LineageService, shared_data: Path
) -> None:
    body = (shared_data / "openlineage" / "proxy_fluentd" / name).read_bytes()
    response = client.post(LINEAGE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "BAD_USER_INPUT", "message": NEGATIVE[name]}
    assert service.stats().nodes == 0
    # the server keeps serving
    assert client.post(LINEAGE, json=valid_event()).status_code == 201
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (
            b"{not json",
            {},
            "body: not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1 column 2",
        ),
        (b"", {}, "body: empty; send an OpenLineage event as JSON"),
        (b"[1, 2]", {}, "event: must be a JSON object"),
        (b"\x1f\x8b\x08broken", {"Content-Encoding": "gzip"}, "body: not valid gzip data"),
        (
            gzip.compress(b'{"a": 1}', mtime=0)[:-6],
            {"Content-Encoding": "gzip"},
            "body: the gzip stream is truncated",
        ),
        (  # was stored, the junk ignored
            gzip.compress(b'{"a": 1}', mtime=0) + b"junk",
            {"Content-Encoding": "gzip"},
            "body: data follows the end of the gzip stream",
        ),
        (
            gzip.compress(b'{"a": 1}', mtime=0) + b"\x1f\x8bjunk",
            {"Content-Encoding": "gzip"},
            "body: data after the gzip stream is not valid",
        ),
        (  # NUL padding is all that may sit between or after members
            gzip.compress(b'{"a": 1}', mtime=0) + b"\0\0junk",
            {"Content-Encoding": "gzip"},
            "body: data follows the end of the gzip stream",
        ),
        (
            gzip.compress(b'{"a": 1}', mtime=0)
            + b"\0" * 3
            + gzip.compress(b"{}", mtime=0)
            + b"\0 ",
            {"Content-Encoding": "gzip"},
            "body: data follows the end of the gzip stream",
        ),
        (  # padding does not make a member, nor lift the limit
            b"".join(gzip.compress(b" ", mtime=0) + b"\0" * 7 for _ in range(16))
            + gzip.compress(b"{}", mtime=0),
            {"Content-Encoding": "gzip"},
            "body: more than 16 gzip members; send one stream",
        ),
        (
            zlib.compress(b'{"a": 1}') + b"\0\0" + zlib.compress(b"{}"),
            {"Content-Encoding": "deflate"},
            "body: data follows the end of the deflate stream",
        ),
        (  # each member is inflated apart: thousands of them took minutes
            b"".join(gzip.compress(b" ", mtime=0) for _ in range(16))
            + gzip.compress(b"{}", mtime=0),
            {"Content-Encoding": "gzip"},
            "body: more than 16 gzip members; send one stream",
        ),
        (
            zlib.compress(b'{"a": 1}') + zlib.compress(b"{}"),
            {"Content-Encoding": "deflate"},
            "body: data follows the end of the deflate stream",
        ),
        (
            b"{}",
            {"Content-Encoding": "br"},
            "unsupported Content-Encoding 'br': use gzip or deflate",
        ),
        (b'{"a": "\xc3\x28"}', {}, "body: not UTF-8 text"),
        (b'{"eventTime": NaN}', {}, "body: not valid JSON: NaN is not valid JSON"),
        (b"[" * 200 + b"]" * 200, {}, "body: JSON nested deeper than 100 levels"),
    ],
)
def test_malformed_bodies(
    body: bytes, headers: dict[str, str], message: str, client: TestClient, service: LineageService
) -> None:
    response = client.post(LINEAGE, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"] == message
    assert service.stats().nodes == 0


def test_other_methods_on_the_ingest_routes_are_405(client: TestClient) -> None:
    # A GET reached the UI's static files and was told 404.
    for path in (LINEAGE, BATCH, "/api/v1/ingest/dbt", "/api/v1/ingest/gx"):
        for method in ("GET", "PUT", "DELETE"):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "POST"
            assert response.json()["error"] == "METHOD_NOT_ALLOWED"


def test_an_event_with_a_lone_surrogate_is_refused_alone(
    client: TestClient, service: LineageService
) -> None:
    # Valid JSON syntax ("\\ud800"), but no Unicode text: no store can keep it.
    bad = valid_event(run="8e2b1c4a-1d0e-4d2b-9f3a-5b6c7d8e9f00", job="custom")
    # A field of a known facet is validated where it is ("job.name: must be a valid
    # string"); a facet of the producer's own is kept as it is sent, and refused by the store.
    bad["job"]["facets"] = {"acme_notes": {"_producer": "p", "_schemaURL": "s", "note": "\ud800"}}
    body = json.dumps(bad).encode()
    assert b"\\ud800" in body
    response = client.post(LINEAGE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid Unicode: it holds a lone surrogate" in response.json()["message"]
    assert service.stats().nodes == 0
    batch = json.dumps([valid_event(), bad]).encode()
    response = client.post(BATCH, content=batch, headers={"Content-Type": "application/json"})
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["ok", "failed"]
    assert "lone surrogate" in results[1]["error"]
    assert service.node(make_id(Kind.RUN, "etl", "load_orders", RUN)).attrs["state"] == "COMPLETE"


def test_a_name_too_long_for_an_id_is_refused_alone(
    client: TestClient, service: LineageService
) -> None:
    # Neo4j cannot index an id of about 8 KB: the event was answered 500 there (and the
    # mutation INTERNAL_SERVER_ERROR), while the embedded store kept it.
    long = valid_event(run="8e2b1c4a-1d0e-4d2b-9f3a-5b6c7d8e9f01")
    long["outputs"] = [{"namespace": "pg", "name": "t" * 9000}]
    response = client.post(LINEAGE, json=long)
    assert response.status_code == 400
    assert response.json()["error"] == "BAD_USER_INPUT"
    message = response.json()["message"]
    assert "a DATASET id is at most 8000 bytes of UTF-8, and dataset|pg|ttt" in message
    assert message.endswith("… has 9011")
    assert service.stats().nodes == 0
    # in a batch only that event fails; an id of 8000 bytes (of two-byte letters) is kept
    longest = valid_event(job="é" * 3977 + "x")  # run|etl|<7955 bytes>|<36> is 8000
    batch = client.post(BATCH, json=[longest, long])
    assert batch.status_code == 207, batch.json()
    assert [r["status"] for r in batch.json()["results"]] == ["ok", "failed"]
    run_id = make_id(Kind.RUN, "etl", longest["job"]["name"], RUN)
    assert len(run_id.encode()) == 8000
    assert service.node(run_id).attrs["state"] == "COMPLETE"
    query = """mutation($i: DatasetInput!) { upsertDataset(input: $i) {
        __typename ... on InvalidInputError { message } } }"""
    variables = {"i": {"namespace": "pg", "name": "t" * 9000}}
    refused = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert refused["data"]["upsertDataset"]["__typename"] == "InvalidInputError", refused
    assert "at most 8000 bytes" in refused["data"]["upsertDataset"]["message"]
    assert service.node(make_id(Kind.DATASET, "pg", "mart.orders")) is not None


def test_a_lone_surrogate_in_a_key_is_refused_naming_where_it_is(
    client: TestClient, service: LineageService, tmp_path: Path
) -> None:
    # In a key it failed the translation itself: a 500, and a traceback from the CLI.
    bad = valid_event(run="8e2b1c4a-1d0e-4d2b-9f3a-5b6c7d8e9f01", job="custom")
    bad["run"]["facets"] = {"acme": {"_producer": "p", "_schemaURL": "s", "\ud800": 1}}
    body = json.dumps(bad).encode()
    response = client.post(LINEAGE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "body: run.facets.acme: key '\\ud800': text is not valid Unicode: it holds a lone surrogate"
    )
    assert service.stats().nodes == 0
    batch = json.dumps([bad, valid_event()]).encode()
    response = client.post(BATCH, content=batch, headers={"Content-Type": "application/json"})
    assert response.status_code == 207
    assert [r["status"] for r in response.json()["results"]] == ["failed", "ok"]
    assert response.json()["results"][0]["error"].startswith("run.facets.acme: key")
    # The same array as a file: that event fails alone there too.
    path = tmp_path / "events.json"
    path.write_bytes(batch)
    documents = list(read_path(path))
    assert documents[0].error is not None and "lone surrogate" in documents[0].error
    assert documents[0].source == f"{path}[0]" and documents[1].value == valid_event()


def test_batch_reports_each_event(client: TestClient, service: LineageService) -> None:
    broken = valid_event(job="broken")
    del broken["run"]["runId"]
    events = [
        valid_event(),
        broken,
        valid_event(run="7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1", job="other"),
    ]
    response = client.post(BATCH, json=events)
    assert response.status_code == 207
    assert response.json() == {
        "received": 3,
        "succeeded": 2,
        "failed": 1,
        "results": [
            {"index": 0, "status": "ok"},
            {"index": 1, "status": "failed", "error": "run.runId: missing"},
            {"index": 2, "status": "ok"},
        ],
    }
    assert service.stats().nodes_by_kind["JOB"] == 2
    assert service.find(Kind.JOB, "etl", "broken") is None


def test_batch_status_codes(client: TestClient, service: LineageService) -> None:
    assert client.post(BATCH, json=[valid_event()]).status_code == 200
    nothing = client.post(BATCH, json=[{"eventTime": "x"}])
    assert nothing.status_code == 400
    assert nothing.json()["failed"] == 1
    not_a_list = client.post(BATCH, json=valid_event())
    assert not_a_list.status_code == 400
    assert not_a_list.json()["message"] == "body: must be a JSON array of OpenLineage events"
    gzipped = client.post(
        BATCH,
        content=gzip.compress(json.dumps([valid_event(job="zipped")]).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert gzipped.status_code == 200
    assert client.post(BATCH, json=[]).json() == {
        "received": 0,
        "succeeded": 0,
        "failed": 0,
        "results": [],
    }


def test_marquez_apples_through_the_batch_endpoint(
    client: TestClient, service: LineageService, shared_data: Path
) -> None:
    files = sorted((shared_data / "marquez" / "apples").glob("*.json"))
    events = [json.loads(f.read_text()) for f in files]
    response = client.post(BATCH, json=events)
    assert response.json()["succeeded"] == 8
    gather = make_id(Kind.JOB, "grandmas.kitchen", "gather_apples")
    reads = service.lineage(gather, direction=Direction.UPSTREAM, depth=1)
    assert [n.id for n in reads.nodes if n.kind is Kind.DATASET] == [
        make_id(Kind.DATASET, "backyard", "crab.apples")
    ]


def test_writing_needs_a_write_token(service: LineageService) -> None:
    with make_client(service, tokens="reader-secret:read,writer-secret:write") as client:
        missing = client.post(LINEAGE, json=valid_event())
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="lineagegraph"'
        read_only = client.post(
            LINEAGE, json=valid_event(), headers={"Authorization": "Bearer reader-secret"}
        )
        assert read_only.status_code == 403
        batch = client.post(
            BATCH, json=[valid_event()], headers={"Authorization": "Bearer reader-secret"}
        )
        assert batch.status_code == 403
        assert service.stats().nodes == 0
        written = client.post(
            LINEAGE, json=valid_event(), headers={"Authorization": "Bearer writer-secret"}
        )
        assert written.status_code == 201


def test_bodies_over_the_limit(service: LineageService) -> None:
    with make_client(service, max_body_bytes=2000) as client:
        big = valid_event()
        big["job"]["facets"] = {"notes": {"text": "x" * 5000}}
        assert client.post(LINEAGE, json=big).status_code == 413
        # compressed, it fits the body limit, but it may only expand to 10x the limit
        bomb = gzip.compress(json.dumps({**valid_event(), "pad": "y" * 30_000}).encode())
        assert len(bomb) < 2000
        refused = client.post(LINEAGE, content=bomb, headers={"Content-Encoding": "gzip"})
        assert refused.status_code == 413
        assert service.stats().nodes == 0


def test_dbt_and_gx_uploads(client: TestClient, service: LineageService, shared_data: Path) -> None:
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
    body = {
        "manifest": json.loads((folder / "manifest.json").read_text()),
        "run_results": json.loads((folder / "run_results.json").read_text()),
    }
    response = client.post(
        "/api/v1/ingest/dbt",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert response.status_code == 201
    assert response.json()["warnings"] == []
    assert service.stats().nodes_by_kind["CHECK"] == 20
    profile = json.loads(
        (shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json").read_text()
    )
    unnamed = client.post("/api/v1/ingest/gx", json={"result": profile})
    assert unnamed.status_code == 400
    assert "does not name its dataset" in unnamed.json()["message"]
    assert "--" not in unnamed.json()["message"]  # it named CLI flags to HTTP clients
    named = client.post(
        "/api/v1/ingest/gx",
        json={"result": profile, "namespace": "file", "name": "/data/titanic.csv"},
    )
    assert named.status_code == 201
    assert service.stats().nodes_by_kind["RESULT"] == 51
    assert client.post("/api/v1/ingest/dbt", json={}).json()["message"] == "body.manifest: missing"
    # an empty body is told what it should have held
    for route, expected in (("dbt", "dbt artifacts"), ("gx", "Great Expectations results")):
        empty = client.post(f"/api/v1/ingest/{route}", content=b"")
        assert empty.json()["message"] == f"body: empty; send {expected} as JSON"


# --- generated malformed payloads ---------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)

PATHS = [
    ("eventTime",),
    ("producer",),
    ("run",),
    ("run", "runId"),
    ("run", "facets"),
    ("job",),
    ("job", "name"),
    ("job", "namespace"),
    ("job", "facets"),
    ("inputs",),
    ("outputs",),
    ("eventType",),
]
FACETS = [
    "schema",
    "columnLineage",
    "dataQualityAssertions",
    "ownership",
    "version",
    "symlinks",
    "lifecycleStateChange",
    "parent",
    "errorMessage",
    "nominalTime",
]


def mutate(path: tuple[str, ...], value: Any, drop: bool) -> dict[str, Any]:
    document = valid_event()
    target: Any = document
    for key in path[:-1]:
        target = target.setdefault(key, {})
    if drop:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return document


malformed = st.one_of(
    json_values,
    st.builds(mutate, st.sampled_from(PATHS), json_values, st.booleans()),
    st.builds(
        lambda facet, value: {
            **valid_event(),
            "outputs": [{"namespace": "pg", "name": "x", "facets": {facet: value}}],
        },
        st.sampled_from(FACETS),
        json_values,
    ),
    st.builds(
        lambda facet, value: {**valid_event(), "run": {"runId": RUN, "facets": {facet: value}}},
        st.sampled_from(["parent", "errorMessage", "nominalTime"]),
        json_values,
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=malformed)
def test_generated_payloads_never_cause_a_server_error(
    client: TestClient, service: LineageService, payload: Any
) -> None:
    before = snapshot(service)
    response = client.post(
        LINEAGE, content=json.dumps(payload), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"] == "BAD_USER_INPUT"
        assert response.json()["message"]
        assert snapshot(service) == before


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    moment=st.datetimes(timezones=st.none() | st.timezones()),
    separator=st.sampled_from(["T", " "]),
)
def test_generated_event_times_never_cause_a_server_error(
    client: TestClient, service: LineageService, moment: Any, separator: str
) -> None:
    document = valid_event()
    document["eventTime"] = moment.isoformat(sep=separator)
    response = client.post(LINEAGE, json=document)
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert response.json()["message"].startswith("eventTime: must be")


def test_an_upload_with_a_key_the_route_does_not_take_is_refused(
    client: TestClient, service: LineageService, shared_data: Path
) -> None:
    folder = shared_data / "openlineage" / "dbt" / "jaffle_shop_postgres_run"
    manifest = json.loads((folder / "manifest.json").read_text())
    run_results = json.loads((folder / "run_results.json").read_text())
    # the misspelt run results were dropped, and 201 said nothing of it
    typo = client.post(DBT, json={"manifest": manifest, "runresults": run_results})
    assert typo.status_code == 400
    assert typo.json() == {
        "error": "BAD_USER_INPUT",
        "message": "body: unknown key 'runresults' (did you mean 'run_results'?); the keys it "
        "takes are manifest, run_results, catalog, sources, dataset_namespace, job_namespace",
    }
    profile = json.loads(
        (shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json").read_text()
    )
    several = client.post(GX, json={"result": profile, "table": "t", "suite": "s"})
    assert several.status_code == 400
    assert several.json()["message"] == (
        "body: unknown keys 'table', 'suite'; "
        "the keys it takes are result, dataset, namespace, name"
    )
    assert snapshot(service) == ([], [])


def test_a_gx_upload_names_its_dataset_as_the_cli_does(
    client: TestClient, service: LineageService, shared_data: Path, two_asset_checkpoint: Any
) -> None:
    profile = json.loads(
        (shared_data / "great_expectations" / "BasicDatasetProfiler_evrs.json").read_text()
    )
    refusals = {
        "job|etl|x": "body.dataset: job|etl|x is a JOB id, not a dataset id",
        "titanic": "body.dataset: not an entity id: 'titanic'",
    }
    for dataset, message in refusals.items():
        refused = client.post(GX, json={"result": profile, "dataset": dataset})
        assert (refused.status_code, refused.json()["message"]) == (400, message)
    both = client.post(
        GX, json={"result": profile, "dataset": "dataset|pg://x|t", "namespace": "pg://x"}
    )
    assert both.json()["message"] == "give body.dataset or body.namespace with body.name, not both"
    half = client.post(GX, json={"result": profile, "name": "t"})
    assert half.json()["message"] == "body.namespace and body.name go together"
    # the dataset was not to be named: the results went to the one the file names, if any
    titanic = "dataset|pg://x|brand_new_table"
    named = client.post(GX, json={"result": profile, "dataset": titanic})
    assert named.status_code == 201, named.text
    answer = named.json()
    assert answer["written"] == {"CHECK": 51, "DATASET": 1, "FIELD": 7, "RESULT": 51}
    assert answer["store"] == {"nodes": 110, "edges": 109}
    assert answer["warnings"] == [
        f"{titanic}: no such dataset was stored; it was created to hold these results "
        "(check its id if it should have existed)"
    ]
    on_age = service.store.expand(
        [make_id(Kind.FIELD, "pg://x", "brand_new_table", "Age")],
        Direction.DOWNSTREAM,
        [EdgeKind.HAS_CHECK],
    )
    ages = [
        r for r in profile["results"] if r["expectation_config"]["kwargs"].get("column") == "Age"
    ]
    assert len(on_age) == len(ages) > 1
    # a checkpoint of two assets cannot put both on the one dataset named
    before = snapshot(service)
    mixed = client.post(GX, json={"result": two_asset_checkpoint, "dataset": titanic})
    assert mixed.status_code == 400
    assert "are of different datasets" in mixed.json()["message"]
    assert "--" not in mixed.json()["message"]
    assert snapshot(service) == before
