"""Send captured events to a running ``provml serve`` (``POST /ingest``) in batches.

``http://host:port`` (``/ingest`` is added when no path is given); the token comes from
``$PROVML_TOKEN`` (or a ``token=`` query parameter, which is then kept out of messages).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx

from provml.capture.transports import BatchingTransport


class HttpTransport(BatchingTransport):
    """Batches of events POSTed as JSON lines to a provml ingest endpoint, with a bearer token."""

    def __init__(self, uri: str, *, token: str | None = None, timeout: float = 5.0, **options: Any) -> None:
        parsed = urlparse(uri)
        query = parse_qs(parsed.query)
        self.token = token or (query.pop("token", [None])[0]) or os.environ.get("PROVML_TOKEN")
        self.url = urlunparse(
            parsed._replace(path=parsed.path.rstrip("/") or "/ingest", query=urlencode(query, doseq=True))
        )
        self._timeout = timeout
        self._start_stream()
        super().__init__(**options)

    def _start_stream(self) -> None:
        self.stream = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}"
        self._client = httpx.Client(timeout=self._timeout)

    @property
    def destination(self) -> str:
        """The ingest URL (never with the token)."""
        return self.url

    def send(self, lines: list[bytes]) -> None:
        """POST one batch; a retry of the same batch keeps its number, so the server stores it once."""
        headers = {
            "Content-Type": "application/x-ndjson",
            "X-Provml-Stream": self.stream,
            "X-Provml-Batch": f"{self.batch_number:08d}",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._client.post(self.url, content=b"".join(lines), headers=headers).raise_for_status()

    def _after_fork(self) -> None:
        """A forked child is a new stream, with a client of its own."""
        self._start_stream()
        super()._after_fork()
