"""GraphML export of a whole store, written by networkx (kept inside the store layer)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import networkx as nx

from lineagegraph.model import Edge, Node


def graphml_lines(nodes: Iterable[Node], edges: Iterable[Edge]) -> Iterator[str]:
    """GraphML for these nodes and edges, with scalar attributes that any reader accepts.

    Nested attributes are JSON strings; an edge's kind is its key, so two nodes joined
    by several kinds of edge keep each of them.
    """
    graph: Any = nx.MultiDiGraph()
    for node in nodes:
        graph.add_node(
            node.id,
            kind=node.kind.value,
            namespace=node.namespace,
            name=node.name,
            label="/".join([node.name, *node.parts]),
            attrs=json.dumps(node.attrs, sort_keys=True),
        )
    for edge in edges:
        graph.add_edge(
            edge.source_id,
            edge.target_id,
            key=edge.kind.value,
            kind=edge.kind.value,
            origin=edge.origin.value,
            first_seen=edge.first_seen,
            last_seen=edge.last_seen,
            current=edge.ended_at is None,
            ended_at=edge.ended_at or "",
            attrs=json.dumps(edge.attrs, sort_keys=True),
        )
    lines: Iterator[str] = nx.generate_graphml(graph)
    return lines
