"""The fast validation engine: SHACL shapes compiled to SPARQL and run by Oxigraph, next to the data.

Per shape, one query tests every value-by-value constraint (datatype, class, ranges, patterns...),
and each other constraint (counts, property pairs, SPARQL constraints) is a query of its own. Shapes
that a constraint refers to (sh:node, sh:not, sh:and, sh:or, sh:xone, qualified value shapes) are
checked on the value nodes first; their answer, the nodes that do not conform, is handed to the
referring query as ``VALUES``. Shapes the engine cannot run (recursive shapes, SPARQL-based
components declared in the shapes graph, ``$shapesGraph``) are validated by pySHACL, with a note.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rdflib import RDFS, URIRef

from provml.errors import ShapeError
from provml.store import Store, Term
from provml.validation import components as sparql
from provml.validation.components import RDF_TYPE, Scope
from provml.validation.paths import SH, Path
from provml.validation.report import ValidationReport, ValidationResult, render
from provml.validation.shapes import CLOSED_COMPONENT, SPARQL_COMPONENT, Constraint, Shape, Shapes

_SET_COMPONENTS = {SH + f"{name}ConstraintComponent" for name in ("Node", "Not", "And", "Or", "Xone")}
_QUALIFIED = {SH + "QualifiedMinCountConstraintComponent", SH + "QualifiedMaxCountConstraintComponent"}
_SUBCLASS = f"<{RDFS.subClassOf}>"
_MAX_DEPTH = 8  # shapes nested deeper than this are handed to pySHACL
_SMALL_FOCUS = 50_000  # quads in the focus graphs under which their nodes are listed before the targets
_LISTED = 2_000  # nodes a query lists (VALUES) rather than testing each row for them
_UNSUPPORTED = re.compile(r"\b(MINUS|SERVICE|VALUES)\b|\bAS\s+[?$]this\b", re.I)
# what matters to the scope of $this in a query, strings and IRIs first so that their content is skipped
_TOKENS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
    r'|<[^\s<>"{}]*>|#[^\n]*|[{}]|[?$]this\b'
)
_MEMBER = "urn:provml:member"  # a filter function: is the term in the set handed to the query?


def validate_with_sparql(
    store: Store, shapes: Shapes, *, focus_graphs: list[str] | None, graphs: list[str] | None, ontology: bool
) -> ValidationReport:
    """Validate the store with the fast engine; see :func:`provml.validation.validate`."""
    engine = _Engine(store, graphs, _hierarchy() if ontology else {}, focus_graphs)
    if focus_graphs is not None:
        engine.small_focus = _quads_in(store, focus_graphs, _SMALL_FOCUS + 1) <= _SMALL_FOCUS
    fast, slow = [], []
    for shape in shapes.targeted():
        (slow if _unsupported(shape) else fast).append(shape)
    results = []
    for shape in fast:
        if not shape.deactivated and (focus := engine.focus(shape)) is not None:
            results += engine.validate(shape, focus)
    report = ValidationReport(list(dict.fromkeys(results)), engine="fast")  # duplicates: same value by two paths
    if slow:
        from provml.validation.pyshacl_engine import validate_with_pyshacl

        for shape in slow:
            report.notes.append(f"{shape.name} was validated by pySHACL: it uses {_unsupported(shape)}")
        report.results += validate_with_pyshacl(
            store,
            shapes,
            focus_graphs=focus_graphs,
            graphs=graphs,
            ontology=ontology,
            use_shapes=[s.name for s in slow],
        )
    return report


@cache
def _hierarchy() -> dict[str, frozenset[str]]:
    """Return each class of the PROV-ML ontologies with all its subclasses (itself included)."""
    from provml.validation import ontology_graph

    graph = ontology_graph()
    children: dict[str, set[str]] = {}
    for child, parent in graph.subject_objects(RDFS.subClassOf):
        if isinstance(child, URIRef) and isinstance(parent, URIRef):
            children.setdefault(str(parent), set()).add(str(child))
    closed: dict[str, frozenset[str]] = {}
    for root in children:
        found, stack = {root}, [root]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        closed[root] = frozenset(found)
    return closed


def _unsupported(shape: Shape) -> str:
    """Return why the fast engine cannot validate a shape (empty when it can)."""
    reasons = [reason for nested in shape.nested() for reason in nested.unsupported]
    if not reasons and _recursive(shape):
        reasons.append("a recursive shape")
    return "; ".join(dict.fromkeys(reasons))


def _recursive(shape: Shape, trail: tuple[int, ...] = ()) -> bool:
    if id(shape) in trail or len(trail) > _MAX_DEPTH:
        return True
    trail = (*trail, id(shape))
    referred = [*shape.properties, *(other for constraint in shape.constraints for other in constraint.shapes())]
    return any(_recursive(other, trail) for other in referred)


def _branches(shape: Shape, engine: _Engine) -> list[tuple[str | None, str]]:
    """Return, per target of a shape, the class it targets (if a class target) and the pattern binding ``?this``."""
    branches: list[tuple[str | None, str]] = []
    for kind, value in shape.targets:
        if kind == "node":
            branches.append((None, f"VALUES ?this {{ {sparql.term(value)} }}"))
        elif kind == "class":
            classes = " ".join(f"<{c}>" for c in engine.instances_of(str(value)))
            branches.append((str(value), f"VALUES ?_t {{ {classes} }} ?this {RDF_TYPE} ?_t ."))
        elif kind == "subjectsOf":
            branches.append((None, f"?this {sparql.term(value)} ?_o ."))
        elif kind == "objectsOf":
            branches.append((None, f"?_s {sparql.term(value)} ?this ."))
    return branches


def _union(patterns: Iterable[str]) -> str:
    return " UNION ".join(f"{{ {pattern} }}" for pattern in patterns)


def _in_graphs(graphs: Iterable[str], subject: str = "?this") -> str:
    """Return the pattern binding ``subject`` to the subject of each quad of the named graphs."""
    return f"VALUES ?_g {{ {' '.join(f'<{g}>' for g in graphs)} }} GRAPH ?_g {{ {subject} ?_p ?_v }}"


def _members(variable: str, nodes: set[Term]) -> str:
    """Return a pattern keeping the rows whose ``variable`` is one of ``nodes``: a few are listed, so that
    the query starts from them; many, or a blank node, are tested row by row by ``<urn:provml:member>``."""
    if len(nodes) > _LISTED or any(node.kind == "bnode" for node in nodes):  # a blank node cannot be written
        return f"FILTER(<{_MEMBER}>({variable}))"
    return f"VALUES {variable} {{ {' '.join(sorted(render(node) for node in nodes))} }}"


def _quads_in(store: Store, graphs: list[str], limit: int) -> int:
    """Return how many quads the named graphs hold, counting no further than ``limit``."""
    quads = f"SELECT * WHERE {{ {_in_graphs(graphs, '?_s')} }} LIMIT {limit}"
    ((count,),) = store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ {quads} }} }}").rows()
    return int(count.value)


@dataclass
class _Engine:
    """Runs compiled constraints against one store, remembering what it learnt of classes."""

    store: Store
    graphs: list[str] | None
    hierarchy: dict[str, frozenset[str]]
    focus_graphs: list[str] | None = None  # focus nodes are the subjects of these graphs (all nodes if None)
    small_focus: bool = False  # the focus graphs hold few quads: focus nodes are listed
    _classes: dict[str, list[str]] = field(default_factory=dict)
    _types: dict[Term, set[str]] | None = None
    _nonconforming: dict[tuple[int, str], set[Term]] = field(default_factory=dict)

    def query(self, text: str, members: set[Term] | None = None) -> list[tuple[Term | None, ...]]:
        """Run a SELECT over the data (the union of graphs, or the merge of ``graphs``); ``members`` is
        the set that the filter function ``<urn:provml:member>`` tests terms against (blank nodes included,
        which a query cannot name)."""
        functions = {_MEMBER: members.__contains__} if members is not None else None
        return self.store.query(text, graphs=self.graphs, functions=functions).rows()

    def focus(self, shape: Shape) -> str | None:
        """Return the pattern binding a targeted shape's focus nodes to ``?this``, or None if it has none.

        Focus nodes are restricted to the subjects of the focus graphs, if any. When those hold few quads,
        the focus nodes are listed (``VALUES``), so that each query starts from them, not from every value
        of the paths it follows: Oxigraph plans a join with a sub-query from both ends."""
        branches = _branches(shape, self)
        if self.focus_graphs is not None and self.small_focus:
            return self._listed_focus(branches, _in_graphs(self.focus_graphs))
        union = _union(pattern for _, pattern in branches)
        if self.focus_graphs is not None:  # each target's node looked up in the focus graphs: cheaper than listing
            graphs = ", ".join(f"<{g}>" for g in self.focus_graphs)  # one index scan per node, however many graphs
            union += f" FILTER EXISTS {{ GRAPH ?_g {{ ?this ?_p ?_v }} FILTER(?_g IN ({graphs})) }}"
        pattern = f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}"
        return pattern if self.store.query(f"ASK {{ {pattern} }}", graphs=self.graphs) else None

    def _listed_focus(self, branches: list[tuple[str | None, str]], graphs: str) -> str | None:
        """Return ``VALUES ?this`` listing the focus nodes in the focus graphs (a pattern if they are many,
        or one is a blank node)."""
        nodes: set[Term] = set()
        for cls, pattern in branches:
            if cls is None:
                nodes |= self._nodes(f"{graphs} {pattern}")
            else:
                classes = set(self.instances_of(cls))
                nodes |= {node for node, types in self._focus_types().items() if types & classes}
        if not nodes:
            return None
        if len(nodes) > _LISTED or any(node.kind == "bnode" for node in nodes):
            return f"{{ SELECT DISTINCT ?this WHERE {{ {_union(f'{graphs} {p}' for _, p in branches)} }} }}"
        return _members("?this", nodes)

    def _focus_types(self) -> dict[Term, set[str]]:
        """Return the classes of each subject of the (few quads of the) focus graphs."""
        if self._types is None:
            subjects = _in_graphs(self.focus_graphs or (), "?s")
            rows = self.query(f"SELECT DISTINCT ?s ?t WHERE {{ {subjects} ?s {RDF_TYPE} ?t }}")
            self._types = {}
            for node, cls in rows:
                if node is not None and cls is not None:
                    self._types.setdefault(node, set()).add(cls.value)
        return self._types

    def instances_of(self, cls: str) -> list[str]:
        """Return the classes whose instances are SHACL instances of ``cls``: its subclasses in the
        ontology and, through rdfs:subClassOf in the data, theirs."""
        if cls not in self._classes:
            known = sorted(self.hierarchy.get(cls, {cls}))
            # a branch per class, each path ending in a constant: Virtuoso runs no path with both ends variable
            branches = " UNION ".join(f"{{ ?c {_SUBCLASS}+ <{c}> }}" for c in known)
            rows = self.query(f"SELECT DISTINCT ?c WHERE {{ {branches} }}")
            self._classes[cls] = sorted({*known, *(row[0].value for row in rows if row[0] and row[0].kind == "iri")})
        return self._classes[cls]

    # -- validating a shape --------------------------------------------------------------

    def validate(self, shape: Shape, focus: str, depth: int = 0) -> list[ValidationResult]:
        """Return the results of a shape and its property shapes on the focus nodes ``focus`` binds."""
        if shape.deactivated:
            return []
        scope = Scope(focus, shape.path)
        results = list(self._value_tests(shape, scope))
        for constraint in shape.constraints:
            results += self._constraint(shape, constraint, scope, depth)
        for property_shape in shape.properties:
            nested = property_shape.path
            if nested is None:
                raise ShapeError(f"the property shape {property_shape.name} of {shape.name} has no sh:path")
            results += self.validate(property_shape, scope.value_nodes(depth) if shape.path else focus, depth + 1)
        return results

    def nonconforming(self, shape: Shape, focus: str, depth: int) -> set[Term]:
        """Return the nodes bound by ``focus`` that do not conform to ``shape`` (asked once per validation:
        shapes that several shapes refer to are checked on the same nodes again)."""
        key = (id(shape), focus)
        if key not in self._nonconforming:
            self._nonconforming[key] = {result.focus for result in self.validate(shape, focus, depth + 1)}
        return self._nonconforming[key]

    def _value_tests(self, shape: Shape, scope: Scope) -> Iterator[ValidationResult]:
        """Run every value-by-value constraint of a shape in one query."""
        tests = []
        for constraint in shape.constraints:
            if (test := self._test(constraint, scope)) is not None:
                tests.append((constraint, test))
        if not tests:
            return
        columns = " ".join(f"({test} AS ?_c{i})" for i, (_, test) in enumerate(tests))
        any_broken = " || ".join(f"COALESCE({test}, true)" for _, test in tests)
        text = f"SELECT ?this ?value {columns} WHERE {{ {scope.focus} {scope.values()} FILTER({any_broken}) }}"
        for row in self.query(text):
            for i, (constraint, _) in enumerate(tests):
                flag = row[2 + i]
                if flag is None or flag.value == "true":
                    yield self._result(shape, constraint, row[0], row[1])

    def _test(self, constraint: Constraint, scope: Scope) -> str | None:
        """Return the expression true when ``?value`` breaks the constraint, if it is tested value by value:
        the value components, sh:class, and sh:node, sh:not, sh:and and sh:or of shapes that are."""
        component = constraint.component
        if component == SH + "ClassConstraintComponent":
            return sparql.class_test(self.instances_of(str(constraint.params["class"])))
        if component not in _SET_COMPONENTS - {SH + "XoneConstraintComponent"}:
            return sparql.value_test(component, constraint.params, scope)
        broken = [self._broken(other) for other in constraint.shapes()]
        if any(test is None for test in broken):
            return None
        if component == SH + "NotConstraintComponent":
            return f"!{broken[0]}"
        if component == SH + "OrConstraintComponent":  # broken when every shape is
            return f"({' && '.join(broken)})" if broken else "true"
        return f"({' || '.join(broken)})" if broken else "false"  # sh:node, sh:and: broken when any shape is

    def _broken(self, shape: Shape) -> str | None:
        """Return the expression true when ``?value`` does not conform to ``shape``, if the shape tests its
        focus node alone, value by value (a node shape of datatypes, ranges, classes...)."""
        if shape.deactivated:
            return "false"
        if shape.path is not None or shape.properties:
            return None
        tests = [self._test(constraint, Scope("")) for constraint in shape.constraints]
        if any(test is None for test in tests):
            return None
        return f"({' || '.join(f'COALESCE({test}, true)' for test in tests)})" if tests else "false"

    def _constraint(self, shape: Shape, constraint: Constraint, scope: Scope, depth: int) -> list[ValidationResult]:
        component = constraint.component
        if self._test(constraint, scope) is not None:
            return []  # run by _value_tests
        if component in _SET_COMPONENTS:
            return self._set_component(shape, constraint, scope, depth)
        if component in _QUALIFIED:
            return self._qualified(shape, constraint, scope, depth)
        if component == SPARQL_COMPONENT:
            return list(self._sparql_constraint(shape, constraint, scope))
        if component == CLOSED_COMPONENT:
            if shape.path is not None:
                raise ShapeError(f"sh:closed on the property shape {shape.name} is not supported")
            rows = self.query(sparql.closed_query(constraint.params["allowed"], scope))
            return [
                self._result(shape, constraint, this, value, path=Path.predicate(path.value) if path else None)
                for this, path, value in rows
            ]
        text = sparql.focus_query(component, constraint.params, scope)
        if not text:
            return []
        return [self._result(shape, constraint, row[0], row[1] if len(row) > 1 else None) for row in self.query(text)]

    def _set_component(self, shape: Shape, constraint: Constraint, scope: Scope, depth: int) -> list[ValidationResult]:
        """sh:node, sh:not, sh:and, sh:or, sh:xone: value nodes that (do not) conform to other shapes."""
        name = constraint.component.removeprefix(SH).removesuffix("ConstraintComponent")
        others = list(constraint.shapes())
        candidates = scope.value_nodes(depth)
        failing = [self.nonconforming(other, candidates, depth) for other in others]
        if name in ("Node", "And"):
            bad: set[Term] = set().union(*failing)
        elif name == "Or":
            bad = set.intersection(*failing) if failing else self._nodes(candidates)
        else:
            nodes = self._nodes(candidates)
            if name == "Not":
                bad = nodes - failing[0]
            else:  # Xone: exactly one shape must accept the node
                bad = {node for node in nodes if sum(node not in f for f in failing) != 1}
        if not bad:
            return []
        text = f"SELECT ?this ?value WHERE {{ {scope.focus} {scope.values()} {_members('?value', bad)} }}"
        return [self._result(shape, constraint, this, value) for this, value in self.query(text, bad)]

    def _qualified(self, shape: Shape, constraint: Constraint, scope: Scope, depth: int) -> list[ValidationResult]:
        """sh:qualifiedMinCount / MaxCount: how many value nodes conform to a shape (and to no sibling)."""
        params = constraint.params
        candidates = scope.value_nodes(depth)
        nodes = self._nodes(candidates)
        qualifying = nodes - self.nonconforming(params["shape"], candidates, depth)
        for sibling in params["siblings"]:
            qualifying &= self.nonconforming(sibling, candidates, depth)
        if "qualifiedMinCount" in params:
            having = f"COUNT(DISTINCT ?_q) < {params['qualifiedMinCount']}"
        else:
            having = f"COUNT(DISTINCT ?_q) > {params['qualifiedMaxCount']}"
        qualified = f"{scope.values()} FILTER(<{_MEMBER}>(?value)) BIND(?value AS ?_q)"
        text = f"SELECT ?this WHERE {{ {scope.focus} OPTIONAL {{ {qualified} }} }} GROUP BY ?this HAVING ({having})"
        return [self._result(shape, constraint, row[0], None) for row in self.query(text, qualifying)]

    def _nodes(self, pattern: str) -> set[Term]:
        return {row[0] for row in self.query(f"SELECT ?this WHERE {{ {pattern} }}") if row[0] is not None}

    def _sparql_constraint(self, shape: Shape, constraint: Constraint, scope: Scope) -> Iterator[ValidationResult]:
        """Run a SPARQL-based constraint: joined after the focus pattern when that means the same as
        pre-binding ``$this``, else once per focus node with ``$this`` substituted."""
        params = constraint.params
        if params["deactivated"]:
            return
        select = params["select"]
        if shape.path is not None:
            select = re.sub(r"\$PATH\b", shape.path.sparql(), select)
        select = re.sub(r"\$currentShape\b", f"<{shape.name}>", select) if not shape.name.startswith("_:") else select
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in params["prefixes"].items())
        _check_prebinding(select, constraint.source)
        if not _joinable(select):
            rows: Iterable[dict[str, Term | None]] = self._per_focus(prologue, select, scope.focus)
        else:
            rows = self._joined(prologue, select, scope.focus)
        for row in rows:
            if (failure := row.get("failure")) is not None and failure.value == "true":
                raise ShapeError(f"the SPARQL constraint {constraint.source} of {shape.name} reported a failure")
            this = row.get("this")
            if this is None:
                continue
            path = Path.predicate(row["path"].value) if row.get("path") and row["path"].kind == "iri" else None
            yield self._result(shape, constraint, this, row.get("value"), path=path, row=row)

    def _joined(self, prologue: str, select: str, focus: str) -> Iterator[dict[str, Term | None]]:
        opening = _where_brace(select)
        text = f"{prologue}{select[: opening + 1]} {focus} {select[opening + 1 :]}"
        result = self.store.query(text, graphs=self.graphs)
        for row in result:
            yield dict(zip(result.variables, row, strict=True))

    def _per_focus(self, prologue: str, select: str, focus: str) -> Iterator[dict[str, Term | None]]:
        """Run a query once per focus node with ``$this`` replaced by the node (SHACL's pre-binding);
        a blank node, which a query cannot name, is substituted by Oxigraph instead."""
        for this in self._nodes(focus):
            if this.kind == "bnode":
                result = self.store.query(prologue + select, graphs=self.graphs, bindings={"this": this})
            else:
                result = self.store.query(prologue + _prebound(select, render(this)), graphs=self.graphs)
            for row in result:
                yield {"this": this, **{k: v for k, v in zip(result.variables, row, strict=True) if k != "this"}}

    def _result(
        self,
        shape: Shape,
        constraint: Constraint,
        this: Term | None,
        value: Term | None,
        *,
        path: Path | None = None,
        row: dict[str, Term | None] | None = None,
    ) -> ValidationResult:
        if this is None:
            raise ShapeError(f"a query of {shape.name} returned no focus node")
        return ValidationResult(
            focus=this,
            component=constraint.component,
            shape=shape.name,
            severity=shape.severity,
            message=_message(shape, constraint, row or {}),
            path=path or shape.path,
            value=value,
            constraint=constraint.source,
        )


def _prebound(select: str, value: str) -> str:
    """Return a query with ``$this`` replaced by ``value`` (N-Triples text): bound($this) is true, and
    the projection binds ``?this`` to the value."""

    heads = itertools.count()

    def project(head: re.Match[str]) -> str:  # the query's projection binds the value to ?this, sub-queries' aside
        return re.sub(r"[?$]this\b", f"({value} AS ?_this_{next(heads)})", head.group(0))

    text = re.sub(r"\bSELECT\b[^{]*", project, select, flags=re.I)
    text = re.sub(r"\bbound\s*\(\s*[?$]this\s*\)", "(true)", text, flags=re.I)
    text = _TOKENS.sub(lambda t: value if t.group(0)[1:] == "this" else t.group(0), text)
    return text.replace("?_this_0)", "?this)", 1)


def _check_prebinding(select: str, source: str | None) -> None:
    """Raise :class:`ShapeError` for what SHACL forbids in a query with pre-bound variables: MINUS,
    VALUES, SERVICE, sub-queries that do not return ``$this``, and binding ``$this`` with AS
    (https://www.w3.org/TR/shacl/#pre-binding)."""
    found = _UNSUPPORTED.search(select)
    for subquery in re.finditer(r"\bSELECT\b([^{]*)", select[_where_brace(select) :], re.I):
        if found is None and not re.search(r"[?$]this\b", subquery.group(1)):
            found = subquery
    if found is not None:
        raise ShapeError(
            f"the SPARQL constraint {source} uses {found.group(0).split()[0]!r}, which SHACL does not allow "
            "with pre-bound variables (https://www.w3.org/TR/shacl/#pre-binding)"
        )


def _joinable(select: str) -> bool:
    """Return True if a SPARQL constraint means the same joined after the focus pattern as with ``$this``
    pre-bound: it projects ``$this``, and ``$this`` occurs only at the top of the WHERE clause or in
    OPTIONAL and (NOT) EXISTS groups, which see the bindings around them."""
    opening = _where_brace(select)
    if not re.search(r"[?$]this\b|\*", select[:opening]):
        return False
    groups: list[bool] = []  # for each open group: does it hide outer bindings?
    for token in _TOKENS.finditer(select, opening):
        text = token.group(0)
        if text == "{":
            keyword = re.search(r"(\w+)\s*$", select[: token.start()])
            transparent = not groups or (keyword is not None and keyword.group(1).upper() in ("OPTIONAL", "EXISTS"))
            groups.append(not transparent)
        elif text == "}":
            if groups:
                groups.pop()
        elif text[1:] == "this" and any(groups):
            return False
    return True


def _where_brace(select: str) -> int:
    """Return the index of the brace that opens the outermost WHERE clause of a SELECT."""
    in_string, in_iri = "", False
    for i, char in enumerate(select):
        if in_string:
            in_string = "" if char == in_string and select[i - 1] != "\\" else in_string
        elif in_iri:
            in_iri = char != ">"
        elif char in "\"'":
            in_string = char
        elif char == "<" and re.match(r"<[^\s<>\"{}|^`\\]*>", select[i:]):
            in_iri = True
        elif char == "#":
            continue
        elif char == "{":
            return i
    raise ShapeError(f"the SPARQL constraint has no WHERE clause: {select[:80]!r}")


def _message(shape: Shape, constraint: Constraint, row: dict[str, Term | None]) -> str:
    """Return the message of a result: the constraint's or shape's sh:message, else a default."""
    messages = constraint.params.get("messages") if constraint.component == SPARQL_COMPONENT else None
    text = (str(messages[0]) if messages else None) or shape.message() or _default_message(constraint)

    def fill(match: re.Match[str]) -> str:
        term = row.get(match.group(1))
        return term.value if term is not None else match.group(0)

    return re.sub(r"\{[?$](\w+)\}", fill, text)


def _default_message(constraint: Constraint) -> str:
    name = constraint.component.removeprefix(SH).removesuffix("ConstraintComponent")
    params = {k: v for k, v in constraint.params.items() if k not in ("siblings", "shape")}
    shown = ", ".join(f"sh:{k} {_show(v)}" for k, v in params.items()) if params else ""
    return f"breaks sh:{name[0].lower() + name[1:]}" + (f" ({shown})" if shown and name != "SPARQL" else "")


def _show(value: Any) -> str:
    if isinstance(value, Shape):
        return value.name
    if isinstance(value, list):
        return "(" + " ".join(_show(v) for v in value) + ")"
    if isinstance(value, tuple):
        return repr(value[0])
    return str(value)
