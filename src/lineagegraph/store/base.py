"""The store port: the narrow, batched protocol that every store adapter implements.

Algorithms and the service speak only this protocol. Every method takes or
returns domain objects (:class:`Node`, :class:`Edge`, :class:`HealthRecord`,
:class:`Page`), never rows or driver records.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

import orjson

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind
from lineagegraph.model import (
    ChangeSet,
    Direction,
    Edge,
    EdgeKind,
    HealthRecord,
    HealthStatus,
    Node,
    Page,
)


class Hop(NamedTuple):
    """One edge crossed by :meth:`Store.expand`: from a frontier node to a neighbour."""

    source: str  # the frontier node
    kind: EdgeKind
    target: str  # the neighbour reached


class VersionRequest(NamedTuple):
    """A question to :meth:`Store.latest_versions`."""

    dataset_id: str
    at: str  # a stored timestamp (format_time)
    excluded: frozenset[str] = frozenset()


class RunRequest(NamedTuple):
    """A question to :meth:`Store.last_completed_runs`."""

    job_ids: tuple[str, ...]
    at: str  # a stored timestamp (format_time), or "" for no limit


class HistoryRequest(NamedTuple):
    """A question to :meth:`Store.history_between`."""

    owner_id: str  # a dataset or a job
    start: str  # a stored timestamp (format_time), or "" for the first member on
    end: str  # a stored timestamp


@dataclass(frozen=True)
class ApplyResult:
    """What an applied changeset did.

    ``changes``, when an adapter knows it, is the part of the changeset that changed
    what reads of the present see: nodes created or given new attributes, edges
    created, revived or ended, deletions. Reports that only moved an edge's seen
    times or repeated what was stored are left out. ``None`` means the adapter does
    not say, so all of the changeset may have changed something.
    """

    nodes: int = 0
    edges: int = 0
    endings: int = 0
    deletes: int = 0
    health: int = 0
    changes: ChangeSet | None = None


@dataclass(frozen=True)
class StoreStats:
    """Counts of what a store holds."""

    nodes_by_kind: dict[str, int] = field(default_factory=dict)
    edges_by_kind: dict[str, int] = field(default_factory=dict)
    health_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def nodes(self) -> int:
        """All nodes."""
        return sum(self.nodes_by_kind.values())

    @property
    def edges(self) -> int:
        """All edges."""
        return sum(self.edges_by_kind.values())


@dataclass(frozen=True)
class SearchFilter:
    """Filters of a search; empty means no restriction."""

    kinds: frozenset[Kind] = frozenset()
    namespace: str | None = None
    owner: str | None = None
    tag: str | None = None


NO_FILTER = SearchFilter()

# Among equally relevant search hits, catalog entities come before runtime records.
SEARCH_KIND_ORDER: tuple[Kind, ...] = (
    Kind.DATASET,
    Kind.MODEL,
    Kind.FEATURE,
    Kind.DEPLOYMENT,
    Kind.JOB,
    Kind.FIELD,
    Kind.MODEL_VERSION,
    Kind.CHECK,
    Kind.DATASET_VERSION,
    Kind.RUN,
    Kind.RESULT,
)


@runtime_checkable
class Store(Protocol):
    """What the service and algorithms need from a graph store."""

    url: str
    # Events per transaction that bulk ingestion (files, batch requests) uses unless
    # told otherwise: what makes the store fastest without holding too much at once.
    batch_events: int
    # Whether health_naming answers from an index, in time that grows with what it
    # finds rather than with all stored health: health maintenance then asks it where a
    # walk over the graph would cost more.
    indexed_health_naming: bool

    def apply(self, changeset: ChangeSet) -> ApplyResult:
        """Apply a changeset atomically (all or nothing) and idempotently.

        Raises :class:`InvalidInput` when an edge points at a missing node or
        joins kinds its edge kind does not allow; nothing is written then.
        Job snapshots must already be resolved into endings by the service.
        """
        ...

    def get(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes with these ids; missing ids are absent from the result."""
        ...

    def kinds(self, ids: Sequence[str]) -> dict[str, Kind]:
        """The kinds of the nodes with these ids that exist (cheaper than :meth:`get`)."""
        ...

    def expand(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Hop]:
        """One hop from every frontier node along edges of the given kinds.

        ``as_of=None`` follows current edges only; a time follows the edges that
        were valid then; ``include_ended`` follows every stored edge, current or ended
        (``as_of`` must then be ``None``). ``BOTH`` gives downstream hops and upstream
        hops. Hops come in no guaranteed order: callers that need one sort them.
        """
        ...

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
        """Where one hop from every frontier node leads, without the hops: for reachability.

        Returns the targets reached through the ``edge_kinds`` that are not
        ``same_level`` kinds, and apart from them those reached through ``same_level``
        kinds (a target that both lead to is in both lists). Targets in ``seen`` are
        left out; others may repeat, in no guaranteed order. Edges are chosen as in
        :meth:`expand`.
        """
        ...

    def on_cycles(self, ids: Collection[str], edge_kinds: Collection[EdgeKind]) -> set[str] | None:
        """Which of ``ids`` may lie on a cycle of current edges of ``edge_kinds``.

        A superset of those that do, from an index that the store keeps up to date;
        ``None`` when the store keeps none for these kinds, whatever the ids (callers
        then find cycles from the edges they crossed).
        """
        ...

    def edges(
        self,
        frontier: Sequence[str],
        direction: Direction,
        edge_kinds: Collection[EdgeKind],
        as_of: datetime | None = None,
        *,
        include_ended: bool = False,
    ) -> list[Edge]:
        """Like :meth:`expand`, with the full edges (provenance, times, attributes).

        ``include_ended`` returns every stored edge, current or ended (a deployment's
        whole serving history, say); ``as_of`` must then be ``None``.
        """
        ...

    def latest_versions(self, requests: Sequence[VersionRequest]) -> list[tuple[str, str] | None]:
        """For each request, the dataset's latest version seen at or before its time.

        Versions are those of current ``HAS_VERSION`` edges, ordered by the edge's
        ``first_seen`` and then id; the request's excluded versions are passed over.
        The answer is ``(first_seen, version id)``, or ``None`` when there is none. A
        dataset can have thousands of versions: only the latest comes back.
        """
        ...

    def last_completed_runs(self, requests: Sequence[RunRequest]) -> list[tuple[str, str] | None]:
        """For each request, the run of its jobs that completed last by its time.

        The runs are those of the jobs' ``HAS_RUN`` edges, ended ones too, first seen at
        or before the time, whose state is ``COMPLETE`` and whose
        :func:`~lineagegraph.model.completion_stamp` is at or before it (any, when the
        time is ""). The answer is ``(completion stamp, run id)`` of the latest by stamp
        and then id, or ``None``. A job can have thousands of runs: the store picks the
        one without handing every run back.
        """
        ...

    def history_between(self, requests: Sequence[HistoryRequest]) -> list[list[tuple[str, str]]]:
        """For each request, the part of a dataset's or job's history between two times.

        The history is what :meth:`latest_history` orders: the members of the owner's
        current ``HAS_VERSION`` or ``HAS_RUN`` edges by their
        :func:`~lineagegraph.model.member_stamp` and then id. The answer holds, in that
        order as ``(stamp, member id)``, the members whose stamp lies from ``start`` to
        ``end`` (both included), after the member just before ``start`` when there is
        one (what the first of them followed); none when ``start`` is after ``end``. An
        owner that is not a dataset or job, or does not exist, has none. A history can
        hold thousands of members: only these come back.
        """
        ...

    def latest_history(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The latest version of each dataset and the latest run of each job among ``ids``.

        A dataset's versions are the dataset versions that its current ``HAS_VERSION``
        edges lead to, ordered by the :func:`~lineagegraph.model.time_stamp` of their
        ``created_at`` attribute and then by id; a job's runs are the runs of its
        current ``HAS_RUN`` edges, ordered by ``started_at`` (else ``ended_at``, else
        ``state_at``) the same way (see :data:`~lineagegraph.model.HISTORY_ORDER`).
        An id maps to its latest member, or to ``None`` when its current edges of that
        kind lead to no member of that kind (a dataset with only model versions); it
        is absent when it has no current
        edge of that kind at all, or is not a dataset or job that exists. A dataset or
        job can have thousands of versions or runs: only the latest comes back, and
        no node is read back to answer.
        """
        ...

    def search(
        self,
        query: str,
        filters: SearchFilter = NO_FILTER,
        first: int = 20,
        after: str | None = None,
        count: bool = False,
    ) -> Page[Node]:
        """Full-text search over names, descriptions, tags, owners and field names.

        Hits are ordered best match first, the same way on every store: those whose
        own name or key part (their title) holds every term; then by
        :data:`SEARCH_KIND_ORDER`; then those whose title holds every term as whole
        words, not only as the start of one; then shorter titles; then by id. An empty
        query lists every node that passes the filters, by id. With ``count`` the page's
        ``total`` is the number of every hit, counted by the store (see :func:`page_total`).
        """
        ...

    def health(self, ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Stored health of these ids; an id with no record is OK."""
        ...

    def health_naming(self, result_ids: Collection[str]) -> dict[str, HealthRecord]:
        """Stored health records with a reason that names one of these results, by id.

        Finds where results were recorded without walking the graph: it costs one pass
        over stored health, whatever the graph's size (or, where
        ``indexed_health_naming``, a lookup).
        """
        ...

    def health_page(
        self,
        statuses: Collection[HealthStatus],
        kinds: Collection[Kind] = (),
        first: int = 100,
        after: str | None = None,
        count: bool = False,
    ) -> Page[HealthRecord]:
        """Stored health records with one of these statuses, by id; with ``count`` the
        page's ``total`` is the number of every such record (see :func:`page_total`)."""
        ...

    def export(self) -> tuple[Iterator[Node], Iterator[Edge]]:
        """Every node and every edge, each sorted by id or key."""
        ...

    def stats(self) -> StoreStats:
        """Counts by kind and health status."""
        ...

    def writer(self) -> AbstractContextManager[None]:
        """Hold the store-wide writer lock, waiting for it while another process holds it.

        The service holds it (once, not nested) across each write and the health update
        that follows, which read what they then change: so app replicas that share one
        store take turns, as threads of one process do under the service's own lock.
        """
        ...

    def settled_health(self) -> str | None:
        """What :meth:`settle_health` recorded before the store was last closed, if the
        store was opened since without anything written in between; else ``None``.

        The record is removed when the store is opened, so a process that dies after
        writing leaves none behind. A store shared by several processes (Neo4j) keeps no
        record and answers ``None``.
        """
        ...

    def settle_health(self, fingerprint: str) -> None:
        """Record, just before closing, that the stored health equals a recomputation
        by the rules ``fingerprint`` names (see :meth:`settled_health`)."""
        ...

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the store cannot be reached."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


_json_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(value: Any) -> str:
    """Canonical JSON: keys sorted, no spaces, text unescaped. Stores keep attributes in
    this form, so equal texts mean equal attributes.

    orjson writes it several times faster than :mod:`json`. What orjson cannot write
    (integers past 64 bits, lone surrogates) or writes otherwise (``NaN`` and
    ``Infinity``, which it turns into ``null``) goes through :mod:`json`.
    """
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError included
        return _json_dumps(value)
    if b"null" in text and _has_nonfinite(value):
        return _json_dumps(value)
    return text.decode()


def _has_nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nonfinite(v) for v in value)
    return False


def not_unicode(error: UnicodeEncodeError) -> InvalidInput:
    """The refusal of text that no store can keep: a lone surrogate (``"\\ud800"`` in
    JSON) is no Unicode character, so it has no UTF-8 form."""
    text = str(error.object)
    start = max(0, error.start - 30)
    excerpt = ("…" if start else "") + text[start : error.start + 30]
    return InvalidInput(f"text {excerpt!r} is not valid Unicode: it holds a lone surrogate")


def targets_of_hops(
    hops: Iterable[Hop], seen: Collection[str], same_level: Collection[EdgeKind]
) -> tuple[list[str], list[str]]:
    """:meth:`Store.expand_targets` from the hops of :meth:`Store.expand`."""
    found: list[str] = []
    contained: list[str] = []
    for hop in hops:
        if hop.target not in seen:
            (contained if hop.kind in same_level else found).append(hop.target)
    return found, contained


def encode_cursor(offset: int) -> str:
    """An opaque cursor for an offset in an ordered list."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


# The largest offset a cursor may hold: past any store's size, and far enough below
# 2**63 that no store overflows adding a page to it (SQLite and Neo4j refused such
# numbers with internal errors).
MAX_CURSOR_OFFSET = 2**53


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; ``None`` is the start."""
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        tag, value = text.split(":", 1)
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"invalid cursor: {cursor!r}") from None
    if tag != "o" or not 0 <= offset <= MAX_CURSOR_OFFSET:
        raise InvalidInput(f"invalid cursor: {cursor!r}")
    return offset


def check_history_request(as_of: datetime | None, include_ended: bool) -> None:
    """Refuse asking for every edge, ended ones included, as of a time."""
    if include_ended and as_of is not None:
        raise InvalidInput("include_ended asks for every edge; it takes no as_of time")


def check_page_size(first: int, limit: int = 1000) -> None:
    """Reject page sizes outside 0..limit."""
    if first < 0 or first > limit:
        raise InvalidInput(f"first must be between 0 and {limit}, got {first}")


def encode_key_cursor(key: str) -> str:
    """An opaque cursor just after the item with this key, in a list ordered by key."""
    return base64.urlsafe_b64encode(f"k:{key}".encode()).decode()


def decode_key_cursor(cursor: str | None) -> int | str:
    """Where a cursor stands in a list ordered by key: after the item with the key it
    holds (:func:`encode_key_cursor`), or at an offset (:func:`encode_cursor`, taken as
    well). Unlike an offset, a key stays in place when items before it come or go."""
    if cursor:
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput(f"invalid cursor: {cursor!r}") from None
        tag, _, key = text.partition(":")
        if tag == "k" and key:
            return key
    return decode_cursor(cursor)


def key_page_cursor(after: int | str, last: str | None) -> str:
    """The end cursor of a page of a list ordered by key: after its ``last`` item's key,
    or where it was asked (``after``, as :func:`decode_key_cursor` gave it) when the
    page has no items."""
    if last is not None:
        return encode_key_cursor(last)
    return encode_key_cursor(after) if isinstance(after, str) else encode_cursor(after)


def page_total(offset: int, shown: int, more: bool, count_all: Callable[[], int]) -> int:
    """How many items a paged list holds in all, given one page of it: known from the
    page when the page reaches the end, else counted by ``count_all`` (a count in the
    store, never a read of every item)."""
    if not more and (shown or not offset):
        return offset + shown
    return count_all()


def search_terms(query: str) -> list[str]:
    """Split a user query into lowercase word terms (letters, digits, ``_``)."""
    terms: list[str] = []
    word: list[str] = []
    for ch in query.lower():
        if ch.isalnum() or ch == "_":
            word.append(ch)
        elif word:
            terms.append("".join(word))
            word = []
    if word:
        terms.append("".join(word))
    return terms[:16]
