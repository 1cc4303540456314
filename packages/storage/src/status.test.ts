/**
 * `IngestionStatuses` (worker 0's statuses): starting → running once every export's writer is
 * healthy (rehydration latency fixed then), stalled while one fails, dropped last, nothing emitted
 * while buffering, and the latest status re-sent after reconciliation.
 */
import type { StorageResponse } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { IngestionStatuses } from "./status.js";

function statuses(shards: Map<string, Array<string | undefined>>) {
  const out: string[] = [];
  let now = 1000;
  let buffering = false;
  const s = new IngestionStatuses({
    deps: {
      respond: (r: StorageResponse) => {
        if (r.kind !== "statusUpdate") throw new Error(`unexpected ${r.kind}`);
        const u = r.update;
        out.push(
          `${u.id} ${u.status}${u.error === undefined ? "" : ` ${u.error}`} @${u.timestampMs}`,
        );
      },
      nowMs: () => now,
    },
    exportShards: (id) => shards.get(id),
    buffering: () => buffering,
  });
  return {
    s,
    out,
    advance: (ms: number) => {
      now += ms;
    },
    buffer: (b: boolean) => {
      buffering = b;
    },
  };
}

describe("IngestionStatuses", () => {
  it("derives running and stalled from every export writer's health", () => {
    const t = statuses(new Map([["u1", ["s1", "s2"]]]));
    t.s.record("u1");
    t.advance(30);
    t.s.onHealth("u1", "s1", null); // one of two healthy: still starting
    t.s.onHealth("u1", "s2", null);
    t.s.onHealth("u1", "s2", null); // unchanged: not re-sent
    t.advance(5);
    t.s.onHealth("u1", "s1", "disk full");
    t.s.onHealth("u1", "s1", null);
    expect(t.out).toEqual([
      "u1 starting @1000",
      "u1 running @1030",
      "u1 stalled disk full @1035",
      "u1 running @1035",
    ]);
    expect(t.s.isRunning("u1")).toBe(true);
    expect(t.s.rehydrationMs("u1")).toBe(30); // fixed at the first running
  });

  it("reports dropped last and forgets the ingestion", () => {
    const t = statuses(new Map([["u1", ["s1"]]]));
    t.s.record("u1");
    t.s.forget("u1", true);
    t.s.onHealth("u1", "s1", null); // forgotten: ignored
    expect(t.out).toEqual(["u1 starting @1000", "u1 dropped @1000"]);
    expect(t.s.isRunning("u1")).toBe(false);
    expect(t.s.rehydrationMs("u1")).toBeUndefined();
  });

  it("holds statuses back while buffering and re-sends the latest, restamped", () => {
    const t = statuses(new Map([["u1", ["s1"]]]));
    t.s.record("u1");
    t.buffer(true);
    t.s.onHealth("u1", "s1", null);
    expect(t.out).toEqual(["u1 starting @1000"]);
    t.buffer(false);
    t.advance(7);
    t.s.resend(["u1", "u2"]);
    expect(t.out).toEqual(["u1 starting @1000", "u1 running @1007"]);
  });
});
