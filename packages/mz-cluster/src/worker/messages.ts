/**
 * Messages between the runtime's main thread and its workers (plain data).
 */
import type { LogEvent } from "../logging/events.js";
import type { LoggingStats } from "../logging/unified-host.js";

/** Unified logging of a runtime's workers (phase 2): hosting log indexes, or forwarding. */
export interface RuntimeLoggingInit {
  readonly role: "host" | "forward";
  /** Host: history kept behind the log indexes' upper (ms); default `LOG_RETENTION_MS`. */
  readonly retentionMs?: number;
}

/** `workerData.init` of a runtime worker. */
export interface RuntimeInit {
  /** URL (href) of the workload's worker module. */
  readonly specModule: string;
  readonly config: unknown;
  readonly maintenanceIntervalMs: number;
  /** Longest a worker steps before yielding to the event loop. */
  readonly stepBudgetMs: number;
  /** Unified logging, or null (the workload logs on its own, or not at all). */
  readonly logging: RuntimeLoggingInit | null;
}

/** An item of the total order. */
export type SequencedItem =
  | { readonly kind: "connect"; readonly nonce: string }
  | {
      readonly kind: "command";
      readonly nonce: string | null;
      readonly command: unknown;
      readonly internal: boolean;
    }
  /**
   * Controller commands forwarded as their wire bytes (`ClusterRuntimeOptions.commandFrame`):
   * command `i` is `bytes[ends[i-1] .. ends[i])` (from 0 for the first), read back by the worker
   * spec's `decodeCommand`. Takes one sequence number per command (`itemSize`).
   */
  | {
      readonly kind: "frames";
      readonly nonce: string | null;
      readonly bytes: Uint8Array;
      readonly ends: readonly number[];
    };

/** Sequence numbers an item takes: one per command (the sequencer's `size`). */
export function itemSize(item: SequencedItem): number {
  return item.kind === "frames" ? item.ends.length : 1;
}

/**
 * The items of `commands` (a controller's, in order) under `nonce`: each run of commands that
 * `frameOf` gives bytes for becomes one `frames` item (one buffer), the others `command` items.
 */
export function commandItems<C>(
  commands: readonly C[],
  nonce: string | null,
  frameOf: ((command: C) => Uint8Array | undefined) | undefined,
): SequencedItem[] {
  return forwardRuns<C, SequencedItem>(
    commands,
    frameOf,
    (bytes, ends) => ({ kind: "frames", nonce, bytes, ends }),
    (command) => ({ kind: "command", nonce, command, internal: false }),
  );
}

/**
 * Commands forwarded as bytes, in order: each run of commands that `frameOf` gives bytes for is
 * packed into one buffer (`packed(bytes, ends)`: command `i` is `bytes[ends[i-1] .. ends[i])`),
 * every other command is `single(command)`; so is every command of a run shorter than `minRun`.
 * Shared by the unified and the legacy runtimes.
 */
export function forwardRuns<C, T>(
  commands: readonly C[],
  frameOf: ((command: C) => Uint8Array | undefined) | undefined,
  packed: (bytes: Uint8Array, ends: readonly number[]) => T,
  single: (command: C) => T,
  minRun = 1,
): T[] {
  const out: T[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  let runCommands: C[] = [];
  const endRun = () => {
    if (run.length === 0) return;
    if (run.length < minRun) {
      for (const command of runCommands) out.push(single(command));
      run = [];
      runCommands = [];
      runBytes = 0;
      return;
    }
    const bytes = new Uint8Array(runBytes);
    // A plain array: one ArrayBuffer per message to clone, not two.
    const ends: number[] = [];
    let at = 0;
    for (let i = 0; i < run.length; i++) {
      const f = run[i] as Uint8Array;
      bytes.set(f, at);
      at += f.length;
      ends.push(at);
    }
    out.push(packed(bytes, ends));
    run = [];
    runCommands = [];
    runBytes = 0;
  };
  for (const command of commands) {
    const frame = frameOf?.(command);
    if (frame !== undefined) {
      run.push(frame);
      runCommands.push(command);
      runBytes += frame.length;
      continue;
    }
    endRun();
    out.push(single(command));
  }
  endRun();
  return out;
}

/** Worker → main. */
export type WorkerToMain =
  /** Responses produced in one event-loop turn under one nonce, in order. */
  | { readonly kind: "responses"; readonly nonce: string | null; readonly responses: unknown[] }
  | { readonly kind: "connected"; readonly nonce: string; readonly seq: number }
  | { readonly kind: "fatal"; readonly message: string }
  | { readonly kind: "closed" }
  /** Forwarding worker: the events it logged since its last maintenance tick. */
  | { readonly kind: "logEvents"; readonly events: readonly LogEvent[] }
  /** Hosting worker: its configuration changed (`LoggingDemand`). */
  | { readonly kind: "logDemand"; readonly storage: boolean }
  /** Hosting worker: its totals (at most once per second, when they changed). */
  | { readonly kind: "logStats"; readonly stats: LoggingStats }
  /** Forwarding worker: its totals (at most once per second, when they changed). */
  | { readonly kind: "forwardStats"; readonly stats: ForwardingStats }
  /** Every worker: its V8 heap in use (bytes), about once per `HEAP_REPORT_MS`. */
  | { readonly kind: "heap"; readonly usedBytes: number };

/** How often a worker reports its heap in use to the main thread. */
export const HEAP_REPORT_MS = 5000;

/** What a forwarding worker has done. */
export interface ForwardingStats {
  /** Events logged (and forwarded unless dropped). */
  readonly logged: number;
  /** Events dropped because nobody drained the batch. */
  readonly dropped: number;
}

/** Main → hosting worker (`cluster:log-inject`): forwarded events to ingest. */
export const LOG_INJECT_CHANNEL = "cluster:log-inject";
/** Main → forwarding worker (`cluster:log-forward`): `{enabled}`. */
export const LOG_FORWARD_CHANNEL = "cluster:log-forward";
