"""The canned query library: headers, parameters, the shipped queries as a whole, the CLI and the docs.

What each shipped query answers is tested on the fixture lifecycle in test_queries_*.py.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LIFECYCLE, load_file
from typer.testing import CliRunner

from provml import queries_doc
from provml.canned import TAGS, TAXONOMY, CannedQuery, Library, shipped
from provml.cli import app
from provml.errors import QueryError
from provml.store import Store

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
HEADER = "#+ summary: a test query\n#+ tags: [phase:training]\n"


def parse(text: str) -> CannedQuery:
    return CannedQuery.parse("q", text, source="queries/q.rq")


@pytest.fixture(scope="module")
def small_store() -> Store:
    store = Store()
    load_file(store, LIFECYCLE / "train-a.jsonl")
    return store


# -- headers and parameters ----------------------------------------------------------------


def test_a_header_gives_summary_description_tags_and_typed_parameters() -> None:
    query = parse(
        "#+ summary: Runs of a workflow\n#+ description: All of them.\n#+ tags:\n#+   - phase:training\n"
        "#+   - direction:aggregation\n#+ defaults:\n#+   - limit: 5\n#+ enumerate:\n#+   - order:\n#+     - asc\n"
        "#+     - desc\n#+ params:\n#+   workflow:\n#+     description: the workflow\n#+     example: sweep-0007\n"
        "SELECT ?r WHERE { ?r provml:partOf ?_workflow_iri ; rdfs:label ?__label_en ; provml:epoch ?_limit_integer ;"
        " provml:value ?_score_number ; prov:startedAtTime ?_since_xsd_dateTime ; provml:status ?__order }"
    )
    assert (query.summary, query.description, query.method) == ("Runs of a workflow", "All of them.", "GET")
    assert query.taxonomy() == {"phase": ["training"], "data": [], "timing": [], "direction": ["aggregation"]}
    kinds = {p.name: (p.kind, p.required, p.default, p.describe_type()) for p in query.parameters}
    assert kinds == {
        "workflow": ("iri", True, None, "IRI"),
        "label": ("language", False, None, "string@en"),
        "limit": ("integer", True, "5", "integer"),
        "score": ("number", True, None, "number"),
        "since": ("typed", True, None, "xsd:dateTime"),
        "order": ("string", False, None, "string"),
    }
    (workflow,) = [p for p in query.parameters if p.name == "workflow"]
    assert (workflow.description, workflow.example) == ("the workflow", "sweep-0007")


def test_values_are_written_as_escaped_terms_of_their_type() -> None:
    query = parse(
        HEADER + "SELECT * WHERE { ?r provml:partOf ?_wf_iri ; provml:epoch ?_n_integer ; provml:value ?_v_number ;"
        " rdfs:label ?_name_en ; prov:startedAtTime ?_at_xsd_dateTime ; provml:sourceId ?_id }"
    )
    text = query.text(
        {"wf": "provml:Study", "n": "3", "v": "0.5", "name": 'say "hi"', "at": "2026-01-05T10:00:00Z", "id": "a\\b"}
    )
    assert "provml:partOf <https://w3id.org/provml#Study>" in text
    assert "provml:epoch 3 ;" in text  # bare, as an integer must be in a LIMIT
    assert '"0.5"^^<http://www.w3.org/2001/XMLSchema#decimal>' in text
    assert 'rdfs:label "say \\"hi\\""@en' in text
    assert '"2026-01-05T10:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>' in text
    assert 'provml:sourceId "a\\\\b"' in text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "needs parameter 'run'"),
        ({"run": "x", "runs": "y"}, "has no parameter 'runs'; it takes epochs, model, order, run"),
        ({"run": "x", "model": "not an iri"}, "'model' must be an absolute IRI"),
        ({"run": "x", "model": "urn:a>b"}, "'model' must be an absolute IRI"),
        ({"run": "x", "epochs": "3.5"}, "'epochs' must be an xsd:integer; got '3.5'"),
        ({"run": "x", "order": "sideways"}, "'order' must be one of asc, desc; got 'sideways'"),
    ],
)
def test_a_bad_or_missing_value_is_an_error_naming_the_parameter(values: dict[str, str], message: str) -> None:
    query = parse(
        HEADER + "#+ enumerate:\n#+   - order: [asc, desc]\n#+ params:\n#+   run: {example: train-003}\n"
        "SELECT * WHERE { ?r provml:sourceId ?_run ; provml:epoch ?__epochs_integer ; prov:used ?__model_iri ;"
        " provml:status ?__order }"
    )
    with pytest.raises(QueryError, match=re.escape(message)):
        query.text(values)


def test_an_optional_parameter_left_out_stays_a_free_variable(small_store: Store) -> None:
    # COALESCE keeps a row when the comparison has an unbound side; a numeric comparison ignores the datatype
    query = parse(
        HEADER + "SELECT ?epoch WHERE { ?m provml:epoch ?epoch ; provml:value ?v FILTER(COALESCE(?v = ?__value_number,"
        " true)) } ORDER BY ?epoch"
    )
    assert "?__value_number" in query.text({})
    assert sorted({row[0].python() for row in query.run(small_store)}) == [0, 1, 2]
    # train-a: loss 0.6 at epoch 1, accuracy 0.6 at epoch 0
    assert [row[0].python() for row in query.run(small_store, {"value": "0.6"})] == [0, 1]


def test_an_integer_parameter_can_be_a_limit(small_store: Store) -> None:
    query = parse(HEADER + "#+ defaults:\n#+   - limit: 2\nSELECT ?s WHERE { ?s ?p ?o } LIMIT ?_limit_integer")
    assert len(query.run(small_store).rows()) == 2
    assert len(query.run(small_store, {"limit": "+3"}).rows()) == 3


def test_a_value_cannot_change_what_the_query_does(small_store: Store) -> None:
    query = parse(HEADER + "SELECT ?r WHERE { ?r provml:sourceId ?_run }")
    assert len(query.run(small_store, {"run": "train-a"}).rows()) == 1
    for attack in ('train-a" } UNION { ?r ?p ?o } #', "train-a\\u0022 } UNION { ?r ?p ?o } #", "x\n} #"):
        assert query.run(small_store, {"run": attack}).rows() == []


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("#+ summary: [unclosed\nSELECT * {}", "not valid YAML", 1),
        ("#+ summary: s\n#+ tags: [a\n#+ method: GET\nSELECT * {}", "not valid YAML", 3),
        ("#+ summary: s\n#+ colour: red\nSELECT * {}", "unknown header keys ['colour']", None),
        ("#+ tags: [phase:training]\nSELECT * {}", "needs a summary", None),
        ("#+ summary: s\n#+ tags: phase:training\nSELECT * {}", "tags must be a list", None),
        (HEADER + "#+ params:\n#+   runn: {example: x}\nSELECT * { ?r provml:sourceId ?_run }", "describes runn", None),
        (HEADER + "SELECT * { ?r provml:sourceId ?_run ; provml:epoch ?_run_integer }", "both ?_run and", None),
        (HEADER + "SELECT * { ?r provml:sourceId ?_run_foaf_name }", "unknown prefix 'foaf'", None),
    ],
)
def test_a_malformed_header_is_an_error_naming_the_file(text: str, message: str, line: int | None) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as raised:
        parse(text)
    assert raised.value.source == "queries/q.rq" and raised.value.line == line


def test_a_library_reads_a_directory_and_suggests_close_names(tmp_path: Path) -> None:
    (tmp_path / "runs-of-a-workflow.rq").write_text(HEADER + "SELECT * { ?s ?p ?o }")
    (tmp_path / "notes.txt").write_text("not a query")
    library = Library(tmp_path)
    assert [q.name for q in library] == ["runs-of-a-workflow"]
    assert library.get("runs-of-a-workflow.rq").name == "runs-of-a-workflow"
    with pytest.raises(QueryError, match="did you mean runs-of-a-workflow"):
        library.get("runs-of-workflow")
    assert [q.name for q in library.tagged("training")] == [q.name for q in library.tagged("phase:training")] != []
    assert library.tagged("phase:deployment") == []


def test_a_file_that_does_not_parse_leaves_the_others_usable(tmp_path: Path) -> None:
    (tmp_path / "good.rq").write_text(HEADER + "SELECT * { ?s ?p ?o }")
    (tmp_path / "bad.rq").write_text("#+ tags: [phase:training]\nSELECT * { ?s ?p ?o }")
    library = Library(tmp_path)
    assert [q.name for q in library] == ["good"] and list(library.broken) == ["bad"]
    with pytest.raises(QueryError, match=r"bad\.rq.*needs a summary"):
        library.get("bad")


# -- the shipped library -------------------------------------------------------------------


def test_every_shipped_query_is_documented_tagged_in_each_dimension_and_parses() -> None:
    empty = Store()
    for query in shipped():
        assert query.description and query.method == "GET", query.name
        assert set(query.tags) <= TAGS, (query.name, set(query.tags) - TAGS)
        assert all(query.taxonomy().values()), (query.name, query.taxonomy())
        for parameter in query.parameters:
            assert parameter.description and parameter.example is not None, (query.name, parameter.name)
        examples = {p.name: p.example for p in query.parameters if p.example is not None}
        query.run(empty, examples).rows()  # parses and runs


def test_the_library_covers_every_taxonomy_category_at_least_twice() -> None:
    library = shipped()
    assert len(library) >= 30
    for dimension, values in TAXONOMY.items():
        for value in values:
            tagged = [q.name for q in library if value in q.taxonomy()[dimension]]
            assert len(tagged) >= 2, f"{dimension}:{value} has {tagged}"


def test_every_shipped_query_has_a_test_of_its_answer() -> None:
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_queries_*.py"))
    untested = [q.name for q in shipped() if not re.search(rf"""["']{re.escape(q.name)}["']""", tests)]
    assert untested == []


def test_every_example_answers_on_the_demo_data(demo_store: Store) -> None:
    for query in shipped():
        examples = {p.name: p.example for p in query.parameters if p.example is not None}
        assert query.run(demo_store, examples).rows(), f"{query.name} with {examples} has no answer on the demo"


def test_answers_are_the_same_without_the_last_value_links(demo_store: Store) -> None:
    """RDF written by another tool has no provml:lastValue: queries then read every value of a run instead."""
    exported = io.BytesIO()
    demo_store.export(exported, "nquads")
    kept = [line for line in exported.getvalue().splitlines(keepends=True) if b"#lastValue>" not in line]
    assert len(kept) < exported.getvalue().count(b"\n"), "the demo's runs link their last values"
    unlinked = Store()
    unlinked.add_rdf(b"".join(kept), "nquads")

    def rows(store: Store, query: CannedQuery, values: dict[str, str]) -> list[str]:  # averages: summed in any order
        python = ((None if t is None else t.python() for t in row) for row in query.run(store, values))
        return sorted(repr(tuple(round(v, 9) if isinstance(v, float) else v for v in row)) for row in python)

    for query in shipped():
        examples = {p.name: p.example for p in query.parameters if p.example is not None}
        assert rows(demo_store, query, examples) == rows(unlinked, query, examples), query.name


def test_docs_queries_md_is_generated_from_the_headers() -> None:
    text = (ROOT / "docs" / "QUERIES.md").read_text(encoding="utf-8")
    assert text == queries_doc.render(), "run: python -m provml.queries_doc docs/QUERIES.md"


# -- the CLI -------------------------------------------------------------------------------


def test_queries_list_filters_by_tag() -> None:
    listed = runner.invoke(app, ["queries", "list"])
    assert listed.exit_code == 0 and "training-curve" in listed.output
    offline = runner.invoke(app, ["queries", "list", "--tag", "timing:offline"])
    names = {q.name for q in shipped().tagged("timing:offline")}
    assert offline.exit_code == 0 and all(name in offline.output for name in names)
    assert "training-curve" not in offline.output  # an online query
    assert runner.invoke(app, ["queries", "list", "--tag", "colour:red"]).exit_code != 0


def test_queries_show_gives_parameters_and_sparql() -> None:
    shown = runner.invoke(app, ["queries", "show", "training-curve"])
    assert shown.exit_code == 0
    assert "--param run=... (string, required; e.g. train-003)" in shown.output
    assert "--param metric=... (string, default loss" in shown.output
    assert "SELECT ?epoch ?step ?value" in shown.output and "#+" not in shown.output


def test_queries_run_answers_in_a_table_or_a_standard_format(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Store(store) as opened:
        load_file(opened, LIFECYCLE / "train-a.jsonl")
    table = runner.invoke(app, ["queries", "run", "training-curve", "-p", "run=train-a", "--store", str(store)])
    assert table.exit_code == 0 and re.search(r"│ 2\s+│ 300\s+│ 0.5\s+│", table.output)
    args = ["--param", "run=train-a", "--param", "metric=accuracy", "--format", "csv", "--store", str(store)]
    csv = runner.invoke(app, ["queries", "run", "training-curve", *args])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[:2] == ["epoch,step,value", "0,100,0.6"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "training-curv", "-p", "run=a"],
            "no canned query named 'training-curv'; did you mean training-curve?",
        ),
        (["run", "training-curve"], "needs parameter 'run' (e.g. --param run=train-003)"),
        (["run", "training-curve", "-p", "run"], "--param 'run': write it as name=value"),
        (["run", "training-curve", "-p", "run=a", "-p", "epochs=3"], "has no parameter 'epochs'"),
        (["show", "nothing-like-it"], "no canned query named 'nothing-like-it'"),
    ],
)
def test_queries_errors_are_one_line_with_exit_status_2(args: list[str], message: str, tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "s")] if args[0] == "run" else []
    done = subprocess.run(
        [sys.executable, "-m", "provml", "queries", *args, *store],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert message in done.stderr
    assert not (tmp_path / "s").exists()  # nothing was opened or created
