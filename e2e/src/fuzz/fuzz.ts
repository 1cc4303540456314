/**
 * `runFuzz`: the clusterd fuzzing on both paths (`clusterd-fuzz.ts`: legacy two-server layout,
 * then the unified mz-cluster server, each on a fresh replica and persist directory) and the
 * environment API fuzzing (`api-fuzz.ts`), with one seed. The program behind `pnpm fuzz`
 * (`main.ts`) and the e2e slice. Everything it starts is stopped before it returns.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiFuzzReport, fuzzApi } from "./api-fuzz.js";
import { type ClusterdFuzzReport, fuzzClusterd } from "./clusterd-fuzz.js";

export interface FuzzOptions {
  readonly seed: number;
  /** Cases per clusterd path and requests to the API. */
  readonly iterations: number;
  /** Which parts to run (default both). */
  readonly parts?: { readonly clusterd?: boolean; readonly api?: boolean };
  readonly bombMb?: number;
  readonly maxRssGrowthMb?: number;
  readonly log?: (line: string) => void;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly iterations: number;
  readonly clusterd: readonly ClusterdFuzzReport[];
  readonly api?: ApiFuzzReport;
  readonly problems: readonly string[];
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const clusterd: ClusterdFuzzReport[] = [];
  let api: ApiFuzzReport | undefined;
  if (opts.parts?.clusterd !== false) {
    for (const unified of [false, true]) {
      const persistDir = mkdtempSync(join(tmpdir(), "mzts-fuzz-clusterd-"));
      // clusterd itself is killed on exit by processes.ts; this removes its directory then too.
      const removeOnExit = () => rmSync(persistDir, { recursive: true, force: true });
      process.once("exit", removeOnExit);
      try {
        clusterd.push(
          await fuzzClusterd({
            seed: opts.seed,
            iterations: opts.iterations,
            unified,
            persistDir,
            ...(opts.bombMb === undefined ? {} : { bombMb: opts.bombMb }),
            ...(opts.maxRssGrowthMb === undefined ? {} : { maxRssGrowthMb: opts.maxRssGrowthMb }),
            ...(opts.log === undefined ? {} : { log: opts.log }),
          }),
        );
      } finally {
        process.removeListener("exit", removeOnExit);
        removeOnExit();
      }
    }
  }
  if (opts.parts?.api !== false) {
    api = await fuzzApi({
      seed: opts.seed,
      iterations: opts.iterations,
      ...(opts.log === undefined ? {} : { log: opts.log }),
    });
  }
  return {
    seed: opts.seed,
    iterations: opts.iterations,
    clusterd,
    ...(api === undefined ? {} : { api }),
    problems: [...clusterd.flatMap((c) => c.problems), ...(api?.problems ?? [])],
  };
}

/** The end-of-run counts as text lines. */
export function formatFuzzSummary(s: FuzzSummary): string[] {
  const table = (m: ReadonlyMap<string, number>) =>
    [...m]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([k, v]) => `    ${String(v).padStart(5)}  ${k}`);
  const out = [`fuzz summary (seed ${s.seed}, ${s.iterations} iterations)`];
  for (const c of s.clusterd) {
    out.push(
      `  clusterd (${c.path}): frames sent by kind: ${[...c.frames].map(([k, v]) => `${k} ${v}`).join(", ")}`,
      `  clusterd (${c.path}): RSS start ${c.rssMb.start.toFixed(0)} MB, peak ${c.rssMb.peak.toFixed(0)} MB, end ${c.rssMb.end.toFixed(0)} MB; stream outcomes:`,
      ...table(c.outcomes),
    );
  }
  if (s.api !== undefined) {
    out.push(
      `  api: ${s.api.replicaRestarts} replica restarts; outcomes by rpc and code:`,
      ...table(s.api.outcomes),
    );
  }
  out.push(
    s.problems.length === 0
      ? "fuzz: ok"
      : `fuzz: FAILED (${s.problems.length}):\n${s.problems.map((p) => `  - ${p}`).join("\n")}`,
  );
  return out;
}
