/**
 * Live flips between every built phase on and every phase off (issue 15's "all off" wedge), in a
 * loop: one environmentd with a flags FILE this test rewrites, a two-replica cluster with the
 * auction workload's indexes (`auction-workload.ts`) started with every phase on, under the
 * steady peek and subscribe load (`read-load.ts`). Each "all off" rebuilds the cluster's
 * controller unified → legacy while its replicas are one-port (`client`), then rolls both
 * replicas; each "all on" rolls them back and rebuilds legacy → unified.
 *
 * Asserted: every flip settles (status: no flip, nothing flipping, two replicas), 0 failed peeks,
 * answers at T unchanged, a subscribe stream without a gap or a duplicate. `LIVE_FLIP_LOG=<file>`
 * writes environmentd's info log there; `LIVE_FLIP_CYCLES` sets the number of off/on cycles
 * (default 1 in the suite; the loop is for hunting the wedge).
 */
import { afterAll, afterEach, expect, it } from "vitest";
import { sleep } from "../src/harness/environment.js";
import {
  ALL_OFF,
  ALL_ON,
  settled,
  startLiveFlipEnvironment,
  writeFlags,
} from "../src/harness/live-flip.js";
import { liveCount, stopAll } from "../src/harness/processes.js";
import { readLoad } from "../src/harness/read-load.js";

let cleanup: Array<() => void> = [];
afterEach(async () => {
  await stopAll();
  for (const f of cleanup.reverse()) f();
  cleanup = [];
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

it("flips every phase off and on again on a live two-replica cluster", async () => {
  const cycles = Number(process.env.LIVE_FLIP_CYCLES ?? "1");
  const {
    api,
    workload: s,
    reaper,
    flagsFile,
  } = await startLiveFlipEnvironment("live-flip-all-off-", ALL_ON, cleanup);
  await settled(api, ALL_ON);
  const load = readLoad(api, s);
  await sleep(1000);
  const times: string[] = [];
  for (let i = 0; i < cycles; i++) {
    for (const [what, flags] of [
      ["all off", ALL_OFF],
      ["all on", ALL_ON],
    ] as const) {
      const from = Date.now();
      writeFlags(flagsFile, flags);
      await settled(api, flags);
      times.push(`${what} ${Date.now() - from} ms`);
      reaper.observe();
      await sleep(500);
    }
  }
  const r = await load.stop();
  console.log(
    `all on/off: ${times.join(", ")}; peeks ${r.peeks.length}; ` +
      `subscribe ${r.subscribe.values} values, ${r.subscribe.resumes} resumed`,
  );
  expect(r.errors).toEqual([]);
  expect(r.peeks.every((p) => p.ok)).toBe(true);
  expect(r.mismatches).toEqual([]);
  expect(r.subscribe.error).toBeUndefined();
  expect(r.subscribe.problems).toEqual([]);
}, 600_000);
