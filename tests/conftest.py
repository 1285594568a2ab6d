"""Shared fixtures: a small demo lifecycle written once per session, stores to load it into, and helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

os.environ["COLUMNS"] = "250"  # rich tables in CLI output are read by the tests: do not truncate cells

import pytest
from live_server import free_port

from provml import loaders
from provml.canned import shipped
from provml.demo import link_demo, write_lifecycle
from provml.store import LoadResult, Store

DEMO_RUNS, DEMO_EPOCHS = 12, 6
SHAPES_CORPUS = Path(__file__).parent / "fixtures" / "shapes"  # valid/*.ttl and invalid/*.ttl
# Flowcept reads its settings when imported: offline (no queue, no database), dumping its buffer on stop,
# capturing CPU and memory telemetry and describing the machine.
FLOWCEPT_SETTINGS = """\
project:
  db_flush_mode: offline
  enrich_messages: true
  dump_buffer: {enabled: true, path: flowcept_buffer.jsonl}
log: {log_file_level: disable, log_stream_level: disable}
telemetry_capture: {cpu: true, mem: true, machine_info: true}
mq: {enabled: false}
kv_db: {enabled: false}
databases: {mongodb: {enabled: false}, lmdb: {enabled: false}}
"""


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


def corpus_store(path: Path, graph: str = "urn:test:data") -> Store:
    """Return an in-memory store holding a Turtle file of the shapes corpus in one graph."""
    store = Store()
    store.add_rdf(path, "turtle", graph=graph)
    return store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty on-disk store."""
    with Store(tmp_path / "store") as opened:
        yield opened


@pytest.fixture(scope="session")
def demo_store(demo_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An on-disk store holding the demo lifecycle, with its geology ontology linked, as `provml demo` makes it
    (read it, do not change it)."""
    with Store(tmp_path_factory.mktemp("demo-store") / "store") as opened:
        for path in demo_files:
            load_file(opened, path)
        link_demo(opened)
        yield opened


LIFECYCLE = Path(__file__).parent / "fixtures" / "lifecycle"  # the small lifecycle the canned queries are tested on


@pytest.fixture(scope="session")
def lifecycle_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An on-disk store holding tests/fixtures/lifecycle (read it, do not change it); see its README."""
    with Store(tmp_path_factory.mktemp("lifecycle-store") / "store") as opened:
        for path in sorted(LIFECYCLE.glob("*.jsonl")):
            load_file(opened, path)
        yield opened


def answer(store: Store, name: str, **params: str) -> list[tuple[object, ...]]:
    """Run a shipped canned query; return its rows as tuples of Python values (None where unbound)."""
    result = shipped().get(name).run(store, params)
    return [tuple(None if term is None else term.python() for term in row) for row in result]


@pytest.fixture(scope="module")
def redis_package() -> ModuleType:
    """The redis client package, or a skip saying how to install it."""
    return pytest.importorskip("redis", reason='the redis package is not installed (pip install "provml[redis]")')


@pytest.fixture(scope="module")
def redis_port(redis_package: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server of its own on a free port of 127.0.0.1, persisting nothing."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port, directory = free_port(), tmp_path_factory.mktemp("redis")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen([*command, "--dir", str(directory)], stdout=subprocess.DEVNULL)
    client, deadline = redis_package.Redis(port=port, socket_timeout=1), time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis_package.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"redis-server did not answer on port {port}")
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


# One rank of a data-parallel job: captures a training run of argv[3] metric values to the stream argv[1].
RANK_CAPTURE = textwrap.dedent(
    """
    import sys, provml
    from provml.capture.redis import RedisTransport
    transport = RedisTransport(sys.argv[1])
    with provml.start_workflow("ddp", transport=transport):
        with provml.start_run("train", stage="training"):
            provml.log_param("rank", int(sys.argv[2]))
            for step in range(int(sys.argv[3])):
                provml.log_metric("loss", 1.0, step=step)
    transport.close()
    """
)
