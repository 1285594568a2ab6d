"""Benchmark input of the notebook loader: a real Jupyter notebook, executed by nbclient on a python3 kernel,
sized to a target number of provml triples.

    python benchmarks/inputs_notebook.py DIRECTORY TRIPLES

The notebook is one cell of imports, then a block of five cells repeated: read a CSV with pandas, pick
features, fit a scikit-learn tree (its depth varies by block), score it (printing the accuracy) and save it
with joblib. The number of blocks is chosen from the triples per block of two short calibration notebooks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from loader_inputs import scaled

IMPORTS = """import joblib
import pandas as pd
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier"""

BLOCK = (
    'df = pd.read_csv("data.csv")',
    'X = df[["a", "b"]]\ny = df["label"]',
    "model = DecisionTreeClassifier(max_depth={depth}, random_state=0)\nmodel.fit(X, y)",
    'accuracy = accuracy_score(y, model.predict(X))\nprint(f"accuracy {{accuracy:.4f}}")',
    'joblib.dump(model, "models/model-{block}.joblib")',
)
CSV = "a,b,label\n" + "".join(f"{i},{i % 3},{int(i > 5)}\n" for i in range(12))
_CALIBRATION_BLOCKS = (5, 15)
_TIMEOUT_S = 3600


def run_notebook(directory: Path, blocks: int) -> Path:
    """Write a notebook of ``blocks`` blocks in ``directory``, execute it with nbclient and save it; return its path."""
    import nbclient
    import nbformat

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "models").mkdir(exist_ok=True)
    (directory / "data.csv").write_text(CSV)
    sources = [IMPORTS] + [cell.format(block=b, depth=1 + b % 4) for b in range(blocks) for cell in BLOCK]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=_TIMEOUT_S, resources={"metadata": {"path": str(directory)}}
    )
    client.execute()
    path = directory / "benchmark.ipynb"
    nbformat.write(notebook, path)
    return path


def make_source(directory: Path, triples: int) -> Path:
    """Write an executed notebook of about ``triples`` provml triples under ``directory``; return its path."""
    return scaled(run_notebook, _CALIBRATION_BLOCKS, directory, triples)


if __name__ == "__main__":
    print(make_source(Path(sys.argv[1]), int(sys.argv[2])))
