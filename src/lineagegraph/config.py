"""Settings from ``LINEAGEGRAPH_*`` environment variables, mirrored by CLI flags."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_store_url() -> str:
    """The embedded store file under the user's data directory."""
    return f"sqlite://{Path(user_data_dir('lineagegraph')) / 'lineage.db'}"


class Settings(BaseSettings):
    """Every setting of the server and CLI; each can be set as ``LINEAGEGRAPH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LINEAGEGRAPH_", extra="ignore")

    store: str = Field(default_factory=default_store_url, description="store URL")
    host: str = Field("127.0.0.1", description="address the server binds to")
    port: int = Field(8000, ge=1, le=65535, description="port the server listens on")
    tokens: str = Field(
        "",
        description="bearer tokens with scopes: 'tokenA:read,tokenB:write' (write implies read)",
    )
    open: bool = Field(False, description="allow a non-loopback bind without tokens")
    neo4j_user: str = Field("neo4j", description="Neo4j user for bolt:// and neo4j:// stores")
    neo4j_password: str = Field("", description="Neo4j password (empty: no auth)")
    neo4j_database: str = Field("neo4j", description="Neo4j database name")
    # Bounded above: Neo4j takes the timeout as 64-bit milliseconds, and the driver fails
    # every write on a longer one (inf included) with an OverflowError.
    neo4j_write_lock_seconds: float = Field(
        600.0,
        gt=0,
        le=1_000_000_000,
        description="longest a replica holds, or waits for, the Neo4j write lock",
    )
    # The limits: a value no request could pass (a negative body size, a depth of 0, a NaN
    # timeout) is refused at start, not answered with a 413 or truncation for everything.
    max_query_depth: int = Field(15, ge=1, description="deepest GraphQL selection allowed")
    max_query_tokens: int = Field(5000, ge=1, description="most tokens in one GraphQL document")
    max_aliases: int = Field(30, ge=0, description="most aliases in one GraphQL document")
    max_traversal_nodes: int = Field(
        100_000, ge=1, description="a traversal stops and reports truncated past this many nodes"
    )
    traversal_timeout: float = Field(
        10.0, gt=0, description="seconds a traversal may take before it is truncated"
    )
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="largest request body (413 past it)"
    )


def invalid_settings(error: ValidationError) -> str | None:
    """What is wrong with the settings, one line per bad value, when ``error`` is about
    :class:`Settings`; ``None`` for another model's error."""
    if error.title != Settings.__name__:
        return None
    lines = []
    for problem in error.errors():
        name = "LINEAGEGRAPH_" + "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"{name}={problem.get('input')!r}: {problem['msg']}")
    return "\n".join(lines)
