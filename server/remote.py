"""Refuse SPARQL that would make the server fetch from the network (``SERVICE``, ``LOAD``).

Oxigraph really fetches the IRI of a ``SERVICE`` or ``LOAD``, and has no switch to turn it off, so
the server reads each query or update before it runs: a ``SERVICE`` or ``LOAD`` whose IRI is not on
the allow-list is refused, and so is one whose target is a variable or a prefixed name.

>>> refuse_remote("SELECT * { SERVICE <http://other.example/sparql> { ?s ?p ?o } }", ())
Traceback (most recent call last):
...
provml.errors.RemoteAccessError: SERVICE <http://other.example/sparql> is not allowed: ...
>>> refuse_remote("SELECT ?service { ?service a <http://x/LOAD> } # SERVICE", ())
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from provml.errors import RemoteAccessError

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKEN = re.compile(
    r"""(?P<iri><[^<>"{}|^`\\\s]*>)
      | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                  |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
      | (?P<comment>\#[^\n\r]*)
      | (?P<word>[?$]?[^\s<>"'{}()\[\],;.#=!&|+*/^@-]+(?:[.-][^\s<>"'{}()\[\],;.#=!&|+*/^@-]+)*)
      | (?P<other>\S)""",
    re.VERBOSE | re.DOTALL,
)
_FETCHING = {"SERVICE", "LOAD"}


def refuse_remote(sparql: str, allowed: Iterable[str]) -> None:
    """Raise :class:`RemoteAccessError` if ``sparql`` has a SERVICE or LOAD of an IRI not under ``allowed``."""
    tokens = _tokens(sparql)
    for kind, text in tokens:
        if kind != "word" or text.upper() not in _FETCHING:
            continue
        keyword = text.upper()
        kind, target = next(tokens, ("other", ""))
        if kind == "word" and target.upper() == "SILENT":
            kind, target = next(tokens, ("other", ""))
        if kind != "iri":
            raise RemoteAccessError(f"{keyword} {target} is not allowed: write the IRI of an allow-listed endpoint")
        if not _allowed(target[1:-1], allowed):
            hint = "start the server with --allow-remote to allow it" if not allowed else "it is not allow-listed"
            raise RemoteAccessError(f"{keyword} {target} is not allowed: {hint}")


def _tokens(sparql: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) for each token that is not a comment, after decoding ``\\u`` escapes."""
    decoded = _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)), sparql)
    for match in _TOKEN.finditer(decoded):
        if match.lastgroup != "comment":
            yield match.lastgroup or "other", match.group()


def _allowed(iri: str, allowed: Iterable[str]) -> bool:
    """Is ``iri`` on an allowed endpoint: same scheme, host and port, and a path under the allowed one?"""
    target = urlsplit(iri)
    for entry in allowed:
        permitted = urlsplit(entry)
        same_host = (target.scheme, target.hostname, target.port) == (
            permitted.scheme,
            permitted.hostname,
            permitted.port,
        )
        if same_host and target.path.startswith(permitted.path):
            return True
    return False
