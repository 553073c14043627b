"""Other definitions modules on the same engine: `daily_sales` (time partitions, schedules,
asset checks). Each is a package exposing a `Definitions` object as `defs`."""
