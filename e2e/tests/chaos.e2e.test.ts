/**
 * The chaos command's seeded slices (the full run is `pnpm chaos --seed N --minutes 20`): 60 s of
 * seeded kill -9 under the peek/status/subscribe load, with every invariant of
 * `src/chaos/chaos.ts` as the verdict — no wrong answer at T, no frontier/since/read time going
 * backward, no failed request or stalled subscribe in steady state, catalog intact, recovery,
 * blobs bounded, no orphan process. Each takes about 80 s with setup and recovery: one of
 * environmentd kills (also during DDL), one of every kind (one replica, both, environmentd). The
 * CLI's usage errors exit 2.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { formatChaosSummary, type KillKind, runChaos } from "../src/chaos/chaos.js";
import { liveCount } from "../src/harness/processes.js";

const MAIN = fileURLToPath(new URL("../src/chaos/main.ts", import.meta.url));

afterAll(() => {
  expect(liveCount()).toBe(0);
});

async function slice(seed: number, kinds?: readonly KillKind[]) {
  const lines: string[] = [];
  const summary = await runChaos({
    seed,
    seconds: 60,
    ...(kinds === undefined ? {} : { kinds }),
    log: (l) => lines.push(l),
  });
  const text = formatChaosSummary(summary).join("\n");
  console.log(text);
  expect(summary.problems, `${text}\n${lines.join("\n")}`).toEqual([]);
  const kills = Object.values(summary.kills).reduce((a, b) => a + b, 0);
  expect(kills).toBeGreaterThanOrEqual(3);
  expect(summary.load.peeksOk).toBeGreaterThan(100);
  expect(summary.load.subscribeBatches).toBeGreaterThan(0);
  expect(summary.orphans).toEqual([]);
  return summary;
}

it("a 60 s seeded slice of environmentd kills (also during DDL) keeps every invariant", async () => {
  const summary = await slice(7, ["environmentd", "environmentd-ddl"]);
  expect(summary.environmentdGenerations).toBeGreaterThan(1);
}, 240_000);

it("a 60 s seeded slice of every kill kind keeps every invariant", async () => {
  await slice(7);
}, 240_000);

it("exits 2 with the usage on a bad argument", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--seed", "x"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--seed: expected an integer/);
  expect(r.stderr).toMatch(/usage: pnpm chaos/);
});
