/**
 * One persist listener per shard per worker (issue 16, `render/shard-listeners.ts`), end to end
 * through `ComputeState`s (W = 1 and 2, in process, real persist): dataflows on one shard with
 * different as-ofs — behind, at and ahead of where the worker's shared listener is — created and
 * dropped while a writer appends. Every live index answers peeks at every time from its as-of
 * with exactly the values written up to that time, reports its frontier up to the shard's upper,
 * a dropped one reports the empty frontier; each worker keeps one listener of the shard open
 * (plus a short catch-up for a dataflow that started behind it; before: one per dataflow per
 * worker) and none once every dataflow is dropped; each worker holds the shard with one since
 * handle (`render/shard-since-holds.ts`; before: one per dataflow per worker), expired once
 * every dataflow is dropped (no read hold leaked).
 */
import { Listener, Shard } from "@mzts/persist";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  append,
  INSTANCE,
  runCleanups,
  shards,
  sleep,
  sourceIndex,
  Workers,
} from "./testdata/in-process-workers.js";

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanups();
});

/** The persist listeners opened and not yet closed, from now on. */
function openListeners(): Set<Listener> {
  const open = new Set<Listener>();
  const listen = Shard.prototype.listen;
  vi.spyOn(Shard.prototype, "listen").mockImplementation(function (this: Shard, ...a) {
    const l = listen.apply(this, a);
    open.add(l);
    return l;
  });
  const close = Listener.prototype.close;
  vi.spyOn(Listener.prototype, "close").mockImplementation(function (this: Listener) {
    open.delete(this);
    close.call(this);
  });
  return open;
}

/** Values 0..t (value v is written at time v). */
const upTo = (t: bigint) => Array.from({ length: Number(t) + 1 }, (_, i) => String(i)).sort();

describe.each([1, 2])("shared source listener, W=%i", (workers) => {
  it("dataflows with different as-ofs, created and dropped while updates flow", async () => {
    const { dir, shards: s } = await shards(["a"]);
    const shard = s.a!;
    let upper = 0n;
    const writeTo = async (t: bigint) => {
      for (; upper < t; upper++) await append(shard, upper, upper);
    };
    await writeTo(10n);
    const open = openListeners();
    const w = new Workers(workers, dir);
    // d0 behind, d1 at the upper (whichever subscribes second may catch up).
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("d0", "a", 3n) },
      { kind: "createDataflow", dataflow: sourceIndex("d1", "a", 9n) },
      { kind: "initializationComplete" },
    );
    await w.until(() => w.write("d0") === 10n && w.write("d1") === 10n, "d0, d1 at 10");

    // A writer appends while dataflows come and go.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await writeTo(upper + 1n);
        await sleep(3);
      }
    })();
    await w.until(() => (w.write("d1") ?? 0n) >= 20n, "d1 at 20");
    // d2 far behind the shared listener (a catch-up), d3 at the shard's upper.
    const u3 = upper;
    w.apply(
      { kind: "createDataflow", dataflow: sourceIndex("d2", "a", 5n) },
      { kind: "createDataflow", dataflow: sourceIndex("d3", "a", u3 - 1n) },
    );
    await w.until(() => (w.write("d2") ?? 0n) > u3, "d2 past its start");
    // d0 dropped while updates flow; d4 created after.
    w.apply({ kind: "allowCompaction", id: "d0", frontier: null });
    const u4 = upper;
    w.apply({ kind: "createDataflow", dataflow: sourceIndex("d4", "a", u4 - 1n) });
    await w.until(() => (w.write("d4") ?? 0n) > u4 + 5n, "d4 past its start");
    writing = false;
    await writer;
    const end = upper;
    const live = ["d1", "d2", "d3", "d4"];
    await w.until(() => live.every((id) => w.write(id) === end), `every index at ${end}`);
    expect(w.write("d0")).toBeNull();

    const asOf: Record<string, bigint> = { d1: 9n, d2: 5n, d3: u3 - 1n, d4: u4 - 1n };
    for (const id of live) {
      for (const t of new Set([asOf[id]!, asOf[id]! + 1n, (asOf[id]! + end) / 2n, end - 1n])) {
        expect(await w.peek(id, t), `${id} at ${t}`).toEqual(upTo(t));
      }
    }
    // One shared listener per worker, plus at most one catch-up per dataflow that started
    // behind it (d0 or d1, and d2); before, every dataflow had its own: 5 per worker.
    // One listener per worker stays open for the four dataflows (catch-ups of dataflows that
    // started behind the shared one have ended); before, one per dataflow per worker.
    expect(open.size).toBe(workers);

    // One since handle per worker for the four dataflows; after every drop only the controller
    // holds the shard.
    const readers = async () => Object.keys((await shard.info()).readers).sort();
    expect((await readers()).filter((r) => r.startsWith("compute:"))).toHaveLength(workers);
    for (const id of live) w.apply({ kind: "allowCompaction", id, frontier: null });
    await expectEventually(async () => (await readers()).join() === "controller");
    expect(open.size).toBe(0);
  });
});

describe.each([1, 2])("one since handle per shard per worker, W=%i", (workers) => {
  it("100 dataflows on one shard register one handle per worker, expired with the last", async () => {
    const { dir, shards: s } = await shards(["a"]);
    const shard = s.a!;
    for (let t = 0n; t < 5n; t++) await append(shard, t, t);
    const w = new Workers(workers, dir);
    const ids = Array.from({ length: 100 }, (_, i) => `d${i}`);
    w.apply(
      INSTANCE,
      ...ids.map((id, i) => ({
        kind: "createDataflow" as const,
        dataflow: sourceIndex(id, "a", BigInt(i % 5)),
      })),
      { kind: "initializationComplete" },
    );
    await w.until(() => ids.every((id) => w.write(id) === 5n), "every index at 5");
    const compute = async () =>
      Object.keys((await shard.info()).readers).filter((r) => r.startsWith("compute:"));
    expect((await compute()).sort()).toEqual(
      Array.from({ length: workers }, (_, i) => `compute:r1:w${i}:a`),
    );
    expect(await w.peek("d3", 4n)).toEqual(upTo(4n));
    // Dropping all but one keeps each worker's handle; dropping the last expires them.
    for (const id of ids.slice(1)) w.apply({ kind: "allowCompaction", id, frontier: null });
    await w.until(() => ids.slice(1).every((id) => w.write(id) === null), "99 dropped");
    expect(await compute()).toHaveLength(workers);
    w.apply({ kind: "allowCompaction", id: "d0", frontier: null });
    await expectEventually(async () => (await compute()).length === 0);
  });
});

async function expectEventually(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}
