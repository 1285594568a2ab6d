"""Loaders: one module per input format, registered by name (shipped as ``provml.loaders``).

>>> [loader.name for loader in available()]
['events']
>>> get("events").description.split(":")[0]
'provml event format v1'
"""

from __future__ import annotations

from pathlib import Path

from provml.errors import InputError
from provml.loaders._base import Loader, file_sha256
from provml.loaders.events import EventsLoader

_REGISTRY: dict[str, Loader] = {loader.name: loader for loader in (EventsLoader(),)}

__all__ = ["Loader", "available", "detect", "file_sha256", "get"]


def available() -> list[Loader]:
    """Return every registered loader, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get(name: str) -> Loader:
    """Return the loader registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(sorted(_REGISTRY))}") from None


def detect(path: Path) -> Loader:
    """Return the loader for ``path``: by extension first, then by sniffing its content."""
    name = path.name.lower()
    candidates = [loader for loader in available() if name.endswith(loader.extensions)]
    for loader in candidates + [loader for loader in available() if loader not in candidates]:
        if loader.sniff(path):
            return loader
    raise InputError("cannot tell the format of this file; pass --format (see `provml formats`)", source=path)
