"""Run every provml benchmark and write the report (docs/BENCHMARKS.md by default).

    python benchmarks/run.py            # 1M triples, 3 repeats (~110 min on 2 cores, most of it pySHACL and owlrl)
    python benchmarks/run.py --quick    # 100k triples, 2 repeats: a smoke test for CI
    python benchmarks/run.py --only validation   # measure one group again, keep the report's others

Groups (``--only``): ``loads`` (sections 1 to 5), ``capture`` (6), ``validation`` (7), ``queries`` (8),
``endpoint`` (9), ``entailment`` (10: provml's entailment graph against owlrl, and after a load) and ``scale``
(11: ten times the size on disk, provml on a real Virtuoso, ``provml load --jobs 2``).

Load samples each run in a fresh interpreter (``_worker.py``), methods interleaved round-robin;
tables report medians, the raw samples and ratios of medians taken in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import canned_queries
import capture
import data
import endpoint
import entailment
import load_jobs
import loader_inputs
import scale
import validation
from _worker import QUERY_BUDGET_S, QUERY_SAMPLES, QUERY_WARMUPS

from provml.demo import LINEAGE

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"
SAMPLE_TIMEOUT_S = 900  # no single sample may take longer than this
BAR_LOAD_RATIO = 0.70  # provml triples/s >= 70% of bulk_load's
BAR_RDF_RATIO = 0.80  # provml triples/s loading an RDF file >= 80% of bulk_load's for the same file
BAR_MEMORY_RATIO = 2.0  # peak RSS at the target size < 2x the peak at a tenth of it
BAR_LINEAGE_MS = 50.0  # lineage query p50 on the provml store
BAR_VALIDATION_RATIO = 10.0  # pySHACL's validation time over the fast engine's, same store and shapes
BAR_QUERY_MS = 100.0  # every canned query's p50 on the provml store
VALIDATION_BUDGET_S = 600.0  # a validation sample is killed after this (--validation-budget)...
QUICK_VALIDATION_BUDGET_S = 15.0  # ...and with --quick
BAR_INCREMENTAL_RATIO = 10.0  # the whole entailment's time over the incremental one's after a one-run load
BAR_OWLRL_RATIO = 5.0  # owlrl's closure time over provml's whole entailment, same triples
# what --only chooses from: loads = sections 1 to 5, then one section each, in order
GROUPS = ("loads", "capture", "validation", "queries", "endpoint", "entailment", "scale")
NAIVE, SINGLE = "naive per-dump", "single default graph"


@dataclass
class Method:
    """One kind of load sample and its results."""

    name: str
    worker: str
    source: Path | str
    extra: tuple[str, ...] = ()  # more worker arguments, after the store
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    base_rss_mb: list[float] = field(default_factory=list)
    quads: int | None = None

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss(self) -> float:
        return statistics.median(self.rss_mb)


@dataclass(frozen=True)
class Bar:
    """A goal of the issue and how the run measured against it."""

    goal: str
    measured: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "**PASS**" if self.passed else "**FAIL**"

    def line(self) -> str:
        return f"Bar: {self.goal}. Measured **{self.measured}**: {self.verdict}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def worker(*args: str, env: dict[str, str] | None = None, timeout: float = SAMPLE_TIMEOUT_S) -> dict[str, Any]:
    """Run ``_worker.py`` with ``args`` in a fresh interpreter and return its JSON answer.

    Raises :class:`subprocess.TimeoutExpired` after ``timeout`` seconds, the worker killed.
    """
    done = subprocess.run(
        [sys.executable, str(WORKER), *args],
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def fresh(path: Path) -> Path:
    """Remove ``path`` (a store directory or file) if it exists and return it."""
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    return path


def sample(method: Method, store: Path) -> None:
    """Take one load sample of ``method`` into a fresh store, deleted afterwards."""
    args = [method.worker, str(method.source)] + ([str(fresh(store))] if method.worker != "rdflib" else [])
    args += method.extra
    result = worker(*args)
    fresh(store)
    method.seconds.append(result["seconds"])
    method.rss_mb.append(result["peak_rss_mb"])
    method.base_rss_mb.append(result["base_rss_mb"])
    if result["quads"] is not None:
        if method.quads not in (None, result["quads"]):
            raise AssertionError(f"{method.name}: {result['quads']} quads, earlier {method.quads}")
        method.quads = result["quads"]
    log(f"{method.name}: {result['seconds']:.2f} s, {result['peak_rss_mb']:.0f} MB")


def validation_sample(store: Path, engine: str, budget: float) -> dict[str, Any] | None:
    """Take one validation sample of ``engine``; None when it ran over ``budget`` seconds and was killed."""
    try:
        answer = worker("validate", str(store), engine, timeout=budget)
    except subprocess.TimeoutExpired:
        log(f"validation {engine}: killed after {budget:g} s")
        return None
    log(f"validation {engine}: {answer['seconds']:.2f} s, {answer['results']} results, {answer['peak_rss_mb']:.0f} MB")
    return answer


# -- report --------------------------------------------------------------------------------


def hardware() -> str:
    """Name the CPU, its cores and the RAM: ``Intel(R) Xeon(R) Processor, 2 cores, 23.5 GiB RAM``."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    return f"{cpu}, {os.cpu_count()} cores, {ram_gib:.1f} GiB RAM"


def machine() -> list[str]:
    """Describe the machine, OS and software versions, as report lines."""
    packages = ", ".join(f"{name} {version(name)}" for name in ("provml", "pyoxigraph", "rdflib", "orjson"))
    return [
        f"- Machine: {hardware()}",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}; {packages}",
    ]


def samples(values: list[float], digits: int) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in values)


def size_label(quads: int) -> str:
    return f"{quads / 1e6:.3g}M" if quads >= 1_000_000 else f"{quads / 1e3:.3g}k"


def load_section(methods: list[Method], quads: int) -> tuple[list[str], Bar]:
    """The load-rate table; the bar is provml's throughput relative to bulk_load's."""
    rate = {m.name: quads / m.median_s for m in methods}
    bulk = rate["oxigraph bulk_load"]
    lines = [
        f"## 1. Load rate ({quads:,} quads)",
        "",
        "One fresh subprocess per sample, methods interleaved round-robin; time measured inside the worker",
        "(imports excluded); peak RSS = the worker's `VmHWM` (`ru_maxrss` would include the parent's peak).",
        "",
        "- `provml`: every event file of the lifecycle loaded as `provml load DIR` does",
        "  (`provml.loading.load_paths`: one named graph per file, small files batched into 100k-quad",
        "  bulk loads), then `Store.close()`, which flushes;",
        "- `oxigraph bulk_load`: `pyoxigraph.Store(path).bulk_load(path=all.nq, format=RdfFormat.N_QUADS)` +",
        "  `flush()`, where `all.nq` is the N-Quads export of the provml-loaded store (the same quads);",
        '- `rdflib Dataset.parse`: `Dataset().parse(all.nq, format="nquads")`, in memory, for context.',
        "",
        "| method | median s | triples/s | vs bulk_load | median peak RSS MB | samples s | samples RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.name} | {m.median_s:.2f} | {rate[m.name]:,.0f} | {rate[m.name] / bulk:.2f}x "
        f"| {m.median_rss:.0f} | {samples(m.seconds, 2)} | {samples(m.rss_mb, 0)} |"
        for m in methods
    ]
    ratio = rate["provml"] / bulk
    goal = f"provml triples/s >= {BAR_LOAD_RATIO:.0%} of bulk_load triples/s"
    bar = Bar(goal, f"{ratio:.0%}", ratio >= BAR_LOAD_RATIO)
    return [*lines, "", bar.line(), ""], bar


def memory_section(small: Method, large: Method, quick: bool) -> tuple[list[str], Bar]:
    """The peak-RSS table of provml loads at two sizes; the bar is their ratio."""
    assert small.quads is not None and large.quads is not None
    ratio = large.median_rss / small.median_rss
    lines = [
        f"## 2. Memory: provml load at {size_label(small.quads)} vs {size_label(large.quads)} triples",
        "",
        "Same method as the provml row of table 1 (the larger size *is* that row), one subprocess per sample."
        + (" Quick mode: 10k vs 100k instead of 100k vs 1M." if quick else ""),
        "",
        "| quads | median peak RSS MB | samples RSS MB | RSS after imports MB | median s | samples s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.quads:,} | {m.median_rss:.0f} | {samples(m.rss_mb, 0)} "
        f"| {statistics.median(m.base_rss_mb):.0f} | {m.median_s:.2f} | {samples(m.seconds, 2)} |"
        for m in (small, large)
    ]
    sizes = size_label(large.quads), size_label(small.quads)
    goal = f"peak RSS at {sizes[0]} < {BAR_MEMORY_RATIO:g}x the peak at {sizes[1]}"
    bar = Bar(goal, f"{ratio:.2f}x", ratio < BAR_MEMORY_RATIO)
    return [*lines, "", bar.line(), ""], bar


def rdf_section(methods: dict[str, Method]) -> tuple[list[str], Bar]:
    """The RDF load-rate table; the bar is provml's rate relative to bulk_load's for the same file and graphs."""

    def fmt(name: str) -> str:  # "provml ttl", "bulk_load nq"...: the second word names the file
        return name.split()[1]

    triples = {f: methods[f"bulk_load {f}"].quads for f in ("ttl", "nq")}
    rate = {name: triples[fmt(name)] / m.median_s for name, m in methods.items()}
    lines = [
        "## 4. RDF files: provml against pyoxigraph's raw bulk_load",
        "",
        "The N-Quads export of table 1's store, its graphs renamed out of provml's namespace (`foreign.nq`,",
        f"{triples['nq']:,} quads in many graphs), and the triples of all its graphs as Turtle (`union.ttl`,",
        f"{triples['ttl']:,} triples). `provml`: `provml.loading.load_paths` of the file into a fresh on-disk",
        "store (Oxigraph parses it; provml places each quad in the dump's graph or the named graph the file",
        "gives, and writes 100k-quad chunks), then close. `bulk_load`: one `Store(path).bulk_load(path=FILE)`",
        "+ `flush()`, the file as it is: Turtle into the default graph, N-Quads into their graphs; and",
        f"Turtle with `to_graph=<{loader_inputs.RDF_GRAPH}>`, which stores what provml stores: a dump's triples are",
        "always in a named graph, which Oxigraph indexes six ways instead of the default graph's three.",
        "",
        "| method | median s | triples/s | vs bulk_load, same graphs | median peak RSS MB | samples s |",
        "|---|---|---|---|---|---|",
    ]
    same = {"ttl": "bulk_load ttl into a named graph", "nq": "bulk_load nq"}
    for name, m in methods.items():
        lines.append(
            f"| {name} | {m.median_s:.2f} | {rate[name]:,.0f} | {rate[name] / rate[same[fmt(name)]]:.2f}x "
            f"| {m.median_rss:.0f} | {samples(m.seconds, 2)} |"
        )
    ratios = {fmt: rate[f"provml {fmt}"] / rate[same[fmt]] for fmt in same}
    into_default = rate["provml ttl"] / rate["bulk_load ttl"]
    goal = f"RDF loading >= {BAR_RDF_RATIO:.0%} of raw bulk_load's rate for the same file (into the same graphs)"
    measured = f"Turtle {ratios['ttl']:.0%}, N-Quads {ratios['nq']:.0%}"
    bar = Bar(goal, measured, min(ratios.values()) >= BAR_RDF_RATIO)
    note = f"Turtle against bulk_load into the default graph (less indexing than any dump gets): {into_default:.0%}."
    return [*lines, "", bar.line(), "", note, ""], bar


def loader_memory_section(pairs: dict[str, tuple[Method, Method]], quick: bool) -> tuple[list[str], Bar]:
    """The peak-RSS table of every loader at two sizes; the bar is the worst ratio."""
    lines = [
        "## 5. Memory of every loader at two sizes",
        "",
        "`provml.loading.load_paths` of one source (format detected) into a fresh on-disk store, one",
        "subprocess per sample; sources made by `benchmarks/inputs_<loader>.py` (RDF: table 4's files"
        + (", 10k and 100k)." if quick else ", 100k and 1M)."),
        "",
        "| loader | triples (small / large) | median peak RSS MB (small / large) | ratio | median s (small / large) |",
        "|---|---|---|---|---|",
    ]
    ratios = {}
    for name, (small, large) in pairs.items():
        ratios[name] = large.median_rss / small.median_rss
        lines.append(
            f"| {name} | {small.quads:,} / {large.quads:,} | {small.median_rss:.0f} / {large.median_rss:.0f} "
            f"| {ratios[name]:.2f}x | {small.median_s:.2f} / {large.median_s:.2f} |"
        )
    worst = max(ratios, key=ratios.get)
    goal = f"every loader: peak RSS at the large size < {BAR_MEMORY_RATIO:g}x the peak at a tenth of it"
    bar = Bar(goal, f"worst {worst} {ratios[worst]:.2f}x", ratios[worst] < BAR_MEMORY_RATIO)
    return [*lines, "", bar.line(), ""], bar


def lineage_section(result: dict[str, Any], model: str) -> tuple[list[str], Bar]:
    """The lineage-latency table of the three layouts; the bar is the provml store's p50."""
    p50 = {name: statistics.median(entry["samples_ms"]) for name, entry in result.items()}
    lines = [
        "## 3. Lineage query",
        "",
        f"`provml.demo.LINEAGE` for the deployed model `{model}`: its ancestors (models;",
        "learning, domain and raw datasets) across the deployment, evaluation, training and curation dumps.",
        f"On-disk stores, queried through `provml.store.Store.query`; {QUERY_WARMUPS} warm-ups, then up to",
        f"{QUERY_SAMPLES} timed runs per layout (fewer once they took {QUERY_BUDGET_S:g} s), results fully",
        "materialised, layouts interleaved round-robin. Three layouts of the same data:",
        "",
        "- `provml`: the store provml loaded (one named graph per dump, shared descriptions in one shared",
        "  graph), union default graph;",
        f"- `{NAIVE}`: `all.nq` plus, in every dump graph, a copy of each shared-graph triple whose",
        "  subject the dump mentions (what a loader without a shared graph writes), bulk-loaded;",
        "  union default graph;",
        f"- `{SINGLE}`: every triple of `all.nq` in the default graph (graph names dropped); no union.",
        "",
        "| layout | quads | rows | distinct rows | p50 ms | n | min ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in result.items():
        ms = entry["samples_ms"]
        lines.append(
            f"| {name} | {entry['quads']:,} | {entry['rows']:,} | {len(entry['distinct_rows'])} "
            f"| {p50[name]:.2f} | {len(ms)} | {min(ms):.2f} | {max(ms):.2f} |"
        )
    provml = p50["provml"]
    bar = Bar(f"p50 < {BAR_LINEAGE_MS:g} ms on the provml store", f"{provml:.2f} ms", provml < BAR_LINEAGE_MS)
    lines += [
        "",
        f"Ratios of p50s: {NAIVE} / provml = **{p50[NAIVE] / provml:.1f}x**; "
        f"provml / {SINGLE} = **{provml / p50[SINGLE]:.2f}x**.",
        "",
        bar.line(),
        "",
        "The three layouts give the same distinct rows (asserted). Under the union default graph a triple",
        "counts once per graph that holds it, so on the naive layout the query returns each answer many",
        f"times ({result[NAIVE]['rows']:,} rows): the trap costs correctness (duplicates) as well as time.",
        "",
        "Raw samples (ms):",
        "",
    ]
    lines += [f"- {name}: {samples(entry['samples_ms'], 2)}" for name, entry in result.items()]
    return [*lines, ""], bar


def capture_section(result: dict[str, Any]) -> tuple[list[str], list[Bar]]:
    """The capture-cost tables; bars: median caller cost per log_metric, and overhead on a training loop."""
    per_call = {
        "provml.log_metric (file transport)": result["provml_us"],
        "bare orjson line + buffered write (floor)": result["bare_us"],
    }
    if result["mlflow_us"] is not None:
        per_call[f"mlflow.log_metric, local file store (MLflow {result['mlflow_version']})"] = result["mlflow_us"]
    provml_us = statistics.median(result["provml_us"])
    measured, computed = capture.overheads(result)
    plain_ms = statistics.median(result["step_plain_s"]) * 1000
    captured_ms = statistics.median(result["step_captured_s"]) * 1000
    quartiles = statistics.quantiles(result["step_plain_s"], n=4)
    spread = (quartiles[2] - quartiles[0]) / statistics.median(result["step_plain_s"])
    lines = [
        "## 6. Capture cost",
        "",
        f"In one fresh interpreter (one BLAS thread): loops of {capture.CALLS:,} calls ({capture.MLFLOW_CALLS} for",
        "MLflow), median of the loops' mean cost per call; then a numpy MLP trained for rounds of",
        f"{capture.STEPS} steps, {capture.METRICS_PER_STEP} metrics logged per step in captured rounds, captured and",
        "uncaptured rounds interleaved.",
        "",
        "| caller-side cost per call | median us | vs provml | samples us |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {statistics.median(us):.2f} | {statistics.median(us) / provml_us:.1f}x | {samples(us, 2)} |"
        for name, us in per_call.items()
    ]
    if result["mlflow_us"] is None:
        lines += ["", "MLflow is not installed here, so it was not measured (`pip install mlflow`)."]
    lines += [
        "",
        "| training loop | median ms per step | samples ms |",
        "|---|---|---|",
        f"| uncaptured | {plain_ms:.3f} | {samples([x * 1000 for x in result['step_plain_s']], 3)} |",
        f"| captured, {capture.METRICS_PER_STEP} log_metric per step | {captured_ms:.3f} "
        f"| {samples([x * 1000 for x in result['step_captured_s']], 3)} |",
        "",
        f"Overhead of capture on the loop: measured **{measured:+.3%}** (difference of medians; the rounds",
        f"of the uncaptured loop alone spread by {spread:.1%} between quartiles); computed from the per-call cost,",
        f"{capture.METRICS_PER_STEP} x {provml_us:.2f} us per {plain_ms:.1f} ms step = **{computed:.4%}**.",
        "The measured difference cannot resolve 0.1% when the loop alone varies by more: the bar takes the",
        "computed overhead, and asks of the measured one only that it stay within the loop's own spread.",
        "",
    ]
    bars = [
        Bar("caller-side cost per log_metric median <= 3 us", f"{provml_us:.2f} us", provml_us <= 3.0),
        Bar(
            "overhead on a ~10 ms/step training loop < 0.1%",
            f"{computed:.4%} computed, {measured:+.3%} measured (loop spread {spread:.1%})",
            computed < 0.001 and measured < max(0.001, spread),
        ),
    ]
    return [*lines, *(bar.line() for bar in bars), ""], bars


def validation_row(quads: int, got: validation.Samples, pyshacl: validation.Samples) -> str:
    """One row of the validation table: an engine's samples at one size, or why it has none."""
    if not got.answers:
        return f"| {quads:,} | {got.engine} | {got.stopped} | | | | | |"
    first = got.answers[0]
    counts = " / ".join(str(first["counts"].get(severity, 0)) for severity in ("Violation", "Warning", "Info"))
    planted = len(validation.PLANTED_KINDS) * validation.PLANTED_PER_KIND
    median = f"{got.median_s:.2f}" + (f" ({got.stopped})" if got.stopped else "")
    compared = got is not pyshacl and got.finished and pyshacl.finished
    versus = f"{pyshacl.median_s / got.median_s:.1f}x" if compared else ""
    return (
        f"| {quads:,} | {got.engine} | {median} | {versus} | {first['results']:,} ({counts}) "
        f"| {first['planted_found']}/{planted} | {got.median_rss:.0f} | {samples(got.seconds, 2)} |"
    )


def validation_section(sizes: list[validation.Size], budget: float) -> tuple[list[str], Bar]:
    """The validation-time table of both engines at each size; the bar is pySHACL's time over the fast engine's."""
    lines = [
        "## 7. Validation: the fast engine against pySHACL",
        "",
        "`provml.validation.validate(store, engine=E)` of the whole store with the shipped shapes (`shapes/*.ttl`).",
        "Data: a demo lifecycle of each size loaded once into an on-disk store (`load_paths(..., check=False)`,",
        f"not timed), plus a graph of {len(validation.PLANTED_KINDS) * validation.PLANTED_PER_KIND} planted nodes "
        "that the shapes report (models not typed prov:Entity,",
        "workflows without rdfs:label, datasets whose provml:domainConcept is a literal). One fresh subprocess",
        "per sample, engines interleaved; time measured around `validate` only (imports, shapes and ontology",
        "read before). `pyshacl` runs pySHACL on the same pyoxigraph store, which it copies to validate it with",
        f"the ontology: the copy is part of its time. A sample that runs over {budget:g} s is killed and its",
        "engine is not run at larger sizes, nor at a size where its last median, scaled linearly, is over that.",
        "",
        "| quads | engine | median s | pySHACL / fast | results (violations / warnings / infos) | planted found "
        "| median peak RSS MB | samples s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        lines += [validation_row(size.quads, got, size.engines["pyshacl"]) for got in size.engines.values()]
    agree = {size_label(s.quads): s.same_results for s in sizes if s.same_results is not None}
    lines += [
        "",
        "Same results from both engines in every sample (focus node, path, constraint component): "
        + (", ".join(f"{'yes' if same else '**no**'} at {label}" for label, same in agree.items()) or "not compared")
        + ".",
    ]
    notes = sorted({note for s in sizes for answer in s.engines["fast"].answers for note in answer["notes"]})
    lines += ["", "The fast engine's notes:", "", *(f"- {note}" for note in notes)] if notes else []
    comparison = validation.compare(sizes, budget)
    if comparison is None:
        goal = f"fast engine >= {BAR_VALIDATION_RATIO:g}x faster than pySHACL"
        bar = Bar(goal, "no size where both engines finished", False)
        return [*lines, "", bar.line(), ""], bar
    goal = f"fast engine >= {BAR_VALIDATION_RATIO:g}x faster than pySHACL at {size_label(comparison.quads)} triples"
    if comparison.lower_bound:
        measured = f"> {comparison.ratio:.0f}x (pySHACL killed after {budget:g} s)"
        how = "the budget over the fast engine's median at the size where pySHACL was killed, a lower bound"
    else:
        measured = f"{comparison.ratio:.1f}x" + ("" if comparison.same_results else ", results differ")
        how = "the ratio of medians at the largest size where pySHACL finished every sample"
        if beyond := validation.lower_bound(sizes, budget):
            how += (
                f"; at {size_label(beyond.quads)} pySHACL was killed after {budget:g} s and the fast engine took"
                f" {beyond.fast_s:.2f} s: more than {beyond.ratio:.0f}x"
            )
    bar = Bar(goal, measured, comparison.ratio >= BAR_VALIDATION_RATIO and comparison.same_results is not False)
    return [*lines, "", f"Measured: {how}.", "", bar.line(), ""], bar


def queries_section(
    provml: dict[str, Any], rdflib: dict[str, Any] | None, quads: int, limits: canned_queries.Limits
) -> tuple[list[str], Bar]:
    """The canned-query latency table; the bar is the slowest query's p50 on the provml store."""
    timeout = limits.timeout_s
    lines = [
        "## 8. Canned queries",
        "",
        f"Every query of `queries/` ({len(provml)}) with the example values of its parameters, on the demo",
        f"lifecycle of {quads:,} quads: provml's on-disk store (`Store.query`, union default graph) against",
        "rdflib's in-memory `Dataset(default_union=True)` holding the same quads. One process per engine;",
        f"per query one warm-up, then up to {limits.samples} timed runs (fewer once they took "
        f"{limits.budget_s:g} s), rows fully read; an rdflib run over {timeout:g} s is stopped.",
        "",
        "| query | rows | provml p50 ms | n | rdflib p50 ms | n | rdflib / provml |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios, differ = [], []
    for name, entry in provml.items():
        mine = canned_queries.p50(entry)
        other = rdflib[name] if rdflib else None
        theirs = canned_queries.p50(other) if other else None
        if other is None:
            shown, ratio = "not run", ""
        elif other["timed_out"]:
            shown, ratio = f"> {timeout * 1000:,.0f} (stopped)", f"> {timeout * 1000 / mine:,.0f}x"
        else:
            shown, ratio = f"{theirs:,.1f}", f"{theirs / mine:,.1f}x"
            ratios.append(theirs / mine)
            if other["rows"] != entry["rows"]:
                differ.append(f"{name} ({entry['rows']} / {other['rows']} rows)")
        lines.append(
            f"| {name} | {entry['rows']:,} | {mine:.2f} | {len(entry['samples_ms'])} | {shown} "
            f"| {len(other['samples_ms']) if other else ''} | {ratio} |"
        )
    slowest = max(provml, key=lambda name: canned_queries.p50(provml[name]))
    worst = canned_queries.p50(provml[slowest])
    bar = Bar(
        f"every canned query p50 < {BAR_QUERY_MS:g} ms at {size_label(quads)} triples (on disk)",
        f"slowest {slowest}, {worst:.1f} ms",
        worst < BAR_QUERY_MS,
    )
    lines += [""]
    if ratios:
        lines.append(
            f"Median over the queries of rdflib's p50 over provml's: **{statistics.median(ratios):,.0f}x** "
            f"(from {min(ratios):,.1f}x to {max(ratios):,.0f}x)."
        )
    if differ:
        lines.append(f"Row counts that differ between the engines: {', '.join(differ)}.")
    elif ratios:
        lines.append("Both engines return the same number of rows for every query rdflib finished.")
    return [*lines, "", bar.line(), ""], bar


def entailment_section(result: entailment.Result) -> tuple[list[str], list[Bar]]:
    """The entailment tables: provml's whole entailment against owlrl's closure, then after a one-run load; bars:
    the whole entailment's time over the incremental one's, and owlrl's time over provml's."""
    prepared, provml, owlrl = result.prepared, result.provml, result.owlrl
    size = size_label(prepared.lifecycle_quads)
    lines = [
        f"## 10. Entailment ({prepared.lifecycle_quads:,} quads and the linked ontologies)",
        "",
        f"Data: `provml.demo.write_lifecycle(runs={prepared.runs}, epochs={data.EPOCHS}, seed={data.SEED})` (a tenth"
        " of `--size`), loaded",
        f"into an on-disk store without validation ({prepared.lifecycle_quads:,} quads), then `provml.demo.link_demo`:"
        " PROV-O, ML Schema,",
        "PROV-ML, the PROV-O / ML Schema alignment and the demo's geology ontology"
        f" ({prepared.ontology_triples:,} triples). Both engines",
        f"start from the same {prepared.asserted_triples:,} distinct triples: those of every graph of the store but the"
        " entailment graph",
        "(the catalog's too). One fresh subprocess per sample, engines interleaved, provml's samples each on a fresh",
        "copy of the store; time measured around the entailment only.",
        "",
        "- `provml`: `provml.entailment.refresh(store)`: RDFS and a subset of OWL 2 RL as SPARQL CONSTRUCT rules",
        "  run by Oxigraph, semi-naive, into `urn:provml:graph/entailed`, where it writes only triples that no",
        "  graph holds;",
        "- `owlrl`: `owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)` (owlrl "
        f"{version('owlrl')}, default options) on",
        "  an in-memory rdflib `Graph` of the same triples (an N-Triples export of the store, read before the clock",
        f"  starts); stopped after {result.budget:g} s.",
        "",
        "owlrl applies the whole OWL 2 RL rule set, its rules without premises too (`cls-thing`, `prp-ap`,",
        "`dt-type1`...; with its default options, no further axiomatic triples); provml applies the subset that",
        "`docs/linking.md` lists. So the counts of triples derived differ: owlrl also makes every resource",
        "`owl:sameAs` itself and each class and property a sub-class or sub-property and an equivalent of itself,",
        "types individuals `owl:Thing` and literals by their datatype, types resources with the (blank-node)",
        "classes of restrictions and unions, and passes domains and ranges along the hierarchies; provml derives",
        "none of these. What provml derives should all be in owlrl's closure.",
        "",
        "| engine | median s | triples derived | vs provml | median peak RSS MB | samples s |",
        "|---|---|---|---|---|---|",
        f"| provml refresh | {provml.median_s:.2f} | {prepared.entailed_triples:,} | 1.0x | {provml.median_rss:.0f} "
        f"| {samples(provml.seconds, 2)} |",
    ]
    if owlrl.finished:
        ratio = owlrl.median_s / provml.median_s
        lines.append(
            f"| owlrl expand | {owlrl.median_s:.2f} | {owlrl.answers[0]['derived']:,} | {ratio:.1f}x "
            f"| {owlrl.median_rss:.0f} | {samples(owlrl.seconds, 2)} |"
        )
    else:
        floor = min([*owlrl.seconds, result.budget])  # every owlrl sample took at least this long
        ratio = floor / provml.median_s
        lines.append(f"| owlrl expand | > {floor:.0f} ({owlrl.stopped}) | | > {ratio:.0f}x | | |")
    lines += ["", *_subset_lines(owlrl), *_load_lines(result.loads)]
    whole = statistics.median(load["whole_s"] for load in result.loads)
    incremental = statistics.median(load["incremental_s"] for load in result.loads)
    same = all(load["same_graph"] for load in result.loads)
    subset = None if not owlrl.answers else not any(answer["missing"] for answer in owlrl.answers)
    owlrl_ratio = f"{ratio:.1f}x" if owlrl.finished else f"> {ratio:.0f}x (owlrl stopped after {result.budget:g} s)"
    bars = [
        Bar(
            f"incremental entailment after a one-run load at least {BAR_INCREMENTAL_RATIO:g}x faster than computing"
            " it whole",
            f"{whole / incremental:.1f}x ({incremental:.2f} vs {whole:.2f} s at {size})"
            + ("" if same else ", but the two ways give different graphs"),
            whole / incremental >= BAR_INCREMENTAL_RATIO and same,
        ),
        Bar(
            f"provml's whole entailment at least {BAR_OWLRL_RATIO:g}x faster than owlrl's closure",
            f"{owlrl_ratio} at {size}" + ("" if subset is not False else ", but provml derives triples owlrl does not"),
            ratio >= BAR_OWLRL_RATIO and subset is not False,
        ),
    ]
    return [*lines, *(bar.line() for bar in bars), ""], bars


_ZERO = "literal '0.0' does not match its datatype (http://www.w3.org/2001/XMLSchema#double)"  # owlrl 7.6


def _subset_lines(owlrl: validation.Samples) -> list[str]:
    """Whether every triple provml derived (blank nodes left out) is in owlrl's closure, with examples if not."""
    if not owlrl.answers:
        return ["Whether owlrl's closure holds what provml derives: not checked, owlrl did not finish.", ""]
    first = owlrl.answers[0]
    derived = (
        f"Of owlrl's {first['derived']:,} triples, {first['same_as_itself']:,} say a resource is `owl:sameAs` itself"
    )
    if first["errors"]:
        verb = "reports" if first["errors"] == 1 else "report"
        derived += f'; {first["errors"]} {verb} an error, such as "{first["error"]}"'
        if _ZERO in first["error"]:
            derived += " (owlrl's check of `xsd:double` refuses zero: `DatatypeHandling._strToDouble`)"
    lines = [
        derived + ".",
        f"Every triple provml derived, blank nodes left out ({first['compared']:,}), is in owlrl's closure: "
        + ("**yes**." if not first["missing"] else f"**no**, {first['missing']:,} are not, such as:"),
        "",
    ]
    return [*lines, "```", *first["examples"], "```", ""] if first["missing"] else lines


def _load_lines(loads: list[dict[str, Any]]) -> list[str]:
    """The table of a one-run load, the entailment it adds and the whole entailment after it."""
    steps = {  # step -> its keys in the answers: seconds, triples
        "load one more run (no validation, no entailment)": ("load_s", "load_triples"),
        "incremental entailment: `refresh_if_kept(store)`": ("incremental_s", "incremental_triples"),
        "whole entailment: `refresh(store)`": ("whole_s", "whole_triples"),
    }
    median = {key: statistics.median(load[key] for load in loads) for key, _ in steps.values()}
    lines = [
        "### After a load",
        "",
        f"Each sample on a fresh copy of the linked store: a load of one more training run (`{entailment.RUN_FILE}`",
        "with its task and model ids changed) as `provml load --no-validate` loads it, without its entailment step",
        "(`Store.load_many` of the loader's dump); then `refresh_if_kept(store)`, which derives what the",
        "new dump adds (`extend`: `full` is False, asserted); then `refresh(store)`, the entailment graph of the",
        "same store computed whole.",
        "",
        "| step | median s | triples | samples s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {step} | {median[seconds]:.2f} | {loads[0][triples]:,} | {samples([load[seconds] for load in loads], 2)} |"
        for step, (seconds, triples) in steps.items()
    ]
    same = "yes" if all(load["same_graph"] for load in loads) else "**no**"
    return [
        *lines,
        "",
        f"Ratios of medians: whole / incremental = **{median['whole_s'] / median['incremental_s']:.1f}x**;"
        f" incremental / load = **{median['incremental_s'] / median['load_s']:.1f}x**. Both ways give the same"
        f" entailment graph: {same}.",
        "",
    ]


REPRODUCE = """## How to reproduce

```
pip install -e '.[test,bench]'   # provml, numpy (training loop), mlflow, and the tools that make loader inputs
python benchmarks/run.py    # full run: 1M triples, 3 repeats, ~110 min on 2 cores; writes docs/BENCHMARKS.md
python benchmarks/run.py --quick --output /tmp/bench.md   # 100k triples, 2 repeats (CI: --repeat 1 --size 30000)
```

Options: `--size N` (target triples), `--repeat N`, `--skip-rdflib`, `--work DIR` (data and stores,
default `benchmarks/work/`, git-ignored), `--output PATH`, `--only GROUP...` (some of `loads`: sections 1-5,
`capture`, `validation`, `queries`, `endpoint`: section 9, at a tenth of `--size`, a hundredth with `--quick`;
`entailment`: section 10, at a tenth of `--size`; `scale`: section 11, at ten times `--size` on disk and
`--size` on Virtuoso (Debian's `virtuoso-opensource`) and for `--jobs`; the report's other groups are kept
as they were, each naming the command and commit that measured it), `--validation-budget S` (seconds a
validation sample may take), `--owlrl-budget S` (seconds owlrl's closure may take). A loader whose input
maker cannot run (its tool is not installed) is left out of section 5, with a message. Absolute numbers
depend on the machine and on what else runs on it; compare the ratios, which are taken within one run.
"""


# -- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k triples, 2 repeats: a smoke run for CI")
    parser.add_argument("--size", type=int, help="target triple count (default 1M, 100k with --quick)")
    parser.add_argument("--repeat", type=int, help="samples per method (default 3, 2 with --quick)")
    parser.add_argument("--skip-rdflib", action="store_true", help="leave out rdflib (~60 s a sample at 1M)")
    parser.add_argument("--work", type=Path, default=HERE / "work", help="directory for data and stores")
    parser.add_argument("--output", type=Path, default=HERE.parent / "docs" / "BENCHMARKS.md", help="report")
    groups = "loads: sections 1-5, capture: 6, validation: 7, queries: 8, endpoint: 9, entailment: 10, scale: 11"
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=GROUPS, help=f"run only these groups ({groups})")
    budgets = f"default {VALIDATION_BUDGET_S:g}, {QUICK_VALIDATION_BUDGET_S:g} with --quick"
    parser.add_argument("--validation-budget", type=float, help=f"seconds a validation sample may take ({budgets})")
    owlrl = f"default {entailment.BUDGET_S:g}, {entailment.QUICK_BUDGET_S:g} with --quick"
    parser.add_argument("--owlrl-budget", type=float, help=f"seconds an owlrl closure may take ({owlrl})")
    args = parser.parse_args(argv)
    args.size = args.size or (100_000 if args.quick else 1_000_000)
    args.repeat = args.repeat or (2 if args.quick else 3)
    args.validation_budget = args.validation_budget or (
        QUICK_VALIDATION_BUDGET_S if args.quick else VALIDATION_BUDGET_S
    )
    args.owlrl_budget = args.owlrl_budget or (entailment.QUICK_BUDGET_S if args.quick else entailment.BUDGET_S)
    if args.size < 1000 or args.repeat < 1:
        parser.error("--size must be at least 1000 and --repeat at least 1")
    return args


def measure_loads(args: argparse.Namespace, work: Path) -> tuple[list[tuple[list[str], Bar]], str]:
    """Measure sections 1 to 5, which share their data; return them and the report line on that data."""
    log(f"writing lifecycles of ~{args.size:,} and ~{args.size // 10:,} quads")
    large = data.write(work / "lifecycle-large", args.size)
    small = data.write(work / "lifecycle-small", args.size // 10)
    reference, nquads = work / "reference-store", work / "all.nq"
    log("loading the reference store with provml (not timed) and exporting it")
    worker("provml", str(large.directory), str(fresh(reference)))
    data.export_nquads(reference, fresh(nquads))

    methods = [Method("provml", "provml", large.directory), Method("oxigraph bulk_load", "bulk", nquads)]
    if not args.skip_rdflib:
        methods.append(Method("rdflib Dataset.parse", "rdflib", nquads))
    small_load = Method("provml", "provml", small.directory)
    for repeat in range(args.repeat):
        log(f"load samples, round {repeat + 1}/{args.repeat}")
        for method in (*methods, small_load):
            sample(method, work / "sample-store")
    quads = methods[0].quads
    assert quads is not None and methods[1].quads == quads, "provml and bulk_load must hold the same quads"

    log("writing RDF files and the other loaders' sources")
    rdf_large = loader_inputs.rdf_inputs(nquads, work / "rdf-large", quads)
    rdf_small = loader_inputs.rdf_inputs(nquads, work / "rdf-small", quads // 10)
    rdf_methods = {
        name: Method(name, worker, rdf_large[name.split()[1]], extra)
        for name, worker, extra in (
            ("provml ttl", "load", ()),
            ("bulk_load ttl", "bulk", ()),
            ("bulk_load ttl into a named graph", "bulk", (loader_inputs.RDF_GRAPH,)),
            ("provml nq", "load", ()),
            ("bulk_load nq", "bulk", ()),
        )
    }
    pairs = {  # loader -> (small, large); the events loader's pair was sampled with table 1
        "rdf (Turtle)": (Method("ttl small", "load", rdf_small["ttl"]), rdf_methods["provml ttl"]),
        "rdf (N-Quads)": (Method("nq small", "load", rdf_small["nq"]), rdf_methods["provml nq"]),
    }
    small_sources = loader_inputs.make_all(work / "inputs-small", args.size // 10)
    for name, source in loader_inputs.make_all(work / "inputs-large", args.size).items():
        pairs[name] = (Method(f"{name} small", "load", small_sources[name]), Method(name, "load", source))
    to_sample = {id(m): m for m in (*rdf_methods.values(), *(m for pair in pairs.values() for m in pair))}
    for repeat in range(args.repeat):
        log(f"loader samples, round {repeat + 1}/{args.repeat}")
        for method in to_sample.values():
            sample(method, work / "sample-store")
    pairs = {"events": (small_load, methods[0]), **pairs}

    log("building the naive and single-graph layouts; timing the lineage query")
    naive, single = fresh(work / "naive-store"), fresh(work / "single-store")
    data.build_naive(nquads, naive)
    data.build_single(nquads, single)
    layouts = [["provml", str(reference), True], [NAIVE, str(naive), True], [SINGLE, str(single), False]]
    model = large.deployed_model
    spec = {"query": LINEAGE.format(model=model), "model": model, "layouts": layouts}
    lineage = worker("lineage", json.dumps(spec))
    answers = [entry["distinct_rows"] for entry in lineage.values()]
    assert answers[0] and all(a == answers[0] for a in answers), "every layout must give the same lineage"
    assert lineage["provml"]["rows"] == lineage[SINGLE]["rows"] == len(answers[0]), "no duplicate rows"
    for path in (naive, single, reference):
        fresh(path)

    sections = [
        load_section(methods, quads),
        memory_section(small_load, methods[0], args.quick),
        lineage_section(lineage, model),
        rdf_section(rdf_methods),
        loader_memory_section(pairs, args.quick),
    ]
    facts = (
        f"- Data: `provml.demo.write_lifecycle(runs={large.runs}, epochs={data.EPOCHS}, seed={data.SEED})`, "
        f"{len(data.event_files(large.directory))} event files, {quads:,} quads in the provml store; "
        f"{args.repeat} samples per load method."
    )
    return sections, facts


def measure_capture(args: argparse.Namespace) -> tuple[list[str], list[Bar]]:
    """Measure section 6 in one worker (one BLAS thread)."""
    log("measuring capture cost")
    rounds = 5 if args.quick else 21
    cost = worker("capture", str(args.repeat), str(rounds), env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    return capture_section(cost)


def measure_validation(args: argparse.Namespace, work: Path) -> tuple[list[str], Bar]:
    """Measure section 7: both engines at sizes going up to the target size."""
    steps = validation.QUICK_STEPS if args.quick else validation.STEPS
    targets = [round(args.size * step) for step in steps]
    log(f"validation at ~{', '.join(f'{t:,}' for t in targets)} quads, {args.validation_budget:g} s a sample at most")
    sizes = validation.measure(work, targets, args.repeat, args.validation_budget, validation_sample)
    return validation_section(sizes, args.validation_budget)


def measure_queries(args: argparse.Namespace, work: Path) -> tuple[list[str], Bar]:
    """Measure section 8: every canned query on provml's store and, unless --skip-rdflib, on rdflib."""
    log(f"canned queries: loading a lifecycle of ~{args.size:,} quads")
    store, nquads, _, quads = canned_queries.prepare(work, args.size)
    spec = work / "queries-spec.json"
    limits = canned_queries.QUICK if args.quick else canned_queries.FULL
    spec.write_text(json.dumps({"queries": canned_queries.specs(), "limits": limits}))
    log("canned queries on provml")
    provml = worker("queries", "provml", str(store), str(spec))
    rdflib = None
    if not args.skip_rdflib:
        log("canned queries on rdflib")
        rdflib = worker("queries", "rdflib", str(nquads), str(spec), timeout=SAMPLE_TIMEOUT_S * 4)
    for path in (store, nquads):
        fresh(path)
    return queries_section(provml, rdflib, quads, limits)


def measure_endpoint(args: argparse.Namespace, work: Path) -> tuple[list[str], list[Bar]]:
    """Measure section 9: the SPARQL endpoint over HTTP, at a tenth of the target size (a hundredth with --quick)."""
    plan = dataclasses.replace(endpoint.QUICK if args.quick else endpoint.FULL, samples=args.repeat)
    lines, goals = endpoint.measure(work, args.size, plan, rdflib=not args.skip_rdflib, log=log)
    bars = [Bar(*goal) for goal in goals]
    return [*lines, *(bar.line() for bar in bars), ""], bars


def measure_entailment(args: argparse.Namespace, work: Path) -> tuple[list[str], list[Bar]]:
    """Measure section 10: provml's entailment computed whole against owlrl's closure, and after a one-run load."""
    result = entailment.measure(work, args.size, args.repeat, args.owlrl_budget, worker, log)
    return entailment_section(result)


def measure_scale(args: argparse.Namespace, work: Path) -> tuple[list[str], list[Bar]]:
    """Measure section 11: the embedded store at ten times the target size, provml on Virtuoso and on an
    embedded store at the target size, and `provml load --jobs 2` against `--jobs 1` at the target size."""
    limits = canned_queries.QUICK if args.quick else canned_queries.FULL
    log(f"scale: an embedded store of ~{args.size * 10:,} quads, Virtuoso and an embedded store of ~{args.size:,}")
    report = scale.measure(args.size * 10, args.size, work / "scale", limits)
    log("scale: provml load --jobs 2 against --jobs 1")
    jobs = load_jobs.measure(args.size, args.repeat, 2, work / "jobs", log)
    bars = [Bar(*scale.bar(report)), *(Bar(*found) for found in load_jobs.bars(jobs))]
    lines = ["## 11. Scale: 10M triples, a remote Virtuoso, parallel loads", "", *scale.markdown(report), ""]
    lines += ["### Parallel loads", "", *load_jobs.markdown(jobs), "", *(bar.line() for bar in bars), ""]
    return lines, bars


def commit() -> str:
    """The checked-out commit, marked when the working tree has changes."""
    git = ["git", "-C", str(HERE)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return (head or "unknown") + (" with uncommitted changes" if dirty.stdout.strip() else "")


def block(group: str, lines: list[str], bars: list[Bar], provenance: str) -> str:
    """One group's sections, fenced by comments that carry its bars, so a later partial run can keep it."""
    fields = json.dumps([[bar.goal, bar.measured, bar.passed] for bar in bars])
    return "\n".join([f"<!-- group {group} bars {fields} -->", "", provenance, "", *lines, f"<!-- end {group} -->"])


BLOCK = re.compile(r"^<!-- group (?P<group>\w+) bars (?P<bars>.*?) -->$.*?^<!-- end (?P=group) -->$", re.M | re.S)


def kept_blocks(report: Path, rerun: set[str]) -> dict[str, tuple[str, list[Bar]]]:
    """The groups of an earlier report at ``report`` that this run does not measure again."""
    text = report.read_text() if report.exists() else ""
    return {
        match["group"]: (match[0], [Bar(*fields) for fields in json.loads(match["bars"])])
        for match in BLOCK.finditer(text)
        if match["group"] in GROUPS and match["group"] not in rerun
    }


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    os.environ.pop("PROVML_BASE", None)  # the lineage query names the model by its default IRI
    started, load_before, code = time.perf_counter(), os.getloadavg(), commit()  # the code, before it can change
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    measured: dict[str, tuple[list[str], list[Bar]]] = {}
    facts = []
    if "loads" in args.only:
        sections, data_facts = measure_loads(args, work)
        measured["loads"] = ([line for lines, _ in sections for line in lines], [bar for _, bar in sections])
        facts.append(data_facts)
    if "capture" in args.only:
        measured["capture"] = measure_capture(args)
    if "validation" in args.only:
        lines, bar = measure_validation(args, work)
        measured["validation"] = (lines, [bar])
    if "queries" in args.only:
        lines, bar = measure_queries(args, work)
        measured["queries"] = (lines, [bar])
    if "endpoint" in args.only:
        measured["endpoint"] = measure_endpoint(args, work)
    if "entailment" in args.only:
        measured["entailment"] = measure_entailment(args, work)
    if "scale" in args.only:
        measured["scale"] = measure_scale(args, work)
    minutes = (time.perf_counter() - started) / 60
    command = shlex.join(["python", os.path.relpath(sys.argv[0]), *argv])
    loads = [" / ".join(f"{x:.2f}" for x in averages) for averages in (load_before, os.getloadavg())]
    provenance = "\n".join(
        [
            f"_Measured by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in {minutes:.1f} min, "
            f"at commit {code}, {hardware()}; load average (1/5/15 min) before the "
            f"run {loads[0]}, after {loads[1]}._",
            *facts,
        ]
    )
    blocks = kept_blocks(args.output, set(args.only))
    blocks |= {group: (block(group, lines, bars, provenance), bars) for group, (lines, bars) in measured.items()}
    ordered = [blocks[group] for group in GROUPS if group in blocks]
    report = [
        "# provml benchmarks",
        "",
        "Each group of sections says which command measured it, when and on which commit; a run with",
        "`--only` replaces its groups and keeps the others. Machine of the latest run (each group names its own):",
        "",
        *machine(),
        "",
        "| bar | measured | result |",
        "|---|---|---|",
        *(f"| {bar.goal} | {bar.measured} | {bar.verdict} |" for _, bars in ordered for bar in bars),
        "",
        *(text + "\n" for text, _ in ordered),
        REPRODUCE,
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(report))
    log(f"wrote {args.output} in {minutes:.1f} min")


if __name__ == "__main__":
    main(sys.argv[1:])
