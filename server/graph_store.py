"""``/graphs``: the SPARQL 1.1 Graph Store HTTP Protocol, graphs named by ``?graph=IRI`` or ``?default``.

* ``GET`` (and ``HEAD``) answer a graph in any RDF syntax, chosen by ``Accept`` or ``format=``; 404 if
  there is no such graph. ``GET /graphs`` alone lists the named graphs as JSON (not in the protocol).
* ``PUT`` replaces a graph's triples, ``POST`` adds to them (one RDF document, or ``multipart/form-data``
  with one per part), ``DELETE`` removes the graph: 201 when a graph was made, else 204. ``POST /graphs``
  with neither parameter makes a new graph, ``<base>graph/gsp/<uuid>``, named in ``Location``.

Bodies come in Turtle, N-Triples, RDF/XML or JSON-LD, or TriG / N-Quads that hold a default graph only,
named by ``Content-Type`` (else 415); one that does not parse is refused whole (400). Relative IRIs
resolve against the graph's IRI, and every write makes new blank nodes. Writes need the bearer token,
run one at a time under the server's write lock, and the next query sees them. Reads are queries, run by
the query workers over the last published snapshot, within the time and triple limits of the server.

What the default graph is, and which graphs may be written:

* The default graph is what provml's queries see as theirs: the union of all graphs. ``GET ?default``
  answers its triples; writes to it are refused (405): a union has no graph of its own to change.
* The catalog must stay true, so the graphs it describes change only through loads: the names under
  ``<base>graph/`` (the catalog, the shared graph, dumps' graphs) are provml's and are not written here
  (403), but for ``<base>graph/gsp/``; the named graphs a dump brought with it (TriG graphs, PROV
  bundles) are its own, and writes to them conflict with it (409). A dump changes as a whole, by being
  reloaded (``provml load``, ``POST /ingest``), which records its new source and digest. ``DELETE`` of a
  dump's graph drops the dump, its other graphs and its catalog entry, like ``provml drop``.
* Graphs written here are not dumps: they are not in the catalog and not checked with the shapes (like
  SPARQL Update's); send provenance to ``/ingest`` for both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from typing import TypeVar

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from provml.errors import LimitError, QueryTimeout
from provml.server import results
from provml.server.context import Context, HttpError, require_utf8
from provml.server.context import content_type as parse_content_type
from provml.server.runner import Answer
from provml.server.runner import Request as QueryRequest
from provml.store import RdfInput, Store, check_iri
from provml.vocab import PROVML

router = APIRouter(tags=["Graph Store Protocol"])
SYNTAXES = {  # the media types of request bodies, and the RDF format of each
    **{media: name for name, media in results.GRAPH_TYPES.items()},
    **{media: name for media, name in results.ALIASES.items() if name in results.GRAPH_TYPES},
}
_MULTIPART = "multipart/form-data"
_T = TypeVar("_T")
_GRAPH = {"name": "graph", "in": "query", "schema": {"type": "string"}, "description": "The IRI of a named graph."}
_DEFAULT = {
    "name": "default",
    "in": "query",
    "allowEmptyValue": True,
    "schema": {"type": "string"},
    "description": "The default graph: the union of all graphs (read only).",
}
_FORMAT = {"name": "format", "in": "query", "schema": {"type": "string"}, "description": "RDF syntax; else Accept."}
_BODY = {"requestBody": {"content": {media: {} for media in results.GRAPH_TYPES.values()}}}
_BODIES = {"requestBody": {"content": {**_BODY["requestBody"]["content"], _MULTIPART: {}}}}


@router.get(
    "/graphs",
    summary="A graph in any RDF syntax (or, without parameters, the list of named graphs)",
    openapi_extra={"parameters": [_GRAPH, _DEFAULT, _FORMAT]},
)
async def get_graph(request: Request) -> Response:
    """Answer the graph ``graph=`` names, or the default graph (``default``); without either, list the graphs."""
    return await _read(request)


@router.head(
    "/graphs",
    summary="The status and headers GET would answer, without the graph",
    openapi_extra={"parameters": [_GRAPH, _DEFAULT, _FORMAT]},
)
async def head_graph(request: Request) -> Response:
    """Say whether the graph ``graph=`` names exists (200 or 404), and in which syntax GET would answer it."""
    return await _read(request)


async def _read(request: Request) -> Response:
    context: Context = request.app.state.provml
    graph, default = _target(request)
    if graph is None and not default:
        return await _list(request, context)
    format = results.choose_format("graph", request.headers.get("accept"), request.query_params.get("format"))
    if graph is not None and not await _exists(context, graph):
        raise HttpError(404, f"there is no graph <{graph}> (GET /graphs lists them)")
    headers = {"Vary": "Accept"}
    if request.method == "HEAD":
        return Response(media_type=results.media_type(format), headers=headers)
    try:
        answer = await _run(
            context,
            QueryRequest(
                "CONSTRUCT WHERE { ?s ?p ?o }",
                format=format,
                default_graphs=(graph,) if graph is not None else None,
                max_rows=context.settings.max_rows,
            ),
        )
    except LimitError as error:
        if isinstance(error, QueryTimeout):
            raise
        raise LimitError(
            f"the graph has more than {context.settings.max_rows:,} triples, the server's limit for one answer; "
            "read it in pages with a query (LIMIT, OFFSET) on /sparql, or with `provml export`"
        ) from None
    return Response(answer.body, media_type=answer.media_type, headers=headers)


@router.put(
    "/graphs", summary="Replace a graph's triples (bearer token)", openapi_extra={"parameters": [_GRAPH], **_BODY}
)
async def put_graph(request: Request) -> Response:
    """Replace the triples of the graph ``graph=`` names with the body's: 201 if the graph is new, else 204."""
    context: Context = request.app.state.provml
    context.authorize(request)
    graph = _writable(request, context)
    syntax = _syntax(request.headers.get("content-type"), multipart=False)
    body = await context.body(request)
    created = await _write(context, lambda store: store.replace_graph(graph, [("body", body, syntax)], base_iri=graph))
    return _written(graph, created)


@router.post(
    "/graphs",
    summary="Add triples to a graph, or make a new graph (bearer token)",
    openapi_extra={"parameters": [_GRAPH], **_BODIES},
)
async def post_graph(request: Request) -> Response:
    """Add the body's triples to the graph ``graph=`` names (201 if it is new, else 204); without ``graph=``,
    put them in a new graph: 201, its IRI in ``Location``."""
    context: Context = request.app.state.provml
    context.authorize(request)
    named = request.query_params.get("graph") is not None or "default" in request.query_params
    graph = _writable(request, context) if named else f"{context.store.ids.base}graph/gsp/{uuid.uuid4()}"
    content_type = request.headers.get("content-type")
    syntax = _syntax(content_type, multipart=True)
    body = await context.body(request)
    documents = _parts(content_type or "", body) if syntax == _MULTIPART else [("body", body, syntax)]
    created = await _write(context, lambda store: store.add_to_graph(graph, documents, base_iri=graph))
    if not named:
        return JSONResponse({"graph": graph}, 201, headers={"Location": graph})
    return _written(graph, created)


@router.delete(
    "/graphs",
    summary="Remove a graph; a dump's graph drops the dump (bearer token)",
    openapi_extra={"parameters": [_GRAPH]},
)
async def delete_graph(request: Request) -> Response:
    """Remove the graph ``graph=`` names (204), or drop the dump whose graph it is; 404 if there is none."""
    context: Context = request.app.state.provml
    context.authorize(request)
    graph = _writable(request, context, dumps=True)

    def delete(store: Store) -> bool:
        if store.dump(graph) is not None:
            store.drop(graph)
            return True
        if _reserved(graph, store):
            raise _refusal(graph)
        return store.remove_graph(graph)

    if not await _write(context, delete):
        raise HttpError(404, f"there is no graph <{graph}> (GET /graphs lists them)")
    return Response(status_code=204)


def _target(request: Request) -> tuple[str | None, bool]:
    """Return the graph IRI the request names, and whether it names the default graph."""
    graphs = request.query_params.getlist("graph")
    default = "default" in request.query_params
    if len(graphs) > 1 or (graphs and default):
        raise HttpError(400, "name one graph: one graph=IRI, or default")
    return (check_iri(graphs[0]) if graphs else None), default


def _writable(request: Request, context: Context, *, dumps: bool = False) -> str:
    """Return the graph a write names: 400 without one, 405 for the default graph, 403 for provml's graphs
    (but a dump's graph when ``dumps``: whether it is one is known only under the write lock)."""
    graph, default = _target(request)
    if default:
        raise HttpError(
            405,
            "the default graph is the union of all graphs and cannot be written; name a graph with graph=IRI",
            headers={"Allow": "GET, HEAD"},
        )
    if graph is None:
        raise HttpError(400, f"name the graph to {request.method}: graph=IRI")
    if _reserved(graph, context.store) and not dumps:
        raise _refusal(graph)
    return graph


def _reserved(graph: str, store: Store) -> bool:
    """Return whether ``graph`` is named in provml's own namespace of graphs (where GSP graphs are not)."""
    own = f"{store.ids.base}graph/"
    return graph.startswith(own) and not graph.startswith(f"{own}gsp/")


def _refusal(graph: str) -> HttpError:
    return HttpError(
        403,
        f"<{graph}> is in provml's own namespace of graphs (the catalog, the shared graph, dumps), which only "
        "loads change: load dumps with `provml load` or POST /ingest, or write a graph named elsewhere",
    )


def _syntax(content_type: str | None, *, multipart: bool) -> str:
    """Return the RDF format of a body of ``content_type`` (or ``multipart/form-data``); 415 if none fits."""
    media, charset = parse_content_type(content_type)
    if multipart and media == _MULTIPART:
        return media
    require_utf8(charset)
    if media not in SYNTAXES:
        offered = ", ".join([*results.GRAPH_TYPES.values(), *([_MULTIPART] if multipart else [])])
        raise HttpError(415, f"cannot read a body of {media or 'no content type'}: send one of {offered}")
    return SYNTAXES[media]


def _parts(content_type: str, body: bytes) -> list[RdfInput]:
    """Return the RDF documents of a ``multipart/form-data`` body, one a part, each with its own content type."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if not parts:
        raise HttpError(400, "the multipart/form-data body has no parts (or no boundary)")
    documents = []
    for number, part in enumerate(parts, 1):
        name = f"part {part.get_filename() or part.get_param('name', header='content-disposition') or number}"
        if part.get("content-type") is None:
            raise HttpError(415, f"{name} of the body has no Content-Type: give each part the syntax of its RDF")
        documents.append((name, part.get_payload(decode=True) or b"", _syntax(part["content-type"], multipart=False)))
    return documents


async def _write(context: Context, change: Callable[[Store], _T]) -> _T:
    """Run ``change`` on the store under the write lock, in a thread; the next queries see what it did."""

    def write() -> _T:
        with context.runner.write() as store:
            return change(store)

    return await run_in_threadpool(write)


def _written(graph: str, created: bool) -> Response:
    return JSONResponse({"graph": graph}, 201) if created else Response(status_code=204)


async def _run(context: Context, query: QueryRequest) -> Answer:
    return await context.runner.answer(query)


async def _exists(context: Context, graph: str) -> bool:
    answer = await _run(context, QueryRequest(f"ASK {{ GRAPH <{graph}> {{ }} }}", format="json"))
    return bool(orjson.loads(answer.body)["boolean"])


async def _list(request: Request, context: Context) -> Response:
    """List the named graphs, each with the dump it belongs to, if any."""
    sparql = f"""SELECT ?graph ?dump WHERE {{
        GRAPH ?graph {{ }}
        OPTIONAL {{ GRAPH <{context.store.ids.catalog_graph}> {{
            {{ ?graph a <{PROVML.Dump}> BIND(?graph AS ?dump) }} UNION {{ ?dump <{PROVML.hasGraph}> ?graph }} }} }}
    }} ORDER BY ?graph"""
    answer = await _run(context, QueryRequest(sparql, format="json", max_rows=context.settings.max_rows))
    rows = orjson.loads(answer.body)["results"]["bindings"]
    graphs = [{"graph": row["graph"]["value"], "dump": row.get("dump", {}).get("value")} for row in rows]
    if request.method == "HEAD":
        return Response(media_type="application/json")
    return JSONResponse({"graphs": graphs})
