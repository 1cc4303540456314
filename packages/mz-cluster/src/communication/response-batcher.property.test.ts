/**
 * `ResponseBatcher` never holds a response for a later message (issue 16's unanswered-peek hunt:
 * "a batcher that flushes only on the next message"): over any interleaving of pushes under
 * changing nonces, explicit flushes, and microtask checkpoints, every response is sent exactly
 * once, in push order, each message under one nonce and with its responses' nonce, and nothing is
 * pending after a microtask checkpoint. (`send` must not push: a push from inside a send that a
 * nonce switch made would be sent under the next nonce — the runtime's send is a `postMessage`.)
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { ResponseBatcher } from "./response-batcher.js";

type Op =
  | { readonly kind: "push"; readonly nonce: number }
  | { readonly kind: "flush" }
  | { readonly kind: "checkpoint" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), nonce: fc.integer({ min: 0, max: 2 }) }),
  fc.constant({ kind: "flush" } as const),
  fc.constant({ kind: "checkpoint" } as const),
);

describe("ResponseBatcher (property)", () => {
  test.prop([fc.array(op, { maxLength: 60 })])(
    "sends every response once, in order, by nonce, by the next microtask checkpoint",
    async (ops) => {
      const sent: Array<[string | null, Array<[string, number]>]> = [];
      let n = 0;
      const pushed: Array<[string, number]> = [];
      const b = new ResponseBatcher<[string, number]>((nonce, rs) => sent.push([nonce, rs]));
      for (const o of ops) {
        if (o.kind === "push") {
          const r: [string, number] = [`n${o.nonce}`, n++];
          pushed.push(r);
          b.push(r[0], r);
        } else if (o.kind === "flush") b.flush();
        else await Promise.resolve();
      }
      // A checkpoint sends everything left (the batcher's own microtask).
      for (let i = 0; i < 3; i++) await Promise.resolve();
      for (const [nonce, rs] of sent) {
        expect(rs.length).toBeGreaterThan(0);
        for (const r of rs) expect(r[0]).toBe(nonce);
      }
      expect(sent.flatMap(([, rs]) => rs)).toEqual(pushed);
    },
  );
});
