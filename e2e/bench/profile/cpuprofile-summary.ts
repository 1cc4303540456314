/**
 * Top-N self time of a V8 `.cpuprofile` (@internal), as text — what `pnpm bench --profile` writes
 * beside every profile, computed from the profile's JSON alone (no DevTools, no network).
 *
 * Self time of a node = the sum of the `timeDeltas` of the samples that landed in it (more exact
 * than `hitCount` × interval when the sampler ran late). Nodes are grouped by function (name +
 * script + line), so a function reached along many stacks is one row; a second table groups by
 * module (the package a script belongs to: `@mzts/<pkg>`, a `node_modules` package, `node:` for
 * Node's own JavaScript, or the V8 pseudo frames `(garbage collector)`, `(program)`, `(idle)`).
 * A third table gives the inclusive time (self + callees, once per sample) of this repository's
 * own functions: where in our code the library time is spent.
 *
 * CLI: `tsx bench/profile/cpuprofile-summary.ts <file.cpuprofile> [--top N] [--last S | --from S
 * --to S]` prints the summary (of a window of the profile when given).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The parts of the `.cpuprofile` format (Chrome DevTools protocol `Profiler.Profile`) used. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
      readonly columnNumber?: number;
    };
    readonly hitCount?: number;
    readonly children?: readonly number[];
  }>;
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTimeRow {
  readonly name: string;
  readonly where: string;
  readonly module: string;
  /** Microseconds. */
  readonly selfUs: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers (µs). */
  readonly durationUs: number;
  /** Time in samples that were not `(idle)` (µs). */
  readonly busyUs: number;
  readonly functions: readonly SelfTimeRow[];
  /**
   * Inclusive time (the function or anything it called on the stack) of this repository's
   * functions (`@mzts/*` modules), counted once per sample even when recursive.
   */
  readonly ownInclusive: readonly SelfTimeRow[];
  readonly modules: ReadonlyArray<{ readonly module: string; readonly selfUs: number }>;
}

/** The module a script URL belongs to. */
export function moduleOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node:";
  const nm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const pkg = /\/packages\/([^/]+)\//.exec(url);
  if (pkg) return `@mzts/${pkg[1]}`;
  const e2e = /\/e2e\//.test(url);
  return e2e ? "@mzts/e2e" : url.replace(/^file:\/\//, "");
}

/** Self time per function and per module, largest first. */
export function summarize(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length > 0) {
    // timeDeltas[i] is the time before sample i; attribute it to sample i's node (DevTools' rule).
    for (let i = 0; i < samples.length; i++)
      self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, deltas[i] ?? 0));
  } else {
    // No samples: hit counts spread over the duration.
    const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
    const per = hits > 0 ? (p.endTime - p.startTime) / hits : 0;
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  const functions = new Map<string, { name: string; where: string; module: string; us: number }>();
  const modules = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (n === undefined || us === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName === "" ? "(anonymous)" : functionName;
    const module = moduleOf(url, name);
    const where = url === "" ? "" : `${url.replace(/^file:\/\//, "")}:${lineNumber + 1}`;
    const k = `${name}\u0000${where}`;
    const f = functions.get(k) ?? { name, where, module, us: 0 };
    f.us += us;
    functions.set(k, f);
    modules.set(module, (modules.get(module) ?? 0) + us);
    if (name !== "(idle)") busy += us;
  }
  // Inclusive time of the repository's own functions: walk each sample's stack once.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, { name: string; where: string; module: string; us: number }>();
  for (const [id, us] of self) {
    if (us === 0 || byId.get(id)?.callFrame.functionName === "(idle)") continue;
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const { functionName, url, lineNumber } = byId.get(x)!.callFrame;
      const module = moduleOf(url, functionName);
      if (!module.startsWith("@mzts/")) continue;
      const name = functionName === "" ? "(anonymous)" : functionName;
      const where = `${url.replace(/^file:\/\//, "")}:${lineNumber + 1}`;
      const k = `${name}\u0000${where}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const f = inclusive.get(k) ?? { name, where, module, us: 0 };
      f.us += us;
      inclusive.set(k, f);
    }
  }
  return {
    durationUs: p.endTime - p.startTime,
    busyUs: busy,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .map(({ name, where, module, us }) => ({ name, where, module, selfUs: us })),
    ownInclusive: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .map(({ name, where, module, us }) => ({ name, where, module, selfUs: us })),
    modules: [...modules]
      .sort((a, b) => b[1] - a[1])
      .map(([module, selfUs]) => ({ module, selfUs })),
  };
}

/** The text summary: totals, top `top` functions, then every module. */
export function formatSummary(title: string, s: ProfileSummary, top: number): string {
  const ms = (us: number) => (us / 1000).toFixed(1).padStart(9);
  const pct = (us: number) =>
    `${(s.busyUs > 0 ? (100 * us) / s.busyUs : 0).toFixed(1).padStart(5)} %`;
  const lines = [
    title,
    `profiled ${(s.durationUs / 1e6).toFixed(2)} s, busy (not idle) ${(s.busyUs / 1e6).toFixed(2)} s; percentages are of busy time`,
    "",
    `top ${top} functions by self time`,
    `  self ms    busy %  function  (module)  location`,
  ];
  for (const f of s.functions.filter((f) => f.name !== "(idle)").slice(0, top))
    lines.push(`${ms(f.selfUs)}  ${pct(f.selfUs)}  ${f.name}  (${f.module})  ${f.where}`);
  lines.push(
    "",
    `top ${top} functions of this repository (@mzts/*) by inclusive time (self + callees)`,
    "  incl ms    busy %  function  (module)  location",
  );
  for (const f of s.ownInclusive.slice(0, top))
    lines.push(`${ms(f.selfUs)}  ${pct(f.selfUs)}  ${f.name}  (${f.module})  ${f.where}`);
  lines.push("", "self time by module", "  self ms    busy %  module");
  for (const m of s.modules.filter((m) => m.module !== "(idle)"))
    lines.push(`${ms(m.selfUs)}  ${pct(m.selfUs)}  ${m.module}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The profile's last `seconds` only (its samples in that window), e.g. the idle period at the end
 * of the scale bench's replica profile, which begins with the rehydration.
 */
export function lastSeconds(p: CpuProfile, seconds: number): CpuProfile {
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  if (samples.length === 0) return p;
  const from = p.endTime - seconds * 1e6;
  let t = p.startTime;
  let first = samples.length;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t >= from) {
      first = i;
      break;
    }
  }
  return {
    ...p,
    startTime: Math.max(p.startTime, from),
    samples: samples.slice(first),
    timeDeltas: [0, ...deltas.slice(first + 1)],
  };
}

/**
 * The profile's samples from `fromS` to `toS` seconds after its start, e.g. the first seconds of
 * a restarted replica's profile (its rehydration) or environmentd's during a replica's restart.
 */
export function window(p: CpuProfile, fromS: number, toS = Number.POSITIVE_INFINITY): CpuProfile {
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const from = p.startTime + fromS * 1e6;
  const to = p.startTime + toS * 1e6;
  const kept: number[] = [];
  const keptDeltas: number[] = [];
  let t = p.startTime;
  let prev = from;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from) continue;
    if (t > to) break;
    kept.push(samples[i]!);
    keptDeltas.push(t - prev);
    prev = t;
  }
  return {
    ...p,
    startTime: Math.max(p.startTime, from),
    endTime: Math.min(p.endTime, to),
    samples: kept,
    timeDeltas: keptDeltas,
  };
}

/**
 * Reads a `.cpuprofile` file and returns its text summary: of its last `last` s if given, else of
 * `[from, to]` s after its start if given, else of all of it.
 */
export function summarizeFile(
  file: string,
  top: number,
  last?: number,
  range?: { readonly from?: number; readonly to?: number },
): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  if (!Array.isArray(p.nodes)) throw new Error(`${file} is not a .cpuprofile (no nodes)`);
  const part =
    last !== undefined
      ? lastSeconds(p, last)
      : range !== undefined
        ? window(p, range.from ?? 0, range.to)
        : p;
  return formatSummary(file, summarize(part), top);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  const opts = new Map<string, number>();
  for (let i = 0; i + 1 < rest.length; i += 2) opts.set(rest[i]!, Number(rest[i + 1]));
  if (
    file === undefined ||
    rest.length % 2 === 1 ||
    [...opts].some(
      ([k, v]) => !["--top", "--last", "--from", "--to"].includes(k) || !(v > 0 || k === "--from"),
    )
  ) {
    process.stderr.write(
      "usage: tsx bench/profile/cpuprofile-summary.ts <file.cpuprofile> [--top N] [--last SECONDS | --from S --to S]\n",
    );
    process.exit(2);
  }
  const range =
    opts.has("--from") || opts.has("--to")
      ? {
          ...(opts.has("--from") ? { from: opts.get("--from")! } : {}),
          ...(opts.has("--to") ? { to: opts.get("--to")! } : {}),
        }
      : undefined;
  process.stdout.write(summarizeFile(file, opts.get("--top") ?? 30, opts.get("--last"), range));
}
