"""How events become PROV-ML: given these records, the graph says that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import load_file

from provml.errors import EventError
from provml.store import Store

WF = {"workflow_id": "wf1"}


def load_records(tmp_path: Path, *records: dict[str, Any], name: str = "events.jsonl") -> Store:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    store = Store()
    load_file(store, path)
    return store


def ask(store: Store, where: str) -> bool:
    return bool(store.query(f"ASK {{ {where} }}"))


def values(store: Store, select: str) -> list[Any]:
    return sorted(row[0].python() for row in store.query(select) if row[0] is not None)


def test_a_training_task_is_a_training_execution_of_its_plan_in_its_workflow(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "workflow", **WF, "name": "sweep", "campaign_id": "c1", "started_at": 0, "user": "ana"},
        {
            "type": "task",
            **WF,
            "task_id": "t1",
            "activity_id": "train",
            "subtype": "training",
            "started_at": 10.5,
            "ended_at": 70,
            "status": "finished",
            "hostname": "node1",
            "gpus": [0, 1],
        },
    )
    task = "<urn:provml:task/wf1/t1>"
    assert ask(store, f"{task} a provml:TrainingExecution, provml:TaskExecution, prov:Activity")
    assert ask(store, f"{task} provml:executionOf [ a provml:Training ; rdfs:label 'train' ]")
    assert ask(
        store,
        f"{task} provml:partOf <urn:provml:workflow/wf1> . <urn:provml:workflow/wf1> provml:partOf <urn:provml:study/c1>",
    )
    assert ask(
        store, f"{task} prov:startedAtTime '1970-01-01T00:00:10.500000+00:00'^^xsd:dateTime ; provml:status 'FINISHED'"
    )
    assert ask(
        store, "<urn:provml:workflow/wf1> prov:wasAssociatedWith [ a provml:Persona, prov:Person ; rdfs:label 'ana' ]"
    )
    assert values(
        store, f"SELECT ?gpu WHERE {{ {task} provml:usedGPU ?g . ?g provml:partOf ?h ; rdfs:label ?gpu }}"
    ) == [
        "node1 GPU 0",
        "node1 GPU 1",
    ]


@pytest.mark.parametrize(
    ("subtype", "cls"),
    [
        ("data_curation", "DataCurationExecution"),
        ("dataprep", "LearningDataPreparationExecution"),
        ("learning", "TrainingExecution"),
        ("validation", "ValidationExecution"),
        ("evaluation", "EvaluationExecution"),
        ("deployment", "DeploymentExecution"),
        ("inference", "InferenceExecution"),
        ("epoch", "LearningStageSectionExecution"),
        ("something_else", "TaskExecution"),
    ],
)
def test_the_subtype_picks_the_stage_class(tmp_path: Path, subtype: str, cls: str) -> None:
    store = load_records(tmp_path, {"type": "task", **WF, "task_id": "t", "subtype": subtype})
    assert ask(store, f"<urn:provml:task/wf1/t> a provml:{cls}")


def test_start_and_end_messages_of_a_task_merge_and_the_final_status_wins(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "task", **WF, "task_id": "t", "started_at": 1, "status": "RUNNING"},
        {"type": "task", **WF, "task_id": "t", "ended_at": 2, "status": "ERRORED", "stderr": "boom"},
        {"type": "task", **WF, "task_id": "t", "status": "RUNNING"},  # a late heartbeat does not undo the end
        {"type": "task", **WF, "task_id": "u", "started_at": 1, "status": "RUNNING"},
    )
    assert values(store, "SELECT ?s WHERE { <urn:provml:task/wf1/u> provml:status ?s }") == []  # running: no end yet
    assert values(store, "SELECT ?s WHERE { <urn:provml:task/wf1/t> provml:status ?s }") == ["ERROR"]
    assert ask(
        store, "<urn:provml:task/wf1/t> provml:errorMessage 'boom' ; prov:endedAtTime ?e ; prov:startedAtTime ?s"
    )


def test_params_are_hyperparameter_settings_used_by_the_run(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "param", **WF, "task_id": "t", "name": "learning_rate", "value": 0.001, "kind": "learning"},
        {"type": "param", **WF, "task_id": "t", "name": "layers", "value": 4, "kind": "model"},
    )
    rows = store.query("""SELECT ?name ?value ?kind WHERE {
        <urn:provml:task/wf1/t> provml:hasHyperparameterSetting ?s ; prov:used ?s .
        ?s a provml:HyperparameterSetting ; provml:value ?value ; mls:specifiedBy ?h . ?h rdfs:label ?name ; a ?kind
        FILTER(?kind IN (provml:LearningHyperparameter, provml:ModelHyperparameter)) } ORDER BY ?name""").rows()
    assert [(n.value, v.python(), k.value.split("#")[1]) for n, v, k in rows] == [
        ("layers", 4, "ModelHyperparameter"),
        ("learning_rate", 0.001, "LearningHyperparameter"),
    ]


def test_a_metric_value_has_its_measure_step_epoch_time_and_run(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {
            "type": "metric",
            **WF,
            "task_id": "t",
            "name": "loss",
            "value": 1,
            "step": 100,
            "epoch": 0,
            "timestamp": "2026-01-05T08:00:00Z",
        },
        {
            "type": "metric",
            **WF,
            "task_id": "t",
            "name": "loss",
            "value": 0.5,
            "step": 200,
            "epoch": 1,
            "timestamp": 1767600060,
        },
        {
            "type": "metric",
            **WF,
            "task_id": "t",
            "name": "loss",
            "value": None,
            "step": 300,
            "epoch": 2,
            "timestamp": 1767600120,
        },
    )
    rows = store.query("""SELECT ?step ?epoch ?value ?time WHERE { ?m a provml:ModelEvaluation ;
        mls:specifiedBy [ a provml:EvaluationMeasure ; rdfs:label "loss" ] ; provml:step ?step ; provml:epoch ?epoch ;
        provml:value ?value ; prov:generatedAtTime ?time ; prov:wasGeneratedBy <urn:provml:task/wf1/t> } ORDER BY ?step""").rows()
    assert [(s.python(), e.python(), str(v.python()), t.value) for s, e, v, t in rows] == [
        (100, 0, "1.0", "2026-01-05T08:00:00Z"),
        (200, 1, "0.5", "2026-01-05T08:01:00Z"),
        (300, 2, "nan", "2026-01-05T08:02:00Z"),
    ]
    assert all(v.datatype.endswith("#double") for _, _, v, _ in rows)


def test_a_run_links_the_last_value_of_each_metric_latest_in_time_then_of_highest_step(tmp_path: Path) -> None:
    def metric(name: str, value: float, step: int | None, timestamp: Any) -> dict[str, Any]:
        record = {"type": "metric", **WF, "task_id": "t", "name": name, "value": value, "timestamp": timestamp}
        return record if step is None else {**record, "step": step}

    store = load_records(
        tmp_path,
        metric("loss", 0.2, 300, "2026-01-05T08:03:00+01:00"),  # 07:03 UTC: logged late, earlier in time
        metric("loss", 0.4, 200, "2026-01-05T08:02:00Z"),  # the latest in time
        metric("loss", 0.9, 100, "2026-01-05T08:01:00Z"),
        metric("accuracy", 0.5, 7, 1767600000),  # 08:00:00Z, at the same time as the next, of a higher step
        metric("accuracy", 0.6, 6, 1767600000),
        metric("accuracy", 0.7, None, 1767600000),  # no step: below any step
    )
    rows = store.query("""SELECT ?metric ?value WHERE { <urn:provml:task/wf1/t> provml:lastValue ?last .
        ?last mls:specifiedBy/rdfs:label ?metric ; provml:value ?value }""").rows()
    assert sorted((m.value, v.python()) for m, v in rows) == [("accuracy", 0.5), ("loss", 0.4)]


def test_datasets_are_keyed_by_id_or_digest_and_linked_by_role(tmp_path: Path) -> None:
    digest = "a" * 64
    store = load_records(
        tmp_path,
        {
            "type": "dataset",
            **WF,
            "task_id": "prep",
            "role": "input",
            "name": "raw",
            "dataset_id": "raw-1",
            "kind": "raw",
        },
        {
            "type": "dataset",
            **WF,
            "task_id": "prep",
            "role": "output",
            "name": "clean",
            "sha256": digest,
            "kind": "learning",
            "derived_from": ["raw-1"],
            "shape": [10, 3],
            "location": "/d/clean.csv",
            "domain_concepts": ["http://geo.example/Well"],
        },
    )
    clean = f"<urn:provml:dataset/{digest}>"
    assert ask(
        store,
        f"<urn:provml:task/wf1/prep> prov:used <urn:provml:dataset/raw-1> . {clean} prov:wasGeneratedBy <urn:provml:task/wf1/prep>",
    )
    assert ask(
        store,
        f"{clean} a provml:LearningDataset, provml:Dataset, prov:Entity ; prov:wasDerivedFrom <urn:provml:dataset/raw-1> ; "
        f"provml:shape '[10,3]' ; provml:sha256 '{digest}' ; provml:location 'file:///d/clean.csv'^^xsd:anyURI ; "
        "provml:domainConcept <http://geo.example/Well>",
    )


def test_an_absolute_path_is_stored_as_a_file_uri_and_other_locations_as_written(tmp_path: Path) -> None:
    written = {
        "/data/raw v2.csv": "file:///data/raw%20v2.csv",
        "s3://bucket/raw.csv": "s3://bucket/raw.csv",
        "raw.csv": "raw.csv",
    }
    store = load_records(
        tmp_path, *({"type": "dataset", **WF, "name": f"d{i}", "location": p} for i, p in enumerate(written))
    )
    assert values(store, "SELECT ?l WHERE { ?d provml:location ?l }") == sorted(written.values())


def test_a_model_records_its_run_algorithm_implementation_and_origin(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {
            "type": "model",
            **WF,
            "task_id": "t",
            "model_id": "m2",
            "name": "m2",
            "algorithm": "Random Forest",
            "implementation": "sklearn.ensemble.RandomForestClassifier",
            "derived_from": ["m1"],
        },
        {"type": "model", **WF, "task_id": "e", "model_id": "m2", "name": "m2", "role": "input"},
    )
    assert ask(
        store,
        "<urn:provml:model/m2> a provml:Model ; prov:wasGeneratedBy <urn:provml:task/wf1/t> ; "
        "prov:wasDerivedFrom <urn:provml:model/m1>",
    )
    assert ask(
        store,
        "<urn:provml:task/wf1/t> mls:realizes ?a ; mls:executes ?i . ?i mls:implements ?a . "
        "?a a provml:Algorithm ; rdfs:label 'Random Forest'",
    )
    assert ask(store, "<urn:provml:task/wf1/e> prov:used <urn:provml:model/m2>")


def test_flowcept_values_chain_tasks_through_shared_data_values(tmp_path: Path) -> None:
    """Flowcept's quick-start: sum_one generates o1=4, mult_two uses o1=4, so mult_two depends on sum_one."""
    store = load_records(
        tmp_path,
        {"type": "task", **WF, "task_id": "1", "activity_id": "sum_one", "used": {"i1": 3}, "generated": {"o1": 4}},
        {"type": "task", **WF, "task_id": "2", "activity_id": "mult_two", "used": {"o1": 4}, "generated": {"o2": 8}},
    )
    assert values(
        store,
        """SELECT ?upstream WHERE { ?t rdfs:label "mult_two" ;
        (prov:used/prov:wasGeneratedBy)+ [ rdfs:label ?upstream ] }""",
    ) == ["sum_one"]


def test_telemetry_samples_hosts_and_gpus(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "host", "hostname": "n1", "cpu_count": 8, "gpus": [{"index": 0, "name": "A100", "memory_bytes": 80}]},
        {
            "type": "telemetry",
            **WF,
            "task_id": "t",
            "hostname": "n1",
            "timestamp": 5,
            "cpu": {"percent_all": 50},
            "memory": {"virtual": {"used": 1024}},
            "gpu": [{"index": 0, "utilization": 90, "memory_used": 7}],
        },
    )
    assert ask(
        store,
        "?s a provml:TelemetrySample ; provml:sampledFrom <urn:provml:host/n1> ; provml:cpuPercent 50.0e0 ; "
        "provml:memoryUsedBytes 1024 ; prov:wasGeneratedBy <urn:provml:task/wf1/t>",
    )
    assert ask(
        store,
        "?s provml:sampledFrom [ a provml:GPU ; provml:platform 'A100' ; provml:partOf <urn:provml:host/n1> ] ; "
        "provml:gpuUtilizationPercent 90.0e0 ; provml:gpuMemoryUsedBytes 7",
    )


def test_tasks_sampling_a_node_at_the_same_instant_get_a_sample_each(tmp_path: Path) -> None:
    block = {"type": "telemetry", **WF, "hostname": "n1", "timestamp": 5, "gpu": [{"index": 0, "utilization": 1}]}
    store = load_records(tmp_path, {**block, "task_id": "a", "cpu": {"percent_all": 10}}, {**block, "task_id": "b"})
    query = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a provml:TelemetrySample ; prov:wasGeneratedBy ?t }"
    assert values(store, query) == [4]  # a host and a GPU sample for each task
    assert values(store, "SELECT ?s WHERE { ?s prov:wasGeneratedBy ?a, ?b FILTER(?a != ?b) }") == []
    assert ask(store, "?s prov:wasGeneratedBy <urn:provml:task/wf1/a> ; provml:cpuPercent 10.0e0")
    assert not ask(store, "?s prov:wasGeneratedBy <urn:provml:task/wf1/b> ; provml:cpuPercent ?c")


def test_descriptions_of_shared_things_go_to_the_shared_graph_and_runs_to_the_dump(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "task", **WF, "task_id": "t", "hostname": "n1"},
        {"type": "dataset", **WF, "task_id": "t", "role": "input", "dataset_id": "d", "name": "d"},
    )
    shared = f"<{store.ids.shared_graph}>"
    assert ask(
        store,
        f"GRAPH {shared} {{ <urn:provml:dataset/d> a provml:Dataset . <urn:provml:host/n1> a provml:ComputeNode }}",
    )
    assert ask(store, f"GRAPH ?g {{ <urn:provml:task/wf1/t> prov:used <urn:provml:dataset/d> }} FILTER(?g != {shared})")
    assert not ask(store, f"GRAPH {shared} {{ <urn:provml:task/wf1/t> ?p ?o }}")


def test_ids_with_spaces_and_slashes_give_valid_iris(tmp_path: Path) -> None:
    store = load_records(
        tmp_path, {"type": "task", "workflow_id": "my wf/1", "task_id": "a<b>", "activity_id": 'say "x"'}
    )
    assert ask(store, "<urn:provml:task/my%20wf%2F1/a%3Cb%3E> a provml:TaskExecution ; rdfs:label 'say \"x\"'")


def test_an_invalid_time_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'{"type": "task", "workflow_id": "w", "task_id": "t"}\n{"type": "task", "workflow_id": "w", "task_id": "t", "started_at": "yesterday"}\n'
    )
    with pytest.raises(EventError, match=r"events.jsonl:2: invalid time 'yesterday'"):
        load_file(Store(), path)


def test_a_task_is_part_of_its_parent_only_even_when_its_end_record_omits_the_parent(tmp_path: Path) -> None:
    store = load_records(
        tmp_path,
        {"type": "task", **WF, "task_id": "epoch-1", "parent_task_id": "train", "started_at": 1},
        {"type": "task", **WF, "task_id": "epoch-1", "ended_at": 2, "status": "FINISHED"},
        {"type": "task", **WF, "task_id": "train", "started_at": 0},
    )
    assert values(store, "SELECT ?p WHERE { <urn:provml:task/wf1/epoch-1> provml:partOf ?p }") == [
        "urn:provml:task/wf1/train"
    ]
    assert values(store, "SELECT ?p WHERE { <urn:provml:task/wf1/train> provml:partOf ?p }") == [
        "urn:provml:workflow/wf1"
    ]


def test_a_stream_loaded_in_batches_gives_the_same_triples_as_loaded_whole(
    tmp_path: Path, demo_files: list[Path]
) -> None:
    """Streaming transports load a stream batch by batch, one dump each: a task's start and end may fall apart."""
    lines = (
        next(p for p in demo_files if p.name == "train-005.jsonl").read_bytes().splitlines(keepends=True)
    )  # a failed run
    whole, parts = tmp_path / "whole.jsonl", [tmp_path / f"part{i}.jsonl" for i in range(3)]
    whole.write_bytes(b"".join(lines))
    cuts = [0, len(lines) // 3, 2 * len(lines) // 3, len(lines)]
    for path, start, end in zip(parts, cuts, cuts[1:], strict=False):
        path.write_bytes(b"".join(lines[start:end]))
    triples = "SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?g != <urn:provml:graph/catalog>) }"
    at_once, batched = Store(), Store()
    load_file(at_once, whole)
    for path in parts:
        load_file(batched, path)
    last = "https://w3id.org/provml#lastValue"
    assert {t for t in batched.query(triples) if t[1].value != last} == {
        t for t in at_once.query(triples) if t[1].value != last
    }
    # each batch links the last value of its own part of the stream; the latest of them is the whole stream's
    latest = """SELECT ?run ?measure (MAX(?time) AS ?latest) (COUNT(*) AS ?links) WHERE {
        ?run provml:lastValue ?value . ?value mls:specifiedBy ?measure ; prov:generatedAtTime ?time } GROUP BY ?run ?measure"""
    whole, split = ({row[:3]: row[3].python() for row in store.query(latest)} for store in (at_once, batched))
    assert whole.keys() == split.keys() and whole
    assert set(whole.values()) == {1} and max(split.values()) > 1
