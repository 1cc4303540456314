/**
 * Import read holds and their upkeep: each installed dataflow (index or materialized view) holds
 * its durable imports (subsource and view shards, through `PersistReadHolds`) at its as-of, then
 * at its own since — what a replay of it needs — and the upkeep loop moves them and the shards'
 * sinces along.
 *
 * ## Invariants
 * - A dataflow's holds are taken before it is sent to the compute controller and released when
 *   it is uninstalled (or its creation failed): persist never compacts an import past what a
 *   replica may still have to read it at.
 * - Every `tickMs`: holds advance to the dataflow's compute since (never back; a dropped or unknown
 *   collection is skipped), then `PersistReadHolds.tick()` downgrades the environment's since
 *   handles (trailing the uppers by the compaction window) and refreshes the uppers; once it
 *   settles the frontier waiters are woken (`onTick`). One tick at a time; `close()` waits for it.
 */
import {
  CollectionMissing as ComputeCollectionMissing,
  type ComputeController,
} from "@mzts/compute-client";
import type { Frontier, GlobalId } from "@mzts/repr";
import type { PersistReadHolds, ReadHold } from "@mzts/storage-client";

export interface ImportHoldsOptions {
  readonly compute: ComputeController;
  readonly readHolds: PersistReadHolds;
  /** Upkeep period (ms). */
  readonly tickMs: number;
  /** Called after every read-hold tick (the shards' uppers were refreshed). */
  readonly onTick: () => void;
}

/** The holds of installed dataflows on their imports, and the upkeep loop (file comment). */
export class ImportHolds {
  readonly #o: ImportHoldsOptions;
  readonly #holds = new Map<GlobalId, ReadHold[]>();
  readonly #timer: NodeJS.Timeout;
  #upkeep: Promise<void> | undefined;
  #closed = false;

  constructor(opts: ImportHoldsOptions) {
    this.#o = opts;
    this.#timer = setInterval(() => this.#tick(), opts.tickMs);
    this.#timer.unref();
  }

  /**
   * Holds `imports` at `asOf` while `install` runs; keeps them for `dataflowId` if it succeeds,
   * releases them if it throws.
   */
  holdWhile(
    dataflowId: GlobalId,
    imports: readonly GlobalId[],
    asOf: Frontier,
    install: () => void,
  ): void {
    const holds = imports.map((id) => this.#o.readHolds.acquire(id, asOf));
    try {
      install();
    } catch (e) {
      for (const h of holds) h.release();
      throw e;
    }
    this.#holds.set(dataflowId, holds);
  }

  /** Releases a dataflow's holds (it was dropped). */
  release(dataflowId: GlobalId): void {
    for (const h of this.#holds.get(dataflowId) ?? []) h.release();
    this.#holds.delete(dataflowId);
  }

  /** Moves each dataflow's import holds up to the dataflow's own since. */
  advance(): void {
    for (const [id, holds] of this.#holds) {
      let since: Frontier;
      try {
        since = this.#o.compute.frontiers(id).since;
      } catch (e) {
        if (e instanceof ComputeCollectionMissing) continue;
        throw e;
      }
      if (since === null) continue;
      for (const h of holds) h.downgrade(since);
    }
  }

  #tick(): void {
    if (this.#upkeep !== undefined || this.#closed) return;
    this.advance();
    this.#upkeep = this.#o.readHolds
      .tick()
      .then(() => this.#o.onTick())
      .finally(() => {
        this.#upkeep = undefined;
      });
  }

  /** Stops the upkeep loop (waits for a running tick). The holds go with the read holds. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#upkeep;
  }
}
