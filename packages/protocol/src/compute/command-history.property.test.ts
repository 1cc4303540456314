/**
 * Property tests of `ComputeCommandHistory`: for random protocol-valid command sequences
 * (dataflows with 1–3 exports, monotone compactions including the empty frontier and below the
 * as-of, stray compactions, schedules, allowWrites, peeks that are cancelled or retired at
 * random, configurations, hellos), replaying the reduced history reaches the same target state as
 * the full history (`testdata/compute-target-state.ts`), at every replay point. The reduced history is
 * also in canonical order, idempotent, and no larger than the live objects need.
 */

import { fc, test } from "@fast-check/vitest";
import type { Frontier, GlobalId } from "@mzts/repr";
import { describe, expect } from "vitest";
import {
  allowWrites,
  cancelPeek,
  compaction,
  config,
  createDataflow,
  createInstance,
  hello,
  initializationComplete,
  peek,
  schedule,
  uuid,
} from "../testdata/compute-commands.js";
import { type HistoryEvent, interpret } from "../testdata/compute-target-state.js";
import type { ComputeCommandKind } from "./command.js";
import { ComputeCommandHistory, dataflowExportIds } from "./command-history.js";

/** Abstract operations; `materialize` turns them into protocol-valid events. */
type Op =
  | { t: "create"; exports: number; asOf: number | null }
  | { t: "compact"; df: number; exp: number; delta: number; drop: boolean }
  | { t: "stray"; frontier: number | null }
  | { t: "schedule" | "writes"; df: number; exp: number }
  | { t: "peek"; df: number }
  | { t: "cancel" | "retire"; p: number }
  | { t: "config"; maxResultSize?: number; workloadClass?: string; dyncfg: [string, string][] }
  | { t: "hello"; nonce: number }
  | { t: "init" }
  | { t: "replay" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("create" as const),
      exports: fc.integer({ min: 1, max: 3 }),
      asOf: fc.option(fc.integer({ min: 0, max: 20 }), { freq: 12 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("compact" as const),
      df: fc.nat(),
      exp: fc.nat(),
      delta: fc.integer({ min: 0, max: 8 }),
      drop: fc.boolean(),
    }),
  },
  fc.record({ t: fc.constant("stray" as const), frontier: fc.option(fc.nat(20)) }),
  fc.record({
    t: fc.constantFrom("schedule" as const, "writes" as const),
    df: fc.nat(),
    exp: fc.nat(),
  }),
  { weight: 4, arbitrary: fc.record({ t: fc.constant("peek" as const), df: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constantFrom("cancel" as const, "retire" as const), p: fc.nat() }),
  },
  fc.record(
    {
      t: fc.constant("config" as const),
      maxResultSize: fc.nat(100),
      workloadClass: fc.constantFrom("", "a", "b"),
      dyncfg: fc.array(fc.tuple(fc.constantFrom("k1", "k2", "k3"), fc.constantFrom("x", "y")), {
        maxLength: 3,
      }),
    },
    { requiredKeys: ["t", "dyncfg"] },
  ),
  fc.record({ t: fc.constant("hello" as const), nonce: fc.nat(5) }),
  fc.constant({ t: "init" as const }),
  fc.constant({ t: "replay" as const }),
);

/** Events (`null` = replay point) for `ops`, respecting the protocol's rules. */
function materialize(ops: readonly Op[]): (HistoryEvent | null)[] {
  const events: (HistoryEvent | null)[] = [hello("n0"), createInstance];
  const dataflows: GlobalId[][] = [];
  /** Last compaction frontier per export (absent: never compacted). */
  const compacted = new Map<GlobalId, Frontier>();
  let nextId = 1;
  let peeks = 0;
  let initialized = false;
  const pick = <T>(xs: readonly T[], i: number): T | undefined => xs[i % Math.max(xs.length, 1)];
  const exportOf = (df: number, exp: number): GlobalId | undefined => {
    const exports = pick(dataflows, df);
    return exports === undefined ? undefined : pick(exports, exp);
  };

  for (const o of ops) {
    switch (o.t) {
      case "create": {
        const ids = Array.from({ length: o.exports }, () => `u${nextId++}`);
        dataflows.push(ids);
        events.push(createDataflow(ids, o.asOf === null ? null : BigInt(o.asOf)));
        break;
      }
      case "compact": {
        const id = exportOf(o.df, o.exp);
        if (id === undefined) break;
        const previous = compacted.get(id);
        if (previous === null) break; // nothing may follow the empty frontier
        const frontier = o.drop ? null : (previous ?? 0n) + BigInt(o.delta);
        compacted.set(id, frontier);
        events.push(compaction(id, frontier));
        break;
      }
      case "stray":
        events.push(compaction(`s${nextId++}`, o.frontier === null ? null : BigInt(o.frontier)));
        break;
      case "schedule":
      case "writes": {
        const id = exportOf(o.df, o.exp);
        if (id === undefined || compacted.get(id) === null) break;
        events.push(o.t === "schedule" ? schedule(id) : allowWrites(id));
        break;
      }
      case "peek":
        events.push(peek(uuid(peeks++), exportOf(o.df, 0) ?? "u1"));
        break;
      case "cancel":
      case "retire": {
        if (peeks === 0) break;
        const u = uuid(o.p % peeks);
        events.push(o.t === "cancel" ? cancelPeek(u) : { kind: "retirePeek", uuid: u });
        break;
      }
      case "config":
        events.push(
          config({
            ...(o.maxResultSize === undefined ? {} : { maxResultSize: BigInt(o.maxResultSize) }),
            ...(o.workloadClass === undefined ? {} : { workloadClass: o.workloadClass }),
            dyncfg: Object.fromEntries(o.dyncfg),
          }),
        );
        break;
      case "hello":
        events.push(hello(`n${o.nonce}`));
        break;
      case "init":
        if (!initialized) events.push(initializationComplete);
        initialized = true;
        break;
      case "replay":
        events.push(null);
        break;
    }
  }
  events.push(null);
  return events;
}

const ORDER: readonly ComputeCommandKind[] = [
  "hello",
  "createInstance",
  "updateConfiguration",
  "createDataflow",
  "schedule",
  "peek",
  "allowCompaction",
  "allowWrites",
  "initializationComplete",
];

/** Checks the reduced history against the full one and the structural rules. */
function checkReplay(history: ComputeCommandHistory, full: readonly HistoryEvent[]): void {
  const replay = history.commands();
  expect(interpret(replay)).toEqual(interpret(full));

  // Canonical order, no cancelPeek, singletons at most once.
  const ranks = replay.map((c) => ORDER.indexOf(c.kind));
  expect(ranks.every((r) => r >= 0)).toBe(true);
  expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  for (const kind of ["hello", "createInstance", "updateConfiguration", "initializationComplete"]) {
    expect(replay.filter((c) => c.kind === kind).length).toBeLessThanOrEqual(1);
  }

  // Bounded by the live objects: one create per live dataflow, at most one compaction per live
  // export, one schedule/allowWrites per scheduled/writable id, one command per live peek.
  const state = interpret(full);
  const liveExports = state.dataflows.reduce((n, d) => n + d.exports.length, 0);
  const needed =
    4 +
    state.dataflows.length +
    liveExports +
    state.scheduled.length +
    state.writable.length +
    state.peeks.length;
  expect(replay.length).toBeLessThanOrEqual(needed);
  expect(history.dataflowCount).toBe(state.dataflows.length);

  // Every schedule, compaction and allowWrites names an export of a replayed dataflow.
  const exported = new Set(
    replay.flatMap((c) => (c.kind === "createDataflow" ? dataflowExportIds(c.dataflow) : [])),
  );
  for (const c of replay) {
    if (c.kind === "schedule" || c.kind === "allowCompaction" || c.kind === "allowWrites") {
      expect(exported.has(c.id)).toBe(true);
    }
  }

  // Idempotent, and a fresh history fed the replay reduces to the same commands.
  expect(history.commands()).toEqual(replay);
  const fresh = new ComputeCommandHistory();
  for (const c of replay) fresh.push(c);
  expect(fresh.commands()).toEqual(replay);

  // Counts match the commands held.
  const counts = history.countsByType();
  for (const kind of ORDER) {
    expect(counts.get(kind)).toBe(replay.filter((c) => c.kind === kind).length);
  }
}

describe("ComputeCommandHistory (property)", () => {
  test.prop([fc.array(op, { maxLength: 150, size: "max" })], { numRuns: 300 })(
    "replaying the reduced history reaches the full history's target state",
    (ops) => {
      const history = new ComputeCommandHistory();
      const full: HistoryEvent[] = [];
      for (const event of materialize(ops)) {
        if (event === null) {
          checkReplay(history, full);
          continue;
        }
        full.push(event);
        if (event.kind === "retirePeek") history.retirePeek(event.uuid);
        else history.push(event);
      }
    },
  );
});
