"""provml installs as one distribution whose data files are found wherever it is installed."""

from __future__ import annotations

import os
import shutil
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

import provml
import provml.loaders
from provml import resources

REPO = Path(__file__).resolve().parents[1]


def test_the_remapped_directories_import_under_provml() -> None:
    import provml.loaders
    import provml.server

    assert provml.loaders.__name__ == "provml.loaders" and provml.server.__name__ == "provml.server"
    assert "loaders" not in sys.modules and "server" not in sys.modules


@pytest.mark.parametrize(
    ("locate", "name"),
    [
        (resources.ontology_file, "provml.ttl"),
        (lambda: resources.ontology_file("prov-o.ttl"), "prov-o.ttl"),
        (lambda: resources.ontology_file("mls.ttl"), "mls.ttl"),
        (resources.schema_file, "events-v1.schema.json"),
    ],
)
def test_data_files_are_found(locate: object, name: str) -> None:
    path = locate()  # type: ignore[operator]
    assert path.name == name and path.is_file() and path.stat().st_size > 0


def test_data_directories_are_found() -> None:
    for directory in (resources.ontology_dir(), resources.shapes_dir(), resources.queries_dir()):
        assert directory.is_dir()


def test_the_console_script_is_declared_and_installed() -> None:
    scripts = {e.name: e.value for e in distribution("provml").entry_points if e.group == "console_scripts"}
    assert scripts == {"provml": "provml.cli:main"}
    assert shutil.which("provml", path=str(Path(sys.executable).parent)) or shutil.which("provml")


def test_version_is_single_sourced() -> None:
    assert distribution("provml").version == provml.__version__


@pytest.mark.skipif(
    os.environ.get("PROVML_EXPECT_INSTALLED") != "1",
    reason="only .ci/run installs provml non-editable into a fresh venv (it sets PROVML_EXPECT_INSTALLED=1)",
)
def test_ci_tests_the_installed_package_not_the_checkout() -> None:
    """In CI the tests must exercise the wheel's files: code and data come from site-packages."""
    for path in (
        Path(provml.__file__),
        resources.ontology_file(),
        resources.schema_file(),
        Path(provml.loaders.__file__),
    ):
        assert REPO not in path.resolve().parents, f"{path} comes from the checkout, not the installed package"
