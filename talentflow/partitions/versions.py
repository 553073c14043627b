"""Code versions and data versions: the two hashes staleness and cache keys are made of.

Code version. Prefect's TASK_SOURCE hashes the task function's own lines, so editing a helper
the task calls keeps serving a stale cached result. Here the unit is the *module*, and the code
version of an object is the hash of every project module it can reach:

  1. Roots. A function or class stands for the whole source of the module that defines it
     (its helpers, constants, imports); a module passed explicitly (`code=[...]`) stands for
     itself. Roots are hashed whatever they are, even a library or runtime module: passing one
     is the escape hatch for code the rules below leave out. Strings are hashed as given; the
     manual `version` and `extra` are hashed too.
  2. Closure. From every root that is a project module, the walk follows each module it
     reaches, then each module those reach, and so on (import cycles end the walk, they do not
     loop). A module reaches another through
       a. its global names: every name its code binds or reads at module level or in any
          function, class or method body (the module is compiled, so nested code counts), whose
          value is a module, or a function or class (Prefect tasks and `functools.wraps`
          wrappers unwrapped) defined in a module;
       b. its import statements, at any depth (`def f(): from talentflow.embeddings import
          encode`): the imported module, and each imported name that is a submodule or a
          function or class. A project module that is not imported yet is imported (an asset
          that runs would import it anyway); an import that fails is skipped, never an error.
     Only names the module's own code uses count, not every attribute its namespace holds:
     the import system sets `pkg.sub` on a package whenever anyone imports `pkg.sub`, and
     following those would make the version depend on what else the process imported.
  3. Boundaries. Never hashed nor walked through, when reached (what is left are the
     *project modules*):
       - installed distributions, the standard library and interpreter scripts, i.e. modules
         loaded from under the stdlib, site-packages/dist-packages or the scripts (bin/)
         directories, and modules without a source file (upgrading a library is not a code
         change of yours: pin it, or pass it in `code=`, or bump `version`);
       - the runtime, `RUNTIME_PACKAGES`: the engine that plans, runs, caches and records
         assets. It runs every asset but is not any asset's code; if it counted, every edit of
         the engine would make every partition of every asset stale. A change of the runtime
         that should change results must say so with `version`.
  4. `__main__`. A script run as `python script.py` is a module like any other: its file is
     hashed and walked, so editing a helper in the same script counts. Code without a source
     file (a REPL, `python -c`, `exec`) falls back to the object itself: its source, or its
     bytecode and constants where there is none, plus, recursively, the same-module functions
     and classes it names, plus the closure of the project modules they reach.

The walk from a module is memoized per process, keyed on the module's name and its source text
(an edited and reloaded module is walked again), so versioning many assets stays cheap.

Sources are hashed as token streams without comments and blank lines: reformatting or editing
a comment does not invalidate every partition; changing a string, a name or an operator does.
`code_parts` shows what is hashed, by label: `module:<name>`, `object:<module>.<qualname>`,
`text:<sha256 prefix>`.

Data version: `data_version(obj)` is the sha256 of bytes as given, or of canonical JSON
(sorted keys, no whitespace) for anything else.
"""

from __future__ import annotations

import dataclasses
import dis
import hashlib
import importlib
import importlib.util
import inspect
import io
import json
import sys
import sysconfig
import tokenize
import types
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

RUNTIME_PACKAGES: tuple[str, ...] = ("talentflow.partitions", "talentflow.engine", "talentflow.db")

_SKIP_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
# Opcodes that name a global (module-level code and class bodies use the *_NAME forms).
_GLOBAL_OPS = frozenset({
    "LOAD_GLOBAL", "LOAD_NAME", "STORE_NAME", "STORE_GLOBAL", "DELETE_NAME", "DELETE_GLOBAL",
    "LOAD_FROM_DICT_OR_GLOBALS",
})
_CONST_OPS = frozenset({"LOAD_CONST", "LOAD_SMALL_INT"})


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
def _normalized(source: str) -> str:
    return normalize_source(source)


# --- which modules count --------------------------------------------------------------------

@cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    # "scripts": a venv's bin/ (pytest's or prefect's __main__ is not project code).
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib", "scripts")}
    roots |= {p for p in sys.path if "site-packages" in p or "dist-packages" in p}
    return tuple(sorted({str(Path(r).resolve()) for r in roots if r}))


@cache
def _is_library_path(file: str) -> bool:
    path = str(Path(file).resolve())
    return any(path.startswith(root + "/") for root in _library_roots())


def _is_project_module(module: types.ModuleType) -> bool:
    """A module of the application (hashed), not of an installed library or Python itself."""
    file = getattr(module, "__file__", None)
    if not file:
        return False  # builtins, namespace packages
    return _is_project_file(file)


@cache
def _is_project_file(file: str) -> bool:
    # A file that exists: `__main__` read from stdin has __file__ "<stdin>" and no source.
    return Path(file).is_file() and not _is_library_path(file)


def _is_runtime(name: str) -> bool:
    return any(name == pkg or name.startswith(pkg + ".") for pkg in RUNTIME_PACKAGES)


def _walkable(module: types.ModuleType) -> bool:
    """A module the closure hashes and walks through: project code that is not the runtime."""
    return not _is_runtime(module.__name__) and _is_project_module(module)


def _load(name: str) -> types.ModuleType | None:
    """The walkable module `name`, imported if it is not yet; None if it is not one or fails.

    Library modules are judged by where they would load from *before* anything is imported:
    computing a version must not import numpy because a function imports it lazily.
    """
    if not name or _is_runtime(name):
        return None
    module = sys.modules.get(name)
    if module is not None:
        return module if _walkable(module) else None
    try:
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = sys.modules.get(".".join(parts[:i]))
            if parent is not None and getattr(parent, "__file__", None) and \
                    not _is_project_module(parent):
                return None
        if parts[0] not in sys.modules:  # finding a top-level spec imports nothing
            top = importlib.util.find_spec(parts[0])
            if top is None or (top.has_location and _is_library_path(top.origin or "")):
                return None
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.has_location or not spec.origin or \
                _is_library_path(spec.origin):
            return None
        module = importlib.import_module(name)
    except Exception:  # a broken or missing import is not covered, and not an error either
        return None
    return module if _walkable(module) else None


# --- sources --------------------------------------------------------------------------------

def _module_source(module: types.ModuleType) -> str:
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return ""


def _const_repr(value: Any) -> str:
    # Deterministic across processes: no addresses (code objects), no hash-seed order (sets).
    if isinstance(value, types.CodeType):
        return _code_fingerprint(value)
    if isinstance(value, (frozenset, set)):
        return "{" + ",".join(sorted(_const_repr(v) for v in value)) + "}"
    if isinstance(value, tuple):
        return "(" + ",".join(_const_repr(v) for v in value) + ")"
    return repr(value)


def _code_fingerprint(code: types.CodeType) -> str:
    return repr((code.co_name, code.co_code, _const_repr(code.co_consts), code.co_names))


def _codes_of(obj: Any) -> list[types.CodeType]:
    """The code objects of a function, or of a class's methods (nested classes included)."""
    if inspect.isfunction(obj):
        return [obj.__code__]
    codes: list[types.CodeType] = []
    if inspect.isclass(obj):
        for _, member in sorted(vars(obj).items()):
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                codes += [f.__code__ for f in (member.fget, member.fset, member.fdel)
                          if inspect.isfunction(f)]
            elif inspect.isfunction(member) or (  # nested classes, not aliases (no recursion)
                    inspect.isclass(member)
                    and member.__qualname__.startswith(obj.__qualname__ + ".")):
                codes += _codes_of(member)
    return codes


def _object_source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        # Defined in a REPL or exec'd: fall back to the bytecode and constants.
        codes = _codes_of(obj)
        return "\n".join(_code_fingerprint(c) for c in codes) if codes else repr(obj)


# --- what code reaches ----------------------------------------------------------------------

def _scan(code: types.CodeType) -> tuple[set[str], list[tuple[str, int, list[str]]]]:
    """Global names used by `code` and its nested code, and its imports (module, level, names)."""
    names: set[str] = set()
    imports: list[tuple[str, int, list[str]]] = []
    stack = [code]
    while stack:
        current = stack.pop()
        consts: list[Any] = []
        last: list[str] | None = None
        for ins in dis.get_instructions(current):
            op = ins.opname
            if op in _CONST_OPS:
                consts = [*consts[-1:], ins.argval]
                continue
            if op in _GLOBAL_OPS:
                names.add(ins.argval)
            elif op == "IMPORT_NAME":
                # Compiled as: LOAD_CONST level; LOAD_CONST fromlist; IMPORT_NAME name.
                level = consts[0] if len(consts) == 2 and isinstance(consts[0], int) else 0
                last = []
                imports.append((ins.argval, level, last))
            elif op == "IMPORT_FROM" and last is not None:
                last.append(ins.argval)
            consts = []
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return names, imports


def _unwrap(obj: Any) -> Any:
    # Prefect tasks and flows keep the user function in `.fn`; functools.wraps sets __wrapped__.
    for _ in range(32):  # bounded: a Mock has a new callable `.fn` at every access
        inner = getattr(obj, "fn", None)
        if callable(inner) and inner is not obj:
            obj = inner
            continue
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and wrapped is not obj:
            obj = wrapped
            continue
        break
    return obj


def _as_code(value: Any) -> Any:
    """A global's value as a function or class (Prefect tasks and wrappers unwrapped), or None."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return value
    # Only objects that *store* a wrapped function: a global's __getattr__ may do anything.
    if not any(_has_static(value, attr) for attr in ("fn", "__wrapped__")):
        return None
    try:
        value = _unwrap(value)
    except Exception:
        return None
    return value if inspect.isfunction(value) or inspect.isclass(value) else None


def _has_static(value: Any, attr: str) -> bool:
    try:
        inspect.getattr_static(value, attr)
    except AttributeError:
        return False
    return True


def _value_module(value: Any) -> str | None:
    """The module a global's value stands for: itself, or where its function/class is defined."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    name = getattr(_as_code(value), "__module__", None)
    return name if isinstance(name, str) else None


def _refs(names: Iterable[str], imports: Iterable[tuple[str, int, list[str]]],
          namespace: dict[str, Any], package: str | None) -> Iterator[str]:
    """Names of the modules reached by global `names` (looked up in `namespace`) and imports."""
    for name in sorted(names):
        if name in namespace:
            target = _value_module(namespace[name])
            if target:
                yield target
    for name, level, from_names in imports:
        if level:
            if not package:
                continue  # a relative import outside a package fails at run time too
            try:
                name = importlib.util.resolve_name("." * level + name, package)
            except (ImportError, ValueError):
                continue
        module = _load(name)
        if module is None:
            continue
        yield name
        for attr in from_names:
            if hasattr(module, attr):
                target = _value_module(getattr(module, attr))
                if target:
                    yield target
            else:
                yield f"{name}.{attr}"  # `from pkg import sub`, sub not imported yet


@cache
def _module_refs(name: str, source: str) -> tuple[str, ...]:
    """The walkable modules that module `name` (with this source) reaches in one step."""
    module = sys.modules.get(name)
    try:
        code = compile(source, getattr(module, "__file__", None) or name, "exec",
                       dont_inherit=True)
    except (SyntaxError, ValueError):
        return ()  # an edited, broken file: its text is still hashed
    names, imports = _scan(code)
    namespace = vars(module) if module is not None else {}
    package = getattr(module, "__package__", None)
    if package is None and module is not None and module.__name__ != "__main__":
        package = name if hasattr(module, "__path__") else name.rpartition(".")[0]
    out = {target for target in _refs(names, imports, namespace, package)
           if target != name and _load(target) is not None}
    return tuple(sorted(out))


def _closure(roots: Iterable[types.ModuleType]) -> dict[str, str]:
    """Normalized source of every walkable module reachable from `roots` (themselves included)."""
    out: dict[str, str] = {}
    queue = [m for m in roots if _walkable(m)]
    while queue:
        module = queue.pop()
        if module.__name__ in out:
            continue  # seen: this is what ends import cycles
        source = _module_source(module)
        out[module.__name__] = _normalized(source)
        for name in _module_refs(module.__name__, source):
            if name not in out:
                target = _load(name)
                if target is not None:
                    queue.append(target)
    return out


def _home_module(obj: Any) -> types.ModuleType | None:
    """The module defining a function or class, if it is loaded and has a source file."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is None:
        return None
    # A function exec'd with `__name__ = "__main__"` names a module it does not live in. (Not
    # checked for classes: dataclass/attrs methods are generated with globals of their own.)
    if inspect.isfunction(obj) and obj.__globals__ is not vars(module):
        return None
    return module if _module_source(module) else None


def _add_sourceless(obj: Any, parts: dict[str, str], roots: list[types.ModuleType]) -> None:
    """A REPL/exec object: itself, the same-module functions and classes it names, and roots."""
    stack = [obj]
    while stack:
        current = stack.pop()
        label = f"object:{current.__module__}.{current.__qualname__}"
        if label in parts:
            continue
        parts[label] = normalize_source(_object_source(current))
        codes = _codes_of(current)
        namespace = _globals_of(current)
        names: set[str] = set()
        imports: list[tuple[str, int, list[str]]] = []
        for code in codes:
            more_names, more_imports = _scan(code)
            names |= more_names
            imports += more_imports
        for name in sorted(names):
            value = _as_code(namespace.get(name))
            if value is not None and value.__module__ == current.__module__ and \
                    _home_module(value) is None:
                stack.append(value)
        for target in _refs(names, imports, namespace, namespace.get("__package__")):
            module = _load(target)
            if module is not None:
                roots.append(module)


def _globals_of(obj: Any) -> dict[str, Any]:
    if inspect.isfunction(obj):
        return obj.__globals__
    for member in vars(obj).values():  # a class: the globals its own methods see
        func = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
        try:
            func = inspect.unwrap(func)
        except ValueError:
            continue
        if inspect.isfunction(func) and func.__qualname__.startswith(obj.__qualname__ + "."):
            return func.__globals__
    module = sys.modules.get(obj.__module__)
    return vars(module) if module is not None else {}


def code_parts(objs: Iterable[Any]) -> dict[str, str]:
    """What `code_version` hashes, by label (see the module doc): for inspection."""
    parts: dict[str, str] = {}
    roots: list[types.ModuleType] = []
    for raw in objs:
        obj = _unwrap(raw)
        if isinstance(obj, str):
            parts[f"text:{hashlib.sha256(obj.encode()).hexdigest()[:12]}"] = obj
        elif isinstance(obj, types.ModuleType):
            parts[f"module:{obj.__name__}"] = _normalized(_module_source(obj))
            roots.append(obj)
        elif inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj):
            func = obj.__func__ if inspect.ismethod(obj) else obj
            module = _home_module(func)
            if module is not None:
                parts[f"module:{module.__name__}"] = _normalized(_module_source(module))
                roots.append(module)
            else:
                _add_sourceless(func, parts, roots)
        else:
            raise TypeError(
                f"code=[...] takes modules, functions, classes or strings, not {obj!r}"
            )
    for name, text in _closure(roots).items():
        parts.setdefault(f"module:{name}", text)
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
