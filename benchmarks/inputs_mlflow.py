"""Benchmark input for the MLflow loader: an ``mlflow.db`` written by MLflow's own client.

A hyperparameter sweep: parent runs of :data:`CHILDREN` child runs each, every child with
:data:`PARAMS` params, :data:`STEPS` points of each of :data:`METRICS`, a dataset input and one
artifact. The number of runs is chosen from the triples one run gives, measured by loading two
small databases, so that the provml store holds about the target number of triples.

    python -m benchmarks.inputs_mlflow DIRECTORY TRIPLES
"""

from __future__ import annotations

import sys
from pathlib import Path

from loader_inputs import scaled

STEPS = 50
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
PARAMS = ("learning_rate", "batch_size", "dropout", "layers", "optimizer")
CHILDREN = 20
START_MS = 1_767_600_000_000  # 2026-01-05T08:00:00Z
_CALIBRATION_RUNS = (4, 12)


def write_sweep(database: Path, runs: int) -> Path:
    """Write ``runs`` training runs (and their parent runs) into a new SQLite tracking database."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{database}")
    experiment = client.create_experiment("bench-sweep", artifact_location=(database.parent / "artifacts").as_uri())
    train = Dataset("train", "5e0000aa", "local", '{"uri": "data/train.npz"}')
    dataset = DatasetInput(train, [InputTag("mlflow.data.context", "training")])
    report = database.parent / "report.txt"
    report.write_text("a small artifact of every run\n")
    parent = None
    for index in range(runs):
        if index % CHILDREN == 0:
            if parent is not None:
                client.set_terminated(parent)
            parent = client.create_run(experiment, run_name=f"sweep-{index // CHILDREN:04d}").info.run_id
        start = START_MS + index * 60_000
        tags = {"mlflow.parentRunId": parent, "mlflow.user": "bench"}
        run = client.create_run(experiment, start_time=start, tags=tags, run_name=f"run-{index:05d}").info.run_id
        params = [Param(name, str(index % (position + 3))) for position, name in enumerate(PARAMS)]
        metrics = [
            Metric(name, 1.0 / (step + 1 + position), start + step * 1000, step)
            for step in range(STEPS)
            for position, name in enumerate(METRICS)
        ]
        client.log_batch(run, metrics=metrics, params=params)
        client.log_inputs(run, datasets=[dataset])
        client.log_artifact(run, str(report))
        client.set_terminated(run, end_time=start + STEPS * 1000)
    if parent is not None:
        client.set_terminated(parent)
    return database


def make_source(directory: Path, triples: int) -> Path:
    """Write an ``mlflow.db`` of about ``triples`` provml triples into ``directory`` and return its path."""
    return scaled(lambda target, runs: write_sweep(target / "mlflow.db", runs), _CALIBRATION_RUNS, directory, triples)


if __name__ == "__main__":
    print(make_source(Path(sys.argv[1]), int(sys.argv[2])))
