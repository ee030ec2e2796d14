"""dbt artifacts (manifest, run results, catalog) → a ChangeSet (pure: no store access).

- Models, seeds, snapshots and sources become datasets in the namespace
  ``<adapter>://<database>`` (or ``dataset_namespace``), named
  ``<database>.<schema>.<alias>`` the way OpenLineage names warehouse tables;
  their columns come from the manifest and, with types and order, the catalog;
  a dataset in the catalog adds a :class:`SchemaSnapshot`, so dropped columns end.
- Each model and snapshot is a job in ``dbt://<project>`` (or
  ``job_namespace``) named ``<database>.<schema>.<package>.<name>``, as the
  OpenLineage dbt integration names it; its parents ``READS`` it and it
  ``WRITES`` its dataset. A :class:`JobSnapshot` per job keeps lineage current
  when a dependency is removed.
- Tests become checks on their dataset, or on their column when the test names
  one (``test_metadata.kwargs.column_name`` or the node's ``column_name``).
- Exposures (dashboards, notebooks, analyses, ML models, applications that use
  dbt models) are jobs in the job namespace named ``exposure.<name>``, which
  ``READS`` what they depend on; their owner (email, else name) is the job's, so
  impact analysis names whom to tell and health shows what is at risk.
- Unit tests (v12's ``unit_tests``) check a model's code on fixed rows, not its
  data, so they are not checks: the model's job lists them (``dbt_unit_tests``)
  and their outcomes go on the model's run (``unit_tests``, by name) and the
  invocation's run (by unique id); a failing one fails the invocation and names
  itself in the model's run error.
- Source freshness results (``sources.json``, from ``dbt source freshness``) become
  results of a ``freshness`` check on each source's dataset, keyed by that
  invocation's id: ``pass`` passes, ``warn``, ``error`` and ``runtime error`` do not,
  so a stale source puts what is built from it at risk.
- Run results become one run for the invocation (key: its ``invocation_id``)
  and, per model or snapshot, a child run that writes a dataset version named
  by the invocation id; test results become check results on the version the
  invocation built, so failing tests cascade.

Manifests v7 to v12, run results v4 to v6 and sources v1 to v3 are checked with
``dbt-artifacts-parser``; a file that claims a version but does not match its
schema exactly (dbt's own test fixtures do this) is read leniently, with a
warning, from the fields listed below.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic import Field as PydanticField

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest._build import GraphBuilder, Translation, short_text, sql_code_version
from lineagegraph.ingest._olspec import describe_error
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    EdgeKind,
    Field,
    Job,
    JobSnapshot,
    Origin,
    Result,
    Run,
    RunState,
    SchemaSnapshot,
    format_time,
    parse_time,
)

__all__ = ["Translation", "slim_manifest", "translate_dbt"]

M = TypeVar("M", bound=BaseModel)

DATASET_TYPES = ("model", "seed", "snapshot", "source")
JOB_TYPES = ("model", "snapshot")
SUPPORTED_MANIFESTS = range(7, 13)
SUPPORTED_RUN_RESULTS = range(4, 7)
SUPPORTED_SOURCES = range(1, 4)
# The check that source freshness results belong to, on each source's dataset.
FRESHNESS_CHECK = "freshness"
# Top-level manifest sections that the translation never reads, each with the value
# that keeps a manifest valid for its dbt schema: v7 to v12 require the mappings (an
# empty one will do) and allow null for the others. Macros alone are most of a small
# project's manifest.
_UNREAD_SECTIONS: dict[str, dict[str, Any] | None] = {
    "macros": {},
    "docs": {},
    "selectors": {},
    "metrics": {},
    "semantic_models": {},
    "saved_queries": {},
    "disabled": None,
    "parent_map": None,
    "child_map": None,
    "group_map": None,
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Column(_Lenient):
    name: str | None = None
    description: str | None = None
    data_type: str | None = None
    tags: list[str] = PydanticField(default_factory=list)


class _DependsOn(_Lenient):
    nodes: list[str] = PydanticField(default_factory=list)


class _TestMetadata(_Lenient):
    name: str | None = None
    namespace: str | None = None
    arguments: dict[str, Any] = PydanticField(default_factory=dict, alias="kwargs")


class _Checksum(_Lenient):
    name: str | None = None
    checksum: str | None = None


class _Node(_Lenient):
    unique_id: str
    resource_type: str
    name: str
    package_name: str | None = None
    database: str | None = None
    schema_: str | None = PydanticField(None, alias="schema")
    alias: str | None = None
    identifier: str | None = None
    description: str | None = None
    tags: list[str] = PydanticField(default_factory=list)
    meta: dict[str, Any] = PydanticField(default_factory=dict)
    config: dict[str, Any] = PydanticField(default_factory=dict)
    columns: dict[str, _Column] = PydanticField(default_factory=dict)
    depends_on: _DependsOn = PydanticField(default_factory=_DependsOn)
    test_metadata: _TestMetadata | None = None
    column_name: str | None = None
    attached_node: str | None = None
    model: str | None = None  # the model a unit test tests
    type: str | None = None  # an exposure's: dashboard, notebook, analysis, ml, application
    owner: dict[str, Any] = PydanticField(default_factory=dict)  # an exposure's
    label: str | None = None
    url: str | None = None
    maturity: str | None = None
    raw_code: str | None = None
    raw_sql: str | None = None
    compiled_code: str | None = None
    compiled_sql: str | None = None
    original_file_path: str | None = None
    checksum: _Checksum | str | None = None  # a unit test's is a bare string

    @property
    def relation(self) -> str:
        return self.alias or self.identifier or self.name

    @property
    def code(self) -> str | None:
        return self.compiled_code or self.compiled_sql or self.raw_code or self.raw_sql or None

    @property
    def code_version(self) -> str | None:
        """The model file's checksum, as dbt's ``state:modified`` compares it (``sha256:``
        and its first 12 digits), else a hash of its SQL."""
        found = self.checksum
        if isinstance(found, _Checksum) and found.name and found.checksum and found.name != "none":
            return f"{found.name}:{found.checksum[:12]}"
        return sql_code_version(self.raw_code or self.raw_sql or self.code)


class _ManifestMetadata(_Lenient):
    dbt_schema_version: str | None = None
    dbt_version: str | None = None
    generated_at: str | None = None
    invocation_id: str | None = None
    adapter_type: str | None = None
    project_name: str | None = None


class _Manifest(_Lenient):
    metadata: _ManifestMetadata = PydanticField(default_factory=_ManifestMetadata)
    nodes: dict[str, _Node] = PydanticField(default_factory=dict)
    sources: dict[str, _Node] = PydanticField(default_factory=dict)
    unit_tests: dict[str, _Node] = PydanticField(default_factory=dict)
    exposures: dict[str, _Node] = PydanticField(default_factory=dict)


class _Timing(_Lenient):
    name: str | None = None
    started_at: str | None = None
    completed_at: str | None = None


class _RunResult(_Lenient):
    unique_id: str = ""
    status: str
    timing: list[_Timing] = PydanticField(default_factory=list)
    message: str | None = None
    failures: int | str | None = None
    execution_time: float | None = None
    adapter_response: dict[str, Any] = PydanticField(default_factory=dict)


class _RunResultsMetadata(_Lenient):
    dbt_schema_version: str | None = None
    generated_at: str | None = None
    invocation_id: str | None = None


class _RunResults(_Lenient):
    metadata: _RunResultsMetadata = PydanticField(default_factory=_RunResultsMetadata)
    results: list[_RunResult] = PydanticField(default_factory=list)
    args: dict[str, Any] = PydanticField(default_factory=dict)


class _FreshnessResult(_Lenient):
    unique_id: str = ""
    status: str
    max_loaded_at: str | None = None
    snapshotted_at: str | None = None
    max_loaded_at_time_ago_in_s: float | None = None
    criteria: dict[str, Any] = PydanticField(default_factory=dict)
    error: str | None = None  # a runtime error's message


class _Sources(_Lenient):
    metadata: _RunResultsMetadata = PydanticField(default_factory=_RunResultsMetadata)
    results: list[_FreshnessResult] = PydanticField(default_factory=list)


class _CatalogColumn(_Lenient):
    name: str
    type: str | None = None
    index: int | None = None
    comment: str | None = None


class _CatalogNode(_Lenient):
    columns: dict[str, _CatalogColumn] = PydanticField(default_factory=dict)
    metadata: dict[str, Any] = PydanticField(default_factory=dict)


class _Catalog(_Lenient):
    nodes: dict[str, _CatalogNode] = PydanticField(default_factory=dict)
    sources: dict[str, _CatalogNode] = PydanticField(default_factory=dict)


# dbt colours some messages (a unit test's diff) for a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(message: str | None) -> str | None:
    """A dbt message without terminal colour codes and surrounding blank space."""
    return _ANSI.sub("", message).strip() or None if message else None


_VERSION = re.compile(r"/(manifest|run-results|catalog|sources)/v(\d+)\.json$")


def _freshness_criteria(criteria: Mapping[str, Any]) -> str:
    """``warn after 1 day, error after 30 days`` from a source's freshness criteria."""
    parts = []
    for key in ("warn_after", "error_after"):
        rule = criteria.get(key)
        if isinstance(rule, Mapping) and rule.get("count") and rule.get("period"):
            count, period = rule["count"], rule["period"]
            parts.append(f"{key.replace('_', ' ')} {count} {period}{'s' if count != 1 else ''}")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    """A readable age: ``3 h``, ``1,057 days``."""
    if seconds < 2 * 3600:
        return f"{seconds / 60:,.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:,.0f} h"
    return f"{seconds / 86400:,.0f} days"


def _checked(
    document: Mapping[str, Any],
    what: str,
    supported: range | None,
    strict: Callable[[dict[str, Any]], Any],
    warnings: list[str],
) -> None:
    """Check an artifact against dbt-artifacts-parser; a mismatch is a warning, not an error.

    Only problems in what the translation reads are counted: a manifest's unread sections
    (which :func:`slim_manifest` empties) do not change the translation, and counting
    them would make ``ingest dbt --server`` warn of fewer problems than ``--store``."""
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{what}: must be a JSON object")
    metadata = document.get("metadata")
    schema = metadata.get("dbt_schema_version") if isinstance(metadata, Mapping) else None
    match = _VERSION.search(schema) if isinstance(schema, str) else None
    if match is None:
        raise InvalidInput(f"{what}: metadata.dbt_schema_version is missing or not a dbt schema")
    kind = match.group(1).replace("-", "_")
    if kind != what:  # a run_results.json given as the manifest, say
        raise InvalidInput(
            f"{what}: this is dbt's {kind}.json (its dbt_schema_version says so), not {what}.json"
        )
    version = int(match.group(2))
    if supported is not None and version not in supported:
        warnings.append(
            f"{what}: v{version} is outside the tested range "
            f"v{supported.start}-v{supported.stop - 1}; read leniently"
        )
        return
    try:
        strict(dict(document))
    except (ValidationError, ValueError, TypeError, KeyError) as error:
        if isinstance(error, ValidationError):
            unread = _UNREAD_SECTIONS if what == "manifest" else {}
            count = sum(1 for e in error.errors() if not (e["loc"] and e["loc"][0] in unread))
        else:
            count = 1
        if not count:
            return
        warnings.append(
            f"{what}: does not match the dbt v{version} schema exactly "
            f"({count} problem{'s' if count != 1 else ''}); read leniently"
        )


def _lenient(model: type[M], document: Mapping[str, Any], what: str) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise InvalidInput(describe_error(error, prefix=what)) from None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_time(value)
    except (InvalidInput, OverflowError):
        return None
    return parsed if 1000 <= parsed.year <= 9998 else None


def _owners(node: _Node) -> list[str] | None:
    owner = node.meta.get("owner") or (node.config.get("meta") or {}).get("owner")
    if isinstance(owner, str):
        return [owner]
    if isinstance(owner, list):
        return [str(o) for o in owner]
    return None


def slim_manifest(manifest: Any) -> Any:
    """The manifest with the sections :func:`translate_dbt` never reads emptied.

    It translates to the same changeset with the same warnings, since it still matches
    its dbt schema where the whole manifest does (and schema problems are counted only in
    the sections read); ``ingest dbt --server``
    sends it instead of the whole file. Anything
    but a JSON object is returned as it is, for the translation to refuse.
    """
    if not isinstance(manifest, Mapping):
        return manifest
    slim = dict(manifest)
    for section, empty in _UNREAD_SECTIONS.items():
        if section in slim:
            slim[section] = None if empty is None else {}
    return slim


def translate_dbt(
    manifest: Mapping[str, Any],
    run_results: Mapping[str, Any] | None = None,
    catalog: Mapping[str, Any] | None = None,
    *,
    sources: Mapping[str, Any] | None = None,
    dataset_namespace: str | None = None,
    job_namespace: str | None = None,
) -> Translation:
    """Translate dbt artifacts (decoded JSON) into one ChangeSet.

    ``sources`` is ``sources.json``, the source freshness results.

    Raises :class:`InvalidInput` for a document that is not a dbt artifact or
    lacks the fields the translation needs.
    """
    from dbt_artifacts_parser.parser import (
        parse_catalog,
        parse_manifest,
        parse_run_results,
        parse_sources,
    )

    warnings: list[str] = []
    _checked(manifest, "manifest", SUPPORTED_MANIFESTS, parse_manifest, warnings)
    parsed = _lenient(_Manifest, manifest, "manifest")
    results = None
    if run_results is not None:
        _checked(run_results, "run_results", SUPPORTED_RUN_RESULTS, parse_run_results, warnings)
        results = _lenient(_RunResults, run_results, "run_results")
    cat = None
    if catalog is not None:
        _checked(catalog, "catalog", None, parse_catalog, warnings)
        cat = _lenient(_Catalog, catalog, "catalog")
    freshness = None
    if sources is not None:
        _checked(sources, "sources", SUPPORTED_SOURCES, parse_sources, warnings)
        freshness = _lenient(_Sources, sources, "sources")
    translation = _DbtTranslation(parsed, cat, dataset_namespace, job_namespace, warnings)
    translation.build()
    if results is not None:
        translation.runs(results)
    if freshness is not None:
        translation.freshness(freshness)
    return Translation(translation.b.cs, tuple(warnings))


class _DbtTranslation:
    def __init__(
        self,
        manifest: _Manifest,
        catalog: _Catalog | None,
        dataset_namespace: str | None,
        job_namespace: str | None,
        warnings: list[str],
    ) -> None:
        self.manifest = manifest
        self.catalog = catalog
        self.warnings = warnings
        meta = manifest.metadata
        self.adapter = (meta.adapter_type or "dbt").lower()
        self.at = _time(meta.generated_at)
        if self.at is None:
            raise InvalidInput("manifest.metadata.generated_at: missing or not a timestamp")
        self.b = GraphBuilder(ChangeSet(origin=Origin.DBT), self.at)
        self.nodes: dict[str, _Node] = {
            **manifest.sources,
            **manifest.nodes,
            **manifest.unit_tests,
            **manifest.exposures,
        }
        # model unique id -> the names of its unit tests
        self.unit_tests: dict[str, list[str]] = {}
        for unit_test in manifest.unit_tests.values():
            model = self.unit_tested(unit_test)
            if model is not None:
                self.unit_tests.setdefault(model.unique_id, []).append(unit_test.name)
        self.project = meta.project_name or self._main_package()
        self.dataset_namespace = dataset_namespace
        self.job_namespace = job_namespace or f"dbt://{self.project}"

    def _main_package(self) -> str:
        packages = sorted(
            n.package_name
            for n in self.manifest.nodes.values()
            if n.resource_type == "model" and n.package_name
        )
        return max(packages, key=packages.count) if packages else "dbt"

    # Names ---------------------------------------------------------------------------------------

    def namespace(self, node: _Node) -> str:
        """The dataset namespace of a node."""
        return self.dataset_namespace or f"{self.adapter}://{node.database or 'default'}"

    def dataset_name(self, node: _Node) -> str:
        """The dataset name of a node: database.schema.relation."""
        return ".".join(p for p in (node.database, node.schema_, node.relation) if p)

    def dataset_id(self, node: _Node) -> str:
        """The dataset id of a node."""
        return make_id(Kind.DATASET, self.namespace(node), self.dataset_name(node))

    def job_name(self, node: _Node) -> str:
        """The job name of a model or snapshot, as the OpenLineage dbt integration names it."""
        parts = (node.database, node.schema_, node.package_name or self.project, node.name)
        return ".".join(p for p in parts if p)

    def job_id(self, node: _Node) -> str:
        """The job id of a model or snapshot."""
        return make_id(Kind.JOB, self.job_namespace, self.job_name(node))

    # Catalog -------------------------------------------------------------------------------------

    def build(self) -> None:
        """Datasets, columns, jobs, lineage and checks from the manifest (and catalog)."""
        for unique_id in sorted(self.nodes):
            node = self.nodes[unique_id]
            if node.resource_type in DATASET_TYPES:
                self.dataset(node)
        for unique_id in sorted(self.nodes):
            node = self.nodes[unique_id]
            if node.resource_type in JOB_TYPES:
                self.job(node)
            elif node.resource_type == "test":
                self.test(node)
            elif node.resource_type == "exposure":
                self.exposure(node)

    def cataloged(self, node: _Node) -> _CatalogNode | None:
        """The catalog's entry for a node (its columns as the warehouse has them), if any."""
        if self.catalog is None:
            return None
        listed = self.catalog.sources if node.resource_type == "source" else self.catalog.nodes
        return listed.get(node.unique_id)

    def columns(
        self, node: _Node
    ) -> list[tuple[str, str | None, str | None, int | None, list[str]]]:
        """(name, type, description, ordinal, tags) of a node's columns, catalog order first."""
        found = self.cataloged(node)
        documented = {
            (column.name or key).lower(): (column.name or key, column)
            for key, column in node.columns.items()
        }
        rows: list[tuple[str, str | None, str | None, int | None, list[str]]] = []
        seen: set[str] = set()
        if found is not None:
            for column in sorted(found.columns.values(), key=lambda c: (c.index or 0, c.name)):
                name, doc = documented.get(column.name.lower(), (column.name, None))
                rows.append(
                    (
                        name,
                        column.type or (doc.data_type if doc else None),
                        (doc.description if doc else None) or column.comment or None,
                        column.index,
                        doc.tags if doc else [],
                    )
                )
                seen.add(name.lower())
        for key, (name, doc) in documented.items():
            if key not in seen:
                rows.append((name, doc.data_type, doc.description or None, None, doc.tags))
        return rows

    def dataset(self, node: _Node) -> str:
        """Add the dataset of a model, seed, snapshot or source with its columns."""
        ns, name = self.namespace(node), self.dataset_name(node)
        dataset_id = self.b.entity(
            Dataset(
                namespace=ns,
                name=name,
                description=node.description or None,
                platform=self.adapter,
                owners=_owners(node),
                tags=list(node.tags) or None,
            ),
            {
                "dbt_unique_id": node.unique_id,
                "dbt_resource_type": node.resource_type,
                "materialized": node.config.get("materialized"),
            },
        )
        fields: list[str] = []
        for path, type_, description, ordinal, tags in self.columns(node):
            field_id = self.b.entity(
                Field(
                    namespace=ns,
                    name=name,
                    path=path,
                    type=type_,
                    description=description,
                    ordinal=ordinal,
                    tags=tags or None,
                )
            )
            self.b.link(dataset_id, EdgeKind.HAS_FIELD, field_id)
            fields.append(field_id)
        if self.cataloged(node) is not None:  # the whole schema: columns dropped end
            self.b.cs.schemas.append(
                SchemaSnapshot(dataset_id=dataset_id, at=self.b.stamp, fields=tuple(sorted(fields)))
            )
        return dataset_id

    def parents(self, node: _Node) -> list[_Node]:
        """The datasets a node depends on, in manifest order."""
        found = []
        for parent_id in node.depends_on.nodes:
            parent = self.nodes.get(parent_id)
            if parent is not None and parent.resource_type in DATASET_TYPES:
                found.append(parent)
        return found

    def job(self, node: _Node) -> None:
        """Add the job of a model or snapshot with its lineage."""
        job_id = self.b.entity(
            Job(
                namespace=self.job_namespace,
                name=self.job_name(node),
                description=node.description or None,
                job_type="DBT_MODEL" if node.resource_type == "model" else "DBT_SNAPSHOT",
                processing_type="BATCH",
                integration="DBT",
                sql=node.code,
                code_location=node.original_file_path,
                code_version=node.code_version,
                owners=_owners(node),
                tags=list(node.tags) or None,
            ),
            {
                "dbt_unique_id": node.unique_id,
                "materialized": node.config.get("materialized"),
                "dbt_unit_tests": sorted(self.unit_tests.get(node.unique_id, ())) or None,
            },
        )
        self.flow(job_id, node, self.dataset_id(node))

    def exposure(self, node: _Node) -> None:
        """Add an exposure as a job that reads the datasets it depends on."""
        owner = node.owner.get("email") or node.owner.get("name")
        job_id = self.b.entity(
            Job(
                namespace=self.job_namespace,
                name=f"exposure.{node.name}",
                description=node.description or None,
                job_type="DBT_EXPOSURE",
                integration="DBT",
                code_location=node.original_file_path,
                owners=[str(owner)] if owner else _owners(node),
                tags=list(node.tags) or None,
            ),
            {
                "dbt_unique_id": node.unique_id,
                "exposure_type": node.type,
                "label": node.label,
                "url": node.url,
                "maturity": node.maturity,
            },
        )
        self.flow(job_id, node, None)

    def flow(self, job_id: str, node: _Node, output: str | None) -> None:
        """The job's lineage: its node's parents ``READS`` it, it ``WRITES`` its output;
        a snapshot of both keeps lineage current when a dependency is removed."""
        inputs = [self.dataset_id(p) for p in self.parents(node)]
        for source in inputs:
            self.b.link(source, EdgeKind.READS, job_id)
        if output is not None:
            self.b.link(job_id, EdgeKind.WRITES, output)
        self.b.cs.snapshots.append(
            JobSnapshot(
                job_id=job_id,
                at=format_time(self.b.at),
                inputs=tuple(dict.fromkeys(inputs)),
                outputs=() if output is None else (output,),
            )
        )

    def unit_tested(self, node: _Node) -> _Node | None:
        """The model a unit test tests: the dependency its ``model`` names, else the first."""
        models = [
            self.nodes[n]
            for n in node.depends_on.nodes
            if n in self.nodes and self.nodes[n].resource_type == "model"
        ]
        named = [m for m in models if node.model in (m.name, m.unique_id)]
        found = named or models
        return found[0] if found else None

    def tested(self, node: _Node) -> _Node | None:
        """The dataset node a test checks."""
        candidates = self.parents(node)
        if node.attached_node and node.attached_node in self.nodes:
            return self.nodes[node.attached_node]
        model_ref = str(
            (node.test_metadata.arguments if node.test_metadata else {}).get("model", "")
        )
        match = re.search(
            r"""(?:ref|source)\(\s*['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?""", model_ref
        )
        if match:
            wanted = match.group(2) or match.group(1)
            for candidate in candidates:
                if wanted in (candidate.name, candidate.relation):
                    return candidate
        kind = node.test_metadata.name if node.test_metadata else None
        if kind:
            prefixed = [c for c in candidates if node.name.startswith(f"{kind}_{c.name}_")]
            if prefixed:
                return max(prefixed, key=lambda c: len(c.name))
        return candidates[0] if candidates else None

    def check_of(self, node: _Node) -> tuple[_Node, str | None] | None:
        """The tested dataset node and column of a test, or ``None`` when it tests nothing."""
        tested = self.tested(node)
        if tested is None:
            return None
        kwargs = node.test_metadata.arguments if node.test_metadata else {}
        column = kwargs.get("column_name") or node.column_name
        return tested, str(column) if column else None

    def test(self, node: _Node) -> None:
        """Add a dbt test as a check on its dataset or column."""
        found = self.check_of(node)
        if found is None:
            self.warnings.append(f"{node.unique_id}: tests no model, seed, snapshot or source")
            return
        tested, column = found
        ns, name = self.namespace(tested), self.dataset_name(tested)
        severity = node.config.get("severity")
        check_id = self.b.entity(
            Check(
                namespace=ns,
                name=name,
                check=node.name,
                check_type=node.test_metadata.name if node.test_metadata else "singular",
                field=column,
                severity=str(severity).upper() if severity else None,
                description=node.description or None,
                source="dbt",
            ),
            {"dbt_unique_id": node.unique_id},
        )
        target = self.b.field(ns, name, column) if column else self.b.dataset(ns, name)
        self.b.link(target, EdgeKind.HAS_CHECK, check_id)

    # Run results ---------------------------------------------------------------------------------

    def runs(self, results: _RunResults) -> None:
        """Runs, dataset versions and check results from ``run_results.json``."""
        meta = results.metadata
        invocation = meta.invocation_id
        finished = _time(meta.generated_at)
        if not invocation or finished is None:
            raise InvalidInput(
                "run_results.metadata: needs invocation_id and generated_at to name its runs"
            )
        command = str(results.args.get("which") or "") or None
        invocation_job = self.b.entity(
            Job(
                namespace=self.job_namespace,
                name=self.project,
                job_type="DBT_INVOCATION",
                integration="DBT",
                processing_type="BATCH",
                description=f"dbt invocations of the {self.project} project",
            )
        )
        invocation_run = make_id(Kind.RUN, self.job_namespace, self.project, invocation)
        built: dict[str, str] = {}  # unique id -> dataset version written in this invocation
        starts: list[datetime] = []
        failed = False
        known = []
        # unique id of a model -> {unit test name: status} in this invocation
        unit_outcomes: dict[str, dict[str, _RunResult]] = {}
        for result in results.results:
            node = self.nodes.get(result.unique_id)
            if node is None:
                shown = result.unique_id or "(empty unique_id)"
                self.warnings.append(f"run_results: {shown} is not in the manifest; skipped")
            elif node.resource_type == "exposure":
                continue  # dbt only lists them (no-op); they run nothing
            elif node.resource_type == "unit_test":
                model = self.unit_tested(node)
                key = model.unique_id if model is not None else ""
                unit_outcomes.setdefault(key, {})[node.name] = result
                failed |= result.status in ("fail", "error")
            else:
                known.append((result, node))
        # Models and seeds first, so tests of this invocation evaluate the versions it built.
        order = {"seed": 0, "snapshot": 1, "model": 1, "test": 2}
        known.sort(key=lambda pair: order.get(pair[1].resource_type, 3))
        for result, node in known:
            start, end = self.timing(result, finished)
            starts.append(start)
            if node.resource_type in JOB_TYPES:
                failed |= self.model_run(
                    result,
                    node,
                    invocation,
                    invocation_run,
                    start,
                    end,
                    built,
                    unit_outcomes.get(node.unique_id, {}),
                )
            elif node.resource_type == "seed" and result.status == "success":
                built[node.unique_id] = self.version(node, invocation, None, end, result)
            elif node.resource_type == "test":
                failed |= self.test_result(result, node, invocation, invocation_run, end, built)
        self.b.entity(
            Run(
                namespace=self.job_namespace,
                name=self.project,
                run_id=invocation,
                state=RunState.FAIL if failed else RunState.COMPLETE,
                started_at=min(starts) if starts else finished,
                ended_at=finished,
            ),
            {
                "state_at": format_time(finished),
                "command": command,
                "producer": "dbt",
                "unit_tests": {
                    outcome.unique_id: outcome.status
                    for outcomes in unit_outcomes.values()
                    for outcome in outcomes.values()
                }
                or None,
            },
        )
        self.b.link(invocation_job, EdgeKind.HAS_RUN, invocation_run, at=finished)

    def freshness(self, sources: _Sources) -> None:
        """A ``freshness`` check on each checked source's dataset, and its result."""
        invocation = sources.metadata.invocation_id
        finished = _time(sources.metadata.generated_at)
        if not invocation or finished is None:
            raise InvalidInput(
                "sources.metadata: needs invocation_id and generated_at to name its results"
            )
        for outcome in sources.results:
            node = self.nodes.get(outcome.unique_id)
            if node is None or node.resource_type != "source":
                shown = outcome.unique_id or "(empty unique_id)"
                self.warnings.append(f"sources: {shown} is not a source of the manifest; skipped")
                continue
            ns, name = self.namespace(node), self.dataset_name(node)
            criteria = _freshness_criteria(outcome.criteria)
            check_id = self.b.entity(
                Check(
                    namespace=ns,
                    name=name,
                    check=FRESHNESS_CHECK,
                    check_type="freshness",
                    severity="ERROR" if outcome.criteria.get("error_after") else "WARN",
                    description=f"dbt source freshness: {criteria}" if criteria else None,
                    source="dbt",
                ),
                {"dbt_unique_id": node.unique_id},
            )
            self.b.link(self.dataset_id(node), EdgeKind.HAS_CHECK, check_id, at=finished)
            at = _time(outcome.snapshotted_at) or finished
            age = outcome.max_loaded_at_time_ago_in_s
            observed = (
                f"loaded {outcome.max_loaded_at}, {_duration(age)} before the check"
                if outcome.max_loaded_at and age is not None
                else None
            )
            result_id = self.b.entity(
                Result(
                    namespace=ns,
                    name=name,
                    check=FRESHNESS_CHECK,
                    result=invocation,
                    passed=outcome.status == "pass",
                    observed_at=at,
                    observed=observed,
                    expected=criteria or None,
                    source="dbt",
                    message=_plain(outcome.error) or outcome.status,
                ),
                {"status": outcome.status, "max_loaded_at": outcome.max_loaded_at},
            )
            self.b.link(check_id, EdgeKind.HAS_RESULT, result_id, at=at)

    def timing(self, result: _RunResult, finished: datetime) -> tuple[datetime, datetime]:
        """When a node's execution started and ended (the invocation's end when unknown)."""
        execute = [t for t in result.timing if t.name == "execute"] or result.timing
        start = _time(execute[0].started_at) if execute else None
        end = _time(execute[-1].completed_at) if execute else None
        return start or end or finished, end or start or finished

    def version(
        self, node: _Node, invocation: str, run_id: str | None, at: datetime, result: _RunResult
    ) -> str:
        """Add the dataset version an invocation built for a node; returns its id."""
        rows = result.adapter_response.get("rows_affected")
        version_id = self.b.entity(
            DatasetVersion(
                namespace=self.namespace(node),
                name=self.dataset_name(node),
                version=invocation,
                created_at=at,
                run=run_id,
                schema_fields=[
                    {k: v for k, v in (("path", c[0]), ("type", c[1]), ("ordinal", c[3])) if v}
                    for c in self.columns(node)
                ]
                or None,
                row_count=rows if isinstance(rows, int) and rows >= 0 else None,
            )
        )
        self.b.link(self.dataset_id(node), EdgeKind.HAS_VERSION, version_id, at=at)
        return version_id

    def model_run(
        self,
        result: _RunResult,
        node: _Node,
        invocation: str,
        invocation_run: str,
        start: datetime,
        end: datetime,
        built: dict[str, str],
        unit_outcomes: Mapping[str, _RunResult],
    ) -> bool:
        """Add a model's run (and the version it wrote); returns whether it failed.

        The outcomes of the model's unit tests in this invocation go on the run; one
        that failed is the run's error when the model did not build.
        """
        run_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbt:{invocation}:{node.unique_id}"))
        job_id = self.job_id(node)
        run_id = make_id(Kind.RUN, self.job_namespace, self.job_name(node), run_key)
        state = {"success": RunState.COMPLETE, "error": RunState.FAIL}.get(
            result.status, RunState.ABORT
        )
        parents = self.parents(node)
        error = _plain(result.message) if state is RunState.FAIL else None
        broken = sorted(n for n, r in unit_outcomes.items() if r.status in ("fail", "error"))
        if broken and state is not RunState.COMPLETE:
            first = unit_outcomes[broken[0]]
            error = f"unit test {broken[0]} {first.status}ed: {_plain(first.message)}"
        self.b.entity(
            Run(
                namespace=self.job_namespace,
                name=self.job_name(node),
                run_id=run_key,
                state=state,
                started_at=start,
                ended_at=end,
                error_message=error,
                parent_run=invocation_run,
                code_version=node.code_version,
            ),
            {
                "state_at": format_time(end),
                "inputs": [self.dataset_id(p) for p in parents] or None,
                "outputs": [self.dataset_id(node)],
                "status": result.status,
                "execution_time": result.execution_time,
                "producer": "dbt",
                "unit_tests": {n: r.status for n, r in sorted(unit_outcomes.items())} or None,
            },
        )
        self.b.link(job_id, EdgeKind.HAS_RUN, run_id, at=start)
        self.b.link(invocation_run, EdgeKind.PARENT_OF, run_id, at=start)
        for parent in parents:
            self.b.link(self.dataset_id(parent), EdgeKind.READS, job_id, at=start)
            if parent.unique_id in built:
                self.b.link(built[parent.unique_id], EdgeKind.READ_BY, run_id, at=start)
        if state is RunState.COMPLETE:
            self.b.link(job_id, EdgeKind.WRITES, self.dataset_id(node), at=end)
            version_id = self.version(node, invocation, run_id, end, result)
            self.b.link(run_id, EdgeKind.WROTE, version_id, at=end)
            built[node.unique_id] = version_id
        return state is not RunState.COMPLETE and result.status != "skipped"

    def test_result(
        self,
        result: _RunResult,
        node: _Node,
        invocation: str,
        invocation_run: str,
        at: datetime,
        built: dict[str, str],
    ) -> bool:
        """Add a test's result; returns whether it fails the invocation.

        A ``warn`` is a failed result (the check's severity says it only warns), but
        dbt does not fail the invocation for it.
        """
        if result.status == "skipped":
            return False
        found = self.check_of(node)
        if found is None:
            return False
        tested, _ = found
        passed = result.status == "pass"
        failures = result.failures
        version_id = built.get(tested.unique_id)
        result_id = self.b.entity(
            Result(
                namespace=self.namespace(tested),
                name=self.dataset_name(tested),
                check=node.name,
                result=invocation,
                passed=passed,
                observed_at=at,
                observed=short_text(failures) if failures not in (None, "") else None,
                expected="0",
                dataset_version=version_id,
                run=invocation_run,
                source="dbt",
                message=_plain(result.message) or result.status,
            ),
            {"status": result.status},
        )
        check_id = make_id(Kind.CHECK, self.namespace(tested), self.dataset_name(tested), node.name)
        self.b.link(check_id, EdgeKind.HAS_RESULT, result_id, at=at)
        if version_id is not None:
            self.b.link(result_id, EdgeKind.EVALUATED, version_id, at=at)
        return result.status in ("fail", "error")
