"""The graph model: entities, edges, health and the ChangeSet that every writer produces.

Entities are stored uniformly as :class:`Node` records (kind, key, attributes);
the typed classes (:class:`Dataset`, :class:`Field`, …) are how code builds and
reads them. Edges point in the direction data flows, so "downstream" always
follows edges forward (ARCHITECTURE §3).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, Self, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator
from pydantic import Field as PydanticField

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import KEY_PARTS, SEPARATOR, Key, Kind, check_storable, make_id, parse_id

__all__ = [
    "CONTAINMENT_KINDS",
    "EDGE_RULES",
    "FLOW_KINDS",
    "HISTORY_ORDER",
    "RUNTIME_KINDS",
    "ChangeFold",
    "ChangeSet",
    "Check",
    "Dataset",
    "DatasetVersion",
    "Deployment",
    "Direction",
    "Edge",
    "EdgeEnding",
    "EdgeKind",
    "Entity",
    "Feature",
    "Field",
    "GroupedChangeSet",
    "HealthReason",
    "HealthRecord",
    "HealthStatus",
    "Job",
    "JobSnapshot",
    "Key",
    "Kind",
    "Link",
    "Model",
    "ModelVersion",
    "Node",
    "Origin",
    "Page",
    "Precision",
    "ReasonKind",
    "ReportGroup",
    "Result",
    "Run",
    "RunState",
    "SchemaSnapshot",
    "completion_stamp",
    "format_time",
    "lenient_time",
    "member_stamp",
    "parse_time",
    "producing_run",
    "reasons_from_json",
    "reasons_to_json",
    "time_stamp",
    "utcnow",
]


# --- time -------------------------------------------------------------------------------------


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Treat a naive datetime as UTC and convert an aware one to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """A fixed-width UTC timestamp; stored times compare correctly as strings (the year
    has four digits, zero-padded, which strftime's ``%Y`` does not give before 1000)."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(value: str | datetime) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset) into an aware UTC datetime."""
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"not an ISO-8601 timestamp: {value!r}") from None


# A UTC time as format_time writes it, or as the entities' times are dumped (no fraction
# of a second when it is 0), on a day every month has (later days are parsed).
_STAMP = re.compile(
    r"(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?Z",
    re.ASCII,  # the digits datetime reads: \d would take any script's
)


def time_stamp(value: object) -> str:
    """A stored time attribute as a fixed-width UTC string ("" when missing or malformed).

    Stamps compare as the times they stand for; "" sorts before every time. This is
    how the health rules order versions and runs (:func:`member_stamp`).
    """
    if not isinstance(value, str | datetime) or value == "":
        return ""
    if isinstance(value, str) and (match := _STAMP.fullmatch(value)):  # the usual case
        fraction = match[4]
        if fraction is None:
            return f"{value[:19]}.000000Z"
        return value if len(fraction) == 7 else f"{value[:19]}{fraction:0<7}Z"
    try:
        return format_time(parse_time(value))
    except InvalidInput:
        return ""


# --- enums ------------------------------------------------------------------------------------


class EdgeKind(StrEnum):
    """Kinds of edge. Data-flow kinds point from producer to consumer."""

    # data flow, dataset level
    READS = "READS"  # DATASET|FEATURE|MODEL_VERSION -> JOB: the job reads it
    WRITES = "WRITES"  # JOB -> DATASET|FEATURE|MODEL_VERSION: the job writes it
    # data flow, column level
    DERIVES = "DERIVES"  # FIELD -> FIELD, carrying the job and the transformation
    # data flow, ML
    COMPUTED_FROM = "COMPUTED_FROM"  # FIELD|DATASET -> FEATURE
    TRAINED_ON = "TRAINED_ON"  # FEATURE|DATASET|FIELD -> MODEL_VERSION
    SERVES = "SERVES"  # MODEL_VERSION -> DEPLOYMENT, with the intervals it served
    # containment: not data flow
    HAS_FIELD = "HAS_FIELD"  # DATASET -> FIELD (and FIELD -> nested FIELD)
    HAS_VERSION = "HAS_VERSION"  # MODEL -> MODEL_VERSION, DATASET -> DATASET_VERSION
    # runtime
    HAS_RUN = "HAS_RUN"  # JOB -> RUN
    READ_BY = "READ_BY"  # DATASET_VERSION|MODEL_VERSION -> RUN: the run read that version
    WROTE = "WROTE"  # RUN -> DATASET_VERSION|MODEL_VERSION: the run wrote that version
    PARENT_OF = "PARENT_OF"  # RUN -> RUN
    # quality
    HAS_CHECK = "HAS_CHECK"  # DATASET|FIELD -> CHECK
    HAS_RESULT = "HAS_RESULT"  # CHECK -> RESULT
    EVALUATED = "EVALUATED"  # RESULT -> DATASET_VERSION it ran on


DATASET_FLOW_KINDS: frozenset[EdgeKind] = frozenset(
    {EdgeKind.READS, EdgeKind.WRITES, EdgeKind.COMPUTED_FROM, EdgeKind.TRAINED_ON, EdgeKind.SERVES}
)
FLOW_KINDS: frozenset[EdgeKind] = DATASET_FLOW_KINDS | {EdgeKind.DERIVES}
CONTAINMENT_KINDS: frozenset[EdgeKind] = frozenset({EdgeKind.HAS_FIELD, EdgeKind.HAS_VERSION})
RUNTIME_KINDS: frozenset[EdgeKind] = frozenset(
    {EdgeKind.HAS_RUN, EdgeKind.READ_BY, EdgeKind.WROTE, EdgeKind.PARENT_OF}
)

_D, _F, _J, _R, _DV = Kind.DATASET, Kind.FIELD, Kind.JOB, Kind.RUN, Kind.DATASET_VERSION
_FE, _M, _MV, _DEP = Kind.FEATURE, Kind.MODEL, Kind.MODEL_VERSION, Kind.DEPLOYMENT
_C, _RE = Kind.CHECK, Kind.RESULT

# Which kinds each edge kind may connect: (allowed sources, allowed targets).
EDGE_RULES: dict[EdgeKind, tuple[frozenset[Kind], frozenset[Kind]]] = {
    EdgeKind.READS: (frozenset({_D, _FE, _MV}), frozenset({_J})),
    EdgeKind.WRITES: (frozenset({_J}), frozenset({_D, _FE, _MV})),
    EdgeKind.DERIVES: (frozenset({_F}), frozenset({_F})),
    EdgeKind.COMPUTED_FROM: (frozenset({_F, _D}), frozenset({_FE})),
    EdgeKind.TRAINED_ON: (frozenset({_FE, _D, _F}), frozenset({_MV})),
    EdgeKind.SERVES: (frozenset({_MV}), frozenset({_DEP})),
    EdgeKind.HAS_FIELD: (frozenset({_D, _F}), frozenset({_F})),
    EdgeKind.HAS_VERSION: (frozenset({_M, _D}), frozenset({_MV, _DV})),
    EdgeKind.HAS_RUN: (frozenset({_J}), frozenset({_R})),
    EdgeKind.READ_BY: (frozenset({_DV, _MV}), frozenset({_R})),
    EdgeKind.WROTE: (frozenset({_R}), frozenset({_DV, _MV})),
    EdgeKind.PARENT_OF: (frozenset({_R}), frozenset({_R})),
    EdgeKind.HAS_CHECK: (frozenset({_D, _F}), frozenset({_C})),
    EdgeKind.HAS_RESULT: (frozenset({_C}), frozenset({_RE})),
    EdgeKind.EVALUATED: (frozenset({_RE}), frozenset({_DV})),
}

# The history whose latest member Store.latest_history answers, by the owner's kind:
# (edge kind, member kind, the member's time attributes that order it, the first one it
# has counting, then its id). A run known only from its end (producers that send no
# START) is placed by its end, then by the time its state was reported.
HISTORY_ORDER: dict[Kind, tuple[EdgeKind, Kind, tuple[str, ...]]] = {
    Kind.DATASET: (EdgeKind.HAS_VERSION, Kind.DATASET_VERSION, ("created_at",)),
    Kind.JOB: (EdgeKind.HAS_RUN, Kind.RUN, ("started_at", "ended_at", "state_at")),
}
# member kind -> the attributes whose time stamp orders it in its owner's history
_MEMBER_TIME = {member: attrs for _, member, attrs in HISTORY_ORDER.values()}


def completion_stamp(kind: Kind, attrs: Mapping[str, Any]) -> str | None:
    """When a run that completed ended, as a time stamp (its start when it has no end,
    "" when it has neither); ``None`` for a run that has not completed and for nodes of
    other kinds. Provenance takes the run of a feature's job that completed last."""
    if kind is not Kind.RUN or attrs.get("state") != RunState.COMPLETE.value:
        return None
    return time_stamp(attrs.get("ended_at")) or time_stamp(attrs.get("started_at"))


def producing_run(writers: Iterable[Node]) -> Node | None:
    """Of the runs that wrote a version, the one that produced it: the COMPLETE run that
    ended last (an attempt that failed before a retry wrote the same version too), else
    the latest run; ties go to the larger id."""

    def order(run: Node) -> tuple[bool, str, str, str]:
        done = completion_stamp(run.kind, run.attrs)
        return (done is not None, done or "", member_stamp(run.kind, run.attrs) or "", run.id)

    return max(writers, key=order, default=None)


def member_stamp(kind: Kind, attrs: Mapping[str, Any]) -> str | None:
    """The time stamp that orders a dataset version or a run in its dataset's or job's
    history (see :data:`HISTORY_ORDER`): "" when it has none of those times, ``None``
    for nodes of other kinds."""
    names = _MEMBER_TIME.get(kind)
    if names is None:
        return None
    for name in names:
        stamp = time_stamp(attrs.get(name))
        if stamp:
            return stamp
    return ""


class Direction(StrEnum):
    """Which way a traversal follows edges."""

    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class Origin(StrEnum):
    """Where a piece of lineage came from."""

    API = "api"
    OPENLINEAGE = "openlineage"
    DBT = "dbt"
    GX = "gx"
    INFERRED = "inferred"
    DEMO = "demo"


class RunState(StrEnum):
    """The OpenLineage run states."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"
    OTHER = "OTHER"


class HealthStatus(StrEnum):
    """Health of an entity (ARCHITECTURE §4.3)."""

    OK = "OK"
    AT_RISK = "AT_RISK"
    FAILING = "FAILING"


class Precision(StrEnum):
    """How sure an at-risk verdict is: confirmed through runs, or potential by design lineage."""

    CONFIRMED = "CONFIRMED"
    POTENTIAL = "POTENTIAL"


class ReasonKind(StrEnum):
    """What a health reason rests on."""

    OWN_CHECK = "OWN_CHECK"
    """The entity's own check fails now (hops 0): for a dataset, a check on one of its
    fields too."""
    CHECKED_VERSION = "CHECKED_VERSION"
    """A version of the checked dataset: the check failed on it, or on an earlier version
    and no newer result has passed."""
    RECORDED_RUNS = "RECORDED_RUNS"
    """Recorded runs read the failing data and carried it here."""
    NOT_REFRESHED = "NOT_REFRESHED"
    """A job whose latest run, to read the failing data, was aborted or skipped: it read
    nothing, and its output was not refreshed since the failure."""
    DESIGN_LINEAGE = "DESIGN_LINEAGE"
    """Downstream by design lineage only (POTENTIAL)."""


# Trusted construction (Node.trusted, Edge.trusted) sets what ``model_construct`` sets, minus
# its per-field default and alias bookkeeping, which costs three times as much as the object:
# ingestion builds hundreds of thousands of nodes and edges.
_set_slot = object.__setattr__
_Model = TypeVar("_Model", bound=BaseModel)


def _unvalidated(cls: type[_Model], values: dict[str, Any], fields: Iterable[str]) -> _Model:
    """An instance holding ``values`` as they are: what ``model_construct`` sets, minus its
    per-field bookkeeping (frozen models are set through ``object.__setattr__``)."""
    instance = object.__new__(cls)
    _set_slot(instance, "__dict__", values)
    _set_slot(instance, "__pydantic_fields_set__", set(fields))
    _set_slot(instance, "__pydantic_extra__", None)
    _set_slot(instance, "__pydantic_private__", None)
    return instance


# --- nodes ------------------------------------------------------------------------------------


class Node(BaseModel):
    """An entity as the store holds it: kind, key and free-form attributes."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    namespace: str
    name: str
    parts: tuple[str, ...] = ()
    attrs: dict[str, Any] = PydanticField(default_factory=dict)

    @classmethod
    def trusted(
        cls,
        id: str,
        kind: Kind,
        namespace: str,
        name: str,
        parts: tuple[str, ...],
        attrs: dict[str, Any],
    ) -> Node:
        """A node from values the caller built correctly itself (translators, stores).

        Nothing is validated or copied: ``attrs`` becomes the node's own dict.
        """
        values = {
            "id": id,
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "parts": parts,
            "attrs": attrs,
        }
        return _unvalidated(cls, values, _NODE_FIELDS)

    @classmethod
    def from_key(cls, key: Key, attrs: Mapping[str, Any] | None = None) -> Node:
        """Build a node for a key; attributes that are ``None`` are dropped."""
        clean = {k: v for k, v in (attrs or {}).items() if v is not None}
        return cls(
            id=key.id,
            kind=key.kind,
            namespace=key.namespace,
            name=key.name,
            parts=key.parts,
            attrs=clean,
        )

    @property
    def key(self) -> Key:
        """The key of this node."""
        return Key(self.kind, self.namespace, self.name, self.parts)

    @property
    def label(self) -> str:
        """A short human-readable label: the name, plus the path or version."""
        if self.kind is Kind.RESULT:
            return f"{self.parts[0]} @ {self.parts[1]}"
        return self.parts[-1] if self.parts else self.name

    def search_title(self) -> str:
        """The words of the entity's own name or key part, which search ranks highest."""
        return " ".join(self.parts) if self.parts else self.name

    def search_text(self) -> str:
        """The text that full-text search matches for this node."""
        words = [self.name, self.namespace, *self.parts]
        for key in ("description", "type", "platform", "job_type", "environment"):
            value = self.attrs.get(key)
            if isinstance(value, str):
                words.append(value)
        for key in ("owners", "tags", "field_names", "aliases", "renamed_from"):
            values = self.attrs.get(key)
            if isinstance(values, list):
                words.extend(str(v) for v in values)
        return " ".join(words)


_NODE_FIELDS = frozenset(Node.model_fields)

E = TypeVar("E", bound="Entity")


class Entity(BaseModel):
    """Base of the typed entity classes; each maps to and from a :class:`Node`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[Kind]
    namespace: str
    name: str

    @field_validator("namespace", "name")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    def key_parts(self) -> tuple[str, ...]:
        """The key parts after (namespace, name); overridden by kinds that have them."""
        return ()

    @property
    def key(self) -> Key:
        """The key of this entity."""
        return Key(self.kind, self.namespace, self.name, self.key_parts())

    @property
    def id(self) -> str:
        """The id of this entity."""
        return self.key.id

    def to_node(self) -> Node:
        """The node record the store holds for this entity."""
        fields = self.model_dump(mode="json", exclude={"namespace", "name", *self._key_fields()})
        return Node.from_key(self.key, fields)

    @classmethod
    def from_node(cls, node: Node) -> Self:
        """Rebuild the typed entity from a stored node (unknown attributes are ignored)."""
        if node.kind is not cls.kind:
            raise InvalidInput(f"{node.id} is a {node.kind.value}, not a {cls.kind.value}")
        known = {k: v for k, v in node.attrs.items() if k in cls.model_fields}
        key_values = dict(zip(cls._key_fields(), node.parts, strict=True))
        return cls(namespace=node.namespace, name=node.name, **key_values, **known)

    @classmethod
    def _key_fields(cls) -> tuple[str, ...]:
        return KEY_PARTS[cls.kind]


class Dataset(Entity):
    """A table, file, topic or view."""

    kind: ClassVar[Kind] = Kind.DATASET
    description: str | None = None
    platform: str | None = None
    owners: list[str] | None = None
    tags: list[str] | None = None
    deleted: bool | None = None
    aliases: list[str] | None = None
    facets: dict[str, Any] | None = None


class Field(Entity):
    """A column of a dataset; nested fields have dotted paths such as ``a.b.c``."""

    kind: ClassVar[Kind] = Kind.FIELD
    path: str
    type: str | None = None
    description: str | None = None
    ordinal: int | None = None
    nullable: bool | None = None
    tags: list[str] | None = None
    deleted: bool | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.path,)

    @property
    def dataset_id(self) -> str:
        """The id of the dataset this field belongs to."""
        return make_id(Kind.DATASET, self.namespace, self.name)


class Job(Entity):
    """A transformation: a batch or streaming job, a SQL model, a training pipeline."""

    kind: ClassVar[Kind] = Kind.JOB
    description: str | None = None
    job_type: str | None = None
    processing_type: str | None = None
    integration: str | None = None
    sql: str | None = None
    code_location: str | None = None
    code_version: str | None = None
    owners: list[str] | None = None
    tags: list[str] | None = None
    facets: dict[str, Any] | None = None


class Run(Entity):
    """One run of a job; namespace and name are the job's."""

    kind: ClassVar[Kind] = Kind.RUN
    run_id: str
    state: RunState | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    nominal_time: datetime | None = None
    error_message: str | None = None
    parent_run: str | None = None
    code_version: str | None = None
    facets: dict[str, Any] | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.run_id,)

    @property
    def job_id(self) -> str:
        """The id of the job this run belongs to."""
        return make_id(Kind.JOB, self.namespace, self.name)


class DatasetVersion(Entity):
    """A dataset as written by one run, with its schema at that time."""

    kind: ClassVar[Kind] = Kind.DATASET_VERSION
    version: str
    created_at: datetime | None = None
    run: str | None = None
    schema_fields: list[dict[str, Any]] | None = None
    row_count: int | None = None
    byte_count: int | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.version,)

    @property
    def dataset_id(self) -> str:
        """The id of the dataset this is a version of."""
        return make_id(Kind.DATASET, self.namespace, self.name)


class Feature(Entity):
    """An ML feature: feature-store namespace and a ``view:feature`` name."""

    kind: ClassVar[Kind] = Kind.FEATURE
    description: str | None = None
    dtype: str | None = None
    owners: list[str] | None = None
    tags: list[str] | None = None


class Model(Entity):
    """A registered model."""

    kind: ClassVar[Kind] = Kind.MODEL
    description: str | None = None
    framework: str | None = None
    owners: list[str] | None = None
    tags: list[str] | None = None


class ModelVersion(Entity):
    """One version of a registered model; namespace and name are the model's."""

    kind: ClassVar[Kind] = Kind.MODEL_VERSION
    version: str
    created_at: datetime | None = None
    metrics: dict[str, float] | None = None
    training_run: str | None = None
    stage: str | None = None
    description: str | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.version,)

    @property
    def model_id(self) -> str:
        """The id of the model this is a version of."""
        return make_id(Kind.MODEL, self.namespace, self.name)


class Deployment(Entity):
    """An environment or endpoint that serves model versions over time."""

    kind: ClassVar[Kind] = Kind.DEPLOYMENT
    description: str | None = None
    environment: str | None = None
    endpoint: str | None = None
    owners: list[str] | None = None
    tags: list[str] | None = None


class Check(Entity):
    """A named assertion on a dataset or one of its fields; namespace and name are the dataset's."""

    kind: ClassVar[Kind] = Kind.CHECK
    check: str
    check_type: str | None = None
    field: str | None = None
    severity: str | None = None
    description: str | None = None
    source: str | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.check,)

    @property
    def dataset_id(self) -> str:
        """The id of the checked dataset."""
        return make_id(Kind.DATASET, self.namespace, self.name)

    @property
    def target_id(self) -> str:
        """The id of the checked field, or of the dataset for a table-level check."""
        if self.field:
            return make_id(Kind.FIELD, self.namespace, self.name, self.field)
        return self.dataset_id


class Result(Entity):
    """One outcome of a check; ``result`` is its own key (a run id or a timestamp)."""

    kind: ClassVar[Kind] = Kind.RESULT
    check: str
    result: str
    passed: bool
    observed_at: datetime
    observed: str | None = None
    expected: str | None = None
    dataset_version: str | None = None
    run: str | None = None
    source: str | None = None
    message: str | None = None

    def key_parts(self) -> tuple[str, ...]:
        return (self.check, self.result)

    @property
    def check_id(self) -> str:
        """The id of the check this result belongs to."""
        return make_id(Kind.CHECK, self.namespace, self.name, self.check)


ENTITY_CLASSES: dict[Kind, type[Entity]] = {
    cls.kind: cls
    for cls in (
        Dataset,
        Field,
        Job,
        Run,
        DatasetVersion,
        Feature,
        Model,
        ModelVersion,
        Deployment,
        Check,
        Result,
    )
}


def entity_from_node(node: Node) -> Entity:
    """The typed entity for a stored node."""
    return ENTITY_CLASSES[node.kind].from_node(node)


# --- edges ------------------------------------------------------------------------------------


class Edge(BaseModel):
    """A directed edge with its provenance and validity in time.

    ``first_seen`` and ``last_seen`` are the earliest and latest times a source
    reported the edge; ``ended_at`` is when it stopped being current (the job's
    latest run no longer reported it), or ``None`` while it is current.
    """

    model_config = ConfigDict(frozen=True)

    source_id: str
    kind: EdgeKind
    target_id: str
    origin: Origin = Origin.API
    first_seen: str
    last_seen: str
    ended_at: str | None = None
    attrs: dict[str, Any] = PydanticField(default_factory=dict)

    @classmethod
    def trusted(
        cls,
        source_id: str,
        kind: EdgeKind,
        target_id: str,
        origin: Origin,
        first_seen: str,
        last_seen: str,
        ended_at: str | None,
        attrs: dict[str, Any],
    ) -> Edge:
        """An edge from values the caller built correctly itself (translators, stores).

        Nothing is validated or copied: ``attrs`` becomes the edge's own dict.
        """
        values = {
            "source_id": source_id,
            "kind": kind,
            "target_id": target_id,
            "origin": origin,
            "first_seen": first_seen,
            "last_seen": last_seen,
            "ended_at": ended_at,
            "attrs": attrs,
        }
        return _unvalidated(cls, values, _EDGE_FIELDS)

    @classmethod
    def seen(
        cls,
        source_id: str,
        kind: EdgeKind,
        target_id: str,
        at: datetime,
        origin: Origin = Origin.API,
        attrs: Mapping[str, Any] | None = None,
    ) -> Edge:
        """An edge reported once, at ``at``."""
        stamp = format_time(at)
        clean = {k: v for k, v in (attrs or {}).items() if v is not None}
        return cls(
            source_id=source_id,
            kind=kind,
            target_id=target_id,
            origin=origin,
            first_seen=stamp,
            last_seen=stamp,
            attrs=clean,
        )

    @property
    def key(self) -> tuple[str, EdgeKind, str]:
        """(source id, kind, target id): an edge's identity."""
        return (self.source_id, self.kind, self.target_id)

    @property
    def current(self) -> bool:
        """Whether the edge is still reported."""
        return self.ended_at is None

    def valid_at(self, as_of: str | None) -> bool:
        """Whether the edge existed at ``as_of`` (a stored timestamp); ``None`` means now."""
        if as_of is None:
            return self.ended_at is None
        return self.first_seen <= as_of and (self.ended_at is None or self.ended_at > as_of)

    def serving_at(self, at: datetime) -> bool:
        """Whether a SERVES edge valid at ``at`` served then. A version served again after
        a pause (a rollback) keeps one edge over both servings: in the pause, its
        ``intervals`` say it was not serving. Other edges, and a serving without
        intervals, serve while valid."""
        intervals = self.attrs.get("intervals")
        if self.kind is not EdgeKind.SERVES or not isinstance(intervals, list):
            return True
        when = as_utc(at)
        readable = False
        for interval in intervals:
            if not isinstance(interval, dict):
                continue
            since = lenient_time(interval.get("from"))
            if since is None:
                continue
            readable = True
            until = lenient_time(interval.get("until"))  # unreadable: still serving
            if since <= when and (until is None or when < until):
                return True
        return not readable


def lenient_time(value: Any) -> datetime | None:
    """A stored or reported time as an aware datetime; ``None`` when it is none or does not
    parse."""
    if isinstance(value, str | datetime):
        try:
            return parse_time(value)
        except InvalidInput:
            return None
    return None


_EDGE_FIELDS = frozenset(Edge.model_fields)


def edge_valid(first_seen: str, ended_at: str | None, as_of: str | None) -> bool:
    """The validity rule of :meth:`Edge.valid_at`, for adapters holding raw values."""
    if as_of is None:
        return ended_at is None
    return first_seen <= as_of and (ended_at is None or ended_at > as_of)


def merge_edge(old: Edge | None, new: Edge) -> Edge:
    """Combine a stored edge with a newly reported one; commutative and idempotent.

    The seen interval widens; a report at or after the end time revives the edge;
    attributes merge, newer report wins.
    """
    if old is None:
        return new
    first = min(old.first_seen, new.first_seen)
    last = max(old.last_seen, new.last_seen)
    ended = old.ended_at
    if ended is not None and new.last_seen >= ended:
        ended = None
    newer, older = (new, old) if new.last_seen >= old.last_seen else (old, new)
    attrs = {**older.attrs, **newer.attrs}
    return Edge(
        source_id=old.source_id,
        kind=old.kind,
        target_id=old.target_id,
        origin=newer.origin,
        first_seen=first,
        last_seen=last,
        ended_at=ended,
        attrs=attrs,
    )


def end_edge(edge: Edge, at: str, *, retract: bool = False) -> Edge:
    """Mark an edge as no longer current from ``at`` unless it was seen at or after ``at``.

    ``retract`` (an :class:`EdgeEnding`'s) ends an inferred edge last seen at ``at``
    there too: one seen only when it was inferred, never since.
    """
    if not ends(edge.origin.value, edge.last_seen, edge.ended_at, at, retract=retract):
        return edge
    return edge.model_copy(update={"ended_at": at})


def ends(origin: str, last_seen: str, ended_at: str | None, at: str, *, retract: bool) -> bool:
    """Whether an ending at ``at`` moves an edge's end (:func:`end_edge` on stored values)."""
    if ended_at is not None and ended_at <= at:
        return False
    if retract:
        return origin == Origin.INFERRED.value and last_seen <= at
    return last_seen < at


def json_equal(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same value. Python's ``==`` holds ``1``, ``1.0``
    and ``true`` equal; JSON (and a producer that turns one into another) does not.

    Mappings whose values are the same objects (translators share descriptions between
    reports) are not looked into; other values are compared by their text.
    """
    if a is b:
        return True
    if a != b:
        return False
    if type(a) is dict and all(value is b[key] for key, value in a.items()):
        return True
    return _same_text(a, b)


def _same_text(a: Any, b: Any) -> bool:
    """Whether two ``==`` values are the same JSON: keys in their order first (a report
    repeated keeps its order), then sorted; item by item what orjson cannot write."""
    try:
        if orjson.dumps(a) == orjson.dumps(b):
            return True
        return bool(
            orjson.dumps(a, option=orjson.OPT_SORT_KEYS)
            == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
        )
    except TypeError:  # an integer past 64 bits, a lone surrogate, a value of no JSON type
        return _same_types(a, b)


def _same_types(a: Any, b: Any) -> bool:
    """Whether two ``==`` values hold the same types at the same places."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return all(_same_types(value, b[key]) for key, value in a.items())
    if kind is list or kind is tuple:
        return all(map(_same_types, a, b))
    return True


def merge_attrs(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow merge of node attributes; ``None`` in ``new`` never erases a value."""
    merged = dict(old)
    merged.update({k: v for k, v in new.items() if v is not None})
    return merged


def merge_reported(
    old: Mapping[str, Any],
    old_at: str | None,
    new: Mapping[str, Any],
    new_at: str | None,
    kind: Kind | None = None,
) -> tuple[dict[str, Any], str | None]:
    """Merge a report of a node's attributes made at ``new_at`` into the attributes it
    holds from a report made at ``old_at``; returns the attributes and their time.

    The newer report wins (:func:`merge_attrs`) and its time becomes the attributes'
    time when it changes them; an older one (an event that arrives late) only adds what
    the node lacks. A report without a time wins and leaves the time as it was, and so
    does any report of a node that holds no attributes (a bare reference, whatever time
    it was stored with). A run (``kind`` RUN) takes the state that is further along
    (:func:`keep_run_state`), whichever report is newer.
    """
    newer = new_at is None or old_at is None or not old or new_at >= old_at
    if newer:
        merged = merge_attrs(old, new)
    else:
        merged = dict(old)
        fill_gaps(merged, new)
    if kind is Kind.RUN and "state" in new:
        keep_run_state(merged, old, new)
    # the time moves with what changes: a report that changes nothing leaves it
    if not newer or new_at is None or json_equal(merged, old):
        return merged, old_at
    return merged, new_at


# A run's state only moves forward: START, then RUNNING, then COMPLETE, FAIL or ABORT;
# between states of the same rank the later ``state_at`` (when it was reported) wins.
RUN_STATE_RANK = {"START": 0, "RUNNING": 1, "COMPLETE": 2, "FAIL": 2, "ABORT": 2}
RUN_STATE_ATTRS = ("state", "state_at", "ended_at")


def run_state_order(attrs: Mapping[str, Any]) -> tuple[int, str]:
    """How far along the state a run's attributes report is: its rank, then its time."""
    return RUN_STATE_RANK.get(str(attrs.get("state")), -1), str(attrs.get("state_at") or "")


def keep_run_state(merged: dict[str, Any], held: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Give a run's merged attributes the state (with ``state_at`` and ``ended_at``) of
    whichever of ``held`` and ``new`` is further along. Emitters' clocks disagree, so a
    START may be stamped after its run's COMPLETE: the state does not follow the time
    the attributes were reported at, which only says which other attributes win."""
    winner = new if run_state_order(new) >= run_state_order(held) else held
    for key in RUN_STATE_ATTRS:
        value = winner.get(key)
        if value is not None:
            merged[key] = value


def fill_gaps(attrs: dict[str, Any], older: Mapping[str, Any]) -> None:
    """Add to ``attrs`` what an older report says that they lack (``None`` says nothing)."""
    for key, value in older.items():
        if value is not None and key not in attrs:
            attrs[key] = value


# --- health -----------------------------------------------------------------------------------


class HealthReason(BaseModel):
    """Why an entity is FAILING or AT_RISK: the failing result and the path from it."""

    model_config = ConfigDict(frozen=True)

    result_id: str
    check_id: str
    checked_id: str
    path: tuple[str, ...]
    hops: int
    precision: Precision
    message: str
    # Reasons stored before kinds were recorded read as RECORDED_RUNS: they were settled
    # under other health rules, so they are recomputed before they are served.
    kind: ReasonKind = ReasonKind.RECORDED_RUNS


class HealthRecord(BaseModel):
    """The stored health of one entity."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    status: HealthStatus
    reasons: tuple[HealthReason, ...] = ()


_REASONS: TypeAdapter[tuple[HealthReason, ...]] = TypeAdapter(tuple[HealthReason, ...])


def reasons_to_json(reasons: Iterable[HealthReason]) -> str:
    """Health reasons as a JSON list, serialized in one pass.

    The inverse of :func:`reasons_from_json`. Strings are escaped exactly as
    :func:`json.dumps` with ``ensure_ascii=False`` escapes them, so a JSON-quoted
    result id is found verbatim in the text.
    """
    return _REASONS.dump_json(tuple(reasons)).decode()


def reasons_from_json(text: str | bytes) -> tuple[HealthReason, ...]:
    """Health reasons from their stored JSON list, parsed and validated in one pass.

    Stores read thousands of records at a time; this costs about a third of
    ``json.loads`` followed by :meth:`HealthReason.model_validate` per reason.
    """
    return _REASONS.validate_json(text)


# --- changes ----------------------------------------------------------------------------------


class EdgeEnding(BaseModel):
    """An instruction to stop treating an edge as current from ``at`` on.

    ``retract`` takes back an edge the service inferred (``at`` is its ``first_seen``):
    it never was current, unless it has been seen since or reported by its producer.
    """

    model_config = ConfigDict(frozen=True)

    source_id: str
    kind: EdgeKind
    target_id: str
    at: str
    retract: bool = False


class JobSnapshot(BaseModel):
    """What one run of a job reported about the job's inputs and outputs at ``at``.

    The service turns it into edge endings: edges of these kinds touching the job
    that the snapshot does not report and that were last seen before ``at``.
    """

    model_config = ConfigDict(frozen=True)

    job_id: str
    at: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    column_edges: tuple[tuple[str, str], ...] | None = None


class SchemaSnapshot(BaseModel):
    """The whole schema of a dataset as one report gave it at ``at``: its field ids,
    nested ones included.

    The service turns it into endings of the dataset's ``HAS_FIELD`` edges (at every
    level) to fields it does not list that were last seen before ``at``.
    """

    model_config = ConfigDict(frozen=True)

    dataset_id: str
    at: str
    fields: tuple[str, ...]


class ChangeSet(BaseModel):
    """Nodes and edges to upsert, edges to end, entities to delete, health to store.

    Every writer (ingest translators, GraphQL mutations, the demo) produces one;
    the store applies it atomically and idempotently.
    """

    origin: Origin = Origin.API
    nodes: list[Node] = PydanticField(default_factory=list)
    edges: list[Edge] = PydanticField(default_factory=list)
    endings: list[EdgeEnding] = PydanticField(default_factory=list)
    snapshots: list[JobSnapshot] = PydanticField(default_factory=list)
    schemas: list[SchemaSnapshot] = PydanticField(default_factory=list)
    # When its nodes' attributes were reported (a stored time: an event's time), so that
    # a late report of older attributes does not overwrite newer ones; node_times holds
    # the nodes reported at other times (a fold of several events). None: now.
    reported_at: str | None = None
    node_times: dict[str, str] = PydanticField(default_factory=dict)
    deletes: list[str] = PydanticField(default_factory=list)
    health: list[HealthRecord] = PydanticField(default_factory=list)
    health_removals: list[str] = PydanticField(default_factory=list)

    def add(self, *items: Entity | Node | Edge) -> Self:
        """Add entities, nodes or edges; returns the changeset for chaining."""
        for item in items:
            if isinstance(item, Entity):
                self.nodes.append(item.to_node())
            elif isinstance(item, Node):
                self.nodes.append(item)
            else:
                self.edges.append(item)
        return self

    def link(
        self,
        source_id: str,
        kind: EdgeKind,
        target_id: str,
        at: datetime,
        attrs: Mapping[str, Any] | None = None,
    ) -> Self:
        """Add an edge seen at ``at`` with this changeset's origin."""
        self.edges.append(Edge.seen(source_id, kind, target_id, at, self.origin, attrs))
        return self

    def time_of(self, node_id: str) -> str | None:
        """When the attributes reported for a node were reported (``None``: now)."""
        return self.node_times.get(node_id, self.reported_at)

    def extend(self, other: ChangeSet) -> Self:
        """Append everything of another changeset."""
        if other.reported_at != self.reported_at or other.node_times:
            for node in other.nodes:
                at = other.time_of(node.id)
                if at is not None:
                    self.node_times[node.id] = at
        self.nodes.extend(other.nodes)
        self.edges.extend(other.edges)
        self.endings.extend(other.endings)
        self.snapshots.extend(other.snapshots)
        self.schemas.extend(other.schemas)
        self.deletes.extend(other.deletes)
        self.health.extend(other.health)
        self.health_removals.extend(other.health_removals)
        return self

    @property
    def size(self) -> int:
        """How many items the changeset carries."""
        return (
            len(self.nodes)
            + len(self.edges)
            + len(self.endings)
            + len(self.deletes)
            + len(self.health)
            + len(self.health_removals)
        )

    def is_empty(self) -> bool:
        """Whether applying it would change nothing."""
        return self.size == 0 and not self.snapshots and not self.schemas

    def normalized(self) -> ChangeSet:
        """Merge duplicate nodes and edges so each id or edge key appears once, in order.

        Repeats fold in order exactly as :func:`merge_attrs` and :func:`merge_edge` would
        merge them (see :class:`ChangeFold`). The changeset itself is returned when nothing
        repeats.
        """
        fold = ChangeFold(self.origin)
        fold.fold_nodes(self.nodes, self.reported_at, self.node_times)
        fold.fold_edges(self.edges)
        if not fold.repeated:
            return self
        nodes, edges = fold.merged()
        return self.model_copy(update={"nodes": nodes, "edges": edges})

    def check_node_ids(self) -> None:
        """Check that each node's id is that of its key and one a store can hold
        (:func:`~lineagegraph.ids.check_storable`); raises :class:`InvalidInput`."""
        checked = _CHECKED_NODES
        for node in self.nodes:
            node_id = node.id
            # Translators report the same (immutable) node object event after event.
            if checked.get(node_id) is not node:
                if node_id != _plain_id(node) and parse_id(node_id) != node.key:
                    raise InvalidInput(f"node id {node_id!r} does not match its key")
                check_storable(node_id, node.kind)
                checked[node_id] = node

    def validate_shape(self, known_kinds: Mapping[str, Kind]) -> None:
        """Check ids, kinds and edge endpoints; ``known_kinds`` maps stored ids to kinds.

        Raises :class:`InvalidInput` naming the first offending item.
        """
        self.check_node_ids()
        kinds: dict[str, Kind] = dict(known_kinds)
        kinds.update((node.id, node.kind) for node in self.nodes)
        deleted = set(self.deletes)
        kind_of = kinds.get
        for edge in self.edges:
            source, target = edge.source_id, edge.target_id
            if (
                (edge.kind, kind_of(source), kind_of(target)) not in _ALLOWED_ENDS
                or (deleted and (source in deleted or target in deleted))
                or edge.first_seen > edge.last_seen
            ):
                _refuse_edge(edge, kinds, deleted)
        for record in self.health:
            if record.id not in kinds:
                raise InvalidInput(f"health for {record.id}, which does not exist")

    def referenced_ids(self) -> set[str]:
        """Ids that edges and health records of this changeset point at."""
        ids = {e.source_id for e in self.edges} | {e.target_id for e in self.edges}
        ids.update(r.id for r in self.health)
        return ids


# A reported edge without its times: (source id, kind, target id, attributes).
Link = tuple[str, EdgeKind, str, dict[str, Any]]


@dataclass(frozen=True, eq=False)
class ReportGroup:
    """Nodes and edges that a source reports together again and again, built once.

    A dataset's schema or an output's column lineage repeats in every event of a job
    that runs over and over; a translator keeps the group and refers to it from each
    event (:class:`GroupedChangeSet`) instead of building the same models again.
    """

    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    ids: frozenset[str] = dataclass_field(init=False)
    keys: tuple[tuple[str, EdgeKind, str], ...] = dataclass_field(init=False)
    # whether each node id and each edge key appears once in the group
    distinct: bool = dataclass_field(init=False)

    def __post_init__(self) -> None:
        ids = frozenset(node.id for node in self.nodes)
        keys = tuple((source, kind, target) for source, kind, target, _ in self.links)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "keys", keys)
        distinct = len(ids) == len(self.nodes) and len(set(keys)) == len(keys)
        object.__setattr__(self, "distinct", distinct)


@dataclass(frozen=True)
class GroupedChangeSet:
    """A changeset and the groups it reports by reference.

    Each group entry is (node position, edge position, group, seen): the group's nodes
    and edges belong at those positions among the changeset's own, its edges seen at
    ``seen`` with the changeset's origin. :meth:`expanded` gives the plain changeset;
    :class:`ChangeFold` folds one without expanding its groups.
    """

    changeset: ChangeSet
    groups: tuple[tuple[int, int, ReportGroup, str], ...] = ()

    @property
    def size(self) -> int:
        """How many items the expanded changeset carries."""
        return self.changeset.size + sum(
            len(group.nodes) + len(group.links) for _, _, group, _ in self.groups
        )

    def parts(self) -> Iterator[tuple[list[Node], list[Edge], ReportGroup | None, str]]:
        """In order: the changeset's own nodes and edges before each group, then that
        group and when it was seen; last, what follows the last group (with no group)."""
        changeset = self.changeset
        node_at = edge_at = 0
        for node_position, edge_position, group, seen in self.groups:
            own_nodes = changeset.nodes[node_at:node_position]
            yield own_nodes, changeset.edges[edge_at:edge_position], group, seen
            node_at, edge_at = node_position, edge_position
        if node_at or edge_at:
            yield changeset.nodes[node_at:], changeset.edges[edge_at:], None, ""
        else:  # nothing before a group: the lists themselves, uncopied
            yield changeset.nodes, changeset.edges, None, ""

    def expanded(self) -> ChangeSet:
        """The plain changeset: every group's nodes and edges in their places."""
        changeset = self.changeset
        if not self.groups:
            return changeset
        origin = changeset.origin
        nodes: list[Node] = []
        edges: list[Edge] = []
        for own_nodes, own_edges, group, seen in self.parts():
            nodes.extend(own_nodes)
            edges.extend(own_edges)
            if group is not None:
                nodes.extend(group.nodes)
                edges.extend(
                    Edge.trusted(source, kind, target, origin, seen, seen, None, attrs)
                    for source, kind, target, attrs in group.links
                )
        return changeset.model_copy(update={"nodes": nodes, "edges": edges})


class ChangeFold:
    """Changesets folded, in order, into one: what :meth:`ChangeSet.normalized` gives for
    their concatenation.

    A repeated node keeps its newest report (by :meth:`ChangeSet.time_of`; the last of
    equally new ones), with the attributes of every report merged in that order
    (:func:`merge_reported`: ``None`` never overwrites, an older report only fills gaps);
    a repeated edge keeps its earliest
    ``first_seen`` and latest ``last_seen``, is current again when seen at or after it
    ended, and takes the origin and (over older ones) the attributes of its latest
    report. A batch of events names the same datasets, fields and edges over and over:
    repeats fold into running values, without a model each.

    A group (:class:`ReportGroup`) is folded item by item when first reported. At its
    second report, if nothing else has reported its nodes and edges, it becomes *sole*:
    reporting it again only moves its edges' times, so a repeat costs one update. Once
    anything else reports one of its nodes or edges, its repeats so far are folded into
    each edge and it folds item by item from then on.
    """

    def __init__(self, origin: Origin) -> None:
        self._rest = ChangeSet(origin=origin)
        self._nodes: dict[str, Node] = {}
        self._node_attrs: dict[str, dict[str, Any]] = {}  # merged attributes of repeats
        self._node_times: dict[str, str] = {}  # when the kept report of a node was made
        self._edges: dict[tuple[str, EdgeKind, str], Edge] = {}
        # edge key -> [first_seen, last_seen, ended_at, origin, attrs] of repeated edges
        self._folded: dict[tuple[str, EdgeKind, str], list[Any]] = {}
        self._repeats = False  # whether a node or a sole group was reported again
        # sole groups -> [origin, earliest seen, latest seen, whether its nodes' reports
        # have no time], and who owns each of their
        # node ids and edge keys; groups that are not sole (any more)
        self._sole: dict[ReportGroup, list[Any]] = {}
        self._owner: dict[Hashable, ReportGroup] = {}
        self._shared: set[ReportGroup] = set()
        self._once: dict[ReportGroup, tuple[Origin, str]] = {}  # reported once so far

    @property
    def repeated(self) -> bool:
        """Whether a node or edge was reported more than once."""
        return self._repeats or bool(self._folded)

    def add(self, changes: ChangeSet | GroupedChangeSet) -> None:
        """Fold in a changeset (a grouped one without expanding its groups)."""
        if isinstance(changes, ChangeSet):
            changes = GroupedChangeSet(changes)
        changeset = changes.changeset
        at, times = changeset.reported_at, changeset.node_times
        for own_nodes, own_edges, group, seen in changes.parts():
            self.fold_nodes(own_nodes, at, times)
            self.fold_edges(own_edges)
            if group is not None:
                self.fold_group(group, changeset.origin, seen, at)
        rest = self._rest
        rest.endings.extend(changeset.endings)
        rest.snapshots.extend(changeset.snapshots)
        rest.schemas.extend(changeset.schemas)
        rest.deletes.extend(changeset.deletes)
        rest.health.extend(changeset.health)
        rest.health_removals.extend(changeset.health_removals)

    def fold_group(
        self, group: ReportGroup, origin: Origin, seen: str, at: str | None = None
    ) -> None:
        """Fold in a group's nodes (reported at ``at``), and its edges seen at ``seen``
        with ``origin``."""
        state = self._sole.get(group)
        if state is not None:
            if state[0] is origin and state[3] == (at is None):
                self._repeats = True
                if seen < state[1]:
                    state[1] = seen
                if seen > state[2]:
                    state[2] = seen
                return
            self._share(group)
        elif group not in self._shared:
            first = self._once.pop(group, None)
            if first is None:  # its first report: folded item by item, as most are once
                self._once[group] = (origin, seen)
            elif first[0] is origin and self._claim(group, origin, first[1], seen, at):
                return
            else:
                self._shared.add(group)
        self.fold_nodes(group.nodes, at)
        self.fold_links(group.links, origin, seen)

    def _claim(
        self, group: ReportGroup, origin: Origin, first: str, seen: str, at: str | None
    ) -> bool:
        """Make a group sole at its second report (``seen``), if its first report
        (``first``) is still the last report of each of its nodes and the only report of
        each of its edges."""
        nodes, edges, folded = self._nodes, self._edges, self._folded
        if not (
            group.distinct
            and all(nodes.get(node.id) is node for node in group.nodes)
            and all(key in edges and key not in folded for key in group.keys)
        ):
            return False
        owner = self._owner
        owner.update(dict.fromkeys(group.ids, group))
        owner.update(dict.fromkeys(group.keys, group))
        # its nodes' reports are timed as its edges are seen (an event's time), or not
        self._sole[group] = [origin, min(first, seen), max(first, seen), at is None]
        self._repeats = True
        return True

    def _share(self, group: ReportGroup) -> None:
        """Fold a sole group's repeats so far into its edges; it is folded item by item
        from now on."""
        origin, first, last, untimed = self._sole.pop(group)
        self._shared.add(group)
        if not untimed:  # its nodes were last reported when its edges were last seen
            times = self._node_times
            for node_id in group.ids:
                if times.get(node_id, "") < last:
                    times[node_id] = last
        owner = self._owner
        for item in group.ids:
            del owner[item]
        for key in group.keys:
            del owner[key]
        trusted = Edge.trusted
        self._edges.update(
            (key, trusted(key[0], key[1], key[2], origin, first, last, None, link[3]))
            for key, link in zip(group.keys, group.links, strict=True)
        )

    def fold_nodes(
        self, reports: Iterable[Node], at: str | None = None, times: Mapping[str, str] = {}
    ) -> None:
        """Fold in node reports made at ``at`` (``times`` by node, where they differ)."""
        nodes, node_attrs, owner = self._nodes, self._node_attrs, self._owner
        node_times = self._node_times
        for node in reports:
            node_id = node.id
            if owner and node_id in owner:
                self._share(owner[node_id])
            when = times.get(node_id, at) if times else at
            seen = nodes.get(node_id)
            if seen is None:
                nodes[node_id] = node
                if when is not None and node.attrs:
                    node_times[node_id] = when
                continue
            self._repeats = True
            kept = node_times.get(node_id)
            older = when is not None and kept is not None and when < kept
            if not older:
                nodes[node_id] = node  # the newest report of a node is the one kept
                if when is not None and node.attrs:  # a bare reference says nothing new
                    node_times[node_id] = when
            if seen is node:  # merging what was merged last changes nothing
                continue
            attrs = node_attrs.get(node_id)
            if attrs is None:
                attrs = node_attrs[node_id] = dict(seen.attrs)
            held = None
            if node.kind is Kind.RUN and "state" in node.attrs:
                held = {key: attrs.get(key) for key in RUN_STATE_ATTRS}
            if older:  # an event that arrived late: its attributes only fill gaps
                fill_gaps(attrs, node.attrs)
            else:
                attrs.update((k, v) for k, v in node.attrs.items() if v is not None)
            if held is not None:  # a run's state is the one further along
                keep_run_state(attrs, held, node.attrs)

    def fold_edges(self, reports: Iterable[Edge]) -> None:
        """Fold in edge reports."""
        edges, folded, owner = self._edges, self._folded, self._owner
        for edge in reports:
            key = (edge.source_id, edge.kind, edge.target_id)
            if owner and key in owner:
                self._share(owner[key])
            seen = edges.get(key)
            if seen is None:
                edges[key] = edge
                continue
            acc = folded.get(key)
            if acc is None:
                acc = folded[key] = _running(seen)
            _fold_edge(acc, edge.first_seen, edge.last_seen, edge.origin, edge.attrs)

    def fold_links(self, links: Iterable[Link], origin: Origin, seen: str) -> None:
        """Fold in edges reported as links, all seen at ``seen`` with ``origin``."""
        edges, folded, owner = self._edges, self._folded, self._owner
        for source, kind, target, attrs in links:
            key = (source, kind, target)
            if owner and key in owner:
                self._share(owner[key])
            acc = folded.get(key)
            if acc is None:
                known = edges.get(key)
                if known is None:
                    edges[key] = Edge.trusted(source, kind, target, origin, seen, seen, None, attrs)
                    continue
                acc = folded[key] = _running(known)
            _fold_edge(acc, seen, seen, origin, attrs)

    def merged(self) -> tuple[list[Node], list[Edge]]:
        """The folded nodes and edges, each in the order of its first report (call once)."""
        for group in list(self._sole):
            self._share(group)
        nodes = self._nodes
        for node_id, attrs in self._node_attrs.items():
            last = nodes[node_id]
            if attrs != last.attrs:
                nodes[node_id] = last.model_copy(update={"attrs": attrs})
        edges = self._edges
        for key, (first, last_seen, ended, origin, attrs) in self._folded.items():
            source, kind, target = key
            edges[key] = Edge.trusted(source, kind, target, origin, first, last_seen, ended, attrs)
        return list(nodes.values()), list(edges.values())

    def result(self) -> ChangeSet:
        """One changeset holding everything folded in."""
        nodes, edges = self.merged()
        update = {"nodes": nodes, "edges": edges, "node_times": self._node_times}
        return self._rest.model_copy(update=update)


def _running(edge: Edge) -> list[Any]:
    return [edge.first_seen, edge.last_seen, edge.ended_at, edge.origin, edge.attrs]


def _fold_edge(
    acc: list[Any], first: str, last: str, origin: Origin, attrs: dict[str, Any]
) -> None:
    """Fold a repeated report of an edge into its running values (see :class:`ChangeFold`)."""
    ended, held = acc[2], acc[4]
    if ended is not None and last >= ended:
        acc[2] = None
    if first < acc[0]:
        acc[0] = first
    # attributes that are among the merged ones already change nothing either way
    same = attrs is held or (
        attrs.items() <= held.items() and all(json_equal(v, held[k]) for k, v in attrs.items())
    )
    if last >= acc[1]:
        acc[1] = last
        acc[3] = origin
        if not same:
            acc[4] = {**held, **attrs}
    elif not same:
        acc[4] = {**attrs, **held}


# Every (edge kind, source kind, target kind) that EDGE_RULES allows.
_ALLOWED_ENDS = frozenset(
    (edge_kind, source, target)
    for edge_kind, (sources, targets) in EDGE_RULES.items()
    for source in sources
    for target in targets
)


def _refuse_edge(edge: Edge, kinds: Mapping[str, Kind], deleted: Collection[str]) -> None:
    """Raise :class:`InvalidInput` saying what is wrong with an edge."""
    sources, targets = EDGE_RULES[edge.kind]
    for end, allowed in ((edge.source_id, sources), (edge.target_id, targets)):
        kind = kinds.get(end)
        if kind is None or end in deleted:
            raise InvalidInput(
                f"{edge.kind.value} edge {edge.source_id} -> {edge.target_id}: {end} does not exist"
            )
        if kind not in allowed:
            names = ", ".join(sorted(k.value for k in allowed))
            raise InvalidInput(
                f"{edge.kind.value} edge {edge.source_id} -> {edge.target_id}: "
                f"{end} is a {kind.value}, expected one of {names}"
            )
    if edge.first_seen > edge.last_seen:
        raise InvalidInput(f"edge {edge.key}: first_seen is after last_seen")


# The last node object seen with each id whose id was found to match its key, while it
# lives, so that ChangeSet.validate_shape checks each object once.
_CHECKED_NODES: weakref.WeakValueDictionary[str, Node] = weakref.WeakValueDictionary()


def _plain_id(node: Node) -> str | None:
    """The id of a node's key when no part of it needs escaping (the usual case), else None.

    Such an id is the parts joined, so comparing strings checks it without parsing.
    """
    pieces = (_LOWER_KINDS[node.kind], node.namespace, node.name, *node.parts)
    if len(node.parts) != len(KEY_PARTS[node.kind]) or not all(pieces):
        return None
    joined = SEPARATOR.join(pieces)
    if "%" in joined or joined.count(SEPARATOR) != len(pieces) - 1:
        return None
    return joined


_LOWER_KINDS = {kind: kind.value.lower() for kind in Kind}

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a cursor-paginated list."""

    items: list[T]
    end_cursor: str | None = None
    has_next_page: bool = False
    total: int | None = None


def edge_keys(edges: Iterable[Edge]) -> set[tuple[str, EdgeKind, str]]:
    """The identities of some edges."""
    return {e.key for e in edges}
