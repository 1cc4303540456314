/**
 * The stream handler over a real HTTP/2 server on loopback, driven by a Connect gRPC client:
 * hello first, fencing by generation, newest connection wins, stage violations and malformed
 * payloads end the stream with their Connect codes, and the server keeps serving afterwards.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestToProto,
  computeResponsesFromProto,
  createHello,
} from "@mzts/protocol";
import { ComputeService, computeV1 } from "@mzts/protocol/wire";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AsyncQueue } from "../src/async-queue.js";
import { type EchoServer, startComputeEchoServer } from "../src/testing/compute-echo-server.js";

let server: EchoServer;
beforeEach(async () => {
  server = await startComputeEchoServer();
});
afterEach(async () => {
  await server.close();
});

const peek = (uuid: string): ComputeCommand => ({
  kind: "peek",
  peek: {
    uuid,
    target: { kind: "index", id: "u1" },
    arity: 1,
    timestamp: 1n,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  },
});

/** A controller stream: push command batches, read response batches or the error. */
function open() {
  const client = createClient(ComputeService, createGrpcTransport({ baseUrl: server.url }));
  const requests = new AsyncQueue<computeV1.ControlRequest>();
  const responses: ComputeResponse[] = [];
  const done = (async () => {
    try {
      for await (const msg of client.control(requests))
        responses.push(...computeResponsesFromProto(msg));
      return undefined;
    } catch (e) {
      return ConnectError.from(e);
    }
  })();
  return {
    send: (cmds: ComputeCommand[]) => requests.push(computeRequestToProto(cmds)),
    sendRaw: (msg: computeV1.ControlRequest) => requests.push(msg),
    responses,
    done,
    end: () => requests.end(),
  };
}

async function until(cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Stage 1 of a compute stream: createInstance right after the hello (command.proto). */
const CREATE_INSTANCE: ComputeCommand = {
  kind: "createInstance",
  config: { logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() } },
};

describe("controller stream handler", () => {
  it("serves hello, history, InitializationComplete, then live commands", async () => {
    const c = open();
    c.send([
      { kind: "hello", hello: createHello(1n) },
      CREATE_INSTANCE,
      peek("00000000-0000-4000-8000-000000000001"),
    ]);
    c.send([{ kind: "initializationComplete" }, peek("00000000-0000-4000-8000-000000000002")]);
    await until(() => c.responses.length === 2);
    expect(c.responses.map((r) => (r.kind === "peekResponse" ? r.uuid.slice(-1) : "?"))).toEqual([
      "1",
      "2",
    ]);
    expect(server.connections.current?.stage).toBe("live");
    c.end();
    expect(await c.done).toBeUndefined();
  });

  it("ends a stream whose first command is not a hello with InvalidArgument", async () => {
    const c = open();
    c.send([peek("00000000-0000-4000-8000-000000000001")]);
    const err = await c.done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("first command of a stream must be a hello");
  });

  it("fences an older generation with Aborted naming both, and keeps serving the newer one", async () => {
    const a = open();
    a.send([{ kind: "hello", hello: createHello(5n) }, CREATE_INSTANCE]);
    await until(() => server.connections.current !== null);
    const b = open();
    b.send([{ kind: "hello", hello: createHello(4n) }, CREATE_INSTANCE]);
    const err = await b.done;
    expect(err?.code).toBe(Code.Aborted);
    expect(err?.rawMessage).toMatch(/generation 4 .*generation 5/);
    a.send([peek("00000000-0000-4000-8000-00000000000a")]);
    await until(() => a.responses.length === 1);
    a.end();
    await a.done;
  });

  it("lets the newest connection win; the previous stream ends with Aborted", async () => {
    const a = open();
    a.send([{ kind: "hello", hello: createHello(3n) }, CREATE_INSTANCE]);
    await until(() => server.connections.current !== null);
    const b = open();
    b.send([
      { kind: "hello", hello: createHello(3n) },
      CREATE_INSTANCE,
      peek("00000000-0000-4000-8000-00000000000b"),
    ]);
    const errA = await a.done;
    expect(errA?.code).toBe(Code.Aborted);
    expect(errA?.rawMessage).toContain("replaced by a newer connection");
    await until(() => b.responses.length === 1);
    b.end();
    await b.done;
  });

  it("ends the stream on a second InitializationComplete (FailedPrecondition) and accepts the next controller", async () => {
    const a = open();
    a.send([
      { kind: "hello", hello: createHello(1n) },
      CREATE_INSTANCE,
      { kind: "initializationComplete" },
    ]);
    a.send([{ kind: "initializationComplete" }]);
    const err = await a.done;
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toContain("second InitializationComplete");
    const b = open();
    b.send([
      { kind: "hello", hello: createHello(1n) },
      CREATE_INSTANCE,
      peek("00000000-0000-4000-8000-00000000000c"),
    ]);
    await until(() => b.responses.length === 1);
    b.end();
    await b.done;
  });

  it("ends the stream on an undecodable command with InvalidArgument naming the field", async () => {
    const a = open();
    a.send([{ kind: "hello", hello: createHello(1n) }, CREATE_INSTANCE]);
    a.sendRaw(
      create(computeV1.ControlRequestSchema, {
        commands: [create(computeV1.ComputeCommandSchema, {})],
      }),
    );
    const err = await a.done;
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toMatch(/compute/);
  });
});
