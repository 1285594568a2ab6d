// Comparing runs: one column per run, one row per setting, metric, input; one chart per metric.

import { lineChart } from "./chart.js";
import { badge, duration, fail, format, h, lineageLink, params, runLink, say } from "./dom.js";
import { axisFormat, describeRun, elapsed, listRuns, placeOnAxis } from "./runs-data.js";

const status = document.getElementById("status");
const selects = [1, 2, 3, 4].map((n) => document.getElementById(`run-${n}`));

/** Fill the run pickers with the training runs, `chosen` selected. */
async function offerRuns(chosen) {
  const { runs } = await listRuns();
  selects.forEach((select, index) => {
    const none = index < 2 ? "— choose a run —" : "— none —";
    select.replaceChildren(
      h("option", { value: "" }, none),
      ...runs.map((run) => {
        const text = `${run.id ?? run.run} (${run.workflow ?? "no workflow"}, ${run.status})`;
        return h("option", { value: run.run, selected: run.run === chosen[index] }, text);
      }),
    );
  });
}

/** The rows of the comparison: [{section, name, cells: [text or node per run], values: [comparable text]}]. */
function rows(runs) {
  const out = [];
  const add = (section, name, pick, show = (v) => v) => {
    const values = runs.map(pick);
    const cells = values.map((v) => (v === undefined ? "" : show(v)));
    out.push({ section, name, values: values.map((v) => format(v)), cells });
  };
  const union = (list) => [...new Set(runs.flatMap(list))].sort();
  add("run", "status", (run) => run.status, badge);
  add("run", "workflow", (run) => run.workflow);
  add("run", "started", (run) => run.started, format);
  add("run", "duration", elapsed, duration);
  add("run", "ran on", (run) => run.host || undefined);
  for (const name of union((run) => run.params.map((p) => p.name))) {
    add("hyperparameter", name, (run) => run.params.find((p) => p.name === name)?.value, format);
  }
  for (const name of union((run) => Object.keys(run.metrics))) {
    add("last value", name, (run) => run.metrics[name]?.at(-1)?.value, format);
  }
  for (const name of union((run) => run.inputs.map((e) => e.name))) {
    const used = (run) => run.inputs.find((e) => e.name === name);
    const shown = (entity) => (entity.value ?? entity.sha256?.slice(0, 16) ?? "used");
    add("input", name, (run) => (used(run) ? shown(used(run)) : undefined));
  }
  add("output", "generated", (run) => run.outputs.map((e) => e.name).join(", ") || undefined);
  return out;
}

function comparison(runs) {
  const head = h(
    "tr",
    {},
    h("th", { scope: "col" }, "aspect"),
    h("th", { scope: "col" }, "item"),
    runs.map((run) => h("th", { scope: "col" }, runLink(run.iri, run.id ?? run.iri))),
  );
  const body = rows(runs).map((row) =>
    h(
      "tr",
      { className: new Set(row.values).size > 1 ? "differs" : null },
      h("td", { className: "hint" }, row.section),
      h("th", { scope: "row" }, row.section === "input" ? lineageLinkFor(runs, row.name) : row.name),
      row.cells.map((cell) => h("td", {}, cell)),
    ),
  );
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
}

function lineageLinkFor(runs, name) {
  const entity = runs.flatMap((run) => run.inputs).find((e) => e.name === name);
  return entity ? lineageLink(entity.entity, name) : name;
}

function charts(runs) {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.metrics)))].sort();
  return names.map((name) => {
    const logged = runs.filter((run) => run.metrics[name]);
    const series = logged.map((run) => ({ name: run.id ?? run.iri, points: run.metrics[name] }));
    const axis = placeOnAxis(series.flatMap((one) => one.points));
    return lineChart({ title: name, series, xLabel: axis, formatX: axisFormat(axis), formatY: format });
  });
}

async function main() {
  const chosen = params().getAll("run").filter(Boolean);
  const offered = offerRuns(chosen);
  if (chosen.length < 2) {
    await offered;
    say(status, "Choose two to four runs, or tick them on the runs page.");
    return;
  }
  const runs = await Promise.all(chosen.slice(0, 4).map(describeRun));
  const missing = chosen.filter((iri, index) => !runs[index]);
  if (missing.length) throw new Error(`the store has no activity ${missing.join(", ")}`);
  const table = comparison(runs);
  document.getElementById("table").replaceChildren(table);
  document.getElementById("only-differences").addEventListener("change", (event) => {
    for (const row of table.tBodies[0].rows) row.hidden = event.target.checked && !row.classList.contains("differs");
  });
  document.getElementById("charts").replaceChildren(...charts(runs));
  document.getElementById("comparison").hidden = false;
  say(status, `${runs.length} runs; highlighted rows differ.`);
  await offered;
}

main().catch((error) => fail(status, error));
