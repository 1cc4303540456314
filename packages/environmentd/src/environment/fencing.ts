/**
 * Fencing (design §6): noticing that a newer environmentd booted on the catalog — a catalog write
 * refused with `StaleGeneration`, or the catalog's generation seen moving on (checked every
 * `checkMs`) — and then stopping: the environment closes itself leaving the replicas to the newer
 * one, and the owner is told (`environmentd` exits with code 3).
 *
 * ## Invariants
 * - The stop runs once, and never from inside the DDL queue (closing waits for that queue).
 * - An unavailable catalog is not a fence: the next write will say what is wrong.
 */
import type { Logger } from "pino";
import type { Catalog } from "../catalog/catalog.js";

export interface FencingOptions {
  readonly catalog: Catalog;
  readonly generation: bigint;
  readonly log: Logger;
  /** Generation check period (ms). */
  readonly checkMs: number;
  /** Whether the environment is closed already (then a fence changes nothing). */
  readonly isClosed: () => boolean;
  /** Stops the environment; called once, outside the DDL queue. */
  readonly stop: (newer: bigint) => void;
  /** After each check that found no newer generation (replicas re-check their refusals). */
  readonly onChecked?: () => void;
}

/** Watches for a newer generation (see the file comment). */
export class Fencing {
  readonly #o: FencingOptions;
  #fenced = false;
  #timer: NodeJS.Timeout | undefined;
  /** The catalog's generation as last read (ours until the check sees it move). */
  #catalogGeneration: bigint;

  constructor(opts: FencingOptions) {
    this.#o = opts;
    this.#catalogGeneration = opts.generation;
  }

  /** The catalog's generation as of the last check. */
  get catalogGeneration(): bigint {
    return this.#catalogGeneration;
  }

  /** Starts the periodic generation check. */
  start(): void {
    const { catalog, generation } = this.#o;
    this.#timer = setInterval(() => {
      catalog.generation().then(
        (current) => {
          this.#catalogGeneration = current;
          if (current > generation) this.fencedBy(current);
          else this.#o.onChecked?.();
        },
        () => undefined,
      );
    }, this.#o.checkMs);
    this.#timer.unref();
  }

  /** A newer environmentd booted: stop acting (the replicas are its now). */
  fencedBy(newer: bigint): void {
    if (this.#fenced || this.#o.isClosed()) return;
    this.#fenced = true;
    this.#o.log.error(
      { generation: `${this.#o.generation}`, newer_generation: `${newer}` },
      "fenced by a newer environmentd; closing without touching the replicas",
    );
    setImmediate(() => this.#o.stop(newer));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
