"""What every route of the server shares: its settings, the store, the query runner and the token check."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import Request

from provml.errors import ProvmlError
from provml.linking import LOADER as LINKED
from provml.server.runner import ANSWER_CACHE, QueryRunner, RemoteRunner
from provml.store import LoadCheck, Store

_HOST = re.compile(r"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")  # what the base IRI's host may be


@dataclass(frozen=True)
class Settings:
    """The server's limits and access rules; every default is the safe one."""

    token: str | None = None  # the bearer token that writes need; None: read-only
    query_timeout: float = 30.0  # seconds a query may run before it is stopped
    max_rows: int = 100_000  # rows (or triples) of one answer
    max_body_bytes: int = 64 << 20  # bytes of one request body
    workers: int = 2  # processes that run queries
    answer_cache_bytes: int = ANSWER_CACHE  # bytes of answers kept for the same query on the same snapshot; 0: none
    allow_remote: tuple[str, ...] = ()  # endpoints SERVICE and LOAD may reach (scheme://host:port/path)
    check: LoadCheck | None = field(default=None, compare=False)  # validates each ingested dump


class HttpError(ProvmlError):
    """An error the server answers with ``status`` (and ``headers``)."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, dict(headers or {})


class Context:
    """The state of one running app: ``request.app.state.provml``."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self.runner: QueryRunner | RemoteRunner
        if store.remote:
            self.runner = RemoteRunner(store, timeout=settings.query_timeout)
        else:
            self.runner = QueryRunner(
                store,
                workers=settings.workers,
                timeout=settings.query_timeout,
                cache_bytes=settings.answer_cache_bytes,
            )
        self._counts = (-1, 0, 0)  # the snapshot generation the counts were taken at, the dumps, the ontologies

    def catalog_counts(self) -> tuple[int, int]:
        """Return the numbers of loaded dumps and of linked ontologies, counted again only after a write."""
        generation = self.runner.generation
        if self._counts[0] != generation:
            loaders = [dump.loader for dump in self.store.dumps()]
            ontologies = loaders.count(LINKED)
            self._counts = (generation, len(loaders) - ontologies, ontologies)
        return self._counts[1:]

    def authorize(self, request: Request) -> None:
        """Raise an :class:`HttpError` unless the request carries the bearer token (compared in constant time)."""
        if self.settings.token is None:
            raise HttpError(403, "read-only: start provml serve with a token (--token or PROVML_TOKEN) to allow writes")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            challenge = {"WWW-Authenticate": "Bearer"}
            raise HttpError(401, "this write needs Authorization: Bearer <token>", headers=challenge)
        if not hmac.compare_digest(given.strip().encode(), self.settings.token.encode()):
            raise HttpError(403, "wrong token")

    async def body(self, request: Request) -> bytes:
        """Return the request body, or raise 413 once it passes the size limit (without reading the rest)."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HttpError(413, f"the request body is over the limit of {limit:,} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"the request body is over the limit of {limit:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def base_iri(request: Request) -> str:
        """The base IRI of relative IRIs in queries and updates: the endpoint's own URL."""
        if not _HOST.fullmatch(request.url.netloc):
            raise HttpError(400, "the Host header is not a host name or address (and port)")
        return str(request.url.replace(query=None, fragment=None))

    def close(self) -> None:
        """Stop the query workers and release the store."""
        self.runner.close()
        self.store.close()


def content_type(header: str | None) -> tuple[str, str | None]:
    """Return the media type of a ``Content-Type`` header (lower case) and its charset, if it names one."""
    media, *params = (part.strip() for part in (header or "").split(";"))
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.lower(), charset


def require_utf8(charset: str | None) -> None:
    """Raise a 415 unless the body is UTF-8 (or says nothing of its charset)."""
    if charset not in (None, "utf-8", "utf8"):
        raise HttpError(415, f"charset {charset} is not supported: send UTF-8")
