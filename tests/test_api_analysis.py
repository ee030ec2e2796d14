"""health, atRisk, cascade, provenance, provenanceDiff and rootCause through ``schema.execute``
on the demo, on both stores. The demo's story (see demo.py): from day 4 the
not_null(customer_id) check on stg_orders fails; churn v3 (trained day 5) and ltv v2
(day 4) are at risk and so are the deployments serving them; churn v2 (day 3) and
ltv v1 (day 2), served by ltv-production, are not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lineagegraph import demo
from lineagegraph.ids import Kind, make_id
from lineagegraph.service import LineageService
from tests.api_helpers import gql, load_demo, run_graphql
from tests.conftest import STORE_KINDS, make_store

ORDERS = demo.STG_ORDERS
NOT_NULL = make_id(Kind.CHECK, ORDERS.namespace, ORDERS.name, demo.NOT_NULL_CUSTOMER)
CUSTOMER_ID = ORDERS.field_id("customer_id")


def result_id(day: int) -> str:
    return make_id(Kind.RESULT, ORDERS.namespace, ORDERS.name, demo.NOT_NULL_CUSTOMER, f"day{day}")


@pytest.fixture(scope="module", params=STORE_KINDS)
def shop(request: pytest.FixtureRequest) -> Iterator[LineageService]:
    store = make_store(request.param)
    yield load_demo(LineageService(store))
    store.close()


def test_at_risk_deployments_and_model_versions(shop: LineageService) -> None:
    data = gql(
        shop,
        """{ deployments: atRisk(kinds: [DEPLOYMENT]) { edges { node { id status
               reasons { checkId precision } } } }
             versions: atRisk(kinds: [MODEL_VERSION]) { edges { node { id } } }
             failing: atRisk(kinds: [DATASET, FIELD], first: 50) { edges { node { id status } } }
        }""",
    )
    assert [e["node"]["id"] for e in data["deployments"]["edges"]] == [
        "deployment|k8s://ml-serving|churn-production",
        "deployment|k8s://ml-serving|churn-staging",
        "deployment|k8s://ml-serving|ltv-staging",
    ]
    for edge in data["deployments"]["edges"]:
        assert edge["node"]["status"] == "AT_RISK"
        assert edge["node"]["reasons"] == [{"checkId": NOT_NULL, "precision": "CONFIRMED"}]
    assert [e["node"]["id"] for e in data["versions"]["edges"]] == [
        demo.CHURN.version_id(3),
        demo.LTV.version_id(2),
    ]
    failing = {
        e["node"]["id"] for e in data["failing"]["edges"] if e["node"]["status"] == "FAILING"
    }
    assert failing == {ORDERS.id, CUSTOMER_ID}


def test_health_of_one_entity(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($v2: ID!, $v3: ID!, $field: ID!, $ltvProd: ID!) {
          v2: health(id: $v2) { status reasons { message } }
          v3: health(id: $v3) { id kind status reasons { checkId checkedId precision kind
                                 hops path result { label passed } } }
          field: health(id: $field) { status reasons { kind hops } }
          ltvProd: health(id: $ltvProd) { status }
        }""",
        {
            "v2": demo.CHURN.version_id(2),
            "v3": demo.CHURN.version_id(3),
            "field": CUSTOMER_ID,
            "ltvProd": demo.deployment_id("ltv-production"),
        },
    )
    assert data["v2"] == {"status": "OK", "reasons": []}
    assert data["ltvProd"] == {"status": "OK"}
    assert data["field"] == {"status": "FAILING", "reasons": [{"kind": "OWN_CHECK", "hops": 0}]}
    v3 = data["v3"]
    assert (v3["id"], v3["kind"], v3["status"]) == (
        demo.CHURN.version_id(3),
        "MODEL_VERSION",
        "AT_RISK",
    )
    reason = v3["reasons"][0]
    assert reason["checkId"] == NOT_NULL
    assert reason["checkedId"] == CUSTOMER_ID
    assert reason["precision"] == "CONFIRMED"
    assert reason["kind"] == "RECORDED_RUNS"
    assert reason["path"][0] == CUSTOMER_ID and reason["path"][-1] == demo.CHURN.version_id(3)
    assert reason["hops"] == len(reason["path"]) - 1
    assert reason["result"] == {"label": "not_null(customer_id) @ day5", "passed": False}
    _, errors = run_graphql(shop, '{ health(id: "dataset|s3://x|nope") { status } }')
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


def test_cascade_of_the_failing_and_of_a_passing_result(shop: LineageService) -> None:
    query = """query($id: ID!) { cascade(resultId: $id) {
        checkId checkedId datasetVersionId passed latest failing
        atRisk { id precision reasonKind } result { label } } }"""
    failed = gql(shop, query, {"id": result_id(5)})["cascade"]
    assert failed["checkId"] == NOT_NULL
    assert failed["checkedId"] == CUSTOMER_ID
    assert failed["datasetVersionId"] == make_id(
        Kind.DATASET_VERSION, ORDERS.namespace, ORDERS.name, "day5"
    )
    assert (failed["passed"], failed["latest"]) == (False, True)
    assert failed["failing"] == [ORDERS.id, CUSTOMER_ID]
    assert failed["result"] == {"label": "not_null(customer_id) @ day5"}
    reached = {a["id"] for a in failed["atRisk"]}
    rests_on = {a["id"]: (a["precision"], a["reasonKind"]) for a in failed["atRisk"]}
    assert rests_on[demo.CHURN.version_id(3)] == ("CONFIRMED", "RECORDED_RUNS")
    day5 = make_id(Kind.DATASET_VERSION, ORDERS.namespace, ORDERS.name, "day5")
    assert rests_on[day5] == ("CONFIRMED", "CHECKED_VERSION")
    assert {k for p, k in rests_on.values() if p == "POTENTIAL"} <= {"DESIGN_LINEAGE"}
    assert {
        demo.CHURN.version_id(3),
        demo.deployment_id("churn-production"),
        demo.deployment_id("churn-staging"),
    } <= reached
    # Day 5's bad partition reached only what was built on day 5: not v2, not the ltv models.
    assert demo.CHURN.version_id(2) not in reached
    assert demo.LTV.version_id(2) not in reached
    assert demo.deployment_id("ltv-production") not in reached
    passed = gql(shop, query, {"id": result_id(3)})["cascade"]
    assert (passed["passed"], passed["latest"], passed["atRisk"], passed["failing"]) == (
        True,
        False,
        [],
        [],
    )
    _, errors = run_graphql(shop, query, {"id": ORDERS.id})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_provenance_of_the_regressed_model_version(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { provenance(id: $id) { subjectKind roots truncated
            subject { id } features { id }
            jobs { id codeVersions }
            checks { checkId datasetVersionId passed evaluated } } }""",
        {"id": demo.CHURN.version_id(3)},
    )["provenance"]
    assert data["subjectKind"] == "MODEL_VERSION"
    assert data["roots"] == [demo.CHURN.version_id(3)]
    assert data["truncated"] is False
    assert data["subject"] == {"id": demo.CHURN.version_id(3)}
    assert [f["id"] for f in data["features"]] == [
        demo.feature_id("days_since_last_order"),
        demo.feature_id("order_count_90d"),
        demo.feature_id("preferred_payment_method"),
    ]
    jobs = {j["id"]: j["codeVersions"] for j in data["jobs"]}
    assert jobs[make_id(Kind.JOB, demo.DBT, "stg_payments")] == ["v2"]
    assert jobs[demo.CHURN.job_id] == ["v1"]
    assert [c for c in data["checks"] if not c["passed"]] == [
        {
            "checkId": NOT_NULL,
            "datasetVersionId": make_id(
                Kind.DATASET_VERSION, ORDERS.namespace, ORDERS.name, "day5"
            ),
            "passed": False,
            "evaluated": True,
        }
    ]


def test_provenance_diff_between_the_good_and_the_regressed_version(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($from: ID!, $to: ID!) { provenanceDiff(from: $from, to: $to) {
            from to checkChanges { checkId change fromPassed toPassed }
            codeChanges { jobId } schemaChanges { field }
            inputs { entityId change fromVersions toVersions } } }""",
        {"from": demo.CHURN.version_id(2), "to": demo.CHURN.version_id(3)},
    )["provenanceDiff"]
    assert (data["from"], data["to"]) == (demo.CHURN.version_id(2), demo.CHURN.version_id(3))
    assert data["checkChanges"] == [
        {"checkId": NOT_NULL, "change": "NEW_FAILURE", "fromPassed": True, "toPassed": False}
    ]
    # stg_payments' new code and the payments rename happened on day 3, before v2 was trained.
    assert data["codeChanges"] == [] and data["schemaChanges"] == []
    orders = next(i for i in data["inputs"] if i["entityId"] == ORDERS.id)
    assert orders == {
        "entityId": ORDERS.id,
        "change": "CHANGED",
        "fromVersions": [make_id(Kind.DATASET_VERSION, ORDERS.namespace, ORDERS.name, "day3")],
        "toVersions": [make_id(Kind.DATASET_VERSION, ORDERS.namespace, ORDERS.name, "day5")],
    }


def test_root_cause_ranks_the_failed_check_first(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { rootCause(id: $id) { modelVersionId baselineId since until
            suspects { kind entityId score entity { id }
                       breakdown { inProvenanceDiff score } }
            diff { checkChanges { change } } } }""",
        {"id": demo.deployment_id("churn-production")},
    )["rootCause"]
    assert data["modelVersionId"] == demo.CHURN.version_id(3)
    assert data["baselineId"] == demo.CHURN.version_id(2)
    assert data["since"] == "2026-10-03T07:00:00+00:00"
    assert data["until"] == "2026-10-05T07:00:00+00:00"
    top = data["suspects"][0]
    assert (top["kind"], top["entityId"]) == ("FAILED_CHECK", CUSTOMER_ID)
    assert top["entity"] == {"id": CUSTOMER_ID}
    assert top["breakdown"]["inProvenanceDiff"] is True
    assert top["score"] == top["breakdown"]["score"]
    scores = [s["score"] for s in data["suspects"]]
    assert scores == sorted(scores, reverse=True)
    assert data["diff"] == {"checkChanges": [{"change": "NEW_FAILURE"}]}
