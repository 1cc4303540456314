/**
 * The `size` option (issue 16: a run of commands forwarded as one `frames` item takes one
 * sequence number per command) under a transport that delays and reorders every message: with
 * the runtime's main thread as a leader that applies nothing, every worker yields every item —
 * none left stashed behind a gap in the numbers — in one order, each item's number following the
 * previous item's by that item's size. A leader and a worker that sized an item differently (or a
 * leader that counted items, not sizes) would leave a gap: the worker would stash every later
 * item for good, the stall of a peek waiting on one worker's answer.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { type Sequenced, Sequencer, type SequencerMessage } from "./sequencer.js";

interface Item {
  readonly from: number;
  readonly n: number;
  /** Sequence numbers it takes (a frames item: its command count). */
  readonly size: number;
}

const size = (item: Item) => item.size;

describe("Sequencer with sized items", () => {
  test.prop([
    fc.integer({ min: 2, max: 4 }),
    fc.array(
      fc.record({
        push: fc.boolean(),
        from: fc.nat(),
        pick: fc.nat(),
        sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      }),
      { maxLength: 150 },
    ),
  ])(
    "every worker yields every item in one order, numbered by size, whatever the delivery order",
    (peers, ops) => {
      const inflight: Array<{ to: number; msg: SequencerMessage<Item> }> = [];
      const send = (to: number, msg: SequencerMessage<Item>) => inflight.push({ to, msg });
      const seqs = Array.from({ length: peers }, (_, w) =>
        w === 0
          ? new Sequencer<Item>(0, peers, send, {
              leaderOnly: true,
              // One message for every worker, as the runtime's `mesh.broadcast`.
              broadcast: (msg) => {
                for (let to = 1; to < peers; to++) send(to, msg);
              },
              size,
            })
          : new Sequencer<Item>(w, peers, send, { size }),
      );
      const yielded: Sequenced<Item>[][] = Array.from({ length: peers }, () => []);
      const pushed = new Array<number>(peers).fill(0);
      let numbers = 0;
      for (const op of ops) {
        if (op.push) {
          // The leader pushes the controller's commands, a worker its internal ones.
          const from = op.from % peers;
          const items = op.sizes.map((s) => ({ from, n: pushed[from]!++, size: s }));
          for (const it of items) numbers += it.size;
          seqs[from]!.pushAll(items);
        } else if (inflight.length > 0) {
          const [m] = inflight.splice(op.pick % inflight.length, 1);
          seqs[m!.to]!.receive(m!.msg);
        }
        const w = op.pick % peers;
        yielded[w]!.push(...seqs[w]!.drain());
      }
      while (inflight.length > 0) {
        const m = inflight.pop()!;
        seqs[m.to]!.receive(m.msg);
      }
      for (let w = 0; w < peers; w++) yielded[w]!.push(...seqs[w]!.drain());

      expect(yielded[0]).toEqual([]);
      const first = yielded[1]!;
      expect(first).toHaveLength(pushed.reduce((a, b) => a + b, 0));
      let next = 0;
      for (const s of first) {
        expect(s.seq).toBe(next);
        next += s.item.size;
      }
      expect(next).toBe(numbers);
      for (const y of yielded.slice(1)) expect(y).toEqual(first);
      for (let from = 0; from < peers; from++) {
        const mine = first.filter((s) => s.item.from === from).map((s) => s.item.n);
        expect(mine).toEqual(Array.from({ length: pushed[from]! }, (_, i) => i));
      }
    },
  );
});
