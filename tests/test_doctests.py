"""The examples in docstrings are tests: run them for every provml module.

pytest's --doctest-modules would import loaders/ as ``loaders`` instead of ``provml.loaders``,
so the modules are imported by their package names here.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import provml
import provml.loaders
import provml.server

DATA_PACKAGES = {"provml.ontology", "provml.queries", "provml.shapes", "provml.schemas"}
MODULES = sorted(
    {
        "provml",
        "provml.loaders",
        *(
            m.name
            for m in pkgutil.walk_packages([str(Path(provml.__file__).parent)], "provml.")
            if not m.name.endswith("__main__")
        ),
        *(m.name for m in pkgutil.walk_packages(provml.loaders.__path__, "provml.loaders.")),
    }
    - DATA_PACKAGES
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_modules_with_examples_have_them() -> None:
    with_examples = [
        name
        for name in MODULES
        if doctest.DocTestFinder().find(importlib.import_module(name))
        and any(t.examples for t in doctest.DocTestFinder().find(importlib.import_module(name)))
    ]
    assert {"provml.rdf", "provml.ids", "provml.events", "provml.store", "provml.vocab", "provml.loaders"} <= set(
        with_examples
    )
