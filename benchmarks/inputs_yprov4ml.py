"""Benchmark input of the yprov4ml loader: a run of yProv4ML 3.2.8 whose metric CSVs are lengthened to a target
number of provml triples.

    python benchmarks/inputs_yprov4ml.py DIRECTORY TRIPLES

yProv4ML itself cannot run in provml's environment (it needs Python >= 3.12, torch and lightning), so the source
is the real run of ``tests/fixtures/yprov4ml/mlp_contexts_0`` (its PROV-JSON as yProv4ML wrote it) with longer
metric files, written as yProv4ML writes them: a per-batch training loss (100 batches an epoch) and a validation
loss and accuracy per epoch. Nearly all triples are metric values; how many a row gives is measured on two small
runs.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

from loader_inputs import scaled

RUN = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "yprov4ml" / "mlp_contexts_0"
BATCHES = 100  # training losses an epoch
START_MS = 1795440239535  # the first timestep of the real run
_HEADER = "epoch,value,timestep\n"
_CALIBRATION_ROWS = (1000, 2000)


def write_metric(path: Path, rows: int, every: int, value_of) -> None:
    """Write a yProv4ML metric CSV of ``rows`` rows, ``every`` rows an epoch, 10 ms apart."""
    with path.open("w") as out:
        out.write(_HEADER)
        for row in range(rows):
            out.write(f"{row // every},{value_of(row)!r},{START_MS + 10 * row}\n")


def write_run(directory: Path, batches: int) -> Path:
    """Copy the real run into ``directory`` with ``batches`` training losses; return its PROV-JSON file."""
    target = directory / RUN.name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(RUN, target)
    metrics = target / "metrics_GR0"
    epochs = math.ceil(batches / BATCHES)
    write_metric(metrics / "loss_training_None_GR0.csv", batches, BATCHES, lambda row: 1.1 * 0.9999**row)
    write_metric(metrics / "loss_validation_None_GR0.csv", epochs, 1, lambda epoch: 1.2 * 0.99**epoch)
    write_metric(metrics / "accuracy_validation_None_GR0.csv", epochs, 1, lambda epoch: 1 - 0.5 * 0.99**epoch)
    return next(target.glob("prov_*.json"))


def make_source(directory: Path, triples: int) -> Path:
    """Write a yProv4ML run of about ``triples`` provml triples into ``directory``; return its PROV-JSON file."""
    return scaled(write_run, _CALIBRATION_ROWS, directory, triples)


if __name__ == "__main__":
    print(make_source(Path(sys.argv[1]), int(sys.argv[2])))
