/**
 * Replica-targeted subscribes (`targeted.ts`), against fake replicas that record what each
 * incarnation was sent: the subscribe goes to its target only, live and in the target's replays
 * after a reconnect, never to another replica (not even in a replay); it may import the
 * instance's log indexes; another replica's batches for it are ignored; it ends when the target
 * is dropped, and then nobody is told about it anymore.
 */
import type { ComputeCommand, DataflowDescription, LoggingConfig } from "@mzts/protocol";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ComputeController,
  createComputeController,
  LogImportUntargeted,
  ReplicaMissing,
  type SubscribeBatch,
  SubscribeFailed,
} from "../src/index.js";
import { fakeReplicas } from "./fake-replicas.js";

const LOGGING: LoggingConfig = {
  enabled: true,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map([["hydration_times", "s1010"]]),
};

/** A subscribe over replica-local `hydration_times` (export_id, worker_id, time_ns). */
const TAP: DataflowDescription = {
  debugName: "hydration tap",
  sourceImports: [],
  indexImports: [{ id: "s1010", key: [0, 1], arity: 3 }],
  objectsToBuild: [{ id: "t5", plan: { kind: "get", id: "s1010", arity: 3 } }],
  indexExports: [],
  sinkExports: [{ id: "t5", fromId: "t5", connection: { kind: "subscribe" } }],
  asOf: 1000n,
  until: null,
};

let controller: ComputeController | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
});

function start() {
  const fake = fakeReplicas();
  const c = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  controller = c;
  c.createInstance("c1", LOGGING, { connector: fake.connector });
  c.addReplica("c1", "u1", { computeUrl: "http://127.0.0.1:1" });
  c.addReplica("c1", "u2", { computeUrl: "http://127.0.0.1:2" });
  return { c, fake };
}

/** Whether `commands` mention subscribe t5 at all. */
const mentionsTap = (commands: readonly ComputeCommand[]) =>
  commands.some(
    (x) =>
      (x.kind === "createDataflow" && x.dataflow.sinkExports.some((s) => s.id === "t5")) ||
      ((x.kind === "schedule" || x.kind === "allowCompaction") && x.id === "t5"),
  );

const settle = () => new Promise((r) => setImmediate(r));

describe("replica-targeted subscribes", () => {
  it("go to the target only, live and in its replays, never to another replica", async () => {
    const { c, fake } = start();
    const got: SubscribeBatch[] = [];
    const reading = (async () => {
      for await (const b of c.subscribe("c1", TAP, { targetReplica: "u2" })) got.push(b);
    })();
    expect(mentionsTap(fake.of("u2").sent)).toBe(true);
    expect(mentionsTap(fake.of("u1").sent)).toBe(false);
    expect(mentionsTap(fake.of("u1").opts.replay())).toBe(false);

    const batch = (replicaId: string, lower: bigint, upper: bigint, time_ns: bigint) => {
      const i = fake.of(replicaId);
      i.opts.onResponses(i.opts.epoch, [
        {
          kind: "subscribeResponse",
          id: "t5",
          response: {
            kind: "batch",
            lower,
            upper,
            result: { kind: "updates", updates: [[["u7", 0n, time_ns], lower, 1]] },
          },
        },
      ]);
    };
    // u1 answering (it must not, but a stale one might) is ignored: only u2's log counts.
    batch("u1", 1000n, 3000n, 1n);
    batch("u2", 1000n, 2000n, 2n);
    await settle();
    expect(got.map((b) => b.updates)).toEqual([[[["u7", 0n, 2n], 1000n, 1]]]);
    // The since follows the target's batches only; the compaction goes to u2 only.
    expect(c.frontiers("t5").since).toBe(1999n);
    expect(fake.of("u2").sent).toContainEqual({
      kind: "allowCompaction",
      id: "t5",
      frontier: 1999n,
    });
    expect(mentionsTap(fake.of("u1").sent)).toBe(false);

    // Both reconnect: u2's replay rebuilds it (at its since), u1's does not have it.
    for (const r of ["u1", "u2"]) {
      const i = fake.of(r);
      i.opts.onFailed(i.opts.epoch, new Error("killed"));
    }
    for (let i = 0; i < 500 && fake.of("u2").opts.epoch < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fake.of("u2").opts.epoch).toBe(2);
    const replay2 = fake.of("u2").opts.replay();
    const create = replay2.find((x) => x.kind === "createDataflow");
    expect(create?.kind === "createDataflow" && create.dataflow.asOf).toBe(1999n);
    expect(mentionsTap(fake.of("u1").opts.replay())).toBe(false);

    // Dropping the target ends the stream; nobody hears of it again.
    await c.dropReplica("c1", "u2");
    await expect(reading).rejects.toBeInstanceOf(SubscribeFailed);
    await expect(reading).rejects.toThrow(/target replica u2 was dropped/);
    expect(() => c.frontiers("t5")).toThrow();
    expect(mentionsTap(fake.of("u1").sent)).toBe(false);
    expect(mentionsTap(fake.of("u1").opts.replay())).toBe(false);
    // Its id is free again (the history forgot it).
    c.addReplica("c1", "u3", { computeUrl: "http://127.0.0.1:3" });
    expect(mentionsTap(fake.of("u3").opts.replay())).toBe(false);
  });

  it("refuses a log import without a target, an unknown target and a wrong arity", () => {
    const { c, fake } = start();
    expect(() => c.subscribe("c1", TAP)).toThrow(LogImportUntargeted);
    expect(() => c.subscribe("c1", TAP, { targetReplica: "u9" })).toThrow(ReplicaMissing);
    const wrong = { ...TAP, indexImports: [{ id: "s1010", key: [0], arity: 2 }] };
    expect(() => c.subscribe("c1", wrong, { targetReplica: "u1" })).toThrow(/arity 2/);
    expect(fake.incarnations.some((i) => mentionsTap(i.sent))).toBe(false);
  });

  it("a targeted subscribe over ordinary collections is still built by its target only", () => {
    const { c, fake } = start();
    c.createDataflow("c1", {
      ...TAP,
      debugName: "constant",
      indexImports: [],
      objectsToBuild: [{ id: "u20", plan: { kind: "constant", rows: [], arity: 1 } }],
      indexExports: [{ id: "u20", objectId: "u20", key: [0] }],
      sinkExports: [],
    });
    const sub: DataflowDescription = {
      ...TAP,
      indexImports: [{ id: "u20", key: [0], arity: 1 }],
      objectsToBuild: [{ id: "t5", plan: { kind: "get", id: "u20", arity: 1 } }],
    };
    void c.subscribe("c1", sub, { targetReplica: "u1" });
    expect(mentionsTap(fake.of("u1").sent)).toBe(true);
    expect(mentionsTap(fake.of("u2").sent)).toBe(false);
  });
});
