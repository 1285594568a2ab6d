"""Sixteen clients ask canned queries while an ingest runs: no errors, and each answer is the store's
before the ingest or after it, never a mix (queries read snapshots published between two writes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import load_file
from live_server import TOKEN, Server

from provml.demo import write_lifecycle
from provml.store import Store

CLIENTS = 16
SWEEP = {"workflow": "sweep-0007"}  # the demo's hyperparameter sweep
QUERIES = {
    "final-metrics": {},
    "hyperparameter-sweep": SWEEP,
    "best-runs": {},
    "who-ran-what": {},
    "task-times": SWEEP,
    "workflow-overview": {},
}
MAX_REQUESTS = 400  # per client: the loop stops by itself even if the ingest hangs


def rows(client: httpx.Client, name: str) -> tuple[int, list[str]]:
    """Return the status and the sorted rows (as JSON text) of a canned query's answer."""
    response = client.get(f"/queries/{name}", params={**QUERIES[name], "format": "json"})
    if response.status_code != 200:
        return response.status_code, [response.text]
    return 200, sorted(str(sorted(b.items())) for b in response.json()["results"]["bindings"])


@pytest.mark.slow
def test_sixteen_clients_during_an_ingest_see_the_store_before_or_after_it(tmp_path: Path) -> None:
    files = write_lifecycle(tmp_path / "demo", runs=6, epochs=300)
    ingested = max(files, key=lambda path: path.stat().st_size)  # a training run of 2,000 events: seconds to load
    with Store(tmp_path / "store") as db:
        for path in files:
            if path != ingested:
                load_file(db, path)
    server = Server(tmp_path / "store")
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            before = {name: rows(client, name) for name in QUERIES}
        answers: list[tuple[str, float, tuple[int, list[str]]]] = []
        ingest: dict[str, object] = {}
        done = threading.Event()

        def send() -> None:
            ingest["start"] = time.monotonic()
            reply = httpx.post(
                f"{server.url}/ingest",
                content=ingested.read_bytes(),
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=300,
            )
            ingest["end"], ingest["reply"] = time.monotonic(), reply
            done.set()

        def ask(offset: int) -> None:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                for turn in range(MAX_REQUESTS):
                    name = list(QUERIES)[(offset + turn) % len(QUERIES)]
                    answers.append((name, time.monotonic(), rows(client, name)))
                    if done.is_set() and turn >= len(QUERIES):
                        return

        askers = [threading.Thread(target=ask, args=(n,)) for n in range(CLIENTS)]
        for thread in askers:
            thread.start()
        sender = threading.Thread(target=send)
        sender.start()
        for thread in (sender, *askers):
            thread.join(600)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            after = {name: rows(client, name) for name in QUERIES}
    finally:
        server.stop()

    reply = ingest["reply"]
    assert isinstance(reply, httpx.Response) and reply.status_code == 200, reply
    assert reply.json()["triples"] > 10_000
    assert all(before[name][0] == after[name][0] == 200 for name in QUERIES)
    changed = [name for name in QUERIES if before[name] != after[name]]
    assert len(changed) >= 4, "the ingest should change most answers, or the test proves nothing"
    errors = [(name, answer) for name, _, answer in answers if answer[0] != 200]
    assert errors == []
    mixed = [name for name, _, answer in answers if answer not in (before[name], after[name])]
    assert mixed == []
    during = [a for a in answers if ingest["start"] < a[1] < ingest["end"]]  # type: ignore[operator]
    assert len(during) >= CLIENTS, "the clients should have been answered while the ingest ran"
    assert any(answer == before[name] != after[name] for name, _, answer in during)
