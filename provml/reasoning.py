"""Check the PROV-ML ontology with an OWL 2 reasoner (HermiT, through owlready2).

owlready2 is an optional extra (``pip install "provml[reasoning]"``) and HermiT needs Java.
Nothing is fetched from the network: owlready2 cannot read Turtle, so each ontology file is
converted to N-Triples with rdflib, and the two imported ontologies are loaded into the World
first under their import IRIs, so that owlready2 finds them already loaded when it follows the
``owl:imports`` of ``provml.ttl``. owlready2 warns on stderr that PROV-O declares
``prov:wasRevisionOf`` and ``prov:specializationOf`` both as annotation and object properties;
that is a known quirk of PROV-O and harmless here, so those warnings are not shown.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import types
from typing import TYPE_CHECKING

import rdflib

from provml.errors import ProvmlError
from provml.resources import ontology_file

if TYPE_CHECKING:
    import owlready2

# Files in import order: the imported ontologies under the IRIs provml.ttl imports them by.
_ONTOLOGIES: tuple[tuple[str, str], ...] = (
    ("prov-o.ttl", "http://www.w3.org/ns/prov-o#"),
    ("mls.ttl", "http://www.w3.org/ns/mls#"),
    ("provml.ttl", "https://w3id.org/provml#"),
)


def _owlready2() -> types.ModuleType:
    try:
        import owlready2
    except ImportError as exc:
        raise ProvmlError('reasoning needs owlready2: install "provml[reasoning]"') from exc
    return owlready2


def load_ontology_world() -> owlready2.World:
    """Return a new owlready2 World holding provml.ttl and its imports, read from the local files."""
    owlready2 = _owlready2()
    world = owlready2.World()
    for name, iri in _ONTOLOGIES:
        ntriples = rdflib.Graph().parse(ontology_file(name), format="turtle").serialize(format="nt")
        with contextlib.redirect_stderr(io.StringIO()):  # the warnings on PROV-O's two properties
            world.get_ontology(iri).load(fileobj=io.BytesIO(ntriples.encode("utf-8")))
    return world


def check_consistency(world: owlready2.World) -> list[str]:
    """Run HermiT on ``world``; return the sorted IRIs of unsatisfiable classes (empty = coherent)."""
    owlready2 = _owlready2()
    if shutil.which(owlready2.JAVA_EXE) is None:
        raise ProvmlError(f"reasoning needs Java: {owlready2.JAVA_EXE!r} was not found on PATH")
    try:
        owlready2.sync_reasoner(world, infer_property_values=False, debug=0)
    except owlready2.OwlReadyInconsistentOntologyError as exc:
        raise ProvmlError("inconsistent: HermiT found no model of the ontologies and individuals") from exc
    except owlready2.OwlReadyJavaError as exc:
        message = str(exc).strip().splitlines()[-1]
        raise ProvmlError(f"HermiT failed: {message}") from exc
    return sorted(cls.iri for cls in world.inconsistent_classes() if cls is not owlready2.Nothing)
