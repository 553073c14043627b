"""Where a timezone's UTC offset changes in 2026 (found by scanning, not by the code under
test), for properties checked around real DST transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def offset_changes(zone: str) -> list[datetime]:
    """The UTC instants (to 30 minutes) of 2026 where `zone`'s offset changes; mid-June when
    it never does, so a property still has a moment to look around."""
    tz, out = ZoneInfo(zone), []
    t = datetime(2026, 1, 1, tzinfo=UTC)
    previous = t.astimezone(tz).utcoffset()
    while t.year == 2026:
        t += timedelta(minutes=30)
        offset = t.astimezone(tz).utcoffset()
        if offset != previous:
            out.append(t)
            previous = offset
    return out or [datetime(2026, 6, 1, tzinfo=UTC)]
