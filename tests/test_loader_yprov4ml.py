"""yProv4ML runs load into PROV-ML: its contexts become learning stages, its metric CSVs evaluation values.

The inputs are the output of the real yProv4ML 3.2.8 (``tests/fixtures/yprov4ml``, made by ``make_fixtures.py``
there: yProv4ML needs Python >= 3.12 and torch, so it cannot run in provml's test environment). Every expected
answer below is read from those files: the CSV rows and the PROV-JSON.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from provml import loaders
from provml.errors import InputError
from provml.loading import find_sources, load_paths
from provml.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "yprov4ml"
CONTEXTS = FIXTURES / "mlp_contexts_0"  # experiment mlp_contexts, run 0: contexts training, validation, testing
CONTEXTS_JSON = CONTEXTS / "prov_mlp_contexts_GR0_0.json"
SWEEP_JSONS = [FIXTURES / f"mlp_sweep_{run}" / f"prov_mlp_sweep_GR0_{run}.json" for run in (0, 1)]


def open_store(directory: Path, sources: list[Path]) -> Store:
    """Return a fresh on-disk store holding ``sources``, each of which loaded."""
    store = Store(directory / "store")
    outcomes = load_paths(store, list(sources))
    assert [outcome.error for outcome in outcomes] == [None] * len(outcomes)
    return store


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The run mlp_contexts_0, loaded from its directory (which also holds CSVs, a .txt and another .json)."""
    with open_store(tmp_path_factory.mktemp("contexts"), [CONTEXTS]) as store:
        yield store


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Both runs of the experiment mlp_sweep (lr 0.05 and 0.2), loaded from their PROV-JSON files."""
    with open_store(tmp_path_factory.mktemp("sweep"), SWEEP_JSONS) as store:
        yield store


def values(store: Store, sparql: str) -> list[tuple[object, ...]]:
    """Return the rows of a query as Python values."""
    return [tuple(term.python() if term else None for term in row) for row in store.query(sparql).rows()]


def run_copy(tmp_path: Path, run: Path = CONTEXTS) -> tuple[Path, Path]:
    """Copy a fixture run into ``tmp_path`` (tests that alter it must not touch the fixtures); return it and its JSON."""
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target, next(target.glob("prov_*.json"))


def edit_document(path: Path, change) -> None:
    """Rewrite a PROV-JSON file after ``change(document)``."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


# -- recognising and finding yProv4ML files ---------------------------------------------------------------


def test_a_yprov4ml_document_is_read_by_its_own_loader_not_as_generic_prov() -> None:
    assert loaders.get("prov").sniff(CONTEXTS_JSON)  # it is PROV-JSON too...
    assert loaders.detect(CONTEXTS_JSON).name == "yprov4ml"  # ...but the yProv4ML loader sniffs first


def test_a_directory_of_runs_yields_only_their_prov_json_files() -> None:
    # each run directory also holds metric CSVs, requirements.txt and a JSON description of the model's layers
    found = find_sources([FIXTURES])
    assert [(path.name, loader.name) for path, loader in found] == [
        ("prov_mlp_contexts_GR0_0.json", "yprov4ml"),
        ("prov_mlp_sweep_GR0_0.json", "yprov4ml"),
        ("prov_mlp_sweep_GR0_1.json", "yprov4ml"),
    ]
    assert not loaders.get("yprov4ml").sniff(CONTEXTS / "artifacts_GR0" / "mlp" / "mlp_layers_description.json")


# -- the example queries of the mapping (one run: mlp_contexts_0) -------------------------------------------


def test_final_validation_loss(contexts: Store) -> None:
    # loss_validation_None_GR0.csv: the row of epoch 2
    rows = values(
        contexts,
        """SELECT ?loss WHERE {
             ?stage a provml:ValidationExecution .
             ?point prov:wasGeneratedBy ?stage ; mls:specifiedBy/rdfs:label "loss" ;
                    provml:epoch ?epoch ; provml:value ?loss .
           } ORDER BY DESC(?epoch) LIMIT 1""",
    )
    assert rows == [(1.0356158018112183,)]


def test_every_training_loss_row_is_a_point_though_rows_share_epoch_and_millisecond(contexts: Store) -> None:
    # loss_training_None_GR0.csv: 12 rows (4 batches x 3 epochs), only 5 distinct (epoch, timestep) pairs
    query = """SELECT (COUNT(?point) AS ?n) (COUNT(DISTINCT ?step) AS ?steps) (MAX(?step) AS ?last) WHERE {
                 ?stage a provml:TrainingExecution .
                 ?point a provml:ModelEvaluation ; prov:wasGeneratedBy/provml:partOf* ?stage ; provml:step ?step .
               }"""
    assert values(contexts, query) == [(12, 12, 11)]


def test_the_learning_rate_string_becomes_a_number(contexts: Store) -> None:
    query = """SELECT ?lr WHERE {
                 ?s a provml:HyperparameterSetting ; mls:specifiedBy/rdfs:label "learning_rate" ; provml:value ?lr }"""
    assert values(contexts, query) == [(0.05,)]


def test_contexts_become_learning_stages_by_their_names(contexts: Store) -> None:
    rows = values(
        contexts,
        """SELECT ?name ?class WHERE {
             VALUES ?class { provml:TrainingExecution provml:ValidationExecution provml:EvaluationExecution }
             ?x a ?class ; rdfs:label ?name .
           } ORDER BY ?name""",
    )
    provml = "https://w3id.org/provml#"
    assert rows == [
        ("testing", provml + "EvaluationExecution"),
        ("training", provml + "TrainingExecution"),
        ("validation", provml + "ValidationExecution"),
    ]


def test_test_accuracy(contexts: Store) -> None:
    query = """SELECT ?acc WHERE { ?t a provml:EvaluationExecution . ?p prov:wasGeneratedBy ?t ;
                 mls:specifiedBy/rdfs:label "accuracy" ; provml:value ?acc }"""
    assert values(contexts, query) == [(0.5,)]  # accuracy_testing_None_GR0.csv


def test_the_dataset_the_training_used(contexts: Store) -> None:
    query = """SELECT ?name WHERE {
                 ?t a provml:TrainingExecution ; prov:used ?d . ?d a provml:LearningDataset ; rdfs:label ?name }"""
    assert values(contexts, query) == [("train_dataset",)]


def test_the_model_and_its_original_copy_are_one_model(contexts: Store) -> None:
    # the PROV-JSON has mlp.pt and Original_mlp.pt (the same bytes): one model, where yProv4ML keeps it
    query = """SELECT ?name ?size ?location WHERE {
                 ?t a provml:TrainingExecution . ?m a provml:Model ; prov:wasGeneratedBy ?t ;
                 rdfs:label ?name ; provml:sizeBytes ?size ; provml:location ?location }"""
    location = (CONTEXTS / "artifacts_GR0" / "mlp" / "mlp.pt").absolute().as_uri()
    assert values(contexts, query) == [("mlp.pt", 2549, location)]


def test_the_run_is_a_finished_workflow_execution_of_its_user_on_its_host_in_its_time_zone(contexts: Store) -> None:
    rows = values(
        contexts,
        """SELECT ?plan ?study ?user ?host ?start ?status ?python ?torch WHERE {
             ?wf a provml:WorkflowExecution ; provml:executionOf/rdfs:label ?plan ; provml:partOf/rdfs:label ?study ;
                 prov:wasAssociatedWith/rdfs:label ?user ; provml:ranOn/provml:hostname ?host ;
                 prov:startedAtTime ?start ; provml:status ?status ;
                 provml:hasEnvironment ?env . ?env provml:pythonVersion ?python ; provml:package ?torch .
             FILTER STRSTARTS(?torch, "torch==")
           }""",
    )
    # yprov:time_zone "UTC+0000": the zoneless prov:startedAtTime is UTC; requirements.txt pins torch==2.14.1
    assert rows == [
        ("mlp_contexts", "mlp_contexts", "root", "vm", "2026-11-23T13:23:57.472274Z", "FINISHED", "3.12.1",
         "torch==2.14.1")
    ]  # fmt: skip


# -- the example queries over the sweep (two runs of one experiment) ------------------------------------------


def test_best_run_of_the_sweep_by_final_validation_loss(sweep: Store) -> None:
    rows = values(
        sweep,
        """SELECT ?lr ?loss WHERE {
             ?val a provml:ValidationExecution ; provml:partOf ?wf .
             ?point prov:wasGeneratedBy ?val ; mls:specifiedBy/rdfs:label "loss" ; provml:epoch 2 ; provml:value ?loss .
             ?run provml:partOf ?wf ; provml:hasHyperparameterSetting ?s .
             ?s mls:specifiedBy/rdfs:label "learning_rate" ; provml:value ?lr .
           } ORDER BY ?loss""",
    )
    assert rows == [(0.2, 1.023619532585144), (0.05, 1.0356158018112183)]  # run 1, then run 0


def test_test_accuracy_of_each_sweep_run(sweep: Store) -> None:
    rows = values(
        sweep,
        """SELECT ?lr ?acc WHERE {
             ?t a provml:EvaluationExecution ; provml:partOf ?wf .
             ?p prov:wasGeneratedBy ?t ; mls:specifiedBy/rdfs:label "accuracy" ; provml:value ?acc .
             ?run provml:partOf ?wf ; provml:hasHyperparameterSetting ?s .
             ?s mls:specifiedBy/rdfs:label "learning_rate" ; provml:value ?lr .
           } ORDER BY ?lr""",
    )
    assert rows == [(0.05, 0.5), (0.2, 0.4375)]


def test_sweep_runs_are_executions_of_one_plan(sweep: Store) -> None:
    query = """SELECT ?plan (COUNT(?wf) AS ?runs) WHERE {
                 ?wf a provml:WorkflowExecution ; provml:executionOf/rdfs:label ?plan } GROUP BY ?plan"""
    assert values(sweep, query) == [("mlp_sweep", 2)]


def test_sub_contexts_are_sections_of_the_training(sweep: Store) -> None:
    rows = values(
        sweep,
        """SELECT ?name (COUNT(?p) AS ?n) WHERE {
             ?section a provml:LearningStageSectionExecution ; rdfs:label ?name ; provml:partOf ?t .
             ?t a provml:TrainingExecution . ?p prov:wasGeneratedBy ?section .
           } GROUP BY ?section ?name ORDER BY ?name""",
    )
    # training_epoch_0..2 of each run, 4 per-batch losses each (loss_training_epoch_N_None_GR0.csv)
    assert rows == [("training_epoch_0", 4)] * 2 + [("training_epoch_1", 4)] * 2 + [("training_epoch_2", 4)] * 2


def test_training_points_of_a_sweep_run_are_counted_through_its_sections(sweep: Store) -> None:
    query = """SELECT (COUNT(?point) AS ?n) WHERE {
                 ?stage a provml:TrainingExecution .
                 ?point a provml:ModelEvaluation ; prov:wasGeneratedBy/provml:partOf* ?stage .
               } GROUP BY ?stage"""
    assert values(sweep, query) == [(12,), (12,)]


def test_models_of_each_sweep_run_with_checkpoint_versions(sweep: Store) -> None:
    rows = values(
        sweep,
        """SELECT ?name (COUNT(DISTINCT ?m) AS ?n) (SAMPLE(?v) AS ?version) WHERE {
             ?t a provml:TrainingExecution . ?m a provml:Model ; prov:wasGeneratedBy ?t ; rdfs:label ?name .
             OPTIONAL { ?m provml:version ?v }
           } GROUP BY ?name ORDER BY ?name""",
    )
    # save_model_version wrote mlp_checkpoint/mlp_checkpoint_<n>.pt per epoch; log_model wrote mlp/mlp.pt
    assert rows == [
        ("mlp.pt", 2, None),
        ("mlp_checkpoint_0.pt", 2, "0"),
        ("mlp_checkpoint_1.pt", 2, "1"),
        ("mlp_checkpoint_2.pt", 2, "2"),
    ]


# -- what is repaired, what is refused ---------------------------------------------------------------------


def test_times_take_the_offset_of_the_run_time_zone(tmp_path: Path) -> None:
    _, document = run_copy(tmp_path)
    edit_document(document, lambda d: d["activity"]["mlp_contexts_GR0_0"].update({"yprov:time_zone": "CET+0100"}))
    store = open_store(tmp_path, [document])
    query = "SELECT ?start WHERE { ?t a provml:TrainingExecution ; prov:startedAtTime ?start }"
    assert values(store, query) == [("2026-11-23T13:23:59.528616+01:00",)]


def test_a_parameter_logged_twice_keeps_its_last_value(tmp_path: Path) -> None:
    _, document = run_copy(tmp_path)

    def log_twice(d: dict) -> None:
        first = d["entity"]["learning_rate//mlp_contexts_GR0_0"]
        d["entity"]["learning_rate//mlp_contexts_GR0_0"] = [first, first | {"prov:value": "0.1"}]

    edit_document(document, log_twice)
    store = open_store(tmp_path, [document])
    query = """SELECT ?lr WHERE {
                 ?s a provml:HyperparameterSetting ; mls:specifiedBy/rdfs:label "learning_rate" ; provml:value ?lr }"""
    assert values(store, query) == [(0.1,)]


def test_a_torch_scalar_logged_as_a_metric_value_is_read_as_its_number(tmp_path: Path) -> None:
    run, document = run_copy(tmp_path)
    (run / "metrics_GR0" / "accuracy_testing_None_GR0.csv").write_text(
        "epoch,value,timestep\n3,tensor(0.75, device='cuda:0'),1795440239540\n"
    )
    store = open_store(tmp_path, [document])
    query = """SELECT ?acc WHERE { ?t a provml:EvaluationExecution . ?p prov:wasGeneratedBy ?t ;
                 mls:specifiedBy/rdfs:label "accuracy" ; provml:value ?acc }"""
    assert values(store, query) == [(0.75,)]


def assert_nothing_loaded(store: Store, source: Path, *where: str) -> InputError:
    """Load ``source``; assert it failed with an InputError naming each of ``where`` and that nothing was stored."""
    [outcome] = load_paths(store, [source])
    assert outcome.status == "failed" and isinstance(outcome.error, InputError)
    for text in where:
        assert text in str(outcome.error)
    assert store.dumps() == []
    assert values(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s a provml:ModelEvaluation }") == [(0,)]
    return outcome.error


def test_a_missing_metric_file_names_the_document_and_the_metric(tmp_path: Path) -> None:
    run, document = run_copy(tmp_path)
    (run / "metrics_GR0" / "loss_validation_None_GR0.csv").unlink()
    with Store(tmp_path / "store") as store:
        error = assert_nothing_loaded(store, document, "loss_validation_None_GR0.csv")
    assert (error.source, error.line) == (str(document), "loss//validation")


def test_metric_values_in_netcdf_are_refused_naming_the_metric(tmp_path: Path) -> None:
    _, document = run_copy(tmp_path)

    def as_netcdf(d: dict) -> None:
        entity = d["entity"]["loss//testing"]
        entity["dcterms:identifier"] = entity["dcterms:identifier"].replace(".csv", ".nc")

    edit_document(document, as_netcdf)
    with Store(tmp_path / "store") as store:
        error = assert_nothing_loaded(store, document, "loss_testing_None_GR0.nc", "metrics_file_type='csv'")
    assert error.line == "loss//testing"


def test_a_malformed_metric_row_names_its_file_and_line_and_nothing_of_the_run_is_stored(tmp_path: Path) -> None:
    run, document = run_copy(tmp_path)
    csv = run / "metrics_GR0" / "loss_validation_None_GR0.csv"
    csv.write_text(csv.read_text() + "3,diverged,1795440239541\n")  # the 5th line of the file
    with Store(tmp_path / "store") as store:
        error = assert_nothing_loaded(store, document, "malformed metric row")
    assert (error.source, error.line) == (str(csv), 5)


def test_a_corrupted_document_is_refused(tmp_path: Path) -> None:
    _, document = run_copy(tmp_path)
    document.write_bytes(document.read_bytes()[:4000])  # cut short, as by a full disk
    with Store(tmp_path / "store") as store:
        error = assert_nothing_loaded(store, document, "not JSON")
    assert error.source == str(document)


def test_a_run_reloads_when_a_metric_file_changes(tmp_path: Path) -> None:
    run, document = run_copy(tmp_path)
    with Store(tmp_path / "store") as store:
        assert [o.status for o in load_paths(store, [document])] == ["loaded"]
        assert [o.status for o in load_paths(store, [document])] == ["unchanged"]
        csv = run / "metrics_GR0" / "loss_testing_None_GR0.csv"
        csv.write_text(csv.read_text().replace("1.0047951936721802", "0.5"))
        assert [o.status for o in load_paths(store, [document])] == ["replaced"]
        query = """SELECT ?loss WHERE { ?t a provml:EvaluationExecution . ?p prov:wasGeneratedBy ?t ;
                     mls:specifiedBy/rdfs:label "loss" ; provml:value ?loss }"""
        assert values(store, query) == [(0.5,)]
