"""The daily sales system's partition sets: one key per calendar day and per week, in the
shops' timezone (a sale at 23:30 New York time belongs to that New York day, not to the UTC
date it was stored with)."""

from __future__ import annotations

from talentflow.partitions.sets import TimeWindowPartitions, Weekday

TIMEZONE = "America/New_York"
START = "2024-01-01"  # a Monday: the first week is a whole one

# Keys "2024-01-01"...: every day that has ended in TIMEZONE (yesterday is the last key).
days = TimeWindowPartitions.daily("sales_days", START, timezone=TIMEZONE)
# Keys are the Monday each week starts on; a week is a key once its Sunday has ended.
weeks = TimeWindowPartitions.weekly("sales_weeks", START, day_of_week=Weekday.MONDAY,
                                    timezone=TIMEZONE)
