"""How the CLI asks its questions: one GraphQL document, answered in-process or by a server.

:class:`LocalClient` executes the schema in this process over a local store;
:class:`RemoteClient` posts the same document to a running server
(``--server URL [--token T]``). Both return the ``data`` of a successful answer
and raise :class:`QueryFailed` with the server's message otherwise, so every
command behaves the same against either.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import click
import httpx
from click.core import ParameterSource

from lineagegraph.config import Settings
from lineagegraph.errors import LineageError
from lineagegraph.service import LineageService
from lineagegraph.store import open_store

__all__ = [
    "GraphQLClient",
    "LocalClient",
    "QueryFailed",
    "RemoteClient",
    "not_empty",
    "open_client",
    "open_service",
    "target_of",
]


def not_empty(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--store``/``--server`` callback: an empty value typed on the command line is a
    variable that was not set (a CI secret), not a request for the default store."""
    typed = context.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE
    if value is not None and not value.strip() and typed:
        raise click.BadParameter(
            "is empty (a variable that is not set?); give a URL or leave the option out"
        )
    return value


def target_of(
    store_url: str | None, server_url: str | None, server_param: str = "server_url"
) -> tuple[str | None, str | None]:
    """Where a command goes: (store URL, None) or (None, server URL).

    ``--store`` and ``--server`` both on the command line is a usage error. One given on
    the command line wins over the other's environment variable (``LINEAGEGRAPH_STORE``,
    ``LINEAGEGRAPH_SERVER``); from the environment alone, the server wins.
    """
    context = click.get_current_context()

    def typed(name: str) -> bool:
        return context.get_parameter_source(name) is ParameterSource.COMMANDLINE

    unset = os.environ.get("LINEAGEGRAPH_SERVER")
    if server_url is None and unset is not None and not unset.strip() and not typed("store_url"):
        # Click takes an empty variable for none at all; a CI secret that is not set
        # would then be answered from the default store.
        raise click.UsageError(
            "LINEAGEGRAPH_SERVER is set but empty (a variable that is not set?); give a URL, "
            "or unset it (or pass --store) to use a local store"
        )
    if store_url and server_url:
        if typed("store_url") and typed(server_param):
            raise click.UsageError("give --store or --server, not both")
        if typed("store_url"):
            return store_url, None
    return (None, _checked_server(server_url)) if server_url else (store_url, None)


def _checked_server(server_url: str) -> str:
    """The server URL, or a usage error saying what is wrong with it."""
    try:
        url = httpx.URL(server_url)
    except httpx.InvalidURL as error:
        message = f"{server_url!r} is not a URL: {error}"
        raise click.BadParameter(message, param_hint="--server") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter(
            f"{server_url!r} is not an http(s) URL such as http://127.0.0.1:8000",
            param_hint="--server",
        )
    return server_url


def open_service(store_url: str | None, *, create: bool = True) -> LineageService:
    """The service over ``--store``, or over the configured default store.

    A store that cannot be opened (a file another process owns, Neo4j down, or with
    ``create=False`` a store file that does not exist) ends the command with its reason
    instead of a traceback.
    """
    try:
        return LineageService.open(store_url or Settings().store, create=create)
    except LineageError as error:
        raise click.ClickException(str(error)) from None


class QueryFailed(Exception):
    """A query was answered with errors; ``code`` is the first error's ``extensions.code``."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class GraphQLClient(Protocol):
    """Something that answers a GraphQL document with its data."""

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of the answer; raises :class:`QueryFailed` on errors."""
        ...

    def close(self) -> None:
        """Release the store or the connection."""
        ...


# What a command adds when the server wants a token it was not given, or refuses it.
TOKEN_HINT = " (give the token with --token or LINEAGEGRAPH_TOKEN)"


def _raise_errors(errors: list[dict[str, Any]]) -> None:
    first = errors[0]
    code = (first.get("extensions") or {}).get("code")
    messages = "; ".join(str(e.get("message", "error")) for e in errors)
    raise QueryFailed(messages + (TOKEN_HINT if code == "UNAUTHENTICATED" else ""), code)


class LocalClient:
    """Executes the schema in-process over a store URL; it only reads, so a store file that
    does not exist is an error, not a new empty store.

    The GraphQL schema (strawberry) is imported here, not with the module: importing it
    cost every command, ``ingest`` and ``--help`` too, most of a second before it ran.
    """

    def __init__(self, store_url: str, settings: Settings | None = None) -> None:
        from lineagegraph.api.schema import build_schema

        self.settings = settings or Settings()
        try:
            self.service = LineageService(open_store(store_url, create=False), self.settings)
        except LineageError as error:
            raise QueryFailed(str(error), "STORE_UNAVAILABLE") from None
        self.schema = build_schema(self.settings)

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the document against the local store."""
        from lineagegraph.api.auth import OPEN_ACCESS
        from lineagegraph.api.context import make_context

        context = make_context(self.service, self.settings, OPEN_ACCESS)

        async def run() -> Any:
            return await self.schema.execute(
                query, variable_values=variables, context_value=context
            )

        result = asyncio.run(run())
        if result.errors:
            _raise_errors([e.formatted for e in result.errors])
        data: dict[str, Any] = result.data or {}
        return data

    def close(self) -> None:
        """Close the store."""
        self.service.close()


class RemoteClient:
    """Posts documents to a running server's ``/graphql``."""

    def __init__(self, server_url: str, token: str | None = None, timeout: float = 60.0) -> None:
        base = server_url.rstrip("/")
        self.endpoint = base if base.endswith("/graphql") else f"{base}/graphql"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout)

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST the document; turn HTTP and GraphQL failures into :class:`QueryFailed`."""
        try:
            response = self._http.post(
                self.endpoint, json={"query": query, "variables": variables or {}}
            )
        except httpx.HTTPError as error:
            raise QueryFailed(
                f"cannot reach {self.endpoint}: {error}", "SERVER_UNREACHABLE"
            ) from None
        try:
            body = response.json()
        except ValueError:
            raise QueryFailed(
                f"{self.endpoint} answered {response.status_code} without JSON", "BAD_RESPONSE"
            ) from None
        if isinstance(body, dict) and body.get("errors"):
            _raise_errors(body["errors"])
        if response.status_code != 200 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            raise QueryFailed(
                f"{self.endpoint} answered {response.status_code}: {message or response.text}",
                "HTTP_ERROR",
            )
        data: dict[str, Any] = body.get("data") or {}
        return data

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


@contextmanager
def open_client(
    store_url: str | None, server_url: str | None, token: str | None = None
) -> Iterator[GraphQLClient]:
    """A client for ``--server`` when given, else for the local ``--store``; closed after use."""
    client: GraphQLClient
    if server_url:
        client = RemoteClient(server_url, token)
    else:
        settings = Settings()
        client = LocalClient(store_url or settings.store, settings)
    try:
        yield client
    finally:
        client.close()
