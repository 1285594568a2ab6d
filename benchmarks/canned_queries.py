"""Canned-query latency: every query of the library on an on-disk provml store, and on rdflib in memory.

The data is the demo lifecycle at the target size (:func:`data.write`), loaded by provml into an on-disk
store and exported as N-Quads for rdflib (``Dataset(default_union=True)``, the union default graph as in
provml). Each query runs with the example values of its parameters. Each engine runs in a fresh
interpreter (``_worker.py queries ENGINE SOURCE SPEC``): per query, one warm-up, then up to
``samples`` timed runs with the rows fully read (fewer once they took ``budget_s`` seconds); an rdflib
run longer than ``timeout_s`` is stopped and the query reported as timed out; a warm-up that alone took
the budget is the query's one sample (:data:`FULL`, or :data:`QUICK` for the CI smoke run).
"""

from __future__ import annotations

import shutil
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import data

from provml.canned import shipped
from provml.loading import load_paths
from provml.store import Store


class Limits(NamedTuple):
    """How long each query is timed: runs per query and engine at most, or as many as fit in the budget;
    one rdflib run longer than the timeout stops that query."""

    samples: int
    budget_s: float
    timeout_s: float


FULL, QUICK = Limits(20, 10.0, 30.0), Limits(3, 1.0, 5.0)


def specs() -> dict[str, str]:
    """Return the text of every shipped query with its parameters' example values."""
    return {
        query.name: query.text({p.name: p.example for p in query.parameters if p.example is not None})
        for query in shipped()
    }


def prepare(work: Path, target: int) -> tuple[Path, Path, int, int]:
    """Load a lifecycle of about ``target`` quads into a fresh store and export it as N-Quads.

    Returns the store, the N-Quads file, the number of training runs and the number of quads.
    """
    lifecycle = data.write(work / "queries-lifecycle", target)
    store_path, nquads = work / "queries-store", work / "queries.nq"
    shutil.rmtree(store_path, ignore_errors=True)
    with Store(store_path) as store:
        failed = [o for o in load_paths(store, [lifecycle.directory], check=False) if o.error is not None]
        assert not failed, failed[0].error
        quads = len(store.oxigraph)
    data.export_nquads(store_path, nquads)
    return store_path, nquads, lifecycle.runs, quads


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def time_queries(run: Callable[[str], int], spec: dict[str, str], limits: Limits, *, stoppable: bool) -> dict[str, Any]:
    """Time each query of ``spec`` with ``run`` (which returns the row count); see the module docstring.

    ``stoppable``: a run can be interrupted by a signal (rdflib, pure Python), so the timeout applies.
    """
    timeout = limits.timeout_s if stoppable else None
    result: dict[str, Any] = {}
    if timeout is not None:
        signal.signal(signal.SIGALRM, _alarm)
    for name, text in spec.items():
        entry: dict[str, Any] = {"rows": None, "samples_ms": [], "timed_out": False}
        result[name] = entry
        spent = 0.0
        for attempt in range(limits.samples + 1):  # the first is the warm-up
            if timeout is not None:
                signal.setitimer(signal.ITIMER_REAL, timeout)
            started = time.perf_counter()
            try:
                rows = run(text)
            except _Timeout:
                entry["timed_out"] = True
                break
            finally:
                if timeout is not None:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - started
            entry["rows"] = rows
            spent += elapsed
            if attempt or spent >= limits.budget_s:  # a warm-up over the budget is the one sample
                entry["samples_ms"].append(elapsed * 1000)
            if spent >= limits.budget_s:
                break
    return result


def p50(entry: dict[str, Any]) -> float | None:
    """Return the median of a query's samples in ms (None when it has none)."""
    return statistics.median(entry["samples_ms"]) if entry["samples_ms"] else None
