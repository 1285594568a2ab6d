"""Loader of Jupyter notebooks (``.ipynb``): the notebook's run as a workflow execution, each code cell
a task execution of it, in the order the cells ran.

The code of the cells is read with :mod:`ast` (:mod:`provml.cells`). A variable one cell defines and a
later cell uses is a data value the first generated and the second used; files read and written
(pandas, numpy, ``open``, joblib, pickle, torch) are datasets; ``fit`` makes the cell a training that
generates a model, ``predict``, ``score`` and metric functions (``accuracy_score``) an evaluation that
uses it, and the one number the evaluating cell showed is the metric's value. The lineage data file ->
features -> model -> metric is then a chain of ``prov:wasGeneratedBy`` / ``prov:used``. Everything
is said as provml events and mapped by :func:`provml.loaders.events.event_quads`.

A ``provml`` key in the notebook's or a code cell's metadata annotates the run, the cell's task and the
files the cells read or write with domain concepts (IRIs)::

    {"provml": {"domain_concepts": ["https://geo.example/FaciesClassification"],
                "data_concepts": {"wells.csv": ["https://geo.example/WellLog"]}}}

A notebook is one JSON document, but it is streamed (``pip install 'provml[notebook]'``: ijson parses
it, nbformat checks it against the notebook schema, a batch of cells at a time): of each code cell only
what the loader uses is kept (its code, count, times, error, annotations and the numbers it showed), never
its outputs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from provml.capture.digest import describe_data
from provml.cells import CellFacts, CellReader, FileUse
from provml.errors import EventError, InputError, ProvmlError, ProvmlWarning
from provml.events import check_record, domain_concepts
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, file_sha256
from provml.loaders.events import event_quads
from provml.rdf import Quad

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.%])")
_STARTED = ("iopub.execute_input", "iopub.status.busy")  # cell timing keys nbclient and JupyterLab write
_ENDED = ("shell.execute_reply", "iopub.status.idle")
_BATCH = 256  # cells checked at once: nbformat's validator is fast per notebook, slow per cell
_ANNOTATION_KEYS = ("domain_concepts", "data_concepts")  # the keys of a notebook's or a cell's provml metadata


class NotebookLoader(Loader):
    """Read Jupyter notebooks (``.ipynb``): cells as tasks, and the data, models and metrics between them."""

    name = "notebook"
    description = "Jupyter notebooks (.ipynb): code cells as tasks, and the variables, files and models between them"
    extensions = (".ipynb",)

    def sniff(self, path: Path) -> bool:
        """Return True for an ``.ipynb`` file: a notebook is known by its name (its content is checked when read)."""
        return path.name.lower().endswith(".ipynb")

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of a notebook's run; a malformed notebook raises an error naming its file (and cell)."""
        path = Path(source)
        return event_quads(notebook_records(path, on_bytes=on_bytes), path, ids, graph)


@dataclass(frozen=True)
class Annotations:
    """The ``provml`` metadata of a notebook or a cell: domain concepts of its run (or task), and of the files
    its code names, by the path as the code writes it or by the file's name."""

    concepts: tuple[str, ...] = ()
    data: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def of_file(self, written: str) -> tuple[str, ...]:
        """Return the concepts of a file the code names as ``written``."""
        name = Path(written).name
        return self.data.get(written, ()) + (self.data.get(name, ()) if name != written else ())


_NO_ANNOTATIONS = Annotations()


def _annotations(metadata: dict[str, Any], path: Path, where: str) -> Annotations:
    """Return the ``provml`` annotations of a notebook's or a cell's metadata; a bad shape raises an error naming
    ``path`` and ``where`` (``metadata`` or ``cell N``)."""
    given = metadata.get("provml")
    if given is None:
        return _NO_ANNOTATIONS
    try:
        if not isinstance(given, dict):
            raise EventError(f"provml: expected an object of {' and '.join(_ANNOTATION_KEYS)}")
        if unknown := sorted(set(given) - set(_ANNOTATION_KEYS)):
            raise EventError(f"provml: unknown key {unknown[0]!r}; expected {' or '.join(_ANNOTATION_KEYS)}")
        files = given.get("data_concepts", {})
        if not isinstance(files, dict):
            raise EventError("provml.data_concepts: expected an object of file: IRIs")
        return Annotations(
            tuple(domain_concepts(given.get("domain_concepts", []), "provml.domain_concepts")),
            {name: tuple(domain_concepts(iris, f"provml.data_concepts[{name!r}]")) for name, iris in files.items()},
        )
    except EventError as error:
        raise EventError(error.message, source=path, line=where) from None


@dataclass(frozen=True)
class Cell:
    """What the loader keeps of a code cell: its code, when it ran and how it ended, its annotations, the numbers
    it showed."""

    index: int  # position among all the notebook's cells, from 0
    source: str
    execution_count: int | None
    started: str | None
    ended: str | None
    error: str | None  # "ename: evalue" of its error output
    annotations: Annotations
    numbers: tuple[float, ...]  # in its printed output and value; two at most (one is a score's value)


def notebook_records(path: Path, *, on_bytes: ProgressCallback | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(position, event record)`` for a notebook file: its workflow, then each code cell's
    records in the order the cells ran (cells that never ran last, in document order)."""
    metadata, cells = read_notebook(path, on_bytes=on_bytes)
    run = _NotebookRun(path, metadata, cells, file_sha256(path))
    for position, record in run.records():
        try:
            check_record(record)
        except EventError as error:
            raise EventError(error.message, source=path, line=position) from None
        yield position, record


def read_notebook(path: Path, *, on_bytes: ProgressCallback | None = None) -> tuple[dict[str, Any], list[Cell]]:
    """Return the metadata and the code cells of a notebook file (nbformat 4), checked against its schema."""
    try:
        import ijson
        import nbformat
    except ImportError:
        message = "reading notebooks needs nbformat and ijson: pip install 'provml[notebook]'"
        raise InputError(message, source=path) from None
    cells: list[Cell] = []
    try:
        with path.open("rb") as stream:
            header = _header(ijson.parse(stream, use_float=True), path)
            _validate(nbformat, header, path)
            stream.seek(0)
            first, reported = 0, 0
            for batch in _batches(ijson.items(stream, "cells.item", use_float=True), _BATCH):
                cells += _code_cells(nbformat, header, batch, first, path)
                first += len(batch)
                if on_bytes is not None:
                    position = stream.tell()
                    on_bytes(position - reported)
                    reported = position
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    except ijson.JSONError as error:
        raise InputError(f"not JSON: {_first_line(error)}", source=path) from None
    return header.get("metadata") or {}, cells


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _header(events: Iterator[tuple[str, str, Any]], path: Path) -> dict[str, Any]:
    """Return a notebook's top-level fields, its cells left out (``cells`` is an empty list if it is a list)."""
    from ijson.common import ObjectBuilder

    if next(events, (None, None, None))[1] != "start_map":
        raise InputError("not a Jupyter notebook: not a JSON object", source=path)
    header: dict[str, Any] = {}
    key, builder = None, None  # the top-level field being read, and its value so far
    for prefix, event, value in events:
        if prefix == "":  # a top-level key, or the end
            if builder is not None:
                header[key] = builder.value
            key = value if event == "map_key" else None
            builder = ObjectBuilder() if key not in (None, "cells") else None
        elif builder is not None:
            builder.event(event, value)
        elif prefix == "cells" and "cells" not in header:
            header["cells"] = [] if event == "start_array" else {} if event == "start_map" else value
    return header


def _validate(nbformat: Any, notebook: dict[str, Any], path: Path, first_cell: int = 0) -> None:
    """Check a notebook, or a batch of its cells under its header, against nbformat's schema."""
    if (version := notebook.get("nbformat")) != 4:
        if version is None:
            raise InputError("not a Jupyter notebook: it has no nbformat version", source=path)
        raise InputError(f"nbformat {version} notebooks are not read; open and save it in Jupyter first", source=path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat warns while it repairs missing cell ids
        try:
            nbformat.validate(notebook)
        except nbformat.ValidationError as error:
            where = list(getattr(error, "absolute_path", ()))
            cell = f"cell {first_cell + where[1]}" if len(where) > 1 and where[0] == "cells" else None
            raise InputError(f"invalid notebook: {error.message}", source=path, line=cell) from None


def _code_cells(nbformat: Any, header: dict[str, Any], batch: list[Any], first: int, path: Path) -> list[Cell]:
    """Check a batch of cells and return what the loader keeps of its code cells."""
    _validate(nbformat, {**header, "cells": batch}, path, first)
    return [_cell(first + offset, cell, path) for offset, cell in enumerate(batch) if cell["cell_type"] == "code"]


def _cell(index: int, cell: dict[str, Any], path: Path) -> Cell:
    timing = cell["metadata"].get("execution") or {}
    outputs = cell["outputs"]
    error = next((output for output in outputs if output["output_type"] == "error"), None)
    numbers = islice((float(found) for text in _shown_texts(outputs) for found in _NUMBER.findall(text)), 2)
    return Cell(
        index=index,
        source=_text(cell["source"]),
        execution_count=cell["execution_count"],
        started=next((timing[key] for key in _STARTED if isinstance(timing.get(key), str)), None),
        ended=next((timing[key] for key in _ENDED if isinstance(timing.get(key), str)), None),
        error=f"{error['ename']}: {error['evalue']}" if error is not None else None,
        annotations=_annotations(cell["metadata"], path, f"cell {index}"),
        numbers=tuple(numbers),
    )


def _shown_texts(outputs: list[dict[str, Any]]) -> Iterator[str]:
    """Yield the text a cell printed (standard output) and the plain text of its value."""
    for output in outputs:
        if output["output_type"] == "stream" and output["name"] == "stdout":
            yield _text(output["text"])
        elif output["output_type"] == "execute_result":
            yield _text(output["data"].get("text/plain", ""))


def _text(value: str | list[str]) -> str:
    """Return a notebook's multi-line string, which its JSON may split into a list of lines."""
    return value if isinstance(value, str) else "".join(value)


def _first_line(error: Exception) -> str:
    text = error.args[0] if error.args else error
    return (text.decode(errors="replace") if isinstance(text, bytes) else str(text)).strip().splitlines()[0]


class _NotebookRun:
    """The event records of one notebook file: a workflow execution and one task per code cell."""

    def __init__(self, path: Path, metadata: dict[str, Any], cells: list[Cell], sha256: str) -> None:
        self.path, self.metadata = path, metadata
        self.annotations = _annotations(metadata, path, "metadata")
        self.name = path.name.removesuffix(".ipynb")
        self.workflow_id = f"{self.name}-{sha256[:12]}"  # the same content is the same run
        self.reader = CellReader()
        self.models: dict[str, str] = {}  # variable -> model id of the model it holds
        self.cells = sorted(cells, key=lambda c: (c.execution_count is None, c.execution_count or 0, c.index))

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        workflow = {"type": "workflow", "workflow_id": self.workflow_id, "name": self.name}
        language = self.metadata.get("language_info") or {}
        if language.get("name") == "python" and isinstance(language.get("version"), str):
            workflow["environment"] = {"python": language["version"]}
        _put(workflow, "domain_concepts", list(self.annotations.concepts))
        yield "metadata", workflow
        for cell in self.cells:
            for record in self.cell_records(cell):
                yield f"cell {cell.index}", record
        yield "metadata", self.workflow_times()

    def workflow_times(self) -> dict[str, Any]:
        """Return when the run started and ended (its first and last cells), and how it ended."""
        record: dict[str, Any] = {"type": "workflow", "workflow_id": self.workflow_id}
        ran = [cell for cell in self.cells if cell.execution_count is not None]
        if ran:
            record["status"] = "ERROR" if any(cell.error for cell in ran) else "FINISHED"
            _put(record, "started_at", ran[0].started)
            _put(record, "ended_at", ran[-1].ended)
        return record

    def cell_records(self, cell: Cell) -> Iterator[dict[str, Any]]:
        facts = self.reader.read(cell.source)
        if facts.syntax_error is not None:
            message = f"{self.path}:cell {cell.index}: {facts.syntax_error}; recorded without its variables"
            warnings.warn(ProvmlWarning(message), stacklevel=2)
        task_id = f"cell-{cell.index}"
        task = {"type": "task", "workflow_id": self.workflow_id, "task_id": task_id}
        task["activity_id"] = f"{self.name}/{task_id}"
        _put(task, "subtype", facts.stage)
        if cell.execution_count is not None:
            task.update(tags={"execution_count": cell.execution_count}, status="FINISHED")
            _put(task, "started_at", cell.started)
            _put(task, "ended_at", cell.ended)
        if cell.error is not None:
            task.update(status="ERROR", stderr=cell.error)
        _put(task, "used", facts.used)
        _put(task, "generated", facts.defined)
        _put(task, "domain_concepts", list(cell.annotations.concepts))
        yield task
        ids = {"workflow_id": self.workflow_id, "task_id": task_id}
        yield from (self.file_record(ids, use, cell) for use in facts.files)
        yield from self.model_records(ids, facts)
        yield from self.metric_records(ids, facts, cell)

    def file_record(self, ids: dict[str, str], use: FileUse, cell: Cell) -> dict[str, Any]:
        """Return the dataset a cell read or wrote, with the concepts the notebook and the cell give it; a fitted
        model written to a file is a model of its own, derived from the one in memory."""
        record = {"type": "dataset", **ids, "role": use.role, "name": Path(use.path).name or use.path}
        record.update(self.file_facts(use.path))
        concepts = self.annotations.of_file(use.path) + cell.annotations.of_file(use.path)
        _put(record, "domain_concepts", list(dict.fromkeys(concepts)))
        if use.role == "output" and use.value in self.models:
            record.update(type="model", model_id=record.get("sha256") or record["location"])
            record["derived_from"] = [self.models[use.value]]
        return record

    def file_facts(self, written: str) -> dict[str, Any]:
        """Return where a file the code names is (relative to the notebook) and, if it is there, its digest and size."""
        if "://" in written:
            return {"location": written}
        path = Path(written).expanduser()
        path = path if path.is_absolute() else self.path.resolve().parent / path
        if not path.exists():
            return {"location": str(path)}
        try:
            facts = describe_data(path)
        except (OSError, ProvmlError):  # unreadable: where it is is all there is to say
            return {"location": str(path)}
        return {key: facts[key] for key in ("location", "sha256", "size_bytes")}

    def model_records(self, ids: dict[str, str], facts: CellFacts) -> Iterator[dict[str, Any]]:
        """Yield the models a cell fitted (with their parameters) and the fitted models it used."""
        for fit in facts.fits:
            model_id = self.models[fit.model] = f"{self.workflow_id}/{ids['task_id']}/{fit.model}"
            record = {"type": "model", **ids, "model_id": model_id, "name": fit.model}
            if fit.estimator is not None:
                record.update(algorithm=fit.estimator.rsplit(".", 1)[-1], implementation=fit.estimator)
            yield record
            for name, value in fit.params.items():
                yield {"type": "param", **ids, "name": name, "value": value}
        for name in facts.models_used:
            if name in self.models:
                yield {"type": "model", **ids, "model_id": self.models[name], "name": name, "role": "input"}

    def metric_records(self, ids: dict[str, str], facts: CellFacts, cell: Cell) -> Iterator[dict[str, Any]]:
        """Yield the score a cell computed, if it computed one and showed one number (its value)."""
        if len(facts.scores) != 1 or len(cell.numbers) != 1:
            return
        score = facts.scores[0]
        timestamp = cell.ended or cell.started or self.path.stat().st_mtime
        record = {"type": "metric", **ids, "name": score.measure, "value": cell.numbers[0], "timestamp": timestamp}
        _put(record, "model_id", self.models.get(score.model or ""))
        yield record


def _put(record: dict[str, Any], key: str, value: Any) -> None:
    if value:
        record[key] = value
