"""The planner's selection logic (talentflow/engine/run.py), function by function, written
after a mutation run (tests/README.md): which keys a selection names, on which partition set,
what it pulls in downstream and upstream, and which states a run takes. The end-to-end tests
(test_materialize.py) only see the keys that finally ran."""

from __future__ import annotations

import psycopg
import pytest

from talentflow.engine.run import (
    LEASE_EXPIRED,
    RUN_STATES,
    KeySelection,
    _in_range,
    _reads_any,
    candidate_keys,
    root_keys,
    wanted,
)
from talentflow.partitions import (
    AllOf,
    Asset,
    Dep,
    InvalidPartitionKey,
    KeyStatus,
    Reason,
    ReasonKind,
    StaticPartitions,
    TimeWindowPartitions,
)
from talentflow.partitions.assets import AllKeys

LETTERS = StaticPartitions("letters", ["a", "b", "c", "d"])
NUMBERS = StaticPartitions("numbers", ["1", "2", "3"])


def _status(state: str, *kinds: ReasonKind) -> KeyStatus:
    return KeyStatus("k", state, tuple(Reason(kind, kind.value) for kind in kinds))


def test_wanted_takes_the_states_asked_for() -> None:
    assert wanted(_status("missing"), RUN_STATES)
    assert wanted(_status("stale", ReasonKind.CODE_CHANGED), RUN_STATES)
    assert not wanted(_status("materialized"), RUN_STATES)
    assert not wanted(_status("running", ReasonKind.CLAIMED), RUN_STATES)
    assert not wanted(_status("missing"), frozenset({"failed"}))


def test_lease_expired_selects_only_failures_whose_run_died() -> None:
    died = _status("failed", ReasonKind.LEASE_EXPIRED)
    raised = _status("failed", ReasonKind.FAILED)
    only = frozenset({LEASE_EXPIRED})
    assert wanted(died, only) and not wanted(raised, only)
    # A key whose run died is not failed-and-expired unless its status says failed.
    assert not wanted(_status("stale", ReasonKind.LEASE_EXPIRED), only)
    assert wanted(raised, frozenset({"failed"})) and wanted(died, frozenset({"failed"}))


def test_a_selection_is_narrowed_by_keys_range_or_prefix() -> None:
    assert not KeySelection().narrowed
    assert not KeySelection(only=frozenset({"failed"}), partition_set="letters").narrowed
    assert KeySelection(keys=()).narrowed  # an empty list of keys is still a list
    assert KeySelection(keys=("a",)).narrowed
    assert KeySelection(key_from="a").narrowed and KeySelection(key_to="b").narrowed
    assert KeySelection(prefix="a").narrowed


def test_ranges_are_inclusive_in_byte_order() -> None:
    keys = ["a", "b", "c", "d"]
    assert _in_range(LETTERS, keys, KeySelection(key_from="b", key_to="c")) == ["b", "c"]
    assert _in_range(LETTERS, keys, KeySelection(key_from="b")) == ["b", "c", "d"]
    assert _in_range(LETTERS, keys, KeySelection(key_to="b")) == ["a", "b"]
    assert _in_range(LETTERS, keys, KeySelection()) == keys


def test_time_window_ranges_follow_the_calendar_not_the_spelling() -> None:
    days = TimeWindowPartitions.daily("days", "2026-01-28", fmt="%d-%m-%Y", end="2026-02-05")
    keys = ["28-01-2026", "29-01-2026", "30-01-2026", "31-01-2026", "01-02-2026",
            "02-02-2026", "03-02-2026", "04-02-2026"]
    sel = KeySelection(key_from="30-01-2026", key_to="02-02-2026")
    assert _in_range(days, keys, sel) == ["30-01-2026", "31-01-2026", "01-02-2026",
                                          "02-02-2026"]
    assert _in_range(days, keys, KeySelection(key_from="03-02-2026")) == keys[-2:]
    assert _in_range(days, keys, KeySelection(key_to="29-01-2026")) == keys[:2]
    with pytest.raises(InvalidPartitionKey):
        _in_range(days, keys, KeySelection(key_from="2026-01-30"))


def test_reads_any() -> None:
    assert _reads_any(AllKeys(), set())
    assert _reads_any(["a", "b"], {"b"}) and not _reads_any(["a"], {"b"})
    assert not _reads_any([], {"a"})


@pytest.fixture
def conn(db: str):
    with psycopg.connect(db, autocommit=True) as connection:
        yield connection


def test_root_keys_validate_keys_against_the_sets(conn: psycopg.Connection) -> None:
    a, n = Asset("a", LETTERS), Asset("n", NUMBERS)
    # Keys find the set that holds them, duplicates collapse, order kept.
    assert root_keys(conn, [a, n], KeySelection(keys=("c", "a", "c"))) == ("letters",
                                                                         ["c", "a"])
    assert root_keys(conn, [a, n], KeySelection(keys=("2",))) == ("numbers", ["2"])
    # A key no set holds names every set tried.
    with pytest.raises(InvalidPartitionKey) as err:
        root_keys(conn, [a, n], KeySelection(keys=("zz",)))
    assert err.value.set_name == "letters/numbers" and err.value.key == "zz"
    assert "'letters'" in err.value.reason and "'numbers'" in err.value.reason
    # One set only: its own error, as is.
    with pytest.raises(InvalidPartitionKey) as err:
        root_keys(conn, [a], KeySelection(keys=("a", "zz")))
    assert (err.value.set_name, err.value.key) == ("letters", "zz")
    # An explicit set: the keys must be on it.
    assert root_keys(conn, [a, n], KeySelection(keys=("1",), partition_set="numbers")) == \
        ("numbers", ["1"])
    with pytest.raises(InvalidPartitionKey):
        root_keys(conn, [a, n], KeySelection(keys=("a",), partition_set="numbers"))
    with pytest.raises(InvalidPartitionKey) as err:
        root_keys(conn, [a], KeySelection(keys=("a",), partition_set="numbers"))
    assert err.value.reason == "no selected asset is partitioned by this set"
    assert (err.value.set_name, err.value.key) == ("numbers", "a")


def test_root_keys_ranges_and_prefixes_need_one_set(conn: psycopg.Connection) -> None:
    a, n = Asset("a", LETTERS), Asset("n", NUMBERS)
    assert root_keys(conn, [a], KeySelection(key_from="b", key_to="c")) == ("letters",
                                                                          ["b", "c"])
    assert root_keys(conn, [a], KeySelection(prefix="d")) == ("letters", ["d"])
    assert root_keys(conn, [a], KeySelection(prefix="d", key_to="c")) == ("letters", [])
    with pytest.raises(ValueError, match=r"needs one partition set; the selected assets use "
                                         r"\['letters', 'numbers'\]"):
        root_keys(conn, [a, n], KeySelection(prefix="a"))
    assert root_keys(conn, [a, n], KeySelection(prefix="2", partition_set="numbers")) == \
        ("numbers", ["2"])


def test_candidate_keys_pull_in_downstream_and_upstream(conn: psycopg.Connection) -> None:
    up = Asset("up", LETTERS)
    mid = Asset("mid", LETTERS, deps=[up])  # Identity
    whole = Asset("whole", NUMBERS, deps=[Dep(mid, AllOf())])  # reads every key of mid
    side = Asset("side", NUMBERS)
    assets = [up, mid, whole, side]
    # Not narrowed: every asset, every key.
    assert candidate_keys(conn, assets, KeySelection()) == (
        {"up": None, "mid": None, "whole": None, "side": None}, {"up", "mid", "whole", "side"})
    # Keys of the letters: both letter assets take them; the AllOf reader takes all its keys;
    # an unrelated asset on another set takes none.
    out, roots = candidate_keys(conn, assets, KeySelection(keys=("b",)))
    assert roots == {"up", "mid"}
    assert out == {"up": ["b"], "mid": ["b"], "whole": None, "side": []}
    # Keys of the numbers: the letters that `whole` reads are every key (upstream, AllOf).
    out, roots = candidate_keys(conn, [up, mid, whole], KeySelection(keys=("2",)))
    assert roots == {"whole"} and out == {"up": None, "mid": None, "whole": ["2"]}
    # Upstream on another set, by a key mapping: exactly the keys read.
    first = Asset("first", NUMBERS)
    reader = Asset("reader", LETTERS, deps=[Dep(first, _ToNumbers())])
    out, roots = candidate_keys(conn, [first, reader], KeySelection(keys=("b", "c")))
    assert roots == {"reader"} and out == {"first": ["2", "3"], "reader": ["b", "c"]}
    # ... and downstream on another set, by the same mapping: the keys that read them.
    out, roots = candidate_keys(conn, [first, reader], KeySelection(keys=("3",)))
    assert roots == {"first"} and out == {"first": ["3"], "reader": ["c"]}


class _ToNumbers:
    """letters -> numbers: 'a' reads '1', 'b' reads '2', ... ('d' reads nothing)."""

    def upstream_keys(self, key, downstream, upstream):
        return [str("abc".index(key) + 1)] if key in "abc" else []

    def describe(self) -> str:
        return "letters->numbers"


def test_root_keys_without_keys_name_no_key_in_errors(conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidPartitionKey) as err:
        root_keys(conn, [Asset("a", LETTERS)], KeySelection(prefix="a", partition_set="nums"))
    assert (err.value.set_name, err.value.key) == ("nums", "")


def test_root_keys_combined_error_lists_each_set(conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidPartitionKey) as err:
        root_keys(conn, [Asset("a", LETTERS), Asset("n", NUMBERS)], KeySelection(keys=("zz",)))
    parts = err.value.reason.split("; ")
    assert [p.split(":", 1)[0] for p in parts] == [
        "invalid partition key 'zz' for set 'letters'",
        "invalid partition key 'zz' for set 'numbers'"]


def test_root_keys_ranges_of_a_time_window_set_follow_the_calendar(
        conn: psycopg.Connection) -> None:
    days = TimeWindowPartitions.daily("days", "2026-01-30", fmt="%d-%m-%Y", end="2026-02-03")
    got = root_keys(conn, [Asset("d", days)],
                    KeySelection(key_from="31-01-2026", key_to="01-02-2026"))
    assert got == ("days", ["31-01-2026", "01-02-2026"])


class _DToThree:
    """letters -> numbers: 'd' reads '3'."""

    def upstream_keys(self, key, downstream, upstream):
        return ["3"] if key == "d" else []

    def describe(self) -> str:
        return "d->3"


def test_candidate_keys_follow_every_dependency(conn: psycopg.Connection) -> None:
    first = Asset("first", NUMBERS)
    reader = Asset("reader", LETTERS, deps=[Dep(first, _ToNumbers())])
    # On the same set as its upstream, off the selection's set: the upstream's keys as they
    # are, then what its other dependency adds.
    both = Asset("both", LETTERS, deps=[reader, Dep(first, _DToThree())])
    out, roots = candidate_keys(conn, [first, reader, both], KeySelection(keys=("3",)))
    assert roots == {"first"}
    assert out == {"first": ["3"], "reader": ["c"], "both": ["c", "d"]}
    # An upstream that got no keys pulls nothing in, and does not stop the next dependency.
    up = Asset("up", LETTERS)
    side = Asset("side", NUMBERS)
    agg = Asset("agg", NUMBERS, deps=[Dep(side, AllOf())])
    after = Asset("after", NUMBERS, deps=[Dep(side, AllOf()), Dep(up, AllOf())])
    out, roots = candidate_keys(conn, [up, side, agg, after], KeySelection(keys=("b",)))
    assert roots == {"up"}
    # (side is then read whole by `after`: every key of it, upstream.)
    assert out == {"up": ["b"], "side": None, "agg": [], "after": None}


def test_candidate_keys_map_across_time_windows_and_registered_keys(
        conn: psycopg.Connection) -> None:
    from talentflow.partitions import DynamicPartitions, TimeWindowOffset, registry

    hours = TimeWindowPartitions.hourly("hours", "2026-03-01", end="2026-03-04")
    days = TimeWindowPartitions.daily("days", "2026-03-01", end="2026-03-04")
    h = Asset("h", hours)
    d = Asset("d", days, deps=[Dep(h, TimeWindowOffset(0))])  # the hours of its day
    after = Asset("after", days, deps=[Dep(d, TimeWindowOffset(-1))])  # the day before
    out, roots = candidate_keys(conn, [h, d, after],
                                KeySelection(keys=("2026-03-02T10:00+00:00",)))
    assert roots == {"h"}
    assert out == {"h": ["2026-03-02T10:00+00:00"], "d": ["2026-03-02"],
                   "after": ["2026-03-03"]}
    # A downstream on registered keys: its keys come from the registry.
    registry.add_keys(conn, "dyn_letters", ["a", "c", "z"])
    first = Asset("first", NUMBERS)
    dyn = Asset("dyn", DynamicPartitions("dyn_letters"), deps=[Dep(first, _ToNumbers())])
    out, _ = candidate_keys(conn, [first, dyn], KeySelection(keys=("3",)))
    assert out == {"first": ["3"], "dyn": ["c"]}


# ---------------------------------------------------------------- one run's plan, directly

def _run_and_asset():
    from talentflow.engine import Definitions
    from talentflow.engine.run import Run
    from talentflow.partitions import DynamicPartitions

    a = Asset("planned", DynamicPartitions("plan_keys"))
    return Run(Definitions(assets=[a]), flow_run_id="run-me"), a


def test_plan_counts_what_is_up_to_date_and_names_who_holds_the_rest(
        conn: psycopg.Connection) -> None:
    from talentflow.engine.run import AssetReport
    from talentflow.partitions import Record, claims, record_many, registry

    run, a = _run_and_asset()
    keys = ["k1", "k2", "k3", "k4", "k5"]
    registry.add_keys(conn, "plan_keys", keys)
    record_many(conn, a, [Record(k, f"v{k}", inputs={}) for k in ("k1", "k2")])
    claims.claim(conn, "planned", ["k3"], holder="other", flow_run_id="run-42", lease_s=300)
    claims.claim(conn, "planned", ["k4"], holder="no-run", flow_run_id=None, lease_s=300)
    report = AssetReport("planned")
    report.up_to_date = 7  # counts add up over the stages of a run
    todo, by_key = run._plan(conn, a, None, RUN_STATES, False, report)
    assert todo == ["k5"]
    assert report.up_to_date == 9
    assert report.held == {"k3": "run-42", "k4": "running"}
    # Only keys that are not up to date are planned as objects (1M current keys cost none).
    assert set(by_key) == {"k3", "k4", "k5"} and by_key["k5"].status == "missing"
    assert run._plan(conn, a, [], RUN_STATES, False, report) == ([], {})


def test_recheck_drops_keys_another_run_finished_under_our_claim(
        conn: psycopg.Connection) -> None:
    from talentflow.engine.run import AssetReport
    from talentflow.partitions import Record, claims, record_many, registry

    run, a = _run_and_asset()
    registry.add_keys(conn, "plan_keys", ["k1", "k2", "k3"])
    report = AssetReport("planned")
    todo, by_key = run._plan(conn, a, None, RUN_STATES, False, report)
    assert todo == ["k1", "k2", "k3"] and report.up_to_date == 0
    report.up_to_date = 4  # counted before, by other stages
    got = claims.claim(conn, "planned", todo, holder=run.holder, flow_run_id="run-me")
    # Meanwhile another run recorded k2 (its claim came and went before ours).
    record_many(conn, a, [Record("k2", "v2", inputs={})])
    run._recheck(conn, a, got, by_key, report)
    assert got.claimed == ["k1", "k3"]
    assert report.up_to_date == 5
    # Our claim on k2 is given back; k1 and k3 stay ours, as the status now says.
    held = conn.execute("SELECT partition_key FROM partition_claims WHERE holder = %s "
                        "ORDER BY 1", [run.holder]).fetchall()
    assert [k for (k,) in held] == ["k1", "k3"]
    assert by_key["k2"].status == "missing"  # the plan's own view of k2 is left as it was
    assert by_key["k1"].status == "missing"
    # Nothing finished meanwhile: nothing changes.
    run._recheck(conn, a, got, by_key, report)
    assert got.claimed == ["k1", "k3"] and report.up_to_date == 5


class _Everything:
    """Any key reads every key of its upstream."""

    def upstream_keys(self, key, downstream, upstream):
        return AllKeys()

    def describe(self) -> str:
        return "everything"


def test_candidate_keys_upstream_through_windows_all_keys_and_several_readers(
        conn: psycopg.Connection) -> None:
    from talentflow.partitions import TimeWindowOffset

    hours = TimeWindowPartitions.hourly("hours", "2026-03-01", end="2026-03-03")
    days = TimeWindowPartitions.daily("days", "2026-03-01", end="2026-03-03")
    h = Asset("h", hours)
    d = Asset("d", days, deps=[Dep(h, TimeWindowOffset(0))])
    out, roots = candidate_keys(conn, [h, d], KeySelection(keys=("2026-03-02",)))
    assert roots == {"d"}
    assert out == {"h": [f"2026-03-02T{i:02d}:00+00:00" for i in range(24)],
                   "d": ["2026-03-02"]}
    # A reader whose mapping says "every key": all of the upstream.
    u = Asset("u", NUMBERS)
    r = Asset("r", LETTERS, deps=[Dep(u, _Everything())])
    assert candidate_keys(conn, [u, r], KeySelection(keys=("a",)))[0]["u"] is None
    # The upstream read by a reader's second dependency, and by two readers (one of them
    # reading all of it): every dependency of every reader counts.
    other = Asset("other", NUMBERS)
    two = Asset("two", LETTERS, deps=[Dep(other, _DToThree()), Dep(u, _ToNumbers())])
    out, _ = candidate_keys(conn, [other, u, two], KeySelection(keys=("a", "d")))
    assert out == {"other": ["3"], "u": ["1"], "two": ["a", "d"]}
    whole = Asset("whole", LETTERS, deps=[Dep(u, AllOf())])
    out, _ = candidate_keys(conn, [u, whole, two, other], KeySelection(keys=("a",)))
    assert out["u"] is None and out["other"] == []
