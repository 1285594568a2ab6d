"""Load files and directories of dumps into a store: what ``provml load`` does, as a library call.

>>> from provml.store import Store
>>> from provml.demo import write_lifecycle
>>> import tempfile; directory = Path(tempfile.mkdtemp())
>>> _ = write_lifecycle(directory, runs=2, epochs=2)
>>> outcomes = load_paths(Store(), [directory])
>>> sorted({o.status for o in outcomes}), len(outcomes)
(['loaded'], 5)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provml import loaders
from provml.errors import InputError, ProvmlError
from provml.store import Dump, LoadResult, Store


@dataclass
class FileOutcome:
    """What loading one file did: its result, or the error that stopped it."""

    path: Path
    loader: str
    result: LoadResult | None = None
    error: ProvmlError | None = None

    @property
    def status(self) -> str:
        """``loaded``, ``replaced``, ``unchanged`` or ``failed``."""
        if self.result is None:
            return "failed"
        return "unchanged" if self.result.skipped else ("replaced" if self.result.replaced else "loaded")


def find_files(paths: list[Path], format: str | None = None) -> list[tuple[Path, loaders.Loader]]:
    """Expand directories (recursively, sorted) and pick each file's loader.

    A file named on its own must be readable by some loader (or by ``format``); files inside
    directories that no loader claims by extension are skipped. Finding no file is an error.
    """
    chosen = loaders.get(format) if format else None
    found: list[tuple[Path, loaders.Loader]] = []
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", source=path)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                loader = chosen or next(
                    (x for x in loaders.available() if child.name.lower().endswith(x.extensions)), None
                )
                if loader is not None:
                    found.append((child, loader))
        else:
            found.append((path, chosen or loaders.detect(path)))
    if not found:
        raise InputError("no loadable files found (see `provml formats` for what provml reads)", source=paths[0])
    return found


def load_files(
    store: Store,
    files: list[tuple[Path, loaders.Loader]],
    *,
    force: bool = False,
    on_file: Callable[[Path], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> list[FileOutcome]:
    """Load each file as one dump (its own graph); a file that fails does not stop the others.

    ``on_file`` is told when a file starts being read, ``on_bytes`` how many bytes were read.
    """
    outcomes = {path.resolve(): FileOutcome(path, loader.name) for path, loader in files}

    def dumps() -> Iterator[Dump]:
        for path, loader in files:
            if on_file is not None:
                on_file(path)
            try:
                sha256, graph = loaders.file_sha256(path), store.ids.dump_graph(path)
            except ProvmlError as error:
                outcomes[path.resolve()].error = error
                continue
            yield Dump(
                graph, loader.quads(path, store.ids, graph, on_bytes=on_bytes), str(path.resolve()), loader.name, sha256
            )

    for dump, result in store.load_many(dumps(), force=force):
        outcome = outcomes[Path(dump.source)]
        if isinstance(result, ProvmlError):
            outcome.error = result
        else:
            outcome.result = result
    return list(outcomes.values())


def load_paths(store: Store, paths: list[Path], *, format: str | None = None, force: bool = False) -> list[FileOutcome]:
    """Find the loadable files under ``paths`` and load them; see :func:`find_files` and :func:`load_files`."""
    return load_files(store, find_files(paths, format), force=force)
