"""Load candidates or jobs from a CSV or JSON Lines file into PostgreSQL.

The contract:

- bad input never costs a good row: every bad row is reported with its line number and a
  one-line reason and stored in `quarantine`; good rows still load, each exactly once. A line
  that is not UTF-8 is one bad row, not a bad file. A file that cannot be read at all
  (missing, UTF-16, not CSV/JSONL, a CSV header without the required columns) raises
  `IngestError` naming the file, and loads nothing;
- short texts past their limit (a 500-character name) are cut, not rejected, and counted in
  the report (`cut`, `warnings`); see rows.py and docs/ingest.md for every limit;
- re-ingesting the same file changes nothing: no row is rewritten, `change_seq` stays put (the
  sensor's cursor), and no quarantine row is added (`ON CONFLICT DO NOTHING` on the raw row's
  hash and reason). A row whose content changed is updated;
- ingest only adds and updates: rows missing from the file are left alone;
- one transaction per file: a file that fails half-way leaves the database as it was.

Bulk path: rows stream from the file through validation into `COPY` to a temporary table, then
one `INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE (…) IS DISTINCT FROM (…)` — one round trip
for the whole file instead of one per row.

Line numbers are physical, 1-based lines: for CSV the line a record starts on (a quoted field
may span lines; the header is line 1).

CSV resynchronizes after a broken quote instead of letting it swallow the rest of the file. A
record read from a line that ends inside a quoted field (it continues on the next lines) is
accepted as one record only if it parses into exactly the header's columns and no line inside
it starts a valid row of its own. Otherwise only its first line is quarantined (`unclosed quote
in field 'cv_text'`) and reading resumes on the next line. So a legitimate multi-line CV loads,
and an unclosed quote costs exactly its own line.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from psycopg import sql

from talentflow.db import connect
from talentflow.talent.rows import ID_PATTERN, ROW_MODELS, Cut, RowError, validate

ENTITIES = tuple(ROW_MODELS)
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

# A quoted CSV field (or a whole record) can hold a whole CV; far above the row limits (which
# give the precise reason) but bounded, so an unterminated quote never reads on for ever.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
# Quarantine keeps the raw row for inspection; beyond this it keeps the head (the hash is
# always of the whole row, so re-ingest still recognises it).
MAX_RAW_CHARS = 1_000_000


_ID_RE = re.compile(ID_PATTERN)


class IngestError(Exception):
    """The file as a whole cannot be ingested; the message names the file and the cause."""


@dataclass
class IngestReport:
    path: Path
    entity: str
    format: str
    rows: int = 0  # data rows read, good and bad
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0  # bad rows in this file (each listed in `problems`)
    quarantine_added: int = 0  # of those, newly stored (0 when the file was seen before)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    cut: int = 0  # values of loaded rows cut to their limit (each listed in `warnings`)
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line, what was cut)
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.path} ({self.entity}, {self.format}): {self.rows:,} rows read: "
            f"{self.inserted:,} inserted, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged, {self.quarantined:,} quarantined"
            + (f", {self.cut:,} value{'s' if self.cut != 1 else ''} cut to the length limit"
               if self.cut else "")
            + f" ({self.seconds:.2f} s)"
        )


@dataclass(frozen=True)
class _Bad:
    line: int
    raw: str
    reason: str


# --------------------------------------------------------------------------------------------
# Reading: (line, raw text, record) for each row, or a _Bad
# --------------------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(
            f"cannot ingest {path}: unsupported file type {path.suffix or '(none)'!r} "
            "(expected .csv or .jsonl)"
        )
    return fmt


# (number, text with its line ending, why the line is not UTF-8 text or None); when it is not,
# the text shows the bad bytes as \xNN.
_Line = tuple[int, str, str | None]


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise IngestError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise IngestError(f"cannot read {path}: it is a directory") from None
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None


def _lines(path: Path) -> Iterator[_Line]:
    """Each physical line, decoded on its own so that an invalid byte costs only its line.

    Whether the file is UTF-8 at all is judged over the whole file: when some line is not
    UTF-8 and no line holds UTF-8 text beyond ASCII, the file is in another encoding (Latin-1,
    Windows-1252) and, at its end, IngestError is raised (ingest rolls back: nothing loads),
    since every accented row would be garbled. In a file that is otherwise UTF-8, a line with
    invalid bytes is one bad row (`error`). A UTF-8 BOM (as spreadsheet programs write) is
    dropped; a UTF-16 or UTF-32 file is refused at once.
    """
    first_bad: tuple[int, int] | None = None  # (line, byte)
    utf8_seen = False
    with _open(path) as f:
        for number, raw in enumerate(f, 1):
            if number == 1:
                if raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8):]
                    utf8_seen = True
                elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise IngestError(f"cannot read {path}: UTF-16/UTF-32 text (it starts with "
                                      "a byte-order mark); convert it to UTF-8 first")
            if raw.isascii():
                yield number, raw.decode("ascii"), None
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                first_bad = first_bad or (number, raw[exc.start])
                yield (number, raw.decode("utf-8", "backslashreplace"),
                       f"not UTF-8 text: invalid byte 0x{raw[exc.start]:02x} at byte "
                       f"{exc.start + 1} of the line (convert the file to UTF-8)")
                continue
            utf8_seen = True
            yield number, text, None
    if first_bad is not None and not utf8_seen:
        raise IngestError(
            f"cannot read {path}: not UTF-8 text (invalid byte 0x{first_bad[1]:02x} on line "
            f"{first_bad[0]}, and no line holds UTF-8 text beyond ASCII: the file is probably "
            "Latin-1 or Windows-1252); convert it to UTF-8 first")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and jsonb) does not.
    raise ValueError(f"{name} is not valid JSON")


# One decoder for all lines: json.loads with options builds a new one per call.
_decode_json = json.JSONDecoder(parse_constant=_reject_constant).decode


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, str, dict] | _Bad]:
    for number, text, error in _lines(path):
        raw = text.rstrip("\r\n")
        if not raw.strip():
            continue  # blank lines (a trailing newline, spacing) are not rows
        if error:
            yield _Bad(number, raw, error)
            continue
        if "\x00" in raw:
            yield _Bad(number, raw, "line contains a NUL byte")
            continue
        try:
            record = _decode_json(raw)
        except json.JSONDecodeError as exc:
            yield _Bad(number, raw, f"malformed JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:
            msg = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            yield _Bad(number, raw, f"malformed JSON: {msg}")
            continue
        if not isinstance(record, dict):
            yield _Bad(number, raw, f"expected a JSON object, got {_json_type(record)}")
            continue
        yield number, raw, record


# ---- CSV ------------------------------------------------------------------------------------


class _Window:
    """Random access to a file's physical lines from the oldest line not yet released: CSV
    reading looks ahead (to see where a quoted field ends) and backs up (to resynchronize)."""

    def __init__(self, lines: Iterator[_Line]) -> None:
        self._lines = lines
        self._texts: list[str] = []
        self._errors: dict[int, str] = {}  # line number -> why it is not UTF-8
        self._first = 1  # the number of _texts[0]
        self._done = False

    def text(self, number: int) -> str | None:
        """Line `number` with its line ending; None past the end of the file."""
        index = number - self._first
        if index < len(self._texts):
            return self._texts[index]
        while not self._done and index >= len(self._texts):
            self._fill()
        return self._texts[index] if index < len(self._texts) else None

    def _fill(self) -> None:
        texts, errors, before = self._texts, self._errors, len(self._texts)
        for number, text, error in islice(self._lines, 1024):
            texts.append(text)
            if error:
                errors[number] = error
        if len(texts) - before < 1024:
            self._done = True

    def texts(self, start: int, end: int) -> list[str]:
        """Lines `start` to `end` (inclusive), all already read."""
        return self._texts[start - self._first:end - self._first + 1]

    def error(self, start: int, end: int) -> tuple[int, str] | None:
        """The first line from `start` to `end` that is not UTF-8, and why."""
        if self._errors:
            for number in range(start, end + 1):
                if number in self._errors:
                    return number, self._errors[number]
        return None

    def release(self, number: int) -> None:
        """Forget the lines before `number`."""
        drop = number - self._first
        if drop > 0:
            del self._texts[:drop]
            for gone in [n for n in self._errors if n < number]:
                del self._errors[gone]
            self._first = number


@dataclass(frozen=True)
class _Record:
    """What csv.reader makes of the lines from `start`: the values, or its complaint."""

    start: int
    end: int  # the last physical line read
    values: list[str] | None
    error: str | None
    stop: str | None  # why reading stopped inside a quoted field: "eof" or "limit"


# The inside of a quoted field up to its closing quote (or the end): text and doubled quotes.
_QUOTED = re.compile(r'[^"]*(?:""[^"]*)*')


def _quote_trouble(text: str) -> tuple[str, int] | None:
    """("open", field) when the line (without its ending) ends inside the quoted field number
    `field` (0-based); ("stray", field) when a quoted field's closing quote is followed by
    something other than a comma; None when the line's quotes are fine. As csv.reader reads:
    a quote is special only at the start of a field."""
    pos, column, size = 0, 0, len(text)
    while True:
        if text.startswith('"', pos):
            end = _QUOTED.match(text, pos + 1).end()
            if end >= size:
                return "open", column
            pos = end + 1
            if pos < size and text[pos] != ",":
                return "stray", column
        comma = text.find(",", pos)
        if comma < 0:
            return None
        pos, column = comma + 1, column + 1


class _CsvReader:
    def __init__(self, path: Path, valid: Callable[[dict[str, Any]], bool] | None) -> None:
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
        self.path = path
        self.lines = _Window(_lines(path))
        self.valid = valid
        self.header: list[str] = []
        self._id_column: int | None = None

    # -- reading one record ------------------------------------------------------------------

    def read(self, start: int) -> _Record | None:
        """The record csv.reader reads from line `start` (strict: a stray quote is an error),
        reading on while a quoted field is open, up to CSV_FIELD_LIMIT characters."""
        first = self.lines.text(start)
        if first is None:
            return None
        if '"' not in first:
            # Without a quote the record is this line (the common case: no look-ahead).
            try:
                return _Record(start, start, next(csv.reader((first,), strict=True), []),
                               None, None)
            except csv.Error as exc:
                return _Record(start, start, None, str(exc), None)
        end, stop = start, None

        def feed() -> Iterator[str]:
            nonlocal end, stop
            number, total, text = start, 0, first
            while True:
                total += len(text)
                if number > start and total > CSV_FIELD_LIMIT:
                    stop = "limit"
                    return
                end = number
                yield text
                number += 1
                text = self.lines.text(number)
                if text is None:
                    stop = "eof"
                    return

        try:
            values = next(csv.reader(feed(), strict=True), [])
            error = None
        except csv.Error as exc:
            values, error = None, str(exc)
        return _Record(start, end, values, error, stop if error else None)

    def raw(self, start: int, end: int) -> str:
        return "".join(self.lines.texts(start, end)).rstrip("\r\n")

    def shaped(self, rec: _Record) -> list[str] | None:
        """The record's values, one per header column (surplus empty fields, as a trailing
        comma makes, are dropped), or None when it does not parse into the header's columns."""
        values, width = rec.values, len(self.header)
        if values is None:
            return None
        if len(values) > width and not any(v.strip() for v in values[width:]):
            values = values[:width]
        return values if len(values) == width else None

    @staticmethod
    def blank(rec: _Record) -> bool:
        return rec.error is None and rec.start == rec.end and (
            not rec.values or (len(rec.values) == 1 and not rec.values[0].strip()))

    def _field_name(self, column: int) -> str:
        return self.header[column] if column < len(self.header) else f"column {column + 1}"

    def _csv_reason(self, rec: _Record) -> str:
        text = self.lines.text(rec.start).rstrip("\r\n")
        trouble = _quote_trouble(text)
        if trouble is not None and trouble[0] == "open":
            reason = f"unclosed quote in field {self._field_name(trouble[1])!r}"
            if rec.stop == "eof":
                return f"{reason} (no closing quote before the end of the file)"
            if rec.stop == "limit":
                return f"{reason} (no closing quote within {CSV_FIELD_LIMIT:,} characters)"
            return reason
        error = rec.error or ""
        if trouble is not None and error.startswith("',' expected"):
            return (f"malformed CSV: stray quote in field {self._field_name(trouble[1])!r} (a "
                    'quote inside a quoted field must be doubled: "")')
        if error.startswith("field larger than field limit"):
            return f"malformed CSV: a field longer than {CSV_FIELD_LIMIT:,} characters"
        if error.startswith("new-line character"):
            return ("malformed CSV: a carriage return (\\r) inside an unquoted field (quote "
                    "the field)")
        if not error:  # it parsed, but across the start of a valid row
            return "malformed CSV: a quoted field runs into the rows after it"
        return f"malformed CSV: {error}"

    def _content(self, rec: _Record, values: list[str]) -> tuple[dict[str, Any] | None, str]:
        """The record as a dict, or None and the reason it cannot be one."""
        bad = self.lines.error(rec.start, rec.end)
        if bad is not None:
            number, error = bad
            return None, error if number == rec.start else f"line {number}: {error}"
        if any("\x00" in v for v in values):
            return None, "line contains a NUL byte"
        record: dict[str, Any] = dict(zip(self.header, values, strict=True))
        if "extra" in record:
            # In CSV, `extra` holds JSON text (as an export of the table writes it).
            text = record["extra"]
            try:
                record["extra"] = _decode_json(text) if text.strip() else {}
            except (ValueError, RecursionError):
                return None, "extra: not valid JSON"
        return record, ""

    # -- resynchronizing ---------------------------------------------------------------------

    def _starts_valid_row(self, number: int, text: str) -> bool:
        """Whether line `number` (`text`) starts a record that parses and validates."""
        if '"' not in text:
            # No quote: the fields are the comma-separated parts. Most lines inside a text
            # fail here cheaply: too few commas, or no valid id where the id belongs.
            if text.count(",") < len(self.header) - 1:
                return False
            column = self._id_column
            if column is not None and not _ID_RE.match(
                    text.rstrip("\r\n").split(",", column + 1)[column]):
                return False
        rec = self.read(number)
        values = self.shaped(rec) if rec is not None else None
        if values is None:
            return False
        record, _ = self._content(rec, values)
        return record is not None and self.valid is not None and self.valid(record)

    def _whole(self, rec: _Record) -> bool:
        """Whether a record spanning several lines is one record: it parses into the header's
        columns and no line inside it starts a valid row (else the quote opened on its first
        line swallowed the rows after it)."""
        return self.shaped(rec) is not None and not any(
            self._starts_valid_row(number, text) for number, text in enumerate(
                self.lines.texts(rec.start + 1, rec.end), rec.start + 1))

    # -- the file ----------------------------------------------------------------------------

    def read_header(self, required: tuple[str, ...] | None) -> int:
        """Sets `header` (checked against the `required` columns); returns its next line."""
        path, number = self.path, 1
        while (text := self.lines.text(number)) is not None and not text.strip():
            number += 1  # blank lines before the header
        if text is None:
            raise IngestError(f"cannot read {path}: no header row")
        bad = self.lines.error(number, number)
        if bad is not None:
            raise IngestError(f"cannot read {path}: the header (line {number}) is {bad[1]}")
        rec = self.read(number)
        if rec.error:
            raise IngestError(f"cannot read {path}: malformed CSV header on line {number} "
                              f"({rec.error})")
        if any("\x00" in v for v in rec.values):
            raise IngestError(f"cannot read {path}: the header contains NUL bytes (is it "
                              "UTF-16? convert it to UTF-8)")
        header = [h.strip() for h in rec.values]
        while header and not header[-1]:
            header.pop()  # a trailing comma
        if not header:
            raise IngestError(f"cannot read {path}: no header row")
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise IngestError(f"cannot read {path}: duplicate column(s) in header: "
                              f"{', '.join(dupes)}")
        if required is not None:
            missing = [c for c in required if c not in header]
            if missing:
                raise IngestError(f"cannot ingest {path}: header lacks required column(s) "
                                  f"{', '.join(missing)} (header: {', '.join(header)})")
        self.header = header
        self._id_column = header.index("id") if "id" in header else None
        return rec.end + 1

    def records(self, number: int) -> Iterator[tuple[int, str, dict] | _Bad]:
        width = len(self.header)
        while (rec := self.read(number)) is not None:
            if rec.end > rec.start and not self._whole(rec):
                # Resynchronize: only the line that opened the quote is bad.
                yield _Bad(number, self.raw(number, number), self._csv_reason(rec))
                number += 1
            elif self.blank(rec):
                number = rec.end + 1
            else:
                raw = self.raw(rec.start, rec.end)
                values = self.shaped(rec)
                if rec.error:
                    yield _Bad(number, raw, self._csv_reason(rec))
                elif values is None:
                    yield _Bad(number, raw, f"row has {len(rec.values)} fields but the header "
                                            f"has {width}")
                else:
                    record, reason = self._content(rec, values)
                    yield (number, raw, record) if record is not None else _Bad(
                        number, raw, reason)
                number = rec.end + 1
            self.lines.release(number)


def _csv_rows(path: Path, model_columns: tuple[str, ...] | None,
              valid: Callable[[dict[str, Any]], bool] | None = None,
              ) -> Iterator[list[str] | tuple[int, str, dict] | _Bad]:
    """First yields the header; then rows as for JSONL. `model_columns`, when known, are the
    entity's required columns, checked against the header; `valid` tells whether a record is
    a valid row: it decides whether a multi-line record swallowed rows (only the header is
    read without it)."""
    reader = _CsvReader(path, valid)
    first = reader.read_header(model_columns)
    yield reader.header
    yield from reader.records(first)


def _infer_entity(path: Path, fmt: str) -> str:
    columns: list[str] | None = None
    if fmt == "csv":
        with closing(_csv_rows(path, None)) as rows:
            columns = next(rows)  # type: ignore[assignment]
    else:
        with closing(_jsonl_rows(path)) as items:
            for item in items:
                if not isinstance(item, _Bad):
                    columns = list(item[2])
                    break
        if columns is None:
            raise IngestError(f"cannot tell whether {path} holds candidates or jobs: no JSON "
                              "object in it; pass the entity explicitly")
    matches = [e for e, m in ROW_MODELS.items() if m.MARKERS.issubset(columns)]
    if len(matches) != 1:
        markers = ", ".join(f"{e} have {'/'.join(sorted(m.MARKERS))}"
                            for e, m in ROW_MODELS.items())
        raise IngestError(
            f"cannot tell whether {path} holds candidates or jobs from its columns "
            f"({', '.join(columns)}); {markers}; pass the entity explicitly"
        )
    return matches[0]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _stored_raw(raw: str) -> str:
    # text cannot hold NUL; show it as the JSON escape so the row stays readable.
    raw = raw.replace("\x00", "\\u0000")
    if len(raw) > MAX_RAW_CHARS:
        raw = f"{raw[:MAX_RAW_CHARS]}… [truncated: {len(raw):,} characters]"
    return raw


def _upsert_sql(table: str, columns: tuple[str, ...]) -> sql.Composed:
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    content = [c for c in columns if c != "id"]
    sets = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in content)
    old = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in content)
    new = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in content)
    # The WHERE skips rows whose content is identical: no new row version, no trigger, no
    # change_seq bump. `xmax = 0` tells a fresh insert from an update in RETURNING.
    return sql.SQL(
        """
        WITH upserted AS (
            INSERT INTO {table} AS t ({cols})
            SELECT {cols} FROM _ingest_rows ORDER BY id
            ON CONFLICT (id) DO UPDATE SET {sets}
            WHERE ({old}) IS DISTINCT FROM ({new})
            RETURNING (t.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        FROM upserted
        """
    ).format(table=sql.Identifier(table), cols=cols, sets=sets, old=old, new=new)


def ingest(path: Path | str, entity: str | None = None) -> IngestReport:
    """Load `path` (.csv or .jsonl) into the `entity` table (`candidates` or `jobs`; inferred
    from the columns when None). Returns what happened; raises IngestError when the file
    cannot be read at all, with nothing loaded."""
    started = time.perf_counter()
    path = Path(path)
    fmt = _format_of(path)
    if entity is not None and entity not in ROW_MODELS:
        raise ValueError(f"entity must be one of {', '.join(ENTITIES)}, not {entity!r}")
    if not path.is_file():
        next(_lines(path), None)  # raises the right IngestError (missing, directory, …)
        raise IngestError(f"cannot read {path}: not a regular file")
    if entity is None:
        entity = _infer_entity(path, fmt)
    model = ROW_MODELS[entity]
    required = tuple(n for n, f in model.model_fields.items() if f.is_required())
    if fmt == "csv":
        # Check the header before touching the database: a wrong file is the user's first
        # problem to hear about, whatever state the database is in.
        with closing(_csv_rows(path, required)) as rows:
            next(rows)
    report = IngestReport(path=path, entity=entity, format=fmt)
    bad: list[_Bad] = []
    first_line: dict[str, int] = {}

    def valid(record: dict[str, Any]) -> bool:
        try:
            validate(entity, record)
        except RowError:
            return False
        return True

    with connect() as conn, conn.cursor() as cur:
        column_defs = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL("jsonb" if c == "extra"
                                                               else "text"))
            for c in model.COLUMNS)
        cur.execute(sql.SQL("CREATE TEMP TABLE _ingest_rows ({}) ON COMMIT DROP")
                    .format(column_defs))
        copy_rows = sql.SQL("COPY _ingest_rows ({}) FROM STDIN").format(
            sql.SQL(", ").join(map(sql.Identifier, model.COLUMNS)))
        with cur.copy(copy_rows) as copy:
            if fmt == "csv":
                items: Iterator[Any] = _csv_rows(path, required, valid)
                next(items)  # the header
            else:
                items = _jsonl_rows(path)
            for item in items:
                report.rows += 1
                if isinstance(item, _Bad):
                    bad.append(item)
                    continue
                line, raw, record = item
                cuts: list[Cut] = []
                try:
                    row = validate(entity, record, cuts)
                except RowError as exc:
                    bad.append(_Bad(line, raw, exc.reason))
                    continue
                seen = first_line.setdefault(row.id, line)
                if seen != line:
                    bad.append(_Bad(line, raw, f"duplicate id {row.id!r} "
                                               f"(first seen on line {seen})"))
                    continue
                for cut in cuts:
                    report.cut += 1
                    report.warnings.append((line, f"{cut.field} cut to {cut.kept:,} characters "
                                                  f"(was {cut.length:,})"))
                copy.write_row(row.values())

        inserted, updated = cur.execute(_upsert_sql(model.TABLE, model.COLUMNS)).fetchone()
        report.inserted, report.updated = inserted, updated
        report.unchanged = len(first_line) - inserted - updated

        if bad:
            cur.execute("CREATE TEMP TABLE _ingest_bad (line int, raw text, reason text, "
                        "raw_sha256 text) ON COMMIT DROP")
            with cur.copy("COPY _ingest_bad (line, raw, reason, raw_sha256) FROM STDIN") as cp:
                for b in bad:
                    cp.write_row((b.line, _stored_raw(b.raw), b.reason, _sha256(b.raw)))
            cur.execute(
                """
                INSERT INTO quarantine (entity, source, line, raw, reason, raw_sha256)
                SELECT %s, %s, line, raw, reason, raw_sha256 FROM _ingest_bad ORDER BY line
                ON CONFLICT (entity, raw_sha256, reason) DO NOTHING
                """,
                (entity, str(path.resolve())),
            )
            report.quarantine_added = cur.rowcount

    report.quarantined = len(bad)
    report.problems = [(b.line, b.reason) for b in bad]
    report.seconds = time.perf_counter() - started
    return report
