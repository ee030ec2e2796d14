"""LineageService: the one entry point that the API and the CLI use.

It validates and applies ChangeSets through the store port, turns job snapshots
into edge endings (so an edge that a job's latest run no longer reports stops
being current), and reads through the port.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from lineagegraph.algorithms import cascade as cascade_analysis
from lineagegraph.algorithms import impact as impact_analysis
from lineagegraph.algorithms import lineage as lineage_analysis
from lineagegraph.algorithms import provenance as provenance_analysis
from lineagegraph.algorithms import rootcause as rootcause_analysis
from lineagegraph.algorithms.cascade import CascadeReport, HealthRepair
from lineagegraph.algorithms.impact import ImpactReport, SchemaChange
from lineagegraph.algorithms.lineage import LineageResult
from lineagegraph.algorithms.provenance import Provenance, ProvenanceDiff
from lineagegraph.algorithms.rootcause import RootCauseReport
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, NotFound, StoreUnavailable
from lineagegraph.ids import Kind, dataset_of, kind_of, make_id, parse_id
from lineagegraph.model import (
    RUN_STATE_RANK,
    ChangeSet,
    DatasetVersion,
    Direction,
    Edge,
    EdgeEnding,
    EdgeKind,
    HealthRecord,
    HealthStatus,
    JobSnapshot,
    ModelVersion,
    Node,
    Origin,
    Page,
    RunState,
    SchemaSnapshot,
    as_utc,
    format_time,
    parse_time,
)
from lineagegraph.store import open_store
from lineagegraph.store.base import (
    NO_FILTER,
    ApplyResult,
    SearchFilter,
    Store,
    StoreStats,
    VersionRequest,
    encode_cursor,
)

# How far along a run each state is (see LineageService.keep_run_states).
_STATE_RANK = RUN_STATE_RANK

# Called after a changeset was applied, with the service and what it changed (see
# LineageService.apply); derived state (health) hooks in here.
AfterApply = Callable[["LineageService", ChangeSet], None]


# Later than any stored time (they end before the year 9999): "the latest there is".
_END_OF_TIME = "9999-12-31T23:59:59.999999Z"


def _is_id(text: str) -> bool:
    try:
        parse_id(text)
    except InvalidInput:
        return False
    return True


def _passes(node: Node, filters: SearchFilter) -> bool:
    """Whether a node passes search filters, as the stores apply them."""
    attrs = node.attrs
    return (
        (not filters.kinds or node.kind in filters.kinds)
        and (not filters.namespace or node.namespace == filters.namespace)
        and (not filters.owner or filters.owner in (attrs.get("owners") or ()))
        and (not filters.tag or filters.tag in (attrs.get("tags") or ()))
    )


_READ = (EdgeKind.READ_BY,)
_FIELDS = (EdgeKind.HAS_FIELD,)
# What a run writes that becomes a version of something when the run completes.
_WRITTEN_VERSIONS = frozenset({Kind.DATASET_VERSION, Kind.MODEL_VERSION})
_CHECKS = (EdgeKind.HAS_CHECK,)


def _first_time(attrs: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The first of these attributes that holds a time, as a stored timestamp."""
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str):
            try:
                return format_time(parse_time(value))
            except (InvalidInput, OverflowError):
                continue
    return None


def _start_of(attrs: Mapping[str, Any]) -> str | None:
    """When a run started, as a stored timestamp: its ``started_at``, else the time its
    state was reported, else its end; ``None`` when it has none that parses."""
    return _first_time(attrs, ("started_at", "state_at", "ended_at"))


def _stated_runs(changeset: ChangeSet) -> list[str]:
    """The runs whose state the changeset reports, in order."""
    return sorted({n.id for n in changeset.nodes if n.kind is Kind.RUN and "state" in n.attrs})


def _end_of(attrs: Mapping[str, Any]) -> str | None:
    """When a run ended, as a stored timestamp: its ``ended_at``, else the time its state
    was reported; ``None`` when it has none that parses."""
    return _first_time(attrs, ("ended_at", "state_at"))


def _owner_of(version_id: str) -> str:
    """The dataset or model a dataset or model version is a version of."""
    key = parse_id(version_id)
    owner = Kind.DATASET if key.kind is Kind.DATASET_VERSION else Kind.MODEL
    return make_id(owner, key.namespace, key.name)


def _retraction(edge: Edge) -> EdgeEnding:
    """The ending that takes back an inferred edge: it never was current."""
    return EdgeEnding(
        source_id=edge.source_id,
        kind=edge.kind,
        target_id=edge.target_id,
        at=edge.first_seen,
        retract=True,
    )


def _once(source: str, kind: EdgeKind, target: str, stamp: str, origin: Origin) -> Edge:
    """An edge seen once, at a stored timestamp."""
    return Edge(
        source_id=source,
        kind=kind,
        target_id=target,
        origin=origin,
        first_seen=stamp,
        last_seen=stamp,
    )


def _inferred_read(version: str, run: str, start: str, through: str | None = None) -> Edge:
    """The ``READ_BY`` edge of a read the service worked out: the run read this version
    when it started (``through`` names the feature it was read through)."""
    return Edge(
        source_id=version,
        kind=EdgeKind.READ_BY,
        target_id=run,
        origin=Origin.INFERRED,
        first_seen=start,
        last_seen=start,
        attrs={"through": through} if through else {},
    )


class LineageService:
    """Applies changes and answers questions over one store."""

    def __init__(
        self, store: Store, settings: Settings | None = None, *, reconcile_health: bool = True
    ) -> None:
        self.store = store
        self.settings = settings if settings is not None else Settings()
        self._write_lock = threading.RLock()
        self._writers = 0  # how deep this process's writer holds the store's writer lock
        self._closed = False
        self._after_apply: list[AfterApply] = []
        # Health is derived state, kept up to date by a hook after every write (§4.3).
        # A crash between a write and its health update would leave health stale, so a
        # new service reconciles stored health with a full recomputation first, unless
        # the store was last closed cleanly by a service under the same health rules.
        settled = reconcile_health and (
            store.settled_health() == cascade_analysis.health_rules_fingerprint()
        )
        self._health_dirty = reconcile_health and not settled
        self.on_apply(_maintain_health)
        if self._health_dirty:
            with contextlib.suppress(StoreUnavailable):
                self.recompute_health()  # else retried by the next write or health read

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Write as the one writer: this process's lock, then the store's writer lock
        (which serializes replicas sharing a store), taken once however deep the nesting."""
        with self._write_lock:
            outermost = self._writers == 0
            with self.store.writer() if outermost else contextlib.nullcontext():
                self._writers += 1
                try:
                    yield
                finally:
                    self._writers -= 1

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> LineageService:
        """A service over the store that a URL names (see :func:`open_store`)."""
        return cls(open_store(url, create=create))

    def close(self) -> None:
        """Close the store; when stored health is known to be up to date, say so to the
        store first, so the next service over it need not recompute it. Closing again
        does nothing."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            if not self._health_dirty:
                with contextlib.suppress(StoreUnavailable):
                    self.store.settle_health(cascade_analysis.health_rules_fingerprint())
            self.store.close()

    def on_apply(self, hook: AfterApply) -> None:
        """Register a hook that runs after every applied changeset, under the write lock."""
        self._after_apply.append(hook)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changeset: ChangeSet) -> ApplyResult:
        """Resolve job snapshots, apply atomically, then update derived state.

        The hooks see what the store says changed (``ApplyResult.changes``), else
        the whole changeset: derived state depends only on what reads can see.
        """
        with self._writing():
            stored = self.store.get(_stated_runs(changeset))
            kept = self.complete_writes(self.keep_run_states(changeset, stored), stored)
            resolved = self.resolve_snapshots(self.resolve_reads(kept))
            result = self.store.apply(resolved)
            applied = resolved if result.changes is None else result.changes
            for hook in self._after_apply:
                hook(self, applied)
            return result

    def keep_run_states(
        self, changeset: ChangeSet, stored: Mapping[str, Node] | None = None
    ) -> ChangeSet:
        """Drop run state updates that would move a run backwards.

        A run's state only moves forward (START, then RUNNING, then COMPLETE, FAIL or
        ABORT); between states of the same rank the later ``state_at`` (when the state
        was reported) wins. So an out-of-order START cannot undo a COMPLETE, whatever
        order events arrive or are batched in. A dropped update keeps its other
        attributes (a late START still records ``started_at``). ``stored`` holds the
        stored runs of the changeset's run states, when the caller read them already.
        """
        runs = _stated_runs(changeset)
        if not runs:
            return changeset
        best: dict[str, tuple[int, str]] = {}
        for run_id, node in (self.store.get(runs) if stored is None else stored).items():
            rank = _STATE_RANK.get(str(node.attrs.get("state")))
            if rank is not None:
                best[run_id] = (rank, str(node.attrs.get("state_at", "")))
        nodes = list(changeset.nodes)
        kept = True
        for index, node in enumerate(nodes):
            if node.kind is Kind.RUN and "state" in node.attrs:
                reported = (
                    _STATE_RANK.get(str(node.attrs["state"]), -1),
                    str(node.attrs.get("state_at", "")),
                )
                current = best.get(node.id)
                if current is not None and reported < current:
                    dropped = ("state", "state_at", "ended_at")
                    attrs = {k: v for k, v in node.attrs.items() if k not in dropped}
                    nodes[index] = node.model_copy(update={"attrs": attrs})
                    kept = False
                else:
                    best[node.id] = reported
        return changeset if kept else changeset.model_copy(update={"nodes": nodes})

    def complete_writes(
        self, changeset: ChangeSet, stored: Mapping[str, Node] | None = None
    ) -> ChangeSet:
        """Make the versions a run was writing versions of their datasets (or models,
        for a training run) once it completes.

        An OpenLineage START, RUNNING, FAIL, ABORT or OTHER event only records the
        version its run is writing (``WROTE``): readers go on reading the version
        before it, and the output of a run that fails or is aborted never becomes a
        version of its dataset, nor a failed training run's a version of its model.
        When the run completes, each version it wrote gets its ``HAS_VERSION`` edge
        (and ``created_at``, the run's end), seen from when the run was first recorded
        writing it (its START, for a table written in one go): readers that started
        since read it. That holds for the versions its COMPLETE
        event lists, for those only its earlier events listed (a COMPLETE that carries
        no outputs), and for those a late event records for a run completed already.
        ``stored`` holds the stored runs of the changeset's run states, when the caller
        read them already.
        """
        reported: dict[str, dict[str, Any]] = {}
        for node in changeset.nodes:
            if node.kind is Kind.RUN:
                reported.setdefault(node.id, {}).update(node.attrs)
        since: dict[tuple[str, str], str] = {}  # (run, version) -> first recorded writing it
        for edge in changeset.edges:
            if edge.kind is EdgeKind.WROTE and kind_of(edge.target_id) in _WRITTEN_VERSIONS:
                pair = (edge.source_id, edge.target_id)
                since[pair] = min(since.get(pair, edge.first_seen), edge.first_seen)
        candidates = sorted(
            {r for r, a in reported.items() if a.get("state") == RunState.COMPLETE.value}
            | {r for r, _ in since}
        )
        if not candidates:
            return changeset
        runs = dict(stored) if stored is not None else {}
        # a run whose state the changeset does not say (or dropped) is as stored
        missing = [r for r in candidates if r not in runs and "state" not in reported.get(r, {})]
        if missing:
            runs.update(self.store.get(missing))
        done: dict[str, dict[str, Any]] = {}  # completed runs -> their attributes
        for run_id in candidates:
            found = runs.get(run_id)
            attrs = {**(found.attrs if found is not None else {}), **reported.get(run_id, {})}
            if attrs.get("state") == RunState.COMPLETE.value:
                done[run_id] = attrs
        if not done:
            return changeset
        # What completed runs were recorded writing before: their earlier events' outputs.
        # Only a stored run whose events listed outputs can have any.
        earlier = sorted(
            r for r in done if (found := runs.get(r)) is not None and found.attrs.get("outputs")
        )
        stored_wrote: set[tuple[str, str]] = set()
        for edge in self.store.edges(earlier, Direction.DOWNSTREAM, [EdgeKind.WROTE]):
            if kind_of(edge.target_id) in _WRITTEN_VERSIONS:
                pair = (edge.source_id, edge.target_id)
                stored_wrote.add(pair)
                since[pair] = min(since.get(pair, edge.first_seen), edge.first_seen)
        writer: dict[str, tuple[str, str]] = {}  # version -> (its completed run, since)
        for (run_id, version_id), first in sorted(since.items()):
            if run_id in done and version_id not in writer:
                writer[version_id] = (run_id, first)
        if not writer:
            return changeset
        edges = list(changeset.edges)
        changed = False
        listed: set[str] = set()
        for index, edge in enumerate(edges):
            if edge.kind is not EdgeKind.HAS_VERSION or edge.target_id not in writer:
                continue
            listed.add(edge.target_id)
            first = writer[edge.target_id][1]
            if first < edge.first_seen:
                edges[index] = edge.model_copy(update={"first_seen": first})
                changed = True
        unlisted = sorted(set(writer) - listed)
        # version -> when it became one, for those that are versions already
        current = {
            e.target_id: e.first_seen
            for e in self.store.edges(unlisted, Direction.UPSTREAM, [EdgeKind.HAS_VERSION])
        }
        # A dataset the run's events name under another version (the START without a
        # version facet, so by the runId; the COMPLETE with the writer's own) has that
        # one: what only the START named is not a second version.
        named = {(writer[v][0], _owner_of(v)) for v in [*listed, *current]}
        nodes = list(changeset.nodes)
        for version_id in unlisted:
            run_id, first = writer[version_id]
            was = current.get(version_id)
            if (was is not None and was <= first) or (
                was is None and (run_id, _owner_of(version_id)) in named
            ):
                continue
            end = max(_end_of(done[run_id]) or first, first)
            key = parse_id(version_id)
            entity = DatasetVersion if key.kind is Kind.DATASET_VERSION else ModelVersion
            version = entity(
                namespace=key.namespace,
                name=key.name,
                version=key.parts[0],
                created_at=parse_time(end),
            )
            if was is None:  # a version from now on; else only seen from earlier
                nodes.append(version.to_node())
            edges.append(
                Edge(
                    source_id=_owner_of(version_id),
                    kind=EdgeKind.HAS_VERSION,
                    target_id=version_id,
                    origin=changeset.origin,
                    first_seen=first,
                    last_seen=end,
                )
            )
            if (run_id, version_id) in stored_wrote:
                # the run wrote it: what works out reads must not take it for an input
                edges.append(_once(run_id, EdgeKind.WROTE, version_id, first, changeset.origin))
            changed = True
        if not changed:
            return changeset
        return changeset.model_copy(update={"nodes": nodes, "edges": edges})

    def resolve_reads(self, changeset: ChangeSet) -> ChangeSet:
        """Link runs to the versions of their inputs that the producer did not name.

        A run lists the datasets it read in its ``inputs`` attribute (OpenLineage
        events and dbt runs do). For each listed dataset that has no ``READ_BY`` edge
        to the run yet (in this changeset or stored), the run read the dataset's
        latest version seen at or before the run started (or, when its start is
        unknown, before its state was reported), other than a version the run wrote
        itself; that ``READ_BY`` edge is added with origin ``inferred``. This is what
        lets the version-aware cascade and provenance follow producers that send no
        ``version`` facet. A listed feature (which has no versions) stands for the
        datasets it is computed from, read the same way (the edge's ``through`` names
        the feature). Replaying an event finds the edge stored and adds nothing.

        A quality result that a run reported on one of its inputs without naming a
        version (:meth:`_judge_versions_read`) then evaluated the version the run read.
        """
        return self._judge_versions_read(self._infer_reads(changeset))

    def _infer_reads(self, changeset: ChangeSet) -> ChangeSet:
        """The ``READ_BY`` edges of :meth:`resolve_reads`."""
        changeset = self._link_latest_readers(changeset)
        runs = {n.id: n for n in changeset.nodes if n.kind is Kind.RUN and n.attrs.get("inputs")}
        if not runs:
            return changeset
        named: set[tuple[str, str]] = set()
        wrote: dict[str, set[str]] = {}
        versions: dict[str, list[tuple[str, str]]] = {}
        for edge in changeset.edges:
            if edge.kind is EdgeKind.READ_BY and edge.target_id in runs:
                named.add((dataset_of(edge.source_id), edge.target_id))
            elif edge.kind is EdgeKind.WROTE:
                wrote.setdefault(edge.source_id, set()).add(edge.target_id)
            elif edge.kind is EdgeKind.HAS_VERSION and kind_of(edge.target_id) is (
                Kind.DATASET_VERSION
            ):
                versions.setdefault(edge.source_id, []).append((edge.first_seen, edge.target_id))
        for hop in self.store.expand(sorted(runs), Direction.UPSTREAM, [EdgeKind.READ_BY]):
            named.add((dataset_of(hop.target), hop.source))
        listed = {
            run_id: [i for i in dict.fromkeys(node.attrs["inputs"]) if isinstance(i, str)]
            for run_id, node in runs.items()
        }
        computed_from = self._feature_sources(changeset, listed)
        # run -> dataset read -> the feature it was read through (None: read itself)
        wanted: dict[str, dict[str, str | None]] = {}
        for run_id, inputs in listed.items():
            reads: dict[str, str | None] = {}
            for i in inputs:
                if i.startswith("dataset|"):
                    reads[i] = None
            for i in inputs:
                for dataset_id in computed_from.get(i, ()):
                    reads.setdefault(dataset_id, i)
            reads = {d: via for d, via in reads.items() if (d, run_id) not in named}
            if reads:
                wanted[run_id] = reads
        if not wanted:
            return changeset
        starts = self._run_starts({r: runs[r] for r in wanted})
        asked = [
            (run_id, dataset_id)
            for run_id in sorted(wanted)
            if run_id in starts
            for dataset_id in wanted[run_id]
        ]
        # A dataset can have thousands of versions: the store answers with the latest.
        latest = self.store.latest_versions(
            [
                VersionRequest(dataset_id, starts[run_id], frozenset(wrote.get(run_id, ())))
                for run_id, dataset_id in asked
            ]
        )
        stored = dict(zip(asked, latest, strict=True))
        edges = list(changeset.edges)
        for run_id in sorted(wanted):
            start = starts.get(run_id)
            if start is None:
                continue
            own = wrote.get(run_id, set())
            for dataset_id, through in wanted[run_id].items():
                candidates = [
                    (seen, version)
                    for seen, version in versions.get(dataset_id, ())
                    if seen <= start and version not in own
                ]
                found = stored[(run_id, dataset_id)]
                if found is not None:
                    candidates.append(found)
                if candidates:
                    edges.append(_inferred_read(max(candidates)[1], run_id, start, through))
        return changeset.model_copy(update={"edges": edges})

    def _judge_versions_read(self, changeset: ChangeSet) -> ChangeSet:
        """Put each result that a run reported on an input, naming no version of it, on
        the version the run read: an ``EVALUATED`` edge of origin ``inferred``, which
        :meth:`_relink_readers` moves with the read.

        An assertion on an input (an OpenLineage ``inputFacets`` or dataset facet of an
        input) describes the data the run read, the version current when it started.
        Left unversioned, the cascade would judge the latest version created by the time
        the result was reported, which is another one when the table was written while
        the check ran: the good data failed and what was built from the bad stayed OK.
        """
        pending = [
            n
            for n in changeset.nodes
            if n.kind is Kind.RESULT
            and isinstance(n.attrs.get("run"), str)
            and not n.attrs.get("dataset_version")
        ]
        if not pending:
            return changeset
        judged = {e.source_id for e in changeset.edges if e.kind is EdgeKind.EVALUATED}
        pending = [n for n in pending if n.id not in judged]
        runs = sorted({str(n.attrs["run"]) for n in pending})
        if not pending:
            return changeset
        retracted = {
            (e.source_id, e.target_id) for e in changeset.endings if e.kind is EdgeKind.READ_BY
        }
        # (run, dataset) -> (version read, when the read was first seen); what the
        # changeset reports wins over what is stored, the newest version over others.
        read: dict[tuple[str, str], tuple[str, str]] = {}
        for stored in self.store.edges(runs, Direction.UPSTREAM, [EdgeKind.READ_BY]):
            if kind_of(stored.source_id) is Kind.DATASET_VERSION and (
                (stored.source_id, stored.target_id) not in retracted
            ):
                key = (stored.target_id, dataset_of(stored.source_id))
                found = (stored.source_id, stored.first_seen)
                read[key] = max(read.get(key, found), found)
        wanted = set(runs)
        reported: dict[tuple[str, str], tuple[str, str]] = {}
        for edge in changeset.edges:
            if (
                edge.kind is EdgeKind.READ_BY
                and edge.target_id in wanted
                and kind_of(edge.source_id) is Kind.DATASET_VERSION
            ):
                key = (edge.target_id, dataset_of(edge.source_id))
                found = (edge.source_id, edge.first_seen)
                reported[key] = max(reported.get(key, found), found)
        read.update(reported)
        versions = {
            n.id: ran_on
            for n in pending
            if (ran_on := read.get((str(n.attrs["run"]), dataset_of(n.id)))) is not None
        }
        if not versions:
            return changeset
        edges = list(changeset.edges)
        for node in pending:
            if node.id not in versions:
                continue
            # dated by the read, which the run's events agree on, not by the result,
            # which each event reporting it dates anew
            version, seen = versions[node.id]
            edges.append(_once(node.id, EdgeKind.EVALUATED, version, seen, Origin.INFERRED))
        return changeset.model_copy(update={"edges": edges})

    def _link_latest_readers(self, changeset: ChangeSet) -> ChangeSet:
        """Link the latest run of each job reading a dataset to a version of it that
        arrives late: one created at or before the run started, when the run is linked
        to no version of that dataset (none had arrived when the run was applied).

        Producers posting concurrently, or a replay out of order, can deliver a
        downstream run before the upstream run that wrote what it read; without this,
        a failure of that version never reached the downstream run. Only the latest
        run of each reader is linked (what health goes by). A run linked by inference
        to an older version, because this one had not arrived when the run was applied,
        is linked to this one instead (:meth:`_relink_readers`); a link its producer
        reported is kept.
        """
        created: dict[str, list[tuple[str, str]]] = {}
        for edge in changeset.edges:
            if edge.kind is EdgeKind.HAS_VERSION and kind_of(edge.target_id) is (
                Kind.DATASET_VERSION
            ):
                created.setdefault(edge.source_id, []).append((edge.first_seen, edge.target_id))
        # A reader that started after a version the store already held when the new one
        # came was linked to that one (when it was applied, or when that one came): only
        # datasets without an older stored version can have unlinked readers. In order,
        # that is a dataset's first version, and the readers are not read at all.
        asked = [(d, seen, version) for d in sorted(created) for seen, version in created[d]]
        earlier = self.store.latest_versions(
            [VersionRequest(d, seen, frozenset(v for _, v in created[d])) for d, seen, _ in asked]
        )
        before: dict[str, tuple[str, str]] = {}  # a new version -> the stored one before it
        for (_, _, version), found in zip(asked, earlier, strict=True):
            if found is not None:
                before[version] = found
        if before:
            changeset = self._relink_readers(changeset, created, before)
        created = {d: v for d, v in created.items() if min(v)[1] not in before}
        if not created:
            return changeset
        in_changeset = {n.id for n in changeset.nodes if n.kind is Kind.RUN}
        readers: dict[str, list[str]] = {}  # job -> datasets with new versions it reads
        for hop in self.store.expand(sorted(created), Direction.DOWNSTREAM, [EdgeKind.READS]):
            if kind_of(hop.target) is Kind.JOB:
                readers.setdefault(hop.target, []).append(hop.source)
        latest = self.store.latest_history(sorted(readers))
        runs = {
            run: readers[job]
            for job, run in latest.items()
            if run is not None and run not in in_changeset
        }
        stored = self.store.get(sorted(runs))
        wrote = {(e.source_id, e.target_id) for e in changeset.edges if e.kind is EdgeKind.WROTE}
        # run -> dataset -> the newest new version created by the run's start. In order,
        # readers started before the new versions, and nothing more is asked of the store.
        wanted: dict[str, dict[str, tuple[str, str]]] = {}
        for run_id in sorted(runs):
            node = stored.get(run_id)
            listed = node.attrs.get("inputs") if node is not None else None
            start = _start_of(node.attrs) if node is not None else None
            if start is None or not isinstance(listed, list):
                continue
            for dataset_id in sorted(set(runs[run_id]) & set(listed)):
                candidates = [
                    (seen, version)
                    for seen, version in created[dataset_id]
                    if seen <= start and (run_id, version) not in wrote
                ]
                if candidates:
                    wanted.setdefault(run_id, {})[dataset_id] = (start, max(candidates)[1])
        if not wanted:
            return changeset
        linked = {
            (dataset_of(hop.target), hop.source)
            for hop in self.store.expand(sorted(wanted), Direction.UPSTREAM, [EdgeKind.READ_BY])
        }
        edges = list(changeset.edges)
        added: list[tuple[str, str, str, str]] = []  # (run, dataset, version read, since)
        for run_id, reads in wanted.items():
            for dataset_id, (start, version) in reads.items():
                if (dataset_id, run_id) not in linked:
                    edges.append(_inferred_read(version, run_id, start))
                    added.append((run_id, dataset_id, version, start))
        if len(edges) == len(changeset.edges):
            return changeset
        edges.extend(self._judge_stored_results(added, {e.source_id for e in edges}))
        return changeset.model_copy(update={"edges": edges})

    def _judge_stored_results(
        self, reads: Sequence[tuple[str, str, str, str]], reported: Collection[str]
    ) -> list[Edge]:
        """The ``EVALUATED`` edges that put the stored results each run reported on an
        input, naming no version, on the version it is now known to have read.

        A run that reported its result before any version of the input had arrived left
        it unjudged (:meth:`_judge_versions_read` found no read), as a batch holding the
        version would not have. Such a result is keyed by the run (an OpenLineage
        assertion's result is the check's result for the runId), so it is looked up by
        the checks on the dataset. ``reported`` holds sources of edges the changeset
        carries already.
        """
        by_dataset: dict[str, list[tuple[str, str, str]]] = {}
        for run_id, dataset_id, version, start in reads:
            by_dataset.setdefault(dataset_id, []).append((run_id, version, start))
        datasets = sorted(by_dataset)
        fields = [h.target for h in self.store.expand(datasets, Direction.DOWNSTREAM, _FIELDS)]
        checks = {
            h.target
            for h in self.store.expand([*datasets, *fields], Direction.DOWNSTREAM, _CHECKS)
            if kind_of(h.target) is Kind.CHECK
        }
        wanted: dict[str, tuple[str, str, str]] = {}  # result -> (run, version read, since)
        for check_id in sorted(checks):
            key = parse_id(check_id)
            for run_id, version, start in by_dataset.get(dataset_of(check_id), ()):
                result_id = make_id(
                    Kind.RESULT, key.namespace, key.name, key.parts[0], parse_id(run_id).parts[0]
                )
                if result_id not in reported:
                    wanted[result_id] = (run_id, version, start)
        if not wanted:
            return []
        results = self.store.get(sorted(wanted))
        judged = {
            h.source
            for h in self.store.expand(sorted(results), Direction.DOWNSTREAM, [EdgeKind.EVALUATED])
        }
        edges: list[Edge] = []
        for result_id, node in sorted(results.items()):
            run_id, version, start = wanted[result_id]
            if (
                result_id in judged
                or node.attrs.get("run") != run_id
                or node.attrs.get("dataset_version")
            ):
                continue
            # dated by the read, as _judge_versions_read dates it
            edges.append(_once(result_id, EdgeKind.EVALUATED, version, start, Origin.INFERRED))
        return edges

    def _relink_readers(
        self,
        changeset: ChangeSet,
        created: Mapping[str, Sequence[tuple[str, str]]],
        before: Mapping[str, tuple[str, str]],
    ) -> ChangeSet:
        """Move inferred reads to the versions that arrive late.

        ``created`` holds each dataset's new versions (``(first_seen, id)``), ``before``
        the stored version just before each of them. A run applied before a version
        of its input arrived was linked to the one stored before it. When the late
        version was created at or before the run started (and the run did not write
        it), it is what the run read: the inferred edge is taken back (an ending that
        retracts it, so it never was current) and the run is linked to the newest
        such version, through the same feature. Edges a producer reported, and runs
        whose reads of the dataset this changeset reports, are left alone.
        """
        order = {found[1]: found for found in before.values()}  # stored: (first_seen, id)
        # Only reads that started at or after the earliest late version can move: the
        # links current just before it are passed over by their hops alone, so a version
        # read by a thousand runs before it reads none of their edges.
        stale = sorted(order)
        since = min(seen for versions in created.values() for seen, v in versions if v in before)
        hops = self.store.expand(stale, Direction.DOWNSTREAM, _READ)
        pairs = {(h.source, h.target) for h in hops}
        with contextlib.suppress(OverflowError):  # nothing can have started before year 1
            earlier = parse_time(since) - timedelta(microseconds=1)
            pairs -= {
                (h.source, h.target)
                for h in self.store.expand(stale, Direction.DOWNSTREAM, _READ, earlier)
            }
        if not pairs:
            return changeset
        reads = [
            edge
            for edge in self.store.edges(
                sorted({run for _, run in pairs}), Direction.UPSTREAM, _READ
            )
            if (edge.source_id, edge.target_id) in pairs and edge.origin is Origin.INFERRED
        ]
        wrote = {(e.source_id, e.target_id) for e in changeset.edges if e.kind is EdgeKind.WROTE}
        reported = {
            (dataset_of(e.source_id), e.target_id)
            for e in changeset.edges
            if e.kind is EdgeKind.READ_BY
        }
        edges = list(changeset.edges)
        endings = list(changeset.endings)
        moved: dict[tuple[str, str], str] = {}  # (version read before, run) -> version read
        for edge in reads:
            dataset_id, run_id, start = dataset_of(edge.source_id), edge.target_id, edge.first_seen
            if (dataset_id, run_id) in reported:
                continue
            candidates = [
                (seen, version)
                for seen, version in created.get(dataset_id, ())
                if order[edge.source_id] < (seen, version)
                and seen <= start
                and (run_id, version) not in wrote
            ]
            if not candidates:
                continue
            endings.append(_retraction(edge))
            through = edge.attrs.get("through")
            edges.append(
                _inferred_read(
                    max(candidates)[1], run_id, start, through if isinstance(through, str) else None
                )
            )
            moved[(edge.source_id, run_id)] = max(candidates)[1]
        if not moved:
            return changeset.model_copy(update={"edges": edges, "endings": endings})
        # The results the runs reported on those inputs judged the versions read before.
        judged = [
            e
            for e in self.store.edges(
                sorted({old for old, _ in moved}), Direction.UPSTREAM, [EdgeKind.EVALUATED]
            )
            if e.origin is Origin.INFERRED
        ]
        results = self.store.get(sorted({e.source_id for e in judged}))
        for judgement in judged:
            result = results.get(judgement.source_id)
            run = result.attrs.get("run") if result is not None else None
            version = moved.get((judgement.target_id, run)) if isinstance(run, str) else None
            if version is None:
                continue
            endings.append(_retraction(judgement))
            edges.append(judgement.model_copy(update={"target_id": version}))
        return changeset.model_copy(update={"edges": edges, "endings": endings})

    def _feature_sources(
        self, changeset: ChangeSet, listed: Mapping[str, Sequence[str]]
    ) -> dict[str, list[str]]:
        """The datasets each feature among the listed inputs is computed from (from its
        own fields or the dataset itself), as the changeset and the store say."""
        features = sorted(
            {i for inputs in listed.values() for i in inputs if i.startswith("feature|")}
        )
        if not features:
            return {}
        wanted = set(features)
        sources: dict[str, list[str]] = {f: [] for f in features}
        for edge in changeset.edges:
            if edge.kind is EdgeKind.COMPUTED_FROM and edge.target_id in wanted:
                sources[edge.target_id].append(edge.source_id)
        for hop in self.store.expand(features, Direction.UPSTREAM, [EdgeKind.COMPUTED_FROM]):
            sources[hop.source].append(hop.target)
        datasets: dict[str, list[str]] = {}
        for feature, found in sources.items():
            kinds = (Kind.DATASET, Kind.FIELD)
            ids = [
                s if kind_of(s) is Kind.DATASET else dataset_of(s)
                for s in found
                if kind_of(s) in kinds
            ]
            datasets[feature] = sorted(set(ids))
        return datasets

    def _run_starts(self, runs: Mapping[str, Node]) -> dict[str, str]:
        """When each run started, as a stored timestamp: its ``started_at`` (here or
        stored), else the time its state was reported."""
        stored = self.store.get([r for r, n in runs.items() if "started_at" not in n.attrs])
        starts: dict[str, str] = {}
        for run_id, node in runs.items():
            attrs = {**stored[run_id].attrs, **node.attrs} if run_id in stored else node.attrs
            start = _start_of(attrs)
            if start is not None:
                starts[run_id] = start
        return starts

    def resolve_snapshots(self, changeset: ChangeSet) -> ChangeSet:
        """Turn each job snapshot into endings of the edges its run no longer reports.

        Snapshots that report the same lineage for the same job (a batch of a job's
        runs) look the store up once; only their times differ.
        """
        if changeset.schemas:
            changeset = self.resolve_schemas(changeset)
        if not changeset.snapshots:
            return changeset
        distinct: dict[tuple[Any, ...], JobSnapshot] = {}
        timed: list[tuple[tuple[Any, ...], str]] = []
        for snapshot in changeset.snapshots:
            signature = (
                snapshot.job_id,
                frozenset(snapshot.inputs),
                frozenset(snapshot.outputs),
                None if snapshot.column_edges is None else frozenset(snapshot.column_edges),
            )
            distinct.setdefault(signature, snapshot)
            timed.append((signature, snapshot.at))
        unreported, added, latest = self._compare_snapshots(distinct)
        endings: list[EdgeEnding] = list(changeset.endings)
        for signature, at in timed:
            endings.extend(
                EdgeEnding(source_id=e.source_id, kind=e.kind, target_id=e.target_id, at=at)
                for e in unreported[signature]
                if e.last_seen < at
            )
            # A later run of the job reported its lineage already (an event that arrives
            # late): what only this earlier run reports was no longer there by then.
            newer = latest.get(signature[0])
            if newer is not None and newer > at:
                endings.extend(
                    EdgeEnding(source_id=source, kind=kind, target_id=target, at=newer)
                    for source, kind, target in added.get(signature, ())
                )
        return changeset.model_copy(update={"snapshots": [], "endings": endings})

    def resolve_schemas(self, changeset: ChangeSet) -> ChangeSet:
        """Turn each schema snapshot into endings of the ``HAS_FIELD`` edges it leaves out.

        A dataset's current fields are walked level by level (a field left out takes
        its nested fields with it); an edge ends at the snapshot's time unless it was
        seen at or after it, so a late report of an older schema ends nothing. Such a
        report does not make the fields only it lists current either: they are kept,
        ended when the dataset's fields were last reported. Fields are compared by hops
        (cheap); edges are read only for datasets whose fields changed.
        """
        store = self.store
        tree: dict[str, list[tuple[str, str]]] = {}  # dataset -> its HAS_FIELD hops
        owner = {s.dataset_id: s.dataset_id for s in changeset.schemas}
        frontier = sorted(owner)
        while frontier:
            children: list[str] = []
            for hop in store.expand(frontier, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD]):
                if hop.target not in owner:  # a containment cycle ends the walk
                    owner[hop.target] = owner[hop.source]
                    children.append(hop.target)
                    tree.setdefault(owner[hop.source], []).append((hop.source, hop.target))
            frontier = children
        changed: list[tuple[SchemaSnapshot, set[tuple[str, str]], list[str]]] = []
        for schema in changeset.schemas:
            pairs = tree.get(schema.dataset_id, [])
            current = {target for _, target in pairs}
            left_out = {pair for pair in pairs if pair[1] not in schema.fields}
            added = [f for f in schema.fields if f not in current]
            if left_out or added:
                changed.append((schema, left_out, added))
        if not changed:
            return changeset.model_copy(update={"schemas": []})
        sources = sorted(
            {s for schema, _, _ in changed for s, _ in tree.get(schema.dataset_id, [])}
        )
        sources.extend(sorted({schema.dataset_id for schema, _, _ in changed} - set(sources)))
        stored = {
            (e.source_id, e.target_id): e
            for e in store.edges(sources, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
            if e.current
        }
        # When the dataset's whole schema was last reported: its latest version's time
        # (writers report one with each schema), else its fields' last report (which a
        # reader naming a field in column lineage also moves).
        late_added_set = {s.dataset_id for s, _, added in changed if added}
        late_added = sorted(late_added_set)
        latest: dict[str, str] = {}
        for (source, _), edge in stored.items():
            dataset = owner[source]
            if dataset in late_added_set:
                latest[dataset] = max(latest.get(dataset, ""), edge.last_seen)
        if late_added:
            found = store.latest_versions([VersionRequest(d, _END_OF_TIME) for d in late_added])
            latest.update((d, v[0]) for d, v in zip(late_added, found, strict=True) if v)
        endings: list[EdgeEnding] = list(changeset.endings)
        for schema, left_out, added in changed:
            at = schema.at
            endings.extend(
                EdgeEnding(source_id=source, kind=EdgeKind.HAS_FIELD, target_id=target, at=at)
                for source, target in sorted(left_out)
                if (source, target) in stored and stored[(source, target)].last_seen < at
            )
            # The dataset's fields were reported later already (an event that arrives
            # late): what only this earlier schema lists was gone by then.
            newer = latest.get(schema.dataset_id)
            if newer is not None and newer > at and added:
                new = set(added)
                endings.extend(
                    EdgeEnding(source_id=e.source_id, kind=e.kind, target_id=e.target_id, at=newer)
                    for e in changeset.edges
                    if e.kind is EdgeKind.HAS_FIELD and e.target_id in new
                )
        return changeset.model_copy(update={"schemas": [], "endings": endings})

    def _compare_snapshots(
        self, snapshots: Mapping[tuple[Any, ...], JobSnapshot]
    ) -> tuple[
        dict[tuple[Any, ...], list[Edge]],
        dict[tuple[Any, ...], list[tuple[str, EdgeKind, str]]],
        dict[str, str],
    ]:
        """Each snapshot against its job's current lineage.

        Returns, for each snapshot, the current edges of its job it does not report (in
        key order) and the keys of the edges it reports that are not current; and, for
        the jobs of snapshots that report such edges or leave current ones out, the
        latest time the job's current lineage was reported.

        Hops (cheap) compare them, for all snapshots at once: one store call per kind of
        hop, however many jobs. Edges are read in full only for jobs whose lineage
        changed, since a job usually reports the same inputs and outputs run after run.
        """
        store = self.store
        jobs = sorted({s.job_id for s in snapshots.values()})
        read: dict[str, list[str]] = {job: [] for job in jobs}
        for hop in store.expand(jobs, Direction.UPSTREAM, [EdgeKind.READS]):
            read[hop.source].append(hop.target)
        written: dict[str, list[str]] = {job: [] for job in jobs}
        for hop in store.expand(jobs, Direction.DOWNSTREAM, [EdgeKind.WRITES]):
            written[hop.source].append(hop.target)
        outputs = sorted(
            {o for s in snapshots.values() if s.column_edges is not None for o in s.outputs}
        )
        # Every field of the outputs, nested ones and those a schema report ended too:
        # the job's column lineage into a dropped field is its lineage until a run of it
        # leaves it out. One store call per level of nesting.
        fields: dict[str, list[str]] = {output: [] for output in outputs}
        owner = {output: output for output in outputs}
        frontier = outputs
        while frontier:
            children: list[str] = []
            for hop in store.expand(
                frontier, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD], include_ended=True
            ):
                if hop.target not in owner:  # a containment cycle ends the walk
                    owner[hop.target] = owner[hop.source]
                    fields[owner[hop.source]].append(hop.target)
                    children.append(hop.target)
            frontier = sorted(children)
        all_fields = sorted({f for found in fields.values() for f in found})
        sources: dict[str, list[str]] = {field: [] for field in all_fields}
        for hop in store.expand(all_fields, Direction.UPSTREAM, [EdgeKind.DERIVES]):
            sources[hop.source].append(hop.target)
        stale: dict[tuple[Any, ...], set[tuple[str, EdgeKind, str]]] = {}
        added: dict[tuple[Any, ...], list[tuple[str, EdgeKind, str]]] = {}
        changed_jobs: set[str] = set()
        column_owners: set[str] = set()
        for signature, snapshot in snapshots.items():
            job = snapshot.job_id
            inputs, outs = set(snapshot.inputs), set(snapshot.outputs)
            keys = {(i, EdgeKind.READS, job) for i in read[job] if i not in inputs}
            keys.update((job, EdgeKind.WRITES, o) for o in written[job] if o not in outs)
            new = {(i, EdgeKind.READS, job) for i in inputs.difference(read[job])}
            new.update((job, EdgeKind.WRITES, o) for o in outs.difference(written[job]))
            if snapshot.column_edges is not None:
                reported = set(snapshot.column_edges)
                for field in (f for output in sorted(outs) for f in fields[output]):
                    for source in sources[field]:
                        if (source, field) not in reported:
                            keys.add((source, EdgeKind.DERIVES, field))
                            column_owners.add(field)
                new.update(
                    (source, EdgeKind.DERIVES, field)
                    for source, field in reported
                    if source not in sources.get(field, ())
                )
            if keys:
                stale[signature] = keys
            if new:
                added[signature] = sorted(new)
            if keys or new:
                changed_jobs.add(job)
        edges: dict[tuple[str, EdgeKind, str], Edge] = {}
        latest: dict[str, str] = {}
        flow = [EdgeKind.READS, EdgeKind.WRITES]
        if changed_jobs:
            for edge in store.edges(sorted(changed_jobs), Direction.BOTH, flow):
                edges[edge.key] = edge
                if edge.current:
                    job = edge.target_id if edge.kind is EdgeKind.READS else edge.source_id
                    latest[job] = max(latest.get(job, ""), edge.last_seen)
        if column_owners:
            for edge in store.edges(sorted(column_owners), Direction.UPSTREAM, [EdgeKind.DERIVES]):
                edges[edge.key] = edge
        unreported: dict[tuple[Any, ...], list[Edge]] = {}
        for signature, snapshot in snapshots.items():
            candidates = [edges[key] for key in stale.get(signature, ()) if key in edges]
            found = [
                e
                for e in candidates
                if e.current
                and (e.kind is not EdgeKind.DERIVES or e.attrs.get("job") == snapshot.job_id)
            ]
            unreported[signature] = sorted(found, key=lambda e: (e.source_id, e.kind, e.target_id))
        # A late snapshot (its job reported lineage after it already) also says what was
        # gone by its time: an edge a later report ended, last seen before this one, ends
        # at this one's time instead, as it would have in time order.
        late = {
            signature: snapshot
            for signature, snapshot in snapshots.items()
            if latest.get(snapshot.job_id, "") > snapshot.at
        }
        if late:
            jobs = sorted({s.job_id for s in late.values()})
            ended = store.edges(jobs, Direction.BOTH, flow, include_ended=True)
            for signature, snapshot in late.items():
                listed = {(i, EdgeKind.READS, snapshot.job_id) for i in snapshot.inputs}
                listed.update((snapshot.job_id, EdgeKind.WRITES, o) for o in snapshot.outputs)
                unreported[signature].extend(
                    e
                    for e in ended
                    if e.ended_at is not None
                    and e.last_seen < snapshot.at < e.ended_at
                    and snapshot.job_id in (e.source_id, e.target_id)
                    and e.key not in listed
                )
        return unreported, added, latest

    # --- reads --------------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes with these ids; missing ones are absent."""
        return self.store.get(ids)

    def node(self, entity_id: str) -> Node:
        """One node; raises :class:`NotFound`."""
        found = self.store.get([entity_id]).get(entity_id)
        if found is None:
            raise NotFound(f"no entity with id {entity_id!r}")
        return found

    def find(self, kind: Kind, namespace: str, name: str, *parts: str) -> Node | None:
        """The entity with this kind and key, if it exists."""
        entity_id = make_id(kind, namespace, name, *parts)
        return self.store.get([entity_id]).get(entity_id)

    def search(
        self,
        query: str,
        filters: SearchFilter = NO_FILTER,
        first: int = 20,
        after: str | None = None,
        count: bool = False,
    ) -> Page[Node]:
        """Full-text search over the catalog; a query that is an entity's whole id (pasted
        from anywhere ids are shown) finds that entity, when it passes the filters. With
        ``count`` the page's ``total`` counts every hit."""
        pasted = query.strip()
        if "|" in pasted and after is None and first > 0:
            node = self.store.get([pasted]).get(pasted) if _is_id(pasted) else None
            if node is not None and _passes(node, filters):
                return Page(items=[node], end_cursor=encode_cursor(1), total=1)
        return self.store.search(query, filters, first, after, count=count)

    def health_of(self, ids: Sequence[str]) -> dict[str, HealthRecord]:
        """Stored health for these ids; ids without a record are OK. Health that a failed
        update left behind is recomputed first."""
        self._reconcile_if_dirty()
        stored = self.store.health(ids)
        kinds = self.store.kinds([i for i in ids if i not in stored])
        for entity_id, kind in kinds.items():
            stored[entity_id] = HealthRecord(id=entity_id, kind=kind, status=HealthStatus.OK)
        return stored

    def stats(self) -> StoreStats:
        """Counts of what the store holds."""
        return self.store.stats()

    def require(self, ids: Sequence[str]) -> None:
        """Raise :class:`NotFound` for the first id that does not exist."""
        known = self.store.kinds(ids)
        for entity_id in ids:
            if entity_id not in known:
                raise NotFound(f"no entity with id {entity_id!r}")

    def unknown_check_targets(self, changeset: ChangeSet) -> list[str]:
        """Warnings, before ``changeset`` is applied, for checks it puts on what the store
        does not know: a dataset it does not hold (a mistyped id makes a new one), or a
        column that the dataset's current schema, when it has one, does not list (applying
        adds it as a field). One warning per dataset, in id order.

        A field that only check results made (see :meth:`_made_by_results`) is no part of
        the schema: the warning repeats at every ingest until a schema lists the column,
        and a dataset whose every field results made has no schema to compare with."""
        columns: dict[str, set[str]] = {}  # dataset -> the field ids checked on it
        for edge in changeset.edges:
            if edge.kind is EdgeKind.HAS_CHECK:
                kind = kind_of(edge.source_id)
                if kind is Kind.DATASET:
                    columns.setdefault(edge.source_id, set())
                elif kind is Kind.FIELD:
                    columns.setdefault(dataset_of(edge.source_id), set()).add(edge.source_id)
        if not columns:
            return []
        known = self.store.kinds(sorted(columns))
        # the current fields of the known datasets with checked columns, nested ones too
        checked = [d for d in sorted(columns) if d in known and columns[d]]
        fields = lineage_analysis.fields_of(self.store, checked)
        made_by_results = self._made_by_results(fields)
        current: dict[str, set[str]] = {}
        for field_id in fields:
            if field_id not in made_by_results:
                current.setdefault(dataset_of(field_id), set()).add(field_id)
        warnings: list[str] = []
        for dataset in sorted(columns):
            if dataset not in known:
                warnings.append(
                    f"{dataset}: no such dataset was stored; it was created to hold these "
                    "results (check its id if it should have existed)"
                )
                continue
            schema = current.get(dataset)
            missing = sorted(columns[dataset] - schema) if schema else []
            if missing:
                names = ", ".join(parse_id(f).parts[0] for f in missing)
                many = len(missing) > 1
                warnings.append(
                    f"{dataset}: its current schema has no column{'s' if many else ''} {names}; "
                    f"{'they are fields' if many else 'it is a field'} only because check "
                    f"results name {'them' if many else 'it'} (check the dataset id and the "
                    "column names)"
                )
        return warnings

    def _made_by_results(self, field_ids: Sequence[str]) -> set[str]:
        """The fields among ``field_ids`` that only check results made: Great Expectations
        adds a column it checks as a bare field (no type, position, description or any
        other attribute, which schema reports and the API give), and every current edge
        of such a field is one GX put there last (its containment and its checks; a
        dbt test on the column or column lineage through it says it exists)."""
        nodes = self.store.get(field_ids)
        bare = sorted(i for i, node in nodes.items() if not node.attrs)
        if not bare:
            return set()
        origins: dict[str, set[Origin]] = {}
        for edge in self.store.edges(bare, Direction.BOTH, list(EdgeKind)):
            for end in (edge.source_id, edge.target_id):
                origins.setdefault(end, set()).add(edge.origin)
        return {i for i in bare if origins.get(i) == {Origin.GX}}

    @staticmethod
    def check_limit(value: int, name: str, limit: int) -> None:
        """Reject a non-positive or too large bound."""
        if value < 0 or value > limit:
            raise InvalidInput(f"{name} must be between 0 and {limit}, got {value}")

    # --- lineage and impact -------------------------------------------------------------------

    def lineage(
        self,
        entity_id: str,
        direction: Direction = Direction.DOWNSTREAM,
        depth: int | None = None,
        kinds: Collection[Kind] | None = None,
        column_level: bool = False,
        as_of: datetime | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> LineageResult:
        """One page of an entity's lineage, within the server's traversal node cap and timeout.

        See :func:`lineagegraph.algorithms.lineage.lineage`; raises :class:`NotFound`
        for an unknown id and :class:`InvalidInput` for bad bounds or cursors. A time
        without an offset is UTC.
        """
        return lineage_analysis.lineage(
            self.store,
            entity_id,
            direction,
            depth=depth,
            kinds=kinds,
            column_level=column_level,
            as_of=None if as_of is None else as_utc(as_of),
            first=first,
            after=after,
            max_nodes=self.settings.max_traversal_nodes,
            timeout=self.settings.traversal_timeout,
        )

    def impact(self, change: SchemaChange | Mapping[str, Any]) -> ImpactReport:
        """The impact of a schema change (a :class:`SchemaChange` or its JSON form).

        See :func:`lineagegraph.algorithms.impact.impact`; malformed input raises
        :class:`InvalidInput`, an unknown dataset :class:`NotFound`.
        """
        if not isinstance(change, SchemaChange):
            try:
                change = SchemaChange.model_validate(change)
            except ValidationError as error:
                raise InvalidInput(f"invalid schema change: {_first_error(error)}") from None
        return impact_analysis.impact(
            self.store,
            change,
            max_nodes=self.settings.max_traversal_nodes,
            timeout=self.settings.traversal_timeout,
        )

    # --- cascades, health, provenance and root cause ----------------------------------------

    def cascade(self, result_id: str) -> CascadeReport:
        """What a quality result puts at risk now, with paths, hops and precision.

        See :func:`lineagegraph.algorithms.cascade.cascade`; raises :class:`NotFound`
        for an unknown result and :class:`InvalidInput` for an id that is not a result.
        """
        return cascade_analysis.cascade(self.store, result_id)

    def at_risk(
        self,
        kinds: Collection[Kind] | None = None,
        first: int = 100,
        after: str | None = None,
        count: bool = False,
    ) -> Page[HealthRecord]:
        """Entities that are not OK (AT_RISK or FAILING) now, by id, optionally of some kinds;
        with ``count`` the page's ``total`` counts all of them."""
        self.check_limit(first, "first", 1000)
        self._reconcile_if_dirty()
        return self.store.health_page(
            (HealthStatus.AT_RISK, HealthStatus.FAILING),
            tuple(kinds or ()),
            first,
            after,
            count=count,
        )

    def health(self, entity_id: str) -> HealthRecord:
        """The stored health of one entity (OK when nothing is wrong); raises :class:`NotFound`."""
        self.require([entity_id])
        return self.health_of([entity_id])[entity_id]

    def recompute_health(self) -> HealthRepair:
        """Recompute all health from scratch and store whatever differs from what is stored."""
        with self._writing():
            repair = cascade_analysis.repair_health(self.store)
            self._health_dirty = False
            return repair

    def provenance(self, entity_id: str) -> Provenance:
        """The upstream closure at the exact versions that produced a model version,
        deployment (the versions it serves now) or dataset version, within the server's
        traversal node cap and timeout."""
        return provenance_analysis.provenance(
            self.store,
            entity_id,
            max_nodes=self.settings.max_traversal_nodes,
            timeout=self.settings.traversal_timeout,
        )

    def provenance_diff(self, from_id: str, to_id: str) -> ProvenanceDiff:
        """What differs between the provenance of two versions (e.g. a good and a bad one)."""
        return provenance_analysis.provenance_diff(
            self.store,
            from_id,
            to_id,
            max_nodes=self.settings.max_traversal_nodes,
            timeout=self.settings.traversal_timeout,
        )

    def root_cause(
        self, entity_id: str, since: datetime | None = None, until: datetime | None = None
    ) -> RootCauseReport:
        """Ranked, explained suspects for a regressed model version or deployment, within
        the server's traversal node cap and timeout.

        The window defaults to the previous version's creation up to this version's;
        a time without an offset is UTC, as everywhere else.
        """
        start = None if since is None else as_utc(since)
        end = None if until is None else as_utc(until)
        return rootcause_analysis.root_cause(
            self.store,
            entity_id,
            start,
            end,
            max_nodes=self.settings.max_traversal_nodes,
            timeout=self.settings.traversal_timeout,
        )

    def _reconcile_if_dirty(self) -> None:
        if self._health_dirty:
            self.recompute_health()


def _maintain_health(service: LineageService, applied: ChangeSet) -> None:
    """The after-apply hook: bring the health of the region a changeset touched up to date.

    A failed update leaves health marked dirty, so the next write or health read
    recomputes it in full.
    """
    if applied.nodes == [] and applied.edges == [] and not applied.endings and not applied.deletes:
        return
    try:
        if service._health_dirty:
            service.recompute_health()
            return
        update = cascade_analysis.health_update(service.store, applied)
        if not update.is_empty():
            service.store.apply(update)
    except BaseException:
        service._health_dirty = True
        raise


def _first_error(error: ValidationError) -> str:
    """The first validation problem as ``location: message``, named as in GraphQL
    (``changes[0].newName``)."""
    first = error.errors()[0]
    where = ""
    for part in first.get("loc", ()):
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            head, *rest = str(part).split("_")
            where += ("." if where else "") + head + "".join(w.capitalize() for w in rest)
    # pydantic prefixes what a validator raised: the message alone says it
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
