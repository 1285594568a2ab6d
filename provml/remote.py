"""A remote SPARQL 1.1 service standing in for the embedded Oxigraph store.

:class:`RemoteEngine` answers the part of ``pyoxigraph.Store``'s interface that :class:`provml.store.Store`
uses, over HTTP: queries and updates through the SPARQL 1.1 Protocol, bulk writes through the Graph Store
Protocol (``POST`` of Turtle to a graph) when the service has one, else through ``INSERT DATA`` in small
chunks. Answers come back as pyoxigraph objects (:func:`pyoxigraph.parse_query_results`), so everything
above the store (loaders, canned queries, validation, the server) runs unchanged.

Two things a remote service does not do as Oxigraph does, and how they are bridged:

* blank nodes: each request is a document of its own, so a blank node written in two requests would be two
  nodes, and some engines (Virtuoso) refuse them in ``INSERT DATA``. They are written as Skolem IRIs
  (``urn:provml:bnode:<label>``, RDF 1.1 section 3.5) and read back as the blank nodes they stand for.
* Python filter functions cannot run in the service: the one provml uses, "is the term in this set",
  is written into the query as ``(?x IN (...))``; pre-bound variables become a ``VALUES`` block at the
  start of the ``WHERE`` group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby, islice
from pathlib import Path
from typing import IO, Any

import httpx
import pyoxigraph as ox

from provml.errors import QueryError, QueryTimeout, StoreError
from provml.sparql_text import function_calls, query_form, where_start

SKOLEM = "urn:provml:bnode:"  # the Skolem IRIs of blank nodes written to a remote store
WRITE_QUADS = 50_000  # quads per Graph Store Protocol request
INSERT_QUADS = 500  # quads per INSERT DATA operation (Virtuoso refuses ~2,000 and more)
_XML = "application/sparql-results+xml"
_NTRIPLES = "application/n-triples"
_TURTLE = "text/turtle"  # what loads send: N-Triples, but for bare integers
_SKOLEM_URI = re.compile(rb"<uri>" + re.escape(SKOLEM.encode()) + rb"([^<]*)</uri>")
_SKOLEM_IRI = re.compile(rb"<" + re.escape(SKOLEM.encode()) + rb"([^>]*)>")
_TAG = re.compile(r"<[^>]*>")
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
_BARE_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Service:
    """Where a remote store answers: its SPARQL endpoint (query and update), its Graph Store Protocol
    endpoint if any, and how to authenticate (``auth`` is ``basic`` or ``digest``)."""

    endpoint: str
    graph_store: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    auth: str = "basic"
    timeout: float = 600.0

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str]) -> Service:
        """The service at ``url`` (user name allowed in it), with the rest from the environment:
        ``PROVML_STORE_USER``, ``PROVML_STORE_PASSWORD``, ``PROVML_STORE_AUTH`` (basic or digest) and
        ``PROVML_STORE_GRAPHS`` (the Graph Store Protocol endpoint, for fast loads)."""
        parts = httpx.URL(url)
        auth = environ.get("PROVML_STORE_AUTH", "basic").lower()
        if auth not in ("basic", "digest"):
            raise StoreError(f"PROVML_STORE_AUTH is {auth!r}: use basic or digest")
        if parts.password:
            raise StoreError("put the remote store's password in PROVML_STORE_PASSWORD, not in its URL")
        return cls(
            endpoint=str(parts.copy_with(username=None, password=None)),
            graph_store=environ.get("PROVML_STORE_GRAPHS") or None,
            user=parts.username or environ.get("PROVML_STORE_USER") or None,
            password=environ.get("PROVML_STORE_PASSWORD"),
            auth=auth,
        )


def is_remote(location: str | Path) -> bool:
    """Is the store location a URL (a remote store) rather than a directory?"""
    return str(location).startswith(("http://", "https://"))


class RemoteEngine:
    """A SPARQL 1.1 service with the interface of the ``pyoxigraph.Store`` methods provml uses."""

    def __init__(self, service: Service) -> None:
        self.service = service
        auth: httpx.Auth | None = None
        if service.user is not None:
            make = httpx.DigestAuth if service.auth == "digest" else httpx.BasicAuth
            auth = make(service.user, service.password or "")
        # trust_env=False: no proxy from the environment may see the store's traffic or credentials
        self._client = httpx.Client(auth=auth, timeout=service.timeout, trust_env=False)
        try:
            self.query("ASK { }", use_default_graph_as_union=True)
        except StoreError as error:
            self._client.close()
            raise StoreError(f"cannot reach the remote store {service.endpoint}: {error}") from None

    def close(self) -> None:
        self._client.close()

    # -- the SPARQL 1.1 Protocol ----------------------------------------------------------

    def _post(self, url: str, **request: Any) -> httpx.Response:
        try:
            response = self._client.post(url, **request)
        except httpx.TimeoutException:
            raise QueryTimeout(f"the remote store did not answer within {self.service.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise StoreError(f"the remote store is unreachable: {error}") from None
        if response.status_code in (401, 403):
            raise StoreError(f"the remote store refused the credentials (HTTP {response.status_code})")
        if response.status_code >= 400:
            text = _TAG.sub(" ", response.text).split()  # Virtuoso's errors may come as an HTML page
            detail = " ".join(text)[:500] or response.reason_phrase
            error_class = QueryError if response.status_code == 400 else StoreError
            raise error_class(f"the remote store answered HTTP {response.status_code}: {detail}")
        return response

    def query(
        self,
        sparql: str,
        *,
        use_default_graph_as_union: bool = False,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
        prefixes: dict[str, str] | None = None,
        base_iri: str | None = None,
        substitutions: dict[ox.Variable, Any] | None = None,
        members: dict[str, set[Any]] | None = None,
    ) -> Any:
        """Run a query; return QuerySolutions, a QueryBoolean, or an iterable of triples (with ``serialize``).

        The service's default graph is taken to be the union of its graphs (Virtuoso, GraphDB; Fuseki with
        ``unionDefaultGraph``), so ``use_default_graph_as_union`` changes nothing here. ``members`` maps the IRI
        of a filter function to the set of terms it tests membership of (Oxigraph runs such Python functions
        itself)."""
        if members:
            sparql = _inline_members(sparql, members)
        if substitutions:
            sparql = _with_values(sparql, substitutions)
        form: dict[str, Any] = {"query": _prologue(prefixes, base_iri) + sparql}
        if default_graph is not None:
            form["default-graph-uri"] = [g.value for g in default_graph]
        if named_graphs is not None:
            form["named-graph-uri"] = [g.value for g in named_graphs]
        # one type each: Virtuoso refuses (406) a graph answer asked for among several types
        accept = _NTRIPLES if query_form(sparql) in ("CONSTRUCT", "DESCRIBE") else _XML
        response = self._post(self.service.endpoint, data=form, headers={"Accept": accept})
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media in (_XML, "application/xml", "text/xml"):
            body = _SKOLEM_URI.sub(rb"<bnode>\1</bnode>", response.content)
            return ox.parse_query_results(body, ox.QueryResultsFormat.XML)
        body = _SKOLEM_IRI.sub(rb"_:\1", response.content)
        return _Triples([quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES)])

    def update(self, sparql: str, *, prefixes: dict[str, str] | None = None, base_iri: str | None = None) -> None:
        """Run a SPARQL update (as one transaction where the service makes a request one)."""
        self._post(self.service.endpoint, data={"update": _prologue(prefixes, base_iri) + sparql})

    # -- what Store reads ------------------------------------------------------------------

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any, graph: Any) -> Iterator[ox.Quad]:
        names = [("?s", subject), ("?p", predicate), ("?o", object), ("?g", graph)]
        s, p, o, g = (_written(term) if term is not None else name for name, term in names)
        free = [name for name, term in names if term is None]
        select = " ".join(free) if free else "*"
        query = f"SELECT {select} WHERE {{ GRAPH {g} {{ {s} {p} {o} }} }}"
        if not free:
            query = f"ASK {{ GRAPH {g} {{ {s} {p} {o} }} }}"
            if self.query(query):
                yield ox.Quad(subject, predicate, object, graph)
            return
        for row in self.query(query):
            bound = dict(zip(free, row, strict=True))
            yield ox.Quad(*(bound.get(name, term) for name, term in names))

    def contains_named_graph(self, graph: ox.NamedNode) -> bool:
        """Does the graph hold a triple? (Engines differ on keeping empty graphs: an empty one counts as none.)"""
        return bool(self.query(f"ASK {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}"))

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        for (graph,) in self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"):
            if isinstance(graph, ox.NamedNode):
                yield graph

    def __len__(self) -> int:
        ((count,),) = list(self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        return int(count.value)

    def dump(
        self, output: IO[bytes], format: ox.RdfFormat, *, from_graph: Any = None, prefixes: dict[str, str] | None = None
    ) -> None:
        if from_graph is not None:
            triples = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{from_graph.value}> {{ ?s ?p ?o }} }}")
            ox.serialize(triples, output, format, prefixes=prefixes)
            return
        rows = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
        ox.serialize((ox.Quad(*row) for row in rows), output, format, prefixes=prefixes)

    # -- what Store writes -----------------------------------------------------------------

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        """Add quads, a graph at a time, in bounded requests."""
        quads = iter(quads)
        while chunk := sorted(islice(quads, WRITE_QUADS), key=lambda q: str(q.graph_name)):
            for graph, group in groupby(chunk, key=lambda q: q.graph_name):
                self._add_triples(graph, [q.triple for q in group])

    bulk_extend = extend

    def bulk_load(
        self,
        *,
        input: bytes | None = None,
        path: Path | None = None,
        format: ox.RdfFormat,
        base_iri: str | None = None,
        to_graph: Any = None,
    ) -> None:
        """Parse an RDF document here (Oxigraph's parser: the same errors as the embedded store) and add it."""
        source = {"input": input} if input is not None else {"path": path}
        parsed = ox.parse(**source, format=format, base_iri=base_iri)
        if to_graph is not None:
            parsed = (ox.Quad(q.subject, q.predicate, q.object, to_graph) for q in parsed)
        self.extend(parsed)

    def _add_triples(self, graph: Any, triples: list[ox.Triple]) -> None:
        body = "".join(f"{_written(t.subject)} {t.predicate} {_written(t.object)} .\n" for t in triples)
        if self.service.graph_store is not None:
            where = {"default": ""} if isinstance(graph, ox.DefaultGraph) else {"graph": graph.value}
            self._post(self.service.graph_store, params=where, content=body.encode(), headers={"Content-Type": _TURTLE})
            return
        lines = body.splitlines(keepends=True)
        for start in range(0, len(lines), INSERT_QUADS):
            data = "".join(lines[start : start + INSERT_QUADS])
            into = data if isinstance(graph, ox.DefaultGraph) else f"GRAPH <{graph.value}> {{\n{data}}}"
            self.update(f"INSERT DATA {{ {into} }}")

    def remove(self, quad: ox.Quad) -> None:
        t = quad.triple
        self.update(
            f"DELETE DATA {{ GRAPH <{quad.graph_name.value}> {{ {_written(t.subject)} {t.predicate} "
            f"{_written(t.object)} }} }}"
        )

    def remove_graph(self, graph: ox.NamedNode) -> None:
        self.update(f"DROP SILENT GRAPH <{graph.value}>")

    def flush(self) -> None:
        """Nothing to do: the service keeps what it acknowledged."""

    def optimize(self) -> None:
        """Nothing to do: the service compacts its own storage."""


class _Triples(list):  # type: ignore[type-arg]
    """The triples of a CONSTRUCT or DESCRIBE answer, serializable as ``pyoxigraph.QueryTriples`` is."""

    def serialize(self, output: IO[bytes], format: ox.RdfFormat) -> None:
        ox.serialize(self, output, format)


def _written(term: Any) -> str:
    """A term as Turtle (and SPARQL) write it: a blank node as its Skolem IRI, an integer bare (Virtuoso's
    Turtle reader keeps ``"2147483648"^^xsd:integer`` and larger as xsd:decimal, but not ``2147483648``)."""
    if isinstance(term, ox.BlankNode):
        return f"<{SKOLEM}{term.value}>"
    if isinstance(term, ox.Literal) and term.datatype == _INTEGER and _BARE_INTEGER.fullmatch(term.value):
        return term.value
    if isinstance(term, ox.Triple):
        return f"<< {_written(term.subject)} {term.predicate} {_written(term.object)} >>"
    return str(term)


def _prologue(prefixes: dict[str, str] | None, base_iri: str | None) -> str:
    lines = [f"BASE <{base_iri}>"] if base_iri else []
    lines += [f"PREFIX {name}: <{iri}>" for name, iri in (prefixes or {}).items()]
    return "\n".join(lines) + "\n" if lines else ""


def _with_values(sparql: str, substitutions: dict[ox.Variable, Any]) -> str:
    """Bind variables with a ``VALUES`` block at the start of the outermost ``WHERE`` group."""
    at = where_start(sparql)
    if at is None:
        raise QueryError("cannot pre-bind variables of a query without a WHERE group")
    names = " ".join(f"?{variable.value}" for variable in substitutions)
    values = " ".join(_written(term) for term in substitutions.values())
    return f"{sparql[:at]} VALUES ({names}) {{ ({values}) }} {sparql[at:]}"


def _inline_members(sparql: str, members: dict[str, set[Any]]) -> str:
    """Write each call of a membership filter function as ``(?x IN (...))``."""
    listed = {iri: ", ".join(sorted(_written(term) for term in terms)) for iri, terms in members.items()}
    return function_calls(sparql, set(listed), lambda iri, argument: f"({argument} IN ({listed[iri]}))")
