/**
 * `ShardWriter` against an in-memory shard double (compare-and-append with persist's
 * `UpperMismatch`, an upper, a since handle): it appends only what every worker has sent, closes
 * the shard at `maxTicks`, adopts another replica's upper, polls in read-only mode, reports health
 * and retries after a failure (of the open too), and stops appending after `stop()` (leaving the
 * `shardWriters` gauge once its last persist call settled). The write path over real
 * workers and persist is tested in `test/storage-runtime.test.ts`.
 */

import type { PersistClient } from "@mzts/persist";
import { StorageUnavailable, UpperMismatch } from "@mzts/persist";
import type { IngestionDescription } from "@mzts/protocol";
import { Frontier, type Update } from "@mzts/repr";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ingestionGenerator } from "./ingestion.js";
import type { StorageMeshMessage } from "./mesh-messages.js";
import { SLOT, StorageCounters } from "./metrics.js";
import { ShardWriter } from "./shard-writer.js";
import { updatesBetween } from "./source/load-generator/render.js";
import { DEFAULT_STATE_OPTIONS } from "./storage-state-deps.js";

const W = 2;
const END = 4n;
const description: IngestionDescription = {
  sourceExports: [{ id: "u2", shardId: "s", outputIndex: 0, name: "counter" }],
  connection: {
    kind: "loadGenerator",
    generator: { kind: "counter", maxCardinality: 100n },
    seed: 0n,
    tickIntervalMs: 10,
    deterministic: { startTimeMs: 0n, maxTicks: END },
  },
};
const generator = ingestionGenerator(description, 0n);
const at = (tick: bigint) => generator.clock.timeAt(tick);

/** Worker `worker`'s part of ticks `[from, to)`. */
function part(worker: number, from: bigint, to: bigint) {
  const updates = updatesBetween(generator, from, to, { partition: { worker, workers: W } });
  return { from, to, updates: updates.get(0) ?? [] };
}
/** Every worker's part of ticks `[from, to)`, in worker order. */
function sendAll(writer: ShardWriter, from: bigint, to: bigint): void {
  for (let w = 0; w < W; w++) writer.enqueue(w, part(w, from, to));
}
const total = (from: bigint, to: bigint) => updatesBetween(generator, from, to).get(0)?.length ?? 0;

/** A shard double: `upper`, and `compareAndAppend` as persist does it. */
function fakeShard() {
  const s = {
    upper: Frontier.MIN,
    appends: [] as Array<{ lower: Frontier; upper: Frontier; n: number }>,
    fail: undefined as Error | undefined,
    /** While set, appends wait for it. */
    gate: undefined as Promise<void> | undefined,
    expired: 0,
    since: Frontier.MIN,
    /** `openShard` calls, and how many of the next ones fail (Infinity: all). */
    opens: 0,
    openFailures: 0,
  };
  const handle = {
    get since() {
      return s.since;
    },
    downgradeSince: async (f: Frontier) => {
      s.since = f;
    },
    expire: async () => {
      s.expired++;
    },
    heartbeat: async () => {},
  };
  const shard = {
    upper: async () => s.upper,
    compareAndAppend: async (updates: Update[], lower: Frontier, upper: Frontier) => {
      if (s.gate !== undefined) await s.gate;
      if (s.fail !== undefined) {
        const e = s.fail;
        s.fail = undefined;
        throw e;
      }
      if (lower !== s.upper) throw new UpperMismatch("s", lower, s.upper);
      s.appends.push({ lower, upper, n: updates.length });
      s.upper = upper;
    },
    openSinceHandle: async () => handle,
  };
  const client = {
    openShard: async () => {
      s.opens++;
      if (s.openFailures > 0) {
        s.openFailures--;
        throw new StorageUnavailable("consensus", "open", new Error("SQLITE_BUSY"));
      }
      return shard;
    },
  } as unknown as PersistClient;
  return { s, client };
}

function setup(opts: { writesAllowed: boolean; openFailures?: number }) {
  const { s, client } = fakeShard();
  s.openFailures = opts.openFailures ?? 0;
  const sent: Array<[number, StorageMeshMessage]> = [];
  const counters = new StorageCounters();
  const logs: Array<{ level: number; msg: string; shard?: string; err?: unknown }> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const clock = { now: 1000, writesAllowed: opts.writesAllowed, quiet: 0, settled: 0 };
  const writer = new ShardWriter(
    {
      deps: {
        index: 0,
        peers: W,
        respond: () => {},
        send: () => {},
        requestStep: () => {},
        openPersist: async () => client,
        counters,
        logger,
        nowMs: () => clock.now,
        options: DEFAULT_STATE_OPTIONS,
      },
      sendTo: (to, msg) => sent.push([to, msg]),
      writesAllowed: () => clock.writesAllowed,
      closed: () => false,
      settled: () => {
        clock.settled++;
      },
      onQuiet: () => {
        clock.quiet++;
      },
    },
    {
      ingestionId: "u1",
      exportId: "u2",
      shardId: "s",
      gen: 0,
      generator,
      endTick: END,
      upper: Frontier.MIN,
      startTick: 0n,
    },
  );
  const health = () =>
    sent.flatMap(([to, m]) => (m.kind === "health" ? [`${to}:${m.error ?? "ok"}`] : []));
  const uppers = (to: number) =>
    sent.flatMap(([t, m]) => (m.kind === "upper" && t === to ? [m.upper] : []));
  return { s, writer, counters, clock, health, uppers, logs };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

describe("ShardWriter", () => {
  it("appends once every worker has sent through a tick and closes the shard at maxTicks", async () => {
    const t = setup({ writesAllowed: true });
    t.writer.open();
    await settle();
    t.writer.enqueue(0, part(0, 0n, 2n));
    await settle();
    expect(t.s.appends).toEqual([]); // worker 1 has not sent ticks [0, 2) yet
    t.writer.enqueue(1, part(1, 0n, 2n));
    await settle();
    sendAll(t.writer, 2n, END);
    await settle();
    expect(t.s.appends).toEqual([
      { lower: 0n, upper: at(2n), n: total(0n, 2n) },
      { lower: at(2n), upper: Frontier.EMPTY, n: total(2n, END) },
    ]);
    expect(t.writer.committed).toBe(BigInt(total(0n, END)));
    expect(t.health()).toEqual(["0:ok"]);
    for (const w of [0, 1]) expect(t.uppers(w)).toEqual([at(2n), Frontier.EMPTY]);
  });

  it("adopts another replica's upper and appends only what lies above it", async () => {
    const t = setup({ writesAllowed: true });
    t.s.upper = at(3n); // another replica wrote ticks [0, 3)
    t.writer.open();
    await settle();
    sendAll(t.writer, 0n, END);
    await settle();
    expect(t.s.appends).toEqual([{ lower: at(3n), upper: Frontier.EMPTY, n: total(3n, END) }]);
    expect(t.counters.get(SLOT.appendsUpperMismatch)).toBe(1n);
    expect(t.uppers(1)).toEqual([at(3n), Frontier.EMPTY]);
  });

  it("polls the upper instead of appending while read-only", async () => {
    const t = setup({ writesAllowed: false });
    t.writer.open();
    await settle();
    sendAll(t.writer, 0n, 2n);
    t.s.upper = at(1n); // written elsewhere
    t.clock.now += DEFAULT_STATE_OPTIONS.readOnlyPollMs;
    t.writer.pump();
    await settle();
    expect(t.s.appends).toEqual([]);
    expect(t.uppers(0)).toEqual([at(1n)]);
    expect(t.health()).toEqual(["0:ok"]);
  });

  it("reports a failed append, re-reads the upper after the backoff and recovers", async () => {
    const t = setup({ writesAllowed: true });
    t.writer.open();
    await settle();
    t.s.fail = new Error("disk full");
    sendAll(t.writer, 0n, 2n);
    await settle();
    expect(t.health()).toEqual(["0:disk full"]);
    expect(t.counters.get(SLOT.appendsError)).toBe(1n);
    t.writer.pump(); // before the backoff: nothing
    await settle();
    expect(t.s.appends).toEqual([]);
    t.clock.now += 5000;
    t.writer.pump();
    await settle();
    expect(t.health()).toEqual(["0:disk full", "0:ok"]);
    expect(t.s.appends).toEqual([{ lower: 0n, upper: at(2n), n: total(0n, 2n) }]);
  });

  it("holds the since where compaction allows and, once stopped, appends nothing and expires it", async () => {
    const t = setup({ writesAllowed: true });
    t.writer.open();
    await settle();
    sendAll(t.writer, 0n, 2n);
    await settle();
    t.writer.wantSince(at(5n));
    await settle();
    expect(t.s.since).toBe(at(2n)); // meet(wanted, upper)
    t.writer.stop();
    await settle();
    expect(t.s.expired).toBe(1);
    sendAll(t.writer, 2n, END);
    await settle();
    expect(t.s.appends).toHaveLength(1);
  });

  it("is quiet only once the append in flight at the stop has settled (the write fence)", async () => {
    const t = setup({ writesAllowed: true });
    t.writer.open();
    await settle();
    let release = () => {};
    t.s.gate = new Promise<void>((r) => {
      release = r;
    });
    sendAll(t.writer, 0n, 2n); // the append starts and waits at the gate
    await settle();
    expect(t.counters.get(SLOT.shardWriters)).toBe(1n);
    t.writer.stop();
    expect(t.writer.quiet).toBe(false);
    expect(t.clock.quiet).toBe(0);
    expect(t.counters.get(SLOT.shardWriters)).toBe(1n); // it can still reach persist
    release();
    await settle();
    expect(t.s.appends).toHaveLength(1); // it landed…
    expect(t.writer.quiet).toBe(true); // …before the writer reported quiet
    expect(t.clock.quiet).toBe(1);
    expect(t.counters.get(SLOT.shardWriters)).toBe(0n); // and left the gauge, once
    expect(t.uppers(0)).toEqual([]); // and its outcome was not adopted
  });

  it("leaves the shard-writers gauge once: at a stop or kill while idle, never twice", async () => {
    const t = setup({ writesAllowed: true });
    expect(t.counters.get(SLOT.shardWriters)).toBe(1n); // counted from its construction
    t.writer.open();
    await settle();
    t.writer.stop();
    expect(t.writer.quiet).toBe(true);
    expect(t.counters.get(SLOT.shardWriters)).toBe(0n);
    t.writer.kill();
    t.writer.stop();
    expect(t.counters.get(SLOT.shardWriters)).toBe(0n);
    const k = setup({ writesAllowed: true });
    k.writer.open(); // killed while the open is in flight: leaves once it settles
    k.writer.kill();
    expect(k.counters.get(SLOT.shardWriters)).toBe(1n);
    await settle();
    expect(k.counters.get(SLOT.shardWriters)).toBe(0n);
  });

  it("says when it is next due unasked: read-only poll, retry, heartbeat; nothing while busy", async () => {
    const t = setup({ writesAllowed: false });
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY); // opening
    t.writer.open();
    await settle();
    expect(t.clock.settled).toBeGreaterThan(0); // each persist call that settles asks for maintenance
    // Read-only: the next poll (the last one ran at the open's pump).
    t.clock.now += 10;
    const poll = t.writer.dueInMs(t.clock.now);
    expect(poll).toBeGreaterThan(0);
    expect(poll).toBeLessThanOrEqual(DEFAULT_STATE_OPTIONS.readOnlyPollMs);
    // Writable and idle: nothing due.
    t.clock.writesAllowed = true;
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY);
    // A failed append: due at the retry.
    t.s.fail = new Error("disk full");
    sendAll(t.writer, 0n, 2n);
    await settle();
    const retry = t.writer.dueInMs(t.clock.now);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(5000);
    t.clock.now += retry;
    t.s.fail = undefined;
    t.writer.pump();
    await settle();
    expect(t.s.appends).toHaveLength(1);
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY);
    // A since handle: due at the next heartbeat, a minute out.
    t.writer.wantSince(at(1n));
    await settle();
    const beat = t.writer.dueInMs(t.clock.now);
    expect(beat).toBeGreaterThan(59_000);
    expect(beat).toBeLessThanOrEqual(60_001);
    t.writer.stop();
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("ShardWriter: a failed open", () => {
  /** Runs the writer as maintenance does: at each due time, pump. Returns the delays. */
  async function retry(t: ReturnType<typeof setup>, times: number): Promise<number[]> {
    const delays: number[] = [];
    for (let i = 0; i < times; i++) {
      const due = t.writer.dueInMs(t.clock.now);
      delays.push(due);
      t.clock.now += due;
      t.writer.pump();
      await settle();
    }
    return delays;
  }

  it("is retried with backoff until the shard opens; then the data lands and the upper advances", async () => {
    const t = setup({ writesAllowed: true, openFailures: 3 });
    t.writer.open();
    sendAll(t.writer, 0n, 2n); // the workers keep sending while the shard is not open
    await settle();
    expect(t.s.opens).toBe(1);
    expect(t.health()).toEqual([
      `0:${new StorageUnavailable("consensus", "open", new Error("SQLITE_BUSY")).message}`,
    ]);
    t.writer.pump(); // before the backoff: no new attempt
    await settle();
    expect(t.s.opens).toBe(1);
    // Maintenance is told when to retry (the file's backoff: 100, 200, 400 ms, …).
    expect(await retry(t, 3)).toEqual([100, 200, 400]);
    expect(t.s.opens).toBe(4);
    expect(t.counters.get(SLOT.shardOpensError)).toBe(3n);
    expect(t.counters.get(SLOT.shardOpensOk)).toBe(1n);
    sendAll(t.writer, 2n, END);
    await settle();
    // Every tick written once, in order; every worker told; healthy again.
    expect(t.s.appends).toEqual([
      { lower: 0n, upper: at(2n), n: total(0n, 2n) },
      { lower: at(2n), upper: Frontier.EMPTY, n: total(2n, END) },
    ]);
    expect(t.writer.committed).toBe(BigInt(total(0n, END)));
    for (const w of [0, 1]) expect(t.uppers(w)).toEqual([at(2n), Frontier.EMPTY]);
    expect(t.health().at(-1)).toBe("0:ok");
    expect(t.logs.filter((l) => l.msg === "storage: shard writer recovered")).toHaveLength(1);
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY);
  });

  it("keeps retrying a shard that never opens, capped at 5 s, writes nothing, and stops on drop", async () => {
    const t = setup({ writesAllowed: true, openFailures: Number.POSITIVE_INFINITY });
    t.writer.open();
    sendAll(t.writer, 0n, END);
    await settle();
    const delays = await retry(t, 12);
    expect(delays.slice(0, 6)).toEqual([100, 200, 400, 800, 1600, 3200]);
    expect(delays.slice(6)).toEqual(Array(6).fill(5000));
    expect(t.s.opens).toBe(13); // one attempt per due time, none in between
    expect(t.s.appends).toEqual([]);
    expect(t.uppers(0)).toEqual([]); // frontiers hold
    expect(t.health()).toHaveLength(1); // stalled once, not once per attempt
    // Logged: the first failure at warn (shard, error, what to check), the repeats at debug.
    const failures = t.logs.filter((l) => l.msg.startsWith("storage: opening the export shard"));
    expect(failures.map((l) => l.level)).toEqual([40, ...Array(12).fill(20)]);
    expect(failures[0]).toMatchObject({
      shard: "s",
      err: { message: expect.stringMatching(/SQLITE_BUSY/) },
    });
    expect(failures[0]!.msg).toMatch(/check that persist's data directory and consensus/);
    // Dropped: quiet at once (nothing in flight), nothing due, no further attempt.
    t.writer.stop();
    expect(t.writer.quiet).toBe(true);
    expect(t.writer.dueInMs(t.clock.now)).toBe(Number.POSITIVE_INFINITY);
    t.clock.now += 10_000;
    t.writer.pump();
    await settle();
    expect(t.s.opens).toBe(13);
  });
});
