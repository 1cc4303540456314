/**
 * The relay floor's wire helpers (`bench/relay-floor.ts`): frames messages round-trip (and are
 * the protobuf `repeated bytes` field 1 layout), envelopes are split whatever the chunking, and
 * `TurnBatch` hands one turn's items to one flush (or flushes at its cap at once).
 */
import { describe, expect, it } from "vitest";
import {
  decodeFrames,
  EnvelopeReader,
  encodeFramesEnvelope,
  TurnBatch,
} from "../bench/relay-floor.js";

const frames = [
  { id: 1, body: Buffer.from("a") },
  { id: 0xfffffffe, body: Buffer.alloc(300, 7) }, // a two-byte length varint
  { id: 3, body: Buffer.alloc(0) },
];

describe("relay floor wire helpers", () => {
  it("frames round-trip through one envelope", () => {
    const env = encodeFramesEnvelope(frames);
    expect(env[0]).toBe(0);
    expect(env.readUInt32BE(1)).toBe(env.length - 5);
    const back = decodeFrames(env.subarray(5));
    expect(back.map((f) => f.id)).toEqual(frames.map((f) => f.id));
    expect(back.map((f) => Buffer.from(f.body))).toEqual(frames.map((f) => f.body));
    // protobuf layout: field 1, wire type 2, then the 4-byte id and the body.
    expect([...env.subarray(5, 12)]).toEqual([0x0a, 5, 0, 0, 0, 1, "a".charCodeAt(0)]);
  });

  it("rejects a cut frame", () => {
    const env = encodeFramesEnvelope(frames);
    expect(() => decodeFrames(env.subarray(5, env.length - 1))).toThrow(/cut frame/);
  });

  it("splits envelopes across any chunking", () => {
    const bytes = Buffer.concat([encodeFramesEnvelope(frames), encodeFramesEnvelope([frames[0]!])]);
    for (const step of [1, 3, 7, bytes.length]) {
      const seen: number[][] = [];
      const reader = new EnvelopeReader((m) => seen.push(decodeFrames(m).map((f) => f.id)));
      for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
      expect(seen).toEqual([[1, 0xfffffffe, 3], [1]]);
    }
  });

  it("TurnBatch flushes one turn's items together, and at its cap at once", async () => {
    const flushed: number[][] = [];
    const batch = new TurnBatch<number>((items) => flushed.push(items), 3);
    batch.add(1);
    batch.add(2);
    expect(flushed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1, 2]]);
    for (const n of [3, 4, 5, 6]) batch.add(n);
    expect(flushed).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    await new Promise((r) => setImmediate(r));
    expect(flushed).toEqual([[1, 2], [3, 4, 5], [6]]);
  });
});
