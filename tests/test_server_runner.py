"""What the query runner remembers of the current snapshot: the answers of deterministic queries, sent again
without running them, and which queries a worker answered fast, then run in the server process. A write,
a slow answer, a different dataset or format, or a text that may reach another server send a query to a
worker again. (The time limit itself: tests/test_server_limits.py.)"""

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
    """A runner without answer cache that takes any answer under 5 s as fast: the tests assert what runs
    inline, not times."""
    opened = QueryRunner(data, workers=1, timeout=30, inline_below=5.0, cache_bytes=0)
    yield opened
    opened.close()


@pytest.fixture
def caching(data: Store) -> Iterator[QueryRunner]:
    """A runner that keeps up to 1 KiB of answers, and runs nothing inline."""
    opened = QueryRunner(data, workers=1, timeout=30, inline_below=0.0, cache_bytes=1024)
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
    runner = QueryRunner(data, workers=1, timeout=30, inline_below=0.0, cache_bytes=0)
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


def test_the_answer_of_a_deterministic_query_is_sent_again_until_a_write(caching: QueryRunner) -> None:
    first = caching.run(ROWS)
    assert caching.cache_hits == 0
    assert caching.run(ROWS) is first and asyncio.run(caching.answer(ROWS)) is first and caching.cache_hits == 2
    with caching.write() as store:
        store.add_rdf(b"<urn:test:s> <urn:test:p> 3 .", "turtle", graph=GRAPH)
    after = caching.run(ROWS)
    assert values(after.body) == [1, 2, 3, 10] and caching.cache_hits == 2  # run again, on the new snapshot
    assert caching.run(ROWS) is after and caching.cache_hits == 3
    assert caching.inline == 0


@pytest.mark.parametrize(
    "sparql",
    [
        "SELECT ?o (RAND() AS ?r) WHERE { <urn:test:s> <urn:test:p> ?o }",
        "SELECT ?o ?t WHERE { <urn:test:s> <urn:test:p> ?o BIND(now () AS ?t) }",
        "SELECT ?o (STRUUID() AS ?u) WHERE { <urn:test:s> <urn:test:p> ?o }",
        "SELECT ?o (BNODE() AS ?b) WHERE { <urn:test:s> <urn:test:p> ?o }",
    ],
)
def test_a_query_whose_answer_may_change_is_run_each_time(caching: QueryRunner, sparql: str) -> None:
    request = Request(sparql, accept="application/json")
    bodies = [caching.run(request).body for _ in range(3)]
    assert caching.cache_hits == 0
    assert all(values(body) == [1, 2, 10] for body in bodies)
    if "RAND" in sparql or "UUID" in sparql or "BNODE" in sparql:
        assert len(set(bodies)) == 3  # really a new value in each run


def test_answers_over_the_cache_size_are_not_kept_and_the_oldest_go_first(caching: QueryRunner) -> None:
    big = Request("SELECT ?n WHERE { VALUES ?n { " + " ".join(map(str, range(300))) + " } }", accept="text/csv")
    assert len(caching.run(big).body) > 1024
    caching.run(big)
    assert caching.cache_hits == 0
    texts = [f"SELECT ?o WHERE {{ <urn:test:s> <urn:test:p> ?o }} LIMIT {n}" for n in range(1, 30)]
    for text in texts:  # each answer ~100 bytes: the first ones are forgotten
        caching.run(Request(text, accept="application/json"))
    caching.run(Request(texts[-1], accept="application/json"))
    assert caching.cache_hits == 1
    caching.run(Request(texts[0], accept="application/json"))
    assert caching.cache_hits == 1


def test_a_long_text_is_not_remembered(runner: QueryRunner) -> None:
    """The memory of fast queries holds short texts only: it stays small whatever clients send."""
    request = Request(ROWS.sparql + "\n#" + "x" * (16 << 10), accept="application/json")
    answers = {runner.run(request) for _ in range(3)}
    assert len(answers) == 1 and runner.inline == 0
    assert runner.run(ROWS) and runner.run(ROWS) and runner.inline == 1  # a short one is
