"""The dense side: raw text cut into overlapping word windows, and one unit vector per entity
from its profile vector and its mean chunk vector."""

from __future__ import annotations

import numpy as np
import pytest

from talentflow.talent import dense
from talentflow.talent.dense import entity_vector, text_chunks

# The documented windows (CHUNK_WORDS 128, CHUNK_OVERLAP 24, MAX_CHUNKS 24): the expected
# starts below are multiples of 128 - 24 = 104.
WORDS, OVERLAP = dense.CHUNK_WORDS, dense.CHUNK_OVERLAP


def _words(n: int) -> list[str]:
    return [f"w{i}" for i in range(n)]


@pytest.mark.parametrize("n", [1, 23, 24, 25, 127, 128, 129, 152, 153, 232, 233, 500, 1000])
def test_chunks_cover_every_word_with_the_documented_overlap(n: int) -> None:
    words = _words(n)
    chunks = [c.split() for c in text_chunks(" ".join(words))]
    assert chunks and chunks[0][0] == "w0"
    # every word is in some chunk, in order, and nothing else is
    assert {w for c in chunks for w in c} == set(words)
    assert chunks[-1][-1] == words[-1]
    for c in chunks:
        assert len(c) <= WORDS
        start = int(c[0][1:])
        assert c == words[start:start + len(c)]  # a contiguous window
    # every chunk but the last is a full window; consecutive ones share exactly OVERLAP words
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert len(a) == WORDS
        assert a[-OVERLAP:] == b[:OVERLAP]
        assert not set(a) & set(b[OVERLAP:])


@pytest.mark.parametrize(("n", "expected"), [
    (128, 1),  # one full window
    (129, 2),  # one word past it: a second window starting at 128 - 24 = 104
    (232, 2),  # 104 + 128 = 232: the second window still reaches the end
    (233, 3),
])
def test_chunk_counts_at_the_window_edges(n: int, expected: int) -> None:
    chunks = text_chunks(" ".join(_words(n)))
    assert len(chunks) == expected
    starts = [int(c.split()[0][1:]) for c in chunks]
    assert starts == [i * (128 - 24) for i in range(expected)]


def test_short_text_is_one_chunk_with_whitespace_tidied() -> None:
    assert text_chunks("Senior   backend\nengineer\t(Python) ") == [
        "Senior backend engineer (Python)"]
    assert text_chunks("one") == ["one"]


def test_empty_text_has_no_chunks() -> None:
    assert text_chunks("") == []
    assert text_chunks(" \n\t ") == []


def test_long_text_is_capped_at_max_chunks_from_the_start() -> None:
    n = 104 * 40  # room for 40 windows
    words = _words(n)
    chunks = text_chunks(" ".join(words))
    assert len(chunks) == 24
    for i, chunk in enumerate(chunks):
        assert chunk.split() == words[104 * i:104 * i + 128]
    # the tail past the cap is dropped: the last kept window ends at 104 * 23 + 128 words
    assert chunks[-1].split()[-1] == f"w{104 * 23 + 127}"


# --- the entity vector -----------------------------------------------------------------------

def _rng_vectors(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    profile = rng.normal(size=384) * 3.0  # not unit length on purpose
    chunks = rng.normal(size=(rows, 384)) + 0.5
    return profile, chunks


@pytest.mark.parametrize("rows", [1, 2, 7])
def test_entity_vector_is_the_normalized_sum_of_two_unit_vectors(rows: int) -> None:
    profile, chunks = _rng_vectors(rows, rows)
    got = entity_vector(profile, chunks)
    assert got.shape == (384,) and got.dtype == np.float32
    assert float(np.linalg.norm(got)) == pytest.approx(1.0, abs=1e-5)
    # by hand, in float64
    p = profile / np.sqrt((profile ** 2).sum())
    mean = chunks.sum(axis=0) / rows
    t = mean / np.sqrt((mean ** 2).sum())
    expected = (p + t) / np.sqrt(((p + t) ** 2).sum())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # equally weighted: the result is as close to the profile as to the text
    assert float(got @ p) == pytest.approx(float(got @ t), abs=1e-5)


def test_entity_vector_weighs_the_mean_chunk_not_the_number_of_chunks() -> None:
    profile, chunks = _rng_vectors(3, 3)
    once = entity_vector(profile, chunks)
    twice = entity_vector(profile, np.vstack([chunks, chunks]))  # same mean
    np.testing.assert_allclose(once, twice, atol=1e-6)
    # a longer chunk vector does not outweigh the profile either
    scaled = entity_vector(profile, chunks * 10)
    np.testing.assert_allclose(once, scaled, atol=1e-5)


def test_entity_vector_without_chunks_is_the_unit_profile() -> None:
    profile, _ = _rng_vectors(5, 1)
    expected = profile / np.sqrt((profile ** 2).sum())
    for no_chunks in (np.zeros((0, 384), dtype=np.float32), []):
        got = entity_vector(profile, no_chunks)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=1e-6)
