"""Validation by pySHACL: the reference engine, and the fast engine's fallback for the shapes it cannot run.

pySHACL reads a pyoxigraph store itself and sees the union of its graphs. It is handed a copy to
validate in place (in advanced mode SHACL rules may add triples, and the ontology is added to it):
of the whole store, made by pySHACL's own copier, which keeps blank node labels so that results
name the store's blank nodes; or, with ``graphs``, an in-memory store with those graphs, copied
through the store facade (where blank nodes get new labels).

pySHACL's own ``focus_nodes`` option is not used: it also filters the value nodes that nested shapes
(``sh:node``, ``sh:not``...) are checked against, which loses results and invents others. The whole
data is validated and the results are then kept for the focus nodes that the focus graphs describe.
Its ``use_shapes`` option is not used either, since it cannot name blank-node shapes: only the
wanted shapes keep their targets, in a copy of the shapes graph.
"""

from __future__ import annotations

import io
from functools import cache

import pyshacl
from pyshacl.errors import ValidationFailure
from pyshacl.graph_abstraction import OxigraphDataGraph, clone_oxigraph_store
from rdflib import RDF, RDFS, BNode, Graph, Literal
from rdflib.namespace import SH as SHACL
from rdflib.namespace import XSD
from rdflib.term import Node

from provml.errors import ShapeError
from provml.store import Store, Term
from provml.validation import ontology_graph
from provml.validation.paths import read_path
from provml.validation.report import ValidationResult
from provml.validation.shapes import Shapes

_TARGETS = (SHACL.targetClass, SHACL.targetNode, SHACL.targetSubjectsOf, SHACL.targetObjectsOf, SHACL.target)


def validate_with_pyshacl(
    store: Store,
    shapes: Shapes,
    *,
    focus_graphs: list[str] | None,
    graphs: list[str] | None,
    ontology: bool,
    use_shapes: list[str] | None = None,
) -> list[ValidationResult]:
    """Validate ``store`` (or the merge of ``graphs``) with pySHACL; see :func:`provml.validation.validate`.

    ``use_shapes`` limits validation to the shapes of those names (:attr:`Shape.name`: IRI or ``_:label``).
    """
    view = None if graphs is None else _merged(store, graphs)
    data = _DataCopy(clone_oxigraph_store(store.oxigraph) if view is None else view.oxigraph)
    shapes_graph = _shapes_for_pyshacl(shapes.graph, None if use_shapes is None else set(use_shapes))
    report = _run_pyshacl(data, shapes_graph, ontology=ontology)
    results = [_result(report, node) for node in report.objects(None, SHACL.result)]
    if focus_graphs is not None and results:
        copied = [graph for graph in focus_graphs if view is not None and graph in graphs]  # blank nodes renamed
        described = _subjects(view or store, copied) | _subjects(store, [g for g in focus_graphs if g not in copied])
        results = [result for result in results if result.focus in described]
    return results


class _DataCopy(OxigraphDataGraph):
    """A copy of the data for pySHACL to validate in place, and that is never empty.

    pySHACL evaluates ``data_graph or shapes_graph`` for each result, and Oxigraph's data graph
    answers ``bool()`` by counting the triples of the store: each result cost a scan of the data.
    """

    def __bool__(self) -> bool:
        return True


def _run_pyshacl(data: _DataCopy, shapes_graph: Graph, *, ontology: bool) -> Graph:
    """Run pySHACL on ``data`` (it may change it) and return its report graph."""
    try:
        _, report, _ = pyshacl.validate(
            data,
            shacl_graph=shapes_graph,
            ont_graph=_ontology_axioms() if ontology else None,
            inference="none",
            advanced=True,
            inplace=True,
        )
    except (RuntimeError, SyntaxError) as error:  # pySHACL's errors, and Oxigraph's about SPARQL in the shapes
        raise ShapeError(f"pySHACL cannot use the shapes: {_one_line(error)}") from None
    if isinstance(report, ValidationFailure):  # pySHACL returns this failure instead of raising it
        raise ShapeError(f"pySHACL failed: {_one_line(report)}")
    return report


@cache
def _ontology_axioms() -> Graph:
    """Return the ontology without the triples that touch a blank node (OWL restrictions, lists).

    pySHACL 0.40 cannot copy an RDF list into a pyoxigraph store (its ``in`` test with a wildcard
    fails), and SHACL Core only needs ``rdfs:subClassOf`` between named classes.
    """
    axioms = Graph()
    for triple in ontology_graph():
        if not any(isinstance(term, BNode) for term in triple):
            axioms.add(triple)
    return axioms


def _merged(store: Store, graphs: list[str]) -> Store:
    """Return an in-memory store with a copy of each of ``graphs`` (blank nodes get new labels)."""
    view = Store()
    for graph in graphs:
        buffer = io.BytesIO()
        store.export(buffer, "ntriples", graph=graph)
        view.add_rdf(buffer.getvalue(), "ntriples", graph=graph)
    return view


def _shapes_for_pyshacl(graph: Graph, names: set[str] | None) -> Graph:
    """Return a copy of a shapes graph with plain literals typed xsd:string; with ``names``, only the shapes
    of those names keep their targets.

    pySHACL reads Oxigraph's literals as rdflib ones typed xsd:string, which rdflib does not take as
    equal to plain ones: ``sh:hasValue "male"`` would never match the data's ``"male"``.
    """
    classes = set(graph.transitive_subjects(RDFS.subClassOf, RDFS.Class))  # their instances: implicit targets
    copy = Graph(bind_namespaces="none")
    for prefix, namespace in graph.namespaces():  # pySHACL writes its messages with them
        copy.bind(prefix, namespace)
    for subject, predicate, value in graph:
        targets = predicate in _TARGETS or (predicate == RDF.type and value in classes)
        if names is None or not targets or _name(subject) in names:
            copy.add((subject, predicate, _typed(value)))
    return copy


def _typed(node: Node) -> Node:
    if isinstance(node, Literal) and node.datatype is None and not node.language:
        return Literal(str(node), datatype=XSD.string)
    return node


def _subjects(data: Store, graphs: list[str]) -> set[Term]:
    """Return the subjects of the triples of ``graphs``."""
    query = "SELECT DISTINCT ?s ?g WHERE { GRAPH ?g { ?s ?p ?o } }"  # Oxigraph: a bound variable is selected
    return {row[0] for graph in graphs for row in data.query(query, bindings={"g": Term("iri", graph)})}


def _result(report: Graph, node: Node) -> ValidationResult:
    """Return the result at ``node`` of a pySHACL report graph."""
    path, value, constraint = (report.value(node, SHACL[name]) for name in ("resultPath", "value", "sourceConstraint"))
    return ValidationResult(
        focus=_term(report.value(node, SHACL.focusNode)),
        component=str(report.value(node, SHACL.sourceConstraintComponent)),
        shape=_name(report.value(node, SHACL.sourceShape)),
        severity=str(report.value(node, SHACL.resultSeverity)),
        message=_message(report, node),
        path=None if path is None else read_path(report, path),
        value=None if value is None else _term(value),
        constraint=None if constraint is None else _name(constraint),
    )


def _message(report: Graph, node: Node) -> str:
    """Return the result's first message, English or untagged ones first."""
    messages = sorted(report.objects(node, SHACL.resultMessage), key=lambda m: (m.language not in (None, "en"), str(m)))
    return str(messages[0]) if messages else ""


def _term(node: Node) -> Term:
    """Return an rdflib term as a :class:`Term`, with the datatypes Oxigraph gives plain and tagged literals."""
    if isinstance(node, Literal):
        if node.language:
            return Term("literal", str(node), str(RDF.langString), node.language)
        return Term("literal", str(node), str(node.datatype or XSD.string))
    if isinstance(node, BNode):
        return Term("bnode", str(node))
    return Term("iri", str(node))


def _name(node: Node) -> str:
    """Return a shape's name as :class:`Shapes` gives it: its IRI, or ``_:label``."""
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
