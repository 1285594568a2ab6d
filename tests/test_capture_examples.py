"""The runnable examples in examples/ capture what they say, and it loads as PROV-ML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provml.loading import load_paths
from provml.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, tmp_path: Path) -> Store:
    events = tmp_path / "events"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(events)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    store = Store()
    assert all(o.error is None for o in load_paths(store, [events]))
    return store


def rows(store: Store, query: str) -> list[tuple]:
    return [tuple(t.python() if t else None for t in row) for row in store.query(query)]


def test_sklearn_autolog_records_a_sweep(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install '.[test]' installs it)")
    store = run_example("sklearn_autolog.py", tmp_path)
    fits = rows(
        store,
        """SELECT ?n ?score WHERE { ?r a provml:TrainingExecution ; rdfs:label "RandomForestClassifier.fit" ;
        provml:hasHyperparameterSetting [ rdfs:label "n_estimators" ; provml:value ?n ] .
        ?m prov:wasGeneratedBy ?r ; mls:specifiedBy/rdfs:label "training_score" ; provml:value ?score } ORDER BY ?n""",
    )
    assert [n for n, _ in fits] == [5, 20, 50] and all(0.9 <= s <= 1.0 for _, s in fits)
    # the test score evaluates the model that the fit generated, and the predictions come from that model
    evaluated = rows(
        store,
        """SELECT ?n ?score WHERE { ?e a provml:EvaluationExecution ; prov:used ?model .
        ?s prov:wasGeneratedBy ?e ; provml:evaluatedModel ?model ; provml:value ?score .
        ?model prov:wasGeneratedBy/provml:hasHyperparameterSetting [ rdfs:label "n_estimators" ; provml:value ?n ] } ORDER BY ?n""",
    )
    assert [n for n, _ in evaluated] == [5, 20, 50]
    predicted = rows(
        store,
        """SELECT ?shape WHERE { ?i a provml:InferenceExecution ; prov:used/a provml:Model .
        ?p prov:wasGeneratedBy ?i ; rdfs:label "predictions" ; provml:shape ?shape }""",
    )
    assert predicted == [("[45]",)] * 3
    # X_train is the same content for every fit: one dataset, used three times
    assert rows(
        store,
        """SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a provml:TrainingExecution ; prov:used ?d .
        ?d rdfs:label "X" ; provml:shape "[105,4]" }""",
    ) == [(3,)]


def test_the_training_loop_hook_records_one_section_per_epoch(tmp_path: Path) -> None:
    pytest.importorskip("numpy", reason="numpy is not installed (pip install '.[test]' installs it)")
    store = run_example("training_loop.py", tmp_path)
    curve = rows(
        store,
        """SELECT ?epoch ?mse WHERE { ?m mls:specifiedBy/rdfs:label "mse" ; provml:epoch ?epoch ;
        provml:value ?mse ; prov:wasGeneratedBy/provml:partOf ?train . ?train a provml:TrainingExecution } ORDER BY ?epoch""",
    )
    assert [e for e, _ in curve] == list(range(20))
    assert curve[-1][1] < curve[0][1]  # it learned
    assert rows(
        store,
        """SELECT (COUNT(*) AS ?n) WHERE { ?s a provml:LearningStageSectionExecution ; provml:status "FINISHED" }""",
    ) == [(20,)]
    assert rows(store, """SELECT ?c WHERE { ?d rdfs:label "features" ; provml:domainConcept ?c }""") == [
        ("https://example.org/geo#WellLog",)
    ]


def test_autolog_can_be_switched_off_leaving_scikit_learn_as_it_was() -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install '.[test]' installs it)")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    import provml.capture.sklearn as autolog

    before = {cls: dict(cls.__dict__) for cls in (LogisticRegression, Pipeline)}
    autolog.autolog()
    assert hasattr(LogisticRegression.fit, "__provml_autolog__") and hasattr(Pipeline.fit, "__provml_autolog__")
    # Pipeline.predict is an `available_if` descriptor: left alone, so its final step's predict is recorded
    assert type(Pipeline.__dict__["predict"]) is type(before[Pipeline]["predict"])
    autolog.autolog()  # twice is once
    assert not hasattr(LogisticRegression.fit.__provml_autolog__, "__provml_autolog__")
    autolog.autolog(disable=True)
    assert {cls: dict(cls.__dict__) for cls in before} == before
