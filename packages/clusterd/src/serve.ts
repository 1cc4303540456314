/**
 * Serving the controllers: a Connect gRPC service over HTTP/2 (h2c) per controller port, whose
 * bidi `Control` stream is handled by mz-cluster — `createClusterStreamHandler` on the one cluster
 * port (phase 4, `cluster-unification-client`), or `createStreamHandler` per workload on its own
 * port (the legacy layout).
 *
 * Both layouts are observed the same way (style §18): each sub-protocol's sessions are wrapped by
 * `observedSessions` (commands and responses by `workload`, accepted connections, the last command
 * time), stream errors are counted by `workload` (the sub-protocol at fault, or "cluster" for the
 * cluster stream as a whole), and each port reports its open HTTP/2 connections and streams
 * (`server_name` = compute, storage or cluster).
 *
 * The runtimes outlive every connection: when a controller goes away, its dataflows and
 * ingestions keep running for the next one (which reconciles).
 */
import type { DescService } from "@bufbuild/protobuf";
import { Code, type ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  type ClusterRuntime,
  type ControllerConnection,
  type ControllerConnections,
  createClusterStreamHandler,
  createRuntimeSessions,
  createStreamHandler,
  listenControllerServer,
  type ResponseMerger,
  type StreamCodec,
  type StreamSession,
} from "@mzts/mz-cluster";
import {
  type ComputeCommand,
  type ComputeResponse,
  type StorageCommand,
  type StorageResponse,
  truncateForLog,
} from "@mzts/protocol";
import { ClusterServerFramesService, ClusterService } from "@mzts/protocol/wire";
import type { Logger } from "pino";
import type { ListenAddress } from "./config.js";
import type { ClusterdMetrics } from "./metrics.js";

/** A workload's runtime and the merge of its workers' responses. */
export interface WorkloadRuntime<C, R> {
  readonly runtime: ClusterRuntime<C, R>;
  readonly newMerger: (workers: number) => ResponseMerger<C, R>;
}

/** One listening controller port. */
export interface ControllerPort {
  readonly port: number;
  close(): Promise<void>;
}

interface Observers {
  readonly metrics: ClusterdMetrics;
  readonly logger: Logger;
}

/**
 * `workload`'s sessions over its runtime, observed: the accepted hello and every command counted
 * by kind, every response leaving counted, the last command time, a log line per connection.
 */
function observedSessions<C extends { kind: string }, R extends { kind: string }>(
  workload: "compute" | "storage",
  w: WorkloadRuntime<C, R>,
  { metrics, logger }: Observers,
): (conn: ControllerConnection) => StreamSession<C, R> {
  const sessions = createRuntimeSessions(w.runtime, w.newMerger);
  const received = (cmds: readonly { kind: string }[]) => {
    metrics.lastCommandReceived.set({ server_name: workload }, Date.now() / 1000);
    // One labelled increment per run of equal kinds (a burst of allowCompaction is one).
    countResponses(cmds, (kind, n) => metrics.commands.inc({ workload, command_type: kind }, n));
  };
  return (conn) => {
    metrics.connections.inc({ workload });
    received([{ kind: "hello" }]);
    logger.info(
      { workload, nonce: conn.nonce, generation: conn.hello.generation.toString() },
      "controller connected",
    );
    const session = sessions(conn);
    return {
      commands(cmds) {
        received(cmds);
        session.commands(cmds);
      },
      onResponses(sink) {
        session.onResponses((resps) => {
          countResponses(resps, (kind, n) =>
            metrics.responses.inc({ workload, response_type: kind }, n),
          );
          sink(resps);
        });
      },
      close: (err) => session.close(err),
    };
  };
}

/**
 * Counts `resps` (responses, or commands) by kind, one `inc` per run of equal kinds: a batch is
 * mostly one kind (1,000 frontier reports a tick at idle, a burst of allowCompaction), and a
 * labelled `inc` costs ~0.25 µs (issue 16).
 */
export function countResponses(
  resps: readonly { kind: string }[],
  inc: (kind: string, n: number) => void,
): void {
  let kind: string | undefined;
  let n = 0;
  for (const r of resps) {
    if (r.kind === kind) {
      n++;
      continue;
    }
    if (kind !== undefined) inc(kind, n);
    kind = r.kind;
    n = 1;
  }
  if (kind !== undefined) inc(kind, n);
}

/** Counts and logs the error that ended a controller stream. */
function streamEnded(
  workload: string,
  err: ConnectError,
  conn: ControllerConnection | undefined,
  { metrics, logger }: Observers,
): void {
  metrics.streamErrors.inc({ workload, code: Code[err.code] ?? String(err.code) });
  logger.warn(
    {
      workload,
      nonce: conn?.nonce,
      code: Code[err.code],
      err: truncateForLog(err.rawMessage, 1024),
    },
    "controller stream ended",
  );
}

/** Listens on `listen` serving `routes`, reporting the port's connections and streams. */
async function listenPort(
  serverName: "compute" | "storage" | "cluster",
  routes: (router: ConnectRouter) => void,
  jsonRoutes: (router: ConnectRouter) => void,
  listen: ListenAddress,
  { metrics, logger }: Observers,
): Promise<ControllerPort> {
  const labels = { server_name: serverName };
  metrics.transportConnections.set(labels, 0);
  metrics.controllerStreams.set(labels, 0);
  const server = await listenControllerServer({
    routes,
    jsonRoutes,
    host: listen.host,
    port: listen.port,
    onTransport: ({ connections, streams }) => {
      metrics.transportConnections.set(labels, connections);
      metrics.controllerStreams.set(labels, streams);
    },
  });
  logger.info(
    { server_name: serverName, host: listen.host, port: server.port },
    "serving controller stream",
  );
  return server;
}

export interface ClusterServerOptions extends Observers {
  readonly compute: WorkloadRuntime<ComputeCommand, ComputeResponse>;
  readonly storage: WorkloadRuntime<StorageCommand, StorageResponse>;
  /** One for the cluster stream: newest-wins and fencing apply to it as a whole. */
  readonly connections: ControllerConnections;
  readonly listen: ListenAddress;
}

/** Serves `ClusterService.Control` (both workloads on one stream) and nothing else on one port. */
export function serveCluster(opts: ClusterServerOptions): Promise<ControllerPort> {
  const handler = createClusterStreamHandler({
    connections: opts.connections,
    openSession: {
      compute: observedSessions("compute", opts.compute, opts),
      storage: observedSessions("storage", opts.storage, opts),
    },
    onStreamError: (err, conn, protocol) => streamEnded(protocol ?? "cluster", err, conn, opts),
  });
  return listenPort(
    "cluster",
    // Framed requests: each command's bytes, decoded by the handler (issue 16); JSON clients
    // send real messages.
    (router) => router.service(ClusterServerFramesService, { control: handler }),
    (router) => router.service(ClusterService, { control: handler }),
    opts.listen,
    opts,
  );
}

// PHASE(client): legacy — delete when cluster-unification-client is retired
export interface WorkloadServerOptions<
  WireReq,
  C extends { kind: string },
  WireRes,
  R extends { kind: string },
> extends Observers,
    WorkloadRuntime<C, R> {
  readonly name: "compute" | "storage";
  /** What binary clients are served (a framed copy of the service: issue 16). */
  readonly service: DescService;
  /** What JSON clients are served (the real service); default `service`. */
  readonly jsonService?: DescService;
  readonly codec: StreamCodec<WireReq, C, WireRes, R>;
  readonly connections: ControllerConnections;
  readonly listen: ListenAddress;
}

// PHASE(client): legacy — delete when cluster-unification-client is retired
/** Serves one workload's `Control` stream on its own port (the two-port layout). */
export function serveWorkload<
  WireReq,
  C extends { kind: string },
  WireRes,
  R extends { kind: string },
>(opts: WorkloadServerOptions<WireReq, C, WireRes, R>): Promise<ControllerPort> {
  const handler = createStreamHandler<WireReq, C, WireRes, R>({
    codec: opts.codec,
    connections: opts.connections,
    openSession: observedSessions(opts.name, opts, opts),
    onStreamError: (err, conn) => streamEnded(opts.name, err, conn, opts),
  });
  return listenPort(
    opts.name,
    (router) => router.service(opts.service, { control: handler } as never),
    (router) => router.service(opts.jsonService ?? opts.service, { control: handler } as never),
    opts.listen,
    opts,
  );
}
