"""Section 11, parallel loads: `provml load --jobs N` against `--jobs 1` on a directory of many files.

The demo lifecycle at the target size (one JSON Lines file per run, hundreds of files) is loaded by the real
command, ``provml load DIR --store FRESH --jobs N``, in turns (1, N, 1, N...), with and without validation;
the rate is the stored quads over the command's wall time (interpreter start included), median of the repeats.
Run by ``run.py --only scale``.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import data

from provml.store import Store


def one_load(directory: Path, store: Path, jobs: int, validate: bool) -> tuple[float, float, int]:
    """Run `provml load` into a fresh store; return its wall time, the CPU time it used (all its threads,
    RocksDB's background ones too) and the quads it stored."""
    shutil.rmtree(store, ignore_errors=True)
    command = [sys.executable, "-m", "provml", "load", str(directory), "--store", str(store), "--jobs", str(jobs)]
    if not validate:
        command.append("--no-validate")
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    with Store(store) as opened:
        quads = opened.stats()["quads"]
    shutil.rmtree(store, ignore_errors=True)
    return seconds, cpu, quads


def measure(size: int, repeat: int, jobs: int, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Time `--jobs 1` and `--jobs N` loads, ``repeat`` times each, of ``size`` quads without validation and of
    a tenth of it with validation (single-threaded, it takes most of a validated load: ~6 min at 1M)."""
    report: dict[str, Any] = {"jobs": jobs, "runs": {}, "quads": {}, "files": {}}
    for validate, target in ((False, size), (True, max(1000, size // 10))):
        name = "validated" if validate else "not validated"
        lifecycle = data.write(work / "lifecycle", target)
        report["files"][name] = len(data.event_files(lifecycle.directory))
        seconds: dict[int, list[float]] = {1: [], jobs: []}
        cores: dict[int, list[float]] = {1: [], jobs: []}
        for _ in range(repeat):
            for n in (1, jobs):
                took, cpu, report["quads"][name] = one_load(lifecycle.directory, work / "store", n, validate)
                log(f"provml load --jobs {n}{'' if validate else ' --no-validate'}: {took:.1f} s, {cpu:.1f} s CPU")
                seconds[n].append(took)
                cores[n].append(cpu / took)
        report["runs"][name], report.setdefault("cores", {})[name] = seconds, cores
    return report


def markdown(report: dict[str, Any]) -> list[str]:
    jobs = report["jobs"]
    lines = [
        "`provml load DIR --jobs N` on a directory of event files (one per run), into a fresh store each time; "
        "wall time of the whole command, median of the runs.",
        "",
        f"| validation | files | quads | --jobs 1 s | --jobs {jobs} s | --jobs 1 quads/s | --jobs {jobs} quads/s "
        f"| ratio | cores busy, --jobs 1 / {jobs} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (one, many) in medians(report).items():
        quads, files = report["quads"][name], report["files"][name]
        busy = {n: statistics.median(values) for n, values in report["cores"][name].items()}
        lines.append(
            f"| {name} | {files} | {quads:,} | {one:.1f} | {many:.1f} | {quads / one:,.0f} | {quads / many:,.0f} "
            f"| **{one / many:.2f}x** | {busy[1]:.2f} / {busy[jobs]:.2f} |"
        )
    lines += [
        "",
        "Cores busy: the CPU time of the command (every thread: RocksDB compacts in threads of its own) over its "
        f"wall time, median: how much of the {os.cpu_count()} cores a load leaves to more jobs.",
    ]
    return lines


def medians(report: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Median seconds of `--jobs 1` and of `--jobs N`, with and without validation."""
    return {
        name: (statistics.median(runs[1]), statistics.median(runs[report["jobs"]]))
        for name, runs in report["runs"].items()
    }


def bars(report: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The bar of issue 10, with and without validation: (goal, measured, passed)."""
    jobs, found = report["jobs"], []
    for name, (one, many) in medians(report).items():
        goal = f"`provml load --jobs {jobs}` >= 1.6x the rate of `--jobs 1` on {report['files'][name]} files, {name}"
        found.append((goal, f"{one / many:.2f}x ({one:.1f} vs {many:.1f} s)", one / many >= 1.6))
    return found
