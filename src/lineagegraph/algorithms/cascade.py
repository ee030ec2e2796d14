"""Cascades and health (ARCHITECTURE §4.3): what a failing check puts at risk, and why.

A quality RESULT belongs to a CHECK on a dataset or one of its fields (the
*checked* entity). A failing result puts things downstream at risk with one of
two precisions, and health (FAILING / AT_RISK / OK) is the sum of what every
failing result reaches.

Version-aware propagation (CONFIRMED)
-------------------------------------
Where runs are recorded, a failure is followed through the versions they read
and wrote:

- *Verdicts.* Each version of the checked dataset gets, per check, the latest
  result (by ``observed_at``, then id) that ran on it (EVALUATED edge, else the
  result's ``dataset_version``, else the latest version created at or before the
  result was observed). A version with no result of that check inherits the
  verdict of the version before it. A version whose verdict failed is *tainted*:
  the failure taints the version it ran on and later versions until a result
  passes on a newer one.
- *Runs.* A run that READ a tainted dataset or model version is tainted, and so
  is every version it WROTE (a training run's model version included), except a
  version of a dataset whose tainted versions are all it read that was tainted (an
  incremental model reading its own table): that dataset's verdicts carry its own
  failures, so it recovers when its check passes again or its upstream does.
- *Catalog.* A dataset is at risk while its latest version (by ``created_at``,
  then id) is tainted, and then so are all its fields and the features computed
  from it or them; a job while its latest run (by start, else end) is tainted; a
  deployment while it currently SERVES a tainted model version. Tainted dataset
  versions and model versions are recorded too (they stay tainted: a model
  version trained on bad data remains at risk after the data is fixed, while a
  deployment clears once it serves a retrain on clean data).

Design-time propagation (POTENTIAL)
-----------------------------------
Where only design lineage is known, everything reachable downstream along the
flow edges is potentially at risk: from a failing *field* along DERIVES, then
COMPUTED_FROM, TRAINED_ON, READS/WRITES of features and model versions, and
SERVES; from a failing *dataset* along READS/WRITES, COMPUTED_FROM, TRAINED_ON
and SERVES, and along its own fields' column lineage. A field reached through
column lineage also puts its dataset at risk (partially), without spreading
from that dataset at dataset level. Design propagation starts at the checked
entity while its check fails now (its latest result failed) and at everything
the version-aware rules put at risk.

Where both meet, runs win. Design propagation never *enters* an entity whose
current state runs decide:

- a dataset with versions, or a field of one: its latest version decides;
- a job with runs: its latest run decides;
- a model version written by a recorded run: that run's reads decide.

It may cross into them only from an input that runs cannot record, because it
has no versions (a dataset or field without versions, or a feature computed
from one): then the job's latest run, the dataset's latest version, or the model
version is potentially tainted, and the version-aware rules carry that on with
POTENTIAL precision. So a model version trained before the bad data arrived is
never marked by design lineage, because its training run shows what it read.

Health
------
An entity is FAILING when one of its own checks fails now (for a field check,
the field and its dataset), AT_RISK when any failing result reaches it, and OK
otherwise (no stored record). A record holds one reason per failing result that
reaches the entity: the shortest path from the checked entity (ties broken by
the smallest ids along the breadth-first search), its hop count, its precision
and what it rests on (:class:`ReasonKind`: the entity's own check, the check's
verdict on a version, recorded runs, a latest run aborted or skipped, design
lineage); confirmed beats potential for the same result. ``hops`` counts the steps of the
path; 0 marks the entity's own failing check (for a dataset failing through a
field check, the path names the field then the dataset). Reasons are sorted by
hops, result id and path.

Incremental maintenance
-----------------------
:func:`health_update` recomputes only what a changeset can have changed. It
collects *anchors* — the entities whose health, or whose inputs to the rules
above (versions, runs, writers, fields, features, check results), the changeset
touched, with their immediate neighbours whose propagation consults them — and
takes as *affected results* the failing results of touched checks plus every
result named in the stored health of an anchor. It recomputes each affected
result's reach from scratch, finds where those results were recorded before by
walking stored health outward from the anchors (or, past :data:`WALK_LIMIT`
entities or on a store that indexes them, by asking the store for the records that
name those results), and
rewrites the reasons of those results there, keeping everything else. A
changeset that deletes entities falls back to a full recomputation. The
invariant, checked by property tests, is that stored health always equals
:func:`compute_health`.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from lineagegraph.algorithms.traversal import Expander, Traversal, bfs
from lineagegraph.collector import collector_paused
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, kind_of, make_id, parse_id, short_name
from lineagegraph.model import (
    HISTORY_ORDER,
    ChangeSet,
    Check,
    Direction,
    EdgeKind,
    HealthReason,
    HealthRecord,
    HealthStatus,
    Node,
    Precision,
    ReasonKind,
    RunState,
    parse_time,
    time_stamp,
)
from lineagegraph.store.base import Hop, SearchFilter, Store

__all__ = [
    "WALK_LIMIT",
    "AtRiskEntry",
    "CascadeReport",
    "HealthRepair",
    "cascade",
    "check_of_result",
    "compute_health",
    "health_rules_fingerprint",
    "health_update",
    "repair_health",
    "stored_health",
]


@lru_cache(maxsize=1)
def health_rules_fingerprint() -> str:
    """Names the health rules of this installation: a hash of the package version and
    of the source of the algorithms, the model they compute over and the ids module.

    Stored health agrees with a recomputation only under the same rules, so the service
    trusts health that a clean close left behind (:meth:`Store.settled_health`) only when
    it was settled under this fingerprint.
    """
    import lineagegraph

    package = Path(lineagegraph.__file__).parent
    digest = hashlib.sha256(lineagegraph.__version__.encode())
    # ids.py names the entities in the reasons' messages.
    sources = [*sorted((package / "algorithms").glob("*.py")), package / "model.py"]
    for source in [*sources, package / "ids.py"]:
        digest.update(source.name.encode())
        try:
            digest.update(source.read_bytes())
        except OSError:  # installed without sources: no fingerprint matches, ever
            digest.update(os.urandom(16))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class AtRiskEntry:
    """One entity that a failing result puts at risk, with the evidence."""

    id: str
    kind: Kind
    path: tuple[str, ...]  # from the checked entity to this entity
    hops: int
    precision: Precision
    message: str
    rests_on: ReasonKind  # what the evidence is


@dataclass(frozen=True)
class CascadeReport:
    """What one result puts at risk: the failure and every entity it reaches."""

    result_id: str
    check_id: str
    checked_id: str  # the dataset or field the check is on
    dataset_version_id: str | None  # the version the result ran on, when known
    passed: bool
    observed_at: datetime  # datetime.min (UTC) when the stored result has no valid time
    latest: bool  # whether it is the check's latest result (so the check fails now)
    failing: tuple[str, ...]  # entities whose own check this is, while it fails now
    at_risk: tuple[AtRiskEntry, ...]  # sorted by hops, then id


@dataclass(frozen=True)
class HealthRepair:
    """What a full health recomputation found and changed."""

    records: dict[str, HealthRecord]  # the computed non-OK health, by id
    written: tuple[str, ...]  # ids whose stored record was added or changed
    removed: tuple[str, ...]  # ids whose stored record was removed (back to OK)


# --- graph facts ------------------------------------------------------------------------------

_DOWN, _UP = Direction.DOWNSTREAM, Direction.UPSTREAM
_NOT_OK = (HealthStatus.AT_RISK, HealthStatus.FAILING)
_PAGE = 1000
_UNKNOWN_TIME = datetime.min.replace(tzinfo=UTC)


_KINDS = {kind.value.lower(): kind for kind in Kind}


def _kind(entity_id: str) -> Kind:
    """The kind of a well-formed id (from the store or a validated changeset)."""
    return _KINDS[entity_id.partition("|")[0]]


def _dataset(entity_id: str) -> str:
    """The dataset of a well-formed field, dataset version, check or result id."""
    parts = entity_id.split("|", 3)
    return f"dataset|{parts[1]}|{parts[2]}"


class _Facts:
    """Cached, batched reads of what the propagation rules consult.

    One instance serves one computation over a store that does not change
    meanwhile (health is computed under the service's write lock).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._nodes: dict[str, Node | None] = {}
        self._neighbours: dict[tuple[EdgeKind, Direction], dict[str, tuple[str, ...]]] = {}
        self._downstream: dict[str, list[Hop]] = {}
        self._ordered_versions: dict[str, tuple[str, ...]] = {}
        # datasets and jobs with versions or runs -> the latest one (None: none of
        # the member kind), and those without any
        self._latest: dict[str, str | None] = {}
        self._unversioned: set[str] = set()

    def nodes(self, ids: Iterable[str]) -> dict[str, Node]:
        """The nodes among these ids that exist."""
        wanted = list(dict.fromkeys(ids))
        missing = [i for i in wanted if i not in self._nodes]
        if missing:
            found = self.store.get(missing)
            for node_id in missing:
                self._nodes[node_id] = found.get(node_id)
        return {i: n for i in wanted if (n := self._nodes[i]) is not None}

    def exists(self, ids: Iterable[str]) -> set[str]:
        """The ids that exist (cheaper than :meth:`nodes` for ids not fetched yet)."""
        wanted = list(dict.fromkeys(ids))
        known = {i for i in wanted if self._nodes.get(i) is not None}
        unknown = [i for i in wanted if i not in self._nodes]
        if unknown:
            known.update(self.store.kinds(unknown))
        return known

    def downstream(self, ids: Iterable[str]) -> None:
        """Read every hop downstream of these ids that the rules follow or consult.

        One :meth:`Store.expand` along :data:`_DOWNSTREAM_KINDS` for the ids not read
        yet; later questions about any of those kinds from these ids, in either
        traversal, cost no round trip.
        """
        cache = self._downstream
        missing = [i for i in dict.fromkeys(ids) if i not in cache]
        if not missing:
            return
        for node_id in missing:
            cache[node_id] = []
        for hop in self.store.expand(missing, _DOWN, _DOWNSTREAM_KINDS):
            cache[hop.source].append(hop)

    def hops(self, ids: Iterable[str], kinds: Collection[EdgeKind]) -> list[Hop]:
        """The current hops downstream of each id along some of :data:`_DOWNSTREAM_KINDS`."""
        wanted = list(dict.fromkeys(ids))
        self.downstream(wanted)
        cache = self._downstream
        return [hop for i in wanted for hop in cache[i] if hop.kind in kinds]

    def load(self, ids: Iterable[str], kinds: Collection[EdgeKind], direction: Direction) -> None:
        """Read the current neighbours of these ids along these edge kinds, where not cached.

        One :meth:`Store.expand` reads every kind for every id that misses one; the
        answer is cached per id and kind.
        """
        ordered = sorted(set(kinds))
        caches = [self._neighbours.setdefault((kind, direction), {}) for kind in ordered]
        wanted = dict.fromkeys(ids)
        unique = set(wanted)
        absent: set[str] = set()
        for cache in caches:
            absent.update(unique.difference(cache))  # looks up each id, whatever cache's size
        if not absent:
            return
        missing = [i for i in wanted if i in absent]
        found: dict[EdgeKind, dict[str, list[str]]] = {kind: {} for kind in ordered}
        for hop in self.store.expand(missing, direction, ordered):
            found[hop.kind].setdefault(hop.source, []).append(hop.target)
        for kind, cache in zip(ordered, caches, strict=True):
            cache.update(dict.fromkeys(missing, ()))
            cache.update((i, _sorted(targets)) for i, targets in found[kind].items())

    def neighbours(
        self, ids: Iterable[str], kind: EdgeKind, direction: Direction
    ) -> dict[str, tuple[str, ...]]:
        """The current neighbours of each id along one edge kind, sorted.

        Downstream along a kind the rules read, this reads (or reuses) all of
        :meth:`downstream` for the ids.
        """
        wanted = list(dict.fromkeys(ids))
        cache = self._neighbours.setdefault((kind, direction), {})
        missing = [i for i in wanted if i not in cache]
        if missing:
            if direction is _DOWN and kind in _DOWNSTREAM_KINDS:
                self.downstream(missing)
                hops = self._downstream
                for node_id in missing:
                    cache[node_id] = _sorted([h.target for h in hops[node_id] if h.kind is kind])
            else:
                self.load(missing, (kind,), direction)
        return {i: cache[i] for i in wanted}

    def version_ids(self, datasets: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Each dataset's versions, by id (no node reads)."""
        linked = self.neighbours(datasets, EdgeKind.HAS_VERSION, _DOWN)
        return {
            d: tuple(v for v in vs if _kind(v) is Kind.DATASET_VERSION) for d, vs in linked.items()
        }

    def versions(self, datasets: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Each dataset's versions, oldest first (by ``created_at``, then id).

        Reads every version of the datasets: the verdicts of a check need them all.
        Questions about the latest version only go through :meth:`latest`.
        """
        wanted = list(dict.fromkeys(datasets))
        new = [d for d in wanted if d not in self._ordered_versions]
        if new:
            versions = self.version_ids(new)
            # Only a dataset with several versions needs their times to order them.
            nodes = self.nodes(v for vs in versions.values() if len(vs) > 1 for v in vs)
            for dataset, linked in versions.items():
                ordered = sorted(linked, key=lambda v: (_version_time(nodes.get(v)), v))
                self._ordered_versions[dataset] = tuple(ordered)
        return {d: self._ordered_versions[d] for d in wanted}

    def latest(self, ids: Iterable[str], ahead: Iterable[str] = ()) -> None:
        """Learn whether these datasets (jobs) have versions (runs), and which is the latest.

        One :meth:`Store.latest_history` for the ids not asked about yet, whatever the
        size of their history. Ids needed soon (``ahead``) join that read when there is
        one, and cause none.
        """
        known, unversioned = self._latest, self._unversioned
        missing = [i for i in dict.fromkeys(ids) if i not in known and i not in unversioned]
        if not missing:
            return
        missing.extend(i for i in dict.fromkeys(ahead) if i not in known and i not in unversioned)
        missing = list(dict.fromkeys(missing))
        answers = self.store.latest_history(missing)
        known.update(answers)
        self._unversioned.update(i for i in missing if i not in answers)

    def latest_version(self, dataset: str) -> str | None:
        """The latest version of a dataset (by ``created_at``, then id), if any."""
        self.latest([dataset])
        return self._latest.get(dataset)

    def versioned(self, dataset: str) -> bool:
        """Whether a dataset has any versions."""
        self.latest([dataset])
        return dataset in self._latest

    def has_runs(self, job: str) -> bool:
        """Whether a job has any runs."""
        self.latest([job])
        return job in self._latest

    def latest_run(self, job: str) -> str | None:
        """The latest run of a job (by its time stamp, ``model.member_stamp``, then id)."""
        self.latest([job])
        return self._latest.get(job)


def _sorted(targets: list[str]) -> tuple[str, ...]:
    """Neighbours as a sorted tuple without repeats (most entities have one or none)."""
    return (targets[0],) if len(targets) == 1 else tuple(sorted(set(targets)))


def _version_time(node: Node | None) -> str:
    return "" if node is None else time_stamp(node.attrs.get("created_at"))


# --- checks and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    """What the rules need of one result."""

    id: str
    check_id: str
    passed: bool
    observed_at: str
    version: str | None  # the dataset version it ran on
    observed: str | None

    @property
    def order(self) -> tuple[str, str]:
        return (self.observed_at, self.id)


@dataclass
class _Check:
    """A check with its results and the verdict they give each version."""

    id: str
    label: str  # its short name, as search results and references give it
    checked_id: str
    dataset_id: str
    results: dict[str, _Result]
    latest: _Result | None
    tainted: dict[str, tuple[_Result, bool]]  # version -> (failing verdict, inherited?)

    def sources(self, result_id: str) -> list[tuple[str, bool]]:
        """The versions whose verdict is this result, with whether they inherited it."""
        return sorted(
            (version, inherited)
            for version, (verdict, inherited) in self.tainted.items()
            if verdict.id == result_id
        )

    def fails_now(self, result_id: str) -> bool:
        """Whether this result is the check's latest and failed."""
        return self.latest is not None and self.latest.id == result_id and not self.latest.passed


def check_of_result(result_id: str) -> str:
    """The id of the check a result belongs to."""
    key = parse_id(result_id)
    return make_id(Kind.CHECK, key.namespace, key.name, key.parts[0])


def _load_checks(facts: _Facts, check_ids: Iterable[str]) -> dict[str, _Check]:
    """Checks with their checked entity, results and version verdicts (missing ones skipped)."""
    nodes = {i: n for i, n in facts.nodes(sorted(set(check_ids))).items() if n.kind is Kind.CHECK}
    ids = sorted(nodes)
    checked_by = facts.neighbours(ids, EdgeKind.HAS_CHECK, _UP)
    datasets = {check_id: _dataset(check_id) for check_id in ids}
    # The checks' results and their datasets' versions (for the verdicts), in one read.
    facts.load([*ids, *datasets.values()], (EdgeKind.HAS_RESULT, EdgeKind.HAS_VERSION), _DOWN)
    results_of = facts.neighbours(ids, EdgeKind.HAS_RESULT, _DOWN)
    result_ids = sorted({r for i in ids for r in results_of[i] if _kind(r) is Kind.RESULT})
    result_nodes = facts.nodes(result_ids)
    evaluated = facts.neighbours(result_ids, EdgeKind.EVALUATED, _DOWN)
    fallback: dict[str, str] = {}
    for check_id in ids:
        if not checked_by[check_id]:
            check = Check.from_node(nodes[check_id])
            fallback[check_id] = check.target_id
    present = facts.exists(fallback.values())
    named_versions = {
        str(n.attrs["dataset_version"])
        for n in result_nodes.values()
        if isinstance(n.attrs.get("dataset_version"), str)
    }
    present_versions = facts.exists(v for v in named_versions if _is_kind(v, Kind.DATASET_VERSION))
    versions = facts.versions(datasets.values())
    version_times = {
        v: _version_time(n)
        for v, n in facts.nodes(v for vs in versions.values() for v in vs).items()
    }
    checks: dict[str, _Check] = {}
    for check_id in ids:
        if checked_by[check_id]:
            checked = checked_by[check_id][0]
        elif fallback[check_id] in present:
            checked = fallback[check_id]
        else:
            continue  # a check on nothing that exists puts nothing at risk
        dataset = datasets[check_id]
        results: dict[str, _Result] = {}
        for result_id in results_of[check_id]:
            node = result_nodes.get(result_id)
            if node is None:
                continue
            observed_at = time_stamp(node.attrs.get("observed_at"))
            version = next(
                (v for v in evaluated[result_id] if _kind(v) is Kind.DATASET_VERSION), None
            )
            named = node.attrs.get("dataset_version")
            if version is None and isinstance(named, str) and named in present_versions:
                version = named
            if version is None and observed_at:
                earlier = [
                    v for v in versions[dataset] if "" < version_times.get(v, "") <= observed_at
                ]
                version = earlier[-1] if earlier else None
            observed = node.attrs.get("observed")
            results[result_id] = _Result(
                id=result_id,
                check_id=check_id,
                passed=bool(node.attrs.get("passed", False)),
                observed_at=observed_at,
                version=version,
                observed=observed if isinstance(observed, str) else None,
            )
        latest = max(results.values(), key=lambda r: r.order, default=None)
        checks[check_id] = _Check(
            id=check_id,
            label=short_name(check_id),
            checked_id=checked,
            dataset_id=dataset,
            results=results,
            latest=latest,
            tainted=_verdicts(results.values(), versions[dataset]),
        )
    return checks


def _is_kind(entity_id: str, kind: Kind) -> bool:
    try:
        return kind_of(entity_id) is kind
    except InvalidInput:
        return False


def _verdicts(
    results: Iterable[_Result], versions: Sequence[str]
) -> dict[str, tuple[_Result, bool]]:
    """The failing verdicts per version: own latest result, else the previous version's."""
    latest_on: dict[str, _Result] = {}
    for result in results:
        if result.version is None:
            continue
        current = latest_on.get(result.version)
        if current is None or result.order > current.order:
            latest_on[result.version] = result
    tainted: dict[str, tuple[_Result, bool]] = {}
    carried: _Result | None = None
    for version in versions:
        own = latest_on.get(version)
        verdict, inherited = (own, False) if own is not None else (carried, True)
        carried = verdict
        if verdict is not None and not verdict.passed:
            tainted[version] = (verdict, inherited)
    listed = set(versions)
    for version, own in latest_on.items():
        if version not in listed and not own.passed:
            tainted[version] = (own, False)
    return tainted


# --- propagation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """How one result reaches one entity."""

    path: tuple[str, ...]
    precision: Precision
    own: bool  # the entity's own check failed (hops 0)
    message: str
    kind: ReasonKind

    @property
    def hops(self) -> int:
        return 0 if self.own else len(self.path) - 1


# Edges the version-aware rules follow downstream (catalog steps are derived), and the
# design-lineage edges the design rules follow.
_VERSION_KINDS = frozenset(
    {
        EdgeKind.READ_BY,
        EdgeKind.WROTE,
        EdgeKind.SERVES,
        EdgeKind.HAS_FIELD,
        EdgeKind.COMPUTED_FROM,
    }
)
_DESIGN_KINDS = frozenset({EdgeKind.READS, EdgeKind.TRAINED_ON, EdgeKind.DERIVES, EdgeKind.WRITES})
_DESIGN_SOURCES = frozenset({Kind.DATASET, Kind.FIELD, Kind.FEATURE, Kind.MODEL_VERSION, Kind.JOB})
# Everything the rules read downstream of an entity: what both traversals follow. Which
# version or run is the latest is asked of the store apart (Store.latest_history), so
# reading an entity never lists its whole history.
_DOWNSTREAM_KINDS = _VERSION_KINDS | _DESIGN_KINDS


def _is_data(entity_id: str) -> bool:
    """Whether an id is a dataset or a field (whose dataset's versions the rules consult)."""
    return _kind(entity_id) in (Kind.DATASET, Kind.FIELD)


class _Rules:
    """The propagation rules of one failing result, as a hop function for :func:`bfs`.

    Without ``design`` it gives the version-aware hops (runs, versions, catalog);
    with it, also the design-lineage hops with the crossing rules of the module
    docs. ``whole`` is a checked dataset whose fields a failing dataset-level
    check reaches directly; ``partial`` is the dataset of a failing field, whose
    other fields its tainted versions do not put at risk.
    """

    def __init__(self, facts: _Facts) -> None:
        self.facts = facts
        self.store = facts.store

    def expander(
        self,
        *,
        design: bool,
        whole: str | None,
        partial: str | None,
        explored: Collection[str] = (),
    ) -> Expander:
        """The hop function for one traversal.

        Nodes in ``explored`` were expanded by the version-aware traversal already,
        so only their design-lineage hops are new.
        """

        tainted_reads: dict[str, set[str]] = {}  # run -> datasets of the tainted versions it read
        held_back: dict[str, list[Hop]] = {}  # run -> the WROTE hops its own table held back

        def expand(frontier: Sequence[str]) -> list[Hop]:
            return self._hops(frontier, design, whole, partial, explored, tainted_reads, held_back)

        return expand

    def _hops(
        self,
        frontier: Sequence[str],
        design: bool,
        whole: str | None,
        partial: str | None,
        explored: Collection[str],
        tainted_reads: dict[str, set[str]],
        held_back: dict[str, list[Hop]],
    ) -> list[Hop]:
        facts = self.facts
        kinds = _DESIGN_KINDS | _VERSION_KINDS if design else _VERSION_KINDS
        fresh = [n for n in frontier if n not in explored] if explored else list(frontier)
        asked = list(fresh)
        if design and explored:  # explored nodes only need their design-lineage edges
            asked.extend(n for n in frontier if n in explored and _kind(n) in _DESIGN_SOURCES)
        by_kind = _by_kind(fresh)
        runs = by_kind[Kind.RUN]
        dataset_versions = by_kind[Kind.DATASET_VERSION]
        datasets = by_kind[Kind.DATASET]
        owners = {v: _dataset(v) for v in dataset_versions}
        jobs_of = facts.neighbours(runs, EdgeKind.HAS_RUN, _UP)
        jobs = [j for r in runs for j in jobs_of[r]]
        # One read of the frontier's downstream edges (the design-lineage ones too, which
        # the design traversal follows next) and one of what the rules consult about it:
        # the latest versions of its datasets and of its versions' datasets, and the
        # latest runs of its runs' jobs. Then each hop is kept, dropped or redirected by
        # the rule for its source kind and edge kind.
        facts.downstream(asked)
        raw = facts.hops(asked, kinds)
        version_hops: list[Hop] = []
        design_hops: list[Hop] = []
        for hop in raw:
            if hop.kind in _VERSION_KINDS and (not explored or hop.source not in explored):
                version_hops.append(hop)
            if design and hop.kind in _DESIGN_KINDS:
                design_hops.append(hop)
        # The same read learns what the next level consults (the datasets of the versions
        # reached) and what the design hops do: in a chain of runs and versions, every
        # other level then needs no read of its own.
        facts.latest(
            [*owners.values(), *jobs, *datasets],
            ahead=[
                *(_dataset(h.target) for h in version_hops if h.kind is EdgeKind.WROTE),
                *_design_consults(design_hops),
            ],
        )
        hops: list[Hop] = []
        for hop in version_hops:
            source_kind = _kind(hop.source)
            if hop.kind is EdgeKind.HAS_FIELD:
                # A dataset at risk as a whole puts all its fields at risk.
                if (
                    source_kind is Kind.DATASET
                    and _kind(hop.target) is Kind.FIELD
                    and (
                        hop.source == whole
                        or (hop.source != partial and facts.versioned(hop.source))
                    )
                ):
                    hops.append(hop)
            elif hop.kind is EdgeKind.COMPUTED_FROM:
                if source_kind in (Kind.DATASET, Kind.FIELD):
                    hops.append(hop)
            elif hop.kind is EdgeKind.WROTE:
                # A run that writes the dataset it read (an incremental or merge model)
                # passes no taint from that read to the version it writes: the dataset's
                # own verdicts carry a failure from version to version until a result
                # passes, and taint from upstream comes in through the run's other reads.
                # Otherwise a failure, once in such a table, went on from each version to
                # the next forever. The run itself, and so its job, is still at risk.
                written = _dataset(hop.target) if _kind(hop.target) is Kind.DATASET_VERSION else ""
                if tainted_reads.get(hop.source) != {written}:
                    hops.append(hop)  # versions a tainted run wrote
                else:  # until taint reaches the run through another read
                    held_back.setdefault(hop.source, []).append(hop)
            elif hop.kind is EdgeKind.SERVES:
                hops.append(hop)  # deployments serving it now
            elif hop.kind is EdgeKind.READ_BY:
                hops.append(hop)  # runs that read a tainted version
                source = hop.source  # a model version read (a warm start) passes taint on
                read = _dataset(source) if source in owners else source
                reads = tainted_reads.setdefault(hop.target, set())
                reads.add(read)
                if hop.target in held_back and len(reads) > 1:
                    # the run was expanded already, with only its own table tainted
                    hops.extend(held_back.pop(hop.target))
        # A version that is its dataset's latest puts the dataset at risk (a dataset that
        # does not exist has no versions).
        for version, dataset in owners.items():
            if facts.latest_version(dataset) == version:
                hops.append(Hop(version, EdgeKind.HAS_VERSION, dataset))
        # A run that is its job's latest puts the job at risk.
        for run in runs:
            for job in jobs_of[run]:
                if facts.latest_run(job) == run:
                    hops.append(Hop(run, EdgeKind.HAS_RUN, job))
        if design_hops:
            hops.extend(self._design_hops(design_hops))
        return hops

    def _design_hops(self, raw: list[Hop]) -> list[Hop]:
        """The design-lineage hops to keep, with the crossing rules of the module docs."""
        facts = self.facts
        by_edge: dict[EdgeKind, list[Hop]] = defaultdict(list)
        for hop in raw:
            by_edge[hop.kind].append(hop)
        sources_of = [h.source for h in raw]
        features = [s for s in sources_of if _kind(s) is Kind.FEATURE]
        readers = [
            h
            for h in by_edge[EdgeKind.READS]
            if _kind(h.source) in (Kind.DATASET, Kind.FEATURE, Kind.MODEL_VERSION)
        ]
        trained = [
            h
            for h in by_edge[EdgeKind.TRAINED_ON]
            if _kind(h.source) in (Kind.DATASET, Kind.FIELD, Kind.FEATURE)
        ]
        derived = by_edge[EdgeKind.DERIVES]
        written = [h for h in by_edge[EdgeKind.WRITES] if _kind(h.source) is Kind.JOB]
        # What the crossing rules consult, in one read upstream (the sources of features,
        # the writers of model versions), one downstream (the hops' targets, read in full
        # because the next level expands those it keeps) and one of the latest versions
        # and runs: of the datasets of the inputs, of the fields reached and of the
        # datasets written, and of the jobs reading.
        model_versions = [
            *(h.target for h in trained),
            *(h.target for h in written if _kind(h.target) is Kind.MODEL_VERSION),
        ]
        facts.load([*features, *model_versions], (EdgeKind.COMPUTED_FROM, EdgeKind.WROTE), _UP)
        sources = facts.neighbours(features, EdgeKind.COMPUTED_FROM, _UP)
        inputs = [*sources_of, *(s for f in features for s in sources[f])]
        consulted = [
            *(i if _kind(i) is Kind.DATASET else _dataset(i) for i in inputs if _is_data(i)),
            *(_dataset(h.target) for h in derived),
        ]
        facts.downstream(h.target for h in raw)
        facts.latest(
            [
                *consulted,
                *(h.target for h in readers),
                *(h.target for h in written if _kind(h.target) is Kind.DATASET),
            ]
        )

        def unrecorded(entity: str) -> bool:
            """Whether runs cannot record reading this input (it has no versions)."""
            kind = _kind(entity)
            if kind is Kind.DATASET:
                return not facts.versioned(entity)
            if kind is Kind.FIELD:
                return not facts.versioned(_dataset(entity))
            if kind is Kind.FEATURE:
                inputs = sources[entity]
                return not inputs or any(unrecorded(i) for i in inputs)
            return False  # a model version is itself a version that runs record reading

        hops: list[Hop] = []
        read_crossing = [h for h in readers if facts.has_runs(h.target) and unrecorded(h.source)]
        derived_crossing = [
            h for h in derived if facts.versioned(_dataset(h.target)) and unrecorded(h.source)
        ]
        # Jobs reading the entity: a job without runs is entered; a job with runs only
        # from an input its runs cannot record, and then its latest run is tainted.
        hops.extend(h for h in readers if not facts.has_runs(h.target))
        for hop in read_crossing:
            latest = facts.latest_run(hop.target)
            if latest is not None:
                hops.append(Hop(hop.source, EdgeKind.READS, latest))
        # Model versions trained on it: one written by a recorded run only from an input
        # that run cannot record.
        writers = facts.neighbours([h.target for h in trained], EdgeKind.WROTE, _UP)
        hops.extend(h for h in trained if not writers[h.target] or unrecorded(h.source))
        # Column lineage: into fields of datasets without versions; into a versioned
        # dataset only from a field runs cannot record, tainting its latest version.
        hops.extend(h for h in derived if not facts.versioned(_dataset(h.target)))
        for hop in derived_crossing:
            latest = facts.latest_version(_dataset(hop.target))
            if latest is not None:
                hops.append(Hop(hop.source, EdgeKind.DERIVES, latest))
        # What a job writes: datasets without versions, features, and model versions
        # that no recorded run wrote (runs decide the others).
        mv_writers = facts.neighbours(
            [h.target for h in written if _kind(h.target) is Kind.MODEL_VERSION],
            EdgeKind.WROTE,
            _UP,
        )
        for hop in written:
            kind = _kind(hop.target)
            if (
                (kind is Kind.DATASET and not facts.versioned(hop.target))
                or kind is Kind.FEATURE
                or (kind is Kind.MODEL_VERSION and not mv_writers[hop.target])
            ):
                hops.append(hop)
        return hops


def _design_consults(hops: Iterable[Hop]) -> list[str]:
    """The datasets and jobs whose versions or runs the crossing rules consult for these hops.

    What :meth:`_Rules._design_hops` asks :meth:`_Facts.latest` about, but for the
    datasets of the features' sources, which it reads first.
    """
    consulted: list[str] = []
    for hop in hops:
        if _is_data(hop.source):
            consulted.append(
                _dataset(hop.source) if _kind(hop.source) is Kind.FIELD else hop.source
            )
        if hop.kind is EdgeKind.READS or (
            hop.kind is EdgeKind.WRITES and _kind(hop.target) is Kind.DATASET
        ):
            consulted.append(hop.target)
        elif hop.kind is EdgeKind.DERIVES:
            consulted.append(_dataset(hop.target))
    return consulted


def _by_kind(ids: Iterable[str]) -> dict[Kind, list[str]]:
    grouped: dict[Kind, list[str]] = defaultdict(list)
    for entity_id in ids:
        grouped[_kind(entity_id)].append(entity_id)
    return grouped


def _reach(rules: _Rules, check: _Check, result: _Result) -> dict[str, _Mark]:
    """Every entity a failing result reaches, with the mark it leaves (runs excluded)."""
    marks: dict[str, _Mark] = {}
    if result.passed:
        return marks
    checked = check.checked_id
    label = short_name(checked)
    failing_now = check.fails_now(result.id)
    observed = f" ({result.observed})" if result.observed else ""
    partial = check.dataset_id if _kind(checked) is Kind.FIELD else None
    # Version-aware: from the versions whose verdict is this result, through runs.
    sources = check.sources(result.id)
    prefix: dict[str, tuple[str, ...]] = {}
    for version, inherited in sources:
        prefix[version] = (checked, version)
        if inherited and result.version is not None:
            message = (
                f"{check.label} failed on the earlier version {short_name(result.version)}"
                f"{observed} and no newer result has passed"
            )
        else:
            message = f"{check.label} failed on this version{observed}"
        marks[version] = _Mark(
            (checked, version), Precision.CONFIRMED, False, message, ReasonKind.CHECKED_VERSION
        )
    confirmed = bfs(
        rules.store,
        [v for v, _ in sources],
        _DOWN,
        (),
        expand=rules.expander(design=False, whole=None, partial=partial),
        start_depths={v: 1 for v, _ in sources},
    )
    seeds = _paths(confirmed, prefix)
    # A job is reached through its latest run; one that was aborted (a dbt model skipped
    # after an upstream failure) did not read what it is recorded with as input, but
    # left the job's output as it was before the failure.
    latest_runs = rules.facts.nodes(
        path[-2]
        for node_id, path in seeds.items()
        if _kind(node_id) is Kind.JOB and _kind(path[-2]) is Kind.RUN
    )
    for node_id, path in sorted(seeds.items()):
        if node_id not in marks and _kind(node_id) is not Kind.RUN:
            hops = len(path) - 1
            where = f"data where {check.label} on {label} failed, {_hops(hops)} upstream"
            run = latest_runs.get(path[-2]) if _kind(node_id) is Kind.JOB else None
            if run is not None and run.attrs.get("state") == RunState.ABORT.value:
                done = (
                    "was skipped, reading and writing nothing"
                    if run.attrs.get("status") == "skipped"
                    else "was aborted"
                )
                message = (
                    f"its latest run {done}, so its output has not been refreshed since "
                    f"{where}, and its consumers still read stale data (recorded runs)"
                )
                kind = ReasonKind.NOT_REFRESHED
            else:
                message = f"reads {where} (confirmed through recorded runs)"
                kind = ReasonKind.RECORDED_RUNS
            marks[node_id] = _Mark(path, Precision.CONFIRMED, False, message, kind)
    # Design lineage: from the checked entity while its check fails now, and from
    # everything runs put at risk; never back into what runs decided.
    explored = set(seeds)
    own: dict[str, _Mark] = {}
    if failing_now:
        own[checked] = _Mark(
            (checked,),
            Precision.CONFIRMED,
            True,
            f"{check.label} failed{observed}",
            ReasonKind.OWN_CHECK,
        )
        if _kind(checked) is Kind.FIELD:
            dataset = check.dataset_id
            if rules.facts.exists([dataset]):
                own[dataset] = _Mark(
                    (checked, dataset),
                    Precision.CONFIRMED,
                    True,
                    f"{check.label} on field {short_name(checked)} failed{observed}",
                    ReasonKind.OWN_CHECK,
                )
        seeds[checked] = (checked,)
    fixed = set(seeds)
    dataset_level = checked if _kind(checked) is Kind.DATASET and failing_now else None
    potential = bfs(
        rules.store,
        sorted(seeds),
        _DOWN,
        (),
        expand=rules.expander(design=True, whole=dataset_level, partial=partial, explored=explored),
        follow=lambda hop: hop.target not in fixed,
        start_depths={node_id: len(path) - 1 for node_id, path in seeds.items()},
    )
    reached_fields: list[tuple[str, tuple[str, ...]]] = []
    for node_id, path in _paths(potential, seeds).items():
        if node_id in marks or node_id in own or _kind(node_id) is Kind.RUN:
            continue
        hops = len(path) - 1
        marks[node_id] = _Mark(
            path,
            Precision.POTENTIAL,
            False,
            f"downstream of {label} where {check.label} failed, {_hops(hops)} "
            "(potential: by design lineage)",
            ReasonKind.DESIGN_LINEAGE,
        )
        if _kind(node_id) is Kind.FIELD and node_id not in seeds:
            reached_fields.append((node_id, path))
    # A field reached through column lineage puts its dataset at risk, partially.
    partly: dict[str, tuple[str, ...]] = {}
    for field, path in reached_fields:
        dataset = _dataset(field)
        candidate = (*path, dataset)
        best = partly.get(dataset)
        if best is None or (len(candidate), candidate) < (len(best), best):
            partly[dataset] = candidate
    present = rules.facts.exists(partly)
    for dataset, path in sorted(partly.items()):
        if dataset in marks or dataset in own or dataset not in present:
            continue
        marks[dataset] = _Mark(
            path,
            Precision.POTENTIAL,
            False,
            f"partially: field {short_name(path[-2])} is downstream of {label} where "
            f"{check.label} failed (potential: by design lineage)",
            ReasonKind.DESIGN_LINEAGE,
        )
    marks.update(own)
    return marks


def _paths(
    traversal: Traversal, prefix: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Full paths from the checked entity: a source's own path, then the traversal's."""
    paths: dict[str, tuple[str, ...]] = {}
    for node_id, reached in traversal.reached.items():  # in discovery order
        via = reached.via
        paths[node_id] = prefix[node_id] if via is None else (*paths[via.source], node_id)
    return paths


# --- health records ---------------------------------------------------------------------------


def _reason(result: _Result, check: _Check, mark: _Mark) -> HealthReason:
    return HealthReason(
        result_id=result.id,
        check_id=check.id,
        checked_id=check.checked_id,
        path=mark.path,
        hops=mark.hops,
        precision=mark.precision,
        message=mark.message,
        kind=mark.kind,
    )


def _record(entity_id: str, reasons: Iterable[HealthReason]) -> HealthRecord:
    ordered = tuple(sorted(reasons, key=lambda r: (r.hops, r.result_id, r.path)))
    status = HealthStatus.FAILING if any(r.hops == 0 for r in ordered) else HealthStatus.AT_RISK
    return HealthRecord(id=entity_id, kind=_kind(entity_id), status=status, reasons=ordered)


# A reason found by a walk, before it is made a HealthReason: most are found again as
# they were stored, and comparing these costs a fraction of building and comparing those.
_Found = tuple[_Result, _Check, _Mark]


def _found_of(
    rules: _Rules, checks: Mapping[str, _Check], result_ids: Iterable[str]
) -> dict[str, list[_Found]]:
    """The reasons that these results give each entity they reach, as found."""
    found: dict[str, list[_Found]] = defaultdict(list)
    for result_id in sorted(set(result_ids)):
        check = checks.get(check_of_result(result_id))
        result = None if check is None else check.results.get(result_id)
        if check is None or result is None or result.passed:
            continue
        for entity_id, mark in _reach(rules, check, result).items():
            found[entity_id].append((result, check, mark))
    return found


def _reasons_of(
    rules: _Rules, checks: Mapping[str, _Check], result_ids: Iterable[str]
) -> dict[str, list[HealthReason]]:
    """The reasons that these results give each entity they reach."""
    return {
        entity_id: [_reason(*f) for f in found]
        for entity_id, found in _found_of(rules, checks, result_ids).items()
    }


def _found_again(stored: Sequence[HealthReason], found: Sequence[_Found]) -> bool:
    """Whether reasons found are exactly these stored ones (in any order)."""
    if len(stored) != len(found):
        return False
    stored_keys = sorted(
        (r.result_id, r.check_id, r.checked_id, r.path, r.hops, r.precision, r.message, r.kind)
        for r in stored
    )
    found_keys = sorted(
        (result.id, check.id, check.checked_id, m.path, m.hops, m.precision, m.message, m.kind)
        for result, check, m in found
    )
    return stored_keys == found_keys


def _all_checks(store: Store) -> list[str]:
    checks: list[str] = []
    after: str | None = None
    only_checks = SearchFilter(kinds=frozenset({Kind.CHECK}))
    while True:
        page = store.search("", only_checks, first=_PAGE, after=after)
        checks.extend(n.id for n in page.items)
        if not page.has_next_page or not page.items:
            return checks
        after = page.end_cursor


def compute_health(store: Store) -> dict[str, HealthRecord]:
    """Every non-OK health record, computed from scratch (see the module docs)."""
    with collector_paused():
        return _compute_health(store)


def _compute_health(store: Store) -> dict[str, HealthRecord]:
    facts = _Facts(store)
    checks = _load_checks(facts, _all_checks(store))
    failing = [r.id for c in checks.values() for r in c.results.values() if not r.passed]
    reasons = _reasons_of(_Rules(facts), checks, failing)
    return {entity_id: _record(entity_id, found) for entity_id, found in sorted(reasons.items())}


def stored_health(store: Store) -> dict[str, HealthRecord]:
    """Every stored (non-OK) health record, by id."""
    records: dict[str, HealthRecord] = {}
    after: str | None = None
    while True:
        page = store.health_page(_NOT_OK, (), first=_PAGE * 10, after=after)
        records.update((r.id, r) for r in page.items)
        if not page.has_next_page or not page.items:
            return records
        after = page.end_cursor


def repair_health(store: Store) -> HealthRepair:
    """Recompute all health from scratch and write whatever differs from what is stored."""
    computed = compute_health(store)
    stored = stored_health(store)
    written = sorted(i for i, r in computed.items() if stored.get(i) != r)
    removed = sorted(set(stored) - set(computed))
    if written or removed:
        store.apply(ChangeSet(health=[computed[i] for i in written], health_removals=removed))
    return HealthRepair(records=computed, written=tuple(written), removed=tuple(removed))


# --- incremental maintenance ------------------------------------------------------------------

# What the walk over stored health follows, in both directions: every edge a reason's
# path can step along (runs and data flow forward, containment both ways). One call per
# level costs less than one per direction, and walking more only costs lookups.
# Past this many entities the walk gives way to one query for the records naming the results.
WALK_LIMIT = 2_000
_WALK_KINDS = (
    EdgeKind.READ_BY,
    EdgeKind.WROTE,
    EdgeKind.HAS_RUN,
    EdgeKind.HAS_VERSION,
    EdgeKind.HAS_FIELD,
    EdgeKind.READS,
    EdgeKind.WRITES,
    EdgeKind.DERIVES,
    EdgeKind.COMPUTED_FROM,
    EdgeKind.TRAINED_ON,
    EdgeKind.SERVES,
)

# Datasets and jobs gather versions and runs by the thousand: the walk follows the other
# kinds from the store and steps along these two as paths do (see _history_hops).
_LEAN_WALK_KINDS = tuple(
    k for k in _WALK_KINDS if k not in {EdgeKind.HAS_RUN, EdgeKind.HAS_VERSION}
)


class _Touched:
    """What a changeset touched, grown into anchors and affected checks."""

    def __init__(self, facts: _Facts) -> None:
        self.facts = facts
        self.anchors: set[str] = set()
        self.checks: set[str] = set()
        self._datasets: dict[str, bool] = {}  # dataset -> its versions changed
        self._jobs: set[str] = set()
        self._runs: dict[str, bool] = {}  # run -> its job or start time changed
        self._model_versions: set[str] = set()
        self._fields: set[str] = set()
        self._features: set[str] = set()
        self._deployments: set[str] = set()

    def node(self, node: Node) -> None:
        """A node upsert: only attributes that the rules read matter."""
        kind = node.kind
        if kind is Kind.RESULT:
            self._check(check_of_result(node.id))
        elif kind is Kind.CHECK:
            self._check(node.id)
        elif kind is Kind.DATASET_VERSION:
            self.anchors.add(node.id)
            self._dataset(_dataset(node.id), versions_changed=True)
        elif kind is Kind.RUN:
            self._run(node.id, job_changed=True)

    def edge(self, source: str, kind: EdgeKind, target: str) -> None:
        """An edge added or ended."""
        self.anchors.update((source, target))
        if kind is EdgeKind.HAS_RESULT:
            self._check(source)
        elif kind is EdgeKind.EVALUATED:
            self._check(check_of_result(source))
            self._dataset(_dataset(target), versions_changed=True)
        elif kind is EdgeKind.HAS_CHECK:
            self._check(target)
        elif kind is EdgeKind.HAS_VERSION:
            if _kind(source) is Kind.DATASET:
                self._dataset(source, versions_changed=True)
        elif kind is EdgeKind.HAS_RUN:
            self._jobs.add(source)
            self._run(target, job_changed=True)
        elif kind is EdgeKind.READ_BY:
            self._run(target, job_changed=False)
            self._version(source)
        elif kind is EdgeKind.WROTE:
            self._run(source, job_changed=False)
            self._version(target)
        elif kind is EdgeKind.PARENT_OF:
            return
        for end in (source, target):
            end_kind = _kind(end)
            if end_kind is Kind.FIELD:
                self._fields.add(end)
            elif end_kind is Kind.FEATURE:
                self._features.add(end)
            elif end_kind is Kind.MODEL_VERSION:
                self._model_versions.add(end)
            elif end_kind is Kind.DEPLOYMENT:
                self._deployments.add(end)
            elif end_kind is Kind.DATASET:
                self._dataset(end, versions_changed=False)
            elif end_kind is Kind.JOB:
                self._jobs.add(end)

    def may_move_verdicts(self) -> bool:
        """Whether a check's results or a checked dataset's versions changed."""
        return bool(self.checks) or any(self._datasets.values())

    def checks_on_reversioned(self) -> set[str]:
        """The checks on datasets whose versions changed, and on their fields.

        Reads only these two kinds of edges: nothing else of the datasets is needed here.
        """
        facts, nb = self.facts, self.facts.neighbours
        reversioned = sorted(d for d, changed in self._datasets.items() if changed)
        facts.load(reversioned, (EdgeKind.HAS_FIELD, EdgeKind.HAS_CHECK), _DOWN)
        fields_of = nb(reversioned, EdgeKind.HAS_FIELD, _DOWN)
        facts.load([f for d in reversioned for f in fields_of[d]], (EdgeKind.HAS_CHECK,), _DOWN)
        checked = reversioned + [f for d in reversioned for f in fields_of[d]]
        return {
            check
            for on_checked in nb(checked, EdgeKind.HAS_CHECK, _DOWN).values()
            for check in on_checked
            if _kind(check) is Kind.CHECK
        }

    def _check(self, check_id: str) -> None:
        self.checks.add(check_id)
        self.anchors.add(check_id)
        self._dataset(_dataset(check_id), versions_changed=False)

    def _dataset(self, dataset: str, *, versions_changed: bool) -> None:
        self._datasets[dataset] = self._datasets.get(dataset, False) or versions_changed

    def _run(self, run: str, *, job_changed: bool) -> None:
        self._runs[run] = self._runs.get(run, False) or job_changed

    def _version(self, version: str) -> None:
        if _kind(version) is Kind.DATASET_VERSION:
            self._dataset(_dataset(version), versions_changed=False)
        elif _kind(version) is Kind.MODEL_VERSION:
            self._model_versions.add(version)

    def grow(self) -> None:
        """Add the neighbours whose propagation consults what was touched."""
        facts = self.facts
        anchors = self.anchors
        nb = facts.neighbours
        # Runs: their inputs and outputs; for a changed job link or start time, the job.
        runs = sorted(self._runs)
        anchors.update(runs)
        for inputs in nb(runs, EdgeKind.READ_BY, _UP).values():
            anchors.update(inputs)
        for outputs in nb(runs, EdgeKind.WROTE, _DOWN).values():
            for output in outputs:
                anchors.add(output)
                self._version(output)
        changed = [r for r, job_changed in self._runs.items() if job_changed]
        for owners in nb(changed, EdgeKind.HAS_RUN, _UP).values():
            self._jobs.update(owners)
        # Jobs: readers consult whether they have runs. Whatever reached the job's
        # latest run is on the job's own record; a new or moved run was touched itself.
        jobs = sorted(self._jobs)
        anchors.update(jobs)
        for readers in nb(jobs, EdgeKind.READS, _UP).values():
            anchors.update(readers)
        # Model versions: what trains and writes them consults whether a run wrote them.
        mvs = sorted(self._model_versions)
        anchors.update(mvs)
        for kind in (EdgeKind.TRAINED_ON, EdgeKind.WRITES, EdgeKind.SERVES):
            direction = _DOWN if kind is EdgeKind.SERVES else _UP
            for ends in nb(mvs, kind, direction).values():
                anchors.update(ends)
                self._fields.update(e for e in ends if _kind(e) is Kind.FIELD)
        # Datasets: fields, writers, column sources, features; and for changed versions,
        # every check on the dataset or its fields (verdicts may move). Whatever reached
        # the latest version is on the dataset's own record, and the walk over stored
        # health reaches older versions from the dataset.
        datasets = sorted(self._datasets)
        anchors.update(datasets)
        fields_of = nb(datasets, EdgeKind.HAS_FIELD, _DOWN)
        dataset_fields = sorted({f for fs in fields_of.values() for f in fs})
        anchors.update(dataset_fields)
        for writers in nb(datasets, EdgeKind.WRITES, _UP).values():
            anchors.update(writers)
        for sources in nb(dataset_fields, EdgeKind.DERIVES, _UP).values():
            anchors.update(sources)
        for computed in nb(datasets + dataset_fields, EdgeKind.COMPUTED_FROM, _DOWN).values():
            self._features.update(computed)
        self.checks.update(self.checks_on_reversioned())
        # Fields: their dataset and their column sources.
        fields = sorted(self._fields)
        anchors.update(fields)
        anchors.update(_dataset(f) for f in fields)
        for sources in nb(fields, EdgeKind.DERIVES, _UP).values():
            anchors.update(sources)
        for computed in nb(fields, EdgeKind.COMPUTED_FROM, _DOWN).values():
            self._features.update(computed)
        # Features: their sources (and those sources' datasets).
        features = sorted(self._features)
        anchors.update(features)
        for sources in nb(features, EdgeKind.COMPUTED_FROM, _UP).values():
            anchors.update(sources)
            anchors.update(_dataset(s) for s in sources if _kind(s) is Kind.FIELD)
        # Deployments: the model versions serving into them.
        deployments = sorted(self._deployments)
        anchors.update(deployments)
        for served in nb(deployments, EdgeKind.SERVES, _UP).values():
            anchors.update(served)
        # Checks: their checked entity and dataset (whose versions carry their verdicts).
        checks = sorted(self.checks)
        anchors.update(_dataset(c) for c in checks)
        for checked_by in nb(checks, EdgeKind.HAS_CHECK, _UP).values():
            anchors.update(checked_by)


def health_update(store: Store, applied: ChangeSet) -> ChangeSet:
    """The health-only changeset that brings stored health up to date after ``applied``.

    ``applied`` has been applied to ``store`` already. See the module docs for
    what is recomputed.
    """
    with collector_paused():
        return _health_update(store, applied)


def _health_update(store: Store, applied: ChangeSet) -> ChangeSet:
    if applied.deletes:
        computed = compute_health(store)
        everything = stored_health(store)
        return ChangeSet(
            health=[r for i, r in computed.items() if everything.get(i) != r],
            health_removals=sorted(set(everything) - set(computed)),
        )
    facts = _Facts(store)
    touched = _Touched(facts)
    for node in applied.nodes:
        touched.node(node)
    for edge in applied.edges:
        touched.edge(edge.source_id, edge.kind, edge.target_id)
    for ending in applied.endings:
        touched.edge(ending.source_id, ending.kind, ending.target_id)
    anything_stored = bool(store.health_page(_NOT_OK, (), first=1).items)
    if not anything_stored:
        # Nothing is failing or at risk, so only a failed result of a check touched, or
        # of a check on a dataset with new versions, can move a verdict.
        if not touched.may_move_verdicts():
            return ChangeSet()
        touched.checks.update(touched.checks_on_reversioned())
        if not touched.checks:
            return ChangeSet()
    touched.grow()
    anchors = sorted(touched.anchors)
    stored: dict[str, HealthRecord] = store.health(anchors) if anything_stored else {}
    affected = {reason.result_id for record in stored.values() for reason in record.reasons}
    checks = _load_checks(facts, touched.checks | {check_of_result(r) for r in affected})
    for check_id in touched.checks:
        check = checks.get(check_id)
        if check is not None:
            affected.update(r.id for r in check.results.values() if not r.passed)
    if not affected:
        return ChangeSet()
    new = _found_of(_Rules(facts), checks, affected)
    known: dict[str, HealthRecord | None] = dict.fromkeys(anchors)
    known.update(stored)
    holders: set[str] = set()
    if anything_stored:
        unknown = [i for i in new if i not in known]
        known.update(dict.fromkeys(unknown))
        known.update(store.health(unknown))
        # Where the affected results were recorded before: walk stored health from the
        # anchors and from what they reach now and were recorded on already.
        starts = [*anchors, *(i for i in new if _holds(known.get(i), affected))]
        holders = _holders(facts, affected, starts, known)
    region = sorted(holders | set(new))
    before = {i: r for i in region if (r := known.get(i)) is not None}
    health: list[HealthRecord] = []
    removals: list[str] = []
    for entity_id in region:
        old = before.get(entity_id)
        found = new.get(entity_id, [])
        kept: list[HealthReason] = []
        if old is not None:
            again: list[HealthReason] = []
            for reason in old.reasons:
                (again if reason.result_id in affected else kept).append(reason)
            if found and _found_again(again, found):
                continue  # its record would be built as it is stored
        reasons = kept + [_reason(*f) for f in found]
        if not reasons:
            if old is not None:
                removals.append(entity_id)
            continue
        record = _record(entity_id, reasons)
        if record != old:
            health.append(record)
    return ChangeSet(health=health, health_removals=removals)


def _hops(count: int) -> str:
    """``1 hop``, ``3 hops``."""
    return f"{count} hop" if count == 1 else f"{count} hops"


def _holds(record: HealthRecord | None, results: Collection[str]) -> bool:
    """Whether a stored record names one of these results."""
    return record is not None and any(r.result_id in results for r in record.reasons)


def _holders(
    facts: _Facts,
    results: Collection[str],
    starts: Sequence[str],
    cache: dict[str, HealthRecord | None],
) -> set[str]:
    """Entities whose stored health names one of ``results``, connected to ``starts``.

    A breadth-first walk through entities holding such a reason (and through runs,
    which hold no health), both ways along every edge a reason's path can step
    along; past :data:`WALK_LIMIT` entities (or starts), or on a store whose
    :meth:`Store.health_naming` is indexed, that instead (it finds the same holders).
    ``cache`` holds stored health already read (``None``: no record) and receives
    what was read.

    From a dataset or job the walk does not list its whole history: a path steps from
    a version to its dataset, or from a run to its job, only from the latest one, and
    the reason that the dataset or job holds names the version or run it was reached
    through, so the walk goes on to those. A checked dataset, whose versions carry the
    verdicts, is the exception: from it the walk reaches every version, as the
    verdicts were computed over all of them. (A path can also enter a version other
    than from its dataset, and a run other than from its job: the walk reaches those
    from where the path came.)
    """
    checked = {_dataset(result_id) for result_id in results}

    def holds(entity_id: str) -> bool:
        return _holds(cache.get(entity_id), results)

    store = facts.store

    def expand(frontier: Sequence[str]) -> list[Hop]:
        hops = store.expand(frontier, Direction.BOTH, _LEAN_WALK_KINDS)
        hops.extend(_history_hops(facts, frontier, results, checked, cache))
        unseen = sorted({h.target for h in hops} - set(cache))
        found = store.health(unseen) if unseen else {}
        for entity_id in unseen:
            cache[entity_id] = found.get(entity_id)
        return [h for h in hops if _kind(h.target) is Kind.RUN or holds(h.target)]

    unique = sorted(set(starts))
    if len(unique) <= WALK_LIMIT and not store.indexed_health_naming:
        missing = [i for i in unique if i not in cache]
        found = store.health(missing) if missing else {}
        for entity_id in missing:
            cache[entity_id] = found.get(entity_id)
        walk = bfs(store, unique, _DOWN, (), expand=expand, max_nodes=WALK_LIMIT)
        if not walk.truncated:
            return {entity_id for entity_id in walk.reached if holds(entity_id)}
    # A large region: asking the store for the records that name these results costs
    # less than walking it level by level, and finds the same holders.
    named = store.health_naming(results)
    cache.update(named)
    return set(named)


def _history_hops(
    facts: _Facts,
    frontier: Sequence[str],
    results: Collection[str],
    checked: Collection[str],
    cache: Mapping[str, HealthRecord | None],
) -> list[Hop]:
    """The walk's steps along ``HAS_VERSION`` and ``HAS_RUN`` edges, as a path takes them.

    From a version to its dataset and from a run to its jobs; from a dataset or job
    to the versions (runs) that its stored reasons for ``results`` name, and from a
    checked dataset to all of its versions. The rules read the runs' jobs and the
    checked datasets' versions already, so this mostly reads nothing.
    """
    by_kind = _by_kind(frontier)
    hops = [Hop(v, EdgeKind.HAS_VERSION, _dataset(v)) for v in by_kind[Kind.DATASET_VERSION]]
    runs = by_kind[Kind.RUN]
    for run, jobs in facts.neighbours(runs, EdgeKind.HAS_RUN, _UP).items():
        hops.extend(Hop(run, EdgeKind.HAS_RUN, job) for job in jobs)
    everything = [d for d in by_kind[Kind.DATASET] if d in checked]
    for dataset, versions in facts.neighbours(everything, EdgeKind.HAS_VERSION, _DOWN).items():
        hops.extend(Hop(dataset, EdgeKind.HAS_VERSION, v) for v in versions)
    for owner in (*by_kind[Kind.DATASET], *by_kind[Kind.JOB]):
        edge_kind, member_kind, _ = HISTORY_ORDER[_kind(owner)]
        record = cache.get(owner)
        members = {
            p
            for reason in (record.reasons if record is not None else ())
            if reason.result_id in results
            for p in reason.path
            if _kind(p) is member_kind
        }
        hops.extend(Hop(owner, edge_kind, m) for m in sorted(members))
    return hops


# --- cascade ----------------------------------------------------------------------------------


def cascade(store: Store, result_id: str) -> CascadeReport:
    """What the result ``result_id`` puts at risk now (see the module docs).

    Raises :class:`InvalidInput` for an id that is not a result id and
    :class:`NotFound` for a result that does not exist.
    """
    if kind_of(result_id) is not Kind.RESULT:
        raise InvalidInput(f"{result_id!r} is not a result id")
    with collector_paused():
        return _cascade(store, result_id)


def _cascade(store: Store, result_id: str) -> CascadeReport:
    facts = _Facts(store)
    node = facts.nodes([result_id]).get(result_id)
    if node is None:
        raise NotFound(f"no result with id {result_id!r}")
    check_id = check_of_result(result_id)
    checks = _load_checks(facts, [check_id])
    check = checks.get(check_id)
    result = None if check is None else check.results.get(result_id)
    if check is None or result is None:
        raise NotFound(f"result {result_id!r} belongs to no check that exists")
    marks = _reach(_Rules(facts), check, result)
    failing = tuple(sorted(i for i, m in marks.items() if m.own))
    entries = sorted(
        (
            AtRiskEntry(
                id=entity_id,
                kind=_kind(entity_id),
                path=mark.path,
                hops=mark.hops,
                precision=mark.precision,
                message=mark.message,
                rests_on=mark.kind,
            )
            for entity_id, mark in marks.items()
            if not mark.own
        ),
        key=lambda e: (e.hops, e.id),
    )
    return CascadeReport(
        result_id=result_id,
        check_id=check_id,
        checked_id=check.checked_id,
        dataset_version_id=result.version,
        passed=result.passed,
        observed_at=parse_time(result.observed_at) if result.observed_at else _UNKNOWN_TIME,
        latest=check.latest is not None and check.latest.id == result_id,
        failing=failing,
        at_risk=tuple(entries),
    )
