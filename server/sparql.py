"""``/sparql``: the SPARQL 1.1 Protocol — queries by GET, POST form or POST direct, updates by POST.

The default graph is the union of all graphs unless the query's ``FROM`` clauses or the parameters
``default-graph-uri`` / ``named-graph-uri`` name a dataset; the parameters replace the ``FROM`` clauses.
A GET without a query answers with the service description. Updates need the bearer token;
``using-graph-uri`` is not supported (400).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from rdflib import Graph
from starlette.concurrency import run_in_threadpool

from provml.errors import InputError
from provml.server import results
from provml.server.context import Context, HttpError, content_type, require_utf8
from provml.server.remote import refuse_remote
from provml.server.runner import Request as QueryRequest

router = APIRouter(tags=["SPARQL 1.1 Protocol"])
_FORM = "application/x-www-form-urlencoded"
_DATASET = ("default-graph-uri", "named-graph-uri")
_PARAMETERS = [
    {"name": "query", "in": "query", "schema": {"type": "string"}, "description": "A SPARQL 1.1 query."},
    *(
        {"name": name, "in": "query", "schema": {"type": "array", "items": {"type": "string"}}, "description": text}
        for name, text in (
            ("default-graph-uri", "Graphs merged into the default graph (instead of the union of all)."),
            ("named-graph-uri", "The graphs GRAPH may see."),
        )
    ),
    {"name": "format", "in": "query", "schema": {"type": "string"}, "description": "Result format; else Accept."},
    {
        "name": "entailed",
        "in": "query",
        "schema": {"type": "boolean", "default": True},
        "description": "false: leave out the entailment graph (what the linked ontologies entail).",
    },
]


@router.get("/sparql", openapi_extra={"parameters": _PARAMETERS}, summary="Query (or the service description)")
async def sparql_get(request: Request) -> Response:
    """Run ``query``; without one, describe the service (a browser is sent to the query editor)."""
    params = _multi(request.query_params.multi_items())
    if "update" in params:
        raise HttpError(405, "an update must be sent by POST", headers={"Allow": "POST"})
    if "query" not in params:
        if "text/html" in request.headers.get("accept", "") and "format" not in params:
            return RedirectResponse("/ui/sparql", 303)
        return _service_description(request, params)
    return await _query(request, _one(params, "query"), params)


@router.post("/sparql", openapi_extra={"parameters": _PARAMETERS}, summary="Query or update by POST")
async def sparql_post(request: Request) -> Response:
    """Run a query (form ``query=`` or ``application/sparql-query``) or an update (form ``update=`` or
    ``application/sparql-update``, with the bearer token)."""
    context: Context = request.app.state.provml
    media, charset = content_type(request.headers.get("content-type"))
    require_utf8(charset)
    body = await context.body(request)
    params = _multi(request.query_params.multi_items())
    if media == _FORM:
        form = _multi(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        for name, values in form.items():
            params.setdefault(name, []).extend(values)
        if ("query" in params) == ("update" in params):
            raise HttpError(400, "send exactly one of the form fields query= and update=")
        if "update" in params:
            return await _update(request, _one(params, "update"), params)
        return await _query(request, _one(params, "query"), params)
    if media == "application/sparql-query":
        return await _query(request, _decode(body), params)
    if media == "application/sparql-update":
        return await _update(request, _decode(body), params)
    raise HttpError(
        415,
        f"POST {media or 'without a content type'}: send {_FORM}, application/sparql-query "
        "or application/sparql-update",
    )


async def _query(request: Request, sparql: str, params: dict[str, list[str]]) -> Response:
    context: Context = request.app.state.provml
    if "query" in params and len(params["query"]) > 1:
        raise HttpError(400, "more than one query= parameter")
    refuse_remote(sparql, context.settings.allow_remote)
    dataset = {name: tuple(params.get(name, ())) for name in _DATASET}
    given = any(dataset.values())
    answer = await context.runner.answer(
        QueryRequest(
            sparql,
            accept=request.headers.get("accept"),
            format=",".join(params["format"]) if "format" in params else None,  # SPARQLWrapper sends two
            default_graphs=dataset["default-graph-uri"] if given else None,
            named_graphs=dataset["named-graph-uri"] if given else None,
            base_iri=context.base_iri(request),
            max_rows=context.settings.max_rows,
            entailed=_flag(params, "entailed"),
        ),
    )
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


async def _update(request: Request, sparql: str, params: dict[str, list[str]]) -> Response:
    context: Context = request.app.state.provml
    context.authorize(request)
    if any(name in params for name in ("using-graph-uri", "using-named-graph-uri")):
        raise HttpError(400, "using-graph-uri and using-named-graph-uri are not supported; write USING in the update")
    refuse_remote(sparql, context.settings.allow_remote)

    def update() -> None:
        with context.runner.write() as store:
            store.update(sparql, base_iri=context.base_iri(request))

    await run_in_threadpool(update)
    return Response(status_code=204)


def _service_description(request: Request, params: dict[str, list[str]]) -> Response:
    context: Context = request.app.state.provml
    endpoint = context.base_iri(request)
    formats = " , ".join(
        f"<http://www.w3.org/ns/formats/{name}>"
        for name in (
            "SPARQL_Results_JSON",
            "SPARQL_Results_XML",
            "SPARQL_Results_CSV",
            "SPARQL_Results_TSV",
            "Turtle",
            "N-Triples",
            "RDF_XML",
            "JSON-LD",
            "TriG",
            "N-Quads",
        )
    )
    turtle = f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
<{endpoint}#service> a sd:Service ;
  sd:endpoint <{endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query, sd:SPARQL11Update ;
  sd:feature sd:UnionDefaultGraph ;
  sd:resultFormat {formats} ;
  sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] .
"""
    requested = ",".join(params["format"]) if "format" in params else None
    format = results.choose_format("graph", request.headers.get("accept"), requested)
    rdflib_format = {"ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld", "nquads": "nquads"}.get(format, format)
    body = Graph().parse(data=turtle, format="turtle").serialize(format=rdflib_format, encoding="utf-8")
    return Response(body, media_type=results.media_type(format), headers={"Vary": "Accept"})


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    return params


def _flag(params: dict[str, list[str]], name: str) -> bool:
    """A boolean parameter, true when absent."""
    value = _one(params, name).lower() if name in params else "true"
    if value not in ("true", "false", "1", "0"):
        raise HttpError(400, f"{name}= must be true or false")
    return value in ("true", "1")


def _one(params: dict[str, list[str]], name: str) -> str:
    if len(params[name]) != 1:
        raise HttpError(400, f"more than one {name}= parameter")
    return params[name][0]


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"the request body is not valid UTF-8: {error}") from None
