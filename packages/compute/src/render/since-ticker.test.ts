import { describe, expect, it } from "vitest";
import { SinceTicker } from "./since-ticker.js";

describe("SinceTicker", () => {
  it("runs every reader of an interval from one timer, in one turn, until the last stops", async () => {
    const ticker = new SinceTicker();
    const turns: number[][] = [];
    let turn = 0;
    const seen = (i: number) => () => {
      (turns[turn] ??= []).push(i);
    };
    const stops = [0, 1, 2].map((i) => ticker.register(20, seen(i)));
    expect(ticker.timers).toBe(1);
    const other = ticker.register(1000, () => {});
    expect(ticker.timers).toBe(2);
    // However loaded the machine, the first tick comes: wait for it (no fixed sleep).
    while (turns[0] === undefined) await new Promise((r) => setTimeout(r, 5));
    turn = 1;
    // Every tick ran the three readers back to back (several ticks may have passed meanwhile).
    const seenTicks = turns[0]!;
    expect(seenTicks.length % 3).toBe(0);
    for (let i = 0; i < seenTicks.length; i += 3)
      expect(seenTicks.slice(i, i + 3)).toEqual([0, 1, 2]);
    for (const s of stops) s();
    other();
    expect(ticker.timers).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(turns[1]).toBeUndefined();
  });

  it("keeps ticking the others when one tick throws", async () => {
    const ticker = new SinceTicker();
    let ran = 0;
    const a = ticker.register(10, () => {
      throw new Error("boom");
    });
    const b = ticker.register(10, () => ran++);
    while (ran === 0) await new Promise((r) => setTimeout(r, 5));
    a();
    b();
    expect(ran).toBeGreaterThan(0);
  });
});
