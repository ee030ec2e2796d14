"""Impact of a schema change (ARCHITECTURE §4.2): what breaks downstream, and who to tell.

Input is a dataset and either explicit changes (drop, rename or retype a field,
add one, drop the dataset) or a complete proposed schema, which is diffed
against the dataset's current fields (fields marked deleted are ignored; a
rename cannot be told from a drop plus an add, so a diff reports those).

Each change is classified BREAKING or NON_BREAKING with a reason, per the table
in :mod:`lineagegraph.algorithms.types_compat`: drops and renames break; type
changes break unless they widen; nullable → required breaks, required →
nullable does not; an added field does not break readers (an added *required*
field must be supplied by the dataset's writers, which the change's note names).

Consumers are found with current lineage (as of now):

* **COLUMN precision** — from the changed field (and fields nested in it) along
  DERIVES to the fields derived from it, COMPUTED_FROM to features, TRAINED_ON
  to model versions and SERVES to the deployments serving those versions now.
  The job named on each DERIVES edge, and the job that writes each reached
  feature or model version, is affected too (its path ends with it, at the hop
  count of what it produces).
* **DATASET precision** — where column lineage is unknown, dataset-level
  lineage is followed instead, and the change's notes say where: a job that
  reads an affected dataset without any DERIVES edge from that dataset naming it
  (jobs that write only features or model versions count as described when the
  dataset's fields carry COMPUTED_FROM or TRAINED_ON edges), a feature or model
  version computed from or trained on the whole dataset, and a job that reads an
  affected feature or model version. Dropping a dataset uses dataset-level
  lineage throughout.

Every affected entity has its kind, the changes reaching it, ``hops`` (data-flow
edges from the changed field), ``direct`` (one hop), the ``path`` of ids that
reaches it and the precision. In a path, a dataset right after one of its own
fields marks the step from column to dataset level; containment adds no hop.
An entity reached by column lineage keeps that path even if dataset-level
lineage also reaches it. A dataset reached through some of its fields is
``partial`` and lists them. Owners to notify are the ``owners`` of affected
datasets, jobs, features, deployments and of the models of affected versions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, model_validator

from lineagegraph.algorithms.cascade import check_of_result
from lineagegraph.algorithms.lineage import (
    ML_FIELD_KINDS,
    dataset_level_expander,
    dataset_of_field,
    fields_of,
)
from lineagegraph.algorithms.traversal import Traversal, bfs
from lineagegraph.algorithms.types_compat import (
    Verdict,
    compare_nullability,
    compare_types,
    dialect_of,
)
from lineagegraph.collector import collector_paused
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, dataset_of, kind_of, make_id, parse_id, short_name
from lineagegraph.model import DATASET_FLOW_KINDS, Direction, Edge, EdgeKind, Node
from lineagegraph.store.base import Store

__all__ = [
    "AffectedEntity",
    "ChangeAction",
    "ClassifiedChange",
    "Compatibility",
    "FieldChange",
    "ImpactPrecision",
    "ImpactReport",
    "OwnerNotice",
    "ProposedField",
    "SchemaChange",
    "impact",
]


class ChangeAction(StrEnum):
    """What a schema change does."""

    DROP_FIELD = "DROP_FIELD"
    RENAME_FIELD = "RENAME_FIELD"
    CHANGE_TYPE = "CHANGE_TYPE"
    ADD_FIELD = "ADD_FIELD"
    DROP_DATASET = "DROP_DATASET"


class Compatibility(StrEnum):
    """Whether a change breaks the dataset's readers."""

    BREAKING = "BREAKING"
    NON_BREAKING = "NON_BREAKING"


class ImpactPrecision(StrEnum):
    """How a consumer was found: through column lineage, or dataset-level lineage."""

    COLUMN = "COLUMN"
    DATASET = "DATASET"


# Characters a Markdown report stays within: a GitHub comment holds 65,536.
MARKDOWN_LIMIT = 60_000


class FieldChange(BaseModel):
    """One explicit change to a dataset's schema.

    ``path`` names the field (not used by DROP_DATASET); RENAME_FIELD needs
    ``new_name``; CHANGE_TYPE needs ``new_type`` or ``nullable`` (``None`` keeps
    that part as it is); ADD_FIELD may give ``new_type`` and ``nullable``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ChangeAction
    path: str | None = None
    new_name: str | None = None
    new_type: str | None = None
    nullable: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        action = self.action
        if action is ChangeAction.DROP_DATASET:
            if self.path or self.new_name or self.new_type or self.nullable is not None:
                raise ValueError("DROP_DATASET takes no path, name, type or nullability")
            return self
        if not self.path:
            raise ValueError(f"{action.value} needs the path of a field")
        if action is ChangeAction.RENAME_FIELD:
            if not self.new_name:
                raise ValueError("RENAME_FIELD needs newName")
            if self.new_name == self.path:
                raise ValueError("RENAME_FIELD needs a newName different from path")
        elif self.new_name is not None:
            raise ValueError(f"{action.value} takes no newName")
        if action is ChangeAction.CHANGE_TYPE and self.new_type is None and self.nullable is None:
            raise ValueError("CHANGE_TYPE needs newType or nullable")
        if action in (ChangeAction.DROP_FIELD, ChangeAction.RENAME_FIELD) and (
            self.new_type is not None or self.nullable is not None
        ):
            raise ValueError(f"{action.value} takes no type or nullability")
        if self.new_type is not None and not self.new_type.strip():
            raise ValueError("newType must not be empty")
        return self

    @classmethod
    def drop_field(cls, path: str) -> FieldChange:
        """Drop the field at ``path`` (and the fields nested in it)."""
        return cls(action=ChangeAction.DROP_FIELD, path=path)

    @classmethod
    def rename_field(cls, path: str, new_name: str) -> FieldChange:
        """Rename the field at ``path`` to ``new_name``."""
        return cls(action=ChangeAction.RENAME_FIELD, path=path, new_name=new_name)

    @classmethod
    def change_type(
        cls, path: str, new_type: str | None = None, nullable: bool | None = None
    ) -> FieldChange:
        """Change the type and/or nullability of the field at ``path``."""
        return cls(action=ChangeAction.CHANGE_TYPE, path=path, new_type=new_type, nullable=nullable)

    @classmethod
    def add_field(
        cls, path: str, new_type: str | None = None, nullable: bool | None = None
    ) -> FieldChange:
        """Add a field at ``path``."""
        return cls(action=ChangeAction.ADD_FIELD, path=path, new_type=new_type, nullable=nullable)

    @classmethod
    def drop_dataset(cls) -> FieldChange:
        """Drop the whole dataset."""
        return cls(action=ChangeAction.DROP_DATASET)

    def describe(self) -> str:
        """A short human-readable description, e.g. ``rename amount -> amount_usd``."""
        action = self.action
        if action is ChangeAction.DROP_DATASET:
            return "drop dataset"
        if action is ChangeAction.DROP_FIELD:
            return f"drop {self.path}"
        if action is ChangeAction.RENAME_FIELD:
            return f"rename {self.path} -> {self.new_name}"
        parts = []
        if self.new_type is not None:
            parts.append(f"type {self.new_type}")
        if self.nullable is not None:
            parts.append("nullable" if self.nullable else "required")
        verb = "add" if action is ChangeAction.ADD_FIELD else "change"
        return f"{verb} {self.path}" + (f" ({', '.join(parts)})" if parts else "")


class ProposedField(BaseModel):
    """One field of a complete proposed schema; ``None`` type or nullability: as it is now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    type: str | None = None
    nullable: bool | None = None


class SchemaChange(BaseModel):
    """The input of impact analysis: a dataset and its changes, or its proposed schema."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset_id: str
    changes: list[FieldChange] | None = None
    proposed_schema: list[ProposedField] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.changes is None) == (self.proposed_schema is None):
            raise ValueError("give either changes or proposedSchema, not both or neither")
        if self.changes is not None and not self.changes:
            raise ValueError("changes must not be empty")
        if self.proposed_schema is not None:
            paths = [f.path for f in self.proposed_schema]
            if any(not p for p in paths):
                raise ValueError("every proposed field needs a path")
            if len(set(paths)) != len(paths):
                raise ValueError("proposedSchema names a path twice")
        return self


class ClassifiedChange(BaseModel):
    """A change with its verdict, the field it touches and how its consumers were found."""

    model_config = ConfigDict(frozen=True)

    index: int
    change: FieldChange
    field_id: str | None
    old_type: str | None = None
    old_nullable: bool | None = None
    compatibility: Compatibility
    reason: str
    precision: ImpactPrecision | None  # None: nothing downstream to look for (added field)
    notes: tuple[str, ...] = ()

    @property
    def breaking(self) -> bool:
        """Whether the change is BREAKING."""
        return self.compatibility is Compatibility.BREAKING


class AffectedEntity(BaseModel):
    """An entity downstream of a change, with the evidence of how it is reached."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    name: str
    changes: tuple[int, ...]  # indexes into ImpactReport.changes
    breaking: bool  # reached by at least one BREAKING change
    direct: bool
    hops: int
    path: tuple[str, ...]
    precision: ImpactPrecision
    partial: bool = False
    fields: tuple[str, ...] = ()  # for a partial dataset: its affected fields


class OwnerNotice(BaseModel):
    """An owner to notify and the affected entities they own."""

    model_config = ConfigDict(frozen=True)

    owner: str
    owns: tuple[str, ...]
    breaking: bool


_KIND_ORDER = {
    Kind.FIELD: 0,
    Kind.DATASET: 1,
    Kind.JOB: 2,
    Kind.FEATURE: 3,
    Kind.MODEL_VERSION: 4,
    Kind.DEPLOYMENT: 5,
    Kind.CHECK: 6,
}
_KIND_WORDS = {
    Kind.FIELD: ("field", "fields"),
    Kind.DATASET: ("dataset", "datasets"),
    Kind.JOB: ("job", "jobs"),
    Kind.FEATURE: ("feature", "features"),
    Kind.MODEL_VERSION: ("model version", "model versions"),
    Kind.DEPLOYMENT: ("deployment", "deployments"),
    Kind.CHECK: ("check", "checks"),
}


class ImpactReport(BaseModel):
    """The impact of a schema change: verdicts, affected consumers and owners."""

    model_config = ConfigDict(frozen=True)

    dataset_id: str
    changes: list[ClassifiedChange]
    affected: list[AffectedEntity]  # by hops, kind (in flow order), id
    owners: list[OwnerNotice]  # by owner
    breaking: bool  # at least one change is BREAKING
    truncated: bool = False
    # False when a proposed schema was diffed against a dataset with no recorded fields:
    # every field reads as added, so what it drops or retypes cannot be told
    schema_recorded: bool = True
    summary: str

    def of_kind(self, kind: Kind) -> list[AffectedEntity]:
        """The affected entities of one kind."""
        return [a for a in self.affected if a.kind is kind]

    @property
    def fields(self) -> list[AffectedEntity]:
        """Affected fields."""
        return self.of_kind(Kind.FIELD)

    @property
    def datasets(self) -> list[AffectedEntity]:
        """Affected datasets (``partial`` ones through some of their fields)."""
        return self.of_kind(Kind.DATASET)

    @property
    def jobs(self) -> list[AffectedEntity]:
        """Affected jobs."""
        return self.of_kind(Kind.JOB)

    @property
    def features(self) -> list[AffectedEntity]:
        """Affected features."""
        return self.of_kind(Kind.FEATURE)

    @property
    def model_versions(self) -> list[AffectedEntity]:
        """Affected model versions."""
        return self.of_kind(Kind.MODEL_VERSION)

    @property
    def models(self) -> list[str]:
        """Ids of the models that affected versions belong to, sorted."""
        return sorted({_model_of(a.id) for a in self.model_versions})

    @property
    def deployments(self) -> list[AffectedEntity]:
        """Deployments serving an affected model version now."""
        return self.of_kind(Kind.DEPLOYMENT)

    def to_markdown(self, limit: int = MARKDOWN_LIMIT) -> str:
        """The report as Markdown for a pull-request comment: changes, owners, consumers.

        Owners come before consumers, and each table (and the notes) stops where the text
        would pass ``limit`` characters (a GitHub comment holds 65,536), saying how many
        rows were left out; the JSON answer lists them all.
        """
        verdict = "**BREAKING**" if self.breaking else "**NON-BREAKING**"
        lines = [
            # a heading is not a table: its code span needs no escaped "|"
            "## Schema change impact: `" + self.dataset_id.replace("`", "'") + "`",
            "",
            f"{verdict}: {_cell(self.summary)}",
            "",
            "### Changes",
            "",
        ]
        changes = [
            f"| {c.index} | {_cell(c.change.describe())} | {c.compatibility.value} | "
            f"{_cell(c.reason)} | {c.precision.value if c.precision else '-'} |"
            for c in self.changes
        ]
        # each note says which change it is about, as the CLI's table does
        notes = [f"- #{c.index}: {_cell(n)}" for c in self.changes for n in c.notes]
        owners = [
            f"| {_cell(o.owner)} | {'yes' if o.breaking else 'no'} | "
            + ", ".join(_code(i) for i in o.owns)
            + " |"
            for o in self.owners
        ]
        consumers = []
        for a in self.affected:
            kind = a.kind.value + (" (partial)" if a.partial else "")
            path = " → ".join(_code(p) for p in a.path)
            indices = ", ".join(str(i) for i in a.changes)
            consumers.append(
                f"| {kind} | {_code(a.id)} | {indices} | {'yes' if a.breaking else 'no'} | "
                f"{'yes' if a.direct else 'no'} | {a.hops} | {a.precision.value} | {path} |"
            )
        tail = (
            ["", "_The search for consumers hit a server bound; the list is incomplete._"]
            if self.truncated
            else []
        )
        # What is left for the tables, with room for their headings and notes.
        budget = [limit - sum(len(line) + 1 for line in lines + tail) - 600]
        lines += _table(
            ["| # | Change | Verdict | Reason | Precision |", "|---|---|---|---|---|"],
            changes,
            "changes",
            budget,
        ) or ["No changes."]
        if notes:
            lines += ["", "Notes:", ""]
            lines += _table([], notes, "notes", budget)
        lines += ["", "### Owners to notify", ""]
        lines += _table(
            ["| Owner | Breaking | Owns |", "|---|---|---|"], owners, "owners", budget
        ) or ["No owners recorded."]
        lines += ["", "### Affected consumers", ""]
        lines += _table(
            [
                "| Kind | Entity | Changes | Breaking | Direct | Hops | Precision | Path |",
                "|---|---|---|---|---|---|---|---|",
            ],
            consumers,
            "consumers",
            budget,
        ) or ["No known consumers."]
        return "\n".join(lines + tail) + "\n"


def _table(header: list[str], rows: list[str], what: str, budget: list[int]) -> list[str]:
    """A Markdown table of the rows that fit in ``budget[0]`` characters (spent from it),
    and a line saying how many did not; empty when there are no rows."""
    if not rows:
        return []
    kept = list(header)
    budget[0] -= sum(len(line) + 1 for line in header)
    for row in rows:
        if len(row) + 1 > budget[0]:
            break
        kept.append(row)
        budget[0] -= len(row) + 1
    left = len(rows) - (len(kept) - len(header))
    if left:
        kept += ["", f"_{left:,} more {what} not shown here; the JSON answer lists all._"]
    return kept


def _cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """An id as inline code inside a table cell."""
    if "`" in text:
        return _cell(text)
    return "`" + text.replace("|", "\\|").replace("\n", " ") + "`"


def _model_of(version_id: str) -> str:
    key = parse_id(version_id)
    return make_id(Kind.MODEL, key.namespace, key.name)


# --- the analysis -------------------------------------------------------------------------------


class _Reach:
    """How one change reaches one entity."""

    __slots__ = ("hops", "path", "precision")

    def __init__(self, hops: int, path: tuple[str, ...], precision: ImpactPrecision) -> None:
        self.hops = hops
        self.path = path
        self.precision = precision

    def rank(self) -> tuple[int, int, tuple[str, ...]]:
        return (0 if self.precision is ImpactPrecision.COLUMN else 1, self.hops, self.path)


_PROPAGATING = (
    ChangeAction.DROP_FIELD,
    ChangeAction.RENAME_FIELD,
    ChangeAction.CHANGE_TYPE,
    ChangeAction.DROP_DATASET,
)
_FIELD_PREFIX = Kind.FIELD.value.lower() + "|"
_COLUMN_KINDS = frozenset(
    {EdgeKind.DERIVES, EdgeKind.COMPUTED_FROM, EdgeKind.TRAINED_ON, EdgeKind.SERVES}
)


# The searches allocate a hop per edge crossed; collections triggered meanwhile would scan
# the whole graph for nothing (see lineagegraph.collector).
@collector_paused()
def impact(
    store: Store,
    change: SchemaChange,
    *,
    max_nodes: int | None = None,
    timeout: float | None = None,
) -> ImpactReport:
    """Classify each change and find what it affects downstream (see the module docstring).

    ``max_nodes`` and ``timeout`` bound each change's search for consumers; the
    report is ``truncated`` when one was hit. Raises :class:`NotFound` for an
    unknown dataset and :class:`InvalidInput` when the id is not a dataset or a
    change names a field that does not exist (or, to add or rename to, does).
    """
    dataset_id = change.dataset_id
    dataset = store.get([dataset_id]).get(dataset_id)
    if dataset is None:
        raise NotFound(f"no entity with id {dataset_id!r}")
    if dataset.kind is not Kind.DATASET:
        raise InvalidInput(f"impact analysis needs a DATASET; {dataset_id!r} is a {dataset.kind}")
    schema = _current_schema(store, dataset)
    if change.changes is not None:
        explicit = [_stored_case(item, schema) for item in change.changes]
        _validate(explicit, schema, dataset)
    else:
        assert change.proposed_schema is not None
        explicit = _diff(schema, change.proposed_schema, dialect_of(dataset.namespace))
    # a diff against no recorded fields finds only additions: say so, not "non-breaking"
    unrecorded = change.proposed_schema is not None and not schema
    deadline = None if timeout is None else time.monotonic() + timeout
    proofs = _not_null_proofs(store, explicit, schema, dialect_of(dataset.namespace))

    classified: list[ClassifiedChange] = []
    reaches: dict[str, dict[int, _Reach]] = defaultdict(dict)
    truncated = False
    for index, item in enumerate(explicit, start=1):
        verdict, reason, field_id, old = _classify(item, schema, dataset, proofs)
        notes: list[str] = []
        if index == 1 and unrecorded:
            notes.append(_UNRECORDED.format(dataset_id))
        precision: ImpactPrecision | None = None
        if item.action is ChangeAction.ADD_FIELD:
            if item.nullable is False:
                writers = _writers(store, dataset_id)
                if writers:
                    notes.append(
                        f"{item.path} is added as required: {', '.join(writers)} must supply it"
                    )
        elif item.action in _PROPAGATING and (verdict or _changes_something(item, old, dataset)):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            search = _Search(store, dataset_id, max_nodes, remaining)
            if item.action is ChangeAction.DROP_DATASET:
                search.dataset_level(dataset_id)
            else:
                assert field_id is not None
                search.column_level(field_id)
            precision = search.precision
            notes.extend(search.notes)
            truncated = truncated or search.truncated
            for entity_id, reach in search.found.items():
                reaches[entity_id][index] = reach
            for check_id, reach in _checks_on(store, item, dataset_id, field_id, schema):
                reaches[check_id][index] = reach
        classified.append(
            ClassifiedChange(
                index=index,
                change=item,
                field_id=field_id,
                old_type=old.attrs.get("type") if old else None,
                old_nullable=old.attrs.get("nullable") if old else None,
                compatibility=Compatibility.BREAKING if verdict else Compatibility.NON_BREAKING,
                reason=reason,
                precision=precision,
                notes=tuple(notes),
            )
        )
    affected = _affected(store, reaches, classified)
    owners = _owners(store, affected)
    breaking = any(c.breaking for c in classified)
    return ImpactReport(
        dataset_id=dataset_id,
        changes=classified,
        affected=affected,
        owners=owners,
        breaking=breaking,
        truncated=truncated,
        schema_recorded=not unrecorded,
        summary=_summary(dataset, classified, affected, owners, truncated, unrecorded),
    )


_UNRECORDED = (
    "{} has no recorded fields, so every proposed field reads as added: the diff cannot "
    "find dropped, renamed or retyped fields (ingest its schema first)"
)


def _current_schema(store: Store, dataset: Node) -> dict[str, Node]:
    """The dataset's current fields by path (deleted ones left out)."""
    ids = fields_of(store, [dataset.id])
    nodes = store.get(ids)
    schema: dict[str, Node] = {}
    for field_id in ids:
        node = nodes.get(field_id)
        if node is None or node.attrs.get("deleted"):
            continue
        schema[node.parts[0]] = node
    return schema


# What leaves a path: nothing can be added under it in the same change list.
_GONE = (ChangeAction.DROP_FIELD, ChangeAction.RENAME_FIELD)


def _validate(changes: list[FieldChange], schema: dict[str, Node], dataset: Node) -> None:
    """Refuse changes to fields that do not exist (or, to add or rename to, do), and
    change lists that contradict themselves: each field changes once, a name is taken
    once, a nested field is added under a field that exists, a dropped dataset alone.
    Where the warehouse folds names (Snowflake), a name in other case is the same column."""
    folds = dialect_of(dataset.namespace) is not None

    def stored(name: str) -> str | None:
        """The stored field a new name would be, if any."""
        if name in schema:
            return name
        found = _same_name(name, schema) if folds else []
        return found[0] if found else None

    if len(changes) > 1 and any(c.action is ChangeAction.DROP_DATASET for c in changes):
        raise InvalidInput("DROP_DATASET drops every field: give it alone")
    changed: dict[str, int] = {}  # path -> index of the change that names it
    taken: dict[str, int] = {}  # a name added or renamed to -> index of that change
    for index, item in enumerate(changes):
        if item.action is ChangeAction.DROP_DATASET:
            continue
        assert item.path is not None
        where = f"changes[{index}]"
        exists = item.path in schema
        if item.path in changed:
            earlier = changed[item.path]
            raise InvalidInput(f"{where}: {item.path!r} is changed by changes[{earlier}] already")
        if item.path in taken:
            earlier = taken[item.path]
            raise InvalidInput(f"{where}: {item.path!r} is taken by changes[{earlier}] already")
        if item.action is ChangeAction.ADD_FIELD:
            if stored(item.path) is not None:
                raise InvalidInput(f"{dataset.id} already has a field {stored(item.path)!r}")
            parent, dot, _ = item.path.rpartition(".")
            if dot and parent in changed and changes[changed[parent]].action in _GONE:
                earlier = changed[parent]
                raise InvalidInput(
                    f"{where}: {parent!r} is dropped or renamed by changes[{earlier}] already"
                )
            if dot and parent not in schema and parent not in taken:
                raise InvalidInput(f"{where}: no field {parent!r} to add {item.path!r} under")
            taken[item.path] = index
            continue
        if not exists:
            raise InvalidInput(f"{dataset.id} has no field {item.path!r}")
        changed[item.path] = index
        if item.action is ChangeAction.RENAME_FIELD:
            assert item.new_name is not None
            if stored(item.new_name) == item.path:
                raise InvalidInput(
                    f"{where}: {item.new_name!r} is {item.path!r} in other case, which "
                    f"{dialect_of(dataset.namespace)} folds: the same column"
                )
            if stored(item.new_name) is not None:
                raise InvalidInput(f"{dataset.id} already has a field {stored(item.new_name)!r}")
            if item.new_name in taken:
                raise InvalidInput(
                    f"{where}: {item.new_name!r} is taken by changes[{taken[item.new_name]}] "
                    "already"
                )
            taken[item.new_name] = index


def _same_name(path: str, schema: Collection[str]) -> list[str]:
    """The paths of the schema that name ``path`` when case does not count."""
    folded = path.casefold()
    return [p for p in schema if p.casefold() == folded]


def _stored_case(item: FieldChange, schema: dict[str, Node]) -> FieldChange:
    """A change naming an existing field in other case names it as stored.

    Warehouses fold unquoted names (Snowflake to upper case, Postgres to lower case), and
    catalogs, contracts and results spell the same column either way. A name that fits
    several stored fields when case does not count is left as given.
    """
    if item.path is None or item.path in schema or item.action is ChangeAction.ADD_FIELD:
        return item
    found = _same_name(item.path, schema)
    return item.model_copy(update={"path": found[0]}) if len(found) == 1 else item


def _diff(
    schema: dict[str, Node], proposed: Sequence[ProposedField], dialect: str | None = None
) -> list[FieldChange]:
    """The changes that turn the current schema into the proposed one, by path.

    A proposed field matches the stored one of its path, else the only stored one of
    its name when case does not count (:func:`_stored_case`). Where the warehouse folds
    names (``dialect``: Snowflake), a stored field that a proposed name fits when case
    does not count is the same column spelled twice, and is not dropped.
    """
    wanted = {f.path: f for f in proposed}
    for path in [p for p in wanted if p not in schema]:
        found = [p for p in _same_name(path, schema) if p not in wanted]
        if len(found) == 1:
            wanted[found[0]] = wanted.pop(path)
    kept = {p.casefold() for p in wanted} if dialect is not None else set()
    changes: list[FieldChange] = []
    for path in sorted(set(schema) | set(wanted)):
        old, new = schema.get(path), wanted.get(path)
        if new is None and path.casefold() in kept:
            continue
        if new is None:
            changes.append(FieldChange.drop_field(path))
        elif old is None:
            changes.append(FieldChange.add_field(path, new.type, new.nullable))
        else:
            old_type = old.attrs.get("type")
            new_type = new.type
            if new_type is not None and not compare_types(old_type, new_type, dialect).changed:
                new_type = None
            nullable = new.nullable
            if nullable is not None and nullable == old.attrs.get("nullable", True):
                nullable = None
            if new_type is not None or nullable is not None:
                changes.append(FieldChange.change_type(path, new_type, nullable))
    return changes


def _classify(
    item: FieldChange, schema: dict[str, Node], dataset: Node, proofs: dict[str, str]
) -> tuple[bool, str, str | None, Node | None]:
    """(breaking, reason, field id, current field) for one change."""
    action = item.action
    if action is ChangeAction.DROP_DATASET:
        return True, "dropping the dataset removes every field its consumers read", None, None
    assert item.path is not None
    field_id = make_id(Kind.FIELD, dataset.namespace, dataset.name, item.path)
    old = schema.get(item.path)
    if action is ChangeAction.ADD_FIELD:
        if item.nullable is False:
            return (
                False,
                "an added field is not read by existing consumers; as it is required, the "
                "dataset's writers must supply it and existing rows need a default or backfill",
                field_id,
                None,
            )
        return False, "an added field is not read by existing consumers", field_id, None
    if action is ChangeAction.DROP_FIELD:
        return True, "consumers of a dropped field lose their input", field_id, old
    if action is ChangeAction.RENAME_FIELD:
        return (
            True,
            f"consumers that read {item.path!r} by name no longer find it "
            f"(renamed to {item.new_name!r})",
            field_id,
            old,
        )
    assert old is not None
    type_verdict = compare_types(
        old.attrs.get("type"), item.new_type, dialect_of(dataset.namespace)
    )
    null_verdict = compare_nullability(old.attrs.get("nullable"), item.nullable)
    if null_verdict.breaking:
        proof = proofs.get(item.path)
        if proof is not None:
            null_verdict = Verdict(
                False,
                f"nullable -> required: {proof}, so no stored value is null; writers that "
                "send nulls will fail",
            )
    reasons = [v.reason for v in (type_verdict, null_verdict) if v.changed]
    if not reasons:  # nothing changes: say why (an alias of the same type, say)
        reasons = [type_verdict.reason if item.new_type is not None else null_verdict.reason]
    breaking = type_verdict.breaking or null_verdict.breaking
    return breaking, "; ".join(reasons), field_id, old


def _checks_on(
    store: Store, item: FieldChange, dataset_id: str, field_id: str | None, schema: dict[str, Node]
) -> list[tuple[str, _Reach]]:
    """The checks on what a change touches (a data test on a dropped column fails or
    errors): those of the field, or for a dropped dataset its own and its fields'."""
    if item.action is ChangeAction.DROP_DATASET:
        targets = [dataset_id, *(node.id for node in schema.values())]
    else:
        assert field_id is not None
        targets = [field_id]
    return [
        (
            hop.target,
            _Reach(
                1,
                (hop.source, hop.target),
                ImpactPrecision.DATASET if hop.source == dataset_id else ImpactPrecision.COLUMN,
            ),
        )
        for hop in store.expand(targets, Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK])
    ]


# Check types that assert a column holds no nulls (dbt, Great Expectations, OpenLineage).
_NOT_NULL_CHECKS = frozenset({"not_null", "expect_column_values_to_not_be_null"})


def _not_null_proofs(
    store: Store, changes: Sequence[FieldChange], schema: dict[str, Node], dialect: str | None
) -> dict[str, str]:
    """Why a field that the changes make required holds no nulls now, by path: a
    not-null check on it (on any spelling of it where the warehouse folds names) that has
    results, none of which fails now (its field's stored health holds no failure of it).
    """
    paths = [
        c.path
        for c in changes
        if c.action is ChangeAction.CHANGE_TYPE and c.nullable is False and c.path in schema
    ]
    spelled = {
        p: [schema[s].id for s in (_same_name(p, schema) if dialect else [p])] for p in paths
    }
    fields = sorted({i for ids in spelled.values() for i in ids})
    if not fields:
        return {}
    hops = store.expand(fields, Direction.DOWNSTREAM, [EdgeKind.HAS_CHECK])
    checks = store.get(sorted({h.target for h in hops}))
    wanted = sorted(c for c, n in checks.items() if n.attrs.get("check_type") in _NOT_NULL_CHECKS)
    if not wanted:
        return {}
    ran = {h.source for h in store.expand(wanted, Direction.DOWNSTREAM, [EdgeKind.HAS_RESULT])}
    failing = {
        check_of_result(reason.result_id)
        for record in store.health(fields).values()
        for reason in record.reasons
        if reason.hops == 0
    }
    passing = {c for c in wanted if c in ran and c not in failing}
    proofs: dict[str, str] = {}
    for path, ids in spelled.items():
        found = sorted(h.target for h in hops if h.source in ids and h.target in passing)
        if found:
            proofs[path] = f"its check {short_name(found[0])} passes"
    return proofs


def _changes_something(item: FieldChange, old: Node | None, dataset: Node) -> bool:
    """Whether a non-breaking change still changes the field (so consumers are listed)."""
    if item.action is not ChangeAction.CHANGE_TYPE or old is None:
        return True
    dialect = dialect_of(dataset.namespace)
    type_verdict = compare_types(old.attrs.get("type"), item.new_type, dialect)
    null_verdict = compare_nullability(old.attrs.get("nullable"), item.nullable)
    return type_verdict.changed or null_verdict.changed


def _writers(store: Store, dataset_id: str) -> list[str]:
    hops = store.expand([dataset_id], Direction.UPSTREAM, [EdgeKind.WRITES])
    return sorted({h.target for h in hops})


class _Search:
    """The consumers one change reaches: column lineage first, dataset level where unknown."""

    def __init__(
        self, store: Store, dataset_id: str, max_nodes: int | None, timeout: float | None
    ) -> None:
        self.store = store
        self.dataset_id = dataset_id
        self.max_nodes = max_nodes
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.found: dict[str, _Reach] = {}
        self.notes: list[str] = []
        self.truncated = False
        self.precision = ImpactPrecision.COLUMN
        self.used = 0

    def _budget(self) -> tuple[int | None, float | None]:
        nodes = None if self.max_nodes is None else max(0, self.max_nodes - self.used)
        seconds = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        return nodes, seconds

    def _keep(self, entity_id: str, reach: _Reach) -> None:
        old = self.found.get(entity_id)
        if old is None or reach.rank() < old.rank():
            self.found[entity_id] = reach

    def dataset_level(self, dataset_id: str) -> None:
        """Dropping a dataset: everything downstream of it, at dataset level."""
        self.precision = ImpactPrecision.DATASET
        self._spread({dataset_id: _Reach(0, (dataset_id,), ImpactPrecision.DATASET)})
        self.found.pop(dataset_id, None)

    def column_level(self, field_id: str) -> None:
        """A field change: column lineage, then dataset level where column lineage is unknown."""
        store = self.store
        sources = [field_id, *fields_of(store, [field_id])]
        nodes, seconds = self._budget()
        traversal = bfs(
            store,
            sources,
            Direction.DOWNSTREAM,
            _COLUMN_KINDS,
            max_nodes=nodes,
            timeout=seconds,
        )
        self.used += len(traversal.reached) - len(sources)
        self.truncated = self.truncated or traversal.truncated
        column: dict[str, _Reach] = {}
        for reached in traversal.reached.values():
            path = tuple(traversal.path_to(reached.id))
            column[reached.id] = _Reach(reached.depth, path, ImpactPrecision.COLUMN)
        for source in sources:
            column.pop(source, None)
        for entity_id, reach in column.items():
            self._keep(entity_id, reach)
        entry = self._entry_fields(sources, column)
        # The DERIVES edges out of every affected dataset, fetched once: they name the jobs
        # on the column paths walked and tell which readers column lineage describes.
        all_fields = fields_of(store, sorted(entry))
        derives = {
            e.key: e for e in store.edges(all_fields, Direction.DOWNSTREAM, [EdgeKind.DERIVES])
        }
        walked = [
            (h.source, h.kind, h.target) for h in traversal.hops if h.kind is EdgeKind.DERIVES
        ]
        missing = sorted({key[0] for key in walked if key not in derives})
        if missing:
            for edge in store.edges(missing, Direction.DOWNSTREAM, [EdgeKind.DERIVES]):
                derives[edge.key] = edge
        self._producing_jobs(traversal, column, [derives[k] for k in walked if k in derives])
        seeds = self._fallback_seeds(entry, all_fields, derives.values(), column)
        # Partial datasets: those holding affected fields (the changed dataset excepted).
        for entity_id, reach in sorted(column.items()):
            if entity_id.startswith(_FIELD_PREFIX):
                owner = dataset_of_field(entity_id)
                if owner != self.dataset_id:
                    self._keep(
                        owner, _Reach(reach.hops, (*reach.path, owner), ImpactPrecision.COLUMN)
                    )
        if seeds:
            self.precision = ImpactPrecision.DATASET
            self._spread(seeds)
        for source in sources:
            self.found.pop(source, None)
        self.found.pop(self.dataset_id, None)

    def _producing_jobs(
        self, traversal: Traversal, column: dict[str, _Reach], walked: Iterable[Edge]
    ) -> None:
        """The job on each DERIVES edge walked, and the writer of each feature or version."""
        store = self.store
        # (job, the node the edge leaves, the node it produces)
        candidates: list[tuple[str, str, str]] = []
        for edge in walked:
            job = edge.attrs.get("job")
            if isinstance(job, str):
                candidates.append((job, edge.source_id, edge.target_id))
        ml_targets = sorted(
            {h.target for h in traversal.hops if h.kind in ML_FIELD_KINDS and h.target in column}
        )
        for hop in store.expand(ml_targets, Direction.UPSTREAM, [EdgeKind.WRITES]):
            via = traversal.reached[hop.source].via
            if via is not None:
                candidates.append((hop.target, via.source, hop.source))
        jobs = store.kinds(sorted({c[0] for c in candidates}))
        for job, source, target in sorted(candidates):
            if jobs.get(job) is Kind.JOB:
                path = (*traversal.path_to(source), job)
                hops = traversal.reached[target].depth
                self._keep(job, _Reach(hops, path, ImpactPrecision.COLUMN))

    def _entry_fields(
        self, sources: list[str], column: dict[str, _Reach]
    ) -> dict[str, tuple[str, _Reach]]:
        """The datasets whose fields are affected, each with its best-reached field."""
        entry: dict[str, tuple[str, _Reach]] = {}
        candidates = [(s, _Reach(0, (s,), ImpactPrecision.COLUMN)) for s in sources]
        candidates += [(i, r) for i, r in column.items() if i.startswith(_FIELD_PREFIX)]
        for field_id, reach in candidates:
            owner = dataset_of_field(field_id)
            if owner not in entry or reach.rank() < entry[owner][1].rank():
                entry[owner] = (field_id, reach)
        return entry

    def _fallback_seeds(
        self,
        entry: dict[str, tuple[str, _Reach]],
        all_fields: list[str],
        derives: Iterable[Edge],
        column: dict[str, _Reach],
    ) -> dict[str, _Reach]:
        """Consumers that column lineage does not describe, with how they are reached."""
        store = self.store
        datasets = sorted(entry)
        seeds: dict[str, _Reach] = {}

        def seed(target: str, base: _Reach, path: tuple[str, ...], note: str) -> None:
            reach = _Reach(base.hops + 1, (*path, target), ImpactPrecision.DATASET)
            if target in self.found:
                return
            old = seeds.get(target)
            if old is None or reach.rank() < old.rank():
                seeds[target] = reach
                self.notes.append(note)

        described: dict[str, set[str]] = defaultdict(set)
        for edge in derives:
            job = edge.attrs.get("job")
            if isinstance(job, str):
                described[dataset_of_field(edge.source_id)].add(job)
        with_ml = {
            dataset_of_field(h.source)
            for h in store.expand(all_fields, Direction.DOWNSTREAM, ML_FIELD_KINDS)
        }
        consumers = store.expand(
            datasets, Direction.DOWNSTREAM, [EdgeKind.READS, *sorted(ML_FIELD_KINDS)]
        )
        readers = sorted({h.target for h in consumers if h.kind is EdgeKind.READS})
        outputs: dict[str, set[Kind]] = defaultdict(set)
        for hop in store.expand(readers, Direction.DOWNSTREAM, [EdgeKind.WRITES]):
            outputs[hop.source].add(kind_of(hop.target))
        for hop in sorted(consumers):
            _, base = entry[hop.source]
            path = (*base.path, hop.source)
            if hop.kind is EdgeKind.READS:
                job = hop.target
                if job in described[hop.source]:
                    continue
                ml_only = bool(outputs[job]) and outputs[job] <= {Kind.FEATURE, Kind.MODEL_VERSION}
                if ml_only and hop.source in with_ml:
                    continue
                seed(
                    job,
                    base,
                    path,
                    f"{job} reads {hop.source} without column lineage from it: it and its "
                    "downstream are included at dataset level",
                )
            else:
                seed(
                    hop.target,
                    base,
                    path,
                    f"{hop.target} is {hop.kind.value} the whole of {hop.source}: it and its "
                    "downstream are included at dataset level",
                )
        ml_reached = sorted(i for i in column if kind_of(i) in (Kind.FEATURE, Kind.MODEL_VERSION))
        for hop in store.expand(ml_reached, Direction.DOWNSTREAM, [EdgeKind.READS]):
            base = column[hop.source]
            seed(
                hop.target,
                base,
                base.path,
                f"{hop.target} reads {hop.source}: it and its downstream are included at "
                "dataset level",
            )
        return seeds

    def _spread(self, seeds: dict[str, _Reach]) -> None:
        """Dataset-level lineage from seeds that enter at their own hop counts."""
        nodes, seconds = self._budget()
        traversal = bfs(
            self.store,
            sorted(seeds),
            Direction.DOWNSTREAM,
            DATASET_FLOW_KINDS,
            max_nodes=nodes,
            timeout=seconds,
            expand=dataset_level_expander(self.store, Direction.DOWNSTREAM),
            start_depths={s: r.hops for s, r in seeds.items()},
        )
        self.used += len(traversal.reached)
        self.truncated = self.truncated or traversal.truncated
        for reached in traversal.reached.values():
            path = traversal.path_to(reached.id)
            prefix = seeds[path[0]].path
            full = (*prefix, *path[1:])
            self._keep(reached.id, _Reach(reached.depth, full, ImpactPrecision.DATASET))


def _affected(
    store: Store,
    reaches: dict[str, dict[int, _Reach]],
    classified: list[ClassifiedChange],
) -> list[AffectedEntity]:
    """One entry per entity: the changes reaching it and its best path."""
    breaking = {c.index for c in classified if c.breaking}
    fields_by_dataset: dict[str, set[str]] = defaultdict(set)
    for entity_id in reaches:
        if kind_of(entity_id) is Kind.FIELD:
            fields_by_dataset[dataset_of(entity_id)].add(entity_id)
    nodes = store.get(sorted(reaches))
    affected: list[AffectedEntity] = []
    for entity_id, by_change in reaches.items():
        node = nodes.get(entity_id)
        if node is None or node.kind not in _KIND_ORDER:
            continue
        _, best = min(by_change.items(), key=lambda item: (item[1].rank(), item[0]))
        partial = node.kind is Kind.DATASET and best.precision is ImpactPrecision.COLUMN
        affected.append(
            AffectedEntity(
                id=entity_id,
                kind=node.kind,
                name=node.label,
                changes=tuple(sorted(by_change)),
                breaking=any(i in breaking for i in by_change),
                direct=best.hops == 1,
                hops=best.hops,
                path=best.path,
                precision=best.precision,
                partial=partial,
                fields=tuple(sorted(fields_by_dataset[entity_id])) if partial else (),
            )
        )
    affected.sort(key=lambda a: (a.hops, _KIND_ORDER[a.kind], a.id))
    return affected


def _owners(store: Store, affected: Iterable[AffectedEntity]) -> list[OwnerNotice]:
    """Owners of affected datasets, jobs, features, deployments and models of versions."""
    breaking: dict[str, bool] = {}  # owning entity (a model for a version) -> reached by a break
    for entity in affected:
        if entity.kind is Kind.FIELD:
            continue
        holder = _model_of(entity.id) if entity.kind is Kind.MODEL_VERSION else entity.id
        breaking[holder] = breaking.get(holder, False) or entity.breaking
    nodes = store.get(sorted(breaking))
    owns: dict[str, set[str]] = defaultdict(set)
    owner_breaking: dict[str, bool] = defaultdict(bool)
    for holder in sorted(breaking):
        node = nodes.get(holder)
        if node is None:
            continue
        values: Any = node.attrs.get("owners") or []
        for owner in values if isinstance(values, list) else []:
            owns[str(owner)].add(holder)
            owner_breaking[str(owner)] |= breaking[holder]
    return [
        OwnerNotice(owner=o, owns=tuple(sorted(owns[o])), breaking=owner_breaking[o])
        for o in sorted(owns)
    ]


def _summary(
    dataset: Node,
    changes: list[ClassifiedChange],
    affected: list[AffectedEntity],
    owners: list[OwnerNotice],
    truncated: bool,
    unrecorded: bool = False,
) -> str:
    breaking = sum(1 for c in changes if c.breaking)
    counts = []
    for kind, (one, many) in _KIND_WORDS.items():
        n = sum(1 for a in affected if a.kind is kind)
        if n:
            counts.append(f"{n} {one if n == 1 else many}")
    noun = "change" if len(changes) == 1 else "changes"
    text = f"{len(changes)} {noun} to {dataset.name} ({breaking} breaking)"
    if counts:
        text += f"; affects {', '.join(counts)}"
    else:
        text += "; no known consumers"
    person = "owner" if len(owners) == 1 else "owners"
    text += f"; {len(owners)} {person} to notify"
    if truncated:
        text += " (incomplete: a traversal bound was hit)"
    if unrecorded:
        text += " (its current schema is not recorded: drops and type changes cannot be found)"
    return text + "."
