"""What every loader is: a name, what it reads, how to recognise it, and a stream of quads."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from provml.errors import InputError
from provml.ids import IriMinter
from provml.rdf import Quad

ProgressCallback = Callable[[int], None]


class Loader(ABC):
    """A source format: turns one file (a dump) into PROV-ML quads, knowing nothing of storage."""

    name: str
    description: str
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def sniff(self, path: Path) -> bool:
        """Return True if ``path`` looks like this format (cheap: reads at most the start of the file)."""

    @abstractmethod
    def quads(
        self, path: Path, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of one dump, streaming; ``on_bytes`` is told how much of the file was read."""


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
