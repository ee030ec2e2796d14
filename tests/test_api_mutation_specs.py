"""The pure translators behind the mutations (``ingest/mutations.py``): specs to ChangeSets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineagegraph.ingest import mutations as mx
from lineagegraph.model import Edge, EdgeEnding, EdgeKind, Origin, RunState, format_time

AT = datetime(2026, 5, 1, 12, tzinfo=UTC)
MV1 = "model_version|mlflow://r|m|1"
MV2 = "model_version|mlflow://r|m|2"
DEP = "deployment|k8s://c|m-prod"


def serving(version: str, start: datetime, until: datetime | None = None) -> Edge:
    """The SERVES edge of a version deployed at ``start`` (ended at ``until``)."""
    interval = {"from": start.isoformat(), "until": until.isoformat() if until else None}
    edge = Edge.seen(
        version, EdgeKind.SERVES, DEP, start, Origin.API, {"intervals": [interval], "traffic": 100}
    )
    if until is None:
        return edge
    return edge.model_copy(update={"ended_at": format_time(until)})


def test_deploy_ends_what_served_before_and_closes_its_interval() -> None:
    serving_ = serving(MV1, datetime(2026, 4, 1, tzinfo=UTC))
    cs = mx.deploy(mx.DeploySpec(MV2, "k8s://c", "m-prod", since=AT), AT, [serving_])
    assert cs.endings == [
        EdgeEnding(
            source_id=MV1, kind=EdgeKind.SERVES, target_id=DEP, at="2026-05-01T12:00:00.000000Z"
        )
    ]
    by_source = {e.source_id: e for e in cs.edges}
    assert by_source[MV1].attrs["intervals"] == [
        {"from": "2026-04-01T00:00:00+00:00", "until": "2026-05-01T12:00:00+00:00"}
    ]
    assert by_source[MV2].attrs == {
        "intervals": [{"from": "2026-05-01T12:00:00+00:00", "until": None}],
        "traffic": 100.0,
    }
    assert by_source[MV2].first_seen == "2026-05-01T12:00:00.000000Z"


def test_deploy_of_a_version_served_before_adds_an_interval() -> None:
    # A rollback replaced the version's intervals with the new one alone.
    before = serving(MV1, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC))
    now = serving(MV2, datetime(2026, 4, 15, tzinfo=UTC))
    cs = mx.deploy(mx.DeploySpec(MV1, "k8s://c", "m-prod"), AT, [before, now])
    by_source = {e.source_id: e for e in cs.edges}
    assert by_source[MV1].attrs["intervals"] == [
        {"from": "2026-04-01T00:00:00+00:00", "until": "2026-04-15T00:00:00+00:00"},
        {"from": "2026-05-01T12:00:00+00:00", "until": None},
    ]
    assert by_source[MV2].attrs["intervals"] == [
        {"from": "2026-04-15T00:00:00+00:00", "until": "2026-05-01T12:00:00+00:00"}
    ]
    assert [e.source_id for e in cs.endings] == [MV2]
    # what serves since a rollback cannot be replaced from before the rollback
    rolled_back = serving(MV1, datetime(2026, 4, 1, tzinfo=UTC)).model_copy(
        update={"last_seen": "2026-04-20T00:00:00.000000Z"}
    )
    with pytest.raises(mx.InvalidField, match="has served since 2026-04-20"):
        mx.deploy(
            mx.DeploySpec(MV2, "k8s://c", "m-prod", since=datetime(2026, 4, 18, tzinfo=UTC)),
            AT,
            [rolled_back],
        )
    # a rollback cannot start before its earlier serving ended
    early = mx.DeploySpec(MV1, "k8s://c", "m-prod", since=datetime(2026, 4, 10, tzinfo=UTC))
    with pytest.raises(mx.InvalidField, match=r"served deployment.* until 2026-04-15"):
        mx.deploy(early, AT, [before])


def test_deploy_refuses_to_move_back_what_serves() -> None:
    # It answered as if it had, and changed nothing.
    now = serving(MV2, datetime(2026, 4, 15, tzinfo=UTC))
    earlier = mx.DeploySpec(MV2, "k8s://c", "m-prod", since=datetime(2026, 4, 13, tzinfo=UTC))
    with pytest.raises(mx.InvalidField, match="serves since 2026-04-15"):
        mx.deploy(earlier, AT, [now])
    traffic = mx.deploy(mx.DeploySpec(MV2, "k8s://c", "m-prod", traffic=50), AT, [now])
    assert traffic.edges[0].attrs["traffic"] == 50


def test_deploy_refuses_a_start_in_the_future() -> None:
    # It took effect at once: the deployment left the version it still served.
    later = mx.DeploySpec(MV2, "k8s://c", "m-prod", since=datetime(2026, 5, 8, tzinfo=UTC))
    with pytest.raises(mx.InvalidField) as caught:
        mx.deploy(later, AT)
    assert caught.value.field == "from"
    assert "in the future" in str(caught.value)
    skewed = mx.DeploySpec(MV2, "k8s://c", "m-prod", since=datetime(2026, 5, 1, 12, 2, tzinfo=UTC))
    assert mx.deploy(skewed, AT).edges  # a clock a little ahead is fine


def test_deploy_rejects_bad_traffic_and_a_model_as_version() -> None:
    with pytest.raises(mx.InvalidField) as caught:
        mx.deploy(mx.DeploySpec(MV2, "k8s://c", "m-prod", traffic=101), AT)
    assert caught.value.field == "traffic"
    with pytest.raises(mx.InvalidField) as caught:
        mx.deploy(mx.DeploySpec("model|mlflow://r|m", "k8s://c", "m-prod"), AT)
    assert caught.value.field == "model_version"


def test_record_run_reports_a_snapshot_only_when_complete() -> None:
    io = [mx.RunIO("dataset|pg|raw")], [mx.RunIO("dataset|pg|out")]
    started = mx.record_run(
        mx.RunSpec("airflow", "load", "r1", RunState.START, inputs=io[0], outputs=io[1]),
        AT,
        {"dataset|pg|raw": "dataset_version|pg|raw|v3"},
    )
    assert started.snapshots == []
    assert not any(n.kind.value == "DATASET_VERSION" for n in started.nodes)
    assert ("dataset_version|pg|raw|v3", EdgeKind.READ_BY, "run|airflow|load|r1") in {
        e.key for e in started.edges
    }
    done = mx.record_run(
        mx.RunSpec("airflow", "load", "r1", RunState.COMPLETE, inputs=io[0], outputs=io[1]), AT
    )
    assert [(s.job_id, s.inputs, s.outputs) for s in done.snapshots] == [
        ("job|airflow|load", ("dataset|pg|raw",), ("dataset|pg|out",))
    ]
    assert "dataset_version|pg|out|r1" in {n.id for n in done.nodes}


def test_quality_result_key_defaults_to_the_observation_time() -> None:
    cs = mx.record_quality_result(
        mx.QualityResultSpec(
            mx.CheckSpec("pg", "orders", "not_null(id)", field="id", severity="warn"),
            passed=False,
            observed_at=AT,
        ),
        latest_version="dataset_version|pg|orders|v9",
    )
    ids = {n.id for n in cs.nodes}
    assert "result|pg|orders|not_null(id)|2026-05-01T12:00:00.000000Z" in ids
    assert ("field|pg|orders|id", EdgeKind.HAS_CHECK, "check|pg|orders|not_null(id)") in {
        e.key for e in cs.edges
    }
    check = next(n for n in cs.nodes if n.kind.value == "CHECK")
    assert check.attrs["severity"] == "WARN"


def test_replace_fields_ends_the_fields_no_longer_listed() -> None:
    cs = mx.upsert_dataset(
        mx.DatasetSpec("pg", "t", fields=[mx.FieldSpec("a")], replace_fields=True),
        AT,
        current_fields=["a", "b", "b.c"],
    )
    assert sorted((e.source_id, e.target_id) for e in cs.endings) == [
        ("dataset|pg|t", "field|pg|t|b"),
        ("field|pg|t|b", "field|pg|t|b.c"),
    ]
    deleted = {n.id for n in cs.nodes if n.attrs.get("deleted")}
    assert deleted == {"field|pg|t|b", "field|pg|t|b.c"}
