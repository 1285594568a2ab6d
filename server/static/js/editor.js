// The SPARQL editor: YASGUI (vendored in ../vendor/yasgui) asking this server's /sparql, and nothing else.

import { PREFIXES } from "./api.js";

const EXAMPLE = `${PREFIXES}
# The training runs, their status and the models they generated
SELECT ?run ?status ?model WHERE {
  ?r a provml:TrainingExecution ; provml:sourceId ?run .
  OPTIONAL { ?r provml:status ?status }
  OPTIONAL { ?m prov:wasGeneratedBy ?r ; a provml:Model ; rdfs:label ?model }
}
ORDER BY ?run
LIMIT 100
`;
const endpoint = new URL("/sparql", window.location.href).href;

// window.yasgui: for the browser's console (and the tests)
window.yasgui = new window.Yasgui(document.getElementById("yasgui"), {
  requestConfig: { endpoint, method: "POST" },
  copyEndpointOnNewTab: false,
  endpointCatalogueOptions: { getData: () => [{ endpoint }] },
  // the tabs a browser keeps are this server's: another server (another port) keeps its own
  persistenceId: `provml-${window.location.host}`,
  // prefixes and variables complete from what YASGUI ships; LOV's classes and properties would be fetched
  yasqe: { value: EXAMPLE, autocompleters: ["prefixes", "variables"] },
});
