"""provml: a knowledge-graph backend for the provenance of machine-learning workflows.

Workflow events become RDF typed by the PROV-ML ontology (W3C PROV-O aligned with ML Schema),
kept in an embedded Oxigraph store and queried with SPARQL.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from provml.errors import EventError, InputError, ProvmlError, QueryError, StoreError

__version__ = "0.1.0"

# In a source checkout used without installing, the packages that pyproject.toml maps into provml
# (loaders/, server/, ontology/, queries/, shapes/) sit beside this directory: let them import as provml.*.
_checkout = Path(__file__).resolve().parent.parent
if (
    (_checkout / "pyproject.toml").is_file()
    and (_checkout / "loaders" / "__init__.py").is_file()
    and importlib.util.find_spec("provml.loaders") is None
):
    __path__.append(str(_checkout))

# The capture API, re-exported: ``provml.start_run(...)``, ``provml.log_metric(...)``...
from provml import capture  # noqa: E402 - the package path must be set up first
from provml.capture import *  # noqa: E402, F403

__all__ = ["EventError", "InputError", "ProvmlError", "QueryError", "StoreError", "__version__", *capture.__all__]
