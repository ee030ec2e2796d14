"""Validation of OpenLineage events: the envelope (spec 2-0-2 and earlier) and the mapped facets.

The envelope is checked as the spec requires (``eventTime``, ``producer``,
``run.runId`` as a UUID, job and dataset namespace and name); ``schemaURL`` may
be missing. Each facet the translator reads is checked with a targeted type,
so a producer's mistake is rejected with the path of the bad field, while
facets we do not map pass through untouched. A facet sent as
``{"_deleted": true}`` or ``null`` counts as absent.

The types are TypedDicts validated by pydantic (several times faster than
models on events with large schemas); every one keeps keys it does not name.
A dataset that an event lists exactly as an earlier one did (the same JSON, byte for
byte) is not validated again: producers describe the same tables in every run of a
job, and their schemas and column lineage are most of an event. Validated events are
shared, then, and nothing may change them in place (nothing does).
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Required, TypeAlias

import orjson
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    with_config,
)
from typing_extensions import TypedDict

from lineagegraph.errors import InvalidField, InvalidInput
from lineagegraph.model import parse_time

__all__ = [
    "DatasetEvent",
    "DatasetFacets",
    "InputDataset",
    "JobEvent",
    "OpenLineageEvent",
    "OutputDataset",
    "RunEvent",
    "describe_error",
    "parse_event",
]


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


def _date_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) < 11 or value[10] not in "Tt ":
        raise ValueError("must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z")
    try:
        parsed = parse_time(value)
    except (InvalidInput, OverflowError):
        raise ValueError("must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z") from None
    if not 1000 <= parsed.year <= 9998:
        raise ValueError("must be a date-time between the years 1000 and 9998")
    return parsed


Text = Annotated[str, Strict()]
Name = Annotated[str, StringConstraints(strict=True, min_length=1)]
# Counts are served as GraphQL Longs: 64-bit integers.
Count = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)]
# Ordinals are served as GraphQL Ints: 32-bit integers.
Ordinal = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]
RunId = Annotated[str, Strict(), AfterValidator(_uuid)]
DateTime = Annotated[datetime, PlainValidator(_date_time)]

_OPEN = ConfigDict(extra="allow")


# --- facets -----------------------------------------------------------------------------------


@with_config(_OPEN)
class SchemaField(TypedDict, total=False):
    """One field of a ``schema`` facet; ``fields`` nests (structs, arrays, maps)."""

    name: Required[Name]
    type: Text | None
    description: Text | None
    ordinal_position: Ordinal | None
    fields: list[SchemaField] | None


@with_config(_OPEN)
class SchemaFacet(TypedDict, total=False):
    """``schema``: the dataset's fields."""

    fields: list[SchemaField] | None


@with_config(_OPEN)
class Transformation(TypedDict, total=False):
    """One transformation of a column lineage input field (spec 1-1-0 and later)."""

    type: Required[Name]
    subtype: Text | None
    description: Text | None
    masking: Flag | None


@with_config(_OPEN)
class InputField(TypedDict, total=False):
    """A field some output field (or the whole output) depends on."""

    namespace: Required[Name]
    name: Required[Name]
    field: Required[Name]
    transformations: list[Transformation] | None


@with_config(_OPEN)
class ColumnLineageEntry(TypedDict, total=False):
    """The inputs of one output field, with the deprecated transformation description/type."""

    inputFields: Required[list[InputField]]
    transformationDescription: Text | None
    transformationType: Text | None


@with_config(_OPEN)
class ColumnLineageFacet(TypedDict, total=False):
    """``columnLineage``: field-level entries and dataset-level ``dataset`` entries."""

    fields: dict[str, ColumnLineageEntry]
    dataset: list[InputField] | None


@with_config(_OPEN)
class Assertion(TypedDict, total=False):
    """One data quality assertion and whether it held."""

    assertion: Required[Name]
    success: Required[Flag]
    column: Text | None
    severity: Text | None
    name: Text | None
    description: Text | None
    expected: Text | int | float | None
    actual: Text | int | float | None


@with_config(_OPEN)
class AssertionsFacet(TypedDict, total=False):
    """``dataQualityAssertions`` (dataset facet or input facet)."""

    assertions: Required[list[Assertion]]


@with_config(_OPEN)
class ColumnMetrics(TypedDict, total=False):
    """Metrics of one column."""

    nullCount: Count | None
    distinctCount: Count | None
    sum: Number | None
    count: Number | None
    min: Number | None
    max: Number | None
    quantiles: dict[str, Number] | None


@with_config(_OPEN)
class _Metrics(TypedDict, total=False):
    rowCount: Count | None
    bytes: Count | None
    fileCount: Count | None
    columnMetrics: dict[str, ColumnMetrics] | None
    lastUpdated: Text | None


def _says_something(facet: _Metrics) -> _Metrics:
    if facet.get("rowCount") is None and facet.get("columnMetrics") is None:
        raise ValueError("needs rowCount or columnMetrics")
    return facet


# ``dataQualityMetrics``: volume and column metrics of the data read or written. The
# current facet schema requires ``columnMetrics``; Marquez's examples omit it and send
# only ``rowCount``, so either of the two is enough here.
MetricsFacet: TypeAlias = Annotated[_Metrics, AfterValidator(_says_something)]


@with_config(_OPEN)
class OutputStatisticsFacet(TypedDict, total=False):
    """``outputStatistics``: what a run wrote."""

    rowCount: Count | None
    size: Count | None
    fileCount: Count | None


@with_config(_OPEN)
class DataSourceFacet(TypedDict, total=False):
    """``dataSource``: the source system's name and URI."""

    name: Text | None
    uri: Text | None


@with_config(_OPEN)
class DocumentationFacet(TypedDict, total=False):
    """``documentation``: a description."""

    description: Required[Text]


@with_config(_OPEN)
class Owner(TypedDict, total=False):
    """An owner: ``user:jdoe``, ``team:data``…"""

    name: Required[Name]
    type: Text | None


@with_config(_OPEN)
class OwnershipFacet(TypedDict, total=False):
    """``ownership`` (dataset or job)."""

    owners: list[Owner] | None


@with_config(_OPEN)
class Identifier(TypedDict, total=False):
    """Another (namespace, name) under which a dataset is known."""

    namespace: Required[Name]
    name: Required[Name]
    type: Text | None


@with_config(_OPEN)
class SymlinksFacet(TypedDict, total=False):
    """``symlinks``: other names of the same dataset."""

    identifiers: list[Identifier] | None


LifecycleChange = Literal["ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE"]


@with_config(_OPEN)
class LifecycleFacet(TypedDict, total=False):
    """``lifecycleStateChange``: what the run did to the dataset."""

    lifecycleStateChange: Required[LifecycleChange]
    previousIdentifier: Identifier | None


@with_config(_OPEN)
class VersionFacet(TypedDict, total=False):
    """``version``: the dataset version the run read or wrote."""

    datasetVersion: Required[Name]


@with_config(_OPEN)
class DatasetTypeFacet(TypedDict, total=False):
    """``datasetType``: TABLE, VIEW, FILE, TOPIC, MODEL, FEATURE…"""

    datasetType: Required[Name]
    subType: Text | None


@with_config(_OPEN)
class Tag(TypedDict, total=False):
    """One ``key: value`` tag, optionally on a field."""

    key: Required[Name]
    value: Text | None
    source: Text | None
    field: Text | None


@with_config(_OPEN)
class TagsFacet(TypedDict, total=False):
    """``tags`` (dataset or job)."""

    tags: list[Tag] | None


@with_config(_OPEN)
class SqlFacet(TypedDict, total=False):
    """``sql``: the job's query."""

    query: Required[Text]
    dialect: Text | None


@with_config(_OPEN)
class JobTypeFacet(TypedDict, total=False):
    """``jobType``: processing type, integration and job type."""

    processingType: Text | None
    integration: Text | None
    jobType: Text | None


@with_config(_OPEN)
class SourceCodeLocationFacet(TypedDict, total=False):
    """``sourceCodeLocation``: where the job's code lives and at which version."""

    type: Text | None
    url: Text | None
    repoUrl: Text | None
    path: Text | None
    version: Text | None
    tag: Text | None
    branch: Text | None


@with_config(_OPEN)
class RunRef(TypedDict, total=False):
    """A run named by its id, as the ``parent`` facet refers to it."""

    runId: Required[RunId]


@with_config(_OPEN)
class JobRef(TypedDict, total=False):
    """A job named by namespace and name."""

    namespace: Required[Name]
    name: Required[Name]


@with_config(_OPEN)
class ParentRoot(TypedDict, total=False):
    """The root run of a parent chain."""

    run: Required[RunRef]
    job: Required[JobRef]


@with_config(_OPEN)
class ParentFacet(TypedDict, total=False):
    """``parent``: the run that started this one (an Airflow DAG run, a dbt invocation…)."""

    run: Required[RunRef]
    job: Required[JobRef]
    root: ParentRoot | None


@with_config(_OPEN)
class ErrorMessageFacet(TypedDict, total=False):
    """``errorMessage``: why the run failed."""

    message: Required[Text]
    programmingLanguage: Text | None
    stackTrace: Text | None


@with_config(_OPEN)
class NominalTimeFacet(TypedDict, total=False):
    """``nominalTime``: the time the run was scheduled for."""

    nominalStartTime: Required[DateTime]
    nominalEndTime: DateTime | None


def _present(data: Any) -> Any:
    """A facet map without the facets sent as ``null`` or ``{"_deleted": true}``."""
    if not isinstance(data, dict):
        return data
    return {
        key: value
        for key, value in data.items()
        if value is not None and not (isinstance(value, dict) and value.get("_deleted") is True)
    }


@with_config(_OPEN)
class _RunFacets(TypedDict, total=False):
    nominalTime: NominalTimeFacet
    parent: ParentFacet
    errorMessage: ErrorMessageFacet


@with_config(_OPEN)
class _JobFacets(TypedDict, total=False):
    sql: SqlFacet
    jobType: JobTypeFacet
    documentation: DocumentationFacet
    ownership: OwnershipFacet
    sourceCodeLocation: SourceCodeLocationFacet
    tags: TagsFacet


@with_config(_OPEN)
class _DatasetFacets(TypedDict, total=False):
    schema: SchemaFacet
    columnLineage: ColumnLineageFacet
    dataQualityAssertions: AssertionsFacet
    dataQualityMetrics: MetricsFacet
    dataSource: DataSourceFacet
    documentation: DocumentationFacet
    ownership: OwnershipFacet
    lifecycleStateChange: LifecycleFacet
    version: VersionFacet
    symlinks: SymlinksFacet
    datasetType: DatasetTypeFacet
    tags: TagsFacet


@with_config(_OPEN)
class _InputFacets(TypedDict, total=False):
    dataQualityAssertions: AssertionsFacet
    dataQualityMetrics: MetricsFacet


@with_config(_OPEN)
class _OutputFacets(TypedDict, total=False):
    outputStatistics: OutputStatisticsFacet


RunFacets: TypeAlias = Annotated[_RunFacets, BeforeValidator(_present)]
JobFacets: TypeAlias = Annotated[_JobFacets, BeforeValidator(_present)]
DatasetFacets: TypeAlias = Annotated[_DatasetFacets, BeforeValidator(_present)]
InputFacets: TypeAlias = Annotated[_InputFacets, BeforeValidator(_present)]
OutputFacets: TypeAlias = Annotated[_OutputFacets, BeforeValidator(_present)]

# The facets each map types; the others are kept as sent.
KNOWN_FACETS: dict[str, frozenset[str]] = {
    "run": frozenset(_RunFacets.__annotations__),
    "job": frozenset(_JobFacets.__annotations__),
    "dataset": frozenset(_DatasetFacets.__annotations__),
    "input": frozenset(_InputFacets.__annotations__),
    "output": frozenset(_OutputFacets.__annotations__),
}


def unknown_facets(facets: Any, kind: str) -> dict[str, Any]:
    """The facets of a map that the translator does not map, as sent."""
    known = KNOWN_FACETS[kind]
    return {k: v for k, v in facets.items() if k not in known}


# --- envelope ---------------------------------------------------------------------------------


@with_config(_OPEN)
class Run(TypedDict, total=False):
    """The ``run`` of a RunEvent."""

    runId: Required[RunId]
    facets: RunFacets


@with_config(_OPEN)
class Job(TypedDict, total=False):
    """The ``job`` of a RunEvent or JobEvent."""

    namespace: Required[Name]
    name: Required[Name]
    facets: JobFacets


@with_config(_OPEN)
class Dataset(TypedDict, total=False):
    """A dataset with its facets."""

    namespace: Required[Name]
    name: Required[Name]
    facets: DatasetFacets


# orjson writes these as JSON text of their own (a datetime as its ISO string, say), so
# text that holds one could equal that of a different document: such datasets are not
# remembered. So is text holding a null value, which NaN and the infinities are written
# as (orjson writes no spaces: a value follows a colon, a comma or a bracket; "not_null"
# in a string is no null).
_EXACT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_EXACT |= orjson.OPT_PASSTHROUGH_SUBCLASS
_NULL_VALUE = re.compile(rb"[:,\[]null[,\]}]")
# What a validated dataset holds in memory, about, per byte of its text.
_BYTES_HELD_PER_BYTE = 8


def _not_json(value: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(value).__name__}")


class _Remembered:
    """A wrap validator that remembers the datasets it validated lately, by their exact
    JSON text, and answers a dataset with the same text with the same result.

    Datasets of plain JSON values (dict, list, str, int, float, bool) are told apart
    exactly by their text as orjson writes it (``1``, ``1.0`` and ``true`` differ), and
    validation is a function of it; what decoded JSON holds is always plain. (A value
    that a Python caller builds and orjson writes as text, a UUID or an enum member,
    counts as that text.) What is remembered is validated from that text, so it shares
    no object with the caller's document. It holds at most ``capacity`` datasets and
    about ``budget`` bytes of memory (eight times their text), the oldest dropped first;
    a dataset that would take more than a sixteenth of the budget is validated every
    time. Safe to share between threads.
    """

    def __init__(self, capacity: int = 1024, budget: int = 16 << 20) -> None:
        self.capacity = capacity
        self.budget = budget
        self._validated: dict[bytes, Any] = {}
        self._size = 0  # bytes held, about
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._validated)

    def __call__(self, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if type(value) is not dict:
            return handler(value)
        try:
            text = orjson.dumps(value, default=_not_json, option=_EXACT)
        except TypeError:  # a value of another type, or an integer past 64 bits
            return handler(value)
        held = len(text) * _BYTES_HELD_PER_BYTE
        if held > self.budget // 16 or (b"null" in text and _NULL_VALUE.search(text)):
            return handler(value)
        validated = self._validated.get(text)
        if validated is None:
            # Validated from a copy of its own: values kept as sent (facets of the
            # producer's own) are the input's objects, and the caller may change the
            # document it passed once it is translated.
            validated = handler(orjson.loads(text))
            with self._lock:
                table = self._validated
                if text not in table:
                    table[text] = validated
                    self._size += held
                while len(table) > self.capacity or self._size > self.budget:
                    oldest = next(iter(table))
                    self._size -= len(oldest) * _BYTES_HELD_PER_BYTE
                    del table[oldest]
        return validated


@with_config(_OPEN)
class InputDataset(Dataset, total=False):
    """A dataset a run or job reads."""

    inputFacets: InputFacets


@with_config(_OPEN)
class OutputDataset(Dataset, total=False):
    """A dataset a run or job writes."""

    outputFacets: OutputFacets


# Each kind of dataset (and each place a dataset is validated) remembers its own.
Inputs: TypeAlias = list[Annotated[InputDataset, WrapValidator(_Remembered())]]
Outputs: TypeAlias = list[Annotated[OutputDataset, WrapValidator(_Remembered())]]
JobInputs: TypeAlias = list[Annotated[InputDataset, WrapValidator(_Remembered())]]
JobOutputs: TypeAlias = list[Annotated[OutputDataset, WrapValidator(_Remembered())]]
EventDataset: TypeAlias = Annotated[Dataset, WrapValidator(_Remembered())]

EventType = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]


@with_config(_OPEN)
class RunEventDocument(TypedDict, total=False):
    """A run's state transition with what it read and wrote."""

    eventTime: Required[DateTime]
    producer: Required[Name]
    schemaURL: Text | None
    eventType: EventType | None
    run: Required[Run]
    job: Required[Job]
    inputs: Inputs | None
    outputs: Outputs | None


@with_config(_OPEN)
class JobEventDocument(TypedDict, total=False):
    """Static metadata about a job (its design-time inputs and outputs)."""

    eventTime: Required[DateTime]
    producer: Required[Name]
    schemaURL: Text | None
    job: Required[Job]
    inputs: JobInputs | None
    outputs: JobOutputs | None


@with_config(_OPEN)
class DatasetEventDocument(TypedDict, total=False):
    """Static metadata about a dataset."""

    eventTime: Required[DateTime]
    producer: Required[Name]
    schemaURL: Text | None
    dataset: Required[EventDataset]


@dataclass(frozen=True)
class RunEvent:
    """A validated RunEvent."""

    doc: RunEventDocument

    @property
    def at(self) -> datetime:
        """The event time, aware and in UTC."""
        return self.doc["eventTime"]


@dataclass(frozen=True)
class JobEvent:
    """A validated JobEvent."""

    doc: JobEventDocument

    @property
    def at(self) -> datetime:
        """The event time, aware and in UTC."""
        return self.doc["eventTime"]


@dataclass(frozen=True)
class DatasetEvent:
    """A validated DatasetEvent."""

    doc: DatasetEventDocument

    @property
    def at(self) -> datetime:
        """The event time, aware and in UTC."""
        return self.doc["eventTime"]


OpenLineageEvent = RunEvent | JobEvent | DatasetEvent

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "RunEvent": TypeAdapter(RunEventDocument),
    "JobEvent": TypeAdapter(JobEventDocument),
    "DatasetEvent": TypeAdapter(DatasetEventDocument),
}
_WRAPPERS: dict[str, type[RunEvent] | type[JobEvent] | type[DatasetEvent]] = {
    "RunEvent": RunEvent,
    "JobEvent": JobEvent,
    "DatasetEvent": DatasetEvent,
}
_SCHEMA_TYPE = re.compile(r"#/(?:definitions|\$defs)/(RunEvent|JobEvent|DatasetEvent)\s*$")

_MESSAGES = {
    "missing": "missing",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "greater_than_equal": "must not be negative",
    "less_than_equal": "is too large",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be an array",
}


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "event"


def describe_error(error: ValidationError, prefix: str = "") -> str:
    """One readable line for a validation error: ``path: what is wrong`` (first error first)."""
    path, message = _first_error(error, prefix)
    return f"{path}: {message}"


def _first_error(error: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The path of a validation error's first problem, and what is wrong there."""
    errors = error.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    message = _MESSAGES.get(kind)
    if kind == "less_than_equal":
        bound = first.get("ctx", {}).get("le")
        powers = {2**63 - 1: "2**63 - 1", 2**31 - 1: "2**31 - 1"}
        power = powers.get(bound, str(bound)) if isinstance(bound, int) else str(bound)
        message = f"{message} (at most {power})"
    if message is None:
        message = str(first["msg"])
        message = message.removeprefix("Value error, ").replace("Input should be", "must be")
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = _path(loc)
    if prefix:
        path = prefix if path == "event" else f"{prefix}{'' if path.startswith('[') else '.'}{path}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return path, f"{message}{more if len(errors) > 1 else ''}"


def event_kind(document: Any) -> str:
    """Which kind of event a document is: its ``schemaURL`` says, else its keys do.

    A document with ``run`` or ``eventType`` is a RunEvent, one with ``dataset``
    a DatasetEvent, one with only ``job`` a JobEvent.
    """
    if not isinstance(document, dict):
        raise InvalidInput("event: must be a JSON object")
    schema_url = document.get("schemaURL")
    if isinstance(schema_url, str):
        match = _SCHEMA_TYPE.search(schema_url)
        if match:
            return match.group(1)
    if "run" in document or "eventType" in document:
        return "RunEvent"
    if "dataset" in document:
        return "DatasetEvent"
    if "job" in document:
        return "JobEvent"
    raise InvalidInput(
        "event: not an OpenLineage event (a RunEvent needs run and job, "
        "a DatasetEvent dataset, a JobEvent job)"
    )


def parse_event(document: Any) -> OpenLineageEvent:
    """Validate one decoded JSON document as an OpenLineage event.

    Raises :class:`InvalidInput` naming the first bad field, e.g. ``run.runId: missing``.
    """
    kind = event_kind(document)
    try:
        validated = _ADAPTERS[kind].validate_python(document)
    except ValidationError as error:
        path, message = _first_error(error)
        raise InvalidField(path, f"{path}: {message}") from None
    except RecursionError:
        raise InvalidInput("event: nested too deeply") from None
    return _WRAPPERS[kind](validated)
