/**
 * `pnpm bench --profile` (@internal): CPU profiles of the two paths the benches measure.
 * - `phase1`: the phase-1 bench (one run, rows `legacy,unified`): the driver (the bench process)
 *   and each clusterd (legacy, then unified);
 * - `environment`: the environment bench's peek section (one run, every row, throughput at 32
 *   and 256 in flight): the driver, environmentd, and both replicas.
 * The tree is built first (`pnpm build`). Every process runs with `--cpu-prof`: the driver on its command line, clusterd and
 * environmentd through the harness (`MZ_E2E_PROFILE_DIR`, `src/harness/profile.ts`; environmentd
 * hands it to its replicas with `MZ_CLUSTERD_NODE_ARGS`). Output:
 * `bench-profiles/<date>/<bench>/<role>/*.cpuprofile` with a `.txt` top-N self-time summary
 * beside each (`cpuprofile-summary.ts`), the bench's own output (`<bench>/bench.md`) and an index
 * (`README.txt`: the load average and each profile's busiest functions).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { run } from "../exec.js";
import { type BenchName, runBench } from "../runner.js";
import { type CpuProfile, formatSummary, summarize } from "./cpuprofile-summary.js";

export interface ProfileOptions {
  readonly repoRoot: string;
  /** Functions per summary. */
  readonly top: number;
}

const progress = (line: string) => process.stderr.write(`[profile] ${line}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(" / ");

const RUNS: ReadonlyArray<{ bench: BenchName; args: string[]; env: NodeJS.ProcessEnv }> = [
  { bench: "phase1", args: [], env: { BENCH_ROWS: "legacy,unified" } },
  { bench: "environment", args: ["peek"], env: {} },
];

/** Which process and thread a profile is of, from Node's file name `CPU.<date>.<time>.<pid>.<tid>.<seq>`. */
export function threadOf(file: string): string {
  const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(file);
  if (m === null) return "unknown thread";
  return m[2] === "0" ? `pid ${m[1]}, main thread` : `pid ${m[1]}, worker thread ${m[2]}`;
}

export async function runProfile(o: ProfileOptions): Promise<void> {
  const date = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const out = join(o.repoRoot, "bench-profiles", date);
  mkdirSync(out, { recursive: true });
  progress("building: pnpm build");
  await run("pnpm", ["build"], o.repoRoot);
  const index: string[] = [
    `pnpm bench --profile, ${new Date().toISOString()}, ${cpus().length} cores`,
    `load average (1/5/15 min) at the start ${load()}`,
  ];
  for (const r of RUNS) {
    const dir = join(out, r.bench);
    mkdirSync(join(dir, "driver"), { recursive: true });
    progress(`${r.bench}: running under --cpu-prof (load ${load()}) …`);
    const stdout = await runBench({
      tree: o.repoRoot,
      bench: r.bench,
      args: r.args,
      nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${join(dir, "driver")}`],
      env: { ...r.env, MZ_E2E_PROFILE_DIR: dir },
      onLine: (l) => process.stderr.write(`    ${l}\n`),
    });
    writeFileSync(
      join(dir, "bench.md"),
      stdout
        .split("\n")
        .filter((l) => !l.startsWith("BENCH_RESULT"))
        .join("\n"),
    );
    index.push("", `## ${r.bench} (load at the end ${load()})`);
    for (const role of readdirSync(dir, { withFileTypes: true })) {
      if (!role.isDirectory()) continue;
      for (const f of readdirSync(join(dir, role.name)).filter((f) => f.endsWith(".cpuprofile"))) {
        const file = join(dir, role.name, f);
        const s = summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
        writeFileSync(
          `${file}.txt`,
          formatSummary(`${r.bench} · ${role.name} · ${f} (${threadOf(f)})`, s, o.top),
        );
        const busiest = s.functions
          .filter((x) => x.name !== "(idle)")
          .slice(0, 5)
          .map((x) => `${x.name} ${(x.selfUs / 1000).toFixed(0)} ms`)
          .join(", ");
        index.push(
          `${role.name}/${f} (${threadOf(f)}): busy ${(s.busyUs / 1e6).toFixed(2)} s of ${(s.durationUs / 1e6).toFixed(2)} s; top: ${busiest}`,
        );
        progress(`${r.bench} · ${role.name}: ${f} summarized`);
      }
    }
  }
  writeFileSync(join(out, "README.txt"), `${index.join("\n")}\n`);
  console.log(index.join("\n"));
  progress(`profiles and summaries in ${out}`);
}
