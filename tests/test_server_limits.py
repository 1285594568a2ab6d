"""The limits and safety of `provml serve`: where it listens, the time limit (and that a stopped query is
really stopped), SERVICE and LOAD (refused, and no connection made), the row and body limits, errors
without tracebacks, and the access log.

Two servers: ``remote``, read-only, holds one graph and is the endpoint federation may reach; ``limited``
holds the small lifecycle, with a 2 s time limit, 5 rows, 2 KiB bodies, and an allow-list naming
``remote`` and a port where nothing listens.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from conftest import LIFECYCLE, load_file
from live_server import TOKEN, Server, free_port

from provml.errors import RemoteAccessError
from provml.server.remote import refuse_remote
from provml.store import Store

TIMEOUT = 2  # seconds: the limited server's time limit
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~1e9 rows over the lifecycle
REMOTE_GRAPH = "urn:remote:graph"
PROC = Path("/proc")


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-only server (no token) holding one triple: what SERVICE reaches when it is allowed."""
    root = tmp_path_factory.mktemp("remote-server")
    with Store(root / "store") as db:
        db.add_rdf(b'<urn:remote:thing> <urn:remote:says> "hello from afar" .', "ntriples", graph=REMOTE_GRAPH)
    server = Server(root / "store", token=None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dead_port() -> int:
    """An allow-listed port where nothing listens."""
    return free_port()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, remote: Server, dead_port: int) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limited-server")
    with Store(root / "store") as db:
        for path in sorted(LIFECYCLE.glob("*.jsonl")):
            load_file(db, path)
    args = ("--timeout", str(TIMEOUT), "--max-rows", "5", "--max-body", "2048")
    allow = ("--allow-remote", f"{remote.url}/", "--allow-remote", f"http://127.0.0.1:{dead_port}/")
    server = Server(root / "store", args=(*args, *allow))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(limited: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited.url, timeout=120) as http:
        yield http


@pytest.fixture
def trap() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that nothing should ever connect to."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        listening.setblocking(False)
        yield listening


def connected(trap: socket.socket, wait: float = 1.0) -> bool:
    """Did anything connect to the trap (within ``wait`` seconds)?"""
    readable, _, _ = select.select([trap], [], [], wait)
    return bool(readable)


def error_of(response: httpx.Response, status: int) -> str:
    """Check an error answer: its status, {"error": message} and no traceback; return the message."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    return response.json()["error"]


def update(client: httpx.Client, sparql: str, *, form: bool = False, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if form:
        return client.post("/sparql", data={"update": sparql}, headers=headers)
    return client.post("/sparql", content=sparql, headers={**headers, "Content-Type": "application/sparql-update"})


# -- processes ---------------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    found = []
    for task in (PROC / str(pid) / "task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def workers(server: Server) -> set[int]:
    """The query worker processes of a server: its children started by multiprocessing's spawn."""
    found = set()
    for pid in children(server.process.pid):
        try:
            if b"spawn_main" in (PROC / str(pid) / "cmdline").read_bytes():
                found.add(pid)
        except OSError:
            continue
    return found


def cpu_ticks(pid: int) -> int:
    """User and system CPU time of a process so far, in clock ticks (0 once it is gone)."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


def alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def burning(pids: list[int], seconds: float = 1.0) -> dict[int, float]:
    """The CPU seconds each process used during ``seconds``."""
    before = {pid: cpu_ticks(pid) for pid in pids}
    time.sleep(seconds)
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: (cpu_ticks(pid) - before[pid]) / tick for pid in pids}


needs_proc = pytest.mark.skipif(not (PROC / "self" / "task").is_dir(), reason="needs Linux /proc")


# -- where it listens --------------------------------------------------------------------------------------


@needs_proc
def test_the_server_listens_on_127_0_0_1_only(limited: Server) -> None:
    port = f"{limited.port:04X}"
    listening = []
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if local.endswith(f":{port}") and state == "0A":  # 0A: LISTEN
                listening.append(local)
    assert listening == [f"0100007F:{port}"]  # 127.0.0.1, and no IPv6 or wildcard socket
    try:
        named = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:  # a host name that does not resolve
        named = set()
    others = {"127.0.0.2", *named} - {"127.0.0.1"}
    for address in others:  # the machine's other addresses: nobody answers there
        with socket.socket() as probe, pytest.raises(OSError):
            probe.settimeout(2)
            probe.connect((address, limited.port))
    assert httpx.get(f"{limited.url}/health").status_code == 200


# -- the time limit ----------------------------------------------------------------------------------------


@needs_proc
def test_a_runaway_query_is_stopped_at_the_time_limit_and_its_worker_killed(
    limited: Server, client: httpx.Client
) -> None:
    before = workers(limited)
    assert len(before) == 2
    timeouts = client.get("/health").json()["timeouts"]
    answer: dict[str, object] = {}

    def send() -> None:
        started = time.monotonic()
        answer["response"] = client.get("/sparql", params={"query": RUNAWAY})
        answer["seconds"] = time.monotonic() - started

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)
    used = burning(sorted(before), 1.0)
    busy = max(used, key=used.__getitem__)
    assert used[busy] > 0.1  # the worker that runs the query burns CPU
    sender.join(TIMEOUT + 60)

    response = answer["response"]
    assert isinstance(response, httpx.Response)
    message = error_of(response, 503)
    assert f"time limit of {TIMEOUT} s" in message and "stopped" in message
    assert answer["seconds"] < TIMEOUT + 20  # type: ignore[operator]
    assert not alive(busy)  # killed, and reaped
    after = workers(limited)
    assert len(after) == 2 and busy not in after and after - before  # replaced by a new worker
    assert client.get("/health").json()["timeouts"] == timeouts + 1

    # the next queries are answered normally
    assert client.get("/sparql", params={"query": "ASK { ?s a provml:TrainingExecution }"}).json()["boolean"] is True
    count = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"})
    assert int(count.json()["results"]["bindings"][0]["n"]["value"]) > 900

    # and no process keeps burning CPU (the new worker may still be starting: give it a while)
    family = [limited.process.pid, *children(limited.process.pid)]
    deadline = time.monotonic() + 20
    while max((used := burning(family, 0.5)).values()) > 0.2 and time.monotonic() < deadline:
        pass
    assert max(used.values()) <= 0.2, used


def test_runaway_queries_are_stopped_again(limited: Server, client: httpx.Client) -> None:
    """The workers that replaced the killed ones are stopped the same way."""
    started = time.monotonic()
    response = client.get("/sparql", params={"query": RUNAWAY.replace("COUNT(*)", "COUNT(DISTINCT ?a)")})
    assert response.status_code == 503 and time.monotonic() - started < TIMEOUT + 20
    assert client.get("/sparql", params={"query": "ASK {}"}).json()["boolean"] is True


# -- SERVICE and LOAD --------------------------------------------------------------------------------------

# {E}: an endpoint on the trap socket; {P}: the trap's base, for prefixed names. `fetches`: what Oxigraph
# itself does with the text (checked below): True if it connects, False if it does not (a syntax error to it,
# or SERVICE of an unbound variable); every one is refused.
FETCHING_QUERIES = [
    ("plain", "SELECT * WHERE { SERVICE <{E}> { ?s ?p ?o } }", True),
    ("lowercase", "select * where { service <{E}> { ?s ?p ?o } }", True),
    ("silent", "SELECT * WHERE { SERVICE SILENT <{E}> { ?s ?p ?o } }", True),
    ("silent glued", "SELECT * WHERE { SERVICESILENT<{E}>{ ?s ?p ?o } }", True),
    ("tab and comment", "SELECT * WHERE { SERVICE\t# where to\n<{E}> { ?s ?p ?o } }", True),
    ("in a sub-select", "SELECT ?s WHERE { { SELECT ?s WHERE { SERVICE <{E}> { ?s ?p ?o } } } }", True),
    ("in EXISTS", "SELECT * WHERE { BIND(1 AS ?x) FILTER EXISTS { SERVICE <{E}> { ?s ?p ?o } } }", True),
    ("after a number", "SELECT * WHERE { VALUES ?o { 1 } ?s ?p 1SERVICE<{E}>{ ?a ?b ?c } }", True),
    ("prefixed name", "PREFIX : <{P}> SELECT * WHERE { SERVICE :sparql { ?s ?p ?o } }", True),
    ("prefixed name glued", "PREFIX : <{P}> SELECT * WHERE { SERVICE:sparql { ?s ?p ?o } }", True),
    ("a variable", "SELECT * WHERE { BIND(<{E}> AS ?e) SERVICE ?e { ?s ?p ?o } }", False),
    ("an escaped IRI", "SELECT * WHERE { SERVICE <{E_ESCAPED}> { ?s ?p ?o } }", True),
    # text that a reader who decodes \u escapes first, or splits words loosely, takes for a string or a comment
    ("after an escaped backslash", 'SELECT * WHERE { BIND("\\u005C" AS ?x) SERVICE <{E}> { ?s ?p ?o } BIND("" AS ?y) }', True),
    ("after an escaped # in a name", "PREFIX ex: <http://e/> SELECT * WHERE { VALUES ?x { ex:a\\# } SERVICE <{E}> { ?s ?p ?o } }", True),
    ("after an escaped ' in a name", "PREFIX ex: <http://e/> SELECT * WHERE { VALUES ?x { ex:a\\' } SERVICE <{E}> { ?s ?p ?o } FILTER('x') }", True),
    ("after an IRI with an escape and a #", "SELECT * WHERE { BIND(<http://a/\\u0041#f> AS ?x) SERVICE <{E}> { ?s ?p ?o } }", True),
    ("\\u-escaped keyword", "SELECT * WHERE { \\u0053ERVICE <{E}> { ?s ?p ?o } }", False),
    ("\\u-escaped letter", "SELECT * WHERE { SERV\\u0049CE <{E}> { ?s ?p ?o } }", False),
]  # fmt: skip
FETCHING_UPDATES = [
    ("load", "LOAD <{E}>", True),
    ("load into graph", "load silent <{E}> into graph <urn:test:loaded>", True),
    ("load glued", "LOADSILENT<{E}>INTO GRAPH<urn:test:loaded>", True),
    ("load after another operation", "CLEAR SILENT GRAPH <urn:test:nothing>;LOAD<{E}>", True),
    ("load of a prefixed name", "PREFIX : <{P}> LOAD :sparql", True),
    ("service in an update's WHERE", "INSERT { GRAPH <urn:test:copied> { ?s ?p ?o } } WHERE { SERVICE <{E}> { ?s ?p ?o } }", True),
    ("service in a DELETE's WHERE", "DELETE { ?s ?p ?o } WHERE { SERVICE SILENT <{E}> { ?s ?p ?o } }", True),
]  # fmt: skip


def spell(text: str, port: int) -> str:
    endpoint = f"http://127.0.0.1:{port}/sparql"
    escaped = endpoint.replace("sparql", "sp\\u0061rql")
    return text.replace("{E_ESCAPED}", escaped).replace("{E}", endpoint).replace("{P}", f"http://127.0.0.1:{port}/")


def oxigraph_connects(trap: socket.socket, text: str, *, update: bool) -> bool:
    """Does Oxigraph itself (no provml in between) connect to the trap for this query or update?"""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal(1)))

    def run() -> None:
        try:
            if update:
                store.update(text)
            else:
                list(store.query(text))
        except (SyntaxError, OSError, RuntimeError):  # RuntimeError: SERVICE ?e, with ?e unbound
            pass

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    hit = connected(trap, 3.0)
    if hit:
        trap.accept()[0].close()
    runner.join(10)
    return hit


@pytest.mark.parametrize(
    ("text", "fetches", "update"),
    [(text, fetches, False) for _, text, fetches in FETCHING_QUERIES]
    + [(text, fetches, True) for _, text, fetches in FETCHING_UPDATES],
    ids=[name for name, _, _ in FETCHING_QUERIES + FETCHING_UPDATES],
)
def test_each_spelling_is_refused_and_really_fetches_without_provml(
    trap: socket.socket, text: str, fetches: bool, update: bool
) -> None:
    spelled = spell(text, trap.getsockname()[1])
    with pytest.raises(RemoteAccessError, match=r"^(SERVICE|LOAD) "):
        refuse_remote(spelled, ())
    assert oxigraph_connects(trap, spelled, update=update) is fetches


def test_service_and_load_are_refused_by_the_server_and_nothing_connects(
    limited: Server, client: httpx.Client, trap: socket.socket
) -> None:
    port = trap.getsockname()[1]
    for _, text, _ in FETCHING_QUERIES:
        spelled = spell(text, port)
        by_get = client.get("/sparql", params={"query": spelled})
        by_post = client.post("/sparql", content=spelled, headers={"Content-Type": "application/sparql-query"})
        for response in (by_get, by_post):
            message = error_of(response, 403)
            assert "is not allowed" in message, spelled
    for _, text, _ in FETCHING_UPDATES:
        spelled = spell(text, port)
        for form in (False, True):
            assert "is not allowed" in error_of(update(client, spelled, form=form), 403), spelled
    assert not connected(trap, 1.0)
    assert (
        client.get("/sparql", params={"query": "ASK { GRAPH <urn:test:loaded> { ?s ?p ?o } }"}).json()["boolean"]
        is False
    )


@pytest.mark.parametrize(
    "sparql",
    [
        "SELECT ?service ?load WHERE { ?service a ?load }",
        "SELECT $service WHERE { $service ?p ?o }",
        "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:SERVICE ex:LOAD }",
        "PREFIX workload: <http://example.org/workload#> SELECT * WHERE { ?s workload:load ?o }",
        "SELECT * WHERE { ?s ?p 'SERVICE <http://example.org/> { }' }",
        'SELECT * WHERE { ?s ?p """LOAD <http://example.org/>\nSERVICE <http://example.org/> { }""" }',
        "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://example.org/> { }",
        "SELECT * WHERE { ?s <http://example.org/SERVICE> <http://example.org/LOAD> }",
        'SELECT * WHERE { ?s ?p "service"@en-service }',
        'SELECT * WHERE { ?s ?p "a \\" SERVICE <http://example.org/> { } \\"" }',
        "INSERT DATA { <urn:a> <urn:service> 'LOAD <http://example.org/>' }",
    ],
)
def test_service_and_load_in_names_strings_and_comments_are_not_refused(sparql: str) -> None:
    refuse_remote(sparql, ())


@pytest.mark.parametrize(
    ("iri", "allowed", "expected"),
    [
        ("http://127.0.0.1:5/sparql", ["http://127.0.0.1:5/"], True),
        ("http://127.0.0.1:5/sparql", ["http://127.0.0.1:6/"], False),
        ("https://127.0.0.1:5/sparql", ["http://127.0.0.1:5/"], False),
        ("http://127.0.0.1:5/sparql/graphs", ["http://127.0.0.1:5/sparql"], True),
        ("http://127.0.0.1:5/sparql-admin", ["http://127.0.0.1:5/sparql"], False),
        ("http://127.0.0.1:5@evil.example/sparql", ["http://127.0.0.1:5/"], False),
        ("http://127.0.0.1:99999/sparql", ["http://127.0.0.1:5/"], False),
        ("http://127.0.0.1:\\u0035/sparql", ["http://127.0.0.1:5/"], True),
        ("sparql", ["http://127.0.0.1:5/"], False),  # relative: the server itself
        ("//127.0.0.1:5/sparql", ["http://127.0.0.1:5/"], False),
    ],
)
def test_the_allow_list_matches_scheme_host_port_and_path(iri: str, allowed: list[str], expected: bool) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}"
    if expected:
        refuse_remote(query, allowed)
    else:
        with pytest.raises(RemoteAccessError):
            refuse_remote(query, allowed)


def test_federation_through_the_allow_list(limited: Server, remote: Server, client: httpx.Client) -> None:
    says = f"SELECT ?says WHERE {{ SERVICE <{remote.url}/sparql> {{ <urn:remote:thing> <urn:remote:says> ?says }} }}"
    response = client.get("/sparql", params={"query": says})
    assert response.status_code == 200, response.text
    assert [b["says"]["value"] for b in response.json()["results"]["bindings"]] == ["hello from afar"]
    direct = httpx.get(f"{remote.url}/sparql", params={"query": "SELECT ?o WHERE { ?s ?p ?o }"}).json()
    assert direct["results"]["bindings"][0]["o"]["value"] == "hello from afar"
    other = says.replace(remote.url, f"http://127.0.0.1:{free_port()}")
    assert "not allow-listed" in error_of(client.get("/sparql", params={"query": other}), 403)


@needs_proc
def test_a_failing_allowed_service_is_an_error_that_keeps_the_worker(
    limited: Server, client: httpx.Client, dead_port: int
) -> None:
    before = workers(limited)
    dead = f"http://127.0.0.1:{dead_port}/sparql"
    message = error_of(
        client.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{dead}> {{ ?s ?p ?o }} }}"}), 400
    )
    assert message.startswith("query failed")
    silent = client.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE SILENT <{dead}> {{ ?s ?p ?o }} }}"})
    assert silent.status_code == 200 and silent.json()["results"]["bindings"] == [{}]
    assert workers(limited) == before


@needs_proc
def test_a_bad_host_header_is_400_and_keeps_the_worker(limited: Server, client: httpx.Client) -> None:
    """The base IRI is made from the Host header: one that makes no IRI is the client's error."""
    before = workers(limited)
    for host in ("a%zz", "example.org%zz:80"):  # (Starlette drops a Host with a space or a ^)
        response = client.get("/sparql", params={"query": "SELECT * WHERE { BIND(<s> AS ?x) }"}, headers={"Host": host})
        assert "Host" in error_of(response, 400)
        response = client.post(
            "/sparql",
            content="INSERT DATA { <urn:a> <urn:b> <c> }",
            headers={"Host": host, "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        )
        assert "Host" in error_of(response, 400)
    assert workers(limited) == before


# -- rows and bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["json", "xml", "csv", "tsv"])
def test_five_rows_are_answered_and_six_are_400_naming_the_limit(client: httpx.Client, format: str) -> None:
    five = client.get("/sparql", params={"query": "SELECT ?n WHERE { VALUES ?n { 1 2 3 4 5 } }", "format": format})
    assert five.status_code == 200, five.text
    six = client.get("/sparql", params={"query": "SELECT ?n WHERE { VALUES ?n { 1 2 3 4 5 6 } }", "format": format})
    message = error_of(six, 400)
    assert "more than 5 rows" in message and "limit" in message


def test_a_graph_over_the_row_limit_and_a_canned_answer_over_it_are_400(client: httpx.Client) -> None:
    five = "CONSTRUCT { <urn:x> <urn:p> ?n } WHERE { VALUES ?n { 1 2 3 4 5 } }"
    response = client.get("/sparql", params={"query": five}, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200 and len(response.text.splitlines()) == 5
    message = error_of(client.get("/sparql", params={"query": five.replace("5 }", "5 6 }")}), 400)
    assert "more than 5 triples" in message
    assert "more than 5 rows" in error_of(client.get("/queries/final-metrics"), 400)


def test_a_body_over_the_limit_is_413(limited: Server, client: httpx.Client) -> None:
    small = "ASK {}  # " + "x" * 1900
    assert (
        client.post("/sparql", content=small, headers={"Content-Type": "application/sparql-query"}).status_code == 200
    )
    large = "ASK {}  # " + "x" * 2100
    assert "2,048 bytes" in error_of(
        client.post("/sparql", content=large, headers={"Content-Type": "application/sparql-query"}), 413
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted while reading
        yield b"ASK {}  # "
        for _ in range(30):
            yield b"x" * 100

    chunked = client.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    error_of(chunked, 413)
    form = client.post(
        "/sparql",
        data={"update": "CLEAR SILENT GRAPH <urn:x> # " + "x" * 2100},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    error_of(form, 413)
    ingest = client.post("/ingest", content=b"{}\n" * 1000, headers={"Authorization": f"Bearer {TOKEN}"})
    error_of(ingest, 413)


# -- errors, health, access log, read-only -----------------------------------------------------------------


def test_errors_are_json_without_tracebacks(limited: Server, client: httpx.Client) -> None:
    answers = [
        client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x"}),
        client.get("/sparql", params={"query": "SELECT (1 AS ?x) {}"}, headers={"Accept": "image/png"}),
        client.post("/sparql", content="ASK {}", headers={"Content-Type": "text/plain"}),
        client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }"}),
        client.get("/sparql", params={"query": "SELECT ?n WHERE { VALUES ?n { 1 2 3 4 5 6 } }"}),
        client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY"}),
        client.get("/queries/entity-provenance", params={"entity": "not an iri"}),
        client.get("/queries/no-such-query"),
        update(client, "INSERT DATA { <urn:a> <urn:b> }"),
        update(client, "CLEAR ALL", token="wrong"),
        client.post("/ingest", content=b'{"type": "nothing"}\n', headers={"Authorization": f"Bearer {TOKEN}"}),
        client.get("/no-such-route"),
        client.request("DELETE", "/sparql"),
    ]
    for response in answers:
        assert response.status_code >= 400, response.text
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert "Traceback" not in response.text and 'File "' not in response.text, response.text
        assert response.json().get("error") or response.json().get("detail")


def test_health_says_up_with_the_number_of_dumps(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["dumps"] == len(list(LIFECYCLE.glob("*.jsonl")))
    assert isinstance(health["timeouts"], int)


def test_the_access_log_has_one_line_per_request_and_never_the_token(limited: Server, client: httpx.Client) -> None:
    marker = f"/queries/marker-{uuid.uuid4().hex}"
    assert client.get(marker).status_code == 404
    assert client.get("/health", params={"token": TOKEN}).status_code == 200  # a token in a query string
    assert update(client, "CLEAR SILENT GRAPH <urn:test:none>").status_code == 204
    assert update(client, "CLEAR SILENT GRAPH <urn:test:none>", token=f"{TOKEN}-wrong").status_code == 403
    deadline = time.monotonic() + 10
    while marker not in limited.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = limited.log.read_text()
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    (logged,) = [line for line in lines if line["path"] == marker]
    assert logged["method"] == "GET" and logged["status"] == 404 and logged["ms"] >= 0 and logged["bytes"] > 0
    assert {"method", "path", "status", "bytes", "ms", "client"} <= set(logged)
    updates = [line for line in lines if line["method"] == "POST" and line["path"] == "/sparql"]
    assert {204, 403} <= {line["status"] for line in updates}


def test_a_server_without_a_token_refuses_every_write(remote: Server) -> None:
    with httpx.Client(base_url=remote.url) as client:
        for form in (False, True):
            message = error_of(update(client, f"DROP GRAPH <{REMOTE_GRAPH}>", form=form), 403)
            assert "read-only" in message
        assert "read-only" in error_of(
            client.post("/ingest", content=b"{}", headers={"Authorization": f"Bearer {TOKEN}"}), 403
        )
        assert client.get("/sparql", params={"query": f"ASK {{ GRAPH <{REMOTE_GRAPH}> {{ ?s ?p ?o }} }}"}).json()[
            "boolean"
        ]
