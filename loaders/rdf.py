"""Loader of RDF files (Turtle, TriG, N-Triples, N-Quads, RDF/XML, JSON-LD), plain or gzipped.

The file is handed to the store, whose Oxigraph parser reads it in chunks (no per-triple Python
work beyond placing each quad in its graph). The default graph of the file goes to the dump's
graph; named graphs (TriG, N-Quads, JSON-LD) keep their names and belong to the dump.

>>> RdfLoader().format_of(Path("runs.ttl.gz"))
('turtle', True)
"""

from __future__ import annotations

from pathlib import Path

from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, read_head
from provml.rdf import RdfDocument

FORMATS = {  # file-name ending -> format name of provml.store.RDF_FORMATS
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".trig": "trig",
    ".nt": "ntriples",
    ".ntriples": "ntriples",
    ".nq": "nquads",
    ".nquads": "nquads",
    ".rdf": "rdfxml",
    ".owl": "rdfxml",
    ".jsonld": "jsonld",
}
_STARTS = {  # how a file of each format usually begins, after blanks (for files without a known ending)
    "turtle": (b"@prefix", b"@base", b"PREFIX", b"BASE", b"prefix"),
    "rdfxml": (b"<?xml", b"<rdf:RDF"),
}


class RdfLoader(Loader):
    """Read standard RDF files, as they are: no mapping, the triples go in as the file states them."""

    name = "rdf"
    description = "RDF: Turtle, TriG, N-Triples, N-Quads, RDF/XML, JSON-LD (optionally gzipped), parsed by Oxigraph"
    extensions = tuple(ending + gz for ending in FORMATS for gz in ("", ".gz"))

    def format_of(self, path: Path) -> tuple[str, bool] | None:
        """Return the format a file's name says, and whether it is gzipped; None if the name says nothing."""
        name = path.name.lower()
        compressed = name.endswith(".gz")
        name = name.removesuffix(".gz")
        ending = next((e for e in FORMATS if name.endswith(e)), None)
        return (FORMATS[ending], compressed) if ending else None

    def sniff(self, path: Path) -> bool:
        """Return True for a file with an RDF file-name ending, or one that starts like Turtle or RDF/XML."""
        if path.is_dir():
            return False
        return self.format_of(path) is not None or self._format_by_content(path) is not None

    def _format_by_content(self, path: Path) -> str | None:
        head = read_head(path, 512).lstrip()
        return next((fmt for fmt, starts in _STARTS.items() if head.startswith(starts)), None)

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> RdfDocument:
        """Return the file for the store to parse; relative IRIs resolve against the file's own URI."""
        path = Path(source)
        rdf_format, compressed = self.format_of(path) or (self._format_by_content(path) or "turtle", False)
        return RdfDocument(path, rdf_format, compressed, base_iri=path.resolve().as_uri(), on_bytes=on_bytes)
