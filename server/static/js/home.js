// The overview: how much the store holds, and its workflows, latest first.

import { json, records, select } from "./api.js";
import { Table, badge, fail, h, runLink, say } from "./dom.js";

const COUNTS = [
  ["workflows", "provml:WorkflowExecution", "/ui/queries#workflow-overview"],
  ["runs", "provml:TrainingExecution", "/ui/runs"],
  ["models", "provml:Model", "/ui/lineage"],
  ["datasets", "provml:Dataset", "/ui/lineage"],
];

async function showCounts() {
  const [counts] = records(
    await select(
      `SELECT * WHERE {\n${COUNTS.map(
        ([name, type]) => `  { SELECT (COUNT(DISTINCT ?${name}_) AS ?${name}) WHERE { ?${name}_ a ${type} } }`,
      ).join("\n")}\n}`,
    ),
  );
  const health = await json("/health");
  const tile = (number, what, href) =>
    h(
      href ? "a" : "div",
      { className: "tile", href },
      h("span", { className: "number" }, String(number)),
      h("span", { className: "what" }, what),
    );
  document
    .getElementById("tiles")
    .replaceChildren(
      ...COUNTS.map(([name, , href]) => tile(counts[name], name, href)),
      tile(health.dumps, "loaded dumps"),
    );
}

async function showWorkflows() {
  const status = document.getElementById("status");
  const workflows = records(
    await select(`SELECT ?workflow ?id ?name ?started ?status (COUNT(DISTINCT ?task) AS ?tasks) WHERE {
  ?workflow a provml:WorkflowExecution .
  OPTIONAL { ?workflow provml:sourceId ?id }
  OPTIONAL { ?workflow provml:executionOf/rdfs:label ?name }
  OPTIONAL { ?workflow prov:startedAtTime ?started }
  OPTIONAL { ?workflow provml:status ?status }
  OPTIONAL { ?task provml:partOf ?workflow }
} GROUP BY ?workflow ?id ?name ?started ?status ORDER BY DESC(?started) ?id LIMIT 50`),
  );
  if (!workflows.length) {
    say(status, "No workflow is loaded yet: see provml load --help.");
    return;
  }
  say(status, `${workflows.length} workflows, latest first.`);
  const columns = [
    { key: "id", label: "workflow", cell: (w) => runLink(w.workflow, w.id ?? w.workflow) },
    { key: "name", label: "plan" },
    { key: "started" },
    { key: "status", cell: (w) => badge(w.status) },
    { key: "tasks", numeric: true },
  ];
  document.getElementById("workflows").replaceChildren(new Table(columns, workflows).element);
}

showCounts().catch((error) => fail(document.getElementById("tiles"), error));
showWorkflows().catch((error) => fail(document.getElementById("workflows"), error));
