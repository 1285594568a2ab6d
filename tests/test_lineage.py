"""Lineage pictures: given the demo lifecycle, what a model comes from, drawn by Graphviz, bounded and escaped."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import DEMO_RUNS

from provml import lineage
from provml.demo import best_run, plan_runs
from provml.errors import InputError, RenderError, UnknownResource
from provml.store import Store

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def names(found: lineage.Lineage) -> set[str]:
    return {node.name for node in found.nodes.values()}


def drawn_texts(svg: bytes) -> list[str]:
    """The texts of the nodes of an SVG picture (one <text> per line of a label)."""
    root = ET.fromstring(svg)
    nodes = [group for group in root.iter(f"{SVG}g") if group.get("class") == "node"]
    return [text.text or "" for node in nodes for text in node.iter(f"{SVG}text")]


def test_a_model_traces_back_through_its_run_and_data_to_the_raw_surveys(demo_store: Store) -> None:
    best = best_run(plan_runs(DEMO_RUNS, seed=7))
    found = lineage.trace(lineage.store_select(demo_store), f"urn:provml:model/{best.model_id}", depth=6)
    assert found.root == f"urn:provml:model/{best.model_id}" and not found.truncated
    assert {
        best.model_id,
        best.task_id,
        "train split v3",
        "val split v3",
        "curated facies cube v3",
        "survey-north-sea-a.segy",
        "survey-north-sea-b.segy",
        "survey-santos-basin.segy",
        "Bruno Costa (ML engineer)",
        f"learning_rate = {best.learning_rate}",
    } <= names(found)
    kinds = {node.name: (node.kind, node.type) for node in found.nodes.values()}
    assert kinds[best.task_id] == ("activity", "training execution")
    assert kinds["survey-north-sea-a.segy"] == ("entity", "raw dataset")
    assert kinds["Bruno Costa (ML engineer)"] == ("agent", "persona")
    assert {(e.relation, found.nodes[e.target].name) for e in found.edges if e.source == found.root} >= {
        ("wasGeneratedBy", best.task_id)
    }


def test_depth_bounds_how_far_back_it_goes(demo_store: Store) -> None:
    select = lineage.store_select(demo_store)
    # unet-003 fine-tunes unet-002: one relation back are its training run and the model it was derived from
    one = lineage.trace(select, "urn:provml:model/unet-003", depth=1)
    assert names(one) == {"unet-003", "train-003", "unet-002"}
    two = lineage.trace(select, "urn:provml:model/unet-003", depth=2)
    assert names(one) < names(two) and "train split v3" in names(two) and "survey-north-sea-a.segy" not in names(two)


def test_the_node_bound_cuts_the_picture_and_says_so(demo_store: Store) -> None:
    found = lineage.trace(lineage.store_select(demo_store), "urn:provml:model/unet-003", depth=6, max_nodes=5)
    assert len(found.nodes) == 5 and found.truncated
    assert all(edge.source in found.nodes and edge.target in found.nodes for edge in found.edges)
    assert "Only the first 5 nodes are drawn" in lineage.to_dot(found)


def test_an_iri_the_store_does_not_mention_is_unknown(demo_store: Store) -> None:
    with pytest.raises(UnknownResource, match="nothing about <urn:provml:model/nope>"):
        lineage.trace(lineage.store_select(demo_store), "urn:provml:model/nope")


@pytest.mark.parametrize("iri", ["", "unet-003", "urn:provml:model/a b", "urn:x> } ; DROP ALL ; { <urn:y"])
def test_what_is_not_an_absolute_iri_is_refused_before_any_query(iri: str) -> None:
    def select(sparql: str) -> list[dict[str, str]]:
        raise AssertionError("no query should run")

    with pytest.raises(InputError, match="not an absolute IRI"):
        lineage.trace(select, iri)


@pytest.mark.parametrize("depth", [0, lineage.MAX_DEPTH + 1])
def test_depth_must_be_in_range(demo_store: Store, depth: int) -> None:
    with pytest.raises(InputError, match=f"from 1 to {lineage.MAX_DEPTH}"):
        lineage.trace(lineage.store_select(demo_store), "urn:provml:model/unet-003", depth=depth)


@needs_dot
def test_labels_from_users_data_are_drawn_as_written(tmp_path: Path) -> None:
    """Quotes, backslash escapes of DOT, entities, markup and DOT syntax in a label stay text."""
    evil = 'a "quoted" \\N \\l name; ] -> x [label=<b>&amp; R&D; é'
    literal = evil.replace("\\", "\\\\").replace('"', '\\"')
    with Store(tmp_path / "store") as store:
        store.update(
            f"""INSERT DATA {{ GRAPH <urn:test:g> {{
  <urn:test:model> a provml:Model ; rdfs:label "{literal}" ;
    prov:wasGeneratedBy <urn:test:run> .
  <urn:test:run> a provml:TrainingExecution, prov:Activity ; provml:sourceId "run & <1>" .
}} }}"""
        )
        found = lineage.trace(lineage.store_select(store), "urn:test:model")
    assert names(found) == {evil, "run & <1>"}
    svg = lineage.render_svg(lineage.to_dot(found, href=lambda node: f"/page?iri={node.iri}&x=<'\">", width=80))
    assert {evil, "model", "run & <1>", "training execution"} <= set(drawn_texts(svg))  # and the SVG is valid XML
    links = [a.get(f"{XLINK}href") for a in ET.fromstring(svg).iter(f"{SVG}a")]
    assert links and all("<" not in link and '"' not in link and "&" not in link for link in links)


@needs_dot
def test_long_names_are_cut(demo_store: Store) -> None:
    found = lineage.trace(lineage.store_select(demo_store), "urn:provml:dataset/facies-cube-v3", depth=1)
    texts = drawn_texts(lineage.render_svg(lineage.to_dot(found, width=12)))
    assert "curated fac…" in texts and "curated facies cube v3" not in texts


def test_graphviz_missing_or_too_slow_is_a_render_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="need Graphviz's dot command"):
        lineage.render_svg("digraph { a }")
    slow = tmp_path / "dot"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    with pytest.raises(RenderError, match=r"took more than 0\.2 s"):
        lineage.render_svg("digraph { a }", timeout=0.2)
