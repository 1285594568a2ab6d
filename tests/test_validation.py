"""Validation with the fast engine: what it reports, how loads are refused or kept, and `provml validate`.

Shapes here are small and inline so that each test says what it checks; the shipped shapes have
their own tests (test_shapes.py), and the W3C suite checks the engine against the standard.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provml.cli import app
from provml.errors import ShapeError, ValidationError
from provml.loading import load_paths
from provml.store import Store
from provml.validation import LoadValidation, Shapes, validate
from provml.validation.paths import SH

PROVML = "https://w3id.org/provml#"
PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix provml: <https://w3id.org/provml#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix ex: <urn:ex:> .
"""
# every metric value needs one numeric value, and must not be measured before its run started
METRIC_SHAPES = (
    PREFIXES
    + """
ex:MetricShape a sh:NodeShape ; sh:targetClass provml:ModelEvaluation ;
    sh:property [ sh:path provml:value ; sh:minCount 1 ; sh:maxCount 1 ; sh:datatype xsd:double ;
                  sh:maxInclusive 100.0 ; sh:message "a metric needs one value, a double of at most 100" ] .
ex:RunShape a sh:NodeShape ; sh:targetClass provml:LearningStageExecution ;
    sh:property [ sh:path prov:startedAtTime ; sh:maxCount 1 ; sh:severity sh:Warning ] .
"""
)


def events(path: Path, *records: dict) -> Path:
    """Write provml event records as a JSON-lines file."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def training(path: Path, loss: float | str, *, run: str = "t1") -> Path:
    """A workflow with one training task that logs one loss value."""
    return events(
        path,
        {"type": "workflow", "workflow_id": "w1", "name": "train", "started_at": 1700000000},
        {"type": "task", "workflow_id": "w1", "task_id": run, "subtype": "training", "started_at": 1700000001},
        {"type": "metric", "workflow_id": "w1", "task_id": run, "name": "loss", "value": loss, "timestamp": 1700000002},
    )


@pytest.fixture
def shapes_file(tmp_path: Path) -> Path:
    path = tmp_path / "metric-shapes.ttl"
    path.write_text(METRIC_SHAPES)
    return path


def check_with(shapes_file: Path, **options: object) -> LoadValidation:
    return LoadValidation(Shapes.from_files([shapes_file]), **options)  # type: ignore[arg-type]


def test_the_engine_reports_focus_path_value_and_message(tmp_path: Path, shapes_file: Path) -> None:
    store = Store()
    load_paths(store, [training(tmp_path / "run.jsonl", 250.0)], check=False)
    report = validate(store, Shapes.from_files([shapes_file]))
    (result,) = report.results
    assert result.component == SH + "MaxInclusiveConstraintComponent"
    assert result.path is not None and result.path.sparql() == f"<{PROVML}value>"
    assert result.value is not None and float(result.value.value) == 250.0
    assert result.message == "a metric needs one value, a double of at most 100"
    assert result.focus.value.startswith(store.ids.base)
    assert "MaxInclusiveConstraintComponent" in report.text()
    assert json.loads(report.json())["results"][0]["component"] == result.component
    assert "sh:ValidationReport" in report.turtle()


def test_a_training_execution_is_a_learning_stage_execution_through_the_ontology(tmp_path: Path) -> None:
    store = Store()
    path = events(
        tmp_path / "twice.jsonl",
        {"type": "task", "workflow_id": "w", "task_id": "t", "subtype": "training", "started_at": 1700000000},
        {"type": "task", "workflow_id": "w", "task_id": "t", "started_at": 1700000005},
    )
    load_paths(store, [path], check=False)
    shapes = Shapes.from_turtle(METRIC_SHAPES)
    assert [r.severity for r in validate(store, shapes).results] == [SH + "Warning"]
    assert validate(store, shapes, ontology=False).conforms  # without the hierarchy, no training is a stage


def test_both_engines_agree_on_a_small_store(tmp_path: Path, shapes_file: Path) -> None:
    store = Store()
    load_paths(
        store, [training(tmp_path / "a.jsonl", 250.0), training(tmp_path / "b.jsonl", 3.0, run="t2")], check=False
    )
    shapes = Shapes.from_files([shapes_file])
    fast, full = validate(store, shapes), validate(store, shapes, engine="pyshacl")
    assert {r.key() for r in fast.results} == {r.key() for r in full.results} != set()


def test_an_unknown_engine_is_an_error() -> None:
    with pytest.raises(ShapeError, match="unknown validation engine"):
        validate(Store(), Shapes.from_turtle(PREFIXES), engine="topbraid")


def test_a_dump_with_violations_is_refused_whole(tmp_path: Path, shapes_file: Path) -> None:
    store = Store()
    good, bad = training(tmp_path / "good.jsonl", 0.5), training(tmp_path / "bad.jsonl", 250.0, run="t2")
    outcomes = load_paths(store, [good, bad], check=check_with(shapes_file))
    assert [o.status for o in outcomes] == ["loaded", "failed"]
    error = outcomes[1].error
    assert isinstance(error, ValidationError) and len(error.report.violations) == 1
    assert [d.source for d in store.dumps()] == [str(good.resolve())]
    assert not store.query("ASK { ?m provml:value ?v FILTER(?v > 100) }")


def test_accept_invalid_stores_the_dump_and_keeps_its_report_in_the_catalog(tmp_path: Path, shapes_file: Path) -> None:
    store = Store()
    (outcome,) = load_paths(
        store, [training(tmp_path / "bad.jsonl", 250.0)], check=check_with(shapes_file, accept_invalid=True)
    )
    assert outcome.status == "loaded" and len(outcome.result.report.violations) == 1
    (row,) = store.query(
        "SELECT ?n ?report WHERE { ?g provml:violationCount ?n ; provml:validationReport ?report }"
    ).rows()
    assert row[0].value == "1" and "MaxInclusiveConstraintComponent" in row[1].value


def test_a_replaced_dump_is_validated_without_the_version_it_replaces(tmp_path: Path, shapes_file: Path) -> None:
    """The old version's start time would make two; the new one alone has one."""
    store, path = Store(), tmp_path / "run.jsonl"
    check = check_with(shapes_file)
    load_paths(store, [training(path, 0.5)], check=check)
    events(
        path,
        {"type": "task", "workflow_id": "w1", "task_id": "t1", "subtype": "training", "started_at": 1700000009},
    )
    (outcome,) = load_paths(store, [path], check=check)
    assert outcome.status == "replaced" and outcome.result.report.conforms


def test_a_grown_dump_is_validated_again_and_refused_whole(tmp_path: Path, shapes_file: Path) -> None:
    """The new version holds every triple of the old one (so the union can stand for the graphs
    validation sees) and one more metric value, out of range: the reload is refused, the old kept."""
    store, path = Store(), tmp_path / "run.jsonl"
    check = check_with(shapes_file)
    load_paths(store, [training(path, 0.5)], check=check)
    before = store.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", union=False).rows()
    metric = {"type": "metric", "workflow_id": "w1", "task_id": "t1", "name": "loss", "timestamp": 1700000003}
    with path.open("a") as grown:
        grown.write(json.dumps({**metric, "value": 250.0}) + "\n")
    (outcome,) = load_paths(store, [path], check=check)
    assert isinstance(outcome.error, ValidationError) and len(outcome.error.report.violations) == 1
    assert sorted(
        map(str, store.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", union=False).rows())
    ) == sorted(map(str, before))
    with path.open("a") as grown:
        grown.write(json.dumps({**metric, "value": 0.4, "timestamp": 1700000004}) + "\n")
    path.write_text(path.read_text().replace('"value": 250.0', '"value": 0.3'))
    (outcome,) = load_paths(store, [path], check=check)
    assert outcome.status == "replaced" and outcome.result.report.conforms


def test_dumps_loaded_together_are_judged_apart(tmp_path: Path, shapes_file: Path) -> None:
    store = Store()
    paths = [training(tmp_path / f"run{i}.jsonl", 250.0 if i == 3 else 0.5, run=f"t{i}") for i in range(6)]
    outcomes = load_paths(store, paths, check=check_with(shapes_file))
    assert [o.status for o in outcomes] == ["loaded"] * 3 + ["failed"] + ["loaded"] * 2
    assert all(o.result.report.conforms for o in outcomes if o.result)


def test_shared_triples_of_a_dump_are_validated_before_they_are_shared(tmp_path: Path) -> None:
    shapes = Shapes.from_turtle(
        PREFIXES + "ex:D sh:targetClass provml:Dataset ; sh:property [ sh:path provml:sizeBytes ; sh:minInclusive 0 ] ."
    )
    path = events(
        tmp_path / "data.jsonl",
        {"type": "dataset", "workflow_id": "w", "name": "raw", "location": "/x", "size_bytes": -1},
    )
    store = Store()
    (outcome,) = load_paths(store, [path], check=LoadValidation(shapes))
    assert isinstance(outcome.error, ValidationError)
    assert len(store.query("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }").rows()) == 0


def test_validate_command_exit_status_and_formats(tmp_path: Path, shapes_file: Path) -> None:
    runner, store = CliRunner(), tmp_path / "store"
    good, bad = training(tmp_path / "good.jsonl", 0.5), training(tmp_path / "bad.jsonl", 250.0, run="t2")
    shapes = ["--shapes", str(shapes_file), "--store", str(store)]
    assert runner.invoke(app, ["load", str(good), *shapes]).exit_code == 0
    result = runner.invoke(app, ["load", str(bad), *shapes])
    assert result.exit_code == 2 and "refused" in result.output and "at most 100" in result.output
    assert runner.invoke(app, ["load", str(bad), "--accept-invalid", *shapes]).exit_code == 0
    listed = {
        line.split("│")[2].strip(): line
        for line in runner.invoke(app, ["graphs", *shapes[2:]]).output.splitlines()
        if "│" in line and ".jsonl" in line
    }
    assert "violation" not in listed[str(good)] and "1 violation" in listed[str(bad)]

    whole = runner.invoke(app, ["validate", *shapes])
    assert whole.exit_code == 1 and "1 violation" in whole.output
    assert runner.invoke(app, ["validate", "--graph", str(good), "--allow-warnings", *shapes]).exit_code == 0
    as_json = runner.invoke(app, ["validate", "--format", "json", *shapes])
    assert json.loads(as_json.output)["counts"]["Violation"] == 1
    assert "sh:ValidationReport" in runner.invoke(app, ["validate", "--format", "turtle", *shapes]).output
    files = runner.invoke(app, ["validate", str(bad), "--shapes", str(shapes_file)])
    assert files.exit_code == 1

    def provml(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "provml", *args], capture_output=True, text=True, timeout=120)

    unknown = provml("validate", "--engine", "nope", *shapes)
    assert unknown.returncode == 2 and "unknown validation engine" in unknown.stderr
    missing = provml("validate", "--shapes", str(tmp_path / "none.ttl"), "--store", str(store))
    assert missing.returncode == 2 and "none.ttl" in missing.stderr and "Traceback" not in missing.stderr


def test_load_without_validation_stores_anything(tmp_path: Path, shapes_file: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "load",
            str(training(tmp_path / "bad.jsonl", 250.0)),
            "--no-validate",
            "--shapes",
            str(shapes_file),
            "--store",
            str(tmp_path / "s"),
        ],
    )
    assert result.exit_code == 0, result.output
    graphs = CliRunner().invoke(app, ["graphs", "--store", str(tmp_path / "s")])
    assert "bad.jsonl" in graphs.output and "│ -" in graphs.output  # not validated
