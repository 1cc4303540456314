/**
 * `ReadHolds` against a naive model (a list of hold frontiers whose meet is recomputed from
 * scratch): random acquire / release / downgrade sequences over few distinct times (so holds
 * share frontiers, and the cached meet's holder moves away while others stay at it), with the
 * frontiers computed at run time (distinct bigint objects of equal value must be one key).
 */
import { Frontier, prng as rng } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { ReadHolds } from "../src/index.js";

describe("ReadHolds (model)", () => {
  it("since and size equal the naive meet and count after every step", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const time = (): Frontier => (r() < 0.1 ? null : BigInt(Math.floor(r() * 6)) * 10n + 0n);
      const h = new ReadHolds();
      const model: Frontier[] = [];
      for (let step = 0; step < 60; step++) {
        const op = r();
        if (op < 0.4 || model.length === 0) {
          const f = time();
          h.acquire(f);
          model.push(f);
        } else if (op < 0.7) {
          const i = Math.floor(r() * model.length);
          h.release(model[i] === null ? null : (model[i] as bigint) + 0n);
          model.splice(i, 1);
        } else {
          const i = Math.floor(r() * model.length);
          const from = model[i] as Frontier;
          const to = Frontier.join(from, time());
          h.downgrade(from, to);
          model[i] = to;
        }
        const naive = model.reduce<Frontier>((m, f) => Frontier.meet(m, f), Frontier.EMPTY);
        expect(h.since(), `seed ${seed} step ${step}`).toBe(naive);
        expect(h.size).toBe(model.length);
      }
    }
  });
});
