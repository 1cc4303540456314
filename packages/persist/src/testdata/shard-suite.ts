/**
 * The shard semantics suite, one function instantiated per backend (memory, SQLite + files,
 * PostgreSQL + files): append, snapshot, listen, since handles, compaction, drop, typed errors
 * and concurrent clients behave identically on every backend.
 */
import { Frontier, type Row, type Update } from "@mzts/repr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PersistClient, PersistConfig } from "../client.js";
import {
  InvalidBatchBounds,
  InvalidShardId,
  InvalidUpdate,
  ReaderExpired,
  ShardDropped,
  SinceBeyondUpper,
  SinceRegression,
  SinceViolation,
  SnapshotNotAvailable,
  TimeOutOfBounds,
  UnknownShard,
  UpperMismatch,
  WaitAborted,
} from "../errors.js";
import type { ListenEvent } from "../listen.js";

export interface PersistBackend {
  /** A client over fresh, empty storage for one test. */
  open(config?: Partial<PersistConfig>): Promise<PersistClient>;
  /** Another client over the same storage as the last `open()` ("another process"). */
  openAgain(config?: Partial<PersistConfig>): Promise<PersistClient>;
  /** Blob keys currently stored (across shards). */
  blobKeys(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** Sorted `[row, count]` pairs of a snapshot, for comparisons. */
export function contents(updates: readonly Update[]): Array<[string, number]> {
  return updates
    .map((u): [string, number] => [JSON.stringify(u[0], big), u[2]])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The model: the collection of `updates` as of `asOf`, in `contents` form. */
export function expectedAsOf(updates: readonly Update[], asOf: bigint): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const [row, t, d] of updates) {
    if (t > asOf) continue;
    const k = JSON.stringify(row, big);
    m.set(k, (m.get(k) ?? 0) + d);
  }
  return [...m.entries()].filter(([, d]) => d !== 0).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}

const r = (...d: Row): Row => d;

export function describeShardSuite(name: string, backend: PersistBackend): void {
  describe(`shard suite: ${name}`, () => {
    let client: PersistClient;
    const others: PersistClient[] = [];
    const another = async (config?: Partial<PersistConfig>) => {
      const c = await backend.openAgain(config);
      others.push(c);
      return c;
    };
    beforeEach(async () => {
      client = await backend.open();
    });
    afterEach(async () => {
      for (const c of others.splice(0)) await c.close();
      await client.close();
      await backend.cleanup();
    });

    it("opens only existing shards unless asked to create", async () => {
      await expect(client.openShard("s1")).rejects.toThrow(UnknownShard);
      await expect(client.openShard("s1")).rejects.toThrow(/open it with \{ create: true \}/);
      const s = await client.openShard("s1", { create: true });
      expect(await s.upper()).toBe(0n);
      expect(await s.since()).toBe(0n);
      const again = await (await another()).openShard("s1");
      expect(again.id).toBe("s1");
      await expect(client.openShard("../etc")).rejects.toThrow(InvalidShardId);
    });

    it("appends batches and snapshots them as of any readable time", async () => {
      const s = await client.openShard("s", { create: true });
      const b1: Update[] = [
        [r(1n, "a"), 0n, 1],
        [r(2n, "b"), 3n, 2],
      ];
      const b2: Update[] = [
        [r(1n, "a"), 5n, -1],
        [r(3n, null), 7n, 1],
        [r(2n, "b"), 9n, 1],
      ];
      await s.compareAndAppend(b1, 0n, 5n);
      await s.compareAndAppend(b2, 5n, 10n);
      expect(await s.upper()).toBe(10n);
      const all = [...b1, ...b2];
      for (const t of [0n, 2n, 3n, 5n, 8n, 9n]) {
        const snap = await s.snapshot(t);
        expect(snap.every((u) => u[1] === t)).toBe(true);
        expect(contents(snap)).toEqual(expectedAsOf(all, t));
      }
    });

    it("rejects a stale expected upper with UpperMismatch carrying the current upper", async () => {
      const s = await client.openShard("s", { create: true });
      const other = await (await another()).openShard("s");
      await other.compareAndAppend([[r(1n), 0n, 1]], 0n, 3n);
      const before = (await backend.blobKeys()).length;
      const err = await s.compareAndAppend([[r(2n), 0n, 1]], 0n, 2n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpperMismatch);
      expect((err as UpperMismatch).current).toBe(3n);
      expect((err as UpperMismatch).expected).toBe(0n);
      // The loser retries from the current upper.
      await s.compareAndAppend([[r(2n), 3n, 1]], 3n, 4n);
      expect(contents(await s.snapshot(3n))).toEqual(
        expectedAsOf(
          [
            [r(1n), 0n, 1],
            [r(2n), 3n, 1],
          ],
          3n,
        ),
      );
      // The rejected batch left no blob behind.
      expect((await backend.blobKeys()).length).toBe(before + 1);
    });

    it("an empty append advances the upper; an EMPTY upper closes the shard", async () => {
      const s = await client.openShard("s", { create: true });
      await s.compareAndAppend([], 0n, 100n);
      await s.compareAndAppend([], 100n, 200n);
      expect(await s.upper()).toBe(200n);
      expect((await s.info()).batches).toHaveLength(1); // consecutive empty batches merge
      expect(await backend.blobKeys()).toEqual([]);
      await s.compareAndAppend([[r("last"), 250n, 1]], 200n, Frontier.EMPTY);
      expect(await s.upper()).toBe(Frontier.EMPTY);
      const err = await s.compareAndAppend([], 200n, 300n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpperMismatch);
      expect((err as UpperMismatch).current).toBe(null);
      await s.compareAndAppend([], Frontier.EMPTY, Frontier.EMPTY); // no-op on a closed shard
      expect(contents(await s.snapshot(10_000n))).toEqual([['["last"]', 1]]);
    });

    it("rejects bad input with typed errors", async () => {
      const s = await client.openShard("s", { create: true });
      await s.compareAndAppend([], 0n, 10n);
      await expect(s.compareAndAppend([], 10n, 5n)).rejects.toThrow(InvalidBatchBounds);
      await expect(s.compareAndAppend([[r(1n), 9n, 1]], 10n, 20n)).rejects.toThrow(TimeOutOfBounds);
      const atUpper = await s
        .compareAndAppend([[r(1n), 20n, 1]], 10n, 20n)
        .catch((e: unknown) => e);
      expect(atUpper).toBeInstanceOf(TimeOutOfBounds);
      expect((atUpper as TimeOutOfBounds).index).toBe(0);
      expect((atUpper as Error).message).toMatch(/raise newUpper/);
      await expect(s.compareAndAppend([[r(1n), 10n, 1]], 10n, 10n)).rejects.toThrow(
        TimeOutOfBounds,
      );
      await expect(s.compareAndAppend([[r(1n), 10n, 0.5]], 10n, 20n)).rejects.toThrow(
        InvalidUpdate,
      );
      await expect(
        s.compareAndAppend(
          [
            [r(1n), 10n, 1],
            [[Symbol("x")] as unknown as Row, 11n, 1],
          ],
          10n,
          20n,
        ),
      ).rejects.toThrow(/update #1 is invalid/);
      await expect(
        s.compareAndAppend([[r(1n), -1n, 1]] as unknown as Update[], 10n, 20n),
      ).rejects.toThrow(InvalidUpdate);
      expect(await s.upper()).toBe(10n);
      expect(await backend.blobKeys()).toEqual([]);
    });

    it("snapshot errors below the since and at the upper, or waits when asked", async () => {
      const s = await client.openShard("s", { create: true });
      await s.compareAndAppend([[r(1n), 0n, 1]], 0n, 5n);
      const e = await s.snapshot(5n).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SnapshotNotAvailable);
      expect((e as Error).message).toMatch(/wait: true/);
      await expect(s.snapshot(7n, { wait: true, timeoutMs: 60 })).rejects.toThrow(WaitAborted);
      const other = await (await another()).openShard("s");
      const waiting = s.snapshot(7n, { wait: true, timeoutMs: 5000 });
      await other.compareAndAppend([[r(2n), 6n, 1]], 5n, 8n);
      expect(contents(await waiting)).toEqual([
        ['["1n"]', 1],
        ['["2n"]', 1],
      ]);
      const h = await s.openSinceHandle("reader");
      await h.downgradeSince(4n);
      await expect(s.snapshot(3n)).rejects.toThrow(SinceViolation);
      expect(contents(await s.snapshot(4n))).toEqual([['["1n"]', 1]]);
    });

    it("listen streams contiguous batches as the upper advances, from any client", async () => {
      const s = await client.openShard("s", { create: true });
      await s.compareAndAppend(
        [
          [r("a"), 0n, 1],
          [r("m"), 1n, 1],
          [r("b"), 2n, 1],
        ],
        0n,
        3n,
      );
      const l = s.listen(1n, { pollIntervalMs: 10 });
      const first = await l.next();
      expect(first.value).toEqual({
        lower: 1n,
        upper: 3n,
        updates: [
          [r("m"), 1n, 1],
          [r("b"), 2n, 1],
        ],
      });
      // Same-process write through this client (in-process wakeup).
      const pending = l.next();
      await s.compareAndAppend([[r("c"), 3n, 1]], 3n, 4n);
      expect((await pending).value).toEqual({ lower: 3n, upper: 4n, updates: [[r("c"), 3n, 1]] });
      // A write through another client (another SQLite connection / pool) is seen by polling.
      const other = await (await another()).openShard("s");
      const pending2 = l.next();
      await other.compareAndAppend([], 4n, 6n);
      expect((await pending2).value).toEqual({ lower: 4n, upper: 6n, updates: [] });
      await other.compareAndAppend([[r("z"), 7n, -1]], 6n, Frontier.EMPTY);
      const last = await l.next();
      expect(last.value).toEqual({ lower: 6n, upper: null, updates: [[r("z"), 7n, -1]] });
      expect((await l.next()).done).toBe(true);
    });

    it("close() ends a listener and resolves a pending next()", async () => {
      const s = await client.openShard("s", { create: true });
      const l = s.listen(0n, { pollIntervalMs: 10 });
      const pending = l.next();
      setTimeout(() => l.close(), 30);
      expect((await pending).done).toBe(true);
      const events: ListenEvent[] = [];
      const l2 = s.listen(0n);
      await s.compareAndAppend([[r(1n), 0n, 1]], 0n, 1n);
      for await (const ev of l2) {
        events.push(ev);
        break;
      }
      expect(events).toHaveLength(1);
      expect((await l2.next()).done).toBe(true);
    });

    it("since handles: the since is the meet of live handles and never moves back", async () => {
      const s = await client.openShard("s", { create: true });
      await s.compareAndAppend([], 0n, 100n);
      const a = await s.openSinceHandle("a");
      const b = await (await (await another()).openShard("s")).openSinceHandle("b");
      expect(a.since).toBe(0n);
      await a.downgradeSince(50n);
      expect(await s.since()).toBe(0n);
      await b.downgradeSince(30n);
      expect(await s.since()).toBe(30n);
      const reg = await a.downgradeSince(40n).catch((e: unknown) => e);
      expect(reg).toBeInstanceOf(SinceRegression);
      expect((reg as SinceRegression).current).toBe(50n);
      await expect(a.downgradeSince(101n)).rejects.toThrow(SinceBeyondUpper);
      await expect(a.downgradeSince(Frontier.EMPTY)).rejects.toThrow(SinceBeyondUpper);
      await b.expire();
      expect(await s.since()).toBe(50n);
      await expect(b.downgradeSince(60n)).rejects.toThrow(ReaderExpired);
      // Re-attaching by id keeps the registered since.
      const a2 = await s.openSinceHandle("a");
      expect(a2.since).toBe(50n);
      // A new handle starts at the shard's since; expiring every handle leaves the since alone.
      const c = await s.openSinceHandle("c");
      expect(c.since).toBe(50n);
      await a2.expire();
      await c.expire();
      expect(await s.since()).toBe(50n);
      expect(Object.keys((await s.info()).readers)).toEqual([]);
    });

    it("maintenance expires handles whose lease ran out", async () => {
      let now = 1_000_000;
      const c2 = await another({ now: () => now, readerLeaseMs: 1000 });
      const s = await c2.openShard("lease", { create: true });
      await s.compareAndAppend([], 0n, 10n);
      const h = await s.openSinceHandle("sleepy");
      const k = await s.openSinceHandle("keeper");
      await h.downgradeSince(2n);
      await k.downgradeSince(8n);
      now += 600;
      await k.heartbeat();
      now += 600;
      const report = await s.maintenance();
      expect(report.expiredReaders).toEqual(["sleepy"]);
      expect(await s.since()).toBe(8n);
      await expect(h.downgradeSince(3n)).rejects.toThrow(ReaderExpired);
    });

    it("a registration or a downgrade expires lapsed handles, without maintenance()", async () => {
      let now = 1_000_000;
      const c2 = await another({ now: () => now, readerLeaseMs: 1000 });
      const s = await c2.openShard("lapse", { create: true });
      await s.compareAndAppend([], 0n, 10n);
      // A dead replica incarnation's reader, stuck at 2, and a live one re-attaching by id.
      const dead = await s.openSinceHandle("compute:u2:u5:u7:w0");
      await dead.downgradeSince(2n);
      const live = await s.openSinceHandle("compute:u2:u5:u8:w0");
      await live.downgradeSince(6n);
      now += 1500; // both lapsed
      // Re-attaching keeps its own registration; the other lapsed one goes.
      const again = await s.openSinceHandle("compute:u2:u5:u8:w0");
      expect(again.since).toBe(6n);
      expect(Object.keys((await s.info()).readers)).toEqual(["compute:u2:u5:u8:w0"]);
      expect(await s.since()).toBe(6n);
      await expect(dead.downgradeSince(3n)).rejects.toThrow(ReaderExpired);
      // A new reader registers at the advanced since, not at the dead reader's.
      const fresh = await s.openSinceHandle("fresh");
      expect(fresh.since).toBe(6n);
      // A downgrade expires lapsed others too (but never itself).
      now += 1500;
      await fresh.downgradeSince(8n);
      expect(Object.keys((await s.info()).readers)).toEqual(["fresh"]);
      expect(await s.since()).toBe(8n);
    });

    it("compaction merges batches below the since without changing any readable snapshot", async () => {
      // No opportunistic compaction here: the explicit maintenance() pass does it.
      const c2 = await another({ compactAfterBatches: 1000 });
      const s = await c2.openShard("s", { create: true });
      const h = await s.openSinceHandle("r");
      const all: Update[] = [];
      for (let i = 0n; i < 12n; i++) {
        const b: Update[] = [
          [r(i % 3n), i * 10n, 1],
          [r((i + 1n) % 3n), i * 10n + 5n, -1],
          [r("x", i), i * 10n + 9n, 1],
        ];
        all.push(...b);
        await s.compareAndAppend(b, i * 10n, i * 10n + 10n);
      }
      const before = new Map<bigint, Array<[string, number]>>();
      for (const t of [95n, 100n, 119n]) before.set(t, contents(await s.snapshot(t)));
      await h.downgradeSince(95n);
      const report = await s.maintenance();
      expect(report.mergedBatches).toBe(9); // batches [0,10) … [80,90)
      const info = await s.info();
      expect(info.batches[0]).toMatchObject({ lower: 0n, upper: 90n, since: 95n });
      expect(info.batches).toHaveLength(4);
      for (const [t, want] of before) expect(contents(await s.snapshot(t))).toEqual(want);
      for (const t of [95n, 104n, 119n])
        expect(contents(await s.snapshot(t))).toEqual(expectedAsOf(all, t));
      // Blobs of compacted batches are gone: 1 merged + 3 live.
      expect((await backend.blobKeys()).length).toBe(4);
      // A listener whose batches were compacted cannot be served.
      await h.downgradeSince(115n);
      await s.maintenance();
      await expect(s.listen(100n).next()).rejects.toThrow(SinceViolation);
      // But from the since it works.
      const ev = await s.listen(115n).next();
      expect(ev.value).toEqual({
        lower: 115n,
        upper: 120n,
        updates: [
          [r(0n), 115n, -1],
          [r("x", 11n), 119n, 1],
        ],
      });
    });

    it("opportunistic compaction keeps the batch list short without maintenance()", async () => {
      const c2 = await another({ compactAfterBatches: 4 });
      const s = await c2.openShard("auto", { create: true });
      const h = await s.openSinceHandle("r");
      for (let i = 0n; i < 40n; i++) {
        await s.compareAndAppend([[r(i), i, 1]], i, i + 1n);
        await h.downgradeSince(i);
        expect((await s.info()).batches.length).toBeLessThanOrEqual(6);
      }
      expect((await s.snapshot(39n)).length).toBe(40);
    });

    it("several clients appending concurrently lose no acknowledged batch and write none twice", async () => {
      await client.openShard("race", { create: true });
      const writers = await Promise.all(
        [0, 1, 2].map(async (w) => (await another()).openShard("race").then((s) => ({ w, s }))),
      );
      const acked: Update[] = [];
      await Promise.all(
        writers.map(async ({ w, s }) => {
          let upper = 0n;
          for (let i = 0; i < 8; i++) {
            for (;;) {
              const batch: Update[] = [[r(w, i), upper, 1]];
              try {
                await s.compareAndAppend(batch, upper, upper + 1n);
                acked.push(batch[0]!);
                upper += 1n;
                break;
              } catch (e) {
                if (!(e instanceof UpperMismatch) || e.current === null) throw e;
                upper = e.current;
              }
            }
          }
        }),
      );
      const s = await client.openShard("race");
      const upper = (await s.upper()) as bigint;
      expect(upper).toBe(24n);
      expect(contents(await s.snapshot(upper - 1n))).toEqual(expectedAsOf(acked, upper));
    });

    it("dropShard deletes the data and leaves a tombstone", async () => {
      const s = await client.openShard("gone", { create: true });
      const keep = await client.openShard("kept", { create: true });
      await keep.compareAndAppend([[r(1n), 0n, 1]], 0n, 1n);
      await s.openSinceHandle("r");
      for (let i = 0n; i < 5n; i++) await s.compareAndAppend([[r(i), i, 1]], i, i + 1n);
      expect((await backend.blobKeys()).filter((k) => k.startsWith("gone/"))).toHaveLength(5);
      await client.dropShard("gone");
      await client.dropShard("gone"); // idempotent
      await client.dropShard("never-existed");
      expect((await backend.blobKeys()).filter((k) => k.startsWith("gone/"))).toEqual([]);
      expect(await backend.blobKeys()).toHaveLength(1);
      await expect(client.openShard("gone")).rejects.toThrow(ShardDropped);
      await expect(client.openShard("gone", { create: true })).rejects.toThrow(ShardDropped);
      await expect(s.compareAndAppend([], 5n, 6n)).rejects.toThrow(ShardDropped);
      await expect(s.snapshot(1n)).rejects.toThrow(ShardDropped);
      expect(await client.listShards()).toEqual(["gone", "kept"]);
      expect((await client.consensus.scan("gone", 0n, 100)).length).toBe(1);
      expect(contents(await keep.snapshot(0n))).toEqual([['["1n"]', 1]]);
    });

    it("records metrics on the injected registry", async () => {
      const s = await client.openShard("m", { create: true });
      await s.compareAndAppend([[r(1n), 0n, 1]], 0n, 1n);
      await s.compareAndAppend([], 0n, 1n).catch(() => {});
      await s.snapshot(0n);
      const text = await client.registry.metrics();
      expect(text).toMatch(/mz_persist_cmd_total\{cmd="compare_and_append",outcome="ok"\} 1/);
      expect(text).toMatch(/mz_persist_upper_mismatch_total 1/);
      expect(text).toMatch(/mz_persist_append_seconds_count 1/);
      expect(text).toMatch(/mz_persist_blob_bytes\{op="set"\} [1-9]/);
    });
  });
}
