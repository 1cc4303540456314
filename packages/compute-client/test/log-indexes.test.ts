/**
 * Log indexes (phase 2, *logging*) in the compute controller, against fake replicas that record
 * what each incarnation was sent: the instance's `LoggingConfig.indexLogs` names them; they are
 * peekable only with a target replica, through the pending-peeks path, without read holds or
 * compaction commands; their ids cannot be exported, and imported only by replica-targeted
 * subscribes (`targeted-subscribes.test.ts`).
 */
import type { ComputeCommand, LoggingConfig } from "@mzts/protocol";
import { dataflowDesc } from "@mzts/protocol/testing/compute-commands";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  CollectionExists,
  CollectionMissing,
  type ComputeController,
  createComputeController,
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  PeekFailed,
  ReplicaMissing,
} from "../src/index.js";
import { fakeReplicas } from "./fake-replicas.js";

const LOGGING: LoggingConfig = {
  enabled: true,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map([
    ["dataflows", "s1000"],
    ["operators", "s1002"],
  ]),
};

let controller: ComputeController | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
});

function start(logging: LoggingConfig = LOGGING) {
  const fake = fakeReplicas();
  const c = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  controller = c;
  c.createInstance("c1", logging, { connector: fake.connector });
  c.addReplica("c1", "u1", { computeUrl: "http://127.0.0.1:1" });
  c.addReplica("c1", "u2", { computeUrl: "http://127.0.0.1:2" });
  return { c, fake };
}

/** The pending `peek` command of `target` an incarnation was sent. */
function sentPeek(sent: readonly ComputeCommand[], target: string) {
  const p = sent.find((x) => x.kind === "peek" && x.peek.target.id === target);
  return p?.kind === "peek" ? p.peek : undefined;
}

describe("log indexes in the compute controller", () => {
  it("a targeted peek of a log index is answered by its target replica only, without holds", async () => {
    const { c, fake } = start();
    expect([...c.logIndexes("c1").keys()]).toEqual(["s1000", "s1002"]);
    // At time 5: far below anything the controller could hold; the replica judges its own since.
    const answer = c.peek("c1", { target: "s1000", timestamp: 5n, targetReplica: "u2" });
    const peek = sentPeek(fake.of("u2").sent, "s1000");
    expect(peek).toMatchObject({ arity: 3, timestamp: 5n, targetReplica: "u2" });
    if (peek === undefined) throw new Error("peek not sent");
    // The other replica answers too (it has the same log index about itself): ignored.
    fake.of("u1").opts.onResponses(1, [
      {
        kind: "peekResponse",
        uuid: peek.uuid,
        response: { kind: "rows", rows: [[[0n, 0n, "x"], 1]] },
      },
    ]);
    fake.of("u2").opts.onResponses(1, [
      {
        kind: "peekResponse",
        uuid: peek.uuid,
        response: { kind: "rows", rows: [[[1n, 0n, "index u7"], 1]] },
      },
    ]);
    expect(await answer).toEqual({ rows: [[[1n, 0n, "index u7"], 1]], replicaId: "u2" });
    const sent = fake.of("u2").sent;
    expect(sent).toContainEqual({ kind: "cancelPeek", uuid: peek.uuid });
    // No read hold, so no compaction command, ever, and no collection to ask frontiers of.
    expect(sent.some((x) => x.kind === "allowCompaction")).toBe(false);
    expect(() => c.frontiers("s1000")).toThrow(CollectionMissing);
  });

  it("refuses an untargeted peek of a log index, and an unknown target replica", async () => {
    const { c, fake } = start();
    const untargeted = c.peek("c1", { target: "s1002", timestamp: 5n });
    await expect(untargeted).rejects.toBeInstanceOf(LogPeekUntargeted);
    await expect(untargeted).rejects.toThrow(/introspection relation operators.*targetReplica/);
    await expect(
      c.peek("c1", { target: "s1002", timestamp: 5n, targetReplica: "u9" }),
    ).rejects.toBeInstanceOf(ReplicaMissing);
    expect(fake.incarnations.some((i) => i.sent.some((x) => x.kind === "peek"))).toBe(false);
  });

  it("fails a log peek whose target replica goes away", async () => {
    const { c } = start();
    const answer = c.peek("c1", { target: "s1000", timestamp: 5n, targetReplica: "u1" });
    await c.dropReplica("c1", "u1");
    await expect(answer).rejects.toBeInstanceOf(PeekFailed);
  });

  it("log index ids are taken: no dataflow exports or imports one", () => {
    const { c } = start();
    expect(() => c.createDataflow("c1", dataflowDesc(["s1000"], 0n))).toThrow(CollectionExists);
    const importing = {
      ...dataflowDesc(["u20"], 0n),
      indexImports: [{ id: "s1000", key: [0], arity: 3 }],
    };
    expect(() => c.createDataflow("c1", importing)).toThrow(LogImportUntargeted);
  });

  it("with logging off there are no log indexes", async () => {
    const { c } = start({ ...LOGGING, enabled: false, intervalMs: 0 });
    expect(c.logIndexes("c1").size).toBe(0);
    await expect(
      c.peek("c1", { target: "s1000", timestamp: 5n, targetReplica: "u1" }),
    ).rejects.toBeInstanceOf(CollectionMissing);
  });

  it("refuses a logging config its replicas could not serve", () => {
    const c = createComputeController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
    });
    controller = c;
    const fake = fakeReplicas();
    const bad = (logging: LoggingConfig) => () =>
      c.createInstance("c9", logging, { connector: fake.connector });
    expect(bad({ ...LOGGING, indexLogs: new Map([["compute.operators", "s1"]]) })).toThrow(
      /no introspection relation \(known: dataflows, dataflow_exports/,
    );
    expect(
      bad({
        ...LOGGING,
        indexLogs: new Map([
          ["dataflows", "s1"],
          ["operators", "s1"],
        ]),
      }),
    ).toThrow(/two relations to s1/);
    expect(bad({ ...LOGGING, indexLogs: new Map([["dataflows", "x1"]]) })).toThrow(
      /not a GlobalId/,
    );
    expect(bad({ ...LOGGING, intervalMs: 0 })).toThrow(InvalidLoggingConfig);
    // Nothing half-created: the id is still free.
    c.createInstance("c9", LOGGING, { connector: fake.connector });
  });
});

describe("targeted peeks", () => {
  it("go to their target replica only, live and in a replay", async () => {
    const { c, fake } = start();
    void c.peek("c1", { target: "s1000", timestamp: 5n, targetReplica: "u2" }).catch(() => {});
    expect(sentPeek(fake.of("u2").sent, "s1000")).toBeDefined();
    expect(sentPeek(fake.of("u1").sent, "s1000")).toBeUndefined();
    // u1 rehydrates: its replay leaves out the pending peek targeted at u2; u2's keeps it.
    const u1 = fake.of("u1");
    u1.opts.onFailed(u1.opts.epoch, new Error("connection reset"));
    expect(sentPeek(fake.of("u1").opts.replay(), "s1000")).toBeUndefined();
    expect(sentPeek(fake.of("u2").opts.replay(), "s1000")).toBeDefined();
  });
});
