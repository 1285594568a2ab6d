"""The shipped SHACL shapes (``shapes/*.ttl``): how they are written, what they find in a corpus of PROV-ML graphs,
and that what provml's loaders make of real inputs has no violation.

The corpus (``tests/fixtures/shapes``) holds valid graphs, which must give no result at all, and invalid ones,
each breaking one rule: its first lines say which results it gives, as ``# expect: <focus> PATH COMPONENT`` with
PATH a SPARQL path (``<iri>``, ``^<iri>``) or ``-``. Real inputs are made here by the real tools, small.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest
from conftest import FLOWCEPT_SETTINGS, SHAPES_CORPUS, corpus_store
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SH

import provml
from provml.demo import write_lifecycle
from provml.loading import load_paths
from provml.resources import ontology_file
from provml.store import Store
from provml.validation import ENGINES, ValidationReport, shipped_shapes, validate
from provml.validation.shapes import SPARQL_COMPONENT, Shape
from provml.vocab import PROVML_NS

SHAPES = Namespace("https://w3id.org/provml/shapes#")
CORPUS = SHAPES_CORPUS
VALID = sorted((CORPUS / "valid").glob("*.ttl"))
INVALID = sorted((CORPUS / "invalid").glob("*.ttl"))
YPROV4ML = Path(__file__).parent / "fixtures" / "yprov4ml"
EXPECT = re.compile(r"# expect: <([^>]+)> (\S+) (\w+)$")
# the components the fast engine compiles to SPARQL (docs/shapes.md); sh:closed is left out on purpose
ALLOWED = {
    f"{SH}{name}ConstraintComponent"
    for name in (
        *("Class", "Datatype", "NodeKind", "MinCount", "MaxCount", "MinInclusive", "MinExclusive", "MaxInclusive"),
        *("MaxExclusive", "MinLength", "MaxLength", "Pattern", "In", "HasValue", "LessThan", "LessThanOrEquals"),
        *("Node", "Or", "Not", "SPARQL"),
    )
}


@cache
def provml_classes() -> frozenset[URIRef]:
    """Return every owl:Class of the PROV-ML namespace declared in ontology/provml.ttl."""
    ontology = Graph().parse(ontology_file("provml.ttl"))
    return frozenset(c for c in ontology.subjects(RDF.type, OWL.Class) if str(c).startswith(PROVML_NS))


def reporting_shapes() -> list[Shape]:
    """Return the targeted shapes and their property shapes: the shapes whose messages reach a report."""
    found: list[Shape] = []
    stack = list(shipped_shapes().targeted())
    while stack:
        shape = stack.pop()
        found.append(shape)
        stack += shape.properties
    return found


def result_keys(report: ValidationReport) -> set[tuple[str, str, str]]:
    """Return each result as (focus IRI, SPARQL path or '-', component local name)."""
    return {
        (r.focus.value, r.path.sparql() if r.path else "-", r.component.removeprefix(str(SH))) for r in report.results
    }


def expected_keys(path: Path) -> set[tuple[str, str, str]]:
    """Return the results an invalid corpus file says it gives."""
    return {match.groups() for line in path.read_text().splitlines() if (match := EXPECT.match(line))}


# -- how the shapes are written ---------------------------------------------------------------


def test_every_provml_class_is_the_target_of_its_own_shape() -> None:
    graph = shipped_shapes().graph
    assert len(provml_classes()) >= 50
    for cls in provml_classes():
        local = str(cls).removeprefix(PROVML_NS)
        assert (SHAPES[f"{local}Shape"], SH.targetClass, cls) in graph, f"no provml-sh:{local}Shape"


def test_targeted_shapes_say_what_they_check_and_see_also_their_classes() -> None:
    graph = shipped_shapes().graph
    for shape in set(graph.subjects(SH.targetClass, None)):
        assert isinstance(graph.value(shape, RDFS.comment), Literal), shape
        targets = set(graph.objects(shape, SH.targetClass))
        assert targets <= set(graph.objects(shape, RDFS.seeAlso)), shape


def test_every_shape_and_sparql_constraint_has_a_one_sentence_message() -> None:
    graph = shipped_shapes().graph
    named = {s for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef) and str(s).startswith(SHAPES)}
    messages = [(shape.name, shape.message()) for shape in reporting_shapes()]
    messages += [(str(node), graph.value(node, SH.message)) for node in named]
    messages += [(str(node), graph.value(node, SH.message)) for node in graph.subjects(SH.select, None)]
    assert len(messages) > 200
    for name, message in messages:
        assert message and str(message).endswith(".") and "\n" not in str(message), name


def test_the_shapes_use_only_components_the_fast_engine_compiles_and_two_severities() -> None:
    shapes = reporting_shapes()
    used = {constraint.component for shape in shapes for s in shape.nested() for constraint in s.constraints}
    assert SPARQL_COMPONENT in used and used <= ALLOWED
    assert {shape.severity for shape in shapes} == {str(SH.Violation), str(SH.Warning)}


def test_sparql_constraints_declare_their_prefixes_on_the_shapes_ontology() -> None:
    graph = shipped_shapes().graph
    ontology = URIRef("https://w3id.org/provml/shapes")
    assert (ontology, RDF.type, OWL.Ontology) in graph
    declared = {str(graph.value(d, SH.prefix)) for d in graph.objects(ontology, SH.declare)}
    for constraint in graph.subjects(SH.select, None):
        assert graph.value(constraint, SH.prefixes) == ontology
        used = set(re.findall(r"\b([a-z]+):\w", str(graph.value(constraint, SH.select))))
        assert used <= declared, constraint


# -- the corpus -------------------------------------------------------------------------------


def test_the_corpus_has_valid_graphs_and_an_invalid_one_per_rule() -> None:
    assert len(VALID) >= 5 and len(INVALID) >= 35
    assert all(expected_keys(path) for path in INVALID)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_a_valid_graph_conforms(path: Path, engine: str) -> None:
    report = validate(corpus_store(path), engine=engine)
    assert report.conforms, report.text()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_an_invalid_graph_gives_exactly_its_expected_results(path: Path, engine: str) -> None:
    report = validate(corpus_store(path), engine=engine)
    assert result_keys(report) == expected_keys(path), report.text()


def test_a_violation_tells_what_to_fix() -> None:
    report = validate(corpus_store(CORPUS / "invalid" / "metric-value-is-text.ttl"), engine="pyshacl")
    (result,) = report.violations
    assert result.value is not None and result.value.value == "0.41"
    assert result.message.startswith("A model evaluation needs exactly one numeric provml:value")


# -- real inputs: what the loaders make of them has no violation --------------------------------


def loaded(*paths: Path, format: str | None = None) -> Store:
    """Load sources without validating them (so that a test sees the whole report), each must load."""
    store = Store()
    outcomes = load_paths(store, list(paths), format=format, check=False)
    assert outcomes and all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return store


def checked(store: Store) -> ValidationReport:
    """Validate a store with pySHACL and require no violation."""
    report = validate(store, engine="pyshacl")
    assert report.violations == [], report.text(limit=5)
    return report


def warned(report: ValidationReport, path: str) -> set[str]:
    """Return the focus nodes of the warnings on ``path`` (a provml: or prov: name)."""
    prefixes = {"provml": PROVML_NS, "prov": "http://www.w3.org/ns/prov#"}
    prefix, local = path.split(":")
    iri = f"<{prefixes[prefix]}{local}>"
    return {r.focus.value for r in report.results if r.path is not None and r.path.sparql() == iri}


def test_the_demo_lifecycle(tmp_path: Path) -> None:
    report = checked(loaded(*write_lifecycle(tmp_path, runs=2, epochs=2)))
    # absolute paths are stored as file: URIs, so the demo is complete: not even a warning
    assert report.conforms and not report.results


def test_yprov4ml_runs() -> None:
    store = loaded(YPROV4ML)
    report = checked(store)
    # yProv4ML records when a context started, never when it ended; the run's own task (labelled with the
    # experiment, which is also the study) has the run's end
    contexts = """SELECT ?t WHERE {
        ?t a provml:TaskExecution ; rdfs:label ?l FILTER NOT EXISTS { ?s a provml:Study ; rdfs:label ?l } }"""
    assert warned(report, "prov:endedAtTime") == {row[0].value for row in store.query(contexts)} != set()


def test_the_prov_package_example_documents(tmp_path: Path) -> None:
    examples = pytest.importorskip("prov.tests.examples", reason="the prov wheel ships its example documents")
    for number, (_, make) in enumerate(examples.tests):
        (tmp_path / f"example{number}.json").write_text(make().serialize(format="json"))
    assert checked(loaded(tmp_path)).conforms  # PROV-O only: no PROV-ML class, no shape applies


def test_a_prov_document_typed_with_ml_schema(tmp_path: Path) -> None:
    prov_model = pytest.importorskip("prov.model")
    document = prov_model.ProvDocument()
    ex, mls = (
        document.add_namespace("ex", "https://lab.example/"),
        document.add_namespace("mls", "http://www.w3.org/ns/mls#"),
    )
    run = document.activity(
        ex["run"], "2024-01-01T10:00:00+00:00", "2024-01-01T11:00:00+00:00", {"prov:type": mls["Run"]}
    )
    learning_rate = document.entity(ex["learning_rate"], {"prov:type": mls["HyperParameter"], "prov:label": "lr"})
    setting = document.entity(ex["lr=0.01"], {"prov:type": mls["HyperParameterSetting"], "prov:value": 0.01})
    setting.add_attributes({"mls:specifiedBy": learning_rate})
    document.used(run, setting)
    model = document.entity(ex["model"], {"prov:type": mls["Model"], "prov:label": "tree"})
    document.wasGeneratedBy(model, run)
    loss = document.entity(ex["loss"], {"prov:type": mls["EvaluationMeasure"], "prov:label": "loss"})
    point = document.entity(ex["loss/1"], {"prov:type": mls["ModelEvaluation"], "prov:value": 0.25})
    point.add_attributes({"mls:specifiedBy": loss})
    document.wasGeneratedBy(point, run, "2024-01-01T10:30:00+00:00")
    (tmp_path / "run.json").write_text(document.serialize(format="json"))
    report = checked(loaded(tmp_path / "run.json"))
    # warnings only: an mls:Run is a learning stage execution, not a training one; it names no workflow of the
    # run. The metric value's time, given in a qualified generation, counts as its prov:generatedAtTime.
    assert result_keys(report) == {
        ("https://lab.example/model", "<http://www.w3.org/ns/prov#wasGeneratedBy>", "SPARQLConstraintComponent"),
        ("https://lab.example/run", f"<{PROVML_NS}partOf>", "MinCountConstraintComponent"),
    }
    assert not report.violations


def test_events_of_the_capture_client(tmp_path: Path) -> None:
    with provml.start_workflow("shapes", transport=str(tmp_path), campaign="study-1"):
        with provml.start_run("fit", stage="training"):
            provml.log_params({"learning_rate": 0.01, "layers": 3}, kind="learning")
            provml.log_dataset(b"a,b\n0,1\n1,0\n", name="train", kind="learning")
            for step in range(3):
                provml.log_metric("loss", 1.0 / (step + 1), step=step, epoch=0)
            model = provml.log_model(name="net", algorithm="MLP", implementation="torch.nn.Sequential")
        with provml.start_run("evaluate", stage="evaluation"):
            provml.log_model(model_id=model, name="net", role="input")
            provml.log_metric("accuracy", 0.9)
    report = checked(loaded(tmp_path))
    assert report.conforms, report.text()  # a complete run: not even a warning


FLOWCEPT_WORKFLOW = """\
from flowcept import Flowcept, flowcept_task
from flowcept.instrumentation.flowcept_loop import FlowceptLoop
from flowcept.instrumentation.flowcept_task import get_current_context_task_id

@flowcept_task(subtype="learning", output_names="loss")
def train(loss, epochs=2):
    parent = get_current_context_task_id()
    for _ in FlowceptLoop(range(epochs), loop_name="epochs", item_name="epoch", parent_task_id=parent):
        loss /= 2
    return loss

with Flowcept(workflow_name="shapes", campaign_id="campaign-1", workflow_id="wf-shapes"):
    train(8.0)
"""


@pytest.mark.filterwarnings("ignore::provml.errors.ProvmlWarning")  # loop iterations carry telemetry without a time
def test_a_flowcept_run(tmp_path: Path) -> None:
    pytest.importorskip("flowcept", reason='Flowcept is not installed (pip install "flowcept[telemetry]")')
    pytest.importorskip("cpuinfo", reason='Flowcept telemetry needs py-cpuinfo (pip install "flowcept[telemetry]")')
    (tmp_path / "settings.yaml").write_text(FLOWCEPT_SETTINGS)
    run_script(tmp_path, FLOWCEPT_WORKFLOW, FLOWCEPT_SETTINGS_PATH=str(tmp_path / "settings.yaml"))
    report = checked(loaded(tmp_path / "flowcept_buffer.jsonl", format="flowcept"))
    # Flowcept's loop iterations have no end time; the training itself ended
    assert warned(report, "prov:endedAtTime") and all(
        "wf-shapes" in node for node in warned(report, "prov:endedAtTime")
    )


MLFLOW_TRAINING = """\
import sys
import mlflow, mlflow.data, mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("iris")
with mlflow.start_run(run_name="logreg"):
    iris = mlflow.data.from_pandas(X.assign(species=y), source="data/iris.csv", name="iris")
    mlflow.log_input(iris, context="training")
    mlflow.log_params({"C": 1.0, "max_iter": 300})
    model = LogisticRegression(C=1.0, max_iter=300).fit(X, y)
    for step in range(3):
        mlflow.log_metric("train_accuracy", model.score(X, y), step=step)
    logged = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    mlflow.log_metric("test_accuracy", model.score(X, y), model_id=logged.model_id)
"""


def test_an_mlflow_file_store(tmp_path: Path) -> None:
    pytest.importorskip("mlflow", reason="the MLflow loader needs MLflow: pip install 'provml[mlflow]'")
    pytest.importorskip("sklearn", reason="the MLflow run trains a scikit-learn model")
    store = tmp_path / "mlruns"
    run_script(tmp_path, MLFLOW_TRAINING, store.as_uri(), MLFLOW_ALLOW_FILE_STORE="true", PYTHONWARNINGS="ignore")
    report = checked(loaded(store))
    # MLflow records the dataset's source as the user gave it, a relative path: a warning
    assert {r.focus.value for r in report.results} == warned(report, "provml:location") != set()


def test_an_executed_notebook(tmp_path: Path) -> None:
    nbformat, nbclient = pytest.importorskip("nbformat"), pytest.importorskip("nbclient")
    for module in ("ijson", "ipykernel", "pandas", "sklearn", "joblib"):
        pytest.importorskip(module)
    (tmp_path / "data.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{int(i > 5)}\n" for i in range(12)))
    cells = [
        "import joblib\nimport pandas as pd\nfrom sklearn.metrics import accuracy_score\n"
        "from sklearn.tree import DecisionTreeClassifier",
        'df = pd.read_csv("data.csv")\nX = df[["a", "b"]]\ny = df["label"]',
        "model = DecisionTreeClassifier(max_depth=2, random_state=0)\nmodel.fit(X, y)",
        "print(accuracy_score(y, model.predict(X)))",
        'joblib.dump(model, "model.joblib")',
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    nbformat.write(notebook, tmp_path / "flow.ipynb")
    report = checked(loaded(tmp_path / "flow.ipynb"))
    assert warned(report, "prov:endedAtTime") == set()  # every cell ran, so every cell execution ended


WORKER = """\
import sys, provml
with provml.start_workflow("ddp", transport=sys.argv[1]):
    with provml.start_run("train", stage="training"):
        provml.log_metric("loss", 1.0, step=0)
"""


def test_processes_of_one_job_give_their_workflow_one_start_time(tmp_path: Path) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "events")],
            env={**os.environ, "PROVML_WORKFLOW_ID": "ddp-job", "RANK": str(rank)},
        )
        for rank in range(2)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    store = loaded(tmp_path / "events")
    checked(store)
    rows = store.query(
        "SELECT ?status { ?w a provml:WorkflowExecution ; prov:startedAtTime ?start ; "
        "prov:endedAtTime ?end ; provml:status ?status }"
    ).rows()
    assert [status.value for (status,) in rows] == ["FINISHED"]  # rank 0's start, end and status alone


def run_script(directory: Path, script: str, *args: str, **env: str) -> None:
    """Run a Python script in ``directory`` with extra environment variables; it must succeed."""
    (directory / "script.py").write_text(textwrap.dedent(script))
    done = subprocess.run(
        [sys.executable, "script.py", *args],
        cwd=directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_docs_shapes_md_lists_every_shape_and_message() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "shapes.md").read_text(encoding="utf-8")
    graph = shipped_shapes().graph
    named = {s for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef) and str(s).startswith(SHAPES)}
    for shape in named - set(graph.subjects(RDF.type, SH.SPARQLConstraint)):
        assert f"#### `provml-sh:{str(shape).removeprefix(SHAPES)}`" in text, shape
    for shape in reporting_shapes():
        if shape.constraints:  # a node shape of property shapes only reports with their messages
            assert shape.message() in text, f"{shape.name}: {shape.message()}"
