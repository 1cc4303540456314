/**
 * `ClusterSpec`: how a workload (compute, storage) plugs into the unified runtime.
 *
 * A workload has two halves:
 * - on the process's main thread, the `ClusterSpec`: its name, the module its workers load, and an
 *   optional async **preparation task** that may rewrite a command before it is sequenced (storage
 *   uses it to read resume frontiers from persist; compute does not);
 * - in every worker thread, a `ClusterWorker` built by the module's `WorkerSpec`: it applies
 *   commands in the one total order the sequencer gives every worker, and steps its dataflows.
 *
 * The runtime owns threads, ordering, connection nonces and the maintenance tick; the workload
 * owns what commands mean. Nothing here knows compute or storage.
 */
import type { WorkerMesh } from "./communication/mesh.js";
import type { LoggingHost } from "./logging/host.js";

/** Main-thread description of a workload. */
export interface ClusterSpec<C> {
  /** `"compute"` or `"storage"`: used in logs, metrics and thread names. */
  readonly name: string;
  /** URL of a module whose default export is a `WorkerSpec<C, R>`; loaded in every worker. */
  readonly workerModule: URL;
  /**
   * Optional async preparation of a command before it is sequenced. Commands keep their order:
   * a command waits for every earlier command's preparation.
   */
  prepare?(command: C): Promise<C>;
}

/** What a worker can do besides applying commands. */
export interface WorkerContext<C, R> {
  readonly index: number;
  readonly peers: number;
  /** The workload's configuration (plain data, from `createClusterRuntime`). */
  readonly config: unknown;
  /** The mesh, for workload channels (e.g. the dataflow exchange). Names `cluster:*` are reserved. */
  readonly mesh: WorkerMesh;
  /** Sends a response to the main thread, tagged with the connection the worker is serving. */
  respond(response: R): void;
  /**
   * Submits an internal command from this worker; every worker (this one included) will apply it
   * in the same total order as the controller's commands (storage's internal commands).
   */
  sequence(command: C): void;
  /** Asks the runtime to call `step()` soon (e.g. data arrived on a workload channel). */
  requestStep(): void;
  /**
   * Asks the runtime to call `maintain()` soon: at once when the last run is `maintenanceIntervalMs`
   * or more ago, else that long after it (`worker/maintenance-timer.ts`). Only meaningful for a
   * workload whose `maintain()` returns when it is next due.
   */
  requestMaintenance(): void;
  /**
   * The unified introspection of this worker (phase 2, *logging*), present only when the runtime
   * was created with unified logging; absent = the workload logs on its own (legacy) or not at
   * all.
   */
  readonly logging?: LoggingHost;
}

/** A workload's per-worker state machine. */
export interface ClusterWorker<C> {
  /**
   * A new controller connection begins; every later command belongs to it. Called at the same
   * point of the total order on every worker. Reconciliation starts here.
   */
  onConnection?(nonce: string): void;
  /** Applies one command, in sequence order. `internal` marks commands from `sequence()`. */
  apply(command: C, info: { readonly seq: number; readonly internal: boolean }): void;
  /** Does a bounded amount of work; returns true when more work is pending. */
  step(): boolean;
  /**
   * Maintenance (frontier reporting, statistics). Returning nothing: every
   * `maintenanceIntervalMs`. Returning a number: the ms until it is next due unasked
   * (`Infinity`: never), and otherwise only after `ctx.requestMaintenance()` — an idle worker
   * then has no timer running.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: storage's maintain returns nothing (void), compute's a number
  maintain?(): number | void;
  /** The runtime is shutting down (awaited, within the runtime's close grace period). */
  close?(): void | Promise<void>;
}

/** The default export of a `ClusterSpec.workerModule`. */
export interface WorkerSpec<C, R> {
  createWorker(ctx: WorkerContext<C, R>): ClusterWorker<C> | Promise<ClusterWorker<C>>;
  /**
   * Reads back a command the main thread forwarded as its wire bytes
   * (`ClusterRuntimeOptions.commandFrame`): the same value, or `undefined` for bytes it cannot
   * read (a bug of the sender: the worker fails). Needed only with `commandFrame`. The frame is
   * `bytes[at .. end)` (the whole of `bytes` when they are omitted): a message's frames are read
   * in place, without a view per command.
   */
  decodeCommand?(bytes: Uint8Array, at?: number, end?: number): C | undefined;
  /**
   * Prepares one outgoing message of responses (those of one step round or event-loop turn)
   * before it crosses to the main thread: may replace responses in place by an encoded form the
   * main thread's merger reads (compute frames its peek answers' rows, issue 16), and returns
   * the buffers to transfer with the message (the worker keeps no view of them), if any.
   */
  encodeResponses?(responses: unknown[]): ArrayBuffer | undefined;
}
