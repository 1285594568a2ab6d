"""The entailment graph: once ontologies are linked, plain ML Schema data answers PROV queries, a domain
class finds the instances of its subclasses and of the classes mapped to it, and queries can leave it out.
It holds only triples no other graph holds, and follows loads, drops and server writes."""

from __future__ import annotations

from pathlib import Path

import httpx
from live_server import TOKEN, Server

from provml import loaders
from provml.entailment import refresh, refresh_if_kept
from provml.linking import link
from provml.loading import load_paths
from provml.store import Dump, LoadResult, Store

# plain ML Schema, as an OpenML export writes it: runs with inputs and outputs, no PROV
OPENML = """@prefix mls: <http://www.w3.org/ns/mls#> .
@prefix ex: <https://openml.example/> .
ex:run-1 a mls:Run ; mls:hasInput ex:iris , ex:setting-1 ; mls:hasOutput ex:model-1 ;
    mls:executes ex:sklearn-svc ; mls:realizes ex:svm .
ex:iris a mls:Dataset .
ex:setting-1 a mls:HyperParameterSetting .
ex:model-1 a mls:Model .
ex:sklearn-svc a mls:Implementation .
ex:svm a mls:Algorithm .
"""
DOMAIN = """@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix provml: <https://w3id.org/provml#> .
@prefix geo: <https://example.org/geo#> .
<https://example.org/geo> a owl:Ontology .
geo:Facies a owl:Class .
geo:Sandstone a owl:Class ; rdfs:subClassOf geo:Facies .
geo:Survey a owl:Class ; owl:equivalentClass provml:RawDataset .
geo:Well a owl:Class ; skos:exactMatch <https://example.org/other#Borehole> .
geo:adjacentTo a owl:ObjectProperty , owl:SymmetricProperty .
geo:partOf a owl:ObjectProperty , owl:TransitiveProperty ; owl:inverseOf geo:hasPart .
"""
FACTS = """@prefix geo: <https://example.org/geo#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <https://data.example/> .
ex:layer-7 a geo:Sandstone ; geo:adjacentTo ex:layer-8 ; geo:partOf ex:formation .
ex:formation geo:partOf ex:basin .
ex:survey-2 a geo:Survey .
ex:well-3 a <https://example.org/other#Borehole> .
ex:layer-7 owl:sameAs ex:unit-7 .
"""


def rows(store: Store, sparql: str, **options: bool) -> set[tuple[str, ...]]:
    return {tuple(t.value for t in row if t is not None) for row in store.query(sparql, **options)}


def load(store: Store, path: Path, text: str) -> None:
    path.write_text(text)
    (outcome,) = load_paths(store, [path], check=False)
    assert outcome.error is None, outcome.error


def test_plain_ml_schema_data_answers_prov_queries_once_linked(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path / "openml.ttl", OPENML)
    lineage = (
        "SELECT ?model ?run ?data WHERE { ?model prov:wasGeneratedBy ?run . ?run a prov:Activity ; prov:used ?data }"
    )
    assert rows(store, lineage) == set()

    entailment = link(store, [], check=False).entailment
    assert entailment.triples > 0 and entailment.rounds >= 2
    model, run = "https://openml.example/model-1", "https://openml.example/run-1"
    assert rows(store, lineage) == {
        (model, run, "https://openml.example/iris"),
        (model, run, "https://openml.example/setting-1"),
    }
    plans = rows(store, "SELECT ?p WHERE { ?p a prov:Plan }")
    assert {("https://openml.example/sklearn-svc",), ("https://openml.example/svm",)} <= plans
    assert ("https://openml.example/iris",) in rows(store, "SELECT ?e WHERE { ?e a prov:Entity }")
    assert rows(store, lineage, entailed=False) == set()  # the asserted graphs alone


def test_the_entailment_graph_holds_only_what_no_other_graph_holds(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path / "openml.ttl", OPENML)
    graph = link(store, [], check=False).entailment.graph
    repeated = f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{graph}>) }}"
    assert not store.query(repeated)
    assert not store.query(f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{graph}/')) }}")  # no leftovers


def test_domain_classes_find_subclasses_mapped_classes_and_property_axioms(store: Store, tmp_path: Path) -> None:
    (tmp_path / "geo.ttl").write_text(DOMAIN)
    link(store, [tmp_path / "geo.ttl"], check=False)
    load(store, tmp_path / "facts.ttl", FACTS)  # loaded after the link: the load computes the graph again

    data = "https://data.example/"
    assert (f"{data}layer-7",) in rows(store, "SELECT ?x WHERE { ?x a <https://example.org/geo#Facies> }")
    assert (f"{data}survey-2",) in rows(store, "SELECT ?x WHERE { ?x a provml:RawDataset }")  # equivalentClass
    assert (f"{data}survey-2",) in rows(store, "SELECT ?x WHERE { ?x a prov:Entity }")  # ...and on up
    assert (f"{data}well-3",) in rows(store, "SELECT ?x WHERE { ?x a <https://example.org/geo#Well> }")  # skos
    geo = "https://example.org/geo#"
    assert (f"{data}layer-7",) in rows(store, f"SELECT ?x WHERE {{ <{data}layer-8> <{geo}adjacentTo> ?x }}")
    assert (f"{data}basin",) in rows(store, f"SELECT ?x WHERE {{ <{data}layer-7> <{geo}partOf> ?x }}")
    assert (f"{data}layer-7",) in rows(store, f"SELECT ?x WHERE {{ <{data}basin> <{geo}hasPart> ?x }}")
    same = rows(store, f"SELECT ?c WHERE {{ <{data}unit-7> a ?c }}")
    assert (f"{geo}Sandstone",) in same and (f"{geo}Facies",) in same  # owl:sameAs carries the types


# FACTS, in two dumps whose entailments cross: a chain of geo:partOf, a sameAs that carries the first's facts
FACTS_FIRST = """@prefix geo: <https://example.org/geo#> .
<https://data.example/layer-7> a geo:Sandstone ; geo:partOf <https://data.example/formation> .
"""
FACTS_SECOND = FACTS.replace("ex:layer-7 a geo:Sandstone ;", "ex:layer-7")
ABOUT = """@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix provml: <https://w3id.org/provml#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
provml:domainConcept rdfs:subPropertyOf dcterms:subject .
"""
SURVEY = (
    '{"type": "workflow", "workflow_id": "w"}\n'
    '{"type": "dataset", "workflow_id": "w", "name": "survey.csv", "location": "/data/survey.csv", "role": "input", '
    '"domain_concepts": ["https://example.org/geo#Survey"]}\n'
)


def entailed(store: Store) -> set[tuple[str, ...]]:
    return rows(store, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{store.ids.entailed_graph}> {{ ?s ?p ?o }} }}")


def load_one(store: Store, path: Path, text: str, loader: str = "rdf") -> LoadResult:
    """Load one file as a dump, without bringing the entailment graph up to date."""
    path.write_text(text)
    graph = store.ids.dump_graph(path)
    quads = loaders.get(loader).read(path, store.ids, graph)
    ((_, result),) = store.load_many([Dump(graph, quads, str(path), loader, loaders.get(loader).fingerprint(path))])
    assert isinstance(result, LoadResult), result
    return result


def test_a_load_derives_what_its_dumps_add_as_computing_it_all_again_would(store: Store, tmp_path: Path) -> None:
    (tmp_path / "geo.ttl").write_text(DOMAIN)
    (tmp_path / "about.ttl").write_text(ABOUT)
    link(store, [tmp_path / "geo.ttl", tmp_path / "about.ttl"], check=False)
    load_one(store, tmp_path / "first.ttl", FACTS_FIRST)
    assert refresh_if_kept(store).full is False
    load_one(store, tmp_path / "second.ttl", FACTS_SECOND)
    survey = load_one(store, tmp_path / "survey.jsonl", SURVEY, loader="events")
    assert survey.shared_triples  # the dataset, and its concept, are in the shared graph
    added = refresh_if_kept(store)
    assert added.full is False and added.triples > 0
    assert refresh_if_kept(store).triples == 0  # nothing left to derive
    extended = entailed(store)

    assert refresh(store).full is True
    assert entailed(store) == extended
    data, geo = "https://data.example/", "https://example.org/geo#"
    assert (f"{data}layer-7", f"{geo}partOf", f"{data}basin") in extended  # across the two dumps
    assert (f"{data}unit-7", f"{geo}partOf", f"{data}formation") in extended  # sameAs, with the first's fact
    subject = rows(store, "SELECT ?d WHERE { ?d <http://purl.org/dc/terms/subject> <https://example.org/geo#Survey> }")
    assert len(subject) == 1  # the dataset's concept, through the linked sub-property


def test_a_load_that_states_schema_or_replaces_a_dump_computes_it_all_again(store: Store, tmp_path: Path) -> None:
    link(store, [], check=False)
    load_one(store, tmp_path / "openml.ttl", OPENML)
    assert refresh_if_kept(store).full is False
    load_one(store, tmp_path / "geo.ttl", DOMAIN)
    assert refresh_if_kept(store).full is True  # it states sub-classes
    replaced = load_one(store, tmp_path / "openml.ttl", OPENML.replace("ex:iris a mls:Dataset .", ""))
    assert replaced.replaced and refresh_if_kept(store).full is True
    assert ("https://openml.example/iris",) not in rows(store, "SELECT ?d WHERE { ?d a provml:Dataset }")


def test_a_drop_takes_its_entailments_away(store: Store, tmp_path: Path) -> None:
    link(store, [], check=False)
    load(store, tmp_path / "openml.ttl", OPENML)
    assert rows(store, "SELECT ?r WHERE { ?r a prov:Activity }") == {("https://openml.example/run-1",)}
    store.drop(next(d.graph for d in store.dumps() if d.loader == "rdf"))
    assert refresh_if_kept(store).full is True
    assert rows(store, "SELECT ?r WHERE { ?r a prov:Activity }") == set()


def test_a_process_killed_before_the_entailment_step_leaves_it_to_the_next(tmp_path: Path) -> None:
    """The store marks each change in the transaction that makes it: a load or a drop whose process died
    before it brought the entailment graph up to date is caught up by the next process that does."""
    path = tmp_path / "store"
    with Store(path) as store:
        link(store, [], check=False)
        load_one(store, tmp_path / "openml.ttl", OPENML)  # and the process dies here
    with Store(path) as store:
        assert rows(store, "SELECT ?r WHERE { ?r a prov:Activity }") == set()
        load(store, tmp_path / "other.ttl", "<https://openml.example/run-2> a <http://www.w3.org/ns/mls#Run> .")
        runs = rows(store, "SELECT ?r WHERE { ?r a prov:Activity }")
        assert runs == {("https://openml.example/run-1",), ("https://openml.example/run-2",)}
        store.drop(store.ids.dump_graph(tmp_path / "openml.ttl"))  # and the process dies here
    with Store(path) as store:
        load(store, tmp_path / "third.ttl", "<https://openml.example/run-3> a <http://www.w3.org/ns/mls#Run> .")
        runs = rows(store, "SELECT ?r WHERE { ?r a prov:Activity }")
        assert runs == {("https://openml.example/run-2",), ("https://openml.example/run-3",)}
        assert not store.query("ASK { ?node provml:awaitsEntailment ?why }")  # all caught up


def test_the_server_answers_with_or_without_the_entailment_and_follows_ingests(tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        link(store, [], check=False)
    server = Server(tmp_path / "store")
    try:
        ingest = httpx.post(
            f"{server.url}/ingest?format=rdf",
            content=OPENML.encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"},
            timeout=60,
        )
        assert ingest.status_code == 200, ingest.text
        query = {"query": "SELECT ?r WHERE { ?r a prov:Activity }"}
        headers = {"Accept": "application/sparql-results+json"}
        answer = httpx.get(f"{server.url}/sparql", params=query, headers=headers, timeout=60).json()
        assert [b["r"]["value"] for b in answer["results"]["bindings"]] == ["https://openml.example/run-1"]
        asserted = httpx.get(f"{server.url}/sparql", params={**query, "entailed": "false"}, headers=headers).json()
        assert asserted["results"]["bindings"] == []
        wrong = httpx.get(f"{server.url}/sparql", params={**query, "entailed": "maybe"}, headers=headers)
        assert wrong.status_code == 400 and "entailed=" in wrong.json()["error"]
    finally:
        server.stop()
