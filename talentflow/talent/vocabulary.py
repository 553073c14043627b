"""The skills vocabulary in `data/skills.json`: canonical names and their aliases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from talentflow import config


@dataclass(frozen=True)
class Vocabulary:
    version: str
    names: tuple[str, ...]
    _lookup: dict[str, str]

    def canonical(self, name: str) -> str | None:
        """The canonical spelling of a skill or alias, or None if it is not in the vocabulary."""
        return self._lookup.get(_fold(name))

    def index(self) -> dict[str, int]:
        """Column index of each canonical skill (for multi-hot skill matrices)."""
        return {name: i for i, name in enumerate(self.names)}


def _fold(name: str) -> str:
    return " ".join(name.strip().lower().split())


def load(path: Path | None = None) -> Vocabulary:
    raw = json.loads((path or config.data_dir() / "skills.json").read_text(encoding="utf-8"))
    names: list[str] = []
    lookup: dict[str, str] = {}
    for entry in raw["skills"]:
        name = entry["name"]
        names.append(name)
        for spelling in (name, *entry.get("aliases", ())):
            lookup.setdefault(_fold(spelling), name)
    return Vocabulary(version=raw["version"], names=tuple(names), _lookup=lookup)


@cache
def default() -> Vocabulary:
    return load()
