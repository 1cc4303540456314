/**
 * Unit tests of the controller's pure parts: the read-hold multiset and implied hold, the
 * subscribe merge (trimming, ignoring non-advancing batches), the retry backoff.
 */

import { backoffDelayMs } from "@mzts/controller-unified/replicas";
import type { SubscribeResponse } from "@mzts/protocol";
import { InvariantViolation } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { impliedHold, ReadHolds, SubscribeFailed } from "../src/index.js";
import type { ComputeReplicaConnector } from "../src/replicas.js";
import { SubscribeStream } from "../src/subscribe.js";

describe("ReadHolds", () => {
  it("is a multiset whose meet is the since; empty without holds", () => {
    const h = new ReadHolds();
    expect(h.since()).toBe(null);
    h.acquire(5n);
    h.acquire(3n);
    h.acquire(3n);
    expect(h.since()).toBe(3n);
    h.release(3n);
    expect(h.since()).toBe(3n);
    h.release(3n);
    expect(h.since()).toBe(5n);
    h.downgrade(5n, 9n);
    expect(h.since()).toBe(9n);
    expect(h.size).toBe(1);
    expect(() => h.release(4n)).toThrow(InvariantViolation);
    expect(() => h.downgrade(9n, 2n)).toThrow(InvariantViolation);
  });

  it("implied hold lags the write frontier, never regresses, survives an empty upper", () => {
    expect(impliedHold(0n, 0n, 5000n, 1000n)).toBe(4000n);
    expect(impliedHold(4000n, 0n, 4500n, 1000n)).toBe(4000n);
    expect(impliedHold(4000n, 7000n, 4500n, 1000n)).toBe(7000n);
    expect(impliedHold(4000n, 0n, null, 1000n)).toBe(4000n);
  });
});

describe("SubscribeStream", () => {
  const batch = (lower: bigint, upper: bigint | null, ts: bigint[]): SubscribeResponse => ({
    kind: "batch",
    lower,
    upper,
    result: { kind: "updates", updates: ts.map((t) => [[t], t, 1] as const) },
  });

  it("emits only advancing batches, trimmed below the previous upper", async () => {
    let done: boolean | undefined;
    const s = new SubscribeStream("u1", 0n, (c) => {
      done = c;
    });
    expect(s.offer(batch(0n, 3n, [0n, 1n, 2n]))).toBe(true);
    expect(s.offer(batch(0n, 2n, [0n, 1n]))).toBe(false); // slower replica, behind
    expect(s.offer(batch(0n, 5n, [0n, 1n, 2n, 3n, 4n]))).toBe(true); // overlaps: trimmed
    expect(s.offer(batch(5n, null, [5n]))).toBe(true);
    const out = [];
    for await (const b of s) out.push(b);
    expect(out.map((b) => [b.lower, b.upper, b.updates.map((u) => u[1])])).toEqual([
      [0n, 3n, [0n, 1n, 2n]],
      [3n, 5n, [3n, 4n]],
      [5n, null, [5n]],
    ]);
    expect(done).toBe(true);
  });

  it("an error batch fails the stream; a consumer break reports not completed", async () => {
    const s = new SubscribeStream("u1", 0n, () => {});
    s.offer({ kind: "batch", lower: 0n, upper: 1n, result: { kind: "error", message: "boom" } });
    await expect(
      (async () => {
        for await (const _ of s) {
        }
      })(),
    ).rejects.toBeInstanceOf(SubscribeFailed);
    let completed: boolean | undefined;
    const t = new SubscribeStream("u2", 0n, (c) => {
      completed = c;
    });
    t.offer(batch(0n, 1n, [0n]));
    for await (const _ of t) break;
    expect(completed).toBe(false);
  });
});

describe("backoffDelayMs", () => {
  it("doubles from 125 ms, caps at 1 s, jitters by at most 20 %", () => {
    for (const [n, base] of [
      [1, 125],
      [2, 250],
      [3, 500],
      [4, 1000],
      [9, 1000],
    ] as const) {
      for (let i = 0; i < 20; i++) {
        const d = backoffDelayMs(n, { initialMs: 125, maxMs: 1000, jitter: 0.2 });
        expect(d).toBeGreaterThanOrEqual(base * 0.8 - 1);
        expect(d).toBeLessThanOrEqual(base * 1.2 + 1);
      }
    }
  });
});

describe("crash-looping replica", () => {
  it("is respawned with backoff, not in a tight loop", async () => {
    const { createComputeController } = await import("../src/index.js");
    const { pino } = await import("pino");
    const { Registry } = await import("prom-client");
    let spawns = 0;
    const controller = createComputeController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
    });
    // Every incarnation connects, then fails at once (as when the replica refuses a command).
    const connector: ComputeReplicaConnector = (o) => {
      spawns++;
      let state: "connected" | "failed" | "closed" = "connected";
      setImmediate(() => {
        if (state !== "connected") return;
        o.onConnected(o.epoch);
        state = "failed";
        o.onFailed(o.epoch, new Error("refused"));
      });
      return {
        epoch: o.epoch,
        get state() {
          return state;
        },
        send() {},
        async close() {
          state = "closed";
        },
      };
    };
    controller.createInstance(
      "u1",
      { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
      { connector },
    );
    controller.addReplica("u1", "u1", { computeUrl: "http://127.0.0.1:1" });
    await new Promise((r) => setTimeout(r, 1000));
    // Without backoff this would be thousands; with it: 0, 0, 125, 250, 500 ms pauses.
    expect(spawns).toBeGreaterThanOrEqual(3);
    expect(spawns).toBeLessThanOrEqual(7);
    await controller.close();
  });
});
