/**
 * `ChangeWatch`: the idle listeners of a shard share one poll loop. 200 idle listeners cost one
 * timer and one head read per poll interval (before: each slept on its own timer and AbortSignal
 * listener and re-polled, N × 50 wakeups a second), and each still sees a write by another
 * process within a poll interval.
 */
import { describe, expect, it, vi } from "vitest";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist } from "./client.js";
import type { Consensus } from "./consensus/consensus.js";
import { createMemoryConsensus } from "./consensus/memory.js";
import { ShardMachine } from "./machine.js";

function countingHeads(inner: Consensus): Consensus & { heads: number } {
  const c = Object.assign(Object.create(null) as object, inner, {
    heads: 0,
    location: inner.location,
    head(key: string) {
      c.heads++;
      return inner.head(key);
    },
  }) as Consensus & { heads: number };
  for (const m of ["compareAndSet", "scan", "truncate", "listKeys", "close"] as const)
    (c as unknown as Record<string, unknown>)[m] = inner[m].bind(inner);
  return c;
}

describe("idle listeners of one shard", () => {
  it("share one poll per interval and still see another process's write", async () => {
    const consensus = countingHeads(createMemoryConsensus());
    const blob = createMemoryBlob();
    const reader = await createPersist({ consensus, blob, pollIntervalMs: 20 });
    try {
      const shard = await reader.openShard("s", { create: true });
      await shard.compareAndAppend([], 0n, 1n);
      const listeners = Array.from({ length: 200 }, () => shard.listen(1n));
      const firsts = listeners.map((l) => l.next());
      await new Promise((r) => setTimeout(r, 50));
      consensus.heads = 0;
      const timers = vi.spyOn(globalThis, "setTimeout");
      let timersSet: number;
      try {
        await new Promise((r) => setTimeout(r, 500));
        timersSet = timers.mock.calls.length;
      } finally {
        timers.mockRestore(); // even if the wait throws: later files run in this worker
      }
      // ~25 intervals of 20 ms: one timer and one head read each (before: a timer per listener
      // per interval, ~5,000).
      expect(timersSet).toBeLessThan(200);
      expect(consensus.heads).toBeLessThan(200);
      // "Another process": the same store under another location string, so another wakeup
      // key: only polling sees its write.
      const other = await createPersist({
        consensus: Object.assign(countingHeads(consensus), { location: "elsewhere" }),
        blob,
      });
      const otherShard = await other.openShard("s");
      await otherShard.compareAndAppend([[["x"], 1n, 1]], 1n, 2n);
      const events = await Promise.all(firsts);
      expect(events.every((e) => e.value?.upper === 2n)).toBe(true);
      for (const l of listeners) l.close();
      await other.close();
    } finally {
      await reader.close();
    }
  });

  it("are not woken by commits that leave the upper (since downgrades), but are by another client's append", async () => {
    // A replica's idle source shard changes mostly by its readers' since downgrades and
    // heartbeats; before, each such commit woke every listener to re-read and wait again.
    const consensus = createMemoryConsensus();
    const blob = createMemoryBlob();
    // No timer tick in the test: only in-process commits wake.
    const p = await createPersist({ consensus, blob, pollIntervalMs: 60_000 });
    // Another client of the same store in this process: its commits are not in `p`'s machine.
    const writer = await createPersist({ consensus, blob, pollIntervalMs: 60_000 });
    try {
      const shard = await p.openShard("s", { create: true });
      await shard.compareAndAppend([], 0n, 100n);
      const h = await shard.openSinceHandle("r");
      const listeners = Array.from({ length: 50 }, () => shard.listen(100n));
      const firsts = listeners.map((l) => l.next());
      await new Promise((r) => setTimeout(r, 20));
      const polls = vi.spyOn(ShardMachine.prototype, "poll");
      let polled: number;
      try {
        for (let t = 1n; t <= 20n; t++) await h.downgradeSince(t);
        await new Promise((r) => setTimeout(r, 20));
        polled = polls.mock.calls.length;
      } finally {
        polls.mockRestore();
      }
      // Before: 20 commits × 50 listeners re-reading the head.
      expect(polled).toBeLessThan(20);
      const ws = await writer.openShard("s");
      await ws.compareAndAppend([[["x"], 100n, 1]], 100n, 101n);
      const events = await Promise.all(firsts);
      expect(events.every((e) => e.value?.upper === 101n)).toBe(true);
      for (const l of listeners) l.close();
    } finally {
      await writer.close();
      await p.close();
    }
  });
});
