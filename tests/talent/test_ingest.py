"""Ingest against a real PostgreSQL: good rows load, every bad row is quarantined with its line
and reason, re-ingest changes nothing, edits update, and content is stored verbatim."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psycopg
import pytest

from talentflow import config
from talentflow.talent import generate as gen
from talentflow.talent.ingest import IngestError, ingest
from talentflow.talent.rows import MAX_TEXT_CHARS


def _cand(i: int | str, **over) -> dict:
    row = {"id": f"c-{i}" if isinstance(i, int) else i, "name": f"Person {i}",
           "email": f"p{i}@example.com", "location": "Berlin, Germany",
           "cv_text": f"Backend engineer number {i}. Python, PostgreSQL."}
    row.update(over)
    return row


def _jsonl(path: Path, lines: list[str | dict]) -> Path:
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


def _rows(db: str, sql: str, *args) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _state(db: str, table: str = "candidates") -> dict[str, tuple]:
    return {r[0]: r[1:] for r in _rows(
        db, f"SELECT id, content_hash, change_seq, updated_at FROM {table}")}


def test_sample_files_load_and_reingest_changes_nothing(db: str) -> None:
    for name, count in (("candidates", 240), ("jobs", 220)):
        path = config.data_dir() / f"{name}.jsonl"
        first = ingest(path)  # entity inferred from the columns
        assert (first.entity, first.rows, first.inserted, first.quarantined) == (
            name, count, count, 0)
        before = _state(db, name)
        again = ingest(path, entity=name)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, count)
        assert _state(db, name) == before
    row = _rows(db, "SELECT name, email, location, cv_text, extra FROM candidates "
                    "WHERE id = 'c-00001'")[0]
    shipped = json.loads((config.data_dir() / "candidates.jsonl").open().readline())
    assert row == (shipped["name"], shipped["email"], shipped["location"],
                   shipped["cv_text"], {})


def test_every_kind_of_bad_row_is_quarantined_with_line_and_reason(
        db: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "mixed.jsonl", [
        _cand(1),                                               # 1 good
        '{"id": "c-2", "name": "Broken',                        # 2 malformed JSON
        "",                                                     # 3 blank: skipped
        '["c-4", "not an object"]',                             # 4 array
        {"id": "c-5", "name": "No CV"},                         # 5 missing cv_text
        _cand(6, name=42),                                      # 6 wrong type
        _cand(7, cv_text="nul \u0000 inside"),                  # 7 NUL (JSON escape)
        '{"id": "c-8", "name": "Raw\x00NUL", "cv_text": "x"}',  # 8 raw NUL byte
        _cand("bad id!"),                                       # 9 id pattern
        _cand(1, name="Second c-1"),                            # 10 duplicate id
        _cand(11, cv_text="x" * (MAX_TEXT_CHARS + 1)),          # 11 too long
        '{"id": "c-12", "name": "N", "cv_text": NaN}',          # 12 NaN is not JSON
        _cand(13, name="   "),                                  # 13 blank required
        _cand(14, email="not-an-email"),                        # 14 bad email
        _cand(15, seniority="senior", years=7),                 # 15 good; extra columns
        _cand(16, cv_text="\ud800 lone surrogate"),             # 16 invalid Unicode
        _cand("x" * 65),                                        # 17 id too long
    ])
    report = ingest(path, entity="candidates")
    reasons = dict(report.problems)
    assert sorted(reasons) == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17]
    assert reasons[2].startswith("malformed JSON")
    assert reasons[4] == "expected a JSON object, got array"
    assert reasons[5] == "cv_text: missing required field"
    assert reasons[6] == "name: expected a string, got number"
    assert "cv_text: contains a NUL character" in reasons[7]
    assert reasons[8] == "line contains a NUL byte"
    assert "'bad id!' is not a valid id" in reasons[9]
    assert reasons[10] == "duplicate id 'c-1' (first seen on line 1)"
    assert reasons[11] == "cv_text: too long: 50,001 characters (limit 50,000)"
    assert reasons[12] == "malformed JSON: NaN is not valid JSON"
    assert reasons[13] == "name: must not be empty"
    assert reasons[14] == "email: 'not-an-email' is not an email address"
    assert "unpaired surrogate" in reasons[16]
    assert "is not a valid id" in reasons[17]
    assert (report.rows, report.inserted, report.quarantined, report.quarantine_added) == (
        16, 2, 14, 14)

    assert _rows(db, "SELECT id FROM candidates ORDER BY id") == [("c-1",), ("c-15",)]
    assert _rows(db, "SELECT name FROM candidates WHERE id = 'c-1'") == [("Person 1",)]
    assert _rows(db, "SELECT extra FROM candidates WHERE id = 'c-15'") == [
        ({"seniority": "senior", "years": 7},)]
    stored = _rows(db, "SELECT line, reason, entity, source, raw FROM quarantine ORDER BY line")
    assert [(r[0], r[1]) for r in stored] == sorted(report.problems)
    assert {r[2] for r in stored} == {"candidates"}
    assert {r[3] for r in stored} == {str(path.resolve())}
    raw_by_line = {r[0]: r[4] for r in stored}
    assert raw_by_line[2] == '{"id": "c-2", "name": "Broken'
    assert raw_by_line[8] == '{"id": "c-8", "name": "Raw\\u0000NUL", "cv_text": "x"}'

    # Re-ingest: same report, nothing new anywhere.
    before = _state(db)
    again = ingest(path, entity="candidates")
    assert again.problems == report.problems
    assert (again.inserted, again.updated, again.unchanged, again.quarantine_added) == (
        0, 0, 2, 0)
    assert _state(db) == before
    assert _rows(db, "SELECT count(*) FROM quarantine") == [(14,)]


def test_an_edited_row_is_updated_and_only_it(db: str, tmp_path: Path) -> None:
    rows = [_cand(i) for i in range(1, 6)]
    path = _jsonl(tmp_path / "c.jsonl", rows)
    ingest(path)
    before = _state(db)
    rows[2]["cv_text"] += " Also Go."
    rows[4]["extra"] = {"source": "referral"}
    _jsonl(path, [*rows, _cand(6)])
    report = ingest(path)
    assert (report.inserted, report.updated, report.unchanged) == (1, 2, 3)
    after = _state(db)
    for key in ("c-1", "c-2", "c-4"):
        assert after[key] == before[key]
    for key in ("c-3", "c-5"):
        assert after[key][0] != before[key][0]  # content hash
        assert after[key][1] > before[key][1]  # change_seq: the sensor will see it
    assert after["c-6"][1] > max(v[1] for v in before.values())
    assert _rows(db, "SELECT extra FROM candidates WHERE id = 'c-5'") == [
        ({"source": "referral"},)]


def test_csv_and_jsonl_of_the_same_rows_are_the_same_rows(db: str, tmp_path: Path) -> None:
    rows = list(gen.generate_candidates(30, 9))
    gen.write_csv(rows, tmp_path / "c.csv")
    gen.write_jsonl(rows, tmp_path / "c.jsonl")
    first = ingest(tmp_path / "c.csv")
    assert (first.entity, first.format, first.inserted) == ("candidates", "csv", 30)
    before = _state(db)
    second = ingest(tmp_path / "c.jsonl")
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 30)
    assert _state(db) == before
    # A missing email is NULL whichever way it came (empty CSV field or JSON null).
    no_email = [r["id"] for r in rows if r["email"] is None]
    assert _rows(db, "SELECT id FROM candidates WHERE email IS NULL ORDER BY id") == [
        (i,) for i in no_email]


def test_csv_bad_rows_report_the_line_the_record_starts_on(db: str, tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "title", "company", "location", "description", "salary"])
        w.writerow(["j-1", "Engineer", "Acme", "Remote", "Line one\nline two\nline three",
                    "100k"])                                                  # lines 2-4
        w.writerow(["j-2", "", "Acme", "", "Needs a title", ""])             # line 5
        f.write('j-3,Too,many,fields,here,x,y\n')                            # line 6
        w.writerow(["j-4", "Designer", "", "", "Multi\nline\nbut fine", ""])  # lines 7-9
        f.write('j-5,"Bad "quote",Acme,Remote,desc,\n')                      # line 10
        w.writerow(["j-1", "Again", "", "", "dup", ""])                      # line 11
    report = ingest(path)
    assert report.entity == "jobs"
    assert [line for line, _ in report.problems] == [5, 6, 10, 11]
    reasons = dict(report.problems)
    assert reasons[5] == "title: must not be empty"
    assert reasons[6] == "row has 7 fields but the header has 6"
    assert reasons[10].startswith("malformed CSV")
    assert reasons[11] == "duplicate id 'j-1' (first seen on line 2)"
    assert report.inserted == 2
    assert _rows(db, "SELECT description, company, location, extra FROM jobs WHERE id = 'j-1'"
                 ) == [("Line one\nline two\nline three", "Acme", "Remote", {"salary": "100k"})]
    assert _rows(db, "SELECT company, location FROM jobs WHERE id = 'j-4'") == [(None, None)]
    assert _rows(db, "SELECT raw FROM quarantine WHERE line = 6") == [
        ("j-3,Too,many,fields,here,x,y",)]


def test_text_limit_is_inclusive_and_reports_the_real_length(db: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "big.jsonl", [
        _cand(1, cv_text="a" * MAX_TEXT_CHARS),
        _cand(2, cv_text="b" * 1_234_567),
        _cand(3, name="n" * 201),
    ])
    report = ingest(path)
    assert report.inserted == 1
    assert report.problems == [
        (2, "cv_text: too long: 1,234,567 characters (limit 50,000)"),
        (3, "name: too long: 201 characters (limit 200)"),
    ]


NASTY = [
    "Robert'); DROP TABLE candidates; --",
    'She said "hello" and left \\ a backslash',
    "emoji 👩‍💻🚀 and ümlauts, 漢字, عربى (RTL), e\u0301 combining",
    "tabs\tand\r\nwindows newlines\rand a lone CR",
    "$1 $$ %s %(name)s {0} \\N \\. COPY terminators",
    "  leading and trailing spaces kept  ",
]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_content_is_stored_verbatim(db: str, tmp_path: Path, fmt: str) -> None:
    rows = [_cand(i, name=text[:200], cv_text=text, location=text[:200])
            for i, text in enumerate(NASTY, 1)]
    path = tmp_path / f"nasty.{fmt}"
    (gen.write_jsonl if fmt == "jsonl" else gen.write_csv)(rows, path)
    report = ingest(path)
    assert (report.inserted, report.quarantined) == (len(NASTY), 0)
    stored = dict(_rows(db, "SELECT id, cv_text FROM candidates"))
    assert stored == {r["id"]: r["cv_text"] for r in rows}
    assert _rows(db, "SELECT count(*) FROM candidates WHERE name = location") == [(len(NASTY),)]
    assert ingest(path).unchanged == len(NASTY)


def test_server_columns_of_an_export_are_ignored(db: str, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "export.jsonl", [
        _cand(1, change_seq=99, content_hash="abc", created_at="2020-01-01",
              updated_at="2020-01-01", extra={"k": "v"})])
    assert ingest(path).inserted == 1
    assert _rows(db, "SELECT extra, change_seq <> 99 FROM candidates") == [({"k": "v"}, True)]


def test_unreadable_files_raise_naming_the_file_and_load_nothing(
        db: str, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"missing\.jsonl: no such file"):
        ingest(tmp_path / "missing.jsonl")
    with pytest.raises(IngestError, match=r"unsupported file type '\.txt'"):
        ingest(tmp_path / "rows.txt")
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(json.dumps(_cand(1)).encode() + b"\n"
                       + json.dumps(_cand(2, name="M\u00fcller"), ensure_ascii=False)
                       .encode("latin-1") + b"\n")
    with pytest.raises(IngestError, match=r"latin1\.jsonl: not UTF-8 text .* on line 2"):
        ingest(latin1)
    assert _rows(db, "SELECT count(*) FROM candidates") == [(0,)]  # line 1 rolled back
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(IngestError, match="is a directory"):
        ingest(tmp_path / "dir.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(IngestError, match="no header row"):
        ingest(empty, entity="jobs")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,title,description\nj-1,t,d\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"lacks required column\(s\) name, cv_text"):
        ingest(wrong, entity="candidates")


def test_entity_inference_needs_exactly_one_match(db: str, tmp_path: Path) -> None:
    both = _jsonl(tmp_path / "both.jsonl", [{"id": "x", "cv_text": "a", "description": "b"}])
    with pytest.raises(IngestError, match="cannot tell whether .*both.jsonl"):
        ingest(both)
    neither = tmp_path / "neither.csv"
    neither.write_text("id,name\n1,a\n", encoding="utf-8")
    with pytest.raises(IngestError, match="pass the entity explicitly"):
        ingest(neither)
    # The first line that is a JSON object decides; a malformed first line does not.
    jobs = _jsonl(tmp_path / "jobs.jsonl", ["{oops", {"id": "j-1", "title": "T",
                                                      "description": "D"}])
    report = ingest(jobs)
    assert (report.entity, report.inserted, report.problems[0][0]) == ("jobs", 1, 1)
    # Explicit entity wins; rows lacking its fields are quarantined, not guessed.
    report = ingest(both, entity="candidates")
    assert report.problems == [(1, "name: missing required field")]


def test_spreadsheet_csv_with_bom_and_crlf(db: str, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid,name,email,location,cv_text\r\n"
                     'c-1,Zoë,,Lisbon,"two\r\nlines"\r\n'
                     "c-2,Ana,ana@example.com,,one line\r\n".encode())
    report = ingest(path)
    assert (report.entity, report.inserted, report.problems) == ("candidates", 2, [])
    assert _rows(db, "SELECT id, name, email, location, cv_text FROM candidates ORDER BY id") == [
        ("c-1", "Zoë", None, "Lisbon", "two\r\nlines"),
        ("c-2", "Ana", "ana@example.com", None, "one line"),
    ]
