"""The inputs every generation reads, as source assets versioned by content:

- `combos`: `data/generation/combos.csv` (columns `combo`, `concepts`; concepts separated by
  `;`): one partition per combo, its concepts the value;
- `draft_templates`, `essay_templates`, `evaluation_templates`:
  `data/generation/templates/<stage>/<name>.txt`, one partition per template name, its text
  the value.

Observing them (every run, and `talentflow status`) registers new names and records a new
version for an edited file, so exactly the generations that read it become stale. A removed
file's key stays registered; a generation that reads it fails with "has no value".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from examples.generation.partitions import STAGES, combos, templates
from examples.generation.paths import combos_file, templates_dir
from talentflow.engine import source_asset
from talentflow.partitions.assets import Asset
from talentflow.partitions.versions import data_version

COMBO_COLUMNS = ("combo", "concepts")


class InputError(ValueError):
    """A malformed input file; the message names the file and line."""


def read_combos() -> dict[str, list[str]]:
    """{combo id: its concepts} from combos.csv ({} if the file does not exist)."""
    path = combos_file()
    if not path.exists():
        return {}
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    if tuple(reader.fieldnames or ()) != COMBO_COLUMNS:
        raise InputError(f"{path}: the header must be {','.join(COMBO_COLUMNS)}, "
                         f"not {','.join(reader.fieldnames or ())}")
    out: dict[str, list[str]] = {}
    for row in reader:
        line = reader.line_num
        combo = (row["combo"] or "").strip()
        concepts = [c.strip() for c in (row["concepts"] or "").split(";") if c.strip()]
        if not combo:
            raise InputError(f"{path}, line {line}: empty combo id")
        if combo in out:
            raise InputError(f"{path}, line {line}: combo {combo!r} is listed twice")
        if not concepts:
            raise InputError(f"{path}, line {line}: combo {combo!r} has no concepts")
        out[combo] = concepts
    return out


def combo_value(combo: str, concepts: list[str]) -> dict[str, object]:
    return {"combo": combo, "concepts": concepts}


def read_templates(stage: str) -> dict[str, str]:
    """{template name: text} of one stage (file stem -> file content)."""
    folder = templates_dir(stage)
    if not folder.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8")
            for p in sorted(folder.glob("*.txt")) if p.is_file()}


def _combo_rows(keys: Iterable[str] | None = None) -> dict[str, dict[str, object]]:
    every = read_combos()
    wanted = every if keys is None else {k: every[k] for k in keys if k in every}
    return {k: combo_value(k, v) for k, v in wanted.items()}


def _load_combos(keys: list[str]) -> dict[str, dict[str, object]]:
    return _combo_rows(keys)


def _observe_combos(conn: object) -> list[tuple[str, str]]:
    return [(k, data_version(v)) for k, v in _combo_rows().items()]


def _template_source(stage: str) -> Asset:
    def load(keys: list[str]) -> dict[str, str]:
        every = read_templates(stage)
        return {k: every[k] for k in keys if k in every}

    def observe(conn: object) -> list[tuple[str, str]]:
        return [(k, data_version(text)) for k, text in read_templates(stage).items()]

    return source_asset(f"{stage}_templates", templates[stage], observer=observe, fn=load,
                        description=f"{stage} templates: data/generation/templates/{stage}/"
                                    "<name>.txt, versioned by content")


combos_source = source_asset(
    "combos", combos, observer=_observe_combos, fn=_load_combos,
    description="combos of concepts a draft is written about: data/generation/combos.csv")
template_sources = {stage: _template_source(stage) for stage in STAGES}
SOURCES = [combos_source, *template_sources.values()]
