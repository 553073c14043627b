"""LLM cost tracking: prices, the `llm_calls` ledger, reports, estimates and budgets.

Core only: nothing here imports Prefect. The application side (the normalize asset writing
ledger rows for the calls it makes, the budget guard's wiring, the run's cost artifact) lives
in `tasks/costs.py`; the CLI in `talentflow/cli/costs.py`. See docs/costs.md.
"""
