/**
 * The page both evaluation reports draw (`html.ts`: a phase off vs on; `stage-html.ts`: a phase
 * in a migration stage): one self-contained HTML document (no network) with Chart.js's UMD build
 * (a dependency of this package) inlined, the report's data inlined as JSON with `<` escaped (so
 * nothing in it can close the script element), and one canvas per plot.
 *
 * A plot's chart is a JavaScript expression over the page's `DATA` and its helpers:
 * - `bars(labels, series, yTitle)`: a bar chart of distributions on shared buckets, one dataset
 *   per entry of `series` (name → counts per bucket);
 * - `lines(datasets, yTitle)`: line series over time, `line(label, color, series, dashed?)` one
 *   dataset of (ms since the start, value) points, `perSide(bySide, label, dashed?)` one per side;
 * - `COLORS`: the colours of the sides, paths and comparison results by name.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Chart.js's UMD build, read from the installed package. */
export function chartJsSource(): string {
  const main = createRequire(import.meta.url).resolve("chart.js");
  return readFileSync(join(dirname(main), "chart.umd.min.js"), "utf8");
}

/** `s` escaped for HTML text and attributes. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot" }[c]};`);
}

/** A plot of the page. */
export interface Plot {
  /** The canvas id (tests look for it). */
  readonly id: string;
  readonly title: string;
  /** HTML under the title. */
  readonly caption: string;
  /** The Chart.js configuration: a JavaScript expression over `DATA` and the helpers. */
  readonly chart: string;
}

/** The page's CSS (both reports). */
const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
.pass{color:#17702b}.fail{color:#b3261e;font-weight:bold}.verdict{font-size:2em}
.plot{height:320px;margin:1em 0 2.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}`;

/** The helpers plots use (see the file comment). */
const HELPERS = `const COLORS = { baseline: "#1f77b4", candidate: "#d62728", environmentd: "#2ca02c",
  legacy: "#1f77b4", unified: "#d62728", consistent: "#17702b", inconsistent: "#b3261e",
  timeout: "#ff7f0e", fallback: "#9467bd" };
const colorOf = (name) => COLORS[name.split(" ")[0]] ?? "#777";
const xy = (s) => s.map(([t, v]) => ({ x: t / 1000, y: v }));
const timeAxis = (y) => ({ x: { type: "linear", title: { display: true, text: "seconds since start" } },
  y: { beginAtZero: true, title: { display: true, text: y } } });
const bars = (labels, series, y) => ({ type: "bar",
  data: { labels, datasets: Object.entries(series).map(([name, h]) => ({ label: name, data: h, backgroundColor: colorOf(name) })) },
  options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: y } } } } });
const line = (label, color, s, dashed = false) => ({ label, data: xy(s), borderColor: color, pointRadius: 0,
  ...(dashed ? { borderDash: [4, 4] } : {}) });
const perSide = (bySide, label, dashed = false) =>
  Object.entries(bySide).map(([side, s]) => line(side + " " + label, COLORS[side], s, dashed));
const lines = (datasets, y) => ({ type: "line", data: { datasets }, options: { maintainAspectRatio: false, scales: timeAxis(y) } });`;

/** The whole page: `body` (HTML), then every plot, drawn from `data`. */
export function chartPage(o: {
  readonly title: string;
  readonly body: string;
  readonly data: unknown;
  readonly plots: readonly Plot[];
  readonly chartJs: string;
}): string {
  const json = JSON.stringify(o.data).replace(/</g, "\\u003c");
  const sections = o.plots
    .map(
      (p) =>
        `<h2>${esc(p.title)}</h2>\n<p>${p.caption}</p>\n<div class="plot"><canvas id="${p.id}"></canvas></div>`,
    )
    .join("\n");
  const draws = o.plots
    .map((p) => `new Chart(document.getElementById("${p.id}"), ${p.chart});`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${esc(o.title)}</title>
<style>
${STYLE}
</style></head><body>
${o.body}
${sections}
<script>${o.chartJs}</script>
<script>
const DATA = ${json};
${HELPERS}
${draws}
</script>
</body></html>
`;
}
