"""Every query through ``schema.execute`` on the demo scenario, on both stores.

Expected answers are written out from the demo's description (src/lineagegraph/demo.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from lineagegraph import demo
from lineagegraph.ids import Kind, make_id
from lineagegraph.service import LineageService
from tests.api_helpers import gql, load_demo, run_graphql
from tests.conftest import STORE_KINDS, make_store

STG_ORDERS = demo.STG_ORDERS.id
RAW_PAYMENTS = demo.RAW_PAYMENTS.id
NOT_NULL = make_id(Kind.CHECK, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER)
CHURN_V = demo.CHURN.version_id
LTV_V = demo.LTV.version_id
PROD = demo.deployment_id("churn-production")
STAGING = demo.deployment_id("churn-staging")


@pytest.fixture(scope="module", params=STORE_KINDS)
def shop(request: pytest.FixtureRequest) -> Iterator[LineageService]:
    """The demo scenario, loaded once per store kind for these read-only tests."""
    store = make_store(request.param)
    yield load_demo(LineageService(store))
    store.close()


# --- lookups ----------------------------------------------------------------------------------


def test_node_by_id_and_entity_by_key(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) {
          node(id: $id) { id kind namespace name label __typename }
          field: entity(kind: FIELD, namespace: "snowflake://acme",
                        name: "analytics.staging.stg_orders", path: "customer_id") {
            id label ... on Field { path type nullable ordinal dataset { name } }
          }
          version: entity(kind: MODEL_VERSION, namespace: "mlflow://registry",
                          name: "churn_classifier", version: "2") { id label }
          missing: entity(kind: DATASET, namespace: "s3://nowhere", name: "x") { id }
          unknown: node(id: "dataset|s3://nowhere|x") { id }
        }""",
        {"id": STG_ORDERS},
    )
    assert data["node"] == {
        "id": "dataset|snowflake://acme|analytics.staging.stg_orders",
        "kind": "DATASET",
        "namespace": "snowflake://acme",
        "name": "analytics.staging.stg_orders",
        "label": "analytics.staging.stg_orders",
        "__typename": "Dataset",
    }
    assert data["field"] == {
        "id": "field|snowflake://acme|analytics.staging.stg_orders|customer_id",
        "label": "customer_id",
        "path": "customer_id",
        "type": "number",
        "nullable": False,
        "ordinal": 2,
        "dataset": {"name": "analytics.staging.stg_orders"},
    }
    assert data["version"] == {
        "id": "model_version|mlflow://registry|churn_classifier|2",
        "label": "2",
    }
    assert data["missing"] is None
    assert data["unknown"] is None


def test_nodes_in_the_order_asked_skipping_missing(shop: LineageService) -> None:
    data = gql(
        shop,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }",
        {"ids": [PROD, "dataset|s3://nowhere|x", demo.CHURN.job_id]},
    )
    assert data["nodes"] == [
        {"id": "deployment|k8s://ml-serving|churn-production", "__typename": "Deployment"},
        {"id": "job|airflow://ml-platform|train_churn_classifier", "__typename": "Job"},
    ]


def test_an_id_written_another_way_finds_the_entity_it_names(shop: LineageService) -> None:
    # the kind in upper case parses to the same key as the id shown everywhere: every
    # lookup finds that entity rather than answering as if it were missing
    upper = STG_ORDERS.replace("dataset|", "DATASET|", 1)
    data = gql(
        shop,
        "query($u: ID!) { node(id: $u) { id } nodes(ids: [$u]) { id }"
        " health(id: $u) { id } lineage(id: $u, depth: 1) { root { id } } }",
        {"u": upper},
    )
    assert data == {
        "node": {"id": STG_ORDERS},
        "nodes": [{"id": STG_ORDERS}],
        "health": {"id": STG_ORDERS},
        "lineage": {"root": {"id": STG_ORDERS}},
    }


def test_health_of_a_missing_entity_is_not_found_while_node_is_null(
    shop: LineageService,
) -> None:
    # As the field descriptions say: a typo in a health lookup must not read as OK.
    missing = "dataset|postgres://prod:5432|shop.public.no_such_table"
    data, errors = run_graphql(shop, "query($u: ID!) { node(id: $u) { id } }", {"u": missing})
    assert data == {"node": None} and not errors
    data, errors = run_graphql(shop, "query($u: ID!) { health(id: $u) { status } }", {"u": missing})
    assert data is None
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]


def test_a_malformed_id_or_incomplete_key_is_a_clear_error(shop: LineageService) -> None:
    data, errors = run_graphql(shop, '{ node(id: "not-an-id") { id } }')
    assert data == {"node": None}
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not an entity id" in errors[0]["message"]
    _, errors = run_graphql(
        shop, '{ entity(kind: FIELD, namespace: "snowflake://acme", name: "t") { id } }'
    )
    assert errors[0]["message"] == "a FIELD reference needs path"
    _, errors = run_graphql(
        shop, '{ entity(kind: DATASET, namespace: "n", name: "t", version: "1") { id } }'
    )
    assert errors[0]["message"] == "a DATASET reference takes no version"


def test_dataset_fields_schema_checks_versions_producers_consumers(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { node(id: $id) { ... on Dataset {
            description platform owners tags deleted
            fields { path }
            schema { path type nullable ordinal }
            checks { check field checkType severity system
                     latestResult { passed observed expected observedAt } }
            versions(first: 2) { totalCount pageInfo { hasNextPage }
                                 edges { node { version createdAt rowCount } } }
            producers { name } consumers { name }
        } } }""",
        {"id": STG_ORDERS},
    )["node"]
    assert data["description"] == "Cleaned orders"
    assert data["platform"] == "snowflake"
    assert data["owners"] == ["team:analytics-eng", "ari@acme.example"]
    assert data["tags"] == ["staging"]
    assert data["deleted"] is False
    assert [f["path"] for f in data["fields"]] == [
        "order_id",
        "customer_id",
        "order_date",
        "status",
    ]
    assert data["schema"] == [
        {"path": "order_id", "type": "number", "nullable": False, "ordinal": 1},
        {"path": "customer_id", "type": "number", "nullable": False, "ordinal": 2},
        {"path": "order_date", "type": "date", "nullable": False, "ordinal": 3},
        {"path": "status", "type": "varchar", "nullable": False, "ordinal": 4},
    ]
    assert data["checks"] == [
        {
            "check": "not_null(customer_id)",
            "field": "customer_id",
            "checkType": "not_null",
            "severity": "ERROR",
            "system": "dbt",
            "latestResult": {
                "passed": False,
                "observed": "412 null values",
                "expected": "0 null values",
                "observedAt": "2026-10-05T05:00:00+00:00",
            },
        },
        {
            "check": "unique(order_id)",
            "field": "order_id",
            "checkType": "unique",
            "severity": "ERROR",
            "system": "dbt",
            "latestResult": {
                "passed": True,
                "observed": "0 duplicates",
                "expected": None,
                "observedAt": "2026-10-05T05:00:00+00:00",
            },
        },
    ]
    assert data["versions"] == {
        "totalCount": 5,
        "pageInfo": {"hasNextPage": True},
        "edges": [
            {
                "node": {
                    "version": "day5",
                    "createdAt": "2026-10-05T02:20:00+00:00",
                    "rowCount": 11000,
                }
            },
            {
                "node": {
                    "version": "day4",
                    "createdAt": "2026-10-04T02:20:00+00:00",
                    "rowCount": 10600,
                }
            },
        ],
    }
    assert data["producers"] == [{"name": "stg_orders"}]
    assert data["consumers"] == [{"name": "customer_ltv"}, {"name": "customer_orders"}]


def test_a_renamed_column_leaves_the_current_schema(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { node(id: $id) { ... on Dataset { schema { path type } } }
           old: entity(kind: FIELD, namespace: "postgres://prod-db:5432",
                       name: "shop.public.payments", path: "amount") {
             ... on Field { deleted type derivedInto { id } } } }""",
        {"id": RAW_PAYMENTS},
    )
    assert data["node"]["schema"] == [
        {"path": "id", "type": "bigint"},
        {"path": "order_id", "type": "bigint"},
        {"path": "payment_method", "type": "varchar"},
        {"path": "amount_cents", "type": "integer"},
    ]
    # The old column still exists as a deleted field whose lineage is no longer current.
    assert data["old"] == {"deleted": True, "type": "numeric(10,2)", "derivedInto": []}


def test_job_with_runs_connection_code_version_and_io(shop: LineageService) -> None:
    job = make_id(Kind.JOB, demo.DBT, "stg_payments")
    query = """query($id: ID!, $after: String) { node(id: $id) { ... on Job {
        jobType codeVersion codeLocation sql owners
        inputs { id } outputs { id }
        latestRun { runId }
        runs(first: 2, after: $after) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { runId state startedAt endedAt codeVersion
                                job { name } inputs { id } outputs { id } } }
        }
    } } }"""
    first = gql(shop, query, {"id": job})["node"]
    assert first["jobType"] == "DBT_MODEL"
    assert first["codeVersion"] == "v2"
    assert first["codeLocation"] == "git@github.com:acme/analytics.git#models/stg_payments.sql"
    assert first["sql"] == (
        "select id as payment_id, order_id, payment_method, amount_cents / 100.0 "
        "as amount from shop.public.payments"
    )
    assert first["owners"] == ["team:analytics-eng", "ari@acme.example"]
    assert first["inputs"] == [{"id": "dataset|postgres://prod-db:5432|shop.public.payments"}]
    assert first["outputs"] == [{"id": "dataset|snowflake://acme|analytics.staging.stg_payments"}]
    assert first["latestRun"] == {"runId": demo.run_id("stg_payments", 5)}
    runs = first["runs"]
    assert runs["totalCount"] == 5
    assert runs["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["runId"] for e in runs["edges"]] == [
        demo.run_id("stg_payments", 5),
        demo.run_id("stg_payments", 4),
    ]
    day5 = runs["edges"][0]["node"]
    assert day5 == {
        "runId": demo.run_id("stg_payments", 5),
        "state": "COMPLETE",
        "startedAt": "2026-10-05T02:00:00+00:00",
        "endedAt": "2026-10-05T02:20:00+00:00",
        "codeVersion": "v2",
        "job": {"name": "stg_payments"},
        "inputs": [{"id": "dataset_version|postgres://prod-db:5432|shop.public.payments|day5"}],
        "outputs": [{"id": "dataset_version|snowflake://acme|analytics.staging.stg_payments|day5"}],
    }
    rest = gql(shop, query, {"id": job, "after": runs["pageInfo"]["endCursor"]})["node"]["runs"]
    assert [(e["node"]["runId"], e["node"]["codeVersion"]) for e in rest["edges"]] == [
        (demo.run_id("stg_payments", 3), "v2"),
        (demo.run_id("stg_payments", 2), "v1"),
    ]


def test_dataset_version_with_schema_run_and_results(shop: LineageService) -> None:
    data = gql(
        shop,
        """{ entity(kind: DATASET_VERSION, namespace: "snowflake://acme",
                   name: "analytics.staging.stg_orders", version: "day4") {
            ... on DatasetVersion { version createdAt rowCount schema { path type }
              dataset { id } run { runId } readBy { name }
              results { passed check { check } } } } }""",
    )["entity"]
    assert data["version"] == "day4"
    assert data["createdAt"] == "2026-10-04T02:20:00+00:00"
    assert data["rowCount"] == 10600
    assert [f["path"] for f in data["schema"]] == [
        "order_id",
        "customer_id",
        "order_date",
        "status",
    ]
    assert data["dataset"] == {"id": STG_ORDERS}
    assert data["run"] == {"runId": demo.run_id("stg_orders", 4)}
    assert data["readBy"] == [{"name": "customer_ltv"}, {"name": "customer_orders"}]
    assert data["results"] == [
        {"passed": False, "check": {"check": "not_null(customer_id)"}},
        {"passed": True, "check": {"check": "unique(order_id)"}},
    ]


def test_feature_model_model_version_and_deployment(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($feature: ID!, $model: ID!, $v3: ID!, $v2: ID!, $prod: ID!) {
          feature: node(id: $feature) { ... on Feature {
            description dtype computedFrom { id } usedBy { id } } }
          model: node(id: $model) { ... on Model { framework
            versions { totalCount edges { node { version stage createdAt
                                                 metrics { name value } } } } } }
          v3: node(id: $v3) { ... on ModelVersion {
            model { name } trainingRun { runId job { name } }
            trainedOn { id }
            deployments { deploymentId since current } } }
          v2: node(id: $v2) { ... on ModelVersion {
            deployments { deploymentId }
            onDay4: deployments(at: "2026-10-04T00:00:00Z") { deploymentId current until } } }
          prod: node(id: $prod) { ... on Deployment { environment endpoint
            servedVersions { modelVersionId since until current traffic
                             intervals { from until } modelVersion { version } }
            onDay2: servedVersions(at: "2026-10-02T00:00:00Z") { modelVersionId until }
            servingHistory { modelVersionId since until current } } }
        }""",
        {
            "feature": demo.feature_id("order_count_90d"),
            "model": make_id(Kind.MODEL, demo.MLFLOW, "churn_classifier"),
            "v3": CHURN_V(3),
            "v2": CHURN_V(2),
            "prod": PROD,
        },
    )
    assert data["feature"] == {
        "description": "orders placed in the last 90 days",
        "dtype": "number",
        "computedFrom": [
            {"id": "field|snowflake://acme|analytics.features.customer_features|order_count_90d"}
        ],
        "usedBy": [
            {"id": "model_version|mlflow://registry|churn_classifier|1"},
            {"id": "model_version|mlflow://registry|churn_classifier|2"},
            {"id": "model_version|mlflow://registry|churn_classifier|3"},
            {"id": "model_version|mlflow://registry|ltv_regressor|1"},
            {"id": "model_version|mlflow://registry|ltv_regressor|2"},
        ],
    }
    assert data["model"] == {
        "framework": "xgboost",
        "versions": {
            "totalCount": 3,
            "edges": [
                {
                    "node": {
                        "version": "3",
                        "stage": "Production",
                        "createdAt": "2026-10-05T07:00:00+00:00",
                        "metrics": [{"name": "auc", "value": 0.71}],
                    }
                },
                {
                    "node": {
                        "version": "2",
                        "stage": "Production",
                        "createdAt": "2026-10-03T07:00:00+00:00",
                        "metrics": [{"name": "auc", "value": 0.84}],
                    }
                },
                {
                    "node": {
                        "version": "1",
                        "stage": "Archived",
                        "createdAt": "2026-10-01T07:00:00+00:00",
                        "metrics": [{"name": "auc", "value": 0.81}],
                    }
                },
            ],
        },
    }
    assert data["v3"] == {
        "model": {"name": "churn_classifier"},
        "trainingRun": {
            "runId": demo.run_id("train_churn_classifier", 5),
            "job": {"name": "train_churn_classifier"},
        },
        "trainedOn": [
            {"id": "feature|feast://shop|customer_features:days_since_last_order"},
            {"id": "feature|feast://shop|customer_features:order_count_90d"},
            {"id": "feature|feast://shop|customer_features:preferred_payment_method"},
        ],
        "deployments": [
            {"deploymentId": PROD, "since": "2026-10-05T12:00:00+00:00", "current": True},
            {"deploymentId": STAGING, "since": "2026-10-05T07:00:00+00:00", "current": True},
        ],
    }
    assert data["v2"] == {
        "deployments": [],
        "onDay4": [
            {"deploymentId": PROD, "current": False, "until": "2026-10-05T12:00:00+00:00"},
            {"deploymentId": STAGING, "current": False, "until": "2026-10-05T07:00:00+00:00"},
        ],
    }
    assert data["prod"] == {
        "environment": "production",
        "endpoint": "https://churn-production.ml.acme.example/predict",
        "servedVersions": [
            {
                "modelVersionId": CHURN_V(3),
                "since": "2026-10-05T12:00:00+00:00",
                "until": None,
                "current": True,
                "traffic": 100.0,
                "intervals": [{"from": "2026-10-05T12:00:00+00:00", "until": None}],
                "modelVersion": {"version": "3"},
            }
        ],
        "onDay2": [{"modelVersionId": CHURN_V(1), "until": "2026-10-03T12:00:00+00:00"}],
        # every rollout, the live one first, then the latest began first
        "servingHistory": [
            {
                "modelVersionId": CHURN_V(3),
                "since": "2026-10-05T12:00:00+00:00",
                "until": None,
                "current": True,
            },
            {
                "modelVersionId": CHURN_V(2),
                "since": "2026-10-03T12:00:00+00:00",
                "until": "2026-10-05T12:00:00+00:00",
                "current": False,
            },
            {
                "modelVersionId": CHURN_V(1),
                "since": "2026-10-01T12:00:00+00:00",
                "until": "2026-10-03T12:00:00+00:00",
                "current": False,
            },
        ],
    }


def test_check_with_results_and_result_with_its_version(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($check: ID!) {
          check: node(id: $check) { ... on Check { check target { id }
            results(first: 3) { totalCount edges { node { label passed observed } } } } }
          result: entity(kind: RESULT, namespace: "snowflake://acme",
                         name: "analytics.staging.stg_orders",
                         check: "not_null(customer_id)", result: "day3") {
            ... on CheckResult { passed observed expected system observedAt
              check { id } datasetVersion { version } } }
        }""",
        {"check": NOT_NULL},
    )
    assert data["check"] == {
        "check": "not_null(customer_id)",
        "target": {"id": "field|snowflake://acme|analytics.staging.stg_orders|customer_id"},
        "results": {
            "totalCount": 5,
            "edges": [
                {
                    "node": {
                        "label": "not_null(customer_id) @ day5",
                        "passed": False,
                        "observed": "412 null values",
                    }
                },
                {
                    "node": {
                        "label": "not_null(customer_id) @ day4",
                        "passed": False,
                        "observed": "412 null values",
                    }
                },
                {
                    "node": {
                        "label": "not_null(customer_id) @ day3",
                        "passed": True,
                        "observed": "0 null values",
                    }
                },
            ],
        },
    }
    assert data["result"] == {
        "passed": True,
        "observed": "0 null values",
        "expected": "0 null values",
        "system": "dbt",
        "observedAt": "2026-10-03T05:00:00+00:00",
        "check": {"id": NOT_NULL},
        "datasetVersion": {"version": "day3"},
    }


# --- search and stats -------------------------------------------------------------------------


def test_search_with_filters_and_cursor_pagination(shop: LineageService) -> None:
    query = """query($after: String) {
      raw: search(namespace: "postgres://prod-db:5432", kinds: [DATASET], first: 2,
                  after: $after) {
        pageInfo { hasNextPage endCursor } edges { cursor node { name } } }
      pii: search(tag: "pii") { edges { node { id } } }
      ml: search(owner: "team:ml-growth", kinds: [MODEL, DEPLOYMENT]) { edges { node { name } } }
      words: search(query: "lifetime value", kinds: [DATASET]) { edges { node { name } } }
    }"""
    data = gql(shop, query)
    assert [e["node"]["name"] for e in data["raw"]["edges"]] == [
        "shop.public.customers",
        "shop.public.orders",
    ]
    assert data["raw"]["pageInfo"]["hasNextPage"] is True
    assert data["raw"]["edges"][1]["cursor"] == data["raw"]["pageInfo"]["endCursor"]
    assert [e["node"]["id"] for e in data["pii"]["edges"]] == [
        "dataset|postgres://prod-db:5432|shop.public.customers",
        "dataset|snowflake://acme|analytics.staging.stg_customers",
    ]
    assert [e["node"]["name"] for e in data["ml"]["edges"]] == [
        "churn-production",
        "churn-staging",
        "ltv-production",
        "ltv-staging",
        "churn_classifier",
        "ltv_regressor",
    ]
    # Ranking is the store's (bm25 or Lucene); the set of matches is the same on both.
    assert sorted(e["node"]["name"] for e in data["words"]["edges"]) == [
        "analytics.features.customer_features",  # through its lifetime_value column
        "analytics.marts.customer_ltv",  # "Lifetime value per customer"
    ]
    rest = gql(shop, query, {"after": data["raw"]["pageInfo"]["endCursor"]})["raw"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["shop.public.payments"]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_searching_an_entitys_whole_id_finds_it(shop: LineageService) -> None:
    # Ids are shown everywhere; pasted into search they found nothing ("dataset" and the
    # separators are no words of the index).
    query = """query($q: String!, $kinds: [EntityKind!], $tag: String) {
      search(query: $q, kinds: $kinds, tag: $tag) {
        totalCount pageInfo { hasNextPage } edges { node { id } } } }"""
    customers = "dataset|postgres://prod-db:5432|shop.public.customers"
    found = gql(shop, query, {"q": f"  {customers} "})["search"]
    assert found["edges"] == [{"node": {"id": customers}}]
    assert (found["totalCount"], found["pageInfo"]["hasNextPage"]) == (1, False)
    assert gql(shop, query, {"q": customers, "tag": "pii"})["search"]["totalCount"] == 1
    # filters still apply, and an id of nothing is searched as words
    assert gql(shop, query, {"q": customers, "kinds": ["JOB"]})["search"]["edges"] == []
    assert gql(shop, query, {"q": customers, "tag": "finance"})["search"]["edges"] == []
    missing = gql(shop, query, {"q": "dataset|postgres://prod-db:5432|nothing"})["search"]
    assert missing["edges"] == []


def test_search_rejects_bad_page_sizes_and_cursors(shop: LineageService) -> None:
    _, errors = run_graphql(shop, "{ search(first: 5000) { edges { cursor } } }")
    assert errors[0]["message"] == "first must be between 0 and 1000, got 5000"
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    _, errors = run_graphql(shop, '{ search(after: "!!") { edges { cursor } } }')
    assert errors[0]["message"] == "invalid cursor: '!!'"
    # Offsets near 2**63 were internal errors (SQLite and Neo4j overflowed), differently
    # on each store.
    for offset in (2**63, 2**63 - 1, 2**53 + 1):
        cursor = base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()
        for field in ("search", "atRisk"):
            _, errors = run_graphql(
                shop, f'{{ {field}(after: "{cursor}") {{ edges {{ cursor }} }} }}'
            )
            assert errors[0]["message"] == f"invalid cursor: {cursor!r}", (field, offset)
            assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    last = base64.urlsafe_b64encode(f"o:{2**53}".encode()).decode()
    page = gql(shop, f'{{ search(after: "{last}") {{ edges {{ cursor }} }} }}')["search"]
    assert page["edges"] == []


def test_a_page_of_none_counts_and_leaves_a_cursor_to_page_on(shop: LineageService) -> None:
    # `first: 0` answered hasNextPage true with endCursor null: nothing to continue after.
    job = make_id(Kind.JOB, demo.DBT, "stg_payments")
    fields = {
        "search": 'search(query: "orders", first: $first, after: $after)',
        "atRisk": "atRisk(first: $first, after: $after)",
        "lineage": f'lineage(id: "{STG_ORDERS}", first: $first, after: $after)',
        "runs": f'node(id: "{job}") {{ ... on Job {{ runs(first: $first, after: $after)',
    }
    for name, field in fields.items():
        close = " } }" if name == "runs" else ""
        items = "nodes { node { id } }" if name == "lineage" else "nodes { id }"
        query = (
            f"query($first: Int, $after: String) {{ {field} {{ {items} "
            f"pageInfo {{ hasNextPage endCursor }} totalCount }}{close} }}"
        )

        def page(first: int, after: str | None, name: str = name, query: str = query) -> dict:
            data = gql(shop, query, {"first": first, "after": after})
            return data["node"]["runs"] if name == "runs" else data[name]

        counted = page(0, None)
        whole = page(1000, None)["nodes"]
        assert counted["nodes"] == [] and len(whole) >= 3, name
        assert counted["totalCount"] == len(whole), name
        assert counted["pageInfo"]["hasNextPage"] is True, name
        assert counted["pageInfo"]["endCursor"] is not None, name
        # Paging on from a page of none starts where it stood, in the middle too.
        assert page(2, counted["pageInfo"]["endCursor"])["nodes"] == whole[:2], name
        two = page(2, None)
        held = page(0, two["pageInfo"]["endCursor"])
        assert held["pageInfo"]["hasNextPage"] is True, name
        assert page(1000, held["pageInfo"]["endCursor"])["nodes"] == whole[2:], name
        past = page(0, page(1000, None)["pageInfo"]["endCursor"])["pageInfo"]
        assert past["hasNextPage"] is False and past["endCursor"] is not None, name


def test_search_and_at_risk_count_every_match(shop: LineageService) -> None:
    # Both answered totalCount null: `first: 0` told whether anything matched, not how much.
    # (each list takes its own cursors)
    query = """query($q: String!, $kinds: [EntityKind!], $first: Int, $search: String,
                     $atRisk: String) {
      search(query: $q, kinds: $kinds, first: $first, after: $search) {
        totalCount pageInfo { endCursor } nodes { id } }
      atRisk(kinds: $kinds, first: $first, after: $atRisk) {
        ...counted pageInfo { endCursor } nodes { id } } }
    fragment counted on HealthConnection { totalCount }"""
    for q, kinds in [("orders", None), ("", ["DATASET"]), ("", None), ("", ["DEPLOYMENT"])]:
        variables = {"q": q, "kinds": kinds}
        whole = gql(shop, query, {**variables, "first": 1000})
        for name in ("search", "atRisk"):
            total = len(whole[name]["nodes"])
            assert whole[name]["totalCount"] == total, (name, q, kinds)
            cursor = None
            for first in (0, 2, 1000, 3):  # the last one past the end
                page = gql(shop, query, {**variables, "first": first, name: cursor})[name]
                assert page["totalCount"] == total, (name, q, kinds, first)
                cursor = page["pageInfo"]["endCursor"]
    assert gql(shop, query, {"q": "orders", "first": 0})["search"]["totalCount"] >= 5
    assert gql(shop, query, {"q": "", "first": 0})["atRisk"]["totalCount"] >= 5
    assert gql(shop, query, {"q": "zzz_nothing", "first": 0})["search"]["totalCount"] == 0


def test_search_counts_only_for_a_query_that_reads_the_count(
    shop: LineageService, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []
    search = shop.store.search

    def spy(*args: object, count: bool = False, **kwargs: object) -> object:
        asked.append(count)
        return search(*args, count=count, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shop.store, "search", spy)
    gql(shop, '{ search(query: "stg") { nodes { id } } }')
    # the count of a connection inside the items is not the search's
    gql(shop, '{ search(query: "stg") { nodes { ... on Job { runs { totalCount } } } } }')
    gql(shop, '{ search(query: "stg") { ... on NodeConnection { totalCount } } }')
    # left out by a directive, with a literal or a variable, on the field or a fragment
    skipped = [
        '{ search(query: "stg") { totalCount @skip(if: true) nodes { id } } }',
        '{ search(query: "stg") { ... on NodeConnection @include(if: false) { totalCount } } }',
        'query($no: Boolean!) { search(query: "stg") { totalCount @include(if: $no) } }',
    ]
    for query in skipped:
        data = gql(shop, query, {"no": False} if "$no" in query else None)
        assert "totalCount" not in data["search"]
    data = gql(shop, '{ search(query: "stg") { totalCount @skip(if: false) } }')
    assert data["search"]["totalCount"] >= 1
    assert asked == [False, False, True, False, False, False, True]


def test_stats_and_kinds(shop: LineageService) -> None:
    data = gql(shop, "{ stats { nodes { key count } } kinds }")
    assert {c["key"]: c["count"] for c in data["stats"]["nodes"]} == {
        "CHECK": 5,
        "DATASET": 9,
        "DATASET_VERSION": 45,
        "DEPLOYMENT": 4,
        "FEATURE": 4,
        "FIELD": 37,
        "JOB": 8,
        "MODEL": 2,
        "MODEL_VERSION": 5,
        "RESULT": 25,
        "RUN": 35,
    }
    assert data["kinds"][0] == "DATASET" and len(data["kinds"]) == 11


# --- lineage and impact -----------------------------------------------------------------------


def test_lineage_downstream_with_depth_bound_and_edge_provenance(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { lineage(id: $id, depth: 2) {
            root { id } direction columnLevel truncated truncation totalCount cycles
            nodes { node { id } depth direction partial }
            edges { from to kind via source firstSeen lastSeen current attrs
                    stored { kind source } }
        } }""",
        {"id": STG_ORDERS},
    )["lineage"]
    assert data["root"] == {"id": STG_ORDERS}
    assert (data["direction"], data["columnLevel"]) == ("DOWNSTREAM", False)
    assert (data["truncated"], data["truncation"]) == (True, "depth")
    assert data["totalCount"] == 4
    assert data["cycles"] == []
    assert [(n["node"]["id"], n["depth"], n["direction"]) for n in data["nodes"]] == [
        ("job|dbt://acme-analytics|customer_ltv", 1, "DOWNSTREAM"),
        ("job|dbt://acme-analytics|customer_orders", 1, "DOWNSTREAM"),
        ("dataset|snowflake://acme|analytics.marts.customer_ltv", 2, "DOWNSTREAM"),
        ("dataset|snowflake://acme|analytics.marts.customer_orders", 2, "DOWNSTREAM"),
    ]
    assert data["edges"][0] == {
        "from": STG_ORDERS,
        "to": "job|dbt://acme-analytics|customer_ltv",
        "kind": "READS",
        "via": [],
        "source": "DEMO",
        "firstSeen": "2026-10-01T03:00:00+00:00",
        "lastSeen": "2026-10-05T03:00:00+00:00",
        "current": True,
        "attrs": {},
        "stored": [{"kind": "READS", "source": "DEMO"}],
    }
    assert [
        (e["from"].split("|")[-1], e["kind"], e["to"].split("|")[-1]) for e in data["edges"]
    ] == [
        ("analytics.staging.stg_orders", "READS", "customer_ltv"),
        ("analytics.staging.stg_orders", "READS", "customer_orders"),
        ("customer_ltv", "WRITES", "analytics.marts.customer_ltv"),
        ("customer_orders", "WRITES", "analytics.marts.customer_orders"),
    ]


def test_lineage_upstream_of_a_deployment_filtered_to_datasets(shop: LineageService) -> None:
    data = gql(
        shop,
        """query($id: ID!) { lineage(id: $id, direction: UPSTREAM, kinds: [DATASET]) {
            truncated nodes { node { name } depth }
            edges { from to kind via } } }""",
        {"id": PROD},
    )["lineage"]
    assert data["truncated"] is False
    names = [(n["node"]["name"], n["depth"]) for n in data["nodes"]]
    # churn v3 (depth 1) <- features / training job (2) <- customer_features (3) <- build job (4)
    # <- customer_orders, customer_ltv, stg_payments (5) <- jobs (6) <- staging (7) <- raw (9).
    assert names == [
        ("analytics.features.customer_features", 3),
        ("analytics.marts.customer_ltv", 5),
        ("analytics.marts.customer_orders", 5),
        ("analytics.staging.stg_payments", 5),
        ("shop.public.payments", 7),  # by id: postgres:// sorts before snowflake://
        ("analytics.staging.stg_customers", 7),
        ("analytics.staging.stg_orders", 7),
        ("shop.public.customers", 9),
        ("shop.public.orders", 9),
    ]
    collapsed = [e for e in data["edges"] if e["to"] == demo.CUSTOMER_FEATURES.id]
    assert collapsed == [
        {
            "from": demo.CUSTOMER_LTV.id,
            "to": demo.CUSTOMER_FEATURES.id,
            "kind": None,
            "via": ["job|airflow://ml-platform|build_customer_features"],
        },
        {
            "from": demo.CUSTOMER_ORDERS.id,
            "to": demo.CUSTOMER_FEATURES.id,
            "kind": None,
            "via": ["job|airflow://ml-platform|build_customer_features"],
        },
        {
            "from": demo.STG_PAYMENTS.id,
            "to": demo.CUSTOMER_FEATURES.id,
            "kind": None,
            "via": ["job|airflow://ml-platform|build_customer_features"],
        },
    ]


def test_lineage_as_of_follows_the_column_that_existed_then(shop: LineageService) -> None:
    query = """query($id: ID!, $at: DateTime) {
        lineage(id: $id, direction: UPSTREAM, asOf: $at, kinds: [FIELD]) {
          columnLevel asOf nodes { node { id } } edges { current } } }"""
    field = demo.STG_PAYMENTS.field_id("amount")
    now = gql(shop, query, {"id": field})["lineage"]
    then = gql(shop, query, {"id": field, "at": "2026-10-02T12:00:00Z"})["lineage"]
    assert now["columnLevel"] is True and now["asOf"] is None
    assert [n["node"]["id"] for n in now["nodes"]] == [
        RAW_PAYMENTS.replace("dataset", "field", 1) + "|amount_cents"
    ]
    assert then["asOf"] == "2026-10-02T12:00:00+00:00"
    assert [n["node"]["id"] for n in then["nodes"]] == [
        "field|postgres://prod-db:5432|shop.public.payments|amount"
    ]
    assert then["edges"] == [{"current": False}]
    # a time without an offset is UTC, and answered as such (it came back without one)
    naive = gql(shop, query, {"id": field, "at": "2026-10-02T12:00:00"})["lineage"]
    assert naive == then


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+05:00",  # overflowed converting to UTC: INTERNAL_SERVER_ERROR
        "9999-12-31T23:59:59-05:00",
        "0999-01-01T00:00:00Z",  # was stored as "999-…", sorting after every later time
        "yesterday",
    ],
)
def test_times_a_store_cannot_hold_are_refused(shop: LineageService, at: str) -> None:
    query = "query($id: ID!, $at: DateTime) { lineage(id: $id, asOf: $at) { totalCount } }"
    _, errors = run_graphql(shop, query, {"id": STG_ORDERS, "at": at})
    assert errors and errors[0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
    assert f"DateTime cannot represent {at!r}" in errors[0]["message"]
    literal = 'query($id: ID!) { rootCause(id: $id, since: "' + at + '") { subjectId } }'
    _, errors = run_graphql(shop, literal, {"id": demo.CHURN.version_id(3)})
    assert errors and errors[0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
    assert "DateTime cannot represent" in errors[0]["message"]


def test_lineage_pages_and_errors(shop: LineageService) -> None:
    query = """query($id: ID!, $after: String) { lineage(id: $id, first: 3, after: $after) {
        nodes { node { id } } pageInfo { hasNextPage endCursor } totalCount } }"""
    pages: list[str] = []
    after = None
    while True:
        page = gql(shop, query, {"id": STG_ORDERS, "after": after})["lineage"]
        pages.extend(n["node"]["id"] for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(pages) == page["totalCount"] == len(set(pages))
    assert pages[-4:] == [
        "deployment|k8s://ml-serving|churn-production",
        "deployment|k8s://ml-serving|churn-staging",
        "deployment|k8s://ml-serving|ltv-production",
        "deployment|k8s://ml-serving|ltv-staging",
    ]
    _, errors = run_graphql(shop, '{ lineage(id: "dataset|s3://x|missing") { totalCount } }')
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert errors[0]["message"] == "no entity with id 'dataset|s3://x|missing'"
    _, errors = run_graphql(
        shop, "query($id: ID!) { lineage(id: $id, depth: -1) { totalCount } }", {"id": STG_ORDERS}
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_impact_of_renaming_the_payment_amount(shop: LineageService) -> None:
    data = gql(
        shop,
        """{ impact(change: {
              dataset: {kind: DATASET, namespace: "snowflake://acme",
                        name: "analytics.staging.stg_payments"},
              changes: [{action: RENAME_FIELD, path: "amount", newName: "amount_usd"}]}) {
            datasetId breaking truncated
            changes { index action description compatibility fieldId oldType precision }
            affected { id kind direct hops precision breaking }
            owners { owner breaking owns }
            markdown
        } }""",
    )["impact"]
    assert data["datasetId"] == demo.STG_PAYMENTS.id
    assert data["breaking"] is True and data["truncated"] is False
    assert data["changes"] == [
        {
            "index": 1,
            "action": "RENAME_FIELD",
            "description": "rename amount -> amount_usd",
            "compatibility": "BREAKING",
            "fieldId": demo.STG_PAYMENTS.field_id("amount"),
            "oldType": "number(10,2)",
            "precision": "COLUMN",
        }
    ]
    affected = {(a["id"], a["hops"], a["direct"]) for a in data["affected"]}
    assert (demo.CUSTOMER_LTV.field_id("lifetime_value"), 1, True) in affected
    assert (demo.CUSTOMER_FEATURES.field_id("lifetime_value"), 2, False) in affected
    assert (demo.feature_id("lifetime_value"), 3, False) in affected
    assert (LTV_V(1), 4, False) in affected and (LTV_V(2), 4, False) in affected
    assert (demo.deployment_id("ltv-production"), 5, False) in affected
    # churn is not trained on lifetime_value: nothing of it is affected.
    assert not any("churn" in a["id"] for a in data["affected"])
    assert {o["owner"] for o in data["owners"]} >= {"team:ml-growth", "team:analytics-eng"}
    assert data["markdown"].startswith(
        "## Schema change impact: `dataset|snowflake://acme|analytics.staging.stg_payments`"
    )


def test_impact_input_errors_are_clear(shop: LineageService) -> None:
    _, errors = run_graphql(
        shop,
        "query($id: ID!) { impact(change: {dataset: {id: $id}}) { breaking } }",
        {"id": STG_ORDERS},
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["message"] == (
        "invalid schema change: give either changes or proposedSchema, not both or neither"
    )
    # named as the API names them, without pydantic's "Value error," or Python names
    _, errors = run_graphql(
        shop,
        """query($id: ID!) { impact(change: {dataset: {id: $id},
             changes: [{action: DROP_FIELD, path: "status"},
                       {action: RENAME_FIELD, path: "status"}]}) { breaking } }""",
        {"id": STG_ORDERS},
    )
    assert errors[0]["message"] == "invalid schema change: changes[1]: RENAME_FIELD needs newName"
    _, errors = run_graphql(
        shop,
        """{ impact(change: {dataset: {id: "dataset|s3://x|nope"},
             changes: [{action: DROP_DATASET}]}) { breaking } }""",
    )
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
