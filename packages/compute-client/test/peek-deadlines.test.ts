/**
 * Issue 16: the callers' peek timeouts share one timer per instance (`DeadlineQueue`) instead of
 * a `setTimeout` each: many pending peeks arm one timer, each still rejects with `PeekTimeout`
 * no earlier than its `timeoutMs` (minus `DEADLINE_RESOLUTION_MS`), and one answered in time
 * resolves and never times out.
 */
import { DEADLINE_RESOLUTION_MS } from "@mzts/controller-unified/state";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { createComputeController, PeekTimeout } from "../src/index.js";
import { fakeReplicas, lastPeek, respond, withIndexOnTwoReplicas } from "./fake-replicas.js";

describe("peek timeouts", () => {
  it("share one timer, and each fires at its timeoutMs", async () => {
    const fake = fakeReplicas();
    const c = createComputeController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
      compactionWindowMs: 0n,
    });
    c.createInstance(
      "c1",
      { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
      { connector: fake.connector },
    );
    await withIndexOnTwoReplicas(c, fake);
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const start = performance.now();
    let answered: Promise<unknown>;
    let timedOut: Promise<number>[];
    try {
      answered = c.peek("c1", { target: "u31", timestamp: 5n, timeoutMs: 60 });
      const uuid = lastPeek(fake, "u1");
      timedOut = Array.from({ length: 50 }, (_, i) =>
        c.peek("c1", { target: "u31", timestamp: 5n, timeoutMs: i % 2 === 0 ? 60 : 40 }).then(
          () => Number.NaN,
          (e: unknown) => {
            expect(e).toBeInstanceOf(PeekTimeout);
            return performance.now() - start;
          },
        ),
      );
      // One timer for the first deadline and one when a sooner duration came: not one per peek.
      const timers = setTimeoutSpy.mock.calls.filter(([, ms]) => (ms ?? 0) >= 30);
      expect(timers.length).toBeLessThanOrEqual(2);
      respond(fake, "u1", [
        { kind: "peekResponse", uuid, response: { kind: "rows", rows: [[[1n], 1]] } },
      ]);
    } finally {
      setTimeoutSpy.mockRestore();
    }
    await expect(answered).resolves.toMatchObject({ rows: [[[1n], 1]] });
    const at = await Promise.all(timedOut);
    at.forEach((t, i) => {
      expect(t, `peek ${i}`).toBeGreaterThanOrEqual(
        (i % 2 === 0 ? 60 : 40) - DEADLINE_RESOLUTION_MS,
      );
    });
    await c.close();
  });
});
