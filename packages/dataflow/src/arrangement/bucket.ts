/**
 * A key's entries once it has had two, by row key (`Bucket`), and reading them (`collect`).
 */
import type { Row, Timestamp } from "@mzts/repr";
import type { Key } from "../operators/key.js";
import { collectEntry, type Entry } from "./entry.js";

/** Entries a bucket holds in arrays before it becomes a map (see `Bucket`). */
const SMALL_BUCKET = 32;

/**
 * The entries of a key that has had two or more, by row key. `key` is the one copy of the key
 * its entries share (a key string is built afresh for every insert; an entry keeping its own
 * would hold one per entry).
 *
 * Up to `SMALL_BUCKET` entries are two parallel arrays (row keys, entries) in insertion order,
 * searched linearly; past that, a map row key → entry (kept until the key has no entry). A log
 * key replaced every tick holds ~a retention's worth of entries (11 at 10 s), each tick adding
 * one and compaction removing the oldest: a `Map` churned like that costs a hash, a probe and now
 * and then a rehash (a new table) per change; the arrays cost a short scan of row keys and a
 * front splice (issue 16). Iteration is in insertion order either way.
 */
export class Bucket {
  readonly key: Key;
  /** Row keys, parallel to `#list` (undefined once the bucket is a map). */
  #rks: Key[] | undefined;
  #list: Entry[] | undefined;
  #map: Map<Key, Entry> | undefined;

  /** A bucket of a key's first two entries, `a` inserted before `b`. */
  constructor(key: Key, a: Entry, b: Entry) {
    this.key = key;
    this.#rks = [a.rowKey, b.rowKey];
    this.#list = [a, b];
    a.bucket = this;
    b.bucket = this;
  }

  get size(): number {
    return this.#list !== undefined ? this.#list.length : this.#map!.size;
  }

  /** The entry of row key `rk`, if any. */
  get(rk: Key): Entry | undefined {
    const rks = this.#rks;
    if (rks === undefined) return this.#map!.get(rk);
    // Newest first: a row updated again is most often a recent one.
    for (let i = rks.length - 1; i >= 0; i--) if (rks[i] === rk) return this.#list![i];
    return undefined;
  }

  /** Adds an entry whose row key is not in the bucket. */
  add(e: Entry): void {
    e.bucket = this;
    const rks = this.#rks;
    if (rks === undefined) {
      this.#map!.set(e.rowKey, e);
      return;
    }
    const list = this.#list!;
    if (rks.length < SMALL_BUCKET) {
      rks.push(e.rowKey);
      list.push(e);
      return;
    }
    const map = new Map<Key, Entry>();
    for (let i = 0; i < list.length; i++) map.set(rks[i]!, list[i]!);
    map.set(e.rowKey, e);
    this.#map = map;
    this.#rks = undefined;
    this.#list = undefined;
  }

  /** Removes entry `e` (found by identity); false when it is not in the bucket. */
  delete(e: Entry): boolean {
    const list = this.#list;
    if (list === undefined) {
      const map = this.#map!;
      if (map.get(e.rowKey) !== e) return false;
      return map.delete(e.rowKey);
    }
    // Oldest first: compaction removes the oldest entries.
    const i = list.indexOf(e);
    if (i < 0) return false;
    if (i === 0) {
      list.shift();
      this.#rks!.shift();
    } else {
      list.splice(i, 1);
      this.#rks!.splice(i, 1);
    }
    return true;
  }

  /** The entries, in insertion order. */
  values(): Iterable<Entry> {
    return this.#list ?? this.#map!.values();
  }
}

/** Appends a key's rows as of `t` (its one entry, or every entry of its bucket). */
export function collect(slot: Entry | Bucket, t: Timestamp, out: Array<[Row, number]>): void {
  if (!(slot instanceof Bucket)) {
    collectEntry(slot, t, out);
    return;
  }
  for (const e of slot.values()) collectEntry(e, t, out);
}
