"""Match quality on the project's labelled corpus (data/eval/): talentflow against baselines.

    .venv/bin/python bench/match_quality.py                 # measure (prints one JSON object)
    .venv/bin/python bench/match_quality.py --fit           # also refit data/match_weights.json
    .venv/bin/python bench/match_quality.py --openai        # also run the openai provider path

For each CV the task is to rank every posting; data/eval/README.md says how the corpus was
written and labelled. Reported per method: hit@1, recall@1/3/10, MRR and nDCG@10 (fusion.py
defines them), overall and per domain.

Methods, all in the same run:
- `talentflow`: the real pipeline on a fresh database (ingest -> normalize -> embed -> match,
  through the engine and Prefect), ranked by the stored `candidate_matches` top-10 lists.
  The shipped fusion weights were fitted on this same corpus, so this figure is in-sample;
- `talentflow_out_of_fold`: the pipeline's features, each domain ranked with weights fitted on
  the OTHER domains only (leave-one-domain-out): what the weights are worth on unseen fields;
- `talentflow_dense` / `talentflow_lexical`: one feature alone (ablations);
- baselines on the raw texts: `tfidf` (scikit-learn, fitted on every text), `bm25` (Okapi,
  k1=1.2, b=0.75, the CV as the query), `minilm_truncated` (the model's first 256 tokens),
  `minilm_chunks_max` (best pair of 128-word chunks).

`--fit` refits the weights on the whole corpus (fusion.fit), writes them, and re-runs the
match assets (the weights are a resource of theirs, so exactly they are stale) before the
stored lists are read. `--openai` then switches the LLM resource to the `openai` provider
against the local OpenAI-compatible test server (tests/support/openai_server.py, real HTTP
through the SDK), re-normalizes everything and reports whether the rankings stay the same.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from talentflow.talent import dense, fusion, lexical, matching  # noqa: E402

TALENT_ASSETS = ["normalized_candidates", "candidate_vectors", "normalized_jobs",
                 "job_vectors", "candidate_matches", "job_matches"]


# --- the corpus ------------------------------------------------------------------------------

class Corpus:
    def __init__(self, folder: Path) -> None:
        self.cvs: list[dict[str, Any]] = []
        self.postings: list[dict[str, Any]] = []
        for path in sorted(folder.glob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            for p in body["postings"]:
                self.postings.append({**p, "domain": body["domain"]})
            for c in body["cvs"]:
                self.cvs.append({**c, "domain": body["domain"]})
        self.cvs.sort(key=lambda c: c["id"])
        self.postings.sort(key=lambda p: p["id"])
        column = {p["id"]: j for j, p in enumerate(self.postings)}
        self.relevance = np.zeros((len(self.cvs), len(self.postings)))
        for i, cv in enumerate(self.cvs):
            for pid, grade in cv["relevant"].items():
                self.relevance[i, column[pid]] = grade
        self.domains = [c["domain"] for c in self.cvs]

    def describe(self) -> dict[str, Any]:
        traits = Counter(t for c in self.cvs for t in c.get("traits", []))
        return {"cvs": len(self.cvs), "postings": len(self.postings),
                "domains": len(set(self.domains)), "traits": dict(sorted(traits.items())),
                "non_english_postings": sum(p.get("lang", "en") != "en"
                                            for p in self.postings)}


def report(scores: np.ndarray, corpus: Corpus) -> dict[str, Any]:
    out = fusion.ranking_metrics(scores, corpus.relevance)
    domains = np.asarray(corpus.domains)
    out["by_domain_hit@1"] = {
        d: fusion.ranking_metrics(scores[domains == d], corpus.relevance[domains == d])["hit@1"]
        for d in sorted(set(corpus.domains))}
    return out


# --- baselines on the raw texts --------------------------------------------------------------

def tfidf_scores(corpus: Corpus) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True)
    vec.fit([c["text"] for c in corpus.cvs] + [p["text"] for p in corpus.postings])
    cv = vec.transform([c["text"] for c in corpus.cvs])
    po = vec.transform([p["text"] for p in corpus.postings])
    return (cv @ po.T).toarray()


def bm25_scores(corpus: Corpus, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    docs = [lexical.tokens(p["text"]) for p in corpus.postings]
    n, avg = len(docs), sum(map(len, docs)) / len(docs)
    df = Counter(t for d in docs for t in set(d))
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    tfs = [Counter(d) for d in docs]
    out = np.zeros((len(corpus.cvs), n))
    for i, cv in enumerate(corpus.cvs):
        query = set(lexical.tokens(cv["text"]))
        for j, (tf, d) in enumerate(zip(tfs, docs, strict=True)):
            norm = k1 * (1 - b + b * len(d) / avg)
            out[i, j] = sum(idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm)
                            for t in query if t in tf)
    return out


def minilm_scores(corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    from talentflow.embeddings import encode

    cv_texts = [c["text"] for c in corpus.cvs]
    po_texts = [p["text"] for p in corpus.postings]
    truncated = encode(cv_texts) @ encode(po_texts).T

    def chunked(texts: list[str]) -> tuple[np.ndarray, list[int]]:
        chunks = [dense.text_chunks(t) for t in texts]
        owner = [i for i, cs in enumerate(chunks) for _ in cs]
        return encode([c for cs in chunks for c in cs]), owner

    cv_vec, cv_owner = chunked(cv_texts)
    po_vec, po_owner = chunked(po_texts)
    sims = cv_vec @ po_vec.T
    best = np.full((len(cv_texts), len(po_texts)), -np.inf)
    for a, i in enumerate(cv_owner):
        np.maximum.at(best[i], po_owner, sims[a])
    return truncated, best


# --- talentflow: the real pipeline on a fresh database ----------------------------------------

def _rows(corpus: Corpus, folder: Path) -> None:
    with (folder / "candidates.jsonl").open("w", encoding="utf-8") as f:
        for c in corpus.cvs:
            f.write(json.dumps({"id": c["id"], "name": c["id"], "cv_text": c["text"]}) + "\n")
    with (folder / "jobs.jsonl").open("w", encoding="utf-8") as f:
        for p in corpus.postings:
            # A job row has a title field; the corpus keeps whole texts, so the first line is
            # the title and the rest the description (a one-line posting is both).
            first, _, rest = p["text"].strip().partition("\n")
            f.write(json.dumps({"id": p["id"], "title": first[:200],
                                "description": rest.strip() or p["text"]}) + "\n")


class Pipeline:
    """A fresh database on the embedded server (or --database-url's), dropped at the end."""

    def __init__(self, server_url: str | None) -> None:
        import psycopg

        from talentflow import config
        from talentflow.db import embedded, engine

        self.server = server_url or embedded.start(config.state_dir(), database="postgres")
        self.name = f"match_eval_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        parts = urlsplit(self.server)
        self.url = urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))
        os.environ["DATABASE_URL"] = self.url
        engine.database_url.cache_clear()

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def load(self, corpus: Corpus) -> None:
        from talentflow.db import migrate
        from talentflow.talent.ingest import ingest

        migrate.upgrade()
        with tempfile.TemporaryDirectory() as tmp:
            _rows(corpus, Path(tmp))
            for name in ("candidates", "jobs"):
                ingest(Path(tmp) / f"{name}.jsonl", entity=name)

    def run(self) -> dict[str, Any]:
        from talentflow.engine import materialize
        from tasks.definitions import defs

        started = time.perf_counter()
        result = materialize(defs, TALENT_ASSETS)
        ran = {a: len(r["ran"]) for a, r in result.to_dict()["assets"].items()}
        failed = {a: len(r["failed"]) for a, r in result.to_dict()["assets"].items()
                  if r["failed"]}
        return {"seconds": round(time.perf_counter() - started, 1), "ran": ran,
                "failed": failed}

    def stored_scores(self, corpus: Corpus) -> np.ndarray:
        """Scores from the stored top-10 lists: 10..1 by rank, -1 past the list."""
        from talentflow.db import connect

        column = {p["id"]: j for j, p in enumerate(corpus.postings)}
        out = np.full(corpus.relevance.shape, -1.0)
        with connect() as conn:
            lists = dict(conn.execute("SELECT candidate_id, job_ids FROM candidate_matches"))
        for i, cv in enumerate(corpus.cvs):
            for rank, jid in enumerate(lists.get(cv["id"], [])):
                out[i, column[jid]] = len(corpus.postings) - rank
        return out

    def features(self, corpus: Corpus) -> np.ndarray:
        """(cvs, postings, FEATURES) for every pair, from the stored entities."""
        from talentflow.db import connect
        from talentflow.talent import store
        from talentflow.talent.entities import CANDIDATE, JOB

        with connect() as conn:
            cands, jobs = store.load_side(conn, CANDIDATE), store.load_side(conn, JOB)
        ci = [list(cands.ids).index(c["id"]) for c in corpus.cvs]
        ji = [list(jobs.ids).index(p["id"]) for p in corpus.postings]
        rows = np.repeat(ci, len(ji))
        cols = np.tile(ji, len(ci))
        return matching.features(cands, jobs, rows, cols).reshape(len(ci), len(ji), -1)

    def profiles(self) -> dict[str, Any]:
        from talentflow.db import connect

        with connect() as conn:
            rows = conn.execute("SELECT skills, title, target_title, seniority "
                                "FROM normalized_candidates").fetchall()
        return {"candidates": len(rows),
                "candidates_without_skills": sum(not r[0] for r in rows),
                "mean_skills": round(float(np.mean([len(r[0]) for r in rows])), 1),
                "with_target_title": sum(r[2] is not None for r in rows),
                "seniority": dict(Counter(r[3] for r in rows))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "eval")
    parser.add_argument("--database-url", default=None,
                        help="libpq URL of a server's maintenance database (default: embedded)")
    parser.add_argument("--fit", action="store_true", help="refit data/match_weights.json")
    parser.add_argument("--openai", action="store_true",
                        help="also normalize through the openai provider (local test server)")
    parser.add_argument("--keep", action="store_true", help="keep the evaluation database")
    args = parser.parse_args()

    corpus = Corpus(args.corpus)
    out: dict[str, Any] = {"corpus": corpus.describe(),
                           "load_average": [round(x, 2) for x in os.getloadavg()]}
    methods: dict[str, np.ndarray] = {"tfidf": tfidf_scores(corpus), "bm25": bm25_scores(corpus)}
    methods["minilm_truncated"], methods["minilm_chunks_max"] = minilm_scores(corpus)

    pipeline = Pipeline(args.database_url)
    try:
        pipeline.load(corpus)
        out["pipeline_run"] = pipeline.run()
        feats = pipeline.features(corpus)
        if args.fit:
            weights = fusion.fit(feats, corpus.relevance)
            fusion.save_weights(weights, {
                "corpus": "data/eval", "cvs": len(corpus.cvs), "postings": len(corpus.postings),
                "objective": "mean of MRR and nDCG@10", "grid_step": fusion.FIT_STEP,
                "command": "bench/match_quality.py --fit"})
            out["refit_run"] = pipeline.run()  # only the match assets are stale
        weights = fusion.load_weights()
        out["weights"] = weights.__dict__
        methods["talentflow"] = pipeline.stored_scores(corpus)
        oof, folds = fusion.cross_validate(feats, corpus.relevance, corpus.domains)
        methods["talentflow_out_of_fold"] = oof
        out["fold_weights"] = {d: {k: round(v, 3) for k, v in w.__dict__.items()}
                               for d, w in folds.items()}
        methods["talentflow_dense"] = feats[:, :, 0]
        methods["talentflow_lexical"] = feats[:, :, 1]
        out["profiles"] = pipeline.profiles()
        if args.openai:
            out["openai_path"] = openai_path(pipeline, corpus, methods["talentflow"])
    finally:
        if args.keep:
            out["database_url"] = pipeline.url
        else:
            pipeline.drop()
    out["methods"] = {name: report(scores, corpus) for name, scores in methods.items()}
    baselines = ("tfidf", "bm25", "minilm_truncated", "minilm_chunks_max")
    best = max(baselines, key=lambda b: out["methods"][b]["mrr"])
    out["best_baseline"] = best
    for name in ("talentflow", "talentflow_out_of_fold"):
        out[f"{name}_mrr_over_best_baseline"] = round(
            out["methods"][name]["mrr"] - out["methods"][best]["mrr"], 4)
    print(json.dumps(out, indent=2))


def openai_path(pipeline: Pipeline, corpus: Corpus, rules_scores: np.ndarray
                ) -> dict[str, Any]:
    """Re-normalize through the openai SDK against the local test server; compare."""
    from tests.support.openai_server import run_openai_server

    with run_openai_server() as server:
        os.environ.update({"TALENTFLOW_LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-local",
                           "OPENAI_BASE_URL": server.base_url,
                           "TALENTFLOW_LLM_MODEL": "gpt-4o-mini"})
        try:
            run = pipeline.run()
        finally:
            for key in ("TALENTFLOW_LLM_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                        "TALENTFLOW_LLM_MODEL"):
                os.environ.pop(key, None)
        requests = len(server.requests)
    same = bool((pipeline.stored_scores(corpus) == rules_scores).all())
    return {"run": run, "http_requests": requests, "same_rankings_as_rules": same}


if __name__ == "__main__":
    main()
