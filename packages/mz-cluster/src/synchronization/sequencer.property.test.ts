import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { SequencerClosed, SequencerProtocolError } from "../errors.js";
import { type Sequenced, Sequencer, type SequencerMessage } from "./sequencer.js";

interface Item {
  readonly worker: number;
  readonly n: number;
}

/**
 * W sequencers over a transport that holds every message in flight and delivers them in an
 * order chosen by the test (random delays and reordering), interleaved with pushes.
 */
function simulate(
  workers: number,
  ops: ReadonlyArray<{ push: boolean; worker: number; pick: number; batch?: number }>,
  leader?: { readonly broadcast: boolean },
) {
  const inflight: Array<{ to: number; msg: SequencerMessage<Item> }> = [];
  const send = (to: number, msg: SequencerMessage<Item>) => inflight.push({ to, msg });
  const seqs = Array.from({ length: workers }, (_, w) =>
    w === 0 && leader
      ? new Sequencer<Item>(0, workers, send, {
          leaderOnly: true,
          ...(leader.broadcast
            ? {
                broadcast: (msg) => {
                  for (let to = 1; to < workers; to++) send(to, msg);
                },
              }
            : {}),
        })
      : new Sequencer<Item>(w, workers, send),
  );
  const delivered: Sequenced<Item>[][] = Array.from({ length: workers }, () => []);
  const pushed: number[] = new Array<number>(workers).fill(0);
  const deliver = (i: number) => {
    const [m] = inflight.splice(i, 1);
    seqs[m!.to]!.receive(m!.msg);
  };
  for (const op of ops) {
    if (op.push) {
      const w = op.worker % workers;
      const n = op.batch ?? 1;
      if (n === 1) seqs[w]!.push({ worker: w, n: pushed[w]!++ });
      else seqs[w]!.pushAll(Array.from({ length: n }, () => ({ worker: w, n: pushed[w]!++ })));
    } else if (inflight.length > 0) {
      deliver(op.pick % inflight.length);
    }
    // Workers drain at arbitrary moments.
    const w = op.pick % workers;
    delivered[w]!.push(...seqs[w]!.drain());
  }
  while (inflight.length > 0) deliver(0);
  for (let w = 0; w < workers; w++) delivered[w]!.push(...seqs[w]!.drain());
  return { delivered, pushed };
}

describe("Sequencer", () => {
  test.prop([
    fc.integer({ min: 2, max: 6 }),
    fc.boolean(),
    fc.array(
      fc.record({
        push: fc.boolean(),
        worker: fc.nat(),
        pick: fc.nat(),
        batch: fc.integer({ min: 0, max: 4 }),
      }),
      { maxLength: 200 },
    ),
  ])(
    "with a leader that applies nothing (the runtime's main thread), every other index applies the identical, complete sequence",
    (peers, broadcast, ops) => {
      const { delivered, pushed } = simulate(peers, ops, { broadcast });
      const total = pushed.reduce((a, b) => a + b, 0);
      expect(delivered[0]).toEqual([]);
      const first = delivered[1]!;
      expect(first).toHaveLength(total);
      first.forEach((s, i) => {
        expect(s.seq).toBe(i);
      });
      for (const d of delivered.slice(1)) expect(d).toEqual(first);
      for (let w = 0; w < peers; w++) {
        const mine = first.filter((s) => s.item.worker === w).map((s) => s.item.n);
        expect(mine).toEqual(Array.from({ length: pushed[w]! }, (_, i) => i));
      }
    },
  );

  it("only index 0 may lead", () => {
    expect(() => new Sequencer<string>(1, 3, () => {}, { leaderOnly: true })).toThrow(
      SequencerProtocolError,
    );
  });

  test.prop([
    fc.integer({ min: 1, max: 6 }),
    fc.array(
      fc.record({
        push: fc.boolean(),
        worker: fc.nat(),
        pick: fc.nat(),
        batch: fc.integer({ min: 0, max: 4 }),
      }),
      { maxLength: 200 },
    ),
  ])("every worker applies the identical sequence under delays and reordering", (workers, ops) => {
    const { delivered, pushed } = simulate(workers, ops);
    const total = pushed.reduce((a, b) => a + b, 0);
    const first = delivered[0]!;
    expect(first).toHaveLength(total);
    first.forEach((s, i) => {
      expect(s.seq).toBe(i);
    });
    for (const d of delivered) expect(d).toEqual(first);
    // Each worker's pushes appear in the order it pushed them, each exactly once.
    for (let w = 0; w < workers; w++) {
      const mine = first.filter((s) => s.item.worker === w).map((s) => s.item.n);
      expect(mine).toEqual(Array.from({ length: pushed[w]! }, (_, i) => i));
    }
  });

  it("sends a batch across each thread boundary once, not once per item", () => {
    const sent: Array<{ to: number; msg: SequencerMessage<number> }> = [];
    const w0 = new Sequencer<number>(0, 3, (to, msg) => sent.push({ to, msg }));
    w0.pushAll(Array.from({ length: 64 }, (_, i) => i));
    expect(sent.map((s) => s.to)).toEqual([1, 2]);
    expect(sent[0]!.msg).toEqual({ kind: "sequenced", seq: 0, items: sent[0]!.msg.items });
    expect(sent[0]!.msg.items).toHaveLength(64);
    expect([...w0.drain()].map((s) => s.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    // A non-zero worker's batch is one submit to worker 0.
    const w1out: Array<SequencerMessage<number>> = [];
    new Sequencer<number>(1, 3, (_to, msg) => w1out.push(msg)).pushAll([7, 8, 9]);
    expect(w1out).toEqual([{ kind: "submit", from: 1, index: 0, items: [7, 8, 9] }]);
    expect(() => w0.receive({ kind: "sequenced", seq: 0 } as never)).toThrow(/malformed/);
  });

  it("gives an item as many sequence numbers as its size, also out of order", () => {
    // Items are arrays standing for that many commands (the runtime's forwarded frames).
    const size = (item: readonly string[]) => item.length;
    const held: Array<SequencerMessage<readonly string[]>> = [];
    const leader = new Sequencer<readonly string[]>(0, 2, (_to, msg) => held.push(msg), {
      leaderOnly: true,
      size,
    });
    const worker = new Sequencer<readonly string[]>(1, 2, () => {}, { size });
    leader.pushAll([["a", "b", "c"], ["d"]]);
    leader.pushAll([["e", "f"]]);
    leader.pushAll([["g"]]);
    expect(held.map((m) => m.kind === "sequenced" && m.seq)).toEqual([0, 4, 6]);
    // Delivered backwards: held until the earlier numbers arrive.
    for (const m of [...held].reverse()) worker.receive(m);
    expect([...worker.drain()].map((s) => [s.seq, s.item.join("")])).toEqual([
      [0, "abc"],
      [3, "d"],
      [4, "ef"],
      [6, "g"],
    ]);
  });

  it("runs the documented two-worker example", () => {
    const seqs: Sequencer<string>[] = [];
    for (let w = 0; w < 2; w++)
      seqs.push(new Sequencer<string>(w, 2, (to, msg) => seqs[to]!.receive(msg)));
    seqs[1]!.push("create u1");
    seqs[0]!.push("peek u1");
    const a = [...seqs[0]!.drain()].map((s) => s.item);
    const b = [...seqs[1]!.drain()].map((s) => s.item);
    expect(a).toEqual(["create u1", "peek u1"]);
    expect(b).toEqual(a);
  });

  it("reports duplicates as protocol errors and refuses pushes after close", () => {
    const s = new Sequencer<string>(0, 2, () => {});
    s.receive({ kind: "submit", from: 1, index: 0, items: ["a"] });
    expect(() => s.receive({ kind: "submit", from: 1, index: 0, items: ["a"] })).toThrow(
      SequencerProtocolError,
    );
    expect(() => s.receive({ kind: "submit", from: 5, index: 0, items: ["a"] })).toThrow(
      /unknown worker 5/,
    );
    const t = new Sequencer<string>(1, 2, () => {});
    expect(() => t.receive({ kind: "submit", from: 0, index: 0, items: ["a"] })).toThrow(
      /other than 0/,
    );
    t.receive({ kind: "sequenced", seq: 0, items: ["x"] });
    expect(() => t.receive({ kind: "sequenced", seq: 0, items: ["x"] })).toThrow(
      /duplicate sequence number 0/,
    );
    t.close();
    expect(() => t.push("y")).toThrow(SequencerClosed);
    expect(() => new Sequencer<string>(2, 2, () => {})).toThrow(SequencerProtocolError);
  });
});
