"""IPython extension: each cell a notebook runs recorded as a task execution, through the capture client.

In a notebook (or IPython)::

    %load_ext provml.notebook

starts a workflow named after the notebook, and every cell run from then on is a task execution of
it: its execution count and source digest, start, end and success (a failed cell keeps its
traceback), and what :mod:`provml.cells` reads in its code: the variables it defines and uses
(linking it to the cells that defined them), the files it reads and writes, the models it fits
(with their parameters) and the scores it computes (with their values, read from the kernel).
Calls of the capture API inside a cell (``provml.log_metric(...)``) go to that cell's run.

Events go where the capture client sends them: ``$PROVML_CAPTURE``, or ``./provml-events/``.
``%provml`` says where; ``%provml off`` stops recording, ``%provml on [TRANSPORT]`` starts again.
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import numbers
import os
import warnings
from pathlib import Path
from typing import Any

from provml.capture import Run, Workflow, start_workflow
from provml.cells import CellFacts, CellReader, FileUse
from provml.errors import ProvmlWarning

_capture: dict[str, CellCapture] = {}  # "active": the capture of this kernel, while one runs


class CellCapture:
    """Record the cells an IPython shell runs as task executions of one workflow."""

    def __init__(self, shell: Any, transport: str | None = None) -> None:
        self.shell = shell
        self.cells = CellReader()
        self.models: dict[str, str] = {}  # variable -> model id of the model it holds
        self.workflow: Workflow = start_workflow(notebook_name(shell), transport=transport)
        self._context = contextvars.Context()  # where capture's context variables are set and reset
        self._context.run(self.workflow.__enter__)
        self._cell: tuple[Run, CellFacts] | None = None

    def pre_run_cell(self, info: Any) -> None:
        """Start the run of a cell (IPython's ``pre_run_cell`` event)."""
        if not info.store_history:  # a frontend's own request, not a cell of the notebook
            return
        count = self.shell.execution_count - 1  # IPython has counted this cell already
        facts = self.cells.read(info.raw_cell)
        task_id = f"execution-{count}"
        plan = f"{self.workflow.name}/{getattr(info, 'cell_id', None) or task_id}"
        run = Run(self.workflow, plan, stage=facts.stage, task_id=task_id)
        self._context.run(run.__enter__)
        run.set_tags(execution_count=count, source_sha256=hashlib.sha256(info.raw_cell.encode()).hexdigest())
        self._cell = (run, facts)

    def post_run_cell(self, result: Any) -> None:
        """End the run of a cell (IPython's ``post_run_cell`` event) with what it did."""
        if self._cell is None:
            return
        (run, facts), self._cell = self._cell, None
        error = result.error_before_exec or result.error_in_exec
        try:
            self.record(run, facts, result.result)
        except Exception as failure:  # recording must never break the user's notebook
            warnings.warn(ProvmlWarning(f"provml could not record a cell: {failure!r}"), stacklevel=2)
        finally:
            failure = (type(error), error, error.__traceback__) if error is not None else (None, None, None)
            self._context.run(run.__exit__, *failure)

    def record(self, run: Run, facts: CellFacts, value: Any) -> None:
        """Record what a cell did: the values it used and generated, its files, models and scores."""
        for name, token in facts.used.items():
            run.used(name, token)
        for name, token in facts.defined.items():
            run.generated(name, token)
        for use in facts.files:
            self.record_file(run, use)
        namespace = self.shell.user_ns
        for fit in facts.fits:
            model = namespace.get(fit.model)
            model_id = self.models[fit.model] = f"{run.workflow_id}/{run.task_id}/{fit.model}"
            algorithm = (fit.estimator or type(model).__name__).rsplit(".", 1)[-1]
            run.log_model(model, name=fit.model, model_id=model_id, algorithm=algorithm, implementation=fit.estimator)
            run.log_params(model.get_params(deep=False) if hasattr(model, "get_params") else fit.params)
        for name in facts.models_used:
            if name in self.models:
                run.log_model(name=name, role="input", model_id=self.models[name])
        for score in facts.scores:
            shown = namespace.get(score.target) if score.target else value if score.shown else None
            if isinstance(shown, numbers.Real) and not isinstance(shown, bool):
                run.log_metric(score.measure, float(shown), model_id=self.models.get(score.model or ""))

    def record_file(self, run: Run, use: FileUse) -> None:
        """Record a file the cell read or wrote, by content; a fitted model written to a file is a model."""
        path = Path(use.path).expanduser()
        if "://" in use.path or not path.exists():
            return
        if use.role == "output" and use.value in self.models:
            run.log_model(path, role="output", derived_from=[self.models[use.value]])
        else:
            run.log_dataset(path, role=use.role)

    def close(self) -> None:
        """End the cell running now, if any, and the workflow, and flush the events."""
        if self._cell is not None:
            run, self._cell = self._cell[0], None
            self._context.run(run.__exit__, None, None, None)
        self._context.run(self.workflow.__exit__, None, None, None)


def notebook_name(shell: Any) -> str:
    """Return the name of the notebook a kernel runs (as Jupyter tells it), or ``notebook``."""
    session = shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME") or ""
    return Path(session).name.removesuffix(".ipynb") or "notebook"


def start(shell: Any, transport: str | None = None) -> CellCapture:
    """Start recording the cells ``shell`` runs (once: a running capture is returned as it is)."""
    if (capture := _capture.get("active")) is not None:
        return capture
    capture = _capture["active"] = CellCapture(shell, transport)
    shell.events.register("pre_run_cell", capture.pre_run_cell)
    shell.events.register("post_run_cell", capture.post_run_cell)
    atexit.register(capture.close)
    return capture


def stop(shell: Any) -> None:
    """Stop recording cells: end the workflow and flush its events."""
    capture = _capture.pop("active", None)
    if capture is None:
        return
    shell.events.unregister("pre_run_cell", capture.pre_run_cell)
    shell.events.unregister("post_run_cell", capture.post_run_cell)
    atexit.unregister(capture.close)
    capture.close()


def provml_magic(line: str) -> None:
    """``%provml``: say where cells are recorded; ``%provml off`` stops, ``%provml on [TRANSPORT]`` starts."""
    from IPython import get_ipython
    from IPython.core.error import UsageError

    shell = get_ipython()
    command, _, transport = line.strip().partition(" ")
    if command == "off":
        stop(shell)
    elif command == "on":
        start(shell, transport.strip() or None)
    elif command:
        raise UsageError(f"%provml: unknown command {command!r}; use %provml, %provml on [TRANSPORT] or %provml off")
    capture = _capture.get("active")
    if capture is None:
        print("provml: not recording cells")
        return
    transport_used = capture.workflow.transport
    target = getattr(transport_used, "path", None) or type(transport_used).__name__
    print(f"provml: recording cells as workflow {capture.workflow.workflow_id} into {target}")


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext provml.notebook``: record every cell run from now on, and add the ``%provml`` magic."""
    shell.register_magic_function(provml_magic, magic_kind="line", magic_name="provml")
    start(shell)


def unload_ipython_extension(shell: Any) -> None:
    """``%unload_ext provml.notebook``: stop recording cells."""
    stop(shell)
