"""Provenance and provenance diff (ARCHITECTURE §4.4).

Result types and entry points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lineagegraph.ids import Kind
from lineagegraph.model import EdgeKind
from lineagegraph.store.base import Store

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
    "provenance",
    "provenance_diff",
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
    change: str  # NEW_FAILURE, RECOVERED, STILL_FAILING, ADDED, REMOVED
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


def provenance(store: Store, entity_id: str) -> Provenance:
    """The provenance of a model version, deployment or dataset version."""
    raise NotImplementedError


def provenance_diff(store: Store, from_id: str, to_id: str) -> ProvenanceDiff:
    """What differs between the provenance of two subjects."""
    raise NotImplementedError
