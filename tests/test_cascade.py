"""Cascades and health on hand-built scenarios and on the demo, on both stores.

Every expected answer is written out by hand from the scenario; each scenario
also checks that the incrementally stored health equals a full recomputation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineagegraph import demo
from lineagegraph import model as model_module
from lineagegraph.algorithms import cascade as cascade_module
from lineagegraph.algorithms.cascade import compute_health, stored_health
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id, parse_id
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    Deployment,
    Direction,
    EdgeEnding,
    EdgeKind,
    Feature,
    Field,
    HealthStatus,
    Job,
    Model,
    ModelVersion,
    Node,
    Precision,
    ReasonKind,
    Result,
    Run,
    RunState,
    format_time,
)
from lineagegraph.service import LineageService
from lineagegraph.store import Store
from tests.api_helpers import gql

NS = "s3://lake"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime:
    return T0 + timedelta(days=day - 1, hours=hour)


def ds(name: str) -> str:
    return make_id(Kind.DATASET, NS, name)


def fd(name: str, path: str) -> str:
    return make_id(Kind.FIELD, NS, name, path)


def dv(name: str, version: str) -> str:
    return make_id(Kind.DATASET_VERSION, NS, name, version)


def rn(job: str, run: str) -> str:
    return make_id(Kind.RUN, NS, job, run)


def jb(name: str) -> str:
    return make_id(Kind.JOB, NS, name)


def mv(version: int) -> str:
    return make_id(Kind.MODEL_VERSION, NS, "model", str(version))


def result_id(dataset: str, check: str, key: str) -> str:
    return make_id(Kind.RESULT, NS, dataset, check, key)


PROD = make_id(Kind.DEPLOYMENT, NS, "prod")
NOT_NULL = "not_null(user_id)"


def status(service: LineageService, entity_id: str) -> HealthStatus:
    return service.health(entity_id).status


def assert_consistent(store: Store) -> None:
    assert stored_health(store) == compute_health(store)


# --- a bad partition, a retrain and recovery --------------------------------------------------


def partitions_catalog() -> ChangeSet:
    """events (raw) -> build_features -> features_table -> train -> model -> prod."""
    cs = ChangeSet()
    for name in ("events", "features_table"):
        cs.add(Dataset(namespace=NS, name=name))
        cs.add(Field(namespace=NS, name=name, path="user_id", type="bigint"))
        cs.link(ds(name), EdgeKind.HAS_FIELD, fd(name, "user_id"), at(1))
    cs.add(
        Job(namespace=NS, name="build_features"),
        Job(namespace=NS, name="train", job_type="TRAINING"),
        Model(namespace=NS, name="model"),
        Deployment(namespace=NS, name="prod"),
        Check(namespace=NS, name="events", check=NOT_NULL, field="user_id", severity="ERROR"),
    )
    cs.link(fd("events", "user_id"), EdgeKind.HAS_CHECK, make_check_id(), at(1))
    cs.link(ds("events"), EdgeKind.READS, jb("build_features"), at(1))
    cs.link(jb("build_features"), EdgeKind.WRITES, ds("features_table"), at(1))
    cs.link(ds("features_table"), EdgeKind.READS, jb("train"), at(1))
    return cs


def make_check_id() -> str:
    return make_id(Kind.CHECK, NS, "events", NOT_NULL)


def partition_day(day: int, passed: bool, *, retrain: bool = True) -> ChangeSet:
    """Day ``day``: partition p<day> lands and is checked, features are built, maybe a retrain."""
    cs = ChangeSet()
    partition = DatasetVersion(
        namespace=NS, name="events", version=f"p{day}", created_at=at(day, 1)
    )
    cs.add(partition)
    cs.link(ds("events"), EdgeKind.HAS_VERSION, partition.id, at(day, 1))
    result = Result(
        namespace=NS,
        name="events",
        check=NOT_NULL,
        result=f"day{day}",
        passed=passed,
        observed_at=at(day, 2),
        observed="0 nulls" if passed else "812 nulls",
    )
    cs.add(result)
    cs.link(make_check_id(), EdgeKind.HAS_RESULT, result.id, at(day, 2))
    cs.link(result.id, EdgeKind.EVALUATED, partition.id, at(day, 2))
    build = Run(
        namespace=NS,
        name="build_features",
        run_id=f"b{day}",
        started_at=at(day, 3),
        state=RunState.COMPLETE,
    )
    table = DatasetVersion(
        namespace=NS, name="features_table", version=f"f{day}", created_at=at(day, 4)
    )
    cs.add(build, table)
    cs.link(jb("build_features"), EdgeKind.HAS_RUN, build.id, at(day, 3))
    cs.link(partition.id, EdgeKind.READ_BY, build.id, at(day, 3))
    cs.link(build.id, EdgeKind.WROTE, table.id, at(day, 4))
    cs.link(ds("features_table"), EdgeKind.HAS_VERSION, table.id, at(day, 4))
    if retrain:
        train = Run(
            namespace=NS,
            name="train",
            run_id=f"t{day}",
            started_at=at(day, 5),
            state=RunState.COMPLETE,
        )
        version = ModelVersion(namespace=NS, name="model", version=str(day), created_at=at(day, 6))
        cs.add(train, version)
        cs.link(jb("train"), EdgeKind.HAS_RUN, train.id, at(day, 5))
        cs.link(table.id, EdgeKind.READ_BY, train.id, at(day, 5))
        cs.link(train.id, EdgeKind.WROTE, version.id, at(day, 6))
        cs.link(make_id(Kind.MODEL, NS, "model"), EdgeKind.HAS_VERSION, version.id, at(day, 6))
        cs.link(jb("train"), EdgeKind.WRITES, version.id, at(day, 6))
    return cs


def deploy(version: int, day: int, previous: int | None) -> ChangeSet:
    cs = ChangeSet()
    cs.link(mv(version), EdgeKind.SERVES, PROD, at(day, 8))
    if previous is not None:
        cs.endings.append(
            EdgeEnding(
                source_id=mv(previous),
                kind=EdgeKind.SERVES,
                target_id=PROD,
                at=format_time(at(day, 8)),
            )
        )
    return cs


def test_model_trained_before_a_bad_partition_is_not_at_risk(service: LineageService) -> None:
    service.apply(partitions_catalog())
    service.apply(partition_day(1, passed=True))
    service.apply(deploy(1, 1, None))
    service.apply(partition_day(2, passed=False))
    service.apply(deploy(2, 2, previous=1))

    assert status(service, mv(1)) is HealthStatus.OK
    v2 = service.health(mv(2))
    assert v2.status is HealthStatus.AT_RISK
    (reason,) = v2.reasons
    assert reason.result_id == result_id("events", NOT_NULL, "day2")
    assert reason.checked_id == fd("events", "user_id")
    assert reason.precision is Precision.CONFIRMED
    assert reason.path == (
        fd("events", "user_id"),
        dv("events", "p2"),
        rn("build_features", "b2"),
        dv("features_table", "f2"),
        rn("train", "t2"),
        mv(2),
    )
    assert reason.hops == 5
    assert reason.kind is ReasonKind.RECORDED_RUNS
    # what each other reason rests on: the check's own verdicts on the partition, and
    # the check itself on the column and its table
    (partition,) = service.health(dv("events", "p2")).reasons
    assert (partition.hops, partition.kind) == (1, ReasonKind.CHECKED_VERSION)
    for failing in (fd("events", "user_id"), ds("events")):
        (own,) = service.health(failing).reasons
        assert (own.hops, own.kind) == (0, ReasonKind.OWN_CHECK)
    prod = service.health(PROD)
    assert prod.status is HealthStatus.AT_RISK
    assert prod.reasons[0].path == (*reason.path, PROD)
    assert prod.reasons[0].hops == 6
    assert status(service, ds("events")) is HealthStatus.FAILING
    assert status(service, fd("events", "user_id")) is HealthStatus.FAILING
    assert status(service, ds("features_table")) is HealthStatus.AT_RISK
    assert status(service, dv("features_table", "f1")) is HealthStatus.OK
    assert_consistent(service.store)


def bad_partition_read_by_build(service: LineageService, state: RunState) -> Run:
    """A good day, then the bad partition p2 read by build_features' run b2 in ``state``."""
    service.apply(partitions_catalog())
    service.apply(partition_day(1, passed=True))
    cs = ChangeSet()
    partition = DatasetVersion(namespace=NS, name="events", version="p2", created_at=at(2, 1))
    result = Result(
        namespace=NS,
        name="events",
        check=NOT_NULL,
        result="day2",
        passed=False,
        observed_at=at(2, 2),
        observed="812 nulls",
    )
    build = Run(namespace=NS, name="build_features", run_id="b2", started_at=at(2, 3), state=state)
    cs.add(partition, result, build)
    cs.link(ds("events"), EdgeKind.HAS_VERSION, partition.id, at(2, 1))
    cs.link(make_check_id(), EdgeKind.HAS_RESULT, result.id, at(2, 2))
    cs.link(result.id, EdgeKind.EVALUATED, partition.id, at(2, 2))
    cs.link(jb("build_features"), EdgeKind.HAS_RUN, build.id, at(2, 3))
    cs.link(partition.id, EdgeKind.READ_BY, build.id, at(2, 3))
    service.apply(cs)
    return build


def test_a_job_whose_latest_run_was_aborted_is_at_risk_for_the_output_it_left_stale(
    service: LineageService,
) -> None:
    # build_features' run on the bad partition was aborted: it read and wrote nothing.
    # Its job stays at risk, and the evidence said only that the run was aborted and
    # was to read the bad data, not why the job is still at risk: the features it
    # should have rebuilt are the ones from before, which its consumers still read.
    bad_partition_read_by_build(service, RunState.ABORT)

    job = service.health(jb("build_features"))
    assert job.status is HealthStatus.AT_RISK
    (reason,) = job.reasons
    assert reason.path == (
        fd("events", "user_id"),
        dv("events", "p2"),
        rn("build_features", "b2"),
        jb("build_features"),
    )
    assert (reason.precision, reason.kind) == (Precision.CONFIRMED, ReasonKind.NOT_REFRESHED)
    assert reason.message == (
        "its latest run was aborted, so its output has not been refreshed since data where "
        f"events@{NOT_NULL} on events.user_id failed, 3 hops upstream, and its consumers "
        "still read stale data (recorded runs)"
    )
    assert_consistent(service.store)


def test_a_reason_that_keeps_its_path_but_changes_its_kind_is_updated(
    service: LineageService,
) -> None:
    # build_features' run on the bad partition is reported started, then aborted: the job
    # is reached along the same path both times, but why it is at risk changes.
    build = bad_partition_read_by_build(service, RunState.START)
    (started,) = service.health(jb("build_features")).reasons
    assert started.kind is ReasonKind.RECORDED_RUNS

    aborted = build.model_copy(update={"state": RunState.ABORT, "ended_at": at(2, 4)})
    service.apply(ChangeSet().add(aborted))
    (reason,) = service.health(jb("build_features")).reasons
    assert reason.path == started.path
    assert reason.kind is ReasonKind.NOT_REFRESHED
    assert reason.message.startswith("its latest run was aborted")
    assert_consistent(service.store)


def test_deployment_recovers_after_passing_check_and_deployed_retrain(
    service: LineageService,
) -> None:
    service.apply(partitions_catalog())
    service.apply(partition_day(1, passed=True))
    service.apply(deploy(1, 1, None))
    service.apply(partition_day(2, passed=False))
    service.apply(deploy(2, 2, previous=1))
    # Day 3: the check passes on the new partition and features are rebuilt, no retrain yet.
    service.apply(partition_day(3, passed=True, retrain=False))
    assert status(service, ds("events")) is HealthStatus.OK
    assert status(service, fd("events", "user_id")) is HealthStatus.OK
    assert status(service, ds("features_table")) is HealthStatus.OK
    assert status(service, PROD) is HealthStatus.AT_RISK  # still serving model v2
    assert_consistent(service.store)
    # Day 4: a retrain on clean data is deployed.
    service.apply(partition_day(4, passed=True))
    service.apply(deploy(4, 4, previous=2))
    assert status(service, PROD) is HealthStatus.OK
    assert status(service, mv(4)) is HealthStatus.OK
    assert status(service, mv(2)) is HealthStatus.AT_RISK  # trained on the bad partition
    assert [r.id for r in service.at_risk(kinds=[Kind.DEPLOYMENT]).items] == []
    assert [r.id for r in service.at_risk(kinds=[Kind.MODEL_VERSION]).items] == [mv(2)]
    assert_consistent(service.store)


def test_check_failing_again_on_an_old_partition_fails_the_dataset_but_not_newer_data(
    service: LineageService,
) -> None:
    service.apply(partitions_catalog())
    service.apply(partition_day(1, passed=True))
    service.apply(partition_day(2, passed=True))
    rerun = ChangeSet()
    late = Result(
        namespace=NS,
        name="events",
        check=NOT_NULL,
        result="rerun",
        passed=False,
        observed_at=at(3),
        observed="3 nulls",
    )
    rerun.add(late)
    rerun.link(make_check_id(), EdgeKind.HAS_RESULT, late.id, at(3))
    rerun.link(late.id, EdgeKind.EVALUATED, dv("events", "p1"), at(3))
    service.apply(rerun)
    # The latest result failed, so the check fails now; it ran on p1, which model v1
    # read (through f1); p2 kept its own passing verdict.
    assert status(service, ds("events")) is HealthStatus.FAILING
    assert status(service, dv("events", "p1")) is HealthStatus.AT_RISK
    assert status(service, dv("events", "p2")) is HealthStatus.OK
    assert status(service, mv(1)) is HealthStatus.AT_RISK
    assert status(service, mv(2)) is HealthStatus.OK
    assert status(service, ds("features_table")) is HealthStatus.OK
    assert_consistent(service.store)


# --- design lineage only ----------------------------------------------------------------------


def design_only() -> ChangeSet:
    """src.amount -> mid.amount -> feature -> model v1 (registered, no run) -> prod."""
    cs = ChangeSet()
    for name in ("src", "mid"):
        cs.add(Dataset(namespace=NS, name=name))
        cs.add(Field(namespace=NS, name=name, path="amount", type="int"))
        cs.link(ds(name), EdgeKind.HAS_FIELD, fd(name, "amount"), at(1))
    feature = Feature(namespace=NS, name="view:amount")
    check = Check(namespace=NS, name="src", check="positive(amount)", field="amount")
    cs.add(
        Job(namespace=NS, name="etl"),
        feature,
        check,
        Model(namespace=NS, name="model"),
        ModelVersion(namespace=NS, name="model", version="1", created_at=at(1)),
        Deployment(namespace=NS, name="prod"),
    )
    cs.link(ds("src"), EdgeKind.READS, jb("etl"), at(1))
    cs.link(jb("etl"), EdgeKind.WRITES, ds("mid"), at(1))
    cs.link(fd("src", "amount"), EdgeKind.DERIVES, fd("mid", "amount"), at(1), {"job": jb("etl")})
    cs.link(fd("mid", "amount"), EdgeKind.COMPUTED_FROM, feature.id, at(1))
    cs.link(feature.id, EdgeKind.TRAINED_ON, mv(1), at(1))
    cs.link(mv(1), EdgeKind.SERVES, PROD, at(1))
    cs.link(fd("src", "amount"), EdgeKind.HAS_CHECK, check.id, at(1))
    return cs


def failing_result(dataset: str, check: str, key: str, when: datetime) -> ChangeSet:
    cs = ChangeSet()
    result = Result(
        namespace=NS,
        name=dataset,
        check=check,
        result=key,
        passed=False,
        observed_at=when,
        observed="bad",
    )
    cs.add(result)
    cs.link(make_id(Kind.CHECK, NS, dataset, check), EdgeKind.HAS_RESULT, result.id, when)
    return cs


def test_design_lineage_gives_potential_risk_along_column_lineage(
    service: LineageService,
) -> None:
    service.apply(design_only())
    service.apply(failing_result("src", "positive(amount)", "r1", at(2)))
    report = service.cascade(result_id("src", "positive(amount)", "r1"))
    feature = make_id(Kind.FEATURE, NS, "view:amount")
    assert report.latest is True
    assert report.failing == (ds("src"), fd("src", "amount"))
    got = [(e.id, e.hops, e.precision, e.path) for e in report.at_risk]
    src, mid = fd("src", "amount"), fd("mid", "amount")
    assert got == [
        (mid, 1, Precision.POTENTIAL, (src, mid)),
        (ds("mid"), 2, Precision.POTENTIAL, (src, mid, ds("mid"))),
        (feature, 2, Precision.POTENTIAL, (src, mid, feature)),
        (mv(1), 3, Precision.POTENTIAL, (src, mid, feature, mv(1))),
        (PROD, 4, Precision.POTENTIAL, (src, mid, feature, mv(1), PROD)),
    ]
    for entity in (mid, ds("mid"), feature, mv(1), PROD):
        assert [r.kind for r in service.health(entity).reasons] == [ReasonKind.DESIGN_LINEAGE]
    # one hop is "1 hop" (it said "1 hops")
    assert (
        service.health(mid)
        .reasons[0]
        .message.endswith("failed, 1 hop (potential: by design lineage)")
    )
    assert "failed, 2 hops (potential" in service.health(feature).reasons[0].message
    # Field-level: the job is not on the column path, so it is not listed.
    assert status(service, jb("etl")) is HealthStatus.OK
    assert status(service, ds("src")) is HealthStatus.FAILING
    assert_consistent(service.store)


def test_recorded_training_run_decides_over_design_lineage(service: LineageService) -> None:
    # A second model version trained on the same feature, but by a recorded run that
    # read a clean version of a versioned table the feature is computed from.
    service.apply(design_only())
    cs = ChangeSet()
    cs.add(
        Dataset(namespace=NS, name="clean"),
        DatasetVersion(namespace=NS, name="clean", version="c1", created_at=at(1)),
        Job(namespace=NS, name="train", job_type="TRAINING"),
        Run(namespace=NS, name="train", run_id="t2", started_at=at(2), state=RunState.COMPLETE),
        ModelVersion(namespace=NS, name="model", version="2", created_at=at(2, 1)),
        Feature(namespace=NS, name="view:clean"),
    )
    clean_feature = make_id(Kind.FEATURE, NS, "view:clean")
    cs.link(ds("clean"), EdgeKind.HAS_VERSION, dv("clean", "c1"), at(1))
    cs.link(ds("clean"), EdgeKind.COMPUTED_FROM, clean_feature, at(1))
    cs.link(jb("train"), EdgeKind.HAS_RUN, rn("train", "t2"), at(2))
    cs.link(dv("clean", "c1"), EdgeKind.READ_BY, rn("train", "t2"), at(2))
    cs.link(rn("train", "t2"), EdgeKind.WROTE, mv(2), at(2, 1))
    cs.link(clean_feature, EdgeKind.TRAINED_ON, mv(2), at(2, 1))
    # The at-risk feature (computed from mid, which has no versions) also feeds v2 by
    # design: runs cannot record reading it, so v2 is potentially at risk through it.
    cs.link(make_id(Kind.FEATURE, NS, "view:amount"), EdgeKind.TRAINED_ON, mv(2), at(2, 1))
    service.apply(cs)
    service.apply(failing_result("src", "positive(amount)", "r1", at(3)))
    assert status(service, mv(2)) is HealthStatus.AT_RISK
    assert service.health(mv(2)).reasons[0].precision is Precision.POTENTIAL
    # A check failing on the clean table's version is confirmed through the run, and
    # the failure on a table whose versions the run recorded does not add design risk.
    check = Check(namespace=NS, name="clean", check="rows")
    checks = ChangeSet().add(check)
    checks.link(ds("clean"), EdgeKind.HAS_CHECK, check.id, at(3))
    service.apply(checks)
    bad = failing_result("clean", "rows", "r2", at(4))
    bad.link(result_id("clean", "rows", "r2"), EdgeKind.EVALUATED, dv("clean", "c1"), at(4))
    service.apply(bad)
    report = service.cascade(result_id("clean", "rows", "r2"))
    entries = {e.id: (e.precision, e.path) for e in report.at_risk}
    assert entries[mv(2)] == (
        Precision.CONFIRMED,
        (ds("clean"), dv("clean", "c1"), rn("train", "t2"), mv(2)),
    )
    assert entries[clean_feature][0] is Precision.CONFIRMED
    assert_consistent(service.store)


def raw_checked_and_read_by_etl() -> ChangeSet:
    """raw (no versions) with a check, read by the job etl, which writes clean."""
    cs = ChangeSet()
    check = Check(namespace=NS, name="raw", check="fresh")
    cs.add(Dataset(namespace=NS, name="raw"), Dataset(namespace=NS, name="clean"))
    cs.add(Job(namespace=NS, name="etl"), check)
    cs.link(ds("raw"), EdgeKind.HAS_CHECK, check.id, at(1))
    cs.link(ds("raw"), EdgeKind.READS, jb("etl"), at(1))
    cs.link(jb("etl"), EdgeKind.WRITES, ds("clean"), at(1))
    return cs


def test_unversioned_input_taints_the_latest_run_of_a_job_with_runs(
    service: LineageService,
) -> None:
    # raw has no versions; etl has two recorded runs writing clean@1 and clean@2.
    cs = raw_checked_and_read_by_etl()
    for n in (1, 2):
        run = Run(namespace=NS, name="etl", run_id=f"e{n}", started_at=at(n))
        version = DatasetVersion(namespace=NS, name="clean", version=f"c{n}", created_at=at(n, 1))
        cs.add(run, version)
        cs.link(jb("etl"), EdgeKind.HAS_RUN, run.id, at(n))
        cs.link(run.id, EdgeKind.WROTE, version.id, at(n, 1))
        cs.link(ds("clean"), EdgeKind.HAS_VERSION, version.id, at(n, 1))
    service.apply(cs)
    service.apply(failing_result("raw", "fresh", "r1", at(3)))
    report = service.cascade(result_id("raw", "fresh", "r1"))
    got = [(e.id, e.hops, e.precision, e.path) for e in report.at_risk]
    latest_run = rn("etl", "e2")
    assert got == [
        (dv("clean", "c2"), 2, Precision.POTENTIAL, (ds("raw"), latest_run, dv("clean", "c2"))),
        (jb("etl"), 2, Precision.POTENTIAL, (ds("raw"), latest_run, jb("etl"))),
        (
            ds("clean"),
            3,
            Precision.POTENTIAL,
            (ds("raw"), latest_run, dv("clean", "c2"), ds("clean")),
        ),
    ]
    assert status(service, dv("clean", "c1")) is HealthStatus.OK
    assert_consistent(service.store)


def timed(entity_id: str, attr: str, when: str) -> Node:
    """A version or run reported with a time attribute exactly as written."""
    return Node.from_key(parse_id(entity_id), {attr: when})


def test_latest_run_and_version_go_by_their_own_times_not_ids_or_when_seen(
    service: LineageService,
) -> None:
    # raw (no versions) feeds etl. Run e9 and its version c9 are seen last and have the
    # larger ids, and their times sort last as text ("10:00+05:00" is 05:00Z), but e1
    # started and c1 was created later: e1 is the latest run and c1 the latest version.
    cs = raw_checked_and_read_by_etl()
    times = {"1": ("2026-06-03T06:00:00Z", "2026-06-03T07:00:00Z")}
    times["9"] = ("2026-06-03T10:00:00+05:00", "2026-06-03T11:00:00+05:00")
    for n, seen in (("1", at(3)), ("9", at(4))):
        run, version = rn("etl", f"e{n}"), dv("clean", f"c{n}")
        cs.nodes.append(timed(run, "started_at", times[n][0]))
        cs.nodes.append(timed(version, "created_at", times[n][1]))
        cs.link(jb("etl"), EdgeKind.HAS_RUN, run, seen)
        cs.link(run, EdgeKind.WROTE, version, seen)
        cs.link(ds("clean"), EdgeKind.HAS_VERSION, version, seen)
    service.apply(cs)
    service.apply(failing_result("raw", "fresh", "r1", at(5)))
    e1, e9, c1, c9 = rn("etl", "e1"), rn("etl", "e9"), dv("clean", "c1"), dv("clean", "c9")
    assert service.health(jb("etl")).reasons[0].path == (ds("raw"), e1, jb("etl"))
    assert service.health(ds("clean")).reasons[0].path == (ds("raw"), e1, c1, ds("clean"))
    assert status(service, c9) is HealthStatus.OK
    assert_consistent(service.store)
    # e9 starts later after all: it is the latest run now, while c1 stays the latest
    # version, which no tainted run wrote any more.
    service.apply(ChangeSet(nodes=[timed(e9, "started_at", "2026-06-04T00:00:00+00:00")]))
    assert service.health(jb("etl")).reasons[0].path == (ds("raw"), e9, jb("etl"))
    assert status(service, c9) is HealthStatus.AT_RISK
    assert status(service, c1) is HealthStatus.OK
    assert status(service, ds("clean")) is HealthStatus.OK
    assert_consistent(service.store)
    # c9 is re-dated after c1: the dataset is at risk through it.
    service.apply(ChangeSet(nodes=[timed(c9, "created_at", "2026-06-04T01:00:00Z")]))
    assert service.health(ds("clean")).reasons[0].path == (ds("raw"), e9, c9, ds("clean"))
    assert_consistent(service.store)
    # Its HAS_VERSION edge ends: c1 is the latest version again, and it is clean.
    ending = EdgeEnding(
        source_id=ds("clean"), kind=EdgeKind.HAS_VERSION, target_id=c9, at=format_time(at(6))
    )
    service.apply(ChangeSet(endings=[ending]))
    assert status(service, ds("clean")) is HealthStatus.OK
    assert status(service, c9) is HealthStatus.AT_RISK
    assert_consistent(service.store)


def test_a_new_latest_run_clears_what_the_previous_one_put_at_risk(
    service: LineageService,
) -> None:
    # raw (no versions, failing) taints etl's latest run and what it wrote. Another run
    # then writes a newer version: the previous run and its version are no longer
    # reached, and the update must find their records through the reasons of the job
    # and dataset, which named them, however many runs and versions those have.
    cs = raw_checked_and_read_by_etl()
    service.apply(cs)

    def run(n: int, day: int) -> None:
        step = ChangeSet()
        version = DatasetVersion(namespace=NS, name="clean", version=f"c{n}", created_at=at(day))
        step.add(Run(namespace=NS, name="etl", run_id=f"e{n}", started_at=at(day)), version)
        step.link(jb("etl"), EdgeKind.HAS_RUN, rn("etl", f"e{n}"), at(day))
        step.link(rn("etl", f"e{n}"), EdgeKind.WROTE, version.id, at(day))
        step.link(ds("clean"), EdgeKind.HAS_VERSION, version.id, at(day))
        service.apply(step)

    for n in range(1, 6):
        run(n, n)
    service.apply(failing_result("raw", "fresh", "r1", at(6)))
    assert status(service, dv("clean", "c5")) is HealthStatus.AT_RISK
    assert service.health(ds("clean")).reasons[0].path == (
        ds("raw"),
        rn("etl", "e5"),
        dv("clean", "c5"),
        ds("clean"),
    )
    run(6, 7)
    assert status(service, dv("clean", "c5")) is HealthStatus.OK
    assert status(service, dv("clean", "c6")) is HealthStatus.AT_RISK
    assert service.health(jb("etl")).reasons[0].path == (ds("raw"), rn("etl", "e6"), jb("etl"))
    assert_consistent(service.store)


def test_a_pass_on_an_older_version_clears_every_later_version_that_inherited_the_failure(
    service: LineageService,
) -> None:
    # A check fails on v2 of five versions, so v2 to v5 inherit the failure; then it
    # passes on v3. v3 to v5 are clean again: v4, neither the latest nor touched nor
    # named by the dataset's reason, is found among all the checked dataset's versions.
    cs = ChangeSet()
    check = Check(namespace=NS, name="orders", check="rows")
    cs.add(Dataset(namespace=NS, name="orders"), check)
    cs.link(ds("orders"), EdgeKind.HAS_CHECK, check.id, at(1))
    for n in range(1, 6):
        version = DatasetVersion(namespace=NS, name="orders", version=f"v{n}", created_at=at(n))
        cs.add(version)
        cs.link(ds("orders"), EdgeKind.HAS_VERSION, version.id, at(n))
    service.apply(cs)

    def result(key: str, version: str, passed: bool, day: int) -> ChangeSet:
        step = ChangeSet()
        found = Result(
            namespace=NS,
            name="orders",
            check="rows",
            result=key,
            passed=passed,
            observed_at=at(day),
        )
        step.add(found)
        step.link(check.id, EdgeKind.HAS_RESULT, found.id, at(day))
        step.link(found.id, EdgeKind.EVALUATED, dv("orders", version), at(day))
        return step

    service.apply(result("r1", "v2", False, 6))
    at_risk = [
        n for n in range(1, 6) if status(service, dv("orders", f"v{n}")) is not HealthStatus.OK
    ]
    assert at_risk == [2, 3, 4, 5]
    service.apply(result("r2", "v3", True, 7))
    at_risk = [
        n for n in range(1, 6) if status(service, dv("orders", f"v{n}")) is not HealthStatus.OK
    ]
    assert at_risk == [2]
    assert status(service, ds("orders")) is HealthStatus.OK
    assert_consistent(service.store)


# --- a table that reads what it writes (incremental and merge models) ------------------------


def completed(
    job: tuple[str, str],
    day: int,
    hour: int,
    inputs: list[dict[str, object]],
    outputs: list[dict[str, object]],
) -> dict[str, object]:
    """A COMPLETE OpenLineage RunEvent of ``job`` on 2024-05-``day`` at ``hour``."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2024-05-{day:02d}T{hour:02d}:00:00Z",
        "producer": "https://example.com/scheduler",
        "run": {"runId": f"00000000-0000-4000-8000-{day:04d}{hour:08d}"},
        "job": {"namespace": job[0], "name": job[1]},
        "inputs": inputs,
        "outputs": outputs,
    }


def merge_day(day: int, passed: bool, *, raw_passed: bool = True) -> list[dict[str, object]]:
    """Day ``day`` in OpenLineage: ``load`` writes a checked raw partition, ``merge``
    reads it and the events table it merges into, ``report`` reads the events table.
    Each check is a dataQualityAssertions facet on the output."""

    def assertion(ok: bool) -> dict[str, object]:
        return {"assertions": [{"assertion": "not_null", "column": "v", "success": ok}]}

    def run(
        job: str, hour: int, inputs: list[str], output: str, ok: bool | None
    ) -> dict[str, object]:
        facets = {"dataQualityAssertions": assertion(ok)} if ok is not None else {}
        read = [{"namespace": "pg://inc", "name": name} for name in inputs]
        written = [{"namespace": "pg://inc", "name": output, "facets": facets}]
        return completed(("sched", job), day, hour, read, written)

    return [
        run("load", 1, [], "raw", raw_passed),
        run("merge", 2, ["raw", "events"], "events", passed),
        run("report", 3, ["events"], "report", None),
    ]


def incremental(service: LineageService, days: list[dict[str, object]]) -> None:
    for event in days:
        service.apply(translate_event(event))


def test_a_table_that_merges_into_itself_recovers_when_its_check_passes_again(
    service: LineageService,
) -> None:
    # Each version of events was written by a run that read the version before: a
    # failure once in it was carried from version to version forever.
    events, report = (
        make_id(Kind.DATASET, "pg://inc", "events"),
        make_id(Kind.DATASET, "pg://inc", "report"),
    )
    incremental(service, merge_day(1, True) + merge_day(2, False))
    assert status(service, events) is HealthStatus.FAILING
    assert status(service, report) is HealthStatus.AT_RISK
    incremental(service, merge_day(3, True))
    assert status(service, events) is HealthStatus.OK
    assert status(service, report) is HealthStatus.OK
    incremental(service, merge_day(4, True))
    assert status(service, report) is HealthStatus.OK
    assert_consistent(service.store)


def test_an_assertion_on_an_input_moves_with_the_read_to_a_version_that_arrives_late(
    service: LineageService,
) -> None:
    # The quality run was linked to raw's 01:00 version, the only one stored when it
    # started at 02:00; the 01:30 version, which it did read, arrives after it completed.
    # The run is linked to that one instead, and its result goes with it.
    def event(job: str, hour: int, minute: int, state: str, **raw: object) -> dict[str, object]:
        dataset = {"namespace": "pg://late", "name": "raw", **raw}
        reads, writes = ([dataset], []) if job == "quality" else ([], [dataset])
        return {
            **completed(("sched", job), 1, hour, reads, writes),
            "eventType": state,
            "eventTime": f"2024-05-01T{hour:02d}:{minute:02d}:00Z",
            "run": {"runId": f"00000000-0000-4000-8000-0001{hour:04d}{minute:04d}"},
        }

    check = {"assertions": [{"assertion": "not_null", "column": "v", "success": False}]}
    start = event("quality", 2, 0, "START")
    done = {**event("quality", 4, 0, "COMPLETE", inputFacets={"dataQualityAssertions": check})}
    done["run"] = start["run"]
    for e in (event("load", 1, 0, "COMPLETE"), start, done, event("load", 1, 30, "COMPLETE")):
        service.apply(translate_event(e))
    late = make_id(Kind.DATASET_VERSION, "pg://late", "raw", "00000000-0000-4000-8000-000100010030")
    (reason,) = service.health(make_id(Kind.DATASET, "pg://late", "raw")).reasons
    assert service.cascade(reason.result_id).dataset_version_id == late
    versions = service.store.expand([reason.result_id], Direction.DOWNSTREAM, [EdgeKind.EVALUATED])
    assert [h.target for h in versions] == [late]
    assert_consistent(service.store)


def test_a_merge_table_recovers_when_its_upstream_does(service: LineageService) -> None:
    events = make_id(Kind.DATASET, "pg://inc", "events")
    report = make_id(Kind.DATASET, "pg://inc", "report")
    incremental(service, merge_day(1, True) + merge_day(2, True, raw_passed=False))
    assert status(service, events) is HealthStatus.AT_RISK
    assert status(service, report) is HealthStatus.AT_RISK
    incremental(service, merge_day(3, True))
    assert status(service, events) is HealthStatus.OK
    assert status(service, report) is HealthStatus.OK
    assert_consistent(service.store)


def test_an_assertion_on_an_input_judges_the_version_its_run_read(
    service: LineageService,
) -> None:
    # A quality job starts reading raw's version of 01:00 and reports, when it completes
    # at 04:00, that it found nulls. Meanwhile clean read that version, and raw was
    # written again at 03:00. The result was put on the 03:00 version (the latest at the
    # result's time), and the 01:00 version, and clean built from it, stayed OK.
    def event(
        job: str, hour: int, state: str, inputs: list[dict[str, object]], outputs: list[str]
    ) -> dict[str, object]:
        return {
            **completed(
                ("sched", job),
                1,
                hour,
                inputs,
                [{"namespace": "pg://q", "name": o} for o in outputs],
            ),
            "eventType": state,
        }

    check = {"assertions": [{"assertion": "not_null", "column": "v", "success": False}]}
    raw = {"namespace": "pg://q", "name": "raw"}
    quality = event("quality", 2, "START", [raw], [])
    done = {
        **event(
            "quality", 4, "COMPLETE", [{**raw, "inputFacets": {"dataQualityAssertions": check}}], []
        ),
        "run": quality["run"],
    }
    for e in (
        event("load", 1, "COMPLETE", [], ["raw"]),
        quality,
        event("clean", 2, "COMPLETE", [raw], ["clean"]),
        event("load", 3, "COMPLETE", [], ["raw"]),
        done,
    ):
        service.apply(translate_event(e))
    first = make_id(Kind.DATASET_VERSION, "pg://q", "raw", "00000000-0000-4000-8000-000100000001")
    second = make_id(Kind.DATASET_VERSION, "pg://q", "raw", "00000000-0000-4000-8000-000100000003")
    clean = make_id(Kind.DATASET, "pg://q", "clean")
    (reason,) = service.health(clean).reasons
    assert reason.path[1] == first  # the column checked, then the version it was read at
    assert status(service, first) is HealthStatus.AT_RISK
    # later versions inherit the verdict until a result passes on one
    assert service.health(second).reasons[0].kind is ReasonKind.CHECKED_VERSION
    result = service.health(make_id(Kind.DATASET, "pg://q", "raw")).reasons[0].result_id
    assert service.cascade(result).dataset_version_id == first
    assert_consistent(service.store)


def test_a_merge_run_passes_on_taint_that_reaches_it_later_through_another_input(
    service: LineageService,
) -> None:
    # x@1 fails. d@1 is two hops from it, u@1 four. The merge run reads both and writes
    # d@2: it was expanded when only its own table's taint had reached it, and the
    # taint u brought later never reached d@2.
    cs = ChangeSet()
    check = Check(namespace=NS, name="x", check="unique(id)")
    cs.add(check)
    cs.link(ds("x"), EdgeKind.HAS_CHECK, check.id, at(1))
    hour = 0

    def run(job: str, reads: list[tuple[str, str]], writes: tuple[str, str]) -> None:
        nonlocal hour
        hour += 1
        r = Run(namespace=NS, name=job, run_id=f"{job}1", started_at=at(1, hour))
        version = DatasetVersion(
            namespace=NS, name=writes[0], version=writes[1], created_at=at(1, hour)
        )
        cs.add(Job(namespace=NS, name=job), Dataset(namespace=NS, name=writes[0]), r, version)
        cs.link(jb(job), EdgeKind.HAS_RUN, r.id, at(1, hour))
        for name, read in reads:
            cs.link(dv(name, read), EdgeKind.READ_BY, r.id, at(1, hour))
        cs.link(r.id, EdgeKind.WROTE, version.id, at(1, hour))
        cs.link(ds(writes[0]), EdgeKind.HAS_VERSION, version.id, at(1, hour))

    first = DatasetVersion(namespace=NS, name="x", version="1", created_at=at(1))
    cs.add(Dataset(namespace=NS, name="x"), first)
    cs.link(ds("x"), EdgeKind.HAS_VERSION, first.id, at(1))
    run("load_d", [("x", "1")], ("d", "1"))
    run("load_y", [("x", "1")], ("y", "1"))
    run("load_u", [("y", "1")], ("u", "1"))
    run("merge", [("d", "1"), ("u", "1")], ("d", "2"))
    service.apply(cs)
    bad = failing_result("x", "unique(id)", "r1", at(2))
    bad.link(result_id("x", "unique(id)", "r1"), EdgeKind.EVALUATED, dv("x", "1"), at(2))
    service.apply(bad)
    assert status(service, dv("d", "2")) is HealthStatus.AT_RISK
    assert status(service, ds("d")) is HealthStatus.AT_RISK
    assert service.health(dv("d", "2")).reasons[0].path[-2:] == (
        rn("merge", "merge1"),
        dv("d", "2"),
    )
    assert_consistent(service.store)


# --- feature store outputs over OpenLineage --------------------------------------------------


def feature_day(day: int, raw_passed: bool, *, train: bool) -> list[dict[str, object]]:
    """Day ``day``: ``ingest`` writes a checked raw table, ``build_features`` a Feast view
    from it, and maybe ``train`` a model version (the day's number) on the view."""

    def event(
        job: str, hour: int, inputs: list[dict[str, object]], output: dict[str, object]
    ) -> dict[str, object]:
        return completed(("ml", job), day, hour, inputs, [output])

    schema = {"fields": [{"name": "amount_avg", "type": "double"}]}
    raw = {"namespace": "postgres://db:5432", "name": "public.raw"}
    view = {"namespace": "feast://repo", "name": "fv", "facets": {"schema": schema}}
    assertion = {"assertion": "not_null", "column": "amount", "success": raw_passed}
    events = [
        event(
            "ingest",
            1,
            [],
            {**raw, "facets": {"dataQualityAssertions": {"assertions": [assertion]}}},
        ),
        event("build_features", 2, [raw], view),
    ]
    if train:
        model = {
            "namespace": "mlflow://registry",
            "name": "mdl",
            "facets": {"version": {"datasetVersion": str(day)}},
        }
        events.append(event("train", 3, [view], model))
    return events


def test_models_trained_on_features_built_from_bad_data_are_at_risk(
    service: LineageService,
) -> None:
    # A feature has no versions, and one computed from a versioned table stopped the
    # cascade: model versions trained on it and the deployments serving them stayed OK,
    # and their provenance ended at the features.
    def version(number: int) -> str:
        return make_id(Kind.MODEL_VERSION, "mlflow://registry", "mdl", str(number))

    prod = make_id(Kind.DEPLOYMENT, "k8s://serving", "prod")

    def serve(number: int, day: int) -> ChangeSet:
        cs = ChangeSet().add(Deployment(namespace="k8s://serving", name="prod"))
        cs.link(version(number), EdgeKind.SERVES, prod, at(day, 5))
        if number > 1:
            cs.endings.append(
                EdgeEnding(
                    source_id=version(number - 1),
                    kind=EdgeKind.SERVES,
                    target_id=prod,
                    at=format_time(at(day, 5)),
                )
            )
        return cs

    for event in feature_day(1, True, train=True):
        service.apply(translate_event(event))
    service.apply(serve(1, 1))
    for event in feature_day(2, False, train=True):
        service.apply(translate_event(event))
    service.apply(serve(2, 2))
    feature = make_id(Kind.FEATURE, "feast://repo", "fv:amount_avg")
    assert status(service, feature) is HealthStatus.AT_RISK
    # the training run read the view, built from the raw version current when it started
    record = service.health(version(2))
    assert record.status is HealthStatus.AT_RISK
    assert record.reasons[0].precision is Precision.CONFIRMED
    assert make_id(Kind.RUN, "ml", "train", "00000000-0000-4000-8000-000200000003") in (
        record.reasons[0].path
    )
    assert status(service, prod) is HealthStatus.AT_RISK
    # its provenance reaches the raw data through the view, and the failed check on it
    provenance = service.provenance(version(2))
    raw = make_id(Kind.DATASET, "postgres://db:5432", "public.raw")
    assert raw in {v.entity_id for v in provenance.versions}
    assert [c.passed for c in provenance.checks] == [False]
    # trained on day 1, before the bad data came: not at risk
    assert status(service, version(1)) is HealthStatus.OK
    # the data recovers and a retrain on it is deployed: prod recovers, v2 stays at risk
    for event in feature_day(3, True, train=True):
        service.apply(translate_event(event))
    assert status(service, feature) is HealthStatus.OK
    assert status(service, prod) is HealthStatus.AT_RISK
    service.apply(serve(3, 3))
    assert status(service, prod) is HealthStatus.OK
    assert status(service, version(3)) is HealthStatus.OK
    assert status(service, version(2)) is HealthStatus.AT_RISK
    assert_consistent(service.store)


def test_cascade_terminates_on_cycles(service: LineageService) -> None:
    # dedupe reads and writes the same table (design and runs), and a <-> b read each other.
    cs = ChangeSet()
    check = Check(namespace=NS, name="loop", check="unique(id)")
    cs.add(Dataset(namespace=NS, name="loop"), Job(namespace=NS, name="dedupe"), check)
    cs.add(Dataset(namespace=NS, name="a"), Dataset(namespace=NS, name="b"))
    cs.add(Job(namespace=NS, name="a_to_b"), Job(namespace=NS, name="b_to_a"))
    cs.link(ds("loop"), EdgeKind.HAS_CHECK, check.id, at(1))
    cs.link(ds("loop"), EdgeKind.READS, jb("dedupe"), at(1))
    cs.link(jb("dedupe"), EdgeKind.WRITES, ds("loop"), at(1))
    cs.link(ds("loop"), EdgeKind.READS, jb("a_to_b"), at(1))
    cs.link(ds("a"), EdgeKind.READS, jb("a_to_b"), at(1))
    cs.link(jb("a_to_b"), EdgeKind.WRITES, ds("b"), at(1))
    cs.link(ds("b"), EdgeKind.READS, jb("b_to_a"), at(1))
    cs.link(jb("b_to_a"), EdgeKind.WRITES, ds("a"), at(1))
    first = DatasetVersion(namespace=NS, name="loop", version="l1", created_at=at(1))
    cs.add(first)
    cs.link(ds("loop"), EdgeKind.HAS_VERSION, first.id, at(1))
    for n in (2, 3):
        run = Run(namespace=NS, name="dedupe", run_id=f"d{n}", started_at=at(n))
        version = DatasetVersion(namespace=NS, name="loop", version=f"l{n}", created_at=at(n, 1))
        cs.add(run, version)
        cs.link(jb("dedupe"), EdgeKind.HAS_RUN, run.id, at(n))
        cs.link(dv("loop", f"l{n - 1}"), EdgeKind.READ_BY, run.id, at(n))
        cs.link(run.id, EdgeKind.WROTE, version.id, at(n, 1))
        cs.link(ds("loop"), EdgeKind.HAS_VERSION, version.id, at(n, 1))
    service.apply(cs)
    bad = failing_result("loop", "unique(id)", "r1", at(4))
    bad.link(result_id("loop", "unique(id)", "r1"), EdgeKind.EVALUATED, dv("loop", "l1"), at(4))
    service.apply(bad)
    report = service.cascade(result_id("loop", "unique(id)", "r1"))
    got = {e.id: (e.hops, e.precision) for e in report.at_risk}
    assert got == {
        dv("loop", "l1"): (1, Precision.CONFIRMED),  # the result ran on it
        dv("loop", "l2"): (1, Precision.CONFIRMED),  # no newer result: inherits the failure
        dv("loop", "l3"): (1, Precision.CONFIRMED),
        jb("dedupe"): (3, Precision.CONFIRMED),  # its latest run read l2
        jb("a_to_b"): (1, Precision.POTENTIAL),  # never ran: design lineage
        ds("b"): (2, Precision.POTENTIAL),
        jb("b_to_a"): (3, Precision.POTENTIAL),
        ds("a"): (4, Precision.POTENTIAL),
    }
    assert report.failing == (ds("loop"),)
    assert_consistent(service.store)


# --- the demo ---------------------------------------------------------------------------------


def load_demo(service: LineageService) -> None:
    for changeset in demo.scenario():
        service.apply(changeset)


def test_demo_health(service: LineageService) -> None:
    load_demo(service)
    churn, ltv = demo.CHURN, demo.LTV
    stg_orders = demo.STG_ORDERS.id
    assert status(service, stg_orders) is HealthStatus.FAILING
    assert status(service, demo.STG_ORDERS.field_id("customer_id")) is HealthStatus.FAILING
    # The other columns of stg_orders are not what failed.
    assert status(service, demo.STG_ORDERS.field_id("order_id")) is HealthStatus.OK
    v3 = service.health(churn.version_id(3))
    assert v3.status is HealthStatus.AT_RISK
    assert {r.precision for r in v3.reasons} == {Precision.CONFIRMED}
    assert status(service, churn.version_id(2)) is HealthStatus.OK
    assert status(service, churn.version_id(1)) is HealthStatus.OK
    for name in ("churn-production", "churn-staging", "ltv-staging"):
        assert status(service, demo.deployment_id(name)) is HealthStatus.AT_RISK
    # ltv v2 was trained on day 4 at 06:00 from customer_features@day4, built at 04:00
    # from customer_ltv@day4 and customer_orders@day4, which read stg_orders@day4: the
    # partition whose not_null(customer_id) result failed at 05:00.
    v2 = service.health(ltv.version_id(2))
    assert v2.status is HealthStatus.AT_RISK
    assert [r.result_id for r in v2.reasons] == [
        make_id(Kind.RESULT, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER, "day4")
    ]
    assert v2.reasons[0].precision is Precision.CONFIRMED
    assert status(service, ltv.version_id(1)) is HealthStatus.OK
    assert status(service, demo.deployment_id("ltv-production")) is HealthStatus.OK
    assert_consistent(service.store)


def test_demo_cascade_report(service: LineageService) -> None:
    load_demo(service)
    day5 = make_id(Kind.RESULT, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER, "day5")
    report = service.cascade(day5)
    field = demo.STG_ORDERS.field_id("customer_id")
    assert report.checked_id == field
    assert report.passed is False and report.latest is True
    assert report.dataset_version_id == make_id(
        Kind.DATASET_VERSION, demo.SF, demo.STG_ORDERS.name, "day5"
    )
    assert report.failing == (demo.STG_ORDERS.id, field)
    entries = {e.id: e for e in report.at_risk}
    v3 = entries[demo.CHURN.version_id(3)]

    def version(table: demo.Table) -> str:
        return make_id(Kind.DATASET_VERSION, table.namespace, table.name, "day5")

    def run(job: demo.Transform | str, namespace: str = demo.DBT) -> str:
        name = job if isinstance(job, str) else job.name
        return make_id(Kind.RUN, namespace, name, demo.run_id(name, 5))

    # Ties between equally short paths go to the smaller id (customer_ltv < customer_orders).
    assert v3.path == (
        field,
        version(demo.STG_ORDERS),
        run("customer_ltv"),
        version(demo.CUSTOMER_LTV),
        run("build_customer_features", demo.AIRFLOW),
        version(demo.CUSTOMER_FEATURES),
        run("train_churn_classifier", demo.AIRFLOW),
        demo.CHURN.version_id(3),
    )
    assert (v3.hops, v3.precision) == (7, Precision.CONFIRMED)
    production = entries[demo.deployment_id("churn-production")]
    assert production.path == (*v3.path, demo.deployment_id("churn-production"))
    assert production.hops == 8
    # The day-5 result reaches nothing trained or served before day 5.
    assert demo.CHURN.version_id(2) not in entries
    assert demo.LTV.version_id(2) not in entries
    hops = [e.hops for e in report.at_risk]
    assert hops == sorted(hops)


def test_cascade_of_a_passing_result_puts_nothing_at_risk(service: LineageService) -> None:
    load_demo(service)
    day3 = make_id(Kind.RESULT, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER, "day3")
    report = service.cascade(day3)
    assert report.passed is True
    assert report.latest is False
    assert report.at_risk == ()
    assert report.failing == ()


def test_cascade_rejects_bad_ids(service: LineageService) -> None:
    load_demo(service)
    with pytest.raises(InvalidInput):
        service.cascade(demo.STG_ORDERS.id)
    with pytest.raises(InvalidInput):
        service.cascade("not an id")
    with pytest.raises(NotFound):
        service.cascade(make_id(Kind.RESULT, NS, "x", "check", "missing"))
    with pytest.raises(NotFound):
        service.health(ds("missing"))


def test_at_risk_lists_not_ok_entities_by_id_with_kind_filter(service: LineageService) -> None:
    load_demo(service)
    deployments = service.at_risk(kinds=[Kind.DEPLOYMENT])
    assert [r.id for r in deployments.items] == [
        demo.deployment_id("churn-production"),
        demo.deployment_id("churn-staging"),
        demo.deployment_id("ltv-staging"),
    ]
    first = service.at_risk(kinds=[Kind.MODEL_VERSION], first=1)
    assert [r.id for r in first.items] == [demo.CHURN.version_id(3)]
    assert first.has_next_page
    second = service.at_risk(kinds=[Kind.MODEL_VERSION], first=1, after=first.end_cursor)
    assert [r.id for r in second.items] == [demo.LTV.version_id(2)]
    assert not second.has_next_page
    with pytest.raises(InvalidInput):
        service.at_risk(first=-1)


def checked_table(name: str, passed: bool, day: int) -> ChangeSet:
    """A table with a row check and one result of it on ``day``."""
    cs = ChangeSet()
    check = Check(namespace=NS, name=name, check="rows", severity="ERROR")
    result = Result(
        namespace=NS,
        name=name,
        check="rows",
        result=f"day{day}",
        passed=passed,
        observed_at=at(day),
    )
    cs.add(Dataset(namespace=NS, name=name), check, result)
    cs.link(ds(name), EdgeKind.HAS_CHECK, check.id, at(1))
    cs.link(check.id, EdgeKind.HAS_RESULT, result.id, at(day))
    return cs


def test_at_risk_pages_list_each_entity_once_when_health_changes_between_pages(
    service: LineageService,
) -> None:
    # Cursors were offsets: an entity turning OK before the cursor made the next page
    # skip one, and one turning FAILING before it made the next page repeat one.
    for i in range(9):
        service.apply(checked_table(f"t{i}", False, 1))
    failing = [ds(f"t{i}") for i in range(9)]
    assert [r.id for r in service.at_risk(kinds=[Kind.DATASET]).items] == failing
    first = service.at_risk(kinds=[Kind.DATASET], first=3)
    assert [r.id for r in first.items] == failing[:3]
    service.apply(checked_table("t0", True, 2))  # before the cursor, turns OK
    second = service.at_risk(kinds=[Kind.DATASET], first=3, after=first.end_cursor)
    assert [r.id for r in second.items] == failing[3:6]
    service.apply(checked_table("t1a", False, 2))  # before the cursor, turns FAILING
    service.apply(checked_table("t5a", False, 2))  # after it
    third = service.at_risk(kinds=[Kind.DATASET], first=3, after=second.end_cursor)
    assert [r.id for r in third.items] == [ds("t5a"), *failing[6:8]]
    # an empty page stays where it was asked, and the count is of every entity
    held = service.at_risk(kinds=[Kind.DATASET], first=0, after=third.end_cursor, count=True)
    assert (held.items, held.end_cursor, held.total) == ([], third.end_cursor, 10)
    last = service.at_risk(kinds=[Kind.DATASET], first=3, after=held.end_cursor)
    assert ([r.id for r in last.items], last.has_next_page) == ([failing[8]], False)
    # the same through GraphQL, whose item cursors continue after their item
    query = """query($after: String) { atRisk(kinds: [DATASET], first: 2, after: $after) {
      edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }"""
    page = gql(service, query, {"after": None})["atRisk"]
    ids = [e["node"]["id"] for e in page["edges"]]
    assert ids == [ds("t1"), ds("t1a")]
    service.apply(checked_table("t1", True, 3))
    after_item = gql(service, query, {"after": page["edges"][0]["cursor"]})["atRisk"]
    assert [e["node"]["id"] for e in after_item["edges"]] == [ds("t1a"), ds("t2")]
    after_page = gql(service, query, {"after": page["pageInfo"]["endCursor"]})["atRisk"]
    assert [e["node"]["id"] for e in after_page["edges"]] == [ds("t2"), ds("t3")]


# --- crashes and failures ---------------------------------------------------------------------


def test_new_service_repairs_health_missed_by_a_crash(store: Store) -> None:
    # Data written without the health hook, as if the process died right after the write.
    for changeset in (partitions_catalog(), partition_day(1, True), partition_day(2, False)):
        store.apply(changeset)
    assert stored_health(store) == {}
    stale = LineageService(store, reconcile_health=False)
    assert stale.health(mv(2)).status is HealthStatus.OK
    repaired = LineageService(store)
    assert repaired.health(mv(2)).status is HealthStatus.AT_RISK
    assert_consistent(store)


def test_a_store_holding_ids_now_refused_still_opens_and_answers(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stores written before NUL and over-long keys were refused may hold such ids. Ids
    # made from them (a result's check, a field's dataset) were refused as new input,
    # so recomputing health at start failed, and the service never opened again.
    monkeypatch.setattr(model_module, "check_storable", lambda entity_id, kind: None)
    for raw in ("raw\x00orders", "raw_" + "x" * 8000):
        event = {
            "eventType": "COMPLETE",
            "eventTime": "2026-01-01T00:00:00Z",
            "producer": "https://example.com/producer",
            "run": {"runId": "11111111-1111-4111-8111-111111111111"},
            "job": {"namespace": "etl", "name": "load"},
            "inputs": [
                {
                    "namespace": NS,
                    "name": raw,
                    "inputFacets": {
                        "dataQualityAssertions": {
                            "assertions": [{"assertion": "not_null", "success": False}]
                        }
                    },
                }
            ],
            "outputs": [{"namespace": NS, "name": "loaded"}],
        }
        LineageService(store).apply(translate_event(event))
    monkeypatch.undo()
    service = LineageService(store)  # recomputes health at start (as after an upgrade)
    assert service.health(ds("loaded")).status is HealthStatus.AT_RISK
    assert_consistent(store)
    with pytest.raises(InvalidInput, match="NUL"):  # refused as new input all the same
        service.apply(ChangeSet().add(Dataset(namespace=NS, name="more\x00orders")))


@pytest.mark.parametrize("read", ["health", "health_of"])
def test_failed_health_update_is_recomputed_on_next_read(
    service: LineageService, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # health_of is how GraphQL's node { health } reads health in bulk: it served the
    # stale records until a write or a health/atRisk query recomputed them.
    service.apply(partitions_catalog())
    service.apply(partition_day(1, passed=True))

    def broken(store: Store, applied: ChangeSet) -> ChangeSet:
        raise RuntimeError("health update interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(cascade_module, "health_update", broken)
        with pytest.raises(RuntimeError):
            service.apply(partition_day(2, passed=False))
    assert stored_health(service.store) == {}  # the data is in, the health is not
    record = service.health(mv(2)) if read == "health" else service.health_of([mv(2)])[mv(2)]
    assert record.status is HealthStatus.AT_RISK
    assert_consistent(service.store)
