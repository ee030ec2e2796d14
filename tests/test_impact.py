"""Impact of schema changes (ARCHITECTURE §4.2) on both stores, with answers written by hand."""

from __future__ import annotations

import gc
import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lineagegraph import demo
from lineagegraph.algorithms.impact import (
    ChangeAction,
    Compatibility,
    FieldChange,
    ImpactPrecision,
    ImpactReport,
    ProposedField,
    SchemaChange,
    impact,
)
from lineagegraph.algorithms.types_compat import compare_nullability, compare_types, dialect_of
from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import (
    ChangeSet,
    Dataset,
    Deployment,
    EdgeEnding,
    EdgeKind,
    Feature,
    Field,
    Job,
    Model,
    ModelVersion,
    Origin,
    format_time,
)
from lineagegraph.service import LineageService
from lineagegraph.store import Store
from tests.test_lineage import collector_states

NS = "postgres://crm:5432"
ETL = "airflow://etl"
FS = "feast://fs"
REG = "mlflow://reg"
SERVING = "k8s://serving"
T0 = datetime(2026, 4, 1, tzinfo=UTC)


def ds(name: str) -> str:
    return make_id(Kind.DATASET, NS, name)


def fld(table: str, path: str) -> str:
    return make_id(Kind.FIELD, NS, table, path)


def job(name: str) -> str:
    return make_id(Kind.JOB, ETL, name)


def mv(model: str) -> str:
    return make_id(Kind.MODEL_VERSION, REG, model, "1")


def model(name: str) -> str:
    return make_id(Kind.MODEL, REG, name)


def dep(name: str) -> str:
    return make_id(Kind.DEPLOYMENT, SERVING, name)


CUSTOMERS, CF, EXPORT = ds("crm.customers"), ds("crm.customer_features"), ds("crm.export")
FEATURE_A = make_id(Kind.FEATURE, FS, "cust:total_spend")
FEATURE_B = make_id(Kind.FEATURE, FS, "cust:segment")
SPEND = fld("crm.customers", "spend")
TOTAL_SPEND = fld("crm.customer_features", "total_spend")


def crm() -> ChangeSet:
    """customers -build_features-> customer_features (column lineage), whose total_spend
    feeds feature A and segment feeds feature B. Model spend_model trains on A, segment_model
    on B, combined on both. export_csv reads customers with no column lineage."""
    cs = ChangeSet(origin=Origin.API)
    schemas = {
        "crm.customers": (
            ("id", "bigint", False),
            ("email", "varchar(100)", True),
            ("spend", "numeric(10,2)", False),
            ("segment", "varchar", True),
            ("legacy_flag", "boolean", True),
        ),
        "crm.customer_features": (
            ("id", "bigint", False),
            ("total_spend", "numeric(12,2)", False),
            ("segment", "varchar", True),
        ),
        "crm.export": (("line", "varchar", True),),
    }
    owners = {
        "crm.customers": ["team:crm"],
        "crm.customer_features": ["team:features"],
        "crm.export": ["team:export"],
    }
    for table, columns in schemas.items():
        cs.add(Dataset(namespace=NS, name=table, owners=owners[table]))
        for ordinal, (path, type_, nullable) in enumerate(columns):
            cs.add(
                Field(
                    namespace=NS,
                    name=table,
                    path=path,
                    type=type_,
                    nullable=nullable,
                    ordinal=ordinal,
                )
            )
            cs.link(ds(table), EdgeKind.HAS_FIELD, fld(table, path), T0)
    cs.add(
        Job(namespace=ETL, name="ingest_crm", owners=["team:crm"]),
        Job(namespace=ETL, name="build_features", owners=["team:features"]),
        Job(namespace=ETL, name="export_csv", owners=["team:export"]),
    )
    cs.link(job("ingest_crm"), EdgeKind.WRITES, CUSTOMERS, T0)
    cs.link(CUSTOMERS, EdgeKind.READS, job("build_features"), T0)
    cs.link(job("build_features"), EdgeKind.WRITES, CF, T0)
    for source, target in (("id", "id"), ("spend", "total_spend"), ("segment", "segment")):
        cs.link(
            fld("crm.customers", source),
            EdgeKind.DERIVES,
            fld("crm.customer_features", target),
            T0,
            {"job": job("build_features")},
        )
    cs.link(CUSTOMERS, EdgeKind.READS, job("export_csv"), T0)
    cs.link(job("export_csv"), EdgeKind.WRITES, EXPORT, T0)
    cs.add(
        Feature(namespace=FS, name="cust:total_spend", owners=["team:features"]),
        Feature(namespace=FS, name="cust:segment", owners=["team:features"]),
    )
    cs.link(TOTAL_SPEND, EdgeKind.COMPUTED_FROM, FEATURE_A, T0)
    cs.link(fld("crm.customer_features", "segment"), EdgeKind.COMPUTED_FROM, FEATURE_B, T0)
    trained = {
        "spend_model": (FEATURE_A,),
        "segment_model": (FEATURE_B,),
        "combined_model": (FEATURE_A, FEATURE_B),
    }
    for name, features in trained.items():
        team = "team:segment" if name == "segment_model" else "team:spend"
        cs.add(
            Model(namespace=REG, name=name, owners=[team]),
            ModelVersion(namespace=REG, name=name, version="1"),
            Job(namespace=ETL, name=f"train_{name}", owners=[team]),
        )
        cs.link(model(name), EdgeKind.HAS_VERSION, mv(name), T0)
        cs.link(CF, EdgeKind.READS, job(f"train_{name}"), T0)
        cs.link(job(f"train_{name}"), EdgeKind.WRITES, mv(name), T0)
        for feature in features:
            cs.link(feature, EdgeKind.TRAINED_ON, mv(name), T0)
    for name in ("spend-prod", "segment-prod", "shadow"):
        cs.add(Deployment(namespace=SERVING, name=name, owners=["sre"]))
    cs.link(mv("spend_model"), EdgeKind.SERVES, dep("spend-prod"), T0)
    cs.link(mv("segment_model"), EdgeKind.SERVES, dep("segment-prod"), T0)
    # shadow served spend_model until day 1 and serves segment_model now.
    cs.link(mv("spend_model"), EdgeKind.SERVES, dep("shadow"), T0)
    cs.link(mv("segment_model"), EdgeKind.SERVES, dep("shadow"), T0 + timedelta(days=1))
    cs.endings.append(
        EdgeEnding(
            source_id=mv("spend_model"),
            kind=EdgeKind.SERVES,
            target_id=dep("shadow"),
            at=format_time(T0 + timedelta(days=1)),
        )
    )
    return cs


@pytest.fixture
def crm_store(store: Store) -> Store:
    store.apply(crm())
    return store


def rows(report: ImpactReport) -> list[tuple[int, str, str, str, tuple[int, ...]]]:
    """(hops, kind, id, precision, changes) of each affected entity, in report order."""
    return [(a.hops, a.kind.value, a.id, a.precision.value, a.changes) for a in report.affected]


# What dropping customers.spend reaches, written out by hand: column lineage to
# feature A and the models trained on it; export_csv has no column lineage, so it
# and what it writes come in at dataset level.
DROP_SPEND_ROWS = [
    (1, "FIELD", TOTAL_SPEND, "COLUMN", (1,)),
    (1, "DATASET", CF, "COLUMN", (1,)),
    (1, "JOB", job("build_features"), "COLUMN", (1,)),
    (1, "JOB", job("export_csv"), "DATASET", (1,)),
    (2, "DATASET", EXPORT, "DATASET", (1,)),
    (2, "FEATURE", FEATURE_A, "COLUMN", (1,)),
    (3, "JOB", job("train_combined_model"), "COLUMN", (1,)),
    (3, "JOB", job("train_spend_model"), "COLUMN", (1,)),
    (3, "MODEL_VERSION", mv("combined_model"), "COLUMN", (1,)),
    (3, "MODEL_VERSION", mv("spend_model"), "COLUMN", (1,)),
    (4, "DEPLOYMENT", dep("spend-prod"), "COLUMN", (1,)),
]


def test_dropping_a_column_used_only_by_feature_a_flags_models_using_a_not_b(
    crm_store: Store,
) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    )
    assert rows(report) == DROP_SPEND_ROWS
    assert [a.id for a in report.model_versions] == [mv("combined_model"), mv("spend_model")]
    assert report.models == [model("combined_model"), model("spend_model")]
    # shadow served spend_model once but serves segment_model now: not affected.
    assert [a.id for a in report.deployments] == [dep("spend-prod")]
    assert report.breaking is True
    (change,) = report.changes
    assert change.compatibility is Compatibility.BREAKING
    assert change.field_id == SPEND and change.old_type == "numeric(10,2)"
    assert change.precision is ImpactPrecision.DATASET  # export_csv needed the fallback
    assert change.notes == (
        f"{job('export_csv')} reads {CUSTOMERS} without column lineage from it: it and its "
        "downstream are included at dataset level",
    )


def test_impact_searches_with_the_cyclic_collector_paused(crm_store: Store) -> None:
    states = collector_states(crm_store)
    change = SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    assert rows(impact(crm_store, change)) == DROP_SPEND_ROWS
    assert states and not any(states)
    assert gc.isenabled()


def test_paths_hops_direct_and_partial_datasets(crm_store: Store) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    )
    by_id = {a.id: a for a in report.affected}
    assert by_id[dep("spend-prod")].path == (
        SPEND,
        TOTAL_SPEND,
        FEATURE_A,
        mv("spend_model"),
        dep("spend-prod"),
    )
    assert by_id[dep("spend-prod")].direct is False
    assert by_id[job("build_features")].path == (SPEND, job("build_features"))
    assert by_id[job("build_features")].direct is True
    assert by_id[job("export_csv")].path == (SPEND, CUSTOMERS, job("export_csv"))
    assert by_id[job("export_csv")].direct is True
    assert by_id[EXPORT].path == (SPEND, CUSTOMERS, job("export_csv"), EXPORT)
    assert by_id[job("train_spend_model")].path == (
        SPEND,
        TOTAL_SPEND,
        FEATURE_A,
        job("train_spend_model"),
    )
    cf = by_id[CF]
    assert cf.partial is True and cf.fields == (TOTAL_SPEND,)
    assert by_id[EXPORT].partial is False


def test_owners_are_deduplicated_sorted_and_say_what_they_own(crm_store: Store) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    )
    assert [(o.owner, o.owns, o.breaking) for o in report.owners] == [
        ("sre", (dep("spend-prod"),), True),
        ("team:export", (EXPORT, job("export_csv")), True),
        ("team:features", (CF, FEATURE_A, job("build_features")), True),
        (
            "team:spend",
            (
                job("train_combined_model"),
                job("train_spend_model"),
                model("combined_model"),
                model("spend_model"),
            ),
            True,
        ),
    ]


def test_dropping_the_column_of_feature_b_spares_the_models_using_only_a(
    crm_store: Store,
) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("segment")])
    )
    assert [a.id for a in report.model_versions] == [mv("combined_model"), mv("segment_model")]
    assert [a.id for a in report.deployments] == [dep("segment-prod"), dep("shadow")]
    assert [a.id for a in report.features] == [FEATURE_B]


def test_a_rename_is_breaking_and_lists_its_consumers(crm_store: Store) -> None:
    report = impact(
        crm_store,
        SchemaChange(
            dataset_id=CUSTOMERS, changes=[FieldChange.rename_field("spend", "spend_usd")]
        ),
    )
    (change,) = report.changes
    assert change.change.action is ChangeAction.RENAME_FIELD
    assert change.compatibility is Compatibility.BREAKING
    assert change.reason == (
        "consumers that read 'spend' by name no longer find it (renamed to 'spend_usd')"
    )
    assert report.breaking is True
    assert rows(report) == DROP_SPEND_ROWS
    assert all(a.breaking for a in report.affected)


def test_a_proposed_schema_is_diffed_and_each_change_classified(crm_store: Store) -> None:
    proposed = [
        ProposedField(path="id", type="BIGINT", nullable=False),  # unchanged
        ProposedField(path="email", type="varchar(50)", nullable=True),  # narrowed
        ProposedField(path="spend", type="numeric(12,2)", nullable=False),  # widened
        ProposedField(path="segment", type="varchar", nullable=False),  # becomes required
        ProposedField(path="country", type="varchar", nullable=True),  # added
        ProposedField(path="region", type="varchar", nullable=False),  # added, required
        # legacy_flag is left out: dropped
    ]
    report = impact(crm_store, SchemaChange(dataset_id=CUSTOMERS, proposed_schema=proposed))
    assert [(c.index, c.change.describe(), c.compatibility.value) for c in report.changes] == [
        (1, "add country (type varchar, nullable)", "NON_BREAKING"),
        (2, "change email (type varchar(50))", "BREAKING"),
        (3, "drop legacy_flag", "BREAKING"),
        (4, "add region (type varchar, required)", "NON_BREAKING"),
        (5, "change segment (required)", "BREAKING"),
        (6, "change spend (type numeric(12,2))", "NON_BREAKING"),
    ]
    reasons = {c.index: c.reason for c in report.changes}
    assert reasons[2] == (
        "varchar(100) -> varchar(50): length narrows (100 to 50); longer values no longer fit"
    )
    assert reasons[5].startswith("nullable -> required")
    assert reasons[6] == (
        "numeric(10,2) -> numeric(12,2): decimal widening (integer digits 8 to 10, scale 2 to 2)"
    )
    notes = {c.index: c.notes for c in report.changes}
    assert notes[4] == (f"region is added as required: {job('ingest_crm')} must supply it",)
    assert report.changes[0].precision is None  # an added field has no consumers yet
    assert report.breaking is True
    by_id = {a.id: a for a in report.affected}
    # Only the widening reaches feature A, so it is affected but not broken.
    assert by_id[FEATURE_A].changes == (6,) and by_id[FEATURE_A].breaking is False
    # export_csv has no column lineage: every propagating change reaches it.
    assert by_id[job("export_csv")].changes == (2, 3, 5, 6)
    assert by_id[job("export_csv")].breaking is True
    # legacy_flag and email have no column lineage; build_features does not read them.
    assert by_id[job("build_features")].changes == (5, 6)


def test_names_in_other_case_name_the_stored_fields(service: LineageService) -> None:
    # A Snowflake catalog spells columns in upper case; a dbt contract, a GX result or a
    # person in lower case. "--drop amount" said there was no such field, and the table's
    # own schema, proposed in lower case, was six breaking changes.
    snowflake, postgres = "snowflake://acme", NS

    def table(namespace: str, columns: list[tuple[str, str | None]]) -> str:
        cs = ChangeSet(origin=Origin.API).add(Dataset(namespace=namespace, name="payments"))
        for ordinal, (path, type_) in enumerate(columns):
            cs.add(
                Field(namespace=namespace, name="payments", path=path, type=type_, ordinal=ordinal)
            )
            field = make_id(Kind.FIELD, namespace, "payments", path)
            cs.link(make_id(Kind.DATASET, namespace, "payments"), EdgeKind.HAS_FIELD, field, T0)
        service.apply(cs)
        return make_id(Kind.DATASET, namespace, "payments")

    # ORDER_ID twice: a GX result naming the column in other case leaves a second spelling
    columns = [("PAYMENT_ID", "NUMBER(38,0)"), ("AMOUNT", "NUMBER(38,2)"), ("order_id", "NUMBER")]
    sf = table(snowflake, [*columns, ("ORDER_ID", None)])
    dropped = service.impact(
        SchemaChange(dataset_id=sf, changes=[FieldChange.drop_field("amount")])
    )
    assert [(c.field_id, c.change.describe()) for c in dropped.changes] == [
        (make_id(Kind.FIELD, snowflake, "payments", "AMOUNT"), "drop AMOUNT")
    ]
    same = [
        ProposedField(path="payment_id", type="number(38,0)"),
        ProposedField(path="amount", type="number(38,2)"),
        ProposedField(path="order_id", type="number"),
    ]
    report = service.impact(SchemaChange(dataset_id=sf, proposed_schema=same))
    assert (report.changes, report.breaking) == ([], False)
    narrowed = [*same[:1], ProposedField(path="amount", type="number(10,2)"), same[2]]
    report = service.impact(SchemaChange(dataset_id=sf, proposed_schema=narrowed))
    assert [(c.change.describe(), c.compatibility.value) for c in report.changes] == [
        ("change AMOUNT (type number(10,2))", "BREAKING")
    ]
    # A name two stored fields fit is left as given.
    with pytest.raises(InvalidInput, match="has no field 'Order_Id'"):
        service.impact(SchemaChange(dataset_id=sf, changes=[FieldChange.drop_field("Order_Id")]))
    # Where case tells columns apart (quoted Postgres names, Parquet), a column the
    # proposed schema leaves out is dropped though another differs from it only in case.
    pg = table(postgres, [("id", "bigint"), ("ID", "bigint")])
    report = service.impact(
        SchemaChange(dataset_id=pg, proposed_schema=[ProposedField(path="id", type="bigint")])
    )
    assert [(c.change.describe(), c.compatibility.value) for c in report.changes] == [
        ("drop ID", "BREAKING")
    ]
    report = service.impact(
        SchemaChange(dataset_id=pg, proposed_schema=[ProposedField(path="Id", type="bigint")])
    )
    assert sorted(c.change.describe() for c in report.changes) == [
        "add Id (type bigint)",
        "drop ID",
        "drop id",
    ]


def test_a_proposed_schema_for_a_table_with_no_recorded_fields_says_so(
    service: LineageService,
) -> None:
    # A table whose schema no event or catalog reported diffed as nothing but additions:
    # "NON_BREAKING, no known consumers" though jobs read it and the proposal may drop any
    # of its real columns.
    table = make_id(Kind.DATASET, NS, "raw.sugar")
    cs = ChangeSet(origin=Origin.API).add(Dataset(namespace=NS, name="raw.sugar"))
    cs.add(Job(namespace=ETL, name="bake"))
    cs.link(table, EdgeKind.READS, job("bake"), T0)
    service.apply(cs)
    proposed = [ProposedField(path="grams", type="int"), ProposedField(path="kind")]
    report = service.impact(SchemaChange(dataset_id=table, proposed_schema=proposed))
    assert [c.change.describe() for c in report.changes] == ["add grams (type int)", "add kind"]
    note = (
        f"{table} has no recorded fields, so every proposed field reads as added: the diff "
        "cannot find dropped, renamed or retyped fields (ingest its schema first)"
    )
    assert [c.notes for c in report.changes] == [(note,), ()]
    assert report.summary.endswith(
        "(its current schema is not recorded: drops and type changes cannot be found)."
    )
    assert report.schema_recorded is False and report.breaking is False
    # a table with fields, or explicit changes, say nothing of it
    cs = ChangeSet(origin=Origin.API).add(Field(namespace=NS, name="raw.sugar", path="grams"))
    cs.link(table, EdgeKind.HAS_FIELD, make_id(Kind.FIELD, NS, "raw.sugar", "grams"), T0)
    service.apply(cs)
    report = service.impact(SchemaChange(dataset_id=table, proposed_schema=proposed))
    assert report.changes and not any(note in c.notes for c in report.changes)
    assert "not recorded" not in report.summary
    assert report.schema_recorded is True


def test_adding_or_renaming_to_a_name_snowflake_folds_onto_a_column_is_refused(
    service: LineageService,
) -> None:
    # Snowflake folds unquoted names, so PAYMENT_ID is the column payment_id: adding it was
    # a NON_BREAKING new column (the ALTER fails), and renaming payment_id to PAYMENT_ID a
    # BREAKING rename that changes nothing, where the proposed-schema diff of the same
    # names already read them as one column.
    cs = ChangeSet(origin=Origin.API)
    for namespace in ("snowflake://acme", NS):
        cs.add(Dataset(namespace=namespace, name="payments"))
        for ordinal, path in enumerate(("payment_id", "amount")):
            cs.add(Field(namespace=namespace, name="payments", path=path, ordinal=ordinal))
            field = make_id(Kind.FIELD, namespace, "payments", path)
            cs.link(make_id(Kind.DATASET, namespace, "payments"), EdgeKind.HAS_FIELD, field, T0)
    service.apply(cs)
    sf = make_id(Kind.DATASET, "snowflake://acme", "payments")
    with pytest.raises(InvalidInput, match="already has a field 'payment_id'"):
        service.impact(SchemaChange(dataset_id=sf, changes=[FieldChange.add_field("PAYMENT_ID")]))
    with pytest.raises(InvalidInput, match="already has a field 'amount'"):
        service.impact(
            SchemaChange(dataset_id=sf, changes=[FieldChange.rename_field("payment_id", "Amount")])
        )
    with pytest.raises(InvalidInput, match="'PAYMENT_ID' is 'payment_id' in other case"):
        service.impact(
            SchemaChange(
                dataset_id=sf, changes=[FieldChange.rename_field("payment_id", "PAYMENT_ID")]
            )
        )
    renamed = service.impact(
        SchemaChange(dataset_id=sf, changes=[FieldChange.rename_field("PAYMENT_ID", "pay_id")])
    )
    assert [c.change.describe() for c in renamed.changes] == ["rename payment_id -> pay_id"]
    # where case tells columns apart, they are other columns
    pg = make_id(Kind.DATASET, NS, "payments")
    report = service.impact(
        SchemaChange(
            dataset_id=pg,
            changes=[
                FieldChange.add_field("PAYMENT_ID"),
                FieldChange.rename_field("amount", "AMOUNT"),
            ],
        )
    )
    assert [c.change.describe() for c in report.changes] == [
        "add PAYMENT_ID",
        "rename amount -> AMOUNT",
    ]


def test_a_passing_not_null_check_makes_a_column_required_safely(
    service: LineageService,
) -> None:
    # A dbt contract adding not_null to a column whose not_null test passes was BREAKING:
    # the catalog records no nullability, so nulls "may exist" — the test says none do.
    def load(day: int, passed: bool) -> None:
        assertion = {"assertion": "not_null", "column": "id", "success": passed}
        schema = {"fields": [{"name": "id", "type": "bigint"}, {"name": "note", "type": "text"}]}
        facets = {"schema": schema, "dataQualityAssertions": {"assertions": [assertion]}}
        event = {
            "eventType": "COMPLETE",
            "eventTime": f"2026-04-0{day}T01:00:00Z",
            "producer": "https://example.com/producer",
            "run": {"runId": f"00000000-0000-4000-8000-00000000000{day}"},
            "job": {"namespace": ETL, "name": "load_events"},
            "outputs": [{"namespace": NS, "name": "crm.events", "facets": facets}],
        }
        service.apply(translate_event(event))

    required = [FieldChange.change_type("id", nullable=False)]
    change = SchemaChange(dataset_id=ds("crm.events"), changes=required)
    load(1, passed=True)
    (safe,) = service.impact(change).changes
    assert safe.compatibility is Compatibility.NON_BREAKING
    assert safe.reason == (
        "nullable -> required: its check crm.events@not_null(id) passes, so no stored "
        "value is null; writers that send nulls will fail"
    )
    # No such check on note; and once the latest run of the check fails, nulls exist.
    note = SchemaChange(
        dataset_id=ds("crm.events"), changes=[FieldChange.change_type("note", nullable=False)]
    )
    assert service.impact(note).changes[0].compatibility is Compatibility.BREAKING
    load(2, passed=False)
    (unsafe,) = service.impact(change).changes
    assert unsafe.compatibility is Compatibility.BREAKING
    assert "nulls may exist" in unsafe.reason


def test_dropping_the_dataset_follows_dataset_level_lineage(crm_store: Store) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_dataset()])
    )
    assert [(a.hops, a.id) for a in report.affected] == [
        (1, job("build_features")),
        (1, job("export_csv")),
        (2, CF),
        (2, EXPORT),
        (3, job("train_combined_model")),
        (3, job("train_segment_model")),
        (3, job("train_spend_model")),
        (3, FEATURE_B),
        (3, FEATURE_A),
        (4, mv("combined_model")),
        (4, mv("segment_model")),
        (4, mv("spend_model")),
        (5, dep("segment-prod")),
        (5, dep("shadow")),
        (5, dep("spend-prod")),
    ]
    assert {a.precision for a in report.affected} == {ImpactPrecision.DATASET}
    assert report.changes[0].precision is ImpactPrecision.DATASET


def test_non_breaking_only_changes_make_a_non_breaking_report(crm_store: Store) -> None:
    report = impact(
        crm_store,
        SchemaChange(
            dataset_id=CUSTOMERS,
            changes=[
                FieldChange.change_type("email", "varchar(200)"),
                FieldChange.add_field("nickname", "varchar"),
            ],
        ),
    )
    assert report.breaking is False
    assert [c.compatibility for c in report.changes] == [
        Compatibility.NON_BREAKING,
        Compatibility.NON_BREAKING,
    ]
    assert not any(a.breaking for a in report.affected)
    assert report.summary == (
        "2 changes to crm.customers (0 breaking); affects 1 dataset, 1 job; 1 owner to notify."
    )


def test_markdown_has_the_changes_consumers_and_owners_tables(crm_store: Store) -> None:
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    )
    text = report.to_markdown()
    lines = text.splitlines()
    assert lines[0] == "## Schema change impact: `dataset|postgres://crm:5432|crm.customers`"
    assert lines[2].startswith("**BREAKING**: 1 change to crm.customers (1 breaking); affects ")
    assert (
        "| 1 | drop spend | BREAKING | consumers of a dropped field lose their input | DATASET |"
        in lines
    )
    assert (
        "| DEPLOYMENT | `deployment\\|k8s://serving\\|spend-prod` | 1 | yes | no | 4 | COLUMN | "
        "`field\\|postgres://crm:5432\\|crm.customers\\|spend` → "
        "`field\\|postgres://crm:5432\\|crm.customer_features\\|total_spend` → "
        "`feature\\|feast://fs\\|cust:total_spend` → "
        "`model_version\\|mlflow://reg\\|spend_model\\|1` → "
        "`deployment\\|k8s://serving\\|spend-prod` |"
    ) in lines
    assert "| sre | yes | `deployment\\|k8s://serving\\|spend-prod` |" in lines
    assert "### Owners to notify" in lines and "### Affected consumers" in lines


def test_markdown_notes_name_the_change_they_are_about(crm_store: Store) -> None:
    # The notes were listed without their change: with two changes falling back to dataset
    # level, a pull-request comment showed the same note twice and never said for which.
    change = SchemaChange(
        dataset_id=CUSTOMERS,
        changes=[FieldChange.drop_field("email"), FieldChange.drop_field("spend")],
    )
    report = impact(crm_store, change)
    note = (
        f"{job('export_csv')} reads {CUSTOMERS} without column lineage from it: it and its "
        "downstream are included at dataset level"
    )
    assert [c.notes for c in report.changes] == [(note,), (note,)]
    lines = report.to_markdown().splitlines()
    notes = lines[lines.index("Notes:") + 2 : lines.index("### Owners to notify") - 1]
    cell = note.replace("|", "\\|")
    assert notes == [f"- #1: {cell}", f"- #2: {cell}"]


def test_markdown_puts_owners_first_and_fits_a_pull_request_comment(crm_store: Store) -> None:
    # On a graph of 3,000 models the report was 3.3 MB: GitHub refuses a comment past
    # 65,536 characters, and the owners came last.
    report = impact(
        crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")])
    )
    full = report.to_markdown()
    assert len(report.affected) == len(DROP_SPEND_ROWS) > 4
    assert full.index("### Owners to notify") < full.index("### Affected consumers")
    assert "not shown here" not in full
    header = full[: full.index("### Owners to notify")]
    small = report.to_markdown(limit=len(header) + 1_500)
    assert len(small) <= len(header) + 1_500
    shown = [line for line in small.splitlines() if line.startswith("| ") and "→" in line]
    assert 0 < len(shown) < len(report.affected)
    left = len(report.affected) - len(shown)
    assert f"_{left:,} more consumers not shown here; the JSON answer lists all._" in small
    assert "| sre | yes | `deployment\\|k8s://serving\\|spend-prod` |" in small


def test_markdown_bounds_the_changes_too(crm_store: Store) -> None:
    # A proposed schema retyping 1,500 columns made 206,229 characters: only the owner and
    # consumer tables were bounded.
    proposed = [
        ProposedField(path="id", type="int", nullable=False),
        ProposedField(path="email", type="varchar(10)"),
        ProposedField(path="spend", type="numeric(8,2)"),
        ProposedField(path="segment", type="char(2)"),
        ProposedField(path="legacy_flag", type="int"),
    ]
    report = impact(crm_store, SchemaChange(dataset_id=CUSTOMERS, proposed_schema=proposed))
    assert len(report.changes) == 5
    full = report.to_markdown()
    limit = full.index("### Changes") + 1_000
    small = report.to_markdown(limit=limit)
    assert len(small) <= limit < len(full)
    shown = [line for line in small.splitlines() if re.match(r"\| \d+ \| ", line)]
    assert 0 < len(shown) < 5
    assert f"_{5 - len(shown)} more changes not shown here; the JSON answer lists all._" in small
    assert "### Owners to notify" in small and "### Affected consumers" in small


def test_same_input_gives_the_same_report(crm_store: Store) -> None:
    change = SchemaChange(
        dataset_id=CUSTOMERS,
        changes=[FieldChange.drop_field("segment"), FieldChange.drop_field("spend")],
    )
    first = impact(crm_store, change)
    assert impact(crm_store, change).model_dump() == first.model_dump()
    assert {a.id: a.changes for a in first.affected}[mv("combined_model")] == (1, 2)


def test_deleted_fields_are_not_part_of_the_current_schema(service: LineageService) -> None:
    for cs in demo.scenario():
        service.apply(cs)
    proposed = [ProposedField(path=p, type=t, nullable=n) for p, t, n in demo.PAYMENT_COLUMNS_AFTER]
    report = service.impact(SchemaChange(dataset_id=demo.RAW_PAYMENTS.id, proposed_schema=proposed))
    assert report.changes == [] and report.affected == [] and report.breaking is False


def test_the_demo_payment_method_reaches_churn_but_not_ltv(service: LineageService) -> None:
    for cs in demo.scenario():
        service.apply(cs)
    report = service.impact(
        {
            "dataset_id": demo.STG_PAYMENTS.id,
            "changes": [{"action": "DROP_FIELD", "path": "payment_method"}],
        }
    )
    assert [a.id for a in report.features] == [demo.feature_id("preferred_payment_method")]
    assert [a.id for a in report.model_versions] == [
        demo.CHURN.version_id(1),
        demo.CHURN.version_id(2),
        demo.CHURN.version_id(3),
    ]
    assert [a.id for a in report.deployments] == [
        demo.deployment_id("churn-production"),
        demo.deployment_id("churn-staging"),
    ]
    assert [a.id for a in report.fields] == [
        demo.CUSTOMER_FEATURES.field_id("preferred_payment_method")
    ]
    assert [a.id for a in report.jobs] == [
        make_id(Kind.JOB, demo.AIRFLOW, "build_customer_features"),
        demo.CHURN.job_id,
    ]
    assert {a.precision for a in report.affected} == {ImpactPrecision.COLUMN}
    assert report.changes[0].notes == ()


def test_the_demo_lifetime_value_reaches_ltv_but_not_churn(service: LineageService) -> None:
    for cs in demo.scenario():
        service.apply(cs)
    report = service.impact(
        SchemaChange(
            dataset_id=demo.CUSTOMER_FEATURES.id,
            changes=[FieldChange.drop_field("lifetime_value")],
        )
    )
    assert [a.id for a in report.model_versions] == [
        demo.LTV.version_id(1),
        demo.LTV.version_id(2),
    ]
    assert [a.id for a in report.deployments] == [
        demo.deployment_id("ltv-production"),
        demo.deployment_id("ltv-staging"),
    ]
    assert [a.id for a in report.jobs] == [demo.LTV.job_id]


def test_the_checks_on_what_a_change_touches_are_affected(service: LineageService) -> None:
    # A dbt test on a dropped column fails or errors on its next run; the report did not
    # say so.
    for cs in demo.scenario():
        service.apply(cs)
    not_null = make_id(Kind.CHECK, demo.SF, demo.STG_ORDERS.name, demo.NOT_NULL_CUSTOMER)
    unique = make_id(Kind.CHECK, demo.SF, demo.STG_ORDERS.name, "unique(order_id)")
    customer_id = make_id(Kind.FIELD, demo.SF, demo.STG_ORDERS.name, "customer_id")
    dropped = service.impact(
        SchemaChange(dataset_id=demo.STG_ORDERS.id, changes=[FieldChange.drop_field("customer_id")])
    )
    checks = dropped.of_kind(Kind.CHECK)
    assert [(a.id, a.hops, a.direct, a.breaking, a.path) for a in checks] == [
        (not_null, 1, True, True, (customer_id, not_null))
    ]
    assert "1 check" in dropped.summary
    whole = service.impact(
        SchemaChange(dataset_id=demo.STG_ORDERS.id, changes=[FieldChange.drop_dataset()])
    )
    assert [a.id for a in whole.of_kind(Kind.CHECK)] == [not_null, unique]
    untested = service.impact(
        SchemaChange(dataset_id=demo.STG_ORDERS.id, changes=[FieldChange.drop_field("status")])
    )
    assert untested.of_kind(Kind.CHECK) == []


def test_bad_input_is_rejected_and_nothing_changes(
    crm_store: Store, service: LineageService
) -> None:
    with pytest.raises(NotFound):
        impact(
            crm_store, SchemaChange(dataset_id=ds("crm.nope"), changes=[FieldChange.drop_dataset()])
        )
    with pytest.raises(InvalidInput, match="needs a DATASET"):
        impact(
            crm_store,
            SchemaChange(dataset_id=job("export_csv"), changes=[FieldChange.drop_dataset()]),
        )
    with pytest.raises(InvalidInput, match="has no field 'nope'"):
        impact(
            crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("nope")])
        )
    with pytest.raises(InvalidInput, match="already has a field 'email'"):
        impact(
            crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.add_field("email")])
        )
    with pytest.raises(InvalidInput, match="already has a field 'id'"):
        impact(
            crm_store,
            SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.rename_field("spend", "id")]),
        )
    # change lists that contradict themselves were classified change by change
    contradictions = {
        "changes[1]: 'spend' is changed by changes[0] already": [
            FieldChange.drop_field("spend"),
            FieldChange.rename_field("spend", "total"),
        ],
        "changes[1]: 'total' is taken by changes[0] already": [
            FieldChange.rename_field("spend", "total"),
            FieldChange.rename_field("segment", "total"),
        ],
        "changes[1]: 'tier' is taken by changes[0] already": [
            FieldChange.add_field("tier", "varchar"),
            FieldChange.add_field("tier", "int"),
        ],
        "changes[0]: no field 'address' to add 'address.zip' under": [
            FieldChange.add_field("address.zip", "varchar"),
        ],
        "changes[1]: 'spend' is dropped or renamed by changes[0] already": [
            FieldChange.rename_field("spend", "total"),
            FieldChange.add_field("spend.cents", "int"),
        ],
        "DROP_DATASET drops every field: give it alone": [
            FieldChange.drop_dataset(),
            FieldChange.drop_field("spend"),
        ],
    }
    for message, changes in contradictions.items():
        with pytest.raises(InvalidInput, match=re.escape(message)):
            impact(crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=changes))
    # a nested field under a field renamed or added in the same list is fine
    nested = [FieldChange.add_field("address", "struct"), FieldChange.add_field("address.zip")]
    assert not impact(crm_store, SchemaChange(dataset_id=CUSTOMERS, changes=nested)).breaking
    with pytest.raises(ValidationError):
        FieldChange(action=ChangeAction.RENAME_FIELD, path="spend")
    with pytest.raises(ValidationError):
        FieldChange(action=ChangeAction.CHANGE_TYPE, path="spend")
    with pytest.raises(ValidationError):
        SchemaChange(dataset_id=CUSTOMERS)
    with pytest.raises(ValidationError):
        SchemaChange(
            dataset_id=CUSTOMERS,
            proposed_schema=[ProposedField(path="a"), ProposedField(path="a")],
        )
    with pytest.raises(InvalidInput, match="invalid schema change"):
        service.impact({"dataset_id": CUSTOMERS, "changes": [{"action": "EXPLODE"}]})


@pytest.mark.parametrize(
    ("old", "new", "breaking"),
    [
        ("int", "bigint", False),
        ("bigint", "int", True),
        ("smallint", "INTEGER", False),
        ("float", "double", False),
        ("double precision", "real", True),
        ("int", "double", False),
        ("bigint", "double", True),
        ("varchar(10)", "varchar(20)", False),
        ("varchar(20)", "varchar(10)", True),
        ("varchar(20)", "text", False),
        ("text", "varchar(255)", True),
        ("char(3)", "varchar(3)", False),
        ("varchar(3)", "char(3)", True),
        ("number(10,2)", "number(12,2)", False),
        ("number(10,2)", "number(12,4)", False),
        ("number(10,2)", "number(10,3)", True),
        ("number(10,2)", "number(10,1)", True),
        ("numeric(10,2)", "numeric", False),
        ("numeric", "numeric(38,2)", True),
        ("int", "number(10,0)", False),
        ("int", "number(9,0)", True),
        ("number(9,0)", "int", False),
        ("numeric(10,2)", "integer", True),
        ("decimal(10,2)", "double", True),
        ("date", "timestamp", False),
        ("date", "timestamptz", True),
        ("timestamp", "date", True),
        ("timestamp", "timestamp with time zone", True),
        ("timestamp(3)", "timestamp(6)", False),
        ("timestamp(6)", "timestamp(3)", True),
        ("TIMESTAMP WITH TIME ZONE", "timestamptz", False),
        ("int", "varchar", True),
        ("boolean", "bool", False),
        ("array<int>", "array<bigint>", True),
        ("geometry", "geography", True),
    ],
)
def test_the_type_compatibility_table(old: str, new: str, breaking: bool) -> None:
    assert compare_types(old, new).breaking is breaking


@pytest.mark.parametrize(
    ("old", "new", "changed", "breaking"),
    [
        # Snowflake catalogs report the long forms of what a model or contract says short.
        ("NUMBER(38,0)", "number", False, False),
        ("VARCHAR(16777216)", "varchar", False, False),
        ("TEXT", "VARCHAR(16777216)", False, False),
        ("NUMBER(38,0)", "int", False, False),
        ("BIGINT", "smallint", False, False),  # every integer is number(38,0)
        ("FLOAT", "DOUBLE", False, False),  # every float is a double
        ("BINARY", "BINARY(8388608)", False, False),
        ("VARCHAR(16777216)", "varchar(100)", True, True),
        ("NUMBER(38,2)", "number", True, True),  # scale 2 to 0
        ("number", "NUMBER(10,0)", True, True),
        ("varchar(100)", "string", True, False),
        ("BINARY(8388608)", "varbinary", False, False),
        ("VARCHAR(1)", "char", False, False),
        ("VARCHAR(3)", "char(3)", False, False),  # no padding: the same type
    ],
)
def test_bare_types_read_as_snowflake_reads_them(
    old: str, new: str, changed: bool, breaking: bool
) -> None:
    verdict = compare_types(old, new, dialect_of("snowflake://acme-prod"))
    assert (verdict.changed, verdict.breaking) == (changed, breaking), verdict.reason
    # Elsewhere a bare number is unbounded and a bare varchar has no length.
    assert compare_types("NUMBER(38,0)", "number").breaking is False
    assert compare_types("number", "NUMBER(38,0)", dialect_of("postgres://db:5432")).breaking


def test_nullability_rules() -> None:
    assert compare_nullability(True, False).breaking is True
    assert compare_nullability(None, False).breaking is True  # unknown counts as nullable
    widened = compare_nullability(False, True)
    assert widened.breaking is False and "every existing value stays valid" in widened.reason
    assert compare_nullability(False, None).reason == "nullability unchanged"
    assert compare_types("int", None).breaking is False
    assert compare_types(None, "int").breaking is True


def test_a_type_alias_is_no_change_and_reaches_nobody(crm_store: Store) -> None:
    explicit = impact(
        crm_store,
        SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.change_type("id", "INT8")]),
    )
    (change,) = explicit.changes
    assert change.compatibility is Compatibility.NON_BREAKING
    assert change.reason == "bigint -> int8: the same type under another name"
    assert change.precision is None and explicit.affected == [] and explicit.owners == []
    proposed = [
        ProposedField(path="id", type="int8", nullable=False),
        ProposedField(path="email", type="VARCHAR(100)"),
        ProposedField(path="spend", type="decimal(10, 2)"),
        ProposedField(path="segment", type="text"),
        ProposedField(path="legacy_flag", type="bool"),
    ]
    diffed = impact(crm_store, SchemaChange(dataset_id=CUSTOMERS, proposed_schema=proposed))
    assert diffed.changes == [] and diffed.affected == [] and diffed.breaking is False


def test_a_node_cap_makes_an_incomplete_report(crm_store: Store) -> None:
    report = impact(
        crm_store,
        SchemaChange(dataset_id=CUSTOMERS, changes=[FieldChange.drop_field("spend")]),
        max_nodes=1,
    )
    assert report.truncated is True
    assert report.summary.endswith("(incomplete: a traversal bound was hit).")
    assert "_The search for consumers hit a server bound; the list is incomplete._" in (
        report.to_markdown()
    )
    assert len(report.affected) < len(DROP_SPEND_ROWS)
