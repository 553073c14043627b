"""Calling an asset function over one batch: per-key results, per-key errors, per-key retries.

The one rule: a key's error never fails its batch-mates. A single-key function is called per
key; a batch-aware function once per attempt with the keys still pending. Keys that failed
are retried alone (backoff `retry_delay_s * 2**attempt`), so a flaky key costs a retry of
itself, not of its batch. What comes back is {key: Output | Failure}.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Mapping
from typing import Any

from talentflow.engine.context import BatchContext, Failure, KeyFailed, Output
from talentflow.partitions.assets import CONTEXT_PARAMS, KEY_PARAMS, AllOf, Asset

MAX_ERROR_CHARS = 4000


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:MAX_ERROR_CHARS]


def _as_output(value: Any) -> Output:
    return value if isinstance(value, Output) else Output(value)


def _call_single(asset: Asset, ctx: BatchContext, key: str,
                 upstream: Mapping[str, Mapping[str, Any]]) -> Any:
    kwargs: dict[str, Any] = {}
    for name in inspect.signature(asset.fn).parameters:
        if name in CONTEXT_PARAMS:
            kwargs[name] = ctx.for_key(key)
        elif name in KEY_PARAMS:
            kwargs[name] = key
        elif name in ctx.resources:
            kwargs[name] = ctx.resources[name]
        elif name in ctx.all_of:
            kwargs[name] = ctx.all_of[name]
        elif name in upstream:
            kwargs[name] = upstream[name][key]
    return asset.fn(**kwargs)


def _call_batch(asset: Asset, ctx: BatchContext, keys: list[str],
                upstream: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in inspect.signature(asset.fn).parameters:
        if name in CONTEXT_PARAMS:
            kwargs[name] = ctx
        elif name in ctx.resources:
            kwargs[name] = ctx.resources[name]
        elif name in ctx.all_of:
            kwargs[name] = ctx.all_of[name]
        elif name in upstream:
            kwargs[name] = {k: upstream[name][k] for k in keys}
        elif name in KEY_PARAMS:
            kwargs[name] = list(keys)
    out = asset.fn(**kwargs)
    if not isinstance(out, Mapping):
        raise TypeError(f"batch asset {asset.name!r} must return {{key: value}}, "
                        f"got {type(out).__name__}")
    return out


def run_batch(asset: Asset, ctx: BatchContext, upstream: Mapping[str, Mapping[str, Any]]
              ) -> dict[str, Output | Failure]:
    """Compute every key of `ctx.keys`; see the module docstring."""
    results: dict[str, Output | Failure] = {}
    pending = list(ctx.keys)
    errors: dict[str, BaseException] = {}
    for attempt in range(asset.retries + 1):
        if attempt:
            time.sleep(asset.retry_delay_s * 2 ** (attempt - 1))
            for key in pending:
                ctx.log_for(key).warning("retry %d/%d after: %s", attempt, asset.retries,
                                         _error_text(errors[key]))
        ctx.keys = pending
        errors = {}
        if asset.batched:
            try:
                out = _call_batch(asset, ctx, pending, upstream)
            except Exception as exc:  # noqa: BLE001 - the whole batch raised: every key failed
                ctx.log.error("batch failed: %s\n%s", _error_text(exc),
                              traceback.format_exc(limit=5))
                out = dict.fromkeys(pending, exc)
            for key in pending:
                value = out.get(key, KeyError(f"{asset.name} returned no result for {key!r}"))
                if isinstance(value, BaseException):
                    errors[key] = value
                else:
                    results[key] = _as_output(value)
        else:
            for key in pending:
                try:
                    results[key] = _as_output(_call_single(asset, ctx, key, upstream))
                except Exception as exc:  # noqa: BLE001 - one key's error is that key's
                    ctx.log_for(key).error("failed: %s", _error_text(exc))
                    errors[key] = exc
        pending = list(errors)
        if not pending:
            break
    for key, exc in errors.items():
        meta = exc.metadata if isinstance(exc, KeyFailed) else {}
        results[key] = Failure(_error_text(exc), attempts=asset.retries + 1, metadata=meta)
    ctx.keys = list(results)
    return results


def needs_upstream_values(asset: Asset) -> list[str]:
    """Upstream assets whose values the function receives (AllOf inputs are handles)."""
    return [d.name for d in asset.deps if not isinstance(d.mapping, AllOf)]
