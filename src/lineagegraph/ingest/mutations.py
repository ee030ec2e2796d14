"""GraphQL mutation inputs → ChangeSet: pure translators, no store access, no I/O.

Each function takes a plain spec (the API converts its GraphQL inputs to these),
the time the change is reported at, and whatever store facts it needs passed in
by the caller (the current fields of a dataset, the latest version of an input,
the servings a deployment has now), and returns the :class:`ChangeSet` to apply.

Referenced datasets, fields and jobs are created as bare nodes when they do not
exist yet (upserting a bare node never erases stored attributes), the way an
OpenLineage event creates what it mentions. Other references (features, model
versions, runs, dataset versions) must exist; the API checks that first and
answers with a typed ``NotFoundError``.

Invalid input raises :class:`InvalidField`, naming the offending input field
(snake_case path such as ``fields[2].path``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lineagegraph.errors import InvalidField, InvalidInput
from lineagegraph.ids import Kind, make_id, parse_id
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    Deployment,
    Edge,
    EdgeEnding,
    EdgeKind,
    Feature,
    Field,
    Job,
    JobSnapshot,
    Key,
    Model,
    ModelVersion,
    Node,
    Origin,
    Result,
    Run,
    RunState,
    as_utc,
    format_time,
)

__all__ = [
    "CheckSpec",
    "ColumnEdgeSpec",
    "DatasetSpec",
    "DatasetVersionSpec",
    "DeploySpec",
    "DeploymentSpec",
    "FeatureSpec",
    "FieldSpec",
    "InvalidField",
    "JobSpec",
    "ModelSpec",
    "ModelVersionSpec",
    "QualityResultSpec",
    "RunIO",
    "RunSpec",
    "delete_entities",
    "deploy",
    "record_quality_result",
    "record_run",
    "register_model_version",
    "upsert_check",
    "upsert_dataset",
    "upsert_dataset_version",
    "upsert_deployment",
    "upsert_feature",
    "upsert_field",
    "upsert_job",
    "upsert_model",
]


def _require(value: str | None, field_name: str, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidField(field_name, f"{what} must not be empty")
    return value


def require_key_parts(**parts: str) -> None:
    """Refuse an empty part of a key, naming its field (``make_id`` would name none)."""
    for field_name, value in parts.items():
        _require(value, field_name, field_name)


def _field_path(value: str | None, field_name: str) -> str:
    """A field path to define: not empty, and no empty part between its dots."""
    path = _require(value, field_name, "a field path")
    if any(not part.strip() for part in path.split(".")):
        raise InvalidField(
            field_name, f"field path {path!r} has an empty part: write nested fields as a.b"
        )
    return path


def _id(kind: Kind, namespace: str, name: str, *parts: str, field_name: str) -> str:
    try:
        return make_id(kind, namespace, name, *parts)
    except InvalidInput as error:
        raise InvalidField(field_name, str(error)) from None


def _kind_of(entity_id: str, field_name: str, allowed: Iterable[Kind]) -> Key:
    try:
        key = parse_id(entity_id)
    except InvalidInput as error:
        raise InvalidField(field_name, str(error)) from None
    allowed = frozenset(allowed)
    if key.kind not in allowed:
        names = ", ".join(sorted(k.value for k in allowed))
        raise InvalidField(
            field_name, f"{entity_id!r} is a {key.kind.value}; expected one of {names}"
        )
    return key


def _bare(key: Key) -> Node:
    return Node.from_key(key)


def _bare_dataset(cs: ChangeSet, dataset_id: str) -> None:
    cs.add(_bare(parse_id(dataset_id)))


def _bare_field(cs: ChangeSet, field_id: str, at: datetime) -> None:
    """A field and its dataset, with the containment edge from its parent."""
    key = parse_id(field_id)
    dataset_id = make_id(Kind.DATASET, key.namespace, key.name)
    cs.add(_bare(parse_id(dataset_id)), _bare(key))
    cs.link(_parent_of(key.namespace, key.name, key.parts[0]), EdgeKind.HAS_FIELD, field_id, at)


def _parent_of(namespace: str, name: str, path: str, known: Iterable[str] = ()) -> str:
    """The container of a field: its parent field when that is part of ``known``, else the
    dataset (so ``a.b`` hangs under ``a`` when ``a`` is being written too)."""
    parent_path, dot, _ = path.rpartition(".")
    if dot and parent_path in set(known):
        return make_id(Kind.FIELD, namespace, name, parent_path)
    return make_id(Kind.DATASET, namespace, name)


def _clean_list(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    return sorted({v.strip() for v in values if v.strip()})


def _check_time_order(start: datetime | None, end: datetime | None, field_name: str) -> None:
    if start is not None and end is not None and as_utc(end) < as_utc(start):
        raise InvalidField(field_name, "an end time must not be before its start time")


# --- catalog ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """A field as a mutation describes it."""

    path: str
    type: str | None = None
    description: str | None = None
    nullable: bool | None = None
    ordinal: int | None = None
    tags: Sequence[str] | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to upsert; ``fields`` given and ``replace_fields`` set makes it the full schema."""

    namespace: str
    name: str
    description: str | None = None
    platform: str | None = None
    owners: Sequence[str] | None = None
    tags: Sequence[str] | None = None
    fields: Sequence[FieldSpec] | None = None
    replace_fields: bool = False


def _field_entity(namespace: str, name: str, spec: FieldSpec, prefix: str) -> Field:
    _field_path(spec.path, f"{prefix}.path")
    if spec.ordinal is not None and spec.ordinal < 0:
        raise InvalidField(f"{prefix}.ordinal", "ordinal must not be negative")
    return Field(
        namespace=namespace,
        name=name,
        path=spec.path,
        type=spec.type,
        description=spec.description,
        nullable=spec.nullable,
        ordinal=spec.ordinal,
        tags=_clean_list(spec.tags),
        deleted=False,
    )


def upsert_dataset(
    spec: DatasetSpec, at: datetime, current_fields: Sequence[str] = ()
) -> ChangeSet:
    """Upsert a dataset and the fields given.

    With ``replace_fields``, ``current_fields`` (paths the dataset has now) that
    the spec does not list stop being current and are marked deleted.
    """
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    _id(Kind.DATASET, spec.namespace, spec.name, field_name="name")
    cs = ChangeSet(origin=Origin.API)
    cs.add(
        Dataset(
            namespace=spec.namespace,
            name=spec.name,
            description=spec.description,
            platform=spec.platform,
            owners=_clean_list(spec.owners),
            tags=_clean_list(spec.tags),
            deleted=False,
        )
    )
    fields = list(spec.fields or [])
    paths = [f.path for f in fields]
    if len(set(paths)) != len(paths):
        duplicate = next(p for p in paths if paths.count(p) > 1)
        raise InvalidField("fields", f"field {duplicate!r} is listed twice")
    for index, field_spec in enumerate(fields):
        entity = _field_entity(spec.namespace, spec.name, field_spec, f"fields[{index}]")
        cs.add(entity)
        parent = _parent_of(spec.namespace, spec.name, field_spec.path, paths)
        cs.link(parent, EdgeKind.HAS_FIELD, entity.id, at)
    if spec.replace_fields and spec.fields is not None:
        stamp = format_time(at)
        for path in sorted(set(current_fields) - set(paths)):
            field_id = make_id(Kind.FIELD, spec.namespace, spec.name, path)
            cs.add(Field(namespace=spec.namespace, name=spec.name, path=path, deleted=True))
            parent = _parent_of(spec.namespace, spec.name, path, current_fields)
            cs.endings.append(
                EdgeEnding(source_id=parent, kind=EdgeKind.HAS_FIELD, target_id=field_id, at=stamp)
            )
    return cs


def upsert_field(
    namespace: str, name: str, spec: FieldSpec, at: datetime, parent_exists: bool = False
) -> ChangeSet:
    """Upsert one field of a dataset (the dataset is created bare if new).

    A dotted path ``a.b`` hangs under the field ``a`` when ``parent_exists``
    (the caller looked it up); otherwise the field hangs under the dataset.
    """
    _require(namespace, "namespace", "namespace")
    _require(name, "name", "name")
    entity = _field_entity(namespace, name, spec, "field")
    parent = make_id(Kind.DATASET, namespace, name)
    if parent_exists and "." in spec.path:
        parent = make_id(Kind.FIELD, namespace, name, spec.path.rpartition(".")[0])
    cs = ChangeSet(origin=Origin.API)
    cs.add(_bare(Key(Kind.DATASET, namespace, name)), entity)
    cs.link(parent, EdgeKind.HAS_FIELD, entity.id, at)
    return cs


@dataclass(frozen=True)
class ColumnEdgeSpec:
    """A column-level lineage edge: ``source`` field derives ``target`` field."""

    source: str
    target: str
    transformation: str | None = None
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


@dataclass(frozen=True)
class JobSpec:
    """A job to upsert, with the datasets it reads and writes and its column lineage."""

    namespace: str
    name: str
    description: str | None = None
    job_type: str | None = None
    processing_type: str | None = None
    sql: str | None = None
    code_location: str | None = None
    code_version: str | None = None
    owners: Sequence[str] | None = None
    tags: Sequence[str] | None = None
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ()
    column_lineage: Sequence[ColumnEdgeSpec] = ()


_FLOW_IN = (Kind.DATASET, Kind.FEATURE, Kind.MODEL_VERSION)


def upsert_job(spec: JobSpec, at: datetime) -> ChangeSet:
    """Upsert a job with READS/WRITES edges and DERIVES column edges seen at ``at``.

    Datasets and fields referenced are created bare when new; features and
    model versions must exist (the store rejects the change otherwise).
    """
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    job = Job(
        namespace=spec.namespace,
        name=spec.name,
        description=spec.description,
        job_type=spec.job_type,
        processing_type=spec.processing_type,
        sql=spec.sql,
        code_location=spec.code_location,
        code_version=spec.code_version,
        owners=_clean_list(spec.owners),
        tags=_clean_list(spec.tags),
    )
    cs = ChangeSet(origin=Origin.API)
    cs.add(job)
    for index, ref in enumerate(spec.inputs):
        key = _kind_of(ref, f"inputs[{index}]", _FLOW_IN)
        if key.kind is Kind.DATASET:
            cs.add(_bare(key))
        cs.link(ref, EdgeKind.READS, job.id, at)
    for index, ref in enumerate(spec.outputs):
        key = _kind_of(ref, f"outputs[{index}]", _FLOW_IN)
        if key.kind is Kind.DATASET:
            cs.add(_bare(key))
        cs.link(job.id, EdgeKind.WRITES, ref, at)
    for index, edge in enumerate(spec.column_lineage):
        prefix = f"column_lineage[{index}]"
        _kind_of(edge.source, f"{prefix}.source", (Kind.FIELD,))
        _kind_of(edge.target, f"{prefix}.target", (Kind.FIELD,))
        _bare_field(cs, edge.source, at)
        _bare_field(cs, edge.target, at)
        attrs: dict[str, Any] = {
            "job": job.id,
            "transformation": (edge.transformation or "DIRECT").upper(),
            "subtype": edge.subtype.upper() if edge.subtype else None,
            "description": edge.description,
            "masking": edge.masking,
        }
        cs.link(edge.source, EdgeKind.DERIVES, edge.target, at, attrs)
    return cs


@dataclass(frozen=True)
class FeatureSpec:
    """A feature and the fields or datasets it is computed from."""

    namespace: str
    name: str
    description: str | None = None
    dtype: str | None = None
    owners: Sequence[str] | None = None
    tags: Sequence[str] | None = None
    computed_from: Sequence[str] = ()


def upsert_feature(spec: FeatureSpec, at: datetime) -> ChangeSet:
    """Upsert a feature with COMPUTED_FROM edges from existing fields or datasets."""
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    feature = Feature(
        namespace=spec.namespace,
        name=spec.name,
        description=spec.description,
        dtype=spec.dtype,
        owners=_clean_list(spec.owners),
        tags=_clean_list(spec.tags),
    )
    cs = ChangeSet(origin=Origin.API)
    cs.add(feature)
    for index, ref in enumerate(spec.computed_from):
        _kind_of(ref, f"computed_from[{index}]", (Kind.FIELD, Kind.DATASET))
        cs.link(ref, EdgeKind.COMPUTED_FROM, feature.id, at)
    return cs


@dataclass(frozen=True)
class ModelSpec:
    """A registered model."""

    namespace: str
    name: str
    description: str | None = None
    framework: str | None = None
    owners: Sequence[str] | None = None
    tags: Sequence[str] | None = None


def upsert_model(spec: ModelSpec) -> ChangeSet:
    """Upsert a model."""
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    return ChangeSet(origin=Origin.API).add(
        Model(
            namespace=spec.namespace,
            name=spec.name,
            description=spec.description,
            framework=spec.framework,
            owners=_clean_list(spec.owners),
            tags=_clean_list(spec.tags),
        )
    )


@dataclass(frozen=True)
class DeploymentSpec:
    """A deployment: an environment or endpoint serving model versions."""

    namespace: str
    name: str
    description: str | None = None
    environment: str | None = None
    endpoint: str | None = None
    owners: Sequence[str] | None = None
    tags: Sequence[str] | None = None


def upsert_deployment(spec: DeploymentSpec) -> ChangeSet:
    """Upsert a deployment."""
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    return ChangeSet(origin=Origin.API).add(
        Deployment(
            namespace=spec.namespace,
            name=spec.name,
            description=spec.description,
            environment=spec.environment,
            endpoint=spec.endpoint,
            owners=_clean_list(spec.owners),
            tags=_clean_list(spec.tags),
        )
    )


@dataclass(frozen=True)
class CheckSpec:
    """A check on an existing dataset (or one of its fields)."""

    namespace: str
    name: str
    check: str
    check_type: str | None = None
    field: str | None = None
    severity: str | None = None
    description: str | None = None
    source: str | None = None


def _check_entity(spec: CheckSpec) -> Check:
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    _require(spec.check, "check", "a check name")
    if spec.field is not None:
        _require(spec.field, "field", "a field path")
    return Check(
        namespace=spec.namespace,
        name=spec.name,
        check=spec.check,
        check_type=spec.check_type,
        field=spec.field,
        severity=spec.severity.upper() if spec.severity else None,
        description=spec.description,
        source=spec.source,
    )


def upsert_check(spec: CheckSpec, at: datetime) -> ChangeSet:
    """Upsert a check attached to its dataset or field (which must exist)."""
    check = _check_entity(spec)
    cs = ChangeSet(origin=Origin.API)
    cs.add(check)
    cs.link(check.target_id, EdgeKind.HAS_CHECK, check.id, at)
    return cs


# --- runtime ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetVersionSpec:
    """A dataset version, e.g. as a run wrote it, with its schema snapshot."""

    namespace: str
    name: str
    version: str
    created_at: datetime | None = None
    run: str | None = None
    schema: Sequence[FieldSpec] | None = None
    row_count: int | None = None
    byte_count: int | None = None


def _schema_snapshot(
    fields: Sequence[FieldSpec] | None, prefix: str
) -> list[dict[str, Any]] | None:
    if fields is None:
        return None
    snapshot: list[dict[str, Any]] = []
    for index, spec in enumerate(fields):
        _field_path(spec.path, f"{prefix}[{index}].path")
        entry = {
            "path": spec.path,
            "type": spec.type,
            "nullable": spec.nullable,
            "description": spec.description,
            "ordinal": spec.ordinal,
        }
        snapshot.append({k: v for k, v in entry.items() if v is not None})
    return snapshot


def upsert_dataset_version(spec: DatasetVersionSpec, at: datetime) -> ChangeSet:
    """Upsert a dataset version (the dataset is created bare if new), written by ``run``."""
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    _require(spec.version, "version", "a version")
    for value, name in ((spec.row_count, "row_count"), (spec.byte_count, "byte_count")):
        if value is not None and value < 0:
            raise InvalidField(name, f"{name} must not be negative")
    if spec.run is not None:
        _kind_of(spec.run, "run", (Kind.RUN,))
    created = spec.created_at or at
    version = DatasetVersion(
        namespace=spec.namespace,
        name=spec.name,
        version=spec.version,
        created_at=created,
        run=spec.run,
        schema_fields=_schema_snapshot(spec.schema, "schema"),
        row_count=spec.row_count,
        byte_count=spec.byte_count,
    )
    cs = ChangeSet(origin=Origin.API)
    cs.add(_bare(Key(Kind.DATASET, spec.namespace, spec.name)), version)
    cs.link(
        make_id(Kind.DATASET, spec.namespace, spec.name), EdgeKind.HAS_VERSION, version.id, created
    )
    if spec.run is not None:
        cs.link(spec.run, EdgeKind.WROTE, version.id, created)
    return cs


@dataclass(frozen=True)
class RunIO:
    """A run's input or output: a dataset (optionally at a version) or a model version."""

    id: str
    version: str | None = None
    schema: Sequence[FieldSpec] | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class RunSpec:
    """One run of a job, with what it read and wrote."""

    namespace: str
    name: str
    run_id: str
    state: RunState | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    nominal_time: datetime | None = None
    code_version: str | None = None
    error_message: str | None = None
    parent_run: str | None = None
    inputs: Sequence[RunIO] = ()
    outputs: Sequence[RunIO] = ()


_TERMINAL = frozenset({RunState.COMPLETE, RunState.FAIL, RunState.ABORT})


def record_run(
    spec: RunSpec,
    at: datetime,
    current_versions: Mapping[str, str] | None = None,
    new_model_versions: Collection[str] = (),
) -> ChangeSet:
    """Record a run: the run and its job, READS/WRITES edges, and the versions it read and wrote.

    An input without a version reads ``current_versions[dataset_id]`` (the
    latest version when the run started, looked up by the caller) if there is
    one. A COMPLETE run writes a new version of each output dataset (named by
    ``version`` or else by the run id) and reports the job's full inputs and
    outputs, so edges its job no longer reports stop being current.

    An output model version among ``new_model_versions`` (those the caller found
    missing) is created by a COMPLETE run, as a training run's output is: created
    when the run ended, with the run as its training run (its model is created bare
    if new). A run in another state has produced nothing yet, so naming a model
    version that does not exist is refused.
    """
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    _require(spec.run_id, "run_id", "a run id")
    _check_time_order(spec.started_at, spec.ended_at, "ended_at")
    for side, items in (("inputs", spec.inputs), ("outputs", spec.outputs)):
        for index, item in enumerate(items):
            if item.row_count is not None and item.row_count < 0:
                name = f"{side}[{index}].row_count"
                raise InvalidField(name, "row_count must not be negative")
    current_versions = current_versions or {}
    job_id = _id(Kind.JOB, spec.namespace, spec.name, field_name="name")
    run = Run(
        namespace=spec.namespace,
        name=spec.name,
        run_id=spec.run_id,
        state=spec.state,
        started_at=spec.started_at,
        ended_at=spec.ended_at,
        nominal_time=spec.nominal_time,
        error_message=spec.error_message,
        parent_run=spec.parent_run,
        code_version=spec.code_version,
    )
    start = spec.started_at or at
    end = spec.ended_at or at
    cs = ChangeSet(origin=Origin.API)
    # Like an OpenLineage run, it lists what it read: the service links a feature read to
    # the versions of the data the feature is computed from (it was linked to nothing, so
    # a model trained on a feature view of bad data stayed OK).
    listed = [item.id for item in spec.inputs if item.id.startswith(("dataset|", "feature|"))]
    node = run.to_node()
    if listed:
        node = node.model_copy(update={"attrs": {**node.attrs, "inputs": listed}})
    cs.add(Job(namespace=spec.namespace, name=spec.name, code_version=spec.code_version), node)
    cs.link(job_id, EdgeKind.HAS_RUN, run.id, start)
    if spec.parent_run is not None:
        parent = _kind_of(spec.parent_run, "parent_run", (Kind.RUN,))
        if parent.id == run.id:
            raise InvalidField("parent_run", "a run cannot be its own parent")
        cs.add(_bare(Key(Kind.JOB, parent.namespace, parent.name)), _bare(parent))
        cs.link(
            make_id(Kind.JOB, parent.namespace, parent.name), EdgeKind.HAS_RUN, parent.id, start
        )
        cs.link(parent.id, EdgeKind.PARENT_OF, run.id, start)
    input_ids: list[str] = []
    for index, item in enumerate(spec.inputs):
        key = _kind_of(item.id, f"inputs[{index}].entity", _FLOW_IN)
        input_ids.append(item.id)
        if key.kind is Kind.DATASET:
            cs.add(_bare(key))
        cs.link(item.id, EdgeKind.READS, job_id, start)
        if key.kind is Kind.MODEL_VERSION:
            cs.link(item.id, EdgeKind.READ_BY, run.id, start)
        elif key.kind is Kind.DATASET:
            version_id = _input_version(cs, key, item, current_versions, start, index)
            if version_id is not None and item.version is None:
                # The latest version at the start, worked out rather than reported: a
                # version that arrives late takes it over (LineageService.resolve_reads).
                origin = Origin.INFERRED
                cs.edges.append(Edge.seen(version_id, EdgeKind.READ_BY, run.id, start, origin))
            elif version_id is not None:
                cs.link(version_id, EdgeKind.READ_BY, run.id, start)
    output_ids: list[str] = []
    for index, item in enumerate(spec.outputs):
        key = _kind_of(item.id, f"outputs[{index}].entity", _FLOW_IN)
        output_ids.append(item.id)
        if key.kind is Kind.DATASET:
            cs.add(_bare(key))
        if key.kind is Kind.MODEL_VERSION and item.id in new_model_versions:
            _new_model_version(cs, key, spec, run.id, end, f"outputs[{index}].entity")
        cs.link(job_id, EdgeKind.WRITES, item.id, end)
        if key.kind is Kind.MODEL_VERSION and spec.state is RunState.COMPLETE:
            cs.link(run.id, EdgeKind.WROTE, item.id, end)
        elif key.kind is Kind.DATASET and spec.state is RunState.COMPLETE:
            version = DatasetVersion(
                namespace=key.namespace,
                name=key.name,
                version=item.version or spec.run_id,
                created_at=end,
                run=run.id,
                schema_fields=_schema_snapshot(item.schema, f"outputs[{index}].schema"),
                row_count=item.row_count,
            )
            cs.add(version)
            cs.link(key.id, EdgeKind.HAS_VERSION, version.id, end)
            cs.link(run.id, EdgeKind.WROTE, version.id, end)
    if spec.state is RunState.COMPLETE:
        cs.snapshots.append(
            JobSnapshot(
                job_id=job_id,
                at=format_time(end),
                inputs=tuple(sorted(set(input_ids))),
                outputs=tuple(sorted(set(output_ids))),
            )
        )
    return cs


def _new_model_version(
    cs: ChangeSet, key: Key, spec: RunSpec, run_id: str, end: datetime, field_name: str
) -> None:
    """The model version a COMPLETE training run outputs, created by that run."""
    if spec.state is not RunState.COMPLETE:
        state = spec.state.value if spec.state is not None else "without a state"
        raise InvalidField(
            field_name,
            f"{key.id} does not exist and a run {state} has not produced it: a COMPLETE run "
            "creates the model versions it outputs (name it when the run completes), or "
            "register it first with registerModelVersion",
        )
    model = Key(Kind.MODEL, key.namespace, key.name)
    version = ModelVersion(
        namespace=key.namespace,
        name=key.name,
        version=key.parts[0],
        created_at=end,
        training_run=run_id,
    )
    cs.add(_bare(model), version)
    cs.link(model.id, EdgeKind.HAS_VERSION, version.id, end)


def _input_version(
    cs: ChangeSet,
    dataset: Key,
    item: RunIO,
    current_versions: Mapping[str, str],
    start: datetime,
    index: int,
) -> str | None:
    if item.version is None:
        return current_versions.get(dataset.id)
    _require(item.version, f"inputs[{index}].version", "a version")
    version = Key(Kind.DATASET_VERSION, dataset.namespace, dataset.name, (item.version,))
    cs.add(_bare(version))
    cs.link(dataset.id, EdgeKind.HAS_VERSION, version.id, start)
    return version.id


# --- quality ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityResultSpec:
    """One outcome of a check on an existing dataset or field."""

    check: CheckSpec
    passed: bool
    observed_at: datetime
    observed: str | None = None
    expected: str | None = None
    dataset_version: str | None = None
    run: str | None = None
    result_key: str | None = None
    message: str | None = None


def record_quality_result(spec: QualityResultSpec, latest_version: str | None = None) -> ChangeSet:
    """Record a check (upserted) and one result of it, evaluated on a dataset version.

    The version is ``spec.dataset_version`` (a version name of the checked
    dataset) or else ``latest_version`` (an id, looked up by the caller).
    The result's key is ``result_key``, or else the observation time.
    """
    check = _check_entity(spec.check)
    if spec.run is not None:
        _kind_of(spec.run, "run", (Kind.RUN,))
    key = spec.result_key or format_time(spec.observed_at)
    _require(key, "result_key", "a result key")
    result = Result(
        namespace=check.namespace,
        name=check.name,
        check=check.check,
        result=key,
        passed=spec.passed,
        observed_at=spec.observed_at,
        observed=spec.observed,
        expected=spec.expected,
        run=spec.run,
        source=spec.check.source or "api",
        message=spec.message,
    )
    version_id = latest_version
    if spec.dataset_version is not None:
        _require(spec.dataset_version, "dataset_version", "a version")
        version_id = make_id(
            Kind.DATASET_VERSION, check.namespace, check.name, spec.dataset_version
        )
    if version_id is not None:
        result = result.model_copy(update={"dataset_version": version_id})
    cs = ChangeSet(origin=Origin.API)
    cs.add(check, result)
    cs.link(check.target_id, EdgeKind.HAS_CHECK, check.id, spec.observed_at)
    cs.link(check.id, EdgeKind.HAS_RESULT, result.id, spec.observed_at)
    if version_id is not None:
        cs.link(result.id, EdgeKind.EVALUATED, version_id, spec.observed_at)
    return cs


# --- ML ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelVersionSpec:
    """A model version to register, with its training run and what it was trained on."""

    namespace: str
    name: str
    version: str
    created_at: datetime | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    stage: str | None = None
    description: str | None = None
    training_run: str | None = None
    trained_on: Sequence[str] = ()


def register_model_version(spec: ModelVersionSpec, at: datetime) -> ChangeSet:
    """Register a model version (the model is created bare if new).

    TRAINED_ON edges come from the features, datasets or fields given; with a
    training run, the run WROTE the version and the run's job WRITES it.
    """
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    _require(spec.version, "version", "a version")
    for metric, value in spec.metrics.items():
        _require(metric, "metrics", "a metric name")
        if not math.isfinite(value):
            raise InvalidField("metrics", f"metric {metric!r} must be a finite number")
    created = spec.created_at or at
    version = ModelVersion(
        namespace=spec.namespace,
        name=spec.name,
        version=spec.version,
        created_at=created,
        metrics=dict(sorted(spec.metrics.items())) or None,
        training_run=spec.training_run,
        stage=spec.stage,
        description=spec.description,
    )
    model_id = make_id(Kind.MODEL, spec.namespace, spec.name)
    cs = ChangeSet(origin=Origin.API)
    cs.add(_bare(Key(Kind.MODEL, spec.namespace, spec.name)), version)
    cs.link(model_id, EdgeKind.HAS_VERSION, version.id, created)
    for index, ref in enumerate(spec.trained_on):
        _kind_of(ref, f"trained_on[{index}]", (Kind.FEATURE, Kind.DATASET, Kind.FIELD))
        cs.link(ref, EdgeKind.TRAINED_ON, version.id, created)
    if spec.training_run is not None:
        run = _kind_of(spec.training_run, "training_run", (Kind.RUN,))
        cs.link(run.id, EdgeKind.WROTE, version.id, created)
        cs.link(make_id(Kind.JOB, run.namespace, run.name), EdgeKind.WRITES, version.id, created)
    return cs


@dataclass(frozen=True)
class DeploySpec:
    """Serve a model version from a deployment from ``since`` on."""

    model_version: str
    namespace: str
    name: str
    since: datetime | None = None
    traffic: float | None = None
    environment: str | None = None


# How far ahead of the server's clock a deployment's start may be (clocks differ a little).
DEPLOY_CLOCK_SKEW = timedelta(minutes=5)


def deploy(
    spec: DeploySpec,
    at: datetime,
    servings: Sequence[Edge] = (),
    created: datetime | None = None,
) -> ChangeSet:
    """Serve a model version from a deployment, ending whatever it served until then.

    ``servings`` are the deployment's SERVES edges, ended ones too. Each current one
    from another model version ends at ``since``, and its last interval gets that end
    time. Deploying the version that already serves changes nothing but the traffic;
    deploying one that served before (a rollback) adds an interval to its serving. A
    start in the future (past the clock skew allowed) is refused: a deployment serves
    what it serves now, so deploy when it starts. So is a start before the model version
    was ``created``.
    """
    _kind_of(spec.model_version, "model_version", (Kind.MODEL_VERSION,))
    _require(spec.namespace, "namespace", "namespace")
    _require(spec.name, "name", "name")
    if spec.traffic is not None and not 0 <= spec.traffic <= 100:
        raise InvalidField("traffic", "traffic is a percentage between 0 and 100")
    since = as_utc(spec.since or at)
    if since > as_utc(at) + DEPLOY_CLOCK_SKEW:
        raise InvalidField(
            "from", f"{since.isoformat()} is in the future: deploy when the serving starts"
        )
    if created is not None and since < as_utc(created):
        raise InvalidField(
            "from",
            f"{since.isoformat()} is before {spec.model_version} was created "
            f"({as_utc(created).isoformat()}): it cannot have served then",
        )
    stamp = format_time(since)
    deployment_id = _id(Kind.DEPLOYMENT, spec.namespace, spec.name, field_name="name")
    cs = ChangeSet(origin=Origin.API)
    cs.add(Deployment(namespace=spec.namespace, name=spec.name, environment=spec.environment))
    mine = [e for e in servings if e.target_id == deployment_id]
    current = [e for e in mine if e.current]
    already = next((e for e in current if e.source_id == spec.model_version), None)
    for edge in current:
        if edge.source_id == spec.model_version:
            continue
        if edge.last_seen > stamp:  # since its latest deploy (a rollback's, say)
            raise InvalidField(
                "from",
                f"{edge.source_id} has served since {edge.last_seen}, after the requested start",
            )
        intervals = _intervals(edge)
        for interval in intervals:
            if interval.get("until") is None:
                interval["until"] = since.isoformat()
        cs.edges.append(edge.model_copy(update={"attrs": {**edge.attrs, "intervals": intervals}}))
        cs.endings.append(
            EdgeEnding(
                source_id=edge.source_id, kind=EdgeKind.SERVES, target_id=deployment_id, at=stamp
            )
        )
    if already is not None:
        if spec.since is not None and stamp < already.last_seen:
            raise InvalidField(
                "from",
                f"{spec.model_version} serves since {already.last_seen} already; a serving "
                "cannot be moved back",
            )
        attrs: dict[str, Any] = dict(already.attrs)
        if spec.traffic is not None:
            attrs["traffic"] = spec.traffic
        cs.edges.append(already.model_copy(update={"attrs": attrs}))
        return cs
    traffic = 100.0 if spec.traffic is None else spec.traffic
    before = next((e for e in mine if e.source_id == spec.model_version), None)
    if before is None:
        attrs = {"intervals": [{"from": since.isoformat(), "until": None}], "traffic": traffic}
        cs.link(spec.model_version, EdgeKind.SERVES, deployment_id, since, attrs)
        return cs
    # A rollback: the version served before, until its serving ended.
    assert before.ended_at is not None
    if before.ended_at > stamp:
        raise InvalidField(
            "from",
            f"{spec.model_version} served {deployment_id} until {before.ended_at}, after the "
            "requested start",
        )
    intervals = [*_intervals(before), {"from": since.isoformat(), "until": None}]
    cs.link(
        spec.model_version,
        EdgeKind.SERVES,
        deployment_id,
        since,
        {**before.attrs, "intervals": intervals, "traffic": traffic},
    )
    return cs


def _intervals(edge: Edge) -> list[dict[str, Any]]:
    """A SERVES edge's intervals, as copies."""
    return [dict(i) for i in edge.attrs.get("intervals") or [] if isinstance(i, dict)]


# --- deletes ----------------------------------------------------------------------------------


def delete_entities(ids: Sequence[str]) -> ChangeSet:
    """Delete entities and, with them, their edges and stored health."""
    for index, entity_id in enumerate(ids):
        try:
            parse_id(entity_id)
        except InvalidInput as error:
            raise InvalidField(f"ids[{index}]", str(error)) from None
    return ChangeSet(origin=Origin.API, deletes=sorted(set(ids)))
