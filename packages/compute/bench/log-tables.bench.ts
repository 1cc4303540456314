/**
 * What the log tables hold and cost at N dataflows (issue 16), deterministic: one logging host
 * (compute's legacy `LegacyComputeLogging`, or mz-cluster's `UnifiedLoggingHost` with
 * `BENCH_UH=1`) on a fake clock, every compute relation at 1000 ms; N dataflows created, then
 * TICKS ticks in which each changes what the source-tick bench's dataflows change every second
 * (4 operators' elapsed time, its export and import frontier, its arrangement size). Prints the
 * heap the host retains after a full GC (a minute of history: `LOG_RETENTION_MS`) and the CPU
 * per tick over the last 20 ticks. No persist, no timers: the log tables alone.
 *
 * Usage: node --expose-gc --import tsx bench/log-tables.bench.ts [N] [TICKS] (default 1000 75).
 * Uses the built dist.
 */
import { UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import { LegacyComputeLogging } from "../dist/index.js";
import { conformanceConfig } from "../dist/logging/conformance.js";
import { createIdleDataflows } from "./idle-dataflows.js";

const N = Number(process.argv[2] ?? 1000);
const TICKS = Number(process.argv[3] ?? 75);
const unified = process.env.BENCH_UH === "1";
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

let now = 1_000_000;
const host = unified
  ? new UnifiedLoggingHost({ worker: 0, clock: () => now })
  : new LegacyComputeLogging({ worker: 0, now: () => now });
const config = conformanceConfig(1000);
host.configure(config);
gc();
const before = process.memoryUsage().heapUsed;
const log = host.logger;
const ids = createIdleDataflows(log, N);
host.step(now);
let cpuUs = 0;
for (let t = 1; t <= TICKS; t++) {
  now += 1000;
  const c0 = process.cpuUsage();
  for (let d = 0; d < N; d++) {
    const exportId = ids[d]!;
    // As compute's `sample` raises them: the logger's typed calls.
    for (let op = 0; op < 4; op++) log.operatorElapsed(d, op, t * 1000 + d);
    log.exportFrontier(exportId, BigInt(t));
    log.importFrontier(exportId, "u1", BigInt(t));
    log.arrangementSize(exportId, t, 3, 100 * t);
  }
  host.step(now);
  host.step(now + 1);
  const c = process.cpuUsage(c0);
  if (t > TICKS - 20) cpuUs += c.user + c.system;
}
gc();
gc();
const retained = process.memoryUsage().heapUsed - before;
let entries = 0;
for (const id of config.indexLogs.values()) entries += host.index(id)?.arrangement.size ?? 0;
console.log(
  `${unified ? "unified" : "legacy"} N=${N} ticks=${TICKS}: retained ${(retained / 2 ** 20).toFixed(1)} MB ` +
    `(${entries} arrangement entries, ${Math.round(retained / Math.max(1, entries))} B each), ` +
    `${(cpuUs / 20 / 1000).toFixed(2)} ms CPU per tick`,
);
