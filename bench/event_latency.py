"""Bench: row insert -> partition materialized, through the whole event-driven path.

Starts `talentflow serve` exactly as an operator would (it starts the Prefect server on the
embedded PostgreSQL itself), in a fresh temporary state folder, waits until it is ready
(server warm, model loaded), inserts a few jobs and one warm-up candidate, then inserts
`--rows` candidates ONE AT A TIME, each after the previous one is done, and times each from
its commit to the `finished_at` of its `candidate_matches` materialization (the end of
normalize -> embed -> match). Both instants are read from PostgreSQL's clock.

Path timed: commit -> NOTIFY -> sensor tick -> event -> Prefect trigger -> flow run created
-> warm runner claims it (poll) -> flow body -> materialized.

Prints one JSON object. Run: `.venv/bin/python bench/event_latency.py [--rows 10]`.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CV = ("Senior backend engineer with {n} years building Python and Go services on AWS with "
      "PostgreSQL, Kafka and Kubernetes; led a payments platform migration (bench {i}).")
JOB = ("We need a {title} with Python, Go, AWS, PostgreSQL and Kafka experience for our "
       "payments platform (bench job {i}).")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 300) -> float:
    from talentflow.cli.serve import READY_LINE

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if READY_LINE in log.read_text(errors="replace"):
            return time.monotonic() - t0
        if proc.poll() is not None:
            sys.exit(f"talentflow serve exited ({proc.returncode}); see {log}")
        time.sleep(0.2)
    sys.exit(f"talentflow serve not ready after {timeout} s; see {log}")


def _insert_and_wait(conn, cid: str, i: int, timeout: float = 120) -> dict[str, float]:
    conn.execute("INSERT INTO candidates (id, name, location, cv_text) VALUES (%s, %s, %s, %s)",
                 (cid, f"Bench {i}", "Berlin", CV.format(n=3 + i % 9, i=i)))
    conn.commit()
    committed = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    conn.commit()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT finished_at FROM materializations WHERE asset = 'candidate_matches' "
            "AND partition_key = %s AND status = 'materialized' ORDER BY id LIMIT 1", (cid,)
        ).fetchone()
        conn.commit()
        if row:
            return {"total": (row[0] - committed).total_seconds(),
                    **_stages(conn, cid, committed)}
        time.sleep(0.02)
    sys.exit(f"{cid} not materialized within {timeout} s")


def _stages(conn, cid: str, committed) -> dict[str, float]:
    """Where the time went: the triggered run's creation, start and end after the commit."""
    from prefect.client.orchestration import get_client

    run_id = conn.execute(
        "SELECT flow_run_id FROM materializations WHERE asset = 'normalized_candidates' "
        "AND partition_key = %s ORDER BY id LIMIT 1", (cid,)).fetchone()[0]
    conn.commit()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        for _ in range(200):  # the run ends a moment after its last materialization
            if run.end_time is not None:
                break
            time.sleep(0.05)
            run = client.read_flow_run(run_id)
    return {"run_created": (run.created - committed).total_seconds(),
            "run_started": (run.start_time - committed).total_seconds(),
            "run_ended": (run.end_time - committed).total_seconds()}


def _wait_jobs_done(conn, n: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = conn.execute(
            "SELECT count(DISTINCT partition_key) FROM materializations "
            "WHERE asset = 'job_matches' AND status = 'materialized'").fetchone()[0]
        conn.commit()
        if done >= n:
            return
        time.sleep(0.2)
    sys.exit(f"jobs not materialized within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=20, help="jobs present before (matching)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder")
    args = parser.parse_args()
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"

    home = Path(tempfile.mkdtemp(prefix="tf-bench-events-"))
    if not args.keep:
        # Registered before the embedded server's own exit handler, so it runs after it: the
        # folder goes once PostgreSQL has stopped, never from under it.
        atexit.register(shutil.rmtree, home, True)
    api_url = f"http://127.0.0.1:{_free_port()}/api"
    env = {**os.environ, "TALENTFLOW_HOME": str(home / "state"),
           "PREFECT_HOME": str(home / "prefect"), "PREFECT_API_URL": api_url,
           "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("DATABASE_URL", None)
    (home / "state").mkdir()
    log = home / "serve.log"
    t_start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from talentflow.cli import main; main()", "serve",
             "--no-ui", "--workers", str(args.workers), "--poll", str(args.poll)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready_s = _wait_ready(proc, log)
        import psycopg

        os.environ["TALENTFLOW_HOME"] = env["TALENTFLOW_HOME"]
        os.environ["PREFECT_API_URL"] = api_url  # before prefect is imported (stage times)
        from talentflow.db import embedded

        url = embedded.start(Path(env["TALENTFLOW_HOME"]))  # joins the server serve started
        with psycopg.connect(url) as conn:
            for i in range(args.jobs):
                conn.execute("INSERT INTO jobs (id, title, company, location, description) "
                             "VALUES (%s, %s, 'Bench Co', 'Berlin', %s)",
                             (f"j-bench-{i:03d}", f"Engineer {i}",
                              JOB.format(title=f"engineer {i}", i=i)))
            conn.commit()
            _wait_jobs_done(conn, args.jobs)  # time candidates alone, not behind job runs
            warm_up_s = _insert_and_wait(conn, "c-bench-warmup", 0)["total"]
            rows = [_insert_and_wait(conn, f"c-bench-{i:03d}", i + 1) for i in range(args.rows)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    latencies = [r["total"] for r in rows]
    ordered = sorted(latencies)
    p90 = ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]
    print(json.dumps({
        "bench": "event_latency",
        "what": "candidate row commit -> candidate_matches materialized (finished_at)",
        "rows": args.rows,
        "median_s": round(statistics.median(latencies), 3),
        "p90_s": round(p90, 3),
        "min_s": round(ordered[0], 3),
        "max_s": round(ordered[-1], 3),
        "latencies_s": [round(x, 3) for x in latencies],
        # Medians of: commit -> flow run created by the trigger (sensor + event + automation),
        # -> run started (warm runner's poll and claim), -> run ended (the flow body).
        "median_stage_s": {k: round(statistics.median(r[k] for r in rows), 3)
                           for k in ("run_created", "run_started", "run_ended")},
        "first_row_after_ready_s": round(warm_up_s, 3),
        "serve_ready_s": round(ready_s, 1),
        "jobs_matched_against": args.jobs,
        "workers": args.workers,
        "poll_s": args.poll,
        "cpus": os.cpu_count(),
        "total_s": round(time.monotonic() - t_start, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
