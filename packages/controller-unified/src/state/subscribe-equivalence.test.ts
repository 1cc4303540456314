/**
 * Subscribes on both paths under identical replica traffic (the same in-memory fakes): the legacy
 * compute controller (compute-client's instance, `testdata/legacy-cluster.ts`) and the unified
 * driver (`testdata/unified-cluster.ts`) yield the same merged batches, rebuild the subscribe at the same as-of in a
 * reconnected replica's replay, route a targeted subscribe to the same replica only, and send the
 * same drop when the consumer breaks out. Random batch interleavings of two replicas (ahead,
 * behind, overlapping, a reconnect in between) are compared batch by batch.
 */
import type { ComputeCommand, ComputeResponse, DataflowDescription } from "@mzts/protocol";
import type { ReplicaId, Update } from "@mzts/repr";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClusterSubscribeBatch } from "./cluster-controller.js";
import type { FakeConnector } from "./testdata/fake-connector.js";
import { CLUSTER, LegacyCluster } from "./testdata/legacy-cluster.js";
import { ingestion, subscribeOf } from "./testdata/objects.js";
import { flush, stringify } from "./testdata/scenario.js";
import { unifiedCluster } from "./testdata/unified-cluster.js";

const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:2",
} as const;
const REPLICAS = ["u1", "u2"] as const;

/** One path: how to open a subscribe, its compute fake, a reconnect. */
interface Side {
  subscribe(
    desc: DataflowDescription,
    options: { readonly targetReplica?: ReplicaId },
  ): AsyncIterable<ClusterSubscribeBatch>;
  hasCollection(id: string): boolean;
  readonly computeFake: FakeConnector<ComputeCommand, ComputeResponse>;
  reconnect(replicaId: ReplicaId): void;
  close(): Promise<void>;
}

async function legacySide(): Promise<Side> {
  const l = await LegacyCluster.create(2n);
  for (const r of REPLICAS) l.addReplica(r);
  await flush();
  return {
    subscribe: (desc, options) => l.compute.subscribe(CLUSTER, desc, options),
    hasCollection: (id) => {
      try {
        l.compute.frontiers(id);
        return true;
      } catch {
        return false;
      }
    },
    computeFake: l.computeFake,
    reconnect: (r) => l.reconnect(r),
    close: () => l.close(),
  };
}

async function unifiedSide(): Promise<Side> {
  const u = unifiedCluster(2n);
  const c = u.controller;
  for (const r of REPLICAS) c.addReplica(r, twoPort);
  await flush();
  await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
  c.createIngestion("u10", ingestion("u11"));
  return {
    subscribe: (desc, options) => c.subscribe(desc, options),
    hasCollection: (id) => c.hasCollection(id),
    computeFake: u.computeFake,
    // One stream failing fails the incarnation: the storage stream is closed with it.
    reconnect: (r) => u.computeFake.fail(r, "reconnect"),
    close: () => c.close(),
  };
}

/** One step of replica traffic: a batch `[lower, upper)` from a replica, or its reconnect. */
type Step =
  | {
      readonly kind: "batch";
      readonly replica: 0 | 1;
      readonly lower: number;
      readonly len: number;
    }
  | { readonly kind: "reconnect"; readonly replica: 0 | 1 };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      replica: fc.constantFrom(0 as const, 1 as const),
      lower: fc.nat({ max: 12 }),
      len: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reconnect" as const),
      replica: fc.constantFrom(0 as const, 1 as const),
    }),
  },
);

/** The deterministic data both replicas compute: one update per time. */
const updatesIn = (lower: number, upper: number): Update[] =>
  Array.from({ length: upper - lower }, (_, i) => [[BigInt(lower + i)], BigInt(lower + i), 1]);

/** The as-of a replica's current incarnation was told to build `id` at (its replay). */
function replayedAsOf(side: Side, replica: string, id: string): bigint | null | undefined {
  const c = (side.computeFake.current(replica)?.replay ?? []).find(
    (x): x is Extract<ComputeCommand, { kind: "createDataflow" }> =>
      x.kind === "createDataflow" && x.dataflow.sinkExports[0]?.id === id,
  );
  return c?.dataflow.asOf;
}

/** Runs `steps` on one side; returns what it yields and saw (comparable across sides). */
async function drive(
  side: Side,
  desc: DataflowDescription,
  steps: readonly Step[],
  targetReplica?: string,
): Promise<unknown> {
  const it = side
    .subscribe(desc, targetReplica === undefined ? {} : { targetReplica })
    [Symbol.asyncIterator]();
  const got: ClusterSubscribeBatch[] = [];
  const asOfs: unknown[] = [];
  const id = desc.sinkExports[0]?.id ?? "";
  for (const step of steps) {
    const replica = REPLICAS[step.replica];
    if (step.kind === "reconnect") {
      side.reconnect(replica);
      await flush();
      asOfs.push([replica, replayedAsOf(side, replica, id)]);
      continue;
    }
    const upper = step.lower + step.len;
    const r: ComputeResponse = {
      kind: "subscribeResponse",
      id,
      response: {
        kind: "batch",
        lower: BigInt(step.lower),
        upper: BigInt(upper),
        result: { kind: "updates", updates: updatesIn(step.lower, upper) },
      },
    };
    side.computeFake.respond(replica, [r]);
    await flush();
  }
  // Drain what was emitted: one more batch far ahead ends the wait deterministically.
  const last = 20;
  for (const r of targetReplica === undefined ? REPLICAS : [targetReplica]) {
    side.computeFake.respond(r, [
      {
        kind: "subscribeResponse",
        id,
        response: {
          kind: "batch",
          lower: 0n,
          upper: BigInt(last),
          result: { kind: "updates", updates: updatesIn(0, last) },
        },
      },
    ]);
  }
  for (;;) {
    const n = await it.next();
    if (n.done === true) break;
    got.push(n.value);
    if (n.value.upper === BigInt(last)) break;
  }
  await it.return?.();
  await flush();
  const sentTo = REPLICAS.map((r) => [
    r,
    (side.computeFake.current(r)?.sent ?? [])
      .filter((c) => (c.kind === "allowCompaction" || c.kind === "schedule") && c.id === id)
      .map((c) => (c.kind === "allowCompaction" ? `compact:${String(c.frontier)}` : c.kind)),
  ]);
  return { got, asOfs, sentTo, live: side.hasCollection(id) };
}

async function compare(steps: readonly Step[], targetReplica?: string): Promise<[string, string]> {
  const sides = [await legacySide(), await unifiedSide()] as const;
  try {
    const desc = subscribeOf("u30", 0n, ["u11"]);
    const [legacy, unified] = sides;
    const l = await drive(legacy, desc, steps, targetReplica);
    const u = await drive(unified, desc, steps, targetReplica);
    return [stringify(l), stringify(u)];
  } finally {
    for (const s of sides) await s.close();
  }
}

describe("subscribes: the legacy compute controller and the unified driver answer the same", () => {
  it("on a scripted interleaving with a reconnect", async () => {
    const steps: Step[] = [
      { kind: "batch", replica: 0, lower: 0, len: 3 },
      { kind: "batch", replica: 1, lower: 0, len: 2 },
      { kind: "batch", replica: 1, lower: 2, len: 3 },
      { kind: "reconnect", replica: 0 },
      { kind: "batch", replica: 0, lower: 4, len: 4 },
    ];
    const [l, u] = await compare(steps);
    expect(u).toBe(l);
    expect(JSON.parse(u).got.length).toBeGreaterThan(2);
  }, 30_000);

  it("targeted at u2", async () => {
    const steps: Step[] = [
      { kind: "batch", replica: 0, lower: 0, len: 5 },
      { kind: "batch", replica: 1, lower: 0, len: 2 },
      { kind: "reconnect", replica: 1 },
      { kind: "reconnect", replica: 0 },
    ];
    const [l, u] = await compare(steps, "u2");
    expect(u).toBe(l);
  }, 30_000);

  it("under random interleavings of two replicas' batches and reconnects", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 12 }), async (steps) => {
        const [l, u] = await compare(steps);
        expect(u).toBe(l);
      }),
      { numRuns: 15, seed: 14 },
    );
  }, 120_000);
});
