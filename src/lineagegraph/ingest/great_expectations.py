"""Great Expectations results → checks and results (pure: no store access).

Accepted documents:

- a validation result (``ExpectationSuiteValidationResult``): GX 1.x key style
  (``suite_name``, ``expectation_config.type``) or the legacy one
  (``meta.expectation_suite_name``, ``expectation_config.expectation_type``);
- a checkpoint or validation-operator result: ``run_results`` keyed by
  validation result identifiers, each value a validation result or an object
  holding one under ``validation_result``;
- a JSON array of either.

Each expectation becomes a check on the validated dataset, or on its column
when the expectation has a ``column`` argument; checks are keyed by expectation
type, column and a hash of the other arguments, and named readably, e.g.
``expect_column_values_to_not_be_null(Age)``, with ``#<hash>`` appended when
the expectation has arguments besides the column. Each evaluation becomes a
result with the observed and expected values.

The dataset comes from the caller when given; otherwise from the result's
metadata: ``meta.active_batch_definition`` (GX 1.x: namespace
``gx://<datasource_name>``, name ``<data_asset_name>``), or ``batch_spec`` /
``batch_kwargs`` naming a ``path`` (namespace ``file``) or a ``table``
(namespace ``gx://<datasource>``, name ``[schema.]table``). A result that
names no dataset is rejected, asking for one. A dataset given by the caller
takes every validation's results, so a document whose validations name
different datasets is rejected when one is given, rather than putting the
results of all of them on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from lineagegraph.errors import InvalidField, InvalidInput
from lineagegraph.ids import Kind, make_id, parse_id
from lineagegraph.ingest._build import GraphBuilder, Translation, short_text, stable_hash
from lineagegraph.model import ChangeSet, Check, EdgeKind, Origin, Result, format_time, parse_time

__all__ = ["Translation", "check_name", "dataset_named", "translate_gx"]

# Arguments that say how to report, not what to check.
_REPORTING = frozenset(
    {"column", "result_format", "catch_exceptions", "include_config", "batch_id", "meta"}
)


def _time(value: Any) -> datetime | None:
    """A GX timestamp: ISO-8601 or the compact ``20200322T170247.671855Z`` form."""
    if not isinstance(value, str) or not value:
        return None
    parsed: datetime | None = None
    for layout in ("%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ"):
        try:
            parsed = datetime.strptime(value, layout).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = parse_time(value)
        except (InvalidInput, OverflowError):
            return None
    return parsed if 1000 <= parsed.year <= 9998 else None


def check_name(expectation: str, kwargs: Mapping[str, Any]) -> str:
    """The readable, stable name of an expectation as a check.

    >>> check_name("expect_column_values_to_not_be_null", {"column": "Age"})
    'expect_column_values_to_not_be_null(Age)'
    """
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    name = f"{expectation}({', '.join(str(c) for c in columns)})" if columns else expectation
    significant = {
        k: _same_number(v)
        for k, v in kwargs.items()
        if k not in _REPORTING and not (k in ("column_A", "column_B") and v in columns)
    }
    return f"{name}#{stable_hash(significant)}" if significant else name


def _same_number(value: Any) -> Any:
    """An argument with whole floats as integers: GX 1.x coerces ``min_value=0`` to
    ``0.0`` where GX 0.x kept ``0``, and the same expectation must stay the same check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_same_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _same_number(v) for k, v in value.items()}
    return value


def _validation_results(document: Any, where: str) -> list[tuple[str, str | None, Any]]:
    """(where, identifier, validation result) for every validation result in a document."""
    if isinstance(document, list):
        found: list[tuple[str, str | None, Any]] = []
        for index, item in enumerate(document):
            found.extend(_validation_results(item, f"{where}[{index}]"))
        return found
    if not isinstance(document, Mapping):
        raise InvalidInput(f"{where}: must be a JSON object")
    run_results = document.get("run_results")
    if isinstance(run_results, Mapping):
        found = []
        for key in sorted(run_results):
            value = run_results[key]
            inner = value.get("validation_result") if isinstance(value, Mapping) else None
            found.append((f"{where}.run_results[{key!r}]", str(key), inner or value))
        return found
    if isinstance(document.get("results"), list):
        return [(where, None, document)]
    described = document.get("validation_results")
    if isinstance(described, list) and all(
        isinstance(v, Mapping) and "expectations" in v for v in described
    ):
        raise InvalidInput(
            f"{where}: this is CheckpointResult.describe() output, which names no dataset, "
            "suite or validation time; ingest the validation results that GX stores under "
            "gx/uncommitted/validations/ instead"
        )
    raise InvalidInput(
        f"{where}: not a Great Expectations validation or checkpoint result "
        "(expected results or run_results)"
    )


def _dataset_from_meta(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    batch = meta.get("active_batch_definition")
    if isinstance(batch, Mapping) and batch.get("data_asset_name"):
        source = batch.get("datasource_name") or "default"
        return f"gx://{source}", str(batch["data_asset_name"])
    for key in ("batch_spec", "batch_kwargs"):
        spec = meta.get(key)
        if not isinstance(spec, Mapping):
            continue
        if spec.get("path"):
            return "file", str(spec["path"])
        table = spec.get("table") or spec.get("table_name")
        if table:
            schema = spec.get("schema") or spec.get("schema_name")
            source = spec.get("datasource") or spec.get("datasource_name") or "default"
            return f"gx://{source}", f"{schema}.{table}" if schema else str(table)
        if spec.get("data_asset_name"):
            source = spec.get("datasource") or spec.get("datasource_name") or "default"
            return f"gx://{source}", str(spec["data_asset_name"])
    return None


def _identifier_parts(identifier: str | None) -> tuple[str | None, str | None]:
    """(run time, batch identifier) from ``ValidationResultIdentifier::suite/run/time/batch``."""
    if not identifier:
        return None, None
    parts = identifier.split("::", 1)[-1].split("/")
    if len(parts) < 3:
        return None, None
    return parts[-2], parts[-1]


def dataset_named(
    dataset: str | None,
    namespace: str | None,
    name: str | None,
    label: Callable[[str], str] = str,
) -> tuple[str | None, str | None]:
    """The (namespace, name) of the dataset a caller names for a result, by its id or by
    its namespace and name, or (None, None) when it names none.

    ``label`` spells an option in messages (``--dataset``, ``body.dataset``). Raises
    :class:`InvalidField` (field ``dataset``) for an id that is no dataset id, and
    :class:`InvalidInput` for a dataset named both ways or half named.
    """
    if dataset is not None and (namespace is not None or name is not None):
        raise InvalidInput(
            f"give {label('dataset')} or {label('namespace')} with {label('name')}, not both"
        )
    if dataset is not None:
        try:
            key = parse_id(dataset)
        except InvalidInput as error:
            raise InvalidField("dataset", str(error)) from None
        if key.kind is not Kind.DATASET:
            raise InvalidField("dataset", f"{dataset} is a {key.kind.value} id, not a dataset id")
        return key.namespace, key.name
    if (namespace is None) != (name is None):
        raise InvalidInput(f"{label('namespace')} and {label('name')} go together")
    return namespace, name


def _one_dataset(found: list[tuple[str, str | None, Any]]) -> None:
    """Refuse a dataset named by the caller for validations of different datasets."""
    named: set[tuple[str, str] | None] = set()
    for _, _, validation in found:
        meta = validation.get("meta") if isinstance(validation, Mapping) else None
        named.add(_dataset_from_meta(meta) if isinstance(meta, Mapping) else None)
    if len(named) < 2:
        return
    shown = sorted(make_id(Kind.DATASET, *d) for d in named if d is not None)
    if None in named:
        shown.append("(one naming none)")
    raise InvalidInput(
        f"result: its {len(found)} validation results are of different datasets "
        f"({', '.join(shown)}), and a dataset given for the file would take the results "
        "of all of them: give no dataset, so that each validation's results go on the "
        "dataset it names, or ingest each validation result on its own with its dataset"
    )


def translate_gx(
    document: Any,
    *,
    namespace: str | None = None,
    name: str | None = None,
) -> Translation:
    """Translate a decoded GX result into checks and results.

    ``namespace`` and ``name`` name the validated dataset (both or neither); they
    override what the file says, and are refused when its validations name different
    datasets. Raises :class:`InvalidInput` for a document that is not a GX result, or a
    result whose dataset is named nowhere.
    """
    if (namespace is None) != (name is None) or namespace == "" or name == "":
        raise InvalidInput("name the dataset with both a namespace and a name")
    found = _validation_results(document, "result")
    if not found:
        raise InvalidInput("result: holds no validation results")
    if namespace is not None:
        _one_dataset(found)
    changesets: list[ChangeSet] = []
    warnings: list[str] = []
    for where, identifier, validation in found:
        changesets.append(_translate_one(validation, where, identifier, namespace, name, warnings))
    changeset = changesets[0]
    for other in changesets[1:]:
        changeset.extend(other)
    return Translation(changeset, tuple(warnings))


def _translate_one(
    validation: Any,
    where: str,
    identifier: str | None,
    namespace: str | None,
    name: str | None,
    warnings: list[str],
) -> ChangeSet:
    if not isinstance(validation, Mapping) or not isinstance(validation.get("results"), list):
        raise InvalidInput(f"{where}: a validation result needs a results array")
    meta = validation.get("meta") if isinstance(validation.get("meta"), Mapping) else {}
    assert isinstance(meta, Mapping)
    suite = validation.get("suite_name") or meta.get("expectation_suite_name")
    if namespace is not None and name is not None:
        dataset: tuple[str, str] | None = (namespace, name)
    else:
        dataset = _dataset_from_meta(meta)
    if dataset is None:
        raise InvalidInput(
            f"{where}: the result does not name its dataset (no data asset, path or table "
            "in meta): give the namespace and name of the dataset it validated"
        )
    run_id = meta.get("run_id")
    run_name = run_id.get("run_name") if isinstance(run_id, Mapping) else None
    id_time, id_batch = _identifier_parts(identifier)
    at = (
        _time(id_time)
        or _time(meta.get("validation_time"))
        or _time(run_id.get("run_time") if isinstance(run_id, Mapping) else run_id)
    )
    if at is None:
        raise InvalidInput(
            f"{where}.meta: needs run_id.run_time or validation_time to date its results"
        )
    batch_kwargs = meta.get("batch_kwargs") if isinstance(meta.get("batch_kwargs"), Mapping) else {}
    assert isinstance(batch_kwargs, Mapping)
    batch = id_batch or batch_kwargs.get("ge_batch_id")
    result_key = format_time(at) + (f"/{batch}" if batch else "")
    ns, dataset_name = dataset
    builder = GraphBuilder(ChangeSet(origin=Origin.GX), at)
    dataset_id = builder.dataset(ns, dataset_name)
    for index, item in enumerate(validation["results"]):
        if not isinstance(item, Mapping):
            raise InvalidInput(f"{where}.results[{index}]: must be an object")
        config = item.get("expectation_config")
        if not isinstance(config, Mapping):
            raise InvalidInput(f"{where}.results[{index}].expectation_config: missing")
        expectation = config.get("type") or config.get("expectation_type")
        if not isinstance(expectation, str) or not expectation:
            raise InvalidInput(
                f"{where}.results[{index}].expectation_config: needs type or expectation_type"
            )
        success = item.get("success")
        if not isinstance(success, bool):
            raise InvalidInput(f"{where}.results[{index}].success: must be true or false")
        kwargs = config.get("kwargs") if isinstance(config.get("kwargs"), Mapping) else {}
        assert isinstance(kwargs, Mapping)
        column = kwargs.get("column")
        column = str(column) if column not in (None, "") else None
        check = check_name(expectation, kwargs)
        config_meta = config.get("meta") if isinstance(config.get("meta"), Mapping) else {}
        assert isinstance(config_meta, Mapping)
        significant = {k: v for k, v in kwargs.items() if k not in _REPORTING}
        severity = config.get("severity") or config_meta.get("severity")
        check_id = builder.entity(
            Check(
                namespace=ns,
                name=dataset_name,
                check=check,
                check_type=expectation,
                field=column,
                severity=str(severity).upper() if severity else None,
                description=config_meta.get("notes")
                if isinstance(config_meta.get("notes"), str)
                else None,
                source="great_expectations",
            ),
            {"kwargs": significant or None, "suite": suite},
        )
        target = builder.field(ns, dataset_name, column) if column else dataset_id
        builder.link(target, EdgeKind.HAS_CHECK, check_id)
        outcome = item.get("result") if isinstance(item.get("result"), Mapping) else {}
        assert isinstance(outcome, Mapping)
        exception = item.get("exception_info")
        raised = isinstance(exception, Mapping) and bool(exception.get("raised_exception"))
        message = (
            str(exception.get("exception_message"))
            if raised and isinstance(exception, Mapping)
            else None
        )
        result_id = builder.entity(
            Result(
                namespace=ns,
                name=dataset_name,
                check=check,
                result=result_key,
                passed=success and not raised,
                observed_at=at,
                observed=_observed(outcome),
                expected=short_text(significant) if significant else None,
                source="great_expectations",
                message=message,
            ),
            {"run_name": run_name, "suite": suite},
        )
        builder.link(check_id, EdgeKind.HAS_RESULT, result_id)
    if not validation["results"]:
        warnings.append(f"{where}: holds no expectation results")
    return builder.cs


def _observed(outcome: Mapping[str, Any]) -> str | None:
    if "observed_value" in outcome:
        return short_text(outcome["observed_value"])
    if "unexpected_count" in outcome:
        total = outcome.get("element_count")
        return f"{outcome['unexpected_count']} unexpected" + (
            f" of {total}" if total is not None else ""
        )
    return None
