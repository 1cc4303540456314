/**
 * A process that holds the SQLite consensus write lock — as a replica frozen by SIGSTOP inside its
 * commit does — must not stop the other replicas from answering peeks. Before the fix the compute
 * workers waited for the lock in `busy_timeout` on their own thread (the `turn` commit mode of
 * worker threads), so they answered nothing until the lock came or 10 s passed: CI run 41's
 * phase 3 failure (r2 stopped mid-commit, r1's peeks at T timed out).
 *
 * The test holds the lock from this process (a second connection, `BEGIN IMMEDIATE`), lets the
 * replica's workers reach a write (the ticker ticks every 100 ms), then peeks: each answer must
 * arrive while the lock is still held. No wall-time bound is asserted — the lock is released only
 * after the peeks settled (or after 20 s), so a slow machine cannot fail it, and a blocked worker
 * cannot pass it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, expect, it } from "vitest";
import { answersAtT, waitForConnected } from "../src/harness/auction-peeks.js";
import { createAuctionWorkload } from "../src/harness/auction-workload.js";
import { ReplicaReaper, startEnvironmentd } from "../src/harness/environment.js";
import { liveCount, stopAll } from "../src/harness/processes.js";

afterEach(stopAll);
afterAll(() => {
  expect(liveCount()).toBe(0);
});

it("peeks are answered while another process holds the consensus write lock", async () => {
  const dataDir = mkdtempSync("/tmp/consensus-lock-");
  const reaper = new ReplicaReaper(dataDir);
  try {
    const env = await startEnvironmentd({ dataDir });
    const s = await createAuctionWorkload(env.api, 1);
    await waitForConnected(env, s.clusterId, 1);
    const holder = new Database(join(dataDir, "persist", "consensus.sqlite"));
    holder.exec("BEGIN IMMEDIATE");
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      holder.exec("COMMIT");
      holder.close();
    };
    // A blocked worker would hold the peeks until this releases the lock.
    const backstop = setTimeout(release, 20_000);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // the workers' writes now wait for the lock
      const answeredWhileLocked: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const a = await answersAtT(env.api, 30_000);
        answeredWhileLocked.push(!released);
        expect(a.bids).toEqual(s.bidsAtT);
        expect(a.winning).toEqual(s.winningAtT);
      }
      expect(answeredWhileLocked).toEqual([true, true, true]);
    } finally {
      clearTimeout(backstop);
      release();
    }
    // After the lock: the waiting writes committed and the ticker moves again.
    const before = await env.api.peek({ object: "ticker_counter", timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    const after = await env.api.peek({ object: "ticker_counter", timeoutMs: 10_000 });
    expect(after.timestamp).toBeGreaterThan(before.timestamp);
  } finally {
    await stopAll();
    reaper.reap();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 90_000);
