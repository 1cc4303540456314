import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { sleep } from "./abortable-sleep.js";

describe("sleep", () => {
  it("leaves no abort listener behind after it elapsed (issue 10)", async () => {
    const abort = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, abort.signal);
    expect(getEventListeners(abort.signal, "abort")).toHaveLength(0);
  });

  it("resolves at once when aborted, before or during the pause, and leaves no listener", async () => {
    const abort = new AbortController();
    const started = performance.now();
    const pending = sleep(60_000, abort.signal);
    expect(getEventListeners(abort.signal, "abort")).toHaveLength(1);
    abort.abort();
    await pending;
    await sleep(60_000, abort.signal);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(getEventListeners(abort.signal, "abort")).toHaveLength(0);
  });
});
