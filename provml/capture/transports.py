"""Where captured events go: a transport per process, chosen by one URI.

* a directory (``file:///scratch/run`` or a plain path, the default ``./provml-events``): one
  JSON-lines file per process, named by host, rank and pid, so that thousands of ranks write
  side by side on a shared file system without locks;
* a network service (:class:`BatchingTransport`: HTTP ingest, Redis streams): events are
  queued by the caller and sent in batches by a background thread.

A transport never raises into the code it observes: a failing write warns once and the
events go to a spill file instead (for network transports, a per-process file in
``$PROVML_SPILL`` or ``./provml-events``, which ``provml load`` reads like any other).
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlparse

import orjson

from provml.errors import ProvmlError, ProvmlWarning

DEFAULT_DIRECTORY = "provml-events"
FLUSH_SECONDS = 1.0  # buffered events reach the file at least this often while events are written
_BUFFER_BYTES = 1 << 16
_RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID", "PMIX_RANK")


def process_rank() -> str | None:
    """Return this process's rank in a parallel job (MPI, SLURM, torchrun), if it has one."""
    return next((os.environ[v] for v in _RANK_VARIABLES if os.environ.get(v)), None)


def _dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY, default=str)


class Transport(ABC):
    """Where one process's events go: write (cheap, never raises), flush, close."""

    path: Path | None = None  # the file events go to, for transports that write one

    @abstractmethod
    def write(self, record: dict[str, Any]) -> None:
        """Send one event (or queue it); never raises."""

    @abstractmethod
    def flush(self) -> None:
        """Push every event written so far to its destination (or to the spill file); never raises."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the transport; later writes are dropped."""


class FileTransport(Transport):
    """Append events to this process's own JSON-lines file in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._closed = False
        self._stream: IO[bytes] | None = None
        self._last_flush = time.monotonic()
        self._warned = False
        self.path = self._open()
        os.register_at_fork(after_in_child=self._after_fork)

    def _open(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        rank = process_rank()
        who = f"rank{rank}-{os.getpid()}" if rank is not None else str(os.getpid())
        path = self.directory / f"{socket.gethostname()}-{who}-{time.time_ns()}.jsonl"
        self._stream = path.open("ab", buffering=_BUFFER_BYTES)
        return path

    def _after_fork(self) -> None:
        """In a forked child: drop the parent's buffer (the parent writes it) and open a file of its own.

        The inherited stream would flush the parent's buffered events into the parent's file when
        it is collected, so its descriptor is pointed at /dev/null first (in the child only).
        """
        if self._stream is not None:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        self._stream = None
        if not self._closed:
            self.path = self._open()

    def write(self, record: dict[str, Any]) -> None:
        """Write one event; never raises (a failure warns once and the event is kept in a spill file)."""
        line = _dumps(record)
        try:
            self._stream.write(line)  # type: ignore[union-attr]  # BufferedWriter serialises threads itself
            now = time.monotonic()
            if now - self._last_flush > FLUSH_SECONDS:
                self._last_flush = now
                self._stream.flush()  # type: ignore[union-attr]
        except Exception as error:
            self._spill(line, error)

    def flush(self) -> None:
        """Push buffered events to the file (to the OS; a later kill -9 keeps them)."""
        try:
            if self._stream is not None:
                self._stream.flush()
        except Exception as error:
            self._warn(error)

    def close(self) -> None:
        """Flush and close the file; later writes are dropped."""
        self._closed = True
        self.flush()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception as error:
                self._warn(error)

    def _spill(self, line: bytes, error: Exception) -> None:
        self._warn(error)
        try:
            with (Path(os.environ.get("TMPDIR", "/tmp")) / f"provml-spill-{os.getpid()}.jsonl").open("ab") as spill:
                spill.write(line)
        except OSError:
            pass  # nowhere left to write: the event is lost, and the warning said so

    def _warn(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(ProvmlWarning(f"provml capture could not write to {self.path}: {error}"), stacklevel=3)


class BatchingTransport(Transport):
    """Queue events in the caller, send them in batches from a background thread.

    A batch leaves every ``interval`` seconds, or as soon as ``batch_size`` events wait. A batch
    that cannot be sent is retried with exponential back-off (``retries`` times, from 0.1 s),
    then written to the spill file with a warning (once). Subclasses say how to send a batch.
    """

    def __init__(self, *, batch_size: int = 1000, interval: float = 1.0, retries: int = 4) -> None:
        self.batch_size, self.interval, self.retries = batch_size, interval, retries
        self._queue: list[bytes] = []
        self._batches, self.batch_number = 0, 0  # batches delivered so far; the one being delivered
        self._wake, self._closed = threading.Event(), False
        self._send_lock = threading.RLock()  # one batch in flight at a time, in order; a SIGTERM flush may re-enter
        self._spill_transport: FileTransport | None = None
        self._warned = False
        self._thread = threading.Thread(target=self._run, name="provml-transport", daemon=True)
        self._thread.start()
        os.register_at_fork(after_in_child=self._after_fork)

    @abstractmethod
    def send(self, lines: list[bytes]) -> None:
        """Deliver one batch of JSON lines; raise on failure (the batch is then retried or spilled).

        ``self.batch_number`` numbers the batch (from 0), the same on each retry of it.
        """

    @property
    def destination(self) -> str:
        """Where batches go, for messages."""
        return type(self).__name__

    def write(self, record: dict[str, Any]) -> None:
        """Queue one event (list.append is atomic under the GIL); never raises."""
        if self._closed:
            return
        self._queue.append(_dumps(record))
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def flush(self) -> None:
        """Send what is queued now, in this thread; spill it if it cannot be sent."""
        self._drain()

    def close(self) -> None:
        """Stop the sender thread, then send (or spill) what is left."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._drain()
        if self._spill_transport is not None:
            self._spill_transport.close()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._send_lock:
            batch, self._queue = self._queue, []
            for start in range(0, len(batch), self.batch_size):
                self._deliver(batch[start : start + self.batch_size])

    def _deliver(self, lines: list[bytes]) -> None:
        self.batch_number = self._batches  # the same for every retry of this batch
        self._batches += 1
        delay = 0.1
        for attempt in range(self.retries + 1):
            try:
                self.send(lines)
                return
            except Exception as error:  # whatever the network does, the caller goes on
                if attempt == self.retries or self._closed:
                    self._spill(lines, error)
                    return
                time.sleep(delay)
                delay *= 2

    def _spill(self, lines: list[bytes], error: Exception) -> None:
        if self._spill_transport is None:
            self._spill_transport = FileTransport(Path(os.environ.get("PROVML_SPILL") or DEFAULT_DIRECTORY))
        if not self._warned:
            self._warned = True
            warnings.warn(
                ProvmlWarning(
                    f"provml capture could not send to {self.destination} ({error}); "
                    f"events are kept in {self._spill_transport.path}"
                ),
                stacklevel=2,
            )
        for line in lines:
            self._spill_transport.write(orjson.loads(line))

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's queue (the parent sends it) and start a sender of its own."""
        self._queue, self._send_lock, self._wake = [], threading.RLock(), threading.Event()
        self._batches = 0
        if not self._closed:
            self._thread = threading.Thread(target=self._run, name="provml-transport", daemon=True)
            self._thread.start()


def open_transport(uri: str | None = None) -> Transport:
    """Open the transport named by ``uri``, else by ``$PROVML_CAPTURE``, else ``./provml-events/``."""
    uri = uri or os.environ.get("PROVML_CAPTURE") or DEFAULT_DIRECTORY
    parsed = urlparse(uri)
    transport: Transport
    if parsed.scheme in ("", "file"):
        transport = FileTransport(Path(unquote(parsed.path) if parsed.scheme else uri))
    elif parsed.scheme in ("http", "https"):
        from provml.capture.http import HttpTransport

        transport = HttpTransport(uri)
    elif parsed.scheme in ("redis", "rediss"):
        from provml.capture.redis import RedisTransport

        transport = RedisTransport(uri)
    else:
        raise ProvmlError(f"unknown capture transport {uri!r}: give a directory, a file://, http:// or redis:// URI")
    atexit.register(transport.close)
    return transport
