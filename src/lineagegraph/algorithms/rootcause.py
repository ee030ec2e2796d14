"""Root cause of a model regression (ARCHITECTURE §4.5): ranked, explained suspects.

Result types and entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lineagegraph.algorithms.provenance import ProvenanceDiff
from lineagegraph.store.base import Store

__all__ = ["RootCauseReport", "ScoreBreakdown", "Suspect", "SuspectKind", "root_cause"]


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


def root_cause(
    store: Store,
    entity_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> RootCauseReport:
    """Ranked suspects for a regressed model version or deployment."""
    raise NotImplementedError
