"""The ``@provml.task`` decorator: a function call recorded as a task with its inputs and outputs."""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import orjson

from provml.capture._recorder import start_run
from provml.capture.digest import describe_data
from provml.errors import ProvmlError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_MAX_BYTES = 1024


def summarize(value: Any, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Return ``value`` as it should be recorded: itself if small and JSON-like, else a digest and shape.

    >>> summarize(3), summarize("x" * 3, max_bytes=8)
    (3, 'xxx')
    >>> sorted(summarize("x" * 100, max_bytes=8))
    ['length', 'prefix', 'sha256']
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value.encode()) <= max_bytes:
            return value
        return {"sha256": hashlib.sha256(value.encode()).hexdigest(), "length": len(value), "prefix": value[:64]}
    try:
        facts = describe_data(value) if not isinstance(value, (list, tuple, dict)) else None
    except ProvmlError:
        facts = None
    if facts is not None:
        return {k: v for k, v in facts.items() if k in ("sha256", "size_bytes", "shape", "schema")}
    text = orjson.dumps(value, default=repr, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    if len(text) <= max_bytes:
        return orjson.loads(text)
    return {"sha256": hashlib.sha256(text).hexdigest(), "length": len(text), "type": type(value).__name__}


def task(
    func: F | None = None,
    *,
    name: str | None = None,
    stage: str | None = None,
    inputs: bool | Iterable[str] = True,
    outputs: bool | list[str] = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Record each call of the decorated function as a run: arguments as used data, results as generated data.

    ``inputs``: True (all arguments), False, or the names to record. ``outputs``: True (the return
    value as ``return``), False, or names for the items of a returned tuple. Values larger than
    ``max_bytes`` are recorded by digest and shape.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        label = name or function.__qualname__
        chosen = None if isinstance(inputs, bool) else set(inputs)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with start_run(label, stage=stage) as run:
                if inputs:
                    try:
                        arguments = signature.bind(*args, **kwargs).arguments
                    except TypeError:
                        arguments = {**{f"arg_{i}": a for i, a in enumerate(args)}, **kwargs}
                    for key, value in arguments.items():
                        if chosen is None or key in chosen:
                            run.used(key, summarize(value, max_bytes))
                result = function(*args, **kwargs)
                if isinstance(outputs, list) and isinstance(result, tuple) and len(result) == len(outputs):
                    for key, value in zip(outputs, result, strict=True):
                        run.generated(key, summarize(value, max_bytes))
                elif outputs:
                    run.generated("return", summarize(result, max_bytes))
                return result

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
