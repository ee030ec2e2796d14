"""Shared fixtures: every store-dependent test runs against the embedded store and Neo4j.

The Neo4j variants use the server named by ``LINEAGEGRAPH_TEST_NEO4J_URI`` (``make test``
starts one). When ``LINEAGEGRAPH_REQUIRE_NEO4J=1`` (as under ``make test`` and CI) a
missing or unreachable Neo4j fails those tests; otherwise they are skipped.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from lineagegraph.service import LineageService
from lineagegraph.store import Store, open_store

# How fast Hypothesis draws inputs depends on how busy the machine is (the suite runs in
# two halves on two cores, beside Neo4j), not on what the tests check: a slow draw must
# not fail a property test. Tests that set their own health checks list this one too.
settings.register_profile("lineagegraph", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lineagegraph")

# The real public lineage files live in shared/data beside the repository (CI lays it
# there too); LINEAGEGRAPH_SHARED_DATA points elsewhere.
SHARED_DATA = Path(
    os.environ.get(
        "LINEAGEGRAPH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
NEO4J_URI_ENV = "LINEAGEGRAPH_TEST_NEO4J_URI"
STORE_KINDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def neo4j_uri() -> str:
    """The test Neo4j URI, failing or skipping the test when there is none."""
    uri = os.environ.get(NEO4J_URI_ENV)
    if uri:
        return uri
    if os.environ.get("LINEAGEGRAPH_REQUIRE_NEO4J") == "1":
        pytest.fail(f"Neo4j is required but {NEO4J_URI_ENV} is not set")
    pytest.skip(f"set {NEO4J_URI_ENV} (make test does) to run against Neo4j")


def make_store(kind: str) -> Store:
    """A fresh, empty store of the given kind."""
    if kind == "embedded":
        return open_store("memory://")
    from lineagegraph.store.neo4j import Neo4jStore

    store = Neo4jStore.from_url(neo4j_uri())
    store.wipe()
    return store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store, once embedded and once on Neo4j."""
    instance = make_store(request.param)
    yield instance
    instance.close()


@pytest.fixture
def service(store: Store) -> LineageService:
    """A service over an empty store of each kind."""
    return LineageService(store)


@pytest.fixture
def shared_data() -> Path:
    """The folder of real public lineage files (OpenLineage, Marquez, dbt, GX)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data folder missing: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def two_asset_checkpoint() -> Any:
    """The GX 0.18 checkpoint result on the asset ``orders`` with a second validation, of
    the asset ``customers``: a checkpoint that validates two assets (6 results each)."""
    folder = Path(__file__).parent / "data" / "great_expectations" / "gx018_orders"
    document = json.loads((folder / "checkpoint_result.json").read_text(encoding="utf-8"))
    ((key, value),) = document["run_results"].items()
    other = copy.deepcopy(value)
    meta = other["validation_result"]["meta"]
    meta["active_batch_definition"]["data_asset_name"] = "customers"
    meta["batch_spec"]["path"] = "customers.csv"
    document["run_results"][key.replace("-orders", "-customers")] = other
    return document
