"""The SPARQL endpoint over HTTP: ``provml serve`` against rdflib-endpoint, and the server's CPU per request.

Two measurements on the demo lifecycle (:func:`canned_queries.prepare`), servers in subprocesses on 127.0.0.1:

* the mix: every canned query with its example values, ``GET /sparql?query=`` with ``Accept:
  application/sparql-results+json``, from concurrent httpx clients, sent to ``provml serve --store STORE``
  and to rdflib-endpoint serving the N-Quads export (:mod:`endpoint_apps`); queries per second of whole
  passes, the servers interleaved;
* the CPU: ``utime + stime`` of the server process and of its descendants (the query workers) from
  ``/proc/PID/stat``, around sequential keep-alive requests to a no-op route, ``/health`` and a small SELECT
  of the app ``provml serve`` runs (:func:`endpoint_apps.provml_app`), the routes interleaved.

Every request is bounded in time and every loop in length. :func:`measure` returns the report's lines and its
bars as ``(goal, measured, passed)``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

import canned_queries
import httpx
import orjson

HERE = Path(__file__).resolve().parent
ACCEPT = {"Accept": "application/sparql-results+json"}
STARTUP_S = 600.0  # a server must answer within this after its start (rdflib parses the whole file first)
CPU_TIMEOUT_S = 30.0  # one request of the CPU rounds
WARMUPS = 20  # requests per route before the CPU rounds
BAR_MIX_RATIO = 5.0  # provml's queries/s over rdflib-endpoint's, same mix, same data
BAR_CPU_RATIO = 1.5  # server CPU per small SELECT over the no-op route's, same app
SMALL_SELECT = """PREFIX provml: <https://w3id.org/provml#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?run ?label WHERE { ?run a provml:TrainingExecution ; rdfs:label ?label } LIMIT 10"""  # ten runs
JOIN_SELECT = """PREFIX provml: <https://w3id.org/provml#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?run ?label WHERE {
  ?run a provml:TrainingExecution ; prov:used <urn:provml:dataset/facies-train-v3> ; rdfs:label ?label
} LIMIT 10"""  # ten training runs that used the demo's training split (default IRI base)


@dataclass(frozen=True)
class Plan:
    """How much is measured: the data (a ``divisor``-th of the target size), mix passes per server,
    concurrent clients, the bound on one query alone, sequential requests per route and CPU round."""

    divisor: int
    samples: int
    clients: int
    timeout_s: float
    requests: int
    rounds: int


FULL = Plan(divisor=10, samples=3, clients=4, timeout_s=30.0, requests=1000, rounds=5)
QUICK = Plan(divisor=100, samples=2, clients=4, timeout_s=2.0, requests=200, rounds=3)  # the CI smoke: < 1 min

# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A server run in a subprocess, its output in ``log``; ``ready`` (a path) answers 200 once it serves."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    base: str  # http://127.0.0.1:PORT
    ready: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers; raise :class:`RuntimeError` if it does not in time."""
        with self.log.open("ab") as log:
            env = {**os.environ, **self.env}
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(self.base + self.ready, timeout=5.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.ready} within {STARTUP_S:g} s; see {self.log}")

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 5 s (a server busy in a query may not stop before)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Kill the server (it may be deep in a query that would keep it busy) and start it again."""
        assert self.process is not None, f"{self.name} is not running"
        self.process.kill()
        self.process.wait()
        self.start()

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    """Start ``servers`` and stop them on leaving, whatever happens."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.start()
        yield


def provml_serve(store: Path, work: Path) -> Server:
    """``provml serve --store STORE --port P --answer-cache 0``, the CLI as users run it, but running every
    query (the mix sends each query several times: with its answer cache, it would not run them again)."""
    port, script = free_port(), Path(sys.executable).with_name("provml")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "provml.cli"]
    command = [*cli, "serve", "--store", str(store), "--port", str(port), "--answer-cache", "0"]
    return Server("provml", command, {}, work / "provml-serve.log", f"http://127.0.0.1:{port}", "/health")


def uvicorn_app(name: str, factory: str, env: dict[str, str], work: Path, ready: str) -> Server:
    """``python -m uvicorn endpoint_apps:FACTORY --factory``: one process, no access log."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", f"endpoint_apps:{factory}", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]
    return Server(name, command, env, work / f"{factory}.log", f"http://127.0.0.1:{port}", ready)


# -- the mix -------------------------------------------------------------------------------


class Reply(NamedTuple):
    """One query's answer: HTTP status (None: no answer within the bound), ms, rows, or the error's text."""

    status: int | None
    ms: float
    rows: int | None = None
    error: str | None = None


def count_rows(body: bytes) -> int:
    """Return the number of rows of a SPARQL JSON result (1 for an ASK)."""
    result = orjson.loads(body)
    return len(result["results"]["bindings"]) if "results" in result else 1


async def ask(client: httpx.AsyncClient, url: str, query: str, bound: float) -> Reply:
    """Send ``query`` by GET and wait ``bound`` seconds at most for the whole answer."""
    started = time.perf_counter()
    try:
        response = await asyncio.wait_for(client.get(url, params={"query": query}), bound)
    except asyncio.TimeoutError:
        return Reply(None, bound * 1000)
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Reply(response.status_code, ms, error=" ".join(response.text[:200].split()).replace("`", "'"))
    return Reply(200, ms, count_rows(response.content))


async def _alone(url: str, query: str, bound: float) -> Reply:
    async with httpx.AsyncClient(headers=ACCEPT, timeout=None, trust_env=False) as client:
        return await ask(client, url, query, bound)


async def one_pass(url: str, queries: dict[str, str], clients: int, bound: float) -> tuple[float, dict[str, Reply]]:
    """Send every query once from ``clients`` concurrent clients; return the wall time and the failed replies."""
    todo, failed = list(queries.items()), {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=ACCEPT, timeout=None, limits=limits, trust_env=False) as client:

        async def take_turns() -> None:
            while todo:
                name, text = todo.pop(0)
                reply = await ask(client, url, text, bound)
                if reply.status != 200:
                    failed[name] = reply

        started = time.perf_counter()
        await asyncio.gather(*(take_turns() for _ in range(clients)))
        return time.perf_counter() - started, failed


@dataclass
class Mix:
    """The mix on one server: each query alone (the warm-up), then the timed passes."""

    server: Server
    alone: dict[str, Reply] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)  # per pass, each skipped query counted at the bound
    failures: list[str] = field(default_factory=list)  # in the timed passes: "query (status)"
    skipped: set[str] = field(default_factory=set)  # not sent in the timed passes: not answered alone

    @property
    def url(self) -> str:
        return self.server.base + "/sparql"

    def rates(self, queries: int) -> list[float]:
        return [queries / s for s in self.seconds]

    @property
    def timeouts(self) -> list[str]:
        return [name for name, reply in self.alone.items() if reply.status is None]

    @property
    def errors(self) -> dict[str, Reply]:
        return {name: reply for name, reply in self.alone.items() if reply.status not in (None, 200)}


def run_alone(mix: Mix, queries: dict[str, str], bound: float) -> None:
    """Send each query once, alone, within ``bound`` seconds; restart the server after one it did not answer
    (it would go on running it); the queries not answered are skipped in the timed passes."""
    for name, text in queries.items():
        mix.alone[name] = reply = asyncio.run(_alone(mix.url, text, bound))
        if reply.status != 200:
            mix.skipped.add(name)
        if reply.status is None:
            mix.server.restart()


def run_pass(mix: Mix, queries: dict[str, str], plan: Plan) -> None:
    """Time one pass of the queries not skipped, each skipped one counted as ``plan.timeout_s``."""
    sent = {name: text for name, text in queries.items() if name not in mix.skipped}
    seconds, failed = asyncio.run(one_pass(mix.url, sent, plan.clients, plan.timeout_s * plan.clients))
    mix.seconds.append(seconds + plan.timeout_s * (len(queries) - len(sent)))
    mix.failures += [f"{name} ({reply.status or 'no answer'})" for name, reply in failed.items()]
    if any(reply.status is None for reply in failed.values()):
        mix.skipped |= set(failed)
        mix.server.restart()


def measure_mix(servers: list[Server], queries: dict[str, str], plan: Plan, log: Callable[[str], None]) -> list[Mix]:
    """Run the mix on ``servers`` (running): each query alone on each, then ``plan.samples`` interleaved passes."""
    mixes = [Mix(server) for server in servers]
    for mix in mixes:
        log(f"endpoint mix: each query alone on {mix.server.name} (at most {plan.timeout_s:g} s each)")
        run_alone(mix, queries, plan.timeout_s)
    for sample in range(plan.samples):
        for mix in mixes:
            run_pass(mix, queries, plan)
            rate = len(queries) / mix.seconds[-1]
            log(f"endpoint mix {sample + 1}/{plan.samples}: {mix.server.name} {rate:.1f} queries/s")
    return mixes


# -- server CPU per request ----------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name: state, ppid, ... (field 3 onwards)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def process_tree(pid: int) -> list[int]:
    """Return ``pid`` and its descendants, found by the parent ids in ``/proc/*/stat``."""
    children = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children[int(_stat(int(entry.name))[1])].append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += children[tree[-1]]
    return tree


def cpu_ms(pid: int) -> tuple[float, float]:
    """CPU time (utime + stime) in ms of ``pid`` itself, and of its descendants (those reaped included)."""
    ticks = [0, 0]
    for member in process_tree(pid):
        try:
            fields = [int(value) for value in _stat(member)[11:15]]  # utime, stime, cutime, cstime
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks[0] += sum(fields[:2]) if member == pid else 0
        ticks[1] += sum(fields[2:]) if member == pid else sum(fields)
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return ticks[0] * tick_ms, ticks[1] * tick_ms


class Round(NamedTuple):
    """Requests to one route in a row: server CPU ms per request (in all, and in the descendants: the
    query workers), requests/s, each latency in ms."""

    cpu_ms: float
    workers_ms: float
    rate: float
    latencies_ms: list[float]


def time_route(client: httpx.Client, route: Route, requests: int, pid: int) -> Round:
    """Send ``requests`` sequential GETs of ``route``; every answer must be 200."""
    latencies = []
    before, started = cpu_ms(pid), time.perf_counter()
    for _ in range(requests):
        path, params = route.request()
        sent = time.perf_counter()
        response = client.get(path, params=params)
        latencies.append((time.perf_counter() - sent) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: status {response.status_code}: {response.text[:200]}")
    elapsed = time.perf_counter() - started
    own, workers = (now - then for now, then in zip(cpu_ms(pid), before, strict=True))
    return Round((own + workers) / requests, workers / requests, requests / elapsed, latencies)


_REQUEST_NUMBERS = itertools.count()


class Route(NamedTuple):
    """A GET of the CPU rounds: ``path`` with ``query``; ``fresh``: a comment that differs in every request
    ends the query, so that the server never saw its text (and sends it to a query worker)."""

    path: str
    query: str | None = None
    fresh: bool = False

    def request(self) -> tuple[str, dict[str, str]]:
        if self.query is None:
            return self.path, {}
        return self.path, {"query": f"{self.query}\n# request {next(_REQUEST_NUMBERS)}" if self.fresh else self.query}


ROUTES = {
    "/noop": Route("/noop"),
    "/health": Route("/health"),
    "small SELECT": Route("/sparql", SMALL_SELECT),
    "small SELECT, a new text each request": Route("/sparql", SMALL_SELECT, fresh=True),
    "small SELECT in-process (reference)": Route("/in-process", SMALL_SELECT),
    "SELECT with a join": Route("/sparql", JOIN_SELECT),
    "SELECT with a join, a new text each request": Route("/sparql", JOIN_SELECT, fresh=True),
    "SELECT with a join in-process (reference)": Route("/in-process", JOIN_SELECT),
}


def measure_cpu(server: Server, plan: Plan, log: Callable[[str], None]) -> tuple[dict[str, list[Round]], int]:
    """Time ``plan.rounds`` interleaved rounds of each route on ``server`` (running); return them and the
    small SELECT's rows."""
    rounds: dict[str, list[Round]] = {name: [] for name in ROUTES}
    with httpx.Client(base_url=server.base, headers=ACCEPT, timeout=CPU_TIMEOUT_S, trust_env=False) as client:
        for route in ROUTES.values():
            for _ in range(WARMUPS):
                path, params = route.request()
                client.get(path, params=params).raise_for_status()
        rows = count_rows(client.get("/sparql", params={"query": SMALL_SELECT}).content)
        for number in range(plan.rounds):
            for name, route in ROUTES.items():
                rounds[name].append(time_route(client, route, plan.requests, server.pid))
            summary = ", ".join(f"{name} {r[-1].cpu_ms:.2f}" for name, r in rounds.items())
            log(f"endpoint CPU round {number + 1}/{plan.rounds}, ms/request: {summary}")
    return rounds, rows


# -- report --------------------------------------------------------------------------------

Bar = tuple[str, str, bool]  # goal, measured, passed


def _samples(values: list[float], digits: int) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in values)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _size(quads: int) -> str:
    return f"{quads / 1e6:.3g}M" if quads >= 1_000_000 else f"{quads / 1e3:.3g}k"


def _rdflib_endpoint_version() -> str:
    try:
        return version("rdflib-endpoint")
    except PackageNotFoundError:
        return "(not installed)"


def mix_lines(mixes: list[Mix], queries: int, quads: int, plan: Plan) -> tuple[list[str], list[Bar]]:
    """Tables 9a (throughput) and 9b (each query alone); the bar is provml's queries/s over rdflib-endpoint's."""
    bound = plan.timeout_s
    lines = [
        f"### 9a. Canned-query mix over HTTP ({quads:,} quads)",
        "",
        f"The {queries} canned queries with their example values, each `GET /sparql?query=` with",
        "`Accept: application/sparql-results+json`, sent to two servers, each in its own process on 127.0.0.1:",
        "",
        "- `provml`: `provml serve --store STORE --port P --answer-cache 0` (the CLI: uvicorn, 2 query worker",
        "  processes; without its answer cache, so that it runs every query it is sent, as rdflib-endpoint does);",
        f"- `rdflib-endpoint` {_rdflib_endpoint_version()}: "
        '`SparqlEndpoint(graph=Dataset(default_union=True), path="/sparql",',
        "  cors_enabled=False)` holding the store's N-Quads export, under `python -m uvicorn --workers 1",
        "  --no-access-log` (`benchmarks/endpoint_apps.py`).",
        "",
        "First each server answers every query once, alone (the warm-up; table 9b). A query a server does not",
        f"answer alone within {bound:g} s (a **timeout**; the server is then restarted, as it would go on running",
        f"it) or answers with an error is not sent in the timed passes and counts as {bound:g} s of each pass: a",
        "timed-out query really takes longer, so with timeouts the server's rate is overstated (for",
        "rdflib-endpoint, the ratio is then a lower bound).",
        f"Then {plan.samples} timed pass{'' if plan.samples == 1 else 'es'} per server, servers interleaved:"
        f" {plan.clients} concurrent clients",
        "(httpx, asyncio) take the queries in turn until each was sent once; rate = queries / pass time. A",
        f"request of a pass is bounded at {bound * plan.clients:g} s (it may queue behind the other clients').",
        "",
        "| server | median queries/s | median pass s | timeouts alone | errors alone | failures in the passes "
        "| samples queries/s |",
        "|---|---|---|---|---|---|---|",
    ]
    rates = {}
    for mix in mixes:
        name = mix.server.name
        rates[name] = statistics.median(mix.rates(queries))
        lines.append(
            f"| {name} | {rates[name]:,.2f} | {statistics.median(mix.seconds):,.2f} | {len(mix.timeouts)} "
            f"| {len(mix.errors)} | {len(mix.failures)} | {_samples(mix.rates(queries), 2)} |"
        )
    lines += ["", *_alone_table(mixes, bound), "", *_failures(mixes)]
    provml = mixes[0]
    if len(mixes) < 2:
        return [*lines, "rdflib-endpoint was not run (`--skip-rdflib`, or it is not installed).", ""], []
    rdflib = mixes[1]
    differ = [
        f"{name} ({reply.rows} / {rdflib.alone[name].rows})"
        for name, reply in provml.alone.items()
        if reply.status == rdflib.alone[name].status == 200 and reply.rows != rdflib.alone[name].rows
    ]
    both = sum(reply.status == rdflib.alone[name].status == 200 for name, reply in provml.alone.items())
    lines.append(
        f"Row counts that differ (provml / rdflib-endpoint): {', '.join(differ)}."
        if differ
        else f"Both servers return the same number of rows for every query both answered ({both} of {queries})."
    )
    ratio = rates["provml"] / rates["rdflib-endpoint"]
    provml_ok = not provml.skipped and not provml.failures
    counted = [_count(len(rdflib.timeouts), "timeout")] if rdflib.timeouts else []
    counted += [_count(len(rdflib.errors), "error")] if rdflib.errors else []
    measured = ("> " if rdflib.timeouts else "") + f"{ratio:.1f}x"
    measured += f" (rdflib-endpoint: {' and '.join(counted)} counted at {bound:g} s)" if counted else ""
    measured += "" if provml_ok else "; provml did not answer every query"
    goal = f"canned-query mix over HTTP: provml >= {BAR_MIX_RATIO:g}x rdflib-endpoint's queries/s at {_size(quads)}"
    return [*lines, ""], [(goal, measured, ratio >= BAR_MIX_RATIO and provml_ok)]


def _alone_table(mixes: list[Mix], bound: float) -> list[str]:
    """Table 9b: each query's rows and latency, sent alone to each server."""
    names = [mix.server.name for mix in mixes]
    lines = [
        "### 9b. Each query alone (the warm-up of 9a: one request each, sequential, a new connection each)",
        "",
        "The first query each of provml's 2 query workers answers includes opening the store's snapshot.",
        "",
        "| query | " + " | ".join(f"{name} rows | {name} ms" for name in names) + " |",
        "|---" * (1 + 2 * len(names)) + "|",
    ]

    def shown(reply: Reply) -> str:
        if reply.status is None:
            return f"- | > {bound * 1000:,.0f} (timeout)"
        if reply.status != 200:
            return f"- | error {reply.status}"
        return f"{reply.rows:,} | {reply.ms:,.1f}"

    for name in mixes[0].alone:
        lines.append(f"| {name} | " + " | ".join(shown(mix.alone[name]) for mix in mixes) + " |")
    return lines


def _failures(mixes: list[Mix]) -> list[str]:
    """One line per server that did not answer every query: its timeouts, errors and failures in the passes."""
    lines = []
    for mix in mixes:
        name = mix.server.name
        if mix.timeouts:
            lines.append(f"Timeouts of {name} ({len(mix.timeouts)}): {', '.join(mix.timeouts)}.")
        if mix.errors:
            shown = "; ".join(f"{query} ({reply.status}: `{reply.error}`)" for query, reply in mix.errors.items())
            lines.append(f"Errors of {name} ({len(mix.errors)}): {shown}.")
        if mix.failures:
            lines.append(f"Failures of {name} in the timed passes: {', '.join(mix.failures)}.")
    return lines


def cpu_lines(rounds: dict[str, list[Round]], rows: int, plan: Plan) -> tuple[list[str], list[Bar]]:
    """Table 9c: server CPU, rate and latency per route; the bar is the small SELECT's CPU over /noop's."""
    cpu = {name: statistics.median(r.cpu_ms for r in rs) for name, rs in rounds.items()}
    lines = [
        "### 9c. Server CPU per request",
        "",
        "The app `provml serve` runs (`create_app(Store(STORE), Settings())`, with its access log on stderr as",
        "the CLI sets it), plus `GET /noop` answering a constant JSON (`endpoint_apps.provml_app`), under",
        f"`python -m uvicorn --workers 1 --no-access-log`. One httpx client, keep-alive; {WARMUPS} warm-up",
        f"requests per route, then {plan.rounds} rounds of {plan.requests} sequential requests per route, routes",
        "interleaved. Server CPU = utime + stime from `/proc/PID/stat` of the uvicorn process and of all its",
        "descendants (the query worker processes, multiprocessing's resource tracker; cutime + cstime for any",
        f"reaped), read before and after each round (clock tick {1000 / os.sysconf('SC_CLK_TCK'):g} ms).",
        f"Small SELECT ({_count(rows, 'row')}): ten training runs with their labels; SELECT with a join: ten",
        "training runs that used the training split, with their labels (Oxigraph's own evaluation of the join, in",
        "the union default graph, is most of its cost):",
        "",
        "```sparql",
        *SMALL_SELECT.splitlines(),
        "```",
        "",
        "```sparql",
        *JOIN_SELECT.splitlines(),
        "```",
        "",
        "| route | median server CPU ms/request | of which query workers | vs /noop | median requests/s | p50 ms "
        "| samples CPU ms/request |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rs in rounds.items():
        workers = statistics.median(r.workers_ms for r in rs)
        rate = statistics.median(r.rate for r in rs)
        p50 = statistics.median(ms for r in rs for ms in r.latencies_ms)
        lines.append(
            f"| {name} | {cpu[name]:.3f} | {workers:.3f} | {cpu[name] / cpu['/noop']:.2f}x | {rate:,.0f} "
            f"| {p50:.2f} | {_samples([r.cpu_ms for r in rs], 3)} |"
        )
    lines += [
        "",
        "p50: of every request of the route's rounds, as the client sees it (httpx on the same cores).",
        "A route named for its query sends the same text in every request, as dashboards, the UI and canned",
        "queries do: after the first, the server sends the answer it keeps for that query until the next write",
        "(its answer cache, docs/server.md), without running the query. *A new text each request* ends the",
        "query with a comment that differs in every request: each is run by a query worker, as ad-hoc queries",
        "are. An in-process reference runs the query in the server process with no check, snapshot or time",
        "limit, as a naive endpoint would (`/in-process` of the benchmark app): what running the query costs.",
    ]
    ratio = cpu["small SELECT"] / cpu["/noop"]
    fresh = cpu["small SELECT, a new text each request"] / cpu["/noop"]
    goal = (
        f"server CPU per small SELECT ({_count(rows, 'row')}, the same text in every request) <= "
        f"{BAR_CPU_RATIO:g}x the no-op route's, same app"
    )
    measured = (
        f"{ratio:.2f}x ({cpu['small SELECT']:.2f} vs {cpu['/noop']:.2f} ms; a new text each request, run by a "
        f"query worker: {fresh:.2f}x)"
    )
    return [*lines, ""], [(goal, measured, ratio <= BAR_CPU_RATIO)]


def _raw(mixes: list[Mix], rounds: dict[str, list[Round]]) -> list[str]:
    """The raw samples of 9a and 9c."""
    lines = ["Raw samples:", ""]
    lines += [f"- mix pass s, {mix.server.name}: {_samples(mix.seconds, 2)}" for mix in mixes]
    for name, rs in rounds.items():
        lines.append(
            f"- {name}: CPU ms/request {_samples([r.cpu_ms for r in rs], 3)} "
            f"(query workers {_samples([r.workers_ms for r in rs], 3)}); "
            f"requests/s {_samples([r.rate for r in rs], 0)}; "
            f"p50 ms {_samples([statistics.median(r.latencies_ms) for r in rs], 2)}"
        )
    return [*lines, ""]


# -- the whole section ---------------------------------------------------------------------


def measure(
    work: Path, target: int, plan: Plan, *, rdflib: bool = True, log: Callable[[str], None] = print
) -> tuple[list[str], list[Bar]]:
    """Measure section 9 on a lifecycle of about ``target // plan.divisor`` quads in ``work``; return its
    lines and bars."""
    work = work / "endpoint"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log(f"endpoint: loading a lifecycle of ~{target // plan.divisor:,} quads")
    store, nquads, _, quads = canned_queries.prepare(work, target // plan.divisor)
    queries = canned_queries.specs()
    missing = rdflib and find_spec("rdflib_endpoint") is None
    servers = [provml_serve(store, work)]
    if rdflib and not missing:
        env = {"PROVML_BENCH_NQUADS": str(nquads)}
        servers.append(uvicorn_app("rdflib-endpoint", "rdflib_app", env, work, "/sparql"))
    with running(*servers):
        mixes = measure_mix(servers, queries, plan, log)
    launcher = uvicorn_app("provml app + /noop", "provml_app", {"PROVML_BENCH_STORE": str(store)}, work, "/health")
    with running(launcher):
        rounds, rows = measure_cpu(launcher, plan, log)
    shutil.rmtree(work, ignore_errors=True)

    mix, mix_bars = mix_lines(mixes, len(queries), quads, plan)
    cpu, cpu_bars = cpu_lines(rounds, rows, plan)
    note = ["rdflib-endpoint is not installed here (`pip install rdflib-endpoint`), so it was not run.", ""]
    lines = ["## 9. SPARQL endpoint over HTTP", "", *(note if missing else []), *mix, *cpu, *_raw(mixes, rounds)]
    return lines, mix_bars + cpu_bars
