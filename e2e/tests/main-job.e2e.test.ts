/**
 * The README's main job: `environmentd --demo` on a fresh data directory creates the demo (a
 * cluster of two replicas, an auction source, indexes and views) and shows a live status with
 * both replicas online and winning bids; a second run resumes from the catalog (next generation)
 * instead of creating anything again. Replicas are detached processes by design (they outlive
 * environmentd), so the test reaps them from the orchestrator's records.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startEnvironmentd } from "../src/harness/environment.js";
import { stopAll } from "../src/harness/processes.js";

let dir: string;

function reapReplicas(): void {
  try {
    const records = JSON.parse(
      readFileSync(join(dir, "orchestrator", "replicas.json"), "utf8"),
    ) as {
      replicas: Array<{ pid: number }>;
    };
    for (const r of records.replicas) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  } catch {
    // no records: nothing started
  }
}

afterEach(async () => {
  await stopAll();
  reapReplicas();
  rmSync(dir, { recursive: true, force: true });
});

async function runDemo(): Promise<string[]> {
  const env = await startEnvironmentd({
    dataDir: dir,
    demo: true,
    controllerAbsentTimeoutS: 10,
    readyTimeoutMs: 60_000,
  });
  env.api.close();
  const p = env.process;
  await p.waitForLine((l) => l.startsWith("winning_bids (latest auctions"), 60_000);
  await p.waitForLine((l) => /^ {2}r2 .*online/.test(l), 30_000);
  p.child.kill("SIGINT");
  const { code } = await p.exited;
  expect(code).toBe(0);
  return p.lines;
}

it("runs the demo and resumes it from the catalog", async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-e2e-main-"));
  const first = await runDemo();
  expect(first.some((l) => l.includes("demo: creating cluster demo"))).toBe(true);
  expect(first.some((l) => l.includes("generation 1"))).toBe(true);
  expect(first.some((l) => /^ {2}r1 .*online/.test(l))).toBe(true);
  const second = await runDemo();
  expect(
    second.some((l) =>
      l.includes("demo: found cluster demo in the catalog (generation 2); resuming"),
    ),
  ).toBe(true);
  expect(second.some((l) => l.includes("demo: creating"))).toBe(false);
}, 150_000);
