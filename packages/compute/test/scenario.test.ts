/**
 * The end-to-end compute scenario on real worker threads and real persist, for both command
 * distribution paths (unified sequencer, legacy command channel) and W = 1 and W = 3:
 * two persist collections written at several times, an indexed join + reduce, a second dataflow
 * importing the index, a subscribe, a persist sink gated by allowWrites, compaction, drops, bad
 * commands. Answers are checked against a reference computed from the inputs, and the unified
 * and legacy runs must produce identical peek answers and subscribe streams.
 */
import type { Plan } from "@mzts/expr";
import { createPersist, type PersistClient } from "@mzts/persist";
import type { ComputeResponse, IndexImport } from "@mzts/protocol";
import {
  collectionAsOf,
  consolidateRows,
  consolidateUpdates,
  type Row,
  rowKey,
  type Update,
} from "@mzts/repr";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  dataflow,
  holdSinceLikeController,
  type PathKind,
  peekOf,
  Replica,
  removeDir,
  START_COMMANDS,
  show,
  tempDir,
  until,
} from "./harness.js";

// ---- inputs and the reference ------------------------------------------------------------------

const CUSTOMERS_EARLY: Update[] = [
  [[1n, "alice"], 0n, 1],
  [[2n, "bob"], 0n, 1],
  [[3n, "carol"], 1n, 1],
  [[2n, "bob"], 3n, -1],
  [[2n, "bobby"], 3n, 1],
];
const ORDERS_EARLY: Update[] = [
  [[1n, 10n], 0n, 1],
  [[1n, 5n], 1n, 1],
  [[2n, 7n], 1n, 1],
  [[3n, 1n], 2n, 1],
  [[1n, 10n], 4n, -1],
  [[3n, 4n], 4n, 1],
  [[1n, 20n], 3n, 1],
];
// Written after the dataflows exist (the listen path).
const ORDERS_LATE: Update[] = [
  [[2n, 8n], 5n, 1],
  [[3n, 1n], 6n, 2],
];
const CUSTOMERS = CUSTOMERS_EARLY;
const ORDERS = [...ORDERS_EARLY, ...ORDERS_LATE];
const FINAL_UPPER = 7n;

/** join customers ⋈ orders on id, group by name: [name, count, sum(amount)]. */
function reference(t: bigint): Array<[Row, number]> {
  const groups = new Map<string, { count: bigint; sum: bigint }>();
  for (const [c, n1] of collectionAsOf(CUSTOMERS, t)) {
    for (const [o, n2] of collectionAsOf(ORDERS, t)) {
      if (c[0] !== o[0]) continue;
      const name = c[1] as string;
      const g = groups.get(name) ?? { count: 0n, sum: 0n };
      const n = BigInt(n1 * n2);
      g.count += n;
      g.sum += n * (o[1] as bigint);
      groups.set(name, g);
    }
  }
  const out: Array<[Row, number]> = [];
  for (const [name, g] of groups) if (g.count !== 0n) out.push([[name, g.count, g.sum], 1]);
  return consolidateRows(out);
}
const referenceBig = (t: bigint) => reference(t).filter(([r]) => (r[1] as bigint) >= 2n);

const JOIN_REDUCE: Plan = {
  kind: "reduce",
  input: {
    kind: "join",
    inputs: [
      { kind: "get", id: "u1", arity: 2 },
      { kind: "get", id: "u2", arity: 2 },
    ],
    equivalences: [
      [
        [0, 0],
        [1, 0],
      ],
    ],
  },
  groupKey: [1],
  aggregates: [{ func: "count" }, { func: "sum", column: 3 }],
};
const U11: IndexImport = { id: "u11", key: [0], arity: 3 };

const D1 = dataflow({
  debugName: "orders_by_name",
  asOf: 1n,
  sourceImports: [
    { id: "u1", shardId: "customers", arity: 2, upper: 0n },
    { id: "u2", shardId: "orders", arity: 2, upper: 0n },
  ],
  objectsToBuild: [{ id: "u10", plan: JOIN_REDUCE }],
  indexExports: [{ id: "u11", objectId: "u10", key: [0] }],
});
const D2 = dataflow({
  debugName: "big_customers",
  asOf: 2n,
  indexImports: [U11],
  objectsToBuild: [
    {
      id: "u20",
      plan: {
        kind: "filter",
        input: { kind: "get", id: "u11", arity: 3 },
        predicates: [
          {
            kind: "binary",
            op: "gte",
            left: { kind: "column", index: 1 },
            right: { kind: "literal", value: 2n },
          },
        ],
      },
    },
  ],
  indexExports: [{ id: "u21", objectId: "u20", key: [0] }],
});
const D3 = dataflow({
  debugName: "subscribe",
  asOf: 1n,
  indexImports: [U11],
  sinkExports: [{ id: "u30", fromId: "u11", connection: { kind: "subscribe" } }],
});
const D4 = dataflow({
  debugName: "mv",
  asOf: 1n,
  indexImports: [U11],
  sinkExports: [{ id: "u40", fromId: "u11", connection: { kind: "persist", shardId: "mv_u40" } }],
});

async function writeShard(
  p: PersistClient,
  id: string,
  updates: Update[],
  lower: bigint,
  upper: bigint,
) {
  const shard = await p.openShard(id, { create: true });
  await shard.compareAndAppend(updates, lower, upper);
  await holdSinceLikeController(shard);
}

function rowsOf(r: ComputeResponse & { kind: "peekResponse" }): Array<[Row, number]> {
  if (r.response.kind !== "rows") throw new Error(`expected rows, got ${show(r.response)}`);
  return r.response.rows.map(([row, n]) => [row, n]);
}

const sorted = (rows: Array<[Row, number]>) => show(consolidateRows(rows));

// ---- the scenario --------------------------------------------------------------------------

const observed = new Map<string, { peeks: string[]; subscribe: string }>();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function runScenario(path: PathKind, W: number) {
  const dir = await tempDir();
  cleanups.push(() => removeDir(dir));
  const persist = await createPersist({ dataDir: dir });
  cleanups.push(() => persist.close());
  await writeShard(persist, "customers", CUSTOMERS_EARLY, 0n, 5n);
  await writeShard(persist, "orders", ORDERS_EARLY, 0n, 5n);

  const rep = new Replica(path, W, dir);
  cleanups.push(() => rep.close());
  await rep.rt.ready;
  rep.connect("n1");
  rep.send(
    ...START_COMMANDS,
    { kind: "createDataflow", dataflow: D1 },
    { kind: "schedule", id: "u11" },
    { kind: "createDataflow", dataflow: D2 },
    { kind: "createDataflow", dataflow: D3 },
    { kind: "createDataflow", dataflow: D4 },
  );
  const peeks: string[] = [];

  // Peeks before the late data: times 1..4 are complete (shard upper 5).
  for (let t = 1n; t <= 4n; t++) {
    const r = await rep.peek(peekOf("u11", 3, t));
    expect(sorted(rowsOf(r)), `u11 @${t}`).toBe(sorted(reference(t)));
    peeks.push(show(r.response));
  }
  // Late data: the dataflows pick it up through persist listen.
  const orders = await persist.openShard("orders");
  await orders.compareAndAppend(ORDERS_LATE, 5n, FINAL_UPPER);
  const customers = await persist.openShard("customers");
  await customers.compareAndAppend([], 5n, FINAL_UPPER);
  for (let t = 5n; t < FINAL_UPPER; t++) {
    const r = await rep.peek(peekOf("u11", 3, t));
    expect(sorted(rowsOf(r)), `u11 @${t}`).toBe(sorted(reference(t)));
    peeks.push(show(r.response));
  }
  // The imported index.
  for (let t = 2n; t < FINAL_UPPER; t++) {
    const r = await rep.peek(peekOf("u21", 3, t));
    expect(sorted(rowsOf(r)), `u21 @${t}`).toBe(sorted(referenceBig(t)));
    peeks.push(show(r.response));
  }
  // Key lookup, and finishing (order by sum desc, offset 1, limit 2, project name) after merge.
  const look = await rep.peek(
    peekOf("u11", 3, 6n, { literalConstraints: [["alice"], ["nobody"]] }),
  );
  expect(sorted(rowsOf(look))).toBe(sorted(reference(6n).filter(([r]) => r[0] === "alice")));
  peeks.push(show(look.response));
  const fin = await rep.peek(
    peekOf("u11", 3, 6n, {
      finishing: {
        orderBy: [{ column: 2, desc: true, nullsLast: false }],
        offset: 1,
        limit: 2,
        project: [0],
      },
    }),
  );
  const expectedFin = reference(6n)
    .sort((a, b) => ((a[0][2] as bigint) > (b[0][2] as bigint) ? -1 : 1))
    .slice(1, 3)
    .map(([r, n]) => [[r[0]], n]);
  expect(show(rowsOf(fin))).toBe(show(expectedFin));
  peeks.push(show(fin.response));

  // Frontiers: the index's write frontier reaches the shards' upper, and never regresses.
  await until(() => rep.frontier("u11", "write") === FINAL_UPPER, "u11 write frontier");
  const writes = rep.out.flatMap((r) =>
    r.kind === "frontiers" && r.id === "u11" && r.frontiers.write !== undefined
      ? [r.frontiers.write]
      : [],
  );
  expect(
    writes.every(
      (f, i) => i === 0 || (f !== null && writes[i - 1]! !== null && f > writes[i - 1]!),
    ),
  ).toBe(true);
  expect(writes[0]! >= 1n).toBe(true);

  // Subscribe: contiguous consolidated batches whose updates are exactly the changes.
  await until(
    () =>
      rep.out.some(
        (r) =>
          r.kind === "subscribeResponse" &&
          r.id === "u30" &&
          r.response.kind === "batch" &&
          r.response.upper === FINAL_UPPER,
      ),
    "subscribe batch at the final upper",
  );
  const batches = rep.out.flatMap((r) =>
    r.kind === "subscribeResponse" && r.id === "u30" && r.response.kind === "batch"
      ? [r.response]
      : [],
  );
  expect(batches[0]!.lower).toBe(1n);
  const got: Update[] = [];
  for (let i = 0; i < batches.length; i++) {
    const b = batches[i]!;
    if (i > 0) expect(b.lower).toBe(batches[i - 1]!.upper);
    expect(b.upper === null || (b.lower !== null && b.upper > b.lower)).toBe(true);
    if (b.result.kind !== "updates") throw new Error("subscribe error");
    expect(show(consolidateUpdates(b.result.updates))).toBe(show(b.result.updates));
    for (const u of b.result.updates) {
      expect(u[1] >= b.lower! && (b.upper === null || u[1] < b.upper)).toBe(true);
      got.push(u);
    }
  }
  const expectedChanges: Update[] = [];
  for (let t = 1n; t < FINAL_UPPER; t++) {
    for (const [row, n] of reference(t)) expectedChanges.push([row, t, n]);
    if (t > 1n) for (const [row, n] of reference(t - 1n)) expectedChanges.push([row, t, -n]);
  }
  expect(show(consolidateUpdates(got))).toBe(show(consolidateUpdates(expectedChanges)));
  // Batch boundaries depend on timing (how much arrived before a frontier moved); the stream's
  // content — every update at its time — must not.
  const subscribe = show(consolidateUpdates(got));

  // Persist sink: nothing written before allowWrites, everything after.
  const mv = await persist.openShard("mv_u40", { create: true });
  await until(() => rep.frontier("u40", "output") === FINAL_UPPER, "u40 output frontier");
  expect(await mv.upper()).toBe(0n);
  rep.send({ kind: "allowWrites", id: "u40" });
  await until(() => rep.frontier("u40", "write") === FINAL_UPPER, "u40 write frontier");
  expect(await mv.upper()).toBe(FINAL_UPPER);
  for (const t of [1n, 4n, 6n]) {
    const snap = (await mv.snapshot(t)).map(([row, , n]) => [row, n] as [Row, number]);
    expect(sorted(snap), `mv @${t}`).toBe(sorted(reference(t)));
  }

  // Compaction: reads below the since are refused, naming it; at the since they work.
  rep.send({ kind: "allowCompaction", id: "u11", frontier: 3n });
  const below = await rep.peek(peekOf("u11", 3, 2n));
  expect(below.response).toEqual({
    kind: "error",
    message: "Arrangement compaction frontier [3] is beyond the time of the attempted read 2",
  });
  const at = await rep.peek(peekOf("u11", 3, 3n));
  expect(sorted(rowsOf(at))).toBe(sorted(reference(3n)));

  // Bad commands: in-band errors naming the object; everything else carries on.
  rep.send(
    { kind: "createDataflow", dataflow: D2 },
    { kind: "allowCompaction", id: "u11", frontier: 2n },
    {
      kind: "createDataflow",
      dataflow: dataflow({
        asOf: 3n,
        indexImports: [U11],
        objectsToBuild: [
          {
            id: "u50",
            plan: { kind: "project", input: { kind: "get", id: "u11", arity: 3 }, columns: [7] },
          },
        ],
        indexExports: [{ id: "u51", objectId: "u50", key: [0] }],
      }),
    },
    {
      kind: "createDataflow",
      dataflow: dataflow({
        asOf: 1n,
        indexImports: [{ id: "u99", key: [0], arity: 1 }],
        indexExports: [],
      }),
    },
    {
      kind: "createDataflow",
      dataflow: { ...D2, asOf: 1n, indexExports: [{ id: "u61", objectId: "u20", key: [0] }] },
    },
    { kind: "cancelPeek", uuid: "00000000-0000-4000-8000-ffffffffffff" },
  );
  const unknownPeek = await rep.peek(peekOf("u98", 1, 3n));
  expect(unknownPeek.response.kind).toBe("error");
  const errors = () =>
    rep.out.flatMap((r) =>
      r.kind === "commandError" ? [`${r.error.objectId}:${r.error.command}:${r.error.code}`] : [],
    );
  await until(() => errors().length >= 6, "command errors");
  expect(errors().sort()).toEqual(
    [
      "u21:createDataflow:duplicateId",
      "u11:allowCompaction:frontierRegression",
      "u50:createDataflow:malformedPlan",
      "u99:createDataflow:unknownId",
      "u98:peek:unknownId",
      "u11:createDataflow:sinceViolation",
    ].sort(),
  );
  const still = await rep.peek(peekOf("u21", 3, 6n));
  expect(sorted(rowsOf(still))).toBe(sorted(referenceBig(6n)));

  // Drops: empty frontiers once, droppedAt for the subscribe, freed state.
  rep.send({ kind: "allowCompaction", id: "u21", frontier: null });
  await until(() => rep.frontier("u21", "write") === null, "u21 empty frontiers");
  const empties = rep.out.filter(
    (r) => r.kind === "frontiers" && r.id === "u21" && r.frontiers.write === null,
  );
  expect(empties).toHaveLength(1);
  expect(empties[0]).toEqual({
    kind: "frontiers",
    id: "u21",
    frontiers: { write: null, input: null, output: null },
  });
  rep.send({ kind: "allowCompaction", id: "u21", frontier: null }); // benign: already dropped
  rep.send({ kind: "allowCompaction", id: "u30", frontier: null });
  await until(
    () =>
      rep.out.some(
        (r) => r.kind === "subscribeResponse" && r.id === "u30" && r.response.kind === "droppedAt",
      ),
    "subscribe droppedAt",
  );
  rep.send(
    { kind: "allowCompaction", id: "u40", frontier: null },
    { kind: "allowCompaction", id: "u11", frontier: null },
  );
  await until(
    () => rep.frontier("u11", "write") === null && rep.frontier("u40", "write") === null,
    "all empty",
  );
  await until(() => {
    const s = rep.metrics.totals();
    return (
      s.dataflows === 0 && s.arrangementRecords === 0 && rep.metrics.worker(W - 1).dataflows === 0
    );
  }, "freed state");
  const totals = rep.metrics.totals();
  expect(totals.benignRaces.cancelPeek).toBe(1);
  expect(totals.benignRaces.allowCompaction).toBe(1);
  expect(totals.commandErrors).toEqual({
    duplicateId: 1,
    frontierRegression: 1,
    malformedPlan: 1,
    sinceViolation: 1,
    unknownId: 2,
  });
  // Nothing reported after the empty frontiers.
  const n = rep.out.length;
  await new Promise((r) => setTimeout(r, 50));
  expect(rep.out.slice(n).filter((r) => r.kind === "frontiers")).toEqual([]);
  observed.set(`${path}/${W}`, { peeks, subscribe });
}

describe("compute scenario", () => {
  for (const path of ["unified", "legacy"] as const) {
    for (const W of [1, 3]) {
      it(`${path} path, W=${W}: peeks, imports, subscribe, persist sink, compaction, drops, bad commands`, async () => {
        await runScenario(path, W);
      }, 60_000);
    }
  }
});

afterAll(() => {
  // Unified and legacy give identical peek answers and subscribe streams, for every W.
  const keys = [...observed.keys()];
  if (keys.length === 4) {
    const base = observed.get("unified/1")!;
    for (const k of keys) {
      expect(observed.get(k)!.peeks, k).toEqual(base.peeks);
      expect(observed.get(k)!.subscribe, k).toBe(base.subscribe);
    }
  }
});

void rowKey;
