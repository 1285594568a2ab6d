"""Capture cost: what provml.log_metric costs its caller, and what it adds to a real training loop.

Run by ``run.py`` in a fresh interpreter (``_worker.py capture``). The training loop is a small
numpy MLP (forward and backward passes, about 10 ms a step on one BLAS thread) logging three
metrics per step; captured and uncaptured rounds are interleaved.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import provml

CALLS = 100_000  # log_metric calls per timed loop
MLFLOW_CALLS = 300  # MLflow is ~300 us a call: fewer calls, same median
STEPS = 100  # training steps per round
METRICS_PER_STEP = 3


def _per_call_us(function: Callable[[int], None], calls: int, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(calls):
            function(i)
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return samples


def _bare_write(directory: Path) -> Callable[[int], None]:
    stream = (directory / "bare.jsonl").open("ab", buffering=1 << 16)
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE

    def write(step: int) -> None:
        record = {"type": "metric", "workflow_id": "w", "task_id": "t", "name": "loss", "value": 0.5}
        record["timestamp"], record["step"] = time.time(), step
        stream.write(dumps(record, option=option))

    return write


def _mlflow_per_call(directory: Path, repeat: int) -> list[float] | None:
    try:
        import mlflow
    except ImportError:
        return None
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 refuses a file store without it
    mlflow.set_tracking_uri((directory / "mlruns").as_uri())
    with mlflow.start_run():
        return _per_call_us(lambda step: mlflow.log_metric("loss", 0.5, step=step), MLFLOW_CALLS, repeat)


class _MLP:
    """A two-layer perceptron trained by plain gradient descent on random data."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((256, 512), dtype=np.float32)
        self.y = rng.standard_normal((256, 10), dtype=np.float32)
        self.w1 = rng.standard_normal((512, 1600), dtype=np.float32) * 0.01
        self.w2 = rng.standard_normal((1600, 10), dtype=np.float32) * 0.01

    def step(self) -> tuple[float, float, float]:
        hidden = np.maximum(self.x @ self.w1, 0)
        error = hidden @ self.w2 - self.y
        grad_w2 = hidden.T @ error / len(self.x)
        grad_hidden = (error @ self.w2.T) * (hidden > 0)
        grad_w1 = self.x.T @ grad_hidden / len(self.x)
        self.w1 -= 1e-3 * grad_w1
        self.w2 -= 1e-3 * grad_w2
        return float((error**2).mean()), float(np.abs(grad_w1).mean()), float(np.abs(grad_w2).mean())


def _training_round(model: _MLP, captured: bool) -> float:
    """Return seconds per step of one round, logging three metrics per step when ``captured``."""
    started = time.perf_counter()
    for step in range(STEPS):
        loss, g1, g2 = model.step()
        if captured:
            provml.log_metric("loss", loss, step=step)
            provml.log_metric("grad_w1", g1, step=step)
            provml.log_metric("grad_w2", g2, step=step)
    return (time.perf_counter() - started) / STEPS


def measure(repeat: int, rounds: int) -> dict[str, Any]:
    """Measure per-call costs (``repeat`` loops each) and the training-loop overhead (``rounds`` pairs)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        result: dict[str, Any] = {"bare_us": _per_call_us(_bare_write(directory), CALLS, repeat)}
        with provml.start_workflow("bench", transport=str(directory / "events")), provml.start_run("train"):
            result["provml_us"] = _per_call_us(lambda step: provml.log_metric("loss", 0.5, step=step), CALLS, repeat)
            model, plain, captured = _MLP(), [], []
            _training_round(model, True)  # warm-up
            for _ in range(rounds):
                plain.append(_training_round(model, False))
                captured.append(_training_round(model, True))
        result["step_plain_s"], result["step_captured_s"] = plain, captured
        result["mlflow_us"] = _mlflow_per_call(directory, repeat)
        result["mlflow_version"] = _version("mlflow")
    return result


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def overheads(result: dict[str, Any]) -> tuple[float, float]:
    """Return the loop overhead measured (median captured / median plain - 1) and computed from per-call cost."""
    plain = statistics.median(result["step_plain_s"])
    measured = statistics.median(result["step_captured_s"]) / plain - 1
    computed = METRICS_PER_STEP * statistics.median(result["provml_us"]) * 1e-6 / plain
    return measured, computed
