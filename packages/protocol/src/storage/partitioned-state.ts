/**
 * Merging the storage responses of the N parts (worker threads) of one process into the
 * responses of the process (materialize.md §1.5, `PartitionedStorageState`).
 *
 * Every command goes to every part. The state starts tracking uppers (every part at the minimum)
 * when it observes `runIngestion` (for the ingestion id and every source export id) or `runSink`
 * (the sink id); an alteration (a second Run* for a tracked id) keeps the tracked uppers.
 *
 * ## Merge rules
 * - `frontierUpper`: the meet over parts, reported when it strictly advances. An upper for an id
 *   that was never run is a bug of a part (`InvariantViolation`).
 * - `droppedId`: reported once, when every part dropped the id; the id is then forgotten. A part
 *   dropping the same id twice is a bug.
 * - `statisticsUpdates` and `statusUpdate` pass through; a `commandError` is forwarded once.
 *
 * ## Example flow (N = 2)
 * 1. runIngestion(u1, exports u1, u2) → tracks u1 and u2 at [0] for both parts.
 * 2. part 0: frontierUpper(u2, [7]) → nothing; part 1: frontierUpper(u2, [5]) →
 *    frontierUpper(u2, [5]).
 * 3. allowCompaction(u2, []) → part 1: droppedId(u2) → nothing; part 0: droppedId(u2) →
 *    droppedId(u2).
 */
import { type GlobalId, InvariantViolation, PartitionedFrontier } from "@mzts/repr";
import { CommandErrorMerge } from "../cluster/command-error-merge.js";
import type { StorageCommand } from "./command.js";
import type { StorageResponse } from "./response.js";

/** Merges the storage responses of N parts. */
export class PartitionedStorageState {
  /** Number of parts (workers); fixed. */
  readonly #parts: number;
  /** Object id → meet of the parts' uppers; from Run* until every part dropped it. */
  readonly #uppers = new Map<GlobalId, PartitionedFrontier>();
  /** Object id → parts that reported `droppedId`; deleted when all N did. */
  readonly #dropped = new Map<GlobalId, Set<number>>();
  /** Dedup of command errors. */
  readonly #errors: CommandErrorMerge;

  constructor(parts: number) {
    if (!Number.isInteger(parts) || parts < 1) {
      throw new InvariantViolation(`PartitionedStorageState needs at least one part, got ${parts}`);
    }
    this.#parts = parts;
    this.#errors = new CommandErrorMerge(parts);
  }

  /** Number of parts. */
  get parts(): number {
    return this.#parts;
  }

  /** Ids whose uppers are tracked (for tests and introspection). */
  get tracked(): ReadonlySet<GlobalId> {
    return new Set(this.#uppers.keys());
  }

  /** Observes a command sent to every part: Run* commands start tracking their ids. */
  observeCommand(cmd: StorageCommand): void {
    if (cmd.kind === "runIngestion") {
      this.#track(cmd.id);
      for (const e of cmd.description.sourceExports) this.#track(e.id);
    } else if (cmd.kind === "runSink") {
      this.#track(cmd.id);
    }
  }

  #track(id: GlobalId): void {
    if (!this.#uppers.has(id))
      this.#uppers.set(id, new PartitionedFrontier(`${id} upper`, this.#parts));
  }

  /**
   * Absorbs part `part`'s response and returns the merged responses to send on.
   * @throws InvariantViolation on a bug of a part (unknown id, double drop, unknown part).
   * @throws FrontierRegression when a part's upper moves backward.
   */
  absorb(part: number, r: StorageResponse): StorageResponse[] {
    if (!Number.isInteger(part) || part < 0 || part >= this.#parts) {
      throw new InvariantViolation(`no part ${part} (parts: ${this.#parts})`);
    }
    switch (r.kind) {
      case "frontierUpper": {
        const uppers = this.#uppers.get(r.id);
        if (uppers === undefined) {
          throw new InvariantViolation(
            `part ${part} reported an upper for ${r.id}, which was never run`,
          );
        }
        const advanced = uppers.set(part, r.upper);
        return advanced === undefined ? [] : [{ kind: "frontierUpper", id: r.id, upper: advanced }];
      }
      case "droppedId": {
        let parts = this.#dropped.get(r.id);
        if (parts === undefined) {
          parts = new Set();
          this.#dropped.set(r.id, parts);
        }
        if (parts.has(part)) throw new InvariantViolation(`part ${part} dropped ${r.id} twice`);
        parts.add(part);
        if (parts.size < this.#parts) return [];
        this.#dropped.delete(r.id);
        this.#uppers.delete(r.id);
        return [r];
      }
      case "statisticsUpdates":
      case "statusUpdate":
        return [r];
      case "commandError":
        return this.#errors.absorb(r.error) ? [r] : [];
    }
  }
}
