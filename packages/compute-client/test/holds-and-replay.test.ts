/**
 * Read holds and the replay, with an in-memory connector that records what each incarnation was
 * sent:
 * - persist sinks (materialized views) are collections with a read policy: their write frontier
 *   moves their since, `allowCompaction` is sent for them, and a replay rebuilds the view at the
 *   advanced as-of (so the holds on its imports may advance too); peeks on them are refused;
 * - a replica incarnation holds each collection at the as-of it was told to build it at until it
 *   reports past it, so a rehydrating replica's inputs stay readable while another moves on;
 * - the replay is read when the stream opens, so DDL sent while a replica connects is in it;
 * - a subscribe is replayed at one below its frontier (its inputs were compacted up to there), held
 *   back for every incarnation until its first batch, and keeps streaming through the restarts.
 */
import type { ComputeCommand, ComputeResponse, DataflowDescription } from "@mzts/protocol";
import type { Update } from "@mzts/repr";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type ComputeController,
  ControllerError,
  createComputeController,
  type SubscribeBatch,
} from "../src/index.js";
import { type FakeReplicas, fakeReplicas } from "./fake-replicas.js";

type Fake = FakeReplicas;
const fakeConnector = fakeReplicas;

const VIEW: DataflowDescription = {
  debugName: "view",
  sourceImports: [{ id: "u1", shardId: "s-u1", arity: 1, upper: null }],
  indexImports: [],
  objectsToBuild: [{ id: "u2", plan: { kind: "get", id: "u1", arity: 1 } }],
  indexExports: [],
  sinkExports: [{ id: "u2", fromId: "u2", connection: { kind: "persist", shardId: "s-u2" } }],
  asOf: 100n,
  until: null,
};

function setup(): { c: ComputeController; fake: Fake } {
  const fake = fakeConnector();
  const c = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    compactionWindowMs: 1000n,
  });
  c.createInstance(
    "c1",
    { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    { connector: fake.connector },
  );
  c.addReplica("c1", "u9", { computeUrl: "http://127.0.0.1:1" });
  return { c, fake };
}

/** The replica's current incarnation. */
function inc(fake: Fake, replicaId: string): Fake["incarnations"][number] | undefined {
  return [...fake.incarnations].reverse().find((i) => i.opts.replicaId === replicaId);
}

function respond(fake: Fake, responses: ComputeResponse[]): void {
  const inc = fake.incarnations[fake.incarnations.length - 1];
  inc?.opts.onResponses(inc.opts.epoch, responses);
}

const frontiers = (id: string, write: bigint): ComputeResponse => ({
  kind: "frontiers",
  id,
  frontiers: { write, input: write, output: write },
});

describe("persist sinks as collections", () => {
  it("advance their since with the write frontier and send allowCompaction", async () => {
    const { c, fake } = setup();
    c.createDataflow("c1", VIEW);
    expect(c.frontiers("u2")).toEqual({ since: 100n, write: 100n, reported: false });
    respond(fake, [frontiers("u2", 5000n)]);
    expect(c.frontiers("u2")).toEqual({ since: 4000n, write: 5000n, reported: true });
    const sent = fake.incarnations[0]?.sent ?? [];
    expect(sent).toContainEqual({ kind: "allowCompaction", id: "u2", frontier: 4000n });
    await c.close();
  });

  it("a replay rebuilds the view at its compaction frontier, not the original as-of", async () => {
    const { c, fake } = setup();
    c.createDataflow("c1", VIEW);
    c.allowWrites("c1", "u2");
    respond(fake, [frontiers("u2", 5000n)]);
    const first = fake.incarnations[0];
    first?.opts.onFailed(first.opts.epoch, new Error("connection reset"));
    const replay = fake.incarnations[1]?.opts.replay() ?? [];
    const create = replay.find((x) => x.kind === "createDataflow");
    expect(create?.kind === "createDataflow" ? create.dataflow.asOf : undefined).toBe(4000n);
    expect(replay.some((x) => x.kind === "allowWrites" && x.id === "u2")).toBe(true);
    await c.close();
  });

  it("refuses peeks on a sink, and dropping it sends the empty frontier", async () => {
    const { c, fake } = setup();
    c.createDataflow("c1", VIEW);
    const peek = c.peek("c1", { target: "u2", timestamp: 100n });
    await expect(peek).rejects.toBeInstanceOf(ControllerError);
    await expect(peek).rejects.toThrow(/peek an index/);
    c.dropCollection("u2");
    expect(fake.incarnations[0]?.sent).toContainEqual({
      kind: "allowCompaction",
      id: "u2",
      frontier: null,
    });
    await c.close();
  });
});

describe("per-replica holds", () => {
  it("keep the since at a rehydrating replica's replay as-of until it reports past it", async () => {
    const { c, fake } = setup();
    c.addReplica("c1", "u8", { computeUrl: "http://127.0.0.1:2" });
    c.createDataflow("c1", VIEW);
    const report = (replicaId: string, write: bigint) => {
      const i = inc(fake, replicaId);
      i?.opts.onResponses(i.opts.epoch, [frontiers("u2", write)]);
    };
    // Only u9 reports: u8 has not built the view yet, so the since stays at the as-of.
    report("u9", 5000n);
    expect(c.frontiers("u2").since).toBe(100n);
    report("u8", 3000n);
    expect(c.frontiers("u2").since).toBe(4000n);
    // u8 fails and is rehydrated at the since (4000); u9 races ahead meanwhile.
    const old = inc(fake, "u8");
    old?.opts.onFailed(old.opts.epoch, new Error("killed"));
    const replay = inc(fake, "u8")?.opts.replay() ?? [];
    const create = replay.find((x) => x.kind === "createDataflow");
    expect(create?.kind === "createDataflow" ? create.dataflow.asOf : undefined).toBe(4000n);
    report("u9", 9000n);
    expect(c.frontiers("u2").since).toBe(4000n); // held for the rehydrating u8
    report("u8", 4000n); // not past its as-of yet
    expect(c.frontiers("u2").since).toBe(4000n);
    report("u8", 4500n); // past it: its own handles hold its inputs now
    expect(c.frontiers("u2").since).toBe(8000n);
    // Dropping a replica releases its hold too.
    c.addReplica("c1", "u7", { computeUrl: "http://127.0.0.1:3" });
    report("u9", 12_000n);
    expect(c.frontiers("u2").since).toBe(8000n);
    await c.dropReplica("c1", "u7");
    expect(c.frontiers("u2").since).toBe(11_000n);
    await c.close();
  });
});

describe("per-replica holds of a persist sink", () => {
  it("go with the input frontier, not the write frontier (the shard's upper)", async () => {
    const { c, fake } = setup();
    c.createDataflow("c1", VIEW);
    const inc = fake.incarnations[0];
    const respond = (write: bigint, input: bigint) =>
      inc?.opts.onResponses(inc.opts.epoch, [
        { kind: "frontiers", id: "u2", frontiers: { write, input, output: input } },
      ]);
    // The sink reports the shard's upper at once, before its inputs' snapshot was read.
    respond(5000n, 100n);
    expect(c.frontiers("u2").since).toBe(100n);
    respond(5000n, 101n); // the snapshot at the as-of is read
    expect(c.frontiers("u2").since).toBe(4000n);
    await c.close();
  });
});

describe("replay", () => {
  it("is read when the stream opens: it holds what was created meanwhile, not what was dropped", async () => {
    const { c, fake } = setup();
    const first = fake.incarnations[0];
    c.createDataflow("c1", VIEW); // after the spawn, before the stream opens
    const index: DataflowDescription = {
      ...VIEW,
      debugName: "idx",
      objectsToBuild: [{ id: "u3", plan: { kind: "get", id: "u1", arity: 1 } }],
      indexExports: [{ id: "u4", objectId: "u3", key: [0] }],
      sinkExports: [],
    };
    c.createDataflow("c1", index);
    c.dropCollection("u4"); // created and dropped before the stream opens
    const kinds = (first?.opts.replay() ?? []).map((x) =>
      x.kind === "createDataflow" ? `create ${x.dataflow.debugName}` : x.kind,
    );
    expect(kinds).toContain("create view");
    expect(kinds).not.toContain("create idx");
    // The replica will never report on u4: the controller does not wait for it.
    expect(() => c.frontiers("u4")).toThrow(/u4/);
    await c.close();
  });
});

describe("onWriteFrontier", () => {
  it("tells listeners when a collection's write frontier advances, not on a repeat or regression", async () => {
    const { c, fake } = setup();
    c.createDataflow("c1", VIEW);
    const seen: string[] = [];
    const off = c.onWriteFrontier((id) => seen.push(`${id}@${c.frontiers(id).write}`));
    respond(fake, [frontiers("u2", 5000n)]);
    respond(fake, [frontiers("u2", 5000n), frontiers("u2", 4000n)]);
    respond(fake, [frontiers("u2", 6000n)]);
    expect(seen).toEqual(["u2@5000", "u2@6000"]);
    off();
    respond(fake, [frontiers("u2", 7000n)]);
    expect(seen).toHaveLength(2);
    await c.close();
  });
});

describe("a subscribe through replica restarts", () => {
  const SUB: DataflowDescription = {
    ...VIEW,
    debugName: "subscribe",
    objectsToBuild: [{ id: "t1", plan: { kind: "get", id: "u1", arity: 1 } }],
    sinkExports: [{ id: "t1", fromId: "t1", connection: { kind: "subscribe" } }],
  };
  const asOfOf = (replay: readonly ComputeCommand[]) => {
    const create = replay.find((x) => x.kind === "createDataflow");
    return create?.kind === "createDataflow" ? create.dataflow.asOf : undefined;
  };
  /** A batch of subscribe t1 from the replica's current incarnation. */
  const batch = (
    fake: Fake,
    replicaId: string,
    lower: bigint,
    upper: bigint,
    updates: Update[],
  ) => {
    const i = inc(fake, replicaId);
    i?.opts.onResponses(i.opts.epoch, [
      {
        kind: "subscribeResponse",
        id: "t1",
        response: { kind: "batch", lower, upper, result: { kind: "updates", updates } },
      },
    ]);
  };

  it("is replayed one below its frontier and keeps streaming, killing one replica and then both", async () => {
    const { c, fake } = setup();
    c.addReplica("c1", "u8", { computeUrl: "http://127.0.0.1:2" });
    const kill = (replicaId: string) => {
      const i = inc(fake, replicaId);
      i?.opts.onFailed(i.opts.epoch, new Error("killed"));
    };
    const got: SubscribeBatch[] = [];
    const stream = c.subscribe("c1", SUB);
    const reading = (async () => {
      for await (const b of stream) got.push(b);
    })();
    const settle = () => new Promise((r) => setImmediate(r));

    batch(fake, "u9", 100n, 5000n, [
      [["a"], 100n, 1],
      [["b"], 4000n, 1],
    ]);
    // u8 has not answered yet: it may still be reading its snapshot at the as-of.
    expect(c.frontiers("t1")).toEqual({ since: 100n, write: 5000n, reported: true });
    batch(fake, "u8", 100n, 3000n, [[["a"], 100n, 1]]);
    expect(c.frontiers("t1").since).toBe(4999n);
    expect(inc(fake, "u9")?.sent).toContainEqual({
      kind: "allowCompaction",
      id: "t1",
      frontier: 4999n,
    });

    // Kill u8: its replay rebuilds the subscribe where its inputs are still readable.
    kill("u8");
    expect(asOfOf(inc(fake, "u8")?.opts.replay() ?? [])).toBe(4999n);
    batch(fake, "u9", 5000n, 9000n, [[["c"], 6000n, 1]]);
    expect(c.frontiers("t1").since).toBe(4999n); // held for the rehydrating u8
    // Kill both: both come back at the held since, and the stream goes on from its frontier.
    kill("u9");
    kill("u8");
    expect(asOfOf(inc(fake, "u9")?.opts.replay() ?? [])).toBe(4999n);
    expect(asOfOf(inc(fake, "u8")?.opts.replay() ?? [])).toBe(4999n);
    // The snapshot at the as-of (everything up to 4999, consolidated) and the updates since.
    const snapshot: Update[] = [
      [["a"], 4999n, 1],
      [["b"], 4999n, 1],
    ];
    batch(fake, "u8", 4999n, 9500n, [...snapshot, [["c"], 6000n, 1], [["a"], 9200n, -1]]);
    batch(fake, "u9", 4999n, 9100n, [...snapshot, [["c"], 6000n, 1]]); // behind: adds nothing
    batch(fake, "u9", 9100n, 9800n, [[["a"], 9200n, -1]]);
    expect(c.frontiers("t1").since).toBe(9799n);
    await settle();
    expect(got.map((b) => [b.lower, b.upper])).toEqual([
      [100n, 5000n],
      [5000n, 9000n],
      [9000n, 9500n],
      [9500n, 9800n],
    ]);
    expect(got.map((b) => b.updates)).toEqual([
      [
        [["a"], 100n, 1],
        [["b"], 4000n, 1],
      ],
      [[["c"], 6000n, 1]],
      [[["a"], 9200n, -1]],
      [],
    ]);
    await c.close();
    await expect(reading).rejects.toThrow(/closed/);
  });

  it("holds its since for a replica added after it until that replica's first batch", async () => {
    const { c, fake } = setup();
    const stream = c.subscribe("c1", SUB);
    batch(fake, "u9", 100n, 500n, []);
    expect(c.frontiers("t1").since).toBe(499n);
    c.addReplica("c1", "u8", { computeUrl: "http://127.0.0.1:2" });
    expect(asOfOf(fake.incarnations[1]?.opts.replay() ?? [])).toBe(499n);
    batch(fake, "u9", 500n, 900n, []);
    expect(c.frontiers("t1").since).toBe(499n);
    await c.dropReplica("c1", "u8");
    expect(c.frontiers("t1").since).toBe(899n);
    // Ending the stream drops it on the replicas.
    for await (const b of stream) {
      expect(b.upper).toBe(500n);
      break;
    }
    expect(inc(fake, "u9")?.sent.at(-1)).toEqual({
      kind: "allowCompaction",
      id: "t1",
      frontier: null,
    });
    await c.close();
  });
});
