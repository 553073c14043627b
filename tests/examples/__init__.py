"""Tests of the definitions modules under examples/."""
