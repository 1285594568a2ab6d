"""Capture a hand-written training loop (numpy here; a PyTorch loop looks the same).

python examples/training_loop.py [EVENTS_DIR]       # then: provml load EVENTS_DIR
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

import provml

rng = np.random.default_rng(0)
X = rng.standard_normal((512, 8))
y = X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(512)
params = {"learning_rate": 0.05, "epochs": 20, "batch_size": 64}

events = sys.argv[1] if len(sys.argv) > 1 else None
with provml.start_workflow("linear-regression", transport=events), provml.start_run("train", stage="training"):
    provml.log_params(params, kind="learning")
    provml.log_dataset(X, name="features", kind="learning", domain_concepts=["https://example.org/geo#WellLog"])
    provml.log_dataset(y, name="targets", kind="learning")
    weights = np.zeros(8)
    for _ in provml.epochs(range(params["epochs"])):  # one section run per epoch
        for start in range(0, len(X), params["batch_size"]):
            batch, target = X[start : start + params["batch_size"]], y[start : start + params["batch_size"]]
            weights -= params["learning_rate"] * 2 * batch.T @ (batch @ weights - target) / len(batch)
        provml.log_metric("mse", float(np.mean((X @ weights - y) ** 2)))  # carries the epoch's index
    path = Path(tempfile.mkdtemp()) / "weights.npy"
    np.save(path, weights)
    provml.log_model(path, name="linear-model", algorithm="linear regression", implementation="numpy")
