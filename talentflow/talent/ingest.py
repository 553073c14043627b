"""Load candidates or jobs from a CSV or JSON Lines file into PostgreSQL.

The contract:

- every bad row is reported with its line number and reason and stored in `quarantine`; good
  rows still load. A file that cannot be read at all (missing, not UTF-8, not CSV/JSONL, a CSV
  header without the required columns) raises `IngestError` naming the file, and loads nothing;
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
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from talentflow.db import connect
from talentflow.talent.rows import ROW_MODELS, RowError, validate

ENTITIES = tuple(ROW_MODELS)
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

# A quoted CSV field can hold a whole CV; far above the row limits (which give the precise
# reason) but bounded, so an unterminated quote cannot swallow a large file into one field.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
# Quarantine keeps the raw row for inspection; beyond this it keeps the head (the hash is
# always of the whole row, so re-ingest still recognises it).
MAX_RAW_CHARS = 1_000_000


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
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.path} ({self.entity}, {self.format}): {self.rows:,} rows read: "
            f"{self.inserted:,} inserted, {self.updated:,} updated, "
            f"{self.unchanged:,} unchanged, {self.quarantined:,} quarantined "
            f"({self.seconds:.2f} s)"
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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text with its line ending) for each physical line; strict UTF-8.

    Lines are decoded one by one so an invalid byte is reported at its line. A UTF-8 BOM (as
    spreadsheet programs write) is dropped.
    """
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise IngestError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise IngestError(f"cannot read {path}: it is a directory") from None
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        for number, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"cannot read {path}: not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} "
                    f"on line {number}); convert it to UTF-8 first"
                ) from None
            if number == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield number, text


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and jsonb) does not.
    raise ValueError(f"{name} is not valid JSON")


# One decoder for all lines: json.loads with options builds a new one per call.
_decode_json = json.JSONDecoder(parse_constant=_reject_constant).decode


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, str, dict] | _Bad]:
    for number, text in _lines(path):
        raw = text.rstrip("\r\n")
        if not raw.strip():
            continue  # blank lines (a trailing newline, spacing) are not rows
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


class _Tap:
    """Feeds lines to csv.reader and remembers them, so each record keeps its raw text and
    the line it started on."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.last = 0
        self.taken: list[str] = []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        number, text = next(self._lines)
        self.last = number
        self.taken.append(text)
        return text

    def drain(self) -> str:
        raw = "".join(self.taken).rstrip("\r\n")
        self.taken.clear()
        return raw


def _csv_rows(path: Path, model_columns: tuple[str, ...] | None
              ) -> Iterator[list[str] | tuple[int, str, dict] | _Bad]:
    """First yields the header; then rows as for JSONL. `model_columns`, when known, are the
    entity's required columns, checked against the header."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    tap = _Tap(_lines(path))
    # strict: a stray quote is an error for that record, not silently merged text.
    reader = csv.reader(tap, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise IngestError(f"cannot read {path}: malformed CSV header ({exc})") from None
    tap.drain()
    if not header or not any(h.strip() for h in header):
        raise IngestError(f"cannot read {path}: no header row")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise IngestError(f"cannot read {path}: duplicate column(s) in header: "
                          f"{', '.join(dupes)}")
    if model_columns is not None:
        missing = [c for c in model_columns if c not in header]
        if missing:
            raise IngestError(f"cannot ingest {path}: header lacks required column(s) "
                              f"{', '.join(missing)} (header: {', '.join(header)})")
    yield header
    width = len(header)
    while True:
        start = tap.last + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _Bad(start, tap.drain(), f"malformed CSV: {exc}")
            continue
        raw = tap.drain()
        if not values:
            continue  # a blank line
        if len(values) != width:
            yield _Bad(start, raw, f"row has {len(values)} fields but the header has {width}")
            continue
        if "\x00" in raw:
            yield _Bad(start, raw, "line contains a NUL byte")
            continue
        record: dict[str, Any] = dict(zip(header, values, strict=True))
        if "extra" in record:
            # In CSV, `extra` holds JSON text (as an export of the table writes it).
            text = record["extra"]
            try:
                record["extra"] = _decode_json(text) if text.strip() else {}
            except (ValueError, RecursionError):
                yield _Bad(start, raw, "extra: not valid JSON")
                continue
        yield start, raw, record


def _infer_entity(path: Path, fmt: str) -> str:
    columns: list[str] | None = None
    if fmt == "csv":
        with closing(_csv_rows(path, None)) as rows:
            columns = next(rows)  # type: ignore[assignment]
    else:
        with closing(_jsonl_rows(path)) as rows:
            for item in rows:
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
                items: Iterator[Any] = _csv_rows(path, required)
                next(items)  # the header
            else:
                items = _jsonl_rows(path)
            for item in items:
                report.rows += 1
                if isinstance(item, _Bad):
                    bad.append(item)
                    continue
                line, raw, record = item
                try:
                    row = validate(entity, record)
                except RowError as exc:
                    bad.append(_Bad(line, raw, exc.reason))
                    continue
                seen = first_line.setdefault(row.id, line)
                if seen != line:
                    bad.append(_Bad(line, raw, f"duplicate id {row.id!r} "
                                               f"(first seen on line {seen})"))
                    continue
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
