"""A realistic ML lifecycle written as provml events: the data behind ``provml demo`` and the benchmarks.

Seismic facies classification, as in the PROV-ML case study: raw SEG-Y surveys are curated into
a domain cube, split into learning data, a hyperparameter sweep trains U-Nets on GPU nodes (one
event file per training run, as one file per process on a cluster), the models are evaluated on
the test split and the best one is deployed and runs inference on a new survey. Everything is
derived from ``seed``: the same arguments write the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from provml.linking import Linked
    from provml.store import Store

START = 1767600000.0  # 2026-01-05T08:00:00Z
CAMPAIGN = "facies-2026"
GEO = "https://w3id.org/provml/demo/geology#"
ONTOLOGY = "demo-geology.ttl"  # the domain ontology of GEO, in ontology/: `provml demo` links it
GPU_NODES = 4
GPUS_PER_NODE = 4
LEARNING_RATES = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
BATCH_SIZES = (16, 32, 64)
DROPOUTS = (0.0, 0.1, 0.3)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Run:
    """One training run of the sweep, and what it will produce."""

    index: int
    learning_rate: float
    batch_size: int
    dropout: float
    layers: int
    host: str
    gpu: int
    warm_start: int | None  # index of the run whose model this one fine-tunes
    fails_at: int | None  # epoch at which the run crashes

    @property
    def task_id(self) -> str:
        return f"train-{self.index:03d}"

    @property
    def model_id(self) -> str:
        return f"unet-{self.index:03d}"

    def quality(self) -> float:
        """How good this configuration is: 1.0 at the best learning rate and dropout."""
        return 1.0 - 0.12 * abs(math.log10(self.learning_rate) + 3) - 0.08 * abs(self.dropout - 0.1)


class _Writer:
    """Collects the records of one event file, with a clock."""

    def __init__(self, clock: float) -> None:
        self.records: list[dict[str, Any]] = []
        self.clock = clock

    def add(self, **record: Any) -> None:
        self.records.append(record)

    def tick(self, seconds: float) -> float:
        self.clock += seconds
        return round(self.clock, 3)

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in self.records))
        return path


def _hosts(out: _Writer) -> None:
    out.add(type="host", hostname="cpu-node-01", cpu_count=64, memory_bytes=512 * 2**30, platform="Linux-6.1-x86_64")
    for node in range(1, GPU_NODES + 1):
        gpus = [{"index": i, "name": "NVIDIA A100-SXM4-80GB", "memory_bytes": 80 * 2**30} for i in range(GPUS_PER_NODE)]
        out.add(type="host", hostname=f"gpu-node-{node:02d}", cpu_count=48, memory_bytes=256 * 2**30, gpus=gpus)


def _curation(directory: Path, rng: random.Random) -> tuple[Path, dict[str, str]]:
    """Write curation.jsonl: raw surveys -> curated cube -> train/val/test splits."""
    wf = "curation-0001"
    out = _Writer(START)
    _hosts(out)
    out.add(type="agent", agent_id="alice", kind="person", name="Alice Martin (geophysicist)")
    out.add(type="agent", agent_id="bruno", kind="person", name="Bruno Costa (ML engineer)")
    out.add(
        type="workflow",
        workflow_id=wf,
        name="seismic-curation",
        campaign_id=CAMPAIGN,
        user="alice",
        hostname="cpu-node-01",
        started_at=out.tick(0),
        subtype="data_prep_workflow",
        code_repository={
            "commit": "3f9a1c2",
            "branch": "main",
            "remote": "git@git.example:geo/curation.git",
            "dirty": False,
        },
        environment={
            "python": "3.11.7",
            "platform": "Linux-6.1-x86_64",
            "command_line": "python curate.py --survey all",
            "packages": {"numpy": "2.1.0", "segyio": "1.9.12"},
        },
    )
    surveys = [f"survey-{name}" for name in ("north-sea-a", "north-sea-b", "santos-basin")]
    ids: dict[str, str] = {}
    out.add(
        type="task",
        workflow_id=wf,
        task_id="curate",
        activity_id="curate_surveys",
        subtype="data_curation",
        started_at=out.tick(5),
        user="alice",
        hostname="cpu-node-01",
        status="RUNNING",
        used={"clip_percentile": 99.5, "resample_ms": 4},
    )
    for survey in surveys:
        out.add(
            type="dataset",
            workflow_id=wf,
            task_id="curate",
            role="input",
            dataset_id=survey,
            name=f"{survey}.segy",
            kind="raw",
            location=f"/archive/seismic/{survey}.segy",
            sha256=_sha(survey),
            size_bytes=rng.randint(40, 90) * 2**30,
            domain_concepts=[GEO + "SeismicSurvey"],
        )
    cube = "facies-cube-v3"
    out.add(
        type="dataset",
        workflow_id=wf,
        task_id="curate",
        role="output",
        dataset_id=cube,
        name="curated facies cube v3",
        kind="domain",
        location="/project/facies/cube-v3.zarr",
        sha256=_sha(cube),
        size_bytes=61 * 2**30,
        shape=[3, 1200, 800, 1500],
        derived_from=surveys,
        domain_concepts=[GEO + "SeismicAmplitudeCube"],
    )
    out.add(type="task", workflow_id=wf, task_id="curate", status="FINISHED", ended_at=out.tick(3600))
    out.add(
        type="task",
        workflow_id=wf,
        task_id="split",
        activity_id="make_learning_data",
        subtype="dataprep",
        started_at=out.tick(10),
        dependencies=["curate"],
        user="bruno",
        hostname="cpu-node-01",
        used={"patch_size": 256, "split_seed": 13},
    )
    out.add(
        type="dataset", workflow_id=wf, task_id="split", role="input", dataset_id=cube, name="curated facies cube v3"
    )
    for split, fraction in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        dataset_id = f"facies-{split}-v3"
        ids[split] = dataset_id
        out.add(
            type="dataset",
            workflow_id=wf,
            task_id="split",
            role="output",
            dataset_id=dataset_id,
            name=f"{split} split v3",
            kind="learning",
            location=f"/project/facies/{split}-v3.npz",
            sha256=_sha(dataset_id),
            size_bytes=int(fraction * 9 * 2**30),
            shape=[int(fraction * 40000), 256, 256],
            derived_from=[cube],
            domain_concepts=[GEO + "FaciesLabel"],
        )
    out.add(type="task", workflow_id=wf, task_id="split", status="FINISHED", ended_at=out.tick(900))
    out.add(type="workflow", workflow_id=wf, status="FINISHED", ended_at=out.tick(1))
    return out.write(directory / "curation.jsonl"), ids


def plan_runs(runs: int, seed: int) -> list[Run]:
    """Return the configurations of the sweep: learning rate, batch size, dropout, where it runs."""
    rng = random.Random(seed)
    plan = []
    for index in range(runs):
        slot = index % (GPU_NODES * GPUS_PER_NODE)
        plan.append(
            Run(
                index=index,
                learning_rate=LEARNING_RATES[index % len(LEARNING_RATES)],
                batch_size=BATCH_SIZES[(index // len(LEARNING_RATES)) % len(BATCH_SIZES)],
                dropout=DROPOUTS[(index // 2) % len(DROPOUTS)],
                layers=rng.choice((4, 5)),
                host=f"gpu-node-{slot // GPUS_PER_NODE + 1:02d}",
                gpu=slot % GPUS_PER_NODE,
                warm_start=index - 1 if index % 4 == 3 else None,
                fails_at=3 if index % 7 == 5 else None,
            )
        )
    return plan


def _training(run: Run, splits: dict[str, str], epochs: int, seed: int, sweep: str) -> Iterator[dict[str, Any]]:
    """Yield the records of one training run: params, per-epoch sections with metrics and telemetry, the model."""
    rng = random.Random(seed * 100_003 + run.index)
    out = _Writer(START + 6 * 3600 + run.index * 600)
    wf, task = sweep, run.task_id
    yield {
        "type": "workflow",
        "workflow_id": wf,
        "name": "facies-unet-sweep",
        "campaign_id": CAMPAIGN,
        "user": "bruno",
        "started_at": START + 6 * 3600,
        "code_repository": {
            "commit": "b71e0d4",
            "branch": "sweep",
            "remote": "git@git.example:geo/facies-unet.git",
            "dirty": False,
        },
        "environment": {
            "python": "3.11.7",
            "platform": "Linux-6.1-x86_64",
            "command_line": "python train.py --sweep sweep.yaml",
            "packages": {"torch": "2.13.0", "numpy": "2.1.0"},
        },
        "seeds": {"torch": 1234},
    }
    yield {
        "type": "task",
        "workflow_id": wf,
        "task_id": task,
        "activity_id": "train_unet",
        "subtype": "training",
        "started_at": out.tick(0),
        "status": "RUNNING",
        "hostname": run.host,
        "gpus": [run.gpu],
        "user": "bruno",
    }
    for name, value, kind in (
        ("learning_rate", run.learning_rate, "learning"),
        ("batch_size", run.batch_size, "learning"),
        ("epochs", epochs, "learning"),
        ("dropout", run.dropout, "model"),
        ("layers", run.layers, "model"),
    ):
        yield {"type": "param", "workflow_id": wf, "task_id": task, "name": name, "value": value, "kind": kind}
    for split in ("train", "val"):
        yield {
            "type": "dataset",
            "workflow_id": wf,
            "task_id": task,
            "role": "input",
            "dataset_id": splits[split],
            "name": f"{split} split v3",
        }
    if run.warm_start is not None:
        yield {
            "type": "model",
            "workflow_id": wf,
            "task_id": task,
            "role": "input",
            "model_id": f"unet-{run.warm_start:03d}",
            "name": f"unet-{run.warm_start:03d}",
        }
    steps_per_epoch, quality = 100, run.quality()
    for epoch in range(epochs):
        section = f"{task}-epoch-{epoch:04d}"
        started = out.tick(rng.uniform(0.5, 1.5))
        yield {
            "type": "task",
            "workflow_id": wf,
            "task_id": section,
            "parent_task_id": task,
            "activity_id": "train_epoch",
            "subtype": "epoch",
            "started_at": started,
            "hostname": run.host,
        }
        if run.fails_at == epoch:
            yield {
                "type": "task",
                "workflow_id": wf,
                "task_id": section,
                "ended_at": out.tick(12.0),
                "status": "ERROR",
                "stderr": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.50 GiB",
            }
            yield {
                "type": "task",
                "workflow_id": wf,
                "task_id": task,
                "ended_at": out.tick(0.5),
                "status": "ERROR",
                "stderr": f"training aborted at epoch {epoch}: CUDA out of memory",
            }
            return
        progress = 1 - math.exp(-(epoch + 1) / max(epochs / 4, 1))
        loss = 1.6 * (1 - progress * quality) + rng.uniform(-0.02, 0.02)
        accuracy = 0.35 + 0.6 * progress * quality + rng.uniform(-0.01, 0.01)
        ended = out.tick(rng.uniform(55, 65))
        step = (epoch + 1) * steps_per_epoch
        for name, value in (
            ("loss", loss),
            ("accuracy", accuracy),
            ("val_loss", loss + 0.05 + rng.uniform(0, 0.03)),
            ("val_accuracy", accuracy - 0.02 - rng.uniform(0, 0.01)),
        ):
            yield {
                "type": "metric",
                "workflow_id": wf,
                "task_id": task,
                "name": name,
                "value": round(value, 5),
                "step": step,
                "epoch": epoch,
                "timestamp": ended,
            }
        yield {
            "type": "telemetry",
            "workflow_id": wf,
            "task_id": section,
            "hostname": run.host,
            "timestamp": ended,
            "cpu": {"percent_all": round(rng.uniform(20, 45), 1)},
            "memory": {"virtual": {"used": rng.randint(40, 90) * 2**30}},
            "gpu": [
                {
                    "index": run.gpu,
                    "utilization": round(rng.uniform(85, 99), 1),
                    "memory_used": rng.randint(50, 78) * 2**30,
                }
            ],
        }
        yield {"type": "task", "workflow_id": wf, "task_id": section, "ended_at": ended, "status": "FINISHED"}
    derived = [f"unet-{run.warm_start:03d}"] if run.warm_start is not None else []
    yield {
        "type": "model",
        "workflow_id": wf,
        "task_id": task,
        "role": "output",
        "model_id": run.model_id,
        "name": run.model_id,
        "algorithm": "U-Net",
        "implementation": "facies.models.UNet",
        "version": f"{run.index}",
        "location": f"/project/facies/models/{run.model_id}.pt",
        "sha256": _sha(run.model_id),
        "size_bytes": 31 * 2**20 * run.layers,
        "derived_from": derived,
    }
    yield {
        "type": "task",
        "workflow_id": wf,
        "task_id": task,
        "ended_at": out.tick(2.0),
        "status": "FINISHED",
        "generated": {"final_val_accuracy": round(accuracy - 0.02, 4)},
    }


def _test_accuracy(run: Run) -> float:
    return round(0.33 + 0.6 * run.quality(), 4)


def _evaluation(directory: Path, runs: list[Run], splits: dict[str, str]) -> Path:
    wf = "evaluation-0001"
    out = _Writer(START + 30 * 3600)
    out.add(
        type="workflow",
        workflow_id=wf,
        name="facies-evaluation",
        campaign_id=CAMPAIGN,
        user="bruno",
        hostname="gpu-node-01",
        started_at=out.tick(0),
    )
    for run in runs:
        if run.fails_at is not None:
            continue
        task = f"evaluate-{run.model_id}"
        out.add(
            type="task",
            workflow_id=wf,
            task_id=task,
            activity_id="evaluate_model",
            subtype="evaluation",
            started_at=out.tick(1),
            hostname="gpu-node-01",
            gpus=[0],
        )
        out.add(type="model", workflow_id=wf, task_id=task, role="input", model_id=run.model_id, name=run.model_id)
        out.add(
            type="dataset", workflow_id=wf, task_id=task, role="input", dataset_id=splits["test"], name="test split v3"
        )
        accuracy = _test_accuracy(run)
        for name, value in (("test_accuracy", accuracy), ("test_f1", round(accuracy - 0.04, 4))):
            out.add(
                type="metric",
                workflow_id=wf,
                task_id=task,
                name=name,
                value=value,
                timestamp=out.tick(30),
                model_id=run.model_id,
            )
        out.add(type="task", workflow_id=wf, task_id=task, ended_at=out.tick(1), status="FINISHED")
    out.add(type="workflow", workflow_id=wf, ended_at=out.tick(1), status="FINISHED")
    return out.write(directory / "evaluation.jsonl")


def best_run(runs: list[Run]) -> Run:
    """Return the run whose model scores best on the test split (the one the demo deploys)."""
    return max((r for r in runs if r.fails_at is None), key=lambda r: (_test_accuracy(r), -r.index))


def _deployment(directory: Path, runs: list[Run]) -> Path:
    wf = "deployment-0001"
    best = best_run(runs)
    out = _Writer(START + 48 * 3600)
    out.add(type="agent", agent_id="facies-server", kind="software", name="facies inference service", version="1.4.0")
    out.add(
        type="workflow",
        workflow_id=wf,
        name="facies-deployment",
        campaign_id=CAMPAIGN,
        user="bruno",
        agent_id="facies-server",
        started_at=out.tick(0),
    )
    out.add(
        type="task",
        workflow_id=wf,
        task_id="deploy",
        activity_id="deploy_model",
        subtype="deployment",
        started_at=out.tick(1),
        hostname="cpu-node-01",
        used={"endpoint": "https://facies.example/predict"},
    )
    out.add(type="model", workflow_id=wf, task_id="deploy", role="input", model_id=best.model_id, name=best.model_id)
    out.add(type="task", workflow_id=wf, task_id="deploy", ended_at=out.tick(60), status="FINISHED")
    out.add(
        type="task",
        workflow_id=wf,
        task_id="predict-campos",
        activity_id="predict_facies",
        subtype="inference",
        started_at=out.tick(600),
        dependencies=["deploy"],
        hostname="gpu-node-02",
        gpus=[1],
        agent_id="facies-server",
    )
    out.add(
        type="model", workflow_id=wf, task_id="predict-campos", role="input", model_id=best.model_id, name=best.model_id
    )
    out.add(
        type="dataset",
        workflow_id=wf,
        task_id="predict-campos",
        role="input",
        dataset_id="survey-campos-basin",
        name="survey-campos-basin.segy",
        kind="raw",
        location="/archive/seismic/survey-campos-basin.segy",
        sha256=_sha("survey-campos-basin"),
        domain_concepts=[GEO + "SeismicSurvey"],
    )
    out.add(
        type="dataset",
        workflow_id=wf,
        task_id="predict-campos",
        role="output",
        dataset_id="facies-campos-predicted",
        name="predicted facies, Campos basin",
        kind="domain",
        location="/project/facies/campos-predicted.zarr",
        sha256=_sha("facies-campos-predicted"),
        derived_from=["survey-campos-basin"],
        domain_concepts=[GEO + "FaciesMap"],
    )
    out.add(type="task", workflow_id=wf, task_id="predict-campos", ended_at=out.tick(1800), status="FINISHED")
    out.add(type="workflow", workflow_id=wf, ended_at=out.tick(1), status="FINISHED")
    return out.write(directory / "deployment.jsonl")


def write_lifecycle(directory: Path, *, runs: int = 12, epochs: int = 20, seed: int = 7) -> list[Path]:
    """Write the lifecycle's event files into ``directory`` and return their paths, in load order."""
    if runs < 1 or epochs < 1:
        raise ValueError("runs and epochs must be at least 1")
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    curation, splits = _curation(directory, rng)
    plan = plan_runs(runs, seed)
    sweep = f"sweep-{seed:04d}"
    training = []
    for run in plan:
        path = directory / f"train-{run.index:03d}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _training(run, splits, epochs, seed, sweep)))
        training.append(path)
    return [curation, *training, _evaluation(directory, plan, splits), _deployment(directory, plan)]


LINEAGE = """
SELECT ?name ?kind WHERE {{
  {{ SELECT DISTINCT ?ancestor WHERE {{ {model} (prov:wasGeneratedBy/prov:used|prov:wasDerivedFrom)+ ?ancestor }} }}
  VALUES ?kind {{ provml:RawDataset provml:DomainDataset provml:LearningDataset provml:Model }}
  ?ancestor a ?kind ; rdfs:label ?name .
}} ORDER BY ?kind ?name"""

QUESTIONS: list[tuple[str, str]] = [
    (
        "Which training run gave the best model on the test split, and with which hyperparameters?",
        """
SELECT ?model ?run ?test_accuracy ?learning_rate ?batch_size ?dropout WHERE {
  ?eval mls:specifiedBy/rdfs:label "test_accuracy" ; provml:value ?test_accuracy ; provml:evaluatedModel ?m .
  ?m rdfs:label ?model ; prov:wasGeneratedBy ?r . ?r provml:sourceId ?run .
  ?r provml:hasHyperparameterSetting [ rdfs:label "learning_rate" ; provml:value ?learning_rate ] ,
                                       [ rdfs:label "batch_size" ; provml:value ?batch_size ] ,
                                       [ rdfs:label "dropout" ; provml:value ?dropout ] .
} ORDER BY DESC(?test_accuracy) LIMIT 3""",
    ),
    (
        "Where did the deployed model come from? (its lineage back to the raw surveys)",
        LINEAGE.format(model="?deployed").replace(
            "SELECT DISTINCT ?ancestor WHERE {",
            "SELECT DISTINCT ?ancestor WHERE { ?deployment a provml:DeploymentExecution ; prov:used ?deployed .",
            1,
        ),
    ),
    (
        "How long did each training run take, where, and how busy was its GPU?",
        """
SELECT ?run ?status ?gpu (MAX(?end) - MIN(?start) AS ?duration) (ROUND(AVG(?util)) AS ?gpu_busy_percent) WHERE {
  ?r a provml:TrainingExecution ; provml:sourceId ?run ; prov:startedAtTime ?start ; prov:endedAtTime ?end ;
     provml:status ?status ; provml:usedGPU ?g . ?g rdfs:label ?gpu .
  OPTIONAL { ?epoch provml:partOf ?r . ?sample prov:wasGeneratedBy ?epoch ; provml:sampledFrom ?g ;
             provml:gpuUtilizationPercent ?util }
} GROUP BY ?run ?status ?gpu ORDER BY ?run LIMIT 8""",
    ),
    (
        "Which tasks failed, why, and with which inputs?",
        """
SELECT ?task ?error (GROUP_CONCAT(DISTINCT CONCAT(?param, "=", STR(?value)); separator=", ") AS ?hyperparameters)
WHERE {
  ?t provml:status "ERROR" ; provml:sourceId ?task ; provml:errorMessage ?error .
  OPTIONAL { ?t provml:hasHyperparameterSetting [ rdfs:label ?param ; provml:value ?value ] }
} GROUP BY ?task ?error ORDER BY ?task""",
    ),
]


def link_demo(store: Store) -> Linked:
    """Link the demo's geology ontology (:data:`ONTOLOGY`) to ``store``, without the HermiT check (it needs
    Java; a test checks this ontology with it)."""
    from provml.linking import link
    from provml.resources import ontology_file

    return link(store, [ontology_file(ONTOLOGY)], check=False)
