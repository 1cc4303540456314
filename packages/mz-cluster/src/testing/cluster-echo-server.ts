/**
 * A `ClusterService` server over two small real runtimes — compute answers peeks with no rows
 * (`compute-peek-worker.ts`), storage answers drops with `droppedId` (`storage-drop-worker.ts`) —
 * for tests of the unified cluster stream's demultiplexing (@internal — no semver). Import it from
 * `dist/` (worker threads load plain `.js`).
 *
 * `events` records each sub-protocol session's open and close in order ("compute open <nonce>",
 * "storage close <nonce>"), so a test can see what a stream did to each runtime.
 */
import {
  type ComputeCommand,
  type ComputeResponse,
  PartitionedComputeState,
  PartitionedStorageState,
  PROTOCOL_VERSION,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import { ClusterServerFramesService } from "@mzts/protocol/wire";
import { createClusterStreamHandler } from "../cluster-stream.js";
import { type ControllerConnection, ControllerConnections } from "../controller-connections.js";
import { listenControllerServer, type TransportCounts } from "../controller-server.js";
import { createClusterRuntime } from "../runtime.js";
import { createRuntimeSessions } from "../runtime-session.js";
import type { StreamSession } from "../server.js";

export interface ClusterEchoServer {
  readonly url: string;
  readonly connections: ControllerConnections;
  /** Session opens and closes per sub-protocol, in order. */
  readonly events: string[];
  /** Open HTTP/2 sessions (TCP connections) and streams. */
  readonly transport: TransportCounts;
  close(): Promise<void>;
}

export interface ClusterEchoServerOptions {
  /** Worker threads per runtime; default 2. */
  readonly workers?: number;
  /** The replica secret (hellos must prove it); default null (no authentication). */
  readonly secret?: Uint8Array | null;
}

/** Starts both runtimes and the server on 127.0.0.1 (a free port). */
export async function startClusterEchoServer(
  opts: ClusterEchoServerOptions = {},
): Promise<ClusterEchoServer> {
  const workers = opts.workers ?? 2;
  const compute = createClusterRuntime<ComputeCommand, ComputeResponse>(
    { name: "compute", workerModule: new URL("./compute-peek-worker.js", import.meta.url) },
    { workers },
  );
  const storage = createClusterRuntime<StorageCommand, StorageResponse>(
    { name: "storage", workerModule: new URL("./storage-drop-worker.js", import.meta.url) },
    { workers },
  );
  await Promise.all([compute.ready, storage.ready]);
  const events: string[] = [];
  const recorded =
    <C, R>(kind: string, open: (conn: ControllerConnection) => StreamSession<C, R>) =>
    (conn: ControllerConnection): StreamSession<C, R> => {
      events.push(`${kind} open ${conn.nonce}`);
      const session = open(conn);
      return {
        ...session,
        close(err) {
          events.push(`${kind} close ${conn.nonce}`);
          session.close(err);
        },
      };
    };
  const connections = new ControllerConnections({
    protocolVersion: PROTOCOL_VERSION,
    noControllerTimeoutMs: 0,
    secret: opts.secret ?? null,
    label: "echo replica cluster port",
  });
  const handler = createClusterStreamHandler({
    connections,
    openSession: {
      compute: recorded(
        "compute",
        createRuntimeSessions(compute, (n) => new PartitionedComputeState(n)),
      ),
      storage: recorded(
        "storage",
        createRuntimeSessions(storage, (n) => new PartitionedStorageState(n)),
      ),
    },
  });
  const server = await listenControllerServer({
    routes: (router) => router.service(ClusterServerFramesService, { control: handler }),
  });
  return {
    url: server.url,
    connections,
    events,
    get transport() {
      return server.transport;
    },
    close: async () => {
      connections.close();
      await server.close();
      await Promise.all([compute.close(), storage.close()]);
    },
  };
}
