/**
 * `ExchangeRouter` over an in-memory mesh (FIFO per pair, delivery on a later microtask, messages
 * for a channel without a handler wait — the `WorkerMesh` contract). The same router over real
 * worker threads is exercised by `test/runtime.test.ts` (the echo workload's exchange).
 */
import { describe, expect, it } from "vitest";
import { type ExchangeMesh, ExchangeRouter } from "./exchange-router.js";

type Handler = (payload: unknown, from: number) => void;

/** W in-memory mesh endpoints; `sent` counts every envelope put on the mesh. */
function memoryMesh(peers: number): { meshes: ExchangeMesh[]; sent: () => number } {
  const handlers = Array.from({ length: peers }, () => new Map<string, Handler>());
  const waiting = Array.from({ length: peers }, () => new Map<string, Array<[unknown, number]>>());
  let sent = 0;
  const meshes = handlers.map(
    (own, index): ExchangeMesh => ({
      index,
      peers,
      send(to, channel, payload) {
        sent++;
        queueMicrotask(() => {
          const h = handlers[to]!.get(channel);
          if (h) h(payload, index);
          else {
            const w = waiting[to]!;
            w.set(channel, [...(w.get(channel) ?? []), [payload, index]]);
          }
        });
      },
      on(channel, handler) {
        own.set(channel, handler);
        for (const [p, from] of waiting[index]!.get(channel) ?? []) handler(p, from);
        waiting[index]!.delete(channel);
      },
    }),
  );
  return { meshes, sent: () => sent };
}

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function drainAll<M>(ch: { drain(h: (from: number, m: M) => void): number }): Array<[number, M]> {
  const out: Array<[number, M]> = [];
  ch.drain((from, m) => out.push([from, m]));
  return out;
}

describe("ExchangeRouter", () => {
  it("keeps per-sender FIFO and separates namespaces that reuse channel ids", async () => {
    const { meshes } = memoryMesh(2);
    const routers = meshes.map((m) => new ExchangeRouter<string>(m, "t:exchange", () => {}));
    const a = routers.map((r) => r.open(1).channel(0));
    const b = routers.map((r) => r.open(2).channel(0));
    for (let i = 0; i < 5; i++) {
      a[0]!.send(1, `a${i}`);
      b[0]!.send(1, `b${i}`);
      a[1]!.send(1, `self${i}`);
    }
    await settle();
    const got = drainAll(a[1]!);
    expect(got.filter(([f]) => f === 0).map(([, m]) => m)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
    expect(got.filter(([f]) => f === 1).map(([, m]) => m)).toEqual([
      "self0",
      "self1",
      "self2",
      "self3",
      "self4",
    ]);
    expect(drainAll(b[1]!).map(([, m]) => m)).toEqual(["b0", "b1", "b2", "b3", "b4"]);
    expect(routers[1]!.queued).toBe(0);
  });

  it("never delivers synchronously, also to itself", async () => {
    const { meshes } = memoryMesh(1);
    const ch = new ExchangeRouter<number>(meshes[0]!, "t:exchange", () => {}).open(0).channel(3);
    ch.send(0, 42);
    expect(ch.drain(() => {})).toBe(0);
    await settle();
    expect(drainAll(ch)).toEqual([[0, 42]]);
  });

  it("holds arrivals for a namespace not yet opened and signals when it opens", async () => {
    const { meshes } = memoryMesh(2);
    let arrivals = 0;
    const namespaces: number[] = [];
    const sender = new ExchangeRouter<number>(meshes[0]!, "t:exchange", () => {});
    const receiver = new ExchangeRouter<number>(meshes[1]!, "t:exchange", (ns) => {
      arrivals++;
      namespaces.push(ns);
    });
    sender.open(7).channel(1).send(1, 1);
    sender.open(7).channel(1).send(1, 2);
    await settle();
    expect(arrivals).toBe(0); // not open here yet: nobody needs to step
    expect(receiver.queued).toBe(2);
    const ch = receiver.open(7).channel(1);
    expect(arrivals).toBe(1);
    expect(drainAll(ch)).toEqual([
      [0, 1],
      [0, 2],
    ]);
    sender.open(7).channel(1).send(1, 3);
    await settle();
    expect(arrivals).toBe(2); // open now: every arrival signals
    expect(namespaces).toEqual([7, 7]); // with its namespace (compute activates that dataflow)
  });

  it("frees a closed namespace's queues and discards its later arrivals", async () => {
    const { meshes } = memoryMesh(2);
    const sender = new ExchangeRouter<number>(meshes[0]!, "t:exchange", () => {});
    const receiver = new ExchangeRouter<number>(meshes[1]!, "t:exchange", () => {});
    receiver.open(3).channel(0);
    sender.open(3).channel(0).send(1, 1);
    await settle();
    expect(receiver.queued).toBe(1);
    receiver.close(3);
    expect(receiver.queued).toBe(0);
    sender.open(3).channel(0).send(1, 2);
    await settle();
    expect(receiver.queued).toBe(0);
  });

  it("refuses a worker outside the mesh and the reserved mesh: channel names", () => {
    const { meshes, sent } = memoryMesh(2);
    const ch = new ExchangeRouter<number>(meshes[0]!, "t:exchange", () => {}).open(0).channel(0);
    for (const to of [-1, 2, 0.5]) expect(() => ch.send(to, 1)).toThrow(RangeError);
    expect(sent()).toBe(0);
    expect(() => new ExchangeRouter<number>(meshes[0]!, "mesh:x", () => {})).toThrow(/reserved/);
  });
});
