"""8 writers and 8 readers over HTTP at once, for a few seconds, on both stores.

Afterwards nothing acknowledged is missing, and the health stored incrementally
while results raced in equals a full recomputation from scratch. The writers send
GraphQL mutations, or OpenLineage events one per request (group commit), some of
them broken: those are refused and leave nothing behind.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

from lineagegraph import demo
from lineagegraph.config import Settings
from lineagegraph.ids import Kind, make_id
from lineagegraph.service import LineageService
from tests.api_helpers import RunningServer, load_demo, running_server

WRITERS = 8
READERS = 8
SECONDS = 3.0
MAX_REQUESTS = 150  # per client: bounded in count as well as time

RESULT = """mutation($input: QualityResultInput!) { recordQualityResult(input: $input) {
  __typename ... on EntityPayload { node { id } } } }"""
RUN = """mutation($input: RunInput!) { recordRun(input: $input) {
  __typename ... on EntityPayload { node { id } } } }"""
READS = [
    (
        "query($id: ID!) { lineage(id: $id) { totalCount nodes { node { id } } } }",
        demo.STG_ORDERS.id,
    ),
    ("query($id: ID!) { health(id: $id) { status reasons { hops } } }", demo.CHURN.version_id(3)),
    ("{ atRisk(first: 200) { edges { node { id status } } } }", None),
    (
        "query($id: ID!) { node(id: $id) { ... on Dataset { "
        "checks { latestResult { passed } } } } }",
        demo.STG_ORDERS.id,
    ),
]


def _writer(
    server: RunningServer, index: int, acknowledged: list[str], failures: list[str]
) -> None:
    deadline = time.monotonic() + SECONDS
    with server.client() as client:
        for n in range(MAX_REQUESTS):
            if time.monotonic() > deadline:
                break
            when = demo.day(6, index) + timedelta(seconds=n)
            if n % 3 == 2:
                body = {
                    "query": RUN,
                    "variables": {
                        "input": {
                            "namespace": demo.DBT,
                            "name": "stg_orders",
                            "runId": f"w{index}-{n}",
                            "state": "COMPLETE",
                            "startedAt": when.isoformat(),
                            "endedAt": (when + timedelta(milliseconds=500)).isoformat(),
                            "inputs": [{"entity": {"id": demo.RAW_ORDERS.id}}],
                            "outputs": [{"entity": {"id": demo.STG_ORDERS.id}}],
                        }
                    },
                }
            else:
                body = {
                    "query": RESULT,
                    "variables": {
                        "input": {
                            "namespace": demo.SF,
                            "name": demo.STG_ORDERS.name,
                            "field": "customer_id",
                            "check": demo.NOT_NULL_CUSTOMER,
                            # Writers disagree, so the latest result flips health back and forth.
                            "passed": (index + n) % 2 == 0,
                            "observedAt": when.isoformat(),
                            "resultKey": f"w{index}-{n}",
                        }
                    },
                }
            response = client.post("/graphql", json=body)
            payload = response.json()
            if response.status_code != 200 or "errors" in payload:
                failures.append(f"writer {index}: {response.status_code} {payload}")
                continue
            result = next(iter(payload["data"].values()))
            if result["__typename"] != "EntityPayload":
                failures.append(f"writer {index}: {result}")
                continue
            acknowledged.append(result["node"]["id"])


def _reader(server: RunningServer, index: int, counts: list[int], failures: list[str]) -> None:
    deadline = time.monotonic() + SECONDS
    done = 0
    with server.client() as client:
        for n in range(MAX_REQUESTS):
            if time.monotonic() > deadline:
                break
            query, entity = READS[(index + n) % len(READS)]
            response = client.post(
                "/graphql", json={"query": query, "variables": {"id": entity} if entity else {}}
            )
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                failures.append(f"reader {index}: {response.status_code} {body}")
            done += 1
    counts.append(done)


def test_writers_and_readers_race_without_losing_anything(service: LineageService) -> None:
    load_demo(service)
    acknowledged: list[str] = []
    failures: list[str] = []
    reads: list[int] = []
    with running_server(service, Settings(store=service.store.url)) as server:
        threads = [
            threading.Thread(target=_writer, args=(server, i, acknowledged, failures))
            for i in range(WRITERS)
        ] + [
            threading.Thread(target=_reader, args=(server, i, reads, failures))
            for i in range(READERS)
        ]
        _run_to_the_end(threads)
    assert failures == []
    assert len(acknowledged) >= WRITERS and sum(reads) >= READERS
    stored = service.get(acknowledged)
    assert sorted(set(acknowledged) - set(stored)) == []
    repair = service.recompute_health()
    assert (repair.written, repair.removed) == ((), ())


def _openlineage_writer(
    server: RunningServer,
    index: int,
    acknowledged: list[str],
    refused: list[str],
    failures: list[str],
) -> None:
    """Posts OpenLineage events one per request: runs whose quality checks flip between
    passing and failing, and every fourth one broken (its run id is not a UUID).

    At least four, however slow the store: each producer gets events acknowledged and
    refused whatever the machine's load."""
    deadline = time.monotonic() + SECONDS
    with server.client() as client:
        for n in range(MAX_REQUESTS):
            if n >= 4 and time.monotonic() > deadline:
                break
            run = str(uuid.UUID(int=index * 1_000_000 + n + 1, version=4))
            broken = (index + n) % 4 == 3
            when = (demo.day(6, index) + timedelta(seconds=n)).isoformat()
            output = {
                "namespace": demo.SF,
                "name": demo.STG_ORDERS.name,
                "facets": {
                    "dataQualityAssertions": {
                        "assertions": [
                            {
                                "assertion": "not_null",
                                "column": "customer_id",
                                "success": (index + n) % 2 == 0,
                            }
                        ]
                    }
                },
            }
            event = {
                "eventType": "COMPLETE",
                "eventTime": when,
                "producer": "https://example.com/race",
                "run": {"runId": "not-a-uuid" if broken else run},
                "job": {"namespace": demo.DBT, "name": f"race_{index % 3}"},
                "inputs": [{"namespace": demo.SF, "name": demo.RAW_ORDERS.name}],
                "outputs": [output],
            }
            response = client.post("/api/v1/lineage", json=event)
            run_id = make_id(Kind.RUN, demo.DBT, f"race_{index % 3}", run)
            if broken and response.status_code == 400:
                refused.append(run_id)
            elif not broken and response.status_code == 201:
                acknowledged.append(run_id)
            else:
                failures.append(f"writer {index}: {response.status_code} {response.text[:200]}")


def test_openlineage_producers_race_through_group_commit(service: LineageService) -> None:
    load_demo(service)
    acknowledged: list[str] = []
    refused: list[str] = []
    failures: list[str] = []
    reads: list[int] = []
    with running_server(service, Settings(store=service.store.url)) as server:
        threads = [
            threading.Thread(
                target=_openlineage_writer, args=(server, i, acknowledged, refused, failures)
            )
            for i in range(WRITERS)
        ] + [
            threading.Thread(target=_reader, args=(server, i, reads, failures))
            for i in range(READERS // 2)
        ]
        _run_to_the_end(threads)
    assert failures == []
    assert len(acknowledged) >= WRITERS and refused
    assert sorted(set(acknowledged) - set(service.get(acknowledged))) == []
    assert service.get(refused) == {}
    repair = service.recompute_health()
    assert (repair.written, repair.removed) == ((), ())


def _run_to_the_end(threads: list[threading.Thread]) -> None:
    """Start the threads and wait for all of them (two minutes at most)."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
