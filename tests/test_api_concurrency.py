"""8 writers and 8 readers over HTTP at once, for a few seconds, on both stores.

Afterwards nothing acknowledged is missing, and the health stored incrementally
while results raced in equals a full recomputation from scratch.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from lineagegraph import demo
from lineagegraph.config import Settings
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
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert len(acknowledged) >= WRITERS and sum(reads) >= READERS
    stored = service.get(acknowledged)
    assert sorted(set(acknowledged) - set(stored)) == []
    repair = service.recompute_health()
    assert (repair.written, repair.removed) == ((), ())
