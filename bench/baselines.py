"""Baselines the store and engine benchmarks share: one raw Cypher query for a downstream set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import neo4j

from lineagegraph.config import Settings
from lineagegraph.model import FLOW_KINDS, EdgeKind
from lineagegraph.store.neo4j import Neo4jStore

# Every edge a full downstream traversal follows, column level included.
TRAVERSED: frozenset[EdgeKind] = FLOW_KINDS | {EdgeKind.HAS_FIELD}

# The same traversal as one Cypher query (relationship types from the enum, sorted).
RAW_CYPHER = (
    "MATCH (s:Entity {id: $id})-[:"
    + "|".join(sorted(k.value for k in TRAVERSED))
    + "*]->(d) RETURN DISTINCT d.id AS id"
)


@contextmanager
def raw_cypher(store: Neo4jStore) -> Iterator[Callable[[str], set[str]]]:
    """A function giving the ids downstream of a source by one raw query, on a driver of its own."""
    settings = Settings()
    auth = (settings.neo4j_user, settings.neo4j_password) if settings.neo4j_password else None
    driver = neo4j.GraphDatabase.driver(store.url, auth=auth, notifications_min_severity="OFF")

    def raw(source: str) -> set[str]:
        records, _, _ = driver.execute_query(
            RAW_CYPHER,
            {"id": source},
            database_=store.database,
            routing_=neo4j.RoutingControl.READ,
        )
        return {r["id"] for r in records} - {source}

    try:
        yield raw
    finally:
        driver.close()


def remove_store_files(path: Path) -> None:
    """Delete a SQLite store file with its WAL and shared-memory files."""
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
