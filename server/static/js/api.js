// Asking this provml server: SPARQL SELECT over /sparql, canned queries over /queries, JSON routes.

const RESULTS = "application/sparql-results+json";
const IRI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\u0000-\u0020<>"{}|^`\\]*$/;

export const PREFIXES = `PREFIX provml: <https://w3id.org/provml#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX mls: <http://www.w3.org/ns/mls#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
`;
export const PROVML = "https://w3id.org/provml#";

/** Run a SPARQL SELECT (PROV-ML prefixes included); resolve to {vars, rows}, a row mapping variables to terms. */
export async function select(sparql) {
  const response = await fetch("/sparql", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: RESULTS },
    body: new URLSearchParams({ query: PREFIXES + sparql }),
  });
  return solutions(response);
}

/** Run the canned query `name` with `params` ({name: value}); resolve like select(). */
export async function canned(name, params = {}) {
  return solutions(await fetch(cannedUrl(name, params, "json"), { headers: { Accept: RESULTS } }));
}

/** The URL of a canned query's answer in `format` (json, csv, tsv, xml). */
export function cannedUrl(name, params, format) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== ""));
  query.set("format", format);
  return `/queries/${encodeURIComponent(name)}?${query}`;
}

/** GET a JSON route of the server. */
export async function json(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** GET `url`, whose answer is text (an SVG picture); failures carry the server's message. */
export async function text(url) {
  const response = await fetch(url);
  if (!response.ok) throw await failure(response);
  return response.text();
}

async function solutions(response) {
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  return { vars: body.head.vars, rows: body.results.bindings };
}

/** An Error carrying the server's {"error": message}, or the HTTP status when there is none. */
async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body.error) message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new Error(message);
}

/** `iri` written for SPARQL: <iri>; throws unless it is an absolute IRI (so it cannot change the query). */
export function iriRef(iri) {
  if (!IRI.test(iri)) throw new Error(`not an absolute IRI: ${iri}`);
  return `<${iri}>`;
}

/** A term's value: a number for numeric literals, else its text; undefined when unbound. */
export function value(term) {
  if (!term) return undefined;
  const type = term.datatype || "";
  if (/#(integer|int|long|short|decimal|double|float|nonNegativeInteger)$/.test(type)) return Number(term.value);
  return term.value;
}

/** The rows of an answer as plain objects of values (see value()). */
export function records({ rows }) {
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([name, term]) => [name, value(term)])));
}
