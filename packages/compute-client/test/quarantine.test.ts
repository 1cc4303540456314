/**
 * Poison-command quarantine (`src/quarantine.ts`): a command that made replicas fail twice is
 * taken out of the history, its object reported failed with the reason, and the replicas come
 * back with a replay that no longer holds it. Driven through the real controller with a fake
 * replica connection that "dies" on a poison command (as a replica did on an undecodable plan or
 * a peek it crashed on) and answers every other command.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ComputeCommand,
  type ComputeResponse,
  type DataflowDescription,
  REFUSAL_TRAILER,
} from "@mzts/protocol";
import { dataflowDesc } from "@mzts/protocol/testing/compute-commands";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ComputeController,
  type ComputeReplicaConnector,
  createComputeController,
  PeekFailed,
  PoisonQuarantine,
} from "../src/index.js";

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

/** What the fake replicas saw: the replay of every incarnation, by replica. */
const replays: Array<{ replica: string; epoch: number; commands: readonly ComputeCommand[] }> = [];

/** Dies on a dataflow named "poison" or a peek of u9; answers everything else at once. */
const fakeReplica: ComputeReplicaConnector = (o) => {
  let state: "connecting" | "connected" | "failed" | "closed" = "connecting";
  const die = (why: string) => {
    if (state !== "connected") return;
    state = "failed";
    o.onFailed(o.epoch, new Error(why));
  };
  const apply = (cmds: readonly ComputeCommand[]) => {
    const out: ComputeResponse[] = [];
    for (const c of cmds) {
      if (state !== "connected") return;
      o.onCommandSent?.(c);
      if (c.kind === "createDataflow") {
        if (c.dataflow.debugName === "poison") return die("undecodable payload");
        for (const e of c.dataflow.indexExports) {
          out.push({
            kind: "frontiers",
            id: e.id,
            frontiers: { write: c.dataflow.asOf, input: c.dataflow.asOf, output: c.dataflow.asOf },
          });
        }
      } else if (c.kind === "peek") {
        if (c.peek.target.kind === "index" && c.peek.target.id === "u9") return die("worker died");
        out.push({ kind: "peekResponse", uuid: c.peek.uuid, response: { kind: "rows", rows: [] } });
      }
    }
    if (out.length > 0) o.onResponses(o.epoch, out);
  };
  setImmediate(() => {
    if (state !== "connecting") return;
    state = "connected";
    o.onConnected(o.epoch);
    const commands = o.replay();
    replays.push({ replica: o.replicaId, epoch: o.epoch, commands });
    apply(commands);
  });
  return {
    epoch: o.epoch,
    get state() {
      return state;
    },
    send: (cmds: readonly ComputeCommand[]) => setImmediate(() => apply(cmds)),
    async close() {
      state = "closed";
    },
  };
};

let controller: ComputeController | undefined;
afterEach(async () => {
  await controller?.close();
  controller = undefined;
  replays.length = 0;
});

function start(replicas: string[], connector = fakeReplica): ComputeController {
  controller = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  controller.createInstance("u1", LOGGING, { connector });
  for (const r of replicas) controller.addReplica("u1", r, { computeUrl: "http://127.0.0.1:1" });
  return controller;
}

const until = async (cond: () => boolean, what: string) => {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const holds = (commands: readonly ComputeCommand[], debugName: string) =>
  commands.some((c) => c.kind === "createDataflow" && c.dataflow.debugName === debugName);

describe("poison-command quarantine", () => {
  it("a dataflow that made the replica fail twice is reported failed and no longer replayed", async () => {
    const c = start(["u1"]);
    const good: DataflowDescription = { ...dataflowDesc(["u2"], 0n), debugName: "good" };
    c.createDataflow("u1", good);
    await until(() => c.frontiers("u2").reported, "good dataflow answered");
    c.createDataflow("u1", { ...dataflowDesc(["u3"], 0n), debugName: "poison" });
    await until(() => c.failures("u1").has("u3"), "u3 quarantined");
    expect(c.failures("u1").get("u3")).toMatch(
      /^quarantined: replica u1 failed 2 times while applying it \(last: undecodable payload\); it is no longer sent to replicas$/,
    );
    // The incarnation after the quarantine gets a replay without the poison, with the good one.
    await until(() => c.replicas("u1")[0]?.state === "connected", "replica connected");
    const last = replays.at(-1)!;
    expect(holds(last.commands, "poison")).toBe(false);
    expect(holds(last.commands, "good")).toBe(true);
    const failures = c.replicas("u1")[0]!.failures;
    expect(failures).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.replicas("u1")[0]!.failures).toBe(failures); // no more failures: not replayed
    // Dropping it clears the failure.
    expect(() => c.dropCollection("u3")).toThrow(); // already gone from the controller
    expect(c.failures("u1").has("u3")).toBe(false);
  });

  it("a peek that kills both replicas fails with the reason and is not replayed", async () => {
    const c = start(["u1", "u2"]);
    c.createDataflow("u1", { ...dataflowDesc(["u9"], 0n), debugName: "target" });
    // u9's dataflow is answered: only the peek is a suspect.
    await until(() => c.frontiers("u9").reported, "u9 answered");
    const peek = c.peek("u1", { target: "u9", timestamp: 0n, timeoutMs: 5000 });
    await expect(peek).rejects.toBeInstanceOf(PeekFailed);
    await expect(peek).rejects.toThrow(/quarantined: replica u\d failed 2 times/);
    await until(() => c.replicas("u1").every((r) => r.state === "connected"), "replicas back");
    const last = replays.at(-1)!;
    expect(last.commands.some((x) => x.kind === "peek")).toBe(false);
    expect(c.failures("u1").size).toBe(0); // a peek is not a collection
  });
});

describe("poison-command quarantine and hello refusals", () => {
  it("a replica refusing the hello strikes none of the commands it was sent", async () => {
    let refusals = 3;
    const refusing: ComputeReplicaConnector = (o) => {
      if (refusals === 0) return fakeReplica(o);
      refusals--;
      setImmediate(() => {
        o.onConnected(o.epoch);
        for (const cmd of o.replay()) o.onCommandSent?.(cmd);
        const refused = new ConnectError("hello refused", Code.Unauthenticated, {
          [REFUSAL_TRAILER]: "unauthenticated",
        });
        o.onFailed(o.epoch, refused);
      });
      return { epoch: o.epoch, state: "connecting", send: () => {}, close: async () => {} };
    };
    const c = start(["u1"], refusing);
    // Not answered by anyone yet, and in the replay of every refused incarnation.
    c.createDataflow("u1", { ...dataflowDesc(["u2"], 0n), debugName: "fresh" });
    await until(() => c.frontiers("u2").reported, "u2 answered once a hello is taken");
    expect(c.replicas("u1")[0]!.failures).toBe(3);
    expect(c.failures("u1").size).toBe(0);
  });
});

describe("PoisonQuarantine", () => {
  const df = (name: string, id: string): ComputeCommand => ({
    kind: "createDataflow",
    dataflow: { ...dataflowDesc([id], 0n), debugName: name },
  });

  it("never strikes what some replica answered, nor what was sent long before the failure", () => {
    let now = 0;
    const q = new PoisonQuarantine(() => now);
    q.sent("u1", df("a", "u2"));
    q.answered({ kind: "frontiers", id: "u2", frontiers: { write: 1n } });
    q.sent("u1", df("a", "u2"));
    expect(q.failed("u1", "x")).toBeUndefined();
    expect(q.failed("u1", "x")).toBeUndefined();
    q.sent("u1", df("b", "u3"));
    now = 60_000;
    expect(q.failed("u1", "x")).toBeUndefined();
    q.sent("u1", df("b", "u3"));
    expect(q.failed("u1", "x")).toBeUndefined(); // one strike only: the first was outside the window
  });

  it("forgets what a dropped replica had in flight", () => {
    const q = new PoisonQuarantine(() => 0);
    q.sent("u1", df("a", "u2"));
    expect(q.failed("u1", "boom")).toBeUndefined(); // one strike
    q.sent("u1", df("a", "u2"));
    q.forgetReplica("u1"); // the replica was dropped before its incarnation failed
    expect(q.failed("u1", "boom")).toBeUndefined();
  });

  it("counts strikes per replica: every replica crashing at once is one strike each", () => {
    const q = new PoisonQuarantine(() => 0);
    q.sent("u1", df("a", "u2"));
    q.sent("u2", df("a", "u2"));
    expect(q.failed("u1", "killed")).toBeUndefined();
    expect(q.failed("u2", "killed")).toBeUndefined(); // summed over replicas this was 2 strikes
    q.sent("u1", df("a", "u2")); // the replay
    q.sent("u2", df("a", "u2"));
    const r = q.failed("u2", "died applying it");
    expect(r).toMatchObject({ kind: "dataflow", ids: ["u2"] });
    expect(r?.reason).toMatch(/^quarantined: replica u2 failed 2 times while applying it/);
  });

  it("quarantines the newest of several suspects, one per failure", () => {
    const q = new PoisonQuarantine(() => 0);
    for (let i = 0; i < 2; i++) {
      q.sent("u1", df("old", "u2"));
      q.sent("u1", df("new", "u3"));
      const r = q.failed("u1", "boom");
      if (i === 0) expect(r).toBeUndefined();
      else expect(r).toMatchObject({ kind: "dataflow", ids: ["u3"] });
    }
  });
});

describe("a subscribe that answered", () => {
  it("is no suspect: kills of every replica right after its replay never quarantine it", () => {
    const q = new PoisonQuarantine();
    const sub: DataflowDescription = {
      ...dataflowDesc([], 0n),
      debugName: "subscribe",
      sinkExports: [{ id: "t1", fromId: "u1", connection: { kind: "subscribe" } }],
    };
    const create: ComputeCommand = { kind: "createDataflow", dataflow: sub };
    q.sent("u1", create);
    q.sent("u2", create);
    // Subscribes report batches, never frontiers: a batch is its answer.
    q.answered({
      kind: "subscribeResponse",
      id: "t1",
      response: { kind: "batch", lower: 0n, upper: 5n, result: { kind: "updates", updates: [] } },
    });
    expect(q.failed("u1", "killed")).toBeUndefined();
    q.sent("u1", create); // the replay
    expect(q.failed("u2", "killed")).toBeUndefined();
    expect(q.failed("u1", "killed")).toBeUndefined();
    expect(q.failures().size).toBe(0);
  });
});
