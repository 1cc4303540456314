/**
 * Durability: an acknowledged append survives `kill -9` of the writing process.
 *
 * A child process appends deterministic batches in a loop (with since downgrades, so compaction
 * and GC run too) and prints each acknowledged upper. The test SIGKILLs it mid-stream, reopens
 * the shard and checks that every acknowledged upper is <= the recovered upper and that the data
 * below the recovered upper is complete and exactly as written. A second child then resumes from
 * the recovered upper and is killed again, so recovery is exercised after a crash as well.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Timestamp } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { createPersist } from "../src/index.js";
import { contents, expectedAsOf } from "../src/testdata/shard-suite.js";
import { killAllFixtures, startFixture } from "./child.js";
import { batchAt, updatesBelow } from "./fixtures/workload.js";

let dir = "";
afterEach(async () => {
  await killAllFixtures();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const ackOf = (l: string) => (l.startsWith("acked ") ? BigInt(l.slice(6)) : undefined);

async function crashAfter(dataDir: string, acks: number): Promise<bigint> {
  const f = startFixture("append-loop.ts", [dataDir, "durable"]);
  const start = BigInt((await f.waitForLine((l) => l.startsWith("start "))).slice(6));
  await f.waitForLine((l) => ackOf(l) === start + BigInt(acks), 30_000);
  f.child.kill("SIGKILL");
  expect(await f.exited).toBe("SIGKILL");
  // Every line the child managed to print before dying is an acknowledgement we must honour.
  const acked = f.lines.map(ackOf).filter((x): x is bigint => x !== undefined);
  return acked.reduce(Timestamp.max, start);
}

async function checkRecovered(dataDir: string, maxAcked: bigint): Promise<bigint> {
  const client = await createPersist({ dataDir });
  try {
    const shard = await client.openShard("durable");
    const { upper, since } = await shard.info();
    expect(upper).not.toBeNull();
    const recovered = upper as bigint;
    expect(recovered).toBeGreaterThanOrEqual(maxAcked);
    // Complete: the collection as of the last readable time equals the model.
    const all = updatesBelow(recovered);
    expect(contents(await shard.snapshot(recovered - 1n))).toEqual(
      expectedAsOf(all, recovered - 1n),
    );
    // Exactly as written: batch by batch above the since.
    const from = since as bigint;
    const l = shard.listen(from);
    let pos = from;
    while (pos < recovered) {
      const ev = (await l.next()).value!;
      for (let t = ev.lower; t < (ev.upper as bigint); t++) {
        expect(contents(ev.updates.filter((u) => u[1] === t))).toEqual(contents(batchAt(t)));
      }
      pos = ev.upper as bigint;
    }
    l.close();
    expect(pos).toBe(recovered);
    // Maintenance after a crash finds a consistent state (and may sweep leftovers).
    await shard.maintenance();
    expect(contents(await shard.snapshot(recovered - 1n))).toEqual(
      expectedAsOf(all, recovered - 1n),
    );
    return recovered;
  } finally {
    await client.close();
  }
}

describe("durability", () => {
  it("acknowledged appends survive kill -9 of the writer, twice", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-persist-durability-"));
    const first = await crashAfter(dir, 40);
    const r1 = await checkRecovered(dir, first);
    const second = await crashAfter(dir, 25);
    expect(second).toBeGreaterThanOrEqual(r1 + 25n);
    await checkRecovered(dir, second);
  }, 60_000);
});
