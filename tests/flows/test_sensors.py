"""The new-rows sensor's cursor logic on the real embedded PostgreSQL (no Prefect server:
a recording dispatcher stands where the events client and run_deployment would be)."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from flows import sensors
from talentflow import events
from talentflow.db import connect
from talentflow.partitions import registry
from talentflow.talent.entities import CANDIDATE, JOB


class Recorder:
    """Keeps what a tick hands on; can be told to fail like an unreachable server, or to die
    after delivering (in `flush`, i.e. after the events went out, before the cursor moves)."""

    def __init__(self, fail: bool = False, crash_in_flush: bool = False) -> None:
        self.events: list[events.PartitionEvent] = []
        self.batches: list[tuple[str, list[str], str]] = []
        self.fail = fail
        self.crash_in_flush = crash_in_flush
        self.flushes = 0

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        if self.fail:
            raise ConnectionError("Prefect API unreachable")
        self.events.extend(batch)

    def start_batch(self, ent, keys: list[str], idempotency_key: str) -> str:
        self.batches.append((ent.kind, list(keys), idempotency_key))
        return f"run-{len(self.batches)}"

    def flush(self) -> list[str]:
        self.flushes += 1
        if self.crash_in_flush:
            raise RuntimeError("process died before the cursor moved")
        return []


class SlowRecorder(Recorder):
    """Delivery that takes its time (a slow Prefect server): `inside` is set while it waits."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        self.inside.set()
        assert self.release.wait(20), "the test never released the slow delivery"
        super().send_events(batch)


def _add_candidates(db: str, ids: list[str], cv: str = "Python engineer") -> None:
    with psycopg.connect(db) as conn:
        for cid in ids:
            conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES (%s, %s, %s)",
                         (cid, f"name {cid}", cv))


def _position(db: str, ent=CANDIDATE) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT position FROM sensor_cursors WHERE name = %s",
                           (sensors.cursor_name(ent),)).fetchone()
    return row[0] if row else 0


def _seq(db: str, key: str, table: str = "candidates") -> int:
    with psycopg.connect(db) as conn:
        return conn.execute(f"SELECT change_seq FROM {table} WHERE id = %s", (key,)).fetchone()[0]


def _max_seq(db: str, table: str = "candidates") -> int:
    with psycopg.connect(db) as conn:
        return conn.execute(f"SELECT max(change_seq) FROM {table}").fetchone()[0]


def _pending(db: str) -> dict[str, int]:
    return {c["table"]: c["pending_rows"] for c in sensors.cursors()}


def _settled_position(db: str, ent=CANDIDATE, ticks: int = 5) -> int:
    """The watermark once idle ticks have let it land (it trails a batch by a tick, and only
    lands when no older transaction anywhere is still open)."""
    for _ in range(ticks):
        idle = Recorder()
        sensors.tick(dispatcher=idle)
        assert idle.events == [] and idle.batches == []
        if _position(db, ent) >= _max_seq(db, ent.table):
            break
        time.sleep(0.1)
    return _position(db, ent)


def test_summarize_keys_never_lists_them_all() -> None:
    assert sensors.summarize_keys([]) == "0 keys"
    assert sensors.summarize_keys(["c-1"]) == "1 key (c-1)"
    assert sensors.summarize_keys(["a", "b", "c"]) == "3 keys (a, b, c)"
    many = [f"c-{i}" for i in range(240)]
    assert sensors.summarize_keys(many) == "240 keys (c-0, c-1, c-2, …)"
    assert sensors.summarize_keys(many, shown=1) == "240 keys (c-0, …)"


def test_empty_tables_tick_to_nothing(db: str) -> None:
    rec = Recorder()
    result = sensors.tick(dispatcher=rec)
    assert result["events"] == 0 and result["batch_runs"] == []
    assert rec.events == [] and rec.batches == []
    assert set(result["tables"]) == {"candidates", "jobs"}


def test_new_rows_become_registered_keys_and_one_event_each(db: str, caplog) -> None:
    _add_candidates(db, ["c-1", "c-2", "c-3"])
    rec = Recorder()
    with caplog.at_level("INFO", logger="talentflow.sensor"):
        result = sensors.tick(dispatcher=rec)

    assert [e.key for e in rec.events] == ["c-1", "c-2", "c-3"]  # change_seq order
    assert {e.name for e in rec.events} == {"talentflow.candidate.registered"}
    with psycopg.connect(db) as conn:
        hashes = dict(conn.execute("SELECT id, content_hash FROM candidates").fetchall())
        assert registry.all_keys(conn, "candidates") == ["c-1", "c-2", "c-3"]
    assert {e.key: e.data_version for e in rec.events} == hashes
    assert result["tables"]["candidates"]["new_keys"] == 3
    assert result["tables"]["candidates"]["done_snapshot"]
    assert "candidates: 3 keys (c-1, c-2, c-3) -> 3 event(s)" in caplog.text
    assert _pending(db)["candidates"] == 0

    # Nothing new: the second tick emits nothing; the watermark lands on the last row.
    again = Recorder()
    assert sensors.tick(dispatcher=again)["events"] == 0
    assert again.events == []
    assert _settled_position(db) == _max_seq(db)


def test_real_change_emits_changed_and_no_op_update_emits_nothing(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    sensors.tick(dispatcher=Recorder())

    with psycopg.connect(db) as conn:
        before = conn.execute("SELECT change_seq, change_xid::text FROM candidates "
                              "WHERE id = 'c-2'").fetchone()
        # Same content written again: the trigger keeps change_seq AND change_xid.
        conn.execute("UPDATE candidates SET cv_text = cv_text, name = name WHERE id = 'c-2'")
        conn.execute("UPDATE candidates SET change_seq = 0, change_xid = '7' WHERE id = 'c-2'")
        after = conn.execute("SELECT change_seq, change_xid::text FROM candidates "
                             "WHERE id = 'c-2'").fetchone()
    assert after == before
    noop = Recorder()
    sensors.tick(dispatcher=noop)
    assert noop.events == []

    with psycopg.connect(db) as conn:
        old = conn.execute("SELECT content_hash FROM candidates WHERE id = 'c-2'").fetchone()[0]
        conn.execute("UPDATE candidates SET cv_text = 'Go engineer' WHERE id = 'c-2'")
        new, seq, xid, mine = conn.execute(
            "SELECT content_hash, change_seq, change_xid, pg_current_xact_id() "
            "FROM candidates WHERE id = 'c-2'").fetchone()
    assert seq > before[0] and xid == mine  # the writer's own transaction id
    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert [(e.key, e.name) for e in rec.events] == [("c-2", "talentflow.candidate.changed")]
    assert rec.events[0].data_version == new != old


def test_jobs_have_their_own_cursor_events_and_set(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, description) VALUES ('j-1', 'Dev', 'Go')")
    _add_candidates(db, ["c-1"])
    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert sorted((e.kind, e.set_name, e.key) for e in rec.events) == [
        ("candidate", "candidates", "c-1"), ("job", "jobs", "j-1")]
    assert _pending(db) == {"candidates": 0, "jobs": 0}
    assert _settled_position(db, JOB) >= _max_seq(db, "jobs")
    assert _settled_position(db, CANDIDATE) >= _max_seq(db, "candidates")


def test_burst_becomes_one_batch_run_instead_of_events(db: str) -> None:
    ids = [f"c-{i:03d}" for i in range(8)]
    _add_candidates(db, ids)
    # The first attempt dies after creating the run, before the cursor moved...
    crashed = Recorder(crash_in_flush=True)
    with pytest.raises(RuntimeError):
        sensors.tick(dispatcher=crashed, burst=5)
    assert _pending(db)["candidates"] == 8
    rec = Recorder()
    result = sensors.tick(dispatcher=rec, burst=5)
    assert rec.events == []
    assert len(rec.batches) == 1
    kind, keys, idem = rec.batches[0]
    assert (kind, keys) == ("candidate", ids)
    assert result["batch_runs"] == ["run-1"]
    with psycopg.connect(db) as conn:
        assert registry.count_keys(conn, "candidates") == 8
    assert _pending(db)["candidates"] == 0
    # ...and the retry asked for the run with the same idempotency key: the same run.
    assert crashed.batches == rec.batches
    assert idem.startswith(f"{sensors.SENSOR_NAME}:") and ":candidates:" in idem


def test_burst_size_comes_from_the_environment(db: str, monkeypatch) -> None:
    monkeypatch.setenv("TALENTFLOW_SENSOR_BURST", "2")
    _add_candidates(db, ["c-1", "c-2", "c-3"])
    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert len(rec.batches) == 1 and rec.events == []


def test_pages_walk_the_cursor_forward(db: str) -> None:
    ids = [f"c-{i}" for i in range(5)]
    _add_candidates(db, ids)
    rec = Recorder()
    result = sensors.tick(dispatcher=rec, page_size=2, burst=10)
    assert [e.key for e in rec.events] == ids
    assert result["tables"]["candidates"]["rows"] == 5
    assert _pending(db)["candidates"] == 0
    assert sensors.tick(dispatcher=Recorder())["events"] == 0


def test_failed_delivery_moves_nothing_and_the_retry_sends_the_same_events(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    with pytest.raises(ConnectionError):
        sensors.tick(dispatcher=Recorder(fail=True))
    assert _position(db) == 0 and _pending(db)["candidates"] == 2
    with psycopg.connect(db) as conn:
        assert registry.count_keys(conn, "candidates") == 0  # registered with the cursor move

    first, second = Recorder(crash_in_flush=True), Recorder()
    with pytest.raises(RuntimeError):
        sensors.tick(dispatcher=first)  # delivered, then died before the cursor moved
    sensors.tick(dispatcher=second)
    assert [e.id for e in first.events] == [e.id for e in second.events]
    assert [e.name for e in second.events] == ["talentflow.candidate.registered"] * 2


def test_pages_follow_transaction_ids_as_numbers(db: str) -> None:
    """The keyset is (change_xid, change_seq) compared as numbers: xid 9 comes before xid 10
    (as text it would come after, and a page ending at 10 would skip 9)."""
    with psycopg.connect(db) as conn:
        conn.execute("ALTER TABLE candidates DISABLE TRIGGER candidates_touch")
        for key, xid, seq in (("c-a", "10", 1), ("c-b", "9", 2), ("c-c", "100", 3)):
            conn.execute("INSERT INTO candidates (id, name, cv_text, change_xid, change_seq) "
                         "VALUES (%s, 'n', 'x', %s::xid8, %s)", (key, xid, seq))
        conn.execute("ALTER TABLE candidates ENABLE TRIGGER candidates_touch")
    rec = Recorder()
    sensors.tick(dispatcher=rec, page_size=1)
    assert [e.key for e in rec.events] == ["c-b", "c-a", "c-c"]


def test_a_crash_between_sending_and_the_cursor_commit_loses_nothing(db: str) -> None:
    """Events out, process dies, rows keep arriving: the retry re-sends exactly the page that
    was in flight (same ids, the server drops them), then the new rows, each once."""
    _add_candidates(db, ["c-1", "c-2", "c-3"])
    crashed = Recorder(crash_in_flush=True)
    with pytest.raises(RuntimeError):
        sensors.tick(dispatcher=crashed)
    assert [e.key for e in crashed.events] == ["c-1", "c-2", "c-3"]
    _add_candidates(db, ["c-4"])
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE candidates SET cv_text = 'Rust' WHERE id = 'c-2'")

    retry = Recorder()
    sensors.tick(dispatcher=retry)
    sent = [(e.key, e.change_seq) for e in retry.events]
    assert len(sent) == len(set(sent))  # nothing twice
    with psycopg.connect(db) as conn:
        now = set(conn.execute("SELECT id, change_seq FROM candidates").fetchall())
    assert now <= set(sent)  # every row's latest change handed on
    # The page that was in flight went out again under the same ids, as far as its rows still
    # hold that content (c-2 changed meanwhile: its new version is what counts).
    crashed_ids = {(e.key, e.change_seq): e.id for e in crashed.events}
    for e in retry.events:
        if (e.key, e.change_seq) in crashed_ids:
            assert e.id == crashed_ids[(e.key, e.change_seq)]
    assert {"c-1", "c-3"} <= {k for k, _ in crashed_ids} & {e.key for e in retry.events}
    assert sensors.tick(dispatcher=Recorder())["events"] == 0
    assert _pending(db)["candidates"] == 0


def test_a_write_still_in_flight_is_never_skipped(db: str) -> None:
    """change_seq is taken at write time, not commit time: the sensor must not read a later
    committed row and move past an earlier one that commits afterwards."""
    slow = psycopg.connect(db)
    try:
        _in_flight_writer_then_commit(db, slow)
    finally:
        slow.close()


def _in_flight_writer_then_commit(db: str, slow: psycopg.Connection) -> None:
    slow.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-slow', 'S', 'x')")
    n = slow.execute("SELECT change_seq FROM candidates WHERE id = 'c-slow'").fetchone()[0]
    _add_candidates(db, ["c-fast"])  # N+1, committed first
    assert _seq(db, "c-fast") == n + 1

    rec = Recorder()
    t0 = time.monotonic()
    result = sensors.tick(dispatcher=rec, entities=[CANDIDATE])
    assert time.monotonic() - t0 < 1.0  # nothing waited for the open writer
    assert not result["tables"]["candidates"]["skipped"]
    # The committed row went out; the open one did not, and the watermark stays below it.
    assert [e.key for e in rec.events] == ["c-fast"]
    for _ in range(3):
        assert sensors.tick(dispatcher=rec, entities=[CANDIDATE])["events"] == 0
    assert _position(db) < n

    slow.commit()
    sensors.tick(dispatcher=rec, entities=[CANDIDATE])
    assert [e.key for e in rec.events] == ["c-fast", "c-slow"]  # each exactly once
    assert _settled_position(db) == n + 1


def test_an_older_transaction_with_a_later_seq_does_not_hide_an_open_one(db: str) -> None:
    """Why the cursor is not "change_seq, for rows below the snapshot's xmin": T1 (older id)
    writes seq a, T2 writes a+1 and stays open, T1 writes a+2 and commits. Every committed
    row is older than every open transaction, yet a change_seq cursor moved to a+2 would
    lose a+1."""
    with psycopg.connect(db) as t1, psycopg.connect(db) as t2:
        _two_writers(db, t1, t2)


def _two_writers(db: str, t1: psycopg.Connection, t2: psycopg.Connection) -> None:
    t1.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-t1-a', 'A', 'x')")
    t2.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-t2', 'B', 'x')")
    t1.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-t1-b', 'C', 'x')")
    t1.commit()
    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert [e.key for e in rec.events] == ["c-t1-a", "c-t1-b"]
    assert _position(db) < _seq(db, "c-t1-b")
    t2.commit()
    sensors.tick(dispatcher=rec)
    assert [e.key for e in rec.events] == ["c-t1-a", "c-t1-b", "c-t2"]


def test_writers_are_never_blocked_by_a_slow_tick(db: str) -> None:
    """While a tick waits on Prefect, it holds no transaction and no lock on a source table:
    inserting, and updating the very rows being handed on, go through at once."""
    _add_candidates(db, ["c-1", "c-2"])
    slow = SlowRecorder()
    ticker = threading.Thread(target=sensors.tick, kwargs={"dispatcher": slow})
    ticker.start()
    try:
        assert slow.inside.wait(10), "the tick never reached delivery"
        with psycopg.connect(db) as conn:
            conn.execute("SET lock_timeout = '500ms'")  # blocked would be an error, not a hang
            t0 = time.monotonic()
            conn.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-3', 'n', 'x')")
            conn.execute("UPDATE candidates SET cv_text = 'Go' WHERE id = 'c-1'")
            conn.execute("LOCK TABLE candidates IN EXCLUSIVE MODE")  # no tick lock in the way
            conn.commit()
            assert time.monotonic() - t0 < 0.5
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%%' "
                "OR backend_xid IS NOT NULL)").fetchone()[0]
            assert others == 0  # the tick has no transaction open while it delivers
    finally:
        slow.release.set()
        ticker.join(20)
    assert [e.key for e in slow.events] == ["c-1", "c-2"]

    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert sorted((e.key, e.name) for e in rec.events) == [
        ("c-1", "talentflow.candidate.changed"), ("c-3", "talentflow.candidate.registered")]


def test_the_direct_batch_runs_before_the_cursor_moves(db: str, monkeypatch) -> None:
    """No server (LocalDispatcher) or no talent-batch deployment (PrefectDispatcher): the
    direct talent_batch runs before the cursor moves; if it dies, the page is run again."""
    calls: list[tuple[dict[str, list[str]], dict[str, int]]] = []
    fail = [True]

    def fake_direct(keys_by_kind: dict[str, list[str]]) -> list[str]:
        if not any(keys_by_kind.values()):
            return []
        calls.append(({k: sorted(v) for k, v in keys_by_kind.items()}, _pending(db)))
        keys_by_kind.clear()
        if fail[0]:
            raise RuntimeError("talent_batch crashed")
        return ["direct"]

    monkeypatch.setattr(sensors, "_run_batch_directly", fake_direct)
    _add_candidates(db, ["c-1", "c-2"])
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO jobs (id, title, description) VALUES ('j-1', 'Dev', 'Go')")

    with pytest.raises(RuntimeError):
        sensors.tick(dispatcher=sensors.LocalDispatcher())
    assert _pending(db) == {"candidates": 2, "jobs": 1}  # the page is not lost

    fail[0] = False
    result = sensors.tick(dispatcher=sensors.LocalDispatcher())
    assert result["batch_runs"] == ["direct"]
    # Both times: one batch over both tables, run while the cursor still had every row.
    expected = ({"candidate": ["c-1", "c-2"], "job": ["j-1"]},
                {"candidates": 2, "jobs": 1})
    assert calls == [expected, expected]
    assert _pending(db) == {"candidates": 0, "jobs": 0}

    # The same for a burst when talent-batch is not deployed.
    calls.clear()
    _add_candidates(db, ["c-3"])
    prefect = sensors.PrefectDispatcher()
    prefect._deployed = False
    result = sensors.tick(dispatcher=prefect, burst=0)
    assert calls == [({"candidate": ["c-3"]}, {"candidates": 1, "jobs": 0})]
    assert result["batch_runs"][-1] == "direct" and _pending(db)["candidates"] == 0


def test_a_tick_finding_its_table_busy_skips_it(db: str, monkeypatch) -> None:
    monkeypatch.setattr(sensors, "LOCK_TIMEOUT", "200ms")
    _add_candidates(db, ["c-1"])
    with psycopg.connect(db, autocommit=True) as other:  # another tick of candidates
        other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))",
                      (sensors._LOCK_CLASS, sensors.cursor_name(CANDIDATE)))
        rec = Recorder()
        result = sensors.tick(dispatcher=rec)
        assert result["tables"]["candidates"]["skipped"]
        assert not result["tables"]["jobs"]["skipped"]
        assert rec.events == [] and _pending(db)["candidates"] == 1
    sensors.tick(dispatcher=rec)
    assert [e.key for e in rec.events] == ["c-1"]


def test_concurrent_ticks_hand_each_row_on_once(db: str) -> None:
    _add_candidates(db, [f"c-{i}" for i in range(20)])
    recs = [Recorder() for _ in range(4)]
    threads = [threading.Thread(target=sensors.tick, kwargs={"dispatcher": r, "burst": 100})
               for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [e.key for r in recs for e in r.events]
    assert sorted(keys) == sorted(f"c-{i}" for i in range(20))


def test_ticks_racing_writers_lose_nothing_and_repeat_nothing(db: str) -> None:
    """Writers commit out of change_seq order (held open for random times) while ticks run
    in a loop: every row's latest change is handed on, no (key, change_seq) twice."""
    rng = random.Random(7)
    recs = [Recorder() for _ in range(3)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def ticker(rec: Recorder) -> None:
        try:
            while not stop.is_set():
                sensors.tick(dispatcher=rec, burst=1000, page_size=7, entities=[CANDIDATE])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def writer(w: int, delays: list[float]) -> None:
        with psycopg.connect(db) as conn:
            for i, delay in enumerate(delays):
                key = f"c-{w}-{i % 12}"
                conn.execute(
                    "INSERT INTO candidates (id, name, cv_text) VALUES (%s, 'n', %s) "
                    "ON CONFLICT (id) DO UPDATE SET cv_text = EXCLUDED.cv_text",
                    (key, f"cv {i}"))
                time.sleep(delay)  # the transaction stays open while others commit
                conn.commit()

    tickers = [threading.Thread(target=ticker, args=(r,)) for r in recs]
    writers = [threading.Thread(target=writer, args=(w, [rng.uniform(0, 0.03)
                                                          for _ in range(25)]))
               for w in range(4)]
    for t in tickers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in tickers:
        t.join()
    assert not errors, errors
    last = Recorder()
    sensors.tick(dispatcher=last, entities=[CANDIDATE])

    sent = [(e.key, e.change_seq) for r in [*recs, last] for e in r.events]
    assert len(sent) == len(set(sent))
    with psycopg.connect(db) as conn:
        rows = set(conn.execute("SELECT id, change_seq FROM candidates").fetchall())
    assert len(rows) == 48 and rows <= set(sent)
    assert _pending(db)["candidates"] == 0


def test_a_cursor_with_only_a_position_starts_there(db: str) -> None:
    """A cursor row written with just `position` (an operator, or one from before migration
    0006) means "every change_seq up to there is done"."""
    _add_candidates(db, ["c-1", "c-2"])
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO sensor_cursors (name, position) VALUES (%s, %s)",
                     (sensors.cursor_name(CANDIDATE), _seq(db, "c-1")))
    assert _pending(db)["candidates"] == 1
    rec = Recorder()
    sensors.tick(dispatcher=rec)
    assert [e.key for e in rec.events] == ["c-2"]


def test_cursors_report_pending_rows(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    before = {c["table"]: c for c in sensors.cursors()}
    assert before["candidates"]["pending_rows"] == 2
    sensors.tick(dispatcher=Recorder())
    after = {c["table"]: c for c in sensors.cursors()}
    assert after["candidates"]["pending_rows"] == 0
    assert after["candidates"]["done_snapshot"] and not after["candidates"]["batch_in_progress"]
    assert _settled_position(db) == _max_seq(db)


def test_cursors_count_a_half_done_batch(db: str) -> None:
    _add_candidates(db, [f"c-{i}" for i in range(5)])
    crashed = Recorder(crash_in_flush=True)
    with pytest.raises(RuntimeError):
        sensors.tick(dispatcher=crashed, page_size=2)
    status = {c["table"]: c for c in sensors.cursors()}["candidates"]
    assert status["batch_in_progress"] and status["pending_rows"] == 5
    rec = Recorder()
    sensors.tick(dispatcher=rec, page_size=2)
    assert [e.key for e in rec.events] == [f"c-{i}" for i in range(5)]


def test_notify_wakes_the_listener_which_ticks(db: str, monkeypatch) -> None:
    ticks: list[dict] = []
    got_one = threading.Event()
    monkeypatch.setattr(sensors, "tick", lambda **_: {"events": 1})

    def on_tick(result: dict) -> None:
        ticks.append(result)
        got_one.set()

    stop = threading.Event()
    listener = threading.Thread(
        target=sensors.listen_and_tick, args=(stop,), kwargs={"fallback_s": 3600,
                                                              "on_tick": on_tick}, daemon=True)
    listener.start()
    try:
        assert got_one.wait(5), "no tick on connecting"  # catches up what it did not hear
        time.sleep(0.3)
        got_one.clear()
        _add_candidates(db, ["c-1"])
        assert got_one.wait(5), "no tick after an insert"
    finally:
        stop.set()
        listener.join(5)
    assert len(ticks) == 2


def test_the_listener_soon_retries_a_skipped_table(db: str, monkeypatch) -> None:
    ticks: list[float] = []
    two = threading.Event()

    def fake_tick(**_):
        ticks.append(time.monotonic())
        if len(ticks) >= 2:
            two.set()
        return {"events": 0, "tables": {"candidates": {"skipped": "busy" if len(ticks) == 1
                                                       else None}}}

    monkeypatch.setattr(sensors, "tick", fake_tick)
    stop = threading.Event()
    listener = threading.Thread(target=sensors.listen_and_tick, args=(stop,),
                                kwargs={"fallback_s": 3600}, daemon=True)
    listener.start()
    try:
        assert two.wait(5), "a skipped table waited for the fallback timer"
        time.sleep(1.5)
    finally:
        stop.set()
        listener.join(5)
    assert len(ticks) == 2  # retried once, then back to waiting for NOTIFY


def test_default_dispatcher_follows_the_prefect_api(monkeypatch) -> None:
    monkeypatch.setattr(events, "api_url", lambda: None)
    assert isinstance(sensors.default_dispatcher(), sensors.LocalDispatcher)
    monkeypatch.setattr(events, "api_url", lambda: "http://127.0.0.1:1/api")
    assert isinstance(sensors.default_dispatcher(), sensors.PrefectDispatcher)


def test_event_names_resources_and_ids() -> None:
    e = events.PartitionEvent(kind="candidate", set_name="candidates", key="c.with.dots",
                              change="registered", data_version="abc", change_seq=7, source="db")
    assert e.name == "talentflow.candidate.registered"
    assert e.resource()["prefect.resource.id"] == "talentflow.candidate.c.with.dots"
    assert e.resource()[events.KEY_LABEL] == "c.with.dots"
    assert events.key_from_resource_id("candidate", "talentflow.candidate.c.with.dots") == (
        "c.with.dots")
    same = events.PartitionEvent(**{**e.__dict__, "change": "changed"})
    later = events.PartitionEvent(**{**e.__dict__, "change_seq": 8})
    assert e.id == same.id != later.id  # the id names the change, not the wording
    with pytest.raises(ValueError):
        events.event_name("candidate", "deleted")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.key_from_resource_id("job", "talentflow.candidate.c-1")


def test_the_page_query_is_an_index_range_scan(db: str) -> None:
    """The query a tick runs reads an index range, not the table, once the table is big."""
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO candidates (id, name, cv_text) "
            "SELECT 'c-' || g, 'n', 'cv ' || g FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE candidates")
    with connect(vector=False) as conn:
        # An idle tick's question: nothing in flight, nothing new since the last snapshot.
        xmax = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()[0]
        snap = f"{xmax}:{xmax}:"
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN " + sensors._PAGE_SQL.format(table="candidates"),
            {"position": 0, "done": snap, "cur": snap, "after_xid": "0", "after_seq": 0,
             "limit": sensors.DEFAULT_PAGE_SIZE}).fetchall())
    assert "Index" in plan and "Seq Scan" not in plan, plan
    assert "Sort" not in plan, plan  # the index's (change_xid, change_seq) order is the page's


def test_the_sensor_flow_runs_one_tick(db: str, monkeypatch) -> None:
    """The deployed entrypoint: a Prefect flow run around one tick (ephemeral API here)."""
    rec = Recorder()
    monkeypatch.setattr(sensors, "default_dispatcher", lambda: rec)
    _add_candidates(db, ["c-1"])
    result = sensors.new_rows_sensor()
    assert result["events"] == 1 and [e.key for e in rec.events] == ["c-1"]
