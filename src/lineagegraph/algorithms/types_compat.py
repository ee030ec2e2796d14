"""Type compatibility of schema changes: which type and nullability changes break readers.

A change is NON_BREAKING when every value the old column can hold is still a
value of the new column, unchanged — a reader that worked before keeps working
(widening). Anything else is BREAKING: narrowing, a change of meaning (a
timestamp gaining a time zone), a change of family (number to text), or a type
this table does not know. The table (also in the README):

================================  ============================================  ============
from                              to                                            verdict
================================  ============================================  ============
integer of n bits                 integer of m >= n bits                        NON_BREAKING
tinyint / smallint                float (real) or double                        NON_BREAKING
int                               double                                        NON_BREAKING
int / bigint                      float (real); bigint -> double                BREAKING
integer of n bits                 decimal(p, s) with p - s >= its digits        NON_BREAKING
decimal(p, s)                     decimal(p2, s2), s2 >= s, p2 - s2 >= p - s    NON_BREAKING
decimal(p, s)                     unbounded decimal (no precision)              NON_BREAKING
unbounded decimal                 decimal(p, s)                                 BREAKING
decimal(p, 0)                     an integer holding every p-digit value        NON_BREAKING
decimal                           float or double                               BREAKING
float (real)                      double                                        NON_BREAKING
double                            float (real)                                  BREAKING
char(n) / varchar(n)              varchar(m >= n), or unbounded text            NON_BREAKING
unbounded text / varchar(n)       varchar(m < n)                                BREAKING
varchar                           char(n)  (padding changes values)             BREAKING
binary(n) / varbinary(n)          varbinary(m >= n), or unbounded               NON_BREAKING
date                              timestamp (midnight; no time zone needed)     NON_BREAKING
timestamp(p) / time(p)            the same with precision q >= p                NON_BREAKING
timestamp                         date, or with a time zone (and back)          BREAKING
nested types (array, struct, …)   anything different                            BREAKING
anything                          another family or an unknown type             BREAKING
nullable                          required (NOT NULL)                           BREAKING
required                          nullable                                      NON_BREAKING
================================  ============================================  ============

Types are compared after normalisation: case and spacing are ignored and common
aliases are mapped (``int4`` → int, ``int8``/``long``/``int64`` → bigint,
``float8``/``double precision``/``float64`` → double, ``real``/``float4`` → float,
``string``/``text``/``character varying`` → varchar, ``numeric``/``number`` →
decimal, ``datetime``/``timestamp_ntz`` → timestamp, ``timestamptz``/
``timestamp with time zone`` → timestamptz). ``float`` means 32 bits. A decimal
without precision is unbounded; ``number(p)`` has scale 0. A timestamp or time
without precision has the standard precision 6.

A dialect fills in what a bare type means where the standard leaves it open. In
Snowflake (``dialect="snowflake"``, for datasets in a ``snowflake://`` namespace) every
integer type and a bare ``number`` are ``number(38,0)``, a bare ``varchar``/``string``/
``text`` is ``varchar(16777216)``, a bare ``binary`` is ``binary(8388608)``, ``char``
is an unpadded ``varchar`` (of length 1 when bare) and ``varbinary`` is ``binary``, and
every float is a double, so ``int`` to ``number(38,0)`` or ``varchar`` to ``varchar(16777216)``
changes nothing.

Required → nullable is NON_BREAKING for the schema: every value the old column
held is still valid, and readers still read it. Consumers that relied on the
column never being null may still want to know, so impact analysis lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "SqlType",
    "Verdict",
    "compare_nullability",
    "compare_types",
    "dialect_of",
    "normalize_type",
    "parse_type",
]

# Integer widths in bits, and the decimal digits needed to hold every value.
_INTEGERS: dict[str, int] = {
    "tinyint": 8,
    "int1": 8,
    "byte": 8,
    "smallint": 16,
    "int2": 16,
    "short": 16,
    "smallserial": 16,
    "int": 32,
    "integer": 32,
    "int4": 32,
    "int32": 32,
    "mediumint": 32,
    "serial": 32,
    "bigint": 64,
    "int8": 64,
    "int64": 64,
    "long": 64,
    "bigserial": 64,
    "hugeint": 128,
    "int128": 128,
}
_INTEGER_NAMES = {8: "tinyint", 16: "smallint", 32: "int", 64: "bigint", 128: "hugeint"}
_DIGITS_NEEDED = {8: 3, 16: 5, 32: 10, 64: 19, 128: 39}  # to hold every value
_DIGITS_SAFE = {8: 2, 16: 4, 32: 9, 64: 18, 128: 38}  # every value of that many digits fits
_FLOATS: dict[str, int] = {
    "real": 32,
    "float4": 32,
    "float32": 32,
    "float": 32,
    "double": 64,
    "double precision": 64,
    "float8": 64,
    "float64": 64,
}
_MANTISSA = {32: 24, 64: 53}
_DECIMALS = {"decimal", "numeric", "number", "dec", "bignumeric", "bigdecimal"}
_STRINGS = {
    "varchar": "varchar",
    "character varying": "varchar",
    "nvarchar": "varchar",
    "varchar2": "varchar",
    "string": "varchar",
    "text": "varchar",
    "char": "char",
    "character": "char",
    "nchar": "char",
    "bpchar": "char",
}
_BINARIES = {
    "binary": "binary",
    "varbinary": "varbinary",
    "bytea": "varbinary",
    "bytes": "varbinary",
    "blob": "varbinary",
}
_BOOLEANS = {"boolean", "bool"}
_TIMESTAMPS = {
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "datetime": "timestamp",
    "datetime2": "timestamp",
    "timestamp without time zone": "timestamp",
    "timestamptz": "timestamptz",
    "timestamp_tz": "timestamptz",
    "timestamp_ltz": "timestamptz",
    "timestamp with time zone": "timestamptz",
    "timestamp with local time zone": "timestamptz",
}
_TIMES = {"time": "time", "time without time zone": "time", "timetz": "timetz"}
_DEFAULT_TIME_PRECISION = 6
_WORDS = re.compile(r"^[a-z_][a-z0-9_ ]*$")


@dataclass(frozen=True)
class SqlType:
    """A parsed column type: its family, canonical name and size parameters.

    ``length`` is a string or binary length (``None``: unbounded); ``precision``
    and ``scale`` belong to decimals (``None``: unbounded) and ``precision`` also
    to timestamps and times (fractional digits); ``bits`` to integers and floats.
    """

    text: str
    family: str  # integer, float, decimal, string, binary, boolean, date, timestamp, time, other
    name: str
    bits: int | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Verdict:
    """Whether a change breaks readers, and why; ``changed`` is false when nothing changes."""

    breaking: bool
    reason: str
    changed: bool = True


def normalize_type(text: str) -> str:
    """Lowercase, single-spaced, tight parentheses: ``VARCHAR ( 10 )`` → ``varchar(10)``."""
    lowered = " ".join(text.strip().lower().split())
    lowered = re.sub(r"\s*\(\s*", "(", lowered)
    lowered = re.sub(r"\s*\)", ")", lowered)
    return re.sub(r"\s*,\s*", ",", lowered)


def _ints(params: str | None) -> list[int] | None:
    if params is None or params == "":
        return []
    values: list[int] = []
    for part in params.split(","):
        part = part.strip()
        if part in ("max", "*"):
            return None  # varchar(max): unbounded
        if not part.isdigit():
            return None
        values.append(int(part))
    return values


# What a bare type means in a dialect: its decimal precision and scale, string length and
# binary length (parse_type also reads every integer as such a decimal, every float as a
# double).
@dataclass(frozen=True)
class _Dialect:
    decimal: tuple[int, int]
    string: int
    binary: int


_DIALECTS = {"snowflake": _Dialect(decimal=(38, 0), string=16_777_216, binary=8_388_608)}


def dialect_of(namespace: str) -> str | None:
    """The SQL dialect of a dataset namespace whose types it changes, by its scheme."""
    scheme = namespace.partition("://")[0].lower()
    return scheme if scheme in _DIALECTS else None


def parse_type(text: str, dialect: str | None = None) -> SqlType:
    """Parse a column type into a :class:`SqlType` (unknown or nested types get family other);
    a ``dialect`` fills in what its bare types mean (see the module docstring)."""
    parsed = _parse_type(text)
    rules = _DIALECTS.get(dialect or "")
    if rules is None:
        return parsed
    if parsed.family == "integer" or (parsed.family == "decimal" and parsed.precision is None):
        precision, scale = rules.decimal
        return SqlType(parsed.text, "decimal", "decimal", precision=precision, scale=scale)
    if parsed.family == "float":
        return SqlType(parsed.text, "float", "double", bits=64)
    # char and varchar (varbinary and binary) are one type there, unpadded.
    if parsed.family == "string":
        return SqlType(parsed.text, "string", "varchar", length=parsed.length or rules.string)
    if parsed.family == "binary":
        return SqlType(parsed.text, "binary", "binary", length=parsed.length or rules.binary)
    return parsed


def _parse_type(text: str) -> SqlType:
    norm = normalize_type(text)
    base, raw_params, suffix = norm, None, ""
    if "(" in norm:
        base, rest = norm.split("(", 1)
        raw_params, _, suffix = rest.partition(")")
        suffix = suffix.strip()
    base = base.strip()
    if not _WORDS.match(base) or (suffix and not _WORDS.match(suffix)) or "<" in norm:
        return SqlType(norm, "other", norm)
    params = _ints(raw_params)
    full = f"{base} {suffix}".strip()
    if params is None:
        if base in _STRINGS or base in _BINARIES:
            family = "string" if base in _STRINGS else "binary"
            name = _STRINGS.get(base) or _BINARIES[base]
            return SqlType(norm, family, name, length=None)
        return SqlType(norm, "other", norm)
    values = params or []
    if full in _INTEGERS and not values:
        bits = _INTEGERS[full]
        return SqlType(norm, "integer", _INTEGER_NAMES[bits], bits=bits)
    if full in _FLOATS or (base == "float" and not suffix):
        bits = _FLOATS.get(full, 32)
        if base == "float" and values:
            bits = 32 if values[0] <= 24 else 64
        return SqlType(norm, "float", "float" if bits == 32 else "double", bits=bits)
    if base in _DECIMALS and not suffix:
        if not values:
            return SqlType(norm, "decimal", "decimal")
        scale = values[1] if len(values) > 1 else 0
        return SqlType(norm, "decimal", "decimal", precision=values[0], scale=scale)
    if full in _STRINGS and len(values) <= 1:
        name = _STRINGS[full]
        length = values[0] if values else (1 if name == "char" else None)
        return SqlType(norm, "string", name, length=length)
    if full in _BINARIES and len(values) <= 1:
        return SqlType(norm, "binary", _BINARIES[full], length=values[0] if values else None)
    if full in _BOOLEANS and not values:
        return SqlType(norm, "boolean", "boolean")
    if full == "date" and not values:
        return SqlType(norm, "date", "date")
    timestamp = _TIMESTAMPS.get(full)
    if timestamp is not None and len(values) <= 1:
        precision = values[0] if values else _DEFAULT_TIME_PRECISION
        return SqlType(norm, "timestamp", timestamp, precision=precision)
    time_name = _TIMES.get(full)
    if time_name is not None and len(values) <= 1:
        precision = values[0] if values else _DEFAULT_TIME_PRECISION
        return SqlType(norm, "time", time_name, precision=precision)
    return SqlType(norm, "other", norm)


def _bounded(length: int | None) -> str:
    return "unbounded" if length is None else str(length)


def compare_types(old: str | None, new: str | None, dialect: str | None = None) -> Verdict:
    """Classify a change of column type from ``old`` to ``new`` (see the module table),
    with bare types read as ``dialect`` reads them.

    ``new=None`` means the type does not change; an unknown ``old`` type makes
    any new type BREAKING (nothing shows it is compatible).
    """
    if new is None:
        return Verdict(False, "type unchanged", changed=False)
    if old is None:
        return Verdict(True, f"the current type is unknown, so {new!r} may not be compatible")
    a, b = parse_type(old, dialect), parse_type(new, dialect)
    if a.text == b.text:
        return Verdict(False, f"type unchanged ({a.text})", changed=False)
    verdict = _compare(a, b)
    if verdict is not None:
        return verdict
    if a.family == "other" or b.family == "other":
        return Verdict(True, f"{a.text} -> {b.text}: incompatible or unknown type change")
    return Verdict(True, f"{a.text} -> {b.text} changes the type family ({a.family} to {b.family})")


def _compare(a: SqlType, b: SqlType) -> Verdict | None:
    """The verdict for the pairs the table knows, or ``None``."""
    change = f"{a.text} -> {b.text}"
    if a.family == "other" or b.family == "other":
        return None
    same = (a.family, a.name, a.bits, a.length, a.precision, a.scale) == (
        b.family,
        b.name,
        b.bits,
        b.length,
        b.precision,
        b.scale,
    )
    if same:
        return Verdict(False, f"{change}: the same type under another name", changed=False)
    pair = (a.family, b.family)
    if pair == ("integer", "integer"):
        assert a.bits is not None and b.bits is not None
        if b.bits >= a.bits:
            return Verdict(False, f"{change}: integer widening ({a.bits} to {b.bits} bits)")
        return Verdict(True, f"{change}: integer narrowing ({a.bits} to {b.bits} bits)")
    if pair == ("integer", "float"):
        assert a.bits is not None and b.bits is not None
        if a.bits <= _MANTISSA[b.bits]:
            return Verdict(False, f"{change}: every {a.bits}-bit integer is exact in {b.name}")
        return Verdict(True, f"{change}: large {a.bits}-bit integers lose precision in {b.name}")
    if pair == ("integer", "decimal"):
        assert a.bits is not None
        if b.precision is None:
            return Verdict(False, f"{change}: an unbounded decimal holds every integer")
        assert b.scale is not None
        digits = b.precision - b.scale
        if digits >= _DIGITS_NEEDED[a.bits]:
            return Verdict(False, f"{change}: {digits} integer digits hold every {a.name}")
        needed = _DIGITS_NEEDED[a.bits]
        return Verdict(
            True,
            f"{change}: {digits} integer digits cannot hold every {a.name}, which needs {needed}",
        )
    if pair == ("decimal", "integer"):
        assert b.bits is not None
        if a.precision is not None and a.scale == 0 and a.precision <= _DIGITS_SAFE[b.bits]:
            return Verdict(False, f"{change}: every {a.precision}-digit integer fits in {b.name}")
        return Verdict(True, f"{change}: fractions or large values do not fit in {b.name}")
    if pair == ("decimal", "decimal"):
        return _compare_decimals(change, a, b)
    if pair == ("decimal", "float"):
        return Verdict(True, f"{change}: exact decimals become approximate floating point")
    if pair == ("float", "float"):
        assert a.bits is not None and b.bits is not None
        if b.bits >= a.bits:
            return Verdict(False, f"{change}: floating-point widening ({a.bits} to {b.bits} bits)")
        return Verdict(True, f"{change}: floating-point narrowing ({a.bits} to {b.bits} bits)")
    if pair in (("string", "string"), ("binary", "binary")):
        return _compare_lengths(change, a, b)
    if pair == ("date", "timestamp"):
        if b.name == "timestamp":
            return Verdict(False, f"{change}: a date is the timestamp at its midnight")
        return Verdict(True, f"{change}: placing a date's midnight needs a time zone")
    if pair in (("timestamp", "timestamp"), ("time", "time")):
        if a.name != b.name:
            return Verdict(
                True, f"{change}: adding or dropping the time zone changes the values' meaning"
            )
        assert a.precision is not None and b.precision is not None
        if b.precision >= a.precision:
            return Verdict(
                False, f"{change}: fractional seconds widen ({a.precision} to {b.precision} digits)"
            )
        return Verdict(
            True, f"{change}: fractional seconds are cut ({a.precision} to {b.precision} digits)"
        )
    return None


def _compare_decimals(change: str, a: SqlType, b: SqlType) -> Verdict:
    if b.precision is None:
        return Verdict(False, f"{change}: an unbounded decimal holds every decimal")
    if a.precision is None:
        return Verdict(True, f"{change}: an unbounded decimal does not fit in a bounded one")
    assert a.scale is not None and b.scale is not None
    if b.scale >= a.scale and b.precision - b.scale >= a.precision - a.scale:
        return Verdict(
            False,
            f"{change}: decimal widening (integer digits "
            f"{a.precision - a.scale} to {b.precision - b.scale}, scale {a.scale} "
            f"to {b.scale})",
        )
    if b.scale < a.scale:
        return Verdict(
            True, f"{change}: decimal scale narrows ({a.scale} to {b.scale}): fractions are rounded"
        )
    return Verdict(
        True,
        f"{change}: decimal precision narrows (integer digits "
        f"{a.precision - a.scale} to {b.precision - b.scale})",
    )


def _compare_lengths(change: str, a: SqlType, b: SqlType) -> Verdict:
    if a.name == "varchar" and b.name == "char":
        return Verdict(True, f"{change}: fixed-length padding changes the values")
    if b.length is None or (a.length is not None and b.length >= a.length):
        return Verdict(
            False, f"{change}: length widens ({_bounded(a.length)} to {_bounded(b.length)})"
        )
    return Verdict(
        True,
        f"{change}: length narrows ({_bounded(a.length)} to "
        f"{_bounded(b.length)}); longer values no longer fit",
    )


def compare_nullability(old: bool | None, new: bool | None) -> Verdict:
    """Classify a nullability change; ``None`` means unknown (old) or unchanged (new).

    An unknown current nullability counts as nullable, the SQL default.
    """
    if new is None:
        return Verdict(False, "nullability unchanged", changed=False)
    before = True if old is None else old
    if before == new:
        state = "nullable" if new else "required"
        return Verdict(False, f"nullability unchanged ({state})", changed=False)
    if new:
        return Verdict(
            False,
            "required -> nullable: every existing value stays valid and readers still read it; "
            "consumers that assumed no nulls are listed to check",
        )
    known = "" if old is not None else " (its nullability is not recorded, so nulls may exist)"
    return Verdict(
        True, f"nullable -> required: existing nulls and writers that send nulls fail{known}"
    )
