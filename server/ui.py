"""The web UI of ``provml serve``, and ``GET /lineage``: the provenance of a resource as an SVG picture.

Each page is an HTML fragment of ``static/pages/`` put into ``static/layout.html``, with a JavaScript
module of ``static/js/`` that asks ``/sparql``, ``/queries`` and ``/lineage`` from the browser. Nothing
comes from another host: the SPARQL editor (YASGUI) is vendored in ``static/vendor/``, and the pages'
Content-Security-Policy lets them load and ask only this server.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from provml import __version__, lineage
from provml.errors import RenderError, UnknownResource
from provml.server.context import Context, HttpError
from provml.server.runner import Request as QueryRequest

STATIC = Path(__file__).parent / "static"
_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class Page:
    """A page of the UI: its path, the fragment ``static/pages/{name}.html``, its title and menu entry."""

    path: str
    name: str
    title: str
    menu: str | None = None  # the entry in the navigation bar; None: reached by links only


PAGES = (
    Page("/", "home", "Overview", "Overview"),
    Page("/ui/runs", "runs", "Training runs", "Runs"),
    Page("/ui/run", "run", "Run"),
    Page("/ui/compare", "compare", "Compare runs", "Compare"),
    Page("/ui/lineage", "lineage", "Lineage", "Lineage"),
    Page("/ui/queries", "queries", "Canned queries", "Queries"),
    Page("/ui/sparql", "sparql", "SPARQL editor", "SPARQL"),
)

router = APIRouter()
router.mount("/static", StaticFiles(directory=STATIC), name="static")

_LINEAGE_PARAMETERS = [
    {
        "name": "iri",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "The entity, activity or agent, by IRI.",
        "example": "urn:provml:model/unet-003",
    },
    {
        "name": "depth",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": lineage.MAX_DEPTH, "default": lineage.DEFAULT_DEPTH},
        "description": "How many PROV relations back to follow.",
    },
]


@router.get(
    "/lineage",
    tags=["lineage"],
    summary="The lineage of a resource, as an SVG picture",
    openapi_extra={"parameters": _LINEAGE_PARAMETERS},
    response_class=Response,
    responses={
        200: {"description": "The picture.", "content": {"image/svg+xml": {}}},
        400: {"description": "No iri, one that is not an absolute IRI, or a depth out of range."},
        404: {"description": "The store has nothing about that IRI."},
        503: {"description": "Graphviz is not installed or took too long."},
    },
)
async def lineage_picture(request: Request) -> Response:
    """Draw what ``iri`` comes from, ``depth`` relations back (PROV-O: wasGeneratedBy, used, wasDerivedFrom,
    wasAssociatedWith, wasInformedBy), with Graphviz; each node links to its page of the web UI."""
    context: Context = request.app.state.provml
    iri, depth = _one(request, "iri"), _depth(request)
    if iri is None:
        raise HttpError(400, "give the resource to draw: /lineage?iri=<IRI>")

    def draw() -> bytes:
        found = lineage.trace(_select(context), iri, depth=depth)
        return lineage.render_svg(lineage.to_dot(found, href=_href))

    try:
        svg = await run_in_threadpool(draw)
    except UnknownResource as error:
        raise HttpError(404, error.message) from None
    except RenderError as error:
        raise HttpError(503, error.message) from None
    return Response(svg, media_type="image/svg+xml", headers={"X-Content-Type-Options": "nosniff"})


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise HttpError(400, f"more than one {name}= parameter")
    return values[0] if values else None


def _depth(request: Request) -> int:
    text = _one(request, "depth")
    if text is None:
        return lineage.DEFAULT_DEPTH
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= lineage.MAX_DEPTH:
        raise HttpError(400, f"depth must be a whole number from 1 to {lineage.MAX_DEPTH}; got {text!r}")
    return int(text)


def _select(context: Context) -> lineage.Select:
    """Run the lineage's queries like any other: in the query workers, within the time limit."""

    def select(sparql: str) -> list[dict[str, str]]:
        answer = context.runner.run(QueryRequest(sparql, format="json", max_rows=context.settings.max_rows))
        rows: list[dict[str, Any]] = orjson.loads(answer.body)["results"]["bindings"]
        return [{name: term["value"] for name, term in row.items()} for row in rows]

    return select


def _href(node: lineage.Node) -> str | None:
    """Link an activity to its run page and an entity to its lineage; agents have no page."""
    if node.kind == "agent":
        return None
    page = "run" if node.kind == "activity" else "lineage"
    return f"/ui/{page}?iri={quote(node.iri, safe='')}"


def _add_page(page: Page) -> None:
    async def show() -> HTMLResponse:
        return HTMLResponse(_render(page), headers=_SECURITY)

    router.add_api_route(page.path, show, methods=["GET"], name=f"page_{page.name}", include_in_schema=False)


@cache
def _render(page: Page) -> str:
    """Return the HTML of ``page``: its fragment in the layout, with the navigation bar."""
    current = ' aria-current="page"'
    menu = "\n".join(
        f'<a href="{entry.path}"{current if entry == page else ""}>{entry.menu}</a>' for entry in PAGES if entry.menu
    )
    layout = Template((STATIC / "layout.html").read_text(encoding="utf-8"))
    main = (STATIC / "pages" / f"{page.name}.html").read_text(encoding="utf-8")
    return layout.substitute(title=page.title, menu=menu, main=main, version=__version__)


for _page in PAGES:
    _add_page(_page)
