/**
 * Mirror replicas of a `state` migration stage (docs/design/20261207_migration_stages.md,
 * "Phase 5"): one hub per shadowed cluster through which the shadow controller sees the
 * replicas the authoritative controller drives, without a byte on the network.
 *
 * - **Taps** (`tap`, `tapCluster`): the authoritative controller's connectors are wrapped; each
 *   incarnation's replay, live sends, `onConnected`, `onResponses`, `onFailed` (and a close) also
 *   reach the hub, per replica and workload (compute, storage; a one-port stream counts for both).
 * - **Mirrors** (`mirror`): the shadow controller's connectors. A mirror connection of replica
 *   `r` connects (in a microtask) once the authoritative incarnation of `r` for its workload is
 *   connected: it reads its own replay then (recorded), then receives that incarnation's
 *   responses; responses arriving while no mirror is up (the shadow's reconnect backoff) are
 *   buffered for the next one, at most `MAX_BUFFERED` per incarnation (an overflow is counted
 *   and logged once per incarnation). It fails when the authoritative incarnation fails or
 *   closes. What the shadow sends is recorded, never sent.
 * - **Peeks**: each controller names its peeks with its own uuids. Per replica, the shadow's
 *   Peek commands are paired with the authoritative's in issue order among peeks of the same
 *   content (target, timestamp, plan: the composite issues both peeks synchronously), replays
 *   included once; a `PeekResponse` (a canceled one too) reaching the shadow carries the paired
 *   uuid. Unpaired queues are bounded (`MAX_UNPAIRED` per replica, oldest dropped). A tapped
 *   task asks `awaitsPeek` (issue 16): an answer is awaited while the authoritative or the
 *   shadow (for the paired peek) awaits it; one neither awaits is dropped and its pair forgotten.
 * - **Replays compared** (`takeReplays`): for each incarnation the shadow attached to, its replay
 *   and the authoritative's, normalised (`normalizeCommands`: peek uuids by first appearance,
 *   hello nonces dropped). The pair is comparable only when the authoritative sent no live
 *   command between reading its replay and the shadow reading its own.
 *
 * ## Invariants
 * - Nothing of the shadow ever reaches a replica; the authoritative's traffic is never delayed
 *   or altered (its callbacks run first, the hub's after).
 * - A hub callback never throws into a connection (`#safely`).
 */
import type { ReplicaConnection, ReplicaConnector } from "@mzts/controller-unified";
import type {
  ClusterCommand,
  ClusterResponse,
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Logger } from "pino";

/** A replica stream's workload. */
export type Workload = "compute" | "storage";
type Command = ComputeCommand | StorageCommand;
type Response = ComputeResponse | StorageResponse;

/** Responses buffered per authoritative incarnation while no mirror is up. */
export const MAX_BUFFERED = 10_000;
/** Unpaired peeks kept per replica and side. */
export const MAX_UNPAIRED = 1_000;

/** One authoritative incarnation of one replica's workload. */
interface AuthIncarnation {
  readonly replicaId: string;
  readonly workload: Workload;
  connected: boolean;
  over: boolean;
  replay: readonly Command[] | undefined;
  /** Live commands sent after the replay was read. */
  liveSends: number;
  buffer: Response[];
  overflowed: boolean;
  readonly mirrors: Set<Mirror>;
}

/** One mirror connection (an incarnation of the shadow's). */
interface Mirror {
  readonly replicaId: string;
  readonly workload: Workload;
  readonly epoch: number;
  readonly replay: () => readonly Command[];
  onConnected(epoch: number): void;
  onResponses(epoch: number, responses: readonly Response[]): void;
  onFailed(epoch: number, error: Error): void;
  onCommandSent(command: Command): void;
  /** The shadow incarnation's `awaitsPeek` (absent: it decodes every answer). */
  readonly awaitsPeek: ((uuid: string) => boolean) | undefined;
  state: "connecting" | "connected" | "failed" | "closed";
}

interface Slot {
  auth: AuthIncarnation | undefined;
  readonly waiting: Set<Mirror>;
}

/** The replays of one incarnation on both sides (see the file comment). */
export interface ReplayPair {
  readonly replicaId: string;
  readonly workload: Workload;
  readonly authoritative: readonly unknown[];
  readonly shadow: readonly unknown[];
  /** False when the authoritative sent live commands before the shadow read its replay. */
  readonly comparable: boolean;
}

/** Peek pairing of one replica (see the file comment). */
class PeekPairs {
  readonly #seen = { auth: new Set<string>(), shadow: new Set<string>() };
  readonly #queues = { auth: new Map<string, string[]>(), shadow: new Map<string, string[]>() };
  /** Authoritative uuid → the shadow's. */
  readonly pairs = new Map<string, string>();

  issued(side: "auth" | "shadow", commands: readonly Command[]): void {
    for (const c of commands) {
      if (c.kind !== "peek") continue;
      const { uuid, ...rest } = c.peek;
      if (this.#seen[side].has(uuid)) continue;
      this.#seen[side].add(uuid);
      const key = stableJson(rest);
      const other = side === "auth" ? "shadow" : "auth";
      const waiting = this.#queues[other].get(key);
      const match = waiting?.shift();
      if (waiting !== undefined && waiting.length === 0) this.#queues[other].delete(key);
      if (match !== undefined) {
        if (side === "auth") this.pairs.set(uuid, match);
        else this.pairs.set(match, uuid);
        continue;
      }
      const q = this.#queues[side].get(key) ?? [];
      q.push(uuid);
      if (q.length > MAX_UNPAIRED) this.#seen[side].delete(q.shift() ?? "");
      this.#queues[side].set(key, q);
    }
  }

  /** The shadow's uuid for an answered authoritative peek (forgotten afterwards). */
  answered(authUuid: string): string | undefined {
    const shadow = this.pairs.get(authUuid);
    this.pairs.delete(authUuid);
    this.#seen.auth.delete(authUuid);
    if (shadow !== undefined) this.#seen.shadow.delete(shadow);
    return shadow;
  }
}

/** What the hub counts (tests, logs). */
export interface MirrorCounters {
  /** Responses dropped because a buffer was full. */
  overflowed: number;
  /** Peek responses that reached the shadow without a paired uuid. */
  unpaired: number;
}

/** The mirror hub of one cluster (see the file comment). */
export class MirrorHub {
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  readonly #peeks = new Map<string, PeekPairs>();
  readonly #replays: ReplayPair[] = [];
  readonly counters: MirrorCounters = { overflowed: 0, unpaired: 0 };
  #closed = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The authoritative controller's per-workload connector, tapped. */
  tap<C extends Command, R extends Response>(
    workload: Workload,
    connector: ReplicaConnector<C, R>,
  ): ReplicaConnector<C, R> {
    const tapped: ReplicaConnector<C, R> = (o) => {
      const inc = this.#authStart(o.replicaId, workload);
      const conn = connector({
        ...o,
        ...this.#awaits(inc, o),
        replay: () => {
          const r = o.replay();
          this.#safely(() => this.#authReplay(inc, r));
          return r;
        },
        onConnected: (e) => {
          o.onConnected(e);
          this.#safely(() => this.#authConnected(inc));
        },
        onResponses: (e, rs) => {
          o.onResponses(e, rs);
          this.#safely(() => this.#authResponses(inc, rs));
        },
        onFailed: (e, err) => {
          o.onFailed(e, err);
          this.#safely(() => this.#authEnded(inc, err.message));
        },
      });
      return this.#tappedConnection(conn, (cs) => this.#safely(() => this.#authSent(inc, cs)), [
        inc,
      ]);
    };
    return withRehydration(tapped, connector);
  }

  /** The authoritative controller's one-port connector, tapped (both workloads). */
  tapCluster(
    connector: ReplicaConnector<ClusterCommand, ClusterResponse>,
  ): ReplicaConnector<ClusterCommand, ClusterResponse> {
    const tapped: ReplicaConnector<ClusterCommand, ClusterResponse> = (o) => {
      const incs = {
        compute: this.#authStart(o.replicaId, "compute"),
        storage: this.#authStart(o.replicaId, "storage"),
      };
      const both = [incs.compute, incs.storage];
      const split = (cs: readonly ClusterCommand[]) => {
        for (const w of ["compute", "storage"] as const) {
          this.#authSent(
            incs[w],
            cs.flatMap((c) => (c.kind === w ? [c.command] : [])),
          );
        }
      };
      const conn = connector({
        ...o,
        ...this.#awaits(incs.compute, o),
        replay: () => {
          const r = o.replay();
          this.#safely(() => {
            for (const w of ["compute", "storage"] as const)
              this.#authReplay(
                incs[w],
                r.flatMap((c) => (c.kind === w ? [c.command] : [])),
              );
          });
          return r;
        },
        onConnected: (e) => {
          o.onConnected(e);
          this.#safely(() => {
            for (const i of both) this.#authConnected(i);
          });
        },
        onResponses: (e, rs) => {
          o.onResponses(e, rs);
          this.#safely(() => {
            for (const w of ["compute", "storage"] as const) {
              const mine = rs.flatMap((r) => (r.kind === w ? [r.response] : []));
              if (mine.length > 0) this.#authResponses(incs[w], mine);
            }
          });
        },
        onFailed: (e, err) => {
          o.onFailed(e, err);
          this.#safely(() => {
            for (const i of both) this.#authEnded(i, err.message);
          });
        },
      });
      return this.#tappedConnection(conn, (cs) => this.#safely(() => split(cs)), both);
    };
    return withRehydration(tapped, connector);
  }

  /** The shadow controller's connector for `workload`: mirror connections (no network). */
  mirror<C extends Command, R extends Response>(workload: Workload): ReplicaConnector<C, R> {
    return (o): ReplicaConnection<C, R> => {
      const m: Mirror = {
        replicaId: o.replicaId,
        workload,
        epoch: o.epoch,
        replay: o.replay,
        onConnected: (e) => o.onConnected(e),
        onResponses: (e, rs) => o.onResponses(e, rs as readonly R[]),
        onFailed: (e, err) => o.onFailed(e, err),
        onCommandSent: (c) => o.onCommandSent?.(c as C),
        awaitsPeek: o.awaitsPeek === undefined ? undefined : (uuid) => o.awaitsPeek?.(uuid) ?? true,
        state: "connecting",
      };
      const slot = this.#slot(o.replicaId, workload);
      slot.waiting.add(m);
      if (slot.auth?.connected === true && !slot.auth.over) this.#attachSoon(m, slot.auth);
      return {
        epoch: o.epoch,
        get state() {
          return m.state;
        },
        send: (commands) => {
          if (m.state !== "connected") return;
          for (const c of commands) o.onCommandSent?.(c);
          if (workload === "compute") this.#pairs(o.replicaId).issued("shadow", commands);
        },
        close: async () => {
          if (m.state === "connecting" || m.state === "connected") m.state = "closed";
          this.#detach(m);
        },
      };
    };
  }

  /** The replay pairs recorded since the last call (oldest first). */
  takeReplays(): ReplayPair[] {
    return this.#replays.splice(0);
  }

  /** Forgets a dropped replica (its peek pairs and buffers). */
  forgetReplica(replicaId: string): void {
    this.#peeks.delete(replicaId);
    for (const w of ["compute", "storage"] as const) {
      const slot = this.#slots.get(key(replicaId, w));
      if (slot?.auth !== undefined) slot.auth.buffer = [];
      if (slot !== undefined && slot.waiting.size === 0 && slot.auth?.over !== false)
        this.#slots.delete(key(replicaId, w));
    }
  }

  /** Stops delivering anything, failures included (the composite closes). */
  close(): void {
    this.#closed = true;
    this.#slots.clear();
    this.#peeks.clear();
  }

  // --- the authoritative side -----------------------------------------------------------------

  #tappedConnection<C, R>(
    conn: ReplicaConnection<C, R>,
    sent: (commands: readonly C[]) => void,
    incs: readonly AuthIncarnation[],
  ): ReplicaConnection<C, R> {
    return {
      epoch: conn.epoch,
      get state() {
        return conn.state;
      },
      send: (commands) => {
        conn.send(commands);
        if (conn.state === "connected") sent(commands);
      },
      close: async () => {
        this.#safely(() => {
          for (const i of incs) this.#authEnded(i, "closed by its controller");
        });
        await conn.close();
      },
    };
  }

  /**
   * The tapped connection's `awaitsPeek` (issue 16): the authoritative's, or — when it no longer
   * waits — the shadow's for the paired peek (the shadow needs the replica's answer too; with no
   * mirror up it is buffered, so awaited). An answer neither awaits is dropped undecoded, so its
   * pair is forgotten here (`#rewritePeeks` never sees it).
   */
  #awaits(
    inc: AuthIncarnation,
    o: { awaitsPeek?(uuid: string): boolean },
  ): { awaitsPeek?: (uuid: string) => boolean } {
    if (o.awaitsPeek === undefined) return {};
    return {
      awaitsPeek: (uuid) => {
        if (o.awaitsPeek?.(uuid) !== false) return true;
        let shadow = false;
        this.#safely(() => {
          shadow = this.#shadowAwaits(inc, uuid);
        });
        return shadow;
      },
    };
  }

  #shadowAwaits(inc: AuthIncarnation, uuid: string): boolean {
    const pairs = this.#peeks.get(inc.replicaId);
    const paired = pairs?.pairs.get(uuid);
    if (inc.over || this.#closed || pairs === undefined || paired === undefined) return false;
    const [m] = inc.mirrors;
    const awaited = m?.state !== "connected" || m.awaitsPeek === undefined || m.awaitsPeek(paired);
    if (!awaited) pairs.answered(uuid);
    return awaited;
  }

  #authStart(replicaId: string, workload: Workload): AuthIncarnation {
    const slot = this.#slot(replicaId, workload);
    if (slot.auth !== undefined && !slot.auth.over) this.#authEnded(slot.auth, "replaced");
    const inc: AuthIncarnation = {
      replicaId,
      workload,
      connected: false,
      over: false,
      replay: undefined,
      liveSends: 0,
      buffer: [],
      overflowed: false,
      mirrors: new Set(),
    };
    slot.auth = inc;
    return inc;
  }

  #authReplay(inc: AuthIncarnation, replay: readonly Command[]): void {
    inc.replay = replay;
    inc.liveSends = 0;
    if (inc.workload === "compute") this.#pairs(inc.replicaId).issued("auth", replay);
  }

  #authSent(inc: AuthIncarnation, commands: readonly Command[]): void {
    if (commands.length === 0) return;
    inc.liveSends += commands.length;
    if (inc.workload === "compute") this.#pairs(inc.replicaId).issued("auth", commands);
  }

  #authConnected(inc: AuthIncarnation): void {
    if (inc.over || this.#closed) return;
    inc.connected = true;
    const slot = this.#slot(inc.replicaId, inc.workload);
    for (const m of slot.waiting) this.#attachSoon(m, inc);
  }

  #authResponses(inc: AuthIncarnation, responses: readonly Response[]): void {
    if (inc.over || this.#closed) return;
    const out =
      inc.workload === "compute" ? this.#rewritePeeks(inc.replicaId, responses) : responses;
    const [m] = inc.mirrors;
    if (m !== undefined && m.state === "connected") {
      m.onResponses(m.epoch, out);
      return;
    }
    const room = MAX_BUFFERED - inc.buffer.length;
    inc.buffer.push(...out.slice(0, Math.max(0, room)));
    if (out.length > room) {
      this.counters.overflowed += out.length - Math.max(0, room);
      if (!inc.overflowed) {
        inc.overflowed = true;
        this.#log.warn(
          { replica_id: inc.replicaId, workload: inc.workload, max: MAX_BUFFERED },
          "state shadow: mirror buffer full, responses dropped (the shadow will diverge)",
        );
      }
    }
  }

  #rewritePeeks(replicaId: string, responses: readonly Response[]): Response[] {
    const pairs = this.#pairs(replicaId);
    return responses.map((r) => {
      if (r.kind !== "peekResponse") return r;
      const uuid = pairs.answered(r.uuid);
      if (uuid !== undefined) return { ...r, uuid };
      this.counters.unpaired += 1;
      return r;
    });
  }

  #authEnded(inc: AuthIncarnation, reason: string): void {
    if (inc.over) return;
    inc.over = true;
    inc.buffer = [];
    if (this.#closed) return; // the composite is closing: the shadow is closed, not failed
    for (const m of [...inc.mirrors]) {
      inc.mirrors.delete(m);
      if (m.state !== "connected") continue;
      m.state = "failed";
      m.onFailed(m.epoch, new Error(`the authoritative incarnation ended: ${reason}`));
    }
  }

  // --- the shadow side ------------------------------------------------------------------------

  #attachSoon(m: Mirror, inc: AuthIncarnation): void {
    queueMicrotask(() =>
      this.#safely(() => {
        if (m.state !== "connecting" || inc.over || !inc.connected || this.#closed) return;
        if (inc.mirrors.size > 0) return; // one mirror per incarnation at a time
        this.#slot(m.replicaId, m.workload).waiting.delete(m);
        m.state = "connected";
        inc.mirrors.add(m);
        const replay = m.replay();
        for (const c of replay) m.onCommandSent(c);
        if (m.workload === "compute") this.#pairs(m.replicaId).issued("shadow", replay);
        if (inc.replay !== undefined) {
          this.#replays.push({
            replicaId: m.replicaId,
            workload: m.workload,
            authoritative: normalizeCommands(inc.replay),
            shadow: normalizeCommands(replay),
            comparable: inc.liveSends === 0,
          });
          if (this.#replays.length > 100) this.#replays.shift();
        }
        m.onConnected(m.epoch);
        const buffered = inc.buffer;
        inc.buffer = [];
        if (buffered.length > 0 && m.state === "connected") m.onResponses(m.epoch, buffered);
      }),
    );
  }

  #detach(m: Mirror): void {
    const slot = this.#slots.get(key(m.replicaId, m.workload));
    if (slot === undefined) return;
    slot.waiting.delete(m);
    const inc = slot.auth;
    if (inc === undefined || !inc.mirrors.delete(m)) return;
    // The incarnation is free again: a waiting mirror (the shadow's next) may take it.
    if (inc.connected && !inc.over) for (const w of slot.waiting) this.#attachSoon(w, inc);
  }

  #slot(replicaId: string, workload: Workload): Slot {
    const k = key(replicaId, workload);
    let s = this.#slots.get(k);
    if (s === undefined) this.#slots.set(k, (s = { auth: undefined, waiting: new Set() }));
    return s;
  }

  #pairs(replicaId: string): PeekPairs {
    let p = this.#peeks.get(replicaId);
    if (p === undefined) this.#peeks.set(replicaId, (p = new PeekPairs()));
    return p;
  }

  #safely(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#log.warn({ err }, "state shadow: mirror hub failed on a callback; ignored");
    }
  }
}

function key(replicaId: string, workload: Workload): string {
  return `${replicaId}\u0000${workload}`;
}

function withRehydration<C, R>(
  tapped: ReplicaConnector<C, R>,
  inner: ReplicaConnector<C, R>,
): ReplicaConnector<C, R> {
  return inner.rehydration === undefined
    ? tapped
    : Object.assign(tapped, { rehydration: inner.rehydration });
}

/**
 * Commands made comparable across controllers: peek uuids renamed by first appearance
 * (`peek#0`, …; a cancel by the same name), hello nonces dropped, bigints as strings.
 */
export function normalizeCommands(commands: readonly Command[]): unknown[] {
  const names = new Map<string, string>();
  const name = (uuid: string) => {
    let n = names.get(uuid);
    if (n === undefined) names.set(uuid, (n = `peek#${names.size}`));
    return n;
  };
  return commands.map((c) => {
    if (c.kind === "hello") return { kind: "hello" };
    if (c.kind === "peek")
      return JSON.parse(stableJson({ ...c, peek: { ...c.peek, uuid: name(c.peek.uuid) } }));
    if (c.kind === "cancelPeek") return { kind: "cancelPeek", uuid: name(c.uuid) };
    return JSON.parse(stableJson(c));
  });
}

/** JSON with sorted keys, bigints as `<n>n` strings and Maps as entry lists. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Map) return [...v.entries()];
    if (v instanceof Set) return [...v];
    if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, o[k]]),
      );
    }
    return v;
  });
}
