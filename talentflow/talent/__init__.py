"""The talent domain: source rows, normalized profiles, skills vocabulary, matching maths.

Nothing here knows about Prefect; flows and tasks build on it.
"""
