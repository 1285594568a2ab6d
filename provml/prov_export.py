"""Export the store's PROV-O as PROV-JSON: what ``provml export --format prov-json`` writes.

Elements (nodes typed ``prov:Entity``, ``prov:Activity``, ``prov:Agent`` or their PROV subclasses)
become records with their other types as ``prov:type`` and their properties as attributes;
relations are read back from their qualified influence nodes and from the PROV-O properties no
influence node covers. A dump's named graphs that its input named (PROV bundles) become bundles.
Influence nodes whose IRIs provml minted for anonymous relations become anonymous again.

The document is written section by section, a bounded batch of records at a time, each batch
encoded by the ``prov`` package; the prefix map comes last, when every namespace is known.

>>> from provml.store import Store
>>> store = Store()
>>> quads = [("<http://example.org/run>", f"<{RDF.type}>", f"<{PROV.Activity}>", "<urn:g>")]
>>> _ = store.load(quads, graph="urn:g", source="example", loader="prov", sha256="0")
>>> import io; output = io.BytesIO()
>>> write_prov_json(store, output)
1
>>> json.loads(output.getvalue())["activity"]
{'ns1:run': {}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import IO, Any

from prov.constants import PROV_RECORD_IDS_MAP, XSD
from prov.identifier import Namespace, QualifiedName
from prov.model import Literal, ProvDocument
from prov.serializers.provjson import encode_json_container

from provml.errors import StoreError
from provml.loaders._prov_o import ATTRIBUTE_PROPERTIES, DERIVATION_KINDS, ELEMENTS, LITERAL_TYPE, RELATIONS
from provml.store import Store, Term
from provml.vocab import PREFIXES, PROV, PROV_NS, RDF, XSD_NS

BATCH = 1000  # records encoded at a time
# the PROV classes that make a node an element of each kind (a prov:Bundle is not an entity unless said so)
ELEMENT_CLASSES = {
    "entity": (PROV.Entity, PROV.Plan, PROV_NS + "Collection", PROV_NS + "EmptyCollection"),
    "activity": (PROV.Activity,),
    "agent": (PROV.Agent, PROV.Person, PROV.SoftwareAgent, PROV_NS + "Organization"),
}
_ATTRIBUTE_NAMES = {prop: name for name, prop in ATTRIBUTE_PROPERTIES.items()} | {LITERAL_TYPE: "type"}
_RELATION_PROPERTIES = frozenset(
    p
    for form in RELATIONS.values()
    for p in (form.binary, form.qualified, *(prop for _, prop in form.node_properties if form.qualified is None))
    if p
) | frozenset(p for kinds in DERIVATION_KINDS.values() for p in kinds)
_PROV = Namespace("prov", PROV_NS)
_PROV_QNAMES = {name: _PROV[name] for name in ATTRIBUTE_PROPERTIES}
_TIMES = {"startTime": "activity", "endTime": "activity", "time": "relation"}  # formal times, and of what
_PREDEFINED = ("prov", "xsd")  # prefixes PROV-JSON needs no declaration of
_SECTIONS = ("entity", "activity", "agent", *(keyword for keyword in RELATIONS))


class _Names:
    """Qualified names for IRIs: provml's prefixes, ``id:`` for the IRI base, ``ns1:``... for others."""

    def __init__(self, store: Store) -> None:
        fixed = {**PREFIXES, "id": store.ids.base}
        self.namespaces = {uri: Namespace(p, uri) for p, uri in fixed.items()}
        self._fixed = sorted(self.namespaces, key=len, reverse=True)  # longest first
        self.bnodes = store.ids.base + "bnode/"
        self.minted = store.ids.base + "graph/"
        self.used: dict[str, str] = {}  # prefix -> namespace IRI, of the names written

    def qname(self, term: Term) -> QualifiedName:
        """Return the qualified name of an IRI or blank node: in provml's namespaces where it is in one,
        else in the longest namespace already used that ends at one of its ``/`` or ``#``, else in a new
        namespace that ends at its last ``/`` or ``#``."""
        iri = self.bnodes + term.value if term.kind == "bnode" else term.value
        namespace = next((uri for uri in self._fixed if iri.startswith(uri) and len(iri) > len(uri)), None)
        if namespace is None:
            cuts = [i + 1 for i, c in enumerate(iri[:-1]) if c in "/#"] or [iri.find(":") + 1]
            namespace = next((iri[:cut] for cut in reversed(cuts) if iri[:cut] in self.namespaces), iri[: cuts[-1]])
            if namespace not in self.namespaces:
                self.namespaces[namespace] = Namespace(f"ns{len(self.namespaces) - len(self._fixed) + 1}", namespace)
        prefix = self.namespaces[namespace].prefix
        self.used[prefix] = namespace
        return QualifiedName(self.namespaces[namespace], iri[len(namespace) :])  # namespace[...] would cache it

    def relation_id(self, term: Term) -> QualifiedName | None:
        """Return the id of an influence node: None for the nodes of anonymous relations."""
        if term.kind == "bnode" or (term.value.startswith(self.minted) and "/relation/" in term.value):
            return None
        return self.qname(term)

    def value(self, term: Term) -> Any:
        """Return the PROV attribute value of an RDF term."""
        if term.kind != "literal":
            return self.qname(term)
        if term.language:
            return Literal(term.value, langtag=term.language)
        if term.datatype in (None, XSD_NS + "string"):
            return term.value
        if term.datatype.startswith(XSD_NS):
            return Literal(term.value, XSD[term.datatype[len(XSD_NS) :]])
        return Literal(term.value, self.qname(Term("iri", term.datatype)))


def _scope(store: Store, graph: str | None) -> tuple[list[str], list[str]]:
    """Return the graphs whose union is the document, and those that are its bundles."""
    if graph is None:
        dumps = store.dumps()
        return [d.graph for d in dumps] + [store.ids.shared_graph], [m for d in dumps for m in d.graphs]
    if not store.query(f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"):
        raise StoreError(f"no such graph: {graph} (see `provml graphs`)")
    info = store.dump(graph)
    return [graph], list(info.graphs) if info else []


def write_prov_json(store: Store, output: IO[bytes], *, graph: str | None = None) -> int:
    """Write the store (or one dump's graph, with its bundles) as a PROV-JSON document; return the
    number of records written."""
    top, bundles = _scope(store, graph)
    writer = _Writer(store, output)
    output.write(b"{")
    members = writer.container(top)
    if bundles:
        output.write(f'{", " * bool(members)}"bundle": {{'.encode())
        for number, bundle in enumerate(bundles):
            output.write(
                f"{', ' * bool(number)}{json.dumps(str(writer.names.qname(Term('iri', bundle))))}: {{".encode()
            )
            writer.container([bundle])
            output.write(b"}")
        output.write(b"}")
        members += 1
    prefixes = {p: uri for p, uri in sorted(writer.names.used.items()) if p not in _PREDEFINED}
    output.write(f'{", " * bool(members)}"prefix": {json.dumps(prefixes)}}}\n'.encode())
    return writer.records


class _Writer:
    """Writes the sections of PROV-JSON containers, one batch of records at a time."""

    def __init__(self, store: Store, output: IO[bytes]) -> None:
        self.store, self.output = store, output
        self.names = _Names(store)
        self.records = 0
        self._anonymous = 0

    def container(self, graphs: list[str]) -> int:
        """Write the sections of the document made of the union of ``graphs``; return how many."""
        sources = " ".join(f"FROM <{g}>" for g in graphs)
        sections = 0
        for section in _SECTIONS:
            rows = self._elements(sources, section) if section in ELEMENTS else self._relations(sources, section)
            opened = False
            for batch in _batches(rows):
                start = ", " if opened else f'{", " * bool(sections)}"{section}": {{'
                self.output.write((start + self._encode(batch)).encode())
                if not opened:
                    opened, sections = True, sections + 1
            if opened:
                self.output.write(b"}")
        return sections

    def _encode(self, records: list[tuple[str, QualifiedName | None, dict[Any, Any], list[tuple[Any, Any]]]]) -> str:
        document = ProvDocument()
        for keyword, identifier, formal, extra in records:
            document.new_record(PROV_RECORD_IDS_MAP[keyword], identifier, formal, extra)
        encoded = encode_json_container(document)
        for prefix, uri in encoded.pop("prefix", {}).items():
            if self.names.used.setdefault(prefix, uri) != uri:
                raise StoreError(f"bug: prefix {prefix} stands for two namespaces, {uri} and {self.names.used[prefix]}")
        parts = []
        for entries in encoded.values():
            for key, content in entries.items():
                if key.startswith("_:"):  # prov numbers anonymous records per batch; number them per document
                    self._anonymous += 1
                    key = f"_:id{self._anonymous}"
                for instance in content if isinstance(content, list) else [content]:
                    parts.append(f"{json.dumps(key)}: {json.dumps(instance)}")
                    self.records += 1
        return ", ".join(parts)

    # -- elements ----------------------------------------------------------------------------

    def _described(self, sources: str, heads: str, pattern: str) -> Iterator[tuple[tuple[Term, ...], list[Any]]]:
        """Yield the nodes ``pattern`` matches (the first of the variables ``heads``, with the others) and
        their ``(property, value)`` pairs, merged over the graphs that state them.

        Oxigraph joins the sub-select's nodes in a nested loop, so each node's triples come together;
        ORDER BY would sort them ten times slower.
        """
        node, width = heads.split()[0], len(heads.split())
        nodes = f"SELECT DISTINCT {heads} WHERE {{ {pattern} }}"
        query = f"SELECT {heads} ?p ?o {sources} WHERE {{ {{ {nodes} }} {node} ?p ?o }}"
        for key, rows in groupby(self.store.query(query, union=False), key=lambda row: row[:width]):
            yield key, list(dict.fromkeys(row[width:] for row in rows))

    def _elements(self, sources: str, kind: str) -> Iterator[tuple[str, QualifiedName | None, dict, list]]:
        classes = " ".join(f"<{c}>" for c in ELEMENT_CLASSES[kind])
        core = ELEMENTS[kind]
        for (subject,), properties in self._described(sources, "?s", f"VALUES ?class {{ {classes} }} ?s a ?class"):
            formal: dict[Any, Any] = {}
            extra: list[tuple[Any, Any]] = []
            for predicate, obj in properties:
                if predicate.value in _RELATION_PROPERTIES or (predicate.value == RDF.type and obj.value == core):
                    continue
                self._attribute(predicate.value, obj, kind, formal, extra)
            yield kind, self.names.qname(subject), formal, extra

    def _attribute(self, predicate: str, obj: Term, kind: str, formal: dict[Any, Any], extra: list[Any]) -> None:
        """Add what one property says to a record: a formal time, or an attribute."""
        name = _ATTRIBUTE_NAMES.get(predicate)
        if name in _TIMES:
            if kind == _TIMES[name] and obj.kind == "literal" and _PROV_QNAMES[name] not in formal:
                formal[_PROV_QNAMES[name]] = obj.value
                return
            name = None
        extra.append((_PROV_QNAMES[name] if name else self.names.qname(Term("iri", predicate)), self.names.value(obj)))

    # -- relations ---------------------------------------------------------------------------

    def _relations(self, sources: str, keyword: str) -> Iterator[tuple[str, QualifiedName | None, dict, list]]:
        form = RELATIONS[keyword]
        if form.qualified is not None:
            yield from self._qualified(sources, keyword)
        yield from self._binary(sources, keyword)

    def _qualified(self, sources: str, keyword: str) -> Iterator[tuple[str, QualifiedName | None, dict, list]]:
        form = RELATIONS[keyword]
        links = [form.qualified] + ([q for _, q in DERIVATION_KINDS.values()] if keyword == "wasDerivedFrom" else [])
        union = " UNION ".join(f"{{ ?subject <{link}> ?q }}" for link in links)
        attributes = {prop: name for name, prop in form.node_properties}
        for (node, subject), properties in self._described(sources, "?q ?subject", union):
            formal: dict[Any, Any] = {_formal(form.subject): self.names.qname(subject)}
            extra: list[tuple[Any, Any]] = []
            for predicate, obj in properties:
                if predicate.value == RDF.type and obj.value == form.influence:
                    continue
                if predicate.value in attributes and obj.kind != "literal":
                    formal[_formal(attributes[predicate.value])] = self.names.qname(obj)
                    continue
                self._attribute(predicate.value, obj, "relation", formal, extra)
            yield keyword, self.names.relation_id(node), formal, extra

    def _binary(self, sources: str, keyword: str) -> Iterator[tuple[str, QualifiedName | None, dict, list]]:
        """Yield the relations stated by their PROV-O property alone (no influence node says them)."""
        form = RELATIONS[keyword]
        kinds = [(form.binary, None)]
        if keyword == "wasDerivedFrom":
            kinds += [(binary, kind) for kind, (binary, _) in DERIVATION_KINDS.items()]
        object_property = dict(form.node_properties).get(form.object)
        for binary, kind in kinds:
            covered = ""
            if form.qualified is not None:
                links = [form.qualified] + ([q for _, q in DERIVATION_KINDS.values()] if kind or len(kinds) > 1 else [])
                covered = " UNION ".join(f"{{ ?s <{q}> ?q . ?q <{object_property}> ?o }}" for q in links)
                covered = f"FILTER NOT EXISTS {{ {covered} }}"
            if kind is None and keyword == "wasDerivedFrom":
                covered += "".join(f" FILTER NOT EXISTS {{ ?s <{b}> ?o }}" for b, _ in DERIVATION_KINDS.values())
            extra_pattern = ""
            if keyword == "mentionOf":
                extra_pattern = f"OPTIONAL {{ ?s <{dict(form.node_properties)['bundle']}> ?b }}"
            query = f"SELECT DISTINCT ?s ?o ?b {sources} WHERE {{ ?s <{binary}> ?o {extra_pattern} {covered} }}"
            for subject, obj, bundle in self.store.query(query, union=False):
                if obj.kind == "literal":
                    continue
                formal = {_formal(form.subject): self.names.qname(subject), _formal(form.object): self.names.qname(obj)}
                if bundle is not None:
                    formal[_formal("bundle")] = self.names.qname(bundle)
                extra = [(_PROV_QNAMES["type"], self.names.qname(Term("iri", kind)))] if kind else []
                yield keyword, None, formal, extra


def _formal(name: str) -> QualifiedName:
    return _PROV[name]


def _batches(records: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
