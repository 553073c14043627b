"""One materialize run: plan → claim → read → compute (Prefect task) → record, per asset.

Invariants this module keeps:
1. Plan from the bulk status, never from cache probes: an up-to-date key costs nothing.
2. Claim before compute; a key a live run holds is skipped (`held`), never computed twice.
3. The versions recorded as consumed — and hashed into the per-partition cache key — are the
   versions of the data the compute read: upstream values come with their data version from
   the same row, and an AllOf watermark is read before the data, so a change racing the read
   can only make the key stale again, never fresh with data it did not see.
4. Values, materialization records and claim releases of a batch commit together.
5. A key's failure is that key's: batch-mates are recorded materialized, downstream keys of a
   failed or missing upstream key are blocked (reported, not run).
6. Checks run on a batch right after it is recorded, against the materializations just
   written; a key whose blocking check fails blocks its downstream like a failed key.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from talentflow.engine import checks as checking
from talentflow.engine import compute as computing
from talentflow.engine.cache import PartitionCache, partition_cache_key
from talentflow.engine.context import (
    AllOfInput,
    BatchContext,
    Failure,
    Output,
    keys_label,
)
from talentflow.engine.definitions import Definitions
from talentflow.engine.stores import Stored, store_of
from talentflow.partitions import claims
from talentflow.partitions.assets import ALL, AllKeys, AllOf, Asset, Identity
from talentflow.partitions.errors import InvalidPartitionKey
from talentflow.partitions.materializations import (
    MISSING,
    Record,
    consumed_watermarks,
    observe,
    record_many,
    watermarks,
)
from talentflow.partitions.observation import observe_sources
from talentflow.partitions.sets import TimeWindowPartitions
from talentflow.partitions.status import KeyStatus, ReasonKind, needing_work, status
from talentflow.partitions.versions import data_version

progress = logging.getLogger("talentflow.progress")

RUN_STATES = frozenset({"missing", "stale", "failed"})
# Not a status: the failed keys whose run died (a lease expired), as opposed to keys whose
# computation raised. Automation re-runs those without retrying every failure forever.
LEASE_EXPIRED = "lease_expired"
SELECTABLE = frozenset({*RUN_STATES, "running", "materialized", LEASE_EXPIRED})


def wanted(row: KeyStatus, states: frozenset[str]) -> bool:
    """Whether a key's status is one of `states` (see LEASE_EXPIRED)."""
    return row.status in states or (
        LEASE_EXPIRED in states and row.status == "failed"
        and ReasonKind.LEASE_EXPIRED in row.kinds)
LEASE_ENV = "TALENTFLOW_CLAIM_LEASE_S"
# Reasons that come from an upstream's data: a key stale for these alone, downstream of an
# asset this run changed, runs whatever states were asked for.
_UPSTREAM_KINDS = frozenset({ReasonKind.INPUT_CHANGED, ReasonKind.INPUT_APPEARED,
                             ReasonKind.INPUT_MISSING, ReasonKind.ALL_OF_CHANGED})


@dataclass(frozen=True)
class Progress:
    """Where one asset's stage stands (for a progress bar)."""

    asset: str
    total: int  # keys claimed for compute in this stage
    done: int  # computed or cached
    cached: int
    failed: int
    blocked: int


# A front door (the CLI) listens here for progress; the run calls it after each batch.
PROGRESS: ContextVar[Any] = ContextVar("talentflow_progress", default=None)


def _report_progress(asset: str, total: int, report: AssetReport) -> None:
    listener = PROGRESS.get()
    if listener is not None:
        listener(Progress(asset, total, len(report.done), len(report.cached),
                          len(report.failed), len(report.blocked)))


def _progress(msg: str, *args: Any) -> None:
    """A progress line: for the CLI (logger talentflow.progress) and the run's page."""
    progress.info(msg, *args)
    try:
        from prefect.logging import get_run_logger

        get_run_logger().info(msg, *args)
    except Exception:  # noqa: BLE001 - outside a Prefect run
        pass


def lease_seconds() -> int:
    return int(os.environ.get(LEASE_ENV) or claims.DEFAULT_LEASE_S)


# --------------------------------------------------------------------------------------------
# What to run


@dataclass(frozen=True)
class KeySelection:
    """Which partitions: explicit keys, a range (byte order; window order for time sets), a
    prefix, or all — filtered to the states in `only`. Keys belong to one partition set
    (`partition_set`, else the set of the selected assets that holds them); assets on other
    sets take the keys that depend on, or are read by, the selected ones."""

    keys: tuple[str, ...] | None = None
    key_from: str | None = None
    key_to: str | None = None
    prefix: str | None = None
    partition_set: str | None = None
    only: frozenset[str] = RUN_STATES

    @property
    def narrowed(self) -> bool:
        return bool(self.keys is not None or self.key_from or self.key_to or self.prefix)


@dataclass
class AssetReport:
    asset: str
    ran: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    up_to_date: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)  # upstream failed or missing
    held: dict[str, str] = field(default_factory=dict)  # a live run holds it: run id
    # Keys computed whose blocking check failed ("check failed: <name>"), and keys with a
    # non-blocking (or WARN) failure; per check, its outcomes counted.
    check_failed: dict[str, str] = field(default_factory=dict)
    check_warnings: dict[str, str] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)
    check_failing: dict[str, list[str]] = field(default_factory=dict)  # check -> keys
    seconds: float = 0.0

    @property
    def done(self) -> list[str]:
        return self.ran + self.cached


@dataclass
class RunReport:
    flow_run_id: str | None
    assets: dict[str, AssetReport] = field(default_factory=dict)
    observed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> dict[str, dict[str, str]]:
        return {a: r.failed for a, r in self.assets.items() if r.failed}

    @property
    def check_failed(self) -> dict[str, dict[str, str]]:
        return {a: r.check_failed for a, r in self.assets.items() if r.check_failed}

    @property
    def ok(self) -> bool:
        """No key failed, and no blocking check failed."""
        return not self.failed and not self.check_failed

    @property
    def did_work(self) -> bool:
        return any(r.ran or r.cached for r in self.assets.values())

    def to_dict(self) -> dict[str, Any]:
        return {"flow_run_id": self.flow_run_id, "seconds": self.seconds,
                "observed": self.observed, "ok": self.ok,
                "assets": {a: asdict(r) for a, r in self.assets.items()}}


def _chunks(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start:start + size])


def _in_range(partitions: Any, keys: list[str], sel: KeySelection) -> list[str]:
    if isinstance(partitions, TimeWindowPartitions) and (sel.key_from or sel.key_to):
        lo = partitions.window(partitions.validate(sel.key_from))[0] if sel.key_from else None
        hi = partitions.window(partitions.validate(sel.key_to))[0] if sel.key_to else None
        return [k for k in keys if (lo is None or partitions.window(k)[0] >= lo)
                and (hi is None or partitions.window(k)[0] <= hi)]
    return [k for k in keys if (sel.key_from is None or k >= sel.key_from)
            and (sel.key_to is None or k <= sel.key_to)]


def _all_keys(conn: psycopg.Connection, asset: Asset) -> list[str]:
    return asset.partitions.keys(conn)


def root_keys(conn: psycopg.Connection, assets: Sequence[Asset], sel: KeySelection
              ) -> tuple[str, list[str]]:
    """The selection's partition set and its keys; invalid keys raise before anything runs."""
    sets = {a.partitions.name: a.partitions for a in assets}
    if sel.partition_set is not None:
        if sel.partition_set not in sets:
            raise InvalidPartitionKey(sel.partition_set, sel.keys[0] if sel.keys else "",
                                      "no selected asset is partitioned by this set")
        candidates = [sel.partition_set]
    else:
        candidates = list(sets)
    if sel.keys is not None:
        problems: list[InvalidPartitionKey] = []
        for name in candidates:
            try:
                for k in sel.keys:
                    sets[name].validate(k, conn=conn)
            except InvalidPartitionKey as exc:
                problems.append(exc)
                continue
            return name, list(dict.fromkeys(sel.keys))
        raise problems[0] if len(problems) == 1 else InvalidPartitionKey(
            "/".join(candidates), sel.keys[0],
            "; ".join(str(p) for p in problems))
    if len(candidates) != 1:
        raise ValueError(
            f"a key range or prefix needs one partition set; the selected assets use "
            f"{sorted(candidates)}: pass partition_set="
        )
    name = candidates[0]
    every = _all_keys(conn, next(a for a in assets if a.partitions.name == name))
    if sel.prefix:
        every = [k for k in every if k.startswith(sel.prefix)]
    return name, _in_range(sets[name], every, sel)


def candidate_keys(conn: psycopg.Connection, assets: Sequence[Asset], sel: KeySelection
                   ) -> tuple[dict[str, list[str] | None], set[str]]:
    """For each selected asset, the keys to consider (None: all of its keys), and the names
    of the root assets (those on the selection's set)."""
    if not sel.narrowed:
        return {a.name: None for a in assets}, {a.name for a in assets}
    set_name, keys = root_keys(conn, assets, sel)
    out: dict[str, list[str] | None] = {}
    roots = {a.name for a in assets if a.partitions.name == set_name}
    names = {a.name for a in assets}
    for a in assets:  # downstream: keys that read selected keys
        if a.name in roots:
            out[a.name] = list(keys)
            continue
        picked: list[str] | None = []
        for d in a.deps:
            if d.name not in names or out.get(d.name, []) == []:
                continue
            ups = out[d.name]
            if isinstance(d.mapping, AllOf) or ups is None:
                picked = None
                break
            if isinstance(d.mapping, Identity) and d.upstream_set() is not None \
                    and d.upstream_set().name == a.partitions.name:
                picked = list(dict.fromkeys([*picked, *ups]))
                continue
            wanted = set(ups)
            picked = list(dict.fromkeys([*picked, *(
                k for k in _all_keys(conn, a)
                if _reads_any(d.mapping.upstream_keys(k, a.partitions, d.upstream_set()),
                              wanted))]))
        out[a.name] = picked
    for a in reversed(assets):  # upstream: keys the selected keys read
        if a.name in roots or out[a.name] != []:
            continue
        picked: list[str] | None = []
        for down in assets:
            dkeys = out[down.name]
            for d in down.deps:
                if d.name != a.name or dkeys == [] or picked is None:
                    continue
                if dkeys is None or isinstance(d.mapping, AllOf):
                    picked = None
                    continue
                for k in dkeys:
                    ukeys = d.mapping.upstream_keys(k, down.partitions, a.partitions)
                    if isinstance(ukeys, AllKeys):
                        picked = None
                        break
                    picked.extend(ukeys)
        out[a.name] = None if picked is None else list(dict.fromkeys(picked))
    return out, roots


def _reads_any(ukeys: Any, wanted: set[str]) -> bool:
    return isinstance(ukeys, AllKeys) or any(u in wanted for u in ukeys)


# --------------------------------------------------------------------------------------------
# Claims kept alive


class Heartbeat:
    """Renews this run's leases every lease/3 s on its own connection, until stopped."""

    def __init__(self, holder: str, lease_s: int) -> None:
        self.holder, self.interval = holder, max(lease_s / 3, 0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{holder}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        from talentflow.db import connect

        while not self._stop.wait(self.interval):
            try:
                with connect(autocommit=True, vector=False) as conn:
                    claims.heartbeat(conn, self.holder)
            except Exception as exc:  # noqa: BLE001 - a missed beat only shortens the lease
                logging.getLogger(__name__).warning("heartbeat failed: %s", exc)


def mark_crashed(flow_run_ids: Sequence[str], reason: str) -> None:
    """Mark the Prefect runs of dead claims Crashed, if Prefect still shows them running."""
    ids = sorted({r for r in flow_run_ids if r})
    if not ids:
        return
    try:
        from uuid import UUID

        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        with get_client(sync_client=True) as client:
            for run_id in ids:
                try:
                    run = client.read_flow_run(UUID(run_id))
                except Exception:  # noqa: BLE001 - not a Prefect run id, or already gone
                    continue
                if run.state is not None and not run.state.is_final():
                    client.set_flow_run_state(UUID(run_id), Crashed(message=reason), force=True)
    except Exception as exc:  # noqa: BLE001 - best effort: status already says it died
        logging.getLogger(__name__).warning("could not mark runs crashed: %s", exc)


# --------------------------------------------------------------------------------------------
# The run


def _now() -> datetime:
    return datetime.now(UTC)


class Run:
    def __init__(self, defs: Definitions, *, flow_run_id: str | None,
                 task_factory: Any = None, check_task_factory: Any = None,
                 submit_factory: Any = None, in_flight: int = 1,
                 observe_sources: bool = True) -> None:
        self.defs = defs
        self.flow_run_id = flow_run_id
        self.holder = claims.local_holder(f"{flow_run_id or 'local'}:{uuid.uuid4().hex[:8]}")
        self.lease_s = lease_seconds()
        self.report = RunReport(flow_run_id)
        self._task_factory = task_factory
        self._check_task_factory = check_task_factory
        # asset -> a function submitting one batch to the task runner, returning a future
        # (None: batches run one after the other in this process).
        self._submit_factory = submit_factory
        # False when the caller observed the sources a moment ago (materialize() does, to
        # validate keys): observing a table source hashes every row of it.
        self.observe_sources = observe_sources
        self.in_flight = max(1, in_flight) if submit_factory is not None else 1
        self._cache: PartitionCache | None = None
        self._changed: dict[str, set[str]] = {}  # asset -> keys whose data changed this run

    @property
    def cache(self) -> PartitionCache:
        if self._cache is None:
            self._cache = PartitionCache()
        return self._cache

    # -- entry -------------------------------------------------------------------------------

    def execute(self, assets: Sequence[Asset], sel: KeySelection) -> RunReport:
        from talentflow.db import connect

        started = time.perf_counter()
        with connect() as conn:
            claims.expire_dead_local(conn)  # a run that died on this host: take over at once
            if self.observe_sources:
                self.report.observed = observe_all(conn, sources_of(self.defs, assets),
                                                   self.defs.resource_values)
            cand, roots = candidate_keys(conn, assets, sel)
        try:
            with Heartbeat(self.holder, self.lease_s):
                for a in assets:
                    if a.source:
                        continue
                    states = sel.only if a.name in roots else RUN_STATES
                    self._stage(a, cand[a.name], states, narrowed=a.name not in roots)
        finally:
            with connect(vector=False) as conn:
                claims.release_all(conn, self.holder)
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    def execute_checks(self, checks: Sequence[checking.AssetCheck], sel: KeySelection
                       ) -> RunReport:
        """Re-run checks alone on the current data of the selected keys (nothing is
        materialized): a fixed check, or one added after the data, speaks for it now."""
        from talentflow.db import connect

        started = time.perf_counter()
        with connect() as conn:
            for name in dict.fromkeys(c.asset_name for c in checks):
                a = self.defs.get(name)
                mine = [c for c in checks if c.asset_name == name]
                report = self.report.assets.setdefault(name, AssetReport(name))
                if sel.narrowed:
                    keys = candidate_keys(conn, [a], sel)[0][name] or []
                else:
                    keys = [k for (k,) in conn.execute(
                        "SELECT partition_key FROM partition_latest WHERE asset = %s "
                        "AND success_id IS NOT NULL ORDER BY partition_key",
                        (name,)).fetchall()]
                for batch in _chunks(keys, a.batch_size):
                    found = store_of(a).read(conn, name, batch)
                    for k in batch:
                        if k not in found:
                            report.blocked[k] = "no materialized value to check"
                    present = [k for k in batch if k in found]
                    if not present:
                        continue
                    _, values, _, _, _ = self._read_inputs(conn, a, present, {})
                    conn.commit()
                    self.check(conn, a, mine, {k: found[k].value for k in present},
                               values, report)
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    # -- one asset ---------------------------------------------------------------------------

    def _plan(self, conn: psycopg.Connection, a: Asset, keys: list[str] | None,
              states: frozenset[str], narrowed: bool, report: AssetReport
              ) -> tuple[list[str], dict[str, KeyStatus]]:
        if keys == []:
            return [], {}
        # Only keys that are not up to date come back as objects: planning over a million
        # current keys is one set-wise query.
        work = needing_work(conn, a, keys)
        report.up_to_date += work.up_to_date
        ran_upstream = {d.name for d in a.deps if self._changed.get(d.name)}
        todo: list[str] = []
        by_key: dict[str, KeyStatus] = {}
        for s in work.keys:
            by_key[s.key] = s
            take = wanted(s, states) or (
                narrowed and s.status == "stale"
                and any(r.kind in _UPSTREAM_KINDS and r.upstream in ran_upstream
                        for r in s.reasons))
            if s.status == "running":
                report.held[s.key] = next(
                    (r.text.rsplit(" ", 1)[-1] for r in s.reasons
                     if r.kind == ReasonKind.CLAIMED), "running")
            elif take:
                todo.append(s.key)
            else:
                report.up_to_date += 1
        return todo, by_key

    def _stage(self, a: Asset, keys: list[str] | None, states: frozenset[str],
               narrowed: bool) -> None:
        from talentflow.db import connect

        report = self.report.assets.setdefault(a.name, AssetReport(a.name))
        t0 = time.perf_counter()
        # One connection for the stage: plan, claim, reads and records (a new connection
        # costs ~5 ms; a stage of many small batches opened dozens).
        with connect() as conn:
            todo, by_key = self._plan(conn, a, keys, states, narrowed, report)
            got = claims.claim(conn, a.name, todo, holder=self.holder,
                               flow_run_id=self.flow_run_id, lease_s=self.lease_s)
            if got.claimed:
                # Plan again under the claim: another run may have finished these keys
                # between our plan and our claim; computing them again would be a duplicate.
                self._recheck(conn, a, got, by_key, report)
            conn.commit()  # the claims are visible to other runs from here on
            report.held.update(got.held)
            if got.taken_over:
                mark_crashed(list(got.taken_over.values()),
                             f"talentflow: lease expired on {len(got.taken_over)} key(s) of "
                             f"{a.name}; the run died")
            total = len(got.claimed)
            _report_progress(a.name, total, report)
            # Batches in flight at once: 1 in this process; with a task runner (Dask), enough
            # to keep its workers busy while this process reads and records.
            window: deque[_Batch] = deque()
            for keys_ in _chunks(got.claimed, a.batch_size):
                window.append(self._start(conn, a, keys_, by_key, report))
                while window and (len(window) >= self.in_flight or window[0].ready):
                    self._finish(conn, window.popleft(), report)
                    self._batch_done(a.name, total, report)
            while window:
                self._finish(conn, window.popleft(), report)
                self._batch_done(a.name, total, report)
        report.seconds = round(report.seconds + time.perf_counter() - t0, 3)

    def _batch_done(self, asset: str, total: int, report: AssetReport) -> None:
        _report_progress(asset, total, report)
        _progress("%s: %d/%d keys (%d cached, %d failed, %d blocked)", asset,
                  len(report.done) + len(report.failed) + len(report.blocked), total,
                  len(report.cached), len(report.failed), len(report.blocked))

    def _recheck(self, conn: psycopg.Connection, a: Asset, got: claims.Claimed,
                 by_key: dict[str, KeyStatus], report: AssetReport) -> None:
        now = {s.key: s for s in status(conn, a, got.claimed, ignore_holder=self.holder)}
        done = [k for k in got.claimed if now[k].status == "materialized"]
        if not done:
            return
        with conn.transaction():
            claims.release(conn, a.name, done, self.holder)
        report.up_to_date += len(done)
        gone = set(done)
        got.claimed = [k for k in got.claimed if k not in gone]
        by_key.update({k: now[k] for k in got.claimed})

    # -- one batch ---------------------------------------------------------------------------

    def _read_inputs(self, conn: psycopg.Connection, a: Asset, keys: list[str],
                     by_key: Mapping[str, KeyStatus]
                     ) -> tuple[dict[str, dict], dict[str, dict[str, Any]],
                                dict[str, AllOfInput], dict[str, str], dict[str, str]]:
        """(inputs per key, upstream values per dep, AllOf handles, blocked, failed)."""
        inputs: dict[str, dict] = {k: {} for k in keys}
        values: dict[str, dict[str, Any]] = {}
        all_of: dict[str, AllOfInput] = {}
        blocked: dict[str, str] = {}
        failed: dict[str, str] = {}
        whole = [d.name for d in a.deps if isinstance(d.mapping, AllOf)]
        # Watermarks BEFORE any data: a change racing the read leaves the key stale.
        marks = watermarks(conn, whole)
        for d in a.deps:
            if isinstance(d.mapping, AllOf) and d.resolved is not None \
                    and d.resolved.blocking_checks:
                bad = checking.blocking_failures(conn, d.name, d.resolved.blocking_checks, None)
                if bad:
                    first = ", ".join(repr(k) for k in sorted(bad)[:3])
                    why = (f"upstream {d.name}: {len(bad)} key(s) failed a blocking check "
                           f"({first}{', …' if len(bad) > 3 else ''})")
                    blocked.update(dict.fromkeys(keys, why))
        for name in whole:
            consumed = consumed_watermarks(conn, a.name, keys, name)
            since: dict[str, int | None] = {}
            for k in keys:
                kinds = by_key[k].kinds if k in by_key else frozenset()
                only_this = by_key.get(k) is not None and by_key[k].status == "stale" and all(
                    r.kind == ReasonKind.ALL_OF_CHANGED and r.upstream == name
                    for r in by_key[k].reasons) and bool(kinds)
                since[k] = consumed.get(k) if only_this else None
                inputs[k][(name, ALL)] = str(marks[name])
            all_of[_param(a, name)] = AllOfInput(name, marks[name], since)
        for d in a.deps:
            if isinstance(d.mapping, AllOf):
                continue
            up = d.resolved
            assert up is not None, f"unresolved dependency {d}: use a Definitions object"
            wanted: dict[str, list[str]] = {}
            for k in keys:
                if isinstance(d.mapping, Identity):
                    wanted[k] = [k]
                else:
                    u = d.mapping.upstream_keys(k, a.partitions, up.partitions)
                    wanted[k] = _all_keys(conn, up) if isinstance(u, AllKeys) else list(u)
            need = sorted({u for us in wanted.values() for u in us})
            found = self._read_upstream(conn, up, need)
            bad = checking.blocking_failures(conn, up.name, up.blocking_checks, need)
            per_key: dict[str, Any] = {}
            single = d.mapping.single
            for k, us in wanted.items():
                missing = [u for u in us if u not in found]
                if missing:
                    why = f"upstream {up.name}[{missing[0]!r}] has no value" + (
                        f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                    (failed if up.source else blocked)[k] = why
                elif held := [u for u in us if u in bad]:
                    blocked[k] = f"upstream {up.name}[{held[0]!r}] check failed: " + \
                        ", ".join(bad[held[0]])
                for u in us:
                    inputs[k][(up.name, u)] = found[u].data_version if u in found else MISSING
                per_key[k] = found[us[0]].value if single and us and us[0] in found else \
                    {u: found[u].value for u in us if u in found}
            values[d.param_name] = per_key
        return inputs, values, all_of, blocked, failed

    def _read_upstream(self, conn: psycopg.Connection, up: Asset, keys: list[str]
                       ) -> dict[str, Stored]:
        if not up.source:
            return store_of(up).read(conn, up.name, keys)
        return read_source(conn, up, keys, self.defs.resource_values, self.flow_run_id)

    def _start(self, conn: psycopg.Connection, a: Asset, keys: list[str],
               by_key: Mapping[str, KeyStatus], report: AssetReport) -> _Batch:
        """Read a batch's inputs, serve what the cache has, and start computing the rest:
        at once in this process, or submitted to the task runner (Dask) when the run has
        one — the batch is then finished (recorded) when its result comes back."""
        started_at = _now()
        inputs, values, all_of, blocked, failed = self._read_inputs(conn, a, keys, by_key)
        conn.commit()  # no snapshot or lock held while computing
        report.blocked.update(blocked)
        runnable = [k for k in keys if k not in blocked and k not in failed]
        code = a.code_version
        ckeys = {k: partition_cache_key(a.name, k, code, inputs[k]) for k in runnable}
        hits: dict[str, Output] = {}
        if a.cache:
            # A key that failed last time is retried for real, never served from the cache.
            probe = {k: ck for k, ck in ckeys.items()
                     if not (k in by_key and by_key[k].status == "failed")}
            hits = self.cache.lookup(probe)
            if hits:
                _progress("%s: %d key(s) served from the per-partition cache, not computed "
                          "(%s)", a.name, len(hits), keys_label(sorted(hits)))
        misses = [k for k in runnable if k not in hits]
        results: dict[str, Output | Failure] = {k: Failure(e) for k, e in failed.items()}
        results.update(hits)
        batch = _Batch(a, keys, inputs, values, blocked, ckeys, set(hits), results, started_at)
        if misses:
            ctx = BatchContext(
                a.name, misses, a.partitions,
                {k: by_key[k].kinds if k in by_key else frozenset() for k in misses},
                {r: self.defs.resource_values[r] for r in a.resources}, self.flow_run_id,
                {n: AllOfInput(h.asset, h.watermark, {k: h.since[k] for k in misses})
                 for n, h in all_of.items()},
            )
            upstream = {n: {k: v[k] for k in misses if k in v} for n, v in values.items()}
            if self._submit_factory is not None:
                batch.future = self._submit_factory(a)(
                    ctx=ctx, upstream=upstream, label=keys_label(ctx.keys))
            else:
                batch.computed = self._compute(a, ctx, upstream)
        return batch

    def _finish(self, conn: psycopg.Connection, batch: _Batch, report: AssetReport) -> None:
        """Record a started batch (its values, records and claim releases in one
        transaction), then run the asset's checks on it."""
        a, results = batch.asset, batch.results
        computed = batch.computed
        if batch.future is not None:
            computed = _resolved(batch.future, a, [k for k in batch.ckeys
                                                   if k not in batch.cached])
        if computed:
            results.update(computed)
            if a.cache:
                self.cache.store({k: (batch.ckeys[k], o) for k, o in computed.items()
                                  if isinstance(o, Output)})
        self._record(conn, a, results, batch.inputs, batch.started_at, report,
                     cached=batch.cached)
        if batch.blocked:
            with conn.transaction():
                claims.release(conn, a.name, list(batch.blocked), self.holder)
        checks = self.defs.checks_of(a.name)
        done = {k: o.value for k, o in results.items() if isinstance(o, Output)}
        if checks and done:
            self.check(conn, a, checks, done,
                       {n: {k: v[k] for k in done if k in v} for n, v in batch.values.items()},
                       report)

    # -- checks ------------------------------------------------------------------------------

    def check(self, conn: psycopg.Connection, a: Asset,
              checks: Sequence[checking.AssetCheck], done: Mapping[str, Any],
              upstream: Mapping[str, Mapping[str, Any]], report: AssetReport) -> None:
        """Evaluate `checks` on the keys in `done` (their current values) and record each
        result against the key's current materialization."""
        mats = checking.current_materializations(conn, a.name, list(done))
        conn.commit()  # no snapshot held while the checks run
        keys = [k for k in done if k in mats]
        for check in checks:
            evaluated = self._evaluate(check, a, keys, done, upstream)
            with conn.transaction():
                checking.record(conn, check, evaluated, mats, self.flow_run_id)
            tally = report.checks.setdefault(check.name, {o.value: 0 for o in
                                                          checking.CheckOutcome})
            bad: list[str] = []
            for k, e in evaluated.items():
                tally[e.outcome.value] += 1
                if e.blocks:
                    report.check_failed[k] = _joined(report.check_failed.get(k), e.label)
                    bad.append(k)
                elif e.outcome != checking.CheckOutcome.PASSED:
                    report.check_warnings[k] = _joined(report.check_warnings.get(k), e.label)
                    bad.append(k)
            if bad:
                report.check_failing.setdefault(check.name, []).extend(bad)
                _progress("%s: check %s %s on %d key(s) (%s)%s", a.name, check.name,
                          "failed (blocking)" if check.blocking else "warned", len(bad),
                          keys_label(bad), "" if not check.blocking
                          else "; their downstream will not run")

    def _evaluate(self, check: checking.AssetCheck, a: Asset, keys: list[str],
                  values: Mapping[str, Any], upstream: Mapping[str, Mapping[str, Any]]
                  ) -> dict[str, checking.Evaluation]:
        ctx = BatchContext(a.name, list(keys), a.partitions, {},
                           dict(self.defs.resource_values), self.flow_run_id)
        if self._check_task_factory is None:
            return run_check(check, a, ctx, values, upstream)
        task = self._check_task_factory(check)
        return task(asset=a, ctx=ctx, values=values, upstream=upstream,
                    label=keys_label(keys))

    def _compute(self, a: Asset, ctx: BatchContext, upstream: dict[str, dict[str, Any]]
                 ) -> dict[str, Output | Failure]:
        if self._task_factory is None:
            with ctx.connected():
                return computing.run_batch(a, ctx, upstream)
        task = self._task_factory(a)
        return task(ctx=ctx, upstream=upstream, label=keys_label(ctx.keys))

    def _record(self, conn: psycopg.Connection, a: Asset,
                results: Mapping[str, Output | Failure], inputs: Mapping[str, dict],
                started_at: datetime, report: AssetReport, cached: set[str]) -> None:
        store = store_of(a)
        rows: list[Record] = []
        items: dict[str, tuple[Any, str]] = {}
        for k, out in results.items():
            if isinstance(out, Failure):
                rows.append(Record(k, None, inputs=inputs[k], status="failed",
                                   error=out.error, flow_run_id=self.flow_run_id,
                                   started_at=started_at,
                                   metadata={"attempts": out.attempts, **out.metadata}))
                continue
            version = out.data_version or store.version(out.value)
            items[k] = (out.value, version)
            # A store may describe its values (DataFrameStore: rows, date range, preview);
            # what the asset put in Output.metadata wins over it.
            meta = {**store.metadata(out.value), **out.metadata,
                    **({"cached": True} if k in cached else {})}
            rows.append(Record(k, version, inputs=inputs[k], metadata=meta or None,
                               flow_run_id=self.flow_run_id, started_at=started_at))
        with conn.transaction():
            before = _current_versions(conn, a.name, list(items))
            record_many(conn, a, rows)  # takes the asset's change-sequence lock
            store.write(conn, a.name, items)
            claims.release(conn, a.name, list(results), self.holder)
        changed = {k for k, (_, v) in items.items() if before.get(k) != v}
        self._changed.setdefault(a.name, set()).update(changed)
        for k, out in results.items():
            if isinstance(out, Failure):
                report.failed[k] = out.error
            elif k in cached:
                report.cached.append(k)
            else:
                report.ran.append(k)


@dataclass
class _Batch:
    """A batch between its start (inputs read, compute started) and its finish (recorded)."""

    asset: Asset
    keys: list[str]
    inputs: dict[str, dict]
    values: dict[str, dict[str, Any]]
    blocked: dict[str, str]
    ckeys: dict[str, str]
    cached: set[str]
    results: dict[str, Output | Failure]
    started_at: datetime
    computed: dict[str, Output | Failure] | None = None
    future: Any = None

    @property
    def ready(self) -> bool:
        """Finished computing (never asks the Prefect API: the task runner's own future)."""
        if self.future is None:
            return True
        inner = getattr(self.future, "wrapped_future", None)
        return bool(inner is not None and inner.done())


def _resolved(future: Any, a: Asset, keys: list[str]) -> dict[str, Output | Failure]:
    """A submitted batch's results; if the task itself failed (its worker died more often
    than the task runner retries, a result that could not travel back), each of its keys
    fails with that error — recorded, claim released, retried by the next run."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - the batch's keys fail, the run goes on
        error = f"{type(exc).__name__}: {exc}"[:2000]
        return {k: Failure(f"batch lost on the task runner: {error}") for k in keys}


def run_check(check: checking.AssetCheck, a: Asset, ctx: BatchContext,
              values: Mapping[str, Any], upstream: Mapping[str, Mapping[str, Any]]
              ) -> dict[str, checking.Evaluation]:
    """Evaluate one check over a batch (inside a Prefect task, or in-process)."""
    wants_conn = any(p in ("ctx", "context") for p in check.params)
    with ctx.connected() if wants_conn else nullcontext():
        return checking.evaluate(check, a, ctx.keys, values, upstream, ctx.resources,
                                 ctx.for_key)


def _joined(before: str | None, label: str) -> str:
    return f"{before}; {label}" if before else label


def _param(a: Asset, upstream: str) -> str:
    return next(d.param_name for d in a.deps if d.name == upstream)


def _load_source(conn: psycopg.Connection, up: Asset, keys: list[str],
                 resources: Mapping[str, Any], flow_run_id: str | None = None
                 ) -> dict[str, Stored]:
    """A source asset's rows for `keys`, each with its content version (nothing recorded)."""
    if up.fn is None:
        raise TypeError(f"source asset {up.name!r} has no loader: declare it with fn=")
    ctx = BatchContext(up.name, list(keys), up.partitions, {}, dict(resources), flow_run_id,
                       _conn=conn)
    rows = up.fn(ctx) if _wants_ctx(up.fn) else up.fn(list(keys))
    found: dict[str, Stored] = {}
    for k, v in dict(rows).items():
        out = v if isinstance(v, Output) else Output(v)
        found[k] = Stored(out.value, out.data_version or data_version(out.value))
    return found


def read_source(conn: psycopg.Connection, up: Asset, keys: list[str],
                resources: Mapping[str, Any], flow_run_id: str | None = None
                ) -> dict[str, Stored]:
    """Load a source asset's rows for `keys` and record what was read as its current
    observation. The keys come from the registry (or were validated against it): only the
    versions need recording, and observe() writes only those that changed."""
    found = _load_source(conn, up, keys, resources, flow_run_id)
    observe(conn, up, [(k, s.data_version) for k, s in found.items()])
    return found


OBSERVE_CHUNK = 5000


def sources_of(defs: Definitions, assets: Sequence[Asset]) -> list[Asset]:
    """The source assets the selection reads, directly or through other assets: what must be
    observed before planning, so an edited or new row counts even when only a downstream
    asset was selected."""
    names = [a.name for a in assets]
    return [a for a in defs.select(names, upstream=True) if a.source]


def observe_all(conn: psycopg.Connection, sources: Sequence[Asset],
                resources: Mapping[str, Any]) -> dict[str, int]:
    """Look at the outside world before planning, so an edit shows as stale: a source's
    `observer` (versions only, cheap) if it has one, else its loader over all its keys."""
    out: dict[str, int] = {}
    for a in sources:
        if a.observer is not None:
            changed = observe_sources(conn, [a]).get(a.name, [])
            out[a.name] = len(changed)
        elif a.fn is not None:
            every = a.keys(conn)
            n = 0
            for chunk in _chunks(every, OBSERVE_CHUNK):
                n += len(_observe_loaded(conn, a, chunk, resources))
            out[a.name] = n
    return {k: v for k, v in out.items() if v}


def _observe_loaded(conn: psycopg.Connection, a: Asset, keys: list[str],
                    resources: Mapping[str, Any]) -> list[str]:
    """Observe a loader-only source for some keys; returns the keys whose version changed."""
    found = _load_source(conn, a, keys, resources)
    return observe(conn, a, [(k, s.data_version) for k, s in found.items()])


def _current_versions(conn: psycopg.Connection, asset: str, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    return dict(conn.execute(
        "SELECT partition_key, data_version FROM partition_latest "
        "WHERE asset = %s AND partition_key = ANY(%b)", (asset, keys)).fetchall())


def _wants_ctx(fn: Any) -> bool:
    import inspect

    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] in ("ctx", "context")
