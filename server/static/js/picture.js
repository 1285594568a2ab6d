// Lineage pictures from GET /lineage, put into the page as inline SVG (so that their links work).

import { text } from "./api.js";
import { h } from "./dom.js";

/** The URL of the lineage picture of `iri`, `depth` relations back. */
export const pictureUrl = (iri, depth) => `/lineage?${new URLSearchParams({ iri, depth })}`;

/** Fetch the lineage picture of `iri` and show it in `where`; resolves to the <svg>. */
export async function showPicture(where, iri, depth) {
  const source = await text(pictureUrl(iri, depth));
  const picture = new DOMParser().parseFromString(source, "image/svg+xml").documentElement;
  if (picture.nodeName !== "svg") throw new Error("the server's lineage picture is not SVG");
  picture.setAttribute("role", "img");
  picture.setAttribute("aria-label", `lineage of ${iri}`);
  where.replaceChildren(document.importNode(picture, true));
  return where.firstElementChild;
}

/** The key to a picture's shapes and colours (the W3C PROV convention). */
export const pictureKey = () =>
  h(
    "ul",
    { className: "key" },
    h("li", { className: "entity" }, h("span"), "entity (data, model, value)"),
    h("li", { className: "activity" }, h("span"), "activity (run, task)"),
    h("li", { className: "agent" }, h("span"), "agent (person, software, machine)"),
    h("li", {}, "arrows point back in time: from what was made to what it came from"),
  );
