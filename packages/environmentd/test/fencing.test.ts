/**
 * A fenced environmentd stops acting: when a newer one boots on the same catalog, the older one
 * notices (the periodic generation check, or a refused write), closes itself without stopping the
 * replicas, and reports it through `onFenced`; its later calls fail with `EnvironmentClosed`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment, EnvironmentClosed } from "../src/index.js";

const dirs: string[] = [];
const envs: Environment[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function boot(dataDir: string, onFenced?: (g: bigint) => void): Promise<Environment> {
  const env = await createEnvironment({
    dataDir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    fenceCheckMs: 100,
    ...(onFenced === undefined ? {} : { onFenced }),
  });
  envs.push(env);
  return env;
}

it("an older environmentd closes itself when a newer generation boots", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-fencing-"));
  dirs.push(dir);
  let fencedBy: bigint | undefined;
  const first = await boot(dir, (g) => {
    fencedBy = g;
  });
  await first.createCluster({ name: "c" });
  const second = await boot(dir);
  expect(second.generation).toBe(first.generation + 1n);
  const deadline = Date.now() + 5000;
  while (fencedBy === undefined && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(fencedBy).toBe(second.generation);
  await expect(first.createCluster({ name: "d" })).rejects.toBeInstanceOf(EnvironmentClosed);
  // The newer one is unaffected and sees what the older one created.
  expect((await second.listClusters()).clusters.map((c) => c.name)).toEqual(["c"]);
  await second.createCluster({ name: "d" });
});
