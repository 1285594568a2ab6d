"""Shared fixtures: a small demo lifecycle written once per session, and stores to load it into."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["COLUMNS"] = "250"  # rich tables in CLI output are read by the tests: do not truncate cells

import pytest

from provml import loaders
from provml.demo import write_lifecycle
from provml.store import LoadResult, Store

DEMO_RUNS, DEMO_EPOCHS = 12, 6


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Event files of a lifecycle with 12 training runs of 6 epochs."""
    return write_lifecycle(tmp_path_factory.mktemp("demo"), runs=DEMO_RUNS, epochs=DEMO_EPOCHS)


def load_file(store: Store, path: Path, *, force: bool = False) -> LoadResult:
    """Load one event file the way ``provml load`` does."""
    loader = loaders.detect(path)
    graph = store.ids.dump_graph(path)
    return store.load(
        loader.read(path, store.ids, graph),
        graph=graph,
        source=str(path),
        loader=loader.name,
        sha256=loaders.file_sha256(path),
        force=force,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty on-disk store."""
    with Store(tmp_path / "store") as opened:
        yield opened


@pytest.fixture(scope="session")
def demo_store(demo_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An on-disk store holding the demo lifecycle (read it, do not change it)."""
    with Store(tmp_path_factory.mktemp("demo-store") / "store") as opened:
        for path in demo_files:
            load_file(opened, path)
        yield opened
