/**
 * A client's subscribe whose dataflow stalls gets a typed error instead of waiting forever, with
 * real processes on loopback (environmentd from its `dist/main.js`, one clusterd replica through
 * its orchestrator), on the legacy paths (every phase off) and the unified ones (every phase on).
 *
 * The stall: every since handle of the ticker's subsource shard is expired from outside
 * (persist `maintenance()` with a 1 ms lease: the lapse a frozen or partitioned environmentd and
 * replica would see) and a handle of the test takes the shard's since to its upper, again and
 * again while the subscribe starts. environmentd picks the subscribe's as-of from what it knows
 * (its hold, the upper it was told), which persist no longer holds: the replica's snapshot at
 * the as-of hits a since violation and the subscribe's dataflow can never advance. The replica
 * ends the subscribe in band (`its dataflow is stalled: … since violation …`), the controller
 * turns it into `SubscribeFailed`, and the client's stream fails with Connect `Unavailable` and
 * that message — before, no batch and no error ever came. The replica serves on: a peek of the
 * ticker's index still answers. A subscribe that raced the since and streamed instead is dropped
 * and tried again (a few times at most).
 *
 * Cleanup (afterEach, also on failure): `stopAll()` kills environmentd, then every clusterd pid
 * ever recorded for the data directory is killed, and the directory is removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { TICKER } from "../src/harness/auction-workload.js";
import {
  type EnvironmentApi,
  ReplicaReaper,
  shardsByGlobalId,
  sleep,
  startEnvironmentd,
  waitFor,
} from "../src/harness/environment.js";
import { ALL_ON, writeFlags } from "../src/harness/live-flip.js";
import { liveCount, stopAll } from "../src/harness/processes.js";

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  await stopAll();
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

/** The test's since handle on the ticker's shard. */
const COMPACTOR = "e2e-stalled-subscribe";

/**
 * Until `stop` aborts: expires every other since handle of `shard` (a 1 ms lease) and takes the
 * shard's since to its upper with the test's own handle.
 */
async function compactPastEveryone(shard: Shard, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      await shard.maintenance();
      const upper = await shard.upper();
      const handle = await shard.openSinceHandle(COMPACTOR);
      if (upper !== null && handle.since !== null && handle.since < upper)
        await handle.downgradeSince(upper);
    } catch {
      // Contention with environmentd's and the replica's writes: the next round goes on.
    }
    await sleep(20);
  }
}

type Outcome =
  | { readonly kind: "error"; readonly error: ConnectError }
  | { readonly kind: "streamed" }
  | { readonly kind: "hung" };

/** Starts a subscribe of `object`: its error, a first batch with updates, or nothing in `ms`. */
async function subscribeOutcome(api: EnvironmentApi, object: string, ms: number): Promise<Outcome> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  try {
    for await (const b of api.subscribe({ object }, abort.signal)) {
      if (b.updates.length > 0) return { kind: "streamed" };
    }
    return { kind: "streamed" };
  } catch (e) {
    if (abort.signal.aborted) return { kind: "hung" };
    return { kind: "error", error: ConnectError.from(e) };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

describe("a subscribe whose dataflow stalls", () => {
  for (const paths of ["legacy", "unified"] as const) {
    it(`${paths}: the client's stream fails with the stall's error; the replica serves on`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "mzts-e2e-stalled-subscribe-"));
      const reaper = new ReplicaReaper(dataDir);
      cleanup.push(() => {
        reaper.reap();
        rmSync(dataDir, { recursive: true, force: true });
      });
      let flagsFile: string | undefined;
      if (paths === "unified") {
        flagsFile = join(dataDir, "flags.json");
        writeFlags(flagsFile, ALL_ON);
      }
      const env = await startEnvironmentd({
        dataDir,
        ...(flagsFile === undefined ? {} : { flagsFile }),
      });
      const api = env.api;
      await api.createCluster("c", 0);
      await api.createReplica("c", "r1", 1);
      const ticker = await api.createSource({
        name: "ticker",
        cluster: "c",
        loadGenerator: TICKER,
      });
      const counterId = ticker.subsources.find((s) => s.name === "ticker_counter")?.id;
      if (counterId === undefined) throw new Error("ticker has no ticker_counter subsource");
      await api.createIndex({ name: "ticker_idx", cluster: "c", on: "ticker_counter", key: [0] });
      await waitFor("the ticker's index answering", async () => {
        const r = await api.peek({ object: "ticker_idx", timeoutMs: 10_000 });
        return r.rows.length > 0 ? true : undefined;
      });
      reaper.observe();

      const shardId = (await shardsByGlobalId(dataDir)).get(counterId);
      if (shardId === undefined) throw new Error(`no shard for ${counterId} in the catalog`);
      const persist: PersistClient = await createPersist({
        dataDir: join(dataDir, "persist"),
        readerLeaseMs: 1,
      });
      cleanup.push(() => persist.close());
      const shard = await persist.openShard(shardId);
      const stop = new AbortController();
      const compacting = compactPastEveryone(shard, stop.signal);
      cleanup.push(async () => {
        stop.abort();
        await compacting;
      });
      await waitFor("the shard's since at its upper", async () => {
        const [since, upper] = [await shard.since(), await shard.upper()];
        return since !== null && upper !== null && since >= upper - 1n ? true : undefined;
      });

      let outcome: Outcome = { kind: "streamed" };
      for (let attempt = 0; attempt < 5 && outcome.kind === "streamed"; attempt++) {
        outcome = await subscribeOutcome(api, "ticker_counter", 30_000);
      }
      stop.abort();
      await compacting;
      if (outcome.kind !== "error") {
        throw new Error(
          outcome.kind === "hung"
            ? "the subscribe got neither a batch nor an error in 30 s (its dataflow stalled)"
            : "every subscribe streamed: the since never passed its as-of",
        );
      }
      const { error } = outcome;
      expect(Code[error.code]).toBe(Code[Code.Unavailable]);
      expect(error.rawMessage).toMatch(/^subscribe \S+ failed: its dataflow is stalled: source /);
      expect(error.rawMessage).toContain(`(shard ${shardId}) stopped on worker`);
      expect(error.rawMessage).toContain("since violation");
      expect(error.rawMessage).toContain("drop and recreate");

      // The replica serves on: the ticker's index still answers.
      const after = await api.peek({ object: "ticker_idx", timeoutMs: 20_000 });
      expect(after.rows.length).toBeGreaterThan(0);
    }, 180_000);
  }
});
