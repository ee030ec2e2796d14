"""Breadth-first traversal over the store port, level by level.

One :meth:`Store.expand` call per level, so a traversal costs one round trip per
level on Neo4j. Levels are sorted, so the result is the same on every store.
A visited set makes traversals terminate on cycles; depth, node and time bounds
make them stop early and say so (``truncated``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lineagegraph.errors import InvalidInput
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.store.base import Hop, Store


@dataclass(frozen=True)
class Reached:
    """A node reached by a traversal: how far from the sources and through which hop."""

    id: str
    depth: int
    via: Hop | None  # the hop that first reached it; None for a source


@dataclass
class Traversal:
    """What a breadth-first traversal reached, in order of discovery."""

    reached: dict[str, Reached] = field(default_factory=dict)
    hops: list[Hop] = field(default_factory=list)  # every hop between reached nodes
    truncated: bool = False
    truncation: str | None = None  # "depth", "nodes" or "timeout"

    def path_to(self, node_id: str) -> list[str]:
        """The ids from a source to ``node_id`` along first-discovery hops."""
        path = [node_id]
        current = self.reached[node_id]
        while current.via is not None:
            path.append(current.via.source)
            current = self.reached[current.via.source]
        path.reverse()
        return path

    def ids(self, include_sources: bool = False) -> list[str]:
        """Reached ids in discovery order, without the sources unless asked."""
        return [r.id for r in self.reached.values() if include_sources or r.depth > 0]


HopFilter = Callable[[Hop], bool]
# One hop from a whole frontier, in place of ``Store.expand`` (same contract, unordered).
Expander = Callable[[Sequence[str]], list[Hop]]


def bfs(
    store: Store,
    sources: Sequence[str],
    direction: Direction,
    edge_kinds: Collection[EdgeKind],
    *,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    max_nodes: int | None = None,
    timeout: float | None = None,
    follow: HopFilter | None = None,
    expand: Expander | None = None,
    start_depths: Mapping[str, int] | None = None,
) -> Traversal:
    """Traverse from ``sources`` one direction, level by level.

    ``follow`` can veto a hop (its target is then not reached through it).
    ``expand`` replaces ``store.expand(frontier, direction, edge_kinds, as_of)``
    when a caller needs derived hops (lineage lifts field edges to datasets).
    ``start_depths`` lets some sources enter later: a source joins the frontier at
    its depth unless the traversal reached it sooner (the others start at 0).
    ``max_nodes`` counts reached nodes, sources excluded. The traversal is
    ``truncated`` when a bound stopped it while there was more to reach.
    """
    if direction is Direction.BOTH:
        raise InvalidInput("bfs follows one direction; traverse upstream and downstream apart")
    deadline = None if timeout is None else time.monotonic() + timeout
    result = Traversal()
    reached = result.reached
    unique = sorted(set(sources))
    waiting: dict[int, list[str]] = {}
    for source in unique:
        start = 0 if start_depths is None else start_depths.get(source, 0)
        if start < 0:
            raise InvalidInput(f"start depth of {source!r} must not be negative")
        waiting.setdefault(start, []).append(source)
    limit = None if max_nodes is None else max_nodes + len(unique)
    depth = min(waiting, default=0)
    frontier: list[str] = []
    while True:
        for source in waiting.pop(depth, ()):
            if source not in reached:
                reached[source] = Reached(source, depth, None)
                frontier.append(source)
        if not frontier:
            if not waiting:
                break
            depth = min(waiting)
            continue
        frontier.sort()
        raw = (
            store.expand(frontier, direction, edge_kinds, as_of)
            if expand is None
            else expand(frontier)
        )
        hops = sorted(raw)
        if follow is not None:
            hops = [h for h in hops if follow(h)]
        if hops:
            if max_depth is not None and depth >= max_depth:
                result.truncated, result.truncation = True, "depth"
                break
            if deadline is not None and time.monotonic() > deadline:
                result.truncated, result.truncation = True, "timeout"
                break
        next_frontier: list[str] = []
        for hop in hops:
            target = hop.target
            if target not in reached:
                if limit is not None and len(reached) >= limit:
                    result.truncated, result.truncation = True, "nodes"
                    continue
                reached[target] = Reached(target, depth + 1, hop)
                next_frontier.append(target)
            result.hops.append(hop)
        if result.truncation == "nodes":
            break
        frontier = next_frontier
        depth += 1
    return result


def strongly_connected(hops: Iterable[Hop], direction: Direction) -> list[list[str]]:
    """Cycles among the hops: strongly connected groups of two or more, and self-loops.

    Each group is sorted, and the groups are sorted, so the answer is stable.
    """
    graph: dict[str, list[str]] = {}
    loops: set[str] = set()
    for hop in hops:
        source, target = (
            (hop.source, hop.target)
            if direction is Direction.DOWNSTREAM
            else (hop.target, hop.source)
        )
        graph.setdefault(source, []).append(target)
        graph.setdefault(target, [])
        if source == target:
            loops.add(source)
    groups = [sorted(g) for g in _tarjan(graph) if len(g) > 1 or g[0] in loops]
    return sorted(groups)


def _tarjan(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_index = work.pop()
            if child_index == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if child_index < len(children):
                work.append((node, child_index + 1))
                child = children[child_index]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components
