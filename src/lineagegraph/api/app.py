"""The Starlette app: GraphQL at ``/graphql``, OpenLineage ingestion, probes, metrics, the UI.

Routes:

- ``GET|POST /graphql`` — the GraphQL API; a browser GET shows GraphiQL.
- ``POST /api/v1/lineage`` (and ``/api/v1/lineage/batch``) — OpenLineage events.
- ``GET /healthz`` — the process is up. ``GET /readyz`` — the store answers (503 if not).
- ``GET /metrics`` — Prometheus metrics of this app.
- ``/`` — the web UI (static files).

Statuses: GraphQL errors in a well-formed request (a bad document, a refused
limit, a bad argument) are answered 200 with ``errors`` (GraphQL over HTTP with
``application/json``); a malformed HTTP request (not JSON, no query) is 400; a
missing or unknown token 401, a missing scope 403; a body over the limit 413;
an unreachable store 503 with a JSON message. Nothing a client sends yields 500.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException as StrawberryHTTPException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.ides import get_graphql_ide_html
from strawberry.http.types import QueryParams
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from lineagegraph import __version__
from lineagegraph.api.auth import OPEN_ACCESS, TokenAuth
from lineagegraph.api.context import Context, make_context, store_limiter
from lineagegraph.api.limits import RETRY_AFTER_SECONDS, BodySizeLimit, error_response
from lineagegraph.api.metrics import CONTENT_TYPE_LATEST, Metrics
from lineagegraph.api.openlineage_http import close_ingestion, openlineage_routes
from lineagegraph.api.queries import public_url
from lineagegraph.api.schema import build_schema
from lineagegraph.collector import collector_tuned_for_serving
from lineagegraph.config import Settings
from lineagegraph.errors import (
    Forbidden,
    InvalidInput,
    LineageError,
    StoreUnavailable,
    Unauthorized,
)
from lineagegraph.ingest.batching import decode_json
from lineagegraph.service import LineageService
from lineagegraph.store import open_store

__all__ = ["STATIC_DIR", "create_app"]

logger = logging.getLogger("lineagegraph.api")

STATIC_DIR = Path(__file__).parent / "static"


def _graphiql_html() -> str:
    """strawberry's GraphiQL page with the files it takes from unpkg.com served from
    ``/vendor/`` (``scripts/build-ui.sh`` copies the same releases, so the page's
    integrity hashes still hold), so GraphiQL works where the internet is out of reach."""
    html = get_graphql_ide_html(graphql_ide="graphiql")
    for published, local in _GRAPHIQL_FILES.items():
        html = html.replace(f'"https://unpkg.com/{published}"', f'"/vendor/{local}"')
    return html


# unpkg.com path -> file under static/vendor/
_GRAPHIQL_FILES = {
    "react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom.production.min.js",
    "js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
    "graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css": "graphiql-plugin-explorer.css",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "graphiql-plugin-explorer.umd.js",
}
_GRAPHIQL_HTML = _graphiql_html()


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, auth, error statuses and JSON errors."""

    def __init__(
        self,
        schema: BaseSchema,
        *,
        service: LineageService,
        settings: Settings,
        auth: TokenAuth,
        metrics: Metrics,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql", subscription_protocols=())
        self.service = service
        self.settings = settings
        self.auth = auth
        self.metrics = metrics
        self.limiter = store_limiter(service)

    @property
    def graphql_ide_html(self) -> str:
        """strawberry's GraphiQL page, loading its scripts and styles from this server."""
        return _GRAPHIQL_HTML

    def decode_json(self, data: str | bytes) -> object:
        """Decode a request body as the OpenLineage routes do: nesting past 100 levels,
        ``NaN`` and text that is no Unicode are refused (400, ``BAD_REQUEST`` like the
        other requests that carry no document to run), and so is a body that is not an
        object (or a list, which strawberry refuses as a batch): strawberry read a
        string, number or ``null`` as a request and failed with a 500."""
        value = self._decode(data)
        if not isinstance(value, dict | list):
            raise StrawberryHTTPException(
                400, "the body must be a JSON object: {query, variables, operationName}"
            )
        return value

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        """A GET's parameters, its ``variables`` and ``extensions`` decoded like a body
        (strawberry then says what they must be: an object, or ``null``)."""
        decoded: dict[str, Any] = dict(params)
        for name in ("variables", "extensions"):
            text = params.get(name)
            if text:
                decoded[name] = self._decode(text)
        return decoded

    @staticmethod
    def _decode(data: str | bytes) -> object:
        try:
            return decode_json(data)
        except InvalidInput as error:
            raise StrawberryHTTPException(400, str(error)) from None

    def encode_json(self, data: object) -> bytes:
        """Serialize a response with orjson (several times faster than the json module);
        values orjson refuses (integers past 64 bits in stored attributes) fall back to json."""
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            return json.dumps(data).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request; HTTP-level failures become JSON responses."""
        request = Request(scope, receive)
        response: Response
        try:
            response = await self.run(request)
        except StrawberryHTTPException as error:  # no document to run, or none that may run
            response = _graphql_http_error(error.status_code, error.reason)
        except LineageError as error:
            response = error_response(error, graphql=True)
        await response(scope, receive, send)

    async def run(  # type: ignore[override]
        self,
        request: Request,
        context: Context = UNSET,
        root_value: None = UNSET,
    ) -> Response:
        """Authenticate (GraphiQL's page itself needs no token), then execute."""
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            # a compressed body was read as text ("not UTF-8 text"), and a plain one
            # labelled compressed was run
            raise StrawberryHTTPException(
                415, f"/graphql takes uncompressed bodies, not Content-Encoding {encoding!r}"
            )
        if not _wants_ide(request):
            request.state.principal = self.auth.authenticate(request.headers.get("authorization"))
        return await super().run(request, context, root_value)

    async def get_context(self, request: Any, response: Any) -> Context:
        """A fresh context with per-request DataLoaders."""
        principal = getattr(request.state, "principal", OPEN_ACCESS)
        context = make_context(
            self.service,
            self.settings,
            principal,
            limiter=self.limiter,
            metrics=self.metrics,
            request=request,
            response=response,
        )
        request.state.graphql_context = context
        return context

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Serialize the result; set 503/403/401 when such an error happened."""
        data = await super().process_result(request, result)
        for error in data.get("errors") or ():
            # a document that does not parse fails before the schema's error policy runs
            if isinstance(error, dict):
                error.setdefault("extensions", {}).setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        context: Context | None = getattr(request.state, "graphql_context", None)
        if context is None or context.response is None or not context.status_errors:
            return data
        errors = context.status_errors
        if any(isinstance(e, StoreUnavailable) for e in errors):
            context.response.status_code = 503
            context.response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        elif any(isinstance(e, Unauthorized) for e in errors):
            context.response.status_code = 401
            context.response.headers["WWW-Authenticate"] = 'Bearer realm="lineagegraph"'
        elif any(isinstance(e, Forbidden) for e in errors):
            context.response.status_code = 403
        return data


# The codes of the errors the HTTP layer answers before any document runs (every error
# has a code, as the README says); other statuses are BAD_REQUEST.
_HTTP_ERROR_CODES = {
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def _graphql_http_error(status: int, message: str) -> Response:
    code = _HTTP_ERROR_CODES.get(status, "BAD_REQUEST")
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"Allow": "GET, POST"} if status == 405 else None,
    )


class _GraphQLMethodsOnly:
    """405 for any other method on /graphql (the UI's mount at / answered it, naming GET
    and HEAD as what /graphql allows). An ASGI app, not a function, so that its route
    takes every method, those that no list names too."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _graphql_http_error(405, "/graphql takes GET and POST only")
        await response(scope, receive, send)


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


class HttpMetrics:
    """ASGI middleware: count requests and time them by route template, method and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and record it once the response has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            label = "unmatched" if route is None else (getattr(route, "path", "") or "/")
            # The UI's mount at / takes every path no route has: what it refuses (a
            # missing page, PUT /graphql) matched nothing the server serves.
            if getattr(route, "name", None) == "ui" and status >= 400:
                label = "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.http_requests.labels(label, method, str(status)).inc()
            self.metrics.http_latency.labels(label, method).observe(time.perf_counter() - started)


async def _lineage_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LineageError)
    return error_response(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return JSONResponse(
        {"error": "http_error", "message": error.detail},
        status_code=error.status_code,
        headers=error.headers,
    )


def create_app(
    settings: Settings, service: LineageService | None = None, *, close_service: bool = False
) -> Starlette:
    """The app over ``service`` (or a service over ``settings.store``), closed on shutdown
    when the app opened it or ``close_service`` says so."""
    owned = service is None or close_service
    svc = service if service is not None else LineageService(open_store(settings.store), settings)
    auth = TokenAuth(settings.tokens)
    metrics = Metrics()
    graphql = GraphQLEndpoint(
        build_schema(settings), service=svc, settings=settings, auth=auth, metrics=metrics
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        try:
            await run_in_threadpool(svc.store.ping)
        except StoreUnavailable as error:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "store": public_url(svc.store.url),
                    "message": str(error),
                },
                status_code=503,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        return JSONResponse({"status": "ready", "store": public_url(svc.store.url)})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"], name="graphql"),
        Route("/graphql", _GraphQLMethodsOnly()),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/readyz", readyz, methods=["GET"], name="readyz"),
        Route("/metrics", metrics_endpoint, methods=["GET"], name="metrics"),
        *openlineage_routes(),
    ]
    if (STATIC_DIR / "index.html").is_file():
        routes.append(Mount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="ui"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Full garbage collections stay short, and young ones rare (see the helper).
        with collector_tuned_for_serving():
            try:
                yield
            finally:
                close_ingestion(app)
                if owned:
                    svc.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(HttpMetrics, metrics=metrics),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers={LineageError: _lineage_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = svc
    app.state.auth = auth
    app.state.metrics = metrics
    return app
