"""RDF terms as N-Triples text, so that mapping code needs no RDF library.

A quad is a tuple ``(subject, predicate, object, graph)`` of N-Triples-formatted terms. The
store parses them with Oxigraph's N-Quads parser, which is the fastest way in.

>>> iri("https://example.org/a b")
'<https://example.org/a%20b>'
>>> literal(3)
'"3"^^<http://www.w3.org/2001/XMLSchema#integer>'
>>> literal(0.5), literal(True)
('"0.5"^^<http://www.w3.org/2001/XMLSchema#double>', '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>')
>>> print(literal('say "hi"'))
"say \\"hi\\""
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from provml.vocab import XSD

Quad = tuple[str, str, str, str]


@dataclass(frozen=True)
class RdfDocument:
    """An RDF file for the store to parse: ``format`` is one of :data:`provml.store.RDF_FORMATS`.

    Its default graph goes to the dump's graph; its named graphs keep their names and belong to the dump.
    """

    path: Path
    format: str
    compressed: bool = False  # gzip
    base_iri: str | None = None
    on_bytes: Callable[[int], None] | None = None


_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_ABSOLUTE_IRI = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|urn:)\S+", re.IGNORECASE)
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_INTEGER = f"<{XSD.integer}>"
_DOUBLE = f"<{XSD.double}>"
_BOOLEAN = f"<{XSD.boolean}>"
_DATETIME = f"<{XSD.dateTime}>"


def iri(value: str) -> str:
    """Return ``value`` as an N-Triples IRI, percent-encoding characters IRIs may not hold."""
    if _IRI_UNSAFE.search(value):
        value = _IRI_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)
    return f"<{value}>"


def is_absolute_iri(text: str) -> bool:
    """Return True if ``text`` is an IRI as people write one in metadata: a scheme and ``://``, or ``urn:``,
    without spaces (``geo:Well`` reads as a prefixed name, not as an IRI of scheme ``geo``).

    >>> [is_absolute_iri(t) for t in ("https://geo.example/Well", "urn:geo:Well", "geo:Well", "Well log")]
    [True, True, False, False]
    """
    return _ABSOLUTE_IRI.fullmatch(text) is not None


def string(value: str) -> str:
    """Return a plain ``xsd:string`` literal."""
    return f'"{value.translate(_STRING_ESCAPES)}"'


def typed(lexical: str, datatype: str) -> str:
    """Return a literal with an explicit datatype IRI."""
    return f'"{lexical.translate(_STRING_ESCAPES)}"^^<{datatype}>'


def double(value: float) -> str:
    """Return an ``xsd:double`` literal, with ``INF``/``NaN`` spelled as XML Schema wants."""
    if math.isfinite(value):
        return f'"{value!r}"^^{_DOUBLE}'
    return f'"{"NaN" if math.isnan(value) else ("INF" if value > 0 else "-INF")}"^^{_DOUBLE}'


def integer(value: int) -> str:
    """Return an ``xsd:integer`` literal."""
    return f'"{value}"^^{_INTEGER}'


def boolean(value: bool) -> str:
    """Return an ``xsd:boolean`` literal."""
    return f'"{"true" if value else "false"}"^^{_BOOLEAN}'


def date_time(value: datetime) -> str:
    """Return an ``xsd:dateTime`` literal (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return f'"{value.isoformat()}"^^{_DATETIME}'


def literal(value: object) -> str:
    """Return the literal for a JSON scalar: bool, int, float or str."""
    if isinstance(value, bool):
        return boolean(value)
    if isinstance(value, int):
        return integer(value)
    if isinstance(value, float):
        return double(value)
    return string(str(value))
