"""Root cause: ranked, explained suspects, on a hand-built chain and on the demo, both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineagegraph import demo
from lineagegraph.algorithms.rootcause import SuspectKind
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id, short_name
from lineagegraph.ingest import mutations as mx
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    EdgeKind,
    Feature,
    Field,
    Job,
    Model,
    ModelVersion,
    Result,
    Run,
    RunState,
)
from lineagegraph.service import LineageService
from tests.api_helpers import gql
from tests.test_provenance import PG, build_feature_pipeline, model_version_of, pipeline_at

NS = "s3://lake"
REGRESSION = datetime(2026, 6, 10, 12, tzinfo=UTC)


def before(hours: int) -> datetime:
    return REGRESSION - timedelta(hours=hours)


def ds(i: int) -> str:
    return make_id(Kind.DATASET, NS, f"d{i}")


def fd(i: int) -> str:
    return make_id(Kind.FIELD, NS, f"d{i}", "x")


def mv(n: int) -> str:
    return make_id(Kind.MODEL_VERSION, NS, "m", str(n))


def chain() -> ChangeSet:
    """d5 -> j5 -> d4 -> ... -> d2 -> j2 -> d1 -> train -> m (v1 3 days before v2).

    Column x flows d5.x -> ... -> d1.x, feature f is computed from d1.x, and both
    model versions are trained on f. d2's column x narrowed from bigint to int one
    hour before v2; d5's row check failed 40 hours before it.
    """
    cs = ChangeSet()
    long_ago = before(100)
    for i in range(1, 6):
        cs.add(Dataset(namespace=NS, name=f"d{i}"))
        cs.add(Field(namespace=NS, name=f"d{i}", path="x", type="bigint"))
        cs.link(ds(i), EdgeKind.HAS_FIELD, fd(i), long_ago)
    for i in range(2, 6):
        job = make_id(Kind.JOB, NS, f"j{i}")
        cs.add(Job(namespace=NS, name=f"j{i}"))
        cs.link(ds(i), EdgeKind.READS, job, long_ago)
        cs.link(job, EdgeKind.WRITES, ds(i - 1), long_ago)
        cs.link(fd(i), EdgeKind.DERIVES, fd(i - 1), long_ago, {"job": job})
    feature = Feature(namespace=NS, name="view:f")
    train = make_id(Kind.JOB, NS, "train")
    cs.add(feature, Job(namespace=NS, name="train"), Model(namespace=NS, name="m"))
    cs.link(fd(1), EdgeKind.COMPUTED_FROM, feature.id, long_ago)
    cs.link(ds(1), EdgeKind.READS, train, long_ago)
    for n, created in ((1, before(72)), (2, REGRESSION)):
        cs.add(ModelVersion(namespace=NS, name="m", version=str(n), created_at=created))
        cs.link(make_id(Kind.MODEL, NS, "m"), EdgeKind.HAS_VERSION, mv(n), created)
        cs.link(train, EdgeKind.WRITES, mv(n), created)
        cs.link(feature.id, EdgeKind.TRAINED_ON, mv(n), created)
    for name, hours, type_ in (("a", 48, "bigint"), ("b", 1, "int")):
        version = DatasetVersion(
            namespace=NS,
            name="d2",
            version=name,
            created_at=before(hours),
            schema_fields=[{"path": "x", "type": type_}],
        )
        cs.add(version)
        cs.link(ds(2), EdgeKind.HAS_VERSION, version.id, before(hours))
    rows = Check(namespace=NS, name="d5", check="rows", severity="ERROR")
    failed = Result(
        namespace=NS,
        name="d5",
        check="rows",
        result="r1",
        passed=False,
        observed_at=before(40),
        observed="0 rows",
    )
    cs.add(rows, failed)
    cs.link(ds(5), EdgeKind.HAS_CHECK, rows.id, long_ago)
    cs.link(rows.id, EdgeKind.HAS_RESULT, failed.id, before(40))
    return cs


def test_close_recent_schema_change_outranks_old_distant_failing_check(
    service: LineageService,
) -> None:
    service.apply(chain())
    report = service.root_cause(mv(2))
    assert report.model_version_id == mv(2)
    assert report.baseline_id == mv(1)
    assert (report.since, report.until) == (before(72), REGRESSION)
    schema, failed = report.suspects
    assert schema.kind is SuspectKind.SCHEMA_CHANGE
    assert schema.entity_id == ds(2)
    assert schema.id == f"SCHEMA_CHANGE:{make_id(Kind.DATASET_VERSION, NS, 'd2', 'b')}"
    b = schema.breakdown
    # Breaking (bigint -> int narrows), 2 hops (d1, d2), 1 hour before, on the column
    # path d2.x -> d1.x -> f; no recorded runs, so nothing is in the provenance diff.
    assert (b.severity, b.hops, b.hours_before) == (1.0, 2, 1.0)
    assert b.proximity == pytest.approx(1 / 3)
    assert b.recency == pytest.approx(24 / 25)
    assert (b.on_column_path, b.column_factor) == (True, 1.0)
    assert (b.in_provenance_diff, b.diff_factor) == (False, 0.6)
    assert schema.score == pytest.approx(1 / 3 * 24 / 25 * 0.6)  # 0.192
    assert schema.path == (
        ds(2),
        make_id(Kind.JOB, NS, "j2"),
        ds(1),
        make_id(Kind.JOB, NS, "train"),
        mv(2),
    )
    assert failed.kind is SuspectKind.FAILED_CHECK
    assert failed.entity_id == ds(5)
    f = failed.breakdown
    # ERROR severity, 5 hops, 40 hours before, a table-level check (no column).
    assert (f.severity, f.hops, f.hours_before) == (1.0, 5, 40.0)
    assert f.proximity == pytest.approx(1 / 6)
    assert f.recency == pytest.approx(24 / 64)
    assert (f.on_column_path, f.column_factor) == (None, 0.75)
    assert failed.score == pytest.approx(1 / 6 * 24 / 64 * 0.75 * 0.6)  # 0.028125
    assert schema.score > failed.score


def test_root_cause_keeps_to_the_configured_traversal_bounds(service: LineageService) -> None:
    # The traversals upstream ran unbounded whatever the server's node cap and timeout
    # said, and nothing told a reader when a bound had cut them.
    service.apply(chain())
    query = "query($id: ID!) { rootCause(id: $id) { truncated suspects { id } } }"
    whole = service.root_cause(mv(2))
    assert not whole.truncated
    assert gql(service, query, {"id": mv(2)})["rootCause"]["truncated"] is False
    failed_check = next(s.id for s in whole.suspects if s.kind is SuspectKind.FAILED_CHECK)
    for settings in (Settings(max_traversal_nodes=4), Settings(traversal_timeout=1e-9)):
        bounded = LineageService(service.store, settings, reconcile_health=False)
        cut = bounded.root_cause(mv(2))
        assert cut.truncated, settings
        # d5's failing check lies 5 hops up, past the bound
        assert failed_check not in {s.id for s in cut.suspects}, settings
        assert {s.id for s in cut.suspects} < {s.id for s in whole.suspects}, settings
        data = gql(bounded, query, {"id": mv(2)})["rootCause"]
        assert data["truncated"] is True, settings


def test_window_bounds_which_events_are_suspects(service: LineageService) -> None:
    service.apply(chain())
    report = service.root_cause(mv(2), since=before(30), until=REGRESSION)
    assert [s.kind for s in report.suspects] == [SuspectKind.SCHEMA_CHANGE]
    report = service.root_cause(mv(2), since=before(72), until=before(2))
    assert [s.kind for s in report.suspects] == [SuspectKind.FAILED_CHECK]
    assert report.suspects[0].breakdown.hours_before == 38.0
    # A time without an offset is UTC, as asOf is (it failed comparing it)
    naive = service.root_cause(
        mv(2), since=before(72).replace(tzinfo=None), until=before(2).replace(tzinfo=None)
    )
    assert naive == report
    assert naive.since == before(72)


def training(day: int, version: int) -> dict[str, object]:
    """An OpenLineage run of ``train`` reading ``public.raw`` and writing model ``version``."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2024-05-{day:02d}T10:00:00Z",
        "producer": "https://example.com/scheduler",
        "run": {"runId": f"00000000-0000-4000-8000-{day:012d}"},
        "job": {"namespace": "ml", "name": "train"},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.raw"}],
        "outputs": [
            {
                "namespace": "mlflow://registry",
                "name": "mdl",
                "facets": {"version": {"datasetVersion": str(version)}},
            }
        ],
    }


def test_what_came_with_the_baseline_is_no_change(service: LineageService) -> None:
    # The READS edge the baseline's own training event created, at the baseline's
    # creation, was the only suspect of a retrain on unchanged lineage.
    for day, version in ((1, 1), (8, 2)):
        service.apply(translate_event(training(day, version)))
    second = make_id(Kind.MODEL_VERSION, "mlflow://registry", "mdl", "2")
    assert service.root_cause(second).suspects == ()
    # a first version looks at the week before it, not at all of history
    for day, job in ((10, "load_old"), (25, "load_new")):  # jobs that write the raw table
        load = training(day, 0)
        load["job"] = {"namespace": "ml", "name": job}
        load["inputs"], load["outputs"] = [], load["inputs"]
        service.apply(translate_event(load))
    first = make_id(Kind.MODEL_VERSION, "mlflow://registry", "other", "1")
    event = training(30, 1)
    event["outputs"] = [
        {
            "namespace": "mlflow://registry",
            "name": "other",
            "facets": {"version": {"datasetVersion": "1"}},
        }
    ]
    event["run"] = {"runId": "00000000-0000-4000-8000-0000000000ff"}
    service.apply(translate_event(event))
    report = service.root_cause(first)
    assert report.since == datetime(2024, 5, 23, 10, tzinfo=UTC)
    assert [s.kind for s in report.suspects] == [SuspectKind.LINEAGE_CHANGE]
    assert "load_new" in report.suspects[0].summary


def test_failed_runs_and_volume_shifts_are_suspects(service: LineageService) -> None:
    service.apply(chain())
    extra = ChangeSet()
    # d3 shrank from 1,000 to 400 rows ten hours before v2; j4 (d4 -> d3) failed at -20 h.
    for name, hours, rows in (("a", 50, 1000), ("b", 10, 400)):
        version = DatasetVersion(
            namespace=NS, name="d3", version=name, created_at=before(hours), row_count=rows
        )
        extra.add(version)
        extra.link(ds(3), EdgeKind.HAS_VERSION, version.id, before(hours))
    failed = Run(
        namespace=NS,
        name="j4",
        run_id="r1",
        state=RunState.FAIL,
        started_at=before(20),
        error_message="disk full",
    )
    extra.add(failed)
    extra.link(make_id(Kind.JOB, NS, "j4"), EdgeKind.HAS_RUN, failed.id, before(20))
    service.apply(extra)
    report = service.root_cause(mv(2))
    by_kind = {s.kind: s for s in report.suspects}
    shift = by_kind[SuspectKind.VOLUME_SHIFT]
    assert shift.entity_id == ds(3)
    assert "1,000 to 400" in shift.summary
    b = shift.breakdown
    # Severity 0.5 + 0.6 / 2; d3 is three hops away; not about a column; no runs recorded
    # for the model versions, so nothing is in the provenance diff.
    assert (b.severity, b.hops, b.hours_before, b.on_column_path) == (0.8, 3, 10.0, None)
    assert shift.score == pytest.approx(0.8 * 1 / 4 * 24 / 34 * 0.75 * 0.6)
    run = by_kind[SuspectKind.FAILED_RUN]
    assert run.entity_id == make_id(Kind.JOB, NS, "j4")
    assert run.related_ids == (failed.id,)
    assert "disk full" in run.summary
    # j4 writes d3: the datasets before it on the path are d1, d2 and d3.
    r = run.breakdown
    assert (r.severity, r.hops, r.hours_before) == (0.8, 3, 20.0)
    assert run.score == pytest.approx(0.8 * 1 / 4 * 24 / 44 * 0.75 * 0.6)
    assert [s.kind for s in report.suspects] == [
        SuspectKind.SCHEMA_CHANGE,
        SuspectKind.VOLUME_SHIFT,
        SuspectKind.FAILED_RUN,
        SuspectKind.FAILED_CHECK,
    ]


def load_demo(service: LineageService) -> None:
    for changeset in demo.scenario():
        service.apply(changeset)


def test_demo_churn_regression_points_at_the_failing_check(service: LineageService) -> None:
    load_demo(service)
    report = service.root_cause(demo.CHURN.version_id(3))
    assert report.baseline_id == demo.CHURN.version_id(2)
    assert (report.since, report.until) == (demo.day(3, 7), demo.day(5, 7))
    first = report.suspects[0]
    assert first.kind is SuspectKind.FAILED_CHECK
    assert first.entity_id == demo.STG_ORDERS.field_id("customer_id")
    assert first.related_ids[0] == make_id(
        Kind.RESULT, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER, "day5"
    )
    # stg_orders -> customer_orders -> customer_features -> v3: three datasets away;
    # customer_id is not on a column path to churn's features; the failure is new
    # since v2, so it is in the provenance diff.
    b = first.breakdown
    assert (b.hops, b.hours_before, b.on_column_path, b.in_provenance_diff) == (3, 2.0, False, True)
    # The check and its column are named as search results name them: the column was
    # stg_orders@customer_id here, like a version, and the check its bare name, which
    # neither search results nor references use.
    column = short_name(first.entity_id)
    assert column == "analytics.staging.stg_orders.customer_id"
    check = "analytics.staging.stg_orders@not_null(customer_id)"
    assert short_name(first.related_ids[1]) == check
    assert first.summary == f"check {check} on {column} failed (412 null values)"
    (reason,) = service.health(demo.STG_ORDERS.id).reasons
    assert short_name(reason.check_id) == check
    assert reason.message == f"{check} on field {column} failed (412 null values)"
    # The same question through the deployment that serves v3 gives the same answer.
    through_deployment = service.root_cause(demo.deployment_id("churn-production"))
    assert through_deployment.model_version_id == demo.CHURN.version_id(3)
    assert through_deployment.suspects == report.suspects


def test_demo_ltv_regression_lists_the_payments_schema_change(service: LineageService) -> None:
    load_demo(service)
    report = service.root_cause(demo.LTV.version_id(2))
    assert report.baseline_id == demo.LTV.version_id(1)
    schema = [s for s in report.suspects if s.kind is SuspectKind.SCHEMA_CHANGE]
    assert [s.entity_id for s in schema] == [demo.RAW_PAYMENTS.id]
    change = schema[0]
    assert change.at == demo.day(3, 1)
    assert "amount removed" in change.summary and "amount_cents added" in change.summary
    assert demo.RAW_PAYMENTS.field_id("amount_cents") in change.related_ids
    b = change.breakdown
    # payments -> stg_payments -> customer_features -> ltv v2; amount_cents feeds
    # lifetime_value, which ltv uses; the diff against v1 shows the schema change.
    assert (b.severity, b.hops, b.hours_before) == (1.0, 3, 30.0)
    assert (b.on_column_path, b.in_provenance_diff) == (True, True)
    assert change.score == pytest.approx(1.0 * 1 / 4 * 1 / (1 + 30 / 24) * 1.0 * 1.0)
    kinds = {s.kind for s in report.suspects}
    assert kinds == {
        SuspectKind.FAILED_CHECK,
        SuspectKind.SCHEMA_CHANGE,
        SuspectKind.CODE_CHANGE,
        SuspectKind.LINEAGE_CHANGE,
    }


def test_a_deployment_until_a_past_time_stands_for_the_version_it_served_then(
    service: LineageService,
) -> None:
    # churn-production served v2 from day 3 to day 5: a regression seen on day 4 is
    # v2's. The deployment was taken for v3, which serves now and did not exist then,
    # so the window ended before v3 and nothing was found.
    load_demo(service)
    production = demo.deployment_id("churn-production")
    then = service.root_cause(production, until=demo.day(4, 12))
    v2 = demo.CHURN.version_id(2)
    assert (then.model_version_id, then.baseline_id) == (v2, demo.CHURN.version_id(1))
    assert then.suspects == service.root_cause(v2, until=demo.day(4, 12)).suspects
    assert then.suspects
    assert service.root_cause(production).model_version_id == demo.CHURN.version_id(3)
    with pytest.raises(InvalidInput, match="serves no model version at 2026"):
        service.root_cause(production, until=demo.day(1, 8))


def test_same_input_same_order_with_ties_broken_by_id(service: LineageService) -> None:
    load_demo(service)
    first = service.root_cause(demo.LTV.version_id(2))
    second = service.root_cause(demo.LTV.version_id(2))
    assert first.suspects == second.suspects
    keys = [(-s.score, s.id) for s in first.suspects]
    assert keys == sorted(keys)
    lineage = [s for s in first.suspects if s.kind is SuspectKind.LINEAGE_CHANGE]
    assert len(lineage) == 2 and lineage[0].score == lineage[1].score
    assert lineage[0].id < lineage[1].id


def test_root_cause_rejects_bad_questions(service: LineageService) -> None:
    load_demo(service)
    with pytest.raises(InvalidInput):
        service.root_cause(demo.STG_ORDERS.id)
    with pytest.raises(NotFound):
        service.root_cause(make_id(Kind.MODEL_VERSION, demo.MLFLOW, "churn_classifier", "9"))
    with pytest.raises(InvalidInput):
        service.root_cause(demo.CHURN.version_id(3), since=demo.day(5), until=demo.day(4))
    # Without an until the end is the version's creation, which the message names.
    with pytest.raises(InvalidInput) as late:
        service.root_cause(demo.CHURN.version_id(3), since=demo.day(6))
    assert str(late.value) == (
        "the window's start (since, 2026-10-06T00:00:00+00:00) is after its end "
        "(the creation of churn_classifier@3, 2026-10-05T07:00:00+00:00)"
    )
    # Without a since the start is the baseline's creation.
    with pytest.raises(InvalidInput) as early:
        service.root_cause(demo.CHURN.version_id(3), until=demo.day(2))
    assert str(early.value) == (
        "the window's start (the creation of churn_classifier@2, 2026-10-03T07:00:00+00:00) "
        "is after its end (until, 2026-10-02T00:00:00+00:00)"
    )
    idle = ChangeSet().add(demo.Deployment(namespace=demo.SERVING, name="idle"))
    service.apply(idle)
    with pytest.raises(InvalidInput):
        service.root_cause(make_id(Kind.DEPLOYMENT, demo.SERVING, "idle"))


def test_a_table_and_its_column_count_the_same_hops_through_a_feature(
    service: LineageService,
) -> None:
    # The training run is linked to the table behind its feature directly, so a failure
    # on the table counted one hop and one on the column the feature is computed from
    # two (column, feature), with or without design lineage at the window's times.
    build_feature_pipeline(service)
    for name, column in (("row_count", None), ("not_null(amount)", "amount")):
        check = mx.CheckSpec(PG, "public.orders", name, field=column, severity="error")
        result = mx.QualityResultSpec(check, passed=False, observed_at=pipeline_at(2, 30))
        service.apply(mx.record_quality_result(result))
    table = make_id(Kind.DATASET, PG, "public.orders")
    column = make_id(Kind.FIELD, PG, "public.orders", "amount")
    for until in (None, pipeline_at(12)):  # the window to v1's creation, and a later end
        report = service.root_cause(model_version_of("1"), until=until)
        hops = {
            s.entity_id: s.breakdown.hops
            for s in report.suspects
            if s.kind is SuspectKind.FAILED_CHECK
        }
        assert hops == {table: 2, column: 2}, until
