"""Capture to a Redis stream: ``redis://host:port/db?stream=NAME`` (``rediss://`` for TLS).

Each event is one stream message: the field ``event`` holds its JSON line, ``source`` the host
and process that sent it. A batch is appended with one MULTI/EXEC pipeline, so it is in the
stream whole or not at all. The stream is never trimmed here: ``provml consume`` acknowledges
what it stored, and nothing may go before that.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from provml.capture.transports import BatchingTransport
from provml.errors import ProvmlError

DEFAULT_STREAM = "provml:events"
TIMEOUT_SECONDS = 2.0  # to connect and for each answer: a dead server means retries then the spill file, not a hang
SCHEMES = ("redis", "rediss")


def redacted(uri: str) -> str:
    """Return ``uri`` without its password, for messages and the catalog."""
    parsed = urlparse(uri)
    if parsed.password is None:
        return uri
    user = f"{parsed.username}@" if parsed.username else ""
    return urlunparse(parsed._replace(netloc=user + parsed.netloc.rpartition("@")[2]))


def parse(uri: str) -> tuple[str, str]:
    """Return the server URL (as redis-py reads it) and the stream name of a Redis stream URI."""
    parsed = urlparse(uri)
    if parsed.scheme not in SCHEMES:
        raise ProvmlError(f"not a Redis stream URI: {redacted(uri)!r}; expected redis://host:port/db?stream=NAME")
    query = parse_qsl(parsed.query, keep_blank_values=True)
    stream = next((value for key, value in query if key == "stream"), "") or DEFAULT_STREAM
    rest = urlencode([(key, value) for key, value in query if key != "stream"])
    return urlunparse(parsed._replace(query=rest)), stream


def redis_module() -> Any:
    """Return the ``redis`` package, or raise a :class:`ProvmlError` saying how to install it."""
    try:
        import redis
    except ImportError:
        raise ProvmlError('install "provml[redis]" to capture to or consume from Redis') from None
    return redis


def connect(uri: str, *, timeout: float = TIMEOUT_SECONDS) -> tuple[Any, str]:
    """Return a client of the server named by ``uri`` (it connects when first used) and the stream name."""
    redis = redis_module()
    url, stream = parse(uri)
    no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)  # callers retry on their own terms
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retry)
    return client, stream


class RedisTransport(BatchingTransport):
    """Append this process's events to a Redis stream, in batches from a background thread."""

    def __init__(self, uri: str, *, batch_size: int = 1000, interval: float = 1.0, retries: int = 4) -> None:
        self._client, self.stream = connect(uri)
        self._destination = redacted(uri)
        super().__init__(batch_size=batch_size, interval=interval, retries=retries)

    @property
    def destination(self) -> str:
        """The stream's URI, without its password."""
        return self._destination

    def send(self, lines: list[bytes]) -> None:
        """XADD each line to the stream, all in one MULTI/EXEC pipeline; raise on failure."""
        source = f"{socket.gethostname()}-{os.getpid()}"
        pipe = self._client.pipeline(transaction=True)
        for line in lines:
            pipe.xadd(self.stream, {"event": line, "source": source})
        pipe.execute()
