"""Files per generation: `data/gens/<stage>/<gen_id>/` holds

- `prompt.txt`: the prompt sent;
- `raw.txt`: the model's answer, as received;
- `parsed.json`: what the next stage reads: `{"text", "words"}` (draft, essay) or
  `{"scores", "overall"}` (evaluation);
- `metadata.json`: gen_id, stage, key, dimensions, parent_stage, parent_gen_id, template,
  provider, model, tokens, cost_usd, latency_s, attempts, generated_at, flow_run_id;

written by the engine's FileStore: a generation appears whole or not at all (a new directory
swapped in by one rename), and its data version is the hash of `parsed.json` alone — a new
timestamp or token count in metadata.json is not new data, so nothing downstream re-runs.
`gen_id` is the key's file name (`codec.to_filename`, see README.md "Generation ids").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from examples.generation.paths import gens_dir
from talentflow.engine.files import FileStore
from talentflow.partitions.codec import from_filename, to_filename

FILES = ("prompt.txt", "raw.txt", "parsed.json", "metadata.json")


def gen_id(key: str) -> str:
    """A generation's id: its key as a file name (reversible: `key_of(gen_id)`)."""
    return to_filename(key)


def key_of(generation_id: str) -> str:
    return from_filename(generation_id)


class GenerationStore(FileStore):
    """The FileStore of one stage, its root resolved at each use (gens_dir()), so a
    test or a benchmark can point it elsewhere after import."""

    def __init__(self, stage: str) -> None:
        # Not FileStore.__init__: it would pin `root` to one folder at import time.
        self.stage = stage
        self.version_file = "parsed.json"

    @property
    def root(self) -> Path:  # type: ignore[override]
        return gens_dir() / self.stage


def files(prompt: str, raw: str, parsed: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"prompt.txt": prompt, "raw.txt": raw, "parsed.json": parsed,
            "metadata.json": metadata}


STORES = {stage: GenerationStore(stage) for stage in ("draft", "essay", "evaluation")}
