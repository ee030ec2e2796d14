"""The questions from a shell: ``lineage``, ``impact``, ``cascade``, ``at-risk``, ``provenance``,
``diff``, ``root-cause``, ``search``, ``health`` and ``stats``.

Each command sends one GraphQL document, to a local store (``--store``) or to a
running server (``--server URL [--token]``), and prints a table, ``--json`` or
``--markdown``. Entities are named by id (``dataset|ns|name``; quote the ``|``
in a shell) or as ``[kind:]name`` (``dataset:analytics.staging.stg_orders``,
``churn-production``), resolved by an exact name match.

Exit codes: 0 done; 1 an error (bad input, not found, store or server
unavailable); 2 a usage error (click's); 3 ``impact --fail-on breaking`` found a
breaking change, so a CI gate tells a breaking change from a broken invocation.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from lineagegraph.cli.client import (
    GraphQLClient,
    QueryFailed,
    not_empty,
    open_client,
    target_of,
)
from lineagegraph.cli.output import Format, Section, emit
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, kind_of, parse_id, short_name

__all__ = ["COMMANDS", "EXIT_BREAKING", "resolve_reference"]

# not 1 (errors) nor 2 (click's usage errors): a gate tells them apart
EXIT_BREAKING = 3

F = TypeVar("F", bound=Callable[..., Any])

KIND_NAMES = {k.value.lower(): k for k in Kind}


def common_options(fn: F) -> F:
    """--store/--server/--token and the output format flags."""
    options = [
        click.option(
            "--store",
            "store_url",
            envvar="LINEAGEGRAPH_STORE",
            default=None,
            callback=not_empty,
            help="Local store URL (default: the embedded file) [env LINEAGEGRAPH_STORE].",
        ),
        click.option(
            "--server",
            "server_url",
            envvar="LINEAGEGRAPH_SERVER",
            default=None,
            callback=not_empty,
            help="Ask a running server instead, e.g. http://127.0.0.1:8000 "
            "[env LINEAGEGRAPH_SERVER].",
        ),
        click.option(
            "--token",
            envvar="LINEAGEGRAPH_TOKEN",
            default=None,
            help="Bearer token for --server [env LINEAGEGRAPH_TOKEN].",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON (for programs)."),
        click.option(
            "--markdown", "as_markdown", is_flag=True, help="Print Markdown (for PR comments)."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _format(as_json: bool, as_markdown: bool) -> Format:
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    return Format.JSON if as_json else Format.MARKDOWN if as_markdown else Format.TABLE


def run_with_client(fn: Callable[..., None]) -> Callable[..., None]:
    """Open the client from the common options, pass it on, and turn failures into errors."""

    @functools.wraps(fn)
    def wrapper(
        store_url: str | None,
        server_url: str | None,
        token: str | None,
        as_json: bool,
        as_markdown: bool,
        **kwargs: Any,
    ) -> None:
        fmt = _format(as_json, as_markdown)
        store_url, server_url = target_of(store_url, server_url)
        try:
            with open_client(store_url, server_url, token) as client:
                fn(client, fmt, **kwargs)
        except QueryFailed as error:
            raise click.ClickException(str(error)) from None
        except InvalidInput as error:
            raise click.ClickException(str(error)) from None

    return wrapper


# --- references -------------------------------------------------------------------------------

RESOLVE = """query($query: String!, $kinds: [EntityKind!], $after: String) {
  search(query: $query, kinds: $kinds, first: 200, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { id kind name label } } } }"""


def resolve_reference(
    client: GraphQLClient, reference: str, default_kind: Kind | None = None
) -> str:
    """The id a reference names: an id as it is, or ``[kind:]name`` by exact match of the
    compact name (``stg_orders``, ``stg_orders.customer_id``, ``churn_classifier@3``)."""
    try:
        parse_id(reference)
        return reference
    except InvalidInput:
        pass
    kind: Kind | None = default_kind
    name = reference
    prefix, sep, rest = reference.partition(":")
    if sep and prefix.lower() in KIND_NAMES and rest:
        kind, name = KIND_NAMES[prefix.lower()], rest
    if not name.strip():
        raise InvalidInput(f"not an entity reference: {reference!r}")
    ids = _named(client, name, kind)
    if not ids and kind is not None:
        # Named right but of another kind (a field where a dataset is asked, say)?
        others = _named(client, name, None)
        if others:
            found = " or ".join(sorted({kind_of(i).value.lower() for i in others}))
            raise InvalidInput(
                f"{name!r} names a {found}, not a {kind.value.lower()}: " + ", ".join(others[:5])
            )
    if not ids:
        # Named in other case (a Snowflake table typed in lower case, say)?
        folded = _named(client, name, kind, fold=True)
        if folded:
            raise InvalidInput(
                f"nothing is named {name!r}; in other case: " + ", ".join(folded[:5])
            )
        raise InvalidInput(f"nothing is named {name!r}; give an id such as 'dataset|ns|name'")
    if len(ids) > 1:
        listed = "\n  ".join(ids[:20])
        raise InvalidInput(
            f"{name!r} names {len(ids)} entities; give one of these ids:\n  {listed}"
        )
    return ids[0]


def _named(client: GraphQLClient, name: str, kind: Kind | None, *, fold: bool = False) -> list[str]:
    """The ids of the entities (of ``kind``) whose compact name is ``name`` (``fold``:
    regardless of case), sorted; the search is paged through, up to 2,000 hits."""
    wanted = name.casefold() if fold else name
    named: set[str] = set()
    after: str | None = None
    for _ in range(10):
        page = client.execute(
            RESOLVE, {"query": name, "kinds": [kind.value] if kind else None, "after": after}
        )["search"]
        for edge in page["edges"]:
            short = _short(edge["node"]["id"])
            if (short.casefold() if fold else short) == wanted:
                named.add(str(edge["node"]["id"]))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return sorted(named)


def _time(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=option) from None
    return value


def _short(entity_id: str) -> str:
    """A compact name for a table cell: the name, with a field's path or a version
    (``stg_orders.customer_id``, ``churn_classifier@3``); JSON output keeps full ids."""
    try:
        return short_name(entity_id)
    except InvalidInput:
        return entity_id


KIND_CHOICE = click.Choice([k.value for k in Kind], case_sensitive=False)

# --- lineage ----------------------------------------------------------------------------------

LINEAGE = """query($id: ID!, $direction: Direction!, $depth: Int, $kinds: [EntityKind!],
                  $columnLevel: Boolean!, $asOf: DateTime, $first: Int, $after: String) {
  lineage(id: $id, direction: $direction, depth: $depth, kinds: $kinds,
          columnLevel: $columnLevel, asOf: $asOf, first: $first, after: $after) {
    root { id kind name }
    direction columnLevel asOf truncated truncation totalCount cycles
    pageInfo { hasNextPage endCursor }
    nodes { node { id kind name label } depth direction partial }
    edges { from to kind via source firstSeen lastSeen current }
  }
}"""


@click.command()
@click.argument("reference")
@click.option("--upstream", "direction", flag_value="UPSTREAM", help="Follow edges upstream.")
@click.option(
    "--downstream", "direction", flag_value="DOWNSTREAM", default=True, help="Downstream (default)."
)
@click.option("--both", "direction", flag_value="BOTH", help="Both directions.")
# GraphQL's Int ends at 2**31 - 1: a larger depth was refused by the server, exit code 1
@click.option("--depth", type=click.IntRange(0, 2**31 - 1), default=None, help="Most hops.")
@click.option("--kind", "kinds", multiple=True, type=KIND_CHOICE, help="Only these kinds.")
@click.option("--columns", is_flag=True, help="Column-level lineage.")
@click.option("--as-of", default=None, help="The lineage as it was at this ISO-8601 time.")
@click.option(
    "--first",
    type=click.IntRange(1, 1000),
    default=200,
    show_default=True,
    help="Most nodes on a page.",
)
@click.option("--after", default=None, help="The cursor a previous page ended at.")
@common_options
@run_with_client
def lineage(
    client: GraphQLClient,
    fmt: Format,
    reference: str,
    direction: str,
    depth: int | None,
    kinds: tuple[str, ...],
    columns: bool,
    as_of: str | None,
    first: int,
    after: str | None,
) -> None:
    """Upstream or downstream lineage of an entity."""
    entity_id = resolve_reference(client, reference)
    data = client.execute(
        LINEAGE,
        {
            "id": entity_id,
            "direction": direction,
            "depth": depth,
            "kinds": [k.upper() for k in kinds] or None,
            "columnLevel": columns,
            "asOf": _time(as_of, "--as-of"),
            "first": first,
            "after": after,
        },
    )["lineage"]
    notes = []
    if data["truncated"]:
        notes.append(f"truncated: the traversal hit the {data['truncation']} bound")
    if data["pageInfo"]["hasNextPage"]:
        notes.append(f"showing {len(data['nodes'])} of {data['totalCount']} nodes")
        notes.extend(_more(data["pageInfo"], "nodes"))
    if data["cycles"]:
        notes.append(
            "cycles: " + "; ".join(" ↔ ".join(_short(i) for i in c) for c in data["cycles"])
        )
    nodes = Section(
        f"{_DIRECTION_TITLES[data['direction']]} of {_short(data['root']['id'])}",
        ["depth", "side", "kind", "entity"],
        [
            [
                n["depth"],
                n["direction"].lower(),
                n["node"]["kind"] + (" (partial)" if n["partial"] else ""),
                _short(n["node"]["id"]),
            ]
            for n in data["nodes"]
        ],
        notes,
        empty="no lineage",
    )
    edges = Section(
        "edges",
        ["from", "edge", "to", "source", "current"],
        [
            [
                _short(e["from"]),
                e["kind"] or "via " + ", ".join(_short(v) for v in e["via"]),
                _short(e["to"]),
                (e["source"] or "mixed").lower(),
                e["current"],
            ]
            for e in data["edges"]
        ],
        empty="none",
    )
    heading = f"Lineage of `{data['root']['id']}`"
    if data["asOf"]:  # a past graph must not read as today's
        heading += f" as of {data['asOf']}"
    emit(fmt, data, [nodes, edges], heading=heading)


# --- impact -----------------------------------------------------------------------------------

IMPACT = """query($change: SchemaChangeInput!) {
  impact(change: $change) {
    datasetId breaking truncated schemaRecorded summary markdown
    changes {
      index action path newName newType nullable description fieldId oldType oldNullable
      compatibility reason precision notes
    }
    affected { id kind name changes breaking direct hops precision partial fields path }
    owners { owner breaking owns }
  }
}"""


_DIRECTION_TITLES = {
    "UPSTREAM": "upstream lineage",
    "DOWNSTREAM": "downstream lineage",
    "BOTH": "lineage up and downstream",
}


def _pair(value: str, option: str) -> tuple[str, str]:
    path, sep, other = value.partition("=")
    if not sep or not path.strip() or not other.strip():
        shown = "FIELD=NEW" if option == "--rename" else "FIELD=TYPE"
        raise click.BadParameter(f"write {option} {shown}, got {value!r}", param_hint=option)
    return path, other


def _schema_file(path: Path) -> list[dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}", param_hint="--schema") from None
    if (  # a dbt manifest node's columns: each keyed by its name
        isinstance(document, dict)
        and "fields" not in document
        and document
        and all(isinstance(v, dict) and v.get("name") == k for k, v in document.items())
    ):
        document = list(document.values())
    fields = document.get("fields") if isinstance(document, dict) else document
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise click.BadParameter(
            "the schema file is a JSON list of {path, type, nullable}, dbt contract columns "
            "(a list of {name, data_type, constraints}, or a manifest node's columns keyed "
            'by name) or an OpenLineage schema facet ({"fields": [...]})',
            param_hint="--schema",
        )
    if not fields:
        raise click.BadParameter(
            "the proposed schema lists no fields (to drop the table, --drop-dataset)",
            param_hint="--schema",
        )
    proposed = _proposed_fields(fields, "")
    twice = sorted(p for p, n in Counter(f["path"] for f in proposed).items() if n > 1)
    if twice:  # a usage error, as the file's other faults are (the server said it: exit 1)
        raise click.BadParameter(
            f"the proposed schema lists {twice[0]!r} more than once", param_hint="--schema"
        )
    return proposed


# Keys of a proposed field read as what they say: its path (or name), its type (or dbt's
# data_type), nullability (or dbt's not_null constraint) and nested fields (as OpenLineage
# schema facets nest them); keys that describe it and change nothing are let through.
_FIELD_KEYS = {"path", "name", "type", "data_type", "nullable", "constraints", "fields"}
_DESCRIPTIVE_KEYS = {
    "description", "comment", "ordinal_position", "index", "tags", "meta", "tests",
    "data_tests", "quote", "policy_tags", "granularity", "config", "doc_blocks",
}  # fmt: skip


def _proposed_fields(fields: list[Any], prefix: str) -> list[dict[str, Any]]:
    """The proposed schema's fields as ``{path, type, nullable}``, nested ones as ``a.b``;
    a key it cannot read is refused (``data_type`` ignored passed every retype)."""
    out: list[dict[str, Any]] = []
    for index, item in enumerate(fields):
        where = f"{prefix}fields[{index}]" if prefix else f"field {index}"
        if not isinstance(item, dict):
            raise click.BadParameter(f"{where} is not an object", param_hint="--schema")
        unknown = sorted(set(item) - _FIELD_KEYS - _DESCRIPTIVE_KEYS)
        if unknown:
            raise click.BadParameter(
                f"{where}: unknown key {unknown[0]!r}; a field has path (or name), type "
                "(or data_type), nullable and nested fields",
                param_hint="--schema",
            )
        name = item.get("path", item.get("name"))
        if not isinstance(name, str) or not name:
            raise click.BadParameter(f"{where} has no path or name", param_hint="--schema")
        path = f"{prefix}{name}"
        constraints = item.get("constraints") or []
        if not isinstance(constraints, list):
            raise click.BadParameter(f"{where}.constraints is not a list", param_hint="--schema")
        not_null = any(isinstance(c, dict) and c.get("type") == "not_null" for c in constraints)
        nullable = item.get("nullable", False if not_null else None)
        type_ = item.get("type", item.get("data_type"))
        if type_ is not None and not isinstance(type_, str):
            raise click.BadParameter(f"{where}: the type is not text", param_hint="--schema")
        if nullable is not None and not isinstance(nullable, bool):
            raise click.BadParameter(
                f"{where}: nullable is not true or false", param_hint="--schema"
            )
        out.append({"path": path, "type": type_, "nullable": nullable})
        children = item.get("fields")
        if children:
            if not isinstance(children, list):
                raise click.BadParameter(f"{where}.fields is not a list", param_hint="--schema")
            out.extend(_proposed_fields(children, f"{path}."))
    return out


@click.command()
@click.argument("dataset")
@click.option("--drop", "drops", multiple=True, metavar="FIELD", help="Drop a field.")
@click.option("--rename", "renames", multiple=True, metavar="FIELD=NEW", help="Rename a field.")
@click.option("--retype", "retypes", multiple=True, metavar="FIELD=TYPE", help="Change a type.")
@click.option("--add", "adds", multiple=True, metavar="FIELD=TYPE", help="Add a field.")
@click.option("--drop-dataset", is_flag=True, help="Drop the whole dataset.")
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A complete proposed schema to diff: a JSON list of {path, type, nullable}, or "
    "dbt contract columns ({name, data_type, constraints}; a list, or a manifest node's "
    "columns keyed by name), or an OpenLineage schema facet ({fields: [{name, type, fields}]}).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["breaking", "consumers", "deployments", "never"]),
    default="never",
    show_default=True,
    help="Exit 3 (for CI gates; 1 is an error, 2 a usage error) when a change is breaking; "
    "'consumers': when a breaking change reaches a known consumer; 'deployments': when it "
    "reaches a deployment. A search cut short by a bound counts as reaching one.",
)
@common_options
@run_with_client
def impact(
    client: GraphQLClient,
    fmt: Format,
    dataset: str,
    drops: tuple[str, ...],
    renames: tuple[str, ...],
    retypes: tuple[str, ...],
    adds: tuple[str, ...],
    drop_dataset: bool,
    schema_path: Path | None,
    fail_on: str,
) -> None:
    """What a proposed schema change to DATASET breaks downstream, and whom to tell."""
    changes: list[dict[str, Any]] = []
    if any(not f.strip() for f in drops):  # --drop "$COLUMN" with COLUMN unset in CI
        raise click.BadParameter("write --drop FIELD, got an empty name", param_hint="--drop")
    changes.extend({"action": "DROP_FIELD", "path": f} for f in drops)
    for value in renames:
        path, new = _pair(value, "--rename")
        changes.append({"action": "RENAME_FIELD", "path": path, "newName": new})
    for value in retypes:
        path, new = _pair(value, "--retype")
        changes.append({"action": "CHANGE_TYPE", "path": path, "newType": new})
    for value in adds:
        path, new = _pair(value, "--add")
        changes.append({"action": "ADD_FIELD", "path": path, "newType": new})
    if drop_dataset:
        changes.append({"action": "DROP_DATASET"})
    if bool(changes) == (schema_path is not None):
        raise click.UsageError(
            "give changes (--drop, --rename, --retype, --add, --drop-dataset) or --schema, "
            "not both or neither"
        )
    change: dict[str, Any] = {"dataset": {"id": resolve_reference(client, dataset, Kind.DATASET)}}
    if schema_path is not None:
        change["proposedSchema"] = _schema_file(schema_path)
    else:
        change["changes"] = changes
    report = client.execute(IMPACT, {"change": change})["impact"]
    sections = [
        Section(
            "changes",
            ["#", "change", "verdict", "reason", "precision"],
            [
                [c["index"], c["description"], c["compatibility"], c["reason"], c["precision"]]
                for c in report["changes"]
            ],
            # why a change falls back to dataset level, as --markdown and --json say
            [f"#{c['index']}: {note}" for c in report["changes"] for note in c["notes"] or ()],
        ),
        Section(
            "affected consumers",
            ["hops", "kind", "entity", "breaking", "direct", "precision"],
            [
                [
                    a["hops"],
                    a["kind"] + (" (partial)" if a["partial"] else ""),
                    _short(a["id"]),
                    a["breaking"],
                    a["direct"],
                    a["precision"],
                ]
                for a in report["affected"]
            ],
            ["the search hit a server bound; the list is incomplete"]
            if report["truncated"]
            else [],
            empty="no known consumers",
        ),
        Section(
            "owners to notify",
            ["owner", "breaking", "owns"],
            [[o["owner"], o["breaking"], [_short(i) for i in o["owns"]]] for o in report["owners"]],
            empty="no owners recorded",
        ),
    ]
    verdict = "BREAKING" if report["breaking"] else "NON-BREAKING"
    emit(
        fmt,
        report,
        sections,
        heading=f"{verdict}: {report['summary']}",
        markdown=report["markdown"],
    )
    if _fails(fail_on, report):
        if not report["schemaRecorded"]:
            click.echo(
                f"--fail-on {fail_on}: the dataset's current fields are not recorded, so "
                "what the proposed schema drops or retypes cannot be told",
                err=True,
            )
        raise SystemExit(EXIT_BREAKING)


def _fails(fail_on: str, report: dict[str, Any]) -> bool:
    """Whether an impact report fails the gate ``--fail-on`` names: a proposed schema that
    could not be diffed (the dataset's fields are not recorded) proves nothing either."""
    if fail_on == "never":
        return False
    if not report["schemaRecorded"]:
        return True
    if not report["breaking"]:
        return False
    if fail_on == "breaking" or report["truncated"]:  # an incomplete list proves nothing
        return True
    kinds = {"consumers": None, "deployments": "DEPLOYMENT"}
    wanted = kinds[fail_on]
    return any(a["breaking"] and wanted in (None, a["kind"]) for a in report["affected"])


# --- cascade, at-risk, health ------------------------------------------------------------------

CASCADE = """query($id: ID!) {
  cascade(resultId: $id) {
    resultId checkId checkedId datasetVersionId passed observedAt latest failing
    atRisk { id kind hops precision reasonKind message path }
  }
}"""


@click.command()
@click.argument("result")
@common_options
@run_with_client
def cascade(client: GraphQLClient, fmt: Format, result: str) -> None:
    """What a quality check RESULT puts at risk now."""
    data = client.execute(CASCADE, {"id": resolve_reference(client, result, Kind.RESULT)})[
        "cascade"
    ]
    status = "passed" if data["passed"] else "failed"
    heading = f"{_short(data['checkId'])} {status} at {data['observedAt']}" + (
        "" if data["latest"] else " (not the latest result)"
    )
    emit(
        fmt,
        data,
        [
            Section("failing", ["entity"], [[_short(i)] for i in data["failing"]], empty="none"),
            Section(
                "at risk",
                ["hops", "kind", "entity", "precision", "why"],
                [
                    [a["hops"], a["kind"], _short(a["id"]), a["precision"], a["message"]]
                    for a in data["atRisk"]
                ],
                empty="nothing",
            ),
        ],
        heading=heading,
    )


def _more(page: dict[str, Any], what: str) -> list[str]:
    """The note under a page that others follow: how to ask for the next one."""
    if not page["hasNextPage"]:
        return []
    return [f"more {what} follow (use --first, or --after {page['endCursor']})"]


AT_RISK = """query($kinds: [EntityKind!], $first: Int, $after: String) {
  atRisk(kinds: $kinds, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id kind status reasons { checkId hops precision kind message } } }
  }
}"""


@click.command("at-risk")
@click.option("--kind", "kinds", multiple=True, type=KIND_CHOICE, help="Only these kinds.")
@click.option(
    "--first",
    type=click.IntRange(1, 1000),
    default=1000,
    show_default=True,
    help="Most entities on a page.",
)
@click.option("--after", default=None, help="The cursor a previous page ended at.")
@common_options
@run_with_client
def at_risk(
    client: GraphQLClient, fmt: Format, kinds: tuple[str, ...], first: int, after: str | None
) -> None:
    """Entities that are not OK now (AT_RISK or FAILING), such as the deployments at
    risk (--kind DEPLOYMENT)."""
    variables = {"kinds": [k.upper() for k in kinds] or None, "first": first, "after": after}
    data = client.execute(AT_RISK, variables)["atRisk"]
    records = [e["node"] for e in data["edges"]]
    emit(
        fmt,
        data,
        [
            Section(
                "not OK",
                ["status", "kind", "entity", "why"],
                [
                    [
                        r["status"],
                        r["kind"],
                        _short(r["id"]),
                        _first_reason(r["reasons"]),
                    ]
                    for r in records
                ],
                _more(data["pageInfo"], "entities"),
                empty="everything is OK",
            )
        ],
    )


def _first_reason(reasons: list[dict[str, Any]]) -> str:
    """The first reason's message, saying how many more there are: fixing one failure
    must not look like fixing them all."""
    if not reasons:
        return ""
    more = len(reasons) - 1
    return str(reasons[0]["message"]) + (f" (+{more} more: see health)" if more else "")


HEALTH = """query($id: ID!) {
  health(id: $id) { id kind status
    reasons { resultId checkId checkedId path hops precision kind message } }
}"""


@click.command()
@click.argument("reference")
@common_options
@run_with_client
def health(client: GraphQLClient, fmt: Format, reference: str) -> None:
    """The health of an entity (OK, AT_RISK or FAILING) and why."""
    data = client.execute(HEALTH, {"id": resolve_reference(client, reference)})["health"]
    emit(
        fmt,
        data,
        [
            Section(
                "reasons",
                ["hops", "precision", "check", "why"],
                [
                    [r["hops"], r["precision"], _short(r["checkId"]), r["message"]]
                    for r in data["reasons"]
                ],
                empty="none",
            )
        ],
        # the kind too: a name can be a job's as well as a table's (stg_orders)
        heading=f"{data['kind'].lower().replace('_', ' ')} {_short(data['id'])}: {data['status']}",
    )


# --- provenance, diff, root cause -------------------------------------------------------------

PROVENANCE = """query($id: ID!) {
  provenance(id: $id) {
    subjectId subjectKind roots truncated
    versions { id kind version createdAt writtenBy rowCount depth }
    runs { id jobId state startedAt codeVersion depth }
    jobs { id codeVersions codeLocation }
    features { id modelVersionId computedFrom }
    checks { checkId datasetVersionId resultId passed observedAt evaluated }
  }
}"""


@click.command()
@click.argument("reference")
@common_options
@run_with_client
def provenance(client: GraphQLClient, fmt: Format, reference: str) -> None:
    """Which exact data, code and checks produced a model version, deployment or dataset version."""
    data = client.execute(PROVENANCE, {"id": resolve_reference(client, reference)})["provenance"]

    def nearest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: (item["depth"], item["id"]))

    emit(
        fmt,
        data,
        [
            Section(
                "versions",
                ["depth", "kind", "version", "created", "rows"],
                [
                    [v["depth"], v["kind"], _short(v["id"]), v["createdAt"], v["rowCount"]]
                    for v in nearest_first(data["versions"])
                ],
            ),
            Section(
                "runs",
                ["depth", "run", "state", "started", "code"],
                [
                    [r["depth"], _short(r["id"]), r["state"], r["startedAt"], r["codeVersion"]]
                    for r in nearest_first(data["runs"])
                ],
            ),
            Section(
                "code",
                ["job", "code versions", "location"],
                [
                    [_short(j["id"]), ", ".join(j["codeVersions"]), j["codeLocation"]]
                    for j in data["jobs"]
                ],
                empty="none",
            ),
            Section(
                "features",
                ["feature", "model version", "computed from"],
                [
                    [
                        _short(f["id"]),
                        _short(f["modelVersionId"]),
                        ", ".join(_short(c) for c in f["computedFrom"]),
                    ]
                    for f in data["features"]
                ],
                empty="none",
            ),
            Section(
                "checks",
                ["check", "version", "passed", "at"],
                [
                    [
                        _short(c["checkId"]),
                        _short(c["datasetVersionId"]),
                        c["passed"],
                        c["observedAt"],
                    ]
                    for c in data["checks"]
                ],
            ),
        ],
        heading=f"Provenance of {_short(data['subjectId'])}"
        + (" (truncated)" if data["truncated"] else ""),
    )


DIFF = """query($from: ID!, $to: ID!) {
  provenanceDiff(from: $from, to: $to) {
    from to
    inputs { entityId change fromVersions toVersions }
    schemaChanges { datasetId field change fromType toType breaking }
    codeChanges { jobId fromCodeVersions toCodeVersions }
    checkChanges { checkId change fromPassed toPassed }
    edgeChanges { from kind to change }
  }
}"""


@click.command()
@click.argument("from_reference", metavar="FROM")
@click.argument("to_reference", metavar="TO")
@common_options
@run_with_client
def diff(client: GraphQLClient, fmt: Format, from_reference: str, to_reference: str) -> None:
    """What differs between the provenance of two versions (e.g. a good and a regressed one)."""
    data = client.execute(
        DIFF,
        {
            "from": resolve_reference(client, from_reference),
            "to": resolve_reference(client, to_reference),
        },
    )["provenanceDiff"]
    emit(
        fmt,
        data,
        [
            Section(
                "inputs",
                ["change", "entity", "from", "to"],
                [
                    [
                        i["change"],
                        _short(i["entityId"]),
                        [_short(v) for v in i["fromVersions"]],
                        [_short(v) for v in i["toVersions"]],
                    ]
                    for i in data["inputs"]
                ],
                empty="same versions",
            ),
            Section(
                "schema changes",
                ["change", "dataset", "field", "from", "to", "breaking"],
                [
                    [
                        s["change"],
                        _short(s["datasetId"]),
                        s["field"],
                        s["fromType"],
                        s["toType"],
                        s["breaking"],
                    ]
                    for s in data["schemaChanges"]
                ],
                empty="none",
            ),
            Section(
                "code changes",
                ["job", "from", "to"],
                [
                    [_short(c["jobId"]), c["fromCodeVersions"], c["toCodeVersions"]]
                    for c in data["codeChanges"]
                ],
                empty="none",
            ),
            Section(
                "check changes",
                ["change", "check", "from passed", "to passed"],
                [
                    [c["change"], _short(c["checkId"]), c["fromPassed"], c["toPassed"]]
                    for c in data["checkChanges"]
                ],
                empty="none",
            ),
            Section(
                "edge changes",
                ["change", "from", "edge", "to"],
                [
                    [e["change"], _short(e["from"]), e["kind"], _short(e["to"])]
                    for e in data["edgeChanges"]
                ],
                empty="none",
            ),
        ],
        heading=f"{_short(data['from'])} → {_short(data['to'])}",
    )


ROOT_CAUSE = """query($id: ID!, $since: DateTime, $until: DateTime) {
  rootCause(id: $id, since: $since, until: $until) {
    subjectId modelVersionId baselineId since until truncated
    suspects { id kind entityId at summary score path
      breakdown { severity hops hoursBefore onColumnPath inProvenanceDiff score } }
  }
}"""


@click.command("root-cause")
@click.argument("reference")
@click.option("--since", default=None, help="Start of the window (ISO-8601).")
@click.option(
    "--until",
    default=None,
    help="End of the window (ISO-8601); a deployment stands for the version it served then.",
)
@common_options
@run_with_client
def root_cause(
    client: GraphQLClient, fmt: Format, reference: str, since: str | None, until: str | None
) -> None:
    """Ranked, explained upstream suspects for a regressed model version or deployment."""
    data = client.execute(
        ROOT_CAUSE,
        {
            "id": resolve_reference(client, reference),
            "since": _time(since, "--since"),
            "until": _time(until, "--until"),
        },
    )["rootCause"]
    baseline = _short(data["baselineId"]) if data["baselineId"] else "none"
    emit(
        fmt,
        data,
        [
            Section(
                "suspects",
                ["#", "score", "kind", "when", "what", "hops", "in diff"],
                [
                    [
                        rank,
                        f"{s['score']:.3f}",
                        s["kind"],
                        s["at"],
                        s["summary"],
                        s["breakdown"]["hops"],
                        s["breakdown"]["inProvenanceDiff"],
                    ]
                    for rank, s in enumerate(data["suspects"], start=1)
                ],
                ["truncated: a traversal bound cut the search upstream"]
                if data["truncated"]
                else [],
                empty="no upstream events in the window",
            )
        ],
        heading=f"Root cause for {_short(data['modelVersionId'])} (baseline {baseline})",
    )


# --- search -----------------------------------------------------------------------------------

SEARCH = """query($query: String!, $kinds: [EntityKind!], $namespace: String, $owner: String,
                 $tag: String, $first: Int, $after: String) {
  search(query: $query, kinds: $kinds, namespace: $namespace, owner: $owner, tag: $tag,
         first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id kind namespace name label } }
  }
}"""


@click.command()
@click.argument("query", default="")
@click.option("--kind", "kinds", multiple=True, type=KIND_CHOICE, help="Only these kinds.")
@click.option("--namespace", default=None, help="Only this namespace.")
@click.option("--owner", default=None, help="Only entities with this owner.")
@click.option("--tag", default=None, help="Only entities with this tag.")
@click.option(
    "--first",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Most results on a page.",
)
@click.option("--after", default=None, help="The cursor a previous page ended at.")
@common_options
@run_with_client
def search(
    client: GraphQLClient,
    fmt: Format,
    query: str,
    kinds: tuple[str, ...],
    namespace: str | None,
    owner: str | None,
    tag: str | None,
    first: int,
    after: str | None,
) -> None:
    """Search names, descriptions, tags, owners and field names."""
    data = client.execute(
        SEARCH,
        {
            "query": query,
            "kinds": [k.upper() for k in kinds] or None,
            "namespace": namespace,
            "owner": owner,
            "tag": tag,
            "first": first,
            "after": after,
        },
    )["search"]
    nodes = [e["node"] for e in data["edges"]]
    notes = _more(data["pageInfo"], "results")
    emit(
        fmt,
        data,
        [
            Section(
                f"search {query!r}" if query else "search",
                ["kind", "namespace", "name", "id"],
                [[n["kind"], n["namespace"], _short(n["id"]), n["id"]] for n in nodes],
                notes,
                empty="no matches",
            )
        ],
    )


# --- stats ------------------------------------------------------------------------------------

STATS = """{ stats { store nodes { key count } edges { key count } health { key count } } }"""


@click.command()
@common_options
@run_with_client
def stats(client: GraphQLClient, fmt: Format) -> None:
    """Count what the store holds, by kind and health."""
    data = client.execute(STATS)["stats"]
    counts = {
        part: {c["key"]: c["count"] for c in data[part]} for part in ("nodes", "edges", "health")
    }
    sections = [
        Section(
            part,
            ["kind" if part != "health" else "status", "count"],
            [[key, str(n)] for key, n in sorted(values.items())]
            + ([["total", str(sum(values.values()))]] if values else []),
            empty="none",
        )
        for part, values in counts.items()
    ]
    emit(fmt, {"store": data["store"], **counts}, sections, heading=f"store: {data['store']}")


COMMANDS = (lineage, impact, cascade, at_risk, health, provenance, diff, root_cause, search, stats)
