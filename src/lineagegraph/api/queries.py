"""Catalog queries: lookups by id or key, search, stored health and counts.

``schema.py`` merges them with the engine's questions (``analysis.py``) into
the root ``Query`` type.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from lineagegraph.api.inputs import resolve_ref
from lineagegraph.api.types import (
    After,
    Connection,
    Edge,
    EntityKind,
    First,
    Health,
    Info,
    Node,
    PageInfo,
    arg,
    asks_total,
    connection_from_page,
    from_domain,
    page_bounds,
    page_size,
    resolver,
)
from lineagegraph.errors import InvalidInput
from lineagegraph.ids import Kind, parse_id
from lineagegraph.store.base import (
    SearchFilter,
    decode_key_cursor,
    encode_key_cursor,
    search_terms,
)


def check_id(entity_id: str) -> str:
    """The id in its canonical form (kind in lower case, ``|`` and ``%`` escaped as ids write
    them), so ``DATASET|ns|name`` finds ``dataset|ns|name``; a malformed id is rejected with
    a clear message (a missing one is a separate matter)."""
    return parse_id(entity_id).id


@strawberry.type(description="Counts of one kind of thing in the store.")
class Count:
    key: str = strawberry.field(description="The kind or status counted.")
    count: int = strawberry.field(description="How many there are.")


@strawberry.type(description="What the store holds.")
class Stats:
    store: str = strawberry.field(description="The store URL (credentials never shown).")
    nodes: list[Count] = strawberry.field(description="Nodes by kind.")
    edges: list[Count] = strawberry.field(description="Edges by kind.")
    health: list[Count] = strawberry.field(description="Stored health records by status.")


@strawberry.type(description="Catalog lookups, search and health.")
class CatalogQuery:
    @resolver(description="An entity by id; null when there is none.")
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, arg("The entity's id.")]
    ) -> Node | None:
        found = await info.context.node(check_id(str(id)))
        return None if found is None else from_domain(found)

    @resolver(
        description="An entity by kind and key; give the kind's extra key part too (`path` of a "
        "field, `version` of a dataset or model version, `runId` of a run, `check` of a check, "
        "`check` and `result` of a result). Null when there is none."
    )
    async def entity(
        self,
        info: Info,
        kind: Annotated[EntityKind, arg("The entity's kind.")],
        namespace: Annotated[str, arg("The key's namespace.")],
        name: Annotated[str, arg("The key's name.")],
        path: Annotated[str | None, arg("A field's path.")] = None,
        version: Annotated[str | None, arg("A dataset or model version.")] = None,
        run_id: Annotated[str | None, arg("A run's id.")] = None,
        check: Annotated[str | None, arg("A check's name (checks and results).")] = None,
        result: Annotated[str | None, arg("A result's own key.")] = None,
    ) -> Node | None:
        entity_id = resolve_ref(
            "entity",
            entity_id=None,
            kind=kind,
            namespace=namespace,
            name=name,
            parts={
                "path": path,
                "version": version,
                "run_id": run_id,
                "check": check,
                "result": result,
            },
        )
        found = await info.context.node(entity_id)
        return None if found is None else from_domain(found)

    @resolver(description="Several entities by id, in the order asked; missing ids skipped.")
    async def nodes(
        self, info: Info, ids: Annotated[list[strawberry.ID], arg("Up to 1000 ids.")]
    ) -> list[Node]:
        if len(ids) > 1000:
            raise InvalidInput("ask for at most 1000 ids at once")
        found = await info.context.nodes([check_id(str(i)) for i in ids])
        return [from_domain(n) for n in found]

    @resolver(
        description="Full-text search over names, descriptions, tags, owners and field names, "
        "best match first; an empty query lists everything that passes the filters, by id."
    )
    async def search(
        self,
        info: Info,
        query: Annotated[str, arg("Words to find; each matches as a prefix.")] = "",
        kinds: Annotated[
            list[EntityKind] | None, arg("Only these kinds; none or `[]`: every kind.")
        ] = None,
        namespace: Annotated[str | None, arg("Only this namespace.")] = None,
        owner: Annotated[str | None, arg("Only entities with this owner.")] = None,
        tag: Annotated[str | None, arg("Only entities with this tag.")] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Node]:
        offset, size = page_bounds(first, after)
        if len(query) > 1000:
            raise InvalidInput("a search query is at most 1000 characters")
        filters = SearchFilter(
            kinds=frozenset(kinds or ()), namespace=namespace, owner=owner, tag=tag
        )
        if query.strip() and not search_terms(query):
            raise InvalidInput("the search query has no words to look for")
        page = await info.context.call(
            info.context.service.search, query, filters, size, after, count=asks_total(info)
        )
        return connection_from_page(
            [from_domain(n) for n in page.items],
            offset,
            page.end_cursor,
            page.has_next_page,
            page.total,
        )

    @resolver(
        description="The stored health of an entity, with the reasons: OK when nothing is "
        "wrong. An id that names no entity is an error with code NOT_FOUND (where `node` "
        "answers null), so a typo is not read as healthy."
    )
    async def health(
        self, info: Info, id: Annotated[strawberry.ID, arg("The entity's id.")]
    ) -> Health:
        record = await info.context.call(info.context.service.health, check_id(str(id)))
        return Health.from_domain(record)

    @resolver(
        description="Entities that are not OK now (AT_RISK or FAILING), by id: a lookup of "
        "stored health, not a traversal."
    )
    async def at_risk(
        self,
        info: Info,
        kinds: Annotated[
            list[EntityKind] | None, arg("Only these kinds; none or `[]`: every kind.")
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Health]:
        size = page_size(first)
        decode_key_cursor(after)  # a malformed cursor is refused before the store is asked
        page = await info.context.call(
            info.context.service.at_risk, kinds, size, after, count=asks_total(info)
        )
        # Cursors name ids: entities that turn at risk or OK between pages move no other.
        return Connection(
            edges=[
                Edge(cursor=encode_key_cursor(r.id), node=Health.from_domain(r)) for r in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            total_count=page.total,
        )

    @resolver(description="Counts of what the store holds, by kind and health.")
    async def stats(self, info: Info) -> Stats:
        counts = await info.context.call(info.context.service.stats)

        def rows(values: dict[str, int]) -> list[Count]:
            return [Count(key=k, count=values[k]) for k in sorted(values)]

        return Stats(
            store=public_url(info.context.service.store.url),
            nodes=rows(counts.nodes_by_kind),
            edges=rows(counts.edges_by_kind),
            health=rows(counts.health_by_status),
        )

    @resolver(description="The kinds of entity, for building filters.")
    def kinds(self) -> list[EntityKind]:
        return list(Kind)


def public_url(url: str) -> str:
    """A store URL without user info (``bolt://user:secret@host`` → ``bolt://host``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path}"
