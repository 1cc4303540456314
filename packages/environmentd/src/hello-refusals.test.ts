/**
 * The status reason of a replica that refuses our hellos is checked against the catalog: it
 * claims a newer environmentd only when the catalog's generation is higher; each refusal is
 * logged once.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { RefusalLog, refusalReason } from "./hello-refusals.js";

const stale = { kind: "stale-generation", highestGeneration: 99n } as const;

describe("refusalReason", () => {
  it("a stale refusal with the catalog at our generation is another process, not a newer boot", () => {
    const r = refusalReason("u1", stale, 3n, 3n);
    expect(r).toMatch(/accepted a hello of generation 99, but the catalog's generation is 3/);
    expect(r).toMatch(/no newer environmentd booted.*restart the replica/);
    expect(r).not.toMatch(/is fenced/);
  });

  it("a stale refusal with a newer catalog generation means fenced", () => {
    expect(refusalReason("u1", stale, 3n, 4n)).toMatch(/a newer environmentd booted.*is fenced/);
  });

  it("an unauthenticated refusal points at the secret", () => {
    expect(refusalReason("u1", { kind: "unauthenticated" }, 3n, 3n)).toMatch(
      /another replica secret than <data-dir>\/replica-secret/,
    );
  });
});

describe("RefusalLog", () => {
  it("logs each distinct refusal of a replica once", () => {
    const lines: string[] = [];
    const log = new RefusalLog(pino({ level: "error" }, { write: (s: string) => lines.push(s) }));
    log.note("u1", stale, "a");
    log.note("u1", stale, "a");
    log.note("u1", { kind: "stale-generation", highestGeneration: 100n }, "b");
    log.note("u1", undefined, "");
    log.note("u1", stale, "a");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["a", "b", "a"]);
  });
});
