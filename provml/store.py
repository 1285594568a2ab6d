"""The store facade: the only module that knows Oxigraph.

An embedded on-disk Oxigraph store by default (``./provml-store``, ``$PROVML_STORE`` or a
path), in memory when no path is given. Each loaded dump lives in its own named graph,
described in a catalog graph (source, sha256, loader, time, triple count); descriptions of
things many dumps share go to one shared graph. Queries see the union of all graphs.

Loading is atomic and streams: the dump's quads are bulk-loaded in bounded chunks into a graph
marked *loading* in the catalog, and the shared quads and the catalog entry are committed in
one transaction at the end. A failed load removes what it wrote; a killed one is removed the
next time the store is opened for writing. Reloading a dump writes a staging graph and swaps
it in with one transaction, so the old graph stays whole until the new one is complete.

>>> store = Store()
>>> quads = [("<urn:x>", "<urn:p>", '"1"', "<urn:g>")]
>>> store.load(quads, graph="urn:g", source="example", loader="events", sha256="00").triples
1
>>> store.query("SELECT ?o WHERE { <urn:x> <urn:p> ?o }").rows()
[(Term(kind='literal', value='1', datatype='http://www.w3.org/2001/XMLSchema#string', language=None),)]
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, NamedTuple

import pyoxigraph as ox

from provml import rdf
from provml.errors import QueryError, StoreError
from provml.ids import IriMinter
from provml.rdf import Quad
from provml.vocab import PREFIXES, PROV, PROVML, RDF, sparql_prefixes

DEFAULT_STORE = "provml-store"
CHUNK_QUADS = 100_000  # quads per bulk-load call: bounds the memory of Oxigraph's bulk loader

RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
_LOADING, _COMPLETE = "loading", "complete"


def default_store_path() -> Path:
    """Return the store path configured by ``$PROVML_STORE``, or ``./provml-store``."""
    return Path(os.environ.get("PROVML_STORE") or DEFAULT_STORE)


class Term(NamedTuple):
    """An RDF term of a query result: ``kind`` is ``iri``, ``literal``, ``bnode`` or ``triple``."""

    kind: str
    value: str
    datatype: str | None = None
    language: str | None = None

    def python(self) -> Any:
        """Return a literal as a Python number or bool where its datatype says so, else its text."""
        if self.kind == "literal" and self.datatype:
            kind = self.datatype.rsplit("#", 1)[-1]
            try:
                if kind in ("integer", "int", "long", "short", "nonNegativeInteger"):
                    return int(self.value)
                if kind in ("double", "float", "decimal"):
                    return float(self.value)
            except ValueError:
                return self.value
            if kind == "boolean":
                return self.value in ("true", "1")
        return self.value


def _term(term: Any) -> Term | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return Term("iri", term.value)
    if isinstance(term, ox.Literal):
        return Term("literal", term.value, term.datatype.value, term.language)
    if isinstance(term, ox.BlankNode):
        return Term("bnode", term.value)
    return Term("triple", str(term))


class QueryResult:
    """The answer to a query: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        if isinstance(inner, ox.QuerySolutions):
            self.kind = "select"
            self.variables = [v.value for v in inner.variables]
        elif isinstance(inner, ox.QueryBoolean):
            self.kind = "ask"
            self.variables = []
        else:
            self.kind = "graph"
            self.variables = ["subject", "predicate", "object"]

    def __bool__(self) -> bool:
        return bool(self._inner) if self.kind == "ask" else True

    def __iter__(self) -> Iterator[tuple[Term | None, ...]]:
        if self.kind == "ask":
            raise QueryError("an ASK query has no rows; use bool(result)")
        if self.kind == "select":
            width = len(self.variables)
            for solution in self._inner:
                yield tuple(_term(solution[i]) for i in range(width))
        else:
            for triple in self._inner:
                yield (_term(triple.subject), _term(triple.predicate), _term(triple.object))

    def rows(self) -> list[tuple[Term | None, ...]]:
        """Return every row (a tuple of terms, ``None`` where unbound)."""
        return list(self)

    def serialize(self, output: IO[bytes], format: str) -> None:
        """Write the result in a standard format: json/xml/csv/tsv for solutions, an RDF format for triples."""
        formats = RESULT_FORMATS if self.kind != "graph" else RDF_FORMATS
        if format not in formats:
            kind = "query solutions" if self.kind != "graph" else "graph results"
            raise QueryError(f"format {format!r} does not fit {kind}; use one of {', '.join(formats)}")
        if self.kind == "ask" and format in ("csv", "tsv"):
            raise QueryError("an ASK result can only be written as json or xml")
        self._inner.serialize(output, formats[format])


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the dump's graph, its triple count, whether it replaced or skipped a graph."""

    graph: str
    triples: int
    shared_triples: int
    replaced: bool = False
    skipped: bool = False


@dataclass(frozen=True)
class DumpInfo:
    """A catalog entry: one loaded dump."""

    graph: str
    source: str
    loader: str
    sha256: str
    loaded_at: str
    triples: int


class Store:
    """A provml store: embedded Oxigraph on disk at ``path``, or in memory when ``path`` is None."""

    def __init__(self, path: str | Path | None = None, *, ids: IriMinter | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.ids = ids or IriMinter()
        try:
            self._store = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            message = str(error)
            if "lock" in message.lower():
                message = "the store is in use by another process (a running `provml serve` or `provml load`?)"
            raise StoreError(f"cannot open the store: {message}", source=self.path) from None
        self._catalog = ox.NamedNode(self.ids.catalog_graph)
        self._recover()

    def __repr__(self) -> str:
        return f"<Store path={str(self.path) if self.path else None} quads={len(self._store)}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush and release the store (on-disk stores can then be opened by another process)."""
        if self.path is not None and self._store is not None:
            self._store.flush()
        self._store = None  # type: ignore[assignment]

    # -- loading -----------------------------------------------------------------------

    def load(
        self,
        quads: Iterable[Quad],
        *,
        graph: str,
        source: str,
        loader: str,
        sha256: str,
        force: bool = False,
        on_chunk: Callable[[int], None] | None = None,
    ) -> LoadResult:
        """Load one dump's quads atomically into ``graph``, replacing what the graph held.

        Quads whose graph is the shared graph are committed with the catalog entry; all other
        quads go to ``graph``. A dump already loaded with the same ``sha256`` is skipped unless
        ``force``. ``on_chunk`` is called with the number of quads written after each chunk.
        """
        previous = self.dump(graph)
        if previous is not None and previous.sha256 == sha256 and not force:
            return LoadResult(graph, previous.triples, 0, skipped=True)
        target = graph if previous is None else f"{self.ids.base}graph/staging/{uuid.uuid4()}"
        target_term, shared_graph = f"<{target}>", f"<{self.ids.shared_graph}>"
        self._mark_loading(target)
        shared: set[Quad] = set()
        try:
            chunk: list[str] = []
            for quad in quads:
                if quad[3] == shared_graph:
                    shared.add(quad)
                    continue
                chunk.append(f"{quad[0]} {quad[1]} {quad[2]} {target_term} .\n")
                if len(chunk) >= CHUNK_QUADS:
                    self._bulk(chunk)
                    if on_chunk:
                        on_chunk(len(chunk))
                    chunk = []
            if chunk:
                self._bulk(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
            triples = self._count(target)
            entry = self._catalog_entry(graph, source, loader, sha256, triples)
            self._commit(graph, target, shared, entry)
        except BaseException:
            self._discard(target)
            raise
        return LoadResult(graph, triples, len(shared), replaced=previous is not None)

    def _count(self, graph: str) -> int:
        (row,) = self._store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(row[0].value)

    def _bulk(self, lines: list[str]) -> None:
        try:
            self._store.bulk_load(input="".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        except SyntaxError as error:  # a bug in a mapper, never the user's input: say which line
            bad = lines[(error.lineno or 1) - 1].strip() if error.lineno else ""
            raise StoreError(f"invalid quad produced by a loader: {error.msg}: {bad}") from None

    def _mark_loading(self, target: str) -> None:
        self._store.add(ox.Quad(ox.NamedNode(target), ox.NamedNode(PROVML.loadState), ox.Literal(_LOADING), self._catalog))
        if self.path is not None:
            self._store.flush()

    def _catalog_entry(self, graph: str, source: str, loader: str, sha256: str, triples: int) -> list[Quad]:
        node, cat = f"<{graph}>", f"<{self.ids.catalog_graph}>"
        now = datetime.now(timezone.utc).replace(microsecond=0)
        return [
            (node, f"<{RDF.type}>", f"<{PROVML.Dump}>", cat),
            (node, f"<{RDF.type}>", f"<{PROV.Bundle}>", cat),
            (node, f"<{PROVML.source}>", rdf.string(source), cat),
            (node, f"<{PROVML.loader}>", rdf.string(loader), cat),
            (node, f"<{PROVML.sha256}>", rdf.string(sha256), cat),
            (node, f"<{PROV.generatedAtTime}>", rdf.date_time(now), cat),
            (node, f"<{PROVML.tripleCount}>", rdf.integer(triples), cat),
            (node, f"<{PROVML.loadState}>", rdf.string(_COMPLETE), cat),
        ]

    def _commit(self, graph: str, target: str, shared: set[Quad], entry: list[Quad]) -> None:
        """Swap the loaded graph in and add the shared quads and catalog entry, in one transaction."""
        cat = self.ids.catalog_graph
        steps = [f"DELETE WHERE {{ GRAPH <{cat}> {{ <{graph}> ?p ?o }} }}"]
        if target != graph:
            steps += [
                f"DROP SILENT GRAPH <{graph}>",
                f"ADD SILENT GRAPH <{target}> TO GRAPH <{graph}>",
                f"DROP SILENT GRAPH <{target}>",
                f"DELETE WHERE {{ GRAPH <{cat}> {{ <{target}> ?p ?o }} }}",
            ]
        data = "".join(f"GRAPH {g} {{ {s} {p} {o} }}\n" for s, p, o, g in (*shared, *entry))
        steps.append(f"INSERT DATA {{\n{data}}}")
        self._store.update(" ;\n".join(steps))

    def _discard(self, target: str) -> None:
        """Remove a graph left by an unfinished load, and its catalog marker."""
        node = ox.NamedNode(target)
        self._store.remove_graph(node)
        for quad in list(self._store.quads_for_pattern(node, None, None, self._catalog)):
            self._store.remove(quad)
        if self.path is not None:
            self._store.flush()

    def _recover(self) -> None:
        """Remove the graphs of loads that were killed before they committed."""
        pending = self._store.quads_for_pattern(None, ox.NamedNode(PROVML.loadState), ox.Literal(_LOADING), self._catalog)
        for quad in list(pending):
            self._discard(quad.subject.value)

    # -- catalog -----------------------------------------------------------------------

    def dumps(self) -> list[DumpInfo]:
        """Return the catalog: every loaded dump, sorted by graph IRI."""
        query = f"""{sparql_prefixes()}
        SELECT ?g ?source ?loader ?sha ?at ?n WHERE {{ GRAPH <{self.ids.catalog_graph}> {{
            ?g provml:loadState "{_COMPLETE}" ; provml:source ?source ; provml:loader ?loader ;
               provml:sha256 ?sha ; prov:generatedAtTime ?at ; provml:tripleCount ?n }} }} ORDER BY ?g"""
        return [
            DumpInfo(g.value, source.value, loader.value, sha.value, at.value, int(n.value))
            for g, source, loader, sha, at, n in self._store.query(query)
        ]

    def dump(self, graph: str) -> DumpInfo | None:
        """Return the catalog entry of one dump graph, or None."""
        return next((d for d in self.dumps() if d.graph == graph), None)

    def drop(self, graph: str) -> DumpInfo:
        """Remove a dump's graph and its catalog entry (the shared graph keeps what others may use)."""
        info = self.dump(graph)
        if info is None:
            raise StoreError(f"no such dump graph: {graph} (see `provml graphs`)")
        cat = self.ids.catalog_graph
        self._store.update(f"DROP SILENT GRAPH <{graph}> ; DELETE WHERE {{ GRAPH <{cat}> {{ <{graph}> ?p ?o }} }}")
        return info

    # -- query, update, export ---------------------------------------------------------

    def query(self, sparql: str, *, union: bool = True) -> QueryResult:
        """Run a SPARQL query; by default the default graph is the union of all graphs.

        The prefixes of :data:`provml.vocab.PREFIXES` are predefined.
        """
        try:
            return QueryResult(self._store.query(sparql, use_default_graph_as_union=union, prefixes=PREFIXES))
        except SyntaxError as error:
            raise QueryError(f"invalid SPARQL query: {error}") from None
        except OSError as error:
            raise QueryError(f"query failed: {error}") from None

    def update(self, sparql: str) -> None:
        """Run a SPARQL update in one transaction."""
        try:
            self._store.update(sparql, prefixes=PREFIXES)
        except SyntaxError as error:
            raise QueryError(f"invalid SPARQL update: {error}") from None
        except OSError as error:
            raise QueryError(f"update failed: {error}") from None

    def export(self, output: IO[bytes], format: str, *, graph: str | None = None) -> None:
        """Write the store (or one graph) to ``output``; triple formats without a graph get the union."""
        if format not in RDF_FORMATS:
            raise StoreError(f"unknown export format {format!r}; use one of {', '.join(RDF_FORMATS)}")
        rdf_format = RDF_FORMATS[format]
        prefixes = {**PREFIXES, "id": self.ids.base}
        if graph is not None:
            node = ox.NamedNode(graph)
            if not self._store.contains_named_graph(node):
                raise StoreError(f"no such graph: {graph} (see `provml graphs`)")
            self._store.dump(output, rdf_format, from_graph=node, prefixes=prefixes)
        elif rdf_format.supports_datasets:
            self._store.dump(output, rdf_format, prefixes=prefixes)
        else:
            union = self._store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
            union.serialize(output, rdf_format)

    def stats(self) -> dict[str, Any]:
        """Return counts: quads, named graphs, dumps, and instances of the main PROV-ML classes."""
        classes = ("WorkflowExecution", "TaskExecution", "Dataset", "Model", "HyperparameterSetting", "ModelEvaluation")
        values = " ".join(f"provml:{c}" for c in classes)
        query = f"""{sparql_prefixes()}
        SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?class {{ {values} }} ?s a ?class }} GROUP BY ?class"""
        counts = {row[0].value.rsplit("#", 1)[1]: int(row[1].value) for row in self._store.query(query, use_default_graph_as_union=True)}
        return {
            "quads": len(self._store),
            "named graphs": sum(1 for _ in self._store.named_graphs()),
            "dumps": len(self.dumps()),
            **{c: counts.get(c, 0) for c in classes},
        }
