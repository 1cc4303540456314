/**
 * `startStallProxy(port)`: a loopback TCP proxy in front of a replica port that can stall or drop
 * its traffic, for tests of replica liveness (tests only; exported by `./testing`).
 *
 * - `stall()`: like a SIGSTOPped replica or a network blackhole — nothing is read or forwarded in
 *   either direction and new connections are accepted (by the kernel) but not served; `resume()`
 *   lets the buffered bytes through.
 * - `drop()`: like a network reset — every open connection is destroyed; new ones are served.
 * Listens on 127.0.0.1, port 0; `close()` destroys everything it opened.
 */
import { type AddressInfo, createServer, type Server, Socket } from "node:net";

/** A loopback TCP proxy that can stall or drop (see the file comment). */
export interface StallProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  stall(): void;
  resume(): void;
  /** Destroys every open connection (both sides). */
  drop(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) to `127.0.0.1:targetPort`. */
export async function startStallProxy(targetPort: number): Promise<StallProxy> {
  let stalled = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    const upstream = new Socket();
    track(upstream);
    upstream.connect(targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) {
      client.pause();
      upstream.pause();
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      client.destroy();
      pairs.delete(pair);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    stall() {
      stalled = true;
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    resume() {
      stalled = false;
      for (const [a, b] of pairs) {
        a.pipe(b);
        b.pipe(a);
      }
    },
    drop() {
      for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
