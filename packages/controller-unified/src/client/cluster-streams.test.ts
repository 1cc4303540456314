/**
 * The shared cluster stream against fake replicas (Connect servers on 127.0.0.1, port 0): both
 * instances' connections ride ONE stream and one TCP connection, each with its own hello (same
 * nonce and generation, signed for its own sub-protocol) and replay; responses are demultiplexed
 * by kind and tagged with each sub-connection's epoch; a stream failure fails both once and one
 * reconnect serves both; a sub-protocol rejoining after a close cycles the stream; the layout
 * mismatch both ways is a `ReplicaLayoutMismatch`.
 */
import {
  type ClusterCommand,
  type ComputeCommand,
  type ComputeResponse,
  generateReplicaSecret,
  type Hello,
  type StorageCommand,
  type StorageResponse,
  verifyHelloProof,
} from "@mzts/protocol";
import { createInstance, initializationComplete } from "@mzts/protocol/testing/compute-commands";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ReplicaLayoutMismatch } from "../errors.js";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnector,
} from "../replicas/replica-connection.js";
import { createReplicaTaskConnector } from "../replicas/replica-task.js";
import {
  type FakeReplica,
  startFakeClusterReplica,
  startFakeReplica,
  testComputeProtocol,
} from "../testdata/fake-replica.js";
import { until } from "../testdata/until.js";
import { measureAbortListeners } from "../testing/listener-leak.js";
import { createClusterStreams } from "./cluster-streams.js";

const logger = pino({ level: "silent" });

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function clusterReplica(): Promise<FakeReplica<ClusterCommand, never>> {
  const r = await startFakeClusterReplica();
  cleanup.push(() => r.close());
  return r as FakeReplica<ClusterCommand, never>;
}

/** What one incarnation's callbacks saw. */
interface Seen<C, R> {
  connected: number;
  readonly responses: Array<[number, R]>;
  readonly failures: Array<[number, Error]>;
  readonly sent: C[];
}

/** Starts incarnation `epoch` of replica `u1` through `using`, replaying `history`. */
function start<C, R>(
  using: ReplicaConnector<C, R>,
  location: () => string,
  history: C[],
  extra: Partial<ReplicaConnectionOptions<C, R>> = {},
): { conn: ReplicaConnection<C, R>; seen: Seen<C, R> } {
  const seen: Seen<C, R> = { connected: 0, responses: [], failures: [], sent: [] };
  const conn = using({
    instanceId: "c1",
    replicaId: "u1",
    epoch: 1,
    generation: 7n,
    location,
    replay: () => [...history],
    logger,
    onConnected: () => {
      seen.connected++;
    },
    onResponses: (e, rs) => {
      for (const r of rs) seen.responses.push([e, r]);
    },
    onFailed: (e, err) => {
      seen.failures.push([e, err]);
    },
    onCommandSent: (c) => {
      seen.sent.push(c);
    },
    ...extra,
  });
  cleanup.push(() => conn.close());
  return { conn, seen };
}

const computeHistory: ComputeCommand[] = [createInstance, initializationComplete];
const storageHistory: StorageCommand[] = [
  { kind: "initializationComplete" },
  { kind: "allowWrites" },
];
const computeFrontier: ComputeResponse = { kind: "frontiers", id: "u1", frontiers: { write: 3n } };
const storageUpper: StorageResponse = { kind: "frontierUpper", id: "u2", upper: 5n };

/** The hello of `kind` in a stream's commands. */
function helloOf(commands: readonly ClusterCommand[], kind: "compute" | "storage"): Hello {
  for (const c of commands) {
    if (c.kind === kind && c.command.kind === "hello") return c.command.hello;
  }
  throw new Error(`no ${kind} hello`);
}

describe("ClusterStreams", () => {
  it("carries both instances on one stream and one TCP connection, one hello each with the same nonce", async () => {
    const r = await clusterReplica();
    const secret = generateReplicaSecret();
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory, { replicaSecret: secret });
    const s = start(streams.storage, () => r.url, storageHistory, { replicaSecret: secret });
    await until("both joined", () => c.seen.connected === 1 && s.seen.connected === 1);
    await until("the replays arrived", () => (r.streams[0]?.messages.flat().length ?? 0) === 6);
    expect(r.streams).toHaveLength(1);
    expect(r.sessions.accepted).toBe(1);
    expect(streams.streamsStarted).toBe(1);
    // One request message: compute's hello + replay, then storage's.
    const commands = r.streams[0]?.messages.flat() ?? [];
    expect(commands.map((x) => `${x.kind}:${x.command.kind}`)).toEqual([
      "compute:hello",
      "compute:createInstance",
      "compute:initializationComplete",
      "storage:hello",
      "storage:initializationComplete",
      "storage:allowWrites",
    ]);
    const ch = helloOf(commands, "compute");
    const sh = helloOf(commands, "storage");
    expect(ch.nonce).toBe(sh.nonce);
    expect(ch.generation).toBe(7n);
    expect(sh.generation).toBe(7n);
    expect(verifyHelloProof(ch, secret, "compute")).toBe("valid");
    expect(verifyHelloProof(sh, secret, "storage")).toBe("valid");
    expect(verifyHelloProof(sh, secret, "compute")).toBe("mismatch");

    // Live commands of each ride the same stream, in order.
    c.conn.send([{ kind: "allowCompaction", id: "u1", frontier: 2n } as ComputeCommand]);
    s.conn.send([{ kind: "allowCompaction", id: "u2", frontier: 4n }]);
    await until("live commands", () => (r.streams[0]?.messages.flat().length ?? 0) === 8);
    // Both workloads' commands of one event-loop turn leave in one request message (issue 16).
    expect(r.streams[0]?.messages.at(-1)?.map((x) => x.kind)).toEqual(["compute", "storage"]);
    expect(c.seen.sent.map((x) => x.kind)).toEqual([
      "hello",
      "createInstance",
      "initializationComplete",
      "allowCompaction",
    ]);
    expect(s.seen.sent.map((x) => x.kind)).toEqual([
      "hello",
      "initializationComplete",
      "allowWrites",
      "allowCompaction",
    ]);
  });

  it("demultiplexes responses by kind, tagged with each sub-connection's epoch", async () => {
    const r = (await startFakeClusterReplica()) as FakeReplica<ClusterCommand, unknown>;
    cleanup.push(() => r.close());
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory, { epoch: 3 });
    const s = start(streams.storage, () => r.url, storageHistory, { epoch: 5 });
    await until("both joined", () => c.seen.connected + s.seen.connected === 2);
    await until("stream open", () => r.streams.length === 1);
    r.respond([
      { kind: "compute", response: computeFrontier },
      { kind: "storage", response: storageUpper },
      { kind: "storage", response: storageUpper },
      { kind: "compute", response: computeFrontier },
    ]);
    await until("responses", () => c.seen.responses.length === 2 && s.seen.responses.length === 2);
    expect(c.seen.responses).toEqual([
      [3, computeFrontier],
      [3, computeFrontier],
    ]);
    expect(s.seen.responses).toEqual([
      [5, storageUpper],
      [5, storageUpper],
    ]);
  });

  it("a stream failure fails both sub-connections once; their new epochs share one reconnect", async () => {
    const r = await clusterReplica();
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory);
    const s = start(streams.storage, () => r.url, storageHistory);
    await until("both joined", () => c.seen.connected + s.seen.connected === 2);
    await until("stream open", () => r.streams.length === 1);
    r.endStreams();
    await until("both failed", () => c.seen.failures.length + s.seen.failures.length === 2);
    expect(c.conn.state).toBe("failed");
    expect(s.conn.state).toBe("failed");
    // Both instances respawn in the same turn (the unified policy: at once).
    const c2 = start(streams.compute, () => r.url, computeHistory, { epoch: 2 });
    const s2 = start(streams.storage, () => r.url, storageHistory, { epoch: 2 });
    await until("both rejoined", () => c2.seen.connected + s2.seen.connected === 2);
    await until("second stream", () => (r.streams[1]?.messages.flat().length ?? 0) === 6);
    expect(r.streams).toHaveLength(2);
    expect(streams.streamsStarted).toBe(2);
    await new Promise((res) => setTimeout(res, 50));
    expect(c.seen.failures).toHaveLength(1);
    expect(s.seen.failures).toHaveLength(1);
    expect(r.sessions.open).toBe(1);
  });

  it("a sub-connection attaching to an open stream joins it with the same nonce", async () => {
    const r = await clusterReplica();
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory);
    await until("compute joined", () => (r.streams[0]?.messages.flat().length ?? 0) === 3);
    const s = start(streams.storage, () => r.url, storageHistory);
    await until("storage joined", () => (r.streams[0]?.messages.flat().length ?? 0) === 6);
    expect(c.seen.connected + s.seen.connected).toBe(2);
    expect(r.streams).toHaveLength(1);
    const commands = r.streams[0]?.messages.flat() ?? [];
    expect(helloOf(commands, "storage").nonce).toBe(helloOf(commands, "compute").nonce);
  });

  it("a sub-protocol rejoining after its close cycles the stream: the other fails once and rejoins", async () => {
    const r = await clusterReplica();
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory);
    const s = start(streams.storage, () => r.url, storageHistory);
    await until("both joined", () => (r.streams[0]?.messages.flat().length ?? 0) === 6);
    await c.conn.close();
    expect(c.seen.failures).toEqual([]);
    expect(r.streams[0]?.open).toBe(true); // storage still rides it
    const c2 = start(streams.compute, () => r.url, computeHistory, { epoch: 2 });
    await until("storage failed once", () => s.seen.failures.length === 1);
    const s2 = start(streams.storage, () => r.url, storageHistory, { epoch: 2 });
    await until("both on the next stream", () => (r.streams[1]?.messages.flat().length ?? 0) === 6);
    expect(c2.seen.connected + s2.seen.connected).toBe(2);
    await until("first stream closed", () => r.streams[0]?.open === false);
  });

  it("closing both sub-connections closes the stream and its connection", async () => {
    const r = await clusterReplica();
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory);
    const s = start(streams.storage, () => r.url, storageHistory);
    await until("both joined", () => (r.streams[0]?.messages.flat().length ?? 0) === 6);
    await c.conn.close();
    await s.conn.close();
    expect(streams.replicaIds()).toEqual([]);
    await until("stream closed", () => r.streams[0]?.open === false && r.sessions.open === 0);
    expect(c.seen.failures).toEqual([]);
    expect(s.seen.failures).toEqual([]);
  });

  it("a two-port replica (no ClusterService) is a ReplicaLayoutMismatch for both", async () => {
    const r = await startFakeReplica(); // ComputeService only
    cleanup.push(() => r.close());
    const streams = createClusterStreams();
    const c = start(streams.compute, () => r.url, computeHistory);
    const s = start(streams.storage, () => r.url, storageHistory);
    await until("both failed", () => c.seen.failures.length + s.seen.failures.length === 2);
    for (const [, err] of [...c.seen.failures, ...s.seen.failures]) {
      expect(err).toBeInstanceOf(ReplicaLayoutMismatch);
      expect(err.message).toMatch(/mz\.cluster\.v1\.ClusterService/);
      expect(err.message).toMatch(/Drop and recreate the replica/);
      expect((err as ReplicaLayoutMismatch).controllerLayout).toBe("one-port");
    }
  });

  it("a one-port replica (ClusterService only) is a ReplicaLayoutMismatch for a per-workload task", async () => {
    const r = await clusterReplica();
    const seen = start(
      createReplicaTaskConnector(testComputeProtocol),
      () => r.url,
      computeHistory,
    );
    await until("failed", () => seen.seen.failures.length === 1);
    const err = seen.seen.failures[0]?.[1];
    expect(err).toBeInstanceOf(ReplicaLayoutMismatch);
    expect((err as ReplicaLayoutMismatch).controllerLayout).toBe("two-port");
    expect(err?.message).toMatch(/mz\.compute\.v1\.ComputeService/);
    expect(err?.message).toMatch(/cluster-unification-client back to on/);
  });

  it("leaves no abort listener per connect attempt", async () => {
    const report = await measureAbortListeners(createClusterStreams().compute, 25);
    expect(report.attempts).toBeGreaterThanOrEqual(25);
    expect(report.state).toBe("connecting");
    expect(report.mostListeners).toBeLessThanOrEqual(2);
  });
});
