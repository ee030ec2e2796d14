"""Root cause of a model regression (ARCHITECTURE §4.5): ranked, explained suspects.

For a regressed model version (or the one a deployment serves now, or served at
the window's end when that is given) and a time window — by default from the
creation of the model's previous version, the baseline, to this version's
creation (for a first version, the week before it);
what happened with the baseline, at its creation, is not in it — every upstream
event in the window is a suspect:

- ``FAILED_CHECK``: a failing result of a check on an upstream dataset or field;
- ``SCHEMA_CHANGE``: fields added, removed or retyped between two consecutive
  versions of an upstream dataset (BREAKING per the type-compatibility table of
  :mod:`lineagegraph.algorithms.types_compat`);
- ``FAILED_RUN``: a run of an upstream job that ended in FAIL or ABORT;
- ``CODE_CHANGE``: a run of an upstream job with another code version than the
  job's run before it;
- ``VOLUME_SHIFT``: a version whose ``row_count`` differs from the previous
  version's by at least :data:`VOLUME_SHIFT_THRESHOLD` (relative);
- ``LINEAGE_CHANGE``: a data-flow edge into an upstream entity that started or
  ended in the window.

*Upstream* is the design lineage of the model version (data-flow edges as they
were at the start and the end of the window and when the version was created)
and its provenance (the runs
and versions that produced it). The score is the product of five parts, each
in (0, 1], all shown in the suspect's breakdown::

    score = severity x proximity x recency x column factor x diff factor

- severity: by kind (:data:`SEVERITY`); a check's own severity for failed
  checks (:data:`CHECK_SEVERITY`), non-breaking schema changes lower, volume
  shifts by size;
- proximity = 1 / (1 + hops), where hops counts the datasets, fields and
  features between the event and the model version (jobs and runs are not
  counted; the fewest over design lineage and provenance; a field counts as
  its dataset, and a dataset read through a feature lies behind that feature);
- recency = 1 / (1 + hours before the end of the window / 24);
- column factor: 1.0 when the event is on a field that lies on a column path to
  what the model version was trained on (its features' columns and their
  column lineage), 0.5 when it is on a field off those paths, 0.75 when the
  event is not about a field;
- diff factor: 1.0 when the event shows in the provenance diff against the
  baseline (a new failing check, a schema or code change, a changed input, an
  entity-level edge added or removed), 0.6 otherwise.

Suspects are ordered by score, highest first, then by id, so the same input
always gives the same order.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from lineagegraph.algorithms.provenance import (
    ChangeKind,
    Provenance,
    ProvenanceDiff,
    ProvenanceVersion,
    SchemaDifference,
    compare_provenance,
    describe_version,
    provenance,
    schema_differences,
)
from lineagegraph.algorithms.traversal import Traversal, bfs
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, dataset_of, kind_of, make_id, parse_id, short_name
from lineagegraph.model import (
    FLOW_KINDS,
    Direction,
    Edge,
    EdgeKind,
    Node,
    format_time,
    parse_time,
    utcnow,
)
from lineagegraph.store.base import HistoryRequest, Store

__all__ = [
    "CHECK_SEVERITY",
    "FIRST_VERSION_LOOKBACK",
    "SEVERITY",
    "VOLUME_SHIFT_THRESHOLD",
    "RootCauseReport",
    "ScoreBreakdown",
    "Suspect",
    "SuspectKind",
    "root_cause",
]


class SuspectKind(StrEnum):
    """Kinds of upstream event that can explain a regression."""

    FAILED_CHECK = "FAILED_CHECK"
    SCHEMA_CHANGE = "SCHEMA_CHANGE"
    FAILED_RUN = "FAILED_RUN"
    CODE_CHANGE = "CODE_CHANGE"
    VOLUME_SHIFT = "VOLUME_SHIFT"
    LINEAGE_CHANGE = "LINEAGE_CHANGE"


@dataclass(frozen=True)
class ScoreBreakdown:
    """The parts of a suspect's score; ``score`` is their product (see module docs)."""

    severity: float
    hops: int
    proximity: float
    hours_before: float
    recency: float
    on_column_path: bool | None  # None: the event is not about a column
    column_factor: float
    in_provenance_diff: bool
    diff_factor: float
    score: float


@dataclass(frozen=True)
class Suspect:
    """An upstream event that could explain the regression, with its explained score."""

    id: str  # stable: kind plus the ids it is about
    kind: SuspectKind
    entity_id: str  # the dataset, field, job or run the event happened to
    related_ids: tuple[str, ...]  # results, checks, versions, runs or edge ends involved
    at: datetime
    summary: str
    path: tuple[str, ...]  # upstream path from the entity to the model version
    breakdown: ScoreBreakdown

    @property
    def score(self) -> float:
        """The suspect's score."""
        return self.breakdown.score


@dataclass(frozen=True)
class RootCauseReport:
    """Suspects for a regressed model version, best first."""

    subject_id: str
    model_version_id: str
    baseline_id: str | None  # the previous version, compared against
    since: datetime | None
    until: datetime
    suspects: tuple[Suspect, ...]
    diff: ProvenanceDiff | None
    truncated: bool = False  # a node cap or timeout cut what lies upstream


# --- scoring ----------------------------------------------------------------------------------

SEVERITY: dict[SuspectKind, float] = {
    SuspectKind.FAILED_CHECK: 0.8,  # a check without a known severity
    SuspectKind.SCHEMA_CHANGE: 1.0,  # a breaking one; non-breaking: NON_BREAKING_SEVERITY
    SuspectKind.FAILED_RUN: 0.8,
    SuspectKind.CODE_CHANGE: 0.6,
    SuspectKind.VOLUME_SHIFT: 0.5,  # plus half the relative change, at most 1.0
    SuspectKind.LINEAGE_CHANGE: 0.5,
}
CHECK_SEVERITY: dict[str, float] = {
    "critical": 1.0,
    "error": 1.0,
    "high": 1.0,
    "warn": 0.6,
    "warning": 0.6,
    "medium": 0.6,
    "info": 0.3,
    "low": 0.3,
}
NON_BREAKING_SEVERITY = 0.3
VOLUME_SHIFT_THRESHOLD = 0.2  # |new - old| / old of row_count between consecutive versions
# The window of a model's first version (no baseline): the week before its creation.
FIRST_VERSION_LOOKBACK = timedelta(days=7)
COLUMN_FACTOR: dict[bool | None, float] = {True: 1.0, False: 0.5, None: 0.75}
DIFF_FACTOR: dict[bool, float] = {True: 1.0, False: 0.6}

_UP, _DOWN = Direction.UPSTREAM, Direction.DOWNSTREAM
_COLUMN_KINDS = (EdgeKind.TRAINED_ON, EdgeKind.COMPUTED_FROM, EdgeKind.DERIVES)
_FAILED_STATES = ("FAIL", "ABORT")


def _breakdown(
    severity: float, hops: int, hours_before: float, on_column_path: bool | None, in_diff: bool
) -> ScoreBreakdown:
    proximity = 1.0 / (1 + hops)
    recency = 1.0 / (1 + hours_before / 24)
    column = COLUMN_FACTOR[on_column_path]
    diff = DIFF_FACTOR[in_diff]
    return ScoreBreakdown(
        severity=severity,
        hops=hops,
        proximity=proximity,
        hours_before=hours_before,
        recency=recency,
        on_column_path=on_column_path,
        column_factor=column,
        in_provenance_diff=in_diff,
        diff_factor=diff,
        score=severity * proximity * recency * column * diff,
    )


# --- scope ------------------------------------------------------------------------------------


class _Upstream:
    """What lies upstream of the model version, with hop counts and paths."""

    def __init__(
        self,
        store: Store,
        target: str,
        times: Sequence[datetime],
        prov: Provenance,
        max_nodes: int | None = None,
        deadline: float | None = None,
    ):
        self.target = target
        self.hops: dict[str, int] = {}
        self.paths: dict[str, tuple[str, ...]] = {}
        self.columns: set[str] = set()  # fields on a column path to what the model used
        self.truncated = False
        for when in times:
            flow = bfs(
                store,
                [target],
                _UP,
                FLOW_KINDS,
                as_of=when,
                max_nodes=max_nodes,
                timeout=_remaining(deadline),
            )
            self._add(flow)
            columns = bfs(
                store,
                [target],
                _UP,
                _COLUMN_KINDS,
                as_of=when,
                max_nodes=max_nodes,
                timeout=_remaining(deadline),
            )
            self.columns.update(i for i in columns.reached if kind_of(i) is Kind.FIELD)
            self.truncated = self.truncated or flow.truncated or columns.truncated
        for entity, hops in _provenance_hops(prov, target).items():
            self._offer(entity, hops, (entity, target))
        # A field counts from its dataset when it was not reached itself, and the other
        # way round; a dataset is as close as its closest field.
        for entity, hops in list(self.hops.items()):
            if kind_of(entity) is Kind.FIELD:
                self._offer(dataset_of(entity), hops, (dataset_of(entity), *self.paths[entity]))

    def _add(self, traversal: Traversal) -> None:
        # Hops (every step but jobs) and paths (entity ... target) grow from the node
        # that first reached each one, which comes before it in discovery order: a
        # walk back to the target per node was quadratic in the depth of the lineage.
        counted: dict[str, int] = {}
        paths: dict[str, tuple[str, ...]] = {}
        for entity, reached in traversal.reached.items():
            if reached.via is None:
                counted[entity], paths[entity] = 0, (entity,)
                continue
            source = reached.via.source
            counted[entity] = counted[source] + (kind_of(entity) is not Kind.JOB)
            paths[entity] = (entity, *paths[source])
            if entity != self.target:
                self._offer(entity, counted[entity], paths[entity])

    def _offer(self, entity: str, hops: int, path: tuple[str, ...]) -> None:
        if entity not in self.hops or (hops, path) < (self.hops[entity], self.paths[entity]):
            self.hops[entity] = hops
            self.paths[entity] = path

    def of(self, kind: Kind) -> list[str]:
        return sorted(e for e in self.hops if kind_of(e) is kind)

    def distance(self, entity: str) -> tuple[int, tuple[str, ...]]:
        """Hops and path of an entity in scope, or of its dataset for an unreached field."""
        if entity in self.hops:
            return self.hops[entity], self.paths[entity]
        if kind_of(entity) is Kind.FIELD and dataset_of(entity) in self.hops:
            dataset = dataset_of(entity)
            return self.hops[dataset], (entity, *self.paths[dataset])
        # Not upstream by lineage or provenance: farther than anything that is.
        return max(self.hops.values(), default=0) + 1, (entity, self.target)


_COUNTED = frozenset({Kind.DATASET_VERSION, Kind.MODEL_VERSION, Kind.FEATURE})


def _provenance_hops(prov: Provenance, target: str) -> dict[str, int]:
    """The hops from each table, model, feature and job of the provenance to the target,
    counted as over design lineage: every version (as its table or model) and feature
    on the way counts, the entity itself included; runs do not, so a job counts what lies
    between. A table read through a feature is one hop behind that feature, as its
    columns the feature is computed from are."""
    upstream: dict[str, list[str]] = defaultdict(list)
    for source, _, later in prov.edges:
        if source != later and (kind_of(source) in _COUNTED or kind_of(source) is Kind.RUN):
            upstream[later].append(source)
    best = {target: 0}
    queue = deque([target])
    while queue:  # 0-1 breadth-first: runs cost nothing, so they go to the front
        node = queue.popleft()
        for source in sorted(upstream[node]):
            cost = 0 if kind_of(source) is Kind.RUN else 1
            hops = best[node] + cost
            if source in best and best[source] <= hops:
                continue
            best[source] = hops
            if cost:
                queue.append(source)
            else:
                queue.appendleft(source)
    job_of = {r.id: r.job_id for r in prov.runs}
    found: dict[str, int] = {}
    for node, hops in best.items():
        if node == target:
            continue
        kind = kind_of(node)
        if kind is Kind.RUN:
            entity = job_of.get(node)
        elif kind is Kind.FEATURE:
            entity = node
        else:
            entity = describe_version(node, None).entity_id
        if entity is not None and (entity not in found or hops < found[entity]):
            found[entity] = hops
    return found


# --- entry point ------------------------------------------------------------------------------


def root_cause(
    store: Store,
    entity_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    max_nodes: int | None = None,
    timeout: float | None = None,
) -> RootCauseReport:
    """Ranked suspects for a regressed model version or deployment (see the module docs).

    A deployment stands for the model version it serves at ``until``, else now.
    ``max_nodes`` bounds each traversal upstream and the provenance closures, and
    ``timeout`` the seconds they take together; a bound that cut one sets
    ``truncated``.

    Raises :class:`InvalidInput` for an id of another kind, a deployment that
    serves nothing then, or a window that ends before it starts; :class:`NotFound`
    for an entity that does not exist.
    """
    kind = kind_of(entity_id)
    if kind not in (Kind.MODEL_VERSION, Kind.DEPLOYMENT):
        raise InvalidInput(
            f"root cause is defined for model versions and deployments, not {kind.value}"
        )
    if not store.kinds([entity_id]):
        raise NotFound(f"no entity with id {entity_id!r}")
    target = entity_id if kind is Kind.MODEL_VERSION else _served(store, entity_id, until)
    versions = _model_versions(store, target)
    order = [v.id for v in versions]
    position = order.index(target) if target in order else -1
    baseline = versions[position - 1] if position > 0 else None
    created = next((v.created_at for v in versions if v.id == target), None)
    if created is None:
        created = describe_version(target, store.get([target]).get(target)).created_at
    end = until if until is not None else created if created is not None else utcnow()
    start = since if since is not None else baseline.created_at if baseline else None
    if start is None:  # a first version: what happened in the time before it
        start = end - FIRST_VERSION_LOOKBACK
    if start is not None and start > end:
        # Name what set each end: the option, else the version it defaults to.
        starts = "since" if since is not None or baseline is None else _creation(baseline.id)
        ends = "until" if until is not None or created is None else _creation(target)
        raise InvalidInput(
            f"the window's start ({starts}, {start.isoformat()}) is after its end "
            f"({ends}, {end.isoformat()})"
        )
    deadline = None if timeout is None else time.monotonic() + timeout
    prov = provenance(store, target, max_nodes=max_nodes, timeout=_remaining(deadline))
    baseline_prov = (
        provenance(store, baseline.id, max_nodes=max_nodes, timeout=_remaining(deadline))
        if baseline is not None
        else None
    )
    diff = compare_provenance(baseline_prov, prov) if baseline_prov is not None else None
    # Design lineage as it was when the window starts and ends, and when the version
    # was created (its own inputs exist from then on).
    times = sorted({t for t in (start, end, created) if t is not None})
    scope = _Upstream(store, target, times, prov, max_nodes, deadline)
    window = _Window(start, end, open_start=since is None)
    context = _Context(store, scope, window, prov, diff, baseline_prov)
    suspects = [
        *context.failed_checks(),
        *context.dataset_events(),
        *context.job_events(),
        *context.lineage_changes(),
    ]
    unique = {s.id: s for s in suspects}
    ranked = sorted(unique.values(), key=lambda s: (-s.score, s.id))
    return RootCauseReport(
        subject_id=entity_id,
        model_version_id=target,
        baseline_id=baseline.id if baseline else None,
        since=start,
        until=end,
        suspects=tuple(ranked),
        diff=diff,
        truncated=(
            scope.truncated
            or prov.truncated
            or (baseline_prov is not None and baseline_prov.truncated)
        ),
    )


def _remaining(deadline: float | None) -> float | None:
    """The seconds left until ``deadline`` (none left: 0), or None for no deadline."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _creation(version: str) -> str:
    return f"the creation of {short_name(version)}"


def _served(store: Store, deployment: str, at: datetime | None) -> str:
    """The model version the deployment serves now, or served at ``at`` (the window's end)."""
    if at is None:
        served = sorted({h.target for h in store.expand([deployment], _UP, [EdgeKind.SERVES])})
    else:
        edges = store.edges([deployment], _UP, [EdgeKind.SERVES], at)
        served = sorted({e.source_id for e in edges if e.serving_at(at)})
    if not served:
        when = "now" if at is None else f"at {format_time(at)}"
        raise InvalidInput(f"deployment {deployment!r} serves no model version {when}")
    nodes = store.get(served)
    return max(served, key=lambda v: (_created(describe_version(v, nodes.get(v))), v))


def _created(version: ProvenanceVersion) -> str:
    return "" if version.created_at is None else format_time(version.created_at)


def _model_versions(store: Store, version_id: str) -> list[ProvenanceVersion]:
    """The versions of a model version's model, oldest first (by creation, then id)."""
    key = parse_id(version_id)
    model = make_id(Kind.MODEL, key.namespace, key.name)
    ids = sorted(
        {h.target for h in store.expand([model], _DOWN, [EdgeKind.HAS_VERSION])} | {version_id}
    )
    nodes = store.get(ids)
    versions = [describe_version(i, nodes.get(i)) for i in ids if kind_of(i) is Kind.MODEL_VERSION]
    return sorted(versions, key=lambda v: (_created(v), v.id))


@dataclass(frozen=True)
class _Window:
    start: datetime | None
    end: datetime
    # a window from the baseline's creation leaves out what happened with the baseline
    open_start: bool = False

    def __contains__(self, when: datetime | None) -> bool:
        if when is None or when > self.end:
            return False
        if self.start is None:
            return True
        return when > self.start if self.open_start else when >= self.start

    def hours_before(self, when: datetime) -> float:
        return max(0.0, (self.end - when).total_seconds() / 3600)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str | datetime) or value == "":
        return None
    try:
        return parse_time(value)
    except InvalidInput:
        return None


def _neighbours(
    store: Store, ids: Sequence[str], kind: EdgeKind, direction: Direction
) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {i: set() for i in ids}
    for hop in store.expand(ids, direction, [kind]):
        found[hop.source].add(hop.target)
    return {i: sorted(t) for i, t in found.items()}


class _Context:
    """Finds and scores the suspects of one root-cause question."""

    def __init__(
        self,
        store: Store,
        scope: _Upstream,
        window: _Window,
        prov: Provenance,
        diff: ProvenanceDiff | None,
        baseline: Provenance | None,
    ) -> None:
        self.store = store
        self.scope = scope
        self.window = window
        self.prov = prov
        self.diff = diff
        self.new_runs = {r.id for r in prov.runs}
        if baseline is not None:
            self.new_runs -= {r.id for r in baseline.runs}
        self.datasets = scope.of(Kind.DATASET)
        self.jobs = scope.of(Kind.JOB)

    def _suspect(
        self,
        kind: SuspectKind,
        key: str,
        entity: str,
        related: Iterable[str],
        at: datetime,
        summary: str,
        severity: float,
        on_column_path: bool | None,
        in_diff: bool,
    ) -> Suspect:
        hops, path = self.scope.distance(entity)
        return Suspect(
            id=f"{kind.value}:{key}",
            kind=kind,
            entity_id=entity,
            related_ids=tuple(related),
            at=at,
            summary=summary,
            path=path,
            breakdown=_breakdown(
                severity, hops, self.window.hours_before(at), on_column_path, in_diff
            ),
        )

    # failed checks -----------------------------------------------------------------------

    def failed_checks(self) -> list[Suspect]:
        store = self.store
        fields = _neighbours(store, self.datasets, EdgeKind.HAS_FIELD, _DOWN)
        checked = sorted({*self.datasets, *(f for fs in fields.values() for f in fs)})
        on = _neighbours(store, checked, EdgeKind.HAS_CHECK, _DOWN)
        target_of = {c: t for t in checked for c in on[t] if kind_of(c) is Kind.CHECK}
        checks = sorted(target_of)
        check_nodes = store.get(checks)
        results_of = _neighbours(store, checks, EdgeKind.HAS_RESULT, _DOWN)
        result_nodes = store.get(sorted({r for rs in results_of.values() for r in rs}))
        flagged = set()
        if self.diff is not None:
            flagged = {
                c.check_id
                for c in self.diff.check_changes
                if c.change in ("NEW_FAILURE", "STILL_FAILING")
            }
        suspects = []
        for check in checks:
            node = check_nodes.get(check)
            severity_name = str(node.attrs.get("severity", "")).lower() if node else ""
            severity = CHECK_SEVERITY.get(severity_name, SEVERITY[SuspectKind.FAILED_CHECK])
            checked_entity = target_of[check]
            on_path = (
                checked_entity in self.scope.columns
                if kind_of(checked_entity) is Kind.FIELD
                else None
            )
            for result_id in results_of[check]:
                result = result_nodes.get(result_id)
                if result is None or result.attrs.get("passed", False):
                    continue
                at = _time(result.attrs.get("observed_at"))
                if at is None or at not in self.window:
                    continue
                observed = result.attrs.get("observed")
                detail = f" ({observed})" if isinstance(observed, str) else ""
                suspects.append(
                    self._suspect(
                        SuspectKind.FAILED_CHECK,
                        result_id,
                        checked_entity,
                        [result_id, check],
                        at,
                        f"check {short_name(check)} on {short_name(checked_entity)} failed{detail}",
                        severity,
                        on_path,
                        check in flagged,
                    )
                )
        return suspects

    # schema changes and volume shifts ----------------------------------------------------

    def dataset_events(self) -> list[Suspect]:
        store = self.store
        linked = _neighbours(store, self.datasets, EdgeKind.HAS_VERSION, _DOWN)
        ids = sorted(
            {v for vs in linked.values() for v in vs if kind_of(v) is Kind.DATASET_VERSION}
        )
        nodes = store.get(ids)
        schema_diff = {c.dataset_id for c in self.diff.schema_changes} if self.diff else set()
        changed_inputs = {c.entity_id for c in self.diff.inputs} if self.diff else set()
        read = {v.id for v in self.prov.versions}
        suspects = []
        for dataset in self.datasets:
            versions = sorted(
                (
                    describe_version(v, nodes.get(v))
                    for v in linked[dataset]
                    if kind_of(v) is Kind.DATASET_VERSION
                ),
                key=lambda v: (_created(v), v.id),
            )
            for before, after in pairwise(versions):
                if after.created_at not in self.window:
                    continue
                assert after.created_at is not None
                changes = schema_differences(dataset, before, after)
                if changes:
                    breaking = any(c.breaking for c in changes)
                    key = parse_id(dataset)
                    touched = [
                        make_id(Kind.FIELD, key.namespace, key.name, c.field) for c in changes
                    ]
                    suspects.append(
                        self._suspect(
                            SuspectKind.SCHEMA_CHANGE,
                            after.id,
                            dataset,
                            [before.id, after.id, *touched],
                            after.created_at,
                            f"{'breaking' if breaking else 'non-breaking'} schema change of "
                            f"{short_name(dataset)}: {_describe(changes)}",
                            SEVERITY[SuspectKind.SCHEMA_CHANGE]
                            if breaking
                            else NON_BREAKING_SEVERITY,
                            any(f in self.scope.columns for f in touched),
                            dataset in schema_diff,
                        )
                    )
                shift = _shift(before.row_count, after.row_count)
                if shift is not None and abs(shift) >= VOLUME_SHIFT_THRESHOLD:
                    suspects.append(
                        self._suspect(
                            SuspectKind.VOLUME_SHIFT,
                            after.id,
                            dataset,
                            [before.id, after.id],
                            after.created_at,
                            f"row count of {short_name(dataset)} went from {before.row_count:,} to "
                            f"{after.row_count:,} ({shift:+.0%})",
                            min(1.0, SEVERITY[SuspectKind.VOLUME_SHIFT] + abs(shift) / 2),
                            None,
                            dataset in changed_inputs and after.id in read,
                        )
                    )
        return suspects

    # failed runs and code changes --------------------------------------------------------

    def job_events(self) -> list[Suspect]:
        store = self.store
        # The runs of the window in history order (by start, else by end or state time:
        # member_stamp), after the run before them, whose code the first is compared with.
        window = self.window
        start = "" if window.start is None else format_time(window.start)
        requests = [HistoryRequest(job, start, format_time(window.end)) for job in self.jobs]
        runs_of = dict(zip(self.jobs, store.history_between(requests), strict=True))
        nodes = store.get(sorted({r for runs in runs_of.values() for _, r in runs}))
        code_diff = {c.job_id for c in self.diff.code_changes} if self.diff else set()
        suspects = []
        for job in self.jobs:
            previous: Node | None = None
            for stamp, run_id in runs_of[job]:
                node = nodes.get(run_id)
                if node is None:
                    continue
                at = _time(stamp)
                if at is not None and at in window:
                    state = str(node.attrs.get("state", ""))
                    if state in _FAILED_STATES:
                        error = node.attrs.get("error_message")
                        detail = f": {error}" if isinstance(error, str) and error else ""
                        suspects.append(
                            self._suspect(
                                SuspectKind.FAILED_RUN,
                                run_id,
                                job,
                                [run_id],
                                at,
                                f"run of {short_name(job)} ended {state}{detail}",
                                SEVERITY[SuspectKind.FAILED_RUN],
                                None,
                                run_id in self.new_runs,
                            )
                        )
                    old_code = previous.attrs.get("code_version") if previous else None
                    new_code = node.attrs.get("code_version")
                    if previous is not None and old_code and new_code and old_code != new_code:
                        suspects.append(
                            self._suspect(
                                SuspectKind.CODE_CHANGE,
                                run_id,
                                job,
                                [previous.id, run_id],
                                at,
                                f"{short_name(job)} ran code {new_code} (was {old_code})",
                                SEVERITY[SuspectKind.CODE_CHANGE],
                                None,
                                job in code_diff,
                            )
                        )
                previous = node
        return suspects

    # lineage changes ---------------------------------------------------------------------

    def lineage_changes(self) -> list[Suspect]:
        store = self.store
        entities = sorted(self.scope.hops)
        edges: dict[tuple[str, EdgeKind, str], tuple[Edge, str]] = {}
        for edge in store.edges(entities, _UP, FLOW_KINDS, self.window.end):
            first = _time(edge.first_seen)
            if first in self.window:
                edges[edge.key] = (edge, "ADDED")
        if self.window.start is not None:
            for edge in store.edges(entities, _UP, FLOW_KINDS, self.window.start):
                ended = _time(edge.ended_at) if edge.ended_at else None
                if ended in self.window:
                    edges[edge.key] = (edge, "ENDED")
        in_diff = set()
        if self.diff is not None:
            in_diff = {(c.source_id, c.kind, c.target_id) for c in self.diff.edge_changes}
        suspects = []
        for _key, (edge, change) in sorted(edges.items()):
            at = _time(edge.first_seen if change == "ADDED" else edge.ended_at)
            assert at is not None
            column = edge.kind is EdgeKind.DERIVES
            on_path = (
                edge.source_id in self.scope.columns or edge.target_id in self.scope.columns
                if column
                else None
            )
            suspects.append(
                self._suspect(
                    SuspectKind.LINEAGE_CHANGE,
                    f"{edge.source_id}>{edge.kind.value}>{edge.target_id}:{change}",
                    edge.target_id,
                    [edge.source_id, edge.target_id],
                    at,
                    f"{edge.kind.value} {short_name(edge.source_id)} -> "
                    f"{short_name(edge.target_id)} {'started' if change == 'ADDED' else 'ended'}",
                    SEVERITY[SuspectKind.LINEAGE_CHANGE],
                    on_path,
                    edge.key in in_diff,
                )
            )
        return suspects


def _shift(before: int | None, after: int | None) -> float | None:
    if before is None or after is None or before <= 0:
        return None
    return (after - before) / before


def _describe(changes: Sequence[SchemaDifference]) -> str:
    parts = []
    for change in changes:
        if change.change is ChangeKind.ADDED:
            parts.append(f"{change.field} added ({change.to_type})")
        elif change.change is ChangeKind.REMOVED:
            parts.append(f"{change.field} removed ({change.from_type})")
        else:
            parts.append(f"{change.field} {change.from_type} -> {change.to_type}")
    removed = [c for c in changes if c.change is ChangeKind.REMOVED]
    added = [c for c in changes if c.change is ChangeKind.ADDED]
    if len(removed) == 1 and len(added) == 1:
        parts.append(f"likely a rename of {removed[0].field} to {added[0].field}")
    return ", ".join(parts)
