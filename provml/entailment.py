"""The entailment graph: what RDFS and a subset of OWL 2 RL derive from the stored graphs, kept apart.

Once an ontology is linked (:mod:`provml.linking`), a query for an external class or property should find
provml's instances, and a query in PROV terms should find plain ML Schema data. The rules below run as
SPARQL updates, round after round until a round derives nothing new, and write into one named graph
(:attr:`provml.ids.IriMinter.entailed_graph`) only the triples that no graph holds yet. Queries see it in
the union default graph like any graph; ``Store.query(..., entailed=False)`` (``provml query --asserted``)
leaves it out.

It follows the changes of the store through marks the store writes in its catalog, in the transaction of
the change (``provml:awaitsEntailment``): a dump added or replaced, a dump removed. :func:`refresh_if_kept`
reads them, after each load (``provml load``, ``provml consume``, ``POST /ingest``) and drop: when every
mark is of a dump added, :func:`extend` derives only what the new dumps entail (their graphs, the catalog
and the shared graph hold the first round's new triples); otherwise, and when the new dumps state schema
(a sub-class, a domain...) or the schema rules derive something new, :func:`refresh` computes it all again,
as after each link and each write of the server that is not a load. A process killed before it brought the
entailment graph up to date leaves the marks for the next one.

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
from collections.abc import Sequence
from dataclasses import dataclass

from provml.store import ADDED, Store
from provml.vocab import PROVML

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


# what, stated in a new graph, changes what the instance rules follow: then everything is derived again
_SCHEMA_PREDICATES = (
    "rdfs:subClassOf rdfs:subPropertyOf owl:equivalentClass owl:equivalentProperty owl:inverseOf rdfs:domain "
    "rdfs:range skos:exactMatch skos:broadMatch skos:narrowMatch"
)
_SCHEMA_TYPES = "owl:SymmetricProperty owl:TransitiveProperty"


@dataclass(frozen=True)
class Entailment:
    """What :func:`refresh` or :func:`extend` did: the triples it derived, the rounds it took, its time, and
    whether it computed the whole entailment graph again (``full``) or added what new graphs entail."""

    graph: str
    triples: int
    rounds: int
    seconds: float
    full: bool = True


def refresh(store: Store) -> Entailment:
    """Compute the entailment graph of ``store`` again, from the graphs it holds now."""
    started, graph = time.perf_counter(), store.ids.entailed_graph
    mark = f'<{graph}> <{PROVML.awaitsEntailment}> "{_WHOLE}"'  # a refresh cut short is done again by the next
    store.update(f"INSERT DATA {{ GRAPH <{store.ids.catalog_graph}> {{ {mark} }} }} ; DROP SILENT GRAPH <{graph}>")
    triples, rounds = _schema_rounds(store)
    derived, rounds = _instance_rounds(store, r"\1 .", rounds)  # the first round follows every triple
    _clear_marks(store)
    return Entailment(graph, triples + derived, rounds, time.perf_counter() - started)


def extend(store: Store, graphs: Sequence[str]) -> Entailment:
    """Add to the entailment graph of ``store`` what the named ``graphs``, new since it was computed, entail;
    compute it all again (:func:`refresh`) if they state schema, or bring new schema entailments."""
    started = time.perf_counter()
    if not graphs:
        return Entailment(store.ids.entailed_graph, 0, 0, 0.0, full=False)
    new = " ".join(f"<{graph}>" for graph in graphs)
    states_schema = f"""ASK {{ VALUES ?g {{ {new} }} GRAPH ?g {{
        {{ VALUES ?p {{ {_SCHEMA_PREDICATES} }} ?s ?p ?o }} UNION {{ VALUES ?t {{ {_SCHEMA_TYPES} }} ?s a ?t }} }} }}"""
    if store.query(f"PREFIX skos: <{_SKOS}>\n{states_schema}") or _schema_rounds(store)[0]:
        return refresh(store)
    in_new_graphs = " UNION ".join(f"{{ GRAPH <{graph}> {{ \\1 }} }}" for graph in graphs)  # 3x faster than VALUES
    derived, rounds = _instance_rounds(store, in_new_graphs, 0)
    return Entailment(store.ids.entailed_graph, derived, rounds, time.perf_counter() - started, full=False)


def _schema_rounds(store: Store) -> tuple[int, int]:
    """Run the schema rules until they derive nothing; return the triples derived and the rounds run."""
    triples, rounds = 0, 0
    graphs = [store.ids.entailed_graph]
    while rounds < MAX_ROUNDS and (added := sum(store.derive(_construct(*rule), graphs) for rule in _SCHEMA)):
        triples, rounds = triples + added, rounds + 1
    return triples, rounds


def _instance_rounds(store: Store, premise: str, rounds: int) -> tuple[int, int]:
    """Run the instance rules, the first round's marked premise written as ``premise`` (``\\1`` the triple
    pattern), until a round derives nothing; return the triples derived and the rounds counted so far."""
    graph, triples, deltas = store.ids.entailed_graph, 0, []
    while rounds < MAX_ROUNDS:
        rounds += 1
        delta = f"{graph}/round-{rounds}"  # what this round derives, for the next to follow
        added = sum(store.derive(_construct(new, _NEW.sub(premise, where)), [graph, delta]) for new, where in _INSTANCE)
        triples, deltas, premise = triples + added, [*deltas, delta], f"GRAPH <{delta}> {{ \\1 }}"
        if not added:
            break
    store.update(" ; ".join(f"DROP SILENT GRAPH <{delta}>" for delta in deltas))
    return triples, rounds


_NEW = re.compile(r"\[\[(.*?)\]\]")


def _construct(derived: str, where: str) -> str:
    return f"PREFIX skos: <{_SKOS}>\nCONSTRUCT {{ {derived} }} WHERE {{ {where} FILTER NOT EXISTS {{ {derived} }} }}"


def refresh_if_kept(store: Store, *, whole: bool = False) -> Entailment | None:
    """Bring the entailment graph up to date if ``store`` keeps one (an ontology was linked); else None.

    When every change marked since it was last brought up to date is a dump added, only what they add is
    derived (:func:`extend`); otherwise, or with ``whole`` (after a write the store does not mark: a SPARQL
    update, a Graph Store write), it is all computed again (:func:`refresh`).
    """
    if not store.has_graph(store.ids.entailed_graph):
        return None
    marks = _marks(store)
    if whole or any(why != ADDED for why in marks.values()):
        return refresh(store)
    graphs = {graph for dump in marks for graph in (dump, *_named_graphs(store, dump))}
    if marks:  # the catalog describes the new dumps; the shared graph may have grown
        graphs |= {store.ids.catalog_graph, store.ids.shared_graph}
    entailment = extend(store, sorted(graphs))
    if entailment.full is False:  # a refresh clears the marks itself
        _clear_marks(store)
    return entailment


_WHOLE = "whole"  # the mark of a refresh under way


def _marks(store: Store) -> dict[str, str]:
    """The changes the entailment graph does not hold yet: the marked node (a dump, or the entailment graph)
    and why (:data:`provml.store.ADDED`...)."""
    return {node.value: why.value for node, why in store.query(f"SELECT ?node ?why WHERE {{ {_marked(store)} }}")}


def _clear_marks(store: Store) -> None:
    store.update(f"DELETE WHERE {{ {_marked(store)} }}")


def _marked(store: Store) -> str:
    return f"GRAPH <{store.ids.catalog_graph}> {{ ?node <{PROVML.awaitsEntailment}> ?why }}"


def _named_graphs(store: Store, dump: str) -> tuple[str, ...]:
    """The graphs a dump's input named itself (its PROV bundles...)."""
    info = store.dump(dump)
    return info.graphs if info is not None else ()
