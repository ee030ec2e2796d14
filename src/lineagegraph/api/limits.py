"""Limits and error policy: what a client may ask, and how failures are reported.

- GraphQL documents are bounded in depth, tokens and aliases (strawberry's
  ``QueryDepthLimiter``, ``MaxTokensLimiter`` and ``MaxAliasesLimiter``, sized by
  ``Settings``); traversals are bounded in size and time by the engine, which
  then answers ``truncated``.
- Request bodies are bounded by :class:`BodySizeLimit`: a ``Content-Length`` over
  the limit is refused at once, and a body sent without one (chunked) is counted
  as it streams in and refused as soon as it passes the limit (HTTP 413).
- :class:`ErrorPolicy` gives every GraphQL error a machine-readable
  ``extensions.code`` and hides the details of unexpected server errors (they
  are logged with their traceback instead); errors the HTTP layer maps to a
  status (store unavailable → 503, missing scope → 403) are noted on the context.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode
from graphql.language import FieldNode
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from lineagegraph.config import Settings
from lineagegraph.errors import (
    Forbidden,
    InvalidInput,
    LineageError,
    NotFound,
    StoreUnavailable,
    Unauthorized,
)

__all__ = [
    "BodySizeLimit",
    "ErrorPolicy",
    "OperationMetrics",
    "error_code",
    "error_response",
    "graphql_extensions",
]

logger = logging.getLogger("lineagegraph.api")

# Distinct documents whose parse and validation results are kept (LRU).
DOCUMENT_CACHE_SIZE = 512

_CODES: tuple[tuple[type[LineageError], str], ...] = (
    (InvalidInput, "BAD_USER_INPUT"),
    (NotFound, "NOT_FOUND"),
    (StoreUnavailable, "STORE_UNAVAILABLE"),
    (Unauthorized, "UNAUTHENTICATED"),
    (Forbidden, "FORBIDDEN"),
)


def error_code(error: BaseException) -> str:
    """The ``extensions.code`` for a lineagegraph error."""
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return "INTERNAL_SERVER_ERROR"


RETRY_AFTER_SECONDS = "5"


def error_response(error: LineageError, graphql: bool = False) -> JSONResponse:
    """A JSON response for an error: ``{error, message}``, or GraphQL-shaped for /graphql."""
    code = error_code(error)
    payload: dict[str, Any]
    if graphql:
        payload = {"data": None, "errors": [{"message": str(error), "extensions": {"code": code}}]}
    else:
        payload = {"error": code, "message": str(error)}
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="lineagegraph"'
    if isinstance(error, StoreUnavailable):
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return JSONResponse(payload, status_code=error.status, headers=headers)


class ErrorPolicy(SchemaExtension):
    """Codes every GraphQL error, masks unexpected ones, and notes status-deciding errors.

    It also holds to the GraphQL spec where strawberry does not: a document of several
    operations needs an ``operationName`` (strawberry would run the first one).
    """

    def on_validate(self) -> Iterator[None]:
        """Refuse a document of several operations sent without an operation name."""
        ctx = self.execution_context
        document = ctx.graphql_document
        # strawberry reports the first operation's name when none was sent
        named = getattr(ctx, "_provided_operation_name", None) is not None
        if document is not None and not named and not ctx.pre_execution_errors:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                ctx.pre_execution_errors = [
                    GraphQLError(
                        "Must provide operationName if the document contains several operations.",
                        nodes=operations,
                    )
                ]
        yield

    def on_operation(self) -> Iterator[None]:
        """After the operation, rewrite its errors."""
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        context = self.execution_context.context
        result.errors = [self._process(e, context) for e in result.errors]

    def _process(self, error: GraphQLError, context: Any) -> GraphQLError:
        original = error.original_error
        extensions = dict(error.extensions or {})
        if isinstance(original, ValidationError):
            # A pydantic model rejected a value the GraphQL types let through.
            original = InvalidInput(_pydantic_message(original))
        if isinstance(original, LineageError):
            extensions["code"] = error_code(original)
            noted = getattr(context, "status_errors", None)
            if isinstance(noted, list) and isinstance(
                original, StoreUnavailable | Forbidden | Unauthorized
            ):
                noted.append(original)
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=original,
                extensions=extensions,
            )
        if original is None or isinstance(original, GraphQLError) or error.path is None:
            # Parse, validation and variable-coercion errors: the client's document or values.
            extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
            error.extensions = extensions
            return error
        logger.error(
            "unexpected error resolving %s",
            ".".join(str(p) for p in error.path),
            exc_info=(type(original), original, original.__traceback__),
        )
        return GraphQLError(
            "internal server error (logged on the server)",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )


def _pydantic_message(error: ValidationError) -> str:
    details = error.errors()
    if not details:
        return "invalid input"
    first = details[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"invalid value for {where or 'input'}: {first['msg']}"


# Root fields every schema answers on the query type, though not among its own fields.
_INTROSPECTION = frozenset({"__schema", "__type"})


def root_fields(document: Any, operation_name: str | None, schema: GraphQLSchema) -> str:
    """The operation's root field names, sorted: a bounded label for metrics.

    Only names the schema's root type has count (a client's made-up names would make a
    new series each); a document naming another is ``invalid``."""
    if document is None:
        return "invalid"
    names: set[str] = set()
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        root = schema.get_root_type(definition.operation)
        for selection in definition.selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value != "__typename":
                name = selection.name.value
                introspection = definition.operation.value == "query" and name in _INTROSPECTION
                if root is None or (name not in root.fields and not introspection):
                    return "invalid"
                names.add(selection.name.value)
        break
    if not names:
        return "other"
    ordered = sorted(names)
    return ",".join(ordered[:3]) + (",…" if len(ordered) > 3 else "")


class OperationMetrics(SchemaExtension):
    """Counts GraphQL operations and their latency by root fields, when the context has metrics."""

    def on_operation(self) -> Iterator[None]:
        """Time the operation and record it."""
        started = time.perf_counter()
        yield
        metrics = getattr(self.execution_context.context, "metrics", None)
        if metrics is None:
            return
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except Exception:  # no parsable document or no such operation
            kind = "invalid"
        label = root_fields(ctx.graphql_document, ctx.operation_name, ctx.schema._schema)
        outcome = "error" if ctx.result is not None and ctx.result.errors else "ok"
        metrics.operations.labels(label, kind, outcome).inc()
        metrics.operation_latency.labels(label, kind).observe(time.perf_counter() - started)


def graphql_extensions(settings: Settings) -> list[Any]:
    """The schema extensions: document limits from settings, caches, error policy and metrics.

    The depth and alias rules are built once, so the validation cache (keyed by
    document and rules) answers a repeated document without validating it again;
    each request still gets fresh extension instances.
    """
    tokens = settings.max_query_tokens
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    return [
        lambda: MaxTokensLimiter(max_token_count=tokens),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        ErrorPolicy,
        OperationMetrics,
    ]


# --- request bodies ---------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit (already answered with 413)."""


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 (JSON)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check ``Content-Length`` first, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = {
            "error": "PAYLOAD_TOO_LARGE",
            "message": f"request bodies are limited to {self.max_bytes} bytes "
            "(the server's LINEAGEGRAPH_MAX_BODY_BYTES)",
        }
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                text = value.decode("latin-1").strip()
                if not text.isdigit():
                    await _send_json(
                        send, 400, {"error": "bad request", "message": "invalid Content-Length"}
                    )
                    return
                if int(text) > self.max_bytes:
                    await _send_json(send, 413, too_large)
                    return
        received = 0
        answered = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started and not answered:
                        answered = True
                        await _send_json(send, 413, too_large)
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 went out; whatever the app says next is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            return
        except Exception:
            if answered:
                return  # the app turned BodyTooLarge into another error; 413 stands
            raise
