"""`provml link --suggest`: mappings from a user's ontology to PROV-ML, PROV-O and ML Schema by label
similarity, written for review; once reviewed and linked, they make the user's data answer in provml's terms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rdflib

from provml.linking import link, read_ontology
from provml.loading import load_paths
from provml.store import Store
from provml.suggest import as_turtle, suggest

LAB = "https://lab.example/onto#"
MINE = """@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix lab: <https://lab.example/onto#> .
<https://lab.example/onto> a owl:Ontology .
lab:Data_Set a owl:Class .
lab:HyperParameterValue a owl:Class ; rdfs:label "hyperparameter setting"@en .
lab:TrainedModel a owl:Class ; rdfs:label "model"@en .
lab:Rock a owl:Class ; rdfs:label "rock"@en .
lab:used a owl:ObjectProperty ; rdfs:label "used"@en .
"""


def test_candidates_come_by_label_and_local_name_best_first_and_of_the_same_kind(tmp_path: Path) -> None:
    (tmp_path / "mine.ttl").write_text(MINE)
    found = suggest([read_ontology(tmp_path / "mine.ttl")])
    by_term: dict[str, list[str]] = {}
    for s in found:
        by_term.setdefault(s.term.removeprefix(LAB), []).append(s.target)
    assert set(by_term["Data_Set"]) == {"https://w3id.org/provml#Dataset", "http://www.w3.org/ns/mls#Dataset"}
    assert by_term["HyperParameterValue"][0] == "https://w3id.org/provml#HyperparameterSetting"  # the exact label
    assert by_term["used"] == ["http://www.w3.org/ns/prov#used"]  # a property, never a class called "used"
    assert "Rock" not in by_term
    assert all(0.8 <= s.score <= 1 for s in found)
    assert [s.score for s in found if s.term == f"{LAB}HyperParameterValue"] == sorted(
        (s.score for s in found if s.term == f"{LAB}HyperParameterValue"), reverse=True
    )


def test_a_reviewed_suggestion_makes_the_user_s_data_answer_in_provml_terms(store: Store, tmp_path: Path) -> None:
    (tmp_path / "mine.ttl").write_text(MINE)
    mapping = tmp_path / "mapping.ttl"
    mapping.write_text(as_turtle(s for s in suggest([read_ontology(tmp_path / "mine.ttl")]) if "Data_Set" in s.term))
    assert len(rdflib.Graph().parse(mapping, format="turtle")) == 2  # two closeMatch statements
    (tmp_path / "data.ttl").write_text(f"<urn:x:iris> a <{LAB}Data_Set> .\n")
    load_paths(store, [tmp_path / "data.ttl"], check=False)
    datasets = "SELECT ?d WHERE { ?d a provml:Dataset }"

    link(store, [tmp_path / "mine.ttl", mapping], check=False)
    assert store.query(datasets).rows() == []  # closeMatch entails nothing: it awaits review

    reviewed = mapping.with_name("reviewed.ttl")
    reviewed.write_text(mapping.read_text().replace("skos:closeMatch", "skos:exactMatch"))
    link(store, [tmp_path / "mine.ttl", reviewed], check=False)
    assert [row[0].value for row in store.query(datasets)] == ["urn:x:iris"]


def test_the_cli_writes_the_suggestions_and_links_nothing(tmp_path: Path) -> None:
    (tmp_path / "mine.ttl").write_text(MINE)
    store, out = tmp_path / "store", tmp_path / "suggested.ttl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "provml",
            "link",
            "--suggest",
            str(tmp_path / "mine.ttl"),
            "-o",
            str(out),
            "--store",
            str(store),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "suggested mappings, for review" in result.stderr
    assert f"<{LAB}used> skos:closeMatch <http://www.w3.org/ns/prov#used> ." in out.read_text()
    assert not store.exists()  # nothing linked, no store made
