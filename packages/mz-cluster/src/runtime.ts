/**
 * `createClusterRuntime()`: the unified runtime's main-thread half.
 *
 * Owns W worker threads (via the mesh), the order in which the controller's commands enter the
 * sequencer, the optional async preparation task, and connection nonces.
 *
 * ## Flow of a command
 * 1. `submit(commands)` queues the commands behind every earlier submission.
 * 2. If the spec has `prepare`, each command is prepared (async, may do I/O); results are released
 *    strictly in submission order, so preparation never reorders commands.
 * 3. Released commands enter the sequencer, whose leader is this thread (`Sequencer` index 0,
 *    `leaderOnly`; the workers are indexes 1…W): it numbers them and sends them to every worker at
 *    once (`cluster:seq`, `mesh.broadcast`: one `postMessage` per worker), so a command reaches each worker
 *    in one hop. Workers' internal commands come here to be numbered the same way. Every worker
 *    applies the items in one total order. With `commandFrame`, each run of commands that have
 *    wire bytes travels as one `frames` item (one buffer; one sequence number per command),
 *    read back on the workers by the spec's `decodeCommand` (issue 16).
 * 4. Workers' responses come back (one message per worker per event-loop turn) tagged with the
 *    nonce of the connection they were serving when they produced them; `onResponse` only sees responses of the current connection (older ones
 *    are dropped and counted).
 *
 * `connect(nonce)` is itself sequenced, so every worker switches connection at the same point of
 * the order, after all commands of the previous connection.
 */

import type { ClusterSpec } from "./cluster-spec.js";
import { type MainMesh, spawnMesh } from "./communication/mesh.js";
import { ClusterError } from "./errors.js";
import {
  createRuntimeLogging,
  type RuntimeLogging,
  type RuntimeLoggingMain,
} from "./logging/runtime-logging.js";
import { Sequencer, type SequencerMessage } from "./synchronization/sequencer.js";
import {
  commandItems,
  itemSize,
  type RuntimeLoggingInit,
  type SequencedItem,
  type WorkerToMain,
} from "./worker/messages.js";

export interface ClusterRuntimeOptions<C = unknown> {
  /** Number of worker threads. */
  readonly workers: number;
  /** The workload's configuration, passed to every worker (plain data). */
  readonly config?: unknown;
  /** Worker maintenance tick (frontier reporting); default 10 ms as in Materialize. */
  readonly maintenanceIntervalMs?: number;
  /** Longest a worker steps before yielding; default 5 ms. */
  readonly stepBudgetMs?: number;
  /** How long `close()` waits for workers to run their `close()`; default 2000 ms. */
  readonly closeGraceMs?: number;
  /**
   * Unified logging (phase 2, *logging*): `host` gives every worker a `ctx.logging` that hosts
   * log indexes (compute); `forward` one whose events go to the main thread (storage). Absent:
   * no `ctx.logging` (legacy logging, or none). See `runtime.logging`.
   */
  readonly logging?: RuntimeLoggingInit;
  /**
   * Commands forwarded as bytes (issue 16): the wire bytes of a controller command that the
   * workers' spec reads back (`WorkerSpec.decodeCommand`), or `undefined` (the command travels as
   * a structured clone). Runs of such commands cross to each worker as one buffer copy instead of
   * a clone of their object graphs. Not used for a spec with `prepare` (it rewrites commands).
   */
  readonly commandFrame?: (command: C) => Uint8Array | undefined;
}

/** A worker thread died or hit a fatal error. The process should exit and be restarted. */
export class WorkerFailed extends ClusterError {
  override name = "WorkerFailed";
  constructor(
    readonly workerIndex: number,
    readonly reason: string,
  ) {
    super(
      `worker ${workerIndex} failed: ${reason}; the replica must restart (its controller will rehydrate it)`,
    );
  }
}

export interface ClusterRuntime<C, R> {
  readonly spec: ClusterSpec<C>;
  readonly workers: number;
  /** Resolves when every worker is up. */
  readonly ready: Promise<void>;
  /** The nonce of the current connection, or null before the first. */
  readonly nonce: string | null;
  /** Begins a new connection; later commands belong to it. */
  connect(nonce: string): void;
  /** Submits controller commands, in order. */
  submit(commands: readonly C[]): void;
  /** Receives every response of the current connection, with the worker that sent it. */
  onResponse(cb: (worker: number, response: R) => void): void;
  /** Called once when a worker fails; the runtime is unusable afterwards. */
  onFailure(cb: (error: WorkerFailed) => void): void;
  /** Count of responses dropped because they belonged to an older connection. */
  readonly staleResponses: number;
  /** Asks every worker to step (e.g. external data became available). */
  poke(): void;
  /**
   * Each worker's V8 heap in use (bytes) as last reported (every `HEAP_REPORT_MS`; 0 before the
   * first report). Worker heaps are separate isolates, absent from the process's heap metrics.
   */
  workerHeapBytes?(): readonly number[];
  /**
   * The unified logging of the runtime's workers (present when created with `logging`): the
   * hosting role takes forwarded events, the forwarding role hands them out.
   */
  readonly logging?: RuntimeLogging;
  /** Stops every worker. */
  close(): Promise<void>;
}

export function createClusterRuntime<C, R>(
  spec: ClusterSpec<C>,
  opts: ClusterRuntimeOptions<C>,
): ClusterRuntime<C, R> {
  const entry = new URL("./worker/worker-main.js", import.meta.url);
  const mesh: MainMesh = spawnMesh(entry, opts.workers, {
    specModule: spec.workerModule.href,
    config: opts.config ?? null,
    maintenanceIntervalMs: opts.maintenanceIntervalMs ?? 10,
    stepBudgetMs: opts.stepBudgetMs ?? 5,
    logging: opts.logging ?? null,
  });
  let nonce: string | null = null;
  let stale = 0;
  const heapBytes: number[] = new Array<number>(opts.workers).fill(0);
  let failed = false;
  let closed = false;
  const closedAcks: { count: number; resolve?: () => void } = { count: 0 };
  const closeGraceMs = opts.closeGraceMs ?? 2000;
  const responseCbs: Array<(worker: number, response: R) => void> = [];
  const failureCbs: Array<(error: WorkerFailed) => void> = [];
  // Preparation keeps order: `tail` is the promise of the last released submission.
  let tail: Promise<void> = mesh.ready;
  const logging: RuntimeLoggingMain | undefined =
    opts.logging === undefined
      ? undefined
      : createRuntimeLogging(opts.logging.role, {
          workers: opts.workers,
          send: (w, channel, payload) => mesh.send(w, channel, payload),
          live: () => !closed && !failed,
        });

  const fail = (err: WorkerFailed) => {
    if (failed || closed) return;
    failed = true;
    for (const cb of failureCbs) cb(err);
  };
  mesh.onWorkerExit((i, error, code) =>
    fail(new WorkerFailed(i, error ? error.message : `exited with code ${code}`)),
  );
  mesh.ready.catch((e: Error) => fail(new WorkerFailed(-1, e.message)));

  mesh.on("cluster:out", (payload, from) => {
    const msg = payload as WorkerToMain;
    switch (msg.kind) {
      case "responses":
        if (msg.nonce !== nonce) {
          stale += msg.responses.length;
          return;
        }
        for (const response of msg.responses) for (const cb of responseCbs) cb(from, response as R);
        return;
      case "fatal":
        fail(new WorkerFailed(from, msg.message));
        return;
      case "closed":
        if (++closedAcks.count === opts.workers) closedAcks.resolve?.();
        return;
      case "heap":
        if (from >= 0 && from < heapBytes.length) heapBytes[from] = msg.usedBytes;
        return;
      default:
        logging?.receive(from, msg);
        return;
    }
  });

  // The leader of the total order: workers are its indexes 1…W (`worker-main.ts`).
  const leader = new Sequencer<SequencedItem>(
    0,
    opts.workers + 1,
    (to, msg) => mesh.send(to - 1, "cluster:seq", msg),
    {
      leaderOnly: true,
      broadcast: (msg) => mesh.broadcast("cluster:seq", msg),
      size: itemSize,
    },
  );
  mesh.on("cluster:seq", (payload, from) => {
    if (closed || failed) return;
    try {
      leader.receive(payload as SequencerMessage<SequencedItem>);
    } catch (e) {
      fail(new WorkerFailed(from, `sequencer: ${(e as Error).message}`));
    }
  });

  const release = (items: SequencedItem[]) => {
    if (!closed && !failed) leader.pushAll(items);
  };

  // Submissions not yet released to the sequencer (waiting for a preparation or an earlier one).
  let unreleased = 0;
  const enqueue = (make: () => Promise<SequencedItem[]> | SequencedItem[]) => {
    const made = unreleased === 0 ? make() : undefined;
    if (made !== undefined && !(made instanceof Promise)) {
      // Fast path: nothing ahead of us and nothing to wait for — send now, no promise hops.
      // (Ports buffer messages until a worker listens, so this is safe before `ready` too.)
      release(made);
      return;
    }
    unreleased++;
    const prepared = made ?? tail.then(() => make());
    // Start preparing now (in parallel with earlier preparations) but release in order.
    tail = tail
      .then(async () => release(await prepared))
      .catch((e: unknown) => {
        fail(new WorkerFailed(-1, `command preparation failed: ${(e as Error).message}`));
      })
      .finally(() => {
        unreleased--;
      });
  };

  return {
    spec,
    workers: opts.workers,
    ready: mesh.ready,
    get nonce() {
      return nonce;
    },
    get staleResponses() {
      return stale;
    },
    connect(n) {
      nonce = n;
      enqueue(() => [{ kind: "connect", nonce: n }]);
    },
    submit(commands) {
      const n = nonce;
      if (spec.prepare) {
        const prep = spec.prepare.bind(spec);
        const started = Promise.all(commands.map((c) => prep(c)));
        started.catch(() => {});
        enqueue(async () =>
          (await started).map(
            (command) => ({ kind: "command", nonce: n, command, internal: false }) as const,
          ),
        );
      } else {
        enqueue(() => commandItems(commands, n, opts.commandFrame));
      }
    },
    onResponse(cb) {
      responseCbs.push(cb);
    },
    onFailure(cb) {
      failureCbs.push(cb);
    },
    workerHeapBytes: () => heapBytes,
    poke() {
      for (let w = 0; w < opts.workers; w++) mesh.send(w, "cluster:step", null);
    },
    ...(logging === undefined ? {} : { logging: logging.api }),
    async close() {
      if (closed) return;
      closed = true;
      leader.close();
      // Let every worker run its `close()` (e.g. close persist clients), then terminate.
      if (!failed) {
        const acked = new Promise<void>((resolve) => {
          closedAcks.resolve = resolve;
        });
        try {
          for (let w = 0; w < opts.workers; w++) mesh.send(w, "cluster:close", null);
          await Promise.race([acked, new Promise((r) => setTimeout(r, closeGraceMs).unref())]);
        } catch {
          // A port already closed: terminate below.
        }
      }
      await mesh.terminate();
    },
  };
}
