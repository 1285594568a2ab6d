"""Read PROV documents with the ``prov`` package and write their records as PROV-O quads.

Every syntax is read in a stream, ``prov`` decoding a bounded batch of records at a time, so memory
stays flat: PROV-JSON's sections are walked record by record (:mod:`._json_stream`), PROV-XML's
record elements come from lxml's ``iterparse``, and PROV-N is cut into statements
(:mod:`._provn_stream`) that ``prov`` parses a batch at a time, wrapped as a small document of their
scope. Every record then goes through one mapping, :class:`ProvOMapper`.
"""

from __future__ import annotations

import re
import warnings
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import prov
from prov.constants import PROV_N_MAP, PROV_RECORD_IDS_MAP
from prov.identifier import Identifier, Namespace, QualifiedName
from prov.model import Literal, ProvDocument, ProvRecord, canonical_xsd_datatype
from prov.serializers.provjson import decode_json_container
from prov.serializers.provn_lexer import ProvNSyntaxError
from prov.serializers.provn_parser import ProvNParser

from provml import rdf
from provml.errors import InputError, ProvmlWarning
from provml.ids import IriMinter
from provml.loaders._json_stream import JsonStream
from provml.loaders._prov_o import (
    ABOUT_PROPERTIES,
    ATTRIBUTE_PROPERTIES,
    DERIVATION_KINDS,
    ELEMENTS,
    LITERAL_TYPE,
    ML_CLASSES,
    RELATIONS,
    VALUE_ATTRIBUTES,
    VALUED,
    RelationForm,
    provml_classes,
    repaired_namespace,
)
from provml.loaders._provn_stream import Piece, ProvnStatements
from provml.rdf import Quad
from provml.vocab import PROV, PROV_NS, PROVML, RDF, XSD

BATCH = 512  # records (PROV-N statements) decoded by prov at a time
MAX_PENDING = 100_000  # `used` relations kept until the end, waiting to learn whether they used a setting
MAX_NOTES = 5  # notes (warnings) per dump
_MAX_WHERE = 100  # characters of a record's PROV-N text that name it in an error
_POSITION = re.compile(r"line (\d+), column \d+: ")  # how prov's PROV-N parser starts a message
_REJECTION = prov.model.ProvFutureRejectionWarning
_REJECTED = "PROV-N cannot write"  # the one input prov 3.3 rejects that PROV-JSON and PROV-XML can hold
A, BUNDLE = f"<{RDF.type}>", f"<{PROV.Bundle}>"
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_PROV_ERRORS = (prov.Error, ValueError, TypeError, KeyError, AttributeError, IndexError)
_HAS_SETTING = f"<{PROVML.hasHyperparameterSetting}>"
_VALUE = f"<{PROVML.value}>"
_DOMAIN_CONCEPT = f"<{PROVML.domainConcept}>"
_NOT_CONCEPTS = (  # a note, once per dump
    "values of dcterms:subject, schema:about, dcat:theme or provml:domainConcept that are not IRIs were kept as "
    "they are, not read as domain concepts"
)


_DERIVATION_TYPES = frozenset(
    QualifiedName(Namespace("prov", PROV_NS), kind[len(PROV_NS) :]) for kind in DERIVATION_KINDS
)


def _t(value: str) -> str:
    return f"<{value}>"


class ProvOMapper:
    """Turn the PROV records of one dump into PROV-O quads, typed by PROV-ML where they say so.

    Elements keep their IRIs; a relation gets its PROV-O property, and a qualified influence node
    when it has an id or attributes beyond its two main arguments (its id, or an IRI minted under
    the dump's graph, numbered in document order). Subclass and override :meth:`classes` or
    :meth:`element` to add the typing rules of a producer (yProv4ML...).
    """

    def __init__(self, source: Path | str, ids: IriMinter, graph: str) -> None:
        self.source = source
        self.ids = ids
        self.graph = _t(graph)
        self._relation_base = graph + "/relation/"
        self._relations = 0
        self._namespaces: dict[str, str] = {}  # namespace IRI as written -> as used (repaired)
        self._settings: set[str] = set()  # hyperparameter settings seen
        self._pending: list[tuple[str, str, str]] = []  # (activity, entity, graph) of used relations
        self._notes: set[str] = set()

    # -- terms ---------------------------------------------------------------------------------

    def note(self, message: str) -> None:
        """Report something the loader recovered from or repaired, once per dump."""
        if message not in self._notes and len(self._notes) < MAX_NOTES:
            self._notes.add(message)
            warnings.warn(f"{self.source}: {message}", ProvmlWarning, stacklevel=2)

    def namespace(self, uri: str) -> str:
        """Return the namespace IRI to use for ``uri``: a wrong ML Schema namespace is repaired, and a
        relative one resolved against the file's location (as RDF resolves relative IRIs)."""
        used = self._namespaces.get(uri)
        if used is None:
            used = repaired_namespace(uri) or uri
            if used != uri:
                self.note(f"repaired the ML Schema namespace <{uri}> to <{used}>")
            elif not _ABSOLUTE.match(uri):
                used = urljoin(Path(self.source).resolve().as_uri(), uri)
                self.note(f"resolved the relative namespace {uri!r} against the file's location: <{used}>")
            self._namespaces[uri] = used
        return used

    def iri(self, name: QualifiedName) -> str:
        """Return the N-Triples IRI of a qualified name."""
        return rdf.iri(self.namespace(name.namespace.uri) + name.localpart)

    def term(self, value: Any) -> str:
        """Return the N-Triples term of an attribute value."""
        if isinstance(value, QualifiedName):
            return self.iri(value)
        if isinstance(value, Literal):
            if value.langtag:
                return f"{rdf.string(value.value)}@{value.langtag}"
            datatype = value.datatype
            return rdf.typed(value.value, self.namespace(datatype.namespace.uri) + datatype.localpart)
        if isinstance(value, bool):
            return rdf.boolean(value)
        if isinstance(value, int):
            return rdf.typed(str(value), canonical_xsd_datatype(value).uri)  # type: ignore[union-attr]
        if isinstance(value, float):
            return rdf.double(value)
        if isinstance(value, datetime):
            return rdf.typed(value.isoformat(), XSD.dateTime)
        if isinstance(value, Identifier):
            return rdf.typed(value.uri, XSD.anyURI)
        return rdf.string(str(value))

    def _prefixed(self, value: str, record: ProvRecord) -> str | None:
        """Return the IRI a string ``prefix:local`` names if its prefix is declared: tools write qualified names
        as strings (``{"prov:type": "mls:Run"}``), which PROV-JSON would spell as qualified names."""
        if ":" not in value or "://" in value:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            name = record.bundle.valid_qualified_name(value)
        return None if name is None else self.namespace(name.namespace.uri) + name.localpart

    def _ml_class(self, value: str, record: ProvRecord) -> str | None:
        """Return the class a string ``prefix:local`` names, if it is a PROV-ML or ML Schema class."""
        iri = self._prefixed(value, record)
        return iri if iri in ML_CLASSES else None

    def _named_iri(self, value: Any, record: ProvRecord) -> str | None:
        """Return the N-Triples IRI an attribute value names: a qualified name, an ``xsd:anyURI``, or a string
        that is an absolute IRI or a ``prefix:local`` of a declared prefix; None for any other value."""
        if isinstance(value, QualifiedName):
            return self.iri(value)
        if isinstance(value, Identifier):
            return rdf.iri(value.uri)
        if not isinstance(value, str):
            return None
        iri = value if rdf.is_absolute_iri(value) else self._prefixed(value, record)
        return None if iri is None else rdf.iri(iri)

    def element_attribute(
        self, subject: str, name: QualifiedName, value: Any, record: ProvRecord, graph: str
    ) -> list[Quad]:
        """Return the quads of an element's attribute: its :meth:`attribute` quad and, for one of
        :data:`~provml.loaders._prov_o.ABOUT_PROPERTIES` whose value names an IRI, a ``provml:domainConcept``
        link to it (which is the attribute's own quad for ``provml:domainConcept``)."""
        quad = self.attribute(subject, name, value, record, graph)
        if quad[1][1:-1] not in ABOUT_PROPERTIES:
            return [quad]
        concept = self._named_iri(value, record)
        if concept is None:
            self.note(_NOT_CONCEPTS)
            return [quad]
        link = (subject, _DOMAIN_CONCEPT, concept, graph)
        return [link] if quad[1] == _DOMAIN_CONCEPT else [quad, link]

    def attribute(self, subject: str, name: QualifiedName, value: Any, record: ProvRecord, graph: str) -> Quad:
        """Return the quad of one attribute: PROV-DM's own attributes by their PROV-O property."""
        local = name.localpart if name.namespace.uri == PROV_NS else None
        if local == "type" and not isinstance(value, QualifiedName):
            if isinstance(value, Identifier):  # an xsd:anyURI
                return (subject, A, rdf.iri(value.uri), graph)
            cls = self._ml_class(value, record) if isinstance(value, str) else None
            return (subject, A, _t(cls), graph) if cls else (subject, _t(LITERAL_TYPE), self.term(value), graph)
        predicate = ATTRIBUTE_PROPERTIES.get(local) if local else None
        return (subject, _t(predicate) if predicate else self.iri(name), self.term(value), graph)

    # -- records -------------------------------------------------------------------------------

    def records(self, records: Iterable[ProvRecord], graph: str | None = None) -> Iterator[Quad]:
        """Yield the quads of records of the document (``graph`` None) or of a bundle (its IRI)."""
        target = self.graph if graph is None else graph
        for record in records:
            keyword = PROV_N_MAP[record.get_type()]
            if keyword in ELEMENTS:
                yield from self.element(record, keyword, target)
            else:
                yield from self.relation(record, RELATIONS[keyword], target)

    def bundle(self, name: QualifiedName) -> tuple[str, list[Quad]]:
        """Return a bundle's graph and the quads that declare it in the dump's graph."""
        node = self.iri(name)
        return node, [(node, A, BUNDLE, self.graph)]

    def classes(self, kind: str, types: list[str], record: ProvRecord) -> list[str]:
        """Return the classes to assert of an element besides its types: PROV-ML's, by default
        (:func:`~provml.loaders._prov_o.provml_classes`)."""
        return provml_classes(kind, types)

    def element(self, record: ProvRecord, kind: str, graph: str) -> Iterator[Quad]:
        """Yield the quads of an entity, activity or agent."""
        node = self.iri(record.identifier)  # type: ignore[arg-type]
        quads = [(node, A, _t(ELEMENTS[kind]), graph)]
        quads += (
            quad
            for name, value in record.attributes
            for quad in self.element_attribute(node, name, value, record, graph)
        )
        types = [o[1:-1] for _, p, o, _ in quads if p == A and o[0] == "<"]
        classes = self.classes(kind, types, record)
        quads += ((node, A, _t(c), graph) for c in classes if c not in types)
        if VALUED.intersection(classes):
            quads += [(node, _VALUE, o, graph) for _, p, o, _ in quads if p[1:-1] in VALUE_ATTRIBUTES]
        if PROVML.HyperparameterSetting in classes:
            self._settings.add(node)
        return iter(quads)

    def relation(self, record: ProvRecord, form: RelationForm, graph: str) -> Iterator[Quad]:
        """Yield the quads of a relation: its PROV-O property and, if needed, its influence node."""
        args = {name.localpart: value for name, value in record.formal_attributes if value is not None}
        for required in (form.subject, *form.required):
            if required not in args:
                raise InputError(f"{form.keyword} has no prov:{required}", source=self.source, line=self._where(record))
        subject, target = self.iri(args[form.subject]), args.get(form.object)
        extra = record.extra_attributes
        kinds = [DERIVATION_KINDS[v.uri] for n, v in extra if n.localpart == "type" and v in _DERIVATION_TYPES]
        if target is not None:
            target = self.iri(target)
            yield (subject, _t(form.binary), target, graph)
            yield from ((subject, _t(binary), target, graph) for binary, _ in kinds)
            if form.keyword == "used":
                yield from self._setting_used(subject, target, graph)
        if form.qualified is None:  # mentionOf's bundle is said of its subject
            yield from ((subject, _t(p), self.iri(args[a]), graph) for a, p in form.node_properties if a in args)
            if extra or record.identifier is not None:
                self.note(f"ids and attributes of {form.keyword} have no PROV-O form and were left out")
            return
        if record.identifier is None and not extra and target is not None and len(args) == 2:
            return
        node = self._node(record)
        yield (subject, _t(form.qualified), node, graph)
        yield (node, A, _t(form.influence), graph)  # type: ignore[arg-type]
        for _, qualified in kinds:
            yield (subject, _t(qualified), node, graph)
        yield from ((node, _t(p), self.term(args[a]), graph) for a, p in form.node_properties if a in args)
        yield from (self.attribute(node, name, value, record, graph) for name, value in extra)

    def _node(self, record: ProvRecord) -> str:
        if record.identifier is not None:
            return self.iri(record.identifier)
        self._relations += 1
        return _t(f"{self._relation_base}{self._relations}")

    def _where(self, record: ProvRecord) -> str:
        """Name a record for an error: its kind and id, or its PROV-N text when it has no id."""
        if record.identifier is not None:
            return f"{PROV_N_MAP[record.get_type()]} {record.identifier}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = record.get_provn()
        return text if len(text) <= _MAX_WHERE else text[: _MAX_WHERE - 3] + "..."

    def _setting_used(self, activity: str, entity: str, graph: str) -> Iterator[Quad]:
        if entity in self._settings:
            yield (activity, _HAS_SETTING, entity, graph)
        elif len(self._pending) < MAX_PENDING:
            self._pending.append((activity, entity, graph))
        else:
            self.note(f"more than {MAX_PENDING:,} used entities came before their description")

    def finish(self) -> Iterator[Quad]:
        """Yield what needs the whole document: settings used before they were described."""
        for activity, entity, graph in self._pending:
            if entity in self._settings:
                yield (activity, _HAS_SETTING, entity, graph)
        self._pending.clear()


# -- reading with prov -------------------------------------------------------------------------


def prov_calls(source: Path | str, where: str | None, call: Callable[[], Any], note: Callable[[str], None]) -> Any:
    """Run a ``prov`` decoding call: its errors, and the input it says it will reject in its next
    version, become :class:`InputError` naming ``source`` and ``where``; its other warnings, notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except InputError:
            raise
        except _PROV_ERRORS as error:
            raise InputError(_message(error), source=source, line=where) from None
    for warning in caught:
        if issubclass(warning.category, ProvmlWarning):  # the mapping's own notes
            warnings.warn(warning.message, stacklevel=2)
        elif issubclass(warning.category, _REJECTION) and _REJECTED not in str(warning.message):
            raise InputError(_message(warning.message), source=source, line=where)
        elif issubclass(warning.category, UserWarning):
            note(_message(warning.message))
    return result


def decoded(
    path: Path,
    where: str | None,
    batch: list[tuple[str, Any]],
    decode: Callable[[list[Any]], list[Quad]],
    note: Callable[[str], None],
) -> list[Quad]:
    """Decode and map a batch of ``(position, record)`` with :func:`prov_calls`; on an error that does
    not know its line, decode the records one by one to name the bad one by its position."""
    try:
        return prov_calls(path, where, lambda: decode([record for _, record in batch]), note)
    except InputError as error:
        if isinstance(error.line, int):  # a PROV-N error that knows its line
            raise
        for position, record in batch:
            try:
                prov_calls(path, position, lambda r=record: decode([r]), note)
            except InputError as error:
                raise InputError(error.message, source=path, line=position) from None
        raise


def _message(error: object) -> str:
    """Return what a ``prov`` error or warning says, without its note on prov's next version."""
    if isinstance(error, (TypeError, KeyError, AttributeError, IndexError)):  # prov did not expect this input
        return f"prov cannot read this ({type(error).__name__}: {error})"
    text = str(getattr(error, "message", None) or error) or type(error).__name__
    return text.split(". prov 3.3.0 will reject this")[0]


# -- PROV-N in a stream ------------------------------------------------------------------------


def read_provn(path: Path, mapper: ProvOMapper, *, on_bytes: Callable[[int], None] | None = None) -> Iterator[Quad]:
    """Yield the quads of a PROV-N file, read a statement at a time (:mod:`._provn_stream`): ``prov``
    parses a batch of statements at a time, wrapped as a small document of their scope."""
    try:
        stream_file = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    with stream_file:
        reader = _ProvnReader(path, mapper)
        for piece in ProvnStatements(stream_file, str(path), on_bytes=on_bytes):
            yield from reader.take(piece)
    yield from mapper.finish()


@dataclass
class _ProvnScope:
    """The document, or a bundle, being read: the pieces that open it, and its declarations."""

    opening: list[Piece]  # ``document``; for a bundle, also the document's declarations and ``bundle id``
    declarations: list[Piece] = field(default_factory=list)
    statements: bool = False  # whether a statement came (a declaration after one is a statement, as for prov)
    graph: str | None = None  # a bundle's graph, once known

    @property
    def is_bundle(self) -> bool:
        """Return True for a bundle."""
        return self.opening[-1].kind == "bundle"

    def closing(self, line: int) -> list[Piece]:
        """Return the pieces that close the scope, placed on ``line``."""
        return [Piece(end, end, line) for end in (("endBundle", "endDocument") if self.is_bundle else ("endDocument",))]


class _ProvnReader:
    """Hand ``prov`` the statements of a PROV-N file a batch at a time, as small documents, and map them."""

    def __init__(self, path: Path, mapper: ProvOMapper) -> None:
        self.path, self.mapper = path, mapper
        self.document: _ProvnScope | None = None
        self.bundle: _ProvnScope | None = None
        self.batch: list[Piece] = []  # statements of the scope being read, not decoded yet
        self.ended = False
        self.graphs: set[str] = set()  # of the bundles read

    def take(self, piece: Piece) -> list[Quad]:
        """Take the next piece of the file; return the quads of the statements it lets decode."""
        if self.document is None or self.ended:
            return self._outside(piece)
        scope = self.bundle or self.document
        if piece.kind in ("prefix", "default") and not scope.statements:
            scope.declarations.append(piece)
            return []
        if piece.kind == "bundle" and self.bundle is None:
            quads = self._decode(scope, scope.closing(piece.line))
            scope.statements = True
            self.bundle = _ProvnScope([*scope.opening, *scope.declarations, piece])
            return quads
        if piece.kind == "endBundle" and self.bundle is not None:
            self.bundle = None
            return self._decode(scope, scope.closing(piece.line))
        if piece.kind == "endDocument" and self.bundle is None:
            self.ended = True
            return self._decode(scope, [piece])
        if piece.kind == "end":  # before endDocument: prov says what is missing
            return self._decode(scope, [piece])
        quads: list[Quad] = []
        if len(self.batch) >= BATCH and self.batch[-1].closed:  # a statement cut short stays with what follows it
            quads = self._decode(scope, scope.closing(piece.line))
        self.batch.append(piece)
        scope.statements = True
        return quads

    def _outside(self, piece: Piece) -> list[Quad]:
        """Take a piece before ``document`` or after ``endDocument``."""
        if self.document is None and piece.kind == "document":
            self.document = _ProvnScope([piece])
        elif self.document is None:
            raise InputError("a PROV-N document starts with 'document'", source=self.path, line=piece.line)
        elif piece.kind != "end":
            raise InputError("unexpected content after 'endDocument'", source=self.path, line=piece.line)
        return []

    def _decode(self, scope: _ProvnScope, closing: list[Piece]) -> list[Quad]:
        """Decode and map the batch (emptying it) in its scope, closed by ``closing``."""
        batch, self.batch = self.batch, []
        return decoded(
            self.path,
            None,
            [(f"{piece.line}:{_named(piece)}", piece) for piece in batch],
            lambda statements: self._records(scope, [*scope.opening, *scope.declarations, *statements, *closing]),
            self.mapper.note,
        )

    def _records(self, scope: _ProvnScope, pieces: list[Piece]) -> list[Quad]:
        """Parse the pieces as a document and map the records of the scope (declaring a bundle's graph once)."""
        document = _ProvnText(pieces).parse(self.path)
        if not scope.is_bundle:
            return list(self.mapper.records(document.get_records()))
        (bundle,) = document.bundles
        quads = self._bundle_graph(scope, bundle.identifier) if scope.graph is None else []  # type: ignore[arg-type]
        return quads + list(self.mapper.records(bundle.get_records(), scope.graph))

    def _bundle_graph(self, scope: _ProvnScope, name: QualifiedName) -> list[Quad]:
        """Learn a bundle's graph; return the quads that declare it."""
        scope.graph, declaration = self.mapper.bundle(name)
        if scope.graph in self.graphs:
            raise InputError(
                "a bundle with that identifier already exists", source=self.path, line=scope.opening[-1].line
            )
        self.graphs.add(scope.graph)
        return declaration


def _named(piece: Piece) -> str:
    """Name a statement for an error by its text."""
    text = " ".join(piece.text.split())
    return text if len(text) <= _MAX_WHERE else text[: _MAX_WHERE - 3] + "..."


class _ProvnText:
    """A small PROV-N document made of pieces of a file, which knows the line of the file each of its lines is."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces
        self.starts = list(accumulate((piece.lines for piece in pieces[:-1]), initial=1))
        self.text = "\n".join(piece.text for piece in pieces)

    def error(self, source: Path, message: str, line: int) -> InputError:
        """Return the error ``message`` about a line of this text: it names the line of the file, and the
        line the statement starts on if that is another (or of a statement before it that did not close)."""
        index = bisect_right(self.starts, line) - 1
        line = self.pieces[index].line + line - self.starts[index]
        while index > 0 and not self.pieces[index - 1].closed:
            index -= 1
        start = self.pieces[index].line
        return InputError(
            message + (f" (in the statement from line {start})" if start != line else ""), source=source, line=line
        )

    def parse(self, source: Path) -> ProvDocument:
        """Parse the text with ``prov``: a syntax error, or what prov says it will reject (its parser's
        warnings, which :func:`prov_calls` makes errors), raises :class:`InputError` naming the file's line."""
        parser = ProvNParser(self.text)
        try:
            document = parser.parse()
        except ProvNSyntaxError as error:
            raise self.error(source, error.message, error.line) from None
        if parser.warnings:
            position = _POSITION.match(parser.warnings[0])
            if position is None:
                raise InputError(_message(parser.warnings[0]), source=source)
            raise self.error(source, _message(parser.warnings[0][position.end() :]), int(position[1]))
        return document


# -- PROV-XML in a stream ----------------------------------------------------------------------

_PROV_TAG = "{" + PROV_NS + "}"


class _Counted:
    """A binary file that reports how many bytes were read from it."""

    def __init__(self, stream: Any, on_bytes: Callable[[int], None] | None) -> None:
        self._stream, self._on_bytes = stream, on_bytes

    def read(self, size: int = -1) -> bytes:
        """Read like the file does, and report the bytes read."""
        block = self._stream.read(size)
        if self._on_bytes is not None and block:
            self._on_bytes(len(block))
        return block


def read_prov_xml(path: Path, mapper: ProvOMapper, *, on_bytes: Callable[[int], None] | None = None) -> Iterator[Quad]:
    """Yield the quads of a PROV-XML file, parsed as a stream: ``prov`` decodes a batch of record
    elements at a time, which are then dropped from the tree."""
    from lxml import etree

    try:
        stream_file = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    with stream_file:
        events = etree.iterparse(
            _Counted(stream_file, on_bytes),
            events=("start", "end"),
            remove_comments=True,
            resolve_entities=False,
            no_network=True,
        )
        try:
            yield from _xml_records(events, path, mapper)
        except etree.XMLSyntaxError as error:
            raise InputError(f"invalid XML: {error.msg}", source=path, line=error.lineno) from None
    yield from mapper.finish()


def _xml_records(events: Iterator[tuple[str, Any]], path: Path, mapper: ProvOMapper) -> Iterator[Quad]:
    """Yield the quads of the record elements of a PROV-XML document (depth 2) and of its bundles (depth 3)."""
    depth, batch = 0, []
    bundle: tuple[QualifiedName, str] | None = None  # the bundle being read: its id and graph
    for event, element in events:
        if event == "start":
            depth += 1
            if depth == 1 and element.tag != _PROV_TAG + "document":
                raise InputError("not a PROV-XML document: its root is not prov:document", source=path, line=1)
            if depth == 2 and element.tag == _PROV_TAG + "bundleContent":
                yield from _xml_batch(batch, path, mapper, None)
                bundle = _xml_bundle(element, path, mapper)
                yield from mapper.bundle(bundle[0])[1]
            continue
        depth -= 1
        if depth == 1 and element.tag == _PROV_TAG + "bundleContent":
            yield from _xml_batch(batch, path, mapper, bundle)
            element.getparent().remove(element)
            bundle = None
        elif depth == 1 or (depth == 2 and bundle is not None):
            batch.append(element)
            if len(batch) >= BATCH:
                yield from _xml_batch(batch, path, mapper, bundle)
    yield from _xml_batch(batch, path, mapper, None)


def _xml_bundle(element: Any, path: Path, mapper: ProvOMapper) -> tuple[QualifiedName, str]:
    from prov.serializers.provxml import xml_qname_to_QualifiedName

    where = f"line {element.sourceline}"
    identifier = element.attrib.get(_PROV_TAG + "id")
    if identifier is None:
        raise InputError("a prov:bundleContent has no prov:id", source=path, line=where)
    name = prov_calls(path, where, lambda: xml_qname_to_QualifiedName(element, identifier), mapper.note)
    return name, mapper.bundle(name)[0]


def _xml_batch(
    batch: list[Any], path: Path, mapper: ProvOMapper, bundle: tuple[QualifiedName, str] | None
) -> list[Quad]:
    """Decode and map a batch of record elements, then drop them from the tree (emptying ``batch``)."""
    from prov.serializers.provxml import ProvXMLSerializer

    def decode(elements: list[Any]) -> list[Quad]:
        container = ProvDocument() if bundle is None else ProvDocument().bundle(bundle[0])
        ProvXMLSerializer().deserialize_subtree(elements, container)  # type: ignore[arg-type]
        return list(mapper.records(container.get_records(), None if bundle is None else bundle[1]))

    if not batch:
        return []
    quads = decoded(path, None, [(f"line {e.sourceline}", e) for e in batch], decode, mapper.note)
    for element in batch:
        element.getparent().remove(element)
    batch.clear()
    return quads


# -- PROV-JSON in a stream ---------------------------------------------------------------------

SECTIONS = frozenset(k for k in PROV_RECORD_IDS_MAP if k != "bundle")


@dataclass
class _Scope:
    """The prefixes of a PROV-JSON container (the document, or a bundle) and its graph."""

    prefixes: dict[str, str]
    bundle: str | None = None  # the bundle's id as written
    graph: str | None = None  # the bundle's graph, once known


def read_prov_json(path: Path, mapper: ProvOMapper, *, on_bytes: Callable[[int], None] | None = None) -> Iterator[Quad]:
    """Yield the quads of a PROV-JSON file, reading it section by section, record by record."""
    try:
        stream_file = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None
    with stream_file:
        stream = JsonStream(stream_file, str(path), on_bytes=on_bytes)
        if stream.kind() != "{":
            raise InputError("a PROV-JSON document must be a JSON object", source=path, line=stream.line)
        yield from _container(stream, path, _Scope({}), mapper)
        stream.end()
    yield from mapper.finish()


def _container(stream: JsonStream, path: Path, scope: _Scope, mapper: ProvOMapper) -> Iterator[Quad]:
    """Yield the quads of a document or bundle object, whose stream is at its opening brace.

    Its own prefixes are read first when they come first, as writers put them; when records come
    first, a second pass over the file finds them.
    """
    own = False  # whether the container's own prefixes are in scope.prefixes
    where = "document" if scope.bundle is None else f"bundle {scope.bundle}"
    for key in stream.members():
        if key == "prefix":
            found = _prefix_map(stream.value(), path, where)
            if not own:
                scope.prefixes, own = {**scope.prefixes, **found}, True
            continue
        if (key != "bundle" and key not in SECTIONS) or (key == "bundle" and scope.bundle is not None):
            raise InputError(f"{key!r} is not a PROV-JSON record type", source=path, line=where)
        if not own:
            scope.prefixes, own = {**scope.prefixes, **_find_prefixes(path, scope.bundle)}, True
        if stream.kind() != "{":
            raise InputError(f"the {key!r} value must be a JSON object", source=path, line=where)
        if key == "bundle":
            for bundle_id in stream.members():
                if stream.kind() != "{":
                    raise InputError("a bundle must be a JSON object", source=path, line=f"bundle {bundle_id}")
                yield from _container(stream, path, _Scope(scope.prefixes, bundle_id), mapper)
            continue
        if scope.bundle is not None and scope.graph is None:
            yield from _bundle_graph(scope, path, mapper)
        yield from _section(stream, path, key, scope, mapper)
    if scope.bundle is not None and scope.graph is None:  # a bundle without records
        yield from _bundle_graph(scope, path, mapper)


def _prefix_map(value: Any, path: Path, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise InputError('the "prefix" value must be a JSON object of prefix: IRI', source=path, line=where)
    return value


def _find_prefixes(path: Path, bundle: str | None) -> dict[str, str]:
    """Return the prefixes a container declares after its records (read by a second pass over the file)."""
    with path.open("rb") as stream_file:
        stream = JsonStream(stream_file, str(path))
        for key in stream.members():
            if bundle is None and key == "prefix":
                return _prefix_map(stream.value(), path, key)
            if bundle is not None and key == "bundle":
                for bundle_id in stream.members():
                    if bundle_id == bundle:
                        found = next((stream.value() for k in stream.members() if k == "prefix"), {})
                        return _prefix_map(found, path, f"bundle {bundle}")
    return {}


def _document(prefixes: dict[str, str]) -> ProvDocument:
    document = ProvDocument()
    for prefix, uri in prefixes.items():
        if prefix == "default":
            document.set_default_namespace(uri)
        else:
            document.add_namespace(Namespace(prefix, uri))
    return document


def _bundle_graph(scope: _Scope, path: Path, mapper: ProvOMapper) -> list[Quad]:
    """Resolve a bundle's id in its own scope into its graph; return the quads that declare it."""
    where = f"bundle {scope.bundle}"
    document = prov_calls(path, where, lambda: _document(scope.prefixes), mapper.note)
    name = document.valid_qualified_name(scope.bundle)
    if name is None:
        raise InputError(f"bundle id {scope.bundle!r} is not a qualified name", source=path, line=where)
    scope.graph, declaration = mapper.bundle(name)
    return declaration


def _section(stream: JsonStream, path: Path, section: str, scope: _Scope, mapper: ProvOMapper) -> Iterator[Quad]:
    """Yield the quads of one record section (``"entity": {...}``), a batch of records at a time."""
    where = section if scope.bundle is None else f"bundle {scope.bundle} {section}"
    batch: dict[str, Any] = {}
    for record_id in stream.members():
        if record_id in batch:  # the same id twice: keep both instances, as a list would
            yield from _decode(path, where, section, batch, scope, mapper)
            batch = {}
        batch[record_id] = stream.value()
        if len(batch) >= BATCH:
            yield from _decode(path, where, section, batch, scope, mapper)
            batch = {}
    yield from _decode(path, where, section, batch, scope, mapper)


def _decode(
    path: Path, where: str, section: str, batch: dict[str, Any], scope: _Scope, mapper: ProvOMapper
) -> list[Quad]:
    """Decode a batch of records with ``prov`` and map them; a bad record is named with its id."""
    if not batch:
        return []

    def decode(records: list[tuple[str, Any]]) -> list[Quad]:
        document = _document(scope.prefixes)
        decode_json_container({section: dict(records)}, document)
        return list(mapper.records(document.get_records(), scope.graph))

    return decoded(path, where, [(f"{where} {item[0]}", item) for item in batch.items()], decode, mapper.note)
