/**
 * The `report.html` of `pnpm evaluate <phase> --stage shadow|live` (`stage-run.ts`), on the same
 * self-contained page as the plain report (`chart-page.ts`, Chart.js inlined, no network): the
 * verdict and its problems, the candidate's migration status (slots, comparison counts, per-path
 * latency and errors), and five plots:
 * - `#comparisons-over-time`: the candidate's comparison counts (consistent, inconsistent,
 *   timeout, fallback) over the window;
 * - `#path-latency-distribution`: the first answers of compared peeks per path (authoritative vs
 *   other), from environmentd's `mz_cluster_unification_path_latency_seconds`;
 * - `#latency-distribution`: the peeks of the rounds, candidate vs baseline;
 * - `#memory-over-time` and `#frontier-lag-over-time`: as in the plain report.
 */
import { chartJsSource, chartPage, esc } from "./chart-page.js";
import {
  frontierLagPlot,
  histograms,
  LATENCY_BUCKET_LABELS,
  LATENCY_PLOT,
  memoryPlot,
} from "./html.js";
import type { StageReport } from "./stage-run.js";

/** The ids of the plots' canvases (tests check that the page has them). */
export const STAGE_PLOT_IDS = [
  "comparisons-over-time",
  "path-latency-distribution",
  "latency-distribution",
  "memory-over-time",
  "frontier-lag-over-time",
] as const;

function migrationTable(r: StageReport): string {
  const m = r.migration;
  if (m === null) return "<p>The candidate reported no migrating phase.</p>";
  const rows: Array<[string, string]> = [
    ["flag", m.flag],
    ["stage", m.stage],
    ["authoritative path", m.authoritative],
    ["slots", m.slots.map((s) => `${s.replica}: ${s.slot ?? "(neither)"}`).join(", ")],
    [
      "comparisons",
      `${m.consistent} consistent, ${m.inconsistent} inconsistent, ${m.timeout} timeout, ${m.fallback} fallback`,
    ],
    ...m.paths.map((p): [string, string] => [
      `${p.path} path${p.path === m.authoritative ? " (authoritative)" : ""}`,
      `p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${p.answers} answers, ${p.errors} errors`,
    ]),
    ["last inconsistency", m.lastInconsistency ?? "—"],
    ["replica tasks (connected)", r.replicaTasks.join(", ") || "—"],
    [
      "peeks vs baseline",
      `${r.peeks.compared} pairs, ${r.peeks.differences.length} differences; ${Object.entries(
        r.peeks.latencyMs,
      )
        .map(([side, l]) => `${side} p50 ${l.p50Ms} ms p99 ${l.p99Ms} ms`)
        .join("; ")}`,
    ],
  ];
  return `<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("\n")}</table>`;
}

/** The page (see the file comment). */
export function renderStageHtml(r: StageReport, chartJs: string = chartJsSource()): string {
  const authoritative = r.migration?.authoritative ?? (r.stage === "shadow" ? "legacy" : "unified");
  const role = (path: string) => (path === authoritative ? "authoritative" : "other");
  const pl = r.pathLatency;
  const data = {
    comparisons: r.comparisons,
    pathBuckets:
      pl === null
        ? []
        : [...pl.bucketsMs.map((b) => `≤${b} ms`), `>${pl.bucketsMs.at(-1) ?? 0} ms`],
    pathLatency:
      pl === null
        ? {}
        : Object.fromEntries(
            Object.entries(pl.byPath).map(([path, h]) => [`${path} (${role(path)})`, h]),
          ),
    buckets: LATENCY_BUCKET_LABELS,
    latency: histograms(
      Object.fromEntries(Object.entries(r.peeks.latencyMs).map(([s, l]) => [`${s} (peeks)`, l])),
    ),
    rss: r.samples.replicaRssMb,
    environmentdRss: r.samples.environmentdRssMb,
    freshness: r.samples.freshnessMs,
    viewLag: r.samples.viewLagMs,
  };
  const problems =
    r.problems.length === 0 ? "<p>None.</p>" : `<pre>${esc(r.problems.join("\n\n"))}</pre>`;
  const body = `<h1>Evaluation of <code>${esc(r.phase)}</code> in stage <code>${esc(r.stage)}</code>: <span class="verdict ${r.verdict}">${r.verdict.toUpperCase()}</span></h1>
<p>Started ${esc(r.started)}; window ${r.seconds} s; load at the end ${r.host.loadavg.map((x) => x.toFixed(2)).join(" ")}.
The candidate cluster runs the phase in this stage on two replicas (one per path); every peek is answered by the authoritative path's replica and the other's answer is compared. The baseline cluster runs without the phase.</p>
<h2>Migration status of the candidate</h2>
${migrationTable(r)}
<h2>Problems</h2>
${problems}`;
  return chartPage({
    title: `mzts evaluation: ${r.phase} --stage ${r.stage} — ${r.verdict}`,
    body,
    data,
    chartJs,
    plots: [
      {
        id: "comparisons-over-time",
        title: "Comparisons over time",
        caption:
          "The candidate's comparison counts (environmentd's status, every second): answers of the two paths that agreed, differed, where the other path did not answer in time, or fell back.",
        chart: `lines(["consistent", "inconsistent", "timeout", "fallback"].map((k, i) =>
  line(k, COLORS[k], DATA.comparisons.map((c) => [c[0], c[i + 1]]))), "comparisons")`,
      },
      {
        id: "path-latency-distribution",
        title: "Per-path latency distribution",
        caption:
          "Time from a compared peek to each path's first answer (<code>mz_cluster_unification_path_latency_seconds</code>), authoritative vs other.",
        chart: `bars(DATA.pathBuckets, DATA.pathLatency, "answers")`,
      },
      LATENCY_PLOT,
      memoryPlot(
        "Each side's first replica's RSS (its <code>/metrics</code>) and environmentd's, which holds both sides' controllers.",
      ),
      frontierLagPlot(
        "Wall clock − (upper − 1) of each side's ticker index and winning view, every 500 ms.",
      ),
    ],
  });
}
