"""Partition sets: the named spaces of keys an asset is computed over.

Four kinds, one interface (`keys`, `validate`, `contains`):

* `StaticPartitions` — a fixed list declared in code.
* `TimeWindowPartitions` — one key per window of a schedule (cron or a named one) in a
  timezone; a key is the window's start formatted in that timezone.
* `DynamicPartitions` — keys added at run time (a sensor finds a new row); they live in
  PostgreSQL (`registry.py`), so reading them needs a connection.
* `MultiPartitions` — the product of N ≥ 1 named dimensions; keys go through `codec.py`.

`validate` returns the key or raises `InvalidPartitionKey` naming the set, the key and why.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
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
    def validate(self, key: str, *, conn: psycopg.Connection | None = None) -> str:
        """Return `key` if it belongs to the set, else raise InvalidPartitionKey."""

    def contains(self, key: str, *, conn: psycopg.Connection | None = None) -> bool:
        try:
            self.validate(key, conn=conn)
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

    def validate(self, key: str, *, conn: psycopg.Connection | None = None) -> str:
        check_storable(self.name, key)
        if key not in self._index:
            raise InvalidPartitionKey(self.name, key, f"not one of the {len(self._keys)} "
                                      "declared keys")
        return key


# --------------------------------------------------------------------------------------------
# Time windows

_NAMED_SCHEDULES = {
    "minute": "* * * * *",
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",  # ISO weeks: Monday 00:00 (Dagster's default is Sunday)
    "monthly": "0 0 1 * *",
}
# Sub-daily keys carry the UTC offset: on the autumn DST change the wall clock shows 02:00
# twice, and "2026-10-25T02:00+02:00" / "2026-10-25T02:00+01:00" are two different hours.
_OFFSET_FMT = "%Y-%m-%dT%H:%M%:z"
_DEFAULT_FORMATS = {
    "minute": _OFFSET_FMT,
    "hourly": _OFFSET_FMT,
    "daily": "%Y-%m-%d",
    "weekly": "%Y-%m-%d",
    "monthly": "%Y-%m-%d",
}
_SEARCH = timedelta(hours=26)  # how far past a parsed key's time its window may start


@functools.cache
def _offset_range(tz: ZoneInfo) -> tuple[timedelta, timedelta]:
    """The smallest and largest UTC offsets a zone uses (1900-2100, sampled daily).

    They bound how far a wall time and its instant can drift apart across transitions, hence
    how far back tick generation starts and how long ticks wait before being final. An offset
    period shorter than a day would be missed; no zone has one.
    """
    day = timedelta(days=1)
    t = datetime(1900, 1, 1, tzinfo=UTC)
    offsets = set()
    while t.year < 2100:
        offsets.add(t.astimezone(tz).utcoffset())
        t += day
    offsets.discard(None)
    return min(offsets), max(offsets)  # type: ignore[type-var]


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _add_month(d: datetime) -> datetime:
    return d.replace(year=d.year + d.month // 12, month=d.month % 12 + 1)


class TimeWindowPartitions(PartitionSet):
    """One key per window of a schedule, in a timezone.

    `schedule` is `minute`, `hourly`, `daily`, `weekly` (Monday), `monthly`, or any 5-field
    cron expression. Ticks are computed on the local wall clock and mapped to instants:

    * a wall time that does not exist (spring forward) moves past the gap, so a daily key is
      never missing and hourly simply has 23 windows that day;
    * a wall time that happens twice (fall back) ticks in both passes only when the schedule
      ticks at least once per repeated interval (hourly, minute: 25 hourly windows); a daily
      or `0 2 * * *` schedule ticks once, at the first pass, like cron does.

    Windows tile time with no gaps or overlaps: window(key) = (tick, next tick). The default
    key format is `%Y-%m-%d` for daily/weekly/monthly and `%Y-%m-%dT%H:%M%:z` (with the UTC
    offset, `%:z` = `+02:00`) for hourly, minute and cron schedules, which keeps keys unique
    across DST. A custom `fmt` must give every window a distinct key; `keys()` raises if not.

    `keys(now)` lists complete windows (end ≤ now) from the first tick ≥ `start`;
    `end_offset=n` adds n windows after the last complete one (the current one for n=1), a
    negative n drops windows.
    """

    kind = "time"

    def __init__(
        self,
        name: str,
        start: datetime | date | str,
        schedule: str = "daily",
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        self.name = _check_name(name)
        self.schedule = schedule
        self.cron = _NAMED_SCHEDULES.get(schedule, schedule)
        if not croniter.is_valid(self.cron) or len(self.cron.split()) != 5:
            raise ValueError(
                f"time set {name!r}: schedule {schedule!r} is neither one of "
                f"{sorted(_NAMED_SCHEDULES)} nor a 5-field cron expression"
            )
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time set {name!r}: unknown timezone {timezone!r}") from exc
        self.timezone = timezone
        self.fmt = fmt or _DEFAULT_FORMATS.get(schedule, _OFFSET_FMT)
        self._parse_fmt = self.fmt.replace("%:z", "%z")  # strptime's %z accepts +02:00
        self._offset_formats: dict[timedelta | None, str] = {}
        self.end_offset = int(end_offset)
        low, high = _offset_range(self.tz)
        self._drift = high - low  # wall time minus instant varies by at most this much
        self._max_offset = high
        self.start = self._to_instant(start)
        try:
            self.first = next(self._ticks(self.start))
        except Exception as exc:  # croniter gives up on schedules that never fire (Feb 30)
            raise ValueError(f"time set {name!r}: schedule {schedule!r} never ticks") from exc

    # -- public API ---------------------------------------------------------------------------

    def describe(self) -> str:
        return (f"time:{self.name}:{self.cron}:{self.timezone}:{self.fmt}:"
                f"{self.start.isoformat()}")

    def keys(self, conn: psycopg.Connection | None = None, *, now: datetime | None = None
             ) -> list[str]:
        now_utc = self._to_instant(now or datetime.now(UTC)).astimezone(UTC)
        starts: list[datetime] = []
        ticks = self._ticks(self.start)
        current = next(ticks)
        upcoming: datetime | None = None
        for nxt in ticks:
            if nxt.astimezone(UTC) > now_utc:
                upcoming = nxt
                break
            starts.append(current)
            current = nxt
        if self.end_offset > 0:
            extra = [current]
            if upcoming is not None:
                extra.append(upcoming)
            extra.extend(itertools.islice(ticks, max(0, self.end_offset - len(extra))))
            starts.extend(extra[: self.end_offset])
        elif self.end_offset < 0:
            starts = starts[: len(starts) + self.end_offset]
        keys = [self._format(t) for t in starts]
        if len(set(keys)) != len(keys):
            seen: dict[str, datetime] = {}
            for k, t in zip(keys, starts, strict=True):
                if k in seen:
                    raise ValueError(
                        f"time set {self.name!r}: format {self.fmt!r} gives the windows starting "
                        f"{seen[k].isoformat()} and {t.isoformat()} the same key {k!r}; use a "
                        "format with more precision (e.g. with %H:%M%:z)"
                    )
                seen[k] = t
        return keys

    def validate(self, key: str, *, conn: psycopg.Connection | None = None) -> str:
        self._locate(key)
        return key

    def window(self, key: str) -> tuple[datetime, datetime]:
        """(start, end) of the key's window as aware datetimes in the set's timezone."""
        start = self._locate(key)
        end = next(t for t in self._ticks(start) if t.astimezone(UTC) > start.astimezone(UTC))
        return start, end

    def key_for(self, moment: datetime) -> str | None:
        """The key of the window containing `moment` (None before the first window)."""
        instant = self._to_instant(moment).astimezone(UTC)
        first = self.first.astimezone(UTC)
        if instant < first:
            return None
        # The window starts at the last tick <= instant: look back a little, then further.
        for back in (timedelta(hours=1), timedelta(days=1), timedelta(days=40),
                     timedelta(days=800)):
            previous = None
            for t in self._ticks(max(first, instant - back)):
                if t.astimezone(UTC) > instant:
                    break
                previous = t
            if previous is not None:
                return self._format(previous)
        previous = self.first
        for t in self._ticks(self.first):
            if t.astimezone(UTC) > instant:
                break
            previous = t
        return self._format(previous)

    def keys_between(self, start: datetime, end: datetime) -> list[str]:
        """Keys of the windows overlapping [start, end), in order."""
        lo, hi = start.astimezone(UTC), end.astimezone(UTC)
        first = self.key_for(start)
        begin = self._locate(first) if first is not None else self.first
        out = []
        ticks = self._ticks(begin)
        current = next(ticks)
        for nxt in ticks:
            if current.astimezone(UTC) >= hi:
                break
            if nxt.astimezone(UTC) > lo:
                out.append(self._format(current))
            current = nxt
        return out

    def shift(self, key: str, n: int) -> str | None:
        """The key `n` windows after `key` (before, if negative); None before the first one."""
        start = self._locate(key)
        if n >= 0:
            return self._format(next(itertools.islice(self._ticks(start), n, None)))
        # Walk back in steps that certainly contain |n| windows, then count from there.
        # (In UTC: arithmetic on aware datetimes sharing a tzinfo is wall-clock arithmetic.)
        start_utc, first_utc = start.astimezone(UTC), self.start.astimezone(UTC)
        back = timedelta(days=1)
        while True:
            begin = max(first_utc, start_utc - back * abs(n))
            ticks = []
            for t in self._ticks(begin):
                if t.astimezone(UTC) >= start_utc:
                    break
                ticks.append(t)
            if len(ticks) >= -n:
                return self._format(ticks[n])
            if begin == first_utc:
                return None
            back *= 4

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
        if "%:z" not in self.fmt:
            return local.strftime(self.fmt)
        offset = local.utcoffset()
        fmt = self._offset_formats.get(offset)
        if fmt is None:  # a zone has a handful of offsets: build each format once
            assert offset is not None
            fmt = self._offset_formats[offset] = self.fmt.replace("%:z", _format_offset(offset))
        return local.strftime(fmt)

    def _locate(self, key: str) -> datetime:
        """The start instant of the window whose key is exactly `key`, or raise."""
        if not isinstance(key, str):
            raise InvalidPartitionKey(self.name, key, f"a key is a str, not {type(key).__name__}")
        try:
            parsed = datetime.strptime(key, self._parse_fmt)
        except ValueError:
            raise InvalidPartitionKey(
                self.name, key, f"does not match the key format {self.fmt!r}"
            ) from None
        approx = self._to_instant(parsed).astimezone(UTC)
        # Exact match against the ticks around the parsed time: the only way to accept exactly
        # the keys keys() produces (no '2026-3-1', no wall times inside a DST gap, no
        # off-schedule times) without trusting that the format is invertible.
        for t in self._ticks(approx - self._drift - timedelta(minutes=1)):
            if self._format(t) == key:
                if t.astimezone(UTC) < self.first.astimezone(UTC):
                    first = self._format(self.first)
                    raise InvalidPartitionKey(
                        self.name, key, f"before the set's first window {first!r}"
                    )
                return t
            if t.astimezone(UTC) > approx + _SEARCH:
                break
        raise InvalidPartitionKey(
            self.name, key,
            f"not the start of a {self.schedule!r} window in {self.timezone} "
            f"(e.g. {self._format(self.first)!r})",
        )

    def _naive_ticks(self, begin: datetime) -> Iterator[datetime]:
        """Wall-clock ticks ≥ begin (naive, in the set's zone), ascending."""
        s = self.schedule
        if s in ("minute", "hourly", "daily", "weekly", "monthly"):
            # Plain arithmetic for the named schedules: ~20x faster than croniter.
            t = begin.replace(second=0, microsecond=0)
            if t < begin:
                t += timedelta(minutes=1)
            if s == "minute":
                step = timedelta(minutes=1)
            elif s == "hourly":
                if t.minute:
                    t = t.replace(minute=0) + timedelta(hours=1)
                step = timedelta(hours=1)
            elif s in ("daily", "weekly"):
                if t.time() != datetime.min.time():
                    t = datetime.combine(t.date() + timedelta(days=1), datetime.min.time())
                if s == "weekly":
                    t += timedelta(days=(7 - t.weekday()) % 7)
                step = timedelta(days=1 if s == "daily" else 7)
            else:
                if (t.day, t.time()) != (1, datetime.min.time()):
                    t = _add_month(t.replace(day=1, hour=0, minute=0))
                while True:
                    yield t
                    t = _add_month(t)
            while True:
                yield t
                t += step
        it = croniter(self.cron, begin - timedelta(seconds=1))
        while True:
            yield it.get_next(datetime)

    def _instants(self, naive: datetime, following: datetime) -> list[datetime]:
        """The instant(s) a wall-clock tick stands for (0 or 1 in a gap fold, 1 or 2 in a fold)."""
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

    def _ticks(self, begin: datetime) -> Iterator[datetime]:
        """Window starts ≥ begin as aware local datetimes, ascending, unique instants.

        Compared in UTC throughout: aware datetimes sharing a tzinfo compare by wall time and
        ignore `fold`, so 02:00 CEST and 02:00 CET would look equal.
        """
        begin_utc = begin.astimezone(UTC)
        naive_begin = begin.astimezone(self.tz).replace(tzinfo=None) - self._drift
        heap: list[tuple[datetime, datetime]] = []
        last: datetime | None = None
        naive = self._naive_ticks(naive_begin)
        current = next(naive)
        for following in naive:
            for inst in self._instants(current, following):
                heapq.heappush(heap, (inst.astimezone(UTC), inst))
            # Every later wall tick maps to an instant ≥ its wall time - the largest offset:
            # anything earlier than that in the heap is final.
            horizon = following.replace(tzinfo=UTC) - self._max_offset
            while heap and heap[0][0] < horizon:
                utc, inst = heapq.heappop(heap)
                if utc < begin_utc or utc == last:
                    continue
                last = utc
                yield inst
            current = following


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

    def validate(self, key: str, *, conn: psycopg.Connection | None = None) -> str:
        check_storable(self.name, key)
        if conn is not None:
            from talentflow.partitions import registry

            if not registry.has_key(conn, self.name, key):
                raise InvalidPartitionKey(self.name, key, "not registered in this dynamic set")
        return key


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

    def validate(self, key: str, *, conn: psycopg.Connection | None = None) -> str:
        values = self.values(key)
        for dim, value in values.items():
            try:
                self.dimensions[dim].validate(value, conn=conn)
            except InvalidPartitionKey as exc:
                raise InvalidPartitionKey(self.name, key, f"dimension {dim!r}: {exc.reason}"
                                          ) from None
        check_storable(self.name, key)
        return key


def ensure_set(obj: Any) -> PartitionSet:
    if not isinstance(obj, PartitionSet):
        raise TypeError(f"expected a partition set, got {obj!r}")
    return obj
