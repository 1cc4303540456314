/**
 * `AsyncQueue` never leaves its consumer waiting on an item it holds (issue 16's unanswered-peek
 * hunt: it carries the e2e driver's requests and every controller stream's responses): whatever
 * event-loop phase each push comes from relative to the consumer's wait (synchronously, a
 * microtask, a nextTick, an immediate, a timer, also several in one phase), the consumer gets
 * every item once, in push order, and each within the phase after its push (no item waits for a
 * later push); `end()` finishes the iteration after the items.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { AsyncQueue } from "./async-queue.js";
import { PHASES } from "./testing/event-loop-phases.js";

describe("AsyncQueue (property)", () => {
  test.prop([
    fc.array(fc.record({ phase: fc.nat(), burst: fc.integer({ min: 1, max: 3 }) }), {
      maxLength: 40,
    }),
  ])("the consumer gets every item, in order, before the next push is needed", async (pushes) => {
    const q = new AsyncQueue<number>();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const x of q) got.push(x);
    })();
    let n = 0;
    for (const { phase, burst } of pushes) {
      const first = n;
      n += burst;
      // Push a burst from the chosen phase, then wait until the consumer has it all: a lost
      // wake-up would leave it waiting here (no later push comes until it has them).
      await new Promise<void>((resolve, reject) => {
        PHASES[phase % PHASES.length]!(() => {
          for (let i = first; i < first + burst; i++) q.push(i);
        });
        const deadline = setTimeout(
          () => reject(new Error(`items ${first}… never consumed`)),
          1000,
        );
        const poll = () => {
          if (got.length === n) {
            clearTimeout(deadline);
            resolve();
          } else setImmediate(poll);
        };
        poll();
      });
    }
    q.end();
    await consumer;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
