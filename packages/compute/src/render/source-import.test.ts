/**
 * `SourceReader` and the worker's since hold of its shard (`ShardSinceHolds`) over a real persist
 * client on a temp directory: a lagging reader keeps the batches it still needs while a
 * "controller" handle downgrades far ahead and compaction runs; the hold follows the least
 * reader position, heartbeats while idle, is one handle however many readers share the shard,
 * re-registers for a reader that starts below it, is expired when the last reader stops, and is
 * re-attached (or re-registered when above the as-of) by a restarted replica. Listeners are
 * gated to make readers lag deterministically.
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
  StorageUnavailable,
} from "@mzts/persist";
import { Frontier, type Timestamp, type Update } from "@mzts/repr";
import { type Logger, pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { ImportFeed } from "./import-feed.js";
import { ShardListeners } from "./shard-listeners.js";
import { ShardSinceHolds, sourceHoldIds } from "./shard-since-holds.js";
import { SourceReader } from "./source-import.js";

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
  sendShared(updates: readonly Update[]): void {
    this.send(updates);
  }
  advance(f: Frontier): void {
    if (Frontier.lessThan(this.frontier, f)) this.frontier = f;
  }
}

/** One worker's environment: gated shard access, its listeners and since holds. */
interface Worker {
  readonly gate: Gate;
  /** The sinces `openSinceHandle` returned, in order. */
  readonly opened: Frontier[];
  readonly listeners: ShardListeners;
  readonly holds: ShardSinceHolds;
  readonly logger: Logger;
}

function worker(
  persist: PersistClient,
  o: {
    replica?: string;
    heartbeatMs?: number;
    logger?: Logger;
    gateClosed?: boolean;
    expireDelayMs?: number;
    /** The holds' first N shard opens fail with `StorageUnavailable`. */
    unavailableHoldOpens?: number;
  } = {},
): Worker {
  const gate = new Gate();
  if (o.gateClosed) gate.close();
  const opened: Frontier[] = [];
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
  let unavailable = o.unavailableHoldOpens ?? 0;
  const holds = new ShardSinceHolds({
    replicaId: o.replica ?? "r1",
    worker: 0,
    openShard: (id: string) =>
      unavailable-- > 0
        ? Promise.reject(
            new StorageUnavailable("consensus", "open", new Error("database is locked")),
          )
        : openShard(id),
    logger,
    downgradeIntervalMs: 10,
    ...(o.heartbeatMs === undefined ? {} : { heartbeatIntervalMs: o.heartbeatMs }),
  });
  return { gate, opened, listeners, holds, logger };
}

interface Started {
  readonly reader: SourceReader;
  readonly feed: Recorder;
  readonly gate: Gate;
  readonly opened: Frontier[];
  readonly holds: ShardSinceHolds;
}

/** A reader of `SHARD` (imported as u1) at `asOf`, on its own worker or on `o.on`. */
function startReader(
  persist: PersistClient,
  asOf: number,
  o: Parameters<typeof worker>[1] & { on?: Worker; unavailableOpens?: number } = {},
): Started {
  let unavailable = o.unavailableOpens ?? 0;
  const w = o.on ?? worker(persist, o);
  const feed = new Recorder(BigInt(asOf));
  const reader: SourceReader = new SourceReader({
    id: "u1",
    shardId: SHARD,
    feed: feed as unknown as ImportFeed,
    worker: 0,
    workers: 1,
    openShard: async (id: string) => {
      if (unavailable-- > 0) {
        throw new StorageUnavailable("consensus", "open", new Error("database is locked"));
      }
      return gated(await persist.openShard(id), w.gate, w.opened, o.expireDelayMs);
    },
    listeners: w.listeners,
    holds: w.holds,
    requestStep: () => reader.pump(),
    logger: w.logger,
  });
  reader.start();
  cleanups.push(() => reader.stop());
  return { reader, feed, gate: w.gate, opened: w.opened, holds: w.holds };
}

/** The compute readers registered on the shard (everything but the controller). */
async function computeReaders(shard: Shard): Promise<string[]> {
  return Object.keys((await shard.info()).readers)
    .filter((r) => r !== CONTROLLER)
    .sort();
}

const [ID_A, ID_B] = sourceHoldIds("r1", 0);

/** Controller handle far ahead, then compaction (opportunistic and explicit). */
async function compactTo(shard: Shard, ctrlSince: number): Promise<void> {
  const ctrl = await shard.openSinceHandle(CONTROLLER);
  await ctrl.downgradeSince(BigInt(ctrlSince));
  for (let i = 0; i < 3; i++) await shard.maintenance();
}

describe("sourceHoldIds", () => {
  it("names replica and worker (not the dataflow), and stays within persist's 200 chars", () => {
    expect(sourceHoldIds("r1", 2)).toEqual(["compute:r1:w2:a", "compute:r1:w2:b"]);
    const [a, b] = sourceHoldIds("r".repeat(250), 0);
    expect(a.length).toBe(200);
    expect(b.length).toBe(200);
    expect(a).not.toBe(b);
    expect(sourceHoldIds("r".repeat(250), 0)).toEqual([a, b]);
    expect(sourceHoldIds("r".repeat(250), 1)[0]).not.toBe(a);
  });
});

describe("SourceReader since hold", () => {
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
    // The shard since is the readers' minimum, so the handle is durably at 12; its in-memory
    // `handleSince` is set when its downgrade's await resumes, a moment later.
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
    expect(Object.keys((await shard.info()).readers)).toEqual([ID_A]);
  });

  it("a handle whose lease lapsed is registered again (its other id) and goes on holding", async () => {
    const { persist, shard } = await setup({ readerLeaseMs: 200 });
    await write(shard, 0, 5);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const { reader, feed } = startReader(persist, 4, { heartbeatMs: 60_000, logger });
    await until(() => reader.handleSince === 5n, "the handle at 5");
    await new Promise((r) => setTimeout(r, 400));
    expect((await shard.maintenance()).expiredReaders).toEqual([ID_A]);
    await write(shard, 5, 9);
    await until(() => feed.frontier === 9n, "the reader at 9");
    await until(() => reader.readerId === ID_B && reader.handleSince === 9n, "a new handle at 9");
    expect(await computeReaders(shard)).toEqual([ID_B]);
    expect(lines.join("\n")).toContain("since handle lost; registering again");
    expect(reader.error).toBeUndefined();
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
    expect(await computeReaders(shard)).toEqual([ID_A]);

    await reader.stop();
    const info = await shard.info();
    expect(Object.keys(info.readers)).toEqual([CONTROLLER]);
    expect(info.since).toBe(30n);
  });

  it("N readers of one shard on a worker share one handle, at their least position", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const w = worker(persist);
    const rs = Array.from({ length: 50 }, () => startReader(persist, 4, { on: w }));
    await write(shard, 5, 12);
    await until(() => rs.every((r) => r.feed.frontier === 12n), "every reader at 12");
    await until(() => rs[0]!.reader.handleSince === 12n, "the handle at 12");
    expect(await computeReaders(shard)).toEqual([ID_A]);
    expect(w.holds.size).toBe(1);
    for (const r of rs) expect([...r.feed.updates].sort()).toEqual(expected(4, 12));
    // One leaves: the handle stays; the last leaves: it is expired.
    await rs[0]!.reader.stop();
    expect(await computeReaders(shard)).toEqual([ID_A]);
    await Promise.all(rs.map((r) => r.reader.stop()));
    expect(await computeReaders(shard)).toEqual([]);
    expect(w.holds.size).toBe(0);
  });

  it("the since never passes a live reader's position (readers lagging at different places)", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(4n);
    const fast = worker(persist);
    const slowW = worker(persist);
    const slowGate = slowW.gate;
    // Two readers in one hold: one reads freely, one lags behind its own gated listener.
    const a = startReader(persist, 4, { on: fast });
    const b = startReader(persist, 4, { on: { ...slowW, holds: fast.holds } });
    await until(() => b.feed.frontier === 5n, "b's snapshot");
    slowGate.close();
    for (let t = 5; t < 40; t += 5) {
      await write(shard, t, t + 5);
      await ctrl.downgradeSince(BigInt(t + 5));
      await until(() => a.feed.frontier === BigInt(t + 5), `a at ${t + 5}`);
      await shard.maintenance();
      // The shard's since stays at or below the lagging reader's position.
      expect(Frontier.lessEqual(await shard.since(), b.feed.frontier)).toBe(true);
      if (t === 20) slowGate.open();
      if (t === 25) slowGate.close();
    }
    slowGate.open();
    await until(() => b.feed.frontier === 40n || b.reader.error !== undefined, "b at 40");
    expect(b.reader.error).toBeUndefined();
    expect([...b.feed.updates].sort()).toEqual(expected(4, 40));
    await until(async () => (await shard.since()) === 40n, "the since at 40 once both read");
  });

  it("a late reader below the shared handle's since re-registers it and reads correctly", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 20);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(10n); // the controller holds the shard at the new dataflow's as-of
    const w = worker(persist);
    const first = startReader(persist, 15, { on: w });
    await until(() => first.reader.handleSince === 20n, "the shared handle at 20");
    expect(await computeReaders(shard)).toEqual([ID_A]);

    // A late reader at 12 < 20: the handle cannot move back; the hold registers its other id at
    // the shard's since (10), switches to it and expires the first.
    const late = startReader(persist, 12, { on: w });
    await until(() => late.feed.frontier === 20n, "the late reader at 20");
    expect(late.reader.error).toBeUndefined();
    expect(await computeReaders(shard)).toEqual([ID_B]);
    // The controller moves far ahead and compacts while both read on.
    w.gate.close();
    await write(shard, 20, 40);
    await compactTo(shard, 40);
    const least = Frontier.meet(late.feed.frontier, first.feed.frontier);
    expect(Frontier.lessEqual(await shard.since(), least)).toBe(true);
    w.gate.open();
    await until(() => late.feed.frontier === 40n && first.feed.frontier === 40n, "both at 40");
    expect(late.reader.error).toBeUndefined();
    expect([...late.feed.updates].sort()).toEqual(expected(12, 40));
    expect([...first.feed.updates].sort()).toEqual(expected(15, 40));
    await until(() => first.reader.handleSince === 40n, "the handle at 40");
    expect(await computeReaders(shard)).toEqual([ID_B]);
  });

  it("a late reader whose catch-up lags is held while the controller compacts past its as-of", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 20);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(10n);
    const w = worker(persist);
    const first = startReader(persist, 15, { on: w });
    await until(() => first.reader.handleSince === 20n, "the shared handle at 20");
    // The late reader's snapshot at 12 is read; its catch-up listener (from 13) is gated.
    w.gate.close();
    const late = startReader(persist, 12, { on: w });
    await until(() => late.feed.frontier === 13n, "the late reader's snapshot");
    // The controller releases its hold (the replica reported an input frontier past the as-of)
    // and compacts everything.
    await write(shard, 20, 30);
    await compactTo(shard, 30);
    expect(Frontier.lessEqual(await shard.since(), 13n)).toBe(true);
    w.gate.open();
    await until(
      () =>
        (late.feed.frontier === 30n && first.feed.frontier === 30n) ||
        late.reader.error !== undefined,
      "both at 30",
    );
    expect(late.reader.error).toBeUndefined();
    expect([...late.feed.updates].sort()).toEqual(expected(12, 30));
  });

  it("(d) a restarted replica re-attaches to its hold's handle", async () => {
    const { dir, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    // First incarnation: lags at 5, then its process "crashes" (the client goes away; the
    // release fails and the registration stays).
    const p1 = await persistOn(dir);
    const a = startReader(p1, 4, { gateClosed: true });
    await until(() => a.reader.handleSince === 5n, "the first handle at 5");
    expect(a.opened).toEqual([4n, 4n]); // both ids in one round; the other one is expired
    await p1.close();
    await a.reader.stop();
    expect(await computeReaders(shard)).toEqual([ID_A]);

    await write(shard, 5, 10);
    const p2 = await persistOn(dir);
    const b = startReader(p2, 8);
    await until(() => b.feed.frontier === 10n, "the second reader at 10");
    // Re-attached at the first incarnation's since (5); the other id, new at 4, expired.
    expect(b.opened).toEqual([5n, 4n]);
    expect(await computeReaders(shard)).toEqual([ID_A]);
    await until(() => b.reader.handleSince === 10n, "the second handle at 10");
    expect(b.reader.error).toBeUndefined();
    expect([...b.feed.updates].sort()).toEqual(expected(8, 10));
  });

  it("a restarted replica whose hold had switched ids re-attaches to that one", async () => {
    const { dir, shard } = await setup();
    await write(shard, 0, 10);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    // A crashed incarnation's hold was on its second id, at 7.
    await (await shard.openSinceHandle(ID_B)).downgradeSince(7n);
    const p2 = await persistOn(dir);
    const b = startReader(p2, 8);
    await until(() => b.feed.frontier === 10n, "the reader at 10");
    expect(await computeReaders(shard)).toEqual([ID_B]);
    expect(b.opened).toEqual([4n, 7n]);
    expect(b.reader.error).toBeUndefined();
  });

  it("a new hold of a shard waits for the previous hold's (slow) expiry", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => warnings.push(l) });
    const w = worker(persist, { expireDelayMs: 150, logger });
    const a = startReader(persist, 4, { on: w });
    await until(() => a.reader.handleSince === 5n, "the first handle at 5");
    // Reconciliation replaces the dataflow: the old reader stops, the new one starts at once.
    // The old dataflow's reader stops: its hold closes, its handle's expiry is slow. A new
    // reader then starts a new hold; at 5 it could re-attach to the old registration (at 5).
    const stopped = a.reader.stop();
    await until(() => w.holds.size === 0, "the old hold closed");
    const b = startReader(persist, 5, { on: w });
    await stopped;
    await write(shard, 5, 8);
    await until(() => b.feed.frontier === 8n, "the new reader at 8");
    await until(() => b.reader.handleSince === 8n, "the new handle at 8");
    const info = await shard.info();
    expect(await computeReaders(shard)).toEqual([b.reader.readerId]);
    expect(info.readers[b.reader.readerId!]?.since).toBe(8n);
    expect(warnings).toEqual([]); // never lost its registration to the late expiry
  });

  it("re-registers a handle found above the as-of, so the catch-up below it is held", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 30);
    const ctrl = await shard.openSinceHandle(CONTROLLER);
    await ctrl.downgradeSince(10n);
    // A crashed incarnation had read up to 30 (on both ids).
    await (await shard.openSinceHandle(ID_A)).downgradeSince(30n);
    await (await shard.openSinceHandle(ID_B)).downgradeSince(30n);
    expect(await shard.since()).toBe(10n);
    const b = startReader(persist, 12, { gateClosed: true });
    await until(() => b.reader.handleSince === 13n, "the handle at the position 13");
    expect(b.opened).toEqual([30n, 30n, 10n]); // re-attached above the as-of, then afresh
    expect(await computeReaders(shard)).toEqual([ID_A]);
    await ctrl.downgradeSince(30n);
    for (let i = 0; i < 3; i++) await shard.maintenance();
    expect(await shard.since()).toBe(13n);
    b.gate.open();
    await until(() => b.feed.frontier === 30n, "the reader at 30");
    expect(b.reader.error).toBeUndefined();
    expect([...b.feed.updates].sort()).toEqual(expected(12, 30));
  });

  it("opens the shard again while the store is unavailable, then reads everything", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 10);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const { reader, feed } = startReader(persist, 4, { logger, unavailableOpens: 3 });
    await write(shard, 10, 15);
    await until(() => Frontier.lessEqual(15n, feed.frontier), "the reader to reach 15");
    expect(reader.error).toBeUndefined();
    expect(reader.failure).toBeUndefined();
    expect(feed.updates.sort()).toEqual(expected(4, 15));
    expect(lines.filter((l) => l.includes("storage unavailable); retrying"))).toHaveLength(3);
  });

  it("a hold whose registration met an unavailable store retries: the lagging reader stays held", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    await (await shard.openSinceHandle(CONTROLLER)).downgradeSince(4n);
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const { reader, feed, gate } = startReader(persist, 4, {
      logger,
      gateClosed: true,
      unavailableHoldOpens: 3,
    });
    await until(() => feed.frontier === 5n, "the snapshot");
    // Before: the registration's first failure let the reader go on with no since handle.
    expect(reader.readerId).toBe(sourceHoldIds("r1", 0)[0]);
    await write(shard, 5, 25);
    await compactTo(shard, 25);
    expect(Frontier.lessEqual((await shard.info()).since, 5n)).toBe(true);
    gate.open();
    await until(
      () => feed.frontier === 25n || reader.error !== undefined,
      "the reader to catch up",
    );
    expect(reader.error).toBeUndefined();
    expect([...feed.updates].sort()).toEqual(expected(4, 25));
    expect(lines.join("\n")).not.toContain("no since handle at or below");
    expect(
      lines.filter((l) => l.includes("since handle failed (storage unavailable); retrying")),
    ).toHaveLength(3);
  });

  it("a reader stopped while its shard cannot be opened ends without a failure", async () => {
    const { persist } = await setup();
    const { reader } = startReader(persist, 0, { unavailableOpens: 1_000_000 });
    await new Promise((r) => setTimeout(r, 50));
    await reader.stop();
    expect(reader.failure).toBeUndefined();
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
