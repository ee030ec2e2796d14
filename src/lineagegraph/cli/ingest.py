"""``lineagegraph ingest``: load OpenLineage events, dbt artifacts or GX results.

Every command writes to a local store (``--store``, default: the configured
store) or sends to a running server (``--server URL``, with ``--token`` or
``LINEAGEGRAPH_TOKEN`` when it has auth on): OpenLineage events go to
``/api/v1/lineage/batch``, dbt artifacts to ``/api/v1/ingest/dbt`` and GX results
to ``/api/v1/ingest/gx``, where the server runs the same translators, so both
ways build the same graph. The exit code is 1 when any event or file failed.
"""

from __future__ import annotations

import functools
import gzip
import json
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lineagegraph.cli.client import TOKEN_HINT, not_empty, open_service, target_of
from lineagegraph.errors import InvalidField, InvalidInput, LineageError
from lineagegraph.ingest.batching import (
    EVENT_FILE_SUFFIXES,
    Document,
    IngestReport,
    Outcome,
    event_files,
    ingest_documents,
    read_documents,
    scan_path,
)
from lineagegraph.ingest.dbt import slim_manifest, translate_dbt
from lineagegraph.ingest.great_expectations import dataset_named, translate_gx
from lineagegraph.ingest.openlineage import EventTranslator
from lineagegraph.store.base import StoreStats

__all__ = ["ingest"]

# Events per request to a server: a batch of realistic events stays well under the
# server's default body limit.
SERVER_BATCH_EVENTS = 500
# Inputs with at least this many events get a progress bar.
PROGRESS_THRESHOLD = 200
# How many failures the summary lists before it counts the rest.
SHOWN_FAILURES = 20


def _target(function: Callable[..., Any]) -> Callable[..., Any]:
    """The options every ingest command shares: where the lineage goes.

    (The options are declared here rather than imported from :mod:`lineagegraph.cli.main`,
    which imports this module, so that ``python -m lineagegraph.cli.main`` works.)
    """
    function = click.option(
        "--token",
        envvar="LINEAGEGRAPH_TOKEN",
        default=None,
        help="Bearer token for --server (env LINEAGEGRAPH_TOKEN).",
    )(function)
    function = click.option(
        "--server",
        envvar="LINEAGEGRAPH_SERVER",
        default=None,
        callback=not_empty,
        metavar="URL",
        help="Send to a running lineagegraph server (e.g. http://127.0.0.1:8000) "
        "instead of writing to a store (env LINEAGEGRAPH_SERVER; --store given on the "
        "command line wins over it).",
    )(function)
    function = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")(
        function
    )
    return click.option(
        "--store",
        "store_url",
        envvar="LINEAGEGRAPH_STORE",
        default=None,
        callback=not_empty,
        help="Store URL: memory://, sqlite:///path/to/lineage.db or bolt://host:7687 "
        "(default: the embedded file under the user's data directory; env LINEAGEGRAPH_STORE).",
    )(function)


@click.group()
def ingest() -> None:
    """Ingest lineage from OpenLineage events, dbt artifacts and Great Expectations results."""


# --- local stores and servers -----------------------------------------------------------------


class _Client:
    """POSTs gzip-compressed JSON to a lineagegraph server."""

    def __init__(self, server: str, token: str | None) -> None:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # the server's root, or its GraphQL endpoint as the questions take it
        self.base = server.rstrip("/").removesuffix("/graphql")
        self.http = httpx.Client(headers=headers, timeout=120.0)

    def post(self, path: str, payload: Any, too_large: str = "") -> tuple[int, dict[str, Any]]:
        """POST a JSON payload; the answer's status and JSON object. Raises
        :class:`click.ClickException` for transport errors and answers that are not the
        route's.

        ``too_large`` is added to the message of a 413 (what else the user can change).
        """
        body = gzip.compress(json.dumps(payload).encode("utf-8"), compresslevel=3)
        try:
            response = self.http.post(f"{self.base}{path}", content=body)
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach {self.base}: {error}") from None
        # The ingest routes answer 200, 201 or 207 with JSON, or 400 with a JSON refusal;
        # anything else (a 405 from a URL with an extra path, a proxy's page) is no answer
        # about the input, so it ends the command naming the URL rather than failing
        # every event with the server's words.
        answer = _json_object(response)
        if response.status_code not in (200, 201, 207, 400) or answer is None:
            hint = {413: too_large, 401: TOKEN_HINT}.get(response.status_code, "")
            raise click.ClickException(
                f"{self.base}{path} answered {response.status_code}: {_message(response)}{hint}"
            )
        return response.status_code, answer

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object, or None when it holds none."""
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:300]
    return _said(payload)


def _said(payload: Any) -> str:
    """What an answer's JSON says: its message, else the JSON itself (cut short)."""
    if isinstance(payload, dict) and "message" in payload:
        return str(payload["message"])
    return json.dumps(payload)[:300]


@contextmanager
def _progress(total: int, *labels: str) -> Iterator[list[Callable[[int], None]]]:
    """Progress bars on stderr for large inputs, one per label, each out of ``total``;
    yields the functions that advance them."""
    if total < PROGRESS_THRESHOLD:
        yield [lambda _: None for _ in labels]
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks = [bar.add_task(label, total=total) for label in labels]
        yield [functools.partial(bar.advance, task) for task in tasks]


# --- summaries --------------------------------------------------------------------------------


def _print_summary(
    what: str,
    report: IngestReport,
    as_json: bool,
    where: str,
    totals: StoreStats | tuple[int, int] | None = None,
    warnings: tuple[str, ...] = (),
    kinds: dict[str, int] | None = None,
    unit: str = "event",
    counted: bool = True,
) -> None:
    failed = report.failed
    if isinstance(totals, StoreStats):
        totals = (totals.nodes, totals.edges)
    if as_json:
        payload: dict[str, Any] = {
            "source": what,
            "target": where,
            f"{unit}s": len(report.outcomes),
            "ok": report.ok,
            "failed": [{"source": o.source, "error": o.error} for o in failed],
            "warnings": list(warnings),
        }
        if counted:
            payload["nodes_written"] = report.nodes
            payload["edges_written"] = report.edges
        if kinds is not None:
            payload["written_by_kind"] = kinds
        if totals is not None:
            payload["store"] = {"nodes": totals[0], "edges": totals[1]}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"{what}: {_many(len(report.outcomes), unit)}, {report.ok} ok, {len(failed)} failed "
        f"→ {where}"
    )
    if kinds:
        console.print("written: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    if counted:
        console.print(
            f"reported: {_many(report.nodes, 'node')}, {_many(report.edges, 'edge')} "
            "(merged into what the store holds; a replay adds nothing)"
        )
    if totals is not None:
        console.print(f"store now holds {_many(totals[0], 'node')}, {_many(totals[1], 'edge')}")
    for warning in warnings:
        console.print(f"[yellow]warning[/]: {warning}")
    for outcome in failed[:SHOWN_FAILURES]:
        console.print(f"[red]failed[/] {outcome.source}: {outcome.error}")
    if len(failed) > SHOWN_FAILURES:
        console.print(f"… and {len(failed) - SHOWN_FAILURES} more failures")


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _exit(report: IngestReport) -> None:
    if report.failed:
        sys.exit(1)


# --- openlineage ------------------------------------------------------------------------------


def _documents(path: str) -> tuple[int, Iterator[Document]]:
    """How many documents PATH holds, and the documents: JSON lines are decoded only as
    they are ingested, so a large file is never held decoded all at once."""
    if path == "-":
        documents = _stdin_documents(sys.stdin.buffer.read())
        return len(documents), iter(documents)
    if not path.strip():
        raise click.BadParameter(
            "is empty: name a file or folder, or - for standard input", param_hint="PATH"
        )
    location = Path(path)
    if not location.exists():
        raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
    return scan_path(location)


def _stdin_documents(data: bytes) -> list[Document]:
    """The documents piped in, read as a file is: gzipped data (``gzip -c events.jsonl``)
    is unpacked, and input that is not UTF-8 is refused whole, not line by line."""
    try:
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        return [Document("<stdin>", error=f"cannot read standard input: {error}")]
    return read_documents(text, "<stdin>")


@ingest.command("openlineage")
@click.argument("path")
@_target
@click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(1, 10_000),
    help="Events per transaction (local store; default 10,000 on the embedded store, "
    f"2,000 on Neo4j) or per request (--server, default {SERVER_BATCH_EVENTS}).",
)
def openlineage_command(
    path: str,
    store_url: str | None,
    server: str | None,
    token: str | None,
    as_json: bool,
    batch_size: int | None,
) -> None:
    """Ingest OpenLineage events from PATH: a JSON event, a JSON array, JSON lines, or a
    folder of such files (in file-name order; .json, .jsonl or .ndjson, gzipped or not);
    '-' reads standard input."""
    store_url, server = target_of(store_url, server, "server")
    count, documents = _documents(path)
    warnings = _no_events(path, count)
    if server:
        report = _send_events(documents, count, server, token, batch_size or SERVER_BATCH_EVENTS)
        _print_summary(path, report, as_json, server, warnings=warnings, counted=False)
        _exit(report)
        return
    service = open_service(store_url)
    try:
        with _progress(count, "translated", "applied") as (read, applied):
            report = ingest_documents(
                documents,
                EventTranslator().grouped,
                service.apply,
                max_events=batch_size or service.store.batch_events,
                on_progress=applied,
                on_read=read,
            )
        totals = service.stats()
    except LineageError as error:
        raise click.ClickException(str(error)) from None
    finally:
        service.close()
    _print_summary(path, report, as_json, service.store.url, totals, warnings=warnings)
    _exit(report)


def _no_events(path: str, count: int) -> tuple[str, ...]:
    """A warning when PATH gives nothing to ingest: a folder without event files (a
    mistyped folder, say), or files or input holding no events (an empty file or ``[]``,
    which a writer that failed may leave)."""
    location = Path(path)
    if path != "-" and location.is_dir() and not event_files(location):
        suffixes = ", ".join(EVENT_FILE_SUFFIXES)
        return (f"{path} holds no event files (names ending {suffixes})",)
    if count == 0:
        return (f"{'standard input' if path == '-' else path} holds no events",)
    return ()


def _send_events(
    documents: Iterable[Document], total: int, server: str, token: str | None, batch_size: int
) -> IngestReport:
    """POST the decodable documents to the batch endpoint, ``batch_size`` documents at a
    time as they are read; merge the per-event answers, in document order."""
    report = IngestReport()
    iterator = iter(documents)
    client = _Client(server, token)
    try:
        with _progress(total, "sent") as (advance,):
            while chunk := list(islice(iterator, batch_size)):
                report.outcomes.extend(_send_chunk(client, chunk))
                advance(len(chunk))
    finally:
        client.close()
    return report


def _send_chunk(client: _Client, chunk: list[Document]) -> list[Outcome]:
    """Send one chunk's decodable documents in one request; every document's outcome."""
    outcomes = {i: Outcome(d.source, d.error) for i, d in enumerate(chunk) if d.error is not None}
    sent = [i for i, d in enumerate(chunk) if d.error is None]
    if sent:
        _, payload = client.post(
            "/api/v1/lineage/batch",
            [chunk[i].value for i in sent],
            too_large="; or send fewer events per request with --batch-size",
        )
        if "results" not in payload:
            message = _said(payload)
            outcomes.update((i, Outcome(chunk[i].source, message)) for i in sent)
        else:
            for entry in payload["results"]:
                i = sent[int(entry["index"])]
                outcomes[i] = Outcome(chunk[i].source, entry.get("error"))
    return [outcomes[i] for i in range(len(chunk))]


# --- dbt and Great Expectations ---------------------------------------------------------------


def _load(path: str | None, what: str) -> Any:
    """A JSON artifact from a file, gunzipped first when its name ends in ``.gz``."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return json.loads(gzip.decompress(data) if path.endswith(".gz") else data)
    except (OSError, EOFError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}", param_hint=what) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"{path} is not valid JSON: {error}", param_hint=what) from None


def _apply_artifact(
    what: str,
    translate: Callable[[], Any],
    upload: tuple[str, dict[str, Any]],
    store_url: str | None,
    server: str | None,
    token: str | None,
    as_json: bool,
    advice: tuple[tuple[str, str], ...] = (),
    check_targets: bool = False,
) -> None:
    """Translate and apply locally, or upload to the server; print the summary.

    ``advice`` holds (words, hint) pairs: an error that holds the words gets the hint
    appended (how to fix it with this command's options). ``check_targets`` warns of
    checks put on a dataset or column the store did not know, as the server does for
    GX results. Both ways print the same summary; a failed file, no counts."""
    store_url, server = target_of(store_url, server, "server")

    def advised(error: str) -> str:
        return error + "".join(hint for words, hint in advice if words in error)

    report = IngestReport()
    if server:
        client = _Client(server, token)
        try:
            status, answer = client.post(*upload)
        finally:
            client.close()
        payload = answer if status < 300 else {}
        error = None if status < 300 else advised(_said(answer))
        report.outcomes.append(Outcome(what, error))
        report.nodes = int(payload.get("nodes", 0))
        report.edges = int(payload.get("edges", 0))
        warnings = tuple(payload.get("warnings", ()))
        stored = payload.get("store")
        totals = (int(stored["nodes"]), int(stored["edges"])) if isinstance(stored, dict) else None
        written = payload.get("written")
        kinds = {str(k): int(n) for k, n in written.items()} if isinstance(written, dict) else None
        _print_summary(
            what, report, as_json, server, totals, warnings, kinds, "file", counted=not error
        )
        _exit(report)
        return
    try:
        translation = translate()
    except InvalidInput as error:
        report.outcomes.append(Outcome(what, advised(str(error))))
        where = store_url or "default store"
        _print_summary(what, report, as_json, where, unit="file", counted=False)
        _exit(report)
        return
    service = open_service(store_url)
    try:
        targets = service.unknown_check_targets(translation.changeset) if check_targets else []
        applied = service.apply(translation.changeset)
        after = service.stats()
    except LineageError as error:
        raise click.ClickException(str(error)) from None
    finally:
        service.close()
    report.outcomes.append(Outcome(what))
    report.nodes, report.edges = applied.nodes, applied.edges
    _print_summary(
        what,
        report,
        as_json,
        service.store.url,
        after,
        (*translation.warnings, *targets),
        translation.kinds(),
        unit="file",
    )


def _namespace(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A namespace option: an empty one (a variable that is not set) would silently mean
    the default namespace, so it is refused."""
    if value is not None and not value.strip():
        raise click.BadParameter(
            "is empty (a variable that is not set?); give a namespace or leave the option out"
        )
    return value


@ingest.command("dbt")
@click.option("--manifest", required=True, type=click.Path(dir_okay=False), help="manifest.json")
@click.option("--run-results", type=click.Path(dir_okay=False), help="run_results.json")
@click.option("--catalog", type=click.Path(dir_okay=False), help="catalog.json")
@click.option(
    "--sources",
    type=click.Path(dir_okay=False),
    help="sources.json, the results of dbt source freshness",
)
@click.option(
    "--dataset-namespace",
    default=None,
    callback=_namespace,
    help="Namespace of the warehouse tables (default <adapter>://<database>), e.g. "
    "snowflake://my-account to match other OpenLineage producers.",
)
@click.option(
    "--job-namespace",
    default=None,
    callback=_namespace,
    help="Namespace of the dbt jobs (default dbt://<project>).",
)
@_target
def dbt_command(
    manifest: str,
    run_results: str | None,
    catalog: str | None,
    sources: str | None,
    dataset_namespace: str | None,
    job_namespace: str | None,
    store_url: str | None,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Ingest a dbt project: models, seeds, snapshots and sources with their columns, model
    lineage, tests as checks, (with --run-results) runs and test results, and (with
    --sources) source freshness results."""
    documents = {
        "manifest": _load(manifest, "--manifest"),
        "run_results": _load(run_results, "--run-results"),
        "catalog": _load(catalog, "--catalog"),
        "sources": _load(sources, "--sources"),
    }
    options = {"dataset_namespace": dataset_namespace, "job_namespace": job_namespace}
    # the server gets only what the translation reads of the manifest
    sent = {**documents, "manifest": slim_manifest(documents["manifest"]), **options}
    body = {k: v for k, v in sent.items() if v is not None}

    def translate() -> Any:
        return translate_dbt(
            documents["manifest"],
            documents["run_results"],
            documents["catalog"],
            sources=documents["sources"],
            dataset_namespace=dataset_namespace,
            job_namespace=job_namespace,
        )

    _apply_artifact(
        manifest, translate, ("/api/v1/ingest/dbt", body), store_url, server, token, as_json
    )


def _dataset_option(
    dataset: str | None, namespace: str | None, name: str | None
) -> tuple[str | None, str | None]:
    try:
        return dataset_named(dataset, namespace, name, lambda key: f"--{key}")
    except InvalidField as error:
        raise click.BadParameter(str(error), param_hint=f"--{error.field}") from None
    except InvalidInput as error:
        raise click.UsageError(str(error)) from None


@ingest.command("gx")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--dataset",
    default=None,
    metavar="ID",
    help="The validated dataset's id, e.g. 'dataset|postgres://db:5432|public.titanic'.",
)
@click.option("--namespace", default=None, help="The validated dataset's namespace.")
@click.option("--name", default=None, help="The validated dataset's name.")
@_target
def gx_command(
    file: str,
    dataset: str | None,
    namespace: str | None,
    name: str | None,
    store_url: str | None,
    server: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Ingest a Great Expectations validation or checkpoint result (GX 1.x or legacy) as
    checks and results. Name the dataset when the file does not (--dataset or
    --namespace with --name); a file whose validations name different datasets is
    refused with one given. The summary warns of a dataset or column the store did not
    know."""
    namespace, name = _dataset_option(dataset, namespace, name)
    result = _load(file, "FILE")
    body = {k: v for k, v in {"result": result, "namespace": namespace, "name": name}.items() if v}
    _apply_artifact(
        file,
        lambda: translate_gx(result, namespace=namespace, name=name),
        ("/api/v1/ingest/gx", body),
        store_url,
        server,
        token,
        as_json,
        (
            ("does not name its dataset", " (--dataset ID, or --namespace NS with --name NAME)"),
            ("are of different datasets", " (leave out --dataset, or --namespace and --name)"),
        ),
        check_targets=True,
    )
