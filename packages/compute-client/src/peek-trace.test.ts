/**
 * An instance's peeks with a fake replica connector (issue 16):
 * - a traced peek's `issued`, `written` (the first replica's write), `replied` (its answer's
 *   message arrived) and `answered` stages are marked, in order;
 * - `mz_compute_controller_peek_count` is read at scrape time: a peek's start and settle set no
 *   gauge, and a scrape shows the pending peeks;
 * - `mz_compute_commands_total` counts the commands sent at scrape time, with the same values
 *   as counting each send;
 * - a targeted peek's `cancelPeek` goes to its target only (the other replica never got the
 *   peek; it used to get every cancel).
 */
import { PeekStageIndex, PeekTrace } from "@mzts/controller-unified/state";
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import { dataflowDesc } from "@mzts/protocol/testing/compute-commands";
import { pino } from "pino";
import { type Counter, type Gauge, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import {
  type ComputeReplicaConnection,
  type ComputeReplicaConnector,
  createComputeController,
} from "./index.js";

type Options = Parameters<ComputeReplicaConnector>[0];

/** A connector whose incarnations connect at once and write every command they are sent. */
function fakeConnector() {
  const tasks = new Map<string, Options>();
  const sent = new Map<string, ComputeCommand[]>();
  const connector: ComputeReplicaConnector = (o) => {
    tasks.set(o.replicaId, o);
    sent.set(o.replicaId, []);
    queueMicrotask(() => {
      o.onConnected(o.epoch);
      for (const c of o.replay()) o.onCommandSent?.(c);
    });
    const conn: ComputeReplicaConnection = {
      epoch: o.epoch,
      state: "connected",
      send(commands) {
        for (const c of commands) {
          sent.get(o.replicaId)!.push(c);
          o.onCommandSent?.(c);
        }
      },
      close: async () => {},
    };
    return conn;
  };
  const answer = (replicaId: string, uuid: string) => {
    const o = tasks.get(replicaId)!;
    const r: ComputeResponse = {
      kind: "peekResponse",
      uuid,
      response: { kind: "rows", rows: [[[1n], 1]] },
    };
    o.onResponses(o.epoch, [r], performance.now());
  };
  return { connector, sent, answer };
}

async function setup() {
  const registry = new Registry();
  const fake = fakeConnector();
  const controller = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry,
  });
  const logging = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
  controller.createInstance("c1", logging, { connector: fake.connector });
  controller.addReplica("c1", "u11", { computeUrl: "http://127.0.0.1:1" });
  controller.addReplica("c1", "u12", { computeUrl: "http://127.0.0.1:1" });
  await new Promise<void>((r) => setImmediate(r));
  controller.createDataflow("c1", dataflowDesc(["u1"], 0n));
  const peekUuid = () => {
    const p = fake.sent.get("u11")!.findLast((c) => c.kind === "peek");
    if (p?.kind !== "peek") throw new Error("no peek sent");
    return p.peek.uuid;
  };
  const values = async (name: string) =>
    (await registry.getSingleMetric(name)!.get()).values.filter(
      (v) => v.labels.instance_id === "c1",
    );
  return { registry, fake, controller, peekUuid, values };
}

describe("a traced peek through an instance", () => {
  it("marks issued, written (first replica), replied and answered, in order", async () => {
    const { fake, controller, peekUuid } = await setup();
    const trace = new PeekTrace();
    const answer = controller.peek("c1", { target: "u1", timestamp: 0n, trace });
    expect(trace.at[PeekStageIndex.issued]).toBeGreaterThan(0);
    await new Promise<void>((r) => setImmediate(r)); // the replica tasks' sends of the turn
    const written = trace.at[PeekStageIndex.written]!;
    expect(written).toBeGreaterThanOrEqual(trace.at[PeekStageIndex.issued]!);
    expect(trace.at[PeekStageIndex.answered]).toBe(0);
    fake.answer("u12", peekUuid());
    await expect(answer).resolves.toMatchObject({ replicaId: "u12" });
    const replied = trace.at[PeekStageIndex.replied]!;
    expect(replied).toBeGreaterThanOrEqual(written);
    expect(trace.at[PeekStageIndex.answered]).toBeGreaterThanOrEqual(replied);
    expect(trace.at[PeekStageIndex.written]).toBe(written); // the first write's, kept
    await controller.close();
  });
});

describe("the peek count and the command counter are read at scrape time", () => {
  it("a peek sets no gauge; a scrape shows the pending peeks; counts match the sends", async () => {
    const { registry, fake, controller, peekUuid, values } = await setup();
    const gauge = registry.getSingleMetric("mz_compute_controller_peek_count") as Gauge;
    const counter = registry.getSingleMetric("mz_compute_commands_total") as Counter;
    const set = vi.spyOn(gauge, "set");
    const inc = vi.spyOn(counter, "inc");
    const answers = [0, 1, 2].map(() => controller.peek("c1", { target: "u1", timestamp: 0n }));
    await new Promise<void>((r) => setImmediate(r));
    expect(set).not.toHaveBeenCalled(); // issue 16: five labelled gauge sets per peek before
    expect(inc).not.toHaveBeenCalled();
    expect(await values("mz_compute_controller_peek_count")).toEqual([
      expect.objectContaining({ value: 3 }),
    ]);
    const peeks = fake.sent.get("u11")!.filter((c) => c.kind === "peek");
    expect(peeks).toHaveLength(3);
    for (const p of peeks) if (p.kind === "peek") fake.answer("u11", p.peek.uuid);
    await Promise.all(answers);
    expect(peekUuid()).toBeDefined();
    set.mockClear();
    await new Promise<void>((r) => setImmediate(r));
    expect(set).not.toHaveBeenCalled();
    expect(await values("mz_compute_controller_peek_count")).toEqual([
      expect.objectContaining({ value: 0 }),
    ]);
    const commands = await values("mz_compute_commands_total");
    const count = (replica: string, kind: string) =>
      commands.find((v) => v.labels.replica_id === replica && v.labels.command_type === kind)
        ?.value;
    for (const replica of ["u11", "u12"]) {
      const sent = fake.sent.get(replica)!;
      expect(count(replica, "peek")).toBe(3);
      expect(count(replica, "cancelPeek")).toBe(3);
      expect(count(replica, "createDataflow")).toBe(
        sent.filter((c) => c.kind === "createDataflow").length,
      );
      expect(count(replica, "hello")).toBe(1); // replayed
    }
    // A second scrape adds nothing new.
    expect(await values("mz_compute_commands_total")).toEqual(commands);
    await controller.close();
  });
});

describe("a targeted peek", () => {
  it("is sent, and canceled, on its target replica only", async () => {
    const { fake, controller } = await setup();
    const before = fake.sent.get("u12")!.length;
    const answer = controller.peek("c1", { target: "u1", timestamp: 0n, targetReplica: "u11" });
    await new Promise<void>((r) => setImmediate(r));
    const peek = fake.sent.get("u11")!.findLast((c) => c.kind === "peek");
    if (peek?.kind !== "peek") throw new Error("no peek sent to the target");
    fake.answer("u11", peek.peek.uuid);
    await expect(answer).resolves.toMatchObject({ replicaId: "u11" });
    await new Promise<void>((r) => setImmediate(r));
    expect(fake.sent.get("u11")!.filter((c) => c.kind === "cancelPeek")).toEqual([
      { kind: "cancelPeek", uuid: peek.peek.uuid },
    ]);
    expect(fake.sent.get("u12")!.slice(before)).toEqual([]);
    // An untargeted peek's cancel still goes to both.
    const untargeted = controller.peek("c1", { target: "u1", timestamp: 0n });
    await new Promise<void>((r) => setImmediate(r));
    const p2 = fake.sent.get("u12")!.findLast((c) => c.kind === "peek");
    if (p2?.kind !== "peek") throw new Error("no peek sent");
    fake.answer("u12", p2.peek.uuid);
    await untargeted;
    for (const r of ["u11", "u12"]) {
      expect(
        fake.sent
          .get(r)!
          .filter((c) => c.kind === "cancelPeek")
          .at(-1),
      ).toEqual({
        kind: "cancelPeek",
        uuid: p2.peek.uuid,
      });
    }
    await controller.close();
  });
});
