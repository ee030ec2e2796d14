"""Lineage (ARCHITECTURE §4.1): what lies upstream and downstream of an entity.

The traversal is breadth-first over the store port, level by level (see
:mod:`lineagegraph.algorithms.traversal`), so it costs one round trip per level
on Neo4j and terminates on cycles, which it reports.

Semantics
---------
*Dataset level* (``column_level=False``, the default for every kind but a field)
follows READS, WRITES, COMPUTED_FROM, TRAINED_ON and SERVES between datasets,
jobs, features, model versions and deployments. A feature or model version that
is computed from or trained on one *field* of a dataset is reached from that
dataset (the field edge is lifted to its dataset; the field is named in the
connection's ``via``).

*Column level* (``column_level=True``, or any lineage of a FIELD) also follows
DERIVES between fields and treats containment explicitly: a dataset reached as a
whole (the root, or one a job writes) brings all its fields at the same depth —
a dataset-level event affects all its fields — and a field reached through
column lineage brings its dataset as a ``partial`` node, at the field's depth.

A MODEL has no data flow of its own: its lineage is that of its versions, which
are listed at depth 0 (HAS_VERSION is containment, like a dataset's fields).

``depth`` counts data-flow edges from the root; containment adds no depth.
``as_of=None`` follows current edges only; a past time gives the lineage as it
was then (a SERVES edge within its serving intervals: after a rollback, the
version served then, as a deployment's served versions say). ``kinds`` filters
what is returned, not what is traversed: a job that is filtered out still
connects the datasets on either side of it; none or no kinds is no filter.

Output order: nodes upstream of the root first, then nodes on both sides of it
(cycles through the root, and in ``BOTH`` lineage the root's own members), then
downstream nodes; within each, by depth and then id. Pages are slices of that
order. The edges of a page are the connections whose later endpoint (in that
order, the root counting as first) is on the page, so over all pages every
connection appears exactly once and only ever joins nodes already returned.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from lineagegraph.algorithms.traversal import (
    Reach,
    Stepper,
    Traversal,
    bfs,
    reach,
    strongly_connected,
)
from lineagegraph.collector import collector_paused
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, kind_of
from lineagegraph.model import (
    DATASET_FLOW_KINDS,
    FLOW_KINDS,
    Direction,
    Edge,
    EdgeKind,
    Node,
)
from lineagegraph.store.base import Hop, Store, check_page_size, decode_cursor, encode_cursor

__all__ = [
    "LINEAGE_KINDS",
    "MAX_PAGE_SIZE",
    "LineageEdge",
    "LineageNode",
    "LineageResult",
    "PageInfo",
    "dataset_level_expander",
    "dataset_of_field",
    "fields_of",
    "lineage",
]

# The kinds that lineage is defined for (runs, versions, checks and results belong to
# provenance and health).
LINEAGE_KINDS: frozenset[Kind] = frozenset(
    {
        Kind.DATASET,
        Kind.FIELD,
        Kind.JOB,
        Kind.FEATURE,
        Kind.MODEL,
        Kind.MODEL_VERSION,
        Kind.DEPLOYMENT,
    }
)
MAX_PAGE_SIZE = 1000
# Field edges that dataset-level lineage lifts to the field's dataset.
ML_FIELD_KINDS: frozenset[EdgeKind] = frozenset({EdgeKind.COMPUTED_FROM, EdgeKind.TRAINED_ON})
_FIELD_PREFIX = Kind.FIELD.value.lower() + "|"
# Ids of kinds that never contain fields (everything but datasets and fields).
_NON_HOLDERS = tuple(k.value.lower() + "|" for k in Kind if k not in (Kind.DATASET, Kind.FIELD))
_DATASET_PREFIX = Kind.DATASET.value.lower() + "|"
_DIRECTION_RANK = {Direction.UPSTREAM: 0, Direction.BOTH: 1, Direction.DOWNSTREAM: 2}


class LineageNode(BaseModel):
    """A node of a lineage result: the entity, its depth and which side of the root it is on.

    ``partial`` marks a dataset that is in the lineage only through some of its
    fields (column level); ``direction`` is ``BOTH`` for a node that is upstream and
    downstream of the root at once (its depth is then the smaller one).
    """

    model_config = ConfigDict(frozen=True)

    node: Node
    depth: int
    direction: Direction
    partial: bool = False

    @property
    def id(self) -> str:
        """The entity's id."""
        return self.node.id

    @property
    def kind(self) -> Kind:
        """The entity's kind."""
        return self.node.kind


class LineageEdge(BaseModel):
    """A connection between two returned nodes, in the direction data flows.

    Either one stored edge (``kind`` is its kind, ``via`` is empty), or a path
    through nodes that are not returned (``kind`` is ``None``; ``via`` lists them
    in flow order): entities the kind filter left out, or — in dataset-level
    lineage — the field that carries an edge from its dataset to a feature or
    model version. ``edges`` are the stored edges along it, in flow order, with
    their provenance (origin, first and last seen, whether current, attributes).
    """

    model_config = ConfigDict(frozen=True)

    source_id: str
    target_id: str
    kind: EdgeKind | None
    via: tuple[str, ...] = ()
    edges: tuple[Edge, ...]

    @property
    def collapsed(self) -> bool:
        """Whether this connection passes through nodes that are not returned."""
        return bool(self.via)


class PageInfo(BaseModel):
    """Where a page sits in the whole ordered list."""

    model_config = ConfigDict(frozen=True)

    end_cursor: str | None
    has_next_page: bool
    total: int


class LineageResult(BaseModel):
    """One page of the lineage of ``root``, with its edges, cycles and bounds."""

    model_config = ConfigDict(frozen=True)

    root: Node
    direction: Direction
    column_level: bool
    as_of: datetime | None
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = False
    truncation: str | None = None  # "depth", "nodes" or "timeout" when a bound stopped it
    cycles: list[list[str]]
    page_info: PageInfo


# A large lineage allocates a hop per edge crossed; collections triggered meanwhile would
# scan the whole graph for nothing (see lineagegraph.collector).
@collector_paused()
def lineage(
    store: Store,
    entity_id: str,
    direction: Direction = Direction.DOWNSTREAM,
    *,
    depth: int | None = None,
    kinds: Collection[Kind] | None = None,
    column_level: bool = False,
    as_of: datetime | None = None,
    first: int = 100,
    after: str | None = None,
    max_nodes: int | None = None,
    timeout: float | None = None,
) -> LineageResult:
    """The lineage of ``entity_id``, one page at a time (see the module docstring).

    ``depth`` bounds the data-flow hops from the root; ``max_nodes`` bounds the
    entities reached (all directions together) and ``timeout`` the seconds spent
    traversing: hitting any bound sets ``truncated`` and names it. ``first`` and
    ``after`` select the page. Raises :class:`NotFound` for an unknown id and
    :class:`InvalidInput` for a kind without lineage or a bad bound or cursor.

    >>> page = lineage(store, dataset_id, Direction.DOWNSTREAM, depth=2)  # doctest: +SKIP
    >>> [n.id for n in page.nodes]  # doctest: +SKIP
    """
    check_page_size(first, MAX_PAGE_SIZE)
    if depth is not None and depth < 0:
        raise InvalidInput(f"depth must not be negative, got {depth}")
    if max_nodes is not None and max_nodes < 0:
        raise InvalidInput(f"max_nodes must not be negative, got {max_nodes}")
    offset = decode_cursor(after)
    root = store.get([entity_id]).get(entity_id)
    if root is None:
        raise NotFound(f"no entity with id {entity_id!r}")
    if root.kind not in LINEAGE_KINDS:
        names = ", ".join(sorted(k.value for k in LINEAGE_KINDS))
        raise InvalidInput(f"lineage is defined for {names}; {entity_id!r} is a {root.kind.value}")
    column = column_level or root.kind is Kind.FIELD
    walk = _Walk(store, column, as_of)

    members = walk.members(root)
    sources = [root.id, *members]
    deadline = None if timeout is None else time.monotonic() + timeout
    sides = (
        [Direction.UPSTREAM, Direction.DOWNSTREAM] if direction is Direction.BOTH else [direction]
    )
    traversals: list[tuple[Direction, Traversal | Reach]] = []
    # The root's own fields and versions are in the lineage too. Each side may reach as
    # many nodes as the whole answer holds: a node on both sides (a cycle through the
    # root) is one node of the answer, and the cap is applied to the distinct nodes
    # where the sides come together.
    budget = None if max_nodes is None else max(0, max_nodes - len(members))
    for side in sides:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        traversal: Traversal | Reach
        if walk.indexed(side):
            # Cycles come from the store's index: reachability alone will do.
            traversal = reach(
                store,
                sources,
                side,
                walk.traversed,
                as_of=as_of,
                max_depth=depth,
                max_nodes=budget,
                timeout=remaining,
                step=walk.stepper(side),
                same_level=walk.same_level,
            )
        else:
            traversal = bfs(
                store,
                sources,
                side,
                walk.traversed,
                as_of=as_of,
                max_depth=depth,
                max_nodes=budget,
                timeout=remaining,
                expand=walk.expander(side),
                same_level=walk.same_level,
            )
        traversals.append((side, traversal))

    placed = _place(walk, root, members, traversals, direction)
    # The datasets that column lineage brings along with their fields, the root's own
    # members and the two sides of BOTH are counted here, where they come together.
    capped = max_nodes is not None and len(placed) > max_nodes
    if capped:
        placed = _nearest(placed, max_nodes or 0)
    known = _Known(placed, root.id)  # everything in the lineage, before the kind filter
    if kinds:
        wanted = frozenset(kinds)
        placed = {i: e for i, e in placed.items() if _kind(i) in wanted}
    page = _page_of(placed, offset, first)
    nodes = store.get(page)
    rank = _DIRECTION_RANK

    def order_key(node_id: str) -> _OrderKey | None:
        if node_id == root.id:
            return (-1, 0, "")
        entry = placed.get(node_id)
        return None if entry is None else (rank[entry[1]], entry[0], node_id)

    truncations = [t.truncation for _, t in traversals if t.truncated]
    if capped and "nodes" not in truncations:
        truncations.append("nodes")
    cycles: set[tuple[str, ...]] = set()
    for side, traversal in traversals:
        hops = (
            walk.hops_on_cycles(side, traversal) if isinstance(traversal, Reach) else traversal.hops
        )
        groups = (tuple(group) for group in strongly_connected(hops, side))
        cycles.update(g for g in groups if not capped or all(i in known for i in g))

    # The root counts as first: a connection from the root back to itself (a column
    # derived from itself, or one through entities the kind filter leaves out) belongs
    # to the first page, even when no node is on it.
    owners = [i for i in page if i in nodes]
    if offset == 0 and first > 0 and any(root.id in group for group in cycles):
        owners.insert(0, root.id)
    edges = _page_edges(store, walk, owners, order_key, known, max_nodes)
    end = offset + len(page)
    return LineageResult(
        root=root,
        direction=direction,
        column_level=column,
        as_of=as_of,
        nodes=[
            LineageNode(
                node=nodes[i], depth=placed[i][0], direction=placed[i][1], partial=placed[i][2]
            )
            for i in page
            if i in nodes
        ],
        edges=edges,
        truncated=bool(truncations),
        truncation=truncations[0] if truncations else None,
        cycles=[list(group) for group in sorted(cycles)],
        page_info=PageInfo(
            end_cursor=encode_cursor(end),
            has_next_page=end < len(placed),
            total=len(placed),
        ),
    )


# --- traversal ----------------------------------------------------------------------------------


def fields_of(store: Store, parents: Sequence[str], as_of: datetime | None = None) -> list[str]:
    """Every field contained in these datasets or fields, nested ones included, sorted.

    Containment follows HAS_FIELD edges that are current (or valid at ``as_of``).
    """
    found: set[str] = set()
    frontier = sorted(set(parents))
    while frontier:
        hops = store.expand(frontier, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD], as_of)
        fresh = {h.target for h in hops} - found
        found.update(fresh)
        frontier = sorted(fresh)
    return sorted(found)


def dataset_level_expander(
    store: Store, direction: Direction, as_of: datetime | None = None
) -> Callable[[Sequence[str]], list[Hop]]:
    """One dataset-level hop for a frontier, with field ML edges lifted to their dataset.

    Downstream, a dataset also reaches the features and model versions that are
    computed from or trained on its fields; upstream, a feature or model version
    computed from a field reaches that field's dataset. Hops keep the
    :meth:`Store.expand` contract (``source`` is the frontier node).
    """
    has_field = EdgeKind.HAS_FIELD
    if direction is not Direction.DOWNSTREAM:

        def upstream(frontier: Sequence[str]) -> list[Hop]:
            return [
                Hop(h.source, h.kind, dataset_of_field(h.target))
                if h.target.startswith(_FIELD_PREFIX)
                else h
                for h in store.expand(frontier, direction, DATASET_FLOW_KINDS, as_of)
            ]

        return upstream
    kinds = DATASET_FLOW_KINDS | {has_field}
    member_kinds = ML_FIELD_KINDS | {has_field}

    def downstream(frontier: Sequence[str]) -> list[Hop]:
        hops: list[Hop] = []
        owner_of: dict[str, str] = {}  # field -> the frontier dataset holding it
        for hop in store.expand(frontier, direction, kinds, as_of):
            if hop.kind is not has_field:
                hops.append(hop)
            else:
                owner_of[hop.target] = hop.source
        pending = dict(owner_of)
        while pending:
            nested: dict[str, str] = {}
            # The fields' own ML edges count as their dataset's (order-free: the
            # traversal keeps the smallest hop).
            for hop in store.expand(list(pending), direction, member_kinds, as_of):
                owner = pending[hop.source]
                if hop.kind is not has_field:
                    hops.append(Hop(owner, hop.kind, hop.target))
                elif hop.target not in owner_of:
                    owner_of[hop.target] = nested[hop.target] = owner
            pending = nested
        return hops

    return downstream


def dataset_of_field(field_id: str) -> str:
    """The dataset id of a stored field id, without validating it (a hot path).

    Key parts are escaped, so splitting on ``|`` is exact; use :func:`ids.dataset_of`
    for ids that come from outside.
    """
    _, namespace, name, _ = field_id.split("|", 3)
    return f"{_DATASET_PREFIX}{namespace}|{name}"


_KIND_OF_PREFIX = {k.value.lower(): k for k in Kind}


def _kind(entity_id: str) -> Kind:
    return _KIND_OF_PREFIX[entity_id[: entity_id.index("|")]]


@dataclass
class _Walk:
    """How lineage moves at one level of detail (dataset or column)."""

    store: Store
    column: bool
    as_of: datetime | None

    @property
    def edge_kinds(self) -> frozenset[EdgeKind]:
        """The data-flow edge kinds this level of detail follows."""
        return FLOW_KINDS if self.column else DATASET_FLOW_KINDS

    @property
    def traversed(self) -> frozenset[EdgeKind]:
        """The edge kinds a traversal expands: column level adds containment."""
        return FLOW_KINDS | {EdgeKind.HAS_FIELD} if self.column else DATASET_FLOW_KINDS

    @property
    def same_level(self) -> frozenset[EdgeKind]:
        """Containment at column level: a dataset's fields stand at its own depth."""
        return frozenset({EdgeKind.HAS_FIELD}) if self.column else frozenset()

    def members(self, root: Node) -> list[str]:
        """Entities that stand with the root at depth 0: the versions of a model.

        (The fields of a dataset join at column level through containment.)
        """
        if root.kind is Kind.MODEL:
            hops = self.store.expand(
                [root.id], Direction.DOWNSTREAM, [EdgeKind.HAS_VERSION], self.as_of
            )
            return sorted({h.target for h in hops if kind_of(h.target) is Kind.MODEL_VERSION})
        return []

    def indexed(self, direction: Direction) -> bool:
        """Whether the store's cycle index covers a traversal of current edges this way.

        The index covers cycles of current data-flow and field-containment edges. Every
        cycle a downstream traversal crosses is one of them, and so is every cycle of a
        dataset-level upstream traversal (edges reversed, field edges lifted). Column
        level upstream mixes reversed flow with forward containment, whose cycles are
        not always cycles of the graph: it finds them from its hops.
        """
        if self.as_of is not None or (direction is Direction.UPSTREAM and self.column):
            return False
        return self.store.on_cycles((), self.traversed | {EdgeKind.HAS_FIELD}) is not None

    def hops_on_cycles(self, direction: Direction, reached: Reach) -> list[Hop]:
        """The hops among the reached nodes that the cycle index says may be on a cycle.

        Only hops from nodes whose data-flow hops the traversal followed: a node of a
        cycle it crossed has one. Their strongly connected groups are the traversal's
        cycles.
        """
        kinds = self.traversed | {EdgeKind.HAS_FIELD}
        candidates = self.store.on_cycles(reached.depths, kinds) or set()
        if not candidates:
            return []
        followed = sorted(c for c in candidates if reached.depths[c] < reached.followed)
        expander = self.expander(direction)
        hops = (
            self.store.expand(followed, direction, self.traversed, self.as_of)
            if expander is None
            else expander(followed)
        )
        return [h for h in hops if h.target in candidates]

    def stepper(self, direction: Direction) -> Stepper | None:
        """The reachability step for one direction, or ``None`` for plain ``expand_targets``.

        Mirrors :meth:`expander` (dataset level lifts field ML edges to their dataset).
        """
        store, as_of = self.store, self.as_of
        has_field = frozenset({EdgeKind.HAS_FIELD})
        if self.column:
            if direction is Direction.DOWNSTREAM:
                return None  # flow and containment both point downstream: one call

            def upstream_with_fields(
                frontier: Sequence[str], seen: Collection[str]
            ) -> tuple[list[str], list[str]]:
                found, _ = store.expand_targets(frontier, direction, FLOW_KINDS, as_of, seen=seen)
                holders = [n for n in frontier if not n.startswith(_NON_HOLDERS)]
                _, fields = store.expand_targets(
                    holders, Direction.DOWNSTREAM, has_field, as_of, seen=seen, same_level=has_field
                )
                return found, fields

            return upstream_with_fields
        if direction is not Direction.DOWNSTREAM:

            def upstream(
                frontier: Sequence[str], seen: Collection[str]
            ) -> tuple[list[str], list[str]]:
                targets, _ = store.expand_targets(frontier, direction, DATASET_FLOW_KINDS, as_of)
                lifted = (
                    dataset_of_field(t) if t.startswith(_FIELD_PREFIX) else t for t in targets
                )
                return [t for t in lifted if t not in seen], []

            return upstream

        def downstream(
            frontier: Sequence[str], seen: Collection[str]
        ) -> tuple[list[str], list[str]]:
            found, fields = store.expand_targets(
                frontier, direction, DATASET_FLOW_KINDS, as_of, seen=seen, same_level=has_field
            )
            visited = set(fields)
            while fields:
                more, nested = store.expand_targets(
                    fields, direction, ML_FIELD_KINDS, as_of, seen=seen, same_level=has_field
                )
                found.extend(more)
                fields = [f for f in nested if f not in visited]
                visited.update(fields)
            return found, []

        return downstream

    def expander(self, direction: Direction) -> Callable[[Sequence[str]], list[Hop]] | None:
        """The hop function for one direction, or ``None`` for plain ``Store.expand``."""
        hops_of = self._expander(direction)
        as_of = self.as_of
        if as_of is None:
            return hops_of
        store = self.store
        kinds = self.traversed

        def served_then(frontier: Sequence[str]) -> list[Hop]:
            hops = (
                store.expand(frontier, direction, kinds, as_of)
                if hops_of is None
                else hops_of(frontier)
            )
            return _served_then(store, hops, direction, as_of)

        return served_then

    def _expander(self, direction: Direction) -> Callable[[Sequence[str]], list[Hop]] | None:
        store, as_of = self.store, self.as_of
        downstream = direction is Direction.DOWNSTREAM
        has_field = EdgeKind.HAS_FIELD
        if self.column:
            if downstream:
                return None  # flow and containment both point downstream: one call

            def upstream_with_fields(frontier: Sequence[str]) -> list[Hop]:
                hops = store.expand(frontier, direction, FLOW_KINDS, as_of)
                holders = [n for n in frontier if not n.startswith(_NON_HOLDERS)]
                hops.extend(store.expand(holders, Direction.DOWNSTREAM, [has_field], as_of))
                return hops

            return upstream_with_fields
        return dataset_level_expander(store, direction, as_of)


def _served_then(store: Store, hops: list[Hop], direction: Direction, as_of: datetime) -> list[Hop]:
    """The hops without the SERVES edges that were valid at ``as_of`` but not serving then
    (a version rolled back from, served again later: see :meth:`Edge.serving_at`)."""
    serving = sorted({h.source for h in hops if h.kind is EdgeKind.SERVES})
    if not serving:
        return hops
    edges = store.edges(serving, direction, [EdgeKind.SERVES], as_of)
    idle = {e.key for e in edges if not e.serving_at(as_of)}
    if not idle:
        return hops
    downstream = direction is Direction.DOWNSTREAM
    return [
        h
        for h in hops
        if h.kind is not EdgeKind.SERVES
        or ((h.source, h.kind, h.target) if downstream else (h.target, h.kind, h.source))
        not in idle
    ]


# (depth, direction, partial) of a node before paging.
_Placed = tuple[int, Direction, bool]


def _place(
    walk: _Walk,
    root: Node,
    members: list[str],
    traversals: list[tuple[Direction, Traversal | Reach]],
    direction: Direction,
) -> dict[str, _Placed]:
    """Merge the traversals of each side into one entry per node."""
    sides: list[dict[str, _Placed]] = []
    for side, traversal in traversals:
        depths = (
            traversal.depths
            if isinstance(traversal, Reach)
            else {r.id: r.depth for r in traversal.reached.values()}
        )
        # One entry object per depth: a large lineage shares a few dozen.
        entries = {d: (d, side, False) for d in set(depths.values())}
        found: dict[str, _Placed] = {node_id: entries[d] for node_id, d in depths.items()}
        for member in members:
            found[member] = (0, direction, False)
        if walk.column:
            _add_partial_datasets(found, side)
        sides.append(found)
    merged = sides[0]
    for found in sides[1:]:
        for node_id, entry in found.items():
            old = merged.get(node_id)
            if old is None:
                merged[node_id] = entry
            else:
                merged[node_id] = (
                    min(old[0], entry[0]),
                    old[1] if old[1] is entry[1] else Direction.BOTH,
                    old[2] and entry[2],
                )
    merged.pop(root.id, None)
    return merged


def _nearest(placed: dict[str, _Placed], limit: int) -> dict[str, _Placed]:
    """The ``limit`` nodes nearest the root: by depth, then id, a partial dataset just
    before the first of its fields at its depth, so that a node kept has what leads to
    it kept too, and a partial dataset is kept only with a field of it."""
    anchors: dict[str, str] = {}
    for node_id, (depth, _, _) in placed.items():
        if depth > 0 and node_id.startswith(_FIELD_PREFIX):
            owner = dataset_of_field(node_id)
            entry = placed.get(owner)
            if (
                entry is not None
                and entry[2]
                and entry[0] == depth
                and (owner not in anchors or node_id < anchors[owner])
            ):
                anchors[owner] = node_id

    def key(node_id: str) -> tuple[int, str, int]:
        anchor = anchors.get(node_id)
        depth = placed[node_id][0]
        return (depth, node_id, 1) if anchor is None else (depth, anchor, 0)

    kept = sorted(placed, key=key)[:limit]
    return {node_id: placed[node_id] for node_id in kept}


class _Known:
    """The ids in a lineage: those placed and the root (without copying a large lineage)."""

    def __init__(self, placed: dict[str, _Placed], root_id: str) -> None:
        self.placed, self.root_id = placed, root_id

    def __contains__(self, node_id: object) -> bool:
        return node_id == self.root_id or node_id in self.placed


def _add_partial_datasets(found: dict[str, _Placed], side: Direction) -> None:
    """The dataset of each field reached through column lineage, where it is not whole."""
    partial: dict[str, int] = {}
    holder = len(_FIELD_PREFIX) - 1
    for node_id, (depth, _, _) in found.items():
        if depth > 0 and node_id.startswith(_FIELD_PREFIX):
            # dataset_of_field, inlined: the path is the last part of a field id
            owner = _DATASET_PREFIX[:-1] + node_id.rpartition("|")[0][holder:]
            if owner not in found and partial.get(owner, depth) >= depth:
                partial[owner] = depth
    for owner, depth in partial.items():
        found[owner] = (depth, side, True)


def _page_of(placed: dict[str, _Placed], offset: int, first: int) -> list[str]:
    """The ids at ``offset`` .. ``offset + first`` in output order.

    Nodes are grouped by side and depth first, and only the groups the page
    reaches into are sorted: a page of a large lineage does not sort all of it.
    """
    rank = _DIRECTION_RANK
    groups: dict[tuple[int, int], list[str]] = defaultdict(list)
    for node_id, (depth, side, _) in placed.items():
        groups[(rank[side], depth)].append(node_id)
    page: list[str] = []
    skip = offset
    for key in sorted(groups):
        if len(page) >= first:
            break
        group = groups[key]
        if skip >= len(group):
            skip -= len(group)
            continue
        group.sort()
        page.extend(group[skip : skip + first - len(page)])
        skip = 0
    return page


# --- the edges of a page ------------------------------------------------------------------------

# Where a node stands in output order: (side rank, depth, id); the root comes first.
_OrderKey = tuple[int, int, str]


@dataclass(frozen=True)
class _State:
    """A walk from a page node through nodes that are not returned."""

    origin: str
    at: str
    keys: tuple[tuple[str, EdgeKind, str], ...]  # stored edges walked, in walk order
    via: tuple[str, ...]


def _page_edges(
    store: Store,
    walk: _Walk,
    page: list[str],
    order_key: Callable[[str], _OrderKey | None],
    known: Container[str],
    budget: int | None,
) -> list[LineageEdge]:
    """The connections owned by the page's nodes, with their stored edges."""
    kinds = walk.edge_kinds | {EdgeKind.HAS_FIELD, EdgeKind.HAS_VERSION}

    def passable(node_id: str) -> bool:
        # Not returned, but part of the lineage; in dataset-level lineage, the fields of
        # its datasets (which carry their ML edges).
        if order_key(node_id) is not None:
            return False
        if node_id in known:
            return True
        return (
            not walk.column
            and node_id.startswith(_FIELD_PREFIX)
            and dataset_of_field(node_id) in known
        )

    found: dict[tuple[str, str, tuple[str, ...]], tuple[tuple[str, EdgeKind, str], ...]] = {}
    origin_keys = {o: order_key(o) or (-1, 0, "") for o in page}
    steps = 0
    for downstream in (True, False):
        states = [_State(o, o, (), ()) for o in page]
        seen = {(o, o) for o in page}
        while states:
            frontier = sorted({s.at for s in states})
            hops = store.expand(
                frontier,
                Direction.DOWNSTREAM if downstream else Direction.UPSTREAM,
                kinds,
                walk.as_of,
            )
            by_node: dict[str, list[Hop]] = defaultdict(list)
            for hop in sorted(hops):
                by_node[hop.source].append(hop)
            following: list[_State] = []
            for state in states:
                for hop in by_node.get(state.at, ()):
                    other = hop.target
                    if downstream:
                        key = (state.at, hop.kind, other)
                        keys = (*state.keys, key)
                    else:
                        key = (other, hop.kind, state.at)
                        keys = (key, *state.keys)
                    other_key = order_key(other)
                    if other_key is not None:
                        if other_key > origin_keys[state.origin]:
                            continue  # the later endpoint owns this connection
                        pair = (state.origin, other) if downstream else (other, state.origin)
                        via = state.via if downstream else tuple(reversed(state.via))
                        found.setdefault((pair[0], pair[1], via), keys)
                    elif (state.origin, other) not in seen and passable(other):
                        if budget is not None and steps >= budget:
                            continue
                        steps += 1
                        seen.add((state.origin, other))
                        via_ids = (*state.via, other)
                        following.append(_State(state.origin, other, keys, via_ids))
            states = following

    needed = {key for keys in found.values() for key in keys}
    targets = sorted({key[2] for key in needed})
    stored: dict[tuple[str, EdgeKind, str], Edge] = {}
    if targets:
        wanted_kinds = {key[1] for key in needed}
        for edge in store.edges(targets, Direction.UPSTREAM, wanted_kinds, walk.as_of):
            if edge.key in needed and (walk.as_of is None or edge.serving_at(walk.as_of)):
                stored[edge.key] = edge
    result: list[LineageEdge] = []
    for (source, target, via), keys in found.items():
        if not all(k in stored for k in keys):
            continue
        result.append(
            LineageEdge(
                source_id=source,
                target_id=target,
                kind=keys[0][1] if len(keys) == 1 else None,
                via=via,
                edges=tuple(stored[k] for k in keys),
            )
        )
    result.sort(key=lambda e: (e.source_id, e.target_id, e.kind or "", e.via))
    return result
