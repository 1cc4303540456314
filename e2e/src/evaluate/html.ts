/**
 * `report.html`: one self-contained page (no network) drawn from the report — the verdict, the
 * side-by-side table (recovery after kill -9, and SIGSTOP detection when the run measured it), the checks, every difference as a diff, and three plots drawn by Chart.js:
 * the peek latency distributions (`#latency-distribution`), memory over time
 * (`#memory-over-time`) and frontier lag over time (`#frontier-lag-over-time`).
 *
 * Chart.js's UMD build (a dependency of this package) is inlined into the page; the report's data
 * is inlined as JSON with `<` escaped, so nothing in it can close the script element.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { SIDES } from "./context.js";
import type { EvaluationReport, SideReport } from "./report.js";
import { LATENCY_BUCKETS_MS } from "./stats.js";

/** The ids of the plots' canvases (the e2e test checks that the page has them). */
export const PLOT_IDS = [
  "latency-distribution",
  "memory-over-time",
  "frontier-lag-over-time",
] as const;

/** Chart.js's UMD build, read from the installed package. */
export function chartJsSource(): string {
  const main = createRequire(import.meta.url).resolve("chart.js");
  return readFileSync(join(dirname(main), "chart.umd.min.js"), "utf8");
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot" }[c]};`);
}

const num = (x: number | null | undefined, unit = "") =>
  x === null || x === undefined ? "—" : `${x}${unit}`;

function sideRows(r: EvaluationReport): string {
  const rows: Array<[string, (s: SideReport) => string]> = [
    ["cluster", (s) => `${s.cluster} (${s.clusterId})`],
    ["phases in force", (s) => (s.phases.length === 0 ? "none" : s.phases.join(", "))],
    ["peeks compared (answered)", (s) => String(s.peekLatency.count)],
    ["peek latency p50", (s) => num(s.peekLatency.p50Ms, " ms")],
    ["peek latency p99", (s) => num(s.peekLatency.p99Ms, " ms")],
    ["peek latency max", (s) => num(s.peekLatency.maxMs, " ms")],
    ["peeks failed", (s) => String(s.peeksFailed)],
    ["throughput (freshest peeks)", (s) => num(s.peeksPerSecond, " /s")],
    ["subscribe updates", (s) => String(s.subscribeUpdates)],
    ["freshness p50", (s) => num(s.freshness.p50Ms, " ms")],
    ["freshness p99", (s) => num(s.freshness.p99Ms, " ms")],
    ["replica RSS max", (s) => num(Math.max(0, ...s.replicaRssMb.map(([, v]) => v)), " MB")],
    ["kill -9 → detected", (s) => num(s.recovery?.detectionMs, " ms")],
    ["kill -9 → restarted", (s) => num(s.recovery?.restartedMs, " ms")],
    ["kill -9 → controllers reconnected", (s) => num(s.recovery?.reconnectedMs, " ms")],
    ["kill -9 → rehydrated", (s) => num(s.recovery?.rehydratedMs, " ms")],
    [
      "restart → rehydrated",
      (s) =>
        typeof s.recovery?.rehydratedMs === "number" && typeof s.recovery.restartedMs === "number"
          ? `${s.recovery.rehydratedMs - s.recovery.restartedMs} ms`
          : "—",
    ],
  ];
  if (SIDES.some((x) => r.sides[x].stall !== null)) {
    rows.push(
      ["SIGSTOP → compute controller noticed", (s) => num(s.stall?.computeMs, " ms")],
      ["SIGSTOP → storage controller noticed", (s) => num(s.stall?.storageMs, " ms")],
      ["SIGSTOP → status not online", (s) => num(s.stall?.statusMs, " ms")],
      ["SIGCONT → connected and online", (s) => num(s.stall?.resumedMs, " ms")],
    );
  }
  const head = `<tr><th></th>${SIDES.map((s) => `<th>${s}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      ([label, f]) =>
        `<tr><td>${esc(label)}</td>${SIDES.map((s) => `<td>${esc(f(r.sides[s]))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<table>${head}\n${body}</table>`;
}

/** The page (see the file comment). */
export function renderHtml(r: EvaluationReport, chartJs: string = chartJsSource()): string {
  const data = {
    buckets: [...LATENCY_BUCKETS_MS.map((b) => `≤${b} ms`), `>${LATENCY_BUCKETS_MS.at(-1)} ms`],
    latency: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].peekLatency.histogram])),
    rss: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].replicaRssMb])),
    environmentdRss: r.environmentdRssMb,
    freshness: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].freshnessMs])),
    viewLag: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].viewLagMs])),
  };
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const checks = r.checks
    .map(
      (c) =>
        `<tr><td>${esc(c.name)}</td><td>${esc(c.describe)}</td><td>${c.compared}</td><td class="${c.differences > 0 ? "fail" : "pass"}">${c.differences}</td></tr>`,
    )
    .join("\n");
  const diffs =
    r.differences.length === 0 && r.errors.length === 0
      ? "<p>None.</p>"
      : `<pre>${esc(
          [
            ...r.errors.map((e) => `error: ${e}`),
            ...r.differences.map((d) =>
              [`✗ ${d.check}: ${d.subject}`, ...d.diff.map((l) => `    ${l}`)].join("\n"),
            ),
          ].join("\n\n"),
        )}</pre>`;
  const skipped =
    r.skipped.length === 0
      ? ""
      : `<p>Skipped: ${esc(r.skipped.map((s) => `${s.phase} (${s.reason})`).join("; "))}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>mzts evaluation: ${esc(r.target)} — ${r.verdict}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
.pass{color:#17702b}.fail{color:#b3261e;font-weight:bold}.verdict{font-size:2em}
.plot{height:320px;margin:1em 0 2.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}
</style></head><body>
<h1>Evaluation of <code>${esc(r.target)}</code>: <span class="verdict ${r.verdict}">${r.verdict.toUpperCase()}</span></h1>
<p>Started ${esc(r.startedAt)}; steady window ${r.seconds} s; whole run ${r.elapsedSeconds} s;
host: node ${esc(r.host.node)}, ${r.host.cpus} CPUs, load ${r.host.loadavg.map((x) => x.toFixed(2)).join(" ")}.
The baseline cluster runs without the phase, the candidate with it; both read the same sources.</p>
${skipped}
<h2>Side by side</h2>
${sideRows(r)}
<h2>Checks</h2>
<table><tr><th>check</th><th>what</th><th>compared</th><th>differences</th></tr>
${checks}</table>
<h2>Differences</h2>
${diffs}
${r.flags === undefined ? "" : `<details><summary>Flags file of the run</summary><pre>${esc(JSON.stringify(r.flags, null, 2))}</pre></details>`}
<h2>Peek latency distribution</h2>
<p>Every answered peek of the fixed-time rounds, per side, on the same buckets.</p>
<div class="plot"><canvas id="latency-distribution"></canvas></div>
<h2>Memory over time</h2>
<p>Each side's replica RSS (its <code>/metrics</code>) and environmentd's, which holds both sides' controllers; the dips are the kill -9s.</p>
<div class="plot"><canvas id="memory-over-time"></canvas></div>
<h2>Frontier lag over time</h2>
<p>Wall clock − (upper − 1) of each side's ticker index (100 ms ticks; slightly negative when the source stamps ahead) and winning view (1 s ticks), every 500 ms (50 ms around the kills); the spikes are the kill -9s.</p>
<div class="plot"><canvas id="frontier-lag-over-time"></canvas></div>
<script>${chartJs}</script>
<script>
const DATA = ${json};
const COLORS = { baseline: "#1f77b4", candidate: "#d62728", environmentd: "#2ca02c" };
const xy = (s) => s.map(([t, v]) => ({ x: t / 1000, y: v }));
const timeAxis = (y) => ({ x: { type: "linear", title: { display: true, text: "seconds since start" } },
  y: { beginAtZero: true, title: { display: true, text: y } } });
new Chart(document.getElementById("latency-distribution"), {
  type: "bar",
  data: { labels: DATA.buckets, datasets: Object.entries(DATA.latency).map(([side, h]) => ({
    label: side + " (peeks)", data: h, backgroundColor: COLORS[side] })) },
  options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: "peeks" } } } },
});
new Chart(document.getElementById("memory-over-time"), {
  type: "line",
  data: { datasets: [
    ...Object.entries(DATA.rss).map(([side, s]) => ({ label: side + " replica RSS", data: xy(s), borderColor: COLORS[side], pointRadius: 0 })),
    { label: "environmentd RSS (both controllers)", data: xy(DATA.environmentdRss), borderColor: COLORS.environmentd, pointRadius: 0 },
  ] },
  options: { maintainAspectRatio: false, scales: timeAxis("MB") },
});
new Chart(document.getElementById("frontier-lag-over-time"), {
  type: "line",
  data: { datasets: [
    ...Object.entries(DATA.freshness).map(([side, s]) => ({ label: side + " ticker lag", data: xy(s), borderColor: COLORS[side], pointRadius: 0 })),
    ...Object.entries(DATA.viewLag).map(([side, s]) => ({ label: side + " winning view lag", data: xy(s), borderColor: COLORS[side], borderDash: [4, 4], pointRadius: 0 })),
  ] },
  options: { maintainAspectRatio: false, scales: timeAxis("ms behind now") },
});
</script>
</body></html>
`;
}
