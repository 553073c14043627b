"""Partition sets: the named spaces of keys an asset is computed over.

Four kinds, one interface (`keys`, `validate`, `contains`):

* `StaticPartitions` — a fixed list declared in code.
* `TimeWindowPartitions` — one key per window of a schedule (cron or a named one) in a
  timezone; a key is the window's start formatted in that timezone. Bounds (start, exclusive
  end, end_offset), exclusions and DST naming follow Dagster's TimeWindowPartitionsDefinition.
* `DynamicPartitions` — keys added at run time (a sensor finds a new row); they live in
  PostgreSQL (`registry.py`), so reading them needs a connection.
* `MultiPartitions` — the product of N ≥ 1 named dimensions; keys go through `codec.py`.

`validate` returns the key or raises `InvalidPartitionKey` naming the set, the key and why.
"""

from __future__ import annotations

import calendar
import functools
import heapq
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from talentflow.partitions import codec
from talentflow.partitions.errors import InvalidPartitionKey, check_storable

if TYPE_CHECKING:
    import psycopg


class PartitionSet(ABC):
    """A named space of partition keys."""

    name: str
    kind: str

    @abstractmethod
    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        """All keys, in the set's natural order (time order, declaration order, byte order)."""

    @abstractmethod
    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        """Return `key` if it belongs to the set (at `now`, for time windows), else raise
        InvalidPartitionKey."""

    def contains(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> bool:
        try:
            self.validate(key, conn=conn, now=now)
        except InvalidPartitionKey:
            return False
        return True

    def describe(self) -> str:
        """A stable one-line description; part of the code version of assets over this set."""
        return f"{self.kind}:{self.name}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a partition set needs a non-empty name, got {name!r}")
    return name


# --------------------------------------------------------------------------------------------
# Static


class StaticPartitions(PartitionSet):
    """A fixed, ordered list of keys declared in code."""

    kind = "static"

    def __init__(self, name: str, keys: Sequence[str]) -> None:
        self.name = _check_name(name)
        if isinstance(keys, str):
            raise TypeError("StaticPartitions takes a list of keys, not one str")
        self._keys = [check_storable(name, k) for k in keys]
        seen: set[str] = set()
        for k in self._keys:
            if k in seen:
                raise ValueError(f"static set {name!r} lists key {k!r} twice")
            seen.add(k)
        self._index = seen

    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        return list(self._keys)

    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        check_storable(self.name, key)
        if key not in self._index:
            raise InvalidPartitionKey(self.name, key, f"not one of the {len(self._keys)} "
                                      "declared keys")
        return key


# --------------------------------------------------------------------------------------------
# Time windows


class Cadence(Enum):
    """The named schedules. They tick by wall-clock arithmetic rather than cron (~20x faster);
    each has an equivalent cron (`NamedSchedule.cron`), which gives the same keys."""

    MINUTE = "minute"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Weekday(IntEnum):
    """Days numbered as `date.weekday()` does (Monday 0).

    Dagster's `day_offset` counts like cron, from Sunday = 0: its `day_offset=0` is `SUNDAY`.
    """

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class DstNaming(Enum):
    """How the two windows of a repeated wall-clock time (autumn DST change) get their keys.

    * `FORMAT`: `fmt` alone names every window. The default sub-daily formats carry the UTC
      offset (`2026-10-25T02:00+02:00`, then `...+01:00`); a format without one is refused in
      a zone where the schedule ticks twice in the repeated hour.
    * `DAGSTER`: Dagster's `dst_safe_strftime`. If `fmt` has no `%z` and the cron's hour field
      is `*`, the second pass of a repeated wall time gets its offset appended with `%z`
      (`2024-11-03-01:00`, then `2024-11-03-01:00-0600` in America/Chicago); other keys are
      plain `fmt`.
    """

    FORMAT = "format"
    DAGSTER = "dagster"


@dataclass(frozen=True)
class NamedSchedule:
    """A cadence with Dagster-style offsets (its `HourlyPartitionsDefinition(minute_offset)`,
    `Daily...(hour_offset, minute_offset)`, `Weekly...(day_offset)`, `Monthly...(day_offset)`).

    `day_of_week` is for WEEKLY, `day_of_month` (1-31) for MONTHLY; like cron, a day past a
    month's end skips that month. Build one with `TimeWindowPartitions.hourly/daily/weekly/
    monthly`, or pass it as `schedule`.
    """

    cadence: Cadence
    minute_offset: int = 0
    hour_offset: int = 0
    day_of_week: Weekday = Weekday.MONDAY
    day_of_month: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.cadence, Cadence):
            raise TypeError(f"cadence is a Cadence, not {self.cadence!r}")
        if not isinstance(self.day_of_week, Weekday):
            raise TypeError(f"day_of_week is a Weekday (Dagster's day_offset=0 is "
                            f"Weekday.SUNDAY), not {self.day_of_week!r}")
        for field, value, low, high in (("minute_offset", self.minute_offset, 0, 59),
                                        ("hour_offset", self.hour_offset, 0, 23),
                                        ("day_of_month", self.day_of_month, 1, 31)):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{field} is an int from {low} to {high}, not {value!r}")
        unused = {
            Cadence.MINUTE: ("minute_offset", "hour_offset", "day_of_week", "day_of_month"),
            Cadence.HOURLY: ("hour_offset", "day_of_week", "day_of_month"),
            Cadence.DAILY: ("day_of_week", "day_of_month"),
            Cadence.WEEKLY: ("day_of_month",),
            Cadence.MONTHLY: ("day_of_week",),
        }[self.cadence]
        defaults = NamedSchedule.__dataclass_fields__
        for field in unused:
            if getattr(self, field) != defaults[field].default:
                raise ValueError(f"a {self.cadence.value} schedule takes no {field}")

    @property
    def cron(self) -> str:
        m, h = self.minute_offset, self.hour_offset
        match self.cadence:
            case Cadence.MINUTE:
                return "* * * * *"
            case Cadence.HOURLY:
                return f"{m} * * * *"
            case Cadence.DAILY:
                return f"{m} {h} * * *"
            case Cadence.WEEKLY:
                return f"{m} {h} * * {(self.day_of_week + 1) % 7}"  # cron: Sunday 0
            case Cadence.MONTHLY:
                return f"{m} {h} {self.day_of_month} * *"

    @property
    def label(self) -> str:
        """The cadence's name when it has no offsets, else also the cron (for messages)."""
        if self == NamedSchedule(self.cadence):
            return self.cadence.value
        return f"{self.cadence.value} ({self.cron})"


# Plain `weekly` keeps ISO weeks (Monday); Dagster's default is Sunday (`day_of_week=`).
_NAMED = {c.value: NamedSchedule(c) for c in Cadence}
# Sub-daily keys carry the UTC offset: on the autumn DST change the wall clock shows 02:00
# twice, and "2026-10-25T02:00+02:00" / "2026-10-25T02:00+01:00" are two different hours.
_OFFSET_FMT = "%Y-%m-%dT%H:%M%:z"
_DATE_FMT = "%Y-%m-%d"
_SEARCH = timedelta(hours=26)  # how far past a parsed key's time its window may start
_FMT_SAMPLE = 48  # consecutive windows a format must name apart at construction
# Excluded ticks in a row from start (or years, whichever comes first) before the exclusions
# are refused for leaving no window; any cron repeats within 28 years.
_FIRST_WINDOW_LIMIT = 100_000
_FIRST_WINDOW_YEARS = 30
_EXCLUSION_STEPS = 8  # exclusion ticks stepped through before seeking afresh


@dataclass(frozen=True)
class _ZoneFacts:
    low: timedelta  # smallest UTC offset
    high: timedelta  # largest UTC offset
    fall_backs: tuple[datetime, ...]  # UTC instants where the offset decreases (1900-2100)


@functools.cache
def _zone_facts(tz: ZoneInfo) -> _ZoneFacts:
    """Offsets and autumn transitions of a zone, 1900-2100 (sampled daily, then bisected).

    The offsets bound how far a wall time and its instant can drift apart across transitions,
    hence how far back tick generation starts and how long ticks wait before being final. An
    offset period shorter than a day would be missed; no zone has one.
    """
    day, second = timedelta(days=1), timedelta(seconds=1)
    t = datetime(1900, 1, 1, tzinfo=UTC)
    previous = t.astimezone(tz).utcoffset()
    offsets, fall_backs = {previous}, []
    while t.year < 2100:
        nxt = t + day
        offset = nxt.astimezone(tz).utcoffset()
        if offset != previous:
            lo, hi = t, nxt
            while hi - lo > second:
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == previous:
                    lo = mid
                else:
                    hi = mid
            if offset is not None and previous is not None and offset < previous:
                fall_backs.append(hi)
            offsets.add(offset)
            previous = offset
        t = nxt
    offsets.discard(None)
    return _ZoneFacts(min(offsets), max(offsets), tuple(fall_backs))  # type: ignore[type-var]


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _utc(t: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare by wall time and ignore `fold` (02:00 CEST and
    # 02:00 CET look equal), so every comparison of instants goes through UTC.
    return t.astimezone(UTC)


def _is_second_pass(local: datetime) -> bool:
    """Dagster's `is_second_ambiguous_time`: the later of two instants with this wall time."""
    first, this = local.replace(fold=0).utcoffset(), local.utcoffset()
    return local.fold == 1 and first is not None and this is not None and first > this


def _named_wall_ticks(s: NamedSchedule, begin: datetime) -> Iterator[datetime]:
    """Wall-clock ticks ≥ begin (naive) of a named schedule, by plain arithmetic."""
    t = begin.replace(second=0, microsecond=0)
    if t < begin:
        t += timedelta(minutes=1)
    at = time(s.hour_offset, s.minute_offset)
    match s.cadence:
        case Cadence.MINUTE:
            step = timedelta(minutes=1)
        case Cadence.HOURLY:
            step = timedelta(hours=1)
            first = t.replace(minute=s.minute_offset)
            t = first if first >= t else first + step
        case Cadence.DAILY:
            step = timedelta(days=1)
            first = datetime.combine(t.date(), at)
            t = first if first >= t else first + step
        case Cadence.WEEKLY:
            step = timedelta(days=7)
            ahead = (s.day_of_week - t.weekday()) % 7
            first = datetime.combine(t.date() + timedelta(days=ahead), at)
            t = first if first >= t else first + step
        case Cadence.MONTHLY:
            year, month = t.year, t.month
            while True:
                if s.day_of_month <= calendar.monthrange(year, month)[1]:
                    tick = datetime(year, month, s.day_of_month, s.hour_offset,
                                    s.minute_offset)
                    if tick >= t:
                        yield tick
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while True:
        yield t
        t += step


class _Ticker:
    """The ticks of one schedule in one zone, as aware local datetimes (see
    TimeWindowPartitions for the DST rules). Exclusion crons use one too, so a window start
    matches an exclusion exactly when both map the same wall time to the same instant."""

    def __init__(self, cron: str, named: NamedSchedule | None, tz: ZoneInfo) -> None:
        self.cron, self.named, self.tz = cron, named, tz
        facts = _zone_facts(tz)
        self.drift = facts.high - facts.low  # wall time minus instant varies by this much
        self.max_offset = facts.high

    def _wall_ticks(self, begin: datetime) -> Iterator[datetime]:
        if self.named is not None:
            yield from _named_wall_ticks(self.named, begin)
        else:
            it = croniter(self.cron, begin - timedelta(seconds=1))
            while True:
                yield it.get_next(datetime)

    def _instants(self, naive: datetime, following: datetime) -> list[datetime]:
        """The instant(s) a wall-clock tick stands for (1 in a gap, 1 or 2 in a fold)."""
        first = naive.replace(tzinfo=self.tz, fold=0)
        second = naive.replace(tzinfo=self.tz, fold=1)
        off_first, off_second = first.utcoffset(), second.utcoffset()
        assert off_first is not None and off_second is not None
        if off_first == off_second:
            return [first]
        if off_first < off_second:
            # In a gap: fold=0 reads the wall time with the pre-transition offset, which lands
            # just past the gap (02:30 CET -> 03:30 CEST). Duplicates are dropped by the caller.
            return [first.astimezone(UTC).astimezone(self.tz)]
        # A repeated wall time: tick again in the second pass only if the schedule ticks at
        # least once per repeated interval; otherwise the window would be a sliver.
        if following - naive <= off_first - off_second:
            return [first, second.astimezone(UTC).astimezone(self.tz)]
        return [first]

    def ticks(self, begin: datetime) -> Iterator[datetime]:
        """Ticks ≥ begin as aware local datetimes, ascending, unique instants."""
        begin_utc = _utc(begin)
        naive_begin = begin.astimezone(self.tz).replace(tzinfo=None) - self.drift
        heap: list[tuple[datetime, datetime]] = []
        last: datetime | None = None
        naive = self._wall_ticks(naive_begin)
        current = next(naive)
        for following in naive:
            for inst in self._instants(current, following):
                heapq.heappush(heap, (_utc(inst), inst))
            # Every later wall tick maps to an instant ≥ its wall time - the largest offset:
            # anything earlier than that in the heap is final.
            horizon = following.replace(tzinfo=UTC) - self.max_offset
            while heap and heap[0][0] < horizon:
                utc, inst = heapq.heappop(heap)
                if utc < begin_utc or utc == last:
                    continue
                last = utc
                yield inst
            current = following


def _never(_t: datetime) -> bool:
    return False


class TimeWindowPartitions(PartitionSet):
    """One key per window of a schedule, in a timezone.

    `schedule` is `minute`, `hourly`, `daily`, `weekly` (Monday), `monthly`, a `NamedSchedule`
    (offsets; see the `hourly/daily/weekly/monthly` constructors) or any 5-field cron. Ticks
    are computed on the local wall clock and mapped to instants:

    * a wall time that does not exist (spring forward) moves past the gap, so a daily key is
      never missing and hourly simply has 23 windows that day;
    * a wall time that happens twice (fall back) ticks in both passes only when the schedule
      ticks at least once per repeated interval (hourly, minute: 25 hourly windows); a daily
      or `0 2 * * *` schedule ticks once, at the first pass, like cron does.

    window(key) = (tick, next tick). The default key format is `%Y-%m-%d` for daily/weekly/
    monthly and `%Y-%m-%dT%H:%M%:z` (with the UTC offset, `%:z` = `+02:00`) for hourly, minute
    and cron schedules, which keeps keys unique across DST; `dst_naming=DstNaming.DAGSTER`
    names the repeated hour like Dagster instead. The constructor refuses a `fmt` that gives
    two windows one key or cannot be read back.

    Bounds, like Dagster's TimeWindowPartitionsDefinition: the first window starts at the
    first tick ≥ `start`; `end` is exclusive (a window ending after it has no key);
    `keys(now)` lists windows complete at `now` (end ≤ now), `end_offset=n` adds n windows
    after the last complete one (the current one for n=1), a negative n drops windows.

    `exclusions` (Dagster 1.9+): a window has no key if its start is a tick of an excluded
    cron (in this zone), is an excluded datetime, or (ours) falls on an excluded `date`.
    Windows do not merge over excluded ones: every window stays (tick, next tick).
    """

    kind = "time"

    def __init__(
        self,
        name: str,
        start: datetime | date | str,
        schedule: str | NamedSchedule = "daily",
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
        *,
        end: datetime | date | str | None = None,
        exclusions: Sequence[str | date | datetime] = (),
        dst_naming: DstNaming = DstNaming.FORMAT,
    ) -> None:
        self.name = _check_name(name)
        named = schedule if isinstance(schedule, NamedSchedule) else _NAMED.get(schedule)
        self.cron = named.cron if named is not None else schedule
        self.schedule = named.label if named is not None else schedule
        if not croniter.is_valid(self.cron) or len(self.cron.split()) != 5:
            raise ValueError(
                f"time set {name!r}: schedule {schedule!r} is neither one of "
                f"{sorted(_NAMED)} nor a 5-field cron expression"
            )
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time set {name!r}: unknown timezone {timezone!r}") from exc
        self.timezone = timezone
        sub_daily = named is None or named.cadence in (Cadence.MINUTE, Cadence.HOURLY)
        self.fmt = fmt or (_OFFSET_FMT if sub_daily else _DATE_FMT)
        self._parse_fmt = self.fmt.replace("%:z", "%z")  # strptime's %z accepts +02:00
        self._offset_formats: dict[timedelta | None, str] = {}
        self.dst_naming = DstNaming(dst_naming)
        # Dagster appends the offset only when the format has none and the hour field is '*'.
        hour_field = croniter.expand(self.cron)[0][1]
        self._suffix_fmt = (
            self.fmt + "%z"
            if self.dst_naming is DstNaming.DAGSTER and "%z" not in self._parse_fmt
            and hour_field == ["*"] else None
        )
        self.end_offset = int(end_offset)
        self._ticker = _Ticker(self.cron, named, self.tz)
        self._drift = self._ticker.drift
        self.start = self._to_instant(start)
        self.end = None if end is None else self._to_instant(end)
        if self.end is not None and _utc(self.end) <= _utc(self.start):
            raise ValueError(f"time set {name!r}: end {self.end.isoformat()} is not after "
                             f"start {self.start.isoformat()}")
        try:
            self._first_raw = next(self._ticker.ticks(self.start))
        except Exception as exc:  # croniter gives up on schedules that never fire (Feb 30)
            raise ValueError(f"time set {name!r}: schedule {schedule!r} never ticks") from exc
        self._read_exclusions(exclusions)
        self.first = self._first_window()
        self._check_format()
        self._end_last: datetime | None = None  # start of the last window ending by `end`
        if self.end is not None:
            at_end = self._raw_at_or_before(_utc(self.end))
            self._end_last = None if at_end is None else self._back(at_end, 1)
        # keys(now) depends only on which raw window `now` falls in: (lo, hi, last start).
        self._last_cache: tuple[datetime | None, datetime, datetime | None] | None = None

    # -- named schedules with offsets (Dagster's Hourly/Daily/Weekly/MonthlyPartitions...) ----

    @classmethod
    def hourly(cls, name: str, start: datetime | date | str, *, minute_offset: int = 0,
               timezone: str = "UTC", fmt: str | None = None, end_offset: int = 0,
               end: datetime | date | str | None = None,
               exclusions: Sequence[str | date | datetime] = (),
               dst_naming: DstNaming = DstNaming.FORMAT) -> TimeWindowPartitions:
        """Hourly windows starting `minute_offset` minutes past the hour."""
        return cls(name, start, NamedSchedule(Cadence.HOURLY, minute_offset), timezone, fmt,
                   end_offset, end=end, exclusions=exclusions, dst_naming=dst_naming)

    @classmethod
    def daily(cls, name: str, start: datetime | date | str, *, hour_offset: int = 0,
              minute_offset: int = 0, timezone: str = "UTC", fmt: str | None = None,
              end_offset: int = 0, end: datetime | date | str | None = None,
              exclusions: Sequence[str | date | datetime] = (),
              dst_naming: DstNaming = DstNaming.FORMAT) -> TimeWindowPartitions:
        """Daily windows starting at hour_offset:minute_offset."""
        return cls(name, start, NamedSchedule(Cadence.DAILY, minute_offset, hour_offset),
                   timezone, fmt, end_offset, end=end, exclusions=exclusions,
                   dst_naming=dst_naming)

    @classmethod
    def weekly(cls, name: str, start: datetime | date | str, *,
               day_of_week: Weekday = Weekday.MONDAY, hour_offset: int = 0,
               minute_offset: int = 0, timezone: str = "UTC", fmt: str | None = None,
               end_offset: int = 0, end: datetime | date | str | None = None,
               exclusions: Sequence[str | date | datetime] = (),
               dst_naming: DstNaming = DstNaming.FORMAT) -> TimeWindowPartitions:
        """Weekly windows starting on `day_of_week` at hour_offset:minute_offset."""
        schedule = NamedSchedule(Cadence.WEEKLY, minute_offset, hour_offset, day_of_week)
        return cls(name, start, schedule, timezone, fmt, end_offset, end=end,
                   exclusions=exclusions, dst_naming=dst_naming)

    @classmethod
    def monthly(cls, name: str, start: datetime | date | str, *, day_of_month: int = 1,
                hour_offset: int = 0, minute_offset: int = 0, timezone: str = "UTC",
                fmt: str | None = None, end_offset: int = 0,
                end: datetime | date | str | None = None,
                exclusions: Sequence[str | date | datetime] = (),
                dst_naming: DstNaming = DstNaming.FORMAT) -> TimeWindowPartitions:
        """Monthly windows starting on `day_of_month` at hour_offset:minute_offset."""
        schedule = NamedSchedule(Cadence.MONTHLY, minute_offset, hour_offset,
                                 day_of_month=day_of_month)
        return cls(name, start, schedule, timezone, fmt, end_offset, end=end,
                   exclusions=exclusions, dst_naming=dst_naming)

    # -- public API ---------------------------------------------------------------------------

    def describe(self) -> str:
        # The options added later appear only when set: existing sets keep their description
        # (it is part of the code version of assets over them).
        out = (f"time:{self.name}:{self.cron}:{self.timezone}:{self.fmt}:"
               f"{self.start.isoformat()}")
        if self.end is not None:
            out += f":end={self.end.isoformat()}"
        if self._exclusion_labels:
            out += ":exclude=" + ",".join(self._exclusion_labels)
        if self.dst_naming is DstNaming.DAGSTER:
            out += f":dst={self.dst_naming.value}"
        return out

    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        last = self._last_start(now)
        if last is None:
            return []
        last_utc = _utc(last)
        starts = []
        for start, _end, excluded in self._pairs(self.first):
            if _utc(start) > last_utc:
                break
            if not excluded:
                starts.append(start)
        keys = [self._format(t) for t in starts]
        if len(set(keys)) != len(keys):  # the constructor samples formats; this is the backstop
            seen: dict[str, datetime] = {}
            for k, t in zip(keys, starts, strict=True):
                if k in seen:
                    raise ValueError(self._same_key_message(seen[k], t, k))
                seen[k] = t
        return keys

    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        """`key` if keys(now) lists it: a window of the set that has ended at `now` (or that
        `end_offset` makes current); else InvalidPartitionKey with the reason."""
        start = self._locate(key)
        last = self._last_start(now)
        if last is None or _utc(start) > _utc(last):
            moment = self._to_instant(now or datetime.now(UTC)).isoformat(timespec="minutes")
            latest = ("no window has ended yet" if last is None
                      else f"the latest key is {self._format(last)!r}")
            raise InvalidPartitionKey(self.name, key,
                                      f"its window has not ended at {moment}: {latest}")
        return key

    def window(self, key: str) -> tuple[datetime, datetime]:
        """(start, end) of the key's window as aware datetimes in the set's timezone."""
        start = self._locate(key)
        return start, self._end_of(start)

    def key_for(self, moment: datetime) -> str | None:
        """The key of the window containing `moment`; None if that window has no key (before
        the first window, ending after `end`, or excluded)."""
        tick = self._raw_at_or_before(_utc(self._to_instant(moment)))
        if tick is None or _utc(tick) < _utc(self.first) or self._exclusion_of(tick):
            return None
        if self.end is not None and _utc(self._end_of(tick)) > _utc(self.end):
            return None
        return self._format(tick)

    def keys_between(self, start: datetime, end: datetime) -> list[str]:
        """Keys of the windows overlapping [start, end), in order (excluded ones have none)."""
        lo, hi = _utc(self._to_instant(start)), _utc(self._to_instant(end))
        begin = self._raw_at_or_before(lo) or self._first_raw
        out = []
        for w_start, w_end, excluded in self._pairs(begin):
            if _utc(w_start) >= hi or (self.end is not None and _utc(w_end) > _utc(self.end)):
                break
            if _utc(w_end) > lo and not excluded:
                out.append(self._format(w_start))
        return out

    def shift(self, key: str, n: int) -> str | None:
        """The key `n` windows after `key` (before, if negative), counting only windows with a
        key; None past either end of the set."""
        start = self._locate(key)
        if n == 0:
            return key
        if n < 0:
            earlier = self._back(start, -n)
            return None if earlier is None else self._format(earlier)
        pairs = self._pairs(start)
        next(pairs)  # the key's own window
        kept = ((s, e) for s, e, excluded in pairs if not excluded)
        later, later_end = next(itertools.islice(kept, n - 1, None))
        if self.end is not None and _utc(later_end) > _utc(self.end):
            return None
        return self._format(later)

    # -- internals ----------------------------------------------------------------------------

    def _to_instant(self, value: datetime | date | str) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if value.tzinfo is None:
            # A naive time means wall time in the set's zone; normalizing through UTC moves a
            # time inside a DST gap forward, like the ticks.
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(UTC).astimezone(self.tz)

    def _format(self, local: datetime) -> str:
        if self._suffix_fmt is not None and _is_second_pass(local):
            return local.strftime(self._suffix_fmt)
        if "%:z" not in self.fmt:
            return local.strftime(self.fmt)
        offset = local.utcoffset()
        fmt = self._offset_formats.get(offset)
        if fmt is None:  # a zone has a handful of offsets: build each format once
            assert offset is not None
            fmt = self._offset_formats[offset] = self.fmt.replace("%:z", _format_offset(offset))
        return local.strftime(fmt)

    def _same_key_message(self, a: datetime, b: datetime, key: str) -> str:
        hint = "use a format with more precision (e.g. with %H:%M%:z)"
        if a.replace(tzinfo=None) == b.replace(tzinfo=None):  # one wall time, two instants
            hint = ("the repeated hour of the DST change needs the UTC offset: add %:z, or "
                    "pass dst_naming=DstNaming.DAGSTER")
        return (f"time set {self.name!r}: format {self.fmt!r} gives the windows starting "
                f"{a.isoformat()} and {b.isoformat()} the same key {key!r}; {hint}")

    def _check_format(self) -> None:
        """Refuse, at construction, a format that gives two windows one key (coarser than the
        schedule, or blind to the repeated DST hour) or whose keys do not read back."""
        groups = [list(itertools.islice(self._ticker.ticks(self.start), _FMT_SAMPLE))]
        after = [t for t in _zone_facts(self.tz).fall_backs if t > _utc(self.start)]
        if after:  # the windows around the next autumn change, where wall times repeat
            pad = self._drift + timedelta(hours=2)
            around = []
            for t in self._ticker.ticks(after[0] - pad):
                if _utc(t) > after[0] + pad:
                    break
                around.append(t)
            groups.append(around)
        readback = groups[0][:3] + groups[0][-1:]
        for group in groups:
            seen: dict[str, datetime] = {}
            for t in group:
                k = self._format(t)
                if k in seen:
                    raise ValueError(self._same_key_message(seen[k], t, k))
                seen[k] = t
            readback += [t for t in group if t.fold][:4]
        for t in readback:
            k = self._format(t)
            try:
                back: datetime | None = self._match(k)
            except InvalidPartitionKey:
                back = None
            if back is None or _utc(back) != _utc(t):
                raise ValueError(
                    f"time set {self.name!r}: format {self.fmt!r} cannot be read back: the "
                    f"key {k!r} of the window starting {t.isoformat()} "
                    + ("does not parse" if back is None else f"reads as {back.isoformat()}")
                )

    def _read_exclusions(self, exclusions: Sequence[str | date | datetime]) -> None:
        if isinstance(exclusions, (str, date)):
            raise TypeError("exclusions is a list of crons, dates and datetimes, not one value")
        dates: set[date] = set()
        instants: set[datetime] = set()
        crons: dict[str, _Ticker] = {}
        for item in exclusions:
            if isinstance(item, str):
                cron = " ".join(item.split())
                if not croniter.is_valid(cron) or len(cron.split()) != 5:
                    raise ValueError(
                        f"time set {self.name!r}: exclusion {item!r} is not a 5-field cron "
                        "expression (exclude a day with a date, one window with a datetime)"
                    )
                ticker = _Ticker(cron, None, self.tz)
                try:
                    next(ticker.ticks(self.start))
                except Exception as exc:
                    raise ValueError(f"time set {self.name!r}: exclusion {item!r} never "
                                     "ticks") from exc
                crons[cron] = ticker
            elif isinstance(item, datetime):  # before date: a datetime is a date
                t = self._to_instant(item)
                tick = next(self._ticker.ticks(t))
                if _utc(tick) != _utc(t):
                    raise ValueError(
                        f"time set {self.name!r}: exclusion {item.isoformat()} is not the start "
                        f"of a window (the next one starts {tick.isoformat()}); exclude a whole "
                        "day with a date"
                    )
                instants.add(_utc(t))
            elif isinstance(item, date):
                dates.add(item)
            else:
                raise TypeError(f"time set {self.name!r}: an exclusion is a cron str, a date "
                                f"or a datetime, not {item!r}")
        self._excluded_dates = frozenset(dates)
        self._excluded_instants = frozenset(instants)
        self._excluded_crons = tuple(crons.items())
        self._exclusion_labels = (
            sorted(f"cron={c}" for c in crons) + sorted(f"date={d.isoformat()}" for d in dates)
            + sorted(f"at={i.isoformat()}" for i in instants)
        )

    def _exclusion_of(self, tick: datetime) -> str | None:
        """What excludes the window starting at `tick` (for messages), or None."""
        if tick.date() in self._excluded_dates:
            return f"the excluded date {tick.date().isoformat()}"
        if _utc(tick) in self._excluded_instants:
            return f"the excluded datetime {tick.isoformat()}"
        for cron, ticker in self._excluded_crons:
            if _utc(next(ticker.ticks(tick))) == _utc(tick):
                return f"the excluded cron {cron!r}"
        return None

    def _exclusion_test(self) -> Callable[[datetime], bool]:
        """A test for ascending ticks: one pass instead of one cron search per tick."""
        if not self._exclusion_labels:
            return _never
        dates, instants, crons = (self._excluded_dates, self._excluded_instants,
                                  self._excluded_crons)
        # Per exclusion cron: its ticks from the last seek on, and the next one not yet passed.
        streams: list[Iterator[datetime] | None] = [None] * len(crons)
        heads: list[datetime | None] = [None] * len(crons)

        def excluded(tick: datetime) -> bool:
            if tick.date() in dates:
                return True
            tick_utc = _utc(tick)
            if tick_utc in instants:
                return True
            for i, (_cron, ticker) in enumerate(crons):
                head, stream = heads[i], streams[i]
                # Step a few ticks, then seek: an exclusion may tick far more often than the set.
                for _ in range(_EXCLUSION_STEPS):
                    if stream is None or (head is not None and head >= tick_utc):
                        break
                    head = _utc(next(stream))
                if stream is None or head is None or head < tick_utc:
                    stream = ticker.ticks(tick)
                    head = _utc(next(stream))
                heads[i], streams[i] = head, stream
                if head == tick_utc:
                    return True
            return False

        return excluded

    def _pairs(self, begin: datetime) -> Iterator[tuple[datetime, datetime, bool]]:
        """(start, end, excluded) of every window starting ≥ begin, ascending."""
        excluded = self._exclusion_test()
        ticks = self._ticker.ticks(begin)
        current = next(ticks)
        for following in ticks:
            yield current, following, excluded(current)
            current = following

    def _first_window(self) -> datetime:
        give_up = _utc(self.start) + timedelta(days=365 * _FIRST_WINDOW_YEARS)
        for n, (start, _end, excluded) in enumerate(self._pairs(self.start)):
            if not excluded:
                return start
            if n >= _FIRST_WINDOW_LIMIT or _utc(start) > give_up:
                break
        raise ValueError(f"time set {self.name!r}: the exclusions leave no window in the "
                         f"first {_FIRST_WINDOW_LIMIT} ticks or {_FIRST_WINDOW_YEARS} years")

    def _end_of(self, start: datetime) -> datetime:
        start_utc = _utc(start)
        return next(t for t in self._ticker.ticks(start) if _utc(t) > start_utc)

    def _raw_at_or_before(self, instant: datetime) -> datetime | None:
        """The last tick ≤ instant (excluded or not), from the first tick ≥ start on."""
        first = _utc(self._first_raw)
        if instant < first:
            return None
        # Look back a little, then further.
        for back in (timedelta(hours=1), timedelta(days=1), timedelta(days=40),
                     timedelta(days=800)):
            previous = None
            for t in self._ticker.ticks(max(first, instant - back)):
                if _utc(t) > instant:
                    break
                previous = t
            if previous is not None:
                return previous
        previous = self._first_raw
        for t in self._ticker.ticks(self._first_raw):
            if _utc(t) > instant:
                break
            previous = t
        return previous

    def _back(self, before: datetime, n: int) -> datetime | None:
        """The start of the n-th window with a key (n ≥ 1) starting before `before`."""
        before_utc, first_utc = _utc(before), _utc(self.first)
        span = timedelta(days=1)
        while True:  # walk back in steps that certainly contain n windows, then count
            begin = max(first_utc, before_utc - span * n)
            starts = []
            for start, _end, excluded in self._pairs(begin):
                if _utc(start) >= before_utc:
                    break
                if not excluded:
                    starts.append(start)
            if len(starts) >= n:
                return starts[-n]
            if begin == first_utc:
                return None
            span *= 4

    def _last_start(self, now: datetime | None) -> datetime | None:
        """Start of the last window keys(now) lists (None: no key yet), as Dagster's
        `get_last_partition_window`: the last complete window moved by `end_offset` windows,
        capped by `end`."""
        now_utc = _utc(self._to_instant(now or datetime.now(UTC)))
        cached = self._last_cache
        if cached is not None and (cached[0] is None or cached[0] <= now_utc) \
                and now_utc < cached[1]:
            return cached[2]
        running = self._raw_at_or_before(now_utc)  # start of the window containing now
        if running is None:
            lo, hi, complete = None, _utc(self._first_raw), None
        else:
            lo, hi = _utc(running), _utc(self._end_of(running))
            complete = self._back(running, 1)
        n = self.end_offset
        last: datetime | None
        if n == 0:
            last = complete
        elif n < 0:
            last = None if complete is None else self._back(complete, -n)
        else:  # n windows after the last complete one; the first is the running one
            pairs = self._pairs(self.first if complete is None else complete)
            if complete is not None:
                next(pairs)
            kept = (s for s, _e, excluded in pairs if not excluded)
            last = next(itertools.islice(kept, n - 1, None))
        if self.end is not None and last is not None:
            cap = self._end_last
            last = None if cap is None else min(last, cap, key=_utc)
        self._last_cache = (lo, hi, last)
        return last

    def _match(self, key: str) -> datetime:
        """The tick whose key is exactly `key` (bounds, exclusions not checked), or raise."""
        if not isinstance(key, str):
            raise InvalidPartitionKey(self.name, key, f"a key is a str, not {type(key).__name__}")
        try:
            parsed = datetime.strptime(key, self._parse_fmt)
        except ValueError:
            parsed = None
            if self._suffix_fmt is not None:
                # Dagster's dst_safe_strptime: second-pass keys carry their offset at the end.
                try:
                    parsed = datetime.strptime(key, self._parse_fmt + "%z")
                except ValueError:
                    parsed = None
            if parsed is None:
                raise InvalidPartitionKey(
                    self.name, key, f"does not match the key format {self.fmt!r}"
                ) from None
        approx = _utc(self._to_instant(parsed))
        # Exact match against the ticks around the parsed time: the only way to accept exactly
        # the keys keys() produces (no '2026-3-1', no wall times inside a DST gap, no
        # off-schedule times) without trusting that the format is invertible.
        for t in self._ticker.ticks(approx - self._drift - timedelta(minutes=1)):
            if self._format(t) == key:
                return t
            if _utc(t) > approx + _SEARCH:
                break
        raise InvalidPartitionKey(
            self.name, key,
            f"not the start of a {self.schedule!r} window in {self.timezone} "
            f"(e.g. {self._format(self.first)!r})",
        )

    def _locate(self, key: str) -> datetime:
        """The start of the window of the set whose key is exactly `key`, or raise."""
        start = self._match(key)
        if _utc(start) < _utc(self._first_raw):
            raise InvalidPartitionKey(
                self.name, key, f"before the set's first window {self._format(self.first)!r}"
            )
        why = self._exclusion_of(start)
        if why is not None:
            raise InvalidPartitionKey(self.name, key, f"excluded by {why}")
        if self.end is not None and _utc(self._end_of(start)) > _utc(self.end):
            raise InvalidPartitionKey(
                self.name, key, f"its window ends after the set's end {self.end.isoformat()}"
            )
        return start



# --------------------------------------------------------------------------------------------
# Dynamic


class DynamicPartitions(PartitionSet):
    """Keys added at run time and stored in PostgreSQL (see `registry.py`).

    Without a connection `validate` can only check that a key is storable; with one it also
    checks that the key is registered.
    """

    kind = "dynamic"

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        if conn is None:
            raise TypeError(f"dynamic set {self.name!r} keys live in PostgreSQL: pass conn")
        from talentflow.partitions import registry

        return registry.all_keys(conn, self.name)

    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        check_storable(self.name, key)
        if conn is not None:
            from talentflow.partitions import registry

            if not registry.has_key(conn, self.name, key):
                raise InvalidPartitionKey(self.name, key, "not registered in this dynamic set")
        return key


class DynamicMultiPartitions(DynamicPartitions):
    """Registered keys of N ≥ 1 named dimensions: the rows someone chose (a cohort), not the
    product of the dimensions' values.

        drafts = DynamicMultiPartitions("drafts", ["combo", "template", "model"])
        registry.add_keys(conn, "drafts", [drafts.key("c1", "t1", "m1")])

    A key is `codec.encode(values)` in the declared dimension order (the one documented order);
    build and take keys apart with `key()` / `values()`. `validators` may give a partition set
    per dimension whose keys its values must be. Keys live in the registry like any dynamic
    set's: status reads them straight from there, deleting one orphans its history.
    """

    kind = "dynamic-multi"

    def __init__(self, name: str, dimensions: Sequence[str],
                 validators: Mapping[str, PartitionSet] | None = None) -> None:
        super().__init__(name)
        dims = list(dimensions)
        if not dims or isinstance(dimensions, str):
            raise ValueError(f"dynamic multi set {name!r} needs a list of dimension names")
        for dim in dims:
            if not isinstance(dim, str) or not dim:
                raise ValueError(f"dimension names are non-empty str, got {dim!r}")
        if len(set(dims)) != len(dims):
            raise ValueError(f"dynamic multi set {name!r}: a dimension is named twice: {dims}")
        self.dimension_names = tuple(dims)
        self.validators = dict(validators or {})
        unknown = [d for d in self.validators if d not in dims]
        if unknown:
            raise ValueError(f"dynamic multi set {name!r}: validators for unknown dimensions "
                             f"{unknown} (dimensions: {dims})")

    def describe(self) -> str:
        return f"dynamic-multi:{self.name}:[{','.join(self.dimension_names)}]"

    def key(self, *values: str, **by_dim: str) -> str:
        """Encode a key from positional values (dimension order) or values by dimension,
        validated (a wrong count or a bad value names the dimension)."""
        if values and by_dim:
            raise TypeError("pass dimension values positionally or by name, not both")
        if by_dim:
            missing = [d for d in self.dimension_names if d not in by_dim]
            extra = [d for d in by_dim if d not in self.dimension_names]
            if missing or extra:
                raise InvalidPartitionKey(self.name, repr(by_dim),
                                          f"missing dimensions {missing}, unknown {extra} "
                                          f"(dimensions: {list(self.dimension_names)})")
            values = tuple(by_dim[d] for d in self.dimension_names)
        if len(values) != len(self.dimension_names):
            raise InvalidPartitionKey(
                self.name, repr(values), f"has {len(values)} dimension value(s), the set has "
                f"{len(self.dimension_names)} ({', '.join(self.dimension_names)})")
        for dim, v in zip(self.dimension_names, values, strict=True):
            if not isinstance(v, str):
                raise InvalidPartitionKey(self.name, repr(values),
                                          f"dimension {dim!r}: a value is a str, not "
                                          f"{type(v).__name__}")
        key = codec.encode(values)
        self._check_values(key, dict(zip(self.dimension_names, values, strict=True)))
        return key

    def values(self, key: str) -> dict[str, str]:
        """The key's value per dimension (InvalidPartitionKey, naming the dimensions, if it
        is malformed)."""
        try:
            parts = codec.decode(key, len(self.dimension_names), set_name=self.name)
        except InvalidPartitionKey as exc:
            raise InvalidPartitionKey(self.name, key, f"{exc.reason} "
                                      f"({', '.join(self.dimension_names)})") from None
        return dict(zip(self.dimension_names, parts, strict=True))

    def _check_values(self, key: str, values: Mapping[str, str]) -> None:
        for dim, value in values.items():
            if dim in self.validators:
                try:
                    self.validators[dim].validate(value)
                except InvalidPartitionKey as exc:
                    raise InvalidPartitionKey(self.name, key,
                                              f"dimension {dim!r}: {exc.reason}") from None
        check_storable(self.name, key)

    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        self._check_values(key, self.values(key))
        return super().validate(key, conn=conn, now=now)


# --------------------------------------------------------------------------------------------
# Multi


class MultiPartitions(PartitionSet):
    """The product of N ≥ 1 named dimensions, in the order given.

    A key is `codec.encode([value of dim 1, value of dim 2, ...])`; build and take keys apart
    with `key()` / `values()` rather than by hand.
    """

    kind = "multi"

    def __init__(self, dimensions: Mapping[str, PartitionSet], name: str | None = None) -> None:
        if not dimensions:
            raise ValueError("a multi set needs at least one dimension")
        for dim, pset in dimensions.items():
            if not isinstance(dim, str) or not dim:
                raise ValueError(f"dimension names are non-empty str, got {dim!r}")
            if not isinstance(pset, PartitionSet):
                raise TypeError(f"dimension {dim!r} is not a partition set: {pset!r}")
            if isinstance(pset, MultiPartitions):
                raise TypeError(f"dimension {dim!r}: nest dimensions by listing them flat")
        self.dimensions: dict[str, PartitionSet] = dict(dimensions)
        self.dimension_names = tuple(self.dimensions)
        self.name = _check_name(name or "multi(" + ",".join(self.dimension_names) + ")")

    def describe(self) -> str:
        inner = ",".join(f"{d}={s.describe()}" for d, s in self.dimensions.items())
        return f"multi:{self.name}:[{inner}]"

    def key(self, *values: str, **by_dim: str) -> str:
        """Encode a key from positional values (dimension order) or values by dimension."""
        if values and by_dim:
            raise TypeError("pass dimension values positionally or by name, not both")
        if by_dim:
            missing = [d for d in self.dimension_names if d not in by_dim]
            extra = [d for d in by_dim if d not in self.dimensions]
            if missing or extra:
                raise TypeError(f"multi set {self.name!r}: missing dims {missing}, unknown {extra}")
            values = tuple(by_dim[d] for d in self.dimension_names)
        return codec.encode(values)

    def values(self, key: str) -> dict[str, str]:
        """The key's value per dimension (raises InvalidPartitionKey if malformed)."""
        parts = codec.decode(key, len(self.dimension_names), set_name=self.name)
        return dict(zip(self.dimension_names, parts, strict=True))

    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        per_dim = [s.keys(conn, now=now) for s in self.dimensions.values()]
        return [codec.encode(combo) for combo in itertools.product(*per_dim)]

    def validate(self, key: str, *, conn: psycopg.Connection | None = None,
                 now: datetime | None = None) -> str:
        values = self.values(key)
        for dim, value in values.items():
            try:
                self.dimensions[dim].validate(value, conn=conn, now=now)
            except InvalidPartitionKey as exc:
                raise InvalidPartitionKey(self.name, key, f"dimension {dim!r}: {exc.reason}"
                                          ) from None
        check_storable(self.name, key)
        return key


def ensure_set(obj: Any) -> PartitionSet:
    if not isinstance(obj, PartitionSet):
        raise TypeError(f"expected a partition set, got {obj!r}")
    return obj
