"""Partition sets: static, time windows (DST, month ends), dynamic, multi (any N)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentflow.partitions import (
    DynamicPartitions,
    InvalidPartitionKey,
    MultiPartitions,
    StaticPartitions,
    TimeWindowPartitions,
    codec,
    registry,
)
from tests.support.dst import offset_changes

BERLIN = "Europe/Berlin"


def _durations(s: TimeWindowPartitions, keys: list[str]) -> list[timedelta]:
    return [end.astimezone(UTC) - start.astimezone(UTC) for start, end in map(s.window, keys)]


# -- static ------------------------------------------------------------------------------------


def test_static_keys_validate_and_errors_name_set_key_reason() -> None:
    s = StaticPartitions("regions", ["eu", "us", "a|b", "😀"])
    assert s.keys() == ["eu", "us", "a|b", "😀"]
    assert s.validate("eu") == "eu" and s.contains("😀") and not s.contains("EU")
    with pytest.raises(InvalidPartitionKey) as err:
        s.validate("EU")
    assert str(err.value) == (
        "invalid partition key 'EU' for set 'regions': not one of the 4 declared keys"
    )
    with pytest.raises(ValueError, match="twice"):
        StaticPartitions("dup", ["a", "a"])
    with pytest.raises(InvalidPartitionKey, match="empty key"):
        StaticPartitions("bad", [""])


# -- time windows: the cases people get wrong ----------------------------------------------------


def test_daily_berlin_across_both_dst_changes_has_every_date_once() -> None:
    s = TimeWindowPartitions("days", "2026-03-27", "daily", BERLIN)
    keys = s.keys(now=datetime(2026, 10, 28))
    dates = [date.fromisoformat(k) for k in keys]
    assert dates == [date(2026, 3, 27) + timedelta(days=i) for i in range(len(dates))]
    assert dates[-1] == date(2026, 10, 27)
    by_key = dict(zip(keys, _durations(s, keys), strict=True))
    assert by_key["2026-03-29"] == timedelta(hours=23)
    assert by_key["2026-10-25"] == timedelta(hours=25)
    assert by_key["2026-06-01"] == timedelta(hours=24)


def test_hourly_berlin_spring_forward_skips_the_missing_hour() -> None:
    s = TimeWindowPartitions("hours", "2026-03-29", "hourly", BERLIN)
    keys = s.keys(now=datetime(2026, 3, 30))
    assert len(keys) == 23
    assert keys[:4] == ["2026-03-29T00:00+01:00", "2026-03-29T01:00+01:00",
                        "2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00"]
    assert set(_durations(s, keys)) == {timedelta(hours=1)}
    with pytest.raises(InvalidPartitionKey, match="not the start of a 'hourly' window"):
        s.validate("2026-03-29T02:00+01:00")  # 02:00 does not exist that night


def test_hourly_berlin_fall_back_repeats_the_hour_with_distinct_keys() -> None:
    s = TimeWindowPartitions("hours", "2026-10-25", "hourly", BERLIN)
    keys = s.keys(now=datetime(2026, 10, 26))
    assert len(keys) == 25 and len(set(keys)) == 25
    assert keys[2:5] == ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00",
                         "2026-10-25T03:00+01:00"]
    assert set(_durations(s, keys)) == {timedelta(hours=1)}
    start, end = s.window("2026-10-25T02:00+02:00")
    assert (start.utcoffset(), end.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))
    assert s.key_for(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "2026-10-25T02:00+02:00"
    assert s.key_for(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "2026-10-25T02:00+01:00"


def test_fixed_time_cron_ticks_once_on_the_repeated_hour_and_after_the_gap() -> None:
    s = TimeWindowPartitions("nightly", "2026-03-27", "30 2 * * *", BERLIN)
    spring = s.keys(now=datetime(2026, 3, 31))
    assert spring == ["2026-03-27T02:30+01:00", "2026-03-28T02:30+01:00",
                      "2026-03-29T03:30+02:00"]  # 02:30 did not exist: ticks after the gap
    autumn = TimeWindowPartitions("nightly", "2026-10-24", "30 2 * * *", BERLIN)
    keys = autumn.keys(now=datetime(2026, 10, 28))
    assert [k[:10] for k in keys] == ["2026-10-24", "2026-10-25", "2026-10-26"]
    assert keys[1] == "2026-10-25T02:30+02:00"  # once, at the first pass


def test_monthly_from_jan_31_and_month_end_schedules() -> None:
    s = TimeWindowPartitions("months", "2026-01-31", "monthly")
    assert s.keys(now=datetime(2026, 6, 15)) == [
        "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]
    assert _durations(s, ["2026-02-01"]) == [timedelta(days=28)]
    ends = TimeWindowPartitions("month_ends", "2026-01-31", "0 0 L * *", fmt="%Y-%m-%d")
    assert ends.keys(now=datetime(2026, 6, 1)) == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    leap = TimeWindowPartitions("leap", "2028-01-31", "0 0 L * *", fmt="%Y-%m-%d")
    assert leap.keys(now=datetime(2028, 4, 1))[:2] == ["2028-01-31", "2028-02-29"]


def test_weekly_minute_end_offset_and_shift() -> None:
    w = TimeWindowPartitions("weeks", "2026-01-01", "weekly")  # a Thursday
    assert w.keys(now=datetime(2026, 1, 20)) == ["2026-01-05", "2026-01-12"]
    m = TimeWindowPartitions("minutes", "2026-03-29T01:58", "minute", BERLIN)
    assert m.keys(now=datetime(2026, 3, 29, 3, 1)) == [
        "2026-03-29T01:58+01:00", "2026-03-29T01:59+01:00", "2026-03-29T03:00+02:00"]
    d = TimeWindowPartitions("days", "2026-01-01", end_offset=1)
    assert d.keys(now=datetime(2026, 1, 3, 12)) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    d2 = TimeWindowPartitions("days", "2026-01-01", end_offset=-1)
    assert d2.keys(now=datetime(2026, 1, 3, 12)) == ["2026-01-01"]
    d3 = TimeWindowPartitions("days", "2026-01-01", end_offset=3)
    assert d3.keys(now=datetime(2026, 1, 2, 12))[-1] == "2026-01-04"
    assert d.shift("2026-01-05", -2) == "2026-01-03" and d.shift("2026-01-01", -1) is None
    assert d.shift("2026-01-31", 1) == "2026-02-01"


def test_time_key_errors_name_set_key_and_reason() -> None:
    s = TimeWindowPartitions("days", "2026-01-01", "daily", BERLIN)
    for key, reason in [
        ("2026-1-5", "not the start of a 'daily' window"),  # parses, but not the canonical key
        ("yesterday", "does not match the key format '%Y-%m-%d'"),
        ("2025-12-31", "before the set's first window '2026-01-01'"),
    ]:
        with pytest.raises(InvalidPartitionKey) as err:
            s.validate(key)
        assert f"{key!r}" in str(err.value) and "'days'" in str(err.value)
        assert reason in str(err.value)


def test_lossy_custom_format_is_refused() -> None:
    with pytest.raises(ValueError, match="same key"):  # by the constructor, not keys()
        TimeWindowPartitions("hours", "2026-01-01", "hourly", fmt="%Y-%m-%d")


def test_bad_declarations() -> None:
    with pytest.raises(ValueError, match="cron"):
        TimeWindowPartitions("x", "2026-01-01", "fortnightly")
    with pytest.raises(ValueError, match="timezone"):
        TimeWindowPartitions("x", "2026-01-01", "daily", "Mars/Olympus")


# -- time windows: properties around real DST transitions --------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "America/Havana", "Pacific/Chatham", "Asia/Kolkata", "UTC"]


TRANSITIONS = {z: offset_changes(z) for z in ZONES}
SPANS = {"minute": timedelta(hours=3), "hourly": timedelta(days=2),
         "0 */3 * * *": timedelta(days=3), "daily": timedelta(days=6),
         "30 2 * * *": timedelta(days=6), "0 0 * * *": timedelta(days=6),
         "weekly": timedelta(days=40)}


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), schedule=st.sampled_from(sorted(SPANS)), data=st.data())
def test_windows_tile_time_around_transitions(zone: str, schedule: str, data) -> None:
    moment = data.draw(st.sampled_from(TRANSITIONS[zone]))
    back = timedelta(hours=data.draw(st.integers(min_value=0, max_value=40)))
    start = (moment - back).astimezone(ZoneInfo(zone))
    s = TimeWindowPartitions("w", start, schedule, zone)
    now = start + SPANS[schedule]
    keys = s.keys(now=now)
    assert keys and len(keys) == len(set(keys))
    # The windows around the transition: contiguous, positive, and each key round-trips.
    middle = max(0, len(keys) // 2 - 20)
    sample = keys[middle: middle + 40]
    windows = [s.window(k) for k in sample]
    for (_, a_end), (b_start, _) in zip(windows, windows[1:], strict=False):
        assert a_end.astimezone(UTC) == b_start.astimezone(UTC)
    for k, (w_start, w_end) in zip(sample, windows, strict=True):
        assert w_end.astimezone(UTC) > w_start.astimezone(UTC)
        assert s.key_for(w_start) == k and s.contains(k, now=now)
    if schedule in ("daily", "0 0 * * *"):
        dates = [date.fromisoformat(k[:10]) for k in keys]
        assert all((b - a).days == 1 for a, b in zip(dates, dates[1:], strict=False))


# -- dynamic and multi --------------------------------------------------------------------------


def test_dynamic_keys_live_in_postgres(conn) -> None:
    s = DynamicPartitions("docs")
    registry.add_keys(conn, "docs", ["b", "a"])
    assert s.keys(conn) == ["a", "b"]
    assert s.validate("zzz") == "zzz"  # without a connection: storable is all it can check
    assert s.contains("a", conn=conn) and not s.contains("zzz", conn=conn)
    with pytest.raises(InvalidPartitionKey, match="not registered"):
        s.validate("zzz", conn=conn)
    with pytest.raises(TypeError, match="pass conn"):
        s.keys()


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_multi_with_any_number_of_dimensions(n: int) -> None:
    dims = {f"d{i}": StaticPartitions(f"s{i}", [f"v{i}a", f"v{i}|b"]) for i in range(n)}
    s = MultiPartitions(dims)
    keys = s.keys()
    assert len(keys) == 2**n and len(set(keys)) == 2**n
    first = keys[0]
    assert list(s.values(first)) == [f"d{i}" for i in range(n)]  # dimension order kept
    for k in keys:
        assert s.validate(k) == k
        assert codec.encode(list(s.values(k).values())) == k
    assert s.key(**{f"d{i}": f"v{i}a" for i in range(n)}) == first


def test_multi_errors_name_the_dimension() -> None:
    s = MultiPartitions({"day": TimeWindowPartitions("days", "2026-01-01"),
                         "region": StaticPartitions("regions", ["eu", "us"])}, name="sales")
    assert s.validate("2026-01-02|eu")
    with pytest.raises(InvalidPartitionKey) as err:
        s.validate("2026-01-02|mars")
    assert str(err.value) == ("invalid partition key '2026-01-02|mars' for set 'sales': "
                              "dimension 'region': not one of the 2 declared keys")
    with pytest.raises(InvalidPartitionKey, match="has 3 dimension value"):
        s.validate("2026-01-02|eu|x")
    with pytest.raises(ValueError):
        MultiPartitions({})


def test_multi_with_dynamic_dimension_needs_the_registry(conn) -> None:
    s = MultiPartitions({"cand": DynamicPartitions("cands"), "job": DynamicPartitions("jobs")})
    registry.add_keys(conn, "cands", ["c1", "c2"])
    registry.add_keys(conn, "jobs", ["j|1"])
    assert s.keys(conn) == ["c1|j\\|1", "c2|j\\|1"]
    assert s.contains("c1|j\\|1", conn=conn) and not s.contains("c3|j\\|1", conn=conn)


def test_dynamic_multi_keys_are_registered_rows_with_named_dimensions(db: str) -> None:
    import psycopg

    from talentflow.partitions import DynamicMultiPartitions, StaticPartitions, registry

    models = StaticPartitions("gen_models", ["m-small", "m-large"])
    drafts = DynamicMultiPartitions("gen_drafts", ["combo", "template", "model"],
                                    validators={"model": models})
    key = drafts.key("c|1", "t\\2", "m-small")
    assert key == "c\\|1|t\\\\2|m-small"
    assert drafts.values(key) == {"combo": "c|1", "template": "t\\2", "model": "m-small"}
    assert drafts.key(model="m-large", combo="c", template="t") == "c|t|m-large"

    with pytest.raises(InvalidPartitionKey, match=r"has 2 dimension value\(s\), the set has 3 "
                       r"\(combo, template, model\)"):
        drafts.values("c|t")
    with pytest.raises(InvalidPartitionKey, match=r"has 2 dimension value\(s\), the set has 3"):
        drafts.key("c", "t")
    with pytest.raises(InvalidPartitionKey,
                       match=r"'c\|t\|m-huge'.*dimension 'model': not one of"):
        drafts.key("c", "t", "m-huge")
    with pytest.raises(InvalidPartitionKey, match=r"missing dimensions \['template'\]"):
        drafts.key(combo="c", model="m-small")

    with psycopg.connect(db) as conn:
        with pytest.raises(InvalidPartitionKey, match="not registered"):
            drafts.validate(key, conn=conn)
        registry.add_keys(conn, "gen_drafts", [key])
        assert drafts.validate(key, conn=conn) == key
        assert drafts.keys(conn) == [key]
    with pytest.raises(ValueError, match="named twice"):
        DynamicMultiPartitions("x", ["a", "a"])
    with pytest.raises(ValueError, match="unknown dimensions"):
        DynamicMultiPartitions("x", ["a"], validators={"b": models})
