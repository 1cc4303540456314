/**
 * Pre-encoded responses on the wire (issue 16): the compute stream (legacy layout) and the unified
 * cluster stream over real HTTP/2 servers on loopback, with sessions that answer a peek with one
 * batch of every compute response kind (and storage responses on the cluster stream).
 * - A binary stream leaves through the framed encoder; the bytes a raw gRPC call to
 *   `/mz.compute.v1.ComputeService/Control` receives are `toBinary` of the reflective message.
 * - Connect clients decoding with the real schemas (gRPC, Connect binary, Connect JSON) get the
 *   responses; a JSON stream is served by the message encoder (framed messages have no JSON form).
 */
import http2 from "node:http2";
import { toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ClusterResponse,
  type ComputeCommand,
  type ComputeResponse,
  clusterRequestToProto,
  clusterResponsesFromProto,
  computeRequestToProto,
  computeResponsesFromProto,
  computeResponsesToProto,
  createHello,
  PROTOCOL_VERSION,
  type StorageResponse,
} from "@mzts/protocol";
import { ClusterService, ComputeService, type clusterV1, computeV1 } from "@mzts/protocol/wire";
import { afterEach, describe, expect, it } from "vitest";
import { AsyncQueue } from "../src/async-queue.js";
import { createClusterStreamHandler } from "../src/cluster-stream.js";
import { ControllerConnections } from "../src/controller-connections.js";
import { type ControllerServer, listenControllerServer } from "../src/controller-server.js";
import { createStreamHandler, type StreamCodec, type StreamSession } from "../src/server.js";
import { computeStreamCodec } from "../src/stream-codecs.js";
import { grpcFrame } from "../src/testing/raw-grpc.js";

const U64_MAX = (1n << 64n) - 1n;
const UUID = "00000000-0000-4000-8000-000000000001";
/** One response of every kind; frontiers set, empty, absent and at the u64 edges. */
const COMPUTE: ComputeResponse[] = [
  {
    kind: "frontiers",
    id: "u1",
    frontiers: { write: 1_700_000_000_000n, input: 0n, output: null },
  },
  { kind: "frontiers", id: "u2", frontiers: { write: U64_MAX } },
  { kind: "frontiers", id: "s3", frontiers: { input: null, output: 1n << 63n } },
  { kind: "peekResponse", uuid: UUID, response: { kind: "rows", rows: [[["a", 1n], 2]] } },
  {
    kind: "subscribeResponse",
    id: "u4",
    response: {
      kind: "batch",
      lower: 1n,
      upper: 5n,
      result: { kind: "updates", updates: [[["x"], 3n, 1]] },
    },
  },
  { kind: "subscribeResponse", id: "u5", response: { kind: "droppedAt", frontier: null } },
  { kind: "status", hydration: [{ id: "u1", hydrated: true }] },
  {
    kind: "commandError",
    error: { objectId: "u9", command: "createDataflow", code: "unknownId", message: "no u9" },
  },
];
const STORAGE: StorageResponse[] = [
  { kind: "frontierUpper", id: "u7", upper: 1_700_000_000_000n },
  { kind: "frontierUpper", id: "u8", upper: null },
  { kind: "droppedId", id: "u6" },
];
const CREATE_INSTANCE: ComputeCommand = {
  kind: "createInstance",
  config: { logging: { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() } },
};
const PEEK: ComputeCommand = {
  kind: "peek",
  peek: {
    uuid: UUID,
    target: { kind: "index", id: "u1" },
    arity: 1,
    timestamp: 1n,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  },
};

/** A session that answers a peek with `batch` (one sink call) and `onOpen` right after opening. */
function session<C extends { kind: string }, R>(
  batch: readonly R[],
  onOpen: readonly R[] = [],
): () => StreamSession<C, R> {
  return () => {
    let sink: (r: readonly R[]) => void = () => {};
    return {
      commands(cmds) {
        if (cmds.some((c) => c.kind === "peek")) sink(batch);
      },
      onResponses(s) {
        sink = s;
        if (onOpen.length > 0) queueMicrotask(() => sink(onOpen));
      },
      close() {},
    };
  };
}

const servers: ControllerServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** The legacy compute stream, counting which encoder served each message. */
async function computeServer() {
  const used = { framed: 0, messages: 0 };
  const codec: StreamCodec<
    computeV1.ControlRequest,
    ComputeCommand,
    computeV1.ControlResponse,
    ComputeResponse
  > = {
    ...computeStreamCodec,
    encodeResponses(rs) {
      used.messages++;
      return computeStreamCodec.encodeResponses(rs);
    },
    frameResponses(rs) {
      used.framed++;
      return computeStreamCodec.frameResponses!(rs);
    },
  };
  const connections = new ControllerConnections({
    protocolVersion: PROTOCOL_VERSION,
    noControllerTimeoutMs: 0,
    secret: null,
    stream: "compute",
    label: "test compute port",
  });
  const handler = createStreamHandler({
    codec,
    connections,
    openSession: session<ComputeCommand, ComputeResponse>(COMPUTE),
  });
  const server = await listenControllerServer({
    routes: (router) => router.service(ComputeService, { control: handler }),
  });
  servers.push(server);
  return { server, used };
}

/** Sends `requests`, returns the responses of the first `n` response messages. */
async function collect<Req, Res, R>(
  stream: (reqs: AsyncIterable<Req>) => AsyncIterable<Res>,
  requests: Req[],
  decode: (m: Res) => R[],
  n: number,
): Promise<R[]> {
  const q = new AsyncQueue<Req>();
  for (const r of requests) q.push(r);
  const out: R[] = [];
  let messages = 0;
  for await (const m of stream(q)) {
    out.push(...decode(m));
    if (++messages === n) break;
  }
  q.end();
  return out;
}

const computeRequests = () => [
  computeRequestToProto([{ kind: "hello", hello: createHello(1n) }, CREATE_INSTANCE, PEEK]),
];

describe("compute stream (legacy layout)", () => {
  it("a raw gRPC call to the service's path gets the reflective message's bytes", async () => {
    const { server, used } = await computeServer();
    const session = http2.connect(server.url);
    try {
      const req = session.request({
        ":method": "POST",
        ":path": "/mz.compute.v1.ComputeService/Control",
        "content-type": "application/grpc",
        te: "trailers",
      });
      const [body] = computeRequests();
      req.write(grpcFrame(toBinary(computeV1.ControlRequestSchema, body!)));
      const want = toBinary(computeV1.ControlResponseSchema, computeResponsesToProto(COMPUTE));
      const got = await new Promise<Buffer>((resolve, reject) => {
        let buf = Buffer.alloc(0);
        req.on("data", (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
            resolve(buf.subarray(5, 5 + buf.readUInt32BE(1)));
          }
        });
        req.on("error", reject);
        req.on("end", () => reject(new Error("stream ended without a response")));
      });
      expect(got.equals(want)).toBe(true);
      expect(used).toEqual({ framed: 1, messages: 0 });
      req.close();
    } finally {
      session.destroy();
    }
  });

  it.each([
    ["gRPC", (url: string) => createGrpcTransport({ baseUrl: url }), { framed: 1, messages: 0 }],
    [
      "Connect binary",
      (url: string) => createConnectTransport({ baseUrl: url, httpVersion: "2" }),
      { framed: 1, messages: 0 },
    ],
    [
      "Connect JSON",
      (url: string) =>
        createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: false }),
      { framed: 0, messages: 1 },
    ],
  ])("a %s client decodes every response kind", async (_, transport, encoders) => {
    const { server, used } = await computeServer();
    const client = createClient(ComputeService, transport(server.url));
    const got = await collect(
      (q) => client.control(q),
      computeRequests(),
      computeResponsesFromProto,
      1,
    );
    expect(got).toEqual(COMPUTE);
    expect(used).toEqual(encoders);
  });
});

describe("unified cluster stream", () => {
  it.each([
    ["gRPC", (url: string) => createGrpcTransport({ baseUrl: url })],
    [
      "Connect JSON",
      (url: string) =>
        createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: false }),
    ],
  ])("a %s client decodes compute and storage responses", async (_, transport) => {
    const connections = new ControllerConnections({
      protocolVersion: PROTOCOL_VERSION,
      noControllerTimeoutMs: 0,
      secret: null,
      label: "test cluster port",
    });
    const handler = createClusterStreamHandler({
      connections,
      openSession: {
        compute: session(COMPUTE),
        storage: session([], STORAGE),
      },
    });
    const server = await listenControllerServer({
      routes: (router) => router.service(ClusterService, { control: handler }),
    });
    servers.push(server);
    const hello = createHello(1n);
    const client = createClient(ClusterService, transport(server.url));
    const got: ClusterResponse[] = [];
    const q = new AsyncQueue<clusterV1.ControlRequest>();
    q.push(
      clusterRequestToProto([
        { kind: "compute", command: { kind: "hello", hello } },
        { kind: "storage", command: { kind: "hello", hello } },
        { kind: "compute", command: CREATE_INSTANCE },
        { kind: "compute", command: PEEK },
      ]),
    );
    for await (const m of client.control(q)) {
      got.push(...clusterResponsesFromProto(m));
      if (got.length === COMPUTE.length + STORAGE.length) break;
    }
    q.end();
    const byKind = (k: ClusterResponse["kind"]) =>
      got.filter((r) => r.kind === k).map((r) => r.response);
    expect(byKind("compute")).toEqual(COMPUTE);
    expect(byKind("storage")).toEqual(STORAGE);
  });
});
