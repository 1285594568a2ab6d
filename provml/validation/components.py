"""SHACL core constraint components as SPARQL: the conditions and queries the fast engine runs.

https://www.w3.org/TR/shacl/#core-components

A *scope* is what a shape's constraints are checked on: a pattern binding the focus nodes to ``?this``
and, for property shapes, the path from ``?this`` to its value nodes ``?value``. Components that test
one value node at a time become boolean SPARQL expressions over ``?value`` (:func:`value_test`), so
that one query checks all of them for a shape; the others become queries of their own
(:func:`focus_query`) returning ``?this``, and ``?value`` where the result has a value.

>>> scope = Scope("{ VALUES ?this { <urn:a> } }", Path.predicate("urn:p"))
>>> print(scope.values())
?this <urn:p> ?value .
>>> value_test(SH + "MinLengthConstraintComponent", {"minLength": 2}, scope)
'(isBlank(?value) || !COALESCE(STRLEN(STR(?value)) >= 2, false))'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Literal, URIRef

from provml.errors import ShapeError
from provml.validation.paths import SH, Path

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
ILL_FORMED = "<urn:provml:ill-formed>"
_XSD_STRING = URIRef(XSD + "string")
# XSD datatypes Oxigraph can cast to: a literal of one of them that does not cast is ill-formed
_CASTABLE = (
    {XSD + name for name in ("string", "boolean", "double", "float", "decimal", "integer", "date", "time")}
    | {
        XSD + name
        for name in ("dateTime", "duration", "yearMonthDuration", "dayTimeDuration", "gYear", "gYearMonth", "gMonth")
    }
    | {XSD + "gDay", XSD + "gMonthDay"}
)
# XSD datatypes Oxigraph stores as another (xsd:int as xsd:integer...): a value still typed so is ill-formed
_NORMALISED = (
    {XSD + name for name in ("int", "long", "short", "byte", "dateTimeStamp")}
    | {XSD + prefix + "Integer" for prefix in ("nonNegative", "positive", "negative", "nonPositive")}
    | {XSD + "unsigned" + size for size in ("Int", "Long", "Short", "Byte")}
)
_NODE_KINDS = {
    "IRI": "isIRI(?value)",
    "BlankNode": "isBlank(?value)",
    "Literal": "isLiteral(?value)",
    "BlankNodeOrIRI": "(isBlank(?value) || isIRI(?value))",
    "BlankNodeOrLiteral": "(isBlank(?value) || isLiteral(?value))",
    "IRIOrLiteral": "(isIRI(?value) || isLiteral(?value))",
}
_COMPARISONS = {"minExclusive": ">", "minInclusive": ">=", "maxExclusive": "<", "maxInclusive": "<="}
_FOCUS = re.compile(r"\?this\b")


@dataclass(frozen=True)
class Scope:
    """Where a shape's constraints apply: focus nodes bound to ``?this``, and the path to the value nodes."""

    focus: str
    path: Path | None = None

    def values(self, variable: str = "?value") -> str:
        """Return the pattern binding the value nodes of ``?this`` to ``variable``."""
        if self.path is None:
            return f"BIND(?this AS {variable})"
        return f"?this {self.path.sparql()} {variable} ."

    def value_nodes(self, depth: int) -> str:
        """Return a pattern binding the value nodes to ``?this``: the focus of a shape they must conform to."""
        if self.path is None:
            return self.focus
        outer = f"?_f{depth}"
        focus = _FOCUS.sub(outer, self.focus)
        return f"{{ SELECT DISTINCT ?this WHERE {{ {focus} {outer} {self.path.sparql()} ?this }} }}"


def term(value: Any) -> str:
    """Return a shapes-graph term (rdflib) as SPARQL text; blank nodes cannot be named in a query."""
    if isinstance(value, URIRef):
        return f"<{value}>"
    if isinstance(value, Literal):
        return value.n3()
    if isinstance(value, BNode):
        raise ShapeError("a constraint parameter is a blank node, which a SPARQL query cannot name")
    raise ShapeError(f"unexpected constraint parameter {value!r}")


def same_term(variable: str, value: Any) -> str:
    """Return a SPARQL test that ``variable`` is the term ``value``. A plain string is compared by its parts:
    Virtuoso's sameTerm tells ``"a"`` from ``"a"^^xsd:string``, which RDF 1.1 makes one term."""
    if isinstance(value, Literal) and value.language is None and value.datatype in (None, _XSD_STRING):
        return (
            f'(isLiteral({variable}) && datatype({variable}) = <{_XSD_STRING}> && lang({variable}) = "" '
            f"&& STR({variable}) = {_string(str(value))})"
        )
    return f"sameTerm({variable}, {term(value)})"


def value_test(component: str, params: dict[str, Any], scope: Scope) -> str | None:
    """Return a SPARQL expression that is true when ``?value`` breaks the constraint, or None if the
    component is not tested value by value."""
    name = component.removeprefix(SH).removesuffix("ConstraintComponent")
    if name == "Datatype":
        return _datatype_test(str(params["datatype"]))
    if name == "NodeKind":
        kind = str(params["nodeKind"]).removeprefix(SH)
        if kind not in _NODE_KINDS:
            raise ShapeError(f"sh:nodeKind {kind!r} is not a SHACL node kind")
        return f"!{_NODE_KINDS[kind]}"
    if name in ("MinExclusive", "MinInclusive", "MaxExclusive", "MaxInclusive"):
        parameter = name[0].lower() + name[1:]
        return f"!COALESCE(?value {_COMPARISONS[parameter]} {term(params[parameter])}, false)"
    if name in ("MinLength", "MaxLength"):
        operator, bound = (">=", params["minLength"]) if name == "MinLength" else ("<=", params["maxLength"])
        return f"(isBlank(?value) || !COALESCE(STRLEN(STR(?value)) {operator} {bound}, false))"
    if name == "Pattern":
        pattern, flags = params["pattern"]
        return f"(isBlank(?value) || !COALESCE(REGEX(STR(?value), {_string(pattern)}, {_string(flags)}), false))"
    if name == "LanguageIn":
        tags = " || ".join(f"langMatches(lang(?value), {_string(str(tag))})" for tag in params["languageIn"])
        return f"(!isLiteral(?value) || !({tags or 'false'}))"
    if name == "In":
        members = " || ".join(same_term("?value", member) for member in params["in"])
        return f"!({members or 'false'})"
    return None  # sh:class needs the class's subclasses: see class_test


def class_test(classes: list[str]) -> str:
    """Return the expression true when ``?value`` is not an instance of any of ``classes`` (IRIs)."""
    values = " ".join(f"<{c}>" for c in classes)
    return f"NOT EXISTS {{ ?value {RDF_TYPE} ?_class . VALUES ?_class {{ {values} }} }}"


def _datatype_test(datatype: str) -> str:
    wrong = f"(!isLiteral(?value) || datatype(?value) != <{datatype}>"
    if datatype in _NORMALISED:
        return "true"  # Oxigraph keeps this datatype only on values it could not read
    if datatype in _CASTABLE:
        cast = f"<{datatype}>(?value)"
        return f"{wrong} || isIRI(COALESCE({cast}, {ILL_FORMED})))"  # an IRI: the cast failed
    return wrong + ")"


def _string(text: str) -> str:
    return Literal(text).n3()


def focus_query(component: str, params: dict[str, Any], scope: Scope) -> str | None:
    """Return a SELECT of ``?this`` (and ``?value``) for a component checked per focus node, or None."""
    name = component.removeprefix(SH).removesuffix("ConstraintComponent")
    focus, values = scope.focus, scope.values()
    if name == "MinCount":
        if params["minCount"] <= 0:
            return ""
        if params["minCount"] == 1:
            return f"SELECT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {values} }} }}"
        return (
            f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ {values} }} }} "
            f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {params['minCount']})"
        )
    if name == "MaxCount":
        return (
            f"SELECT ?this WHERE {{ {focus} {values} }} "
            f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {params['maxCount']})"
        )
    if name == "HasValue":
        wanted = same_term("?value", params["hasValue"])
        return f"SELECT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ {values} FILTER({wanted}) }} }}"
    if name == "UniqueLang":
        if not params["uniqueLang"]:
            return ""
        other = scope.values("?_other")
        same_language = "LCASE(lang(?value)) = LCASE(lang(?_other))"
        return (
            f"SELECT DISTINCT ?this WHERE {{ {focus} {values} {other} "
            f'FILTER(isLiteral(?value) && lang(?value) != "" && {same_language} && !sameTerm(?value, ?_other)) }}'
        )
    if name in ("Equals", "Disjoint", "LessThan", "LessThanOrEquals"):
        return _pair_query(name, term(params[name[0].lower() + name[1:]]), scope)
    return None


def _pair_query(name: str, other: str, scope: Scope) -> str:
    """Return the query of a property pair component: values of the path compared with those of ``other``."""
    focus, values = scope.focus, scope.values()
    if name == "Equals":
        if scope.path is None:  # the value node is the focus node itself
            missing_here = f"{{ {focus} ?this {other} ?value FILTER(!sameTerm(?value, ?this)) }}"
        else:
            missing_here = f"{{ {focus} ?this {other} ?value FILTER NOT EXISTS {{ {values} }} }}"
        missing_there = f"{{ {focus} {values} FILTER NOT EXISTS {{ ?this {other} ?value }} }}"
        return f"SELECT ?this ?value WHERE {{ {missing_there} UNION {missing_here} }}"
    if name == "Disjoint":
        return f"SELECT ?this ?value WHERE {{ {focus} {values} ?this {other} ?value }}"
    operator = "<" if name == "LessThan" else "<="
    return (
        f"SELECT ?this ?value WHERE {{ {focus} {values} ?this {other} ?_other "
        f"FILTER(!COALESCE(?value {operator} ?_other, false)) }}"
    )


def closed_query(allowed: list[str], scope: Scope) -> str:
    """Return the query of sh:closed: triples of the focus node whose predicate no property shape allows."""
    listed = ", ".join(f"<{p}>" for p in allowed)
    condition = f"FILTER(?path NOT IN ({listed}))" if listed else ""
    return f"SELECT ?this ?path ?value WHERE {{ {scope.focus} ?this ?path ?value {condition} }}"
