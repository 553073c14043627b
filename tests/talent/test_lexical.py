"""The lexical vectors: which words weigh what, stems, tool names, saturation, and the property
that keeps stored match lists exact (a pair's cosine depends on its two texts alone).

Expected weights are worked out from the documented formula

    weight(t) = tf * (K1 + 1) / (tf + K1) * max(0, 7 - zipf(t))     (K1 = 1.2)

with the zipf frequencies read from wordfreq (the language prior) and tf counted by hand.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import wordfreq

from talentflow.talent import lexical
from talentflow.talent.lexical import (
    LexicalVector,
    detect_language,
    lexical_vector,
    matrix,
    tokens,
)


def _weights(vec: LexicalVector) -> dict[int, float]:
    return dict(zip(vec.terms.tolist(), vec.weights.tolist(), strict=True))


def _id(word: str, lang: str = "en") -> int:
    """The term id of one word (the only term of its one-word vector)."""
    vec = lexical_vector([(word, 1.0)], lang=lang)
    assert len(vec) == 1, word
    return int(vec.terms[0])


def _cosine(a: LexicalVector, b: LexicalVector) -> float:
    wa, wb = _weights(a), _weights(b)
    return sum(wa[t] * wb[t] for t in wa.keys() & wb.keys())


def _info(word: str, lang: str = "en") -> float:
    return max(0.0, 7.0 - wordfreq.zipf_frequency(word, lang))


# --- what weighs what ---------------------------------------------------------------------------

def test_stopwords_weigh_nothing() -> None:
    empty = lexical_vector([("the and of", 1.0)], lang="en")
    assert len(empty) == 0
    assert empty.terms.dtype == np.int32 and empty.weights.dtype == np.float32
    # with one informative word beside them, that word is the whole (unit) vector
    one = lexical_vector([("the payroll and of", 1.0)], lang="en")
    assert one.terms.tolist() == [_id("payroll")]
    assert one.weights.tolist() == pytest.approx([1.0])


def test_empty_and_blank_fields_give_an_empty_vector() -> None:
    assert len(lexical_vector([])) == 0
    assert len(lexical_vector([("", 3.0), ("   ", 1.0)])) == 0


def test_a_rare_domain_term_outweighs_a_common_one() -> None:
    vec = _weights(lexical_vector([("payroll experience", 1.0)], lang="en"))
    payroll, experience = vec[_id("payroll")], vec[_id("experience")]
    assert payroll > experience
    # both tf 1: the ratio is the ratio of their language-prior IDFs
    assert payroll / experience == pytest.approx(_info("payroll") / _info("experience"),
                                                 rel=1e-4)
    assert _info("payroll") > _info("experience") > 0


def test_saturation_ten_mentions_count_less_than_ten_times_one() -> None:
    once = _weights(lexical_vector([("payroll kubernetes", 1.0)], lang="en"))
    tenfold = _weights(lexical_vector([("payroll " * 10 + "kubernetes", 1.0)], lang="en"))
    p, k = _id("payroll"), _id("kubernetes")
    # the IDFs cancel in the ratio of ratios: what is left is saturate(10) / saturate(1)
    expected = (10 * (1.2 + 1) / (10 + 1.2)) / (1 * (1.2 + 1) / (1 + 1.2))
    assert expected == pytest.approx(1.9642857, rel=1e-6)
    assert (tenfold[p] / tenfold[k]) / (once[p] / once[k]) == pytest.approx(expected, rel=1e-4)
    assert expected < 10


def test_field_weight_raises_a_terms_weight() -> None:
    plain = _weights(lexical_vector([("payroll", 1.0), ("kubernetes", 1.0)], lang="en"))
    titled = _weights(lexical_vector([("payroll", 2.0), ("kubernetes", 1.0)], lang="en"))
    p, k = _id("payroll"), _id("kubernetes")
    assert titled[p] / titled[k] > plain[p] / plain[k]
    # field weight 2 is a tf of 2 before saturation: saturate(2) / saturate(1)
    expected = (2 * (1.2 + 1) / (2 + 1.2)) / 1.0
    assert (titled[p] / titled[k]) / (plain[p] / plain[k]) == pytest.approx(expected, rel=1e-4)
    # the same word in a title (weight 2) and once in the body: tf 3
    both = _weights(lexical_vector([("payroll", 2.0), ("payroll kubernetes", 1.0)], lang="en"))
    expected = 3 * (1.2 + 1) / (3 + 1.2)
    assert (both[p] / both[k]) / (plain[p] / plain[k]) == pytest.approx(expected, rel=1e-4)


def test_vectors_have_unit_norm() -> None:
    for text in ("payroll", "Senior payroll specialist with IFRS, HACCP and SAP experience",
                 "Wir suchen eine Pflegekraft für die Intensivstation in München"):
        vec = lexical_vector([(text, 1.0), ("Payroll Specialist", 2.0)])
        assert len(vec) > 0
        assert float(np.linalg.norm(vec.weights.astype(np.float64))) == pytest.approx(1.0,
                                                                                     abs=1e-6)
        assert np.all(vec.weights > 0)
        assert np.all(np.diff(vec.terms) > 0)  # sorted, unique ids


def _nonsense_words(n: int) -> list[str]:
    """Distinct made-up words (no vowels, so no stemmer suffix applies; unknown to wordfreq,
    so every one has the same informativeness 7 - 0)."""
    letters = "bcdfghjklmnpqrtvwxz"
    words = ["zq" + "".join(p) for p in itertools.product(letters, repeat=3)][:n]
    assert all(wordfreq.zipf_frequency(w, "en") == 0 for w in words[:20])
    return words


def test_max_terms_keeps_the_heaviest() -> None:
    n_heavy, n_light = lexical.MAX_TERMS, 100
    words = _nonsense_words(n_heavy + n_light)
    heavy, light = words[:n_heavy], words[n_heavy:]
    ids = {w: _id(w) for w in words}
    assert len(set(ids.values())) == len(words)  # no stems shared, no hash collision
    # heavy words twice (saturate(2) = 1.375), light words once (saturate(1) = 1): same IDF
    text = " ".join(light[: n_light // 2] + heavy + heavy + light[n_light // 2:])
    vec = lexical_vector([(text, 1.0)], lang="en")
    assert len(vec) == lexical.MAX_TERMS
    assert set(vec.terms.tolist()) == {ids[w] for w in heavy}
    # all kept terms weigh the same, so each is 1 / sqrt(MAX_TERMS)
    assert vec.weights.tolist() == pytest.approx([1 / math.sqrt(n_heavy)] * n_heavy, rel=1e-5)


def test_informativeness_is_the_language_prior() -> None:
    assert lexical.informativeness("the", "en") == 0.0
    assert lexical.informativeness("haccp", "en") == pytest.approx(
        7.0 - wordfreq.zipf_frequency("haccp", "en"))
    # the same word is common in one language and rare in another
    assert lexical.informativeness("und", "de") == 0.0
    assert lexical.informativeness("und", "en") > 3


# --- stems and tokens ---------------------------------------------------------------------------

def test_english_inflections_share_a_stem() -> None:
    assert _id("nurse") == _id("nursing") == _id("nurses")
    cv = lexical_vector([("Registered nurse, ten years of nursing", 1.0)])
    job = lexical_vector([("Nurses wanted", 1.0)])
    assert _cosine(cv, job) > 0.5


@pytest.mark.parametrize(("lang", "first", "second"), [
    ("de", "Wir suchen für die Klinik in der Stadt eine Pflegekraft.",
     "Wir suchen für die Klinik in der Stadt eine Pflegekräfte."),
    ("de", "Sie arbeiten mit dem Team an der Entwicklung.",
     "Sie arbeiten mit dem Team an der Entwicklungen."),
    ("es", "Buscamos para el equipo de la empresa un desarrollador.",
     "Buscamos para el equipo de la empresa un desarrolladora."),
])
def test_german_and_spanish_inflections_share_a_stem(lang: str, first: str,
                                                     second: str) -> None:
    """The two texts differ in one word's inflection only."""
    assert detect_language(first) == detect_language(second) == lang
    a, b = lexical_vector([(first, 1.0)]), lexical_vector([(second, 1.0)])
    assert set(a.terms.tolist()) == set(b.terms.tolist())
    assert _cosine(a, b) > 0.9
    # with the English stemmer the two forms stay apart: the language is what joins them
    a_en, b_en = lexical_vector([(first, 1.0)], lang="en"), lexical_vector([(second, 1.0)],
                                                                          lang="en")
    assert set(a_en.terms.tolist()) != set(b_en.terms.tolist())
    assert _cosine(a_en, b_en) < _cosine(a, b)


def test_tool_names_survive_tokenization() -> None:
    words = tokens("Experience with C++, C# and node.js. Also R&D and Python.")
    assert {"c++", "c#", "node.js", "r&d", "python"} <= set(words)
    assert "c" not in words and "js" not in words and "node" not in words
    # sentence punctuation is not part of a word
    assert "python" in words and "python." not in words
    # and they are terms of their own
    assert len({_id("C++"), _id("C#"), _id("C"), _id("node.js"), _id("node")}) == 5
    cpp_job = lexical_vector([("Senior C++ developer", 2.0), ("C++ and embedded", 1.0)])
    cpp_cv = lexical_vector([("C++ developer", 1.0)])
    cs_cv = lexical_vector([("C# developer", 1.0)])
    assert _cosine(cpp_job, cpp_cv) > _cosine(cpp_job, cs_cv)


@pytest.mark.parametrize(("text", "lang"), [
    ("Buscamos una desarrolladora con experiencia en la nube.", "es"),
    ("Somos una empresa de logística y necesitamos un contable.", "es"),
    ("Wir suchen eine Entwicklerin mit Erfahrung in der Cloud.", "de"),
    ("Die Stelle ist in Berlin und das Team ist klein.", "de"),
    ("Nous cherchons une développeuse avec de l'expérience dans le cloud.", "fr"),
    ("Le poste est à Paris et l'équipe est petite.", "fr"),
    ("We are looking for a developer with experience in the cloud.", "en"),
    ("The role is in London and the team is small.", "en"),
])
def test_detect_language_of_short_sentences(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_detect_language_defaults_to_english() -> None:
    assert detect_language("") == "en"
    assert detect_language("Python AWS Kubernetes") == "en"  # no common word of any language


# --- the cosine of a pair depends on the pair only ----------------------------------------------

def test_a_pairs_cosine_does_not_depend_on_other_texts() -> None:
    cv = lexical_vector([("Payroll Specialist", 2.0),
                         ("Payroll and IFRS reporting for a retail group, SAP", 1.0)])
    job = lexical_vector([("Payroll Manager", 2.0), ("Own payroll, SAP and IFRS close", 1.0)])
    other = lexical_vector([("Payroll clerk", 2.0), ("payroll payroll payroll, IFRS, SAP, "
                                                     "HACCP and a thousand other words", 1.0)])
    pair = matrix([cv, job])
    trio = matrix([cv, job, other])
    assert pair.shape == (2, 1 << lexical.HASH_BITS)
    by_hand = _cosine(cv, job)
    assert 0 < by_hand < 1
    assert (pair @ pair.T).toarray()[0, 1] == pytest.approx(by_hand, rel=1e-5)
    assert (trio @ trio.T).toarray()[0, 1] == pytest.approx(by_hand, rel=1e-5)
    assert (trio @ trio.T).toarray()[0, 1] == (pair @ pair.T).toarray()[0, 1]
    # a text's own vector is the same whatever it is batched with
    assert (trio[:2] != pair).nnz == 0
    # and a text's cosine with itself is 1
    assert (trio @ trio.T).diagonal() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)


def test_matrix_rows_with_empty_vectors() -> None:
    empty = lexical_vector([("the and of", 1.0)], lang="en")
    a = lexical_vector([("payroll kubernetes", 1.0)], lang="en")
    m = matrix([empty, a, empty])
    assert m.shape == (3, 1 << lexical.HASH_BITS)
    assert m[0].nnz == 0 and m[2].nnz == 0
    row = m[1].tocoo()
    assert dict(zip(row.col.tolist(), row.data.tolist(), strict=True)) == pytest.approx(
        _weights(a))
    assert matrix([empty, empty]).nnz == 0
    assert matrix([]).shape == (0, 1 << lexical.HASH_BITS)
