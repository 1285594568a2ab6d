"""Benchmark input of the prov loader: a PROV-JSON document written by the ``prov`` package, sized to a target
number of provml triples.

    python benchmarks/inputs_prov.py DIRECTORY TRIPLES [json|provn|xml]

The document is an ML study as a PROV user would write it with ML Schema types: runs (``mls:Run``) associated
with a person, each using a dataset and hyperparameter settings (``mls:HyperParameterSetting`` with a
``prov:value``) and generating a model and metric values (``mls:ModelEvaluation`` with a value and a step, at a
time). The number of runs comes from the triples one run gives, measured on a one-run document.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from loader_inputs import scaled
from prov.model import ProvDocument

EPOCHS = 100  # metric values per measure and run
MEASURES = ("loss", "accuracy")
HYPERPARAMETERS = {"learning_rate": 0.01, "batch_size": 64, "epochs": EPOCHS, "optimizer": "adam"}
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
ENDINGS = {"json": ".json", "provn": ".provn", "xml": ".provx"}  # the syntaxes prov writes


def study(runs: int) -> ProvDocument:
    """Return a PROV document of ``runs`` training runs."""
    document = ProvDocument()
    ex = document.add_namespace("ex", "https://lab.example/study/")
    mls = document.add_namespace("mls", "http://www.w3.org/ns/mls#")
    alice = document.agent(ex["alice"], {"prov:type": document.valid_qualified_name("prov:Person")})
    data = document.entity(ex["dataset/iris"], {"prov:type": mls["Dataset"], "prov:label": "iris"})
    for number in range(runs):
        started = START + timedelta(hours=number)
        ended = started + timedelta(minutes=50)
        run = document.activity(ex[f"run/{number}"], started, ended, {"prov:type": mls["Run"]})
        document.wasAssociatedWith(run, alice)
        document.used(run, data)
        for name, value in HYPERPARAMETERS.items():
            setting = document.entity(
                ex[f"run/{number}/param/{name}"],
                {"prov:type": mls["HyperParameterSetting"], "prov:label": name, "prov:value": value},
            )
            document.used(run, setting)
        model = document.entity(ex[f"run/{number}/model"], {"prov:type": mls["Model"]})
        document.wasGeneratedBy(model, run, ended)
        document.wasDerivedFrom(model, data)
        for epoch in range(EPOCHS):
            for measure in MEASURES:
                point = document.entity(
                    ex[f"run/{number}/{measure}/{epoch}"],
                    {"prov:type": mls["ModelEvaluation"], "prov:label": measure, "prov:value": 1 / (epoch + 1),
                     "ex:step": epoch},
                )  # fmt: skip
                document.wasGeneratedBy(point, run, started + timedelta(seconds=30 * epoch))
    return document


def write_study(directory: Path, runs: int, syntax: str = "json") -> Path:
    """Write ``study.json`` (or ``.provn``, ``.provx``), a study of ``runs`` runs, into ``directory``."""
    path = directory / f"study{ENDINGS[syntax]}"
    path.write_text(study(runs).serialize(format=syntax), encoding="utf-8")
    return path


def make_source(directory: Path, triples: int, syntax: str = "json") -> Path:
    """Write ``study.json`` (or ``.provn``, ``.provx``) of about ``triples`` provml triples into ``directory``."""
    return scaled(partial(write_study, syntax=syntax), (1, 2), directory, triples)


if __name__ == "__main__":
    print(make_source(Path(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:4]))
