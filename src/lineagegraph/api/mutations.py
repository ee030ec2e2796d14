"""The root ``Mutation`` type: upserts for every kind, runs, quality results, model versions,
deployments, OpenLineage events and deletes.

Every mutation needs the ``write`` scope. Expected failures come back as typed
errors in the result union (``NotFoundError``, ``InvalidInputError``), never as
exceptions, and change nothing. The translation from input to ChangeSet is pure
(:mod:`lineagegraph.ingest.mutations`); the few store facts it needs (current
fields, latest versions, current servings) are read here under one lock with
the apply, so read-then-write mutations such as ``deploy`` cannot interleave.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from lineagegraph.api.auth import Scope
from lineagegraph.api.inputs import (
    CheckInput,
    DatasetInput,
    DatasetVersionInput,
    DeployInput,
    DeploymentInput,
    FeatureInput,
    JobInput,
    ModelInput,
    ModelVersionInput,
    QualityResultInput,
    RunInput,
    UpsertFieldInput,
)
from lineagegraph.api.types import (
    Info,
    InvalidInputError,
    Node,
    NotFoundError,
    arg,
    from_domain,
    mutation,
)
from lineagegraph.errors import Forbidden, InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id, parse_id
from lineagegraph.ingest import mutations as mx
from lineagegraph.ingest.mutations import InvalidField, require_key_parts
from lineagegraph.model import (
    ChangeSet,
    Direction,
    EdgeKind,
    format_time,
    parse_time,
    utcnow,
)
from lineagegraph.model import (
    Node as DomainNode,
)
from lineagegraph.service import LineageService

# --- permission -------------------------------------------------------------------------------


class CanWrite(BasePermission):
    """Mutations and ingestion need the ``write`` scope."""

    message = "this operation needs a token with the 'write' scope"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        """Whether the caller's principal may write."""
        return info.context.principal.can(Scope.WRITE)

    def on_unauthorized(self) -> None:
        """Raise :class:`Forbidden`, which the HTTP layer answers with 403."""
        raise Forbidden(self.message)


def _writes() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[CanWrite()], use_directives=False)]


# --- payloads ---------------------------------------------------------------------------------


@strawberry.type(description="A successful write: the main entity it created or updated.")
class EntityPayload:
    node: Node = strawberry.field(description="The entity as stored now.")


@strawberry.type(description="A successful delete.")
class DeletePayload:
    deleted_ids: list[strawberry.ID] = strawberry.field(
        description="Every id deleted: the entity and what it contained (fields, versions, "
        "runs, checks and their results)."
    )


@strawberry.type(description="An OpenLineage event that was ingested.")
class IngestPayload:
    nodes: int = strawberry.field(description="Nodes written.")
    edges: int = strawberry.field(description="Edges written.")
    ids: list[strawberry.ID] = strawberry.field(description="Ids of the nodes written, sorted.")


EntityResult = Annotated[
    EntityPayload | NotFoundError | InvalidInputError,
    strawberry.union("EntityResult", description="The written entity, or why nothing was."),
]
DeleteResult = Annotated[
    DeletePayload | NotFoundError | InvalidInputError,
    strawberry.union("DeleteResult", description="What was deleted, or why nothing was."),
]
IngestResult = Annotated[
    IngestPayload | InvalidInputError,
    strawberry.union("IngestResult", description="What was ingested, or why nothing was."),
]


def _invalid(error: InvalidInput) -> InvalidInputError:
    field = getattr(error, "field", None)
    if isinstance(field, str):
        field = ".".join(to_camel_case(part) for part in field.split("."))
    return InvalidInputError(message=str(error), field=field)


# --- store facts ------------------------------------------------------------------------------

_locks: weakref.WeakKeyDictionary[LineageService, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock_for(service: LineageService) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(service)
        if lock is None:
            lock = _locks[service] = threading.Lock()
        return lock


def _created_at(
    service: LineageService, version_id: str, given: datetime | None
) -> datetime | None:
    """When a version was created: as given, else as stored for a version that exists
    (updating its metrics or schema must not move its creation to now), else ``None``."""
    if given is not None:
        return given
    stored = service.store.get([version_id]).get(version_id)
    created = stored.attrs.get("created_at") if stored is not None else None
    return parse_time(created) if isinstance(created, str) else None


def _require(service: LineageService, ids: Sequence[str]) -> None:
    """Raise NotFound naming the first missing id."""
    service.require(list(dict.fromkeys(ids)))


def _field_paths(service: LineageService, dataset_id: str) -> list[str]:
    """Paths of the dataset's current fields, nested ones included."""
    paths: list[str] = []
    frontier = [dataset_id]
    seen: set[str] = set()
    while frontier:
        edges = service.store.edges(frontier, Direction.DOWNSTREAM, [EdgeKind.HAS_FIELD])
        frontier = sorted({e.target_id for e in edges} - seen)
        seen.update(frontier)
        paths.extend(parse_id(i).parts[0] for i in frontier)
    return sorted(paths)


def _latest_versions(
    service: LineageService, dataset_ids: Sequence[str], before: datetime
) -> dict[str, str]:
    """For each dataset, its newest version created at or before ``before``."""
    if not dataset_ids:
        return {}
    edges = service.store.edges(
        sorted(set(dataset_ids)), Direction.DOWNSTREAM, [EdgeKind.HAS_VERSION]
    )
    versions = service.get(sorted({e.target_id for e in edges}))
    latest: dict[str, tuple[datetime, str]] = {}
    for node in versions.values():
        if node.kind is not Kind.DATASET_VERSION:
            continue
        created = _created(node)
        if created is None or created > before:
            continue
        dataset_id = make_id(Kind.DATASET, node.namespace, node.name)
        best = latest.get(dataset_id)
        if best is None or (created, node.id) > best:
            latest[dataset_id] = (created, node.id)
    return {k: v[1] for k, v in latest.items()}


def _created(node: DomainNode) -> datetime | None:
    value = node.attrs.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except InvalidInput:
        return None


def _closure(service: LineageService, entity_id: str) -> list[str]:
    """The entity and everything it contains, following containment edges down."""
    contains = [
        EdgeKind.HAS_FIELD,
        EdgeKind.HAS_VERSION,
        EdgeKind.HAS_RUN,
        EdgeKind.HAS_CHECK,
        EdgeKind.HAS_RESULT,
    ]
    found = {entity_id}
    frontier = [entity_id]
    while frontier:
        hops = service.store.expand(frontier, Direction.DOWNSTREAM, contains)
        frontier = sorted({h.target for h in hops} - found)
        found.update(frontier)
    return sorted(found)


# --- running a write --------------------------------------------------------------------------

Build = Callable[[LineageService], tuple[ChangeSet, str]]


async def _write(info: Info, build: Build, source: str = "graphql") -> EntityResult:
    """Read what the change needs, translate and apply it, and return the written entity."""
    service = info.context.service

    def run() -> DomainNode | None:
        with _lock_for(service):
            changeset, main_id = build(service)
            if changeset.reported_at is None:  # what a mutation says, it says now
                changeset.reported_at = format_time(utcnow())
            service.apply(changeset)
        return service.get([main_id]).get(main_id)

    try:
        node = await info.context.call(run)
    except NotFound as error:
        return NotFoundError(message=str(error), id=_missing_id(str(error)))
    except InvalidInput as error:
        return _invalid(error)
    if info.context.metrics is not None:
        info.context.metrics.record_ingest(source)
    if node is None:  # deleted concurrently between apply and read
        return NotFoundError(message="the entity was deleted while it was written", id=None)
    return EntityPayload(node=from_domain(node))


def _missing_id(message: str) -> strawberry.ID | None:
    """The id quoted in a NotFound message (``no entity with id '…'``)."""
    start = message.find("'")
    end = message.rfind("'")
    return strawberry.ID(message[start + 1 : end]) if 0 <= start < end else None


def _guard(convert: Callable[[], Any]) -> Any:
    """Run an input conversion, turning invalid input into the typed error."""
    try:
        return convert()
    except InvalidInput as error:
        return _invalid(error)


# --- the Mutation type ------------------------------------------------------------------------


@strawberry.type(description="Write to the lineage graph (needs the `write` scope).")
class Mutation:
    @mutation(description="Create or update a dataset and the fields given.", extensions=_writes())
    async def upsert_dataset(
        self, info: Info, input: Annotated[DatasetInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            require_key_parts(namespace=spec.namespace, name=spec.name)
            dataset_id = make_id(Kind.DATASET, spec.namespace, spec.name)
            current = _field_paths(service, dataset_id) if spec.replace_fields else []
            return mx.upsert_dataset(spec, now, current), dataset_id

        return await _write(info, build)

    @mutation(
        description="Create or update one field of a dataset (created if new); a dotted path "
        "hangs under its parent field when that exists.",
        extensions=_writes(),
    )
    async def upsert_field(
        self, info: Info, input: Annotated[UpsertFieldInput, arg("What to write.")]
    ) -> EntityResult:
        field_spec = input.field.to_spec()
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            parent_path = field_spec.path.rpartition(".")[0]
            exists = False
            if parent_path and input.namespace and input.name:
                parent = make_id(Kind.FIELD, input.namespace, input.name, parent_path)
                exists = parent in service.store.kinds([parent])
            cs = mx.upsert_field(input.namespace, input.name, field_spec, now, exists)
            return cs, make_id(Kind.FIELD, input.namespace, input.name, field_spec.path)

        return await _write(info, build)

    @mutation(
        description="Create or update a job with its inputs, outputs and column lineage "
        "(datasets and fields are created if new).",
        extensions=_writes(),
    )
    async def upsert_job(
        self, info: Info, input: Annotated[JobInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            others = [
                ref
                for ref in [*spec.inputs, *spec.outputs]
                if parse_id(ref).kind is not Kind.DATASET
            ]
            cs = mx.upsert_job(spec, now)
            _require(service, others)
            return cs, make_id(Kind.JOB, spec.namespace, spec.name)

        return await _write(info, build)

    @mutation(
        description="Create or update a feature and what it is computed from.",
        extensions=_writes(),
    )
    async def upsert_feature(
        self, info: Info, input: Annotated[FeatureInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            cs = mx.upsert_feature(spec, now)
            _require(service, spec.computed_from)
            return cs, make_id(Kind.FEATURE, spec.namespace, spec.name)

        return await _write(info, build)

    @mutation(description="Create or update a model.", extensions=_writes())
    async def upsert_model(
        self, info: Info, input: Annotated[ModelInput, arg("What to write.")]
    ) -> EntityResult:
        spec = input.to_spec()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            return mx.upsert_model(spec), make_id(Kind.MODEL, spec.namespace, spec.name)

        return await _write(info, build)

    @mutation(description="Create or update a deployment.", extensions=_writes())
    async def upsert_deployment(
        self, info: Info, input: Annotated[DeploymentInput, arg("What to write.")]
    ) -> EntityResult:
        spec = input.to_spec()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            cs = mx.upsert_deployment(spec)
            return cs, make_id(Kind.DEPLOYMENT, spec.namespace, spec.name)

        return await _write(info, build)

    @mutation(
        description="Create or update a check on an existing dataset or field.",
        extensions=_writes(),
    )
    async def upsert_check(
        self, info: Info, input: Annotated[CheckInput, arg("What to write.")]
    ) -> EntityResult:
        spec = input.to_spec()
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            cs = mx.upsert_check(spec, now)
            check_id = make_id(Kind.CHECK, spec.namespace, spec.name, spec.check)
            target = cs.edges[0].source_id
            _require(service, [target])
            return cs, check_id

        return await _write(info, build)

    @mutation(
        description="Create or update a dataset version (the dataset is created if new).",
        extensions=_writes(),
    )
    async def upsert_dataset_version(
        self, info: Info, input: Annotated[DatasetVersionInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            require_key_parts(namespace=spec.namespace, name=spec.name, version=spec.version)
            version_id = make_id(Kind.DATASET_VERSION, spec.namespace, spec.name, spec.version)
            created = _created_at(service, version_id, spec.created_at)
            cs = mx.upsert_dataset_version(replace(spec, created_at=created), now)
            if spec.run is not None:
                _require(service, [spec.run])
            return cs, version_id

        return await _write(info, build)

    @mutation(
        description="Record a run of a job (created if new): its state and times, the versions "
        "it read (default: each input's latest version) and wrote, and its code version. A "
        "COMPLETE run reports the job's full inputs and outputs: edges it no longer reports "
        "stop being current. A model version among the outputs of a COMPLETE run is created "
        "by it when it is not registered yet.",
        extensions=_writes(),
    )
    async def record_run(
        self, info: Info, input: Annotated[RunInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            datasets = [
                x.id
                for x in spec.inputs
                if x.version is None and parse_id(x.id).kind is Kind.DATASET
            ]
            trained = [x.id for x in spec.outputs if parse_id(x.id).kind is Kind.MODEL_VERSION]
            known = service.store.kinds(trained)
            current = _latest_versions(service, datasets, spec.started_at or now)
            # A training run produces the model versions it outputs: one not registered
            # yet is created by the run.
            new_versions = {v for v in trained if v not in known}
            cs = mx.record_run(spec, now, current, new_versions)
            # What the run does not create (datasets and new model versions) must exist.
            created = {n.id for n in cs.nodes}
            _require(service, [x.id for x in (*spec.inputs, *spec.outputs) if x.id not in created])
            return cs, make_id(Kind.RUN, spec.namespace, spec.name, spec.run_id)

        return await _write(info, build, source="graphql_run")

    @mutation(
        description="Record one result of a check on an existing dataset or field (the check "
        "is created if new). Health downstream updates at once.",
        extensions=_writes(),
    )
    async def record_quality_result(
        self, info: Info, input: Annotated[QualityResultInput, arg("What to write.")]
    ) -> EntityResult:
        now = utcnow()
        spec = _guard(lambda: input.to_spec(now))
        if isinstance(spec, InvalidInputError):
            return spec

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            require_key_parts(namespace=input.namespace, name=input.name)
            dataset_id = make_id(Kind.DATASET, input.namespace, input.name)
            latest = None
            if spec.dataset_version is None:
                latest = _latest_versions(service, [dataset_id], spec.observed_at).get(dataset_id)
            cs = mx.record_quality_result(spec, latest)
            check = spec.check
            target = (
                make_id(Kind.FIELD, check.namespace, check.name, check.field)
                if check.field
                else dataset_id
            )
            needed = [dataset_id, target]
            if spec.dataset_version is not None:
                needed.append(
                    make_id(Kind.DATASET_VERSION, check.namespace, check.name, spec.dataset_version)
                )
            if spec.run is not None:
                needed.append(spec.run)
            _require(service, needed)
            result = next(n for n in cs.nodes if n.kind is Kind.RESULT)
            return cs, result.id

        return await _write(info, build, source="graphql_quality")

    @mutation(
        description="Register a model version (the model is created if new) with its metrics, "
        "training run and what it was trained on.",
        extensions=_writes(),
    )
    async def register_model_version(
        self, info: Info, input: Annotated[ModelVersionInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            require_key_parts(namespace=spec.namespace, name=spec.name, version=spec.version)
            version_id = make_id(Kind.MODEL_VERSION, spec.namespace, spec.name, spec.version)
            created = _created_at(service, version_id, spec.created_at)
            cs = mx.register_model_version(replace(spec, created_at=created), now)
            if spec.training_run is not None and not service.store.kinds([spec.training_run]):
                raise InvalidField(
                    "training_run",
                    f"{spec.training_run} is not recorded: record the training run first with "
                    "recordRun (a COMPLETE run that names this version among its outputs "
                    "creates it and is its training run), or register the version without "
                    "trainingRun and record the run after",
                )
            _require(service, list(spec.trained_on))
            return cs, version_id

        return await _write(info, build)

    @mutation(
        description="Serve a model version from a deployment (created if new) from a time on; "
        "whatever the deployment served until then stops serving at that time.",
        extensions=_writes(),
    )
    async def deploy(
        self, info: Info, input: Annotated[DeployInput, arg("What to write.")]
    ) -> EntityResult:
        spec = _guard(input.to_spec)
        if isinstance(spec, InvalidInputError):
            return spec
        now = utcnow()

        def build(service: LineageService) -> tuple[ChangeSet, str]:
            _require(service, [spec.model_version])
            require_key_parts(namespace=spec.namespace, name=spec.name)
            deployment_id = make_id(Kind.DEPLOYMENT, spec.namespace, spec.name)
            servings = service.store.edges(
                [deployment_id], Direction.UPSTREAM, [EdgeKind.SERVES], include_ended=True
            )
            created = _created_at(service, spec.model_version, None)
            return mx.deploy(spec, now, servings, created), deployment_id

        return await _write(info, build)

    @mutation(
        description="Ingest one OpenLineage event (RunEvent, DatasetEvent or JobEvent), exactly "
        "as `POST /api/v1/lineage` would.",
        extensions=_writes(),
    )
    async def ingest_open_lineage(
        self,
        info: Info,
        event: Annotated[JSON, arg("The event, as an OpenLineage client sends it.")],
    ) -> IngestResult:
        from lineagegraph.ingest.batching import check_keepable
        from lineagegraph.ingest.openlineage import translate_event

        service = info.context.service

        def run() -> tuple[int, int, list[str]]:
            # a literal in the document was not decoded from JSON text like a variable
            check_keepable(event)
            changeset = translate_event(event)
            service.apply(changeset)
            return (
                len(changeset.nodes),
                len(changeset.edges),
                sorted({n.id for n in changeset.nodes}),
            )

        try:
            nodes, edges, ids = await info.context.call(run)
        except InvalidInput as error:
            # the field is a path in the event as sent (its keys are not GraphQL names)
            field = getattr(error, "field", None)
            return InvalidInputError(message=str(error), field=field)
        if info.context.metrics is not None:
            info.context.metrics.record_ingest("openlineage")
        return IngestPayload(nodes=nodes, edges=edges, ids=[strawberry.ID(i) for i in ids])

    @mutation(
        description="Delete an entity with everything it contains (a dataset's fields, versions "
        "and checks with their results; a job's runs; a model's versions) and their edges.",
        extensions=_writes(),
    )
    async def delete_entity(
        self, info: Info, id: Annotated[strawberry.ID, arg("The entity's id.")]
    ) -> DeleteResult:
        try:
            entity_id = parse_id(str(id)).id
        except InvalidInput as error:
            return InvalidInputError(message=str(error), field="id")
        service = info.context.service

        def run() -> list[str]:
            with _lock_for(service):
                _require(service, [entity_id])
                ids = _closure(service, entity_id)
                service.apply(mx.delete_entities(ids))
                return ids

        try:
            deleted = await info.context.call(run)
        except NotFound as error:
            return NotFoundError(message=str(error), id=id)
        except InvalidField as error:
            return _invalid(error)
        if info.context.metrics is not None:
            info.context.metrics.record_ingest("graphql_delete")
        return DeletePayload(deleted_ids=[strawberry.ID(i) for i in deleted])
