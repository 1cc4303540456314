/**
 * clusterd's plain HTTP/1.1 endpoint (Prometheus scrapes HTTP/1.1): `/metrics`, `/health`
 * (liveness: the process is up and its runtimes have not failed) and `/ready` (both controller
 * servers listening). Loopback by default.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { ListenAddress } from "./config.js";

export interface HealthState {
  /** JSON-able description of the replica (ids, path, phases, ports). */
  describe(): Record<string, unknown>;
  healthy(): boolean;
  ready(): boolean;
}

export async function serveHttp(
  listen: ListenAddress,
  registry: Registry,
  health: HealthState,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET" }).end("method not allowed; use GET\n");
      return;
    }
    if (url === "/metrics") {
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(`metrics failed: ${(e as Error).message}\n`),
      );
      return;
    }
    if (url === "/health" || url === "/ready") {
      const ok = url === "/health" ? health.healthy() : health.ready();
      res
        .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
        .end(`${JSON.stringify({ status: ok ? "ok" : "unavailable", ...health.describe() })}\n`);
      return;
    }
    res
      .writeHead(404, { "content-type": "text/plain" })
      .end("not found; try /metrics, /health or /ready\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
