"""Ingest against a real PostgreSQL: good rows load, every bad row is quarantined with its line
and reason, re-ingest changes nothing, edits update, and content is stored verbatim."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentflow import config
from talentflow.talent import generate as gen
from talentflow.talent.ingest import IngestError, ingest
from talentflow.talent.rows import MAX_SHORT_CHARS, MAX_TEXT_BYTES


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
        _cand(11, cv_text="x" * (MAX_TEXT_BYTES + 1)),          # 11 too long
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
    assert reasons[11] == ("cv_text: text too long: 1,000,001 bytes > 1 MB "
                           "(limit 1,000,000 bytes)")
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


def test_text_limit_is_inclusive_and_reports_the_real_size(db: str, tmp_path: Path) -> None:
    # The limit is on UTF-8 bytes: 'é' takes two.
    path = _jsonl(tmp_path / "big.jsonl", [
        _cand(1, cv_text="a" * MAX_TEXT_BYTES),
        _cand(2, cv_text="é" * (MAX_TEXT_BYTES // 2)),
        _cand(3, cv_text="b" * 1_234_567),
        _cand(4, cv_text="é" * (MAX_TEXT_BYTES // 2) + "x"),
    ])
    report = ingest(path)
    assert report.inserted == 2
    assert report.problems == [
        (3, "cv_text: text too long: 1,234,567 bytes > 1 MB (limit 1,000,000 bytes)"),
        (4, "cv_text: text too long: 1,000,001 bytes > 1 MB (limit 1,000,000 bytes)"),
    ]
    assert _rows(db, "SELECT id, length(cv_text) FROM candidates ORDER BY id") == [
        ("c-1", MAX_TEXT_BYTES), ("c-2", MAX_TEXT_BYTES // 2)]


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
    rows = [_cand(i, name=text[:MAX_SHORT_CHARS], cv_text=text,
                  location=text[:MAX_SHORT_CHARS])
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
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes((json.dumps(_cand(1)) + "\n").encode("utf-16"))
    with pytest.raises(IngestError, match=r"utf16\.jsonl: UTF-16/UTF-32 text"):
        ingest(utf16)
    assert _rows(db, "SELECT count(*) FROM candidates") == [(0,)]
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


# --------------------------------------------------------------------------------------------
# Bad input never costs a good row: each case checks that every good row is loaded exactly
# once and every bad line is quarantined exactly once, with a useful reason.
# --------------------------------------------------------------------------------------------

CAND_HEADER = "id,name,email,location,cv_text"


def _csv_line(*values: str) -> str:
    """One CSV record as csv.writer writes it (quoted where needed), without line ending."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)  # "\n": quote fields holding one
    return out.getvalue().removesuffix("\n")


def _csv_text(lines: list[str], header: str = CAND_HEADER, end: str = "\n") -> str:
    return "".join(f"{line}{end}" for line in [header, *lines])


def _assert_outcome(db: str, report, good: dict[str, tuple[str, str]],
                    bad: dict[int, str]) -> None:
    """`good`: id -> (name, cv_text) as stored; `bad`: line -> a part of its reason."""
    stored = _rows(db, "SELECT id, name, cv_text FROM candidates")
    assert {r[0]: (r[1], r[2]) for r in stored} == good
    assert len(stored) == len(good) == report.inserted + report.updated + report.unchanged
    lines = [line for line, _ in report.problems]
    assert sorted(lines) == sorted(bad), report.problems  # each bad line exactly once
    for line, reason in report.problems:
        assert bad[line] in reason, (line, reason)
    in_table = _rows(db, "SELECT line, reason FROM quarantine ORDER BY line")
    assert in_table == sorted(report.problems)


def test_an_unclosed_quote_costs_only_its_own_line(db: str, tmp_path: Path) -> None:
    """The issue's first case: the good row after the unclosed quote is loaded, and the
    quarantine holds the bad line alone."""
    path = tmp_path / "c.csv"
    bad_line = 'c-2,Broken,,Berlin,"Python developer, never closed'
    path.write_text(_csv_text([
        "c-1,Ann,,Berlin,First CV",                              # 2
        bad_line,                                                # 3 unclosed in cv_text
        "c-3,Bob,,Paris,Second CV",                              # 4 good: must load
        'c-4,"Unclosed name,,Rome,cv',                           # 5 unclosed in name
        _csv_line("c-5", "Cleo", "", "", "multi\nline, CV"),     # 6-7 good, multi-line
        'c-6,Dan,,Oslo,"open again',                             # 8 unclosed, at the end
    ]), encoding="utf-8")
    report = ingest(path)
    _assert_outcome(db, report, {
        "c-1": ("Ann", "First CV"), "c-3": ("Bob", "Second CV"),
        "c-5": ("Cleo", "multi\nline, CV"),
    }, {
        3: "unclosed quote in field 'cv_text'",
        5: "unclosed quote in field 'name'",
        8: "unclosed quote in field 'cv_text'",
    })
    assert dict(report.problems)[3] == "unclosed quote in field 'cv_text'"
    assert dict(report.problems)[8] == ("unclosed quote in field 'cv_text' (no closing quote "
                                        "before the end of the file)")
    assert _rows(db, "SELECT raw FROM quarantine WHERE line = 3") == [(bad_line,)]
    assert report.rows == 6
    again = ingest(path)
    assert (again.unchanged, again.quarantine_added, again.problems) == (3, 0, report.problems)


def test_multi_line_quoted_texts_still_load(db: str, tmp_path: Path) -> None:
    cv = "Skills: Python, Go, SQL, Docker, Kubernetes\n2019,Acme,Berlin,Engineer,Python\n\nEnd."
    path = tmp_path / "c.csv"
    path.write_text(_csv_text([
        _csv_line("c-1", "Ann", "", "Berlin", cv),                        # 2-5
        _csv_line("c-2", 'Bob "the builder"', "bob@example.com", "", 'He said "hi",\nbye'),
        _csv_line("c-3", "Cleo", "not-an-email", "", "Line one\nline two"),  # 8-9 bad email
        "c-4,Dan,,,plain",                                                  # 10
    ]), encoding="utf-8")
    report = ingest(path)
    _assert_outcome(db, report, {
        "c-1": ("Ann", cv), "c-2": ('Bob "the builder"', 'He said "hi",\nbye'),
        "c-4": ("Dan", "plain"),
    }, {8: "email: 'not-an-email' is not an email address"})
    # The invalid multi-line record is quarantined once, as a whole.
    assert _rows(db, "SELECT raw FROM quarantine") == [
        ('c-3,Cleo,not-an-email,,"Line one\nline two"',)]


def test_each_malformed_csv_line_costs_only_itself(db: str, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(_csv_text([
        "c-1,Ann,,,cv one",                       # 2
        'c-2,"Bad "quote",,,cv',                  # 3 stray quote
        "c-3,Nul\x00here,,,cv",                   # 4 NUL byte
        "   ",                                    # 5 whitespace only: skipped
        "",                                       # 6 blank: skipped
        "c-4,Bob,,,cv four,,",                    # 7 trailing empty fields: fine
        "c-5,Too,many,fields,here,x",             # 8
        "c-6,Too few",                            # 9
        "c-7,Lone\rCR,,,cv",                      # 10 CR inside an unquoted field
        ",,,,",                                   # 11 all empty
        "c-8,Cleo,,,last line without newline",   # 12
    ]).removesuffix("\n").encode())
    report = ingest(path)
    _assert_outcome(db, report, {
        "c-1": ("Ann", "cv one"), "c-4": ("Bob", "cv four"),
        "c-8": ("Cleo", "last line without newline"),
    }, {
        3: "malformed CSV: stray quote in field 'name'",
        4: "line contains a NUL byte",
        8: "row has 6 fields but the header has 5",
        9: "row has 2 fields but the header has 5",
        10: "carriage return",
        11: "is not a valid id",
    })
    assert _rows(db, "SELECT raw FROM quarantine WHERE line = 4") == [
        ("c-3,Nul\\u0000here,,,cv",)]


def test_crlf_bom_and_header_quirks(db: str, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff\r\n"                                         # 1 BOM, blank
                     " id , name,email,location,cv_text,seniority,\r\n"   # 2 spaces, comma
                     'c-1,Ann,,,"two\r\nlines",senior,\r\n'               # 3-4
                     'c-2,Bad,,,"unclosed,\r\n'                            # 5
                     "c-3,Bob,,,fine,\r\n".encode())                       # 6
    report = ingest(path)
    _assert_outcome(db, report, {"c-1": ("Ann", "two\r\nlines"), "c-3": ("Bob", "fine")},
                    {5: "unclosed quote in field 'cv_text'"})
    assert _rows(db, "SELECT id, extra FROM candidates ORDER BY id") == [
        ("c-1", {"seniority": "senior"}), ("c-3", {"seniority": ""})]
    header_only = tmp_path / "header.csv"
    header_only.write_text(CAND_HEADER + "\n", encoding="utf-8")
    assert (ingest(header_only).rows, ingest(header_only).problems) == (0, [])
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,name,cv_txt\nc-1,Ann,cv\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"^cannot ingest .*unknown\.csv: header lacks "
                                          r"required column\(s\) cv_text \(header: id, name, "
                                          r"cv_txt\)$"):
        ingest(unknown, entity="candidates")
    dup = tmp_path / "dup.csv"
    dup.write_text("id,name,name,cv_text\n", encoding="utf-8")
    with pytest.raises(IngestError, match="duplicate column"):
        ingest(dup)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(IngestError, match="no header row"):
        ingest(blank, entity="candidates")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_line_that_is_not_utf8_in_a_utf8_file_is_quarantined(
        db: str, tmp_path: Path, fmt: str) -> None:
    good = [_cand(1, name="Zoë"), _cand(3)]  # "Zoë": the file is UTF-8, this line is not
    if fmt == "csv":
        first, last = (_csv_line(*(r[k] for k in CAND_HEADER.split(","))).encode()
                       for r in good)
        lines = [CAND_HEADER.encode(), first, b"c-2,M\xfcller,,,cv", last]
    else:
        first, last = (json.dumps(r, ensure_ascii=False).encode() for r in good)
        lines = [first, b'{"id": "c-2", "name": "M\xfcller", "cv_text": "cv"}', last]
    path = tmp_path / f"c.{fmt}"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = ingest(path)
    bad_line = 2 if fmt == "jsonl" else 3
    _assert_outcome(db, report, {r["id"]: (r["name"], r["cv_text"]) for r in good},
                    {bad_line: "not UTF-8 text: invalid byte 0xfc"})
    assert _rows(db, "SELECT raw FROM quarantine") == [
        ("c-2,M\\xfcller,,,cv" if fmt == "csv"
         else '{"id": "c-2", "name": "M\\xfcller", "cv_text": "cv"}',)]
    latin1 = tmp_path / f"latin1.{fmt}"
    latin1.write_bytes(path.read_bytes().replace("Zoë".encode(), "Zoë".encode("latin-1")))
    with pytest.raises(IngestError, match=r"not UTF-8 text .* probably Latin-1"):
        ingest(latin1)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_long_name_is_cut_not_rejected_and_the_report_says_so(
        db: str, tmp_path: Path, fmt: str) -> None:
    """The issue's second case: a 500-character name loads, cut to the documented limit."""
    long_name = "Maria " + "x" * 494
    accent = "a" + "e\u0301" * 150  # 301 characters; character 201 is an accent: the cut
    # must not separate it from its e
    rows = [_cand(1, name=long_name), _cand(2, name=accent, location="L" * 250), _cand(3)]
    path = tmp_path / f"c.{fmt}"
    (gen.write_jsonl if fmt == "jsonl" else gen.write_csv)(rows, path)
    report = ingest(path)
    line = 1 if fmt == "jsonl" else 2
    assert (report.inserted, report.quarantined, report.cut) == (3, 0, 3)
    assert report.warnings == [
        (line, f"name cut to {MAX_SHORT_CHARS} characters (was 500)"),
        (line + 1, "name cut to 199 characters (was 301)"),
        (line + 1, f"location cut to {MAX_SHORT_CHARS} characters (was 250)"),
    ]
    assert "3 values cut to the length limit" in report.summary()
    assert _rows(db, "SELECT id, name, location FROM candidates ORDER BY id") == [
        ("c-1", long_name[:MAX_SHORT_CHARS], "Berlin, Germany"),
        ("c-2", accent[:199], "L" * MAX_SHORT_CHARS),
        ("c-3", "Person 3", "Berlin, Germany"),
    ]
    again = ingest(path)
    assert (again.unchanged, again.cut, again.quarantined) == (3, 3, 0)
    assert "value" not in ingest(_jsonl(tmp_path / "short.jsonl", [_cand(4)])).summary()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_huge_text_is_quarantined_with_its_size(db: str, tmp_path: Path, fmt: str) -> None:
    big, kept = "x" * 5_000_000, "y" * 900_000
    rows = [_cand(1), _cand(2, cv_text=big), _cand(3, cv_text=kept)]
    path = tmp_path / f"c.{fmt}"
    (gen.write_jsonl if fmt == "jsonl" else gen.write_csv)(rows, path)
    report = ingest(path)
    line = 2 if fmt == "jsonl" else 3
    _assert_outcome(db, report, {"c-1": ("Person 1", rows[0]["cv_text"]),
                                 "c-3": ("Person 3", kept)},
                    {line: "cv_text: text too long: 5,000,000 bytes > 1 MB"})
    raw, sha = _rows(db, "SELECT raw, raw_sha256 FROM quarantine")[0]
    assert raw.endswith("characters]") and len(raw) < 1_000_100  # head kept, marked
    assert len(sha) == 64
    extra = ingest(_jsonl(tmp_path / "extra.jsonl", [_cand(4, notes="n" * 1_000_000)]))
    assert extra.problems == [(1, "extra: too large: 1,000,013 bytes as JSON > 1 MB (limit "
                                  "1,000,000 bytes)")]


def test_the_documented_limits_are_the_enforced_ones() -> None:
    from talentflow.talent import rows

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    assert f"| {rows.MAX_SHORT_CHARS} characters |" in doc
    assert f"{rows.MAX_TEXT_BYTES:,} bytes" in doc and f"{rows.MAX_EXTRA_BYTES:,} bytes" in doc
    assert f"{rows.MAX_EMAIL_CHARS} characters" in doc
    assert f"1 to {rows.MAX_ID_CHARS} characters" in doc
    from talentflow.talent import ingest as module

    assert f"{module.CSV_FIELD_LIMIT:,} characters" in doc
    assert f"first {module.MAX_RAW_CHARS:,} characters" in doc


# ---- property: random mixes of good rows and broken lines ---------------------------------

_TEXT = st.text(alphabet='abz é,"-\n', min_size=1, max_size=30).filter(str.strip).map(
    lambda t: t.replace("\n", "\n "))  # a line inside a text never starts like a row
_BAD = {  # kind -> (line for id n, part of the reason)
    "unclosed": (lambda n: f'b-{n},Bad,,Berlin,"unclosed, never closed',
                 "unclosed quote in field 'cv_text'"),
    "unclosed_name": (lambda n: f'b-{n},"Bad name,,Berlin,cv', "unclosed quote in field 'name'"),
    "stray": (lambda n: f'b-{n},"Bad "quote",,Berlin,cv', "stray quote in field 'name'"),
    "too_many": (lambda n: f"b-{n},Bad,,Berlin,cv,surplus", "row has 6 fields"),
    "too_few": (lambda n: f"b-{n},Bad", "row has 2 fields"),
    "nul": (lambda n: f"b-{n},Bad\x00,,Berlin,cv", "NUL byte"),
    "latin1": (lambda n: f"b-{n},M\udcfcller,,Berlin,cv", "not UTF-8 text"),
    "no_name": (lambda n: f"b-{n},,,Berlin,cv", "name: must not be empty"),
    "email": (lambda n: f"b-{n},Bad,not-an-email,Berlin,cv", "is not an email address"),
}
_ITEMS = st.lists(st.one_of(
    st.tuples(st.just("good"), st.one_of(_TEXT, st.just("N" * 250)), _TEXT),
    st.tuples(st.sampled_from(sorted(_BAD))),
    st.tuples(st.sampled_from(["blank", "spaces"])),
), max_size=12)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=_ITEMS, crlf=st.booleans(), final_newline=st.booleans())
def test_no_good_row_is_ever_lost_or_duplicated(db: str, tmp_path: Path, items: list[tuple],
                                                crlf: bool, final_newline: bool) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("TRUNCATE candidates, quarantine CASCADE")
    end = "\r\n" if crlf else "\n"
    lines, good, bad = [CAND_HEADER, _csv_line("z-0", "Zoë", "", "", "UTF-8 marker")], {}, {}
    good["z-0"] = ("Zoë", "UTF-8 marker")
    number = 3  # the next line's number
    for n, item in enumerate(items):
        if item[0] == "good":
            name, cv = item[1], item[2]
            lines.append(_csv_line(f"g-{n}", name, "", "Berlin", cv))
            good[f"g-{n}"] = (name[:MAX_SHORT_CHARS], cv)
        elif item[0] in _BAD:
            make, reason = _BAD[item[0]]
            lines.append(make(n))
            bad[number] = reason
        else:
            lines.append("" if item[0] == "blank" else "   ")
        number += lines[-1].count("\n") + 1
    text = end.join(lines) + (end if final_newline else "")
    path = tmp_path / "mix.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    report = ingest(path)
    _assert_outcome(db, report, good, bad)
