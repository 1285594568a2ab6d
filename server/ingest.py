"""``POST /ingest``: load one request body as one dump, atomically, validated with the shapes.

The body is event lines (what the capture client's HTTP transport sends) or a file of any loader's
format, named by ``?format=`` (``provml formats``) or recognised from ``Content-Type`` and its content.
Each request names its dump with ``X-Provml-Stream`` (the sending process) and ``X-Provml-Batch`` (its
sequence number), so a batch sent twice (a retry after a lost answer) is stored once.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from provml import loaders
from provml.errors import InputError, ProvmlError, ValidationError
from provml.ids import segment
from provml.server.context import Context
from provml.store import Dump

router = APIRouter(tags=["ingest"])
SUFFIXES = {  # the file-name ending that tells a loader the syntax of a body of this media type
    "text/turtle": ".ttl",
    "application/trig": ".trig",
    "application/n-triples": ".nt",
    "application/n-quads": ".nq",
    "application/rdf+xml": ".rdf",
    "application/ld+json": ".jsonld",
    "text/provenance-notation": ".provn",
    "application/provenance+xml": ".provx",
    "application/x-ipynb+json": ".ipynb",
    "application/json": ".json",
}


@router.post(
    "/ingest",
    summary="Load a batch of events or a file of any loader's format as one dump (bearer token)",
    openapi_extra={
        "parameters": [
            {
                "name": "format",
                "in": "query",
                "schema": {"type": "string"},
                "description": "The loader (`provml formats`): events, flowcept, prov, rdf, notebook, yprov4ml. "
                "Without it, the format is recognised from Content-Type and the content.",
            },
            {
                "name": "X-Provml-Stream",
                "in": "header",
                "schema": {"type": "string"},
                "description": "The sender; with X-Provml-Batch it names the dump: a resent batch is stored once.",
            },
            {
                "name": "X-Provml-Batch",
                "in": "header",
                "schema": {"type": "string"},
                "description": "The batch's sequence number in its stream.",
            },
        ],
        "requestBody": {"content": {"application/x-ndjson": {}, **{media: {} for media in SUFFIXES}}},
    },
)
async def ingest(request: Request) -> JSONResponse:
    """Load the body as one dump: 200 with its graph and triple count, or 422 with the validation report."""
    context: Context = request.app.state.provml
    context.authorize(request)
    body = await context.body(request)
    stream = request.headers.get("x-provml-stream") or uuid.uuid4().hex
    batch = request.headers.get("x-provml-batch") or uuid.uuid4().hex
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    chosen = request.query_params.get("format")

    def load() -> object:
        with tempfile.TemporaryDirectory(prefix="provml-ingest-") as folder:
            path = Path(folder) / f"body{_suffix(chosen, media)}"
            path.write_bytes(body)
            try:
                loader = loaders.get(chosen) if chosen else _detect(path)
                if loader.directories or loader.schemes:
                    raise InputError(f"the {loader.name} loader reads directories or servers: use `provml load`")
                graph = f"{context.store.ids.base}graph/ingest/{segment(stream)}/{segment(batch)}"
                content = loader.read(path, context.store.ids, graph)
                dump = Dump(graph, content, f"ingest:{stream}/{batch}", loader.name, hashlib.sha256(body).hexdigest())
                with context.runner.write(loads_only=True) as store:
                    ((_, outcome),) = list(store.load_many([dump], check=context.settings.check))
            except ProvmlError as error:
                outcome = error
            if isinstance(outcome, ProvmlError) and outcome.source == str(path):
                outcome.source = "body"  # the client's body, not the server's temporary file
            return outcome

    result = await run_in_threadpool(load)
    if isinstance(result, ValidationError):
        return JSONResponse({"error": str(result), "report": result.report.as_json()}, 422)
    if isinstance(result, ProvmlError):
        return JSONResponse({"error": str(result)}, 422)
    status = "unchanged" if result.skipped else "loaded"
    return JSONResponse({"graph": result.graph, "triples": result.triples, "status": status})


def _suffix(chosen: str | None, media: str) -> str:
    """The file-name ending for the body: from its media type, else the chosen loader's first one."""
    if media in SUFFIXES and (chosen is None or SUFFIXES[media] in loaders.get(chosen).extensions):
        return SUFFIXES[media]
    if chosen is not None:
        return next(iter(loaders.get(chosen).extensions), "")
    return ".jsonl"


def _detect(path: Path) -> loaders.Loader:
    """The loader that recognises the body, or an error that says how to name it over HTTP."""
    try:
        return loaders.detect(path)
    except InputError:
        known = ", ".join(loader.name for loader in loaders.available())
        raise InputError(f"cannot tell the format of the body; name it with ?format= ({known})") from None
