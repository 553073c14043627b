import json, time, psycopg
from typer.testing import CliRunner
from tests.support.talent_rows import load_rows

def test_peek(db):
    from flows.batch import talent_batch
    from talentflow.cli.app import app
    load_rows(db)
    t=time.time(); r = talent_batch(); print("batch", time.time()-t, r["ok"])
    with psycopg.connect(db) as conn:
        for row in conn.execute("SELECT candidate_id, skills, must_have_skills, title, target_title FROM normalized_candidates"): print(row)
        for row in conn.execute("SELECT job_id, skills, must_have_skills, title, target_title FROM normalized_jobs"): print(row)
        for row in conn.execute("SELECT candidate_id, job_ids, scores FROM candidate_matches"): print(row)
    runner = CliRunner()
    for args in (["matches","c-1","--json"],["matches","c-1"],["matches","j-1","--kind","job"],["matches","c-404"],["matches","c-1","--kind","team"]):
        res = runner.invoke(app, args)
        print(args, res.exit_code, repr(res.stdout), repr(res.stderr))
