"""`talentflow generate` and `talentflow ingest` through the real CLI (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from talentflow.cli.app import app
from talentflow.talent import generate as gen

runner = CliRunner()


def test_generate_writes_both_files_deterministically(tmp_path: Path) -> None:
    args = ["generate", "--candidates", "25", "--jobs", "15", "--seed", "3"]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "wrote 25 candidates" in first.output and "wrote 15 jobs" in first.output
    runner.invoke(app, [*args, "--out", str(tmp_path / "b")])
    for name, count in (("candidates", 25), ("jobs", 15)):
        a = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{name}.jsonl").read_bytes()
        assert len(a.splitlines()) == count
    rows = [json.loads(line) for line in (tmp_path / "a" / "jobs.jsonl").read_text().splitlines()]
    assert rows == list(gen.generate_jobs(15, 3))


def test_generate_csv_and_defaults_reproduce_the_sample(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--format", "csv",
                                 "--jobs", "0"])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "candidates.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == ",".join(gen.CANDIDATE_COLUMNS)
    assert (tmp_path / "jobs.csv").read_text() == ""
    assert runner.invoke(app, ["generate", "--out", str(tmp_path)]).exit_code == 0
    shipped = Path(__file__).resolve().parents[2] / "data" / "candidates.jsonl"
    assert (tmp_path / "candidates.jsonl").read_bytes() == shipped.read_bytes()


def test_generate_rejects_bad_options(tmp_path: Path) -> None:
    assert runner.invoke(app, ["generate", "--out", str(tmp_path), "--candidates", "-1"]
                         ).exit_code == 2
    assert runner.invoke(app, ["generate", "--out", str(tmp_path), "--format", "xml"]
                         ).exit_code == 2
    assert runner.invoke(app, ["generate"]).exit_code == 2  # --out is required


def test_ingest_prints_the_report_and_bad_rows(db: str, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    rows = list(gen.generate_candidates(4, 1))
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"id": "c-x"')  # line 3
    lines.append(json.dumps({**rows[0], "name": ""}))  # line 6: empty name (before dup id)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "(candidates, jsonl): 6 rows read: 4 inserted, 0 updated, 0 unchanged, " \
           "2 quarantined" in result.output
    assert "line 3: malformed JSON" in result.output
    assert "line 6: name: must not be empty" in result.output
    assert "2 new in the quarantine table" in result.output

    again = runner.invoke(app, ["ingest", str(path), "--entity", "candidates", "--show", "1"])
    assert again.exit_code == 0, again.output
    assert "0 inserted, 0 updated, 4 unchanged, 2 quarantined" in again.output
    assert "already in the quarantine table" in again.output
    assert "line 3:" in again.output and "line 6:" not in again.output
    assert "… and 1 more" in again.output
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM candidates").fetchone() == (4,)


def test_ingest_unreadable_file_exits_non_zero(db: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "nope.jsonl: no such file" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,name,cv_text\nc-1,J\xe9r\xf4me,cv\n")
    result = runner.invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "bad.csv" in result.output
    assert runner.invoke(app, ["ingest", str(bad), "--entity", "people"]).exit_code == 2


def test_help_texts() -> None:
    for command in ("generate", "ingest"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
    assert "quarantine" in runner.invoke(app, ["ingest", "--help"]).output
    assert "byte-identical" in runner.invoke(app, ["generate", "--help"]).output
