/**
 * The server process of the command-path benchmark (@internal): `node bench-server.js <mode> <W>`
 * serves the compute stream on 127.0.0.1 and prints `PORT <n>` when ready, and `CPU <µs>` (its
 * CPU time, all threads) on SIGUSR2.
 * - `echo`: the stream handler answers peeks itself (a bare Connect bidi echo with our framing).
 * - `hop`: the thread-hop echo (`hop-echo-session.ts`): each message's decoded commands go to W
 *   bare worker threads and back, joined — the floor of any design with workers on threads.
 * - `unified`: peeks go through the unified runtime to all W workers; answers are merged by
 *   `PartitionedComputeState` before they leave the process.
 */
import {
  type ComputeCommand,
  type ComputeResponse,
  PartitionedComputeState,
  PROTOCOL_VERSION,
} from "@mzts/protocol";
import { ComputeServerFramesService } from "@mzts/protocol/wire";
import { ControllerConnections } from "../controller-connections.js";
import { listenControllerServer } from "../controller-server.js";
import { createClusterRuntime } from "../runtime.js";
import { createRuntimeSessions } from "../runtime-session.js";
import { createStreamHandler, type StreamSession } from "../server.js";
import { computeStreamCodec } from "../stream-codecs.js";
import { echoPeekSession } from "./compute-echo-server.js";
import { createHopEchoSessions } from "./hop-echo-session.js";

const mode = process.argv[2] ?? "echo";
const workers = Number(process.argv[3] ?? 2);
const connections = new ControllerConnections({
  protocolVersion: PROTOCOL_VERSION,
  noControllerTimeoutMs: 0,
  secret: null,
});

let openSession: (c: never) => StreamSession<ComputeCommand, ComputeResponse>;
if (mode === "unified") {
  const runtime = createClusterRuntime<ComputeCommand, ComputeResponse>(
    { name: "compute", workerModule: new URL("./compute-peek-worker.js", import.meta.url) },
    { workers },
  );
  await runtime.ready;
  openSession = createRuntimeSessions(runtime, (n) => new PartitionedComputeState(n));
} else if (mode === "hop") {
  const hop = createHopEchoSessions(workers);
  await hop.ready;
  openSession = hop.openSession;
} else {
  openSession = echoPeekSession;
}

const handler = createStreamHandler({ codec: computeStreamCodec, connections, openSession });
const server = await listenControllerServer({
  routes: (r) => r.service(ComputeServerFramesService, { control: handler } as never),
});
process.on("SIGTERM", () => process.exit(0));
// SIGUSR2: print the process's CPU time so far (µs, every thread), `CPU <n>`: the bench takes
// differences, a figure the machine's load does not inflate as it does wall time. Handlers are
// installed before the port is printed: a signal before them would kill the process.
process.on("SIGUSR2", () => {
  const u = process.cpuUsage();
  console.log(`CPU ${u.user + u.system}`);
});
console.log(`PORT ${server.port}`);
