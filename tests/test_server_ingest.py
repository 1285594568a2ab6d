"""POST /ingest of `provml serve`: event lines as the capture client sends them, and the files of other
loaders (Turtle, PROV-JSON made by the `prov` library, a Flowcept buffer file from a real Flowcept run),
each one dump, validated with the shipped shapes, atomic, and stored once when sent twice.

Each answer is compared with the same body loaded by the same loader into a store directly.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FLOWCEPT_SETTINGS, LIFECYCLE
from live_server import TOKEN, Server

from provml import loaders
from provml.ids import segment
from provml.store import Store

AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLE = "http://example.org/ingest#"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("ingest-server") / "store")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        yield http


def send(client: httpx.Client, body: bytes, *, media: str = "application/x-ndjson", **params: str) -> httpx.Response:
    """POST a body the way the capture client's HTTP transport does: a stream and a batch number."""
    headers = {
        **AUTHORIZED,
        "Content-Type": media,
        "X-Provml-Stream": f"test-{uuid.uuid4().hex[:8]}",
        "X-Provml-Batch": "00000001",
    }
    return client.post("/ingest", content=body, headers=headers, params=params)


def loaded_directly(tmp_path: Path, body: bytes, suffix: str, loader: str, graph: str) -> int:
    """The triple count of the same body loaded by the same loader into a store, without the server."""
    path = tmp_path / f"body{suffix}"
    path.write_bytes(body)
    chosen = loaders.get(loader)
    with Store() as store:
        result = store.load(
            chosen.read(path, store.ids, graph),
            graph=graph,
            source=str(path),
            loader=chosen.name,
            sha256=hashlib.sha256(body).hexdigest(),
        )
    return result.triples


def ask(client: httpx.Client, sparql: str) -> bool:
    response = client.get("/sparql", params={"query": sparql})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def dumps(client: httpx.Client) -> int:
    return client.get("/health").json()["dumps"]


def test_event_lines_load_as_one_dump_and_the_same_batch_twice_is_stored_once(
    client: httpx.Client, tmp_path: Path
) -> None:
    body = (LIFECYCLE / "curation.jsonl").read_bytes()
    headers = {
        **AUTHORIZED,
        "Content-Type": "application/x-ndjson",
        "X-Provml-Stream": "node-7/pid 12",
        "X-Provml-Batch": "00000003",
    }
    first = client.post("/ingest", content=body, headers=headers)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["status"] == "loaded"
    assert answer["graph"] == f"urn:provml:graph/ingest/{segment('node-7/pid 12')}/00000003"
    assert answer["triples"] == loaded_directly(tmp_path, body, ".jsonl", "events", answer["graph"]) > 20
    count = client.get(
        "/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{answer['graph']}> {{ ?s ?p ?o }} }}"}
    )
    assert int(count.json()["results"]["bindings"][0]["n"]["value"]) == answer["triples"]
    assert ask(
        client,
        "ASK { <urn:provml:task/curation-1/curate> a provml:DataCurationExecution ; prov:used <urn:provml:dataset/survey-a> }",
    )
    before = dumps(client)
    again = client.post("/ingest", content=body, headers=headers)  # a retry after a lost answer
    assert again.status_code == 200 and again.json() == {**answer, "status": "unchanged"}
    assert dumps(client) == before


def test_turtle_with_format_rdf(client: httpx.Client, tmp_path: Path) -> None:
    body = f"""@prefix ex: <{EXAMPLE}> .
@prefix prov: <http://www.w3.org/ns/prov#> .
ex:report a prov:Entity ; prov:wasDerivedFrom ex:survey ; ex:pages 12 .
ex:survey a prov:Entity .
""".encode()
    response = send(client, body, media="text/turtle", format="rdf")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "loaded"
    assert answer["triples"] == loaded_directly(tmp_path, body, ".ttl", "rdf", answer["graph"]) == 4
    assert ask(
        client, f"ASK {{ GRAPH <{answer['graph']}> {{ <{EXAMPLE}report> prov:wasDerivedFrom <{EXAMPLE}survey> }} }}"
    )


def prov_document(namespace: str) -> bytes:
    """PROV-JSON written by the `prov` library: a run that used a dataset and generated a model, for an agent."""
    from prov.model import ProvDocument

    document = ProvDocument()
    ex = document.add_namespace("ex", namespace)
    start, end = datetime(2026, 1, 5, 10, tzinfo=timezone.utc), datetime(2026, 1, 5, 11, tzinfo=timezone.utc)
    document.entity(ex["dataset"])
    document.entity(ex["model"])
    document.activity(ex["run"], start, end)
    document.agent(ex["alice"])
    document.used(ex["run"], ex["dataset"])
    document.wasGeneratedBy(ex["model"], ex["run"])
    document.wasAssociatedWith(ex["run"], ex["alice"])
    document.wasDerivedFrom(ex["model"], ex["dataset"])
    bundle = document.bundle(ex["bundle"])
    bundle.entity(ex["in-bundle"])
    return document.serialize(format="json").encode()


@pytest.mark.parametrize("params", [{"format": "prov"}, {}])  # named, or recognised from the content
def test_prov_json_made_by_the_prov_library(client: httpx.Client, tmp_path: Path, params: dict[str, str]) -> None:
    pytest.importorskip("prov")
    ex = f"{EXAMPLE}{len(params)}/"  # each its own names: a PROV bundle (a named graph) belongs to one dump
    body = prov_document(ex)
    response = send(client, body, media="application/json", **params)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "loaded"
    assert answer["triples"] == loaded_directly(tmp_path, body, ".json", "prov", answer["graph"]) > 5
    assert ask(client, f"ASK {{ <{ex}run> prov:used <{ex}dataset> ; prov:wasAssociatedWith <{ex}alice> }}")
    assert ask(client, f"ASK {{ <{ex}model> prov:wasGeneratedBy <{ex}run> ; prov:wasDerivedFrom <{ex}dataset> }}")
    assert ask(client, f"ASK {{ GRAPH <{ex}bundle> {{ <{ex}in-bundle> a prov:Entity }} }}")  # a bundle: a named graph
    catalog = client.get(
        "/sparql", params={"query": f"SELECT ?loader WHERE {{ <{answer['graph']}> provml:loader ?loader }}"}
    )
    assert [b["loader"]["value"] for b in catalog.json()["results"]["bindings"]] == ["prov"]


FLOWCEPT_RUN = """\
from flowcept import Flowcept, flowcept_task

@flowcept_task(output_names="o1")
def prepare(i1):
    return i1 + 1

@flowcept_task(subtype="learning", output_names="loss")
def train(o1):
    return o1 / 2

with Flowcept(workflow_name="ingested", workflow_id="wf-ingested"):
    train(prepare(3))
"""


@pytest.fixture(scope="module")
def flowcept_buffer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The buffer file of a real (offline) Flowcept run of two tasks."""
    pytest.importorskip("flowcept", reason='Flowcept is not installed (pip install "flowcept[telemetry]")')
    pytest.importorskip("cpuinfo", reason='Flowcept telemetry needs py-cpuinfo (pip install "flowcept[telemetry]")')
    directory = tmp_path_factory.mktemp("flowcept-run")
    (directory / "settings.yaml").write_text(FLOWCEPT_SETTINGS)
    (directory / "run.py").write_text(FLOWCEPT_RUN)
    env = {**os.environ, "FLOWCEPT_SETTINGS_PATH": str(directory / "settings.yaml")}
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=directory, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return directory / "flowcept_buffer.jsonl"


@pytest.mark.filterwarnings("ignore::provml.errors.ProvmlWarning")
def test_a_flowcept_buffer_file(client: httpx.Client, flowcept_buffer: Path, tmp_path: Path) -> None:
    body = flowcept_buffer.read_bytes()
    response = send(client, body, format="flowcept")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["triples"] == loaded_directly(tmp_path, body, ".jsonl", "flowcept", answer["graph"]) > 20
    tasks = client.get(
        "/sparql",
        params={
            "query": "SELECT ?name WHERE { ?task provml:partOf <urn:provml:workflow/wf-ingested> ; rdfs:label ?name }"
        },
    )
    assert sorted(b["name"]["value"] for b in tasks.json()["results"]["bindings"]) == ["prepare", "train"]
    catalog = client.get(
        "/sparql", params={"query": f"SELECT ?loader WHERE {{ <{answer['graph']}> provml:loader ?loader }}"}
    )
    assert [b["loader"]["value"] for b in catalog.json()["results"]["bindings"]] == ["flowcept"]


def test_a_batch_with_a_bad_line_stores_nothing_and_names_the_line(client: httpx.Client) -> None:
    before = dumps(client)
    good = b'{"type": "agent", "agent_id": "atomic-probe", "name": "a good first line"}\n'
    bad = b'{"type": "metric", "workflow_id": "w"}\n'
    response = send(client, good + good.replace(b"probe", b"probe-2") + bad)
    assert response.status_code == 422
    message = response.json()["error"]
    assert message.startswith("body:3: ") and "metric" in message
    assert "Traceback" not in response.text and "/tmp" not in message  # the server's temporary file is not named
    assert dumps(client) == before
    assert not ask(client, "ASK { ?agent ?p 'a good first line' }")
    not_json = send(client, good + b"{not json\n")
    assert not_json.status_code == 422 and not_json.json()["error"].startswith("body:2")


def test_a_batch_violating_the_shapes_is_422_with_the_report(client: httpx.Client) -> None:
    before = dumps(client)
    body = b'@prefix provml: <https://w3id.org/provml#> .\n<urn:x:node> a provml:ComputeNode ; provml:hostname "n1" ; provml:cpuCount -4 .\n'
    response = send(client, body, media="text/turtle", format="rdf")
    assert response.status_code == 422, response.text
    answer = response.json()
    assert "violations of the SHACL shapes" in answer["error"]
    report: dict[str, Any] = answer["report"]
    assert report["conforms"] is False and report["counts"]["Violation"] == 1
    (violation,) = [r for r in report["results"] if r["severity"].endswith("Violation")]
    assert violation["focus"] == "<urn:x:node>" and violation["path"] == "<https://w3id.org/provml#cpuCount>"
    assert dumps(client) == before
    assert not ask(client, "ASK { <urn:x:node> ?p ?o }")


@pytest.mark.parametrize(
    ("params", "media", "body", "status", "expected"),
    [
        ({"format": "no-such-format"}, "application/json", b"{}", 400, "unknown format 'no-such-format'"),
        ({"format": "mlflow"}, "application/json", b"{}", 422, "reads directories"),
        ({"format": "rdf"}, "text/turtle", b"<urn:a> <urn:b> .", 422, "body:1: column 17"),
        ({"format": "prov"}, "text/turtle", b"<urn:a> <urn:b> <urn:c> .", 422, "body: not a PROV"),
        ({}, "text/plain", b"hello", 422, "cannot tell the format of the body; name it with ?format="),
    ],
)
def test_a_body_the_loader_cannot_read_is_refused_naming_why(
    client: httpx.Client, params: dict[str, str], media: str, body: bytes, status: int, expected: str
) -> None:
    before = dumps(client)
    response = send(client, body, media=media, **params)
    assert response.status_code == status, response.text
    assert expected in response.json()["error"]
    assert "Traceback" not in response.text
    assert dumps(client) == before


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 403), (f"{TOKEN}x", 403)])
def test_ingest_needs_the_token(client: httpx.Client, token: str | None, status: int) -> None:
    before = dumps(client)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/ingest", content=(LIFECYCLE / "train-a.jsonl").read_bytes(), headers=headers)
    assert response.status_code == status
    assert TOKEN not in response.text
    assert dumps(client) == before
