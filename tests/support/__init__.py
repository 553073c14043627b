"""Test doubles and helpers shared by test folders (import as `tests.support.<module>`)."""
