/**
 * `report.html`: one self-contained page (no network, `chart-page.ts`) drawn from the report —
 * the verdict, the side-by-side table (recovery after kill -9, and SIGSTOP detection when the run
 * measured it), the checks, every difference as a diff, and three plots drawn by Chart.js: the
 * peek latency distributions (`#latency-distribution`), memory over time (`#memory-over-time`)
 * and frontier lag over time (`#frontier-lag-over-time`).
 */
import { chartJsSource, chartPage, esc, type Plot } from "./chart-page.js";
import { SIDES } from "./context.js";
import type { EvaluationReport, SideReport } from "./report.js";
import { LATENCY_BUCKETS_MS, type LatencySummary } from "./stats.js";

/** The ids of the plots' canvases (the e2e test checks that the page has them). */
export const PLOT_IDS = [
  "latency-distribution",
  "memory-over-time",
  "frontier-lag-over-time",
] as const;

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

/** The buckets of `LatencySummary.histogram`, as the plots label them. */
export const LATENCY_BUCKET_LABELS = [
  ...LATENCY_BUCKETS_MS.map((b) => `≤${b} ms`),
  `>${LATENCY_BUCKETS_MS.at(-1)} ms`,
];

/** The histograms of `summaries` by name (a `bars` series, on `LATENCY_BUCKET_LABELS`). */
export function histograms(
  summaries: Record<string, LatencySummary>,
): Record<string, readonly number[]> {
  return Object.fromEntries(Object.entries(summaries).map(([k, v]) => [k, v.histogram]));
}

/** The peeks' latency per side (`DATA.buckets`, `DATA.latency`: `histograms`). */
export const LATENCY_PLOT: Plot = {
  id: "latency-distribution",
  title: "Peek latency distribution",
  caption: "Every answered peek of the fixed-time rounds, per side, on the same buckets.",
  chart: `bars(DATA.buckets, DATA.latency, "peeks")`,
};

/** Replica RSS per side (`DATA.rss`) and environmentd's (`DATA.environmentdRss`) over time. */
export function memoryPlot(caption: string): Plot {
  return {
    id: "memory-over-time",
    title: "Memory over time",
    caption,
    chart: `lines([...perSide(DATA.rss, "replica RSS"),
  line("environmentd RSS (both controllers)", COLORS.environmentd, DATA.environmentdRss)], "MB")`,
  };
}

/** Each side's ticker lag (`DATA.freshness`) and winning view lag (`DATA.viewLag`) over time. */
export function frontierLagPlot(caption: string): Plot {
  return {
    id: "frontier-lag-over-time",
    title: "Frontier lag over time",
    caption,
    chart: `lines([...perSide(DATA.freshness, "ticker lag"),
  ...perSide(DATA.viewLag, "winning view lag", true)], "ms behind now")`,
  };
}

/** The page (see the file comment). */
export function renderHtml(r: EvaluationReport, chartJs: string = chartJsSource()): string {
  const data = {
    buckets: LATENCY_BUCKET_LABELS,
    latency: histograms(
      Object.fromEntries(SIDES.map((s) => [`${s} (peeks)`, r.sides[s].peekLatency])),
    ),
    rss: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].replicaRssMb])),
    environmentdRss: r.environmentdRssMb,
    freshness: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].freshnessMs])),
    viewLag: Object.fromEntries(SIDES.map((s) => [s, r.sides[s].viewLagMs])),
  };
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
  const body = `<h1>Evaluation of <code>${esc(r.target)}</code>: <span class="verdict ${r.verdict}">${r.verdict.toUpperCase()}</span></h1>
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
${r.flags === undefined ? "" : `<details><summary>Flags file of the run</summary><pre>${esc(JSON.stringify(r.flags, null, 2))}</pre></details>`}`;
  return chartPage({
    title: `mzts evaluation: ${r.target} — ${r.verdict}`,
    body,
    data,
    chartJs,
    plots: [
      LATENCY_PLOT,
      memoryPlot(
        "Each side's replica RSS (its <code>/metrics</code>) and environmentd's, which holds both sides' controllers; the dips are the kill -9s.",
      ),
      frontierLagPlot(
        "Wall clock − (upper − 1) of each side's ticker index (100 ms ticks; slightly negative when the source stamps ahead) and winning view (1 s ticks), every 500 ms (50 ms around the kills); the spikes are the kill -9s.",
      ),
    ],
  });
}
