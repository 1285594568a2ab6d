"""Entailment: provml's entailment graph computed whole against owlrl's OWL 2 RL closure, and kept up after a load.

The data is a demo lifecycle (:func:`data.write`) loaded into an on-disk store without validation, with the
demo's ontologies linked (:func:`provml.demo.link_demo`, which computes the entailment graph once). Each
sample runs in a fresh interpreter (``_worker.py``), the provml ones on a fresh copy of that store:

* ``entail STORE``: :func:`provml.entailment.refresh`, the entailment graph computed whole;
* ``owlrl ASSERTED ENTAILED BUDGET``: ``owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand`` of an rdflib
  Graph of the store's asserted triples, stopped after BUDGET seconds; then the triples of provml's
  entailment graph (blank nodes left out) that the closure lacks;
* ``entail-load STORE RUN``: a load of one more training run, then the entailment it adds
  (:func:`provml.entailment.refresh_if_kept`), then the entailment computed whole again.

Samples are taken round-robin; owlrl is not run again once it was stopped.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import data
from validation import Samples

from provml.demo import link_demo
from provml.store import Store

DIVISOR = 10  # the data is a tenth of the target size
BUDGET_S = 600.0  # an owlrl closure is stopped after this (--owlrl-budget)...
QUICK_BUDGET_S = 20.0  # ...and with --quick
SETUP_S = 600.0  # what an owlrl sample may take besides its closure: parsing, the check
RUN_FILE = "train-000.jsonl"  # the run copied as one more (run 0 neither fails nor fine-tunes another)

# (worker arguments..., timeout=seconds) -> the worker's answer; raises subprocess.TimeoutExpired
Worker = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Prepared:
    """The linked store and the files the samples read."""

    store: Path
    asserted: Path  # N-Triples: the union of the store's graphs but the entailment graph: owlrl's input
    entailed: Path  # N-Triples: the entailment graph, as provml computed it when linking
    run: Path  # one more training run, as an event file
    runs: int  # training runs in the lifecycle
    lifecycle_quads: int  # the store's quads before the ontologies were linked
    ontology_triples: int
    asserted_triples: int  # distinct
    entailed_triples: int


@dataclass
class Result:
    """What the samples measured: provml's and owlrl's whole entailment, and the load of one more run."""

    prepared: Prepared
    budget: float
    provml: Samples = field(default_factory=lambda: Samples("provml"))
    owlrl: Samples = field(default_factory=lambda: Samples("owlrl"))
    loads: list[dict[str, Any]] = field(default_factory=list)


def new_run(run_file: Path, target: Path) -> Path:
    """Copy a training run's event file to ``target`` with its task and model ids changed: a run the store lacks."""
    text = run_file.read_text().replace("train-000", "train-extra").replace("unet-000", "unet-extra")
    target.write_text(text)
    return target


def prepare(work: Path, target: int) -> Prepared:
    """Load a lifecycle of about ``target`` quads into a fresh store, link the demo's ontologies to it, and write
    the store's asserted triples, its entailment graph and one more run to files."""
    lifecycle = data.write(work / "entailment-lifecycle", target)
    path, asserted, entailed = work / "entailment-store", work / "entailment-asserted.nt", work / "entailment-provml.nt"
    shutil.rmtree(path, ignore_errors=True)
    with Store(path) as store:
        data.load_lifecycle(lifecycle.directory, store)
        quads = len(store.oxigraph)
        linked = link_demo(store)
        with asserted.open("wb") as output:
            store.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", entailed=False).serialize(output, "ntriples")
        with entailed.open("wb") as output:
            store.export(output, "ntriples", graph=store.ids.entailed_graph)
        count = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
        ((distinct,),) = store.query(count, entailed=False).rows()
    run = new_run(lifecycle.directory / RUN_FILE, work / "entailment-run.jsonl")
    ontology = sum(load.triples for load in linked.loads)
    counts = (quads, ontology, int(distinct.value), linked.entailment.triples)
    return Prepared(path, asserted, entailed, run, lifecycle.runs, *counts)


def _copy(store: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(store, target)
    return target


def _owlrl(worker: Worker, prepared: Prepared, budget: float, log: Callable[[str], None]) -> dict[str, Any] | None:
    """Take one owlrl sample; None when it ran over ``budget`` seconds and was stopped."""
    args = ("owlrl", str(prepared.asserted), str(prepared.entailed), str(budget))
    try:  # the worker stops its closure itself at the budget; the timeout bounds the rest
        answer = worker(*args, timeout=budget + SETUP_S)
    except subprocess.TimeoutExpired:
        answer = {"timed_out": True}
    if answer["timed_out"]:
        log(f"owlrl: stopped after {budget:g} s")
        return None
    assert answer["given"] == prepared.asserted_triples, "owlrl must start from the triples provml holds"
    log(f"owlrl: {answer['seconds']:.2f} s, {answer['derived']:,} derived, lacks {answer['missing']} of provml's")
    return answer


def measure(work: Path, size: int, repeat: int, budget: float, worker: Worker, log: Callable[[str], None]) -> Result:
    """Prepare the data at a tenth of ``size`` and take ``repeat`` rounds of samples."""
    log(f"entailment: a lifecycle of ~{size // DIVISOR:,} quads, the demo's ontologies linked")
    result = Result(prepare(work, size // DIVISOR), budget)
    prepared, copy = result.prepared, work / "entailment-sample-store"
    for round_ in range(repeat):
        log(f"entailment samples, round {round_ + 1}/{repeat}")
        answer = worker("entail", str(_copy(prepared.store, copy)))
        assert answer["triples"] == prepared.entailed_triples, "refresh must derive what the link derived"
        result.provml.answers.append(answer)
        log(f"provml refresh: {answer['seconds']:.2f} s, {answer['triples']:,} triples derived")
        if not result.owlrl.stopped:
            if (answer := _owlrl(worker, prepared, budget, log)) is None:
                result.owlrl.stopped = f"stopped after {budget:g} s"
            else:
                result.owlrl.answers.append(answer)
        load = worker("entail-load", str(_copy(prepared.store, copy)), str(prepared.run))
        result.loads.append(load)
        times = (load[key] for key in ("load_s", "incremental_s", "whole_s"))
        log("one-run load {:.2f} s, then entailment incremental {:.2f} s, whole {:.2f} s".format(*times))
    for path in (prepared.store, copy):
        shutil.rmtree(path)
    return result
