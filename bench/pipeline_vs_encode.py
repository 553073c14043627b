"""Bench: the pipeline over the sample vs bare sentence-transformers encoding of the same texts.

Target (issue 2): pipeline wall time <= 1.5x the bare batch encoding of the texts it embeds.
Both are measured warm, in one process: the model is loaded and the ephemeral Prefect API is
up before either clock starts, so the ratio is the pipeline's own overhead (normalize, SQL,
Prefect task runs, matching) on top of the unavoidable encoder time.

Prints one JSON object. Run: `make bench` (or `.venv/bin/python bench/pipeline_vs_encode.py`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_home = Path(tempfile.mkdtemp(prefix="tf-bench-"))
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "prefect")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.pop("DATABASE_URL", None)


def main() -> None:
    from prefect import flow

    from talentflow import config, embeddings
    from talentflow.db import connect, migrate
    from talentflow.talent import store
    from talentflow.talent.entities import CANDIDATE, JOB
    from talentflow.talent.ingest import ingest

    settings = embeddings.EmbedderSettings.from_env()
    t = time.perf_counter()
    embeddings.encode(["warm up"], settings)
    model_load_s = time.perf_counter() - t

    @flow
    def warm_up() -> None:
        return None

    t = time.perf_counter()
    warm_up()
    prefect_start_s = time.perf_counter() - t

    migrate.upgrade()
    for name in ("candidates", "jobs"):
        ingest(config.data_dir() / f"{name}.jsonl", entity=name)

    from flows.batch import talent_batch

    t = time.perf_counter()
    first = talent_batch()
    pipeline_s = time.perf_counter() - t
    t = time.perf_counter()
    talent_batch()
    second_run_s = time.perf_counter() - t

    with connect() as conn:
        texts = []
        for ent in (CANDIDATE, JOB):
            ids = [r.id for r in store.load_sources(conn, ent)]
            texts += [p.embedding_text() for p, _v in store.load_profiles(conn, ent, ids).values()]
    model = embeddings.load_model(settings)
    t = time.perf_counter()
    model.encode(texts, batch_size=settings.batch_size, normalize_embeddings=True)
    encode_s = time.perf_counter() - t

    print(json.dumps({
        "texts": len(texts),
        "pipeline_s": round(pipeline_s, 2),
        "bare_encode_s": round(encode_s, 2),
        "ratio": round(pipeline_s / encode_s, 2),
        "target_ratio": 1.5,
        "second_run_s": round(second_run_s, 2),
        "model_load_s": round(model_load_s, 2),
        "prefect_ephemeral_start_s": round(prefect_start_s, 2),
        "failed": sum(len(v) for v in first["failed"].values()),
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
