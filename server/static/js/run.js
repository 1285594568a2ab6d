// The page of one run (any activity): its facts, hyperparameters, metric curves, inputs, outputs and lineage.

import { lineChart } from "./chart.js";
import { Table, badge, duration, fail, format, h, lineageLink, params, runLink, say, shortName } from "./dom.js";
import { showPicture } from "./picture.js";
import { axisFormat, describeRun, elapsed, kindOf, placeOnAxis } from "./runs-data.js";

const PICTURE_DEPTH = 2;
const status = document.getElementById("status");

function facts(run) {
  const items = [
    ["kind", kindOf(run.types)],
    ["status", badge(run.status)],
    ["workflow", run.workflowIri ? runLink(run.workflowIri, run.workflow ?? run.workflowIri) : ""],
    ["plan", run.plan],
    ["started", format(run.started)],
    ["ended", format(run.ended)],
    ["duration", duration(elapsed(run))],
    ["ran on", run.host],
    ["run by", run.agent],
    ["error", run.error],
    ["IRI", h("code", {}, run.iri)],
  ];
  return items.filter(([, value]) => value).flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]);
}

const digest = (entity) => `${entity.sha256.slice(0, 16)}…`;

function entityTable(entities, none) {
  if (!entities.length) return h("p", { className: "hint" }, none);
  const columns = [
    { key: "name", cell: (e) => lineageLink(e.entity, e.name) },
    { key: "kind" },
    { key: "value", label: "value or SHA-256", cell: (e) => e.value ?? (e.sha256 ? h("code", {}, digest(e)) : "") },
  ];
  return new Table(columns, entities).element;
}

function partsTable(parts) {
  const rows = parts.map((part) => ({ ...part, kind: kindOf(part.types), seconds: elapsed(part) }));
  const columns = [
    { key: "id", label: "part", cell: (p) => runLink(p.part, p.id ?? shortName(p.part)) },
    { key: "kind" },
    { key: "status", cell: (p) => badge(p.status) },
    { key: "started" },
    { key: "seconds", label: "duration", numeric: true, cell: (p) => duration(p.seconds) },
  ];
  return new Table(columns, rows, { className: "compact" }).element;
}

function charts(metrics) {
  const names = Object.keys(metrics);
  if (!names.length) return [h("p", { className: "hint" }, "This run logged no metric.")];
  return names.map((name) => {
    const values = metrics[name];
    const axis = placeOnAxis(values);
    const series = [{ name, points: values }];
    const chart = lineChart({ title: name, series, xLabel: axis, formatX: axisFormat(axis), formatY: format });
    const columns = ["step", "epoch", "time", "value"].filter((key) => values.some((v) => v[key] !== undefined));
    const valueTable = new Table(
      columns.map((key) => ({ key, numeric: key !== "time" })),
      values,
    );
    const summary = h("summary", {}, `the ${values.length} values`);
    chart.append(h("details", {}, summary, h("div", { className: "scroll" }, valueTable.element)));
    return chart;
  });
}

async function main() {
  const iri = params().get("iri");
  if (!iri) {
    status.replaceChildren("Which run? Pick one on the ", h("a", { href: "/ui/runs" }, "runs page"), ".");
    return;
  }
  const run = await describeRun(iri);
  if (!run) throw new Error(`the store has no activity ${iri}`);
  const name = run.id ?? run.label ?? iri;
  document.title = `${name} · provml`;
  document.getElementById("title").textContent = `${kindOf(run.types) || "activity"} ${name}`;
  document.getElementById("facts").replaceChildren(...facts(run));
  document.getElementById("params").replaceChildren(
    run.params.length
      ? new Table([{ key: "name" }, { key: "value", numeric: true }], run.params).element
      : h("p", { className: "hint" }, "No hyperparameter settings."),
  );
  document.getElementById("charts").replaceChildren(...charts(run.metrics));
  if (run.parts.length) {
    document.getElementById("parts").replaceChildren(partsTable(run.parts));
    document.getElementById("parts-section").hidden = false;
  }
  const noInputs = "It used no data or model that the store knows of.";
  document.getElementById("inputs").replaceChildren(entityTable(run.inputs, noInputs));
  document.getElementById("outputs").replaceChildren(entityTable(run.outputs, "It generated no data or model."));
  document.getElementById("lineage-more").replaceChildren(
    `What this run used and where that came from, ${PICTURE_DEPTH} steps back; `,
    lineageLink(iri, "the full lineage"),
    ".",
  );
  document.getElementById("run").hidden = false;
  say(status, "");
  const picture = document.getElementById("picture");
  await showPicture(picture, iri, PICTURE_DEPTH).catch((error) => fail(picture, error));
}

main().catch((error) => fail(status, error));
