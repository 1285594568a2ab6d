"""The W3C SHACL test suite (core, and the SHACL-SPARQL part), run by each validation engine.

The suite is vendored beside the repository, in ``../shared/conformance/shacl-core/`` (its README
says how tests are written). A test passes when the engine agrees with the expected report on
``sh:conforms`` and on the set of (focus node, path, constraint component), blank focus nodes being
equal to one another; a test expecting ``sht:Failure`` passes when validation raises ShapeError.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD
from rdflib.term import Node

from provml.errors import ShapeError
from provml.store import Store, Term
from provml.validation import ENGINES, Shapes, validate
from provml.validation.paths import read_path

SUITE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "shacl-core" / "tests"
if not (SUITE / "manifest.ttl").is_file():
    pytest.skip(
        f"the W3C SHACL test suite is not at {SUITE} (clone `shared` beside the repository)", allow_module_level=True
    )

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
BLANK = "blank node"  # what every blank focus node is compared as
NUMBERS = {XSD.integer, XSD.decimal, XSD.double, XSD.float}

_SUBSTITUTION = "pySHACL pre-binds $this with Oxigraph's substitutions, which nested groups do not see"
_PROJECTION = "pySHACL pre-binds parameters that the SELECT does not project, and Oxigraph refuses that"
PYSHACL_FAILS = {  # what pySHACL 0.40.1 gets wrong on an Oxigraph store
    "core/property/uniqueLang-002": 'pySHACL takes sh:uniqueLang "1"^^xsd:boolean for true',
    "sparql/pre-binding/shapesGraph-001": "pySHACL does not support $shapesGraph",
    "sparql/pre-binding/pre-binding-003": _SUBSTITUTION,
    "sparql/pre-binding/pre-binding-004": _SUBSTITUTION,
    "sparql/pre-binding/pre-binding-005": _SUBSTITUTION,
    "sparql/component/optional-001": _PROJECTION,
    "sparql/component/propertyValidator-select-001": _PROJECTION,
    "sparql/component/validator-001": _PROJECTION,
    "sparql/node/prefixes-001": "pySHACL does not follow owl:imports to find sh:declare (rdflib data hides it)",
}

# SPARQL-based constraint components and $shapesGraph: the fast engine hands them to pySHACL, which fails them
FALLBACK_FAILS = {
    name: f"the fast engine hands this test to pySHACL: {PYSHACL_FAILS[name]}"
    for name in (
        "sparql/pre-binding/shapesGraph-001",
        "sparql/component/optional-001",
        "sparql/component/propertyValidator-select-001",
        "sparql/component/validator-001",
    )
}

Expected = tuple[object, str | None, str]  # (focus node, path as SPARQL, constraint component)


@dataclass(frozen=True)
class SuiteTest:
    """One sht:Validate entry: its files, and the report (None: sht:Failure) it expects."""

    name: str  # the test's IRI relative to the suite, e.g. core/node/class-001
    data: Path
    shapes: Path
    conforms: bool | None
    results: frozenset[Expected]


def file_path(iri: Node) -> Path:
    """Return the file of a file: IRI."""
    return Path(unquote(urlparse(str(iri)).path))


def read_manifest(path: Path) -> list[SuiteTest]:
    """Return the tests of a manifest file and of the manifests it includes."""
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    manifest = URIRef(path.as_uri())
    tests = [test for included in graph.objects(manifest, MF.include) for test in read_manifest(file_path(included))]
    for entries in graph.objects(manifest, MF.entries):
        tests += [read_test(graph, entry) for entry in Collection(graph, entries)]
    return tests


def read_test(graph: Graph, entry: Node) -> SuiteTest:
    """Return the test of a manifest entry."""
    action, expected = graph.value(entry, MF.action), graph.value(entry, MF.result)
    name = str(entry).removeprefix(SUITE.as_uri() + "/")
    data, shapes = file_path(graph.value(action, SHT.dataGraph)), file_path(graph.value(action, SHT.shapesGraph))
    if expected == SHT.Failure:
        return SuiteTest(name, data, shapes, None, frozenset())
    results = frozenset(
        (
            comparable(graph.value(result, SH.focusNode)),
            path_text(graph, graph.value(result, SH.resultPath)),
            str(graph.value(result, SH.sourceConstraintComponent)),
        )
        for result in graph.objects(expected, SH.result)
    )
    return SuiteTest(name, data, shapes, graph.value(expected, SH.conforms).toPython(), results)


def path_text(graph: Graph, node: Node | None) -> str | None:
    """Return a result path in the canonical form of ``ValidationResult.key()``."""
    return None if node is None else read_path(graph, node).sparql()


def comparable(node: Node) -> object:
    """Return a focus node as compared: blank nodes all alike, plain literals as xsd:string ones, and
    numbers by value (Oxigraph stores "4.0"^^xsd:decimal as "4"^^xsd:decimal)."""
    if isinstance(node, BNode):
        return BLANK
    if isinstance(node, Literal) and node.datatype in NUMBERS and isinstance(node.toPython(), (int, float, Decimal)):
        return ("number", float(node.toPython()))
    if isinstance(node, Literal) and node.datatype == XSD.string:
        return Literal(str(node))
    return node


def rdflib_term(term: Term) -> Node:
    """Return a provml term as an rdflib one (literals normalised by rdflib, as the expected ones are)."""
    if term.kind == "bnode":
        return BNode(term.value)
    if term.kind == "literal":
        return Literal(term.value, lang=term.language, datatype=None if term.language else term.datatype)
    return URIRef(term.value)


def cases() -> list[pytest.param]:
    """Return one pytest parameter per test and engine, known pySHACL failures marked xfail."""
    params = []
    for test in read_manifest(SUITE / "manifest.ttl"):
        for engine in ENGINES:
            known = PYSHACL_FAILS if engine == "pyshacl" else FALLBACK_FAILS
            marks = [pytest.mark.xfail(strict=True, reason=known[test.name])] if test.name in known else []
            params.append(pytest.param(test, engine, id=f"{test.name}[{engine}]", marks=marks))
    return params


def run(test: SuiteTest, engine: str) -> tuple[bool, frozenset[Expected]]:
    """Validate the test's data with its shapes; return conformance and the (focus, path, component) set."""
    store = Store()
    store.add_rdf(test.data, "turtle", base_iri=test.data.as_uri())
    shapes = Shapes.from_files([test.shapes])
    report = validate(store, shapes, engine=engine, ontology=False)
    return report.conforms, frozenset((comparable(rdflib_term(r.focus)), *r.key()[1:]) for r in report.results)


@pytest.mark.parametrize(("test", "engine"), cases())
def test_w3c_shacl(test: SuiteTest, engine: str) -> None:
    if test.conforms is None:
        with pytest.raises(ShapeError):
            run(test, engine)
        return
    conforms, results = run(test, engine)
    assert (conforms, results) == (test.conforms, test.results)
