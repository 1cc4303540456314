/**
 * Ingestion placement in the unified driver (`cluster-placement.ts` over storage-client's rule,
 * `ingestion-placement.ts`): a deterministic ingestion (a load generator) runs on every replica;
 * a single-replica one (injected: no connection kind is non-deterministic today) runs on the
 * smallest replica id only — live and in replays — and moves to the next replica when its
 * replica is dropped, paused with none left (storage-client's `paused` status and hints).
 */
import type { StorageCommand } from "@mzts/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { NO_REPLICA_HINT, REPLICA_DROPPED_HINT } from "./ingestion-placement.js";
import { ingestion } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { unifiedCluster } from "./testdata/unified-cluster.js";
import type { UnifiedClusterController } from "./unified-cluster-controller.js";

const at = (port: number) =>
  ({
    layout: "two-port",
    computeUrl: `http://127.0.0.1:${port}`,
    storageUrl: `http://127.0.0.1:${port + 1}`,
  }) as const;

let open: UnifiedClusterController[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

/** A cluster whose ingestion `u10` is single-replica (`u20` stays multi-replica). */
async function setup() {
  const u = unifiedCluster(2n, 0, 60_000, {
    placement: (d) => (d.sourceExports[0]?.id === "u11" ? "singleReplica" : "multiReplica"),
  });
  const { controller: c, storageFake: storage } = u;
  open.push(c);
  c.addReplica("u3", at(30));
  c.addReplica("u2", at(20));
  await flush();
  await c.openShards([
    { id: "u11", shardId: "shard-u11" },
    { id: "u21", shardId: "shard-u21" },
  ]);
  c.createIngestion("u10", ingestion("u11"));
  c.createIngestion("u20", ingestion("u21"));
  return { c, storage };
}

const runs = (cs: readonly StorageCommand[] | undefined) =>
  (cs ?? []).flatMap((x) => (x.kind === "runIngestion" ? [x.id] : []));

describe("UnifiedClusterController: ingestion placement", () => {
  it("an ingestion created with no replica is paused (storage-client's status and hint)", async () => {
    const u = unifiedCluster(2n);
    open.push(u.controller);
    await u.controller.openShards([{ id: "u11", shardId: "shard-u11" }]);
    u.controller.createIngestion("u10", ingestion("u11"));
    expect(u.controller.objectStatus("u10").status).toMatchObject({
      status: "paused",
      hints: [NO_REPLICA_HINT],
    });
  });

  it("a single-replica ingestion runs on the smallest replica id only, live and in replays", async () => {
    const { c, storage } = await setup();
    expect(runs(storage.current("u2")?.sent)).toEqual(["u10", "u20"]);
    expect(runs(storage.current("u3")?.sent)).toEqual(["u20"]);
    expect(c.state.placement("u11")).toEqual(["u2"]);
    // Reconnects replay it to its replica only.
    storage.fail("u3", "restart");
    storage.fail("u2", "restart");
    await flush();
    expect(runs(storage.current("u2")?.replay)).toEqual(["u10", "u20"]);
    expect(runs(storage.current("u3")?.replay)).toEqual(["u20"]);
    // Its frontier reports come from that replica; the drop goes to it only.
    storage.respond("u2", [{ kind: "frontierUpper", id: "u11", upper: 4n }]);
    expect(c.frontiers("u11").write).toBe(4n);
  });

  it("dropping its replica moves it to the next one at once; with none left it is paused", async () => {
    const { c, storage } = await setup();
    const u3 = storage.current("u3");
    await c.dropReplica("u2");
    expect(runs(u3?.sent)).toEqual(["u20", "u10"]); // moved: its commands go to u3 now
    expect(c.state.placement("u11")).toEqual(["u3"]);
    expect(c.objectStatus("u10").status).toBeUndefined(); // moved, not paused
    await c.dropReplica("u3");
    expect(c.state.placement("u11")).toEqual([]); // paused
    for (const id of ["u10", "u20"]) {
      expect(c.objectStatus(id).status).toMatchObject({
        status: "paused",
        hints: [REPLICA_DROPPED_HINT],
      });
    }
    c.addReplica("u4", at(40));
    await flush();
    expect(runs(storage.current("u4")?.replay)).toEqual(["u10", "u20"]);
    c.drop("u10");
    expect(storage.current("u4")?.sent.at(-1)).toEqual({
      kind: "allowCompaction",
      id: "u10",
      frontier: null,
    });
  });
});
