"""Lineage pictures: the provenance around one resource as Graphviz DOT and SVG.

:func:`trace` walks PROV-O back from an IRI, breadth first, to a bounded depth and number of nodes:
what generated an entity (``prov:wasGeneratedBy``), what it was derived from (``prov:wasDerivedFrom``),
what an activity used (``prov:used``), who ran it (``prov:wasAssociatedWith``) and which activities
informed it (``prov:wasInformedBy``). :func:`to_dot` draws that in the W3C PROV convention (entities as
yellow ellipses, activities as blue boxes, agents as orange houses, arrows pointing back in time) and
:func:`render_svg` runs Graphviz's ``dot`` on it.

Queries go through a :data:`Select` function, so that the same code runs on a store
(:func:`store_select`) and in the server's query workers.

>>> print(dot_string('say "hi" \\\\N & go', "model"))
"say \\"hi\\" \\\\N &amp; go\\nmodel"
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from provml.errors import InputError, RenderError, UnknownResource
from provml.vocab import PROV, PROV_NS, PROVML, PROVML_NS, sparql_prefixes

if TYPE_CHECKING:
    from provml.store import Store

Select = Callable[[str], list[dict[str, str]]]
"""Runs a SPARQL SELECT and returns its rows, each mapping a bound variable to the term's lexical value."""

DEFAULT_DEPTH = 4  # enough to go from a model to the raw data it was made from through derivations
MAX_DEPTH = 12
MAX_NODES = 150
RENDER_TIMEOUT = 10.0  # seconds Graphviz may take

RELATIONS = {  # the PROV-O relations a lineage follows, and the kind of node each leads to
    PROV.wasGeneratedBy: "activity",
    PROV.wasDerivedFrom: "entity",
    PROV.used: "entity",
    PROV.wasAssociatedWith: "agent",
    PROV.wasInformedBy: "activity",
}
_AGENTS = {PROV.Agent, PROV.Person, PROV.SoftwareAgent, PROVML.Persona, PROVML.Software, PROVML.ComputeNode, PROVML.GPU}
_ACTIVITIES = {PROV.Activity, PROVML.Study, PROVML.LearningExperiment}
_GENERAL = {"TaskExecution", "LearningStageExecution", "Dataset"}  # named only when nothing more specific is
_VALUED = {PROVML.HyperparameterSetting, PROVML.DataValue, PROVML.ModelEvaluation, PROVML.DatasetCharacteristic}
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\]*")
_URL_SAFE = "/?=%:#;,+@!$()*-._~"  # no '&': Graphviz 2.43 writes URLs into SVG without escaping them
_STYLES = {  # the W3C PROV graphical convention
    "entity": 'shape=ellipse, fillcolor="#fffc87", color="#808080"',
    "activity": 'shape=box, fillcolor="#9fb1fc", color="#0000ff"',
    "agent": 'shape=house, fillcolor="#fed37f", color="#000000"',
}


@dataclass(frozen=True)
class Node:
    """A resource of a lineage: its IRI, what the picture calls it, its PROV kind and its type in words."""

    iri: str
    name: str
    kind: str  # entity, activity or agent
    type: str = ""  # the most specific provml class, in words: "training execution", "learning dataset"


@dataclass(frozen=True)
class Edge:
    """One PROV-O relation, from the later resource back to the earlier one (``relation`` is its local name)."""

    source: str
    relation: str
    target: str


@dataclass
class Lineage:
    """The nodes (root first) and edges found back from ``root``; ``truncated`` if the node bound cut it."""

    root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False


def trace(select: Select, iri: str, *, depth: int = DEFAULT_DEPTH, max_nodes: int = MAX_NODES) -> Lineage:
    """Return the lineage of ``iri``: everything ``depth`` PROV relations back, at most ``max_nodes`` nodes."""
    root = iri_ref(iri)
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"the depth of a lineage must be from 1 to {MAX_DEPTH}; got {depth}")
    if not select(f"SELECT ?p WHERE {{ {{ {root} ?p ?o }} UNION {{ ?s ?p {root} }} }} LIMIT 1"):
        raise UnknownResource(f"the store has nothing about <{iri}>")
    reached, edges, truncated = {iri: "entity"}, [], False  # IRI -> the kind its relation says it is
    frontier = [iri]
    for _ in range(depth):
        if not frontier:
            break
        limit = 4 * max_nodes
        rows = select(_STEP.format(values=" ".join(map(iri_ref, frontier)), relations=_RELATIONS, limit=limit))
        truncated = truncated or len(rows) >= limit
        frontier = []
        for row in rows:
            target = row["to"]
            if target not in reached:
                if len(reached) >= max_nodes:
                    truncated = True
                    continue
                reached[target] = RELATIONS[row["relation"]]
                frontier.append(target)
            edges.append(Edge(row["from"], row["relation"].removeprefix(PROV_NS), target))
    described = {row["node"]: row for row in select(_DESCRIBE.format(values=" ".join(map(iri_ref, reached))))}
    nodes = {node: _node(node, described.get(node, {}), kind) for node, kind in reached.items()}
    return Lineage(iri, nodes, edges, truncated)


_STEP = """SELECT DISTINCT ?from ?relation ?to WHERE {{
  VALUES ?from {{ {values} }}
  VALUES ?relation {{ {relations} }}
  ?from ?relation ?to .
  FILTER(isIRI(?to))
}} ORDER BY ?from ?relation ?to LIMIT {limit}"""
_RELATIONS = " ".join(f"<{relation}>" for relation in RELATIONS)
_DESCRIBE = (
    sparql_prefixes()
    + """SELECT ?node (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
  (GROUP_CONCAT(DISTINCT ?label; separator="\\n") AS ?labels) (MIN(?id) AS ?source_id) (MIN(STR(?v)) AS ?value)
WHERE {{
  VALUES ?node {{ {values} }}
  OPTIONAL {{ ?node a ?type }}
  OPTIONAL {{ ?node rdfs:label ?label }}
  OPTIONAL {{ ?node provml:sourceId ?id }}
  OPTIONAL {{ ?node provml:value ?v }}
}} GROUP BY ?node"""
)


def _node(iri: str, row: dict[str, str], kind: str) -> Node:
    """Name a node from its description: an activity by its source id, an entity or agent by its label."""
    types = set(row.get("types", "").split())
    if types & _AGENTS:
        kind = "agent"
    elif types & _ACTIVITIES or any(t.startswith(PROVML_NS) and t.endswith("Execution") for t in types):
        kind = "activity"
    elif PROV.Entity in types:
        kind = "entity"
    source_id = row.get("source_id")
    labels = sorted(filter(None, row.get("labels", "").split("\n")))
    label = next((text for text in labels if text != source_id), labels[0] if labels else None)
    name = (source_id or label) if kind == "activity" else (label or source_id)
    name = name or re.split(r"[/#:]", iri.rstrip("/#:"))[-1] or iri
    if "value" in row and types & _VALUED:
        name = f"{name} = {row['value']}"
    return Node(iri, name, kind, _type_words(types))


def _type_words(types: set[str]) -> str:
    """The most specific provml class of ``types`` in words: ``TrainingExecution`` -> ``training execution``."""
    names = sorted(t.removeprefix(PROVML_NS) for t in types if t.startswith(PROVML_NS))
    specific = [name for name in names if name not in _GENERAL] or names
    if not specific:
        return ""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+", specific[0])
    return " ".join(word if word.isupper() and len(word) > 1 else word.lower() for word in words)


def iri_ref(iri: str) -> str:
    """Return ``iri`` as a SPARQL IRI reference, or raise :class:`InputError` if it is not an absolute IRI.

    >>> iri_ref("urn:provml:model/unet-003")
    '<urn:provml:model/unet-003>'
    """
    if not _IRI.fullmatch(iri):
        raise InputError(f"not an absolute IRI: {iri!r}")
    return f"<{iri}>"


def dot_string(*lines: str) -> str:
    """Return ``lines`` as a quoted DOT string that Graphviz draws as written (no escapes, no entities)."""
    return '"' + "\\n".join(map(_dot_text, lines)) + '"'


def _dot_text(text: str) -> str:
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")


def to_dot(lineage: Lineage, *, href: Callable[[Node], str | None] | None = None, width: int = 40) -> str:
    """Return the DOT text of ``lineage``; ``href`` gives the link of a node (or None), names are cut at ``width``."""
    ids = {iri: f"n{number}" for number, iri in enumerate(lineage.nodes)}
    lines = [
        "digraph lineage {",
        '  graph [rankdir=RL, bgcolor="transparent", fontname="Helvetica", fontsize=10, nodesep=0.2, ranksep=0.35];',
        '  node [style=filled, fontname="Helvetica", fontsize=10, margin="0.1,0.04"];',
        '  edge [fontname="Helvetica", fontsize=8, color="#606060", fontcolor="#404040"];',
    ]
    for iri, node in lineage.nodes.items():
        name = node.name if len(node.name) <= width else node.name[: width - 1] + "…"
        label = dot_string(name, node.type) if node.type else dot_string(name)
        attributes = [f"label={label}", f"tooltip={dot_string(iri)}", _STYLES[node.kind]]
        if iri == lineage.root:
            attributes.append("penwidth=2.5")
        if href is not None and (url := href(node)):
            attributes.append(f'URL={dot_string(quote(url, safe=_URL_SAFE))}, target="_top"')
        lines.append(f"  {ids[iri]} [{', '.join(attributes)}];")
    for edge in lineage.edges:
        lines.append(f"  {ids[edge.source]} -> {ids[edge.target]} [label={dot_string(edge.relation)}];")
    if lineage.truncated:
        note = f"Only the first {len(lineage.nodes)} nodes are drawn: ask for less depth, or start from one of them."
        lines.append(f"  label={dot_string(note)}; labelloc=b;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str, *, timeout: float = RENDER_TIMEOUT) -> bytes:
    """Return the SVG Graphviz's ``dot`` draws of ``dot``, or raise :class:`RenderError`."""
    try:
        done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise RenderError("lineage pictures need Graphviz's dot command: install Graphviz") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took more than {timeout:g} s to draw the lineage; ask for less depth") from None
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"Graphviz could not draw the lineage: {problem[-1] if problem else done.returncode}")
    return done.stdout


def store_select(store: Store) -> Select:
    """Return a :data:`Select` running on ``store`` (in this process: the server runs queries elsewhere)."""

    def select(sparql: str) -> list[dict[str, str]]:
        result = store.query(sparql)
        return [{v: t.value for v, t in zip(result.variables, row, strict=True) if t is not None} for row in result]

    return select
