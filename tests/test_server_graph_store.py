"""The Graph Store Protocol at /graphs, against a real ``provml serve``: a graph PUT in one RDF syntax comes
back the same graph (rdflib says so) in another, PUT replaces, POST adds, DELETE removes, a query sees each
write at once, and the catalog of dumps stays true."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import load_file
from live_server import TOKEN, Server
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from provml.ids import IriMinter
from provml.store import Store

MAX_BODY, MAX_ROWS = 2048, 50
EX = "http://example.org/"
MODEL = f"""@prefix ex: <{EX}> .
@prefix prov: <http://www.w3.org/ns/prov#> .
ex:model a prov:Entity ; ex:label "modèle"@fr, "model"@en ; ex:accuracy 0.93 ; ex:epochs 12 ;
    ex:note "two\\nlines, \\"quoted\\"" ;
    prov:wasGeneratedBy [ a prov:Activity ; ex:host "node-7" ] .
"""
MEDIA = {  # provml's name of a syntax: (its media type, rdflib's name)
    "turtle": ("text/turtle", "turtle"),
    "ntriples": ("application/n-triples", "nt"),
    "rdfxml": ("application/rdf+xml", "xml"),
    "jsonld": ("application/ld+json", "json-ld"),
    "trig": ("application/trig", "trig"),
    "nquads": ("application/n-quads", "nquads"),
}
DUMP = f"""@prefix ex: <{EX}> .
ex:{{name}} a <http://www.w3.org/ns/prov#Activity> .
<{EX}bundle/{{name}}> {{{{ ex:{{name}} ex:note "in a bundle" . }}}}
"""
BASE = IriMinter().base


@dataclass
class Served:
    """The running server, a client holding the token, and the dumps loaded before it started."""

    server: Server
    client: httpx.Client
    dumps: dict[str, str]  # name -> the dump's graph; each brought the named graph <EX/bundle/name>


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server over a store with two TriG dumps, `kept` and `dropped`, small body and answer limits."""
    folder = tmp_path_factory.mktemp("graph-store")
    dumps = {}
    with Store(folder / "store") as db:
        for name in ("kept", "dropped"):
            path = folder / f"{name}.trig"
            path.write_text(DUMP.format(name=name))
            dumps[name] = load_file(db, path).graph
    server = Server(folder / "store", args=("--max-body", str(MAX_BODY), "--max-rows", str(MAX_ROWS)))
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            yield Served(server, client, dumps)
    finally:
        server.stop()


def put(
    client: httpx.Client, graph: str, body: str | bytes | Iterator[bytes], media: str = "text/turtle"
) -> httpx.Response:
    """PUT ``body`` as the graph ``graph``."""
    return client.put("/graphs", params={"graph": graph}, content=body, headers={"Content-Type": media})


def post(client: httpx.Client, graph: str, body: str | bytes, media: str = "text/turtle") -> httpx.Response:
    """POST ``body`` to the graph ``graph``."""
    return client.post("/graphs", params={"graph": graph}, content=body, headers={"Content-Type": media})


def fetch(client: httpx.Client, graph: str, syntax: str = "turtle") -> Graph:
    """GET a graph in ``syntax`` (by Accept) and return it parsed by rdflib."""
    media, name = MEDIA[syntax]
    response = client.get("/graphs", params={"graph": graph}, headers={"Accept": media})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media
    if syntax in ("trig", "nquads"):
        dataset = Dataset()
        dataset.parse(data=response.content, format=name)
        return dataset.default_graph
    return Graph().parse(data=response.content, format=name)


def as_dataset(graph: Graph) -> Dataset:
    """Return a dataset whose default graph is ``graph`` (to write it as TriG or N-Quads)."""
    dataset = Dataset()
    for triple in graph:
        dataset.add(triple)
    return dataset


def ask(client: httpx.Client, query: str) -> bool:
    """Run an ASK query on /sparql."""
    response = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("turtle", "ntriples"),
        ("ntriples", "rdfxml"),
        ("rdfxml", "jsonld"),
        ("jsonld", "turtle"),
        ("trig", "nquads"),
        ("nquads", "trig"),
    ],
)
def test_a_graph_put_in_one_syntax_comes_back_the_same_in_another(served: Served, sent: str, read: str) -> None:
    model = Graph().parse(data=MODEL, format="turtle")
    graph = f"{EX}round-trip/{sent}-{read}"
    media, rdflib_name = MEDIA[sent]
    body = (as_dataset(model) if sent in ("trig", "nquads") else model).serialize(format=rdflib_name)
    created = put(served.client, graph, body, media)
    assert created.status_code == 201, created.text
    assert created.json() == {"graph": graph}
    assert isomorphic(fetch(served.client, graph, read), model)
    assert isomorphic(fetch(served.client, graph, sent), model)


def test_format_parameter_chooses_the_syntax_and_an_unknown_accept_is_406(served: Served) -> None:
    graph = f"{EX}format"
    put(served.client, graph, MODEL)
    answer = served.client.get("/graphs", params={"graph": graph, "format": "ntriples"})
    assert answer.headers["content-type"].startswith("application/n-triples")
    assert isomorphic(Graph().parse(data=answer.text, format="nt"), Graph().parse(data=MODEL, format="turtle"))
    refused = served.client.get(
        "/graphs", params={"graph": graph}, headers={"Accept": "application/sparql-results+json"}
    )
    assert refused.status_code == 406
    assert "text/turtle" in refused.json()["error"]


def test_relative_iris_resolve_against_the_graph_and_blank_nodes_are_new_each_write(served: Served) -> None:
    graph = f"{EX}relative/doc"
    assert put(served.client, graph, "<> <#cites> <other> .").status_code == 201
    assert (URIRef(graph), URIRef(f"{graph}#cites"), URIRef(f"{EX}relative/other")) in fetch(served.client, graph)
    person = f"[] a <{EX}Person> ."
    put(served.client, f"{EX}people", person)
    post(served.client, f"{EX}people", person)
    assert len(fetch(served.client, f"{EX}people")) == 2  # two people: the second [] is not the first


# -- PUT, POST, DELETE, and what queries see --------------------------------------------


def test_put_replaces_and_post_adds_and_a_query_sees_each_write_at_once(served: Served) -> None:
    client, graph = served.client, f"{EX}runs"
    first = f"<{EX}run1> <{EX}loss> 0.5 ."
    assert put(client, graph, first).status_code == 201
    assert ask(client, f"ASK {{ GRAPH <{graph}> {{ <{EX}run1> <{EX}loss> 0.5 }} }}")

    second = f"<{EX}run2> <{EX}loss> 0.25 ."
    replaced = put(client, graph, second)
    assert replaced.status_code == 204 and replaced.content == b""
    assert isomorphic(fetch(client, graph), Graph().parse(data=second, format="turtle"))
    assert not ask(client, f"ASK {{ GRAPH <{graph}> {{ <{EX}run1> ?p ?o }} }}")

    third = f'<{EX}run3> <{EX}loss> "0.125"^^<http://www.w3.org/2001/XMLSchema#decimal> .'
    assert post(client, graph, third, "application/n-triples").status_code == 204
    both = Graph().parse(data=second + "\n" + third, format="turtle")
    assert isomorphic(fetch(client, graph), both)
    assert ask(client, f"ASK {{ GRAPH <{graph}> {{ <{EX}run2> ?p ?a . <{EX}run3> ?p ?b }} }}")

    assert client.delete("/graphs", params={"graph": graph}).status_code == 204
    assert not ask(client, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert client.get("/graphs", params={"graph": graph}).status_code == 404
    assert client.head("/graphs", params={"graph": graph}).status_code == 404
    again = client.delete("/graphs", params={"graph": graph})
    assert again.status_code == 404 and graph in again.json()["error"]


def test_put_of_an_empty_body_makes_an_empty_graph_that_exists(served: Served) -> None:
    graph = f"{EX}empty"
    assert put(served.client, graph, b"").status_code == 201
    head = served.client.head("/graphs", params={"graph": graph}, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.headers["content-type"].startswith("text/turtle")
    assert len(fetch(served.client, graph)) == 0
    assert graph in [g["graph"] for g in served.client.get("/graphs").json()["graphs"]]


def test_post_to_the_store_makes_a_new_graph_named_in_location(served: Served) -> None:
    body = f'<{EX}alice> <{EX}name> "Alice" .'
    made = served.client.post("/graphs", content=body, headers={"Content-Type": "text/turtle"})
    assert made.status_code == 201
    graph = made.headers["location"]
    assert graph.startswith(f"{BASE}graph/gsp/") and made.json() == {"graph": graph}
    assert isomorphic(fetch(served.client, graph), Graph().parse(data=body, format="turtle"))
    other = served.client.post("/graphs", content=body, headers={"Content-Type": "text/turtle"})
    assert other.headers["location"] != graph


def test_a_multipart_post_adds_every_part_in_its_own_syntax(served: Served) -> None:
    graph = f"{EX}person/1"
    files = [
        ("family", ("family.ttl", f'<{EX}p1> <{EX}familyName> "Doe" .', "text/turtle; charset=utf-8")),
        ("given", ("given.nt", f'<{EX}p1> <{EX}givenName> "Jane" .\n', "application/n-triples")),
    ]
    assert served.client.post("/graphs", params={"graph": graph}, files=files).status_code == 201
    names = {(str(p), str(o)) for _, p, o in fetch(served.client, graph)}
    assert names == {(f"{EX}familyName", "Doe"), (f"{EX}givenName", "Jane")}
    unknown = [("x", ("x.bin", f"<{EX}p1> <{EX}age> 3 .", "application/octet-stream"))]
    refused = served.client.post("/graphs", params={"graph": graph}, files=unknown)
    assert refused.status_code == 415, refused.text
    assert len(fetch(served.client, graph)) == 2  # nothing added


def test_the_default_graph_cannot_be_written(served: Served) -> None:
    for method in ("PUT", "POST", "DELETE"):
        written = served.client.request(method, "/graphs?default", content=b"", headers={"Content-Type": "text/turtle"})
        assert written.status_code == 405 and written.headers["allow"] == "GET, HEAD", method
    assert put(served.client, "", "").status_code == 400  # graph= without an IRI


# -- refusals --------------------------------------------------------------------------


def test_writes_need_the_token(served: Served) -> None:
    graph, url = f"{EX}secret", served.server.url
    anonymous = httpx.put(f"{url}/graphs", params={"graph": graph}, content="", headers={"Content-Type": "text/turtle"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    wrong = {"Authorization": "Bearer not-the-token", "Content-Type": "text/turtle"}
    assert httpx.put(f"{url}/graphs", params={"graph": graph}, content="", headers=wrong).status_code == 403
    assert httpx.post(f"{url}/graphs", content="", headers=wrong).status_code == 403
    assert httpx.delete(f"{url}/graphs", params={"graph": f"{EX}format"}, headers=wrong).status_code == 403
    assert served.client.get("/graphs", params={"graph": graph}).status_code == 404  # nothing was written


def test_a_server_without_a_token_serves_graphs_read_only_the_default_graph_being_their_union(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "store") as db:
        db.add_rdf(f"<{EX}a> <{EX}p> 1 .".encode(), "turtle", graph=f"{EX}a")
        db.add_rdf(f"<{EX}b> <{EX}p> 2 .".encode(), "turtle", graph=f"{EX}b")
    server = Server(tmp_path / "store", token=None)
    try:
        listed = httpx.get(f"{server.url}/graphs").json()
        assert listed == {"graphs": [{"graph": f"{EX}a", "dump": None}, {"graph": f"{EX}b", "dump": None}]}
        union = httpx.get(f"{server.url}/graphs?default&format=ntriples")
        both = Graph().parse(data=f"<{EX}a> <{EX}p> 1 . <{EX}b> <{EX}p> 2 .", format="turtle")
        assert isomorphic(Graph().parse(data=union.text, format="nt"), both)
        written = httpx.put(
            f"{server.url}/graphs",
            params={"graph": f"{EX}a"},
            content="",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"},
        )
        assert written.status_code == 403 and "read-only" in written.json()["error"]
    finally:
        server.stop()


def test_a_body_that_does_not_parse_is_400_and_changes_nothing(served: Served) -> None:
    graph = f"{EX}kept-on-error"
    put(served.client, graph, f"<{EX}a> <{EX}p> 1 .")
    broken = put(served.client, graph, f"<{EX}b> <{EX}p> 2 .\n<{EX}c> <{EX}p> .")
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("body:2: column ")
    quads = put(served.client, graph, f"<{EX}b> <{EX}p> 2 . <{EX}other> {{ <{EX}c> <{EX}p> 3 }}", "application/trig")
    assert quads.status_code == 400 and f"<{EX}other>" in quads.json()["error"]
    assert isomorphic(fetch(served.client, graph), Graph().parse(data=f"<{EX}a> <{EX}p> 1 .", format="turtle"))


@pytest.mark.parametrize("media", ["text/csv", None, "text/turtle; charset=utf-16", "multipart/form-data"])
def test_a_body_of_an_unknown_media_type_is_415(served: Served, media: str | None) -> None:
    headers = {"Content-Type": media} if media else {}
    response = served.client.put("/graphs", params={"graph": f"{EX}media"}, content=b"<a> <b> <c> .", headers=headers)
    assert response.status_code == 415, response.text
    assert "text/turtle" in response.json()["error"] or "UTF-8" in response.json()["error"]


def test_a_body_over_the_limit_is_413(served: Served) -> None:
    body = "".join(f"<{EX}s{n}> <{EX}p> {n} .\n" for n in range(100)).encode()
    assert len(body) > MAX_BODY
    response = put(served.client, f"{EX}big", body)
    assert response.status_code == 413 and f"{MAX_BODY:,}" in response.json()["error"]
    chunked = put(served.client, f"{EX}big", iter([body[:1000], body[1000:]]))  # no Content-Length to go by
    assert chunked.status_code == 413
    assert served.client.get("/graphs", params={"graph": f"{EX}big"}).status_code == 404


def test_a_graph_over_the_answer_limit_is_400_and_says_how_to_page(served: Served) -> None:
    graph = f"{EX}many"
    rows = [f"ex:s{n} ex:p {n} ." for n in range(MAX_ROWS + 1)]
    body = f"@prefix ex: <{EX}> .\n" + "\n".join(rows)
    assert len(body) <= MAX_BODY
    assert put(served.client, graph, body).status_code == 201
    response = served.client.get("/graphs", params={"graph": graph})
    assert response.status_code == 400 and "LIMIT" in response.json()["error"]


@pytest.mark.parametrize("graph", ["relative/iri", "http://example.org/a b", "http://example.org/>"])
def test_a_graph_name_that_is_not_an_absolute_iri_is_400(served: Served, graph: str) -> None:
    assert served.client.get("/graphs", params={"graph": graph}).status_code == 400
    assert put(served.client, graph, "").status_code == 400


def test_naming_two_graphs_is_400(served: Served) -> None:
    both = served.client.get("/graphs", params={"graph": f"{EX}a", "default": ""})
    assert both.status_code == 400
    two = served.client.get("/graphs", params=[("graph", f"{EX}a"), ("graph", f"{EX}b")])
    assert two.status_code == 400


# -- the catalog stays true --------------------------------------------------------------


def test_provml_own_graphs_are_not_written(served: Served) -> None:
    ids = IriMinter()
    for graph in (ids.catalog_graph, ids.shared_graph, served.dumps["kept"], f"{BASE}graph/mine"):
        assert put(served.client, graph, "").status_code == 403, graph
        assert post(served.client, graph, "").status_code == 403, graph
    for graph in (ids.catalog_graph, ids.shared_graph):
        assert served.client.delete("/graphs", params={"graph": graph}).status_code == 403
    assert served.client.get("/graphs", params={"graph": ids.catalog_graph}).status_code == 200  # reading is fine


def test_a_graph_a_dump_brought_belongs_to_the_dump(served: Served) -> None:
    bundle, dump = f"{EX}bundle/kept", served.dumps["kept"]
    for response in (put(served.client, bundle, ""), post(served.client, bundle, ""), _delete(served, bundle)):
        assert response.status_code == 409
        assert dump in response.json()["error"]
    assert (URIRef(f"{EX}kept"), URIRef(f"{EX}note"), Literal("in a bundle")) in fetch(served.client, bundle)
    assert put(served.client, f"{EX}loose", MODEL).status_code in (201, 204)  # a graph outside any dump
    listed = {g["graph"]: g["dump"] for g in served.client.get("/graphs").json()["graphs"]}
    assert listed[bundle] == dump and listed[dump] == dump and listed[f"{EX}loose"] is None


def test_deleting_a_dump_graph_drops_the_dump_with_its_catalog_entry(served: Served) -> None:
    dump, bundle = served.dumps["dropped"], f"{EX}bundle/dropped"
    dumps_before = served.client.get("/health").json()["dumps"]
    assert fetch(served.client, dump)  # the dump's own triples
    assert _delete(served, dump).status_code == 204
    assert served.client.get("/health").json()["dumps"] == dumps_before - 1
    assert served.client.get("/graphs", params={"graph": dump}).status_code == 404
    assert served.client.get("/graphs", params={"graph": bundle}).status_code == 404  # its bundle went with it
    assert not ask(served.client, f"ASK {{ GRAPH ?g {{ <{dump}> ?p ?o }} }}")  # nor is it in the catalog
    assert served.client.get("/graphs", params={"graph": served.dumps["kept"]}).status_code == 200


def _delete(served: Served, graph: str) -> httpx.Response:
    return served.client.delete("/graphs", params={"graph": graph})
