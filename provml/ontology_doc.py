"""Generate the documentation of the PROV-ML ontology: ``docs/ontology.md`` and ``docs/ontology.svg``.

Run ``python -m provml.ontology_doc docs/`` after editing ``ontology/provml.ttl``; a test checks
that the committed ``docs/ontology.md`` is up to date. Output is deterministic (everything sorted).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from provml.errors import ProvmlError
from provml.resources import ontology_file
from provml.vocab import MLS_NS, PROV_NS, PROVML_NS, XSD_NS

PROV = Namespace(PROV_NS)
MLS = Namespace(MLS_NS)
ONTOLOGY = URIRef("https://w3id.org/provml")
IBM_PAGE = URIRef("https://researcher.watson.ibm.com/researcher/view_group_subpage.php?id=10175")
PROVLAKE = URIRef("https://github.com/IBM/multi-data-lineage-capture-py")

_CURIES = {"provml": PROVML_NS, "prov": PROV_NS, "mls": MLS_NS, "xsd": XSD_NS}

# A provml class belongs to the first group whose roots it reaches through rdfs:subClassOf*;
# prov:Plan and ML Schema's specification classes make a class prospective.
_GROUP_ROOTS: dict[str, frozenset[URIRef]] = {
    "agents": frozenset({PROV.Agent}),
    "bookkeeping": frozenset({PROV.Bundle}),
    "prospective": frozenset({PROV.Plan, MLS.Task, MLS.HyperParameter, MLS.EvaluationMeasure}),
    "executions": frozenset({PROV.Activity}),
    "entities": frozenset({PROV.Entity}),
}
# Diagram clusters, top to bottom: (group, title, fill colour, font colour). Light = prospective,
# dark = retrospective, as on the PROV-ML page.
_CLUSTERS = (
    ("prospective", "prospective provenance: plans and specifications", "#dbe8fb", "black"),
    ("executions", "retrospective provenance: executions", "#2f5f98", "white"),
    ("entities", "retrospective provenance: data, models and values", "#2f5f98", "white"),
    ("agents", "agents", "#f6d7a7", "black"),
    ("bookkeeping", "bookkeeping", "#e5e5e5", "black"),
)
_EXTERNAL_CLUSTERS = (("prov", "PROV-O", "#fff2a8"), ("mls", "ML Schema", "#cdebc5"))


def _curie(iri: URIRef) -> str:
    for prefix, ns in _CURIES.items():
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return f"<{iri}>"


def ontology_graph() -> Graph:
    """Return provml.ttl and the ontologies it imports (PROV-O, ML Schema) as one rdflib graph."""
    graph = Graph()
    for name in ("provml.ttl", "prov-o.ttl", "mls.ttl"):
        graph.parse(ontology_file(name), format="turtle")
    return graph


def _terms(graph: Graph, kind: URIRef) -> list[URIRef]:
    subjects = graph.subjects(RDF.type, kind)
    return sorted(s for s in subjects if isinstance(s, URIRef) and s.startswith(PROVML_NS))


def _named(graph: Graph, subject: URIRef, predicate: URIRef) -> list[URIRef]:
    return sorted(o for o in graph.objects(subject, predicate) if isinstance(o, URIRef))


def _text(graph: Graph, subject: URIRef, predicate: URIRef) -> str:
    objects = graph.objects(subject, predicate)
    texts = sorted(str(o) for o in objects if isinstance(o, Literal) and o.language == "en")
    return texts[0] if texts else ""


def _group(graph: Graph, cls: URIRef) -> str:
    ancestors = set(graph.transitive_objects(cls, RDFS.subClassOf))
    return next(name for name, roots in _GROUP_ROOTS.items() if ancestors & roots)


def _aligned(graph: Graph, cls: URIRef, namespace: str) -> list[URIRef]:
    """Classes of ``namespace`` that ``cls`` reaches through provml classes only."""
    found: set[URIRef] = set()
    todo = [cls]
    while todo:
        for parent in _named(graph, todo.pop(), RDFS.subClassOf):
            if parent.startswith(PROVML_NS):
                todo.append(parent)
            elif parent.startswith(namespace):
                found.add(parent)
    return sorted(found)


def class_diagram_dot() -> str:
    """Return the Graphviz DOT text of the provml classes, their parents and object properties.

    PROV-O classes are on the left, the provml classes in the middle (grouped into prospective,
    retrospective, agents and bookkeeping) and the ML Schema classes on the right.
    """
    graph = ontology_graph()
    classes = _terms(graph, OWL.Class)
    lines = [
        "digraph provml {",
        '  graph [rankdir=LR, nodesep=0.15, ranksep=0.45, fontname="Helvetica", fontsize=12,'
        ' labelloc=t, forcelabels=true, label="PROV-ML classes (provml). Solid arrows:'
        ' rdfs:subClassOf; dashed: object property from domain to range"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, height=0.3];',
        '  edge [fontname="Helvetica", fontsize=8, arrowhead=onormal];',
    ]
    external: set[URIRef] = set()
    edges: list[str] = []
    for cls in classes:
        for parent in _named(graph, cls, RDFS.subClassOf):
            if parent.startswith(MLS_NS):
                edges.append(f'  "{_curie(cls)}" -> "{_curie(parent)}";')
            else:
                edges.append(f'  "{_curie(parent)}" -> "{_curie(cls)}" [dir=back, arrowtail=onormal];')
            external.add(parent)
    for prop in _terms(graph, OWL.ObjectProperty):
        for domain in _named(graph, prop, RDFS.domain):
            for range_ in _named(graph, prop, RDFS.range):
                edges.append(
                    f'  "{_curie(domain)}" -> "{_curie(range_)}" [xlabel="{prop[len(PROVML_NS) :]}",'
                    ' style=dashed, color="#777777", fontcolor="#444444", arrowhead=vee, constraint=false];'
                )
                external.update((domain, range_))
    for group, title, fill, font in _CLUSTERS:
        lines.append(f'  subgraph cluster_{group} {{ label="{title}"; style="rounded"; color=gray60;')
        lines += [
            f'    "{_curie(c)}" [label="{c[len(PROVML_NS) :]}", fillcolor="{fill}", fontcolor="{font}"];'
            for c in classes
            if _group(graph, c) == group
        ]
        lines.append("  }")
    for prefix, title, fill in _EXTERNAL_CLUSTERS:
        members = sorted(c for c in external if c.startswith(_CURIES[prefix]))
        lines.append(f'  subgraph cluster_{prefix} {{ label="{title}"; style="rounded,dashed"; color=gray60;')
        lines += [f'    "{_curie(c)}" [fillcolor="{fill}"];' for c in members]
        lines.append("  }")
    return "\n".join([*lines, *sorted(edges), "}", ""])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows),
        "",
    ]


def _curies(iris: list[URIRef]) -> str:
    return ", ".join(f"`{_curie(i)}`" for i in iris)


def _super_properties(graph: Graph, prop: URIRef) -> str:
    parts = [f"`{_curie(i)}`" for i in _named(graph, prop, RDFS.subPropertyOf)]
    parts += [f"inverse of `{_curie(i)}`" for i in _named(graph, prop, OWL.inverseOf)]
    return ", ".join(parts)


def markdown() -> str:
    """Return the full text of ``docs/ontology.md``."""
    graph = ontology_graph()
    classes = _terms(graph, OWL.Class)
    version = str(graph.value(ONTOLOGY, OWL.versionInfo))
    sources = {
        src: [t for t in sorted(set(graph.subjects(DCTERMS.source, src))) if t.startswith(PROVML_NS)]
        for src in (IBM_PAGE, PROVLAKE)
    }
    lines = [
        f"# The PROV-ML ontology (provml {version})",
        "",
        "<!-- Generated from ontology/provml.ttl by `python -m provml.ontology_doc docs/`. Do not edit. -->",
        "",
        f"Namespace `{PROVML_NS}` (prefix `provml:`), ontology IRI `{ONTOLOGY}`, version IRI "
        f"`{graph.value(ONTOLOGY, OWL.versionIRI)}`. It imports PROV-O (`http://www.w3.org/ns/prov-o#`) "
        "and ML Schema (`http://www.w3.org/ns/mls#`), read from local copies in `ontology/`.",
        "",
        "PROV-ML describes the provenance of machine-learning workflows across the lifecycle: data "
        "curation (raw data to domain data), learning data preparation (domain data to learning data) "
        "and learning (training, validation and evaluation of models), plus deployment and inference.",
        "",
        "## Prospective and retrospective provenance",
        "",
        "*Prospective* provenance is what was planned: workflows, tasks and learning stages "
        "(`prov:Plan`), algorithms, implementations and model designs, and the specifications of "
        "ML Schema (learning tasks, hyperparameters, evaluation measures). *Retrospective* provenance "
        "is what happened: studies, experiments and executions (`prov:Activity`), and the datasets, "
        "models, hyperparameter settings, metric values and telemetry they used or generated "
        "(`prov:Entity`). `provml:executionOf` links an execution to its plan. Personas, software, "
        "compute nodes and GPUs are `prov:Agent`s; a `provml:Dump` is the `prov:Bundle` of one loaded "
        "source.",
        "",
        "## Alignment with PROV-O and ML Schema",
        "",
        "Every provml class is a subclass of a PROV-O class, so generic PROV tools and queries see "
        "activities, entities and agents. Where ML Schema has a counterpart, the class is also a "
        "subclass of it (table below): studies, experiments and learning-stage executions are ML "
        "Schema processes (`mls:Study`, `mls:Experiment`, `mls:Run`), the others ML Schema information "
        "entities or qualities. ML Schema itself has no PROV-O alignment; the two sides fit "
        "because PROV-O's activities and entities are disjoint just like ML Schema's processes and "
        "information entities, and HermiT finds the merged ontology consistent and coherent.",
        "",
        *_table(
            ["provml class", "PROV-O", "ML Schema"],
            [
                [f"`{_curie(c)}`", _curies(_aligned(graph, c, PROV_NS)), _curies(_aligned(graph, c, MLS_NS))]
                for c in classes
                if _aligned(graph, c, MLS_NS)
            ],
        ),
        "![PROV-ML classes](ontology.svg)",
        "",
        "In the diagram, light blue classes are prospective, dark blue classes retrospective; PROV-O "
        "classes are yellow and ML Schema classes green.",
        "",
        "## Origin of the terms",
        "",
        f"From the [PROV-ML page of IBM Research]({IBM_PAGE}): {_curies(sources[IBM_PAGE])}.",
        "",
        f"From the [ProvLake base data model]({PROVLAKE}) that PROV-ML specialises: {_curies(sources[PROVLAKE])}.",
        "",
        "All other terms are provml extensions (they have no `dcterms:source`).",
        "",
        "## Classes",
        "",
        *_table(
            ["term", "label", "parents", "comment"],
            [
                [
                    f"`{_curie(c)}`",
                    _text(graph, c, RDFS.label),
                    _curies(_named(graph, c, RDFS.subClassOf)),
                    _text(graph, c, RDFS.comment),
                ]
                for c in classes
            ],
        ),
        "## Object properties",
        "",
        *_table(
            ["term", "label", "super-properties", "domain", "range", "comment"],
            [
                [
                    f"`{_curie(p)}`",
                    _text(graph, p, RDFS.label),
                    _super_properties(graph, p),
                    _curies(_named(graph, p, RDFS.domain)),
                    _curies(_named(graph, p, RDFS.range)),
                    _text(graph, p, RDFS.comment),
                ]
                for p in _terms(graph, OWL.ObjectProperty)
            ],
        ),
        "## Datatype properties",
        "",
        *_table(
            ["term", "label", "range", "comment"],
            [
                [
                    f"`{_curie(p)}`",
                    _text(graph, p, RDFS.label),
                    _curies(_named(graph, p, RDFS.range)),
                    _text(graph, p, RDFS.comment),
                ]
                for p in _terms(graph, OWL.DatatypeProperty)
            ],
        ),
    ]
    return "\n".join(lines)


def render_svg(dot: str) -> bytes:
    """Render DOT text to SVG with Graphviz's ``dot`` command."""
    try:
        return subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True).stdout
    except FileNotFoundError as exc:
        raise ProvmlError("Graphviz 'dot' was not found on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise ProvmlError(f"dot failed: {exc.stderr.decode(errors='replace').strip()}") from exc


def main(argv: list[str] | None = None) -> None:
    """Write ontology.md and ontology.svg into the directory given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m provml.ontology_doc DOCS_DIR")
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    (out / "ontology.md").write_text(markdown(), encoding="utf-8")
    (out / "ontology.svg").write_bytes(render_svg(class_diagram_dot()))


if __name__ == "__main__":
    main()
