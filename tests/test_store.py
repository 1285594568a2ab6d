"""The store facade: atomic loads, reloads, recovery after a kill, catalog, export."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from conftest import load_file

from provml import loaders
from provml.demo import write_lifecycle
from provml.errors import EventError, StoreError
from provml.linking import linked
from provml.loading import load_paths
from provml.store import CHUNK_QUADS, Dump, Store


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
    assert (info.graph, info.source, info.loader, info.triples) == (
        result.graph,
        str(demo_files[0]),
        "events",
        result.triples,
    )
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
        store.load(
            get("events").read(bad, store.ids, graph),
            graph=graph,
            source=str(bad),
            loader="events",
            sha256="x",
            on_chunk=written.append,
        )
    assert sum(written) >= CHUNK_QUADS, "the error must come after at least one chunk was stored"
    assert str(caught.value).startswith(
        f"{bad}:{len(lines) + 1}: metric record: missing required fields value, timestamp"
    )
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
    (row,) = demo_store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
    )
    assert len(rdflib.Graph().parse(data=buffer.getvalue(), format=rdflib_format)) == row[0].python()


def test_export_of_an_unknown_graph_or_format_is_an_error(demo_store: Store) -> None:
    with pytest.raises(StoreError, match="no such graph"):
        demo_store.export(io.BytesIO(), "trig", graph="urn:nothing")
    with pytest.raises(StoreError, match="unknown export format 'csv'"):
        demo_store.export(io.BytesIO(), "csv")


def test_stats_count_the_main_things(demo_store: Store) -> None:
    from conftest import DEMO_RUNS

    counts = demo_store.stats()
    ontologies = len(linked(demo_store))  # PROV-O, ML Schema, PROV-ML, their alignment, the demo's geology
    assert ontologies == 5
    assert counts["dumps"] == DEMO_RUNS + 3 + ontologies
    assert counts["named graphs"] == counts["dumps"] + 3  # and the shared, catalog and entailment graphs
    assert counts["Model"] == DEMO_RUNS - 1  # run 5 crashes (see provml.demo.plan_runs)
    assert counts["HyperparameterSetting"] == 5 * DEMO_RUNS


def dump_of(store: Store, path: Path) -> Dump:
    graph = store.ids.dump_graph(path)
    return Dump(
        graph, loaders.get("events").read(path, store.ids, graph), str(path), "events", loaders.file_sha256(path)
    )


def test_a_bad_dump_amid_a_batch_of_small_dumps_is_the_only_one_left_out(
    store: Store, demo_files: list[Path], long_run: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"  # long enough that part of it is written, with other dumps, before its error
    bad.write_bytes(long_run.read_bytes() + b'{"type": "param"}\n')
    sources = [*demo_files[:3], bad, *demo_files[3:6]]
    results = dict((d.source, r) for d, r in store.load_many(dump_of(store, p) for p in sources))
    assert isinstance(results[str(bad)], EventError) and str(results[str(bad)]).startswith(f"{bad}:")
    good = [str(p) for p in sources if p != bad]
    assert sorted(d.source for d in store.dumps()) == sorted(good)
    with Store() as alone:  # the good dumps hold exactly what they hold when loaded on their own
        for path in sources:
            if path != bad:
                load_file(alone, path)
        assert quad_count(alone) == quad_count(store)


def test_the_same_dump_twice_in_one_load_is_loaded_once(store: Store, demo_files: list[Path]) -> None:
    results = [r for _, r in store.load_many(dump_of(store, p) for p in (demo_files[0], demo_files[0]))]
    assert [r.skipped for r in results] == [False, True]
    assert len(store.dumps()) == 1


def test_an_interrupt_mid_batch_leaves_only_committed_dumps(store: Store, demo_files: list[Path]) -> None:
    load_file(store, demo_files[0])
    before = quad_count(store)

    def interrupted() -> object:
        yield from loaders.get("events").read(demo_files[1], store.ids, "urn:provml:graph/x")
        raise KeyboardInterrupt

    sources = [dump_of(store, demo_files[2]), Dump("urn:provml:graph/x", interrupted(), "x", "events", "0")]
    with pytest.raises(KeyboardInterrupt):
        list(store.load_many(sources))
    assert quad_count(store) == before and len(store.dumps()) == 1


def test_a_consumer_that_stops_reading_results_keeps_what_was_committed(store: Store, demo_files: list[Path]) -> None:
    results = store.load_many(dump_of(store, p) for p in demo_files[:4])
    first, _ = next(results)  # the first batch commits all four small dumps together
    results.close()  # the caller stops listening: nothing committed may be undone
    assert first.source == str(demo_files[0])
    assert sorted(d.source for d in store.dumps()) == sorted(str(p) for p in demo_files[:4])


def kill_after_a_bulk_write(command: list[str], store: Path, cwd: Path) -> None:
    """Run ``command`` and SIGKILL it just after it ingested bulk-loaded data (bounded: 120 s).

    Oxigraph writes a bulk load as ``bulk-*.sst`` files that RocksDB renames to numbered SST files
    when it ingests them: new numbered files with no bulk file in flight mean data went in.
    """
    baseline = {p.name for p in store.glob("*.sst")}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            names = {p.name for p in store.glob("*.sst")}
            if any(n.startswith("bulk-") for n in names):
                continue
            if len(names - baseline) >= 2:  # a memtable flush makes one; an ingestion makes one per index
                break
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the load ended before it was killed: {process.stderr.read()!r}"


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["one large file", "a directory of small files"])
def test_a_load_killed_midway_leaves_whole_graphs_only(tmp_path: Path, demo_files: list[Path], shape: str) -> None:
    path = tmp_path / "store"
    with Store(path) as db:
        earlier = load_file(db, demo_files[0])
    if shape == "one large file":
        target = next(f for f in write_lifecycle(tmp_path / "big", runs=1, epochs=8000) if f.name == "train-000.jsonl")
    else:
        write_lifecycle(tmp_path / "big", runs=160, epochs=40)
        target = tmp_path / "big"
    kill_after_a_bulk_write([sys.executable, "-m", "provml", "load", str(target), "--store", str(path)], path, tmp_path)
    if shape == "one large file":  # the kill left part of the dump in the store, for recovery to remove
        raw = pyoxigraph.Store(str(path))
        (row,) = raw.query(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?c { ?g provml:loadState 'loading' } GRAPH ?g { ?s ?p ?o } }",
            prefixes={"provml": "https://w3id.org/provml#"},
        )
        assert int(row[0].value) > 0
        del raw
    with Store(path) as db:
        dumps = db.dumps()
        assert earlier.graph in [d.graph for d in dumps] and graph_size(db, earlier.graph) == earlier.triples
        assert all(graph_size(db, d.graph) == d.triples for d in dumps), "a catalogued dump is incomplete"
        graphs = {row[0].value for row in db.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
        assert graphs == {d.graph for d in dumps} | {db.ids.shared_graph, db.ids.catalog_graph}, (
            "a partial graph is left"
        )
        if shape == "one large file":
            assert len(dumps) == 1
        again = {o.path.name: o.result.triples for o in load_paths(db, [target], check=False) if o.result}
        total = quad_count(db)
    with Store() as fresh:
        load_file(fresh, demo_files[0])
        # what the killed load left out loads the same as into a fresh store (validation is not tested here)
        assert {o.path.name: o.result.triples for o in load_paths(fresh, [target], check=False) if o.result} == again
        assert quad_count(fresh) == total


def test_the_store_path_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from provml.store import default_store_location

    monkeypatch.setenv("PROVML_STORE", str(tmp_path / "elsewhere"))
    assert default_store_location() == str(tmp_path / "elsewhere")
    monkeypatch.delenv("PROVML_STORE")
    assert default_store_location() == "provml-store"
    assert os.sep not in default_store_location()


def test_a_dump_with_many_shared_triples_spills_them_and_loads_the_same(
    monkeypatch: pytest.MonkeyPatch, demo_files: list[Path], tmp_path: Path
) -> None:
    def content(store: Store) -> set[str]:  # every quad but the catalog's (its load times differ)
        return {str(q) for q in store._store if q.graph_name != store._catalog}

    with Store() as held:
        assert load_file(held, demo_files[0]).shared_triples > 3
        expected = content(held)
    monkeypatch.setattr("provml.store.SHARED_HELD", 3)  # every shared triple past the third goes to a file
    with Store() as spilled:
        load_file(spilled, demo_files[0])
        assert content(spilled) == expected
    bad = tmp_path / "bad.jsonl"  # many shared triples, then a malformed record: none of them may stay
    bad.write_bytes(demo_files[0].read_bytes() + b'{"type": "param"}\n')
    with Store() as failed:
        assert isinstance(load_paths(failed, [bad])[0].error, EventError)
        assert failed.stats()["quads"] == 0


class _CountingCompactions:
    """Stands in for a store's pyoxigraph Store: counts optimize() calls, passes everything on."""

    def __init__(self, inner: pyoxigraph.Store) -> None:
        self.inner, self.compactions = inner, 0

    def optimize(self) -> None:
        self.compactions += 1
        self.inner.optimize()

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_big_load_compacts_an_on_disk_store_at_its_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lifecycle = sorted((Path(__file__).parent / "fixtures" / "lifecycle").glob("*.jsonl"))
    with Store(tmp_path / "store") as store:
        counting = store._store = _CountingCompactions(store._store)  # type: ignore[assignment]
        load_paths(store, lifecycle[:1])
        assert counting.compactions == 0, "a small load leaves compaction to RocksDB"
        monkeypatch.setattr("provml.store.COMPACT_AFTER", 10)
        outcomes = load_paths(store, lifecycle[1:])
        assert all(o.error is None for o in outcomes) and counting.compactions == 1, "once, after the last dump"
        load_paths(store, lifecycle[1:])  # already loaded: nothing written
        assert counting.compactions == 1
    with Store() as memory:
        counting = memory._store = _CountingCompactions(memory._store)  # type: ignore[assignment]
        load_paths(memory, lifecycle)
        assert counting.compactions == 0, "nothing to compact in memory"


def test_a_query_that_names_its_dataset_reads_only_those_graphs(store: Store) -> None:
    store.add_rdf(b"<urn:d1> a <urn:Document> .", "turtle", graph="urn:g1")
    store.add_rdf(b"<urn:d2> a <urn:Document> .", "turtle", graph="urn:g2")
    assert bool(store.query("ASK { <urn:d2> a <urn:Document> }"))  # the union, by default
    assert not bool(store.query("ASK FROM <urn:g1> { <urn:d2> a <urn:Document> }"))
    assert bool(store.query("ASK FROM <urn:g1> FROM <urn:g2> { <urn:d1> a ?t . <urn:d2> a ?t }"))
    named = "SELECT ?g FROM NAMED <urn:g2> WHERE { GRAPH ?g { ?s a <urn:Document> } }"
    assert [row[0].value for row in store.query(named)] == ["urn:g2"]
