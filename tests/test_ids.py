"""Ids round-trip for every kind, whatever the namespace and name contain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineagegraph.errors import InvalidInput
from lineagegraph.ids import (
    KEY_PARTS,
    Key,
    Kind,
    check_storable,
    kind_of,
    make_id,
    parse_id,
    short_name,
)

NAMESPACES = ["s3://bucket", "postgres://host:5432", "snowflake://acct", "kafka://b1:9092,b2:9092"]
TRICKY = st.lists(
    st.sampled_from([*"ab:/#% |é🕷._-", "%7C", "%25", "%7c"]), min_size=1, max_size=12
).map("".join)
part = st.one_of(TRICKY, st.text(min_size=1, max_size=20))
namespace = st.one_of(st.sampled_from(NAMESPACES), part)


@given(kind=st.sampled_from(list(Kind)), namespace=namespace, name=part, data=st.data())
def test_id_round_trips(kind: Kind, namespace: str, name: str, data: st.DataObject) -> None:
    parts = tuple(data.draw(part) for _ in KEY_PARTS[kind])
    entity_id = make_id(kind, namespace, name, *parts)
    assert parse_id(entity_id) == Key(kind, namespace, name, parts)
    assert kind_of(entity_id) is kind


@given(a=st.tuples(namespace, part), b=st.tuples(namespace, part))
def test_distinct_keys_give_distinct_ids(a: tuple[str, str], b: tuple[str, str]) -> None:
    if a != b:
        assert make_id(Kind.DATASET, *a) != make_id(Kind.DATASET, *b)


def test_ids_are_readable() -> None:
    assert (
        make_id(Kind.DATASET, "s3://bucket", "raw/orders.csv")
        == "dataset|s3://bucket|raw/orders.csv"
    )
    assert (
        make_id(Kind.FIELD, "postgres://host:5432", "public.orders", "customer.address.zip")
        == "field|postgres://host:5432|public.orders|customer.address.zip"
    )
    assert (
        make_id(Kind.MODEL_VERSION, "mlflow://r", "churn", "7")
        == "model_version|mlflow://r|churn|7"
    )
    assert make_id(Kind.DATASET, "ns", "a|b%c") == "dataset|ns|a%7Cb%25c"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "dataset",
        "dataset|ns",
        "nonsense|ns|name",
        "field|ns|name",
        "dataset|ns|name|extra",
        "dataset||name",
    ],
)
def test_malformed_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_id(bad)


def test_make_id_checks_parts() -> None:
    with pytest.raises(InvalidInput):
        make_id(Kind.FIELD, "ns", "table")
    with pytest.raises(InvalidInput):
        make_id(Kind.DATASET, "", "table")


def test_short_name_joins_a_field_path_with_dots_and_other_parts_with_at() -> None:
    assert short_name(make_id(Kind.DATASET, "s3://b", "shop.orders")) == "shop.orders"
    assert short_name(make_id(Kind.FIELD, "s3://b", "shop.orders", "customer.zip")) == (
        "shop.orders.customer.zip"
    )
    assert short_name(make_id(Kind.MODEL_VERSION, "mlflow://r", "churn", "3")) == "churn@3"
    result = make_id(Kind.RESULT, "s3://b", "shop.orders", "not_null(id)", "day5")
    assert short_name(result) == "shop.orders@not_null(id)@day5"


@pytest.mark.parametrize("part", ["namespace", "name", "path"])
def test_a_key_holding_a_nul_or_too_long_is_made_but_not_storable(part: str) -> None:
    # Ids are made from stored ones too (a field's dataset, a result's check): only a
    # store refuses to take such an id on (SQLite's text functions stop at a NUL, and
    # Neo4j cannot index an id of about 8 KB).
    for bad in ("\x00x", "x" * 8000):
        key = {"namespace": "pg", "name": "orders", "path": "id"}
        key[part] = key[part] + bad
        field = make_id(Kind.FIELD, key["namespace"], key["name"], key["path"])
        assert parse_id(field).parts == (key["path"],)
        with pytest.raises(InvalidInput, match=r"NUL|at most 8000 bytes"):
            check_storable(field, Kind.FIELD)
    check_storable(make_id(Kind.FIELD, "pg", "é" * 3990, "id"), Kind.FIELD)  # 7994 bytes
