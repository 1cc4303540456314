/**
 * Peeking the auction workload (`auction-workload.ts`) while replicas fail, shared by the
 * environment tests and the phase-3 suite: a sequential peek loop that checks every answer at T
 * against the hydrated baseline, and the small status/metrics helpers these scenarios wait on.
 *
 * ## Invariants
 * - `peekWorkload` never throws: a failed peek is recorded (`errors`, with its Connect code), a
 *   wrong answer too (`mismatches`); the caller decides what must be empty.
 * - The freshest-time ticker peeks' timestamps are kept in order, so a test can check that reads
 *   never go back in time.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type AuctionWorkload, CLUSTER, T } from "./auction-workload.js";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  metricSum,
  type ReplicaRecordView,
  type Rows,
  recordedPid,
  scrape,
  waitFor,
} from "./environment.js";

/** The compute controller's connected replicas gauge (per instance). */
export const COMPUTE_CONNECTED = "mz_compute_controller_connected_replica_count";

/** What a `peekWorkload` saw. */
export interface PeekWorkloadResult {
  ok: number;
  /** Peeks answered while `inOutage()` was true. */
  okDuringOutage: number;
  readonly errors: string[];
  /** Answers at T that differ from the hydrated ones. */
  readonly mismatches: string[];
  /** Timestamps of the freshest-time ticker peeks, in order. */
  readonly freshTimes: bigint[];
}

/** Sequential peeks until `stop()`: fixed time T (bids, winning bids) and freshest (ticker). */
export function peekWorkload(
  api: EnvironmentApi,
  s: AuctionWorkload,
  inOutage: () => boolean,
): {
  /**
   * Resolves once `n` more peeks settled than when called (answered or failed: a failure is
   * recorded in `errors` for the caller's checks), the workload stopped, or `capMs` passed (peeks
   * that fail by timing out take 10 s each: they cannot hold the caller up longer).
   */
  settled(n: number, capMs?: number): Promise<void>;
  stop(): Promise<PeekWorkloadResult>;
} {
  const w: PeekWorkloadResult = {
    ok: 0,
    okDuringOutage: 0,
    errors: [],
    mismatches: [],
    freshTimes: [],
  };
  let stopped = false;
  /** Peeks settled so far (answered or failed). */
  let settled = 0;
  const waiters: Array<{ readonly at: number; readonly done: () => void }> = [];
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const x = waiters[i] as (typeof waiters)[number];
      if (stopped || settled >= x.at) {
        waiters.splice(i, 1);
        x.done();
      }
    }
  };
  const one = async (f: () => Promise<void>) => {
    try {
      await f();
      w.ok++;
      if (inOutage()) w.okDuringOutage++;
    } catch (e) {
      w.errors.push(e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : String(e));
    }
    settled++;
    wake();
  };
  const loop = (async () => {
    while (!stopped) {
      await one(async () => {
        const r = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 10_000 });
        if (JSON.stringify(r.rows, big) !== JSON.stringify(s.bidsAtT, big))
          w.mismatches.push(`bids_idx at ${T}: ${r.rows.length} rows`);
      });
      await one(async () => {
        // Freshest time: the closed deterministic input makes that T.
        const r = await api.peek({ object: "winning_bids_idx", timeoutMs: 10_000 });
        if (r.timestamp !== T) w.mismatches.push(`winning_bids_idx read at ${r.timestamp}`);
        else if (JSON.stringify(r.rows, big) !== JSON.stringify(s.winningAtT, big))
          w.mismatches.push(`winning_bids_idx at ${T}: ${r.rows.length} rows`);
      });
      await one(async () => {
        const r = await api.peek({ object: "ticker_counter", timeoutMs: 10_000 });
        w.freshTimes.push(r.timestamp);
      });
    }
  })();
  return {
    settled(n, capMs = 10_000) {
      return new Promise<void>((resolve) => {
        const cap = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          resolve();
        }, capMs);
        const waiter = {
          at: settled + n,
          done: () => {
            clearTimeout(cap);
            resolve();
          },
        };
        waiters.push(waiter);
        wake();
      });
    },
    async stop() {
      stopped = true;
      await loop;
      wake();
      return w;
    },
  };
}

/** The two fixed-time answers of the workload. */
export interface AnswersAtT {
  readonly bids: Rows;
  readonly winning: Rows;
}

/** Peeks `bids_idx` and `winning_bids_idx` at T (each within `timeoutMs`). */
export async function answersAtT(api: EnvironmentApi, timeoutMs = 10_000): Promise<AnswersAtT> {
  const bids = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs });
  const winning = await api.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs });
  return { bids: bids.rows, winning: winning.rows };
}

/**
 * Peeks `bids_idx` and `winning_bids_idx` at T answered by `replica` alone (a targeted peek waits
 * until that replica can answer: it has hydrated both indexes past T).
 *
 * Call it before stopping the other replica of a two-replica cluster when the test needs this one
 * to answer alone: hydrating registers persist readers, which are consensus writes, and a process
 * stopped (SIGSTOP) inside its SQLite consensus commit holds the one write lock of every shard
 * until it runs again — a replica still hydrating then cannot answer at all.
 */
export async function replicaAnswersAtT(
  api: EnvironmentApi,
  replica: string,
  timeoutMs = 30_000,
): Promise<AnswersAtT> {
  const bids = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs, replica });
  const winning = await api.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs, replica });
  return { bids: bids.rows, winning: winning.rows };
}

/** JSON replacer for rows with bigints. */
export function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}` : v;
}

/** Whether `ts` never goes down. */
export function isMonotone(ts: readonly bigint[]): boolean {
  return ts.every((t, i) => i === 0 || (ts[i - 1] as bigint) <= t);
}

/** Waits until the compute controller counts `n` connected replicas for the instance. */
export async function waitForConnected(
  env: EnvironmentdHandle,
  clusterId: string,
  n: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `${n} connected replicas`,
    async () =>
      metricSum(await scrape(env.httpUrl), COMPUTE_CONNECTED, { instance_id: clusterId }) === n
        ? true
        : undefined,
    timeoutMs,
  );
}

/** Replica name → health in one status answer of the workload's cluster. */
export async function healthByName(api: EnvironmentApi): Promise<Map<string, string>> {
  const s = await api.status(CLUSTER);
  return new Map(s.clusters[0]?.replicas.map((r) => [r.name, r.health]) ?? []);
}

/** The recorded pid of `replicaId`. @throws when there is no record. */
export function pidOf(records: readonly ReplicaRecordView[], replicaId: string): number {
  const pid = recordedPid(records, replicaId);
  if (pid === undefined) throw new Error(`no record for replica ${replicaId}`);
  return pid;
}
