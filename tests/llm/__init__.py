"""Tests of the normalize step providers (talentflow.llm)."""
