"""Capture over HTTP: the capture client's HTTP transport against a real ``provml serve`` on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import TOKEN, Server, free_port

import provml
from provml.capture.http import HttpTransport
from provml.errors import ProvmlWarning
from provml.loading import load_paths
from provml.store import Store


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "store")
    yield running
    if running.process.poll() is None:
        running.stop()


def count(store: Path, where: str) -> int:
    with Store(store) as db:
        (row,) = db.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
        return row[0].python()


@pytest.mark.parametrize("batch_size", [1000, 7])  # one batch, or forty numbered batches that must all arrive
def test_a_run_captured_over_http_is_in_the_served_store(server: Server, batch_size: int) -> None:
    transport = HttpTransport(server.url, token=TOKEN, batch_size=batch_size)
    with (
        provml.start_workflow("http-run", transport=transport) as workflow,
        provml.start_run("train", stage="training"),
    ):
        provml.log_params({"learning_rate": 0.01, "epochs": 3})
        for step in range(250):
            provml.log_metric("loss", 1 / (step + 1), step=step)
    transport.close()
    assert httpx.get(f"{server.url}/health").json()["dumps"] >= 1
    server.stop()
    wf = f"<urn:provml:workflow/{workflow.workflow_id}>"
    assert count(server.store, "?m a provml:ModelEvaluation") == 250
    assert count(server.store, f"?t a provml:TrainingExecution ; provml:partOf {wf} ; provml:status 'FINISHED'") == 1


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 403)])
def test_ingest_refuses_without_the_right_token(server: Server, token: str | None, status: int) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{server.url}/ingest", content=b'{"type": "agent", "agent_id": "a"}\n', headers=headers)
    assert response.status_code == status
    assert TOKEN not in response.text


def test_a_server_without_a_token_is_read_only(tmp_path: Path) -> None:
    server = Server(tmp_path / "store", token=None)
    try:
        response = httpx.post(f"{server.url}/ingest", content=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403 and "read-only" in response.json()["error"]
    finally:
        server.stop()


def test_a_malformed_batch_is_refused_with_its_line_and_nothing_stored(server: Server) -> None:
    body = b'{"type": "agent", "agent_id": "a"}\n{"type": "metric", "workflow_id": "w"}\n'
    response = httpx.post(f"{server.url}/ingest", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422
    assert ":2: metric record: missing required fields" in response.json()["error"]
    assert httpx.get(f"{server.url}/health").json()["dumps"] == 0


def test_a_batch_sent_twice_is_stored_once(server: Server) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Provml-Stream": "node1-42", "X-Provml-Batch": "00000007"}
    body = b'{"type": "task", "workflow_id": "w", "task_id": "t", "started_at": 1}\n'
    first = httpx.post(f"{server.url}/ingest", content=body, headers=headers).json()
    again = httpx.post(f"{server.url}/ingest", content=body, headers=headers).json()
    assert (first["status"], again["status"]) == ("loaded", "unchanged") and first["graph"] == again["graph"]
    assert httpx.get(f"{server.url}/health").json()["dumps"] == 1


def test_a_refused_or_unreachable_server_never_raises_and_the_events_are_spilled(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVML_SPILL", str(tmp_path / "spill"))
    for target, token in ((server.url, "wrong-token"), (f"http://127.0.0.1:{free_port()}", TOKEN)):
        transport = HttpTransport(target, token=token, retries=2)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with provml.start_workflow("offline", transport=transport), provml.start_run("train"):
                for step in range(100):
                    provml.log_metric("loss", 1.0, step=step)
            transport.close()
        messages = [str(w.message) for w in caught if issubclass(w.category, ProvmlWarning)]
        assert len(messages) == 1 and "could not send" in messages[0] and "wrong-token" not in messages[0]
    store = Store()
    assert all(o.error is None for o in load_paths(store, [tmp_path / "spill"]))
    (row,) = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?m a provml:ModelEvaluation }")
    assert row[0].python() == 200


WORKER = textwrap.dedent(
    """
    import sys, provml
    with provml.start_workflow("ddp", transport=sys.argv[1]), provml.start_run("train", stage="training"):
        for step in range(int(sys.argv[2])):
            provml.log_metric("loss", 1.0, step=step)
    """
)


@pytest.mark.slow
def test_eight_processes_sending_at_once_lose_nothing(server: Server, tmp_path: Path) -> None:
    script, steps = tmp_path / "worker.py", 1500  # two batches of the transport (1000 events) each, at least
    script.write_text(WORKER)
    env = {
        **os.environ,
        "PROVML_WORKFLOW_ID": "ddp-http",
        "PROVML_TOKEN": TOKEN,
        "PROVML_SPILL": str(tmp_path / "spill"),
    }
    processes = [
        subprocess.Popen([sys.executable, str(script), server.url, str(steps)], env={**env, "RANK": str(rank)})
        for rank in range(8)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * 8
    assert not (tmp_path / "spill").exists(), "nothing should have been spilled"
    server.stop()
    assert count(server.store, "?m a provml:ModelEvaluation") == 8 * steps
    assert count(server.store, "?t a provml:TrainingExecution ; provml:partOf <urn:provml:workflow/ddp-http>") == 8
