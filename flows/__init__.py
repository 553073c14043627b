"""Prefect flows of the talent pipeline.

- `candidate_pipeline(candidate_id)` / `job_pipeline(job_id)`: one partition, end to end.
- `talent_batch(...)`: many partitions in one flow run, planned from the bulk status query.
- `matching(kind, keys)`: the cross-join subflow both of them call.
"""
