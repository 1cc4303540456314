/**
 * The loopback replica the seam checks (`coalescing.ts`, `peek-skipping.ts`) run a compute task
 * against: a Connect server for the plain `ComputeService.Control` — or, for a connection riding
 * the phase 4 cluster stream, `ClusterService.Control` (what a replica serves) — on 127.0.0.1,
 * port 0, whose stream handler the check provides. `close()` ends every session.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ClusterService,
  ComputeService,
  type clusterV1,
  type computeV1,
} from "@mzts/protocol/wire";

export interface ComputeTestServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `impl.control` as `ComputeService.Control` (see the file comment). */
export function startComputeTestServer(impl: {
  control(
    requests: AsyncIterable<computeV1.ControlRequest>,
  ): AsyncIterable<computeV1.ControlResponse>;
}): Promise<ComputeTestServer> {
  return startTestServer((router) =>
    router.service(ComputeService, { control: (requests) => impl.control(requests) }),
  );
}

/** Serves `impl.control` as `ClusterService.Control` (the phase 4 stream a replica serves). */
export function startClusterTestServer(impl: {
  control(
    requests: AsyncIterable<clusterV1.ControlRequest>,
  ): AsyncIterable<clusterV1.ControlResponse>;
}): Promise<ComputeTestServer> {
  return startTestServer((router) =>
    router.service(ClusterService, { control: (requests) => impl.control(requests) }),
  );
}

async function startTestServer(
  routes: (router: ConnectRouter) => void,
): Promise<ComputeTestServer> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `f` every 5 ms until it holds; throws naming `what` after `deadlineMs`. */
export async function pollUntil(what: string, f: () => boolean, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
