"""W3C PROV documents (PROV-JSON, PROV-N, PROV-XML) load as PROV-O typed by PROV-ML, and export back to PROV-JSON.

The documents are written by the ``prov`` package itself: its own example documents (the PROV primer, the W3C
publication examples, bundles, collections, datatypes), and ML documents built with its API; the PROV-N test
files it ships (ProvToolbox's corpus, the specifications' examples); and, for what PROV-N allows but ``prov`` does
not write (comments, statements over several lines), one document written by hand.
"""

from __future__ import annotations

import io
import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import rdflib
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

prov = pytest.importorskip("prov", minversion="3.2.3", reason="the prov loader needs the prov package")
examples = pytest.importorskip("prov.tests.examples", reason="the prov wheel ships its example documents")
from prov.identifier import Identifier  # noqa: E402
from prov.model import ProvDocument  # noqa: E402

from provml import loaders  # noqa: E402
from provml.cli import app  # noqa: E402
from provml.errors import InputError, ProvmlWarning  # noqa: E402
from provml.ids import IriMinter  # noqa: E402
from provml.loaders import _json_stream, _prov_read, _provn_stream  # noqa: E402
from provml.loaders._prov_o import MLS_CLASSES, PARENT, repaired_namespace  # noqa: E402
from provml.loaders._prov_read import ProvOMapper  # noqa: E402
from provml.loading import load_paths  # noqa: E402
from provml.prov_export import write_prov_json  # noqa: E402
from provml.resources import ontology_file  # noqa: E402
from provml.store import Store  # noqa: E402
from provml.vocab import MLS_NS, PROVML_NS  # noqa: E402

runner = CliRunner()
EXAMPLES = dict(examples.tests)
SYNTAXES = {"json": ".json", "xml": ".provx", "provn": ".provn"}
PROV_TESTS = Path(prov.__file__).parent / "tests"
EX = "https://lab.example/"
GEO = "https://geo.example/"  # the user's domain ontology


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Each example document of the prov package, written by prov in PROV-JSON, PROV-XML and PROV-N."""
    directory = tmp_path_factory.mktemp("prov-examples")
    paths: dict[str, dict[str, Path]] = {}
    for number, (name, make) in enumerate(EXAMPLES.items()):
        document = make()
        paths[name] = {}
        for syntax, ending in SYNTAXES.items():
            paths[name][syntax] = directory / f"example{number}{ending}"
            paths[name][syntax].write_text(document.serialize(format=syntax), encoding="utf-8")
    return paths


def record_counts(document: ProvDocument) -> Counter[str]:
    """Count the records of a document and of its bundles by kind, and its bundles."""
    counts = Counter(type(record).__name__ for record in document.get_records())
    for bundle in document.bundles:
        counts.update(f"bundle {type(record).__name__}" for record in bundle.get_records())
    counts["bundles"] = len(list(document.bundles))
    return counts


def quads_of(path: Path, graph: str = "urn:provml:graph/one") -> set[tuple[str, ...]]:
    """Return the quads the prov loader reads from a file, into a fixed graph."""
    return set(loaders.get("prov").read(path, IriMinter(), graph))  # type: ignore[arg-type]


def values(store: Store, query: str) -> set[tuple[Any, ...]]:
    """Return the rows of a query as tuples of Python values."""
    return {tuple(term.python() if term else None for term in row) for row in store.query(query)}


def ml_document() -> ProvDocument:
    """A training run as a PROV user writes it with ML Schema types: settings, metric values, a model."""
    document = ProvDocument()
    ex = document.add_namespace("ex", EX)
    mls = document.add_namespace("mls", MLS_NS)
    data = document.entity(ex["iris"], {"prov:type": "mls:Dataset"})  # a qualified name written as a string
    run = document.activity(
        ex["run1"], "2024-01-01T10:00:00+00:00", "2024-01-01T11:00:00+00:00", {"prov:type": mls["Run"]}
    )
    document.used(run, ex["late"])  # used before it is described (in PROV-N, which keeps the order of records)
    for name, value in (("learning_rate", 0.01), ("batch_size", 64)):
        setting = document.entity(
            ex[name], {"prov:type": mls["HyperParameterSetting"], "prov:label": name, "prov:value": value}
        )
        document.used(run, setting)
    document.entity(ex["late"], {"prov:type": mls["HyperParameterSetting"], "prov:label": "seed", "mls:hasValue": 7})
    document.used(run, data)
    model = document.entity(ex["model"], {"prov:type": mls["Model"]})
    document.wasGeneratedBy(model, run, "2024-01-01T11:00:00+00:00")
    for step, loss in ((1, 0.5), (2, 0.25)):
        point = document.entity(
            ex[f"loss/{step}"], {"prov:type": mls["ModelEvaluation"], "prov:value": loss, "ex:step": step}
        )
        document.wasGeneratedBy(point, run)
    document.wasAssociatedWith(run, document.agent(ex["sklearn"], {"prov:type": mls["Software"]}))
    document.entity(ex["odd"], {"prov:type": mls["Run"]})  # an entity cannot be a run: no PROV-ML class
    return document


def load_one(tmp_path: Path, path: Path) -> tuple[Store, str]:
    """Load one file into a fresh store; return the store and the dump's graph."""
    store = Store(tmp_path / "store")
    (outcome,) = load_paths(store, [path])
    assert outcome.error is None, outcome.error
    return store, outcome.result.graph  # type: ignore[union-attr]


# -- the prov package's example documents ------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_goes_through_load_and_export_with_the_same_records(
    name: str, written: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    source, store, exported = written[name]["json"], str(tmp_path / "store"), tmp_path / "out.json"
    result = runner.invoke(app, ["load", str(source), "--store", store])
    assert result.exit_code == 0, result.output
    args = ["export", "--format", "prov-json", "--graph", str(source), "-o", str(exported), "--store", store]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    again = prov.read(str(exported), format="json")
    assert record_counts(again) == record_counts(EXAMPLES[name]())


@pytest.mark.parametrize("name", EXAMPLES)
def test_json_xml_and_provn_of_an_example_give_the_same_quads(name: str, written: dict[str, dict[str, Path]]) -> None:
    quads = {syntax: quads_of(path) for syntax, path in written[name].items()}
    assert quads["json"] and quads["json"] == quads["xml"] == quads["provn"]


def test_relations_are_written_as_prov_o(written: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    store, _ = load_one(tmp_path, written["Primer"]["json"])
    # used(ex:compose, ex:dataSet1, -, [prov:role="ex:dataToCompose"]): the property, and a qualified usage for the role
    assert values(
        store,
        "SELECT ?e ?role WHERE { <http://example/compose> prov:qualifiedUsage ?u . ?u a prov:Usage ; prov:entity ?e ; prov:hadRole ?role }",
    ) == {
        ("http://example/dataSet1", "ex:dataToCompose"),
        ("http://example/regionList", "ex:regionsToAggregateBy"),
    }
    assert values(store, "SELECT ?e WHERE { <http://example/compose> prov:used ?e }") == {
        ("http://example/dataSet1",),
        ("http://example/regionList",),
    }
    # wasDerivedFrom(ex:dataSet2, ex:dataSet1, [prov:type='prov:Revision']): a derivation that is a revision
    assert values(store, "SELECT ?p WHERE { <http://example/dataSet2> ?p <http://example/dataSet1> }") == {
        ("http://www.w3.org/ns/prov#wasDerivedFrom",),
        ("http://www.w3.org/ns/prov#wasRevisionOf",),
    }
    assert values(store, "SELECT ?t WHERE { <http://example/correct> prov:startedAtTime ?t }") == {
        ("2012-03-31T09:21:00",)
    }


def test_bundles_become_named_graphs_of_the_dump(written: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    store, graph = load_one(tmp_path, written["Bundle1"]["json"])
    bundles = ("http://example.org/alice/bundle2", "http://example.org/bob/bundle1")
    assert store.dump(graph).graphs == bundles  # type: ignore[union-attr]
    assert values(store, f"SELECT ?e WHERE {{ GRAPH <{bundles[0]}> {{ ?e a prov:Entity }} }}") == {
        ("http://www.example.com/report1",),
        ("http://www.example.com/report2",),
    }
    assert values(store, f"SELECT ?b WHERE {{ GRAPH <{graph}> {{ ?b a prov:Bundle }} }}") == {(b,) for b in bundles}
    store.drop(graph)
    assert not store.query(f"ASK {{ GRAPH <{bundles[0]}> {{ ?s ?p ?o }} }}")


def test_anonymous_relations_of_two_dumps_get_nodes_of_their_own(
    written: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.json"
    copy.write_bytes(written["Primer"]["json"].read_bytes())
    store = Store(tmp_path / "store")
    assert all(o.error is None for o in load_paths(store, [written["Primer"]["json"], copy]))
    # the primer has two used() with a role: each dump mints its own node for each
    assert values(store, "SELECT (COUNT(DISTINCT ?u) AS ?n) WHERE { ?a prov:qualifiedUsage ?u }") == {(4,)}


def test_exporting_the_whole_store_gives_every_dump_and_its_bundles(
    written: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    store = Store(tmp_path / "store")
    assert all(o.error is None for o in load_paths(store, [written["Bundle1"]["json"], written["Primer"]["json"]]))
    output = io.BytesIO()
    write_prov_json(store, output)
    counts = record_counts(ProvDocument.deserialize(content=output.getvalue().decode(), format="json"))
    bundle1, primer = record_counts(EXAMPLES["Bundle1"]()), record_counts(EXAMPLES["Primer"]())
    assert counts == bundle1 + primer  # the two documents have no record in common


# -- PROV-ML typing ----------------------------------------------------------------------------


@pytest.fixture(params=["json", "provn"])
def ml_store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """The store of the ML document, loaded from its PROV-JSON (entities before relations) or its PROV-N."""
    path = tmp_path / f"run{SYNTAXES[request.param]}"
    path.write_text(ml_document().serialize(format=request.param), encoding="utf-8")
    return load_one(tmp_path, path)[0]


def test_ml_schema_types_give_prov_ml_classes(ml_store: Store) -> None:
    assert values(ml_store, "SELECT ?m WHERE { ?m a provml:Model }") == {(EX + "model",)}
    assert values(ml_store, "SELECT ?d WHERE { ?d a provml:Dataset, mls:Dataset, prov:Entity }") == {(EX + "iris",)}
    run_classes = values(ml_store, f"SELECT ?c WHERE {{ <{EX}run1> a ?c }}")
    assert {(PROVML_NS + c,) for c in ("LearningStageExecution", "TaskExecution")} <= run_classes
    assert values(ml_store, "SELECT ?a WHERE { ?a a provml:Software, prov:SoftwareAgent, prov:Agent }") == {
        (EX + "sklearn",)
    }
    assert values(ml_store, f"SELECT ?c WHERE {{ <{EX}odd> a ?c }}") == {
        (MLS_NS + "Run",),
        ("http://www.w3.org/ns/prov#Entity",),
    }


def test_settings_and_metric_values_answer_provml_queries(ml_store: Store) -> None:
    settings_query = (
        "SELECT ?name ?v WHERE { ?r provml:hasHyperparameterSetting ?s . ?s rdfs:label ?name ; provml:value ?v }"
    )
    assert values(ml_store, settings_query) == {("learning_rate", 0.01), ("batch_size", 64), ("seed", 7)}
    assert values(ml_store, "SELECT ?v WHERE { ?e a provml:ModelEvaluation ; provml:value ?v }") == {(0.5,), (0.25,)}


def test_typing_rules_follow_the_ontology() -> None:
    ontology = rdflib.Graph()
    for name in ("provml.ttl", "mls.ttl", "prov-o.ttl"):
        ontology.parse(ontology_file(name))
    sub = rdflib.RDFS.subClassOf

    def below(cls: str, other: str) -> bool:
        return rdflib.URIRef(other) in ontology.transitive_objects(rdflib.URIRef(cls), sub)

    assert all(below(cls, parent) for cls, parent in PARENT.items())
    assert all(below(target, mls) for mls, target in MLS_CLASSES.items())
    classes = {str(c) for c in ontology.subjects(rdflib.RDF.type, rdflib.OWL.Class) if str(c).startswith(PROVML_NS)}
    assert classes - set(PARENT) == {PROVML_NS + "Dump"}  # every class but the store's own has a rule


# -- domain concepts ---------------------------------------------------------------------------


def annotated_document() -> ProvDocument:
    """A training on well logs, said to be about concepts of a geology ontology in the vocabularies people use."""
    document = ProvDocument()
    ex, geo = document.add_namespace("ex", EX), document.add_namespace("geo", GEO)
    document.add_namespace("dcterms", "http://purl.org/dc/terms/")
    document.add_namespace("dcat", "http://www.w3.org/ns/dcat#")
    document.add_namespace("schema", "https://schema.org/")
    document.add_namespace("oldschema", "http://schema.org/")
    document.add_namespace("provml", PROVML_NS)
    wells = document.entity(
        ex["wells"],
        {
            "dcterms:subject": geo["WellLog"],  # a qualified name
            "schema:about": Identifier(GEO + "Porosity"),  # an xsd:anyURI
            "dcat:theme": "geo:Lithology",  # a string that is a qualified name of a declared prefix
            "ex:topic": geo["Basin"],  # not a property that says what a thing is about
        },
    )
    run = document.activity(
        ex["train"],
        other_attributes={"provml:domainConcept": GEO + "FaciesClassification", "oldschema:about": "urn:geo:Facies"},
    )
    document.used(run, wells)
    document.entity(ex["notes"], {"dcterms:subject": "porosity", "dcat:theme": "zz:Porosity"})  # not IRIs
    return document


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_what_an_element_is_about_becomes_its_domain_concepts(syntax: str, tmp_path: Path) -> None:
    path = tmp_path / f"annotated{SYNTAXES[syntax]}"
    path.write_text(annotated_document().serialize(format=syntax), encoding="utf-8")
    with pytest.warns(ProvmlWarning) as caught:
        store, _ = load_one(tmp_path, path)
    assert [str(w.message) for w in caught if "domain concepts" in str(w.message)] == [
        f"{path}: values of dcterms:subject, schema:about, dcat:theme or provml:domainConcept that are not IRIs "
        "were kept as they are, not read as domain concepts"
    ]  # once for the two values of ex:notes
    assert values(
        store, "SELECT ?node ?concept (isIRI(?concept) AS ?iri) WHERE { ?node provml:domainConcept ?concept }"
    ) == {
        (EX + "wells", GEO + "WellLog", True),
        (EX + "wells", GEO + "Porosity", True),
        (EX + "wells", GEO + "Lithology", True),
        (EX + "train", GEO + "FaciesClassification", True),  # the attribute itself, as an IRI
        (EX + "train", "urn:geo:Facies", True),
    }
    kept = f"SELECT ?p ?o (isIRI(?o) AS ?iri) WHERE {{ ?node ?p ?o FILTER(?node IN (<{EX}wells>, <{EX}train>, <{EX}notes>) && ?p NOT IN (rdf:type, provml:domainConcept, prov:used)) }}"
    assert values(store, kept) == {
        ("http://purl.org/dc/terms/subject", GEO + "WellLog", True),
        ("https://schema.org/about", GEO + "Porosity", False),  # an xsd:anyURI literal, as before
        ("http://www.w3.org/ns/dcat#theme", "geo:Lithology", False),
        (EX + "topic", GEO + "Basin", True),
        ("http://schema.org/about", "urn:geo:Facies", False),
        ("http://purl.org/dc/terms/subject", "porosity", False),
        ("http://www.w3.org/ns/dcat#theme", "zz:Porosity", False),
    }


# -- the ML Schema namespace -------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong",
    ["https://ml-schema.org/", "http://ml-schema.org/", "http://www.w3.org/ns/mls", "https://www.w3.org/ns/mls#"],
)
def test_wrong_ml_schema_namespaces_are_recognised(wrong: str) -> None:
    assert repaired_namespace(wrong) == MLS_NS
    assert repaired_namespace(MLS_NS) is None and repaired_namespace("https://ml-schema.org/extra/") is None


def test_a_wrong_ml_schema_namespace_is_repaired_and_noted(tmp_path: Path) -> None:
    # openml-to-prov declares `ml: https://ml-schema.org/`
    document = ProvDocument()
    ml, ex = document.add_namespace("ml", "https://ml-schema.org/"), document.add_namespace("ex", EX)
    run = document.activity(ex["run/1"], other_attributes={"prov:type": ml["Run"]})
    document.used(run, document.entity(ex["task/31"], {"prov:type": ml["Dataset"]}))
    path = tmp_path / "openml-run.json"
    path.write_text(document.serialize(format="json"), encoding="utf-8")
    store = str(tmp_path / "store")
    result = runner.invoke(app, ["load", str(path), "--store", store])
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "repaired the ML Schema namespace <https://ml-schema.org/>" in result.output
    with Store(store) as opened:
        assert values(opened, "SELECT ?d WHERE { ?d a mls:Dataset, provml:Dataset }") == {(EX + "task/31",)}
        assert not opened.query("ASK { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'ml-schema.org')) }")


def test_a_relative_namespace_is_resolved_against_the_file(tmp_path: Path) -> None:
    # yProv4ML binds "provml": "prov-ml" and its run's name as the default namespace
    path = tmp_path / "run.json"
    path.write_text(
        '{"prefix": {"default": "run_0", "provml": "prov-ml"}, "activity": {"train": {}}}', encoding="utf-8"
    )
    with pytest.warns(ProvmlWarning, match="resolved the relative namespace 'run_0'"):
        quads = quads_of(path)
    assert {q[0] for q in quads} == {f"<{(tmp_path / 'run_0train').as_uri()}>"}


# -- bad input ---------------------------------------------------------------------------------

MALFORMED = {
    "prefix.json": ('{"prefix": "ex", "entity": {}}', 'the "prefix" value must be a JSON object'),
    "record-type.json": ('{"prefix": {"ex": "https://e/"}, "notarecord": {}}', "'notarecord' is not a PROV-JSON record type"),
    "not-json.json": ('{"prefix": {"ex": "https://e/"}, "entity": {"ex:a": {]}}', "invalid JSON"),
    "no-activity.json": ('{"prefix": {"ex": "https://e/"}, "used": {"_:u1": {"prov:entity": "ex:e"}}}', "used _:u1: used has no prov:activity"),
    "undeclared.json": ('{"prefix": {"ex": "https://e/"}, "wasGeneratedBy": {"_:g": {"prov:entity": "ex:e", "prov:activity": "zz:a"}}}', "wasGeneratedBy _:g: "),
    "null.json": ('{"prefix": {"ex": "https://e/"}, "entity": {"ex:e": {"ex:size": null}}}', "entity ex:e: "),
    "bad-time.json": ('{"prefix": {"ex": "https://e/"}, "activity": {"ex:a": {"prov:startTime": "yesterday"}}}', "activity ex:a: "),
    "bundle.json": ('{"prefix": {"ex": "https://e/"}, "bundle": {"ex:b": {"entity": {"ex:e": "x"}}}}', "bundle ex:b entity ex:e"),
    "not-xml.provx": ('<prov:document xmlns:prov="http://www.w3.org/ns/prov#">\n<prov:entity>', "invalid XML"),
    "root.provx": ('<prov:bundle xmlns:prov="http://www.w3.org/ns/prov#"><prov:document/></prov:bundle>', "not a PROV-XML document"),
    "syntax.provn": ("document\n  prefix ex <https://e/>\n  entity(ex:e,\nendDocument", ":4: "),
    "missing.provn": ("document\n  prefix ex <https://e/>\n  wasDerivedFrom(ex:e2, -)\nendDocument", ":wasDerivedFrom(ex:e2, -"),
    "unclosed.provn": ("document\n  prefix ex <https://e/>\n  entity(ex:a, [ex:v=1]\n  entity(ex:b)\nendDocument", ":4: expected ')', found 'entity' (in the statement from line 3)"),
    "bundle-twice.provn": ("document\n  prefix ex <https://e/>\n  bundle ex:b\n  endBundle\n  bundle ex:b\n  endBundle\nendDocument", ":5: a bundle with that identifier already exists"),
    "after-end.provn": ("document\n  prefix ex <https://e/>\nendDocument\n  entity(ex:a)\n", ":4: unexpected content after 'endDocument'"),
}  # fmt: skip


@pytest.mark.parametrize("name", MALFORMED)
def test_bad_input_is_named_with_its_record_and_nothing_is_stored(name: str, tmp_path: Path) -> None:
    text, expected = MALFORMED[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    store = Store(tmp_path / "store")
    (outcome,) = load_paths(store, [path], format="prov")
    assert isinstance(outcome.error, InputError), outcome.error
    assert str(outcome.error).startswith(str(path)) and expected in str(outcome.error)
    assert store.dumps() == [] and len(store.query("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }").rows()) == 0


@pytest.mark.parametrize("path", sorted((PROV_TESTS / "malformed").glob("*.[jx][sm][ol]*")), ids=lambda p: p.name)
def test_the_prov_packages_malformed_documents_fail_cleanly(path: Path, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvmlWarning)
        (outcome,) = load_paths(Store(tmp_path / "store"), [path], format="prov")
    assert isinstance(outcome.error, InputError) and str(outcome.error).startswith(str(path))


def test_the_provtoolbox_corpus_loads_or_fails_cleanly() -> None:
    """Every file of the corpus prov tests itself with loads, or fails with an InputError (no KeyError: prov#228)."""
    paths = sorted((PROV_TESTS / "json").glob("*.json")) + sorted(
        (PROV_TESTS / "provn" / "provtoolbox-corpus").glob("*.provn")
    )
    failed = Counter()
    for path in paths:
        try:
            quads_of(path)
        except InputError as error:
            failed[path.suffix] += 1
            assert "has no prov:" in str(error) or "mentionOf" in str(error), error  # relations without their arguments
    assert len(paths) > 700 and sum(failed.values()) < len(paths) / 10


# -- reading in a stream -----------------------------------------------------------------------


@pytest.mark.parametrize("syntax", ["json", "xml", "provn"])
def test_a_large_document_is_read_as_a_stream(syntax: str, tmp_path: Path) -> None:
    document = ProvDocument()
    ex = document.add_namespace("ex", EX)
    for number in range(3000):
        document.entity(ex[f"e{number}"], {"ex:note": "x" * 200})
    path = tmp_path / f"big{SYNTAXES[syntax]}"
    path.write_text(document.serialize(format=syntax), encoding="utf-8")
    read: list[int] = []
    quads = loaders.get("prov").read(path, IriMinter(), "urn:provml:graph/big", on_bytes=read.append)
    next(iter(quads))  # type: ignore[call-overload]
    assert 0 < sum(read) < path.stat().st_size / 4  # the first quads come after reading a small part of the file


def test_prefixes_after_the_records_are_found(written: dict[str, dict[str, Path]], tmp_path: Path) -> None:
    content = json.loads(written["Bundle1"]["json"].read_text())
    for container in (content, *content["bundle"].values()):
        container["prefix"] = container.pop("prefix", {})  # moved last
    path = tmp_path / "late.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    assert list(json.loads(path.read_text()))[-1] == "prefix"
    assert quads_of(path) == quads_of(written["Bundle1"]["json"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.text(max_size=5), _JSON, max_size=4), indent=st.sampled_from([None, 1]))
def test_the_json_stream_reads_any_object_in_small_blocks(document: dict[str, Any], indent: int | None) -> None:
    def walk(stream: _json_stream.JsonStream) -> Any:
        return {key: walk(stream) for key in stream.members()} if stream.kind() == "{" else stream.value()

    text = json.dumps(document, indent=indent, ensure_ascii=False).encode()
    block, _json_stream.BLOCK = _json_stream.BLOCK, 3
    try:
        stream = _json_stream.JsonStream(io.BytesIO(text), "doc.json")
        assert walk(stream) == document
        stream.end()
    finally:
        _json_stream.BLOCK = block


# -- PROV-N, a batch of statements at a time --------------------------------------------------

HAND_WRITTEN = r'''// written by hand: what PROV-N allows and prov does not write
document
  prefix ex <https://lab.example/>
  default <https://lab.example/default/>
  /* a block comment, with ( and " in it */
  entity(ex:report, [prov:label="a ) and a // in a string", ex:kind='ex:Report'])  // a ) comment
  entity(ex:path//to, [ex:text="""a long string
over lines ) ( "quoted"
"""])
  activity(ex:run,
           2024-01-01T10:00:00,  // started
           -//no end
  )
  wasGeneratedBy(ex:report, ex:run, -, [ex:lang="rapport"@fr// in French ) "
  ])
  entity(ex:a\(1\))  entity(local)
  bundle ex:bundle1
    prefix b <https://bundle.example/>
    entity(b:e, [ex:seq=1])
    wasDerivedFrom(b:e, ex:report)
  endBundle
  used(ex:run, ex:a\(1\), -)
endDocument
'''
HAND_WRITTEN_PIECES = [  # (kind, line, lines spanned): `ex:path//to` is a name, `-//no end` a marker and a comment
    ("document", 2, 1), ("prefix", 3, 1), ("default", 4, 1), ("statement", 6, 1), ("statement", 7, 3),
    ("statement", 10, 4), ("statement", 14, 2), ("statement", 16, 1), ("statement", 16, 1), ("bundle", 17, 1),
    ("prefix", 18, 1), ("statement", 19, 1), ("statement", 20, 1), ("endBundle", 21, 1), ("statement", 22, 1),
    ("endDocument", 23, 1), ("end", 24, 1),
]  # fmt: skip


def whole_file_quads(path: Path, graph: str = "urn:provml:graph/one") -> set[tuple[str, ...]]:
    """Return the quads of a PROV-N file that prov parses whole, mapped as the loader maps records: the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", prov.model.ProvFutureRejectionWarning)  # the loader refuses these too
        document = ProvDocument.deserialize(source=str(path), format="provn")
        mapper = ProvOMapper(path, IriMinter(), graph)
        quads = set(mapper.records(document.get_records()))
        for bundle in document.bundles:
            bundle_graph, declaration = mapper.bundle(bundle.identifier)  # type: ignore[arg-type]
            quads.update(declaration, mapper.records(bundle.get_records(), bundle_graph))
        return quads | set(mapper.finish())


@pytest.mark.parametrize("block", [1, 7, _provn_stream.BLOCK])
def test_provn_is_cut_into_statements_by_its_lexical_rules(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_provn_stream, "BLOCK", block)  # the file read a few characters at a time
    pieces = list(_provn_stream.ProvnStatements(io.BytesIO(HAND_WRITTEN.encode()), "hand.provn"))
    assert [(p.kind, p.line, p.lines) for p in pieces] == HAND_WRITTEN_PIECES
    assert pieces[4].text.endswith('"""])') and pieces[8].text == " " * 21 + "entity(local)"  # columns kept


@pytest.mark.parametrize("batch", [1, 2, _prov_read.BATCH])
def test_provn_read_in_batches_gives_the_quads_of_prov_reading_it_whole(
    batch: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hand.provn"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    monkeypatch.setattr(_prov_read, "BATCH", batch)
    monkeypatch.setattr(_provn_stream, "BLOCK", 5)
    quads = quads_of(path)
    assert quads == whole_file_quads(path)
    ex, label = "https://lab.example/", "<http://www.w3.org/2000/01/rdf-schema#label>"
    assert (f"<{ex}report>", label, '"a ) and a // in a string"', "<urn:provml:graph/one>") in quads
    subjects = {(q[0], q[3]) for q in quads}
    assert {(f"<{ex}path//to>", "<urn:provml:graph/one>"), (f"<{ex}a(1)>", "<urn:provml:graph/one>")} <= subjects
    assert (f"<{ex}default/local>", "<urn:provml:graph/one>") in subjects
    assert ("<https://bundle.example/e>", f"<{ex}bundle1>") in subjects


def test_a_provn_file_of_many_batches_gives_the_quads_of_prov_reading_it_whole(tmp_path: Path) -> None:
    document = ProvDocument()
    ex = document.add_namespace("ex", EX)
    run = document.activity(ex["run"])
    for number in range(700):  # about 1,400 statements, each generation with a time: a qualified node each
        document.wasGeneratedBy(
            document.entity(ex[f"e{number}"], {"ex:n": number}), run, f"2024-01-01T00:{number % 60:02}:00"
        )
    bundle = document.bundle(ex["bundle"])
    for number in range(600):
        bundle.used(ex["run"], ex[f"e{number}"], f"2024-01-02T00:{number % 60:02}:00")
    path = tmp_path / "many.provn"
    path.write_text(document.serialize(format="provn"), encoding="utf-8")
    quads = quads_of(path)
    assert quads == whole_file_quads(path)
    assert len({q[2] for q in quads if q[1] == "<http://www.w3.org/ns/prov#qualifiedGeneration>"}) == 700
    assert len({q[2] for q in quads if q[3] == f"<{EX}bundle>" and q[1].endswith("#qualifiedUsage>")}) == 600


def test_every_provn_file_of_the_prov_corpus_reads_as_prov_reads_it_whole() -> None:
    """The PROV-N test files prov ships (ProvToolbox's corpus, the W3C specifications' examples, with comments,
    long strings, bundles) give the quads of the whole-file parse, or both fail."""
    paths = sorted(PROV_TESTS.rglob("*.provn"))
    both_failed = 0
    for path in paths:
        try:
            expected = whole_file_quads(path)
        except (prov.Error, prov.model.ProvFutureRejectionWarning, InputError):
            with pytest.raises(InputError), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quads_of(path)
            both_failed += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProvmlWarning)
            assert quads_of(path) == expected, path
    assert len(paths) - both_failed > 400  # most load: the comparison is not empty


def test_a_statement_that_does_not_end_is_refused_before_the_end_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "unclosed.provn"
    path.write_text('document\n  entity(ex:a, [ex:text="""never closed\n' + "more text\n" * 10_000, encoding="utf-8")
    monkeypatch.setattr(_provn_stream, "MAX_PIECE", 1000)
    monkeypatch.setattr(_provn_stream, "BLOCK", 100)
    read: list[int] = []
    with pytest.raises(InputError) as error:
        list(loaders.get("prov").read(path, IriMinter(), "urn:provml:graph/one", on_bytes=read.append))
    assert str(error.value).startswith(f"{path}:2: a statement longer than 1,000 characters")
    assert sum(read) < path.stat().st_size / 10


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("entity(ex:e{n}, [ex:v=1]", "{next}: expected ')', found 'entity' (in the statement from line {line})"),
        ("wasDerivedFrom(ex:e{n}, -)", "{line}:wasDerivedFrom(ex:e{n}, -): wasDerivedFrom has no prov:usedEntity"),
    ],
)
def test_a_bad_statement_after_a_batch_is_named_by_its_line(bad: str, expected: str, tmp_path: Path) -> None:
    document = ProvDocument()
    ex = document.add_namespace("ex", EX)
    for number in range(_prov_read.BATCH + 100):
        document.entity(ex[f"e{number}"])
    lines = document.serialize(format="provn").splitlines()
    n = _prov_read.BATCH + 50
    line = lines.index(f"  entity(ex:e{n})") + 1
    lines[line - 1] = "  " + bad.format(n=n)
    path = tmp_path / "bad.provn"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as error:
        quads_of(path)
    assert str(error.value) == f"{path}:" + expected.format(n=n, line=line, next=line + 1)


# -- recognising PROV files --------------------------------------------------------------------


def test_prov_files_are_recognised_by_their_content(
    written: dict[str, dict[str, Path]], demo_files: list[Path], tmp_path: Path
) -> None:
    assert {loaders.detect(path).name for path in written["Primer"].values()} == {"prov"}
    as_xml = tmp_path / "primer.xml"
    as_xml.write_bytes(written["Primer"]["xml"].read_bytes())
    assert loaders.detect(as_xml).name == "prov"
    other = tmp_path / "settings.json"
    other.write_text('{"type": "task", "entity": {}}', encoding="utf-8")
    assert not loaders.get("prov").sniff(other) and not loaders.get("prov").sniff(demo_files[0])


# -- export of what other loaders stored -------------------------------------------------------


def test_event_data_exports_as_prov_json_that_prov_reads(demo_store: Store) -> None:
    output = io.BytesIO()
    write_prov_json(demo_store, output)
    document = ProvDocument.deserialize(content=output.getvalue().decode(), format="json")
    counts = record_counts(document)
    graphs = f"FILTER(?g != <{demo_store.ids.catalog_graph}>)"
    for kind, record in (("Activity", "ProvActivity"), ("Agent", "ProvAgent")):
        (expected,) = values(
            demo_store, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a prov:{kind} }} {graphs} }}"
        )
        assert counts[record] == expected[0] > 0
    (used,) = values(
        demo_store,
        f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?a ?e WHERE {{ GRAPH ?g {{ ?a prov:used ?e }} {graphs} }} }}",
    )
    assert counts["ProvUsage"] == used[0] > 0
