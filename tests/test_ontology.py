"""The PROV-ML ontology (ontology/provml.ttl): syntax, declarations, alignment, reasoning, docs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyoxigraph
import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from provml import ontology_doc, reasoning
from provml.resources import ontology_file
from provml.vocab import MLS_NS, PROV_NS, PROVML, PROVML_NS, sparql_prefixes

DOCS = Path(__file__).parents[1] / "docs"
ONTOLOGY = URIRef("https://w3id.org/provml")
TERMS = sorted(PROVML.__annotations__)

IBM_PAGE = URIRef("https://researcher.watson.ibm.com/researcher/view_group_subpage.php?id=10175")
PROVLAKE = URIRef("https://github.com/IBM/multi-data-lineage-capture-py")
# Where the terms that are not provml extensions come from (dcterms:source).
SOURCES = {
    IBM_PAGE: {
        "Study",
        "LearningExperiment",
        "BaseLearningStage",
        "LearningStage",
        "LearningStageSection",
        "Training",
        "Validation",
        "Evaluation",
        "Algorithm",
        "LearningTask",
        "Persona",
    },
    PROVLAKE: {"Workflow", "WorkflowExecution", "Task", "TaskExecution", "DataReference", "DataValue"},
}

# provml class -> the ML Schema class it specialises.
MLS_ALIGNMENT = {
    "Algorithm": "Algorithm",
    "Implementation": "Implementation",
    "LearningTask": "Task",
    "Hyperparameter": "HyperParameter",
    "EvaluationMeasure": "EvaluationMeasure",
    "Study": "Study",
    "LearningExperiment": "Experiment",
    "LearningStageExecution": "Run",
    "Dataset": "Dataset",
    "DatasetCharacteristic": "DatasetCharacteristic",
    "Feature": "Feature",
    "Model": "Model",
    "HyperparameterSetting": "HyperParameterSetting",
    "ModelEvaluation": "ModelEvaluation",
    "Software": "Software",
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ontology_file("provml.ttl"), format="turtle")


@pytest.fixture(scope="module")
def with_imports() -> Graph:
    return ontology_doc.ontology_graph()


def provml_terms(graph: Graph, kind: URIRef) -> set[str]:
    return {str(s)[len(PROVML_NS) :] for s in graph.subjects(RDF.type, kind) if str(s).startswith(PROVML_NS)}


def test_parses_with_rdflib_and_pyoxigraph_alike(ontology: Graph) -> None:
    quads = list(pyoxigraph.parse(path=str(ontology_file("provml.ttl")), format=pyoxigraph.RdfFormat.TURTLE))
    assert len(ontology) > 0
    assert len(quads) == len(ontology)


def test_declares_ontology_version_and_imports(ontology: Graph) -> None:
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(ONTOLOGY, OWL.versionIRI) == URIRef("https://w3id.org/provml/0.1.0")
    assert set(ontology.objects(ONTOLOGY, OWL.imports)) == {
        URIRef("http://www.w3.org/ns/prov-o#"),
        URIRef("http://www.w3.org/ns/mls#"),
    }


def test_vocab_and_ontology_declare_the_same_terms(ontology: Graph) -> None:
    classes = provml_terms(ontology, OWL.Class)
    object_properties = provml_terms(ontology, OWL.ObjectProperty)
    datatype_properties = provml_terms(ontology, OWL.DatatypeProperty)
    # Classes are Capitalised, properties lower-case, and each term has exactly one kind.
    assert classes == {t for t in TERMS if t[0].isupper()}
    assert object_properties | datatype_properties == {t for t in TERMS if t[0].islower()}
    assert not object_properties & datatype_properties
    # No provml: IRI in the ontology that vocab.PROVML does not know (typos, leftovers).
    iris = {t for triple in ontology for t in triple if isinstance(t, URIRef)}
    assert {t[len(PROVML_NS) :] for t in iris if t.startswith(PROVML_NS)} <= set(TERMS)


@pytest.mark.parametrize("term", TERMS)
def test_every_term_has_english_label_and_comment(ontology: Graph, term: str) -> None:
    iri = URIRef(getattr(PROVML, term))
    for annotation in (RDFS.label, RDFS.comment):
        values = ontology.objects(iri, annotation)
        english = [o for o in values if isinstance(o, Literal) and o.language == "en"]
        assert len(english) == 1, f"provml:{term} needs one {annotation.n3(ontology.namespace_manager)}@en"
    assert ontology.value(iri, RDFS.isDefinedBy) == ONTOLOGY


def test_terms_taken_from_prov_ml_and_provlake_cite_their_source(ontology: Graph) -> None:
    for source, terms in SOURCES.items():
        cited = {str(s)[len(PROVML_NS) :] for s in ontology.subjects(DCTERMS.source, source)}
        assert cited == terms, source


def test_every_class_reaches_a_prov_class(with_imports: Graph) -> None:
    query = (
        sparql_prefixes()
        + """
        SELECT ?class WHERE {
            ?class a owl:Class .
            FILTER(STRSTARTS(STR(?class), STR(provml:)))
            FILTER NOT EXISTS {
                ?class rdfs:subClassOf* ?ancestor .
                FILTER(STRSTARTS(STR(?ancestor), STR(prov:)))
                FILTER(?ancestor != ?class)
            }
        }"""
    )
    assert [str(row[0]) for row in with_imports.query(query)] == []


@pytest.mark.parametrize(("term", "mls_class"), sorted(MLS_ALIGNMENT.items()))
def test_ml_schema_counterparts_are_superclasses(ontology: Graph, term: str, mls_class: str) -> None:
    assert (URIRef(getattr(PROVML, term)), RDFS.subClassOf, URIRef(MLS_NS + mls_class)) in ontology


def test_only_those_classes_have_a_direct_ml_schema_parent(ontology: Graph) -> None:
    aligned = {
        str(s)[len(PROVML_NS) :]
        for s, o in ontology.subject_objects(RDFS.subClassOf)
        if str(s).startswith(PROVML_NS) and str(o).startswith(MLS_NS)
    }
    assert aligned == set(MLS_ALIGNMENT)


def test_training_execution_is_an_activity_and_a_run(with_imports: Graph) -> None:
    graph = Graph() + with_imports
    run = URIRef("https://example.org/run/1")
    graph.add((run, RDF.type, URIRef(PROVML.TrainingExecution)))
    query = sparql_prefixes() + "SELECT ?type WHERE { ?run rdf:type/rdfs:subClassOf* ?type }"
    types = {row[0] for row in graph.query(query, initBindings={"run": run})}
    assert {URIRef(PROV_NS + "Activity"), URIRef(MLS_NS + "Run"), URIRef(MLS_NS + "Process")} <= types
    assert URIRef(PROV_NS + "Entity") not in types


@pytest.fixture(scope="module")
def reasoned() -> tuple[Any, list[str]]:
    """The ontology with two individuals, after HermiT ran over them.

    ``run1`` is typed provml:TrainingExecution; ``run2`` has no type, only a hyperparameter setting.
    """
    if shutil.which("java") is None:
        pytest.skip("HermiT needs Java, and `java` is not on PATH")
    world = reasoning.load_ontology_world()
    with world.get_ontology("https://example.org/run#"):
        world[PROVML.TrainingExecution]("run1")
        setting = world[PROVML.HyperparameterSetting]("learning-rate")
        run2 = world["http://www.w3.org/2002/07/owl#Thing"]("run2")
        world[PROVML.hasHyperparameterSetting][run2] = [setting]
    return world, reasoning.check_consistency(world)


def inferred_types(world: Any, individual: str) -> set[str]:
    return {getattr(c, "iri", "") for c in world[individual].INDIRECT_is_a}


@pytest.mark.slow
def test_hermit_finds_the_ontology_consistent_and_coherent(reasoned: tuple[Any, list[str]]) -> None:
    _, unsatisfiable = reasoned
    assert unsatisfiable == []


@pytest.mark.slow
def test_hermit_infers_a_training_execution_is_an_activity_and_a_run(reasoned: tuple[Any, list[str]]) -> None:
    world, _ = reasoned
    expected = {PROV_NS + "Activity", MLS_NS + "Run", PROVML.LearningStageExecution}
    assert expected <= inferred_types(world, "https://example.org/run#run1")


@pytest.mark.slow
def test_hermit_infers_what_has_a_hyperparameter_setting_is_an_activity_and_a_run(
    reasoned: tuple[Any, list[str]],
) -> None:
    world, _ = reasoned
    # From the domains of prov:used and mls:hasInput, the super-properties of hasHyperparameterSetting.
    assert {PROV_NS + "Activity", MLS_NS + "Run"} <= inferred_types(world, "https://example.org/run#run2")


def test_docs_are_up_to_date() -> None:
    committed = (DOCS / "ontology.md").read_text(encoding="utf-8")
    stale = "docs/ontology.md is stale: run `python -m provml.ontology_doc docs/`"
    assert ontology_doc.markdown() == committed, stale


def test_class_diagram_renders_with_dot() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not on PATH")
    dot = ontology_doc.class_diagram_dot()
    svg = ontology_doc.render_svg(dot)
    assert b"<svg" in svg
    assert b"TrainingExecution" in svg
