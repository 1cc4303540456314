/**
 * Peeks of an evaluation.
 *
 * - `compareRound`: one round of fixed-time peeks. The time `t` is one below the smallest write
 *   frontier of every live index pair on both sides (from one `Status`), so it is complete on
 *   both; each pair is peeked at `t` on both sides (the side that goes first alternates by
 *   round) and the answers compared row by row; the twin deterministic indexes are peeked at
 *   `T`. Every peek's latency is recorded for its side; a failed peek is an outcome compared
 *   like rows (the same error on both sides is not a difference, but is counted). A side that
 *   compacted past the chosen time before its peek (a race with the 1 s compaction window) is
 *   read again, both sides, at a newer common time (`retried`), up to `TRIES` times; a pair
 *   still unreadable then is counted (`unreadable`), not compared.
 * - `throughput`: a closed loop of `concurrency` peeks in flight at the freshest time of the
 *   side's `winning_idx`, one side at a time in alternating 1 s windows: answered peeks per
 *   second.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { T } from "../harness/auction-workload.js";
import { sleep } from "../harness/environment.js";
import { type Difference, diffOutcomes, type Outcome } from "./compare.js";
import { type EvaluationContext, SIDES, type Side } from "./context.js";
import { FIXED_INDEXES, LIVE_INDEXES } from "./workload.js";

/** Per-side peek latencies (ms) and counts, filled by the rounds. */
export interface PeekLog {
  readonly latencyMs: { [S in Side]: number[] };
  readonly failed: { [S in Side]: number };
  /** Pairs compared (each pair is two peeks). */
  compared: number;
  /** Pairs read again because a side had compacted past the chosen time (see `compareRound`). */
  retried: number;
  /** Pairs given up after `TRIES` compaction races (not compared). */
  unreadable: number;
  rounds: number;
  readonly differences: Difference[];
}

export function emptyPeekLog(): PeekLog {
  return {
    latencyMs: { baseline: [], candidate: [] },
    failed: { baseline: 0, candidate: 0 },
    compared: 0,
    retried: 0,
    unreadable: 0,
    rounds: 0,
    differences: [],
  };
}

/** A peek's outcome and how long it took. */
async function peekOutcome(
  ctx: EvaluationContext,
  object: string,
  timestamp: bigint,
): Promise<{ outcome: Outcome; ms: number }> {
  const start = performance.now();
  try {
    const r = await ctx.session.api.peek({ object, timestamp, timeoutMs: 10_000 });
    return { outcome: { ok: true, rows: r.rows }, ms: performance.now() - start };
  } catch (e) {
    const code = e instanceof ConnectError ? Code[e.code] : "not a ConnectError";
    const message = e instanceof ConnectError ? e.rawMessage : String(e);
    return { outcome: { ok: false, code, message }, ms: performance.now() - start };
  }
}

/** The common complete time of the live pairs (undefined while one has no upper yet). */
async function commonTime(ctx: EvaluationContext): Promise<bigint | undefined> {
  const s = await ctx.session.api.status();
  let min: bigint | undefined;
  for (const side of SIDES) {
    const c = s.clusters.find((x) => x.id === ctx.sides[side].clusterId);
    for (const neutral of LIVE_INDEXES) {
      const w = c?.collections.find((col) => col.name === ctx.name(side, neutral))?.writeFrontier;
      if (w === undefined || w === null || w === 0n) return undefined;
      if (min === undefined || w < min) min = w;
    }
  }
  return min === undefined ? undefined : min - 1n;
}

/** A peek that asked for a time the index had already compacted past (a race, not a result). */
function belowSince(o: Outcome): boolean {
  return !o.ok && o.code === Code[Code.FailedPrecondition] && /compacted/.test(o.message);
}

/** Tries per pair: a time both sides can still read is found again after a compaction race. */
const TRIES = 5;

/** One round (see the file comment). Returns false when no common time exists yet. */
export async function compareRound(ctx: EvaluationContext, log: PeekLog): Promise<boolean> {
  const first = await commonTime(ctx);
  if (first === undefined) return false;
  const order: Side[] =
    log.rounds % 2 === 0 ? ["baseline", "candidate"] : ["candidate", "baseline"];
  const pairs: Array<[string, bigint | undefined]> = [
    ...LIVE_INDEXES.map((n): [string, undefined] => [n, undefined]),
    ...FIXED_INDEXES.map((n): [string, bigint] => [n, T]),
  ];
  for (const [neutral, fixed] of pairs) {
    let at = fixed ?? first;
    let got = {} as Record<Side, Outcome>;
    for (let attempt = 1; ; attempt++) {
      got = {} as Record<Side, Outcome>;
      for (const side of order) {
        const { outcome, ms } = await peekOutcome(ctx, ctx.name(side, neutral), at);
        got[side] = outcome;
        if (outcome.ok) log.latencyMs[side].push(ms);
        else if (!belowSince(outcome)) log.failed[side]++;
      }
      // The index compacted past `at` on a side between the status and the peek: the live
      // indexes' sinces trail their uppers by one compaction window (1 s), one tick of the
      // auction. Not an answer to compare; read both again at a newer common time.
      if (fixed !== undefined) break;
      if (!belowSince(got.baseline) && !belowSince(got.candidate)) break;
      if (attempt >= TRIES) break;
      log.retried++;
      at = (await commonTime(ctx)) ?? at;
    }
    if (fixed === undefined && (belowSince(got.baseline) || belowSince(got.candidate))) {
      // No time both sides could still read (one lagged the other by more than the window):
      // nothing to compare, which is not a difference; `unreadable` counts it, and the run
      // fails when too many pairs end so (`evaluate.ts`).
      log.unreadable++;
      continue;
    }
    log.compared++;
    const d = diffOutcomes(`${neutral} at ${at}`, got.baseline, got.candidate);
    if (d !== undefined && log.differences.length < 50) log.differences.push(d);
  }
  log.rounds++;
  return true;
}

/** Runs rounds until `until()` is true, with `gapMs` between them. */
export async function compareRounds(
  ctx: EvaluationContext,
  log: PeekLog,
  until: () => boolean,
  gapMs: number,
): Promise<void> {
  while (!until()) {
    const ran = await compareRound(ctx, log).catch(() => false);
    await sleep(ran ? gapMs : 200);
  }
}

/** One closed-loop window of one side: answered and failed peeks, and its length (s). */
async function throughputWindow(
  ctx: EvaluationContext,
  side: Side,
  seconds: number,
  concurrency: number,
): Promise<{ ok: number; failed: number; elapsedS: number }> {
  const object = ctx.name(side, "winning_idx");
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          await ctx.session.api.peek({ object, timeoutMs: 10_000 });
          ok++;
        } catch {
          failed++;
        }
      }
    }),
  );
  return { ok, failed, elapsedS: (performance.now() - start) / 1000 };
}

/**
 * Answered peeks per second of each side (see the file comment), measured in 1 s windows that
 * alternate between the sides (`seconds` each in all), so a shift in the machine's load during
 * the measurement falls on both alike.
 */
export async function throughput(
  ctx: EvaluationContext,
  seconds: number,
  concurrency: number,
): Promise<{ [S in Side]: { peeksPerSecond: number; failed: number } }> {
  const acc = {
    baseline: { ok: 0, failed: 0, elapsedS: 0 },
    candidate: { ok: 0, failed: 0, elapsedS: 0 },
  };
  for (let i = 0; i < seconds; i++) {
    const order: Side[] = i % 2 === 0 ? ["baseline", "candidate"] : ["candidate", "baseline"];
    for (const side of order) {
      const w = await throughputWindow(ctx, side, 1, concurrency);
      acc[side].ok += w.ok;
      acc[side].failed += w.failed;
      acc[side].elapsedS += w.elapsedS;
    }
  }
  const per = (side: Side) => ({
    peeksPerSecond: Math.round((acc[side].ok / Math.max(acc[side].elapsedS, 0.001)) * 10) / 10,
    failed: acc[side].failed,
  });
  return { baseline: per("baseline"), candidate: per("candidate") };
}
