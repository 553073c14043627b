"""The multi-dimensional key codec: the only place a multi key is built or taken apart.

A multi key is its dimension values joined by `|`; inside a value, `\\` and `|` are escaped as
`\\\\` and `\\|`. Nothing else is touched, so ordinary keys stay readable
(`2026-01-01|eu`) and any unicode value (delimiters, backslashes, empty strings, newlines,
emoji) round-trips. Because every `|` inside a value is escaped, the encoding of a first value
followed by `|` is a byte prefix of exactly the keys with that first value: prefix listing by
leading dimensions works in SQL without decoding.

`decode` needs the number of dimensions: it is a property of the set, and it lets a malformed
key (wrong arity, dangling or unknown escape) fail loudly instead of decoding to something else.
"""

from __future__ import annotations

from collections.abc import Sequence

from talentflow.partitions.errors import InvalidPartitionKey

DELIMITER = "|"
ESCAPE = "\\"
_CODEC = "multi-key codec"


def escape(value: str) -> str:
    """One value as it appears inside a multi key."""
    return value.replace(ESCAPE, ESCAPE * 2).replace(DELIMITER, ESCAPE + DELIMITER)


def encode(values: Sequence[str]) -> str:
    """Join dimension values into one key; inverse of `decode(key, len(values))`."""
    if isinstance(values, str):
        # A str is a Sequence[str]: encoding its characters is never what the caller meant.
        raise TypeError("encode() takes a sequence of dimension values, not a str")
    if not values:
        raise ValueError("a multi key has at least one dimension")
    for v in values:
        if not isinstance(v, str):
            raise TypeError(f"dimension values are str, got {type(v).__name__}: {v!r}")
    return DELIMITER.join(escape(v) for v in values)


def decode(key: str, n_dims: int, *, set_name: str = _CODEC) -> tuple[str, ...]:
    """Split a multi key into its `n_dims` values; InvalidPartitionKey if it is malformed."""
    if n_dims < 1:
        raise ValueError("a multi key has at least one dimension")
    if not isinstance(key, str):
        raise InvalidPartitionKey(set_name, key, f"a key is a str, not {type(key).__name__}")
    if ESCAPE not in key:
        # The common case (ids, dates): a plain split, ~20x faster than the scanner below.
        parts = tuple(key.split(DELIMITER))
        if len(parts) != n_dims:
            raise InvalidPartitionKey(
                set_name, key, f"has {len(parts)} dimension value(s), the set has {n_dims}"
            )
        return parts
    values: list[str] = []
    current: list[str] = []
    i, n = 0, len(key)
    while i < n:
        ch = key[i]
        if ch == ESCAPE:
            if i + 1 == n:
                raise InvalidPartitionKey(set_name, key, "ends with a dangling escape '\\'")
            nxt = key[i + 1]
            if nxt not in (ESCAPE, DELIMITER):
                raise InvalidPartitionKey(
                    set_name, key, f"unknown escape '\\{nxt}' at position {i} (only '\\\\' "
                    "and '\\|' exist)"
                )
            current.append(nxt)
            i += 2
            continue
        if ch == DELIMITER:
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    values.append("".join(current))
    if len(values) != n_dims:
        raise InvalidPartitionKey(
            set_name, key, f"has {len(values)} dimension value(s), the set has {n_dims}"
        )
    return tuple(values)


def prefix(values: Sequence[str]) -> str:
    """The key prefix shared by exactly the keys whose leading dimensions are `values`."""
    return encode(values) + DELIMITER
