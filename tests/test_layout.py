"""The graph layout keeps cross-dump lineage fast: no triple is repeated across named graphs.

research/perf.md measured joins of a property path with triples repeated in many named graphs,
under union-default-graph semantics, at 3000x the cost of the same join on one graph. Shared
things are therefore described once, in the shared graph; these tests hold the layout to that.
"""

from __future__ import annotations

from conftest import DEMO_RUNS

from provml.demo import LINEAGE, best_run, plan_runs
from provml.linking import linked
from provml.store import Store

SHARED_KINDS = (
    "Dataset",
    "Model",
    "ComputeNode",
    "GPU",
    "Persona",
    "Hyperparameter",
    "EvaluationMeasure",
    "WorkflowExecution",
    "Study",
    "Task",
    "Workflow",
    "CodeVersion",
    "Environment",
)


def test_no_triple_is_asserted_in_two_graphs(demo_store: Store) -> None:
    """Of the provenance: linked ontologies may repeat each other (two declare dcterms:title, say)."""
    ontologies = ", ".join(f"<{graph}>" for graph in linked(demo_store))
    repeated = demo_store.query(
        f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g1 {{ ?s ?p ?o }} GRAPH ?g2 {{ ?s ?p ?o }} FILTER(STR(?g1) < STR(?g2)"
        f" && ?g1 NOT IN ({ontologies}) && ?g2 NOT IN ({ontologies})) }} LIMIT 5"
    )
    assert linked(demo_store) and repeated.rows() == []


def test_shared_things_are_described_only_in_the_shared_graph(demo_store: Store) -> None:
    shared = demo_store.ids.shared_graph
    for kind in SHARED_KINDS:
        graphs = {
            row[0].value
            for row in demo_store.query(
                f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?x a provml:{kind} }} }}", entailed=False
            )  # asserted: the entailment graph derives types from the ontologies
        }
        assert graphs <= {shared}, kind


def test_a_dataset_used_by_every_run_is_typed_once(demo_store: Store) -> None:
    (row,) = demo_store.query(
        """SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?d a provml:LearningDataset ; rdfs:label "train split v3" } }"""
    )
    assert row[0].python() == 1
    (row,) = demo_store.query(
        """SELECT (COUNT(DISTINCT ?run) AS ?n) WHERE { ?run a provml:TrainingExecution ; prov:used ?d . ?d rdfs:label "train split v3" }"""
    )
    assert row[0].python() == DEMO_RUNS


def test_the_deployed_model_traces_back_across_dumps_to_the_raw_surveys(demo_store: Store) -> None:
    """Deployment, training, splitting and curation are four dumps; the lineage crosses all of them."""
    best = best_run(plan_runs(DEMO_RUNS, seed=7))
    expected_models = set()
    run = best
    while run.warm_start is not None:  # a fine-tuned model descends from every model it was tuned from
        expected_models.add(f"unet-{run.warm_start:03d}")
        run = plan_runs(DEMO_RUNS, seed=7)[run.warm_start]
    query = LINEAGE.format(model=f"<urn:provml:model/{best.model_id}>")
    names = {(row[0].value, row[1].value.split("#")[1]) for row in demo_store.query(query)}
    assert names == {
        ("survey-north-sea-a.segy", "RawDataset"),
        ("survey-north-sea-b.segy", "RawDataset"),
        ("survey-santos-basin.segy", "RawDataset"),
        ("curated facies cube v3", "DomainDataset"),
        ("train split v3", "LearningDataset"),
        ("val split v3", "LearningDataset"),
        *((model, "Model") for model in expected_models),
    }
