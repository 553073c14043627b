"""The one error a bad partition key raises, wherever it is caught."""

from __future__ import annotations


class InvalidPartitionKey(ValueError):
    """A key that does not belong to a partition set (or cannot be stored).

    The message always names the set, the key (as `repr`, so invisible characters show) and
    the reason, because the person reading it usually typed the key somewhere else: a CLI
    argument, a sensor, a deployment parameter.
    """

    def __init__(self, set_name: str, key: object, reason: str) -> None:
        self.set_name = set_name
        self.key = key
        self.reason = reason
        super().__init__(f"invalid partition key {key!r} for set {set_name!r}: {reason}")


# What PostgreSQL and people can live with. 512 bytes is far above any id or time stamp and
# keeps the (set_name, key) btree entries small; NUL cannot be stored in a `text` column.
MAX_KEY_BYTES = 512


def check_storable(set_name: str, key: object) -> str:
    """Return `key` if it can be stored verbatim, else raise InvalidPartitionKey.

    Everything else (quotes, SQL, slashes, newlines, emoji, leading spaces) is legal and kept
    byte for byte: rejecting is honest, mangling is not.
    """
    if not isinstance(key, str):
        raise InvalidPartitionKey(set_name, key, f"a key is a str, not {type(key).__name__}")
    if key == "":
        raise InvalidPartitionKey(set_name, key, "empty key")
    if "\x00" in key:
        raise InvalidPartitionKey(
            set_name, key, "contains a NUL byte, which PostgreSQL cannot store"
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidPartitionKey(
            set_name, key, "not valid unicode text (lone surrogate)"
        ) from None
    if size > MAX_KEY_BYTES:
        raise InvalidPartitionKey(
            set_name, key, f"{size} bytes in UTF-8, more than the {MAX_KEY_BYTES} allowed"
        )
    return key
