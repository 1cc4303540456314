/**
 * `ShadowedClusterController` over the two real controllers with in-memory replicas: in
 * `shadow` the legacy adapter (compute-client + storage-client on controller-unified's fake
 * connectors, tapped) drives the replicas and the unified driver runs on mirrors and dry since
 * handles; in `live` the other way round. Under the same traffic the derived states and the
 * peeks compare consistent; an injected difference is counted once; a call that fails on the
 * shadow only is an inconsistency, never the caller's error; the shadow touches no since handle.
 */
import type { ComparisonRecord } from "@mzts/compute-client";
import { createComputeController } from "@mzts/compute-client";
import type { ReplicaConnector } from "@mzts/controller-unified";
import {
  type ClusterController,
  type SinceHandleIo,
  UnifiedClusterController,
} from "@mzts/controller-unified/state";
import {
  createFakeConnector,
  fakeSinceHandles,
  indexedView,
  ingestion,
} from "@mzts/controller-unified/testing";
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Frontier } from "@mzts/repr";
import { createStorageController, PersistReadHolds } from "@mzts/storage-client";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { LegacyClusterController } from "../../cluster-controllers/legacy-cluster-controller.js";
import type { ShardUpperSource } from "../shards.js";
import { DrySinces, dryPersist, drySinceHandleIo } from "./dry-persist.js";
import { MirrorHub } from "./mirror-replicas.js";
import { ShadowedClusterController } from "./shadowed-controller.js";
import type { StateSnapshot } from "./state-comparison.js";

const CLUSTER = "u1";
const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
const WINDOW = 2n;
const logger = pino({ level: "silent" });
const flush = () => new Promise((r) => setImmediate(r));
const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:1",
} as const;

type Fake<C, R> = ReturnType<typeof createFakeConnector<C, R>>;
const asConnector = <C, R>(f: Fake<C, R>) => f.connector as ReplicaConnector<C, R>;

/** A legacy controller on `compute`/`storage` connectors, its read holds on `persist`'s handles. */
function legacy(
  connectors: {
    compute: ReplicaConnector<ComputeCommand, ComputeResponse>;
    storage: ReplicaConnector<StorageCommand, StorageResponse>;
  },
  sinces: DrySinces,
  uppers: ShardUpperSource,
) {
  const compute = createComputeController({
    generation: 1n,
    logger,
    registry: new Registry(),
    compactionWindowMs: WINDOW,
  });
  compute.createInstance(CLUSTER, LOGGING, { connector: connectors.compute });
  const storage = createStorageController({
    generation: 1n,
    logger,
    maintenanceIntervalMs: 3_600_000,
  });
  storage.createInstance(CLUSTER, { connector: connectors.storage });
  const readHolds = new PersistReadHolds({
    persist: dryPersist(sinces, uppers),
    readerId: "environmentd",
    compactionWindowMs: WINDOW,
    tickMs: 0,
    logger,
    registry: new Registry(),
  });
  const controller = new LegacyClusterController({
    clusterId: CLUSTER,
    compute,
    storage,
    readHolds,
  });
  const close = async () => {
    await controller.close();
    await readHolds.close();
    await compute.close();
    await storage.close();
  };
  return { controller, close };
}

function unified(
  connectors: {
    compute: ReplicaConnector<ComputeCommand, ComputeResponse>;
    storage: ReplicaConnector<StorageCommand, StorageResponse>;
  },
  sinceHandles: SinceHandleIo = fakeSinceHandles(),
) {
  return new UnifiedClusterController({
    clusterId: CLUSTER,
    generation: 1n,
    logging: LOGGING,
    compactionWindowMs: WINDOW,
    connectors,
    sinceHandles,
    logger,
    tickIntervalMs: 0,
    maintenance: { heartbeatMs: 60_000 },
    now: () => 0,
  });
}

/** One composite in `stage` over fake replicas (the authoritative's) and mirrors (the shadow's). */
function composite(stage: "shadow" | "live", durable: ReadonlyMap<string, Frontier> = new Map()) {
  const hub = new MirrorHub(logger);
  const computeFake = createFakeConnector<ComputeCommand, ComputeResponse>();
  const storageFake = createFakeConnector<StorageCommand, StorageResponse>();
  const tapped = {
    compute: hub.tap("compute", asConnector(computeFake)),
    storage: hub.tap("storage", asConnector(storageFake)),
  };
  const mirrors = {
    compute: hub.mirror<ComputeCommand, ComputeResponse>("compute"),
    storage: hub.mirror<StorageCommand, StorageResponse>("storage"),
  };
  // The shards' uppers, as persist has them (the replica's storage reports write them).
  const shardUppers = new Map<string, Frontier>();
  const uppers: ShardUpperSource = {
    openShard: async (shardId) => ({ upper: async () => shardUppers.get(shardId) ?? 0n }),
  };
  const drySinces = new DrySinces();
  const realSinces = new DrySinces(); // the authoritative's "persist" in this test
  const authSinceHandles = fakeSinceHandles(durable);
  for (const [shard, since] of durable) realSinces.seed(shard, since);
  let authoritative: ClusterController;
  let shadow: ClusterController;
  const closers: (() => Promise<void>)[] = [];
  let upkeep: () => Promise<void>;
  if (stage === "shadow") {
    const l = legacy(tapped, realSinces, uppers);
    authoritative = l.controller;
    const u = unified(mirrors, drySinceHandleIo(drySinces));
    shadow = u;
    closers.push(l.close, () => u.close());
    upkeep = async () => {
      await l.controller.upkeep();
      await u.maintain();
    };
  } else {
    const u = unified(tapped, authSinceHandles);
    authoritative = u;
    const l = legacy(mirrors, drySinces, uppers);
    shadow = l.controller;
    closers.push(() => u.close(), l.close);
    upkeep = async () => {
      await u.maintain();
      await l.controller.upkeep();
    };
  }
  const records: ComparisonRecord[] = [];
  let perturb: ((s: StateSnapshot) => StateSnapshot) | undefined;
  const c = new ShadowedClusterController({
    authoritative,
    shadow,
    hub,
    drySinces,
    compares: true,
    compareEveryMs: 0,
    windowMs: 1000,
    onComparison: (r) => records.push(r),
    perturb: (s) => perturb?.(s) ?? s,
    log: logger,
  });
  return {
    c,
    hub,
    computeFake,
    storageFake,
    records,
    authSinceHandles,
    shardUppers,
    upkeep,
    setPerturb: (p: typeof perturb) => {
      perturb = p;
    },
    close: async () => {
      await c.close();
      for (const f of closers) await f();
    },
  };
}

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open) await o.close();
  open = [];
});

/** The workload: a replica, an ingestion with two subsources, an index on one, its traffic. */
async function workload(t: ReturnType<typeof composite>) {
  t.c.addReplica("u2", twoPort);
  await flush();
  await t.c.openShards([
    { id: "u11", shardId: "shard-u11" },
    { id: "u12", shardId: "shard-u12" },
  ]);
  t.c.createIngestion("u10", ingestion("u11", "u12"));
  t.c.createDataflow(indexedView("u20", 0n, ["u11"]));
  await flush();
  for (const upper of [3n, 5n, 8n]) {
    t.shardUppers.set("shard-u11", upper);
    t.shardUppers.set("shard-u12", upper);
    t.storageFake.respond("u2", [{ kind: "frontierUpper", id: "u11", upper }]);
    t.storageFake.respond("u2", [{ kind: "frontierUpper", id: "u12", upper }]);
    t.computeFake.respond("u2", [
      { kind: "frontiers", id: "u20", frontiers: { write: upper, input: upper } },
    ]);
    await flush();
  }
  await t.upkeep();
  await flush();
}

/** Peeks u20 at 6 through the composite and answers the authoritative's peek on the replica. */
async function peekAnswered(t: ReturnType<typeof composite>) {
  const answer = t.c.peek({ target: "u20", timestamp: 6n, timeoutMs: 5_000 });
  await flush();
  const sent = t.computeFake.current("u2")?.sent ?? [];
  const uuid = sent.flatMap((c) => (c.kind === "peek" ? [c.peek.uuid] : [])).at(-1);
  expect(uuid).toBeDefined();
  t.computeFake.respond("u2", [
    {
      kind: "peekResponse",
      uuid: uuid ?? "",
      response: { kind: "rows", rows: [[[7n], 2]] },
    },
  ]);
  const a = await answer;
  await flush();
  return a;
}

describe("ShadowedClusterController", () => {
  for (const stage of ["shadow", "live"] as const) {
    it(`${stage}: the same traffic compares consistent (derived state, replays, peeks)`, async () => {
      const t = composite(stage);
      open.push(t);
      expect(t.c.path).toBe(stage === "shadow" ? "legacy" : "unified");
      await workload(t);
      const found = t.c.compareNow(0);
      expect(found).toEqual({ inconsistent: [], open: 0 });
      expect(t.records.map((r) => r.result)).toEqual(["consistent"]);
      // Both sides know the collections and agree on their frontiers.
      expect(t.c.shadow.frontiers("u20")).toEqual(t.c.authoritative.frontiers("u20"));
      expect(t.c.shadow.frontiers("u11").write).toBe(8n);
      const a = await peekAnswered(t);
      expect(a.rows).toEqual([[[7n], 2]]);
      const peek = t.records.at(-1);
      expect(peek?.result).toBe("consistent");
      expect(peek?.latencyMs.legacy).toBeDefined();
      expect(peek?.latencyMs.unified).toBeDefined();
      expect(t.hub.counters).toEqual({ overflowed: 0, unpaired: 0 });
    });
  }

  for (const stage of ["shadow", "live"] as const) {
    it(`${stage}: a subscribe runs on both; ending the caller's drops the shadow's too`, async () => {
      const t = composite(stage);
      open.push(t);
      await workload(t);
      const desc = {
        ...indexedView("t1", 8n, ["u11"]),
        indexExports: [],
        sinkExports: [{ id: "t1", fromId: "t1", connection: { kind: "subscribe" as const } }],
      };
      const stream = t.c.subscribe(desc);
      await flush();
      expect(t.c.shadow.frontiers("t1").since).toBe(t.c.authoritative.frontiers("t1").since);
      t.computeFake.respond("u2", [
        {
          kind: "subscribeResponse",
          id: "t1",
          response: {
            kind: "batch",
            lower: 8n,
            upper: 9n,
            result: { kind: "updates", updates: [] },
          },
        },
      ]);
      for await (const batch of stream) {
        expect(batch.upper).toBe(9n);
        break; // the caller ends it: both sides drop it
      }
      await flush();
      const dropped = (c: ClusterController) => {
        try {
          return c.frontiers("t1").since === null;
        } catch {
          return true; // forgotten
        }
      };
      expect(dropped(t.c.authoritative)).toBe(true);
      expect(dropped(t.c.shadow)).toBe(true);
      expect(t.records.filter((r) => r.result === "inconsistent")).toEqual([]);
    });
  }

  it("counts an injected difference exactly once, after the convergence window", async () => {
    const t = composite("shadow");
    open.push(t);
    await workload(t);
    t.setPerturb((s) => ({ ...s, failures: new Map([["u20", "injected"]]) }));
    expect(t.c.compareNow(0).inconsistent).toEqual([]);
    expect(t.c.compareNow(500).inconsistent).toEqual([]);
    expect(t.c.compareNow(1000).inconsistent).toEqual([
      "failure u20: legacy none, unified injected",
    ]);
    expect(t.c.compareNow(2000).inconsistent).toEqual([]);
    expect(t.records.map((r) => r.result)).toEqual(["inconsistent"]);
    t.setPerturb(undefined);
    t.c.compareNow(3000);
    expect(t.records.map((r) => r.result)).toEqual(["inconsistent", "consistent"]);
  });

  it("a call failing on the shadow only is an inconsistency, never the caller's error", async () => {
    const t = composite("shadow");
    open.push(t);
    await workload(t);
    t.c.shadow.drop("u20"); // behind the composite's back
    await flush();
    expect(() => t.c.allowCompaction("u20", 3n)).not.toThrow();
    const r = t.records.at(-1);
    expect(r).toMatchObject({ result: "inconsistent", errors: ["unified"] });
    expect(r?.difference).toMatch(
      /^allowCompaction: only the unified controller failed: CollectionMissing/,
    );
    // The authoritative's own errors are still the caller's.
    expect(() => t.c.allowCompaction("u99", 3n)).toThrow(/u99/);
  });

  it("a peek the shadow fails is counted inconsistent; the caller gets the authoritative answer", async () => {
    const t = composite("shadow");
    open.push(t);
    await workload(t);
    t.c.shadow.drop("u20"); // behind the composite's back
    const a = await peekAnswered(t);
    expect(a.rows).toEqual([[[7n], 2]]);
    await flush();
    const r = t.records.at(-1);
    expect(r).toMatchObject({ result: "inconsistent", errors: ["unified"] });
    expect(r?.difference).toMatch(/^peek: the unified peek failed: /);
  });

  for (const stage of ["shadow", "live"] as const) {
    it(`${stage}: the shadow starts from the authoritative's durable sinces, on dry handles`, async () => {
      const t = composite(stage, new Map([["shard-u11", 4n]]));
      open.push(t);
      t.c.addReplica("u2", twoPort);
      await flush();
      const sinces = await t.c.openShards([{ id: "u11", shardId: "shard-u11" }]);
      expect(sinces.get("u11")).toBe(4n);
      t.c.createIngestion("u10", ingestion("u11"));
      expect(t.c.shadow.frontiers("u11").since).toBe(4n);
      expect(t.c.authoritative.frontiers("u11").since).toBe(4n);
      if (stage === "live") {
        // Only the authoritative unified controller opened a handle.
        expect(t.authSinceHandles.calls).toEqual(["open shard-u11"]);
      }
    });
  }
});
