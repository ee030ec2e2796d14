"""Entity ids: deterministic, readable and unambiguous.

An id is the entity kind followed by the parts of its key, joined by ``|``::

    dataset|postgres://db:5432|public.orders
    field|postgres://db:5432|public.orders|customer.address.zip
    model_version|mlflow://registry|churn|7

Only ``%`` and ``|`` are escaped inside a part (as ``%25`` and ``%7C``), so
namespaces such as ``s3://bucket`` or ``host:5432`` and names with ``:``, ``/``,
``#``, spaces or unicode stay readable and still round-trip exactly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from lineagegraph.errors import InvalidInput

SEPARATOR = "|"
# The longest id, in bytes of UTF-8: Neo4j indexes ids and cannot index a value of about
# 8 KB or more, and both stores take the same ids.
MAX_ID_BYTES = 8000


class Kind(StrEnum):
    """The kinds of entity in the graph (ARCHITECTURE §3)."""

    DATASET = "DATASET"
    FIELD = "FIELD"
    JOB = "JOB"
    RUN = "RUN"
    DATASET_VERSION = "DATASET_VERSION"
    FEATURE = "FEATURE"
    MODEL = "MODEL"
    MODEL_VERSION = "MODEL_VERSION"
    DEPLOYMENT = "DEPLOYMENT"
    CHECK = "CHECK"
    RESULT = "RESULT"


# How many key parts follow (namespace, name) for each kind, and what they mean.
KEY_PARTS: dict[Kind, tuple[str, ...]] = {
    Kind.DATASET: (),
    Kind.FIELD: ("path",),
    Kind.JOB: (),
    Kind.RUN: ("run_id",),
    Kind.DATASET_VERSION: ("version",),
    Kind.FEATURE: (),
    Kind.MODEL: (),
    Kind.MODEL_VERSION: ("version",),
    Kind.DEPLOYMENT: (),
    Kind.CHECK: ("check",),
    Kind.RESULT: ("check", "result"),
}


class Key(NamedTuple):
    """The identity of an entity: kind, namespace, name and the kind's extra parts.

    For a field the extra part is its path in the dataset, for a run its run id,
    for a dataset or model version its version, for a check its name and for a
    result the check name and the result's own key.
    """

    kind: Kind
    namespace: str
    name: str
    parts: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The id of the entity with this key."""
        return make_id(self.kind, self.namespace, self.name, *self.parts)


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace("|", "%7C")


def _unescape(part: str) -> str:
    return part.replace("%7C", "|").replace("%7c", "|").replace("%25", "%")


def make_id(kind: Kind | str, namespace: str, name: str, *parts: str) -> str:
    """Build the id of an entity from its kind and key.

    >>> make_id(Kind.DATASET, "s3://bucket", "raw/orders.csv")
    'dataset|s3://bucket|raw/orders.csv'
    """
    kind = _kind(kind)
    expected = len(KEY_PARTS[kind])
    if len(parts) != expected:
        raise InvalidInput(f"a {kind.value} key has {expected} part(s) after its name")
    if not namespace or not name or any(p == "" for p in parts):
        raise InvalidInput(f"a {kind.value} key needs a non-empty namespace, name and parts")
    pieces = [kind.value.lower(), namespace, name, *parts]
    return SEPARATOR.join(_escape(p) for p in pieces)


def check_storable(entity_id: str, kind: Kind) -> None:
    """Refuse an id that a store must not take on (:class:`InvalidInput`): one longer than
    :data:`MAX_ID_BYTES` bytes of UTF-8, or one holding a NUL character, at which SQLite's
    text functions end the text. Stores check the ids of the nodes they write; ids made
    from stored ones (a field's dataset, a result's check) are not checked again."""
    if "\x00" in entity_id:
        raise InvalidInput(f"a {kind.value} key may not hold a NUL character (\\u0000)")
    # a character is at most 4 bytes: only a long id is encoded to be measured
    if len(entity_id) > MAX_ID_BYTES // 4:
        size = len(entity_id.encode("utf-8", "surrogatepass"))
        if size > MAX_ID_BYTES:
            raise InvalidInput(
                f"a {kind.value} id is at most {MAX_ID_BYTES} bytes of UTF-8, and "
                f"{entity_id[:60]}… has {size}"
            )


def parse_id(entity_id: str) -> Key:
    """Split an id back into its key; raises :class:`InvalidInput` for a malformed id."""
    pieces = entity_id.split(SEPARATOR)
    if len(pieces) < 3:
        raise InvalidInput(f"not an entity id: {entity_id!r}")
    kind = _kind(pieces[0].upper())
    expected = 3 + len(KEY_PARTS[kind])
    if len(pieces) != expected:
        raise InvalidInput(f"a {kind.value} id has {expected} parts: {entity_id!r}")
    namespace, name, *parts = (_unescape(p) for p in pieces[1:])
    if not namespace or not name or any(p == "" for p in parts):
        raise InvalidInput(f"not an entity id: {entity_id!r}")
    return Key(kind, namespace, name, tuple(parts))


def kind_of(entity_id: str) -> Kind:
    """The kind of an id, without parsing the rest."""
    return _kind(entity_id.split(SEPARATOR, 1)[0].upper())


def _kind(value: Kind | str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise InvalidInput(f"unknown entity kind: {value!r}") from None


def short_name(entity_id: str) -> str:
    """The compact name of an entity, as references write it and as evidence and tables
    show it: the name, with a field's path after ``.`` (``stg_orders.customer_id``) and any
    other key part after ``@`` (``churn_classifier@3``, ``stg_orders@not_null(id)@day5``).
    Raises :class:`InvalidInput` for a malformed id."""
    key = parse_id(entity_id)
    if not key.parts:
        return key.name
    joiner = "." if key.kind is Kind.FIELD else "@"
    return key.name + joiner + joiner.join(key.parts)


def dataset_of(field_or_version_id: str) -> str:
    """The dataset id that a field, dataset version, check or result id belongs to."""
    key = parse_id(field_or_version_id)
    return make_id(Kind.DATASET, key.namespace, key.name)
