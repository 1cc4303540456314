/**
 * An in-memory `Blob` for unit tests. Not durable: the running system uses files under the data
 * directory (`createFileBlob`).
 */
import { PersistClosed } from "../errors.js";
import type { Blob } from "./blob.js";

let counter = 0;

/** Creates an empty in-memory blob store (test helper; nothing is persisted). */
export function createMemoryBlob(): Blob {
  /** Key → bytes; values are copied in and out. */
  const values = new Map<string, Uint8Array>();
  let closed = false;
  const location = `memory:${process.pid}:${++counter}`;
  const check = () => {
    if (closed) throw new PersistClosed(`blob ${location}`);
  };
  return {
    location,
    async get(key) {
      check();
      return values.get(key)?.slice();
    },
    async set(key, value) {
      check();
      values.set(key, value.slice());
    },
    async delete(key) {
      check();
      values.delete(key);
    },
    async list(prefix) {
      check();
      return [...values.keys()].filter((k) => k.startsWith(prefix));
    },
    async close() {
      closed = true;
    },
  };
}
