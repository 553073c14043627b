"""Matching at scale: the pipeline's full-match path over pgvector; prints one JSON object.

    .venv/bin/python bench/match_scale.py            # temporary embedded PostgreSQL
    .venv/bin/python bench/match_scale.py --candidates 100000 --jobs 5000 \\
        --new-jobs 100 --new-candidates 1000         # scaled down
    DATABASE_URL=postgresql://... .venv/bin/python bench/match_scale.py   # empty talent tables

Synthetic but structured data, written with binary COPY straight into the talent tables
(`candidates`/`jobs`, `normalized_*`, `*_vectors`): generating 1M texts and running MiniLM on
them is neither feasible here nor the point. Every entity belongs to one of `--clusters`
fields; in its field it gets
- a unit 384-d float32 dense vector around the field's centre (plus a direction every vector
  shares, as MiniLM's do);
- a lexical vector of ~97 distinct terms (the shipped CVs have 80-128), drawn Zipf-like from a
  50,000-term language and from the field's own 400 terms, rarer terms weighing more;
- 3-12 skills of the shipped vocabulary (data/skills.json), mostly from the field's 30, some
  common everywhere; jobs take up to 3 of theirs as must-haves;
- a seniority level.

Scenario A: `--new-jobs` (1,000) jobs, drawn from the jobs, against all `--candidates`
(1,000,000); scenario B: `--new-candidates` (10,000) candidates against all `--jobs` (50,000).
Each runs in a fresh process (its peak RSS is the scenario's): the new entities are read as
the engine reads them (VectorStore.read), then `tasks.match.match_in_full` — what
tasks/match.py calls for keys matched in full — is timed: stream the other side from
PostgreSQL with one binary COPY in chunks, keep a running exact top-10 per new entity,
explain the winners. A second, untimed pass reads the other side alone (rows/s of the COPY
read and parse).

Exactness: while the data is generated, `--verify` (20) new entities of each scenario are
ranked against every entity of the other side by brute force in float64, from the generated
arrays and the definition (skill names folded and compared as sets, not hashed), sharing no
matching code; each stored-to-be list must be that ranking's top 10 (ids in order, up to
float32 near-ties of 1e-5; scores and features within 1e-5; shared skills and missing
must-haves exactly).

The HNSW indexes of the vector tables are dropped before the load (exact matching does not use
them; building one over 1M vectors would take far longer than the bench); with DATABASE_URL
the bench needs empty talent tables, and empties them and recreates the indexes at the end.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIMS = 384
LANGUAGE_TERMS = 50_000
FIELD_TERMS = 400
GENERAL_DRAWS, FIELD_DRAWS = 75, 45  # per entity; repeats merged: ~97 distinct terms
FIELD_SKILLS = 30
SKILLS_PER_ENTITY = (3, 12)
MUST_HAVES_PER_JOB = (0, 3)
BATCH = 50_000  # rows generated and written at a time
K = 10
KEEP = 60  # of each verified entity's brute-force ranking: enough to judge near-ties
TOL = 1e-5
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
INT4_OID, FLOAT4_OID = 23, 700


def fold(name: str) -> str:
    """How skills compare, from the definition: case and spacing do not matter."""
    return " ".join(name.lower().split())


class Synth:
    """Draws the rows of both sides; batch b of a side comes from its own seeded generator,
    so a batch can be drawn again alike."""

    def __init__(self, seed: int, clusters: int) -> None:
        from talentflow.talent import lexical
        from talentflow.talent.profile import SENIORITY_LEVELS

        rng = np.random.default_rng(seed)
        self.seed = seed
        self.levels = SENIORITY_LEVELS
        self.clusters = clusters
        self.shared = self._unit(rng, 1)[0]
        self.centres = self._unit(rng, clusters)
        # Term ids of the language's words by rank: distinct, anywhere in the hash space,
        # ascending (so a row's sorted ranks are its sorted term ids).
        self.terms = np.sort(rng.choice(1 << lexical.HASH_BITS, size=LANGUAGE_TERMS,
                                        replace=False)).astype(np.int32)
        p = 1.0 / np.arange(1, LANGUAGE_TERMS + 1)
        self.zipf = np.cumsum(p / p.sum())
        # Each field's own words: ranks past the language's most common 500.
        self.field_terms = rng.integers(500, LANGUAGE_TERMS, size=(clusters, FIELD_TERMS))
        q = 1.0 / np.arange(1, FIELD_TERMS + 1) ** 0.8
        self.field_zipf = np.cumsum(q / q.sum())
        vocabulary = json.loads((ROOT / "data" / "skills.json").read_text())["skills"]
        self.skill_names = np.asarray([s["name"] for s in vocabulary], dtype=object)
        s = 1.0 / np.arange(1, len(vocabulary) + 1)  # a few skills are everywhere
        self.skill_pop = np.cumsum(s / s.sum())
        self.field_skills = np.stack([rng.choice(len(vocabulary), FIELD_SKILLS, replace=False)
                                      for _ in range(clusters)])

    @staticmethod
    def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
        v = rng.standard_normal((n, DIMS), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    def batch(self, kind: str, b: int, n: int) -> dict[str, Any]:
        """Batch b (n rows) of side `kind`: ids, vectors, lexical CSR, skills, must-haves,
        levels and fields."""
        rng = np.random.default_rng([self.seed, kind == "job", b])
        prefix = "c" if kind == "candidate" else "j"
        ids = [f"{prefix}-{b * BATCH + i:08d}" for i in range(n)]
        field = rng.integers(0, self.clusters, size=n)
        v = 0.5 * self.shared + self.centres[field] + 0.06 * rng.standard_normal(
            (n, DIMS), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        skills, musts = self._skills(rng, field, jobs=kind == "job")
        return {"ids": ids, "field": field, "vectors": v.astype(np.float32),
                "lexical": self._lexical(rng, field), "skills": skills, "musts": musts,
                "levels": rng.integers(0, len(self.levels), size=n)}

    def _lexical(self, rng: np.random.Generator, field: np.ndarray) -> sp.csr_matrix:
        n = len(field)
        general = np.searchsorted(self.zipf, rng.random((n, GENERAL_DRAWS)))
        own = self.field_terms[field[:, np.newaxis],
                               np.searchsorted(self.field_zipf, rng.random((n, FIELD_DRAWS)))]
        ranks = np.minimum(np.hstack([general, own]), LANGUAGE_TERMS - 1)
        ranks.sort(axis=1)
        keep = np.ones(ranks.shape, dtype=bool)
        keep[:, 1:] = ranks[:, 1:] != ranks[:, :-1]
        counts = keep.sum(axis=1)
        ranks = ranks[keep]
        # Rarer words weigh more (an IDF from the language), times a tf-like factor.
        weights = np.log(2.0 + ranks) * rng.uniform(0.6, 1.4, size=len(ranks))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        norms = np.sqrt(np.add.reduceat(weights ** 2, indptr[:-1]))
        weights = (weights / np.repeat(norms, counts)).astype(np.float32)
        return sp.csr_matrix((weights, self.terms[ranks], indptr), shape=(n, 1 << 24))

    def _skills(self, rng: np.random.Generator, field: np.ndarray, jobs: bool
                ) -> tuple[list[list[str]], list[list[str]]]:
        n = len(field)
        lo, hi = SKILLS_PER_ENTITY
        count = rng.integers(lo, hi + 1, size=n)
        own = self.field_skills[field[:, np.newaxis], rng.integers(0, FIELD_SKILLS, (n, hi))]
        common = np.searchsorted(self.skill_pop, rng.random((n, hi)))
        picks = np.where(rng.random((n, hi)) < 0.75, own, common)
        n_must = (rng.integers(MUST_HAVES_PER_JOB[0], MUST_HAVES_PER_JOB[1] + 1, size=n)
                  if jobs else np.zeros(n, dtype=np.int64))
        skills, musts = [], []
        for r in range(n):
            names = list(dict.fromkeys(self.skill_names[picks[r, :count[r]]].tolist()))
            skills.append(names)
            musts.append(names[:n_must[r]])
        return skills, musts


# --- writing: binary COPY into the real tables --------------------------------------------------

def _text_field(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _text_array(values: list[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


def _array_dtype(n: int, item: str) -> np.dtype:
    """PostgreSQL's binary form of a one-dimensional array of n 4-byte items (no NULLs)."""
    head = [("ndim", ">i4"), ("nulls", ">i4"), ("oid", ">i4")]
    if not n:
        return np.dtype(head)  # an empty array has no dimension
    return np.dtype([*head, ("dim", ">i4"), ("lbound", ">i4"),
                     ("items", [("len", ">i4"), ("value", item)], (n,))])


def _vector_rows(rows: dict[str, Any]) -> bytes:
    """Binary COPY rows of (id, embedding, lexical_terms, lexical_weights, model,
    data_version), built group by group: rows with as many terms are fixed-size."""
    ids, vectors, lex = rows["ids"], rows["vectors"], rows["lexical"]
    counts = np.diff(lex.indptr)
    model, version = b"synthetic", b"v1"
    id_len = len(ids[0])
    id_bytes = np.frombuffer("".join(ids).encode(), dtype=f"S{id_len}")
    out = [SIGNATURE]
    for n in np.unique(counts).tolist():
        at = np.flatnonzero(counts == n)
        block = np.zeros(len(at), dtype=np.dtype([
            ("fields", ">i2"), ("id_len", ">i4"), ("id", f"S{id_len}"),
            ("vec_len", ">i4"), ("dims", ">i2"), ("unused", ">i2"), ("vec", ">f4", (DIMS,)),
            ("terms_len", ">i4"), ("terms", _array_dtype(n, ">i4")),
            ("weights_len", ">i4"), ("weights", _array_dtype(n, ">f4")),
            ("model_len", ">i4"), ("model", f"S{len(model)}"),
            ("ver_len", ">i4"), ("ver", f"S{len(version)}"),
        ]))
        block["fields"], block["id_len"], block["id"] = 6, id_len, id_bytes[at]
        block["vec_len"], block["dims"], block["vec"] = 4 + 4 * DIMS, DIMS, vectors[at]
        items = lex.indptr[at][:, np.newaxis] + np.arange(n)
        for name, oid, values in (("terms", INT4_OID, lex.indices),
                                  ("weights", FLOAT4_OID, lex.data)):
            block[f"{name}_len"] = 12 + (8 + 8 * n if n else 0)
            part = block[name]
            part["ndim"], part["oid"] = (1 if n else 0), oid
            if n:
                part["dim"], part["lbound"] = n, 1
                part["items"]["len"] = 4
                part["items"]["value"] = values[items]
        block["model_len"], block["model"] = len(model), model
        block["ver_len"], block["ver"] = len(version), version
        out.append(block.tobytes())
    out.append(struct.pack(">h", -1))
    return b"".join(out)


def write_batch(conn: Any, kind: str, rows: dict[str, Any], levels: tuple[str, ...],
                spent: dict[str, float]) -> None:
    table = "candidates" if kind == "candidate" else "jobs"
    col = f"{kind}_id"
    ids, field = rows["ids"], rows["field"].tolist()
    if kind == "candidate":
        source = "".join(f"{i}\tCandidate {i}\tsynthetic\n" for i in ids)
        source_cols = "(id, name, cv_text)"
    else:
        source = "".join(f"{i}\tRole {f}\tsynthetic\n" for i, f in zip(ids, field, strict=True))
        source_cols = "(id, title, description)"
    normalized = "".join(
        f"{i}\tRole {f}\t{levels[lv]}\t5\t{_text_field(_text_array(s))}\tf\t\tbench"
        f"\tsynthetic\tv1\t{_text_field(_text_array(m))}\n"
        for i, f, lv, s, m in zip(ids, field, rows["levels"].tolist(), rows["skills"],
                                  rows["musts"], strict=True))
    for step, sql, data in (
            ("copy_source_s", f"COPY {table} {source_cols} FROM STDIN", source),
            ("copy_normalized_s", f"COPY normalized_{table} ({col}, title, seniority, "
             "years_experience, skills, remote, summary, provider, model, data_version, "
             "must_have_skills) FROM STDIN", normalized),
            ("copy_vectors_s", f"COPY {kind}_vectors ({col}, embedding, lexical_terms, "
             "lexical_weights, model, data_version) FROM STDIN WITH (FORMAT BINARY)",
             _vector_rows(rows))):
        t0 = time.perf_counter()
        with conn.cursor() as cur, cur.copy(sql) as copy:
            copy.write(data)
        spent[step] = spent.get(step, 0.0) + time.perf_counter() - t0
    conn.commit()


# --- the brute-force ranking (float64, from the definition) -------------------------------------

class Oracle:
    """Running brute-force top-KEEP of some new entities against every row of the other side,
    fed batch by batch, in float64 from the generated arrays."""

    def __init__(self, own: dict[str, Any], own_is_candidate: bool, weights: Any) -> None:
        self.own, self.own_is_candidate, self.w = own, own_is_candidate, weights
        self.names: dict[str, int] = {}  # folded skill name -> column
        self.own_skills = self._skill_matrix(own["skills"])
        self.best: list[list[tuple[float, str, tuple]]] = [[] for _ in own["ids"]]

    def _skill_matrix(self, lists: list[list[str]]) -> sp.csr_matrix:
        """Rows of distinct folded skill names (by name: no hashing), 0/1."""
        rows = [sorted({self.names.setdefault(fold(s), len(self.names)) for s in names})
                for names in lists]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in rows], out=indptr[1:])
        indices = np.asarray([c for r in rows for c in r], dtype=np.int64)
        return sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                             shape=(len(rows), 1 << 16))

    def feed(self, other: dict[str, Any]) -> None:
        own, w = self.own, self.w
        dense = other["vectors"].astype(np.float64) @ own["vectors"].astype(np.float64).T
        lex = (other["lexical"].astype(np.float64)
               @ own["lexical"].astype(np.float64).T).toarray()
        theirs = self._skill_matrix(other["skills"])
        shared = (theirs @ self.own_skills.T).toarray()
        n_theirs = np.diff(theirs.indptr)[:, np.newaxis].astype(np.float64)
        n_mine = np.diff(self.own_skills.indptr)[np.newaxis, :].astype(np.float64)
        n_cand, n_job = (n_mine, n_theirs) if self.own_is_candidate else (n_theirs, n_mine)
        skills = np.where((n_cand >= 3) & (n_job >= 3), shared / np.maximum(n_job, 1), 0.0)
        fit = np.maximum(0.0, 1.0 - np.abs(other["levels"][:, np.newaxis]
                                           - own["levels"][np.newaxis, :]) / 3.0)
        score = w.dense * dense + w.lexical * lex + w.skills * skills + w.seniority * fit
        ids = np.asarray(other["ids"])
        for j in range(len(own["ids"])):
            top = np.lexsort((ids, -score[:, j]))[:KEEP]
            self.best[j] = sorted(self.best[j] + [
                (float(score[i, j]), other["ids"][i],
                 (float(dense[i, j]), float(lex[i, j]), float(skills[i, j]), float(fit[i, j]),
                  other["skills"][i], other["musts"][i])) for i in top.tolist()],
                key=lambda e: (-e[0], e[1]))[:KEEP]

    def rankings(self) -> dict[str, list[dict[str, Any]]]:
        """Per new entity: its brute-force ranking's first KEEP entries, with the expected
        explanation."""
        out = {}
        for j, key in enumerate(self.own["ids"]):
            mine_skills, mine_musts = self.own["skills"][j], self.own["musts"][j]
            entries = []
            for score, oid, (d, lx, sk, fit, skills, musts) in self.best[j]:
                if self.own_is_candidate:
                    have, job_skills, job_musts = mine_skills, skills, musts
                else:
                    have, job_skills, job_musts = skills, mine_skills, mine_musts
                folded = {fold(s) for s in have}
                entries.append({
                    "id": oid, "score": score, "dense": d, "lexical": lx, "skills": sk,
                    "seniority": fit,
                    "shared_skills": [s for s in job_skills if fold(s) in folded],
                    "missing_must_haves": [s for s in job_musts if fold(s) not in folded]})
            out[key] = entries
        return out


def check(lists: dict[str, Any], rankings: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The production lists against the brute-force rankings (see the module docstring)."""
    errors: list[str] = []
    max_diff = 0.0
    exact_order = 0
    for key, ranking in rankings.items():
        got = lists[key].matches
        if len(got) != min(K, len(ranking)):
            errors.append(f"{key}: {len(got)} entries")
            continue
        truth = {e["id"]: e for e in ranking}
        exact_order += [m.id for m in got] == [e["id"] for e in ranking[:K]]
        for pos, m in enumerate(got):
            want = truth.get(m.id)
            if want is None:
                errors.append(f"{key}: {m.id} is not in the brute-force top {KEEP}")
                continue
            for name in ("score", "dense", "lexical", "skills", "seniority"):
                diff = abs(getattr(m, name) - want[name])
                max_diff = max(max_diff, diff)
                if diff > TOL:
                    errors.append(f"{key} {m.id}: {name} {getattr(m, name)} vs {want[name]}")
            # The position's score: the brute force's at that position (ties within TOL).
            if abs(m.score - ranking[pos]["score"]) > TOL:
                errors.append(f"{key}: position {pos} holds {m.id} ({m.score:.6f}); the "
                              f"brute force has {ranking[pos]['id']} there")
            if (list(m.shared_skills) != want["shared_skills"]
                    or list(m.missing_must_haves) != want["missing_must_haves"]):
                errors.append(f"{key} {m.id}: explanation differs")
    return {"verified_entities": len(rankings), "lists_in_exact_brute_force_order": exact_order,
            "max_abs_difference": max_diff, "mismatches": len(errors), "errors": errors[:10]}


# --- setup (parent) and scenarios (child processes) ---------------------------------------------

def _load(conn: Any, synth: Synth, args: argparse.Namespace, weights: Any
          ) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Write both sides; rank the verified new entities by brute force on the way.
    Returns (seconds per step, scenario -> {"keys": new keys, "rankings": ...})."""
    rng = np.random.default_rng(args.seed + 1)
    new_jobs = sorted(rng.choice(args.jobs, args.new_jobs, replace=False).tolist())
    new_cands = sorted(rng.choice(args.candidates, args.new_candidates, replace=False).tolist())
    verify = {"A": set(rng.choice(new_jobs, min(args.verify, len(new_jobs)), replace=False)
                       .tolist()),
              "B": set(rng.choice(new_cands, min(args.verify, len(new_cands)), replace=False)
                       .tolist())}
    spent: dict[str, float] = {"generate_s": 0.0, "brute_force_s": 0.0}
    picked: dict[str, dict[str, Any]] = {"A": {}, "B": {}}
    jobs_kept: list[dict[str, Any]] = []
    oracle_a = None
    for kind, n in (("job", args.jobs), ("candidate", args.candidates)):
        scenario = "A" if kind == "job" else "B"
        for b, lo in enumerate(range(0, n, BATCH)):
            t0 = time.perf_counter()
            rows = synth.batch(kind, b, min(BATCH, n - lo))
            spent["generate_s"] += time.perf_counter() - t0
            write_batch(conn, kind, rows, synth.levels, spent)
            t0 = time.perf_counter()
            mine = [i - lo for i in sorted(verify[scenario]) if lo <= i < lo + len(rows["ids"])]
            for i in mine:
                for field, value in rows.items():
                    picked[scenario].setdefault(field, []).append(
                        value[i] if not isinstance(value, sp.csr_matrix) else value[i])
            if kind == "job":
                jobs_kept.append(rows)
            else:
                if oracle_a is None:  # the new jobs are all known: rank candidates as they come
                    oracle_a = Oracle(_stacked(picked["A"]), False, weights)
                oracle_a.feed(rows)
            spent["brute_force_s"] += time.perf_counter() - t0
    t0 = time.perf_counter()
    oracle_b = Oracle(_stacked(picked["B"]), True, weights)
    for rows in jobs_kept:
        oracle_b.feed(rows)
    spent["brute_force_s"] += time.perf_counter() - t0
    return spent, {
        "A": {"keys": [f"j-{i:08d}" for i in new_jobs], "rankings": oracle_a.rankings()},
        "B": {"keys": [f"c-{i:08d}" for i in new_cands], "rankings": oracle_b.rankings()}}


def _stacked(parts: dict[str, list]) -> dict[str, Any]:
    return {"ids": parts["ids"], "vectors": np.vstack(parts["vectors"]),
            "lexical": sp.vstack(parts["lexical"], format="csr"), "skills": parts["skills"],
            "musts": parts["musts"], "levels": np.asarray(parts["levels"])}


def _cpu(pid: int | None) -> float | None:
    """CPU seconds of the database backend if it runs on this machine, else None."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, TypeError):
        return None


def _peak_rss_mib() -> float:
    """This process's peak RSS since it started (VmHWM: unlike getrusage's ru_maxrss, not
    inherited from the parent's size at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_scenario(name: str, keys: list[str], rankings: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: the new entities read as the engine reads them, then the timed
    `match_in_full`, then a read of the other side alone."""
    from talentflow.db import connect
    from talentflow.talent import matching, store
    from talentflow.talent.entities import CANDIDATE, JOB
    from talentflow.talent.fusion import load_weights
    from talentflow.talent.value_stores import VectorStore
    from tasks.match import match_in_full

    ent = JOB if name == "A" else CANDIDATE
    out: dict[str, Any] = {"new": len(keys), "new_side": ent.kind, "load_average_before":
                           [round(x, 2) for x in os.getloadavg()]}
    with connect(autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        t0 = time.perf_counter()
        own = VectorStore(ent).read(conn, ent.vectors_asset, keys)
        side = matching.Side.of(keys, [own[k].value for k in keys])
        out["own_read_s"] = time.perf_counter() - t0
        out["rss_before_mib"] = _peak_rss_mib()
        cpu0, server0, t0 = os.times(), _cpu(backend), time.perf_counter()
        lists, n_other = match_in_full(conn, ent, side, weights=load_weights(), k=K)
        out["match_s"] = time.perf_counter() - t0
        cpu1, server1 = os.times(), _cpu(backend)
        out["other"] = n_other
        out["peak_rss_mib"] = _peak_rss_mib()
        out["cpu_s"] = {"process": round(cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1], 2),
                        "database": None if server0 is None or server1 is None
                        else round(server1 - server0, 2)}
        out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        out["pairs_per_s"] = len(keys) * n_other / out["match_s"]
        out["exactness"] = check(lists, rankings)
        t0 = time.perf_counter()
        rows = sum(len(chunk) for chunk in store.stream_side(conn, ent.other))
        read_s = time.perf_counter() - t0
        out["copy_read"] = {"rows": rows, "seconds": read_s, "rows_per_s": rows / read_s}
    return out


def setup(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], str]:
    from talentflow.db import connect, migrate
    from talentflow.db.engine import database_url
    from talentflow.talent.fusion import load_weights

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    migrate.upgrade()
    out["migrate_s"] = time.perf_counter() - t0
    with connect() as conn:
        out["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
        for kind in ("candidate", "job"):
            conn.execute(f"DROP INDEX IF EXISTS {kind}_vectors_hnsw")
        conn.commit()
        t0 = time.perf_counter()
        spent, scenarios = _load(conn, Synth(args.seed, args.clusters), args, load_weights())
        t1 = time.perf_counter()
        conn.execute("ANALYZE candidates, jobs, normalized_candidates, normalized_jobs, "
                     "candidate_vectors, job_vectors")
        conn.commit()
        spent["analyze_s"] = time.perf_counter() - t1
        spent["total_s"] = time.perf_counter() - t0
        out["setup"] = spent
        out["table_sizes"] = dict(conn.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relname IN ('candidate_vectors', 'job_vectors', 'normalized_candidates', "
            "'normalized_jobs')").fetchall())
    return out, scenarios, database_url()


def require_empty() -> None:
    """Exit, having written nothing, unless the talent tables are empty."""
    from talentflow.db import connect, migrate

    migrate.upgrade()
    with connect() as conn:
        if conn.execute("SELECT EXISTS (SELECT 1 FROM candidates) "
                        "OR EXISTS (SELECT 1 FROM jobs)").fetchone()[0]:
            sys.exit("match_scale.py needs empty candidates and jobs tables")


def teardown_shared() -> None:
    """On a DATABASE_URL: empty the talent tables again and recreate the HNSW indexes."""
    from talentflow.db import connect

    with connect() as conn:
        conn.execute("TRUNCATE candidates, jobs CASCADE")
        for kind in ("candidate", "job"):
            conn.execute(f"CREATE INDEX IF NOT EXISTS {kind}_vectors_hnsw ON {kind}_vectors "
                         "USING hnsw (embedding vector_cosine_ops)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--new-jobs", type=int, default=1_000,
                        help="scenario A: new jobs against every candidate")
    parser.add_argument("--new-candidates", type=int, default=10_000,
                        help="scenario B: new candidates against every job")
    parser.add_argument("--verify", type=int, default=20,
                        help="new entities per scenario checked against brute force")
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--scenarios", default="AB")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.scenario:
        job = json.loads(sys.stdin.read())
        print(json.dumps(run_scenario(args.scenario, job["keys"], job["rankings"])))
        return
    if not (0 < args.new_jobs <= args.jobs and 0 < args.new_candidates <= args.candidates):
        parser.error("the new entities are drawn from their side: --new-* <= the side")
    shared = bool(os.environ.get("DATABASE_URL"))
    if not shared:
        temp = tempfile.mkdtemp(prefix="tf-match-scale-")
        os.environ["TALENTFLOW_HOME"] = temp
        # Registered before the server starts: atexit runs last-in first-out, so the
        # embedded server's own stop handler runs first and the data directory goes after.
        atexit.register(shutil.rmtree, temp, True)
    result: dict[str, Any] = {
        "candidates": args.candidates, "jobs": args.jobs, "k": K, "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    if shared:
        require_empty()  # before the try: a database with data is left as it is
    try:
        info, scenarios, url = setup(args)
        result.update(info)
        for name in args.scenarios:
            child = subprocess.run(
                [sys.executable, __file__, "--scenario", name],
                input=json.dumps(scenarios[name]), capture_output=True, text=True,
                env={**os.environ, "DATABASE_URL": url}, check=False)
            if child.returncode:
                sys.stderr.write(child.stderr)
                raise SystemExit(f"scenario {name} failed")
            result[name] = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        if shared:
            teardown_shared()
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["numpy"] = np.__version__
    print(json.dumps(_rounded(result), ensure_ascii=False, indent=2))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        if value and abs(value) < 1e-3:
            return float(f"{value:.3g}")  # small differences keep their digits
        return round(value, 4) if abs(value) < 1e6 else round(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


if __name__ == "__main__":
    main()
