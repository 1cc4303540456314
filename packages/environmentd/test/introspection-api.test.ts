/**
 * Introspection through environmentd's API (phase 2, *logging*), with real clusterd processes
 * whose compute side is replaced by a fake connection (the `computeConnector` seam): the fake
 * records each replica's `CreateInstance` and answers peeks of log indexes with a row naming
 * itself, so this checks environmentd's side — the logging config per cluster, the listing,
 * resolution, validation, replica choice and error codes — without the replica-side logging.
 * (`introspection-replica.test.ts` reads real log indexes.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ComputeReplicaConnector } from "@mzts/compute-client";
import { PhaseSet } from "@mzts/flags";
import {
  type ComputeCommand,
  environmentCodecs as c,
  LOG_RELATIONS,
  type LoggingConfig,
} from "@mzts/protocol";
import { EnvironmentService } from "@mzts/protocol/wire";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiServer,
  createEnvironment,
  type Environment,
  startApiServer,
} from "../src/index.js";
import { PERSISTED_RELATIONS } from "../src/introspection/persisted-relations.js";

/** Fake compute replicas: record the logging config, answer log-index peeks with their id. */
function fakeCompute() {
  const logging = new Map<string, LoggingConfig>();
  const peeks: Array<{ replicaId: string; command: Extract<ComputeCommand, { kind: "peek" }> }> =
    [];
  const connector: ComputeReplicaConnector = (opts) => {
    const answer = (commands: readonly ComputeCommand[]) => {
      for (const command of commands) {
        if (command.kind === "createInstance") logging.set(opts.replicaId, command.config.logging);
        if (command.kind !== "peek" || !command.peek.target.id.startsWith("s")) continue;
        peeks.push({ replicaId: opts.replicaId, command });
        const row = [BigInt(command.peek.arity), 0n, `log of ${opts.replicaId}`];
        queueMicrotask(() =>
          opts.onResponses(opts.epoch, [
            {
              kind: "peekResponse",
              uuid: command.peek.uuid,
              response: { kind: "rows", rows: [[row, 1]] },
            },
          ]),
        );
      }
    };
    queueMicrotask(() => {
      opts.onConnected(opts.epoch);
      answer(opts.replay());
    });
    return { epoch: opts.epoch, state: "connected", send: answer, close: async () => {} };
  };
  return { connector, logging, peeks };
}

async function refusal(p: Promise<unknown>, code: Code): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectError);
  expect(Code[(e as ConnectError).code]).toBe(Code[code]);
  return (e as ConnectError).rawMessage;
}

const dir = mkdtempSync(join(tmpdir(), "log-env-api-"));
const fake = fakeCompute();
let env: Environment;
let api: ApiServer;
let client: ReturnType<typeof createClient<typeof EnvironmentService>>;
const ids = new Map<string, string>();

beforeAll(async () => {
  env = await createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    controllerAbsentTimeoutMs: 30_000,
    shardGcIntervalMs: 0,
    computeConnector: fake.connector,
  });
  api = await startApiServer({ environment: env, registry: new Registry() });
  client = createClient(EnvironmentService, createGrpcTransport({ baseUrl: api.grpcUrl }));
  await client.createCluster({ name: "c1" });
  await client.createCluster({ name: "fast", introspectionIntervalMs: 250 });
  await client.createCluster({ name: "quiet", introspectionIntervalMs: 0 });
  for (const [cluster, name] of [
    ["c1", "r1"],
    ["c1", "r2"],
    ["quiet", "r1"],
  ] as const) {
    ids.set(`${cluster}.${name}`, (await client.createReplica({ cluster, name, size: 1 })).id);
  }
}, 60_000);

afterAll(async () => {
  await api?.close();
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("introspection through the API", () => {
  it("stores each cluster's interval and sends its log indexes in CreateInstance", async () => {
    const listed = c.listClustersResponse.fromProto(await client.listClusters({}));
    expect(listed.clusters.map((x) => [x.name, x.introspectionIntervalMs])).toEqual([
      ["c1", 1000],
      ["fast", 250],
      ["quiet", 0],
    ]);
    const status = c.statusResponse.fromProto(await client.status({}));
    expect(status.clusters.map((x) => x.introspectionIntervalMs)).toEqual([1000, 250, 0]);
    const c1 = listed.clusters[0]?.id ?? "";
    const r1 = fake.logging.get(ids.get("c1.r1") ?? "");
    expect(r1).toMatchObject({ enabled: true, intervalMs: 1000, logLogging: false });
    expect([...(r1?.indexLogs.keys() ?? [])]).toEqual(LOG_RELATIONS.map((r) => r.name));
    expect(r1?.indexLogs.get("dataflows")).toBe(`s${c1.slice(1)}000`);
    expect(fake.logging.get(ids.get("c1.r2") ?? "")).toEqual(r1);
    expect(fake.logging.get(ids.get("quiet.r1") ?? "")).toMatchObject({
      enabled: false,
      intervalMs: 0,
    });
    const bad = await refusal(
      client.createCluster({ name: "x", introspectionIntervalMs: 50 }),
      Code.InvalidArgument,
    );
    expect(bad).toContain("introspectionIntervalMs: is 50; an introspection interval is 0");
    await expect(env.createCluster({ name: "y", introspectionIntervalMs: 7 })).rejects.toThrow(
      /is 7; an introspection interval/,
    );
  });

  it("lists mz_introspection.<relation> per cluster with columns and key", async () => {
    const all = c.listObjectsResponse.fromProto(await client.listObjects({})).objects;
    const intro = all.filter((o) => o.kind === "introspection");
    expect(intro).toHaveLength(3 * (LOG_RELATIONS.length + 3));
    expect(new Set(intro.map((o) => o.id)).size).toBe(intro.length);
    const mine = c.listObjectsResponse
      .fromProto(await client.listObjects({ cluster: "c1" }))
      .objects.filter((o) => o.kind === "introspection");
    expect(mine.map((o) => o.name).sort()).toEqual(
      [
        ...LOG_RELATIONS.map((r) => `mz_introspection.${r.name}`),
        "mz_introspection.replica_hydration_times",
        "mz_introspection.replica_compute_frontiers",
        "mz_introspection.replica_error_counts",
      ].sort(),
    );
    // The persisted ones: replica_id, then the log relation's columns; key shifted behind it.
    expect(mine.find((o) => o.name === "mz_introspection.replica_hydration_times")).toMatchObject({
      cluster: "c1",
      arity: 4,
      key: [0, 1, 2],
      columns: [
        { name: "replica_id", type: "text", nullable: false },
        { name: "export_id", type: "text", nullable: false },
        { name: "worker_id", type: "int64", nullable: false },
        { name: "time_ns", type: "int64", nullable: true },
      ],
    });
    const ops = mine.find((o) => o.name === "mz_introspection.operators");
    expect(ops).toMatchObject({
      cluster: "c1",
      arity: 4,
      key: [0, 1, 2],
      columns: [
        { name: "dataflow_id", type: "int64", nullable: false },
        { name: "operator_id", type: "int64", nullable: false },
        { name: "worker_id", type: "int64", nullable: false },
        { name: "name", type: "text", nullable: false },
      ],
    });
    expect(ops?.id).toBe(fake.logging.get(ids.get("c1.r1") ?? "")?.indexLogs.get("operators"));
  });

  it("peeks a replica's log: the named one, or an online one; the response says which", async () => {
    const before = Date.now();
    const picked = c.peekResponse.fromProto(
      await client.peek({ object: "mz_introspection.dataflows", cluster: "c1" }),
    );
    expect(picked.replica).toBe("r1"); // both online: the first by name
    expect(picked.replicaId).toBe(ids.get("c1.r1"));
    expect(picked.rows).toEqual([[[3n, 0n, `log of ${ids.get("c1.r1")}`], 1]]);
    // Now by default, rounded down to the cluster's interval (1000 ms).
    expect(Number(picked.timestamp) % 1000).toBe(0);
    expect(Number(picked.timestamp)).toBeGreaterThan(before - 1000);
    expect(Number(picked.timestamp)).toBeLessThanOrEqual(Date.now());

    const named = c.peekResponse.fromProto(
      await client.peek({
        object: "mz_introspection.operators",
        cluster: "c1",
        replica: "r2",
        timestamp: 1234n,
        mapFilterProject: { projection: [3, 0] },
      }),
    );
    expect(named).toMatchObject({ replica: "r2", replicaId: ids.get("c1.r2"), timestamp: 1234n });
    const sent = fake.peeks.at(-1);
    expect(sent?.replicaId).toBe(ids.get("c1.r2"));
    expect(sent?.command.peek).toMatchObject({
      arity: 4,
      timestamp: 1234n,
      targetReplica: ids.get("c1.r2"),
      mapFilterProject: { projection: [3, 0] },
    });
  });

  it("refuses what cannot be read, with the code and what to do", async () => {
    const unknown = await refusal(
      client.peek({ object: "mz_introspection.nope", cluster: "c1" }),
      Code.NotFound,
    );
    expect(unknown).toContain("mz_introspection.dataflows, mz_introspection.dataflow_exports");
    const off = await refusal(
      client.peek({ object: "mz_introspection.dataflows", cluster: "quiet" }),
      Code.FailedPrecondition,
    );
    expect(off).toContain("cluster quiet has introspection interval 0");
    expect(off).toContain("--introspection-interval-ms");
    expect(
      await refusal(
        client.peek({ object: "mz_introspection.dataflows", cluster: "c1", replica: "r9" }),
        Code.NotFound,
      ),
    ).toContain('unknown replica "r9" in cluster "c1"');
    expect(
      await refusal(client.peek({ object: "mz_introspection.dataflows" }), Code.InvalidArgument),
    ).toContain("name one of c1, fast, quiet");
    expect(
      await refusal(
        client.peek({ object: "mz_introspection.dataflows", cluster: "fast" }),
        Code.Unavailable,
      ),
    ).toContain("it has no replicas");
    expect(
      await refusal(
        client.peek({
          object: "mz_introspection.dataflows",
          cluster: "c1",
          mapFilterProject: { projection: [3] },
        }),
        Code.InvalidArgument,
      ),
    ).toContain("mapFilterProject.projection[0]: column 3 out of range for 3 columns");
    expect(
      await refusal(
        client.peek({
          object: "mz_introspection.dataflows",
          cluster: "c1",
          literalConstraints: {
            rows: [{ datums: [{ value: { case: "textValue", value: "1" } }] }],
          },
        }),
        Code.InvalidArgument,
      ),
    ).toContain("has 1 datums; the key of mz_introspection.dataflows has 2");
    expect(
      await refusal(client.peek({ object: "missing", cluster: "c1" }), Code.NotFound),
    ).toContain("missing");
    expect(unknown).toContain("mz_introspection.replica_hydration_times");
  });

  it("answers the persisted relations itself, validated like any peek", async () => {
    const object = "mz_introspection.replica_error_counts";
    // No replica answers (these fakes never feed a subscribe): environmentd reads persist.
    const empty = c.peekResponse.fromProto(await client.peek({ object, cluster: "c1" }));
    expect(empty).toMatchObject({ rows: [], replica: "environmentd", replicaId: "s0" });
    const named = c.peekResponse.fromProto(
      await client.peek({ object, cluster: "c1", replica: "r2" }),
    );
    expect(named).toMatchObject({ rows: [], replica: "r2", replicaId: ids.get("c1.r2") });
    expect(PERSISTED_RELATIONS.map((r) => r.objectName)).toContain(object);
    expect(
      await refusal(client.peek({ object, cluster: "quiet" }), Code.FailedPrecondition),
    ).toContain("cluster quiet has introspection interval 0");
    expect(
      await refusal(client.peek({ object, cluster: "c1", replica: "r9" }), Code.NotFound),
    ).toContain('unknown replica "r9" in cluster "c1"');
    expect(await refusal(client.peek({ object }), Code.InvalidArgument)).toContain(
      "name one of c1, fast, quiet",
    );
    expect(
      await refusal(
        client.peek({ object, cluster: "c1", mapFilterProject: { projection: [4] } }),
        Code.InvalidArgument,
      ),
    ).toContain("column 4 out of range for 4 columns");
    expect(
      await refusal(
        client.peek({
          object,
          cluster: "c1",
          literalConstraints: {
            rows: [{ datums: [{ value: { case: "textValue", value: "u1" } }] }],
          },
        }),
        Code.InvalidArgument,
      ),
    ).toContain(`has 1 datums; the key of ${object} has 3`);
    // A time nobody wrote yet: awaited until the deadline.
    expect(
      await refusal(
        client.peek({ object, cluster: "c1", timestamp: 1n << 60n, timeoutMs: 200 }),
        Code.DeadlineExceeded,
      ),
    ).toContain(`did not pass ${1n << 60n} within 200 ms`);
  });
});
