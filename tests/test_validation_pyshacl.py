"""The pySHACL engine on a provml store: which data and focus nodes it sees, and how results read."""

from __future__ import annotations

import pytest

from provml.errors import ShapeError
from provml.store import Store, Term
from provml.validation import Shapes, validate
from provml.validation.paths import SH, Path
from provml.validation.pyshacl_engine import validate_with_pyshacl
from provml.vocab import PROV, PROVML, RDF_NS, XSD_NS

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix provml: <https://w3id.org/provml#> .
@prefix ex: <urn:ex:> .
"""
MODEL_NEEDS_LOCATION = Shapes.from_turtle(
    PREFIXES + "ex:ModelShape sh:targetClass provml:Model ; sh:property [ sh:path prov:atLocation ; sh:minCount 1 ] ."
)


def store_of(trig: str) -> Store:
    """Return an in-memory store holding a TriG document."""
    store = Store()
    store.add_rdf((PREFIXES + trig).encode(), "trig")
    return store


def foci(results: list) -> set[str]:
    return {result.focus.value for result in results}


def quads(store: Store) -> int:
    (row,) = store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows()
    return int(row[0].value)


def test_focus_graphs_keep_the_results_of_the_nodes_they_describe() -> None:
    store = store_of("""
        ex:shared { ex:a a provml:Model . ex:b a provml:Model . }
        ex:dump1 { ex:a prov:wasGeneratedBy ex:run1 . }
        ex:dump2 { ex:b prov:wasGeneratedBy ex:run2 . }
    """)
    everywhere = validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl")
    assert foci(everywhere.results) == {"urn:ex:a", "urn:ex:b"}
    # ex:a is typed in the shared graph but described by dump1: it is a focus node of dump1
    scoped = validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", focus_graphs=["urn:ex:dump1"])
    assert foci(scoped.results) == {"urn:ex:a"}
    assert validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", focus_graphs=["urn:ex:shared"]).results
    assert validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", focus_graphs=["urn:ex:none"]).conforms


def test_blank_focus_nodes_are_the_store_s_own() -> None:
    store = store_of("ex:dump { [] a provml:Model . }")
    (result,) = validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", focus_graphs=["urn:ex:dump"]).results
    (model,) = store.query(f"SELECT ?m WHERE {{ ?m a <{PROVML.Model}> }}").rows()
    assert result.focus == model[0]
    assert result.focus.kind == "bnode"


def test_graphs_make_the_data_the_merge_of_those_graphs() -> None:
    store = store_of("""
        ex:types { ex:a a provml:Model . }
        ex:places { ex:a prov:atLocation ex:disk . }
        ex:other { ex:c a provml:Model . }
    """)
    assert validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", graphs=["urn:ex:types", "urn:ex:places"]).conforms
    alone = validate(store, MODEL_NEEDS_LOCATION, engine="pyshacl", graphs=["urn:ex:types"])
    assert foci(alone.results) == {"urn:ex:a"}  # where ex:a is lies in a graph not listed; ex:c is not seen
    for focus_graph in ("urn:ex:types", "urn:ex:places"):  # a focus graph need not be one of the data graphs
        scoped = validate(
            store, MODEL_NEEDS_LOCATION, engine="pyshacl", graphs=["urn:ex:types"], focus_graphs=[focus_graph]
        )
        assert foci(scoped.results) == {"urn:ex:a"}
    assert validate(
        store, MODEL_NEEDS_LOCATION, engine="pyshacl", graphs=["urn:ex:types"], focus_graphs=["urn:ex:other"]
    ).conforms


@pytest.mark.parametrize(("ontology", "conforms"), [(True, True), (False, False)])
def test_the_ontology_makes_a_training_a_learning_stage_execution(ontology: bool, conforms: bool) -> None:
    store = store_of("ex:dump { ex:training a provml:TrainingExecution . ex:model prov:wasGeneratedBy ex:training . }")
    shapes = Shapes.from_turtle(
        PREFIXES
        + """
        ex:ModelShape sh:targetNode ex:model ;
            sh:property [ sh:path prov:wasGeneratedBy ; sh:class provml:LearningStageExecution ] ."""
    )
    before = quads(store)
    report = validate(store, shapes, engine="pyshacl", ontology=ontology)
    assert report.conforms is conforms
    assert all(result.component == SH + "ClassConstraintComponent" for result in report.results)
    assert quads(store) == before  # pySHACL added the ontology to a copy


def test_results_carry_values_paths_shapes_and_messages() -> None:
    store = store_of("""
        ex:dump {
            ex:run a provml:TrainingExecution ; ex:note "fast"@en, "slow", 3 .
            ex:model prov:wasGeneratedBy ex:run .
        }
    """)
    shapes = Shapes.from_turtle(
        PREFIXES
        + """
        ex:TrainingShape sh:targetClass provml:TrainingExecution ;
            sh:property [
                sh:path ( [ sh:inversePath prov:wasGeneratedBy ] [ sh:alternativePath ( ex:size ex:weight ) ] ) ;
                sh:minCount 1 ; sh:message "a training makes a model with a size or weight" ] ;
            sh:property [ sh:path ex:note ; sh:datatype xsd:boolean ] ."""
    )
    report = validate(store, shapes, engine="pyshacl")
    by_component = {result.component.removeprefix(SH): result for result in report.results}
    count = by_component["MinCountConstraintComponent"]
    assert count.focus == Term("iri", "urn:ex:run")
    assert count.path == Path.sequence(
        Path.inverse(Path.predicate(PROV.wasGeneratedBy)),
        Path("alternative", parts=(Path.predicate("urn:ex:size"), Path.predicate("urn:ex:weight"))),
    )
    assert count.message == "a training makes a model with a size or weight"
    (sequence_shape,) = [shape for shape in shapes.targeted()[0].properties if shape.path.kind == "sequence"]
    assert count.shape == sequence_shape.name  # a blank node, named as Shapes names it
    assert count.shape.startswith("_:")
    values = {result.value for result in report.results if result.component == SH + "DatatypeConstraintComponent"}
    assert values == {
        Term("literal", "fast", RDF_NS + "langString", "en"),
        Term("literal", "slow", XSD_NS + "string"),
        Term("literal", "3", XSD_NS + "integer"),
    }


def test_sparql_constraints_are_named_as_source_constraint() -> None:
    store = store_of("ex:dump { ex:model a provml:Model ; ex:accuracy 1.5 . }")
    shapes = Shapes.from_turtle(
        PREFIXES
        + """
        ex:AccuracyShape sh:targetClass provml:Model ; sh:sparql ex:AccuracyAtMostOne .
        ex:AccuracyAtMostOne sh:select "SELECT $this ?value WHERE { $this <urn:ex:accuracy> ?value FILTER (?value > 1) }" ."""
    )
    (result,) = validate(store, shapes, engine="pyshacl").results
    assert (result.component, result.constraint, result.shape) == (
        SH + "SPARQLConstraintComponent",
        "urn:ex:AccuracyAtMostOne",
        "urn:ex:AccuracyShape",
    )
    assert result.value == Term("literal", "1.5", XSD_NS + "decimal")


def test_a_warning_is_a_result_but_not_a_violation() -> None:
    store = store_of("ex:dump { ex:model a provml:Model . }")
    shapes = Shapes.from_turtle(
        PREFIXES
        + """
        ex:ModelShape sh:targetClass provml:Model ; sh:severity sh:Warning ;
            sh:property [ sh:path prov:atLocation ; sh:minCount 1 ; sh:severity sh:Warning ] ."""
    )
    report = validate(store, shapes, engine="pyshacl")
    assert [result.severity for result in report.results] == [SH + "Warning"]
    assert not report.conforms and report.violations == []


def test_use_shapes_names_iri_and_blank_node_shapes() -> None:
    store = store_of("ex:dump { ex:model a provml:Model . ex:data a provml:Dataset . }")
    shapes = Shapes.from_turtle(
        PREFIXES
        + """
        ex:ModelShape sh:targetClass provml:Model ; sh:property [ sh:path prov:atLocation ; sh:minCount 1 ] .
        [] sh:targetClass provml:Dataset ; sh:property [ sh:path prov:atLocation ; sh:minCount 1 ] ."""
    )
    model_shape, dataset_shape = shapes.targeted()  # IRIs first, then blank nodes
    for shape, focus in ((model_shape, "urn:ex:model"), (dataset_shape, "urn:ex:data")):
        results = validate_with_pyshacl(
            store, shapes, focus_graphs=None, graphs=None, ontology=False, use_shapes=[shape.name]
        )
        assert foci(results) == {focus}


@pytest.mark.parametrize(
    "shape",
    [
        "ex:S sh:targetNode ex:model ; sh:property [ sh:path ex:p ; sh:path ex:q ] .",
        'ex:S sh:targetNode ex:model ; sh:sparql [ sh:select "SELECT $this WHERE { $this ?p }" ] .',
        'ex:S sh:targetNode ex:model ; sh:sparql [ sh:select "SELECT $this WHERE { MINUS { $this ?p ?o } }" ] .',
    ],
    ids=["two paths", "sh:select not SPARQL", "sh:select with MINUS"],
)
def test_shapes_pyshacl_cannot_use_raise_shape_error(shape: str) -> None:
    store = store_of("ex:dump { ex:model a provml:Model . }")
    with pytest.raises(ShapeError) as raised:
        validate(store, Shapes.from_turtle(PREFIXES + shape), engine="pyshacl")
    assert "\n" not in str(raised.value)
