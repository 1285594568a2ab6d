// The canned-query browser: the list from GET /queries, a form per query built from its parameters, its answer.

import { canned, cannedUrl, json, value } from "./api.js";
import { Table, fail, format, h, lineageLink, say } from "./dom.js";

const DIMENSIONS = ["phase", "data", "timing", "direction"];
const status = document.getElementById("status");
const panel = document.getElementById("panel");
const title = document.getElementById("query-title");
let queries = [];

/** The query and parameter values the address names: #name?param=value. */
function fromHash() {
  const [name, query] = window.location.hash.slice(1).split(/\?(.*)/s);
  return { name: decodeURIComponent(name), values: new URLSearchParams(query ?? ""), run: query !== undefined };
}

function showList() {
  const words = document.getElementById("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const chosen = Object.fromEntries(DIMENSIONS.map((d) => [d, document.getElementById(`tag-${d}`).value]));
  const current = fromHash().name;
  const shown = queries.filter((q) => {
    const text = [q.name, q.summary, q.description, ...q.tags].join(" ").toLowerCase();
    const tagged = DIMENSIONS.every((d) => !chosen[d] || q.taxonomy[d].includes(chosen[d]));
    return tagged && words.every((w) => text.includes(w));
  });
  document.getElementById("list").replaceChildren(
    ...shown.map((q) => {
      const link = { href: `#${q.name}`, "aria-current": q.name === current ? "true" : null };
      return h("li", {}, h("a", link, q.name, h("small", {}, q.summary)));
    }),
  );
}

function tagFilters() {
  return DIMENSIONS.map((dimension) => {
    const values = [...new Set(queries.flatMap((q) => q.taxonomy[dimension]))].sort();
    const select = h(
      "select",
      { id: `tag-${dimension}`, onchange: showList },
      h("option", { value: "" }, "any"),
      values.map((v) => h("option", { value: v }, v)),
    );
    return h("div", { className: "field" }, h("label", { for: select.id }, dimension), select);
  });
}

/** One form field for a query parameter: its type decides the input, its header the label and hints. */
function field(parameter, given) {
  const id = `param-${parameter.name}`;
  const common = { id, name: parameter.name, required: parameter.required, "aria-describedby": `${id}-about` };
  const current = given ?? parameter.default ?? "";
  let input;
  if (parameter.choices.length) {
    input = h(
      "select",
      common,
      parameter.required ? null : h("option", { value: "" }, "—"),
      parameter.choices.map((c) => h("option", { value: c, selected: c === current }, c)),
    );
  } else {
    const type = parameter.type === "integer" ? "number" : "text";
    const placeholder = parameter.example ? `e.g. ${parameter.example}` : null;
    input = h("input", { ...common, type, value: current, placeholder, spellcheck: "false" });
  }
  const about = [parameter.description, parameter.type, parameter.required ? "required" : "optional"];
  return h(
    "div",
    { className: "field" },
    h("label", { for: id }, parameter.name),
    input,
    h("span", { className: "hint", id: `${id}-about` }, about.filter(Boolean).join(" · ")),
  );
}

function showQuery() {
  const { name, values, run } = fromHash();
  const query = queries.find((q) => q.name === name);
  showList();
  if (!query) {
    title.textContent = "Choose a query";
    say(status, name ? `There is no canned query named ${name}.` : `${queries.length} queries: choose one.`);
    panel.replaceChildren();
    return;
  }
  title.textContent = query.name;
  say(status, "");
  const result = h("div", { className: "scroll", id: "result" });
  const links = h("span", { className: "hint" });
  const form = h(
    "form",
    { className: "parameters", id: "parameters" },
    query.parameters.map((p) => field(p, values.get(p.name))),
    h("div", { className: "actions" }, h("button", { type: "submit" }, "Run"), links),
  );
  const current = () => Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
  const showLinks = () =>
    links.replaceChildren(
      "answer as ",
      ...["csv", "json", "tsv"].flatMap((format, index) => [
        index ? ", " : "",
        h("a", { href: cannedUrl(query.name, current(), format) }, format.toUpperCase()),
      ]),
    );
  form.addEventListener("input", showLinks);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const given = new URLSearchParams(current());
    history.replaceState(null, "", `#${query.name}?${given}`);
    runQuery(query, current(), result);
  });
  panel.replaceChildren(
    h("p", {}, query.summary),
    h("p", { className: "hint" }, query.description),
    h("ul", { className: "tags", "aria-label": "tags" }, query.tags.map((t) => h("li", {}, t))),
    form,
    result,
  );
  showLinks();
  if (run) runQuery(query, current(), result);
}

async function runQuery(query, params, where) {
  say(status, `Running ${query.name}…`);
  where.replaceChildren();
  const started = performance.now();
  try {
    const answer = await canned(query.name, params);
    const terms = new WeakMap(); // row → its RDF terms: an IRI is shown as a link to its lineage
    const rows = answer.rows.map((solution) => {
      const row = Object.fromEntries(answer.vars.map((v) => [v, value(solution[v])]));
      terms.set(row, solution);
      return row;
    });
    const columns = answer.vars.map((v) => ({
      key: v,
      numeric: rows.some((row) => typeof row[v] === "number"),
      cell: (row) => (terms.get(row)[v]?.type === "uri" ? lineageLink(row[v]) : format(row[v])),
    }));
    where.replaceChildren(new Table(columns, rows).element);
    say(status, `${rows.length} rows in ${Math.round(performance.now() - started)} ms.`);
  } catch (error) {
    say(status, "");
    fail(where, error);
  }
}

async function main() {
  queries = await json("/queries");
  document.getElementById("filters").append(...tagFilters());
  document.getElementById("filter").addEventListener("input", showList);
  window.addEventListener("hashchange", () => {
    showQuery();
    title.focus();
  });
  showQuery();
}

main().catch((error) => fail(status, error));
