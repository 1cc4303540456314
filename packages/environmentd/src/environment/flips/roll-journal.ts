/**
 * The roll journal: which replica rolls are under way, kept in a small file beside the catalog
 * (`<dataDir>/flips.json`), so that an environmentd that died in the middle of a roll leaves the
 * next one enough to clean up (`recoverRolls` in `live-flips.ts`).
 *
 * ## Invariants
 * - An entry is written (`begin`) before the successor exists anywhere but in the catalog, and
 *   removed (`end`) once the roll is over either way (swapped, or the successor withdrawn).
 * - Writes replace the file atomically (write a temporary file, rename it over); a file that
 *   cannot be read or parsed counts as empty (the worst case is a stray successor left as an
 *   ordinary replica, as before this journal existed).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";

/** One roll under way. */
export interface RollEntry {
  readonly clusterId: string;
  /** The replica being replaced (its id and name). */
  readonly retiredId: string;
  readonly retiredName: string;
  /** The successor (its id and `_pending` name). */
  readonly successorId: string;
  readonly successorName: string;
}

/** The rolls under way (see the file comment). */
export class RollJournal {
  readonly #path: string;
  #entries: RollEntry[];

  constructor(path: string) {
    this.#path = path;
    this.#entries = read(path);
  }

  /** The rolls that were under way when the journal was opened, or begun since. */
  entries(): readonly RollEntry[] {
    return [...this.#entries];
  }

  begin(entry: RollEntry): void {
    this.#entries = [...this.#entries.filter((e) => e.successorId !== entry.successorId), entry];
    this.#write();
  }

  end(successorId: string): void {
    const next = this.#entries.filter((e) => e.successorId !== successorId);
    if (next.length === this.#entries.length) return;
    this.#entries = next;
    this.#write();
  }

  #write(): void {
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ rolls: this.#entries }, null, 2)}\n`);
    renameSync(tmp, this.#path);
  }
}

function read(path: string): RollEntry[] {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { rolls?: unknown };
    if (!Array.isArray(parsed.rolls)) return [];
    return parsed.rolls.filter(
      (e): e is RollEntry =>
        typeof e === "object" &&
        e !== null &&
        ["clusterId", "retiredId", "retiredName", "successorId", "successorName"].every(
          (k) => typeof (e as Record<string, unknown>)[k] === "string",
        ),
    );
  } catch {
    return [];
  }
}
