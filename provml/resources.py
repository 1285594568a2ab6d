"""Locate the data files shipped with provml (ontology, shapes, queries, schemas).

The files live in data packages (``provml.ontology``, ``provml.shapes``, ``provml.queries``) so
that they are found the same way from a source checkout and from an installed wheel.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def _package_dir(package: str) -> Path:
    with as_file(files(package)) as path:
        return Path(path)


def ontology_dir() -> Path:
    """Return the directory holding ``provml.ttl`` and the ontologies it imports."""
    return _package_dir("provml.ontology")


def ontology_file(name: str = "provml.ttl") -> Path:
    """Return the path of one ontology file (``provml.ttl``, ``prov-o.ttl``, ``mls.ttl``)."""
    return ontology_dir() / name


def shapes_dir() -> Path:
    """Return the directory of the shipped SHACL shapes."""
    return _package_dir("provml.shapes")


def queries_dir() -> Path:
    """Return the directory of the canned ``.rq`` queries."""
    return _package_dir("provml.queries")


def schema_file(name: str = "events-v1.schema.json") -> Path:
    """Return the path of a JSON Schema shipped with provml."""
    return _package_dir("provml.schemas") / name
