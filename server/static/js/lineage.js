// The lineage page: the picture of where one resource comes from, and the models and datasets to start from.

import { records, select } from "./api.js";
import { Table, compare, fail, h, lineageLink, params, say } from "./dom.js";
import { pictureKey, pictureUrl, showPicture } from "./picture.js";
import { kindOf } from "./runs-data.js";

const status = document.getElementById("status");

/** The models and datasets of the store, models first. */
async function resources() {
  const rows = records(
    await select(`SELECT ?resource (SAMPLE(?label) AS ?name)
  (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
WHERE {
  { ?resource a provml:Model } UNION { ?resource a provml:Dataset }
  ?resource a ?type .
  OPTIONAL { ?resource rdfs:label ?label }
} GROUP BY ?resource LIMIT 2000`),
  );
  return rows
    .map((row) => ({ ...row, kind: kindOf(row.types) }))
    .sort((a, b) => (b.kind === "model") - (a.kind === "model") || compare(a.name, b.name));
}

async function main() {
  const iri = params().get("iri");
  const depth = params().get("depth") ?? document.getElementById("depth").value;
  const known = resources().catch(() => []); // only a convenience: the form works without it
  if (iri) {
    document.getElementById("iri").value = iri;
    document.getElementById("depth").value = depth;
    say(status, "Drawing…");
    const drawing = document.getElementById("drawing");
    drawing.hidden = false;
    const picture = await showPicture(document.getElementById("picture"), iri, depth);
    drawing.prepend(pictureKey());
    const download = document.getElementById("download");
    download.href = pictureUrl(iri, depth);
    download.hidden = false;
    say(status, `${picture.querySelectorAll("g.node").length} resources, ${depth} relations back from ${iri}.`);
  }
  const list = await known;
  const options = list.map((r) => h("option", { value: r.resource }, `${r.name ?? ""} (${r.kind})`));
  document.getElementById("known").replaceChildren(...options);
  if (!iri) {
    const columns = [
      { key: "name", cell: (r) => lineageLink(r.resource, r.name ?? r.resource) },
      { key: "kind" },
      { key: "resource", label: "IRI" },
    ];
    document.getElementById("resources").replaceChildren(new Table(columns, list).element);
    document.getElementById("starts").hidden = false;
  }
}

main().catch((error) => fail(status, error));
