"""Benchmark data: a demo lifecycle sized to a target triple count, loaded by provml, exported, re-laid out.

The lifecycle is :func:`provml.demo.write_lifecycle` with :data:`EPOCHS` epochs per training run;
the number of runs is chosen so that the provml store holds about the target number of quads.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from provml import loaders
from provml.demo import best_run, plan_runs, write_lifecycle
from provml.ids import IriMinter
from provml.loading import load_paths
from provml.store import Store

EPOCHS = 50
SEED = 7
Node = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | ox.DefaultGraph
_CALIBRATION_RUNS = (7, 14)  # one period of the demo's failing runs apart, so the slope is an average run


@dataclass(frozen=True)
class Lifecycle:
    """Event files of one lifecycle and what the lineage query asks about."""

    directory: Path
    runs: int

    @property
    def deployed_model(self) -> str:
        """The IRI (in angle brackets) of the model the lifecycle deploys."""
        return f"<urn:provml:model/{best_run(plan_runs(self.runs, SEED)).model_id}>"


def event_files(directory: Path) -> list[Path]:
    """Return the event files under ``directory`` in the order ``provml load DIR`` loads them."""
    extensions = loaders.get("events").extensions
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name.lower().endswith(extensions))


def load_lifecycle(directory: Path, store: Store) -> None:
    """Load every event file under ``directory`` as ``provml load --no-validate DIR`` does: the load alone."""
    outcomes = load_paths(store, [directory], check=False)
    failed = [o for o in outcomes if o.error is not None]
    assert not failed, failed[0].error


def _stored_quads(runs: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        write_lifecycle(Path(tmp), runs=runs, epochs=EPOCHS, seed=SEED)
        store = Store()
        load_lifecycle(Path(tmp), store)
        return int(store.stats()["quads"])


def runs_for(size: int) -> int:
    """Return the number of training runs whose lifecycle stores about ``size`` quads."""
    low, high = _CALIBRATION_RUNS
    small, large = _stored_quads(low), _stored_quads(high)
    per_run = (large - small) / (high - low)
    return max(1, round(low + (size - small) / per_run))


def write(directory: Path, size: int) -> Lifecycle:
    """Write (afresh) a lifecycle of about ``size`` stored quads into ``directory``."""
    shutil.rmtree(directory, ignore_errors=True)
    runs = runs_for(size)
    write_lifecycle(directory, runs=runs, epochs=EPOCHS, seed=SEED)
    return Lifecycle(directory, runs)


def export_nquads(store_path: Path, output: Path) -> None:
    """Write every quad of the provml store at ``store_path`` to one N-Quads file."""
    with Store(store_path) as store, output.open("wb") as stream:
        store.export(stream, "nquads")


def _parse(path: Path) -> ox.QuadParser:
    return ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)


def _bulk_extend(store_path: Path, quads: Iterable[ox.Quad]) -> None:
    store = ox.Store(str(store_path))
    store.bulk_extend(quads)
    store.flush()


def build_naive(nquads: Path, store_path: Path) -> None:
    """Store the data as a loader without a shared graph would: each dump graph repeats what it mentions.

    Every shared-graph triple whose subject occurs (as subject or object) in a dump graph is
    copied into that dump graph; the original quads are all kept.
    """
    ids = IriMinter()
    shared, catalog = ox.NamedNode(ids.shared_graph), ox.NamedNode(ids.catalog_graph)
    described: dict[Node, list[ox.Triple]] = defaultdict(list)
    for quad in _parse(nquads):
        if quad.graph_name == shared:
            described[quad.subject].append(quad.triple)
    mentioned: dict[Node, set[Node]] = defaultdict(set)
    for quad in _parse(nquads):
        if quad.graph_name not in (shared, catalog):
            mentioned[quad.graph_name].update(t for t in (quad.subject, quad.object) if t in described)

    def quads() -> Iterator[ox.Quad]:
        yield from _parse(nquads)
        for graph, things in mentioned.items():
            for thing in things:
                for triple in described[thing]:
                    yield ox.Quad(triple.subject, triple.predicate, triple.object, graph)

    _bulk_extend(store_path, quads())


def build_single(nquads: Path, store_path: Path) -> None:
    """Store every triple in the default graph (graph names dropped)."""
    _bulk_extend(store_path, (ox.Quad(q.subject, q.predicate, q.object) for q in _parse(nquads)))
