"""The engine's questions as GraphQL: lineage, impact, cascade, provenance and root cause.

Each result type is built from the engine's result object with ``from_domain``;
entities are referenced by id with a resolver for the node (through the
request's loader). Traversals are bounded by the server's settings (node cap
and timeout); a bound that stops one sets ``truncated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from lineagegraph.algorithms import impact as im
from lineagegraph.algorithms import lineage as li
from lineagegraph.algorithms import provenance as pv
from lineagegraph.algorithms import rootcause as rc
from lineagegraph.algorithms.cascade import AtRiskEntry, CascadeReport
from lineagegraph.api.inputs import EntityRefInput
from lineagegraph.api.types import (
    After,
    CheckResult,
    EntityKind,
    First,
    Info,
    Long,
    Node,
    PageInfo,
    arg,
    from_domain,
    resolver,
    stored_time,
)
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import parse_id
from lineagegraph.model import Direction, Edge, EdgeKind, Origin, Precision, ReasonKind

strawberry.enum(
    im.ChangeAction, name="ChangeAction", description="What a proposed schema change does."
)
strawberry.enum(
    im.Compatibility,
    name="Compatibility",
    description="BREAKING: readers of the dataset break; NON_BREAKING: they keep working.",
)
strawberry.enum(
    im.ImpactPrecision,
    name="ImpactPrecision",
    description="How a consumer was found: COLUMN lineage, or DATASET lineage as a fallback.",
)
strawberry.enum(
    pv.ChangeKind, name="ChangeKind", description="How an item differs between two sides."
)
strawberry.enum(
    rc.SuspectKind,
    name="SuspectKind",
    description="Kinds of upstream event that can explain a regression.",
)


async def _node(info: Info, entity_id: str) -> Node | None:
    found = await info.context.node(entity_id)
    return None if found is None else from_domain(found)


def _json(value: Any) -> JSON:
    """A value for a JSON scalar field."""
    return cast(JSON, value)


def _ids(values: tuple[str, ...] | list[str]) -> list[strawberry.ID]:
    return [strawberry.ID(v) for v in values]


def _observe(info: Info, query: str, size: int, truncated: bool) -> None:
    if info.context.metrics is not None:
        info.context.metrics.observe_traversal(query, size, truncated)


def _check_id(entity_id: str, field: str) -> str:
    try:
        return parse_id(entity_id).id
    except InvalidInput as error:
        raise InvalidInput(f"{field}: {error}") from None


# --- lineage ----------------------------------------------------------------------------------


@strawberry.type(description="One stored edge with its provenance and validity in time.")
class GraphEdge:
    from_id: strawberry.ID = strawberry.field(name="from", description="Where data flows from.")
    to_id: strawberry.ID = strawberry.field(name="to", description="Where data flows to.")
    kind: EdgeKind = strawberry.field(description="The edge's kind.")
    source: Origin = strawberry.field(
        description="Where the edge came from: api, openlineage, dbt, gx, inferred or demo."
    )
    first_seen: datetime = strawberry.field(description="When a source first reported it.")
    last_seen: datetime = strawberry.field(description="When a source last reported it.")
    ended_at: datetime | None = strawberry.field(
        description="When it stopped being reported by its job's latest run; null while current."
    )
    current: bool = strawberry.field(description="Whether it is still reported.")
    attrs: JSON = strawberry.field(
        description="Attributes, e.g. the job and transformation of a column edge."
    )

    @classmethod
    def from_domain(cls, edge: Edge) -> GraphEdge:
        """From a stored edge."""
        return cls(
            from_id=strawberry.ID(edge.source_id),
            to_id=strawberry.ID(edge.target_id),
            kind=edge.kind,
            source=edge.origin,
            first_seen=_required_time(edge.first_seen),
            last_seen=_required_time(edge.last_seen),
            ended_at=stored_time(edge.ended_at),
            current=edge.current,
            attrs=_json(dict(edge.attrs)),
        )


def _required_time(value: str) -> datetime:
    moment = stored_time(value)
    assert moment is not None
    return moment


@strawberry.type(
    description="A connection between two returned nodes, in the direction data flows: one "
    "stored edge, or a path through nodes the result leaves out (`via`)."
)
class LineageEdge:
    from_id: strawberry.ID = strawberry.field(name="from", description="The upstream end.")
    to_id: strawberry.ID = strawberry.field(name="to", description="The downstream end.")
    kind: EdgeKind | None = strawberry.field(
        description="The stored edge's kind; null for a path through left-out nodes."
    )
    via: list[strawberry.ID] = strawberry.field(
        description="Left-out nodes the connection passes through, in flow order."
    )
    source: Origin | None = strawberry.field(
        description="Where the lineage came from; null when the edges along a path disagree."
    )
    first_seen: datetime = strawberry.field(
        description="Since when the whole connection exists (the latest first-seen along it)."
    )
    last_seen: datetime = strawberry.field(
        description="Until when it was last reported (the earliest last-seen along it)."
    )
    current: bool = strawberry.field(description="Whether every edge along it is current.")
    edges: strawberry.Private[tuple[Edge, ...]]

    @resolver(description="The stored edge's attributes (empty for a path through left-out nodes).")
    def attrs(self) -> JSON:
        return _json(dict(self.edges[0].attrs) if len(self.edges) == 1 else {})

    @resolver(description="The stored edges along the connection, in flow order.")
    def stored(self) -> list[GraphEdge]:
        return [GraphEdge.from_domain(e) for e in self.edges]

    @classmethod
    def from_domain(cls, edge: li.LineageEdge) -> LineageEdge:
        """From the engine's lineage edge."""
        stored = edge.edges
        origins = {e.origin for e in stored}
        return cls(
            from_id=strawberry.ID(edge.source_id),
            to_id=strawberry.ID(edge.target_id),
            kind=edge.kind,
            via=_ids(edge.via),
            source=origins.pop() if len(origins) == 1 else None,
            first_seen=_required_time(max(e.first_seen for e in stored)),
            last_seen=_required_time(min(e.last_seen for e in stored)),
            current=all(e.current for e in stored),
            edges=stored,
        )


@strawberry.type(description="A node of a lineage result and where it sits.")
class LineageNode:
    node: Node = strawberry.field(description="The entity.")
    depth: int = strawberry.field(description="Data-flow edges between the root and it.")
    direction: Direction = strawberry.field(
        description="UPSTREAM or DOWNSTREAM of the root, or BOTH (on a cycle through it)."
    )
    partial: bool = strawberry.field(
        description="A dataset that is in the lineage only through some of its fields."
    )

    @classmethod
    def from_domain(cls, item: li.LineageNode) -> LineageNode:
        """From the engine's lineage node."""
        return cls(
            node=from_domain(item.node),
            depth=item.depth,
            direction=item.direction,
            partial=item.partial,
        )


@strawberry.type(description="One page of an entity's lineage, with its edges and cycles.")
class Lineage:
    root: Node = strawberry.field(description="The entity the lineage is of.")
    direction: Direction = strawberry.field(description="Which way it was followed.")
    column_level: bool = strawberry.field(description="Whether column lineage was followed.")
    as_of: datetime | None = strawberry.field(
        description="The time it shows; null for now (current edges only)."
    )
    nodes: list[LineageNode] = strawberry.field(
        description="This page of nodes: upstream first, then both sides, then downstream; "
        "by depth, then id."
    )
    edges: list[LineageEdge] = strawberry.field(
        description="Connections whose later end is on this page (each appears on one page)."
    )
    truncated: bool = strawberry.field(
        description="Whether a depth, size or time bound stopped the traversal."
    )
    truncation: str | None = strawberry.field(
        description="Which bound stopped it: depth, nodes or timeout."
    )
    cycles: list[list[strawberry.ID]] = strawberry.field(
        description="Groups of nodes that form cycles (each sorted)."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends.")
    total_count: int = strawberry.field(description="Nodes in the whole lineage.")

    @classmethod
    def from_domain(cls, result: li.LineageResult) -> Lineage:
        """From the engine's lineage result."""
        return cls(
            root=from_domain(result.root),
            direction=result.direction,
            column_level=result.column_level,
            as_of=result.as_of,
            nodes=[LineageNode.from_domain(n) for n in result.nodes],
            edges=[LineageEdge.from_domain(e) for e in result.edges],
            truncated=result.truncated,
            truncation=result.truncation,
            cycles=[_ids(group) for group in result.cycles],
            page_info=PageInfo(
                has_next_page=result.page_info.has_next_page,
                end_cursor=result.page_info.end_cursor,
            ),
            total_count=result.page_info.total,
        )


# --- impact -----------------------------------------------------------------------------------


@strawberry.input(description="One explicit change to a dataset's schema.")
class FieldChangeInput:
    action: im.ChangeAction = strawberry.field(description="What the change does.")
    path: str | None = strawberry.field(
        default=None, description="The field's path (not for DROP_DATASET)."
    )
    new_name: str | None = strawberry.field(default=None, description="RENAME_FIELD: new name.")
    new_type: str | None = strawberry.field(
        default=None, description="CHANGE_TYPE or ADD_FIELD: the new type."
    )
    nullable: bool | None = strawberry.field(
        default=None, description="CHANGE_TYPE or ADD_FIELD: the new nullability."
    )


@strawberry.input(description="One field of a complete proposed schema.")
class ProposedFieldInput:
    path: str = strawberry.field(description="The field's path.")
    type: str | None = strawberry.field(default=None, description="Its type (null: as now).")
    nullable: bool | None = strawberry.field(
        default=None, description="Its nullability (null: as now)."
    )


@strawberry.input(
    description="A proposed change to a dataset: explicit `changes`, or a complete "
    "`proposedSchema` that is diffed against the current one (exactly one of them)."
)
class SchemaChangeInput:
    dataset: EntityRefInput = strawberry.field(description="The dataset to change.")
    changes: list[FieldChangeInput] | None = strawberry.field(
        default=None, description="Explicit changes."
    )
    proposed_schema: list[ProposedFieldInput] | None = strawberry.field(
        default=None, description="The complete schema after the change."
    )

    def to_domain(self) -> dict[str, Any]:
        """The engine's SchemaChange, in its JSON form (validated by the service)."""
        payload: dict[str, Any] = {"dataset_id": self.dataset.resolve("dataset")}
        if self.changes is not None:
            payload["changes"] = [
                {
                    "action": c.action,
                    "path": c.path,
                    "new_name": c.new_name,
                    "new_type": c.new_type,
                    "nullable": c.nullable,
                }
                for c in self.changes
            ]
        if self.proposed_schema is not None:
            payload["proposed_schema"] = [
                {"path": f.path, "type": f.type, "nullable": f.nullable}
                for f in self.proposed_schema
            ]
        return payload


@strawberry.type(description="One change, classified.")
class ClassifiedChange:
    index: int = strawberry.field(description="Position in the list of changes.")
    action: im.ChangeAction = strawberry.field(description="What the change does.")
    path: str | None = strawberry.field(description="The changed field's path.")
    new_name: str | None = strawberry.field(description="The new name of a renamed field.")
    new_type: str | None = strawberry.field(description="The new type.")
    nullable: bool | None = strawberry.field(description="The new nullability.")
    description: str = strawberry.field(description="The change in words.")
    field_id: strawberry.ID | None = strawberry.field(description="The changed field's id.")
    old_type: str | None = strawberry.field(description="The field's type before.")
    old_nullable: bool | None = strawberry.field(description="Its nullability before.")
    compatibility: im.Compatibility = strawberry.field(description="BREAKING or NON_BREAKING.")
    reason: str = strawberry.field(description="Why.")
    precision: im.ImpactPrecision | None = strawberry.field(
        description="How consumers were found; null when there is nothing to look for."
    )
    notes: list[str] = strawberry.field(description="Caveats, e.g. unknown column lineage.")

    @classmethod
    def from_domain(cls, item: im.ClassifiedChange) -> ClassifiedChange:
        """From the engine's classified change."""
        return cls(
            index=item.index,
            action=item.change.action,
            path=item.change.path,
            new_name=item.change.new_name,
            new_type=item.change.new_type,
            nullable=item.change.nullable,
            description=item.change.describe(),
            field_id=None if item.field_id is None else strawberry.ID(item.field_id),
            old_type=item.old_type,
            old_nullable=item.old_nullable,
            compatibility=item.compatibility,
            reason=item.reason,
            precision=item.precision,
            notes=list(item.notes),
        )


@strawberry.type(description="A downstream consumer that a change reaches.")
class AffectedEntity:
    id: strawberry.ID = strawberry.field(description="The consumer's id.")
    kind: EntityKind = strawberry.field(description="Its kind.")
    name: str = strawberry.field(description="Its name.")
    changes: list[int] = strawberry.field(description="Indexes of the changes that reach it.")
    breaking: bool = strawberry.field(description="Whether a BREAKING change reaches it.")
    direct: bool = strawberry.field(description="Directly affected (one hop) or indirectly.")
    hops: int = strawberry.field(description="Edges between the changed dataset and it.")
    path: list[strawberry.ID] = strawberry.field(description="Ids from the change to it.")
    precision: im.ImpactPrecision = strawberry.field(description="COLUMN or DATASET.")
    partial: bool = strawberry.field(description="A dataset affected through some fields.")
    fields: list[strawberry.ID] = strawberry.field(
        description="For a partial dataset: its affected fields."
    )

    @resolver(description="The consumer itself.")
    async def node(self, info: Info) -> Node | None:
        return await _node(info, self.id)

    @classmethod
    def from_domain(cls, item: im.AffectedEntity) -> AffectedEntity:
        """From the engine's affected entity."""
        return cls(
            id=strawberry.ID(item.id),
            kind=item.kind,
            name=item.name,
            changes=list(item.changes),
            breaking=item.breaking,
            direct=item.direct,
            hops=item.hops,
            path=_ids(item.path),
            precision=item.precision,
            partial=item.partial,
            fields=_ids(item.fields),
        )


@strawberry.type(description="An owner to notify about a change.")
class OwnerNotice:
    owner: str = strawberry.field(description="The team or person.")
    owns: list[strawberry.ID] = strawberry.field(description="The affected entities they own.")
    breaking: bool = strawberry.field(description="Whether a BREAKING change reaches them.")


@strawberry.type(description="What a proposed schema change breaks downstream, and who to tell.")
class ImpactReport:
    dataset_id: strawberry.ID = strawberry.field(description="The changed dataset.")
    changes: list[ClassifiedChange] = strawberry.field(description="Each change, classified.")
    affected: list[AffectedEntity] = strawberry.field(
        description="Consumers reached, by hops, kind (in flow order) and id."
    )
    owners: list[OwnerNotice] = strawberry.field(description="Owners to notify, by owner.")
    breaking: bool = strawberry.field(description="Whether at least one change is BREAKING.")
    truncated: bool = strawberry.field(description="Whether a server bound cut the search.")
    schema_recorded: bool = strawberry.field(
        description="False when a proposed schema was diffed against a dataset with no "
        "recorded fields: every field reads as added, so what it drops or retypes cannot be "
        "told (a CI gate should not pass it)."
    )
    summary: str = strawberry.field(description="One sentence for people.")
    markdown: str = strawberry.field(
        description="The report as Markdown for a PR comment: changes, owners, then "
        "consumers, within 60,000 characters (rows left out are counted)."
    )

    @resolver(description="The changed dataset.")
    async def dataset(self, info: Info) -> Node | None:
        return await _node(info, self.dataset_id)

    @classmethod
    def from_domain(cls, report: im.ImpactReport) -> ImpactReport:
        """From the engine's impact report."""
        return cls(
            dataset_id=strawberry.ID(report.dataset_id),
            changes=[ClassifiedChange.from_domain(c) for c in report.changes],
            affected=[AffectedEntity.from_domain(a) for a in report.affected],
            owners=[
                OwnerNotice(owner=o.owner, owns=_ids(o.owns), breaking=o.breaking)
                for o in report.owners
            ],
            breaking=report.breaking,
            truncated=report.truncated,
            schema_recorded=report.schema_recorded,
            summary=report.summary,
            markdown=report.to_markdown(),
        )


# --- cascade ----------------------------------------------------------------------------------


@strawberry.type(description="An entity a failing result puts at risk, with the evidence.")
class AtRisk:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    kind: EntityKind = strawberry.field(description="Its kind.")
    path: list[strawberry.ID] = strawberry.field(description="From the checked entity to it.")
    hops: int = strawberry.field(description="Edges along the path.")
    precision: Precision = strawberry.field(description="CONFIRMED or POTENTIAL.")
    message: str = strawberry.field(description="A sentence a person can read.")
    reason_kind: ReasonKind = strawberry.field(
        description="What the evidence rests on (as HealthReason.kind says)."
    )

    @resolver(description="The entity itself.")
    async def node(self, info: Info) -> Node | None:
        return await _node(info, self.id)

    @classmethod
    def from_domain(cls, entry: AtRiskEntry) -> AtRisk:
        """From the engine's at-risk entry."""
        return cls(
            id=strawberry.ID(entry.id),
            kind=entry.kind,
            path=_ids(entry.path),
            hops=entry.hops,
            precision=entry.precision,
            message=entry.message,
            reason_kind=entry.rests_on,
        )


@strawberry.type(description="What one quality result puts at risk now.")
class Cascade:
    result_id: strawberry.ID = strawberry.field(description="The result.")
    check_id: strawberry.ID = strawberry.field(description="Its check.")
    checked_id: strawberry.ID = strawberry.field(description="The checked dataset or field.")
    dataset_version_id: strawberry.ID | None = strawberry.field(
        description="The version the result ran on, when known."
    )
    passed: bool = strawberry.field(description="Whether the result passed.")
    observed_at: datetime = strawberry.field(description="When the check ran.")
    latest: bool = strawberry.field(
        description="Whether it is the check's latest result (so it decides health now)."
    )
    failing: list[strawberry.ID] = strawberry.field(
        description="Entities FAILING through this result's check now."
    )
    at_risk: list[AtRisk] = strawberry.field(
        description="Entities it puts AT_RISK now, by hops then id."
    )

    @resolver(description="The result itself.")
    async def result(self, info: Info) -> CheckResult | None:
        found = await info.context.node(self.result_id)
        return None if found is None else CheckResult.build(found)

    @classmethod
    def from_domain(cls, report: CascadeReport) -> Cascade:
        """From the engine's cascade report."""
        return cls(
            result_id=strawberry.ID(report.result_id),
            check_id=strawberry.ID(report.check_id),
            checked_id=strawberry.ID(report.checked_id),
            dataset_version_id=None
            if report.dataset_version_id is None
            else strawberry.ID(report.dataset_version_id),
            passed=report.passed,
            observed_at=report.observed_at,
            latest=report.latest,
            failing=_ids(report.failing),
            at_risk=[AtRisk.from_domain(e) for e in report.at_risk],
        )


# --- provenance -------------------------------------------------------------------------------


@strawberry.type(description="A dataset or model version in a provenance closure.")
class ProvenanceVersion:
    id: strawberry.ID = strawberry.field(description="The version's id.")
    kind: EntityKind = strawberry.field(description="DATASET_VERSION or MODEL_VERSION.")
    entity_id: strawberry.ID = strawberry.field(description="The dataset or model.")
    version: str = strawberry.field(description="The version identifier.")
    created_at: datetime | None = strawberry.field(description="When it was written.")
    written_by: strawberry.ID | None = strawberry.field(description="The run that wrote it.")
    row_count: Long | None = strawberry.field(description="Rows, when reported.")
    schema_fields: JSON = strawberry.field(description="Its schema snapshot.")
    depth: int = strawberry.field(description="Runs between it and the subject.")

    @classmethod
    def from_domain(cls, item: pv.ProvenanceVersion) -> ProvenanceVersion:
        """From the engine's provenance version."""
        return cls(
            id=strawberry.ID(item.id),
            kind=item.kind,
            entity_id=strawberry.ID(item.entity_id),
            version=item.version,
            created_at=item.created_at,
            written_by=None if item.written_by is None else strawberry.ID(item.written_by),
            row_count=None if item.row_count is None else Long(item.row_count),
            schema_fields=_json([dict(f) for f in item.schema_fields]),
            depth=item.depth,
        )


@strawberry.type(description="A run in a provenance closure.")
class ProvenanceRun:
    id: strawberry.ID = strawberry.field(description="The run's id.")
    job_id: strawberry.ID = strawberry.field(description="Its job.")
    state: str | None = strawberry.field(description="Its state.")
    started_at: datetime | None = strawberry.field(description="When it started.")
    ended_at: datetime | None = strawberry.field(description="When it ended.")
    code_version: str | None = strawberry.field(description="The code version it ran.")
    read: list[strawberry.ID] = strawberry.field(description="Versions it read.")
    wrote: list[strawberry.ID] = strawberry.field(description="Versions it wrote.")
    depth: int = strawberry.field(description="Runs between it and the subject.")

    @classmethod
    def from_domain(cls, item: pv.ProvenanceRun) -> ProvenanceRun:
        """From the engine's provenance run."""
        return cls(
            id=strawberry.ID(item.id),
            job_id=strawberry.ID(item.job_id),
            state=item.state,
            started_at=item.started_at,
            ended_at=item.ended_at,
            code_version=item.code_version,
            read=_ids(item.read),
            wrote=_ids(item.wrote),
            depth=item.depth,
        )


@strawberry.type(description="A job whose runs are in a provenance closure.")
class ProvenanceJob:
    id: strawberry.ID = strawberry.field(description="The job's id.")
    code_versions: list[str] = strawberry.field(description="Code versions its runs used.")
    code_location: str | None = strawberry.field(description="Where its code lives.")
    runs: list[strawberry.ID] = strawberry.field(description="Its runs in the closure.")


@strawberry.type(description="A feature a model version was trained on.")
class ProvenanceFeature:
    id: strawberry.ID = strawberry.field(description="The feature's id.")
    model_version_id: strawberry.ID = strawberry.field(description="The model version.")
    computed_from: list[strawberry.ID] = strawberry.field(description="Its sources.")


@strawberry.type(description="A check outcome that stood for a version in a closure.")
class CheckOutcome:
    check_id: strawberry.ID = strawberry.field(description="The check.")
    checked_id: strawberry.ID = strawberry.field(description="The checked dataset or field.")
    dataset_version_id: strawberry.ID = strawberry.field(description="The version.")
    result_id: strawberry.ID = strawberry.field(description="The result.")
    passed: bool = strawberry.field(description="Whether it passed.")
    observed_at: datetime = strawberry.field(description="When it ran.")
    evaluated: bool = strawberry.field(
        description="True: it ran on this version; false: the latest result before it was read."
    )
    severity: str | None = strawberry.field(description="The check's severity.")

    @classmethod
    def from_domain(cls, item: pv.CheckOutcome) -> CheckOutcome:
        """From the engine's check outcome."""
        return cls(
            check_id=strawberry.ID(item.check_id),
            checked_id=strawberry.ID(item.checked_id),
            dataset_version_id=strawberry.ID(item.dataset_version_id),
            result_id=strawberry.ID(item.result_id),
            passed=item.passed,
            observed_at=item.observed_at,
            evaluated=item.evaluated,
            severity=item.severity,
        )


@strawberry.type(description="An edge crossed by a provenance closure.")
class ProvenanceEdge:
    from_id: strawberry.ID = strawberry.field(name="from", description="The upstream end.")
    kind: EdgeKind = strawberry.field(description="The edge's kind.")
    to_id: strawberry.ID = strawberry.field(name="to", description="The downstream end.")


@strawberry.type(
    description="The upstream closure at the exact versions that produced a model version, a "
    "deployment (the versions it serves now) or a dataset version."
)
class Provenance:
    subject_id: strawberry.ID = strawberry.field(description="The subject.")
    subject_kind: EntityKind = strawberry.field(description="Its kind.")
    roots: list[strawberry.ID] = strawberry.field(description="The subject's versions.")
    versions: list[ProvenanceVersion] = strawberry.field(description="Versions upstream.")
    runs: list[ProvenanceRun] = strawberry.field(description="Runs upstream.")
    jobs: list[ProvenanceJob] = strawberry.field(description="Jobs of those runs.")
    features: list[ProvenanceFeature] = strawberry.field(description="Features trained on.")
    checks: list[CheckOutcome] = strawberry.field(description="Check outcomes at that time.")
    edges: list[ProvenanceEdge] = strawberry.field(description="Edges crossed.")
    truncated: bool = strawberry.field(description="Whether a bound cut the closure.")

    @resolver(description="The subject itself.")
    async def subject(self, info: Info) -> Node | None:
        return await _node(info, self.subject_id)

    @classmethod
    def from_domain(cls, item: pv.Provenance) -> Provenance:
        """From the engine's provenance."""
        return cls(
            subject_id=strawberry.ID(item.subject_id),
            subject_kind=item.subject_kind,
            roots=_ids(item.roots),
            versions=[ProvenanceVersion.from_domain(v) for v in item.versions],
            runs=[ProvenanceRun.from_domain(r) for r in item.runs],
            jobs=[
                ProvenanceJob(
                    id=strawberry.ID(j.id),
                    code_versions=list(j.code_versions),
                    code_location=j.code_location,
                    runs=_ids(j.runs),
                )
                for j in item.jobs
            ],
            features=[
                ProvenanceFeature(
                    id=strawberry.ID(f.id),
                    model_version_id=strawberry.ID(f.model_version_id),
                    computed_from=_ids(f.computed_from),
                )
                for f in item.features
            ],
            checks=[CheckOutcome.from_domain(c) for c in item.checks],
            edges=[
                ProvenanceEdge(from_id=strawberry.ID(s), kind=k, to_id=strawberry.ID(t))
                for s, k, t in item.edges
            ],
            truncated=item.truncated,
        )


@strawberry.type(description="An input read at different versions on the two sides.")
class InputChange:
    entity_id: strawberry.ID = strawberry.field(description="The dataset or model.")
    change: pv.ChangeKind = strawberry.field(description="ADDED, REMOVED or CHANGED.")
    from_versions: list[strawberry.ID] = strawberry.field(description="Versions on `from`.")
    to_versions: list[strawberry.ID] = strawberry.field(description="Versions on `to`.")


@strawberry.type(description="A field added, removed or retyped between the versions read.")
class SchemaDifference:
    dataset_id: strawberry.ID = strawberry.field(description="The dataset.")
    from_version: strawberry.ID = strawberry.field(description="The version read on `from`.")
    to_version: strawberry.ID = strawberry.field(description="The version read on `to`.")
    field: str = strawberry.field(description="The field's path.")
    change: pv.ChangeKind = strawberry.field(description="ADDED, REMOVED or CHANGED.")
    from_type: str | None = strawberry.field(description="Its type on `from`.")
    to_type: str | None = strawberry.field(description="Its type on `to`.")
    breaking: bool = strawberry.field(description="Whether the difference breaks readers.")


@strawberry.type(description="A job that ran with different code on the two sides.")
class CodeChange:
    job_id: strawberry.ID = strawberry.field(description="The job.")
    from_code_versions: list[str] = strawberry.field(description="Code versions on `from`.")
    to_code_versions: list[str] = strawberry.field(description="Code versions on `to`.")


@strawberry.type(description="A check whose outcome differs between the two sides.")
class CheckChange:
    check_id: strawberry.ID = strawberry.field(description="The check.")
    change: str = strawberry.field(
        description="NEW_FAILURE, RECOVERED, STILL_FAILING, ADDED or REMOVED."
    )
    from_result: strawberry.ID | None = strawberry.field(description="The result on `from`.")
    from_passed: bool | None = strawberry.field(description="Whether it passed on `from`.")
    to_result: strawberry.ID | None = strawberry.field(description="The result on `to`.")
    to_passed: bool | None = strawberry.field(description="Whether it passed on `to`.")


@strawberry.type(description="An upstream edge present on one side only.")
class EdgeChange:
    from_id: strawberry.ID = strawberry.field(name="from", description="The upstream end.")
    kind: EdgeKind = strawberry.field(description="The edge's kind.")
    to_id: strawberry.ID = strawberry.field(name="to", description="The downstream end.")
    change: pv.ChangeKind = strawberry.field(description="ADDED or REMOVED.")


def _opt_id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


@strawberry.type(description="What differs between the provenance of two versions.")
class ProvenanceDiff:
    from_id: strawberry.ID = strawberry.field(name="from", description="The first subject.")
    to_id: strawberry.ID = strawberry.field(name="to", description="The second subject.")
    inputs: list[InputChange] = strawberry.field(description="Inputs at other versions.")
    schema_changes: list[SchemaDifference] = strawberry.field(description="Schema changes.")
    code_changes: list[CodeChange] = strawberry.field(description="Job code changes.")
    check_changes: list[CheckChange] = strawberry.field(description="Check outcome changes.")
    edge_changes: list[EdgeChange] = strawberry.field(description="Upstream edge changes.")

    @classmethod
    def from_domain(cls, diff: pv.ProvenanceDiff) -> ProvenanceDiff:
        """From the engine's provenance diff."""
        return cls(
            from_id=strawberry.ID(diff.from_id),
            to_id=strawberry.ID(diff.to_id),
            inputs=[
                InputChange(
                    entity_id=strawberry.ID(i.entity_id),
                    change=i.change,
                    from_versions=_ids(i.from_versions),
                    to_versions=_ids(i.to_versions),
                )
                for i in diff.inputs
            ],
            schema_changes=[
                SchemaDifference(
                    dataset_id=strawberry.ID(s.dataset_id),
                    from_version=strawberry.ID(s.from_version),
                    to_version=strawberry.ID(s.to_version),
                    field=s.field,
                    change=s.change,
                    from_type=s.from_type,
                    to_type=s.to_type,
                    breaking=s.breaking,
                )
                for s in diff.schema_changes
            ],
            code_changes=[
                CodeChange(
                    job_id=strawberry.ID(c.job_id),
                    from_code_versions=list(c.from_code_versions),
                    to_code_versions=list(c.to_code_versions),
                )
                for c in diff.code_changes
            ],
            check_changes=[
                CheckChange(
                    check_id=strawberry.ID(c.check_id),
                    change=c.change,
                    from_result=_opt_id(c.from_result),
                    from_passed=c.from_passed,
                    to_result=_opt_id(c.to_result),
                    to_passed=c.to_passed,
                )
                for c in diff.check_changes
            ],
            edge_changes=[
                EdgeChange(
                    from_id=strawberry.ID(e.source_id),
                    kind=e.kind,
                    to_id=strawberry.ID(e.target_id),
                    change=e.change,
                )
                for e in diff.edge_changes
            ],
        )


# --- root cause -------------------------------------------------------------------------------


@strawberry.type(description="The parts of a suspect's score; the score is their product.")
class ScoreBreakdown:
    severity: float = strawberry.field(description="How serious the event is.")
    hops: int = strawberry.field(description="Edges between the event and the model version.")
    proximity: float = strawberry.field(description="Factor for the hop distance.")
    hours_before: float = strawberry.field(description="Hours between event and regression.")
    recency: float = strawberry.field(description="Factor for the time before.")
    on_column_path: bool | None = strawberry.field(
        description="Whether it lies on a column path to the model's features (null: not a "
        "column event)."
    )
    column_factor: float = strawberry.field(description="Factor for the column path.")
    in_provenance_diff: bool = strawberry.field(
        description="Whether it is in the provenance diff against the last good version."
    )
    diff_factor: float = strawberry.field(description="Factor for the diff.")
    score: float = strawberry.field(description="The product of the factors.")


@strawberry.type(description="An upstream event that could explain a regression.")
class Suspect:
    id: strawberry.ID = strawberry.field(description="A stable id for the suspect.")
    kind: rc.SuspectKind = strawberry.field(description="What kind of event.")
    entity_id: strawberry.ID = strawberry.field(description="What it happened to.")
    related_ids: list[strawberry.ID] = strawberry.field(description="Ids involved.")
    at: datetime = strawberry.field(description="When it happened.")
    summary: str = strawberry.field(description="The event in words.")
    path: list[strawberry.ID] = strawberry.field(description="Upstream path to the model.")
    breakdown: ScoreBreakdown = strawberry.field(description="How the score was made.")
    score: float = strawberry.field(description="The score; higher is more likely.")

    @resolver(description="The entity it happened to.")
    async def entity(self, info: Info) -> Node | None:
        return await _node(info, self.entity_id)

    @classmethod
    def from_domain(cls, item: rc.Suspect) -> Suspect:
        """From the engine's suspect."""
        b = item.breakdown
        return cls(
            id=strawberry.ID(item.id),
            kind=item.kind,
            entity_id=strawberry.ID(item.entity_id),
            related_ids=_ids(item.related_ids),
            at=item.at,
            summary=item.summary,
            path=_ids(item.path),
            breakdown=ScoreBreakdown(
                severity=b.severity,
                hops=b.hops,
                proximity=b.proximity,
                hours_before=b.hours_before,
                recency=b.recency,
                on_column_path=b.on_column_path,
                column_factor=b.column_factor,
                in_provenance_diff=b.in_provenance_diff,
                diff_factor=b.diff_factor,
                score=b.score,
            ),
            score=item.score,
        )


@strawberry.type(description="Ranked, explained suspects for a regressed model version.")
class RootCause:
    subject_id: strawberry.ID = strawberry.field(description="The model version or deployment.")
    model_version_id: strawberry.ID = strawberry.field(description="The model version examined.")
    baseline_id: strawberry.ID | None = strawberry.field(
        description="The previous version it was compared against."
    )
    since: datetime | None = strawberry.field(description="Start of the window.")
    until: datetime = strawberry.field(description="End of the window.")
    suspects: list[Suspect] = strawberry.field(description="Suspects, most likely first.")
    diff: ProvenanceDiff | None = strawberry.field(
        description="The provenance diff against the baseline."
    )
    truncated: bool = strawberry.field(
        description="Whether a server bound (node cap or timeout) cut what lies upstream: "
        "suspects farther up may be missing."
    )

    @classmethod
    def from_domain(cls, report: rc.RootCauseReport) -> RootCause:
        """From the engine's root-cause report."""
        return cls(
            subject_id=strawberry.ID(report.subject_id),
            model_version_id=strawberry.ID(report.model_version_id),
            baseline_id=_opt_id(report.baseline_id),
            since=report.since,
            until=report.until,
            suspects=[Suspect.from_domain(s) for s in report.suspects],
            diff=None if report.diff is None else ProvenanceDiff.from_domain(report.diff),
            truncated=report.truncated,
        )


# --- the queries ------------------------------------------------------------------------------

EntityId = Annotated[strawberry.ID, arg("The entity's id.")]


@strawberry.type(description="The engine's questions.")
class AnalysisQuery:
    @resolver(
        description="Upstream and/or downstream lineage of an entity: a cursor-paginated "
        "subgraph with edge provenance, cycles, and `truncated` when a bound stopped it."
    )
    async def lineage(
        self,
        info: Info,
        id: EntityId,
        direction: Annotated[Direction, arg("Which way to follow edges.")] = Direction.DOWNSTREAM,
        depth: Annotated[int | None, arg("Most data-flow edges from the entity.")] = None,
        kinds: Annotated[
            list[EntityKind] | None,
            arg("Return only these kinds (others still connect); none or `[]`: every kind."),
        ] = None,
        column_level: Annotated[
            bool, arg("Follow column lineage (always on for a field).")
        ] = False,
        as_of: Annotated[
            datetime | None, arg("The lineage as it was then (default: now, current edges).")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Lineage:
        service = info.context.service
        result = await info.context.call(
            service.lineage,
            _check_id(str(id), "id"),
            direction,
            depth,
            kinds,
            column_level,
            as_of,
            100 if first is None else first,
            after,
        )
        _observe(info, "lineage", result.page_info.total, result.truncated)
        return Lineage.from_domain(result)

    @resolver(
        description="What a proposed schema change breaks downstream: fields, jobs, features, "
        "model versions and deployments, with the owners to notify."
    )
    async def impact(
        self, info: Info, change: Annotated[SchemaChangeInput, arg("The proposed change.")]
    ) -> ImpactReport:
        report = await info.context.call(info.context.service.impact, change.to_domain())
        _observe(info, "impact", len(report.affected), report.truncated)
        return ImpactReport.from_domain(report)

    @resolver(description="What a quality result puts at risk now, with paths and precision.")
    async def cascade(
        self, info: Info, result_id: Annotated[strawberry.ID, arg("The check result's id.")]
    ) -> Cascade:
        report = await info.context.call(
            info.context.service.cascade, _check_id(str(result_id), "resultId")
        )
        _observe(info, "cascade", len(report.at_risk), False)
        return Cascade.from_domain(report)

    @resolver(
        description="The upstream closure at the exact versions that produced a model version, "
        "deployment or dataset version."
    )
    async def provenance(self, info: Info, id: EntityId) -> Provenance:
        result = await info.context.call(info.context.service.provenance, _check_id(str(id), "id"))
        _observe(info, "provenance", len(result.versions) + len(result.runs), result.truncated)
        return Provenance.from_domain(result)

    @resolver(description="What differs between the provenance of two versions.")
    async def provenance_diff(
        self,
        info: Info,
        from_: Annotated[
            strawberry.ID,
            strawberry.argument(name="from", description="The earlier (good) version."),
        ],
        to: Annotated[strawberry.ID, arg("The later (regressed) version.")],
    ) -> ProvenanceDiff:
        diff = await info.context.call(
            info.context.service.provenance_diff,
            _check_id(str(from_), "from"),
            _check_id(str(to), "to"),
        )
        return ProvenanceDiff.from_domain(diff)

    @resolver(
        description="Ranked, explained upstream suspects for a regressed model version or "
        "deployment within a time window (default: since the previous version)."
    )
    async def root_cause(
        self,
        info: Info,
        id: EntityId,
        since: Annotated[datetime | None, arg("Start of the window.")] = None,
        until: Annotated[
            datetime | None,
            arg("End of the window; a deployment stands for the version it served then."),
        ] = None,
    ) -> RootCause:
        report = await info.context.call(
            info.context.service.root_cause, _check_id(str(id), "id"), since, until
        )
        _observe(info, "root_cause", len(report.suspects), report.truncated)
        return RootCause.from_domain(report)
