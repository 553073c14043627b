"""Time windows as complete as Dagster's TimeWindowPartitionsDefinition (issue 11, item 1).

One test per gap: an exclusive end date, exclusions (cron, dates, datetimes), Dagster's naming
of the repeated DST hour, keys of windows that have not ended, formats refused at
construction, weekly windows on any weekday, and named schedules equal to their cron.
Expected keys are written out by hand from Dagster's documented rules and its own tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentflow.partitions import InvalidPartitionKey, MultiPartitions, StaticPartitions
from talentflow.partitions.sets import DstNaming, TimeWindowPartitions, Weekday
from tests.support.dst import offset_changes

CHICAGO = "America/Chicago"
BERLIN = "Europe/Berlin"


# -- end: exclusive, like Dagster's `end` ------------------------------------------------------


def test_end_date_is_exclusive_and_caps_keys_shift_and_lookups() -> None:
    s = TimeWindowPartitions("days", "2026-01-01", end="2026-01-05")
    later = datetime(2026, 6, 1)
    assert s.keys(now=later) == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    # An end inside a window drops that window: it would end after `end`.
    midday = TimeWindowPartitions("days", "2026-01-01", end=datetime(2026, 1, 5, 12))
    assert midday.keys(now=later)[-1] == "2026-01-04"
    # Before the end, keys follow `now` and end_offset as usual; the end still caps them.
    ahead = TimeWindowPartitions("days", "2026-01-01", end_offset=2, end="2026-01-05")
    assert ahead.keys(now=datetime(2026, 1, 2, 12)) == ["2026-01-01", "2026-01-02",
                                                        "2026-01-03"]
    assert ahead.keys(now=datetime(2026, 1, 4, 12)) == ["2026-01-01", "2026-01-02",
                                                        "2026-01-03", "2026-01-04"]
    with pytest.raises(InvalidPartitionKey, match="ends after the set's end 2026-01-05"):
        s.validate("2026-01-05", now=later)
    with pytest.raises(InvalidPartitionKey):
        s.window("2026-01-05")
    assert s.shift("2026-01-04", 1) is None and s.shift("2026-01-03", 1) == "2026-01-04"
    assert s.key_for(datetime(2026, 1, 5, 6, tzinfo=UTC)) is None
    assert s.key_for(datetime(2026, 1, 4, 6, tzinfo=UTC)) == "2026-01-04"
    assert s.keys_between(datetime(2026, 1, 3, tzinfo=UTC),
                          datetime(2026, 2, 1, tzinfo=UTC)) == ["2026-01-03", "2026-01-04"]
    # Hourly in a zone: the end is a wall time there.
    h = TimeWindowPartitions("hours", "2026-01-01T22:00", "hourly", BERLIN, end="2026-01-02")
    assert h.keys(now=later) == ["2026-01-01T22:00+01:00", "2026-01-01T23:00+01:00"]
    with pytest.raises(ValueError, match="not after start"):
        TimeWindowPartitions("days", "2026-01-05", end="2026-01-05")


def test_end_and_new_options_leave_existing_descriptions_alone() -> None:
    plain = TimeWindowPartitions("days", "2026-01-01")
    assert plain.describe() == "time:days:0 0 * * *:UTC:%Y-%m-%d:2026-01-01T00:00:00+00:00"
    bounded = TimeWindowPartitions("days", "2026-01-01", end="2026-02-01",
                                   exclusions=["0 0 * * 6,0"])
    assert bounded.describe() == (
        "time:days:0 0 * * *:UTC:%Y-%m-%d:2026-01-01T00:00:00+00:00"
        ":end=2026-02-01T00:00:00+00:00:exclude=cron=0 0 * * 6,0"
    )


# -- exclusions ------------------------------------------------------------------------------


def test_exclusions_by_cron_skip_weekends() -> None:
    # 2026-01-01 is a Thursday; the 3rd/4th and 10th/11th are weekends.
    s = TimeWindowPartitions("days", "2026-01-01", exclusions=["0 0 * * 6,0"])
    assert s.keys(now=datetime(2026, 1, 13)) == [
        "2026-01-01", "2026-01-02", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08",
        "2026-01-09", "2026-01-12"]
    with pytest.raises(InvalidPartitionKey) as err:
        s.validate("2026-01-03", now=datetime(2026, 2, 1))
    assert str(err.value) == ("invalid partition key '2026-01-03' for set 'days': excluded by "
                              "the excluded cron '0 0 * * 6,0'")
    # Dagster does not stretch Friday over the weekend: every window is (tick, next tick).
    assert s.window("2026-01-02") == (datetime(2026, 1, 2, tzinfo=ZoneInfo("UTC")),
                                      datetime(2026, 1, 3, tzinfo=ZoneInfo("UTC")))
    assert s.shift("2026-01-02", 1) == "2026-01-05" and s.shift("2026-01-05", -1) == "2026-01-02"
    assert s.shift("2026-01-01", 5) == "2026-01-08" and s.shift("2026-01-12", -6) == "2026-01-02"
    assert s.key_for(datetime(2026, 1, 3, 12, tzinfo=UTC)) is None
    assert s.keys_between(datetime(2026, 1, 2, 12, tzinfo=UTC),
                          datetime(2026, 1, 5, 12, tzinfo=UTC)) == ["2026-01-02", "2026-01-05"]
    # end_offset counts windows with a key: on Saturday, the next one is Monday.
    ahead = TimeWindowPartitions("days", "2026-01-01", end_offset=1, exclusions=["0 0 * * 6,0"])
    assert ahead.keys(now=datetime(2026, 1, 10, 12))[-2:] == ["2026-01-09", "2026-01-12"]
    behind = TimeWindowPartitions("days", "2026-01-01", end_offset=-1,
                                  exclusions=["0 0 * * 6,0"])
    assert behind.keys(now=datetime(2026, 1, 13))[-1] == "2026-01-09"
    # The cron is matched against window starts: on an hourly set it drops the 00:00 hours only.
    hours = TimeWindowPartitions("hours", "2026-01-03", "hourly", exclusions=["0 0 * * 6,0"])
    keys = hours.keys(now=datetime(2026, 1, 4))
    assert len(keys) == 23 and keys[0] == "2026-01-03T01:00+00:00"
    # A set whose first ticks are excluded starts at the first kept one.
    weekend_start = TimeWindowPartitions("days", "2026-01-03", exclusions=["0 0 * * 6,0"])
    assert weekend_start.keys(now=datetime(2026, 1, 7)) == ["2026-01-05", "2026-01-06"]
    with pytest.raises(InvalidPartitionKey, match="excluded by"):
        weekend_start.validate("2026-01-03", now=datetime(2026, 2, 1))


def test_exclusions_by_date_and_datetime() -> None:
    s = TimeWindowPartitions("days", "2026-12-23",
                             exclusions=[date(2026, 12, 25), date(2026, 12, 26)])
    assert s.keys(now=datetime(2026, 12, 29)) == ["2026-12-23", "2026-12-24", "2026-12-27",
                                                  "2026-12-28"]
    with pytest.raises(InvalidPartitionKey, match="excluded by the excluded date 2026-12-25"):
        s.validate("2026-12-25", now=datetime(2027, 1, 1))
    # A date drops every window starting on it (local date); a datetime (Dagster) one window.
    by_day = TimeWindowPartitions("hours", "2026-01-01T22:00", "hourly", BERLIN,
                                  exclusions=[date(2026, 1, 2)])
    assert by_day.keys(now=datetime(2026, 1, 3, 2)) == [
        "2026-01-01T22:00+01:00", "2026-01-01T23:00+01:00", "2026-01-03T00:00+01:00",
        "2026-01-03T01:00+01:00"]
    one_hour = TimeWindowPartitions("hours", "2026-01-02T04:00", "hourly", BERLIN,
                                    exclusions=[datetime(2026, 1, 2, 5)])
    assert one_hour.keys(now=datetime(2026, 1, 2, 7)) == [
        "2026-01-02T04:00+01:00", "2026-01-02T06:00+01:00"]
    with pytest.raises(ValueError, match="is not the start of a window"):
        TimeWindowPartitions("days", "2026-01-01", exclusions=[datetime(2026, 1, 2, 5)])
    with pytest.raises(ValueError, match="not a 5-field cron"):
        TimeWindowPartitions("days", "2026-01-01", exclusions=["2026-12-25"])
    with pytest.raises(TypeError, match="not one value"):
        TimeWindowPartitions("days", "2026-01-01", exclusions="0 0 * * 0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="leave no window"):
        TimeWindowPartitions("days", "2026-01-01", exclusions=["0 0 * * *"])


# -- DST fall-back: Dagster's naming --------------------------------------------------------


def test_dst_fall_back_dagster_naming_appends_the_offset_to_the_second_pass() -> None:
    # America/Chicago falls back at 02:00 CDT (-05:00) to 01:00 CST (-06:00) on 2024-11-03.
    # Dagster's own test (US/Central, 2021-11-07, fmt %Y-%m-%d-%H:%M) lists
    # ..., "01:00", "01:00-0600", "02:00", ...: the second 01:00 carries its (CST) offset.
    s = TimeWindowPartitions("hours", "2024-11-03", "hourly", CHICAGO, fmt="%Y-%m-%d-%H:%M",
                             dst_naming=DstNaming.DAGSTER)
    now = datetime(2024, 11, 3, 4, 1)  # wall time in Chicago
    assert s.keys(now=now) == ["2024-11-03-00:00", "2024-11-03-01:00", "2024-11-03-01:00-0600",
                               "2024-11-03-02:00", "2024-11-03-03:00"]
    # (In UTC: PEP 495 makes a repeated wall time unequal to everything in other zones.)
    assert s.window("2024-11-03-01:00")[0].astimezone(UTC) == datetime(2024, 11, 3, 6, tzinfo=UTC)
    start, end = s.window("2024-11-03-01:00-0600")
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2024, 11, 3, 7, tzinfo=UTC), datetime(2024, 11, 3, 8, tzinfo=UTC))
    assert s.key_for(datetime(2024, 11, 3, 7, 30, tzinfo=UTC)) == "2024-11-03-01:00-0600"
    assert s.shift("2024-11-03-01:00", 1) == "2024-11-03-01:00-0600"
    assert s.validate("2024-11-03-01:00-0600", now=now) == "2024-11-03-01:00-0600"
    for wrong in ("2024-11-03-01:00-0500", "2024-11-03-02:00-0600"):  # Dagster never writes
        with pytest.raises(InvalidPartitionKey, match="not the start of a 'hourly' window"):
            s.validate(wrong, now=now)
    # Europe/Berlin, 2026-10-25: 02:00 CEST then 02:00 CET (+0100).
    b = TimeWindowPartitions("hours", "2026-10-25T01:00", "hourly", BERLIN,
                             fmt="%Y-%m-%d-%H:%M", dst_naming=DstNaming.DAGSTER)
    assert b.keys(now=datetime(2026, 10, 25, 4)) == [
        "2026-10-25-01:00", "2026-10-25-02:00", "2026-10-25-02:00+0100", "2026-10-25-03:00"]
    # The same format under the default naming gives two windows one key: refused up front.
    with pytest.raises(ValueError, match="dst_naming=DstNaming.DAGSTER"):
        TimeWindowPartitions("hours", "2024-11-03", "hourly", CHICAGO, fmt="%Y-%m-%d-%H:%M")
    # Dagster appends only for crons whose hour field is '*': a daily set never gets it.
    d = TimeWindowPartitions("days", "2024-11-02", "daily", CHICAGO, dst_naming=DstNaming.DAGSTER)
    assert d.keys(now=datetime(2024, 11, 5)) == ["2024-11-02", "2024-11-03", "2024-11-04"]


# -- validate: windows that have not ended ----------------------------------------------------


def test_validate_rejects_keys_of_windows_that_have_not_ended() -> None:
    s = TimeWindowPartitions("days", "2026-01-01")
    with pytest.raises(InvalidPartitionKey) as err:
        s.validate("2099-01-01")  # the real clock
    assert "its window has not ended at" in str(err.value)
    now = datetime(2026, 1, 5, 12)
    assert s.validate("2026-01-04", now=now) == "2026-01-04"
    with pytest.raises(InvalidPartitionKey, match="the latest key is '2026-01-04'"):
        s.validate("2026-01-05", now=now)
    current = TimeWindowPartitions("days", "2026-01-01", end_offset=1)
    assert current.validate("2026-01-05", now=now) == "2026-01-05"
    with pytest.raises(InvalidPartitionKey, match="has not ended"):
        current.validate("2026-01-06", now=now)
    with pytest.raises(InvalidPartitionKey, match="no window has ended yet"):
        s.validate("2026-01-01", now=datetime(2026, 1, 1, 12))
    # validate(now) accepts exactly what keys(now) lists, whatever the bounds.
    odd = TimeWindowPartitions("hours", "2026-03-28T20:00", "hourly", BERLIN, end_offset=-2,
                               exclusions=["0 3 * * *"], end="2026-03-29T09:00")
    candidates = odd.keys_between(datetime(2026, 3, 28, tzinfo=UTC),
                                  datetime(2026, 3, 30, tzinfo=UTC))
    for hour in range(0, 40, 3):
        at = datetime(2026, 3, 28, 20, tzinfo=UTC) + timedelta(hours=hour, minutes=20)
        listed = odd.keys(now=at)
        assert [k for k in candidates if odd.contains(k, now=at)] == listed
    # A multi set hands `now` to its time dimension.
    multi = MultiPartitions({"day": s, "region": StaticPartitions("regions", ["eu"])})
    assert multi.validate("2026-01-04|eu", now=now)
    with pytest.raises(InvalidPartitionKey, match="dimension 'day': its window has not ended"):
        multi.validate("2026-01-05|eu", now=now)


# -- formats refused at construction ----------------------------------------------------------


@pytest.mark.parametrize(("schedule", "fmt", "timezone", "reason"), [
    ("hourly", "%Y-%m-%d", "UTC", "same key"),
    ("minute", "%Y-%m-%dT%H", "UTC", "same key"),
    ("monthly", "%Y", "UTC", "same key"),
    ("0 */6 * * *", "%Y-%m-%d", "UTC", "same key"),
    ("hourly", "%Y-%m-%d-%H:%M", BERLIN, "repeated hour of the DST change"),
    ("daily", "%m-%d", "UTC", "cannot be read back"),
    ("daily", "day %j of %Y", "UTC", None),  # unusual but lossless: accepted
    ("0 7 * * *", "%Y-%m-%d", BERLIN, None),  # one tick a day: the date is enough
    ("hourly", "%Y-%m-%d-%H:%M", "UTC", None),  # no DST in UTC
])
def test_lossy_or_unreadable_fmt_is_refused_by_the_constructor(
        schedule: str, fmt: str, timezone: str, reason: str | None) -> None:
    if reason is None:
        s = TimeWindowPartitions("t", "2026-01-01", schedule, timezone, fmt=fmt)
        keys = s.keys(now=datetime(2026, 12, 31))
        assert len(keys) == len(set(keys)) and all(s.contains(k, now=datetime(2027, 1, 1))
                                                   for k in keys[::97])
        return
    with pytest.raises(ValueError, match=reason):
        TimeWindowPartitions("t", "2026-01-01", schedule, timezone, fmt=fmt)


# -- weekly on any weekday ---------------------------------------------------------------------


def test_weekly_windows_start_on_any_weekday() -> None:
    # 2026-01-01 is a Thursday.
    wed = TimeWindowPartitions.weekly("w", "2026-01-01", day_of_week=Weekday.WEDNESDAY)
    assert wed.cron == "0 0 * * 3"
    assert wed.keys(now=datetime(2026, 1, 29)) == ["2026-01-07", "2026-01-14", "2026-01-21"]
    sun = TimeWindowPartitions.weekly("w", "2026-01-01", day_of_week=Weekday.SUNDAY)  # Dagster's
    assert sun.keys(now=datetime(2026, 1, 26)) == ["2026-01-04", "2026-01-11", "2026-01-18"]
    assert TimeWindowPartitions.weekly("w", "2026-01-01").keys(now=datetime(2026, 1, 20)) == [
        "2026-01-05", "2026-01-12"]  # Monday by default, like the plain "weekly"
    # Dagster's docstring example: WeeklyPartitionsDefinition(start_date="2022-03-12",
    # minute_offset=15, hour_offset=3, day_offset=6) -> (2022-03-12-03:15, 2022-03-19-03:15)...
    sat = TimeWindowPartitions.weekly("w", "2022-03-12", day_of_week=Weekday.SATURDAY,
                                      hour_offset=3, minute_offset=15, fmt="%Y-%m-%d-%H:%M")
    assert sat.keys(now=datetime(2022, 3, 27)) == ["2022-03-12-03:15", "2022-03-19-03:15"]
    assert sat.window("2022-03-12-03:15") == (
        datetime(2022, 3, 12, 3, 15, tzinfo=UTC), datetime(2022, 3, 19, 3, 15, tzinfo=UTC))
    with pytest.raises(TypeError, match="Weekday"):
        TimeWindowPartitions.weekly("w", "2026-01-01", day_of_week=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hour_offset is an int from 0 to 23"):
        TimeWindowPartitions.weekly("w", "2026-01-01", hour_offset=24)


# -- property: named schedule helpers == their cron -------------------------------------------

ZONES = ["UTC", BERLIN, CHICAGO, "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]
# Written here, not taken from the code under test: cron counts weekdays from Sunday = 0.
CRON_WEEKDAY = {Weekday.SUNDAY: 0, Weekday.MONDAY: 1, Weekday.TUESDAY: 2, Weekday.WEDNESDAY: 3,
                Weekday.THURSDAY: 4, Weekday.FRIDAY: 5, Weekday.SATURDAY: 6}
SPAN = {"hourly": timedelta(days=3), "daily": timedelta(days=70), "weekly": timedelta(days=400),
        "monthly": timedelta(days=1200)}


CHANGES = {z: offset_changes(z) for z in ZONES}


@settings(max_examples=80, deadline=None)
@given(cadence=st.sampled_from(sorted(SPAN)), zone=st.sampled_from(ZONES), data=st.data())
def test_named_schedule_helpers_give_the_keys_of_their_cron(cadence: str, zone: str,
                                                             data: st.DataObject) -> None:
    minute = data.draw(st.integers(0, 59))
    hour = data.draw(st.integers(0, 23))
    fmt = "%Y-%m-%dT%H:%M%:z"
    change = data.draw(st.sampled_from(CHANGES[zone]))
    before = timedelta(hours=data.draw(st.integers(0, 24 * 40)))
    start = (change - min(before, SPAN[cadence] / 2)).astimezone(ZoneInfo(zone))
    common = {"timezone": zone, "fmt": fmt}
    if cadence == "hourly":
        helper = TimeWindowPartitions.hourly("h", start, minute_offset=minute, **common)
        cron = f"{minute} * * * *"
    elif cadence == "daily":
        helper = TimeWindowPartitions.daily("h", start, hour_offset=hour, minute_offset=minute,
                                            **common)
        cron = f"{minute} {hour} * * *"
    elif cadence == "weekly":
        day = data.draw(st.sampled_from(list(Weekday)))
        helper = TimeWindowPartitions.weekly("h", start, day_of_week=day, hour_offset=hour,
                                             minute_offset=minute, **common)
        cron = f"{minute} {hour} * * {CRON_WEEKDAY[day]}"
    else:
        dom = data.draw(st.one_of(st.integers(1, 31), st.integers(28, 31)))  # month ends
        helper = TimeWindowPartitions.monthly("h", start, day_of_month=dom, hour_offset=hour,
                                              minute_offset=minute, **common)
        cron = f"{minute} {hour} {dom} * *"
    by_cron = TimeWindowPartitions("c", start, cron, **common)
    now = start + SPAN[cadence]
    keys = helper.keys(now=now)
    assert keys and keys == by_cron.keys(now=now)
    for k in keys[:: max(1, len(keys) // 5)]:
        assert helper.window(k) == by_cron.window(k)
