"""Validate PROV-ML graphs with SHACL shapes: the shipped ones (``shapes/``) and the user's own.

Two engines give the same results. ``fast`` (the default) compiles each constraint to SPARQL and
runs it in Oxigraph, next to the data; shapes it cannot run go to pySHACL, and the report says so.
``pyshacl`` runs pySHACL on the whole store. Both read the PROV-ML ontology's class hierarchy with
the data, so that ``sh:class provml:LearningStageExecution`` accepts a ``provml:TrainingExecution``.

>>> from provml.store import Store
>>> store = Store()
>>> store.add_rdf(b"<urn:m> a <https://w3id.org/provml#Model> .", "turtle", graph="urn:g")
>>> report = validate(store, Shapes.from_turtle('''
...     @prefix sh: <http://www.w3.org/ns/shacl#> .
...     <urn:ModelShape> sh:targetClass <https://w3id.org/provml#Model> ;
...         sh:property [ sh:path <urn:location> ; sh:minCount 1 ] .'''))
>>> report.conforms, [r.focus.value for r in report.results]
(False, ['urn:m'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import Graph

from provml.errors import ShapeError
from provml.resources import ontology_file, shapes_dir
from provml.store import Store
from provml.validation.report import ValidationReport, ValidationResult
from provml.validation.shapes import Shapes

ENGINES = ("fast", "pyshacl")
__all__ = [
    "ENGINES",
    "LoadValidation",
    "Shapes",
    "ValidationReport",
    "ValidationResult",
    "ontology_graph",
    "shipped_shapes",
    "validate",
]


@cache
def ontology_graph() -> Graph:
    """Return PROV-ML with the ontologies it imports (PROV-O, ML Schema), as one rdflib graph."""
    graph = Graph()
    for name in ("provml.ttl", "prov-o.ttl", "mls.ttl"):
        graph.parse(ontology_file(name), format="turtle")
    return graph


def shipped_shapes(extra: Iterable[str | Path] = ()) -> Shapes:
    """Return the shapes shipped in ``shapes/``, plus those of the ``extra`` files."""
    extra = tuple(extra)
    return Shapes.from_files([*sorted(shapes_dir().glob("*.ttl")), *extra]) if extra else _shipped()


@cache
def _shipped() -> Shapes:
    return Shapes.from_files(sorted(shapes_dir().glob("*.ttl")))


@dataclass
class LoadValidation:
    """How loads are validated: which shapes, which engine, and whether a dump with violations is stored anyway."""

    shapes: Shapes = field(default_factory=shipped_shapes)
    engine: str = "fast"
    accept_invalid: bool = False

    def __post_init__(self) -> None:
        _check_engine(self.engine)

    def __call__(self, store: Store, focus_graphs: list[str], graphs: list[str] | None) -> ValidationReport:
        """Validate what the graphs being loaded describe (see :func:`validate`)."""
        return validate(store, self.shapes, engine=self.engine, focus_graphs=focus_graphs, graphs=graphs)


def validate(
    store: Store,
    shapes: Shapes | None = None,
    *,
    engine: str = "fast",
    focus_graphs: Iterable[str] | None = None,
    graphs: Iterable[str] | None = None,
    ontology: bool = True,
) -> ValidationReport:
    """Validate the store (the union of its graphs) against ``shapes`` (default: the shipped shapes).

    ``focus_graphs`` limits the focus nodes to the subjects of those graphs (a dump being loaded);
    ``graphs`` makes the data the merge of those graphs instead of the union of all. With ``ontology``
    the PROV-ML class hierarchy counts as data: an instance of a subclass is an instance of the class.
    Raises :class:`ShapeError` when the shapes cannot be used.
    """
    _check_engine(engine)
    shapes = shapes if shapes is not None else shipped_shapes()
    focus = list(focus_graphs) if focus_graphs is not None else None
    data = list(graphs) if graphs is not None else None
    if engine == "pyshacl":
        from provml.validation.pyshacl_engine import validate_with_pyshacl

        results = validate_with_pyshacl(store, shapes, focus_graphs=focus, graphs=data, ontology=ontology)
        return ValidationReport(results, engine="pyshacl")
    from provml.validation.sparql_engine import validate_with_sparql

    return validate_with_sparql(store, shapes, focus_graphs=focus, graphs=data, ontology=ontology)


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ShapeError(f"unknown validation engine {engine!r}; use one of {', '.join(ENGINES)}")
