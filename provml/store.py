"""The store facade: the only module that knows Oxigraph's store (:mod:`provml.remote` stands in for it).

An embedded on-disk Oxigraph store by default (``./provml-store``, ``$PROVML_STORE`` or a
path), in memory when no path is given; or a remote SPARQL 1.1 service given by its URL
(:func:`open_store`, :mod:`provml.remote`), on which everything below works the same.
Each loaded dump lives in its own named graph, described in a catalog graph (source, sha256,
loader, time, triple count); descriptions of things many dumps share go to one shared graph.
Queries see the union of all graphs.

Loading is atomic per dump and streams: quads are bulk-loaded in bounded chunks (consecutive
small dumps share a chunk) into graphs marked *loading* in the catalog, and each dump is committed
in one transaction once it was read whole: its shared quads added to the shared graph, its catalog
entry written. A dump with more than :data:`SHARED_HELD` shared quads spills them to a temporary
file instead of holding them, and they are bulk-copied to the shared graph just before that
transaction: a process killed meanwhile leaves the shared graph as a dump loaded and then dropped
would (the shared graph only grows). A failed dump
removes what it wrote; a killed load is removed the next time the store is opened for writing.
Reloading a dump writes staging graphs and swaps them in with one transaction, so the old graphs
stay whole until the new ones are complete. Named graphs the input names itself (TriG graphs,
PROV bundles) keep their names and belong to the dump: loaded, replaced and dropped with it.
RDF files are parsed by Oxigraph itself (:class:`~provml.rdf.RdfDocument`), in chunks.

>>> store = Store()
>>> quads = [("<urn:x>", "<urn:p>", '"1"', "<urn:g>")]
>>> store.load(quads, graph="urn:g", source="example", loader="events", sha256="00").triples
1
>>> store.query("SELECT ?o WHERE { <urn:x> <urn:p> ?o }").rows()
[(Term(kind='literal', value='1', datatype='http://www.w3.org/2001/XMLSchema#string', language=None),)]
"""

from __future__ import annotations

import gzip
import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol

import pyoxigraph as ox

from provml import rdf
from provml.errors import InputError, LimitError, ProvmlError, QueryError, StoreError, ValidationError
from provml.ids import IriMinter
from provml.rdf import Quad, RdfDocument
from provml.remote import RemoteEngine, Service, is_remote
from provml.sparql_text import names_dataset
from provml.vocab import PREFIXES, PROV, PROVML, RDF, sparql_prefixes

DEFAULT_STORE = "provml-store"
CHUNK_QUADS = 100_000  # quads per bulk-load call: bounds the memory of Oxigraph's bulk loader
COMPACT_AFTER = 100_000  # triples a load writes before the store is compacted at its end
SHARED_HELD = 10_000  # a dump's quads for the shared graph held in memory; more wait in a temporary file
REPORT_RESULTS = 1000  # validation results of a dump kept in the catalog

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
RdfInput = tuple[str, bytes, str]  # an RDF document: its name (for errors), its content and its format
_LOADING, _COMPLETE = "loading", "complete"
# why the entailment graph awaits an update (provml:awaitsEntailment): a dump was added, replaced, removed
ADDED, REPLACED, REMOVED = "added", "replaced", "removed"
_MEMBER = "urn:provml:member"  # a filter function: is the term in a set?
_REPORT_BYTES = 1 << 20  # bytes read between two progress reports
_PARSER_POSITION = re.compile(r"^Parser error (?:at|between) line [^:]*: ")  # the line is said apart


def default_store_location() -> str:
    """Return the store configured by ``$PROVML_STORE`` (a directory or a URL), or ``provml-store``."""
    return os.environ.get("PROVML_STORE") or DEFAULT_STORE


def open_store(location: str | Path | None = None, *, ids: IriMinter | None = None) -> Store:
    """Open the store at ``location`` (default ``$PROVML_STORE``, else ``./provml-store``): a directory, or the
    URL of a SPARQL 1.1 endpoint for a remote store (:meth:`provml.remote.Service.from_url` reads the rest
    of its settings from the environment)."""
    location = location or default_store_location()
    if is_remote(location):
        return Store(ids=ids, service=Service.from_url(str(location), os.environ))
    return Store(location, ids=ids)


def check_iri(value: str) -> str:
    """Return ``value`` if it is an absolute IRI, else raise an :class:`InputError`.

    >>> check_iri("https://example.org/graph/1")
    'https://example.org/graph/1'
    >>> check_iri("graph/1")
    Traceback (most recent call last):
    provml.errors.InputError: not an absolute IRI: 'graph/1' (No scheme found in an absolute IRI)
    """
    try:
        ox.NamedNode(value)
    except ValueError as error:
        raise InputError(f"not an absolute IRI: {value!r} ({error})") from None
    return value


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

    def serialize(self, output: IO[bytes], format: str, *, limit: int | None = None) -> None:
        """Write the result in a standard format: json/xml/csv/tsv for solutions, an RDF format for triples.

        ``limit`` caps the triples of a graph result: one more is a :class:`QueryError`."""
        formats = RESULT_FORMATS if self.kind != "graph" else RDF_FORMATS
        if format not in formats:
            kind = "query solutions" if self.kind != "graph" else "graph results"
            raise QueryError(f"format {format!r} does not fit {kind}; use one of {', '.join(formats)}")
        if self.kind == "ask" and format in ("csv", "tsv"):
            raise QueryError("an ASK result can only be written as json or xml")
        if limit is None or self.kind != "graph":
            self._inner.serialize(output, formats[format])
            return
        prefixes = PREFIXES if formats[format] in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
        ox.serialize(_capped(self._inner, limit), output, formats[format], prefixes=prefixes)


def _capped(triples: Iterable[Any], limit: int) -> Iterator[Any]:
    for count, triple in enumerate(triples):
        if count == limit:
            raise LimitError(f"the answer has more than {limit:,} triples, the server's limit; narrow the query")
        yield triple


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the dump's graph, its triple count, whether it replaced or skipped a graph."""

    graph: str
    triples: int
    shared_triples: int  # statements for the shared graph (past SHARED_HELD, repeats are counted too)
    replaced: bool = False
    skipped: bool = False
    report: Any = None  # the validation report (provml.validation.ValidationReport) when the load was checked


@dataclass(frozen=True)
class Dump:
    """A dump to load: its graph, its content (a stream of quads, or an RDF file for the store to parse),
    and what the catalog records of it."""

    graph: str
    quads: Iterable[Quad] | RdfDocument
    source: str
    loader: str
    sha256: str


class LoadCheck(Protocol):
    """How loads are validated (:class:`provml.validation.LoadValidation`): a report for the subjects
    of ``focus_graphs``, over the union of all graphs or the merge of ``graphs``."""

    accept_invalid: bool

    def __call__(self, store: Store, focus_graphs: list[str], graphs: list[str] | None) -> Any: ...


@dataclass(frozen=True)
class DumpInfo:
    """A catalog entry: one loaded dump; ``graphs`` are the named graphs its input named itself.

    ``violations`` and ``warnings`` count the SHACL results of its validation at load, None if it was
    loaded without."""

    graph: str
    source: str
    loader: str
    sha256: str
    loaded_at: str
    triples: int
    graphs: tuple[str, ...] = ()
    violations: int | None = None
    warnings: int | None = None


class Store:
    """A provml store: embedded Oxigraph on disk at ``path``, or in memory when ``path`` is None; or a remote
    SPARQL 1.1 service (:mod:`provml.remote`) when ``service`` is given."""

    def __init__(
        self, path: str | Path | None = None, *, ids: IriMinter | None = None, service: Service | None = None
    ) -> None:
        self.path = Path(path) if path is not None and service is None else None
        self.ids = ids or IriMinter()
        self.service = service
        try:
            if service is not None:
                self._store = RemoteEngine(service)
            else:
                self._store = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            message = str(error)
            if "lock" in message.lower():
                message = "the store is in use by another process (a running `provml serve` or `provml load`?)"
            raise StoreError(f"cannot open the store: {message}", source=self.path) from None
        self._catalog = ox.NamedNode(self.ids.catalog_graph)
        self.read_only = False
        self._recover()

    @classmethod
    def open_snapshot(cls, path: str | Path, *, ids: IriMinter | None = None) -> Store:
        """Open a snapshot made by :meth:`snapshot` for reading only (nothing else may write to it)."""
        opened = cls.__new__(cls)
        opened.path, opened.ids, opened.read_only, opened.service = Path(path), ids or IriMinter(), True, None
        try:
            opened._store = ox.Store.read_only(str(path))
        except OSError as error:
            raise StoreError(f"cannot open the snapshot: {error}", source=path) from None
        opened._catalog = ox.NamedNode(opened.ids.catalog_graph)
        return opened

    @property
    def location(self) -> str:
        """Where the store is: its directory, its endpoint's URL, or ``memory``."""
        return self.service.endpoint if self.service else str(self.path) if self.path else "memory"

    @property
    def remote(self) -> bool:
        """Is this store a remote SPARQL service?"""
        return self.service is not None

    def snapshot(self, target: str | Path) -> None:
        """Write a consistent copy of an on-disk store to the new directory ``target`` (hard links: cheap)."""
        if self.remote:
            raise StoreError("a remote store has no snapshots")
        if self.path is None:
            raise StoreError("an in-memory store has no snapshots; open a store on disk")
        try:
            self._store.backup(str(target))
        except OSError as error:
            raise StoreError(f"cannot snapshot the store: {error}", source=target) from None

    def __repr__(self) -> str:
        return f"<Store {self.location} quads={len(self._store)}>"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Flush and release the store (on-disk stores can then be opened by another process)."""
        if self.remote:
            self._store.close()
        elif self.path is not None and self._store is not None and not self.read_only:
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
        check: LoadCheck | None = None,
    ) -> LoadResult:
        """Load one dump's quads atomically into ``graph``, replacing what the graph held.

        Quads whose graph is the shared graph are added to it when the dump commits; all other
        quads go to ``graph``. A dump already loaded with the same ``sha256`` is skipped unless
        ``force``. ``on_chunk`` is called with the number of quads written after each chunk; ``check``
        validates the dump before it commits (see :meth:`load_many`).
        Raises the :class:`ProvmlError` that stopped the dump; the store is then as it was.
        """
        dump = Dump(graph, quads, source, loader, sha256)
        ((_, outcome),) = self.load_many([dump], force=force, on_chunk=on_chunk, check=check)
        if isinstance(outcome, ProvmlError):
            raise outcome
        return outcome

    def load_many(
        self,
        dumps: Iterable[Dump],
        *,
        force: bool = False,
        on_chunk: Callable[[int], None] | None = None,
        check: LoadCheck | None = None,
        jobs: int = 1,
    ) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        """Load dumps, each atomically into its own graph; yield each with its result or error.

        Small dumps are written together, up to :data:`CHUNK_QUADS` quads per bulk load, and
        committed together: per-dump writes would each force RocksDB to flush before the next
        bulk load. A dump that fails leaves nothing behind, and the others still load.
        With ``check``, dumps read whole are validated before they commit, in the store as it will
        be (the dumps' own triples, and the shared ones they bring, in the union of all graphs but
        the versions they replace); a dump with violations is refused with a
        :class:`ValidationError` unless ``check.accept_invalid``. The catalog keeps each dump's
        counts of violations and warnings, and its report when it has results. An on-disk store that
        took at least :data:`COMPACT_AFTER` triples is compacted at the end, which makes queries over the
        new data up to twice as fast (1.2 s for a million triples). With ``jobs`` > 1, up to ``jobs`` chunks
        are written at once by threads while the next are read (Oxigraph's bulk load runs without the GIL;
        a remote store's requests wait on the network); a dump still commits only once all its chunks are
        written, and dumps commit in the order they were read.
        """
        written = 0
        for dump, result in self._load_each(dumps, force, on_chunk, check, jobs):
            if isinstance(result, LoadResult) and not result.skipped:
                written += result.triples + result.shared_triples
            yield dump, result
        if written >= COMPACT_AFTER and self.path is not None:
            self._store.optimize()

    def _load_each(
        self,
        dumps: Iterable[Dump],
        force: bool,
        on_chunk: Callable[[int], None] | None,
        check: LoadCheck | None,
        jobs: int,
    ) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        batch = _Batch(self, on_chunk, check, jobs)
        try:
            for dump in dumps:
                if batch.holds(dump.graph):  # the same dump twice: commit the first before reading the second
                    yield from batch.flush(drain=True)
                previous = self.dump(dump.graph)
                if previous is not None and previous.sha256 == dump.sha256 and not force:
                    yield dump, LoadResult(dump.graph, previous.triples, 0, skipped=True)
                    continue
                yield from batch.add(dump, replacing=previous is not None)
            yield from batch.flush(drain=True)
        except BaseException:
            batch.abandon()
            raise
        finally:
            batch.close()

    def _bulk(self, lines: list[str]) -> None:
        try:
            self._store.bulk_load(input="".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        except SyntaxError as error:  # a bug in a loader, never the user's input: stop everything, say which line
            bad = lines[(error.lineno or 1) - 1].strip() if error.lineno else ""
            raise RuntimeError(f"bug: a loader produced an invalid quad: {error.msg}: {bad}") from None

    def _mark_loading(self, targets: list[str]) -> None:
        # A committed write is in RocksDB's write-ahead log, which survives the process being killed.
        state, loading = ox.NamedNode(PROVML.loadState), ox.Literal(_LOADING)
        self._store.extend([ox.Quad(ox.NamedNode(t), state, loading, self._catalog) for t in targets])

    def _counts(self, graphs: list[str]) -> dict[str, int]:
        values = " ".join(f"<{g}>" for g in graphs)
        query = f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
        return {row[0].value: int(row[1].value) for row in self._store.query(query)}

    def _catalog_entry(self, load: _PendingLoad, triples: int) -> list[Quad]:
        graph, source, loader, sha256 = load.dump.graph, load.dump.source, load.dump.loader, load.dump.sha256
        node, cat = f"<{graph}>", f"<{self.ids.catalog_graph}>"
        now = datetime.now(timezone.utc).replace(microsecond=0)
        checked = []
        if load.report is not None:
            violations = len(load.report.violations)
            checked += [
                (node, f"<{PROVML.violationCount}>", rdf.integer(violations), cat),
                (node, f"<{PROVML.warningCount}>", rdf.integer(len(load.report.results) - violations), cat),
            ]
            if load.report.results:
                report = load.report.turtle(limit=REPORT_RESULTS)
                checked.append((node, f"<{PROVML.validationReport}>", rdf.string(report), cat))
        return [
            *checked,
            (node, f"<{RDF.type}>", f"<{PROVML.Dump}>", cat),
            (node, f"<{RDF.type}>", f"<{PROV.Bundle}>", cat),
            (node, f"<{PROVML.source}>", rdf.string(source), cat),
            (node, f"<{PROVML.loader}>", rdf.string(loader), cat),
            (node, f"<{PROVML.sha256}>", rdf.string(sha256), cat),
            (node, f"<{PROV.generatedAtTime}>", rdf.date_time(now), cat),
            (node, f"<{PROVML.tripleCount}>", rdf.integer(triples), cat),
            (node, f"<{PROVML.loadState}>", rdf.string(_COMPLETE), cat),
        ]

    def _commit(self, loads: list[_PendingLoad], counts: dict[str, int]) -> None:
        """Swap loaded graphs in and add their shared quads and catalog entries, in one transaction.

        A remote store gets one request per dump (engines bound a request's size), shared quads first. Each
        request's operations are ordered so that an engine that applies them one by one (Virtuoso) and
        stops half-way leaves the dump marked as loading, which the next opening removes."""
        kept = self._store.contains_named_graph(ox.NamedNode(self.ids.entailed_graph))
        steps, data = [], []
        for load in loads:
            if load.spill is not None:
                self._copy_spill(load.spill, ox.NamedNode(self.ids.shared_graph))
            if self.remote:
                shared = "".join(f"{s} {p} {o} {g} .\n" for s, p, o, g in load.shared)
                self._store.bulk_load(input=shared.encode(), format=ox.RdfFormat.N_QUADS)
                self._store.update(" ;\n".join(self._commit_steps(load, counts, kept)))
            else:
                steps += self._commit_steps(load, counts, kept)
                data += [f"GRAPH {g} {{ {s} {p} {o} }}\n" for s, p, o, g in load.shared]
        if steps:
            steps.append(f"INSERT DATA {{\n{''.join(data)}}}")
            self._store.update(" ;\n".join(steps))
        for load in loads:
            load.close()

    def _commit_steps(self, load: _PendingLoad, counts: dict[str, int], kept: bool) -> list[str]:
        """Return the update operations that swap one load's graphs in and write its catalog entry (last)."""
        cat, graph = self.ids.catalog_graph, load.dump.graph
        steps = [  # the named graphs the previous version of the dump brought
            f"DELETE {{ GRAPH ?m {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{cat}> {{ <{graph}> <{PROVML.hasGraph}> ?m }}"
            " GRAPH ?m { ?s ?p ?o } }"
        ]
        for name, target in ((graph, load.target), *load.members.items()):
            if target != name:
                steps += [f"DROP SILENT GRAPH <{name}>", f"ADD SILENT GRAPH <{target}> TO GRAPH <{name}>"]
                steps.append(f"DROP SILENT GRAPH <{target}>")
        entry = self._catalog_entry(load, load.triples(counts))
        entry += [(f"<{graph}>", f"<{PROVML.hasGraph}>", f"<{name}>", f"<{cat}>") for name in load.members]
        if kept:  # for provml.entailment: what the dump entails is not derived yet
            why = rdf.string(REPLACED if load.replacing else ADDED)
            entry.append((f"<{graph}>", f"<{PROVML.awaitsEntailment}>", why, f"<{cat}>"))
        lines = [f"GRAPH {g} {{ {s} {p} {o} }}\n" for s, p, o, g in entry]
        # the marks "loading" go with the previous entry, in the operation that writes the new one
        marked = " ".join(f"<{target}>" for target in {graph, *load.targets()})
        replace = (
            f"DELETE {{ GRAPH <{cat}> {{ ?t ?p ?o }} }} INSERT {{\n{''.join(lines)}}} "
            f"WHERE {{ OPTIONAL {{ VALUES ?t {{ {marked} }} GRAPH <{cat}> {{ ?t ?p ?o }} }} }}"
        )
        return [*steps, replace]

    def _copy_spill(self, spill: IO[bytes], graph: ox.NamedNode) -> None:
        """Bulk-load spilled shared triples (N-Triples) into ``graph``, in chunks."""
        spill.seek(0)
        triples = ox.parse(input=spill, format=ox.RdfFormat.N_TRIPLES)
        while chunk := [ox.Quad(t.subject, t.predicate, t.object, graph) for t in islice(triples, CHUNK_QUADS)]:
            self._store.bulk_extend(chunk)

    def _owner(self, graph: str) -> str | None:
        """Return the dump a named graph belongs to, if any."""
        owners = self._store.quads_for_pattern(None, ox.NamedNode(PROVML.hasGraph), ox.NamedNode(graph), self._catalog)
        return next((quad.subject.value for quad in owners), None)

    def _document_chunks(self, document: RdfDocument, graph_of: Callable[[Any], ox.NamedNode]) -> Iterator[list[Any]]:
        """Parse an RDF file with Oxigraph, yielding chunks of quads placed by ``graph_of``: the
        file's default graph into the dump's target graph, its named graphs where the dump keeps them."""
        rdf_format, make = RDF_FORMATS[document.format], ox.Quad
        with _parser_input(document) as (source, report):
            parser = ox.parse(**source, format=rdf_format, base_iri=document.base_iri, rename_blank_nodes=True)
            try:
                if not rdf_format.supports_datasets:
                    target = graph_of(ox.DefaultGraph())
                    while chunk := [
                        make(q.subject, q.predicate, q.object, target) for q in islice(parser, CHUNK_QUADS)
                    ]:
                        report()
                        yield chunk
                    return
                targets: dict[Any, ox.NamedNode] = {}
                while True:
                    chunk = []
                    for q in islice(parser, CHUNK_QUADS):
                        name = q.graph_name
                        target = targets.get(name) or targets.setdefault(name, graph_of(name))
                        chunk.append(make(q.subject, q.predicate, q.object, target))
                    if not chunk:
                        return
                    report()
                    yield chunk
            except SyntaxError as error:
                raise _syntax_error(error, document.path) from None
            except (OSError, EOFError, gzip.BadGzipFile) as error:
                raise InputError(f"cannot read: {error.strerror or error}", source=document.path) from None

    def _discard(self, target: str) -> None:
        """Remove a graph left by an unfinished load (a chunk per transaction: Oxigraph holds a
        transaction's deletions in memory), then its catalog marker."""
        node = ox.NamedNode(target)
        chunk = f"""DELETE {{ GRAPH <{target}> {{ ?s ?p ?o }} }} WHERE {{
            {{ SELECT ?s ?p ?o WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} }} LIMIT {CHUNK_QUADS // 10} }} }}"""
        while not self.remote and next(iter(self._store.quads_for_pattern(None, None, None, node)), None):
            self._store.update(chunk)
        self._store.remove_graph(node)
        self._store.update(f"DELETE WHERE {{ GRAPH <{self.ids.catalog_graph}> {{ <{target}> ?p ?o }} }}")

    def _recover(self) -> None:
        """Remove the graphs of loads that were killed before they committed."""
        pending = self._store.quads_for_pattern(
            None, ox.NamedNode(PROVML.loadState), ox.Literal(_LOADING), self._catalog
        )
        for quad in list(pending):
            self._discard(quad.subject.value)

    # -- catalog -----------------------------------------------------------------------

    def dumps(self) -> list[DumpInfo]:
        """Return the catalog: every loaded dump, sorted by graph IRI."""
        query = f"""{sparql_prefixes()}
        SELECT ?g ?source ?loader ?sha ?at ?n ?bad ?warned (GROUP_CONCAT(STR(?m); SEPARATOR=" ") AS ?members)
        WHERE {{ GRAPH <{self.ids.catalog_graph}> {{
            ?g provml:loadState "{_COMPLETE}" ; provml:source ?source ; provml:loader ?loader ;
               provml:sha256 ?sha ; prov:generatedAtTime ?at ; provml:tripleCount ?n
            OPTIONAL {{ ?g provml:hasGraph ?m }}
            OPTIONAL {{ ?g provml:violationCount ?bad ; provml:warningCount ?warned }} }} }}
        GROUP BY ?g ?source ?loader ?sha ?at ?n ?bad ?warned ORDER BY ?g"""
        return [
            DumpInfo(
                g.value,
                source.value,
                loader.value,
                sha.value,
                at.value,
                int(n.value),
                _members(members),
                _count(bad),
                _count(warned),
            )
            for g, source, loader, sha, at, n, bad, warned, members in self._store.query(query)
        ]

    def dump(self, graph: str) -> DumpInfo | None:
        """Return the catalog entry of one dump graph, or None."""
        values, members = {}, []
        for quad in self._store.quads_for_pattern(ox.NamedNode(graph), None, None, self._catalog):
            if quad.predicate.value == PROVML.hasGraph:
                members.append(quad.object.value)
            values[quad.predicate.value] = quad.object.value
        if values.get(PROVML.loadState) != _COMPLETE:
            return None
        return DumpInfo(
            graph,
            values[PROVML.source],
            values[PROVML.loader],
            values[PROVML.sha256],
            values[PROV.generatedAtTime],
            int(values[PROVML.tripleCount]),
            tuple(sorted(members)),
            int(values[PROVML.violationCount]) if PROVML.violationCount in values else None,
            int(values[PROVML.warningCount]) if PROVML.warningCount in values else None,
        )

    def drop(self, graph: str) -> DumpInfo:
        """Remove a dump's graphs and its catalog entry (the shared graph keeps what others may use)."""
        info = self.dump(graph)
        if info is None:
            raise StoreError(f"no such dump graph: {graph} (see `provml graphs`)")
        cat, entailed = self.ids.catalog_graph, self.ids.entailed_graph
        drops = "".join(f"DROP SILENT GRAPH <{name}> ; " for name in (graph, *info.graphs))
        mark = f'INSERT DATA {{ GRAPH <{cat}> {{ <{entailed}> <{PROVML.awaitsEntailment}> "{REMOVED}" }} }}'
        kept = self._store.contains_named_graph(ox.NamedNode(entailed))
        self._store.update(
            f"{drops}DELETE WHERE {{ GRAPH <{cat}> {{ <{graph}> ?p ?o }} }}{' ; ' + mark if kept else ''}"
        )
        return info

    # -- graphs, one at a time (the Graph Store Protocol) -------------------------------

    def has_graph(self, graph: str) -> bool:
        """Return whether the store holds the named graph ``graph`` (an empty one too)."""
        return self._store.contains_named_graph(ox.NamedNode(check_iri(graph)))

    def replace_graph(self, graph: str, documents: Iterable[RdfInput], *, base_iri: str | None = None) -> bool:
        """Make the triples of ``documents`` the only ones of the named graph ``graph``, in one transaction;
        return whether the graph is new.

        Each document is ``(name, content, format)``, ``format`` one of :data:`RDF_FORMATS`; the name is
        the source of its errors. A document that does not parse, or has triples in a named graph, is an
        :class:`InputError` and nothing changes. The graphs the catalog describes (its own graph, the
        shared graph, a dump's graphs) are refused with a :class:`StoreError`: a dump is reloaded or dropped.

        >>> store = Store()
        >>> store.replace_graph("urn:g", [("body", b"<urn:a> <urn:p> 1 .", "turtle")])
        True
        >>> store.add_to_graph("urn:g", [("body", b"<urn:a> <urn:p> 2 .", "turtle")])
        False
        >>> store.replace_graph("urn:g", [("body", b"<urn:a> <urn:p> 3 .", "turtle")])
        False
        >>> [row[0].value for row in store.query("SELECT ?o WHERE { GRAPH <urn:g> { <urn:a> <urn:p> ?o } }")]
        ['3']
        >>> store.remove_graph("urn:g"), store.has_graph("urn:g")
        (True, False)
        """
        return self._write_graph(graph, documents, base_iri, replace=True)

    def add_to_graph(self, graph: str, documents: Iterable[RdfInput], *, base_iri: str | None = None) -> bool:
        """Add the triples of ``documents`` to the named graph ``graph``, in one transaction; return whether
        the graph is new. Documents, errors and refusals as for :meth:`replace_graph`."""
        return self._write_graph(graph, documents, base_iri, replace=False)

    def remove_graph(self, graph: str) -> bool:
        """Remove the named graph ``graph`` and its triples; return False if there was none.

        Refuses the graphs the catalog describes, as :meth:`replace_graph` does (:meth:`drop` removes a dump)."""
        self._refuse_cataloged(graph)
        node = ox.NamedNode(graph)
        if not self._store.contains_named_graph(node):
            return False
        self._store.remove_graph(node)
        return True

    def _write_graph(self, graph: str, documents: Iterable[RdfInput], base_iri: str | None, *, replace: bool) -> bool:
        self._refuse_cataloged(graph)
        node = ox.NamedNode(graph)
        new = not self._store.contains_named_graph(node)
        if self.remote:  # a remote service bounds the size of an update: the triples go in bounded requests
            parsed = [ox.Quad(*t, node) for document in documents for t in _triples(*document, base_iri)]
            if replace:
                self._store.remove_graph(node)
            self._store.extend(parsed)
            return new
        triples = io.BytesIO()
        for name, content, format in documents:
            ox.serialize(_triples(name, content, format, base_iri), triples, ox.RdfFormat.N_TRIPLES)
        clear = f"DROP SILENT GRAPH <{graph}> ;\n" if replace else ""
        self._store.update(
            f"{clear}CREATE SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n"
            f"{triples.getvalue().decode()}}} }}"
        )
        return new

    def _refuse_cataloged(self, graph: str) -> None:
        """Raise a :class:`StoreError` if ``graph`` is one the catalog describes (or the catalog itself)."""
        check_iri(graph)
        if graph in (self.ids.catalog_graph, self.ids.shared_graph):
            kind = "catalog" if graph == self.ids.catalog_graph else "shared"
            raise StoreError(f"<{graph}> is provml's {kind} graph, which only loads and drops change")
        owner = graph if self.dump(graph) is not None else self._owner(graph)
        if owner is not None:
            raise StoreError(
                f"<{graph}> is a graph of the dump <{owner}>, which changes only as a whole: "
                "reload the dump (`provml load`, POST /ingest) or drop it"
            )

    # -- query, update, export ---------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        union: bool = True,
        graphs: Iterable[str] | None = None,
        named_graphs: Iterable[str] | None = None,
        bindings: dict[str, Term] | None = None,
        functions: dict[str, Callable[..., bool]] | None = None,
        base_iri: str | None = None,
        entailed: bool = True,
    ) -> QueryResult:
        """Run a SPARQL query; by default the default graph is the union of all graphs (unless it says FROM).

        ``graphs`` makes the default graph the merge of those named graphs instead, and ``named_graphs``
        limits the graphs ``GRAPH`` sees; either replaces the query's ``FROM`` clauses. ``entailed=False``
        leaves the entailment graph (:mod:`provml.entailment`) out of the union and of ``GRAPH``. ``base_iri``
        resolves relative IRIs. ``bindings``
        pre-binds variables to terms (SEP-0007 substitution: a value cannot inject SPARQL).
        ``functions`` defines boolean filter functions by IRI, called with :class:`Term` arguments.
        The prefixes of :data:`provml.vocab.PREFIXES` are predefined.
        """
        names = names_dataset(sparql)
        union = union and graphs is None and not names  # Oxigraph would ignore FROM
        if not entailed and not names and graphs is None and named_graphs is None:
            entailment = self.ids.entailed_graph
            named_graphs = [g.value for g in self._store.named_graphs() if not g.value.startswith(entailment)]
            graphs, union = (named_graphs if union else None), False
        options: dict[str, Any] = {"use_default_graph_as_union": union, "prefixes": PREFIXES}
        if graphs is not None:
            options["default_graph"] = [ox.NamedNode(g) for g in graphs]
        if named_graphs is not None:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        if base_iri is not None:
            options["base_iri"] = base_iri
        if bindings:
            options["substitutions"] = {ox.Variable(name): _ox_term(term) for name, term in bindings.items()}
        if functions and self.remote:
            options["members"] = {iri: {_ox_term(term) for term in _member_set(f)} for iri, f in functions.items()}
        elif functions:
            options["custom_functions"] = {ox.NamedNode(iri): _ox_function(f) for iri, f in functions.items()}
        try:
            return QueryResult(self._store.query(sparql, **options))
        except SyntaxError as error:
            raise QueryError(f"invalid SPARQL query: {error}") from None
        except (OSError, RuntimeError) as error:  # RuntimeError: a pre-bound variable the query does not project
            raise QueryError(f"query failed: {error}") from None

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """Run a SPARQL update in one transaction; ``base_iri`` resolves relative IRIs."""
        try:
            self._store.update(sparql, prefixes=PREFIXES, base_iri=base_iri)
        except SyntaxError as error:
            raise QueryError(f"invalid SPARQL update: {error}") from None
        except OSError as error:
            raise QueryError(f"update failed: {error}") from None

    def derive(self, construct: str, graphs: Iterable[str]) -> int:
        """Add to each of the named ``graphs`` the triples of a CONSTRUCT query over the union of all graphs
        (theirs included), in one transaction; return how many triples it gave.

        >>> store = Store()
        >>> store.add_rdf(b"<urn:a> <urn:p> <urn:b> .", "ntriples", graph="urn:g")
        >>> store.derive("CONSTRUCT { ?y <urn:q> ?x } WHERE { ?x <urn:p> ?y }", ["urn:derived"])
        1
        """
        try:
            triples = set(self._store.query(construct, use_default_graph_as_union=True, prefixes=PREFIXES))
        except SyntaxError as error:
            raise QueryError(f"invalid SPARQL query: {error}") from None
        targets = [ox.NamedNode(graph) for graph in graphs]
        self._store.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples for g in targets)
        return len(triples)

    def add_rdf(
        self, source: Path | bytes, format: str, *, graph: str | None = None, base_iri: str | None = None
    ) -> None:
        """Add an RDF document to a graph (the default graph when None) as it is: no dump, no catalog entry.

        For data that is not a dump: the ontology, a test's data graph, files to validate.
        """
        into = ox.NamedNode(graph) if graph is not None else ox.DefaultGraph()
        where, path = ({"path": source}, source) if isinstance(source, Path) else ({"input": source}, None)
        try:
            self._store.bulk_load(**where, format=RDF_FORMATS[format], base_iri=base_iri, to_graph=into)
        except SyntaxError as error:
            raise _syntax_error(error, path) from None
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=path) from None

    @property
    def oxigraph(self) -> ox.Store:
        """The pyoxigraph store itself, for libraries that read one directly (pySHACL)."""
        if self.remote:
            raise StoreError("--engine pyshacl reads an embedded store, not a remote one: use --engine fast")
        return self._store

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
        counts = {
            row[0].value.rsplit("#", 1)[1]: int(row[1].value)
            for row in self._store.query(query, use_default_graph_as_union=True)
        }
        return {
            "quads": len(self._store),
            "named graphs": sum(1 for _ in self._store.named_graphs()),
            "dumps": len(self.dumps()),
            **{c: counts.get(c, 0) for c in classes},
        }


def _ox_term(term: Term) -> Any:
    """Return a pyoxigraph term for a :class:`Term`."""
    if term.kind == "iri":
        return ox.NamedNode(term.value)
    if term.kind == "bnode":
        return ox.BlankNode(term.value)
    if term.language:
        return ox.Literal(term.value, language=term.language)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype) if term.datatype else None)


def _member_set(function: Callable[..., bool]) -> set[Term]:
    """Return the set whose membership ``function`` tests (a set's ``__contains__``): the only filter
    function a remote store can run, written into the query."""
    terms = getattr(function, "__self__", None)
    if not isinstance(terms, (set, frozenset)):
        raise StoreError("a remote store runs no Python filter functions but a set's membership test")
    return terms


def _ox_function(function: Callable[..., bool]) -> Callable[..., ox.Literal]:
    """Wrap a boolean function of :class:`Term` arguments as an Oxigraph custom function."""
    true, false = ox.Literal(True), ox.Literal(False)
    return lambda *args: true if function(*(_term(arg) for arg in args)) else false


def _triples(name: str, content: bytes, format: str, base_iri: str | None) -> Iterator[Any]:
    """Yield the triples of an RDF document (fresh blank nodes); a syntax error or a quad in a named
    graph is an :class:`InputError` with ``name`` as its source."""
    parser = ox.parse(input=content, format=RDF_FORMATS[format], base_iri=base_iri, rename_blank_nodes=True)
    try:
        for quad in parser:
            if not isinstance(quad.graph_name, ox.DefaultGraph):
                raise InputError(f"it names the graph {quad.graph_name}: send a graph's triples only", source=name)
            yield quad.triple
    except SyntaxError as error:
        raise _syntax_error(error, name) from None


def read_statements(document: RdfDocument, predicates: Iterable[str]) -> Iterator[tuple[Term, str, Term]]:
    """Yield ``(subject, predicate IRI, object)`` of each triple of an RDF file whose predicate is one of
    ``predicates``, whatever graph it is in; a file that does not parse is an :class:`InputError`."""
    wanted = {ox.NamedNode(iri) for iri in predicates}
    with _parser_input(document) as (source, report):
        try:
            for quad in ox.parse(**source, format=RDF_FORMATS[document.format], base_iri=document.base_iri):
                if quad.predicate in wanted:
                    yield _term(quad.subject), quad.predicate.value, _term(quad.object)
            report()
        except SyntaxError as error:
            raise _syntax_error(error, document.path) from None
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise InputError(f"cannot read: {error.strerror or error}", source=document.path) from None


def _syntax_error(error: SyntaxError, source: str | Path | None) -> InputError:
    """The InputError of a parser's syntax error: the source, its line, and the column in the message."""
    message = _PARSER_POSITION.sub("", error.msg)
    return InputError(f"column {error.offset}: {message}", source=source, line=error.lineno)


def _members(concatenated: ox.Literal | None) -> tuple[str, ...]:
    return tuple(sorted(concatenated.value.split())) if concatenated is not None else ()


def _count(literal: ox.Literal | None) -> int | None:
    return int(literal.value) if literal is not None else None


@contextmanager
def _parser_input(document: RdfDocument) -> Iterator[tuple[dict[str, Any], Callable[[], None]]]:
    """Yield what ``pyoxigraph.parse`` reads a document from, and a function that reports how much of the
    file it read so far to ``document.on_bytes``.

    A plain file is given by its path: Oxigraph then reads it itself, ~13% faster than through a Python
    file object, and how far it got is the position of its file descriptor (Linux; elsewhere the whole
    file is reported when it was read). A gzipped file is decompressed by Python, counting what is read.
    """
    on_bytes = document.on_bytes or (lambda n: None)
    try:
        size = document.path.stat().st_size
        raw = document.path.open("rb") if document.compressed else None
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=document.path) from None
    if raw is not None:
        with raw:
            counted = _CountingReader(raw, on_bytes)
            yield {"input": gzip.GzipFile(fileobj=counted)}, lambda: None
        return
    position = _ParserPosition(document.path)
    yield {"path": document.path}, lambda: on_bytes(position.advance())
    on_bytes(size - position.reported)


class _ParserPosition:
    """How far Oxigraph's parser read a file it opened itself: the offset of its descriptor, from /proc."""

    def __init__(self, path: Path) -> None:
        self.path, self.reported = str(path.resolve()), 0
        self.before = self._descriptors()  # the file may be open already, elsewhere in the process
        self.fdinfo: Path | None = None

    def _descriptors(self) -> set[str]:
        """Return the descriptors open on the file (none where /proc does not exist)."""
        found = set()
        for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
            with suppress(OSError):  # a descriptor closed meanwhile (listdir's own)
                if os.readlink(f"/proc/self/fd/{fd}") == self.path:
                    found.add(fd)
        return found

    def advance(self) -> int:
        """Return how many more bytes the parser read since the last call (0 where this cannot be known)."""
        try:
            if self.fdinfo is None:
                self.fdinfo = Path(f"/proc/self/fdinfo/{next(iter(self._descriptors() - self.before))}")
            offset = int(self.fdinfo.read_text().split()[1])  # "pos: <offset>" is the first line
        except (OSError, StopIteration, ValueError, IndexError):
            return 0
        delta, self.reported = max(0, offset - self.reported), max(self.reported, offset)
        return delta


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes were read from it, every :data:`_REPORT_BYTES`."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self.raw, self.on_bytes, self.unreported = raw, on_bytes, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.unreported += n
        if self.unreported >= _REPORT_BYTES or not n:
            self.on_bytes(self.unreported)
            self.unreported = 0
        return n


@dataclass(eq=False)
class _PendingLoad:
    """A dump being loaded: where its quads go, and how far it got."""

    dump: Dump
    target: str  # its graph, or a staging graph when it replaces a loaded dump
    replacing: bool = False
    start: int = 0  # index of its first line in the batch's buffer
    members: dict[str, str] = field(default_factory=dict)  # named graphs of its input -> where they are written
    shared: set[Quad] = field(default_factory=set)  # its quads for the shared graph, up to SHARED_HELD...
    spill: IO[bytes] | None = None  # ...and beyond, as N-Triples in a temporary file
    spilled: int = 0
    marked: set[str] = field(default_factory=set)  # targets marked "loading" in the catalog (so they may hold quads)
    done: bool = False  # all its quads were read
    shared_stage: str | None = None  # where its shared quads wait to be validated
    report: Any = None  # its validation report
    finished: bool = False  # committed, or dropped: nothing of it is left to undo

    def targets(self) -> list[str]:
        """Return every graph this load writes (its shared quads' stage aside)."""
        return [self.target, *self.members.values()]

    def written(self) -> list[str]:
        """Return every graph this load wrote, the stage of its shared quads included."""
        return [*self.targets(), *([self.shared_stage] if self.shared_stage else [])]

    def triples(self, counts: dict[str, int]) -> int:
        """Return the dump's triple count: what its own graphs hold, not what it adds to the shared graph."""
        return sum(counts.get(target, 0) for target in self.targets())

    def close(self) -> None:
        """Delete its spilled shared triples, if any."""
        if self.spill is not None:
            self.spill.close()


class _Batch:
    """Buffers the quads of consecutive dumps and writes them with one bulk load per chunk."""

    def __init__(
        self, store: Store, on_chunk: Callable[[int], None] | None, check: LoadCheck | None, jobs: int = 1
    ) -> None:
        self.store, self.on_chunk, self.check, self.jobs = store, on_chunk, check, jobs
        self.lines: list[str] = []
        self.pending: list[_PendingLoad] = []
        self.shared_graph = f"<{store.ids.shared_graph}>"
        # with jobs > 1, chunks are written by threads (Oxigraph's bulk load, or the HTTP requests of a
        # remote store, let Python go on), while the next chunk is read: writes in flight, oldest first...
        self.writer = ThreadPoolExecutor(jobs, thread_name_prefix="provml-write") if jobs > 1 else None
        self.writes: list[Future[None]] = []
        # ...and the dumps read whole, each group with the writes it waits for before it commits
        self.waiting: list[tuple[list[Future[None]], list[_PendingLoad]]] = []

    def holds(self, graph: str) -> bool:
        """Return True if a dump into ``graph`` is pending in this batch, or waits to commit."""
        loads = [*self.pending, *(load for _, group in self.waiting for load in group)]
        return any(load.dump.graph == graph for load in loads)

    def add(self, dump: Dump, *, replacing: bool) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        """Read one dump into the buffer, writing full chunks; yield the dumps those writes complete."""
        target = dump.graph if not replacing else self._staging()
        load = _PendingLoad(dump, target, replacing, start=len(self.lines))
        self.pending.append(load)
        try:
            if isinstance(dump.quads, RdfDocument):
                yield from self.flush()  # the document's chunks go straight to the store
                self._write_document(load, dump.quads)
            else:
                yield from self._buffer(load, dump.quads)
        except ProvmlError as error:
            self._drop(load)
            yield dump, error
            return
        load.done = True
        if replacing or isinstance(dump.quads, RdfDocument):  # swapped in at once, never waiting in a batch
            yield from self.flush()

    def _buffer(self, load: _PendingLoad, quads: Iterable[Quad]) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        own, shared, lines = f"<{load.dump.graph}>", self.shared_graph, self.lines
        places = {own: f"<{load.target}>"}
        for quad in quads:
            graph = quad[3]
            place = places.get(graph)
            if place is None:
                if graph == shared:
                    if len(load.shared) < SHARED_HELD:
                        load.shared.add(quad)
                    else:
                        self._spill(load, quad)
                    continue
                place = places[graph] = f"<{self._member(load, graph[1:-1])}>"
            lines.append(f"{quad[0]} {quad[1]} {quad[2]} {place} .\n")
            if len(lines) >= CHUNK_QUADS:
                yield from self.flush()
                lines = self.lines

    @staticmethod
    def _spill(load: _PendingLoad, quad: Quad) -> None:
        """Write a shared quad of a dump that holds too many to a temporary file (deleted when closed)."""
        if load.spill is None:
            load.spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _PendingLoad.close
        load.spill.write(f"{quad[0]} {quad[1]} {quad[2]} .\n".encode())
        load.spilled += 1

    def _write_document(self, load: _PendingLoad, document: RdfDocument) -> None:
        def graph_of(name: Any) -> ox.NamedNode:
            if isinstance(name, ox.DefaultGraph):
                return ox.NamedNode(load.target)
            if isinstance(name, ox.BlankNode):  # a graph without a name of its own: named after the dump
                return ox.NamedNode(self._member(load, f"{load.dump.graph}/graph/{name.value}", own=True))
            return ox.NamedNode(self._member(load, name.value))

        for chunk in self.store._document_chunks(document, graph_of):
            self._mark([load])
            self.store._store.bulk_extend(chunk)
            if self.on_chunk:
                self.on_chunk(len(chunk))

    def _staging(self) -> str:
        return f"{self.store.ids.base}graph/staging/{uuid.uuid4()}"

    def _member(self, load: _PendingLoad, name: str, *, own: bool = False) -> str:
        """Return where a named graph of a dump's input is written; refuse graphs that are not the dump's to write."""
        if name in load.members:
            return load.members[name]
        source, ids = load.dump.source, self.store.ids
        if name.startswith("_:"):
            raise InputError("a quad names a blank-node graph, which provml cannot keep apart", source=source)
        if not own and name.startswith(ids.base + "graph/"):
            raise InputError(
                f"the input names the graph <{name}>, which is provml's own: an export of a provml "
                "store? load the dumps it was made from instead",
                source=source,
            )
        owner = self.store._owner(name) or next(
            (other.dump.graph for other in self.pending if name in other.members), None
        )
        if owner is not None and owner != load.dump.graph:
            raise InputError(
                f"the input names the graph <{name}>, which belongs to the dump <{owner}>; "
                "drop that dump first (`provml drop`)",
                source=source,
            )
        if owner is None and self.store._store.contains_named_graph(ox.NamedNode(name)):
            raise InputError(
                f"the input names the graph <{name}>, which the store already holds outside any dump", source=source
            )
        load.members[name] = self._staging() if load.replacing else name
        return load.members[name]

    def _mark(self, loads: list[_PendingLoad]) -> None:
        """Mark the graphs these loads are about to write as loading, so that a killed load can be undone."""
        unmarked = [target for load in loads for target in load.written() if target not in load.marked]
        if unmarked:
            self.store._mark_loading(unmarked)
            for load in loads:
                load.marked.update(load.written())

    def flush(self, *, drain: bool = False) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        """Write the buffer, then commit every dump that was read whole, once its writes are done (with
        ``drain``, wait for them all)."""
        if self.lines:
            self._mark(self.pending)
            self._write(self.lines)
            if self.on_chunk:
                self.on_chunk(len(self.lines))
            for load in self.pending:
                load.start = 0
            self.lines = []
        done = [load for load in self.pending if load.done]
        if done:
            self.pending = [load for load in self.pending if not load.done]
            self.waiting.append((list(self.writes), done))
        while self.waiting and (drain or all(write.done() for write in self.waiting[0][0])):
            writes, loads = self.waiting[0]
            for write in writes:
                write.result()  # a writer's error (a bug) stops the load here: abandon() undoes the group
            yield from self._finish(loads)
            self.waiting.pop(0)
        # a write that failed (a bug) stays, so that the next dumps to commit wait on it and raise its error
        self.writes = [write for write in self.writes if not write.done() or write.exception() is not None]

    def _write(self, lines: list[str]) -> None:
        """Write a chunk: now, or in a thread once fewer than ``jobs`` writes are in flight."""
        if self.writer is None:
            self.store._bulk(lines)
            return
        if len(self.writes) >= self.jobs:
            wait(self.writes, return_when=FIRST_COMPLETED)
            self.writes = [write for write in self.writes if not write.done() or write.exception()]
        self.writes.append(self.writer.submit(self.store._bulk, lines))

    def _settle(self) -> None:
        """Wait for the writes in flight (before what they wrote is removed)."""
        wait(self.writes)

    def close(self) -> None:
        """Stop the writer threads (after the last write)."""
        if self.writer is not None:
            self.writer.shutdown(wait=True)

    def _finish(self, done: list[_PendingLoad]) -> Iterator[tuple[Dump, LoadResult | ProvmlError]]:
        """Validate dumps read and written whole, and commit those not refused."""
        refused = self._validate(done) if self.check is not None else {}
        for load in refused:
            self._drop(load)
        done = [load for load in done if load not in refused]
        counts = self.store._counts([target for load in done for target in load.targets()]) if done else {}
        if done:
            self.store._commit(done, counts)
        for load in done:
            load.finished = True  # before yielding: committed is final
        for load in done:
            if load.shared_stage is not None:
                self.store._discard(load.shared_stage)
            shared = len(load.shared) + load.spilled
            result = LoadResult(load.dump.graph, load.triples(counts), shared, load.replacing, report=load.report)
            yield load.dump, result
        for load, error in refused.items():
            yield load.dump, error

    def _validate(self, loads: list[_PendingLoad]) -> dict[_PendingLoad, ProvmlError]:
        """Validate loads read whole, before they commit; return those refused, with their errors.

        When one is refused the others are checked again without it: they may have leant on it.
        """
        assert self.check is not None
        for load in loads:
            self._stage_shared(load)
        refused: dict[_PendingLoad, ProvmlError] = {}
        remaining = list(loads)
        while remaining:
            focus = [graph for load in remaining for graph in load.written()]
            report = self.check(self.store, focus, self._data_graphs(remaining))
            for load, results in self._by_load(report, remaining).items():
                load.report = type(report)(results, engine=report.engine, notes=report.notes)
            newly = {
                load: ValidationError(
                    f"refused: {len(load.report.violations):,} violations of the SHACL shapes "
                    "(--accept-invalid stores it anyway)",
                    report=load.report,
                    source=load.dump.source,
                )
                for load in remaining
                if load.report.violations and not self.check.accept_invalid
            }
            if not newly:
                break
            refused.update(newly)
            remaining = [load for load in remaining if load not in newly]
        return refused

    def _stage_shared(self, load: _PendingLoad) -> None:
        """Write a load's shared quads to a graph of their own, so that validation sees them."""
        if not load.shared and load.spill is None:
            return
        load.shared_stage = self._staging()
        self._mark([load])
        stage = ox.NamedNode(load.shared_stage)
        held = ox.parse(
            input="".join(f"{s} {p} {o} .\n" for s, p, o, _ in load.shared).encode(), format=ox.RdfFormat.N_TRIPLES
        )
        self.store._store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, stage) for t in held)
        if load.spill is not None:
            self.store._copy_spill(load.spill, stage)

    def _data_graphs(self, loads: list[_PendingLoad]) -> list[str] | None:
        """Return the graphs validation sees: None (all) unless a load replaces graphs it must not see.

        Naming the others makes every query a merge of named graphs, several times slower than the
        union; when each triple of the replaced versions is also in another graph (a reload that
        changed little), the union is the same without them, so it is used.
        """
        replaced = set()
        for load in loads:
            if load.replacing and (info := self.store.dump(load.dump.graph)) is not None:
                replaced.update((info.graph, *info.graphs))
        if not replaced or not self._held_only_by(replaced):
            return None
        return [
            g.value for g in self.store._store.named_graphs() if isinstance(g, ox.NamedNode) and g.value not in replaced
        ]

    def _held_only_by(self, graphs: set[str]) -> bool:
        """Return whether some triple of ``graphs`` is in no other graph."""
        names = [f"<{g}>" for g in graphs]
        return bool(
            self.store.query(
                f"ASK {{ VALUES ?g {{ {' '.join(names)} }} GRAPH ?g {{ ?s ?p ?o }} "
                f"FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?p ?o }} FILTER(?h NOT IN ({', '.join(names)})) }} }}",
                union=False,
            )
        )

    def _by_load(self, report: Any, loads: list[_PendingLoad]) -> dict[_PendingLoad, list[Any]]:
        """Share a report's results out to the loads whose graphs have their focus node as a subject."""
        found: dict[_PendingLoad, list[Any]] = {load: [] for load in loads}
        if len(loads) == 1:
            found[loads[0]] = list(report.results)
            return found
        focus = {result.focus for result in report.results}
        owner = {graph: load for load in loads for graph in load.written()}
        rows = self.store.query(
            f"SELECT DISTINCT ?s ?g WHERE {{ VALUES ?g {{ {' '.join(f'<{g}>' for g in owner)} }} "
            f"GRAPH ?g {{ ?s ?p ?o }} FILTER(<{_MEMBER}>(?s)) }}",
            union=False,
            functions={_MEMBER: focus.__contains__},
        )
        subjects: dict[Term, set[_PendingLoad]] = {}
        for subject, graph in rows:
            subjects.setdefault(subject, set()).add(owner[graph.value])
        for result in report.results:
            for load in subjects.get(result.focus, ()):
                found[load].append(result)
        return found

    def _drop(self, load: _PendingLoad) -> None:
        """Forget a dump that failed: its lines in the buffer, and what of it was already written."""
        if not load.done:  # a dump read whole has no lines left in the buffer
            del self.lines[load.start :]
            self.pending.remove(load)
        self._settle()
        for target in load.marked:
            self.store._discard(target)
        load.close()
        load.finished = True

    def abandon(self) -> None:
        """Remove what the pending dumps, and those waiting to commit, wrote (on an interrupt or a bug)."""
        self._settle()
        for load in [*self.pending, *(load for _, group in self.waiting for load in group if not load.finished)]:
            for target in load.marked:
                self.store._discard(target)
            load.close()
        self.pending, self.lines, self.waiting = [], [], []
