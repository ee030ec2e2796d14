"""Translators from the ecosystem's lineage formats to ChangeSets (ARCHITECTURE §2).

Each translator is a pure function of its input documents: OpenLineage events
(:mod:`.openlineage`), dbt artifacts (:mod:`.dbt`) and Great Expectations
results (:mod:`.great_expectations`). :mod:`.batching` reads event files and
applies many translated events in few transactions.
"""

from lineagegraph.ingest._build import Translation
from lineagegraph.ingest.batching import (
    Document,
    IngestReport,
    Outcome,
    apply_in_batches,
    ingest_documents,
    read_documents,
    read_path,
)
from lineagegraph.ingest.dbt import translate_dbt
from lineagegraph.ingest.great_expectations import translate_gx
from lineagegraph.ingest.openlineage import parse_event, translate, translate_event

__all__ = [
    "Document",
    "IngestReport",
    "Outcome",
    "Translation",
    "apply_in_batches",
    "ingest_documents",
    "parse_event",
    "read_documents",
    "read_path",
    "translate",
    "translate_dbt",
    "translate_event",
    "translate_gx",
]
