"""Map events of the provml event format v1 to PROV-ML quads.

Layout rule (``docs/events.md``, DESIGN.md): what a dump alone asserts (its task executions,
their settings, metric values, telemetry and data values, and how they used or generated
things) goes into the dump's own named graph. What many dumps refer to (workflows and studies,
plans, datasets, models, hyperparameters, measures, agents, hosts, GPUs, code versions,
environments) is described in one shared graph, so that no descriptive triple is repeated
across dumps: repeated triples make union-graph joins thousands of times slower.

Every node is typed with its most specific PROV-ML class and the PROV-O core class it
specialises (``prov:Activity``, ``prov:Entity``, ``prov:Agent``); classes in between follow
from the ontology.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

import orjson

from provml import rdf
from provml.errors import EventError
from provml.ids import IriMinter, segment
from provml.rdf import Quad
from provml.vocab import MLS, PROV, PROVML, RDF, RDFS, XSD


def _t(value: str) -> str:
    return f"<{value}>"


A = _t(RDF.type)
LABEL = _t(RDFS.label)
ACTIVITY, ENTITY, AGENT = _t(PROV.Activity), _t(PROV.Entity), _t(PROV.Agent)

# subtype (Flowcept's, or provml's own) -> (execution class, plan class)
_STAGES: dict[str, tuple[str, str]] = {}
for _names, _execution, _plan in (
    (("data_curation", "curation", "datacuration"), PROVML.DataCurationExecution, PROVML.DataCuration),
    (
        ("dataprep", "data_prep", "data_preparation", "learning_data_preparation", "preprocessing"),
        PROVML.LearningDataPreparationExecution,
        PROVML.LearningDataPreparation,
    ),
    (("training", "learning", "train", "fit"), PROVML.TrainingExecution, PROVML.Training),
    (("validation", "validate"), PROVML.ValidationExecution, PROVML.Validation),
    (("evaluation", "evaluate", "testing", "test", "model_selection"), PROVML.EvaluationExecution, PROVML.Evaluation),
    (("deployment", "deploy"), PROVML.DeploymentExecution, PROVML.Deployment),
    (("inference", "prediction", "predict", "serving"), PROVML.InferenceExecution, PROVML.Inference),
    (("epoch", "iteration", "batch", "section"), PROVML.LearningStageSectionExecution, PROVML.LearningStageSection),
):
    for _name in _names:
        _STAGES[_name] = (_t(_execution), _t(_plan))
_DEFAULT_STAGE = (_t(PROVML.TaskExecution), _t(PROVML.Task))

_DATASET_KINDS = {
    "raw": _t(PROVML.RawDataset),
    "domain": _t(PROVML.DomainDataset),
    "learning": _t(PROVML.LearningDataset),
}
_HYPERPARAMETER_KINDS = {"learning": _t(PROVML.LearningHyperparameter), "model": _t(PROVML.ModelHyperparameter)}
_AGENT_KINDS = {
    "person": (_t(PROVML.Persona), _t(PROV.Person)),
    "software": (_t(PROVML.Software), _t(PROV.SoftwareAgent)),
}
_STATUS_ALIASES = {"ERRORED": "ERROR", "FAILED": "ERROR", "FAILURE": "ERROR", "COMPLETED": "FINISHED"}
_TERMINAL = {"FINISHED", "ERROR", "KILLED", "CANCELLED"}
_MAX_TEXT = 2000  # characters kept of free text (stderr, JSON of structured values)
_MAX_KEY = 64  # longest value compared verbatim when matching used to generated values; longer ones are hashed
_MAX_GENERATED = 100_000  # generated values remembered for matching; bounds memory on long dumps

P = {name: _t(getattr(PROVML, name)) for name in PROVML.__annotations__}


def _location_uri(location: Any) -> str:
    """Return ``location`` as an ``xsd:anyURI`` literal; an absolute POSIX path becomes a file: URI
    (``/data/train.csv`` -> ``file:///data/train.csv``), anything else is kept as written."""
    text = str(location)
    if text.startswith("/") and not text.startswith("//"):
        text = PurePosixPath(text).as_uri()
    return rdf.typed(text, XSD.anyURI)


# optional record fields copied as they are: (field, PROV-ML property, literal maker)
_FILE_FIELDS = (
    ("location", "location", _location_uri),
    ("sha256", "sha256", rdf.string),
    ("size_bytes", "sizeBytes", rdf.integer),
    ("version", "version", rdf.string),
)
_ENVIRONMENT_FIELDS = (
    ("python", "pythonVersion", lambda v: rdf.string(str(v))),
    ("platform", "platform", lambda v: rdf.string(str(v))),
    ("command_line", "commandLine", lambda v: rdf.string(str(v))),
)
_HOST_FIELDS = (
    ("cpu_count", "cpuCount", rdf.integer),
    ("memory_bytes", "memoryTotalBytes", rdf.integer),
    ("platform", "platform", rdf.string),
)
_GPU_FIELDS = (
    ("name", "platform", rdf.string),  # the GPU's model name
    ("memory_bytes", "memoryTotalBytes", rdf.integer),
    ("uuid", "sourceId", rdf.string),
)
USED, GENERATED_BY, DERIVED = _t(PROV.used), _t(PROV.wasGeneratedBy), _t(PROV.wasDerivedFrom)
ASSOCIATED, INFORMED_BY = _t(PROV.wasAssociatedWith), _t(PROV.wasInformedBy)
STARTED, ENDED, GENERATED_AT = _t(PROV.startedAtTime), _t(PROV.endedAtTime), _t(PROV.generatedAtTime)


def _datetime(value: Any) -> datetime:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as error:
        raise EventError(f"invalid time {value!r}: {error}") from None
    raise EventError(f"invalid time {value!r}: expected epoch seconds or an ISO 8601 string")


def date_time(value: Any) -> str:
    """Return the ``xsd:dateTime`` literal of epoch seconds or an ISO 8601 string."""
    return rdf.date_time(_datetime(value))


def _instant(moment: datetime) -> float:
    """Return the POSIX time of ``moment``, a time without offset taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()[:_MAX_TEXT]


def _value_literal(value: Any) -> str:
    if isinstance(value, (bool, int, float, str)):
        return rdf.literal(value if not isinstance(value, str) else value[:_MAX_TEXT])
    return rdf.string(_json_text(value))


def _value_key(value: Any) -> str:
    text = value if isinstance(value, str) else _json_text(value)
    if len(text) <= _MAX_KEY:
        return text
    return "sha1-" + hashlib.sha1(text.encode()).hexdigest()


def _status(value: Any) -> str:
    status = str(value).upper()
    return _STATUS_ALIASES.get(status, status)


class EventMapper:
    """Turn event records into quads for one dump graph and the shared graph.

    Call :meth:`map` for each record, then :meth:`finish` once: statuses are written last,
    because a task's start and end may come in separate messages and only the final one holds;
    so are the links from each run to the last value it logged of each metric.
    """

    def __init__(self, ids: IriMinter, graph: str) -> None:
        self.ids = ids
        self.graph = _t(graph)
        self.shared = _t(ids.shared_graph)
        self._statuses: dict[str, tuple[str, str]] = {}  # node -> (status, graph)
        self._generated: dict[tuple[str, str, str], str] = {}  # (workflow, name, value key) -> node
        self._last_values: dict[tuple[str, str], tuple[tuple[float, int], str]] = {}  # see _metric
        self._handlers = {
            "workflow": self._workflow,
            "task": self._task,
            "param": self._param,
            "metric": self._metric,
            "dataset": self._dataset,
            "model": self._model,
            "data": self._data,
            "agent": self._agent,
            "host": self._host,
            "telemetry": self._telemetry,
        }

    def map(self, record: dict[str, Any]) -> Iterator[Quad]:
        """Yield the quads of one record already checked against the schema."""
        return self._handlers[record["type"]](record)

    def finish(self) -> Iterator[Quad]:
        """Yield the quads that need every record seen: the final status of each execution, and
        the ``provml:lastValue`` of each run and metric.

        Only final statuses (FINISHED, ERROR, KILLED, CANCELLED) are stored: an execution that
        started and has not ended is running. A stream loaded in batches can then never leave an
        execution both RUNNING and FINISHED; of two final statuses in one dump, the later wins.
        A run whose metric values are in several dumps has a last value in each; the latest of
        them is its last.
        """
        for node, (status, graph) in self._statuses.items():
            yield (node, P["status"], rdf.string(status), graph)
        for (run, _), (_, point) in self._last_values.items():
            yield (run, P["lastValue"], point, self.graph)

    # -- helpers -----------------------------------------------------------------------

    def _note_status(self, node: str, value: Any, graph: str) -> None:
        status = _status(value)
        if status in _TERMINAL:
            self._statuses[node] = (status, graph)

    def _execution(self, record: dict[str, Any]) -> str:
        """Return the execution a record belongs to: its task, or else its workflow."""
        task_id = record.get("task_id")
        if task_id is None:
            return _t(self.ids.workflow(record["workflow_id"]))
        return _t(self.ids.task(record["workflow_id"], task_id))

    def _workflow_node(self, workflow_id: str) -> Iterator[Quad]:
        node = _t(self.ids.workflow(workflow_id))
        yield (node, A, P["WorkflowExecution"], self.shared)
        yield (node, A, ACTIVITY, self.shared)
        yield (node, P["sourceId"], rdf.string(workflow_id), self.shared)

    def _workflow_name(self, workflow: str, name: str) -> Iterator[Quad]:
        plan = _t(self.ids.workflow_plan(name))
        yield (workflow, LABEL, rdf.string(name), self.shared)
        yield (plan, A, P["Workflow"], self.shared)
        yield (plan, A, ENTITY, self.shared)
        yield (plan, LABEL, rdf.string(name), self.shared)
        yield (workflow, P["executionOf"], plan, self.shared)

    def _study(self, workflow: str, campaign_id: str) -> Iterator[Quad]:
        study = _t(self.ids.study(campaign_id))
        yield (study, A, P["Study"], self.shared)
        yield (study, A, ACTIVITY, self.shared)
        yield (study, LABEL, rdf.string(campaign_id), self.shared)
        yield (workflow, P["partOf"], study, self.shared)

    def _agent_node(self, agent_id: str, kind: str | None = None) -> tuple[str, list[Quad]]:
        node = _t(self.ids.agent(agent_id))
        quads = [
            (node, A, AGENT, self.shared),
            (node, P["sourceId"], rdf.string(agent_id), self.shared),
            (node, LABEL, rdf.string(agent_id), self.shared),
        ]
        for cls in _AGENT_KINDS.get(kind or "", ()):
            quads.append((node, A, cls, self.shared))
        return node, quads

    def _host_node(self, hostname: str) -> tuple[str, list[Quad]]:
        node = _t(self.ids.host(hostname))
        return node, [
            (node, A, P["ComputeNode"], self.shared),
            (node, A, AGENT, self.shared),
            (node, P["hostname"], rdf.string(hostname), self.shared),
            (node, LABEL, rdf.string(hostname), self.shared),
        ]

    def _gpu_node(self, hostname: str, index: int) -> tuple[str, list[Quad]]:
        node = _t(self.ids.gpu(hostname, index))
        host, quads = self._host_node(hostname)
        quads += [
            (node, A, P["GPU"], self.shared),
            (node, A, AGENT, self.shared),
            (node, P["partOf"], host, self.shared),
            (node, LABEL, rdf.string(f"{hostname} GPU {index}"), self.shared),
        ]
        return node, quads

    def _who_and_where(self, node: str, record: dict[str, Any], graph: str) -> Iterator[Quad]:
        """Yield the agents, host and GPUs an execution was associated with."""
        if (user := record.get("user")) is not None:
            person, quads = self._agent_node(user, "person")
            yield from quads
            yield (node, ASSOCIATED, person, graph)
        if (agent_id := record.get("agent_id")) is not None:
            agent, quads = self._agent_node(agent_id)
            yield from quads
            yield (node, ASSOCIATED, agent, graph)
        if (hostname := record.get("hostname")) is not None:
            host, quads = self._host_node(hostname)
            yield from quads
            yield (node, P["ranOn"], host, graph)
            for index in record.get("gpus") or ():
                gpu, quads = self._gpu_node(hostname, index)
                yield from quads
                yield (node, P["usedGPU"], gpu, graph)

    def _fields(
        self, node: str, record: dict[str, Any], spec: tuple[tuple[str, str, Callable[[Any], str]], ...], graph: str
    ) -> Iterator[Quad]:
        """Yield ``node prop term(value)`` for each ``(field, prop, term)`` of ``spec`` the record has."""
        for field, prop, term in spec:
            if (value := record.get(field)) is not None:
                yield (node, P[prop], term(value), graph)

    def _concepts(self, node: str, record: dict[str, Any], graph: str) -> Iterator[Quad]:
        """Yield the domain concepts and tags a record gives its node."""
        for concept in record.get("domain_concepts") or ():
            yield (node, P["domainConcept"], rdf.iri(concept), graph)
        tags = record.get("tags") or ()
        for tag in tags.items() if isinstance(tags, dict) else tags:
            yield (node, P["tag"], rdf.string(f"{tag[0]}={tag[1]}" if isinstance(tag, tuple) else str(tag)), graph)

    def _times(self, node: str, record: dict[str, Any], graph: str) -> Iterator[Quad]:
        if (started := record.get("started_at")) is not None:
            yield (node, STARTED, date_time(started), graph)
        if (ended := record.get("ended_at")) is not None:
            yield (node, ENDED, date_time(ended), graph)
        if (status := record.get("status")) is not None:
            self._note_status(node, status, graph)

    def _file_facts(self, node: str, record: dict[str, Any]) -> Iterator[Quad]:
        """Yield where a file-like thing lives and what it holds (location, digest, size...)."""
        yield from self._fields(node, record, _FILE_FIELDS, self.shared)
        yield from self._concepts(node, record, self.shared)

    # -- record types ------------------------------------------------------------------

    def _workflow(self, record: dict[str, Any]) -> Iterator[Quad]:
        workflow_id = record["workflow_id"]
        node = _t(self.ids.workflow(workflow_id))
        shared = self.shared
        yield from self._workflow_node(workflow_id)
        if (name := record.get("name")) is not None:
            yield from self._workflow_name(node, name)
        if (campaign_id := record.get("campaign_id")) is not None:
            yield from self._study(node, campaign_id)
        if (parent := record.get("parent_workflow_id")) is not None:
            yield from self._workflow_node(parent)
            yield (node, P["partOf"], _t(self.ids.workflow(parent)), shared)
        yield from self._times(node, record, shared)
        yield from self._who_and_where(node, record, shared)
        yield from self._concepts(node, record, shared)
        if (repo := record.get("code_repository")) is not None:
            yield from self._code_version(node, repo)
        if (environment := record.get("environment")) is not None:
            yield from self._environment(node, environment)
        for seed in (record.get("seeds") or {}).values():
            yield (node, P["randomSeed"], rdf.integer(seed), shared)

    def _code_version(self, node: str, repo: dict[str, Any]) -> Iterator[Quad]:
        commit = repo.get("commit") or repo.get("sha")
        if not commit:
            return
        remote, dirty = repo.get("remote") or "", bool(repo.get("dirty"))
        code = _t(self.ids.code_version(remote, commit, dirty))
        yield (code, A, P["CodeVersion"], self.shared)
        yield (code, A, ENTITY, self.shared)
        yield (code, P["commit"], rdf.string(commit), self.shared)
        yield (code, P["dirty"], rdf.boolean(dirty), self.shared)
        if remote:
            yield (code, P["repository"], rdf.string(remote), self.shared)
        if branch := repo.get("branch"):
            yield (code, P["branch"], rdf.string(branch), self.shared)
        yield (node, P["hasCodeVersion"], code, self.shared)
        yield (node, USED, code, self.shared)

    def _environment(self, node: str, environment: dict[str, Any]) -> Iterator[Quad]:
        digest = hashlib.sha256(_json_text(environment).encode()).hexdigest()[:16]
        env = _t(self.ids.environment(digest))
        yield (env, A, P["Environment"], self.shared)
        yield (env, A, ENTITY, self.shared)
        yield from self._fields(env, environment, _ENVIRONMENT_FIELDS, self.shared)
        for package, version in sorted((environment.get("packages") or {}).items()):
            yield (env, P["package"], rdf.string(f"{package}=={version}"), self.shared)
        yield (node, P["hasEnvironment"], env, self.shared)
        yield (node, USED, env, self.shared)

    def _task(self, record: dict[str, Any]) -> Iterator[Quad]:
        workflow_id, task_id = record["workflow_id"], record["task_id"]
        node, graph = _t(self.ids.task(workflow_id, task_id)), self.graph
        execution_class, plan_class = _STAGES.get(str(record.get("subtype", "")).lower(), _DEFAULT_STAGE)
        yield (node, A, execution_class, graph)
        yield (node, A, P["TaskExecution"], graph)
        yield (node, A, ACTIVITY, graph)
        yield (node, P["sourceId"], rdf.string(task_id), graph)
        workflow = _t(self.ids.workflow(workflow_id))
        yield from self._workflow_node(workflow_id)
        if (parent := record.get("parent_task_id")) is not None:
            yield (node, P["partOf"], _t(self.ids.task(workflow_id, parent)), graph)
        elif "started_at" in record or "activity_id" in record:  # the record that starts a task says where
            yield (node, P["partOf"], workflow, graph)  # later ones (its end) need not repeat its parent
        if (campaign_id := record.get("campaign_id")) is not None:
            yield from self._study(workflow, campaign_id)
        if (workflow_name := record.get("workflow_name")) is not None:
            yield from self._workflow_name(workflow, workflow_name)
        if (activity_id := record.get("activity_id")) is not None:
            plan = _t(self.ids.task_plan(activity_id))
            yield (plan, A, plan_class, self.shared)
            yield (plan, A, ENTITY, self.shared)
            yield (plan, LABEL, rdf.string(activity_id), self.shared)
            yield (node, P["executionOf"], plan, graph)
            yield (node, LABEL, rdf.string(activity_id), graph)
        yield from self._times(node, record, graph)
        if isinstance(stderr := record.get("stderr"), str) and stderr and _status(record.get("status")) == "ERROR":
            yield (node, P["errorMessage"], rdf.string(stderr[-_MAX_TEXT:]), graph)
        for name, value in (record.get("used") or {}).items():
            yield from self._data_value(node, workflow_id, name, value, "input")
        for name, value in (record.get("generated") or {}).items():
            yield from self._data_value(node, workflow_id, name, value, "output")
        for dependency in record.get("dependencies") or ():
            yield (node, INFORMED_BY, _t(self.ids.task(workflow_id, dependency)), graph)
        yield from self._who_and_where(node, record, graph)
        yield from self._concepts(node, record, graph)
        hostname = record.get("hostname")
        for key, time_key in (("telemetry_at_start", "started_at"), ("telemetry_at_end", "ended_at")):
            block, timestamp = record.get(key), record.get(time_key)
            if isinstance(block, dict) and hostname is not None and timestamp is not None:
                yield from self._samples(node, hostname, timestamp, block)

    def _data_value(self, execution: str, workflow_id: str, name: str, value: Any, role: str) -> Iterator[Quad]:
        """Yield a value an execution used (input) or generated (output); return its node.

        A generated value is the execution's own. A used value is the one an earlier task of
        the dump generated under the same name with the same content, if any (how Flowcept
        chains tasks), else the execution's own input.
        """
        key = (workflow_id, name, _value_key(value))
        if role == "input" and (entity := self._generated.get(key)) is not None:
            yield (execution, USED, entity, self.graph)
            return entity
        entity = f"{execution[:-1]}/{'in' if role == 'input' else 'out'}/{segment(name)}>"
        if role == "output":
            self._generated[key] = entity
            if len(self._generated) > _MAX_GENERATED:
                del self._generated[next(iter(self._generated))]
        yield (entity, A, P["DataValue"], self.graph)
        yield (entity, A, ENTITY, self.graph)
        yield (entity, LABEL, rdf.string(name), self.graph)
        if value is not None:
            yield (entity, P["value"], _value_literal(value), self.graph)
        if role == "input":
            yield (execution, USED, entity, self.graph)
        else:
            yield (entity, GENERATED_BY, execution, self.graph)
        return entity

    def _param(self, record: dict[str, Any]) -> Iterator[Quad]:
        name, graph = record["name"], self.graph
        run = self._execution(record)
        setting = _t(self.ids.setting(run[1:-1], name))
        hyperparameter = _t(self.ids.hyperparameter(name))
        yield (hyperparameter, A, P["Hyperparameter"], self.shared)
        yield (hyperparameter, A, ENTITY, self.shared)
        yield (hyperparameter, LABEL, rdf.string(name), self.shared)
        if (kind := record.get("kind")) is not None:
            yield (hyperparameter, A, _HYPERPARAMETER_KINDS[kind], self.shared)
        yield (setting, A, P["HyperparameterSetting"], graph)
        yield (setting, A, ENTITY, graph)
        yield (setting, LABEL, rdf.string(name), graph)
        yield (setting, _t(MLS.specifiedBy), hyperparameter, graph)
        if (value := record["value"]) is not None:
            yield (setting, P["value"], rdf.literal(value), graph)
        yield (run, P["hasHyperparameterSetting"], setting, graph)
        yield (run, USED, setting, graph)

    def _metric(self, record: dict[str, Any]) -> Iterator[Quad]:
        name, timestamp, graph = record["name"], record["timestamp"], self.graph
        step, epoch, value = record.get("step"), record.get("epoch"), record["value"]
        run = self._execution(record)
        point = _t(self.ids.metric(run[1:-1], name, "" if step is None else step, timestamp))
        measure = _t(self.ids.measure(name))
        yield (measure, A, P["EvaluationMeasure"], self.shared)
        yield (measure, A, ENTITY, self.shared)
        yield (measure, LABEL, rdf.string(name), self.shared)
        yield (point, A, P["ModelEvaluation"], graph)
        yield (point, A, ENTITY, graph)
        yield (point, _t(MLS.specifiedBy), measure, graph)
        yield (point, P["value"], rdf.double(float("nan") if value is None else float(value)), graph)
        if step is not None:
            yield (point, P["step"], rdf.integer(step), graph)
        if epoch is not None:
            yield (point, P["epoch"], rdf.integer(epoch), graph)
        moment = _datetime(timestamp)
        yield (point, GENERATED_AT, rdf.date_time(moment), graph)
        yield (point, GENERATED_BY, run, graph)
        if (model_id := record.get("model_id")) is not None:
            yield (point, P["evaluatedModel"], _t(self.ids.model(model_id)), graph)
        # the run's last value of the measure: the latest in time, then of the highest step (a tie is one node)
        order = (_instant(moment), -1 if step is None else step)
        last = self._last_values.get((run, measure))
        if last is None or order >= last[0]:
            self._last_values[run, measure] = (order, point)

    def _link(self, node: str, record: dict[str, Any], default_role: str | None) -> Iterator[Quad]:
        """Yield how the record's execution used (input) or generated (output) ``node``."""
        role = record.get("role", default_role)
        if role == "input":
            yield (self._execution(record), USED, node, self.graph)
        elif role == "output":
            yield (node, GENERATED_BY, self._execution(record), self.graph)

    def _dataset(self, record: dict[str, Any]) -> Iterator[Quad]:
        key = record.get("dataset_id") or record.get("sha256") or record.get("location")
        key = key or f"{record['workflow_id']}/{record['name']}"
        node, shared = _t(self.ids.dataset(key)), self.shared
        yield (node, A, P["Dataset"], shared)
        yield (node, A, ENTITY, shared)
        if (kind := record.get("kind")) is not None:
            yield (node, A, _DATASET_KINDS[kind], shared)
        yield (node, LABEL, rdf.string(record["name"]), shared)
        yield from self._file_facts(node, record)
        if (shape := record.get("shape")) is not None:
            yield (node, P["shape"], rdf.string(_json_text(shape)), shared)
        if (schema := record.get("schema")) is not None:
            yield (node, P["schema"], rdf.string(schema if isinstance(schema, str) else _json_text(schema)), shared)
        for origin in record.get("derived_from") or ():
            yield (node, DERIVED, _t(self.ids.dataset(origin)), shared)
        yield from self._link(node, record, None)

    def _model(self, record: dict[str, Any]) -> Iterator[Quad]:
        key = record.get("model_id") or record.get("sha256")
        key = key or f"{record['workflow_id']}/{record.get('task_id', '')}/{record['name']}"
        node, shared = _t(self.ids.model(key)), self.shared
        yield (node, A, P["Model"], shared)
        yield (node, A, ENTITY, shared)
        yield (node, LABEL, rdf.string(record["name"]), shared)
        yield from self._file_facts(node, record)
        for origin in record.get("derived_from") or ():
            yield (node, DERIVED, _t(self.ids.model(origin)), shared)
        algorithm = implementation = None
        if (name := record.get("algorithm")) is not None:
            algorithm = _t(self.ids.algorithm(name))
            yield from ((algorithm, A, P["Algorithm"], shared), (algorithm, A, ENTITY, shared))
            yield (algorithm, LABEL, rdf.string(name), shared)
        if (name := record.get("implementation")) is not None:
            implementation = _t(self.ids.implementation(name))
            yield from ((implementation, A, P["Implementation"], shared), (implementation, A, ENTITY, shared))
            yield (implementation, LABEL, rdf.string(name), shared)
            if algorithm is not None:
                yield (implementation, _t(MLS.implements), algorithm, shared)
        role = record.get("role", "output")
        if role == "output" and "task_id" in record:
            run = self._execution(record)
            if algorithm is not None:
                yield (run, _t(MLS.realizes), algorithm, self.graph)
            if implementation is not None:
                yield (run, _t(MLS.executes), implementation, self.graph)
        yield from self._link(node, record, "output")

    def _data(self, record: dict[str, Any]) -> Iterator[Quad]:
        reference = record.get("sha256") or record.get("location")
        if reference is None:
            node = yield from self._data_value(
                self._execution(record), record["workflow_id"], record["name"], record.get("value"), record["role"]
            )
            yield from self._concepts(node, record, self.graph)
            return
        node = _t(self.ids.value(record["workflow_id"], record["name"], _value_key(reference)))
        yield (node, A, P["DataReference"], self.shared)
        yield (node, A, ENTITY, self.shared)
        yield (node, LABEL, rdf.string(record["name"]), self.shared)
        yield from self._file_facts(node, record)
        yield from self._link(node, record, None)

    def _agent(self, record: dict[str, Any]) -> Iterator[Quad]:
        node, quads = self._agent_node(record["agent_id"], record.get("kind"))
        yield from quads
        if (name := record.get("name")) is not None:
            yield (node, LABEL, rdf.string(name), self.shared)
        yield from self._fields(node, record, (("version", "version", rdf.string),), self.shared)

    def _host(self, record: dict[str, Any]) -> Iterator[Quad]:
        hostname, shared = record["hostname"], self.shared
        node, quads = self._host_node(hostname)
        yield from quads
        yield from self._fields(node, record, _HOST_FIELDS, shared)
        for gpu_record in record.get("gpus") or ():
            gpu, quads = self._gpu_node(hostname, gpu_record["index"])
            yield from quads
            yield from self._fields(gpu, gpu_record, _GPU_FIELDS, shared)

    def _telemetry(self, record: dict[str, Any]) -> Iterator[Quad]:
        yield from self._samples(self._execution(record), record["hostname"], record["timestamp"], record)

    def _samples(self, execution: str, hostname: str, timestamp: Any, block: dict[str, Any]) -> Iterator[Quad]:
        """Yield a telemetry sample of a host, and one per GPU, taken while ``execution`` ran."""
        graph, at = self.graph, date_time(timestamp)
        host, quads = self._host_node(hostname)
        yield from quads
        sample = _t(self.ids.telemetry(host[1:-1], execution[1:-1], timestamp))
        yield from self._sample(sample, host, execution, at)
        cpu, memory = block.get("cpu"), block.get("memory")
        if isinstance(cpu, dict) and isinstance(percent := cpu.get("percent_all"), (int, float)):
            yield (sample, P["cpuPercent"], rdf.double(float(percent)), graph)
        virtual = memory.get("virtual") if isinstance(memory, dict) else None
        if isinstance(virtual, dict) and isinstance(used := virtual.get("used"), int):
            yield (sample, P["memoryUsedBytes"], rdf.integer(used), graph)
        gpus = block.get("gpu")
        for gpu_block in gpus if isinstance(gpus, list) else ():
            if not isinstance(gpu_block, dict) or not isinstance(index := gpu_block.get("index"), int):
                continue
            gpu, quads = self._gpu_node(hostname, index)
            yield from quads
            gpu_sample = _t(self.ids.telemetry(gpu[1:-1], execution[1:-1], timestamp))
            yield from self._sample(gpu_sample, gpu, execution, at)
            if isinstance(utilization := gpu_block.get("utilization"), (int, float)):
                yield (gpu_sample, P["gpuUtilizationPercent"], rdf.double(float(utilization)), graph)
            if isinstance(used := gpu_block.get("memory_used"), int):
                yield (gpu_sample, P["gpuMemoryUsedBytes"], rdf.integer(used), graph)

    def _sample(self, sample: str, source: str, execution: str, at: str) -> Iterator[Quad]:
        graph = self.graph
        yield (sample, A, P["TelemetrySample"], graph)
        yield (sample, A, ENTITY, graph)
        yield (sample, P["sampledFrom"], source, graph)
        yield (sample, GENERATED_BY, execution, graph)
        yield (sample, GENERATED_AT, at, graph)
