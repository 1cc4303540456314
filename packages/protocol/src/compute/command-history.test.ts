/**
 * Unit tests of `ComputeCommandHistory`: one test per reduction rule (materialize.md §2.5), the
 * output order, the doubling trigger, the push guards, `updateSourceUppers`, `discardPeeks`,
 * counts, and the size bounds (test_github_4443; create/drop cycles). The gauges are tested in
 * compute-client's `metrics.test.ts`.
 */
import { describe, expect, it } from "vitest";
import {
  CommandHistoryError,
  CompactionRegression,
  DuplicateInstanceCommand,
  DuplicatePeek,
} from "../errors.js";
import {
  allowWrites,
  cancelPeek,
  compaction,
  config,
  createDataflow,
  createInstance,
  dataflowDesc,
  hello,
  initializationComplete,
  peek,
  schedule,
  uuid,
} from "../testdata/compute-commands.js";
import type { ComputeCommand, ComputeCommandKind } from "./command.js";
import { ComputeCommandHistory } from "./command-history.js";

/** Pushes every command (with the automatic reductions), then returns the replay. */
function reduced(commands: readonly ComputeCommand[]): readonly ComputeCommand[] {
  const history = new ComputeCommandHistory();
  for (const c of commands) history.push(c);
  return history.commands();
}

const kinds = (commands: readonly ComputeCommand[]): ComputeCommandKind[] =>
  commands.map((c) => c.kind);

describe("ComputeCommandHistory.reduce rules", () => {
  it("deletes a dataflow compacted to empty with its schedule, allowWrites and compactions", () => {
    const out = reduced([
      createDataflow(["u1"], 0n),
      schedule("u1"),
      allowWrites("u1"),
      compaction("u1", 4n),
      compaction("u1", null),
      createDataflow(["u2"], 0n),
      schedule("u2"),
    ]);
    expect(out).toEqual([createDataflow(["u2"], 0n), schedule("u2")]);
  });

  it("folds a single export's compaction into the as-of and absorbs the compaction", () => {
    const out = reduced([createDataflow(["u1"], 3n), compaction("u1", 5n), compaction("u1", 7n)]);
    expect(out).toEqual([createDataflow(["u1"], 7n)]);
  });

  it("uses the least compacted export as the as-of and keeps the others' compactions", () => {
    const out = reduced([
      createDataflow(["u1", "u2", "u3"], 3n),
      compaction("u1", 9n),
      compaction("u2", 6n),
      compaction("u3", null),
    ]);
    // u2 (6) brought the as-of there and is absorbed; u1 and the dropped u3 are still needed.
    expect(out).toEqual([
      createDataflow(["u1", "u2", "u3"], 6n),
      compaction("u1", 9n),
      compaction("u3", null),
    ]);
  });

  it("keeps the original as-of for an export that was never compacted", () => {
    const commands = [createDataflow(["u1", "u2"], 3n), compaction("u1", 9n)];
    expect(reduced(commands)).toEqual(commands);
  });

  it("never regresses the as-of: a compaction below it is absorbed", () => {
    expect(reduced([createDataflow(["u1"], 5n), compaction("u1", 2n)])).toEqual([
      createDataflow(["u1"], 5n),
    ]);
    expect(reduced([createDataflow(["u1", "u2"], 5n), compaction("u1", 2n)])).toEqual([
      createDataflow(["u1", "u2"], 5n),
    ]);
  });

  it("deletes a dataflow only when every export is compacted to empty", () => {
    const out = reduced([
      createDataflow(["u1", "u2"], 0n),
      schedule("u1"),
      schedule("u2"),
      compaction("u1", null),
      compaction("u2", null),
    ]);
    expect(out).toEqual([]);
  });

  it("deletes a dataflow created with an empty as-of", () => {
    expect(reduced([createDataflow(["u1"], null), schedule("u1")])).toEqual([]);
  });

  it("folds configurations: later set fields win, dyncfg maps merge", () => {
    const out = reduced([
      config({ maxResultSize: 10n, workloadClass: "a", dyncfg: { x: "1", y: "1" } }),
      config({ dyncfg: { y: "2" } }),
      config({ maxResultSize: 20n, dyncfg: { z: "3" } }),
      config({ workloadClass: "" }),
    ]);
    expect(out).toEqual([
      config({ maxResultSize: 20n, workloadClass: "", dyncfg: { x: "1", y: "2", z: "3" } }),
    ]);
  });

  it("removes cancelled peeks together with their cancelPeeks", () => {
    const out = reduced([
      createDataflow(["u1"], 0n),
      peek(uuid(1)),
      peek(uuid(2)),
      cancelPeek(uuid(1)),
      cancelPeek(uuid(9)), // unknown: benign
    ]);
    expect(out).toEqual([createDataflow(["u1"], 0n), peek(uuid(2))]);
  });

  it("removes retired (answered) peeks", () => {
    const history = new ComputeCommandHistory();
    history.push(createDataflow(["u1"], 0n));
    history.push(peek(uuid(1)));
    history.push(peek(uuid(2)));
    expect(history.retirePeek(uuid(1))).toBe(true);
    expect(history.retirePeek(uuid(1))).toBe(false);
    expect(history.retirePeek(uuid(7))).toBe(false);
    expect(history.commands()).toEqual([createDataflow(["u1"], 0n), peek(uuid(2))]);
    // The controller cancels an answered peek on every replica; that leaves nothing behind.
    history.push(cancelPeek(uuid(1)));
    expect(history.commands()).toEqual([createDataflow(["u1"], 0n), peek(uuid(2))]);
  });

  it("drops stray compactions, schedules and allowWrites", () => {
    const out = reduced([
      compaction("u7", 3n),
      compaction("u8", null),
      schedule("u9"),
      allowWrites("u9"),
      createDataflow(["u1"], 0n),
    ]);
    expect(out).toEqual([createDataflow(["u1"], 0n)]);
  });

  it("keeps one schedule and one allowWrites per id", () => {
    const out = reduced([
      createDataflow(["u1"], 0n),
      schedule("u1"),
      allowWrites("u1"),
      schedule("u1"),
      allowWrites("u1"),
    ]);
    expect(out).toEqual([createDataflow(["u1"], 0n), schedule("u1"), allowWrites("u1")]);
  });

  it("keeps the latest hello, the createInstance and initializationComplete once, last", () => {
    const out = reduced([
      hello("a"),
      createInstance,
      initializationComplete,
      createDataflow(["u1"], 0n),
      hello("b"),
    ]);
    expect(out).toEqual([
      hello("b"),
      createInstance,
      createDataflow(["u1"], 0n),
      initializationComplete,
    ]);
  });

  it("orders hello, instance, config, dataflows, schedules, peeks, compactions, writes, init", () => {
    // Pushed in a protocol-valid order that differs from the output order.
    const out = reduced([
      createDataflow(["u2"], 0n),
      initializationComplete,
      allowWrites("u2"),
      createDataflow(["u1", "u3"], 0n),
      compaction("u1", 5n),
      peek(uuid(1)),
      schedule("u2"),
      schedule("u1"),
      config({ dyncfg: { a: "1" } }),
      createInstance,
      hello(),
    ]);
    expect(kinds(out)).toEqual([
      "hello",
      "createInstance",
      "updateConfiguration",
      "createDataflow",
      "createDataflow",
      "schedule",
      "schedule",
      "peek",
      "allowCompaction",
      "allowWrites",
      "initializationComplete",
    ]);
    // Dataflows keep creation order; schedules keep first-push order.
    expect(out[3]).toEqual(createDataflow(["u2"], 0n));
    expect(out[5]).toEqual(schedule("u2"));
  });

  it("is idempotent", () => {
    const history = new ComputeCommandHistory();
    for (const c of [createDataflow(["u1", "u2"], 1n), compaction("u1", 4n), peek(uuid(3))]) {
      history.push(c);
    }
    const once = history.commands();
    expect(history.commands()).toEqual(once);
  });
});

describe("ComputeCommandHistory.push", () => {
  it("reduces exactly when the length exceeds twice the length after the last reduction", () => {
    const history = new ComputeCommandHistory();
    history.push(hello()); // 1 > 0: reduces to 1
    history.push(peek(uuid(1))); // 2 ≤ 2: kept
    expect(history.size).toBe(2);
    history.push(cancelPeek(uuid(1))); // 3 > 2: reduces to [hello]
    expect(history.size).toBe(1);
    history.push(peek(uuid(2)));
    history.retirePeek(uuid(2));
    expect(history.size).toBe(2); // retired, but not yet reduced away
    history.push(peek(uuid(3))); // 3 > 2: reduces to [hello, peek 3]
    expect(history.size).toBe(2);
    expect(kinds([...history])).toEqual(["hello", "peek"]);
  });

  it("refuses a second createInstance", () => {
    const history = new ComputeCommandHistory();
    history.push(createInstance);
    expect(() => history.push(createInstance)).toThrow(DuplicateInstanceCommand);
    expect(() => history.push(createInstance)).toThrow(/created once/);
    expect(history.commands()).toEqual([createInstance]);
  });

  it("refuses a compaction that moves backward, including after the empty frontier", () => {
    const history = new ComputeCommandHistory();
    history.push(createDataflow(["u1", "u2"], 0n));
    history.push(compaction("u1", 5n));
    history.push(compaction("u1", 5n));
    const error = (() => {
      try {
        history.push(compaction("u1", 4n));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CompactionRegression);
    expect(error).toBeInstanceOf(CommandHistoryError);
    expect(error).toMatchObject({ id: "u1", current: 5n, proposed: 4n });
    history.push(compaction("u1", null));
    expect(() => history.push(compaction("u1", 9n))).toThrow(CompactionRegression);
  });

  it("tolerates compaction traffic for a dataflow that is gone", () => {
    const history = new ComputeCommandHistory();
    history.push(createDataflow(["u1"], 0n));
    history.push(compaction("u1", null));
    history.reduce();
    history.push(compaction("u1", 3n));
    expect(history.commands()).toEqual([]);
  });

  it("refuses a peek whose uuid is live, accepts it again once cancelled", () => {
    const history = new ComputeCommandHistory();
    history.push(peek(uuid(1)));
    expect(() => history.push(peek(uuid(1)))).toThrow(DuplicatePeek);
    history.push(cancelPeek(uuid(1)));
    history.push(peek(uuid(1), "u5"));
    expect(history.commands()).toEqual([peek(uuid(1), "u5")]);
  });
});

describe("ComputeCommandHistory replay helpers", () => {
  it("updateSourceUppers rewrites source import uppers and nothing else", () => {
    const history = new ComputeCommandHistory();
    const original = { kind: "createDataflow", dataflow: dataflowDesc(["u1"], 0n, ["u8", "u9"]) };
    history.push(original as ComputeCommand);
    history.push(createDataflow(["u2"], 0n)); // reads u0
    history.push(schedule("u1"));
    history.updateSourceUppers((id) => (id === "u8" ? 42n : id === "u9" ? null : undefined));
    const [first, second, third] = history.commands();
    expect(first).toEqual({
      kind: "createDataflow",
      dataflow: {
        ...original.dataflow,
        sourceImports: [
          { ...original.dataflow.sourceImports[0], upper: 42n },
          { ...original.dataflow.sourceImports[1], upper: null },
        ],
      },
    });
    expect(second).toEqual(createDataflow(["u2"], 0n));
    expect(third).toEqual(schedule("u1"));
    // The pushed command object is not mutated.
    expect(original.dataflow.sourceImports.map((s) => s.upper)).toEqual([0n, 0n]);
  });

  it("discardPeeks removes every peek and cancelPeek and updates the counts", () => {
    const history = new ComputeCommandHistory();
    history.push(createDataflow(["u1"], 0n));
    history.push(peek(uuid(1)));
    history.push(peek(uuid(2)));
    history.push(cancelPeek(uuid(2)));
    history.discardPeeks();
    expect(history.countsByType().get("peek")).toBe(0);
    expect(history.countsByType().get("cancelPeek")).toBe(0);
    expect(history.commands()).toEqual([createDataflow(["u1"], 0n)]);
    history.push(peek(uuid(1))); // no longer live: accepted
    expect(kinds(history.commands())).toEqual(["createDataflow", "peek"]);
  });

  it("iter() and the iterator yield the reduced commands", () => {
    const history = new ComputeCommandHistory();
    history.push(createDataflow(["u1"], 0n));
    history.push(peek(uuid(1)));
    history.retirePeek(uuid(1));
    expect([...history.iter()]).toEqual([createDataflow(["u1"], 0n)]);
    expect([...history]).toEqual([createDataflow(["u1"], 0n)]);
  });
});

describe("ComputeCommandHistory counts", () => {
  it("counts commands per type and dataflows", () => {
    const history = new ComputeCommandHistory();
    for (const c of [hello(), createInstance, createDataflow(["u1"], 0n), peek(uuid(1))]) {
      history.push(c);
    }
    history.push(cancelPeek(uuid(1)));
    const counts = history.countsByType();
    expect(counts.size).toBe(10);
    expect(counts.get("peek")).toBe(1); // not reduced yet (5 ≤ 2 × 4)
    expect(counts.get("cancelPeek")).toBe(1);
    expect(history.dataflowCount).toBe(1);
    history.reduce();
    expect(history.countsByType().get("peek")).toBe(0);
    expect(history.countsByType().get("cancelPeek")).toBe(0);
    expect(history.countsByType().get("hello")).toBe(1);
  });
});

describe("ComputeCommandHistory size bounds", () => {
  it("400 answered peeks leave fewer than 100 commands (test_github_4443)", () => {
    const history = new ComputeCommandHistory();
    for (const c of [hello(), createInstance, config(), initializationComplete]) history.push(c);
    history.push(createDataflow(["u1"], 0n));
    history.push(schedule("u1"));
    for (let i = 0; i < 400; i++) {
      history.push(peek(uuid(i)));
      history.retirePeek(uuid(i));
      // Slow-path peeks are answered without a cancel; fast-path ones get the controller's cancel.
      if (i % 2 === 0) history.push(cancelPeek(uuid(i)));
      expect(history.size).toBeLessThan(100);
    }
    expect(history.commands()).toHaveLength(6);
    expect(history.dataflowCount).toBeLessThan(5);
  });

  it("10,000 create/drop cycles stay bounded by the live objects, fast", () => {
    // CPU time, not wall time: under load the wall time measures the scheduler, not this code.
    const started = process.cpuUsage();
    const history = new ComputeCommandHistory();
    for (const c of [hello(), createInstance, config(), initializationComplete]) history.push(c);
    const persistent = 10;
    for (let i = 0; i < persistent; i++) {
      history.push(createDataflow([`s${i}`], 0n));
      history.push(schedule(`s${i}`));
    }
    // Every live object needs at most 3 commands (create, schedule, compaction); 4 are constant.
    // Between reductions the history may double, and one transient dataflow is in flight.
    const bound = (live: number) => 2 * (4 + 3 * live) + 3;
    let maxSize = 0;
    for (let i = 0; i < 10_000; i++) {
      const id = `u${i}`;
      history.push(createDataflow([id], BigInt(i)));
      history.push(schedule(id));
      expect(history.size).toBeLessThanOrEqual(bound(persistent + 1));
      history.push(compaction(id, BigInt(i + 1)));
      history.push(compaction(id, null));
      maxSize = Math.max(maxSize, history.size);
      expect(history.size).toBeLessThanOrEqual(bound(persistent + 1));
    }
    expect(maxSize).toBeGreaterThan(4 + 2 * persistent); // the history did grow between reductions
    expect(history.commands()).toHaveLength(4 + 2 * persistent);
    expect(history.dataflowCount).toBe(persistent);
    const cpu = process.cpuUsage(started);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(2000);
  });
});
