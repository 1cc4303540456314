/**
 * `mz_environment_api_peek_stage_seconds` (issue 16: find where an API peek's time goes):
 * - `PeekStageMetrics`: each marked stage observes the time since the previous marked one, an
 *   unmarked stage is skipped (its time goes to the next), `total` is received → responded, the
 *   stage sums add up to the total's, the buckets are cumulative, one set per registry;
 * - through a real API server, a gRPC peek on the lean path and one through Connect are each
 *   observed once, with the stages the API and the environment marked.
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { PeekStageIndex, PeekTrace } from "@mzts/controller-unified/state";
import type { PeekRequest } from "@mzts/protocol";
import { EnvironmentService } from "@mzts/protocol/wire";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Environment } from "../environment.js";
import {
  PEEK_STAGE_BUCKETS,
  PEEK_STAGE_LABELS,
  PEEK_STAGE_METRIC,
  PeekStageMetrics,
} from "./peek-stage-metrics.js";
import { type ApiServer, startApiServer } from "./server.js";

/** `_sum`/`_count` and the buckets of each stage, parsed from the exposition text. */
function parse(text: string) {
  const out = new Map<string, { sum: number; count: number; buckets: Map<string, number> }>();
  const get = (stage: string) => {
    let s = out.get(stage);
    if (s === undefined) {
      s = { sum: 0, count: 0, buckets: new Map() };
      out.set(stage, s);
    }
    return s;
  };
  for (const line of text.split("\n")) {
    const b = new RegExp(
      `^${PEEK_STAGE_METRIC}_bucket\\{le="([^"]+)",stage="(\\w+)"\\} (\\S+)$`,
    ).exec(line);
    if (b !== null) get(b[2]!).buckets.set(b[1]!, Number(b[3]));
    const t = new RegExp(`^${PEEK_STAGE_METRIC}_(sum|count)\\{stage="(\\w+)"\\} (\\S+)$`).exec(
      line,
    );
    if (t !== null) get(t[2]!)[t[1] as "sum" | "count"] = Number(t[3]);
  }
  return out;
}

describe("PeekStageMetrics", () => {
  it("observes the time between marked stages; an unmarked one's goes to the next", async () => {
    const registry = new Registry();
    const stages = PeekStageMetrics.of(registry);
    expect(PeekStageMetrics.of(registry)).toBe(stages); // one set per registry
    const trace = new PeekTrace();
    const at = trace.at;
    at[PeekStageIndex.received] = 1000;
    at[PeekStageIndex.decoded] = 1000.1; // 0.1 ms
    at[PeekStageIndex.admitted] = 1000.1;
    at[PeekStageIndex.resolved] = 1000.3; // 0.2 ms
    at[PeekStageIndex.timestamped] = 1000.4; // 0.1 ms
    at[PeekStageIndex.issued] = 1000.5;
    // written, replied: not marked — their time goes to `answered`
    at[PeekStageIndex.answered] = 1030.5; // 30 ms
    at[PeekStageIndex.responded] = 1031; // 0.5 ms
    stages.observe(trace);
    stages.observe(new PeekTrace()); // nothing marked: not observed
    const s = parse(await registry.metrics());
    expect([...s.keys()]).toEqual([...PEEK_STAGE_LABELS]);
    expect(s.get("written")).toMatchObject({ count: 0, sum: 0 });
    expect(s.get("replied")).toMatchObject({ count: 0, sum: 0 });
    expect(s.get("answered")!.count).toBe(1);
    expect(s.get("answered")!.sum).toBeCloseTo(0.03, 9);
    expect(s.get("resolved")!.sum).toBeCloseTo(0.0002, 9);
    expect(s.get("total")!.sum).toBeCloseTo(0.031, 9);
    let sum = 0;
    for (const stage of PEEK_STAGE_LABELS) if (stage !== "total") sum += s.get(stage)!.sum;
    expect(sum).toBeCloseTo(s.get("total")!.sum, 9);
    // Cumulative buckets: 30 ms is above 25 ms, at or below 50 ms.
    const answered = s.get("answered")!.buckets;
    expect(answered.get("0.025")).toBe(0);
    expect(answered.get("0.05")).toBe(1);
    expect(answered.get("+Inf")).toBe(1);
    expect(answered.size).toBe(PEEK_STAGE_BUCKETS.length + 1);
    expect(stages.totals("total")).toEqual({ count: 1, sum: s.get("total")!.sum });
  });
});

describe("an API peek is traced", () => {
  let server: ApiServer;
  let registry: Registry;
  const env = {
    async peek(req: PeekRequest, trace?: PeekTrace) {
      // What `Reads.peek` and a cluster's controller mark.
      trace?.mark(PeekStageIndex.resolved);
      trace?.mark(PeekStageIndex.timestamped);
      trace?.mark(PeekStageIndex.issued);
      trace?.mark(PeekStageIndex.written);
      await new Promise((r) => setTimeout(r, 1));
      trace?.mark(PeekStageIndex.replied);
      await new Promise((r) => setTimeout(r, 5));
      trace?.mark(PeekStageIndex.answered);
      return {
        rows: [[[1n], 1]],
        timestamp: 7n,
        replica: "r1",
        replicaId: "u1",
        object: req.object,
      };
    },
  } as unknown as Environment;

  beforeAll(async () => {
    registry = new Registry();
    server = await startApiServer({ environment: env, registry });
  });
  afterAll(async () => {
    await server.close();
  });

  async function rawPeek(): Promise<string> {
    const session = http2.connect(server.grpcUrl);
    try {
      const body = toBinary(
        EnvironmentService.method.peek.input,
        create(EnvironmentService.method.peek.input, { object: "x" }),
      );
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      return await new Promise<string>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/mz.environment.v1.EnvironmentService/Peek",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let status = "";
        req.on("trailers", (t) => {
          status = String(t["grpc-status"]);
        });
        req.on("data", () => {});
        req.on("error", reject);
        req.on("end", () => resolve(status));
        req.end(frame);
      });
    } finally {
      session.close();
    }
  }

  it("on the lean gRPC path and through Connect, every stage once", async () => {
    expect(await rawPeek()).toBe("0");
    const metrics = async () => parse(await (await fetch(`${server.httpUrl}/metrics`)).text());
    let s = await metrics();
    for (const stage of PEEK_STAGE_LABELS) expect(s.get(stage)?.count, stage).toBe(1);
    expect(s.get("answered")!.sum).toBeGreaterThanOrEqual(0.004);
    // Connect JSON over HTTP/1.1: the same stages (received = decoded = admitted there).
    const res = await fetch(`${server.httpUrl}/mz.environment.v1.EnvironmentService/Peek`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ object: "x" }),
    });
    expect(res.status).toBe(200);
    s = await metrics();
    for (const stage of PEEK_STAGE_LABELS) expect(s.get(stage)?.count, stage).toBe(2);
  });
});
