"""The entailment graph: what RDFS and a subset of OWL 2 RL derive from the stored graphs, kept apart.

Once an ontology is linked (:mod:`provml.linking`), a query for an external class or property should find
provml's instances, and a query in PROV terms should find plain ML Schema data. The rules below run as
SPARQL updates, round after round until a round derives nothing new, and write into one named graph
(:attr:`provml.ids.IriMinter.entailed_graph`) only the triples that no graph holds yet. Queries see it in
the union default graph like any graph; ``Store.query(..., entailed=False)`` (``provml query --asserted``)
leaves it out. :func:`refresh` computes it again from scratch: after each link, and after each load
(``provml load``, ``POST /ingest``) into a store that has one (:func:`refresh_if_kept`).

The rules, by their OWL 2 RL names (``x``, ``y`` individuals; ``c``, ``d`` classes; ``p``, ``q`` properties):

- ``scm-sco``, ``scm-spo``: ``rdfs:subClassOf`` and ``rdfs:subPropertyOf`` are transitive;
- ``scm-eqc``, ``scm-eqp``: ``owl:equivalentClass`` / ``owl:equivalentProperty`` is a sub-class /
  sub-property both ways; between classes, ``skos:exactMatch`` counts as an equivalence and
  ``skos:broadMatch`` / ``skos:narrowMatch`` as a sub-class (``closeMatch`` and ``relatedMatch`` entail
  nothing: they are for people);
- ``cax-sco``: an instance of ``c`` is one of each super-class of ``c``;
- ``prp-spo1``: ``x p y`` holds ``x q`` y for each super-property ``q`` of ``p``;
- ``prp-inv1``, ``prp-inv2``: ``owl:inverseOf``; ``prp-symp``: ``owl:SymmetricProperty``;
  ``prp-trp``: ``owl:TransitiveProperty``;
- ``prp-dom``, ``prp-rng``: ``rdfs:domain`` and ``rdfs:range`` type the subject and the (non-literal) object,
  when the class is named (not a union or restriction);
- ``eq-sym``, ``eq-trans``, ``eq-rep-s``, ``eq-rep-o``: ``owl:sameAs`` is symmetric and transitive, and what
  holds of one holds of the other.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from provml.store import Store

_SKOS = "http://www.w3.org/2004/02/skos/core#"
MAX_ROUNDS = 64  # a round derives at least one triple, and each hierarchy level takes about one round
# ?c or ?d names a class: declared one, in a class axiom, or the type of something
_CLASS = " UNION ".join(
    f"{{ {pattern} }}"
    for v in ("?c", "?d")
    for pattern in (f"{v} a owl:Class", f"{v} a rdfs:Class", f"{v} rdfs:subClassOf ?any", f"?any a {v}")
)
# Each rule: (the pattern of what it derives, where from). The schema rules run first, until they derive
# nothing; then the instance rules, where [[...]] marks the premise that must be a triple the last round
# derived (semi-naive evaluation: a round only follows what is new), but in the first round.
_SCHEMA = [
    ("?c rdfs:subClassOf ?e", "?c rdfs:subClassOf ?d . ?d rdfs:subClassOf ?e FILTER(isIRI(?e) && ?c != ?e)"),
    ("?p rdfs:subPropertyOf ?r", "?p rdfs:subPropertyOf ?q . ?q rdfs:subPropertyOf ?r FILTER(isIRI(?r) && ?p != ?r)"),
    (
        "?c rdfs:subClassOf ?d",
        "{ ?c owl:equivalentClass ?d } UNION { ?d owl:equivalentClass ?c } FILTER(isIRI(?c) && isIRI(?d))",
    ),
    (
        "?p rdfs:subPropertyOf ?q",
        "{ ?p owl:equivalentProperty ?q } UNION { ?q owl:equivalentProperty ?p } FILTER(isIRI(?p) && isIRI(?q))",
    ),
    (
        "?c rdfs:subClassOf ?d",
        "{ ?c skos:exactMatch ?d } UNION { ?d skos:exactMatch ?c } UNION { ?c skos:broadMatch ?d } "
        f"UNION {{ ?d skos:narrowMatch ?c }} FILTER(isIRI(?c) && isIRI(?d)) {{ {_CLASS} }}",
    ),
]
_INSTANCE = [
    ("?x a ?d", "[[?x a ?c]] ?c rdfs:subClassOf ?d FILTER(isIRI(?d) && ?c != ?d)"),
    ("?x ?q ?y", "?p rdfs:subPropertyOf ?q . [[?x ?p ?y]] FILTER(isIRI(?q) && ?p != ?q)"),
    (
        "?y ?q ?x",
        "{ ?p owl:inverseOf ?q } UNION { ?q owl:inverseOf ?p } [[?x ?p ?y]] FILTER(isIRI(?q) && !isLiteral(?y))",
    ),
    ("?y ?p ?x", "?p a owl:SymmetricProperty . [[?x ?p ?y]] FILTER(!isLiteral(?y))"),
    ("?x ?p ?z", "?p a owl:TransitiveProperty . [[?x ?p ?y]] ?y ?p ?z FILTER(?x != ?z)"),
    ("?x ?p ?z", "?p a owl:TransitiveProperty . ?x ?p ?y . [[?y ?p ?z]] FILTER(?x != ?z)"),
    ("?x a ?c", "?p rdfs:domain ?c . [[?x ?p ?y]] FILTER(isIRI(?c))"),
    ("?y a ?c", "?p rdfs:range ?c . [[?x ?p ?y]] FILTER(isIRI(?c) && !isLiteral(?y))"),
    ("?y owl:sameAs ?x", "[[?x owl:sameAs ?y]] FILTER(?x != ?y)"),
    ("?x owl:sameAs ?z", "[[?x owl:sameAs ?y]] ?y owl:sameAs ?z FILTER(?x != ?z)"),
    ("?x owl:sameAs ?z", "?x owl:sameAs ?y . [[?y owl:sameAs ?z]] FILTER(?x != ?z)"),
    ("?y ?p ?o", "[[?x owl:sameAs ?y]] ?x ?p ?o FILTER(?x != ?y && ?p != owl:sameAs)"),
    ("?y ?p ?o", "?x owl:sameAs ?y . [[?x ?p ?o]] FILTER(?x != ?y && ?p != owl:sameAs)"),
    ("?s ?p ?y", "[[?x owl:sameAs ?y]] ?s ?p ?x FILTER(?x != ?y && ?p != owl:sameAs)"),
    ("?s ?p ?y", "?x owl:sameAs ?y . [[?s ?p ?x]] FILTER(?x != ?y && ?p != owl:sameAs)"),
]


@dataclass(frozen=True)
class Entailment:
    """What :func:`refresh` did: the triples of the entailment graph, the rounds it took, and its time."""

    graph: str
    triples: int
    rounds: int
    seconds: float


def refresh(store: Store) -> Entailment:
    """Compute the entailment graph of ``store`` again, from the graphs it holds now."""
    started, graph = time.perf_counter(), store.ids.entailed_graph
    store.update(f"DROP SILENT GRAPH <{graph}>")
    triples, rounds = 0, 0
    while rounds < MAX_ROUNDS and (added := sum(store.derive(_construct(*rule), [graph]) for rule in _SCHEMA)):
        triples, rounds = triples + added, rounds + 1
    premise, deltas = r"\1 .", []  # the first instance round follows every triple; the next, the last one's
    while rounds < MAX_ROUNDS:
        rounds += 1
        delta = f"{graph}/round-{rounds}"  # what this round derives, for the next to follow
        added = sum(store.derive(_construct(new, _NEW.sub(premise, where)), [graph, delta]) for new, where in _INSTANCE)
        triples, deltas, premise = triples + added, [*deltas, delta], f"GRAPH <{delta}> {{ \\1 }}"
        if not added:
            break
    store.update(" ; ".join(f"DROP SILENT GRAPH <{delta}>" for delta in deltas))
    return Entailment(graph, triples, rounds, time.perf_counter() - started)


_NEW = re.compile(r"\[\[(.*?)\]\]")


def _construct(derived: str, where: str) -> str:
    return f"PREFIX skos: <{_SKOS}>\nCONSTRUCT {{ {derived} }} WHERE {{ {where} FILTER NOT EXISTS {{ {derived} }} }}"


def refresh_if_kept(store: Store) -> Entailment | None:
    """Compute the entailment graph again if ``store`` keeps one (an ontology was linked); else None."""
    return refresh(store) if store.has_graph(store.ids.entailed_graph) else None
