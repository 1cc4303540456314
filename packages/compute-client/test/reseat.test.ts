/**
 * Reseating an instance's replicas on a new connector (a live flip of a controller-side phase,
 * environmentd's `environment/flips/`): every replica's next incarnation goes through the new
 * connector and replays the reduced history — a pending peek included, so it is answered by the
 * new incarnation — the old incarnations' responses no longer count, collections and frontiers
 * stay, and `replicaFrontiers` shows a replica's reports reset until its new incarnation reports.
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import { dataflowDesc } from "@mzts/protocol/testing/compute-commands";
import { pino } from "pino";
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import { createComputeController } from "../src/index.js";
import { type FakeReplicas, fakeReplicas } from "./fake-replicas.js";

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

function respond(fake: FakeReplicas, replicaId: string, responses: ComputeResponse[]): void {
  const inc = fake.of(replicaId);
  inc.opts.onResponses(inc.opts.epoch, responses);
}

it("reseats every replica on the new connector; a pending peek is answered through it", async () => {
  const legacy = fakeReplicas();
  const unified = fakeReplicas();
  const c = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  try {
    c.createInstance("c1", LOGGING, { connector: legacy.connector });
    c.addReplica("c1", "u1", { computeUrl: "http://127.0.0.1:1" });
    c.addReplica("c1", "u2", { computeUrl: "http://127.0.0.1:2" });
    c.createDataflow("c1", dataflowDesc(["u31"], 0n));
    await new Promise((r) => setTimeout(r, 0)); // the fake incarnations connect
    for (const r of ["u1", "u2"]) {
      respond(legacy, r, [{ kind: "frontiers", id: "u31", frontiers: { write: 5n } }]);
    }
    expect(c.replicaFrontiers("c1", "u1").get("u31")).toMatchObject({ replica: 5n, global: 5n });
    const answer = c.peek("c1", { target: "u31", timestamp: 4n, timeoutMs: 5_000 });

    await c.reseatReplicas("c1", unified.connector);
    expect(unified.incarnations.map((i) => [i.opts.replicaId, i.opts.epoch])).toEqual([
      ["u1", 2],
      ["u2", 2],
    ]);
    // Reset until the new incarnation reports; the global frontier never moves back.
    expect(c.replicaFrontiers("c1", "u1").get("u31")).toMatchObject({
      replica: undefined,
      global: 5n,
    });
    expect(c.frontiers("u31").write).toBe(5n);
    // The replay carries the dataflow and the pending peek.
    const replay = unified.of("u1").opts.replay();
    expect(replay.map((x) => x.kind)).toContain("createDataflow");
    const peek = replay.find(
      (x): x is Extract<ComputeCommand, { kind: "peek" }> => x.kind === "peek",
    );
    expect(peek).toBeDefined();
    // An old incarnation's answer no longer counts; the new one's does.
    respond(legacy, "u1", [
      { kind: "peekResponse", uuid: peek?.peek.uuid ?? "", response: { kind: "rows", rows: [] } },
    ]);
    respond(unified, "u2", [
      {
        kind: "peekResponse",
        uuid: peek?.peek.uuid ?? "",
        response: { kind: "rows", rows: [[[7n], 1]] },
      },
    ]);
    expect(await answer).toMatchObject({ replicaId: "u2", rows: [[[7n], 1]] });
    respond(unified, "u1", [{ kind: "frontiers", id: "u31", frontiers: { write: 6n } }]);
    expect(c.replicaFrontiers("c1", "u1").get("u31")).toMatchObject({ replica: 6n, global: 6n });
    expect(legacy.incarnations).toHaveLength(2); // nothing more through the old connector
  } finally {
    await c.close();
  }
});
