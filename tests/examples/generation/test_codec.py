"""The key codec proven for generation keys: golden file name <-> key <-> dimensions of real
keys, round trips of odd values in every dimension, and errors that name the dimension."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.generation.partitions import DIMS, drafts, essays, evaluations
from examples.generation.store import STORES, gen_id, key_of
from talentflow.partitions import DimensionProjection
from talentflow.partitions.codec import from_filename, to_filename
from talentflow.partitions.errors import InvalidPartitionKey

# Written by hand from the documented rules (docs/partitions.md, examples/generation/README.md):
# '|' joins dimensions, '\' and '|' inside a value are escaped; in a file name every byte
# outside [A-Za-z0-9._-] is %XX.
GOLDEN = [
    ("evaluation", "c01%7Cscene%7Cgpt-4o-mini%7Cexpand%7Cgpt-4o-mini%7Crubric%7Cgpt-4.1-mini",
     "c01|scene|gpt-4o-mini|expand|gpt-4o-mini|rubric|gpt-4.1-mini",
     {"combo": "c01", "draft_template": "scene", "draft_model": "gpt-4o-mini",
      "essay_template": "expand", "essay_model": "gpt-4o-mini",
      "evaluation_template": "rubric", "evaluation_model": "gpt-4.1-mini"}),
    ("essay", "c02%7Cletter%7Cmeta-llama%2FLlama-3-8B%7Cargue%7Cgpt-4.1-nano",
     "c02|letter|meta-llama/Llama-3-8B|argue|gpt-4.1-nano",
     {"combo": "c02", "draft_template": "letter", "draft_model": "meta-llama/Llama-3-8B",
      "essay_template": "argue", "essay_model": "gpt-4.1-nano"}),
    ("draft", "a%5C%5C%5C%7Cb%7Cn%C3%A9%20w%7Cm%0A1",
     "a\\\\\\|b|né w|m\n1",
     {"combo": "a\\|b", "draft_template": "né w", "draft_model": "m\n1"}),
    ("draft", "%2Ehidden%7C%F0%9F%99%82%7C.m",
     ".hidden|🙂|.m",
     {"combo": ".hidden", "draft_template": "🙂", "draft_model": ".m"}),
]
SETS = {"draft": drafts, "essay": essays, "evaluation": evaluations}


@pytest.mark.parametrize(("stage", "filename", "key", "dims"), GOLDEN,
                         ids=[g[0] + str(i) for i, g in enumerate(GOLDEN)])
def test_golden_filename_key_dimensions(stage: str, filename: str, key: str,
                                        dims: dict[str, str]) -> None:
    s = SETS[stage]
    assert s.key(**dims) == key
    assert s.key(*dims.values()) == key
    assert s.values(key) == dims
    assert list(s.values(key)) == list(DIMS[stage])  # the one documented order
    assert gen_id(key) == to_filename(key) == filename
    assert key_of(filename) == from_filename(filename) == key
    assert STORES[stage].path(key).name == filename


def test_a_child_key_projects_onto_its_parent() -> None:
    _, _, key, dims = GOLDEN[0]
    parent = DimensionProjection(*DIMS["essay"]).upstream_keys(key, evaluations, essays)
    assert parent == ["c01|scene|gpt-4o-mini|expand|gpt-4o-mini"]
    draft = DimensionProjection(*DIMS["draft"]).upstream_keys(parent[0], essays, drafts)
    assert draft == ["c01|scene|gpt-4o-mini"]


ODD = st.sampled_from(["|", "\\", "\n", "\\|", "|\\", "é", "🙂", "名", " ", ".", "%", "%7C"])
PLAIN = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                min_size=1, max_size=2)


def values(n: int) -> st.SearchStrategy[list[str]]:
    # Short values keep every key's file name under 255 bytes (7 dimensions of up to 2
    # characters of up to 12 bytes as %XX); odd ones are drawn often.
    return st.lists(st.one_of(ODD, PLAIN), min_size=n, max_size=n)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["draft", "essay", "evaluation"]).flatmap(
    lambda stage: st.tuples(st.just(stage), values(len(DIMS[stage])))))
def test_odd_values_in_every_dimension_round_trip(case: tuple[str, list[str]]) -> None:
    stage, vals = case
    s = SETS[stage]
    key = s.key(*vals)
    assert s.values(key) == dict(zip(DIMS[stage], vals, strict=True))
    name = to_filename(key)
    assert "/" not in name and "\n" not in name and "|" not in name and "\\" not in name
    assert not name.startswith(".")
    assert from_filename(name) == key
    assert SETS[stage].values(from_filename(name)) == dict(zip(DIMS[stage], vals, strict=True))
    if stage != "draft":
        parent = "draft" if stage == "essay" else "essay"
        [up] = DimensionProjection(*DIMS[parent]).upstream_keys(key, s, SETS[parent])
        assert SETS[parent].values(up) == dict(zip(DIMS[parent], vals, strict=False))


def test_the_wrong_number_of_dimensions_names_them() -> None:
    with pytest.raises(InvalidPartitionKey, match=r"has 3 dimension value\(s\), the set has 5 "
                       r"\(combo, draft_template, draft_model, essay_template, essay_model\)"):
        essays.values("c01|scene|gpt-4o-mini")
    with pytest.raises(InvalidPartitionKey, match=r"the set has 3 \(combo, draft_template, "
                       r"draft_model\)"):
        drafts.key("c01", "scene")
    with pytest.raises(InvalidPartitionKey, match=r"missing dimensions \['essay_model'\]"):
        essays.key(combo="c", draft_template="t", draft_model="m", essay_template="e")


@pytest.mark.parametrize(("dims", "named", "why"), [
    (("", "scene", "gpt-4o-mini"), "combo", "empty key"),
    (("c01", "", "gpt-4o-mini"), "draft_template", "empty key"),
    (("c01", "scene", "a\x00b"), "draft_model", "NUL"),
])
def test_a_bad_value_names_its_dimension(dims: tuple[str, ...], named: str, why: str) -> None:
    with pytest.raises(InvalidPartitionKey, match=rf"dimension '{named}': .*{why}"):
        drafts.key(*dims)


def test_a_malformed_key_says_what_is_wrong() -> None:
    with pytest.raises(InvalidPartitionKey, match=r"unknown escape '\\n'.*\(combo, "
                       "draft_template, draft_model\\)"):
        drafts.values("c01|sc\\ne|m")
    with pytest.raises(InvalidPartitionKey, match="expected %XX, uppercase hex"):
        from_filename("c01%7cscene")
    with pytest.raises(InvalidPartitionKey, match="not the canonical file name"):
        from_filename("c01%41")  # 'A' escaped: one key has one name, 'c01A'
    with pytest.raises(InvalidPartitionKey, match="never part of a key's file name"):
        key_of("c01|scene")
