"""The typed entities, edge merging and changeset validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind
from lineagegraph.model import (
    ChangeSet,
    Dataset,
    Edge,
    EdgeKind,
    Field,
    HealthReason,
    ModelVersion,
    Precision,
    Result,
    end_edge,
    entity_from_node,
    format_time,
    merge_edge,
    parse_time,
    reasons_from_json,
    reasons_to_json,
)

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


def test_parse_time_accepts_z_and_offsets() -> None:
    assert parse_time("2026-05-01T02:00:00+02:00") == T0
    assert parse_time("2026-05-01T00:00:00Z") == T0
    with pytest.raises(InvalidInput):
        parse_time("yesterday")


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
