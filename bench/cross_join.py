"""Benchmark of the numpy cross-join (talentflow.talent.cross_join); prints one JSON object.

    .venv/bin/python bench/cross_join.py
    .venv/bin/python bench/cross_join.py --candidates 100000 --jobs 2000 --changed 5 --repeat 3

Synthetic data, no database: every entity (matching.Entity) has
- a dense unit vector shaped like MiniLM output (384 dims, random normal then normalized);
- a lexical vector of ~32 distinct terms (LEXICAL_DRAWS draws, repeats merged) drawn Zipf-like
  (P(rank r) ~ 1/r) from a 50,000-term space, unit weights, L2-normalized, term ids spread
  over the lexical hash space;
- 3-12 skills out of a 700-skill vocabulary (jobs: up to 3 of them also must-haves);
- a seniority level drawn uniformly;
and pairs are scored with the shipped fusion weights (talentflow.talent.fusion.load_weights).

(a) incremental: every candidate's top-10 over the jobs is built with `full_lists` (not timed),
    then `--changed` random jobs get a new entity (vector, lexical vector, skills, seniority)
    and `update_lists` merges them into the candidates' lists (timed). Also reported: how many
    lists held a changed job, the holes, and the time to recompute the holes with `full_lists`.
(b) full: `full_lists` of `--new` new candidates against `--full-jobs` jobs (the batch path).
(c) peak RSS of the process (resource.getrusage), setup included.
Times are wall-clock seconds: the median of `--repeat` runs and every sample. Every list
entry carries its explanation (features, shared skills, missing must-haves): that is timed too.
`lexical_pairs_sharing_a_term` (the share of candidate-job pairs whose lexical vectors share a
term, on a sample of (a)) says how dense the lexical products are.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIMS = 384  # all-MiniLM-L6-v2
VOCABULARY = 700
SKILLS_PER_ENTITY = (3, 12)
MUST_HAVES_PER_JOB = (0, 3)
LEXICAL_VOCABULARY = 50_000
LEXICAL_DRAWS = 36  # Zipf draws per entity; repeats merged: ~32 distinct terms (MAX_TERMS)
ZIPF_EXPONENT = 1.0
K = 10


def _samples(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def _timing(name: str, times: list[float]) -> dict[str, Any]:
    return {f"{name}_s": statistics.median(times),
            f"{name}_samples_s": [round(t, 4) for t in times]}


class Synth:
    """Draws synthetic entities (matching.Entity) for one run."""

    def __init__(self, rng: np.random.Generator) -> None:
        from talentflow.talent import lexical
        from talentflow.talent.profile import SENIORITY_LEVELS

        self.rng = rng
        self.levels = SENIORITY_LEVELS
        self.skills = np.asarray([f"skill-{i:03d}" for i in range(VOCABULARY)], dtype=object)
        # Term ids of ranks 1..LEXICAL_VOCABULARY: distinct, anywhere in the hash space.
        self.term_ids = rng.choice(1 << lexical.HASH_BITS, size=LEXICAL_VOCABULARY,
                                   replace=False).astype(np.int32)
        p = 1.0 / np.arange(1, LEXICAL_VOCABULARY + 1) ** ZIPF_EXPONENT
        self.zipf_cdf = np.cumsum(p / p.sum())

    def _vectors(self, n: int) -> np.ndarray:
        v = self.rng.standard_normal((n, DIMS), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    def _lexical(self, n: int) -> list[Any]:  # -> list[lexical.LexicalVector]
        from talentflow.talent.lexical import LexicalVector

        ranks = np.searchsorted(self.zipf_cdf, self.rng.random((n, LEXICAL_DRAWS)))
        ranks = np.minimum(ranks, LEXICAL_VOCABULARY - 1)
        ids = np.sort(self.term_ids[ranks], axis=1)
        first = np.ones_like(ids, dtype=bool)
        first[:, 1:] = ids[:, 1:] != ids[:, :-1]
        out = []
        for row, keep in zip(ids, first, strict=True):
            terms = row[keep]
            out.append(LexicalVector(terms, np.full(len(terms), 1 / np.sqrt(len(terms)),
                                                    dtype=np.float32)))
        return out

    def _skill_lists(self, n: int) -> list[tuple[str, ...]]:
        lo, hi = SKILLS_PER_ENTITY
        out: list[tuple[str, ...]] = []
        for start in range(0, n, 10_000):  # bounded temporaries
            rows = min(10_000, n - start)
            picks = np.argpartition(self.rng.random((rows, VOCABULARY), dtype=np.float32), hi,
                                    axis=1)[:, :hi]
            count = self.rng.integers(lo, hi + 1, size=rows)
            out.extend(tuple(self.skills[picks[r, :count[r]]].tolist()) for r in range(rows))
        return out

    def entities(self, n: int, *, jobs: bool) -> list[Any]:  # -> list[matching.Entity]
        from talentflow.talent.matching import Entity

        vectors, lexical, skills = self._vectors(n), self._lexical(n), self._skill_lists(n)
        levels = self.rng.integers(0, len(self.levels), size=n)
        musts = (self.rng.integers(MUST_HAVES_PER_JOB[0], MUST_HAVES_PER_JOB[1] + 1, size=n)
                 if jobs else np.zeros(n, dtype=np.int64))
        return [Entity(vectors[i], lexical[i], skills[i], skills[i][:musts[i]],
                       self.levels[levels[i]]) for i in range(n)]

    def side(self, prefix: str, n: int, *, jobs: bool):  # -> matching.Side
        from talentflow.talent.matching import Side

        return Side.of([f"{prefix}{i:07d}" for i in range(n)], self.entities(n, jobs=jobs),
                       dims=DIMS)


def _sharing(candidates: Any, jobs: Any, rows: int = 500) -> float:
    """Share of (candidate, job) pairs whose lexical vectors share a term, on `rows` rows."""
    sample = candidates.lexical[:rows]
    hits = (sample.astype(bool).astype(np.float32) @ jobs.lexical.astype(bool)
            .astype(np.float32).T)
    return hits.nnz / max(1, sample.shape[0] * jobs.lexical.shape[0])


def _incremental(synth: Synth, weights: Any, n_candidates: int, n_jobs: int, n_changed: int,
                 repeat: int) -> dict[str, Any]:
    """(a): candidates' lists over the jobs, then `n_changed` jobs edited."""
    from talentflow.talent.cross_join import full_lists, update_lists
    from talentflow.talent.matching import Side

    out: dict[str, Any] = {"a_candidates": n_candidates, "a_jobs": n_jobs,
                           "a_changed_jobs": n_changed}
    candidates = synth.side("cand-", n_candidates, jobs=False)
    jobs = synth.side("job-", n_jobs, jobs=True)
    out["lexical_terms_per_entity"] = float(np.diff(candidates.lexical.indptr).mean())
    out["lexical_pairs_sharing_a_term"] = _sharing(candidates, jobs)
    t0 = time.perf_counter()
    old = full_lists(candidates, jobs, own_is_candidate=True, weights=weights, k=K)
    out["a_build_old_lists_s"] = time.perf_counter() - t0  # setup, for scale

    rows = np.sort(synth.rng.choice(n_jobs, size=n_changed, replace=False))
    changed_ids = [jobs.ids[r] for r in rows]
    changed = Side.of(changed_ids, synth.entities(n_changed, jobs=True), dims=DIMS)
    gone = set(changed_ids)
    out["a_lists_with_a_changed_job"] = sum(1 for lst in old.values() if gone & set(lst.ids))

    times, (lists, holes) = _samples(
        lambda: update_lists(candidates, old, changed, changed_ids, own_is_candidate=True,
                             weights=weights, k=K),
        repeat)
    out.update(_timing("a_update_lists", times))
    out["a_holes"] = len(holes)
    assert set(lists) | set(holes) == set(candidates.ids) and not set(lists) & set(holes)

    edited = list(jobs.entities)
    for r, entity in zip(rows.tolist(), changed.entities, strict=True):
        edited[r] = entity
    new_jobs = Side.of(jobs.ids, edited, dims=DIMS)
    index = {key: i for i, key in enumerate(candidates.ids)}
    hole_side = candidates.take([index[key] for key in holes])
    times, _ = _samples(
        lambda: full_lists(hole_side, new_jobs, own_is_candidate=True, weights=weights, k=K),
        repeat)
    out.update(_timing("a_recompute_holes", times))
    return out


def _full(synth: Synth, weights: Any, n_new: int, n_jobs: int, repeat: int
          ) -> dict[str, Any]:
    """(b): new candidates against every job."""
    from talentflow.talent.cross_join import full_lists

    new = synth.side("new-", n_new, jobs=False)
    jobs = synth.side("job-", n_jobs, jobs=True)
    out: dict[str, Any] = {"b_new_candidates": n_new, "b_jobs": n_jobs}
    times, lists = _samples(
        lambda: full_lists(new, jobs, own_is_candidate=True, weights=weights, k=K), repeat)
    out.update(_timing("b_full_lists", times))
    assert len(lists) == n_new and all(len(lst) == min(K, n_jobs) for lst in lists.values())
    return out


def run(n_candidates: int, n_jobs: int, n_changed: int, n_new: int, n_full_jobs: int,
        repeat: int, seed: int) -> dict[str, Any]:
    from talentflow.talent.fusion import load_weights

    weights = load_weights()
    synth = Synth(np.random.default_rng(seed))
    out: dict[str, Any] = {"dims": DIMS, "skills_vocabulary": VOCABULARY,
                           "lexical_vocabulary": LEXICAL_VOCABULARY, "k": K,
                           "weights": {f: getattr(weights, f) for f in
                                       ("dense", "lexical", "skills", "seniority")},
                           "repeat": repeat, "load_average_1m_at_start": os.getloadavg()[0]}
    out.update(_incremental(synth, weights, n_candidates, n_jobs, n_changed, repeat))
    out.update(_full(synth, weights, n_new, n_full_jobs, repeat))
    # (c) memory, setup included
    out["c_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    out["cpus"] = os.cpu_count()
    out["load_average_1m_at_end"] = os.getloadavg()[0]
    out["numpy"] = np.__version__
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000,
                        help="(a) candidates whose top-10 lists are updated")
    parser.add_argument("--jobs", type=int, default=2_000, help="(a) jobs")
    parser.add_argument("--changed", type=int, default=5, help="(a) jobs that changed")
    parser.add_argument("--new", type=int, default=1_000, help="(b) new candidates")
    parser.add_argument("--full-jobs", type=int, default=100_000, help="(b) jobs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 0 < args.changed <= args.jobs:
        parser.error("--changed must be between 1 and --jobs")
    result = run(args.candidates, args.jobs, args.changed, args.new, args.full_jobs,
                 args.repeat, args.seed)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                      for k, v in result.items()}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
