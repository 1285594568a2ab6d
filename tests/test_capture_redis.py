"""Capture to a Redis stream and ``provml consume`` it, against a real ``redis-server`` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import RANK_CAPTURE
from live_server import free_port

import provml
from provml.capture.redis import RedisTransport
from provml.consume import Entry, _Consumer, consume
from provml.errors import ProvmlWarning
from provml.linking import link
from provml.loading import load_paths
from provml.store import Store


@pytest.fixture
def client(redis_package: ModuleType, redis_port: int) -> Any:
    """A client of the test server, whose database 0 starts empty."""
    client = redis_package.Redis(port=redis_port)
    client.flushdb()
    return client


@pytest.fixture
def uri(redis_port: int, client: Any) -> str:
    """The stream ``events`` of the test server (empty)."""
    return f"redis://127.0.0.1:{redis_port}/0?stream=events"


def count(store: Store, where: str) -> int:
    (row,) = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    return row[0].python()


def pending(client: Any, stream: str = "events", group: str = "provml") -> int:
    return client.xpending(stream, group)["pending"]


def capture_training(uri: str, name: str, metrics: int) -> provml.Workflow:
    """Capture a workflow with one training run (2 params, ``metrics`` values) to the stream."""
    transport = RedisTransport(uri)
    try:
        with provml.start_workflow(name, transport=transport) as workflow:
            with provml.start_run("fit", stage="training"):
                provml.log_params({"lr": 0.01, "layers": 4})
                for step in range(metrics):
                    provml.log_metric("loss", 1 / (step + 1), step=step)
    finally:
        transport.close()
    return workflow


def test_a_workflow_captured_to_a_stream_loads_when_consumed(uri: str, client: Any, tmp_path: Path) -> None:
    workflow = capture_training(uri, "iris", metrics=250)
    with Store(tmp_path / "store") as store:
        report = consume(store, uri, idle_exit=True, block_ms=100)
        wf = f"<urn:provml:workflow/{workflow.workflow_id}>"
        assert count(store, "?m a provml:ModelEvaluation") == 250
        assert count(store, f"?run a provml:TrainingExecution ; provml:partOf {wf} ; provml:status 'FINISHED'") == 1
        assert count(store, f"?run provml:partOf {wf} ; provml:hasHyperparameterSetting ?s") == 2
        assert count(store, f"{wf} provml:status 'FINISHED'") == 1
    assert (report.batches, report.dead_lettered) == (1, 0)
    assert report.events == client.xlen("events")
    assert pending(client) == 0


def test_each_batch_brings_the_entailment_graph_up_to_date(uri: str, client: Any, tmp_path: Path) -> None:
    capture_training(uri, "iris", metrics=3)
    with Store(tmp_path / "store") as store:
        link(store, [], check=False)  # PROV-ML with ML Schema: a training run is an mls:Run
        consume(store, uri, idle_exit=True, block_ms=100)
        runs = "?run a mls:Run ; provml:hasHyperparameterSetting ?s"
        assert count(store, runs) == 2
        assert sum(1 for _ in store.query(f"SELECT * WHERE {{ {runs} }}", entailed=False)) == 0  # entailed alone


@pytest.mark.slow
def test_eight_processes_streaming_at_once_lose_nothing(uri: str, client: Any, tmp_path: Path) -> None:
    steps, env = 1000, {**os.environ, "PROVML_WORKFLOW_ID": "ddp-job-1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RANK_CAPTURE, uri, str(rank), str(steps)], env={**env, "RANK": str(rank)}
        )
        for rank in range(8)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 8
    with Store(tmp_path / "store") as store:
        report = consume(store, uri, batch=1000, idle_exit=True, block_ms=100)  # starts and ends of runs fall apart
        assert report.batches > 8 and report.dead_lettered == 0
        assert count(store, "?m a provml:ModelEvaluation") == 8 * steps
        training = "?t a provml:TrainingExecution ; provml:partOf <urn:provml:workflow/ddp-job-1>"
        assert count(store, training) == 8
        assert count(store, f"{training} ; provml:status 'FINISHED'") == 8
        assert count(store, "?w a provml:WorkflowExecution") == 1
    assert pending(client) == 0


def provml_command(*args: str) -> list[str]:
    script = shutil.which("provml", path=str(Path(sys.executable).parent)) or shutil.which("provml")
    assert script, "the provml console script is not installed"
    return [script, *args]


@pytest.mark.slow
def test_a_consumer_killed_mid_stream_loses_nothing_and_loads_nothing_twice(
    uri: str, client: Any, tmp_path: Path
) -> None:
    capture_training(uri, "long", metrics=5000)
    store = tmp_path / "store"
    command = provml_command("consume", uri, "--consumer", "c1", "--batch", "100", "--store", str(store))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    watchdog = threading.Timer(60, process.kill)  # bounds the wait for its first line
    watchdog.start()
    first = process.stdout.readline()  # one batch stored: kill it while it loads the next ones
    process.send_signal(signal.SIGKILL)
    watchdog.cancel()
    process.wait(timeout=30)
    assert "100 events" in first, first + process.stderr.read()  # type: ignore[union-attr]
    with Store(store) as opened:
        before = count(opened, "?m a provml:ModelEvaluation")
        assert 0 < before < 5000
        consume(opened, uri, consumer="c1", batch=100, idle_exit=True, block_ms=100)
        assert count(opened, "GRAPH ?g { ?m a provml:ModelEvaluation }") == 5000  # once each: in one graph only
        assert count(opened, "?run a provml:TrainingExecution ; provml:status 'FINISHED'") == 1
    assert pending(client) == 0


def test_a_batch_stored_but_not_acknowledged_is_not_stored_again(
    uri: str, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_training(uri, "once", metrics=50)
    store = Store()

    def killed(self: _Consumer, entries: list[Entry]) -> None:
        raise KeyboardInterrupt  # the consumer dies after the load committed, before its XACK

    monkeypatch.setattr(_Consumer, "ack", killed)
    with pytest.raises(KeyboardInterrupt):
        consume(store, uri, consumer="c1", idle_exit=True, block_ms=100)
    assert pending(client) == client.xlen("events") and len(store.dumps()) == 1
    monkeypatch.undo()
    report = consume(store, uri, consumer="c1", batch=7, idle_exit=True, block_ms=100)  # another batch size, too
    assert (report.batches, report.events, report.triples) == (1, client.xlen("events"), 0)  # recognised, skipped
    assert len(store.dumps()) == 1
    assert count(store, "GRAPH ?g { ?m a provml:ModelEvaluation }") == 50
    assert pending(client) == 0


def test_a_dead_server_never_fails_the_script_and_its_events_are_spilled(
    redis_package: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVML_SPILL", str(tmp_path / "spill"))
    dead = f"redis://127.0.0.1:{free_port()}/0?stream=events"  # nothing listens there
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        capture_training(dead, "offline", metrics=100)
    assert time.monotonic() - started < 30  # retries, then the spill file: never a hang
    (warning,) = [w.message for w in caught if isinstance(w.message, ProvmlWarning)]
    assert dead in str(warning) and str(tmp_path / "spill") in str(warning)
    store = Store()
    assert all(outcome.error is None for outcome in load_paths(store, [tmp_path / "spill"]))
    assert count(store, "?m a provml:ModelEvaluation") == 100
    assert count(store, "?run a provml:TrainingExecution ; provml:status 'FINISHED'") == 1


def test_a_bad_record_sends_its_batch_to_the_dead_letter_stream(uri: str, client: Any) -> None:
    capture_training(uri, "first", metrics=10)
    good = client.xlen("events")
    bad = client.xadd("events", {"event": b'{"type": "metric", "workflow_id": "w"}'}).decode()
    second = capture_training(uri, "second", metrics=20)
    store = Store()
    report = consume(store, uri, batch=good + 1, idle_exit=True, block_ms=100)  # the first workflow and the bad record
    assert report.dead_lettered == good + 1 and len(report.errors) == 1
    assert f"message {bad}: metric record: missing required fields" in report.errors[0]
    dead = client.xrange("events:dead")
    assert len(dead) == good + 1 and dead[-1][1][b"id"].decode() == bad and b"missing" in dead[-1][1][b"error"]
    assert all(b"event" in fields for _, fields in dead)  # kept whole, to replay once mended
    assert count(store, "?m a provml:ModelEvaluation") == 20  # the batches after it loaded
    assert (
        count(store, f"?run provml:partOf <urn:provml:workflow/{second.workflow_id}> ; provml:status 'FINISHED'") == 1
    )
    assert pending(client) == 0


def test_consume_explains_itself_with_an_example() -> None:
    done = subprocess.run(provml_command("consume", "--help"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Example: provml consume 'redis://" in done.stdout


def test_consuming_what_is_not_a_redis_stream_is_a_one_line_error(tmp_path: Path) -> None:
    command = provml_command("consume", "http://127.0.0.1:1/events", "--once", "--store", str(tmp_path / "store"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: not a Redis stream URI: 'http://127.0.0.1:1/events'; expected redis://host:port/db?stream=NAME"
    ]
    assert not (tmp_path / "store").exists()
