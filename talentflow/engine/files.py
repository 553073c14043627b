"""Asset values as files: one directory per partition key, swapped in atomically.

    from talentflow.engine.files import FileStore

    @asset(partitions=drafts, store=FileStore("data/gens/draft", version_file="parsed.json"))
    def draft(...) -> dict[str, Any]:
        return {"prompt.txt": prompt, "raw.txt": answer, "parsed.json": parsed,
                "metadata.json": {...}}

A value is a mapping {file name: content}: `str` is written as UTF-8 text, `bytes` as is, and
anything else (to a `*.json` name) as JSON. Reading gives the same mapping back (`*.json`
parsed, other files as text, or bytes when they are not UTF-8).

Layout under `root`: `<key as a file name>/` (codec.to_filename: reversible, no `/`) holding
the files and `.data_version`. That entry is a symbolic link to a hidden sibling directory
`.<name>.<uuid>`; a write fills a new sibling (each file fsynced), then atomically replaces
the link (rename over it). A reader — or a crash — sees the old generation or the new one,
never half of one. Leftover siblings of a crashed write are removed by the next write of
that key.

The engine writes values in the transaction of their materialization records; files cannot
join it, so they are written first. If the commit then fails, the files hold a generation the
database does not know: the key is still missing/stale there, so a run computes it again and
replaces them. A reader gets the version stored *with* the files, so what a downstream records
as consumed is always the version of what it read.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg

from talentflow.engine.stores import Stored, ValueStore
from talentflow.partitions.codec import from_filename, to_filename
from talentflow.partitions.versions import data_version

VERSION_FILE = ".data_version"


class FileValueError(ValueError):
    """A value the file store cannot write (not a mapping of file names to contents)."""


def _check_value(asset: str, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise FileValueError(f"{asset}[{key!r}]: a file store value is a non-empty mapping "
                             f"{{file name: content}}, got {type(value).__name__}")
    for name, content in value.items():
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name \
                or "\0" in name or name.startswith("."):
            raise FileValueError(f"{asset}[{key!r}]: {name!r} is not a plain file name")
        if not isinstance(content, str | bytes) and not name.endswith(".json"):
            raise FileValueError(f"{asset}[{key!r}]: {name!r} holds "
                                 f"{type(content).__name__}; only *.json files hold data")
    return value


def _encode(name: str, content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return (json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")


def _decode(name: str, raw: bytes) -> Any:
    if name.endswith(".json"):
        return json.loads(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore(ValueStore):
    """Values as directories of files under `root` (see the module doc).

    `version_file`: the data version is the hash of that file's content alone (e.g. the
    parsed output, so a new timestamp in metadata.json is not a new version); default: of
    every file.
    """

    def __init__(self, root: str | os.PathLike[str], *, version_file: str | None = None
                 ) -> None:
        self.root = Path(root)
        self.version_file = version_file

    def path(self, key: str) -> Path:
        """The directory holding a key's files (what users open)."""
        return self.root / to_filename(key)

    def key_of(self, path: str | os.PathLike[str]) -> str:
        """The key a directory of this store stands for."""
        return from_filename(Path(path).name)

    def version(self, value: Any) -> str:
        if self.version_file is not None:
            if not isinstance(value, Mapping) or self.version_file not in value:
                raise FileValueError(f"a file store value must hold {self.version_file!r} "
                                     "(its data version is that file's hash)")
            return data_version(value[self.version_file])
        if not isinstance(value, Mapping):
            raise FileValueError(f"a file store value is a mapping, got {type(value).__name__}")
        return data_version({n: _encode(n, c).hex() if isinstance(c, bytes) else c
                             for n, c in value.items()})

    def metadata(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            return {}
        return {"files": sorted(value), "bytes": sum(len(_encode(n, c))
                                                     for n, c in value.items())}

    def write(self, conn: psycopg.Connection, asset: str,
              items: Mapping[str, tuple[Any, str]]) -> None:
        for key, (value, version) in items.items():
            self.write_one(asset, key, _check_value(asset, key, value), version)

    def write_one(self, asset: str, key: str, value: Mapping[str, Any], version: str) -> Path:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        fresh = final.parent / f".{final.name}.{uuid.uuid4().hex}"
        fresh.mkdir()
        for name, content in value.items():
            _write_file(fresh / name, _encode(name, content))
        _write_file(fresh / VERSION_FILE, version.encode("ascii"))
        _fsync_dir(fresh)
        link = final.parent / f".{final.name}.{uuid.uuid4().hex}.link"
        os.symlink(fresh.name, link)
        previous = os.readlink(final) if final.is_symlink() else None
        if final.exists() and not final.is_symlink():
            raise FileValueError(f"{asset}[{key!r}]: {final} is a real directory; the store "
                                 "only replaces its own links (move it away)")
        os.replace(link, final)  # the atomic step: readers see the old or the new generation
        _fsync_dir(final.parent)
        self._sweep(final, keep=fresh.name, previous=previous)
        return final

    def _sweep(self, final: Path, *, keep: str, previous: str | None) -> None:
        """Remove the previous generation and leftovers of crashed writes of this key."""
        prefix = f".{final.name}."
        for sibling in final.parent.iterdir():
            if sibling.name.startswith(prefix) and sibling.name != keep:
                if sibling.is_symlink() or sibling.is_file():
                    sibling.unlink(missing_ok=True)
                else:
                    shutil.rmtree(sibling, ignore_errors=True)
        if previous and previous != keep:
            shutil.rmtree(final.parent / previous, ignore_errors=True)

    def read(self, conn: psycopg.Connection, asset: str, keys: Sequence[str]
             ) -> dict[str, Stored]:
        out: dict[str, Stored] = {}
        for key in keys:
            found = self.read_one(key)
            if found is not None:
                out[key] = found
        return out

    def read_one(self, key: str) -> Stored | None:
        for _ in range(3):  # a writer may remove the generation we resolved: read again
            found = self._read_generation(self.path(key))
            if found is not False:
                return found
        return None

    def _read_generation(self, final: Path) -> Stored | None | bool:
        """The generation the link points at; None if the key has none, False if it
        vanished while being read."""
        if not final.is_symlink():
            return None
        try:
            # Resolve the link once: every file then comes from the same generation even if
            # a writer swaps the link meanwhile.
            generation = final.parent / os.readlink(final)
            names = sorted(p.name for p in generation.iterdir())
            version = (generation / VERSION_FILE).read_text("ascii").strip()
            value = {n: _decode(n, (generation / n).read_bytes())
                     for n in names if n != VERSION_FILE}
        except OSError:
            return False
        return Stored(value, version)
