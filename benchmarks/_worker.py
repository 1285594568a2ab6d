"""One benchmark sample in a fresh interpreter; prints one JSON object on stdout.

    python _worker.py provml LIFECYCLE_DIR STORE   # provml load of every event file, then close
    python _worker.py load   SOURCE STORE          # provml load of one source (any format), then close
    python _worker.py bulk   RDF_FILE STORE [GRAPH]   # pyoxigraph bulk_load (into GRAPH) + flush
    python _worker.py rdflib NQUADS                # rdflib Dataset.parse
    python _worker.py lineage SPEC_JSON            # lineage query latency on several stores
    python _worker.py capture REPEAT ROUNDS        # capture cost per log_metric and on a training loop
    python _worker.py validate STORE ENGINE        # validate the store with the shipped shapes (fast, pyshacl)
    python _worker.py queries ENGINE SOURCE SPEC_FILE   # canned-query latency: provml STORE or rdflib NQUADS
    python _worker.py entail STORE                 # compute the store's entailment graph whole (refresh)
    python _worker.py owlrl ASSERTED_NT ENTAILED_NT BUDGET   # owlrl's OWL 2 RL closure, stopped after BUDGET s
    python _worker.py entail-load STORE RUN_FILE   # load one run, then the entailment it adds, then all of it

Load samples report ``seconds`` (timed after the imports), ``quads`` (None for rdflib),
``peak_rss_mb`` (this process's peak resident set when the timed work ends) and ``base_rss_mb``
(its resident set after the imports, before the timed work). Validation samples report the same
(``base_rss_mb`` with the store open) and a summary of the report (``validation.summary``). Entailment
samples report their times and the triples derived (see :mod:`entailment`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

QUERY_SAMPLES = 50  # at most this many timed queries per layout...
QUERY_BUDGET_S = 20.0  # ...or as many as fit in this many seconds
QUERY_WARMUPS = 2
OWLRL_ERROR = "http://www.daml.org/2002/03/agents/agent-ont#error"  # the predicate of what owlrl rejects


def _rss_mb(field: str) -> float:
    """Return this process's ``VmRSS`` (now) or ``VmHWM`` (peak).

    Not ``ru_maxrss``: Linux keeps the parent's peak in it across fork + exec.
    """
    status = Path("/proc/self/status").read_text().split()
    return int(status[status.index(field + ":") + 1]) / 1024  # kB


def _count(store: Path) -> int:
    import pyoxigraph as ox

    return len(ox.Store(str(store)))


def _provml(lifecycle: str, store: str) -> Callable[[], None]:
    from data import load_lifecycle

    from provml.store import Store

    def run() -> None:
        with Store(store) as opened:
            load_lifecycle(Path(lifecycle), opened)

    return run


def _load(source: str, store: str) -> Callable[[], None]:
    from provml.loading import load_paths
    from provml.store import Store

    def run() -> None:
        with Store(store) as opened:
            (outcome,) = load_paths(opened, [source if "://" in source else Path(source)], check=False)
            assert outcome.error is None, outcome.error

    return run


def _bulk(rdf_file: str, store: str, graph: str | None = None) -> Callable[[], None]:
    import pyoxigraph as ox

    rdf_format = ox.RdfFormat.from_extension(Path(rdf_file).suffix[1:])
    to_graph = ox.NamedNode(graph) if graph else None

    def run() -> None:
        opened = ox.Store(store)
        opened.bulk_load(path=rdf_file, format=rdf_format, to_graph=to_graph)
        opened.flush()

    return run


def _rdflib(nquads: str) -> Callable[[], None]:
    from rdflib import Dataset

    kept: list[Dataset] = []

    def run() -> None:
        dataset = Dataset()
        dataset.parse(nquads, format="nquads")
        kept.append(dataset)  # freeing it is not part of parsing

    return run


def load_sample(method: str, args: list[str]) -> dict[str, Any]:
    """Time one load; the store (if any) is released before the clock stops."""
    prepare = {"provml": _provml, "load": _load, "bulk": _bulk, "rdflib": _rdflib}[method]
    run = prepare(*args)
    base = _rss_mb("VmRSS")
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    peak = _rss_mb("VmHWM")
    quads = _count(Path(args[1])) if len(args) > 1 else None
    return {"seconds": seconds, "quads": quads, "peak_rss_mb": peak, "base_rss_mb": base}


def lineage(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the lineage query on each layout, round-robin: warm-ups, then bounded samples.

    ``spec`` holds ``query``, ``model`` and ``layouts``: a list of [name, store path, union default graph].
    """
    from provml.store import Store

    stores = {name: (Store(path), union) for name, path, union in spec["layouts"]}
    result: dict[str, Any] = {}
    for name, (store, union) in stores.items():
        assert store.query(f"ASK {{ {spec['model']} ?p ?o }}", union=union), f"{spec['model']} not in {name}"
        rows = [tuple(t.value if t else None for t in row) for row in store.query(spec["query"], union=union)]
        result[name] = {
            "rows": len(rows),
            "distinct_rows": sorted(set(rows)),
            "quads": store.stats()["quads"],
            "samples_ms": [],
            "spent_s": 0.0,
        }
    for _ in range(QUERY_WARMUPS - 1):  # the query above was the first warm-up
        for store, union in stores.values():
            store.query(spec["query"], union=union).rows()
    active = list(stores)
    while active:
        for name in list(active):
            store, union = stores[name]
            started = time.perf_counter()
            store.query(spec["query"], union=union).rows()
            elapsed = time.perf_counter() - started
            entry = result[name]
            entry["samples_ms"].append(elapsed * 1000)
            entry["spent_s"] += elapsed
            if len(entry["samples_ms"]) >= QUERY_SAMPLES or entry["spent_s"] >= QUERY_BUDGET_S:
                active.remove(name)
    return result


def validate_sample(store: str, engine: str) -> dict[str, Any]:
    """Time one validation of the whole store; the shapes and the ontology are read before the clock starts."""
    from validation import summary

    from provml.store import Store
    from provml.validation import ontology_graph, shipped_shapes, validate

    shapes = shipped_shapes()
    ontology_graph()  # read once per process by either engine
    with Store(store) as opened:
        base = _rss_mb("VmRSS")
        started = time.perf_counter()
        report = validate(opened, shapes, engine=engine)
        seconds = time.perf_counter() - started
        peak = _rss_mb("VmHWM")
    return {"seconds": seconds, "peak_rss_mb": peak, "base_rss_mb": base, **summary(report)}


def canned_queries(engine: str, source: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Time the canned queries of ``spec`` (``queries``: name -> text, ``limits``) on a provml store, or on
    rdflib with the N-Quads file."""
    from canned_queries import Limits, time_queries

    queries, limits = spec["queries"], Limits(*spec["limits"])
    if engine == "provml":
        from provml.store import Store

        store = Store(source)
        return time_queries(lambda text: len(store.query(text).rows()), queries, limits, stoppable=False)
    from rdflib import Dataset

    dataset = Dataset(default_union=True)
    dataset.parse(source, format="nquads")
    return time_queries(lambda text: len(list(dataset.query(text))), queries, limits, stoppable=True)


def entail_sample(store: str) -> dict[str, Any]:
    """Time the entailment graph of ``store`` computed whole."""
    from provml.entailment import refresh
    from provml.store import Store

    with Store(store) as opened:
        started = time.perf_counter()
        entailment = refresh(opened)
        seconds = time.perf_counter() - started
        peak = _rss_mb("VmHWM")
    return {"seconds": seconds, "triples": entailment.triples, "rounds": entailment.rounds, "peak_rss_mb": peak}


def _stop_after(budget: float, started: float) -> None:
    """Answer ``timed_out`` and exit once ``budget`` seconds have passed since ``started``, whatever runs then."""

    def stop(*_: object) -> None:
        print(json.dumps({"timed_out": True, "seconds": time.perf_counter() - started}), flush=True)
        os._exit(0)

    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, budget)


def owlrl_sample(asserted: str, entailed: str, budget: str) -> dict[str, Any]:
    """Time owlrl's OWL 2 RL closure of the triples of ``asserted``, stopped after ``budget`` seconds; then list
    the triples of ``entailed`` (provml's entailment graph, blank nodes left out) that the closure lacks."""
    import owlrl
    from rdflib import OWL, BNode, Graph, URIRef

    graph = Graph().parse(asserted, format="nt")
    given = len(graph)
    started = time.perf_counter()
    _stop_after(float(budget), started)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    seconds = time.perf_counter() - started
    signal.setitimer(signal.ITIMER_REAL, 0)
    peak = _rss_mb("VmHWM")
    provml = [t for t in Graph().parse(entailed, format="nt") if not any(isinstance(term, BNode) for term in t)]
    missing = sorted(" ".join(term.n3() for term in t) + " ." for t in provml if t not in graph)
    errors = sorted(str(message) for message in graph.objects(None, URIRef(OWLRL_ERROR)))
    return {
        "timed_out": False,
        "seconds": seconds,
        "peak_rss_mb": peak,
        "given": given,
        "derived": len(graph) - given,
        "same_as_itself": sum(1 for s, _, o in graph.triples((None, OWL.sameAs, None)) if s == o),
        "errors": len(errors),
        "error": errors[0] if errors else None,
        "compared": len(provml),
        "missing": len(missing),
        "examples": missing[:5],
    }


def entail_load_sample(store: str, run_file: str) -> dict[str, Any]:
    """Time the load of ``run_file`` into ``store`` (no validation, no entailment), then the entailment it adds
    (``refresh_if_kept``), then the entailment graph computed whole; check both give the same graph."""
    import pyoxigraph as ox

    from provml.entailment import refresh, refresh_if_kept
    from provml.loading import find_sources, source_label
    from provml.store import Dump, LoadResult, Store

    def entailed_graph() -> set[ox.Quad]:
        return set(opened.oxigraph.quads_for_pattern(None, None, None, ox.NamedNode(opened.ids.entailed_graph)))

    with Store(store) as opened:
        started = time.perf_counter()
        ((source, loader),) = find_sources([Path(run_file)])
        graph = opened.ids.dump_graph(source)
        content = loader.read(source, opened.ids, graph)
        ((_, loaded),) = opened.load_many(
            [Dump(graph, content, source_label(source), loader.name, loader.fingerprint(source))]
        )
        loaded_at = time.perf_counter()
        assert isinstance(loaded, LoadResult), loaded
        incremental = refresh_if_kept(opened)
        extended_at = time.perf_counter()
        assert incremental is not None and incremental.full is False, incremental
        extended = entailed_graph()
        started_whole = time.perf_counter()
        whole = refresh(opened)
        seconds_whole = time.perf_counter() - started_whole
        same = extended == entailed_graph()
    return {
        "load_s": loaded_at - started,
        "load_triples": loaded.triples,
        "incremental_s": extended_at - loaded_at,
        "incremental_triples": incremental.triples,
        "whole_s": seconds_whole,
        "whole_triples": whole.triples,
        "same_graph": same,
    }


def main(argv: list[str]) -> None:
    method, *args = argv
    if method == "lineage":
        result = lineage(json.loads(args[0]))
    elif method == "capture":
        from capture import measure

        result = measure(int(args[0]), int(args[1]))
    elif method == "validate":
        result = validate_sample(*args)
    elif method == "queries":
        result = canned_queries(args[0], args[1], json.loads(Path(args[2]).read_text()))
    elif method == "entail":
        result = entail_sample(*args)
    elif method == "owlrl":
        result = owlrl_sample(*args)
    elif method == "entail-load":
        result = entail_load_sample(*args)
    else:
        result = load_sample(method, args)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
