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
 * The commands of one shard in one process run this loop one at a time (in issue order), so they
 * never race each other, only other processes; the commands that arrive meanwhile run next, as
 * one group with one compare-and-set (`apply`).
 *
 * Because the function is pure and retried against whatever state won, several writers in
 * several processes can share a shard: each command either applies to the latest state or fails
 * with the error that state implies (e.g. `UpperMismatch`).
 */
import type { Logger } from "pino";
import { ChangeWatch } from "./change-watch.js";
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

/** How long a poll's head read is shared with later polls, ms (see `poll`). */
export const POLL_SHARE_MS = 5;

/** A command waiting in the shard's queue (`apply`, or one `applyBatch` group). */
interface GroupMember {
  readonly cmd: string;
  readonly f: (state: ShardState) => Step<unknown>;
  readonly resolve: (v: { result: unknown; committed: boolean } & VersionedState) => void;
  readonly reject: (e: unknown) => void;
  /** Runs before a lone member's first attempt (a batch's head read). */
  readonly prepare?: (() => Promise<void>) | undefined;
}

/** What `applyBatch`'s function returns: the state to write, if any, and each member's outcome. */
export interface BatchStep<R> {
  readonly write?: ShardState;
  readonly outcomes: ReadonlyArray<{ readonly result: R } | { readonly error: Error }>;
}

interface BatchGroup<M, R> {
  readonly members: M[];
  readonly waiters: Array<{
    resolve: (v: { result: R; committed: boolean } & VersionedState) => void;
    reject: (e: unknown) => void;
  }>;
  readonly run: (state: ShardState, members: readonly M[]) => BatchStep<R>;
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
  /** Commands waiting for the compare-and-set loop in flight (see `apply`). */
  #queue: GroupMember[] = [];
  /** Whether a compare-and-set loop runs now. */
  #draining = false;
  /** `applyBatch` groups waiting for the next turn of the event loop, by command name. */
  readonly #batches = new Map<string, BatchGroup<unknown, unknown>>();
  /** The head read in flight, shared by concurrent `poll` calls. */
  #inflight: Promise<VersionedState | undefined> | undefined;
  /** The head read in flight (`#fetchHead`), and the one queued behind it for later callers. */
  #headRead: Promise<VersionedState | undefined> | undefined;
  #nextHeadRead: Promise<VersionedState | undefined> | undefined;
  /** The last head read `poll` completed, and when (`performance.now()`). */
  #lastPoll: { readonly v: VersionedState; readonly atMs: number } | undefined;

  /** The shared waits of this shard's idle listeners, by poll interval (`changeWatch`). */
  readonly #watches = new Map<number, ChangeWatch>();

  constructor(shardId: string, deps: MachineDeps) {
    this.shardId = shardId;
    this.#deps = deps;
    this.wakeKey = `${deps.consensus.location}|${shardId}`;
  }

  /**
   * The shared wait for a change of this shard, polling every `pollMs` while anyone waits
   * (`change-watch.ts`): the idle listeners of the shard in this process cost one timer and one
   * head read per interval, not one each.
   */
  changeWatch(pollMs: number): ChangeWatch {
    let w = this.#watches.get(pollMs);
    if (w === undefined) {
      w = new ChangeWatch(
        this.wakeKey,
        pollMs,
        () => this.poll(),
        () => this.fetch(),
        () => this.#cached,
      );
      this.#watches.set(pollMs, w);
    }
    return w;
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
   * A head read for pollers (listeners checking whether the upper moved): a read that completed
   * less than `POLL_SHARE_MS` ago, or one in flight, is shared, and a newer state this process
   * committed wins over it. Not linearizable — the shared read may be a few ms old — so only for
   * callers that merely look again later when nothing moved; commands and confirmations use
   * `fetch`. Without the sharing, each of a replica's N listeners of a shard read the head every
   * poll interval (N × 50 reads a second of a state listing N readers).
   * @throws as `fetch`
   */
  async poll(): Promise<VersionedState> {
    const recent = this.#lastPoll;
    let v: VersionedState | undefined;
    if (recent !== undefined && performance.now() - recent.atMs < POLL_SHARE_MS) v = recent.v;
    else {
      this.#inflight ??= this.#fetchHead().then(
        (r) => {
          this.#inflight = undefined;
          if (r !== undefined) this.#lastPoll = { v: r, atMs: performance.now() };
          return r;
        },
        (e: unknown) => {
          this.#inflight = undefined;
          throw e;
        },
      );
      v = await this.#inflight;
    }
    if (v === undefined) throw new UnknownShard(this.shardId);
    const cached = this.#cached;
    return cached !== undefined && cached.seqNo > v.seqNo ? cached : v;
  }

  /**
   * A linearizable head read, shared: a call while a read is in flight waits for the next read,
   * which starts once that one settled — after the call — and serves every call that arrived
   * meanwhile. A burst of N calls (a restarted replica's N dataflows opening and snapshotting
   * one shard, each state listing N readers) costs two reads, not N.
   */
  #fetchHead(): Promise<VersionedState | undefined> {
    if (this.#headRead === undefined) return this.#startHeadRead();
    this.#nextHeadRead ??= this.#headRead.then(
      () => this.#startNextHeadRead(),
      () => this.#startNextHeadRead(),
    );
    return this.#nextHeadRead;
  }

  #startNextHeadRead(): Promise<VersionedState | undefined> {
    this.#nextHeadRead = undefined;
    return this.#startHeadRead();
  }

  #startHeadRead(): Promise<VersionedState | undefined> {
    const read = this.#readHead();
    this.#headRead = read;
    const done = () => {
      if (this.#headRead === read) this.#headRead = undefined;
    };
    read.then(done, done);
    return read;
  }

  async #readHead(): Promise<VersionedState | undefined> {
    const consensus = this.#deps.consensus;
    const known = this.#cached;
    // A head still at the state this process knows: read its seqno only, not the state (which
    // lists every reader) — most polls of a shard find nothing new.
    if (known !== undefined && consensus.headSeqNo !== undefined) {
      if ((await consensus.headSeqNo(this.shardId)) === known.seqNo && this.#cached === known)
        return known;
    }
    const head = await consensus.head(this.shardId);
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
  apply<R>(
    cmd: string,
    f: (state: ShardState) => Step<R>,
  ): Promise<{ result: R; committed: boolean } & VersionedState> {
    return new Promise((resolve, reject) => {
      this.#enqueue([{ cmd, f, resolve, reject } as GroupMember]);
    });
  }

  /**
   * One compare-and-set loop at a time per shard in this process. The consensus commits
   * asynchronously (grouped, possibly on another thread), so N commands started together from
   * one cached state would lose N−1 compare-and-sets per round to each other and retry into
   * ContentionExceeded. Instead the commands that arrive while a loop runs wait, and then run
   * together as one group (`#runMembers`): one compare-and-set for all of them.
   */
  #enqueue(members: readonly GroupMember[]): void {
    this.#queue.push(...members);
    if (this.#draining) return;
    this.#draining = true;
    void (async () => {
      while (this.#queue.length > 0) await this.#runMembers(this.#queue.splice(0));
      this.#draining = false;
    })();
  }

  async #apply<R>(
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

  /**
   * Like `apply`, for frequent small commands of many handles (a replica's readers downgrading
   * their sinces once a second): the members of `cmd` issued in one turn of the event loop share
   * one compare-and-set, and run as ONE call `run(state, members)`, which returns the state to
   * write (if any) and an outcome per member (each as if alone, in issue order). A round of N since downgrades then copies the
   * readers once, not N times (O(N) instead of O(N²)). A group of more than one reads the head
   * first (errors are judged against a state read during the call); a lone member's error is
   * confirmed as `apply` does.
   * @throws for one member: its outcome's error; for all: as `apply`
   */
  applyBatch<M, R>(
    cmd: string,
    member: M,
    run: (state: ShardState, members: readonly M[]) => BatchStep<R>,
  ): Promise<{ result: R; committed: boolean } & VersionedState> {
    return new Promise((resolve, reject) => {
      let batch = this.#batches.get(cmd) as BatchGroup<M, R> | undefined;
      if (batch === undefined) {
        const b: BatchGroup<M, R> = { members: [], waiters: [], run };
        batch = b;
        this.#batches.set(cmd, b as BatchGroup<unknown, unknown>);
        setImmediate(() => {
          this.#batches.delete(cmd);
          this.#enqueue([this.#batchMember(cmd, b)]);
        });
      }
      batch.members.push(member);
      batch.waiters.push({ resolve, reject });
    });
  }

  /** One queue entry running a batch's `run` over all its members; settles each member. */
  #batchMember<M, R>(cmd: string, b: BatchGroup<M, R>): GroupMember {
    let outcomes: BatchStep<R>["outcomes"] = [];
    let fetched = b.members.length === 1;
    return {
      cmd,
      f: (s) => {
        const step = b.run(s, b.members);
        outcomes = step.outcomes;
        const lone = outcomes[0];
        if (b.members.length === 1 && lone !== undefined && "error" in lone)
          return { error: lone.error };
        return step.write === undefined
          ? { result: undefined }
          : { write: step.write, result: undefined };
      },
      resolve: (out) => {
        this.#deps.metrics.groupedCommands.inc({ cmd }, b.members.length);
        b.waiters.forEach((w, i) => {
          const o = outcomes[i]!;
          if ("error" in o) w.reject(o.error);
          else
            w.resolve({
              result: o.result,
              committed: out.committed,
              seqNo: out.seqNo,
              state: out.state,
            });
        });
      },
      reject: (e) => {
        for (const w of b.waiters) w.reject(e);
      },
      // A group of more than one reads the head before its first attempt.
      prepare: fetched
        ? undefined
        : async () => {
            fetched = true;
            await this.fetch();
          },
    };
  }

  /**
   * Runs queued commands: one alone as `#apply`; several as one compare-and-set, each member's
   * function on its predecessors' result, after a head read (so an error a member computes is
   * judged against a state read during the call). Never rejects; settles every member.
   */
  async #runMembers(members: readonly GroupMember[]): Promise<void> {
    if (members.length === 1) {
      const m = members[0]!;
      try {
        await m.prepare?.();
      } catch (e) {
        m.reject(e);
        return;
      }
      await this.#apply(m.cmd, m.f).then(m.resolve, m.reject);
      return;
    }
    const cmd = members.every((m) => m.cmd === members[0]!.cmd) ? members[0]!.cmd : "grouped";
    try {
      await this.fetch();
      let outcomes: Array<{ error: unknown } | { result: unknown; wrote: boolean }> = [];
      const out = await this.#apply(cmd, (s0) => {
        outcomes = [];
        let s = s0;
        let wrote = false;
        for (const m of members) {
          let step: Step<unknown>;
          try {
            step = m.f(s);
          } catch (e) {
            step = { error: e as Error };
          }
          if ("error" in step) outcomes.push({ error: step.error });
          else {
            outcomes.push({ result: step.result, wrote: "write" in step });
            if ("write" in step) {
              s = step.write;
              wrote = true;
            }
          }
        }
        return wrote ? { write: s, result: undefined } : { result: undefined };
      });
      for (const m of members) this.#deps.metrics.groupedCommands.inc({ cmd: m.cmd });
      members.forEach((m, i) => {
        const o = outcomes[i]!;
        if ("error" in o) m.reject(o.error);
        else
          m.resolve({
            result: o.result,
            committed: out.committed && o.wrote,
            seqNo: out.seqNo,
            state: out.state,
          });
      });
    } catch (e) {
      for (const m of members) m.reject(e);
    }
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
