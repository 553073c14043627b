"""The multi-key codec: round trip, injectivity and loud failure, over arbitrary unicode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talentflow.partitions import InvalidPartitionKey, codec

# Arbitrary unicode (hypothesis excludes lone surrogates by default), biased towards the
# characters the codec treats specially.
values = st.text(alphabet=st.one_of(st.sampled_from("|\\\n\t '\"*%_😀é"), st.characters()))
value_lists = st.lists(values, min_size=1, max_size=6)


@given(value_lists)
def test_round_trip(vals: list[str]) -> None:
    assert codec.decode(codec.encode(vals), len(vals)) == tuple(vals)


@given(value_lists, value_lists)
def test_injective(a: list[str], b: list[str]) -> None:
    if len(a) == len(b) and a != b:
        assert codec.encode(a) != codec.encode(b)


@given(st.text(), st.integers(min_value=1, max_value=5))
def test_decode_accepts_only_canonical_keys(key: str, n: int) -> None:
    # Every string either fails to decode or is exactly the encoding of what it decodes to:
    # no two spellings of one key, no silent repair.
    try:
        parts = codec.decode(key, n)
    except InvalidPartitionKey as exc:
        assert repr(key) in str(exc)
    else:
        assert codec.encode(parts) == key


@given(value_lists, values)
def test_prefix_selects_exactly_the_leading_values(vals: list[str], other: str) -> None:
    key = codec.encode([*vals, "tail"])
    assert key.startswith(codec.prefix(vals))
    if other != vals[0]:
        assert not codec.encode([other, *vals[1:], "tail"]).startswith(codec.prefix(vals[:1]))


def test_readable_for_ordinary_values() -> None:
    assert codec.encode(["2026-01-01", "eu"]) == "2026-01-01|eu"
    assert codec.encode(["a|b", "c\\d"]) == "a\\|b|c\\\\d"
    assert codec.decode("", 1) == ("",)
    assert codec.decode("|", 2) == ("", "")


@pytest.mark.parametrize(
    ("key", "n", "reason"),
    [
        ("a|b|c", 2, "has 3 dimension value(s), the set has 2"),
        ("a", 2, "has 1 dimension value(s), the set has 2"),
        ("a\\", 1, "dangling escape"),
        ("a\\x|b", 2, "unknown escape '\\x'"),
    ],
)
def test_malformed_keys_name_the_problem(key: str, n: int, reason: str) -> None:
    with pytest.raises(InvalidPartitionKey) as err:
        codec.decode(key, n, set_name="regions×days")
    assert reason in str(err.value)
    assert repr(key) in str(err.value) and "'regions×days'" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_encode_rejects_what_it_cannot_encode() -> None:
    with pytest.raises(TypeError):
        codec.encode("ab")  # a str is a sequence of characters, not of values
    with pytest.raises(ValueError):
        codec.encode([])
    with pytest.raises(TypeError):
        codec.encode(["a", 1])  # type: ignore[list-item]


# --------------------------------------------------------------------------------------------
# Keys as file names


# Written by hand from the rule (letters, digits, '-', '_', '.' kept, '.' not first; every other
# UTF-8 byte %XX), not produced by the code: the layout users see on disk must not drift.
GOLDEN_FILENAMES = [
    # (dimension values, multi key, file name)
    (["c1", "essay-v2", "gpt-4o"], "c1|essay-v2|gpt-4o", "c1%7Cessay-v2%7Cgpt-4o"),
    (["a|b", "x"], "a\\|b|x", "a%5C%7Cb%7Cx"),
    (["café", "t"], "café|t", "caf%C3%A9%7Ct"),
    ([".hidden", "m"], ".hidden|m", "%2Ehidden%7Cm"),
    (["a/b", "line\nbreak"], "a/b|line\nbreak", "a%2Fb%7Cline%0Abreak"),
    (["100%", ""], "100%|", "100%25%7C"),
    (["", ""], "|", "%7C"),
]


@pytest.mark.parametrize(("values", "key", "filename"), GOLDEN_FILENAMES)
def test_golden_filename_key_dimensions(values: list[str], key: str, filename: str) -> None:
    assert codec.encode(values) == key
    assert codec.to_filename(key) == filename
    assert codec.from_filename(filename) == key
    assert list(codec.decode(codec.from_filename(filename), len(values))) == values


def test_the_empty_key_and_single_dots_have_names() -> None:
    assert codec.to_filename("") == "%" and codec.from_filename("%") == ""
    assert codec.to_filename(".") == "%2E" and codec.to_filename("..") == "%2E."


@given(value_lists)
def test_filenames_round_trip_and_stay_plain(vals: list[str]) -> None:
    key = codec.encode(vals)
    try:
        name = codec.to_filename(key)
    except InvalidPartitionKey as exc:  # only keys too long, or not storable anyway
        assert "limit is 255" in str(exc) or "lone surrogate" in str(exc)
        return
    assert codec.from_filename(name) == key
    assert "/" not in name and "\0" not in name and not name.startswith(".")
    assert name.isascii() and name not in (".", "..")


@given(st.text())
def test_only_canonical_filenames_name_a_key(name: str) -> None:
    try:
        key = codec.from_filename(name)
    except InvalidPartitionKey:
        return
    assert codec.to_filename(key) == name
