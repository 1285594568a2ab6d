// Building the pages: elements (text is always set as text, never parsed as HTML), tables, links, messages.

/** Make an element: h("a", {href: "/"}, "text", child). `on…` attributes are listeners; null children are skipped. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** The query parameters of this page. */
export const params = () => new URLSearchParams(window.location.search);

/** A short name for a resource that has no label: the end of its IRI. */
export const shortName = (iri) => decodeURIComponent(iri.replace(/[/#:]+$/, "").split(/[/#:]/).at(-1) || iri);

/** The link to the page of a run (any activity). */
export const runLink = (iri, text) => h("a", { href: `/ui/run?iri=${encodeURIComponent(iri)}` }, text ?? iri);

/** The link to the lineage picture of a resource. */
export const lineageLink = (iri, text) => h("a", { href: `/ui/lineage?iri=${encodeURIComponent(iri)}` }, text ?? iri);

/** Say what is going on in a status line (an aria-live region). */
export function say(where, message) {
  where.textContent = message;
}

/** Show an error in `where`, as an alert. */
export function fail(where, error) {
  where.replaceChildren(h("p", { className: "error", role: "alert" }, String(error.message ?? error)));
}

/** A value as a person reads it: numbers to 5 significant digits, times without milliseconds. */
export function format(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const size = Math.abs(value);
    if (size >= 1e6 || (size && size < 1e-4)) return value.toExponential(3).replace(/\.?0+e/, "e");
    return String(+value.toPrecision(5));
  }
  const time = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$/.exec(value);
  return time ? `${time[1]} ${time[2]}${time[4] === "Z" ? " UTC" : (time[4] ?? "")}` : String(value);
}

/** A duration in seconds, the way a run's length is read: 4 min 12 s. */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A run's status as a badge. */
export const badge = (status) => (status ? h("span", { className: `badge ${status}` }, status) : "");

/**
 * A table of `rows` (objects) in `columns` ({key, label, numeric, sortable, cell(row) → node or text}), in
 * `.element`. Clicking a header (a button, so the keyboard works too) sorts by that column, unless it is
 * `sortable: false`; filter() hides rows.
 */
export class Table {
  constructor(columns, rows, { className } = {}) {
    this.columns = columns;
    this.rows = rows;
    this.order = { key: null, direction: 1 };
    this.keep = () => true;
    this.body = h("tbody");
    this.headers = columns.map((column) => {
      const label = column.label ?? column.key;
      if (column.sortable === false) return h("th", { scope: "col" }, label);
      const sort = h("button", { type: "button", className: "sort", onclick: () => this.sort(column.key) }, label);
      return h("th", { scope: "col", className: column.numeric ? "number" : null, "aria-sort": "none" }, sort);
    });
    this.element = h("table", { className }, h("thead", {}, h("tr", {}, this.headers)), this.body);
    this.render();
  }

  /** Sort by the column `key`: ascending, or descending when it already is; missing values stay last. */
  sort(key) {
    this.order = { key, direction: this.order.key === key ? -this.order.direction : 1 };
    this.headers.forEach((th, index) => {
      if (this.columns[index].sortable === false) return;
      const sorted = this.columns[index].key === key;
      th.setAttribute("aria-sort", sorted ? (this.order.direction > 0 ? "ascending" : "descending") : "none");
    });
    const { direction } = this.order;
    this.rows = [...this.rows].sort((a, b) => missing(a[key]) - missing(b[key]) || direction * compare(a[key], b[key]));
    this.render();
  }

  /** Show only the rows for which `keep(row)` is true; returns how many that is. */
  filter(keep) {
    this.keep = keep;
    return this.render();
  }

  render() {
    const shown = this.rows.filter(this.keep);
    this.body.replaceChildren(
      ...shown.map((row) =>
        h(
          "tr",
          {},
          this.columns.map((column) => {
            const content = column.cell ? column.cell(row) : format(row[column.key]);
            return h("td", { className: column.numeric ? "number" : null }, content);
          }),
        ),
      ),
    );
    return shown.length;
  }
}

const missing = (value) => value === undefined || value === null || value === "";

/** Order two values: numbers by value, text naturally (train-2 before train-10). */
export function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a ?? "").localeCompare(String(b ?? ""), undefined, { numeric: true });
}
