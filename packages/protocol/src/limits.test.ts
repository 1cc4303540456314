/** Tests of the log truncation helper and the persist shard id rule mirrored by the codecs. */
import { describe, expect, it } from "vitest";
import { SHARD_ID } from "./codec/field.js";
import { MAX_LOGGED_STRING_CHARS, truncateForLog } from "./limits.js";

describe("truncateForLog", () => {
  it("keeps short strings and cuts long ones, naming the original length", () => {
    expect(truncateForLog("abc")).toBe("abc");
    const long = "x".repeat(50 * 1024 * 1024);
    const t = truncateForLog(long);
    expect(t.length).toBeLessThan(MAX_LOGGED_STRING_CHARS + 40);
    expect(t).toContain(`(${long.length} chars, truncated)`);
  });
});

describe("SHARD_ID", () => {
  it("equals persist's rule", async () => {
    const { readFileSync } = await import("node:fs");
    const src = readFileSync(new URL("../../persist/src/client.ts", import.meta.url), "utf8");
    expect(src).toContain(`const SHARD_ID = ${SHARD_ID.toString()};`);
  });
});
