/**
 * The environment bench's demo environment: `environmentd --demo` booted on a data dir (tracked
 * for the bench's teardown), the API clients the rows use (gRPC h2c, Connect JSON over
 * HTTP/1.1), the demo's peeks, and the waits for its first answer and its replicas.
 */
import { Agent } from "node:http";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { EnvironmentService, environmentV1 } from "@mzts/protocol/wire";
import { startEnvironmentd } from "../src/harness/environment.js";
import type { Started } from "../src/harness/processes.js";
import { environmentds } from "./bench-reaper.js";

/** The demo's dataflows: bids_by_auction, winning_bids (+ index), top_bidders (+ index). */
export const DEMO_DATAFLOWS = 5;
export const FULL_OBJECT = "top_bidders_idx";
export const PEEK_PATH = "/mz.environment.v1.EnvironmentService/Peek";

export type Api = Client<typeof EnvironmentService>;
export type PeekInit = Parameters<Api["peek"]>[0];
export const FULL_PEEK: PeekInit = { object: FULL_OBJECT };
export const LOOKUP_PEEK: PeekInit = {
  object: "bids_by_auction",
  literalConstraints: { rows: [{ datums: [{ value: { case: "int64Value", value: 1n } }] }] },
};

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Booted {
  readonly proc: Started;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  /** When the API line was printed (performance.now()). */
  readonly listeningAt: number;
}

export async function bootEnvironmentd(dir: string): Promise<Booted> {
  // Replicas outlive environmentd by design; its controller-absent timeout (20 s) bounds how long
  // an orphan could linger.
  const h = await startEnvironmentd({ dataDir: dir, demo: true, readyTimeoutMs: 60_000 });
  environmentds.add(h.process);
  h.api.close(); // the bench makes its own clients
  return { proc: h.process, grpcUrl: h.grpcUrl, httpUrl: h.httpUrl, listeningAt: now() };
}

export const grpcClient = (url: string): Api =>
  createClient(EnvironmentService, createGrpcTransport({ baseUrl: url }));
/**
 * Idle time after which the JSON client drops a pooled keep-alive socket itself: below every
 * server's keep-alive window it calls (environmentd's 65 s; Node's default 5 s, kept by the echo
 * server), so it never reuses a socket the server is closing (EPIPE / ECONNRESET).
 */
const CLIENT_IDLE_MS = 4_000;

export const jsonClient = (url: string): Api =>
  createClient(
    EnvironmentService,
    createConnectTransport({
      baseUrl: url,
      httpVersion: "1.1",
      useBinaryFormat: false,
      nodeOptions: { agent: new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS }) },
    }),
  );

/** Retries an API peek until it answers; resolves with when it did (performance.now()). */
export async function firstPeek(b: Booted, timeoutMs: number): Promise<number> {
  const api = grpcClient(b.grpcUrl);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const { exitCode, signalCode } = b.proc.child;
    if (exitCode !== null || signalCode !== null)
      throw new Error(
        `environmentd exited (${exitCode ?? signalCode}) before a peek answered; stderr: ${b.proc.stderr().slice(-2000)}`,
      );
    try {
      await api.peek({ ...FULL_PEEK, timeoutMs: 2000 });
      return now();
    } catch (e) {
      last = e; // not created yet / hydrating / environmentd not serving yet
      await sleep(10);
    }
  }
  throw new Error(
    `no API peek answered within ${timeoutMs} ms: ${(last as Error)?.message}; environmentd stderr: ${b.proc.stderr().slice(-2000)}`,
  );
}

export async function waitReplicasOnline(api: Api, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { clusters } = await api.status({ cluster: "demo" });
    const reps = clusters[0]?.replicas ?? [];
    if (reps.length === 2 && reps.every((r) => r.health === environmentV1.ReplicaHealth.ONLINE))
      return;
    if (Date.now() > deadline)
      throw new Error(`demo replicas not online: ${JSON.stringify(reps.map((r) => r.health))}`);
    await sleep(50);
  }
}
