"""Validation of OpenLineage events: the envelope (spec 2-0-2 and earlier) and the mapped facets.

The envelope is checked as the spec requires (``eventTime``, ``producer``,
``run.runId`` as a UUID, job and dataset namespace and name); ``schemaURL`` may
be missing. Each facet the translator reads is checked with a targeted model,
so a producer's mistake is rejected with the path of the bad field, while
facets we do not map pass through untouched (pydantic keeps them as extras).
A facet sent as ``{"_deleted": true}`` or ``null`` counts as absent.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from lineagegraph.errors import InvalidInput
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
Count = Annotated[int, Strict(), Field(ge=0)]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]
RunId = Annotated[str, Strict(), AfterValidator(_uuid)]
DateTime = Annotated[datetime, PlainValidator(_date_time)]


class _Model(BaseModel):
    """Every part of an event: frozen, unknown keys kept."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


# --- facets -----------------------------------------------------------------------------------


class SchemaField(_Model):
    """One field of a ``schema`` facet; ``fields`` nests (structs, arrays, maps)."""

    name: Name
    type: Text | None = None
    description: Text | None = None
    ordinal_position: Count | None = None
    fields: list[SchemaField] | None = None


class SchemaFacet(_Model):
    """``schema``: the dataset's fields."""

    fields: list[SchemaField] | None = None


class Transformation(_Model):
    """One transformation of a column lineage input field (spec 1-1-0 and later)."""

    type: Name
    subtype: Text | None = None
    description: Text | None = None
    masking: Flag | None = None


class InputField(_Model):
    """A field some output field (or the whole output) depends on."""

    namespace: Name
    name: Name
    field: Name
    transformations: list[Transformation] | None = None


class ColumnLineageEntry(_Model):
    """The inputs of one output field, with the deprecated transformation description/type."""

    inputFields: list[InputField]
    transformationDescription: Text | None = None
    transformationType: Text | None = None


class ColumnLineageFacet(_Model):
    """``columnLineage``: field-level entries and dataset-level ``dataset`` entries."""

    fields: dict[str, ColumnLineageEntry] = Field(default_factory=dict)
    dataset: list[InputField] | None = None


class Assertion(_Model):
    """One data quality assertion and whether it held."""

    assertion: Name
    success: Flag
    column: Text | None = None
    severity: Text | None = None
    name: Text | None = None
    description: Text | None = None
    expected: Text | int | float | None = None
    actual: Text | int | float | None = None


class AssertionsFacet(_Model):
    """``dataQualityAssertions`` (dataset facet or input facet)."""

    assertions: list[Assertion]


class ColumnMetrics(_Model):
    """Metrics of one column."""

    nullCount: Count | None = None
    distinctCount: Count | None = None
    sum: Number | None = None
    count: Number | None = None
    min: Number | None = None
    max: Number | None = None
    quantiles: dict[str, Number] | None = None


class MetricsFacet(_Model):
    """``dataQualityMetrics``: volume and column metrics of the data read or written.

    The current facet schema requires ``columnMetrics``; Marquez's examples omit it
    and send only ``rowCount``, so either of the two is enough here.
    """

    rowCount: Count | None = None
    bytes: Count | None = None
    fileCount: Count | None = None
    columnMetrics: dict[str, ColumnMetrics] | None = None
    lastUpdated: Text | None = None

    @model_validator(mode="after")
    def _says_something(self) -> MetricsFacet:
        if self.rowCount is None and self.columnMetrics is None:
            raise ValueError("needs rowCount or columnMetrics")
        return self


class OutputStatisticsFacet(_Model):
    """``outputStatistics``: what a run wrote."""

    rowCount: Count | None = None
    size: Count | None = None
    fileCount: Count | None = None


class DataSourceFacet(_Model):
    """``dataSource``: the source system's name and URI."""

    name: Text | None = None
    uri: Text | None = None


class DocumentationFacet(_Model):
    """``documentation``: a description."""

    description: Text


class Owner(_Model):
    """An owner: ``user:jdoe``, ``team:data``…"""

    name: Name
    type: Text | None = None


class OwnershipFacet(_Model):
    """``ownership`` (dataset or job)."""

    owners: list[Owner] | None = None


class Identifier(_Model):
    """Another (namespace, name) under which a dataset is known."""

    namespace: Name
    name: Name
    type: Text | None = None


class SymlinksFacet(_Model):
    """``symlinks``: other names of the same dataset."""

    identifiers: list[Identifier] | None = None


class LifecycleFacet(_Model):
    """``lifecycleStateChange``: what the run did to the dataset."""

    lifecycleStateChange: Literal["ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE"]
    previousIdentifier: Identifier | None = None


class VersionFacet(_Model):
    """``version``: the dataset version the run read or wrote."""

    datasetVersion: Name


class DatasetTypeFacet(_Model):
    """``datasetType``: TABLE, VIEW, FILE, TOPIC, MODEL, FEATURE…"""

    datasetType: Name
    subType: Text | None = None


class Tag(_Model):
    """One ``key: value`` tag, optionally on a field."""

    key: Name
    value: Text | None = None
    source: Text | None = None
    field: Text | None = None


class TagsFacet(_Model):
    """``tags`` (dataset or job)."""

    tags: list[Tag] | None = None


class SqlFacet(_Model):
    """``sql``: the job's query."""

    query: Text
    dialect: Text | None = None


class JobTypeFacet(_Model):
    """``jobType``: processing type, integration and job type."""

    processingType: Text | None = None
    integration: Text | None = None
    jobType: Text | None = None


class SourceCodeLocationFacet(_Model):
    """``sourceCodeLocation``: where the job's code lives and at which version."""

    type: Text | None = None
    url: Text | None = None
    repoUrl: Text | None = None
    path: Text | None = None
    version: Text | None = None
    tag: Text | None = None
    branch: Text | None = None


class RunRef(_Model):
    """A run named by its id, as the ``parent`` facet refers to it."""

    runId: RunId


class JobRef(_Model):
    """A job named by namespace and name."""

    namespace: Name
    name: Name


class ParentRoot(_Model):
    """The root run of a parent chain."""

    run: RunRef
    job: JobRef


class ParentFacet(_Model):
    """``parent``: the run that started this one (an Airflow DAG run, a dbt invocation…)."""

    run: RunRef
    job: JobRef
    root: ParentRoot | None = None


class ErrorMessageFacet(_Model):
    """``errorMessage``: why the run failed."""

    message: Text
    programmingLanguage: Text | None = None
    stackTrace: Text | None = None


class NominalTimeFacet(_Model):
    """``nominalTime``: the time the run was scheduled for."""

    nominalStartTime: DateTime
    nominalEndTime: DateTime | None = None


class _Facets(_Model):
    """A facet map: mapped facets typed, the rest kept as extras."""

    @model_validator(mode="before")
    @classmethod
    def _drop_deleted(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value
            for key, value in data.items()
            if value is not None and not (isinstance(value, dict) and value.get("_deleted") is True)
        }

    def unknown(self) -> dict[str, Any]:
        """The facets this map does not type, as sent."""
        return dict(self.model_extra or {})


class RunFacets(_Facets):
    """Run facets."""

    nominalTime: NominalTimeFacet | None = None
    parent: ParentFacet | None = None
    errorMessage: ErrorMessageFacet | None = None


class JobFacets(_Facets):
    """Job facets."""

    sql: SqlFacet | None = None
    jobType: JobTypeFacet | None = None
    documentation: DocumentationFacet | None = None
    ownership: OwnershipFacet | None = None
    sourceCodeLocation: SourceCodeLocationFacet | None = None
    tags: TagsFacet | None = None


class DatasetFacets(_Facets):
    """Dataset facets."""

    schema_: SchemaFacet | None = Field(None, alias="schema")
    columnLineage: ColumnLineageFacet | None = None
    dataQualityAssertions: AssertionsFacet | None = None
    dataQualityMetrics: MetricsFacet | None = None
    dataSource: DataSourceFacet | None = None
    documentation: DocumentationFacet | None = None
    ownership: OwnershipFacet | None = None
    lifecycleStateChange: LifecycleFacet | None = None
    version: VersionFacet | None = None
    symlinks: SymlinksFacet | None = None
    datasetType: DatasetTypeFacet | None = None
    tags: TagsFacet | None = None


class InputFacets(_Facets):
    """Input dataset facets."""

    dataQualityAssertions: AssertionsFacet | None = None
    dataQualityMetrics: MetricsFacet | None = None


class OutputFacets(_Facets):
    """Output dataset facets."""

    outputStatistics: OutputStatisticsFacet | None = None


# --- envelope ---------------------------------------------------------------------------------


class Run(_Model):
    """The ``run`` of a RunEvent."""

    runId: RunId
    facets: RunFacets = Field(default_factory=RunFacets)


class Job(_Model):
    """The ``job`` of a RunEvent or JobEvent."""

    namespace: Name
    name: Name
    facets: JobFacets = Field(default_factory=JobFacets)


class Dataset(_Model):
    """A dataset with its facets."""

    namespace: Name
    name: Name
    facets: DatasetFacets = Field(default_factory=DatasetFacets)


class InputDataset(Dataset):
    """A dataset a run or job reads."""

    inputFacets: InputFacets = Field(default_factory=InputFacets)


class OutputDataset(Dataset):
    """A dataset a run or job writes."""

    outputFacets: OutputFacets = Field(default_factory=OutputFacets)


EventType = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]


class _Event(_Model):
    eventTime: DateTime
    producer: Name
    schemaURL: Text | None = None

    @property
    def at(self) -> datetime:
        """The event time as an aware UTC datetime."""
        return self.eventTime


class RunEvent(_Event):
    """A run's state transition with what it read and wrote."""

    eventType: EventType | None = None
    run: Run
    job: Job
    inputs: list[InputDataset] | None = None
    outputs: list[OutputDataset] | None = None


class JobEvent(_Event):
    """Static metadata about a job (its design-time inputs and outputs)."""

    job: Job
    inputs: list[InputDataset] | None = None
    outputs: list[OutputDataset] | None = None


class DatasetEvent(_Event):
    """Static metadata about a dataset."""

    dataset: Dataset


OpenLineageEvent = RunEvent | JobEvent | DatasetEvent

_EVENT_TYPES: dict[str, type[_Event]] = {
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
    errors = error.errors(include_url=False)
    first = errors[0]
    kind = first["type"]
    message = _MESSAGES.get(kind)
    if message is None:
        message = str(first["msg"])
        message = message.removeprefix("Value error, ").replace("Input should be", "must be")
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = _path(loc)
    if prefix:
        path = prefix if path == "event" else f"{prefix}{'' if path.startswith('[') else '.'}{path}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return f"{path}: {message}{more if len(errors) > 1 else ''}"


def event_kind(document: Any) -> type[_Event]:
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
            return _EVENT_TYPES[match.group(1)]
    if "run" in document or "eventType" in document:
        return RunEvent
    if "dataset" in document:
        return DatasetEvent
    if "job" in document:
        return JobEvent
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
        event = kind.model_validate(document)
    except ValidationError as error:
        raise InvalidInput(describe_error(error)) from None
    except RecursionError:
        raise InvalidInput("event: nested too deeply") from None
    assert isinstance(event, RunEvent | JobEvent | DatasetEvent)
    return event
