"""The Neo4j store: the graph in a Neo4j server, for teams that outgrow one machine.

Graph model in Neo4j:

- an entity is a node with the shared label ``:Entity`` (unique ``id``) and one label per
  kind (``:Dataset``, ``:Field``, ``:ModelVersion``, …); its properties are ``id``, ``kind``,
  ``namespace``, ``name``, ``parts`` (a list), ``attrs`` (JSON text), ``owners`` and ``tags``
  (lists, for search filters), ``title`` and ``search`` (the tokens of its own name and of
  all its searchable text);
- an edge is a relationship typed by its :class:`EdgeKind` (``:READS``, ``:DERIVES``, …) with
  ``origin``, ``first_seen``, ``last_seen``, ``ended_at`` and ``attrs`` (JSON text);
- stored health is a ``:Health`` node per entity id with ``kind``, ``status`` and ``reasons``.

Every Cypher statement is a constant of this module. Values travel only as parameters;
labels and relationship types come from the :class:`Kind` and :class:`EdgeKind` enums,
never from input. A changeset is written in one managed write transaction as
``UNWIND $rows`` batches, so transient failures are retried by the driver and a changeset
is applied entirely or not at all. The semantics are those of
:class:`~lineagegraph.store.embedded.EmbeddedStore`; node attributes and edges merge with
the same functions of :mod:`lineagegraph.model`.

Search uses a Lucene full-text index to find candidates and then applies exactly
the term rules of the embedded store's SQLite FTS5 index: the text is split into the tokens
that the ``unicode61`` tokenizer produces, each query term (see :func:`search_terms`) is a
phrase of its tokens whose last token matches as a prefix, and all terms must match. Hits
are ordered as ``Store.search`` says, without Lucene's scores, so both stores agree.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j
from neo4j import exceptions as neo4j_errors

from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, StoreUnavailable
from lineagegraph.ids import SEPARATOR, Kind, kind_of
from lineagegraph.model import (
    HISTORY_ORDER,
    ChangeSet,
    Direction,
    Edge,
    EdgeEnding,
    EdgeKind,
    HealthRecord,
    HealthStatus,
    Node,
    Origin,
    Page,
    completion_stamp,
    end_edge,
    format_time,
    json_equal,
    member_stamp,
    merge_edge,
    merge_reported,
    reasons_from_json,
    reasons_to_json,
)
from lineagegraph.store.base import (
    NO_FILTER,
    SEARCH_KIND_ORDER,
    ApplyResult,
    HistoryRequest,
    Hop,
    RunRequest,
    SearchFilter,
    StoreStats,
    VersionRequest,
    canonical_json,
    check_history_request,
    check_page_size,
    decode_cursor,
    decode_key_cursor,
    encode_cursor,
    key_page_cursor,
    not_unicode,
    page_total,
    search_terms,
    targets_of_hops,
)

__all__ = ["Neo4jStore"]

T = TypeVar("T")
EdgeKey = tuple[str, EdgeKind, str]

# --- labels and relationship types: fixed strings from the enums -------------------------------

_NAME = re.compile(r"^[A-Za-z][A-Za-z_]*$")


def _label(kind: Kind) -> str:
    return "".join(word.capitalize() for word in kind.value.split("_"))


LABELS: Final[dict[Kind, str]] = {kind: _label(kind) for kind in Kind}
for _text in [*LABELS.values(), *(k.value for k in EdgeKind)]:
    if not _NAME.match(_text):  # pragma: no cover - guards the enums, not input
        raise RuntimeError(f"not a safe Cypher name: {_text!r}")

SEARCH_INDEX: Final = "lineagegraph_entity_text"

_SCHEMA: Final[tuple[str, ...]] = (
    "CREATE CONSTRAINT lineagegraph_entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT lineagegraph_health_id IF NOT EXISTS FOR (h:Health) REQUIRE h.id IS UNIQUE",
    "CREATE CONSTRAINT lineagegraph_writer_name IF NOT EXISTS "
    "FOR (w:WriterLock) REQUIRE w.name IS UNIQUE",
    "CREATE INDEX lineagegraph_field_key IF NOT EXISTS FOR (f:Field) ON (f.namespace, f.name)",
    "CREATE INDEX lineagegraph_health_status IF NOT EXISTS FOR (h:Health) ON (h.status)",
    # replaced by lineagegraph_entity_text, which also holds the title
    "DROP INDEX lineagegraph_entity_search IF EXISTS",
    f"CREATE FULLTEXT INDEX {SEARCH_INDEX} IF NOT EXISTS FOR (n:Entity) "
    "ON EACH [n.title, n.search] OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}",
)

# Versions and runs written before their ``stamp`` (and runs before their ``state`` and
# ``done``) were properties, which earlier versions also stamped "" for want of a start:
# every start fills them in as a write of the node would (_history_props), so reads
# need not judge those nodes by their attributes. Each kind's ids are walked once, a page
# at a time, in the order of the id index (runs' ids start "run|", versions'
# "dataset_version|"; "}" follows "|"). A node is marked under its write lock, and only
# if no write changed it since it was read.
_UNMARKED_MEMBERS = (
    "MATCH (m:Entity) WHERE m.id > $after AND m.id < $end "
    f"AND (m.stamp IS NULL OR (m.kind = '{Kind.RUN.value}' AND m.state IS NULL)) "
    "RETURN m.id AS id, m.kind AS kind, m.attrs AS attrs ORDER BY m.id LIMIT $limit"
)
_MARK_MEMBERS = (
    "UNWIND $rows AS row MATCH (m:Entity {id: row.id}) SET m.kind = m.kind "
    "WITH m, row WHERE m.attrs = row.attrs "
    "SET m.stamp = row.stamp, m.state = row.state, m.done = row.done"
)
_MARKED_KINDS: Final = (Kind.RUN, Kind.DATASET_VERSION)
_MARK_PAGE = 2000

# Fails unless the full-text index exists (a read any user may run).
_PROBE_SCHEMA = f"CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', 'x') YIELD node RETURN 0"

# --- statements ---------------------------------------------------------------------------------

# Reads which of the given ids exist, with the attributes of the nodes a changeset upserts.
# Rows with lock=true take the node's write lock first (SET of an unchanged value), so two
# writers of the same node, or of edges from the same node, run one after the other and
# neither loses the other's merge.
_LOCK_AND_READ = """
UNWIND $rows AS row
MATCH (n:Entity {id: row.id})
FOREACH (_ IN CASE WHEN row.lock THEN [1] ELSE [] END | SET n.kind = n.kind)
RETURN n.id AS id, CASE WHEN row.attrs THEN n.attrs END AS attrs, n.seen AS seen
"""

_CREATE_NODES: Final[dict[Kind, str]] = {
    kind: f"UNWIND $rows AS row CREATE (n:Entity:{label}) SET n = row"
    for kind, label in LABELS.items()
}

_UPDATE_NODES = """
UNWIND $rows AS row
MATCH (n:Entity {id: row.id})
SET n.attrs = row.attrs, n.title = row.title, n.owners = row.owners, n.tags = row.tags,
    n.search = row.search, n.stamp = row.stamp, n.seen = row.seen, n.state = row.state,
    n.done = row.done
"""

_READ_EDGES = """
UNWIND $keys AS k
MATCH (s:Entity {id: k.s})-[r]->(t:Entity {id: k.t})
WHERE type(r) = k.kind
RETURN k.s AS s, k.kind AS kind, k.t AS t, elementId(r) AS eid, r.origin AS origin,
       r.first_seen AS first_seen, r.last_seen AS last_seen, r.ended_at AS ended_at,
       r.attrs AS attrs
"""

# Writes the edges of one kind: locks each source node, creates the edges that do not exist
# yet (with the properties a new edge gets), merges in place a stored edge reported again
# with no attributes or the ones it has (most are: only its times move, as merge_edge
# moves them) unless the changeset also ends it, and returns only the rows that need a
# second look: an end that does not exist (the changeset is then invalid) or another
# stored edge (merged in Python, then updated by element id).
_WRITE_EDGES: Final[dict[EdgeKind, str]] = {
    kind: f"""
UNWIND $rows AS row
OPTIONAL MATCH (s:Entity {{id: row.s}})
OPTIONAL MATCH (t:Entity {{id: row.t}})
FOREACH (_ IN CASE WHEN s IS NULL THEN [] ELSE [1] END | SET s.kind = s.kind)
WITH row, s, t
OPTIONAL MATCH (s)-[old:{kind.value}]->(t)
FOREACH (_ IN CASE WHEN s IS NULL OR t IS NULL OR old IS NOT NULL THEN [] ELSE [1] END |
    CREATE (s)-[r:{kind.value}]->(t) SET r = row.props)
WITH row, s, t, old, old IS NOT NULL AND row.plain
    AND (row.props.attrs = '{{}}' OR row.props.attrs = old.attrs) AS in_place
FOREACH (_ IN CASE WHEN in_place THEN [1] ELSE [] END |
    SET old.origin = CASE WHEN row.props.last_seen >= old.last_seen
            THEN row.props.origin ELSE old.origin END,
        old.ended_at = CASE WHEN old.ended_at IS NOT NULL AND row.props.last_seen >= old.ended_at
            THEN null ELSE old.ended_at END,
        old.first_seen = CASE WHEN row.props.first_seen < old.first_seen
            THEN row.props.first_seen ELSE old.first_seen END,
        old.last_seen = CASE WHEN row.props.last_seen > old.last_seen
            THEN row.props.last_seen ELSE old.last_seen END)
WITH row, s, t, old, in_place
WHERE s IS NULL OR t IS NULL OR (old IS NOT NULL AND NOT in_place)
RETURN row.s AS s, row.t AS t, s IS NOT NULL AS s_exists, t IS NOT NULL AS t_exists,
       elementId(old) AS eid, old.origin AS origin, old.first_seen AS first_seen,
       old.last_seen AS last_seen, old.ended_at AS ended_at, old.attrs AS attrs
"""
    for kind in EdgeKind
}

_UPDATE_EDGES = """
UNWIND $rows AS row
MATCH ()-[r]->() WHERE elementId(r) = row.eid
SET r = row.props
"""

_DELETE_NODES = """
UNWIND $ids AS id
MATCH (n:Entity {id: id})
DETACH DELETE n
"""

_DELETE_HEALTH = """
UNWIND $ids AS id
MATCH (h:Health {id: id})
DELETE h
"""

# Which of the ids name no entity, and which have a stored health record (one record).
_PROBE_HEALTH = """
UNWIND $ids AS id
OPTIONAL MATCH (n:Entity {id: id})
OPTIONAL MATCH (h:Health {id: id})
WITH id, n, h WHERE n IS NULL OR h IS NOT NULL
RETURN collect(CASE WHEN n IS NULL THEN id END) AS absent,
       collect(CASE WHEN h IS NOT NULL THEN id END) AS stored
"""

_CREATE_HEALTH = """
UNWIND $rows AS row
CREATE (h:Health {id: row.id, kind: row.kind, status: row.status, reasons: row.reasons})
"""

_UPDATE_HEALTH = """
UNWIND $rows AS row
MERGE (h:Health {id: row.id})
SET h.kind = row.kind, h.status = row.status, h.reasons = row.reasons
"""

# The datasets whose search text must be rebuilt, with the paths of their fields.
_DATASETS_WITH_FIELDS = """
UNWIND $ids AS id
MATCH (d:Entity {id: id})
OPTIONAL MATCH (f:Field {namespace: d.namespace, name: d.name})
RETURN d.id AS id, d.kind AS kind, d.namespace AS namespace, d.name AS name,
       d.parts AS parts, d.attrs AS attrs, collect(f.parts[0]) AS paths
"""

_SET_SEARCH = """
UNWIND $rows AS row
MATCH (n:Entity {id: row.id})
SET n.search = row.search
"""

_NODE_FIELDS = "n.id AS id, n.kind AS kind, n.namespace AS namespace, n.name AS name, " + (
    "n.parts AS parts, n.attrs AS attrs"
)

# Lookups by id answer with one record of lists: one Bolt message, however many ids.
_GET_NODES = """
UNWIND $ids AS id MATCH (n:Entity {id: id})
RETURN collect([n.id, n.kind, n.namespace, n.name, n.parts, n.attrs]) AS nodes
"""

_GET_KINDS = """
UNWIND $ids AS id MATCH (n:Entity {id: id})
RETURN collect(n.id) AS ids, collect(n.kind) AS kinds
"""

_FILTERS = """
($kinds IS NULL OR n.kind IN $kinds)
AND ($namespace IS NULL OR n.namespace = $namespace)
AND ($owner IS NULL OR $owner IN n.owners)
AND ($tag IS NULL OR $tag IN n.tags)
"""

# The order of equally relevant hits by kind: catalog entities before runtime records.
_KIND_RANK = (
    "CASE n.kind "
    + " ".join(f"WHEN '{kind.value}' THEN {rank}" for rank, kind in enumerate(SEARCH_KIND_ORDER))
    + " END"
)

# Lucene finds candidates; the phrases decide what matches, exactly as FTS5 would. The
# order is the one Store.search gives, as in the embedded store; the title's length is that
# of the words it was made of (Node.search_title), not of its stored tokens.
_SEARCH_HITS = f"""
CALL db.index.fulltext.queryNodes('{SEARCH_INDEX}', $lucene) YIELD node AS n
WHERE all(phrase IN $phrases WHERE n.search CONTAINS phrase) AND {_FILTERS}
"""

_SEARCH = f"""{_SEARCH_HITS}WITH n,
     CASE WHEN all(phrase IN $phrases WHERE n.title CONTAINS phrase) THEN 0 ELSE 1 END AS tier,
     CASE WHEN all(phrase IN $phrases WHERE n.title CONTAINS phrase + ' ') THEN 0 ELSE 1 END
         AS words,
     CASE WHEN size(n.parts) = 0 THEN size(n.name)
          ELSE reduce(total = -1, part IN n.parts | total + size(part) + 1) END AS length
RETURN {_NODE_FIELDS}
ORDER BY tier, {_KIND_RANK}, words, length, n.id
SKIP $offset LIMIT $limit
"""

# "n.id IS NOT NULL" lets Neo4j read the nodes in id order from the id index, so a page
# costs no sort of every node.
_LIST = f"""
MATCH (n:Entity)
WHERE n.id IS NOT NULL AND {_FILTERS}
RETURN {_NODE_FIELDS}
ORDER BY n.id
SKIP $offset LIMIT $limit
"""

_COUNT_SEARCH = f"{_SEARCH_HITS}RETURN count(n) AS total"

_COUNT_LIST = f"MATCH (n:Entity) WHERE {_FILTERS} RETURN count(n) AS total"

_HEALTH_FIELDS = "h.id AS id, h.kind AS kind, h.status AS status, h.reasons AS reasons"

_GET_HEALTH = """
UNWIND $ids AS id MATCH (h:Health {id: id})
RETURN collect([h.id, h.kind, h.status, h.reasons]) AS records
"""

# Candidates whose reasons text holds one of the needles (result ids as the stored JSON
# writes them); the decoded reasons then decide.
_HEALTH_NAMING = """
MATCH (h:Health) WHERE any(needle IN $needles WHERE h.reasons CONTAINS needle)
RETURN collect([h.id, h.kind, h.status, h.reasons]) AS records
"""

_HEALTH_MATCH = """
MATCH (h:Health)
WHERE h.status IN $statuses AND ($kinds IS NULL OR h.kind IN $kinds)
"""

_HEALTH_PAGE = f"""{_HEALTH_MATCH}AND ($after IS NULL OR h.id > $after)
RETURN {_HEALTH_FIELDS}
ORDER BY h.id
SKIP $offset LIMIT $limit
"""

_COUNT_HEALTH_PAGE = f"{_HEALTH_MATCH}RETURN count(h) AS total"

_EXPORT_NODES = f"MATCH (n:Entity) RETURN {_NODE_FIELDS}"

_EXPORT_EDGES = """
MATCH (s:Entity)-[r]->(t:Entity)
RETURN s.id AS s, type(r) AS kind, t.id AS t, r.origin AS origin, r.first_seen AS first_seen,
       r.last_seen AS last_seen, r.ended_at AS ended_at, r.attrs AS attrs
"""

# Counts come from Neo4j's count store: constant time per label and relationship type.
_COUNT_NODES = " UNION ALL ".join(
    f"MATCH (n:Entity:{label}) RETURN '{kind.value}' AS kind, count(n) AS count"
    for kind, label in LABELS.items()
)
_COUNT_EDGES = " UNION ALL ".join(
    f"MATCH ()-[r:{kind.value}]->() RETURN '{kind.value}' AS kind, count(r) AS count"
    for kind in EdgeKind
)
_COUNT_HEALTH = "MATCH (h:Health) RETURN h.status AS status, count(h) AS count"

# Which replica holds the writer lock, for whoever looks at the WriterLock node.
_HOLDER = f"{socket.gethostname()}:{os.getpid()}"
# What Neo4j says when it ends a transaction at its timeout (while waiting for a lock, or
# later).
_ENDED_BY_TIMEOUT = frozenset(
    {
        "Neo.ClientError.Transaction.LockClientStopped",
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    }
)
_log = logging.getLogger(__name__)
# Takes the write lock of the one WriterLock node, held until the transaction ends.
_TAKE_WRITER = """
MERGE (w:WriterLock {name: 'lineagegraph'})
SET w.holder = $holder
"""

_WIPE = """
MATCH (n) WHERE n:Entity OR n:Health
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
"""

_EDGE_PROPS = (
    "r.origin AS origin, r.first_seen AS first_seen, r.last_seen AS last_seen, "
    "r.ended_at AS ended_at, r.attrs AS attrs"
)


# Per request (in order): the dataset's latest current version at or before a time, but
# for excluded ones. Neo4j keeps a dense node's relationships by type, so this reads the
# dataset's versions and not its other edges, on the server.
_LATEST_VERSIONS = (
    "UNWIND range(0, size($requests) - 1) AS i "
    "WITH i, $requests[i] AS request "
    "OPTIONAL CALL (request) { "
    f"MATCH (:Entity {{id: request.dataset}})-[r:HAS_VERSION]->(v:{LABELS[Kind.DATASET_VERSION]}) "
    "WHERE r.ended_at IS NULL AND r.first_seen <= request.at "
    "AND NOT v.id IN request.excluded "
    "RETURN r.first_seen AS seen, v.id AS version "
    "ORDER BY seen DESC, version DESC LIMIT 1 } "
    "RETURN i, seen, version ORDER BY i"
)


# Per request: of the runs of its jobs' HAS_RUN edges (ended ones too) first seen by its
# time, the COMPLETE one with the latest ``done`` stamp at or before it, as "stamp id"
# (stamps hold no space); and the runs written before ``state`` and ``done`` existed,
# with their attributes, which then decide. Neo4j keeps a job's runs by relationship type,
# so this reads them, and only their properties, on the server.
_LAST_COMPLETED_RUNS = (
    "UNWIND range(0, size($requests) - 1) AS i "
    "WITH i, $requests[i] AS request "
    "CALL (request) { "
    "MATCH (j:Entity)-[h:HAS_RUN]->(r:Run) "
    "WHERE j.id IN request.jobs AND (request.at = '' OR h.first_seen <= request.at) "
    "AND (r.state IS NULL "
    "OR (r.state = 'COMPLETE' AND (request.at = '' OR r.done <= request.at))) "
    "RETURN max(CASE WHEN r.state IS NOT NULL THEN r.done + ' ' + r.id END) AS top, "
    "collect(CASE WHEN r.state IS NULL THEN [r.id, r.attrs] END) AS unmarked } "
    "RETURN i, top, unmarked ORDER BY i"
)


# Per dataset or job with a current HAS_VERSION or HAS_RUN edge (the edge rules give
# datasets no runs and jobs no versions), in one pass over those edges: the latest of its
# versions or runs by the ``stamp`` property and then id, as "stamp id" (stamps hold no
# space, and "" sorts first), or "" when none has a stamp; and those without one (written
# before the property existed), whose attributes then decide. Neo4j keeps a dense node's
# relationships by type, so this reads the owner's versions or runs and not its other
# edges, on the server. One record of parallel lists: the driver decodes that many times
# faster than a record per owner.
_MEMBERS = f"(m:{LABELS[Kind.DATASET_VERSION]} OR m:{LABELS[Kind.RUN]})"
_LATEST_HISTORY = (
    "UNWIND $ids AS id "
    "MATCH (o:Entity {id: id}) WHERE o.kind IN $kinds "
    "CALL (o) { "
    "MATCH (o)-[r:HAS_VERSION|HAS_RUN]->(m) WHERE r.ended_at IS NULL "
    f"WITH m, {_MEMBERS} AS member "
    "RETURN count(m) AS edges, "
    "max(CASE WHEN member AND m.stamp IS NOT NULL THEN m.stamp + ' ' + m.id END) AS top, "
    "collect(CASE WHEN member AND m.stamp IS NULL THEN [m.id, m.attrs] END) AS unstamped } "
    "WITH o, top, unstamped WHERE edges > 0 "
    "RETURN collect(o.id) AS owners, collect(coalesce(top, '')) AS tops, "
    "collect(unstamped) AS unstamped"
)

# Per request: the owner's versions or runs over current edges with a ``stamp`` from the
# start to the end, as [stamp, id]; the latest before the start, as "stamp id"; and those
# without a stamp (written before the property existed), whose attributes then decide.
_HISTORY_BETWEEN = (
    "UNWIND range(0, size($requests) - 1) AS i "
    "WITH i, $requests[i] AS request "
    "CALL (request) { "
    "MATCH (o:Entity {id: request.owner})-[r:HAS_VERSION|HAS_RUN]->(m) "
    f"WHERE r.ended_at IS NULL AND {_MEMBERS} AND (m.stamp IS NULL OR m.stamp <= request.end) "
    "RETURN collect(CASE WHEN m.stamp >= request.start THEN [m.stamp, m.id] END) AS within, "
    "max(CASE WHEN m.stamp < request.start THEN m.stamp + ' ' + m.id END) AS before, "
    "collect(CASE WHEN m.stamp IS NULL THEN [m.id, m.attrs] END) AS unstamped } "
    "RETURN i, within, before, unstamped ORDER BY i"
)


# Which edges a hop follows: current ones, those valid at $as_of, or every stored one.
_VALID = {
    "current": "r.ended_at IS NULL",
    "as_of": "r.first_seen <= $as_of AND (r.ended_at IS NULL OR r.ended_at > $as_of)",
    "every": "true",
}


@lru_cache(maxsize=256)
def _expand_query(
    direction: Direction, kinds: tuple[EdgeKind, ...], validity: str, full: bool
) -> str:
    """One hop for a whole frontier, as one record: the lists ``positions``, ``kinds`` and
    ``others``, or with ``full`` the list ``edges`` of [i, dir, kind, other, properties…].

    ``i`` is the position in the frontier, ``dir`` 0 for downstream and 1 for upstream;
    ``validity`` is a key of :data:`_VALID`.
    """
    types = "|".join(k.value for k in kinds)  # enum values only, never input
    valid = _VALID[validity]
    columns = "type(r) AS kind, o.id AS other" + (f", {_EDGE_PROPS}" if full else "")
    down = f"MATCH (s)-[r:{types}]->(o) WHERE {valid} RETURN 0 AS dir, {columns}"
    up = f"MATCH (s)<-[r:{types}]-(o) WHERE {valid} RETURN 1 AS dir, {columns}"
    body = {
        Direction.DOWNSTREAM: down,
        Direction.UPSTREAM: up,
        Direction.BOTH: f"{down} UNION ALL {up}",
    }[direction]
    # Everything comes back as one record of parallel lists, already in the documented
    # order (Neo4j orders strings by code point, as Python does): one Bolt message per
    # level instead of one per hop keeps large levels cheap to transfer and decode.
    if full:
        columns = "i, dir, kind, other, origin, first_seen, last_seen, ended_at, attrs"
        returned = f"collect([{columns}]) AS edges"
    else:
        columns = "i, dir, kind, other"
        returned = "collect(i) AS positions, collect(kind) AS kinds, collect(other) AS others"
    return (
        "UNWIND range(0, size($frontier) - 1) AS i "
        "MATCH (s:Entity {id: $frontier[i]}) "
        f"CALL (s) {{ {body} }} "
        f"WITH {columns} ORDER BY dir, i, kind, other "
        f"RETURN {returned}"
    )


# --- search text: the tokens of SQLite FTS5's unicode61 tokenizer ------------------------------


class _Tokenizer:
    """Splits text into the tokens SQLite FTS5's ``unicode61`` tokenizer produces.

    That tokenizer decides per code point: a separator, or a token character that it
    case-folds and strips of diacritics (possibly to nothing). The decision for each
    non-ASCII code point is asked of SQLite itself once and cached, so both stores
    match the same words.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[int, str] = {
            code: (chr(code).lower() if chr(code).isalnum() else " ") for code in range(128)
        }
        self._con: sqlite3.Connection | None = None

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text``, lowercase and without diacritics."""
        if not text.isascii():
            table = self._table
            missing = {ord(ch) for ch in text if ord(ch) not in table}
            if missing:
                self._learn(missing)
        return text.translate(self._table).split()

    def _learn(self, codes: set[int]) -> None:
        with self._lock:
            con = self._con
            if con is None:
                con = sqlite3.connect(":memory:", check_same_thread=False)
                con.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61')")
                con.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
                self._con = con
            learned: dict[int, str] = {}
            rows = []
            for code in sorted(codes):
                if 0xD800 <= code <= 0xDFFF:  # a lone surrogate is no text: a separator
                    learned[code] = " "
                else:
                    rows.append((code, f"q{chr(code)}q"))
            con.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", rows)
            found: dict[int, list[str]] = {}
            for doc, term in con.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
                found.setdefault(doc, []).append(term)
            con.execute("DELETE FROM t")
            for code, _ in rows:
                terms = found.get(code, [])
                if len(terms) == 1 and terms[0].startswith("q") and terms[0].endswith("q"):
                    learned[code] = terms[0][1:-1]
                else:
                    learned[code] = " "
            self._table.update(learned)


_TOKENIZER = _Tokenizer()

# Lucene's whitespace tokenizer cuts tokens after 255 characters; longer query tokens are
# shortened to a prefix, and the exact phrase check then does the rest.
_LUCENE_TOKEN_LIMIT = 100
_LUCENE_MAX_CLAUSES = 64


def _padded_tokens(text: str) -> str:
    return " " + " ".join(_TOKENIZER.tokens(text)) + " "


def search_text(node: Node, field_paths: Sequence[str] = ()) -> str:
    """The stored search text of a node: its tokens between single spaces, padded by spaces.

    A dataset's text includes the paths of its fields, as in the embedded store.
    """
    text = node.search_text()
    if node.kind is Kind.DATASET:
        text += " " + " ".join(field_paths)
    return _padded_tokens(text)


def search_title(node: Node) -> str:
    """The stored title of a node: the tokens of its own name or key part, like its text."""
    return _padded_tokens(node.search_title())


def _search_plan(query: str) -> tuple[str, list[str]] | None:
    """The Lucene query and the phrases that must occur, or ``None`` when nothing can match.

    A term's tokens must occur one after the other with the last one as a prefix: in the
    stored text that is the substring ``" tok1 tok2 tok3"``. Lucene looks for every token
    (the last as a word or a prefix) in the title or the text.
    """
    clauses: list[str] = []
    phrases: list[str] = []
    for term in search_terms(query):
        tokens = _TOKENIZER.tokens(term)
        if not tokens:
            return None  # FTS5 matches nothing for a phrase without tokens
        phrases.append(" " + " ".join(tokens))
        for position, token in enumerate(tokens):
            word = token[:_LUCENE_TOKEN_LIMIT]
            if position == len(tokens) - 1 or len(token) > _LUCENE_TOKEN_LIMIT:
                clause = f"({word} OR {word}*)"
            else:
                clause = word
            if clause not in clauses:
                clauses.append(clause)
    every = " AND ".join(clauses[:_LUCENE_MAX_CLAUSES])
    return f"title:({every})^10 OR search:({every})", phrases


# --- conversions --------------------------------------------------------------------------------


def _mark_members(session: neo4j.Session) -> int:
    """Fill in the history properties of versions and runs written before them (see
    :data:`_UNMARKED_MEMBERS`); returns how many nodes were marked."""
    marked = 0
    for kind in _MARKED_KINDS:
        # every id of the kind, as ids.make_id begins it, and nothing else
        after, end = kind.value.lower() + SEPARATOR, kind.value.lower() + "}"
        while True:
            found = session.run(_UNMARKED_MEMBERS, after=after, end=end, limit=_MARK_PAGE).data()
            rows = [
                {
                    "id": record["id"],
                    "attrs": record["attrs"],
                    **_history_props(kind, json.loads(record["attrs"])),
                }
                for record in found
            ]
            if rows:
                session.run(_MARK_MEMBERS, rows=rows).consume()
                marked += len(rows)
            if len(found) < _MARK_PAGE:
                break
            after = found[-1]["id"]
    return marked


def _run_state(attrs: dict[str, Any]) -> str:
    state = attrs.get("state")
    return state if isinstance(state, str) else ""


def _strings(value: Any) -> list[str] | None:
    """The values an owner or tag filter matches: like SQLite's json_each over the attribute."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        found = [v for v in value if isinstance(v, str)]
        return found or None
    return None


def _node_props(node: Node, attrs: dict[str, Any], search: str | None) -> dict[str, Any]:
    return {
        "id": node.id,
        "kind": node.kind.value,
        "namespace": node.namespace,
        "name": node.name,
        "parts": list(node.parts),
        "attrs": canonical_json(attrs),
        "title": search_title(node),
        "owners": _strings(attrs.get("owners")),
        "tags": _strings(attrs.get("tags")),
        "search": search,
        **_history_props(node.kind, attrs),
    }


def _history_props(kind: Kind, attrs: dict[str, Any]) -> dict[str, str | None]:
    """The properties that place a version or run in its owner's history: its ``stamp``
    and, for runs, their ``state`` ("" for none) and, once COMPLETE, their ``done``."""
    return {
        "stamp": member_stamp(kind, attrs),
        "state": _run_state(attrs) if kind is Kind.RUN else None,
        "done": completion_stamp(kind, attrs),
    }


def _node_from_record(values: Sequence[Any]) -> Node:
    """A node from a record or list of (id, kind, namespace, name, parts, attrs)."""
    node_id, kind, namespace, name, parts, attrs = values[:6]
    return Node(
        id=node_id,
        kind=Kind(kind),
        namespace=namespace,
        name=name,
        parts=tuple(parts or ()),
        attrs=json.loads(attrs),
    )


def _edge_props(edge: Edge) -> dict[str, Any]:
    props: dict[str, Any] = {
        "origin": edge.origin.value,
        "first_seen": edge.first_seen,
        "last_seen": edge.last_seen,
        "attrs": canonical_json(edge.attrs),
    }
    if edge.ended_at is not None:
        props["ended_at"] = edge.ended_at
    return props


def _edge(source: str, kind: str, target: str, record: neo4j.Record) -> Edge:
    return Edge(
        source_id=source,
        kind=EdgeKind(kind),
        target_id=target,
        origin=Origin(record["origin"]),
        first_seen=record["first_seen"],
        last_seen=record["last_seen"],
        ended_at=record["ended_at"],
        attrs=json.loads(record["attrs"]),
    )


def _health_records(rows: Iterable[Sequence[Any]]) -> list[HealthRecord]:
    """Health records from records or lists of (id, kind, status, reasons).

    Reads are read-committed: a record that another transaction deleted after this read
    matched it comes back with null fields. It no longer exists (the entity is OK now),
    so it is left out rather than failing the read.
    """
    return [_health_from_record(row) for row in rows if None not in tuple(row)[1:4]]


def _health_from_record(values: Sequence[Any]) -> HealthRecord:
    """A health record from a record or list of (id, kind, status, reasons)."""
    health_id, kind, status, reasons = values[:4]
    return HealthRecord(
        id=health_id,
        kind=Kind(kind),
        status=HealthStatus(status),
        reasons=reasons_from_json(reasons),
    )


_EDGE_KIND_BY_NAME: Final[dict[str, EdgeKind]] = {k.value: k for k in EdgeKind}


def _edge_kinds(edge_kinds: Collection[EdgeKind]) -> tuple[EdgeKind, ...]:
    try:
        return tuple(sorted({EdgeKind(k) for k in edge_kinds}))
    except ValueError as error:
        raise InvalidInput(f"unknown edge kind: {error}") from None


def _direction(direction: Direction) -> Direction:
    try:
        return Direction(direction)
    except ValueError:
        raise InvalidInput(f"unknown direction: {direction!r}") from None


def _dataset_of_field(node_id: str) -> str | None:
    if node_id.split("|", 1)[0] != "field":
        return None
    return "dataset|" + "|".join(node_id.split("|")[1:3])


# --- the store ----------------------------------------------------------------------------------


class Neo4jStore:
    """The store port over a Neo4j server (5.x; Community, Enterprise or Aura)."""

    # Bigger transactions gain nothing here (10,000 events a transaction were slower
    # than 2,000) and hold more of the server's transaction memory.
    batch_events = 2_000
    indexed_health_naming = False

    def __init__(
        self,
        url: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        retry_seconds: float = 5.0,
        connect_seconds: float = 5.0,
        write_lock_seconds: float = 600.0,
    ) -> None:
        """Connect lazily to ``url``; an empty ``password`` connects without authentication.

        ``retry_seconds`` bounds how long a managed transaction retries transient failures
        (including a server that went away) before the call raises StoreUnavailable.
        ``write_lock_seconds`` bounds how long :meth:`writer` holds the write lock, and
        how long it waits for it (see there).
        """
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            # Nothing of the URL is shown: a password holding '/' ends the authority
            # there, so what reads as the port is part of the password.
            raise InvalidInput(
                f"invalid Neo4j URL ({parts.scheme}://…): its port is not a number from "
                "0 to 65535; a user or password written in the URL must percent-encode "
                "'/', '?', '#' and '@' (%2F, %3F, %23, %40)"
            ) from None
        if not parts.hostname:
            # The driver would quietly connect to localhost:7687: say the host is missing.
            raise InvalidInput(
                f"invalid Neo4j URL ({parts.scheme}://…): it names no host, as in "
                f"{parts.scheme}://localhost:7687 (a user and password go before the host: "
                f"{parts.scheme}://USER:PASSWORD@HOST:PORT)"
            )
        if parts.username is not None:  # percent-encoded, as in any URL
            user = unquote(parts.username)
            password = unquote(parts.password or "")
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 address keeps its brackets
            host = f"[{host}]"
        if port is not None:
            host = f"{host}:{port}"
        address = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
        self.url = address
        self.database = database
        self.write_lock_seconds = write_lock_seconds
        auth = neo4j.basic_auth(user, password) if password else None
        try:
            self._driver = neo4j.GraphDatabase.driver(
                address,
                auth=auth,
                max_transaction_retry_time=retry_seconds,
                connection_timeout=connect_seconds,
                connection_acquisition_timeout=connect_seconds * 2,
                notifications_min_severity="OFF",
                fetch_size=-1,  # every result in one round trip: levels can be large
            )
        except (ValueError, neo4j_errors.ConfigurationError) as error:
            raise InvalidInput(f"invalid Neo4j URL {address!r}: {error}") from None
        self._bookmarks = self._driver.execute_query_bookmark_manager
        # The writer lock's transaction, in the thread that holds the lock (see writer).
        self._held = threading.local()
        self._closed = False
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        with suppress(StoreUnavailable):  # else created on first use, once the server answers
            self._ensure_schema()

    @classmethod
    def from_url(cls, url: str, settings: Settings | None = None) -> Neo4jStore:
        """Open the store at a ``bolt://`` or ``neo4j://`` URL.

        The user, password and database come from ``settings`` (by default from
        ``LINEAGEGRAPH_NEO4J_USER``, ``_PASSWORD`` and ``_DATABASE``); credentials in the
        URL (``bolt://user:password@host:7687``) take precedence.
        """
        settings = settings or Settings()
        return cls(
            url,
            user=settings.neo4j_user,
            password=settings.neo4j_password,
            database=settings.neo4j_database,
            write_lock_seconds=settings.neo4j_write_lock_seconds,
        )

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn the driver's connection failures into :class:`StoreUnavailable`."""
        if self._closed:
            raise StoreUnavailable(f"store {self.url} is closed")
        try:
            yield
        except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired) as error:
            raise StoreUnavailable(f"Neo4j at {self.url} is unavailable: {error}") from error
        except neo4j_errors.AuthError as error:
            raise StoreUnavailable(
                f"Neo4j at {self.url} refused the credentials "
                "(LINEAGEGRAPH_NEO4J_USER / LINEAGEGRAPH_NEO4J_PASSWORD)"
            ) from error
        except neo4j_errors.TransientError as error:
            raise StoreUnavailable(
                f"Neo4j at {self.url} is busy or unavailable: {error.message}"
            ) from error
        except neo4j_errors.ClientError as error:
            if error.code == "Neo.ClientError.Database.DatabaseNotFound":
                raise StoreUnavailable(
                    f"Neo4j at {self.url} has no database {self.database!r} "
                    "(LINEAGEGRAPH_NEO4J_DATABASE)"
                ) from error
            raise
        except neo4j_errors.ConnectionPoolError as error:
            raise StoreUnavailable(
                f"Neo4j at {self.url} has no free connection: {error}"
            ) from error
        except OSError as error:
            raise StoreUnavailable(f"Neo4j at {self.url} is unreachable: {error}") from error

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self.database, bookmark_manager=self._bookmarks)

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock, self._errors():
            if self._schema_ready:
                return
            with self._session() as session:
                try:
                    for statement in _SCHEMA:
                        try:
                            session.run(statement).consume()
                        except neo4j_errors.ClientError as error:
                            # another replica created the same index at the same moment
                            if "AlreadyExists" not in (error.code or ""):
                                raise
                    session.run("CALL db.awaitIndexes(300)").consume()
                    marked = _mark_members(session)
                    if marked:
                        _log.info(
                            "Neo4j at %s: %d versions and runs marked for history", self.url, marked
                        )
                except neo4j_errors.Forbidden as error:
                    # A user without schema rights can work once an administrator (or an
                    # earlier start with more rights) created the schema.
                    try:
                        session.run(_PROBE_SCHEMA).consume()
                    except neo4j_errors.ClientError:
                        raise StoreUnavailable(
                            f"Neo4j at {self.url}: the user may not create the lineagegraph "
                            "schema (constraints and indexes) and it does not exist yet; "
                            "connect once as a user with schema rights"
                        ) from error
            self._schema_ready = True

    def _read(self, query: str, **params: Any) -> list[neo4j.Record]:
        """Run a read query and return its records: in the writer lock's transaction when
        this thread holds the lock (see :meth:`writer`), else in a managed (retried) one."""
        self._ensure_schema()
        with self._errors():
            held: neo4j.Transaction | None = getattr(self._held, "transaction", None)
            if held is not None:
                try:
                    return list(held.run(query, params))
                except neo4j_errors.ClientError as error:
                    if error.code not in _ENDED_BY_TIMEOUT:
                        raise
                    self._held.transaction = None  # Neo4j ended it: read on its own from now on
            records, _, _ = self._driver.execute_query(
                query,
                params,
                database_=self.database,
                routing_=neo4j.RoutingControl.READ,
                bookmark_manager_=self._bookmarks,
            )
            return records

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        self._ensure_schema()
        with self._errors(), self._session() as session:
            return session.execute_write(work)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changeset: ChangeSet) -> ApplyResult:
        """Apply a changeset atomically and idempotently in one transaction (see ``Store``)."""
        if changeset.snapshots or changeset.schemas:
            raise InvalidInput("snapshots must be resolved by the service before apply")
        cs = changeset.normalized()
        if self._closed:
            raise StoreUnavailable(f"store {self.url} is closed")
        # before anything is written: Neo4j refuses to index an over-long id with an error
        # of its own, which would surface as a failure of the store
        cs.check_node_ids()
        if not cs.is_empty():
            for attempt in range(5):
                try:
                    self._write(lambda tx: self._apply(tx, cs))
                    break
                except UnicodeEncodeError as error:
                    raise not_unicode(error) from None
                except (neo4j_errors.ConstraintError, neo4j_errors.ResultFailedError) as error:
                    # Another writer created a node or health record this changeset creates:
                    # apply again. A later query of the failed transaction reports the
                    # conflict as the cause of a ResultFailedError.
                    if not _lost_a_creation_race(error):
                        raise
                    if attempt == 4:
                        raise StoreUnavailable(
                            f"Neo4j at {self.url}: concurrent writers kept conflicting"
                        ) from None
        return ApplyResult(
            nodes=len(cs.nodes),
            edges=len(cs.edges),
            endings=len(cs.endings),
            deletes=len(cs.deletes),
            health=len(cs.health) + len(cs.health_removals),
        )

    def _apply(self, tx: neo4j.ManagedTransaction, cs: ChangeSet) -> None:
        """The body of the write transaction; the driver may run it again on transient errors.

        Writes may come before validation: an invalid changeset raises before the commit,
        and the whole transaction is rolled back.
        """
        node_ids = {n.id for n in cs.nodes}
        locked = node_ids | {e.source_id for e in cs.endings}
        # Health records are checked where they are written (one probe, one answer),
        # except those of nodes that this changeset deletes: those are checked first.
        deleted = set(cs.deletes)
        wanted = sorted(locked | {r.id for r in cs.health if r.id in deleted})
        rows = [{"id": i, "lock": i in locked, "attrs": i in node_ids} for i in wanted]
        existing: set[str] = set()
        stored_attrs: dict[str, tuple[dict[str, Any], str | None]] = {}
        for record in tx.run(_LOCK_AND_READ, rows=rows):
            existing.add(record["id"])
            if record["attrs"] is not None:
                stored_attrs[record["id"]] = (json.loads(record["attrs"]), record["seen"])

        datasets, new_fields = self._write_nodes(tx, cs, stored_attrs)
        existing.update(self._write_edges(tx, cs))
        ends = {e.source_id for e in cs.edges} | {e.target_id for e in cs.edges}
        unchecked = {r.id for r in cs.health} - existing - node_ids - deleted - ends
        # A stored node's kind is the kind its id names (ids are checked when written).
        # Unchecked health ids count as stored here and are checked by _write_health.
        known = {i: kind_of(i) for i in existing - node_ids}
        known.update((r.id, r.kind) for r in cs.health if r.id in unchecked)
        cs.validate_shape(known)

        if cs.deletes:
            tx.run(_DELETE_NODES, ids=cs.deletes).consume()
            tx.run(_DELETE_HEALTH, ids=cs.deletes).consume()
        if cs.health:
            self._write_health(tx, cs.health, unchecked)
        if cs.health_removals:
            tx.run(_DELETE_HEALTH, ids=cs.health_removals).consume()
        self._refresh_dataset_search(tx, datasets, new_fields + cs.deletes, cs.deletes)

    def _write_health(
        self, tx: neo4j.ManagedTransaction, records: list[HealthRecord], unchecked: set[str]
    ) -> None:
        """Write health records; raise for one of an ``unchecked`` id that no entity has.

        One probe finds the ids without an entity and the records stored already; new
        records are created, which costs Neo4j much less than merging them (about a
        third less for the 9,814 records of the health benchmark), and stored ones are
        merged. A writer that creates the same record meanwhile makes the create fail on
        the unique constraint, and :meth:`apply` runs the changeset again. The last
        record of an id wins.
        """
        latest = {r.id: r for r in records}
        (probe,) = tx.run(_PROBE_HEALTH, ids=list(latest))
        absent = set(probe["absent"]) & unchecked
        for r in records:
            if r.id in absent:
                raise InvalidInput(f"health for {r.id}, which does not exist")
        stored = set(probe["stored"])
        created: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        for r in latest.values():
            row = {
                "id": r.id,
                "kind": r.kind.value,
                "status": r.status.value,
                "reasons": reasons_to_json(r.reasons),
            }
            (updated if r.id in stored else created).append(row)
        if created:
            tx.run(_CREATE_HEALTH, rows=created).consume()
        if updated:
            tx.run(_UPDATE_HEALTH, rows=updated).consume()

    def _write_nodes(
        self,
        tx: neo4j.ManagedTransaction,
        cs: ChangeSet,
        stored: dict[str, tuple[dict[str, Any], str | None]],
    ) -> tuple[list[str], list[str]]:
        """Create new nodes and update changed ones (an unchanged node is not written);
        a report older than the one a node holds (:func:`merge_reported`) only fills gaps.

        Returns the ids of the datasets written and of the fields created: their search
        text needs the dataset's fields, so it is written after all nodes.
        """
        created: dict[Kind, list[dict[str, Any]]] = {}
        updated: list[dict[str, Any]] = []
        datasets: list[str] = []
        new_fields: list[str] = []
        for node in cs.nodes:
            found = stored.get(node.id)
            at = cs.time_of(node.id)
            if found is None:
                attrs = node.attrs
                if not attrs:  # a bare reference reports no attributes: no time to keep
                    at = None
                if node.kind is Kind.FIELD:
                    new_fields.append(node.id)
            else:
                old, old_at = found
                attrs, at = merge_reported(old, old_at, node.attrs, at, node.kind)
                if at == old_at and json_equal(attrs, old):
                    continue
            if node.kind is Kind.DATASET:
                datasets.append(node.id)
            merged = node.model_copy(update={"attrs": attrs})
            text = None if node.kind is Kind.DATASET else search_text(merged)
            props = _node_props(node, attrs, text)
            props["seen"] = at
            if found is None:
                created.setdefault(node.kind, []).append(props)
            else:
                updated.append(props)
        for kind, rows in created.items():
            tx.run(_CREATE_NODES[kind], rows=rows).consume()
        if updated:
            tx.run(_UPDATE_NODES, rows=updated).consume()
        return datasets, new_fields

    def _write_edges(self, tx: neo4j.ManagedTransaction, cs: ChangeSet) -> set[str]:
        """Write edges and endings; returns the ends of the changeset's edges that exist.

        Edges merge with stored ones like :func:`merge_edge`; endings then apply to the
        merged edge like :func:`end_edge`.
        """
        endings: dict[EdgeKey, list[EdgeEnding]] = {}
        for ending in cs.endings:
            key = (ending.source_id, ending.kind, ending.target_id)
            endings.setdefault(key, []).append(ending)

        def finish(edge: Edge) -> Edge:
            for ending in endings.get(edge.key, ()):
                edge = end_edge(edge, ending.at, retract=ending.retract)
            return edge

        by_kind: dict[EdgeKind, list[Edge]] = {}
        for edge in cs.edges:
            by_kind.setdefault(edge.kind, []).append(edge)
        missing: set[str] = set()
        updated: list[dict[str, Any]] = []
        for kind, edges in by_kind.items():
            news = {(e.source_id, e.target_id): e for e in edges}
            rows = [
                {
                    "s": e.source_id,
                    "t": e.target_id,
                    "props": _edge_props(finish(e)),
                    "plain": e.key not in endings,
                }
                for e in edges
            ]
            for record in tx.run(_WRITE_EDGES[kind], rows=rows):
                if not record["s_exists"]:
                    missing.add(record["s"])
                if not record["t_exists"]:
                    missing.add(record["t"])
                if record["eid"] is not None:
                    old = _edge(record["s"], kind.value, record["t"], record)
                    final = finish(merge_edge(old, news[(record["s"], record["t"])]))
                    if final != old or not json_equal(final.attrs, old.attrs):
                        updated.append({"eid": record["eid"], "props": _edge_props(final)})
        # endings of edges that this changeset does not report
        reported = {e.key for e in cs.edges}
        keys = [k for k in endings if k not in reported]
        if keys:
            params = [{"s": s, "kind": k.value, "t": t} for s, k, t in keys]
            for record in tx.run(_READ_EDGES, keys=params):
                old = _edge(record["s"], record["kind"], record["t"], record)
                final = finish(old)
                if final != old:
                    updated.append({"eid": record["eid"], "props": _edge_props(final)})
        if updated:
            tx.run(_UPDATE_EDGES, rows=updated).consume()
        ends = {e.source_id for e in cs.edges} | {e.target_id for e in cs.edges}
        return ends - missing

    def _refresh_dataset_search(
        self,
        tx: neo4j.ManagedTransaction,
        written: list[str],
        fields_added_or_removed: list[str],
        deleted: list[str],
    ) -> None:
        """Rebuild the text of datasets that were written or whose set of fields changed."""
        datasets = set(written)
        for node_id in fields_added_or_removed:
            dataset = _dataset_of_field(node_id)
            if dataset is not None:
                datasets.add(dataset)
        targets = sorted(datasets - set(deleted))
        if not targets:
            return
        rows = []
        for record in tx.run(_DATASETS_WITH_FIELDS, ids=targets):
            node = _node_from_record(record)
            rows.append({"id": node.id, "search": search_text(node, record["paths"])})
        if rows:
            tx.run(_SET_SEARCH, rows=rows).consume()

    # --- reads --------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes with these ids; missing ids are absent."""
        if not ids:
            return self._empty({})
        (record,) = self._read(_GET_NODES, ids=list(ids))
        return {values[0]: _node_from_record(values) for values in record["nodes"]}

    def kinds(self, ids: Sequence[str]) -> dict[str, Kind]:
        """The kinds of the existing nodes among these ids."""
        if not ids:
            return self._empty({})
        (record,) = self._read(_GET_KINDS, ids=list(ids))
        return {i: Kind(k) for i, k in zip(record["ids"], record["kinds"], strict=True)}

    def _empty(self, value: T) -> T:
        if self._closed:
            raise StoreUnavailable(f"store {self.url} is closed")
        return value

    def _hops_record(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None,
        full: bool,
        include_ended: bool = False,
    ) -> neo4j.Record | None:
        direction = _direction(direction)
        kinds = _edge_kinds(edge_kinds)
        if not frontier or not kinds:
            return self._empty(None)
        validity = "every" if include_ended else "current" if as_of is None else "as_of"
        query = _expand_query(direction, kinds, validity, full)
        stamp = None if as_of is None else format_time(as_of)
        (record,) = self._read(query, frontier=list(frontier), as_of=stamp)
        return record

    def expand(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Hop]:
        """One hop from every frontier node, in one query (see ``Store``).

        Hops come downstream first, then upstream; each by frontier position, edge kind
        and neighbour id.
        """
        check_history_request(as_of, include_ended)
        record = self._hops_record(frontier, direction, edge_kinds, as_of, False, include_ended)
        if record is None:
            return []
        kinds = _EDGE_KIND_BY_NAME
        return [
            Hop(frontier[i], kinds[kind], other)
            for i, kind, other in zip(
                record["positions"], record["kinds"], record["others"], strict=True
            )
        ]

    def expand_targets(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        seen: Collection[str] = (),
        same_level: Collection[EdgeKind] = (),
    ) -> tuple[list[str], list[str]]:
        """Where one hop from every frontier node leads, from :meth:`expand` (see ``Store``)."""
        inside = frozenset(same_level)
        hops = self.expand(frontier, direction, frozenset(edge_kinds) | inside, as_of)
        return targets_of_hops(hops, seen, inside)

    def on_cycles(self, ids: Collection[str], edge_kinds: Collection[EdgeKind]) -> set[str] | None:
        """``None``: no cycle index is kept, as replicas share no memory (see ``Store``)."""
        return None

    def edges(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Edge]:
        """Like :meth:`expand`, with the full stored edges, each once (see ``Store``)."""
        check_history_request(as_of, include_ended)
        record = self._hops_record(frontier, direction, edge_kinds, as_of, True, include_ended)
        if record is None:
            return []
        found: dict[EdgeKey, Edge] = {}
        for i, way, kind, other, origin, first_seen, last_seen, ended_at, attrs in record["edges"]:
            node = frontier[i]
            source, target = (node, other) if way == 0 else (other, node)
            key = (source, _EDGE_KIND_BY_NAME[kind], target)
            if key not in found:
                found[key] = Edge(
                    source_id=source,
                    kind=key[1],
                    target_id=target,
                    origin=Origin(origin),
                    first_seen=first_seen,
                    last_seen=last_seen,
                    ended_at=ended_at,
                    attrs=json.loads(attrs),
                )
        return list(found.values())

    def latest_history(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The latest version of each dataset and run of each job, in one query (see ``Store``).

        Versions and runs carry their time stamp as a property; those written before it
        existed are ordered by their attributes here.
        """
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        kinds = sorted(kind.value for kind in HISTORY_ORDER)
        (record,) = self._read(_LATEST_HISTORY, ids=wanted, kinds=kinds)
        answers: dict[str, str | None] = {}
        for owner, top, unstamped in zip(
            record["owners"], record["tops"], record["unstamped"], strict=True
        ):
            stamp, _, latest = top.partition(" ")
            if not unstamped:
                answers[owner] = latest or None
                continue
            member = HISTORY_ORDER[kind_of(owner)][1]
            candidates = [(member_stamp(member, json.loads(a)) or "", m) for m, a in unstamped]
            if latest:
                candidates.append((stamp, latest))
            answers[owner] = max(candidates)[1]
        return answers

    def last_completed_runs(self, requests: Sequence[RunRequest]) -> list[tuple[str, str] | None]:
        """The run of each request's jobs that completed last by its time, in one query
        (see ``Store``). Runs written before their state was a property are judged by
        their attributes here."""
        if not requests:
            return []
        rows = [{"jobs": sorted(set(r.job_ids)), "at": r.at} for r in requests]
        answers: list[tuple[str, str] | None] = [None] * len(rows)
        for record in self._read(_LAST_COMPLETED_RUNS, requests=rows):
            at = rows[record["i"]]["at"]
            candidates: list[tuple[str, str]] = []
            if record["top"] is not None:
                stamp, _, run_id = record["top"].partition(" ")
                candidates.append((stamp, run_id))
            for run_id, attrs in record["unmarked"]:
                stamp = completion_stamp(Kind.RUN, json.loads(attrs))
                if stamp is not None and (not at or stamp <= at):
                    candidates.append((stamp, run_id))
            answers[record["i"]] = max(candidates, default=None)
        return answers

    def history_between(self, requests: Sequence[HistoryRequest]) -> list[list[tuple[str, str]]]:
        """Part of each owner's history, in one query (see ``Store``). Versions and runs
        written before their ``stamp`` property existed are placed by their attributes."""
        if not requests:
            return []
        rows = [{"owner": r.owner_id, "start": r.start, "end": r.end} for r in requests]
        answers: list[list[tuple[str, str]]] = [[] for _ in rows]
        for record in self._read(_HISTORY_BETWEEN, requests=rows):
            start, end = rows[record["i"]]["start"], rows[record["i"]]["end"]
            if start > end:
                continue  # nothing lies between
            within = [(stamp, member) for stamp, member in record["within"]]
            before = [tuple(record["before"].split(" ", 1))] if record["before"] else []
            for member, attrs in record["unstamped"]:
                key = (member_stamp(kind_of(member), json.loads(attrs)) or "", member)
                if key < (start, ""):
                    before.append(key)
                elif key[0] <= end:
                    within.append(key)
            within.sort()
            answers[record["i"]] = [max(before), *within] if before else within
        return answers

    def latest_versions(self, requests: Sequence[VersionRequest]) -> list[tuple[str, str] | None]:
        """The latest version of each dataset at a time, in one query (see ``Store``)."""
        if not requests:
            return []
        rows = [
            {"dataset": r.dataset_id, "at": r.at, "excluded": sorted(r.excluded)} for r in requests
        ]
        answers: list[tuple[str, str] | None] = [None] * len(rows)
        for record in self._read(_LATEST_VERSIONS, requests=rows):
            if record["version"] is not None:
                answers[record["i"]] = (record["seen"], record["version"])
        return answers

    def search(
        self,
        query: str,
        filters: SearchFilter = NO_FILTER,
        first: int = 20,
        after: str | None = None,
        count: bool = False,
    ) -> Page[Node]:
        """Full-text search with filters and cursors (see ``Store``).

        Ordered as ``Store.search`` says; an empty query lists nodes by id.
        """
        check_page_size(first)
        offset = decode_cursor(after)
        params: dict[str, Any] = {
            "kinds": sorted(k.value for k in filters.kinds) if filters.kinds else None,
            "namespace": filters.namespace or None,
            "owner": filters.owner or None,
            "tag": filters.tag or None,
        }
        page = {"offset": offset, "limit": first + 1}
        if not search_terms(query):
            records = self._read(_LIST, **params, **page)
            counting = partial(self._total, _COUNT_LIST, **params)
        elif (plan := _search_plan(query)) is not None:
            lucene, phrases = plan
            params.update(lucene=lucene, phrases=phrases)
            records = self._read(_SEARCH, **params, **page)
            counting = partial(self._total, _COUNT_SEARCH, **params)
        else:  # nothing can match
            records = self._empty([])
            counting = partial(len, records)
        items = [_node_from_record(r) for r in records[:first]]
        more = len(records) > first
        return Page(
            items=items,
            end_cursor=encode_cursor(offset + len(items)),
            has_next_page=more,
            total=page_total(offset, len(items), more, counting) if count else None,
        )

    def _total(self, query: str, **params: Any) -> int:
        """The count a query answers as ``total``."""
        (record,) = self._read(query, **params)
        return int(record["total"])

    def health(self, ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Stored health of these ids; an id without a record is OK."""
        if not ids:
            return self._empty({})
        (record,) = self._read(_GET_HEALTH, ids=list(ids))
        return {health.id: health for health in _health_records(record["records"])}

    def health_naming(self, result_ids: Collection[str]) -> dict[str, HealthRecord]:
        """Stored health records with a reason that names one of these results."""
        wanted = set(result_ids)
        if not wanted:
            return self._empty({})
        # json.dumps escapes a string as reasons_to_json does (and as records written
        # before it did), so the needle is the result id as stored.
        needles = sorted(json.dumps(r, ensure_ascii=False) for r in wanted)
        (record,) = self._read(_HEALTH_NAMING, needles=needles)
        found: dict[str, HealthRecord] = {}
        for health in _health_records(record["records"]):
            if any(reason.result_id in wanted for reason in health.reasons):
                found[health.id] = health
        return found

    def health_page(
        self,
        statuses: Collection[HealthStatus],
        kinds: Collection[Kind] = (),
        first: int = 100,
        after: str | None = None,
        count: bool = False,
    ) -> Page[HealthRecord]:
        """Stored health records with one of these statuses, by id; a page's cursor
        names its last id, so records that come or go between pages move no other."""
        check_page_size(first, limit=100_000)
        position = decode_key_cursor(after)
        offset, key = (position, None) if isinstance(position, int) else (0, position)
        wanted = {
            "statuses": sorted(HealthStatus(s).value for s in statuses),
            "kinds": sorted(Kind(k).value for k in kinds) or None,
        }
        records = self._read(_HEALTH_PAGE, **wanted, after=key, offset=offset, limit=first + 1)
        items = _health_records(records[:first])
        shown, more = min(first, len(records)), len(records) > first
        counting = partial(self._total, _COUNT_HEALTH_PAGE, **wanted)
        if not count:
            total = None
        elif key is None:
            total = page_total(offset, shown, more, counting)
        else:
            total = counting()
        return Page(
            items=items,
            end_cursor=key_page_cursor(position, items[-1].id if items else None),
            has_next_page=more,
            total=total,
        )

    def export(self) -> tuple[Iterator[Node], Iterator[Edge]]:
        """Every node by id and every edge by (source, kind, target)."""
        nodes = sorted((_node_from_record(r) for r in self._read(_EXPORT_NODES)), key=_by_id)
        edges = sorted(
            (_edge(r["s"], r["kind"], r["t"], r) for r in self._read(_EXPORT_EDGES)),
            key=_by_key,
        )
        return iter(nodes), iter(edges)

    def stats(self) -> StoreStats:
        """Counts by kind and health status (kinds with nothing stored are left out)."""
        nodes = {r["kind"]: r["count"] for r in self._read(_COUNT_NODES) if r["count"]}
        edges = {r["kind"]: r["count"] for r in self._read(_COUNT_EDGES) if r["count"]}
        health = {r["status"]: r["count"] for r in self._read(_COUNT_HEALTH)}
        return StoreStats(nodes_by_kind=nodes, edges_by_kind=edges, health_by_status=health)

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers a query right now.

        No retries with back-off (a health probe must answer fast), but one second try: a
        connection pooled before a server restart fails once and is replaced.
        """
        with self._errors():
            for attempt in (1, 2):
                try:
                    with self._session() as session:
                        session.run("RETURN 1").consume()
                    break
                except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired):
                    if attempt == 2:
                        raise
        self._ensure_schema()

    def close(self) -> None:
        """Close the driver's connections; later calls raise :class:`StoreUnavailable`."""
        if not self._closed:
            self._closed = True
            self._driver.close()

    @contextmanager
    def writer(self) -> Iterator[None]:
        """The writer lock (see :class:`Store`): an open transaction holding the write lock
        of one node, so replicas sharing this Neo4j wait for each other here.

        Neo4j drops the lock with the transaction when the holder's connection goes,
        so a replica that dies holding it does not block the others. The transaction
        lives at most ``write_lock_seconds``: Neo4j ends it then, so a replica that hangs
        holding the lock blocks the others that long, and a replica that waits longer
        for the lock gets :class:`StoreUnavailable`.

        While a thread holds the lock, its reads run in that transaction (on the server
        that takes writes, seeing every committed write): the dozen reads around a write
        cost a round trip each instead of a transaction each.
        """
        self._ensure_schema()
        limit = self.write_lock_seconds
        with self._errors():
            session = self._driver.session(database=self.database)
            try:
                transaction = session.begin_transaction(timeout=limit)
                transaction.run(_TAKE_WRITER, holder=_HOLDER).consume()
            except neo4j_errors.ClientError as error:
                session.close()
                if error.code in _ENDED_BY_TIMEOUT:
                    raise StoreUnavailable(
                        f"another writer held the write lock of {self.url} for more than "
                        f"{limit:g} s (LINEAGEGRAPH_NEO4J_WRITE_LOCK_SECONDS); retry later"
                    ) from error
                raise
            except BaseException:
                session.close()
                raise
        taken = time.monotonic()
        self._held.transaction = transaction
        try:
            yield
        finally:
            self._held.transaction = None
            held = time.monotonic() - taken
            if held > limit:
                _log.warning(
                    "a write held the Neo4j write lock for %.0f s, past its limit of %g s "
                    "(LINEAGEGRAPH_NEO4J_WRITE_LOCK_SECONDS): Neo4j ended the lock before "
                    "the write did, so another replica may have written meanwhile",
                    held,
                    limit,
                )
            with suppress(neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError):
                transaction.rollback()  # what it set is only the holder's name
            with suppress(neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError):
                session.close()

    def settled_health(self) -> None:
        """Always ``None``: replicas share the database, so one replica's clean close says
        nothing about what another may have left half done (see :class:`Store`)."""
        return None

    def settle_health(self, fingerprint: str) -> None:
        """Records nothing (see :meth:`settled_health`)."""

    def wipe(self) -> None:
        """Delete every entity, edge and health record (for tests and benchmarks)."""
        self._ensure_schema()
        with self._errors(), self._session() as session:
            session.run(_WIPE).consume()


def _by_id(node: Node) -> str:
    return node.id


def _by_key(edge: Edge) -> tuple[str, str, str]:
    return (edge.source_id, edge.kind.value, edge.target_id)


def _lost_a_creation_race(error: BaseException | None) -> bool:
    """Whether a uniqueness constraint refused a write, directly or as a failed result's cause."""
    while error is not None:
        if isinstance(error, neo4j_errors.ConstraintError):
            return True
        error = error.__cause__
    return False
