"""Link the store to external ontologies: each in a named graph of its own, its imports found among local files.

``provml link`` reads ontology files (Turtle, N-Triples, RDF/XML, OWL/XML), follows their ``owl:imports``
to other local files (those given, and those in the folders given as ``search``), and loads each ontology
into the named graph of its IRI as one dump of the catalog (loader ``ontology``): linking a changed file
again replaces its graph, an unchanged one is skipped. PROV-O, ML Schema, PROV-ML and the alignment of ML
Schema with PROV-O that PROV-ML defines are provml's own: an import of them needs no file, and they are
linked too, so that queries can cross all the ontologies. An import that no file holds is fetched only
from a place on the allow-list (:func:`fetch_ontology`). Each link ends by computing the entailment graph
again (:mod:`provml.entailment`).

Before anything is stored, HermiT (owlready2) checks that PROV-ML with every linked ontology — those linked
before and the new ones — is consistent, and names each unsatisfiable class; either is a
:class:`~provml.errors.LinkError` and the store is left as it was.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from provml import rdf
from provml.endpoints import allowed_endpoint
from provml.entailment import Entailment, refresh
from provml.errors import InputError, LinkError, ProvmlError
from provml.loaders._base import file_sha256, read_head
from provml.rdf import Quad, RdfDocument
from provml.resources import ontology_file
from provml.store import Dump, LoadResult, Store, Term, read_statements
from provml.vocab import OWL, RDF

LOADER = "ontology"  # the loader name the catalog records for a linked ontology
REASONED_FILES = ("prov-o.ttl", "mls.ttl", "provml.ttl")  # in import order: provml.reasoning's world
SHIPPED_FILES = (*REASONED_FILES, "prov-mls-alignment.ttl")
FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "ntriples", ".rdf": "rdfxml", ".owx": "owlxml"}
_XML_ENDINGS = (".owl", ".xml")  # RDF/XML or OWL/XML: the content says which
_HEAD = (RDF.type, OWL.imports, OWL.versionIRI)
MAX_DOWNLOAD = 256 << 20  # bytes of one fetched import
_ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/n-triples;q=0.8, application/owl+xml;q=0.7"
_SUFFIXES = {
    "text/turtle": ".ttl",
    "application/rdf+xml": ".rdf",
    "application/n-triples": ".nt",
    "application/owl+xml": ".owx",
}


@dataclass(frozen=True)
class Linked:
    """What a link did: a load per ontology (imports first), and the entailment graph computed after."""

    loads: list[LoadResult]
    entailment: Entailment


@dataclass(frozen=True)
class Ontology:
    """An ontology file: its IRI (the file's URI if it declares none), the other IRIs it answers to (more
    ``owl:Ontology`` subjects, ``owl:versionIRI``), and the IRIs it imports."""

    iri: str
    source: Path
    format: str  # turtle, ntriples, rdfxml or owlxml
    names: tuple[str, ...]
    imports: tuple[str, ...]
    url: str | None = None  # where it was fetched from, if it was

    @property
    def origin(self) -> str:
        """Where it comes from, for the catalog: its URL, else its file."""
        return self.url or str(self.source.resolve())

    def quads(self) -> Iterable[Quad] | RdfDocument:
        """Its content, for :meth:`provml.store.Store.load`."""
        if self.format == "owlxml":
            return [(s, p, o, rdf.iri(self.iri)) for s, p, o in _owlxml_triples(self.source)]
        return RdfDocument(self.source, self.format, base_iri=self.source.resolve().as_uri())


def ontology_format(path: Path) -> str:
    """Return the format of an ontology file, by its name or, for ``.owl`` and ``.xml``, its content."""
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix in _XML_ENDINGS:
        head = read_head(path, 4096)
        return "owlxml" if b"<Ontology" in head and b"<rdf:RDF" not in head else "rdfxml"
    raise InputError(
        f"not an ontology file this reads: use {', '.join(sorted((*FORMATS, *_XML_ENDINGS)))}", source=path
    )


def read_ontology(path: Path) -> Ontology:
    """Read the IRI, other names and imports of an ontology file."""
    if not path.is_file():
        raise InputError("no such file", source=path)
    format = ontology_format(path)
    if format == "owlxml":
        statements: Iterable[tuple[str, str, str]] = (
            (s.strip("<>"), p.strip("<>"), o.strip("<>")) for s, p, o in _owlxml_triples(path) if p.strip("<>") in _HEAD
        )
    else:
        statements = (
            (_value(s), p, _value(o))
            for s, p, o in read_statements(RdfDocument(path, format, base_iri=path.resolve().as_uri()), _HEAD)
        )
    declared, versions, imports = [], [], []
    for subject, predicate, value in statements:
        if predicate == RDF.type and value == OWL.Ontology and not subject.startswith("_:"):
            declared.append(subject)
        elif predicate == OWL.versionIRI:
            versions.append(value)
        elif predicate == OWL.imports:
            imports.append(value)
    iri = declared[0] if declared else path.resolve().as_uri()
    names = tuple(dict.fromkeys((*declared, *versions)))
    return Ontology(iri, path, format, names, tuple(dict.fromkeys(imports)))


@functools.cache
def shipped() -> tuple[Ontology, ...]:
    """PROV-O, ML Schema, PROV-ML and their alignment, as provml ships them (read once)."""
    return tuple(read_ontology(ontology_file(name)) for name in SHIPPED_FILES)


def gather(
    paths: Sequence[Path],
    search: Sequence[Path] = (),
    ignore: Sequence[str] = (),
    *,
    allow: Sequence[str] = (),
    downloads: Path | None = None,
) -> list[Ontology]:
    """Read ``paths`` and, from ``paths`` and the files in their folders and the ``search`` folders, every
    ontology they import, recursively; imports come before the ontologies that import them. An import found
    in no file is fetched into ``downloads`` if its IRI is under an ``allow`` endpoint; else it is a
    :class:`LinkError`, unless it is one of ``ignore``."""
    search = [*search, *dict.fromkeys(path.parent for path in paths)]
    known = {name: ontology for ontology in shipped() for name in _aliases(ontology)}
    given = list(dict.fromkeys(read_ontology(path) for path in paths))
    available: dict[str, Ontology] = {}
    for ontology in given:
        if ontology.iri in known:
            raise LinkError(f"declares {ontology.iri}, which provml ships and links itself", source=ontology.source)
        if ontology.iri in available and available[ontology.iri].source != ontology.source:
            other = available[ontology.iri].source
            raise LinkError(f"declares {ontology.iri}, as {other} does: link one of them", source=ontology.source)
        available.update(dict.fromkeys(_aliases(ontology), ontology))
    searched = False
    ordered: list[Ontology] = []

    def visit(ontology: Ontology, chain: tuple[str, ...]) -> None:
        nonlocal searched
        if ontology in ordered or ontology.iri in chain:  # done, or an import cycle (OWL allows them)
            return
        for imported in ontology.imports:
            if imported in known or imported in ignore:
                continue
            if imported not in available and not searched:
                searched = True
                for candidate in _search(search):
                    for name in _aliases(candidate):
                        available.setdefault(name, candidate)
            if imported not in available and downloads is not None and allowed_endpoint(imported, allow):
                fetched = fetch_ontology(imported, downloads)
                available.update(dict.fromkeys((imported, *_aliases(fetched)), fetched))
            if imported not in available:
                folders = ", ".join(str(folder) for folder in search)
                raise LinkError(
                    f"imports {imported}, which no file given or found declares (folders searched: {folders}); "
                    "give its file, or its folder with --imports, or link without it with --ignore-import "
                    f"{imported} (nothing is fetched from a place that --allow-remote does not name)",
                    source=ontology.source,
                )
            visit(available[imported], (*chain, ontology.iri))
        ordered.append(ontology)

    for ontology in given:
        visit(ontology, ())
    return ordered


def link(
    store: Store,
    paths: Sequence[Path],
    *,
    search: Sequence[Path] = (),
    ignore: Sequence[str] = (),
    allow: Sequence[str] = (),
    check: bool = True,
) -> Linked:
    """Link the ontologies of ``paths`` and their imports (but those in ``ignore``) to ``store``: each into the
    named graph of its IRI; with ``check``, only if HermiT finds PROV-ML with every linked ontology
    consistent and coherent. Then compute the entailment graph again. Imports found in no file are fetched
    from under the ``allow`` endpoints only."""
    with tempfile.TemporaryDirectory(prefix="provml-imports-") as downloads:
        return _link(store, [*shipped(), *gather(paths, search, ignore, allow=allow, downloads=Path(downloads))], check)


def _link(store: Store, ontologies: list[Ontology], check: bool) -> Linked:
    if check and (unsatisfiable := check_linked(store, ontologies)):
        count, shown = len(unsatisfiable), ", ".join(unsatisfiable[:10])
        more = f" and {count - 10} more" if count > 10 else ""
        raise LinkError(
            f"{count} unsatisfiable class{'es' if count > 1 else ''} (no individual can belong to one) in PROV-ML "
            f"with the linked ontologies: {shown}{more}",
            unsatisfiable=tuple(unsatisfiable),
        )
    dumps = [Dump(o.iri, o.quads(), o.origin, LOADER, file_sha256(o.source)) for o in ontologies]
    results = []
    for _, outcome in store.load_many(dumps):
        if isinstance(outcome, ProvmlError):
            raise outcome
        results.append(outcome)
    return Linked(results, refresh(store))


def fetch_ontology(iri: str, downloads: Path) -> Ontology:
    """Fetch the ontology at ``iri`` (an allow-listed place: the caller checked) into ``downloads``; a redirect,
    an error status, an unknown type or more than :data:`MAX_DOWNLOAD` bytes is a :class:`LinkError`."""
    import httpx

    try:
        with httpx.stream("GET", iri, headers={"Accept": _ACCEPT}, timeout=60, follow_redirects=False) as response:
            if response.status_code != 200:
                where = response.headers.get("location")
                more = f" to {where}: allow-list that place, or give the file" if where else ""
                raise LinkError(f"fetching import {iri}: HTTP {response.status_code}{more}")
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            suffix = _SUFFIXES.get(media) or Path(urlsplit(iri).path).suffix.lower()
            if suffix not in (*FORMATS, *_XML_ENDINGS):
                raise LinkError(f"fetching import {iri}: {media or 'no content type'} is not an ontology format")
            target = downloads / f"{hashlib.sha1(iri.encode()).hexdigest()[:16]}{suffix}"
            size = 0
            with target.open("wb") as file:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD:
                        raise LinkError(f"fetching import {iri}: over {MAX_DOWNLOAD >> 20} MiB")
                    file.write(chunk)
    except httpx.HTTPError as error:
        raise LinkError(f"fetching import {iri}: {error}") from None
    return dataclasses.replace(read_ontology(target), url=iri)


def linked(store: Store) -> list[str]:
    """The graphs of the ontologies linked to ``store``."""
    return [dump.graph for dump in store.dumps() if dump.loader == LOADER]


def check_linked(store: Store, ontologies: Sequence[Ontology]) -> list[str]:
    """Run HermiT on PROV-ML, the ontologies linked to ``store`` before and ``ontologies``; return the IRIs of
    the unsatisfiable classes. Inconsistency is a :class:`LinkError`."""
    from provml import reasoning

    world = reasoning.load_ontology_world()
    new = {o.iri for o in ontologies}
    in_world = {o.iri for o in shipped() if o.source.name in REASONED_FILES}
    documents = [(iri, _graph_ntriples(store, iri)) for iri in linked(store) if iri not in new | in_world]
    documents += [(o.iri, ontology_ntriples(o)) for o in ontologies if o.iri not in in_world]
    for iri, ntriples in documents:
        world.get_ontology(iri).load(fileobj=io.BytesIO(ntriples))
    try:
        return reasoning.check_consistency(world)
    except ProvmlError as error:
        raise LinkError(f"PROV-ML with the linked ontologies: {error.message}") from None


def ontology_ntriples(ontology: Ontology) -> bytes:
    """The ontology as N-Triples, without its ``owl:imports`` (for owlready2 and :mod:`provml.suggest`)."""
    if ontology.format == "owlxml":
        return _without_imports("".join(f"{s} {p} {o} .\n" for s, p, o in _owlxml_triples(ontology.source)).encode())
    memory = Store()
    memory.add_rdf(ontology.source, ontology.format, graph=ontology.iri, base_iri=ontology.source.resolve().as_uri())
    return _graph_ntriples(memory, ontology.iri)


def _graph_ntriples(store: Store, graph: str) -> bytes:
    """A graph of ``store`` as N-Triples, for owlready2."""
    output = io.BytesIO()
    store.export(output, "ntriples", graph=graph)
    return _without_imports(output.getvalue())


def _without_imports(ntriples: bytes) -> bytes:
    """Drop the ``owl:imports`` lines: provml loads every import itself, and owlready2 would fetch from the web
    an import it does not hold already."""
    imports = rdf.iri(OWL.imports).encode()
    return b"".join(line for line in ntriples.splitlines(keepends=True) if line.split(b" ", 2)[1:2] != [imports])


def _aliases(ontology: Ontology) -> tuple[str, ...]:
    """The IRIs an import may name the ontology by: its names, with and without a trailing ``#`` or ``/``."""
    names = (ontology.iri, *ontology.names)
    return tuple(dict.fromkeys(v for name in names for v in (name, name.rstrip("#/"), name.rstrip("#/") + "#")))


def _search(folders: Sequence[Path]) -> Iterator[Ontology]:
    for folder in folders:
        if not folder.is_dir():
            raise InputError("no such folder", source=folder)
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix.lower() in (*FORMATS, *_XML_ENDINGS):
                try:
                    yield read_ontology(path)
                except InputError:
                    continue  # not an ontology this reads: another file of the folder


def _owlxml_triples(path: Path) -> list[tuple[str, str, str]]:
    """The triples of an OWL/XML file as N-Triples terms, read by owlready2's OWL/XML parser."""
    try:
        from owlready2 import owlxml_2_ntriples
        from owlready2.base import OwlReadyOntologyParsingError
    except ImportError:
        raise InputError('OWL/XML needs owlready2: install "provml[reasoning]"', source=path) from None
    triples: list[tuple[str, str, str]] = []

    def node(value: str) -> str:
        return f"_:b{value.lstrip('_')}" if value.startswith("_") else rdf.iri(value)

    def on_object(s: str, p: str, o: str) -> None:
        triples.append((node(s), rdf.iri(p), node(o)))

    def on_data(s: str, p: str, o: Any, d: str) -> None:
        text = rdf.string(str(o))
        literal = f"{text}{d}" if d and d.startswith("@") else f"{text}^^<{d}>" if d else text
        triples.append((node(s), rdf.iri(p), literal))

    try:
        with path.open("rb") as stream:
            owlxml_2_ntriples.parse(stream, on_object, on_data)
    except (OwlReadyOntologyParsingError, OSError) as error:
        raise InputError(f"not OWL/XML this reads: {error}", source=path) from None
    return triples


def _value(term: Term) -> str:
    return f"_:{term.value}" if term.kind == "bnode" else term.value
