"""The store facade: atomic loads, reloads, recovery after a kill, catalog, export."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rdflib

from provml.demo import write_lifecycle
from provml.errors import EventError, StoreError
from provml.store import CHUNK_QUADS, Store

from conftest import load_file


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One training run long enough that loading it takes several bulk-load chunks."""
    files = write_lifecycle(tmp_path_factory.mktemp("long"), runs=1, epochs=2500)
    return next(f for f in files if f.name == "train-000.jsonl")


def graph_size(store: Store, graph: str) -> int:
    (row,) = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
    return row[0].python()


def quad_count(store: Store) -> int:
    return store.stats()["quads"]


def test_a_dump_is_recorded_in_the_catalog(store: Store, demo_files: list[Path]) -> None:
    result = load_file(store, demo_files[0])
    (info,) = store.dumps()
    assert (info.graph, info.source, info.loader, info.triples) == (result.graph, str(demo_files[0]), "events", result.triples)
    assert info.triples == graph_size(store, result.graph) > 0
    assert len(info.sha256) == 64


def test_loading_the_same_file_twice_gives_the_same_store(store: Store, demo_files: list[Path]) -> None:
    first = load_file(store, demo_files[1])
    before = quad_count(store)
    again = load_file(store, demo_files[1])
    assert again.skipped and again.triples == first.triples and quad_count(store) == before
    forced = load_file(store, demo_files[1], force=True)
    assert forced.replaced and forced.triples == first.triples and quad_count(store) == before


def test_reloading_a_changed_file_replaces_its_graph_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"type": "task", "workflow_id": "w", "task_id": "old", "subtype": "training"}\n')
    load_file(store, path)
    path.write_text('{"type": "task", "workflow_id": "w", "task_id": "new", "subtype": "training"}\n')
    result = load_file(store, path)
    assert result.replaced
    tasks = [row[0].value for row in store.query("SELECT ?t WHERE { ?t a provml:TrainingExecution }")]
    assert tasks == ["urn:provml:task/w/new"]
    assert [d.graph for d in store.dumps()] == [result.graph]
    assert len(list(store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"))) == 3  # dump, shared, catalog


def test_a_malformed_record_after_chunks_were_written_leaves_the_store_as_it_was(
    store: Store, demo_files: list[Path], long_run: Path, tmp_path: Path
) -> None:
    load_file(store, demo_files[0])
    before = quad_count(store)
    lines = long_run.read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines) + b'{"type": "metric", "workflow_id": "w", "task_id": "t", "name": "loss"}\n')
    written: list[int] = []
    graph = store.ids.dump_graph(bad)
    from provml.loaders import get

    with pytest.raises(EventError) as caught:
        store.load(get("events").quads(bad, store.ids, graph), graph=graph, source=str(bad), loader="events",
                   sha256="x", on_chunk=written.append)
    assert sum(written) >= CHUNK_QUADS, "the error must come after at least one chunk was stored"
    assert str(caught.value).startswith(f"{bad}:{len(lines) + 1}: metric record: missing required fields value, timestamp")
    assert quad_count(store) == before
    assert [d.source for d in store.dumps()] == [str(demo_files[0])]


def test_a_failed_reload_keeps_the_previous_graph(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"type": "task", "workflow_id": "w", "task_id": "t"}\n')
    first = load_file(store, path)
    path.write_text('{"type": "task", "workflow_id": "w", "task_id": "t2"}\n{"type": "task"}\n')
    with pytest.raises(EventError, match=":2:"):
        load_file(store, path)
    assert graph_size(store, first.graph) == first.triples
    assert store.dump(first.graph).triples == first.triples


def test_drop_removes_a_dump_but_keeps_others(store: Store, demo_files: list[Path]) -> None:
    a, b = (load_file(store, path) for path in demo_files[:2])
    info = store.drop(a.graph)
    assert info.graph == a.graph
    assert [d.graph for d in store.dumps()] == [b.graph]
    assert graph_size(store, a.graph) == 0 and graph_size(store, b.graph) == b.triples
    with pytest.raises(StoreError, match="no such dump graph"):
        store.drop(a.graph)


def test_a_second_writer_gets_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="in use by another process"):
        Store(store.path)


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("trig", "trig"), ("nquads", "nquads"), ("jsonld", "json-ld")])
def test_exported_datasets_parse_back_with_rdflib(demo_store: Store, fmt: str, rdflib_format: str) -> None:
    buffer = io.BytesIO()
    demo_store.export(buffer, fmt)
    dataset = rdflib.Dataset()
    dataset.parse(data=buffer.getvalue(), format=rdflib_format)
    assert len(list(dataset.quads((None, None, None, None)))) == quad_count(demo_store)


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("turtle", "turtle"), ("ntriples", "nt"), ("rdfxml", "xml")])
def test_triple_formats_export_one_graph_or_the_union(demo_store: Store, fmt: str, rdflib_format: str) -> None:
    dump = demo_store.dumps()[0]
    buffer = io.BytesIO()
    demo_store.export(buffer, fmt, graph=dump.graph)
    assert len(rdflib.Graph().parse(data=buffer.getvalue(), format=rdflib_format)) == dump.triples
    buffer = io.BytesIO()
    demo_store.export(buffer, fmt)
    (row,) = demo_store.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }")
    assert len(rdflib.Graph().parse(data=buffer.getvalue(), format=rdflib_format)) == row[0].python()


def test_export_of_an_unknown_graph_or_format_is_an_error(demo_store: Store) -> None:
    with pytest.raises(StoreError, match="no such graph"):
        demo_store.export(io.BytesIO(), "trig", graph="urn:nothing")
    with pytest.raises(StoreError, match="unknown export format 'csv'"):
        demo_store.export(io.BytesIO(), "csv")


def test_stats_count_the_main_things(demo_store: Store) -> None:
    from conftest import DEMO_EPOCHS, DEMO_RUNS

    counts = demo_store.stats()
    assert counts["dumps"] == DEMO_RUNS + 3
    assert counts["named graphs"] == DEMO_RUNS + 3 + 2  # dumps, shared, catalog
    assert counts["Model"] == DEMO_RUNS - 1  # run 5 crashes (see provml.demo.plan_runs)
    assert counts["HyperparameterSetting"] == 5 * DEMO_RUNS


@pytest.mark.slow
def test_a_load_killed_midway_leaves_earlier_graphs_and_no_partial_graph(tmp_path: Path, demo_files: list[Path]) -> None:
    path = tmp_path / "store"
    with Store(path) as db:
        earlier = load_file(db, demo_files[0])
        before = quad_count(db)
    big = next(f for f in write_lifecycle(tmp_path / "big", runs=1, epochs=8000) if f.name == "train-000.jsonl")
    process = subprocess.Popen(
        [sys.executable, "-m", "provml", "load", str(big), "--store", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
    )
    deadline, size = time.monotonic() + 120, big.stat().st_size
    try:
        while time.monotonic() < deadline and process.poll() is None:
            io_stats = dict(line.split(": ") for line in Path(f"/proc/{process.pid}/io").read_text().splitlines())
            if int(io_stats["rchar"]) > size * 0.6:  # well past the first bulk-loaded chunk
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the load ended before it was killed: {process.stderr.read()!r}"
    with Store(path) as db:
        assert [d.graph for d in db.dumps()] == [earlier.graph]
        assert graph_size(db, earlier.graph) == earlier.triples
        assert quad_count(db) == before
        assert not db.query("ASK { GRAPH ?g { ?s provml:loadState 'loading' } }")
        again = load_file(db, big)
    with Store() as fresh:
        assert load_file(fresh, big).triples == again.triples


def test_the_store_path_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from provml.store import default_store_path

    monkeypatch.setenv("PROVML_STORE", str(tmp_path / "elsewhere"))
    assert default_store_path() == tmp_path / "elsewhere"
    monkeypatch.delenv("PROVML_STORE")
    assert default_store_path() == Path("provml-store")
    assert os.sep not in str(default_store_path())
