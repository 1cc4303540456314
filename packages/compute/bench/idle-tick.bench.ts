/**
 * What idle dataflows cost one worker's maintenance tick (issue 16): one `ComputeState` in
 * process (W=1, no threads, no persist), introspection on (compute's legacy host, every compute
 * relation, interval 1000 ms), N hydrated index dataflows (a constant → index each) that never
 * change again; then the runtime's 10 ms tick — `maintain()`, then `step()` until quiet — timed
 * over `BENCH_TICKS` ticks. Rows at N = 4 (the baseline, the demo's size) and each N given, with
 * the per-tick time as a ratio to the baseline of the same run (median of `BENCH_RUNS` runs).
 *
 * Usage: tsx bench/idle-tick.bench.ts [N,N...] (default 300,1000). Uses the built dist.
 */
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { pino } from "pino";
import { ComputeState, LegacyComputeLogging } from "../dist/index.js";
import { conformanceConfig } from "../dist/logging/conformance.js";
import { constantIndex } from "./constant-index.js";

const counts = (process.argv[2] ?? "300,1000").split(",").map(Number);
const TICKS = Number(process.env.BENCH_TICKS ?? 500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BASELINE = 4;

const dataflow = (id: string): DataflowDescription => constantIndex(id, 4);

/** Microseconds per idle tick with `n` dataflows. */
function perTickUs(n: number): number {
  let ms = 0;
  const log = pino({ level: "silent" });
  const state = new ComputeState(0, 1, {
    mesh: { index: 0, peers: 1, send() {}, on() {} },
    config: { dataDir: "/nonexistent" },
    respond: () => {},
    requestStep: () => {},
    logger: log,
    logging: new LegacyComputeLogging({ worker: 0, log, now: () => ms }),
    now: () => ms,
  });
  const cmds: ComputeCommand[] = [
    { kind: "createInstance", config: { logging: conformanceConfig(1000) } },
    ...Array.from(
      { length: n },
      (_, i): ComputeCommand => ({ kind: "createDataflow", dataflow: dataflow(`u${i}`) }),
    ),
    { kind: "initializationComplete" },
  ];
  for (const c of cmds) state.apply(c);
  const tick = () => {
    ms += 10;
    state.maintain();
    while (state.step());
  };
  // Hydrate and let the first log intervals pass (everything reported once).
  for (let i = 0; i < 300; i++) tick();
  const start = performance.now();
  for (let i = 0; i < TICKS; i++) tick();
  const us = ((performance.now() - start) * 1000) / TICKS;
  void state.close();
  return us;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = new Map<number, number[]>();
for (let r = 0; r < RUNS; r++) {
  for (const n of [BASELINE, ...counts]) {
    const xs = results.get(n) ?? [];
    xs.push(perTickUs(n));
    results.set(n, xs);
  }
}
const base = median(results.get(BASELINE)!);
console.log(
  "| idle dataflows | µs per 10 ms tick (median) | × the 4-dataflow tick | % of a core |",
);
console.log("|---|---|---|---|");
for (const [n, xs] of results) {
  const us = median(xs);
  console.log(
    `| ${n} | ${us.toFixed(1)} | ${(us / base).toFixed(2)} | ${(us / 100).toFixed(2)} % |`,
  );
}
