"""Store adapters, chosen by URL; heavy drivers are imported only when their scheme is used.

- ``memory://`` — an ephemeral embedded store;
- ``sqlite:///path/to/lineage.db`` — the embedded store on a file (the default);
- ``bolt://host:7687``, ``neo4j://…``, ``neo4j+s://…`` — a Neo4j server, with the user,
  password and database from ``LINEAGEGRAPH_NEO4J_USER`` / ``_PASSWORD`` / ``_DATABASE``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from lineagegraph.errors import InvalidInput, NotFound
from lineagegraph.store.base import ApplyResult, Hop, SearchFilter, Store, StoreStats

__all__ = ["ApplyResult", "Hop", "SearchFilter", "Store", "StoreStats", "open_store"]

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the store that a URL names; with ``create=False`` a store file that does not
    exist is :class:`NotFound` instead of a new, empty store (for commands that only read)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from lineagegraph.store.embedded import EmbeddedStore

        return EmbeddedStore(None)
    if scheme == "sqlite":
        from lineagegraph.store.embedded import EmbeddedStore

        # Everything after "sqlite://" is the path: sqlite:///var/lib/x.db is absolute,
        # sqlite://data/x.db is relative to the working directory.
        path = url[len("sqlite://") :]
        if not path:
            raise InvalidInput("a sqlite URL needs a path: sqlite:///path/to/lineage.db")
        if not create and not Path(path).exists():
            raise NotFound(f"no store file {path} (only writing makes one: check the store URL)")
        synchronous = os.environ.get("LINEAGEGRAPH_SQLITE_SYNCHRONOUS") or "FULL"
        return EmbeddedStore(path, synchronous=synchronous)
    if scheme in NEO4J_SCHEMES:
        from lineagegraph.store.neo4j import Neo4jStore

        return Neo4jStore.from_url(url)
    # Shown without what precedes an '@' in it: a password, in a URL meant for another store.
    head, sep, rest = url.partition("://")
    shown = f"{head}{sep}{rest.rpartition('@')[2]}"
    raise InvalidInput(
        f"unknown store URL {shown!r}: use memory://, sqlite:///path or bolt://host:port"
    )
