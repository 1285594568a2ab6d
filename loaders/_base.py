"""What every loader is: a name, what it reads, how to recognise it, and what it turns a source into.

A *source* is one dump: a file, a directory a loader claims whole (an MLflow tracking directory),
or a URI (an MLflow tracking server). A loader reads it into either a stream of text quads
(:data:`provml.rdf.Quad`), mapped in Python, or an :class:`~provml.rdf.RdfDocument` the store
parses itself: RDF needs no mapping, and Oxigraph's parsers are far faster than quads built in Python.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path

from provml.errors import InputError
from provml.ids import IriMinter
from provml.rdf import Quad, RdfDocument

ProgressCallback = Callable[[int], None]
Source = Path | str  # a file or directory, or a URI (``http://...``, ``sqlite:///...``)


class Loader(ABC):
    """A source format: turns one source (a dump) into PROV-ML quads, knowing nothing of storage.

    ``extensions`` are the file-name endings it claims; ``directories`` says that :meth:`sniff`
    may claim a whole directory; ``schemes`` are the URI schemes it reads. Of the loaders that claim
    a file's ending, those of higher ``precedence`` sniff it first: a dialect before the format it
    extends (Flowcept's messages before provml events, whose field names are Flowcept's).
    """

    name: str
    description: str
    extensions: tuple[str, ...] = ()
    precedence: int = 0
    directories: bool = False
    schemes: tuple[str, ...] = ()

    @abstractmethod
    def sniff(self, source: Path) -> bool:
        """Return True if ``source`` looks like this format (cheap: reads at most the start of a file)."""

    @abstractmethod
    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterable[Quad] | RdfDocument:
        """Read one dump, streaming, into quads of ``graph`` (and of the shared graph, or of graphs the
        input names, such as PROV bundles); ``on_bytes`` is told how much of the input was read.

        Bad input raises an :class:`~provml.errors.InputError` naming the source and the record.
        """

    def fingerprint(self, source: Source) -> str:
        """Return a digest of the source's content: a dump whose digest did not change is not reloaded."""
        if isinstance(source, str):
            raise InputError(f"the {self.name} loader does not read URIs", source=source)
        return file_sha256(source)


def read_head(path: Path, size: int) -> bytes:
    """Return the first ``size`` bytes of a file, for sniffing; nothing if it cannot be read."""
    try:
        with path.open("rb") as stream:
            return stream.read(size)
    except OSError:
        return b""


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    return digest.hexdigest()
