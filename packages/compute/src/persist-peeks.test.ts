/**
 * A peek of a persist shard waits (worker 0's snapshot) until the shard's upper passes its time.
 * Its wait ends with the peek: a canceled peek (`cancelPeek`), a peek a reconnecting controller's
 * reconciliation forgets, and a closing worker end the snapshot's wait, and such a peek is never
 * answered afterwards (before, the snapshot polled the shard for the life of the worker, holding
 * the peek, and a canceled one's rows would have been dropped only by luck of the uuid check).
 * One `ComputeState` in process, real persist; the snapshots the worker takes are observed
 * through `Shard.prototype.snapshot`.
 */
import { Shard } from "@mzts/persist";
import type { Peek, PeekResponse } from "@mzts/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  append,
  INSTANCE,
  runCleanups,
  shards,
  sleep,
  Workers,
} from "./testdata/in-process-workers.js";

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanups();
});

let n = 0;
function persistPeek(shardId: string, t: bigint): Peek {
  return {
    uuid: `00000000-0000-4000-9000-${(++n).toString(16).padStart(12, "0")}`,
    target: { kind: "persist", id: "u1", shardId },
    arity: 1,
    timestamp: t,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  };
}

/** How each snapshot the worker took ended so far: "pending", "rows" or the error's name. */
function watchSnapshots(): string[] {
  const outcomes: string[] = [];
  const real = Shard.prototype.snapshot;
  vi.spyOn(Shard.prototype, "snapshot").mockImplementation(function (
    this: Shard,
    ...args: Parameters<Shard["snapshot"]>
  ) {
    const i = outcomes.push("pending") - 1;
    const p = real.apply(this, args);
    p.then(
      () => {
        outcomes[i] = "rows";
      },
      (e: unknown) => {
        outcomes[i] = (e as Error).name;
      },
    );
    return p;
  });
  return outcomes;
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function setup() {
  const { dir, shards: s } = await shards(["p1"]);
  const w = new Workers(1, dir);
  w.apply(INSTANCE);
  const answers = (uuid: string): PeekResponse[] =>
    w.out[0]!.flatMap((r) => (r.kind === "peekResponse" && r.uuid === uuid ? [r.response] : []));
  return { w, shard: s.p1!, answers };
}

describe("persist peeks", () => {
  it("control: a persist peek waits for the shard's upper, then answers its rows", async () => {
    const outcomes = watchSnapshots();
    const { w, shard, answers } = await setup();
    const p = persistPeek("p1", 2n);
    w.apply({ kind: "peek", peek: p });
    await until(() => outcomes.length === 1, "the snapshot to start");
    await sleep(30);
    expect(outcomes).toEqual(["pending"]);
    for (let t = 0n; t < 3n; t++) await append(shard, t + 10n, t);
    await until(() => answers(p.uuid).length === 1, "the peek's answer");
    expect(answers(p.uuid)[0]).toEqual({
      kind: "rows",
      rows: [
        [[10n], 1],
        [[11n], 1],
        [[12n], 1],
      ],
    });
    expect(outcomes).toEqual(["rows"]);
  });

  it("a canceled persist peek stops waiting and is never answered with rows", async () => {
    const outcomes = watchSnapshots();
    const { w, shard, answers } = await setup();
    const p = persistPeek("p1", 2n);
    w.apply({ kind: "peek", peek: p });
    await until(() => outcomes.length === 1, "the snapshot to start");
    w.apply({ kind: "cancelPeek", uuid: p.uuid });
    expect(answers(p.uuid)).toEqual([{ kind: "canceled" }]);
    // Before: the snapshot kept polling the shard until its upper passed the time (forever).
    await until(() => outcomes[0] !== "pending", "the canceled peek's snapshot to end", 1000);
    expect(outcomes).toEqual(["WaitAborted"]);
    for (let t = 0n; t < 3n; t++) await append(shard, t, t);
    await sleep(50);
    expect(answers(p.uuid)).toEqual([{ kind: "canceled" }]);
    expect(w.states[0]!.stats().pendingPeeks).toBe(0);
  });

  it("a reconciliation forgets a waiting persist peek: its wait ends, no answer", async () => {
    const outcomes = watchSnapshots();
    const { w, shard, answers } = await setup();
    const p = persistPeek("p1", 2n);
    w.apply({ kind: "peek", peek: p });
    await until(() => outcomes.length === 1, "the snapshot to start");
    w.states[0]!.onConnection("second");
    w.apply(INSTANCE, { kind: "initializationComplete" });
    await until(() => outcomes[0] !== "pending", "the forgotten peek's snapshot to end", 1000);
    expect(outcomes).toEqual(["WaitAborted"]);
    // The new controller peeks with the same uuid (uuids are unique per connection): only the
    // new peek's answer comes, once.
    w.apply({ kind: "peek", peek: p });
    await until(() => outcomes.length === 2, "the second snapshot to start");
    for (let t = 0n; t < 3n; t++) await append(shard, t, t);
    await until(() => answers(p.uuid).length === 1, "the second peek's answer");
    await sleep(50);
    expect(answers(p.uuid).map((a) => a.kind)).toEqual(["rows"]);
  });

  it("closing the worker ends a waiting persist peek's snapshot", async () => {
    const outcomes = watchSnapshots();
    const { w } = await setup();
    w.apply({ kind: "peek", peek: persistPeek("p1", 2n) });
    await until(() => outcomes.length === 1, "the snapshot to start");
    const closed = w.states[0]!.close();
    await until(() => outcomes[0] !== "pending", "the snapshot to end at close", 1000);
    await closed;
    expect(outcomes[0]).not.toBe("rows");
  });
});
