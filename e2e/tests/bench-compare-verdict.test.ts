/**
 * `pnpm bench --compare`'s verdict without running a bench: result lines round-trip; a tracked
 * figure more than 10 % worse fails, within 10 % passes, direction aware; one noisy round cannot
 * decide; overlapping rounds beyond the threshold ask for more rounds, then the median decides;
 * untracked figures never fail; a figure one build did not produce fails.
 */
import { describe, expect, it } from "vitest";
import { compareRounds, comparisonTable, median, noiseNotes } from "../bench/compare/verdict.js";
import { type BenchResult, formatResult, parseResults } from "../bench/results.js";

const lat = (value: number, tracked = true): BenchResult => ({
  bench: "environment",
  figure: "peek-grpc p50",
  value,
  unit: "µs",
  better: "lower",
  tracked,
});
const tput = (value: number): BenchResult => ({
  bench: "environment",
  figure: "peek-grpc calls/s @256",
  value,
  unit: "calls/s",
  better: "higher",
  tracked: true,
});
/** One round per value. */
const rounds = (f: (v: number) => BenchResult, values: number[]) => values.map((v) => [f(v)]);

describe("bench result lines", () => {
  it("round-trip, ignore other lines, read NaN back from null", () => {
    const out = [
      "| a table | 1 |",
      formatResult(lat(2500)),
      "progress",
      formatResult({ ...lat(Number.NaN), figure: "x" }),
    ].join("\n");
    const rs = parseResults(out);
    expect(rs).toHaveLength(2);
    expect(rs[0]).toEqual(lat(2500));
    expect(rs[1]!.value).toBeNaN();
  });

  it("refuse a malformed result line", () => {
    expect(() => parseResults("BENCH_RESULT {nope")).toThrow(/not JSON/);
    expect(() => parseResults('BENCH_RESULT {"bench":"b","figure":"f","value":1}')).toThrow(
      /missing or mistyped/,
    );
  });
});

describe("compareRounds", () => {
  it("fails a latency more than 10 % worse in every round", () => {
    const c = compareRounds(rounds(lat, [1000, 1010, 990]), rounds(lat, [1120, 1130, 1115]));
    expect(c.figures[0]!.verdict).toBe("regressed");
    expect(c.figures[0]!.worse).toBeCloseTo(1.12, 2);
    expect(c.passed).toBe(false);
    expect(c.failures.map((f) => f.figure)).toEqual(["peek-grpc p50"]);
  });

  it("passes a latency up to 10 % worse", () => {
    const c = compareRounds(rounds(lat, [1000, 1010, 990]), rounds(lat, [1090, 1095, 1085]));
    expect(c.figures[0]!.verdict).toBe("ok");
    expect(c.passed).toBe(true);
  });

  it("is direction aware: a throughput drop beyond 10 % fails, a rise is an improvement", () => {
    const drop = compareRounds(rounds(tput, [5000, 5100, 4900]), rounds(tput, [4400, 4350, 4420]));
    expect(drop.figures[0]!.verdict).toBe("regressed");
    expect(drop.figures[0]!.worse).toBeCloseTo(5000 / 4400, 3);
    const rise = compareRounds(rounds(tput, [5000, 5100, 4900]), rounds(tput, [6000, 6100, 5900]));
    expect(rise.figures[0]!.verdict).toBe("improved");
    expect(rise.passed).toBe(true);
  });

  it("lets no single slow round decide (medians)", () => {
    // The candidate's second round ran while the machine was busy: 3x slower.
    const c = compareRounds(rounds(lat, [1000, 1000, 1000]), rounds(lat, [1000, 3000, 1020]));
    expect(c.figures[0]!.candidateMedian).toBe(1020);
    expect(c.figures[0]!.verdict).toBe("ok");
    expect(c.passed).toBe(true);
  });

  it("asks for more rounds when overlapping rounds put the median beyond 10 %, then decides", () => {
    const b = rounds(lat, [1000, 1300, 1000]);
    const cand = rounds(lat, [1200, 1000, 1250]);
    const early = compareRounds(b, cand, { maxRounds: 6 });
    expect(early.figures[0]!.separated).toBe(false);
    expect(early.figures[0]!.verdict).toBe("inconclusive");
    expect(early.needsMoreRounds).toBe(true);
    expect(early.passed).toBe(false);
    // More rounds: the median comes back within 10 %: pass.
    const settled = compareRounds(
      [...b, ...rounds(lat, [1000, 1010, 1005])],
      [...cand, ...rounds(lat, [1030, 1020, 1050])],
      { maxRounds: 6 },
    );
    expect(settled.figures[0]!.verdict).toBe("ok");
    expect(settled.passed).toBe(true);
    // No rounds left and the median still beyond 10 %: a regression.
    const last = compareRounds(b, cand, { maxRounds: 3 });
    expect(last.figures[0]!.verdict).toBe("regressed");
    expect(last.passed).toBe(false);
  });

  it("never fails on an untracked figure (a baseline row), but reports it", () => {
    const base = rounds((v) => lat(v, false), [100, 100, 100]);
    const cand = rounds((v) => lat(v, false), [200, 200, 200]);
    const c = compareRounds(
      base.map((r, i) => [...r, tput(5000 + i)]),
      cand.map((r, i) => [...r, tput(5000 - i)]),
    );
    expect(c.figures.find((f) => !f.tracked)!.verdict).toBe("regressed");
    expect(c.passed).toBe(true);
    expect(comparisonTable(c, { baseline: "main", candidate: "HEAD" })).toMatch(/\(regressed\)/);
  });

  it("fails a tracked figure one build did not produce", () => {
    const c = compareRounds(rounds(lat, [1000, 1000, 1000]), [[], [], []]);
    expect(c.figures[0]!.verdict).toBe("missing");
    expect(c.passed).toBe(false);
    const nan = compareRounds(
      rounds(lat, [1000, 1000, 1000]),
      rounds(lat, [1000, Number.NaN, 1000]),
    );
    expect(nan.figures[0]!.verdict).toBe("missing");
  });

  it("notes noise: a baseline that moved beyond the threshold, a load above the cores", () => {
    const echo = (v: number) => ({ ...lat(v, false), figure: "echo p50", baseline: true });
    const p99 = (v: number) => ({ ...lat(v, false), figure: "peek p99" }); // not a baseline
    const c = compareRounds(
      [0, 1, 2].map(() => [lat(1000), echo(100), p99(100)]),
      [0, 1, 2].map(() => [lat(1000), echo(150), p99(300)]),
    );
    expect(c.passed).toBe(true);
    const notes = noiseNotes(c, 0.1, { max: 9.5, cores: 2 });
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/1 of 1 transport baseline figures .* echo p50 50 %$/);
    expect(notes[1]).toMatch(/9\.5 on 2 cores/);
    expect(noiseNotes(compareRounds([[lat(1)]], [[lat(1)]]), 0.1, { max: 1, cores: 2 })).toEqual(
      [],
    );
  });

  it("does not pass a comparison that tracked nothing", () => {
    expect(compareRounds([[]], [[]]).passed).toBe(false);
  });

  it("takes the median of an even count as the mean of the middle two", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
  });
});
