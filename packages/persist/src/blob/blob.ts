/**
 * The blob interface: an immutable-value key-value store for batch data (Materialize `Blob`).
 *
 * ## Contract (checked by `src/testdata/blob-contract.ts` against every implementation)
 * - `set(key, value)` is atomic and durable when it resolves: a reader sees the whole old value
 *   or the whole new one, never a torn write, and the value survives a crash of the process.
 * - `get(key)` returns the bytes or `undefined` when absent; `delete(key)` is idempotent.
 * - `list(prefix)` returns the keys starting with `prefix` (unordered).
 * - Keys are `<segment>/<segment>…` with segments from `[A-Za-z0-9._-]`, not starting with a dot.
 * - Every method rejects with `StorageUnavailable` when the store itself fails.
 */

/** A key-value store for immutable blobs. */
export interface Blob {
  /** Where the data lives, for logs (no secrets). */
  readonly location: string;
  /** The value of `key`, or `undefined`. @throws StorageUnavailable */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key`, atomically and durably. @throws StorageUnavailable */
  set(key: string, value: Uint8Array): Promise<void>;
  /** Removes `key` if present. @throws StorageUnavailable */
  delete(key: string): Promise<void>;
  /** The keys that start with `prefix`. @throws StorageUnavailable */
  list(prefix: string): Promise<string[]>;
  /**
   * Optional: deletes leftovers of interrupted writes (e.g. temp files) under `prefix` older than
   * `olderThanMs`, and directories left empty. Returns how many leftovers were removed.
   */
  sweepTempFiles?(olderThanMs: number, prefix?: string): Promise<number>;
  /** Releases resources; further calls reject. */
  close(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** True when `key` is a valid blob key (see the contract). */
export function isValidBlobKey(key: string): boolean {
  const parts = key.split("/");
  return parts.length > 0 && parts.every((p) => SEGMENT.test(p));
}
