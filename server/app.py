"""The provml HTTP service: ``create_app(store, Settings(...))``.

* ``/sparql``: the SPARQL 1.1 Protocol (:mod:`provml.server.sparql`); ``/graphs``: the Graph Store
  Protocol; ``/queries``: the canned queries; ``/ingest``: loads; ``/``: the web UI.
* ``GET /health``: liveness, the number of loaded dumps and of queries stopped for time.

Reads are open to all; writes need the bearer token of :class:`Settings`, and without one the service
is read-only. Every error is answered as ``{"error": message}`` with a fitting status, never a traceback;
each request is logged as one JSON line on the ``provml.access`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from provml import __version__
from provml.errors import (
    InputError,
    LimitError,
    NotAcceptable,
    ProvmlError,
    QueryError,
    QueryTimeout,
    RemoteAccessError,
    StoreError,
)
from provml.server import canned_api, graph_store, ingest, sparql, ui
from provml.server.access_log import AccessLog
from provml.server.context import Context, HttpError, Settings
from provml.store import Store

_STATUS: list[tuple[type[ProvmlError], int]] = [  # most specific first
    (QueryTimeout, 503),
    (LimitError, 400),
    (RemoteAccessError, 403),
    (NotAcceptable, 406),
    (QueryError, 400),
    (InputError, 400),
    (StoreError, 409),
    (ProvmlError, 400),
]
_log = logging.getLogger("provml.server")


def create_app(store: Store, settings: Settings | None = None) -> FastAPI:
    """Return the FastAPI application serving ``store`` (on disk) under ``settings``."""
    context = Context(store, settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title="provml",
        version=__version__,
        summary="Provenance of ML workflows as a PROV-ML knowledge graph: SPARQL, canned queries, ingest",
        lifespan=lifespan,
    )
    app.state.provml = context
    app.add_middleware(AccessLog)

    @app.exception_handler(ProvmlError)
    async def provml_error(_: Request, error: ProvmlError) -> JSONResponse:
        if isinstance(error, HttpError):
            return JSONResponse({"error": error.message}, error.status, headers=error.headers)
        status = next(code for kind, code in _STATUS if isinstance(error, kind))
        return JSONResponse({"error": str(error)}, status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:  # 404, 405 of routing
        message = str(error.detail)
        if error.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path} (/docs lists the routes)"
        return JSONResponse({"error": message}, error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse({"error": f"invalid request: {problems}"}, 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        _log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse({"error": "internal error; the server log has the details"}, 500)

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, object]:
        """Say the service is up, with the numbers of loaded dumps, of linked ontologies and of queries stopped
        for time."""
        dumps, ontologies = context.catalog_counts()
        return {"status": "ok", "dumps": dumps, "ontologies": ontologies, "timeouts": context.runner.timeouts}

    app.include_router(sparql.router)
    app.include_router(canned_api.router(context))
    app.include_router(ingest.router)
    app.include_router(graph_store.router)
    app.include_router(ui.router)
    return app
