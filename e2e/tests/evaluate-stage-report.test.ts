/**
 * The report of `pnpm evaluate <phase> --stage shadow|live` without a cluster: the per-path
 * latency histogram read from environmentd's metrics text (cumulative Prometheus buckets become
 * counts per bucket, summed over phases, one instance only), and `report.html` with its plots
 * (comparison counts over time, per-path latency authoritative vs other, the plain report's
 * latency, memory and frontier lag plots) drawn from the report's data.
 */
import { describe, expect, it } from "vitest";
import { PLOT_IDS, renderHtml } from "../src/evaluate/html.js";
import { connectedReplicaTasks, expectedReplicaTasks } from "../src/evaluate/replica-tasks.js";
import { assembleReport, emptySide } from "../src/evaluate/report.js";
import { renderStageHtml, STAGE_PLOT_IDS } from "../src/evaluate/stage-html.js";
import { pathLatencyOf, type StageReport } from "../src/evaluate/stage-run.js";
import { summarise } from "../src/evaluate/stats.js";
import { parseMetrics } from "../src/harness/environment.js";

const METRIC = "mz_cluster_unification_path_latency_seconds_bucket";
const bucket = (instance: string, phase: string, path: string, le: string, n: number) =>
  `${METRIC}{le="${le}",instance_id="${instance}",phase="${phase}",path="${path}"} ${n}`;

describe("pathLatencyOf", () => {
  it("turns cumulative buckets into counts per bucket, per path, of one instance", () => {
    const text = [
      "# HELP mz_cluster_unification_path_latency_seconds …",
      bucket("u3", "servers", "legacy", "0.005", 2),
      bucket("u3", "servers", "legacy", "0.01", 5),
      bucket("u3", "servers", "legacy", "+Inf", 6),
      bucket("u3", "servers", "unified", "0.005", 1),
      bucket("u3", "servers", "unified", "0.01", 1),
      bucket("u3", "servers", "unified", "+Inf", 4),
      // Another phase of the same instance adds up; another instance does not count.
      bucket("u3", "logging", "unified", "0.005", 1),
      bucket("u3", "logging", "unified", "0.01", 1),
      bucket("u3", "logging", "unified", "+Inf", 1),
      bucket("u2", "servers", "legacy", "0.005", 100),
      bucket("u2", "servers", "legacy", "0.01", 100),
      bucket("u2", "servers", "legacy", "+Inf", 100),
    ].join("\n");
    expect(pathLatencyOf(parseMetrics(text), "u3")).toEqual({
      bucketsMs: [5, 10],
      byPath: { legacy: [2, 3, 1], unified: [2, 0, 3] },
    });
    expect(pathLatencyOf(parseMetrics(text), "u9")).toBeNull();
  });
});

describe("connectedReplicaTasks", () => {
  it("lists the connected series of one instance; a split is told apart from one task for all", () => {
    const task = (instance: string, replica: string, workload: string, t: string, n: number) =>
      `mz_controller_replica_task{instance_id="${instance}",replica_id="${replica}",workload="${workload}",task="${t}"} ${n}`;
    const text = [
      task("u3", "u4", "compute", "legacy", 1),
      task("u3", "u4", "storage", "legacy", 1),
      task("u3", "u5", "compute", "unified", 1),
      task("u3", "u5", "storage", "unified", 2),
      task("u3", "u5", "compute", "legacy", 0), // an old incarnation, closed
      task("u2", "u1", "compute", "legacy", 1), // another cluster
    ].join("\n");
    const got = connectedReplicaTasks(parseMetrics(text), "u3");
    expect(got).toEqual([
      "u4 compute legacy",
      "u4 storage legacy",
      "u5 compute unified",
      "u5 storage unified ×2",
    ]);
    const split = expectedReplicaTasks([
      { id: "u5", task: "unified" },
      { id: "u4", task: "legacy" },
    ]);
    expect(split).toEqual([
      "u4 compute legacy",
      "u4 storage legacy",
      "u5 compute unified",
      "u5 storage unified",
    ]);
    // Two connections at once is not the expected one.
    expect(got).not.toEqual(split);
    expect(connectedReplicaTasks(parseMetrics(text), "u9")).toEqual([]);
  });
});

function stageReport(over: Partial<StageReport> = {}): StageReport {
  return {
    phase: "servers",
    stage: "live",
    started: "2026-12-07T00:00:00.000Z",
    seconds: 10,
    verdict: "pass",
    migration: {
      flag: "cluster-unification-servers",
      stage: "live",
      authoritative: "unified",
      compares: true,
      slots: [
        { replica: "r1", slot: "legacy" },
        { replica: "r2", slot: "unified" },
      ],
      consistent: 12,
      inconsistent: 0,
      timeout: 0,
      fallback: 0,
      paths: [
        { path: "legacy", answers: 12, p50Ms: 4, p99Ms: 9, errors: 0 },
        { path: "unified", answers: 12, p50Ms: 3, p99Ms: 8, errors: 0 },
      ],
    },
    peeks: {
      compared: 6,
      differences: [],
      latencyMs: { baseline: summarise([3, 4]), candidate: summarise([2, 5]) },
    },
    comparisons: [
      [1000, 4, 0, 0, 0],
      [2000, 12, 0, 0, 0],
    ],
    pathLatency: { bucketsMs: [5, 10], byPath: { legacy: [2, 3, 1], unified: [4, 0, 0] } },
    replicaTasks: [
      "u4 compute legacy",
      "u4 storage legacy",
      "u5 compute legacy",
      "u5 storage legacy",
    ],
    samples: {
      freshnessMs: { baseline: [[0, 5]], candidate: [[0, 6]] },
      viewLagMs: { baseline: [[0, 500]], candidate: [[0, 600]] },
      replicaRssMb: { baseline: [[0, 100]], candidate: [[0, 110]] },
      environmentdRssMb: [[0, 150]],
    },
    problems: [],
    host: { loadavg: [1, 2, 3] },
    ...over,
  };
}

/**
 * Runs the page's own script (the one after Chart.js) with a stand-in `Chart` and `document`;
 * returns each canvas id with the chart configuration drawn on it.
 */
function drawnCharts(html: string): Map<string, { type: string; data: { datasets: unknown[] } }> {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
  const drawn = new Map<string, { type: string; data: { datasets: unknown[] } }>();
  class Chart {
    constructor(canvas: string, config: { type: string; data: { datasets: unknown[] } }) {
      drawn.set(canvas, config);
    }
  }
  const document = { getElementById: (id: string) => id };
  new Function("Chart", "document", scripts.at(-1) ?? "")(Chart, document);
  return drawn;
}

describe("renderStageHtml", () => {
  it("draws every plot from the report's data, the paths named authoritative and other", () => {
    const html = renderStageHtml(stageReport(), "/* chart.js */");
    // The plain report's plots are reused (the same ids and chart code), plus the stage's own.
    expect(STAGE_PLOT_IDS).toEqual(expect.arrayContaining([...PLOT_IDS]));
    for (const id of STAGE_PLOT_IDS) {
      expect(html).toContain(`<canvas id="${id}">`);
      expect(html).toContain(`new Chart(document.getElementById("${id}")`);
    }
    expect(html).toContain("/* chart.js */");
    expect(html).not.toMatch(/<script[^>]+src=/);
    const data = JSON.parse(/const DATA = (.*);\n/.exec(html)?.[1] ?? "null");
    expect(data.pathBuckets).toEqual(["≤5 ms", "≤10 ms", ">10 ms"]);
    expect(data.pathLatency).toEqual({
      "legacy (other)": [2, 3, 1],
      "unified (authoritative)": [4, 0, 0],
    });
    expect(data.comparisons).toEqual([
      [1000, 4, 0, 0, 0],
      [2000, 12, 0, 0, 0],
    ]);
    expect(data.latency["candidate (peeks)"]).toEqual(summarise([2, 5]).histogram);
    expect(data.rss).toEqual({ baseline: [[0, 100]], candidate: [[0, 110]] });
    expect(html).toContain("PASS");
    expect(html).toContain("12 consistent, 0 inconsistent");
    // The page's script draws every plot, none of them empty.
    const charts = drawnCharts(html);
    expect([...charts.keys()].sort()).toEqual([...STAGE_PLOT_IDS].sort());
    for (const [id, c] of charts) {
      expect(c.data.datasets.length, id).toBeGreaterThan(0);
      for (const d of c.data.datasets as Array<{ label: string; data: unknown[] }>) {
        expect(d.data.length, `${id}: ${d.label}`).toBeGreaterThan(0);
      }
    }
    const labels = (id: string) =>
      ((charts.get(id)?.data.datasets ?? []) as Array<{ label: string }>).map((d) => d.label);
    expect(labels("path-latency-distribution")).toEqual([
      "legacy (other)",
      "unified (authoritative)",
    ]);
    expect(labels("comparisons-over-time")).toEqual([
      "consistent",
      "inconsistent",
      "timeout",
      "fallback",
    ]);
  });

  it("shows a failing verdict and its problems, escaped", () => {
    const html = renderStageHtml(
      stageReport({ verdict: "fail", problems: ["</script><b>1 inconsistent</b>"] }),
      "",
    );
    expect(html).toContain("FAIL");
    expect(html).toContain("&lt;/script&gt;&lt;b&gt;1 inconsistent&lt;/b&gt;");
    expect(html).not.toContain("</script><b>");
  });
});

describe("renderHtml (the plain report, on the shared page)", () => {
  it("draws its three plots with every side's series", () => {
    const side = (phases: Parameters<typeof emptySide>[0], mb: number) => ({
      ...emptySide(phases),
      peekLatency: summarise([1, 2, 40]),
      replicaRssMb: [[0, mb] as const],
      freshnessMs: [[0, 5] as const],
      viewLagMs: [[0, 500] as const],
    });
    const report = assembleReport({
      target: "servers",
      started: new Date(),
      seconds: 1,
      elapsedSeconds: 1,
      skipped: [],
      checks: [],
      differences: [],
      errors: [],
      environmentdRssMb: [[0, 150]],
      sides: { baseline: side([], 100), candidate: side(["servers"], 110) },
    });
    const charts = drawnCharts(renderHtml(report, ""));
    expect([...charts.keys()]).toEqual([...PLOT_IDS]);
    const labels = [...charts.values()].map((c) =>
      (c.data.datasets as Array<{ label: string; data: unknown[] }>).map(
        (d) => `${d.label}: ${d.data.length}`,
      ),
    );
    expect(labels).toEqual([
      ["baseline (peeks): 20", "candidate (peeks): 20"],
      [
        "baseline replica RSS: 1",
        "candidate replica RSS: 1",
        "environmentd RSS (both controllers): 1",
      ],
      [
        "baseline ticker lag: 1",
        "candidate ticker lag: 1",
        "baseline winning view lag: 1",
        "candidate winning view lag: 1",
      ],
    ]);
  });
});
