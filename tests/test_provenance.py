"""Provenance and provenance diff on the demo and a hand-built scenario, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineagegraph import demo
from lineagegraph.algorithms.provenance import (
    ChangeKind,
    CheckChange,
    CodeChange,
    EdgeChange,
    InputChange,
    SchemaDifference,
)
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest import mutations as mx
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import (
    ChangeSet,
    Dataset,
    DatasetVersion,
    EdgeKind,
    Job,
    Model,
    ModelVersion,
    Run,
    RunState,
)
from lineagegraph.service import LineageService
from tests.api_helpers import gql


def load_demo(service: LineageService) -> None:
    for changeset in demo.scenario():
        service.apply(changeset)


def version(table: demo.Table, day: int) -> str:
    return make_id(Kind.DATASET_VERSION, table.namespace, table.name, f"day{day}")


def run(job: str, day: int, namespace: str = demo.DBT) -> str:
    return make_id(Kind.RUN, namespace, job, demo.run_id(job, day))


def check(table: demo.Table, name: str) -> str:
    return make_id(Kind.CHECK, table.namespace, table.name, name)


def result(table: demo.Table, name: str, day: int) -> str:
    return make_id(Kind.RESULT, table.namespace, table.name, name, f"day{day}")


def test_provenance_of_a_model_version(service: LineageService) -> None:
    load_demo(service)
    v3 = demo.CHURN.version_id(3)
    prov = service.provenance(v3)
    assert prov.roots == (v3,)
    assert not prov.truncated
    depths = {v.id: v.depth for v in prov.versions}
    assert depths == {
        v3: 0,
        version(demo.CUSTOMER_FEATURES, 5): 1,
        version(demo.CUSTOMER_ORDERS, 5): 2,
        version(demo.CUSTOMER_LTV, 5): 2,
        version(demo.STG_PAYMENTS, 5): 2,
        version(demo.STG_CUSTOMERS, 5): 3,
        version(demo.STG_ORDERS, 5): 3,
        version(demo.RAW_PAYMENTS, 5): 3,
        version(demo.RAW_CUSTOMERS, 5): 4,
        version(demo.RAW_ORDERS, 5): 4,
    }
    train = run("train_churn_classifier", 5, demo.AIRFLOW)
    runs = {r.id: (r.job_id, r.code_version, r.depth) for r in prov.runs}
    assert runs == {
        train: (demo.CHURN.job_id, "v1", 1),
        run("build_customer_features", 5, demo.AIRFLOW): (
            make_id(Kind.JOB, demo.AIRFLOW, "build_customer_features"),
            "v1",
            2,
        ),
        run("customer_orders", 5): (make_id(Kind.JOB, demo.DBT, "customer_orders"), "v1", 3),
        run("customer_ltv", 5): (make_id(Kind.JOB, demo.DBT, "customer_ltv"), "v1", 3),
        run("stg_payments", 5): (make_id(Kind.JOB, demo.DBT, "stg_payments"), "v2", 3),
        run("stg_customers", 5): (make_id(Kind.JOB, demo.DBT, "stg_customers"), "v1", 4),
        run("stg_orders", 5): (make_id(Kind.JOB, demo.DBT, "stg_orders"), "v1", 4),
    }
    train_run = next(r for r in prov.runs if r.id == train)
    assert train_run.read == (version(demo.CUSTOMER_FEATURES, 5),)
    assert train_run.wrote == (v3,)
    features = {(f.id, f.computed_from) for f in prov.features}
    assert features == {
        (
            demo.feature_id(column),
            (demo.CUSTOMER_FEATURES.field_id(column),),
        )
        for column in ("days_since_last_order", "order_count_90d", "preferred_payment_method")
    }
    outcomes = {(c.check_id, c.dataset_version_id, c.passed, c.evaluated) for c in prov.checks}
    assert outcomes == {
        (check(demo.RAW_ORDERS, "row_count"), version(demo.RAW_ORDERS, 5), True, True),
        (check(demo.STG_CUSTOMERS, "not_null(email)"), version(demo.STG_CUSTOMERS, 5), True, True),
        (
            check(demo.STG_ORDERS, demo.NOT_NULL_CUSTOMER),
            version(demo.STG_ORDERS, 5),
            False,
            True,
        ),
        (check(demo.STG_ORDERS, "unique(order_id)"), version(demo.STG_ORDERS, 5), True, True),
        (
            check(demo.CUSTOMER_LTV, "non_negative(lifetime_value)"),
            version(demo.CUSTOMER_LTV, 5),
            True,
            True,
        ),
    }
    assert (version(demo.CUSTOMER_FEATURES, 5), EdgeKind.READ_BY, train) in prov.edges
    assert (train, EdgeKind.WROTE, v3) in prov.edges
    assert (demo.CHURN.job_id, EdgeKind.HAS_RUN, train) in prov.edges
    assert list(prov.edges) == sorted(prov.edges)


def test_provenance_keeps_to_the_configured_traversal_bounds(service: LineageService) -> None:
    # The closure stopped only at a fixed 20,000 nodes: the server's node cap and
    # timeout (LINEAGEGRAPH_MAX_TRAVERSAL_NODES, _TRAVERSAL_TIMEOUT) did not apply.
    load_demo(service)
    v2, v3 = demo.CHURN.version_id(2), demo.CHURN.version_id(3)
    whole = service.provenance(v3)
    size = len(whole.versions) + len(whole.runs)
    assert not whole.truncated and size > 4
    for settings in (Settings(max_traversal_nodes=3), Settings(traversal_timeout=1e-9)):
        bounded = LineageService(service.store, settings, reconcile_health=False)
        cut = bounded.provenance(v3)
        assert cut.truncated, settings
        assert len(cut.versions) + len(cut.runs) <= 4, settings  # the subject and 3
        assert {v.id for v in cut.versions} < {v.id for v in whole.versions}, settings
        assert bounded.provenance_diff(v2, v3) != service.provenance_diff(v2, v3), settings


def test_provenance_of_a_deployment_is_that_of_what_it_serves_now(
    service: LineageService,
) -> None:
    load_demo(service)
    prov = service.provenance(demo.deployment_id("churn-production"))
    assert prov.subject_kind is Kind.DEPLOYMENT
    assert prov.roots == (demo.CHURN.version_id(3),)
    assert {v.id for v in prov.versions} == {
        v.id for v in service.provenance(demo.CHURN.version_id(3)).versions
    }


def test_provenance_of_a_dataset_version_shows_checks_before_it_was_read(
    service: LineageService,
) -> None:
    load_demo(service)
    subject = version(demo.CUSTOMER_LTV, 4)
    prov = service.provenance(subject)
    assert {v.id: v.depth for v in prov.versions} == {
        subject: 0,
        version(demo.STG_ORDERS, 4): 1,
        version(demo.STG_PAYMENTS, 4): 1,
        version(demo.RAW_ORDERS, 4): 2,
        version(demo.RAW_PAYMENTS, 4): 2,
    }
    assert {v.id: v.written_by for v in prov.versions if v.depth < 2} == {
        subject: run("customer_ltv", 4),
        version(demo.STG_ORDERS, 4): run("stg_orders", 4),
        version(demo.STG_PAYMENTS, 4): run("stg_payments", 4),
    }
    schema = {v.id: v.schema_fields for v in prov.versions}
    assert schema[version(demo.RAW_PAYMENTS, 4)][3] == {
        "path": "amount_cents",
        "type": "integer",
        "nullable": False,
    }
    # The day-4 results ran at 05:00 on these versions: after customer_ltv read
    # stg_orders@day4 at 03:00, but they evaluated that very version.
    failing = [c for c in prov.checks if not c.passed]
    assert [(c.result_id, c.evaluated) for c in failing] == [
        (result(demo.STG_ORDERS, demo.NOT_NULL_CUSTOMER, 4), True)
    ]


def test_provenance_rejects_other_kinds_and_unknown_ids(service: LineageService) -> None:
    load_demo(service)
    with pytest.raises(InvalidInput):
        service.provenance(demo.STG_ORDERS.id)
    with pytest.raises(NotFound):
        service.provenance(make_id(Kind.MODEL_VERSION, demo.MLFLOW, "churn_classifier", "9"))
    with pytest.raises(InvalidInput):
        service.provenance_diff(demo.CHURN.version_id(3), demo.CHURN.version_id(3))


def test_provenance_diff_of_the_ltv_regression(service: LineageService) -> None:
    load_demo(service)
    diff = service.provenance_diff(demo.LTV.version_id(1), demo.LTV.version_id(2))
    tables = (
        demo.RAW_CUSTOMERS,
        demo.RAW_ORDERS,
        demo.RAW_PAYMENTS,
        demo.CUSTOMER_FEATURES,
        demo.CUSTOMER_LTV,
        demo.CUSTOMER_ORDERS,
        demo.STG_CUSTOMERS,
        demo.STG_ORDERS,
        demo.STG_PAYMENTS,
    )
    assert diff.inputs == tuple(
        InputChange(t.id, ChangeKind.CHANGED, (version(t, 2),), (version(t, 4),))
        for t in sorted(tables, key=lambda t: t.id)
    )
    payments = demo.RAW_PAYMENTS
    assert diff.schema_changes == (
        SchemaDifference(
            payments.id,
            version(payments, 2),
            version(payments, 4),
            "amount",
            ChangeKind.REMOVED,
            "numeric(10,2)",
            None,
            True,
        ),
        SchemaDifference(
            payments.id,
            version(payments, 2),
            version(payments, 4),
            "amount_cents",
            ChangeKind.ADDED,
            None,
            "integer",
            False,
        ),
    )
    assert diff.code_changes == (
        CodeChange(make_id(Kind.JOB, demo.DBT, "stg_payments"), ("v1",), ("v2",)),
    )
    assert diff.check_changes == (
        CheckChange(
            check_id=check(demo.STG_ORDERS, demo.NOT_NULL_CUSTOMER),
            change="NEW_FAILURE",
            from_result=result(demo.STG_ORDERS, demo.NOT_NULL_CUSTOMER, 2),
            from_passed=True,
            to_result=result(demo.STG_ORDERS, demo.NOT_NULL_CUSTOMER, 4),
            to_passed=False,
        ),
    )
    assert diff.edge_changes == ()


def test_provenance_diff_of_two_versions_of_a_table_shows_their_schema_change(
    service: LineageService,
) -> None:
    # payments was renamed on day 3: the diff of its day-2 and day-3 versions said
    # "schema changes: none", comparing only what each version's run read.
    load_demo(service)
    payments = demo.RAW_PAYMENTS
    diff = service.provenance_diff(version(payments, 2), version(payments, 3))
    assert [(c.dataset_id, c.field, c.change, c.breaking) for c in diff.schema_changes] == [
        (payments.id, "amount", ChangeKind.REMOVED, True),
        (payments.id, "amount_cents", ChangeKind.ADDED, False),
    ]
    assert diff.inputs == ()  # the versions compared are no inputs
    same = service.provenance_diff(version(payments, 3), version(payments, 4))
    assert same.schema_changes == ()


NS = "s3://lake"


def at(hour: int) -> datetime:
    return datetime(2026, 7, 1, hour, tzinfo=UTC)


def test_provenance_diff_shows_inputs_and_edges_that_changed(service: LineageService) -> None:
    # train read table a for model v1 and table b (with a retyped column) for v2.
    cs = ChangeSet()
    cs.add(Dataset(namespace=NS, name="a"), Dataset(namespace=NS, name="b"))
    cs.add(Job(namespace=NS, name="train", code_version="g1"), Model(namespace=NS, name="m"))
    for name, hour, schema in (
        ("a", 1, [{"path": "x", "type": "int"}]),
        ("b", 1, [{"path": "x", "type": "bigint"}]),
        ("b", 5, [{"path": "x", "type": "int"}, {"path": "y", "type": "varchar"}]),
    ):
        dv = DatasetVersion(
            namespace=NS,
            name=name,
            version=f"{name}{hour}",
            created_at=at(hour),
            schema_fields=schema,
        )
        cs.add(dv)
        cs.link(make_id(Kind.DATASET, NS, name), EdgeKind.HAS_VERSION, dv.id, at(hour))
    for n, reads, hour, code in ((1, ("a1", "b1"), 2, "g1"), (2, ("b5",), 6, "g2")):
        training = Run(
            namespace=NS,
            name="train",
            run_id=f"t{n}",
            started_at=at(hour),
            state=RunState.COMPLETE,
            code_version=code,
        )
        mv = ModelVersion(namespace=NS, name="m", version=str(n), created_at=at(hour + 1))
        cs.add(training, mv)
        cs.link(make_id(Kind.JOB, NS, "train"), EdgeKind.HAS_RUN, training.id, at(hour))
        for read in reads:
            dv_id = make_id(Kind.DATASET_VERSION, NS, read[0], read)
            cs.link(dv_id, EdgeKind.READ_BY, training.id, at(hour))
        cs.link(training.id, EdgeKind.WROTE, mv.id, at(hour + 1))
    service.apply(cs)
    m1 = make_id(Kind.MODEL_VERSION, NS, "m", "1")
    m2 = make_id(Kind.MODEL_VERSION, NS, "m", "2")
    diff = service.provenance_diff(m1, m2)
    a, b = make_id(Kind.DATASET, NS, "a"), make_id(Kind.DATASET, NS, "b")
    b1, b5 = (
        make_id(Kind.DATASET_VERSION, NS, "b", "b1"),
        make_id(Kind.DATASET_VERSION, NS, "b", "b5"),
    )
    a1 = make_id(Kind.DATASET_VERSION, NS, "a", "a1")
    train = make_id(Kind.JOB, NS, "train")
    assert diff.inputs == (
        InputChange(a, ChangeKind.REMOVED, (a1,), ()),
        InputChange(b, ChangeKind.CHANGED, (b1,), (b5,)),
    )
    assert diff.schema_changes == (
        SchemaDifference(b, b1, b5, "x", ChangeKind.CHANGED, "bigint", "int", True),
        SchemaDifference(b, b1, b5, "y", ChangeKind.ADDED, None, "varchar", False),
    )
    assert diff.code_changes == (CodeChange(train, ("g1",), ("g2",)),)
    assert diff.edge_changes == (EdgeChange(a, EdgeKind.READS, train, ChangeKind.REMOVED),)
    assert diff.check_changes == ()


def training_event(run: int, job_facets: dict[str, object]) -> dict[str, object]:
    """A COMPLETE run of job ``train`` on day ``run`` (its run id ending in ``run``) that
    reads ``features`` and trains model ``fraud``, with the job facets given."""
    return {
        "eventType": "COMPLETE",
        "eventTime": f"2025-06-0{run}T06:00:00Z",
        "producer": "https://example.com/trainer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"00000000-0000-4000-8000-00000000000{run}"},
        "job": {"namespace": NS, "name": "train", "facets": job_facets},
        "inputs": [{"namespace": NS, "name": "features"}],
        "outputs": [
            {
                "namespace": NS,
                "name": "fraud",
                "facets": {
                    "datasetType": {"_producer": "p", "_schemaURL": "s", "datasetType": "MODEL"}
                },
            }
        ],
    }


def test_openlineage_runs_keep_the_code_version_they_ran(service: LineageService) -> None:
    # The sourceCodeLocation version only went to the job, which keeps its latest: both
    # model versions' training showed the new code, and the diff found no code change.
    def training(run: int, code: str) -> dict[str, object]:
        location = {
            "_producer": "p",
            "_schemaURL": "s",
            "type": "git",
            "url": "https://git.example.com/ml",
            "version": code,
        }
        return training_event(run, {"sourceCodeLocation": location})

    for run, code in ((1, "a1b2c3d"), (2, "e4f5a6b")):
        service.apply(translate_event(training(run, code)))
    versions = [
        make_id(Kind.MODEL_VERSION, NS, "fraud", f"00000000-0000-4000-8000-00000000000{n}")
        for n in (1, 2)
    ]
    first = service.provenance(versions[0])
    assert [r.code_version for r in first.runs] == ["a1b2c3d"]
    diff = service.provenance_diff(*versions)
    train = make_id(Kind.JOB, NS, "train")
    assert diff.code_changes == (CodeChange(train, ("a1b2c3d",), ("e4f5a6b",)),)


def test_a_changed_sql_query_is_a_code_change_for_producers_that_send_only_sql(
    service: LineageService,
) -> None:
    # dbt-ol and Airflow's SQL operators send the query in the sql facet and no
    # sourceCodeLocation: their runs had no code version, so a changed query never showed
    # in a provenance diff or root cause.
    def run(n: int, query: str) -> dict[str, object]:
        return training_event(n, {"sql": {"_producer": "p", "_schemaURL": "s", "query": query}})

    queries = (
        "select * from features where amount > 0",
        "select *\n  from features\n  where amount > 0",  # re-indented: the same code
        "select * from features where amount >= 0",
    )
    for n, query in enumerate(queries, start=1):
        service.apply(translate_event(run(n, query)))
    versions = [
        make_id(Kind.MODEL_VERSION, NS, "fraud", f"00000000-0000-4000-8000-00000000000{n}")
        for n in (1, 2, 3)
    ]
    codes = [service.provenance(v).runs[0].code_version for v in versions]
    assert all(code is not None and code.startswith("sql:") for code in codes)
    assert codes[0] == codes[1] != codes[2]
    train = make_id(Kind.JOB, NS, "train")
    assert service.provenance_diff(versions[0], versions[1]).code_changes == ()
    assert service.provenance_diff(versions[1], versions[2]).code_changes == (
        CodeChange(train, (codes[1],), (codes[2],)),
    )


def test_a_check_reported_on_an_unversioned_input_counts_for_the_version_it_ran_on(
    service: LineageService,
) -> None:
    # The reader reports not_null(user_id) on its input, which names no version, in a
    # COMPLETE event without a START. The cascade puts the check on the latest version
    # created by then (events@e2 fails); provenance found no check at all, so the diff
    # between the model versions trained before and after said "no check changes".
    def event(day: int, hour: int, job: str, inputs: list[dict], outputs: list[dict]) -> dict:
        return {
            "eventType": "COMPLETE",
            "eventTime": f"2025-06-0{day}T0{hour}:00:00Z",
            "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": f"00000000-0000-4000-8000-0000000{day}{hour}000"},
            "job": {"namespace": NS, "name": job},
            "inputs": inputs,
            "outputs": outputs,
        }

    def facet(name: str, body: dict[str, object]) -> dict[str, object]:
        return {name: {"_producer": "p", "_schemaURL": "s", **body}}

    events = {"namespace": NS, "name": "events"}
    stats = {"namespace": NS, "name": "stats"}
    for day, passed in ((1, True), (2, False)):
        version = facet("version", {"datasetVersion": f"e{day}"})
        service.apply(translate_event(event(day, 1, "load", [], [{**events, "facets": version}])))
        check = {"assertion": "not_null", "column": "user_id", "success": passed}
        read = {**events, "inputFacets": facet("dataQualityAssertions", {"assertions": [check]})}
        service.apply(translate_event(event(day, 2, "build", [read], [stats])))
        trained = facet("version", {"datasetVersion": str(day)})
        model_type = facet("datasetType", {"datasetType": "MODEL"})
        model = {"namespace": NS, "name": "churn", "facets": trained | model_type}
        service.apply(translate_event(event(day, 3, "train", [stats], [model])))
    not_null = make_id(Kind.CHECK, NS, "events", "not_null(user_id)")
    e1, e2 = (make_id(Kind.DATASET_VERSION, NS, "events", f"e{d}") for d in (1, 2))
    assert service.health(e2).status.value == "AT_RISK"
    v1, v2 = (make_id(Kind.MODEL_VERSION, NS, "churn", str(d)) for d in (1, 2))
    first, second = service.provenance(v1), service.provenance(v2)
    assert [(c.check_id, c.dataset_version_id, c.passed, c.evaluated) for c in first.checks] == [
        (not_null, e1, True, True)
    ]
    assert [(c.check_id, c.dataset_version_id, c.passed) for c in second.checks] == [
        (not_null, e2, False)
    ]
    diff = service.provenance_diff(v1, v2)
    assert [(c.check_id, c.change) for c in diff.check_changes] == [(not_null, "NEW_FAILURE")]


def test_a_model_version_registered_without_a_run_read_its_tables_at_creation(
    service: LineageService,
) -> None:
    # registerModelVersion(trainedOn: [a table]) without a training run: provenance
    # showed nothing upstream, so the diff of v1 and v2 was empty while the table was
    # retyped and its check failed between them.
    table = make_id(Kind.DATASET, NS, "tbl")
    at = datetime(2025, 6, 10, tzinfo=UTC)
    for name, day, type_ in (("v1", 0, "bigint"), ("v2", 1, "varchar")):
        spec = mx.DatasetVersionSpec(
            NS, "tbl", name, at + timedelta(days=day), schema=[mx.FieldSpec("x", type_)]
        )
        service.apply(mx.upsert_dataset_version(spec, at + timedelta(days=day)))
    v1, v2 = (make_id(Kind.DATASET_VERSION, NS, "tbl", v) for v in ("v1", "v2"))
    rows = mx.CheckSpec(NS, "tbl", "rows")
    failed = mx.QualityResultSpec(rows, False, at + timedelta(days=1, hours=1))
    service.apply(mx.record_quality_result(failed, v2))
    for n in (1, 2):
        spec = mx.ModelVersionSpec(
            NS, "m", str(n), at + timedelta(days=n - 1, hours=6), trained_on=[table]
        )
        service.apply(mx.register_model_version(spec, at + timedelta(days=n - 1, hours=6)))
    m1, m2 = (make_id(Kind.MODEL_VERSION, NS, "m", str(n)) for n in (1, 2))
    first, second = service.provenance(m1), service.provenance(m2)
    assert [(v.id, v.depth) for v in first.versions] == [(v1, 1), (m1, 0)]
    assert [(v.id, v.depth) for v in second.versions] == [(v2, 1), (m2, 0)]
    assert (v2, EdgeKind.TRAINED_ON, m2) in second.edges
    assert [(c.dataset_version_id, c.passed) for c in second.checks] == [(v2, False)]
    diff = service.provenance_diff(m1, m2)
    assert diff.inputs == (InputChange(table, ChangeKind.CHANGED, (v1,), (v2,)),)
    assert [(c.field, c.change) for c in diff.schema_changes] == [("x", ChangeKind.CHANGED)]
    assert [c.change for c in diff.check_changes] == ["NEW_FAILURE"]


def test_a_retrained_version_was_produced_by_the_run_that_completed(
    service: LineageService,
) -> None:
    # The first training attempt failed and a retry completed; both wrote version 1.
    # The version's training run (GraphQL trainingRun) and its writer in provenance
    # were the failed attempt, the smaller runId.
    def event(run: str, state: str, hour: int) -> dict[str, object]:
        model_facets = {
            "datasetType": {"_producer": "p", "_schemaURL": "s", "datasetType": "MODEL"}
        }
        model_facets["version"] = {"_producer": "p", "_schemaURL": "s", "datasetVersion": "1"}
        return {
            "eventType": state,
            "eventTime": f"2025-06-01T0{hour}:00:00Z",
            "producer": "https://example.com/trainer",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run},
            "job": {"namespace": NS, "name": "train"},
            "inputs": [{"namespace": NS, "name": "features"}],
            "outputs": [{"namespace": NS, "name": "fraud", "facets": model_facets}],
        }

    failed, retry = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
    for run, state, hour in ((failed, "START", 1), (failed, "FAIL", 2), (retry, "START", 3)):
        service.apply(translate_event(event(run, state, hour)))
    service.apply(translate_event(event(retry, "COMPLETE", 4)))
    version = make_id(Kind.MODEL_VERSION, NS, "fraud", "1")
    completed = make_id(Kind.RUN, NS, "train", retry)
    (subject,) = [v for v in service.provenance(version).versions if v.id == version]
    assert subject.written_by == completed
    query = "query($id: ID!) { node(id: $id) { ... on ModelVersion { trainingRun { id } } } }"
    data = gql(service, query, {"id": version})
    assert data["node"]["trainingRun"]["id"] == completed
    # a dataset version written by both is the retry's too (DatasetVersion.run named the
    # failed attempt)
    for run, state, hour in ((failed, "FAIL", 2), (retry, "COMPLETE", 4)):
        written = event(run, state, hour)
        written["outputs"] = [
            {
                "namespace": NS,
                "name": "scores",
                "facets": {"version": {"_producer": "p", "_schemaURL": "s", "datasetVersion": "7"}},
            }
        ]
        service.apply(translate_event(written))
    table_version = make_id(Kind.DATASET_VERSION, NS, "scores", "7")
    query = "query($id: ID!) { node(id: $id) { ... on DatasetVersion { run { id } } } }"
    assert gql(service, query, {"id": table_version})["node"]["run"]["id"] == completed


# --- a feature pipeline between the data and the model -------------------------------------

FS, PG, REGISTRY = "feast://fs", "postgres://db", "mlflow://r"
FEATURE = make_id(Kind.FEATURE, FS, "customer:total")
ORDERS = make_id(Kind.DATASET, PG, "public.orders")


def pipeline_at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, 1, hour, minute, tzinfo=UTC)


def model_version_of(version: str) -> str:
    return make_id(Kind.MODEL_VERSION, REGISTRY, "churn", version)


def build_feature_pipeline(service: LineageService) -> None:
    """orders -> build_features (f1, then f2 after v1 was trained) -> a feature -> train
    (t1 -> v1, t2 -> v2), as recorded through the mutations' translators."""
    at = pipeline_at(0)
    service.apply(
        mx.upsert_dataset(
            mx.DatasetSpec(PG, "public.orders", fields=[mx.FieldSpec("amount", "int")]), at
        )
    )
    amount = make_id(Kind.FIELD, PG, "public.orders", "amount")
    service.apply(
        mx.upsert_feature(mx.FeatureSpec(FS, "customer:total", computed_from=[amount]), at)
    )

    def run(job: str, run_id: str, hour: int, code: str, inputs: list[str], outputs: list[str]):
        spec = mx.RunSpec(
            "airflow",
            job,
            run_id,
            RunState.COMPLETE,
            started_at=pipeline_at(hour),
            ended_at=pipeline_at(hour, 10),
            code_version=code,
            inputs=[mx.RunIO(i) for i in inputs],
            outputs=[mx.RunIO(o) for o in outputs],
        )
        new = {o for o in outputs if o.startswith("model_version|")}
        service.apply(mx.record_run(spec, pipeline_at(hour, 10), None, new))

    run("load_orders", "r1", 1, "load-v1", [], [ORDERS])
    run("build_features", "f1", 2, "feat-v1", [ORDERS], [FEATURE])
    run("train", "t1", 3, "train-v1", [FEATURE], [model_version_of("1")])
    run("build_features", "f2", 6, "feat-v2", [ORDERS], [FEATURE])
    run("train", "t2", 7, "train-v1", [FEATURE], [model_version_of("2")])


def test_provenance_reaches_the_run_that_computed_the_features(service: LineageService) -> None:
    # The training run read a feature: provenance listed the data behind it but not the
    # feature pipeline's run and code.
    build_feature_pipeline(service)
    f1 = make_id(Kind.RUN, "airflow", "build_features", "f1")
    t1 = make_id(Kind.RUN, "airflow", "train", "t1")
    r1 = make_id(Kind.RUN, "airflow", "load_orders", "r1")
    orders_r1 = make_id(Kind.DATASET_VERSION, PG, "public.orders", "r1")
    prov = service.provenance(model_version_of("1"))
    assert {r.id: (r.code_version, r.depth) for r in prov.runs} == {
        t1: ("train-v1", 1),
        f1: ("feat-v1", 2),  # not f2: it ran after v1 was trained
        r1: ("load-v1", 2),
    }
    jobs = {j.id: j.code_versions for j in prov.jobs}
    assert jobs[make_id(Kind.JOB, "airflow", "build_features")] == ("feat-v1",)
    assert {v.id: v.depth for v in prov.versions} == {model_version_of("1"): 0, orders_r1: 1}
    assert {
        (FEATURE, EdgeKind.READ_BY, t1),
        (f1, EdgeKind.WROTE, FEATURE),
        (orders_r1, EdgeKind.READ_BY, f1),
        (orders_r1, EdgeKind.COMPUTED_FROM, FEATURE),
    } <= set(prov.edges)
    # v2 was trained on the features f2 computed, with other code
    diff = service.provenance_diff(model_version_of("1"), model_version_of("2"))
    assert (
        CodeChange(make_id(Kind.JOB, "airflow", "build_features"), ("feat-v1",), ("feat-v2",))
        in diff.code_changes
    )


def test_provenance_takes_the_computing_run_that_ended_last_of_all_runs(
    service: LineageService,
) -> None:
    # The runs of a feature's job were read newest start first, 50 at a time, up to the
    # first 50 holding a COMPLETE run: a long run that started before them and ended
    # after them all was never looked at, and a short run was named as the one that
    # computed what the training read.
    at = pipeline_at(0)
    amount = make_id(Kind.FIELD, PG, "public.orders", "amount")
    service.apply(
        mx.upsert_dataset(
            mx.DatasetSpec(PG, "public.orders", fields=[mx.FieldSpec("amount", "int")]), at
        )
    )
    service.apply(
        mx.upsert_feature(mx.FeatureSpec(FS, "customer:total", computed_from=[amount]), at)
    )

    def run(job: str, run_id: str, start: datetime, end: datetime, outputs: list[str]) -> None:
        spec = mx.RunSpec(
            "airflow",
            job,
            run_id,
            RunState.COMPLETE,
            started_at=start,
            ended_at=end,
            inputs=[mx.RunIO(FEATURE)] if job == "train" else [],
            outputs=[mx.RunIO(o) for o in outputs],
        )
        new = {o for o in outputs if o.startswith("model_version|")}
        service.apply(mx.record_run(spec, end, None, new))

    run("build_features", "long", pipeline_at(1), pipeline_at(20), [FEATURE])
    for n in range(60):
        start = pipeline_at(2) + timedelta(minutes=2 * n)
        run("build_features", f"short{n:02}", start, start + timedelta(minutes=1), [FEATURE])
    run("train", "t1", pipeline_at(21), pipeline_at(22), [model_version_of("1")])
    # a run that ended after the training started computed nothing it read
    run("build_features", "late", pipeline_at(1, 30), pipeline_at(21, 30), [FEATURE])

    prov = service.provenance(model_version_of("1"))
    builds = {r.id for r in prov.runs if r.job_id.endswith("build_features")}
    assert builds == {make_id(Kind.RUN, "airflow", "build_features", "long")}
