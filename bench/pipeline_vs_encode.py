"""Bench: the pipeline over the sample vs bare sentence-transformers encoding of the same texts.

Target (issue 2): pipeline wall time <= 1.5x the bare batch encoding of the texts it embeds.
Both are measured warm, in one process: the model is loaded and the ephemeral Prefect API is
up before either clock starts, so the ratio is the pipeline's own overhead (normalize, SQL,
Prefect task and flow runs, matching, artifacts) on top of the unavoidable encoder time.
Each repetition runs the pipeline on a fresh database (so nothing is cached) and then the bare
encoding; medians are reported, so a burst of load on a shared machine skews one sample, not
the result.

Prints one JSON object. Run: `make bench` (or `.venv/bin/python bench/pipeline_vs_encode.py
[--repeat 3]`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_home = Path(tempfile.mkdtemp(prefix="tf-bench-"))
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "prefect")
os.environ.pop("DATABASE_URL", None)
from talentflow import config  # noqa: E402 - after sys.path points at the checkout

config.apply_runtime_defaults()


def fresh_database() -> None:
    """Point talentflow at a new, migrated database holding the sample rows."""
    import psycopg

    from talentflow import config
    from talentflow.db import embedded, engine, migrate
    from talentflow.talent.ingest import ingest

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = embedded.start(config.state_dir(), database="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = admin.replace("/postgres?", f"/{name}?")
    engine.database_url.cache_clear()
    migrate.upgrade()
    for entity in ("candidates", "jobs"):
        ingest(config.data_dir() / f"{entity}.jsonl", entity=entity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from prefect import flow

    from talentflow import embeddings
    from talentflow.db import connect
    from talentflow.talent import store
    from talentflow.talent.entities import CANDIDATE, JOB

    settings = embeddings.EmbedderSettings.from_env()
    t = time.perf_counter()
    model = embeddings.load_model(settings)
    model_load_s = time.perf_counter() - t

    @flow
    def warm_up() -> None:
        return None

    t = time.perf_counter()
    warm_up()
    prefect_start_s = time.perf_counter() - t

    from flows.batch import talent_batch

    pipeline, bare, second, failed = [], [], [], 0
    for _ in range(args.repeat):
        fresh_database()
        t = time.perf_counter()
        result = talent_batch()
        pipeline.append(time.perf_counter() - t)
        failed += sum(len(v) for v in result["failed"].values())
        t = time.perf_counter()
        talent_batch()
        second.append(time.perf_counter() - t)

        with connect() as conn:
            texts = []
            for ent in (CANDIDATE, JOB):
                ids = [r.id for r in store.load_sources(conn, ent)]
                texts += [p.embedding_text() for p, _v in
                          store.load_profiles(conn, ent, ids).values()]
        t = time.perf_counter()
        model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
        bare.append(time.perf_counter() - t)

    pipeline_s, bare_s = statistics.median(pipeline), statistics.median(bare)
    print(json.dumps({
        "texts": len(texts),
        "repeat": args.repeat,
        "pipeline_s": round(pipeline_s, 2),
        "bare_encode_s": round(bare_s, 2),
        "ratio": round(pipeline_s / bare_s, 2),
        "target_ratio": 1.5,
        "pipeline_samples_s": [round(x, 2) for x in pipeline],
        "bare_encode_samples_s": [round(x, 2) for x in bare],
        "second_run_s": round(statistics.median(second), 2),
        "model_load_s": round(model_load_s, 2),
        "prefect_ephemeral_start_s": round(prefect_start_s, 2),
        "failed": failed,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
