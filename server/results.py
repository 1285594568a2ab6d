"""Answers in the formats of the SPARQL 1.1 Protocol, chosen by ``Accept`` or a ``format`` parameter.

Solutions (SELECT) and booleans (ASK) are written here, row by row, so that the server can stop at its
row limit; graphs (CONSTRUCT, DESCRIBE) are written by the store in any RDF syntax.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

import orjson

from provml.errors import LimitError, NotAcceptable
from provml.store import QueryResult, Term
from provml.vocab import XSD

SOLUTION_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPH_TYPES = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "rdfxml": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "trig": "application/trig",
    "nquads": "application/n-quads",
}
ALIASES = {  # more media types clients send for the same formats
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/plain": "ntriples",
    "application/x-turtle": "turtle",
    "application/turtle": "turtle",
    "text/n3": "turtle",
    "application/json+ld": "jsonld",
    "application/x-trig": "trig",
    "text/x-nquads": "nquads",
    "application/xhtml+xml": None,
    "text/html": None,
}
FORMAT_NAMES = {  # more names clients give in format= (SPARQLWrapper's, Virtuoso's...) for the same formats
    "rdf+xml": "rdfxml",
    "rdf": "rdfxml",
    "json-ld": "jsonld",
    "n3": "turtle",
    "ttl": "turtle",
    "nt": "ntriples",
    "nq": "nquads",
}
_AS_GRAPH = {"xml": "rdfxml", "json": "jsonld"}  # what a client means by XML or JSON for a graph
_BY_TYPE = {media: name for name, media in (*SOLUTION_TYPES.items(), *GRAPH_TYPES.items())}
_STRING = str(XSD.string)


def choose_format(kind: str, accept: str | None, requested: str | None) -> str:
    """Return the format name for a result of ``kind`` (select, ask, graph) from ``format`` or ``Accept``.

    ``format`` is a format name or media type, or several separated by commas: the first that fits wins.

    >>> choose_format("select", "text/csv;q=0.5, application/sparql-results+xml", None)
    'xml'
    >>> choose_format("graph", "*/*", None)
    'turtle'
    >>> choose_format("select", "application/sparql-results+json;q=0, text/*", None)
    'csv'
    """
    offered = _offered(kind)
    if requested:
        for value in requested.split(","):
            name = _name(value.strip(), kind) or value.strip()
            if name in offered:
                return name
        raise NotAcceptable(f"format {requested!r} does not fit this answer; use one of {', '.join(offered)}")
    ranges, refused = _ranges(accept or "*/*")
    for media, _ in ranges:
        if media.endswith("/*"):  # the first format of the range that was not refused (q=0)
            kind_of = media[:-1] if media != "*/*" else ""
            fitting = [n for n in offered if n not in refused and _media(n).startswith(kind_of)]
            if fitting:
                return fitting[0]
            continue
        name = _name(media, kind)
        if name in offered and name not in refused:
            return name
    raise NotAcceptable(f"cannot answer in {accept}; this answer comes as {', '.join(media_types(kind))}")


def media_types(kind: str) -> list[str]:
    """Return the media types an answer of ``kind`` can be written in."""
    return [SOLUTION_TYPES.get(name) or GRAPH_TYPES[name] for name in _offered(kind)]


def media_type(format: str) -> str:
    """Return the media type of a format name, with the charset of text formats."""
    media = _media(format)
    return media if media.endswith(("json", "+xml")) else f"{media}; charset=utf-8"


def _name(value: str, kind: str) -> str | None:
    """Return the format a media type or format name stands for, in an answer of ``kind``."""
    if value in _BY_TYPE:
        return _BY_TYPE[value]
    name = ALIASES[value] if value in ALIASES else FORMAT_NAMES.get(value, value)
    return _AS_GRAPH.get(name, name) if kind == "graph" and name is not None else name


def _media(format: str) -> str:
    return SOLUTION_TYPES.get(format) or GRAPH_TYPES[format]


def _offered(kind: str) -> list[str]:
    if kind == "graph":
        return list(GRAPH_TYPES)
    return ["json", "xml"] if kind == "ask" else list(SOLUTION_TYPES)


def _ranges(accept: str) -> tuple[list[tuple[str, float]], set[str]]:
    """Return the media ranges of an Accept header, best first (q-values, then their order), and the
    formats it refuses (``q=0``)."""
    ranges, refused = [], set()
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((media.lower(), quality, position))
        elif media:
            refused.update(filter(None, (_name(media.lower(), kind) for kind in ("select", "graph"))))
    best_first = [(media, quality) for media, quality, _ in sorted(ranges, key=lambda r: (-r[1], r[2]))]
    return best_first, refused


def write(result: QueryResult, format: str, max_rows: int) -> bytes:
    """Return ``result`` written in ``format``; more than ``max_rows`` rows or triples is a LimitError."""
    if result.kind == "graph":
        output = io.BytesIO()
        result.serialize(output, format, limit=max_rows)
        return output.getvalue()
    if result.kind == "ask":
        return _WRITERS[format]([], None, bool(result))
    return _WRITERS[format](result.variables, _capped(result, max_rows), None)


def _capped(result: QueryResult, max_rows: int) -> Iterator[tuple[Term | None, ...]]:
    for count, row in enumerate(result):
        if count == max_rows:
            raise LimitError(f"the answer has more than {max_rows:,} rows, the server's limit; add LIMIT and OFFSET")
        yield row


def _json(variables: list[str], rows: Iterable[tuple[Term | None, ...]] | None, boolean: bool | None) -> bytes:
    if rows is None:
        return orjson.dumps({"head": {}, "boolean": boolean})
    bindings = [{v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in rows]
    return orjson.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}})


def _json_term(term: Term) -> dict[str, str]:
    if term.kind == "iri":
        return {"type": "uri", "value": term.value}
    if term.kind == "bnode":
        return {"type": "bnode", "value": term.value}
    if term.language:
        return {"type": "literal", "value": term.value, "xml:lang": term.language}
    if term.datatype and term.datatype != _STRING:
        return {"type": "literal", "value": term.value, "datatype": term.datatype}
    return {"type": "literal", "value": term.value}


def _xml(variables: list[str], rows: Iterable[tuple[Term | None, ...]] | None, boolean: bool | None) -> bytes:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
    if rows is None:
        out.append(f"</head><boolean>{'true' if boolean else 'false'}</boolean></sparql>\n")
        return "".join(out).encode()
    out.append("</head><results>")
    for row in rows:
        out.append("<result>")
        for variable, term in zip(variables, row, strict=True):
            if term is not None:
                out.append(f"<binding name={quoteattr(variable)}>{_xml_term(term)}</binding>")
        out.append("</result>")
    out.append("</results></sparql>\n")
    return "".join(out).encode()


_XML_SPACE = " \t\n"


def _xml_text(value: str) -> str:
    """Escape text content; a carriage return, and white space at either end, as character references
    (XML parsers turn a raw CR into LF, and some trim the ends of text)."""
    text = escape(value, {"\r": "&#13;"})
    core = text.strip(_XML_SPACE)
    if core == text:
        return text
    start, end = len(text) - len(text.lstrip(_XML_SPACE)), len(text.rstrip(_XML_SPACE))
    if not core:
        start = end = len(text)
    return "".join(f"&#{ord(c)};" for c in text[:start]) + text[start:end] + "".join(f"&#{ord(c)};" for c in text[end:])


def _xml_term(term: Term) -> str:
    if term.kind == "iri":
        return f"<uri>{escape(term.value)}</uri>"
    if term.kind == "bnode":
        return f"<bnode>{escape(term.value)}</bnode>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{_xml_text(term.value)}</literal>"
    if term.datatype and term.datatype != _STRING:
        return f"<literal datatype={quoteattr(term.datatype)}>{_xml_text(term.value)}</literal>"
    return f"<literal>{_xml_text(term.value)}</literal>"


def _csv(variables: list[str], rows: Iterable[tuple[Term | None, ...]] | None, _: bool | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows or ():
        writer.writerow(["" if t is None else f"_:{t.value}" if t.kind == "bnode" else t.value for t in row])
    return out.getvalue().encode()


def _tsv(variables: list[str], rows: Iterable[tuple[Term | None, ...]] | None, _: bool | None) -> bytes:
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines.extend("\t".join("" if t is None else _tsv_term(t) for t in row) for row in rows or ())
    return ("\n".join(lines) + "\n").encode()


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Term) -> str:
    if term.kind == "iri":
        return f"<{term.value}>"
    if term.kind == "bnode":
        return f"_:{term.value}"
    if term.kind == "triple":
        return term.value
    text = f'"{term.value.translate(_TSV_ESCAPES)}"'
    if term.language:
        return f"{text}@{term.language}"
    return text if not term.datatype or term.datatype == _STRING else f"{text}^^<{term.datatype}>"


_WRITERS = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}
