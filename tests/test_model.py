"""The typed entities, edge merging and changeset validation."""

from __future__ import annotations

import gc
import json
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind
from lineagegraph.ingest.batching import read_path
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import (
    ChangeFold,
    ChangeSet,
    Dataset,
    Edge,
    EdgeEnding,
    EdgeKind,
    Field,
    GroupedChangeSet,
    HealthReason,
    ModelVersion,
    Node,
    Origin,
    Precision,
    ReportGroup,
    Result,
    end_edge,
    entity_from_node,
    format_time,
    json_equal,
    merge_attrs,
    merge_edge,
    merge_reported,
    parse_time,
    reasons_from_json,
    reasons_to_json,
    time_stamp,
)
from lineagegraph.store.base import canonical_json

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def test_entities_round_trip_through_nodes() -> None:
    field = Field(namespace="s3://b", name="t", path="a.b", type="int", nullable=False)
    node = field.to_node()
    assert node.id == "field|s3://b|t|a.b"
    assert node.attrs == {"type": "int", "nullable": False}
    assert entity_from_node(node) == field
    version = ModelVersion(
        namespace="mlflow://r", name="m", version="3", metrics={"auc": 0.9}, created_at=T0
    )
    assert entity_from_node(version.to_node()) == version
    result = Result(namespace="n", name="t", check="c", result="r1", passed=False, observed_at=T0)
    assert result.to_node().id == "result|n|t|c|r1"
    assert result.check_id == "check|n|t|c"


def test_merge_edge_widens_the_interval_and_revives() -> None:
    first = Edge.seen("a", EdgeKind.READS, "b", T0)
    later = Edge.seen("a", EdgeKind.READS, "b", T0 + timedelta(days=2), attrs={"x": 1})
    merged = merge_edge(first, later)
    assert (merged.first_seen, merged.last_seen) == (format_time(T0), later.last_seen)
    assert merged.attrs == {"x": 1}
    assert merge_edge(later, first) == merged  # order does not matter
    ended = end_edge(merged, format_time(T0 + timedelta(days=3)))
    assert not ended.current
    assert ended.valid_at(format_time(T0 + timedelta(days=1)))
    assert not ended.valid_at(format_time(T0 + timedelta(days=4)))
    assert merge_edge(ended, first) == ended  # an old replay does not revive
    revived = merge_edge(ended, Edge.seen("a", EdgeKind.READS, "b", T0 + timedelta(days=5)))
    assert revived.current
    assert end_edge(revived, format_time(T0 + timedelta(days=4))) == revived  # seen after


def test_validate_shape_rejects_wrong_kinds_and_missing_ends() -> None:
    cs = ChangeSet().add(Dataset(namespace="n", name="a"))
    cs.link("dataset|n|a", EdgeKind.HAS_FIELD, "field|n|a|x", T0)
    with pytest.raises(InvalidInput, match="does not exist"):
        cs.validate_shape({})
    ok = ChangeSet().add(Dataset(namespace="n", name="a"), Field(namespace="n", name="a", path="x"))
    ok.link("dataset|n|a", EdgeKind.HAS_FIELD, "field|n|a|x", T0)
    ok.validate_shape({})
    wrong = ChangeSet().link("dataset|n|a", EdgeKind.SERVES, "dataset|n|b", T0)
    with pytest.raises(InvalidInput, match="is a DATASET, expected one of MODEL_VERSION"):
        wrong.validate_shape({"dataset|n|a": Kind.DATASET, "dataset|n|b": Kind.DATASET})


def test_validate_shape_checks_every_node_object_whose_id_it_has_not_checked() -> None:
    good = Node.trusted("dataset|n|a", Kind.DATASET, "n", "a", (), {})
    ChangeSet(nodes=[good]).validate_shape({})
    ChangeSet(nodes=[good]).validate_shape({})  # the same object again: still valid
    # Another object with the same id (a translator's bug, say) is checked on its own.
    forged = Node.trusted("dataset|n|a", Kind.DATASET, "n", "b", (), {})
    with pytest.raises(InvalidInput, match="does not match its key"):
        ChangeSet(nodes=[forged]).validate_shape({})
    with pytest.raises(InvalidInput, match="does not match its key"):
        ChangeSet(nodes=[good, forged]).validate_shape({})
    ChangeSet(nodes=[good]).validate_shape({})
    # Checking keeps no node alive: a long-lived server sees millions of runs once each.
    gone = Node.trusted("dataset|n|gone", Kind.DATASET, "n", "gone", (), {"sql": "x" * 1000})
    ChangeSet(nodes=[gone]).validate_shape({})
    watch = weakref.ref(gone)
    del gone
    gc.collect()
    assert watch() is None


def test_parse_time_accepts_z_and_offsets() -> None:
    assert parse_time("2026-05-01T02:00:00+02:00") == T0
    assert parse_time("2026-05-01T00:00:00Z") == T0
    with pytest.raises(InvalidInput):
        parse_time("yesterday")


def slow_stamp(value: object) -> str:
    """What time_stamp returns, by parsing and formatting every time."""
    if not isinstance(value, str | datetime) or value == "":
        return ""
    try:
        return format_time(parse_time(value))
    except InvalidInput:
        return ""


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["stamp", "dumped", "offset", "digits"]),
)
def test_time_stamp_takes_written_times_as_parsing_them_would(when: datetime, written: str) -> None:
    text = {
        "stamp": format_time(when),  # as stored: taken as it is
        "dumped": when.isoformat().replace("+00:00", "Z"),  # as entities dump their times
        "offset": when.isoformat(),
        # other scripts' digits look like a stamp to a careless pattern, not to datetime
        "digits": format_time(when).replace("0", "\u0660").replace("1", "\u0661"),
    }[written]
    assert time_stamp(text) == slow_stamp(text)
    if written == "stamp":
        assert time_stamp(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00.000000Z",
        "2024-02-29T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00.1234567Z",
        "2024-01-01T00:00:00.Z",
        "2024-01-01 00:00:00Z",
        "\u0662\u0660\u0662\u0664-01-05T10:00:00Z",
        "2024-01-05T10:00:00.\uff11Z",
        "yesterday",
        "",
    ],
)
def test_time_stamp_of_unusual_times_is_what_parsing_gives(text: str) -> None:
    assert time_stamp(text) == slow_stamp(text)


def test_trusted_nodes_and_edges_equal_validated_ones() -> None:
    attrs: dict[str, Any] = {"type": "int"}
    node = Node.trusted("field|n|t|a", Kind.FIELD, "n", "t", ("a",), attrs)
    validated = Node(id="field|n|t|a", kind=Kind.FIELD, namespace="n", name="t", parts=("a",))
    assert node == validated.model_copy(update={"attrs": {"type": "int"}})
    assert node.model_dump() == {**validated.model_dump(), "attrs": {"type": "int"}}
    assert node.model_fields_set == set(Node.model_fields)
    assert node.attrs is attrs  # taken as given, not copied
    edge = Edge.trusted("a", EdgeKind.READS, "b", Origin.DBT, "t1", "t2", None, {})
    assert edge == Edge(
        source_id="a",
        kind=EdgeKind.READS,
        target_id="b",
        origin=Origin.DBT,
        first_seen="t1",
        last_seen="t2",
    )
    assert edge.model_copy(update={"ended_at": "t3"}).ended_at == "t3"
    assert edge.ended_at is None  # copies do not write through
    with pytest.raises(ValueError, match="frozen"):
        edge.last_seen = "t9"  # type: ignore[misc]


def reference_normalized(changeset: ChangeSet) -> ChangeSet:
    """What ``normalized`` must equal: every repeat merged in order by merge_attrs/merge_edge."""
    nodes: dict[str, Node] = {}
    for node in changeset.nodes:
        old = nodes.get(node.id)
        nodes[node.id] = (
            node
            if old is None
            else node.model_copy(update={"attrs": merge_attrs(old.attrs, node.attrs)})
        )
    edges: dict[tuple[str, EdgeKind, str], Edge] = {}
    for edge in changeset.edges:
        edges[edge.key] = merge_edge(edges.get(edge.key), edge)
    return changeset.model_copy(
        update={"nodes": list(nodes.values()), "edges": list(edges.values())}
    )


def test_normalized_merges_real_events_in_order(shared_data: Path) -> None:
    combined = ChangeSet(origin=Origin.OPENLINEAGE)
    for document in read_path(shared_data / "marquez" / "metadata.json"):
        combined.extend(translate_event(document.value))
    for document in read_path(shared_data / "marquez" / "apples"):
        combined.extend(translate_event(document.value))
    normalized = combined.normalized()
    assert len(combined.nodes) > len(normalized.nodes)
    assert len(combined.edges) > len(normalized.edges)
    assert normalized.model_dump() == reference_normalized(combined).model_dump()


def test_normalized_returns_a_changeset_without_repeats_as_it_is() -> None:
    changeset = ChangeSet().add(Dataset(namespace="n", name="a"), Dataset(namespace="n", name="b"))
    changeset.link("dataset|n|a", EdgeKind.READS, "job|n|j", T0)
    assert changeset.normalized() is changeset


stamps = st.sampled_from(
    ["2024-05-01T00:00:00.000000Z", "2024-05-02T00:00:00.000000Z", "2024-05-03T00:00:00.000000Z"]
)
small_attrs = st.dictionaries(
    st.sampled_from(["p", "q", "r"]), st.none() | st.integers(0, 3), max_size=3
)


@st.composite
def edges(draw: st.DrawFn, names: tuple[str, ...] = ("a", "b")) -> Edge:
    first = draw(stamps)
    last = max(first, draw(stamps))
    return Edge(
        source_id=f"dataset|pg|{draw(st.sampled_from(names))}",
        kind=EdgeKind.READS,
        target_id="job|etl|x",
        origin=draw(st.sampled_from([Origin.OPENLINEAGE, Origin.DBT])),
        first_seen=first,
        last_seen=last,
        ended_at=draw(st.none() | stamps),
        attrs=draw(small_attrs),
    )


@st.composite
def nodes(draw: st.DrawFn, names: tuple[str, ...] = ("a", "b")) -> Node:
    name = draw(st.sampled_from(names))
    return Node(
        id=f"dataset|pg|{name}",
        kind=Kind.DATASET,
        namespace="pg",
        name=name,
        attrs=draw(small_attrs),
    )


@given(st.lists(nodes(), max_size=6), st.lists(edges(), max_size=8))
def test_normalized_folds_like_merge_attrs_and_merge_edge(
    node_list: list[Node], edge_list: list[Edge]
) -> None:
    changeset = ChangeSet(nodes=node_list, edges=edge_list)
    assert changeset.normalized().model_dump() == reference_normalized(changeset).model_dump()


@st.composite
def report_groups(draw: st.DrawFn) -> ReportGroup:
    """A group as a translator keeps one: shared nodes, links whose attributes hold no None.

    Its nodes and edges may be ones that changesets report too (a, b, c) or not (d).
    """
    links = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["dataset|pg|a", "dataset|pg|b", "dataset|pg|c", "dataset|pg|d"]),
                st.just(EdgeKind.READS),
                st.just("job|etl|x"),
                st.dictionaries(st.sampled_from(["p", "q"]), st.integers(0, 3), max_size=2),
            ),
            max_size=3,
            unique_by=lambda link: link[0],
        )
    )
    group_nodes = draw(st.lists(nodes(("a", "b", "c", "d")), max_size=2))
    return ReportGroup(tuple(group_nodes), tuple(links))


@st.composite
def grouped_changesets(draw: st.DrawFn, pool: list[ReportGroup]) -> GroupedChangeSet:
    """A changeset with some of the pool's groups reported at random places in it."""
    own = ChangeSet(
        origin=draw(st.sampled_from([Origin.OPENLINEAGE, Origin.DBT])),
        nodes=draw(st.lists(nodes(("a", "b", "c")), max_size=3)),
        edges=draw(st.lists(edges(("a", "b", "c")), max_size=3)),
        endings=[EdgeEnding(source_id="a", kind=EdgeKind.READS, target_id="b", at=draw(stamps))],
    )
    reports = draw(st.lists(st.sampled_from(pool), max_size=3)) if pool else []
    places = sorted(
        (
            draw(st.integers(0, len(own.nodes))),
            draw(st.integers(0, len(own.edges))),
        )
        for _ in reports
    )
    node_places = sorted(p[0] for p in places)
    edge_places = sorted(p[1] for p in places)
    return GroupedChangeSet(
        own,
        tuple(
            (n, e, group, draw(stamps))
            for n, e, group in zip(node_places, edge_places, reports, strict=True)
        ),
    )


@settings(max_examples=400)
@given(st.data())
def test_a_fold_of_grouped_changesets_normalizes_their_expansion(data: st.DataObject) -> None:
    pool = data.draw(st.lists(report_groups(), max_size=3))
    assert_fold_normalizes(data.draw(st.lists(grouped_changesets(pool), min_size=1, max_size=6)))


def assert_fold_normalizes(changes: list[GroupedChangeSet]) -> None:
    concatenated = ChangeSet(origin=changes[0].changeset.origin)
    fold = ChangeFold(concatenated.origin)
    for grouped in changes:
        expanded = grouped.expanded()
        assert expanded.size == grouped.size
        concatenated.extend(expanded)
        fold.add(grouped)
    assert fold.result().model_dump() == reference_normalized(concatenated).model_dump()


DAYS = [format_time(T0 + timedelta(days=n)) for n in range(4)]


def test_a_group_that_only_it_reports_folds_like_its_expansion() -> None:
    """Repeats of a group that nothing else reports move its times alone, until another
    origin reports it, or a changeset reports one of its nodes or edges."""
    field = Node.trusted("field|pg|d|x", Kind.FIELD, "pg", "d", ("x",), {"type": "int"})
    group = ReportGroup(
        (Node.trusted("dataset|pg|d", Kind.DATASET, "pg", "d", (), {"owners": ["ann"]}), field),
        (("dataset|pg|d", EdgeKind.HAS_FIELD, "field|pg|d|x", {}),),
    )

    def reported(origin: Origin, day: int, own: ChangeSet | None = None) -> GroupedChangeSet:
        changeset = own or ChangeSet(origin=origin)
        return GroupedChangeSet(changeset, ((0, 0, group, DAYS[day]),))

    later = [reported(Origin.OPENLINEAGE, 2), reported(Origin.OPENLINEAGE, 0)]
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 1), *later])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 0), reported(Origin.OPENLINEAGE, 2)])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 2), reported(Origin.OPENLINEAGE, 0)])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 3), reported(Origin.DBT, 1)])
    assert_fold_normalizes([*later, reported(Origin.DBT, 3)])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 1), reported(Origin.DBT, 3), *later])
    retyped_field = field.model_copy(update={"attrs": {"type": "x"}})
    retyped = ChangeSet(origin=Origin.DBT, nodes=[retyped_field])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 1), GroupedChangeSet(retyped), *later])
    relinked = ChangeSet(origin=Origin.DBT)
    relinked.link("dataset|pg|d", EdgeKind.HAS_FIELD, "field|pg|d|x", T0, {"k": 1})
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 1), GroupedChangeSet(relinked), *later])
    assert_fold_normalizes([reported(Origin.OPENLINEAGE, 1, relinked), *later])


def test_expanding_places_each_group_where_it_was_reported() -> None:
    shared = Node.trusted("dataset|pg|s", Kind.DATASET, "pg", "s", (), {})
    group = ReportGroup((shared,), (("dataset|pg|s", EdgeKind.READS, "job|etl|x", {"k": 1}),))
    own = ChangeSet(origin=Origin.DBT).add(Dataset(namespace="pg", name="a"))
    own.link("dataset|pg|a", EdgeKind.READS, "job|etl|x", T0)
    expanded = GroupedChangeSet(own, ((0, 0, group, "t1"), (1, 1, group, "t2"))).expanded()
    assert [n.id for n in expanded.nodes] == ["dataset|pg|s", "dataset|pg|a", "dataset|pg|s"]
    assert [(e.source_id, e.first_seen, e.origin) for e in expanded.edges] == [
        ("dataset|pg|s", "t1", Origin.DBT),
        ("dataset|pg|a", format_time(T0), Origin.DBT),
        ("dataset|pg|s", "t2", Origin.DBT),
    ]
    assert expanded.edges[0].attrs == {"k": 1}
    assert group.ids == {"dataset|pg|s"}
    assert GroupedChangeSet(own).expanded() is own


def test_reasons_round_trip_through_json_and_are_validated() -> None:
    reasons = (
        HealthReason(
            result_id='result|n|t|c|"r1" ü',
            check_id="check|n|t|c",
            checked_id="dataset|n|t",
            path=("dataset|n|t", "job|n|j", "dataset|n|u"),
            hops=2,
            precision=Precision.POTENTIAL,
            message="downstream",
        ),
        HealthReason(
            result_id="result|n|t|c|r2",
            check_id="check|n|t|c",
            checked_id="dataset|n|t",
            path=("dataset|n|t",),
            hops=0,
            precision=Precision.CONFIRMED,
            message="failed",
        ),
    )
    text = json.dumps([r.model_dump(mode="json") for r in reasons], ensure_ascii=False)
    assert reasons_from_json(text) == reasons
    assert json.loads(reasons_to_json(reasons)) == json.loads(text)
    assert reasons_from_json(reasons_to_json(reasons)) == reasons
    assert json.dumps(reasons[0].result_id, ensure_ascii=False) in reasons_to_json(reasons)
    assert reasons_from_json(text.encode()) == reasons
    assert reasons_from_json("[]") == ()
    broken = json.loads(text)
    broken[1]["precision"] = "SURE"
    with pytest.raises(ValidationError):
        reasons_from_json(json.dumps(broken))


def test_a_serving_with_an_unreadable_end_serves_from_its_start_on() -> None:
    # Lineage as of a time read such an interval as not there at all (serving before its
    # start), while servedVersions read it as open: the two answered differently.
    from lineagegraph.api.types import Serving

    start = datetime(2026, 3, 1, tzinfo=UTC)
    edge = Edge.seen(
        "model_version|mlflow://reg|churn|1",
        EdgeKind.SERVES,
        "deployment|k8s://prod|churn",
        start - timedelta(days=30),
        Origin.API,
        {"intervals": [{"from": "2026-03-01T00:00:00Z", "until": "not a time"}]},
    )
    for at, serving in ((start - timedelta(days=1), False), (start + timedelta(days=1), True)):
        assert edge.serving_at(at) is serving
        assert len(Serving.of([edge], at)) == int(serving)


def test_a_node_holding_no_attributes_takes_any_report_as_newer() -> None:
    # A bare node stored with the time of the reference that made it (as stores did)
    # would take its first description, older than that reference, as late, and keep the
    # description after it instead of the newest.
    merged, at = merge_reported({}, "2024-05-03T00:00:00Z", {"type": "INT"}, "2024-05-01T00:00:00Z")
    assert (merged, at) == ({"type": "INT"}, "2024-05-01T00:00:00Z")
    merged, at = merge_reported(merged, at, {"type": "BIGINT"}, "2024-05-02T00:00:00Z")
    assert (merged, at) == ({"type": "BIGINT"}, "2024-05-02T00:00:00Z")


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, -1, 2**70])
    | st.sampled_from([0.0, 1.0, -0.0, 0.5])
    | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=12,
)


def _retyped(value: Any, data: st.DataObject) -> Any:
    """A copy of a JSON value, some of whose numbers take another type of the same
    Python value (1, 1.0, true), some of whose dicts another key order, some parts shared."""
    if data.draw(st.booleans()):
        return value  # the same object
    if isinstance(value, dict):
        items = [(k, _retyped(v, data)) for k, v in value.items()]
        return dict(reversed(items) if data.draw(st.booleans()) else items)
    if isinstance(value, list):
        return [_retyped(v, data) for v in value]
    if isinstance(value, bool | int | float) and value in (0, 1):
        return data.draw(st.sampled_from([value, int(value), float(value), bool(value)]))
    return value


@given(value=_JSON, data=st.data())
@settings(max_examples=300, deadline=None)
def test_json_equal_is_equality_of_canonical_json(value: Any, data: st.DataObject) -> None:
    other = _retyped(value, data)
    assert json_equal(value, other) == (canonical_json(value) == canonical_json(other))
    assert json_equal(other, value) == json_equal(value, other)


def test_a_fold_keeps_a_newer_report_that_changes_only_a_values_json_type() -> None:
    fold = ChangeFold(Origin.OPENLINEAGE)
    source, target = "field|ns|a|x", "field|ns|b|x"
    reports = [("2026-01-01T00:00:00.000000Z", 1), ("2026-01-02T00:00:00.000000Z", True)]
    fold.fold_edges(
        [
            Edge.trusted(
                source, EdgeKind.DERIVES, target, Origin.OPENLINEAGE, at, at, None, {"m": value}
            )
            for at, value in reports
        ]
    )
    (edge,) = fold.merged()[1]
    assert edge.attrs["m"] is True
