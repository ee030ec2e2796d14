"""DataLoaders: a page of nodes costs a bounded number of store calls, whatever its size."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from lineagegraph.service import LineageService
from lineagegraph.store import Store, open_store
from tests.api_helpers import gql, load_demo


class CountingStore:
    """Delegates to a store and counts the calls of each method."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return self.inner.url

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


PAGE = """query($first: Int!) {
  search(kinds: [DATASET], namespace: "snowflake://acme", first: $first) { edges { node {
    id health { status }
    ... on Dataset {
      fields { path type health { status } checks { check } }
      checks { latestResult { passed } }
      producers { name latestRun { runId } }
      versions(first: 1) { totalCount }
    }
  } } }
}"""


def _calls_for(service: LineageService, store: CountingStore, first: int) -> Counter[str]:
    store.calls.clear()
    data = gql(service, PAGE, {"first": first})
    assert len(data["search"]["edges"]) == first
    return Counter(store.calls)


def test_store_calls_do_not_grow_with_the_page_size() -> None:
    store = CountingStore(open_store("memory://"))
    service = load_demo(LineageService(store))  # type: ignore[arg-type]
    # Snowflake datasets all have producers, so both pages reach the same query depth.
    small = _calls_for(service, store, 2)
    large = _calls_for(service, store, 6)
    assert small == large
    # One search, and per level of the query a handful of batched calls.
    assert small["search"] == 1
    assert sum(small.values()) <= 16


def test_loaders_are_per_request() -> None:
    """A write between two requests is seen by the second (no cross-request cache)."""
    store = CountingStore(open_store("memory://"))
    service = load_demo(LineageService(store))  # type: ignore[arg-type]
    query = (
        '{ node(id: "model|mlflow://registry|churn_classifier") { ... on Model { framework } } }'
    )
    assert gql(service, query)["node"] == {"framework": "xgboost"}
    gql(
        service,
        """mutation { upsertModel(input: {namespace: "mlflow://registry",
             name: "churn_classifier", framework: "lightgbm"}) { __typename } }""",
    )
    assert gql(service, query)["node"] == {"framework": "lightgbm"}
