/**
 * Properties of `StorageCommandHistory`:
 * - replaying the reduced history (automatic reductions during `push`, and a final `reduce()`)
 *   yields the same replica target state as replaying every command, by a reference
 *   interpreter of the storage protocol's semantics (command.ts);
 * - reduction is idempotent and emits the documented order;
 * - 10,000 create/drop cycles keep the history bounded by the live objects, quickly.
 */
import { fc, test } from "@fast-check/vitest";
import type { Frontier, GlobalId } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import {
  allowWrites,
  compaction,
  config,
  hello,
  initializationComplete,
  runIngestion,
  runSink,
} from "../testdata/storage-commands.js";
import type { IngestionDescription, SinkDescription, StorageCommand } from "./command.js";
import { ingestionCollectionIds, StorageCommandHistory } from "./command-history.js";

// ---------------------------------------------------------------------------------------------
// Reference interpreter: what a replica holds after applying commands one by one.

interface TargetState {
  hello: bigint | undefined;
  config: Record<string, string>;
  /** Live ingestions: definition and the effective compaction frontier of each collection. */
  ingestions: Record<
    GlobalId,
    { description: IngestionDescription; since: Record<GlobalId, Frontier> }
  >;
  sinks: Record<GlobalId, SinkDescription>;
  initialized: boolean;
  writable: boolean;
}

function interpret(commands: readonly StorageCommand[]): TargetState {
  let helloGeneration: bigint | undefined;
  const params = new Map<string, string>();
  const ingestions = new Map<
    GlobalId,
    { description: IngestionDescription; since: Map<GlobalId, Frontier> }
  >();
  const sinks = new Map<GlobalId, SinkDescription>();
  let initialized = false;
  let writable = false;
  const ownerOf = (id: GlobalId) => {
    for (const [ingestionId, ing] of ingestions) {
      if (ingestionCollectionIds(ingestionId, ing.description).includes(id)) return ingestionId;
    }
    return undefined;
  };
  for (const c of commands) {
    switch (c.kind) {
      case "hello":
        helloGeneration = c.hello.generation;
        break;
      case "updateConfiguration":
        for (const [k, v] of c.params) params.set(k, v);
        break;
      case "initializationComplete":
        initialized = true;
        break;
      case "allowWrites":
        writable = true;
        break;
      case "runIngestion": {
        const existing = ingestions.get(c.id);
        if (existing === undefined)
          ingestions.set(c.id, { description: c.description, since: new Map() });
        else existing.description = c.description;
        break;
      }
      case "runSink":
        sinks.set(c.id, c.description);
        break;
      case "allowCompaction": {
        const owner = ownerOf(c.id);
        if (owner !== undefined) {
          if (owner === c.id && c.frontier === null) ingestions.delete(owner);
          else ingestions.get(owner)?.since.set(c.id, c.frontier);
        } else if (sinks.has(c.id) && c.frontier === null) {
          sinks.delete(c.id);
        }
        // Anything else (a sink's non-empty compaction, an unknown id) changes nothing.
        break;
      }
    }
  }
  const out: TargetState = {
    hello: helloGeneration,
    config: Object.fromEntries(params),
    ingestions: {},
    sinks: Object.fromEntries(sinks),
    initialized,
    writable,
  };
  for (const [id, ing] of ingestions) {
    const collections = ingestionCollectionIds(id, ing.description);
    out.ingestions[id] = {
      description: ing.description,
      since: Object.fromEntries([...ing.since].filter(([c]) => collections.includes(c))),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A controller model that turns random actions into a valid command sequence: ids are never
// reused, compaction frontiers only advance, dropped objects receive nothing more.

type Action =
  | { t: "createIngestion"; subs: number; seed: bigint }
  | { t: "createSink" }
  | { t: "alter"; pick: number; addSub: boolean; forgetDropped: boolean; seed: bigint }
  | { t: "compact"; pick: number; which: number; by: bigint }
  | { t: "dropObject"; pick: number }
  | { t: "dropSub"; pick: number; which: number }
  | { t: "stray"; id: number; by: bigint; drop: boolean }
  | { t: "config"; key: string; value: string }
  | { t: "hello"; generation: bigint }
  | { t: "init" }
  | { t: "writes" };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("createIngestion" as const),
      subs: fc.nat(2),
      seed: fc.bigInt(0n, 9n),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant("createSink" as const) }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("alter" as const),
      pick: fc.nat(),
      addSub: fc.boolean(),
      forgetDropped: fc.boolean(),
      seed: fc.bigInt(0n, 9n),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("compact" as const),
      pick: fc.nat(),
      which: fc.nat(),
      by: fc.bigInt(0n, 3n),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ t: fc.constant("dropObject" as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ t: fc.constant("dropSub" as const), pick: fc.nat(), which: fc.nat() }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("stray" as const),
      id: fc.nat(3),
      by: fc.bigInt(0n, 3n),
      drop: fc.boolean(),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("config" as const),
      key: fc.constantFrom("a", "b", "c"),
      value: fc.string({ maxLength: 2 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("hello" as const), generation: fc.bigInt(0n, 5n) }),
    weight: 1,
  },
  { arbitrary: fc.record({ t: fc.constant("init" as const) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("writes" as const) }), weight: 1 },
);

function toCommands(actions: readonly Action[]): StorageCommand[] {
  let next = 1;
  const fresh = () => `u${next++}`;
  /** Live ingestions → their subsources (dropped ones stay listed until forgotten). */
  const ingestions = new Map<GlobalId, { subs: GlobalId[]; seed: bigint }>();
  const sinks = new Set<GlobalId>();
  /** Last compaction frontier sent per id (ids of live objects and strays). */
  const since = new Map<GlobalId, Frontier>();
  const out: StorageCommand[] = [];
  const objects = () => [...ingestions.keys(), ...sinks];
  const advance = (id: GlobalId, by: bigint) => {
    const cur = since.get(id);
    if (cur === null) return; // dropped: nothing more
    const f = (cur ?? 0n) + by;
    since.set(id, f);
    out.push(compaction(id, f));
  };
  for (const a of actions) {
    switch (a.t) {
      case "createIngestion": {
        const id = fresh();
        const subs = Array.from({ length: a.subs }, fresh);
        ingestions.set(id, { subs, seed: a.seed });
        out.push(runIngestion(id, subs, a.seed));
        break;
      }
      case "createSink": {
        const id = fresh();
        sinks.add(id);
        out.push(runSink(id, `u${Math.max(1, next - 2)}`));
        break;
      }
      case "alter": {
        const ids = [...ingestions.keys()];
        const id = ids[a.pick % Math.max(1, ids.length)];
        if (id === undefined) break;
        const ing = ingestions.get(id)!;
        let subs = ing.subs;
        if (a.forgetDropped) subs = subs.filter((s) => since.get(s) !== null);
        if (a.addSub) subs = [...subs, fresh()];
        ingestions.set(id, { subs, seed: a.seed });
        out.push(runIngestion(id, subs, a.seed));
        break;
      }
      case "compact": {
        const ids = objects();
        const id = ids[a.pick % Math.max(1, ids.length)];
        if (id === undefined) break;
        const ing = ingestions.get(id);
        const collections = ing === undefined ? [id] : [id, ...ing.subs];
        advance(collections[a.which % collections.length]!, a.by);
        break;
      }
      case "dropObject": {
        const ids = objects();
        const id = ids[a.pick % Math.max(1, ids.length)];
        if (id === undefined) break;
        out.push(compaction(id, null));
        const ing = ingestions.get(id);
        for (const c of ing?.subs ?? []) since.delete(c);
        since.delete(id);
        ingestions.delete(id);
        sinks.delete(id);
        break;
      }
      case "dropSub": {
        const ids = [...ingestions.keys()];
        const id = ids[a.pick % Math.max(1, ids.length)];
        if (id === undefined) break;
        const subs = ingestions.get(id)!.subs.filter((s) => since.get(s) !== null);
        const sub = subs[a.which % Math.max(1, subs.length)];
        if (sub === undefined) break;
        since.set(sub, null);
        out.push(compaction(sub, null));
        break;
      }
      case "stray": {
        const id = `s${a.id}`;
        if (a.drop) {
          since.set(id, null);
          out.push(compaction(id, null));
        } else {
          advance(id, a.by);
        }
        break;
      }
      case "config":
        out.push(config({ [a.key]: a.value }));
        break;
      case "hello":
        out.push(hello(a.generation));
        break;
      case "init":
        out.push(initializationComplete);
        break;
      case "writes":
        out.push(allowWrites);
        break;
    }
  }
  return out;
}

const RANK: Record<StorageCommand["kind"], number> = {
  hello: 0,
  updateConfiguration: 1,
  runIngestion: 2,
  runSink: 3,
  allowCompaction: 4,
  initializationComplete: 5,
  allowWrites: 6,
};

describe("StorageCommandHistory properties", () => {
  test.prop([fc.array(action, { maxLength: 120 })], { numRuns: 200 })(
    "replaying the reduced history reaches the same target state as the full history",
    (actions) => {
      const commands = toCommands(actions);
      const expected = interpret(commands);
      const history = new StorageCommandHistory();
      for (const c of commands) {
        history.push(c);
        expect(history.size).toBeLessThanOrEqual(commands.length);
      }
      expect(interpret(history.commands())).toEqual(expected);

      history.reduce();
      const once = history.commands();
      expect(interpret(once)).toEqual(expected);
      const ranks = once.map((c) => RANK[c.kind]);
      expect(ranks).toEqual([...ranks].sort((x, y) => x - y));

      history.reduce();
      expect(history.commands()).toEqual(once);
      // The counts describe what is held.
      const counts = new Map<string, number>();
      for (const c of once) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
      for (const [kind, n] of history.counts()) expect(counts.get(kind) ?? 0).toBe(n);
    },
  );
});

describe("StorageCommandHistory bound", () => {
  it("keeps 10,000 create/drop cycles within 3 × live + constant, in well under 2 s", () => {
    // CPU time, not wall time: under load the wall time measures the scheduler, not this code.
    const started = process.cpuUsage();
    const history = new StorageCommandHistory();
    history.push(hello());
    history.push(config({ workers: "1" }));
    history.push(initializationComplete);
    history.push(allowWrites);
    const LIVE = 5;
    for (let i = 0; i < LIVE; i++) history.push(runIngestion(`s${i}`));
    let maxSize = 0;
    for (let i = 0; i < 10_000; i++) {
      const id = `u${i + 1}`;
      const sub = `u${i + 1_000_000}`;
      history.push(runIngestion(id, [sub]));
      history.push(compaction(sub, BigInt(i)));
      history.push(runSink(`t${i}`, id));
      maxSize = Math.max(maxSize, history.size);
      history.push(compaction(`t${i}`, null));
      history.push(compaction(id, null));
      maxSize = Math.max(maxSize, history.size);
      // Live: the LIVE static ingestions plus at most the current cycle's ingestion and sink.
      expect(history.size).toBeLessThanOrEqual(3 * (LIVE + 2) + 10);
    }
    history.reduce();
    expect(history.size).toBe(4 + LIVE);
    expect(maxSize).toBeGreaterThan(4 + LIVE);
    const cpu = process.cpuUsage(started);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(2000);
  });
});
