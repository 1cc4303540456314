/** `orphanVerdict` and the on-disk `OrphanSightings` (kept across restarts, advisory). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Frontier } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OrphanSightings, orphanVerdict } from "./orphan-sightings.js";

const log = pino({ level: "silent" });
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzts-orphans-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("orphanVerdict", () => {
  it("drops only an unread shard whose upper stayed put for the confirmation time", () => {
    const seen = { upper: 10n, sinceMs: 1000 };
    expect(orphanVerdict(undefined, 0, 10n, 9000, 500)).toBe("wait"); // first sighting
    expect(orphanVerdict(seen, 1, 10n, 9000, 500)).toBe("wait"); // still read
    expect(orphanVerdict(seen, 0, 11n, 9000, 500)).toBe("wait"); // still written
    expect(orphanVerdict(seen, 0, 10n, 1400, 500)).toBe("wait"); // too soon
    expect(orphanVerdict(seen, 0, 10n, 1500, 500)).toBe("drop");
    expect(orphanVerdict({ upper: Frontier.EMPTY, sinceMs: 0 }, 0, Frontier.EMPTY, 1, 0)).toBe(
      "drop",
    );
  });
});

describe("OrphanSightings", () => {
  it("survives a restart and keeps the first time an upper was seen", () => {
    const path = join(dir, "shard-gc.json");
    const a = new OrphanSightings(path, log);
    a.see("s1", 10n, 1000);
    a.see("s1", 10n, 2000); // same upper: still since 1000
    a.see("s2", Frontier.EMPTY, 1500);
    a.see("s3", 5n, 1500);
    a.retainOnly(new Set(["s1", "s2"]));
    a.save();
    const b = new OrphanSightings(path, log);
    expect(b.get("s1")).toEqual({ upper: 10n, sinceMs: 1000 });
    expect(b.get("s2")).toEqual({ upper: Frontier.EMPTY, sinceMs: 1500 });
    expect(b.get("s3")).toBeUndefined();
    b.see("s1", 12n, 3000); // moved: seen afresh
    b.forget("s2");
    b.save();
    const c = new OrphanSightings(path, log);
    expect(c.get("s1")).toEqual({ upper: 12n, sinceMs: 3000 });
    expect(c.get("s2")).toBeUndefined();
  });

  it("starts empty on a missing or unreadable file", () => {
    expect(new OrphanSightings(join(dir, "none.json"), log).get("s1")).toBeUndefined();
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{not json");
    expect(new OrphanSightings(bad, log).get("s1")).toBeUndefined();
  });
});
