/**
 * A steady read load on the auction workload (`auction-workload.ts`) that keeps what a live flip
 * must not disturb: every peek with its start time, latency and outcome, and one subscribe of the
 * real-time ticker checked batch by batch.
 *
 * ## What is recorded
 * - Peeks, one after another: `bids_idx` at T (compared with the hydrated answer) and
 *   `ticker_counter` at the freshest time (its timestamps must never go back).
 * - The subscribe of `ticker_counter` (a COUNTER: tick n inserts the row n once), resumed from
 *   its last upper when a live flip of `state` ends it (`ControllerRebuilt`, retryable; counted
 *   in `resumes`): batches must be
 *   contiguous (each upper beyond the last, every update time in [previous upper, upper)), and
 *   the rows received must be consecutive counter values, each exactly once — a gap (a missing
 *   value), a duplicate (a value twice) or a retraction is recorded.
 *
 * ## Invariants
 * - Nothing here throws while the load runs: failures are recorded for the caller to judge.
 * - `stop()` ends the peek loop and cancels the subscribe (its stream ending because of the
 *   cancel is not an error).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { big, isMonotone } from "./auction-peeks.js";
import { type AuctionWorkload, T } from "./auction-workload.js";
import type { EnvironmentApi } from "./environment.js";

/** One peek of the load. */
export interface PeekSample {
  /** Wall clock (ms) at its start. */
  readonly atMs: number;
  readonly ms: number;
  readonly ok: boolean;
}

/** What the load saw. */
export interface ReadLoadResult {
  readonly peeks: readonly PeekSample[];
  readonly errors: readonly string[];
  readonly mismatches: readonly string[];
  /** Freshest-time ticker peeks never went back in time. */
  readonly monotone: boolean;
  readonly subscribe: {
    readonly batches: number;
    /** Distinct counter values received. */
    readonly values: number;
    /** Contiguity, gap, duplicate and retraction problems (empty = a clean stream). */
    readonly problems: readonly string[];
    /** Set when the stream failed (not by our cancel, nor retryably). */
    readonly error: string | undefined;
    /**
     * How often the stream ended with the retryable `ControllerRebuilt` (a live flip of `state`
     * rebuilt the cluster's controller) and was resumed from its last upper.
     */
    readonly resumes: number;
  };
}

/** A subscribe ended by a rebuild of its cluster's controller (retryable: resume it). */
const rebuilt = (e: unknown) =>
  e instanceof ConnectError &&
  e.code === Code.Unavailable &&
  /was rebuilt meanwhile/.test(e.rawMessage);

const message = (e: unknown) =>
  e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : String(e);

/** Starts the load (see the file comment). */
export function readLoad(
  api: EnvironmentApi,
  s: AuctionWorkload,
): { stop(): Promise<ReadLoadResult> } {
  const peeks: PeekSample[] = [];
  const errors: string[] = [];
  const mismatches: string[] = [];
  const fresh: bigint[] = [];
  let stopped = false;
  const timed = async (f: () => Promise<void>) => {
    const atMs = Date.now();
    const t0 = performance.now();
    try {
      await f();
      peeks.push({ atMs, ms: performance.now() - t0, ok: true });
    } catch (e) {
      peeks.push({ atMs, ms: performance.now() - t0, ok: false });
      errors.push(message(e));
    }
  };
  const peekLoop = (async () => {
    while (!stopped) {
      await timed(async () => {
        const r = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 10_000 });
        if (JSON.stringify(r.rows, big) !== JSON.stringify(s.bidsAtT, big))
          mismatches.push(`bids_idx at ${T}: ${r.rows.length} rows`);
      });
      await timed(async () => {
        fresh.push((await api.peek({ object: "ticker_counter", timeoutMs: 10_000 })).timestamp);
      });
    }
  })();

  const problems: string[] = [];
  const seen = new Set<bigint>();
  let batches = 0;
  let subscribeError: string | undefined;
  const cancel = new AbortController();
  let resumes = 0;
  const subscribeLoop = (async () => {
    let upper: bigint | undefined;
    for (;;) {
      // Resumed after a retryable end: from the time before the last upper, its snapshot (every
      // value below the upper, received already) skipped.
      const asOf = upper === undefined ? undefined : upper - 1n;
      try {
        const req = { object: "ticker_counter", ...(asOf === undefined ? {} : { asOf }) };
        for await (const b of api.subscribe(req, cancel.signal)) {
          batches++;
          for (const [row, time, diff] of b.updates) {
            if (asOf !== undefined && time <= asOf) continue;
            if (upper !== undefined && time < upper)
              problems.push(`update at ${time} below the previous upper ${upper}`);
            if (b.upper !== null && time >= b.upper)
              problems.push(`update at ${time} not below its batch's upper ${b.upper}`);
            const v = BigInt(row[0] as bigint | number);
            if (diff !== 1) problems.push(`value ${v} with diff ${diff}`);
            else if (seen.has(v)) problems.push(`value ${v} twice (duplicate)`);
            seen.add(v);
          }
          if (b.upper !== null && upper !== undefined && b.upper <= upper && asOf === undefined)
            problems.push(`upper ${b.upper} not beyond ${upper}`);
          if (b.upper !== null && (upper === undefined || b.upper > upper)) upper = b.upper;
        }
        return;
      } catch (e) {
        if (cancel.signal.aborted) return;
        if (rebuilt(e) && upper !== undefined && resumes < 20) {
          resumes++;
          continue;
        }
        subscribeError = message(e);
        return;
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      cancel.abort();
      await Promise.all([peekLoop, subscribeLoop]);
      const values = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let i = 1; i < values.length; i++) {
        const prev = values[i - 1] as bigint;
        const v = values[i] as bigint;
        if (v !== prev + 1n) problems.push(`gap: values ${prev + 1n}..${v - 1n} missing`);
      }
      return {
        peeks,
        errors,
        mismatches,
        monotone: isMonotone(fresh),
        subscribe: { batches, values: seen.size, problems, error: subscribeError, resumes },
      };
    },
  };
}

/** The p-th percentile (0–100) of `xs` (nearest rank); NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
