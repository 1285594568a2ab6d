"""Loader of W3C PROV documents: PROV-JSON, PROV-N and PROV-XML, read with the ``prov`` package.

Records become PROV-O (the W3C mapping: elements with their types and attributes, relations by
their property and, when they carry more than their two main arguments, a qualified influence
node); bundles become named graphs of the dump. Where a ``prov:type`` names a PROV-ML or ML Schema
class, the node also gets the PROV-ML class and its PROV core class, so provml's queries see it.
A wrong ML Schema namespace (``https://ml-schema.org/``) is repaired, with a note.

>>> prov_syntax_of_text('{"prefix": {"ex": "http://example.org/"}, "entity": {"ex:e": {}}}')
'json'
>>> prov_syntax_of_text("// made by hand\\ndocument\\n  entity(ex:e)\\nendDocument")
'provn'
>>> prov_syntax_of_text('{"type": "task", "task_id": "t1"}') is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from provml.errors import InputError
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, read_head
from provml.rdf import Quad

if TYPE_CHECKING:
    from provml.loaders._prov_read import ProvOMapper

_HEAD = 8192  # bytes read to recognise a file
_JSON_KEYS = (
    "prefix|entity|activity|agent|bundle|wasGeneratedBy|used|wasInformedBy|wasStartedBy|wasEndedBy|"
    "wasInvalidatedBy|wasDerivedFrom|wasAttributedTo|wasAssociatedWith|actedOnBehalfOf|wasInfluencedBy|"
    "alternateOf|specializationOf|mentionOf|hadMember"
)
_PROV_JSON = re.compile(rf'\s*\{{\s*"(?:{_JSON_KEYS})"\s*:')
_PROV_N = re.compile(r"(?:\s+|//[^\r\n]*[\r\n]|/\*.*?\*/)*document\b", re.DOTALL)
_PROV_XML = re.compile(r"<(?:[\w.-]+:)?document[\s>/]")
PROV_NAMESPACE = "http://www.w3.org/ns/prov#"


def prov_syntax_of_text(head: str) -> str | None:
    """Return ``json``, ``provn`` or ``xml`` if the start of a file is a PROV document in that syntax."""
    head = head.lstrip("\ufeff")
    if _PROV_JSON.match(head):
        return "json"
    if _PROV_N.match(head):
        return "provn"
    if head.lstrip().startswith("<") and PROV_NAMESPACE in head and _PROV_XML.search(head):
        return "xml"
    return None


def prov_syntax(path: Path) -> str | None:
    """Return the PROV syntax of a file (reading its start), or None."""
    return prov_syntax_of_text(read_head(path, _HEAD).decode("utf-8", errors="replace"))


class ProvLoader(Loader):
    """Read W3C PROV documents (``.json``, ``.provn``, ``.provx``) into PROV-O typed by PROV-ML."""

    name = "prov"
    description = "W3C PROV documents: PROV-JSON, PROV-N, PROV-XML (bundles become named graphs)"
    extensions = (".json", ".provn", ".provx")

    def sniff(self, path: Path) -> bool:
        """Return True if the file starts like a PROV-JSON, PROV-N or PROV-XML document."""
        return path.is_file() and prov_syntax(path) is not None

    def mapper(self, source: Path, ids: IriMinter, graph: str) -> ProvOMapper:
        """Return the mapping of one dump's records; a loader of one producer's PROV may refine it."""
        from provml.loaders._prov_read import ProvOMapper

        return ProvOMapper(source, ids, graph)

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of a PROV document, read as a stream (a batch of records at a time) in each syntax."""
        path = Path(source)
        syntax = prov_syntax(path)
        if syntax is None:
            raise InputError("not a PROV-JSON, PROV-N or PROV-XML document", source=path)
        try:
            from provml.loaders import _prov_read
        except ImportError as error:
            raise InputError(f"reading PROV needs the prov package ({error}): pip install 'prov[xml]>=3.2.3'") from None
        mapper = self.mapper(path, ids, graph)
        read = {"json": _prov_read.read_prov_json, "xml": _prov_read.read_prov_xml, "provn": _prov_read.read_provn}
        return read[syntax](path, mapper, on_bytes=on_bytes)
