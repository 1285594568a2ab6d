"""The query runner's inline path: a query a worker answered fast runs in the server process on the same
snapshot, with the worker's answer; a write, a slow answer, a different dataset or a text that may reach
another server send it to a worker again. (The time limit itself: tests/test_server_limits.py.)"""

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
    """A runner that takes any answer under 5 s as fast: the tests assert what runs inline, not times."""
    opened = QueryRunner(data, workers=1, timeout=30, inline_below=5.0)
    yield opened
    opened.close()


def values(body: bytes) -> list[int]:
    return [int(row["o"]["value"]) for row in orjson.loads(body)["results"]["bindings"]]


def test_a_query_a_worker_answered_fast_runs_inline_with_the_same_answer(runner: QueryRunner) -> None:
    workers = runner.pids
    first = runner.run(ROWS)
    assert runner.inline == 0 and values(first.body) == [1, 2, 10]
    second = runner.run(ROWS)
    assert runner.inline == 1 and second == first
    third = asyncio.run(runner.answer(ROWS))  # the event loop's path too
    assert runner.inline == 2 and third == first
    assert runner.pids == workers


def test_a_write_sends_the_query_back_to_a_worker_which_sees_the_write(runner: QueryRunner) -> None:
    runner.run(ROWS)
    runner.run(ROWS)
    assert runner.inline == 1
    with runner.write() as store:
        store.add_rdf(b"<urn:test:s> <urn:test:p> 3 .", "turtle", graph=GRAPH)
    after = runner.run(ROWS)
    assert runner.inline == 1 and values(after.body) == [1, 2, 3, 10]  # from a worker, on the new snapshot
    assert runner.run(ROWS) == after and runner.inline == 2  # then inline again, on the new snapshot


def test_another_dataset_or_format_is_another_query(runner: QueryRunner) -> None:
    runner.run(ROWS)
    one_graph = Request(ROWS.sparql, accept=ROWS.accept, default_graphs=(OTHER,), named_graphs=())
    assert values(runner.run(one_graph).body) == [10] and runner.inline == 0
    as_xml = runner.run(Request(ROWS.sparql, accept="application/sparql-results+xml"))
    assert as_xml.format == "xml" and runner.inline == 0


def test_a_slow_answer_never_runs_inline(data: Store) -> None:
    runner = QueryRunner(data, workers=1, timeout=30, inline_below=0.0)
    try:
        answers = {runner.run(ROWS) for _ in range(3)}
        assert len(answers) == 1 and runner.inline == 0
    finally:
        runner.close()


@pytest.mark.parametrize(
    "sparql",
    [
        'SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o FILTER(?o != "self-service") }',
        "SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o } # no LOAD here",
        'SELECT ?o WHERE { <urn:test:s> <urn:test:p> ?o FILTER(?o != "\\u0041") }',
    ],
)
def test_a_text_that_may_reach_another_server_never_runs_inline(runner: QueryRunner, sparql: str) -> None:
    """Its time is another server's: a remote SERVICE (when allow-listed) may be fast once and hang later."""
    request = Request(sparql, accept="application/json")
    answers = {runner.run(request) for _ in range(3)}
    assert len(answers) == 1 and values(answers.pop().body) == [1, 2, 10] and runner.inline == 0
