"""The new-rows sensor's cursor logic on the real embedded PostgreSQL (no Prefect server:
a recording dispatcher stands where the events client and run_deployment would be)."""

from __future__ import annotations

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
    """Keeps what a tick hands on; can be told to fail like an unreachable server."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[events.PartitionEvent] = []
        self.batches: list[tuple[str, list[str], str]] = []
        self.fail = fail

    def send_events(self, batch: list[events.PartitionEvent]) -> None:
        if self.fail:
            raise ConnectionError("Prefect API unreachable")
        self.events.extend(batch)

    def start_batch(self, ent, keys: list[str], idempotency_key: str) -> str:
        self.batches.append((ent.kind, list(keys), idempotency_key))
        return f"run-{len(self.batches)}"

    def after_commit(self) -> list[str]:
        return []


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


def _max_seq(db: str, table: str = "candidates") -> int:
    with psycopg.connect(db) as conn:
        return conn.execute(f"SELECT max(change_seq) FROM {table}").fetchone()[0]


def test_empty_tables_tick_to_nothing(db: str) -> None:
    rec = Recorder()
    result = sensors.tick(dispatcher=rec)
    assert result["events"] == 0 and result["batch_runs"] == []
    assert rec.events == [] and rec.batches == []
    assert set(result["tables"]) == {"candidates", "jobs"}


def test_new_rows_become_registered_keys_and_one_event_each(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2", "c-3"])
    rec = Recorder()
    result = sensors.tick(dispatcher=rec)

    assert [e.key for e in rec.events] == ["c-1", "c-2", "c-3"]  # change_seq order
    assert {e.name for e in rec.events} == {"talentflow.candidate.registered"}
    with psycopg.connect(db) as conn:
        hashes = dict(conn.execute("SELECT id, content_hash FROM candidates").fetchall())
        assert registry.all_keys(conn, "candidates") == ["c-1", "c-2", "c-3"]
    assert {e.key: e.data_version for e in rec.events} == hashes
    assert result["tables"]["candidates"]["new_keys"] == 3
    assert _position(db) == _max_seq(db)

    # Nothing new: the second tick emits nothing and keeps the cursor.
    again = Recorder()
    assert sensors.tick(dispatcher=again)["events"] == 0
    assert again.events == []
    assert _position(db) == _max_seq(db)


def test_real_change_emits_changed_and_no_op_update_emits_nothing(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    sensors.tick(dispatcher=Recorder())

    with psycopg.connect(db) as conn:
        # Same content written again: the trigger keeps change_seq, so no event follows.
        conn.execute("UPDATE candidates SET cv_text = cv_text, name = name WHERE id = 'c-2'")
    noop = Recorder()
    sensors.tick(dispatcher=noop)
    assert noop.events == []

    with psycopg.connect(db) as conn:
        old = conn.execute("SELECT content_hash FROM candidates WHERE id = 'c-2'").fetchone()[0]
        conn.execute("UPDATE candidates SET cv_text = 'Go engineer' WHERE id = 'c-2'")
        new = conn.execute("SELECT content_hash FROM candidates WHERE id = 'c-2'").fetchone()[0]
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
    assert _position(db, JOB) == _max_seq(db, "jobs")
    assert _position(db, CANDIDATE) == _max_seq(db, "candidates")


def test_burst_becomes_one_batch_run_instead_of_events(db: str) -> None:
    ids = [f"c-{i:03d}" for i in range(8)]
    _add_candidates(db, ids)
    rec = Recorder()
    result = sensors.tick(dispatcher=rec, burst=5)
    assert rec.events == []
    assert len(rec.batches) == 1
    kind, keys, idem = rec.batches[0]
    assert (kind, keys) == ("candidate", ids)
    assert result["batch_runs"] == ["run-1"]
    with psycopg.connect(db) as conn:
        assert registry.count_keys(conn, "candidates") == 8
    assert _position(db) == _max_seq(db)
    # The idempotency key names the change_seq range, so a retried tick gets the same run.
    assert idem.endswith(f"candidates:{_max_seq(db) - 7}-{_max_seq(db)}")


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
    assert _position(db) == _max_seq(db)


def test_failed_delivery_moves_nothing_and_the_retry_sends_the_same_events(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    with pytest.raises(ConnectionError):
        sensors.tick(dispatcher=Recorder(fail=True))
    assert _position(db) == 0
    with psycopg.connect(db) as conn:
        assert registry.count_keys(conn, "candidates") == 0  # rolled back with the cursor

    first, second = Recorder(), Recorder()
    sensors.tick(dispatcher=first)
    # Rewind (as if the commit had failed after delivery): same rows, same event ids.
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE sensor_cursors SET position = 0")
    sensors.tick(dispatcher=second)
    assert [e.id for e in first.events] == [e.id for e in second.events]


def test_a_write_still_in_flight_is_never_skipped(db: str, monkeypatch) -> None:
    """change_seq is taken at write time, not commit time: the sensor must not read a later
    committed row and move past an earlier one that commits afterwards."""
    monkeypatch.setattr(sensors, "LOCK_TIMEOUT", "300ms")
    slow = psycopg.connect(db)
    slow.execute("INSERT INTO candidates (id, name, cv_text) VALUES ('c-slow', 'S', 'x')")
    _add_candidates(db, ["c-fast"])  # a later change_seq, committed first

    rec = Recorder()
    result = sensors.tick(dispatcher=rec, entities=[CANDIDATE])
    assert result["tables"]["candidates"]["skipped"]  # waited, then gave up: moved nothing
    assert rec.events == [] and _position(db) == 0

    # With the slow writer committing while the tick waits, the tick sees both rows.
    monkeypatch.setattr(sensors, "LOCK_TIMEOUT", "10s")
    threading.Timer(0.3, slow.commit).start()
    t0 = time.monotonic()
    sensors.tick(dispatcher=rec, entities=[CANDIDATE])
    assert time.monotonic() - t0 >= 0.2
    assert sorted(e.key for e in rec.events) == ["c-fast", "c-slow"]
    slow.close()


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


def test_cursors_report_pending_rows(db: str) -> None:
    _add_candidates(db, ["c-1", "c-2"])
    before = {c["table"]: c for c in sensors.cursors()}
    assert before["candidates"]["pending_rows"] == 2
    sensors.tick(dispatcher=Recorder())
    after = {c["table"]: c for c in sensors.cursors()}
    assert after["candidates"]["pending_rows"] == 0
    assert after["candidates"]["position"] == _max_seq(db)


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
    time.sleep(0.5)  # let it LISTEN
    _add_candidates(db, ["c-1"])
    assert got_one.wait(5), "no tick after an insert"
    stop.set()
    listener.join(5)
    assert ticks


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


def test_tick_connection_uses_the_change_seq_index(db: str) -> None:
    """The query a tick runs is an index range scan once the table is big enough."""
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO candidates (id, name, cv_text) "
            "SELECT 'c-' || g, 'n', 'cv ' || g FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE candidates")
    with connect(vector=False) as conn:
        seq = conn.execute("SELECT max(change_seq) FROM candidates").fetchone()[0]
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT id, change_seq, content_hash FROM candidates "
            "WHERE change_seq > %s ORDER BY change_seq LIMIT 10000", (seq,)).fetchall())
    assert "candidates_change_seq" in plan, plan


def test_the_sensor_flow_runs_one_tick(db: str, monkeypatch) -> None:
    """The deployed entrypoint: a Prefect flow run around one tick (ephemeral API here)."""
    rec = Recorder()
    monkeypatch.setattr(sensors, "default_dispatcher", lambda: rec)
    _add_candidates(db, ["c-1"])
    result = sensors.new_rows_sensor()
    assert result["events"] == 1 and [e.key for e in rec.events] == ["c-1"]
