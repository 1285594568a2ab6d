"""Section 11, scale: the embedded store at ten times the target size, and provml on a remote Virtuoso.

For each store: the demo lifecycle is loaded by ``load_paths`` (validation off, as in section 1), timed, and
then every canned query is timed as in section 8 (:func:`canned_queries.time_queries`). The embedded store's
size on disk is read after the load. Virtuoso (Debian's ``virtuoso-opensource``) is started on 127.0.0.1 from
``tests/virtuoso.py`` and written through its Graph Store Protocol endpoint; it and an embedded store get the
target size. The queries Virtuoso cannot run are reported as errors. Run by ``run.py --only scale``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import canned_queries
import data

from provml.loading import load_paths
from provml.remote import Service
from provml.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from virtuoso import Virtuoso, missing


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def load(store: Store, directory: Path) -> dict[str, Any]:
    started = time.perf_counter()
    outcomes = load_paths(store, [directory], check=False)
    seconds = time.perf_counter() - started
    failed = [o.error for o in outcomes if o.error is not None]
    assert not failed, failed[0]
    quads = sum(o.result.triples + o.result.shared_triples for o in outcomes if o.result is not None)
    return {"seconds": seconds, "quads": quads, "files": len(outcomes)}


def timed_queries(store: Store, limits: canned_queries.Limits) -> dict[str, Any]:
    def run(text: str) -> int:
        return len(store.query(text).rows())

    results: dict[str, Any] = {}
    for name, text in canned_queries.specs().items():
        try:
            results.update(canned_queries.time_queries(run, {name: text}, limits, stoppable=False))
        except Exception as error:  # a query the engine cannot run: reported, not timed
            results[name] = {"error": str(error).splitlines()[0][:120]}
    return results


def p50(entry: dict[str, Any]) -> float | None:
    return statistics.median(entry["samples_ms"]) if entry.get("samples_ms") else None


def measure(size: int, virtuoso_size: int, work: Path, limits: canned_queries.Limits) -> dict[str, Any]:
    report: dict[str, Any] = {}
    big = data.write(work / "lifecycle-big", size)
    path = work / "embedded"
    shutil.rmtree(path, ignore_errors=True)
    with Store(path) as store:
        report["embedded"] = load(store, big.directory)
    report["embedded"]["disk_bytes"] = disk_bytes(path)
    with Store(path) as store:
        report["embedded"]["queries"] = timed_queries(store, limits)
    shutil.rmtree(path, ignore_errors=True)
    if missing() is not None:
        report["virtuoso"] = {"skipped": missing()}
        return report
    small = data.write(work / "lifecycle-small", virtuoso_size)
    server = Virtuoso(work / "virtuoso-server")
    try:
        for name, directory in (("embedded-small", small.directory), ("virtuoso", small.directory)):
            service = Service(server.sparql, graph_store=server.graph_store) if name == "virtuoso" else None
            target = work / name
            shutil.rmtree(target, ignore_errors=True)
            with Store(target if service is None else None, service=service) as store:
                report[name] = load(store, directory)
                report[name]["queries"] = timed_queries(store, limits)
            shutil.rmtree(target, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(work / "virtuoso-server", ignore_errors=True)
    return report


def cell(entry: dict[str, Any]) -> str:
    if "error" in entry:
        return "error"
    value = p50(entry)
    return f"{value:,.1f}" if value is not None else "-"


def markdown(report: dict[str, Any]) -> list[str]:
    big = report["embedded"]
    lines = [
        f"Embedded store: {big['quads']:,} quads in {big['files']} files loaded in {big['seconds']:.1f} s, "
        f"**{big['quads'] / big['seconds']:,.0f} quads/s**; **{big['disk_bytes'] / 2**30:.2f} GiB** on disk "
        f"({big['disk_bytes'] / big['quads']:.0f} bytes a quad).",
        "",
    ]
    remote = report.get("virtuoso", {})
    if "skipped" in remote:
        lines += [f"Virtuoso: not measured ({remote['skipped']}).", ""]
    elif remote:
        small = report["embedded-small"]
        lines += [
            f"At {small['quads']:,} quads: embedded load {small['quads'] / small['seconds']:,.0f} quads/s, "
            f"Virtuoso (Graph Store Protocol) **{remote['quads'] / remote['seconds']:,.0f} quads/s**.",
            "",
        ]
    header = f"| query | rows | embedded {big['quads'] / 1e6:.1f}M p50 ms |"
    columns = ["embedded"]
    if remote and "skipped" not in remote:
        size = f"{report['virtuoso']['quads'] / 1e6:.1f}M"
        header += f" embedded {size} p50 ms | Virtuoso {size} p50 ms |"
        columns += ["embedded-small", "virtuoso"]
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for name, entry in sorted(big["queries"].items()):
        row = [name, str(entry.get("rows", "-")), *(cell(report[c]["queries"][name]) for c in columns)]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def bar(report: dict[str, Any]) -> tuple[str, str, bool]:
    """The bar of issue 10 on the big embedded store: (goal, measured, passed)."""
    big = report["embedded"]
    slowest = max((p50(e) or 0.0, n) for n, e in big["queries"].items() if "error" not in e)
    over = sum(1 for e in big["queries"].values() if (p50(e) or 0.0) >= 1000)
    goal = f"every canned query p50 < 1 s at {big['quads'] / 1e6:.1f}M triples (on disk)"
    return goal, f"slowest {slowest[1]}, {slowest[0]:,.1f} ms; {over} over 1 s", slowest[0] < 1000
