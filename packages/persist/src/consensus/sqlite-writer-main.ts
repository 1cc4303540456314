/**
 * The consensus writer thread (@internal; started by `sqlite-writer.ts`): owns a second
 * connection to the SQLite consensus and commits the writes the main thread posts, grouped: every
 * write that arrived while the previous group was committing (its fsync blocks this thread, not
 * the main one) goes into the next transaction (`applyWrites`). One reply message per group.
 *
 * Protocol: `workerData` = `WriterInit`; in: `WriterRequest` (writes with ids, in issue order);
 * out: `WriterReply` (an outcome per id, or the store's error for every id of the group).
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  type ConsensusWrite,
  openConsensusDb,
  prepareConsensusDb,
  type WriteOutcome,
} from "./sqlite-db.js";

/** What the thread is started with. */
export interface WriterInit {
  readonly file: string;
  readonly synchronous: "FULL" | "NORMAL";
  readonly busyTimeoutMs: number;
}
/** Writes to commit, in issue order. */
export interface WriterRequest {
  readonly writes: ReadonlyArray<readonly [id: number, write: ConsensusWrite]>;
}
/** The outcome of one group: per id, or the store's error for all of them. */
export type WriterReply =
  | { readonly ids: readonly number[]; readonly outcomes: readonly WriteOutcome[] }
  | { readonly ids: readonly number[]; readonly error: string };

if (parentPort === null) throw new Error("sqlite-writer-main.js runs as a worker thread only");
const port = parentPort;
const init = workerData as WriterInit;
const cdb = prepareConsensusDb(openConsensusDb(init.file, init).db, init.busyTimeoutMs);

let queue: Array<readonly [number, ConsensusWrite]> = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const group = queue;
  queue = [];
  const ids = group.map(([id]) => id);
  let reply: WriterReply;
  try {
    reply = { ids, outcomes: cdb.applyWrites(group.map(([, w]) => w)) };
  } catch (e) {
    reply = { ids, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
}

port.on("message", (m: WriterRequest) => {
  for (const w of m.writes) queue.push(w);
  if (!scheduled) {
    scheduled = true;
    // After the poll phase: every request that arrived during the last commit joins this group.
    setImmediate(flush);
  }
});
