"""SHACL shapes read from a shapes graph: targets, paths, constraints, severities and messages.

https://www.w3.org/TR/shacl/#shapes-graph

The model is what both engines need to know of a shape; the fast engine compiles it to SPARQL
and pySHACL reads the graph itself. :class:`Shapes` also records what the fast engine cannot
run (SPARQL-based constraint components declared in the shapes graph, SPARQL targets, ...), so
that those shapes go to pySHACL.

>>> shapes = Shapes.from_turtle('''
...     @prefix sh: <http://www.w3.org/ns/shacl#> .
...     <urn:RunShape> a sh:NodeShape ; sh:targetClass <urn:Run> ;
...         sh:property [ sh:path <urn:started> ; sh:minCount 1 ; sh:maxCount 1 ] .''')
>>> [shape.name for shape in shapes.targeted()]
['urn:RunShape']
>>> [c.component.removeprefix(SH) for c in shapes.targeted()[0].properties[0].constraints]
['MaxCountConstraintComponent', 'MinCountConstraintComponent']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import rdflib
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH as SHACL
from rdflib.term import Node

from provml.errors import ShapeError
from provml.validation.paths import SH, Path, read_path

# parameter -> constraint component, for components with one parameter (each value is one constraint)
_SINGLE = {
    name: SH + component + "ConstraintComponent"
    for name, component in (
        ("class", "Class"),
        ("datatype", "Datatype"),
        ("nodeKind", "NodeKind"),
        ("minCount", "MinCount"),
        ("maxCount", "MaxCount"),
        ("minExclusive", "MinExclusive"),
        ("minInclusive", "MinInclusive"),
        ("maxExclusive", "MaxExclusive"),
        ("maxInclusive", "MaxInclusive"),
        ("minLength", "MinLength"),
        ("maxLength", "MaxLength"),
        ("languageIn", "LanguageIn"),
        ("uniqueLang", "UniqueLang"),
        ("equals", "Equals"),
        ("disjoint", "Disjoint"),
        ("lessThan", "LessThan"),
        ("lessThanOrEquals", "LessThanOrEquals"),
        ("not", "Not"),
        ("and", "And"),
        ("or", "Or"),
        ("xone", "Xone"),
        ("node", "Node"),
        ("hasValue", "HasValue"),
        ("in", "In"),
        ("pattern", "Pattern"),
    )
}
_LISTS = {"languageIn", "and", "or", "xone", "in"}  # parameters whose value is an RDF list
_SHAPE_VALUED = {"not", "node", "qualifiedValueShape"}
_NUMBERS = {"minCount", "maxCount", "minLength", "maxLength", "qualifiedMinCount", "qualifiedMaxCount"}
SPARQL_COMPONENT = SH + "SPARQLConstraintComponent"
CLOSED_COMPONENT = SH + "ClosedConstraintComponent"


@dataclass(frozen=True)
class Constraint:
    """One constraint of a shape: its component and parameters (``Shape`` objects for shape-valued ones)."""

    component: str
    params: dict[str, Any]
    source: str | None = None  # the sh:sparql constraint node, reported as sh:sourceConstraint

    def shapes(self) -> Iterator[Shape]:
        """Yield the shapes this constraint checks value nodes against (sh:node, sh:and... members);
        the siblings of a qualified value shape are only compared with, not referred to."""
        for key, value in self.params.items():
            if key == "siblings":
                continue
            if isinstance(value, Shape):
                yield value
            elif isinstance(value, list):
                yield from (item for item in value if isinstance(item, Shape))


@dataclass(eq=False)
class Shape:
    """A node shape (no path) or property shape (a path), with its constraints."""

    name: str  # an IRI, or ``_:label`` for a blank node
    path: Path | None = None
    targets: list[tuple[str, Any]] = field(default_factory=list)  # (class|node|subjectsOf|objectsOf, rdflib term)
    severity: str = SH + "Violation"
    messages: list[Literal] = field(default_factory=list)
    deactivated: bool = False
    constraints: list[Constraint] = field(default_factory=list)
    properties: list[Shape] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # why the fast engine cannot run it

    def nested(self) -> Iterator[Shape]:
        """Yield the shapes this one refers to (property shapes, sh:node, sh:and...), once each, itself first."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            shape = stack.pop()
            if id(shape) in seen:
                continue
            seen.add(id(shape))
            yield shape
            stack.extend(shape.properties)
            for constraint in shape.constraints:
                stack.extend(constraint.shapes())

    def message(self) -> str | None:
        """Return the shape's sh:message (English, or untagged, preferred), if any."""
        ranked = sorted(self.messages, key=lambda m: (m.language not in (None, "en"), str(m)))
        return str(ranked[0]) if ranked else None


class Shapes:
    """The shapes of a shapes graph (an rdflib ``Graph``, which pySHACL reads as it is)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._shapes: dict[Node, Shape] = {}
        self._custom_parameters = self._declared_parameters()
        self._targeted = [self._shape(node) for node in self._target_nodes()]

    @classmethod
    def from_turtle(cls, text: str) -> Shapes:
        """Read shapes from Turtle text."""
        return cls(_parse(text=text))

    @classmethod
    def from_files(cls, paths: Iterable[str | FilePath]) -> Shapes:
        """Read shapes from RDF files (format from the file ending), merged into one shapes graph."""
        graph = Graph()
        for path in paths:
            _parse(graph=graph, path=FilePath(path))
        return cls(graph)

    def targeted(self) -> list[Shape]:
        """Return the shapes that have targets, in a stable order."""
        return self._targeted

    def __len__(self) -> int:
        return len(self._targeted)

    # -- reading -----------------------------------------------------------------------

    def _target_nodes(self) -> list[Node]:
        graph, found = self.graph, set()
        for prop in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "target"):
            found.update(graph.subjects(SHACL[prop], None))
        for kind in ("NodeShape", "PropertyShape"):
            found.update(s for s in graph.subjects(RDF.type, SHACL[kind]) if (s, RDF.type, RDFS.Class) in graph)
        return sorted(found, key=lambda node: (isinstance(node, BNode), str(node)))

    def _declared_parameters(self) -> dict[URIRef, str]:
        """Return the parameters of SPARQL-based constraint components declared in the shapes graph."""
        graph, found = self.graph, {}
        for component in set(graph.subjects(SHACL.parameter, None)):  # typed sh:ConstraintComponent or a subclass
            for parameter in graph.objects(component, SHACL.parameter):
                path = graph.value(parameter, SHACL.path)
                if isinstance(path, URIRef):
                    found[path] = str(component)
        return found

    def _shape(self, node: Node) -> Shape:
        if node in self._shapes:
            return self._shapes[node]
        graph = self.graph
        shape = Shape(name=_name(node))
        self._shapes[node] = shape  # before reading its constraints: shapes may refer to each other
        path = graph.value(node, SHACL.path)
        if path is not None:
            shape.path = read_path(graph, path)
        shape.targets = self._targets(node)
        shape.severity = str(graph.value(node, SHACL.severity) or SHACL.Violation)
        shape.messages = [m for m in graph.objects(node, SHACL.message) if isinstance(m, Literal)]
        shape.deactivated = _true(graph.value(node, SHACL.deactivated))
        shape.properties = [self._shape(p) for p in sorted(graph.objects(node, SHACL.property), key=str)]
        shape.constraints = list(self._constraints(node, shape))
        return shape

    def _targets(self, node: Node) -> list[tuple[str, Any]]:
        graph, targets = self.graph, []
        for kind in ("Class", "Node", "SubjectsOf", "ObjectsOf"):
            targets += [(kind[0].lower() + kind[1:], value) for value in graph.objects(node, SHACL["target" + kind])]
        if (node, RDF.type, RDFS.Class) in graph and isinstance(node, URIRef):
            targets.append(("class", node))
        return targets

    def _constraints(self, node: Node, shape: Shape) -> Iterator[Constraint]:
        graph = self.graph
        if (node, SHACL.target, None) in graph:
            shape.unsupported.append("a SPARQL-based target (sh:target)")
        for prop in sorted({p for p in graph.predicates(node, None)}, key=str):
            name = str(prop).removeprefix(SH)
            if prop in self._custom_parameters:
                shape.unsupported.append(f"the SPARQL-based constraint component <{self._custom_parameters[prop]}>")
            elif str(prop).startswith(SH) and name in _SINGLE:
                for value in graph.objects(node, prop):
                    yield Constraint(_SINGLE[name], {name: self._parameter(name, value, node)})
        yield from self._qualified(node)
        closed = graph.value(node, SHACL.closed)
        if _true(closed):
            ignored = graph.value(node, SHACL.ignoredProperties)
            allowed = [str(p) for p in (Collection(graph, ignored) if ignored is not None else [])]
            for prop_shape in graph.objects(node, SHACL.property):
                path = graph.value(prop_shape, SHACL.path)
                if isinstance(path, URIRef):
                    allowed.append(str(path))
            yield Constraint(CLOSED_COMPONENT, {"allowed": sorted(set(allowed))})
        for constraint in graph.objects(node, SHACL.sparql):
            yield self._sparql(constraint, shape)

    def _qualified(self, node: Node) -> Iterator[Constraint]:
        graph = self.graph
        value_shape = graph.value(node, SHACL.qualifiedValueShape)
        if value_shape is None:
            return
        disjoint = _true(graph.value(node, SHACL.qualifiedValueShapesDisjoint))
        siblings = []
        if disjoint:  # the other qualified value shapes of the property shapes of the same parent shapes
            for parent in graph.subjects(SHACL.property, node):
                for sibling in graph.objects(parent, SHACL.property):
                    other = graph.value(sibling, SHACL.qualifiedValueShape)
                    if sibling != node and other is not None and other != value_shape:
                        siblings.append(self._shape(other))
        params = {"shape": self._shape(value_shape), "siblings": siblings}
        for bound, component in (
            ("qualifiedMinCount", "QualifiedMinCount"),
            ("qualifiedMaxCount", "QualifiedMaxCount"),
        ):
            value = graph.value(node, SHACL[bound])
            if value is not None:
                yield Constraint(
                    SH + component + "ConstraintComponent", {**params, bound: self._parameter(bound, value, node)}
                )

    def _sparql(self, node: Node, shape: Shape) -> Constraint:
        graph = self.graph
        select = graph.value(node, SHACL.select)
        if select is None:
            raise ShapeError(f"the SPARQL constraint {_name(node)} of {shape.name} has no sh:select")
        prefixes = {}
        for declarations in self._imported(list(graph.objects(node, SHACL.prefixes))):
            for declaration in graph.objects(declarations, SHACL.declare):
                prefix, namespace = graph.value(declaration, SHACL.prefix), graph.value(declaration, SHACL.namespace)
                if prefix is not None and namespace is not None:
                    prefixes[str(prefix)] = str(namespace)
        if "$shapesGraph" in str(select) or "?shapesGraph" in str(select):
            shape.unsupported.append("a SPARQL constraint that reads $shapesGraph")
        params = {
            "select": str(select),
            "prefixes": prefixes,
            "messages": [m for m in graph.objects(node, SHACL.message) if isinstance(m, Literal)],
            "deactivated": _true(graph.value(node, SHACL.deactivated)),
        }
        return Constraint(SPARQL_COMPONENT, params, source=_name(node))

    def _imported(self, nodes: list[Node]) -> list[Node]:
        """Return ``nodes`` and what they owl:import, transitively: prefix declarations follow imports."""
        found: list[Node] = []
        while nodes:
            node = nodes.pop()
            if node not in found:
                found.append(node)
                nodes.extend(self.graph.objects(node, OWL.imports))
        return found

    def _parameter(self, name: str, value: Node, node: Node) -> Any:
        if name in _LISTS:
            items = list(Collection(self.graph, value))
            return [self._shape(item) for item in items] if name in ("and", "or", "xone") else items
        if name in _SHAPE_VALUED:
            return self._shape(value)
        if name in _NUMBERS:
            if not isinstance(value, Literal) or not isinstance(value.toPython(), int):
                raise ShapeError(f"sh:{name} must be an integer, not {value.n3()}", source="shapes")
            return value.toPython()
        if name == "pattern":
            flags = self.graph.value(node, SHACL.flags)
            return (str(value), str(flags or ""))
        if name == "uniqueLang":
            return _true(value)
        return value


def _true(value: Node | None) -> bool:
    """SHACL's boolean parameters are true only when they are the literal true (not "1")."""
    return isinstance(value, Literal) and value.datatype == XSD.boolean and str(value) == "true"


def _name(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


@contextmanager
def _literals_as_written() -> Iterator[None]:
    """Keep literals as the shapes write them: rdflib would read ``"1"^^xsd:boolean`` as true, SHACL does not."""
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = normalize


def _parse(*, graph: Graph | None = None, text: str | None = None, path: FilePath | None = None) -> Graph:
    graph = graph if graph is not None else Graph()
    try:
        with _literals_as_written():
            if text is not None:
                graph.parse(data=text, format="turtle")
            elif path is not None:
                graph.parse(str(path), format=_rdf_format(path))
    except FileNotFoundError:
        raise ShapeError("no such shapes file", source=path) from None
    except Exception as error:  # rdflib raises many kinds of errors for bad syntax
        raise ShapeError(f"cannot read the shapes: {error}", source=path or "shapes") from None
    return graph


def _rdf_format(path: FilePath) -> str:
    formats = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig", ".jsonld": "json-ld", ".rdf": "xml"}
    return formats.get(path.suffix.lower(), "turtle")
