"""Run read queries in worker processes, each within a time limit, over snapshots of the store.

Oxigraph cannot stop a query once it runs, so queries run in worker processes: one that runs past
the time limit is killed (``SIGKILL``) and replaced, and the client is told. Workers read a snapshot
of the store (:meth:`provml.store.Store.snapshot`: hard links, a few milliseconds), never the store
itself: the server's writes go to the store under one lock, and each write ends by publishing a new
snapshot. A query therefore sees the store as it was between two writes, never half a load, and a
client whose write was answered sees it in its next query.

Sending a query to a worker costs about as much server CPU as a small query itself (two pipe messages,
two wake-ups), and a small query costs about half of what the web framework spends on a request. So the
runner keeps the answers of the queries it answered on the current snapshot (same text, dataset, base IRI
and format), when they are small (:data:`CACHED_ANSWER`) and the query is deterministic (no ``RAND``,
``NOW``, ``UUID``...: :func:`provml.sparql_text.deterministic`): the same query over the same snapshot has
the same answer, so it is sent again without running the query. A write (a new snapshot) forgets them all,
and the answer of a query that could reach another server (``SERVICE``) is never kept: it is not the
store's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from provml import errors
from provml.entailment import refresh_if_kept
from provml.errors import QueryError, QueryTimeout, StoreError
from provml.ids import IriMinter
from provml.server import results
from provml.server.remote import may_fetch
from provml.sparql_text import deterministic
from provml.store import Store

_SPAWN = multiprocessing.get_context("spawn")  # a fork would copy the store's locks and threads
_PREFIX = ".provml-snapshots-"  # then the server's pid: the folder of its snapshots, beside the store
WORKER_START = 60.0  # seconds a new query worker may take to say it is ready
CACHED_ANSWER = 256 << 10  # bytes: the largest answer (with its query's text) kept for the same query
ANSWER_CACHE = 32 << 20  # bytes: all the answers kept, with their queries' texts (the oldest go first)


@dataclass(frozen=True)
class Request:
    """One query for a worker: its text and dataset, and how to write the answer."""

    sparql: str
    accept: str | None = None
    format: str | None = None
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None
    max_rows: int = 100_000
    entailed: bool = True  # the entailment graph is in the dataset (provml.entailment)


@dataclass(frozen=True)
class Answer:
    """A written answer: its bytes, format name and the kind of result (select, ask, graph)."""

    body: bytes
    format: str
    kind: str

    @property
    def media_type(self) -> str:
        return results.media_type(self.format)


@dataclass
class _Worker:
    process: Any
    connection: Connection
    snapshot: Path | None = None
    busy_since: float = field(default=0.0)


class _Writer:
    """What both runners do around a write: one at a time, then the entailment graph, then :meth:`publish`."""

    store: Store
    writing: threading.Lock

    @contextmanager
    def write(self, *, loads_only: bool = False) -> Iterator[Store]:
        """Hold the write lock around a change of the store; on leaving, queries see the change, and what the
        linked ontologies entail of it (:func:`provml.entailment.refresh_if_kept`): derived from the new dumps
        alone if the change is ``loads_only``, computed whole otherwise (an update may remove anything)."""
        with self.writing:
            try:
                yield self.store
                refresh_if_kept(self.store, whole=not loads_only)
            finally:
                self.publish()

    def publish(self) -> None:
        raise NotImplementedError


class QueryRunner(_Writer):
    """Worker processes answering :class:`Request` objects over the latest snapshot of ``store``."""

    def __init__(
        self,
        store: Store,
        *,
        workers: int = 2,
        timeout: float = 30.0,
        cache_bytes: int = ANSWER_CACHE,
    ) -> None:
        if store.path is None:
            raise StoreError("the server needs a store on disk (its queries run on snapshots of it)")
        self.store, self.timeout, self.cache_bytes = store, timeout, cache_bytes
        self.writing = threading.Lock()  # one write at a time: loads and updates, then a new snapshot
        _remove_orphans(store.path.parent)
        self._snapshots = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=store.path.parent))
        self._guard = threading.Lock()  # the snapshot in use and the readers of each
        self._readers: dict[Path, int] = {}
        self._generation = 0
        self._current = self._take_snapshot()
        self._answers: dict[Request, Answer] = {}  # on the current snapshot, oldest first (under _guard)...
        self._cached = 0  # ...and their bytes, with their queries' texts
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()  # the last worker used: its caches are warm
        self._workers = [self._spawn() for _ in range(max(1, workers))]
        for worker in self._workers:  # the server answers once they can
            self._enlist(worker)
        self.timeouts = 0  # queries stopped for running too long, since the start
        self.cache_hits = 0  # answers sent again, since the start

    @property
    def generation(self) -> int:
        """The number of the latest snapshot: it changes after each write."""
        return self._generation

    # -- writes -------------------------------------------------------------------------

    def publish(self) -> None:
        """Take a new snapshot for the next queries (call it holding :attr:`writing`)."""
        snapshot = self._take_snapshot()
        with self._guard:
            self._current = snapshot
            self._answers, self._cached = {}, 0
        self._prune()

    def _take_snapshot(self) -> Path:
        self._generation += 1
        target = self._snapshots / str(self._generation)
        self.store.snapshot(target)
        return target

    def _prune(self) -> None:
        """Delete the snapshots no query reads any more, but the current one."""
        with self._guard:
            stale = [p for p in self._snapshots.iterdir() if p != self._current and not self._readers.get(p)]
            for path in stale:
                self._readers.pop(path, None)
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)

    # -- queries ------------------------------------------------------------------------

    def run(self, request: Request) -> Answer:
        """Answer ``request`` within the time limit (blocking: call it from a thread)."""
        if (answer := self._kept(request)) is not None:
            return answer
        deadline = time.monotonic() + self.timeout
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise QueryTimeout(f"every query worker stayed busy for {self.timeout:g} s; try again later") from None
        snapshot = self._send(worker, request)
        try:
            answer = self._receive(worker, worker.connection.poll(max(0.0, deadline - time.monotonic())))
        finally:
            self._release(snapshot)
        self._keep(request, snapshot, answer)
        return answer

    async def answer(self, request: Request) -> Answer:
        """Answer ``request`` within the time limit, waiting on the worker's pipe in the event loop
        (no thread: the cheapest path for the many small queries); with no idle worker, wait in a thread."""
        if (answer := self._kept(request)) is not None:
            return answer
        try:
            worker = self._idle.get_nowait()
        except queue.Empty:
            return await run_in_threadpool(self.run, request)
        snapshot = self._send(worker, request)
        try:
            ready = await _readable(worker.connection, self.timeout)
        except asyncio.CancelledError:  # the client left: the worker's answer would be read by the next query
            threading.Thread(target=self._replace, args=(worker,), daemon=True).start()
            self._release(snapshot)
            raise
        try:
            if not ready:  # killing and replacing a worker takes a while: not in the event loop
                return await run_in_threadpool(self._receive, worker, ready)
            answer = self._receive(worker, ready)
        finally:
            self._release(snapshot)
        self._keep(request, snapshot, answer)
        return answer

    def _kept(self, request: Request) -> Answer | None:
        """The answer kept for ``request`` on the current snapshot, if any."""
        with self._guard:
            answer = self._answers.get(request)
            if answer is not None:
                self.cache_hits += 1
            return answer

    def _keep(self, request: Request, snapshot: Path, answer: Answer) -> None:
        """Keep the answer a worker gave on ``snapshot``, if it is small, deterministic and still current."""
        text, size = request.sparql, len(answer.body) + len(request.sparql)
        if size > min(CACHED_ANSWER, self.cache_bytes) or may_fetch(text) or not deterministic(text):
            return
        with self._guard:
            if snapshot != self._current or request in self._answers:  # a write came in between; or kept
                return
            self._answers[request] = answer
            self._cached += size
            while self._cached > self.cache_bytes:
                oldest = next(iter(self._answers))
                self._cached -= len(self._answers.pop(oldest).body) + len(oldest.sparql)

    def _send(self, worker: _Worker, request: Request) -> Path:
        """Give ``request`` to ``worker`` with the current snapshot, which it then reads until released."""
        with self._guard:
            snapshot = self._current
            self._readers[snapshot] = self._readers.get(snapshot, 0) + 1
        try:
            worker.connection.send((str(snapshot), request))
        except OSError:
            self._release(snapshot)
            self._replace(worker)
            raise QueryError("the query worker stopped; try again") from None
        return snapshot

    def _receive(self, worker: _Worker, ready: bool) -> Answer:
        """Read the worker's answer (``ready``: it came in time), or kill the worker and say why."""
        if not ready:
            self._replace(worker)
            self.timeouts += 1
            raise QueryTimeout(f"the query ran past the server's time limit of {self.timeout:g} s and was stopped")
        try:
            status, payload = worker.connection.recv()
        except (EOFError, OSError):
            self._replace(worker)
            raise QueryError("the query worker stopped while answering; the query was not run to its end") from None
        self._idle.put(worker)
        return _unpack(status, payload)

    def _release(self, snapshot: Path) -> None:
        with self._guard:
            self._readers[snapshot] -= 1
        if snapshot != self._current:
            self._prune()

    def _spawn(self) -> _Worker:
        parent, child = _SPAWN.Pipe()
        process = _SPAWN.Process(target=_serve, args=(child, self.store.ids.base), daemon=True, name="provml-query")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker (it may be deep in a query) and put a new one in its place."""
        worker.process.kill()
        worker.process.join(5)
        worker.connection.close()
        fresh = self._spawn()
        self._workers[self._workers.index(worker)] = fresh
        threading.Thread(target=self._enlist, args=(fresh,), daemon=True).start()

    def _enlist(self, worker: _Worker) -> None:
        """Make ``worker`` idle once it says it is ready: its start (a new interpreter importing provml, a
        second or more on a busy machine) must not count against the time limit of the query it would get."""
        try:
            if worker.connection.poll(WORKER_START):
                worker.connection.recv()
        except (EOFError, OSError):  # closed by close(), or dead: a query given to it would replace it
            pass
        self._idle.put(worker)

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers."""
        return [w.process.pid for w in self._workers]

    def close(self) -> None:
        """Stop the workers and delete the snapshots."""
        for worker in self._workers:
            worker.connection.close()
            worker.process.kill()
            worker.process.join(5)
        shutil.rmtree(self._snapshots, ignore_errors=True)


async def _readable(connection: Connection, timeout: float) -> bool:
    """Wait until ``connection`` has data (True) or ``timeout`` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[bool] = loop.create_future()
    fd = connection.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
    timer = loop.call_later(timeout, lambda: ready.done() or ready.set_result(False))
    try:
        return await ready
    finally:
        timer.cancel()
        loop.remove_reader(fd)


class RemoteRunner(_Writer):
    """Answers :class:`Request` objects from a remote store (:mod:`provml.remote`), as :class:`QueryRunner`
    does from an embedded one: the service runs the queries and keeps its own consistency, so there are no
    snapshots nor workers here; a query that runs past the time limit is abandoned (its HTTP request closed)."""

    def __init__(self, store: Store, *, timeout: float = 30.0) -> None:
        assert store.service is not None
        self.store, self.timeout = store, timeout
        self.writing = threading.Lock()
        # its own connections, each request bounded by the time limit (the store's are bounded for loads)
        self._reader = Store(service=dataclasses.replace(store.service, timeout=timeout), ids=store.ids)
        self._generation = 1
        self.timeouts = 0

    @property
    def generation(self) -> int:
        """The number of writes made through this server, plus one."""
        return self._generation

    def publish(self) -> None:
        """Count the write: what the server caches per write (the catalog's counts) is read again."""
        self._generation += 1

    def run(self, request: Request) -> Answer:
        """Answer ``request`` within the time limit (blocking: call it from a thread)."""
        try:
            return _unpack(*_attempt(self._reader, request))
        except QueryTimeout:
            self.timeouts += 1
            raise QueryTimeout(f"the query ran past the server's time limit of {self.timeout:g} s") from None

    async def answer(self, request: Request) -> Answer:
        return await run_in_threadpool(self.run, request)

    def close(self) -> None:
        self._reader.close()


def _remove_orphans(folder: Path) -> None:
    """Delete the snapshot folders of servers that are gone (killed before they could clean up)."""
    for path in folder.glob(f"{_PREFIX}*-*"):
        pid = path.name.removeprefix(_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _serve(connection: Connection, base: str) -> None:
    """A worker's loop: say it is ready, then open the snapshot each request names, answer, and wait for the next."""
    store: Store | None = None
    connection.send(("ready", None))
    while True:
        try:
            snapshot, request = connection.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            if store is None or str(store.path) != snapshot:
                if store is not None:
                    store.close()
                store = None
                store = Store.open_snapshot(snapshot, ids=IriMinter(base))
        except errors.ProvmlError as error:
            connection.send(("error", (type(error).__name__, error.message)))
            continue
        connection.send(_attempt(store, request))


def _attempt(store: Store, request: Request) -> tuple[str, Any]:
    """Answer ``request`` from ``store`` as a message: ``("ok", (body, format, kind))`` or
    ``("error", (error class name, message))``: what a worker sends."""
    try:
        return "ok", _answer(store, request)
    except errors.ProvmlError as error:
        return "error", (type(error).__name__, error.message)
    except Exception as error:  # the engine's, met while the answer is written: a SERVICE that failed...
        return "error", ("QueryError", f"query failed: {error}")


def _unpack(status: str, payload: Any) -> Answer:
    """The :class:`Answer` of an ``("ok", ...)`` message, or raise the error of an ``("error", ...)`` one."""
    if status == "error":
        kind, message = payload
        raise getattr(errors, kind, QueryError)(message)
    return Answer(*payload)


def _answer(store: Store, request: Request) -> tuple[bytes, str, str]:
    result = store.query(
        request.sparql,
        graphs=request.default_graphs,
        named_graphs=request.named_graphs,
        base_iri=request.base_iri,
        entailed=request.entailed,
    )
    format = results.choose_format(result.kind, request.accept, request.format)
    return results.write(result, format, request.max_rows), format, result.kind
