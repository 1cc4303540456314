/**
 * The server process of the phase 4 client bench (@internal): `tsx client-bench-server.ts <mode>
 * <W>` serves a replica's controller endpoints on 127.0.0.1 and prints `PORTS <json>` when ready;
 * exits when its stdin closes (the bench went away) or on SIGTERM/SIGINT.
 * - `echo`: two ports (`ComputeService`, `StorageService`) whose stream handlers answer every
 *   peek (empty rows) and every drop (`droppedId`) themselves — the bare transport baseline;
 * - `two-port`: the same two ports over two real runtimes of W workers — compute answers peeks
 *   (`compute-peek-worker`), storage drops (`storage-drop-worker`), merged per workload;
 * - `one-port`: the same runtimes behind ONE `ClusterService` port (the unified client).
 */
import {
  type ControllerConnection,
  ControllerConnections,
  computeStreamCodec,
  createClusterRuntime,
  createClusterStreamHandler,
  createRuntimeSessions,
  createStreamHandler,
  listenControllerServer,
  type StreamSession,
  storageStreamCodec,
} from "@mzts/mz-cluster";
import {
  type ComputeCommand,
  type ComputeResponse,
  PartitionedComputeState,
  PartitionedStorageState,
  PROTOCOL_VERSION,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import { ClusterService, ComputeService, StorageService } from "@mzts/protocol/wire";
import { Frontier } from "@mzts/repr";

process.stdin.on("end", () => process.exit(0)).resume();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));

const mode = process.argv[2] ?? "echo";
const workers = Number(process.argv[3] ?? 2);
const testing = new URL("../../packages/mz-cluster/dist/testing/", import.meta.url);

/** A session answering what `answer` maps each command to, with no runtime behind it. */
function echoSession<C, R>(answer: (c: C) => R | undefined): () => StreamSession<C, R> {
  return () => {
    let sink: (r: readonly R[]) => void = () => {};
    return {
      commands(cmds) {
        const out: R[] = [];
        for (const c of cmds) {
          const r = answer(c);
          if (r !== undefined) out.push(r);
        }
        if (out.length > 0) sink(out);
      },
      onResponses(s) {
        sink = s;
      },
      close() {},
    };
  };
}

const connections = (label: string, stream?: "compute" | "storage") =>
  new ControllerConnections({
    protocolVersion: PROTOCOL_VERSION,
    noControllerTimeoutMs: 0,
    secret: null,
    ...(stream === undefined ? {} : { stream }),
    label,
  });

let openCompute: (c: ControllerConnection) => StreamSession<ComputeCommand, ComputeResponse>;
let openStorage: (c: ControllerConnection) => StreamSession<StorageCommand, StorageResponse>;
if (mode === "echo") {
  openCompute = echoSession<ComputeCommand, ComputeResponse>((c) =>
    c.kind === "peek"
      ? { kind: "peekResponse", uuid: c.peek.uuid, response: { kind: "rows", rows: [] } }
      : undefined,
  );
  openStorage = echoSession<StorageCommand, StorageResponse>((c) =>
    c.kind === "allowCompaction" && Frontier.isEmpty(c.frontier)
      ? { kind: "droppedId", id: c.id }
      : undefined,
  );
} else {
  const compute = createClusterRuntime<ComputeCommand, ComputeResponse>(
    { name: "compute", workerModule: new URL("compute-peek-worker.js", testing) },
    { workers },
  );
  const storage = createClusterRuntime<StorageCommand, StorageResponse>(
    { name: "storage", workerModule: new URL("storage-drop-worker.js", testing) },
    { workers },
  );
  await Promise.all([compute.ready, storage.ready]);
  openCompute = createRuntimeSessions(compute, (n) => new PartitionedComputeState(n));
  openStorage = createRuntimeSessions(storage, (n) => new PartitionedStorageState(n));
}

if (mode === "one-port") {
  const handler = createClusterStreamHandler({
    connections: connections("bench cluster port"),
    openSession: { compute: openCompute, storage: openStorage },
  });
  const server = await listenControllerServer({
    routes: (r) => r.service(ClusterService, { control: handler }),
  });
  process.stdout.write(`PORTS ${JSON.stringify({ cluster: server.port })}\n`);
} else {
  const c = await listenControllerServer({
    routes: (r) =>
      r.service(ComputeService, {
        control: createStreamHandler({
          codec: computeStreamCodec,
          connections: connections("bench compute port", "compute"),
          openSession: openCompute,
        }),
      }),
  });
  const s = await listenControllerServer({
    routes: (r) =>
      r.service(StorageService, {
        control: createStreamHandler({
          codec: storageStreamCodec,
          connections: connections("bench storage port", "storage"),
          openSession: openStorage,
        }),
      }),
  });
  process.stdout.write(`PORTS ${JSON.stringify({ compute: c.port, storage: s.port })}\n`);
}
