"""OpenLineage events → ChangeSets (pure: no store access).

One event becomes one :class:`ChangeSet`; the README section "Ingesting
lineage" documents the mapping facet by facet. In short:

- the job, the run (key: job namespace, job name, runId) and ``HAS_RUN``;
- inputs ``READS`` the job, the job ``WRITES`` outputs; fields from ``schema``
  (nested fields contained in their parent field), ``DERIVES`` edges from
  ``columnLineage`` carrying the job and the transformation;
- each output gets a ``DATASET_VERSION`` (the ``version`` facet, else the
  runId) that the run ``WROTE``; an input is ``READ_BY`` the run at the version
  its ``version`` facet names (without one, the input is listed in the run's
  ``inputs`` attribute);
- ``dataQualityAssertions`` become checks and results, ``dataQualityMetrics``
  and ``outputStatistics`` row and byte counts;
- a run event that reports inputs or outputs adds a :class:`JobSnapshot`, so
  edges the job's latest run no longer reports stop being current.

Datasets in a feature-store namespace (``feast://``, ``featurestore://``) or
with ``datasetType`` FEATURE become features; in a model-registry namespace
(``mlflow://``, ``models://``) or with ``datasetType`` MODEL, models and model
versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest import _olspec as spec
from lineagegraph.ingest._build import (
    FEATURE_SCHEMES,
    MODEL_SCHEMES,
    GraphBuilder,
    platform_of,
    short_text,
)
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    EdgeKind,
    Feature,
    Field,
    Job,
    JobSnapshot,
    Model,
    ModelVersion,
    Origin,
    Result,
    Run,
    RunState,
    format_time,
)

__all__ = [
    "OpenLineageEvent",
    "parse_event",
    "translate",
    "translate_event",
]

OpenLineageEvent = spec.OpenLineageEvent
parse_event = spec.parse_event

# Event types that set a run's state; OTHER events only add facts.
_STATES = frozenset({"START", "RUNNING", "COMPLETE", "FAIL", "ABORT"})
_TERMINAL = frozenset({"COMPLETE", "FAIL", "ABORT"})


def translate_event(document: Any) -> ChangeSet:
    """Validate a decoded JSON event and translate it; raises :class:`InvalidInput`."""
    return translate(parse_event(document))


def translate(event: OpenLineageEvent) -> ChangeSet:
    """Translate a validated event into the changes it implies."""
    changeset = ChangeSet(origin=Origin.OPENLINEAGE)
    builder = GraphBuilder(changeset, event.at)
    if isinstance(event, spec.RunEvent):
        _RunTranslation(builder, event).build()
    elif isinstance(event, spec.JobEvent):
        _JobTranslation(builder, event).build()
    else:
        _DatasetTranslation(builder, event).build()
    return changeset


# --- datasets ---------------------------------------------------------------------------------


def _entity_kind(dataset: spec.Dataset) -> Kind:
    declared = dataset.facets.datasetType
    declared_type = declared.datasetType.upper() if declared else ""
    scheme = dataset.namespace.partition("://")[0].lower() if "://" in dataset.namespace else ""
    if declared_type == "FEATURE" or scheme in FEATURE_SCHEMES:
        return Kind.FEATURE
    if declared_type == "MODEL" or scheme in MODEL_SCHEMES:
        return Kind.MODEL
    return Kind.DATASET


def _tags(facet: spec.TagsFacet | None, field: str | None = None) -> list[str] | None:
    if facet is None or not facet.tags:
        return None
    tags = [
        t.key if t.value in (None, "", "true") else f"{t.key}:{t.value}"
        for t in facet.tags
        if (t.field or None) == field
    ]
    return tags or None


def _owners(facet: spec.OwnershipFacet | None) -> list[str] | None:
    if facet is None or facet.owners is None:
        return None
    return [owner.name for owner in facet.owners]


def _schema_rows(
    fields: list[spec.SchemaField], prefix: str = ""
) -> Iterable[tuple[str, str, spec.SchemaField, int]]:
    """(parent path, path, field, ordinal) for every field, parents before children."""
    for index, field in enumerate(fields, start=1):
        path = f"{prefix}.{field.name}" if prefix else field.name
        yield prefix, path, field, field.ordinal_position or index
        if field.fields:
            yield from _schema_rows(field.fields, path)


class _Translation:
    """What run, job and dataset events share: datasets, fields, checks, column lineage."""

    def __init__(self, builder: GraphBuilder) -> None:
        self.b = builder
        self.at: datetime = builder.at

    # Datasets ----------------------------------------------------------------------------------

    def describe_dataset(self, dataset: spec.Dataset) -> str:
        """Add a dataset with what its facets say (schema, owners, lifecycle…); returns its id."""
        facets = dataset.facets
        ns, name = dataset.namespace, dataset.name
        dataset_id = make_id(Kind.DATASET, ns, name)
        aliases: list[str] = []
        if facets.symlinks and facets.symlinks.identifiers:
            aliases.extend(
                make_id(Kind.DATASET, i.namespace, i.name) for i in facets.symlinks.identifiers
            )
        lifecycle = facets.lifecycleStateChange
        deleted: bool | None = None
        if lifecycle is not None:
            change = lifecycle.lifecycleStateChange
            if change == "DROP":
                deleted = True
            elif change in ("CREATE", "OVERWRITE"):
                deleted = False
            previous = lifecycle.previousIdentifier
            if change == "RENAME" and previous is not None:
                old_id = make_id(Kind.DATASET, previous.namespace, previous.name)
                if old_id != dataset_id:
                    aliases.append(old_id)
                    self.b.entity(
                        Dataset(namespace=previous.namespace, name=previous.name, deleted=True),
                        {"renamed_to": dataset_id},
                    )
        source = facets.dataSource
        self.b.entity(
            Dataset(
                namespace=ns,
                name=name,
                description=facets.documentation.description if facets.documentation else None,
                platform=platform_of(ns),
                owners=_owners(facets.ownership),
                tags=_tags(facets.tags),
                deleted=deleted,
                aliases=sorted(set(aliases)) or None,
                facets=facets.unknown() or None,
            ),
            {
                "source_name": source.name if source else None,
                "source_uri": source.uri if source else None,
                "dataset_type": facets.datasetType.datasetType if facets.datasetType else None,
                "lifecycle_state": lifecycle.lifecycleStateChange if lifecycle else None,
            },
        )
        if facets.schema_ and facets.schema_.fields:
            for parent, path, field, ordinal in _schema_rows(facets.schema_.fields):
                field_id = self.b.entity(
                    Field(
                        namespace=ns,
                        name=name,
                        path=path,
                        type=field.type,
                        description=field.description,
                        ordinal=ordinal,
                        tags=_tags(facets.tags, path),
                    )
                )
                container = make_id(Kind.FIELD, ns, name, parent) if parent else dataset_id
                self.b.link(container, EdgeKind.HAS_FIELD, field_id)
        return dataset_id

    def schema_snapshot(self, dataset: spec.Dataset) -> list[dict[str, Any]] | None:
        """The schema as a dataset version records it: path, type and ordinal of each field."""
        schema = dataset.facets.schema_
        if schema is None or not schema.fields:
            return None
        return [
            {k: v for k, v in (("path", path), ("type", f.type), ("ordinal", o)) if v is not None}
            for _, path, f, o in _schema_rows(schema.fields)
        ]

    def dataset_version(
        self,
        dataset: spec.Dataset,
        version: str,
        run_id: str | None,
        *,
        created: bool,
        row_count: int | None = None,
        byte_count: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Add a version of a dataset and its ``HAS_VERSION`` edge; returns its id."""
        version_id = self.b.entity(
            DatasetVersion(
                namespace=dataset.namespace,
                name=dataset.name,
                version=version,
                created_at=self.at if created else None,
                run=run_id if created else None,
                schema_fields=self.schema_snapshot(dataset) if created else None,
                row_count=row_count,
                byte_count=byte_count,
            ),
            extra,
        )
        self.b.link(
            make_id(Kind.DATASET, dataset.namespace, dataset.name),
            EdgeKind.HAS_VERSION,
            version_id,
        )
        return version_id

    # Quality -----------------------------------------------------------------------------------

    def assertions(
        self,
        dataset: spec.Dataset,
        facet: spec.AssertionsFacet | None,
        result_key: str,
        run_id: str | None,
        version_id: str | None,
    ) -> None:
        """Checks and results from a ``dataQualityAssertions`` facet."""
        if facet is None:
            return
        ns, name = dataset.namespace, dataset.name
        for assertion in facet.assertions:
            column = assertion.column or None
            check_name = assertion.name or (
                f"{assertion.assertion}({column})" if column else assertion.assertion
            )
            check_id = self.b.entity(
                Check(
                    namespace=ns,
                    name=name,
                    check=check_name,
                    check_type=assertion.assertion,
                    field=column,
                    severity=assertion.severity.upper() if assertion.severity else None,
                    description=assertion.description,
                    source="openlineage",
                )
            )
            target = self.b.field(ns, name, column) if column else self.b.dataset(ns, name)
            self.b.link(target, EdgeKind.HAS_CHECK, check_id)
            result_id = self.b.entity(
                Result(
                    namespace=ns,
                    name=name,
                    check=check_name,
                    result=result_key,
                    passed=assertion.success,
                    observed_at=self.at,
                    observed=short_text(assertion.actual),
                    expected=short_text(assertion.expected),
                    dataset_version=version_id,
                    run=run_id,
                    source="openlineage",
                )
            )
            self.b.link(check_id, EdgeKind.HAS_RESULT, result_id)
            if version_id is not None:
                self.b.link(result_id, EdgeKind.EVALUATED, version_id)

    # Column lineage ----------------------------------------------------------------------------

    def column_lineage(
        self, output: spec.Dataset, job_id: str | None
    ) -> list[tuple[str, str]] | None:
        """``DERIVES`` edges for an output's ``columnLineage`` facet; returns the field pairs.

        Field-level entries link each input field to the output field. Dataset-level
        entries (``dataset``: fields used to filter, join, group or sort) link the
        input field to every output field the event names, as INDIRECT. Several
        transformations of one pair make one edge: DIRECT wins over INDIRECT, and
        every transformation is listed in ``transformations``.
        """
        facet = output.facets.columnLineage
        if facet is None:
            return None
        ns, name = output.namespace, output.name
        pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for path, entry in facet.fields.items():
            target = self.b.field(ns, name, path)
            for source in entry.inputFields:
                source_id = self.b.field(source.namespace, source.name, source.field)
                pairs.setdefault((source_id, target), []).extend(_transformations(source, entry))
        if facet.dataset:
            targets = self._output_fields(output)
            for source in facet.dataset:
                source_id = self.b.field(source.namespace, source.name, source.field)
                found = _transformations(source, None) or [{"type": "INDIRECT"}]
                for target in targets:
                    pairs.setdefault((source_id, target), []).extend(
                        {**t, "scope": "dataset"} for t in found
                    )
        for (source_id, target), transformations in pairs.items():
            self.b.link(source_id, EdgeKind.DERIVES, target, _edge_attrs(job_id, transformations))
        return list(pairs)

    def _output_fields(self, output: spec.Dataset) -> list[str]:
        paths: dict[str, None] = {}
        schema = output.facets.schema_
        if schema and schema.fields:
            paths.update((f.name, None) for f in schema.fields)
        lineage = output.facets.columnLineage
        if lineage:
            paths.update((p, None) for p in lineage.fields)
        return [self.b.field(output.namespace, output.name, p) for p in paths]

    # ML entities -------------------------------------------------------------------------------

    def features(self, dataset: spec.Dataset) -> list[str]:
        """Feature ids for a feature-store dataset (added with their descriptions).

        A name with ``:`` (``view:feature``) is one feature; otherwise the dataset is
        a feature view and each top-level schema (or column lineage) field is a
        feature ``view:field``; a view that names no fields is one feature.
        """
        facets = dataset.facets
        ns = dataset.namespace
        described: list[tuple[str, str | None, str | None]] = []
        if ":" not in dataset.name:
            if facets.schema_ and facets.schema_.fields:
                described.extend(
                    (f"{dataset.name}:{f.name}", f.description, f.type)
                    for f in facets.schema_.fields
                )
            elif facets.columnLineage and facets.columnLineage.fields:
                described.extend(
                    (f"{dataset.name}:{p}", None, None) for p in facets.columnLineage.fields
                )
        if not described:
            doc = facets.documentation.description if facets.documentation else None
            described.append((dataset.name, doc, None))
        owners = _owners(facets.ownership)
        return [
            self.b.entity(
                Feature(namespace=ns, name=name, description=desc, dtype=dtype, owners=owners)
            )
            for name, desc, dtype in described
        ]

    def feature_sources(self, dataset: spec.Dataset, inputs: list[str]) -> None:
        """``COMPUTED_FROM`` edges into a written feature view: from fields, else inputs."""
        lineage = dataset.facets.columnLineage
        single = ":" in dataset.name or not (
            (dataset.facets.schema_ and dataset.facets.schema_.fields)
            or (lineage and lineage.fields)
        )
        ns = dataset.namespace
        if lineage and lineage.fields:
            for path, entry in lineage.fields.items():
                feature = make_id(
                    Kind.FEATURE, ns, dataset.name if single else f"{dataset.name}:{path}"
                )
                if not self.b.has(feature):
                    continue
                for field in entry.inputFields:
                    field_id = self.b.field(field.namespace, field.name, field.field)
                    self.b.link(field_id, EdgeKind.COMPUTED_FROM, feature)
            return
        datasets = [i for i in inputs if i.startswith("dataset|")]
        for feature in self.features_of(dataset):
            for dataset_id in datasets:
                self.b.link(dataset_id, EdgeKind.COMPUTED_FROM, feature)

    def features_of(self, dataset: spec.Dataset) -> list[str]:
        """The ids :meth:`features` adds for a dataset, without adding anything."""
        facets = dataset.facets
        ns = dataset.namespace
        if ":" not in dataset.name:
            if facets.schema_ and facets.schema_.fields:
                return [
                    make_id(Kind.FEATURE, ns, f"{dataset.name}:{f.name}")
                    for f in facets.schema_.fields
                ]
            if facets.columnLineage and facets.columnLineage.fields:
                return [
                    make_id(Kind.FEATURE, ns, f"{dataset.name}:{p}")
                    for p in facets.columnLineage.fields
                ]
        return [make_id(Kind.FEATURE, ns, dataset.name)]

    def model(self, dataset: spec.Dataset) -> str:
        """Add the model a model-registry dataset names; returns its id."""
        facets = dataset.facets
        return self.b.entity(
            Model(
                namespace=dataset.namespace,
                name=dataset.name,
                description=facets.documentation.description if facets.documentation else None,
                owners=_owners(facets.ownership),
                tags=_tags(facets.tags),
            )
        )


def _transformations(
    source: spec.InputField, entry: spec.ColumnLineageEntry | None
) -> list[dict[str, Any]]:
    """The transformations of one input field, new style or from the deprecated fields."""
    if source.transformations:
        return [
            {
                k: v
                for k, v in (
                    ("type", t.type.upper()),
                    ("subtype", t.subtype.upper() if t.subtype else None),
                    ("description", t.description or None),
                    ("masking", t.masking),
                )
                if v is not None
            }
            for t in source.transformations
        ]
    if entry is None:
        return []
    legacy: dict[str, Any] = {}
    kind = (entry.transformationType or "").upper()
    if kind:
        # IDENTITY and MASKED were the two documented values; both are direct derivations.
        legacy["type"] = "DIRECT"
        legacy["subtype"] = "TRANSFORMATION" if kind == "MASKED" else kind
        if kind == "MASKED":
            legacy["masking"] = True
    if entry.transformationDescription:
        legacy["description"] = entry.transformationDescription
    return [legacy] if legacy else []


def _edge_attrs(job_id: str | None, transformations: list[dict[str, Any]]) -> dict[str, Any]:
    """A DERIVES edge's attributes: the job and its primary transformation."""
    unique: list[dict[str, Any]] = []
    for t in transformations:
        if t not in unique:
            unique.append(t)
    direct = [t for t in unique if t.get("type") == "DIRECT"]
    primary = (direct or unique or [{}])[0]
    descriptions = [t["description"] for t in unique if t.get("description")]
    attrs: dict[str, Any] = {
        "job": job_id,
        "transformation": primary.get("type"),
        "subtype": primary.get("subtype"),
        "description": "; ".join(dict.fromkeys(descriptions)) or None,
        "masking": any(t.get("masking") for t in unique) or None,
    }
    if len(unique) > 1:
        attrs["transformations"] = unique
    if unique and all(t.get("scope") == "dataset" for t in unique):
        attrs["scope"] = "dataset"
    return attrs


# --- run events -------------------------------------------------------------------------------


class _RunTranslation(_Translation):
    def __init__(self, builder: GraphBuilder, event: spec.RunEvent) -> None:
        super().__init__(builder)
        self.event = event
        self.job_id = make_id(Kind.JOB, event.job.namespace, event.job.name)
        self.run_id = make_id(Kind.RUN, event.job.namespace, event.job.name, event.run.runId)

    def build(self) -> None:
        event = self.event
        self.b.entity(*_job(event.job))
        self.run()
        self.b.link(self.job_id, EdgeKind.HAS_RUN, self.run_id)
        read: list[str] = []
        inputs_listed: list[str] = []
        input_metrics: dict[str, Any] = {}
        for dataset in event.inputs or []:
            read.extend(self.input(dataset, inputs_listed, input_metrics))
        written: list[str] = []
        outputs_listed: list[str] = []
        column_edges: list[tuple[str, str]] = []
        every_output_has_lineage = True
        for output in event.outputs or []:
            ids, pairs = self.output(output, read, outputs_listed)
            written.extend(ids)
            if pairs is None:
                every_output_has_lineage = every_output_has_lineage and not ids
            else:
                column_edges.extend(pairs)
        if inputs_listed or outputs_listed or input_metrics:
            self.b.entity(
                Run(
                    namespace=event.job.namespace,
                    name=event.job.name,
                    run_id=event.run.runId,
                ),
                {
                    "inputs": inputs_listed or None,
                    "outputs": outputs_listed or None,
                    "input_metrics": input_metrics or None,
                },
            )
        if (read or written) and event.eventType != "RUNNING":
            self.b.cs.snapshots.append(
                JobSnapshot(
                    job_id=self.job_id,
                    at=format_time(self.at),
                    inputs=tuple(dict.fromkeys(read)),
                    outputs=tuple(dict.fromkeys(written)),
                    column_edges=tuple(column_edges)
                    if column_edges and every_output_has_lineage
                    else None,
                )
            )

    def run(self) -> None:
        event = self.event
        facets = event.run.facets
        state = event.eventType if event.eventType in _STATES else None
        parent = facets.parent
        parent_run: str | None = None
        if parent is not None:
            parent_job = self.b.bare(Kind.JOB, parent.job.namespace, parent.job.name)
            parent_run = self.b.bare(
                Kind.RUN, parent.job.namespace, parent.job.name, parent.run.runId
            )
            self.b.link(parent_job, EdgeKind.HAS_RUN, parent_run)
            if parent_run != self.run_id:
                self.b.link(parent_run, EdgeKind.PARENT_OF, self.run_id)
        nominal = facets.nominalTime
        error = facets.errorMessage
        self.b.entity(
            Run(
                namespace=event.job.namespace,
                name=event.job.name,
                run_id=event.run.runId,
                state=RunState(state) if state else None,
                started_at=self.at if state == "START" else None,
                ended_at=self.at if state in _TERMINAL else None,
                nominal_time=nominal.nominalStartTime if nominal else None,
                error_message=error.message if error else None,
                parent_run=parent_run,
                facets=facets.unknown() or None,
            ),
            {
                "state_at": format_time(self.at) if state else None,
                "producer": event.producer,
                "root_run": make_id(
                    Kind.RUN,
                    parent.root.job.namespace,
                    parent.root.job.name,
                    parent.root.run.runId,
                )
                if parent and parent.root
                else None,
                "error_language": error.programmingLanguage if error else None,
                "error_stack_trace": error.stackTrace if error else None,
            },
        )

    def input(
        self, dataset: spec.InputDataset, listed: list[str], metrics: dict[str, Any]
    ) -> list[str]:
        """Add an input; returns the ids that now READ the job."""
        kind = _entity_kind(dataset)
        version = dataset.facets.version.datasetVersion if dataset.facets.version else None
        if kind is Kind.FEATURE:
            ids = self.features(dataset)
            for feature in ids:
                self.b.link(feature, EdgeKind.READS, self.job_id)
            listed.extend(ids)
            return ids
        if kind is Kind.MODEL:
            model_id = self.model(dataset)
            if version is None:
                listed.append(model_id)
                return []
            mv = self.b.entity(
                ModelVersion(namespace=dataset.namespace, name=dataset.name, version=version)
            )
            self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
            self.b.link(mv, EdgeKind.READS, self.job_id)
            self.b.link(mv, EdgeKind.READ_BY, self.run_id)
            listed.append(mv)
            return [mv]
        dataset_id = self.describe_dataset(dataset)
        self.b.link(dataset_id, EdgeKind.READS, self.job_id)
        listed.append(dataset_id)
        quality = dataset.inputFacets.dataQualityMetrics or dataset.facets.dataQualityMetrics
        version_id: str | None = None
        if version is not None:
            version_id = self.dataset_version(
                dataset,
                version,
                None,
                created=False,
                row_count=quality.rowCount if quality else None,
                byte_count=quality.bytes if quality else None,
                extra=_metric_attrs(quality),
            )
            self.b.link(version_id, EdgeKind.READ_BY, self.run_id)
        elif quality is not None:
            metrics[dataset_id] = _plain(quality)
        for facet in (
            dataset.facets.dataQualityAssertions,
            dataset.inputFacets.dataQualityAssertions,
        ):
            self.assertions(dataset, facet, self.event.run.runId, self.run_id, version_id)
        return [dataset_id]

    def output(
        self, dataset: spec.OutputDataset, read: list[str], listed: list[str]
    ) -> tuple[list[str], list[tuple[str, str]] | None]:
        """Add an output; returns the ids the job now WRITES and the column edges reported."""
        kind = _entity_kind(dataset)
        version = dataset.facets.version.datasetVersion if dataset.facets.version else None
        if kind is Kind.FEATURE:
            ids = self.features(dataset)
            for feature in ids:
                self.b.link(self.job_id, EdgeKind.WRITES, feature)
            self.feature_sources(dataset, read)
            listed.extend(ids)
            return ids, None
        if kind is Kind.MODEL:
            model_id = self.model(dataset)
            mv = self.b.entity(
                ModelVersion(
                    namespace=dataset.namespace,
                    name=dataset.name,
                    version=version or self.event.run.runId,
                    created_at=self.at,
                    training_run=self.run_id,
                )
            )
            self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
            self.b.link(self.job_id, EdgeKind.WRITES, mv)
            self.b.link(self.run_id, EdgeKind.WROTE, mv)
            for source in read:
                if not source.startswith("model_version|"):
                    self.b.link(source, EdgeKind.TRAINED_ON, mv)
            lineage = dataset.facets.columnLineage
            if lineage:
                for entry in lineage.fields.values():
                    for field in entry.inputFields:
                        field_id = self.b.field(field.namespace, field.name, field.field)
                        self.b.link(field_id, EdgeKind.TRAINED_ON, mv)
            listed.append(mv)
            return [mv], None
        dataset_id = self.describe_dataset(dataset)
        self.b.link(self.job_id, EdgeKind.WRITES, dataset_id)
        stats = dataset.outputFacets.outputStatistics
        quality = dataset.facets.dataQualityMetrics
        version_id = self.dataset_version(
            dataset,
            version or self.event.run.runId,
            self.run_id,
            created=True,
            row_count=_first(
                stats.rowCount if stats else None, quality.rowCount if quality else None
            ),
            byte_count=_first(stats.size if stats else None, quality.bytes if quality else None),
            extra={
                **_metric_attrs(quality),
                "file_count": _first(
                    stats.fileCount if stats else None, quality.fileCount if quality else None
                ),
            },
        )
        self.b.link(self.run_id, EdgeKind.WROTE, version_id)
        listed.append(dataset_id)
        self.assertions(
            dataset,
            dataset.facets.dataQualityAssertions,
            self.event.run.runId,
            self.run_id,
            version_id,
        )
        pairs = self.column_lineage(dataset, self.job_id)
        return [dataset_id], pairs


def _plain(facet: BaseModel) -> dict[str, Any]:
    """A facet's values as JSON, without ``_producer``/``_schemaURL`` and empty values."""
    dumped = facet.model_dump(exclude_none=True, mode="json", by_alias=True)
    return {k: v for k, v in dumped.items() if not k.startswith("_")}


def _first(*values: int | None) -> int | None:
    """The first value that is not ``None``."""
    return next((v for v in values if v is not None), None)


def _metric_attrs(quality: spec.MetricsFacet | None) -> dict[str, Any]:
    if quality is None:
        return {}
    return {
        "column_metrics": {
            column: _plain(metrics) for column, metrics in sorted(quality.columnMetrics.items())
        }
        if quality.columnMetrics
        else None,
        "file_count": quality.fileCount,
    }


def _job(job: spec.Job) -> tuple[Job, dict[str, Any]]:
    facets = job.facets
    kind = facets.jobType
    code = facets.sourceCodeLocation
    location = None
    if code is not None:
        location = code.url or code.repoUrl
        if location and code.path and code.path not in location:
            location = f"{location}#{code.path}"
    return (
        Job(
            namespace=job.namespace,
            name=job.name,
            description=facets.documentation.description if facets.documentation else None,
            job_type=kind.jobType if kind else None,
            processing_type=kind.processingType if kind else None,
            integration=kind.integration if kind else None,
            sql=facets.sql.query if facets.sql else None,
            code_location=location,
            code_version=code.version if code else None,
            owners=_owners(facets.ownership),
            tags=_tags(facets.tags),
            facets=facets.unknown() or None,
        ),
        {"sql_dialect": facets.sql.dialect if facets.sql else None},
    )


# --- job and dataset events -------------------------------------------------------------------


class _JobTranslation(_Translation):
    """A JobEvent: the job and its design-time inputs and outputs (no run, no versions)."""

    def __init__(self, builder: GraphBuilder, event: spec.JobEvent) -> None:
        super().__init__(builder)
        self.event = event
        self.job_id = make_id(Kind.JOB, event.job.namespace, event.job.name)

    def build(self) -> None:
        event = self.event
        self.b.entity(*_job(event.job))
        result_key = format_time(self.at)
        read: list[str] = []
        for dataset in event.inputs or []:
            kind = _entity_kind(dataset)
            if kind is Kind.FEATURE:
                ids = self.features(dataset)
            elif kind is Kind.DATASET:
                ids = [self.describe_dataset(dataset)]
                for facet in (
                    dataset.facets.dataQualityAssertions,
                    dataset.inputFacets.dataQualityAssertions,
                ):
                    self.assertions(dataset, facet, result_key, None, None)
            else:
                self.model(dataset)
                ids = []
            for source in ids:
                self.b.link(source, EdgeKind.READS, self.job_id)
            read.extend(ids)
        written: list[str] = []
        column_edges: list[tuple[str, str]] = []
        every_output_has_lineage = True
        for output in event.outputs or []:
            kind = _entity_kind(output)
            if kind is Kind.FEATURE:
                ids = self.features(output)
                self.feature_sources(output, read)
                every_output_has_lineage = False
            elif kind is Kind.DATASET:
                ids = [self.describe_dataset(output)]
                self.assertions(output, output.facets.dataQualityAssertions, result_key, None, None)
                pairs = self.column_lineage(output, self.job_id)
                if pairs is None:
                    every_output_has_lineage = False
                else:
                    column_edges.extend(pairs)
            else:
                self.model(output)
                ids = []
            for target in ids:
                self.b.link(self.job_id, EdgeKind.WRITES, target)
            written.extend(ids)
        if read or written:
            self.b.cs.snapshots.append(
                JobSnapshot(
                    job_id=self.job_id,
                    at=result_key,
                    inputs=tuple(dict.fromkeys(read)),
                    outputs=tuple(dict.fromkeys(written)),
                    column_edges=tuple(column_edges)
                    if column_edges and every_output_has_lineage
                    else None,
                )
            )


class _DatasetTranslation(_Translation):
    """A DatasetEvent: the dataset's metadata, its version and quality results."""

    def __init__(self, builder: GraphBuilder, event: spec.DatasetEvent) -> None:
        super().__init__(builder)
        self.event = event

    def build(self) -> None:
        dataset = self.event.dataset
        kind = _entity_kind(dataset)
        if kind is Kind.FEATURE:
            self.features(dataset)
            return
        version = dataset.facets.version.datasetVersion if dataset.facets.version else None
        if kind is Kind.MODEL:
            model_id = self.model(dataset)
            if version is not None:
                mv = self.b.entity(
                    ModelVersion(
                        namespace=dataset.namespace,
                        name=dataset.name,
                        version=version,
                        created_at=self.at,
                    )
                )
                self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
            return
        self.describe_dataset(dataset)
        quality = dataset.facets.dataQualityMetrics
        version_id = None
        if version is not None:
            version_id = self.dataset_version(
                dataset,
                version,
                None,
                created=True,
                row_count=quality.rowCount if quality else None,
                byte_count=quality.bytes if quality else None,
                extra=_metric_attrs(quality),
            )
        self.assertions(
            dataset, dataset.facets.dataQualityAssertions, format_time(self.at), None, version_id
        )
