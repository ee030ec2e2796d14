"""The layer rules of ARCHITECTURE §2, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lineagegraph"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(
                node.module.split(".")[0]
                if not node.module.startswith("lineagegraph")
                else node.module
            )
    return names


def test_only_store_adapters_import_networkx_or_neo4j() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.parent.name != "store" and _imports(path) & {"networkx", "neo4j"}
    ]
    assert offenders == []


def test_algorithms_and_ingest_do_not_reach_outward() -> None:
    outward = ("lineagegraph.api", "lineagegraph.cli")
    offenders = [
        str(path.relative_to(SRC))
        for folder in ("algorithms", "ingest", "store")
        for path in (SRC / folder).rglob("*.py")
        if any(name.startswith(outward) for name in _imports(path))
    ]
    assert offenders == []


def test_ingest_translators_touch_no_store_or_service() -> None:
    inward_only = ("lineagegraph.store", "lineagegraph.service")
    offenders = [
        str(path.relative_to(SRC))
        for path in (SRC / "ingest").rglob("*.py")
        if any(name.startswith(inward_only) for name in _imports(path))
    ]
    assert offenders == []
