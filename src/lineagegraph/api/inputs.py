"""GraphQL input types of the mutations, each converted to a plain spec of
:mod:`lineagegraph.ingest.mutations` by ``to_spec`` (the translation itself is pure
and lives there)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from lineagegraph.api.types import EntityKind, Long, RunStateEnum
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import KEY_PARTS, Kind, make_id, parse_id
from lineagegraph.ingest import mutations as mx
from lineagegraph.ingest.mutations import InvalidField

_PART_ARGS = {
    "path": "path",
    "version": "version",
    "run_id": "runId",
    "check": "check",
    "result": "result",
}


@strawberry.input(
    description="A reference to an entity: its `id`, or its `kind`, `namespace`, `name` and the "
    "kind's extra key part (`path` of a field, `version` of a dataset or model version, `runId` of "
    "a run, `check` of a check, `check` and `result` of a result)."
)
class EntityRefInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="The entity's id.")
    kind: EntityKind | None = strawberry.field(default=None, description="The entity's kind.")
    namespace: str | None = strawberry.field(default=None, description="The key's namespace.")
    name: str | None = strawberry.field(default=None, description="The key's name.")
    path: str | None = strawberry.field(default=None, description="A field's path.")
    version: str | None = strawberry.field(default=None, description="A dataset or model version.")
    run_id: str | None = strawberry.field(default=None, description="A run's id.")
    check: str | None = strawberry.field(default=None, description="A check's name.")
    result: str | None = strawberry.field(default=None, description="A result's own key.")

    def resolve(self, field: str) -> str:
        """The entity id this reference names; :class:`InvalidField` when it names none."""
        return resolve_ref(
            field,
            entity_id=self.id,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            parts={
                "path": self.path,
                "version": self.version,
                "run_id": self.run_id,
                "check": self.check,
                "result": self.result,
            },
        )


def resolve_ref(
    field: str,
    *,
    entity_id: str | None,
    kind: Kind | None,
    namespace: str | None,
    name: str | None,
    parts: dict[str, str | None],
) -> str:
    """The id of an entity given by id or by kind and key (see :class:`EntityRefInput`)."""
    if entity_id is not None:
        if kind is not None or namespace is not None or name is not None:
            raise InvalidField(field, "give either an id or a kind, namespace and name, not both")
        try:
            return parse_id(entity_id).id
        except InvalidInput as error:
            raise InvalidField(f"{field}.id", str(error)) from None
    if kind is None or namespace is None or name is None:
        raise InvalidField(field, "give an id, or a kind, namespace and name")
    wanted = KEY_PARTS[kind]
    given = {k for k, v in parts.items() if v is not None}
    extra = given - set(wanted)
    if extra:
        names = ", ".join(sorted(_PART_ARGS[k] for k in extra))
        raise InvalidField(field, f"a {kind.value} reference takes no {names}")
    missing = [p for p in wanted if parts.get(p) is None]
    if missing:
        names = ", ".join(_PART_ARGS[p] for p in missing)
        raise InvalidField(field, f"a {kind.value} reference needs {names}")
    values = [parts[p] or "" for p in wanted]
    try:
        return make_id(kind, namespace, name, *values)
    except InvalidInput as error:
        raise InvalidField(field, str(error)) from None


def _refs(items: list[EntityRefInput] | None, field: str) -> list[str]:
    return [ref.resolve(f"{field}[{i}]") for i, ref in enumerate(items or [])]


@strawberry.input(description="A field (column) of a dataset.")
class FieldInput:
    path: str = strawberry.field(description="Dotted path; nested fields look like `a.b.c`.")
    type: str | None = strawberry.field(default=None, description="The declared type.")
    description: str | None = strawberry.field(default=None, description="What it holds.")
    nullable: bool | None = strawberry.field(default=None, description="Whether it may be null.")
    ordinal: int | None = strawberry.field(default=None, description="Position, from 1.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags, e.g. pii.")

    def to_spec(self) -> mx.FieldSpec:
        """The plain spec."""
        return mx.FieldSpec(
            path=self.path,
            type=self.type,
            description=self.description,
            nullable=self.nullable,
            ordinal=self.ordinal,
            tags=self.tags,
        )


def _field_specs(items: list[FieldInput] | None) -> list[mx.FieldSpec] | None:
    return None if items is None else [f.to_spec() for f in items]


@strawberry.input(description="A dataset to create or update.")
class DatasetInput:
    namespace: str = strawberry.field(description="e.g. `postgres://db:5432` or `s3://bucket`.")
    name: str = strawberry.field(description="e.g. `public.orders`.")
    description: str | None = strawberry.field(default=None, description="What it holds.")
    platform: str | None = strawberry.field(default=None, description="e.g. postgres.")
    owners: list[str] | None = strawberry.field(default=None, description="Owners to notify.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    fields: list[FieldInput] | None = strawberry.field(
        default=None, description="Fields to create or update."
    )
    replace_fields: bool = strawberry.field(
        default=False,
        description="Treat `fields` as the complete schema: current fields not listed are "
        "marked deleted and stop being current.",
    )

    def to_spec(self) -> mx.DatasetSpec:
        """The plain spec."""
        return mx.DatasetSpec(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            platform=self.platform,
            owners=self.owners,
            tags=self.tags,
            fields=_field_specs(self.fields),
            replace_fields=self.replace_fields,
        )


@strawberry.input(description="One field of a dataset to create or update.")
class UpsertFieldInput:
    namespace: str = strawberry.field(description="The dataset's namespace.")
    name: str = strawberry.field(description="The dataset's name.")
    field: FieldInput = strawberry.field(description="The field.")


@strawberry.input(description="Column-level lineage: `source` field derives `target` field.")
class ColumnLineageInput:
    source: EntityRefInput = strawberry.field(description="The input field.")
    target: EntityRefInput = strawberry.field(description="The output field.")
    transformation: str | None = strawberry.field(
        default=None, description="DIRECT (default) or INDIRECT, as in OpenLineage."
    )
    subtype: str | None = strawberry.field(
        default=None, description="e.g. IDENTITY, TRANSFORMATION, AGGREGATION, JOIN, FILTER."
    )
    description: str | None = strawberry.field(default=None, description="How it is derived.")
    masking: bool | None = strawberry.field(
        default=None, description="Whether the transformation masks the data."
    )


@strawberry.input(description="A job with what it reads and writes.")
class JobInput:
    namespace: str = strawberry.field(description="e.g. `airflow://prod`.")
    name: str = strawberry.field(description="e.g. `dag.task`.")
    description: str | None = strawberry.field(default=None, description="What it does.")
    job_type: str | None = strawberry.field(default=None, description="e.g. BATCH, DBT_MODEL.")
    processing_type: str | None = strawberry.field(default=None, description="BATCH or STREAMING.")
    sql: str | None = strawberry.field(default=None, description="The SQL it runs.")
    code_location: str | None = strawberry.field(default=None, description="Where the code is.")
    code_version: str | None = strawberry.field(default=None, description="The code version.")
    owners: list[str] | None = strawberry.field(default=None, description="Owners to notify.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    inputs: list[EntityRefInput] | None = strawberry.field(
        default=None, description="Datasets (created if new), features or model versions read."
    )
    outputs: list[EntityRefInput] | None = strawberry.field(
        default=None, description="Datasets (created if new), features or model versions written."
    )
    column_lineage: list[ColumnLineageInput] | None = strawberry.field(
        default=None, description="Column-level lineage the job produces."
    )

    def to_spec(self) -> mx.JobSpec:
        """The plain spec."""
        edges = [
            mx.ColumnEdgeSpec(
                source=e.source.resolve(f"column_lineage[{i}].source"),
                target=e.target.resolve(f"column_lineage[{i}].target"),
                transformation=e.transformation,
                subtype=e.subtype,
                description=e.description,
                masking=e.masking,
            )
            for i, e in enumerate(self.column_lineage or [])
        ]
        return mx.JobSpec(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            job_type=self.job_type,
            processing_type=self.processing_type,
            sql=self.sql,
            code_location=self.code_location,
            code_version=self.code_version,
            owners=self.owners,
            tags=self.tags,
            inputs=_refs(self.inputs, "inputs"),
            outputs=_refs(self.outputs, "outputs"),
            column_lineage=edges,
        )


@strawberry.input(description="An ML feature and what it is computed from.")
class FeatureInput:
    namespace: str = strawberry.field(description="The feature store, e.g. `feast://shop`.")
    name: str = strawberry.field(description="`view:feature`.")
    description: str | None = strawberry.field(default=None, description="What it measures.")
    dtype: str | None = strawberry.field(default=None, description="Its data type.")
    owners: list[str] | None = strawberry.field(default=None, description="Owners to notify.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")
    computed_from: list[EntityRefInput] | None = strawberry.field(
        default=None, description="Existing fields or datasets it is computed from."
    )

    def to_spec(self) -> mx.FeatureSpec:
        """The plain spec."""
        return mx.FeatureSpec(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            dtype=self.dtype,
            owners=self.owners,
            tags=self.tags,
            computed_from=_refs(self.computed_from, "computed_from"),
        )


@strawberry.input(description="A registered model.")
class ModelInput:
    namespace: str = strawberry.field(description="The registry, e.g. `mlflow://registry`.")
    name: str = strawberry.field(description="The model's name.")
    description: str | None = strawberry.field(default=None, description="What it predicts.")
    framework: str | None = strawberry.field(default=None, description="e.g. xgboost.")
    owners: list[str] | None = strawberry.field(default=None, description="Owners to notify.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")

    def to_spec(self) -> mx.ModelSpec:
        """The plain spec."""
        return mx.ModelSpec(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            framework=self.framework,
            owners=self.owners,
            tags=self.tags,
        )


@strawberry.input(description="A deployment: an environment or endpoint serving models.")
class DeploymentInput:
    namespace: str = strawberry.field(description="e.g. `k8s://ml-serving`.")
    name: str = strawberry.field(description="e.g. `churn-production`.")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    environment: str | None = strawberry.field(default=None, description="e.g. production.")
    endpoint: str | None = strawberry.field(default=None, description="The prediction URL.")
    owners: list[str] | None = strawberry.field(default=None, description="Owners to notify.")
    tags: list[str] | None = strawberry.field(default=None, description="Tags.")

    def to_spec(self) -> mx.DeploymentSpec:
        """The plain spec."""
        return mx.DeploymentSpec(
            namespace=self.namespace,
            name=self.name,
            description=self.description,
            environment=self.environment,
            endpoint=self.endpoint,
            owners=self.owners,
            tags=self.tags,
        )


@strawberry.input(description="A check on an existing dataset or one of its fields.")
class CheckInput:
    namespace: str = strawberry.field(description="The dataset's namespace.")
    name: str = strawberry.field(description="The dataset's name.")
    check: str = strawberry.field(description="The check's name, e.g. `not_null(id)`.")
    check_type: str | None = strawberry.field(default=None, description="e.g. not_null.")
    field: str | None = strawberry.field(
        default=None, description="The checked field's path; omit for a table-level check."
    )
    severity: str | None = strawberry.field(default=None, description="e.g. ERROR or WARN.")
    description: str | None = strawberry.field(default=None, description="What it asserts.")
    system: str | None = strawberry.field(
        default=None, description="The system that runs it, e.g. dbt."
    )

    def to_spec(self) -> mx.CheckSpec:
        """The plain spec."""
        return mx.CheckSpec(
            namespace=self.namespace,
            name=self.name,
            check=self.check,
            check_type=self.check_type,
            field=self.field,
            severity=self.severity,
            description=self.description,
            source=self.system,
        )


@strawberry.input(description="A dataset version with its schema snapshot.")
class DatasetVersionInput:
    namespace: str = strawberry.field(description="The dataset's namespace.")
    name: str = strawberry.field(description="The dataset's name.")
    version: str = strawberry.field(description="The version identifier.")
    created_at: datetime | None = strawberry.field(
        default=None, description="When it was written (default: now)."
    )
    run: EntityRefInput | None = strawberry.field(
        default=None, description="The existing run that wrote it."
    )
    schema: list[FieldInput] | None = strawberry.field(
        default=None, description="The schema it was written with."
    )
    row_count: Long | None = strawberry.field(default=None, description="Rows in it.")
    byte_count: Long | None = strawberry.field(default=None, description="Bytes in it.")

    def to_spec(self) -> mx.DatasetVersionSpec:
        """The plain spec."""
        return mx.DatasetVersionSpec(
            namespace=self.namespace,
            name=self.name,
            version=self.version,
            created_at=self.created_at,
            run=None if self.run is None else self.run.resolve("run"),
            schema=_field_specs(self.schema),
            row_count=self.row_count,
            byte_count=self.byte_count,
        )


@strawberry.input(description="A run's input or output.")
class RunIOInput:
    entity: EntityRefInput = strawberry.field(
        description="A dataset (created if new), an existing feature, or a model version "
        "(an output of a COMPLETE run is created if new; an input must exist)."
    )
    version: str | None = strawberry.field(
        default=None,
        description="The dataset version read or written (inputs default to the latest "
        "version; outputs of a COMPLETE run to the run id).",
    )
    schema: list[FieldInput] | None = strawberry.field(
        default=None, description="The schema an output was written with."
    )
    row_count: Long | None = strawberry.field(default=None, description="Rows written.")

    def to_spec(self, field: str) -> mx.RunIO:
        """The plain spec."""
        return mx.RunIO(
            id=self.entity.resolve(f"{field}.entity"),
            version=self.version,
            schema=_field_specs(self.schema),
            row_count=self.row_count,
        )


@strawberry.input(description="One run of a job, with what it read and wrote.")
class RunInput:
    namespace: str = strawberry.field(description="The job's namespace.")
    name: str = strawberry.field(description="The job's name (created if new).")
    run_id: str = strawberry.field(description="The run's id, e.g. a UUID.")
    state: RunStateEnum | None = strawberry.field(
        default=None, description="START, RUNNING, COMPLETE, FAIL, ABORT or OTHER."
    )
    started_at: datetime | None = strawberry.field(default=None, description="Start time.")
    ended_at: datetime | None = strawberry.field(default=None, description="End time.")
    nominal_time: datetime | None = strawberry.field(
        default=None, description="The time it was scheduled for."
    )
    code_version: str | None = strawberry.field(
        default=None, description="The job's code version (updates the job's)."
    )
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
    parent_run: EntityRefInput | None = strawberry.field(
        default=None, description="The parent run (created if new)."
    )
    inputs: list[RunIOInput] | None = strawberry.field(default=None, description="What it read.")
    outputs: list[RunIOInput] | None = strawberry.field(default=None, description="What it wrote.")

    def to_spec(self) -> mx.RunSpec:
        """The plain spec."""
        return mx.RunSpec(
            namespace=self.namespace,
            name=self.name,
            run_id=self.run_id,
            state=self.state,
            started_at=self.started_at,
            ended_at=self.ended_at,
            nominal_time=self.nominal_time,
            code_version=self.code_version,
            error_message=self.error_message,
            parent_run=None if self.parent_run is None else self.parent_run.resolve("parent_run"),
            inputs=[x.to_spec(f"inputs[{i}]") for i, x in enumerate(self.inputs or [])],
            outputs=[x.to_spec(f"outputs[{i}]") for i, x in enumerate(self.outputs or [])],
        )


@strawberry.input(description="One outcome of a check on an existing dataset or field.")
class QualityResultInput:
    namespace: str = strawberry.field(description="The dataset's namespace.")
    name: str = strawberry.field(description="The dataset's name.")
    check: str = strawberry.field(description="The check's name (created if new).")
    passed: bool = strawberry.field(description="Whether the check passed.")
    field: str | None = strawberry.field(
        default=None, description="The checked field's path; omit for a table-level check."
    )
    check_type: str | None = strawberry.field(default=None, description="e.g. not_null.")
    severity: str | None = strawberry.field(default=None, description="e.g. ERROR or WARN.")
    description: str | None = strawberry.field(default=None, description="What it asserts.")
    system: str | None = strawberry.field(default=None, description="e.g. dbt.")
    observed_at: datetime | None = strawberry.field(
        default=None, description="When it ran (default: now)."
    )
    observed: str | None = strawberry.field(default=None, description="What it saw.")
    expected: str | None = strawberry.field(default=None, description="What it expected.")
    dataset_version: str | None = strawberry.field(
        default=None,
        description="The version it ran on (default: the dataset's latest version, if any).",
    )
    run: EntityRefInput | None = strawberry.field(
        default=None, description="The existing run that produced the result."
    )
    result_key: str | None = strawberry.field(
        default=None, description="The result's own key (default: the observation time)."
    )
    message: str | None = strawberry.field(default=None, description="A message.")

    def check_spec(self) -> mx.CheckSpec:
        """The check part, as a plain spec."""
        return mx.CheckSpec(
            namespace=self.namespace,
            name=self.name,
            check=self.check,
            check_type=self.check_type,
            field=self.field,
            severity=self.severity,
            description=self.description,
            source=self.system,
        )

    def to_spec(self, now: datetime) -> mx.QualityResultSpec:
        """The plain spec; ``now`` stands in for a missing observation time."""
        return mx.QualityResultSpec(
            check=self.check_spec(),
            passed=self.passed,
            observed_at=self.observed_at or now,
            observed=self.observed,
            expected=self.expected,
            dataset_version=self.dataset_version,
            run=None if self.run is None else self.run.resolve("run"),
            result_key=self.result_key,
            message=self.message,
        )


@strawberry.input(description="A named metric value.")
class MetricInput:
    name: str = strawberry.field(description="e.g. auc.")
    value: float = strawberry.field(description="Its value.")


@strawberry.input(description="A model version to register.")
class ModelVersionInput:
    namespace: str = strawberry.field(description="The model's namespace.")
    name: str = strawberry.field(description="The model's name (created if new).")
    version: str = strawberry.field(description="The version identifier.")
    created_at: datetime | None = strawberry.field(
        default=None, description="When it was created (default: now)."
    )
    metrics: list[MetricInput] | None = strawberry.field(
        default=None, description="Evaluation metrics."
    )
    stage: str | None = strawberry.field(default=None, description="e.g. Production.")
    description: str | None = strawberry.field(default=None, description="What changed.")
    training_run: EntityRefInput | None = strawberry.field(
        default=None, description="The existing run that trained it."
    )
    trained_on: list[EntityRefInput] | None = strawberry.field(
        default=None, description="Existing features, datasets or fields it was trained on."
    )

    def to_spec(self) -> mx.ModelVersionSpec:
        """The plain spec."""
        metrics: dict[str, float] = {}
        for index, metric in enumerate(self.metrics or []):
            if metric.name in metrics:
                raise InvalidField(f"metrics[{index}]", f"metric {metric.name!r} is given twice")
            metrics[metric.name] = metric.value
        return mx.ModelVersionSpec(
            namespace=self.namespace,
            name=self.name,
            version=self.version,
            created_at=self.created_at,
            metrics=metrics,
            stage=self.stage,
            description=self.description,
            training_run=None
            if self.training_run is None
            else self.training_run.resolve("training_run"),
            trained_on=_refs(self.trained_on, "trained_on"),
        )


@strawberry.input(description="Serve a model version from a deployment.")
class DeployInput:
    model_version: EntityRefInput = strawberry.field(description="The model version to serve.")
    namespace: str = strawberry.field(description="The deployment's namespace.")
    name: str = strawberry.field(description="The deployment's name (created if new).")
    since: datetime | None = strawberry.field(
        default=None,
        name="from",
        description="When it starts serving (default: now); what served before ends then.",
    )
    traffic: float | None = strawberry.field(
        default=None, description="Share of traffic in percent (default 100)."
    )
    environment: str | None = strawberry.field(default=None, description="e.g. production.")

    def to_spec(self) -> mx.DeploySpec:
        """The plain spec."""
        return mx.DeploySpec(
            model_version=self.model_version.resolve("model_version"),
            namespace=self.namespace,
            name=self.name,
            since=self.since,
            traffic=self.traffic,
            environment=self.environment,
        )
