"""Validation reports: what an engine found, as text for people, Turtle (``sh:ValidationReport``) or JSON.

https://www.w3.org/TR/shacl/#validation-report

>>> from provml.store import Term
>>> result = ValidationResult(
...     focus=Term("iri", "urn:run"), component=SH + "MinCountConstraintComponent", shape="urn:RunShape",
...     severity=SH + "Violation", message="a run needs a start time", path=Path.predicate("urn:started"))
>>> report = ValidationReport([result], engine="fast")
>>> report.conforms, report.counts()
(False, {'Violation': 1})
>>> print(report.text())
Does not conform: 1 violation (engine: fast)
<BLANKLINE>
Violation: <urn:RunShape>, sh:MinCountConstraintComponent (1 result)
  <urn:run> path <urn:started>: a run needs a start time
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from provml import vocab
from provml.store import Term
from provml.validation.paths import SH, Path
from provml.vocab import PREFIXES

SEVERITIES = ("Violation", "Warning", "Info")
_COMPACT = {**PREFIXES, "sh": SH, "provml-sh": "https://w3id.org/provml/shapes#"}


@dataclass(frozen=True)
class ValidationResult:
    """One result: a focus node that does not meet a constraint of a shape."""

    focus: Term
    component: str  # the constraint component's IRI, e.g. sh:MinCountConstraintComponent
    shape: str  # the source shape: an IRI, or ``_:label`` for a blank node
    severity: str  # sh:Violation, sh:Warning or sh:Info (IRI)
    message: str
    path: Path | None = None
    value: Term | None = None
    constraint: str | None = None  # sh:sourceConstraint, for SPARQL-based constraints

    def key(self) -> tuple[Term, str | None, str]:
        """Return what two engines must agree on: focus node, path and constraint component."""
        return (self.focus, None if self.path is None else self.path.sparql(), self.component)

    def as_json(self) -> dict[str, Any]:
        """Return the result as a JSON object (terms as N-Triples-like text)."""
        return {
            "focus": render(self.focus),
            "path": None if self.path is None else self.path.sparql(),
            "value": None if self.value is None else render(self.value),
            "component": self.component,
            "shape": self.shape,
            "severity": self.severity,
            "message": self.message,
            **({"constraint": self.constraint} if self.constraint else {}),
        }


@dataclass
class ValidationReport:
    """What validation found: results (none when the data conforms), by which engine, with notes such as
    which shapes were handed to pySHACL."""

    results: list[ValidationResult]
    engine: str
    notes: list[str] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        """True when there is no result at all (SHACL: a warning makes data non-conforming too)."""
        return not self.results

    @property
    def violations(self) -> list[ValidationResult]:
        """Return the results of severity sh:Violation."""
        return [r for r in self.results if r.severity == SH + "Violation"]

    def counts(self) -> dict[str, int]:
        """Return the number of results by severity (Violation, Warning, Info)."""
        counted = Counter(r.severity.removeprefix(SH) for r in self.results)
        return {name: counted[name] for name in SEVERITIES if counted[name]} | {
            name: n for name, n in counted.items() if name not in SEVERITIES
        }

    def summary(self) -> str:
        """Return one line: whether the data conforms, and how many results of each severity."""
        if self.conforms:
            return f"Conforms (engine: {self.engine})"
        parts = [f"{n} {name.lower()}{'s' if n != 1 else ''}" for name, n in self.counts().items()]
        return f"Does not conform: {', '.join(parts)} (engine: {self.engine})"

    def text(self, *, limit: int | None = None) -> str:
        """Return a readable report grouped by shape and constraint; ``limit`` results shown per group."""
        lines = [self.summary(), *(f"note: {note}" for note in self.notes)]
        groups: dict[tuple[str, str, str], list[ValidationResult]] = {}
        for result in sorted(self.results, key=_order):
            groups.setdefault((result.severity, result.shape, result.component), []).append(result)
        for (severity, shape, component), results in groups.items():
            count = f"{len(results)} result{'s' if len(results) != 1 else ''}"
            lines += ["", f"{compact(severity)}: {compact(shape)}, {compact(component)} ({count})"]
            for result in results[:limit]:
                where = render(result.focus)
                if result.path is not None:
                    where += f" path {compact_path(result.path)}"
                if result.value is not None:
                    where += f" value {render(result.value)}"
                lines.append(f"  {where}: {result.message}")
            if limit is not None and len(results) > limit:
                lines.append(f"  ... and {len(results) - limit} more (see --format json or turtle for all)")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """Return the report as a JSON object."""
        return {
            "conforms": self.conforms,
            "engine": self.engine,
            "counts": self.counts(),
            "notes": self.notes,
            "results": [result.as_json() for result in sorted(self.results, key=_order)],
        }

    def json(self) -> str:
        """Return the report as JSON text."""
        return json.dumps(self.as_json(), indent=2, ensure_ascii=False)

    def turtle(self, *, limit: int | None = None) -> str:
        """Return the report as a SHACL validation report graph in Turtle (its first ``limit`` results)."""
        lines = [
            f"@prefix sh: <{SH}> .",
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
            "",
            "[] a sh:ValidationReport ;",
            f'    sh:conforms "{str(self.conforms).lower()}"^^xsd:boolean',
        ]
        for result in sorted(self.results, key=_order)[:limit]:
            lines[-1] += " ;"
            lines += ["    sh:result [", "        a sh:ValidationResult ;", *_result_turtle(result), "    ]"]
        lines[-1] += " ."
        return "\n".join(lines) + "\n"


def _result_turtle(result: ValidationResult) -> Iterable[str]:
    yield f"        sh:focusNode {render(result.focus)} ;"
    if result.path is not None:
        yield f"        sh:resultPath {result.path.turtle()} ;"
    if result.value is not None:
        yield f"        sh:value {render(result.value)} ;"
    yield f"        sh:sourceShape {_node(result.shape)} ;"
    if result.constraint is not None:
        yield f"        sh:sourceConstraint {_node(result.constraint)} ;"
    yield f"        sh:sourceConstraintComponent <{result.component}> ;"
    yield f"        sh:resultSeverity <{result.severity}> ;"
    yield f"        sh:resultMessage {json.dumps(result.message, ensure_ascii=False)}"


def _order(result: ValidationResult) -> tuple[Any, ...]:
    severity = result.severity.removeprefix(SH)
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
    return (rank, result.shape, result.component, result.focus.value, str(result.path), str(result.value))


def _node(name: str) -> str:
    return name if name.startswith("_:") else f"<{name}>"


def render(term: Term) -> str:
    """Return a term as N-Triples text: ``<iri>``, ``_:b``, ``"text"@en`` or ``"1"^^<datatype>``.

    >>> render(Term("literal", "1", "http://www.w3.org/2001/XMLSchema#integer"))
    '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'
    """
    if term.kind == "iri":
        return f"<{term.value}>"
    if term.kind == "bnode":
        return f"_:{term.value}"
    if term.kind != "literal":
        return term.value
    text = json.dumps(term.value, ensure_ascii=False)
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype and term.datatype != PREFIXES["xsd"] + "string":
        return f"{text}^^<{term.datatype}>"
    return text


def compact(iri: str) -> str:
    """Return an IRI as ``prefix:local`` when a known prefix fits, else ``<iri>`` (blank nodes as they are).

    >>> compact("http://www.w3.org/ns/shacl#Violation")
    'Violation'
    >>> compact("https://w3id.org/provml#Model")
    'provml:Model'
    """
    if iri.startswith("_:"):
        return iri
    if iri.startswith(SH) and iri.removeprefix(SH) in SEVERITIES:
        return iri.removeprefix(SH)
    return vocab.compact(iri, _COMPACT)


def compact_path(path: Path) -> str:
    """Return a path in SPARQL syntax with compact IRIs."""
    if path.kind == "predicate":
        return compact(path.iri or "")
    return path.sparql()  # complex paths keep full IRIs: rare, and unambiguous
