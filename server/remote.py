"""Refuse SPARQL that would make the server fetch from the network (``SERVICE``, ``LOAD``).

Oxigraph really fetches the IRI of a ``SERVICE`` or ``LOAD``, and has no switch to turn it off, so
the server reads each query or update before it runs: a ``SERVICE`` or ``LOAD`` whose IRI is not on
the allow-list is refused, and so is one whose target is a variable or a prefixed name.

The text is split into tokens the way Oxigraph's parser splits it: ``\\u`` escapes count only in
strings and IRIs, a prefixed name may hold escaped ``#`` and quotes, and a keyword may follow a number
or a keyword with no space between (``1SERVICE<...>``, ``SERVICESILENT<...>`` both fetch). It is also
read once more with every ``\\u`` escape decoded first, as the SPARQL grammar says, and refused if
either reading finds a fetch.

>>> refuse_remote("SELECT * { SERVICE <http://other.example/sparql> { ?s ?p ?o } }", ())
Traceback (most recent call last):
...
provml.errors.RemoteAccessError: SERVICE <http://other.example/sparql> is not allowed: ...
>>> refuse_remote("SELECT ?service { ?service a <http://x/LOAD> } # SERVICE", ())
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from provml.endpoints import allowed_endpoint
from provml.errors import RemoteAccessError
from provml.sparql_text import tokens

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# a word that starts with SERVICE or LOAD, maybe glued to a number or boolean before it (Oxigraph reads
# "1SERVICE" as 1 then SERVICE) and to SILENT after it
_FETCHING = re.compile(r"^(?:[0-9.E+\-]*|TRUE|FALSE)(SERVICE|LOAD)(SILENT)?")
_MAY_FETCH = re.compile(r"SERVICE|LOAD|\\", re.IGNORECASE)  # either keyword, or an escape that may spell one


def may_fetch(sparql: str) -> bool:
    """Could ``sparql`` hold a SERVICE or LOAD? False is certain (neither word, no escape): most queries.

    >>> may_fetch("SELECT * { ?s ?p ?o }"), may_fetch("SELECT * { ?s <urn:download> ?o }")
    (False, True)
    """
    return _MAY_FETCH.search(sparql) is not None


def refuse_remote(sparql: str, allowed: Iterable[str]) -> None:
    """Raise :class:`RemoteAccessError` if ``sparql`` has a SERVICE or LOAD of an IRI not under ``allowed``."""
    if not may_fetch(sparql):
        return
    allowed = tuple(allowed)
    decoded = _decode(sparql)
    for text in (sparql, decoded) if decoded != sparql else (sparql,):
        _refuse(tokens(text), allowed)


def _refuse(stream: Iterator[tuple[str, str]], allowed: tuple[str, ...]) -> None:
    for kind, text in stream:
        fetching = _FETCHING.match(text.upper()) if kind == "word" else None
        if fetching is None:
            continue
        keyword, rest = fetching[1], text[fetching.end() :]
        kind, target = ("word", rest) if rest else next(stream, ("other", ""))
        if fetching[2] is None and kind == "word" and target.upper() == "SILENT":
            kind, target = next(stream, ("other", ""))
        if kind != "iri":
            raise RemoteAccessError(f"{keyword} {target} is not allowed: write the IRI of an allow-listed endpoint")
        if not allowed_endpoint(_decode(target[1:-1]), allowed):
            hint = "start the server with --allow-remote to allow it" if not allowed else "it is not allow-listed"
            raise RemoteAccessError(f"{keyword} {target} is not allowed: {hint}")


def _decode(text: str) -> str:
    """Replace each ``\\u`` and ``\\U`` escape by its character."""
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)), text)
