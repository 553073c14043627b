"""Prefect tasks of the talent pipeline: small, and pure where they can be.

Each heavy task works on a *batch* of partition keys (one key for the single-key flows), so a
run over many keys costs a few task runs rather than thousands (~15 ms each on the ephemeral
API). Cache keys are per batch of (asset, keys, code version, upstream data versions).
"""
