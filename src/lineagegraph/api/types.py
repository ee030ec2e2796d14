"""GraphQL types of the catalog: the ``Node`` interface, one type per entity kind, health,
connections and the typed errors of mutation results.

Types are written by hand and built from domain objects with :func:`from_domain`;
relations resolve through the request's DataLoaders (see ``context.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, NewType, TypeVar, cast

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField
from strawberry.types.scalar import ScalarDefinition

from lineagegraph import model as m
from lineagegraph.api.context import Context
from lineagegraph.ids import Kind, make_id
from lineagegraph.model import Direction, EdgeKind, parse_time
from lineagegraph.store.base import check_page_size, decode_cursor, encode_cursor

Info = strawberry.Info[Context, None]
F = TypeVar("F", bound=Callable[..., Any])


def resolver(
    description: str, *, name: str | None = None, extensions: list[FieldExtension] | None = None
) -> Callable[[F], F]:
    """``@strawberry.field`` with a description, typed for mypy (strawberry's overload is Any)."""
    return cast(
        "Callable[[F], F]",
        strawberry.field(description=description, name=name, extensions=extensions),
    )


def mutation(
    description: str, *, extensions: list[FieldExtension] | None = None
) -> Callable[[F], F]:
    """``@strawberry.mutation`` with a description, typed for mypy."""
    return cast(
        "Callable[[F], F]", strawberry.mutation(description=description, extensions=extensions)
    )


_LONG_LIMIT = 2**63


def _long(value: object) -> int:
    """A Long from a variable or literal: an integer that fits 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"Long cannot represent {value!r}: not an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"Long cannot represent {value!r}: not an integer")
    number = int(value)
    if not -_LONG_LIMIT <= number < _LONG_LIMIT:
        raise ValueError(f"Long cannot represent {value!r}: it does not fit 64 bits")
    return number


def _date_time(value: object) -> datetime:
    """Parse a DateTime argument; refuse years a stored time cannot hold (as OpenLineage
    does), which otherwise overflowed converting to UTC or sorted among later times."""
    if not isinstance(value, str):
        raise ValueError(f"DateTime cannot represent {value!r}: not an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"DateTime cannot represent {value!r}: not ISO 8601") from None
    try:
        year = m.as_utc(parsed).year
    except OverflowError:
        year = 0
    if not 1000 <= year <= 9998:
        raise ValueError(
            f"DateTime cannot represent {value!r}: not between the years 1000 and 9998"
        )
    return parsed


# GraphQL's Int stops at 2**31 - 1; a warehouse table has more rows than that. The
# schema maps the type to its scalar (SCALARS).
Long = NewType("Long", int)
SCALARS: dict[object, ScalarDefinition] = {
    Long: strawberry.scalar(
        name="Long",
        description="A 64-bit integer, such as a row or byte count, written as a JSON number.",
        serialize=_long,
        parse_value=_long,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="A date with time in ISO 8601 (without an offset it is UTC), between the "
        "years 1000 and 9998.",
        serialize=datetime.isoformat,
        parse_value=_date_time,
    ),
}

# The domain enums are the GraphQL enums (strawberry.enum registers them in place).
strawberry.enum(Kind, name="EntityKind", description="The kinds of entity in the graph.")
strawberry.enum(Direction, name="Direction", description="Which way a traversal follows edges.")
strawberry.enum(
    m.HealthStatus,
    name="HealthStatus",
    description="OK; AT_RISK: an upstream failure reaches it; FAILING: its own check failed.",
)
strawberry.enum(
    m.Precision,
    name="Precision",
    description="CONFIRMED through runs and versions, or POTENTIAL by design-time lineage.",
)
strawberry.enum(
    m.ReasonKind,
    name="ReasonKind",
    description=(
        "What a health reason rests on: OWN_CHECK, the entity's own check (for a dataset, "
        "one on its fields too) fails now; "
        "CHECKED_VERSION, the check failed on this version of the checked dataset (or on an "
        "earlier one and none has passed since); RECORDED_RUNS, recorded runs read the "
        "failing data and carried it here; NOT_REFRESHED, a job whose latest run was aborted "
        "or skipped, so its output was not refreshed since the failure; DESIGN_LINEAGE, "
        "downstream by design-time lineage only (POTENTIAL)."
    ),
)
strawberry.enum(m.RunState, name="RunState", description="The OpenLineage run states.")
strawberry.enum(
    EdgeKind, name="EdgeKind", description="Kinds of edge; data-flow kinds point downstream."
)
strawberry.enum(m.Origin, name="Origin", description="Where a piece of lineage came from.")
EntityKind = Kind
DirectionEnum = Direction
HealthStatusEnum = m.HealthStatus
PrecisionEnum = m.Precision
ReasonKindEnum = m.ReasonKind
RunStateEnum = m.RunState
EdgeKindEnum = EdgeKind
OriginEnum = m.Origin

DEFAULT_PAGE = 50
MAX_PAGE = 1000

First = Annotated[
    int | None,
    strawberry.argument(description="Page size: how many items (default 50, at most 1000)."),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Continue after this cursor (a previous `endCursor`)."),
]
At = Annotated[
    datetime | None,
    strawberry.argument(description="The time to look at (default: now, current state)."),
]


def arg(description: str) -> Any:
    """A described GraphQL argument, for ``Annotated[T, arg("...")]``."""
    return strawberry.argument(description=description)


# --- connections ------------------------------------------------------------------------------

T = TypeVar("T")


@strawberry.type(description="Where a page ends and whether there is more.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; a page without items (`first: 0`, "
        "or past the end) gives the place it was asked at."
    )


@strawberry.type(description="One item of a connection, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list (Relay-style cursor pagination).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")
    total_count: int | None = strawberry.field(description="How many items there are in all.")

    @resolver(description="The items of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def page_size(first: int | None) -> int:
    """The size of a page; rejects sizes outside 0..1000."""
    size = DEFAULT_PAGE if first is None else first
    check_page_size(size, MAX_PAGE)
    return size


def page_bounds(first: int | None, after: str | None) -> tuple[int, int]:
    """(offset, size) of a page; rejects sizes outside 0..1000 and malformed cursors."""
    size = page_size(first)
    return decode_cursor(after), size


def paginate(
    items: Sequence[T], first: int | None, after: str | None, total: bool = True
) -> Connection[T]:
    """A connection over an already ordered list held in memory."""
    offset, size = page_bounds(first, after)
    window = items[offset : offset + size]
    edges = [Edge(cursor=encode_cursor(offset + i + 1), node=x) for i, x in enumerate(window)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + size < len(items),
            end_cursor=encode_cursor(offset + len(edges)),
        ),
        total_count=len(items) if total else None,
    )


def asks_total(info: Info) -> bool:
    """Whether the query selects the connection's own ``totalCount`` (in fragments too; not
    that of a connection inside its items), so a store counts every item only for a query
    that reads the count."""
    pending = [s for field in info.selected_fields for s in field.selections]
    while pending:
        selection = pending.pop()
        if _left_out(selection.directives):
            continue
        if not isinstance(selection, SelectedField):
            pending.extend(selection.selections)  # a fragment on the connection
        elif selection.name == "totalCount":
            return True
    return False


def _left_out(directives: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether ``@skip(if: true)`` or ``@include(if: false)`` leaves a selection out
    (their arguments come with the query's variables filled in)."""
    return (
        directives.get("skip", {}).get("if") is True
        or directives.get("include", {}).get("if") is False
    )


def connection_from_page(
    items: Sequence[T], offset: int, end_cursor: str | None, has_next: bool, total: int | None
) -> Connection[T]:
    """A connection over one page that the store already cut."""
    edges = [Edge(cursor=encode_cursor(offset + i + 1), node=x) for i, x in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=end_cursor),
        total_count=total,
    )


# --- small value types ------------------------------------------------------------------------


@strawberry.type(description="A column in a schema: path, type and nullability.")
class SchemaField:
    path: str = strawberry.field(description="Dotted path; nested fields look like `a.b.c`.")
    type: str | None = strawberry.field(description="The declared type, as the source names it.")
    nullable: bool | None = strawberry.field(description="Whether the column may be null.")
    description: str | None = strawberry.field(description="What the column holds.")
    ordinal: int | None = strawberry.field(description="Position in the schema, from 1.")

    @classmethod
    def from_attrs(cls, data: dict[str, Any]) -> SchemaField:
        """A schema field from a stored schema snapshot entry."""
        return cls(
            path=str(data.get("path", "")),
            type=_opt_str(data.get("type")),
            nullable=data.get("nullable") if isinstance(data.get("nullable"), bool) else None,
            description=_opt_str(data.get("description")),
            ordinal=data.get("ordinal") if isinstance(data.get("ordinal"), int) else None,
        )


@strawberry.type(description="A named metric value, such as a model version's AUC.")
class Metric:
    name: str = strawberry.field(description="The metric's name.")
    value: float = strawberry.field(description="Its value.")


@strawberry.type(description="A time interval; `until` is null while it lasts.")
class Interval:
    since: datetime = strawberry.field(name="from", description="When it began.")
    until: datetime | None = strawberry.field(description="When it ended; null while ongoing.")

    def holds(self, at: datetime) -> bool:
        """Whether ``at`` falls in it."""
        when = m.as_utc(at)
        return m.as_utc(self.since) <= when and (self.until is None or when < m.as_utc(self.until))


# --- helpers reading node attributes ----------------------------------------------------------


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


_time = m.lenient_time


def stored_time(value: str | None) -> datetime | None:
    """A stored edge timestamp as a datetime."""
    return None if value is None else parse_time(value)


def _count(value: object) -> Long | None:
    """A stored count as a Long: whole numbers within 64 bits, else nothing."""
    try:
        return Long(_long(value))
    except ValueError:
        return None


def _newest_first(nodes: list[m.Node], stamp: Callable[[m.Node], str]) -> list[m.Node]:
    """Newest first by a time stamp (``model.time_stamp``; "" last); of equal stamps the
    greatest id first, the one health takes as the latest."""
    return sorted(nodes, key=lambda n: (stamp(n), n.id), reverse=True)


def _sort_newest(nodes: list[m.Node], key: str) -> list[m.Node]:
    """Newest first by a time attribute; nodes without it last; ties by id."""
    return _newest_first(nodes, lambda n: m.time_stamp(n.attrs.get(key)))


def _runs_newest(nodes: list[m.Node]) -> list[m.Node]:
    """Runs newest first, in the order health takes them: by start, else by end or
    state time (a producer may send no START); ties by id."""
    return _newest_first(nodes, lambda n: m.member_stamp(Kind.RUN, n.attrs) or "")


# --- the Node interface -----------------------------------------------------------------------


@strawberry.interface(
    description="An entity of the graph. Ids are `kind|namespace|name[|part…]`, readable and "
    "stable; `entity` finds one by kind and key instead."
)
class Node:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    kind: EntityKind = strawberry.field(description="The entity's kind.")
    namespace: str = strawberry.field(
        description="OpenLineage-style namespace, e.g. `postgres://db:5432` or `s3://bucket`."
    )
    name: str = strawberry.field(description="Name within the namespace, e.g. `public.orders`.")
    label: str = strawberry.field(description="A short label: the name, path or version.")
    attrs: JSON = strawberry.field(description="Every stored attribute, as JSON.")
    source: strawberry.Private[m.Node]

    @resolver(description="Stored health: OK, AT_RISK or FAILING, with reasons.")
    async def health(self, info: Info) -> Health:
        record = await info.context.loaders.health.load(self.id)
        if record is None:
            return Health(id=self.id, kind=self.source.kind, status=m.HealthStatus.OK, reasons=[])
        return Health.from_domain(record)


def _base(node: m.Node) -> dict[str, Any]:
    return {
        "id": strawberry.ID(node.id),
        "kind": node.kind,
        "namespace": node.namespace,
        "name": node.name,
        "label": node.label,
        "attrs": node.attrs,
        "source": node,
    }


async def _checks_on(info: Info, target_ids: Sequence[str]) -> list[Check]:
    checks = await info.context.neighbours_of(target_ids, Direction.DOWNSTREAM, EdgeKind.HAS_CHECK)
    return [Check.build(c) for c in checks]


@strawberry.type(description="A table, file, topic or view.")
class Dataset(Node):
    @resolver(description="What the dataset holds.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The platform, e.g. postgres, snowflake, s3.")
    def platform(self) -> str | None:
        return _opt_str(self.source.attrs.get("platform"))

    @resolver(description="Owners: teams or people to notify.")
    def owners(self) -> list[str]:
        return _str_list(self.source.attrs.get("owners"))

    @resolver(description="Tags, e.g. pii.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(description="Whether the dataset was reported deleted.")
    def deleted(self) -> bool:
        return bool(self.source.attrs.get("deleted"))

    @resolver(description="The current top-level and nested fields, by ordinal and path.")
    async def fields(self, info: Info) -> list[Field]:
        nodes = await _fields_of(info, self.id)
        return [Field.build(n) for n in nodes]

    @resolver(description="The current schema: each current field's path, type and more.")
    async def schema(self, info: Info) -> list[SchemaField]:
        nodes = await _fields_of(info, self.id)
        return [SchemaField.from_attrs({"path": n.parts[0], **n.attrs}) for n in nodes]

    @resolver(description="Checks on the dataset and on its fields, by id.")
    async def checks(self, info: Info) -> list[Check]:
        fields = await _fields_of(info, self.id)
        return await _checks_on(info, [self.id, *(f.id for f in fields)])

    @resolver(description="Versions written by runs, newest first.")
    async def versions(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[DatasetVersion]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_VERSION)
        ordered = _sort_newest(nodes, "created_at")
        return paginate([DatasetVersion.build(n) for n in ordered], first, after)

    @resolver(description="Jobs that currently write this dataset.")
    async def producers(self, info: Info) -> list[Job]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.WRITES)
        return [Job.build(n) for n in nodes]

    @resolver(description="Jobs that currently read this dataset.")
    async def consumers(self, info: Info) -> list[Job]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.READS)
        return [Job.build(n) for n in nodes]

    @classmethod
    def build(cls, node: m.Node) -> Dataset:
        """The GraphQL dataset for a stored node."""
        return cls(**_base(node))


async def _fields_of(info: Info, dataset_id: str) -> list[m.Node]:
    """Current fields of a dataset, nested ones included, by ordinal then path."""
    found: dict[str, m.Node] = {}
    frontier = [dataset_id]
    while frontier:
        level = await info.context.neighbours_of(frontier, Direction.DOWNSTREAM, EdgeKind.HAS_FIELD)
        frontier = [n.id for n in level if n.id not in found]
        found.update((n.id, n) for n in level)
    return sorted(
        found.values(),
        key=lambda n: (
            n.attrs.get("ordinal") if isinstance(n.attrs.get("ordinal"), int) else 1 << 30,
            n.parts[0],
        ),
    )


@strawberry.type(description="A column of a dataset; nested fields have dotted paths.")
class Field(Node):
    @resolver(description="The field's path in its dataset, e.g. `customer.address.zip`.")
    def path(self) -> str:
        return self.source.parts[0]

    @resolver(description="The declared type.")
    def type(self) -> str | None:
        return _opt_str(self.source.attrs.get("type"))

    @resolver(description="Whether the field may be null.")
    def nullable(self) -> bool | None:
        value = self.source.attrs.get("nullable")
        return value if isinstance(value, bool) else None

    @resolver(description="Position in the schema, from 1.")
    def ordinal(self) -> int | None:
        value = self.source.attrs.get("ordinal")
        return value if isinstance(value, int) else None

    @resolver(description="What the field holds.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="Tags, e.g. pii.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(
        description="Whether the field was dropped from its dataset: reported deleted, or "
        "no longer in its dataset's schema (nothing holds it now)."
    )
    async def deleted(self, info: Info) -> bool:
        if self.source.attrs.get("deleted"):
            return True
        # a schema that leaves a field out ends the edge that holds it, and marks nothing
        held = await info.context.edges(self.id, Direction.UPSTREAM, EdgeKind.HAS_FIELD)
        return not held

    @resolver(description="The dataset this field belongs to.")
    async def dataset(self, info: Info) -> Dataset | None:
        node = await info.context.node(make_id(Kind.DATASET, self.namespace, self.name))
        return None if node is None else Dataset.build(node)

    @resolver(description="Checks on this field.")
    async def checks(self, info: Info) -> list[Check]:
        return await _checks_on(info, [self.id])

    @resolver(description="Fields this one is currently derived from (column lineage).")
    async def derived_from(self, info: Info) -> list[Field]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.DERIVES)
        return [Field.build(n) for n in nodes]

    @resolver(description="Fields currently derived from this one (column lineage).")
    async def derived_into(self, info: Info) -> list[Field]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.DERIVES)
        return [Field.build(n) for n in nodes]

    @classmethod
    def build(cls, node: m.Node) -> Field:
        """The GraphQL field for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="A transformation: batch or streaming job, SQL model, training.")
class Job(Node):
    @resolver(description="What the job does.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The job type, e.g. BATCH, DBT_MODEL, TRAINING.")
    def job_type(self) -> str | None:
        return _opt_str(self.source.attrs.get("job_type"))

    @resolver(description="BATCH or STREAMING, when known.")
    def processing_type(self) -> str | None:
        return _opt_str(self.source.attrs.get("processing_type"))

    @resolver(description="The SQL the job runs, when known.")
    def sql(self) -> str | None:
        return _opt_str(self.source.attrs.get("sql"))

    @resolver(description="Where the code lives, e.g. a git URL and path.")
    def code_location(self) -> str | None:
        return _opt_str(self.source.attrs.get("code_location"))

    @resolver(description="The current code version.")
    def code_version(self) -> str | None:
        return _opt_str(self.source.attrs.get("code_version"))

    @resolver(description="Owners: teams or people to notify.")
    def owners(self) -> list[str]:
        return _str_list(self.source.attrs.get("owners"))

    @resolver(description="Tags.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(description="Datasets, features and model versions the job currently reads.")
    async def inputs(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.READS)
        return [from_domain(n) for n in nodes]

    @resolver(description="Datasets, features and model versions the job currently writes.")
    async def outputs(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.WRITES)
        return [from_domain(n) for n in nodes]

    @resolver(description="Runs of this job, newest first.")
    async def runs(self, info: Info, first: First = None, after: After = None) -> Connection[Run]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_RUN)
        ordered = _runs_newest(nodes)
        return paginate([Run.build(n) for n in ordered], first, after)

    @resolver(description="The newest run, if any.")
    async def latest_run(self, info: Info) -> Run | None:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_RUN)
        ordered = _runs_newest(nodes)
        return Run.build(ordered[0]) if ordered else None

    @classmethod
    def build(cls, node: m.Node) -> Job:
        """The GraphQL job for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="One run of a job.")
class Run(Node):
    @resolver(description="The run id (a UUID in OpenLineage).")
    def run_id(self) -> str:
        return self.source.parts[0]

    @resolver(description="The latest reported state.")
    def state(self) -> RunStateEnum | None:
        value = self.source.attrs.get("state")
        try:
            return m.RunState(value) if isinstance(value, str) else None
        except ValueError:
            return m.RunState.OTHER

    @resolver(description="When the run started.")
    def started_at(self) -> datetime | None:
        return _time(self.source.attrs.get("started_at"))

    @resolver(description="When the run ended.")
    def ended_at(self) -> datetime | None:
        return _time(self.source.attrs.get("ended_at"))

    @resolver(description="The time the run was scheduled for.")
    def nominal_time(self) -> datetime | None:
        return _time(self.source.attrs.get("nominal_time"))

    @resolver(description="The error of a failed run.")
    def error_message(self) -> str | None:
        return _opt_str(self.source.attrs.get("error_message"))

    @resolver(description="The job's code version this run ran.")
    def code_version(self) -> str | None:
        return _opt_str(self.source.attrs.get("code_version"))

    @resolver(description="The job this is a run of.")
    async def job(self, info: Info) -> Job | None:
        node = await info.context.node(make_id(Kind.JOB, self.namespace, self.name))
        return None if node is None else Job.build(node)

    @resolver(description="The parent run (e.g. the orchestrator's DAG run).")
    async def parent_run(self, info: Info) -> Run | None:
        parents = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.PARENT_OF)
        if parents:
            return Run.build(parents[0])
        parent_id = _opt_str(self.source.attrs.get("parent_run"))
        node = None if parent_id is None else await info.context.node(parent_id)
        return None if node is None or node.kind is not Kind.RUN else Run.build(node)

    @resolver(description="The dataset and model versions this run read.")
    async def inputs(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.READ_BY)
        return [from_domain(n) for n in nodes]

    @resolver(description="The dataset and model versions this run wrote.")
    async def outputs(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.WROTE)
        return [from_domain(n) for n in nodes]

    @classmethod
    def build(cls, node: m.Node) -> Run:
        """The GraphQL run for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="A dataset as one run wrote it, with its schema at that time.")
class DatasetVersion(Node):
    @resolver(description="The version identifier.")
    def version(self) -> str:
        return self.source.parts[0]

    @resolver(description="When the version was written.")
    def created_at(self) -> datetime | None:
        return _time(self.source.attrs.get("created_at"))

    @resolver(description="Rows in this version, when reported.")
    def row_count(self) -> Long | None:
        return _count(self.source.attrs.get("row_count"))

    @resolver(description="Bytes in this version, when reported.")
    def byte_count(self) -> Long | None:
        return _count(self.source.attrs.get("byte_count"))

    @resolver(description="The schema this version was written with.")
    def schema(self) -> list[SchemaField]:
        entries = self.source.attrs.get("schema_fields")
        if not isinstance(entries, list):
            return []
        return [SchemaField.from_attrs(e) for e in entries if isinstance(e, dict)]

    @resolver(description="The dataset this is a version of.")
    async def dataset(self, info: Info) -> Dataset | None:
        node = await info.context.node(make_id(Kind.DATASET, self.namespace, self.name))
        return None if node is None else Dataset.build(node)

    @resolver(description="The run that wrote this version.")
    async def run(self, info: Info) -> Run | None:
        writers = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.WROTE)
        writer = m.producing_run(writers)  # a retry that completed, not the failed attempt
        return None if writer is None else Run.build(writer)

    @resolver(description="Runs that read this version.")
    async def read_by(self, info: Info) -> list[Run]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.READ_BY)
        return [Run.build(n) for n in nodes]

    @resolver(description="Check results evaluated on this version, by id.")
    async def results(self, info: Info) -> list[CheckResult]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.EVALUATED)
        return [CheckResult.build(n) for n in nodes]

    @classmethod
    def build(cls, node: m.Node) -> DatasetVersion:
        """The GraphQL dataset version for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="An ML feature (feature-store namespace, `view:feature` name).")
class Feature(Node):
    @resolver(description="What the feature measures.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The feature's data type.")
    def dtype(self) -> str | None:
        return _opt_str(self.source.attrs.get("dtype"))

    @resolver(description="Owners: teams or people to notify.")
    def owners(self) -> list[str]:
        return _str_list(self.source.attrs.get("owners"))

    @resolver(description="Tags.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(description="The fields or datasets the feature is computed from.")
    async def computed_from(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.COMPUTED_FROM)
        return [from_domain(n) for n in nodes]

    @resolver(description="Model versions trained on this feature.")
    async def used_by(self, info: Info) -> list[ModelVersion]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.TRAINED_ON)
        return [ModelVersion.build(n) for n in nodes]

    @classmethod
    def build(cls, node: m.Node) -> Feature:
        """The GraphQL feature for a stored node."""
        return cls(**_base(node))


@strawberry.type(
    description="A registered model. Failing checks reach its versions, which carry health "
    "(versions { health }), not the model: its own health stays OK."
)
class Model(Node):
    @resolver(description="What the model predicts.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The framework, e.g. xgboost.")
    def framework(self) -> str | None:
        return _opt_str(self.source.attrs.get("framework"))

    @resolver(description="Owners: teams or people to notify.")
    def owners(self) -> list[str]:
        return _str_list(self.source.attrs.get("owners"))

    @resolver(description="Tags.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(description="Versions of the model, newest first.")
    async def versions(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[ModelVersion]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_VERSION)
        ordered = _sort_newest(nodes, "created_at")
        return paginate([ModelVersion.build(n) for n in ordered], first, after)

    @classmethod
    def build(cls, node: m.Node) -> Model:
        """The GraphQL model for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="A model version serving from a deployment over an interval.")
class Serving:
    since: datetime | None = strawberry.field(description="When this serving began.")
    until: datetime | None = strawberry.field(description="When it ended; null while serving.")
    current: bool = strawberry.field(description="Whether it is serving now.")
    traffic: float | None = strawberry.field(description="Share of traffic in percent.")
    intervals: list[Interval] = strawberry.field(
        description="Every interval this version served from this deployment, as reported."
    )
    model_version_id: strawberry.ID = strawberry.field(description="The served model version.")
    deployment_id: strawberry.ID = strawberry.field(description="The serving deployment.")

    @resolver(description="The model version served.")
    async def model_version(self, info: Info) -> ModelVersion | None:
        node = await info.context.node(self.model_version_id)
        return None if node is None else ModelVersion.build(node)

    @resolver(description="The deployment serving it.")
    async def deployment(self, info: Info) -> Deployment | None:
        node = await info.context.node(self.deployment_id)
        return None if node is None else Deployment.build(node)

    @classmethod
    def of(cls, edges: Sequence[m.Edge], at: datetime | None) -> list[Serving]:
        """The servings of SERVES edges current now (or ``as_of`` at). A version served
        again after a pause (a rollback) has one edge over both servings: at a time in
        the pause, its intervals say it was not serving; in one of them, since and until
        are that interval's."""
        servings = [cls.from_domain(e) for e in edges]
        if at is None:
            return servings
        held = []
        for edge, serving in zip(edges, servings, strict=True):
            if not edge.serving_at(at):
                continue
            interval = next((i for i in serving.intervals if i.holds(at)), None)
            if interval is not None:
                serving.since, serving.until = interval.since, interval.until
            held.append(serving)
        return held

    @classmethod
    def from_domain(cls, edge: m.Edge) -> Serving:
        """A serving from a SERVES edge."""
        intervals: list[Interval] = []
        for item in edge.attrs.get("intervals") or []:
            if not isinstance(item, dict):
                continue
            since = _time(item.get("from"))
            if since is not None:
                intervals.append(Interval(since=since, until=_time(item.get("until"))))
        traffic = edge.attrs.get("traffic")
        # the serving now (or the last one): after a rollback, its latest interval
        last = intervals[-1] if intervals else None
        return cls(
            since=last.since if last is not None else stored_time(edge.first_seen),
            until=last.until if last is not None else stored_time(edge.ended_at),
            current=edge.current,
            traffic=float(traffic) if isinstance(traffic, int | float) else None,
            intervals=intervals,
            model_version_id=strawberry.ID(edge.source_id),
            deployment_id=strawberry.ID(edge.target_id),
        )


@strawberry.type(description="One version of a registered model.")
class ModelVersion(Node):
    @resolver(description="The version identifier.")
    def version(self) -> str:
        return self.source.parts[0]

    @resolver(description="When the version was created.")
    def created_at(self) -> datetime | None:
        return _time(self.source.attrs.get("created_at"))

    @resolver(description="The registry stage, e.g. Production.")
    def stage(self) -> str | None:
        return _opt_str(self.source.attrs.get("stage"))

    @resolver(description="What changed in this version.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="Evaluation metrics, by name.")
    def metrics(self) -> list[Metric]:
        values = self.source.attrs.get("metrics")
        if not isinstance(values, dict):
            return []
        return [
            Metric(name=str(k), value=float(v))
            for k, v in sorted(values.items())
            if isinstance(v, int | float)
        ]

    @resolver(description="The model this is a version of.")
    async def model(self, info: Info) -> Model | None:
        node = await info.context.node(make_id(Kind.MODEL, self.namespace, self.name))
        return None if node is None else Model.build(node)

    @resolver(description="The run that trained this version.")
    async def training_run(self, info: Info) -> Run | None:
        writers = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.WROTE)
        trainer = m.producing_run(writers)
        if trainer is not None:
            return Run.build(trainer)
        run_id = _opt_str(self.source.attrs.get("training_run"))
        node = None if run_id is None else await info.context.node(run_id)
        return None if node is None or node.kind is not Kind.RUN else Run.build(node)

    @resolver(description="Features, datasets and fields this version was trained on.")
    async def trained_on(self, info: Info) -> list[Node]:
        nodes = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.TRAINED_ON)
        return [from_domain(n) for n in nodes]

    @resolver(description="Deployments serving this version now (or at `at`).")
    async def deployments(self, info: Info, at: At = None) -> list[Serving]:
        edges = await info.context.edges(self.id, Direction.DOWNSTREAM, EdgeKind.SERVES, as_of=at)
        return Serving.of(edges, at)

    @classmethod
    def build(cls, node: m.Node) -> ModelVersion:
        """The GraphQL model version for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="An environment or endpoint that serves model versions over time.")
class Deployment(Node):
    @resolver(description="What the deployment is for.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The environment, e.g. staging or production.")
    def environment(self) -> str | None:
        return _opt_str(self.source.attrs.get("environment"))

    @resolver(description="The URL that serves predictions.")
    def endpoint(self) -> str | None:
        return _opt_str(self.source.attrs.get("endpoint"))

    @resolver(description="Owners: teams or people to notify.")
    def owners(self) -> list[str]:
        return _str_list(self.source.attrs.get("owners"))

    @resolver(description="Tags.")
    def tags(self) -> list[str]:
        return _str_list(self.source.attrs.get("tags"))

    @resolver(description="Model versions served now (or at `at`), with their serving intervals.")
    async def served_versions(self, info: Info, at: At = None) -> list[Serving]:
        edges = await info.context.edges(self.id, Direction.UPSTREAM, EdgeKind.SERVES, as_of=at)
        return Serving.of(edges, at)

    @resolver(
        description="Every model version this deployment has served, ended servings too: "
        "what serves now first, then by when each serving began, latest first."
    )
    async def serving_history(self, info: Info) -> list[Serving]:
        edges = await info.context.edges(
            self.id, Direction.UPSTREAM, EdgeKind.SERVES, include_ended=True
        )
        servings = [Serving.from_domain(e) for e in edges]
        servings.sort(
            key=lambda s: (
                not s.current,
                -s.since.timestamp() if s.since is not None else float("inf"),
                s.model_version_id,
            )
        )
        return servings

    @classmethod
    def build(cls, node: m.Node) -> Deployment:
        """The GraphQL deployment for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="A named assertion on a dataset or one of its fields.")
class Check(Node):
    @resolver(name="check", description="The check's name, e.g. `not_null(customer_id)`.")
    def check_name(self) -> str:
        return self.source.parts[0]

    @resolver(description="The kind of assertion, e.g. not_null, unique, row_count.")
    def check_type(self) -> str | None:
        return _opt_str(self.source.attrs.get("check_type"))

    @resolver(description="The checked field's path; null for a table-level check.")
    def field(self) -> str | None:
        return _opt_str(self.source.attrs.get("field"))

    @resolver(description="How serious a failure is, e.g. ERROR or WARN.")
    def severity(self) -> str | None:
        return _opt_str(self.source.attrs.get("severity"))

    @resolver(description="What the check asserts.")
    def description(self) -> str | None:
        return _opt_str(self.source.attrs.get("description"))

    @resolver(description="The system that runs it, e.g. dbt or great_expectations.")
    def system(self) -> str | None:
        return _opt_str(self.source.attrs.get("source"))

    @resolver(description="The checked dataset or field.")
    async def target(self, info: Info) -> Node | None:
        targets = await info.context.neighbours(self.id, Direction.UPSTREAM, EdgeKind.HAS_CHECK)
        if targets:
            return from_domain(targets[0])
        node = await info.context.node(make_id(Kind.DATASET, self.namespace, self.name))
        return None if node is None else from_domain(node)

    @resolver(description="Results of this check, newest first.")
    async def results(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[CheckResult]:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_RESULT)
        ordered = _sort_newest(nodes, "observed_at")
        return paginate([CheckResult.build(n) for n in ordered], first, after)

    @resolver(description="The newest result, if any.")
    async def latest_result(self, info: Info) -> CheckResult | None:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.HAS_RESULT)
        ordered = _sort_newest(nodes, "observed_at")
        return CheckResult.build(ordered[0]) if ordered else None

    @classmethod
    def build(cls, node: m.Node) -> Check:
        """The GraphQL check for a stored node."""
        return cls(**_base(node))


@strawberry.type(description="One outcome of a check.")
class CheckResult(Node):
    @resolver(description="Whether the check passed.")
    def passed(self) -> bool:
        return bool(self.source.attrs.get("passed"))

    @resolver(description="When the check ran.")
    def observed_at(self) -> datetime | None:
        return _time(self.source.attrs.get("observed_at"))

    @resolver(description="What the check saw, e.g. `412 null values`.")
    def observed(self) -> str | None:
        return _opt_str(self.source.attrs.get("observed"))

    @resolver(description="What the check expected.")
    def expected(self) -> str | None:
        return _opt_str(self.source.attrs.get("expected"))

    @resolver(description="A message from the checking system.")
    def message(self) -> str | None:
        return _opt_str(self.source.attrs.get("message"))

    @resolver(description="The system that reported it.")
    def system(self) -> str | None:
        return _opt_str(self.source.attrs.get("source"))

    @resolver(description="The check this is a result of.")
    async def check(self, info: Info) -> Check | None:
        node = await info.context.node(
            make_id(Kind.CHECK, self.namespace, self.name, self.source.parts[0])
        )
        return None if node is None else Check.build(node)

    @resolver(description="The dataset version the check ran on.")
    async def dataset_version(self, info: Info) -> DatasetVersion | None:
        nodes = await info.context.neighbours(self.id, Direction.DOWNSTREAM, EdgeKind.EVALUATED)
        return DatasetVersion.build(nodes[0]) if nodes else None

    @resolver(description="The run that produced the result, when reported.")
    async def run(self, info: Info) -> Run | None:
        run_id = _opt_str(self.source.attrs.get("run"))
        node = None if run_id is None else await info.context.node(run_id)
        return None if node is None or node.kind is not Kind.RUN else Run.build(node)

    @classmethod
    def build(cls, node: m.Node) -> CheckResult:
        """The GraphQL check result for a stored node."""
        return cls(**_base(node))


_BUILDERS: dict[Kind, Callable[[m.Node], Node]] = {
    Kind.DATASET: Dataset.build,
    Kind.FIELD: Field.build,
    Kind.JOB: Job.build,
    Kind.RUN: Run.build,
    Kind.DATASET_VERSION: DatasetVersion.build,
    Kind.FEATURE: Feature.build,
    Kind.MODEL: Model.build,
    Kind.MODEL_VERSION: ModelVersion.build,
    Kind.DEPLOYMENT: Deployment.build,
    Kind.CHECK: Check.build,
    Kind.RESULT: CheckResult.build,
}

NODE_TYPES: tuple[type[Node], ...] = (
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
    CheckResult,
)


def from_domain(node: m.Node) -> Node:
    """The GraphQL type for a stored node, chosen by its kind."""
    return _BUILDERS[node.kind](node)


# --- health -----------------------------------------------------------------------------------


@strawberry.type(description="Why an entity is FAILING or AT_RISK: a failing result and a path.")
class HealthReason:
    result_id: strawberry.ID = strawberry.field(description="The failing check result.")
    check_id: strawberry.ID = strawberry.field(description="The check that failed.")
    checked_id: strawberry.ID = strawberry.field(description="The dataset or field it checks.")
    path: list[strawberry.ID] = strawberry.field(
        description="Ids from the checked entity to this one."
    )
    hops: int = strawberry.field(description="Edges between the checked entity and this one.")
    precision: PrecisionEnum = strawberry.field(
        description="CONFIRMED through runs and versions, or POTENTIAL by design lineage."
    )
    kind: ReasonKindEnum = strawberry.field(description="What the reason rests on.")
    message: str = strawberry.field(description="A sentence a person can read.")

    @resolver(description="The failing check result.")
    async def result(self, info: Info) -> CheckResult | None:
        node = await info.context.node(self.result_id)
        return None if node is None else CheckResult.build(node)

    @classmethod
    def from_domain(cls, reason: m.HealthReason) -> HealthReason:
        """From the stored reason."""
        return cls(
            result_id=strawberry.ID(reason.result_id),
            check_id=strawberry.ID(reason.check_id),
            checked_id=strawberry.ID(reason.checked_id),
            path=[strawberry.ID(p) for p in reason.path],
            hops=reason.hops,
            precision=reason.precision,
            kind=reason.kind,
            message=reason.message,
        )


@strawberry.type(description="The health of one entity.")
class Health:
    id: strawberry.ID = strawberry.field(description="The entity's id.")
    kind: EntityKind = strawberry.field(description="The entity's kind.")
    status: HealthStatusEnum = strawberry.field(description="OK, AT_RISK or FAILING.")
    reasons: list[HealthReason] = strawberry.field(
        description="Why it is not OK, nearest failure first."
    )

    @resolver(description="The entity itself.")
    async def node(self, info: Info) -> Node | None:
        found = await info.context.node(self.id)
        return None if found is None else from_domain(found)

    @classmethod
    def from_domain(cls, record: m.HealthRecord) -> Health:
        """From a stored health record."""
        return cls(
            id=strawberry.ID(record.id),
            kind=record.kind,
            status=record.status,
            reasons=[HealthReason.from_domain(r) for r in record.reasons],
        )


# --- typed errors -----------------------------------------------------------------------------


@strawberry.interface(description="An expected failure, returned in a result union.")
class Error:
    message: str = strawberry.field(description="What went wrong, for a person.")


@strawberry.type(description="A referenced entity does not exist.")
class NotFoundError(Error):
    id: strawberry.ID | None = strawberry.field(description="The id that was not found.")


@strawberry.type(description="The input was malformed; nothing was changed.")
class InvalidInputError(Error):
    field: str | None = strawberry.field(
        description="The input field at fault, when one can be named."
    )
