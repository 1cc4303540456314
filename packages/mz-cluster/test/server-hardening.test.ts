/**
 * Hardening of the controller-stream server over a real HTTP/2 socket (issue 10, "Replica
 * ports"): undecodable payloads are InvalidArgument, compressed and oversized messages are
 * refused, createInstance keeps to its stage, and hellos authenticate with the environment's
 * replica secret — an attacker with a higher generation neither fences nor supersedes the real
 * controller.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestToProto,
  computeResponsesFromProto,
  createHello,
  generateReplicaSecret,
  type Hello,
  HIGHEST_GENERATION_TRAILER,
  helloRefusalOf,
  MAX_COMMAND_MESSAGE_BYTES,
  REFUSAL_TRAILER,
  signHello,
} from "@mzts/protocol";
import { ComputeService, computeV1 } from "@mzts/protocol/wire";
import { afterEach, describe, expect, it } from "vitest";
import { AsyncQueue } from "../src/async-queue.js";
import { type EchoServer, startComputeEchoServer } from "../src/testing/compute-echo-server.js";
import { grpcFrame, rawGrpcCall } from "../src/testing/raw-grpc.js";

const CONTROL = "/mz.compute.v1.ComputeService/Control";
let server: EchoServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const peek = (n: number): ComputeCommand => ({
  kind: "peek",
  peek: {
    uuid: `00000000-0000-4000-8000-${n.toString().padStart(12, "0")}`,
    target: { kind: "index", id: "u1" },
    arity: 1,
    timestamp: 1n,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  },
});
const createInstance: ComputeCommand = {
  kind: "createInstance",
  config: { logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() } },
};

function open(url: string) {
  const client = createClient(ComputeService, createGrpcTransport({ baseUrl: url }));
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
    hello: (h: Hello) => requests.push(computeRequestToProto([{ kind: "hello", hello: h }])),
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

const helloBytes = (h: Hello) =>
  toBinary(computeV1.ControlRequestSchema, computeRequestToProto([{ kind: "hello", hello: h }]));

describe("message limits and encodings", () => {
  it("an undecodable payload ends the stream with InvalidArgument (not Internal)", async () => {
    server = await startComputeEchoServer();
    const r = await rawGrpcCall(server.url, CONTROL, [
      grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    ]);
    expect(r.status).toBe(Code.InvalidArgument);
    expect(r.message).toMatch(/undecodable request message/);
  });

  it("refuses gzip-compressed messages (a 522 KB gzip inflated to 512 MB before)", async () => {
    server = await startComputeEchoServer();
    const { gzipSync } = await import("node:zlib");
    const payload = gzipSync(helloBytes(createHello(1n)));
    const r = await rawGrpcCall(server.url, CONTROL, [grpcFrame(payload, 1)], {
      "grpc-encoding": "gzip",
    });
    expect(r.status).toBe(Code.Unimplemented);
    expect(server.connections.current).toBeNull();
    // A compressed flag without an encoding is undecodable too.
    const r2 = await rawGrpcCall(server.url, CONTROL, [grpcFrame(payload, 1)]);
    expect(r2.status).toBe(Code.InvalidArgument);
  });

  it("refuses a message over the limit from its length prefix, before buffering it", async () => {
    server = await startComputeEchoServer();
    const r = await rawGrpcCall(server.url, CONTROL, [
      grpcFrame(new Uint8Array(16), 0, MAX_COMMAND_MESSAGE_BYTES + 1),
    ]);
    expect(r.status).toBe(Code.ResourceExhausted);
  });
});

describe("stage rules", () => {
  it("createInstance after initializationComplete ends the stream; the next controller is served", async () => {
    server = await startComputeEchoServer();
    const a = open(server.url);
    a.send([{ kind: "hello", hello: createHello(1n) }, createInstance]);
    a.send([{ kind: "initializationComplete" }]);
    a.send([createInstance]);
    const err = await a.done;
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toMatch(/createInstance after initializationComplete/);
    const b = open(server.url);
    b.send([{ kind: "hello", hello: createHello(1n) }, createInstance, peek(1)]);
    await until(() => b.responses.length === 1);
    b.end();
    expect(await b.done).toBeUndefined();
  });

  it("a second createInstance is refused", async () => {
    server = await startComputeEchoServer();
    const a = open(server.url);
    a.send([{ kind: "hello", hello: createHello(1n) }, createInstance, createInstance]);
    const err = await a.done;
    expect(err?.code).toBe(Code.FailedPrecondition);
    expect(err?.rawMessage).toMatch(/second createInstance/);
  });
});

describe("hello authentication", () => {
  const secret = generateReplicaSecret();
  const signed = (g: bigint) => signHello(createHello(g), secret, "compute");

  it("refuses an unsigned hello with Unauthenticated naming who refused and what to do", async () => {
    server = await startComputeEchoServer(secret);
    const a = open(server.url);
    a.hello(createHello(1n));
    const err = await a.done;
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toMatch(/echo replica compute port refused an unauthenticated hello/);
    expect(err?.rawMessage).toMatch(/carries no auth proof.*replica-secret/);
    expect(err?.metadata.get(REFUSAL_TRAILER)).toBe("unauthenticated");
  });

  it("an attacker with a higher generation and a wrong secret neither fences nor supersedes the controller", async () => {
    server = await startComputeEchoServer(secret);
    const real = open(server.url);
    real.hello(signed(3n));
    real.send([createInstance, { kind: "initializationComplete" }, peek(1)]);
    await until(() => real.responses.length === 1);

    const attacker = open(server.url);
    attacker.hello(signHello(createHello(99n), generateReplicaSecret(), "compute"));
    const err = await attacker.done;
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toMatch(/does not match this replica's secret/);
    const unsigned = open(server.url);
    unsigned.hello(createHello(100n));
    expect((await unsigned.done)?.code).toBe(Code.Unauthenticated);

    // The real controller is still connected and answered; the generation did not move.
    expect(server.connections.highestGeneration).toBe(3n);
    real.send([peek(2)]);
    await until(() => real.responses.length === 2);
    // And a real reconnect (same generation) is still accepted.
    const again = open(server.url);
    again.hello(signed(3n));
    expect(await real.done).toMatchObject({ code: Code.Aborted });
    again.end();
    await again.done;
  });

  it("a captured hello cannot be replayed, nor used on another stream", async () => {
    server = await startComputeEchoServer(secret);
    const h = signed(4n);
    const a = open(server.url);
    a.hello(h);
    await until(() => server?.connections.current !== null);
    const replay = open(server.url);
    replay.hello(h);
    const err = await replay.done;
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toMatch(/replayed hello/);
    const storageHello = open(server.url);
    storageHello.hello(signHello(createHello(4n), secret, "storage"));
    expect((await storageHello.done)?.code).toBe(Code.Unauthenticated);
    a.end();
    await a.done;
  });

  it("a stale refusal names the refusing replica and carries the highest generation, without claiming a newer environmentd", async () => {
    server = await startComputeEchoServer(secret);
    const a = open(server.url);
    a.hello(signed(5n));
    await until(() => server?.connections.current !== null);
    const b = open(server.url);
    b.hello(signed(4n));
    const err = await b.done;
    expect(err?.code).toBe(Code.Aborted);
    expect(err?.rawMessage).toMatch(/^echo replica compute port: hello of generation 4 refused/);
    expect(err?.rawMessage).not.toMatch(/newer one booted/);
    expect(err?.metadata.get(REFUSAL_TRAILER)).toBe("stale-generation");
    expect(err?.metadata.get(HIGHEST_GENERATION_TRAILER)).toBe("5");
    expect(helloRefusalOf(err)).toEqual({ kind: "stale-generation", highestGeneration: 5n });
    a.end();
    await a.done;
  });
});
