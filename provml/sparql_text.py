"""SPARQL text split into tokens the way Oxigraph's parser splits it, for the few questions that must be
answered before a query runs: does it fetch from the network (``provml.server.remote``), does it name its
dataset (``FROM``)?"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

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
_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
# a function whose value changes from one run to the next (a word of its own: not "random_split"), or an
# escape, which could spell one
_VOLATILE = re.compile(r"(?<![A-Z])(?:RAND|NOW|UUID|STRUUID|BNODE)(?![A-Z0-9_])|\\", re.IGNORECASE)


def tokens(sparql: str) -> Iterator[tuple[str, str]]:
    """Yield (kind, text) for each token that is not a comment, split as Oxigraph splits them: ``iri``,
    ``string``, ``variable``, ``language``, ``local`` (``:name`` of a prefixed name), ``word``, ``other``."""
    for kind, text, _, _ in _spans(sparql):
        yield kind, text


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


def _spans(sparql: str) -> Iterator[tuple[str, str, int, int]]:
    """Yield (kind, text, start, end) of each token that is not a comment."""
    for match in _TOKEN.finditer(sparql):
        if match.lastgroup != "comment":
            yield match.lastgroup or "other", match.group(), match.start(), match.end()


def where_start(sparql: str) -> int | None:
    """Return the offset just after the ``{`` that opens the query's outermost ``WHERE`` group, or None.

    >>> text = "CONSTRUCT { ?s <urn:p> ?o } WHERE { ?s ?p ?o }"
    >>> text[where_start(text):]
    ' ?s ?p ?o }'
    >>> where_start("SELECT * { ?s ?p ?o }"), where_start("INSERT DATA { <urn:a> <urn:b> 1 }")
    (10, None)
    """
    depth, form = 0, None
    for kind, text, _, end in _spans(sparql):
        word = text.upper() if kind == "word" else ""
        if depth == 0 and word in (*_FORMS, "WHERE"):
            form = word if form is None or word == "WHERE" else form
        if text == "{":
            if depth == 0 and form in ("SELECT", "ASK", "DESCRIBE", "WHERE"):
                return end
            depth += 1
        elif text == "}":
            depth -= 1
    return None


def function_calls(sparql: str, iris: set[str], replace: Callable[[str, str], str]) -> str:
    """Rewrite each call ``<iri>(?x)`` of one of ``iris`` with a single variable argument as
    ``replace(iri, "?x")``.

    >>> function_calls("FILTER(<urn:f>(?x))", {"urn:f"}, lambda iri, arg: f"({arg} IN (1, 2))")
    'FILTER((?x IN (1, 2)))'
    """
    spans = list(_spans(sparql))
    pieces, last = [], 0
    for i, (kind, text, start, _) in enumerate(spans[:-3]):
        call = spans[i + 1 : i + 4]
        shape = [(k if k == "variable" else t) for k, t, _, _ in call]
        if kind == "iri" and text[1:-1] in iris and shape == ["(", "variable", ")"]:
            pieces += [sparql[last:start], replace(text[1:-1], call[1][1])]
            last = call[2][3]
    return "".join(pieces) + sparql[last:]


def query_form(sparql: str) -> str | None:
    """Return the query's form, ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE`` (None if it has none).

    >>> query_form("PREFIX select: <urn:x> CONSTRUCT WHERE { ?s select:p ?o }")
    'CONSTRUCT'
    """
    spans = list(_spans(sparql))
    for (kind, text, _, end), (next_kind, _, start, _) in zip(spans, [*spans[1:], ("", "", -1, -1)], strict=True):
        if kind == "word" and text.upper() in _FORMS and not (next_kind == "local" and start == end):
            return text.upper()  # not a prefix (select:p)
    return None
