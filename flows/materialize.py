"""The engine's one entry point, as this project deploys it (prefect.yaml: `materialize`).

    prefect deployment run 'materialize/materialize' --param assets='["candidate_matches"]' \
        --param partition_key=c-00001

The flow loads the project's Definitions (`TALENTFLOW_DEFINITIONS`, default
`tasks.definitions:defs`) unless a `definitions` parameter names another.
"""

from talentflow.engine.flow import materialize_flow

__all__ = ["materialize_flow"]
