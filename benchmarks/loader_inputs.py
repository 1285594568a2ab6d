"""Loader benchmarks: RDF files against pyoxigraph's raw ``bulk_load``, and every loader's memory at two sizes.

RDF inputs come from the N-Quads export of the main benchmark's provml store: ``foreign.nq`` (its graphs
renamed out of provml's namespace, as a dump from another tool would name them) and ``union.ttl`` (the
triples of all its graphs, as Turtle). Other loaders make their inputs with ``inputs_<name>.py``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from provml.loading import load_paths
from provml.store import Store

RDF_GRAPH = "https://example.org/graph/dump"  # where raw bulk_load puts a Turtle file: in a graph, as provml does
LOADER_INPUTS = (  # (row name, module benchmarks/inputs_<module>.py, arguments of its make_source)
    ("prov (PROV-JSON)", "prov", {}),
    ("prov (PROV-XML)", "prov", {"syntax": "xml"}),
    ("prov (PROV-N)", "prov", {"syntax": "provn"}),
    ("yprov4ml", "yprov4ml", {}),
    ("mlflow", "mlflow", {}),
    ("flowcept", "flowcept", {}),
    ("notebook", "notebook", {}),
)


def _foreign_lines(nquads: Path, quads: int) -> Iterator[str]:
    with nquads.open(encoding="utf-8") as lines:
        for line in islice(lines, quads):
            yield line.replace("<urn:provml:graph/", "<https://example.org/graph/")


def rdf_inputs(nquads: Path, directory: Path, quads: int) -> dict[str, Path]:
    """Write ``foreign.nq`` and ``union.ttl`` from the first ``quads`` lines of ``nquads``."""
    directory.mkdir(parents=True, exist_ok=True)
    nq, ttl = directory / "foreign.nq", directory / "union.ttl"
    with nq.open("w", encoding="utf-8") as out:
        out.writelines(_foreign_lines(nquads, quads))
    triples = (quad.triple for quad in ox.parse(path=nq, format=ox.RdfFormat.N_QUADS))
    ox.serialize(triples, ttl, ox.RdfFormat.TURTLE, prefixes={"provml": "https://w3id.org/provml#"})
    return {"ttl": ttl, "nq": nq}


def make_all(directory: Path, triples: int) -> dict[str, Path | str]:
    """Make one source of about ``triples`` triples for each loader whose inputs module can run here."""
    sources = {}
    for name, module_name, arguments in LOADER_INPUTS:
        try:
            module = importlib.import_module(f"inputs_{module_name}")
        except ModuleNotFoundError as error:  # the loader's own dependencies (e.g. mlflow) are missing
            print(f"skipping the {name} loader: {error}")
            continue
        target = directory / re.sub(r"\W+", "-", name).strip("-")
        shutil.rmtree(target, ignore_errors=True)  # the tools add to what they find (an MLflow database...)
        target.mkdir(parents=True)
        sources[name] = module.make_source(target, triples, **arguments)
    return sources


def stored_triples(source: Path | str, format: str | None = None) -> int:
    """Return how many triples loading ``source`` states (in its dump's graphs and the shared graph)."""
    (outcome,) = load_paths(Store(), [source], format=format, check=False)
    assert outcome.result is not None, outcome.error
    return outcome.result.triples + outcome.result.shared_triples


def scaled(
    make: Callable[[Path, int], Path],
    calibration: tuple[int, int],
    directory: Path,
    triples: int,
    format: str | None = None,
) -> Path:
    """Return ``make(directory, n)`` for the ``n`` (runs, epochs, cells...) that gives about ``triples``
    triples, taking the triples to grow linearly with ``n`` between two small calibration sources."""
    counts = []
    for n in calibration:
        with tempfile.TemporaryDirectory() as tmp:
            counts.append(stored_triples(make(Path(tmp), n), format))
    (few, many), (low, high) = calibration, counts
    directory.mkdir(parents=True, exist_ok=True)
    return make(directory, max(1, round(few + (triples - low) * (many - few) / (high - low))))
