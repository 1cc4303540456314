/**
 * Several processes opening one fresh SQLite consensus file at the same instant all succeed. A
 * replica's threads do this at startup (its main thread and its compute and storage workers);
 * turning a fresh file into WAL takes SQLite's exclusive lock without its busy handler, so
 * before `openConsensusDb` retried a busy open, 2–7 % of such races failed with "database is
 * locked" — and a compute worker whose open failed stalled its first dataflow for good.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAllFixtures, startFixture } from "./child.js";

let dir = "";
afterEach(async () => {
  await killAllFixtures();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("concurrent opens of a fresh SQLite consensus", () => {
  it("three processes opening the same new file together all succeed, round after round", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-persist-open-"));
    const rounds = 120;
    const kids = [0, 1, 2].map(() => startFixture("open-rounds.ts", [dir, String(rounds), "15"]));
    for (const k of kids) await k.waitForLine((l) => l === "ready", 30_000);
    writeFileSync(join(dir, "go"), String(Date.now() + 100));
    for (const k of kids) expect(await k.exited, k.stderr()).toBe(0);
    const failures = kids.flatMap((k) => k.lines.filter((l) => l.startsWith("err")));
    expect(failures).toEqual([]);
    for (const k of kids) expect(k.lines.filter((l) => l.startsWith("ok"))).toHaveLength(rounds);
  }, 60_000);
});
