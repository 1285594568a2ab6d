"""The HTTP apps of the endpoint benchmark, for ``python -m uvicorn endpoint_apps:NAME --factory``.

PROVML_BENCH_STORE=STORE   python -m uvicorn endpoint_apps:provml_app --factory ...  # provml serve's app + /noop
                                                                                    # and /in-process
PROVML_BENCH_NQUADS=FILE   python -m uvicorn endpoint_apps:rdflib_app --factory ...  # rdflib-endpoint
"""

from __future__ import annotations

import logging
import os
import sys

from fastapi import FastAPI, Request, Response

from provml.server import Settings, create_app, results
from provml.store import Store


def provml_app() -> FastAPI:
    """The app ``provml serve`` runs on the store ``$PROVML_BENCH_STORE``, plus ``GET /noop``: a constant JSON."""
    store = Store(os.environ["PROVML_BENCH_STORE"])
    app = create_app(store, Settings())
    logger = logging.getLogger("provml")  # as provml serve: the access log, one line a request, on stderr
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler(sys.stderr))

    @app.get("/noop")
    async def noop() -> dict[str, str]:
        """Answer without doing anything: the framework's cost of a request."""
        return {"status": "ok"}

    @app.get("/in-process")
    async def in_process(request: Request) -> Response:
        """A query run in the server process itself, as if there were no query workers: a reference
        for what they cost (no time limit, no snapshot: not a route of provml serve)."""
        answer = results.write(store.query(request.query_params["query"]), "json", Settings().max_rows)
        return Response(answer, media_type=results.media_type("json"))

    return app


def rdflib_app() -> FastAPI:
    """rdflib-endpoint serving ``$PROVML_BENCH_NQUADS`` as ``Dataset(default_union=True)`` on ``/sparql``."""
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    dataset = Dataset(default_union=True)
    dataset.parse(os.environ["PROVML_BENCH_NQUADS"], format="nquads")
    return SparqlEndpoint(graph=dataset, path="/sparql", cors_enabled=False)
