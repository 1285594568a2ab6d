// The runs page: every training run in a table to sort, search and pick runs to compare from.

import { RUNS_SHOWN, elapsed, listRuns } from "./runs-data.js";
import { Table, badge, duration, fail, format, h, runLink, say } from "./dom.js";

const MAX_COMPARED = 4;
const ticked = new Set();
const status = document.getElementById("status");
const search = document.getElementById("search");
const compareButton = document.getElementById("compare");

function columns(runs) {
  const names = (part) => [...new Set(runs.flatMap((run) => Object.keys(run[part])))].sort();
  const tick = (run) =>
    h("input", {
      type: "checkbox",
      "aria-label": `compare ${run.id ?? run.run}`,
      checked: ticked.has(run.run),
      onchange: (event) => {
        if (event.target.checked) ticked.add(run.run);
        else ticked.delete(run.run);
        showTicked();
      },
    });
  return [
    { key: "ticked", label: "compare", sortable: false, cell: tick },
    { key: "id", label: "run", cell: (run) => runLink(run.run, run.id ?? run.run) },
    { key: "workflow" },
    { key: "status", cell: (run) => badge(run.status) },
    { key: "started" },
    { key: "seconds", label: "duration", numeric: true, cell: (run) => duration(run.seconds) },
    ...names("params").map((name) => ({ key: `param:${name}`, label: name, numeric: true })),
    ...names("metrics").map((name) => ({ key: `metric:${name}`, label: `${name} (last)`, numeric: true })),
  ];
}

function showTicked() {
  compareButton.disabled = ticked.size < 2 || ticked.size > MAX_COMPARED;
  document.getElementById("ticked").textContent =
    ticked.size > MAX_COMPARED ? `${ticked.size} ticked: compare at most ${MAX_COMPARED}.` : `${ticked.size} ticked.`;
}

/** The words a run matches in the search box: its cells, and name=value for its hyperparameters and metrics. */
function words(run) {
  const pairs = [...Object.entries(run.params), ...Object.entries(run.metrics)].map(([k, v]) => `${k}=${format(v)}`);
  return [run.id, run.run, run.workflow, run.status, run.started, ...pairs].join(" ").toLowerCase();
}

async function main() {
  const { runs, more } = await listRuns();
  if (!runs.length) {
    say(status, "No training run is loaded yet.");
    return;
  }
  for (const run of runs) {
    run.seconds = elapsed(run);
    for (const [name, value] of Object.entries(run.params)) run[`param:${name}`] = value;
    for (const [name, value] of Object.entries(run.metrics)) run[`metric:${name}`] = value;
    run.text = words(run);
  }
  const table = new Table(columns(runs), runs, { className: "compact" });
  document.getElementById("runs").replaceChildren(table.element);
  const total = `${runs.length} training runs${more ? ` (the first ${RUNS_SHOWN})` : ""}`;
  const narrow = () => {
    const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = table.filter((run) => terms.every((term) => run.text.includes(term)));
    say(status, terms.length ? `${shown} of ${total} match.` : `${total}.`);
  };
  search.addEventListener("input", narrow);
  narrow();
  compareButton.addEventListener("click", () => {
    const query = new URLSearchParams([...ticked].map((iri) => ["run", iri]));
    window.location.href = `/ui/compare?${query}`;
  });
}

main().catch((error) => fail(status, error));
