"""Workflows and runs as context managers, and the events they write.

A :class:`Workflow` is one execution of a workflow; a :class:`Run` is one task execution in it
(a training, an evaluation, an epoch), nested as the ``with`` blocks are. Each method writes one
event of the provml event format v1 through the workflow's transport.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from provml.capture import environment
from provml.capture.digest import describe_data
from provml.capture.telemetry import TelemetrySampler
from provml.capture.transports import Transport, open_transport, process_rank
from provml.errors import ProvmlError

T = TypeVar("T")
_MAX_STDERR = 4000  # characters of a traceback kept on a failed run

_active_run: ContextVar[Run | None] = ContextVar("provml_run", default=None)
_active_workflow: ContextVar[Workflow | None] = ContextVar("provml_workflow", default=None)
_latest: dict[str, Any] = {"run": None, "workflow": None}  # seen by threads that did not start them


class CaptureError(ProvmlError):
    """The capture API was used wrongly (e.g. logging with no active run)."""


def active_workflow() -> Workflow | None:
    """Return the workflow of the innermost ``with start_workflow(...)`` block, if any."""
    return _active_workflow.get() or _latest["workflow"]


def active_run() -> Run | None:
    """Return the run of the innermost ``with start_run(...)`` block, if any."""
    return _active_run.get() or _latest["run"]


def _domain(concepts: list[str] | tuple[str, ...] | None) -> dict[str, Any]:
    return {"domain_concepts": list(concepts)} if concepts else {}


def _failure(
    exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
) -> dict[str, Any]:
    if exc_type is None:
        return {"status": "FINISHED"}
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    return {"status": "ERROR", "stderr": text[-_MAX_STDERR:]}


class _Scope:
    """What workflows and runs share: an id, a transport, and logging of data and models."""

    workflow_id: str
    transport: Transport
    _task_fields: dict[str, Any]  # identifies the execution in data records: task_id, or nothing

    def _write(self, record: dict[str, Any]) -> None:
        self.transport.write(record)

    def log_dataset(
        self,
        data: Any,
        *,
        role: str = "input",
        name: str | None = None,
        kind: str | None = None,
        dataset_id: str | None = None,
        derived_from: list[str] | None = None,
        domain_concepts: list[str] | None = None,
    ) -> str:
        """Record a dataset this execution used (``role="input"``) or generated; return its id.

        ``data`` is a path (file or directory: digest streamed), an array or a data frame
        (digest of its content, shape and dtypes). The id defaults to the content digest.
        """
        facts = describe_data(data)
        record = {"type": "dataset", "workflow_id": self.workflow_id, **self._task_fields, "role": role}
        record["name"] = name or facts.pop("default_name", None) or "dataset"
        facts.pop("default_name", None)
        record.update(facts)
        record["dataset_id"] = dataset_id or facts.get("sha256") or record["name"]
        if kind is not None:
            record["kind"] = kind
        if derived_from:
            record["derived_from"] = list(derived_from)
        record.update(_domain(domain_concepts))
        self._write(record)
        return record["dataset_id"]

    def log_model(
        self,
        model: Any = None,
        *,
        name: str | None = None,
        role: str = "output",
        model_id: str | None = None,
        algorithm: str | None = None,
        implementation: str | None = None,
        version: str | None = None,
        derived_from: list[str] | None = None,
        domain_concepts: list[str] | None = None,
    ) -> str:
        """Record a model this execution generated (or used, ``role="input"``); return its id.

        ``model`` is a saved file or directory (digest, size and location are recorded) or the
        model object itself (its class is the implementation).
        """
        record: dict[str, Any] = {"type": "model", "workflow_id": self.workflow_id, **self._task_fields, "role": role}
        if isinstance(model, (str, os.PathLike)):
            facts = describe_data(model)
            record["name"] = name or facts.pop("default_name")
            record.update({k: v for k, v in facts.items() if k in ("location", "sha256", "size_bytes")})
        else:
            record["name"] = name or (type(model).__name__ if model is not None else "model")
            if model is not None and implementation is None:
                implementation = f"{type(model).__module__}.{type(model).__qualname__}"
        record["model_id"] = model_id or record.get("sha256") or f"{self.workflow_id}/{record['name']}"
        for key, value in (("algorithm", algorithm), ("implementation", implementation), ("version", version)):
            if value is not None:
                record[key] = value
        if derived_from:
            record["derived_from"] = list(derived_from)
        record.update(_domain(domain_concepts))
        self._write(record)
        return record["model_id"]

    def used(self, name: str, value: Any = None, *, domain_concepts: list[str] | None = None) -> None:
        """Record a value (or, for a path, a file) this execution used."""
        self._data("input", name, value, domain_concepts)

    def generated(self, name: str, value: Any = None, *, domain_concepts: list[str] | None = None) -> None:
        """Record a value (or, for a path, a file) this execution generated."""
        self._data("output", name, value, domain_concepts)

    def _data(self, role: str, name: str, value: Any, concepts: list[str] | None) -> None:
        record = {"type": "data", "workflow_id": self.workflow_id, **self._task_fields, "role": role, "name": name}
        if isinstance(value, os.PathLike) or (isinstance(value, str) and os.path.exists(value)):
            facts = describe_data(value)
            record.update({k: v for k, v in facts.items() if k in ("location", "sha256", "size_bytes")})
        elif value is not None:
            record["value"] = value
        record.update(_domain(concepts))
        self._write(record)


class Workflow(_Scope):
    """One execution of a workflow: the outermost scope of capture. Use as a context manager."""

    def __init__(
        self,
        name: str,
        *,
        workflow_id: str | None = None,
        campaign: str | None = None,
        seeds: dict[str, int] | None = None,
        transport: str | Transport | None = None,
        telemetry: float | None = None,
        domain_concepts: list[str] | None = None,
    ) -> None:
        self.name = name
        self.workflow_id = workflow_id or os.environ.get("PROVML_WORKFLOW_ID") or f"{name}-{uuid.uuid4().hex[:12]}"
        self.transport = transport if isinstance(transport, Transport) else open_transport(transport)
        self._task_fields = {}
        self._campaign, self._seeds, self._concepts = campaign, seeds, domain_concepts
        self._telemetry_interval = telemetry
        self._sampler: TelemetrySampler | None = None
        self._tokens: tuple[Any, Any] | None = None
        self._previous: tuple[Any, Any] = (None, None)
        # the processes of a parallel job share one workflow execution: rank 0 (or a lone process) times it
        self._owner = process_rank() in (None, "0")

    def __enter__(self) -> Workflow:
        fields = environment.environment_fields(self._seeds)
        self.hostname = fields.get("hostname") or "localhost"
        self._write({"hostname": self.hostname, **environment.host_record()})
        record = {"type": "workflow", "workflow_id": self.workflow_id, "name": self.name}
        if self._owner:
            record["started_at"] = time.time()
        if self._campaign:
            record["campaign_id"] = self._campaign
        record.update(fields)
        record.update(_domain(self._concepts))
        self._write(record)
        if self._telemetry_interval:
            self._sampler = TelemetrySampler(self._sample, self._telemetry_interval, self.hostname)
            self._sampler.start()
        self._tokens = (_active_workflow.set(self), _active_run.set(None))
        self._previous = (_latest["workflow"], _latest["run"])
        _latest["workflow"], _latest["run"] = self, None
        _flush_on_sigterm(self.transport)
        return self

    def _sample(self, fields: dict[str, Any]) -> None:
        run = active_run()
        task = {"task_id": run.task_id} if run is not None and run.workflow is self else {}
        self._write({"type": "telemetry", "workflow_id": self.workflow_id, **task, **fields})

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sampler is not None:
            self._sampler.stop()
        if self._owner:
            end = {"type": "workflow", "workflow_id": self.workflow_id, "ended_at": time.time()}
            self._write({**end, **_failure(exc_type, exc, tb)})
        self.transport.flush()
        if self._tokens is not None:
            _active_workflow.reset(self._tokens[0])
            _active_run.reset(self._tokens[1])
        _latest["workflow"], _latest["run"] = self._previous


class Run(_Scope):
    """One task execution of a workflow (a stage, a task, an epoch). Use as a context manager."""

    def __init__(
        self,
        workflow: Workflow,
        name: str,
        *,
        stage: str | None = None,
        task_id: str | None = None,
        parent: Run | None = None,
        gpus: list[int] | None = None,
        domain_concepts: list[str] | None = None,
    ) -> None:
        self.workflow, self.name, self.stage, self.parent = workflow, name, stage, parent
        self.workflow_id, self.transport = workflow.workflow_id, workflow.transport
        self.task_id = task_id or f"{name}-{uuid.uuid4().hex[:12]}"
        self._task_fields = {"task_id": self.task_id}
        self._gpus, self._concepts = gpus, domain_concepts
        self._tokens: Any = None
        self._previous: Run | None = None
        self.epoch: int | None = None  # set by epochs(): the epoch this section run is

    def __enter__(self) -> Run:
        record: dict[str, Any] = {
            "type": "task", "workflow_id": self.workflow_id, "task_id": self.task_id, "activity_id": self.name,
            "started_at": time.time(), "status": "RUNNING", "hostname": self.workflow.hostname,
        }  # fmt: skip
        if self.stage:
            record["subtype"] = self.stage
        if self.parent is not None:
            record["parent_task_id"] = self.parent.task_id
        if self._gpus:
            record["gpus"] = list(self._gpus)
        record.update(_domain(self._concepts))
        self._write(record)
        self._tokens = _active_run.set(self)
        self._previous, _latest["run"] = _latest["run"], self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        ended = {"type": "task", "workflow_id": self.workflow_id, "task_id": self.task_id, "ended_at": time.time()}
        self._write({**ended, **_failure(exc_type, exc, tb)})
        self.transport.flush()
        if self._tokens is not None:
            _active_run.reset(self._tokens)
        _latest["run"] = self._previous

    def log_param(self, name: str, value: Any, *, kind: str | None = None) -> None:
        """Record a hyperparameter setting (``kind``: "learning" or "model")."""
        record = {"type": "param", "workflow_id": self.workflow_id, "task_id": self.task_id, "name": name}
        record["value"] = value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
        if kind is not None:
            record["kind"] = kind
        self._write(record)

    def log_params(self, params: dict[str, Any], *, kind: str | None = None) -> None:
        """Record several hyperparameter settings."""
        for name, value in params.items():
            self.log_param(name, value, kind=kind)

    def log_metric(
        self,
        name: str,
        value: float,
        step: int | None = None,
        timestamp: float | None = None,
        *,
        epoch: int | None = None,
        model_id: str | None = None,
    ) -> None:
        """Record one value of a metric, at a step (and epoch) and time (default: now).

        Inside :func:`epochs`, the epoch defaults to the current one; ``model_id`` names the
        model the value evaluates.
        """
        record = {
            "type": "metric", "workflow_id": self.workflow_id, "task_id": self.task_id, "name": name,
            "value": float(value), "timestamp": time.time() if timestamp is None else timestamp,
        }  # fmt: skip
        if step is not None:
            record["step"] = step
        if epoch is not None or (epoch := self.epoch) is not None:
            record["epoch"] = epoch
        if model_id is not None:
            record["model_id"] = model_id
        self.transport.write(record)

    def log_metrics(
        self,
        metrics: dict[str, float],
        step: int | None = None,
        timestamp: float | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        """Record several metrics at the same step and time."""
        timestamp = time.time() if timestamp is None else timestamp
        for name, value in metrics.items():
            self.log_metric(name, value, step, timestamp, epoch=epoch)

    def set_tags(self, **tags: Any) -> None:
        """Attach free-form tags (key = value) to this run."""
        self._write({"type": "task", "workflow_id": self.workflow_id, "task_id": self.task_id,
                     "tags": {k: str(v) for k, v in tags.items()}})  # fmt: skip


def start_workflow(name: str | None = None, **options: Any) -> Workflow:
    """Return a workflow to capture, as a context manager: ``with provml.start_workflow("sweep"):``.

    Options: ``workflow_id`` (default ``$PROVML_WORKFLOW_ID`` or a new id: give the same one to
    every rank of a parallel job), ``campaign``, ``seeds`` (name -> seed), ``transport`` (a URI,
    default ``$PROVML_CAPTURE`` or ``./provml-events/``), ``telemetry`` (seconds between resource
    samples), ``domain_concepts`` (IRIs).
    """
    return Workflow(name or Path(sys.argv[0] or "python").stem or "python", **options)


_implicit: list[Workflow] = []


def _implicit_workflow() -> Workflow:
    """Start, once per process, a workflow for runs started outside any ``start_workflow`` block."""
    if not _implicit:
        workflow = start_workflow()
        workflow.__enter__()
        _implicit.append(workflow)
        import atexit

        atexit.register(workflow.__exit__, None, None, None)
    return _implicit[0]


def start_run(name: str, **options: Any) -> Run:
    """Return a run (task execution) nested in the active run or workflow: ``with provml.start_run("train"):``.

    Options: ``stage`` (training, validation, evaluation, data_curation, dataprep, deployment,
    inference, epoch...), ``task_id``, ``gpus`` (indices), ``domain_concepts`` (IRIs).
    """
    workflow = active_workflow() or _implicit_workflow()
    return Run(workflow, name, parent=active_run(), **options)


def current_run() -> Run:
    """Return the active run, or raise :class:`CaptureError` if there is none."""
    run = active_run()
    if run is None:
        raise CaptureError("no active run: log inside `with provml.start_run(...)`")
    return run


_sigterm_transports: list[Transport] = []


def _flush_on_sigterm(transport: Transport) -> None:
    """Flush capture transports when the process is asked to terminate, then terminate as before."""
    _sigterm_transports.append(transport)
    if len(_sigterm_transports) > 1 or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        for each in _sigterm_transports:
            each.flush()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)


def epochs(iterable: Iterable[T], *, name: str = "epoch") -> Iterator[T]:
    """Yield the items of ``iterable``, each inside a section run of the active run (one per epoch).

    The hook for hand-written training loops: ``for batch in provml.epochs(range(10)): ...``;
    metrics logged inside carry the epoch's index, and an exception ends the epoch as failed.
    """
    for index, item in enumerate(iterable):
        with start_run(name, stage="epoch") as section:
            section.epoch = index
            yield item
