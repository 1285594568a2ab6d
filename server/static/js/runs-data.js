// What the pages know about runs, asked in SPARQL over PROV-ML (docs/ontology.md).

import { PROVML, iriRef, records, select } from "./api.js";
import { shortName } from "./dom.js";

export const RUNS_SHOWN = 1000;

/** PROV-ML classes in words, the most specific first (a training execution is also a task execution). */
const KINDS = [
  ["TrainingExecution", "training"],
  ["ValidationExecution", "validation"],
  ["EvaluationExecution", "evaluation"],
  ["DataCurationExecution", "data curation"],
  ["LearningDataPreparationExecution", "learning data preparation"],
  ["DeploymentExecution", "deployment"],
  ["InferenceExecution", "inference"],
  ["LearningStageSectionExecution", "epoch"],
  ["WorkflowExecution", "workflow"],
  ["TaskExecution", "task"],
  ["Model", "model"],
  ["RawDataset", "raw dataset"],
  ["DomainDataset", "domain dataset"],
  ["LearningDataset", "learning dataset"],
  ["Dataset", "dataset"],
  ["DataValue", "data value"],
  ["DataReference", "data reference"],
  ["HyperparameterSetting", "hyperparameter setting"],
  ["CodeVersion", "code version"],
  ["Environment", "environment"],
];

/** What a space-separated list of class IRIs says a resource is, in words. */
export function kindOf(types = "") {
  const classes = new Set(types.split(" "));
  return KINDS.find(([name]) => classes.has(PROVML + name))?.[1] ?? "";
}

/** The training runs (the first RUNS_SHOWN), with their hyperparameters and the last value of each metric. */
export async function listRuns() {
  const runs = oneRowPerRun(
    records(
      await select(`SELECT ?run ?id ?workflow ?status ?started ?ended WHERE {
  ?run a provml:TrainingExecution .
  OPTIONAL { ?run provml:sourceId ?id }
  OPTIONAL { ?run provml:partOf ?w . ?w a provml:WorkflowExecution ; provml:sourceId ?workflow }
  OPTIONAL { ?run provml:status ?recorded }
  OPTIONAL { ?run prov:startedAtTime ?started }
  OPTIONAL { ?run prov:endedAtTime ?ended }
  BIND(COALESCE(?recorded, IF(BOUND(?ended), "UNKNOWN", "RUNNING")) AS ?status)
} ORDER BY ?workflow ?id ?run LIMIT ${RUNS_SHOWN + 1}`),
    ),
  );
  const shown = runs.slice(0, RUNS_SHOWN).map((run) => ({ ...run, params: {}, metrics: {} }));
  if (!shown.length) return { runs: [], more: false };
  const byIri = new Map(shown.map((run) => [run.run, run]));
  for (const row of records(
    await select(`SELECT ?run ?name ?value WHERE {
  VALUES ?run { ${[...byIri.keys()].map(iriRef).join(" ")} }
  ?run provml:hasHyperparameterSetting ?setting .
  ?setting rdfs:label ?name ; provml:value ?value .
}`),
  )) {
    byIri.get(row.run).params[row.name] = row.value;
  }
  for (const [iri, metrics] of await lastValues([...byIri.keys()])) byIri.get(iri).metrics = metrics;
  return { runs: shown, more: runs.length > RUNS_SHOWN };
}

/**
 * The last value of each metric of the runs `iris`: a Map run → {metric: value}. provml:lastValue links say
 * which values were last; for runs without them (loaded from RDF), every value is read and the latest kept.
 */
async function lastValues(iris) {
  const latest = new Map(iris.map((iri) => [iri, {}]));
  const ask = async (runs, link) => {
    const rows = records(
      await select(`SELECT ?run ?metric ?value ?time ?step WHERE {
  VALUES ?run { ${runs.map(iriRef).join(" ")} }
  ${link}
  ?m mls:specifiedBy/rdfs:label ?metric ; provml:value ?value .
  OPTIONAL { ?m prov:generatedAtTime ?time }
  OPTIONAL { ?m provml:step ?step }
}`),
    );
    for (const row of rows) {
      const metrics = latest.get(row.run);
      if (!metrics[row.metric] || laterThan(row, metrics[row.metric])) metrics[row.metric] = row;
    }
  };
  await ask(iris, "?run provml:lastValue ?m .");
  const unlinked = iris.filter((iri) => !Object.keys(latest.get(iri)).length);
  if (unlinked.length) await ask(unlinked, "?m prov:wasGeneratedBy ?run ; a provml:ModelEvaluation .");
  const values = (metrics) => Object.fromEntries(Object.entries(metrics).map(([name, row]) => [name, row.value]));
  return new Map([...latest].map(([run, metrics]) => [run, values(metrics)]));
}

/** Was value `a` logged after `b`: later in time, or at a higher step? */
const laterThan = (a, b) =>
  (String(a.time ?? "").localeCompare(String(b.time ?? "")) || (a.step ?? 0) - (b.step ?? 0)) > 0;

/** Everything the run page shows of the activity `iri`; null when the store knows nothing of it as an activity. */
export async function describeRun(iri) {
  const run = iriRef(iri);
  const [facts] = records(
    await select(`SELECT (SAMPLE(?id_) AS ?id) (SAMPLE(?label_) AS ?label) (SAMPLE(?status_) AS ?status)
  (MIN(?started_) AS ?started) (MAX(?ended_) AS ?ended) (SAMPLE(?workflow_) AS ?workflow) (SAMPLE(?w) AS ?workflowIri)
  (GROUP_CONCAT(DISTINCT ?host_; separator=", ") AS ?host) (GROUP_CONCAT(DISTINCT ?agent_; separator=", ") AS ?agent)
  (SAMPLE(?plan_) AS ?plan) (SAMPLE(?error_) AS ?error) (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
WHERE {
  ${run} a ?type .
  OPTIONAL { ${run} provml:sourceId ?id_ }
  OPTIONAL { ${run} rdfs:label ?label_ }
  OPTIONAL { ${run} provml:status ?status_ }
  OPTIONAL { ${run} prov:startedAtTime ?started_ }
  OPTIONAL { ${run} prov:endedAtTime ?ended_ }
  OPTIONAL { ${run} provml:partOf ?w . ?w a provml:WorkflowExecution . OPTIONAL { ?w provml:sourceId ?workflow_ } }
  OPTIONAL { ${run} provml:ranOn ?node . ?node rdfs:label ?host_ }
  OPTIONAL {
    ${run} prov:wasAssociatedWith ?who . ?who a prov:Person .
    OPTIONAL { ?who rdfs:label ?name_ FILTER NOT EXISTS { ?who provml:sourceId ?name_ } }
    OPTIONAL { ?who provml:sourceId ?whoId }
    BIND(COALESCE(?name_, ?whoId) AS ?agent_)
  }
  OPTIONAL { ${run} provml:executionOf/rdfs:label ?plan_ }
  OPTIONAL { ${run} provml:errorMessage ?error_ }
}`),
  );
  if (!facts || !facts.types || !facts.types.split(" ").some((type) => /Activity$|Execution$/.test(type))) return null;
  const [params, inputs, outputs, metrics, parts] = await Promise.all([
    select(`SELECT ?name ?value WHERE {
  ${run} provml:hasHyperparameterSetting ?setting .
  ?setting rdfs:label ?name ; provml:value ?value .
} ORDER BY ?name`),
    entities(`${run} prov:used ?entity . FILTER NOT EXISTS { ?entity a provml:HyperparameterSetting }`),
    entities(`?entity prov:wasGeneratedBy ${run} .
  FILTER NOT EXISTS { ?entity a provml:ModelEvaluation } FILTER NOT EXISTS { ?entity a provml:TelemetrySample }`),
    metricValues(run),
    select(`SELECT ?part ?id ?status ?started ?ended (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
WHERE {
  ?part provml:partOf ${run} ; a ?type .
  OPTIONAL { ?part provml:sourceId ?id }
  OPTIONAL { ?part provml:status ?status }
  OPTIONAL { ?part prov:startedAtTime ?started }
  OPTIONAL { ?part prov:endedAtTime ?ended }
} GROUP BY ?part ?id ?status ?started ?ended ORDER BY ?started ?id LIMIT 1000`),
  ]);
  if (!facts.status) facts.status = facts.ended ? "UNKNOWN" : "RUNNING";
  return { iri, ...facts, params: records(params), inputs, outputs, metrics, parts: records(parts) };
}

async function entities(pattern) {
  const rows = records(
    await select(`SELECT ?entity (SAMPLE(?label_) AS ?name) (SAMPLE(STR(?value_)) AS ?value) (SAMPLE(?sha_) AS ?sha256)
  (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types) WHERE {
  ${pattern}
  OPTIONAL { ?entity a ?type }
  OPTIONAL { ?entity rdfs:label ?label_ }
  OPTIONAL { ?entity provml:value ?value_ }
  OPTIONAL { ?entity provml:sha256 ?sha_ }
} GROUP BY ?entity ORDER BY ?name ?entity`),
  );
  return rows.map((row) => ({ ...row, name: row.name ?? shortName(row.entity), kind: kindOf(row.types) }));
}

/** The metric values a run (<iri>) logged, by metric name: {loss: [{y, step, epoch, time}]}, in order. */
async function metricValues(run) {
  const rows = records(
    await select(`SELECT ?metric ?value ?step ?epoch ?time WHERE {
  ?m prov:wasGeneratedBy ${run} ; a provml:ModelEvaluation ; mls:specifiedBy/rdfs:label ?metric ; provml:value ?value .
  OPTIONAL { ?m provml:step ?step }
  OPTIONAL { ?m provml:epoch ?epoch }
  OPTIONAL { ?m prov:generatedAtTime ?time }
} ORDER BY ?metric ?time ?step ?epoch`),
  );
  const byMetric = {};
  for (const row of rows) (byMetric[row.metric] ??= []).push({ ...row, y: row.value });
  return byMetric;
}

/**
 * What a chart of these values has as its x axis: the step when every value has one, else the epoch, else
 * the time, else the order of logging. Returns the axis label and sets each value's x.
 */
export function placeOnAxis(values) {
  const axis = ["step", "epoch"].find((name) => values.every((v) => typeof v[name] === "number"));
  if (axis) values.forEach((v) => (v.x = v[axis]));
  else if (values.every((v) => v.time)) values.forEach((v) => (v.x = Date.parse(v.time) / 1000));
  else values.forEach((v, index) => (v.x = index + 1));
  return axis ?? (values.every((v) => v.time) ? "time" : "value number");
}

/** How to write the ticks of an axis placeOnAxis() chose: times of day for a time axis. */
export const axisFormat = (axis) => (axis === "time" ? (x) => new Date(x * 1000).toISOString().slice(11, 19) : String);

/** How long a run took, in seconds (undefined until it has ended). */
export const elapsed = ({ started, ended }) =>
  started && ended ? (Date.parse(ended) - Date.parse(started)) / 1000 : undefined;

function oneRowPerRun(rows) {
  const seen = new Set();
  return rows.filter((row) => !seen.has(row.run) && seen.add(row.run));
}
