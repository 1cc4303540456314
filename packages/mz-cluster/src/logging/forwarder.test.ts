/** `ForwardingHost` (batching, enabling, bounds) and `routeLogEvents` (forwarding worker w → host worker w % W). */
import { describe, expect, it } from "vitest";
import { NO_LOGGER } from "./events.js";
import { ForwardingHost, routeLogEvents } from "./forwarder.js";

const status = (sourceId: string) =>
  ({ kind: "sourceStatus", sourceId, status: "running", error: null }) as const;

describe("ForwardingHost", () => {
  it("starts disabled: NO_LOGGER, nothing batched", () => {
    const f = new ForwardingHost({ worker: 2 });
    expect(f.logger).toBe(NO_LOGGER);
    f.logger.log(status("u1"));
    expect(f.drain()).toEqual([]);
    expect(f.index()).toBeUndefined();
    expect(f.step()).toBe(false);
  });

  it("batches events with its worker id and time until drained", () => {
    let now = 10;
    const f = new ForwardingHost({ worker: 2, clock: () => now });
    f.setEnabled(true);
    f.logger.log(status("u1"));
    now = 20;
    f.logger.log(status("u2"));
    expect(f.drain()).toEqual([
      { worker: 2, atMs: 10, event: status("u1") },
      { worker: 2, atMs: 20, event: status("u2") },
    ]);
    expect(f.drain()).toEqual([]);
    expect(f.logged).toBe(2);
  });

  it("each enabling gives a new logger; a logger kept past its disabling logs nothing", () => {
    const f = new ForwardingHost({ worker: 0 });
    f.setEnabled(true);
    const first = f.logger;
    f.setEnabled(true);
    expect(f.logger).not.toBe(first);
    first.log(status("stale"));
    expect(f.drain()).toEqual([]);
    f.logger.log(status("u1"));
    f.setEnabled(false);
    expect(f.logger).toBe(NO_LOGGER);
    expect(f.drain()).toEqual([]); // disabling discards the batch
  });

  it("holds at most maxBuffered events, dropping the oldest", () => {
    const f = new ForwardingHost({ worker: 0, maxBuffered: 2 });
    f.setEnabled(true);
    for (const id of ["a", "b", "c"]) f.logger.log(status(id));
    expect(f.drain().map((e) => (e.event as { sourceId: string }).sourceId)).toEqual(["b", "c"]);
    expect(f.dropped).toBe(1);
  });
});

describe("routeLogEvents", () => {
  it("sends forwarding worker w's events to host worker w % W, in order", () => {
    const ev = (worker: number, id: string) => ({ worker, atMs: 0, event: status(id) });
    const routed = routeLogEvents([ev(0, "a"), ev(3, "b"), ev(1, "c"), ev(4, "d"), ev(2, "e")], 3);
    expect(
      [...routed]
        .sort(([a], [b]) => a - b)
        .map(([w, l]) => [w, l.map((e) => (e.event as { sourceId: string }).sourceId)]),
    ).toEqual([
      [0, ["a", "b"]],
      [1, ["c", "d"]],
      [2, ["e"]],
    ]);
    expect(routed.get(0)![1]!.worker).toBe(3); // rows keep the forwarding worker's id
  });
});
