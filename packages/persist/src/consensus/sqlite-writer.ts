/**
 * Where the SQLite consensus commits its writes (compare-and-sets, truncations), grouped so that
 * concurrent writes share one transaction and one fsync (`applyWrites` in `sqlite-db.ts`). Two
 * placements, both durable before a write resolves (the group's `COMMIT` has returned):
 * - `"thread"` (the default on a process's main thread): a worker thread with its own connection
 *   (`sqlite-writer-main.ts`) commits; the caller's event loop never blocks on the fsync, nor on
 *   another process's write lock (`busy_timeout`). The writes of one event-loop turn leave in one
 *   message; every write that arrives while a group commits joins the next group. Started at the
 *   first write, restarted after a crash (the writes in flight fail with the thread's error), kept
 *   ref'd only while writes are in flight so an idle client never holds the process open.
 * - `"turn"` (the default inside worker threads, e.g. a replica's compute workers, which should
 *   not each spawn another thread): the writes issued in one event-loop turn commit together at
 *   `setImmediate`, on the calling thread, which never waits in `busy_timeout` for another
 *   connection's write lock: a group that finds it taken retries on a timer (see `turnWriter`).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ConsensusDb, ConsensusWrite, WriteOutcome } from "./sqlite-db.js";
import type { WriterInit, WriterReply, WriterRequest } from "./sqlite-writer-main.js";

/** Where compare-and-sets commit: a worker thread, or the calling thread once per turn. */
export type SqliteCommitMode = "thread" | "turn";

/** Commits writes in groups; `write` resolves after its group committed (or rejects). */
export interface ConsensusWriter {
  /** @throws (rejects) the store's error or the writer thread's exit; nothing is known of the write */
  write(w: ConsensusWrite): Promise<WriteOutcome>;
  /** Waits for the writes in flight, then releases the thread. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (o: WriteOutcome) => void;
  readonly reject: (e: Error) => void;
}

/** The first retry's delay after a busy write lock, in ms; each next one doubles, up to the max. */
const LOCK_RETRY_MIN_MS = 1;
const LOCK_RETRY_MAX_MS = 25;

/**
 * Groups the writes of one event-loop turn and commits them on this thread at `setImmediate`.
 *
 * The commit never waits for another connection's write lock on this thread (`tryApplyWrites`):
 * a compute or storage worker that sat in `busy_timeout` would answer no peek and step no
 * dataflow until the lock came — and a process frozen (SIGSTOP) inside its commit holds the lock
 * until it runs again. Instead the group waits on a timer (1 ms, doubling to 25 ms) and retries;
 * writes issued meanwhile join it, in issue order, so the outcomes are still those of the writes
 * one at a time. When the lock has not come within `busyTimeoutMs` of the group's first try, every
 * write of the group fails with the store's busy error (nothing committed), as the thread writer's
 * `busy_timeout` would.
 */
export function turnWriter(db: ConsensusDb, busyTimeoutMs: number): ConsensusWriter {
  let queue: Array<[ConsensusWrite, Pending]> = [];
  /** Set from the first write of a group until the group settled. */
  let flushed: Promise<void> | undefined;
  let settled: (() => void) | undefined;
  /** When the waiting group first found the lock taken, and the next retry's delay. */
  let busySince: number | undefined;
  let delay = LOCK_RETRY_MIN_MS;
  const finish = (f: (p: Pending, i: number) => void) => {
    const group = queue;
    queue = [];
    busySince = undefined;
    delay = LOCK_RETRY_MIN_MS;
    flushed = undefined;
    const done = settled;
    settled = undefined;
    group.forEach(([, p], i) => {
      f(p, i);
    });
    done?.();
  };
  const attempt = () => {
    let outcomes: WriteOutcome[] | undefined;
    try {
      outcomes = db.tryApplyWrites(queue.map(([w]) => w));
    } catch (e) {
      finish((p) => p.reject(e as Error));
      return;
    }
    if (outcomes !== undefined) {
      const o = outcomes;
      finish((p, i) => p.resolve(o[i]!));
      return;
    }
    const now = performance.now();
    busySince ??= now;
    if (now - busySince >= busyTimeoutMs) {
      const e = Object.assign(
        new Error(
          `database is locked: another connection held the consensus write lock for ${Math.round(now - busySince)} ms (busy timeout ${busyTimeoutMs} ms)`,
        ),
        { code: "SQLITE_BUSY" },
      );
      finish((p) => p.reject(e));
      return;
    }
    setTimeout(attempt, delay);
    delay = Math.min(delay * 2, LOCK_RETRY_MAX_MS);
  };
  return {
    write(w) {
      return new Promise<WriteOutcome>((resolve, reject) => {
        queue.push([w, { resolve, reject }]);
        flushed ??= new Promise<void>((done) => {
          settled = done;
          setImmediate(attempt);
        });
      });
    },
    async close() {
      await flushed;
    },
  };
}

/**
 * The writer thread's entry: the compiled `sqlite-writer-main.js` beside this module; when this
 * module runs from its TypeScript sources (the package's own tests), the built one under `dist/`.
 */
function writerEntry(): URL {
  const beside = new URL("./sqlite-writer-main.js", import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL("../../dist/consensus/sqlite-writer-main.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(
    `consensus writer thread: neither ${beside.pathname} nor ${built.pathname} exists; build @mzts/persist (pnpm build)`,
  );
}

/** Commits on a worker thread with its own connection to `init.file`. */
export function threadWriter(init: WriterInit): ConsensusWriter {
  let worker: Worker | undefined;
  let nextId = 0;
  const inFlight = new Map<number, Pending>();
  let outbox: Array<readonly [number, ConsensusWrite]> = [];
  let drained: (() => void) | undefined;

  const settle = (id: number, f: (p: Pending) => void) => {
    const p = inFlight.get(id);
    if (p === undefined) return;
    inFlight.delete(id);
    f(p);
  };
  const idle = () => {
    if (inFlight.size > 0) return;
    worker?.unref();
    drained?.();
  };
  const start = (): Worker => {
    const w = new Worker(writerEntry(), { workerData: init });
    let lastError: Error | undefined;
    w.on("message", (m: WriterReply) => {
      if ("error" in m) {
        const e = new Error(m.error);
        for (const id of m.ids) settle(id, (p) => p.reject(e));
      } else
        m.ids.forEach((id, i) => {
          settle(id, (p) => p.resolve(m.outcomes[i]!));
        });
      idle();
    });
    w.on("error", (e) => {
      lastError = e;
    });
    w.on("exit", (code) => {
      if (worker === w) worker = undefined;
      const e = new Error(
        `the consensus writer thread exited (code ${code}${lastError ? `: ${lastError.message}` : ""}); the write's outcome is unknown`,
      );
      for (const id of [...inFlight.keys()]) settle(id, (p) => p.reject(e));
      idle();
    });
    return w;
  };
  const send = () => {
    const writes = outbox;
    outbox = [];
    if (writes.length === 0) return;
    try {
      worker ??= start();
      worker.ref();
      worker.postMessage({ writes } satisfies WriterRequest);
    } catch (e) {
      for (const [id] of writes) settle(id, (p) => p.reject(e as Error));
      idle();
    }
  };
  return {
    write(w) {
      return new Promise<WriteOutcome>((resolve, reject) => {
        const id = nextId++;
        inFlight.set(id, { resolve, reject });
        outbox.push([id, w]);
        // One message per turn: the writes issued by this task and its microtasks.
        if (outbox.length === 1) queueMicrotask(send);
      });
    },
    async close() {
      if (inFlight.size > 0) await new Promise<void>((r) => (drained = r));
      const w = worker;
      worker = undefined;
      await w?.terminate();
    },
  };
}
