"""Serving the event-driven path: a Prefect server, our deployments, a warm in-process runner.

This package is a front door (like the CLI): it loads flows from `prefect.yaml` entrypoints at
run time and is never imported by flows, tasks or the partition layer.
"""
