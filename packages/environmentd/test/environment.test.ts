/**
 * environmentd end to end: a real environment (catalog, orchestrator, controllers) with real
 * clusterd replicas, driven through the API server on both ports.
 *
 * One scenario (processes are expensive): a cluster with one replica, a deterministic auction
 * source (10 ticks), an index on its bids; peeks over gRPC (h2c) and Connect JSON (HTTP/1.1),
 * checked against each other, against the data's invariants and against the shard contents;
 * error codes; status; then a restart that adopts the replica and answers the same peek, while
 * the old catalog handle is fenced.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { PhaseSet } from "@mzts/flags";
import { createPersist } from "@mzts/persist";
import { type EnvironmentPeekResponse, environmentCodecs } from "@mzts/protocol";
import { EnvironmentService, environmentV1 } from "@mzts/protocol/wire";
import { compareRows, type Row } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../src/api/server.js";
import type { Catalog } from "../src/catalog/catalog.js";
import { StaleGeneration } from "../src/catalog/errors.js";
import { openSqliteCatalog } from "../src/catalog/sqlite.js";
import { createEnvironment } from "../src/environment.js";

const START = 1_700_000_000_000n;
const TICK_MS = 100;
const TICKS = 10n;
const FINAL_UPPER = START + TICKS * BigInt(TICK_MS);

const logger = pino({ level: "warn" });
/** The flags, as a function of the cluster (style §16: read once per replica start). */
let serversOn = false;
const phases = (clusterId: string) => PhaseSet.of(clusterId, { servers: serversOn });
const c = environmentCodecs;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

async function start(dataDir: string, catalog?: Catalog) {
  const registry = new Registry();
  const env = await createEnvironment({
    dataDir,
    phaseFlags: phases,
    logger,
    registry,
    controllerAbsentTimeoutMs: 30_000,
    ...(catalog === undefined ? {} : { catalog }),
  });
  let stopped = false;
  const api = await startApiServer({ environment: env, registry, logger });
  const stop = async (keepReplicas = false) => {
    if (stopped) return;
    stopped = true;
    await api.close();
    await env.close({ keepReplicas });
  };
  cleanup.push(() => stop(false));
  const client = createClient(EnvironmentService, createGrpcTransport({ baseUrl: api.grpcUrl }));
  return { env, api, client, stop, registry };
}

/** POSTs Connect JSON over HTTP/1.1, as curl would. */
async function postJson(api: ApiServer, method: string, body: unknown) {
  const res = await fetch(`${api.httpUrl}/mz.environment.v1.EnvironmentService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as JsonValue };
}

async function until(what: string, f: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sortRows(rows: EnvironmentPeekResponse["rows"]) {
  return [...rows].sort((a, b) => compareRows(a[0], b[0]));
}

async function expectCode(p: Promise<unknown>, code: Code, text: string) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  expect((e as ConnectError).code).toBe(code);
  expect((e as ConnectError).rawMessage).toContain(text);
}

describe("environmentd", () => {
  it("serves DDL and peeks on both ports, reports status, and survives a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-envd-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const catalogPath = join(dir, "catalog.sqlite");
    const oldCatalog = openSqliteCatalog({ path: catalogPath });
    cleanup.push(() => oldCatalog.close());
    const first = await start(dir, oldCatalog);
    const { client, api } = first;
    expect(first.env.generation).toBe(1n);

    // DDL over gRPC.
    await client.createCluster({ name: "c1" });
    const replica = await client.createReplica({ cluster: "c1", name: "r1", size: 2 });
    const source = c.createSourceResponse.fromProto(
      await client.createSource(
        c.createSourceRequest.toProto({
          name: "auction",
          cluster: "c1",
          loadGenerator: {
            kind: "loadGenerator",
            generator: { kind: "auction" },
            seed: 42n,
            tickIntervalMs: TICK_MS,
            deterministic: { startTimeMs: START, maxTicks: TICKS },
          },
        }),
      ),
    );
    expect(source.subsources.map((s) => s.name)).toEqual([
      "auction_organizations",
      "auction_users",
      "auction_accounts",
      "auction_auctions",
      "auction_bids",
    ]);
    const bidsId = source.subsources[4]?.id ?? "";
    await client.createIndex({ name: "bids_idx", cluster: "c1", on: "auction_bids", key: [0] });

    // Listing over Connect JSON (HTTP/1.1).
    const listed = await postJson(api, "ListClusters", {});
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({
      clusters: [
        {
          id: expect.any(String),
          name: "c1",
          replicas: [{ id: replica.id, name: "r1", size: 2 }],
          introspectionIntervalMs: 1000,
        },
      ],
    });

    // Wait for the source to finish (its shards close after the last tick).
    await until("the bids shard to close", async () => first.env.storage.frontier(bidsId) === null);

    // Peek without a timestamp: the freshest complete time is the final upper - 1.
    const grpcPeek = c.peekResponse.fromProto(await client.peek({ object: "bids_idx" }));
    expect(grpcPeek.timestamp).toBe(FINAL_UPPER - 1n);
    expect(grpcPeek.rows.length).toBeGreaterThan(0);
    for (const [row, count] of grpcPeek.rows) {
      expect(row).toHaveLength(5); // id, buyer, auction_id, amount, bid_time
      expect(count).toBe(1); // bid ids are unique
    }
    // Peeking the subsource by name uses its index: same answer.
    const bySubsource = c.peekResponse.fromProto(
      await client.peek({ object: "auction_bids", timestamp: grpcPeek.timestamp }),
    );
    expect(sortRows(bySubsource.rows)).toEqual(sortRows(grpcPeek.rows));
    // A peek answered by one named replica: the same answer; an unknown replica is NotFound.
    const byReplica = c.peekResponse.fromProto(
      await client.peek({ object: "bids_idx", timestamp: grpcPeek.timestamp, replica: "r1" }),
    );
    expect(sortRows(byReplica.rows)).toEqual(sortRows(grpcPeek.rows));
    // Every answer names its replica (the only one here); a wrong cluster is refused.
    expect([grpcPeek.replica, byReplica.replica]).toEqual(["r1", "r1"]);
    expect(byReplica.replicaId).toMatch(/^u\d+$/);
    await expectCode(
      client.peek({ object: "bids_idx", cluster: "other" }),
      Code.InvalidArgument,
      "bids_idx is on cluster c1; leave it unset or name c1",
    );
    await expectCode(
      client.peek({ object: "bids_idx", replica: "r9" }),
      Code.NotFound,
      'unknown replica "r9" in cluster "c1"',
    );

    // The same peek over Connect JSON.
    const jsonPeek = await postJson(api, "Peek", {
      object: "bids_idx",
      timestamp: `${grpcPeek.timestamp}`,
    });
    expect(jsonPeek.status).toBe(200);
    const fromJsonPeek = c.peekResponse.fromProto(
      fromJson(environmentV1.PeekResponseSchema, jsonPeek.json),
    );
    expect(sortRows(fromJsonPeek.rows)).toEqual(sortRows(grpcPeek.rows));

    // An earlier time sees a strict prefix of the bids.
    const early = c.peekResponse.fromProto(
      await client.peek({ object: "bids_idx", timestamp: START + 3n * BigInt(TICK_MS) }),
    );
    expect(early.rows.length).toBeLessThan(grpcPeek.rows.length);
    const all = new Set(grpcPeek.rows.map(([r]) => JSON.stringify(r, big)));
    for (const [r] of early.rows) expect(all.has(JSON.stringify(r, big))).toBe(true);

    // Against the shard itself (persist).
    const reference = await shardContents(
      join(dir, "persist"),
      oldCatalog,
      "auction",
      4,
      grpcPeek.timestamp,
    );
    expect(reference.length).toBeGreaterThan(0);
    expect(sortRows(grpcPeek.rows)).toEqual(sortRows(reference));

    // A materialized view (count of bids per auction) with an index on it.
    await client.createMaterializedView(
      c.createMaterializedViewRequest.toProto({
        name: "bid_counts",
        cluster: "c1",
        plan: {
          kind: "reduce",
          input: { kind: "get", id: bidsId, arity: 5 },
          groupKey: [2],
          aggregates: [{ func: "count" }],
        },
      }),
    );
    await client.createIndex({ name: "bid_counts_idx", cluster: "c1", on: "bid_counts", key: [0] });
    const counts = c.peekResponse.fromProto(
      await client.peek({ object: "bid_counts", timestamp: grpcPeek.timestamp }),
    );
    const expected = new Map<string, [Row, number]>();
    for (const [row] of grpcPeek.rows) {
      const k = `${row[2]}`;
      const prev = expected.get(k)?.[0][1] as bigint | undefined;
      expected.set(k, [[row[2] ?? null, (prev ?? 0n) + 1n], 1]);
    }
    expect(sortRows(counts.rows)).toEqual(sortRows([...expected.values()]));

    // Subscribe (server stream): the snapshot at asOf plus the changes up to upTo add up to the
    // peek at upTo - 1.
    const asOf = START + 3n * BigInt(TICK_MS);
    const upTo = START + 6n * BigInt(TICK_MS);
    const sums = new Map<string, [Row, number]>();
    const uppers: Array<bigint | null> = [];
    for await (const m of client.subscribe({ object: "auction_bids", asOf, upTo })) {
      const batch = c.subscribeResponse.fromProto(m);
      uppers.push(batch.upper);
      for (const [row, time, diff] of batch.updates) {
        expect(time >= asOf && time < upTo).toBe(true);
        const k = JSON.stringify(row, big);
        sums.set(k, [row, (sums.get(k)?.[1] ?? 0) + Number(diff)]);
      }
    }
    expect(uppers.at(-1)).toBeNull();
    const atUpTo = c.peekResponse.fromProto(
      await client.peek({ object: "bids_idx", timestamp: upTo - 1n }),
    );
    expect(sortRows([...sums.values()].filter(([, n]) => n !== 0))).toEqual(sortRows(atUpTo.rows));

    // Errors.
    await expectCode(client.peek({ object: "nope" }), Code.NotFound, "nope");
    await expectCode(
      client.createReplica({ cluster: "c1", name: "r2", size: 0 }),
      Code.InvalidArgument,
      "size",
    );
    await expectCode(client.createCluster({ name: "c1" }), Code.AlreadyExists, "c1");
    // Nothing is compacted while the source is closed: a read before the data is valid and empty.
    const beforeData = c.peekResponse.fromProto(
      await client.peek({ object: "bids_idx", timestamp: 1n }),
    );
    expect(beforeData).toMatchObject({ rows: [], timestamp: 1n, replica: "r1" });
    await expectCode(
      client.createIndex({ name: "bad_idx", cluster: "c1", on: "auction_bids", key: [7] }),
      Code.InvalidArgument,
      "key[0]",
    );
    await expectCode(
      client.createIndex({ name: "idx_idx", cluster: "c1", on: "bids_idx", key: [0] }),
      Code.InvalidArgument,
      "bids_idx is an index; index a subsource",
    );
    await expectCode(
      client.dropObject({ name: "auction", cascade: false }),
      Code.FailedPrecondition,
      "the request field `cascade` set to true",
    );
    await expectCode(
      client.createReplica({ cluster: "nope_cluster", name: "r9", size: 1 }),
      Code.NotFound,
      "nope_cluster",
    );
    await expectCode(
      client.dropObject({ name: "auction", cascade: false }),
      Code.FailedPrecondition,
      "bids_idx",
    );
    await expectCode(
      client.peek({ object: "auction_users" }),
      Code.FailedPrecondition,
      "CreateIndex",
    );
    const badJson = await postJson(api, "CreateCluster", { name: "Not A Name" });
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ code: "invalid_argument" });

    // Status: the replica is online; frontiers are reported.
    const status = c.statusResponse.fromProto(await client.status({}));
    const cluster = status.clusters[0];
    expect(cluster?.replicas).toEqual([
      { id: replica.id, name: "r1", size: 2, health: "online", reason: "" },
    ]);
    const bidsStatus = cluster?.collections.find((x) => x.name === "auction_bids");
    expect(bidsStatus?.writeFrontier).toBeNull();
    const idxStatus = cluster?.collections.find((x) => x.name === "bids_idx");
    expect(idxStatus).toBeDefined();
    expect(cluster?.flags.every((f) => !f.flipping && !f.inForce)).toBe(true);
    // A flag change is reported as flipping until a flip brings what runs to it (this phase
    // source is a function, without change events: nothing flips until `flipNow`).
    serversOn = true;
    const flags = c.getFlagsResponse.fromProto(await client.getFlags({ cluster: "c1" }));
    const servers = flags.clusters[0]?.flags.find((f) => f.key === "cluster-unification-servers");
    expect(servers).toMatchObject({
      enabled: true,
      inForce: true,
      applied: false,
      flipping: true,
    });
    serversOn = false;
    // /health and /metrics on the HTTP/1.1 port.
    expect(await (await fetch(`${api.httpUrl}/health`)).text()).toBe("ok\n");
    expect(await (await fetch(`${api.httpUrl}/metrics`)).text()).toContain(
      "mz_orchestrator_replicas",
    );

    // Restart: leave the replica running; the next environmentd adopts it.
    const pid = first.env.replicaPids().get(replica.id);
    expect(pid).toBeGreaterThan(0);
    await first.stop(true);
    const second = await start(dir);
    expect(second.env.generation).toBe(2n);
    expect(second.env.replicaPids().get(replica.id)).toBe(pid);
    const again = c.peekResponse.fromProto(
      await second.client.peek({
        object: "bids_idx",
        timestamp: grpcPeek.timestamp,
        timeoutMs: 20_000,
      }),
    );
    expect(sortRows(again.rows)).toEqual(sortRows(grpcPeek.rows));
    const countsAgain = c.peekResponse.fromProto(
      await second.client.peek({ object: "bid_counts", timestamp: grpcPeek.timestamp }),
    );
    expect(sortRows(countsAgain.rows)).toEqual(sortRows(counts.rows));
    const fresh = c.peekResponse.fromProto(await second.client.peek({ object: "bids_idx" }));
    expect(fresh.timestamp).toBe(FINAL_UPPER - 1n);

    // The old environment's catalog handle is fenced.
    const stale = await oldCatalog.createCluster(1n, { name: "late" }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleGeneration);
    expect((await second.client.listClusters({})).clusters.map((x) => x.name)).toEqual(["c1"]);
  }, 90_000);
});

function big(_k: string, v: unknown) {
  return typeof v === "bigint" ? `${v}n` : v;
}

/** The bids shard's contents at `asOf`, read with `@mzts/persist`. */
async function shardContents(
  persistDir: string,
  catalog: Catalog,
  source: string,
  outputIndex: number,
  asOf: bigint,
): Promise<Array<readonly [Row, number]>> {
  const item = await catalog.getItem("source", source);
  const shardId = item.exports.find((e) => e.outputIndex === outputIndex)?.shardId ?? "";
  const persist = await createPersist({ dataDir: persistDir });
  try {
    const updates = await (await persist.openShard(shardId)).snapshot(asOf);
    const counts = new Map<string, [Row, number]>();
    for (const [row, , diff] of updates) {
      const k = JSON.stringify(row, big);
      const prev = counts.get(k);
      counts.set(k, [row, (prev?.[1] ?? 0) + Number(diff)]);
    }
    return [...counts.values()].filter(([, n]) => n !== 0);
  } finally {
    await persist.close();
  }
}
