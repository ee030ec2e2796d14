"""Reading event files and applying many translated events in few transactions.

Applying events one by one costs one transaction (and one fsync) each. Events
whose changesets are combined into one apply give the same graph as applying
them in order, with one exception: a job or schema snapshot is resolved against
the store as it was before the batch, so two snapshots of the same job (or
dataset) that report different inputs, outputs or fields must not share a batch
(the later one must see the earlier one's edges), and a snapshot must not share a
batch with an earlier event that reported an edge or field it leaves out (a RUNNING
event's output, a column a reader's input schema listed), which applying in order
would end, nor a schema with an earlier event that reported its dataset's fields or
versions at a later time, which makes it a late one applied in order.
:func:`plan_batches` starts a new batch there.

Nothing here touches a store: :func:`apply_in_batches` is handed the function
that applies a changeset (``LineageService.apply``).
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from lineagegraph.collector import collector_paused
from lineagegraph.errors import InvalidField, InvalidInput, StoreUnavailable
from lineagegraph.ids import Kind, parse_id
from lineagegraph.ingest._build import entity_id
from lineagegraph.model import ChangeFold, ChangeSet, EdgeKind, GroupedChangeSet, ReportGroup

__all__ = [
    "BATCH_EVENTS",
    "Document",
    "GroupCommit",
    "IngestReport",
    "LoneSurrogate",
    "Outcome",
    "apply_in_batches",
    "array_documents",
    "check_keepable",
    "decode_json",
    "ingest_documents",
    "iter_documents",
    "lone_surrogate",
    "plan_batches",
    "read_documents",
    "read_path",
    "scan_path",
    "split_lines",
]

T = TypeVar("T")
# A translated event: a changeset, or one that reports repeated groups by reference.
Changes = ChangeSet | GroupedChangeSet

# The deepest nesting a document may have (OpenLineage events need about ten levels).
MAX_DEPTH = 100
# Events applied in one transaction by default. Each batch writes a repeated dataset,
# field or edge once, so bigger batches write less per event; a batch of realistic
# events holds a few hundred megabytes at most while it is translated.
BATCH_EVENTS = 2000
EVENT_FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class Document:
    """One decoded JSON document and where it came from, or why it could not be decoded.

    ``source`` is a file name, ``file[i]`` for an array element or ``file:n`` for line ``n``.
    """

    source: str
    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one event: ``error`` is ``None`` when it was applied."""

    source: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the event was applied."""
        return self.error is None


@dataclass
class IngestReport:
    """Per-event outcomes and how many node and edge upserts were applied."""

    outcomes: list[Outcome] = field(default_factory=list)
    nodes: int = 0
    edges: int = 0

    @property
    def ok(self) -> int:
        """How many events were applied."""
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> list[Outcome]:
        """The events that were not applied, with their reasons."""
        return [o for o in self.outcomes if not o.ok]


# A number of 19 digits or more shows as a run of 19 NUL bytes once every digit is
# mapped to NUL (valid JSON holds no raw NUL): two C passes instead of a regex scan,
# which costs several times more on events of a few kilobytes.
_LONG_RUN = 19
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\0" * 10)
_LONG_BYTES = b"\0" * _LONG_RUN
_LONG_TEXT = str.maketrans(dict.fromkeys("0123456789", "\0"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INFINITY, -_INFINITY):
        raise ValueError(f"number {text} is out of range: no 64-bit float holds it")
    return value


_INFINITY = float("inf")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _path_to(
    value: Any,
    bad_leaf: Callable[[Any], bool],
    bad_key: Callable[[str], bool] | None = None,
    path: str = "",
) -> str | None:
    """The path to the first leaf (or key) in a decoded value that ``bad_leaf`` (or
    ``bad_key``) refuses: ``document`` for the value itself, ``a.b[2]`` for a leaf,
    ``a: key 'k'`` for a key; ``None`` if there is none."""
    if type(value) is dict:
        for key, child in value.items():
            if bad_key is not None and bad_key(key):
                return f"{path or 'document'}: key {key!r}"
            found = _path_to(child, bad_leaf, bad_key, f"{path}.{key}" if path else key)
            if found is not None:
                return found
        return None
    if type(value) is list:
        for index, child in enumerate(value):
            found = _path_to(child, bad_leaf, bad_key, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return (path or "document") if bad_leaf(value) else None


def _holds_surrogate(text: Any) -> bool:
    """Whether a key or string holds a lone surrogate. JSON may escape one
    (``"\\ud800"``), and the json module keeps it, but it is no Unicode character: no
    UTF-8 text, and so no store, can hold it."""
    return type(text) is str and _SURROGATE.search(text) is not None


def _out_of_range(number: Any) -> bool:
    """Whether a number is one no 64-bit float holds (Python reads ``1e400`` as inf)."""
    return type(number) is float and (number in (_INFINITY, -_INFINITY) or number != number)


def _deeper_than(value: dict[str, Any] | list[Any], levels: int) -> bool:
    """Whether a container nests more than ``levels`` levels (itself counts as one)."""
    if levels < 1:
        return True
    for child in value.values() if type(value) is dict else value:
        if (type(child) is dict or type(child) is list) and _deeper_than(child, levels - 1):
            return True
    return False


# The nesting of valid JSON from its bytes, in C passes: escapes and then strings go, the
# brackets left become parentheses, and each pass of removing "()" strips one level.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
_TO_PARENS = bytes.maketrans(b"[]{}", b"()()")


def _text_deeper_than(data: bytes, levels: int) -> bool:
    """Whether valid JSON text holding a container nests more than ``levels`` levels,
    as :func:`_deeper_than` counts them."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")  # no quote is escaped now
    structure = data.translate(None, _NOT_STRUCTURE)
    # Strings without brackets are adjacent quotes now. Only a string holding a bracket
    # leaves a quote behind: the first one opens after a bracket outside any string, so
    # its run of quotes has odd length.
    structure = structure.replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])  # what lies outside strings
    structure = structure.translate(_TO_PARENS)
    for _ in range(levels):
        if not structure:
            return False
        structure = structure.replace(b"()", b"")
    return bool(structure)


def _has_long_number(data: bytes | str) -> bool:
    if isinstance(data, bytes):
        return _LONG_BYTES in data.translate(_DIGITS_TO_NUL)
    return "\0" * _LONG_RUN in data.translate(_LONG_TEXT)


class LoneSurrogate(InvalidInput):
    """Valid JSON holding text that is no Unicode: a lone surrogate."""


def decode_json(data: bytes | str, *, check_text: bool = True) -> Any:
    """Decode one JSON document; raises :class:`InvalidInput` naming the line and column.

    ``NaN``, ``Infinity`` and numbers past a 64-bit float (``1e400``), which Python's
    decoder would accept, are refused, and so is nesting deeper than :data:`MAX_DEPTH`
    levels. So is a lone surrogate (:class:`LoneSurrogate`, naming where it is), unless
    ``check_text`` is off: the caller then checks the parts it takes one by one, with
    :func:`lone_surrogate`.
    """
    # orjson decodes strict JSON several times faster; whatever it refuses (errors, UTF-16
    # text) gets the standard decoder's verdict, and so does a document with a number of
    # 19 digits or more, which orjson would round to a float past 64 bits.
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = _decode_strictly(data)
    else:
        if _has_long_number(data):
            value = _decode_strictly(data)
        elif type(value) is dict or type(value) is list:
            text = data if isinstance(data, bytes) else data.encode()
            if _text_deeper_than(text, MAX_DEPTH):
                raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels")
            return value
    if (type(value) is dict or type(value) is list) and _deeper_than(value, MAX_DEPTH):
        raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels")
    # orjson refuses lone surrogates, so only what the json module decoded can hold one
    refusal = lone_surrogate(value) if check_text else None
    if refusal is not None:
        raise LoneSurrogate(refusal)
    return value


def lone_surrogate(value: Any) -> str | None:
    """Why a decoded JSON value cannot be kept, if a key or string in it holds a lone
    surrogate (the path to it, then the reason); ``None`` if none does."""
    where = _path_to(value, _holds_surrogate, _holds_surrogate)
    if where is None:
        return None
    return f"{where}: text is not valid Unicode: it holds a lone surrogate"


def check_keepable(value: Any) -> None:
    """Refuse a JSON value that no JSON text was decoded into (a GraphQL literal, which
    the parser reads with Python's numbers and its own nesting bound) where
    :func:`decode_json` would have refused its text: nesting deeper than
    :data:`MAX_DEPTH` levels, or a number no 64-bit float holds (:class:`InvalidField`
    naming the path to it)."""
    if (type(value) is dict or type(value) is list) and _deeper_than(value, MAX_DEPTH):
        raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels")
    where = _path_to(value, _out_of_range)
    if where is not None:
        raise InvalidField(where, f"{where}: number out of range: no 64-bit float holds it")


def _decode_strictly(data: bytes | str) -> Any:
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput("not UTF-8 text") from None
    except ValueError as error:
        raise InvalidInput(f"not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidInput(f"JSON nested deeper than {MAX_DEPTH} levels") from None


def read_documents(text: str, source: str) -> list[Document]:
    """The documents in some text: one JSON value, a JSON array of them, or JSON lines.

    A JSON array yields one document per element (``source[i]``); JSON lines one
    per non-empty line (``source:line``), each decoded on its own so a bad line
    fails alone.
    """
    return list(iter_documents(text, source))


def iter_documents(text: str, source: str) -> Iterator[Document]:
    """:func:`read_documents` one document at a time: JSON lines are decoded as they are
    consumed, so a large file is never held decoded all at once."""
    return _scan(text, source)[1]


def _scan(text: str | bytes, source: str) -> tuple[int, Iterator[Document]]:
    """How many documents some text holds, and the documents, JSON lines decoded lazily.

    Text is scanned as its UTF-8 bytes, which orjson and the checks in decode_json handle
    fastest, and whose lines end at CR, LF or CRLF only: JSON strings may hold the other
    separators that Unicode knows (U+2028, say) unescaped.
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    stripped = data.strip()
    if not stripped:
        return 0, iter(())
    try:
        value = decode_json(stripped)
    except LoneSurrogate as whole:
        value = decode_json(stripped, check_text=False)
        if not isinstance(value, list):
            return 1, iter([Document(source, error=str(whole))])
        return len(value), iter(array_documents(value, source))
    except InvalidInput as whole:
        lines = [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]
        if len(lines) < 2:
            return 1, iter([Document(source, error=str(whole))])
        return len(lines), _decode_lines(lines, source)
    if isinstance(value, list):
        return len(value), (Document(f"{source}[{i}]", item) for i, item in enumerate(value))
    return 1, iter([Document(source, value)])


def array_documents(values: list[Any], source: str) -> list[Document]:
    """The elements of a JSON array decoded with ``check_text`` off, as documents
    (``source[i]``): one holding a lone surrogate is refused alone."""
    documents = []
    for index, value in enumerate(values):
        refusal = lone_surrogate(value)
        where = f"{source}[{index}]"
        documents.append(Document(where, error=refusal) if refusal else Document(where, value))
    return documents


def _decode_lines(lines: Iterable[tuple[int, bytes]], source: str) -> Iterator[Document]:
    for number, line in lines:
        where = f"{source}:{number}"
        try:
            yield Document(where, decode_json(line))
        except InvalidInput as error:
            yield Document(where, error=str(error))


def event_files(path: Path) -> list[Path]:
    """The event files under a folder, in file-name order (``.json``, ``.jsonl``, gzipped)."""
    return sorted(
        (p for p in path.rglob("*") if p.is_file() and p.name.endswith(EVENT_FILE_SUFFIXES)),
        key=lambda p: p.relative_to(path).as_posix(),
    )


def read_path(path: Path) -> Iterator[Document]:
    """The documents in a file, or in every event file of a folder in file-name order."""
    for _, documents in _scan_files(path):
        yield from documents


def scan_path(path: Path) -> tuple[int, Iterator[Document]]:
    """How many documents :func:`read_path` yields, and those documents.

    Every file is read once up front to count its documents. A file of JSON lines is
    then read again, a chunk at a time, as its documents are consumed: it is never held
    whole, and its lines are decoded one by one. Any other file (one document, or an
    array of them) is held from the count on.
    """
    scanned = list(_scan_files(path))
    return sum(count for count, _ in scanned), chain.from_iterable(d for _, d in scanned)


# Event files are read this many bytes at a time.
_CHUNK_BYTES = 1 << 20
# What reading an event file (or a gzipped one) may raise.
_UNREADABLE = (OSError, EOFError, zlib.error)


def _scan_files(path: Path) -> Iterator[tuple[int, Iterator[Document]]]:
    files = event_files(path) if path.is_dir() else [path]
    for file in files:
        try:
            yield _scan_file(file)
        except (*_UNREADABLE, UnicodeDecodeError) as error:
            yield 1, iter([Document(str(file), error=f"cannot read the file: {error}")])


def _scan_file(file: Path) -> tuple[int, Iterator[Document]]:
    """A file's document count and documents, as :func:`_scan` finds them in its bytes.

    A file whose first non-empty line is a JSON value of its own, followed by more
    non-empty lines, can only be JSON lines: it is counted here and read again as its
    documents are consumed. The whole file must be UTF-8 (or it is refused whole, raising
    ``UnicodeDecodeError``), so that is checked while counting.
    """
    lines = 0
    first: bytes | None = None
    decoder = codecs.getincrementaldecoder("utf-8")()
    # A file of up to a chunk is kept as it is counted, so a small one is read once.
    kept: list[bytes] | None = []
    size = 0
    for line in _file_lines(file):
        decoder.decode(line)
        if kept is not None:
            size += len(line)
            if size > _CHUNK_BYTES:
                kept = None
            else:
                kept.append(line)
        if line.strip():
            lines += 1
            if first is None:
                first = line
    decoder.decode(b"", final=True)
    if lines < 2 or first is None or not _is_json(first):
        return _scan(b"".join(kept) if kept is not None else _read(file), str(file))
    return lines, _stream_lines(file)


def _is_json(line: bytes) -> bool:
    try:
        decode_json(line)
    except InvalidInput:
        return False
    return True


def _open(file: Path) -> io.BufferedIOBase:
    return gzip.open(file, "rb") if file.name.endswith(".gz") else file.open("rb")


def _read(file: Path) -> bytes:
    with _open(file) as stream:
        return stream.read()


def _file_lines(file: Path) -> Iterator[bytes]:
    with _open(file) as stream:
        yield from split_lines(stream)


def split_lines(stream: io.BufferedIOBase, chunk_size: int = _CHUNK_BYTES) -> Iterator[bytes]:
    """The lines of a byte stream, read a chunk at a time, with their ends.

    The same lines as ``bytes.splitlines(keepends=True)`` of the whole stream: a line
    ends at CR, LF or CRLF, including a CRLF that falls across two chunks, and a line
    longer than a chunk is joined once, not once per chunk.
    """
    pending: list[bytes] = []  # the start of a line not ended yet, or one that ends at CR
    while chunk := stream.read(chunk_size):
        if pending and pending[-1].endswith(b"\r"):  # ended, unless an LF follows
            if chunk.startswith(b"\n"):
                pending.append(b"\n")
                chunk = chunk[1:]
            yield b"".join(pending)
            pending = []
            if not chunk:
                continue
        lines = chunk.splitlines(keepends=True)
        tail = None if lines[-1].endswith(b"\n") else lines.pop()
        if lines:
            if pending:
                lines[0] = b"".join([*pending, lines[0]])
                pending = []
            yield from lines
        if tail is not None:
            pending.append(tail)
    if pending:
        yield b"".join(pending)


def _stream_lines(file: Path) -> Iterator[Document]:
    """The documents of a JSON lines file, read again and decoded a line at a time; if it
    can no longer be read (deleted since it was counted, say), a document says so."""
    # Each line holds one line end (CR, LF or CRLF), which a decoding error must not count.
    numbered = ((n, line.rstrip(b"\r\n")) for n, line in enumerate(_file_lines(file), start=1))
    try:
        yield from _decode_lines(((n, line) for n, line in numbered if line.strip()), str(file))
    except _UNREADABLE as error:
        yield Document(str(file), error=f"cannot read the file: {error}")


def _plain(changes: Changes) -> ChangeSet:
    """The changeset itself, without any groups it reports by reference."""
    return changes.changeset if isinstance(changes, GroupedChangeSet) else changes


def _expanded(changes: Changes) -> ChangeSet:
    return changes.expanded() if isinstance(changes, GroupedChangeSet) else changes


def _signature(changeset: ChangeSet) -> dict[str, Any]:
    """What each snapshot of a changeset reports, by job or dataset id."""
    signature: dict[str, Any] = {
        s.job_id: (
            frozenset(s.inputs),
            frozenset(s.outputs),
            None if s.column_edges is None else frozenset(s.column_edges),
        )
        for s in changeset.snapshots
    }
    signature.update((s.dataset_id, s.fields) for s in changeset.schemas)  # sorted ids
    return signature


# The edges a job or schema snapshot ends when it leaves them out.
_ENDED_BY_SNAPSHOTS = frozenset(
    {EdgeKind.READS, EdgeKind.WRITES, EdgeKind.DERIVES, EdgeKind.HAS_FIELD}
)


@lru_cache(maxsize=1 << 16)
def _dataset_of_field(field_id: str) -> str:
    key = parse_id(field_id)
    return entity_id(Kind.DATASET, key.namespace, key.name)


class _Reported:
    """What the changesets of a batch so far reported that a snapshot may end: each job's
    ``READS`` and ``WRITES`` edges (apart: a snapshot that reads what the job wrote
    still ends the write), its ``DERIVES`` edges (by the job they name) and each
    dataset's fields (``HAS_FIELD`` targets, by the dataset they belong to); and when
    each dataset's fields or versions were last reported, which tells a schema that
    arrives late (its fields only it lists end then)."""

    def __init__(self) -> None:
        self.reads: dict[str, set[str]] = {}  # job id -> the datasets it reads
        self.writes: dict[str, set[str]] = {}  # job id -> the datasets it writes
        self.derived: dict[str, set[tuple[str, str]]] = {}  # job id -> (source, target)
        self.fields: dict[str, set[str]] = {}  # dataset id -> field ids
        self.named: dict[str, str] = {}  # dataset id -> latest report of a field or version
        # the groups taken in, each with the datasets it reports fields of
        self._groups: dict[ReportGroup, tuple[str, ...]] = {}

    def ends_any(self, changeset: ChangeSet) -> bool:
        """Whether a snapshot of the changeset leaves out something reported so far."""
        for snapshot in changeset.snapshots:
            reads = self.reads.get(snapshot.job_id)
            if reads and not reads.issubset(snapshot.inputs):
                return True
            writes = self.writes.get(snapshot.job_id)
            if writes and not writes.issubset(snapshot.outputs):
                return True
            derived = self.derived.get(snapshot.job_id)
            edges = snapshot.column_edges
            if derived and edges is not None and not derived.issubset(edges):
                return True
        for schema in changeset.schemas:
            fields = self.fields.get(schema.dataset_id)
            if fields and not fields.issubset(schema.fields):
                return True
            # Applied in order, a schema older than the batch's report of the dataset's
            # fields or versions (a reader's input schema, a newer run) arrives late: the
            # fields only it lists end at that report, which the store has yet to hold.
            # One that lists nothing the batch has not reported ends nothing.
            named = self.named.get(schema.dataset_id)
            if (
                named is not None
                and schema.at < named
                and not (fields is not None and fields.issuperset(schema.fields))
            ):
                return True
        return False

    def add(self, changes: Changes) -> None:
        """Take in what a changeset reports."""
        if isinstance(changes, GroupedChangeSet):
            for _, _, group, seen in changes.groups:
                datasets = self._groups.get(group)
                if datasets is None:  # groups repeat event after event
                    for source, kind, target, attrs in group.links:
                        if kind in _ENDED_BY_SNAPSHOTS:
                            self._add(source, kind, target, attrs)
                    datasets = tuple(
                        {
                            _dataset_of_field(target): None
                            for _, kind, target, _ in group.links
                            if kind is EdgeKind.HAS_FIELD
                        }
                    )
                    self._groups[group] = datasets
                for dataset in datasets:
                    self._name(dataset, seen)
        for edge in _plain(changes).edges:
            if edge.kind in _ENDED_BY_SNAPSHOTS:
                self._add(edge.source_id, edge.kind, edge.target_id, edge.attrs)
                if edge.kind is EdgeKind.HAS_FIELD:
                    self._name(_dataset_of_field(edge.target_id), edge.last_seen)
            elif edge.kind is EdgeKind.HAS_VERSION:
                self._name(edge.source_id, edge.last_seen)

    def _name(self, dataset: str, at: str) -> None:
        if at > self.named.get(dataset, ""):
            self.named[dataset] = at

    def _add(self, source: str, kind: EdgeKind, target: str, attrs: dict[str, Any]) -> None:
        if kind is EdgeKind.READS:
            self.reads.setdefault(target, set()).add(source)
        elif kind is EdgeKind.WRITES:
            self.writes.setdefault(source, set()).add(target)
        elif kind is EdgeKind.HAS_FIELD:
            self.fields.setdefault(_dataset_of_field(target), set()).add(target)
        else:
            job = attrs.get("job")
            if isinstance(job, str):
                self.derived.setdefault(job, set()).add((source, target))


def plan_batches(
    changesets: Sequence[Changes], max_events: int = BATCH_EVENTS, max_items: int = 500_000
) -> list[list[int]]:
    """Group consecutive changesets (by index) that can be applied as one.

    A group ends before a changeset whose job or schema snapshot disagrees with an
    earlier snapshot of the same job or dataset in the group, or leaves out an edge
    or field that an earlier changeset in the group reported (a RUNNING event's
    output, a column a reader's input schema listed), or is a schema older than an
    earlier changeset's report of its dataset's fields or versions, before one that
    deletes entities, and
    at ``max_events`` changesets or ``max_items`` nodes and edges.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    seen: dict[str, Any] = {}
    reported = _Reported()
    items = 0
    for index, changes in enumerate(changesets):
        changeset = _plain(changes)
        signature = _signature(changeset)
        conflict = any(job in seen and seen[job] != sig for job, sig in signature.items())
        size = changes.size
        if current and (
            conflict
            or changeset.deletes
            or len(current) >= max_events
            or items + size > max_items
            or reported.ends_any(changeset)
        ):
            groups.append(current)
            current, seen, items = [], {}, 0
            reported = _Reported()
        current.append(index)
        seen.update(signature)
        reported.add(changes)
        items += size
    if current:
        groups.append(current)
    return groups


def apply_in_batches(
    items: Iterable[tuple[str, Changes]],
    apply: Callable[[ChangeSet], Any],
    *,
    max_events: int = BATCH_EVENTS,
    on_progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Apply translated events in as few transactions as keep the outcome the same.

    ``items`` are (source, changeset) pairs; ``apply`` applies one changeset
    atomically. When a combined batch is rejected as invalid, its events are
    applied one by one so each failure is attributed to its own event. Errors
    other than :class:`InvalidInput` (the store is unavailable) propagate.
    ``on_progress`` is called with the number of events each applied batch held.
    """
    pairs = list(items)
    report = IngestReport()
    for group in plan_batches([cs for _, cs in pairs], max_events=max_events):
        members = [pairs[i] for i in group]
        combined = _combine([cs for _, cs in members])
        try:
            _count(report, apply(combined))
            report.outcomes.extend(Outcome(source) for source, _ in members)
        except InvalidInput as error:
            if len(members) == 1:
                report.outcomes.append(Outcome(members[0][0], str(error)))
            else:
                for source, changeset in members:
                    try:
                        _count(report, apply(_expanded(changeset)))
                        report.outcomes.append(Outcome(source))
                    except InvalidInput as single:
                        report.outcomes.append(Outcome(source, str(single)))
        if on_progress is not None:
            on_progress(len(members))
    return report


def ingest_documents(
    documents: Iterable[Document],
    translate: Callable[[Any], Changes],
    apply: Callable[[ChangeSet], Any],
    *,
    max_events: int = BATCH_EVENTS,
    on_progress: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> IngestReport:
    """Translate every document and apply the ones that translate, in batches.

    Documents are consumed ``max_events`` at a time, so however long the input, only
    one batch is held translated. Outcomes come back in document order; a document
    that does not decode or translate fails alone with its reason and changes nothing.
    ``on_progress`` is called with how many documents are done (applied, or failed),
    ``on_read`` with how many were read and translated, every few hundred.
    """
    report = IngestReport()
    iterator = iter(documents)
    while True:
        with collector_paused():
            part = _ingest_chunk(
                islice(iterator, max_events), translate, apply, max_events, on_progress, on_read
            )
        if not part.outcomes:
            break
        report.outcomes.extend(part.outcomes)
        report.nodes += part.nodes
        report.edges += part.edges
    return report


# ingest_documents reports documents read in steps of this many.
_READ_STEP = 250


def _ingest_chunk(
    documents: Iterable[Document],
    translate: Callable[[Any], Changes],
    apply: Callable[[ChangeSet], Any],
    max_events: int,
    on_progress: Callable[[int], None] | None,
    on_read: Callable[[int], None] | None,
) -> IngestReport:
    # Each document is translated as it is read and dropped once translated: only the
    # (much smaller) changesets of a chunk are held, and nothing of the chunk is alive
    # once the collector runs again, which scans every container allocated meanwhile
    # that still is.
    outcomes: dict[int, Outcome] = {}
    translated: list[tuple[str, Changes]] = []
    positions: list[int] = []
    index = -1
    for index, document in enumerate(documents):
        if on_read is not None and index % _READ_STEP == 0 and index:
            on_read(_READ_STEP)
        if document.error is not None:
            outcomes[index] = Outcome(document.source, document.error)
            if on_progress is not None:
                on_progress(1)
            continue
        try:
            changeset = translate(document.value)
        except InvalidInput as error:
            outcomes[index] = Outcome(document.source, str(error))
            if on_progress is not None:
                on_progress(1)
            continue
        translated.append((document.source, changeset))
        positions.append(index)
    if on_read is not None and index >= 0:
        on_read(index % _READ_STEP + 1)
    report = apply_in_batches(translated, apply, max_events=max_events, on_progress=on_progress)
    for position, outcome in zip(positions, report.outcomes, strict=True):
        outcomes[position] = outcome
    report.outcomes = [outcomes[i] for i in sorted(outcomes)]
    return report


def _combine(changesets: Sequence[Changes]) -> ChangeSet:
    """One changeset holding several, merged (the service reads it before the store does)."""
    if len(changesets) == 1:
        return _expanded(changesets[0])
    fold = ChangeFold(_plain(changesets[0]).origin)
    for changeset in changesets:
        fold.add(changeset)
    return fold.result()


class GroupCommit(Generic[T]):
    """Applies what concurrent callers hand in, in shared transactions.

    Group commit: while one group is applied (one transaction, one fsync), the items
    that arrive meanwhile are prepared and queue up, and the next group takes all of
    them (up to ``max_events``): each is turned into a changeset by ``prepare``
    (validating and translating an event, say), in arrival order, and the changesets
    are applied combined, split where :func:`plan_batches` says, so the outcome is that
    of applying them one by one in arrival order. A caller's future resolves only once
    the transaction that holds its changeset has committed, with what ``apply``
    returned for the group, or fails with what ``prepare`` raised for its item alone.
    When a combined group fails, its changesets are applied one by one, so each caller
    gets its own outcome and a bad changeset fails alone. A caller that cancels its
    future before its group starts is left out of it.

    Two worker threads, started with the first item, do the work, so the CPU-bound part
    of ingestion does not contend for the interpreter lock with the threads that serve
    requests: one prepares items as they arrive, the other applies the prepared ones.
    Apply spends part of its time in the store (SQLite's own code, a fsync, a round trip
    to Neo4j) without the interpreter lock, and the items that arrive meanwhile are
    prepared then rather than after it. The next group is taken once preparing has
    caught up with the arrivals, so items that arrive together share a transaction; and
    the preparing thread lets go of the lock after each item, so that apply, back from
    the store, never waits long for it.
    """

    def __init__(
        self,
        prepare: Callable[[T], Changes],
        apply: Callable[[ChangeSet], Any],
        *,
        max_events: int = BATCH_EVENTS,
    ):
        self._prepare = prepare
        self._apply = apply
        self._max_events = max_events
        self._arrived: deque[tuple[T, Future[Any]]] = deque()
        self._prepared: list[tuple[Changes, Future[Any]]] = []
        self._preparing = False
        lock = threading.Lock()
        self._has_arrivals = threading.Condition(lock)
        self._has_prepared = threading.Condition(lock)
        self._workers: list[threading.Thread] = []
        self._closed = False

    def submit(self, item: T) -> Future[Any]:
        """Queue an item; the future resolves when it is committed, or fails as it did.

        Raises :class:`StoreUnavailable` once the group commit is closed.
        """
        future: Future[Any] = Future()
        with self._has_arrivals:
            if self._closed:
                raise StoreUnavailable("the server is shutting down")
            self._arrived.append((item, future))
            if not self._workers:
                self._workers = [
                    threading.Thread(target=target, name=name, daemon=True)
                    for target, name in (
                        (self._prepare_arrivals, "lineagegraph-prepare"),
                        (self._commit_groups, "lineagegraph-group-commit"),
                    )
                ]
                for worker in self._workers:
                    worker.start()
            self._has_arrivals.notify()
        return future

    def close(self) -> None:
        """Apply what is queued, then stop; later submissions are refused."""
        with self._has_arrivals:
            self._closed = True
            self._has_arrivals.notify()
            self._has_prepared.notify()
            workers = self._workers
        for worker in workers:
            worker.join()

    def _caught_up(self) -> bool:
        """Whether every item that arrived is prepared (called with the lock held)."""
        return not self._arrived and not self._preparing

    def _prepare_arrivals(self) -> None:
        arrived, prepared = self._arrived, self._prepared
        while True:
            with self._has_arrivals:
                self._preparing = False
                self._has_prepared.notify()
                while not arrived and not self._closed:
                    self._has_arrivals.wait()
                if not arrived:
                    return
                item, future = arrived.popleft()
                self._preparing = True
            try:
                changes = self._prepare(item)
            except Exception as error:
                if future.set_running_or_notify_cancel():
                    future.set_exception(error)
                continue
            with self._has_prepared:
                prepared.append((changes, future))
            time.sleep(0)  # let go of the interpreter lock between items

    def _commit_groups(self) -> None:
        prepared, limit = self._prepared, self._max_events
        while True:
            with self._has_prepared:
                while not (
                    (prepared and (self._caught_up() or len(prepared) >= limit))
                    or (self._closed and self._caught_up())
                ):
                    self._has_prepared.wait()
                if not prepared:
                    return
                taken = prepared[:limit]
                del prepared[:limit]
            group = [(changes, f) for changes, f in taken if f.set_running_or_notify_cancel()]
            if group:
                self._commit(group)

    def _commit(self, group: list[tuple[Changes, Future[Any]]]) -> None:
        for batch in plan_batches([cs for cs, _ in group], max_events=self._max_events):
            members = [group[i] for i in batch]
            try:
                result = self._apply(_combine([cs for cs, _ in members]))
            except Exception as error:
                if len(members) == 1:
                    members[0][1].set_exception(error)
                    continue
                for changeset, future in members:
                    try:
                        future.set_result(self._apply(_expanded(changeset)))
                    except Exception as single:
                        future.set_exception(single)
            else:
                for _, future in members:
                    future.set_result(result)


def _count(report: IngestReport, result: Any) -> None:
    report.nodes += int(getattr(result, "nodes", 0))
    report.edges += int(getattr(result, "edges", 0))
