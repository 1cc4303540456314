/**
 * A request that races the API's close (`ApiServer.close()`: a fenced environmentd closing its
 * API before it exits) is refused by the server without being processed; through
 * `refusedStreamIsUnavailable` the client sees Unavailable. Without it, connect-node says
 * Internal ("Stream closed with error code NGHTTP2_REFUSED_STREAM") — what the e2e fencing check
 * once got under load. The race is made deterministic by a TCP proxy that holds the server's
 * bytes (its GOAWAY) while the client sends the request.
 */
import { createServer, type Server as TcpServer, connect as tcpConnect } from "node:net";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { EnvironmentService } from "@mzts/protocol/wire";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { isRefusedStream, refusedStreamIsUnavailable } from "./refused-stream.js";
import { type ApiServer, startApiServer } from "./server.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A TCP proxy to `port` whose server → client bytes can be held. */
async function holdingProxy(port: number) {
  let holding = false;
  const held: Array<() => void> = [];
  const server: TcpServer = createServer((client) => {
    const upstream = tcpConnect(port, "127.0.0.1");
    const later = (f: () => void) => (holding ? held.push(f) : f());
    client.on("data", (b) => upstream.write(b));
    upstream.on("data", (b) => later(() => client.write(b)));
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => later(() => client.end()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const f of held.splice(0)) f();
    },
  };
}

/** createCluster's outcome when it is sent while the server's close is on its way. */
async function racingTheClose(interceptors: Interceptor[]): Promise<unknown> {
  let calls = 0;
  const env = {
    createCluster: async () => {
      calls++;
      return { id: `u${calls}` };
    },
  };
  const api: ApiServer = await startApiServer({
    environment: env as never,
    registry: new Registry(),
  });
  let closed = false;
  cleanups.push(() => (closed ? undefined : api.close()));
  const proxy = await holdingProxy(Number(new URL(api.grpcUrl).port));
  const sessions = new Http2SessionManager(proxy.url);
  cleanups.push(() => sessions.abort());
  const client = createClient(
    EnvironmentService,
    createGrpcTransport({ baseUrl: proxy.url, sessionManager: sessions, interceptors }),
  );
  expect((await client.createCluster({ name: "a" })).id).toBe("u1");
  proxy.hold();
  const closing = api.close().then(() => (closed = true));
  await sleep(50); // the GOAWAY is sent, and held
  const outcome = client.createCluster({ name: "b" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  await sleep(50); // the request reached the server, which ignores it
  proxy.release();
  const e = await outcome;
  await closing;
  expect(calls).toBe(1); // never processed
  return e;
}

describe("a request racing the API's close", () => {
  it("control: connect-node alone reports the refused stream as Internal", async () => {
    const e = await racingTheClose([]);
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.Internal);
    expect((e as ConnectError).rawMessage).toContain("NGHTTP2_REFUSED_STREAM");
    expect(isRefusedStream(e)).toBe(true);
  });

  it("is Unavailable through refusedStreamIsUnavailable", async () => {
    const e = await racingTheClose([refusedStreamIsUnavailable]);
    expect(e).toBeInstanceOf(ConnectError);
    expect((e as ConnectError).code).toBe(Code.Unavailable);
    expect((e as ConnectError).rawMessage).toMatch(/refused the request without processing it/);
    expect(isRefusedStream((e as ConnectError).cause)).toBe(true);
  });

  it("leaves other errors alone", () => {
    const internal = new ConnectError("boom", Code.Internal);
    expect(isRefusedStream(internal)).toBe(false);
    const streamError = Object.assign(
      new Error("Stream closed with error code NGHTTP2_INTERNAL_ERROR"),
      { code: "ERR_HTTP2_STREAM_ERROR" },
    );
    expect(
      isRefusedStream(new ConnectError("x", Code.Internal, undefined, undefined, streamError)),
    ).toBe(false);
    const refused = Object.assign(
      new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"),
      { code: "ERR_HTTP2_STREAM_ERROR" },
    );
    expect(
      isRefusedStream(new ConnectError("x", Code.Unavailable, undefined, undefined, refused)),
    ).toBe(false);
  });
});
