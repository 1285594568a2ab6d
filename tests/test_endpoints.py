"""`provml link --endpoint`: labels and definitions of the IRIs the store refers to without a label, fetched
with SPARQLWrapper from another provml server on 127.0.0.1 into a cache graph; only from allow-listed
endpoints."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LIFECYCLE, answer, load_file
from live_server import Server, free_port

from provml.endpoints import ALLOW_ENV, allow_list, fetch_descriptions
from provml.errors import RemoteAccessError
from provml.linking import link
from provml.store import Store

GEO = "https://geo.example/"
CONCEPTS = ("AmplitudeCube", "CamposBasin", "FaciesLabel", "FaciesMap", "NorthSea", "SantosBasin", "SeismicSurvey")


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-only provml server holding the geology ontology of the lifecycle's concepts."""
    root = tmp_path_factory.mktemp("remote")
    with Store(root / "store") as store:
        link(store, [Path(__file__).parent / "fixtures" / "geo-ontology.ttl"], check=False)
    server = Server(root / "store", token=None)
    yield server
    server.stop()


@pytest.fixture
def lifecycle(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "store") as store:
        for path in sorted(LIFECYCLE.glob("*.jsonl")):
            load_file(store, path)
        yield store


def test_the_labels_of_the_domain_concepts_come_from_the_allowed_endpoint(remote: Server, lifecycle: Store) -> None:
    endpoint = f"{remote.url}/sparql"
    assert {row[1] for row in answer(lifecycle, "training-data-concepts", model="unet-a")} == {None}
    fetched = fetch_descriptions(lifecycle, endpoint, [remote.url])
    assert (fetched.asked, fetched.described) == (len(CONCEPTS), len(CONCEPTS))
    assert fetched.graph == f"urn:provml:graph/cache/127.0.0.1%3A{remote.port}"
    labels = {row[0]: row[1] for row in answer(lifecycle, "training-data-concepts", model="unet-a")}
    assert labels[f"{GEO}SantosBasin"] == "Santos Basin" and labels[f"{GEO}FaciesLabel"] == "facies label"
    # a second fetch asks about the same IRIs (their labels are only in the cache) and replaces the cache
    again = fetch_descriptions(lifecycle, endpoint, [remote.url])
    assert again == fetched
    assert (
        len(lifecycle.query(f"SELECT * WHERE {{ GRAPH <{fetched.graph}> {{ ?s ?p ?o }} }}").rows()) == fetched.triples
    )


def test_an_endpoint_not_allow_listed_is_refused_before_any_connection(lifecycle: Store) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/sparql"  # nothing listens: a connection would fail differently
    with pytest.raises(RemoteAccessError, match="is not allow-listed"):
        fetch_descriptions(lifecycle, nowhere, [])
    with pytest.raises(RemoteAccessError, match="is not allow-listed"):
        fetch_descriptions(lifecycle, nowhere, ["http://127.0.0.1:1/sparql"])
    with pytest.raises(RemoteAccessError, match=r"127\.0\.0\.1"):  # allowed, but down: said so
        fetch_descriptions(lifecycle, nowhere, [nowhere])


def test_the_allow_list_also_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "http://a:1/sparql, http://b:2/")
    assert allow_list(["http://c:3/"]) == ("http://c:3/", "http://a:1/sparql", "http://b:2/")


def test_the_cli_fetches_into_the_cache_graph(remote: Server, lifecycle: Store, tmp_path: Path) -> None:
    path = lifecycle.path
    lifecycle.close()
    env = {k: v for k, v in os.environ.items() if k != ALLOW_ENV}
    command = [sys.executable, "-m", "provml", "link", "--endpoint", f"{remote.url}/sparql", "--store", str(path)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 2 and "not allow-listed" in refused.stderr
    result = subprocess.run(
        [*command, "--allow-remote", remote.url], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr
    assert f"described {len(CONCEPTS)} of the {len(CONCEPTS)} IRIs without a label" in result.stderr
