/**
 * The README's `UnifiedClusterController` snippet, run as a test (style §12) with in-memory
 * replica connectors and a fake persist client behind the real `persistSinceHandleIo` — whose
 * lease re-open (`ReaderExpired`) is checked here too. Keep it in sync with README.md.
 */
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Frontier } from "@mzts/repr";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { PersistClient } from "../../../persist/dist/index.js";
import { type PersistClientLike, persistSinceHandleIo, UnifiedClusterController } from "./index.js";
import { createFakeConnector } from "./testdata/fake-connector.js";
import { indexedView, ingestion, subscribeOf } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";

const logging = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
const logger = pino({ level: "silent" });
const computeUrl = "http://127.0.0.1:1";
const storageUrl = "http://127.0.0.1:2";

/** A persist client whose handles start at 3 and can be made to lapse once. */
function fakePersist() {
  const log: string[] = [];
  let lapse = false;
  const persist: PersistClientLike = {
    openShard: async (shardId) => ({
      openSinceHandle: async (readerId) => {
        log.push(`openSinceHandle ${shardId} ${readerId}`);
        const h = {
          since: 3n as Frontier,
          downgradeSince: async (f: Frontier) => {
            if (lapse) {
              lapse = false;
              throw Object.assign(new Error("lease lapsed"), { name: "ReaderExpired" });
            }
            h.since = f;
          },
          expire: async () => {
            log.push(`expire ${shardId}`);
          },
        };
        return h;
      },
    }),
  };
  return { persist, log, lapseOnce: () => (lapse = true) };
}

describe("README: UnifiedClusterController", () => {
  it("runs the snippet", async () => {
    const computeFake = createFakeConnector<ComputeCommand, ComputeResponse>();
    const storageFake = createFakeConnector<StorageCommand, StorageResponse>();
    const connectUnifiedComputeReplica = computeFake.connector;
    const connectUnifiedStorageReplica = storageFake.connector;
    const { persist, log, lapseOnce } = fakePersist();

    const c = new UnifiedClusterController({
      clusterId: "u1",
      generation: 1n,
      logging,
      compactionWindowMs: 1n,
      connectors: { compute: connectUnifiedComputeReplica, storage: connectUnifiedStorageReplica },
      sinceHandles: persistSinceHandleIo(persist, "environmentd"),
      logger,
    });
    c.addReplica("u1", { layout: "two-port", computeUrl, storageUrl });
    expect(await c.openShards([{ id: "u11", shardId: "shard-u11" }])).toEqual(
      new Map([["u11", 3n]]),
    );
    c.createIngestion("u10", ingestion("u11"));
    c.createDataflow(indexedView("u20", 3n, ["u11"]));
    await flush();
    computeFake.respond("u1", [{ kind: "frontiers", id: "u20", frontiers: { write: 4n } }]);
    await c.waitForUpper("u20", 1n);
    const peeking = c.peek({ target: "u20", timestamp: 3n, timeoutMs: 5_000 });
    const sent = computeFake.current("u1")?.sent.find((x) => x.kind === "peek");
    if (sent?.kind !== "peek") throw new Error("no peek sent");
    computeFake.respond("u1", [
      { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [[[1n], 1]] } },
    ]);
    const { rows, replicaId } = await peeking;
    expect({ rows, replicaId }).toEqual({ rows: [[[1n], 1]], replicaId: "u1" });
    const subscribe = c.subscribe(subscribeOf("u30", 3n, ["u11"]));
    computeFake.respond("u1", [
      {
        kind: "subscribeResponse",
        id: "u30",
        response: { kind: "batch", lower: 3n, upper: 4n, result: { kind: "updates", updates: [] } },
      },
    ]);
    for await (const batch of subscribe) {
      expect(batch).toEqual({ lower: 3n, upper: 4n, updates: [] });
      break; // merged batches ({ lower, upper, updates }); breaking out drops it on the replicas
    }
    expect(computeFake.current("u1")?.sent.at(-1)).toEqual({
      kind: "allowCompaction",
      id: "u30",
      frontier: null,
    });
    expect(c.failures()).toEqual(new Map());

    // The since handle follows the subsource through the adapter; a lapsed lease is re-opened.
    storageFake.respond("u1", [{ kind: "frontierUpper", id: "u11", upper: 10n }]);
    computeFake.respond("u1", [
      { kind: "frontiers", id: "u20", frontiers: { write: 10n, input: 10n } },
    ]);
    lapseOnce();
    await c.maintain();
    expect(c.state.durableSince("u11")).toBe(9n);
    expect(log).toEqual([
      "openSinceHandle shard-u11 environmentd",
      "openSinceHandle shard-u11 environmentd",
    ]);
    await c.close();
    expect(computeFake.current("u1")?.state).toBe("closed");
  });

  it("the real persist client fits PersistClientLike (typecheck fails when it drifts)", () => {
    const fits = (p: PersistClient): PersistClientLike => p;
    expect(typeof fits).toBe("function");
  });
});
