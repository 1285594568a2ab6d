"""What the remote-store backend relies on in a real Virtuoso: SPARQL 1.1 Query and Update over HTTP, the Graph
Store Protocol, and the ways its answers differ from Oxigraph's (docs/SCALING.md lists them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from rdflib import XSD, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from virtuoso import Virtuoso, missing

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

GRAPH = "urn:provml:test/virtuoso"
TURTLE = """@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:ex:model> a prov:Entity ; prov:wasGeneratedBy <urn:ex:run> ; <urn:ex:score> "1"^^xsd:double .
<urn:ex:run> a prov:Activity ; prov:startedAtTime "2026-01-02T03:04:05Z"^^xsd:dateTime .
"""


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    yield server
    server.stop()


def select(virtuoso: Virtuoso, query: str) -> list[dict[str, dict[str, str]]]:
    client = SPARQLWrapper(virtuoso.sparql)
    client.setQuery(query)
    client.setReturnFormat(JSON)
    return client.query().convert()["results"]["bindings"]  # type: ignore[index,return-value]


def update(virtuoso: Virtuoso, text: str) -> None:
    client = SPARQLWrapper(virtuoso.sparql)
    client.setMethod(POST)
    client.setQuery(text)
    client.query()


def test_an_update_in_a_named_graph_is_answered_by_a_select(virtuoso: Virtuoso) -> None:
    update(virtuoso, f"INSERT DATA {{ GRAPH <{GRAPH}/update> {{ <urn:ex:a> <urn:ex:p> 'b' }} }}")
    rows = select(virtuoso, f"SELECT ?o WHERE {{ GRAPH <{GRAPH}/update> {{ <urn:ex:a> <urn:ex:p> ?o }} }}")
    assert [row["o"]["value"] for row in rows] == ["b"]
    update(virtuoso, f"DROP SILENT GRAPH <{GRAPH}/update>")
    assert select(virtuoso, f"SELECT * WHERE {{ GRAPH <{GRAPH}/update> {{ ?s ?p ?o }} }}") == []


def get_graph(virtuoso: Virtuoso, media: str) -> Graph:
    got = httpx.get(virtuoso.graph_store, params={"graph-uri": GRAPH}, headers={"Accept": media}, timeout=60)
    assert got.status_code == 200 and got.headers["content-type"].startswith(media), got.text
    return Graph().parse(data=got.text, format="nt" if media == "application/n-triples" else "turtle")


def test_the_graph_store_protocol_puts_a_graph_that_n_triples_give_back_whole(virtuoso: Virtuoso) -> None:
    put = httpx.put(
        virtuoso.graph_store,
        params={"graph-uri": GRAPH},
        content=TURTLE.encode(),
        headers={"Content-Type": "text/turtle"},
        timeout=60,
    )
    assert put.status_code in (200, 201, 204), put.text
    sent = Graph().parse(data=TURTLE, format="turtle")
    assert isomorphic(get_graph(virtuoso, "application/n-triples"), sent)  # "1.0"^^xsd:double equals "1"
    # Virtuoso's Turtle writes that double as the bare 1.0, which Turtle reads as an xsd:decimal: the backend
    # must read graphs back as N-Triples
    score = next(iter(get_graph(virtuoso, "text/turtle").objects(URIRef("urn:ex:model"), URIRef("urn:ex:score"))))
    assert score == Literal("1.0", datatype=XSD.decimal)


def test_json_results_type_typed_literals_the_sparql_1_0_way(virtuoso: Virtuoso) -> None:
    update(virtuoso, f"INSERT DATA {{ GRAPH <{GRAPH}/typed> {{ <urn:ex:m> <urn:ex:n> 7 }} }}")
    (row,) = select(virtuoso, f"SELECT ?n WHERE {{ GRAPH <{GRAPH}/typed> {{ <urn:ex:m> <urn:ex:n> ?n }} }}")
    assert row["n"] == {"type": "typed-literal", "datatype": str(XSD.integer), "value": "7"}  # 1.1 says "literal"
