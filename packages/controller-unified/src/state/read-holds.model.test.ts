/**
 * `ReadHoldSet` against a naive model (holder → frontier, the meet recomputed from scratch):
 * random set / release sequences over few holders and few distinct times, so several holders
 * share the meet and the one holding it moves away or is released while others stay (the cached
 * meet must then be recomputed, or kept), with frontiers computed at run time (equal bigints of
 * distinct identity must count as one frontier).
 */
import { Frontier, prng as rng } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { Holder, ReadHoldSet } from "./read-holds.js";

describe("ReadHoldSet (model)", () => {
  it("since, size, get and snapshot equal the naive model after every step", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const time = (): Frontier => (r() < 0.1 ? null : BigInt(Math.floor(r() * 5)) * 10n + 0n);
      const holders = [Holder.POLICY, ...[1, 2, 3, 4, 5].map((i) => Holder.dependant(`u${i}`))];
      const h = new ReadHoldSet();
      const model = new Map<string, Frontier>();
      for (let step = 0; step < 80; step++) {
        const holder = holders[Math.floor(r() * holders.length)]!;
        const prev = model.get(holder);
        if (r() < 0.25) {
          expect(h.release(holder)).toBe(prev !== undefined);
          model.delete(holder);
        } else {
          const f = prev === undefined ? time() : Frontier.join(prev, time());
          h.set(holder, f);
          model.set(holder, f);
        }
        const naive = [...model.values()].reduce<Frontier>(
          (m, f) => Frontier.meet(m, f),
          Frontier.EMPTY,
        );
        expect(h.since(), `seed ${seed} step ${step}`).toBe(naive);
        expect(h.size).toBe(model.size);
        expect(h.get(holder)).toBe(model.get(holder));
        expect(new Map(h.snapshot())).toEqual(model);
      }
    }
  });
});
