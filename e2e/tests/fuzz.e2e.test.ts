/**
 * The fuzz command's seeded slices (the full run is `pnpm fuzz --seed N --iterations 300`):
 * 60 cases per clusterd path (legacy two-server layout and unified server) and 60 requests at
 * the environment API, with every invariant of `src/fuzz/` as the verdict. The CLI's usage
 * errors exit 2.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { formatFuzzSummary, runFuzz } from "../src/fuzz/fuzz.js";
import { liveCount } from "../src/harness/processes.js";

const MAIN = fileURLToPath(new URL("../src/fuzz/main.ts", import.meta.url));

afterAll(() => {
  expect(liveCount()).toBe(0);
});

// Before "Replica ports" (issue 10), undecodable payloads ended streams with Internal, gzip and
// 8 MB messages were accepted (a 256 KB bomb took clusterd's RSS up ~500 MB), and CreateInstance
// after InitializationComplete was accepted.
it("fuzzing clusterd on both paths leaves it serving, within its memory bound", async () => {
  const summary = await runFuzz({
    seed: 11,
    iterations: 60,
    parts: { clusterd: true, api: false },
    log: () => {},
  });
  const text = formatFuzzSummary(summary).join("\n");
  console.log(text);
  expect(summary.problems, text).toEqual([]);
  expect(summary.clusterd.map((c) => c.path)).toEqual(["legacy", "unified"]);
}, 180_000);

// Before "One request must never take down a cluster" (issue 10), a 30–60-deep expression was
// answered with Internal (protobuf's recursion limit) and a peek with empty key rows crashed both
// replicas.
it("fuzzing the environment API: typed answers only, no replica fails", async () => {
  const summary = await runFuzz({
    seed: 11,
    iterations: 60,
    parts: { clusterd: false, api: true },
    log: () => {},
  });
  const text = formatFuzzSummary(summary).join("\n");
  console.log(text);
  expect(summary.problems, text).toEqual([]);
  expect(summary.api?.replicaRestarts).toBe(0);
}, 240_000);

it("exits 2 with the usage on a bad argument", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--iterations", "0"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--iterations: expected an integer ≥ 1/);
  expect(r.stderr).toMatch(/usage: pnpm fuzz/);
});
