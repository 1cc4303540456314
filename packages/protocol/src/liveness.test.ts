import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LivenessProbe } from "./liveness.js";

const TUNING = { connectTimeoutMs: 2_000, pingIntervalMs: 1_000, pingTimeoutMs: 2_000 };

describe("LivenessProbe", () => {
  // A port that accepts TCP and then closes every connection: each probe fails fast, like a
  // replica being restarted.
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("leaves no listener on the outer signal after close, however many reconnects (issue 10)", async () => {
    const outer = new AbortController();
    for (let i = 0; i < 20; i++) {
      const probe = new LivenessProbe(url, TUNING, outer.signal);
      await expect(probe.probe()).rejects.toThrow();
      probe.close();
    }
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(0);
  });

  it("still aborts its own signal when the outer signal aborts", () => {
    const outer = new AbortController();
    const probe = new LivenessProbe(url, TUNING, outer.signal);
    expect(probe.signal.aborted).toBe(false);
    outer.abort();
    expect(probe.signal.aborted).toBe(true);
    probe.close();
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(0);
  });
});
