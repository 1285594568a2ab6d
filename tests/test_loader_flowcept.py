"""Flowcept's own messages load into PROV-ML: a real Flowcept run, offline, dumped to its buffer file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import FLOWCEPT_SETTINGS

from provml import loaders
from provml.demo import write_lifecycle
from provml.errors import InputError, ProvmlWarning
from provml.loaders import flowcept as flowcept_loader
from provml.loading import find_sources, load_paths
from provml.store import Store

pytest.importorskip("flowcept", reason='Flowcept is not installed (pip install "flowcept[telemetry]")')
pytest.importorskip("cpuinfo", reason='Flowcept telemetry needs py-cpuinfo (pip install "flowcept[telemetry]")')

# A toy training workflow of a campaign: sum_one -> mult_two -> train (two epochs, a Flowcept loop
# inside it), then an evaluation that fails; the workflow is run for an agent and given a seed. The
# training, a sub-workflow and the stored model and dataset name concepts of a geology ontology (GEO).
GEO = "https://geo.example/"
WORKFLOW = """\
import json
from flowcept import Flowcept, flowcept_task
from flowcept.commons.flowcept_dataclasses.blob_object import BlobObject
from flowcept.commons.flowcept_dataclasses.workflow_object import WorkflowObject
from flowcept.flowceptor.adapters.instrumentation_interceptor import InstrumentationInterceptor
from flowcept.instrumentation.flowcept_loop import FlowceptLoop
from flowcept.instrumentation.flowcept_task import get_current_context_task_id

GEO = "https://geo.example/"

@flowcept_task(output_names="o1")
def sum_one(i1):
    return i1 + 1

@flowcept_task(output_names="o2")
def mult_two(o1):
    return o1 * 2

@flowcept_task(subtype="learning", output_names="loss",
               custom_metadata={"domain_concepts": [GEO + "FaciesClassification"]})
def train(o2, epochs=2):
    loss = float(o2)
    parent = get_current_context_task_id()
    for _ in FlowceptLoop(range(epochs), loop_name="epochs", item_name="epoch", parent_task_id=parent):
        loss /= 2
    return loss

@flowcept_task
def evaluate(loss):
    raise ValueError("diverged")

with Flowcept(workflow_name="toy-training", campaign_id="campaign-7", workflow_id="wf-toy",
              workflow_args={"seed": 42}, agent_id="planner-1", agent_name="planner"):
    loss = train(mult_two(sum_one(3)))
    try:
        evaluate(loss)
    except ValueError:
        pass
    # Flowcept(...) takes no custom_metadata: a workflow has one when registered as a WorkflowObject, as
    # Flowcept's PyTorch wrapper registers a module; here a sub-workflow, annotated with one IRI
    survey = WorkflowObject(workflow_id="wf-toy-survey", name="survey-preparation")
    survey.parent_workflow_id, survey.custom_metadata = "wf-toy", {"domain_concepts": GEO + "SeismicSurvey"}
    InstrumentationInterceptor.get_instance().send_workflow_message(survey)

# what Flowcept sends for a model and a dataset it stored (Flowcept.insert_or_update_ml_model and
# insert_or_update_dataset store the bytes in MongoDB, so their messages are written here)
objects = [
    BlobObject(object_id="model-1", workflow_id="wf-toy", object_type="ml_model", version=1,
               custom_metadata={"domain_concepts": [GEO + "FaciesMap"]}),
    BlobObject(object_id="cube-1", workflow_id="wf-toy", object_type="dataset",
               custom_metadata={"domain_concepts": [GEO + "SeismicAmplitudeCube", GEO + "SeismicSurvey"]}),
]
with open("objects.jsonl", "w") as out:
    for blob in objects:
        out.write(json.dumps(blob.to_dict() | {"type": "object"}) + "\\n")
"""


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of a real Flowcept run: its buffer file ``flowcept_buffer.jsonl`` and ``objects.jsonl``."""
    directory = tmp_path_factory.mktemp("flowcept")
    (directory / "settings.yaml").write_text(FLOWCEPT_SETTINGS)
    (directory / "workflow.py").write_text(WORKFLOW)
    env = {**os.environ, "FLOWCEPT_SETTINGS_PATH": str(directory / "settings.yaml")}
    done = subprocess.run(
        [sys.executable, "workflow.py"], cwd=directory, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return directory


@pytest.fixture(scope="session")
def messages(run: Path) -> list[dict[str, Any]]:
    """Flowcept's messages, read back by Flowcept itself."""
    from flowcept import Flowcept

    return Flowcept.read_buffer_file(str(run / "flowcept_buffer.jsonl"))


@pytest.fixture(scope="session")
def loaded(run: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store holding the Flowcept buffer file, read by the flowcept loader."""
    store = Store(tmp_path_factory.mktemp("flowcept-store") / "store")
    with pytest.warns(ProvmlWarning, match="2 telemetry blocks without a hostname or time"):
        [outcome] = load_paths(store, [run / "flowcept_buffer.jsonl"], format="flowcept")
    assert outcome.status == "loaded", outcome.error
    return store


def task_named(messages: list[dict[str, Any]], activity: str) -> dict[str, Any]:
    return next(m for m in messages if m.get("type") == "task" and m["activity_id"] == activity)


def values(store: Store, sparql: str) -> list[Any]:
    return [row[0].python() for row in store.query(sparql).rows()]


def annotated(store: Store, *classes: str) -> list[tuple[str, ...]]:
    """Return (class, label, concept) of each node of these PROV-ML classes that has a domain concept."""
    kinds = ", ".join(f"provml:{name}" for name in classes)
    rows = store.query(f"""
        SELECT ?kind ?name ?concept WHERE {{
            ?node provml:domainConcept ?concept ; rdfs:label ?name ; a ?class FILTER(?class IN ({kinds}))
            BIND(STRAFTER(STR(?class), "#") AS ?kind) }}""").rows()
    return sorted(tuple(term.value for term in row) for row in rows)


def dump_triples(store: Store) -> set[tuple[Any, ...]]:
    """Return the triples of the one dump a store holds (in its own graph, and in the shared graph)."""
    [dump] = store.dumps()
    graphs = f"<{dump.graph}> <{store.ids.shared_graph}>"
    rows = store.query(f"SELECT ?s ?p ?o WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }}", union=False)
    return set(rows)


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def test_the_workflow_is_part_of_its_campaign(loaded: Store) -> None:
    rows = loaded.query("""
        SELECT ?study ?plan WHERE {
            ?workflow a provml:WorkflowExecution ; provml:sourceId "wf-toy" ;
                provml:partOf [ a provml:Study ; rdfs:label ?study ] ;
                provml:executionOf [ a provml:Workflow ; rdfs:label ?plan ] }""").rows()
    assert [(study.value, plan.value) for study, plan in rows] == [("campaign-7", "toy-training")]


def test_tasks_are_part_of_the_workflow_and_epochs_of_their_training(loaded: Store) -> None:
    in_workflow = values(
        loaded,
        'SELECT ?name WHERE { ?t a provml:TaskExecution ; provml:partOf [ provml:sourceId "wf-toy" ] ; rdfs:label ?name } ORDER BY ?name',
    )
    assert in_workflow == ["evaluate", "mult_two", "sum_one", "train"]
    epochs = loaded.query("""
        SELECT ?epoch WHERE {
            ?epoch a provml:LearningStageSectionExecution ; rdfs:label "epochs_iteration" ;
                provml:partOf [ a provml:TrainingExecution ; rdfs:label "train" ] }""").rows()
    assert len(epochs) == 2  # train(epochs=2) looped twice


def test_values_generated_by_a_task_are_those_the_next_one_used(loaded: Store) -> None:
    chain = loaded.query("""
        SELECT ?producer ?name ?value ?consumer WHERE {
            ?data provml:value ?value ; rdfs:label ?name ;
                prov:wasGeneratedBy [ rdfs:label ?producer ] .
            [ rdfs:label ?consumer ] prov:used ?data }
        ORDER BY ?value""").rows()
    # sum_one(3) -> o1 = 4 -> mult_two -> o2 = 8 -> train -> loss = 8 / 2 / 2 = 2.0 -> evaluate
    assert [tuple(term.python() for term in row) for row in chain] == [
        ("train", "loss", 2.0, "evaluate"),
        ("sum_one", "o1", 4, "mult_two"),
        ("mult_two", "o2", 8, "train"),
    ]


def test_telemetry_samples_hold_what_flowcept_measured(loaded: Store, messages: list[dict[str, Any]]) -> None:
    start = task_named(messages, "sum_one")["telemetry_at_start"]
    rows = loaded.query("""
        SELECT ?cpu ?memory ?host WHERE {
            ?sample a provml:TelemetrySample ; provml:cpuPercent ?cpu ; provml:memoryUsedBytes ?memory ;
                provml:sampledFrom [ provml:hostname ?host ] ;
                prov:wasGeneratedBy [ rdfs:label "sum_one" ; prov:startedAtTime ?at ] ;
                prov:generatedAtTime ?at }""").rows()
    assert [tuple(term.python() for term in row) for row in rows] == [
        (start["cpu"]["percent_all"], start["memory"]["virtual"]["used"], task_named(messages, "sum_one")["hostname"])
    ]
    # a sample at the start and at the end of each of the four decorated tasks; the loop's own have no host
    assert values(loaded, "SELECT (COUNT(?s) AS ?n) WHERE { ?s a provml:TelemetrySample }") == [8]


def test_the_machine_flowcept_described_is_a_compute_node(loaded: Store, messages: list[dict[str, Any]]) -> None:
    [machine] = next(m for m in messages if m.get("type") == "workflow")["machine_info"].values()
    rows = loaded.query(f"""
        SELECT ?cpus ?memory WHERE {{
            [] a provml:ComputeNode ; provml:hostname "{machine["hostname"]}" ;
                provml:cpuCount ?cpus ; provml:memoryTotalBytes ?memory }}""").rows()
    assert [tuple(term.python() for term in row) for row in rows] == [
        (machine["cpu"]["count"], machine["memory"]["virtual"]["total"])
    ]


def test_final_statuses_and_the_error_are_kept(loaded: Store) -> None:
    rows = loaded.query("""
        SELECT ?name ?status WHERE { ?t a provml:TaskExecution ; rdfs:label ?name ; provml:status ?status }
        ORDER BY ?name""").rows()
    statuses = {name.value: status.value for name, status in rows}
    assert statuses == {
        "epochs_iteration": "FINISHED", "evaluate": "ERROR", "mult_two": "FINISHED", "sum_one": "FINISHED",
        "train": "FINISHED",
    }  # fmt: skip
    assert values(loaded, 'SELECT ?m WHERE { [] rdfs:label "evaluate" ; provml:errorMessage ?m }') == ["diverged"]
    # Flowcept sent the workflow twice, RUNNING then FINISHED: only the final status is stored
    assert values(loaded, 'SELECT ?s WHERE { [] provml:sourceId "wf-toy" ; provml:status ?s }') == ["FINISHED"]


def test_times_are_flowcepts_epoch_seconds(loaded: Store, messages: list[dict[str, Any]]) -> None:
    train = task_named(messages, "train")
    [(started, ended)] = loaded.query("""
        SELECT ?start ?end WHERE {
            [] rdfs:label "train" ; prov:startedAtTime ?start ; prov:endedAtTime ?end }""").rows()
    assert datetime.fromisoformat(started.value) == utc(train["started_at"])
    assert datetime.fromisoformat(ended.value) == utc(train["ended_at"])
    epochs = values(loaded, 'SELECT ?at WHERE { [] rdfs:label "epochs_iteration" ; prov:startedAtTime ?at }')
    assert all(utc(train["started_at"]) <= datetime.fromisoformat(at) <= utc(train["ended_at"]) for at in epochs)


def test_the_agent_and_the_workflow_arguments(loaded: Store) -> None:
    agents = loaded.query("""
        SELECT ?name WHERE { [] provml:sourceId "wf-toy" ; prov:wasAssociatedWith ?agent .
                             ?agent a prov:SoftwareAgent ; rdfs:label ?name }""").rows()
    assert sorted(name.value for (name,) in agents) == ["planner", "planner-1"]
    assert values(
        loaded, 'SELECT ?v WHERE { [] provml:sourceId "wf-toy" ; prov:used [ rdfs:label "seed" ; provml:value ?v ] }'
    ) == [42]


def test_domain_concepts_in_custom_metadata_annotate_the_training_and_the_sub_workflow(
    loaded: Store, messages: list[dict[str, Any]]
) -> None:
    assert task_named(messages, "train")["custom_metadata"] == {"domain_concepts": [GEO + "FaciesClassification"]}
    assert annotated(loaded, "TrainingExecution", "WorkflowExecution") == [
        ("TrainingExecution", "train", GEO + "FaciesClassification"),
        ("WorkflowExecution", "survey-preparation", GEO + "SeismicSurvey"),  # one IRI, not a list
    ]
    assert values(
        loaded, 'SELECT ?p WHERE { [] rdfs:label "survey-preparation" ; provml:partOf/provml:sourceId ?p }'
    ) == ["wf-toy"]


def test_a_model_and_a_dataset_flowcept_stored_keep_their_version_and_domain_concepts(run: Path, store: Store) -> None:
    [outcome] = load_paths(store, [run / "objects.jsonl"], format="flowcept")
    assert outcome.status == "loaded", outcome.error
    assert values(store, "SELECT ?v WHERE { [] a provml:Model ; rdfs:label 'model-1' ; provml:version ?v }") == ["1"]
    assert annotated(store, "Model", "Dataset") == [
        ("Dataset", "cube-1", GEO + "SeismicAmplitudeCube"),
        ("Dataset", "cube-1", GEO + "SeismicSurvey"),
        ("Model", "model-1", GEO + "FaciesMap"),
    ]


def test_a_database_dump_loads_like_the_buffer(
    run: Path, messages: list[dict[str, Any]], loaded: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flowcept's MongoDB dump is a JSON array of documents without their type; read here in small blocks."""
    documents = [
        {"_id": {"$oid": f"{i:024x}"}} | {k: v for k, v in m.items() if k != "type"} for i, m in enumerate(messages)
    ]
    dump = tmp_path / "docs_dump_tasks.json"
    dump.write_text(json.dumps(documents, indent=1))
    monkeypatch.setattr(flowcept_loader, "_BLOCK", 100)  # items cut across many blocks
    with Store(tmp_path / "store") as store:
        with pytest.warns(ProvmlWarning):
            [outcome] = load_paths(store, [dump])
        assert outcome.loader == "flowcept" and outcome.status == "loaded", outcome.error
        assert dump_triples(store) == dump_triples(loaded)


def without_workflow_id(text: str) -> str:
    return json.dumps({key: value for key, value in json.loads(text).items() if key != "workflow_id"})


@pytest.mark.parametrize(
    ("line", "change", "error"),
    [
        (4, lambda text: text[: len(text) // 2], "not JSON"),  # mult_two, cut short
        (2, without_workflow_id, "workflow record: missing required field workflow_id"),  # the workflow's start
        (3, lambda text: json.dumps(json.loads(text) | {"started_at": [1]}), "task record"),  # sum_one
        (
            3,
            lambda text: json.dumps(json.loads(text) | {"custom_metadata": {"domain_concepts": ["porosity"]}}),
            "task message: custom_metadata.domain_concepts: 'porosity' is not an IRI",
        ),
        (
            2,
            lambda text: json.dumps(json.loads(text) | {"custom_metadata": {"domain_concepts": {"iri": GEO}}}),
            "workflow message: custom_metadata.domain_concepts: expected an IRI or a list of IRIs",
        ),
    ],
)
def test_a_malformed_message_names_its_line_and_stores_nothing(
    run: Path, store: Store, tmp_path: Path, line: int, change: Any, error: str
) -> None:
    lines = (run / "flowcept_buffer.jsonl").read_text().splitlines()
    lines[line - 1] = change(lines[line - 1])
    broken = tmp_path / "flowcept_buffer.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    [outcome] = load_paths(store, [broken], format="flowcept")
    assert outcome.status == "failed"
    assert isinstance(outcome.error, InputError) and str(outcome.error).startswith(f"{broken}:{line}: ")
    assert error in str(outcome.error)
    assert store.dumps() == []
    assert values(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s a provml:TaskExecution }") == [0]


def test_a_torn_last_line_is_skipped_with_a_warning(run: Path, store: Store, tmp_path: Path) -> None:
    """Flowcept killed while appending its buffer: the workflow's last message (FINISHED) is cut short."""
    text = (run / "flowcept_buffer.jsonl").read_text()
    torn = tmp_path / "flowcept_buffer.jsonl"
    torn.write_text(text[: text.rstrip("\n").rfind("\n") + 40])
    with pytest.warns(ProvmlWarning) as caught:
        [outcome] = load_paths(store, [torn], format="flowcept")
    assert outcome.status == "loaded"
    assert f"{torn}:{len(text.splitlines())}: torn last line skipped" in [str(w.message) for w in caught]
    assert values(store, 'SELECT ?s WHERE { [] provml:sourceId "wf-toy" ; provml:status ?s }') == []  # RUNNING


def test_a_malformed_array_item_names_its_record(run: Path, store: Store, tmp_path: Path) -> None:
    broken = tmp_path / "dump.json"
    broken.write_text('[{"task_id": "a", "workflow_id": "w"}, {"task_id": "b", "workflow_id": 7}]')
    [outcome] = load_paths(store, [broken], format="flowcept")
    assert str(outcome.error).startswith(f"{broken}:record 2: task record")
    assert store.dumps() == []


def test_messages_provml_cannot_map_are_counted_not_fatal(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    lines = [
        {"type": "flowcept_control", "info": "mq_dao_thread_stopped"},  # Flowcept's queue talking to itself
        {"type": "object", "object_id": "f", "workflow_id": "w", "object_type": "input_file"},
        {"type": "task", "task_id": "t", "workflow_id": "w", "activity_id": "step", "utc_timestamp": 1.0},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.warns(ProvmlWarning, match=r"skipped what provml cannot map: 1 object messages$"):
        [outcome] = load_paths(store, [path], format="flowcept")
    assert outcome.status == "loaded"
    assert values(store, "SELECT ?name WHERE { [] a provml:TaskExecution ; rdfs:label ?name }") == ["step"]


def test_sniffing_tells_flowcept_files_from_provml_event_files(run: Path, tmp_path: Path) -> None:
    flowcept, events = loaders.get("flowcept"), loaders.get("events")
    assert flowcept.sniff(run / "flowcept_buffer.jsonl")
    assert flowcept.sniff(run / "objects.jsonl")
    for event_file in write_lifecycle(tmp_path, runs=1, epochs=1):
        assert events.sniff(event_file) and not flowcept.sniff(event_file)
        assert loaders.detect(event_file).name == "events"


def test_a_flowcept_buffer_is_detected_as_flowcept_though_events_could_read_it(run: Path) -> None:
    buffer = run / "flowcept_buffer.jsonl"
    assert loaders.get("events").sniff(buffer)  # its first message, the agent's, is a provml event too
    assert loaders.detect(buffer).name == "flowcept"
    found = {path.name: loader.name for path, loader in find_sources([run]) if path.name.endswith(".jsonl")}
    assert found == {"flowcept_buffer.jsonl": "flowcept", "objects.jsonl": "flowcept"}  # in a directory too
