"""Jupyter notebooks: executed by a real kernel (nbclient), loaded by the notebook loader, and recorded
cell by cell by the IPython extension (``%load_ext provml.notebook``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import answer

from provml.cells import CellReader, FileUse, Fit
from provml.errors import ProvmlWarning
from provml.loaders import detect
from provml.loaders.notebook import notebook_records
from provml.loading import load_paths
from provml.store import Store

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ijson")  # the loader streams notebooks with it
for module in ("ipykernel", "pandas", "sklearn", "joblib"):  # the kernel runs the notebooks with them
    pytest.importorskip(module)

# a, b, label: label is 1 exactly when a > 5, so a depth-2 tree fits the 12 rows without error
CSV = "a,b,label\n" + "".join(f"{i},{i % 3},{int(i > 5)}\n" for i in range(12))
IMPORTS = """%precision 4
import joblib
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier"""
READ = 'df = pd.read_csv("data.csv")'
FEATURES = 'X = df[["a", "b"]]\ny = df["label"]'
SAVE = 'joblib.dump(model, "model.joblib")'
FIT = "model = DecisionTreeClassifier(max_depth=2, random_state=0)\nmodel.fit(X, y)"
SCORE = 'accuracy = accuracy_score(y, model.predict(X))\nprint(f"accuracy {accuracy:.4f}")'
# the cells of flow.ipynb, in document order; the model is saved by cell 4, which runs last
FLOW = ["# A tree on a CSV", IMPORTS, READ, FEATURES, SAVE, FIT, SCORE, "print(accuracy)", "def broken(:\n    pass"]
RUN_ORDER = [1, 2, 3, 5, 6, 4]  # cells 7 and 8 never run
GEO = "https://geo.example/"  # the user's domain ontology


def new_notebook(sources: list[str]) -> nbformat.NotebookNode:
    """A notebook of these cells: markdown for those starting with '#', code for the others."""
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(s) if s.startswith("# ") else v4.new_code_cell(s) for s in sources]
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def execute(notebook: nbformat.NotebookNode, directory: Path, order: list[int]) -> None:
    """Run the cells at ``order`` on a python3 kernel (this interpreter's) started in ``directory``."""
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(directory)}},
    )
    with client.setup_kernel():
        for index in order:
            client.execute_cell(notebook.cells[index], index)


@pytest.fixture(scope="session")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """flow.ipynb, run out of document order by a real kernel, and saved with its outputs and timings; its
    metadata and that of the fitting cell name domain concepts of the run, of the cell and of the CSV file."""
    directory = tmp_path_factory.mktemp("flow")
    (directory / "data.csv").write_text(CSV)
    notebook = new_notebook(FLOW)
    notebook.metadata["provml"] = {
        "domain_concepts": [GEO + "FaciesClassification"],
        "data_concepts": {"data.csv": [GEO + "WellLog"]},
    }
    notebook.cells[5].metadata["provml"] = {"domain_concepts": GEO + "Lithology"}  # one IRI
    execute(notebook, directory, RUN_ORDER)
    path = directory / "flow.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="session")
def flow_store(flow: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    with Store(tmp_path_factory.mktemp("flow-store") / "store") as store:
        with pytest.warns(ProvmlWarning, match="cell 8: not Python"):
            (outcome,) = load_paths(store, [flow])
        assert outcome.status == "loaded", outcome.error
        yield store


def values(store: Store, query: str) -> list[object]:
    return [term.python() if term is not None else None for row in store.query(query).rows() for term in row]


def test_a_notebook_is_detected_by_its_name(flow: Path) -> None:
    assert detect(flow).name == "notebook"


def test_cells_are_tasks_in_the_order_they_ran(flow_store: Store) -> None:
    query = """SELECT ?label WHERE {
        ?cell a provml:TaskExecution ; rdfs:label ?label ; prov:startedAtTime ?start } ORDER BY ?start"""
    started = values(flow_store, query)
    assert started == [f"flow/cell-{index}" for index in RUN_ORDER]
    query = """SELECT ?label WHERE {
        ?cell a provml:TaskExecution ; rdfs:label ?label FILTER NOT EXISTS { ?cell provml:status ?s } } ORDER BY ?label"""
    never_ran = values(flow_store, query)
    assert never_ran == ["flow/cell-7", "flow/cell-8"]


def test_lineage_runs_from_the_csv_file_through_features_and_model_to_the_accuracy(
    flow: Path, flow_store: Store
) -> None:
    query = """SELECT ?accuracy ?csv WHERE {
        ?metric mls:specifiedBy/rdfs:label "accuracy" ; provml:value ?accuracy ;
                prov:wasGeneratedBy ?evaluation .
        ?evaluation a provml:EvaluationExecution ; prov:used ?model .
        ?model a provml:Model ; prov:wasGeneratedBy ?training .
        ?training a provml:TrainingExecution ; prov:used ?features .
        ?features rdfs:label "X" ; (prov:wasGeneratedBy/prov:used)+ ?file .
        ?file a provml:Dataset ; provml:location ?csv }"""
    rows = values(flow_store, query)
    assert rows == [1.0, (flow.parent / "data.csv").as_uri()]


def test_the_whole_lineage_is_one_property_path(flow: Path, flow_store: Store) -> None:
    query = """SELECT ?name WHERE {
        ?metric a provml:ModelEvaluation ; (prov:wasGeneratedBy/prov:used)+ ?file .
        ?file a provml:Dataset ; rdfs:label ?name }"""
    assert values(flow_store, query) == ["data.csv"]


def test_a_variable_links_the_cell_that_defined_it_to_a_later_cell_that_used_it(flow_store: Store) -> None:
    query = """SELECT ?user WHERE {
        ?value rdfs:label "X" ; prov:wasGeneratedBy/rdfs:label "flow/cell-3" .
        ?cell prov:used ?value ; rdfs:label ?user } ORDER BY ?user"""
    users = values(flow_store, query)
    assert users == ["flow/cell-5", "flow/cell-6"]


def test_the_model_file_is_saved_from_the_model_fitted_before_it_in_time_not_in_the_document(
    flow: Path, flow_store: Store
) -> None:
    query = """SELECT ?location ?fitter WHERE {
        ?file a provml:Model ; provml:location ?location ; prov:wasGeneratedBy/rdfs:label "flow/cell-4" ;
              prov:wasDerivedFrom/prov:wasGeneratedBy/rdfs:label ?fitter }"""
    rows = values(flow_store, query)
    assert rows == [(flow.parent / "model.joblib").as_uri(), "flow/cell-5"]


def test_the_fitted_model_has_its_algorithm_and_parameters(flow_store: Store) -> None:
    query = """SELECT ?algorithm ?implementation ?depth WHERE {
        ?training a provml:TrainingExecution ; mls:realizes/rdfs:label ?algorithm ;
                  mls:executes/rdfs:label ?implementation ;
                  provml:hasHyperparameterSetting [ rdfs:label "max_depth" ; provml:value ?depth ] }"""
    rows = values(flow_store, query)
    assert rows == ["DecisionTreeClassifier", "sklearn.tree.DecisionTreeClassifier", 2]


def test_provml_metadata_annotates_the_run_a_cell_and_the_file_the_cells_read(flow_store: Store) -> None:
    query = "SELECT ?name ?concept WHERE { ?node provml:domainConcept ?concept ; rdfs:label ?name } ORDER BY ?name"
    assert values(flow_store, query) == [
        "data.csv", GEO + "WellLog", "flow", GEO + "FaciesClassification", "flow/cell-5", GEO + "Lithology",
    ]  # fmt: skip


def test_the_models_trained_on_the_annotated_file_are_found_by_its_concept(flow_store: Store) -> None:
    assert answer(flow_store, "models-by-domain-concept", concept=GEO + "WellLog") == [
        ("model", "data.csv", GEO + "WellLog", None),  # the fitted model, then the file it was saved to
        ("model.joblib", "data.csv", GEO + "WellLog", None),
    ]
    assert answer(flow_store, "models-by-domain-concept", concept=GEO + "FaciesClassification") == []  # not data


def test_data_concepts_name_a_file_by_the_path_the_code_writes_or_by_its_name(tmp_path: Path, store: Store) -> None:
    (tmp_path / "inputs").mkdir()
    for path in ("inputs/wells.csv", "inputs/cores.csv", "logs.csv"):
        (tmp_path / path).write_text(f"depth,{Path(path).stem}\n1,2\n")  # three contents: three datasets
    notebook = new_notebook(
        [
            "import pandas as pd",
            'wells = pd.read_csv("inputs/wells.csv")',
            'cores = pd.read_csv("inputs/cores.csv")',
            'logs = pd.read_csv("logs.csv")',
        ]
    )
    notebook.metadata["provml"] = {
        "data_concepts": {"wells.csv": [GEO + "WellLog"], "inputs/cores.csv": [GEO + "Core"]}
    }
    notebook.cells[1].metadata["provml"] = {  # for the files this cell reads only
        "data_concepts": {"inputs/wells.csv": [GEO + "Porosity"], "logs.csv": [GEO + "GammaRay"]}
    }
    execute(notebook, tmp_path, [0, 1, 2, 3])
    nbformat.write(notebook, tmp_path / "wells.ipynb")
    (outcome,) = load_paths(store, [tmp_path / "wells.ipynb"])
    assert outcome.status == "loaded", outcome.error
    query = """SELECT ?name ?concept WHERE {
        ?file a provml:Dataset ; rdfs:label ?name OPTIONAL { ?file provml:domainConcept ?concept } } ORDER BY ?name ?concept"""
    assert values(store, query) == [
        "cores.csv", GEO + "Core", "logs.csv", None, "wells.csv", GEO + "Porosity", "wells.csv", GEO + "WellLog",
    ]  # fmt: skip


def test_a_cell_that_never_ran_is_read_in_order_and_one_that_is_not_python_is_kept_without_variables(
    flow: Path,
) -> None:
    with pytest.warns(ProvmlWarning, match=r"flow.ipynb:cell 8: not Python"):
        records = list(notebook_records(flow))
    tasks = {record["task_id"]: record for _, record in records if record["type"] == "task"}
    assert tasks["cell-7"]["used"] == {"accuracy": "accuracy = accuracy_score(y, model.predict(X))"}
    assert "used" not in tasks["cell-8"] and "generated" not in tasks["cell-8"]


def test_cell_code_is_read_through_ipython_magics_and_open_files() -> None:
    cells = CellReader()
    cells.read("%matplotlib inline\nimport pickle\nfrom sklearn.svm import SVC")
    fitted = cells.read("%%time\nsvm = SVC(C=2.0).fit(X, y)")
    assert fitted.fits == [Fit("svm", "sklearn.svm.SVC", {"C": 2.0})] and fitted.stage == "training"
    saved = cells.read('!mkdir -p out\nwith open("out/svm.pkl", "wb") as f:\n    pickle.dump(svm, f)')
    assert saved.files == [FileUse("out/svm.pkl", "output", "pickle.dump", "svm")]
    assert saved.used == {"svm": "svm = SVC(C=2.0).fit(X, y)"}


@pytest.fixture(scope="session")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The event directory of a notebook that loads the extension first, runs (one cell fails) and turns it off."""
    directory = tmp_path_factory.mktemp("captured")
    (directory / "data.csv").write_text(CSV)
    sources = [
        "%load_ext provml.notebook",
        IMPORTS,
        READ,
        FEATURES,
        FIT,
        SCORE,
        SAVE,
        "%provml",
        "1 / 0",
        "%provml off",
        "after = 1",  # not recorded
    ]
    notebook = new_notebook(sources)
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits the environment: where events go, its name
        patch.setenv("PROVML_CAPTURE", str(directory / "events"))
        patch.setenv("JPY_SESSION_NAME", str(directory / "captured.ipynb"))
        execute(notebook, directory, list(range(len(sources))))
    assert "recording cells as workflow captured-" in notebook.cells[7].outputs[0]["text"]
    return directory / "events"


@pytest.fixture(scope="session")
def captured_store(captured: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    with Store(tmp_path_factory.mktemp("captured-store") / "store") as store:
        outcomes = load_paths(store, [captured])
        assert [outcome.status for outcome in outcomes] == ["loaded"], [outcome.error for outcome in outcomes]
        yield store


def test_the_extension_records_each_cell_run_after_it_as_a_task(captured_store: Store) -> None:
    query = """SELECT ?tag ?status WHERE {
        ?cell a provml:TaskExecution ; provml:partOf/rdfs:label "captured" ; provml:status ?status ;
              provml:tag ?tag FILTER STRSTARTS(?tag, "execution_count=") } ORDER BY ?tag"""
    rows = values(captured_store, query)
    counts = range(2, 11)  # cell 1 loads the extension, cell 10 turns it off: 2..10 are recorded, 9 fails
    expected = {f"execution_count={n}": "ERROR" if n == 9 else "FINISHED" for n in counts}
    assert dict(zip(rows[::2], rows[1::2], strict=True)) == expected


def test_the_extension_gives_the_same_lineage_with_the_accuracy_read_from_the_kernel(
    captured: Path, captured_store: Store
) -> None:
    query = """SELECT ?accuracy ?csv ?algorithm WHERE {
        ?metric mls:specifiedBy/rdfs:label "accuracy" ; provml:value ?accuracy ;
                provml:evaluatedModel/prov:wasGeneratedBy/mls:realizes/rdfs:label ?algorithm ;
                (prov:wasGeneratedBy/prov:used)+ ?file .
        ?file a provml:Dataset ; provml:location ?csv }"""
    rows = values(captured_store, query)
    assert rows == [1.0, (captured.parent / "data.csv").as_uri(), "DecisionTreeClassifier"]


def test_a_failed_cell_keeps_its_error(captured_store: Store) -> None:
    (message,) = values(captured_store, "SELECT ?m WHERE { ?cell provml:errorMessage ?m }")
    assert "ZeroDivisionError" in message


def broken_timing(path: Path) -> None:
    notebook = new_notebook(["x = 1", "y = x + 1", "z = y + 1"])
    notebook.cells[2].execution_count = 3
    notebook.cells[2].metadata["execution"] = {"shell.execute_reply": "yesterday"}
    nbformat.write(notebook, path)


def provml_metadata(value: object, cell: int | None = None) -> Callable[[Path], None]:
    """Write a notebook whose metadata, or that of cell ``cell``, has this ``provml`` key."""

    def write(path: Path) -> None:
        notebook = new_notebook(["x = 1", "y = x + 1"])
        (notebook if cell is None else notebook.cells[cell]).metadata["provml"] = value
        nbformat.write(notebook, path)

    return write


def missing_execution_count(index: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        notebook = json.loads(nbformat.writes(new_notebook([f"x{n} = {n}" for n in range(max(index + 1, 2))])))
        del notebook["cells"][index]["execution_count"]
        path.write_text(json.dumps(notebook))

    return write


@pytest.mark.parametrize(
    ("write", "where", "message"),
    [
        (lambda path: path.write_text('{"cells": [oops'), "bad.ipynb", "not JSON: lexical error"),
        (lambda path: path.write_text("[1, 2]"), "bad.ipynb", "not a Jupyter notebook"),
        (lambda path: path.write_text('{"nbformat": 3, "worksheets": []}'), "bad.ipynb", "nbformat 3 notebooks"),
        (missing_execution_count(1), "bad.ipynb:cell 1", "'execution_count' is a required property"),
        (missing_execution_count(300), "bad.ipynb:cell 300", "'execution_count' is a required property"),
        (broken_timing, "bad.ipynb:cell 2", "invalid time 'yesterday'"),
        (
            provml_metadata({"domain_concepts": ["porosity"]}),
            "bad.ipynb:metadata",
            "provml.domain_concepts: 'porosity' is not an IRI",
        ),
        (
            provml_metadata({"data_concepts": [GEO + "WellLog"]}, cell=1),
            "bad.ipynb:cell 1",
            "provml.data_concepts: expected an object of file: IRIs",
        ),
        (
            provml_metadata({"data_concepts": {"wells.csv": 7}}, cell=0),
            "bad.ipynb:cell 0",
            "provml.data_concepts['wells.csv']: expected an IRI or a list of IRIs, got 7",
        ),
        (
            provml_metadata({"concepts": [GEO + "WellLog"]}, cell=0),
            "bad.ipynb:cell 0",
            "provml: unknown key 'concepts'",
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "old-format",
        "bad-cell",
        "bad-cell-in-a-later-batch",
        "bad-time-after-good-cells",
        "notebook-concept-not-an-iri",
        "cell-data-concepts-not-an-object",
        "cell-data-concept-not-a-list",
        "cell-unknown-provml-key",
    ],
)
def test_a_malformed_notebook_names_its_file_and_cell_and_stores_nothing(
    tmp_path: Path, store: Store, write: object, where: str, message: str
) -> None:
    path = tmp_path / "bad.ipynb"
    write(path)  # type: ignore[operator]
    (outcome,) = load_paths(store, [path])
    assert outcome.status == "failed"
    assert str(outcome.error).startswith(str(tmp_path / where) + ": ") and message in str(outcome.error)
    assert values(store, "SELECT (COUNT(*) AS ?n) WHERE { { ?s a prov:Activity } UNION { ?s a prov:Entity } }") == [0]
