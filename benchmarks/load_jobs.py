"""`provml load --jobs N` against `--jobs 1` on a directory of many files (issue 10's bar: >= 1.6x with 2).

The demo lifecycle at the target size (one JSON Lines file per run, hundreds of files) is loaded by the real
command, ``provml load DIR --store FRESH --jobs N``, in turns (1, N, 1, N...), with and without validation;
the rate is the stored quads over the command's wall time (interpreter start included), median of the repeats.

    python benchmarks/load_jobs.py --size 1000000 --repeat 3 --work /tmp/jobs
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import data

from provml.store import Store


def one_load(directory: Path, store: Path, jobs: int, validate: bool) -> tuple[float, int]:
    """Run `provml load` into a fresh store; return its wall time and the quads it stored."""
    shutil.rmtree(store, ignore_errors=True)
    command = [sys.executable, "-m", "provml", "load", str(directory), "--store", str(store), "--jobs", str(jobs)]
    if not validate:
        command.append("--no-validate")
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=3600)
    seconds = time.perf_counter() - started
    with Store(store) as opened:
        quads = opened.stats()["quads"]
    shutil.rmtree(store, ignore_errors=True)
    return seconds, quads


def measure(size: int, repeat: int, jobs: int, work: Path) -> dict[str, Any]:
    lifecycle = data.write(work / "lifecycle", size)
    files = len(data.event_files(lifecycle.directory))
    report: dict[str, Any] = {"files": files, "jobs": jobs, "runs": {}}
    for validate in (False, True):
        seconds: dict[int, list[float]] = {1: [], jobs: []}
        for _ in range(repeat):
            for n in (1, jobs):
                took, quads = one_load(lifecycle.directory, work / "store", n, validate)
                seconds[n].append(took)
                report["quads"] = quads
        report["runs"]["validated" if validate else "not validated"] = seconds
    return report


def markdown(report: dict[str, Any]) -> list[str]:
    jobs, quads = report["jobs"], report["quads"]
    lines = [
        f"`provml load DIR --jobs N` on {report['files']} files, {quads:,} quads; each run a fresh store, "
        "wall time of the whole command, median of the runs.",
        "",
        f"| validation | --jobs 1 s | --jobs {jobs} s | --jobs 1 quads/s | --jobs {jobs} quads/s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    ratios = {}
    for name, seconds in report["runs"].items():
        one, many = statistics.median(seconds["1"]), statistics.median(seconds[str(jobs)])
        ratios[name] = one / many
        lines.append(
            f"| {name} | {one:.1f} | {many:.1f} | {quads / one:,.0f} | {quads / many:,.0f} | **{one / many:.2f}x** |"
        )
    for name, ratio in ratios.items():
        verdict = "PASS" if ratio >= 1.6 else "FAIL"
        lines += ["", f"Bar: `--jobs {jobs}` >= 1.6x the rate of `--jobs 1`, {name}: **{ratio:.2f}x**: **{verdict}**"]
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work" / "jobs")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    report = measure(args.size, args.repeat, args.jobs, args.work)
    report["runs"] = {k: {str(n): v for n, v in runs.items()} for k, runs in report["runs"].items()}
    print("\n".join(markdown(report)))


if __name__ == "__main__":
    main(sys.argv[1:])
