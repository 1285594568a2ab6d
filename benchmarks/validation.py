"""Validation speed: the fast engine (SHACL compiled to SPARQL, run by Oxigraph) against pySHACL, same store.

Each size is a demo lifecycle (:func:`data.write`) loaded once into an on-disk store without load-time
validation, plus a graph of planted problems that the shipped shapes report, so that neither report is
empty. Each sample validates the whole store in a fresh interpreter (``_worker.py validate STORE ENGINE``),
engines interleaved. A sample over the budget is killed and its engine is not run at larger sizes; nor
is it tried at a size where its last median, scaled linearly with the size, is already over the budget.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import data

from provml.loading import load_paths
from provml.store import Store

if TYPE_CHECKING:
    from provml.validation import ValidationReport

ENGINES = ("fast", "pyshacl")
STEPS = (0.01, 0.03, 0.1, 0.3, 1.0)  # sizes measured, as fractions of the target size
QUICK_STEPS = (0.01, 0.1, 1.0)
PLANTED_GRAPH = "urn:provml:benchmark/planted"
PLANTED_KINDS = {  # node name -> its triples: what the shipped shapes report about it
    "model": "a provml:Model",  # a warning: not typed prov:Entity too
    "workflow": "a provml:Workflow , prov:Entity",  # a warning: no rdfs:label
    "dataset": 'a provml:Dataset , prov:Entity ; provml:domainConcept "soil"',  # a violation: not an IRI
}
PLANTED_PER_KIND = 5
_PLANTED = PLANTED_GRAPH + "/"

# (store, engine, budget in seconds) -> the worker's answer, or None when the sample ran over the budget
Sampler = Callable[[Path, str, float], dict[str, Any] | None]


def planted_turtle() -> str:
    """Return the planted problems as Turtle: :data:`PLANTED_PER_KIND` nodes of each of :data:`PLANTED_KINDS`."""
    lines = ["@prefix provml: <https://w3id.org/provml#> .", "@prefix prov: <http://www.w3.org/ns/prov#> ."]
    for kind, triples in PLANTED_KINDS.items():
        lines += [f"<{_PLANTED}{kind}-{i}> {triples} ." for i in range(PLANTED_PER_KIND)]
    return "\n".join(lines)


def summary(report: ValidationReport) -> dict[str, Any]:
    """Return what a sample keeps of a :class:`ValidationReport`: counts, a digest of the results, notes."""
    keys = sorted(repr(result.key()) for result in report.results)
    return {
        "results": len(report.results),
        "counts": report.counts(),
        "digest": hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16],
        "planted_found": len({r.focus.value for r in report.results if r.focus.value.startswith(_PLANTED)}),
        "notes": report.notes,
    }


@dataclass
class Samples:
    """One engine's samples at one size; ``stopped`` says why there are fewer than asked."""

    engine: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""

    @property
    def finished(self) -> bool:
        return bool(self.answers) and not self.stopped

    @property
    def seconds(self) -> list[float]:
        return [answer["seconds"] for answer in self.answers]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss(self) -> float:
        return statistics.median(answer["peak_rss_mb"] for answer in self.answers)


@dataclass
class Size:
    """A store of one size and both engines' samples on it."""

    quads: int
    runs: int
    engines: dict[str, Samples]

    @property
    def same_results(self) -> bool | None:
        """Whether every sample of both engines found the same results (None unless both finished)."""
        if not all(samples.finished for samples in self.engines.values()):
            return None
        return len({answer["digest"] for samples in self.engines.values() for answer in samples.answers}) == 1


@dataclass(frozen=True)
class Comparison:
    """pySHACL's median time over the fast engine's, at ``quads``; a lower bound if pySHACL was killed there."""

    quads: int
    fast_s: float
    ratio: float
    lower_bound: bool
    same_results: bool | None


def prepare(work: Path, target: int) -> tuple[Path, Size]:
    """Write a lifecycle of about ``target`` quads, load it with the planted problems into a fresh store."""
    lifecycle = data.write(work / "validation-lifecycle", target)
    path = work / "validation-store"
    shutil.rmtree(path, ignore_errors=True)
    with Store(path) as store:
        failed = [o for o in load_paths(store, [lifecycle.directory], check=False) if o.error is not None]
        assert not failed, failed[0].error
        store.add_rdf(planted_turtle().encode(), "turtle", graph=PLANTED_GRAPH)
        quads = len(store.oxigraph)
    return path, Size(quads, lifecycle.runs, {engine: Samples(engine) for engine in ENGINES})


def measure(work: Path, targets: list[int], repeat: int, budget: float, sample: Sampler) -> list[Size]:
    """Validate a store of each target size with both engines, ``repeat`` samples each, smallest size first."""
    sizes: list[Size] = []
    for target in targets:
        store, size = prepare(work, target)
        if not sizes or size.runs != sizes[-1].runs:  # a small target can give the lifecycle before it again
            for engine, samples in size.engines.items():
                samples.stopped = _not_tried(sizes, engine, size.quads, budget)
            _take_samples(size, store, repeat, budget, sample)
            sizes.append(size)
        shutil.rmtree(store)
    return sizes


def _take_samples(size: Size, store: Path, repeat: int, budget: float, sample: Sampler) -> None:
    """Take ``repeat`` rounds of samples, one per engine still running; an engine over the budget stops."""
    for _ in range(repeat):
        for samples in size.engines.values():
            if samples.stopped:
                continue
            answer = sample(store, samples.engine, budget)
            if answer is None:
                samples.stopped = f"killed after {budget:g} s"
            else:
                samples.answers.append(answer)


def _not_tried(sizes: list[Size], engine: str, quads: int, budget: float) -> str:
    """Return why ``engine`` is not run at ``quads`` after ``sizes`` (empty when it is)."""
    if not sizes:
        return ""
    last = sizes[-1]
    samples = last.engines[engine]
    if samples.stopped:
        return "not run: stopped at a smaller size"
    expected = samples.median_s * quads / last.quads
    if expected > budget:
        return f"not run: {samples.median_s:.1f} s at {last.quads:,} quads scales to {expected:.0f} s"
    return ""


def compare(sizes: list[Size], budget: float) -> Comparison | None:
    """Compare the engines at the largest size where both finished; if there is none, see :func:`lower_bound`."""
    both = [size for size in sizes if size.same_results is not None]
    if not both:
        return lower_bound(sizes, budget)
    fast, pyshacl = both[-1].engines["fast"], both[-1].engines["pyshacl"]
    return Comparison(both[-1].quads, fast.median_s, pyshacl.median_s / fast.median_s, False, both[-1].same_results)


def lower_bound(sizes: list[Size], budget: float) -> Comparison | None:
    """Compare the engines at the size where pySHACL was killed, if the fast engine finished there: the budget
    over the fast engine's median is less than the true ratio."""
    for size in sizes:
        fast = size.engines["fast"]
        if fast.finished and size.engines["pyshacl"].stopped.startswith("killed"):
            return Comparison(size.quads, fast.median_s, budget / fast.median_s, True, None)
    return None
