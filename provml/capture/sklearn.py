"""Autolog for scikit-learn: every estimator's ``fit``, ``predict`` and ``score`` recorded as runs.

>>> import provml.capture.sklearn
>>> provml.capture.sklearn.autolog()  # doctest: +SKIP

A ``fit`` is a training run: the estimator's parameters as hyperparameter settings, ``X`` and
``y`` as input datasets (content digest, shape, dtypes), the fitted estimator as a model, and
its score on the training data as a metric. ``predict`` is an inference run that uses the model
and generates the predictions; ``score`` an evaluation run whose score evaluates the model. Only
the outermost call is recorded: the fits a ``Pipeline`` or ``GridSearchCV`` makes inside its own
are part of it, not runs of their own.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

from provml.capture._recorder import Run, start_run
from provml.capture.digest import describe_data
from provml.errors import ProvmlError

METHODS = {"fit": "training", "predict": "inference", "score": "evaluation"}
_MARK = "__provml_autolog__"
_state = threading.local()  # .depth: sklearn calls in progress on this thread
_model_ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()  # fitted estimator -> model id


def _setting(value: Any) -> Any:
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)[:200]


def _dataset(run: Run, data: Any, name: str, role: str) -> None:
    """Record ``data`` as a dataset of the run if it can be described (arrays, data frames, paths)."""
    if data is None:
        return
    try:
        describe_data(data)
    except ProvmlError:
        return  # a list or a sparse matrix: nothing to digest cheaply
    run.log_dataset(data, name=name, role=role, kind="learning")


def _model_of(run: Run, estimator: Any, role: str) -> str:
    name = type(estimator).__name__
    implementation = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    if role == "output":
        _model_ids[estimator] = run.log_model(estimator, name=name, implementation=implementation,
                                              model_id=f"{run.workflow_id}/{run.task_id}/{name}")  # fmt: skip
    elif estimator in _model_ids:
        run.log_model(estimator, name=name, role="input", model_id=_model_ids[estimator])
    return _model_ids.get(estimator, "")


def _record(method: str, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], call: Callable[[], Any]) -> Any:
    name = type(estimator).__name__
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    with start_run(f"{name}.{method}", stage=METHODS[method]) as run:
        if method == "fit":
            run.log_params({k: _setting(v) for k, v in estimator.get_params(deep=False).items()})
        else:
            _model_of(run, estimator, "input")
        _dataset(run, X, "X", "input")
        _dataset(run, y, "y", "input")
        result = call()
        if method == "fit":
            model_id = _model_of(run, estimator, "output")
            if y is not None and hasattr(estimator, "score"):
                run.log_metric("training_score", float(estimator.score(X, y)), model_id=model_id)
        elif method == "predict":
            _dataset(run, result, "predictions", "output")
        else:
            run.log_metric("score", float(result), model_id=_model_ids.get(estimator))
    return result


def _wrap(method: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        try:
            if depth:
                return original(self, *args, **kwargs)
            return _record(method, self, args, kwargs, lambda: original(self, *args, **kwargs))
        finally:
            _state.depth = depth

    setattr(wrapper, _MARK, original)
    return wrapper


def _patch(cls: type, method: str) -> None:
    """Wrap ``cls.method`` if it is a plain function (not a descriptor such as ``available_if``)."""
    raw = next((c.__dict__[method] for c in cls.__mro__ if method in c.__dict__), None)
    current = getattr(cls, method, None)
    if inspect.isfunction(raw) and getattr(current, _MARK, None) is None:
        wrapper = _wrap(method, current)
        wrapper.__provml_replaced__ = method in cls.__dict__  # type: ignore[attr-defined]
        setattr(cls, method, wrapper)


def _unpatch(cls: type, method: str) -> None:
    wrapper = cls.__dict__.get(method)
    if wrapper is None or getattr(wrapper, _MARK, None) is None:
        return
    if wrapper.__provml_replaced__:
        setattr(cls, method, getattr(wrapper, _MARK))
    else:  # the wrapper stood over an inherited method: let inheritance show through again
        delattr(cls, method)


def autolog(*, disable: bool = False) -> None:
    """Record every scikit-learn estimator's ``fit``, ``predict`` and ``score`` (``disable=True`` undoes it)."""
    from sklearn.utils import all_estimators

    for _, cls in all_estimators():
        for method in METHODS:
            (_unpatch if disable else _patch)(cls, method)
