/**
 * Engine benchmarks: @mzts/dataflow beside @tanstack/db-ivm on the same workloads, in the same
 * process, interleaved, with results checked against ground truth.
 *
 *   pnpm bench                      # all rows (package script: tsx --expose-gc)
 *   pnpm bench 'A/const'            # rows whose name matches a regex
 *   pnpm bench --runs 5 --help
 *
 * Workload A: 1M updates `[k = i % 1000, v = i]` in 10k-update batches through
 *   map (append v*2) → filter (v % 3 != 0) → count by k, in two variants:
 *   - `A/values`: the counted collection keeps the distinct values (db-ivm's reduce rescans them),
 *   - `A/const`: values mapped to a constant before the count (db-ivm's index consolidates).
 *   Then 1,000 incremental batches of 100 updates (50 × retract a live row + insert a new row
 *   under a random key), latency per batch (send → frontier → run until idle).
 * Workload B: inner join of two 200k-row collections on a unique key (10k-row batches on both
 *   inputs), then 1,000 incremental batches of 100 updates on one side (50 × retract + insert
 *   with a new payload).
 * Each row runs `--runs` times (default 3), engines interleaved; the table shows the median.
 * Heap after load: `heapUsed` after `global.gc()`, minus the same measure before the graph was
 * built (fixture rows are alive in both, so this is the engine's own state).
 */

import type { Plan } from "@mzts/expr";
import type { Row } from "@mzts/repr";
import {
  D2,
  filter as ivmFilter,
  join as ivmJoin,
  map as ivmMap,
  output as ivmOutput,
  reduce as ivmReduce,
  MultiSet,
} from "@tanstack/db-ivm";
import {
  createGraph,
  createInMemoryExchange,
  createInput,
  type Graph,
  type InMemoryExchange,
  type InputHandle,
  type InputPort,
  Operator,
  render,
  runWorkers,
  type Stream,
} from "../src/index.js";

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------
const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`usage: tsx --expose-gc bench/engine.bench.ts [regex] [--runs N]

rows: A/values, A/const, A/values W=2, B/join, B/join W=2
  regex   run only rows whose name matches (e.g. 'A/' or 'join')
  --runs  repetitions per row, engines interleaved; medians reported (default 3)`);
  process.exit(0);
}
const runsIdx = args.indexOf("--runs");
const RUNS = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 3;
const pattern = args.find((a, i) => !a.startsWith("--") && (runsIdx < 0 || i !== runsIdx + 1));
const selected = (name: string) => (pattern ? new RegExp(pattern).test(name) : true);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn("(no global.gc: run with `tsx --expose-gc` to report heap after load)");

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function heapNow(): number {
  if (!gc) return Number.NaN;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`ground truth mismatch: ${what}`);
}

interface Measure {
  loadRowsPerSec: number;
  heapMB: number;
  p50: number;
  p99: number;
}

/** A sink counting what it sees: `onUpdate(row, diff)` per update. */
class Sink extends Operator {
  readonly #ports: InputPort[];
  readonly #onUpdate: (row: Row, diff: number) => void;
  constructor(graph: Graph, inputs: Stream[], onUpdate: (row: Row, diff: number) => void) {
    super(graph, "sink");
    this.#ports = inputs.map((s) => s.connect());
    this.#onUpdate = onUpdate;
  }
  run(): boolean {
    let worked = false;
    for (const p of this.#ports) {
      if (!p.pending) continue;
      worked = true;
      for (const b of p.takeBatches())
        for (let i = 0; i < b.rows.length; i++) this.#onUpdate(b.rows[i]!, b.diffs[i]!);
      p.takeFrontier();
    }
    return worked;
  }
}

/** W workers of one plan; `send(importIndex, rows, diffs)` spreads rows round-robin. */
class Ours {
  readonly graphs: Graph[] = [];
  readonly inputs: InputHandle[][] = [];
  readonly exchange: InMemoryExchange | undefined;
  time = 1n;
  constructor(
    plan: Plan,
    importIds: string[],
    workers: number,
    onUpdate: (row: Row, diff: number) => void,
  ) {
    this.exchange = workers > 1 ? createInMemoryExchange(workers) : undefined;
    for (let w = 0; w < workers; w++) {
      const g = createGraph(this.exchange ? { allocator: this.exchange.allocator(w) } : {});
      const ins = importIds.map((id) => createInput(g, id));
      const r = render(g, plan, {
        imports: Object.fromEntries(importIds.map((id, i) => [id, ins[i]!.output])),
      });
      new Sink(g, [r.oks], onUpdate);
      new Sink(g, [r.errs], () => {
        throw new Error("unexpected error row");
      });
      this.graphs.push(g);
      this.inputs.push(ins);
    }
  }
  /** Sends rows to import `i` (spread over workers), then advances every input and runs. */
  step(parts: Array<[number, Row[], number[]]>): void {
    const t = this.time;
    const w = this.graphs.length;
    for (const [i, rows, diffs] of parts) {
      if (w === 1) this.inputs[0]![i]!.sendRows(rows, t, diffs);
      else {
        for (let k = 0; k < w; k++) {
          const rs: Row[] = [];
          const ds: number[] = [];
          for (let j = k; j < rows.length; j += w) {
            rs.push(rows[j]!);
            ds.push(diffs[j]!);
          }
          this.inputs[k]![i]!.sendRows(rs, t, ds);
        }
      }
    }
    this.time = t + 1n;
    for (const ins of this.inputs) for (const inp of ins) inp.advanceTo(this.time);
    if (this.exchange) runWorkers(this.graphs, this.exchange);
    else this.graphs[0]!.run();
  }
}

const col = (index: number) => ({ kind: "column", index }) as const;
const lit = (value: bigint) => ({ kind: "literal", value }) as const;

// ---------------------------------------------------------------------------------------------
// Workload A
// ---------------------------------------------------------------------------------------------
const A_N = 1_000_000;
const A_BATCH = 10_000;
const A_KEYS = 1000;
const INCR_BATCHES = 1000;
const INCR_PAIRS = 50;

function planA(variant: "values" | "const"): Plan {
  const base: Plan = {
    kind: "filter",
    predicates: [
      {
        kind: "binary",
        op: "neq",
        left: { kind: "binary", op: "mod", left: col(1), right: lit(3n) },
        right: lit(0n),
      },
    ],
    input: {
      kind: "map",
      exprs: [{ kind: "binary", op: "mul", left: col(1), right: lit(2n) }],
      input: { kind: "get", id: "a", arity: 2 },
    },
  };
  const counted: Plan =
    variant === "values"
      ? base
      : { kind: "project", columns: [0, 3], input: { kind: "map", exprs: [lit(1n)], input: base } };
  return { kind: "reduce", groupKey: [0], aggregates: [{ func: "count" }], input: counted };
}

/** Incremental script for A: per batch, 50 × (retract a live row, insert a new one). */
function scriptA(seed: number): { retract: number[][]; insert: Array<Array<[number, number]>> } {
  const r = rng(seed);
  const live: number[] = []; // v of live rows that pass the filter or not — all rows are live
  for (let i = 0; i < A_N; i++) live.push(i);
  const keyOf = new Map<number, number>();
  const retract: number[][] = [];
  const insert: Array<Array<[number, number]>> = [];
  let next = A_N;
  for (let b = 0; b < INCR_BATCHES; b++) {
    const rs: number[] = [];
    const is: Array<[number, number]> = [];
    for (let p = 0; p < INCR_PAIRS; p++) {
      const j = Math.floor(r() * live.length);
      rs.push(live[j]!);
      live[j] = live[live.length - 1]!;
      live.pop();
      const k = Math.floor(r() * A_KEYS);
      const v = next++;
      keyOf.set(v, k);
      is.push([k, v]);
      live.push(v);
    }
    retract.push(rs);
    insert.push(is);
  }
  void keyOf;
  return { retract, insert };
}

/** Ground truth after load + script: count per key of live rows with v % 3 != 0. */
function truthA(script: ReturnType<typeof scriptA>): Map<number, number> {
  const key = (v: number) => (v < A_N ? v % A_KEYS : -1);
  const extra = new Map<number, number>();
  for (const b of script.insert) for (const [k, v] of b) extra.set(v, k);
  const counts = new Map<number, number>();
  const add = (v: number, d: number) => {
    if (v % 3 === 0) return;
    const k = v < A_N ? key(v) : extra.get(v)!;
    counts.set(k, (counts.get(k) ?? 0) + d);
  };
  for (let i = 0; i < A_N; i++) add(i, 1);
  for (let b = 0; b < INCR_BATCHES; b++) {
    for (const v of script.retract[b]!) add(v, -1);
    for (const [, v] of script.insert[b]!) add(v, 1);
  }
  for (const [k, n] of counts) if (n === 0) counts.delete(k);
  return counts;
}

function keyOfV(v: number, script: ReturnType<typeof scriptA>, extra: Map<number, number>): number {
  void script;
  return v < A_N ? v % A_KEYS : extra.get(v)!;
}

function runOursA(
  variant: "values" | "const",
  workers: number,
  script: ReturnType<typeof scriptA>,
  truth: Map<number, number>,
  rows: Row[][],
): Measure {
  const h0 = heapNow();
  const counts = new Map<bigint, bigint>();
  const eng = new Ours(planA(variant), ["a"], workers, (row, diff) => {
    if (diff > 0) counts.set(row[0] as bigint, row[row.length - 1] as bigint);
    else if (counts.get(row[0] as bigint) === row[row.length - 1]) counts.delete(row[0] as bigint);
  });
  const ones = new Array<number>(A_BATCH).fill(1);
  const t0 = performance.now();
  for (const batch of rows) eng.step([[0, batch, ones]]);
  const loadMs = performance.now() - t0;
  const heap = heapNow() - h0;
  const extra = new Map<number, number>();
  const lat: number[] = [];
  const diffs = [
    ...new Array<number>(INCR_PAIRS).fill(-1),
    ...new Array<number>(INCR_PAIRS).fill(1),
  ];
  for (let b = 0; b < INCR_BATCHES; b++) {
    for (const [k, v] of script.insert[b]!) extra.set(v, k);
    const batch: Row[] = [];
    for (const v of script.retract[b]!) batch.push([BigInt(keyOfV(v, script, extra)), BigInt(v)]);
    for (const [k, v] of script.insert[b]!) batch.push([BigInt(k), BigInt(v)]);
    const s = performance.now();
    eng.step([[0, batch, diffs]]);
    lat.push(performance.now() - s);
  }
  check(counts.size === truth.size, `A ${variant}: ${counts.size} keys, want ${truth.size}`);
  for (const [k, n] of truth)
    check(counts.get(BigInt(k)) === BigInt(n), `A ${variant}: count of ${k}`);
  return {
    loadRowsPerSec: A_N / (loadMs / 1000),
    heapMB: heap / 2 ** 20,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

function runIvmA(
  variant: "values" | "const",
  script: ReturnType<typeof scriptA>,
  truth: Map<number, number>,
  rows: Array<[number, number]>[],
): Measure {
  const h0 = heapNow();
  const counts = new Map<number, number>();
  const graph = new D2();
  const input = graph.newInput<[number, number]>();
  const mapped = input.pipe(
    ivmMap(([k, v]: [number, number]) => [k, v, v * 2] as [number, number, number]),
    ivmFilter((r: [number, number, number]) => r[1] % 3 !== 0),
  );
  const keyed =
    variant === "values"
      ? mapped.pipe(ivmMap((r: [number, number, number]) => [r[0], r[1]] as [number, number]))
      : mapped.pipe(ivmMap((r: [number, number, number]) => [r[0], 1] as [number, number]));
  keyed.pipe(
    ivmReduce((vals: Array<[number, number]>) => {
      let c = 0;
      for (const [, m] of vals) c += m;
      return [[c, 1]];
    }),
    ivmOutput((ms: MultiSet<[number, number]>) => {
      for (const [[k, c], d] of ms.getInner()) {
        if (d > 0) counts.set(k, c);
        else if (counts.get(k) === c) counts.delete(k);
      }
    }),
  );
  graph.finalize();
  const t0 = performance.now();
  for (const batch of rows) {
    input.sendData(new MultiSet(batch.map((r) => [r, 1] as [[number, number], number])));
    graph.run();
  }
  const loadMs = performance.now() - t0;
  const heap = heapNow() - h0;
  const extra = new Map<number, number>();
  const lat: number[] = [];
  for (let b = 0; b < INCR_BATCHES; b++) {
    for (const [k, v] of script.insert[b]!) extra.set(v, k);
    const data: Array<[[number, number], number]> = [];
    for (const v of script.retract[b]!) data.push([[keyOfV(v, script, extra), v], -1]);
    for (const [k, v] of script.insert[b]!) data.push([[k, v], 1]);
    const s = performance.now();
    input.sendData(new MultiSet(data));
    graph.run();
    lat.push(performance.now() - s);
  }
  for (const [k, c] of [...counts]) if (c === 0) counts.delete(k);
  check(counts.size === truth.size, `ivm A ${variant}: ${counts.size} keys, want ${truth.size}`);
  for (const [k, n] of truth) check(counts.get(k) === n, `ivm A ${variant}: count of ${k}`);
  return {
    loadRowsPerSec: A_N / (loadMs / 1000),
    heapMB: heap / 2 ** 20,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

// ---------------------------------------------------------------------------------------------
// Workload B
// ---------------------------------------------------------------------------------------------
const B_N = 200_000;
const B_BATCH = 10_000;

const planB: Plan = {
  kind: "join",
  inputs: [
    { kind: "get", id: "l", arity: 2 },
    { kind: "get", id: "r", arity: 2 },
  ],
  equivalences: [
    [
      [0, 0],
      [1, 0],
    ],
  ],
};

/** Per incremental batch: 50 keys whose left payload changes (old payload → new). */
function scriptB(seed: number): Array<Array<[number, number, number]>> {
  const r = rng(seed);
  const payload = new Array<number>(B_N);
  for (let i = 0; i < B_N; i++) payload[i] = i * 7;
  const out: Array<Array<[number, number, number]>> = [];
  let next = B_N * 7;
  for (let b = 0; b < INCR_BATCHES; b++) {
    const batch: Array<[number, number, number]> = [];
    const used = new Set<number>();
    while (batch.length < INCR_PAIRS) {
      const k = Math.floor(r() * B_N);
      if (used.has(k)) continue;
      used.add(k);
      batch.push([k, payload[k]!, next]);
      payload[k] = next++;
    }
    out.push(batch);
  }
  return out;
}

function runOursB(
  workers: number,
  script: ReturnType<typeof scriptB>,
  left: Row[][],
  right: Row[][],
): Measure {
  const h0 = heapNow();
  let card = 0;
  let checksum = 0;
  const eng = new Ours(planB, ["l", "r"], workers, (row, diff) => {
    card += diff;
    checksum += diff * Number(row[1] as bigint);
  });
  const ones = new Array<number>(B_BATCH).fill(1);
  const t0 = performance.now();
  for (let b = 0; b < left.length; b++)
    eng.step([
      [0, left[b]!, ones],
      [1, right[b]!, ones],
    ]);
  const loadMs = performance.now() - t0;
  const heap = heapNow() - h0;
  check(card === B_N, `B: ${card} rows after load, want ${B_N}`);
  const lat: number[] = [];
  const diffs = [
    ...new Array<number>(INCR_PAIRS).fill(-1),
    ...new Array<number>(INCR_PAIRS).fill(1),
  ];
  let want = (7 * ((B_N - 1) * B_N)) / 2;
  for (const batch of script) {
    const rows: Row[] = [];
    for (const [k, old] of batch) rows.push([BigInt(k), BigInt(old)]);
    for (const [k, , nu] of batch) rows.push([BigInt(k), BigInt(nu)]);
    for (const [, old, nu] of batch) want += nu - old;
    const s = performance.now();
    eng.step([[0, rows, diffs]]);
    lat.push(performance.now() - s);
  }
  if (process.env.BENCH_DEBUG)
    console.error(
      "ours B top latencies",
      [...lat]
        .sort((a, b) => b - a)
        .slice(0, 15)
        .map((x) => x.toFixed(2))
        .join(" "),
    );
  check(card === B_N, `B: ${card} rows after updates, want ${B_N}`);
  check(checksum === want, `B: payload checksum ${checksum}, want ${want}`);
  return {
    loadRowsPerSec: (2 * B_N) / (loadMs / 1000),
    heapMB: heap / 2 ** 20,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

function runIvmB(
  script: ReturnType<typeof scriptB>,
  left: Array<[number, number]>[],
  right: Array<[number, number]>[],
): Measure {
  const h0 = heapNow();
  let card = 0;
  let checksum = 0;
  const graph = new D2();
  const l = graph.newInput<[number, number]>();
  const r = graph.newInput<[number, number]>();
  l.pipe(
    ivmJoin(r),
    ivmOutput((ms: MultiSet<[number, [number | null, number | null]]>) => {
      for (const [[, [a]], d] of ms.getInner()) {
        card += d;
        checksum += d * (a as number);
      }
    }),
  );
  graph.finalize();
  const t0 = performance.now();
  for (let b = 0; b < left.length; b++) {
    l.sendData(new MultiSet(left[b]!.map((x) => [x, 1] as [[number, number], number])));
    r.sendData(new MultiSet(right[b]!.map((x) => [x, 1] as [[number, number], number])));
    graph.run();
  }
  const loadMs = performance.now() - t0;
  const heap = heapNow() - h0;
  check(card === B_N, `ivm B: ${card} rows after load, want ${B_N}`);
  const lat: number[] = [];
  let want = (7 * ((B_N - 1) * B_N)) / 2;
  for (const batch of script) {
    const data: Array<[[number, number], number]> = [];
    for (const [k, old] of batch) data.push([[k, old], -1]);
    for (const [k, , nu] of batch) data.push([[k, nu], 1]);
    for (const [, old, nu] of batch) want += nu - old;
    const s = performance.now();
    l.sendData(new MultiSet(data));
    graph.run();
    lat.push(performance.now() - s);
  }
  if (process.env.BENCH_DEBUG)
    console.error(
      "ivm B top latencies",
      [...lat]
        .sort((a, b) => b - a)
        .slice(0, 15)
        .map((x) => x.toFixed(2))
        .join(" "),
    );
  check(card === B_N, `ivm B: ${card} rows after updates, want ${B_N}`);
  check(checksum === want, `ivm B: payload checksum ${checksum}, want ${want}`);
  return {
    loadRowsPerSec: (2 * B_N) / (loadMs / 1000),
    heapMB: heap / 2 ** 20,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------
interface RowSpec {
  readonly name: string;
  readonly ours: () => Measure;
  readonly baseline: () => Measure;
}

function fixturesA() {
  const ours: Row[][] = [];
  const ivm: Array<[number, number]>[] = [];
  for (let s = 0; s < A_N; s += A_BATCH) {
    const o: Row[] = [];
    const v: Array<[number, number]> = [];
    for (let i = s; i < s + A_BATCH; i++) {
      o.push([BigInt(i % A_KEYS), BigInt(i)]);
      v.push([i % A_KEYS, i]);
    }
    ours.push(o);
    ivm.push(v);
  }
  const script = scriptA(42);
  return { ours, ivm, script, truth: truthA(script) };
}

function fixturesB() {
  const mk = (payload: (i: number) => number) => {
    const ours: Row[][] = [];
    const ivm: Array<[number, number]>[] = [];
    for (let s = 0; s < B_N; s += B_BATCH) {
      const o: Row[] = [];
      const v: Array<[number, number]> = [];
      for (let i = s; i < s + B_BATCH; i++) {
        o.push([BigInt(i), BigInt(payload(i))]);
        v.push([i, payload(i)]);
      }
      ours.push(o);
      ivm.push(v);
    }
    return { ours, ivm };
  };
  return { left: mk((i) => i * 7), right: mk((i) => i * 3), script: scriptB(7) };
}

let fa: ReturnType<typeof fixturesA> | undefined;
let fb: ReturnType<typeof fixturesB> | undefined;
const A = () => (fa ??= fixturesA());
const B = () => (fb ??= fixturesB());

const rows: RowSpec[] = [
  {
    name: "A/values",
    ours: () => runOursA("values", 1, A().script, A().truth, A().ours),
    baseline: () => runIvmA("values", A().script, A().truth, A().ivm),
  },
  {
    name: "A/const",
    ours: () => runOursA("const", 1, A().script, A().truth, A().ours),
    baseline: () => runIvmA("const", A().script, A().truth, A().ivm),
  },
  {
    name: "A/values W=2",
    ours: () => runOursA("values", 2, A().script, A().truth, A().ours),
    baseline: () => runIvmA("values", A().script, A().truth, A().ivm),
  },
  {
    name: "B/join",
    ours: () => runOursB(1, B().script, B().left.ours, B().right.ours),
    baseline: () => runIvmB(B().script, B().left.ivm, B().right.ivm),
  },
  {
    name: "B/join W=2",
    ours: () => runOursB(2, B().script, B().left.ours, B().right.ours),
    baseline: () => runIvmB(B().script, B().left.ivm, B().right.ivm),
  },
];

const fmtRate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`);
const fmtMs = (x: number) => x.toFixed(3);

console.log(
  `node ${process.version}, ${RUNS} run(s) per row, medians; load = input updates/s; incr = ms per 100-update batch\n`,
);
console.log(
  "| row | engine | load upd/s | heap after load MB | incr p50 ms | incr p99 ms | load ratio | p99 ratio |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const spec of rows) {
  if (!selected(spec.name)) continue;
  const ours: Measure[] = [];
  const base: Measure[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleave, alternating which engine goes first.
    if (i % 2 === 0) {
      ours.push(spec.ours());
      base.push(spec.baseline());
    } else {
      base.push(spec.baseline());
      ours.push(spec.ours());
    }
  }
  const m = (xs: Measure[], f: (x: Measure) => number) => median(xs.map(f));
  const o = {
    load: m(ours, (x) => x.loadRowsPerSec),
    heap: m(ours, (x) => x.heapMB),
    p50: m(ours, (x) => x.p50),
    p99: m(ours, (x) => x.p99),
  };
  const b = {
    load: m(base, (x) => x.loadRowsPerSec),
    heap: m(base, (x) => x.heapMB),
    p50: m(base, (x) => x.p50),
    p99: m(base, (x) => x.p99),
  };
  console.log(
    `| ${spec.name} | @mzts/dataflow | ${fmtRate(o.load)} | ${o.heap.toFixed(1)} | ${fmtMs(o.p50)} | ${fmtMs(o.p99)} | ${(o.load / b.load).toFixed(2)}× | ${(o.p99 / b.p99).toFixed(2)}× |`,
  );
  console.log(
    `| ${spec.name} | @tanstack/db-ivm | ${fmtRate(b.load)} | ${b.heap.toFixed(1)} | ${fmtMs(b.p50)} | ${fmtMs(b.p99)} | 1.00× | 1.00× |`,
  );
}
