"""Bench: where Prefect's own limits bite for talentflow at scale; prints one JSON object.

    .venv/bin/python bench/prefect_limits.py
    .venv/bin/python bench/prefect_limits.py --creates 1000 --concurrency 4,16,64 \
        --events 10000 --trigger-events 1000 --tasks 5000
    .venv/bin/python bench/prefect_limits.py --skip tasks,trigger   # only some figures

A REAL `prefect server start` (talentflow.serving.server, as `talentflow serve` and the e2e
tests start it) with its database on a temporary embedded PostgreSQL, in a temporary state
folder removed at the end; the client talks to it over HTTP/websocket from this process.
Figures, each with the load average and the CPU seconds the Prefect server and PostgreSQL
spent during it (a busy machine inflates wall time, not these):

1. `create`: flow runs created with `create_flow_run_from_deployment`, one client in
   sequence, then `--creates` runs from N concurrent async clients per `--concurrency`;
2. `events`: `--events` talentflow-like events (resource id + labels) through `emit_event`;
   the rate they are queued, sent (EventsWorker drained) and readable via `read_events`;
   plus the same number POSTed to /events in batches of `--batch` (what the sensor does);
3. `trigger`: the candidate-pipeline trigger of prefect.yaml on a no-op deployment, then a
   burst of `--trigger-events` distinct-partition events POSTed in batches of `--batch`:
   event sent -> flow run created, p50/p99, runs created per second;
4. `tasks`: one flow run of `--tasks` trivial task runs (called one after the other, then
   `.map`), executed here: task runs per second, and until the server has them all.

Bench scripts never assert on time: this one only reports.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_home = Path(tempfile.mkdtemp(prefix="tf-bench-prefect-"))
# Registered first, so it runs last (atexit is last-in first-out): the embedded PostgreSQL's
# own stop handler runs before its data directory is removed.
atexit.register(shutil.rmtree, _home, True)
os.environ["TALENTFLOW_HOME"] = str(_home / "state")
os.environ["PREFECT_HOME"] = str(_home / "client")
os.environ.pop("DATABASE_URL", None)

from talentflow import config  # noqa: E402 - after the environment points at the temp dir
from talentflow.db import embedded  # noqa: E402
from talentflow.serving import server as prefect_server  # noqa: E402 - imports no prefect

config.apply_runtime_defaults()  # INFO run logs go to the API, as in talentflow's runs

POLL_S = 0.1
CLK_TCK = os.sysconf("SC_CLK_TCK")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(len(ordered), rank) - 1]


def summary_ms(latencies_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(pct(ms, 99), 1),
            "max_ms": round(max(ms), 1)}


def tree_cpu_s(root: int | None) -> float:
    """CPU seconds of a process and all its live descendants, plus its reaped children
    (PostgreSQL backends that exited are counted in the postmaster's cutime). By parent, not
    process group: PostgreSQL puts each child in its own session."""
    if root is None:
        return 0.0
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        stats[int(entry)] = raw[raw.rindex(")") + 2:].split()  # fields after "pid (comm) "
    children: dict[int, list[int]] = {}
    for pid, f in stats.items():
        children.setdefault(int(f[1]), []).append(pid)  # f[1]: ppid
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        f = stats.get(pid)
        if f is None:
            continue
        ticks += int(f[11]) + int(f[12])  # utime, stime
        if pid == root:
            ticks += int(f[13]) + int(f[14])  # cutime, cstime
        todo.extend(children.get(pid, []))
    return ticks / CLK_TCK


class Meter:
    """Wall time, load average and server-side CPU of one phase."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.groups = {"prefect_server": server_pid, "postgres": postmaster_pid}

    @contextmanager
    def phase(self, out: dict[str, Any], items: int) -> Iterator[None]:
        cpu0 = {k: tree_cpu_s(g) for k, g in self.groups.items()}
        out["load_average_at_start"] = load()
        t0 = time.monotonic()
        try:
            yield
        finally:
            out["phase_wall_s"] = round(time.monotonic() - t0, 2)
            out["load_average_at_end"] = load()
            cpu = {k: tree_cpu_s(g) - cpu0[k] for k, g in self.groups.items()}
            out["cpu_s"] = {k: round(v, 2) for k, v in cpu.items()}
            # Server CPU per item: what bounds the rate on an idle core, whatever the load.
            out["server_cpu_ms_each"] = round(
                (cpu["prefect_server"] + cpu["postgres"]) * 1000 / max(items, 1), 2)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float | None:
    """Poll `check` until true; seconds waited, or None if `timeout` passed first."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(POLL_S)
    print(f"warning: {what} not done after {timeout:.0f} s", file=sys.stderr)
    return None


# --- the flows (defined after prefect is importable; see main) ------------------------------

def define_flows() -> tuple[Any, Any]:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.futures import wait
    from prefect.runtime import flow_run

    @flow(name="bench-noop", persist_result=False)
    def noop(candidate_id: str = "") -> str:
        # Never executed here: its deployments only receive runs (nothing polls them).
        return candidate_id

    # No cache, no result: the floor of a task run, what Prefect costs per task by itself.
    @task(cache_policy=NO_CACHE, persist_result=False)
    def tiny(i: int) -> int:
        return i

    @flow(name="bench-many-tasks", persist_result=False)
    def many_tasks(n: int, mode: str) -> str:
        if mode == "call":
            for i in range(n):
                tiny(i)
        else:
            wait(tiny.map(range(n)))
        return str(flow_run.id)

    return noop, many_tasks


# --- 1. flow runs created via the API ---------------------------------------------------------

def bench_create(deployment_id: uuid.UUID, sequential: int, creates: int,
                 levels: list[int], meter: Meter) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    # Scheduled an hour ahead: the late-runs service would otherwise mark every one of these
    # runs Late 15 s later and load the server during the next figures. Creation is the same.
    later = datetime.now(UTC) + timedelta(hours=1)
    out: dict[str, Any] = {}

    seq: dict[str, Any] = {"runs": sequential}
    with get_client(sync_client=True) as client:
        for i in range(5):  # warm-up: connection, first queries' plans
            client.create_flow_run_from_deployment(
                deployment_id, parameters={"candidate_id": f"warm-{i}"},
                state=Scheduled(scheduled_time=later))
        lat: list[float] = []
        with meter.phase(seq, sequential):
            t0 = time.monotonic()
            for i in range(sequential):
                t = time.perf_counter()
                client.create_flow_run_from_deployment(
                    deployment_id, parameters={"candidate_id": f"seq-{i}"},
                    state=Scheduled(scheduled_time=later))
                lat.append(time.perf_counter() - t)
            wall = time.monotonic() - t0
    seq.update(runs_per_s=round(sequential / wall, 1), wall_s=round(wall, 2), **summary_ms(lat))
    out["sequential"] = seq

    async def concurrent(level: int) -> tuple[float, list[float]]:
        todo = iter(range(creates))
        lat: list[float] = []

        async def worker() -> None:
            # One client (one HTTP connection pool) per worker: N independent callers.
            async with get_client() as client:
                for i in todo:
                    t = time.perf_counter()
                    await client.create_flow_run_from_deployment(
                        deployment_id, parameters={"candidate_id": f"c{level}-{i}"},
                        state=Scheduled(scheduled_time=later))
                    lat.append(time.perf_counter() - t)

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(level)))
        return time.monotonic() - t0, lat

    for level in levels:
        res: dict[str, Any] = {"runs": creates, "clients": level}
        with meter.phase(res, creates):
            wall, lat = asyncio.run(concurrent(level))
        res.update(runs_per_s=round(creates / wall, 1), wall_s=round(wall, 2), **summary_ms(lat))
        out[f"concurrent_{level}"] = res
    return out


# --- 2. events accepted and readable ----------------------------------------------------------

def partition_events(kind: str, n: int, prefix: str = "k") -> list[Any]:
    """Events exactly as talentflow's sensor builds them: resource id
    `talentflow.<kind>.<key>` and the key, set, data-version and change-seq labels."""
    from talentflow.events import REGISTERED, PartitionEvent

    source = uuid.uuid4().hex  # new event ids every run (the server drops ids it has seen)
    return [PartitionEvent(kind=kind, set_name=f"{kind}s", key=f"{prefix}-{i:06d}",
                           change=REGISTERED, data_version=uuid.uuid4().hex[:16],
                           change_seq=i + 1, source=source)
            for i in range(n)]


def count_events(name: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter

    with get_client(sync_client=True) as client:
        # A new filter each time: its `occurred.until` defaults to the moment it is built.
        page = client.read_events(filter=EventFilter(event=EventNameFilter(name=[name])),
                                  limit=1)
    return page.total


def bench_events(n: int, batch: int, timeout: float, meter: Meter) -> dict[str, Any]:
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    from talentflow.events import send

    out: dict[str, Any] = {}
    persister = {k: os.environ.get(f"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_{k.upper()}")
                 for k in ("batch_size", "flush_interval")}
    out["event_persister_settings"] = {k: v or "default" for k, v in persister.items()}

    # emit_event: queued in-process, sent one by one over the events websocket.
    emitted = partition_events("bench-emit", n)
    res: dict[str, Any] = {"events": n}
    with meter.phase(res, n):
        t0 = time.monotonic()
        for e in emitted:
            emit_event(event=e.name, resource=e.resource(), payload=e.payload(), id=e.id)
        t_queued = time.monotonic() - t0
        EventsWorker.drain_all(timeout=timeout, at_exit=False)
        t_sent = time.monotonic() - t0
        waited = wait_for("emitted events readable", lambda: count_events(emitted[0].name) >= n,
                          timeout)
        t_visible = None if waited is None else time.monotonic() - t0
    res.update(
        queued_s=round(t_queued, 2), sent_s=round(t_sent, 2),
        readable_s=None if t_visible is None else round(t_visible, 2),
        sent_per_s=round(n / t_sent, 1),
        end_to_end_per_s=None if t_visible is None else round(n / t_visible, 1),
        readable_after_sent_s=None if t_visible is None else round(t_visible - t_sent, 2),
        readable_count=count_events(emitted[0].name))
    out["emit_event"] = res

    # POST /events in batches: talentflow.events.send, the sensor's path (delivery confirmed).
    posted = partition_events("bench-post", n)
    res = {"events": n, "batch": batch}
    with meter.phase(res, n):
        t0 = time.monotonic()
        for i in range(0, n, batch):
            send(posted[i:i + batch])
        t_sent = time.monotonic() - t0
        waited = wait_for("posted events readable", lambda: count_events(posted[0].name) >= n,
                          timeout)
        t_visible = None if waited is None else time.monotonic() - t0
    res.update(
        accepted_s=round(t_sent, 2), accepted_per_s=round(n / t_sent, 1),
        readable_s=None if t_visible is None else round(t_visible, 2),
        end_to_end_per_s=None if t_visible is None else round(n / t_visible, 1),
        readable_after_accepted_s=None if t_visible is None else round(t_visible - t_sent, 2),
        readable_count=count_events(posted[0].name))
    out["post_events"] = res
    return out


# --- 3. event -> flow run created through a deployment trigger --------------------------------

def bench_trigger(noop: Any, n: int, batch: int, timeout: float, meter: Meter
                  ) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    from talentflow.events import send
    from talentflow.serving import deployments

    # The candidate-pipeline trigger exactly as prefect.yaml writes it (match on
    # talentflow.candidate.*, for_each resource id + change-seq, key from the label), on a
    # no-op deployment nothing executes: what is timed is Prefect creating the runs.
    spec = next(s for s in deployments.read() if s.name == "candidate-pipeline")
    dep_id = noop.to_deployment(name="bench-trigger", triggers=deployments.triggers(spec)
                                ).apply()
    dep_filter = DeploymentFilter(id=DeploymentFilterId(any_=[dep_id]))

    def runs() -> int:
        with get_client(sync_client=True) as client:
            return client.count_flow_runs(deployment_filter=dep_filter)

    out: dict[str, Any] = {"trigger": spec.triggers[0]}
    burst = partition_events("candidate", n)
    # The automation is live once a first event starts a run (the triggers service loads new
    # automations on a change notification, not instantly). A new event each try: the server
    # drops an event id it has seen.
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline and runs() == 0:
        send(partition_events("candidate", 1, prefix=f"warm{uuid.uuid4().hex[:6]}"))
        wait_for("warm-up run", lambda: runs() > 0, 5)
    warm_runs = runs()
    out["automation_live_after_s"] = round(time.monotonic() - t0, 2)
    if runs() == 0:
        out["error"] = "the trigger never created a run"
        return out

    sent_at: dict[str, datetime] = {}
    res: dict[str, Any] = {"events": n, "batch": batch}
    with meter.phase(res, n):
        t0 = time.monotonic()
        start = datetime.now(UTC)
        for i in range(0, n, batch):
            chunk = burst[i:i + batch]
            at = datetime.now(UTC)
            send(chunk)
            sent_at.update((e.key, at) for e in chunk)
        res["sent_s"] = round(time.monotonic() - t0, 2)
        waited = wait_for("triggered runs", lambda: runs() >= n + warm_runs, timeout)
        res["all_created_s"] = None if waited is None else round(time.monotonic() - t0, 2)

    created: dict[str, datetime] = {}
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_flow_runs(deployment_filter=dep_filter, limit=200, offset=offset,
                                         sort=FlowRunSort.EXPECTED_START_TIME_ASC)
            for run in page:
                created[run.parameters.get("candidate_id", "")] = run.created
            if len(page) < 200:
                break
            offset += 200
    lat = [(created[k] - at).total_seconds() for k, at in sent_at.items() if k in created]
    res["runs_created"] = len(lat)
    if lat:
        first = min(created[k] for k in sent_at if k in created)
        last = max(created[k] for k in sent_at if k in created)
        res.update(
            event_to_run_created=summary_ms(lat),
            runs_per_s=round(len(lat) / max((last - start).total_seconds(), 1e-9), 1),
            runs_per_s_first_to_last=round((len(lat) - 1)
                                           / max((last - first).total_seconds(), 1e-9), 1))
    out["burst"] = res
    return out


# --- 4. task runs in one flow run -------------------------------------------------------------

def count_task_runs(flow_run_id: str, completed: bool) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    body: dict[str, Any] = {"flow_runs": FlowRunFilter(
        id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])).model_dump(mode="json")}
    if completed:
        body["task_runs"] = TaskRunFilter(state=TaskRunFilterState(
            type=TaskRunFilterStateType(any_=[StateType.COMPLETED]))).model_dump(mode="json")
    with get_client(sync_client=True) as client:
        return int(client.request("POST", "/task_runs/count", json=body).json())


def bench_tasks(many_tasks: Any, n: int, timeout: float, meter: Meter) -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    out: dict[str, Any] = {}
    many_tasks(5, "call")  # warm-up: the flow and task objects' first registration
    for mode in ("call", "map"):
        res: dict[str, Any] = {"tasks": n}
        with meter.phase(res, n):
            t0 = time.monotonic()
            flow_run_id = many_tasks(n, mode)
            flow_s = time.monotonic() - t0
            # Task run states reach the server as events (task_run_recorder), after the fact.
            waited = wait_for(f"{mode} task runs recorded",
                              lambda fid=flow_run_id: count_task_runs(fid, True) >= n, timeout)
            recorded_s = None if waited is None else time.monotonic() - t0
        res.update(
            flow_run_s=round(flow_s, 2), task_runs_per_s=round(n / flow_s, 1),
            per_task_ms=round(flow_s / n * 1000, 2),
            all_recorded_s=None if recorded_s is None else round(recorded_s, 2),
            recorded_per_s=None if recorded_s is None else round(n / recorded_s, 1),
            recorded=count_task_runs(flow_run_id, False))
        with get_client(sync_client=True) as client:
            from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

            one = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[uuid.UUID(flow_run_id)])), limit=1)
            if one:
                states = client.read_task_run_states(one[0].id)
                res["states_per_task_run"] = [s.name for s in states]
        out[mode] = res
    return out


def server_pid(srv: prefect_server.PrefectServer) -> int:
    if srv.process is None:
        raise RuntimeError("the Prefect server was not started here")
    return srv.process.pid


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", type=int, default=200,
                        help="flow runs created by one client in sequence")
    parser.add_argument("--creates", type=int, default=500,
                        help="flow runs created at each concurrency level")
    parser.add_argument("--concurrency", default="8,32",
                        help="comma-separated numbers of concurrent async clients")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50,
                        help="events per POST /events (talentflow's sensor burst default)")
    parser.add_argument("--trigger-events", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=180,
                        help="longest wait for any one 'until the server has them all'")
    parser.add_argument("--skip", default="", help="comma list of: create,events,trigger,tasks")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    # SIGTERM (a timeout, a Ctrl-C'ing supervisor) unwinds through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    out: dict[str, Any] = {"bench": "prefect_limits", "date": datetime.now(UTC).date().isoformat(),
                           "cpus": os.cpu_count(), "load_average_at_start": load()}
    state = Path(os.environ["TALENTFLOW_HOME"])
    state.mkdir(parents=True)
    srv: prefect_server.PrefectServer | None = None
    try:
        libpq = embedded.start(state, database="prefect")
        port = prefect_server.free_port()
        os.environ["PREFECT_API_URL"] = prefect_server.api_url_for("127.0.0.1", port)
        srv = prefect_server.launch(home=_home / "server", port=port, ui=False,
                                    database_url="postgresql+asyncpg://"
                                    + libpq.split("://", 1)[1])
        import prefect  # while the server starts (~3 s), after PREFECT_API_URL is set

        noop, many_tasks = define_flows()
        srv.wait_healthy()
        out["server_start_s"] = srv.started_in_s
        out["versions"] = {"prefect": prefect.__version__}
        meter = Meter(server_pid(srv), embedded.postmaster_pid(state))

        if "create" not in skip:
            dep_id = noop.to_deployment(name="bench-create").apply()
            out["create"] = bench_create(dep_id, args.sequential, args.creates, levels, meter)
        if "events" not in skip:
            out["events"] = bench_events(args.events, args.batch, args.timeout, meter)
        if "trigger" not in skip:
            out["trigger"] = bench_trigger(noop, args.trigger_events, args.batch, args.timeout,
                                           meter)
        if "tasks" not in skip:
            out["tasks"] = bench_tasks(many_tasks, args.tasks, args.timeout, meter)
    finally:
        if "prefect" in sys.modules:
            from prefect.events.worker import EventsWorker

            EventsWorker.drain_all(timeout=10, at_exit=False)
        if srv is not None:
            srv.stop()
        embedded.release(state)
    out["load_average_at_end"] = load()
    out["total_s"] = round(time.monotonic() - t_start, 1)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
