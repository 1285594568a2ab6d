"""Benchmark input of the flowcept loader: a real Flowcept run (offline, CPU and memory telemetry on), dumped to
its buffer file ``flowcept_buffer.jsonl``, sized to a target number of provml triples.

    python benchmarks/inputs_flowcept.py DIRECTORY TRIPLES

The run is a training loop of ``@flowcept_task`` functions (an epoch, then its evaluation) chained by the values
they pass; its length is chosen from the triples per epoch of two short calibration runs. Flowcept writes about
1,300 epochs a second here, so a million triples take about half a minute to make.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loader_inputs import scaled

SETTINGS = """\
project:
  db_flush_mode: offline
  dump_buffer: {enabled: true, path: flowcept_buffer.jsonl}
log: {log_file_level: disable, log_stream_level: disable}
telemetry_capture: {cpu: true, mem: true}
mq: {enabled: false}
kv_db: {enabled: false}
databases: {mongodb: {enabled: false}, lmdb: {enabled: false}}
"""

TRAINING = """\
import sys
from flowcept import Flowcept, flowcept_task

@flowcept_task(subtype="learning", output_names=["loss", "accuracy"])
def train_epoch(epoch, learning_rate, batch_size, loss):
    loss = loss * 0.97
    return loss, 1.0 - loss

@flowcept_task(subtype="evaluation", output_names="val_loss")
def evaluate(loss):
    return loss * 1.1

with Flowcept(workflow_name="benchmark-training", campaign_id="benchmark", workflow_id="wf-benchmark"):
    loss = 1.0
    for epoch in range(int(sys.argv[1])):
        loss, accuracy = train_epoch(epoch, learning_rate=0.01, batch_size=64, loss=loss)
        evaluate(loss)
"""
_CALIBRATION_EPOCHS = (50, 150)
_TIMEOUT_S = 1800


def run_flowcept(directory: Path, epochs: int) -> Path:
    """Run the training loop for ``epochs`` epochs under Flowcept in ``directory``; return its buffer file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.yaml").write_text(SETTINGS)
    (directory / "training.py").write_text(TRAINING)
    env = {**os.environ, "FLOWCEPT_SETTINGS_PATH": str(directory / "settings.yaml")}
    command = [sys.executable, "training.py", str(epochs)]
    subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True, timeout=_TIMEOUT_S)
    return directory / "flowcept_buffer.jsonl"


def make_source(directory: Path, triples: int) -> Path:
    """Write a Flowcept buffer file of about ``triples`` provml triples under ``directory``; return its path."""
    return scaled(run_flowcept, _CALIBRATION_EPOCHS, directory, triples, format="flowcept")


if __name__ == "__main__":
    print(make_source(Path(sys.argv[1]), int(sys.argv[2])))
