/**
 * The two `ClusterController`s answer the same (issue 14: "same observable results"): the legacy
 * adapter over the real compute and storage controllers and the unified driver over one
 * `ClusterState`, driven through the interface with identical replica traffic
 * (`src/testdata/cluster-controllers/controller-sides.ts`). Compared after every step: existence, since and write
 * frontier of every object, replicas (epoch, state, failures), pending peeks and every peek's
 * outcome (rows and answering replica, or the error's name); `openShards`' sinces; write-frontier
 * notifications. A random sequence of reports, compactions, peeks, reconnects and upkeep ticks
 * runs over a fixed set of objects, then everything is dropped. A third test injects a
 * difference (a compaction window off by one on the unified side) and checks it is caught.
 */

import { indexedView, ingestion } from "@mzts/controller-unified/testing";
import type { GlobalId, ReplicaId } from "@mzts/repr";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  controllerSides,
  observe,
  type PeekOutcome,
  peekOn,
  type Side,
} from "../testdata/cluster-controllers/controller-sides.js";
import { flush, stringify } from "../testdata/cluster-controllers/legacy-cluster.js";

const WINDOW = 2n;
const SHARDS = new Map([
  ["u11", "shard-u11"],
  ["u12", "shard-u12"],
]);
const IDS: GlobalId[] = ["u10", "u11", "u12", "u20", "u21"];
const REPLICAS: ReplicaId[] = ["u1", "u2"];
const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:1",
} as const;

type Op =
  | { kind: "upper"; replica: number; source: number; delta: number }
  | { kind: "report"; replica: number; index: number; delta: number; input: boolean }
  | { kind: "compact"; pick: number; delta: number }
  | { kind: "peek"; index: number; replica: number; answered: boolean }
  | { kind: "reconnect"; replica: number }
  | { kind: "tick" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("upper" as const),
    replica: fc.nat(1),
    source: fc.nat(1),
    delta: fc.nat(4),
  }),
  fc.record({
    kind: fc.constant("report" as const),
    replica: fc.nat(1),
    index: fc.nat(1),
    delta: fc.nat(4),
    input: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("compact" as const), pick: fc.nat(3), delta: fc.nat(3) }),
  fc.record({
    kind: fc.constant("peek" as const),
    index: fc.nat(1),
    replica: fc.nat(1),
    answered: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("reconnect" as const), replica: fc.nat(1) }),
  fc.constant({ kind: "tick" as const }),
);

/** Replays one workload on both sides, recording every difference. */
class Run {
  readonly differences: string[] = [];
  readonly #sides: [Side, Side];
  /** Per replica, what it last reported (uppers and compute writes only rise). */
  readonly #reported = new Map<string, bigint>();
  readonly #heard: [string[], string[]] = [[], []];

  constructor(sides: [Side, Side]) {
    this.#sides = sides;
    sides.forEach((s, i) => {
      s.c.onWriteFrontier((id) => this.#heard[i]?.push(id));
    });
  }

  async setUp(): Promise<void> {
    const opened = await this.#both(async (s) => {
      for (const r of REPLICAS) s.c.addReplica(r, twoPort);
      await flush();
      const sinces = await s.c.openShards([...SHARDS].map(([id, shardId]) => ({ id, shardId })));
      s.c.createIngestion("u10", ingestion("u11", "u12"));
      s.c.createDataflow(indexedView("u20", 0n, ["u11"]));
      s.c.createDataflow(indexedView("u21", 0n, ["u11", "u12"]));
      return sinces;
    });
    this.#same("openShards", opened);
    await this.#compare("setUp");
  }

  async apply(op: Op): Promise<void> {
    const replica = REPLICAS[("replica" in op ? op.replica : 0) % REPLICAS.length] ?? "u1";
    let outcomes: PeekOutcome[] | undefined;
    switch (op.kind) {
      case "upper": {
        const id = op.source === 0 ? "u11" : "u12";
        const upper = this.#rise(`${replica}/${id}`, op.delta);
        await this.#both(async (s) =>
          s.storageRespond(replica, { kind: "frontierUpper", id, upper }),
        );
        break;
      }
      case "report": {
        const id = op.index === 0 ? "u20" : "u21";
        const write = this.#rise(`${replica}/${id}`, op.delta);
        await this.#both(async (s) =>
          s.computeFake.respond(replica, [
            { kind: "frontiers", id, frontiers: { write, ...(op.input ? { input: write } : {}) } },
          ]),
        );
        break;
      }
      case "compact": {
        const id = (["u11", "u12", "u20", "u21"] as const)[op.pick % 4] ?? "u11";
        const [legacy] = this.#sides;
        const since = legacy.c.frontiers(id).since;
        if (since === null) break;
        await this.#both(async (s) => s.c.allowCompaction(id, since + BigInt(op.delta)));
        break;
      }
      case "peek": {
        const id = op.index === 0 ? "u20" : "u21";
        const [legacy] = this.#sides;
        const at = legacy.c.frontiers(id).since;
        if (at === null) break;
        const answer = op.answered
          ? { replicaId: replica, rows: [[at, 1] as [bigint, number]] }
          : undefined;
        outcomes = await this.#both((s) => peekOn(s, id, at, answer));
        this.#same(`peek ${id}@${at}`, outcomes);
        break;
      }
      case "reconnect":
        // Reports restart per incarnation; keeping the higher values is what replicas do.
        await this.#both(async (s) => s.reconnect(replica));
        break;
      case "tick":
        await this.#both((s) => s.upkeep());
        break;
    }
    await flush();
    await this.#compare(stringify(op));
  }

  async tearDown(): Promise<void> {
    await this.#both(async (s) => {
      s.c.drop("u21");
      s.c.drop("u20");
      s.c.drop("u10");
    });
    await this.#compare("drops");
    this.#same("write-frontier notifications", this.#heard);
  }

  #rise(key: string, delta: number): bigint {
    const next = (this.#reported.get(key) ?? 0n) + BigInt(delta);
    this.#reported.set(key, next);
    return next;
  }

  async #both<T>(f: (s: Side) => Promise<T>): Promise<[T, T]> {
    const [a, b] = this.#sides;
    return [await f(a), await f(b)];
  }

  async #compare(step: string): Promise<void> {
    await this.#both((s) => s.upkeep());
    this.#same(
      `after ${step}`,
      this.#sides.map((s) => observe(s, IDS)),
    );
  }

  #same(what: string, [legacy, unified]: readonly unknown[]): void {
    const l = stringify(legacy);
    const u = stringify(unified);
    if (l !== u) this.differences.push(`${what}:\n  legacy  ${l}\n  unified ${u}`);
  }
}

async function run(
  ops: readonly Op[],
  windows: [bigint, bigint] = [WINDOW, WINDOW],
): Promise<string[]> {
  const sides = await controllerSides(windows, SHARDS);
  const r = new Run(sides);
  try {
    await r.setUp();
    for (const op of ops) {
      await r.apply(op);
      if (r.differences.length > 0) return r.differences;
    }
    await r.tearDown();
    return r.differences;
  } finally {
    for (const s of sides) await s.close();
  }
}

const SCRIPT: Op[] = [
  { kind: "upper", replica: 0, source: 0, delta: 10 },
  { kind: "upper", replica: 0, source: 1, delta: 5 },
  { kind: "report", replica: 0, index: 0, delta: 10, input: true },
  { kind: "report", replica: 1, index: 1, delta: 5, input: true },
  { kind: "report", replica: 0, index: 1, delta: 4, input: true },
  { kind: "tick" },
  { kind: "peek", index: 0, replica: 1, answered: true },
  { kind: "peek", index: 1, replica: 0, answered: false },
  { kind: "compact", pick: 2, delta: 1 },
  { kind: "reconnect", replica: 0 },
  { kind: "upper", replica: 0, source: 0, delta: 3 },
  { kind: "report", replica: 0, index: 0, delta: 3, input: true },
  { kind: "peek", index: 0, replica: 0, answered: true },
  { kind: "tick" },
];

describe("ClusterController: the legacy adapter and the unified driver answer the same", () => {
  it("on the deterministic scenario (frontiers, sinces, replicas, peek answers, drops)", async () => {
    expect(await run(SCRIPT)).toEqual([]);
  }, 30_000);

  it("under random reports, compactions, peeks, reconnects and ticks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 30 }), async (ops) => {
        expect(await run(ops)).toEqual([]);
      }),
      { numRuns: 15 },
    );
  }, 120_000);

  it("an injected difference is caught (unified compaction window off by one)", async () => {
    const differences = await run(SCRIPT, [WINDOW, WINDOW + 1n]);
    expect(differences.length).toBeGreaterThan(0);
    expect(differences[0]).toMatch(/"since"/);
  }, 30_000);
});
