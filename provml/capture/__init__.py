"""Capture the provenance of ML code as it runs, in the provml event format v1.

>>> import provml, tempfile
>>> with provml.start_workflow("iris", transport=tempfile.mkdtemp()) as workflow:
...     with provml.start_run("fit", stage="training"):
...         provml.log_params({"n_estimators": 100, "max_depth": 4})
...         provml.log_metric("accuracy", 0.96, step=1)
>>> workflow.transport.path.suffix
'.jsonl'

Events go to one JSON-lines file per process (default ``./provml-events/``, or
``$PROVML_CAPTURE``); load them with ``provml load provml-events/``.
"""

from __future__ import annotations

from typing import Any

from provml.capture._recorder import (
    CaptureError,
    Run,
    Workflow,
    active_run,
    active_workflow,
    current_run,
    epochs,
    start_run,
    start_workflow,
)
from provml.capture.tasks import task

__all__ = [
    "CaptureError",
    "Run",
    "Workflow",
    "active_run",
    "active_workflow",
    "epochs",
    "generated",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "set_tags",
    "start_run",
    "start_workflow",
    "task",
    "used",
]


def log_param(name: str, value: Any, *, kind: str | None = None) -> None:
    """Record a hyperparameter setting of the active run (``kind``: "learning" or "model")."""
    current_run().log_param(name, value, kind=kind)


def log_params(params: dict[str, Any], *, kind: str | None = None) -> None:
    """Record hyperparameter settings of the active run."""
    current_run().log_params(params, kind=kind)


def log_metric(
    name: str, value: float, step: int | None = None, timestamp: float | None = None, *, epoch: int | None = None
) -> None:
    """Record one value of a metric of the active run, at a step (and epoch) and time (default: now)."""
    run = active_run()  # current_run() inlined: this is the hot path, a function call is a tenth of its cost
    if run is None:
        raise CaptureError("no active run: log inside `with provml.start_run(...)`")
    run.log_metric(name, value, step, timestamp, epoch=epoch)


def log_metrics(
    metrics: dict[str, float], step: int | None = None, timestamp: float | None = None, *, epoch: int | None = None
) -> None:
    """Record several metrics of the active run at the same step and time."""
    current_run().log_metrics(metrics, step, timestamp, epoch=epoch)


def log_dataset(data: Any, **options: Any) -> str:
    """Record a dataset the active run (or workflow) used or generated; see :meth:`Run.log_dataset`."""
    return _scope().log_dataset(data, **options)


def log_model(model: Any = None, **options: Any) -> str:
    """Record a model the active run (or workflow) generated or used; see :meth:`Run.log_model`."""
    return _scope().log_model(model, **options)


def used(name: str, value: Any = None, **options: Any) -> None:
    """Record a value or file the active run (or workflow) used."""
    _scope().used(name, value, **options)


def generated(name: str, value: Any = None, **options: Any) -> None:
    """Record a value or file the active run (or workflow) generated."""
    _scope().generated(name, value, **options)


def set_tags(**tags: Any) -> None:
    """Attach tags (key = value) to the active run."""
    current_run().set_tags(**tags)


def _scope() -> Run | Workflow:
    scope = active_run() or active_workflow()
    if scope is None:
        raise CaptureError("nothing to log to: use `with provml.start_workflow(...)` or `provml.start_run(...)`")
    return scope
