/**
 * `ShardListeners` over real persist on a temp directory, a writer appending while subscribers
 * come and go: each subscriber gets exactly the updates at times `>= from`, once, in order, with
 * contiguous uppers — whatever the shared position when it joined (behind: a catch-up; at it;
 * ahead) — one persist listener per shard serves them all, the last leaving stops it, two
 * workers' partitions are disjoint and complete, and a subscriber left alone ahead of the shared
 * position is not failed by a compaction nobody else held back.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import type { Frontier, Timestamp, Update } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ShardListeners } from "./shard-listeners.js";

const SHARD = "s1";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "mzts-compute-listeners-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await createPersist({ dataDir: dir, pollIntervalMs: 5 });
  cleanups.push(() => persist.close());
  const shard = await persist.openShard(SHARD, { create: true });
  return { persist, shard };
}

/** Appends one batch per time in `[from, to)`: two rows per time (values 2t and 2t + 1). */
async function write(shard: Shard, from: number, to: number): Promise<void> {
  for (let t = from; t < to; t++) {
    const ups: Update[] = [
      [[BigInt(2 * t)], BigInt(t), 1],
      [[BigInt(2 * t + 1)], BigInt(t), 1],
    ];
    await shard.compareAndAppend(ups, BigInt(t), BigInt(t + 1));
  }
}

async function until(cond: () => boolean, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Counts `listen` calls of the shards it opens. */
function counting(persist: PersistClient) {
  const counter = { listens: 0 };
  const openShard = async (id: string): Promise<Shard> => {
    const shard = await persist.openShard(id);
    return new Proxy(shard, {
      get(target, prop) {
        if (prop === "listen") {
          return (...a: Parameters<Shard["listen"]>) => {
            counter.listens++;
            return target.listen(...a);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === "function" ? (v as () => unknown).bind(target) : v;
      },
    });
  };
  return { counter, openShard };
}

/** A subscriber's record: `value@time` and the uppers in order; checks contiguity as it goes. */
class Recorder {
  readonly got: string[] = [];
  readonly uppers: Frontier[] = [];
  failed: unknown;
  constructor(readonly from: Timestamp) {}
  get upper(): Frontier {
    return this.uppers.length === 0 ? this.from : this.uppers[this.uppers.length - 1]!;
  }
  readonly sink = {
    event: (updates: readonly Update[], upper: Frontier) => {
      const lower = this.upper;
      for (const [row, t] of updates) {
        if (lower === null || t < lower || (upper !== null && t >= upper)) {
          throw new Error(`update at ${t} outside [${lower}, ${upper})`);
        }
        this.got.push(`${String(row[0])}@${t}`);
      }
      if (upper !== null && lower !== null && upper <= lower) {
        throw new Error(`upper ${upper} not past ${lower}`);
      }
      this.uppers.push(upper);
    },
    failed: (e: unknown) => {
      this.failed = e;
    },
  };
}

/** What a subscriber from `from` must have once the upper is `to`. */
function expected(from: number, to: number): string[] {
  const out: string[] = [];
  for (let t = from; t < to; t++) out.push(`${2 * t}@${t}`, `${2 * t + 1}@${t}`);
  return out;
}

const sorted = (xs: string[]) => [...xs].sort();

describe("ShardListeners", () => {
  it("serves subscribers behind, at and ahead of the shared position with one listener", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 10);
    const { counter, openShard } = counting(persist);
    const logger = pino({ level: "silent" });
    const ls = new ShardListeners({ worker: 0, workers: 1, openShard, logger, pollIntervalMs: 5 });

    const a = new Recorder(5n);
    const stopA = ls.subscribe(SHARD, 5n, a.sink);
    await until(() => a.upper === 10n, "a at 10");
    // Joined while updates flow: b behind (catch-up), c at the shared position, d ahead.
    const writing = write(shard, 10, 40);
    const b = new Recorder(2n);
    const stopB = ls.subscribe(SHARD, 2n, b.sink);
    const c = new Recorder(10n);
    ls.subscribe(SHARD, 10n, c.sink);
    const d = new Recorder(25n);
    const stopD = ls.subscribe(SHARD, 25n, d.sink);
    await writing;
    for (const r of [a, b, c, d]) await until(() => r.upper === 40n, `from ${r.from} at 40`);
    expect(a.got).toEqual(expected(5, 40));
    expect(b.got).toEqual(expected(2, 40));
    expect(c.got).toEqual(expected(10, 40));
    expect(d.got).toEqual(expected(25, 40));
    for (const r of [a, b, c, d]) expect(r.failed).toBeUndefined();
    // The shared one and b's catch-up.
    expect(counter.listens).toBe(2);
    expect(ls.subscribers(SHARD)).toBe(4);

    // Leaving while updates flow: the others go on; the last one stops the listener.
    stopA();
    stopB();
    const more = write(shard, 40, 50);
    stopD();
    await more;
    await until(() => c.upper === 50n, "c at 50");
    expect(c.got).toEqual(expected(10, 50));
    expect(a.upper).toBe(40n);
    expect(ls.listening).toBe(1);
    const e = new Recorder(50n);
    const stopE = ls.subscribe(SHARD, 50n, e.sink);
    await write(shard, 50, 52);
    await until(() => e.upper === 52n && c.upper === 52n, "c and e at 52");
    expect(e.got).toEqual(expected(50, 52));
    expect(counter.listens).toBe(2);
    stopE();
    for (const stop of [stopA, stopB, stopD]) stop(); // idempotent
    expect(ls.subscribers(SHARD)).toBe(1);
  });

  it("stops with its last subscriber and starts afresh for the next", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 5);
    const { counter, openShard } = counting(persist);
    const logger = pino({ level: "silent" });
    const ls = new ShardListeners({ worker: 0, workers: 1, openShard, logger, pollIntervalMs: 5 });
    const a = new Recorder(3n);
    const stop = ls.subscribe(SHARD, 3n, a.sink);
    await until(() => a.upper === 5n, "a at 5");
    stop();
    expect(ls.listening).toBe(0);
    await write(shard, 5, 8);
    const b = new Recorder(4n);
    ls.subscribe(SHARD, 4n, b.sink);
    await until(() => b.upper === 8n, "b at 8");
    expect(b.got).toEqual(expected(4, 8));
    expect(a.got).toEqual(expected(3, 5));
    expect(counter.listens).toBe(2);
  });

  it("two workers: disjoint partitions whose union is every update", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 3);
    const logger = pino({ level: "silent" });
    const recs = [0, 1].map((worker) => {
      const ls = new ShardListeners({
        worker,
        workers: 2,
        openShard: (id) => persist.openShard(id),
        logger,
        pollIntervalMs: 5,
      });
      const early = new Recorder(1n);
      ls.subscribe(SHARD, 1n, early.sink);
      return { ls, early };
    });
    await write(shard, 3, 20);
    const late = recs.map(({ ls }) => {
      const r = new Recorder(0n); // behind the shared position: a partitioned catch-up
      ls.subscribe(SHARD, 0n, r.sink);
      return r;
    });
    await write(shard, 20, 25);
    for (const r of [...recs.map((x) => x.early), ...late]) {
      await until(() => r.upper === 25n, `from ${r.from} at 25`);
    }
    const [e0, e1] = recs.map((x) => x.early.got);
    expect(e0!.length).toBeGreaterThan(0);
    expect(e1!.length).toBeGreaterThan(0);
    expect(e0!.filter((x) => e1!.includes(x))).toEqual([]);
    expect(sorted([...e0!, ...e1!])).toEqual(sorted(expected(1, 25)));
    expect(late[0]!.got.filter((x) => late[1]!.got.includes(x))).toEqual([]);
    expect(sorted([...late[0]!.got, ...late[1]!.got])).toEqual(sorted(expected(0, 25)));
    // Each worker's late subscriber got that worker's rows only.
    expect(late[0]!.got.filter((x) => Number(x.split("@")[1]) >= 1)).toEqual(e0);
  });

  it("a subscriber left alone ahead of the shared position is not failed by compaction", async () => {
    const { persist, shard } = await setup();
    await write(shard, 0, 10);
    const ctrl = await shard.openSinceHandle("controller");
    await ctrl.downgradeSince(4n);
    const logger = pino({ level: "silent" });
    // The shared listener stalls at 5 (its reads are gated) while the upper moves on.
    let open = false;
    const gateWaiters: Array<() => void> = [];
    const openShard = async (id: string): Promise<Shard> => {
      const s = await persist.openShard(id);
      return new Proxy(s, {
        get(target, prop) {
          if (prop === "listen") {
            return (...a: Parameters<Shard["listen"]>) => {
              const inner = target.listen(...a);
              const it = {
                [Symbol.asyncIterator]: () => it,
                next: async () => {
                  if (!open) await new Promise<void>((r) => gateWaiters.push(r));
                  return inner.next();
                },
                return: () => inner.return(),
              };
              return it;
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === "function" ? (v as () => unknown).bind(target) : v;
        },
      });
    };
    const ls = new ShardListeners({ worker: 0, workers: 1, openShard, logger, pollIntervalMs: 5 });
    const a = new Recorder(5n);
    const stopA = ls.subscribe(SHARD, 5n, a.sink);
    await write(shard, 10, 30);
    const b = new Recorder(25n);
    ls.subscribe(SHARD, 25n, b.sink);
    // a leaves (its dataflow dropped, its since handle expired); only b's hold (25) and the
    // controller's remain, and both move past 5: the shard is compacted beyond the stalled read.
    stopA();
    await ctrl.downgradeSince(25n);
    for (let i = 0; i < 3; i++) await shard.maintenance();
    expect(await shard.since()).toBe(25n);
    open = true;
    for (const w of gateWaiters.splice(0)) w();
    await write(shard, 30, 33);
    await until(() => b.upper === 33n || b.failed !== undefined, "b at 33");
    expect(b.failed).toBeUndefined();
    expect(b.got).toEqual(expected(25, 33));
  });
});
