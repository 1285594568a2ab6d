"""Other SPARQL endpoints: which ones provml may reach (an allow-list), and what it fetches from them.

``provml link --endpoint URL`` asks an allow-listed endpoint, through SPARQLWrapper, for the labels and
definitions of the IRIs the store refers to but does not describe (domain concepts, the terms of mapping
statements), and keeps them in a cache graph of that endpoint, which each fetch replaces whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from provml.errors import RemoteAccessError
from provml.ids import segment
from provml.store import Store

ALLOW_ENV = "PROVML_ALLOW_REMOTE"  # endpoints provml may reach, separated by spaces or commas
BATCH = 200  # IRIs per request
TIMEOUT_S = 60  # per request
_UNDESCRIBED = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT DISTINCT ?iri WHERE {
  { ?thing provml:domainConcept ?iri }
  UNION { ?a ?mapping ?iri VALUES ?mapping { owl:equivalentClass owl:equivalentProperty owl:sameAs
          skos:exactMatch skos:closeMatch skos:broadMatch skos:narrowMatch skos:relatedMatch } }
  FILTER(isIRI(?iri))
  FILTER NOT EXISTS { GRAPH ?described { ?iri rdfs:label ?label } FILTER(?described != <%s>) }
} ORDER BY ?iri"""  # %s: the endpoint's cache graph, whose labels are fetched again
_DESCRIBE = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
CONSTRUCT { ?iri rdfs:label ?label ; skos:prefLabel ?preferred ; skos:definition ?definition ;
                 rdfs:comment ?comment }
WHERE {
  VALUES ?iri { %s }
  { ?iri rdfs:label ?label } UNION { ?iri skos:prefLabel ?preferred } UNION { ?iri skos:definition ?definition }
  UNION { ?iri rdfs:comment ?comment }
}"""


@dataclass(frozen=True)
class Fetched:
    """What a fetch did: the cache graph, the IRIs asked about, how many the endpoint described, its triples."""

    graph: str
    asked: int
    described: int
    triples: int


def allowed_endpoint(iri: str, allowed: Iterable[str]) -> bool:
    """Is ``iri`` on an allowed endpoint: same scheme, host and port, and a path at or under the allowed one?

    >>> allowed_endpoint("http://127.0.0.1:5/sparql", ["http://127.0.0.1:5/"]), allowed_endpoint("http://e.org/", [])
    (True, False)
    """
    try:
        target = urlsplit(iri)
        where = (target.scheme, target.hostname, target.port)
        for entry in allowed:
            permitted = urlsplit(entry)
            if where != (permitted.scheme, permitted.hostname, permitted.port) or target.hostname is None:
                continue
            base = permitted.path.rstrip("/")
            if target.path == permitted.path or target.path.startswith(f"{base}/"):
                return True
    except ValueError:  # a port that is no number, or out of range
        return False
    return False


def allow_list(given: Sequence[str] = ()) -> tuple[str, ...]:
    """The endpoints provml may reach: those ``given``, and those of ``$PROVML_ALLOW_REMOTE``."""
    return (*given, *os.environ.get(ALLOW_ENV, "").replace(",", " ").split())


def fetch_descriptions(store: Store, endpoint: str, allowed: Sequence[str]) -> Fetched:
    """Ask ``endpoint`` for the labels and definitions of the IRIs ``store`` refers to without a label of its
    own (those of the endpoint's cache graph do not count), and keep them in that graph, replaced whole. An
    endpoint not under ``allowed`` is refused before any connection."""
    if not allowed_endpoint(endpoint, allowed):
        raise RemoteAccessError(
            f"{endpoint} is not allow-listed: add it with --allow-remote or ${ALLOW_ENV} (nothing was fetched)"
        )
    from SPARQLWrapper import POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    graph = f"{store.ids.base}graph/cache/{segment(urlsplit(endpoint).netloc)}"
    iris = [row[0].value for row in store.query(_UNDESCRIBED % graph, entailed=False) if row[0] is not None]
    client = SPARQLWrapper(endpoint)
    client.setMethod(POST)
    client.setTimeout(TIMEOUT_S)
    documents = []
    for start in range(0, len(iris), BATCH):
        client.setQuery(_DESCRIBE % " ".join(f"<{iri}>" for iri in iris[start : start + BATCH]))
        try:
            described = client.queryAndConvert()
        except (SPARQLWrapperException, OSError) as error:
            raise RemoteAccessError(f"{endpoint}: {error}") from None
        documents.append((endpoint, described.serialize(format="nt", encoding="utf-8"), "ntriples"))
    store.replace_graph(graph, documents)
    count = f"SELECT (COUNT(DISTINCT ?s) AS ?n) (COUNT(*) AS ?t) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    (row,) = store.query(count).rows()
    return Fetched(graph, len(iris), int(row[0].value), int(row[1].value))
