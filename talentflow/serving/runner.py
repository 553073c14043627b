"""A warm runner: executes flow runs of served deployments inside THIS process, on threads.

Why not `prefect.serve` / `Runner`: in Prefect 3.8 every run it executes starts a new Python
process (`run_flow_in_subprocess`, a spawn), which re-imports prefect, torch and
sentence-transformers and reloads the model: 12-30 s from event to flow body here
(PREFECT_NOTES). Prefect's triggers and scheduler still create the flow runs; this runner
only replaces the process start. It:

1. polls the API for Scheduled runs of its deployments (one cheap request every `poll_s`);
2. claims a run by proposing Pending — the server's orchestration rules refuse a second
   claimant, so two runners (or a worker) never execute the same run;
3. executes it with `prefect.flow_engine.run_flow(flow, flow_run=...)` on a worker thread:
   the same engine a subprocess would run, with states, logs, task runs, caching and
   results as usual, but with imports and the model already in memory.

Per key, in this process: a run whose (deployment, parameters) equal a run still executing
is left Scheduled until that one finishes (queued, never concurrent, no thread parked on a
lock). Across processes the engine's claims (talentflow/partitions/claims.py) make sure no
partition is computed by two runs at once.

What it executes is reported to `on_change` (run id -> name, deployment, claimed at) each
time the set changes, a run being claimed included: `talentflow serve` writes it to
`<state>/serve/runs.json`, so a serve started after this process died marks those runs
Crashed (or schedules again one it had claimed but not started). A run whose final state
could not be reported (the database went away under Prefect's server too) is marked Crashed
once the API answers again, never left Running.

Limits, by choice: cancelling a run from the UI does not interrupt its thread (the run is
marked when it ends). Async flows are run in the worker thread's own loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import FlowRun

logger = logging.getLogger("talentflow.runner")


@dataclass
class RunnerStats:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    crashed: int = 0
    deferred: int = 0  # polls that left a run Scheduled because its key was in flight
    last_poll_s: float = 0.0
    durations_s: list[float] = field(default_factory=list)


class WarmRunner:
    """Run Scheduled flow runs of `flows` (deployment id -> flow) on `workers` threads."""

    def __init__(self, flows: Mapping[UUID, Flow], *, workers: int = 4, poll_s: float = 0.25,
                 name: str = "talentflow-warm-runner") -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.flows = dict(flows)
        self.workers = workers
        self.poll_s = poll_s
        self.name = name
        self.stats = RunnerStats()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flow-run")
        self._lock = threading.Lock()
        self._running: dict[UUID, Hashable] = {}  # flow run id -> its (deployment, params) key
        self._info: dict[UUID, dict[str, Any]] = {}  # flow run id -> what on_change reports
        self.on_change: Callable[[dict[str, dict[str, Any]]], None] | None = None
        self._poll_failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Poll now (e.g. after creating a run) instead of at the next interval."""
        self._wake.set()

    def stop(self, wait_s: float = 60.0) -> None:
        """Stop claiming runs; wait up to `wait_s` for those executing to finish."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)
        deadline = time.monotonic() + wait_s
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._running)

    def executing(self) -> dict[str, dict[str, Any]]:
        """The runs claimed and not finished: run id -> name, deployment, claimed at."""
        with self._lock:
            return {str(k): dict(v) for k, v in self._info.items()}

    def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(self.executing())
        except Exception as exc:  # noqa: BLE001 - bookkeeping must not stop a run
            logger.warning("could not record the runs in flight: %s", exc)

    # -- polling ---------------------------------------------------------------------------
    def _loop(self) -> None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            while not self._stop.is_set():
                try:
                    self.poll_once(client)
                    if self._poll_failures:
                        logger.info("polling the Prefect API works again (after %d failure(s))",
                                    self._poll_failures)
                        self._poll_failures = 0
                except Exception as exc:  # noqa: BLE001 - a failed poll (server restarting) is retried
                    self._poll_failures += 1
                    if self._poll_failures in (1, 10) or self._poll_failures % 100 == 0:
                        # One line, not a traceback every poll while the API is down.
                        logger.warning("polling for scheduled runs failed (%d time(s)): %s; "
                                       "retrying", self._poll_failures, short_error(exc))
                    logger.debug("poll failure", exc_info=True)
                    self._stop.wait(min(5.0, self.poll_s * 10))
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def poll_once(self, client: Any) -> int:
        """Claim and start every due run there is a free worker for; returns how many."""
        if not self.flows:
            return 0
        free = self.workers - self.in_flight()
        if free <= 0:
            return 0
        t0 = time.perf_counter()
        runs = client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self.flows),
            scheduled_before=datetime.now(UTC) + timedelta(seconds=0.5),
        )
        self.stats.last_poll_s = time.perf_counter() - t0
        started = 0
        keys_taken: set[Hashable] = set()
        for run in sorted(runs, key=lambda r: r.next_scheduled_start_time or r.created):
            if started >= free:
                break
            key = run_key(run)
            with self._lock:
                busy = run.id in self._running or key in self._running.values()
            if busy or key in keys_taken:
                self.stats.deferred += 1
                continue
            # Reported BEFORE the claim: if this process dies between the two, the run is
            # Pending with nobody to run it, and the next serve must know to schedule it again.
            with self._lock:
                self._info[run.id] = {"name": run.name, "deployment_id": str(run.deployment_id),
                                      "claimed_at": None}
            self._changed()
            if not self._claim(client, run):
                with self._lock:
                    self._info.pop(run.id, None)
                self._changed()
                continue
            keys_taken.add(key)
            with self._lock:
                self._running[run.id] = key
                self._info[run.id]["claimed_at"] = datetime.now(UTC).isoformat()
            self._changed()
            self.stats.claimed += 1
            future = self._pool.submit(self._execute, run)
            future.add_done_callback(lambda f, rid=run.id: self._done(rid, f))
            started += 1
        return started

    def _claim(self, client: Any, run: FlowRun) -> bool:
        from prefect.exceptions import Abort
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        try:
            state = propose_state_sync(client, Pending(), flow_run_id=run.id)
        except Abort:
            return False  # another runner took it first
        except Exception:  # noqa: BLE001
            logger.exception("could not claim flow run %s", run.id)
            return False
        return state.is_pending()

    # -- executing -------------------------------------------------------------------------
    def _execute(self, run: FlowRun) -> Any:
        from prefect.flow_engine import run_flow

        flow = self.flows[run.deployment_id]
        t0 = time.perf_counter()
        state = run_flow(flow, flow_run=run, return_type="state")
        if hasattr(state, "__await__"):  # an async flow: run it to completion on this thread
            import asyncio

            state = asyncio.run(state)
        took = time.perf_counter() - t0
        self.stats.durations_s.append(round(took, 3))
        params = summarize_parameters(run.parameters)
        if state is not None and state.is_failed():
            self.stats.failed += 1
            logger.warning("%s %s %s: %s in %.2f s: %s", flow.name, run.name, params,
                           state.name, took, _clip(state.message))
        else:
            self.stats.completed += 1
            logger.info("%s %s %s: %s in %.2f s", flow.name, run.name, params,
                        state.name if state else "?", took)
        if state is None or not state.is_final():
            self._ensure_final(run.id, "the warm runner finished it, but its final state never "
                                       "reached the Prefect API (API or database down)")
        return state

    def _done(self, run_id: UUID, future: Future) -> None:
        exc = future.exception() if not future.cancelled() else None
        if exc is not None:
            # The engine records flow failures itself; reaching here means it could not.
            self.stats.crashed += 1
            logger.error("flow run %s crashed in the engine: %s", run_id, short_error(exc))
            self._ensure_final(run_id, f"warm runner: engine error {short_error(exc)}")
        with self._lock:
            self._running.pop(run_id, None)
            self._info.pop(run_id, None)
        self._changed()
        self._wake.set()  # a key may have been waiting for this run

    def _ensure_final(self, run_id: UUID, reason: str, *, retry_s: float = 120.0) -> None:
        """Mark the run Crashed if the API still shows it unfinished (its final state was lost
        while the API or its database was down); retried while the API does not answer, for up
        to `retry_s` (a stop of this runner cuts that short)."""
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        deadline = time.monotonic() + retry_s
        delay = 0.5
        while True:
            try:
                with get_client(sync_client=True) as client:
                    current = client.read_flow_run(run_id)
                    if current.state is None or not current.state.is_final():
                        client.set_flow_run_state(run_id, Crashed(message=reason), force=True)
                        self.stats.crashed += 1
                        logger.warning("flow run %s marked Crashed: %s", run_id, reason)
                return
            except Exception as exc:  # noqa: BLE001 - the API is down: try again shortly
                if time.monotonic() + delay > deadline or self._stop.is_set():
                    logger.warning("could not check the final state of flow run %s: %s",
                                   run_id, short_error(exc))
                    return
                self._stop.wait(delay)
                delay = min(delay * 2, 5.0)


def summarize_parameters(parameters: Mapping[str, Any] | None, *, max_items: int = 3,
                         max_chars: int = 300) -> str:
    """Parameters for a log line: long lists as their count and first few items
    (`candidate_ids=[2000 items: c-1, c-2, c-3, ...]`), the whole line at most `max_chars`."""
    parts = []
    for name, value in (parameters or {}).items():
        if isinstance(value, list | tuple | set | frozenset) and len(value) > max_items:
            items = list(value)
            head = ", ".join(_clip(json.dumps(v, default=str), 40) for v in items[:max_items])
            parts.append(f"{name}=[{len(items)} items: {head}, ...]")
        elif isinstance(value, dict) and len(value) > max_items:
            head = ", ".join(_clip(str(k), 40) for k in list(value)[:max_items])
            parts.append(f"{name}={{{len(value)} keys: {head}, ...}}")
        else:
            parts.append(f"{name}={_clip(json.dumps(value, default=str), 80)}")
    return _clip("(" + ", ".join(parts) + ")", max_chars)


def _clip(text: str | None, limit: int = 500) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_error(exc: BaseException) -> str:
    """`Type: first line of the message`, for one-line logs."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return _clip(f"{type(exc).__name__}: {first}" if first else type(exc).__name__, 300)


def run_key(run: FlowRun) -> Hashable:
    """(deployment, parameters): two runs with the same key must not execute concurrently."""
    return (run.deployment_id, json.dumps(run.parameters or {}, sort_keys=True, default=str))
