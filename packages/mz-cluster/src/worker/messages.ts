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
    };

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
