/**
 * Machine-readable bench results (@internal): besides its markdown tables, every bench that
 * `pnpm bench --compare` runs prints one line per figure on stdout,
 *
 *     BENCH_RESULT {"bench":"environment","figure":"peek-grpc p50","value":2512.3,"unit":"µs","better":"lower","tracked":true}
 *
 * so the compare driver collects exactly the figures a bench declares, never by parsing a table.
 * `tracked` figures are gated (a regression beyond the threshold fails the comparison); the others
 * (baselines such as the echo rows, p99s, recovery times) are shown beside them for the noise.
 */

export const RESULT_PREFIX = "BENCH_RESULT ";

export type Better = "lower" | "higher";

/** One figure of one bench run. */
export interface BenchResult {
  /** The bench that measured it (`phase1`, `environment`). */
  readonly bench: string;
  /** Unique within the bench, e.g. `peek-grpc p50`, `unified calls/s`. */
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
  /** Which direction is an improvement. */
  readonly better: Better;
  /** Whether `--compare` fails when this figure gets worse beyond the threshold. */
  readonly tracked: boolean;
  /**
   * A transport baseline (the raw and echo rows): the same code on both builds, so when it moves
   * between them the machine did (`--compare` says so).
   */
  readonly baseline?: boolean;
}

/** The line for one result (no trailing newline). */
export function formatResult(r: BenchResult): string {
  return `${RESULT_PREFIX}${JSON.stringify(r)}`;
}

/** Prints one result line on stdout. */
export function emitResult(r: BenchResult): void {
  process.stdout.write(`${formatResult(r)}\n`);
}

/** The bench's results from its stdout; other lines are ignored, a malformed result line throws. */
export function parseResults(stdout: string): BenchResult[] {
  const out: BenchResult[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(RESULT_PREFIX)) continue;
    let r: Omit<Partial<BenchResult>, "value"> & { value?: number | null };
    try {
      r = JSON.parse(line.slice(RESULT_PREFIX.length)) as typeof r;
    } catch {
      throw new Error(`malformed bench result line (not JSON): ${line}`);
    }
    if (
      typeof r.bench !== "string" ||
      typeof r.figure !== "string" ||
      (typeof r.value !== "number" && r.value !== null) ||
      typeof r.unit !== "string" ||
      (r.better !== "lower" && r.better !== "higher") ||
      typeof r.tracked !== "boolean" ||
      (r.baseline !== undefined && typeof r.baseline !== "boolean")
    )
      throw new Error(`malformed bench result line (missing or mistyped field): ${line}`);
    // A non-finite value (a row that measured nothing) is written as null: it reads back as NaN.
    out.push({ ...(r as BenchResult), value: r.value ?? Number.NaN });
  }
  return out;
}
