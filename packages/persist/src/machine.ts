/**
 * `ShardMachine`: the compare-and-set loop over one shard's state (Materialize `Machine`).
 *
 * Every command is a pure function from the current state to a step — a new state to write, a
 * result without a write, or a typed error — run inside `apply`:
 *
 * 1. start from the cached state (or fetch the head);
 * 2. run the function; an *error* computed from a cached state is confirmed against a fresh head
 *    before it is thrown (the cache may be stale: the upper may have moved since);
 * 3. write the new state with `compareAndSet(seqNo → seqNo + 1)`; on a lost race, fetch the head
 *    and go to 2 (bounded by `maxAttempts`, with a small jittered backoff after a few losses);
 * 4. on commit, cache the new state, wake in-process waiters and, every `truncateEvery` seqnos,
 *    truncate the consensus history below the new head.
 *
 * Because the function is pure and retried against whatever state won, several writers in
 * several processes can share a shard: each command either applies to the latest state or fails
 * with the error that state implies (e.g. `UpperMismatch`).
 */
import type { Logger } from "pino";
import { decodeState, encodeState, stateRecordKey } from "./codec.js";
import type { Consensus, SeqNo } from "./consensus/consensus.js";
import { ContentionExceeded, UnknownShard } from "./errors.js";
import type { PersistMetrics } from "./metrics.js";
import { checkState, type ShardState } from "./state.js";
import { notify } from "./wakeup.js";

/** A decoded state with the seqno it was read at. */
export interface VersionedState {
  readonly seqNo: SeqNo;
  readonly state: ShardState;
}

/** What a command function returns for one state. */
export type Step<R> =
  | { readonly write: ShardState; readonly result: R }
  | { readonly result: R }
  | { readonly error: Error };

export interface MachineDeps {
  readonly consensus: Consensus;
  readonly metrics: PersistMetrics;
  readonly logger: Logger;
  /** Truncate consensus history every this many seqnos. */
  readonly truncateEvery: number;
  /** Compare-and-set attempts before `ContentionExceeded`. */
  readonly maxAttempts: number;
}

export class ShardMachine {
  readonly shardId: string;
  /** Key for in-process wakeups: consensus location + shard id. */
  readonly wakeKey: string;
  readonly #deps: MachineDeps;
  /** The newest state this process has seen; replaced only by a higher seqno. */
  #cached: VersionedState | undefined;
  /** The head read in flight, shared by concurrent `poll` calls. */
  #inflight: Promise<VersionedState | undefined> | undefined;

  constructor(shardId: string, deps: MachineDeps) {
    this.shardId = shardId;
    this.#deps = deps;
    this.wakeKey = `${deps.consensus.location}|${shardId}`;
  }

  /** The newest state seen by this process (may be stale). */
  get cached(): VersionedState | undefined {
    return this.#cached;
  }

  /**
   * Reads the head of the shard's log.
   * @throws UnknownShard, CorruptBlob, UnsupportedFormatVersion, StorageUnavailable
   */
  async fetch(): Promise<VersionedState> {
    const v = await this.fetchMaybe();
    if (v === undefined) throw new UnknownShard(this.shardId);
    return v;
  }

  /**
   * Like `fetch`, but `undefined` for a shard that was never created. A head at the cached seqno
   * is not decoded again (a seqno names one state), so polling an unchanged shard costs a read,
   * not a decode of a state that lists every reader.
   */
  fetchMaybe(): Promise<VersionedState | undefined> {
    return this.#fetchHead();
  }

  /**
   * A head read for pollers (listeners checking whether the upper moved): concurrent polls share
   * one read. Not linearizable — the shared read may have started before the call — so only for
   * callers that merely look again later when nothing moved; commands and confirmations use
   * `fetch`.
   * @throws as `fetch`
   */
  async poll(): Promise<VersionedState> {
    this.#inflight ??= this.#fetchHead().finally(() => {
      this.#inflight = undefined;
    });
    const v = await this.#inflight;
    if (v === undefined) throw new UnknownShard(this.shardId);
    return v;
  }

  async #fetchHead(): Promise<VersionedState | undefined> {
    const head = await this.#deps.consensus.head(this.shardId);
    if (head === undefined) return undefined;
    const cached = this.#cached;
    if (cached !== undefined && cached.seqNo === head.seqNo) return cached;
    const state = decodeState(stateRecordKey(this.shardId, head.seqNo), head.data);
    return this.#remember({ seqNo: head.seqNo, state });
  }

  /** Creates the shard with `initial` unless it exists; returns the head either way. */
  async create(initial: ShardState): Promise<VersionedState> {
    checkState(initial);
    const ok = await this.#deps.consensus.compareAndSet(this.shardId, undefined, {
      seqNo: 1n,
      data: encodeState(initial),
    });
    if (ok) {
      this.#deps.logger.info({ shard: this.shardId }, "persist: created shard");
      return this.#remember({ seqNo: 1n, state: initial });
    }
    return this.fetch();
  }

  /**
   * Runs `f` in the compare-and-set loop (see the file comment).
   * @throws whatever `f` reports (confirmed against a fresh state), ContentionExceeded,
   * StorageUnavailable, UnknownShard, CorruptBlob, UnsupportedFormatVersion
   */
  async apply<R>(
    cmd: string,
    f: (state: ShardState) => Step<R>,
  ): Promise<{ result: R; committed: boolean } & VersionedState> {
    let cur = this.#cached;
    let fresh = false;
    if (cur === undefined) {
      cur = await this.fetch();
      fresh = true;
    }
    for (let attempt = 1; attempt <= this.#deps.maxAttempts; attempt++) {
      const step = f(cur.state);
      if ("error" in step) {
        if (fresh) throw step.error;
        cur = await this.fetch();
        fresh = true;
        continue;
      }
      if (!("write" in step)) return { result: step.result, committed: false, ...cur };
      checkState(step.write);
      const next = { seqNo: cur.seqNo + 1n, data: encodeState(step.write) };
      const ok = await this.#deps.consensus.compareAndSet(this.shardId, cur.seqNo, next);
      if (ok) {
        const v = this.#remember({ seqNo: next.seqNo, state: step.write });
        notify(this.wakeKey);
        if (next.seqNo % BigInt(this.#deps.truncateEvery) === 0n) {
          await this.truncate(next.seqNo);
        }
        return { result: step.result, committed: true, ...v };
      }
      this.#deps.metrics.casMismatch.inc({ cmd });
      if (attempt > 3) await sleep(Math.random() * Math.min(50, 2 ** attempt));
      cur = await this.fetch();
      fresh = true;
    }
    throw new ContentionExceeded(this.shardId, cmd, this.#deps.maxAttempts);
  }

  /** Deletes consensus history below `seqNo` (best effort: failures are logged). */
  async truncate(seqNo: SeqNo): Promise<number> {
    try {
      const n = await this.#deps.consensus.truncate(this.shardId, seqNo);
      this.#deps.metrics.consensusTruncated.inc(n);
      return n;
    } catch (e) {
      this.#deps.logger.warn(
        { shard: this.shardId, seqNo: seqNo.toString(), err: e },
        "persist: consensus truncation failed; it will be retried at the next truncation",
      );
      return 0;
    }
  }

  #remember(v: VersionedState): VersionedState {
    if (this.#cached === undefined || this.#cached.seqNo < v.seqNo) this.#cached = v;
    return v;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
