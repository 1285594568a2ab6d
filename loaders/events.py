"""Loader of the provml event format v1 (JSON lines), as written by the capture client."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from provml.errors import EventError
from provml.events import read_events, record_types
from provml.ids import IriMinter
from provml.loaders._base import Loader, ProgressCallback, Source
from provml.mapping import EventMapper
from provml.rdf import Quad

_REPORT_EVERY = 1 << 20  # bytes between two progress reports


class EventsLoader(Loader):
    """Read provml events (``.jsonl``, ``.ndjson``, optionally gzipped) into PROV-ML."""

    name = "events"
    description = "provml event format v1: JSON lines of workflow, task, param, metric, dataset... records"
    extensions = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")

    def sniff(self, path: Path) -> bool:
        """Return True if the first non-blank line is a JSON object of a known record type."""
        try:
            for _, record in read_events(path):
                return record.get("type") in record_types()
        except EventError:
            return False
        return False

    def read(
        self, source: Source, ids: IriMinter, graph: str, *, on_bytes: ProgressCallback | None = None
    ) -> Iterator[Quad]:
        """Yield the quads of every event in a file; a bad record raises an error naming its line."""
        path = Path(source)
        return event_quads(read_events(path, on_bytes=on_bytes, report_every=_REPORT_EVERY), path, ids, graph)


def event_quads(
    records: Iterable[tuple[int | str, dict[str, Any]]], source: str | Path, ids: IriMinter, graph: str
) -> Iterator[Quad]:
    """Yield the quads of checked ``(position, record)`` pairs: line numbers, as
    :func:`provml.events.read_lines` gives them, or message ids of a stream.

    A record that cannot be mapped raises :class:`EventError` naming ``source:position``.
    """
    mapper = EventMapper(ids, graph)
    for line, record in records:
        try:
            yield from mapper.map(record)
        except EventError as error:
            raise EventError(error.message, source=source, line=line) from None
        except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONEncodeError) as error:
            message = f"{record['type']} record cannot be mapped: {error!r}"
            raise EventError(message, source=source, line=line) from None
    yield from mapper.finish()
