"""``lineagegraph serve``: the GraphQL server, the OpenLineage endpoint and the web UI (uvicorn)."""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import Any

import click

from lineagegraph.cli.client import not_empty
from lineagegraph.config import Settings
from lineagegraph.errors import LineageError


def _a_number(_: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A float option's value, refusing NaN (which passes every range check)."""
    if value is not None and value != value:
        raise click.BadParameter("nan is not a number of seconds", param=param)
    return value


def _settings(overrides: dict[str, Any]) -> Settings:
    """Settings from the environment, with the flags that were given on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)


def load_demo_if_empty(service: Any) -> bool:
    """Load the demo scenario into an empty store; returns whether it loaded anything."""
    from lineagegraph.demo import scenario

    if service.stats().nodes:
        return False
    for changeset in scenario():
        service.apply(changeset)
    return True


def urls(host: str, port: int) -> dict[str, str]:
    """The URLs a person opens: the UI, GraphiQL and the OpenLineage endpoint."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = "127.0.0.1"
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    return {
        "ui": f"{base}/",
        "graphiql": f"{base}/graphql",
        "openlineage": f"{base}/api/v1/lineage",
        "metrics": f"{base}/metrics",
    }


def listen(host: str, port: int, backlog: int = 2048) -> list[socket.socket]:
    """Listening sockets on ``host``:``port`` (one per address the host resolves to, as
    asyncio makes them: an address family this machine lacks is skipped), for uvicorn to
    serve on. They listen before anything is printed or loaded, so a port in use, even
    one taken while the store opens, is one clear error (:class:`click.ClickException`)
    rather than URLs that answer nothing."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise click.ClickException(f"cannot listen on {host}: {error.strerror}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(
            (f, k, p, "", a) for f, k, p, _, a in found
        ):
            try:
                sock = socket.socket(family, kind, proto)
            except OSError:  # e.g. IPv6 turned off: serve the other addresses
                continue
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: IPv4 has its own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            # Listening now, not when uvicorn starts: another process binding the port
            # meanwhile would otherwise win it, leaving this server serving nothing.
            sock.listen(backlog)
        if not sockets:
            raise OSError(errno.EAFNOSUPPORT, "no address family of it can be used here")
    except OSError as error:
        for sock in sockets:
            sock.close()
        hint = ""
        if error.errno == errno.EADDRINUSE:
            hint = " (another process listens there: choose another with --port or PORT=)"
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {error.strerror}{hint}"
        ) from None
    return sockets


@click.command()
@click.option("--host", default=None, help="Bind address [env LINEAGEGRAPH_HOST; 127.0.0.1].")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port [env LINEAGEGRAPH_PORT; 8000].",
)
@click.option(
    "--store",
    "store_url",
    default=None,
    callback=not_empty,
    help="Store URL: memory://, sqlite:///path/to/lineage.db or bolt://host:7687 "
    "[env LINEAGEGRAPH_STORE; the embedded file under the user's data directory].",
)
@click.option("--demo", is_flag=True, help="Load the demo scenario when the store is empty.")
@click.option(
    "--open",
    "open_",
    is_flag=True,
    default=None,
    help="Allow a non-loopback bind without tokens [env LINEAGEGRAPH_OPEN].",
)
@click.option(
    "--tokens",
    default=None,
    help="Bearer tokens with scopes, 'tokA:read,tokB:write' [env LINEAGEGRAPH_TOKENS]. "
    "Prefer the environment variable: flags show in process lists.",
)
@click.option(
    "--max-query-depth",
    type=click.IntRange(min=1),
    default=None,
    help="[env LINEAGEGRAPH_MAX_QUERY_DEPTH]",
)
@click.option(
    "--max-query-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="[env LINEAGEGRAPH_MAX_QUERY_TOKENS]",
)
@click.option(
    "--max-aliases", type=click.IntRange(min=0), default=None, help="[env LINEAGEGRAPH_MAX_ALIASES]"
)
@click.option(
    "--max-traversal-nodes",
    type=click.IntRange(min=1),
    default=None,
    help="[env LINEAGEGRAPH_MAX_TRAVERSAL_NODES]",
)
@click.option(
    "--traversal-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    callback=_a_number,
    help="[env LINEAGEGRAPH_TRAVERSAL_TIMEOUT]",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="[env LINEAGEGRAPH_MAX_BODY_BYTES]",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="uvicorn's log level.",
)
def serve(
    host: str | None,
    port: int | None,
    store_url: str | None,
    demo: bool,
    open_: bool | None,
    tokens: str | None,
    max_query_depth: int | None,
    max_query_tokens: int | None,
    max_aliases: int | None,
    max_traversal_nodes: int | None,
    traversal_timeout: float | None,
    max_body_bytes: int | None,
    log_level: str,
) -> None:
    """Serve GraphQL (/graphql), OpenLineage ingestion (/api/v1/lineage) and the web UI (/).

    Without tokens the server only listens on loopback, unless --open says
    that serving everyone on the network without auth is intended.
    """
    import uvicorn

    from lineagegraph.api.app import create_app
    from lineagegraph.api.auth import TokenAuth, check_bind, is_loopback
    from lineagegraph.service import LineageService
    from lineagegraph.store import open_store

    settings = _settings(
        {
            "host": host,
            "port": port,
            "store": store_url,
            "open": open_,
            "tokens": tokens,
            "max_query_depth": max_query_depth,
            "max_query_tokens": max_query_tokens,
            "max_aliases": max_aliases,
            "max_traversal_nodes": max_traversal_nodes,
            "traversal_timeout": traversal_timeout,
            "max_body_bytes": max_body_bytes,
        }
    )
    try:
        auth = TokenAuth(settings.tokens)
        check_bind(settings.host, auth, settings.open)
    except LineageError as error:
        raise click.ClickException(str(error)) from None
    sockets = listen(settings.host, settings.port)
    try:
        service = LineageService(open_store(settings.store), settings)
    except LineageError as error:
        for sock in sockets:
            sock.close()
        raise click.ClickException(str(error)) from None
    try:
        if demo:
            loaded = load_demo_if_empty(service)
            click.echo(
                "demo scenario loaded"
                if loaded
                else "store is not empty: demo scenario not loaded again"
            )
        # Closed by the app's shutdown, which a SIGTERM runs too: uvicorn then re-raises
        # the signal, which ends the process before the finally below.
        app = create_app(settings, service, close_service=True)
        links = urls(settings.host, settings.port)
        click.echo(f"lineagegraph serving {public_store(service.store.url)}")
        click.echo(f"  web UI:      {links['ui']}")
        click.echo(f"  GraphiQL:    {links['graphiql']}")
        click.echo(f"  OpenLineage: {links['openlineage']}")
        click.echo(f"  metrics:     {links['metrics']}")
        if auth.enabled:
            access = "bearer tokens"
        elif is_loopback(settings.host):
            access = "off (loopback only)"
        else:  # --open: said so, as "loopback only" would be wrong
            access = "off, open to the network (anyone who can connect may read and write)"
        click.echo(f"  auth:        {access}")
        click.echo("Ctrl+C stops the server.")
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=log_level, lifespan="on"
        )
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn has shut down
            server.run(sockets=sockets)
        if not server.started:
            raise SystemExit(3)  # the app did not start (uvicorn has said why)
    finally:
        for sock in sockets:
            sock.close()
        service.close()


def public_store(url: str) -> str:
    """A store URL without credentials, for printing."""
    from lineagegraph.api.queries import public_url

    return public_url(url)
