/**
 * The logging round A/B in one process (issue 16): a baseline tree's built dists and this tree's,
 * each with its own logging host (compute's legacy `LegacyComputeLogging`, or with `BENCH_UH=1`
 * mz-cluster's `UnifiedLoggingHost`) on its own fake clock, every compute relation at 1000 ms,
 * N dataflows created; then TICKS ticks in which every dataflow changes what the source-tick
 * bench's change every second (4 operators' elapsed time, its export and import frontier, its
 * arrangement size), raised as each tree's `sample()` raises them (typed logger calls when the
 * logger has them, else event objects), then the host steps. The two sides alternate tick by
 * tick (which goes first alternates too), each tick's CPU (`process.cpuUsage`) measured alone:
 * both sides see the same load, so the per-tick ratio is meaningful on a shared machine.
 * Prints the mean ms per tick of each side after WARMUP ticks, the ratio of the totals and the
 * median per-tick ratio (candidate / baseline).
 *
 * Usage: `node --expose-gc --import tsx bench/logging-ab.bench.ts <baseline-root> [N] [TICKS]`
 * (default 1000 45), e.g. `/work/main`; both trees must be built (`dist`).
 */
import { resolve } from "node:path";
import { createIdleDataflows } from "./idle-dataflows.js";

const [baseArg, nArg = "1000", ticksArg = "45"] = process.argv.slice(2);
if (baseArg === undefined) {
  console.error("usage: logging-ab.bench.ts <baseline-root> [N] [TICKS]");
  process.exit(2);
}
const N = Number(nArg);
const TICKS = Number(ticksArg);
const WARMUP = 15;
const UNIFIED = process.env.BENCH_UH === "1";

/** What the bench uses of a logger (either tree's). */
interface AnyLogger {
  log(e: unknown): void;
  operatorElapsed?(dataflowId: number, operatorId: number, elapsedNs: number): void;
  exportFrontier?(exportId: string, time: bigint | null): void;
  importFrontier?(exportId: string, importId: string, time: bigint | null): void;
  arrangementSize?(exportId: string, records: number, batches: number, sizeBytes: number): void;
}
interface AnyHost {
  readonly logger: AnyLogger;
  configure(config: unknown): void;
  step(nowMs: number): boolean;
}

/** One tree's host, created and filled; returns its tick. */
async function side(root: string): Promise<() => void> {
  const compute = await import(resolve(root, "packages/compute/dist/index.js"));
  const conformance = await import(resolve(root, "packages/compute/dist/logging/conformance.js"));
  const logging = await import(resolve(root, "packages/mz-cluster/dist/logging/index.js"));
  let now = 1_000_000;
  const host: AnyHost = UNIFIED
    ? new logging.UnifiedLoggingHost({ worker: 0, clock: () => now })
    : new compute.LegacyComputeLogging({ worker: 0, now: () => now });
  host.configure(conformance.conformanceConfig(1000));
  const log = host.logger;
  const typed = typeof log.operatorElapsed === "function";
  const ids = createIdleDataflows(log, N);
  host.step(now);
  let t = 0;
  return () => {
    t++;
    now += 1000;
    for (let d = 0; d < N; d++) {
      const exportId = ids[d]!;
      if (typed) {
        for (let op = 0; op < 4; op++) log.operatorElapsed!(d, op, t * 1000 + d);
        log.exportFrontier!(exportId, BigInt(t));
        log.importFrontier!(exportId, "u1", BigInt(t));
        log.arrangementSize!(exportId, t, 3, 100 * t);
      } else {
        for (let op = 0; op < 4; op++) {
          log.log({
            kind: "operatorElapsed",
            dataflowId: d,
            operatorId: op,
            elapsedNs: t * 1000 + d,
          });
        }
        log.log({ kind: "exportFrontier", exportId, time: BigInt(t) });
        log.log({ kind: "importFrontier", exportId, importId: "u1", time: BigInt(t) });
        log.log({ kind: "arrangementSize", exportId, records: t, batches: 3, sizeBytes: 100 * t });
      }
    }
    host.step(now);
    host.step(now + 1);
  };
}

const base = await side(resolve(baseArg));
const cand = await side(resolve(import.meta.dirname, "../../.."));
let baseUs = 0;
let candUs = 0;
const ratios: number[] = [];
const timed = (f: () => void): number => {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};
for (let i = 1; i <= TICKS; i++) {
  let b: number;
  let c: number;
  if (i % 2 === 1) {
    b = timed(base);
    c = timed(cand);
  } else {
    c = timed(cand);
    b = timed(base);
  }
  if (i <= WARMUP) continue;
  baseUs += b;
  candUs += c;
  ratios.push(c / b);
}
ratios.sort((x, y) => x - y);
const n = TICKS - WARMUP;
console.log(
  `${UNIFIED ? "unified" : "legacy"} N=${N}: baseline ${(baseUs / n / 1000).toFixed(2)} ms/tick, ` +
    `candidate ${(candUs / n / 1000).toFixed(2)} ms/tick; candidate / baseline: total ` +
    `${(candUs / baseUs).toFixed(2)}, median per tick ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)} (${n} ticks)`,
);
