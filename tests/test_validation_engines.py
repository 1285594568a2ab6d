"""The fast engine and pySHACL give the same answers with the shipped shapes.

Over a corpus of valid PROV-ML graphs and invalid ones (each breaking one rule, at least one per
constraint component the shipped shapes use), both engines must agree on whether the data conforms
and on the set of (focus node, path, constraint component) results. The fast engine's two ways of
restricting focus nodes to focus graphs (listing them, or looking each target up) agree too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHAPES_CORPUS, corpus_store

from provml.store import Store
from provml.validation import shipped_shapes, sparql_engine, validate
from provml.validation.shapes import SPARQL_COMPONENT, Constraint, Shape

VALID = sorted((SHAPES_CORPUS / "valid").glob("*.ttl"))
INVALID = sorted((SHAPES_CORPUS / "invalid").glob("*.ttl"))


def keys(store: Store, engine: str) -> tuple[bool, set[tuple[object, ...]]]:
    report = validate(store, engine=engine)
    return report.conforms, {result.key() for result in report.results}


@pytest.mark.parametrize("path", VALID + INVALID, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_both_engines_give_the_same_results(path: Path) -> None:
    store = corpus_store(path)
    fast, full = keys(store, "fast"), keys(store, "pyshacl")
    assert fast == full
    if path in INVALID:
        assert not fast[0] and fast[1]


@pytest.mark.parametrize("listed", [True, False], ids=["few-focus-quads", "many-focus-quads"])
@pytest.mark.parametrize("path", VALID[:2] + INVALID, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_focus_graphs_restrict_focus_nodes_alike_both_ways(
    path: Path, listed: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # another graph, with results of its own: a model no execution generated, on nodes of its own
    other = tmp_path / "other.ttl"
    other.write_text((SHAPES_CORPUS / "invalid" / "model-never-trained.ttl").read_text().replace("urn:ex:", "urn:x:"))
    store = corpus_store(path)
    store.add_rdf(other, "turtle", graph="urn:test:other")
    monkeypatch.setattr(sparql_engine, "_SMALL_FOCUS", 10**9 if listed else 0)
    in_focus = {r.key() for r in validate(store, focus_graphs=["urn:test:data"]).results}
    assert in_focus == {r.key() for r in validate(corpus_store(path)).results}
    assert {r.key() for r in validate(store).results} > in_focus


def test_the_corpus_breaks_every_constraint_component_the_shapes_use() -> None:
    used = {c.component for shape in shipped_shapes().targeted() for s in shape.nested() for c in _constraints(s)}
    broken = set()
    for path in INVALID:
        broken |= {result.component for result in validate(corpus_store(path)).results}
    assert len(INVALID) >= 30
    assert used - broken == set()
    assert SPARQL_COMPONENT in used


def _constraints(shape: Shape) -> list[Constraint]:
    return [c for c in shape.constraints if not c.params.get("deactivated")]
