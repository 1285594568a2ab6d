"""RDF files load as they are: every standard syntax, named graphs kept and owned by their dump."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic
from typer.testing import CliRunner

from provml import loaders
from provml.cli import app
from provml.errors import InputError
from provml.loading import find_sources, load_paths
from provml.resources import ontology_file
from provml.store import CHUNK_QUADS, Store

runner = CliRunner()
BUNDLE = "https://lab.example/bundle/curation"


@pytest.fixture(scope="session")
def prov_o() -> rdflib.Graph:
    """PROV-O itself: real RDF, with blank nodes (OWL restrictions, lists) and typed literals."""
    return rdflib.Graph().parse(ontology_file("prov-o.ttl"))


@pytest.fixture(scope="session")
def written(prov_o: rdflib.Graph, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PROV-O written by rdflib in every triple syntax, and with ML Schema in a named graph in the dataset ones."""
    directory = tmp_path_factory.mktemp("rdf")
    paths = {}
    for name, rdflib_format in (("ttl", "turtle"), ("nt", "nt"), ("rdf", "xml"), ("jsonld", "json-ld")):
        paths[name] = directory / f"prov-o.{name}"
        prov_o.serialize(paths[name], format=rdflib_format, encoding="utf-8")
    dataset = rdflib.Dataset()
    for triple in prov_o:
        dataset.add(triple)
    mls = dataset.graph(rdflib.URIRef(BUNDLE))
    mls.parse(ontology_file("mls.ttl"))
    for name, rdflib_format in (("trig", "trig"), ("nq", "nquads")):
        paths[name] = directory / f"dataset.{name}"
        dataset.serialize(paths[name], format=rdflib_format, encoding="utf-8")
    paths["ttl.gz"] = directory / "prov-o.ttl.gz"
    paths["ttl.gz"].write_bytes(gzip.compress(paths["ttl"].read_bytes()))
    return paths


def graph_of(store: Store, graph: str) -> rdflib.Graph:
    """Return one named graph of the store as an rdflib graph."""
    rows = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", union=False)
    result = rdflib.Graph()
    for s, p, o in rows:
        result.add(tuple(_rdflib_term(term) for term in (s, p, o)))
    return result


def _rdflib_term(term: object) -> rdflib.term.Node:
    kind, value, datatype, language = term  # type: ignore[misc]
    if kind == "iri":
        return rdflib.URIRef(value)
    if kind == "bnode":
        return rdflib.BNode(value)
    plain = language or datatype == str(rdflib.XSD.string)  # RDF 1.1: the same literal; rdflib tells them apart
    return rdflib.Literal(value, lang=language, datatype=None if plain else rdflib.URIRef(datatype))


_INTEGER_KINDS = ("int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "unsignedInt")


def as_stored(graph: rdflib.Graph) -> rdflib.Graph:
    """Return ``graph`` as Oxigraph keeps it: the same values, but integer-derived datatypes become
    xsd:integer and decimals take their canonical form ("1.0" is stored as "1")."""
    derived = {rdflib.XSD[kind] for kind in _INTEGER_KINDS}
    result = rdflib.Graph()
    for s, p, o in graph:
        if isinstance(o, rdflib.Literal) and o.datatype in derived:
            o = rdflib.Literal(str(o), datatype=rdflib.XSD.integer)
        elif isinstance(o, rdflib.Literal) and o.datatype == rdflib.XSD.decimal:
            o = rdflib.Literal(format(Decimal(str(o)).normalize(), "f"), datatype=rdflib.XSD.decimal)
        result.add((s, p, o))
    return result


def load_one(store: Store, path: Path) -> str:
    (outcome,) = load_paths(store, [path])
    assert outcome.error is None, outcome.error
    return outcome.result.graph


@pytest.mark.parametrize("name", ["ttl", "nt", "rdf", "jsonld", "ttl.gz", "trig", "nq"])
def test_every_syntax_loads_the_same_graph_into_the_dump(
    name: str, written: dict[str, Path], prov_o: rdflib.Graph, store: Store
) -> None:
    assert loaders.detect(written[name]).name == "rdf"
    graph = load_one(store, written[name])
    assert isomorphic(graph_of(store, graph), as_stored(prov_o))  # the default graph of the file, blank nodes and all


@pytest.mark.parametrize("name", ["trig", "nq"])
def test_named_graphs_keep_their_names_and_belong_to_the_dump(
    name: str, written: dict[str, Path], store: Store
) -> None:
    graph = load_one(store, written[name])
    (info,) = store.dumps()
    assert info.graphs == (BUNDLE,)
    mls = rdflib.Graph().parse(ontology_file("mls.ttl"))
    assert isomorphic(graph_of(store, BUNDLE), as_stored(mls))
    assert info.triples == len(mls) + len(graph_of(store, graph))
    store.drop(graph)
    assert store.stats()["quads"] == 0 or not store.query(f"ASK {{ GRAPH <{BUNDLE}> {{ ?s ?p ?o }} }}")


def test_reloading_replaces_the_named_graphs_of_the_dump_whole(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bundles.trig"
    path.write_text(f"<urn:a> <urn:p> 1 . <{BUNDLE}> {{ <urn:old> <urn:p> 1 }} <urn:gone> {{ <urn:x> <urn:p> 1 }}")
    load_one(store, path)
    path.write_text(f"<urn:a> <urn:p> 2 . <{BUNDLE}> {{ <urn:new> <urn:p> 1 }}")
    (outcome,) = load_paths(store, [path])
    assert outcome.status == "replaced"
    graphs = store.query("SELECT DISTINCT ?g ?s WHERE { GRAPH ?g { ?s <urn:p> ?o } } ORDER BY ?g ?s").rows()
    assert [(g.value, s.value) for g, s in graphs] == [(BUNDLE, "urn:new"), (outcome.result.graph, "urn:a")]
    assert store.dumps()[0].graphs == (BUNDLE,)


def test_a_graph_belongs_to_one_dump_only(store: Store, tmp_path: Path) -> None:
    first, second = tmp_path / "first.trig", tmp_path / "second.trig"
    for path in (first, second):
        path.write_text(f"<{BUNDLE}> {{ <urn:{path.stem}> <urn:p> 1 }}")
    first_graph = load_one(store, first)
    (outcome,) = load_paths(store, [second])
    assert isinstance(outcome.error, InputError)
    assert f"belongs to the dump <{first_graph}>" in str(outcome.error) and str(second) in str(outcome.error)
    assert [d.source for d in store.dumps()] == [str(first)]


def test_a_file_cannot_write_provml_own_graphs(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "sneaky.nq"
    path.write_text(f"<urn:x> <urn:p> <urn:o> <{store.ids.catalog_graph}> .\n")
    (outcome,) = load_paths(store, [path])
    assert "provml's own" in str(outcome.error)
    assert store.stats()["quads"] == 0


def test_a_syntax_error_names_file_and_line_and_stores_nothing_even_after_chunks_were_written(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "big.nq"  # a default graph and a named one, both partly written before the error
    lines = [f"<urn:s{i}> <urn:p> <urn:o{i}> {'<urn:g>' if i % 2 else ''} .\n" for i in range(CHUNK_QUADS + 10)]
    path.write_text("".join(lines) + '<urn:s> <urn:p> "unterminated .\n')
    (outcome,) = load_paths(store, [path])
    assert isinstance(outcome.error, InputError)
    assert str(outcome.error).startswith(f"{path}:{CHUNK_QUADS + 11}: column ")
    assert store.stats()["quads"] == 0


def test_blank_nodes_of_two_files_stay_apart(store: Store, tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.ttl").write_text(f'<urn:{name}> <urn:p> _:b0 . _:b0 <urn:q> "{name}" .')
    load_paths(store, [tmp_path])
    rows = store.query("SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { ?s <urn:p> ?b }").rows()
    assert rows[0][0].python() == 2


def test_relative_iris_resolve_against_the_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "relative.ttl"
    path.write_text("<model.pkl> <urn:p> <data/train.csv> .")
    load_one(store, path)
    (row,) = store.query("SELECT ?s ?o WHERE { ?s <urn:p> ?o }").rows()
    assert (row[0].value, row[1].value) == ((tmp_path / "model.pkl").as_uri(), (tmp_path / "data/train.csv").as_uri())


def test_content_tells_turtle_without_an_ending_and_format_overrides(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "PROVENANCE"
    path.write_text("@prefix ex: <http://example.org/> .\nex:a ex:p ex:b .\n")
    assert loaders.detect(path).name == "rdf"
    odd = tmp_path / "data.txt"
    odd.write_text("<http://example.org/a> <http://example.org/p> <http://example.org/b> .\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        find_sources([odd])
    assert [loader.name for _, loader in find_sources([odd], "rdf")] == ["rdf"]


def test_progress_is_reported_in_bytes_of_the_file(written: dict[str, Path]) -> None:
    seen: list[int] = []
    document = loaders.get("rdf").read(written["ttl"], Store().ids, "urn:g", on_bytes=seen.append)
    with Store() as store:
        store.load(document, graph="urn:g", source="x", loader="rdf", sha256="0")
    assert sum(seen) == written["ttl"].stat().st_size


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="the parser's progress is read from /proc (Linux)")
def test_progress_advances_chunk_by_chunk_through_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "large.nt"
    path.write_text("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(CHUNK_QUADS * 2 + 10)))
    seen: list[int] = []
    with Store() as store:
        store.load(loaders.get("rdf").read(path, store.ids, "urn:g", on_bytes=seen.append), graph="urn:g",
                   source="x", loader="rdf", sha256="0")  # fmt: skip
    assert len([n for n in seen if n > 0]) >= 2 and sum(seen) == path.stat().st_size


def test_the_cli_lists_the_named_graphs_a_dump_brought(written: dict[str, Path], tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["load", str(written["trig"]), "--store", store]).exit_code == 0
    result = runner.invoke(app, ["graphs", "--store", store])
    assert result.exit_code == 0 and BUNDLE in result.output
    result = runner.invoke(app, ["formats"])
    assert "rdf" in result.output and ".trig" in result.output


def test_hidden_files_and_directories_are_passed_over(tmp_path: Path) -> None:
    for path in (tmp_path / "a.ttl", tmp_path / ".ipynb_checkpoints" / "b.ttl", tmp_path / ".c.ttl"):
        path.parent.mkdir(exist_ok=True)
        path.write_text("<urn:s> <urn:p> <urn:o> .")
    assert [source for source, _ in find_sources([tmp_path])] == [tmp_path / "a.ttl"]
