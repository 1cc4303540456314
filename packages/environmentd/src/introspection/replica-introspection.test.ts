/**
 * `ReplicaIntrospection` with a scripted controller (replica statuses and subscribe streams the
 * test feeds) and real persisted collections: targeted subscribes per connected incarnation,
 * batches written with the replica id, rows retracted when the replica fails or is dropped, a
 * new incarnation followed from scratch, and a batch racing the end never written; rows carried
 * over from an earlier boot, transient exports, a newer incarnation's batch arriving before the
 * sync, and a dropped instance.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import type { DataflowDescription } from "@mzts/protocol";
import type { Frontier, Update } from "@mzts/repr";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  PERSISTED_INTROSPECTION,
  type PersistedIntrospection,
  ReplicaIntrospectionCollections,
} from "./replica-collections.js";
import { type IntrospectionController, ReplicaIntrospection } from "./replica-introspection.js";

let dir: string | undefined;
let persist: PersistClient | undefined;
afterEach(async () => {
  await persist?.close();
  persist = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

type Batch = { upper: Frontier; updates: readonly Update[] };

/** A subscribe stream the test pushes batches into. */
class Stream implements AsyncIterable<Batch> {
  readonly #queue: Batch[] = [];
  #wake: (() => void) | undefined;
  #done: Error | undefined;
  constructor(
    readonly desc: DataflowDescription,
    readonly target: string,
  ) {}
  push(b: Batch): void {
    this.#queue.push(b);
    this.#wake?.();
  }
  fail(e: Error): void {
    this.#done = e;
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (;;) {
      const b = this.#queue.shift();
      if (b !== undefined) {
        yield b;
        continue;
      }
      if (this.#done) throw this.#done;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}

function scripted() {
  const replicas: Array<{ replicaId: string; epoch: number; state: string; failures?: number }> =
    [];
  const gone = { instance: false };
  const streams: Stream[] = [];
  const dropped: string[] = [];
  const controller: IntrospectionController = {
    replicas: () => {
      if (gone.instance) throw new Error("InstanceMissing");
      return replicas;
    },
    subscribe(_instance, desc, { targetReplica }) {
      const s = new Stream(desc, targetReplica);
      streams.push(s);
      return s;
    },
    dropCollection(id) {
      dropped.push(id);
      streams.find((s) => s.desc.sinkExports[0]!.id === id)?.fail(new Error("dropped"));
    },
  };
  const of = (replica: string, relation: string) =>
    [...streams]
      .reverse()
      .find((s) => s.target === replica && s.desc.debugName.includes(relation))!;
  return { replicas, streams, dropped, controller, of, gone };
}

async function setup() {
  dir = await mkdtemp(join(tmpdir(), "persisted-intro-"));
  persist = await createPersist({
    dataDir: dir,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  const shards = new Map<PersistedIntrospection, Shard>();
  for (const r of PERSISTED_INTROSPECTION) {
    shards.set(r, await persist.openShard(`intro-${r}`, { create: true }));
  }
  const clock = { ms: 10_500 };
  const collections = new ReplicaIntrospectionCollections({ shards, now: () => clock.ms });
  const s = scripted();
  let n = 0;
  const intro = new ReplicaIntrospection({
    controller: s.controller,
    collections,
    nextId: () => `t${++n}`,
    logIndex: (_i, relation) => `s${100 + PERSISTED_INTROSPECTION.indexOf(relation)}`,
    intervalMs: () => 1000,
    logger: pino({ level: "silent" }),
    now: () => clock.ms,
  });
  return { s, collections, intro, clock };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe("replica introspection subscribes", () => {
  it("follow each connected incarnation and retract a failed or dropped replica's rows", async () => {
    const { s, collections, intro, clock } = await setup();
    s.replicas.push(
      { replicaId: "u1", epoch: 1, state: "connected" },
      { replicaId: "u2", epoch: 1, state: "connecting" },
    );
    intro.sync("c1");
    expect(s.streams.map((x) => x.target)).toEqual(["u1", "u1", "u1"]);
    const hydration = s.of("u1", "hydration_times");
    expect(hydration.desc.asOf).toBe(9000n);
    expect(hydration.desc.indexImports).toEqual([{ id: "s100", key: [0, 1], arity: 3 }]);
    s.replicas[1]!.state = "connected";
    intro.sync("c1");
    intro.sync("c1"); // nothing new: no second set
    expect(s.streams.map((x) => x.target)).toEqual(["u1", "u1", "u1", "u2", "u2", "u2"]);

    s.of("u1", "hydration_times").push({ upper: 11_001n, updates: [[["u7", 0n, 5n], 11_000n, 1]] });
    s.of("u2", "hydration_times").push({
      upper: 11_001n,
      updates: [[["u7", 0n, null], 11_000n, 1]],
    });
    s.of("u1", "error_counts").push({ upper: 11_001n, updates: [[["u7", 0n, 2n], 11_000n, 1]] });
    await settle();
    await collections.append("hydration_times", "u9", [], null); // waits for the chain
    expect(await collections.read("hydration_times")).toEqual([
      ["u1", "u7", 0n, 5n],
      ["u2", "u7", 0n, null],
    ]);

    // u1's incarnation fails: its subscribes end and its rows go; a batch racing the end is
    // never written.
    clock.ms = 12_500;
    s.replicas[0]!.state = "connecting";
    s.replicas[0]!.epoch = 2;
    s.of("u1", "hydration_times").push({ upper: 12_001n, updates: [[["u8", 0n, 1n], 12_000n, 1]] });
    intro.sync("c1");
    await intro.idle();
    await settle();
    expect(s.dropped).toEqual(["t1", "t2", "t3"]);
    expect(await collections.read("hydration_times")).toEqual([["u2", "u7", 0n, null]]);
    expect(await collections.read("error_counts")).toEqual([]);

    // Its next incarnation connects: followed from scratch.
    s.replicas[0]!.state = "connected";
    intro.sync("c1");
    s.of("u1", "hydration_times").push({ upper: 13_001n, updates: [[["u7", 0n, 6n], 13_000n, 1]] });
    await settle();
    // u2 is dropped: gone from the controller, its rows retracted.
    clock.ms = 14_500;
    s.replicas.splice(1, 1);
    intro.sync("c1");
    await intro.idle();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 6n]]);
    intro.close();
  });

  it("replace carried-over rows, skip transient exports and newer incarnations, forget a dropped instance", async () => {
    const { s, collections, intro } = await setup();
    // An earlier boot wrote rows of u1 (running) and u2 (running, but it will fail first).
    await collections.append("hydration_times", "u1", [[["u7", 0n, 1n], 1000n, 1]], 1001n);
    await collections.append("hydration_times", "u2", [[["u7", 0n, 2n], 1000n, 1]], 1001n);
    await collections.append("error_counts", "u3", [[["u7", 0n, 1n], 1000n, 1]], 1001n);
    intro.carry([
      ["c1", "u1"],
      ["c1", "u2"],
      ["c1", "u3"], // dropped before it ever connected: not among the controller's replicas
    ]);
    s.replicas.push(
      { replicaId: "u1", epoch: 1, state: "connecting" },
      { replicaId: "u2", epoch: 1, state: "connecting" },
    );
    intro.sync("c1");
    await intro.idle();
    // Still connecting: the carried rows stay (the replica may well still be hydrated).
    expect(await collections.read("hydration_times")).toEqual([
      ["u1", "u7", 0n, 1n],
      ["u2", "u7", 0n, 2n],
    ]);
    expect(await collections.read("error_counts")).toEqual([]);
    // u1 connects (its rows are replaced by its snapshot); u2's first incarnation fails.
    s.replicas[0]!.state = "connected";
    s.replicas[1]!.failures = 1;
    s.replicas[1]!.epoch = 2;
    intro.sync("c1");
    s.of("u1", "hydration_times").push({
      upper: 11_001n,
      updates: [
        [["u7", 0n, 1n], 11_000n, 1],
        [["t3", 0n, 9n], 11_000n, 1], // an introspection subscribe's own export
      ],
    });
    await settle();
    await intro.idle();
    await collections.settled();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 1n]]);

    // u1 fails and reconnects before any sync: a batch of the new incarnation is not written.
    s.replicas[0]!.epoch = 2;
    s.of("u1", "hydration_times").push({
      upper: 12_001n,
      updates: [[["u7", 0n, 1n], 12_000n, -1]],
    });
    await settle();
    await collections.settled();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 1n]]);
    intro.sync("c1"); // ends the old incarnation (retracting), follows the new one
    await intro.idle();
    expect(await collections.read("hydration_times")).toEqual([]);
    s.of("u1", "error_counts").push({ upper: 13_001n, updates: [[["u7", 0n, 4n], 13_000n, 1]] });
    await settle();
    await collections.settled();
    expect(await collections.read("error_counts")).toEqual([["u1", "u7", 0n, 4n]]);

    // The cluster is dropped: the controller no longer knows it; its rows go.
    s.gone.instance = true;
    intro.sync("c1"); // an unknown instance syncs as one without replicas
    intro.forget("c1");
    await intro.idle();
    expect(await collections.read("error_counts")).toEqual([]);
    intro.close();
  });

  it("follow a replica anew when one of its subscribes stops by itself (same incarnation)", async () => {
    const { s, collections, intro } = await setup();
    s.replicas.push({ replicaId: "u1", epoch: 1, state: "connected" });
    intro.sync("c1");
    s.of("u1", "hydration_times").push({ upper: 11_001n, updates: [[["u7", 0n, 5n], 11_000n, 1]] });
    await settle();
    await collections.settled();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 5n]]);
    // E.g. the instance was rebuilt and the replica re-added at the same epoch: the subscribe
    // fails, the replica stays connected.
    s.of("u1", "error_counts").fail(new Error("subscribe canceled"));
    await settle();
    intro.sync("c1");
    await intro.idle();
    expect(s.dropped).toEqual(["t1", "t2", "t3"]);
    expect(s.streams).toHaveLength(6); // a second set
    expect(await collections.read("hydration_times")).toEqual([]);
    s.of("u1", "hydration_times").push({ upper: 12_001n, updates: [[["u7", 0n, 5n], 12_000n, 1]] });
    await settle();
    await collections.settled();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 5n]]);
    intro.close();
  });

  it("retract carried-over rows of a replica that does not connect within the grace period", async () => {
    const { s, collections, intro, clock } = await setup();
    await collections.append("hydration_times", "u1", [[["u7", 0n, 1n], 1000n, 1]], 1001n);
    intro.carry([["c1", "u1"]]);
    s.replicas.push({ replicaId: "u1", epoch: 1, state: "connecting" });
    clock.ms += 29_000;
    intro.sync("c1");
    await intro.idle();
    expect(await collections.read("hydration_times")).toEqual([["u1", "u7", 0n, 1n]]);
    clock.ms += 1_000; // 30 s after boot: down, as far as anyone can tell
    intro.sync("c1");
    await intro.idle();
    expect(await collections.read("hydration_times")).toEqual([]);
    intro.close();
  });
});
