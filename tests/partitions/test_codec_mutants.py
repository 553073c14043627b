"""The codec's errors, exactly: what a person reading them is told, and which exception.

Written after a mutation run (tests/README.md): these paths raised, but nothing checked the
set and key an error names, its reason, or that a malformed file name fails with
InvalidPartitionKey (not a stray ValueError from int()) for the reason that applies.
"""

from __future__ import annotations

import pytest

from talentflow.partitions import codec
from talentflow.partitions.errors import InvalidPartitionKey

CODEC = "multi-key codec"


def _raises(fn, *args, **kwargs) -> InvalidPartitionKey:
    with pytest.raises(InvalidPartitionKey) as err:
        fn(*args, **kwargs)
    return err.value


@pytest.mark.parametrize(("values", "kind", "says"), [
    ("ab", TypeError, "encode() takes a sequence of dimension values, not a str"),
    ([], ValueError, "a multi key has at least one dimension"),
    (["a", 1], TypeError, "dimension values are str, got int: 1"),
    (["a", None], TypeError, "dimension values are str, got NoneType: None"),
])
def test_encode_says_what_it_cannot_encode(values, kind: type, says: str) -> None:
    with pytest.raises(kind) as err:
        codec.encode(values)
    assert str(err.value) == says


def test_decode_needs_a_dimension() -> None:
    with pytest.raises(ValueError) as err:
        codec.decode("a", 0)
    assert str(err.value) == "a multi key has at least one dimension"
    assert not isinstance(err.value, InvalidPartitionKey)


@pytest.mark.parametrize(("key", "n", "reason"), [
    (7, 1, "a key is a str, not int"),
    (None, 2, "a key is a str, not NoneType"),
    ("a|b|c", 2, "has 3 dimension value(s), the set has 2"),  # the fast path
    ("a\\|b|c|d", 2, "has 3 dimension value(s), the set has 2"),  # the scanner
    ("a\\", 1, "ends with a dangling escape '\\'"),
    ("a\\x|b", 2, "unknown escape '\\x' at position 1 (only '\\\\' and '\\|' exist)"),
])
def test_decode_errors_name_the_set_the_key_and_the_reason(key, n: int, reason: str) -> None:
    error = _raises(codec.decode, key, n, set_name="days")
    assert (error.set_name, error.key, error.reason) == ("days", key, reason)
    assert str(error) == f"invalid partition key {key!r} for set 'days': {reason}"
    # Without a set, the codec names itself.
    assert _raises(codec.decode, key, n).set_name == CODEC


def test_a_file_name_of_exactly_the_limit_is_allowed() -> None:
    key = "k" * codec.MAX_FILENAME_BYTES
    assert codec.to_filename(key) == key and codec.from_filename(key) == key
    error = _raises(codec.to_filename, key + "k")
    assert (error.set_name, error.key) == (CODEC, key + "k")
    assert error.reason == "is 256 bytes as a file name; the limit is 255"
    # Escapes count three bytes each.
    assert len(codec.to_filename("|" * 85)) == 255
    assert _raises(codec.to_filename, "|" * 86).reason.startswith("is 258 bytes")


def test_a_lone_surrogate_has_no_file_name() -> None:
    error = _raises(codec.to_filename, "a\ud800")
    assert (error.set_name, error.key) == (CODEC, "a\ud800")
    assert error.reason == "is not valid unicode (a lone surrogate) and has no file name"


@pytest.mark.parametrize(("name", "reason"), [
    ("%4", "bad escape at position 0 of the file name (expected %XX, uppercase hex)"),
    ("ab%", "bad escape at position 2 of the file name (expected %XX, uppercase hex)"),
    ("%zz", "bad escape at position 0 of the file name (expected %XX, uppercase hex)"),
    ("%XX", "bad escape at position 0 of the file name (expected %XX, uppercase hex)"),
    ("a%2e", "bad escape at position 1 of the file name (expected %XX, uppercase hex)"),
    (".hidden", "character '.' is never part of a key's file name"),
    ("a b", "character ' ' is never part of a key's file name"),
    ("a/b", "character '/' is never part of a key's file name"),
    ("%FF", "escapes are not UTF-8"),
    ("%C3", "escapes are not UTF-8"),
    ("%41", "is not the canonical file name of a key"),  # 'A' is written as itself
    ("x%2E", "is not the canonical file name of a key"),  # '.' is only escaped first
])
def test_file_names_of_no_key_are_refused_for_their_reason(name: str, reason: str) -> None:
    error = _raises(codec.from_filename, name)
    assert (error.set_name, error.key, error.reason) == (CODEC, name, reason)


def test_file_names_keep_plain_characters_and_escape_the_rest_in_utf8() -> None:
    # Written from the rule: safe ASCII kept, every other UTF-8 byte as uppercase %XX.
    assert codec.to_filename("Aa0-_.z") == "Aa0-_.z"
    assert codec.to_filename("é") == "%C3%A9"
    assert codec.to_filename("€|x") == "%E2%82%AC%7Cx"
    assert codec.from_filename("%E2%82%AC%7Cx") == "€|x"
    assert codec.to_filename("%") == "%25" and codec.from_filename("%25") == "%"
