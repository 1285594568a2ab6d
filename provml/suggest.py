"""Suggest mappings between a user's ontology and PROV-ML (with PROV-O and ML Schema), by label similarity.

For review, never linked as they are: each class or property of the user's ontologies is compared with those
of the same kind in provml's ontologies, by their labels (``rdfs:label``, ``skos:prefLabel``, and the local
name, split at case changes, ``_`` and ``-``), and the best candidates over a score are written as
``skos:closeMatch`` statements, which entail nothing. A reviewer edits each into ``skos:exactMatch``,
``skos:broadMatch``, ``owl:equivalentClass`` or ``rdfs:subClassOf`` (or deletes it) and links the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from provml.linking import Ontology, ontology_ntriples, shipped
from provml.store import Store

MIN_SCORE = 0.8  # similarity (0 to 1) a candidate must reach
PER_TERM = 3  # candidates kept per term, best first
_TERMS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?graph ?term ?kind ?label WHERE {
  GRAPH ?graph { ?term a ?type }
  VALUES (?type ?kind) { (owl:Class "class") (rdfs:Class "class") (owl:ObjectProperty "property")
                         (owl:DatatypeProperty "property") (rdf:Property "property") }
  OPTIONAL { GRAPH ?graph { { ?term rdfs:label ?label } UNION { ?term skos:prefLabel ?label } }
             FILTER(LANGMATCHES(LANG(?label), "en") || LANG(?label) = "") }
  FILTER(isIRI(?term))
}"""
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-\s]+")


@dataclass(frozen=True)
class Suggestion:
    """A candidate mapping: the user's term, provml's term, their kind (class or property) and the score."""

    term: str
    target: str
    kind: str
    score: float
    labels: tuple[str, str]  # the two labels that matched best


def suggest(ontologies: Sequence[Ontology], *, min_score: float = MIN_SCORE) -> list[Suggestion]:
    """Return the candidate mappings of the terms of ``ontologies`` to provml's terms, by term, best first."""
    memory = Store()
    for ontology in [*ontologies, *shipped()]:
        memory.add_rdf(ontology_ntriples(ontology), "ntriples", graph=ontology.iri)
    theirs, ours = _labels(memory, {o.iri for o in ontologies})
    found = []
    for (term, kind), labels in sorted(theirs.items()):
        scored = sorted(
            (
                (score, target, pair)
                for (target, target_kind), target_labels in ours.items()
                if target_kind == kind and target != term
                for score, pair in [_best(labels, target_labels)]
                if score >= min_score
            ),
            key=lambda candidate: (-candidate[0], candidate[1]),
        )
        found += [Suggestion(term, target, kind, round(score, 3), pair) for score, target, pair in scored[:PER_TERM]]
    return found


def as_turtle(suggestions: Iterable[Suggestion]) -> str:
    """The suggestions as a Turtle mapping file to review: one ``skos:closeMatch`` each, its score in a comment."""
    lines = [
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "# Suggested by `provml link --suggest`, for review: make each an exactMatch, broadMatch, equivalentClass",
        "# or subClassOf (or delete it), then link this file with `provml link`. closeMatch entails nothing.",
        "",
    ]
    for s in suggestions:
        lines.append(f'# {s.kind}, score {s.score:.2f}: "{s.labels[0]}" ~ "{s.labels[1]}"')
        lines.append(f"<{s.term}> skos:closeMatch <{s.target}> .")
    return "\n".join(lines) + "\n"


def _labels(store: Store, theirs: set[str]) -> tuple[dict[tuple[str, str], set[str]], dict[tuple[str, str], set[str]]]:
    """The normalised labels of each (term, kind) of the user's graphs, and of provml's."""
    user: dict[tuple[str, str], set[str]] = {}
    provml: dict[tuple[str, str], set[str]] = {}
    for graph, term, kind, label in store.query(_TERMS):
        if graph is None or term is None or kind is None:  # (never: the pattern binds them)
            continue
        side = user if graph.value in theirs else provml
        names = side.setdefault((term.value, kind.value), {_normal(re.split(r"[#/]", term.value)[-1])})
        if label is not None:
            names.add(_normal(label.value))
    return user, provml


def _normal(text: str) -> str:
    """Lower case words, split at case changes, ``_``, ``-`` and spaces: ``TrainingRun`` -> ``training run``."""
    return " ".join(word.lower() for word in _WORD_BREAK.split(text.strip()) if word)


def _best(labels: set[str], others: set[str]) -> tuple[float, tuple[str, str]]:
    """The highest similarity between a label of one term and a label of the other, and those labels."""
    pairs = [(a, b) for a in labels for b in others if a and b]
    return max(((SequenceMatcher(None, a, b).ratio(), (a, b)) for a, b in pairs), default=(0.0, ("", "")))
