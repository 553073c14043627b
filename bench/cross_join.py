"""Benchmark of the numpy cross-join (talentflow.talent.cross_join); prints one JSON object.

    .venv/bin/python bench/cross_join.py
    .venv/bin/python bench/cross_join.py --candidates 100000 --jobs 2000 --changed 5 --repeat 3

Synthetic data, no database: unit vectors shaped like MiniLM output (384 dims, random normal
then normalized) and multi-hot skills over a 700-skill vocabulary (3-12 skills each).

(a) incremental: every candidate's top-10 over the jobs is built with `full_lists` (not timed),
    then `--changed` random jobs get a new vector and new skills and `update_lists` merges
    them into the candidates' lists (timed). Also reported: how many lists lost an entry, the
    holes, and the time to recompute the holes with `full_lists`.
(b) full: `full_lists` of `--new` new candidates against `--full-jobs` jobs (the batch path).
(c) peak RSS of the process (resource.getrusage), setup included.
Times are wall-clock seconds: the median of `--repeat` runs and every sample.
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


def _vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIMS), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def _skills(rng: np.random.Generator, n: int) -> np.ndarray:
    lo, hi = SKILLS_PER_ENTITY
    out = np.zeros((n, VOCABULARY), dtype=np.float32)
    for start in range(0, n, 10_000):  # bounded temporaries
        rows = min(10_000, n - start)
        picks = np.argpartition(rng.random((rows, VOCABULARY), dtype=np.float32), hi, axis=1)
        count = rng.integers(lo, hi + 1, size=rows)
        keep = np.arange(hi)[None, :] < count[:, None]
        r = np.broadcast_to(np.arange(rows)[:, None], (rows, hi))
        out[start + r[keep], picks[:, :hi][keep]] = 1.0
    return out


def _side(rng: np.random.Generator, prefix: str, n: int):  # -> matching.Side
    from talentflow.talent.matching import Side

    return Side([f"{prefix}{i:07d}" for i in range(n)], _vectors(rng, n), _skills(rng, n))


def _incremental(rng: np.random.Generator, n_candidates: int, n_jobs: int, n_changed: int,
                 repeat: int) -> dict[str, Any]:
    """(a): candidates' lists over the jobs, then `n_changed` jobs edited."""
    from talentflow.talent.cross_join import full_lists, update_lists
    from talentflow.talent.matching import Side

    out: dict[str, Any] = {"a_candidates": n_candidates, "a_jobs": n_jobs,
                           "a_changed_jobs": n_changed}
    candidates, jobs = _side(rng, "cand-", n_candidates), _side(rng, "job-", n_jobs)
    t0 = time.perf_counter()
    old = full_lists(candidates, jobs, own_is_candidate=True, k=K)
    out["a_build_old_lists_s"] = time.perf_counter() - t0  # setup, for scale

    rows = np.sort(rng.choice(n_jobs, size=n_changed, replace=False))
    changed_ids = [jobs.ids[r] for r in rows]
    changed = Side(changed_ids, _vectors(rng, n_changed), _skills(rng, n_changed))
    gone = set(changed_ids)
    out["a_lists_with_a_changed_job"] = sum(1 for lst in old.values() if gone & set(lst.ids))

    times, (lists, holes) = _samples(
        lambda: update_lists(candidates, old, changed, changed_ids, own_is_candidate=True, k=K),
        repeat)
    out.update(_timing("a_update_lists", times))
    out["a_holes"] = len(holes)
    assert set(lists) | set(holes) == set(candidates.ids) and not set(lists) & set(holes)

    vectors, skills = jobs.vectors.copy(), jobs.skills.copy()
    vectors[rows], skills[rows] = changed.vectors, changed.skills
    new_jobs = Side(jobs.ids, vectors, skills)
    index = {key: i for i, key in enumerate(candidates.ids)}
    hole_side = candidates.take([index[key] for key in holes])
    times, _ = _samples(
        lambda: full_lists(hole_side, new_jobs, own_is_candidate=True, k=K), repeat)
    out.update(_timing("a_recompute_holes", times))
    return out


def _full(rng: np.random.Generator, n_new: int, n_jobs: int, repeat: int) -> dict[str, Any]:
    """(b): new candidates against every job."""
    from talentflow.talent.cross_join import full_lists

    new, jobs = _side(rng, "new-", n_new), _side(rng, "job-", n_jobs)
    out: dict[str, Any] = {"b_new_candidates": n_new, "b_jobs": n_jobs}
    times, lists = _samples(lambda: full_lists(new, jobs, own_is_candidate=True, k=K), repeat)
    out.update(_timing("b_full_lists", times))
    assert len(lists) == n_new and all(len(lst) == min(K, n_jobs) for lst in lists.values())
    return out


def run(n_candidates: int, n_jobs: int, n_changed: int, n_new: int, n_full_jobs: int,
        repeat: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"dims": DIMS, "skills_vocabulary": VOCABULARY, "k": K,
                           "repeat": repeat, "load_average_1m_at_start": os.getloadavg()[0]}
    out.update(_incremental(rng, n_candidates, n_jobs, n_changed, repeat))
    out.update(_full(rng, n_new, n_full_jobs, repeat))
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
