"""Prometheus metrics of one app, in a registry of its own (so several apps never collide).

- ``lineagegraph_http_requests_total{route,method,status}`` and
  ``lineagegraph_http_request_seconds{route,method}``: every HTTP request, by route template;
- ``lineagegraph_graphql_operations_total{operation,type,outcome}`` and
  ``lineagegraph_graphql_operation_seconds{operation,type}``: GraphQL operations, labelled by
  their root fields (bounded by the schema, unlike client-chosen operation names);
- ``lineagegraph_traversal_nodes{query}``: how many nodes each traversal returned;
- ``lineagegraph_traversals_truncated_total{query}``: traversals stopped by a bound;
- ``lineagegraph_ingested_total{source}``: events and mutations written, by source.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SIZE_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10_000, 100_000)


class Metrics:
    """The collectors of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "lineagegraph_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "lineagegraph_http_request_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "lineagegraph_graphql_operations",
            "GraphQL operations by root fields, type and outcome (ok or error).",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.operation_latency = Histogram(
            "lineagegraph_graphql_operation_seconds",
            "GraphQL operation latency by root fields and type.",
            ["operation", "type"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.traversal_nodes = Histogram(
            "lineagegraph_traversal_nodes",
            "Nodes returned by one traversal, by query.",
            ["query"],
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.traversals_truncated = Counter(
            "lineagegraph_traversals_truncated",
            "Traversals stopped by a depth, size or time bound, by query.",
            ["query"],
            registry=self.registry,
        )
        self.ingested = Counter(
            "lineagegraph_ingested",
            "Events and mutations written to the store, by source.",
            ["source"],
            registry=self.registry,
        )

    def observe_traversal(self, query: str, nodes: int, truncated: bool) -> None:
        """Record the size of one traversal and whether a bound cut it short."""
        self.traversal_nodes.labels(query).observe(nodes)
        if truncated:
            self.traversals_truncated.labels(query).inc()

    def record_ingest(self, source: str, count: int = 1) -> None:
        """Count ``count`` events or mutations written from ``source`` (e.g. ``openlineage``)."""
        self.ingested.labels(source).inc(count)

    def render(self) -> bytes:
        """The Prometheus text exposition of every collector."""
        return generate_latest(self.registry)
