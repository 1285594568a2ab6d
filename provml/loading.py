"""Load files, directories and URIs of dumps into a store: what ``provml load`` does, as a library call.

>>> from provml.store import Store
>>> from provml.demo import write_lifecycle
>>> import tempfile; directory = Path(tempfile.mkdtemp())
>>> _ = write_lifecycle(directory, runs=2, epochs=2)
>>> outcomes = load_paths(Store(), [directory])
>>> sorted({o.status for o in outcomes}), len(outcomes)
(['loaded'], 5)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from provml import loaders
from provml.entailment import refresh_if_kept
from provml.errors import InputError, ProvmlError
from provml.loaders import Source
from provml.store import Dump, LoadCheck, LoadResult, Store


@dataclass
class FileOutcome:
    """What loading one source did: its result, or the error that stopped it."""

    path: Source
    loader: str
    result: LoadResult | None = None
    error: ProvmlError | None = None

    @property
    def status(self) -> str:
        """``loaded``, ``replaced``, ``unchanged`` or ``failed``."""
        if self.result is None:
            return "failed"
        return "unchanged" if self.result.skipped else ("replaced" if self.result.replaced else "loaded")


def source_label(source: Source) -> str:
    """Return what the catalog records as a dump's source: an absolute path, or the URI."""
    return str(source.resolve()) if isinstance(source, Path) else source


def _in_directory(directory: Path, chosen: loaders.Loader | None) -> Iterator[tuple[Path, loaders.Loader]]:
    """Yield the sources under a directory, sorted: subdirectories a loader claims whole, and files.
    Hidden files and directories (``.git``, Jupyter's ``.ipynb_checkpoints``) are passed over.

    A file is taken when exactly one loader claims its extension; when several do (``.json``), the
    one whose sniffing recognises it, and the file is passed over when none does.
    """
    for root, subdirectories, files in os.walk(directory):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        here = Path(root)
        if chosen is None and here != directory and (claimer := loaders.claims_directory(here)) is not None:
            subdirectories.clear()
            yield here, claimer
            continue
        for name in sorted(name for name in files if not name.startswith(".")):
            path = here / name
            if chosen is not None:
                yield path, chosen
                continue
            candidates = loaders.by_extension(path)
            if len(candidates) > 1:
                candidates = [loader for loader in candidates if loader.sniff(path)][:1]
            if candidates:
                yield path, candidates[0]


def find_sources(paths: list[Source], format: str | None = None) -> list[tuple[Source, loaders.Loader]]:
    """Expand directories (recursively, sorted) and pick each source's loader.

    A file, directory or URI named on its own must be readable by some loader (or by ``format``);
    a directory no loader claims whole is searched for files that loaders claim by extension.
    Finding nothing is an error.
    """
    try:
        chosen = loaders.get(format) if format else None
    except InputError as error:
        raise InputError(error.message, source=paths[0]) from None
    found: list[tuple[Source, loaders.Loader]] = []
    for source in paths:
        if isinstance(source, str) and loaders.is_uri(source):
            found.append((source, chosen or loaders.detect(source)))
            continue
        path = Path(source)
        if not path.exists():
            raise InputError("no such file or directory", source=path)
        whole = chosen if chosen is not None and chosen.directories else loaders.claims_directory(path)
        if path.is_dir() and whole is None:
            found += _in_directory(path, chosen)
        else:
            found.append((path, chosen or whole or loaders.detect(path)))
    if not found:
        raise InputError("no loadable files found (see `provml formats` for what provml reads)", source=paths[0])
    return found


def load_sources(
    store: Store,
    sources: list[tuple[Source, loaders.Loader]],
    *,
    force: bool = False,
    check: LoadCheck | bool | None = True,
    on_file: Callable[[Source], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> list[FileOutcome]:
    """Load each source as one dump (its own graph); a source that fails does not stop the others.

    Each dump is validated before it commits: ``check`` True uses the shipped shapes
    (:class:`~provml.validation.LoadValidation`), False skips validation. ``on_file`` is told when a
    source starts being read, ``on_bytes`` how many bytes were read. ``jobs`` chunks may be written at
    once (:meth:`~provml.store.Store.load_many`).
    """
    if check is True:
        from provml.validation import LoadValidation

        check = LoadValidation()
    outcomes = {source_label(source): FileOutcome(source, loader.name) for source, loader in sources}

    def dumps() -> Iterator[Dump]:
        for source, loader in sources:
            label = source_label(source)
            if on_file is not None:
                on_file(source)
            try:
                fingerprint, graph = loader.fingerprint(source), store.ids.dump_graph(source)
                content = loader.read(source, store.ids, graph, on_bytes=on_bytes)
            except ProvmlError as error:
                outcomes[label].error = error
                continue
            yield Dump(graph, content, label, loader.name, fingerprint)

    for dump, result in store.load_many(dumps(), force=force, check=check or None, jobs=jobs):
        outcome = outcomes[dump.source]
        if isinstance(result, ProvmlError):
            outcome.error = result
        else:
            outcome.result = result
    refresh_if_kept(store)  # what the linked ontologies entail of the new dumps
    return list(outcomes.values())


def load_paths(
    store: Store,
    paths: list[Source],
    *,
    format: str | None = None,
    force: bool = False,
    check: LoadCheck | bool | None = True,
    jobs: int = 1,
) -> list[FileOutcome]:
    """Find the loadable sources under ``paths`` and load them; see :func:`find_sources`, :func:`load_sources`."""
    return load_sources(store, find_sources(paths, format), force=force, check=check, jobs=jobs)
