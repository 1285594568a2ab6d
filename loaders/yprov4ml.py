"""Loader of yProv4ML runs: the PROV-JSON document its ``end_run`` writes, and the metric files it names.

`yProv4ML <https://github.com/HPCI-Lab/yProv4ML>`_ (HPCI Lab) logs a training run as PROV-JSON
(``prov_<experiment>_GR<rank>_<run id>.json`` in the run's directory): the run is an activity, the
*contexts* it logged under (``training``, ``validation``...) are activities informed by it, and every
parameter, dataset, model, file and metric is an entity its context used or generated. Metric values are
not in the document: each metric entity names a CSV file (``epoch,value,timestep`` rows) beside it.

The document is small and read whole; it becomes provml event records (the run a ``workflow``, each context
a ``task`` whose ``subtype`` its name tells, parameters ``param``, each CSV row a ``metric``...), checked and
mapped like any event file. The CSVs, which grow with the training, are read row by row.

>>> context_subtype("Validation"), context_subtype("training_epoch_0"), context_subtype("setup")
('validation', 'training', None)
>>> param_value("0.05"), param_value("16"), param_value("True"), param_value("SGD")
(0.05, 16, True, 'SGD')
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from provml.errors import EventError, InputError
from provml.events import check_record
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, file_sha256, read_head
from provml.loaders.events import event_quads
from provml.rdf import Quad

YPROV_NAMESPACE = "https://github.com/HPCI-Lab/yProv4ML"
_HEAD = 16384  # bytes read to recognise a file: ``prefix`` comes first in yProv4ML's PROV-JSON
_BINDING = re.compile(rb'"yprov"\s*:\s*"' + re.escape(YPROV_NAMESPACE.encode()) + rb'"')
_RUN_NAME = re.compile(r"(?P<experiment>.+)_GR\d+_\d+")  # <experiment>_GR<rank>_<run id>
_ZONE = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})$")  # the end of yprov:time_zone: UTC+0000
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_TENSOR = re.compile(r"tensor\(\s*(?P<number>[^,()\s]+)")  # str() of a torch scalar: tensor(0.5, device='cuda:0')
_CONSTANTS = {"True": True, "False": False, "None": None}
_VERSION = re.compile(r"(?P<stem>.+)_(?P<version>\d+)")  # save_model_version: <name>/<name>_<n>.pt
_REQUIREMENTS = "requirements.txt"
_TIMES = (("started_at", "startedAtTime"), ("ended_at", "endedAtTime"))  # event field, PROV attribute
_REPORT_EVERY = 1 << 20  # bytes between two progress reports


class Yprov4mlLoader(Loader):
    """Read a yProv4ML run (its ``prov_*.json`` and the metric CSVs it names) into PROV-ML."""

    name = "yprov4ml"
    description = "yProv4ML runs: the PROV-JSON of end_run (prov_*.json) and the metric CSV files it names"
    extensions = (".json",)
    precedence = 1  # a yProv4ML document is also PROV-JSON, whose generic reading would keep its relative ids

    def sniff(self, path: Path) -> bool:
        """Return True if the start of a JSON object binds the ``yprov`` prefix to yProv4ML's namespace."""
        head = read_head(path, _HEAD)
        return head.lstrip().startswith(b"{") and _BINDING.search(head) is not None

    def fingerprint(self, source: Source) -> str:
        """Return the SHA-256 of the document and of the files it names (metric values, requirements)."""
        run = read_run(Path(source))
        digest = hashlib.sha256(run.document)
        for path in run.side_files():
            digest.update(f"\0{os.path.relpath(path, run.directory)}\0{file_sha256(path)}".encode())
        return digest.hexdigest()

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of one run; a malformed element or metric row raises an error naming it."""
        run = read_run(Path(source))
        if on_bytes is not None:
            on_bytes(len(run.document))
        return event_quads(_checked(run_records(run, on_bytes), run.path), run.path, ids, graph)


# -- the document ----------------------------------------------------------------------


@dataclass
class Run:
    """One yProv4ML run as its PROV-JSON describes it: elements by id, and who used or generated what."""

    path: Path
    document: bytes
    name: str  # the run activity's id: <experiment>_GR<rank>_<run id>
    activities: dict[str, dict[str, Any]]
    entities: dict[str, dict[str, Any]]
    context_of: dict[str, tuple[str, str]] = field(default_factory=dict)  # entity -> (activity, input|output)
    parent_of: dict[str, str] = field(default_factory=dict)  # activity -> the activity it was informed by
    originals: set[str] = field(default_factory=set)  # entities of which another is a copy
    user: str | None = None

    @property
    def directory(self) -> Path:
        """The run's directory (yProv4ML's ``experiment_dir``, wherever it is now)."""
        return self.path.parent.absolute()

    @property
    def attributes(self) -> dict[str, Any]:
        """The run activity's attributes."""
        return self.activities[self.name]

    def time_zone(self) -> timezone | None:
        """The offset of the training machine's local time, in which yProv4ML writes every time."""
        match = _ZONE.search(text_of(self.attributes.get("yprov:time_zone")) or "")
        if match is None:
            return None
        offset = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        return timezone(-offset if match["sign"] == "-" else offset)

    def resolve(self, identifier: str) -> Path:
        """Return where a file yProv4ML names (relative to the training's working directory) is now.

        >>> run = Run(Path("/runs/prov/exp_0/prov_exp_GR0_0.json"), b"", "exp_GR0_0",
        ...           {"exp_GR0_0": {"yprov:experiment_dir": "prov/exp_0"}}, {})
        >>> run.resolve("prov/exp_0/metrics_GR0/loss_training_None_GR0.csv").as_posix()
        '/runs/prov/exp_0/metrics_GR0/loss_training_None_GR0.csv'
        """
        experiment_dir = (text_of(self.attributes.get("yprov:experiment_dir")) or "").rstrip("/")
        if experiment_dir and identifier.startswith(experiment_dir + "/"):
            return self.directory / identifier[len(experiment_dir) + 1 :]
        path = Path(identifier)
        return path if path.is_absolute() else self.directory / path

    def metric_file(self, entity_id: str) -> Path:
        """Return the CSV file of a metric entity; raise :class:`InputError` if it is missing or not a CSV."""
        identifier = text_of(self.entities[entity_id].get("dcterms:identifier"))
        if not identifier:
            raise InputError("metric without a values file (dcterms:identifier)", source=self.path, line=entity_id)
        path = self.resolve(identifier)
        if path.suffix.lower() != ".csv":
            message = f"metric values in {path.name} cannot be read: only CSV is (log with metrics_file_type='csv')"
            raise InputError(message, source=self.path, line=entity_id)
        if not path.is_file():
            raise InputError(f"metric values file not found: {path}", source=self.path, line=entity_id)
        return path

    def metrics(self) -> list[str]:
        """Return the ids of the metric entities."""
        return [entity_id for entity_id, entity in self.entities.items() if _kind(entity) == "Metric"]

    def requirements(self) -> Path | None:
        """Return the ``requirements.txt`` the run logged, if it is still there."""
        for entity_id, entity in self.entities.items():
            if entity.get("prov:label") == _REQUIREMENTS and entity_id not in self.originals:
                path = self.resolve(text_of(entity.get("dcterms:identifier")) or _REQUIREMENTS)
                return path if path.is_file() else None
        return None

    def side_files(self) -> list[Path]:
        """Return the files besides the document that the run's records are read from."""
        files = [self.metric_file(entity_id) for entity_id in self.metrics()]
        return files + [path for path in [self.requirements()] if path is not None]


def read_run(path: Path) -> Run:
    """Read a yProv4ML PROV-JSON document; raise :class:`InputError` naming the element that is malformed."""
    try:
        document = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    try:
        content = orjson.loads(document)
    except orjson.JSONDecodeError as error:
        raise InputError(f"not JSON: {error}", source=path) from None
    if not isinstance(content, dict) or _prefixes(content).get("yprov") != YPROV_NAMESPACE:
        raise InputError(f"not a yProv4ML PROV-JSON document (no prefix yprov: {YPROV_NAMESPACE})", source=path)
    activities, entities = _elements(content, "activity", path), _elements(content, "entity", path)
    runs = [activity_id for activity_id, activity in activities.items() if "yprov:experiment_name" in activity]
    if len(runs) != 1:
        raise InputError(f"expected one run activity (with yprov:experiment_name), found {len(runs)}", source=path)
    run = Run(path, document, runs[0], activities, entities)
    for activity, entity in _relations(content, "used", "prov:activity", "prov:entity", path):
        run.context_of[entity] = (activity, "input")
    for entity, activity in _relations(content, "wasGeneratedBy", "prov:entity", "prov:activity", path):
        run.context_of[entity] = (activity, "output")
    for informed, informant in _relations(content, "wasInformedBy", "prov:informed", "prov:informant", path):
        run.parent_of[informed] = informant
    for _, original in _relations(content, "wasDerivedFrom", "prov:generatedEntity", "prov:usedEntity", path):
        run.originals.add(original)  # yProv4ML logs a file it copies twice: where the code wrote it, and the copy
    for activity, agent in _relations(content, "wasAssociatedWith", "prov:activity", "prov:agent", path):
        if activity == run.name:
            run.user = agent
    return run


def _prefixes(content: dict[str, Any]) -> dict[str, Any]:
    prefixes = content.get("prefix")
    return prefixes if isinstance(prefixes, dict) else {}


def _elements(content: dict[str, Any], kind: str, path: Path) -> dict[str, dict[str, Any]]:
    """Return the elements of one kind by id; an id logged twice (a list of attribute sets) keeps the last."""
    elements = content.get(kind, {})
    if not isinstance(elements, dict):
        raise InputError(f"{kind}: expected an object of {kind} ids", source=path)
    found = {}
    for element_id, attributes in elements.items():
        last = attributes[-1] if isinstance(attributes, list) and attributes else attributes
        if not isinstance(last, dict):
            raise InputError(f"{kind}: expected an object of attributes", source=path, line=element_id)
        found[element_id] = last
    return found


def _relations(content: dict[str, Any], kind: str, first: str, second: str, path: Path) -> Iterator[tuple[str, str]]:
    """Yield the ids of ``(first, second)`` for each relation of a kind that names both of its elements."""
    for relation_id, attributes in _elements(content, kind, path).items():
        one, other = attributes.get(first), attributes.get(second)
        if one is None or other is None:
            continue
        if not isinstance(one, str) or not isinstance(other, str):
            raise InputError(f"{kind}: {first} and {second} must be ids", source=path, line=relation_id)
        yield one, other


def text_of(value: Any) -> str | None:
    """Return an attribute's text: a plain value, or the ``$`` of a typed one (``{"$": "67", "type": "xsd:int"}``)."""
    if isinstance(value, dict):
        value = value.get("$")
    return None if value is None else str(value)


def _kind(entity: dict[str, Any]) -> str | None:
    """Return the PROV-ML kind yProv4ML gives an entity (``provml:Metric`` -> ``Metric``), if any."""
    kind = text_of(entity.get("prov:type"))
    return kind.removeprefix("provml:") if kind and kind.startswith("provml:") else None


# -- event records ---------------------------------------------------------------------

Record = dict[str, Any]
Position = str  # an element id, or ``<metric id> row <n>``


def context_subtype(context: str) -> str | None:
    """Return the learning stage a context's name tells (yProv4ML's contexts are free strings), if any."""
    name = context.lower()
    if "train" in name:
        return "training"
    if "valid" in name or "val" in re.split(r"[^a-z]+", name):
        return "validation"
    if "test" in name or "eval" in name:
        return "evaluation"
    return None


def param_value(text: str | None) -> Any:
    """Return a parameter's value from yProv4ML's ``str(value)``: an integer, a float, a constant or the text."""
    if text is None:
        return None
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if _INTEGER.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def run_records(run: Run, on_bytes: ProgressCallback | None = None) -> Iterator[tuple[Position, Record]]:
    """Yield ``(position, event record)`` for a run: the workflow, its tasks, their entities, then metric rows."""
    workflow_id = text_of(run.attributes.get("yprov:PID")) or run.name  # a uuid4 per run
    yield run.name, {"type": "workflow", "workflow_id": workflow_id, **_workflow_fields(run)}
    for activity_id, activity in run.activities.items():
        yield activity_id, {"type": "task", "workflow_id": workflow_id, **_task_fields(run, activity_id, activity)}
    for entity_id, entity in run.entities.items():
        if entity_id in run.originals or _kind(entity) == "Metric":
            continue
        yield entity_id, {"workflow_id": workflow_id, **_entity_fields(run, workflow_id, entity_id, entity)}
    for entity_id in run.metrics():
        yield from _metric_records(run, workflow_id, entity_id, on_bytes)


def _checked(records: Iterator[tuple[Position, Record]], source: Path) -> Iterator[tuple[Position, Record]]:
    for position, record in records:
        try:
            check_record(record)
        except EventError as error:
            raise EventError(error.message, source=source, line=position) from None
        yield position, record


def _without_none(**fields: Any) -> Record:
    return {name: value for name, value in fields.items() if value is not None}


def _time(run: Run, element_id: str, value: Any) -> str | None:
    """Return a time yProv4ML wrote (local, without a zone) with the offset of its ``yprov:time_zone``."""
    text = text_of(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"invalid time {text!r}", source=run.path, line=element_id) from None
    if moment.tzinfo is None and (zone := run.time_zone()) is not None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


def experiment_name(run_name: str) -> str:
    """Return the experiment a run belongs to: its name without ``_GR<rank>_<run id>``.

    >>> experiment_name("mlp_sweep_GR0_1")
    'mlp_sweep'
    """
    match = _RUN_NAME.fullmatch(run_name)
    return match["experiment"] if match else run_name


def _workflow_fields(run: Run) -> Record:
    attributes, experiment = run.attributes, experiment_name(run.name)
    return _without_none(
        name=experiment,
        campaign_id=experiment,
        **{name: _time(run, run.name, attributes.get(f"prov:{key}")) for name, key in _TIMES},
        status="FINISHED",
        user=run.user,
        hostname=text_of(attributes.get("yprov:host_name")) or None,
        environment=_environment(run),
    )


def _environment(run: Run) -> Record:
    attributes = run.attributes
    python = (text_of(attributes.get("yprov:python_version")) or "").split(" ", 1)[0]
    system = [text_of(attributes.get(f"yprov:{name}")) for name in ("operating_system", "release", "machine")]
    requirements = run.requirements()
    return _without_none(
        python=python or None,
        platform="-".join(part for part in system if part) or None,
        packages=read_requirements(requirements, run.path) if requirements is not None else None,
    )


def read_requirements(path: Path, document: Path) -> dict[str, str]:
    """Return ``{distribution: version}`` of a ``requirements.txt`` of ``name==version`` lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}", source=document) from None
    pins = (line.split("==", 1) for line in lines if "==" in line and not line.lstrip().startswith("#"))
    return {name.strip(): version.strip() for name, version in pins}


def _task_fields(run: Run, activity_id: str, activity: dict[str, Any]) -> Record:
    """Return the task of the run's own context (what was logged without one) or of a context."""
    times = {name: _time(run, activity_id, activity.get(f"prov:{key}")) for name, key in _TIMES}
    task = {"task_id": activity_id, "status": "FINISHED"}  # yProv4ML writes the document when the run ends
    if activity_id == run.name:
        return task | _without_none(activity_id=experiment_name(run.name), **times)
    parent = run.parent_of.get(activity_id)
    section_of = parent if parent is not None and parent != run.name and parent in run.activities else None
    subtype = "epoch" if section_of is not None else context_subtype(activity_id)
    return task | _without_none(activity_id=activity_id, subtype=subtype, parent_task_id=section_of, **times)


def _entity_fields(run: Run, workflow_id: str, entity_id: str, entity: dict[str, Any]) -> Record:
    """Return the record of a parameter, dataset, model or other file, linked to the context that logged it."""
    activity, role = run.context_of.get(entity_id, (run.name, text_of(entity.get("prov:role"))))
    name = _label(entity_id, entity)
    common = {"task_id": activity, "name": name}
    kind = _kind(entity)
    if kind == "HyperParameter":
        return {"type": "param", **common, "value": param_value(text_of(entity.get("prov:value")))}
    identifier = text_of(entity.get("dcterms:identifier"))
    if kind == "Dataset":
        return {"type": "dataset", **common, **_without_none(role=role, kind="learning", location=identifier or None)}
    path = run.resolve(identifier) if identifier else None
    facts = _without_none(
        role=role, location=path.as_uri() if path else None, size_bytes=_size(entity.get("yprov:file_size"))
    )
    if kind == "Model":
        facts |= _without_none(version=_model_version(path, name))
        return {"type": "model", **common, "model_id": f"{workflow_id}/{name}", **facts}
    return {"type": "data", **common, **facts}


def _label(entity_id: str, entity: dict[str, Any]) -> str:
    """Return an entity's short name: its ``prov:label``, else the label in its id (``[src//]label//context``)."""
    parts = entity_id.split("//")
    return text_of(entity.get("prov:label")) or parts[-2 if len(parts) > 1 else -1]


def _size(value: Any) -> int | None:
    text = text_of(value)
    return int(text) if text is not None and _INTEGER.fullmatch(text) else None


def _model_version(path: Path | None, name: str) -> str | None:
    """Return ``n`` of a model ``save_model_version`` wrote as ``<name>/<name>_<n>.<ext>``, else None."""
    match = _VERSION.fullmatch(Path(name).stem)
    if path is None or match is None or match["stem"] != path.parent.name:
        return None
    return match["version"]


# -- metric files ----------------------------------------------------------------------


def _metric_records(
    run: Run, workflow_id: str, entity_id: str, on_bytes: ProgressCallback | None
) -> Iterator[tuple[Position, Record]]:
    """Yield one metric record per row of a metric's CSV file; its step is the row's position in the file."""
    entity = run.entities[entity_id]
    context = text_of(entity.get("yprov:context")) or run.name
    activity = run.context_of[entity_id][0] if entity_id in run.context_of else context
    base = {"type": "metric", "workflow_id": workflow_id, "task_id": activity, "name": _label(entity_id, entity)}
    for step, (line, epoch, value, timestamp) in enumerate(read_metric_rows(run.metric_file(entity_id), on_bytes)):
        record = base | {"value": value, "step": step, "timestamp": timestamp} | _without_none(epoch=epoch)
        yield f"{entity_id} row {line}", record


def read_metric_rows(
    path: Path, on_bytes: ProgressCallback | None = None
) -> Iterator[tuple[int, int | None, float | None, float]]:
    """Yield ``(line, epoch, value, seconds since the epoch)`` per row of a yProv4ML metric CSV, streaming.

    The separator is the one of the header (``epoch<sep>value<sep>timestep``); NaN values are None.
    """
    report = _progress(on_bytes)
    try:
        with path.open("rb") as stream:
            header = stream.readline()
            report(len(header))
            separator = _separator(header.decode("utf-8", errors="replace").strip(), path)
            for line_number, line in enumerate(stream, start=2):
                report(len(line))
                if line.strip():
                    yield (line_number, *_metric_row(line, separator, path, line_number))
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    report(0, flush=True)


def _separator(header: str, path: Path) -> str:
    separator = header.removeprefix("epoch").partition("value")[0]
    if not separator or header != f"epoch{separator}value{separator}timestep":
        raise InputError(f"expected the header epoch,value,timestep, got {header[:80]!r}", source=path, line=1)
    return separator


def _metric_row(line: bytes, separator: str, path: Path, line_number: int) -> tuple[int | None, float | None, float]:
    """Return a row's epoch, value (None for NaN) and time in seconds; a value may hold the separator."""
    try:
        text = line.decode("utf-8").strip()
        epoch, _, rest = text.partition(separator)
        value, found, timestep = rest.rpartition(separator)
        if not found:
            raise ValueError(f"expected three fields separated by {separator!r}")
        number = _metric_value(value)
        seconds = float(timestep) / 1000  # yProv4ML's timestep is in milliseconds since the Unix epoch
        return (None if epoch == "None" else int(epoch)), (None if math.isnan(number) else number), seconds
    except ValueError as error:
        raise InputError(f"malformed metric row: {error}", source=path, line=line_number) from None


def _metric_value(text: str) -> float:
    """Return a logged value: ``str()`` of a float, or of a torch scalar (``tensor(0.5)``)."""
    match = _TENSOR.match(text)
    return float(match["number"] if match else text)


def _progress(on_bytes: ProgressCallback | None) -> Callable[..., None]:
    """Return a counter of bytes read that tells ``on_bytes`` about every ``_REPORT_EVERY`` bytes."""
    unreported = 0

    def report(count: int, *, flush: bool = False) -> None:
        nonlocal unreported
        unreported += count
        if on_bytes is not None and unreported and (flush or unreported >= _REPORT_EVERY):
            on_bytes(unreported)
            unreported = 0

    return report
