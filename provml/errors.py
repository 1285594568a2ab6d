"""The one exception family of provml.

Every error a user can cause is a :class:`ProvmlError`. Errors about an input carry its
source (a path or a URI) and, where known, the line, so that the CLI can print them as
``file:line: message`` without a traceback::

    ProvmlError
    ├── InputError          bad input: a malformed event, an unknown format, a missing file
    │   ├── EventError      a record of the event format that cannot be read or mapped
    │   ├── UnknownResource an IRI the store says nothing about
    │   └── ValidationError a dump that violates the SHACL shapes (it carries the report)
    ├── StoreError          the store cannot be opened, is locked, or refused a write
    ├── QueryError          a SPARQL query or update that does not parse or cannot run
    │   ├── LimitError      an answer over a limit the server sets (rows, triples)
    │   │   └── QueryTimeout  a query that ran past the server's time limit and was stopped
    │   ├── RemoteAccessError a SERVICE or LOAD of a host that is not allow-listed
    │   └── NotAcceptable   no format the client accepts fits the answer
    ├── ShapeError          a SHACL shapes graph that cannot be read or used
    └── RenderError         a picture (lineage) that Graphviz could not draw

:class:`ProvmlWarning` reports what provml recovered from (a torn last line skipped, a capture
transport that failed and spilled to disk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ProvmlError(Exception):
    """Root of every error raised by provml on purpose."""

    def __init__(self, message: str, *, source: str | Path | None = None, line: int | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = str(source) if source is not None else None
        self.line = line

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


class InputError(ProvmlError):
    """An input cannot be read: missing file, unknown format, malformed content."""


class EventError(InputError):
    """A record of the provml event format is malformed or cannot be mapped."""


class UnknownResource(InputError):
    """An IRI that no triple of the store mentions."""


class ValidationError(InputError):
    """A dump was refused because it violates the SHACL shapes; ``report`` says how."""

    def __init__(self, message: str, *, report: Any, source: str | Path | None = None) -> None:
        super().__init__(message, source=source)
        self.report = report


class StoreError(ProvmlError):
    """The store cannot be opened or refused an operation."""


class QueryError(ProvmlError):
    """A SPARQL query or update is invalid or failed."""


class LimitError(QueryError):
    """An answer went over a limit that the server sets (result rows or triples)."""


class QueryTimeout(LimitError):
    """A query ran past the server's time limit and was stopped."""


class RemoteAccessError(QueryError):
    """A query or update would fetch from a host (SERVICE, LOAD) that is not allow-listed."""


class NotAcceptable(QueryError):
    """No format the client accepts fits the answer (HTTP 406)."""


class ShapeError(ProvmlError):
    """A SHACL shapes graph cannot be read, or uses SHACL in a way that is not valid."""


class LinkError(ProvmlError):
    """An ontology cannot be linked: an import was not found, or PROV-ML with the linked ontologies is
    inconsistent or has unsatisfiable classes (``unsatisfiable``: their IRIs)."""

    def __init__(self, message: str, *, unsatisfiable: tuple[str, ...] = (), source: str | Path | None = None) -> None:
        super().__init__(message, source=source)
        self.unsatisfiable = unsatisfiable


class RenderError(ProvmlError):
    """Graphviz is not installed, failed, or ran past its time limit."""


class ProvmlWarning(UserWarning):
    """Something provml recovered from, but the user should know about."""
