/**
 * An open subscribe through replica failures, with real processes on loopback (environmentd from
 * its `dist/main.js`, two clusterd replicas through its orchestrator, the auction workload of
 * `src/harness/auction-workload.ts`): a subscribe to the real-time ticker keeps streaming through
 * `kill -9` of r1 and then of both replicas. Before each kill the ticker's shard is compacted past
 * the subscribe's start, so a replay that rebuilt the subscribe at its original as-of would stall
 * on a since violation (the defect this guards: no batch, no error). The stream must deliver
 * contiguous batches without error, and what it streamed up to its upper must equal a peek there.
 *
 * Cleanup (afterEach, also on failure): `stopAll()` kills environmentd, then every clusterd pid
 * ever recorded for the data directory is killed, and the directory is removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Frontier, type Row, rowKey } from "@mzts/repr";
import { afterAll, afterEach, expect, it } from "vitest";
import { CLUSTER, createAuctionWorkload } from "../src/harness/auction-workload.js";
import {
  type EnvironmentApi,
  ReplicaReaper,
  recordedPid,
  sortRows,
  startEnvironmentd,
  waitFor,
} from "../src/harness/environment.js";
import { liveCount, stopAll } from "../src/harness/processes.js";

const dataDir = mkdtempSync(join(tmpdir(), "mzts-e2e-subscribe-"));
const reaper = new ReplicaReaper(dataDir);

afterEach(async () => {
  await stopAll();
  reaper.reap();
  rmSync(dataDir, { recursive: true, force: true });
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

function pidOf(replicaId: string): number {
  const pid = recordedPid(reaper.observe(), replicaId);
  if (pid === undefined) throw new Error(`no record for replica ${replicaId}`);
  return pid;
}

/** Waits until status reports both replicas of the cluster online. */
async function bothOnline(api: EnvironmentApi): Promise<void> {
  await waitFor(
    "both replicas online",
    async () => {
      const s = await api.status(CLUSTER);
      const online = s.clusters[0]?.replicas.filter((r) => r.health === "online").length;
      return online === 2 ? true : undefined;
    },
    30_000,
  );
}

it("keeps an open subscribe streaming through kill -9 of one replica, then of both", async () => {
  const env = await startEnvironmentd({ dataDir });
  const api = env.api;
  const s = await createAuctionWorkload(api, 2);
  await bothOnline(api);
  const stream = new AbortController();
  const problems: string[] = [];
  const contents = new Map<string, { row: Row; n: number }>();
  let batches = 0;
  let upper: Frontier | undefined;
  let firstUpper: bigint | undefined;
  const reading = (async () => {
    try {
      for await (const b of api.subscribe({ object: "ticker_counter" }, stream.signal)) {
        for (const [row, t, d] of b.updates) {
          if (
            (upper !== undefined && upper !== null && t < upper) ||
            (b.upper !== null && t >= b.upper)
          )
            problems.push(`update at ${t} outside [${String(upper)}, ${String(b.upper)})`);
          const e = contents.get(rowKey(row)) ?? { row, n: 0 };
          e.n += d;
          contents.set(rowKey(row), e);
        }
        if (upper !== undefined && !(upper !== null && (b.upper === null || upper < b.upper)))
          problems.push(`upper ${String(b.upper)} does not follow ${String(upper)}`);
        upper = b.upper;
        firstUpper ??= b.upper ?? undefined;
        batches++;
      }
      problems.push("the subscribe ended");
    } catch (e) {
      if (!stream.signal.aborted) problems.push(`the subscribe failed: ${String(e)}`);
    }
  })();
  const moreBatches = async (what: string, n: number) => {
    const from = batches;
    await waitFor(
      `${n} more subscribe batches ${what}`,
      () => (batches >= from + n ? true : undefined),
      20_000,
    );
  };
  const restarted = async (replicaId: string, oldPid: number) => {
    await waitFor(
      `the orchestrator to restart ${replicaId}`,
      () => {
        const p = recordedPid(reaper.observe(), replicaId);
        return p !== undefined && p !== oldPid ? p : undefined;
      },
      20_000,
    );
  };
  // A replay must not rebuild the subscribe at its original as-of: the ticker's shard is
  // compacted past it by the time of each kill.
  const compactedPastStart = () =>
    waitFor(
      "the ticker's shard to be compacted past the subscribe's start",
      async () => {
        const s = await api.status(CLUSTER);
        const since = s.clusters[0]?.collections.find((x) => x.name === "ticker_counter")?.since;
        return firstUpper !== undefined && typeof since === "bigint" && since > firstUpper
          ? true
          : undefined;
      },
      20_000,
    );
  try {
    await moreBatches("before the kills", 10);
    await compactedPastStart();
    const r1 = s.replicaIds.get("r1") as string;
    const r2 = s.replicaIds.get("r2") as string;
    // One replica: r2 goes on answering; the rehydrated r1 must then carry it alone.
    const r1Pid = pidOf(r1);
    process.kill(r1Pid, "SIGKILL");
    await moreBatches("after the kill of r1", 10);
    await restarted(r1, r1Pid);
    await bothOnline(api);
    await moreBatches("with r1 rehydrated", 10);
    await compactedPastStart();
    // Both: nothing answers until a rehydrated replica picks the stream up where it was.
    const pids = [pidOf(r1), pidOf(r2)];
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await restarted(r1, pids[0] as number);
    await restarted(r2, pids[1] as number);
    await bothOnline(api);
    await moreBatches("after the kill of both", 20);
    expect(problems).toEqual([]);
    // What was streamed up to its upper is what a peek reads there.
    const at = upper as bigint;
    const streamed = sortRows(
      [...contents.values()].filter((e) => e.n !== 0).map((e) => [e.row, e.n]),
    );
    const peek = await api.peek({
      object: "ticker_counter",
      timestamp: at - 1n,
      timeoutMs: 10_000,
    });
    expect(peek.rows).toEqual(streamed);
    expect(streamed.length).toBeGreaterThan(0);
    console.log(`subscribe failover: ${batches} batches, ${streamed.length} rows at ${at - 1n}`);
  } finally {
    stream.abort();
    await reading;
    api.close();
  }
  expect(problems).toEqual([]);
}, 150_000);
