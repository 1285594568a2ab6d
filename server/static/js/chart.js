// Line charts in SVG: a path per series and a <circle class="point"> per value, with the value as its tooltip.

const SVG = "http://www.w3.org/2000/svg";
export const COLOURS = ["#1d5fbf", "#d1495b", "#2a9d8f", "#e9a03b", "#7b4fa0", "#5c6b73", "#8ab17d", "#c2675a"];

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** About `count` round numbers spanning [low, high] (a one-value range is widened around it). */
export function ticks(low, high, count = 5) {
  if (low === high) {
    const pad = Math.abs(low) * 0.1 || 1;
    [low, high] = [low - pad, high + pad];
  }
  const rough = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const ratio = rough / power;
  const step = power * (ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1);
  const values = [];
  for (let value = Math.floor(low / step) * step; value < high + step; value += step) {
    values.push(+value.toPrecision(12));
    if (value >= high) break;
  }
  return values;
}

/**
 * A <figure> charting `series` ([{name, points: [{x, y}]}], numbers) with `title` as caption; `formatX` and
 * `formatY` write the tick labels.
 */
export function lineChart({ title, series, xLabel, formatX = String, formatY = String, width = 560, height = 280 }) {
  const margin = { left: 60, right: 18, top: 14, bottom: 42 };
  const points = series.flatMap((one) => one.points);
  const xs = ticks(Math.min(...points.map((p) => p.x)), Math.max(...points.map((p) => p.x)));
  const ys = ticks(Math.min(...points.map((p) => p.y)), Math.max(...points.map((p) => p.y)));
  const [left, right, top, bottom] = [margin.left, width - margin.right, margin.top, height - margin.bottom];
  const x = (value) => left + ((value - xs[0]) / (xs.at(-1) - xs[0])) * (right - left);
  const y = (value) => bottom - ((value - ys[0]) / (ys.at(-1) - ys[0])) * (bottom - top);

  const label = `${title}: ${series.length} series, ${points.length} values`;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  chart.append(
    svg("g", { class: "grid" }, ...ys.map((v) => svg("line", { x1: left, x2: right, y1: y(v), y2: y(v) }))),
    svg(
      "g",
      { class: "axis" },
      svg("path", { d: `M${left},${top}V${bottom}H${right}`, fill: "none" }),
      ...xs.map((v) =>
        svg("text", { x: x(v), y: bottom + 16, "text-anchor": "middle" }, formatX(v)),
      ),
      ...ys.map((v) => svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, formatY(v))),
      svg("text", { x: (left + right) / 2, y: height - 6, "text-anchor": "middle" }, xLabel),
    ),
  );
  series.forEach((one, index) => {
    const colour = COLOURS[index % COLOURS.length];
    const path = one.points.map((p, n) => `${n ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join("");
    chart.append(
      svg(
        "g",
        { class: "series", "data-name": one.name },
        svg("path", { d: path, stroke: colour }),
        ...one.points.map((p) =>
          svg(
            "circle",
            { class: "point", cx: x(p.x).toFixed(1), cy: y(p.y).toFixed(1), r: 3, fill: colour },
            svg("title", {}, `${one.name} at ${xLabel} ${formatX(p.x)}: ${p.y}`),
          ),
        ),
      ),
    );
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  series.forEach((one, index) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLOURS[index % COLOURS.length];
    item.append(swatch, one.name);
    legend.append(item);
  });
  const figure = document.createElement("figure");
  figure.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(caption, chart, legend);
  return figure;
}
