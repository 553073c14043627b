"""The generation system's tests: a fresh migrated database per test, its folders in
tmp_path (templates and combos copied from data/generation, cohorts, generations), offline
completions unless a test says otherwise, and helpers that read what was written straight
from the files and tables (oracles that share no code with the assets)."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from talentflow import config


@dataclass
class Dirs:
    data: Path
    cohorts: Path
    gens: Path

    def template(self, stage: str, name: str) -> Path:
        return self.data / "templates" / stage / f"{name}.txt"

    def combos(self) -> dict[str, list[str]]:
        """combos.csv read with the csv module alone."""
        with open(self.data / "combos.csv", encoding="utf-8", newline="") as fh:
            return {r["combo"]: [c.strip() for c in r["concepts"].split(";")]
                    for r in csv.DictReader(fh)}

    def generations(self, stage: str) -> dict[str, dict[str, Any]]:
        """{gen_id: {file name: content}} of a stage, read from disk (json files parsed)."""
        out: dict[str, dict[str, Any]] = {}
        root = self.gens / stage
        if not root.is_dir():
            return out
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):
                continue
            out[entry.name] = {
                f.name: json.loads(f.read_text("utf-8")) if f.suffix == ".json"
                else f.read_text("utf-8") for f in entry.iterdir()}
        return out


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Dirs:
    """Templates and combos copied from data/generation; empty cohorts and gens folders;
    offline completions."""
    d = Dirs(tmp_path / "generation", tmp_path / "cohorts", tmp_path / "gens")
    shutil.copytree(config.data_dir() / "generation", d.data)
    d.cohorts.mkdir()
    monkeypatch.setenv("TALENTFLOW_GENERATION_DATA", str(d.data))
    monkeypatch.setenv("TALENTFLOW_COHORTS_DIR", str(d.cohorts))
    monkeypatch.setenv("TALENTFLOW_GENS_DIR", str(d.gens))
    for name in ("TALENTFLOW_COMPLETION_PROVIDER", "OPENAI_BASE_URL", "OPENAI_API_KEY",
                 "TALENTFLOW_COMPLETION_MAX_TOKENS", "TALENTFLOW_COMPLETION_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    return d


@pytest.fixture
def gdb(db: str, dirs: Dirs) -> str:
    """A fresh migrated database (engine + talent: the cost ledger) and the folders; the
    cohort membership table is created by the first registration, as in production."""
    return db


COLUMNS = ["stage", "combo", "draft_template", "draft_model", "essay_template", "essay_model",
           "evaluation_template", "evaluation_model"]


def evaluation_row(combo: str, draft_template: str, model: str, essay_template: str,
                   judge: str = "gpt-4.1-mini", evaluation_template: str = "rubric"
                   ) -> dict[str, str]:
    return {"stage": "evaluation", "combo": combo, "draft_template": draft_template,
            "draft_model": model, "essay_template": essay_template, "essay_model": model,
            "evaluation_template": evaluation_template, "evaluation_model": judge}


# 2 combos x 2 draft templates x 2 models: 8 drafts -> 8 essays -> 8 evaluations.
SMALL = [evaluation_row(c, t, m, e)
         for c in ("c01", "c02")
         for t, e in (("letter", "expand"), ("scene", "argue"))
         for m in ("gpt-4o-mini", "gpt-4.1-nano")]


def write_cohort(dirs: Dirs, cohort_id: str, rows: list[dict[str, str]]) -> Path:
    """A membership file written with the csv module alone."""
    path = dirs.cohorts / cohort_id / "membership.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


def encode(*values: str) -> str:
    """A multi key by the documented rule (docs/partitions.md): values joined by '|', with
    '\\' and '|' escaped — written here independently of the codec."""
    return "|".join(v.replace("\\", "\\\\").replace("|", "\\|") for v in values)


def row_keys(row: dict[str, str]) -> dict[str, str]:
    """The draft, essay and evaluation keys of an evaluation row."""
    d = [row[c] for c in COLUMNS[1:]]
    return {"draft": encode(*d[:3]), "essay": encode(*d[:5]), "evaluation": encode(*d)}


def gen_id(key: str) -> str:
    """The documented file name of a key: ASCII letters, digits, '-', '_', '.' kept (no
    leading '.'), every other UTF-8 byte as %XX — written here independently of the codec."""
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    out = []
    for i, ch in enumerate(key):
        if ch in safe and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)
