"""SHACL property paths: read from a shapes graph, written as SPARQL and as Turtle.

https://www.w3.org/TR/shacl/#property-paths

>>> path = Path.sequence(Path.predicate("urn:p"), Path.inverse(Path.predicate("urn:q")))
>>> path.sparql()
'(<urn:p>/^<urn:q>)'
>>> path.turtle()
'( <urn:p> [ sh:inversePath <urn:q> ] )'
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from provml.errors import ShapeError

SH = "http://www.w3.org/ns/shacl#"
_UNARY = {  # SHACL path property -> (kind, SPARQL operator, prefix?)
    SH + "inversePath": ("inverse", "^", True),
    SH + "zeroOrMorePath": ("zeroOrMore", "*", False),
    SH + "oneOrMorePath": ("oneOrMore", "+", False),
    SH + "zeroOrOnePath": ("zeroOrOne", "?", False),
}
_OPERATORS = {kind: (operator, prefix) for kind, operator, prefix in _UNARY.values()}
_PROPERTIES = {kind: prop for prop, (kind, _, _) in _UNARY.items()}


@dataclass(frozen=True)
class Path:
    """A SHACL path: a predicate IRI, or an operator (inverse, sequence, ...) over sub-paths."""

    kind: str  # predicate, inverse, sequence, alternative, zeroOrMore, oneOrMore, zeroOrOne
    iri: str | None = None
    parts: tuple[Path, ...] = ()

    @staticmethod
    def predicate(iri: str) -> Path:
        """Return the path of one predicate."""
        return Path("predicate", iri)

    @staticmethod
    def inverse(path: Path) -> Path:
        """Return the inverse of a path."""
        return Path("inverse", parts=(path,))

    @staticmethod
    def sequence(*paths: Path) -> Path:
        """Return a sequence of paths."""
        return Path("sequence", parts=paths)

    def sparql(self) -> str:
        """Return the path in SPARQL property-path syntax, with full IRIs."""
        if self.kind == "predicate":
            return f"<{self.iri}>"
        if self.kind in ("sequence", "alternative"):
            joiner = "/" if self.kind == "sequence" else "|"
            return "(" + joiner.join(part.sparql() for part in self.parts) + ")"
        operator, prefix = _OPERATORS[self.kind]
        inner = self.parts[0].sparql()
        return f"{operator}{inner}" if prefix else f"({inner}){operator}"

    def turtle(self) -> str:
        """Return the path as a Turtle term, as SHACL writes it (``sh:`` must be declared)."""
        if self.kind == "predicate":
            return f"<{self.iri}>"
        if self.kind == "sequence":
            return "( " + " ".join(part.turtle() for part in self.parts) + " )"
        if self.kind == "alternative":
            return "[ sh:alternativePath ( " + " ".join(part.turtle() for part in self.parts) + " ) ]"
        return f"[ sh:{_PROPERTIES[self.kind].removeprefix(SH)} {self.parts[0].turtle()} ]"

    def __str__(self) -> str:
        return self.sparql()


def read_path(graph: Graph, node: Node) -> Path:
    """Read the SHACL path at ``node`` of ``graph``; raise :class:`ShapeError` if it is not one."""
    if isinstance(node, URIRef):
        return Path.predicate(str(node))
    if isinstance(node, Literal):
        raise ShapeError(f"a path must be an IRI or a blank node, not the literal {str(node)!r}")
    if (node, RDF.first, None) in graph:
        items = [read_path(graph, item) for item in Collection(graph, node)]
        if len(items) < 2:
            raise ShapeError("a sequence path needs at least two members")
        return Path("sequence", parts=tuple(items))
    alternatives = graph.value(node, URIRef(SH + "alternativePath"))
    if alternatives is not None:
        items = [read_path(graph, item) for item in Collection(graph, alternatives)]
        if len(items) < 2:
            raise ShapeError("sh:alternativePath needs a list of at least two paths")
        return Path("alternative", parts=tuple(items))
    for prop, (kind, _, _) in _UNARY.items():
        inner = graph.value(node, URIRef(prop))
        if inner is not None:
            return Path(kind, parts=(read_path(graph, inner),))
    raise ShapeError(f"{_describe(node)} is not a SHACL path (a predicate, a list, or sh:inversePath...)")


def _describe(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else f"<{node}>"
