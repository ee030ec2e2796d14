"""The official openlineage-python client emitting to a running server, as a producer would."""

from __future__ import annotations

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
