/**
 * `peekWorkload`'s `settled(n)` (the kill -9 scenarios wait on it instead of fixed sleeps): it
 * resolves after n more settled peeks — answered or failed, so a failing workload cannot hold the
 * caller — on `stop()`, or at its cap; failures stay recorded for the caller's checks.
 */
import { expect, it } from "vitest";
import { peekWorkload } from "../src/harness/auction-peeks.js";
import type { AuctionWorkload } from "../src/harness/auction-workload.js";
import { T } from "../src/harness/auction-workload.js";
import type { EnvironmentApi } from "../src/harness/environment.js";

const workload = { bidsAtT: [], winningAtT: [] } as unknown as AuctionWorkload;

/** An API whose peeks settle after 1 ms: answered at T, or failed when `fail()` says so. */
function fakeApi(fail: () => boolean): { api: EnvironmentApi; peeks: () => number } {
  let peeks = 0;
  const api = {
    async peek() {
      peeks++;
      await new Promise((r) => setTimeout(r, 1));
      if (fail()) throw new Error("no replica answered");
      return { rows: [], timestamp: T };
    },
  } as unknown as EnvironmentApi;
  return { api, peeks: () => peeks };
}

it("settled(n) waits for n more peeks, failed ones included", async () => {
  let failing = false;
  const { api, peeks } = fakeApi(() => failing);
  const w = peekWorkload(api, workload, () => false);
  await w.settled(10);
  expect(peeks()).toBeGreaterThanOrEqual(10);
  failing = true;
  const from = peeks();
  await w.settled(6, 60_000); // failed peeks count: not held until the cap (the test's timeout)
  expect(peeks() - from).toBeGreaterThanOrEqual(6);
  const r = await w.stop();
  expect(r.errors.length).toBeGreaterThanOrEqual(6);
  expect(r.ok).toBeGreaterThanOrEqual(10);
  expect(r.mismatches).toEqual([]);
}, 5_000);

it("settled(n) resolves at its cap, and on stop()", async () => {
  let release = () => {};
  const hung = new Promise<void>((r) => {
    release = r;
  });
  const api = {
    async peek() {
      await hung;
      return { rows: [], timestamp: T };
    },
  } as unknown as EnvironmentApi;
  const w = peekWorkload(api, workload, () => false);
  const t0 = performance.now();
  await w.settled(1, 50);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  const pending = w.settled(1_000_000, 60_000);
  const stopped = w.stop();
  release();
  await stopped;
  await pending; // resolved by the stop, not by its 60 s cap (the test's timeout)
}, 5_000);
