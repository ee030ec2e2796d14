"""The embedded store: a SQLite file (WAL) is the source of truth, networkx the read index.

A write commits to SQLite first and only then updates the in-memory graph, all
under one lock, so a reader sees a changeset entirely or not at all, and an
acknowledged write survives ``kill -9``. At open the graph is loaded from the
file. ``memory://`` keeps the SQLite database in memory for tests.

Nodes and edges read by :meth:`EmbeddedStore.get` and :meth:`EmbeddedStore.edges`
are kept in a bounded cache of recently read items (what a UI or an API client asks
for again and again), so a repeated read skips SQLite and JSON decoding. Only
committed state enters the cache, and a write drops what it changed once it has
committed.
"""

from __future__ import annotations

import bisect
import json
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import networkx as nx

from lineagegraph.collector import collector_paused
from lineagegraph.errors import InvalidInput, StoreUnavailable
from lineagegraph.ids import SEPARATOR, Kind
from lineagegraph.model import (
    EDGE_RULES,
    FLOW_KINDS,
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
    RunState,
    completion_stamp,
    edge_valid,
    ends,
    format_time,
    json_equal,
    member_stamp,
    merge_reported,
    reasons_from_json,
    reasons_to_json,
    time_stamp,
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    parts TEXT NOT NULL,
    attrs TEXT NOT NULL,
    seen TEXT
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
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""
# The meta key under which a clean close records the health rules that stored health
# agrees with (see EmbeddedStore.settle_health).
_SETTLED_HEALTH = "settled_health"
# The meta key under which a clean close records the cycle index, for the next open.
_CYCLE_INDEX = "cycle_index"
# The search index is derived from the nodes, so a file whose index has other columns
# (written by an older version) gets it rebuilt at open rather than migrated.
_SEARCH_COLUMNS = ("title", "body")
_SEARCH_SCHEMA = "CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'unicode61')"

_EDGE_COLUMNS = "src, kind, dst, origin, first_seen, last_seen, ended_at, attrs"
_NODE_COLUMNS = "id, kind, namespace, name, parts, attrs"
_CHUNK = 500
# Recently read nodes and edges kept in memory (each entry is one decoded row).
READ_CACHE_SIZE = 20_000
_new_tuple = tuple.__new__

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class _Recent(Generic[_K, _V]):
    """A bounded map that forgets the least recently used entry first."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[_K, _V] = OrderedDict()
        self._size = size

    def lookup(self, keys: Iterable[_K]) -> tuple[dict[_K, _V], list[_K]]:
        """The cached values of ``keys`` and the keys that are not cached."""
        items = self._items
        found: dict[_K, _V] = {}
        missing: list[_K] = []
        for key in keys:
            value = items.get(key)
            if value is None:
                missing.append(key)
            else:
                items.move_to_end(key)
                found[key] = value
        return found, missing

    def keep(self, values: dict[_K, _V]) -> None:
        """Remember these values, forgetting the oldest entries past the bound."""
        items = self._items
        items.update(values)
        while len(items) > self._size:
            items.popitem(last=False)

    def forget(self, keys: Iterable[_K]) -> None:
        """Drop these keys (a write changed them)."""
        pop = self._items.pop
        for key in keys:
            pop(key, None)


_KIND_RANK = (
    "CASE n.kind "
    + " ".join(f"WHEN '{kind.value}' THEN {rank}" for rank, kind in enumerate(SEARCH_KIND_ORDER))
    + " END"
)


_WAL_CHECKPOINT_PAGES = 10_000
_WAL_SIZE_LIMIT = 64 * 1024 * 1024

_EDGE_KINDS = {kind.value: kind for kind in EdgeKind}
# Enum member -> its value: a dict lookup costs a tenth of the ``.value`` property, and
# writes look up two per edge.
_KIND_VALUE = {kind: kind.value for kind in EdgeKind}
_ORIGIN_VALUE = {origin: origin.value for origin in Origin}
# Edges that pile up with history: a job's runs, a dataset's or model's versions, the
# runs that read a version, a check's results. A node can gather thousands of them, so
# the graph keeps them in adjacency of their own, and reading a node's other edges
# (its lineage, its fields, what a job reads and writes) never walks its history.
_HISTORY_KINDS = frozenset(
    {
        EdgeKind.HAS_RUN,
        EdgeKind.HAS_VERSION,
        EdgeKind.READ_BY,
        EdgeKind.WROTE,
        EdgeKind.HAS_RESULT,
        EdgeKind.EVALUATED,
    }
)
_DATASET_VERSION_PREFIX = Kind.DATASET_VERSION.value.lower() + SEPARATOR
_LAST_ID = "\U0010ffff"  # sorts after every id that follows a timestamp
# node -> neighbour -> {edge kind: (first_seen, ended_at)}, as in a networkx graph
Adjacency = dict[str, dict[str, dict[EdgeKind, tuple[str, str | None]]]]
# One bit per edge kind, for the masks of current kinds that graph edges carry.
_BIT: dict[EdgeKind, int] = {kind: 1 << i for i, kind in enumerate(EdgeKind)}
# The edges the cycle index covers: data flow and containment of fields.
_CYCLE_KINDS: frozenset[EdgeKind] = FLOW_KINDS | {EdgeKind.HAS_FIELD}
_CYCLE_MASK = sum(_BIT[kind] for kind in _CYCLE_KINDS)
# How many neighbours a write may visit to learn which cycles its new edges close; past
# it the cycle index is dropped and built again when next asked for (a bulk import of a
# large lineage costs one build then, not a search per edge).
_CYCLE_SEARCH_LIMIT = 50_000


def _mask(kinds: Iterable[EdgeKind]) -> int:
    """The bit mask of some edge kinds."""
    mask = 0
    for kind in kinds:
        mask |= _BIT[kind]
    return mask


class _Closure:
    """Nodes reachable from one node over current _CYCLE_KINDS edges, found a level at a time."""

    def __init__(self, adjacency: dict[str, dict[str, _EdgeData]], start: str) -> None:
        self.adjacency = adjacency
        self.seen = {start}
        self.frontier = [start]

    def grow(self) -> int:
        """Take one more level; returns how many nodes it visited."""
        found: list[str] = []
        seen, adjacency = self.seen, self.adjacency
        visited = 0
        for node in self.frontier:
            neighbours = adjacency.get(node, {})
            visited += len(neighbours)
            for other, data in neighbours.items():
                if other not in seen and data.current & _CYCLE_MASK:
                    seen.add(other)
                    found.append(other)
        self.frontier = found
        return visited


class _EdgeData(dict[EdgeKind, tuple[str, str | None]]):
    """What the graph holds of the edges from one node to another.

    Each edge kind maps to ``(first_seen, ended_at)``; ``current`` is the bit mask of
    the kinds whose edge has not ended, so a traversal of current edges tests one
    integer per neighbour instead of walking the kinds.
    """

    __slots__ = ("current",)

    def __init__(self) -> None:
        super().__init__()
        self.current = 0

    def put(self, kind: EdgeKind, first_seen: str, ended_at: str | None) -> None:
        """Set one kind's edge and its bit in ``current``."""
        self[kind] = (first_seen, ended_at)
        if ended_at is None:
            self.current |= _BIT[kind]
        else:
            self.current &= ~_BIT[kind]


# An edge as stored: (src, kind, dst, origin, first_seen, last_seen, ended_at, attrs JSON).
EdgeRow = tuple[str, str, str, str, str, str, str | None, str]
EdgeKey = tuple[str, str, str]
# What the in-memory graph holds of an edge: (src, kind, dst, first_seen, ended_at).
GraphEdge = tuple[str, str, str, str, str | None]
# How many nodes and edges the store remembers the last reported attributes of (see
# _write_nodes and _write_edges).
_REPORTS_KEPT = 50_000


# Rows were validated on the way in, so reading them back skips validation.
def _node_from_row(row: Sequence[Any]) -> Node:
    return Node.trusted(
        row[0], Kind(row[1]), row[2], row[3], tuple(json.loads(row[4])), json.loads(row[5])
    )


def _edge_from_row(row: Sequence[Any]) -> Edge:
    return Edge.trusted(
        row[0],
        _EDGE_KINDS[row[1]],
        row[2],
        Origin(row[3]),
        row[4],
        row[5],
        row[6],
        json.loads(row[7]),
    )


def _remember(
    reports: dict[_K, dict[str, Any]], items: Iterable[tuple[_K, dict[str, Any]]]
) -> None:
    """Remember attributes last reported, keeping the newest :data:`_REPORTS_KEPT`.

    Past a quarter more, the oldest are dropped together. Dropping them one by one from
    the front of the dict cost a scan over every slot deleted before (a dict compacts
    only when it grows), so once the graph outgrew the cache each write grew slower.
    """
    reports.update(items)
    if len(reports) > _REPORTS_KEPT + _REPORTS_KEPT // 4:
        kept = list(reports.items())[-_REPORTS_KEPT:]
        reports.clear()
        reports.update(kept)


def _edge_key(edge: Edge | EdgeEnding) -> EdgeKey:
    return (edge.source_id, _KIND_VALUE[edge.kind], edge.target_id)


def _merge_edge_row(old: EdgeRow | None, edge: Edge) -> EdgeRow:
    """:func:`merge_edge` of a stored row and a reported edge, as a row.

    Attributes are compared as canonical JSON, so the common report of an edge
    with the attributes it has (or none) never decodes the stored ones.
    """
    new_attrs = canonical_json(edge.attrs) if edge.attrs else "{}"
    if old is None:
        return (
            edge.source_id,
            _KIND_VALUE[edge.kind],
            edge.target_id,
            _ORIGIN_VALUE[edge.origin],
            edge.first_seen,
            edge.last_seen,
            edge.ended_at,
            new_attrs,
        )
    _, _, _, origin, first, last, ended, attrs = old
    if ended is not None and edge.last_seen >= ended:
        ended = None
    newer = edge.last_seen >= last
    if new_attrs != attrs and new_attrs != "{}":
        stored = json.loads(attrs)
        merged = {**stored, **edge.attrs} if newer else {**edge.attrs, **stored}
        attrs = canonical_json(merged)
    return (
        old[0],
        old[1],
        old[2],
        _ORIGIN_VALUE[edge.origin] if newer else origin,
        min(first, edge.first_seen),
        max(last, edge.last_seen),
        ended,
        attrs,
    )


def _end_edge_row(row: EdgeRow, at: str, retract: bool) -> EdgeRow:
    """:func:`end_edge` on a stored row."""
    if not ends(row[3], row[5], row[6], at, retract=retract):
        return row
    return (*row[:6], at, row[7])


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


# the id prefixes of every kind of node that history edges join
_HISTORY_PREFIXES = frozenset(
    k.value.lower() + SEPARATOR for e in _HISTORY_KINDS for side in EDGE_RULES[e] for k in side
)
# kind value of an owner -> (edge kind, member id prefix)
_HISTORY_OWNERS = {
    owner.value: (edge_kind, member.value.lower() + SEPARATOR)
    for owner, (edge_kind, member, _) in HISTORY_ORDER.items()
}
# the id prefixes of versions and runs
_HISTORY_MEMBERS = frozenset(prefix for _, prefix in _HISTORY_OWNERS.values())


@lru_cache(maxsize=256)
def _history_ends(kinds: frozenset[EdgeKind], *, downstream: bool) -> frozenset[str]:
    """The id prefixes of the kinds of node that edges of these kinds can leave (enter)."""
    side = 0 if downstream else 1
    return frozenset(k.value.lower() + SEPARATOR for e in kinds for k in EDGE_RULES[e][side])


def _ending(frontier: Sequence[str], prefixes: frozenset[str]) -> Sequence[str]:
    """The frontier nodes that can have history edges of the kinds asked for.

    The history adjacency of a node holds all its history kinds together: without this,
    asking a dataset for the runs that read it would walk each of its versions.
    """
    if len(prefixes) == len(_HISTORY_PREFIXES):
        return frontier
    return [n for n in frontier if _member_prefix(n) in prefixes]


def _member_prefix(node_id: str) -> str:
    """The kind prefix of an id (``run|``), as :data:`_HISTORY_MEMBERS` holds them."""
    return node_id[: node_id.find(SEPARATOR) + 1]


class _History:
    """Versions of one dataset (runs of one job) kept sorted by (time stamp, id).

    The latest is the last one. In the histories of the health rules, targets of the
    owner's edges that are not members (a dataset's model versions) only count towards
    whether the owner has any.
    """

    __slots__ = ("keys", "others", "stamps")

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self.keys: list[tuple[str, str]] = sorted(entries)
        self.stamps: dict[str, str] = {member: stamp for stamp, member in self.keys}
        self.others: set[str] = set()

    def put(self, member: str, stamp: str) -> None:
        """Add a member, or move it to a new time."""
        old = self.stamps.get(member)
        if old == stamp:
            return
        if old is not None:
            self._remove(old, member)
        self.stamps[member] = stamp
        entry = (stamp, member)
        keys = self.keys
        if not keys or keys[-1] < entry:
            keys.append(entry)  # runs and versions mostly arrive in time order
        else:
            bisect.insort(keys, entry)

    def drop(self, target: str) -> None:
        """Forget a member or another target (its edge ended or was deleted)."""
        old = self.stamps.pop(target, None)
        if old is not None:
            self._remove(old, target)
        self.others.discard(target)

    def _remove(self, stamp: str, member: str) -> None:
        keys = self.keys
        del keys[bisect.bisect_left(keys, (stamp, member))]

    def answer(self) -> tuple[bool, str | None]:
        """Whether the owner has any current edge of its kind, and its latest member."""
        if self.keys:
            return True, self.keys[-1][1]
        return bool(self.others), None


class _FileOwner:
    """This process's claim to a store file: an exclusive lock on ``<file>.lock``.

    The in-memory graph is only right while no other process writes the file, so a
    second process that opens it is refused, told which process holds it. The lock
    goes with the process however it ends (``kill -9`` included), and the lock file,
    which names the holder, stays behind harmlessly.
    """

    def __init__(self, path: Path) -> None:
        real = path.resolve()  # a symlink to the file takes the file's own lock
        self.path = real.with_name(real.name + ".lock")
        handle: IO[str] = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open)
        try:
            _lock_exclusively(handle)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreUnavailable(
                f"store file {path} is in use by {holder}: one process owns a store file "
                "at a time. Stop it, or query and ingest through it with --server "
                "(LINEAGEGRAPH_SERVER); demo and export need the file to themselves."
            ) from None
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} ({_command_line()})\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the file up (closing the lock file releases the lock)."""
        self._handle.close()


# SQLite's synchronous modes that keep every acknowledged commit through a process crash
# (OFF does not: it would answer writes before SQLite handed them to the operating system).
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


def _synchronous(mode: str) -> str:
    """The ``PRAGMA synchronous`` value for a setting; raises :class:`InvalidInput`."""
    if mode.upper() not in SYNCHRONOUS_MODES:
        raise InvalidInput(
            f"LINEAGEGRAPH_SQLITE_SYNCHRONOUS={mode!r}: use one of {', '.join(SYNCHRONOUS_MODES)}"
        )
    return mode.upper()


def _lock_exclusively(handle: IO[str]) -> None:
    """Take an exclusive lock on an open file without waiting; raises BlockingIOError."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: nothing to enforce it with
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _command_line() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return " ".join([name, *sys.argv[1:]])[:200]


class EmbeddedStore:
    """The default store: SQLite for durability, an in-memory networkx graph for reads."""

    # A batch writes each repeated dataset, field and edge once, and pays one commit:
    # 10,000 realistic events a transaction ingest about 10% faster than 2,000, for
    # about 100 MB more while a batch is held.
    batch_events = 10_000
    indexed_health_naming = True

    def __init__(self, path: str | Path | None, *, synchronous: str = "FULL") -> None:
        self.url = "memory://" if path is None else f"sqlite://{path}"
        self._lock = threading.RLock()
        self._closed = False
        self._recent_nodes: _Recent[str, Node] = _Recent(READ_CACHE_SIZE)
        self._recent_edges: _Recent[tuple[str, EdgeKind, str], Edge] = _Recent(READ_CACHE_SIZE)
        # Health: which ids have a stored record (so a question about any other costs no
        # query), and the records read lately, decoded; both kept up to date by writes.
        self._health_ids: set[str] = set()
        self._recent_health: _Recent[str, HealthRecord] = _Recent(READ_CACHE_SIZE)
        # Once health_naming is asked: result id -> ids of the records naming it, and
        # record id -> the results it names; kept up to date by writes too.
        self._naming: dict[str, set[str]] | None = None
        self._named: dict[str, frozenset[str]] = {}
        # Nodes carry their kind as "k"; an edge's data maps each edge kind between the
        # two nodes to (first_seen, ended_at), which is all a traversal needs. Edges of
        # the history kinds are kept apart, in adjacency of the same shape.
        self._graph: Any = nx.DiGraph()
        self._history_succ: Adjacency = {}
        self._history_pred: Adjacency = {}
        # dataset -> its versions by the first_seen of their HAS_VERSION edges, ended
        # ones too: the latest at a time is a binary search away however many there are
        self._versions: dict[str, _History] = {}
        # dataset or job -> its current versions or runs by the rules' order; built on
        # the first question about it and then kept up to date by writes
        self._histories: dict[str, _History] = {}
        # job -> its COMPLETE runs by (completion stamp, id), built on the first question
        # about it and then kept up to date by writes
        self._completed: dict[str, _History] = {}
        # node id -> the attributes object it was last reported with, once committed
        self._reported: dict[str, dict[str, Any]] = {}
        # edge key -> an attributes object whose every item the stored edge holds
        self._reported_edges: dict[EdgeKey, dict[str, Any]] = {}
        self._owner: _FileOwner | None = None
        self._settled_health: str | None = None
        # A superset of the nodes on a cycle of current _CYCLE_KINDS edges, built on the
        # first question and kept up to date by writes; None until then.
        self._cyclic: set[str] | None = None
        if path is None:
            self._con = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._open()
            return
        durability = _synchronous(synchronous)
        with ExitStack() as undo:  # what was taken is given back if opening fails
            try:  # a folder it may not write to, a path through a file
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._owner = _FileOwner(Path(path))
            except OSError as error:
                where = f" ({error.filename})" if error.filename else ""
                raise StoreUnavailable(
                    f"cannot open {path} as a store file: {error.strerror or error}{where}"
                ) from None
            undo.callback(self._owner.release)
            try:
                self._con = sqlite3.connect(
                    str(path), check_same_thread=False, isolation_level=None
                )
                undo.callback(self._con.close)
                self._con.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as error:  # a directory, or a file of something else
                raise InvalidInput(f"cannot open {path} as a store file: {error}") from None
            self._con.execute(f"PRAGMA synchronous={durability}")
            # Checkpoint every 10,000 pages (40 MB of WAL) instead of SQLite's 1,000: small
            # commits (a server's single events) bump the same edge pages over and over,
            # and a checkpoint writes each page once however often it changed since the
            # last one. That writes about 30% less. After a checkpoint the WAL file is cut
            # back to 64 MB, so one large batch does not leave a large file behind.
            self._con.execute(f"PRAGMA wal_autocheckpoint={_WAL_CHECKPOINT_PAGES}")
            self._con.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            try:
                self._open()
            except sqlite3.OperationalError as error:  # a file it may read but not write
                raise StoreUnavailable(f"cannot open {path} as a store file: {error}") from None
            undo.pop_all()

    def _open(self) -> None:
        """Prepare the connection and the schema, and load the graph."""
        self._con.execute("PRAGMA foreign_keys=OFF")
        # 64 MiB of page cache instead of SQLite's 2 MiB: writes touch rows all over the
        # edge and node tables, and re-reading their pages cost a third of each write.
        self._con.execute("PRAGMA cache_size=-65536")
        self._con.executescript(_SCHEMA)
        self._ensure_report_times()
        self._ensure_search_index()
        self._load()
        self._health_ids = {row[0] for row in self._con.execute("SELECT id FROM health")}
        self._take_settled_health()
        self._take_cycle_index()

    def _take_cycle_index(self) -> None:
        """Read and remove the cycle index that the last clean close recorded, as
        :meth:`_take_settled_health` does: after a crash it is built again when needed."""
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (_CYCLE_INDEX,)).fetchone()
        if row is None:
            return
        self._con.execute("DELETE FROM meta WHERE key = ?", (_CYCLE_INDEX,))
        recorded = json.loads(row[0])
        if recorded.get("kinds") == sorted(k.value for k in _CYCLE_KINDS):
            self._cyclic = set(recorded["ids"]) & self._graph._succ.keys()

    def _take_settled_health(self) -> None:
        """Read and remove what the last clean close recorded about health, before
        anything can be written: a process that dies after writing leaves nothing."""
        row = self._con.execute(
            "SELECT value FROM meta WHERE key = ?", (_SETTLED_HEALTH,)
        ).fetchone()
        if row is not None:
            self._con.execute("DELETE FROM meta WHERE key = ?", (_SETTLED_HEALTH,))
            self._settled_health = str(row[0])

    def _ensure_report_times(self) -> None:
        """Give a file written by an older version the column of when each node's
        attributes were reported (unknown for the nodes it holds: the next report wins)."""
        columns = {row[1] for row in self._con.execute("PRAGMA table_info(nodes)")}
        if "seen" not in columns:
            self._con.execute("ALTER TABLE nodes ADD COLUMN seen TEXT")

    def _ensure_search_index(self) -> None:
        """Create the search index, or rebuild it from the nodes when its columns differ."""
        con = self._con
        columns = tuple(row[1] for row in con.execute("PRAGMA table_info(search)"))
        if columns == _SEARCH_COLUMNS:
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DROP TABLE IF EXISTS search")
            con.execute(_SEARCH_SCHEMA)
            ids = [row[0] for row in con.execute("SELECT id FROM nodes")]
            for chunk in _chunks(ids):
                nodes = list(self._fetch_nodes(chunk).values())
                self._refresh_search(nodes, set(chunk), [], [])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # --- loading ------------------------------------------------------------------------------

    def _load(self) -> None:
        """Build the in-memory graph from the file, filling networkx's dicts directly.

        The cyclic garbage collector is paused meanwhile: the graph's millions of new
        dicts would otherwise trigger full collections over and over, for nothing.
        """
        with collector_paused():
            self._fill_graph()

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
        history_succ, history_pred = self._history_succ, self._history_pred
        versions: dict[str, list[tuple[str, str]]] = {}
        cursor = self._con.execute("SELECT src, kind, dst, first_seen, ended_at FROM edges")
        while rows := cursor.fetchmany(50_000):
            for src, kind_value, dst, first_seen, ended_at in rows:
                kind = edge_kinds[kind_value]
                if kind in _HISTORY_KINDS:
                    out = history_succ.setdefault(same[src], {})
                    data = out.get(dst)
                    if data is None:
                        data = out[same[dst]] = history_pred.setdefault(same[dst], {})[
                            same[src]
                        ] = {}
                    if kind is EdgeKind.HAS_VERSION and dst.startswith(_DATASET_VERSION_PREFIX):
                        versions.setdefault(same[src], []).append((first_seen, same[dst]))
                    data[kind] = (first_seen, ended_at)
                else:
                    out = succ[src]
                    edge = out.get(dst)
                    if edge is None:
                        edge = out[same[dst]] = pred[dst][same[src]] = _EdgeData()
                    edge.put(kind, first_seen, ended_at)
        self._versions = {dataset: _History(found) for dataset, found in versions.items()}

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changeset: ChangeSet) -> ApplyResult:
        """Apply a changeset atomically and idempotently (see :class:`Store`).

        Only what changes is written: nodes whose merged attributes equal the stored
        ones and edges whose merged row equals the stored row are skipped.
        """
        if changeset.snapshots or changeset.schemas:
            raise InvalidInput("snapshots must be resolved by the service before apply")
        cs = changeset.normalized()
        with self._lock:
            self._check_open()
            self._settled_health = None  # whatever was settled, it is not this state
            con = self._con
            try:
                con.execute("BEGIN IMMEDIATE")
                cs.validate_shape(self._known_kinds(cs))
                written_nodes, new_nodes, late_nodes = self._write_nodes(cs)
                new_fields = [i for i in new_nodes if i.startswith("field|")]
                written_edges, refreshed, changed_edges, edge_reports = self._write_edges(cs)
                removed_edges = self._delete(cs.deletes)
                self._write_health(cs)
                self._refresh_search(written_nodes, new_nodes, new_fields + cs.deletes, cs.deletes)
                con.execute("COMMIT")
            except BaseException as error:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                if isinstance(error, UnicodeEncodeError):
                    raise not_unicode(error) from None
                raise
            self._update_graph(written_nodes, written_edges, removed_edges, cs.deletes, refreshed)
            self._remember_reports(cs.nodes, cs.deletes, late_nodes)
            _remember(self._reported_edges, edge_reports)
            self._note_health(cs)
        changes = ChangeSet(
            origin=cs.origin,
            nodes=written_nodes,
            edges=[e for e in cs.edges if _edge_key(e) in changed_edges],
            endings=[e for e in cs.endings if _edge_key(e) in changed_edges],
            deletes=cs.deletes,
        )
        return ApplyResult(
            nodes=len(cs.nodes),
            edges=len(cs.edges),
            endings=len(cs.endings),
            deletes=len(cs.deletes),
            health=len(cs.health) + len(cs.health_removals),
            changes=changes,
        )

    def _note_health(self, cs: ChangeSet) -> None:
        """Keep the health ids and the decoded records in step with a committed write,
        in the order it wrote them: deletes, then records, then removals."""
        ids, recent = self._health_ids, self._recent_health
        for written in (cs.deletes, [r.id for r in cs.health], cs.health_removals):
            recent.forget(written)
        ids.difference_update(cs.deletes)
        ids.update(r.id for r in cs.health)
        ids.difference_update(cs.health_removals)
        if self._naming is not None:
            self._unname(cs.deletes)
            for record in cs.health:
                self._name(record.id, frozenset(r.result_id for r in record.reasons))
            self._unname(cs.health_removals)

    def _name(self, record_id: str, results: frozenset[str]) -> None:
        """Index which results a stored record names (replacing what it named)."""
        assert self._naming is not None
        self._unname([record_id])
        self._named[record_id] = results
        for result_id in results:
            self._naming.setdefault(result_id, set()).add(record_id)

    def _unname(self, record_ids: Iterable[str]) -> None:
        assert self._naming is not None
        for record_id in record_ids:
            for result_id in self._named.pop(record_id, ()):
                holders = self._naming[result_id]
                holders.discard(record_id)
                if not holders:
                    del self._naming[result_id]

    def _remember_reports(self, nodes: list[Node], deleted: list[str], late: set[str]) -> None:
        """Remember the attributes each committed node was last reported with, unless
        the report was older than the node's (``late``): it only filled gaps, so the
        same attributes reported anew must be merged, not skipped."""
        reported = self._reported
        for node in nodes:
            if node.id in late:
                reported.pop(node.id, None)
            elif node.attrs:
                reported[node.id] = node.attrs
        for node_id in deleted:
            reported.pop(node_id, None)
        _remember(reported, ())

    def _known_kinds(self, cs: ChangeSet) -> dict[str, Kind]:
        new_ids = {n.id for n in cs.nodes}
        wanted = [i for i in cs.referenced_ids() if i not in new_ids]
        return self._kinds_in_graph(wanted)

    def _write_nodes(self, cs: ChangeSet) -> tuple[list[Node], set[str], set[str]]:
        """Write new and changed nodes; returns them as merged, the ids of the new ones and
        of those reported late (an older report than the one they hold).

        A stored node is unchanged when it is reported without attributes (a bare
        reference) or with the attributes it was last reported with (translators repeat
        descriptions; they share the very object, checked first, within a process):
        merging the same attributes again changes nothing. Only the other stored nodes
        are read back, with when their attributes were reported: an older report
        (:func:`merge_reported`) only fills gaps.
        """
        nodes = cs.nodes
        graph_nodes = self._graph._node
        reported = self._reported
        stored = self._fetch_reported(
            [
                n.id
                for n in nodes
                if n.attrs and n.id in graph_nodes and not json_equal(reported.get(n.id), n.attrs)
            ]
        )
        rows = []
        written = []
        new = set()
        time_of = cs.time_of
        late: set[str] = set()
        for node in nodes:
            if node.id in graph_nodes:
                found = stored.get(node.id)
                if found is None:  # a bare reference to a stored node
                    continue
                old, old_at = found
                when = time_of(node.id)
                if when is not None and old_at is not None and when < old_at:
                    late.add(node.id)
                attrs, at = merge_reported(old, old_at, node.attrs, when, node.kind)
                if at == old_at and json_equal(attrs, old):
                    continue
                node = Node.trusted(
                    node.id, node.kind, node.namespace, node.name, node.parts, attrs
                )
            else:
                # a bare reference reports no attributes, so it has no time to keep: a
                # description older than the reference still wins over an older one
                at = time_of(node.id) if node.attrs else None
                new.add(node.id)
            rows.append(
                (
                    node.id,
                    node.kind.value,
                    node.namespace,
                    node.name,
                    canonical_json(list(node.parts)),
                    canonical_json(node.attrs),
                    at,
                )
            )
            written.append(node)
        self._con.executemany(
            f"INSERT INTO nodes ({_NODE_COLUMNS}, seen) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET attrs = excluded.attrs, seen = excluded.seen",
            rows,
        )
        return written, new, late

    def _write_edges(
        self, cs: ChangeSet
    ) -> tuple[list[GraphEdge], list[EdgeKey], set[EdgeKey], list[tuple[EdgeKey, dict[str, Any]]]]:
        """Merge the changeset's edges into the stored ones, then apply its endings.

        Returns what the graph needs of every edge written whose graph entry changes,
        the keys of the other edges written (only their times and origin change), the
        keys of the edges created, revived or whose end changed, and the attributes to
        remember as held by their edges once this commits. A stored edge reported again without
        attributes (most are), or with attributes that it last took on (translators
        repeat descriptions; they share the very object, checked first, within a
        process), is merged by one SQL update, from what the graph knows of it, without
        reading its row: merging attributes it holds already changes nothing. The others are read,
        merged here and written only when they changed; so is an edge that the
        changeset also ends, which is ended as merged.
        """
        succ, history_succ = self._graph._succ, self._history_succ
        held = self._reported_edges
        remember: list[tuple[EdgeKey, dict[str, Any]]] = []
        ended_keys = {(e.source_id, e.kind.value, e.target_id) for e in cs.endings}
        changed: set[EdgeKey] = set()
        in_place: list[tuple[Any, ...]] = []
        written: list[GraphEdge] = []
        refreshed: list[EdgeKey] = []
        to_merge: list[tuple[Edge, EdgeKey]] = []
        known: list[EdgeKey] = []
        for edge in cs.edges:
            key = (edge.source_id, _KIND_VALUE[edge.kind], edge.target_id)
            adjacency = history_succ if edge.kind in _HISTORY_KINDS else succ
            data = adjacency.get(edge.source_id, {}).get(edge.target_id)
            seen = data.get(edge.kind) if data else None
            attrs = edge.attrs
            if (
                seen is not None
                and (not attrs or json_equal(held.get(key), attrs))
                and key not in ended_keys
            ):
                first, ended = seen
                first_seen, last = edge.first_seen, edge.last_seen
                in_place.append((*key, _ORIGIN_VALUE[edge.origin], first_seen, last))
                if ended is not None and last >= ended:
                    changed.add(key)
                    written.append((*key, min(first, first_seen), None))
                elif first_seen < first:
                    written.append((*key, first_seen, ended))
                else:  # the graph holds it as it is: the usual report of a known edge
                    refreshed.append(key)
                continue
            to_merge.append((edge, key))
            if seen is not None:
                known.append(key)
        stored = self._fetch_edge_rows(known)
        rows: dict[EdgeKey, EdgeRow] = {}
        for edge, key in to_merge:
            old = stored.get(key)
            row = _merge_edge_row(old, edge)
            if row != old:
                rows[key] = row
            # Its attributes won the merge, so the stored edge holds every one of them.
            if edge.attrs and (old is None or edge.last_seen >= old[5]):
                remember.append((key, edge.attrs))
        if cs.endings:
            keys = [(e.source_id, e.kind.value, e.target_id) for e in cs.endings]
            stored.update(self._fetch_edge_rows([k for k in keys if k not in stored]))
            for key, ending in zip(keys, cs.endings, strict=True):
                current = rows.get(key) or stored.get(key)
                if current is not None:
                    ended_row = _end_edge_row(current, ending.at, ending.retract)
                    if ended_row is not current:
                        rows[key] = ended_row
        con = self._con
        con.executemany(
            f"INSERT INTO edges ({_EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(src, kind, dst) DO UPDATE SET origin = excluded.origin, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
            "ended_at = excluded.ended_at, attrs = excluded.attrs",
            list(rows.values()),
        )
        # merge_edge in SQL for a stored edge whose attributes stay: (src, kind, dst,
        # origin, first_seen, last_seen) as ?1 to ?6
        con.executemany(
            "UPDATE edges SET origin = CASE WHEN ?6 >= last_seen THEN ?4 ELSE origin END, "
            "first_seen = min(first_seen, ?5), last_seen = max(last_seen, ?6), "
            "ended_at = CASE WHEN ended_at IS NOT NULL AND ?6 >= ended_at "
            "THEN NULL ELSE ended_at END "
            "WHERE src = ?1 AND kind = ?2 AND dst = ?3",
            in_place,
        )
        written.extend((r[0], r[1], r[2], r[4], r[6]) for r in rows.values())
        for key, row in rows.items():
            old = stored.get(key)
            if old is None or old[6] != row[6]:
                changed.add(key)
        return written, refreshed, changed, remember

    def _delete(self, ids: list[str]) -> list[tuple[str, str]]:
        removed: list[tuple[str, str]] = []
        for node_id in ids:
            if node_id not in self._graph:
                continue
            for succ in (self._graph._succ, self._history_succ):
                removed.extend((node_id, v) for v in succ.get(node_id, ()))
            for pred in (self._graph._pred, self._history_pred):
                removed.extend((u, node_id) for u in pred.get(node_id, ()))
        if not ids:
            return removed
        con = self._con
        con.executemany("DELETE FROM edges WHERE src = ?", [(i,) for i in ids])
        con.executemany("DELETE FROM edges WHERE dst = ?", [(i,) for i in ids])
        con.executemany(
            "DELETE FROM search WHERE rowid = ?", [(r,) for r in self._rowids(ids).values()]
        )
        con.executemany("DELETE FROM nodes WHERE id = ?", [(i,) for i in ids])
        con.executemany("DELETE FROM health WHERE id = ?", [(i,) for i in ids])
        return removed

    def _write_health(self, cs: ChangeSet) -> None:
        if cs.health:
            self._con.executemany(
                "INSERT INTO health (id, kind, status, reasons) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, status = excluded.status, "
                "reasons = excluded.reasons",
                [
                    (
                        r.id,
                        r.kind.value,
                        r.status.value,
                        reasons_to_json(r.reasons),
                    )
                    for r in cs.health
                ],
            )
        if cs.health_removals:
            self._con.executemany(
                "DELETE FROM health WHERE id = ?", [(i,) for i in cs.health_removals]
            )

    def _refresh_search(
        self,
        written: list[Node],
        new: set[str],
        fields_added_or_removed: list[str],
        deleted: list[str],
    ) -> None:
        """Rewrite the search text of written nodes and of datasets whose set of fields changed.

        ``new`` nodes have no search text to remove yet.
        """
        nodes = {n.id: n for n in written}
        datasets = set()
        for node_id in fields_added_or_removed:
            if node_id.startswith("field|"):
                datasets.add("dataset|" + "|".join(node_id.split("|")[1:3]))
        gone = set(deleted)
        nodes.update(self._fetch_nodes(sorted(datasets - nodes.keys() - gone)))
        rows = []
        for node_id in sorted(nodes.keys() - gone):
            node = nodes[node_id]
            text = node.search_text()
            if node.kind is Kind.DATASET:
                paths = self._con.execute(
                    "SELECT parts FROM nodes WHERE kind = 'FIELD' AND namespace = ? AND name = ?",
                    (node.namespace, node.name),
                ).fetchall()
                text += " " + " ".join(json.loads(p[0])[0] for p in paths)
            rows.append((node_id, node.search_title(), text))
        # Rows of the index are the nodes' rowids, looked up in one query per chunk: a
        # subquery per statement costs SQLite four times the insert into the index.
        rowids = self._rowids([i for i, _, _ in rows])
        con = self._con
        con.executemany(
            "DELETE FROM search WHERE rowid = ?",
            [(rowids[i],) for i, _, _ in rows if i not in new],
        )
        con.executemany(
            "INSERT INTO search (rowid, title, body) VALUES (?, ?, ?)",
            [(rowids[i], title, text) for i, title, text in rows],
        )

    def _rowids(self, ids: Sequence[str]) -> dict[str, int]:
        """The rowids of these stored nodes."""
        return dict(self._by_id("id, rowid", "nodes", ids))

    def _update_graph(
        self,
        nodes: list[Node],
        edges: list[GraphEdge],
        removed: list[tuple[str, str]],
        deleted: list[str],
        refreshed: Sequence[EdgeKey] = (),
    ) -> None:
        """Bring the graph and the read cache up to a committed changeset (``refreshed``:
        edges written whose graph entry stays as it is)."""
        kinds = _EDGE_KINDS
        self._recent_nodes.forget(n.id for n in nodes)
        self._recent_nodes.forget(deleted)
        self._recent_edges.forget((s, kinds[k], t) for s, k, t, _, _ in edges)
        self._recent_edges.forget((s, kinds[k], t) for s, k, t in refreshed)
        self._recent_edges.forget((u, kind, v) for u, v in removed for kind in kinds.values())
        graph = self._graph
        node_data, succ, pred = graph._node, graph._succ, graph._pred
        for node in nodes:
            if node.id not in node_data:
                node_data[node.id] = {"k": node.kind.value}
                succ[node.id] = {}
                pred[node.id] = {}
        history_succ, history_pred = self._history_succ, self._history_pred
        if self._completed:
            self._update_completions(nodes, edges, deleted)
        histories = self._histories
        stamps = self._restamp(nodes) if histories else {}
        joined: list[tuple[str, str]] = []
        opened: list[tuple[str, str]] = []  # node pairs that gain a current cycle-kind edge
        for source, kind_value, target, first_seen, ended_at in edges:
            kind = kinds[kind_value]
            if kind in _HISTORY_KINDS:
                out = history_succ.setdefault(source, {})
                data = out.get(target)
                if data is None:
                    data = out[target] = history_pred.setdefault(target, {})[source] = {}
                if kind is EdgeKind.HAS_VERSION and target.startswith(_DATASET_VERSION_PREFIX):
                    self._versions.setdefault(source, _History()).put(target, first_seen)
                history = histories.get(source)
                if history is not None and kind is _HISTORY_OWNERS[node_data[source]["k"]][0]:
                    old = data.get(kind)
                    if (old is None or old[1] is not None) and ended_at is None:
                        joined.append((source, target))
                    elif old is not None and old[1] is None and ended_at is not None:
                        history.drop(target)
                data[kind] = (first_seen, ended_at)
            else:
                edge = succ[source].get(target)
                if edge is None:
                    edge = succ[source][target] = pred[target][source] = _EdgeData()
                if (
                    ended_at is None
                    and kind in _CYCLE_KINDS
                    and not edge.current & _CYCLE_MASK
                    and self._cyclic is not None
                ):
                    opened.append((source, target))
                edge.put(kind, first_seen, ended_at)
        if joined:
            self._join_histories(joined, stamps)
        for u, v in removed:
            history = histories.get(u)
            if history is not None:
                history.drop(v)
            if graph.has_edge(u, v):
                graph.remove_edge(u, v)
            history_succ.get(u, {}).pop(v, None)
            history_pred.get(v, {}).pop(u, None)
            versions = self._versions.get(u)
            if versions is not None:
                versions.drop(v)
        for node_id in deleted:
            history_succ.pop(node_id, None)
            history_pred.pop(node_id, None)
            self._versions.pop(node_id, None)
            histories.pop(node_id, None)
        graph.remove_nodes_from([d for d in deleted if d in graph])
        if self._cyclic is not None:
            self._cyclic.difference_update(deleted)
            budget = _CYCLE_SEARCH_LIMIT  # for all the changeset's new edges together
            for source, target in opened:
                budget = self._note_cycles(source, target, budget)
                if budget < 0:
                    break

    def _update_completions(
        self, nodes: list[Node], edges: list[GraphEdge], deleted: list[str]
    ) -> None:
        """Keep the completed runs indexed for jobs up to date with these writes (before
        the graph takes them in): a run written moves within, joins or leaves its jobs'
        lists by its completion; a new HAS_RUN edge adds its run. A deletion drops every
        list (each is read again when asked about)."""
        completed = self._completed
        if deleted:
            completed.clear()
            return
        written = {n.id: n.attrs for n in nodes if n.kind is Kind.RUN}
        has_run = EdgeKind.HAS_RUN.value
        linked = [(s, t) for s, k, t, _, _ in edges if k == has_run and s in completed]
        unknown = sorted({t for _, t in linked if t not in written})
        stored = {i: a for i, (a, _) in self._fetch_reported(unknown).items()} if unknown else {}
        pairs = [(o, r) for r in written for o in self._history_pred.get(r, ()) if o in completed]
        for owner, run_id in [*pairs, *linked]:
            stamp = completion_stamp(Kind.RUN, written.get(run_id) or stored.get(run_id, {}))
            if stamp is None:
                completed[owner].drop(run_id)
            else:
                completed[owner].put(run_id, stamp)

    def _restamp(self, nodes: list[Node]) -> dict[str, str]:
        """Move written versions and runs within their owners' histories; their stamps."""
        stamps: dict[str, str] = {}
        histories, history_pred = self._histories, self._history_pred
        for node in nodes:
            stamp = member_stamp(node.kind, node.attrs)
            if stamp is None:
                continue
            stamps[node.id] = stamp
            for owner in history_pred.get(node.id, ()):
                history = histories.get(owner)
                if history is not None and node.id in history.stamps:
                    history.put(node.id, stamp)
        return stamps

    def _join_histories(self, joined: list[tuple[str, str]], stamps: dict[str, str]) -> None:
        """Add the targets of new or revived current edges to their owners' histories."""
        histories = self._histories
        unknown = [
            t for _, t in joined if t not in stamps and _member_prefix(t) in _HISTORY_MEMBERS
        ]
        stamps = {**stamps, **self._member_stamps(unknown)} if unknown else stamps
        for owner, target in joined:
            history = histories[owner]
            if target.startswith(_HISTORY_OWNERS[self._graph._node[owner]["k"]][1]):
                history.put(target, stamps.get(target, ""))
            else:
                history.others.add(target)

    def _member_stamps(self, ids: Sequence[str]) -> dict[str, str]:
        """The time stamps of these stored versions and runs (by their own attribute)."""
        kinds = self._kinds_in_graph(ids)
        attrs = self._fetch_reported(sorted(set(ids)))
        return {i: member_stamp(kinds[i], a) or "" for i, (a, _) in attrs.items()}

    def _build_histories(self, owners: Sequence[str]) -> None:
        """Read the current versions or runs of these datasets or jobs, with their times."""
        node_data, history_succ = self._graph._node, self._history_succ
        members: list[str] = []
        built: dict[str, tuple[set[str], list[str]]] = {}
        for owner in owners:
            edge_kind, prefix = _HISTORY_OWNERS[node_data[owner]["k"]]
            others: set[str] = set()
            mine: list[str] = []
            for target, data in history_succ.get(owner, {}).items():
                seen = data.get(edge_kind)
                if seen is None or seen[1] is not None:
                    continue
                if target.startswith(prefix):
                    mine.append(target)
                else:
                    others.add(target)
            members.extend(mine)
            built[owner] = (others, mine)
        stamps = self._member_stamps(members)
        for owner, (others, mine) in built.items():
            history = _History((stamps.get(m, ""), m) for m in mine)
            history.others = others
            self._histories[owner] = history

    # --- reads --------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes with these ids."""
        with self._lock:
            self._check_open()
            found, missing = self._recent_nodes.lookup(ids)
            nodes = self._graph._node
            missing = [i for i in missing if i in nodes]  # the graph holds every id stored
            if missing:
                fetched = self._fetch_nodes(missing)
                self._recent_nodes.keep(fetched)
                found.update(fetched)
            return found

    def kinds(self, ids: Sequence[str]) -> dict[str, Kind]:
        """The kinds of the existing nodes among these ids."""
        with self._lock:
            self._check_open()
            return self._kinds_in_graph(ids)

    def _kinds_in_graph(self, ids: Iterable[str]) -> dict[str, Kind]:
        nodes = self._graph._node
        return {i: Kind(nodes[i]["k"]) for i in ids if i in nodes}

    def _by_id(self, columns: str, table: str, ids: Sequence[str]) -> Iterator[Any]:
        """The rows of a table (``nodes`` or ``health``) whose id is one of these, read a
        chunk of ids per query; ``columns`` and ``table`` are constants of this module."""
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            yield from self._con.execute(
                f"SELECT {columns} FROM {table} WHERE id IN ({marks})", tuple(chunk)
            )

    def _fetch_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        return {row[0]: _node_from_row(row) for row in self._by_id(_NODE_COLUMNS, "nodes", ids)}

    def _fetch_reported(self, ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str | None]]:
        """The stored attributes of these nodes, with when they were reported."""
        rows = self._by_id("id, attrs, seen", "nodes", ids)
        return {i: (json.loads(attrs), seen) for i, attrs, seen in rows}

    def _fetch_edges(
        self, keys: Sequence[tuple[str, EdgeKind, str]]
    ) -> dict[tuple[str, EdgeKind, str], Edge]:
        rows = self._fetch_edge_rows([(src, kind.value, dst) for src, kind, dst in keys])
        found: dict[tuple[str, EdgeKind, str], Edge] = {}
        for row in rows.values():
            edge = _edge_from_row(row)
            found[edge.key] = edge
        return found

    def _fetch_edge_rows(self, keys: Sequence[EdgeKey]) -> dict[EdgeKey, EdgeRow]:
        """The stored rows of these edges, by (src, kind, dst)."""
        found: dict[EdgeKey, EdgeRow] = {}
        step = 300  # three parameters a key, well under SQLite's parameter limit
        columns = ", ".join(f"e.{c.strip()}" for c in _EDGE_COLUMNS.split(","))
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            values = ",".join(["(?, ?, ?)"] * len(chunk))
            params = [p for key in chunk for p in key]
            query = (
                f"SELECT {columns} FROM (VALUES {values}) AS k JOIN edges e "
                "ON e.src = k.column1 AND e.kind = k.column2 AND e.dst = k.column3"
            )
            for row in self._con.execute(query, params):
                found[(row[0], row[1], row[2])] = row
        return found

    def expand(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Hop]:
        """One hop from every frontier node (see :class:`Store`)."""
        if include_ended:
            check_history_request(as_of, include_ended)
            return [
                hop
                for side in (Direction.DOWNSTREAM, Direction.UPSTREAM)
                if direction is side or direction is Direction.BOTH
                for hop in self._every_hop(frontier, side, edge_kinds)
            ]
        wanted = frozenset(edge_kinds)
        stamp = None if as_of is None else format_time(as_of)
        with self._lock:
            self._check_open()
            hops: list[Hop] = []
            history = wanted & _HISTORY_KINDS
            rest = wanted - history
            if direction in (Direction.DOWNSTREAM, Direction.BOTH):
                if rest:
                    self._graph_hops(self._graph._succ, frontier, rest, stamp, hops)
                if history:
                    ends = _history_ends(history, downstream=True)
                    self._hops(self._history_succ, _ending(frontier, ends), history, stamp, hops)
            if direction in (Direction.UPSTREAM, Direction.BOTH):
                if rest:
                    self._graph_hops(self._graph._pred, frontier, rest, stamp, hops)
                if history:
                    ends = _history_ends(history, downstream=False)
                    self._hops(self._history_pred, _ending(frontier, ends), history, stamp, hops)
            return hops

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
        """The new targets of one hop from every frontier node (see :class:`Store`)."""
        wanted, inside = frozenset(edge_kinds), frozenset(same_level)
        if as_of is not None or direction is Direction.BOTH or (wanted | inside) & _HISTORY_KINDS:
            return targets_of_hops(
                self.expand(frontier, direction, wanted | inside, as_of), seen, inside
            )
        mask, inside_mask = _mask(wanted - inside), _mask(inside)
        found: list[str] = []
        contained: list[str] = []
        with self._lock:
            self._check_open()
            adjacency = (
                self._graph._succ if direction is Direction.DOWNSTREAM else self._graph._pred
            )
            add, add_inside = found.append, contained.append
            for node in frontier:
                neighbours = adjacency.get(node)
                if not neighbours:
                    continue
                for other, data in neighbours.items():
                    if other in seen:
                        continue
                    current = data.current
                    if current & mask:
                        add(other)
                    if current & inside_mask:
                        add_inside(other)
        return found, contained

    def on_cycles(self, ids: Collection[str], edge_kinds: Collection[EdgeKind]) -> set[str] | None:
        """Which of these ids may lie on a cycle of current edges (see :class:`Store`)."""
        if not frozenset(edge_kinds) <= _CYCLE_KINDS:
            return None
        with self._lock:
            self._check_open()
            if self._cyclic is None:
                self._cyclic = self._find_cyclic()
            cyclic = self._cyclic
            if isinstance(ids, set | frozenset | dict) and len(cyclic) < len(ids):
                return {i for i in cyclic if i in ids}
            return {i for i in ids if i in cyclic}

    def _find_cyclic(self) -> set[str]:
        """Every node on a cycle of current _CYCLE_KINDS edges, from the whole graph.

        Nodes that no such edge enters or leaves are trimmed first, repeatedly (lineage
        graphs are nearly acyclic, so little is left), then the strongly connected
        components of the rest are found.
        """
        succ, pred, mask = self._graph._succ, self._graph._pred, _CYCLE_MASK
        outdegree = {
            n: len([1 for d in out.values() if d.current & mask]) for n, out in succ.items()
        }
        indegree = {
            n: len([1 for d in into.values() if d.current & mask]) for n, into in pred.items()
        }
        queue = [n for n, k in outdegree.items() if not k or not indegree[n]]
        trimmed: set[str] = set()
        while queue:
            node = queue.pop()
            if node in trimmed:
                continue
            trimmed.add(node)
            # Nothing enters it any more, so only its successors lose an edge; or nothing
            # leaves it, and only its predecessors do.
            if not indegree[node]:
                for other, data in succ[node].items():
                    if data.current & mask and other not in trimmed:
                        indegree[other] -= 1
                        if not indegree[other]:
                            queue.append(other)
            if not outdegree[node]:
                for other, data in pred[node].items():
                    if data.current & mask and other not in trimmed:
                        outdegree[other] -= 1
                        if not outdegree[other]:
                            queue.append(other)
        alive = [n for n in succ if n not in trimmed]
        core = nx.DiGraph()
        core.add_edges_from(
            (u, v)
            for u in alive
            for v, data in succ[u].items()
            if data.current & mask and v not in trimmed
        )
        cyclic: set[str] = set()
        for component in nx.strongly_connected_components(core):
            if len(component) > 1:
                cyclic.update(component)
        cyclic.update(u for u in core if core.has_edge(u, u))
        return cyclic

    def _note_cycles(self, source: str, target: str, budget: int) -> int:
        """Add to the cycle index the cycles a new current edge ``source -> target`` closes.

        They run through every node that ``target`` reaches and that reaches ``source``.
        Both sides are searched a level at a time, the smaller first; a side that ends
        without meeting the other proves there is no new cycle. ``budget`` bounds the
        nodes the search may visit; past it the index is dropped, to be built again when
        needed. Returns what is left of the budget.
        """
        cyclic = self._cyclic
        assert cyclic is not None
        if source == target:
            cyclic.add(source)
            return budget
        graph = self._graph
        ahead = _Closure(graph._succ, target)  # what the target reaches
        behind = _Closure(graph._pred, source)  # what reaches the source
        met = False
        while not met:
            if not ahead.frontier or not behind.frontier:
                return budget  # one side is closed and never met the other: no cycle
            growing, other = (
                (ahead, behind) if len(ahead.frontier) <= len(behind.frontier) else (behind, ahead)
            )
            budget -= growing.grow()
            met = not other.seen.isdisjoint(growing.frontier)
            if budget < 0:
                self._cyclic = None
                return budget
        for side in (ahead, behind):  # a cycle: finish both closures to know its nodes
            while side.frontier:
                budget -= side.grow()
                if budget < 0:
                    self._cyclic = None
                    return budget
        cyclic.update(ahead.seen & behind.seen)
        return budget

    @classmethod
    def _graph_hops(
        cls,
        adjacency: Mapping[str, Mapping[str, _EdgeData]],
        frontier: Sequence[str],
        wanted: frozenset[EdgeKind],
        stamp: str | None,
        hops: list[Hop],
    ) -> None:
        """:meth:`_hops` over the graph's own adjacency, whose entries know which of
        their edges are current: a hop of one kind over current edges (the usual one)
        tests one bit per neighbour."""
        if stamp is not None or len(wanted) != 1:
            cls._hops(adjacency, frontier, wanted, stamp, hops)
            return
        (kind,) = wanted
        bit = _BIT[kind]
        append = hops.append
        for node in frontier:
            neighbours = adjacency.get(node)
            if neighbours:
                for other, data in neighbours.items():
                    if data.current & bit:
                        append(_new_tuple(Hop, (node, kind, other)))

    @staticmethod
    def _hops(
        adjacency: Mapping[str, Mapping[str, Mapping[EdgeKind, tuple[str, str | None]]]],
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
                    # Hop(node, kind, other) without the generated __new__: a third of the cost.
                    append(_new_tuple(Hop, (node, kind, other)))

    def edges(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Edge]:
        """Like :meth:`expand`, with the full stored edges (see :class:`Store`)."""
        check_history_request(as_of, include_ended)
        keys: list[tuple[str, EdgeKind, str]] = []
        for side in (Direction.DOWNSTREAM, Direction.UPSTREAM):
            if direction is not side and direction is not Direction.BOTH:
                continue
            hops = (
                self._every_hop(frontier, side, edge_kinds)
                if include_ended
                else self.expand(frontier, side, edge_kinds, as_of)
            )
            if side is Direction.DOWNSTREAM:
                keys.extend((h.source, h.kind, h.target) for h in hops)
            else:
                keys.extend((h.target, h.kind, h.source) for h in hops)
        unique = list(dict.fromkeys(keys))
        with self._lock:
            self._check_open()
            found, missing = self._recent_edges.lookup(unique)
            if missing:
                fetched = self._fetch_edges(missing)
                self._recent_edges.keep(fetched)
                found.update(fetched)
        return [found[k] for k in unique if k in found]

    def _every_hop(
        self, frontier: Sequence[str], side: Direction, edge_kinds: Collection[EdgeKind]
    ) -> list[Hop]:
        """Like :meth:`expand` along one side, over every stored edge, ended ones too."""
        wanted = frozenset(edge_kinds)
        history = wanted & _HISTORY_KINDS
        downstream = side is Direction.DOWNSTREAM
        with self._lock:
            self._check_open()
            # As in expand: the history adjacency only when history kinds are asked for,
            # and only of nodes that can have them (a dataset's versions are not walked
            # for its fields).
            walks: list[tuple[Mapping[str, Mapping[str, Any]], Sequence[str]]] = []
            if wanted - history:
                walks.append((self._graph._succ if downstream else self._graph._pred, frontier))
            if history:
                ends = _history_ends(history, downstream=downstream)
                adjacency = self._history_succ if downstream else self._history_pred
                walks.append((adjacency, _ending(frontier, ends)))
            return [
                _new_tuple(Hop, (node, kind, other))
                for adjacency, nodes in walks
                for node in nodes
                for other, data in adjacency.get(node, {}).items()
                for kind in data
                if kind in wanted
            ]

    def latest_versions(self, requests: Sequence[VersionRequest]) -> list[tuple[str, str] | None]:
        """The latest version of each dataset at a time (see :class:`Store`)."""
        kind = EdgeKind.HAS_VERSION
        with self._lock:
            self._check_open()
            answers: list[tuple[str, str] | None] = []
            for dataset_id, at, excluded in requests:
                history = self._versions.get(dataset_id)
                versions = [] if history is None else history.keys
                edges = self._history_succ.get(dataset_id, {})
                best: tuple[str, str] | None = None
                # From the last version seen at or before the time, back to a current one.
                for i in range(bisect.bisect_right(versions, (at, _LAST_ID)) - 1, -1, -1):
                    seen, version = versions[i]
                    if edges[version][kind][1] is None and version not in excluded:
                        best = (seen, version)
                        break
                answers.append(best)
            return answers

    def last_completed_runs(self, requests: Sequence[RunRequest]) -> list[tuple[str, str] | None]:
        """The run of each request's jobs that completed last by its time (see :class:`Store`).

        Each job's completed runs are read once, on the first question about it, and
        kept sorted by completion until a write touches the job's runs; an answer is then
        a binary search, however many runs the job has.
        """
        with self._lock:
            self._check_open()
            jobs = sorted({job for request in requests for job in request.job_ids})
            self._index_completions([j for j in jobs if j not in self._completed])
            history_succ, completed = self._history_succ, self._completed
            answers: list[tuple[str, str] | None] = []
            for job_ids, at in requests:
                best: tuple[str, str] | None = None
                for job in set(job_ids):
                    ordered = completed[job].keys
                    runs = history_succ.get(job, {})
                    end = bisect.bisect_right(ordered, (at, _LAST_ID)) if at else len(ordered)
                    # From the last run that completed by then, back to one seen by then.
                    for i in range(end - 1, -1, -1):
                        if not at or runs[ordered[i][1]][EdgeKind.HAS_RUN][0] <= at:
                            if best is None or ordered[i] > best:
                                best = ordered[i]
                            break
                answers.append(best)
            return answers

    def _index_completions(self, jobs: Sequence[str]) -> None:
        """Read the completed runs of these jobs' HAS_RUN edges (ended ones too), with
        their completion stamps, into the index that :meth:`last_completed_runs` reads."""
        found: dict[str, list[tuple[str, str]]] = {job: [] for job in jobs}
        step = 500
        for start in range(0, len(jobs), step):
            chunk = jobs[start : start + step]
            rows = self._con.execute(
                "SELECT e.src, n.id, json_extract(n.attrs, '$.ended_at'), "
                "json_extract(n.attrs, '$.started_at') FROM edges e "
                "JOIN nodes n ON n.id = e.dst "
                f"WHERE e.src IN ({', '.join('?' * len(chunk))}) AND e.kind = ? "
                "AND json_extract(n.attrs, '$.state') = ?",
                [*chunk, EdgeKind.HAS_RUN.value, RunState.COMPLETE.value],
            )
            for job, run_id, ended, started in rows:
                found[job].append((time_stamp(ended) or time_stamp(started), run_id))
        for job, runs in found.items():
            self._completed[job] = _History(runs)

    def history_between(self, requests: Sequence[HistoryRequest]) -> list[list[tuple[str, str]]]:
        """Part of each owner's history (see :class:`Store`): a slice of the history kept
        sorted for :meth:`latest_history`, read once on the first question about it."""
        with self._lock:
            self._check_open()
            self._ensure_histories([r.owner_id for r in requests])
            answers: list[list[tuple[str, str]]] = []
            for owner, start, end in requests:
                history = self._histories.get(owner)
                if history is None:
                    answers.append([])
                    continue
                keys = history.keys
                first = bisect.bisect_left(keys, (start, ""))
                last = bisect.bisect_right(keys, (end, _LAST_ID))
                answers.append(keys[max(first - 1, 0) : last] if start <= end else [])
            return answers

    def _ensure_histories(self, ids: Sequence[str]) -> None:
        """Build the histories of the datasets and jobs among ``ids`` not built yet."""
        node_data, histories = self._graph._node, self._histories
        new = [
            i
            for i in dict.fromkeys(ids)
            if i not in histories
            and (data := node_data.get(i)) is not None
            and data["k"] in _HISTORY_OWNERS
        ]
        if new:
            self._build_histories(new)

    def latest_history(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The latest version of each dataset and run of each job (see :class:`Store`).

        Each dataset's or job's history is read once, on the first question about it,
        and then kept up to date by the writes.
        """
        with self._lock:
            self._check_open()
            wanted = list(dict.fromkeys(ids))
            self._ensure_histories(wanted)
            histories = self._histories
            answers: dict[str, str | None] = {}
            for owner in wanted:
                history = histories.get(owner)
                if history is not None:
                    linked, latest = history.answer()
                    if linked:
                        answers[owner] = latest
            return answers

    def search(
        self,
        query: str,
        filters: SearchFilter = NO_FILTER,
        first: int = 20,
        after: str | None = None,
        count: bool = False,
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
            words = " AND ".join(f'"{t}"' for t in terms)
            # The order Store.search gives, the same on every store.
            in_title = (
                "(CASE WHEN search.rowid IN (SELECT rowid FROM search WHERE search MATCH ?) "
                "THEN 0 ELSE 1 END)"
            )
            hits = (
                "FROM search JOIN nodes n ON n.rowid = search.rowid "
                f"WHERE search MATCH ? {''.join(' AND ' + w for w in where)}"
            )
            counting = partial(self._count, f"SELECT count(*) {hits}", [match, *params])
            sql = (
                f"SELECT {columns} {hits} "
                f"ORDER BY {in_title}, {_KIND_RANK}, {in_title}, length(search.title), n.id "
                "LIMIT ? OFFSET ?"
            )
            params = [match, *params, f"title : ({match})", f"title : ({words})"]
        else:
            clause = f"WHERE {' AND '.join(where)}" if where else ""
            counting = partial(self._count, f"SELECT count(*) FROM nodes n {clause}", list(params))
            sql = f"SELECT {columns} FROM nodes n {clause} ORDER BY n.id LIMIT ? OFFSET ?"
        with self._lock:
            self._check_open()
            rows = self._con.execute(sql, (*params, first + 1, offset)).fetchall()
            more = len(rows) > first
            total = page_total(offset, len(rows[:first]), more, counting) if count else None
        items = [_node_from_row(r) for r in rows[:first]]
        return Page(
            items=items,
            end_cursor=encode_cursor(offset + len(items)),
            has_next_page=more,
            total=total,
        )

    def _count(self, sql: str, params: Sequence[Any]) -> int:
        """The one number a ``SELECT count(*)`` answers (under the lock, by the caller)."""
        (total,) = self._con.execute(sql, params).fetchone()
        return int(total)

    def health(self, ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Stored health of these ids."""
        with self._lock:
            self._check_open()
            stored = self._health_ids
            found, missing = self._recent_health.lookup(
                i for i in dict.fromkeys(ids) if i in stored
            )
            fetched = {
                row[0]: _health_from_row(row)
                for row in self._by_id("id, kind, status, reasons", "health", missing)
            }
            self._recent_health.keep(fetched)
        found.update(fetched)
        return found

    def health_naming(self, result_ids: Collection[str]) -> dict[str, HealthRecord]:
        """Stored health records with a reason that names one of these results.

        Answered from an index of the results each record names, built from stored
        health when first asked and kept up to date by writes.
        """
        wanted = set(result_ids)
        if not wanted:
            return {}
        with self._lock:
            self._check_open()
            if self._naming is None:
                # decoded before the index is set: a failure leaves it unbuilt
                decoded = [
                    (record_id, frozenset(r.result_id for r in reasons_from_json(text)))
                    for record_id, text in self._con.execute("SELECT id, reasons FROM health")
                ]
                self._naming, self._named = {}, {}
                for record_id, named in decoded:
                    self._name(record_id, named)
            holders = sorted({i for r in wanted for i in self._naming.get(r, ())})
            return self.health(holders)

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
        if not self._health_ids:  # everything is OK: no query (asked after every write)
            self._check_open()
            return Page(
                items=[],
                end_cursor=key_page_cursor(position, None),
                has_next_page=False,
                total=0 if count else None,
            )
        status_values = sorted(s.value for s in statuses)
        kind_values = sorted(k.value for k in kinds)
        marks = ",".join("?" * len(status_values))
        records = f"FROM health WHERE status IN ({marks})"
        params: list[Any] = list(status_values)
        if kind_values:
            records += f" AND kind IN ({','.join('?' * len(kind_values))})"
            params.extend(kind_values)
        counting = partial(self._count, f"SELECT count(*) {records}", params)
        after_key = "" if key is None else " AND id > ?"
        sql = f"SELECT id, kind, status, reasons {records}{after_key} ORDER BY id LIMIT ? OFFSET ?"
        page_params = [*params] if key is None else [*params, key]
        with self._lock:
            self._check_open()
            rows = self._con.execute(sql, (*page_params, first + 1, offset)).fetchall()
            more = len(rows) > first
            if not count:
                total = None
            elif key is None:
                total = page_total(offset, len(rows[:first]), more, counting)
            else:
                total = counting()
        items = [_health_from_row(r) for r in rows[:first]]
        return Page(
            items=items,
            end_cursor=key_page_cursor(position, items[-1].id if items else None),
            has_next_page=more,
            total=total,
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

    @contextmanager
    def writer(self) -> Iterator[None]:
        """The writer lock (see :class:`Store`): nothing to take, as this process owns the
        file and the service serializes its own writers."""
        self._check_open()
        yield

    def settled_health(self) -> str | None:
        """What the last clean close recorded about health (see :class:`Store`)."""
        return self._settled_health

    def settle_health(self, fingerprint: str) -> None:
        """Record that stored health agrees with the rules ``fingerprint`` names; the
        next open of the file finds it, unless it is lost with a crash before that."""
        with self._lock:
            self._check_open()
            self._con.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (_SETTLED_HEALTH, fingerprint),
            )

    def close(self) -> None:
        """Close the SQLite connection; later calls raise :class:`StoreUnavailable`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                try:
                    if self._cyclic is not None and self._owner is not None:
                        recorded = {
                            "kinds": sorted(k.value for k in _CYCLE_KINDS),
                            "ids": sorted(self._cyclic),
                        }
                        self._con.execute(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            (_CYCLE_INDEX, json.dumps(recorded)),
                        )
                finally:
                    self._con.close()
                    if self._owner is not None:
                        self._owner.release()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable(f"store {self.url} is closed")

    # --- for benchmarks -----------------------------------------------------------------------

    @property
    def graph(self) -> Any:
        """The in-memory networkx graph, history edges aside (read-only use: benchmarks
        compare against it)."""
        return self._graph
