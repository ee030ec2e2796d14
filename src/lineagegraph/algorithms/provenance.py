"""Provenance and provenance diff (ARCHITECTURE §4.4).

Provenance is the upstream closure at the exact versions that produced a model
version, a deployment (the versions it serves now) or a dataset version: the
runs that wrote each version, the versions those runs read, recursively, with
job code versions, training features and the check results that stood for each
dataset version. The diff of two provenances says what changed between, say, a
good model version and a regressed one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from lineagegraph.algorithms.traversal import Traversal, bfs
from lineagegraph.algorithms.types_compat import compare_nullability, compare_types, dialect_of
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, dataset_of, kind_of, make_id, parse_id
from lineagegraph.model import (
    Direction,
    EdgeKind,
    Node,
    format_time,
    parse_time,
    producing_run,
    time_stamp,
)
from lineagegraph.store.base import Hop, RunRequest, Store, VersionRequest

__all__ = [
    "ChangeKind",
    "CheckChange",
    "CheckOutcome",
    "CodeChange",
    "EdgeChange",
    "InputChange",
    "Provenance",
    "ProvenanceDiff",
    "ProvenanceFeature",
    "ProvenanceJob",
    "ProvenanceRun",
    "ProvenanceVersion",
    "SchemaDifference",
    "compare_provenance",
    "describe_version",
    "lifted_edges",
    "provenance",
    "provenance_diff",
    "schema_differences",
]


@dataclass(frozen=True)
class ProvenanceVersion:
    """A dataset or model version in the upstream closure."""

    id: str
    kind: Kind  # DATASET_VERSION or MODEL_VERSION
    entity_id: str  # the dataset or model it is a version of
    version: str
    created_at: datetime | None
    written_by: str | None  # the run that wrote it, when known
    row_count: int | None
    schema_fields: tuple[dict[str, Any], ...]
    depth: int  # runs between it and the subject (0 for the subject's own versions)


@dataclass(frozen=True)
class ProvenanceRun:
    """A run in the upstream closure: what it read and wrote, with which code."""

    id: str
    job_id: str
    state: str | None
    started_at: datetime | None
    ended_at: datetime | None
    code_version: str | None  # the run's own, else the job's
    read: tuple[str, ...]  # version ids
    wrote: tuple[str, ...]  # version ids
    depth: int


@dataclass(frozen=True)
class ProvenanceJob:
    """A job whose runs are in the closure, with the code versions they used."""

    id: str
    code_versions: tuple[str, ...]
    code_location: str | None
    runs: tuple[str, ...]


@dataclass(frozen=True)
class ProvenanceFeature:
    """A feature a model version was trained on, and what it is computed from."""

    id: str
    model_version_id: str
    computed_from: tuple[str, ...]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of a check that stood for a version in the closure."""

    check_id: str
    checked_id: str
    dataset_version_id: str
    result_id: str
    passed: bool
    observed_at: datetime
    evaluated: bool  # True: the result ran on this version; False: latest before it was read
    severity: str | None


@dataclass(frozen=True)
class Provenance:
    """The upstream closure at the exact versions that produced a subject."""

    subject_id: str
    subject_kind: Kind
    roots: tuple[str, ...]  # the subject's versions: itself, or what a deployment serves now
    versions: tuple[ProvenanceVersion, ...]
    runs: tuple[ProvenanceRun, ...]
    jobs: tuple[ProvenanceJob, ...]
    features: tuple[ProvenanceFeature, ...]
    checks: tuple[CheckOutcome, ...]
    edges: tuple[tuple[str, EdgeKind, str], ...]  # the edges crossed, sorted
    truncated: bool


class ChangeKind(StrEnum):
    """How an item differs between two provenances."""

    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"


@dataclass(frozen=True)
class InputChange:
    """A dataset or model read at different versions (or only on one side)."""

    entity_id: str
    change: ChangeKind
    from_versions: tuple[str, ...]
    to_versions: tuple[str, ...]


@dataclass(frozen=True)
class SchemaDifference:
    """A field added, removed or retyped between the versions the two sides read."""

    dataset_id: str
    from_version: str
    to_version: str
    field: str
    change: ChangeKind  # ADDED, REMOVED, or CHANGED (retyped or nullability)
    from_type: str | None
    to_type: str | None
    breaking: bool


@dataclass(frozen=True)
class CodeChange:
    """A job that ran with different code versions on the two sides."""

    job_id: str
    from_code_versions: tuple[str, ...]
    to_code_versions: tuple[str, ...]


@dataclass(frozen=True)
class CheckChange:
    """A check whose outcome differs: newly failing, recovered or failing differently."""

    check_id: str
    change: str  # NEW_FAILURE, RECOVERED or STILL_FAILING (failing on both, another result)
    from_result: str | None
    from_passed: bool | None
    to_result: str | None
    to_passed: bool | None


@dataclass(frozen=True)
class EdgeChange:
    """An upstream entity-level edge present on one side only."""

    source_id: str
    kind: EdgeKind
    target_id: str
    change: ChangeKind  # ADDED or REMOVED


@dataclass(frozen=True)
class ProvenanceDiff:
    """What differs between the provenance of two versions (e.g. good v2, regressed v3)."""

    from_id: str
    to_id: str
    inputs: tuple[InputChange, ...]
    schema_changes: tuple[SchemaDifference, ...]
    code_changes: tuple[CodeChange, ...]
    check_changes: tuple[CheckChange, ...]
    edge_changes: tuple[EdgeChange, ...]


# --- provenance -------------------------------------------------------------------------------

_DOWN, _UP = Direction.DOWNSTREAM, Direction.UPSTREAM
_SUBJECT_KINDS = (Kind.MODEL_VERSION, Kind.DEPLOYMENT, Kind.DATASET_VERSION)
DEFAULT_MAX_NODES = 20_000  # versions and runs in one closure before it is truncated


def provenance(
    store: Store,
    entity_id: str,
    *,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    timeout: float | None = None,
) -> Provenance:
    """The provenance of a model version, deployment or dataset version.

    The closure follows WROTE back to the run that wrote a version and READ_BY
    back to the versions that run read, recursively; a deployment starts from the
    model versions it serves now. A feature has no versions, so it stands in the
    closure as one would: a run that read it (listed it among its inputs, or was
    linked through it to the data it is computed from) READ_BY the feature, the
    feature is COMPUTED_FROM the versions read through it, and the run that
    computed it — the latest COMPLETE run of a job that writes it, ended by the
    time the reader started — WROTE it; a model version without a recorded
    training run reads its TRAINED_ON features at its creation, and of the tables
    (or columns) it was TRAINED_ON the versions that were the latest then. Each run brings
    its job and code version (the run's own, else the job's); each model version
    the features it was TRAINED_ON when it was created and what they are
    COMPUTED_FROM; each dataset version the outcome of every check on its dataset
    or fields: the latest result that ran on that version (EVALUATED it, else named
    it as ``dataset_version``, else named none and was observed when it was its
    dataset's latest version), else the latest result observed before the first run
    in the closure read it. ``truncated`` says
    ``max_nodes`` or ``timeout`` (seconds) stopped the closure.

    Raises :class:`InvalidInput` for another kind of id and :class:`NotFound` for
    an entity that does not exist.
    """
    kind = kind_of(entity_id)
    if kind not in _SUBJECT_KINDS:
        names = ", ".join(k.value for k in _SUBJECT_KINDS)
        raise InvalidInput(f"provenance is defined for {names}, not {kind.value}")
    if not store.kinds([entity_id]):
        raise NotFound(f"no entity with id {entity_id!r}")
    if kind is Kind.DEPLOYMENT:
        roots = sorted({h.target for h in store.expand([entity_id], _UP, [EdgeKind.SERVES])})
    else:
        roots = [entity_id]
    closure = bfs(
        store,
        roots,
        _UP,
        [EdgeKind.WROTE, EdgeKind.READ_BY],
        max_nodes=max_nodes,
        timeout=timeout,
        expand=_Upstream(store),
    )
    version_ids = sorted(
        i for i in closure.reached if kind_of(i) in (Kind.DATASET_VERSION, Kind.MODEL_VERSION)
    )
    run_ids = sorted(i for i in closure.reached if kind_of(i) is Kind.RUN)
    nodes = store.get([*version_ids, *run_ids])
    reads = _neighbours(store, run_ids, EdgeKind.READ_BY, _UP)
    writes = _neighbours(store, run_ids, EdgeKind.WROTE, _DOWN)
    writers = _neighbours(store, version_ids, EdgeKind.WROTE, _UP)
    jobs_of = _neighbours(store, run_ids, EdgeKind.HAS_RUN, _UP)
    job_nodes = store.get(sorted({j for js in jobs_of.values() for j in js}))
    edges: set[tuple[str, EdgeKind, str]] = set()
    for hop in closure.hops:  # upstream hops: source is the later entity
        edges.add((hop.target, hop.kind, hop.source))
    runs: list[ProvenanceRun] = []
    for run_id in run_ids:
        node = nodes.get(run_id)
        attrs = node.attrs if node else {}
        job = jobs_of[run_id][0] if jobs_of[run_id] else _job_of_run(run_id)
        job_attrs = job_nodes[job].attrs if job in job_nodes else {}
        code = attrs.get("code_version") or job_attrs.get("code_version")
        runs.append(
            ProvenanceRun(
                id=run_id,
                job_id=job,
                state=_text(attrs.get("state")),
                started_at=_time(attrs.get("started_at")),
                ended_at=_time(attrs.get("ended_at")),
                code_version=_text(code),
                read=reads[run_id],
                wrote=writes[run_id],
                depth=_reads(closure, run_id),
            )
        )
        if jobs_of[run_id]:
            edges.add((job, EdgeKind.HAS_RUN, run_id))
    versions = [
        describe_version(
            version_id,
            nodes.get(version_id),
            _producer_first(writers[version_id], nodes),
            _reads(closure, version_id),
        )
        for version_id in version_ids
    ]
    jobs = _jobs(runs, job_nodes)
    features, feature_edges = _features(
        store, [v for v in versions if v.kind is Kind.MODEL_VERSION]
    )
    edges.update(feature_edges)
    checks = _checks(store, [v for v in versions if v.kind is Kind.DATASET_VERSION], runs)
    return Provenance(
        subject_id=entity_id,
        subject_kind=kind,
        roots=tuple(roots),
        versions=tuple(versions),
        runs=tuple(runs),
        jobs=tuple(jobs),
        features=tuple(features),
        checks=tuple(checks),
        edges=tuple(sorted(edges)),
        truncated=closure.truncated,
    )


def _producer_first(writers: tuple[str, ...], nodes: Mapping[str, Node]) -> tuple[str, ...]:
    """The runs that wrote a version, the one that produced it first (a retry's
    COMPLETE run before the attempt that failed)."""
    producer = producing_run(nodes[w] for w in writers if w in nodes)
    if producer is None:
        return writers
    return (producer.id, *(w for w in writers if w != producer.id))


def _reads(closure: Traversal, node_id: str) -> int:
    """The reads between a node of the closure and its root: the runs on the way, the
    node itself included, and a model version's read of a table it was trained on at
    its creation, without a run."""
    count = 0
    for later, earlier in pairwise(closure.path_to(node_id)):
        if kind_of(earlier) is Kind.RUN or (
            kind_of(later) is Kind.MODEL_VERSION and kind_of(earlier) is Kind.DATASET_VERSION
        ):
            count += 1
    return count


class _Upstream:
    """One upstream step of a provenance closure for a whole frontier (a bfs expander).

    Versions step to the runs that wrote them, runs to the versions and features they
    read, features to the versions read through them and to the runs that computed
    them. The runs that computed a feature depend on when it was read, so they are
    found as its readers are expanded and kept until the feature is.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.computed_by: dict[str, set[str]] = defaultdict(set)  # feature -> runs
        self.read_through: dict[str, set[str]] = defaultdict(set)  # feature -> versions

    def __call__(self, frontier: Sequence[str]) -> list[Hop]:
        store = self.store
        versions = [i for i in frontier if kind_of(i) in (Kind.DATASET_VERSION, Kind.MODEL_VERSION)]
        runs = [i for i in frontier if kind_of(i) is Kind.RUN]
        hops = store.expand(versions, _UP, [EdgeKind.WROTE]) if versions else []
        # reader (a run, or a model version without one) -> features read, when it read
        features: dict[str, set[str]] = defaultdict(set)
        if runs:
            for edge in store.edges(runs, _UP, [EdgeKind.READ_BY]):
                through = edge.attrs.get("through")
                if isinstance(through, str) and through.startswith("feature|"):
                    features[edge.target_id].add(through)
                    self.read_through[through].add(edge.source_id)
                else:
                    hops.append(Hop(edge.target_id, EdgeKind.READ_BY, edge.source_id))
        written = {h.source for h in hops}
        untrained = [v for v in versions if kind_of(v) is Kind.MODEL_VERSION and v not in written]
        nodes = store.get([*runs, *untrained])
        read_at: dict[str, str] = {}
        for run_id in runs:
            attrs = nodes[run_id].attrs if run_id in nodes else {}
            listed = attrs.get("inputs")
            if isinstance(listed, list):
                features[run_id].update(
                    i for i in listed if isinstance(i, str) and i.startswith("feature|")
                )
            read_at[run_id] = time_stamp(attrs.get("started_at")) or time_stamp(
                attrs.get("ended_at")
            )
        trained_on: list[tuple[str, str]] = []  # (model version, dataset) read at creation
        for version_id in untrained:
            created = nodes[version_id].attrs.get("created_at") if version_id in nodes else None
            as_of = _time(created)
            for hop in store.expand([version_id], _UP, [EdgeKind.TRAINED_ON], as_of):
                if kind_of(hop.target) is Kind.FEATURE:
                    features[version_id].add(hop.target)
                elif kind_of(hop.target) in (Kind.DATASET, Kind.FIELD) and as_of is not None:
                    trained_on.append((version_id, dataset_of(hop.target)))
            read_at[version_id] = time_stamp(created)
        # A model version trained on a table without a recorded run read the table's
        # version that was the latest when it was created.
        trained_on = sorted(set(trained_on))
        latest = store.latest_versions(
            [VersionRequest(dataset, read_at[version]) for version, dataset in trained_on]
        )
        for (version_id, _), found in zip(trained_on, latest, strict=True):
            if found is not None:
                hops.append(Hop(version_id, EdgeKind.TRAINED_ON, found[1]))
        for reader in sorted(features):
            kind = EdgeKind.READ_BY if kind_of(reader) is Kind.RUN else EdgeKind.TRAINED_ON
            hops.extend(Hop(reader, kind, f) for f in sorted(features[reader]))
        wanted = [(f, read_at[r]) for r in sorted(features) for f in sorted(features[r])]
        for feature, run_id in _computing_runs(store, wanted):
            self.computed_by[feature].add(run_id)
        for feature in (i for i in frontier if kind_of(i) is Kind.FEATURE):
            hops.extend(Hop(feature, EdgeKind.WROTE, r) for r in sorted(self.computed_by[feature]))
            hops.extend(
                Hop(feature, EdgeKind.COMPUTED_FROM, v) for v in sorted(self.read_through[feature])
            )
        return hops


def _computing_runs(store: Store, wanted: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """For each (feature, time it was read), the run that computed what was read: the
    latest COMPLETE run, by its end, of a job that writes (or wrote) the feature that
    started and ended by then. A read at an unknown time ("") takes the latest.

    A run that started long before others may end after them all, so every run of
    those jobs counts: the store picks the one (:meth:`Store.last_completed_runs`).
    """
    if not wanted:
        return []
    features = sorted({f for f, _ in wanted})
    writers: dict[str, set[str]] = defaultdict(set)
    for edge in store.edges(features, _UP, [EdgeKind.WRITES], include_ended=True):
        if kind_of(edge.source_id) is Kind.JOB:
            writers[edge.target_id].add(edge.source_id)
    asked = sorted({(f, at) for f, at in wanted if writers[f]})
    answers = store.last_completed_runs(
        [RunRequest(tuple(sorted(writers[f])), at) for f, at in asked]
    )
    return [(f, found[1]) for (f, _), found in zip(asked, answers, strict=True) if found]


def _neighbours(
    store: Store,
    ids: Sequence[str],
    kind: EdgeKind,
    direction: Direction,
    as_of: datetime | None = None,
) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = {i: set() for i in ids}
    for hop in store.expand(ids, direction, [kind], as_of):
        found[hop.source].add(hop.target)
    return {i: tuple(sorted(t)) for i, t in found.items()}


def _job_of_run(run_id: str) -> str:
    key = parse_id(run_id)
    return make_id(Kind.JOB, key.namespace, key.name)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str | datetime) or value == "":
        return None
    try:
        return parse_time(value)
    except InvalidInput:
        return None


def describe_version(
    version_id: str, node: Node | None, writers: tuple[str, ...] = (), depth: int = 0
) -> ProvenanceVersion:
    """A dataset or model version as provenance reports it, from its stored node."""
    key = parse_id(version_id)
    attrs = node.attrs if node else {}
    owner = Kind.DATASET if key.kind is Kind.DATASET_VERSION else Kind.MODEL
    schema = attrs.get("schema_fields")
    rows = attrs.get("row_count")
    return ProvenanceVersion(
        id=version_id,
        kind=key.kind,
        entity_id=make_id(owner, key.namespace, key.name),
        version=key.parts[0],
        created_at=_time(attrs.get("created_at")),
        written_by=writers[0] if writers else None,
        row_count=rows if isinstance(rows, int) else None,
        schema_fields=tuple(f for f in schema if isinstance(f, dict))
        if isinstance(schema, list)
        else (),
        depth=depth,
    )


def _jobs(runs: Sequence[ProvenanceRun], job_nodes: Mapping[str, Node]) -> list[ProvenanceJob]:
    by_job: dict[str, list[ProvenanceRun]] = defaultdict(list)
    for run in runs:
        by_job[run.job_id].append(run)
    jobs = []
    for job_id in sorted(by_job):
        node = job_nodes.get(job_id)
        jobs.append(
            ProvenanceJob(
                id=job_id,
                code_versions=tuple(
                    sorted({r.code_version for r in by_job[job_id] if r.code_version})
                ),
                code_location=_text(node.attrs.get("code_location")) if node else None,
                runs=tuple(r.id for r in by_job[job_id]),
            )
        )
    return jobs


def _features(
    store: Store, model_versions: Sequence[ProvenanceVersion]
) -> tuple[list[ProvenanceFeature], set[tuple[str, EdgeKind, str]]]:
    """What each model version was trained on when it was created (current if unknown)."""
    features: list[ProvenanceFeature] = []
    edges: set[tuple[str, EdgeKind, str]] = set()
    for version in model_versions:
        trained = _neighbours(store, [version.id], EdgeKind.TRAINED_ON, _UP, version.created_at)
        inputs = trained[version.id]
        edges.update((i, EdgeKind.TRAINED_ON, version.id) for i in inputs)
        feature_ids = [i for i in inputs if kind_of(i) is Kind.FEATURE]
        sources = _neighbours(store, feature_ids, EdgeKind.COMPUTED_FROM, _UP, version.created_at)
        for feature_id in feature_ids:
            edges.update((s, EdgeKind.COMPUTED_FROM, feature_id) for s in sources[feature_id])
            features.append(
                ProvenanceFeature(
                    id=feature_id, model_version_id=version.id, computed_from=sources[feature_id]
                )
            )
    return features, edges


def _checks(
    store: Store, versions: Sequence[ProvenanceVersion], runs: Sequence[ProvenanceRun]
) -> list[CheckOutcome]:
    """The outcome of every check on the datasets of these versions, per version."""
    if not versions:
        return []
    first_read: dict[str, datetime] = {}
    for run in runs:
        if run.started_at is None:
            continue
        for version_id in run.read:
            if version_id not in first_read or run.started_at < first_read[version_id]:
                first_read[version_id] = run.started_at
    datasets = sorted({v.entity_id for v in versions})
    fields = _neighbours(store, datasets, EdgeKind.HAS_FIELD, _DOWN)
    checked = sorted({*datasets, *(f for fs in fields.values() for f in fs)})
    checks_on = _neighbours(store, checked, EdgeKind.HAS_CHECK, _DOWN)
    check_target = {c: target for target in checked for c in checks_on[target]}
    check_ids = sorted(check_target)
    check_nodes = store.get(check_ids)
    results_of = _neighbours(store, check_ids, EdgeKind.HAS_RESULT, _DOWN)
    result_ids = sorted({r for rs in results_of.values() for r in rs})
    result_nodes = store.get(result_ids)
    evaluated = _neighbours(store, result_ids, EdgeKind.EVALUATED, _DOWN)
    # A result that names no version ran on the latest version of its dataset created
    # by the time it was observed, as the cascade reads it.
    linked = _neighbours(store, datasets, EdgeKind.HAS_VERSION, _DOWN)
    all_versions = sorted(
        {v for vs in linked.values() for v in vs if kind_of(v) is Kind.DATASET_VERSION}
    )
    all_nodes = store.get(all_versions)
    created = {v: describe_version(v, all_nodes.get(v)).created_at for v in all_versions}
    outcomes: list[CheckOutcome] = []
    for version in versions:
        for check_id in check_ids:
            if dataset_of(check_id) != version.entity_id:
                continue
            results = []
            for result_id in results_of[check_id]:
                node = result_nodes.get(result_id)
                observed_at = _time(node.attrs.get("observed_at")) if node else None
                if node is None or observed_at is None:
                    continue
                named = node.attrs.get("dataset_version")
                if evaluated[result_id]:
                    ran_on = version.id in evaluated[result_id]
                elif isinstance(named, str) and named in created:
                    ran_on = named == version.id
                else:
                    earlier = [
                        (at, v)
                        for v in linked[version.entity_id]
                        if (at := created.get(v)) is not None and at <= observed_at
                    ]
                    ran_on = bool(earlier) and max(earlier)[1] == version.id
                results.append((ran_on, observed_at, result_id, node))
            own = [r for r in results if r[0]]
            cutoff = first_read.get(version.id)
            if own:
                chosen, evaluated_here = max(own, key=lambda r: (r[1], r[2])), True
            elif cutoff is not None and (before := [r for r in results if r[1] <= cutoff]):
                chosen, evaluated_here = max(before, key=lambda r: (r[1], r[2])), False
            else:
                continue
            check_node = check_nodes.get(check_id)
            outcomes.append(
                CheckOutcome(
                    check_id=check_id,
                    checked_id=check_target[check_id],
                    dataset_version_id=version.id,
                    result_id=chosen[2],
                    passed=bool(chosen[3].attrs.get("passed", False)),
                    observed_at=chosen[1],
                    evaluated=evaluated_here,
                    severity=_text(check_node.attrs.get("severity")) if check_node else None,
                )
            )
    return sorted(outcomes, key=lambda o: (o.dataset_version_id, o.check_id))


# --- provenance diff --------------------------------------------------------------------------


def provenance_diff(
    store: Store,
    from_id: str,
    to_id: str,
    *,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    timeout: float | None = None,
) -> ProvenanceDiff:
    """What differs between the provenance of two subjects (e.g. good v2, regressed v3).

    Inputs: datasets and models read at other versions, or on one side only (the
    subjects' own versions excluded). Schema: for each dataset read on both
    sides, the fields added, removed or retyped between the latest version each
    side read (for two versions of one table, between those two versions),
    classified with the type-compatibility table of
    :mod:`lineagegraph.algorithms.types_compat`. Code: jobs that ran with other
    code versions. Checks: failing on the new side only (NEW_FAILURE), on the
    old side only (RECOVERED), or on both with another result (STILL_FAILING).
    Edges: the closure's edges lifted to entities (a version to its dataset or
    model, a run to its job), present on one side only. ``max_nodes`` and ``timeout``
    bound each side's closure as in :func:`provenance`.
    """
    if from_id == to_id:
        raise InvalidInput("a provenance diff needs two different entities")
    return compare_provenance(
        provenance(store, from_id, max_nodes=max_nodes, timeout=timeout),
        provenance(store, to_id, max_nodes=max_nodes, timeout=timeout),
    )


def compare_provenance(old: Provenance, new: Provenance) -> ProvenanceDiff:
    """The diff of two provenances already computed (see :func:`provenance_diff`)."""
    return ProvenanceDiff(
        from_id=old.subject_id,
        to_id=new.subject_id,
        inputs=tuple(_input_changes(old, new)),
        schema_changes=tuple(_schema_changes(old, new)),
        code_changes=tuple(_code_changes(old, new)),
        check_changes=tuple(_check_changes(old, new)),
        edge_changes=tuple(_edge_changes(old, new)),
    )


def _inputs(side: Provenance) -> dict[str, tuple[str, ...]]:
    roots = set(side.roots)
    found: dict[str, set[str]] = defaultdict(set)
    for version in side.versions:
        if version.id not in roots:
            found[version.entity_id].add(version.id)
    return {entity: tuple(sorted(ids)) for entity, ids in found.items()}


def _input_changes(old: Provenance, new: Provenance) -> list[InputChange]:
    before, after = _inputs(old), _inputs(new)
    changes = []
    for entity in sorted(set(before) | set(after)):
        a, b = before.get(entity, ()), after.get(entity, ())
        if a == b:
            continue
        change = ChangeKind.ADDED if not a else ChangeKind.REMOVED if not b else ChangeKind.CHANGED
        changes.append(InputChange(entity, change, a, b))
    return changes


def _latest_versions(side: Provenance) -> dict[str, ProvenanceVersion]:
    latest: dict[str, ProvenanceVersion] = {}
    roots = set(side.roots)
    for version in side.versions:
        if version.kind is not Kind.DATASET_VERSION or version.id in roots:
            continue
        current = latest.get(version.entity_id)
        if current is None or _order(version) > _order(current):
            latest[version.entity_id] = version
    return latest


def _order(version: ProvenanceVersion) -> tuple[str, str]:
    created = "" if version.created_at is None else format_time(version.created_at)
    return (created, version.id)


def schema_differences(
    dataset_id: str, old: ProvenanceVersion, new: ProvenanceVersion
) -> list[SchemaDifference]:
    """Fields added, removed or retyped (type or nullability) between two versions."""
    dialect = dialect_of(parse_id(dataset_id).namespace)
    before = {str(f.get("path") or f.get("name")): f for f in old.schema_fields}
    after = {str(f.get("path") or f.get("name")): f for f in new.schema_fields}
    changes = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a is None and b is not None:
            changes.append(
                SchemaDifference(
                    dataset_id,
                    old.id,
                    new.id,
                    path,
                    ChangeKind.ADDED,
                    None,
                    _text(b.get("type")),
                    False,
                )
            )
        elif b is None and a is not None:
            changes.append(
                SchemaDifference(
                    dataset_id,
                    old.id,
                    new.id,
                    path,
                    ChangeKind.REMOVED,
                    _text(a.get("type")),
                    None,
                    True,
                )
            )
        elif a is not None and b is not None:
            old_type, new_type = _text(a.get("type")), _text(b.get("type"))
            old_null, new_null = a.get("nullable"), b.get("nullable")
            type_changed = old_type != new_type and new_type is not None
            null_changed = isinstance(new_null, bool) and new_null != old_null
            if not type_changed and not null_changed:
                continue
            breaking = (type_changed and compare_types(old_type, new_type, dialect).breaking) or (
                null_changed
                and compare_nullability(
                    old_null if isinstance(old_null, bool) else None,
                    new_null if isinstance(new_null, bool) else None,
                ).breaking
            )
            changes.append(
                SchemaDifference(
                    dataset_id,
                    old.id,
                    new.id,
                    path,
                    ChangeKind.CHANGED,
                    old_type,
                    new_type,
                    breaking,
                )
            )
    return changes


def _subjects(side: Provenance) -> dict[str, ProvenanceVersion]:
    roots = set(side.roots)
    return {
        v.entity_id: v for v in side.versions if v.id in roots and v.kind is Kind.DATASET_VERSION
    }


def _schema_changes(old: Provenance, new: Provenance) -> list[SchemaDifference]:
    before, after = _latest_versions(old), _latest_versions(new)
    # Two versions of one table compared: their own schemas first of all.
    before.update(_subjects(old))
    after.update(_subjects(new))
    changes: list[SchemaDifference] = []
    for dataset in sorted(set(before) & set(after)):
        if before[dataset].id != after[dataset].id:
            changes.extend(schema_differences(dataset, before[dataset], after[dataset]))
    return changes


def _code_changes(old: Provenance, new: Provenance) -> list[CodeChange]:
    before = {j.id: j.code_versions for j in old.jobs}
    after = {j.id: j.code_versions for j in new.jobs}
    return [
        CodeChange(job, before[job], after[job])
        for job in sorted(set(before) & set(after))
        if before[job] != after[job]
    ]


def _failures(side: Provenance) -> dict[str, CheckOutcome]:
    """Per check, the outcome that stands for the side: the latest failure, else the latest."""
    chosen: dict[str, CheckOutcome] = {}
    for outcome in side.checks:
        current = chosen.get(outcome.check_id)
        rank = (not outcome.passed, outcome.observed_at, outcome.result_id)
        if current is None or rank > (not current.passed, current.observed_at, current.result_id):
            chosen[outcome.check_id] = outcome
    return chosen


def _check_changes(old: Provenance, new: Provenance) -> list[CheckChange]:
    before, after = _failures(old), _failures(new)
    changes = []
    for check in sorted(set(before) | set(after)):
        a, b = before.get(check), after.get(check)
        failed_before = a is not None and not a.passed
        failed_after = b is not None and not b.passed
        if failed_after and not failed_before:
            change = "NEW_FAILURE"
        elif failed_before and not failed_after:
            change = "RECOVERED"
        elif (
            failed_before
            and failed_after
            and a is not None
            and b is not None
            and a.result_id != b.result_id
        ):
            change = "STILL_FAILING"
        else:
            continue
        changes.append(
            CheckChange(
                check_id=check,
                change=change,
                from_result=a.result_id if a else None,
                from_passed=a.passed if a else None,
                to_result=b.result_id if b else None,
                to_passed=b.passed if b else None,
            )
        )
    return changes


def lifted_edges(side: Provenance) -> set[tuple[str, EdgeKind, str]]:
    """The closure's edges lifted to entities: versions to datasets or models, runs to jobs."""
    job_of = {r.id: r.job_id for r in side.runs}

    def entity(entity_id: str) -> str:
        kind = kind_of(entity_id)
        if kind is Kind.RUN:
            return job_of.get(entity_id, _job_of_run(entity_id))
        if kind in (Kind.DATASET_VERSION, Kind.MODEL_VERSION):
            key = parse_id(entity_id)
            owner = Kind.DATASET if kind is Kind.DATASET_VERSION else Kind.MODEL
            return make_id(owner, key.namespace, key.name)
        return entity_id

    lifted = {
        EdgeKind.READ_BY: EdgeKind.READS,
        EdgeKind.WROTE: EdgeKind.WRITES,
        EdgeKind.TRAINED_ON: EdgeKind.TRAINED_ON,
        EdgeKind.COMPUTED_FROM: EdgeKind.COMPUTED_FROM,
    }
    return {
        (entity(source), lifted[kind], entity(target))
        for source, kind, target in side.edges
        if kind in lifted
    }


def _edge_changes(old: Provenance, new: Provenance) -> list[EdgeChange]:
    before, after = lifted_edges(old), lifted_edges(new)
    added = [EdgeChange(s, k, t, ChangeKind.ADDED) for s, k, t in sorted(after - before)]
    removed = [EdgeChange(s, k, t, ChangeKind.REMOVED) for s, k, t in sorted(before - after)]
    return sorted(added + removed, key=lambda e: (e.source_id, e.kind, e.target_id, e.change))
