/**
 * Poison quarantine in the unified driver (`driver-quarantine.ts`, compute-client's rule from
 * `poison-quarantine.ts`) over in-memory fakes that report what they write: a dataflow a replica
 * dies on twice is quarantined — reported in `failures()` with the reason, dropped, and absent
 * from the next replay — while a dataflow some replica answered never is; a poison peek fails
 * with `PeekFailed`; a refused hello strikes nothing; the user's drop clears the failure.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type ComputeCommand, REFUSAL_TRAILER } from "@mzts/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { CollectionMissing, PeekFailed } from "./errors.js";
import { indexedView, ingestion, subscribeOf } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { unifiedCluster } from "./testdata/unified-cluster.js";
import type { UnifiedClusterController } from "./unified-cluster-controller.js";

const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:2",
} as const;

let open: UnifiedClusterController[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

/** Replica u1 connected, source u10 (u11); the fakes report every command they are written. */
async function setup() {
  const u = unifiedCluster(2n, 0, 60_000, { reportSent: true });
  const c = u.controller;
  open.push(c);
  c.addReplica("u1", twoPort);
  await flush();
  await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
  c.createIngestion("u10", ingestion("u11"));
  return { c, compute: u.computeFake };
}

const builds = (cs: readonly ComputeCommand[] | undefined, id: string) =>
  (cs ?? []).some(
    (x) =>
      x.kind === "createDataflow" &&
      [...x.dataflow.indexExports, ...x.dataflow.sinkExports].some((e) => e.id === id),
  );

describe("UnifiedClusterController: poison quarantine", () => {
  it("a dataflow one replica dies on twice is quarantined, dropped and left out of the replay", async () => {
    const { c, compute } = await setup();
    c.createDataflow(indexedView("u20", 0n, ["u11"])); // answered: never a suspect again
    compute.respond("u1", [{ kind: "frontiers", id: "u20", frontiers: { write: 1n } }]);
    c.createDataflow(indexedView("u21", 0n, ["u11"])); // the poison
    compute.fail("u1", "undecodable payload");
    await flush();
    expect(c.failures()).toEqual(new Map()); // one strike
    expect(builds(compute.current("u1")?.replay, "u21")).toBe(true);
    compute.fail("u1", "undecodable payload");
    await flush();
    expect([...c.failures().keys()]).toEqual(["u21"]);
    expect(c.failures().get("u21")).toMatch(/quarantined: replica u1 failed 2 times.*undecodable/);
    expect(c.hasCollection("u21")).toBe(false);
    const replay = compute.current("u1")?.replay;
    expect(compute.current("u1")?.epoch).toBe(3);
    expect(builds(replay, "u21")).toBe(false);
    expect(builds(replay, "u20")).toBe(true);
    // The user drops it: the failure is no longer reported (the id is already gone).
    expect(() => c.drop("u21")).toThrow(CollectionMissing);
    expect(c.failures()).toEqual(new Map());
  });

  it("a poison peek fails with PeekFailed and is not replayed", async () => {
    const { c, compute } = await setup();
    c.createDataflow(indexedView("u20", 0n, ["u11"]));
    compute.respond("u1", [{ kind: "frontiers", id: "u20", frontiers: { write: 5n } }]);
    const peek = c.peek({ target: "u20", timestamp: 4n });
    compute.fail("u1", "worker died");
    await flush();
    compute.fail("u1", "worker died");
    await expect(peek).rejects.toBeInstanceOf(PeekFailed);
    await expect(peek).rejects.toThrow(/quarantined/);
    await flush();
    expect((compute.current("u1")?.replay ?? []).some((x) => x.kind === "peek")).toBe(false);
    expect(c.status().pendingPeeks).toBe(0);
    expect(c.hasCollection("u20")).toBe(true);
  });

  it("a poison subscribe fails its stream", async () => {
    const { c, compute } = await setup();
    const it = c.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    compute.fail("u1", "crash");
    await flush();
    compute.fail("u1", "crash");
    await expect(it.next()).rejects.toThrow(/subscribe u30 failed: quarantined/);
    await flush();
    expect(builds(compute.current("u1")?.replay, "u30")).toBe(false);
  });

  it("a refused hello strikes nothing", async () => {
    const { c, compute } = await setup();
    c.createDataflow(indexedView("u21", 0n, ["u11"]));
    for (let i = 0; i < 3; i++) {
      compute.fail(
        "u1",
        new ConnectError("hello refused", Code.Unauthenticated, {
          [REFUSAL_TRAILER]: "unauthenticated",
        }),
      );
      await flush();
    }
    expect(c.replicas()[0]?.failures).toBe(3);
    expect(c.failures()).toEqual(new Map());
    expect(c.hasCollection("u21")).toBe(true);
  });
});
