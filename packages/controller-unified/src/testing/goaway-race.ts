/**
 * `startGoawayRace(routes)`: a Connect h2c server behind a loopback TCP proxy that makes a
 * client's stream race the server's GOAWAY deterministically (tests only; exported by
 * `./testing`), for the tests of `refusedStreamIsUnavailable` (`replicas/refused-stream.ts`).
 *
 * `goaway(i)` closes the server's `i`-th HTTP/2 session (counted from 0 in connection order), at
 * once or as soon as it connects: the server sends a GOAWAY naming the last stream it took, and
 * the proxy holds every byte the server sends on that connection from then on. A stream the
 * client opens meanwhile reaches the server, which ignores it; the held bytes go through 20 ms
 * after the client's last write since the hold (its stream), so the client learns of the GOAWAY
 * only after it opened the stream: refused (`REFUSED_STREAM`), never processed. Listens on 127.0.0.1, port 0;
 * `close()` stops everything it started.
 */
import * as http2 from "node:http2";
import { type AddressInfo, createServer, type Server, Socket } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** See the file comment. */
export interface GoawayRace {
  /** The proxy's `http://127.0.0.1:<port>`: give it to the client. */
  readonly url: string;
  /** Closes the server's `i`-th session (now, or when it connects); see the file comment. */
  goaway(i: number): void;
  /** Streams the server took (handlers called). */
  readonly streams: number;
  close(): Promise<void>;
}

/** Starts the server (`routes`) and its proxy. */
export async function startGoawayRace(
  routes: (router: ConnectRouter) => void,
): Promise<GoawayRace> {
  let streams = 0;
  const sessions: http2.ServerHttp2Session[] = [];
  /** Per connection (same order as `sessions`): holds its server → client bytes. */
  const holds: Array<{ holding: boolean; held: Buffer[]; flush: () => void }> = [];
  let pending: number | undefined;
  const server = http2.createServer(connectNodeAdapter({ routes }));
  server.on("stream", () => {
    streams++;
  });
  const closeSession = (i: number) => {
    const h = holds[i];
    if (h) h.holding = true;
    sessions[i]?.close();
  };
  server.on("session", (s) => {
    sessions.push(s);
    s.on("error", () => {});
    if (pending === sessions.length - 1) {
      pending = undefined;
      closeSession(sessions.length - 1);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const target = (server.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const upstream = new Socket();
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    let release: ReturnType<typeof setTimeout> | undefined;
    const hold = {
      holding: false,
      held: [] as Buffer[],
      flush() {
        hold.holding = false;
        for (const b of hold.held.splice(0)) client.write(b);
      },
    };
    holds.push(hold);
    upstream.connect(target, "127.0.0.1");
    client.on("data", (b: Buffer) => {
      upstream.write(b);
      // The client wrote since the hold (its stream): release once its writes settled.
      if (hold.holding) {
        clearTimeout(release);
        release = setTimeout(() => hold.flush(), 20);
      }
    });
    upstream.on("data", (b: Buffer) => {
      if (hold.holding) hold.held.push(b);
      else client.write(b);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      hold.flush();
      client.end();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    goaway(i) {
      if (i < sessions.length) closeSession(i);
      else pending = i;
    },
    get streams() {
      return streams;
    },
    async close() {
      for (const s of sockets) s.destroy();
      for (const s of sessions) s.destroy();
      await Promise.all([
        new Promise<void>((r) => proxy.close(() => r())),
        new Promise<void>((r) => server.close(() => r())),
      ]);
    },
  };
}
