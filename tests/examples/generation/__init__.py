"""Tests of the generation system (examples/generation)."""
