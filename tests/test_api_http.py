"""The HTTP app under a real uvicorn on a free loopback port, with httpx: GraphQL, GraphiQL,
probes, metrics, limits (depth, aliases, tokens, body size), auth and store outages."""

from __future__ import annotations

import gc
import gzip
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from lineagegraph import demo
from lineagegraph.collector import SERVING_YOUNG_THRESHOLD
from lineagegraph.config import Settings
from lineagegraph.service import LineageService
from lineagegraph.store import open_store
from lineagegraph.store.neo4j import Neo4jStore
from tests.api_helpers import RunningServer, free_port, load_demo, running_server

TOKENS = "reader-secret:read,writer-secret:write"
LINEAGE = """query($id: ID!) { lineage(id: $id, depth: 1) { totalCount nodes { node { id } } } }"""


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """The demo behind an open (auth-off, loopback) server with a small body limit."""
    service = load_demo(LineageService(open_store("memory://")))
    settings = Settings(store="memory://", max_body_bytes=4096, max_aliases=5, max_query_tokens=200)
    with running_server(service, settings) as running:
        yield running
    service.close()


@pytest.fixture(scope="module")
def secured() -> Iterator[RunningServer]:
    """The demo behind a server with read and write tokens."""
    service = load_demo(LineageService(open_store("memory://")))
    with running_server(service, Settings(store="memory://", tokens=TOKENS)) as running:
        yield running
    service.close()


def post(
    client: httpx.Client, query: str, variables: dict[str, object] | None = None
) -> httpx.Response:
    return client.post("/graphql", json={"query": query, "variables": variables or {}})


# --- GraphQL and the other routes -------------------------------------------------------------


def test_graphql_over_post_and_get(server: RunningServer) -> None:
    with server.client() as client:
        response = post(client, LINEAGE, {"id": demo.STG_ORDERS.id})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"]["lineage"]["totalCount"] == 2
        got = client.get(
            "/graphql",
            params={
                "query": "query($id: ID!) { node(id: $id) { name } }",
                "variables": json.dumps({"id": demo.STG_ORDERS.id}),
            },
        )
        assert got.status_code == 200
        assert got.json() == {"data": {"node": {"name": "analytics.staging.stg_orders"}}}


def test_mutations_are_refused_over_get(server: RunningServer) -> None:
    with server.client() as client:
        response = client.get(
            "/graphql",
            params={
                "query": 'mutation { upsertModel(input: {namespace: "m", name: "x"}) '
                "{ __typename } }"
            },
        )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": "mutations are not allowed when using GET",
        "extensions": {"code": "BAD_REQUEST"},
    }


def test_graphiql_in_a_browser(server: RunningServer) -> None:
    with server.client() as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    # served from here, not unpkg.com (the browser tests run it with no internet)
    assert "unpkg.com" not in page.text and "/vendor/graphiql.min.js" in page.text
    with server.client() as client:
        script = client.get("/vendor/graphiql.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_probes_ui_and_unknown_routes(server: RunningServer) -> None:
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok", "version": "0.1.0"}
        assert client.get("/readyz").json() == {"status": "ready", "store": "memory://"}
        ui = client.get("/")
        assert ui.status_code == 200 and ui.headers["content-type"].startswith("text/html")
        missing = client.get("/no/such/route")
        assert missing.status_code == 404
        assert missing.json()["error"] == "http_error"


def test_other_methods_on_graphql_are_405_allowing_get_and_post(server: RunningServer) -> None:
    # The UI's mount at / answered them, with Allow: GET, HEAD and no error code.
    with server.client() as client:
        for method in ("PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND"):
            response = client.request(method, "/graphql", json={"query": "{ kinds }"})
            assert response.status_code == 405, method
            assert response.headers["allow"] == "GET, POST", method
            if method != "HEAD":
                errors = response.json()["errors"]
                assert errors[0]["extensions"] == {"code": "METHOD_NOT_ALLOWED"}, method


def test_metrics_count_requests_operations_and_traversals(server: RunningServer) -> None:
    with server.client() as client:
        post(client, LINEAGE, {"id": demo.STG_ORDERS.id})
        client.get("/no/such/page")
        client.put("/graphql", json={"query": "{ kinds }"})
        # Root fields the schema lacks make no series of their own (each made-up name
        # made one: /metrics and memory grew without bound).
        for made_up in ("{ a0 }", "{ kinds zz1 }", "mutation { kinds }"):
            assert post(client, made_up).json()["errors"]
        assert post(client, "{ __schema { queryType { name } } }").status_code == 200
        text = client.get("/metrics").text
    assert 'lineagegraph_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    # what the UI's mount at / refuses matched no route (it was counted as the UI's)
    assert 'lineagegraph_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert 'lineagegraph_http_requests_total{method="PUT",route="/graphql",status="405"}' in text
    assert (
        'lineagegraph_graphql_operations_total{operation="lineage",outcome="ok",type="query"}'
        in text
    )
    assert "a0" not in text and "zz1" not in text
    invalid = 'lineagegraph_graphql_operations_total{operation="invalid",outcome="error",'
    assert f'{invalid}type="query"}} 2.0' in text
    assert f'{invalid}type="mutation"}} 1.0' in text
    # GraphiQL's schema fetch is introspection, not an invalid document
    assert 'operations_total{operation="__schema",outcome="ok",type="query"}' in text
    assert 'lineagegraph_traversal_nodes_count{query="lineage"}' in text
    assert "lineagegraph_http_request_seconds_bucket" in text


# --- limits -----------------------------------------------------------------------------------


def test_a_too_deep_query_is_refused(server: RunningServer) -> None:
    nested = "name"
    for _ in range(16):
        nested = f"dataset {{ fields {{ {nested} }} }}"
    query = (
        '{ entity(kind: FIELD, namespace: "n", name: "t", path: "p") { ... on Field { '
        + nested
        + " } } }"
    )
    with server.client() as client:
        response = post(client, query)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 15"
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_too_many_aliases_are_refused(server: RunningServer) -> None:
    query = "{ " + " ".join(f"a{i}: kinds" for i in range(6)) + " }"
    with server.client() as client:
        body = post(client, query).json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "6 aliases found. Allowed: 5"


def test_too_many_tokens_are_refused(server: RunningServer) -> None:
    query = "{ " + "kinds " * 300 + "}"
    with server.client() as client:
        response = post(client, query)
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 200 tokens. Parsing aborted."
    )


def test_a_body_over_the_limit_is_413_by_length_and_by_stream(server: RunningServer) -> None:
    big = json.dumps({"query": "{ kinds }", "variables": {"pad": "x" * 5000}}).encode()
    with server.client() as client:
        declared = client.post(
            "/graphql", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413
        assert declared.json() == {
            "error": "PAYLOAD_TOO_LARGE",  # as the expansion limit of /api/v1/lineage says
            "message": "request bodies are limited to 4096 bytes "
            "(the server's LINEAGEGRAPH_MAX_BODY_BYTES)",
        }

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        streamed = client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        ol = client.post(
            "/api/v1/lineage", content=chunks(), headers={"content-type": "application/json"}
        )
        assert ol.status_code == 413
        # The server is fine afterwards.
        assert post(client, "{ kinds }").status_code == 200


def test_an_invalid_content_length_is_400(server: RunningServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 12abc\r\nConnection: close\r\n\r\n{}"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.split(b"\r\n", 1)[0] in (b"HTTP/1.1 400 Bad Request", b"HTTP/1.1 400 ")


def test_malformed_requests_are_400_never_500(server: RunningServer) -> None:
    with server.client() as client:
        not_json = client.post(
            "/graphql", content=b"{", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 400
        assert not_json.json()["errors"][0]["message"].startswith("not valid JSON: Expecting")
        # like the other requests without a document to run (it was BAD_USER_INPUT)
        assert not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        # What the OpenLineage routes refuse, /graphql refuses too (it was a 500)
        nested = b'{"query": "{ kinds }", "variables": ' + b"[" * 1500 + b"]" * 1500 + b"}"
        too_deep = client.post(
            "/graphql", content=nested, headers={"content-type": "application/json"}
        )
        assert too_deep.status_code == 400
        assert too_deep.json()["errors"][0]["message"] == "JSON nested deeper than 100 levels"
        event = b'{"run": {"facets": {"mine": {"\\ud800": 1}}}}'
        body = b'{"query": "mutation($e: JSON!) { ingestOpenLineage(event: $e) { __typename } }", '
        surrogate = client.post(
            "/graphql",
            content=body + b'"variables": {"e": ' + event + b"}}",
            headers={"content-type": "application/json"},
        )
        assert surrogate.status_code == 400
        assert surrogate.json()["errors"][0]["message"] == (
            "variables.e.run.facets.mine: key '\\ud800': "
            "text is not valid Unicode: it holds a lone surrogate"
        )
        # JSON that is no object: a string, a number, true or null (each was a 500)
        for scalar in (b'"{ kinds }"', b"5", b"true", b"null"):
            not_an_object = client.post(
                "/graphql", content=scalar, headers={"content-type": "application/json"}
            )
            assert not_an_object.status_code == 400, scalar
            assert not_an_object.json()["errors"] == [
                {
                    "message": "the body must be a JSON object: {query, variables, operationName}",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        # a GET's variables may still be null; other JSON that is no object is refused
        null_variables = client.get("/graphql", params={"query": "{ kinds }", "variables": "null"})
        assert null_variables.status_code == 200 and null_variables.json()["data"]["kinds"]
        scalar_variables = client.get("/graphql", params={"query": "{ kinds }", "variables": "5"})
        assert scalar_variables.status_code == 400
        # a compressed body was read as text, and a plain one labelled gzip was run
        plain = json.dumps({"query": "{ kinds }"}).encode()
        for body in (gzip.compress(plain, mtime=0), plain):
            compressed = client.post(
                "/graphql",
                content=body,
                headers={"content-type": "application/json", "content-encoding": "gzip"},
            )
            assert compressed.status_code == 415
            assert compressed.json()["errors"] == [
                {
                    "message": "/graphql takes uncompressed bodies, not Content-Encoding 'gzip'",
                    "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"},
                }
            ]
        identity = client.post(
            "/graphql",
            content=plain,
            headers={"content-type": "application/json", "content-encoding": "identity"},
        )
        assert identity.status_code == 200 and identity.json()["data"]["kinds"]
        no_query = client.post("/graphql", json={"variables": {}})
        assert no_query.status_code == 400
        wrong_type = client.post("/graphql", content=b"x", headers={"content-type": "text/plain"})
        assert wrong_type.status_code == 400
        batch = client.post("/graphql", json=[{"query": "{ kinds }"}])
        unknown = client.post("/graphql", json={"query": "query A { kinds }", "operationName": "B"})
        # what the HTTP layer refuses before running a document had no code
        for refused in (no_query, wrong_type, batch, unknown):
            assert refused.status_code == 400
            assert refused.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
        bad_variable = post(client, LINEAGE, {"id": {"not": "an id"}})
        assert bad_variable.status_code == 200
        assert bad_variable.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        # Every error has a code, a document that does not parse too
        syntax = post(client, "{ kinds", {})
        assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        # Several operations need an operationName (strawberry would run the first)
        two = post(client, "query A { kinds } query B { __typename }", {})
        assert two.json()["data"] is None
        assert two.json()["errors"][0]["message"].startswith("Must provide operationName")
        assert two.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        chosen = client.post(
            "/graphql",
            json={"query": "query A { kinds } query B { __typename }", "operationName": "B"},
        )
        assert chosen.json() == {"data": {"__typename": "Query"}}
        bad_time = post(
            client,
            "query($id: ID!, $t: DateTime) { lineage(id: $id, asOf: $t) { totalCount } }",
            {"id": demo.STG_ORDERS.id, "t": "yesterday"},
        )
        assert bad_time.status_code == 200
        assert bad_time.json()["data"] is None


# --- auth -------------------------------------------------------------------------------------

MUTATION = 'mutation { upsertModel(input: {namespace: "mlflow://t", name: "m"}) { __typename } }'


def test_missing_and_wrong_tokens_are_401(secured: RunningServer) -> None:
    with secured.client() as anonymous:
        missing = post(anonymous, "{ kinds }")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="lineagegraph"'
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    with secured.client("not-a-token") as wrong:
        refused = post(wrong, "{ kinds }")
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["message"] == "unknown bearer token"
        assert "not-a-token" not in refused.text
    with httpx.Client(base_url=secured.url, headers={"Authorization": "Basic abc"}) as basic:
        assert post(basic, "{ kinds }").status_code == 401


def test_a_read_token_reads_but_cannot_write(secured: RunningServer) -> None:
    with secured.client("reader-secret") as reader:
        assert post(reader, "{ kinds }").status_code == 200
        refused = post(reader, MUTATION)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        ingest = reader.post("/api/v1/lineage", json={"eventType": "COMPLETE"})
        assert ingest.status_code == 403
    with secured.client("writer-secret") as writer:
        written = post(writer, MUTATION)
        assert written.status_code == 200
        assert written.json() == {"data": {"upsertModel": {"__typename": "EntityPayload"}}}


def test_the_open_routes_need_no_token(secured: RunningServer) -> None:
    with secured.client() as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200
        assert anonymous.get("/metrics").status_code == 200
        assert anonymous.get("/graphql", headers={"Accept": "text/html"}).status_code == 200


# --- the store going away ---------------------------------------------------------------------


def test_a_closed_store_is_503_with_a_clear_message() -> None:
    service = load_demo(LineageService(open_store("memory://")))
    with (
        running_server(service, Settings(store="memory://")) as running,
        running.client() as client,
    ):
        assert post(client, "{ kinds }").status_code == 200
        service.close()
        down = post(client, LINEAGE, {"id": demo.STG_ORDERS.id})
        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        error = down.json()["errors"][0]
        assert error["message"] == "store memory:// is closed"
        assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "store": "memory://",
            "message": "store memory:// is closed",
        }
        assert client.get("/healthz").status_code == 200
        ingest = client.post(
            "/api/v1/lineage",
            json=json.loads(
                '{"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z", '
                '"run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"}, '
                '"job": {"namespace": "n", "name": "j"}, "producer": "p", '
                '"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}'
            ),
        )
        assert ingest.status_code == 503
        assert ingest.headers["retry-after"] == "5"
        assert ingest.json()["error"] == "STORE_UNAVAILABLE"
        batch = client.post("/api/v1/lineage/batch", content=b"[" + ingest.request.content + b"]")
        assert batch.status_code == 503
        assert batch.headers["retry-after"] == "5"


def test_neo4j_at_a_closed_port_is_503() -> None:
    store = Neo4jStore.from_url(f"bolt://127.0.0.1:{free_port()}")
    service = LineageService(store, reconcile_health=False)
    with running_server(service, Settings(store=store.url)) as running, running.client() as client:
        down = post(client, LINEAGE, {"id": demo.STG_ORDERS.id})
        assert down.status_code == 503
        assert down.json()["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert "is unavailable" in down.json()["errors"][0]["message"]
        assert client.get("/readyz").status_code == 503
        write = post(client, MUTATION)
        assert write.status_code == 503
    service.close()


def test_integers_past_64_bits_in_attributes_are_served(server: RunningServer) -> None:
    from lineagegraph.model import ChangeSet, Dataset

    server.service.apply(
        ChangeSet().add(Dataset(namespace="s3://big", name="t", facets={"rows": 2**70}))
    )
    with server.client() as client:
        response = post(client, '{ node(id: "dataset|s3://big|t") { attrs } }')
    assert response.status_code == 200
    assert response.json()["data"]["node"]["attrs"]["facets"] == {"rows": 2**70}


def test_a_server_freezes_what_it_loaded_and_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    service = load_demo(LineageService(open_store("memory://")))
    with running_server(service, Settings(store="memory://")) as running:
        with running.client() as client:
            assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (SERVING_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    service.close()
    assert gc.get_threshold() == before
