"""SPARQL text split into tokens the way Oxigraph's parser splits it, for the few questions that must be
answered before a query runs: does it fetch from the network (``provml.server.remote``), does it name its
dataset (``FROM``)?"""

from __future__ import annotations

import re
from collections.abc import Iterator

_NAME = r"[\w\u00B7\u0300-\u036F\u203F\u2040]"  # a character of a variable or prefixed name
_TOKEN = re.compile(
    rf"""(?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*>)
      | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                  |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
      | (?P<comment>\#[^\n\r]*)
      | (?P<variable>[?$]{_NAME}*)
      | (?P<language>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
      | (?P<local>:(?:{_NAME}|[:.\-]|%[0-9A-Fa-f]{{2}}|\\[_~.\-!$&'()*+,;=/?\#@%])*)
      | (?P<word>(?:{_NAME}|[.\-])+)
      | (?P<other>\S)""",
    re.VERBOSE | re.DOTALL,
)
_FROM = re.compile(r"from", re.IGNORECASE)
# a function whose value changes from one run to the next (a word of its own: not "random_split"), or an
# escape, which could spell one
_VOLATILE = re.compile(r"(?<![A-Z])(?:RAND|NOW|UUID|STRUUID|BNODE)(?![A-Z0-9_])|\\", re.IGNORECASE)


def tokens(sparql: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) for each token that is not a comment, split as Oxigraph splits them: ``iri``,
    ``string``, ``variable``, ``language``, ``local`` (``:name`` of a prefixed name), ``word``, ``other``."""
    for match in _TOKEN.finditer(sparql):
        if match.lastgroup != "comment":
            yield match.lastgroup or "other", match.group()


def names_dataset(sparql: str) -> bool:
    """Does the query name its dataset (``FROM``, ``FROM NAMED``)? Then its default graph is not the union.

    >>> names_dataset("SELECT * FROM <urn:g> { ?s ?p ?o }"), names_dataset("PREFIX from: <urn:> ASK { from:a ?p ?o }")
    (True, False)
    """
    if not _FROM.search(sparql):  # most queries: no need to read them
        return False
    depth, previous = 0, ""
    for kind, text in tokens(sparql):
        if text in ("{", "}"):
            depth += 1 if text == "{" else -1
        elif kind == "word" and depth == 0 and text.upper() == "FROM" and previous.upper() != "PREFIX":
            return True
        previous = text
    return False


def deterministic(sparql: str) -> bool:
    """Has the query the same answer each time it runs over the same data? False when its text holds the
    name of a function whose value changes (``RAND``, ``NOW``, ``UUID``, ``STRUUID``, ``BNODE``) as a word,
    even in a string or a comment, or an escape: the answer then may change.

    >>> deterministic("SELECT ?s { ?s <urn:random_seed> ?o }"), deterministic("SELECT (NOW() AS ?t) {}")
    (True, False)
    """
    return _VOLATILE.search(sparql) is None
