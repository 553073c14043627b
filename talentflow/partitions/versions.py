"""Code versions and data versions: the two hashes staleness and cache keys are made of.

Code version. Prefect's TASK_SOURCE hashes the task function's own lines, so editing a helper
the task calls keeps serving a stale cached result. Here the unit is the *module*: the code
version of a function covers

  1. the whole source of the module that defines it (its helpers, constants, imports),
  2. the whole source of every module defining a function or class the function names
     directly (`from mylib.text import clean` — editing `clean` counts), unless that module
     belongs to an installed distribution or the standard library (upgrading those is not a
     code change of yours; pin them, or pass them in `code=` or bump `version`),
  3. everything passed explicitly (modules, functions, classes, strings), and
  4. an optional manual `version` string.

Sources are hashed as token streams without comments and blank lines: reformatting or editing
a comment does not invalidate every partition; changing a string, a name or an operator does.

Data version: `data_version(obj)` is the sha256 of bytes as given, or of canonical JSON
(sorted keys, no whitespace) for anything else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import io
import json
import sys
import sysconfig
import tokenize
import types
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

_SKIP_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}


def normalize_source(source: str) -> str:
    """The source as tokens, without comments, blank lines or layout inside lines."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP_TOKENS:
                continue
            if tok.type == tokenize.INDENT:
                out.append("<INDENT>")
            elif tok.type == tokenize.DEDENT:
                out.append("<DEDENT>")
            elif tok.type == tokenize.NEWLINE:
                out.append("\n")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # not Python we can tokenize: hash it as it is
    return " ".join(out)


@cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {str(Path(p).resolve()) for p in sys.path if "site-packages" in p}
    return tuple(sorted(str(Path(r).resolve()) for r in roots if r))


def _is_project_module(module: types.ModuleType) -> bool:
    """A module of the application (hashed), not of an installed library or Python itself."""
    file = getattr(module, "__file__", None)
    if not file:
        return False  # builtins, namespace packages
    path = str(Path(file).resolve())
    return not any(path.startswith(root + "/") for root in _library_roots())


def _module_source(module: types.ModuleType) -> str:
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return ""


def _object_source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        # Defined in a REPL or exec'd: fall back to the bytecode and constants.
        code = getattr(obj, "__code__", None)
        return repr((code.co_code, code.co_consts, code.co_names)) if code else repr(obj)


def _named_globals(fn: types.FunctionType) -> Iterable[Any]:
    """The global objects a function's code (including nested functions) refers to by name."""
    stack = [fn.__code__]
    names: set[str] = set()
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    for name in sorted(names):
        if name in fn.__globals__:
            yield fn.__globals__[name]


def _unwrap(obj: Any) -> Any:
    # Prefect tasks and flows keep the user function in `.fn`; functools.wraps sets __wrapped__.
    while True:
        inner = getattr(obj, "fn", None)
        if callable(inner) and inner is not obj:
            obj = inner
            continue
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and wrapped is not obj:
            obj = wrapped
            continue
        return obj


def code_parts(objs: Iterable[Any]) -> dict[str, str]:
    """What `code_version` hashes, by label (module name, or qualified name): for inspection."""
    parts: dict[str, str] = {}

    def add_module(module: types.ModuleType) -> None:
        label = f"module:{module.__name__}"
        if label not in parts:
            parts[label] = normalize_source(_module_source(module))

    for raw in objs:
        obj = _unwrap(raw)
        if isinstance(obj, str):
            parts[f"text:{hashlib.sha256(obj.encode()).hexdigest()[:12]}"] = obj
        elif isinstance(obj, types.ModuleType):
            add_module(obj)
        elif inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj):
            func = obj.__func__ if inspect.ismethod(obj) else obj
            module = sys.modules.get(func.__module__)
            if module is not None and module.__name__ != "__main__" and _module_source(module):
                add_module(module)
            else:
                parts[f"object:{func.__module__}.{func.__qualname__}"] = normalize_source(
                    _object_source(func)
                )
            if inspect.isfunction(func):
                for ref in _named_globals(func):
                    ref = _unwrap(ref)
                    ref_module = ref if isinstance(ref, types.ModuleType) else (
                        sys.modules.get(getattr(ref, "__module__", "") or "")
                        if inspect.isfunction(ref) or inspect.isclass(ref) else None
                    )
                    if ref_module is not None and ref_module is not module and \
                            _is_project_module(ref_module):
                        add_module(ref_module)
        else:
            raise TypeError(
                f"code=[...] takes modules, functions, classes or strings, not {obj!r}"
            )
    return parts


def code_version(*objs: Any, version: str | None = None, extra: str = "") -> str:
    """sha256 of the code the objects run (see the module doc), the manual version and extra."""
    h = hashlib.sha256()
    for label, text in sorted(code_parts(objs).items()):
        h.update(label.encode() + b"\0" + text.encode("utf-8", "surrogatepass") + b"\0")
    h.update(b"version\0" + (version or "").encode() + b"\0extra\0" + extra.encode())
    return h.hexdigest()


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (datetime, date, time)):
        return obj.isoformat()
    if isinstance(obj, (Decimal, UUID, Path)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=lambda v: json.dumps(v, sort_keys=True, default=_jsonable))
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$bytes": hashlib.sha256(bytes(obj)).hexdigest()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "model_dump"):  # pydantic v2
        return obj.model_dump(mode="json")
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy arrays and scalars
        return {"$array": obj.tolist(), "dtype": str(obj.dtype)}
    raise TypeError(f"data_version() cannot hash a {type(obj).__name__}: {obj!r}")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_jsonable)


def data_version(obj: Any) -> str:
    """A stable sha256 hex of a value: bytes as given, anything else as canonical JSON."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        payload = bytes(obj)
    else:
        payload = canonical_json(obj).encode("utf-8", "surrogatepass")
    return hashlib.sha256(payload).hexdigest()
