/**
 * Idle connections on the API's two ports (server.ts "Idle connections"). Node's default
 * HTTP/1.1 `keepAliveTimeout` (5 s) closed idle sockets under keep-alive clients: one reusing the
 * socket at that moment got EPIPE/ECONNRESET (the environment bench's Connect JSON client died of
 * it). A client idle just past that window must find its socket still served.
 */
import http from "node:http";
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  API_HTTP_HEADERS_TIMEOUT_MS,
  API_HTTP_KEEP_ALIVE_TIMEOUT_MS,
  type ApiServer,
  startApiServer,
} from "./server.js";

/**
 * Just past the window of Node's default: `keepAliveTimeout` 5 s, and Node 20 closes the idle
 * socket 1 s after it (a buffer of its own; measured: the close comes at ~6.0 s).
 */
const IDLE_MS = 6_500;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `body` against a server of its own, closed after it (the idle tests run concurrently:
 * each waits its 6.5 s at the same time as the others, not one after another).
 */
async function withServer(body: (api: ApiServer) => Promise<void>): Promise<void> {
  // No request reaches the environment (GET /health, and the h2 session's own frames).
  const api = await startApiServer({ environment: {} as never, registry: new Registry() });
  try {
    await body(api);
  } finally {
    await api.close();
  }
}

/** A raw TCP connection to `url`, with whether the server has closed its side yet. */
async function rawConnection(url: string): Promise<{ socket: Socket; closed: () => boolean }> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  let closed = false;
  socket.once("end", () => (closed = true));
  socket.once("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  await new Promise<void>((r, j) => socket.once("connect", r).once("error", j));
  return { socket, closed: () => closed };
}

/** Sends `GET /health` on `socket`; resolves with the raw response (one keep-alive request). */
function healthOn(conn: { socket: Socket; closed: () => boolean }): Promise<string> {
  const { socket } = conn;
  if (conn.closed()) return Promise.reject(new Error("the server closed the idle socket"));
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (b: Buffer) => {
      text += b.toString();
      // The answer is chunked: done at the last chunk, after the body "ok\n".
      if (text.includes("ok\n") && text.endsWith("0\r\n\r\n")) {
        done();
        resolve(text);
      }
    };
    const onEnd = () => {
      done();
      reject(new Error(`the server closed the socket (got ${JSON.stringify(text)})`));
    };
    const done = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
  });
}

describe.concurrent("API idle connections", () => {
  it("the timeouts: keep-alive above common client idle timeouts, headers above keep-alive", () => {
    expect(API_HTTP_KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThan(60_000);
    expect(API_HTTP_HEADERS_TIMEOUT_MS).toBeGreaterThan(API_HTTP_KEEP_ALIVE_TIMEOUT_MS);
  });

  it("HTTP/1.1: a keep-alive socket idle past 6 s still serves the next request", async ({
    expect,
  }) => {
    await withServer(async ({ httpUrl }) => {
      const conn = await rawConnection(httpUrl);
      try {
        const first = await healthOn(conn);
        expect(first).toMatch(/^HTTP\/1\.1 200/);
        // The advertised window is the server's (clients that honour the hint close before it).
        expect(first.toLowerCase()).toContain(
          `keep-alive: timeout=${API_HTTP_KEEP_ALIVE_TIMEOUT_MS / 1000}`,
        );
        await sleep(IDLE_MS);
        expect(await healthOn(conn)).toMatch(/^HTTP\/1\.1 200/);
      } finally {
        conn.socket.destroy();
      }
    });
  }, 20_000);

  it("HTTP/1.1: an Agent({ keepAlive }) client idle past 6 s reuses its socket and succeeds", async ({
    expect,
  }) => {
    await withServer(async ({ httpUrl }) => {
      const agent = new http.Agent({ keepAlive: true });
      const get = () =>
        new Promise<{ body: string; port: number | undefined }>((resolve, reject) => {
          http
            .get(`${httpUrl}/health`, { agent }, (res) => {
              const port = res.socket.localPort;
              let body = "";
              res.on("data", (d) => (body += d));
              res.on("end", () => resolve({ body, port }));
            })
            .on("error", reject);
        });
      try {
        const a = await get();
        await sleep(IDLE_MS);
        const b = await get();
        expect(b.body).toBe("ok\n");
        expect(a.port).toBeGreaterThan(0);
        expect(b.port).toBe(a.port); // the same connection, not a fresh one after a close
      } finally {
        agent.destroy();
      }
    });
  }, 20_000);

  it("gRPC (h2c): an idle session is not closed by the server", async ({ expect }) => {
    await withServer(async ({ grpcUrl }) => {
      const session = http2.connect(grpcUrl);
      try {
        await new Promise<void>((r, j) => session.once("connect", () => r()).once("error", j));
        let closed = false;
        session.once("goaway", () => (closed = true));
        session.once("close", () => (closed = true));
        await sleep(IDLE_MS);
        expect(closed).toBe(false);
        // Still usable: a stream on it gets an answer (unknown path → Connect's 404).
        const status = await new Promise<number>((resolve, reject) => {
          const s = session.request({ ":method": "GET", ":path": "/nope" });
          s.once("response", (h) => resolve(Number(h[":status"])));
          s.once("error", reject);
          s.resume();
          s.end();
        });
        expect(status).toBeGreaterThan(0);
      } finally {
        session.close();
      }
    });
  }, 20_000);
});
