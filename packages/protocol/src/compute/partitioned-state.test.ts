/**
 * Unit tests of the compute response merge: frontier meets, peek precedence and size limit,
 * subscribe batch release at the joint upper, drops, and command-error deduplication.
 */
import { FrontierRegression, InvariantViolation, RowPacker, type Update } from "@mzts/repr";
import { describe, expect, it, vi } from "vitest";
import { maxResultSizeError, PartitionedComputeState } from "./partitioned-state.js";
import type { ComputeResponse, PeekResponse, SubscribeResponse } from "./response.js";

const UUID = "5b0f6c1e-2f4a-4d7b-9a51-0e3c7d9b8a21";
const frontiers = (
  id: string,
  f: { write?: bigint | null; output?: bigint | null },
): ComputeResponse => ({
  kind: "frontiers",
  id,
  frontiers: f,
});
const sub = (response: SubscribeResponse): ComputeResponse => ({
  kind: "subscribeResponse",
  id: "t1",
  response,
});
const batch = (lower: bigint, upper: bigint | null, updates: Array<[bigint, number]>) =>
  sub({
    kind: "batch",
    lower,
    upper,
    result: { kind: "updates", updates: updates.map(([t, d]) => [[`r${t}`], t, d] as const) },
  });

describe("PartitionedComputeState frontiers", () => {
  it("reports the meet only when it strictly advances, per kind", () => {
    const s = new PartitionedComputeState(2);
    expect(s.absorb(0, frontiers("u1", { write: 5n }))).toEqual([]);
    expect(s.absorb(1, frontiers("u1", { write: 3n, output: 2n }))).toEqual([
      frontiers("u1", { write: 3n }),
    ]);
    expect(s.absorb(0, frontiers("u1", { output: 4n }))).toEqual([frontiers("u1", { output: 2n })]);
    expect(s.absorb(1, frontiers("u1", { write: 7n }))).toEqual([frontiers("u1", { write: 5n })]);
    expect(s.absorb(1, frontiers("u1", { write: 7n }))).toEqual([]);
  });

  it("reports empty once all parts are empty, and refuses regressions", () => {
    const s = new PartitionedComputeState(2);
    s.absorb(0, frontiers("u1", { write: null }));
    expect(s.absorb(1, frontiers("u1", { write: null }))).toEqual([
      frontiers("u1", { write: null }),
    ]);
    s.absorb(0, frontiers("u2", { write: 9n }));
    expect(() => s.absorb(0, frontiers("u2", { write: 8n }))).toThrow(FrontierRegression);
  });

  it("a single part passes advances straight through", () => {
    const s = new PartitionedComputeState(1);
    expect(s.absorb(0, frontiers("u1", { write: 1n }))).toEqual([frontiers("u1", { write: 1n })]);
  });
});

describe("PartitionedComputeState peeks", () => {
  const peek = (response: PeekResponse): ComputeResponse => ({
    kind: "peekResponse",
    uuid: UUID,
    response,
  });

  it("waits for every part and concatenates rows in part order", () => {
    const s = new PartitionedComputeState(2);
    expect(s.absorb(1, peek({ kind: "rows", rows: [[["b"], 1]] }))).toEqual([]);
    expect(s.absorb(0, peek({ kind: "rows", rows: [[["a"], 2]] }))).toEqual([
      peek({
        kind: "rows",
        rows: [
          [["a"], 2],
          [["b"], 1],
        ],
      }),
    ]);
  });

  it("canceled beats error beats rows", () => {
    const s = new PartitionedComputeState(3);
    s.absorb(0, peek({ kind: "rows", rows: [] }));
    s.absorb(1, peek({ kind: "error", message: "boom" }));
    expect(s.absorb(2, peek({ kind: "canceled" }))).toEqual([peek({ kind: "canceled" })]);
    s.absorb(0, peek({ kind: "rows", rows: [] }));
    s.absorb(2, peek({ kind: "error", message: "late" }));
    expect(s.absorb(1, peek({ kind: "error", message: "early" }))).toEqual([
      peek({ kind: "error", message: "early" }),
    ]);
  });

  it("turns results over max_result_size into the size error", () => {
    const s = new PartitionedComputeState(1);
    s.observeCommand({
      kind: "updateConfiguration",
      params: { maxResultSize: 8n, dyncfgUpdates: new Map() },
    });
    expect(s.absorb(0, peek({ kind: "rows", rows: [[["x".repeat(10)], 1]] }))).toEqual([
      peek({ kind: "error", message: maxResultSizeError(8n) }),
    ]);
    expect(maxResultSizeError(8n)).toBe("total result exceeds max size of 8 bytes");
    expect(s.absorb(0, peek({ kind: "rows", rows: [[["x"], 1]] }))).toEqual([
      peek({ kind: "rows", rows: [[["x"], 1]] }),
    ]);
  });

  it("packs rows to measure them only under a limit a buffer can reach", () => {
    const pack = vi.spyOn(RowPacker.prototype, "pack");
    try {
      const rows: Array<[string[], number]> = [[["x".repeat(10)], 1]];
      const unlimited = new PartitionedComputeState(1);
      expect(unlimited.absorb(0, peek({ kind: "rows", rows }))).toEqual([
        peek({ kind: "rows", rows }),
      ]);
      expect(unlimited.absorb(0, batch(0n, 5n, [[1n, 1]]))).toHaveLength(1);
      expect(pack).not.toHaveBeenCalled();
      const limited = new PartitionedComputeState(1);
      const max = BigInt(Number.MAX_SAFE_INTEGER) - 1n;
      limited.observeCommand({
        kind: "updateConfiguration",
        params: { maxResultSize: max, dyncfgUpdates: new Map() },
      });
      expect(limited.absorb(0, peek({ kind: "rows", rows }))).toEqual([
        peek({ kind: "rows", rows }),
      ]);
      expect(pack).toHaveBeenCalledTimes(1);
    } finally {
      pack.mockRestore();
    }
  });

  it("one part: its answer passes on as is, with nothing kept per peek (issue 16)", () => {
    const s = new PartitionedComputeState(1);
    for (const response of [
      { kind: "rows", rows: [[["a"], 1]] },
      { kind: "error", message: "boom" },
      { kind: "canceled" },
    ] satisfies PeekResponse[]) {
      const answer = peek(response);
      const out = s.absorb(0, answer);
      expect(out).toHaveLength(1);
      expect(out[0]).toBe(answer);
    }
  });

  it("two answers from one part are a bug", () => {
    const s = new PartitionedComputeState(2);
    s.absorb(0, peek({ kind: "canceled" }));
    expect(() => s.absorb(0, peek({ kind: "canceled" }))).toThrow(InvariantViolation);
  });
});

describe("PartitionedComputeState subscribes", () => {
  it("passes one part's consolidated batch on as is, and merges consolidated runs (issue 16)", () => {
    const one = new PartitionedComputeState(1);
    const updates: Update[] = [
      [["r1"], 1n, -1],
      [["r2"], 2n, 1],
    ];
    const [out] = one.absorb(
      0,
      sub({ kind: "batch", lower: 0n, upper: 4n, result: { kind: "updates", updates } }),
    );
    if (out?.kind !== "subscribeResponse" || out.response.kind !== "batch") throw out;
    expect(out.response.result).toEqual({ kind: "updates", updates });
    expect(out.response.result.kind === "updates" && out.response.result.updates).toBe(updates);
    const two = new PartitionedComputeState(2);
    two.absorb(0, batch(0n, 4n, [[3n, 1]]));
    expect(
      two.absorb(
        1,
        batch(0n, 4n, [
          [1n, 1],
          [3n, -1],
        ]),
      ),
    ).toEqual([
      sub({
        kind: "batch",
        lower: 0n,
        upper: 4n,
        result: { kind: "updates", updates: [[["r1"], 1n, 1]] },
      }),
    ]);
  });

  it("releases a batch when the joint upper advances, keeping later updates stashed", () => {
    const s = new PartitionedComputeState(2);
    expect(s.absorb(0, batch(0n, 4n, [[2n, 1]]))).toEqual([]);
    expect(
      s.absorb(
        1,
        batch(0n, 6n, [
          [5n, 1],
          [2n, 1],
        ]),
      ),
    ).toEqual([
      sub({
        kind: "batch",
        lower: 0n,
        upper: 4n,
        result: { kind: "updates", updates: [[["r2"], 2n, 2]] },
      }),
    ]);
    expect(s.absorb(0, batch(4n, null, []))).toEqual([
      sub({
        kind: "batch",
        lower: 4n,
        upper: 6n,
        result: { kind: "updates", updates: [[["r5"], 5n, 1]] },
      }),
    ]);
    expect(s.absorb(1, batch(6n, null, []))).toEqual([
      sub({ kind: "batch", lower: 6n, upper: null, result: { kind: "updates", updates: [] } }),
    ]);
  });

  it("makes an error from any part sticky", () => {
    const s = new PartitionedComputeState(2);
    s.absorb(
      0,
      sub({ kind: "batch", lower: 1n, upper: 3n, result: { kind: "error", message: "bad" } }),
    );
    const out = s.absorb(1, batch(1n, 3n, [[1n, 1]]));
    expect(out).toEqual([
      sub({ kind: "batch", lower: 1n, upper: 3n, result: { kind: "error", message: "bad" } }),
    ]);
  });

  it("sends droppedAt once, after every part dropped, and no batch in between", () => {
    const s = new PartitionedComputeState(2);
    s.absorb(0, batch(0n, 2n, []));
    s.absorb(1, batch(0n, 2n, []));
    expect(s.absorb(0, sub({ kind: "droppedAt", frontier: 2n }))).toEqual([]);
    expect(s.absorb(1, batch(2n, 3n, [[2n, 1]]))).toEqual([]);
    expect(s.absorb(1, sub({ kind: "droppedAt", frontier: 3n }))).toEqual([
      sub({ kind: "droppedAt", frontier: 2n }),
    ]);
  });
});

describe("PartitionedComputeState pass-through", () => {
  it("forwards status and the first copy of a command error", () => {
    const s = new PartitionedComputeState(2);
    const status: ComputeResponse = { kind: "status", hydration: [{ id: "u1", hydrated: true }] };
    expect(s.absorb(1, status)).toEqual([status]);
    const err: ComputeResponse = {
      kind: "commandError",
      error: {
        objectId: "u1",
        command: "createDataflow",
        code: "duplicateId",
        message: "u1 exists",
      },
    };
    expect(s.absorb(0, err)).toEqual([err]);
    expect(s.absorb(1, err)).toEqual([]);
    expect(s.absorb(1, err)).toEqual([err]);
  });

  it("refuses unknown parts", () => {
    expect(() => new PartitionedComputeState(2).absorb(2, frontiers("u1", { write: 1n }))).toThrow(
      InvariantViolation,
    );
    expect(() => new PartitionedComputeState(0)).toThrow(InvariantViolation);
  });
});
