/**
 * The thread-hop echo (@internal, benchmarks): the minimum any design with workers on threads
 * pays per command message — the stream handler's decoded commands go to W worker threads by one
 * `postMessage` each (structured clone, as a runtime's would), every worker answers the peeks in
 * one message back, and the main thread joins the answers (a peek leaves when all W answered).
 * No sequencer, no batching, no merging state beyond a count per peek.
 *
 * `createHopEchoSessions(W)` starts the threads and returns an `openSession` for
 * `createStreamHandler`; `close()` terminates them.
 */
import { Worker } from "node:worker_threads";
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import type { StreamSession } from "../server.js";

export interface HopEchoSessions {
  readonly ready: Promise<void>;
  openSession(): StreamSession<ComputeCommand, ComputeResponse>;
  close(): Promise<void>;
}

export function createHopEchoSessions(workers: number): HopEchoSessions {
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const entry = new URL("./hop-echo-worker.js", import.meta.url);
  const threads = Array.from({ length: workers }, () => new Worker(entry));
  let sink: (r: readonly ComputeResponse[]) => void = () => {};
  // Answers still missing per peek (W > 1 only).
  const missing = new Map<string, number>();
  for (const t of threads) {
    t.on("message", (answers: ComputeResponse[]) => {
      if (workers === 1) {
        sink(answers);
        return;
      }
      const out: ComputeResponse[] = [];
      for (const a of answers) {
        if (a.kind !== "peekResponse") continue;
        const left = (missing.get(a.uuid) ?? workers) - 1;
        if (left > 0) missing.set(a.uuid, left);
        else {
          missing.delete(a.uuid);
          out.push(a);
        }
      }
      if (out.length > 0) sink(out);
    });
  }
  const ready = Promise.all(
    threads.map((t) => new Promise<void>((resolve) => t.once("online", () => resolve()))),
  ).then(() => undefined);
  return {
    ready,
    openSession() {
      return {
        commands(cmds) {
          for (const t of threads) t.postMessage(cmds);
        },
        onResponses(s) {
          sink = s;
        },
        close() {
          sink = () => {};
        },
      };
    },
    async close() {
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}
