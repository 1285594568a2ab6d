"""Read the provml event format v1: JSON lines, one record per event.

The format is defined by ``provml/schemas/events-v1.schema.json`` and documented in
``docs/events.md``. Reading streams the file (plain or gzip) and checks each record against
the schema's top-level fields with a checker compiled from the schema itself; a record that
fails is explained by the full JSON Schema validator. Every error names ``file:line``.

>>> check_record({"type": "metric", "workflow_id": "w", "task_id": "t", "name": "loss", "value": 0.1, "timestamp": 1.0})
>>> check_record({"type": "metric", "workflow_id": "w"})
Traceback (most recent call last):
...
provml.errors.EventError: metric record: missing required fields task_id, name, value, timestamp
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any

import orjson

from provml import rdf
from provml.errors import EventError, ProvmlWarning
from provml.resources import schema_file

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


@cache
def schema() -> dict[str, Any]:
    """Return the JSON Schema of the event format v1."""
    return orjson.loads(schema_file().read_bytes())


@cache
def record_types() -> tuple[str, ...]:
    """Return the record types of the event format (``workflow``, ``task``, ``metric``...)."""
    return tuple(schema()["properties"]["type"]["enum"])


_NOT_AN_IRI = "{!r:.80} is not an IRI (such as https://... or urn:...)"


class _FieldCheck:
    """The checks the schema puts on one top-level field: JSON types, enum, pattern, and those of an array's items
    when they have a pattern (the IRIs of ``domain_concepts``)."""

    __slots__ = ("enum", "items", "pattern", "types")

    def __init__(self, spec: dict[str, Any]) -> None:
        kinds = spec.get("type")
        if kinds is None and "anyOf" in spec:
            kinds = [alt["type"] for alt in spec["anyOf"] if "type" in alt]
        kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
        self.types = tuple(t for k in kinds for t in _JSON_TYPES[k])
        self.enum = spec.get("enum") or ([spec["const"]] if "const" in spec else None)
        self.pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
        items = spec.get("items")
        self.items = _FieldCheck(items) if isinstance(items, dict) and "pattern" in items else None

    def accepts(self, value: Any) -> bool:
        if self.types and not isinstance(value, self.types):
            return False
        if isinstance(value, bool) and bool not in self.types and self.types:
            return False  # JSON true is not a number
        if self.enum is not None and value not in self.enum:
            return False
        if self.items is not None and isinstance(value, list) and not all(map(self.items.accepts, value)):
            return False
        return self.pattern is None or (isinstance(value, str) and self.pattern.search(value) is not None)


@cache
def _compiled() -> dict[str, tuple[tuple[str, ...], dict[str, _FieldCheck]]]:
    defs = schema()["$defs"]
    return {
        kind: (tuple(defs[kind]["required"]), {f: _FieldCheck(s) for f, s in defs[kind]["properties"].items()})
        for kind in record_types()
    }


def _explain(record: Any) -> str:
    import jsonschema  # only on the error path: full validation costs ~170 us a record

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(record), key=lambda e: (len(e.path), e.message))
    if not errors:
        return "record rejected"
    error = errors[0]
    where = "".join(f"[{p!r}]" for p in error.path)
    message = error.message
    if error.validator == "pattern" and error.schema.get("format") == "iri":
        message = _NOT_AN_IRI.format(error.instance)
    return f"{where + ': ' if where else ''}{message}"


def check_record(record: Any) -> None:
    """Raise :class:`EventError` unless ``record`` meets the schema's rules for its top-level fields."""
    if not isinstance(record, dict):
        raise EventError(f"expected a JSON object, got {type(record).__name__}")
    kind = record.get("type")
    compiled = _compiled().get(kind) if isinstance(kind, str) else None
    if compiled is None:
        raise EventError(f"unknown record type {kind!r}; expected one of {', '.join(record_types())}")
    required, fields = compiled
    missing = [name for name in required if name not in record]
    if missing:
        raise EventError(f"{kind} record: missing required field{'s' * (len(missing) > 1)} {', '.join(missing)}")
    for name, value in record.items():
        check = fields.get(name)
        if check is not None and not check.accepts(value):
            raise EventError(f"{kind} record: {_explain(record)}")


def domain_concepts(value: Any, field: str) -> list[str]:
    """Return a record's ``domain_concepts`` from a tool's free metadata: one IRI or a list of IRIs (absolute,
    see :func:`provml.rdf.is_absolute_iri`); anything else raises :class:`EventError` naming ``field``.

    >>> domain_concepts("https://geo.example/Well", "custom_metadata.domain_concepts")
    ['https://geo.example/Well']
    >>> domain_concepts(["https://geo.example/Well", "porosity"], "custom_metadata.domain_concepts")
    Traceback (most recent call last):
    ...
    provml.errors.EventError: custom_metadata.domain_concepts: 'porosity' is not an IRI (such as https://... or urn:...)
    """
    iris = [value] if isinstance(value, str) else value
    if not isinstance(iris, list):
        raise EventError(f"{field}: expected an IRI or a list of IRIs, got {value!r:.80}")
    for iri in iris:
        if not (isinstance(iri, str) and rdf.is_absolute_iri(iri)):
            raise EventError(f"{field}: {_NOT_AN_IRI.format(iri)}")
    return iris


def _open(path: Path) -> IO[bytes]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")
        return path.open("rb")
    except OSError as error:
        raise EventError(f"cannot read: {error.strerror or error}", source=path) from error


def json_lines(
    lines: Iterable[bytes], source: str | Path, *, torn_last_line: bool = False
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each JSON line (blank lines are skipped).

    Raises :class:`EventError` naming ``source:line`` for a line that is not JSON. With
    ``torn_last_line``, a last line that is cut short (no newline, not JSON: its writer was killed)
    is skipped with a :class:`ProvmlWarning`.
    """
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield line_number, orjson.loads(line)
        except orjson.JSONDecodeError as error:
            if torn_last_line and not line.endswith(b"\n"):
                warnings.warn(ProvmlWarning(f"{source}:{line_number}: torn last line skipped"), stacklevel=2)
                return
            raise EventError(f"not JSON: {error}", source=source, line=line_number) from None


def read_lines(
    lines: Iterable[bytes], source: str | Path, *, torn_last_line: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` for each JSON line, as :func:`json_lines`, checked against the schema.

    A record that breaks the schema raises :class:`EventError` naming ``source:line``.
    """
    for line_number, record in json_lines(lines, source, torn_last_line=torn_last_line):
        try:
            check_record(record)
        except EventError as error:
            raise EventError(error.message, source=source, line=line_number) from None
        yield line_number, record


def read_events(
    path: Path, *, on_bytes: Callable[[int], None] | None = None, report_every: int = 1 << 20
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` for each event of a JSON-lines file (plain or gzip), as :func:`read_lines`.

    A torn last line (its writer was killed mid-write) is skipped with a warning. ``on_bytes`` is
    told, about every ``report_every`` bytes, how many bytes were read since its last call.
    """

    def counted(stream: IO[bytes]) -> Iterator[bytes]:
        unreported = 0
        for line in stream:
            unreported += len(line)
            if unreported >= report_every and on_bytes is not None:
                on_bytes(unreported)
                unreported = 0
            yield line
        if on_bytes is not None and unreported:
            on_bytes(unreported)

    with _open(path) as stream:
        lines = counted(stream)
        line_number = 0
        try:
            for line_number, record in read_lines(lines, path, torn_last_line=True):
                yield line_number, record
        except (OSError, EOFError) as error:  # truncated gzip, unreadable file
            raise EventError(f"cannot read: {error}", source=path, line=line_number + 1) from error
