/**
 * `createPhase1ServersSuite(getConfig)`: the phase-1 scenario (see `scenario.ts`) against a real
 * clusterd started with the given phase flags. It returns everything a user could observe —
 * peek answers at several times, the subscribe stream, the error for a read below the since,
 * frontier sequences — so the test can run it with `cluster-unification-servers` off and on and
 * assert the observations are identical, and equal to a reference computed from the shards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import type { StorageResponse } from "@mzts/protocol";
import { compareRows, type Frontier, type Row, type Update } from "@mzts/repr";
import { END_MS, ids, peekAll, START_MS, subscribeDataflow, TICK_MS } from "./scenario.js";
import { peekOnce, startScenario, untilShardsClosed } from "./scenario-driver.js";

export interface Phase1Config {
  readonly flags: { readonly [phase: string]: boolean };
  readonly workers: number;
}

export interface Phase1Observations {
  /** time → rows (with counts) in finishing order. */
  readonly peeks: ReadonlyMap<bigint, ReadonlyArray<readonly [Row, number]>>;
  /** The subscribe's batches, consolidated per time: `[row, time, diff]` in time then row order. */
  readonly subscribe: readonly Update[];
  /** The subscribe's batch boundaries, in order. */
  readonly subscribeUppers: readonly Frontier[];
  /** The peek error for a time below the since after compaction. */
  readonly belowSinceError: string;
  /** Every write frontier reported for the index, in order. */
  readonly indexWriteFrontiers: readonly Frontier[];
  /** Every upper reported for the bids export, in order. */
  readonly bidsUppers: readonly Frontier[];
  /** The reference answers computed directly from the shards. */
  readonly reference: ReadonlyMap<bigint, ReadonlyArray<readonly [Row, number]>>;
}

export const PEEK_TIMES = [START_MS + 5n * TICK_MS, START_MS + 20n * TICK_MS, END_MS - 1n];

export async function runPhase1Scenario(cfg: Phase1Config): Promise<Phase1Observations> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-e2e-phase1-"));
  const shardPrefix = "s";
  try {
    const { clusterd, storage, compute } = await startScenario({
      dir,
      workers: cfg.workers,
      flags: cfg.flags,
      shardPrefix,
      extra: [
        { kind: "createDataflow", dataflow: subscribeDataflow(shardPrefix) },
        { kind: "schedule", id: ids.subscribe },
      ],
    });
    // The ingestion closes its shards after the last tick.
    await untilShardsClosed(storage);
    const peeks = new Map<bigint, ReadonlyArray<readonly [Row, number]>>();
    for (const t of PEEK_TIMES) {
      const r = await peekOnce(compute, peekAll(t));
      if (r.kind !== "rows")
        throw new Error(
          `peek at ${t} failed: ${JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`,
        );
      peeks.set(t, r.rows);
    }
    // The subscribe ends with the inputs (empty upper).
    await compute.until(
      (rs) =>
        rs.some(
          (r) =>
            r.kind === "subscribeResponse" &&
            r.id === ids.subscribe &&
            r.response.kind === "batch" &&
            r.response.upper === null,
        ),
      "the subscribe to reach the empty frontier",
      30_000,
    );
    const subscribe: Update[] = [];
    const subscribeUppers: Frontier[] = [];
    for (const r of compute.responses) {
      if (r.kind !== "subscribeResponse" || r.id !== ids.subscribe || r.response.kind !== "batch")
        continue;
      subscribeUppers.push(r.response.upper);
      if (r.response.result.kind === "updates") subscribe.push(...r.response.result.updates);
    }
    subscribe.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : compareRows(a[0], b[0])));
    // Compaction: reads below the new since are refused.
    const since = START_MS + 20n * TICK_MS;
    compute.send([{ kind: "allowCompaction", id: ids.index, frontier: since }]);
    const belowAnswer = await peekOnce(compute, peekAll(START_MS + 5n * TICK_MS));
    const belowSinceError =
      belowAnswer.kind === "error" ? belowAnswer.message : `unexpected ${belowAnswer.kind}`;
    // Drop: the index reports empty frontiers.
    compute.send([{ kind: "allowCompaction", id: ids.index, frontier: null }]);
    await compute.until(
      (rs) =>
        rs.some((r) => r.kind === "frontiers" && r.id === ids.index && r.frontiers.write === null),
      "the dropped index to report an empty write frontier",
    );
    const indexWriteFrontiers = compute.responses.flatMap((r) =>
      r.kind === "frontiers" && r.id === ids.index && r.frontiers.write !== undefined
        ? [r.frontiers.write]
        : [],
    );
    const bidsUppers = storage.responses.flatMap((r: StorageResponse) =>
      r.kind === "frontierUpper" && r.id === ids.bids ? [r.upper] : [],
    );
    await compute.close();
    await storage.close();
    const stopped = await clusterd.stop();
    if (stopped.code !== 0)
      throw new Error(
        `clusterd exited with ${stopped.code} on SIGTERM; stderr: ${clusterd.process.stderr().slice(-2000)}`,
      );
    const reference = await referenceAnswers(dir, shardPrefix);
    return {
      peeks,
      subscribe,
      subscribeUppers,
      belowSinceError,
      indexWriteFrontiers,
      bidsUppers,
      reference,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The peek answers computed from the shards directly, in plain TypeScript. */
async function referenceAnswers(
  dir: string,
  prefix: string,
): Promise<Map<bigint, Array<[Row, number]>>> {
  const persist = await createPersist({ dataDir: dir });
  try {
    const out = new Map<bigint, Array<[Row, number]>>();
    const auctionsShard = await persist.openShard(`${prefix}-auctions`);
    const bidsShard = await persist.openShard(`${prefix}-bids`);
    for (const t of PEEK_TIMES) {
      const auctions = await auctionsShard.snapshot(t);
      const bids = await bidsShard.snapshot(t);
      const summary = new Map<bigint, { max: bigint; count: number }>();
      for (const [row, , count] of bids) {
        const auction = row[2] as bigint;
        const amount = row[3] as bigint;
        const s = summary.get(auction) ?? { max: amount, count: 0 };
        if (amount > s.max) s.max = amount;
        s.count += count;
        summary.set(auction, s);
      }
      const rows: Array<[Row, number]> = [];
      for (const [row, , count] of auctions) {
        const s = summary.get(row[0] as bigint);
        if (s) rows.push([[row[0]!, row[2]!, s.max, BigInt(s.count)], count]);
      }
      rows.sort((a, b) => compareRows(a[0], b[0]));
      out.set(t, rows);
    }
    return out;
  } finally {
    await persist.close();
  }
}
