"""Prefect Block types talentflow reads at run time (LLM, embedder, database).

Blocks may import the talentflow core; the core never imports blocks.
"""
