/**
 * The main-thread half of a runtime's unified logging (phase 2): `runtime.logging`.
 *
 * ## Storage → compute, end to end (clusterd wires the two halves)
 * 1. A storage worker raises an event on its `ctx.logging.logger` (a `ForwardingHost`, enabled).
 * 2. Once per maintenance tick the worker sends its batch to the main thread; the forwarding
 *    runtime's `onLogEvents` callbacks get it.
 * 3. The composition root passes it to the hosting runtime's `injectLogEvents`, which sends each
 *    event to compute worker `event.worker % W` (`routeLogEvents`).
 * 4. That worker's `UnifiedLoggingHost` ingests it and applies it at its next `step`, with the
 *    storage worker's id in the row.
 * The hosting side's configuration flows back the same way: a hosting worker's `logDemand` →
 * `onDemand` callbacks → the forwarding runtime's `setForwarding(storage)`, so storage builds no
 * events unless a storage relation is installed.
 *
 * Totals (`stats()`) are each worker's latest report summed up, for `/metrics`.
 */

import {
  type ForwardingStats,
  LOG_FORWARD_CHANNEL,
  LOG_INJECT_CHANNEL,
  type WorkerToMain,
} from "../worker/messages.js";
import type { LogEvent } from "./events.js";
import { routeLogEvents } from "./forwarder.js";
import type { LoggingDemand, LoggingStats } from "./unified-host.js";

/** `runtime.logging` of a runtime whose workers host the log indexes (compute). */
export interface HostRuntimeLogging {
  readonly role: "host";
  /** Sends forwarded events to the hosting workers: event of worker `w` → worker `w % W`. */
  injectLogEvents(events: readonly LogEvent[]): void;
  /** Called when a hosting worker's configuration changes (`LoggingDemand`). */
  onDemand(cb: (demand: LoggingDemand) => void): void;
  /** The workers' latest totals, summed. */
  stats(): LoggingStats;
}

/** `runtime.logging` of a runtime whose workers forward their events (storage). */
export interface ForwardRuntimeLogging {
  readonly role: "forward";
  /** Receives each worker's batch of events (once per maintenance tick, when not empty). */
  onLogEvents(cb: (events: readonly LogEvent[]) => void): void;
  /** Turns the workers' forwarding on (re-arming it: raisers resend their state) or off. */
  setForwarding(enabled: boolean): void;
  /** The workers' latest totals, summed. */
  stats(): ForwardingStats;
}

export type RuntimeLogging = HostRuntimeLogging | ForwardRuntimeLogging;

/** What the main-thread half needs of the runtime. */
export interface RuntimeLoggingPorts {
  readonly workers: number;
  send(worker: number, channel: string, payload: unknown): void;
  /** False once the runtime is closed or failed (nothing is sent then). */
  live(): boolean;
}

/** The main-thread half, with the runtime's hook for worker messages. */
export interface RuntimeLoggingMain {
  readonly api: RuntimeLogging;
  /** Handles a worker's logging message; false when `msg` is not one. */
  receive(from: number, msg: WorkerToMain): boolean;
}

/** Builds the main-thread half for `role`; see the file comment. */
export function createRuntimeLogging(
  role: "host" | "forward",
  ports: RuntimeLoggingPorts,
): RuntimeLoggingMain {
  return role === "host" ? hostLogging(ports) : forwardLogging(ports);
}

function hostLogging(ports: RuntimeLoggingPorts): RuntimeLoggingMain {
  const demandCbs: Array<(d: LoggingDemand) => void> = [];
  const latest = new Map<number, LoggingStats>();
  const api: HostRuntimeLogging = {
    role: "host",
    injectLogEvents(events) {
      if (!ports.live() || events.length === 0) return;
      for (const [w, list] of routeLogEvents(events, ports.workers)) {
        ports.send(w, LOG_INJECT_CHANNEL, list);
      }
    },
    onDemand(cb) {
      demandCbs.push(cb);
    },
    stats() {
      const sum = {
        events: { compute: 0, storage: 0 },
        records: 0,
        rejected: 0,
        orphans: 0,
        unknownRelations: 0,
      };
      for (const s of latest.values()) {
        sum.events.compute += s.events.compute;
        sum.events.storage += s.events.storage;
        sum.records += s.records;
        sum.rejected += s.rejected;
        sum.orphans += s.orphans;
        sum.unknownRelations += s.unknownRelations;
      }
      return sum;
    },
  };
  return {
    api,
    receive(from, msg) {
      if (msg.kind === "logDemand") {
        for (const cb of demandCbs) cb({ storage: msg.storage });
        return true;
      }
      if (msg.kind === "logStats") {
        latest.set(from, msg.stats);
        return true;
      }
      return false;
    },
  };
}

function forwardLogging(ports: RuntimeLoggingPorts): RuntimeLoggingMain {
  const eventCbs: Array<(events: readonly LogEvent[]) => void> = [];
  const latest = new Map<number, ForwardingStats>();
  const api: ForwardRuntimeLogging = {
    role: "forward",
    onLogEvents(cb) {
      eventCbs.push(cb);
    },
    setForwarding(enabled) {
      if (!ports.live()) return;
      for (let w = 0; w < ports.workers; w++) ports.send(w, LOG_FORWARD_CHANNEL, { enabled });
    },
    stats() {
      let logged = 0;
      let dropped = 0;
      for (const s of latest.values()) {
        logged += s.logged;
        dropped += s.dropped;
      }
      return { logged, dropped };
    },
  };
  return {
    api,
    receive(from, msg) {
      if (msg.kind === "logEvents") {
        for (const cb of eventCbs) cb(msg.events);
        return true;
      }
      if (msg.kind === "forwardStats") {
        latest.set(from, msg.stats);
        return true;
      }
      return false;
    },
  };
}
