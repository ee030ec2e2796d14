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
from typing import NamedTuple

from lineagegraph.errors import InvalidInput
from lineagegraph.model import Direction, EdgeKind
from lineagegraph.store.base import Hop, Store


class Reached(NamedTuple):
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


@dataclass
class Reach:
    """What a reachability traversal (:func:`reach`) found: each node's depth.

    ``levels`` lists the nodes by depth (sources at 0, a level's same-level members
    with it); the data-flow hops of the first ``followed`` levels were followed, those
    of the others (bounds stopped there) were not.
    """

    depths: dict[str, int] = field(default_factory=dict)
    levels: list[list[str]] = field(default_factory=list)
    followed: int = 0
    truncated: bool = False
    truncation: str | None = None  # "depth", "nodes" or "timeout"


HopFilter = Callable[[Hop], bool]
# One hop from a whole frontier, in place of ``Store.expand`` (same contract, unordered).
Expander = Callable[[Sequence[str]], list[Hop]]
# One hop from a whole frontier, in place of ``Store.expand_targets``: (frontier, seen) ->
# (targets, same-level targets), the same contract.
Stepper = Callable[[Sequence[str], Collection[str]], tuple[list[str], list[str]]]


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
    same_level: Collection[EdgeKind] = (),
) -> Traversal:
    """Traverse from ``sources`` one direction, level by level.

    ``follow`` can veto a hop (its target is then not reached through it).
    ``expand`` replaces ``store.expand(frontier, direction, edge_kinds, as_of)``
    when a caller needs derived hops (lineage lifts field edges to datasets).
    ``start_depths`` lets some sources enter later: a source joins the frontier at
    its depth unless the traversal reached it sooner (the others start at 0).
    Hops of a ``same_level`` kind (containment) reach their target at the depth of
    their source, and the target is expanded within the same level.
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
        hops: list[Hop] = []
        expanding = frontier
        while expanding:
            raw = (
                store.expand(expanding, direction, edge_kinds, as_of)
                if expand is None
                else expand(expanding)
            )
            if follow is not None:
                raw = [h for h in raw if follow(h)]
            if not same_level:
                hops = raw
                break
            inside: list[Hop] = []
            for hop in raw:
                (inside if hop.kind in same_level else hops).append(hop)
            expanding = _admit(result, inside, depth, limit)
            result.hops.extend(h for h in inside if h.target in reached)
            if result.truncation == "nodes":
                break
        if result.truncation == "nodes":
            break
        bound = _bound_hit(depth, max_depth, deadline) if hops else None
        if bound is not None and any(h.target not in reached for h in hops):
            result.truncated, result.truncation = True, bound
            break
        admitted = _admit(result, hops, depth + 1, limit)
        if result.truncation == "nodes":
            result.hops.extend(h for h in hops if h.target in reached)
            break
        result.hops.extend(hops)
        frontier = admitted
        depth += 1
    return result


def reach(
    store: Store,
    sources: Sequence[str],
    direction: Direction,
    edge_kinds: Collection[EdgeKind],
    *,
    as_of: datetime | None = None,
    max_depth: int | None = None,
    max_nodes: int | None = None,
    timeout: float | None = None,
    step: Stepper | None = None,
    same_level: Collection[EdgeKind] = (),
) -> Reach:
    """The depth of everything reachable from ``sources`` one direction, level by level.

    The same traversal as :func:`bfs` (same depths, same bounds, same nodes kept when
    ``max_nodes`` cuts a level), without the hops: it asks the store only where each
    level leads (:meth:`Store.expand_targets`), which is what reachability needs and
    much cheaper on large lineage. ``step`` replaces that call as ``expand`` does in
    :func:`bfs`.
    """
    if direction is Direction.BOTH:
        raise InvalidInput("reach follows one direction; traverse upstream and downstream apart")
    if step is None:

        def step(frontier: Sequence[str], seen: Collection[str]) -> tuple[list[str], list[str]]:
            return store.expand_targets(
                frontier, direction, edge_kinds, as_of, seen=seen, same_level=same_level
            )

    deadline = None if timeout is None else time.monotonic() + timeout
    unique = sorted(set(sources))
    result = Reach(depths=dict.fromkeys(unique, 0))
    depths = result.depths
    limit = None if max_nodes is None else max_nodes + len(unique)
    frontier = unique
    depth = 0
    while frontier:
        level = list(frontier)
        result.levels.append(level)
        onward: list[str] = []
        expanding: list[str] = frontier
        while expanding:
            targets, inside = step(expanding, depths)
            onward.extend(targets)
            expanding = _admit_ids(result, _fresh(inside, depths), depth, limit)
            level.extend(expanding)
            if result.truncation == "nodes":
                break
        if result.truncation == "nodes":
            break
        fresh = _fresh(onward, depths)
        bound = _bound_hit(depth, max_depth, deadline) if fresh else None
        if bound is not None:
            result.truncated, result.truncation = True, bound
            break
        frontier = _admit_ids(result, fresh, depth + 1, limit)
        result.followed += 1
        if result.truncation == "nodes":
            if frontier:
                result.levels.append(frontier)
            break
        depth += 1
    return result


def _fresh(targets: list[str], depths: dict[str, int]) -> list[str]:
    """The targets not reached yet, each once, in first-seen order."""
    return [t for t in dict.fromkeys(targets) if t not in depths]


def _admit_ids(result: Reach, new: list[str], depth: int, limit: int | None) -> list[str]:
    """Reach new targets (none reached yet) at ``depth``, as :func:`_admit` does.

    Returns those admitted: past ``limit`` reached nodes, the first ones by id.
    """
    depths = result.depths
    if limit is not None and len(depths) + len(new) > limit:
        new = sorted(new)[: max(0, limit - len(depths))]
        result.truncated, result.truncation = True, "nodes"
    depths.update(dict.fromkeys(new, depth))
    return new


def _bound_hit(depth: int, max_depth: int | None, deadline: float | None) -> str | None:
    """Which bound stops a traversal from going past ``depth``, if any."""
    if max_depth is not None and depth >= max_depth:
        return "depth"
    if deadline is not None and time.monotonic() > deadline:
        return "timeout"
    return None


def _admit(result: Traversal, hops: list[Hop], depth: int, limit: int | None) -> list[str]:
    """Reach the new targets of some hops at ``depth``; returns them, sorted.

    A node keeps the smallest hop that reaches it, so the result does not depend on
    the order the store returns hops in. Past ``limit`` reached nodes the traversal
    is truncated.
    """
    reached = result.reached
    found: dict[str, Hop] = {}
    for hop in hops:
        target = hop.target
        if target in reached:
            continue
        best = found.get(target)
        if best is None or hop < best:
            found[target] = hop
    admitted = sorted(found)
    if limit is not None and len(reached) + len(admitted) > limit:
        admitted = admitted[: max(0, limit - len(reached))]
        result.truncated, result.truncation = True, "nodes"
    for target in admitted:
        reached[target] = Reached(target, depth, found[target])
    return admitted


def strongly_connected(hops: Iterable[Hop], direction: Direction) -> list[list[str]]:
    """Cycles among the hops: strongly connected groups of two or more, and self-loops.

    Each group is sorted, and the groups are sorted, so the answer is stable.
    """
    # Number the nodes and keep successors as lists of numbers: the work is per edge, so
    # every dictionary lookup saved counts on large traversals.
    number: dict[str, int] = {}
    names: list[str] = []
    succ: list[list[int]] = []
    loops: set[int] = set()
    downstream = direction is Direction.DOWNSTREAM
    for hop in hops:
        source, target = (hop.source, hop.target) if downstream else (hop.target, hop.source)
        a = number.get(source)
        if a is None:
            a = number[source] = len(names)
            names.append(source)
            succ.append([])
        b = number.get(target)
        if b is None:
            b = number[target] = len(names)
            names.append(target)
            succ.append([])
        succ[a].append(b)
        if a == b:
            loops.add(a)
    alive = _trim(succ)
    groups = [
        sorted(names[i] for i in group)
        for group in _tarjan(succ, alive)
        if len(group) > 1 or group[0] in loops
    ]
    return sorted(groups)


def _trim(succ: list[list[int]]) -> list[bool]:
    """Drop nodes with no predecessor or no successor left, repeatedly: none is on a cycle.

    What remains holds every cycle and, in lineage-shaped graphs, little else.
    """
    size = len(succ)
    pred: list[list[int]] = [[] for _ in range(size)]
    indegree = [0] * size
    for a, targets in enumerate(succ):
        for b in targets:
            pred[b].append(a)
            indegree[b] += 1
    outdegree = [len(targets) for targets in succ]
    alive = [True] * size
    queue = [i for i in range(size) if indegree[i] == 0 or outdegree[i] == 0]
    while queue:
        node = queue.pop()
        if not alive[node]:
            continue
        alive[node] = False
        for b in succ[node]:
            indegree[b] -= 1
            if indegree[b] == 0 and alive[b]:
                queue.append(b)
        for a in pred[node]:
            outdegree[a] -= 1
            if outdegree[a] == 0 and alive[a]:
                queue.append(a)
    return alive


def _tarjan(succ: list[list[int]], alive: list[bool]) -> list[list[int]]:
    """Tarjan's strongly connected components of the live nodes, iterative (no recursion)."""
    unvisited = -1
    index = [unvisited] * len(succ)
    low = [0] * len(succ)
    on_stack = [False] * len(succ)
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(len(succ)):
        if not alive[root] or index[root] != unvisited:
            continue
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            node, child_index = work.pop()
            if child_index == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            children = succ[node]
            while child_index < len(children):
                child = children[child_index]
                child_index += 1
                if not alive[child]:
                    continue
                if index[child] == unvisited:
                    work.append((node, child_index))
                    work.append((child, 0))
                    break
                if on_stack[child] and index[child] < low[node]:
                    low[node] = index[child]
            else:
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack[member] = False
                        component.append(member)
                        if member == node:
                            break
                    components.append(component)
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
    return components
