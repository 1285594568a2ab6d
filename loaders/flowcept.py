"""Loader of Flowcept's provenance messages, as Flowcept writes them to files.

`Flowcept <https://flowcept.readthedocs.io>`_ (ORNL) captures workflow provenance as messages of
type ``workflow``, ``task``, ``agent`` and ``object``. It writes them to files in two shapes:

- **JSON lines**: its message buffer, dumped when Flowcept stops (``project.dump_buffer`` in its
  settings, on by default in offline mode, ``flowcept_buffer.jsonl``) or by ``Flowcept.dump_buffer()``;
  ``flowcept stream-messages --messages-file-path`` writes the same messages from its queue.
- **a JSON array**: ``Flowcept.db.dump_to_file()``, a dump of its ``tasks`` or ``workflows``
  database collection, whose documents have lost their ``type``.

The provml event format uses Flowcept's field names, so each message becomes one or a few event
records with little change (:func:`event_records`), checked and mapped like any event file. The
``domain_concepts`` of a workflow, task or object message's ``custom_metadata`` (one IRI or a list of
IRIs) annotate its node with domain concepts.

>>> event_records({"task_id": "7", "workflow_id": "wf", "group_id": "g", "used": {"i": 0}, "parent_task_id": None})
[{'task_id': '7', 'workflow_id': 'wf', 'group_id': 'g', 'used': {'i': 0}, 'type': 'task', 'subtype': 'iteration'}]
"""

from __future__ import annotations

import codecs
import itertools
import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from provml.errors import EventError, InputError, ProvmlWarning
from provml.events import check_record, domain_concepts, json_lines, record_types
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source, read_head
from provml.loaders.events import event_quads
from provml.rdf import Quad

_BLOCK = 1 << 20  # bytes read at a time
_SNIFF_BYTES = 1 << 20  # a workflow message with machine_info can be tens of kB
_WHITESPACE = " \t\r\n"
_CUT_SHORT = 16  # a JSON error this close to the end of the text read may be cured by reading on

# top-level fields that Flowcept writes and the provml event format does not have
FLOWCEPT_FIELDS = frozenset(
    {
        "interceptor_ids", "flowcept_version", "flowcept_settings", "utc_timestamp", "adapter_id", "group_id",
        "registered_at", "submitted_at", "node_name", "login_name", "custom_metadata", "machine_info",
        "environment_id", "sys_name", "extra_metadata", "object_id", "workflow_description",
    }
)  # fmt: skip
_TRANSPORT_TYPES = frozenset({"flowcept_control"})  # messages about Flowcept's queue, not provenance
_OBJECT_RECORDS = {"ml_model": "model", "dataset": "dataset"}  # Flowcept object_type -> event record type
# a message without a type (a document of Flowcept's database) is of the first of these it has a field of:
# as Flowcept's database writer infers it, but a workflow (which always has interceptor_ids) may name its agent
_INFERRED_TYPES = (
    ("task_id", "task"), ("activity_id", "task"), ("object_id", "object"), ("interceptor_ids", "workflow"),
    ("agent_id", "agent"), ("workflow_id", "workflow"),
)  # fmt: skip
_TELEMETRY_TIMES = (("telemetry_at_start", "started_at"), ("telemetry_at_end", "ended_at"))
_CONCEPTS = "domain_concepts"  # the key of a message's custom_metadata that holds domain concept IRIs

Position = int | str  # a line number, or "record N" of a JSON array
Message = tuple[Position, Any]


class FlowceptLoader(Loader):
    """Read Flowcept's messages (its JSON-lines buffer file, or a JSON array database dump) into PROV-ML."""

    name = "flowcept"
    description = "Flowcept workflow, task and agent messages: its buffer file (JSON lines) or a database dump (JSON)"
    extensions = (".jsonl", ".json")
    precedence = 1  # a Flowcept file may also read as provml events (the same field names), but not fully

    def sniff(self, path: Path) -> bool:
        """Return True if the first messages of a file are Flowcept's (fields or types provml events lack)."""
        start = read_head(path, _SNIFF_BYTES)
        if start.lstrip().startswith(b"["):
            return any(_has_flowcept_ids(message) for _, message in _first_messages(start))
        return any(is_flowcept_message(message) for _, message in _first_messages(start))

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of every message of a file; a malformed message raises an error naming its position."""
        path = Path(source)
        return event_quads(flowcept_records(read_messages(path, on_bytes=on_bytes), path), path, ids, graph)


def is_flowcept_message(message: Any) -> bool:
    """Return True if ``message`` has a field or a type only Flowcept writes.

    >>> is_flowcept_message({"type": "workflow", "workflow_id": "w", "interceptor_ids": ["1"]})
    True
    >>> is_flowcept_message({"type": "workflow", "workflow_id": "w", "name": "sweep"})
    False
    """
    if not isinstance(message, dict):
        return False
    return message.get("type") in _TRANSPORT_TYPES | {"object"} or not FLOWCEPT_FIELDS.isdisjoint(message)


def _has_flowcept_ids(message: Any) -> bool:
    return isinstance(message, dict) and ("workflow_id" in message or "task_id" in message)


def _first_messages(start: bytes) -> list[Message]:
    """Return the messages that the first bytes of a file hold whole (none if they are not JSON)."""
    messages: list[Message] = []
    with warnings.catch_warnings():  # the start of a file ends with a line cut short: not worth a note
        warnings.simplefilter("ignore", ProvmlWarning)
        try:
            for message in _messages([start], ""):
                messages.append(message)
        except InputError:
            pass
    return messages


# -- reading ---------------------------------------------------------------------------


def read_messages(path: Path, *, on_bytes: ProgressCallback | None = None) -> Iterator[Message]:
    """Yield ``(position, message)`` for each message of a Flowcept file, JSON lines or a JSON array, streaming.

    Positions are line numbers of JSON lines and ``record N`` (from 1) of an array. A last line cut
    short (Flowcept was killed while writing) is skipped with a :class:`ProvmlWarning`.
    """
    try:
        with path.open("rb") as stream:
            yield from _messages(_blocks(stream, on_bytes), path)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=path) from None


def _blocks(stream: Any, on_bytes: ProgressCallback | None) -> Iterator[bytes]:
    while block := stream.read(_BLOCK):
        if on_bytes is not None:
            on_bytes(len(block))
        yield block


def _messages(blocks: Iterable[bytes], source: str | Path) -> Iterator[Message]:
    """Yield the messages of a file's blocks: a JSON array if its first character is ``[``, else JSON lines."""
    blocks = iter(blocks)
    head = []
    for block in blocks:
        head.append(block)
        if block.strip():
            break
    rest = itertools.chain(head, blocks)
    if b"".join(head).lstrip().startswith(b"["):
        yield from _array_items(_text(rest, source), source)
    else:
        yield from json_lines(_lines(rest), source, torn_last_line=True)


def _lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Cut blocks into lines, each with its newline but a last one that has none."""
    tail = b""
    for block in blocks:
        *lines, tail = (tail + block).split(b"\n")
        yield from (line + b"\n" for line in lines)
    if tail:
        yield tail


def _text(blocks: Iterable[bytes], source: str | Path) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in blocks:
            yield decoder.decode(block)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text: {error.reason}", source=source) from None


class _ArrayReader:
    """The items of one JSON array read from chunks of text, holding no more than a chunk and one item."""

    def __init__(self, chunks: Iterable[str], source: str | Path) -> None:
        self.chunks, self.source = iter(chunks), source
        self.text, self.at = "", 0
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            return False
        self.text, self.at = self.text[self.at :] + chunk, 0
        return True

    def next_char(self) -> str:
        """Return the next character that is not white space, without consuming it ('' at the end)."""
        while True:
            while self.at < len(self.text) and self.text[self.at] in _WHITESPACE:
                self.at += 1
            if self.at < len(self.text):
                return self.text[self.at]
            if not self._more():
                return ""

    def expect(self, characters: str, what: str, position: Position) -> str:
        """Consume and return the next character, one of ``characters``; else raise naming ``what`` was expected."""
        found = self.next_char()
        if not found or found not in characters:
            raise InputError(f"expected {what}, found {found[:1] or 'the end'}", source=self.source, line=position)
        self.at += 1
        return found

    def value(self, position: Position) -> Any:
        """Decode the JSON value that starts at the next character, reading more text until it is whole."""
        self.next_char()
        while True:
            try:
                value, self.at = self.decoder.raw_decode(self.text, self.at)
                return value
            except json.JSONDecodeError as error:  # cut short by the end of the text read so far, or wrong
                cut_short = error.msg.startswith("Unterminated string") or len(self.text) - error.pos <= _CUT_SHORT
                if not (cut_short and self._more()):
                    raise InputError(f"not JSON: {error.msg}", source=self.source, line=position) from None


def _array_items(chunks: Iterable[str], source: str | Path) -> Iterator[Message]:
    reader = _ArrayReader(chunks, source)
    reader.expect("[", "a JSON array", "record 1")
    number = 0
    if reader.next_char() != "]":
        while True:
            number += 1
            yield f"record {number}", reader.value(f"record {number}")
            if reader.expect(",]", "',' or ']'", f"record {number}") == "]":
                break
    else:
        reader.expect("]", "']'", "record 1")
    if reader.next_char():
        raise InputError("text after the JSON array", source=source, line=f"record {number}")


# -- converting ------------------------------------------------------------------------


def flowcept_records(messages: Iterable[Message], source: str | Path) -> Iterator[tuple[Position, dict[str, Any]]]:
    """Yield ``(position, event record)`` for each message, checked against the event format.

    Messages of types provml cannot map are skipped and counted in one :class:`ProvmlWarning`, as are
    telemetry blocks that cannot be placed (a message with no ``hostname`` or no matching time).
    """
    skipped: Counter[str] = Counter()
    for position, message in messages:
        if not isinstance(message, dict):
            raise InputError(f"expected a JSON object, got {type(message).__name__}", source=source, line=position)
        try:
            records = event_records(message)
            for record in records or ():
                check_record(record)
        except EventError as error:
            raise EventError(error.message, source=source, line=position) from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # a shape Flowcept never writes
            raise EventError(f"message cannot be read: {error!r}", source=source, line=position) from None
        if records is None:
            skipped[f"{message_type(message)} messages"] += 1
        for record in records or ():
            skipped["telemetry blocks without a hostname or time"] += _unplaced_telemetry(record)
            yield position, record
    if skipped := +skipped:  # the kinds counted at least once
        counts = ", ".join(f"{count} {what}" for what, count in sorted(skipped.items()))
        warnings.warn(ProvmlWarning(f"{source}: skipped what provml cannot map: {counts}"), stacklevel=2)


def message_type(message: dict[str, Any]) -> str:
    """Return a message's type: its ``type``, or the one Flowcept's own database writer infers when it has none.

    >>> message_type({"workflow_id": "w", "task_id": "t"}), message_type({"workflow_id": "w", "name": "sweep"})
    ('task', 'workflow')
    """
    kind = message.get("type")
    if isinstance(kind, str):
        return kind
    if kind is not None:
        raise EventError(f"message type is {kind!r}, not a string")
    for field, inferred in _INFERRED_TYPES:
        if field in message:
            return inferred
    raise EventError("message without a type, task_id, agent_id, object_id or workflow_id")


def event_records(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Return the provml event records of one Flowcept message; None for a type provml cannot map.

    Fields set to null are dropped (Flowcept's loop writes ``"parent_task_id": null``); the fields of
    the event format keep their Flowcept names; other fields are kept and ignored by the mapping.
    """
    kind = message_type(message)
    if kind in _TRANSPORT_TYPES:
        return []
    fields = {name: value for name, value in message.items() if value is not None and name != "_id"}
    fields["type"] = kind
    converter = _CONVERTERS.get(kind)
    if converter is not None:
        return converter(fields)
    return [fields] if kind in record_types() else None


def _concepts(message: dict[str, Any]) -> dict[str, list[str]]:
    """Return ``{"domain_concepts": [...]}`` for a message whose ``custom_metadata`` names domain concepts, else ``{}``.

    >>> _concepts({"type": "task", "custom_metadata": {"domain_concepts": "https://geo.example/Well"}})
    {'domain_concepts': ['https://geo.example/Well']}
    """
    metadata = message.get("custom_metadata")
    value = metadata.get(_CONCEPTS) if isinstance(metadata, dict) else None
    if value is None:
        return {}
    return {_CONCEPTS: domain_concepts(value, f"{message['type']} message: custom_metadata.{_CONCEPTS}")}


def _task(message: dict[str, Any]) -> list[dict[str, Any]]:
    record = message | _concepts(message)
    if "group_id" in record:  # an iteration of a Flowcept loop
        record.setdefault("subtype", "iteration")
        used = record.get("used")
        if "task_id" not in record and isinstance(used, dict) and "i" in used:
            record["task_id"] = f"{record['group_id']}{used['i']}"
    if record.get("finished") is True:  # Flowcept's Dask adapter
        record.setdefault("status", "FINISHED")
    for field in ("used", "generated"):
        if field in record and not isinstance(record[field], dict):
            record[field] = {"arg_0": record[field]}  # as Flowcept names a value returned unnamed
    for field, _ in _TELEMETRY_TIMES:
        if isinstance(block := record.get(field), dict) and isinstance(block.get("gpu"), dict):
            record[field] = block | {"gpu": gpu_samples(block["gpu"])}
    return [record]


def gpu_samples(gpu: dict[str, Any]) -> list[dict[str, Any]]:
    """Return Flowcept's GPU telemetry (``{"gpu_0": {...}}``, NVIDIA or AMD) as the event format's GPU samples.

    >>> gpu_samples({"gpu_1": {"used": 2048, "activity": {"gfx_activity": 97}}, "gpu_x": {}})
    [{'index': 1, 'memory_used': 2048, 'utilization': 97}]
    """
    samples = []
    for key, values in gpu.items():
        index = values.get("gpu_ix") if isinstance(values, dict) else None
        if index is None and key.startswith("gpu_") and key[4:].isdigit():
            index = int(key[4:])
        if not isinstance(index, int) or not isinstance(values, dict):
            continue
        sample: dict[str, Any] = {"index": index}
        if isinstance(used := values.get("used"), int):
            sample["memory_used"] = used
        activity = values.get("activity")
        if isinstance(activity, dict) and isinstance(busy := activity.get("gfx_activity"), (int, float)):
            sample["utilization"] = busy
        samples.append(sample)
    return samples


def _unplaced_telemetry(record: dict[str, Any]) -> int:
    """Count the telemetry blocks of a task record that the mapping cannot place (no host, or no time)."""
    if record["type"] != "task":
        return 0
    blocks = [time_field for field, time_field in _TELEMETRY_TIMES if isinstance(record.get(field), dict)]
    return sum("hostname" not in record or time_field not in record for time_field in blocks)


def _workflow(message: dict[str, Any]) -> list[dict[str, Any]]:
    record = message | _concepts(message)
    if isinstance(repository := record.get("code_repository"), dict):
        record["code_repository"] = code_version(repository)
    records = [*_hosts(record.get("machine_info")), record]
    for field, role in (("used", "input"), ("generated", "output")):
        values = record.pop(field, None)
        for name, value in (values if isinstance(values, dict) else {}).items():
            workflow_id = record.get("workflow_id")
            records.append({"type": "data", "workflow_id": workflow_id, "name": name, "role": role, "value": value})
    return records


def code_version(repository: dict[str, Any]) -> dict[str, Any]:
    """Return Flowcept's ``code_repository`` (from git: sha, branch, remote, dirty) in the event format.

    >>> code_version({"sha": "9fceb02", "short_sha": "9fceb", "branch": "main", "remote": None, "dirty": "clean"})
    {'commit': '9fceb02', 'branch': 'main', 'dirty': False}
    """
    version = {"commit": repository.get("commit") or repository.get("sha")}
    version |= {field: repository[field] for field in ("branch", "remote") if repository.get(field) is not None}
    dirty = repository.get("dirty")
    version["dirty"] = dirty == "dirty" if isinstance(dirty, str) else bool(dirty)
    return version


def _hosts(machine_info: Any) -> list[dict[str, Any]]:
    """Return a host record for each machine Flowcept described (``machine_info``, by interceptor)."""
    hosts = []
    for info in (machine_info if isinstance(machine_info, dict) else {}).values():
        if not isinstance(info, dict) or not isinstance(info.get("hostname"), str):
            continue
        host: dict[str, Any] = {"type": "host", "hostname": info["hostname"]}
        cpu, platform = _object_field(info, "cpu"), _object_field(info, "platform")
        if isinstance(count := cpu.get("count"), int):
            host["cpu_count"] = count
        if isinstance(total := _object_field(_object_field(info, "memory"), "virtual").get("total"), int):
            host["memory_bytes"] = total
        if words := [str(platform[key]) for key in ("system", "release", "machine") if platform.get(key)]:
            host["platform"] = " ".join(words)
        hosts.append(host)
    return hosts


def _object_field(values: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the field ``name`` of ``values`` if it is a JSON object, else an empty one."""
    value = values.get(name)
    return value if isinstance(value, dict) else {}


def _agent(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": "software"} | message]  # Flowcept's agents are AI agents


def _object(message: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Return a model or dataset record for an object Flowcept stored (a model or a dataset), else None."""
    kind = _OBJECT_RECORDS.get(str(message.get("object_type")))
    if kind is None or "workflow_id" not in message or "object_id" not in message:
        return None
    record = {"type": kind, "workflow_id": message["workflow_id"], f"{kind}_id": message["object_id"]}
    record |= {"name": str(message["object_id"]), "version": str(message.get("version", 0))} | _concepts(message)
    if "task_id" in message:
        record |= {"task_id": message["task_id"], "role": "output"}
    return [record]


_CONVERTERS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]] | None]] = {
    "task": _task,
    "workflow": _workflow,
    "agent": _agent,
    "object": _object,
}
