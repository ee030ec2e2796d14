"""The GraphQL schema: ``build_schema(settings)``; ``python -m lineagegraph.api.schema`` prints
the SDL that is committed as ``schema.graphql`` (``make schema``)."""

from __future__ import annotations

import sys

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from lineagegraph.api.analysis import AnalysisQuery
from lineagegraph.api.limits import graphql_extensions
from lineagegraph.api.mutations import Mutation
from lineagegraph.api.queries import CatalogQuery
from lineagegraph.api.types import NODE_TYPES, SCALARS
from lineagegraph.config import Settings

__all__ = ["LineageSchema", "Query", "build_schema", "sdl"]


@strawberry.type(
    description="Read the lineage graph: lookups, search, lineage, impact, cascades, "
    "health, provenance and root cause (needs the `read` scope when auth is on)."
)
class Query(CatalogQuery, AnalysisQuery):
    """The root query type: the catalog and analysis queries together."""


class LineageSchema(strawberry.Schema):
    """The schema; errors are logged by :class:`ErrorPolicy` (unexpected ones only)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors (bad input, not found, limits) are the client's, not worth a log."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the document limits of ``settings`` (defaults when omitted)."""
    settings = settings or Settings()
    return LineageSchema(
        query=Query,
        mutation=Mutation,
        types=list(NODE_TYPES),
        extensions=graphql_extensions(settings),
        config=StrawberryConfig(scalar_map=SCALARS),
    )


def sdl() -> str:
    """The schema in GraphQL SDL, as committed in ``schema.graphql``."""
    return build_schema(Settings()).as_str() + "\n"


if __name__ == "__main__":
    sys.stdout.write(sdl())
