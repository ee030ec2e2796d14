"""The committed ``schema.graphql`` is the schema the code builds, and everything is described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

from lineagegraph.api.schema import build_schema, sdl

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_is_current() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `make schema` and commit it"


def test_every_type_field_and_argument_has_a_description() -> None:
    schema = build_schema()._schema
    missing: list[str] = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not graphql_type.description and name not in {"Query", "Mutation"}:
            missing.append(name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items()
                    if not value.description
                )
        elif isinstance(graphql_type, GraphQLInputObjectType):
            missing.extend(
                f"{name}.{field_name}"
                for field_name, field in graphql_type.fields.items()
                if not field.description
            )
        elif (
            isinstance(graphql_type, GraphQLEnumType | GraphQLUnionType)
            and not graphql_type.description
        ):
            missing.append(name)
    assert missing == []


def _signature(type_name: str, field_name: str) -> str:
    graphql_type = build_schema()._schema.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType)
    field = graphql_type.fields[field_name]
    args = ", ".join(f"{name}: {arg.type}" for name, arg in field.args.items())
    return f"{field_name}({args}): {field.type}"


def test_contract_signatures() -> None:
    assert _signature("Query", "node") == "node(id: ID!): Node"
    assert _signature("Query", "entity").startswith(
        "entity(kind: EntityKind!, namespace: String!, name: String!, path: String, version: String"
    )
    assert _signature("Query", "search") == (
        "search(query: String!, kinds: [EntityKind!], namespace: String, owner: String, "
        "tag: String, first: Int, after: String): NodeConnection!"
    )
    assert _signature("Query", "health") == "health(id: ID!): Health!"
    assert _signature("Query", "lineage") == (
        "lineage(id: ID!, direction: Direction!, depth: Int, kinds: [EntityKind!], "
        "columnLevel: Boolean!, asOf: DateTime, first: Int, after: String): Lineage!"
    )
    assert _signature("Query", "impact") == "impact(change: SchemaChangeInput!): ImpactReport!"
    assert _signature("Query", "cascade") == "cascade(resultId: ID!): Cascade!"
    assert _signature("Query", "provenance") == "provenance(id: ID!): Provenance!"
    assert _signature("Query", "provenanceDiff") == (
        "provenanceDiff(from: ID!, to: ID!): ProvenanceDiff!"
    )
    assert _signature("Query", "rootCause") == (
        "rootCause(id: ID!, since: DateTime, until: DateTime): RootCause!"
    )
    assert _signature("Query", "atRisk") == (
        "atRisk(kinds: [EntityKind!], first: Int, after: String): HealthConnection!"
    )
    for mutation, argument in (
        ("upsertDataset", "input: DatasetInput!"),
        ("upsertField", "input: UpsertFieldInput!"),
        ("upsertJob", "input: JobInput!"),
        ("upsertFeature", "input: FeatureInput!"),
        ("upsertModel", "input: ModelInput!"),
        ("upsertDeployment", "input: DeploymentInput!"),
        ("upsertCheck", "input: CheckInput!"),
        ("upsertDatasetVersion", "input: DatasetVersionInput!"),
        ("recordRun", "input: RunInput!"),
        ("recordQualityResult", "input: QualityResultInput!"),
        ("registerModelVersion", "input: ModelVersionInput!"),
        ("deploy", "input: DeployInput!"),
    ):
        assert _signature("Mutation", mutation) == f"{mutation}({argument}): EntityResult!"
    assert _signature("Mutation", "ingestOpenLineage") == (
        "ingestOpenLineage(event: JSON!): IngestResult!"
    )
    assert _signature("Mutation", "deleteEntity") == "deleteEntity(id: ID!): DeleteResult!"
    node = build_schema()._schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    assert list(node.fields)[:4] == ["id", "kind", "namespace", "name"]
