"""Helpers for the API tests: run GraphQL against a service, start a real server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from lineagegraph import demo
from lineagegraph.api.app import create_app
from lineagegraph.api.auth import OPEN_ACCESS, Principal
from lineagegraph.api.context import make_context
from lineagegraph.api.schema import build_schema
from lineagegraph.config import Settings
from lineagegraph.service import LineageService

SCHEMA = build_schema(Settings())


def load_demo(service: LineageService) -> LineageService:
    """Apply the demo scenario to a service and return it."""
    for changeset in demo.scenario():
        service.apply(changeset)
    return service


def run_graphql(
    service: LineageService,
    query: str,
    variables: dict[str, Any] | None = None,
    principal: Principal = OPEN_ACCESS,
    settings: Settings | None = None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Execute a document through ``schema.execute``; (data, formatted errors)."""
    schema = SCHEMA if settings is None else build_schema(settings)
    context = make_context(service, settings or Settings(), principal)

    async def go() -> Any:
        return await schema.execute(query, variable_values=variables, context_value=context)

    result = asyncio.run(go())
    errors = [e.formatted for e in result.errors or []]
    return result.data, errors


def gql(service: LineageService, query: str, variables: dict[str, Any] | None = None) -> Any:
    """Execute a document that must succeed; returns its data."""
    data, errors = run_graphql(service, query, variables)
    assert errors == [], errors
    assert data is not None
    return data


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A uvicorn server running the app in a background thread."""

    url: str
    service: LineageService
    settings: Settings

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server, with a bearer token when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


@contextmanager
def running_server(service: LineageService, settings: Settings) -> Iterator[RunningServer]:
    """Serve ``create_app(settings, service)`` with uvicorn on a free loopback port."""
    port = free_port()
    app = create_app(settings, service)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", service, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
