"""Deterministic IRIs minted from source ids under one configurable base.

Loading the same dump twice mints the same IRIs, so the store holds the same graph. The base
comes from ``--base``, ``$PROVML_BASE`` or :data:`DEFAULT_BASE`; each id segment is
percent-encoded, so any source id (a path, a UUID, a float timestamp) gives a valid IRI.

>>> ids = IriMinter("https://lab.example/prov/")
>>> ids.task("wf 1", "train/3")
'https://lab.example/prov/task/wf%201/train%2F3'
>>> ids.dataset("sha256:abc")
'https://lab.example/prov/dataset/sha256%3Aabc'
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from provml.errors import ProvmlError

DEFAULT_BASE = "urn:provml:"


@lru_cache(maxsize=65536)
def segment(value: object) -> str:
    """Percent-encode one id segment (``/`` included) for use in an IRI path."""
    return quote(str(value), safe="-._~")


def base_from_env() -> str:
    """Return the IRI base configured by ``$PROVML_BASE``, or the default."""
    return os.environ.get("PROVML_BASE") or DEFAULT_BASE


class IriMinter:
    """Mint the IRIs of every kind of node provml writes, under one base."""

    def __init__(self, base: str | None = None) -> None:
        base = base or base_from_env()
        if ":" not in base or base[-1] not in "/#:":
            raise ProvmlError(f"IRI base must be an absolute IRI ending in '/', '#' or ':', got {base!r}")
        self.base = base
        self.shared_graph = base + "graph/shared"
        self.catalog_graph = base + "graph/catalog"
        self.entailed_graph = base + "graph/entailed"  # what the linked ontologies entail (provml.entailment)

    def _mint(self, kind: str, *parts: object) -> str:
        return self.base + kind + "/" + "/".join(segment(p) for p in parts)

    def dump_graph(self, source: Path | str) -> str:
        """Return the named graph of a dump: the name of its file (or the end of its URI) plus a digest
        of its absolute path (or URI)."""
        if isinstance(source, Path):
            where, name = str(source.resolve()), source.resolve().name
        else:
            where, name = source, source.rstrip("/").rsplit("/", 1)[-1]
        digest = hashlib.sha1(where.encode()).hexdigest()[:12]
        return self._mint("graph", f"{name}-{digest}")

    def study(self, campaign_id: str) -> str:
        """Return the IRI of a study (Flowcept's campaign)."""
        return self._mint("study", campaign_id)

    def workflow(self, workflow_id: str) -> str:
        """Return the IRI of a workflow execution."""
        return self._mint("workflow", workflow_id)

    def workflow_plan(self, name: str) -> str:
        """Return the IRI of a workflow definition (the prospective plan its executions follow)."""
        return self._mint("plan/workflow", name)

    def task(self, workflow_id: str, task_id: str) -> str:
        """Return the IRI of a task execution; task ids are only unique within their workflow."""
        return self._mint("task", workflow_id, task_id)

    def task_plan(self, activity_id: str) -> str:
        """Return the IRI of a task definition (Flowcept's ``activity_id``, e.g. a function name)."""
        return self._mint("plan/task", activity_id)

    def setting(self, run: str, name: str) -> str:
        """Return the IRI of a hyperparameter setting of one execution (``run`` is its IRI)."""
        return f"{run}/param/{segment(name)}"

    def hyperparameter(self, name: str) -> str:
        """Return the IRI of a hyperparameter, shared by every run that sets it."""
        return self._mint("hyperparameter", name)

    def metric(self, run: str, name: str, step: object, timestamp: object) -> str:
        """Return the IRI of one metric value of an execution, at a step and time."""
        return f"{run}/metric/{segment(name)}/{segment(step)}/{segment(timestamp)}"

    def measure(self, name: str) -> str:
        """Return the IRI of an evaluation measure (``loss``, ``accuracy``), shared by every run."""
        return self._mint("measure", name)

    def value(self, workflow_id: str, name: str, value_key: str) -> str:
        """Return the IRI of a file-like data reference of a workflow, keyed by name and content digest."""
        return self._mint("value", workflow_id, name, value_key)

    def dataset(self, dataset_key: str) -> str:
        """Return the IRI of a dataset version (keyed by its id or content digest)."""
        return self._mint("dataset", dataset_key)

    def model(self, model_key: str) -> str:
        """Return the IRI of a trained model (keyed by its id or content digest)."""
        return self._mint("model", model_key)

    def algorithm(self, name: str) -> str:
        """Return the IRI of an algorithm."""
        return self._mint("algorithm", name)

    def implementation(self, name: str) -> str:
        """Return the IRI of an implementation (a library class or function)."""
        return self._mint("implementation", name)

    def agent(self, agent_id: str) -> str:
        """Return the IRI of an agent: a person or a piece of software."""
        return self._mint("agent", agent_id)

    def host(self, hostname: str) -> str:
        """Return the IRI of a compute node."""
        return self._mint("host", hostname)

    def gpu(self, hostname: str, index: object) -> str:
        """Return the IRI of one GPU of a compute node."""
        return self._mint("host", hostname, "gpu", index)

    def telemetry(self, subject: str, execution: str, timestamp: object) -> str:
        """Return the IRI of a telemetry sample of a host or GPU (``subject`` is its IRI) taken at a time
        while ``execution`` (an IRI) ran: tasks sharing a node sample it at the same instants, and each
        sample is generated by one execution."""
        digest = hashlib.sha1(execution.encode()).hexdigest()[:12]
        return f"{subject}/telemetry/{digest}/{segment(timestamp)}"

    def code_version(self, repository: str, commit: str, dirty: bool) -> str:
        """Return the IRI of a code version: a commit of a repository, marked when the tree was dirty."""
        return self._mint("code", repository, commit + ("-dirty" if dirty else ""))

    def environment(self, digest: str) -> str:
        """Return the IRI of a software environment, keyed by a digest of its description."""
        return self._mint("environment", digest)
