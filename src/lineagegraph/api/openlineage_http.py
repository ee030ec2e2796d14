"""The OpenLineage HTTP endpoint, where Marquez has it, so producers only change their URL.

- ``POST /api/v1/lineage`` — one RunEvent, DatasetEvent or JobEvent. Answers
  ``201 Created`` with an empty body, like Marquez.
- ``POST /api/v1/lineage/batch`` — a JSON array of events (the OpenLineage
  OpenAPI ``postEventBatch``). Each event is validated and applied on its own
  merits; the answer lists every event's outcome::

      {"received": 3, "succeeded": 2, "failed": 1,
       "results": [{"index": 0, "status": "ok"},
                   {"index": 1, "status": "failed", "error": "run.runId: missing"},
                   {"index": 2, "status": "ok"}]}

  with status 200 when every event was applied, 207 when some were and 400
  when none was.

The same routes take dbt artifacts and Great Expectations results, which the
server translates exactly as ``lineagegraph ingest dbt|gx --store`` would (so a
``--server`` upload builds the same graph):

- ``POST /api/v1/ingest/dbt`` — ``{"manifest": {...}, "run_results": {...},
  "catalog": {...}, "sources": {...}, "dataset_namespace": "...", "job_namespace": "..."}``
  (all but ``manifest`` optional);
- ``POST /api/v1/ingest/gx`` — ``{"result": {...}, "dataset": "dataset|ns|name"}`` or
  ``{"result": {...}, "namespace": "...", "name": "..."}`` (the dataset optional when
  the result names its dataset).

A key the route does not take is refused (400, naming it and the keys it takes), so
a misspelt ``run_results`` loses nothing silently. Both answer 201 with
``{"nodes": n, "edges": m, "written": {kind: count}, "store": {"nodes": n, "edges": m},
"warnings": [...]}``: what the translation wrote, what the store holds after, and
warnings, which for GX results include a dataset that was not stored before and a
column that the dataset's current schema does not list.

Bodies may be gzip- or deflate-compressed (``Content-Encoding``); a compressed
body may expand to :data:`MAX_EXPANSION` times the body limit. An invalid event
is answered 400 with a message naming the bad field (``run.runId: missing``) and
changes nothing. With auth on, both routes need a token with the ``write`` scope.

Single events are committed in groups: the events that arrive while one
transaction commits share the next one (see
:class:`~lineagegraph.ingest.batching.GroupCommit`, whose workers validate and
translate them as they arrive, then apply them), and each is answered 201 only once
the transaction holding it has committed. A bad event is refused on its own before
its group is applied, and an event that the store rejects is answered on its own,
never failing the others.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import zlib
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lineagegraph.api.auth import require_scope
from lineagegraph.api.limits import error_response
from lineagegraph.config import Settings
from lineagegraph.errors import InvalidField, InvalidInput, LineageError
from lineagegraph.ingest._build import Translation
from lineagegraph.ingest.batching import (
    Document,
    GroupCommit,
    LoneSurrogate,
    array_documents,
    decode_json,
    ingest_documents,
)
from lineagegraph.ingest.dbt import translate_dbt
from lineagegraph.ingest.great_expectations import dataset_named, translate_gx
from lineagegraph.ingest.openlineage import EventTranslator
from lineagegraph.service import LineageService

__all__ = ["MAX_BATCH_EVENTS", "MAX_EXPANSION", "close_ingestion", "openlineage_routes"]

# A decompressed body may be this many times the configured body limit.
MAX_EXPANSION = 10
# The most gzip members one body may hold (each is inflated apart, with what follows it
# copied again: thousands of tiny members would take minutes).
MAX_MEMBERS = 16
# The most events one batch request may carry.
MAX_BATCH_EVENTS = 10_000


class _TooLarge(Exception):
    """The (decompressed) body passed the limit."""


def openlineage_routes() -> list[Route]:
    """The OpenLineage routes; the app provides ``state.service`` and ``state.settings``."""
    return [
        Route("/api/v1/lineage", post_lineage, methods=["POST"], name="openlineage"),
        Route(
            "/api/v1/lineage/batch",
            post_lineage_batch,
            methods=["POST"],
            name="openlineage_batch",
        ),
        Route("/api/v1/ingest/dbt", post_dbt, methods=["POST"], name="ingest_dbt"),
        Route("/api/v1/ingest/gx", post_gx, methods=["POST"], name="ingest_gx"),
        # Other methods answer 405 with Allow: POST (a GET reached the static files: 404).
        *(
            Route(path, _post_only, methods=["GET", "PUT", "PATCH", "DELETE"])
            for path in (
                "/api/v1/lineage",
                "/api/v1/lineage/batch",
                "/api/v1/ingest/dbt",
                "/api/v1/ingest/gx",
            )
        ),
    ]


async def _post_only(request: Request) -> Response:
    """405 for any other method on a route that takes only POST."""
    return JSONResponse(
        {"error": "METHOD_NOT_ALLOWED", "message": f"{request.url.path} takes POST only"},
        status_code=405,
        headers={"Allow": "POST"},
    )


def _settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else Settings()


def _service(request: Request) -> LineageService:
    service: LineageService = request.app.state.service
    return service


class _Ingestion:
    """What the OpenLineage routes share: a translator with memory, and the group commit
    whose worker translates single events and applies them."""

    def __init__(self, service: LineageService) -> None:
        self.translate = EventTranslator().grouped
        self.commit: GroupCommit[Any] = GroupCommit(self.translate, service.apply)


def _ingestion(request: Request) -> _Ingestion:
    """The app's ingestion state, made on first use (route handlers run on one loop)."""
    state = request.app.state
    ingestion: _Ingestion | None = getattr(state, "openlineage_ingestion", None)
    if ingestion is None:
        ingestion = state.openlineage_ingestion = _Ingestion(_service(request))
    return ingestion


def close_ingestion(app: Starlette) -> None:
    """Commit the events still queued and stop the group commit (at shutdown)."""
    ingestion: _Ingestion | None = getattr(app.state, "openlineage_ingestion", None)
    if ingestion is not None:
        ingestion.commit.close()


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``; raises :class:`InvalidInput` or :class:`_TooLarge`."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise InvalidInput(f"unsupported Content-Encoding {encoding!r}: use gzip or deflate")
    # wbits 47 reads gzip or zlib headers; raw deflate (what some clients send) is tried next.
    for wbits in (47,) if encoding != "deflate" else (47, -15):
        try:
            return _inflate(body, wbits, encoding, limit)
        except zlib.error:
            continue
    raise InvalidInput(f"body: not valid {encoding} data")


def _inflate(body: bytes, wbits: int, encoding: str, limit: int) -> bytes:
    """Inflate a whole body: several gzip members one after the other (RFC 1952), with
    NUL padding after any of them (tape-style writers pad each file to a block) and no
    other data after the stream; raises ``zlib.error`` for data that does not start as
    the stream ``wbits`` reads."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while len(parts) < MAX_MEMBERS:
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(rest, limit - size + 1)
        except zlib.error:
            if not parts:
                raise
            raise InvalidInput(f"body: data after the {encoding} stream is not valid") from None
        size += len(part)
        parts.append(part)
        if size > limit or inflater.unconsumed_tail:
            raise _TooLarge
        if not inflater.eof:
            raise InvalidInput(f"body: the {encoding} stream is truncated")
        # Padding between members was refused, though it only ever is zeros, as after
        # the last member (Python's gzip module reads past it too).
        rest = inflater.unused_data.lstrip(b"\0")
        if not rest:
            return b"".join(parts)
        if wbits != 47 or rest[:2] != b"\x1f\x8b":  # only gzip members may follow
            raise InvalidInput(f"body: data follows the end of the {encoding} stream")
    raise InvalidInput(f"body: more than {MAX_MEMBERS} gzip members; send one stream")


async def _read_json(
    request: Request, *, items: bool = False, expected: str = "an OpenLineage event"
) -> tuple[Any, Response | None]:
    """The decoded JSON body, or the response that refuses it (400, 413); ``expected``
    names what an empty body should have held.

    ``items``: a JSON array comes back as its documents (``[i]``), and an element
    holding a lone surrogate fails alone instead of the whole body.
    """
    settings = _settings(request)
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").strip().lower()
    limit = settings.max_body_bytes * MAX_EXPANSION
    try:
        if encoding in ("", "identity"):
            data = body
        else:  # inflating up to the limit takes a while: not on the event loop
            data = await run_in_threadpool(_decompress, body, encoding, limit)
    except _TooLarge:
        return None, JSONResponse(
            {"error": "PAYLOAD_TOO_LARGE", "message": f"body expands past {limit} bytes"},
            status_code=413,
        )
    if not data.strip():
        raise InvalidInput(f"body: empty; send {expected} as JSON")
    try:
        value = decode_json(data)
    except LoneSurrogate as error:
        value = decode_json(data, check_text=False)
        if not (items and isinstance(value, list)):
            raise InvalidInput(f"body: {error}") from None
        return array_documents(value, ""), None
    except InvalidInput as error:
        raise InvalidInput(f"body: {error}") from None
    if items and isinstance(value, list):
        return [Document(f"[{i}]", item) for i, item in enumerate(value)], None
    return value, None


def _record(request: Request, count: int) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None and count:
        metrics.record_ingest("openlineage", count)


async def post_lineage(request: Request) -> Response:
    """Accept one OpenLineage event: 201 once committed, 400 naming the bad field otherwise."""
    try:
        require_scope(request, "write")
        event, refusal = await _read_json(request)
        if refusal is not None:
            return refusal
        await asyncio.wrap_future(_ingestion(request).commit.submit(event))
    except LineageError as error:
        return error_response(error)
    _record(request, 1)
    return Response(status_code=201)


async def post_lineage_batch(request: Request) -> Response:
    """Accept a JSON array of events; answer each event's outcome (200, 207 or 400)."""
    try:
        require_scope(request, "write")
        documents, refusal = await _read_json(request, items=True, expected="an array of events")
        if refusal is not None:
            return refusal
        if not isinstance(documents, list):
            raise InvalidInput("body: must be a JSON array of OpenLineage events")
        if len(documents) > MAX_BATCH_EVENTS:
            raise InvalidInput(
                f"body: {len(documents)} events; send at most {MAX_BATCH_EVENTS} per batch"
            )
        service = _service(request)
        report = await run_in_threadpool(
            functools.partial(ingest_documents, max_events=service.store.batch_events),
            documents,
            _ingestion(request).translate,
            service.apply,
        )
    except LineageError as error:
        return error_response(error)
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(report.outcomes):
        entry: dict[str, Any] = {"index": index, "status": "ok" if outcome.ok else "failed"}
        if not outcome.ok:
            entry["error"] = outcome.error
        results.append(entry)
    failed = len(report.failed)
    _record(request, report.ok)
    status = 200 if not failed else (207 if report.ok else 400)
    return JSONResponse(
        {
            "received": len(documents),
            "succeeded": report.ok,
            "failed": failed,
            "results": results,
        },
        status_code=status,
    )


_DBT_KEYS = ("manifest", "run_results", "catalog", "sources", "dataset_namespace", "job_namespace")
_GX_KEYS = ("result", "dataset", "namespace", "name")


def _only(body: Any, accepted: tuple[str, ...]) -> None:
    """Refuse a body that is not an object, or holds a key the route does not take."""
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object")
    unknown = [k for k in body if k not in accepted]
    if not unknown:
        return
    taken = ", ".join(accepted)
    if len(unknown) > 1:
        keys = ", ".join(repr(k) for k in unknown)
        raise InvalidInput(f"body: unknown keys {keys}; the keys it takes are {taken}")
    close = difflib.get_close_matches(unknown[0], accepted, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    raise InvalidInput(f"body: unknown key {unknown[0]!r}{guess}; the keys it takes are {taken}")


def _artifact(body: Any, key: str, *, required: bool = False) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput("body: must be a JSON object")
    value = body.get(key)
    if value is None and required:
        raise InvalidInput(f"body.{key}: missing")
    return value


def _text(body: Any, key: str) -> str | None:
    value = _artifact(body, key)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidInput(f"body.{key}: must be a non-empty string")
    return value


async def _apply_translation(
    request: Request, translate: Callable[[Any], Translation], source: str
) -> Response:
    """Read a JSON body, translate it and apply the changes; 201 with what was written.

    For GX results, the warnings also say where the checks land on what the store did
    not know (:meth:`LineageService.unknown_check_targets`)."""
    try:
        require_scope(request, "write")
        expected = "dbt artifacts" if source == "dbt" else "Great Expectations results"
        body, refusal = await _read_json(request, expected=expected)
        if refusal is not None:
            return refusal
        service = _service(request)

        def run() -> tuple[Translation, list[str], Any, Any]:
            translation = translate(body)
            warnings = list(translation.warnings)
            if source == "gx":
                warnings.extend(service.unknown_check_targets(translation.changeset))
            applied = service.apply(translation.changeset)
            return translation, warnings, applied, service.stats()

        translation, warnings, applied, totals = await run_in_threadpool(run)
    except LineageError as error:
        return error_response(error)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.record_ingest(source)
    return JSONResponse(
        {
            "nodes": applied.nodes,
            "edges": applied.edges,
            "written": translation.kinds(),
            "store": {"nodes": totals.nodes, "edges": totals.edges},
            "warnings": warnings,
        },
        status_code=201,
    )


async def post_dbt(request: Request) -> Response:
    """Translate and apply uploaded dbt artifacts (manifest, run results, catalog, sources)."""

    def translate(body: Any) -> Translation:
        _only(body, _DBT_KEYS)
        return translate_dbt(
            _artifact(body, "manifest", required=True),
            _artifact(body, "run_results"),
            _artifact(body, "catalog"),
            sources=_artifact(body, "sources"),
            dataset_namespace=_text(body, "dataset_namespace"),
            job_namespace=_text(body, "job_namespace"),
        )

    return await _apply_translation(request, translate, "dbt")


async def post_gx(request: Request) -> Response:
    """Translate and apply an uploaded Great Expectations validation or checkpoint result."""

    def translate(body: Any) -> Translation:
        _only(body, _GX_KEYS)
        result = _artifact(body, "result", required=True)
        try:
            namespace, name = dataset_named(
                _text(body, "dataset"),
                _text(body, "namespace"),
                _text(body, "name"),
                lambda key: f"body.{key}",
            )
        except InvalidField as error:
            raise InvalidInput(f"body.{error.field}: {error}") from None
        return translate_gx(result, namespace=namespace, name=name)

    return await _apply_translation(request, translate, "gx")
