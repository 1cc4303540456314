/**
 * Issue 16 in phase 5, on the wire: the unified driver on the one-port layout
 * (`createClusterStreams().cluster`) against a fake `ClusterService` replica (127.0.0.1, port 0)
 * tells its stream which compute peek answers it awaits (`awaitsPeek`), so an answer nobody
 * awaits is dropped before it is decoded, and an awaited one is still decoded — a malformed one
 * fails the incarnation. The replica answers a pending peek with two messages:
 * 1. `[frontiers(u20, 1), answer(unknown uuid, rows of an unknown format)]` — the second would
 *    fail the whole message (and the incarnation) if it were decoded;
 * 2. `[answer(the pending peek, rows of an unknown format)]` — awaited, so decoded and refused.
 */
import { create } from "@bufbuild/protobuf";
import { type ClusterCommand, type ClusterResponse, computeResponsesToProto } from "@mzts/protocol";
import { clusterV1, type computeV1, computeV1 as v1 } from "@mzts/protocol/wire";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClusterStreams } from "../client/cluster-streams.js";
import { type FakeReplica, startFakeClusterReplica } from "../testdata/fake-replica.js";
import { until } from "../testdata/until.js";
import { controllerMetrics } from "./controller-metrics.js";
import { MetricsConflict, PeekCanceled } from "./errors.js";
import { fakeSinceHandles } from "./testdata/fake-since-handles.js";
import { CLUSTER, LOGGING } from "./testdata/legacy-cluster.js";
import { indexedView, ingestion } from "./testdata/objects.js";
import {
  UnifiedClusterController,
  type UnifiedClusterControllerOptions,
} from "./unified-cluster-controller.js";

const UNKNOWN = "5a0c1d9e-7c1b-4f0e-8a43-2f6f3e9b1c02";

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** An answer to `uuid` whose rows are of a format no decoder knows (malformed when decoded). */
function unreadableAnswer(uuid: string): computeV1.ComputeResponse {
  return create(v1.ComputeResponseSchema, {
    kind: {
      case: "peekResponse",
      value: { uuid, result: { case: "rows", value: { formatVersion: 999 } } },
    },
  });
}

/** One `ClusterService` response message carrying compute responses. */
function computeMessage(responses: computeV1.ComputeResponse[]) {
  return create(clusterV1.ControlResponseSchema, {
    responses: responses.map((value) =>
      create(clusterV1.ClusterResponseSchema, { kind: { case: "compute", value } }),
    ),
  });
}

/** The driver on the one-port layout, fake since handles, no maintenance timer. */
const controller = (extra: Partial<UnifiedClusterControllerOptions>) =>
  new UnifiedClusterController({
    clusterId: CLUSTER,
    generation: 1n,
    logging: LOGGING,
    connectors: { cluster: createClusterStreams().cluster },
    sinceHandles: fakeSinceHandles(),
    logger: pino({ level: "silent" }),
    tickIntervalMs: 0,
    ...extra,
  });

describe("UnifiedClusterController: unawaited peek answers are dropped undecoded (one port)", () => {
  it("skips the unreadable unawaited answer, fails the incarnation on the awaited one", async () => {
    const r = (await startFakeClusterReplica()) as FakeReplica<ClusterCommand, ClusterResponse>;
    cleanup.push(() => r.close());
    const c = controller({ tuning: { backoff: { initialMs: 5, maxMs: 20, jitter: 0 } } });
    cleanup.push(() => c.close());
    await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
    c.createIngestion("u10", ingestion("u11"));
    c.createDataflow(indexedView("u20", 0n, ["u11"]));
    c.addReplica("u1", { layout: "one-port", clusterUrl: r.url });
    await until("connected", () => c.replicas()[0]?.state === "connected");
    const answer = c.peek({ target: "u20", timestamp: 1n });
    answer.catch(() => {}); // settled when the controller closes
    const sent = () =>
      r.streams[0]?.messages
        .flat()
        .flatMap((x) => (x.kind === "compute" && x.command.kind === "peek" ? [x.command] : []));
    await until("the peek", () => (sent()?.length ?? 0) === 1);
    const peek = sent()?.[0];
    if (peek?.kind !== "peek") throw new Error("no peek sent");

    const [frontier] = computeResponsesToProto([
      { kind: "frontiers", id: "u20", frontiers: { write: 1n } },
    ]).responses as [computeV1.ComputeResponse];
    expect(r.respondRaw(computeMessage([frontier, unreadableAnswer(UNKNOWN)]))).toBe(true);
    expect(r.respondRaw(computeMessage([unreadableAnswer(peek.peek.uuid)]))).toBe(true);
    await until("the failure", () => (c.replicas()[0]?.failures ?? 0) >= 1);

    // The first message was delivered without its unawaited answer; the second failed.
    expect(c.frontiers("u20").write).toBe(1n);
    expect(c.replicas()[0]?.failures).toBe(1);
    expect(c.replicas()[0]?.lastError).toMatch(/responses\[0\]\.compute\.peekResponse\.rows/);
    expect(c.status().pendingPeeks).toBe(1); // replayed to the next incarnation
    await c.close();
    await expect(answer).rejects.toBeInstanceOf(PeekCanceled);
  });

  it("a dropped answer is a sign of life: it refreshes the replica's last-heard time", async () => {
    const r = (await startFakeClusterReplica()) as FakeReplica<ClusterCommand, ClusterResponse>;
    cleanup.push(() => r.close());
    let nowMs = 1_000;
    const c = controller({ now: () => nowMs });
    cleanup.push(() => c.close());
    c.addReplica("u1", { layout: "one-port", clusterUrl: r.url });
    await until("connected", () => c.replicas()[0]?.state === "connected");
    await until("the stream's first message", () => (r.streams[0]?.messages.length ?? 0) > 0);
    expect(c.replicas()[0]?.lastHeardMs).toBe(1_000);
    nowMs = 2_000;
    // A message with nothing but an answer nobody awaits: dropped undecoded, nothing absorbed.
    expect(r.respondRaw(computeMessage([unreadableAnswer(UNKNOWN)]))).toBe(true);
    await until("last heard refreshed", () => c.replicas()[0]?.lastHeardMs === 2_000, 3_000);
    expect(c.replicas()[0]?.failures).toBe(0);
  });

  it("a dropped answer is counted at a scrape, not with a labelled increment per answer", async () => {
    const r = (await startFakeClusterReplica()) as FakeReplica<ClusterCommand, ClusterResponse>;
    cleanup.push(() => r.close());
    const registry = new Registry();
    const metrics = controllerMetrics(registry, (n, why) => new MetricsConflict(n, why));
    let nowMs = 1_000;
    const c = controller({ metrics: { registry }, now: () => nowMs });
    cleanup.push(() => c.close());
    c.addReplica("u1", { layout: "one-port", clusterUrl: r.url });
    await until("connected", () => c.replicas()[0]?.state === "connected");
    await until("the stream's first message", () => (r.streams[0]?.messages.length ?? 0) > 0);
    const labels = { instance_id: CLUSTER, replica_id: "u1", response_type: "peekResponse" };
    const before = await responsesOf(registry, labels);
    const inc = vi.spyOn(metrics.responsesTotal, "inc");
    for (const at of [2_000, 3_000]) {
      nowMs = at;
      expect(r.respondRaw(computeMessage([unreadableAnswer(UNKNOWN)]))).toBe(true);
      await until("dropped", () => c.replicas()[0]?.lastHeardMs === at, 3_000);
    }
    expect(inc).not.toHaveBeenCalled();
    expect(await responsesOf(registry, labels)).toBe(before + 2);
    expect(await responsesOf(registry, labels)).toBe(before + 2); // added once
  });
});

/** `mz_compute_responses_total` at exactly `labels` (0 when the series does not exist). */
async function responsesOf(registry: Registry, labels: Record<string, string>): Promise<number> {
  const { values } = await registry.getSingleMetric("mz_compute_responses_total")!.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return hit?.value ?? 0;
}
