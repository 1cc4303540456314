/**
 * Deduplication of in-band command errors across the N parts (workers) of one process.
 *
 * Every part applies every command in the same order, so a refused command yields the same
 * `CommandError` from each part. The first copy is forwarded at once (no waiting on the slowest
 * part); the other N − 1 copies are swallowed, and the entry is forgotten once all N arrived.
 */
import type { CommandError } from "./command-error.js";

export class CommandErrorMerge {
  /** Parts per process. */
  readonly #parts: number;
  /** Error key → copies received so far (1..N−1); deleted when the N-th copy arrives. */
  readonly #seen = new Map<string, number>();

  constructor(parts: number) {
    this.#parts = parts;
  }

  /** True when this copy is the first and must be forwarded. */
  absorb(e: CommandError): boolean {
    const key = JSON.stringify([e.objectId, e.command, e.code, e.message]);
    const n = (this.#seen.get(key) ?? 0) + 1;
    if (n >= this.#parts) this.#seen.delete(key);
    else this.#seen.set(key, n);
    return n === 1;
  }
}
