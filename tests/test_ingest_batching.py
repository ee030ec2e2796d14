"""Reading event files and applying events in batches without changing the outcome."""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import tracemalloc
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineagegraph.errors import InvalidInput, StoreUnavailable
from lineagegraph.ids import Kind, make_id
from lineagegraph.ingest.batching import (
    MAX_DEPTH,
    Document,
    GroupCommit,
    apply_in_batches,
    decode_json,
    ingest_documents,
    plan_batches,
    read_documents,
    read_path,
    scan_path,
    split_lines,
)
from lineagegraph.ingest.openlineage import translate_event
from lineagegraph.model import ChangeSet, Dataset, Edge, EdgeKind, JobSnapshot, Origin
from lineagegraph.service import LineageService
from lineagegraph.store import open_store

RUN = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


def run_event(
    job: str, source: str, time: str = "2024-05-01T10:00:00Z", run: str = RUN
) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": time,
        "producer": "https://example.com/p",
        "run": {"runId": run},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": "pg", "name": source}],
        "outputs": [{"namespace": "pg", "name": f"{job}_out"}],
    }


def test_one_document_an_array_and_json_lines() -> None:
    one = read_documents('{"a": 1}', "x.json")
    assert [(d.source, d.value) for d in one] == [("x.json", {"a": 1})]
    array = read_documents('[{"a": 1}, {"a": 2}]', "x.json")
    assert [(d.source, d.value) for d in array] == [
        ("x.json[0]", {"a": 1}),
        ("x.json[1]", {"a": 2}),
    ]
    lines = read_documents('{"a": 1}\n\n{"a": oops}\n{"a": 3}\n', "x.jsonl")
    assert [(d.source, d.value, d.error) for d in lines] == [
        ("x.jsonl:1", {"a": 1}, None),
        ("x.jsonl:3", None, "not valid JSON: Expecting value at line 1 column 7"),
        ("x.jsonl:4", {"a": 3}, None),
    ]
    broken = read_documents('{"a": ', "x.json")
    assert [(d.source, d.error) for d in broken] == [
        ("x.json", "not valid JSON: Expecting value at line 1 column 6")
    ]
    assert read_documents("  \n", "empty.json") == []


def test_json_lines_end_only_at_line_breaks(tmp_path: Path) -> None:
    # JSON strings may hold U+2028 and other Unicode separators unescaped.
    first = '{"name": "a\u2028b\u0085c\u2029d"}'
    text = f'{first}\r\n{{"a": 2}}\r{{"a": 3}}\n'
    expected = [
        ("x.jsonl:1", {"name": "a\u2028b\u0085c\u2029d"}),
        ("x.jsonl:2", {"a": 2}),
        ("x.jsonl:3", {"a": 3}),
    ]
    assert [(d.source, d.value) for d in read_documents(text, "x.jsonl")] == expected
    (tmp_path / "x.jsonl").write_bytes(text.encode())
    found = [(d.source.rsplit("/", 1)[-1], d.value) for d in read_path(tmp_path / "x.jsonl")]
    assert found == expected


def test_decode_json_keeps_what_the_json_module_decodes() -> None:
    document = '{"big": 123456789012345678901234567890, "small": -9223372036854775809, "x": 1.5}'
    for data in (document, document.encode(), document.encode("utf-16")):
        assert decode_json(data) == json.loads(document)
    assert decode_json(b'["\\ud83d\\ude00", 1e308]') == ["\U0001f600", 1e308]  # a pair is text
    with pytest.raises(InvalidInput, match="NaN is not valid JSON"):
        decode_json(b'{"a": NaN}')
    with pytest.raises(InvalidInput, match="nested deeper than 100 levels"):
        decode_json("[" * 101 + "]" * 101)
    assert decode_json("[" * 100 + "]" * 100) is not None


# Strings full of what the nesting check must see through: brackets, quotes, escapes.
_tricky_text = st.text(alphabet='[]{}"\\/ a\u00e9\u2028\n', max_size=8)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky_text, inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(_json_values, st.booleans())
def test_decode_json_measures_nesting_as_the_decoded_value_has_it(
    value: Any, ascii_only: bool
) -> None:
    at_limit = value
    for _ in range(MAX_DEPTH - _depth(value)):
        at_limit = [at_limit]
    text = json.dumps(at_limit, ensure_ascii=ascii_only)
    assert decode_json(text.encode()) == at_limit
    assert decode_json(text) == at_limit
    over = json.dumps({"over": at_limit}, ensure_ascii=ascii_only)
    with pytest.raises(InvalidInput, match="nested deeper than 100 levels"):
        decode_json(over.encode())
    with pytest.raises(InvalidInput, match="nested deeper than 100 levels"):
        decode_json(over)


def test_decode_json_refuses_what_no_store_could_keep() -> None:
    # The json module decodes a lone surrogate, which is no Unicode, and 1e400 as infinity.
    refusals = {
        b'{"run": {"facets": {"mine": {"\\ud800": 1}}}}': "run.facets.mine: key '\\ud800'",
        b'{"a": [1, {"b": "x \\udc00 y"}]}': "a[1].b: text is not valid Unicode",
        '"\udfff"': "document: text is not valid Unicode",
        b'{"a": 1, "long": 12345678901234567890, "s": "\\ud800"}': "s: text is not",
        b'{"a": 1e400}': "not valid JSON: number 1e400 is out of range",
        b"[-1E+999]": "number -1E+999 is out of range",
    }
    for data, message in refusals.items():
        with pytest.raises(InvalidInput, match=re.escape(message)):
            decode_json(data)


def test_decode_json_errors() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON: Expecting"):
        decode_json(b"{")
    with pytest.raises(InvalidInput, match="not UTF-8 text"):
        decode_json(b"\xff\xfe\x00")


def test_a_folder_is_read_in_file_name_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text('{"n": 2}')
    (tmp_path / "a.jsonl").write_text('{"n": 0}\n{"n": 1}\n')
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(b'[{"n": 3}]'))
    (tmp_path / "notes.txt").write_text("not an event")
    documents = list(read_path(tmp_path))
    assert [d.value for d in documents] == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert documents[3].source == f"{tmp_path / 'c.json.gz'}[0]"


def test_scan_path_counts_what_read_path_yields(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"n": 0}\n\nnot json\n{"n": 1}\n')
    (tmp_path / "b.json").write_text('[{"n": 2}, {"n": 3}]')
    (tmp_path / "c.json").write_text('{\n  "n": 4\n}\n')  # one document over several lines
    (tmp_path / "d.json.gz").write_bytes(b"not gzip")
    (tmp_path / "e.json").write_text("  ")
    count, documents = scan_path(tmp_path)
    scanned = list(documents)
    assert count == len(scanned) == 7
    assert [(d.source, d.value, d.error) for d in scanned] == [
        (d.source, d.value, d.error) for d in read_path(tmp_path)
    ]
    assert [d.value for d in scanned if d.error is None] == [{"n": n} for n in range(5)]


@settings(max_examples=300, deadline=None)
@given(
    st.binary().map(lambda b: b.translate(bytes.maketrans(b"\x00\x01\x02", b"\r\n "))),
    st.integers(min_value=1, max_value=9),
)
def test_split_lines_reads_the_lines_that_splitlines_finds(data: bytes, chunk_size: int) -> None:
    lines = list(split_lines(io.BytesIO(data), chunk_size))
    assert lines == data.splitlines(keepends=True)


def test_a_json_lines_file_is_streamed_not_held(tmp_path: Path) -> None:
    padding = "x" * 1000
    with (tmp_path / "big.jsonl").open("w") as out:
        for n in range(8000):  # about 8 MB
            out.write(json.dumps({"n": n, "padding": padding}) + "\n")
    tracemalloc.start()
    try:
        count, documents = scan_path(tmp_path / "big.jsonl")
        seen = sum(1 for d in documents if d.error is None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == seen == 8000
    assert peak < 5_000_000  # a chunk and its lines at a time, not the file


def test_json_lines_files_stream_as_they_were_read_whole(tmp_path: Path) -> None:
    text = '{"n": 0}\r\n\n{"n": oops}\r{"n": 2}\n  \n{"n": 3}\n{"n": \r\n'
    (tmp_path / "a.jsonl").write_text(text, newline="")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "c.jsonl").write_text('{"n": oops}\n{"n": 1}\n')  # the first line is bad
    (tmp_path / "d.jsonl").write_bytes(b'{"n": 0}\n{"n": "\xff"}\n')  # not UTF-8
    count, documents = scan_path(tmp_path)
    found = [(Path(d.source).name, d.value, d.error) for d in documents]
    assert count == len(found) == 13
    bad = "not valid JSON: Expecting value at line 1 column 7"
    for name in ("a.jsonl", "b.jsonl.gz"):
        expected = [
            (f"{name}:1", {"n": 0}, None),
            (f"{name}:3", None, bad),
            (f"{name}:4", {"n": 2}, None),
            (f"{name}:6", {"n": 3}, None),
            (f"{name}:7", None, "not valid JSON: Expecting value at line 1 column 7"),
        ]
        assert [f for f in found if f[0].startswith(name)] == expected
        assert [(d.source, d.value, d.error) for d in read_documents(text, name)] == expected
    assert [f for f in found if f[0].startswith("c.jsonl")] == [
        ("c.jsonl:1", None, bad),
        ("c.jsonl:2", {"n": 1}, None),
    ]
    refused = [f for f in found if f[0].startswith("d.jsonl")]
    assert len(refused) == 1 and refused[0][2].startswith("cannot read the file: 'utf-8' codec")
    # a file deleted between its count and its reading ends with a document saying so
    count, documents = scan_path(tmp_path / "a.jsonl")
    (tmp_path / "a.jsonl").unlink()
    gone = list(documents)
    assert count == 5 and len(gone) == 1
    assert gone[0].error is not None and gone[0].error.startswith("cannot read the file")


def snapshot_changeset(job: str, inputs: tuple[str, ...]) -> ChangeSet:
    changeset = ChangeSet(origin=Origin.OPENLINEAGE)
    changeset.snapshots.append(
        JobSnapshot(
            job_id=make_id(Kind.JOB, "etl", job),
            at="2024-05-01T10:00:00.000000Z",
            inputs=inputs,
            outputs=(),
        )
    )
    return changeset


def test_plan_batches_splits_where_a_job_reports_other_lineage() -> None:
    a, b = make_id(Kind.DATASET, "pg", "a"), make_id(Kind.DATASET, "pg", "b")
    changesets = [
        snapshot_changeset("one", (a,)),
        snapshot_changeset("two", (b,)),
        snapshot_changeset("one", (a,)),  # the same lineage again: same batch
        snapshot_changeset("one", (b,)),  # different lineage for "one": a new batch
        snapshot_changeset("two", (b,)),
    ]
    assert plan_batches(changesets) == [[0, 1, 2], [3, 4]]
    assert plan_batches(changesets, max_events=2) == [[0, 1], [2], [3, 4]]
    deleting = ChangeSet(deletes=["dataset|pg|a"])
    assert plan_batches([ChangeSet(), deleting, ChangeSet()]) == [[0], [1, 2]]


def test_a_rejected_batch_is_retried_event_by_event() -> None:
    service = LineageService(open_store("memory://"))
    good = ChangeSet(origin=Origin.API).add(Dataset(namespace="pg", name="a"))
    bad = ChangeSet(origin=Origin.API)
    bad.edges.append(
        Edge.seen(
            "dataset|pg|missing", EdgeKind.READS, "job|etl|x", at=datetime(2024, 1, 1, tzinfo=UTC)
        )
    )
    also_good = ChangeSet(origin=Origin.API).add(Dataset(namespace="pg", name="b"))
    report = apply_in_batches([("one", good), ("two", bad), ("three", also_good)], service.apply)
    assert [o.source for o in report.outcomes] == ["one", "two", "three"]
    assert [o.ok for o in report.outcomes] == [True, False, True]
    assert "does not exist" in str(report.outcomes[1].error)
    assert sorted(service.get(["dataset|pg|a", "dataset|pg|b"])) == ["dataset|pg|a", "dataset|pg|b"]


def test_ingest_documents_reports_in_document_order() -> None:
    service = LineageService(open_store("memory://"))
    text = "\n".join(
        [
            json.dumps(run_event("one", "a")),
            "not json",
            json.dumps({**run_event("two", "b"), "run": {}}),
            json.dumps(run_event("three", "c")),
        ]
    )
    progress: list[int] = []
    report = ingest_documents(
        read_documents(text, "events.jsonl"),
        translate_event,
        service.apply,
        on_progress=progress.append,
    )
    assert [(o.source, o.error) for o in report.outcomes] == [
        ("events.jsonl:1", None),
        ("events.jsonl:2", "not valid JSON: Expecting value at line 1 column 1"),
        ("events.jsonl:3", "run.runId: missing"),
        ("events.jsonl:4", None),
    ]
    assert report.ok == 2
    assert sum(progress) == 4
    assert service.stats().nodes_by_kind["JOB"] == 2


def test_ingest_documents_reports_reading_before_each_batch_is_applied() -> None:
    service = LineageService(open_store("memory://"))
    documents = [Document(f"e:{n}", run_event(f"job{n}", "a")) for n in range(1200)]
    seen: list[tuple[str, int]] = []
    ingest_documents(
        documents,
        translate_event,
        service.apply,
        max_events=700,
        on_progress=lambda n: seen.append(("applied", n)),
        on_read=lambda n: seen.append(("read", n)),
    )
    # a batch of 700 is read (in steps of 250), then applied; then the other 500
    assert seen == [
        ("read", 250),
        ("read", 250),
        ("read", 200),
        ("applied", 700),
        ("read", 250),
        ("read", 250),
        ("applied", 500),
    ]


def test_batched_ingestion_equals_one_by_one_for_changing_lineage() -> None:
    events = [
        run_event("one", "a", "2024-05-01T10:00:00Z"),
        run_event("one", "b", "2024-05-02T10:00:00Z", run="7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1"),
        run_event("two", "a", "2024-05-02T11:00:00Z"),
        run_event("one", "a", "2024-05-03T10:00:00Z", run="b3c2b3f3-6b1e-4c52-a3f1-0fdb7f0f6a8e"),
    ]
    sequential = LineageService(open_store("memory://"))
    for document in events:
        sequential.apply(translate_event(document))
    batched = LineageService(open_store("memory://"))
    text = json.dumps(events)
    report = ingest_documents(read_documents(text, "e.json"), translate_event, batched.apply)
    assert report.ok == 4
    nodes_a, edges_iter_a = sequential.store.export()
    nodes_b, edges_iter_b = batched.store.export()
    edges_a, edges_b = list(edges_iter_a), list(edges_iter_b)
    assert [e.model_dump() for e in edges_a] == [e.model_dump() for e in edges_b]
    assert [n.model_dump() for n in nodes_a] == [n.model_dump() for n in nodes_b]
    ended = [e for e in edges_b if e.kind is EdgeKind.READS and not e.current]
    assert [(e.source_id, e.ended_at) for e in ended] == [
        ("dataset|pg|b", "2024-05-03T10:00:00.000000Z")
    ]


def ol_dataset(name: str, *fields: str, **facets: Any) -> dict[str, Any]:
    """An OpenLineage dataset in namespace pg with INT fields and other facets."""
    schema = {"fields": [{"name": f, "type": "INT"} for f in fields]}
    return {"namespace": "pg", "name": name, "facets": {"schema": schema, **facets}}


def ol_run(kind: str, time: str, run_id: str, job: str, **lists: Any) -> dict[str, Any]:
    """An OpenLineage run event of job etl/``job`` with ``inputs`` and ``outputs``."""
    return {
        "eventType": kind,
        "eventTime": time,
        "producer": "https://example.com/p",
        "run": {"runId": run_id},
        "job": {"namespace": "etl", "name": job},
        "inputs": lists.get("inputs", []),
        "outputs": lists.get("outputs", []),
    }


def ingest_events(service: LineageService, events: list[Any], batched: bool = True) -> None:
    """Apply OpenLineage events in one ingest (in batches) or one by one; each must apply."""
    if batched:
        report = ingest_documents(
            [Document(f"[{n}]", e) for n, e in enumerate(events)], translate_event, service.apply
        )
        assert report.ok == len(events)
    else:
        for document in events:
            service.apply(translate_event(document))


def ended_edges(service: LineageService) -> dict[tuple[str, str, str], str | None]:
    """The edges a service's store holds as no longer current, with when they ended."""
    return {
        (e.source_id, e.kind.value, e.target_id): e.ended_at
        for e in service.store.export()[1]
        if not e.current
    }


def test_a_batch_ends_what_a_later_snapshot_leaves_out_of_what_the_batch_reported(
    service: LineageService,
) -> None:
    # A snapshot is resolved against the store as it was before its batch, so edges that
    # only events without a snapshot reported earlier in the batch were never ended: a
    # column a reader's input schema listed, that the writer's schema then dropped; an
    # output and a column edge a RUNNING event reported, that the run's end then left out.
    def lineage(source: str) -> dict[str, Any]:
        inputs = [{"namespace": "pg", "name": "src", "field": source}]
        return {"fields": {"x": {"inputFields": inputs}}}

    other = "7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1"
    events = [
        ol_run(
            "COMPLETE",
            "2024-05-01T10:00:00Z",
            RUN,
            "report",
            inputs=[ol_dataset("t", "x", "y", "z")],
        ),
        ol_run(
            "COMPLETE", "2024-05-01T11:00:00Z", other, "load", outputs=[ol_dataset("t", "x", "y")]
        ),
        ol_run(
            "RUNNING",
            "2024-05-01T12:00:00Z",
            RUN,
            "build",
            outputs=[ol_dataset("tmp", "x"), ol_dataset("out", "x", columnLineage=lineage("a"))],
        ),
        ol_run(
            "COMPLETE",
            "2024-05-01T13:00:00Z",
            RUN,
            "build",
            inputs=[ol_dataset("src", "a", "b")],
            outputs=[ol_dataset("out", "x", columnLineage=lineage("b"))],
        ),
    ]
    ingest_events(service, events)
    ended = ended_edges(service)
    assert ended == {
        ("dataset|pg|t", "HAS_FIELD", "field|pg|t|z"): "2024-05-01T11:00:00.000000Z",
        ("job|etl|build", "WRITES", "dataset|pg|tmp"): "2024-05-01T13:00:00.000000Z",
        ("field|pg|src|a", "DERIVES", "field|pg|out|x"): "2024-05-01T13:00:00.000000Z",
    }
    sequential = LineageService(open_store("memory://"))
    for document in events:
        sequential.apply(translate_event(document))
    assert ended_edges(sequential) == ended


@pytest.mark.parametrize("moved", ["output read", "input written"])
def test_a_batch_ends_an_edge_whose_dataset_moved_to_the_other_side(
    service: LineageService, moved: str
) -> None:
    # A run that wrote d while RUNNING and only reads it at its end no longer writes d
    # (and one that read it no longer reads it once it only writes it): the batch must
    # end the edge as applying the events in order does.
    def run(kind: str, time: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
        return {
            "eventType": kind,
            "eventTime": time,
            "producer": "https://example.com/p",
            "run": {"runId": RUN},
            "job": {"namespace": "etl", "name": "j"},
            "inputs": [{"namespace": "pg", "name": n} for n in inputs],
            "outputs": [{"namespace": "pg", "name": n} for n in outputs],
        }

    first, then = (
        (([], ["d"]), (["d"], ["e"]))
        if moved == "output read"
        else (
            (["d"], []),
            (["c"], ["d"]),
        )
    )
    events = [
        run("RUNNING", "2024-05-01T10:00:00Z", *first),
        run("COMPLETE", "2024-05-01T11:00:00Z", *then),
    ]
    ingest_events(service, events)
    sequential = LineageService(open_store("memory://"))
    ingest_events(sequential, events, batched=False)

    edge = (
        ("job|etl|j", "WRITES", "dataset|pg|d")
        if moved == "output read"
        else ("dataset|pg|d", "READS", "job|etl|j")
    )
    assert ended_edges(service) == ended_edges(sequential) == {edge: "2024-05-01T11:00:00.000000Z"}


@pytest.mark.parametrize("dropped_by", ["another writer", "a dataset event", "the run's start"])
@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
def test_column_lineage_into_a_dropped_column_ends_when_the_job_no_longer_reports_it(
    service: LineageService, dropped_by: str, batched: bool
) -> None:
    # A job derives out.a and out.b; a schema report then drops b (ending its HAS_FIELD
    # edge), and the job's next run reports lineage into a alone. The DERIVES edge into b
    # is the job's lineage all the same and ends at that run, whether the events are
    # applied one by one (b is no longer current when the run comes) or in one batch.
    def derived(*fields: str) -> dict[str, Any]:
        return {
            "fields": {
                f: {"inputFields": [{"namespace": "pg", "name": "src", "field": f}]} for f in fields
            }
        }

    second = "7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1"
    src = ol_dataset("src", "a", "b")
    drop: dict[str, Any] = {
        "another writer": ol_run(
            "COMPLETE", "2024-05-02T09:00:00Z", RUN, "fix", outputs=[ol_dataset("out", "a")]
        ),
        "a dataset event": {
            "eventTime": "2024-05-02T09:00:00Z",
            "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/DatasetEvent",
            "dataset": ol_dataset("out", "a"),
        },
        "the run's start": ol_run(
            "START",
            "2024-05-02T09:00:00Z",
            second,
            "j",
            inputs=[src],
            outputs=[ol_dataset("out", "a")],
        ),
    }[dropped_by]
    events = [
        ol_run(
            "COMPLETE",
            "2024-05-01T10:00:00Z",
            RUN,
            "j",
            inputs=[src],
            outputs=[ol_dataset("out", "a", "b", columnLineage=derived("a", "b"))],
        ),
        drop,
        ol_run(
            "COMPLETE",
            "2024-05-02T10:00:00Z",
            second,
            "j",
            inputs=[src],
            outputs=[ol_dataset("out", "a", columnLineage=derived("a"))],
        ),
    ]
    if batched:
        # The first run in a batch of its own, the drop and the next run in one batch.
        if dropped_by != "the run's start":  # a run's START and COMPLETE report other lineage
            assert plan_batches([translate_event(e) for e in events[1:]]) == [[0, 1]]
        for part in (events[:1], events[1:]):
            ingest_events(service, part)
    else:
        ingest_events(service, events, batched=False)
    assert ended_edges(service) == {
        ("dataset|pg|out", "HAS_FIELD", "field|pg|out|b"): "2024-05-02T09:00:00.000000Z",
        ("field|pg|src|b", "DERIVES", "field|pg|out|b"): "2024-05-02T10:00:00.000000Z",
    }


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
def test_column_lineage_into_a_nested_column_ends_when_the_job_no_longer_reports_it(
    service: LineageService, batched: bool
) -> None:
    # A job derives out.s.y and out.s.z (fields of a struct); its next run, with the same
    # schema, reports lineage into s.y alone: the DERIVES edge into s.z ends at that run.
    def event(time: str, run_id: str, *derived: str) -> dict[str, Any]:
        struct = {
            "name": "s",
            "type": "STRUCT",
            "fields": [{"name": "y", "type": "INT"}, {"name": "z", "type": "INT"}],
        }
        lineage = {
            "fields": {
                f: {"inputFields": [{"namespace": "pg", "name": "src", "field": "v"}]}
                for f in derived
            }
        }
        return {
            "eventType": "COMPLETE",
            "eventTime": time,
            "producer": "https://example.com/p",
            "run": {"runId": run_id},
            "job": {"namespace": "etl", "name": "j"},
            "inputs": [
                {
                    "namespace": "pg",
                    "name": "src",
                    "facets": {"schema": {"fields": [{"name": "v", "type": "INT"}]}},
                }
            ],
            "outputs": [
                {
                    "namespace": "pg",
                    "name": "out",
                    "facets": {"schema": {"fields": [struct]}, "columnLineage": lineage},
                }
            ],
        }

    events = [
        event("2024-05-01T10:00:00Z", RUN, "s.y", "s.z"),
        event("2024-05-02T10:00:00Z", "7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1", "s.y"),
    ]
    ingest_events(service, events, batched)
    assert ended_edges(service) == {
        ("field|pg|src|v", "DERIVES", "field|pg|out|s.z"): "2024-05-02T10:00:00.000000Z",
    }


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
def test_a_writers_older_wider_schema_after_a_readers_newer_one_ends_its_extra_columns(
    service: LineageService, batched: bool
) -> None:
    # A reader lists column x of t on May 2; the writer's schema of May 1, with x, y
    # and z, arrives after it. Applied in order, the store names t's fields on May 2
    # already, so y and z, only the late schema lists them, end then; a batch holding
    # both must end them too.
    def run(time: str, run_id: str, job: str, **lists: Any) -> dict[str, Any]:
        return ol_run("COMPLETE", time, run_id, job, **lists)

    def ds(*fields: str) -> dict[str, Any]:
        return ol_dataset("t", *fields)

    events = [
        run("2024-05-02T10:00:00Z", RUN, "reader", inputs=[ds("x")]),
        run(
            "2024-05-01T10:00:00Z",
            "7a0b7a6e-1c9e-4d0b-9a51-2b0c2bb3f5d1",
            "writer",
            outputs=[ds("x", "y", "z")],
        ),
    ]
    ingest_events(service, events, batched)
    if batched:
        changesets = [translate_event(e) for e in events]
        assert plan_batches(changesets) == [[0], [1]]
        # In time order they share a batch: the later schema is no late one.
        assert plan_batches([translate_event(e) for e in reversed(events)]) == [[0, 1]]
    assert ended_edges(service) == {
        ("dataset|pg|t", "HAS_FIELD", "field|pg|t|y"): "2024-05-02T10:00:00.000000Z",
        ("dataset|pg|t", "HAS_FIELD", "field|pg|t|z"): "2024-05-02T10:00:00.000000Z",
    }


def test_a_late_schema_listing_only_what_the_batch_reported_shares_its_batch() -> None:
    # Two writers report the same columns of t a minute out of order, over and over, as
    # parallel producers do: applied one by one, the late schema adds no column, so it
    # ends nothing, and the events need no batch of their own.
    uuids = [str(uuid.UUID(int=n + 1, version=4)) for n in range(6)]
    events = [
        ol_run(
            "COMPLETE",
            f"2024-05-01T10:{30 - n % 2 * 2 + n:02d}:00Z",
            uuids[n],
            f"writer_{n % 2}",
            outputs=[ol_dataset("t", "a", "b")],
        )
        for n in range(6)
    ]
    assert plan_batches([translate_event(e) for e in events]) == [[0, 1, 2, 3, 4, 5]]
    sequential = LineageService(open_store("memory://"))
    for document in events:
        sequential.apply(translate_event(document))
    batched = LineageService(open_store("memory://"))
    report = ingest_documents(
        read_documents(json.dumps(events), "e.json"), translate_event, batched.apply
    )
    assert report.ok == 6
    (nodes_a, edges_a), (nodes_b, edges_b) = sequential.store.export(), batched.store.export()
    assert [e.model_dump() for e in edges_a] == [e.model_dump() for e in edges_b]
    assert [n.model_dump() for n in nodes_a] == [n.model_dump() for n in nodes_b]
    # A late schema that lists a column the batch has not reported still starts a batch
    # (and the next, which drops that column again, another).
    events[3]["outputs"] = [ol_dataset("t", "a", "b", "c")]
    assert plan_batches([translate_event(e) for e in events]) == [[0, 1, 2], [3], [4, 5]]


def dataset_changeset(name: str) -> ChangeSet:
    return ChangeSet(origin=Origin.API).add(Dataset(namespace="pg", name=name))


def as_is(changeset: ChangeSet) -> ChangeSet:
    return changeset


class HeldApply:
    """An apply that holds its first call until released, so later changesets queue up."""

    def __init__(self, service: LineageService) -> None:
        self.service = service
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sizes: list[int] = []

    def __call__(self, changeset: ChangeSet) -> Any:
        self.entered.set()
        self.release.wait(10)
        self.sizes.append(len(changeset.nodes) + len(changeset.edges))
        return self.service.apply(changeset)


def broken_changeset() -> ChangeSet:
    broken = ChangeSet(origin=Origin.API)
    broken.edges.append(
        Edge.seen(
            "dataset|pg|missing", EdgeKind.READS, "job|etl|x", datetime(2024, 1, 1, tzinfo=UTC)
        )
    )
    return broken


def held_group_commit() -> tuple[LineageService, HeldApply, GroupCommit[ChangeSet], Future[Any]]:
    """A group commit over a fresh store whose first changeset is held inside its apply."""
    service = LineageService(open_store("memory://"))
    apply = HeldApply(service)
    commit: GroupCommit[ChangeSet] = GroupCommit(as_is, apply)
    first = commit.submit(dataset_changeset("first"))
    assert apply.entered.wait(10)
    return service, apply, commit, first


def held_event_commit() -> tuple[LineageService, HeldApply, GroupCommit[Any], Future[Any]]:
    """A group commit that translates events, over a fresh store, whose first event is
    held inside its apply."""
    service = LineageService(open_store("memory://"))
    apply = HeldApply(service)
    commit: GroupCommit[Any] = GroupCommit(translate_event, apply)
    first = commit.submit(run_event("first", "a"))
    assert apply.entered.wait(10)
    return service, apply, commit, first


def test_group_commit_applies_what_queues_meanwhile_in_one_transaction() -> None:
    service, apply, commit, first = held_group_commit()
    queued = [commit.submit(dataset_changeset(f"t{n}")) for n in range(5)]
    apply.release.set()
    for future in [first, *queued]:
        future.result(timeout=10)
    commit.close()
    assert apply.sizes == [1, 5]  # the first alone, then the five that queued together
    assert service.stats().nodes_by_kind["DATASET"] == 6


def test_group_commit_answers_a_bad_changeset_alone() -> None:
    service, apply, commit, first = held_group_commit()
    good = commit.submit(dataset_changeset("good"))
    bad = commit.submit(broken_changeset())
    also_good = commit.submit(dataset_changeset("also_good"))
    apply.release.set()
    first.result(timeout=10)
    assert good.result(timeout=10).nodes == 1
    with pytest.raises(InvalidInput, match="does not exist"):
        bad.result(timeout=10)
    assert also_good.result(timeout=10).nodes == 1
    commit.close()
    # the group of three failed as a whole, then each was applied on its own
    assert apply.sizes == [1, 3, 1, 1, 1]
    assert sorted(service.get(["dataset|pg|good", "dataset|pg|also_good"])) == [
        "dataset|pg|also_good",
        "dataset|pg|good",
    ]


def test_group_commit_prepares_arrivals_while_a_group_is_applied() -> None:
    service, apply, commit, first = held_event_commit()
    # the first group is still inside apply, and the next events are prepared meanwhile
    bad = commit.submit({**run_event("bad", "c"), "run": {}})
    assert isinstance(bad.exception(timeout=10), InvalidInput)
    assert not first.done()
    later = commit.submit(run_event("later", "b"))
    apply.release.set()
    first.result(timeout=10)
    later.result(timeout=10)
    commit.close()
    assert len(apply.sizes) == 2
    assert service.find(Kind.JOB, "etl", "later") is not None


def test_group_commit_leaves_out_cancelled_changesets_and_refuses_after_close() -> None:
    service, apply, commit, first = held_group_commit()
    cancelled = commit.submit(dataset_changeset("cancelled"))
    assert cancelled.cancel()
    kept = commit.submit(dataset_changeset("kept"))
    apply.release.set()
    first.result(timeout=10)
    kept.result(timeout=10)
    commit.close()
    assert service.find(Kind.DATASET, "pg", "cancelled") is None
    assert service.find(Kind.DATASET, "pg", "kept") is not None
    with pytest.raises(StoreUnavailable, match="shutting down"):
        commit.submit(dataset_changeset("late"))


def test_group_commit_prepares_items_and_a_bad_one_fails_alone() -> None:
    service, apply, commit, first = held_event_commit()
    good = commit.submit(run_event("good", "b"))
    bad = commit.submit({**run_event("bad", "c"), "run": {}})
    also_good = commit.submit(run_event("also_good", "d"))
    apply.release.set()
    first.result(timeout=10)
    good.result(timeout=10)
    with pytest.raises(InvalidInput, match=r"run\.runId: missing"):
        bad.result(timeout=10)
    also_good.result(timeout=10)
    commit.close()
    assert len(apply.sizes) == 2  # the bad event never joined its group
    assert service.stats().nodes_by_kind["JOB"] == 3
