"""`provml load --jobs N`: chunks written by threads while the next are read load what one writer loads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import LIFECYCLE
from typer.testing import CliRunner

from provml import store as store_module
from provml.cli import app
from provml.loading import load_paths
from provml.store import Store

runner = CliRunner()


def content(store: Store) -> tuple[list[tuple[object, ...]], set[str]]:
    """The catalog (but load times and warnings) and every quad of every other graph, as N-Quads lines.

    Warnings may differ: a dump is validated with what was written when it commits, the other dumps of the
    same load included, and more of them are written by then with parallel writes."""
    catalog = [(d.graph, d.source, d.sha256, d.triples, d.graphs, d.violations) for d in store.dumps()]
    rows = store.query(
        "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g != <urn:provml:graph/catalog>) }", union=False
    )
    quads = {" ".join(f"{t.kind}:{t.value}:{t.datatype}:{t.language}" for t in row) for row in rows}
    return catalog, quads


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Chunks of 300 quads, so that many are in flight at once; returns the names of the threads that wrote."""
    monkeypatch.setattr(store_module, "CHUNK_QUADS", 300)
    writers: list[str] = []
    bulk = Store._bulk

    def recorded(self: Store, lines: list[str]) -> None:
        writers.append(threading.current_thread().name)
        bulk(self, lines)

    monkeypatch.setattr(Store, "_bulk", recorded)
    return writers


def test_parallel_writes_load_what_one_writer_loads(tmp_path: Path, small_chunks: list[str]) -> None:
    loaded = {}
    for jobs in (1, 3):
        with Store(tmp_path / f"jobs-{jobs}") as store:
            outcomes = load_paths(store, [LIFECYCLE], jobs=jobs)
            assert [o.error for o in outcomes if o.error] == []
            loaded[jobs] = content(store)
    assert loaded[3] == loaded[1]
    assert len(loaded[1][0]) == len(list(LIFECYCLE.glob("*.jsonl"))) and len(loaded[1][1]) > 900
    assert any(name.startswith("provml-write") for name in small_chunks)
    assert "MainThread" in small_chunks  # the jobs=1 load wrote in the main thread


def test_a_failed_dump_among_parallel_writes_leaves_nothing(tmp_path: Path, small_chunks: list[str]) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in sorted(LIFECYCLE.glob("*.jsonl")):
        (inputs / path.name).write_text(path.read_text())
    broken = (LIFECYCLE / "train-b.jsonl").read_text().splitlines()
    (inputs / "train-b.jsonl").write_text(
        "\n".join([*broken[:-3], '{"type": "metric", "run": 7}', *broken[-3:]]) + "\n"
    )
    with Store(tmp_path / "store") as store:
        outcomes = load_paths(store, [inputs], jobs=2)
        failed = [o.path.name for o in outcomes if o.error is not None]  # type: ignore[union-attr]
        assert failed == ["train-b.jsonl"]
        graphs = {row[0].value for row in store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
        assert not [g for g in graphs if "train-b" in g or "/staging/" in g]
        marks = store.query(
            "ASK { GRAPH <urn:provml:graph/catalog> { ?g <https://w3id.org/provml#loadState> 'loading' } }"
        )
        assert not marks
        assert len(store.dumps()) == len(outcomes) - 1


def test_the_cli_loads_with_jobs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["load", "--jobs", "2", "--store", str(tmp_path / "store"), str(LIFECYCLE)])
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "store") as store:
        assert len(store.dumps()) == len(list(LIFECYCLE.glob("*.jsonl")))
    refused = runner.invoke(app, ["load", "--jobs", "0", "--store", str(tmp_path / "store"), str(LIFECYCLE)])
    assert refused.exit_code != 0 and "--jobs" in refused.output


def test_a_write_that_fails_in_a_thread_stops_the_load_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer's error (a loader's bug: an invalid quad) reaches the caller; nothing of the load stays."""
    monkeypatch.setattr(store_module, "CHUNK_QUADS", 300)
    bulk, calls = Store._bulk, []

    def failing(self: Store, lines: list[str]) -> None:
        calls.append(len(lines))
        if len(calls) == 3:
            raise RuntimeError("bug: a loader produced an invalid quad")
        bulk(self, lines)

    monkeypatch.setattr(Store, "_bulk", failing)
    with Store(tmp_path / "store") as store:
        with pytest.raises(RuntimeError, match="invalid quad"):
            load_paths(store, [LIFECYCLE], jobs=2, check=False)
        loading = "ASK { GRAPH <urn:provml:graph/catalog> { ?g <https://w3id.org/provml#loadState> 'loading' } }"
        assert not store.query(loading)
        graphs = {row[0].value for row in store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
        committed = {d.graph for d in store.dumps()}
        assert graphs <= committed | {"urn:provml:graph/catalog", "urn:provml:graph/shared"}
    assert len(calls) >= 3
