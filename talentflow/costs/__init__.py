"""LLM cost tracking: prices, the `llm_calls` ledger, reports, estimates and budgets.

Core only: nothing here imports Prefect. The Prefect side (the task hook that writes the
ledger, the budget guard's wiring into the normalize task, the run's cost artifact) lives in
`tasks/cost_hook.py`; the CLI in `talentflow/cli/costs.py`. See docs/costs.md.
"""
