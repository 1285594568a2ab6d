"""``provml serve`` as the README starts it, and what it says about itself."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from live_server import Server, free_port
from typer.testing import CliRunner

from provml.cli import app
from provml.demo import plan_runs


def test_help_names_the_routes_and_the_limits() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for word in ("/sparql", "/graphs", "/queries", "/ingest", "--timeout", "--max-rows", "--allow-remote", "--demo"):
        assert word in result.output


@pytest.mark.slow
def test_serve_demo_answers_the_readme_questions(tmp_path: Path) -> None:
    script = shutil.which("provml", path=str(Path(sys.executable).parent)) or "provml"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PROVML_TOKEN", "PROVML_STORE")}
    process = subprocess.Popen(
        [script, "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        health = httpx.get(f"{url}/health").json()
        best = httpx.get(f"{url}/queries/best-runs", params={"metric": "val_accuracy", "format": "csv"})
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert (tmp_path / "provml-store").is_dir() and (tmp_path / "provml-demo").is_dir()
    assert health["dumps"] == len(list((tmp_path / "provml-demo").glob("*.jsonl")))
    assert health["ontologies"] == 5  # PROV-O, ML Schema, PROV-ML, their alignment and the demo's geology
    runs = plan_runs(12, 7)  # the demo's sweep: every run logs val_accuracy, the failed ones until they crash
    assert best.status_code == 200
    rows = best.text.strip().splitlines()[1:]
    assert len(rows) == len(runs)
    assert sum(",ERROR," in row for row in rows) == sum(run.fails_at is not None for run in runs) > 0
    assert not list(tmp_path.glob(".provml-snapshots-*")), "the server deletes its snapshots when it stops"


def test_a_killed_servers_snapshots_are_removed_by_the_next(tmp_path: Path) -> None:
    first = Server(tmp_path / "store")
    first.process.kill()
    first.process.wait(30)
    assert list(tmp_path.glob(".provml-snapshots-*")), "a killed server leaves its snapshots"
    second = Server(tmp_path / "store")
    try:
        left = [p.name for p in tmp_path.glob(".provml-snapshots-*")]
        assert left == [p.name for p in tmp_path.glob(f".provml-snapshots-{second.process.pid}-*")]
    finally:
        second.stop()
