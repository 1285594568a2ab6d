"""The capture client, used as a training script would use it, and the graph its events load into."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import orjson
import pytest

import provml
from provml.capture import CaptureError
from provml.errors import ProvmlWarning
from provml.loading import load_paths
from provml.store import Store


def load_events(directory: Path) -> Store:
    store = Store()
    outcomes = load_paths(store, [directory])
    assert all(o.error is None for o in outcomes), [str(o.error) for o in outcomes]
    return store


def count(store: Store, where: str) -> int:
    (row,) = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    return row[0].python()


def records(directory: Path) -> list[dict]:
    return [orjson.loads(line) for path in sorted(directory.glob("*.jsonl")) for line in path.read_bytes().splitlines()]


def test_a_training_script_captures_a_workflow_that_loads_as_prov_ml(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n3,4\n")
    events = tmp_path / "events"
    with provml.start_workflow("iris", campaign="demo", seeds={"numpy": 7}, transport=str(events)) as workflow:
        with provml.start_run("fit", stage="training") as run:
            provml.log_params({"n_estimators": 100, "criterion": "gini"}, kind="model")
            provml.log_dataset(data, role="input", kind="learning", domain_concepts=["http://geo.example/Well"])
            for epoch in range(3):
                with provml.start_run("epoch", stage="epoch"):
                    provml.log_metrics(
                        {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + epoch / 10}, step=epoch, epoch=epoch
                    )
            provml.set_tags(team="geo", priority=1)
            model_id = provml.log_model(name="forest", algorithm="Random Forest", implementation="sklearn.RF")
    store = load_events(events)
    wf, task = (
        f"<urn:provml:workflow/{workflow.workflow_id}>",
        f"<urn:provml:task/{workflow.workflow_id}/{run.task_id}>",
    )
    assert (
        count(store, f"{wf} a provml:WorkflowExecution ; provml:partOf/rdfs:label 'demo' ; provml:status 'FINISHED'")
        == 1
    )
    assert count(store, f"{task} a provml:TrainingExecution ; provml:partOf {wf} ; provml:status 'FINISHED'") == 1
    assert count(store, f"{task} provml:hasHyperparameterSetting ?s") == 2
    assert count(store, "?m a provml:ModelEvaluation ; prov:wasGeneratedBy ?run . ?run provml:partOf ?training") == 6
    assert count(store, f"?e a provml:LearningStageSectionExecution ; provml:partOf {task}") == 3
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert (
        count(
            store, f"{task} prov:used ?d . ?d provml:sha256 '{digest}' ; provml:domainConcept <http://geo.example/Well>"
        )
        == 1
    )
    assert model_id == f"{workflow.workflow_id}/forest"
    assert count(store, f"?m a provml:Model ; rdfs:label 'forest' ; prov:wasGeneratedBy {task}") == 1
    assert count(store, f"{task} mls:realizes/rdfs:label 'Random Forest' ; mls:executes/rdfs:label 'sklearn.RF'") == 1
    assert count(store, f"{task} provml:tag 'team=geo', 'priority=1'") == 1
    assert count(store, f"{wf} provml:randomSeed 7 ; provml:hasEnvironment ?env ; provml:ranOn ?host") == 1


def test_a_failing_run_is_recorded_with_its_error_and_the_error_reaches_the_caller(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), provml.start_workflow("w", transport=str(tmp_path)):
        with provml.start_run("divide"):
            provml.log_param("denominator", 0)
            _ = 1 / 0
    ends = [r for r in records(tmp_path) if r.get("status") == "ERROR"]
    assert {r["type"] for r in ends} == {"task", "workflow"}
    assert "ZeroDivisionError" in next(r for r in ends if r["type"] == "task")["stderr"]
    store = load_events(tmp_path)
    assert (
        count(store, "?t provml:status 'ERROR' ; provml:errorMessage ?m FILTER(CONTAINS(?m, 'ZeroDivisionError'))") == 1
    )


def test_logging_without_a_run_says_how_to_start_one() -> None:
    with pytest.raises(CaptureError, match="start_run"):
        provml.log_metric("loss", 1.0)


def test_the_task_decorator_records_arguments_and_results(tmp_path: Path) -> None:
    @provml.task(stage="dataprep", outputs=["train", "test"], max_bytes=64)
    def split(rows: list[int], fraction: float = 0.5) -> tuple[list[int], list[int]]:
        cut = int(len(rows) * fraction)
        return rows[:cut], rows[cut:]

    with provml.start_workflow("prep", transport=str(tmp_path)):
        assert split(list(range(100)), fraction=0.8) == (list(range(80)), list(range(80, 100)))
    store = load_events(tmp_path)
    used = {
        r[0].value: r[1].value
        for r in store.query(
            "SELECT ?n ?v WHERE { ?t a provml:LearningDataPreparationExecution ; prov:used [ rdfs:label ?n ; provml:value ?v ] }"
        )
    }
    assert used["fraction"] == "0.8"
    assert orjson.loads(used["rows"])["sha256"] == hashlib.sha256(orjson.dumps(list(range(100)))).hexdigest()
    assert count(store, "?v prov:wasGeneratedBy ?t ; rdfs:label ?n FILTER(?n IN ('train', 'test'))") == 2


def test_a_transport_that_cannot_write_warns_once_spills_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "spill"))
    (tmp_path / "spill").mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with provml.start_workflow("full-disk", transport=str(tmp_path / "events")) as workflow:
            workflow.transport._stream = open("/dev/full", "wb", buffering=0)  # noqa: SIM115 - every write fails: ENOSPC
            with provml.start_run("train"):
                for step in range(50):
                    provml.log_metric("loss", 1.0, step=step)
    messages = [str(w.message) for w in caught if issubclass(w.category, ProvmlWarning)]
    assert len(messages) == 1 and "could not write" in messages[0]
    spilled = [
        orjson.loads(line)
        for line in (tmp_path / "spill" / f"provml-spill-{os.getpid()}.jsonl").read_bytes().splitlines()
    ]
    assert sum(r["type"] == "metric" for r in spilled) == 50


SCRIPT = textwrap.dedent(
    """
    import os, sys, time, provml
    with provml.start_workflow("loop", transport=sys.argv[1]):
        with provml.start_run("train", stage="training"):
            for step in range(int(sys.argv[2])):
                provml.log_metric("loss", 1.0 / (step + 1), step=step)
                if step == int(sys.argv[3]):
                    print("ready", flush=True)
                    time.sleep(60)  # bounded: the test signals the process well before
    """
)


def run_script(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, cwd=tmp_path)


@pytest.mark.slow
def test_sigterm_flushes_every_event_logged_before_it(tmp_path: Path) -> None:
    process = run_script(tmp_path, str(tmp_path / "events"), "100000", "5000")
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    metrics = [r for r in records(tmp_path / "events") if r["type"] == "metric"]
    assert [r["step"] for r in metrics] == list(range(5001))


@pytest.mark.slow
def test_after_kill_9_every_complete_line_loads(tmp_path: Path) -> None:
    process = run_script(tmp_path, str(tmp_path / "events"), "100000", "5000")
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # longer than FLUSH_SECONDS: events older than that are in the file
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    (path,) = (tmp_path / "events").glob("*.jsonl")
    lines = path.read_bytes().split(b"\n")
    complete = lines[:-1]
    metrics = sum(orjson.loads(line)["type"] == "metric" for line in complete)
    assert metrics > 0
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        store = load_events(tmp_path / "events")
    assert count(store, "?m a provml:ModelEvaluation") == metrics


WORKER = textwrap.dedent(
    """
    import sys, provml
    with provml.start_workflow("ddp", transport=sys.argv[1]):
        with provml.start_run("train", stage="training"):
            provml.log_param("rank", int(sys.argv[2]))
            for step in range(int(sys.argv[3])):
                provml.log_metric("loss", 1.0, step=step)
    """
)


@pytest.mark.slow
def test_eight_processes_capturing_at_once_lose_nothing(tmp_path: Path) -> None:
    script, events, steps = tmp_path / "worker.py", tmp_path / "events", 2000
    script.write_text(WORKER)
    env = {**os.environ, "PROVML_WORKFLOW_ID": "ddp-job-1"}
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(events), str(rank), str(steps)], env={**env, "RANK": str(rank)}
        )
        for rank in range(8)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 8
    assert len(list(events.glob("*.jsonl"))) == 8
    store = load_events(events)
    assert count(store, "?m a provml:ModelEvaluation") == 8 * steps
    assert count(store, "?t a provml:TrainingExecution ; provml:partOf <urn:provml:workflow/ddp-job-1>") == 8
    assert count(store, "?w a provml:WorkflowExecution") == 1


def test_a_forked_child_writes_its_own_file(tmp_path: Path) -> None:
    with provml.start_workflow("fork", transport=str(tmp_path)), provml.start_run("parent"):
        provml.log_metric("loss", 1.0, step=0)
        pid = os.fork()
        if pid == 0:  # the child logs and leaves at once, without running the parent's exit handlers
            provml.log_metric("loss", 2.0, step=1)
            provml.active_workflow().transport.close()
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) == 2
    steps = sorted(r["step"] for r in records(tmp_path) if r["type"] == "metric")
    assert steps == [0, 1]  # the parent's buffered event is written once, by the parent
