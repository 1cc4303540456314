/**
 * `pnpm evaluate`: a 30 s slice of `evaluate servers` (the phase off on one cluster, on on the
 * other, of one environmentd) must pass — every comparison made and equal — and write a
 * `report.json` whose verdict is pass with measurements on both sides, and a `report.html` with
 * the three plots and Chart.js inlined (no network). Nothing may be left running or on disk
 * under /tmp/evaluate-*. A 10 s `evaluate replicas --stage shadow` must pass with each
 * candidate replica connected through its slot's replica task and write its `report.html` with
 * the stage plots. The CLI: usage errors exit 2; a phase that is not built is skipped with a
 * message, exit 0.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUILT_PHASES } from "@mzts/flags";
import { afterAll, expect, it } from "vitest";
import { runEvaluation } from "../src/evaluate/evaluate.js";
import { PLOT_IDS } from "../src/evaluate/html.js";
import type { EvaluationReport } from "../src/evaluate/report.js";
import { STAGE_PLOT_IDS } from "../src/evaluate/stage-html.js";
import { runStageEvaluation } from "../src/evaluate/stage-run.js";
import { liveCount } from "../src/harness/processes.js";

const MAIN = fileURLToPath(new URL("../src/evaluate/main.ts", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "evaluate-out-"));

afterAll(() => {
  expect(liveCount()).toBe(0);
  rmSync(out, { recursive: true, force: true });
});

const evaluationDirs = () => readdirSync(tmpdir()).filter((d) => /^evaluate-[^o]/.test(d));

it("evaluate servers: passes and writes the report with its plots", {
  timeout: 240_000,
}, async () => {
  const before = new Set(evaluationDirs());
  const lines: string[] = [];
  const result = await runEvaluation({
    target: "servers",
    seconds: 30,
    outDir: out,
    log: (l) => lines.push(l),
  });
  if (result.report === undefined) throw new Error(`skipped: ${lines.join("\n")}`);
  const dir = result.dir;
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as EvaluationReport;
  expect(report.verdict, lines.join("\n")).toBe("pass");
  expect(report.differences).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(dir).toMatch(/servers-\d{4}-\d\d-\d\dT/);
  // Every check compared something.
  for (const c of report.checks) expect(c.compared, c.name).toBeGreaterThan(0);
  expect(report.checks.map((c) => c.name)).toEqual(
    expect.arrayContaining([
      "peeks at fixed times",
      "subscribe streams",
      "replica metric families",
    ]),
  );
  for (const side of ["baseline", "candidate"] as const) {
    const s = report.sides[side];
    expect(s.peekLatency.count).toBeGreaterThan(20);
    expect(s.peekLatency.p99Ms).toBeGreaterThanOrEqual(s.peekLatency.p50Ms);
    expect(s.peeksPerSecond).toBeGreaterThan(0);
    expect(s.subscribeUpdates).toBeGreaterThan(0);
    expect(s.freshnessMs.length).toBeGreaterThan(10);
    expect(s.replicaRssMb.length).toBeGreaterThan(10);
    expect(s.recovery?.detectionMs).not.toBeNull();
    expect(s.recovery?.rehydratedMs).toBeGreaterThan(s.recovery?.restartedMs ?? 0);
  }
  expect(report.sides.candidate.phases).toEqual(["servers"]);
  // The flags file targets the candidate cluster's id with a rule on the cluster context.
  expect(JSON.stringify(report.flags)).toContain('"contextKind":"cluster"');
  expect(JSON.stringify(report.flags)).toContain(
    `"values":["${report.sides.candidate.clusterId}"]`,
  );
  expect(report.sides.baseline.phases).toEqual([]);
  expect(report.environmentdRssMb.length).toBeGreaterThan(10);
  const html = readFileSync(join(dir, "report.html"), "utf8");
  for (const id of PLOT_IDS) {
    expect(html).toContain(`<canvas id="${id}">`);
    expect(html).toContain(`document.getElementById("${id}")`);
  }
  expect(html).toContain("Chart.js v4.6.1");
  expect(html).not.toMatch(/<script[^>]+src=/);
  expect(html).toContain("PASS");
  // Progress was shown, and everything was stopped and removed.
  expect(lines.some((l) => /\d+\/30 s: \d+ pairs compared/.test(l))).toBe(true);
  expect(liveCount()).toBe(0);
  expect(evaluationDirs().filter((d) => !before.has(d))).toEqual([]);
});

it("evaluate replicas --stage shadow: passes, each replica on its slot's task, report.html with its plots", {
  timeout: 240_000,
}, async () => {
  const lines: string[] = [];
  const r = await runStageEvaluation({
    phase: "replicas",
    stage: "shadow",
    seconds: 10,
    outDir: out,
    log: (l) => lines.push(l),
  });
  if (r.report === undefined) throw new Error(`skipped: ${r.skipped}`);
  const report = r.report;
  expect(report.problems, lines.join("\n")).toEqual([]);
  expect(report.verdict).toBe("pass");
  expect(report.migration?.consistent).toBeGreaterThan(0);
  // One replica per path, each connected through its slot's replica task.
  const slots = new Map(report.migration?.slots.map((s) => [s.slot, s.replica]));
  expect([...slots.keys()].sort()).toEqual(["legacy", "unified"]);
  const tasksOf = new Map<string, string[]>();
  for (const t of report.replicaTasks) {
    const [id = "", workload, task] = t.split(" ");
    tasksOf.set(id, [...(tasksOf.get(id) ?? []), `${workload} ${task}`]);
  }
  expect([...tasksOf.values()].map((t) => t.join(", ")).sort()).toEqual([
    "compute legacy, storage legacy",
    "compute unified, storage unified",
  ]);
  expect(report.comparisons.length).toBeGreaterThan(3);
  for (const path of ["legacy", "unified"] as const) {
    expect(report.pathLatency?.byPath[path].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }
  const html = readFileSync(join(r.dir, "report.html"), "utf8");
  for (const id of STAGE_PLOT_IDS) expect(html).toContain(`document.getElementById("${id}")`);
  expect(html).toContain("Chart.js v4.6.1");
  expect(html).not.toMatch(/<script[^>]+src=/);
  expect(liveCount()).toBe(0);
});

it("the CLI: usage errors exit 2; a phase not built is skipped, exit 0", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], { encoding: "utf8" });
  for (const args of [
    [],
    ["nope"],
    ["servers", "--minutes", "0"],
    ["servers", "--seed", "1"],
    ["consistency", "--out", "x"],
    ["servers", "--stage", "complete"],
    ["all", "--stage", "shadow"],
    ["consistency", "--stage", "live"],
  ]) {
    const r = run(...args);
    expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
    expect(r.stderr).toContain("usage: pnpm evaluate");
  }
  const unbuilt = ["logging", "replicas", "client", "state"].find(
    (p) => !BUILT_PHASES.includes(p as never),
  );
  if (unbuilt !== undefined) {
    const r = run(unbuilt, "--seconds", "1", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`evaluate ${unbuilt}: nothing to evaluate`);
    expect(r.stderr).toContain("is not built");
    expect(existsSync(join(out, unbuilt))).toBe(false);
  }
});
