"""Helpers the translators share: building nodes and edges, bare endpoint nodes, hashes."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from lineagegraph.ids import KEY_PARTS, Kind, make_id
from lineagegraph.model import (
    ChangeSet,
    Edge,
    EdgeKind,
    Entity,
    GroupedChangeSet,
    Node,
    ReportGroup,
    format_time,
)

# Namespace schemes and dataset types that make an OpenLineage dataset an ML entity.
FEATURE_SCHEMES = frozenset({"feast", "featurestore"})
MODEL_SCHEMES = frozenset({"mlflow", "models"})


@dataclass(frozen=True)
class Translation:
    """A translated artifact: the changes, and what was skipped or read leniently."""

    changeset: ChangeSet
    warnings: tuple[str, ...] = ()

    def kinds(self) -> dict[str, int]:
        """How many nodes of each kind the changeset writes (repeats counted once), by kind."""
        return dict(
            sorted(Counter(n.kind.value for n in self.changeset.normalized().nodes).items())
        )


@lru_cache(maxsize=1 << 16)
def entity_id(kind: Kind, namespace: str, name: str, *parts: str) -> str:
    """:func:`make_id`, remembered: events name the same datasets and fields again and again."""
    return make_id(kind, namespace, name, *parts)


def platform_of(namespace: str) -> str | None:
    """The platform a namespace names: its URI scheme (``postgres://db`` → ``postgres``)."""
    scheme, sep, _ = namespace.partition("://")
    if sep and scheme:
        return scheme.lower()
    if namespace in ("file", "hdfs", "s3", "gs"):
        return namespace
    return None


def node_of(entity: Entity, extra: Mapping[str, Any] | None = None) -> Node:
    """The node of an entity plus attributes its class does not declare (``None`` dropped).

    The same node :meth:`Entity.to_node` builds, without validating it a second time.
    """
    kind = entity.kind
    dumped = entity.model_dump(mode="json", exclude={"namespace", "name", *KEY_PARTS[kind]})
    attrs = {k: v for k, v in dumped.items() if v is not None}
    if extra:
        attrs.update({k: v for k, v in extra.items() if v is not None})
    parts = entity.key_parts()
    return Node.trusted(
        entity_id(kind, entity.namespace, entity.name, *parts),
        kind,
        entity.namespace,
        entity.name,
        parts,
        attrs,
    )


def stable_hash(value: Any, length: int = 8) -> str:
    """A short hash of a JSON value that does not depend on key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def sql_code_version(query: str | None) -> str | None:
    """A code version for a job known only by the SQL it runs: ``sql:`` and a hash of the
    query with its whitespace collapsed, so that a changed query is a code change (in
    provenance diffs and root cause) while re-indenting it is not."""
    if not query or not query.strip():
        return None
    return "sql:" + hashlib.sha256(" ".join(query.split()).encode("utf-8")).hexdigest()[:12]


def short_text(value: Any, limit: int = 500) -> str | None:
    """A value as display text for observed/expected values; long text is cut."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(attrs: dict[str, Any] | None) -> dict[str, Any]:
    """Attributes without ``None`` values: the dict itself when it has none."""
    if not attrs:
        return {}
    if None in attrs.values():
        return {k: v for k, v in attrs.items() if v is not None}
    return attrs


class GraphBuilder:
    """Accumulates one translation's ChangeSet and knows which nodes it already holds.

    Endpoints that a document only refers to (a column edge's input field, the
    dataset of a check) are added as *bare* nodes: the key and no attributes.
    Merging a bare node never overwrites what another document said about it,
    so references and declarations can arrive in any order.
    """

    def __init__(self, changeset: ChangeSet, at: datetime) -> None:
        self.cs = changeset
        self.at = at
        self.stamp = format_time(at)
        # what the document says of its nodes, it says as of its time
        if changeset.reported_at is None:
            changeset.reported_at = self.stamp
        self._ids: set[str] = set()
        self._groups: list[tuple[int, int, ReportGroup, str]] = []

    def has(self, node_id: str) -> bool:
        """Whether this translation already added the node."""
        return node_id in self._ids

    def add(self, node: Node) -> str:
        """Add a node (merging with an earlier one of the same id); returns its id."""
        self.cs.nodes.append(node)
        self._ids.add(node.id)
        return node.id

    def has_all(self, node_ids: frozenset[str]) -> bool:
        """Whether this translation already added every one of these nodes."""
        return node_ids <= self._ids

    def report(self, group: ReportGroup) -> None:
        """Add a group's nodes, and its edges seen at this translation's time, by reference."""
        self._groups.append((len(self.cs.nodes), len(self.cs.edges), group, self.stamp))
        self._ids |= group.ids

    def regroup(self, nodes_at: int, edges_at: int, group: ReportGroup) -> None:
        """Report by reference what was added since these positions: ``group`` holds the
        same nodes and edges (seen at this translation's time), so the expanded changeset
        is unchanged, and a batch folds the group's first report as it folds its repeats."""
        groups = self._groups
        if groups and (groups[-1][0] > nodes_at or groups[-1][1] > edges_at):
            raise ValueError("a group was reported after the positions to regroup")
        del self.cs.nodes[nodes_at:]
        del self.cs.edges[edges_at:]
        self.report(group)

    def grouped(self) -> GroupedChangeSet:
        """What was added, groups by reference (:meth:`GroupedChangeSet.expanded` is plain)."""
        return GroupedChangeSet(self.cs, tuple(self._groups))

    def entity(self, entity: Entity, extra: Mapping[str, Any] | None = None) -> str:
        """Add an entity with extra attributes; returns its id."""
        return self.add(node_of(entity, extra))

    def node(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        parts: tuple[str, ...] = (),
        attrs: dict[str, Any] | None = None,
    ) -> str:
        """Add a node from its key and attributes (``None`` dropped); returns its id.

        ``attrs`` becomes the node's own dict when it holds no ``None``: pass a fresh one.
        """
        node_id = entity_id(kind, namespace, name, *parts)
        return self.add(Node.trusted(node_id, kind, namespace, name, parts, _clean(attrs)))

    def bare(self, kind: Kind, namespace: str, name: str, *parts: str) -> str:
        """Add a key-only node unless this translation holds it already; returns its id."""
        node_id = entity_id(kind, namespace, name, *parts)
        if node_id not in self._ids:
            self.node(kind, namespace, name, parts)
        return node_id

    def link(
        self,
        source: str,
        kind: EdgeKind,
        target: str,
        attrs: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Add an edge seen at this translation's time (or ``at``); ``None`` attributes dropped.

        ``attrs`` becomes the edge's own dict when it holds no ``None``: pass a fresh one.
        """
        stamp = self.stamp if at is None else format_time(at)
        self.cs.edges.append(
            Edge.trusted(source, kind, target, self.cs.origin, stamp, stamp, None, _clean(attrs))
        )

    def dataset(self, namespace: str, name: str) -> str:
        """The id of a dataset, added bare when this translation does not describe it."""
        return self.bare(Kind.DATASET, namespace, name)

    def field(self, namespace: str, name: str, path: str) -> str:
        """The id of a field, added bare with its containment chain when not described.

        A dot in a path means nesting: ``a.b`` is contained in ``a``, which is
        contained in the dataset.
        """
        field_id = entity_id(Kind.FIELD, namespace, name, path)
        if field_id in self._ids:
            return field_id
        parent_path, dot, _ = path.rpartition(".")
        parent = (
            self.field(namespace, name, parent_path)
            if dot and parent_path
            else self.dataset(namespace, name)
        )
        self.node(Kind.FIELD, namespace, name, (path,))
        self.link(parent, EdgeKind.HAS_FIELD, field_id)
        return field_id
