/**
 * `SourceReader`'s since handle over a real persist client on a temp directory: a lagging reader
 * keeps the batches it still needs while a "controller" handle downgrades far ahead and
 * compaction runs; the handle follows the reader's position, heartbeats while idle, is expired
 * when the reader stops, and is re-attached (or re-registered when above the as-of) by a reader
 * with the same identity. The listener is gated to make the reader lag deterministically.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPersist,
  type Listener,
  type PersistClient,
  type Shard,
  SinceViolation,
} from "@mzts/persist";
import { Frontier, type Timestamp, type Update } from "@mzts/repr";
import { type Logger, pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ImportFeed } from "./import-feed.js";
import { ShardListeners } from "./shard-listeners.js";
import { SourceReader, sourceReaderId } from "./source-import.js";

const SHARD = "s1";
const CONTROLLER = "controller";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function persistOn(dir: string, tuning: { readerLeaseMs?: number } = {}) {
  const p = await createPersist({ dataDir: dir, pollIntervalMs: 5, ...tuning });
  cleanups.push(() => p.close());
  return p;
}

async function setup(tuning: { readerLeaseMs?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "mzts-compute-source-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await persistOn(dir, tuning);
  const shard = await persist.openShard(SHARD, { create: true });
  return { dir, persist, shard };
}

/** Appends one single-update batch per time in `[from, to)`. */
async function write(shard: Shard, from: number, to: number): Promise<void> {
  for (let t = from; t < to; t++) {
    await shard.compareAndAppend([[[BigInt(t)], BigInt(t), 1]], BigInt(t), BigInt(t + 1));
  }
}

/** What the reader must deliver for times `[0, to)` as of `asOf`: `value@time`, sorted. */
function expected(asOf: number, to: number): string[] {
  const out: string[] = [];
  for (let t = 0; t < to; t++) out.push(`${t}@${Math.max(t, asOf)}`);
  return out.sort();
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Blocks a listener's `next()` while closed (the reader then lags). */
class Gate {
  #open = true;
  #waiters: Array<() => void> = [];
  close(): void {
    this.#open = false;
  }
  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
  wait(): Promise<void> {
    return this.#open ? Promise.resolve() : new Promise((r) => this.#waiters.push(r));
  }
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((r) => {
    if (signal === undefined) return;
    if (signal.aborted) r();
    else signal.addEventListener("abort", () => r(), { once: true });
  });
}

/** `v`'s methods bound to `v` (its #private fields), with `overrides` in front. */
function wrap<T extends object>(v: T, overrides: Record<string | symbol, unknown>): T {
  return new Proxy(v, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop];
      const x = Reflect.get(target, prop, target) as unknown;
      return typeof x === "function" ? (x as (...a: unknown[]) => unknown).bind(target) : x;
    },
  });
}

/**
 * The shard with a gated `listen`, recording the sinces its `openSinceHandle` returned, and
 * optionally with slow `expire()`s.
 */
function gated(shard: Shard, gate: Gate, opened: Frontier[], expireDelayMs = 0): Shard {
  return wrap(shard, {
    listen: (from: Timestamp, options: Parameters<Shard["listen"]>[1]) => {
      const inner: Listener = shard.listen(from, options);
      const closed = aborted(options?.signal);
      const it = {
        [Symbol.asyncIterator]: () => it,
        // Like a listener, a closed (aborted) one ends a pending next() with done.
        next: async () => {
          await Promise.race([gate.wait(), closed]);
          if (options?.signal?.aborted) return { done: true, value: undefined };
          return inner.next();
        },
        return: () => inner.return(),
      };
      return it;
    },
    openSinceHandle: async (id: string) => {
      const h = await shard.openSinceHandle(id);
      opened.push(h.since);
      if (expireDelayMs === 0) return h;
      return wrap(h, {
        expire: async () => {
          await new Promise((r) => setTimeout(r, expireDelayMs));
          return h.expire();
        },
      });
    },
  });
}

/** Records what the reader feeds into the dataflow (the `ImportFeed` surface it uses). */
class Recorder {
  readonly updates: string[] = [];
  frontier: Frontier = 0n;
  constructor(readonly asOf: Timestamp) {}
  send(updates: Iterable<Update>): void {
    for (const [row, t] of updates) this.updates.push(`${String(row[0])}@${t}`);
  }
  advance(f: Frontier): void {
    if (Frontier.lessThan(this.frontier, f)) this.frontier = f;
  }
}

interface Started {
  readonly reader: SourceReader;
  readonly feed: Recorder;
  readonly gate: Gate;
  readonly opened: Frontier[];
}

function startReader(
  persist: PersistClient,
  asOf: number,
  o: {
    replica?: string;
    heartbeatMs?: number;
    logger?: Logger;
    gateClosed?: boolean;
    expireDelayMs?: number;
  } = {},
): Started {
  const gate = new Gate();
  if (o.gateClosed) gate.close();
  const opened: Frontier[] = [];
  const feed = new Recorder(BigInt(asOf));
  const openShard = async (id: string) =>
    gated(await persist.openShard(id), gate, opened, o.expireDelayMs);
  const logger = o.logger ?? pino({ level: "silent" });
  const listeners = new ShardListeners({
    worker: 0,
    workers: 1,
    openShard,
    logger,
    pollIntervalMs: 5,
  });
  const reader: SourceReader = new SourceReader({
    id: "u1",
    shardId: SHARD,
    readerId: sourceReaderId(o.replica ?? "r1", "u1", "u2", 0),
    feed: feed as unknown as ImportFeed,
    worker: 0,
    workers: 1,
    openShard,
    listeners,
    requestStep: () => reader.pump(),
    logger,
    sinceDowngradeIntervalMs: 10,
    ...(o.heartbeatMs === undefined ? {} : { sinceHeartbeatIntervalMs: o.heartbeatMs }),
  });
  reader.start();
  cleanups.push(() => reader.stop());
  return { reader, feed, gate, opened };
}

/** Controller handle far ahead, then compaction (opportunistic and explicit). */
async function compactTo(shard: Shard, ctrlSince: number): Promise<void> {
  const ctrl = await shard.openSinceHandle(CONTROLLER);
  await ctrl.downgradeSince(BigInt(ctrlSince));
  for (let i = 0; i < 3; i++) await shard.maintenance();
}

describe("sourceReaderId", () => {
  it("names replica, import, dataflow and worker, and stays within persist's 200 chars", () => {
    expect(sourceReaderId("r1", "u1", "u3", 2)).toBe("compute:r1:u1:u3:w2");
    const long = sourceReaderId("r1", "u".repeat(150), "x".repeat(150), 0);
    expect(long.length).toBe(200);
    expect(long).toBe(sourceReaderId("r1", "u".repeat(150), "x".repeat(150), 0));
    expect(long).not.toBe(sourceReaderId("r1", "u".repeat(150), "x".repeat(150), 1));
  });
});

describe("SourceReader since handle", () => {
  it("control: a lagging listener without a since handle hits SinceViolation", async () => {
    const { shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    await shard.snapshot(4n);
    const listener = shard.listen(5n);
    await write(shard, 5, 25);
    await compactTo(shard, 25);
    await expect(listener.next()).rejects.toBeInstanceOf(SinceViolation);
  });

  it("(a) a lagging reader reads every update while the controller compacts ahead", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const { reader, feed, gate } = startReader(persist, 4, { gateClosed: true });
    // Snapshot delivered; the reader now lags at position 5 (its listener is gated).
    await until(() => feed.frontier === 5n, "the snapshot");

    await write(shard, 5, 25);
    await compactTo(shard, 25);
    const held = await shard.info();

    gate.open();
    await until(
      () => feed.frontier === 25n || reader.error !== undefined,
      "the reader to catch up",
    );
    expect(reader.error).toBeUndefined();
    expect([...feed.updates].sort()).toEqual(expected(4, 25));
    expect(Frontier.lessEqual(held.since, 5n)).toBe(true);
    expect(held.batches.some((b) => b.since !== undefined)).toBe(true); // compaction ran
  });

  it("(b) the handle follows the reader's position and the shard since follows", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const { reader, feed } = startReader(persist, 4);
    await write(shard, 5, 12);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(12n);
    await until(() => feed.frontier === 12n, "the reader at 12");
    await until(async () => (await shard.since()) === 12n, "the shard since at 12");
    // The shard since is the readers' minimum, so the reader's handle is durably at 12; its
    // in-memory `handleSince` is set when its downgrade's await resumes, a moment later.
    await until(() => reader.handleSince === 12n, "the handle at 12");
    // The controller stays behind: the reader's handle alone does not move the shard's since.
    await write(shard, 12, 20);
    await until(() => reader.handleSince === 20n, "the handle at 20");
    expect(await shard.since()).toBe(12n);
    expect(reader.error).toBeUndefined();
  });

  it("heartbeats keep the lease while no data arrives", async () => {
    const { persist, shard } = await setup({ readerLeaseMs: 300 });
    await write(shard, 0, 5);
    const { reader } = startReader(persist, 4, { heartbeatMs: 50 });
    await until(() => reader.handleSince === 5n, "the handle at 5");
    await new Promise((r) => setTimeout(r, 900));
    const report = await shard.maintenance();
    expect(report.expiredReaders).toEqual([]);
    expect(Object.keys((await shard.info()).readers)).toEqual([reader.readerId]);
  });

  it("(c) stopping the reader expires its handle; the since then moves freely", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const { reader } = startReader(persist, 4, { gateClosed: true });
    await until(() => reader.handleSince === 5n, "the handle at 5");
    await write(shard, 5, 30);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(30n);
    expect(await shard.since()).toBe(5n);
    expect(Object.keys((await shard.info()).readers)).toContain(reader.readerId);

    await reader.stop();
    const info = await shard.info();
    expect(Object.keys(info.readers)).toEqual([CONTROLLER]);
    expect(info.since).toBe(30n);
  });

  it("(d) a restarted reader with the same identity re-attaches", async () => {
    const { dir, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    // First incarnation: lags at 5, then its process "crashes" (the client goes away; the
    // release fails and the registration stays).
    const p1 = await persistOn(dir);
    const a = startReader(p1, 4, { gateClosed: true });
    await until(() => a.reader.handleSince === 5n, "the first handle at 5");
    await p1.close();
    await a.reader.stop();
    expect(Object.keys((await shard.info()).readers).sort()).toEqual(
      [CONTROLLER, a.reader.readerId].sort(),
    );

    await write(shard, 5, 10);
    const p2 = await persistOn(dir);
    const b = startReader(p2, 8);
    expect(b.reader.readerId).toBe(a.reader.readerId);
    await until(() => b.feed.frontier === 10n, "the second reader at 10");
    expect(b.opened).toEqual([5n]); // re-attached at the first incarnation's since
    const info = await shard.info();
    expect(Object.keys(info.readers).sort()).toEqual([CONTROLLER, b.reader.readerId].sort());
    await until(() => b.reader.handleSince === 10n, "the second handle at 10");
    expect(b.reader.error).toBeUndefined();
    expect([...b.feed.updates].sort()).toEqual(expected(8, 10));
  });

  it("a reader taking over an id waits for the previous holder's (slow) expiry", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const a = startReader(persist, 4, { expireDelayMs: 150 });
    await until(() => a.reader.handleSince === 5n, "the first handle at 5");
    // Reconciliation replaces the dataflow: the old reader stops, the new one starts at once.
    const stopped = a.reader.stop();
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => warnings.push(l) });
    const b = startReader(persist, 4, { logger });
    await stopped;
    await write(shard, 5, 8);
    await until(() => b.feed.frontier === 8n, "the new reader at 8");
    await until(() => b.reader.handleSince === 8n, "the new handle at 8");
    const info = await shard.info();
    expect(Object.keys(info.readers).sort()).toEqual([CONTROLLER, b.reader.readerId].sort());
    expect(info.readers[b.reader.readerId]?.since).toBe(8n);
    expect(warnings).toEqual([]); // never lost its registration to the late expiry
  });

  it("re-registers a handle found above the as-of, so the catch-up below it is held", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 30);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(10n);
    // A crashed incarnation had read up to 30.
    await (await shard.openSinceHandle(sourceReaderId("r1", "u1", "u2", 0))).downgradeSince(30n);
    expect(await shard.since()).toBe(10n);
    const b = startReader(persist, 12, { gateClosed: true });
    await until(() => b.reader.handleSince === 13n, "the handle at the position 13");
    expect(b.opened).toEqual([30n, 10n]); // re-attached above the as-of, then afresh
    await ctrl.downgradeSince(30n);
    for (let i = 0; i < 3; i++) await shard.maintenance();
    expect(await shard.since()).toBe(13n);
    b.gate.open();
    await until(() => b.feed.frontier === 30n, "the reader at 30");
    expect(b.reader.error).toBeUndefined();
    expect([...b.feed.updates].sort()).toEqual(expected(12, 30));
  });

  it("logs that the controller's hold was not at the as-of on a snapshot since violation", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 20);
    await compactTo(shard, 15);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const { reader } = startReader(persist, 4, { logger });
    await until(() => reader.error !== undefined, "the reader to stop");
    expect(lines.join("\n")).toContain("controller's read hold");
    expect(lines.join("\n")).toContain("since violation");
  });
});
