"""MLflow tracking data, made by real MLflow on a small scikit-learn sweep, answers provenance questions.

The session runs a user's ``train.py`` from a git checkout against three tracking stores: a file store
(``mlruns/``), an SQLite database (left in WAL mode, its last write still in ``mlflow.db-wal``) and an
``mlflow server`` on 127.0.0.1. The script also writes down what it logged; the queries must find it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from provml import loaders
from provml.cli import app
from provml.errors import InputError
from provml.loaders import Source
from provml.loading import FileOutcome, find_sources, load_paths
from provml.store import Store
from provml.vocab import PROVML

pytest.importorskip("mlflow", reason="the MLflow loader needs MLflow: pip install 'provml[mlflow]'")
pytest.importorskip("sklearn", reason="the MLflow fixture trains scikit-learn models")

BACKENDS = ("files", "sqlite", "server")
REMOTE = "https://git.example.org/lab/iris.git"
CANDIDATES = ("logreg-weak", "logreg", "stump-forest")
TRAIN_PY = '''\
"""A small scikit-learn sweep tracked with MLflow: python train.py TRUTH.json TRACKING_URI..."""

import hashlib
import json
import sys
from pathlib import Path

import mlflow
import mlflow.data
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

CANDIDATES = {
    "logreg-weak": (LogisticRegression, {"C": 0.001, "max_iter": 300}),
    "logreg": (LogisticRegression, {"C": 1.0, "max_iter": 300}),
    "stump-forest": (RandomForestClassifier, {"n_estimators": 3, "max_depth": 1, "random_state": 0}),
}
FRACTIONS = (0.3, 0.6, 1.0)  # a learning curve: one train_accuracy point per step

X, y = load_iris(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
train = mlflow.data.from_pandas(X_train.assign(species=y_train), source="data/iris-train.csv", name="iris-train")
test = mlflow.data.from_pandas(X_test.assign(species=y_test), source="data/iris-test.csv", name="iris-test")


def sweep():
    truth = {"runs": {}, "datasets": {"iris-train": train.digest, "iris-test": test.digest}}
    mlflow.set_experiment("iris-sweep")
    with mlflow.start_run(run_name="sweep") as parent:
        truth["sweep"] = parent.info.run_id
        mlflow.log_param("candidates", len(CANDIDATES))
        for name, (estimator, params) in CANDIDATES.items():
            with mlflow.start_run(run_name=name, nested=True) as run:
                mlflow.log_input(train, context="training")
                mlflow.log_params(params)
                for step, fraction in enumerate(FRACTIONS):
                    n = int(len(X_train) * fraction)
                    model = estimator(**params).fit(X_train[:n], y_train[:n])
                    mlflow.log_metric("train_accuracy", model.score(X_train[:n], y_train[:n]), step=step)
                logged = mlflow.sklearn.log_model(
                    model, name="model", pip_requirements=["scikit-learn"], skops_trusted_types=["sklearn.tree._tree.Tree"]
                )
                kind = type(model)
                mlflow.set_tags({"estimator_name": kind.__name__, "estimator_class": f"{kind.__module__}.{kind.__name__}"})
                accuracy = model.score(X_test, y_test)
                mlflow.log_metric("test_accuracy", accuracy, model_id=logged.model_id)
                report = Path("report.txt")
                report.write_text(f"{name}: test accuracy {accuracy}\\n")
                mlflow.log_artifact(str(report), artifact_path="reports")
                truth["runs"][name] = {
                    "run_id": run.info.run_id,
                    "params": params,
                    "test_accuracy": accuracy,
                    "model_id": logged.model_id,
                    "estimator": [kind.__name__, f"{kind.__module__}.{kind.__name__}"],
                    "report": {"sha256": hashlib.sha256(report.read_bytes()).hexdigest(), "size": len(report.read_bytes())},
                }
    best = max(truth["runs"].values(), key=lambda run: run["test_accuracy"])
    with mlflow.start_run(run_name="evaluate-best") as run:  # loading a model in a run records that the run used it
        truth["evaluation"] = run.info.run_id
        mlflow.log_input(test, context="testing")
        model = mlflow.sklearn.load_model(f"models:/{best['model_id']}")
        mlflow.log_metric("holdout_accuracy", model.score(X_test, y_test), model_id=best["model_id"])
    return truth


if __name__ == "__main__":
    truths = {}
    for uri in sys.argv[2:]:
        mlflow.set_tracking_uri(uri)
        truths[uri] = sweep()
    Path(sys.argv[1]).write_text(json.dumps(truths))
'''


@dataclass(frozen=True)
class Tracked:
    """One sweep tracked three ways, what ``train.py`` says it logged, and the user's files as they were."""

    sources: dict[str, Source]  # backend -> the mlruns directory, the mlflow.db file, the server's URI
    truth: dict[str, dict[str, Any]]  # backend -> what train.py logged there
    commit: str
    user_files: dict[str, dict[str, tuple[str, int]]]  # backend -> relative path -> (sha256, mtime_ns)

    def best(self, backend: str) -> tuple[str, dict[str, Any]]:
        """Return the candidate with the best test accuracy, and what was logged of it."""
        runs = self.truth[backend]["runs"]
        return max(runs.items(), key=lambda item: item[1]["test_accuracy"])


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Return every file under a directory with the SHA-256 of its bytes and its modification time."""
    return {
        str(path.relative_to(directory)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def git(project: Path, *args: str) -> str:
    identity = ["-c", "user.name=Ana Lima", "-c", "user.email=ana@example.org"]
    return subprocess.run(["git", *identity, *args], cwd=project, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``mlflow server`` on 127.0.0.1 (SQLite backend, proxied artifacts) and return it and its URI."""
    directory.mkdir()
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(directory / "artifacts")]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # its job runner takes seconds to start
    with (directory / "server.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return process, f"http://127.0.0.1:{port}"


def wait_until_healthy(process: subprocess.Popen[bytes], uri: str, log: Path) -> None:
    for _ in range(240):  # up to a minute
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"mlflow server did not start: {log.read_text()[-2000:]}")


def keep_last_write_in_wal(database: Path, into: Path, run_id: str) -> Path:
    """Switch a tracking database to WAL mode, tag a run through MLflow while another connection keeps the
    log from being checkpointed, and copy the database, its -wal and -shm: a live server's directory."""
    from mlflow.tracking import MlflowClient

    with sqlite3.connect(database) as keeper:
        keeper.execute("PRAGMA journal_mode=WAL")
        MlflowClient(f"sqlite:///{database}").set_tag(run_id, "reviewed", "yes")
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{database}{suffix}", into / f"mlflow.db{suffix}")
    return into / "mlflow.db"


def train(project: Path, *uris: str) -> dict[str, Any]:
    """Run ``train.py`` against tracking stores, and return what it logged in each."""
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "train.py", "truth.json", *uris]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((project / "truth.json").read_text())


@pytest.fixture(scope="session")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracked]:
    if shutil.which("git") is None:
        pytest.skip("git is needed: train.py runs from a git checkout, whose commit MLflow records")
    root = tmp_path_factory.mktemp("mlflow")
    project, user, work = root / "project", root / "user", root / "work"
    for directory in (project, user, work):
        directory.mkdir()
    (project / "train.py").write_text(TRAIN_PY)
    git(project, "init", "-q")
    git(project, "add", "train.py")
    git(project, "commit", "-q", "-m", "Train an iris sweep")
    git(project, "remote", "add", "origin", REMOTE)
    server, server_uri = start_server(root / "server")
    try:
        files_uri, work_uri = (user / "mlruns").as_uri(), f"sqlite:///{work / 'mlflow.db'}"
        truths = train(project, files_uri, work_uri)  # while the server starts
        wait_until_healthy(server, server_uri, root / "server" / "server.log")
        truths |= train(project, server_uri)
        database = keep_last_write_in_wal(work / "mlflow.db", user, truths[work_uri]["sweep"])
        yield Tracked(
            sources={"files": user / "mlruns", "sqlite": database, "server": server_uri},
            truth={"files": truths[files_uri], "sqlite": truths[work_uri], "server": truths[server_uri]},
            commit=git(project, "rev-parse", "HEAD").strip(),
            user_files={"files": snapshot(user / "mlruns"), "sqlite": snapshot(user)},
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def stores(tracked: Tracked) -> dict[str, Store]:
    """Each backend's tracking data loaded into a store of its own, as ``provml load`` does."""
    loaded = {}
    for backend, source in tracked.sources.items():
        loaded[backend] = Store()
        (outcome,) = load_paths(loaded[backend], [source])
        assert outcome.status == "loaded", outcome.error
    return loaded


def rows(store: Store, sparql: str) -> list[tuple[Any, ...]]:
    return [tuple(term.python() if term is not None else None for term in row) for row in store.query(sparql)]


def copy_database(database: Path, target: Path) -> Path:
    """Copy a database and its write-ahead log, never opening the original (that would write its -shm)."""
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{database}{suffix}", f"{target}{suffix}")
    return target


def one_failure(store: Store, source: Source, format: str | None = None) -> InputError:
    """Load a source that must fail, and return its error once sure the store kept nothing."""
    (outcome,) = load_paths(store, [source], format=format)
    assert outcome.status == "failed" and isinstance(outcome.error, InputError)
    assert store.dumps() == [] and not store.query("ASK { ?s ?p ?o }")
    return outcome.error


# -- what the store answers --------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_best_run_by_test_accuracy_and_its_params(tracked: Tracked, stores: dict[str, Store], backend: str) -> None:
    best_name, best = tracked.best(backend)
    assert sorted(run["test_accuracy"] for run in tracked.truth[backend]["runs"].values())[-2] < best["test_accuracy"]
    answer = rows(
        stores[backend],
        """SELECT ?run ?accuracy ?param ?value WHERE {
             { SELECT ?r ?accuracy WHERE { ?m mls:specifiedBy/rdfs:label "test_accuracy" ; provml:value ?accuracy ;
                                              prov:wasGeneratedBy ?r } ORDER BY DESC(?accuracy) LIMIT 1 }
             ?r rdfs:label ?run ; provml:hasHyperparameterSetting [ rdfs:label ?param ; provml:value ?value ] }""",
    )
    assert {(run, accuracy) for run, accuracy, _, _ in answer} == {(best_name, best["test_accuracy"])}
    assert {param: value for _, _, param, value in answer} == best["params"]  # typed: C is 1.0, max_iter 300


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_point_of_a_metric_is_kept_with_its_step(stores: dict[str, Store], backend: str) -> None:
    answer = rows(
        stores[backend],
        """SELECT ?run ?step WHERE { ?m mls:specifiedBy/rdfs:label "train_accuracy" ; provml:step ?step ;
                                       prov:wasGeneratedBy/rdfs:label ?run ; prov:generatedAtTime ?at }
           ORDER BY ?run ?step""",
    )
    assert answer == [(run, step) for run in sorted(CANDIDATES) for step in (0, 1, 2)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_child_runs_are_part_of_their_parent_run_in_the_experiment(stores: dict[str, Store], backend: str) -> None:
    store = stores[backend]
    children = rows(store, 'SELECT ?child WHERE { ?c provml:partOf/rdfs:label "sweep" ; rdfs:label ?child }')
    assert sorted(children) == [(name,) for name in sorted(CANDIDATES)]
    in_experiment = 'SELECT ?run WHERE { ?r provml:partOf/rdfs:label "iris-sweep" ; rdfs:label ?run }'
    assert sorted(rows(store, in_experiment)) == [("evaluate-best",), ("sweep",)]
    stages = rows(
        store,
        """SELECT ?run ?stage WHERE { VALUES ?stage { provml:TrainingExecution provml:EvaluationExecution }
                                     ?r a ?stage ; rdfs:label ?run }""",
    )
    training = {name: PROVML.TrainingExecution for name in CANDIDATES}
    assert dict(stages) == training | {"evaluate-best": PROVML.EvaluationExecution}  # the sweep trained nothing


@pytest.mark.parametrize("backend", BACKENDS)
def test_runs_used_the_datasets_they_logged_with_mlflow_digests(
    tracked: Tracked, stores: dict[str, Store], backend: str
) -> None:
    answer = rows(
        stores[backend],
        """SELECT DISTINCT ?run ?name ?digest ?location ?shape WHERE {
             ?r rdfs:label ?run ; prov:used ?d . ?d a provml:LearningDataset ; rdfs:label ?name ;
             provml:version ?digest ; provml:location ?location ; provml:shape ?shape }""",
    )
    digests = tracked.truth[backend]["datasets"]  # iris has 150 rows: 105 to train on, 45 to test on
    train = [(run, "iris-train", digests["iris-train"], "data/iris-train.csv", "[105]") for run in CANDIDATES]
    test = ("evaluate-best", "iris-test", digests["iris-test"], "data/iris-test.csv", "[45]")
    assert sorted(answer) == sorted([*train, test])


@pytest.mark.parametrize("backend", BACKENDS)
def test_logged_models_their_runs_evaluations_and_use(tracked: Tracked, stores: dict[str, Store], backend: str) -> None:
    store = stores[backend]
    generated = rows(
        store,
        """SELECT ?run ?model ?accuracy WHERE { ?m a provml:Model ; prov:wasGeneratedBy/rdfs:label ?run ;
             provml:location ?where ; provml:sizeBytes ?size . FILTER(?size > 0) BIND(STR(?m) AS ?model)
             ?e provml:evaluatedModel ?m ; mls:specifiedBy/rdfs:label "test_accuracy" ; provml:value ?accuracy }""",
    )
    runs = tracked.truth[backend]["runs"]
    assert sorted(generated) == sorted(
        (name, store.ids.model(run["model_id"]), run["test_accuracy"]) for name, run in runs.items()
    )
    used = rows(
        store,
        """SELECT ?run ?by WHERE { ?e a provml:EvaluationExecution ; rdfs:label ?by ; prov:used ?m .
                                   ?m a provml:Model ; prov:wasGeneratedBy/rdfs:label ?run }""",
    )
    assert used == [(tracked.best(backend)[0], "evaluate-best")]
    realized = rows(
        store,
        """SELECT ?run ?algorithm ?implementation WHERE { ?r rdfs:label ?run ; mls:realizes/rdfs:label ?algorithm ;
                                                           mls:executes/rdfs:label ?implementation }""",
    )  # named by the tags sklearn autolog writes, as train.py writes them
    assert sorted(realized) == sorted((name, *run["estimator"]) for name, run in runs.items())


@pytest.mark.parametrize("backend", BACKENDS)
def test_artifacts_have_their_size_and_local_ones_their_digest(
    tracked: Tracked, stores: dict[str, Store], backend: str
) -> None:
    answer = rows(
        stores[backend],
        """SELECT ?run ?size ?sha256 WHERE { ?a a provml:DataReference ; rdfs:label "reports/report.txt" ;
             prov:wasGeneratedBy/rdfs:label ?run ; provml:sizeBytes ?size . OPTIONAL { ?a provml:sha256 ?sha256 } }""",
    )
    reports = {name: run["report"] for name, run in tracked.truth[backend]["runs"].items()}
    local = backend != "server"  # a server's artifacts are behind its proxy: no file to hash here
    expected = [(name, report["size"], report["sha256"] if local else None) for name, report in reports.items()]
    assert sorted(answer) == sorted(expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runs_are_associated_with_their_user_and_code_version(
    tracked: Tracked, stores: dict[str, Store], backend: str
) -> None:
    answer = rows(
        stores[backend],
        """SELECT DISTINCT ?user ?commit ?remote ?experiment WHERE {
             ?r rdfs:label "logreg" ; prov:wasAssociatedWith/rdfs:label ?user ; provml:hasCodeVersion ?c .
             ?c provml:commit ?commit ; provml:repository ?remote .
             ?w a provml:WorkflowExecution ; provml:hasCodeVersion ?c ; rdfs:label ?experiment }""",
    )
    assert answer == [(getpass.getuser(), tracked.commit, REMOTE, "iris-sweep")]


# -- the user's files, and what goes wrong -----------------------------------------------------


@pytest.mark.parametrize("backend", ["files", "sqlite"])
def test_loading_changes_none_of_the_users_files(tracked: Tracked, stores: dict[str, Store], backend: str) -> None:
    before = tracked.user_files[backend]
    environment = dict(os.environ)
    load_paths(Store(), [tracked.sources[backend]], force=True)
    directory = tracked.sources["sqlite"].parent if backend == "sqlite" else tracked.sources["files"]
    assert snapshot(directory) == before  # same bytes, same times, no file added (stores[] loaded it too)
    assert dict(os.environ) == environment  # MLFLOW_ALLOW_FILE_STORE was set for MLflow's calls only


def test_a_database_in_wal_mode_is_read_with_its_log(tracked: Tracked, stores: dict[str, Store]) -> None:
    assert {"mlflow.db-wal", "mlflow.db-shm"} <= set(tracked.user_files["sqlite"])
    assert stores["sqlite"].query('ASK { ?r rdfs:label "sweep" ; provml:tag "reviewed=yes" }')


def test_a_database_of_an_older_mlflow_is_read_from_a_migrated_copy(tracked: Tracked, tmp_path: Path) -> None:
    from alembic import command
    from mlflow.store.db.utils import _get_alembic_config  # the migrations `mlflow db upgrade` runs

    database = copy_database(tracked.sources["sqlite"], tmp_path / "mlflow.db")
    command.downgrade(_get_alembic_config(f"sqlite:///{database}"), "-1")
    before = snapshot(tmp_path)
    store = Store()
    (outcome,) = load_paths(store, [database])
    assert outcome.status == "loaded", outcome.error
    assert len(rows(store, "SELECT ?r WHERE { ?r a provml:TaskExecution }")) == len(CANDIDATES) + 2
    assert snapshot(tmp_path) == before


def test_a_cut_short_run_meta_yaml_is_named_and_nothing_is_stored(tracked: Tracked, tmp_path: Path) -> None:
    mlruns = Path(shutil.copytree(tracked.sources["files"], tmp_path / "mlruns"))
    (meta,) = mlruns.glob(f"*/{tracked.truth['files']['runs']['logreg']['run_id']}/meta.yaml")
    meta.write_bytes(meta.read_bytes()[: meta.stat().st_size // 2])
    error = one_failure(Store(), mlruns)
    assert error.source == str(meta) and error.message.startswith("MLflow cannot read this file")


def test_a_garbled_metric_history_is_named_with_its_line(tracked: Tracked, tmp_path: Path) -> None:
    mlruns = Path(shutil.copytree(tracked.sources["files"], tmp_path / "mlruns"))
    (history,) = mlruns.glob(f"*/{tracked.truth['files']['runs']['logreg']['run_id']}/metrics/train_accuracy")
    points = history.read_bytes().count(b"\n")
    history.write_bytes(history.read_bytes() + b"1795440000000 0.5O 3\n")  # a value with a letter O for a zero
    error = one_failure(Store(), mlruns)
    assert (error.source, error.line) == (str(history), points + 1)


def test_an_experiment_mlflow_would_skip_is_an_error(tracked: Tracked, tmp_path: Path) -> None:
    mlruns = Path(shutil.copytree(tracked.sources["files"], tmp_path / "mlruns"))
    (meta,) = (path for path in mlruns.glob("*/meta.yaml") if b"iris-sweep" in path.read_bytes())
    meta.write_bytes(b"")  # MLflow itself only logs a warning and leaves the experiment out
    error = one_failure(Store(), mlruns)
    assert error.source == str(meta) and "it is empty" in error.message


def test_a_garbage_database_is_an_input_error_naming_it(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"not a database, whatever its name says\n" * 100)
    error = one_failure(Store(), database)
    assert error.source == str(database) and "not an SQLite database" in error.message


def test_a_directory_that_is_no_file_store_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "runs" / "1").mkdir(parents=True)
    error = one_failure(Store(), tmp_path / "runs", format="mlflow")
    assert error.source == str(tmp_path / "runs") and "not an MLflow file store" in error.message


def test_without_mlflow_the_loader_says_how_to_install_it(tracked: Tracked, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("mlflow", "mlflow.tracking", "mlflow.entities"):
        monkeypatch.setitem(sys.modules, module, None)
    error = one_failure(Store(), tracked.sources["files"])
    assert "pip install 'provml[mlflow]'" in str(error)


def test_listing_the_formats_does_not_import_mlflow() -> None:
    check = "import sys; from provml import loaders; loaders.get('mlflow'); print('mlflow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


# -- finding and reloading sources -------------------------------------------------------------


def test_a_tracking_directory_and_database_are_found_and_recognised(tracked: Tracked, tmp_path: Path) -> None:
    user = tracked.sources["sqlite"].parent
    found = {(source, loader.name) for source, loader in find_sources([user])}
    assert found == {(tracked.sources["files"], "mlflow"), (tracked.sources["sqlite"], "mlflow")}
    renamed = copy_database(tracked.sources["sqlite"], tmp_path / "tracking.sqlite")
    assert loaders.detect(renamed).name == "mlflow"  # by its tables, whatever its name


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_cli_loads_each_kind_of_source(tracked: Tracked, tmp_path: Path, backend: str) -> None:
    result = CliRunner().invoke(app, ["load", str(tracked.sources[backend]), "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output


def test_an_unchanged_store_is_not_reloaded_and_a_changed_one_is(tracked: Tracked, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    store, uri = Store(), tracked.sources["server"]
    statuses = [outcome.status for outcome in (*load_paths(store, [uri]), *load_paths(store, [uri]))]
    MlflowClient(uri).set_tag(tracked.truth["server"]["evaluation"], "checked-by", "bruno")
    statuses += [outcome.status for outcome in load_paths(store, [uri])]
    assert statuses == ["loaded", "unchanged", "replaced"]
    assert store.query('ASK { ?r rdfs:label "evaluate-best" ; provml:tag "checked-by=bruno" }')


@pytest.mark.parametrize("backend", ["files", "sqlite"])
def test_reloading_an_unchanged_local_store_does_nothing(tracked: Tracked, backend: str) -> None:
    store = Store()
    outcomes: list[FileOutcome] = [*load_paths(store, [tracked.sources[backend]])]
    outcomes += load_paths(store, [tracked.sources[backend]])
    assert [outcome.status for outcome in outcomes] == ["loaded", "unchanged"]


def test_a_file_store_without_trash_is_read_without_creating_one(tracked: Tracked, tmp_path: Path) -> None:
    mlruns = Path(shutil.copytree(tracked.sources["files"], tmp_path / "mlruns"))
    (mlruns / ".trash").rmdir()  # git keeps no empty directory: a cloned store has none, and MLflow makes one
    (outcome,) = load_paths(Store(), [mlruns])
    assert outcome.status == "loaded", outcome.error
    assert not (mlruns / ".trash").exists()


@pytest.mark.parametrize("backend", ["files", "sqlite"])
def test_a_file_or_sqlite_uri_reads_the_same_store_as_its_path(
    tracked: Tracked, stores: dict[str, Store], backend: str
) -> None:
    path = tracked.sources[backend].resolve()
    uri = path.as_uri() if backend == "files" else f"sqlite:///{path}"
    store = Store()
    (outcome,) = load_paths(store, [uri])
    (by_path,) = stores[backend].dumps()
    assert outcome.result is not None and outcome.result.triples == by_path.triples


CONCEPTS_PY = """import sys
import mlflow
import numpy as np

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("facies")
with mlflow.start_run(run_name="train") as run:
    mlflow.set_tag("provml.domain_concepts", "https://geo.example/FaciesClassification")
    cube = mlflow.data.from_numpy(np.zeros((4, 2)), name="cube", source="file:///data/cube.npy")
    concepts = "https://geo.example/SeismicSurvey, https://geo.example/NorthSea"
    mlflow.log_input(cube, context="training", tags={"provml.domain_concepts": concepts})
print(run.info.run_id)
"""


def test_a_provml_domain_concepts_tag_annotates_the_run_and_the_dataset_input(tmp_path: Path) -> None:
    """Tags set with MLflow's own API, on a run and on a dataset input, become provml:domainConcept links."""
    script, mlruns = tmp_path / "concepts.py", tmp_path / "mlruns"
    script.write_text(CONCEPTS_PY)
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(script), mlruns.as_uri()], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stdout.split()[-1]
    store = Store()
    (outcome,) = load_paths(store, [mlruns])
    assert outcome.status == "loaded", outcome.error
    annotated = set(
        rows(
            store,
            "SELECT ?kind ?concept WHERE { ?thing provml:domainConcept ?concept OPTIONAL { ?thing provml:sourceId ?id } "
            'BIND(IF(EXISTS { ?thing a provml:Dataset }, "dataset", ?id) AS ?kind) }',
        )
    )
    assert annotated == {
        ("dataset", "https://geo.example/NorthSea"),
        ("dataset", "https://geo.example/SeismicSurvey"),
        (run_id, "https://geo.example/FaciesClassification"),
    }
