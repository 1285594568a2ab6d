"""``/queries``: the canned queries — the list with taxonomy tags, and one documented route per query.

Each query gets its own route, ``GET /queries/{name}``, whose OpenAPI entry carries the query's
summary, description, tags and parameters, so that ``/docs`` documents every question the server
answers. Answers come in the SPARQL results formats, like ``/sparql``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from provml.canned import CannedQuery, Library, shipped
from provml.errors import QueryError
from provml.server.context import Context, HttpError
from provml.server.runner import Request as QueryRequest

_TAG = "canned queries"
_RESERVED = {"format"}  # a query parameter of the route that is not a parameter of the query


def router(context: Context, library: Library | None = None) -> APIRouter:
    """Return the routes of ``library`` (the shipped queries by default)."""
    library = library or shipped()
    routes = APIRouter(tags=[_TAG])

    @routes.get("/queries", summary="List the canned queries, with their taxonomy and parameters")
    async def list_queries(tag: str | None = None) -> list[dict[str, Any]]:
        """Every canned query (or those with ``tag``, e.g. ``phase:training`` or ``training``)."""
        return [describe(query) for query in library.tagged(tag)]

    for query in library:
        routes.add_api_route(
            f"/queries/{query.name}",
            _answer(context, query),
            methods=["GET"],
            summary=query.summary,
            description=query.description,
            tags=[_TAG, *query.tags],
            operation_id=f"query_{query.name.replace('-', '_')}",
            openapi_extra={"parameters": [*map(_parameter, query.parameters), _FORMAT]},
            responses={200: {"content": {"application/sparql-results+json": {}, "text/csv": {}}}},
        )

    @routes.get("/queries/{name}", include_in_schema=False)
    async def unknown_query(name: str) -> None:
        """Any other name: 404, with the names that come close."""
        try:
            library.get(name)
        except QueryError as error:
            raise HttpError(404, error.message) from None
        raise HttpError(404, f"no canned query named {name!r}")  # a name ending in .rq, say

    return routes


def describe(query: CannedQuery) -> dict[str, Any]:
    """Return what a client needs to offer a query: name, summary, taxonomy and parameters."""
    return {
        "name": query.name,
        "summary": query.summary,
        "description": query.description,
        "tags": list(query.tags),
        "taxonomy": query.taxonomy(),
        "url": f"/queries/{query.name}",
        "parameters": [
            {
                "name": p.name,
                "type": p.describe_type(),
                "required": p.required,
                "default": p.default,
                "example": p.example,
                "description": p.description,
                "choices": list(p.choices),
            }
            for p in query.parameters
        ],
    }


def _answer(context: Context, query: CannedQuery) -> Any:
    async def answer(request: Request) -> Response:
        values = {k: v for k, v in request.query_params.items() if k not in _RESERVED}
        sparql = query.text(values)
        ask = QueryRequest(
            sparql,
            accept=request.headers.get("accept"),
            format=request.query_params.get("format"),
            max_rows=context.settings.max_rows,
        )
        result = await context.runner.answer(ask)
        return Response(result.body, media_type=result.media_type, headers={"Vary": "Accept"})

    answer.__doc__ = query.summary
    return answer


def _parameter(parameter: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer" if parameter.kind == "integer" else "string"}
    if parameter.default is not None:
        schema["default"] = parameter.default
    if parameter.choices:
        schema["enum"] = list(parameter.choices)
    entry = {
        "name": parameter.name,
        "in": "query",
        "required": parameter.required,
        "schema": schema,
        "description": f"{parameter.description} ({parameter.describe_type()})".strip(),
    }
    if parameter.example is not None:
        entry["example"] = parameter.example
    return entry


_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["json", "xml", "csv", "tsv"]},
    "description": "The results format; without it, the Accept header chooses (JSON by default).",
}
