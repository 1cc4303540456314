/**
 * The forwarding side of unified logging: a workload whose workers host no log indexes (storage)
 * gets a `ForwardingHost` as `ctx.logging`; its logger batches events, the runtime drains the
 * batch once per maintenance tick and sends it to the main thread, which hands it to the hosting
 * runtime (compute), where `routeLogEvents` sends each event to worker `event.worker % W`. Rows
 * keep the forwarding worker's id (`LogEvent.worker`).
 *
 * ## Enabling
 * Forwarding starts disabled (`logger` is `NO_LOGGER`: raisers build nothing). The hosting
 * runtime's demand turns it on (`setEnabled(true)`) when a host installs a relation of this
 * workload; each enabling gives a **new** logger object, which tells raisers that compare
 * logger identity to send their current state again (the fresh host holds none of it).
 *
 * ## Bounds
 * The batch holds at most `maxBuffered` events; beyond that the oldest are dropped and counted
 * (`dropped`) — only when nobody drains (the main thread is stuck).
 */
import {
  type ComputeEventLogger,
  eventLogger,
  type LogEvent,
  type LogEventBody,
  NO_LOGGER,
} from "./events.js";
import type { LoggingHost, LogIndex } from "./host.js";

export interface ForwardingHostOptions {
  /** The worker whose events these are. */
  readonly worker: number;
  /** Wall clock (ms); default `Date.now`. */
  readonly clock?: () => number;
  /** Most events held between drains; default 65 536. */
  readonly maxBuffered?: number;
}

/** A worker's logging that forwards its events; see the file comment. */
export class ForwardingHost implements LoggingHost {
  readonly worker: number;
  readonly #clock: () => number;
  readonly #max: number;
  #logger: ComputeEventLogger = NO_LOGGER;
  /** Events logged since the last drain, oldest first. */
  #batch: LogEvent[] = [];
  /** Events logged in total / dropped because the batch was full. */
  logged = 0;
  dropped = 0;

  constructor(opts: ForwardingHostOptions) {
    this.worker = opts.worker;
    this.#clock = opts.clock ?? Date.now;
    this.#max = opts.maxBuffered ?? 65_536;
  }

  get logger(): ComputeEventLogger {
    return this.#logger;
  }

  /** Turns forwarding on (a fresh logger) or off (`NO_LOGGER`, the batch discarded). */
  setEnabled(enabled: boolean): void {
    if (!enabled) {
      this.#logger = NO_LOGGER;
      this.#batch = [];
      return;
    }
    const log = (event: LogEventBody) => {
      if (this.#logger !== logger) return; // a logger kept past its disabling
      if (this.#batch.length >= this.#max) {
        this.#batch.shift();
        this.dropped++;
      }
      this.#batch.push({ worker: this.worker, atMs: this.#clock(), event });
      this.logged++;
    };
    const logger = eventLogger(log);
    this.#logger = logger;
  }

  /** The events logged since the last drain (the runtime calls it once per maintenance tick). */
  drain(): LogEvent[] {
    if (this.#batch.length === 0) return [];
    const out = this.#batch;
    this.#batch = [];
    return out;
  }

  /** The forwarding side follows its host's configuration (`setEnabled`), not its own. */
  configure(): void {}

  /** Forwarding workers host no log index. */
  index(): LogIndex | undefined {
    return undefined;
  }

  /** Nothing to apply here; draining is the runtime's. */
  step(): boolean {
    return false;
  }

  close(): void {
    this.setEnabled(false);
  }
}

/** Groups events by the hosting worker: forwarding worker `w` → host worker `w % workers`. */
export function routeLogEvents(
  events: readonly LogEvent[],
  workers: number,
): Map<number, LogEvent[]> {
  const out = new Map<number, LogEvent[]>();
  for (const e of events) {
    const to = (((e.worker % workers) + workers) % workers) | 0;
    let list = out.get(to);
    if (list === undefined) out.set(to, (list = []));
    list.push(e);
  }
  return out;
}
