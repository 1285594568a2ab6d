"""The provml HTTP service: ``create_app(store, token=...)``.

* ``GET /health``: liveness and the number of loaded dumps.
* ``POST /ingest``: events as JSON lines (the capture client's HTTP transport sends them), loaded
  atomically as one dump per request. Needs ``Authorization: Bearer <token>``; without a token
  configured the service is read-only and refuses every write.

Each request names its dump with ``X-Provml-Stream`` (the sending process) and ``X-Provml-Batch``
(its sequence number), so a batch sent twice (a retry after a lost answer) is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from provml.errors import ProvmlError, ValidationError
from provml.events import read_lines
from provml.ids import segment
from provml.loaders.events import event_quads
from provml.store import Dump, LoadCheck, Store

MAX_BODY_BYTES = 64 << 20


def create_app(
    store: Store, *, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES, check: LoadCheck | None = None
) -> FastAPI:
    """Return the FastAPI application serving ``store``; writes need ``token`` (none: read-only).
    ``check`` validates each ingested batch before it is stored; a batch it refuses gets a 422."""
    writing = threading.Lock()  # one load at a time: the store's batches are not shared between threads

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="provml", summary="Provenance of ML workflows as a PROV-ML knowledge graph", lifespan=lifespan)

    def refuse(request: Request) -> JSONResponse | None:
        """Return the answer to a write without the right token, or None if it may proceed."""
        if token is None:
            return JSONResponse({"error": "read-only: start provml serve with --token to accept writes"}, 403)
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer "):
            return JSONResponse({"error": "missing bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given[len("Bearer ") :].encode(), token.encode()):
            return JSONResponse({"error": "wrong token"}, 403)
        return None

    @app.get("/health")
    def health() -> dict[str, object]:
        """Say the service is up, with the number of loaded dumps."""
        return {"status": "ok", "dumps": len(store.dumps())}

    @app.post("/ingest")
    async def ingest(request: Request) -> JSONResponse:
        """Load a batch of events (JSON lines) as one dump; 422 names the bad line."""
        if (refusal := refuse(request)) is not None:
            return refusal
        if int(request.headers.get("content-length") or 0) > max_body_bytes:
            return JSONResponse({"error": f"request body over {max_body_bytes} bytes"}, 413)
        body = await request.body()
        if len(body) > max_body_bytes:
            return JSONResponse({"error": f"request body over {max_body_bytes} bytes"}, 413)
        stream = request.headers.get("x-provml-stream") or uuid.uuid4().hex
        batch = request.headers.get("x-provml-batch") or uuid.uuid4().hex
        graph = f"{store.ids.base}graph/ingest/{segment(stream)}/{segment(batch)}"
        source = f"ingest:{stream}/{batch}"
        quads = event_quads(read_lines(body.splitlines(keepends=True), source), source, store.ids, graph)
        dump = Dump(graph, quads, source, "events", hashlib.sha256(body).hexdigest())

        def load() -> object:
            with writing:
                ((_, outcome),) = list(store.load_many([dump], check=check))
            return outcome

        result = await run_in_threadpool(load)
        if isinstance(result, ValidationError):
            return JSONResponse({"error": str(result), "report": result.report.as_json()}, 422)
        if isinstance(result, ProvmlError):
            return JSONResponse({"error": str(result)}, 422)
        status = "unchanged" if result.skipped else "loaded"
        return JSONResponse({"graph": result.graph, "triples": result.triples, "status": status})

    return app
