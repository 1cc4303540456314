/**
 * Stored bytes that cannot be trusted are refused, never read as data: a flipped byte in a
 * batch file on disk (`CorruptBlob` naming the key), a batch or state record written by a newer
 * format version (`UnsupportedFormatVersion` naming found vs supported), and a blob that
 * vanished although the state references it.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPersist, type PersistClient } from "./client.js";
import {
  BATCH_FORMAT_VERSION,
  decodeState,
  encodeBatch,
  encodeState,
  STATE_FORMAT_VERSION,
} from "./codec.js";
import { CorruptBlob, UnsupportedFormatVersion } from "./errors.js";

let dir = "";
let client: PersistClient;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-persist-faults-"));
  client = await createPersist({ dataDir: dir });
});
afterEach(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

async function shardWithOneBatch() {
  const s = await client.openShard("s", { create: true });
  await s.compareAndAppend(
    [
      [[1n, "one"], 0n, 1],
      [[2n, "two"], 1n, 1],
    ],
    0n,
    2n,
  );
  const key = (await s.info()).batches[0]!.key!;
  return { s, key, file: join(dir, "blob", ...key.split("/")) };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("corruption on disk", () => {
  it("a flipped byte in a batch file is reported as CorruptBlob naming the key", async () => {
    const { s, key, file } = await shardWithOneBatch();
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff; // inside the row data
    writeFileSync(file, bytes);
    const e = await caught(s.snapshot(1n));
    expect(e).toBeInstanceOf(CorruptBlob);
    expect((e as CorruptBlob).key).toBe(key);
    expect((e as Error).message).toContain(key);
    expect((e as Error).message).toMatch(/checksum mismatch/);
    await expect(s.listen(0n).next()).rejects.toThrow(CorruptBlob);
  });

  it("a truncated batch file is CorruptBlob", async () => {
    const { s, file } = await shardWithOneBatch();
    writeFileSync(file, readFileSync(file).subarray(0, 10));
    await expect(s.snapshot(1n)).rejects.toThrow(CorruptBlob);
  });

  it("a referenced blob that vanished is reported, not read as empty", async () => {
    const { s, file } = await shardWithOneBatch();
    unlinkSync(file);
    await expect(s.snapshot(1n)).rejects.toThrow(/missing from blob storage/);
  });
});

describe("format versions", () => {
  it("a batch blob of a newer version is refused with found vs supported", async () => {
    const { s, key, file } = await shardWithOneBatch();
    writeFileSync(file, encodeBatch([[[1n, "one"], 0n, 1]], BATCH_FORMAT_VERSION + 1));
    const e = await caught(s.snapshot(1n));
    expect(e).toBeInstanceOf(UnsupportedFormatVersion);
    expect(e).toMatchObject({
      key,
      found: BATCH_FORMAT_VERSION + 1,
      supported: BATCH_FORMAT_VERSION,
    });
  });

  it("a state record of a newer version is refused by every command", async () => {
    await shardWithOneBatch();
    const head = (await client.consensus.head("s"))!;
    const state = decodeState("s", head.data);
    const newer = encodeState({ ...state, upper: 3n }, STATE_FORMAT_VERSION + 1);
    expect(
      await client.consensus.compareAndSet("s", head.seqNo, {
        seqNo: head.seqNo + 1n,
        data: newer,
      }),
    ).toBe(true);
    const fresh = await createPersist({ dataDir: dir });
    try {
      const e = await caught(fresh.openShard("s"));
      expect(e).toBeInstanceOf(UnsupportedFormatVersion);
      expect(e).toMatchObject({
        what: "state",
        found: STATE_FORMAT_VERSION + 1,
        supported: STATE_FORMAT_VERSION,
      });
      expect((e as Error).message).toMatch(/upgrade @mzts\/persist/);
      // A handle opened before the upgrade also refuses, rather than overwrite the newer state.
      const old = await client.openShard("s").catch((x: unknown) => x);
      expect(old).toBeInstanceOf(UnsupportedFormatVersion);
    } finally {
      await fresh.close();
    }
    // Nothing was written over the newer record.
    expect((await client.consensus.head("s"))!.seqNo).toBe(head.seqNo + 1n);
  });
});
