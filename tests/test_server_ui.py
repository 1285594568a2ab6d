"""The web UI in a real browser: headless Chromium, driven by Playwright, against ``provml serve`` on the demo lifecycle.

Every page must load without a console error, a failed request or a request to another host; what the pages
show is checked against the same questions asked of ``demo_store``, which holds the same lifecycle. Each page
is saved as a screenshot in the test's ``tmp_path``, and in ``$PROVML_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import DEMO_RUNS, answer, load_file
from live_server import Server

from provml import lineage
from provml.demo import best_run, link_demo, plan_runs
from provml.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN = "urn:provml:task/sweep-0007/train-003"
BEST = best_run(plan_runs(DEMO_RUNS, seed=7))
PAGES = {  # name: (path, what shows once the page has loaded its data)
    "home": ("/", "#workflows table tbody tr"),
    "runs": ("/ui/runs", "#runs table tbody tr"),
    "run": (f"/ui/run?iri={quote(RUN, safe='')}", "#picture svg"),
    "compare": (
        f"/ui/compare?run={quote(RUN, safe='')}&run={quote(RUN.replace('003', '002'), safe='')}",
        "#charts figure.chart",
    ),
    "lineage": (f"/ui/lineage?iri={quote(f'urn:provml:model/{BEST.model_id}', safe='')}&depth=6", "#picture svg"),
    "lineage-start": ("/ui/lineage", "#resources table tbody tr"),
    "queries": ("/ui/queries", "#list li"),
    "sparql": ("/ui/sparql", ".yasqe .CodeMirror"),
}


@pytest.fixture(scope="module")
def server(demo_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-only ``provml serve`` of a store holding the demo lifecycle and its geology ontology, as
    ``provml serve --demo`` serves it."""
    path = tmp_path_factory.mktemp("ui") / "store"
    with Store(path) as store:
        for file in demo_files:
            load_file(store, file)
        link_demo(store)
    running = Server(path, token=None)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian: apt install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Browser:
    """Opens pages of the UI and records what went wrong on them: console errors, failed or foreign requests."""

    def __init__(self, chromium: Any, server: Server, shots: Path) -> None:
        self.context = chromium.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
        self.origin, self.shots, self.problems = server.url, shots, []

    def open(self, path: str, ready: str) -> Any:
        """Open ``path`` and wait until ``ready`` (a CSS selector) shows and the network is idle."""
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} {request.failure}"))
        page.on("response", self._response)
        page.goto(path)
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.origin, "data:", "blob:")):
            self.problems.append(f"request to another host: {request.url}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.url}")

    def screenshot(self, page: Any, name: str) -> None:
        """Save the whole page as NAME.png, in the test's directory and in $PROVML_SCREENSHOTS if set."""
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if target := os.environ.get("PROVML_SCREENSHOTS"):
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(target) / path.name)


@pytest.fixture
def browser(chromium: Any, server: Server, tmp_path: Path) -> Iterator[Browser]:
    opened = Browser(chromium, server, tmp_path)
    yield opened
    opened.context.close()


@pytest.mark.parametrize("name", PAGES)
def test_each_page_loads_without_an_error_and_asks_only_this_server(browser: Browser, name: str) -> None:
    path, ready = PAGES[name]
    page = browser.open(path, ready)
    browser.screenshot(page, name)
    assert browser.problems == []
    assert page.locator(".error").count() == 0
    assert page.title().endswith("· provml")


def test_yasgui_runs_a_query_against_the_endpoint(browser: Browser, demo_store: Store) -> None:
    page = browser.open("/ui/sparql", ".yasqe .CodeMirror")
    page.locator(".yasqe_queryButton").click()
    page.wait_for_selector(".yasr table.dataTable tbody tr")
    browser.screenshot(page, "sparql-results")
    query = page.evaluate("window.yasgui.getTab().getYasqe().getValue()")
    expected = [row[0].value for row in demo_store.query(query)]
    assert len(expected) == DEMO_RUNS
    shown = page.locator(".yasr table.dataTable tbody tr")
    assert shown.count() == len(expected)
    assert all(run in shown.nth(n).inner_text() for n, run in enumerate(expected))
    assert browser.problems == []


def test_a_canned_query_runs_from_its_generated_form(browser: Browser, demo_store: Store) -> None:
    page = browser.open("/ui/queries", "#list li")
    page.locator('#list a[href="#hyperparameter-sweep"]').click()
    page.locator("#param-workflow").fill("sweep-0007")
    page.locator("#param-metric").fill("val_accuracy")
    page.get_by_role("button", name="Run").click()
    page.wait_for_selector("#result table tbody tr")
    browser.screenshot(page, "queries-answer")
    cells = [row.locator("td").all_inner_texts() for row in page.locator("#result table tbody tr").all()]
    expected = answer(demo_store, "hyperparameter-sweep", workflow="sweep-0007", metric="val_accuracy")
    assert len(cells) == len(expected) == DEMO_RUNS
    for (run, hyperparameters, value, epoch, status), shown in zip(expected, cells, strict=True):
        assert shown[0:2] == [run, hyperparameters] and shown[3:] == [str(epoch), status]
        assert float(shown[2]) == pytest.approx(value, rel=1e-4)
    assert "#hyperparameter-sweep?workflow=sweep-0007" in page.url  # the answer has an address to share
    assert browser.problems == []


def test_the_run_page_charts_every_metric_value_of_the_run(browser: Browser, demo_store: Store) -> None:
    page = browser.open(PAGES["run"][0], PAGES["run"][1])
    counts = {
        row[0].value: row[1].python()
        for row in demo_store.query(
            f"""SELECT ?metric (COUNT(?m) AS ?n) WHERE {{
  ?m prov:wasGeneratedBy <{RUN}> ; a provml:ModelEvaluation ; mls:specifiedBy/rdfs:label ?metric
}} GROUP BY ?metric"""
        )
    }
    charts = {
        figure.locator("figcaption").inner_text(): figure.locator("circle.point").count()
        for figure in page.locator("figure.chart").all()
    }
    assert charts == counts and sum(counts.values()) == 4 * 6  # loss, accuracy and their val_ twins, 6 epochs
    params = dict(row.locator("td").all_inner_texts() for row in page.locator("#params tbody tr").all())
    assert sorted(params) == ["batch_size", "dropout", "epochs", "layers", "learning_rate"]
    assert (params["batch_size"], params["learning_rate"], params["epochs"]) == ("16", "0.0003", "6")
    assert page.locator("#inputs").get_by_role("link", name="train split v3").count() == 1
    assert page.locator("#outputs").get_by_role("link", name="unet-003").count() == 1
    assert browser.problems == []


def test_the_lineage_picture_shows_the_model_back_to_the_raw_data(browser: Browser, demo_store: Store) -> None:
    model = f"urn:provml:model/{BEST.model_id}"
    page = browser.open(PAGES["lineage"][0], PAGES["lineage"][1])
    labels = page.locator("#picture svg g.node text").all_text_contents()
    traced = lineage.trace(lineage.store_select(demo_store), model, depth=6)
    assert page.locator("#picture svg g.node").count() == len(traced.nodes)
    assert {
        BEST.model_id,
        BEST.task_id,
        "train split v3",
        "curated facies cube v3",
        "survey-north-sea-a.segy",
        "survey-santos-basin.segy",
    } <= set(labels)
    # each node is a link, reached with the keyboard: an activity opens its run page
    training = page.locator("#picture svg a", has_text=BEST.task_id)
    training.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/run?iri={quote(f'urn:provml:task/sweep-0007/{BEST.task_id}', safe='')}")
    page.wait_for_selector("#picture svg")
    assert browser.problems == []


def test_runs_are_searched_sorted_and_picked_for_comparison(browser: Browser) -> None:
    page = browser.open(*PAGES["runs"])
    rows = page.locator("#runs tbody tr")
    page.locator("#search").fill("ERROR")
    failed = [run.task_id for run in plan_runs(DEMO_RUNS, seed=7) if run.fails_at is not None]
    assert [row.locator("td").nth(1).inner_text() for row in rows.all()] == failed
    page.locator("#search").fill("")
    page.get_by_role("button", name="learning_rate", exact=True).click()
    index = page.locator("#runs thead th").all_inner_texts().index("learning_rate")
    column = [row.locator("td").nth(index).inner_text() for row in rows.all()]
    assert column == sorted(column, key=float) and len(column) == DEMO_RUNS
    assert page.locator('th[aria-sort="ascending"]').inner_text() == "learning_rate"
    compare = page.get_by_role("button", name="Compare the ticked runs")
    assert compare.is_disabled()
    for run in ("train-002", "train-003"):
        page.get_by_label(f"compare {run}").check()
    compare.click()
    page.wait_for_selector("#charts figure.chart")
    assert page.locator("#table thead a").all_inner_texts() == ["train-002", "train-003"]
    assert page.locator("#table tr.differs th", has_text="learning_rate").count() == 1
    assert browser.problems == []


def test_a_browser_asking_sparql_for_a_page_gets_the_editor(server: Server) -> None:
    reply = httpx.get(f"{server.url}/sparql", headers={"Accept": "text/html"}, follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (303, "/ui/sparql")


def test_the_lineage_route_answers_svg_or_a_json_error(server: Server) -> None:
    drawn = httpx.get(f"{server.url}/lineage", params={"iri": "urn:provml:model/unet-003", "depth": "2"})
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in drawn.content and b"train split v3" in drawn.content
    for params, status, message in [
        ({"iri": "urn:provml:model/nope"}, 404, "the store has nothing about <urn:provml:model/nope>"),
        ({}, 400, "give the resource to draw"),
        ({"iri": "not an iri"}, 400, "not an absolute IRI"),
        ({"iri": "urn:provml:model/unet-003", "depth": "0"}, 400, "depth must be a whole number from 1 to 12"),
        ({"iri": "urn:provml:model/unet-003", "depth": "two"}, 400, "depth must be a whole number"),
    ]:
        reply = httpx.get(f"{server.url}/lineage", params=params)
        assert reply.status_code == status, params
        assert message in reply.json()["error"]
    documented = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert "image/svg+xml" in documented["/lineage"]["get"]["responses"]["200"]["content"]
    assert not [path for path in documented if path == "/" or path.startswith("/ui/")]  # pages are not API


def test_the_pages_forbid_other_hosts(server: Server) -> None:
    reply = httpx.get(f"{server.url}/ui/runs")
    assert reply.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert '<a href="/ui/runs" aria-current="page">Runs</a>' in reply.text
