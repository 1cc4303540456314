/**
 * The soak command's short slice (the full run is `pnpm soak --minutes 30`): the demo runs for a
 * minute under `--check`, which fails on a failed peek, on a growing data directory, or on more
 * persist blobs than compaction would leave (without it every tick of each of the demo's seven
 * shards adds a blob, ~400 a minute). The command cleans up after itself; if the test has to kill
 * it, afterEach reaps environmentd (its pid is logged) and the replicas (from their records).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect, it } from "vitest";
import { type Started, startNode, stopAll } from "../src/harness/processes.js";

const SOAK = fileURLToPath(new URL("../../packages/environmentd/dist/soak.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mzts-e2e-soak-"));
let soak: Started | undefined;

afterEach(async () => {
  const pids: number[] = [];
  const envPid = /soak: environmentd pid (\d+)/.exec(soak?.stderr() ?? "")?.[1];
  if (envPid !== undefined) pids.push(Number(envPid));
  await stopAll();
  try {
    const records = JSON.parse(readFileSync(join(dir, "orchestrator", "replicas.json"), "utf8"));
    for (const r of records.replicas as Array<{ pid: number }>) pids.push(r.pid);
  } catch {
    // nothing recorded
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

it("a one-minute soak of the demo keeps the data directory flat and every peek answering", async () => {
  soak = startNode(SOAK, [
    "--minutes",
    "1",
    "--interval",
    "5",
    "--warmup",
    "20",
    "--check",
    "--max-blobs",
    "150",
    "--data-dir",
    dir,
  ]);
  const { code } = await soak.exited;
  const summary = soak.lines.join("\n");
  expect(summary, soak.stderr()).toMatch(
    /soak: ok: disk grows less than 8 MB per 10 min, at most \d+ blobs/,
  );
  expect(code).toBe(0);
  // Every sample after the warm-up saw both replicas alive and a peek answered.
  const samples = soak
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("soak: t="));
  expect(
    samples.filter((l) => Number(/t= *(\d+)/.exec(l)?.[1]) >= 20).length,
  ).toBeGreaterThanOrEqual(7);
  for (const s of samples) {
    if (Number(/t= *(\d+)/.exec(s)?.[1]) < 20) continue; // the demo is being created
    expect(s).toMatch(/peek \d+ ms/);
    expect(s.match(/\bu\d+ [\d.]+ MB/g)?.length).toBe(2);
  }
}, 120_000);
