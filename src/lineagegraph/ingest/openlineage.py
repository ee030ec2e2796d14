"""OpenLineage events → ChangeSets (pure: no store access).

One event becomes one :class:`ChangeSet`; the README section "Ingesting
lineage" documents the mapping facet by facet. In short:

- the job, the run (key: job namespace, job name, runId) and ``HAS_RUN``;
- inputs ``READS`` the job, the job ``WRITES`` outputs; fields from ``schema``
  (nested fields contained in their parent field), ``DERIVES`` edges from
  ``columnLineage`` carrying the job and the transformation;
- each output gets a ``DATASET_VERSION`` (the ``version`` facet, else the
  runId) that the run ``WROTE``; an input is ``READ_BY`` the run at the version
  its ``version`` facet names; every input is listed in the run's ``inputs``
  attribute, from which :meth:`LineageService.resolve_reads` links the versions
  that producers do not name;
- ``dataQualityAssertions`` become checks and results, ``dataQualityMetrics``
  and ``outputStatistics`` row and byte counts;
- a run event that reports inputs or outputs adds a :class:`JobSnapshot`, so
  edges the job's latest run no longer reports stop being current; an output's (or
  a DatasetEvent's) ``schema`` adds a :class:`SchemaSnapshot`, so fields the
  dataset's latest schema no longer lists stop being current.

Datasets in a feature-store namespace (``feast://``, ``featurestore://``) or
with ``datasetType`` FEATURE become features; in a model-registry namespace
(``mlflow://``, ``models://``) or with ``datasetType`` MODEL, models and model
versions.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from lineagegraph.ids import Kind, parse_id
from lineagegraph.ingest import _olspec as spec
from lineagegraph.ingest._build import (
    FEATURE_SCHEMES,
    MODEL_SCHEMES,
    GraphBuilder,
    entity_id,
    node_of,
    platform_of,
    short_text,
    sql_code_version,
)
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    EdgeKind,
    Feature,
    GroupedChangeSet,
    Job,
    JobSnapshot,
    Model,
    ModelVersion,
    Node,
    Origin,
    ReportGroup,
    Result,
    Run,
    RunState,
    SchemaSnapshot,
    json_equal,
)

__all__ = [
    "EventTranslator",
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
    return _translate(event, None).changeset  # nothing is grouped without a memo


class EventTranslator:
    """:func:`translate_event` for a stream of events, remembering what it worked out.

    A scheduler runs the same jobs over the same datasets again and again, so most
    of an event repeats earlier ones: the schema of each dataset and the column
    lineage of each output. The translator keeps the nodes and edges it built for
    the latest ``capacity`` dataset descriptions and column lineage facets, and
    reuses them when an event repeats one exactly (compared by value). The result
    is the same changeset :func:`translate_event` returns, built in a fraction of
    the time; nodes are shared between changesets, so nothing may change their
    attributes in place (nothing does). Safe to share between threads.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._memo = _Memo(capacity)

    def __call__(self, document: Any) -> ChangeSet:
        """Validate a decoded JSON event and translate it; raises :class:`InvalidInput`."""
        return self.grouped(document).expanded()

    def grouped(self, document: Any) -> GroupedChangeSet:
        """:meth:`__call__` with what repeats an earlier event by reference: a batch
        of events folds those groups (:class:`~lineagegraph.model.ChangeFold`) without
        expanding them."""
        return _translate(parse_event(document), self._memo)


def _translate(event: OpenLineageEvent, memo: _Memo | None) -> GroupedChangeSet:
    builder = GraphBuilder(ChangeSet(origin=Origin.OPENLINEAGE), event.at)
    if isinstance(event, spec.RunEvent):
        _RunTranslation(builder, event.doc, memo).build()
    elif isinstance(event, spec.JobEvent):
        _JobTranslation(builder, event.doc, memo).build()
    else:
        _DatasetTranslation(builder, memo).build(event.doc["dataset"])
    return builder.grouped()


@dataclass(frozen=True)
class _Described:
    """What describing a dataset with these facets added: nodes, and edges seen now."""

    facets: spec._DatasetFacets | None
    dataset_id: str
    group: ReportGroup

    @cached_property
    def version_schema(self) -> list[dict[str, Any]] | None:
        """The schema a version of the dataset written with these facets records."""
        return _version_schema(_fields_of(self.facets or spec._DatasetFacets()))

    @cached_property
    def schema_field_ids(self) -> tuple[str, ...] | None:
        """The field ids a schema snapshot of these facets lists (see ``_schema_field_ids``)."""
        key = parse_id(self.dataset_id)
        return _schema_field_ids(key.namespace, key.name, self.facets or spec._DatasetFacets())


@dataclass(frozen=True)
class _Derived:
    """The DERIVES edges a column lineage facet (and output schema) made for one job.

    Only remembered when every field it names was already in the translation, so
    the facet added no bare fields; reused only when that holds again.
    """

    facet: Any
    schema: Any
    fields: frozenset[str]
    group: ReportGroup
    pairs: tuple[tuple[str, str], ...]


class _Memo:
    """The latest translated job and dataset descriptions and column lineage, oldest
    dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.described: dict[tuple[str, str], tuple[_Described, ...]] = {}
        self.derived: dict[tuple[str, str, str | None], _Derived] = {}
        self.jobs: dict[tuple[str, str], tuple[Any, Node]] = {}  # facets, and the job's node
        self._lock = threading.Lock()

    def remember(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the oldest entry past the capacity."""
        with self._lock:
            table.pop(key, None)
            table[key] = value
            while len(table) > self.capacity:
                del table[next(iter(table))]


# --- small readers ------------------------------------------------------------------------------


def _facets(dataset: spec.Dataset) -> spec._DatasetFacets:
    return dataset.get("facets") or {}


def _entity_kind(dataset: spec.Dataset) -> Kind:
    declared = _facets(dataset).get("datasetType")
    declared_type = declared["datasetType"].upper() if declared else ""
    namespace = dataset["namespace"]
    scheme = namespace.partition("://")[0].lower() if "://" in namespace else ""
    if declared_type == "FEATURE" or scheme in FEATURE_SCHEMES:
        return Kind.FEATURE
    if declared_type == "MODEL" or scheme in MODEL_SCHEMES:
        return Kind.MODEL
    return Kind.DATASET


def _version(dataset: spec.Dataset) -> str | None:
    version = _facets(dataset).get("version")
    return version["datasetVersion"] if version else None


def _description(facets: Mapping[str, Any]) -> str | None:
    documentation = facets.get("documentation")
    return str(documentation["description"]) if documentation else None


def _tags(facet: spec.TagsFacet | None, field: str | None = None) -> list[str] | None:
    if not facet or not facet.get("tags"):
        return None
    tags = [
        t["key"] if t.get("value") in (None, "", "true") else f"{t['key']}:{t.get('value')}"
        for t in facet.get("tags") or []
        if (t.get("field") or None) == field
    ]
    return tags or None


def _owners(facet: spec.OwnershipFacet | None) -> list[str] | None:
    if not facet or facet.get("owners") is None:
        return None
    return [owner["name"] for owner in facet.get("owners") or []]


def _schema_rows(
    fields: list[spec.SchemaField], prefix: str = ""
) -> Iterable[tuple[str, str, spec.SchemaField, int]]:
    """(parent path, path, field, ordinal) for every field, parents before children."""
    for index, field in enumerate(fields, start=1):
        path = f"{prefix}.{field['name']}" if prefix else field["name"]
        yield prefix, path, field, field.get("ordinal_position") or index
        children = field.get("fields")
        if children:
            yield from _schema_rows(children, path)


def _version_schema(fields: list[spec.SchemaField]) -> list[dict[str, Any]] | None:
    """What a dataset version records of a schema: each field's path, type and ordinal."""
    return [
        {k: v for k, v in (("path", p), ("type", f.get("type")), ("ordinal", o)) if v}
        for _, p, f, o in _schema_rows(fields)
    ] or None


def _schema_fields(dataset: spec.Dataset) -> list[spec.SchemaField]:
    return _fields_of(_facets(dataset))


def _fields_of(facets: spec._DatasetFacets) -> list[spec.SchemaField]:
    schema = facets.get("schema")
    return (schema.get("fields") or []) if schema else []


def _schema_field_ids(
    namespace: str, name: str, facets: spec._DatasetFacets
) -> tuple[str, ...] | None:
    """What a schema snapshot lists: the ids of the fields a ``schema`` facet lists,
    nested ones included, and of those the column lineage names (with their parents).
    ``None`` when the facet lists no fields."""
    fields = _fields_of(facets)
    if not fields:
        return None
    paths = {path for _, path, _, _ in _schema_rows(fields)}
    lineage = facets.get("columnLineage")
    for path in (lineage.get("fields") or {}) if lineage else ():
        while path and path not in paths:
            paths.add(path)
            path = path.rpartition(".")[0]
    return tuple(sorted(entity_id(Kind.FIELD, namespace, name, p) for p in paths))


def _lineage_fields(dataset: spec.Dataset) -> dict[str, spec.ColumnLineageEntry]:
    lineage = _facets(dataset).get("columnLineage")
    return (lineage.get("fields") or {}) if lineage else {}


def _private(facets: Any, kind: str) -> Any:
    """Facets to remember, to compare later events with: those the translator does not
    map are kept as sent, the caller's own objects, which it may change once the event
    is translated; they are copied."""
    if not facets:
        return facets
    unknown = spec.unknown_facets(facets, kind)
    return {**facets, **copy.deepcopy(unknown)} if unknown else facets


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """A facet's values without ``_producer``/``_schemaURL`` and empty values."""
    return {k: v for k, v in value.items() if not k.startswith("_") and v is not None}


def _first(*values: int | None) -> int | None:
    """The first value that is not ``None``."""
    return next((v for v in values if v is not None), None)


def _metric_attrs(quality: Mapping[str, Any] | None) -> dict[str, Any]:
    if not quality:
        return {}
    columns = quality.get("columnMetrics")
    return {
        "column_metrics": {c: _plain(m) for c, m in sorted(columns.items())} if columns else None,
        "file_count": quality.get("fileCount"),
    }


def _transformations(
    source: spec.InputField, entry: spec.ColumnLineageEntry | None
) -> list[dict[str, Any]]:
    """The transformations of one input field, new style or from the deprecated fields."""
    found = source.get("transformations")
    if found:
        result = []
        for t in found:
            subtype = t.get("subtype")
            item: dict[str, Any] = {"type": t["type"].upper()}
            if subtype:
                item["subtype"] = subtype.upper()
            if t.get("description"):
                item["description"] = t.get("description")
            if t.get("masking") is not None:
                item["masking"] = t.get("masking")
            result.append(item)
        return result
    if entry is None:
        return []
    legacy: dict[str, Any] = {}
    kind = (entry.get("transformationType") or "").upper()
    if kind:
        # IDENTITY and MASKED were the two documented values; both are direct derivations.
        legacy["type"] = "DIRECT"
        legacy["subtype"] = "TRANSFORMATION" if kind == "MASKED" else kind
        if kind == "MASKED":
            legacy["masking"] = True
    if entry.get("transformationDescription"):
        legacy["description"] = entry.get("transformationDescription")
    return [legacy] if legacy else []


def _edge_attrs(job_id: str | None, transformations: list[dict[str, Any]]) -> dict[str, Any]:
    """A DERIVES edge's attributes: the job and its primary transformation (no ``None``)."""
    unique = transformations
    if len(transformations) > 1:
        unique = []
        for t in transformations:
            if t not in unique:
                unique.append(t)
    primary = next((t for t in unique if t.get("type") == "DIRECT"), unique[0] if unique else {})
    attrs: dict[str, Any] = {} if job_id is None else {"job": job_id}
    if primary.get("type") is not None:
        attrs["transformation"] = primary["type"]
    if primary.get("subtype") is not None:
        attrs["subtype"] = primary["subtype"]
    descriptions = [t["description"] for t in unique if t.get("description")]
    if descriptions:
        attrs["description"] = "; ".join(dict.fromkeys(descriptions))
    if any(t.get("masking") for t in unique):
        attrs["masking"] = True
    if len(unique) > 1:
        attrs["transformations"] = unique
    if unique and all(t.get("scope") == "dataset" for t in unique):
        attrs["scope"] = "dataset"
    return attrs


def _code_version(facets: Mapping[str, Any]) -> str | None:
    """The code version a job's facets give: ``sourceCodeLocation``'s version, else a hash
    of its ``sql`` query (see :func:`sql_code_version`)."""
    code = facets.get("sourceCodeLocation") or {}
    sql = facets.get("sql") or {}
    return code.get("version") or sql_code_version(sql.get("query"))


def _job(job: spec.Job) -> tuple[Job, dict[str, Any]]:
    facets = job.get("facets") or {}
    kind = facets.get("jobType") or {}
    code = facets.get("sourceCodeLocation")
    location = None
    if code:
        location = code.get("url") or code.get("repoUrl")
        path = code.get("path")
        if location and path and path not in location:
            location = f"{location}#{path}"
    sql = facets.get("sql")
    return (
        Job(
            namespace=job["namespace"],
            name=job["name"],
            description=_description(facets),
            job_type=kind.get("jobType"),
            processing_type=kind.get("processingType"),
            integration=kind.get("integration"),
            sql=sql["query"] if sql else None,
            code_location=location,
            code_version=_code_version(facets),
            owners=_owners(facets.get("ownership")),
            tags=_tags(facets.get("tags")),
            facets=spec.unknown_facets(facets, "job") or None,
        ),
        {"sql_dialect": sql.get("dialect") if sql else None},
    )


# --- what all events share ----------------------------------------------------------------------


class _Translation:
    """Datasets, fields, checks, column lineage and ML entities, for every kind of event."""

    def __init__(self, builder: GraphBuilder, memo: _Memo | None = None) -> None:
        self.b = builder
        self.at: datetime = builder.at
        self.memo = memo
        # (namespace, name) -> the remembered description equal to the dataset's latest
        # description in this event, if one is
        self.described: dict[tuple[str, str], _Described] = {}

    def describe_job(self, job: spec.Job) -> Node:
        """Add a job with what its facets say; returns its node."""
        memo = self.memo
        if memo is None:
            node = node_of(*_job(job))
        else:
            key = (job["namespace"], job["name"])
            facets = job.get("facets")
            known = memo.jobs.get(key)
            if known is not None and json_equal(known[0], facets):
                node = known[1]
            else:
                node = node_of(*_job(job))
                memo.remember(memo.jobs, key, (_private(facets, "job"), node))
        self.b.add(node)
        return node

    def describe_dataset(self, dataset: spec.Dataset) -> str:
        """Add a dataset with what its facets say (schema, owners, lifecycle…); returns its id."""
        memo = self.memo
        if memo is None:
            return self._describe_dataset(dataset)
        key = (dataset["namespace"], dataset["name"])
        facets = dataset.get("facets")
        known = memo.described.get(key, ())
        b = self.b
        for described in known:
            if json_equal(described.facets, facets):
                b.report(described.group)
                self.described[key] = described
                return described.dataset_id
        self.described.pop(key, None)
        nodes, edges = len(b.cs.nodes), len(b.cs.edges)
        dataset_id = self._describe_dataset(dataset)
        added = b.cs.edges[edges:]
        if all(e.first_seen == b.stamp for e in added):
            links = tuple((e.source_id, e.kind, e.target_id, e.attrs) for e in added)
            group = ReportGroup(tuple(b.cs.nodes[nodes:]), links)
            remembered = _Described(_private(facets, "dataset"), dataset_id, group)
            self.described[key] = remembered
            # the latest two: a dataset that one job writes and others read is described
            # one way as an output and another as an input, over and over
            memo.remember(memo.described, key, (remembered, *known[:1]))
            b.regroup(nodes, edges, group)
        return dataset_id

    def _describe_dataset(self, dataset: spec.Dataset) -> str:
        facets = _facets(dataset)
        ns, name = dataset["namespace"], dataset["name"]
        dataset_id = entity_id(Kind.DATASET, ns, name)
        aliases: list[str] = []
        symlinks = facets.get("symlinks")
        if symlinks:
            aliases.extend(
                entity_id(Kind.DATASET, i["namespace"], i["name"])
                for i in symlinks.get("identifiers") or []
            )
        lifecycle = facets.get("lifecycleStateChange")
        deleted: bool | None = None
        change = lifecycle["lifecycleStateChange"] if lifecycle else None
        if change == "DROP":
            deleted = True
        elif change in ("CREATE", "OVERWRITE", "RENAME"):
            deleted = False  # a table renamed to this name exists under it now
        previous = lifecycle.get("previousIdentifier") if lifecycle else None
        renamed_from: list[str] | None = None
        if change == "RENAME" and previous:
            old_id = entity_id(Kind.DATASET, previous["namespace"], previous["name"])
            if old_id != dataset_id:
                aliases.append(old_id)
                # kept apart too: later reports set aliases anew from their symlinks
                renamed_from = [old_id]
                self.b.entity(
                    Dataset(namespace=previous["namespace"], name=previous["name"], deleted=True),
                    {"renamed_to": dataset_id, "lifecycle_state": change},
                )
        source = facets.get("dataSource") or {}
        declared = facets.get("datasetType")
        self.b.entity(
            Dataset(
                namespace=ns,
                name=name,
                description=_description(facets),
                platform=platform_of(ns),
                owners=_owners(facets.get("ownership")),
                tags=_tags(facets.get("tags")),
                deleted=deleted,
                aliases=sorted(set(aliases)) or None,
                facets=spec.unknown_facets(facets, "dataset") or None,
            ),
            {
                "source_name": source.get("name"),
                "source_uri": source.get("uri"),
                "dataset_type": declared["datasetType"] if declared else None,
                "lifecycle_state": change,
                "renamed_from": renamed_from,
            },
        )
        tags = facets.get("tags")
        for parent, path, field, ordinal in _schema_rows(_schema_fields(dataset)):
            field_id = self.b.node(
                Kind.FIELD,
                ns,
                name,
                (path,),
                {
                    "type": field.get("type"),
                    "description": field.get("description"),
                    "ordinal": ordinal,
                    "tags": _tags(tags, path) if tags else None,
                },
            )
            container = entity_id(Kind.FIELD, ns, name, parent) if parent else dataset_id
            self.b.link(container, EdgeKind.HAS_FIELD, field_id)
        return dataset_id

    def dataset_version(
        self,
        dataset: spec.Dataset,
        version: str,
        run_id: str | None,
        *,
        created: bool,
        current: bool = True,
        row_count: int | None = None,
        byte_count: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Add a version of a dataset and, when it is ``current`` (its data is there to
        read), its ``HAS_VERSION`` edge; returns its id."""
        schema = None
        if created:
            described = self.described.get((dataset["namespace"], dataset["name"]))
            if described is None:
                schema = _version_schema(_schema_fields(dataset))
            else:
                schema = described.version_schema
        version_id = self.b.entity(
            DatasetVersion(
                namespace=dataset["namespace"],
                name=dataset["name"],
                version=version,
                created_at=self.at if created and current else None,
                run=run_id if created else None,
                schema_fields=schema,
                row_count=row_count,
                byte_count=byte_count,
            ),
            extra,
        )
        if current:
            self.b.link(
                entity_id(Kind.DATASET, dataset["namespace"], dataset["name"]),
                EdgeKind.HAS_VERSION,
                version_id,
            )
        return version_id

    def assertions(
        self,
        dataset: spec.Dataset,
        facet: spec.AssertionsFacet | None,
        result_key: str,
        run_id: str | None,
        version_id: str | None,
    ) -> None:
        """Checks and results from a ``dataQualityAssertions`` facet."""
        if not facet:
            return
        ns, name = dataset["namespace"], dataset["name"]
        for assertion in facet["assertions"]:
            kind = assertion["assertion"]
            column = assertion.get("column") or None
            check = assertion.get("name") or (f"{kind}({column})" if column else kind)
            severity = assertion.get("severity")
            check_id = self.b.entity(
                Check(
                    namespace=ns,
                    name=name,
                    check=check,
                    check_type=kind,
                    field=column,
                    severity=severity.upper() if severity else None,
                    description=assertion.get("description"),
                    source="openlineage",
                )
            )
            target = self.b.field(ns, name, column) if column else self.b.dataset(ns, name)
            self.b.link(target, EdgeKind.HAS_CHECK, check_id)
            result_id = self.b.entity(
                Result(
                    namespace=ns,
                    name=name,
                    check=check,
                    result=result_key,
                    passed=assertion["success"],
                    observed_at=self.at,
                    observed=short_text(assertion.get("actual")),
                    expected=short_text(assertion.get("expected")),
                    dataset_version=version_id,
                    run=run_id,
                    source="openlineage",
                )
            )
            self.b.link(check_id, EdgeKind.HAS_RESULT, result_id)
            if version_id is not None:
                self.b.link(result_id, EdgeKind.EVALUATED, version_id)

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
        facet = _facets(output).get("columnLineage")
        if facet is None:
            return None
        memo = self.memo
        if memo is None:
            return self._column_lineage(output, facet, job_id)[0]
        b = self.b
        key = (output["namespace"], output["name"], job_id)
        schema = _schema_fields(output) if facet.get("dataset") else None
        known = memo.derived.get(key)
        # A facet remembered from the very description this event repeats is this event's
        # facet, and came with this event's schema: no need to compare them again.
        described = self.described.get(key[:2])
        remembered = described.facets if described is not None else None
        same_facet = (remembered or {}).get("columnLineage") or facet
        if (
            known is not None
            and (
                known.facet is same_facet
                or (json_equal(known.facet, facet) and json_equal(known.schema, schema))
            )
            and b.has_all(known.fields)
        ):
            b.report(known.group)
            return list(known.pairs)
        nodes, edges = len(b.cs.nodes), len(b.cs.edges)
        pairs, named = self._column_lineage(output, facet, job_id)
        if len(b.cs.nodes) == nodes:  # every field it names was there already
            added = b.cs.edges[edges:]
            links = tuple((e.source_id, e.kind, e.target_id, e.attrs) for e in added)
            derived = _Derived(
                same_facet, schema, frozenset(named), ReportGroup((), links), tuple(pairs)
            )
            memo.remember(memo.derived, key, derived)
            b.regroup(nodes, edges, derived.group)
        return pairs

    def _column_lineage(
        self, output: spec.Dataset, facet: spec.ColumnLineageFacet, job_id: str | None
    ) -> tuple[list[tuple[str, str]], set[str]]:
        """The DERIVES edges of a facet: the pairs linked, and every field the facet names."""
        ns, name = output["namespace"], output["name"]
        pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        named: set[str] = set()
        for path, entry in (facet.get("fields") or {}).items():
            target = self.b.field(ns, name, path)
            named.add(target)
            for source in entry["inputFields"]:
                source_id = self.b.field(source["namespace"], source["name"], source["field"])
                named.add(source_id)
                pairs.setdefault((source_id, target), []).extend(_transformations(source, entry))
        dataset_level = facet.get("dataset")
        if dataset_level:
            targets = self._output_fields(output)
            named.update(targets)
            for source in dataset_level:
                source_id = self.b.field(source["namespace"], source["name"], source["field"])
                named.add(source_id)
                found = _transformations(source, None) or [{"type": "INDIRECT"}]
                for target in targets:
                    pairs.setdefault((source_id, target), []).extend(
                        {**t, "scope": "dataset"} for t in found
                    )
        for (source_id, target), transformations in pairs.items():
            self.b.link(source_id, EdgeKind.DERIVES, target, _edge_attrs(job_id, transformations))
        return list(pairs), named

    def _output_fields(self, output: spec.Dataset) -> list[str]:
        paths: dict[str, None] = {}
        paths.update((f["name"], None) for f in _schema_fields(output))
        paths.update((p, None) for p in _lineage_fields(output))
        return [self.b.field(output["namespace"], output["name"], p) for p in paths]

    def features_of(self, dataset: spec.Dataset) -> list[tuple[str, str | None, str | None]]:
        """(name, description, type) of the features a feature-store dataset stands for.

        A name with ``:`` (``view:feature``) is one feature; otherwise the dataset is
        a feature view and each top-level schema (or column lineage) field is a
        feature ``view:field``; a view that names no fields is one feature.
        """
        name = dataset["name"]
        if ":" not in name:
            fields = _schema_fields(dataset)
            if fields:
                return [
                    (f"{name}:{f['name']}", f.get("description"), f.get("type")) for f in fields
                ]
            lineage = _lineage_fields(dataset)
            if lineage:
                return [(f"{name}:{p}", None, None) for p in lineage]
        return [(name, _description(_facets(dataset)), None)]

    def features(self, dataset: spec.Dataset) -> list[str]:
        """Add the features of a feature-store dataset; returns their ids."""
        owners = _owners(_facets(dataset).get("ownership"))
        return [
            self.b.entity(
                Feature(
                    namespace=dataset["namespace"],
                    name=name,
                    description=description,
                    dtype=dtype,
                    owners=owners,
                )
            )
            for name, description, dtype in self.features_of(dataset)
        ]

    def feature_sources(self, dataset: spec.Dataset, inputs: list[str]) -> None:
        """``COMPUTED_FROM`` edges into written features: from fields, else from input datasets."""
        ns, name = dataset["namespace"], dataset["name"]
        lineage = _lineage_fields(dataset)
        if lineage:
            single = ":" in name
            for path, entry in lineage.items():
                feature = entity_id(Kind.FEATURE, ns, name if single else f"{name}:{path}")
                if not self.b.has(feature):
                    continue
                for field in entry["inputFields"]:
                    field_id = self.b.field(field["namespace"], field["name"], field["field"])
                    self.b.link(field_id, EdgeKind.COMPUTED_FROM, feature)
            return
        datasets = [i for i in inputs if i.startswith("dataset|")]
        for feature_name, _, _ in self.features_of(dataset):
            feature = entity_id(Kind.FEATURE, ns, feature_name)
            for dataset_id in datasets:
                self.b.link(dataset_id, EdgeKind.COMPUTED_FROM, feature)

    def model(self, dataset: spec.Dataset) -> str:
        """Add the model a model-registry dataset names; returns its id."""
        facets = _facets(dataset)
        return self.b.entity(
            Model(
                namespace=dataset["namespace"],
                name=dataset["name"],
                description=_description(facets),
                owners=_owners(facets.get("ownership")),
                tags=_tags(facets.get("tags")),
            )
        )

    def schema_snapshot(self, dataset: spec.Dataset) -> None:
        """Add the schema snapshot of a dataset described by this event, if its
        ``schema`` facet lists fields."""
        ns, name = dataset["namespace"], dataset["name"]
        described = self.described.get((ns, name))
        if described is not None:
            fields = described.schema_field_ids
        else:
            fields = _schema_field_ids(ns, name, _facets(dataset))
        if fields is not None:  # built from valid ids: constructed without validation
            dataset_id = entity_id(Kind.DATASET, ns, name)
            self.b.cs.schemas.append(
                SchemaSnapshot.model_construct(
                    dataset_id=dataset_id, at=self.b.stamp, fields=fields
                )
            )

    def snapshot(
        self,
        job_id: str,
        read: list[str],
        written: list[str],
        column_edges: list[tuple[str, str]] | None,
    ) -> None:
        """Add the job snapshot of an event that reported lineage."""
        self.b.cs.snapshots.append(
            JobSnapshot(
                job_id=job_id,
                at=self.b.stamp,
                inputs=tuple(dict.fromkeys(read)),
                outputs=tuple(dict.fromkeys(written)),
                column_edges=tuple(column_edges) if column_edges else None,
            )
        )


# --- run events -------------------------------------------------------------------------------


class _RunTranslation(_Translation):
    def __init__(
        self, builder: GraphBuilder, event: spec.RunEventDocument, memo: _Memo | None = None
    ) -> None:
        super().__init__(builder, memo)
        self.event = event
        job = event["job"]
        self.run_key = event["run"]["runId"]
        self.job_id = entity_id(Kind.JOB, job["namespace"], job["name"])
        self.run_id = entity_id(Kind.RUN, job["namespace"], job["name"], self.run_key)
        self.code_version: str | None = None

    def build(self) -> None:
        event = self.event
        code = self.describe_job(event["job"]).attrs.get("code_version")
        # The code this run ran: its job's as this event reports it (the job keeps only
        # its latest, so provenance of an older run needs its own).
        self.code_version = code if isinstance(code, str) else None
        self.b.link(self.job_id, EdgeKind.HAS_RUN, self.run_id)
        read: list[str] = []
        inputs_listed: list[str] = []
        input_metrics: dict[str, Any] = {}
        for dataset in event.get("inputs") or []:
            read.extend(self.input(dataset, inputs_listed, input_metrics))
        written: list[str] = []
        outputs_listed: list[str] = []
        column_edges: list[tuple[str, str]] = []
        every_output_has_lineage = True
        for output in event.get("outputs") or []:
            ids, pairs = self.output(output, read, outputs_listed)
            written.extend(ids)
            if pairs is None:
                every_output_has_lineage = every_output_has_lineage and not ids
            else:
                column_edges.extend(pairs)
        self.run(inputs_listed, outputs_listed, input_metrics)
        if (read or written) and event.get("eventType") != "RUNNING":
            self.snapshot(
                self.job_id, read, written, column_edges if every_output_has_lineage else None
            )

    def run(self, inputs: list[str], outputs: list[str], input_metrics: dict[str, Any]) -> None:
        """Add the run with its state, times, parent and error."""
        event = self.event
        job = event["job"]
        facets = event["run"].get("facets") or {}
        event_type = event.get("eventType")
        state = event_type if event_type in _STATES else None
        parent = facets.get("parent")
        parent_run: str | None = None
        root_run: str | None = None
        if parent:
            parent_job = self.b.bare(Kind.JOB, parent["job"]["namespace"], parent["job"]["name"])
            parent_run = self.b.bare(
                Kind.RUN, parent["job"]["namespace"], parent["job"]["name"], parent["run"]["runId"]
            )
            self.b.link(parent_job, EdgeKind.HAS_RUN, parent_run)
            if parent_run != self.run_id:
                self.b.link(parent_run, EdgeKind.PARENT_OF, self.run_id)
            root = parent.get("root")
            if root:
                root_job = root["job"]
                root_run = entity_id(
                    Kind.RUN, root_job["namespace"], root_job["name"], root["run"]["runId"]
                )
        nominal = facets.get("nominalTime")
        error = facets.get("errorMessage")
        self.b.entity(
            Run(
                namespace=job["namespace"],
                name=job["name"],
                run_id=self.run_key,
                state=RunState(state) if state else None,
                started_at=self.at if state == "START" else None,
                ended_at=self.at if state in _TERMINAL else None,
                nominal_time=nominal["nominalStartTime"] if nominal else None,
                error_message=error["message"] if error else None,
                parent_run=parent_run,
                code_version=self.code_version,
                facets=spec.unknown_facets(facets, "run") or None,
            ),
            {
                "state_at": self.b.stamp if state else None,
                "producer": event["producer"],
                "root_run": root_run,
                "error_language": error.get("programmingLanguage") if error else None,
                "error_stack_trace": error.get("stackTrace") if error else None,
                "inputs": inputs or None,
                "outputs": outputs or None,
                "input_metrics": input_metrics or None,
            },
        )

    def input(
        self, dataset: spec.InputDataset, listed: list[str], metrics: dict[str, Any]
    ) -> list[str]:
        """Add an input; returns the ids that now READ the job."""
        kind = _entity_kind(dataset)
        version = _version(dataset)
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
                ModelVersion(namespace=dataset["namespace"], name=dataset["name"], version=version)
            )
            self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
            self.b.link(mv, EdgeKind.READS, self.job_id)
            self.b.link(mv, EdgeKind.READ_BY, self.run_id)
            listed.append(mv)
            return [mv]
        dataset_id = self.describe_dataset(dataset)
        self.b.link(dataset_id, EdgeKind.READS, self.job_id)
        listed.append(dataset_id)
        input_facets = dataset.get("inputFacets") or {}
        facets = _facets(dataset)
        quality = input_facets.get("dataQualityMetrics") or facets.get("dataQualityMetrics")
        version_id: str | None = None
        if version is not None:
            version_id = self.dataset_version(
                dataset,
                version,
                None,
                created=False,
                row_count=quality.get("rowCount") if quality else None,
                byte_count=quality.get("bytes") if quality else None,
                extra=_metric_attrs(quality),
            )
            self.b.link(version_id, EdgeKind.READ_BY, self.run_id)
        elif quality:
            metrics[dataset_id] = _plain(quality)
        for facet in (
            facets.get("dataQualityAssertions"),
            input_facets.get("dataQualityAssertions"),
        ):
            self.assertions(dataset, facet, self.run_key, self.run_id, version_id)
        return [dataset_id]

    def output(
        self, dataset: spec.OutputDataset, read: list[str], listed: list[str]
    ) -> tuple[list[str], list[tuple[str, str]] | None]:
        """Add an output; returns the ids the job now WRITES and the column edges reported."""
        kind = _entity_kind(dataset)
        version = _version(dataset)
        if kind is Kind.FEATURE:
            ids = self.features(dataset)
            for feature in ids:
                self.b.link(self.job_id, EdgeKind.WRITES, feature)
            self.feature_sources(dataset, read)
            listed.extend(ids)
            return ids, None
        if kind is Kind.MODEL:
            return [self.model_output(dataset, version, read, listed)], None
        dataset_id = self.describe_dataset(dataset)
        if self.event.get("eventType") != "RUNNING":
            self.schema_snapshot(dataset)
        self.b.link(self.job_id, EdgeKind.WRITES, dataset_id)
        stats = dataset.get("outputFacets", {}).get("outputStatistics") or {}
        facets = _facets(dataset)
        quality = facets.get("dataQualityMetrics") or {}
        version_id = self.dataset_version(
            dataset,
            version or self.run_key,
            self.run_id,
            created=True,
            current=self.writes_now(),
            row_count=_first(stats.get("rowCount"), quality.get("rowCount")),
            byte_count=_first(stats.get("size"), quality.get("bytes")),
            extra={
                **_metric_attrs(quality),
                "file_count": _first(stats.get("fileCount"), quality.get("fileCount")),
            },
        )
        self.b.link(self.run_id, EdgeKind.WROTE, version_id)
        listed.append(dataset_id)
        self.assertions(
            dataset, facets.get("dataQualityAssertions"), self.run_key, self.run_id, version_id
        )
        return [dataset_id], self.column_lineage(dataset, self.job_id)

    def writes_now(self) -> bool:
        """Whether this event's outputs are written as of it: a run's output versions
        (a dataset's, or the model version a training run registers) become current when
        it completes (COMPLETE), or as it runs for a streaming job (and for an event
        without a type, which reports no lifecycle). A START, RUNNING, FAIL, ABORT or
        OTHER event only records the version the run is writing; the service makes it
        current when the run completes (see :meth:`LineageService.complete_writes`)."""
        event_type = self.event.get("eventType")
        if event_type is None or event_type == "COMPLETE":
            return True
        kind = (self.event["job"].get("facets") or {}).get("jobType") or {}
        return str(kind.get("processingType") or "").upper() == "STREAMING"

    def model_output(
        self, dataset: spec.OutputDataset, version: str | None, read: list[str], listed: list[str]
    ) -> str:
        """Add the model version a run trained; returns its id."""
        model_id = self.model(dataset)
        current = self.writes_now()  # a training run that has not completed trained none
        mv = self.b.entity(
            ModelVersion(
                namespace=dataset["namespace"],
                name=dataset["name"],
                version=version or self.run_key,
                created_at=self.at if current else None,
                training_run=self.run_id,
            )
        )
        if current:
            self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
        self.b.link(self.job_id, EdgeKind.WRITES, mv)
        self.b.link(self.run_id, EdgeKind.WROTE, mv)
        for source in read:
            if not source.startswith("model_version|"):
                self.b.link(source, EdgeKind.TRAINED_ON, mv)
        for entry in _lineage_fields(dataset).values():
            for field in entry["inputFields"]:
                field_id = self.b.field(field["namespace"], field["name"], field["field"])
                self.b.link(field_id, EdgeKind.TRAINED_ON, mv)
        listed.append(mv)
        return mv


# --- job and dataset events -------------------------------------------------------------------


class _JobTranslation(_Translation):
    """A JobEvent: the job and its design-time inputs and outputs (no run, no versions)."""

    def __init__(
        self, builder: GraphBuilder, event: spec.JobEventDocument, memo: _Memo | None = None
    ) -> None:
        super().__init__(builder, memo)
        self.event = event
        job = event["job"]
        self.job_id = entity_id(Kind.JOB, job["namespace"], job["name"])

    def build(self) -> None:
        event = self.event
        self.describe_job(event["job"])
        result_key = self.b.stamp
        read: list[str] = []
        for dataset in event.get("inputs") or []:
            kind = _entity_kind(dataset)
            if kind is Kind.FEATURE:
                ids = self.features(dataset)
            elif kind is Kind.DATASET:
                ids = [self.describe_dataset(dataset)]
                facets = _facets(dataset)
                input_facets = dataset.get("inputFacets") or {}
                for facet in (
                    facets.get("dataQualityAssertions"),
                    input_facets.get("dataQualityAssertions"),
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
        for output in event.get("outputs") or []:
            kind = _entity_kind(output)
            if kind is Kind.FEATURE:
                ids = self.features(output)
                self.feature_sources(output, read)
                every_output_has_lineage = False
            elif kind is Kind.DATASET:
                ids = [self.describe_dataset(output)]
                assertions = _facets(output).get("dataQualityAssertions")
                self.assertions(output, assertions, result_key, None, None)
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
            self.snapshot(
                self.job_id, read, written, column_edges if every_output_has_lineage else None
            )


class _DatasetTranslation(_Translation):
    """A DatasetEvent: the dataset's metadata, its version and quality results."""

    def build(self, dataset: spec.Dataset) -> None:
        kind = _entity_kind(dataset)
        if kind is Kind.FEATURE:
            self.features(dataset)
            return
        version = _version(dataset)
        if kind is Kind.MODEL:
            model_id = self.model(dataset)
            if version is not None:
                mv = self.b.entity(
                    ModelVersion(
                        namespace=dataset["namespace"],
                        name=dataset["name"],
                        version=version,
                        created_at=self.at,
                    )
                )
                self.b.link(model_id, EdgeKind.HAS_VERSION, mv)
            return
        self.describe_dataset(dataset)
        self.schema_snapshot(dataset)
        facets = _facets(dataset)
        quality = facets.get("dataQualityMetrics")
        version_id = None
        if version is not None:
            version_id = self.dataset_version(
                dataset,
                version,
                None,
                created=True,
                row_count=quality.get("rowCount") if quality else None,
                byte_count=quality.get("bytes") if quality else None,
                extra=_metric_attrs(quality),
            )
        self.assertions(
            dataset, facets.get("dataQualityAssertions"), self.b.stamp, None, version_id
        )
