/**
 * Unit tests of `StorageCommandHistory`: the six reduction tests of Materialize's
 * `storage-controller/src/history.rs`, output order, latest definition, configuration folding,
 * the doubling trigger, counts and the compaction guard (the gauge: storage-client `metrics.test.ts`).
 */
import { describe, expect, it } from "vitest";
import { CommandHistoryError, CompactionRegression } from "../errors.js";
import {
  allowWrites,
  compaction,
  config,
  hello,
  initializationComplete,
  runIngestion,
  runSink,
} from "../testdata/storage-commands.js";
import type { StorageCommand } from "./command.js";
import { StorageCommandHistory } from "./command-history.js";

/** Pushes every command (with the automatic reductions), then reduces once more. */
function reduced(commands: readonly StorageCommand[]): readonly StorageCommand[] {
  const history = new StorageCommandHistory();
  for (const c of commands) history.push(c);
  history.reduce();
  return history.commands();
}

describe("StorageCommandHistory.reduce (Materialize history.rs tests)", () => {
  it("reduce_drops_dropped_ingestion", () => {
    expect(reduced([runIngestion("u1", ["u2"]), compaction("u1", null)])).toEqual([]);
  });

  it("reduce_keeps_compacted_ingestion", () => {
    const commands = [runIngestion("u1", ["u2"]), compaction("u1", 1n)];
    expect(reduced(commands)).toEqual(commands);
  });

  it("reduce_keeps_partially_dropped_ingestion", () => {
    const commands = [runIngestion("u1", ["u2"]), compaction("u2", null)];
    expect(reduced(commands)).toEqual(commands);
  });

  it("reduce_drops_dropped_sink", () => {
    expect(reduced([runSink("u1"), compaction("u1", null)])).toEqual([]);
  });

  it("reduce_keeps_compacted_sink", () => {
    // The sink stays; its (informational) compaction vanishes.
    expect(reduced([runSink("u1"), compaction("u1", 1n)])).toEqual([runSink("u1")]);
  });

  it("reduce_drops_stray_compactions", () => {
    expect(reduced([compaction("u1", 1n), compaction("u2", null)])).toEqual([]);
  });
});

describe("StorageCommandHistory.reduce", () => {
  it("orders hello, config, ingestions, sinks, compactions, initializationComplete, allowWrites", () => {
    const out = reduced([
      allowWrites,
      initializationComplete,
      runSink("u9", "u1"),
      config({ a: "1" }),
      runIngestion("u1"),
      compaction("u1", 3n),
      hello(),
      runIngestion("u5"),
    ]);
    expect(out.map((c) => c.kind)).toEqual([
      "hello",
      "updateConfiguration",
      "runIngestion",
      "runIngestion",
      "runSink",
      "allowCompaction",
      "initializationComplete",
      "allowWrites",
    ]);
  });

  it("keeps only the last hello", () => {
    expect(reduced([hello(1n), hello(2n)])).toEqual([hello(2n)]);
  });

  it("keeps the latest definition per ingestion and sink id", () => {
    const out = reduced([
      runIngestion("u1", [], 1n),
      runSink("u7", "u1"),
      runIngestion("u1", ["u2"], 2n),
      runSink("u7", "u2"),
    ]);
    expect(out).toEqual([runIngestion("u1", ["u2"], 2n), runSink("u7", "u2")]);
  });

  it("folds configurations, later keys winning", () => {
    const out = reduced([
      config({ a: "1", b: "1" }),
      runIngestion("u1"),
      config({ b: "2", c: "2" }),
      config({ c: "3" }),
    ]);
    expect(out[0]).toEqual(config({ a: "1", b: "2", c: "3" }));
    expect(out.filter((c) => c.kind === "updateConfiguration")).toHaveLength(1);
  });

  it("keeps the final compaction of every collection of a live ingestion", () => {
    const out = reduced([
      runIngestion("u1", ["u2", "u3"]),
      compaction("u1", 1n),
      compaction("u2", 2n),
      compaction("u1", 5n),
      compaction("u3", null),
    ]);
    expect(out).toEqual([
      runIngestion("u1", ["u2", "u3"]),
      compaction("u1", 5n),
      compaction("u2", 2n),
      compaction("u3", null),
    ]);
  });

  it("drops an ingestion's subsource compactions together with it", () => {
    const out = reduced([
      runIngestion("u1", ["u2"]),
      runIngestion("u3"),
      compaction("u2", 4n),
      compaction("u1", null),
    ]);
    expect(out).toEqual([runIngestion("u3")]);
  });

  it("discards compactions of subsources that the latest definition no longer has", () => {
    const out = reduced([runIngestion("u1", ["u2"]), compaction("u2", null), runIngestion("u1")]);
    expect(out).toEqual([runIngestion("u1")]);
  });

  it("keeps initializationComplete and allowWrites once each", () => {
    const out = reduced([initializationComplete, allowWrites, initializationComplete, allowWrites]);
    expect(out).toEqual([initializationComplete, allowWrites]);
  });
});

describe("StorageCommandHistory.push", () => {
  it("reduces on the first push and whenever the length doubles", () => {
    const history = new StorageCommandHistory();
    const sizes: number[] = [];
    history.push(hello());
    sizes.push(history.size);
    // Each create+drop pair of u<n> reduces to nothing.
    for (let i = 1; i <= 4; i++) {
      history.push(runIngestion(`u${i}`));
      sizes.push(history.size);
      history.push(compaction(`u${i}`, null));
      sizes.push(history.size);
    }
    // After the first push: reducedCount 1 → a push reaching 3 reduces back to [hello].
    expect(sizes).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1]);
  });

  it("does not reduce before the length exceeds twice the reduced length", () => {
    const history = new StorageCommandHistory();
    history.push(hello());
    history.push(runIngestion("u1"));
    history.push(runIngestion("u2")); // 3 > 2 → reduce to 3
    history.push(compaction("u1", null));
    history.push(compaction("u2", null));
    history.push(runIngestion("u3"));
    expect(history.size).toBe(6); // 6 ≤ 2 × 3: not yet reduced
    history.push(runIngestion("u4")); // 7 > 6 → reduce
    expect(history.commands()).toEqual([hello(), runIngestion("u3"), runIngestion("u4")]);
  });

  it("refuses a compaction that moves backward, with a CommandHistoryError", () => {
    const history = new StorageCommandHistory();
    history.push(runIngestion("u1", ["u2"]));
    history.push(compaction("u2", 5n));
    history.push(compaction("u2", 5n));
    expect(() => history.push(compaction("u2", 4n))).toThrow(CompactionRegression);
    history.push(compaction("u2", null));
    let err: unknown;
    try {
      history.push(compaction("u2", 9n));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CommandHistoryError);
    expect((err as Error).message).toMatch(/from \[\] to \[9\]; send a frontier at or beyond/);
  });

  it("still guards a live sink after its compaction was reduced away", () => {
    const history = new StorageCommandHistory();
    history.push(runSink("u1"));
    history.push(compaction("u1", 7n));
    history.reduce();
    expect(history.commands()).toEqual([runSink("u1")]);
    expect(() => history.push(compaction("u1", 6n))).toThrow(CompactionRegression);
  });
});
