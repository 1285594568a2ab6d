"""Loaders: one module per input format, registered by name (shipped as ``provml.loaders``).

>>> "events" in [loader.name for loader in available()]
True
>>> get("events").description.split(":")[0]
'provml event format v1'
"""

from __future__ import annotations

from pathlib import Path

from provml.errors import InputError
from provml.loaders._base import Loader, Source, file_sha256
from provml.loaders.events import EventsLoader
from provml.loaders.flowcept import FlowceptLoader
from provml.loaders.mlflow import MlflowLoader
from provml.loaders.notebook import NotebookLoader
from provml.loaders.prov import ProvLoader
from provml.loaders.rdf import RdfLoader
from provml.loaders.yprov4ml import Yprov4mlLoader

_LOADERS: tuple[Loader, ...] = (
    EventsLoader(),
    FlowceptLoader(),
    MlflowLoader(),
    NotebookLoader(),
    ProvLoader(),
    RdfLoader(),
    Yprov4mlLoader(),
)
_REGISTRY: dict[str, Loader] = {loader.name: loader for loader in _LOADERS}

__all__ = ["Loader", "Source", "available", "claims_directory", "detect", "file_sha256", "get", "is_uri"]


def available() -> list[Loader]:
    """Return every registered loader, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get(name: str) -> Loader:
    """Return the loader registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(sorted(_REGISTRY))}") from None


def is_uri(text: str) -> bool:
    """Return True if ``text`` is a URI with a scheme (``http://...``), not a path.

    >>> is_uri("http://127.0.0.1:5000"), is_uri("sqlite:///mlflow.db"), is_uri("runs/a.jsonl"), is_uri("C:/x")
    (True, True, False, False)
    """
    scheme, sep, _ = text.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def by_extension(path: Path) -> list[Loader]:
    """Return the loaders that claim the ending of ``path``'s name, those of higher precedence first."""
    name = path.name.lower()
    claimers = [loader for loader in available() if name.endswith(loader.extensions)]
    return sorted(claimers, key=lambda loader: -loader.precedence)


def claims_directory(path: Path) -> Loader | None:
    """Return the loader that reads the directory ``path`` whole (an MLflow tracking directory), if any."""
    return next((loader for loader in available() if loader.directories and loader.sniff(path)), None)


def detect(source: Source) -> Loader:
    """Return the loader for a source: a URI by its scheme, a directory by who claims it, a file by
    its extension first, then by sniffing its content."""
    if isinstance(source, str):
        scheme = source.partition("://")[0].lower()
        for loader in available():
            if scheme in loader.schemes:
                return loader
        raise InputError(f"no loader reads {scheme}:// URIs (see `provml formats`)", source=source)
    if source.is_dir():
        loader = claims_directory(source)
        if loader is None:
            raise InputError("no loader reads this directory as a whole (see `provml formats`)", source=source)
        return loader
    candidates = by_extension(source)
    for loader in candidates + [loader for loader in available() if loader not in candidates]:
        if loader.sniff(source):
            return loader
    raise InputError("cannot tell the format of this file; pass --format (see `provml formats`)", source=source)
