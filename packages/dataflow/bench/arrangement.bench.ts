/**
 * Arrangement hot paths at idle (issue 16), A/B against a baseline build of this package, as CPU
 * time ratios interleaved in one run.
 *
 * Two shapes, the two an idle replica's worker keeps busy with:
 * - `index`: `ARR` arrangements keyed by column 0 on a growing source (the scale bench's 1,000
 *   indexes on one counter): every tick each gets one new row `[t + 1]` at `t`, its upper moves to
 *   `t + 1` and its since to `t - 2` (environmentd's one `allowCompaction` per index per tick).
 * - `log`: 7 log-table arrangements (key: three int64 columns, one int64 value) of `KEYS` keys
 *   each: every tick every key's row is replaced (`updateEntry` retracts the old row through its
 *   entry, `insertEntry` adds the new one, as compute's legacy `LogTable.flush` does), the upper
 *   moves to `t + 1` and the since to `t - 10` (10 ticks of history held).
 *
 * Each pair is a child process (`--child <base dist> <candidate dist> <shape> <first>`) that
 * loads both builds and builds the shape once with each, runs `WARM` ticks of each, then
 * alternates blocks of `BLOCK` ticks between them (`first` starts; the parent flips it every
 * pair) for `TICKS` ticks each, summing each build's process CPU time (user + system,
 * `process.cpuUsage`) over its blocks: on a loaded shared machine both builds see the same
 * minutes. It reports both sums and a checksum of each build's reads (they must agree). The
 * parent runs `--pairs` pairs and prints each pair's candidate ÷ baseline ratio and their
 * median, with the load average.
 *
 *   tsx bench/arrangement.bench.ts --base <dir of a baseline dist> [--pairs 5] [index|log ...]
 *
 * The baseline dist must sit inside this package (so `@mzts/repr` resolves), e.g.
 * `cp -r /work/main/packages/dataflow/dist bench-compare/dist` (bench-compare is git-ignored).
 * Profile one build on one shape: `node --cpu-prof --import tsx bench/arrangement.bench.ts
 * --profile dist index`.
 */
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Arrangement as ArrangementT, EntryRef } from "../src/index.js";

type ArrangementCtor = typeof ArrangementT;
type Row = bigint[];

const ARR = Number(process.env.BENCH_ARR ?? 1000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const WARM = Number(process.env.BENCH_WARM ?? 100);
const TICKS = Number(process.env.BENCH_TICKS ?? 400);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 10);

interface Shape {
  tick(t: bigint): void;
  checksum(t: bigint): number;
}

function indexShape(Arrangement: ArrangementCtor): Shape {
  const arrs = Array.from({ length: ARR }, (_, i) => new Arrangement(`i${i}`, [0]));
  return {
    tick(t) {
      for (const a of arrs) {
        a.insert([t + 1n], t, 1);
        a.advanceUpper(t + 1n);
        if (t >= 2n) a.allowCompaction(t - 2n);
      }
    },
    checksum(t) {
      let s = 0;
      for (const a of arrs) s += a.asOf(t).length + a.lookup([t], t).length + a.timeCount;
      return s;
    },
  };
}

/** The non-key columns' key, as the legacy log tables build it (`datumKey` per column). */
function valueKey(row: Row): string {
  return `i${row[3]};`;
}

/**
 * `BENCH_LOG_RK=arrangement`: the log shape's row keys are the arrangement's own `rowKeyOf` (a
 * number for the one int64 value column) where the build has it, instead of the log tables'
 * string — what a log table would gain by passing it.
 */
const ARRANGEMENT_RK = process.env.BENCH_LOG_RK === "arrangement";

function rowKeyOf(a: ArrangementT, row: Row): string | number {
  const own = (a as { rowKeyOf?: (row: Row) => string | number }).rowKeyOf;
  return ARRANGEMENT_RK && own !== undefined ? own.call(a, row) : valueKey(row);
}

function logShape(Arrangement: ArrangementCtor): Shape {
  const tables = Array.from({ length: 7 }, (_, r) => {
    const arrangement = new Arrangement(`log${r}`, [0, 1, 2]);
    const rows: Row[] = [];
    const refs: Array<EntryRef | undefined> = [];
    const keys: Array<string | number> = [];
    for (let k = 0; k < KEYS; k++) {
      rows.push([BigInt(k >> 3), BigInt(k & 7), 0n, 0n]);
      refs.push(undefined);
      keys.push(arrangement.keyOf(rows[k]!));
    }
    return { arrangement, rows, refs, keys };
  });
  return {
    tick(t) {
      for (const tb of tables) {
        const a = tb.arrangement;
        for (let k = 0; k < KEYS; k++) {
          const old = tb.rows[k]!;
          const ref = tb.refs[k];
          if (ref !== undefined) a.updateEntry(ref, t, -1);
          // The value cycles with period 16: now and then a row comes back while still held.
          const row: Row = [old[0]!, old[1]!, old[2]!, (t * 7n + BigInt(k)) % 16n];
          tb.rows[k] = row;
          tb.refs[k] = a.insertEntry(row, t, 1, tb.keys[k]!, rowKeyOf(a, row));
        }
        a.advanceUpper(t + 1n);
        if (t >= 10n) a.allowCompaction(t - 10n);
      }
    },
    checksum(t) {
      let s = 0;
      for (const tb of tables) {
        const a = tb.arrangement;
        for (const [row, n] of a.asOf(t - 3n)) s += Number(row[3]) * n;
        s += a.current().length + a.timeCount + a.updateCount + a.size;
      }
      return s;
    },
  };
}

async function load(dist: string): Promise<ArrangementCtor> {
  const mod = (await import(pathToFileURL(resolve(dist, "index.js")).href)) as {
    Arrangement: ArrangementCtor;
  };
  return mod.Arrangement;
}

function build(Arrangement: ArrangementCtor, shape: string): Shape {
  return shape === "index" ? indexShape(Arrangement) : logShape(Arrangement);
}

function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

interface PairResult {
  baseMs: number;
  candMs: number;
  baseSum: number;
  candSum: number;
}

async function child(baseDist: string, candDist: string, shape: string, first: string) {
  const base = build(await load(baseDist), shape);
  const cand = build(await load(candDist), shape);
  const order = first === "base" ? [base, cand] : [cand, base];
  const ms = new Map<Shape, number>([
    [base, 0],
    [cand, 0],
  ]);
  let t = 0n;
  for (let i = 0; i < WARM; i++, t++) for (const s of order) s.tick(t);
  for (let done = 0; done < TICKS; done += BLOCK) {
    for (const s of order) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < BLOCK; i++) s.tick(t + BigInt(i));
      ms.set(s, ms.get(s)! + cpuMsSince(c0));
    }
    t += BigInt(BLOCK);
  }
  const r: PairResult = {
    baseMs: ms.get(base)!,
    candMs: ms.get(cand)!,
    baseSum: base.checksum(t - 1n),
    candSum: cand.checksum(t - 1n),
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** One build alone (for `--cpu-prof`). */
async function profile(dist: string, shape: string): Promise<void> {
  const s = build(await load(dist), shape);
  let t = 0n;
  for (let i = 0; i < WARM; i++) s.tick(t++);
  const c0 = process.cpuUsage();
  for (let i = 0; i < TICKS; i++) s.tick(t++);
  console.log(`${shape}: ${cpuMsSince(c0).toFixed(0)} ms CPU, checksum ${s.checksum(t - 1n)}`);
}

function pair(base: string, cand: string, shape: string, first: string): PairResult {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", import.meta.filename, "--child", base, cand, shape, first],
    { encoding: "utf8", env: process.env },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as PairResult;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") return child(args[1]!, args[2]!, args[3]!, args[4]!);
  if (args[0] === "--profile") return profile(args[1]!, args[2]!);
  const baseIdx = args.indexOf("--base");
  if (baseIdx < 0) throw new Error("usage: arrangement.bench.ts --base <baseline dist dir>");
  const base = args[baseIdx + 1]!;
  const pairsIdx = args.indexOf("--pairs");
  const pairs = pairsIdx < 0 ? 5 : Number(args[pairsIdx + 1]);
  const shapes = args.filter(
    (a, i) => !a.startsWith("--") && i !== baseIdx + 1 && (pairsIdx < 0 || i !== pairsIdx + 1),
  );
  const cand = resolve(import.meta.dirname, "../dist");
  console.log(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const shape of shapes.length ? shapes : ["index", "log"]) {
    const ratios: number[] = [];
    for (let p = 0; p < pairs; p++) {
      const r = pair(base, cand, shape, p % 2 === 0 ? "base" : "cand");
      if (r.baseSum !== r.candSum) {
        throw new Error(`${shape}: reads differ (baseline ${r.baseSum}, candidate ${r.candSum})`);
      }
      ratios.push(r.candMs / r.baseMs);
      console.log(
        `${shape} pair ${p + 1}: baseline ${r.baseMs.toFixed(0)} ms, candidate ${r.candMs.toFixed(0)} ms, ratio ${(r.candMs / r.baseMs).toFixed(3)}`,
      );
    }
    console.log(`${shape}: median ratio ${median(ratios).toFixed(3)} (candidate ÷ baseline CPU)`);
  }
  console.log(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

await main();
