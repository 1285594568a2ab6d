"""Load events from a Redis stream into a store as they arrive: what ``provml consume`` does.

The stream is read through a consumer group, in batches. Each batch loads atomically as one
dump, into a graph named after the stream and the batch's first and last message ids, and is
acknowledged only once that load has committed. A consumer killed mid-batch therefore loses
nothing: started again under the same name, it first re-reads what it had not acknowledged, as
one batch, the same one, so a batch stored but not yet acknowledged is recognised by its digest
and not loaded twice. A batch with a bad record is reported and moved whole to the stream
``{stream}:dead`` (each message keeps its fields, plus its ``id`` and the ``error``), so that it
does not block the stream.
"""

from __future__ import annotations

import hashlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from provml.capture.redis import connect, redacted, redis_module
from provml.entailment import refresh_if_kept
from provml.errors import EventError, ProvmlError
from provml.events import check_record
from provml.ids import IriMinter, segment
from provml.loaders.events import event_quads
from provml.rdf import Quad
from provml.store import Dump, LoadCheck, LoadResult, Store

READ_MARGIN_SECONDS = 10.0  # how much longer than a blocking read the socket waits for its answer
Entry = tuple[str, dict[bytes, bytes]]  # a stream message: its id and fields


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one batch: stored (``result``), or moved to the dead-letter stream (``error``)."""

    first: str
    last: str
    events: int
    result: LoadResult | None = None
    error: ProvmlError | None = None


@dataclass
class ConsumeReport:
    """What a consumer did: batches and events it took, triples it stored, events it dead-lettered."""

    batches: int = 0
    events: int = 0
    triples: int = 0
    dead_lettered: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, outcome: BatchOutcome) -> None:
        """Count one batch."""
        self.batches += 1
        if outcome.error is not None:
            self.dead_lettered += outcome.events
            self.errors.append(str(outcome.error))
        elif outcome.result is not None:
            self.events += outcome.events
            self.triples += 0 if outcome.result.skipped else outcome.result.triples


def stream_quads(messages: list[tuple[str, bytes | None]], ids: IriMinter, graph: str, stream: str) -> Iterator[Quad]:
    """Yield the quads of ``(message id, JSON line)`` pairs, as the events loader does for a file's lines.

    A bad record raises :class:`EventError` naming the stream and the message id.
    """
    source = f"stream {stream}"
    records = ((f"message {mid}", _record(line, f"{source}:message {mid}")) for mid, line in messages)
    return event_quads(records, source, ids, graph)


def _record(line: bytes | None, where: str) -> dict[str, Any]:
    """Return the event of one message, checked against the schema."""
    if line is None:
        raise EventError("the message has no 'event' field", source=where)
    try:
        record = orjson.loads(line)
        check_record(record)
    except orjson.JSONDecodeError as error:
        raise EventError(f"not JSON: {error}", source=where) from None
    except EventError as error:
        raise EventError(error.message, source=where) from None
    return record


class _Consumer:
    """One consumer of a consumer group of a stream: read, acknowledge, dead-letter."""

    def __init__(self, client: Any, stream: str, group: str, name: str) -> None:
        self.client, self.stream, self.group, self.name = client, stream, group, name
        self.dead = f"{stream}:dead"

    def join(self) -> None:
        """Create the group (and the stream), reading from the start, unless it exists."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis_module().ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read(self, start: str, count: int | None = None, block_ms: int | None = None) -> list[Entry]:
        """Read messages after ``start``: ``">"`` for new ones, ``"0"`` for this consumer's unacknowledged ones."""
        reply = self.client.xreadgroup(self.group, self.name, {self.stream: start}, count=count, block=block_ms)
        return [(message_id.decode(), fields) for message_id, fields in (reply[0][1] if reply else [])]

    def ack(self, entries: list[Entry]) -> None:
        """Acknowledge messages: they leave this consumer's pending list."""
        self.client.xack(self.stream, self.group, *(message_id for message_id, _ in entries))

    def dead_letter(self, entries: list[Entry], error: ProvmlError) -> None:
        """Move messages to the dead-letter stream and acknowledge them, in one transaction."""
        pipe = self.client.pipeline(transaction=True)
        for message_id, fields in entries:
            pipe.xadd(self.dead, {**fields, b"id": message_id, b"error": str(error)})
        pipe.xack(self.stream, self.group, *(message_id for message_id, _ in entries))
        pipe.execute()


def consume(
    store: Store,
    uri: str,
    *,
    group: str = "provml",
    consumer: str | None = None,
    batch: int = 10_000,
    block_ms: int = 1000,
    max_batches: int | None = None,
    idle_exit: bool = False,
    on_batch: Callable[[BatchOutcome], None] | None = None,
    check: LoadCheck | None = None,
) -> ConsumeReport:
    """Load the events of the Redis stream ``uri`` into ``store``, ``batch`` events per dump.

    Reads as ``consumer`` (default: the host name) of ``group``, created at the start of the
    stream if absent. Stops after ``max_batches`` batches, when a read waiting ``block_ms`` finds
    nothing new (``idle_exit``), or after the batch in hand on SIGINT or SIGTERM (a second one
    interrupts at once; an interrupted load leaves nothing). ``on_batch`` is told of each batch.
    ``check`` validates each batch before it is stored (see :meth:`Store.load_many`); a batch it
    refuses goes to the dead-letter stream like a malformed one.
    Raises :class:`ProvmlError` if the server cannot be reached or refuses a command.
    """
    client, stream = connect(uri, timeout=block_ms / 1000 + READ_MARGIN_SECONDS)
    reader = _Consumer(client, stream, group, consumer or socket.gethostname())
    destination, report = redacted(uri), ConsumeReport()
    with _stop_requests() as stop, _redis_errors(destination):
        reader.join()
        pending = reader.read("0")  # what this consumer took before and did not acknowledge: that batch, whole
        while not stop.is_set() and (max_batches is None or report.batches < max_batches):
            entries, pending = pending or reader.read(">", batch, block_ms), []
            if not entries:
                if idle_exit:
                    break
                continue
            outcome = _load(store, reader, entries, destination, check)
            report.add(outcome)
            if on_batch is not None:
                on_batch(outcome)
    return report


def _load(
    store: Store, reader: _Consumer, entries: list[Entry], destination: str, check: LoadCheck | None
) -> BatchOutcome:
    """Load one batch as one dump; acknowledge it once stored, else move it to the dead-letter stream."""
    first, last = entries[0][0], entries[-1][0]
    messages = [(message_id, fields.get(b"event")) for message_id, fields in entries]
    graph = f"{store.ids.base}graph/stream/{segment(reader.stream)}/{segment(first)}/{segment(last)}"
    digest = hashlib.sha256(b"\n".join(line or b"" for _, line in messages)).hexdigest()
    quads = stream_quads(messages, store.ids, graph, reader.stream)
    dump = Dump(graph, quads, f"{destination} {first}..{last}", "events", digest)
    ((_, result),) = store.load_many([dump], check=check)
    if isinstance(result, ProvmlError):
        reader.dead_letter(entries, result)
        return BatchOutcome(first, last, len(entries), error=result)
    refresh_if_kept(store)  # what the linked ontologies entail of the batch
    reader.ack(entries)
    return BatchOutcome(first, last, len(entries), result=result)


@contextmanager
def _stop_requests() -> Iterator[threading.Event]:
    """Yield an event that SIGINT and SIGTERM set (in the main thread); a second signal acts as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def request(signum: int, frame: Any) -> None:
        stop.set()
        signal.signal(signum, previous[signum] or signal.SIG_DFL)

    for signum in previous:
        signal.signal(signum, request)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler or signal.SIG_DFL)


@contextmanager
def _redis_errors(destination: str) -> Iterator[None]:
    """Turn what the Redis client raises into a one-line :class:`ProvmlError`."""
    try:
        yield
    except redis_module().RedisError as error:
        raise ProvmlError(f"Redis at {destination}: {error}") from None
