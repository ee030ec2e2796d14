"""Cascades and health (ARCHITECTURE §4.3): what a failing check puts at risk.

Result types and entry points; see the module body for the propagation rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lineagegraph.ids import Kind
from lineagegraph.model import ChangeSet, HealthRecord, Precision
from lineagegraph.store.base import Store

__all__ = [
    "AtRiskEntry",
    "CascadeReport",
    "HealthRepair",
    "cascade",
    "compute_health",
    "health_update",
    "repair_health",
]


@dataclass(frozen=True)
class AtRiskEntry:
    """One entity that a failing result puts at risk, with the evidence."""

    id: str
    kind: Kind
    path: tuple[str, ...]  # from the checked entity to this entity
    hops: int
    precision: Precision
    message: str


@dataclass(frozen=True)
class CascadeReport:
    """What one result puts at risk: the failure and every entity it reaches."""

    result_id: str
    check_id: str
    checked_id: str  # the dataset or field the check is on
    dataset_version_id: str | None  # the version the result ran on, when known
    passed: bool
    observed_at: datetime
    latest: bool  # whether it is the check's latest result (so the check fails now)
    failing: tuple[str, ...]  # entities whose own check this is, while it fails now
    at_risk: tuple[AtRiskEntry, ...]  # sorted by hops, then id


@dataclass(frozen=True)
class HealthRepair:
    """What a full health recomputation found and changed."""

    records: dict[str, HealthRecord]  # the computed non-OK health, by id
    written: tuple[str, ...]  # ids whose stored record was added or changed
    removed: tuple[str, ...]  # ids whose stored record was removed (back to OK)


def cascade(store: Store, result_id: str) -> CascadeReport:
    """What the result ``result_id`` puts at risk now (raises ``NotFound``)."""
    raise NotImplementedError


def compute_health(store: Store) -> dict[str, HealthRecord]:
    """Every non-OK health record, computed from scratch."""
    raise NotImplementedError


def repair_health(store: Store) -> HealthRepair:
    """Recompute all health from scratch and write whatever differs from what is stored."""
    raise NotImplementedError


def health_update(store: Store, applied: ChangeSet) -> ChangeSet:
    """The health-only changeset that brings stored health up to date after ``applied``."""
    raise NotImplementedError
