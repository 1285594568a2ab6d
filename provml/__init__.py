"""provml: a knowledge-graph backend for the provenance of machine-learning workflows.

Workflow events become RDF typed by the PROV-ML ontology (W3C PROV-O aligned with ML Schema),
kept in an embedded Oxigraph store and queried with SPARQL.
"""

from __future__ import annotations

__version__ = "0.1.0"

from provml.errors import EventError, InputError, ProvmlError, QueryError, StoreError

__all__ = [
    "EventError",
    "InputError",
    "ProvmlError",
    "QueryError",
    "StoreError",
    "__version__",
]
