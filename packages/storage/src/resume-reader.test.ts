/**
 * The main thread's resume reader opens its persist client on the first read; an open that failed
 * is not kept, so once the store can be opened the next read succeeds (before, every later read
 * got the first failure again, and each ingestion started without its resume point).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageUnavailable } from "@mzts/persist";
import { deterministicCounter } from "@mzts/protocol/testing/storage-commands";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createResumeReader } from "./resume-reader.js";

let dir = "";
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const counter = deterministicCounter();

describe("createResumeReader", () => {
  it("does not keep a persist client whose open failed: the next read tries again", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-storage-resume-"));
    const dataDir = join(dir, "persist");
    writeFileSync(dataDir, "a file where the data directory should be");
    const reader = createResumeReader({ dataDir, logger: pino({ level: "silent" }) });
    try {
      await expect(reader.read(counter, 2_000_000n)).rejects.toBeInstanceOf(StorageUnavailable);
      rmSync(dataDir);
      expect(await reader.read(counter, 2_000_000n)).toEqual({
        uppers: { u11: 0n },
        startMs: 1_000_000n,
      });
    } finally {
      await reader.close();
    }
  });
});
