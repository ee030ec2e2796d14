"""The typed GraphQL context and the per-request DataLoaders.

Loaders are created for each request (never shared), so a page of nodes costs
a bounded number of store calls: all the ``fields`` of 50 datasets come from
one :meth:`Store.edges` call and one :meth:`Store.get` call, whatever the page
size. Store calls are synchronous. Calls to a network store (Neo4j) run in
worker threads, at most 16 at once per app, so their round trips overlap without
blocking the event loop. Calls to the embedded store run on the event loop one at
a time: they are sub-millisecond and CPU-bound, and many threads contending for
the GIL serve fewer requests, not more (see :func:`store_limiter`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from strawberry.dataloader import DataLoader

from lineagegraph.api.auth import OPEN_ACCESS, Principal
from lineagegraph.config import Settings
from lineagegraph.model import Direction, Edge, EdgeKind, HealthRecord, Node, format_time
from lineagegraph.service import LineageService

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from lineagegraph.api.metrics import Metrics

__all__ = [
    "Context",
    "EdgeQuery",
    "Loaders",
    "make_context",
    "run_blocking",
    "store_limiter",
]

P = ParamSpec("P")
T = TypeVar("T")


class EdgeQuery(NamedTuple):
    """One node's edges of some kinds in one direction (``as_of`` as a stored timestamp;
    ``include_ended`` for every edge, ended ones too)."""

    id: str
    direction: Direction
    kinds: tuple[EdgeKind, ...]
    as_of: str | None = None
    include_ended: bool = False

    @classmethod
    def of(
        cls,
        node_id: str,
        direction: Direction,
        *kinds: EdgeKind,
        as_of: datetime | None = None,
        include_ended: bool = False,
    ) -> EdgeQuery:
        """A query for ``node_id``'s edges, kinds sorted so equal queries share a batch."""
        stamp = None if as_of is None else format_time(as_of)
        return cls(node_id, direction, tuple(sorted(kinds)), stamp, include_ended)


@dataclass
class Loaders:
    """The DataLoaders of one request."""

    nodes: DataLoader[str, Node | None]
    health: DataLoader[str, HealthRecord | None]
    edges: DataLoader[EdgeQuery, list[Edge]]


# Stores whose calls are CPU-bound in this process (the embedded store's in-memory graph).
LOCAL_SCHEMES = ("memory:", "sqlite:")


def store_limiter(service: LineageService) -> anyio.CapacityLimiter | None:
    """How store calls run: ``None`` (on the event loop, one at a time) for the embedded
    store, whose reads are sub-millisecond and CPU-bound, where a thread hop costs more
    than it saves; a cap of 16 worker threads for a network store such as Neo4j."""
    if service.store.url.startswith(LOCAL_SCHEMES):
        return None
    return anyio.CapacityLimiter(16)


async def run_blocking(
    limiter: anyio.CapacityLimiter | None, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a blocking call: inline without a limiter, else in a worker thread under it."""
    if limiter is None:
        return fn(*args, **kwargs)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs), limiter=limiter)


def make_loaders(service: LineageService, limiter: anyio.CapacityLimiter | None) -> Loaders:
    """Fresh loaders over a service: one store call per batch (per group for edges)."""

    async def load_nodes(ids: list[str]) -> list[Node | None]:
        found = await run_blocking(limiter, service.get, ids)
        return [found.get(i) for i in ids]

    async def load_health(ids: list[str]) -> list[HealthRecord | None]:
        found = await run_blocking(limiter, service.health_of, ids)
        return [found.get(i) for i in ids]

    async def load_edges(queries: list[EdgeQuery]) -> list[list[Edge]]:
        return await run_blocking(limiter, _edges_for, service, queries)

    return Loaders(
        nodes=DataLoader(load_fn=load_nodes),
        health=DataLoader(load_fn=load_health),
        edges=DataLoader(load_fn=load_edges),
    )


def _edges_for(service: LineageService, queries: Sequence[EdgeQuery]) -> list[list[Edge]]:
    """Answer edge queries with one store call per (direction, kinds, as_of, ended) group."""
    groups: dict[tuple[Direction, tuple[EdgeKind, ...], str | None, bool], list[str]] = defaultdict(
        list
    )
    for query in queries:
        groups[(query.direction, query.kinds, query.as_of, query.include_ended)].append(query.id)
    answers: dict[EdgeQuery, list[Edge]] = {}
    for (direction, kinds, as_of, ended), ids in groups.items():
        frontier = sorted(set(ids))
        when = None if as_of is None else datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        by_node: dict[str, list[Edge]] = {i: [] for i in frontier}
        for edge in service.store.edges(frontier, direction, kinds, when, include_ended=ended):
            if direction is Direction.DOWNSTREAM:
                owner = edge.source_id
            elif direction is Direction.UPSTREAM:
                owner = edge.target_id
            else:
                owner = edge.source_id if edge.source_id in by_node else edge.target_id
            if owner in by_node:
                by_node[owner].append(edge)
        for node_id in frontier:
            ordered = sorted(by_node[node_id], key=lambda e: (e.kind, e.source_id, e.target_id))
            answers[EdgeQuery(node_id, direction, kinds, as_of, ended)] = ordered
    return [answers[q] for q in queries]


class Unset:
    """Marks an argument that was not given."""


UNSET_LIMITER = Unset()


@dataclass
class Context:
    """What every resolver gets through ``info.context``."""

    service: LineageService
    settings: Settings
    loaders: Loaders
    limiter: anyio.CapacityLimiter | None
    principal: Principal = OPEN_ACCESS
    metrics: Metrics | None = None
    request: Request | None = None
    response: Response | None = None
    # Errors that decide the HTTP status (StoreUnavailable → 503, Forbidden → 403).
    status_errors: list[BaseException] = field(default_factory=list)

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking service or store call in a worker thread (under the app's cap)."""
        return await run_blocking(self.limiter, fn, *args, **kwargs)

    async def node(self, node_id: str) -> Node | None:
        """One node through the request's loader."""
        return await self.loaders.nodes.load(node_id)

    async def nodes(self, ids: Sequence[str]) -> list[Node]:
        """The nodes that exist among ``ids``, in the given order."""
        found = await self.loaders.nodes.load_many(list(ids))
        return [n for n in found if n is not None]

    async def edges(
        self,
        node_id: str,
        direction: Direction,
        *kinds: EdgeKind,
        as_of: datetime | None = None,
        include_ended: bool = False,
    ) -> list[Edge]:
        """A node's current (or ``as_of``, or with ``include_ended`` all) edges of some
        kinds, through the loader."""
        query = EdgeQuery.of(node_id, direction, *kinds, as_of=as_of, include_ended=include_ended)
        return await self.loaders.edges.load(query)

    async def neighbours(
        self, node_id: str, direction: Direction, *kinds: EdgeKind, as_of: datetime | None = None
    ) -> list[Node]:
        """The nodes at the other end of a node's edges, sorted by id."""
        return await self.neighbours_of([node_id], direction, *kinds, as_of=as_of)

    async def neighbours_of(
        self,
        node_ids: Sequence[str],
        direction: Direction,
        *kinds: EdgeKind,
        as_of: datetime | None = None,
    ) -> list[Node]:
        """The nodes at the other end of several nodes' edges (one batch), sorted by id."""
        queries = [EdgeQuery.of(i, direction, *kinds, as_of=as_of) for i in node_ids]
        found = await self.loaders.edges.load_many(queries)
        ids = sorted(
            {
                e.target_id if direction is Direction.DOWNSTREAM else e.source_id
                for edges in found
                for e in edges
            }
        )
        return await self.nodes(ids)


def make_context(
    service: LineageService,
    settings: Settings,
    principal: Principal = OPEN_ACCESS,
    limiter: anyio.CapacityLimiter | Unset | None = UNSET_LIMITER,
    **extra: Any,
) -> Context:
    """A context with fresh loaders: one per request (or per ``schema.execute`` in tests).

    ``limiter`` is the app's cap on concurrent store calls (see :func:`store_limiter`,
    which decides when it is omitted).
    """
    if isinstance(limiter, Unset):
        limiter = store_limiter(service)
    return Context(
        service=service,
        settings=settings,
        loaders=make_loaders(service, limiter),
        limiter=limiter,
        principal=principal,
        **extra,
    )
