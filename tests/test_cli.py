"""The ``provml`` command line, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from typer.testing import CliRunner

from provml.cli import app
from provml.demo import best_run, plan_runs

runner = CliRunner()
COMMANDS = [
    "load",
    "validate",
    "query",
    "link",
    "graphs",
    "drop",
    "export",
    "stats",
    "demo",
    "formats",
    "serve",
    "consume",
]


def provml(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    script = shutil.which("provml", path=str(Path(sys.executable).parent)) or shutil.which("provml")
    assert script, "the provml console script is not installed"
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([script, *args], capture_output=True, text=True, input=input, timeout=120, env=env)


@pytest.fixture
def loaded(tmp_path: Path, demo_files: list[Path]) -> Path:
    store = tmp_path / "store"
    result = runner.invoke(app, ["load", str(demo_files[0].parent), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_load_a_directory_then_list_its_graphs(loaded: Path, demo_files: list[Path]) -> None:
    result = runner.invoke(app, ["graphs", "--store", str(loaded)])
    assert result.exit_code == 0
    assert all(path.name in result.output for path in demo_files)


def test_loading_again_reports_unchanged_dumps(loaded: Path, demo_files: list[Path]) -> None:
    result = runner.invoke(app, ["load", str(demo_files[0]), "--store", str(loaded)])
    assert result.exit_code == 0 and "unchanged" in result.output
    result = runner.invoke(app, ["load", str(demo_files[0]), "--store", str(loaded), "--force"])
    assert result.exit_code == 0 and "replaced" in result.output


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "xml", "table"])
def test_query_answers_in_every_tabular_format(loaded: Path, fmt: str) -> None:
    sparql = "SELECT ?name WHERE { ?d a provml:RawDataset ; rdfs:label ?name } ORDER BY ?name"
    result = runner.invoke(app, ["query", sparql, "--format", fmt, "--store", str(loaded)])
    assert result.exit_code == 0, result.output
    # the three curated surveys, and the new survey the deployed model ran inference on
    expected = [
        "survey-campos-basin.segy",
        "survey-north-sea-a.segy",
        "survey-north-sea-b.segy",
        "survey-santos-basin.segy",
    ]
    if fmt == "json":
        data = json.loads(result.stdout)
        assert [b["name"]["value"] for b in data["results"]["bindings"]] == expected
    elif fmt == "csv":
        assert [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))] == expected
    else:
        assert all(name in result.output for name in expected)


def test_query_reads_a_file_or_standard_input(loaded: Path, tmp_path: Path) -> None:
    query = tmp_path / "q.rq"
    query.write_text("ASK { ?m a provml:Model }")
    assert runner.invoke(app, ["query", "-f", str(query), "--store", str(loaded)]).output.strip() == "true"
    result = runner.invoke(app, ["query", "--store", str(loaded)], input="ASK { ?m a provml:Nothing }")
    assert result.output.strip() == "false"


def test_construct_results_come_out_as_rdf(loaded: Path) -> None:
    sparql = "CONSTRUCT { ?m a provml:Model } WHERE { ?m a provml:Model }"
    result = runner.invoke(app, ["query", sparql, "--format", "ntriples", "--store", str(loaded)])
    assert len(rdflib.Graph().parse(data=result.stdout, format="nt")) == 11  # 12 runs, one crashes


def test_export_and_drop(loaded: Path, tmp_path: Path, demo_files: list[Path]) -> None:
    out = tmp_path / "all.trig"
    assert runner.invoke(app, ["export", "--format", "trig", "-o", str(out), "--store", str(loaded)]).exit_code == 0
    before = len(list(rdflib.Dataset().parse(out, format="trig").quads((None, None, None, None))))
    result = runner.invoke(app, ["drop", str(demo_files[0]), "--store", str(loaded)])
    assert result.exit_code == 0 and "dropped" in result.output
    runner.invoke(app, ["export", "--format", "trig", "-o", str(out), "--store", str(loaded)])
    after = len(list(rdflib.Dataset().parse(out, format="trig").quads((None, None, None, None))))
    assert 0 < after < before


def test_stats_counts_models(loaded: Path) -> None:
    result = runner.invoke(app, ["stats", "--store", str(loaded)])
    assert result.exit_code == 0 and "Model" in result.output


def test_demo_loads_a_lifecycle_and_names_the_best_model(tmp_path: Path) -> None:
    result = provml("demo", "--dir", str(tmp_path / "events"), "--store", str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    assert best_run(plan_runs(12, seed=7)).model_id in result.stdout
    assert "survey-santos-basin.segy" in result.stdout  # the lineage reaches the raw surveys
    assert "CUDA out of memory" in result.stdout  # the failed run is found


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "absent.jsonl"], "absent.jsonl: no such file or directory"),
        (["load", "--format", "csv", "x"], "x: unknown format 'csv'"),
        (["query", "SELECT WHERE {"], "invalid SPARQL query"),
        (["query", "ASK {}", "--format", "pdf"], "unknown output format 'pdf'"),
        (["export", "--format", "csv"], "unknown export format 'csv'"),
        (["drop", "urn:nothing"], "no such dump graph: urn:nothing"),
    ],
)
def test_errors_are_one_line_without_traceback_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = provml(*args, "--store", str(tmp_path / "store"))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_file_is_reported_by_line_and_others_still_load(tmp_path: Path, demo_files: list[Path]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "workflow", "workflow_id": "w"}\n{"type": "metric", "workflow_id": "w"}\n')
    result = provml("load", str(bad), str(demo_files[0]), "--store", str(tmp_path / "store"))
    assert result.returncode == 2
    assert f"{bad}:2: metric record: missing required fields task_id, name, value, timestamp" in result.stderr
    graphs = provml("graphs", "--store", str(tmp_path / "store"))
    assert demo_files[0].name in graphs.stdout and "bad.jsonl" not in graphs.stdout


def test_a_format_that_does_not_fit_the_file_is_an_error_naming_it(tmp_path: Path, demo_files: list[Path]) -> None:
    result = provml("load", str(demo_files[0]), "--format", "rdf", "--store", str(tmp_path / "store"))
    assert result.returncode == 2
    assert f"{demo_files[0]}:1: column " in result.stderr and "Traceback" not in result.stderr
    assert "rdf" in provml("formats").stdout


def test_python_dash_m_and_version(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provml", "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0 and result.stdout.startswith("provml ")


def test_many_files_are_summarised_by_status(tmp_path: Path) -> None:
    runs = tmp_path / "ranks"
    runs.mkdir()
    for rank in range(25):
        (runs / f"rank-{rank:02d}.jsonl").write_text(f'{{"type": "task", "workflow_id": "w", "task_id": "r{rank}"}}\n')
    result = provml("load", str(runs), "--store", str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [line.split("│")[1:3] for line in lines] == [[" loaded ", " 25    "], [" total  ", " 25    "]]


def test_values_that_look_like_markup_are_printed_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "[x].jsonl"
    path.write_text('{"type": "task", "workflow_id": "w", "task_id": "t", "activity_id": "[bold]fit[/bold]"}\n')
    assert "[x].jsonl" in provml("load", str(path), "--store", str(tmp_path / "s")).stdout
    result = provml(
        "query", "SELECT ?l WHERE { ?t a provml:TaskExecution ; rdfs:label ?l }", "--store", str(tmp_path / "s")
    )
    assert "[bold]fit[/bold]" in result.stdout
