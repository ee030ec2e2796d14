"""The demo scenario: a small online shop's data and ML platform over five days.

Raw Postgres tables are staged and modelled in Snowflake, turned into a feature
table and Feast features, and used to train two models (``churn_classifier``
and ``ltv_regressor``) that serve from staging and production deployments.

Two things go wrong, so every question has an interesting answer:

- On day 3 the ``payments`` table renames ``amount`` to ``amount_cents`` and
  changes its type (a breaking schema change); ``stg_payments`` gets new code.
- From day 4 the ``not_null(customer_id)`` check on ``stg_orders`` fails (a bad
  partition). ``churn_classifier`` v3, trained on day 5, is at risk and so is
  ``churn-production``, which serves it; v2, trained on day 3, is not.

Every id, time and run id is fixed, so tests can write expected answers out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lineagegraph.ids import Kind, make_id
from lineagegraph.model import (
    ChangeSet,
    Check,
    Dataset,
    DatasetVersion,
    Deployment,
    EdgeEnding,
    EdgeKind,
    Feature,
    Field,
    Job,
    Model,
    ModelVersion,
    Origin,
    Result,
    Run,
    RunState,
    format_time,
)

PG = "postgres://prod-db:5432"
SF = "snowflake://acme"
DBT = "dbt://acme-analytics"
AIRFLOW = "airflow://ml-platform"
FEAST = "feast://shop"
MLFLOW = "mlflow://registry"
SERVING = "k8s://ml-serving"

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 5


def day(n: int, hour: int = 0, minute: int = 0) -> datetime:
    """Day ``n`` (1-based) of the scenario at the given time, UTC."""
    return DAY0 + timedelta(days=n - 1, hours=hour, minutes=minute)


def run_id(job: str, n: int) -> str:
    """The fixed run id of ``job``'s run on day ``n``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lineagegraph-demo/{job}/{n}"))


@dataclass(frozen=True)
class Table:
    """A demo dataset: namespace, name, owners and columns (path, type, nullable)."""

    namespace: str
    name: str
    description: str
    owners: tuple[str, ...]
    columns: tuple[tuple[str, str, bool], ...]
    tags: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The dataset's id."""
        return make_id(Kind.DATASET, self.namespace, self.name)

    def field_id(self, path: str) -> str:
        """The id of one of its columns."""
        return make_id(Kind.FIELD, self.namespace, self.name, path)


PLATFORM = ("team:data-platform", "dana@acme.example")
ANALYTICS = ("team:analytics-eng", "ari@acme.example")
ML = ("team:ml-growth", "maya@acme.example")

RAW_CUSTOMERS = Table(
    PG,
    "shop.public.customers",
    "Customers as the shop application stores them",
    PLATFORM,
    (
        ("id", "bigint", False),
        ("email", "varchar", False),
        ("first_name", "varchar", True),
        ("last_name", "varchar", True),
        ("created_at", "timestamp", False),
    ),
    ("pii", "source"),
)
RAW_ORDERS = Table(
    PG,
    "shop.public.orders",
    "One row per order placed in the shop",
    PLATFORM,
    (
        ("id", "bigint", False),
        ("user_id", "bigint", False),
        ("order_date", "date", False),
        ("status", "varchar", False),
    ),
    ("source",),
)
# Day 1-2 schema of payments; on day 3 `amount` (numeric dollars) became `amount_cents`.
PAYMENT_COLUMNS_BEFORE = (
    ("id", "bigint", False),
    ("order_id", "bigint", False),
    ("payment_method", "varchar", False),
    ("amount", "numeric(10,2)", False),
)
PAYMENT_COLUMNS_AFTER = (
    ("id", "bigint", False),
    ("order_id", "bigint", False),
    ("payment_method", "varchar", False),
    ("amount_cents", "integer", False),
)
RAW_PAYMENTS = Table(
    PG,
    "shop.public.payments",
    "Payments captured by the payment service",
    PLATFORM,
    PAYMENT_COLUMNS_AFTER,
    ("source",),
)
STG_CUSTOMERS = Table(
    SF,
    "analytics.staging.stg_customers",
    "Cleaned customers",
    ANALYTICS,
    (
        ("customer_id", "number", False),
        ("email", "varchar", False),
        ("first_name", "varchar", True),
        ("last_name", "varchar", True),
    ),
    ("staging", "pii"),
)
STG_ORDERS = Table(
    SF,
    "analytics.staging.stg_orders",
    "Cleaned orders",
    ANALYTICS,
    (
        ("order_id", "number", False),
        ("customer_id", "number", False),
        ("order_date", "date", False),
        ("status", "varchar", False),
    ),
    ("staging",),
)
STG_PAYMENTS = Table(
    SF,
    "analytics.staging.stg_payments",
    "Payments in dollars",
    ANALYTICS,
    (
        ("payment_id", "number", False),
        ("order_id", "number", False),
        ("payment_method", "varchar", False),
        ("amount", "number(10,2)", False),
    ),
    ("staging",),
)
CUSTOMER_ORDERS = Table(
    SF,
    "analytics.marts.customer_orders",
    "Order history per customer",
    ANALYTICS,
    (
        ("customer_id", "number", False),
        ("first_order_date", "date", True),
        ("most_recent_order_date", "date", True),
        ("number_of_orders", "number", False),
    ),
    ("mart",),
)
CUSTOMER_LTV = Table(
    SF,
    "analytics.marts.customer_ltv",
    "Lifetime value per customer",
    ANALYTICS,
    (("customer_id", "number", False), ("lifetime_value", "number(12,2)", False)),
    ("mart", "finance"),
)
CUSTOMER_FEATURES = Table(
    SF,
    "analytics.features.customer_features",
    "Feature table keyed by customer",
    ML,
    (
        ("customer_id", "number", False),
        ("days_since_last_order", "number", True),
        ("order_count_90d", "number", False),
        ("lifetime_value", "number(12,2)", False),
        ("preferred_payment_method", "varchar", True),
    ),
    ("features",),
)

TABLES = (
    RAW_CUSTOMERS,
    RAW_ORDERS,
    RAW_PAYMENTS,
    STG_CUSTOMERS,
    STG_ORDERS,
    STG_PAYMENTS,
    CUSTOMER_ORDERS,
    CUSTOMER_LTV,
    CUSTOMER_FEATURES,
)
RAW_TABLES = (RAW_CUSTOMERS, RAW_ORDERS, RAW_PAYMENTS)


@dataclass(frozen=True)
class Transform:
    """A demo job: what it reads and writes, column by column, and when it runs."""

    namespace: str
    name: str
    job_type: str
    owners: tuple[str, ...]
    inputs: tuple[Table, ...]
    output: Table
    columns: tuple[
        tuple[Table, str, str, str], ...
    ]  # (input table, input col, output col, subtype)
    hour: int
    sql: str = ""

    @property
    def id(self) -> str:
        """The job's id."""
        return make_id(Kind.JOB, self.namespace, self.name)


TRANSFORMS = (
    Transform(
        DBT,
        "stg_customers",
        "DBT_MODEL",
        ANALYTICS,
        (RAW_CUSTOMERS,),
        STG_CUSTOMERS,
        (
            (RAW_CUSTOMERS, "id", "customer_id", "IDENTITY"),
            (RAW_CUSTOMERS, "email", "email", "TRANSFORMATION"),
            (RAW_CUSTOMERS, "first_name", "first_name", "IDENTITY"),
            (RAW_CUSTOMERS, "last_name", "last_name", "IDENTITY"),
        ),
        hour=2,
        sql="select id as customer_id, lower(email) as email, first_name, last_name "
        "from shop.public.customers",
    ),
    Transform(
        DBT,
        "stg_orders",
        "DBT_MODEL",
        ANALYTICS,
        (RAW_ORDERS,),
        STG_ORDERS,
        (
            (RAW_ORDERS, "id", "order_id", "IDENTITY"),
            (RAW_ORDERS, "user_id", "customer_id", "IDENTITY"),
            (RAW_ORDERS, "order_date", "order_date", "IDENTITY"),
            (RAW_ORDERS, "status", "status", "IDENTITY"),
        ),
        hour=2,
        sql="select id as order_id, user_id as customer_id, order_date, status "
        "from shop.public.orders",
    ),
    Transform(
        DBT,
        "stg_payments",
        "DBT_MODEL",
        ANALYTICS,
        (RAW_PAYMENTS,),
        STG_PAYMENTS,
        (
            (RAW_PAYMENTS, "id", "payment_id", "IDENTITY"),
            (RAW_PAYMENTS, "order_id", "order_id", "IDENTITY"),
            (RAW_PAYMENTS, "payment_method", "payment_method", "IDENTITY"),
            (RAW_PAYMENTS, "amount_cents", "amount", "TRANSFORMATION"),
        ),
        hour=2,
        sql="select id as payment_id, order_id, payment_method, amount_cents / 100.0 "
        "as amount from shop.public.payments",
    ),
    Transform(
        DBT,
        "customer_orders",
        "DBT_MODEL",
        ANALYTICS,
        (STG_CUSTOMERS, STG_ORDERS),
        CUSTOMER_ORDERS,
        (
            (STG_CUSTOMERS, "customer_id", "customer_id", "IDENTITY"),
            (STG_ORDERS, "order_date", "first_order_date", "AGGREGATION"),
            (STG_ORDERS, "order_date", "most_recent_order_date", "AGGREGATION"),
            (STG_ORDERS, "order_id", "number_of_orders", "AGGREGATION"),
        ),
        hour=3,
    ),
    Transform(
        DBT,
        "customer_ltv",
        "DBT_MODEL",
        ANALYTICS,
        (STG_ORDERS, STG_PAYMENTS),
        CUSTOMER_LTV,
        (
            (STG_ORDERS, "customer_id", "customer_id", "IDENTITY"),
            (STG_PAYMENTS, "amount", "lifetime_value", "AGGREGATION"),
        ),
        hour=3,
    ),
    Transform(
        AIRFLOW,
        "build_customer_features",
        "BATCH",
        ML,
        (CUSTOMER_ORDERS, CUSTOMER_LTV, STG_PAYMENTS),
        CUSTOMER_FEATURES,
        (
            (CUSTOMER_ORDERS, "customer_id", "customer_id", "IDENTITY"),
            (CUSTOMER_ORDERS, "most_recent_order_date", "days_since_last_order", "TRANSFORMATION"),
            (CUSTOMER_ORDERS, "number_of_orders", "order_count_90d", "AGGREGATION"),
            (CUSTOMER_LTV, "lifetime_value", "lifetime_value", "IDENTITY"),
            (STG_PAYMENTS, "payment_method", "preferred_payment_method", "AGGREGATION"),
        ),
        hour=4,
    ),
)

FEATURES = {
    "days_since_last_order": "number of days since the customer's latest order",
    "order_count_90d": "orders placed in the last 90 days",
    "lifetime_value": "total paid by the customer",
    "preferred_payment_method": "payment method the customer uses most",
}


def feature_id(column: str) -> str:
    """The id of the Feast feature computed from a feature-table column."""
    return make_id(Kind.FEATURE, FEAST, f"customer_features:{column}")


@dataclass(frozen=True)
class Training:
    """A model, the features it is trained on and the days it was trained."""

    model: str
    description: str
    features: tuple[str, ...]
    metric: str
    versions: dict[int, float] = field(default_factory=dict)  # day trained -> metric

    @property
    def job_id(self) -> str:
        """The id of the training job."""
        return make_id(Kind.JOB, AIRFLOW, f"train_{self.model}")

    def version_id(self, version: int) -> str:
        """The id of one version of the model."""
        return make_id(Kind.MODEL_VERSION, MLFLOW, self.model, str(version))


CHURN = Training(
    "churn_classifier",
    "Predicts customers who will not order again within 60 days",
    ("days_since_last_order", "order_count_90d", "preferred_payment_method"),
    "auc",
    {1: 0.81, 3: 0.84, 5: 0.71},
)
LTV = Training(
    "ltv_regressor",
    "Predicts 12-month customer lifetime value",
    ("lifetime_value", "order_count_90d"),
    "rmse",
    {2: 12.1, 4: 15.8},
)
TRAININGS = (CHURN, LTV)

# (deployment, environment, [(model, version, from, until)])
DEPLOYMENTS = (
    (
        "churn-staging",
        "staging",
        [
            (CHURN, 1, day(1, 7), day(3, 7)),
            (CHURN, 2, day(3, 7), day(5, 7)),
            (CHURN, 3, day(5, 7), None),
        ],
    ),
    (
        "churn-production",
        "production",
        [
            (CHURN, 1, day(1, 12), day(3, 12)),
            (CHURN, 2, day(3, 12), day(5, 12)),
            (CHURN, 3, day(5, 12), None),
        ],
    ),
    ("ltv-staging", "staging", [(LTV, 1, day(2, 7), day(4, 7)), (LTV, 2, day(4, 7), None)]),
    ("ltv-production", "production", [(LTV, 1, day(2, 12), None)]),
)

NOT_NULL_CUSTOMER = "not_null(customer_id)"
BAD_DAYS = (4, 5)  # the days the stg_orders partition had null customer ids


def deployment_id(name: str) -> str:
    """The id of a demo deployment."""
    return make_id(Kind.DEPLOYMENT, SERVING, name)


def _schema(table: Table, n: int) -> tuple[tuple[str, str, bool], ...]:
    if table is RAW_PAYMENTS and n < 3:
        return PAYMENT_COLUMNS_BEFORE
    return table.columns


def _catalog() -> ChangeSet:
    """Datasets, fields, jobs, features, models and deployments as designed on day 1."""
    cs = ChangeSet(origin=Origin.DEMO)
    at = day(1)
    for table in TABLES:
        platform = "postgres" if table.namespace == PG else "snowflake"
        cs.add(
            Dataset(
                namespace=table.namespace,
                name=table.name,
                description=table.description,
                platform=platform,
                owners=list(table.owners),
                tags=list(table.tags),
            )
        )
        for ordinal, (path, type_, nullable) in enumerate(_schema(table, 1), start=1):
            cs.add(
                Field(
                    namespace=table.namespace,
                    name=table.name,
                    path=path,
                    type=type_,
                    nullable=nullable,
                    ordinal=ordinal,
                )
            )
            cs.link(table.id, EdgeKind.HAS_FIELD, table.field_id(path), at)
    for transform in TRANSFORMS:
        cs.add(
            Job(
                namespace=transform.namespace,
                name=transform.name,
                job_type=transform.job_type,
                owners=list(transform.owners),
                sql=transform.sql or None,
                code_version="v1",
                code_location=f"git@github.com:acme/analytics.git#models/{transform.name}.sql",
                description=f"Builds {transform.output.name}",
            )
        )
    for column, description in FEATURES.items():
        cs.add(
            Feature(
                namespace=FEAST,
                name=f"customer_features:{column}",
                description=description,
                owners=list(ML),
                dtype=dict((c[0], c[1]) for c in CUSTOMER_FEATURES.columns)[column],
            )
        )
        cs.link(CUSTOMER_FEATURES.field_id(column), EdgeKind.COMPUTED_FROM, feature_id(column), at)
    for training in TRAININGS:
        cs.add(
            Model(
                namespace=MLFLOW,
                name=training.model,
                description=training.description,
                framework="xgboost",
                owners=list(ML),
            ),
            Job(
                namespace=AIRFLOW,
                name=f"train_{training.model}",
                job_type="TRAINING",
                owners=list(ML),
                code_version="v1",
                code_location=f"git@github.com:acme/ml.git#pipelines/train_{training.model}.py",
                description=f"Trains {training.model}",
            ),
        )
        cs.link(CUSTOMER_FEATURES.id, EdgeKind.READS, training.job_id, at)
    for name, environment, _ in DEPLOYMENTS:
        cs.add(
            Deployment(
                namespace=SERVING,
                name=name,
                environment=environment,
                owners=list(ML),
                endpoint=f"https://{name}.ml.acme.example/predict",
                description=f"{environment} endpoint",
            )
        )
    checks: tuple[tuple[Table, str, str, str | None], ...] = (
        (STG_ORDERS, NOT_NULL_CUSTOMER, "not_null", "customer_id"),
        (STG_ORDERS, "unique(order_id)", "unique", "order_id"),
        (STG_CUSTOMERS, "not_null(email)", "not_null", "email"),
        (
            CUSTOMER_LTV,
            "non_negative(lifetime_value)",
            "expect_column_values_to_be_between",
            "lifetime_value",
        ),
        (RAW_ORDERS, "row_count", "row_count", None),
    )
    for table, check, check_type, checked_column in checks:
        cs.add(
            Check(
                namespace=table.namespace,
                name=table.name,
                check=check,
                check_type=check_type,
                field=checked_column,
                severity="ERROR",
                source="dbt",
            )
        )
        target = table.field_id(checked_column) if checked_column else table.id
        cs.link(
            target, EdgeKind.HAS_CHECK, make_id(Kind.CHECK, table.namespace, table.name, check), at
        )
    return cs


def _version_id(table: Table, n: int) -> str:
    return make_id(Kind.DATASET_VERSION, table.namespace, table.name, f"day{n}")


def _dataset_version(
    cs: ChangeSet, table: Table, n: int, at: datetime, run: str | None, rows: int
) -> str:
    version = DatasetVersion(
        namespace=table.namespace,
        name=table.name,
        version=f"day{n}",
        created_at=at,
        run=run,
        schema_fields=[{"path": p, "type": t, "nullable": nl} for p, t, nl in _schema(table, n)],
        row_count=rows,
    )
    cs.add(version)
    cs.link(table.id, EdgeKind.HAS_VERSION, version.id, at)
    return version.id


def _day(n: int) -> ChangeSet:
    """Everything that happened on day ``n``: runs, versions, results, training, deploys."""
    cs = ChangeSet(origin=Origin.DEMO)
    latest: dict[str, str] = {}
    for table in RAW_TABLES:
        rows = 10_000 + 500 * n
        latest[table.id] = _dataset_version(cs, table, n, day(n, 1), None, rows)
    if n == 3:
        # The breaking change: payments.amount was renamed to amount_cents and retyped.
        cs.add(
            Field(
                namespace=PG,
                name=RAW_PAYMENTS.name,
                path="amount",
                type="numeric(10,2)",
                deleted=True,
            ),
            Field(
                namespace=PG,
                name=RAW_PAYMENTS.name,
                path="amount_cents",
                type="integer",
                nullable=False,
                ordinal=4,
            ),
        )
        cs.link(
            RAW_PAYMENTS.id, EdgeKind.HAS_FIELD, RAW_PAYMENTS.field_id("amount_cents"), day(3, 1)
        )
    for transform in TRANSFORMS:
        start = day(n, transform.hour)
        end = start + timedelta(minutes=20)
        rid = run_id(transform.name, n)
        code_version = "v2" if transform.name == "stg_payments" and n >= 3 else "v1"
        run = Run(
            namespace=transform.namespace,
            name=transform.name,
            run_id=rid,
            state=RunState.COMPLETE,
            started_at=start,
            ended_at=end,
            code_version=code_version,
        )
        cs.add(run)
        if code_version == "v2":
            cs.add(Job(namespace=transform.namespace, name=transform.name, code_version="v2"))
        cs.link(transform.id, EdgeKind.HAS_RUN, run.id, start)
        for table in transform.inputs:
            cs.link(table.id, EdgeKind.READS, transform.id, start)
            cs.link(latest[table.id], EdgeKind.READ_BY, run.id, start)
        cs.link(transform.id, EdgeKind.WRITES, transform.output.id, end)
        latest[transform.output.id] = _dataset_version(
            cs, transform.output, n, end, run.id, 9_000 + 400 * n
        )
        cs.link(run.id, EdgeKind.WROTE, latest[transform.output.id], end)
        for source, source_col, target_col, subtype in transform.columns:
            if source is RAW_PAYMENTS and source_col == "amount_cents" and n < 3:
                source_col = "amount"
            cs.link(
                source.field_id(source_col),
                EdgeKind.DERIVES,
                transform.output.field_id(target_col),
                end,
                {"job": transform.id, "transformation": "DIRECT", "subtype": subtype},
            )
    _results(cs, n, latest)
    for training in TRAININGS:
        metric = training.versions.get(n)
        if metric is None:
            continue
        version = list(training.versions).index(n) + 1
        start = day(n, 6)
        rid = run_id(f"train_{training.model}", n)
        run = Run(
            namespace=AIRFLOW,
            name=f"train_{training.model}",
            run_id=rid,
            state=RunState.COMPLETE,
            started_at=start,
            ended_at=start + timedelta(hours=1),
            code_version="v1",
        )
        mv = ModelVersion(
            namespace=MLFLOW,
            name=training.model,
            version=str(version),
            created_at=start + timedelta(hours=1),
            metrics={training.metric: metric},
            training_run=run.id,
            stage="Production" if version > 1 else "Archived",
        )
        cs.add(run, mv)
        cs.link(training.job_id, EdgeKind.HAS_RUN, run.id, start)
        cs.link(training.job_id, EdgeKind.WRITES, mv.id, start + timedelta(hours=1))
        cs.link(
            make_id(Kind.MODEL, MLFLOW, training.model),
            EdgeKind.HAS_VERSION,
            mv.id,
            start + timedelta(hours=1),
        )
        cs.link(latest[CUSTOMER_FEATURES.id], EdgeKind.READ_BY, run.id, start)
        cs.link(run.id, EdgeKind.WROTE, mv.id, start + timedelta(hours=1))
        for column in training.features:
            cs.link(feature_id(column), EdgeKind.TRAINED_ON, mv.id, start + timedelta(hours=1))
    return cs


def _results(cs: ChangeSet, n: int, latest: dict[str, str]) -> None:
    for table, check, failing_days, observed in (
        (STG_ORDERS, NOT_NULL_CUSTOMER, BAD_DAYS, "412 null values"),
        (STG_ORDERS, "unique(order_id)", (), "0 duplicates"),
        (STG_CUSTOMERS, "not_null(email)", (), "0 null values"),
        (CUSTOMER_LTV, "non_negative(lifetime_value)", (), "min 0.00"),
        (RAW_ORDERS, "row_count", (), str(10_000 + 500 * n)),
    ):
        passed = n not in failing_days
        result = Result(
            namespace=table.namespace,
            name=table.name,
            check=check,
            result=f"day{n}",
            passed=passed,
            observed_at=day(n, 5),
            observed=observed if not passed or check != NOT_NULL_CUSTOMER else "0 null values",
            expected="0 null values" if check.startswith("not_null") else None,
            dataset_version=latest[table.id],
            source="dbt",
        )
        cs.add(result)
        cs.link(result.check_id, EdgeKind.HAS_RESULT, result.id, day(n, 5))
        cs.link(result.id, EdgeKind.EVALUATED, latest[table.id], day(n, 5))


def _deployments() -> ChangeSet:
    cs = ChangeSet(origin=Origin.DEMO)
    for name, _, served in DEPLOYMENTS:
        for training, version, start, until in served:
            intervals = [{"from": start.isoformat(), "until": until.isoformat() if until else None}]
            cs.link(
                training.version_id(version),
                EdgeKind.SERVES,
                deployment_id(name),
                start,
                {"intervals": intervals, "traffic": 100},
            )
            if until is not None:
                cs.endings.append(
                    EdgeEnding(
                        source_id=training.version_id(version),
                        kind=EdgeKind.SERVES,
                        target_id=deployment_id(name),
                        at=format_time(until),
                    )
                )
    return cs


def _retired_payment_lineage() -> ChangeSet:
    """Day 3: the column edge from the old ``amount`` column stopped being reported."""
    cs = ChangeSet(origin=Origin.DEMO)
    cs.endings.append(
        EdgeEnding(
            source_id=RAW_PAYMENTS.field_id("amount"),
            kind=EdgeKind.DERIVES,
            target_id=STG_PAYMENTS.field_id("amount"),
            at=format_time(day(3, 2, 20)),
        )
    )
    cs.endings.append(
        EdgeEnding(
            source_id=RAW_PAYMENTS.id,
            kind=EdgeKind.HAS_FIELD,
            target_id=RAW_PAYMENTS.field_id("amount"),
            at=format_time(day(3, 1)),
        )
    )
    return cs


def scenario() -> list[ChangeSet]:
    """The demo as changesets in the order things happened."""
    changes = [_catalog()]
    for n in range(1, DAYS + 1):
        changes.append(_day(n))
        if n == 3:
            changes.append(_retired_payment_lineage())
    changes.append(_deployments())
    return changes
