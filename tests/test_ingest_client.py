"""The official openlineage-python client emitting to a running server, as a producer would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    schema_dataset,
    sql_job,
)
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)
from requests import HTTPError

from lineagegraph.config import Settings
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.service import LineageService
from tests.api_helpers import running_server

TOKEN = "producer-secret"
PG = "postgres://warehouse:5432"
RUN = "0190a0b5-4c7e-7bd8-a5e7-2d4f2b8c9e10"

LINEAGE_QUERY = """
query ($id: ID!) {
  lineage(id: $id, direction: UPSTREAM, columnLevel: true) {
    nodes { node { id kind } }
    edges { from to kind source }
  }
}
"""


def schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="bigint") for n in names]
    )


def events() -> list[RunEvent]:
    orders = InputDataset(
        namespace=PG, name="public.orders", facets={"schema": schema("id", "customer_id")}
    )
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "customer_id": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=PG,
                        name="public.orders",
                        field="customer_id",
                        transformations=[
                            column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")
                        ],
                    )
                ]
            ),
            "order_count": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=PG,
                        name="public.orders",
                        field="id",
                        transformations=[
                            column_lineage_dataset.Transformation(
                                type="DIRECT", subtype="AGGREGATION"
                            )
                        ],
                    )
                ]
            ),
        }
    )
    assertions = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion="not_null", success=False, column="customer_id"
            )
        ]
    )
    stats = OutputDataset(
        namespace=PG,
        name="public.customer_stats",
        facets={
            "schema": schema("customer_id", "order_count"),
            "columnLineage": lineage,
            "dataQualityAssertions": assertions,
        },
    )
    job = Job(
        namespace="airflow",
        name="shop.customer_stats",
        facets={"sql": sql_job.SQLJobFacet(query="select ...")},
    )
    return [
        RunEvent(
            eventType=RunState.START,
            eventTime="2024-05-01T10:00:00Z",
            run=Run(runId=RUN),
            job=job,
            inputs=[orders],
            outputs=[stats],
        ),
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2024-05-01T10:03:00Z",
            run=Run(runId=RUN),
            job=job,
        ),
    ]


def client_for(url: str, token: str) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        compression=HttpCompression.GZIP,
        auth=ApiKeyTokenProvider({"apiKey": token}),
        retry={"total": 0},
    )
    return OpenLineageClient(transport=HttpTransport(config))


def test_the_python_client_emits_to_the_server(service: LineageService) -> None:
    settings = Settings(store="memory://", tokens=f"{TOKEN}:write,reader:read")
    with running_server(service, settings) as server:
        client = client_for(server.url, TOKEN)
        for run_event in events():
            client.emit(run_event)
        client.close()
        with server.client(TOKEN) as http:
            answer = http.post(
                "/graphql",
                json={
                    "query": LINEAGE_QUERY,
                    "variables": {"id": make_id(Kind.DATASET, PG, "public.customer_stats")},
                },
            ).json()
    assert "errors" not in answer, answer
    lineage = answer["data"]["lineage"]
    ids = {n["node"]["id"] for n in lineage["nodes"]}
    job = make_id(Kind.JOB, "airflow", "shop.customer_stats")
    orders = make_id(Kind.DATASET, PG, "public.orders")
    assert {job, orders} <= ids
    edges = {(e["from"], e["to"], e["kind"], e["source"]) for e in lineage["edges"]}
    assert (orders, job, "READS", "OPENLINEAGE") in edges
    assert (
        make_id(Kind.FIELD, PG, "public.orders", "id"),
        make_id(Kind.FIELD, PG, "public.customer_stats", "order_count"),
        "DERIVES",
        "OPENLINEAGE",
    ) in edges
    run = service.node(make_id(Kind.RUN, "airflow", "shop.customer_stats", RUN))
    assert run.attrs["state"] == "COMPLETE"
    assert run.attrs["started_at"] == "2024-05-01T10:00:00Z"
    result = service.node(
        make_id(Kind.RESULT, PG, "public.customer_stats", "not_null(customer_id)", RUN)
    )
    assert result.attrs["passed"] is False


def test_the_python_client_is_refused_without_write_scope(service: LineageService) -> None:
    settings = Settings(store="memory://", tokens=f"{TOKEN}:write,reader:read")
    with running_server(service, settings) as server:
        client = client_for(server.url, "reader")
        with pytest.raises(HTTPError) as raised:
            client.emit(events()[0])
        response: Any = raised.value.response
        assert response.status_code == 403
    assert service.stats().nodes == 0


# --- the official Java client (tools/openlineage-java-emitter, built by make test) ------------

EMITTER = Path(__file__).resolve().parent.parent / "tools" / "openlineage-java-emitter" / "target"
JAVA_RUN = "0190a0b5-4c7e-7bd8-a5e7-2d4f2b8c9e11"


def emit_with_java(url: str, token: str) -> subprocess.CompletedProcess[str]:
    """Run the Java emitter against a server; it must have been built (make test does)."""
    if not (EMITTER / "classes").is_dir() or not (EMITTER / "lib").is_dir():
        pytest.fail("the Java emitter is not built: run `make emitter` (make test does)")
    java = shutil.which("java")
    if java is None:
        pytest.fail("the Java emitter needs a JDK: java is not on PATH")
    classpath = f"{EMITTER / 'classes'}{os.pathsep}{EMITTER / 'lib' / '*'}"
    return subprocess.run(
        [java, "-cp", classpath, "dev.lineagegraph.emitter.Emit", url, token, JAVA_RUN],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_java_client_emits_to_the_server(service: LineageService) -> None:
    settings = Settings(store="memory://", tokens=f"{TOKEN}:write,reader:read")
    with running_server(service, settings) as server:
        emitted = emit_with_java(server.url, TOKEN)
        assert emitted.returncode == 0, emitted.stderr
        assert emitted.stdout.strip() == "emitted 4 events"
        totals = make_id(Kind.DATASET, PG, "public.customer_totals")
        with server.client(TOKEN) as http:
            answer = http.post(
                "/graphql", json={"query": LINEAGE_QUERY, "variables": {"id": totals}}
            ).json()
    assert "errors" not in answer, answer
    edges = {(e["from"], e["to"], e["kind"]) for e in answer["data"]["lineage"]["edges"]}
    job = make_id(Kind.JOB, "flink-jobs", "customer_totals")
    orders, customers = (make_id(Kind.DATASET, PG, f"public.{t}") for t in ("orders", "customers"))
    field = lambda table, name: make_id(Kind.FIELD, PG, f"public.{table}", name)  # noqa: E731
    assert {
        (orders, job, "READS"),
        (customers, job, "READS"),
        (job, totals, "WRITES"),
        (field("orders", "amount"), field("customer_totals", "total_amount"), "DERIVES"),
        (field("orders", "customer_id"), field("customer_totals", "customer_id"), "DERIVES"),
        # the dataset-level entry (a join key) reaches every output field, indirectly
        (field("customers", "customer_id"), field("customer_totals", "total_amount"), "DERIVES"),
    } <= edges
    derives = service.store.edges(
        [field("customer_totals", "total_amount")], Direction.UPSTREAM, [EdgeKind.DERIVES]
    )
    kinds = {e.source_id: (e.attrs["transformation"], e.attrs["subtype"]) for e in derives}
    assert kinds == {
        field("orders", "amount"): ("DIRECT", "AGGREGATION"),
        field("customers", "customer_id"): ("INDIRECT", "JOIN"),
    }
    # the DatasetEvent described customers; START and COMPLETE made one run
    assert service.node(customers).attrs["description"] == "One row per customer."
    run = service.node(make_id(Kind.RUN, "flink-jobs", "customer_totals", JAVA_RUN))
    assert (run.attrs["state"], run.attrs["started_at"]) == ("COMPLETE", "2026-11-02T06:00:00Z")
    # the failing assertion on orders.customer_id puts the output at risk
    assert service.health(field("orders", "customer_id")).status.value == "FAILING"
    assert service.health(totals).status.value == "AT_RISK"


def test_the_java_client_reports_a_refused_token(service: LineageService) -> None:
    settings = Settings(store="memory://", tokens=f"{TOKEN}:write,reader:read")
    with running_server(service, settings) as server:
        refused = emit_with_java(server.url, "reader")
    assert refused.returncode == 1
    assert "403" in refused.stderr
    assert service.stats().nodes == 0
