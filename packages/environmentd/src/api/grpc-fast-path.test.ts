/**
 * The lean gRPC path for `Peek` and `Status` (`grpc-fast-path.ts`) answers exactly as Connect does: the same
 * requests sent to an API server with the path on and to one with it off (all Connect) give the
 * same HTTP status, content type, body bytes and trailers (`grpc-status`, `grpc-message`) — for
 * answers, for every kind of refusal (environment errors, an invalid request, bad framing,
 * oversized or undecodable messages) — and calls the path does not serve still reach Connect.
 * A Status answer is never compressed there (Connect gzipped a large one for a client accepting
 * gzip: at 1,000 collections, on every call — issue 16).
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  MAX_API_MESSAGE_BYTES,
  type PeekRequest,
  type StatusRequest,
  type StatusResponse,
} from "@mzts/protocol";
import { EnvironmentService } from "@mzts/protocol/wire";
import { Datum } from "@mzts/repr";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnknownObject } from "../catalog/errors.js";
import type { Environment } from "../environment.js";
import { NoIndexForPeek } from "../errors.js";
import { grpcFastPath } from "./grpc-fast-path.js";
import { type ApiServer, fastPeekMethod, startApiServer, toConnectError } from "./server.js";

const PATH = "/mz.environment.v1.EnvironmentService/Peek";
const STATUS_PATH = "/mz.environment.v1.EnvironmentService/Status";

/** A Status answer of 1,000 collections (~23 KB: Connect compresses it for a gzip client). */
const STATUS: StatusResponse = {
  clusters: [
    {
      id: "u2",
      name: "c",
      replicas: [{ id: "u3", name: "r1", size: 1, health: "online", reason: "" }],
      collections: Array.from({ length: 1000 }, (_, i) => ({
        id: `u${i + 10}`,
        name: `i${i}`,
        writeFrontier: 1_700_000_000_000n + BigInt(i),
        since: 1_699_999_999_000n,
        ...(i % 7 === 0 ? { failed: "quarantined" } : { lagMs: i }),
      })),
      flags: [],
      introspectionIntervalMs: 1000,
    },
  ],
};
const ROWS = [
  [[1n, "bidder-1", null], 3],
  [[-(1n << 63n), "é👩‍👩‍👧", Datum.timestamp(0n)], 1],
  [[0n, "", Datum.numericFromParts(-12345n, 3)], 2],
  [[7n, "x".repeat(2000), new Uint8Array([1, 2])], 1],
] as const;

/** Answers by the object's name: rows, or the error a real environment would throw. */
const env = {
  async peek(req: PeekRequest) {
    switch (req.object) {
      case "rows":
        return { rows: ROWS, timestamp: 42n, replica: "r1", replicaId: "u1" };
      case "empty":
        return { rows: [], timestamp: 0n, replica: "r2", replicaId: "u2" };
      case "noindex":
        throw new NoIndexForPeek("noindex");
      case "bug":
        throw new Error("a bug, 100% (with: punctuation)\nand a newline");
      case "notadatum":
        return { rows: [[[Symbol("x")], 1]], timestamp: 1n, replica: "r1", replicaId: "u1" };
      default:
        throw new UnknownObject("object", req.object);
    }
  },
  async status(req: StatusRequest) {
    if (req.cluster === undefined) return STATUS;
    throw new UnknownObject("cluster", req.cluster);
  },
} as unknown as Environment;

let fast: ApiServer;
let connect: ApiServer;
beforeAll(async () => {
  fast = await startApiServer({ environment: env, registry: new Registry() });
  connect = await startApiServer({
    environment: env,
    registry: new Registry(),
    grpcFastPath: false,
  });
});
afterAll(async () => {
  await fast?.close();
  await connect?.close();
});

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
  trailers: Record<string, unknown>;
}

/** One raw h2 call: what came back, with the headers that vary per response left out. */
function call(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": PATH,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const chunks: Buffer[] = [];
    let status = 0;
    let head: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    req.on("response", (h) => {
      status = Number(h[":status"]);
      const { date: _d, ":status": _s, ...rest } = h;
      head = rest;
    });
    req.on("trailers", (t) => {
      trailers = { ...t };
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => {
      session.close();
      resolve({ status, headers: head, body: Buffer.concat(chunks).toString("hex"), trailers });
    });
    req.end(body);
  });
}

const frame = (msg: Uint8Array, flags = 0) => {
  const out = Buffer.alloc(5 + msg.length);
  out[0] = flags;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
};
const statusRequest = (cluster?: string) =>
  frame(
    toBinary(
      EnvironmentService.method.status.input,
      create(EnvironmentService.method.status.input, cluster === undefined ? {} : { cluster }),
    ),
  );
const request = (object: string) =>
  frame(
    toBinary(
      EnvironmentService.method.peek.input,
      create(EnvironmentService.method.peek.input, { object }),
    ),
  );

async function same(body: Buffer, headers?: Record<string, string>): Promise<Answer> {
  const [a, b] = [
    await call(fast.grpcUrl, body, headers),
    await call(connect.grpcUrl, body, headers),
  ];
  expect(a).toEqual(b);
  return a;
}

describe("the lean gRPC Peek path", () => {
  it("answers rows with Connect's bytes, headers and trailers", async () => {
    const a = await same(request("rows"));
    expect(a.trailers["grpc-status"]).toBe("0");
    expect(a.body.length).toBeGreaterThan(4000); // the 2,000-character text is in it
    const empty = await same(request("empty"));
    expect(empty.trailers["grpc-status"]).toBe("0");
  });

  it("refuses what the environment refuses with the same code and message", async () => {
    expect((await same(request("nope"))).trailers["grpc-status"]).toBe("5"); // NotFound
    expect((await same(request("noindex"))).trailers["grpc-status"]).toBe("9"); // FailedPrecondition
    expect((await same(request("bug"))).trailers["grpc-status"]).toBe("13"); // Internal
    expect((await same(request("notadatum"))).trailers["grpc-status"]).toBe("13"); // Internal
  });

  it("refuses an invalid request like Connect (the codec's MalformedRequest)", async () => {
    const a = await same(request("")); // no object name
    expect(a.trailers["grpc-status"]).toBe("3"); // InvalidArgument
    expect(String(a.trailers["grpc-message"])).toContain("object");
  });

  it("refuses bad framing like Connect", async () => {
    const ok = request("rows");
    const cases: Array<[string, Buffer]> = [
      ["empty body", Buffer.alloc(0)],
      ["cut envelope header", ok.subarray(0, 3)],
      ["cut message", ok.subarray(0, ok.length - 2)],
      ["two messages", Buffer.concat([ok, ok])],
      ["compressed flag, no encoding", frame(ok.subarray(5), 1)],
      ["undecodable bytes", frame(Buffer.from([0xff, 0xff, 0xff, 0xff]))],
    ];
    for (const [what, body] of cases) {
      const a = await same(body);
      expect(a.trailers["grpc-status"], what).not.toBe("0");
    }
  });

  it("refuses an oversized message from its declared length", async () => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(MAX_API_MESSAGE_BYTES + 1, 1);
    const a = await same(Buffer.concat([head, Buffer.alloc(10)]));
    expect(a.trailers["grpc-status"]).toBe("8"); // ResourceExhausted
  });

  it("serves plain gRPC itself and hands the rest on untouched", async () => {
    let served = 0;
    let handedOn = 0;
    const method = fastPeekMethod(env);
    const fastPath = grpcFastPath(
      [
        {
          ...method,
          answer: (m: Parameters<typeof method.answer>[0]) => {
            served++;
            return method.answer(m);
          },
        },
      ],
      {
        readMaxBytes: 1024,
        writeMaxBytes: 1 << 20,
        recursionLimit: 256,
        toConnectError,
      },
    );
    const server = http2.createServer((req, res) => {
      if (fastPath(req, res)) return;
      handedOn++;
      res.writeHead(200, { "content-type": "application/grpc" });
      res.addTrailers({ "grpc-status": "12" });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as import("node:net").AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    try {
      expect((await call(url, request("rows"))).trailers["grpc-status"]).toBe("0");
      expect(
        (await call(url, request("rows"), { "content-type": "application/grpc+proto" })).trailers[
          "grpc-status"
        ],
      ).toBe("0");
      expect(served).toBe(2);
      for (const headers of [
        { "grpc-timeout": "5S" },
        { "grpc-encoding": "gzip" },
        { "content-type": "application/proto" },
        { ":path": "/mz.environment.v1.EnvironmentService/Status" },
      ]) {
        expect((await call(url, request("rows"), headers)).trailers["grpc-status"]).toBe("12");
      }
      expect(served).toBe(2);
      expect(handedOn).toBe(4);
    } finally {
      server.close();
    }
  });

  it("leaves other calls to Connect (deadline, compression, another content type)", async () => {
    for (const headers of [
      { "grpc-timeout": "5S" },
      { "grpc-encoding": "gzip" },
      { "content-type": "application/grpc+json" },
    ]) {
      await same(request("rows"), headers);
    }
  });
});

describe("the lean gRPC Status path", () => {
  const onStatus = { ":path": STATUS_PATH };

  it("answers with Connect's bytes, headers and trailers, and refuses as Connect does", async () => {
    const a = await same(statusRequest(), onStatus);
    expect(a.trailers["grpc-status"]).toBe("0");
    expect(a.body.length / 2).toBeGreaterThan(10_000);
    expect((await same(statusRequest("nope"), onStatus)).trailers["grpc-status"]).toBe("5");
    expect((await same(frame(Buffer.from([0xff, 0xff])), onStatus)).trailers["grpc-status"]).toBe(
      "13",
    );
  });

  it("answers a client that accepts gzip uncompressed (Connect compressed it)", async () => {
    const gzipClient = { ...onStatus, "grpc-accept-encoding": "gzip" };
    const viaConnect = await call(connect.grpcUrl, statusRequest(), gzipClient);
    expect(viaConnect.headers["grpc-encoding"]).toBe("gzip");
    const a = await call(fast.grpcUrl, statusRequest(), gzipClient);
    expect(a.trailers["grpc-status"]).toBe("0");
    expect(a.headers["grpc-encoding"]).toBeUndefined();
    // The uncompressed answer is the one Connect sends a client that does not accept gzip.
    expect(a).toEqual(await call(connect.grpcUrl, statusRequest(), onStatus));
  });
});
