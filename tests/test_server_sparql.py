"""The SPARQL endpoint of `provml serve` against the SPARQL 1.1 Protocol and real clients.

One server (with a token) holds the small lifecycle (tests/fixtures/lifecycle), the three one-triple graphs
of the W3C protocol tests (data1..3) and a graph of awkward terms; a copy of its store, taken before it
started, answers the same queries directly, so every answer over HTTP is compared with the store's own.
Updates write graphs of their own (urn:test:...), which no compared query reads.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from conftest import LIFECYCLE, load_file
from live_server import TOKEN, Server
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import CSV, JSON, JSONLD, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed, Unauthorized

from provml.canned import shipped
from provml.errors import LimitError, NotAcceptable
from provml.server import results
from provml.store import Store, Term

DATA = "http://kasei.us/2009/09/sparql/data/"
D0, D1, D2, D3 = (f"{DATA}data{n}.rdf" for n in range(4))  # data0 is named by the W3C tests but never loaded
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
TERMS_GRAPH = "urn:test:terms"
TERMS = r"""@prefix ex: <http://example.org/terms#> .
ex:s ex:p "plain", "hi"@en-GB, 42, 2.5, 1.0e3, true, "x"^^ex:datatype, ex:object, _:inner, "",
    "quote \" comma , tab \t newline \n return \r backslash \\ end", " leading and trailing ", "<&>'", "café 😀" .
_:inner ex:q "in a blank node" .
"""
# every kind of term, an unbound ?lang for IRIs and blank nodes, an unbound ?inner for all but one
TERMS_QUERY = f"""PREFIX ex: <http://example.org/terms#>
SELECT ?o ?lang ?inner WHERE {{ GRAPH <{TERMS_GRAPH}> {{ ex:s ex:p ?o OPTIONAL {{ ?o ex:q ?inner }} }}
  BIND(LANG(?o) AS ?lang) }} ORDER BY STR(?o) ?inner"""
FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
RESULT_FORMATS = {
    "json": ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    "xml": ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    "tsv": ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
}
RDF_FORMATS = results.GRAPH_TYPES  # format name -> media type, as the server offers them
# values of the canned queries' required parameters that find something in the lifecycle
CANNED_VALUES = {
    "run": "train-a",
    "runA": "train-a",
    "runB": "train-b",
    "model": "unet-b",
    "workflow": "sweep-1",
    "dataset": "train split",
    "entity": "urn:provml:model/unet-b",
    "concept": "https://geo.example/SeismicSurvey",  # no domain ontology linked: the concept itself
}


@dataclass
class Served:
    """The running server, and a copy of its store as it was when the server started."""

    server: Server
    copy: Store

    @property
    def endpoint(self) -> str:
        return f"{self.server.url}/sparql"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sparql-server")
    with Store(root / "store") as db:
        for path in sorted(LIFECYCLE.glob("*.jsonl")):
            load_file(db, path)
        for graph in (D1, D2, D3):
            db.add_rdf(f"<{graph}> <{RDF_TYPE}> <{FOAF_DOCUMENT}> .".encode(), "ntriples", graph=graph)
        db.add_rdf(TERMS.encode(), "turtle", graph=TERMS_GRAPH)
        db.snapshot(root / "copy")
    server = Server(root / "store")
    copy = Store(root / "copy")
    yield Served(server, copy)
    server.stop()
    copy.close()


@pytest.fixture
def exact_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    """rdflib writes "1000"^^xsd:double as 1000.0 unless told to keep the text of literals."""
    monkeypatch.setattr(rdflib, "NORMALIZE_LITERALS", False)


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.server.url, timeout=60) as http:
        yield http


def error_of(response: httpx.Response, status: int) -> str:
    """Check an error answer: its status, a JSON body {"error": message} and no traceback; return the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response.json()["error"]


def key(term: Any) -> tuple[str, str, str | None, str | None] | None:
    """A comparable (kind, value, datatype, language) of a provml, pyoxigraph or rdflib term."""
    if term is None:
        return None
    if isinstance(term, Term):
        kind, value, datatype, language = term
    elif isinstance(term, (ox.NamedNode, ox.BlankNode)):
        kind, value, datatype, language = "iri" if isinstance(term, ox.NamedNode) else "bnode", term.value, None, None
    elif isinstance(term, (rdflib.URIRef, rdflib.BNode)):
        kind, value, datatype, language = "iri" if isinstance(term, rdflib.URIRef) else "bnode", str(term), None, None
    elif isinstance(term, ox.Literal):
        kind, value, datatype, language = "literal", term.value, term.datatype.value, term.language
    else:
        assert isinstance(term, rdflib.Literal), term
        kind, value, language = "literal", str(term), term.language
        datatype = str(term.datatype) if term.datatype else XSD_STRING
    return kind, value, None if language or datatype == RDF_LANG_STRING else datatype, language


def text_only(rows: list[tuple[Any, ...]]) -> list[tuple[str | None, ...]]:
    """What CSV keeps of each term: its text (blank nodes renamed), an empty cell for unbound and empty strings."""
    return [tuple((k[1] or None) if k is not None else None for k in row) for row in rows]


def csv_cells(body: bytes) -> list[list[str]]:
    """The cells of a CSV document, with every blank node label the same."""
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    return [["_:" if cell.startswith("_:") else cell for cell in row] for row in rows]


def dom_rows(document: Any) -> list[tuple[Any, ...]]:
    """The rows of a SPARQL XML results document that SPARQLWrapper read into a DOM."""
    variables = [v.getAttribute("name") for v in document.getElementsByTagName("variable")]
    rows = []
    for result in document.getElementsByTagName("result"):
        bound = {}
        for binding in result.getElementsByTagName("binding"):
            (node,) = [n for n in binding.childNodes if n.nodeType == n.ELEMENT_NODE]
            text = "".join(child.data for child in node.childNodes)
            kind = {"uri": "iri", "bnode": "bnode"}.get(node.tagName, "literal")
            language = node.getAttribute("xml:lang") or None
            datatype = node.getAttribute("datatype") or (XSD_STRING if kind == "literal" and not language else None)
            bound[binding.getAttribute("name")] = (kind, text, datatype, language)
        rows.append(tuple(bound.get(v) for v in variables))
    return relabel(rows)


def solutions(body: bytes, format: ox.QueryResultsFormat) -> list[tuple[Any, ...]]:
    """Parse a SPARQL results document with pyoxigraph; rows of term keys, blank nodes named in order."""
    parsed = ox.parse_query_results(body, format)
    rows = [tuple(key(solution[v]) for v in parsed.variables) for solution in parsed]
    return relabel(rows)


def relabel(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Name blank nodes b0, b1... in order of appearance: each parser names them its own way."""
    names: dict[str, str] = {}

    def one(k: Any) -> Any:
        if k is not None and k[0] == "bnode":
            return ("bnode", names.setdefault(k[1], f"b{len(names)}"), None, None)
        return k

    return [tuple(one(k) for k in row) for row in rows]


def store_rows(store: Store, sparql: str, **dataset: Any) -> list[tuple[Any, ...]]:
    return relabel([tuple(key(t) for t in row) for row in store.query(sparql, **dataset)])


def store_serialized(store: Store, sparql: str, format: str) -> bytes:
    output = io.BytesIO()
    store.query(sparql).serialize(output, format)
    return output.getvalue()


def triples(body: bytes, media_type: str) -> set[tuple[str, str, str]]:
    """The triples of an RDF document (of any syntax, a dataset's graphs merged), parsed by pyoxigraph."""
    parsed = ox.parse(body, ox.RdfFormat.from_media_type(media_type.split(";")[0]))
    return {(str(t.subject), str(t.predicate), str(t.object)) for t in parsed}


def ask(client: httpx.Client, sparql: str, **params: Any) -> bool:
    response = client.get("/sparql", params={"query": sparql, **params})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


# -- the W3C protocol tests (sparql11/protocol/manifest.ttl), with the negative checks they imply ------------

ASK_1_AND_2 = f"ASK {{ <{D1}> a ?type . <{D2}> a ?type . }}"
ASK_GRAPHS_1_2 = f"ASK {{ GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}"
ASK_FULL = f"ASK {{ <{D3}> a ?type . GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}"
# name, method, URL parameters, body (None: a GET), content type, expected boolean
W3C_QUERIES = [
    ("query_get", "GET", [("query", "ASK {}"), ("default-graph-uri", D0)], None, None, True),
    ("query_post_form", "POST", [("default-graph-uri", D0)], "query=ASK%20%7B%7D", FORM, True),
    ("query_post_direct", "POST", [], "ASK {}", QUERY_TYPE, True),
    (
        "query_dataset_default_graphs_get",
        "GET",
        [("query", ASK_1_AND_2), ("default-graph-uri", D1), ("default-graph-uri", D2)],
        None,
        None,
        True,
    ),
    (
        "query_dataset_default_graphs_post",
        "POST",
        [("default-graph-uri", D1), ("default-graph-uri", D2)],
        ASK_1_AND_2,
        QUERY_TYPE,
        True,
    ),
    (
        "query_dataset_named_graphs_post",
        "POST",
        [("named-graph-uri", D1), ("named-graph-uri", D2)],
        ASK_GRAPHS_1_2,
        QUERY_TYPE,
        True,
    ),
    (
        "query_dataset_named_graphs_get",
        "GET",
        [("query", ASK_GRAPHS_1_2), ("named-graph-uri", D1), ("named-graph-uri", D2)],
        None,
        None,
        True,
    ),
    (
        "query_dataset_full",
        "POST",
        [("default-graph-uri", D3), ("named-graph-uri", D1), ("named-graph-uri", D2)],
        ASK_FULL,
        QUERY_TYPE,
        True,
    ),
    (
        "query_multiple_dataset",
        "POST",
        [("named-graph-uri", D1), ("named-graph-uri", D2)],
        f"ASK FROM <{D3}> {{ GRAPH ?g1 {{ <{D1}> a ?type }} GRAPH ?g2 {{ <{D2}> a ?type }} }}",
        QUERY_TYPE,
        True,
    ),
    ("one default graph alone", "GET", [("query", ASK_1_AND_2), ("default-graph-uri", D1)], None, None, False),
    ("named graphs stay out of the default graph", "POST", [("named-graph-uri", D1)], f"ASK {{ <{D1}> a ?t }}", QUERY_TYPE, False),
    ("GRAPH sees only the named graphs given", "GET", [("query", ASK_GRAPHS_1_2), ("named-graph-uri", D1)], None, None, False),
    ("the protocol dataset replaces FROM", "GET", [("query", f"ASK FROM <{D3}> {{ <{D3}> a ?t }}"), ("default-graph-uri", D1)], None, None, False),
    ("FROM without a protocol dataset", "GET", [("query", f"ASK FROM <{D3}> {{ <{D3}> a ?t }}")], None, None, True),
    ("FROM chooses the default graph", "GET", [("query", f"ASK FROM <{D1}> {{ <{D3}> a ?t }}")], None, None, False),
    ("without a dataset the default graph is the union", "GET", [("query", ASK_1_AND_2)], None, None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "params", "body", "content_type", "expected"),
    [case[1:] for case in W3C_QUERIES],
    ids=[case[0] for case in W3C_QUERIES],
)
def test_w3c_protocol_queries_and_the_dataset_they_name(
    served: Served,
    client: httpx.Client,
    method: str,
    params: list[tuple[str, str]],
    body: str | None,
    content_type: str | None,
    expected: bool,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.request(method, "/sparql", params=params, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/sparql-results+json"
    assert response.json()["boolean"] is expected
    # the same query on the store itself
    sparql = body if content_type == QUERY_TYPE else dict(params).get("query", "ASK {}")
    defaults = [v for k, v in params if k == "default-graph-uri"]
    named = [v for k, v in params if k == "named-graph-uri"]
    given = bool(defaults or named)
    dataset = {"graphs": defaults, "named_graphs": named} if given else {"union": "FROM" not in sparql}
    direct = served.copy.query(sparql, **dataset)  # Store.query makes the union of FROM unless told not to
    assert bool(direct) is expected


def test_a_select_by_get_post_form_and_post_direct_gives_the_stores_answer(
    served: Served, client: httpx.Client
) -> None:
    expected = store_rows(served.copy, TERMS_QUERY)
    assert len(expected) == 14 and expected.count(expected[0]) == 1
    by_get = client.get("/sparql", params={"query": TERMS_QUERY})
    by_form = client.post("/sparql", data={"query": TERMS_QUERY})
    by_direct = client.post("/sparql", content=TERMS_QUERY.encode(), headers={"Content-Type": QUERY_TYPE})
    for response in (by_get, by_form, by_direct):
        assert response.status_code == 200, response.text
        assert solutions(response.content, ox.QueryResultsFormat.JSON) == expected


@pytest.mark.parametrize("name", RESULT_FORMATS)
@pytest.mark.parametrize("by", ["accept", "format"])
def test_select_results_parse_back_to_the_stores_answer(
    served: Served, client: httpx.Client, name: str, by: str
) -> None:
    """Language tags, datatypes, blank nodes, unbound values, quotes, tabs, newlines, CR, commas, spaces."""
    media, format = RESULT_FORMATS[name]
    request = {"headers": {"Accept": media}} if by == "accept" else {"params": {"format": name}}
    response = client.post("/sparql", data={"query": TERMS_QUERY}, **request)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media
    assert response.headers["vary"] == "Accept"
    theirs = solutions(store_serialized(served.copy, TERMS_QUERY, name), format)  # pyoxigraph's own writer
    assert solutions(response.content, format) == theirs == store_rows(served.copy, TERMS_QUERY)


@pytest.mark.parametrize("name", ["json", "xml", "csv", "tsv"])
@pytest.mark.usefixtures("exact_literals")
def test_select_results_parse_back_with_rdflib(served: Served, client: httpx.Client, name: str) -> None:
    """rdflib's parsers are stricter XML readers than pyoxigraph's: a raw CR would come back as LF."""
    response = client.get("/sparql", params={"query": TERMS_QUERY, "format": name})
    parsed = rdflib.query.Result.parse(io.BytesIO(response.content), format=name)
    rows = relabel([tuple(key(term) for term in row) for row in parsed])
    expected = store_rows(served.copy, TERMS_QUERY)
    if name == "csv":  # CSV keeps only the text of each term; rdflib skips a row of empty cells
        assert [r for r in text_only(rows) if any(r)] == [r for r in text_only(expected) if any(r)]
    else:
        assert rows == expected


def test_csv_is_the_text_pyoxigraph_writes(served: Served, client: httpx.Client) -> None:
    """pyoxigraph cannot read CSV back (it is lossy): compare the cells, blank nodes aside, with its writer's."""
    ours = client.get("/sparql", params={"query": TERMS_QUERY}, headers={"Accept": "text/csv"})
    assert ours.headers["content-type"] == "text/csv; charset=utf-8"
    theirs = store_serialized(served.copy, TERMS_QUERY, "csv")
    assert csv_cells(ours.content) == csv_cells(theirs)
    assert csv_cells(ours.content)[0] == ["o", "lang", "inner"]
    assert ours.content.endswith(b"\r\n")


@pytest.mark.parametrize("name", ["json", "xml"])
def test_ask_comes_as_json_or_xml(client: httpx.Client, name: str) -> None:
    media, format = RESULT_FORMATS[name]
    for sparql, expected in ((f"ASK {{ <{D1}> a ?t }}", True), ("ASK { <urn:nothing> ?p ?o }", False)):
        response = client.get("/sparql", params={"query": sparql}, headers={"Accept": media})
        assert response.headers["content-type"] == media
        assert bool(ox.parse_query_results(response.content, format)) is expected
        assert rdflib.query.Result.parse(io.BytesIO(response.content), format=name).askAnswer is expected


def test_an_ask_cannot_come_as_csv(client: httpx.Client) -> None:
    message = error_of(client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "text/csv"}), 406)
    assert "application/sparql-results+json" in message


@pytest.mark.parametrize("name", RDF_FORMATS)
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_graph_results_in_every_rdf_syntax_by_accept_and_by_format(
    served: Served, client: httpx.Client, name: str, form: str
) -> None:
    (train_a,) = [d.graph for d in served.copy.dumps() if "train-a" in d.graph]
    if form == "CONSTRUCT":
        sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{train_a}> {{ ?s ?p ?o }} }}"
    else:
        sparql = "DESCRIBE <urn:provml:model/unet-a>"
    expected = {
        (str(ox.NamedNode(s.value)), str(ox.NamedNode(p.value)), str(_ox(o))) for s, p, o in served.copy.query(sparql)
    }
    assert len(expected) > 5
    media = RDF_FORMATS[name]
    by_accept = client.get("/sparql", params={"query": sparql}, headers={"Accept": media})
    by_format = client.get("/sparql", params={"query": sparql, "format": name})
    for response in (by_accept, by_format):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media
        assert triples(response.content, media) == expected


def _ox(term: Term) -> Any:
    if term.kind == "iri":
        return ox.NamedNode(term.value)
    assert term.kind == "literal", "the lifecycle has no blank nodes"
    if term.language:
        return ox.Literal(term.value, language=term.language)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
        ("application/sparql-results+json;q=0.1, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
        ("application/sparql-results+json;q=0, */*", "application/sparql-results+xml"),  # q=0 refuses JSON
        ("image/png, text/*;q=0.2", "text/csv"),
        ("application/json", "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        (None, "application/sparql-results+json"),
    ],
)
def test_select_content_negotiation_with_q_values(client: httpx.Client, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get("/sparql", params={"query": "SELECT (1 AS ?value) {}"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/rdf+xml;q=0.4, application/n-triples;q=0.8", "application/n-triples"),
        ("text/*", "text/turtle"),
        ("application/*, text/turtle;q=0.1", "application/n-triples"),  # the range's first RDF format
        ("application/xml", "application/rdf+xml"),  # an XML answer to a CONSTRUCT is RDF/XML
        ("application/sparql-results+json, application/ld+json;q=0.5", "application/ld+json"),
    ],
)
def test_graph_content_negotiation_with_q_values(client: httpx.Client, accept: str, expected: str) -> None:
    response = client.get(
        "/sparql", params={"query": "CONSTRUCT { <urn:a> <urn:b> 1 } WHERE {}"}, headers={"Accept": accept}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize(
    ("query", "request_options"),
    [
        ("SELECT (1 AS ?value) {}", {"headers": {"Accept": "image/png"}}),
        ("SELECT (1 AS ?value) {}", {"headers": {"Accept": "text/turtle, application/sparql-results+json;q=0"}}),
        ("SELECT (1 AS ?value) {}", {"params": {"format": "turtle"}}),
        ("CONSTRUCT { <urn:a> <urn:b> 1 } WHERE {}", {"headers": {"Accept": "application/sparql-results+json"}}),
        ("ASK {}", {"headers": {"Accept": "text/*"}}),
    ],
)
def test_406_when_no_format_fits(client: httpx.Client, query: str, request_options: dict[str, Any]) -> None:
    params = {"query": query, **request_options.get("params", {})}
    message = error_of(client.get("/sparql", params=params, headers=request_options.get("headers")), 406)
    assert "format" in message or "cannot answer in" in message


def test_relative_iris_are_resolved_against_the_endpoint(served: Served, client: httpx.Client) -> None:
    """query_content_type_construct: CONSTRUCT { <s> <p> 1 } needs the service's base IRI."""
    response = client.post("/sparql", content="CONSTRUCT { <s> <p> 1 } WHERE {}", headers={"Content-Type": QUERY_TYPE})
    assert response.status_code == 200, response.text
    base = served.server.url
    one = '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'
    assert triples(response.content, response.headers["content-type"]) == {(f"<{base}/s>", f"<{base}/p>", one)}


@pytest.mark.parametrize(
    ("body", "expected"),
    [("SELECT (1 AS ?value) {}", "tabular"), ("ASK {}", "boolean"), ("DESCRIBE <http://example.org/>", "RDF")],
)
def test_w3c_content_type_tests(client: httpx.Client, body: str, expected: str) -> None:
    response = client.post("/sparql", content=body, headers={"Content-Type": QUERY_TYPE})
    assert response.status_code == 200, response.text
    media = response.headers["content-type"].split(";")[0]
    if expected == "RDF":
        assert triples(response.content, media) == set()  # nothing is known of http://example.org/
    else:
        parsed = ox.parse_query_results(response.content, ox.QueryResultsFormat.from_media_type(media))
        assert isinstance(parsed, ox.QuerySolutions if expected == "tabular" else ox.QueryBoolean)


def test_a_syntax_error_is_400_with_the_parsers_message(client: httpx.Client) -> None:
    with pytest.raises(SyntaxError) as parser:
        ox.Store().query("ASK {")
    message = error_of(client.get("/sparql", params={"query": "ASK {"}), 400)
    assert message.startswith("invalid SPARQL query") and str(parser.value) in message
    update = client.post("/sparql", data={"update": "CLEAR XYZ"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert error_of(update, 400).startswith("invalid SPARQL update")


@pytest.mark.parametrize("accept", [None, "application/rdf+xml", "application/ld+json", "application/n-triples"])
def test_get_without_a_query_describes_the_service(served: Served, client: httpx.Client, accept: str | None) -> None:
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    media = response.headers["content-type"].split(";")[0]
    assert media == (accept or "text/turtle")
    syntax = {"text/turtle": "turtle", "application/rdf+xml": "xml", "application/ld+json": "json-ld"}
    graph = rdflib.Graph().parse(data=response.content, format=syntax.get(media, "nt"))
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    (service,) = graph.subjects(rdflib.RDF.type, sd.Service)
    assert graph.value(service, sd.endpoint) == rdflib.URIRef(served.endpoint)
    assert {sd.SPARQL11Query, sd.SPARQL11Update} == set(graph.objects(service, sd.supportedLanguage))


def test_a_browser_without_a_query_is_sent_to_the_query_editor(client: httpx.Client) -> None:
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 303 and response.headers["location"].startswith("/")


@pytest.mark.parametrize(
    ("method", "params", "body", "headers", "status"),
    [
        ("PUT", [("query", "ASK {}")], "", {"Content-Type": FORM}, 405),  # bad_query_method
        ("GET", [("query", "ASK {}"), ("query", "SELECT * {}")], None, {}, 400),  # bad_multiple_queries
        ("POST", [], "ASK {}", {"Content-Type": "text/plain"}, 415),  # bad_query_wrong_media_type
        ("POST", [], "query=ASK%20%7B%7D", {}, 415),  # bad_query_missing_form_type
        ("POST", [], "ASK {}", {}, 415),  # bad_query_missing_direct_type
        ("POST", [], "ASK {}".encode("utf-16"), {"Content-Type": f"{QUERY_TYPE}; charset=UTF-16"}, 415),  # non_utf8
        ("POST", [], b"ASK { FILTER(\xff) }", {"Content-Type": QUERY_TYPE}, 400),  # says UTF-8, is not
        ("GET", [("query", "ASK {")], None, {}, 400),  # bad_query_syntax
        ("GET", [("update", "CLEAR ALL")], None, {}, 405),  # bad_update_get
        (
            "POST",
            [],
            "update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
            {"Content-Type": FORM},
            400,
        ),  # bad_multiple_updates
        ("POST", [], "CLEAR NAMED", {"Content-Type": "text/plain"}, 415),  # bad_update_wrong_media_type
        ("POST", [], "update=CLEAR%20NAMED", {}, 415),  # bad_update_missing_form_type
        ("POST", [], "CLEAR NAMED".encode("utf-16"), {"Content-Type": f"{UPDATE_TYPE}; charset=UTF-16"}, 415),
        ("POST", [], "update=CLEAR%20XYZ", {"Content-Type": FORM}, 400),  # bad_update_syntax
        (  # bad_update_dataset_conflict (and using-named-graph-uri is not supported anyway)
            "POST",
            [("using-named-graph-uri", "http://example/people")],
            "WITH <http://example/addresses> DELETE { ?s ?p ?o } INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }",
            {"Content-Type": UPDATE_TYPE},
            400,
        ),
        ("POST", [], "query=ASK%20%7B%7D&update=CLEAR%20ALL", {"Content-Type": FORM}, 400),  # both at once
    ],
)
def test_w3c_negative_protocol_tests_are_4xx(
    served: Served,
    client: httpx.Client,
    method: str,
    params: list[tuple[str, str]],
    body: str | bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    authorized = {**headers, "Authorization": f"Bearer {TOKEN}"}  # the updates are refused for themselves
    response = client.request(method, "/sparql", params=params, content=body, headers=authorized)
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    assert ask(client, f"ASK {{ <{D1}> a ?t }}")  # nothing was cleared


def test_updates_by_form_and_direct_need_the_token_and_the_next_query_sees_them(
    served: Served, client: httpx.Client
) -> None:
    graph = f"urn:test:update/{uuid.uuid4()}"
    insert = f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:a> <urn:b> 'form' }} }}"
    direct = f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:a> <urn:b> 'direct' }} }}"
    count = f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ <urn:a> <urn:b> ?o }} }} ORDER BY ?o"

    def values() -> list[str]:
        response = client.get("/sparql", params={"query": count})
        return [b["o"]["value"] for b in response.json()["results"]["bindings"]]

    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic eDp5"}, 401),
    ):
        refused = client.post("/sparql", data={"update": insert}, headers=headers)
        message = error_of(refused, status)
        assert TOKEN not in message
        if status == 401:
            assert refused.headers["www-authenticate"] == "Bearer"
        refused = client.post("/sparql", content=direct, headers={"Content-Type": UPDATE_TYPE, **headers})
        assert refused.status_code == status
    assert values() == []
    token = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/sparql", data={"update": insert}, headers=token).status_code == 204
    assert values() == ["form"]
    response = client.post(
        "/sparql", content=direct, headers={"Content-Type": f"{UPDATE_TYPE}; charset=UTF-8", **token}
    )
    assert response.status_code == 204
    assert values() == ["direct", "form"]


def test_relative_iris_of_an_update_are_resolved_against_the_endpoint(served: Served, client: httpx.Client) -> None:
    """update_base_uri."""
    graph = f"urn:test:base/{uuid.uuid4()}"
    update = f"INSERT DATA {{ GRAPH <{graph}> {{ <s> <p> <test> }} }}"
    response = client.post(
        "/sparql", content=update, headers={"Content-Type": UPDATE_TYPE, "Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 204, response.text
    assert ask(
        client, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} FILTER(isIRI(?o) && STR(?o) = '{served.server.url}/test') }}"
    )


# -- result formats, without a server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def terms_store() -> Iterator[Store]:
    with Store() as store:
        store.add_rdf(TERMS.encode(), "turtle", graph=TERMS_GRAPH)
        yield store


@pytest.mark.parametrize(
    ("kind", "accept", "requested", "expected"),
    [
        ("select", None, None, "json"),
        ("ask", "*/*", None, "json"),
        ("graph", None, None, "turtle"),
        ("select", "text/csv;q=0.5, application/sparql-results+xml", None, "xml"),
        ("select", "application/sparql-results+json;q=0, */*", None, "xml"),
        ("select", "APPLICATION/SPARQL-RESULTS+XML", None, "xml"),
        ("select", "application/sparql-results+json; charset=utf-8", None, "json"),
        ("select", "text/*", None, "csv"),
        ("graph", "text/*", None, "turtle"),
        ("graph", "application/*", None, "ntriples"),
        ("graph", "text/turtle;q=0, text/*", None, None),
        ("select", "application/xml", None, "xml"),
        ("graph", "application/xml", None, "rdfxml"),
        ("graph", "application/json", None, "jsonld"),
        ("select", "text/csv", "tsv", "tsv"),  # format= wins over Accept
        ("select", None, "text/tab-separated-values", "tsv"),
        ("select", None, "tsv,text/tab-separated-values", "tsv"),  # what SPARQLWrapper sends
        ("graph", None, "xml", "rdfxml"),
        ("graph", None, "rdf+xml,application/rdf+xml", "rdfxml"),
        ("graph", None, "json-ld,application/ld+json", "jsonld"),
        ("graph", None, "n3", "turtle"),
        ("select", "image/png", None, None),
        ("select", "text/html", None, None),
        ("ask", "text/csv", None, None),
        ("ask", "text/*", None, None),
        ("select", None, "turtle", None),
        ("graph", "application/sparql-results+json", None, None),
    ],
)
def test_choose_format(kind: str, accept: str | None, requested: str | None, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(NotAcceptable):
            results.choose_format(kind, accept, requested)
    else:
        assert results.choose_format(kind, accept, requested) == expected


SOLUTION_QUERIES = [
    TERMS_QUERY,
    "SELECT ?x WHERE { FILTER(false) }",  # no rows
    "SELECT * WHERE {}",  # one row, no variables
    "SELECT ?a ?b WHERE { VALUES (?a ?b) { (1 UNDEF) (UNDEF 'x'@fr) (UNDEF UNDEF) } }",
]


@pytest.mark.parametrize("name", RESULT_FORMATS)
@pytest.mark.parametrize("sparql", SOLUTION_QUERIES, ids=["terms", "empty", "no variables", "undef"])
def test_our_writers_agree_with_pyoxigraphs(terms_store: Store, name: str, sparql: str) -> None:
    format = RESULT_FORMATS[name][1]
    ours = results.write(terms_store.query(sparql), name, 1000)
    theirs = store_serialized(terms_store, sparql, name)
    assert solutions(ours, format) == solutions(theirs, format) == store_rows(terms_store, sparql)
    assert ox.parse_query_results(ours, format).variables == ox.parse_query_results(theirs, format).variables


@pytest.mark.parametrize("sparql", SOLUTION_QUERIES, ids=["terms", "empty", "no variables", "undef"])
def test_our_csv_is_pyoxigraphs(terms_store: Store, sparql: str) -> None:
    ours = results.write(terms_store.query(sparql), "csv", 1000)
    assert csv_cells(ours) == csv_cells(store_serialized(terms_store, sparql, "csv"))


@pytest.mark.parametrize("name", ["json", "xml"])
def test_our_booleans_parse_back(terms_store: Store, name: str) -> None:
    for sparql, expected in (("ASK { ?s ?p 42 }", True), ("ASK { ?s ?p 43 }", False)):
        written = results.write(terms_store.query(sparql), name, 1000)
        assert bool(ox.parse_query_results(written, RESULT_FORMATS[name][1])) is expected


def test_writers_stop_at_the_row_limit(terms_store: Store) -> None:
    for name in ("json", "xml", "csv", "tsv"):
        with pytest.raises(LimitError, match="more than 13 rows"):
            results.write(terms_store.query(TERMS_QUERY), name, 13)
        assert results.write(terms_store.query(TERMS_QUERY), name, 14)
    graph = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{TERMS_GRAPH}> {{ ?s ?p ?o }} }}"
    with pytest.raises(LimitError, match="more than 14 triples"):
        results.write(terms_store.query(graph), "ntriples", 14)
    assert len(results.write(terms_store.query(graph), "ntriples", 15).splitlines()) == 15


# -- real clients ------------------------------------------------------------------------------------------


def wrapper(served: Served, sparql: str, format: str) -> SPARQLWrapper:
    client = SPARQLWrapper(served.endpoint)
    client.setQuery(sparql)
    client.setReturnFormat(format)
    return client


def test_sparqlwrapper_select_in_json_xml_csv_and_tsv(served: Served) -> None:
    expected = store_rows(served.copy, TERMS_QUERY)
    as_json = wrapper(served, TERMS_QUERY, JSON).queryAndConvert()
    assert as_json["head"]["vars"] == ["o", "lang", "inner"]
    assert solutions(json.dumps(as_json).encode(), ox.QueryResultsFormat.JSON) == expected
    as_xml = wrapper(served, TERMS_QUERY, XML).queryAndConvert()  # a DOM document
    assert dom_rows(as_xml) == expected
    as_tsv = wrapper(served, TERMS_QUERY, TSV).queryAndConvert()  # SPARQLWrapper sends format=tsv twice
    assert solutions(as_tsv, ox.QueryResultsFormat.TSV) == expected
    as_csv = wrapper(served, TERMS_QUERY, CSV).queryAndConvert()
    assert csv_cells(as_csv) == csv_cells(store_serialized(served.copy, TERMS_QUERY, "csv"))


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")  # SPARQLWrapper's
def test_sparqlwrapper_ask_construct_and_describe(served: Served) -> None:
    assert wrapper(served, f"ASK {{ <{D2}> a ?t }}", JSON).queryAndConvert()["boolean"] is True
    (boolean,) = wrapper(served, "ASK { <urn:no> ?p ?o }", XML).queryAndConvert().getElementsByTagName("boolean")
    assert boolean.firstChild.data == "false"
    construct = f"CONSTRUCT {{ ?d a ?t }} WHERE {{ VALUES ?d {{ <{D1}> <{D3}> }} ?d a ?t }}"
    expected = {(rdflib.URIRef(d), rdflib.RDF.type, rdflib.URIRef(FOAF_DOCUMENT)) for d in (D1, D3)}
    for format in (XML, RDFXML, JSONLD):  # SPARQLWrapper gives an rdflib graph
        graph = wrapper(served, construct, format).queryAndConvert()
        assert set(graph) == expected, format
    turtle = wrapper(served, construct, TURTLE).queryAndConvert()  # bytes
    assert set(rdflib.Graph().parse(data=turtle, format="turtle")) == expected
    described = wrapper(served, "DESCRIBE <urn:provml:model/unet-a>", RDFXML).queryAndConvert()
    expected_described = served.copy.query("DESCRIBE <urn:provml:model/unet-a>").rows()
    assert len(described) == len(expected_described) > 5


def test_sparqlwrapper_query_by_post_and_bad_query(served: Served) -> None:
    client = wrapper(served, f"SELECT ?t WHERE {{ <{D3}> a ?t }}", JSON)
    client.setMethod(POST)
    assert client.queryAndConvert()["results"]["bindings"] == [{"t": {"type": "uri", "value": FOAF_DOCUMENT}}]
    with pytest.raises(QueryBadFormed, match="invalid SPARQL query"):
        wrapper(served, "SELECT ?x WHERE {", JSON).queryAndConvert()


@pytest.mark.parametrize("request_method", ["urlencoded", POSTDIRECTLY])
def test_sparqlwrapper_update_with_and_without_the_token(
    served: Served, client: httpx.Client, request_method: str
) -> None:
    graph = f"urn:test:sparqlwrapper/{uuid.uuid4()}"
    update = wrapper(served, f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:a> <urn:b> <urn:c> }} }}", JSON)
    update.setMethod(POST)
    update.setRequestMethod(request_method)
    with pytest.raises(Unauthorized):
        update.query()
    update.addCustomHttpHeader("Authorization", "Bearer wrong")
    with pytest.raises(urllib.error.HTTPError) as refused:
        update.query()
    assert refused.value.code == 403
    assert not ask(client, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    update.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    assert update.query().response.status == 204
    assert ask(client, f"ASK {{ GRAPH <{graph}> {{ <urn:a> <urn:b> <urn:c> }} }}")


@pytest.mark.usefixtures("exact_literals")
@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_queries(served: Served, method: str) -> None:
    graph = rdflib.Graph(SPARQLStore(query_endpoint=served.endpoint, method=method))
    rows = relabel([tuple(key(term) for term in row) for row in graph.query(TERMS_QUERY)])
    assert rows == store_rows(served.copy, TERMS_QUERY)
    assert graph.query(f"ASK {{ <{D1}> a <{FOAF_DOCUMENT}> }}").askAnswer is True
    constructed = graph.query(f"CONSTRUCT {{ ?d a ?t }} WHERE {{ GRAPH <{D2}> {{ ?d a ?t }} }}").graph
    assert set(constructed) == {(rdflib.URIRef(D2), rdflib.RDF.type, rdflib.URIRef(FOAF_DOCUMENT))}


def test_rdflib_sparqlupdatestore_writes_with_the_token_in_its_headers(served: Served, client: httpx.Client) -> None:
    name = rdflib.URIRef(f"urn:test:rdflib/{uuid.uuid4()}")
    triple = (rdflib.URIRef("urn:a"), rdflib.URIRef("urn:b"), rdflib.Literal("caf\u00e9", lang="fr"))
    anonymous = SPARQLUpdateStore(query_endpoint=served.endpoint, update_endpoint=served.endpoint)
    with pytest.raises(urllib.error.HTTPError) as refused:
        rdflib.Graph(anonymous, identifier=name).add(triple)
    assert refused.value.code == 401
    store = SPARQLUpdateStore(
        query_endpoint=served.endpoint, update_endpoint=served.endpoint, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    graph = rdflib.Graph(store, identifier=name)
    graph.add(triple)
    assert ask(client, f'ASK {{ GRAPH <{name}> {{ <urn:a> <urn:b> "café"@fr }} }}')
    assert set(graph) == {triple}  # read back through the same store
    graph.remove(triple)
    assert not ask(client, f"ASK {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")


# -- the canned queries ------------------------------------------------------------------------------------


def canned_values(name: str) -> dict[str, str]:
    query = shipped().get(name)
    return {p.name: CANNED_VALUES[p.name] for p in query.parameters if p.required and p.default is None}


def test_the_list_of_canned_queries_has_each_with_its_taxonomy(client: httpx.Client) -> None:
    listed = client.get("/queries").json()
    assert [q["name"] for q in listed] == [q.name for q in shipped()]
    for entry in listed:
        assert set(entry["taxonomy"]) == {"phase", "data", "timing", "direction"}
        assert all(entry["taxonomy"].values()), entry["name"]  # a tag of each dimension
        assert entry["url"] == f"/queries/{entry['name']}"
    training = client.get("/queries", params={"tag": "phase:training"}).json()
    assert training and all("phase:training" in q["tags"] for q in training) and len(training) < len(listed)


@pytest.mark.parametrize("name", [q.name for q in shipped()])
def test_a_canned_query_over_http_answers_as_on_the_store(served: Served, client: httpx.Client, name: str) -> None:
    values = canned_values(name)
    response = client.get(f"/queries/{name}", params=values)
    assert response.status_code == 200, response.text
    output = io.BytesIO()
    shipped().get(name).run(served.copy, values).serialize(output, "json")
    expected = solutions(output.getvalue(), ox.QueryResultsFormat.JSON)
    assert sorted(map(repr, solutions(response.content, ox.QueryResultsFormat.JSON))) == sorted(map(repr, expected))


def test_canned_answers_come_in_the_other_result_formats(served: Served, client: httpx.Client) -> None:
    expected = store_rows(served.copy, shipped().get("final-metrics").text({}))
    assert expected
    for name in ("xml", "tsv"):
        media, format = RESULT_FORMATS[name]
        response = client.get("/queries/final-metrics", headers={"Accept": media})
        assert response.headers["content-type"].split(";")[0] == media
        assert solutions(response.content, format) == expected
    assert client.get("/queries/final-metrics", params={"format": "csv"}).headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"entity": "not an iri"}, "entity"),
        ({"entity": "urn:provml:model/unet-b", "colour": "red"}, "colour"),
        ({}, "entity"),
    ],
)
def test_a_bad_canned_parameter_is_400_naming_it(client: httpx.Client, params: dict[str, str], named: str) -> None:
    message = error_of(client.get("/queries/entity-provenance", params=params), 400)
    assert repr(named) in message


def test_an_unknown_canned_query_is_404(client: httpx.Client) -> None:
    message = error_of(client.get("/queries/best-run"), 404)
    assert "best-run" in message and "best-runs" in message  # the close names


def test_the_openapi_has_an_operation_per_canned_query_with_its_parameters(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for query in shipped():
        operation = paths[f"/queries/{query.name}"]["get"]
        assert operation["summary"] == query.summary
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert set(parameters) == {p.name for p in query.parameters} | {"format"}
        for parameter in query.parameters:
            assert parameters[parameter.name]["required"] is parameter.required
            assert parameters[parameter.name]["in"] == "query"
    assert "/queries/{name}" not in paths
