/**
 * The worker thread of the thread-hop echo (`hop-echo-session.ts`, @internal): answers every peek
 * of a message from the main thread with no rows, in one message back. Nothing else runs here —
 * no mesh, sequencer or batching — so the row measures the two `postMessage` hops alone.
 */
import { parentPort } from "node:worker_threads";
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";

if (!parentPort) throw new Error("hop-echo-worker must run in a worker thread");
const port = parentPort;
port.on("message", (cmds: readonly ComputeCommand[]) => {
  const out: ComputeResponse[] = [];
  for (const c of cmds) {
    if (c.kind === "peek") {
      out.push({ kind: "peekResponse", uuid: c.peek.uuid, response: { kind: "rows", rows: [] } });
    }
  }
  if (out.length > 0) port.postMessage(out);
});
