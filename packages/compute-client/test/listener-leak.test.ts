/**
 * Issue 10: the legacy compute replica task must not pile up abort listeners while a replica is
 * unreachable. Every connect attempt used to leave one listener on the task's abort signal (the
 * liveness probe's) and every pause between attempts another (`sleep`), so a replica down for a
 * dozen attempts raised `MaxListenersExceededWarning`. The test counts, with
 * `events.getEventListeners`, the listeners on every AbortSignal the task listens on.
 */
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectLegacyComputeReplica } from "../src/index.js";

describe("legacy compute replica task", () => {
  // Accepts TCP and closes at once: every attempt fails fast, as while a replica restarts.
  let server: Server;
  let url: string;
  let attempts = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("leaves no abort listeners behind across many failed connect attempts", async () => {
    const signals = new Set<AbortSignal>();
    const add = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, ...args) {
      if (this instanceof AbortSignal) signals.add(this);
      return add.apply(this, args);
    } as typeof add;
    const task = connectLegacyComputeReplica({
      instanceId: "u1",
      replicaId: "u1",
      epoch: 1,
      generation: 1n,
      location: () => url,
      replay: () => [],
      logger: pino({ level: "silent" }),
      tuning: { backoff: { initialMs: 1, maxMs: 2, jitter: 0 } },
      onConnected: () => {},
      onResponses: () => {},
      onFailed: () => {},
    });
    try {
      const deadline = Date.now() + 20_000;
      while (attempts < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(attempts).toBeGreaterThanOrEqual(25);
      expect(task.state).toBe("connecting");
      const most = Math.max(...[...signals].map((s) => getEventListeners(s, "abort").length));
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      EventTarget.prototype.addEventListener = add;
      await task.close();
    }
  });
});
