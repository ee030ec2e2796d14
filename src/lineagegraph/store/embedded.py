"""The embedded store: a SQLite file (WAL) is the source of truth, networkx the read index.

A write commits to SQLite first and only then updates the in-memory graph, all
under one lock, so a reader sees a changeset entirely or not at all, and an
acknowledged write survives ``kill -9``. At open the graph is loaded from the
file. ``memory://`` keeps the SQLite database in memory for tests.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx

from lineagegraph.errors import InvalidInput, StoreUnavailable
from lineagegraph.ids import Kind
from lineagegraph.model import (
    ChangeSet,
    Direction,
    Edge,
    EdgeKind,
    HealthRecord,
    HealthStatus,
    Node,
    Origin,
    Page,
    edge_valid,
    end_edge,
    format_time,
    merge_attrs,
    merge_edge,
    reasons_from_json,
)
from lineagegraph.store.base import (
    NO_FILTER,
    SEARCH_KIND_ORDER,
    ApplyResult,
    Hop,
    SearchFilter,
    StoreStats,
    check_page_size,
    decode_cursor,
    encode_cursor,
    search_terms,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    parts TEXT NOT NULL,
    attrs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_by_key ON nodes(kind, namespace, name);
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL,
    kind TEXT NOT NULL,
    dst TEXT NOT NULL,
    origin TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    ended_at TEXT,
    attrs TEXT NOT NULL,
    PRIMARY KEY (src, kind, dst)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_by_dst ON edges(dst, kind, src);
CREATE TABLE IF NOT EXISTS health (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    reasons TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS health_by_status ON health(status, id);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5(title, body, tokenize = 'unicode61');
"""

_EDGE_COLUMNS = "src, kind, dst, origin, first_seen, last_seen, ended_at, attrs"
_NODE_COLUMNS = "id, kind, namespace, name, parts, attrs"
_CHUNK = 500
_KIND_RANK = (
    "CASE n.kind "
    + " ".join(f"WHEN '{kind.value}' THEN {rank}" for rank, kind in enumerate(SEARCH_KIND_ORDER))
    + " END"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Rows were validated on the way in, so reading them back skips validation.
def _node_from_row(row: Sequence[Any]) -> Node:
    return Node.model_construct(
        id=row[0],
        kind=Kind(row[1]),
        namespace=row[2],
        name=row[3],
        parts=tuple(json.loads(row[4])),
        attrs=json.loads(row[5]),
    )


def _edge_from_row(row: Sequence[Any]) -> Edge:
    return Edge.model_construct(
        source_id=row[0],
        kind=EdgeKind(row[1]),
        target_id=row[2],
        origin=Origin(row[3]),
        first_seen=row[4],
        last_seen=row[5],
        ended_at=row[6],
        attrs=json.loads(row[7]),
    )


def _edge_row(edge: Edge) -> tuple[Any, ...]:
    return (
        edge.source_id,
        edge.kind.value,
        edge.target_id,
        edge.origin.value,
        edge.first_seen,
        edge.last_seen,
        edge.ended_at,
        _dumps(edge.attrs),
    )


def _health_from_row(row: Sequence[Any]) -> HealthRecord:
    return HealthRecord(
        id=row[0],
        kind=Kind(row[1]),
        status=HealthStatus(row[2]),
        reasons=reasons_from_json(row[3]),
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class EmbeddedStore:
    """The default store: SQLite for durability, an in-memory networkx graph for reads."""

    def __init__(self, path: str | Path | None, *, synchronous: str = "FULL") -> None:
        self.url = "memory://" if path is None else f"sqlite://{path}"
        self._lock = threading.RLock()
        self._closed = False
        if path is None:
            self._con = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute(
                f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}"
            )
        self._con.execute("PRAGMA foreign_keys=OFF")
        self._con.executescript(_SCHEMA)
        # Nodes carry their kind as "k"; an edge's data maps each edge kind between the
        # two nodes to (first_seen, ended_at), which is all a traversal needs.
        self._graph: Any = nx.DiGraph()
        self._load()

    # --- loading ------------------------------------------------------------------------------

    def _load(self) -> None:
        """Build the in-memory graph from the file, filling networkx's dicts directly.

        The cyclic garbage collector is paused meanwhile: the graph's millions of new
        dicts would otherwise trigger full collections over and over, for nothing.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._fill_graph()
        finally:
            if collecting:
                gc.enable()

    def _fill_graph(self) -> None:
        graph = self._graph
        node_attrs, succ, pred = graph._node, graph._succ, graph._pred
        # Edges name their ends with the node's own id string, not a fresh copy per row:
        # on a large graph the copies would cost hundreds of megabytes.
        same: dict[str, str] = {}
        cursor = self._con.execute("SELECT id, kind FROM nodes")
        while rows := cursor.fetchmany(50_000):
            for node_id, kind in rows:
                same[node_id] = node_id
                node_attrs[node_id] = {"k": kind}
                succ[node_id] = {}
                pred[node_id] = {}
        edge_kinds = {kind.value: kind for kind in EdgeKind}
        cursor = self._con.execute("SELECT src, kind, dst, first_seen, ended_at FROM edges")
        while rows := cursor.fetchmany(50_000):
            for src, kind, dst, first_seen, ended_at in rows:
                out = succ[src]
                data = out.get(dst)
                if data is None:
                    data = out[same[dst]] = pred[dst][same[src]] = {}
                data[edge_kinds[kind]] = (first_seen, ended_at)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changeset: ChangeSet) -> ApplyResult:
        """Apply a changeset atomically and idempotently (see :class:`Store`)."""
        if changeset.snapshots:
            raise InvalidInput("job snapshots must be resolved by the service before apply")
        cs = changeset.normalized()
        with self._lock:
            self._check_open()
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
                known = self._known_kinds(cs)
                cs.validate_shape(known)
                written_nodes, new_fields = self._write_nodes(cs.nodes)
                written_edges = self._write_edges(cs.edges)
                written_edges.extend(self._write_endings(cs, written_edges))
                removed_edges = self._delete(cs.deletes)
                self._write_health(cs)
                self._refresh_search(
                    {n.id for n in written_nodes}, new_fields + cs.deletes, cs.deletes
                )
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            self._update_graph(written_nodes, written_edges, removed_edges, cs.deletes)
        return ApplyResult(
            nodes=len(cs.nodes),
            edges=len(cs.edges),
            endings=len(cs.endings),
            deletes=len(cs.deletes),
            health=len(cs.health) + len(cs.health_removals),
        )

    def _known_kinds(self, cs: ChangeSet) -> dict[str, Kind]:
        new_ids = {n.id for n in cs.nodes}
        wanted = [i for i in cs.referenced_ids() if i not in new_ids]
        return self._kinds_in_graph(wanted)

    def _write_nodes(self, nodes: list[Node]) -> tuple[list[Node], list[str]]:
        """Write new and changed nodes; returns them and the ids of fields that are new."""
        graph_nodes = self._graph._node
        existing = self._fetch_nodes([n.id for n in nodes if n.id in graph_nodes])
        rows = []
        written = []
        new_fields = []
        for node in nodes:
            old = existing.get(node.id)
            if old is None:
                attrs = node.attrs
                if node.kind is Kind.FIELD:
                    new_fields.append(node.id)
            else:
                attrs = merge_attrs(old.attrs, node.attrs)
                if attrs == old.attrs:
                    continue
            rows.append(
                (
                    node.id,
                    node.kind.value,
                    node.namespace,
                    node.name,
                    _dumps(list(node.parts)),
                    _dumps(attrs),
                )
            )
            written.append(node)
        self._con.executemany(
            f"INSERT INTO nodes ({_NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET attrs = excluded.attrs",
            rows,
        )
        return written, new_fields

    def _write_edges(self, edges: list[Edge]) -> list[Edge]:
        succ = self._graph._succ
        known = [e for e in edges if e.kind in succ.get(e.source_id, {}).get(e.target_id, ())]
        existing = self._fetch_edges([e.key for e in known])
        merged = []
        for edge in edges:
            old = existing.get(edge.key)
            new = merge_edge(old, edge)
            if new != old:
                merged.append(new)
        self._upsert_edge_rows(merged)
        return merged

    def _write_endings(self, cs: ChangeSet, merged: list[Edge]) -> list[Edge]:
        """End edges; an edge upserted by the same changeset is ended as merged."""
        keys = [(e.source_id, e.kind, e.target_id) for e in cs.endings]
        pending = {e.key: e for e in merged}
        existing = self._fetch_edges([k for k in keys if k not in pending])
        existing.update({k: pending[k] for k in keys if k in pending})
        changed = []
        for ending in cs.endings:
            key = (ending.source_id, ending.kind, ending.target_id)
            edge = existing.get(key)
            if edge is None:
                continue
            ended = end_edge(edge, ending.at)
            if ended != edge:
                existing[key] = ended
                changed.append(ended)
        self._upsert_edge_rows(changed)
        return changed

    def _upsert_edge_rows(self, edges: list[Edge]) -> None:
        self._con.executemany(
            f"INSERT INTO edges ({_EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(src, kind, dst) DO UPDATE SET origin = excluded.origin, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
            "ended_at = excluded.ended_at, attrs = excluded.attrs",
            [_edge_row(e) for e in edges],
        )

    def _delete(self, ids: list[str]) -> list[tuple[str, str]]:
        removed: list[tuple[str, str]] = []
        for node_id in ids:
            if node_id not in self._graph:
                continue
            removed.extend((node_id, v) for v in self._graph._succ[node_id])
            removed.extend((u, node_id) for u in self._graph._pred[node_id])
        con = self._con
        con.executemany("DELETE FROM edges WHERE src = ?", [(i,) for i in ids])
        con.executemany("DELETE FROM edges WHERE dst = ?", [(i,) for i in ids])
        con.executemany(
            "DELETE FROM search WHERE rowid = (SELECT rowid FROM nodes WHERE id = ?)",
            [(i,) for i in ids],
        )
        con.executemany("DELETE FROM nodes WHERE id = ?", [(i,) for i in ids])
        con.executemany("DELETE FROM health WHERE id = ?", [(i,) for i in ids])
        return removed

    def _write_health(self, cs: ChangeSet) -> None:
        self._con.executemany(
            "INSERT INTO health (id, kind, status, reasons) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, status = excluded.status, "
            "reasons = excluded.reasons",
            [
                (
                    r.id,
                    r.kind.value,
                    r.status.value,
                    _dumps([reason.model_dump(mode="json") for reason in r.reasons]),
                )
                for r in cs.health
            ],
        )
        self._con.executemany("DELETE FROM health WHERE id = ?", [(i,) for i in cs.health_removals])

    def _refresh_search(
        self, node_ids: set[str], fields_added_or_removed: list[str], deleted: list[str]
    ) -> None:
        """Rewrite the search text of changed nodes and of datasets whose set of fields changed."""
        datasets = set()
        for node_id in fields_added_or_removed:
            if node_id.startswith("field|"):
                datasets.add("dataset|" + "|".join(node_id.split("|")[1:3]))
        targets = sorted((node_ids | datasets) - set(deleted))
        nodes = self._fetch_nodes(targets)
        rows = []
        for node_id in targets:
            node = nodes.get(node_id)
            if node is None:
                continue
            text = node.search_text()
            if node.kind is Kind.DATASET:
                paths = self._con.execute(
                    "SELECT parts FROM nodes WHERE kind = 'FIELD' AND namespace = ? AND name = ?",
                    (node.namespace, node.name),
                ).fetchall()
                text += " " + " ".join(json.loads(p[0])[0] for p in paths)
            rows.append((node_id, node.search_title(), text))
        con = self._con
        con.executemany(
            "DELETE FROM search WHERE rowid = (SELECT rowid FROM nodes WHERE id = ?)",
            [(i,) for i, _, _ in rows],
        )
        con.executemany(
            "INSERT INTO search (rowid, title, body) SELECT rowid, ?, ? FROM nodes WHERE id = ?",
            [(title, text, i) for i, title, text in rows],
        )

    def _update_graph(
        self,
        nodes: list[Node],
        edges: list[Edge],
        removed: list[tuple[str, str]],
        deleted: list[str],
    ) -> None:
        graph = self._graph
        for node in nodes:
            graph.add_node(node.id, k=node.kind.value)
        succ, pred = graph._succ, graph._pred
        for edge in edges:
            data = succ[edge.source_id].get(edge.target_id)
            if data is None:
                data = {}
                succ[edge.source_id][edge.target_id] = data
                pred[edge.target_id][edge.source_id] = data
            data[edge.kind] = (edge.first_seen, edge.ended_at)
        for u, v in removed:
            if graph.has_edge(u, v):
                graph.remove_edge(u, v)
        graph.remove_nodes_from([d for d in deleted if d in graph])

    # --- reads --------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes with these ids."""
        with self._lock:
            self._check_open()
            return self._fetch_nodes(list(ids))

    def kinds(self, ids: Sequence[str]) -> dict[str, Kind]:
        """The kinds of the existing nodes among these ids."""
        with self._lock:
            self._check_open()
            return self._kinds_in_graph(ids)

    def _kinds_in_graph(self, ids: Iterable[str]) -> dict[str, Kind]:
        nodes = self._graph._node
        return {i: Kind(nodes[i]["k"]) for i in ids if i in nodes}

    def _fetch_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        found: dict[str, Node] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT {_NODE_COLUMNS} FROM nodes WHERE id IN ({marks})"
            for row in self._con.execute(query, tuple(chunk)):
                found[row[0]] = _node_from_row(row)
        return found

    def _fetch_edges(
        self, keys: Sequence[tuple[str, EdgeKind, str]]
    ) -> dict[tuple[str, EdgeKind, str], Edge]:
        found: dict[tuple[str, EdgeKind, str], Edge] = {}
        step = 300  # three parameters a key, well under SQLite's parameter limit
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            values = ",".join(["(?, ?, ?)"] * len(chunk))
            params = [p for src, kind, dst in chunk for p in (src, kind.value, dst)]
            columns = ", ".join(f"e.{c.strip()}" for c in _EDGE_COLUMNS.split(","))
            query = (
                f"SELECT {columns} FROM (VALUES {values}) AS k JOIN edges e "
                "ON e.src = k.column1 AND e.kind = k.column2 AND e.dst = k.column3"
            )
            for row in self._con.execute(query, params):
                edge = _edge_from_row(row)
                found[edge.key] = edge
        return found

    def expand(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
    ) -> list[Hop]:
        """One hop from every frontier node (see :class:`Store`)."""
        wanted = frozenset(edge_kinds)
        stamp = None if as_of is None else format_time(as_of)
        with self._lock:
            self._check_open()
            hops: list[Hop] = []
            if direction in (Direction.DOWNSTREAM, Direction.BOTH):
                self._hops(self._graph._succ, frontier, wanted, stamp, hops)
            if direction in (Direction.UPSTREAM, Direction.BOTH):
                self._hops(self._graph._pred, frontier, wanted, stamp, hops)
            return hops

    @staticmethod
    def _hops(
        adjacency: dict[str, dict[str, dict[EdgeKind, tuple[str, str | None]]]],
        frontier: Sequence[str],
        wanted: frozenset[EdgeKind],
        stamp: str | None,
        hops: list[Hop],
    ) -> None:
        append = hops.append
        for node in frontier:
            neighbours = adjacency.get(node)
            if not neighbours:
                continue
            for other, data in neighbours.items():
                for kind, (first_seen, ended_at) in data.items():
                    if kind not in wanted:
                        continue
                    if stamp is None:
                        if ended_at is not None:
                            continue
                    elif not edge_valid(first_seen, ended_at, stamp):
                        continue
                    append(Hop(node, kind, other))

    def edges(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
    ) -> list[Edge]:
        """Like :meth:`expand`, with the full stored edges."""
        keys: list[tuple[str, EdgeKind, str]] = []
        if direction in (Direction.DOWNSTREAM, Direction.BOTH):
            hops = self.expand(frontier, Direction.DOWNSTREAM, edge_kinds, as_of)
            keys.extend((h.source, h.kind, h.target) for h in hops)
        if direction in (Direction.UPSTREAM, Direction.BOTH):
            hops = self.expand(frontier, Direction.UPSTREAM, edge_kinds, as_of)
            keys.extend((h.target, h.kind, h.source) for h in hops)
        unique = list(dict.fromkeys(keys))
        with self._lock:
            found = self._fetch_edges(unique)
        return [found[k] for k in unique if k in found]

    def search(
        self,
        query: str,
        filters: SearchFilter = NO_FILTER,
        first: int = 20,
        after: str | None = None,
    ) -> Page[Node]:
        """Full-text search with filters and cursors (see :class:`Store`)."""
        check_page_size(first)
        offset = decode_cursor(after)
        where: list[str] = []
        params: list[Any] = []
        terms = search_terms(query)
        if filters.kinds:
            where.append(f"n.kind IN ({','.join('?' * len(filters.kinds))})")
            params.extend(sorted(k.value for k in filters.kinds))
        if filters.namespace:
            where.append("n.namespace = ?")
            params.append(filters.namespace)
        if filters.owner:
            where.append("EXISTS (SELECT 1 FROM json_each(n.attrs, '$.owners') WHERE value = ?)")
            params.append(filters.owner)
        if filters.tag:
            where.append("EXISTS (SELECT 1 FROM json_each(n.attrs, '$.tags') WHERE value = ?)")
            params.append(filters.tag)
        columns = ", ".join(f"n.{c.strip()}" for c in _NODE_COLUMNS.split(","))
        if terms:
            match = " AND ".join(f'"{t}"*' for t in terms)
            # Tiers: every term in the entity's own name first; then catalog kinds before
            # runtime records; then relevance; then id.
            title_tier = (
                "CASE WHEN search.rowid IN (SELECT rowid FROM search WHERE search MATCH ?) "
                "THEN 0 ELSE 1 END"
            )
            sql = (
                f"SELECT {columns} FROM search JOIN nodes n ON n.rowid = search.rowid "
                f"WHERE search MATCH ? {''.join(' AND ' + w for w in where)} "
                f"ORDER BY {title_tier}, {_KIND_RANK}, bm25(search, 10.0, 1.0), n.id "
                "LIMIT ? OFFSET ?"
            )
            params = [match, *params, f"title : ({match})"]
        else:
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            sql = f"SELECT {columns} FROM nodes n {clause} ORDER BY n.id LIMIT ? OFFSET ?"
        with self._lock:
            self._check_open()
            rows = self._con.execute(sql, (*params, first + 1, offset)).fetchall()
        items = [_node_from_row(r) for r in rows[:first]]
        more = len(rows) > first
        return Page(
            items=items,
            end_cursor=encode_cursor(offset + len(items)) if items else after,
            has_next_page=more,
        )

    def health(self, ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Stored health of these ids."""
        found: dict[str, HealthRecord] = {}
        with self._lock:
            self._check_open()
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT id, kind, status, reasons FROM health WHERE id IN ({marks})"
                for row in self._con.execute(sql, tuple(chunk)):
                    found[row[0]] = _health_from_row(row)
        return found

    def health_naming(self, result_ids: Collection[str]) -> dict[str, HealthRecord]:
        """Stored health records with a reason that names one of these results."""
        wanted = set(result_ids)
        if not wanted:
            return {}
        # Candidates hold a result id as _dumps writes it into the stored reasons; the
        # decoded reasons then decide.
        needles = json.dumps(sorted(_dumps(r) for r in wanted))
        sql = (
            "SELECT id, kind, status, reasons FROM health WHERE EXISTS "
            "(SELECT 1 FROM json_each(?) AS needle WHERE instr(health.reasons, needle.value))"
        )
        found: dict[str, HealthRecord] = {}
        with self._lock:
            self._check_open()
            rows = self._con.execute(sql, (needles,)).fetchall()
        for row in rows:
            record = _health_from_row(row)
            if any(reason.result_id in wanted for reason in record.reasons):
                found[record.id] = record
        return found

    def health_page(
        self,
        statuses: Collection[HealthStatus],
        kinds: Collection[Kind] = (),
        first: int = 100,
        after: str | None = None,
    ) -> Page[HealthRecord]:
        """Stored health records with one of these statuses, by id."""
        check_page_size(first, limit=100_000)
        offset = decode_cursor(after)
        status_values = sorted(s.value for s in statuses)
        kind_values = sorted(k.value for k in kinds)
        marks = ",".join("?" * len(status_values))
        sql = f"SELECT id, kind, status, reasons FROM health WHERE status IN ({marks})"
        params: list[Any] = list(status_values)
        if kind_values:
            sql += f" AND kind IN ({','.join('?' * len(kind_values))})"
            params.extend(kind_values)
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        with self._lock:
            self._check_open()
            rows = self._con.execute(sql, (*params, first + 1, offset)).fetchall()
        items = [_health_from_row(r) for r in rows[:first]]
        return Page(
            items=items,
            end_cursor=encode_cursor(offset + len(items)) if items else after,
            has_next_page=len(rows) > first,
        )

    def export(self) -> tuple[Iterator[Node], Iterator[Edge]]:
        """Every node by id and every edge by key."""
        with self._lock:
            self._check_open()
            nodes = self._con.execute(f"SELECT {_NODE_COLUMNS} FROM nodes ORDER BY id").fetchall()
            edges = self._con.execute(
                f"SELECT {_EDGE_COLUMNS} FROM edges ORDER BY src, kind, dst"
            ).fetchall()
        return (_node_from_row(r) for r in nodes), (_edge_from_row(r) for r in edges)

    def stats(self) -> StoreStats:
        """Counts by kind and health status."""
        with self._lock:
            self._check_open()
            con = self._con
            nodes = dict(con.execute("SELECT kind, count(*) FROM nodes GROUP BY kind").fetchall())
            edges = dict(con.execute("SELECT kind, count(*) FROM edges GROUP BY kind").fetchall())
            health = dict(
                con.execute("SELECT status, count(*) FROM health GROUP BY status").fetchall()
            )
        return StoreStats(nodes_by_kind=nodes, edges_by_kind=edges, health_by_status=health)

    def ping(self) -> None:
        """The embedded store is reachable while it is open."""
        with self._lock:
            self._check_open()
            self._con.execute("SELECT 1").fetchone()

    def close(self) -> None:
        """Close the SQLite connection; later calls raise :class:`StoreUnavailable`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._con.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"store {self.url} is closed")

    # --- for benchmarks -----------------------------------------------------------------------

    @property
    def graph(self) -> Any:
        """The in-memory networkx graph (read-only use: benchmarks compare against it)."""
        return self._graph
