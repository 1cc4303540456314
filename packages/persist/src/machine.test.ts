/**
 * `ShardMachine` reads: polling an unchanged shard reads the head but decodes nothing (the
 * cached state is returned as is), and concurrent polls share one head read. Before this, each
 * of a replica's N listeners of a shard decoded the whole state (which lists N readers) on every
 * poll — quadratic in dataflows (issue 16: an idle replica with 100 indexes at 90 % of a core).
 * Concurrent fetches (a restarted replica's dataflows opening one shard) share the one read that
 * starts after all of them, never one that started before (linearizable).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist } from "./client.js";
import type { Consensus } from "./consensus/consensus.js";
import { createMemoryConsensus } from "./consensus/memory.js";
import { createSqliteConsensus } from "./consensus/sqlite.js";
import { SinceRegression } from "./errors.js";
import { POLL_SHARE_MS, ShardMachine } from "./machine.js";
import { createPersistMetrics } from "./metrics.js";
import { initialState } from "./state.js";

function counting(inner: Consensus): Consensus & { heads: number } {
  const c = {
    heads: 0,
    location: inner.location,
    head(key: string) {
      c.heads++;
      return inner.head(key);
    },
    compareAndSet: inner.compareAndSet.bind(inner),
    scan: inner.scan.bind(inner),
    truncate: inner.truncate.bind(inner),
    listKeys: inner.listKeys.bind(inner),
    close: inner.close.bind(inner),
  };
  return c;
}

function machine(consensus: Consensus): ShardMachine {
  return new ShardMachine("s1", {
    consensus,
    metrics: createPersistMetrics(new Registry()),
    logger: pino({ level: "silent" }),
    truncateEvery: 100,
    maxAttempts: 5,
  });
}

describe("ShardMachine reads", () => {
  it("returns the cached state for an unchanged head without decoding it again", async () => {
    const m = machine(createMemoryConsensus());
    await m.create(initialState("s1", 0));
    const a = await m.fetch();
    const b = await m.fetch();
    expect(b).toBe(a);
    expect(b.state).toBe(a.state);
  });

  it("decodes a head another process wrote", async () => {
    const consensus = createMemoryConsensus();
    const mine = machine(consensus);
    const theirs = machine(consensus);
    await mine.create(initialState("s1", 0));
    const before = await mine.fetch();
    await theirs.apply("test", (s) => ({ write: { ...s }, result: undefined }));
    const after = await mine.fetch();
    expect(after.seqNo).toBe(before.seqNo + 1n);
    expect(after.state).not.toBe(before.state);
    expect(after.state).toEqual(before.state);
  });

  it("shares one head read between concurrent polls, but not between fetches", async () => {
    const consensus = counting(createMemoryConsensus());
    const m = machine(consensus);
    await m.create(initialState("s1", 0));
    consensus.heads = 0;
    const polls = await Promise.all(Array.from({ length: 10 }, () => m.poll()));
    expect(consensus.heads).toBe(1);
    expect(new Set(polls.map((p) => p.seqNo)).size).toBe(1);
  });

  it("concurrent fetches share the read that starts after them: a burst costs two reads", async () => {
    const consensus = counting(createMemoryConsensus());
    const m = machine(consensus);
    await m.create(initialState("s1", 0));
    consensus.heads = 0;
    // One read starts at the first call; the 999 calls made while it is in flight share the next.
    const all = await Promise.all(Array.from({ length: 1000 }, () => m.fetch()));
    expect(consensus.heads).toBe(2);
    expect(new Set(all.map((v) => v.seqNo)).size).toBe(1);
    consensus.heads = 0;
    await m.fetch();
    expect(consensus.heads).toBe(1);
  });

  it("a fetch never answers from a read that started before it (linearizable)", async () => {
    const inner = createMemoryConsensus();
    // Head reads wait for `release`: the first read is in flight while another process commits.
    const gates: Array<() => void> = [];
    const gated: Consensus = {
      location: inner.location,
      head: async (key) => {
        const v = await inner.head(key);
        await new Promise<void>((r) => gates.push(r));
        return v;
      },
      compareAndSet: inner.compareAndSet.bind(inner),
      scan: inner.scan.bind(inner),
      truncate: inner.truncate.bind(inner),
      listKeys: inner.listKeys.bind(inner),
      close: inner.close.bind(inner),
    };
    const theirs = machine(inner);
    const created = await theirs.create(initialState("s1", 0));
    const m = machine(gated);
    const early = m.fetch(); // its read has the created state
    await new Promise((r) => setImmediate(r));
    expect(gates.length).toBe(1);
    const wrote = await theirs.apply("test", (s) => ({ write: { ...s }, result: undefined }));
    const late = m.fetch(); // called after the commit: must see it
    const late2 = m.fetch();
    gates.shift()!();
    expect((await early).seqNo).toBe(created.seqNo);
    await new Promise((r) => setImmediate(r));
    expect(gates.length).toBe(1); // one read for both late calls
    gates.shift()!();
    expect((await late).seqNo).toBe(wrote.seqNo);
    expect((await late2).seqNo).toBe(wrote.seqNo);
  });

  it("shares a just-completed poll, but a state this process committed since wins", async () => {
    const consensus = counting(createMemoryConsensus());
    const m = machine(consensus);
    await m.create(initialState("s1", 0));
    const first = await m.poll();
    consensus.heads = 0;
    const again = await m.poll();
    expect(consensus.heads).toBe(0);
    expect(again).toBe(first);
    const wrote = await m.apply("test", (s) => ({ write: { ...s }, result: undefined }));
    const after = await m.poll();
    expect(after.seqNo).toBe(wrote.seqNo);
    await new Promise((r) => setTimeout(r, POLL_SHARE_MS + 5));
    consensus.heads = 0;
    await m.poll();
    expect(consensus.heads).toBe(1);
  });
});

describe("ShardMachine head reads of an unchanged shard (SQLite consensus)", () => {
  it("read the head's seqno only; the entry when it moved", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mzts-persist-headseq-"));
    const sqlite = createSqliteConsensus(join(dir, "consensus.sqlite"));
    try {
      const c = counting(sqlite) as Consensus & { heads: number; seqNos: number };
      c.seqNos = 0;
      c.headSeqNo = (key: string) => {
        c.seqNos++;
        return sqlite.headSeqNo!(key);
      };
      const mine = machine(c);
      const theirs = machine(sqlite);
      await mine.create(initialState("s1", 0));
      const a = await mine.fetch();
      c.heads = 0;
      c.seqNos = 0;
      for (let i = 0; i < 5; i++) expect(await mine.fetch()).toBe(a);
      expect(c.heads).toBe(0); // the state (every reader listed) is not read again
      expect(c.seqNos).toBe(5);
      await theirs.apply("test", (s) => ({ write: { ...s }, result: undefined }));
      const b = await mine.fetch();
      expect(b.seqNo).toBe(a.seqNo + 1n);
      expect(b).not.toBe(a);
      expect(c.heads).toBe(1);
    } finally {
      await sqlite.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("ShardMachine.applyBatch (since downgrades of many handles)", () => {
  it("writes one state for the downgrades of one turn; a failing member fails alone", async () => {
    const consensus = counting(createMemoryConsensus());
    let cas = 0;
    const cas0 = consensus.compareAndSet;
    consensus.compareAndSet = (k, e, v) => {
      cas++;
      return cas0(k, e, v);
    };
    const persist = await createPersist({ consensus, blob: createMemoryBlob() });
    try {
      const shard = await persist.openShard("g1", { create: true });
      await shard.compareAndAppend([], 0n, 10n);
      const handles = await Promise.all(
        Array.from({ length: 10 }, (_, i) => shard.openSinceHandle(`r${i}`)),
      );
      await handles[9]!.downgradeSince(5n);
      cas = 0;
      const outcomes = await Promise.allSettled(
        handles.map((h, i) => h.downgradeSince(i === 9 ? 1n : 3n)),
      );
      expect(cas).toBe(1);
      expect(outcomes.slice(0, 9).every((o) => o.status === "fulfilled")).toBe(true);
      expect(outcomes[9]?.status).toBe("rejected");
      expect((outcomes[9] as PromiseRejectedResult).reason).toBeInstanceOf(SinceRegression);
      for (let i = 0; i < 9; i++) expect(handles[i]!.since).toBe(3n);
      expect(await shard.since()).toBe(3n);
    } finally {
      await persist.close();
    }
  });
});
