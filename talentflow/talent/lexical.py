"""The lexical side of matching: each text as a sparse, weighted bag of stemmed terms.

Why not corpus BM25 or TF-IDF: their IDF is a statistic of the whole corpus, so adding one
CV would change the score of every pair and no stored top-K list could be updated from what
changed. Here a pair's score depends on the two texts alone:

    weight(t) = saturate(field-weighted tf(t)) * informativeness(t)
    saturate(tf)       = tf * (K1 + 1) / (tf + K1)                 (BM25's tf saturation)
    informativeness(t) = max(0, ZIPF_CEILING - zipf(t, language))   (an IDF from the language)

`zipf` is the word's frequency in general text of the document's language (wordfreq: about
log10 of uses per billion words), so "the" and "and" weigh 0, "experience" little, and
"payroll", "IFRS" or "HACCP" a lot, whatever corpus is loaded. Fields are weighted BM25F
style (the title counts more than the body), vectors are L2-normalized, and the lexical score
is their cosine: one sparse matrix product per batch, exact like the dense side.

Terms are Snowball stems ("nurse", "nursing" -> "nurs") in the document's language (English,
Spanish, German or French, told from its most frequent words), hashed to HASH_BITS-bit ids.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
import snowballstemmer
import wordfreq

LANGUAGES = {"en": "english", "es": "spanish", "de": "german", "fr": "french"}
HASH_BITS = 24  # 16M term ids: collisions between two texts' terms are negligible
K1 = 1.2
ZIPF_CEILING = 7.0  # words more common than 10 per million words weigh nothing
MAX_TERMS = 128  # the heaviest terms of a text; bounds storage and the sparse products

# Abbreviations common in job titles and CVs, read as their words too (the abbreviation is
# kept: "ops" matches "ops" and "operations"). General English usage, not a skills list.
ABBREVIATIONS: dict[str, str] = {
    "ops": "operations", "mgr": "manager", "mgmt": "management", "dev": "developer",
    "devs": "developers", "eng": "engineer", "sr": "senior", "snr": "senior", "jr": "junior",
    "asst": "assistant", "assoc": "associate", "admin": "administrator", "exec": "executive",
    "acct": "accountant", "accts": "accounts", "rep": "representative", "reps": "representatives",
    "coord": "coordinator", "spec": "specialist", "tech": "technician", "dir": "director",
    "vp": "vice president", "hr": "human resources", "hrbp": "human resources business partner",
    "rn": "registered nurse", "ta": "talent acquisition", "bd": "business development",
    "sdr": "sales development representative", "bdr": "business development representative",
    "ae": "account executive", "kam": "key account manager", "pm": "product manager",
    "ux": "user experience", "ui": "user interface", "ml": "machine learning",
    "sre": "site reliability engineer", "qa": "quality assurance",
    "fp&a": "financial planning analysis",
    "ap": "accounts payable", "ar": "accounts receivable", "gl": "general ledger",
    "icu": "intensive care unit", "sen": "special educational needs",
}

# A term: letters/digits, keeping what makes a tool's name ("c++", "c#", "node.js", "r&d").
_TOKEN = re.compile(r"[^\W_]+(?:[+#]+|(?:[.&'][^\W_]+)+)?")


@dataclass(frozen=True)
class LexicalVector:
    """Sorted hashed term ids and their weights (unit L2 norm, or empty)."""

    terms: np.ndarray  # int32 (hash ids fit in HASH_BITS < 31 bits)
    weights: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.terms)


@cache
def _common_words(lang: str) -> frozenset[str]:
    return frozenset(wordfreq.top_n_list(lang, 60))


def detect_language(text: str) -> str:
    """The language among LANGUAGES whose most common words the text uses most (default en)."""
    words = [w.lower() for w in _TOKEN.findall(text[:5000])]
    if not words:
        return "en"
    hits = {lang: sum(w in _common_words(lang) for w in words) for lang in LANGUAGES}
    best = max(hits, key=lambda lang: (hits[lang], lang == "en"))
    return best if hits[best] > hits["en"] * 1.2 else "en"


@cache
def _stemmer(lang: str):
    return snowballstemmer.stemmer(LANGUAGES[lang])


@cache
def informativeness(word: str, lang: str) -> float:
    if word[-1] in "+#":
        # wordfreq reads "c++" and "c#" as the letter "c": a tool name is as rare as any.
        return ZIPF_CEILING
    return max(0.0, ZIPF_CEILING - wordfreq.zipf_frequency(word, lang))


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _with_expansions(words: list[str]) -> list[str]:
    out = []
    for word in words:
        out.append(word)
        if word in ABBREVIATIONS:
            out.extend(ABBREVIATIONS[word].split())
    return out


def term_id(stem: str) -> int:
    return zlib.crc32(stem.encode("utf-8")) & ((1 << HASH_BITS) - 1)


def lexical_vector(fields: Iterable[tuple[str, float]], lang: str | None = None
                   ) -> LexicalVector:
    """The vector of weighted text fields: [(text, field weight), ...]."""
    fields = [(text, w) for text, w in fields if text]
    if lang is None:
        lang = detect_language(" ".join(text for text, _ in fields))
    stem = _stemmer(lang).stemWord
    tf: Counter[str] = Counter()
    info: dict[str, float] = {}
    for text, field_weight in fields:
        for word in _with_expansions(tokens(text)):
            s = stem(word)
            tf[s] += field_weight
            # A stem is as informative as its rarest surface form seen ("payroll", "payrolls").
            info[s] = max(info.get(s, 0.0), informativeness(word, lang))
    weighted = {s: count * (K1 + 1) / (count + K1) * info[s] for s, count in tf.items()
                if info[s] > 0}
    heaviest = sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
    by_id: dict[int, float] = {}
    for s, w in heaviest:
        tid = term_id(s)
        by_id[tid] = by_id.get(tid, 0.0) + w
    if not by_id:
        return LexicalVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
    terms = np.fromiter(sorted(by_id), dtype=np.int32, count=len(by_id))
    weights = np.asarray([by_id[t] for t in terms.tolist()], dtype=np.float32)
    weights /= np.linalg.norm(weights)
    return LexicalVector(terms, weights)


def matrix(vectors: Sequence[LexicalVector]) -> sp.csr_matrix:
    """Rows of a CSR matrix (len(vectors), 2**HASH_BITS)."""
    lengths = np.fromiter((len(v) for v in vectors), dtype=np.int64, count=len(vectors))
    indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if indptr[-1]:
        indices = np.concatenate([v.terms for v in vectors]).astype(np.int32)
        data = np.concatenate([v.weights for v in vectors]).astype(np.float32)
    else:
        indices, data = np.zeros(0, np.int32), np.zeros(0, np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(vectors), 1 << HASH_BITS))
