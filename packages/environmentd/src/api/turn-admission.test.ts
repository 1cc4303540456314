/**
 * `TurnAdmission` (issue 16: the convoy of 256 API peeks in flight): at most `perTurn` calls start
 * in one event-loop turn, the rest in later turns, in arrival order; under the limit every call
 * starts at once.
 */
import { describe, expect, it } from "vitest";
import { CALLS_PER_TURN, TurnAdmission } from "./turn-admission.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("TurnAdmission", () => {
  it("starts at most perTurn calls a turn, in order", async () => {
    const a = new TurnAdmission(3);
    const started: number[] = [];
    for (let i = 0; i < 8; i++) a.admit(() => started.push(i));
    expect(started).toEqual([0, 1, 2]);
    expect(a.waiting).toBe(5);
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(a.waiting).toBe(0);
    // This turn started 6 and 7: one more starts now, the rest next turn.
    for (let i = 8; i < 12; i++) a.admit(() => started.push(i));
    expect(started.slice(8)).toEqual([8]);
    await turn();
    expect(started.slice(8)).toEqual([8, 9, 10, 11]);
  });

  it("under the limit, every call starts at once", async () => {
    const a = new TurnAdmission();
    let n = 0;
    for (let i = 0; i < CALLS_PER_TURN; i++) a.admit(() => n++);
    expect(n).toBe(CALLS_PER_TURN);
    await turn();
    for (let i = 0; i < 5; i++) a.admit(() => n++);
    expect(n).toBe(CALLS_PER_TURN + 5);
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new TurnAdmission(0)).toThrow(RangeError);
    expect(() => new TurnAdmission(1.5)).toThrow(RangeError);
  });
});
