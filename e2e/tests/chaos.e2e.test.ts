/**
 * The chaos command's seeded slice (the full run is `pnpm chaos --seed N --minutes 20`; this one
 * is `pnpm chaos --seed 2371 --kills 6`): seeded kill -9 under the peek/status/subscribe load,
 * with every invariant of `src/chaos/chaos.ts` as the verdict — no wrong answer at T, no
 * frontier/since/read time going backward, no failed request or stalled subscribe in steady
 * state, catalog intact, recovery, blobs bounded, no orphan process. Seed 2371's first six kills
 * are every kind: both replicas twice (the second inside the orchestrator's restart backoff),
 * environmentd during a CREATE MATERIALIZED VIEW, one replica, environmentd during a CREATE
 * INDEX, environmentd (about 60 s of kills with the default 5–15 s gaps, then the recovery). A
 * kill count instead of a duration makes that schedule the same on a slow machine. The CLI's
 * usage errors exit 2.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { formatChaosSummary, KILL_KINDS, runChaos } from "../src/chaos/chaos.js";
import { liveCount } from "../src/harness/processes.js";

const MAIN = fileURLToPath(new URL("../src/chaos/main.ts", import.meta.url));

afterAll(() => {
  expect(liveCount()).toBe(0);
});

it("a seeded slice of six kills of every kind (environmentd also during DDL) keeps every invariant", async () => {
  const lines: string[] = [];
  const summary = await runChaos({
    seed: 2371,
    kills: 6,
    seconds: 180,
    log: (l) => lines.push(l),
  });
  const text = formatChaosSummary(summary).join("\n");
  console.log(text);
  expect(summary.problems, `${text}\n${lines.join("\n")}`).toEqual([]);
  // The seed's schedule: every kind, and DDL in flight of both object kinds.
  for (const k of KILL_KINDS) expect(summary.kills[k], `${k} kills\n${text}`).toBeGreaterThan(0);
  expect(Object.values(summary.kills).reduce((a, b) => a + b, 0)).toBe(6);
  expect(summary.kills.both, text).toBe(2);
  expect(summary.ddl.index, text).toBeGreaterThan(0);
  expect(summary.ddl.view, text).toBeGreaterThan(0);
  expect(summary.environmentdGenerations).toBe(
    1 + summary.kills.environmentd + summary.kills["environmentd-ddl"],
  );
  expect(summary.load.peeksOk).toBeGreaterThan(100);
  expect(summary.load.subscribeBatches).toBeGreaterThan(0);
  expect(summary.orphans).toEqual([]);
}, 300_000);

it("exits 2 with the usage on a bad argument", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--seed", "x"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--seed: expected an integer/);
  expect(r.stderr).toMatch(/usage: pnpm chaos/);
});
