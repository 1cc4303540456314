/**
 * `listenControllerServer()`: a Connect gRPC server over HTTP/2 cleartext (h2c) for controller
 * streams, with the replica servers' limits (`CONTROLLER_STREAM_SERVER_OPTIONS`). One place for
 * the listen/close mechanics shared by clusterd's controller ports, the testing servers and the
 * benchmark server.
 *
 * - `transportConnections` counts the open HTTP/2 sessions (one per TCP connection), `streams` the
 *   open HTTP/2 streams (one per RPC, e.g. a controller stream): what a replica's controller port
 *   is being driven over. `onTransport` is told both whenever either changes.
 * - `close()` stops listening and destroys open sessions, so a stream left open (a controller that
 *   never hangs up) cannot keep the server alive.
 * - `jsonRoutes`: what JSON clients (`application/*+json`) are served, chosen per request by its
 *   content type. A replica serves binary clients a framed copy of its services (each command's
 *   bytes, decoded by the handler: issue 16) whose JSON form would be base64 of binary commands;
 *   JSON clients get the real messages instead, from the same handler.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { CONTROLLER_STREAM_SERVER_OPTIONS } from "./server.js";

export interface ControllerServerOptions {
  /** Registers the served services (only those: any other method is `Unimplemented`). */
  readonly routes: (router: ConnectRouter) => void;
  /** What JSON clients are served (see the file comment); default `routes`. */
  readonly jsonRoutes?: (router: ConnectRouter) => void;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) = any free port. */
  readonly port?: number;
  /** Told the open HTTP/2 sessions and streams whenever either changes. */
  readonly onTransport?: (open: TransportCounts) => void;
}

/** What a controller server is driven over now. */
export interface TransportCounts {
  /** Open HTTP/2 sessions (TCP connections). */
  readonly connections: number;
  /** Open HTTP/2 streams (RPCs). */
  readonly streams: number;
}

export interface ControllerServer {
  readonly port: number;
  /** `http://host:port` (for Connect transports). */
  readonly url: string;
  /** Open HTTP/2 sessions and streams now. */
  readonly transport: TransportCounts;
  close(): Promise<void>;
}

/** Listens; resolves once bound. @throws the listen error (e.g. EADDRINUSE). */
export async function listenControllerServer(
  opts: ControllerServerOptions,
): Promise<ControllerServer> {
  const host = opts.host ?? "127.0.0.1";
  const binary = connectNodeAdapter({ routes: opts.routes, ...CONTROLLER_STREAM_SERVER_OPTIONS });
  const json =
    opts.jsonRoutes === undefined
      ? binary
      : connectNodeAdapter({ routes: opts.jsonRoutes, ...CONTROLLER_STREAM_SERVER_OPTIONS });
  const server = http2.createServer(
    json === binary
      ? binary
      : (req, res) => (isJsonRequest(req.headers["content-type"]) ? json : binary)(req, res),
  );
  const open = new Set<http2.ServerHttp2Session>();
  let streams = 0;
  const counts = (): TransportCounts => ({ connections: open.size, streams });
  const changed = () => opts.onTransport?.(counts());
  server.on("session", (s) => {
    open.add(s);
    changed();
    s.on("close", () => {
      open.delete(s);
      changed();
    });
  });
  server.on("stream", (st) => {
    streams++;
    changed();
    st.once("close", () => {
      streams--;
      changed();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    get transport() {
      return counts();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

/** Whether a request's content type is a JSON codec's (`application/json`, `…+json`). */
export function isJsonRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && /json/i.test(contentType);
}
