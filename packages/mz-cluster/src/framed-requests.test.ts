/**
 * A replica's compute port served framed (`ComputeServerFramesService` with the compute stream
 * codec, issue 16), over real gRPC: a plain `ControlRequest` client's commands arrive as the
 * commands it sent (allowCompaction read directly), a command that fails validation and a frame
 * that does not parse each end their stream with `InvalidArgument` naming the command
 * (`commands[i]…`), and the server goes on serving the next connection.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ComputeCommand,
  computeCommandFrame,
  computeRequestToProto,
  createHello,
  decodeForwardedCommand,
  forwardedFrame,
  PROTOCOL_VERSION,
} from "@mzts/protocol";
import {
  ComputeFramesService,
  ComputeServerFramesService,
  ComputeService,
  computeV1,
} from "@mzts/protocol/wire";
import { afterEach, describe, expect, it } from "vitest";
import { ControllerConnections } from "./controller-connections.js";
import { listenControllerServer } from "./controller-server.js";
import { createStreamHandler } from "./server.js";
import { computeStreamCodec } from "./stream-codecs.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function serve(opts: { readonly json?: boolean } = {}) {
  const got: ComputeCommand[] = [];
  const connections = new ControllerConnections({
    protocolVersion: PROTOCOL_VERSION,
    noControllerTimeoutMs: 0,
    secret: null,
    stream: "compute",
    label: "test replica compute port",
  });
  const handler = createStreamHandler({
    codec: computeStreamCodec,
    connections,
    openSession: () => ({
      commands: (cmds) => {
        got.push(...cmds);
      },
      onResponses() {},
      close() {},
    }),
  });
  const server = await listenControllerServer({
    routes: (router) => router.service(ComputeServerFramesService, { control: handler } as never),
    // As clusterd serves it: JSON clients get the real service from the same handler.
    ...(opts.json === true
      ? { jsonRoutes: (router) => router.service(ComputeService, { control: handler }) }
      : {}),
  });
  cleanup.push(async () => {
    connections.close();
    await server.close();
  });
  return { url: server.url, got };
}

/** Sends `msgs` on one stream, half-closes; the error that ended it, if any. */
async function stream<M>(
  url: string,
  service: typeof ComputeService | typeof ComputeFramesService,
  msgs: M[],
  json = false,
): Promise<ConnectError | undefined> {
  const client = createClient(
    service as typeof ComputeService,
    json
      ? createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: false })
      : createGrpcTransport({ baseUrl: url }),
  );
  async function* requests() {
    for (const m of msgs) yield m as never;
  }
  try {
    for await (const _ of client.control(requests())) {
      // no responses expected
    }
    return undefined;
  } catch (e) {
    return ConnectError.from(e);
  }
}

const CREATE: ComputeCommand = {
  kind: "createInstance",
  config: { logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() } },
};
const INIT: ComputeCommand = { kind: "initializationComplete" };
const hello = (generation: bigint) =>
  computeRequestToProto([{ kind: "hello", hello: createHello(generation) }, CREATE, INIT]);

describe("framed compute requests", () => {
  it("delivers a plain client's commands, refuses malformed ones in band, keeps serving", async () => {
    const { url, got } = await serve();
    const cmds: ComputeCommand[] = [
      { kind: "allowCompaction", id: "u1", frontier: 1_700_000_000_000n },
      { kind: "allowCompaction", id: "u2", frontier: null },
      { kind: "allowCompaction", id: "u3", frontier: (1n << 64n) - 1n },
      { kind: "allowWrites", id: "u4" },
    ];
    expect(await stream(url, ComputeService, [hello(1n), computeRequestToProto(cmds)])).toBe(
      undefined,
    );
    expect(got).toEqual([CREATE, INIT, ...cmds]);

    // A command that fails validation: the reflective path's MalformedCommand, in band.
    const badId = create(computeV1.ControlRequestSchema, {
      commands: [
        { kind: { case: "allowCompaction", value: { id: "x1", frontier: { elements: [5n] } } } },
      ],
    });
    const invalid = await stream(url, ComputeService, [hello(2n), badId]);
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(invalid?.rawMessage).toMatch(/commands\[0\]\.allowCompaction\.id/);

    // A frame that does not parse (sent by a frames client): InvalidArgument at commands[0].
    const frames = (commands: Uint8Array[]) =>
      create(computeV1.ControlRequestFramesSchema, { commands });
    const undecodable = await stream(url, ComputeFramesService, [
      frames([
        computeCommandFrame({ kind: "hello", hello: createHello(3n) }),
        computeCommandFrame(CREATE),
        computeCommandFrame(INIT),
      ]),
      frames([Uint8Array.from([0xff, 0xff, 0xff])]),
    ]);
    expect(undecodable?.code).toBe(Code.InvalidArgument);
    expect(undecodable?.rawMessage).toMatch(/commands\[0\].*undecodable payload/);

    // Still serving.
    got.length = 0;
    expect(await stream(url, ComputeService, [hello(4n), computeRequestToProto(cmds)])).toBe(
      undefined,
    );
    expect(got).toEqual([CREATE, INIT, ...cmds]);
  });

  it("serves JSON clients the real messages beside framed binary clients", async () => {
    const { url, got } = await serve({ json: true });
    const cmds: ComputeCommand[] = [
      { kind: "allowCompaction", id: "u1", frontier: 1_700_000_000_000n },
      { kind: "allowWrites", id: "u4" },
    ];
    // A Connect JSON client: its commands are JSON objects, not base64 of binary commands.
    expect(await stream(url, ComputeService, [hello(1n), computeRequestToProto(cmds)], true)).toBe(
      undefined,
    );
    expect(got).toEqual([CREATE, INIT, ...cmds]);
    // A JSON command that fails validation: the same in-band InvalidArgument.
    const badId = create(computeV1.ControlRequestSchema, {
      commands: [
        { kind: { case: "allowCompaction", value: { id: "x1", frontier: { elements: [5n] } } } },
      ],
    });
    const invalid = await stream(url, ComputeService, [hello(2n), badId], true);
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(invalid?.rawMessage).toMatch(/commands\[0\]\.allowCompaction\.id/);
    // And a binary client on the same server is still served framed.
    got.length = 0;
    expect(await stream(url, ComputeService, [hello(3n), computeRequestToProto(cmds)])).toBe(
      undefined,
    );
    expect(got).toEqual([CREATE, INIT, ...cmds]);
  });
  it("remembers forwarded frames in a buffer of their own message, intact after later ones", async () => {
    // replica2's risk (issue 16): a command's frame is a view of the received bytes, copied for
    // the workers only at its (maybe deferred) submit. Safe because Connect gives every received
    // message its own buffer (its envelope decoder copies the http2 chunks into a fresh array per
    // message), which nothing writes afterwards. This pins both: a library change that pooled or
    // reused receive buffers fails here.
    const { url, got } = await serve();
    const peekOf = (i: number): ComputeCommand => ({
      kind: "peek",
      peek: {
        uuid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        target: { kind: "index", id: `u${i + 1}` },
        arity: 2,
        timestamp: BigInt(i),
        literalConstraints: [[BigInt(i)]],
        mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
        finishing: { orderBy: [], offset: 0, project: [0, 1] },
      },
    });
    const messages: ComputeCommand[][] = Array.from({ length: 24 }, (_, m) => [
      { kind: "allowCompaction", id: `u${m + 1}`, frontier: BigInt(1000 + m) },
      peekOf(m),
      { kind: "allowCompaction", id: `u${m + 100}`, frontier: null },
    ]);
    expect(
      await stream(url, ComputeService, [
        hello(1n),
        ...messages.map((cmds) => computeRequestToProto(cmds)),
      ]),
    ).toBe(undefined);
    expect(got).toEqual([CREATE, INIT, ...messages.flat()]);
    const buffers = new Map<ArrayBufferLike, number>();
    got.slice(2).forEach((cmd, i) => {
      const frame = forwardedFrame(cmd);
      expect(frame, `command ${i} has a remembered frame`).toBeDefined();
      // Read after every later message arrived: the bytes are still the command's.
      expect(decodeForwardedCommand(frame as Uint8Array)).toEqual(cmd);
      const message = Math.floor(i / 3);
      const owner = buffers.get((frame as Uint8Array).buffer);
      expect(owner ?? message, `frame of command ${i} shares a buffer with message ${owner}`).toBe(
        message,
      );
      buffers.set((frame as Uint8Array).buffer, message);
    });
  });
});
