/**
 * The lean gRPC path answers on the core `http2` stream API (`serveStreams`, issue 16): a
 * plain-gRPC Peek on the API server makes no `Http2ServerResponse` (node's compatibility layer),
 * every other call still goes through it to Connect, and a client that resets its stream before
 * the answer leaves the server serving.
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import type { PeekRequest } from "@mzts/protocol";
import { EnvironmentService } from "@mzts/protocol/wire";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Environment } from "../environment.js";
import { type ApiServer, startApiServer } from "./server.js";

const PATH = "/mz.environment.v1.EnvironmentService/Peek";

let release: (() => void) | undefined;
const env = {
  async peek(req: PeekRequest) {
    if (req.object === "slow") await new Promise<void>((r) => (release = r));
    return { rows: [[[1n, req.object], 1]], timestamp: 42n, replica: "r1", replicaId: "u1" };
  },
} as unknown as Environment;

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ environment: env, registry: new Registry() });
});
afterAll(async () => {
  await server?.close();
});

function frame(object: string): Buffer {
  const { peek } = EnvironmentService.method;
  const body = toBinary(peek.input, create(peek.input, { object }));
  const f = Buffer.alloc(5 + body.length);
  f.writeUInt32BE(body.length, 1);
  f.set(body, 5);
  return f;
}

function call(
  session: http2.ClientHttp2Session,
  object: string,
  headers: Record<string, string> = {},
): Promise<{ status: string; contentType: unknown; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": PATH,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let status = "";
    let contentType: unknown;
    let bytes = 0;
    req.on("response", (h) => {
      contentType = h["content-type"];
    });
    req.on("trailers", (t) => {
      status = String(t["grpc-status"]);
    });
    req.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    req.on("error", reject);
    req.on("end", () => resolve({ status, contentType, bytes }));
    req.end(frame(object));
  });
}

describe("the lean gRPC path on the core stream API", () => {
  it("answers a plain-gRPC Peek without the compatibility layer; Connect's calls use it", async () => {
    const writeHead = vi.spyOn(http2.Http2ServerResponse.prototype, "writeHead");
    const session = http2.connect(server.grpcUrl);
    try {
      const a = await call(session, "rows");
      expect(a).toMatchObject({ status: "0", contentType: "application/grpc+proto" });
      expect(a.bytes).toBeGreaterThan(5);
      expect(writeHead).not.toHaveBeenCalled();
      // A deadline sends the call to Connect, through the compatibility layer.
      const viaConnect = await call(session, "rows", { "grpc-timeout": "5S" });
      expect(viaConnect).toEqual(a);
      expect(writeHead).toHaveBeenCalled();
    } finally {
      writeHead.mockRestore();
      session.close();
    }
  });

  it("keeps serving after a client resets its stream before the answer", async () => {
    const session = http2.connect(server.grpcUrl);
    try {
      const req = session.request({
        ":method": "POST",
        ":path": PATH,
        "content-type": "application/grpc",
      });
      req.on("error", () => {});
      req.end(frame("slow"));
      await vi.waitFor(() => expect(release).toBeDefined());
      req.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((r) => setTimeout(r, 20));
      release?.();
      await new Promise((r) => setTimeout(r, 20));
      expect((await call(session, "after")).status).toBe("0");
    } finally {
      session.close();
    }
  });
});
