/**
 * `mzctl introspection` against a real API server (loopback, port 0) over an environment that
 * answers ListObjects with two clusters' introspection relations and records the peeks it gets:
 * the listing (one row per relation, columns and key by name), the peek (column names as header,
 * the answering replica), `--json`, the `mz_introspection.` prefix being optional, and an rpc
 * error's exit code.
 */
import type { PeekRequest } from "@mzts/protocol";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../api/server.js";
import { UnknownObject } from "../catalog/errors.js";
import type { Environment } from "../environment.js";
import { introspectionObjects } from "../introspection/relations.js";
import { runCli } from "./program.js";
import { bufferIo } from "./render.js";

const capture = () => bufferIo();

const peeks: PeekRequest[] = [];
const created: Array<{ name: string; introspectionIntervalMs?: number }> = [];
const cluster = (name: string, interval: number) => ({
  id: name === "c1" ? "u1" : "u2",
  name,
  replicas: [],
  introspectionIntervalMs: interval,
});
const environment = {
  async createCluster(req: { name: string; introspectionIntervalMs?: number }) {
    created.push(req);
    return { id: "u7" };
  },
  async listClusters() {
    return { clusters: [cluster("c1", 1000), cluster("c2", 0)] };
  },
  async status() {
    return {
      clusters: [
        { ...cluster("c1", 250), collections: [], flags: [] },
        { ...cluster("c2", 0), collections: [], flags: [] },
      ],
    };
  },
  async listObjects(req: { cluster?: string }) {
    const objects = [
      ...introspectionObjects({ id: "u1", name: "c1" }),
      ...introspectionObjects({ id: "u2", name: "c2" }),
      { id: "u9", name: "v", kind: "materializedView" as const, cluster: "c1", arity: 1, key: [] },
    ].filter((o) => req.cluster === undefined || o.cluster === req.cluster);
    return { objects };
  },
  async peek(req: PeekRequest) {
    peeks.push(req);
    if (req.replica === "r9") throw new UnknownObject("replica", "r9", req.cluster);
    if (req.object === "mz_introspection.replica_hydration_times") {
      return {
        rows: [[["u3", "u5", 0n, 12n], 1]] as const,
        timestamp: 1_700_000_000_000n,
        replica: "environmentd",
        replicaId: "s0",
      };
    }
    return {
      rows: [
        [[1n, 0n, "index u5"], 1],
        [[2n, 1n, "subscribe t1"], 2],
      ] as const,
      timestamp: 1_700_000_000_000n,
      replica: req.replica ?? "r1",
      replicaId: req.replica === "r2" ? "u4" : "u3",
    };
  },
} as unknown as Environment;

let api: ApiServer;
beforeAll(async () => {
  api = await startApiServer({
    environment,
    registry: new Registry(),
    logger: pino({ level: "silent" }),
  });
});
afterAll(() => api.close());

async function mzctl(...args: string[]) {
  const io = capture();
  const code = await runCli(["node", "mzctl", "--url", api.grpcUrl, ...args], io);
  return { code, out: io.out, err: io.err };
}

describe("mzctl introspection", () => {
  it("lists each relation once with its columns and key", async () => {
    const r = await mzctl("introspection");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RELATION\s+COLUMNS\s+KEY\s+DESCRIPTION$/);
    expect(lines.filter((l) => l.startsWith("mz_introspection.operators "))).toHaveLength(1);
    expect(r.out).toMatch(
      /mz_introspection\.hydration_times\s+export_id text, worker_id int64, time_ns int64\?\s+export_id,worker_id\s+time from/,
    );
    expect(lines.at(-1)).toBe(
      "(per replica of clusters c1, c2; read one with `mzctl introspection <relation> --replica <name>`; the replica_ ones hold every replica's rows, kept by environmentd)",
    );
    const json = await mzctl("--json", "introspection", "--cluster", "c2");
    const doc = JSON.parse(json.out) as {
      objects: Array<{ name: string; kind: string; cluster: string }>;
    };
    expect(doc.objects).toHaveLength(14 + 3); // the log relations, then the persisted ones
    expect(doc.objects.at(-1)?.name).toBe("mz_introspection.replica_error_counts");
    expect(new Set(doc.objects.map((o) => `${o.kind} ${o.cluster}`))).toEqual(
      new Set(["OBJECT_KIND_INTROSPECTION c2"]),
    );
  });

  it("reads a persisted relation: its columns, answered by environmentd", async () => {
    const r = await mzctl("introspection", "replica_hydration_times", "--cluster", "c1");
    expect(r.err).toBe("");
    expect(r.out).toBe(
      [
        "replica_id  export_id  worker_id  time_ns",
        "u3          u5         0          12",
        "(1 row at 1700000000000 from environmentd (persisted))",
        "",
      ].join("\n"),
    );
  });

  it("reads a relation from a replica: column names, counts, who answered", async () => {
    const r = await mzctl("introspection", "dataflows", "--cluster", "c1", "--replica", "r2");
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "dataflow_id  worker_id  name          COUNT",
        "1            0          index u5      1",
        "2            1          subscribe t1  2",
        "(3 rows at 1700000000000 from replica r2)",
        "",
      ].join("\n"),
    );
    expect(peeks.at(-1)).toEqual({
      object: "mz_introspection.dataflows",
      cluster: "c1",
      replica: "r2",
    });
    const json = await mzctl(
      "--json",
      "introspection",
      "mz_introspection.operators",
      "--at",
      "42",
      "--timeout-ms",
      "500",
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ replica: "r1", replicaId: "u3" });
    expect(peeks.at(-1)).toEqual({
      object: "mz_introspection.operators",
      timestamp: 42n,
      timeoutMs: 500,
    });
  });

  it("exits 1 with the server's code on a refused peek", async () => {
    const r = await mzctl("introspection", "dataflows", "--replica", "r9");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^error: not_found: unknown replica "r9"/);
  });
});

describe("mzctl and the introspection interval", () => {
  it("creates a cluster with one, and lists and reports each cluster's", async () => {
    const made = await mzctl("clusters", "create", "c3", "--introspection-interval-ms", "0");
    expect(made.code).toBe(0);
    expect(created.at(-1)).toEqual({ name: "c3", introspectionIntervalMs: 0 });
    expect((await mzctl("clusters", "create", "c4")).code).toBe(0);
    expect(created.at(-1)).toEqual({ name: "c4" }); // the server's default
    const list = await mzctl("clusters", "list");
    expect(list.out.split("\n").map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      ["CLUSTER", "ID", "INTROSPECTION_MS"],
      ["c1", "u1", "1000"],
      ["c2", "u2", "off"],
      [""],
    ]);
    const status = await mzctl("status");
    expect(status.out).toContain("cluster c1 (u1, introspection every 250 ms)\n");
    expect(status.out).toContain("cluster c2 (u2, introspection off)\n");
    const bad = await mzctl("clusters", "create", "c5", "--introspection-interval-ms", "-1");
    expect(bad.code).toBe(2);
  });
});
