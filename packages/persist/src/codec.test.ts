/**
 * Stored formats: round trips, and refusal of bytes that are corrupt (checksum, magic, shape)
 * or written by a newer format version.
 */
import type { Update } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import {
  BATCH_FORMAT_VERSION,
  decodeBatch,
  decodeState,
  encodeBatch,
  encodeState,
  STATE_FORMAT_VERSION,
} from "./codec.js";
import { CorruptBlob, UnsupportedFormatVersion } from "./errors.js";
import { initialState, type ShardState } from "./state.js";

const state: ShardState = {
  ...initialState("s1", 1234),
  upper: 30n,
  since: 10n,
  batches: [
    { key: "s1/1-aa", lower: 0n, upper: 20n, since: 10n, count: 3, bytes: 99 },
    { key: null, lower: 20n, upper: 30n, count: 0, bytes: 0 },
  ],
  readers: { r1: { since: 10n, heartbeatMs: 5 }, r2: { since: null, heartbeatMs: 6 } },
};

const updates: Update[] = [
  [[1n, "a", null, true], 0n, 1],
  [[-(2n ** 63n), 1.5, new Uint8Array([1, 2])], (1n << 64n) - 1n, -(2 ** 53 - 1)],
  [[], 7n, 3],
];

describe("state records", () => {
  it("round-trip", () => {
    expect(decodeState("k", encodeState(state))).toEqual(state);
    const closed = { ...state, upper: null, since: null, batches: [], readers: {}, dropped: true };
    expect(decodeState("k", encodeState(closed))).toEqual(closed);
  });

  it("refuse a newer format version, naming found and supported", () => {
    const bytes = encodeState(state, STATE_FORMAT_VERSION + 1);
    const e = (() => {
      try {
        decodeState("consensus:s1@3", bytes);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(UnsupportedFormatVersion);
    expect((e as UnsupportedFormatVersion).found).toBe(STATE_FORMAT_VERSION + 1);
    expect((e as UnsupportedFormatVersion).supported).toBe(STATE_FORMAT_VERSION);
    expect((e as Error).message).toMatch(/consensus:s1@3: state format version 2 is newer/);
  });

  it("detect a flipped byte, a bad magic and a truncated header", () => {
    const bytes = encodeState(state);
    bytes[20]! ^= 0x01;
    expect(() => decodeState("k", bytes)).toThrow(CorruptBlob);
    expect(() => decodeState("k", bytes)).toThrow(/checksum mismatch/);
    const magic = encodeState(state);
    magic[0] = 0;
    expect(() => decodeState("k", magic)).toThrow(/bad magic/);
    expect(() => decodeState("k", new Uint8Array(5))).toThrow(/shorter than the 12-byte header/);
  });
});

describe("batch blobs", () => {
  it("round-trip every datum kind, u64 times and large diffs exactly", () => {
    expect(decodeBatch("k", encodeBatch(updates))).toEqual(updates);
    expect(decodeBatch("k", encodeBatch([]))).toEqual([]);
  });

  it("refuse a newer format version", () => {
    const bytes = encodeBatch(updates, BATCH_FORMAT_VERSION + 1);
    expect(() => decodeBatch("s1/1-aa", bytes)).toThrow(UnsupportedFormatVersion);
    expect(() => decodeBatch("s1/1-aa", bytes)).toThrow(
      /batch format version 2 is newer than the supported version 1/,
    );
  });

  it("detect a flip of any single byte", () => {
    const good = encodeBatch(updates);
    for (let i = 0; i < good.byteLength; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x40;
      // Flipping a version byte upward reports the version; every other flip is corruption.
      expect(() => decodeBatch("s1/x", bad), `byte ${i}`).toThrow(/s1\/x/);
    }
  });

  it("detect truncation", () => {
    const good = encodeBatch(updates);
    expect(() => decodeBatch("k", good.subarray(0, good.byteLength - 1))).toThrow(CorruptBlob);
  });
});
