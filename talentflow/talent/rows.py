"""What a source row must look like before it may enter `candidates` or `jobs`.

One pydantic model per entity. The rules exist for the tables and the pipeline behind them:

- ids become partition keys (and file names, URLs, Prefect parameters), hence the narrow pattern;
- PostgreSQL `text`/`jsonb` cannot hold NUL characters or lone UTF-16 surrogates, so those are
  rejected here with a reason instead of failing the whole COPY later;
- limits are generous and documented in docs/ingest.md. Short texts (names, titles, companies,
  locations) longer than `MAX_SHORT_CHARS` are cut to it, not rejected: the cut is reported
  through the validation context (see `validate`). Long texts (CV, job description) are kept up
  to `MAX_TEXT_BYTES` (the normalizer reads only the first 20,000 characters anyway); beyond
  it the row is rejected with the real size. Ids and emails keep strict limits: an id is a
  partition key, and a 400-character "email" is not an email;
- values are stored verbatim: nothing is stripped or rewritten, except that an empty optional
  field (`""`, common in CSV) means "absent" and becomes NULL, and the cut above;
- columns the table does not have go into `extra` (jsonb), so no input is silently lost.

Types are strict: a JSON number where a string belongs is an error, not coerced.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

MAX_ID_CHARS = 64  # ids: longer is rejected
ID_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_ID_CHARS - 1}}}$"
MAX_SHORT_CHARS = 200  # names, titles, companies, locations: longer is CUT to this, not rejected
MAX_EMAIL_CHARS = 320  # RFC 5321: 64 + 1 + 255; longer is rejected
MAX_TEXT_BYTES = 1_000_000  # cv_text, description, UTF-8 bytes (1 MB); longer is rejected
MAX_EXTRA_BYTES = 1_000_000  # `extra` serialized as JSON, UTF-8 bytes (1 MB); larger is rejected

# Columns PostgreSQL maintains itself; a re-ingested export carries them, and they must neither
# land in `extra` nor make an unchanged row look changed.
SERVER_COLUMNS = frozenset({"content_hash", "change_seq", "change_xid", "created_at",
                            "updated_at"})

_ID_RE = re.compile(ID_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"\s")


class RowError(ValueError):
    """A row that cannot be stored; `reason` says why in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character, which PostgreSQL text cannot store")
    try:
        value.encode("utf-8")  # ~6x faster than a regex scan; fails only on surrogates
    except UnicodeEncodeError:
        bad = _SURROGATE.search(value)
        raise ValueError(f"contains an unpaired surrogate (U+{ord(bad.group()):04X}), "
                         "which is not valid Unicode") from None
    return value


def _bounded(limit: int):
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"too long: {len(value):,} characters (limit {limit:,})")
        return value

    return check


def _megabytes(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB"


def _utf8_size(value: str) -> int:
    # A character takes 1 to 4 bytes: skip the encoding when the answer is clear anyway.
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


def _text_size(limit: int):
    def check(value: str) -> str:
        if len(value) * 4 > limit:
            size = _utf8_size(value)
            if size > limit:
                raise ValueError(f"text too long: {size:,} bytes > {_megabytes(limit)} "
                                 f"(limit {limit:,} bytes)")
        return value

    return check


class Cut(NamedTuple):
    """A value cut to its limit during validation: which field, how long it was, what is kept."""

    field: str
    length: int
    kept: int


# Characters that belong to the one before them: a cut must not separate them from it.
_JOINERS = frozenset("\u200c\u200d\u034f") | {chr(c) for c in range(0xFE00, 0xFE10)} | {
    chr(c) for c in range(0x1F3FB, 0x1F400)} | {chr(c) for c in range(0xE0100, 0xE01F0)}


def _attached(char: str) -> bool:
    return char in _JOINERS or unicodedata.category(char) in ("Mn", "Me", "Mc")


def cut_text(value: str, limit: int) -> str:
    """`value` cut to at most `limit` characters, without splitting a character from the
    accents, joiners or modifiers that follow it (falls back to a hard cut if it must)."""
    if len(value) <= limit:
        return value
    end = limit
    while end > 0 and (_attached(value[end]) or value[end - 1] in "\u200d\u200c"):
        end -= 1
    return value[:end] if end > 0 else value[:limit]


def _cut_to(limit: int):
    def cut(value: str | None, info: ValidationInfo) -> str | None:
        if value is None or len(value) <= limit:
            return value
        short = cut_text(value, limit)
        if not short.strip():
            raise ValueError(f"too long ({len(value):,} characters) and its first {limit:,} "
                             "characters are blank")
        cuts = info.context.get("cuts") if isinstance(info.context, dict) else None
        if cuts is not None:
            cuts.append(Cut(info.field_name or "?", len(value), len(short)))
        return short

    return cut


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


def _valid_id(value: str) -> str:
    if not _ID_RE.match(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(
            f"{shown!r} is not a valid id: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _valid_email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or _SPACE.search(value):
        raise ValueError(f"{value[:80]!r} is not an email address")
    return value


def _storable_json(value: Any) -> None:
    # jsonb rejects \u0000 and lone surrogates too, in keys as well as nested values.
    if isinstance(value, str):
        _storable(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable_json(item)
    elif isinstance(value, list):
        for item in value:
            _storable_json(item)


def _valid_extra(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value
    _storable_json(value)
    size = _utf8_size(json.dumps(value, ensure_ascii=False))
    if size > MAX_EXTRA_BYTES:
        raise ValueError(f"too large: {size:,} bytes as JSON > {_megabytes(MAX_EXTRA_BYTES)} "
                         f"(limit {MAX_EXTRA_BYTES:,} bytes)")
    return value


Id = Annotated[str, AfterValidator(_valid_id)]
ShortText = Annotated[
    str, AfterValidator(_storable), AfterValidator(_not_blank),
    AfterValidator(_cut_to(MAX_SHORT_CHARS)),
]
OptionalShortText = Annotated[
    str | None, BeforeValidator(_empty_is_none),
    AfterValidator(lambda v: v if v is None else _storable(v)),
    AfterValidator(_cut_to(MAX_SHORT_CHARS)),
]
LongText = Annotated[
    str, AfterValidator(_storable), AfterValidator(_not_blank),
    AfterValidator(_text_size(MAX_TEXT_BYTES)),
]
Email = Annotated[
    str | None, BeforeValidator(_empty_is_none), AfterValidator(
        lambda v: v if v is None else _valid_email(_bounded(MAX_EMAIL_CHARS)(_storable(v)))),
]
Extra = Annotated[dict[str, Any], AfterValidator(_valid_extra)]


class SourceRow(BaseModel):
    """Shared behaviour: strict types, unknown columns folded into `extra`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    TABLE: ClassVar[str]
    # The table's content columns in order (`extra` last), as COPY and the upsert use them.
    COLUMNS: ClassVar[tuple[str, ...]]
    # Columns whose presence says "this file holds this entity" (for inference).
    MARKERS: ClassVar[frozenset[str]]

    id: Id
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fold_unknown_columns(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = cls.model_fields
        unknown = {k: v for k, v in data.items() if k not in known and k not in SERVER_COLUMNS}
        if not unknown and not (SERVER_COLUMNS & data.keys()):
            return data
        row = {k: v for k, v in data.items() if k in known}
        if unknown:
            extra = row.get("extra", {})
            if not isinstance(extra, dict):
                return row | {"extra": extra}  # the type error is reported on `extra`
            clash = sorted(unknown.keys() & extra.keys())
            if clash:
                raise ValueError(f"column {clash[0]!r} appears both as a column and inside "
                                 "extra")
            row["extra"] = {**extra, **unknown}
        return row

    def values(self) -> tuple[Any, ...]:
        """The row's values in `COLUMNS` order, `extra` as JSON text (what COPY sends)."""
        return (*(getattr(self, c) for c in self.COLUMNS[:-1]),
                json.dumps(self.extra, ensure_ascii=False) if self.extra else "{}")


class CandidateRow(SourceRow):
    TABLE: ClassVar[str] = "candidates"
    COLUMNS: ClassVar[tuple[str, ...]] = ("id", "name", "email", "location", "cv_text", "extra")
    MARKERS: ClassVar[frozenset[str]] = frozenset({"cv_text"})

    name: ShortText
    email: Email = None
    location: OptionalShortText = None
    cv_text: LongText


class JobRow(SourceRow):
    TABLE: ClassVar[str] = "jobs"
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id", "title", "company", "location", "description", "extra",
    )
    MARKERS: ClassVar[frozenset[str]] = frozenset({"description"})

    title: ShortText
    company: OptionalShortText = None
    location: OptionalShortText = None
    description: LongText


ROW_MODELS: dict[str, type[SourceRow]] = {"candidates": CandidateRow, "jobs": JobRow}

_JSON_TYPES = {
    str: "string", int: "number", float: "number", bool: "boolean", list: "array",
    dict: "object", type(None): "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def explain(exc: ValidationError) -> str:
    """One line naming every problem of a row, field first: what a user needs to fix it."""
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "missing":
            parts.append(f"{field}: missing required field")
        elif kind in ("string_type", "dict_type"):
            want = "a string" if kind == "string_type" else "a JSON object"
            parts.append(f"{field}: expected {want}, got {_json_type(err['input'])}")
        elif kind == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
            parts.append(f"{field}: {message}" if field else message)
        else:
            parts.append(f"{field}: {err['msg']}" if field else err["msg"])
    return "; ".join(parts)


def validate(entity: str, record: dict[str, Any], cuts: list[Cut] | None = None) -> SourceRow:
    """The validated row, or RowError with the reason. Values cut to their limit (short texts
    past `MAX_SHORT_CHARS`) are appended to `cuts` when it is given."""
    try:
        return ROW_MODELS[entity].model_validate(
            record, context=None if cuts is None else {"cuts": cuts})
    except ValidationError as exc:
        raise RowError(explain(exc)) from None
