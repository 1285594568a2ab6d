"""Loader of MLflow tracking data, read through MLflow's own client (``pip install 'provml[mlflow]'``).

A source is an ``mlruns`` directory (a file store), an ``mlflow.db`` SQLite file, or a tracking
URI: ``http(s)://`` a tracking server, ``sqlite:///`` a database file, ``file://`` a file store.
The user's files are never written: a file store is read through a directory of links beside
which MLflow may create what it wants (its ``.trash``), and a database through a private copy
(with its write-ahead log), which MLflow may open in WAL mode or migrate to its own schema.

Everything becomes event records of the provml format, mapped like any other dump: an experiment
is a workflow execution, each run a task execution of it (part of its parent run), with its
params, every metric point, tags, dataset inputs, logged models and artifacts. A tag
``provml.domain_concepts`` (IRIs, on a run or on a dataset input) annotates it with domain concepts. Only
a run's name and code version are stated directly: task records cannot say them.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import orjson

from provml import rdf
from provml.errors import EventError, InputError
from provml.events import check_record
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, file_sha256, read_head
from provml.loaders.events import event_quads
from provml.rdf import Quad
from provml.vocab import PROV, PROVML, RDFS

_DB_NAME = "mlflow.db"
_SQLITE_HEADER = b"SQLite format 3\x00"
_DB_FILES = ("", "-wal", "-journal")  # what a database's committed content may be spread over
_COPY_ATTEMPTS = 3
_PAGE = 1000  # runs, experiments or models asked for at a time
_MAX_MESSAGE = 500  # characters kept of what MLflow said
_SNIFF_ENTRIES = 1000  # directory entries looked at to recognise a file store
# the loader's own MLflow settings: MLflow 3 refuses file stores unless told, and a pool would keep the copy open
_FORCED_ENV = {"MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_SQLALCHEMYSTORE_POOLCLASS": "NullPool"}
_DEFAULT_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}  # fail fast
_PARENT, _USER = "mlflow.parentRunId", "mlflow.user"
_CONCEPTS = "provml.domain_concepts"  # a run's or a dataset input's tag: domain concept IRIs, spaces or commas between
_GIT_TAGS = (
    ("commit", "mlflow.source.git.commit"),
    ("remote", "mlflow.source.git.repoURL"),
    ("branch", "mlflow.source.git.branch"),
)
_ESTIMATOR_TAGS = (("algorithm", "estimator_name"), ("implementation", "estimator_class"))  # sklearn autolog's
_META_KEYS = {"experiment_id", "lifecycle_stage"}  # in every experiment's and run's meta.yaml
_INTEGER = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?|[-+]?(inf|nan)", re.IGNORECASE)
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False}
_LABEL, _HAS_CODE, _USED = f"<{RDFS.label}>", f"<{PROVML.hasCodeVersion}>", f"<{PROV.used}>"

Record = tuple[str, dict[str, Any]]  # (position, event record)


class MlflowLoader(Loader):
    """Read MLflow experiments and runs (a file store, a SQLite database or a tracking server) into PROV-ML."""

    name = "mlflow"
    description = "MLflow tracking data: an mlruns directory, an mlflow.db file, or a tracking server URI"
    extensions = (_DB_NAME,)
    directories = True
    schemes = ("http", "https", "sqlite", "file")

    def sniff(self, source: Path) -> bool:
        """Return True for an MLflow file store directory, a file named ``mlflow.db``, or an SQLite
        database with MLflow's tables."""
        if source.is_dir():
            return _is_file_store(source)
        return source.name.lower().endswith(_DB_NAME) or _is_tracking_db(source)

    def fingerprint(self, source: Source) -> str:
        """Return a digest that changes when the tracking data does: of a file store's file names, sizes
        and times; of a database's bytes; of what a server says of its experiments, runs and models."""
        path = _local_path(source)
        if path is None:
            with _tracking(source) as tracking:
                return tracking.digest()
        if not path.exists():
            raise InputError("no such file or directory", source=source)
        if path.is_dir():
            return _tree_digest(path)
        digest = hashlib.sha256()
        for suffix in _DB_FILES:
            if (part := Path(f"{path}{suffix}")).exists():
                digest.update(f"{suffix}:{file_sha256(part)}\n".encode())
        return digest.hexdigest()

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of every active experiment and run; a store MLflow cannot read raises an
        error naming the file (or URI) and the record."""
        direct: list[Quad] = []
        records = _records(source, _Direct(ids, graph, direct), on_bytes)
        return _interleaved(event_quads(records, source, ids, graph), direct)


class _Direct:
    """The few quads the event format cannot say, stated directly in the dump's graph."""

    def __init__(self, ids: IriMinter, graph: str, into: list[Quad]) -> None:
        self.ids, self.graph, self.into = ids, f"<{graph}>", into

    def run_facts(self, workflow_id: str, run: Any, repository: dict[str, str] | None) -> None:
        """Add a run's name, and the code version it ran (the one its workflow record describes)."""
        node = f"<{self.ids.task(workflow_id, run.info.run_id)}>"
        if name := run.info.run_name:
            self.into.append((node, _LABEL, rdf.string(name), self.graph))
        if repository is not None:
            code = f"<{self.ids.code_version(repository.get('remote', ''), repository['commit'], False)}>"
            self.into += [(node, _HAS_CODE, code, self.graph), (node, _USED, code, self.graph)]


def _interleaved(quads: Iterable[Quad], direct: list[Quad]) -> Iterator[Quad]:
    """Yield ``quads``, and after each the direct quads added meanwhile (so they never pile up)."""
    for quad in quads:
        yield quad
        if direct:
            yield from direct
            direct.clear()
    yield from direct


# -- where the data is -------------------------------------------------------------------------


def _local_path(source: Source) -> Path | None:
    """Return the file or directory a source names (a path, a ``sqlite:///`` or ``file://`` URI), or
    None for a tracking server."""
    if isinstance(source, Path):
        return source
    scheme, _, rest = source.partition("://")
    if scheme.lower() == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db
        return Path(rest.removeprefix("/").partition("?")[0])
    if scheme.lower() == "file":
        return Path(url2pathname(urlparse(source).path))
    return None


def _is_file_store(directory: Path) -> bool:
    """Return True if a directory holds MLflow experiments: numbered directories with a ``meta.yaml``."""
    try:
        with os.scandir(directory) as entries:
            numbered = (entry for entry in itertools.islice(entries, _SNIFF_ENTRIES) if entry.name.isdigit())
            return any(_is_experiment_meta(Path(entry.path) / "meta.yaml") for entry in numbered)
    except OSError:
        return False


def _is_experiment_meta(path: Path) -> bool:
    return b"experiment_id" in read_head(path, 4096)


def _is_tracking_db(path: Path) -> bool:
    """Return True for an SQLite file with MLflow's tables, opened without locks or journals (writes nothing)."""
    if read_head(path, len(_SQLITE_HEADER)) != _SQLITE_HEADER:
        return False
    try:
        return {"experiments", "runs"} <= _tables(f"{path.resolve().as_uri()}?mode=ro&immutable=1")
    except (OSError, sqlite3.Error):
        return False


def _tables(database: str) -> set[str]:
    with closing(sqlite3.connect(database, uri=True)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _tree(directory: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(relative path, stat)`` of every file under a directory, sorted."""
    for root, subdirectories, files in os.walk(directory):
        subdirectories.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            yield os.path.relpath(path, directory), os.stat(path)


def _tree_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    try:
        for name, stat in _tree(directory):
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=error.filename or directory) from None
    return digest.hexdigest()


def _size(source: Source) -> int:
    path = _local_path(source)
    if path is None:
        return 0
    if path.is_dir():
        return sum(stat.st_size for _, stat in _tree(path))
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in _DB_FILES if Path(f"{path}{suffix}").exists())


@contextmanager
def _file_store_view(root: Path) -> Iterator[str]:
    """Yield the URI of a stand-in for a file store: links to each of its entries, in a directory where
    MLflow may create its ``.trash`` (MLflow writes nothing else when it only reads)."""
    with tempfile.TemporaryDirectory(prefix="provml-mlflow-") as directory:
        view = Path(directory) / "mlruns"
        try:
            view.mkdir()
            for entry in root.resolve().iterdir():
                (view / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=root) from None
        yield view.as_uri()


@contextmanager
def _sqlite_copy(path: Path) -> Iterator[str]:
    """Yield the URI of a private copy of a tracking database (and of its write-ahead log or journal).

    The copy is retried while the database changes under it; MLflow may then open it in WAL mode,
    or migrate it to its own schema, without touching the user's file.
    """
    with tempfile.TemporaryDirectory(prefix="provml-mlflow-") as directory:
        copy = Path(directory) / _DB_NAME
        for _ in range(_COPY_ATTEMPTS):
            before = _stamps(path)
            _copy_database(path, copy, before)
            if _stamps(path) == before:
                break
        else:
            raise InputError("the database kept changing while it was copied; load it again when idle", source=path)
        try:
            tables = _tables(str(copy))
        except sqlite3.Error as error:
            raise InputError(f"not an SQLite database: {error}", source=path) from None
        if not {"experiments", "runs"} <= tables:
            raise InputError("not an MLflow tracking database: it has no experiments and runs tables", source=path)
        yield f"sqlite:///{copy}"


def _copy_database(path: Path, copy: Path, stamps: dict[str, tuple[int, int] | None]) -> None:
    """Copy each file of a database that exists (by ``stamps``), and remove copies of those that do not."""
    try:
        for suffix, stamp in stamps.items():
            if stamp is None:
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            else:
                shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=error.filename or path) from None


def _stamps(path: Path) -> dict[str, tuple[int, int] | None]:
    """Return the size and modification time of each file of a database, None where there is none."""
    stamps: dict[str, tuple[int, int] | None] = {}
    for suffix in _DB_FILES:
        try:
            stat = os.stat(f"{path}{suffix}")
            stamps[suffix] = (stat.st_size, stat.st_mtime_ns)
        except FileNotFoundError:
            stamps[suffix] = None
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=f"{path}{suffix}") from None
    return stamps


# -- MLflow's client ---------------------------------------------------------------------------


@contextmanager
def _mlflow_settings() -> Iterator[None]:
    """Set the loader's MLflow settings (environment, quiet logging) for one call, then restore them."""
    wanted = {**{k: v for k, v in _DEFAULT_ENV.items() if k not in os.environ}, **_FORCED_ENV}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)  # MLflow's notes (engine options, migrations) are about the loader's copy
    try:
        yield
    finally:
        logger.setLevel(level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _mlflow(source: Source) -> Any:
    """Return the ``mlflow`` package, imported only when a source is read (``provml formats`` needs none)."""
    try:
        import mlflow.entities
        import mlflow.tracking
    except ImportError:
        message = "reading MLflow tracking data needs MLflow: pip install 'provml[mlflow]'"
        raise InputError(message, source=source) from None
    return mlflow


@contextmanager
def _tracking(source: Source) -> Iterator[_Tracking]:
    """Yield a client on a read-only view of ``source`` (see :func:`_file_store_view`, :func:`_sqlite_copy`)."""
    mlflow = _mlflow(source)
    path = _local_path(source)
    if path is not None and not path.exists():
        raise InputError("no such file or directory", source=source)
    if path is None:
        yield _Tracking.open(mlflow, source, str(source), None)
    elif path.is_dir():
        if not _is_file_store(path):
            raise InputError("not an MLflow file store: no numbered experiment folder holds a meta.yaml", source=source)
        with _file_store_view(path) as uri:
            yield _Tracking.open(mlflow, source, uri, path)
    else:
        with _sqlite_copy(path) as uri:
            yield _Tracking.open(mlflow, source, uri, None)


class _Tracking:
    """An MLflow client whose every call runs with the loader's settings and whose errors name the
    source and the record (for a file store, the ``meta.yaml`` MLflow could not read)."""

    def __init__(self, mlflow: Any, client: Any, source: Source, file_store: Path | None) -> None:
        self.mlflow, self.client, self.source, self.file_store = mlflow, client, source, file_store

    @classmethod
    def open(cls, mlflow: Any, source: Source, uri: str, file_store: Path | None) -> _Tracking:
        """Return a client of the tracking store at ``uri``, which stands for ``source``."""
        tracking = cls(mlflow, None, source, file_store)
        tracking.client = tracking.call(None, mlflow.tracking.MlflowClient, tracking_uri=uri)
        return tracking

    def call(self, position: str | None, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Return ``method(*args, **kwargs)``; whatever it raises becomes an :class:`InputError` naming
        ``position`` (the record being read; None: the store as a whole)."""
        with _mlflow_settings():
            try:
                return method(*args, **kwargs)
            except InputError:
                raise
            except Exception as error:  # MLflow lets its own, YAML, SQLAlchemy, HTTP and OS errors through alike
                raise self.error(error, position) from None

    def error(self, error: Exception, position: str | None) -> InputError:
        """Return the error to raise for what MLflow raised while reading ``position``."""
        if self.file_store is not None and (malformed := _malformed_file(self.file_store)) is not None:
            path, line, problem = malformed
            return InputError(f"MLflow cannot read this file: {problem}", source=path, line=line)
        said = " ".join(str(error).split())[:_MAX_MESSAGE]
        return InputError(f"MLflow cannot read it: {type(error).__name__}: {said}", source=self.source, line=position)

    def pages(self, position: str | None, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        """Yield every item of a paged search, a page at a time."""
        token = None
        while True:
            page = self.call(position, method, *args, max_results=_PAGE, page_token=token, **kwargs)
            yield from page
            token = page.token
            if not token:
                return

    def experiments(self) -> list[Any]:
        """Return the active experiments; in a file store, one MLflow skipped as unreadable is an error."""
        view_type = self.mlflow.entities.ViewType
        found = list(self.pages(None, self.client.search_experiments, view_type=view_type.ALL))
        if self.file_store is not None:
            _check_all_read(self.file_store, {experiment.experiment_id for experiment in found})
        return [experiment for experiment in found if experiment.lifecycle_stage == "active"]

    def runs(self, experiment_id: str, filter_string: str | None = None) -> Iterator[Any]:
        """Yield the active runs of an experiment (those that match ``filter_string``)."""
        active = self.mlflow.entities.ViewType.ACTIVE_ONLY
        return self.pages(
            f"experiment {experiment_id}",
            self.client.search_runs,
            [experiment_id],
            filter_string=filter_string or "",
            run_view_type=active,
        )

    def files(self, position: str, listing: Callable[[str, str | None], list[Any]], owner: str) -> Iterator[Any]:
        """Yield every file of a run's (or a model's) artifacts, depth first."""
        folders: list[str | None] = [None]
        while folders:
            for info in self.call(position, listing, owner, folders.pop()):
                if info.is_dir:
                    folders.append(info.path)
                else:
                    yield info

    def digest(self) -> str:
        """Return a digest of what the store says of its experiments, runs and logged models."""
        digest = hashlib.sha256()
        for experiment in self.experiments():
            digest.update(experiment.to_proto().SerializeToString(deterministic=True))
            for run in self.runs(experiment.experiment_id):
                digest.update(run.to_proto().SerializeToString(deterministic=True))
            position = f"experiment {experiment.experiment_id}"
            models = self.pages(position, self.client.search_logged_models, [experiment.experiment_id])
            for model in models:
                digest.update(model.to_proto().SerializeToString(deterministic=True))
        return digest.hexdigest()


def _experiment_metas(root: Path) -> Iterator[Path]:
    for folder in (root, root / ".trash"):
        if folder.is_dir():
            yield from (path for path in sorted(folder.glob("*/meta.yaml")) if path.parent.name.isdigit())


def _check_all_read(root: Path, read: set[str]) -> None:
    """Raise for an experiment of a file store that MLflow skipped (it only logs a warning)."""
    for path in _experiment_metas(root):
        if path.parent.name not in read:
            line, problem = _meta_problem(path) or (None, "MLflow could not read it")
            raise InputError(f"MLflow skipped this experiment: {problem}", source=path, line=line)


def _malformed_file(root: Path) -> tuple[Path, int | None, str] | None:
    """Return the first file of a file store MLflow cannot have read (an experiment's or run's ``meta.yaml``,
    a metric's history), its line and what is wrong: this explains an error MLflow raised without naming it."""
    for experiment in _experiment_metas(root):
        for meta in (experiment, *sorted(experiment.parent.glob("*/meta.yaml"))):
            if (problem := _meta_problem(meta)) is not None:
                return (meta, *problem)
        for metric in sorted(experiment.parent.glob("*/metrics/**/*")):
            if metric.is_file() and (problem := _metric_problem(metric)) is not None:
                return (metric, *problem)
    return None


def _meta_problem(path: Path) -> tuple[int | None, str] | None:
    """Return the line and the problem of a ``meta.yaml`` MLflow wrote (it ends its files with a newline)."""
    import yaml  # MLflow's own dependency: only on the error path

    try:
        text = path.read_text(encoding="utf-8")
        content = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        return (mark.line + 1 if mark else None), str(error.problem or error.context)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return None, " ".join(str(error).split())
    if not text.strip():
        return None, "it is empty"
    if not text.endswith("\n"):
        return None, "it is cut short (no final newline)"
    if not isinstance(content, dict) or not content.keys() >= _META_KEYS:
        return None, f"it lacks {' or '.join(sorted(_META_KEYS))}"
    return None


def _metric_problem(path: Path) -> tuple[int, str] | None:
    """Return the first line of a metric history that is not ``timestamp value [step [dataset digest]]``."""
    try:
        with path.open(encoding="utf-8") as lines:
            number = 0
            for number, line in enumerate(lines, start=1):
                fields = line.split()
                whole_numbers = (fields[0], *fields[2:3]) if fields else ()  # its timestamp and step
                if len(fields) not in (2, 3, 5) or not all(_INTEGER.fullmatch(n) for n in whole_numbers):
                    return number, f"expected 'timestamp value step', got {line.strip()[:80]!r}"
                if not _FLOAT.fullmatch(fields[1]):
                    return number, f"the value {fields[1][:80]!r} is not a number"
    except (OSError, UnicodeDecodeError) as error:
        return 1, str(error)
    return None if number else (1, "it is empty")


# -- records -------------------------------------------------------------------------------------


def _records(source: Source, direct: _Direct, on_bytes: ProgressCallback | None) -> Iterator[Record]:
    """Yield ``(position, record)`` for everything in the store, each checked against the event schema."""
    with _tracking(source) as tracking:
        for experiment in tracking.experiments():
            for position, record in _experiment_records(tracking, experiment, direct):
                try:
                    check_record(record)
                except EventError as error:
                    raise EventError(error.message, source=source, line=position) from None
                yield position, record
    if on_bytes is not None:
        with suppress(OSError):  # progress only: a file that went away meanwhile changes nothing read
            on_bytes(_size(source))


def _workflow_id(experiment: Any) -> str:
    """Return the workflow id of an experiment: its id and creation time (ids restart at 0 in each store)."""
    created = f"-{experiment.creation_time}" if experiment.creation_time else ""
    return f"mlflow-experiment-{experiment.experiment_id}{created}"


def _seconds(milliseconds: int | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None and value != ""}


def _experiment_records(tracking: _Tracking, experiment: Any, direct: _Direct) -> Iterator[Record]:
    """Yield the records of an experiment (a workflow execution) and of its active runs."""
    workflow_id, position = _workflow_id(experiment), f"experiment {experiment.experiment_id}"
    yield (
        position,
        _without_none(
            type="workflow",
            workflow_id=workflow_id,
            name=experiment.name,
            started_at=_seconds(experiment.creation_time),
            tags=experiment.tags or None,
        ),
    )
    parents = {run.data.tags[_PARENT] for run in tracking.runs(experiment.experiment_id, f"tags.{_PARENT} != ''")}
    code_versions: set[tuple[str, ...]] = set()
    for listed in tracking.runs(experiment.experiment_id):
        # a search leaves out some of what a run holds (SQL stores: the models it used); ask for the whole run
        run = tracking.call(f"run {listed.info.run_id}", tracking.client.get_run, listed.info.run_id)
        repository = _code_repository(run.data.tags)
        if repository is not None and tuple(repository.values()) not in code_versions:
            code_versions.add(tuple(repository.values()))
            yield position, {"type": "workflow", "workflow_id": workflow_id, "code_repository": repository}
        direct.run_facts(workflow_id, run, repository)
        yield from _run_records(tracking, workflow_id, run, run.info.run_id in parents)


def _code_repository(tags: dict[str, str]) -> dict[str, str] | None:
    """Return the git commit (remote, branch) MLflow recorded for a run, if any."""
    repository = {field: tags[tag] for field, tag in _GIT_TAGS if tags.get(tag)}
    return repository if "commit" in repository else None


def _subtype(run: Any, has_children: bool) -> str | None:
    """Return a run's lifecycle stage: training if it logged a model; none for a parent run (a sweep)
    that did not; evaluation for a run that used models and logged none; otherwise training."""
    if run.outputs is not None and run.outputs.model_outputs:
        return "training"
    if has_children:
        return None
    return "evaluation" if run.inputs is not None and run.inputs.model_inputs else "training"


def _run_records(tracking: _Tracking, workflow_id: str, run: Any, has_children: bool) -> Iterator[Record]:
    """Yield the records of one run: the task, its params, metric points, datasets, models and artifacts."""
    info, data = run.info, run.data
    position = f"run {info.run_id}"
    task = {"workflow_id": workflow_id, "task_id": info.run_id}
    yield (
        position,
        _without_none(
            type="task",
            **task,
            subtype=_subtype(run, has_children),
            parent_task_id=data.tags.get(_PARENT),
            started_at=_seconds(info.start_time),
            ended_at=_seconds(info.end_time),
            status=info.status,
            user=info.user_id or data.tags.get(_USER),
            domain_concepts=_concepts(data.tags.get(_CONCEPTS)),
            tags=data.tags or None,
        ),
    )
    for name, value in sorted(data.params.items()):
        yield position, {"type": "param", **task, "name": name, "value": _param_value(value)}
    for name in sorted(data.metrics):
        for point in tracking.call(f"{position} metric {name}", tracking.client.get_metric_history, info.run_id, name):
            yield position, _metric_record(task, point)
    inputs = run.inputs
    for dataset_input in inputs.dataset_inputs if inputs is not None else ():
        yield position, _dataset_record(task, dataset_input)
    yield from _model_records(tracking, task, run)
    for artifact in tracking.files(position, tracking.client.list_artifacts, info.run_id):
        yield position, _artifact_record(task, info.artifact_uri, artifact)


def _param_value(text: str) -> Any:
    """Return a param (MLflow keeps them as text) as the number or boolean it spells, else as text."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return _BOOLEANS.get(text, text)


def _dataset_record(task: dict[str, str], dataset_input: Any) -> dict[str, Any]:
    """Return the record of a dataset a run used, identified by MLflow's name and digest."""
    dataset = dataset_input.dataset
    return _without_none(
        type="dataset",
        **task,
        role="input",
        dataset_id=f"{dataset.name}@{dataset.digest}",
        name=dataset.name,
        kind="learning",
        version=dataset.digest,
        location=_dataset_location(dataset.source),
        schema=dataset.schema or None,
        shape=_dataset_shape(dataset.profile),
        domain_concepts=_concepts({tag.key: tag.value for tag in dataset_input.tags or ()}.get(_CONCEPTS)),
    )


def _concepts(tag: str | None) -> list[str] | None:
    """The domain concept IRIs of a ``provml.domain_concepts`` tag, or None without one."""
    return tag.replace(",", " ").split() or None if tag else None


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _dataset_location(source: str | None) -> str | None:
    """Return where a dataset came from: the URI (url, path) of its MLflow dataset source."""
    fields = _json_object(source)
    return next((str(fields[key]) for key in ("uri", "url", "path") if fields.get(key)), source or None)


def _dataset_shape(profile: str | None) -> list[int] | None:
    """Return a dataset's shape from its MLflow profile: numpy's features shape, or pandas' row count."""
    fields = _json_object(profile)
    shape = fields.get("features_shape") or ([fields["num_rows"]] if "num_rows" in fields else None)
    return shape if isinstance(shape, list) and all(isinstance(n, int) for n in shape) else None


def _model_records(tracking: _Tracking, task: dict[str, str], run: Any) -> Iterator[Record]:
    """Yield the logged models a run generated (with their artifacts' total size) and those it used, and
    the run's metric values MLflow links to them."""
    outputs = [output.model_id for output in run.outputs.model_outputs] if run.outputs is not None else []
    inputs = [used.model_id for used in run.inputs.model_inputs] if run.inputs is not None else []
    estimator = {field: run.data.tags[tag] for field, tag in _ESTIMATOR_TAGS if run.data.tags.get(tag)}
    for role, model_ids in (("output", outputs), ("input", inputs)):
        for model_id in model_ids:
            position = f"run {task['task_id']} model {model_id}"
            model = tracking.call(position, tracking.client.get_logged_model, model_id)
            record = {"type": "model", **task, "role": role, "model_id": model_id, "name": model.name}
            if role == "output":
                files = tracking.files(position, tracking.client.list_logged_model_artifacts, model_id)
                size = sum(info.file_size or 0 for info in files)
                record |= _without_none(location=model.artifact_location, size_bytes=size, **estimator)
            yield position, record
            for point in model.metrics or ():  # the run's values that evaluate this model
                if point.run_id == task["task_id"]:
                    yield position, _metric_record(task, point, model_id)


def _metric_record(task: dict[str, str], point: Any, model_id: str | None = None) -> dict[str, Any]:
    """Return the record of one metric point; the same point of the same run always has the same node."""
    return _without_none(
        type="metric",
        **task,
        name=point.key,
        value=point.value,
        step=point.step,
        timestamp=point.timestamp / 1000,
        model_id=model_id or point.model_id,
    )


def _artifact_record(task: dict[str, str], artifact_uri: str, info: Any) -> dict[str, Any]:
    """Return the record of an artifact file: where it is, its size, and its SHA-256 when it is local."""
    location = f"{artifact_uri.rstrip('/')}/{info.path}"
    local = _local_artifact(artifact_uri, info.path)
    return _without_none(
        type="data",
        **task,
        role="output",
        name=info.path,
        location=location,
        size_bytes=info.file_size,
        sha256=file_sha256(local) if local is not None else None,
    )


def _local_artifact(artifact_uri: str, path: str) -> Path | None:
    """Return the local file of an artifact stored on this machine, or None (an object store, a server)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        root = Path(url2pathname(parsed.path))
    elif not parsed.scheme and artifact_uri.startswith("/"):
        root = Path(artifact_uri)
    else:
        return None
    local = root / path
    return local if local.is_file() else None
