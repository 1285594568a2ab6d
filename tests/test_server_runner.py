"""The query runner's answer cache: the answer of a deterministic query on the current snapshot is sent
again without running the query; a write, another dataset or format, a text whose answer may change or
may come from another server, or an answer too big, run the query again. (The time limit itself:
tests/test_server_limits.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest

from provml.server.runner import QueryRunner, Request
from provml.store import Store

GRAPH, OTHER = "urn:test:runner", "urn:test:other"
ROWS = Request("SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o } ORDER BY ?o", accept="application/json")


@pytest.fixture
def data(store: Store) -> Store:
    store.add_rdf(b"<urn:test:s> <urn:test:p> 1, 2 .", "turtle", graph=GRAPH)
    store.add_rdf(b"<urn:test:s> <urn:test:p> 10 .", "turtle", graph=OTHER)
    return store


@pytest.fixture
def runner(data: Store) -> Iterator[QueryRunner]:
    """A runner that keeps up to 1 KiB of answers, with their queries' texts."""
    opened = QueryRunner(data, workers=1, timeout=30, cache_bytes=1024)
    yield opened
    opened.close()


def values(body: bytes) -> list[int]:
    return [int(row["o"]["value"]) for row in orjson.loads(body)["results"]["bindings"]]


def test_the_answer_of_a_deterministic_query_is_sent_again_until_a_write(runner: QueryRunner) -> None:
    workers = runner.pids
    first = runner.run(ROWS)
    assert runner.cache_hits == 0 and values(first.body) == [1, 2, 10]
    assert runner.run(ROWS) is first and asyncio.run(runner.answer(ROWS)) is first and runner.cache_hits == 2
    with runner.write() as store:
        store.add_rdf(b"<urn:test:s> <urn:test:p> 3 .", "turtle", graph=GRAPH)
    after = runner.run(ROWS)
    assert values(after.body) == [1, 2, 3, 10] and runner.cache_hits == 2  # run again, on the new snapshot
    assert runner.run(ROWS) is after and runner.cache_hits == 3
    assert runner.pids == workers


def test_another_dataset_or_format_is_another_query(runner: QueryRunner) -> None:
    runner.run(ROWS)
    one_graph = Request(ROWS.sparql, accept=ROWS.accept, default_graphs=(OTHER,), named_graphs=())
    assert values(runner.run(one_graph).body) == [10]
    as_xml = runner.run(Request(ROWS.sparql, accept="application/sparql-results+xml"))
    assert as_xml.format == "xml" and runner.cache_hits == 0


@pytest.mark.parametrize(
    "sparql",
    [
        "SELECT ?o (RAND() AS ?r) WHERE { <urn:test:s> <urn:test:p> ?o }",
        "SELECT ?o (STRUUID() AS ?u) WHERE { <urn:test:s> <urn:test:p> ?o }",
        "SELECT ?o (BNODE() AS ?b) WHERE { <urn:test:s> <urn:test:p> ?o }",
        "SELECT ?o ?t WHERE { <urn:test:s> <urn:test:p> ?o BIND(now () AS ?t) }",
    ],
)
def test_a_query_whose_answer_may_change_is_run_each_time(runner: QueryRunner, sparql: str) -> None:
    request = Request(sparql, accept="application/json")
    bodies = [runner.run(request).body for _ in range(3)]
    assert runner.cache_hits == 0 and all(values(body) == [1, 2, 10] for body in bodies)
    if "now" not in sparql:  # (NOW() may give the same time twice)
        assert len(set(bodies)) == 3  # each run really gave new values


@pytest.mark.parametrize(
    "sparql",
    [
        'SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o FILTER(?o != "self-service") }',
        "SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o } # no LOAD here",
        'SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o FILTER(?o != "\\u0041") }',
    ],
)
def test_a_text_that_may_reach_another_server_is_run_each_time(runner: QueryRunner, sparql: str) -> None:
    """Its answer is another server's (a SERVICE, when allow-listed), which may change at any time."""
    request = Request(sparql, accept="application/json")
    answers = {runner.run(request) for _ in range(3)}
    assert len(answers) == 1 and values(answers.pop().body) == [1, 2, 10] and runner.cache_hits == 0


def test_big_answers_are_not_kept_and_the_oldest_answers_go_first(runner: QueryRunner) -> None:
    big = Request("SELECT ?n WHERE { VALUES ?n { " + " ".join(map(str, range(300))) + " } }", accept="text/csv")
    runner.run(big)
    runner.run(big)
    long_text = Request(ROWS.sparql + "\n#" + "x" * 1024, accept="application/json")  # the text counts too
    runner.run(long_text)
    runner.run(long_text)
    assert runner.cache_hits == 0
    texts = [f"SELECT ?o WHERE {{ <urn:test:s> <urn:test:p> ?o }} LIMIT {n}" for n in range(1, 30)]
    for text in texts:  # ~150 bytes each: the first ones are forgotten
        runner.run(Request(text, accept="application/json"))
    runner.run(Request(texts[-1], accept="application/json"))
    assert runner.cache_hits == 1
    runner.run(Request(texts[0], accept="application/json"))
    assert runner.cache_hits == 1


def test_a_runner_without_cache_runs_every_query(data: Store) -> None:
    runner = QueryRunner(data, workers=1, timeout=30, cache_bytes=0)
    try:
        answers = [runner.run(ROWS) for _ in range(3)]
        assert answers[0] == answers[1] == answers[2] and runner.cache_hits == 0
        assert answers[1] is not answers[0] and answers[2] is not answers[0]  # each from the worker
    finally:
        runner.close()
