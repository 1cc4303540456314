/**
 * The replica lifecycle of one compute instance (materialize.md §4.2 "Replica task"), behind the
 * `ReplicaConnection` seam of `@mzts/controller-unified/replicas`: which replicas the instance
 * has, the current incarnation (epoch) of each, their connection metrics, and rehydration.
 *
 * ## Flow
 * 1. `add` starts incarnation 1 through the instance's connector (the legacy replica task or, in
 *    phase 3, the unified one; chosen per cluster by environmentd).
 * 2. `spawn` first tells the instance (`onSpawn`) so it can reset the replica's per-collection
 *    frontiers and holds, then builds the incarnation. Its replay is the history's reduced
 *    commands, read when the stream opens (`onReplay` runs right after that read). A peek
 *    targeted at one replica goes to that replica only, live and in replays (`forReplica`).
 * 3. Callbacks of other epochs or of a replaced replica state are ignored (stale incarnations);
 *    the current incarnation's responses and the commands written to it (replayed or live) are
 *    passed on (`onResponses`, `onCommandSent`); a peek answer is awaited (`awaitsPeek`) only
 *    from the current incarnation, as the instance says.
 * 4. A failed incarnation is rehydrated: `onDisconnected` (the instance fails targeted peeks and
 *    may quarantine a poison command, taking it out of the history), then epoch + 1 when the
 *    connector's rehydration policy says (the unified task's, `connector.rehydration`) — or, on
 *    the legacy path, at once, or when incarnations keep failing within `QUICK_FAILURE_MS` of
 *    their start (a crash loop, e.g. a replica refusing a replayed command), after a pause from
 *    `backoffDelayMs` (125 ms doubling, capped at 5 s, no jitter).
 * 5. `remove` takes a replica out (no more callbacks) and returns it for the caller to close.
 */

import {
  backoffDelayMs,
  type ReplicaConnection,
  type ReplicaConnectionState,
  type ReplicaConnectionTuning,
  type ReplicaConnector,
  type ReplicaRehydration,
} from "@mzts/controller-unified/replicas";
import {
  type ComputeCommand,
  type ComputeCommandHistory,
  type ComputeResponse,
  type HelloRefusal,
  helloRefusalOf,
} from "@mzts/protocol";
import { type ReplicaId, ReplicaId as ReplicaIds } from "@mzts/repr";
import type { Logger } from "pino";
import { ReplicaExists, ReplicaMissing } from "./errors.js";
import type { ControllerMetrics } from "./metrics.js";
import { commandTarget, type TargetOf } from "./targeted.js";

/** Where a replica's compute endpoint listens. */
export interface ReplicaLocation {
  /** `http://host:port` of the replica's compute gRPC endpoint (h2c). */
  readonly computeUrl: string;
}

/** The compute side of the replica seam. */
export type ComputeReplicaConnection = ReplicaConnection<ComputeCommand, ComputeResponse>;
/** Builds a compute replica incarnation; given to `createInstance` per instance (cluster). */
export type ComputeReplicaConnector = ReplicaConnector<ComputeCommand, ComputeResponse>;

/** What a caller can see of a replica. */
export interface ReplicaStatus {
  readonly replicaId: ReplicaId;
  /** The current incarnation (1, then + 1 per rehydration). */
  readonly epoch: number;
  readonly state: ReplicaConnectionState;
  /** Incarnations that failed so far. */
  readonly failures: number;
  /** `replica task failed: …` of the last failure, if any. */
  readonly lastError: string | undefined;
  /**
   * Set when the replica refused the last hello (stale generation: it accepted a higher one;
   * unauthenticated: the replica secret does not match). Whether a newer environmentd exists is
   * for the caller to check in the catalog.
   */
  readonly refusal: HelloRefusal | undefined;
}

/** One replica of the instance; replaced (not reused) when the replica is dropped and re-added. */
export interface ReplicaState {
  readonly id: ReplicaId;
  /** Updated by `updateLocation`; read at every connection attempt. */
  location: ReplicaLocation;
  /** The current incarnation; 0 before the first spawn. */
  epoch: number;
  /** The current incarnation's connection; replaced by every spawn. */
  connection: ComputeReplicaConnection;
  /** Incarnations that failed so far. */
  failures: number;
  lastError: string | undefined;
  refusal: HelloRefusal | undefined;
  /** Whether the current incarnation is counted in the connected gauge. */
  connected: boolean;
  /** When the current incarnation was spawned (ms), to tell a crash loop from a long run. */
  spawnedAt: number;
  /** Incarnations in a row that failed within `QUICK_FAILURE_MS` of their start. */
  quickFailures: number;
  /** A delayed respawn, while backing off a crash loop. */
  respawn: NodeJS.Timeout | undefined;
  /** The connector's rehydration schedule for this replica (unified path); undefined: legacy. */
  rehydration: ReplicaRehydration | undefined;
}

/** An incarnation that fails sooner than this after its start counts toward a crash loop. */
const QUICK_FAILURE_MS = 5000;
/** The pause between incarnations of a crash-looping replica: 125 ms doubling to 5 s, no jitter. */
const RESPAWN_BACKOFF = { initialMs: 125, maxMs: 5000, jitter: 0 } as const;

/** What the replicas need from their instance. */
export interface InstanceReplicasOptions {
  readonly instanceId: string;
  readonly generation: bigint;
  /** The environment's replica secret, handed to every incarnation (signs its hellos). */
  readonly replicaSecret?: Uint8Array;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly connector: ComputeReplicaConnector;
  readonly tuning?: ReplicaConnectionTuning;
  /** The instance's history: its reduced commands are every incarnation's replay. */
  readonly history: ComputeCommandHistory;
  /** Whether the instance is closed (no rehydration then). */
  isClosed(): boolean;
  /** Before an incarnation is built: reset the replica's per-collection state. */
  onSpawn(replicaId: ReplicaId): void;
  /** Right after an incarnation read its replay (the stream opened). */
  onReplay(replicaId: ReplicaId): void;
  /**
   * Responses of a replica's current incarnation; `arrivedAt`: when their stream message arrived,
   * if the replica task says (peek traces).
   */
  onResponses(
    replicaId: ReplicaId,
    responses: readonly ComputeResponse[],
    arrivedAt?: number,
  ): void;
  /**
   * Whether the instance still waits for an answer to peek `uuid` from `replicaId`'s current
   * incarnation; false: the answer is dropped undecoded (`ReplicaConnectionOptions.awaitsPeek`).
   */
  awaitsPeek(replicaId: ReplicaId, uuid: string): boolean;
  /** A command written to a replica's current incarnation (replayed or live). */
  onCommandSent(replicaId: ReplicaId, command: ComputeCommand): void;
  /** A replica's incarnation failed with `error` (before its rehydration reads the history). */
  onDisconnected(replicaId: ReplicaId, error: Error): void;
  /** The replica or connected count changed. */
  onGaugesChanged(): void;
  /** The owner of a replica-targeted subscribe's id (`targeted.ts`). */
  targetOf?: TargetOf;
}

/** The replicas of one instance and their current incarnations. */
export class InstanceReplicas {
  readonly #opts: InstanceReplicasOptions;
  readonly #replicas = new Map<ReplicaId, ReplicaState>();
  /** Builds every incarnation; the options' one until `reseat` replaces it. */
  #connector: ComputeReplicaConnector;

  /** Commands sent, counted into `mz_compute_commands_total` when it is scraped. */
  readonly #commandCounts: CommandCounts;
  /** Stops counting at scrapes (adds what is left first). */
  readonly #removeCommandCounts: () => void;

  constructor(opts: InstanceReplicasOptions) {
    this.#opts = opts;
    this.#connector = opts.connector;
    this.#commandCounts = new CommandCounts(opts.instanceId, opts.metrics);
    this.#removeCommandCounts = opts.metrics.addScrapeSource(() => this.#commandCounts.flush());
  }

  get size(): number {
    return this.#replicas.size;
  }

  /** Replicas whose current incarnation is connected. */
  get connectedCount(): number {
    let n = 0;
    for (const r of this.#replicas.values()) if (r.connected) n++;
    return n;
  }

  /** Whether some replica picked by `pick` is connected now. */
  anyConnected(pick: (replicaId: ReplicaId) => boolean): boolean {
    for (const [id, r] of this.#replicas) if (r.connected && pick(id)) return true;
    return false;
  }

  ids(): IterableIterator<ReplicaId> {
    return this.#replicas.keys();
  }

  /**
   * Adds a replica and starts its first incarnation.
   * @throws InvalidId (from `@mzts/repr`) when `replicaId` is not `u<n>`/`s<n>`.
   * @throws ReplicaExists when it is already a replica of this instance.
   */
  add(replicaId: ReplicaId, location: ReplicaLocation): void {
    ReplicaIds.parse(replicaId);
    if (this.#replicas.has(replicaId)) throw new ReplicaExists(this.#opts.instanceId, replicaId);
    const state: ReplicaState = {
      id: replicaId,
      location,
      epoch: 0,
      connection: undefined as unknown as ComputeReplicaConnection,
      failures: 0,
      lastError: undefined,
      refusal: undefined,
      connected: false,
      spawnedAt: 0,
      quickFailures: 0,
      respawn: undefined,
      rehydration: this.#connector.rehydration?.forReplica(),
    };
    this.#replicas.set(replicaId, state);
    this.#spawn(state, 1);
  }

  /** @throws ReplicaMissing */
  get(replicaId: ReplicaId): ReplicaState {
    const r = this.#replicas.get(replicaId);
    if (r === undefined) throw new ReplicaMissing(this.#opts.instanceId, replicaId);
    return r;
  }

  /**
   * Takes a replica out: no callback of its incarnations counts anymore. The caller closes the
   * returned state's connection. @throws ReplicaMissing
   */
  remove(replicaId: ReplicaId): ReplicaState {
    const r = this.get(replicaId);
    this.#replicas.delete(replicaId);
    clearTimeout(r.respawn);
    r.rehydration?.cancel();
    this.#setConnected(r, false);
    return r;
  }

  /**
   * Replaces the connector (a controller-side phase flipped on a running cluster) and gives every
   * replica its next incarnation through it: the old incarnation is closed, the new one replays
   * the reduced history with a fresh hello (same generation, new nonce), and the replica
   * reconciles it against what runs, keeping the dataflows it already has. Resolves when the
   * old incarnations have stopped.
   */
  async reseat(connector: ComputeReplicaConnector): Promise<void> {
    this.#connector = connector;
    const closing: Promise<void>[] = [];
    for (const r of this.#replicas.values()) {
      clearTimeout(r.respawn);
      r.respawn = undefined;
      r.rehydration?.cancel();
      r.rehydration = connector.rehydration?.forReplica();
      this.#setConnected(r, false);
      const old = r.connection;
      this.#spawn(r, r.epoch + 1); // old's callbacks are stale from here on (epoch moved)
      closing.push(old.close());
    }
    await Promise.all(closing);
  }

  statuses(): ReplicaStatus[] {
    return [...this.#replicas.values()].map((r) => ({
      replicaId: r.id,
      epoch: r.epoch,
      state: r.connection.state,
      failures: r.failures,
      lastError: r.lastError,
      refusal: r.refusal,
    }));
  }

  /**
   * Sends live commands to every replica's current incarnation — except a peek targeted at
   * another replica (`forReplica`).
   */
  send(commands: readonly ComputeCommand[]): void {
    for (const r of this.#replicas.values()) {
      const mine = forReplica(commands, r.id, this.#opts.targetOf);
      if (mine.length > 0) r.connection.send(mine);
    }
  }

  /** Removes every replica and resolves when their incarnations have stopped. */
  async close(): Promise<void> {
    const replicas = [...this.#replicas.values()];
    for (const r of replicas) {
      clearTimeout(r.respawn);
      r.rehydration?.cancel();
    }
    this.#replicas.clear();
    await Promise.all(replicas.map((r) => r.connection.close()));
    this.#removeCommandCounts();
  }

  /** Whether `epoch` is the current incarnation of the replica state `r` of this instance. */
  #current(r: ReplicaState, epoch: number): boolean {
    return this.#replicas.get(r.id) === r && r.epoch === epoch;
  }

  /** Starts incarnation `epoch` of `r` with the current reduced history. */
  #spawn(r: ReplicaState, epoch: number): void {
    const o = this.#opts;
    r.epoch = epoch;
    r.spawnedAt = Date.now();
    r.rehydration?.started();
    o.onSpawn(r.id);
    const labels = { instance_id: o.instanceId, replica_id: r.id };
    r.connection = this.#connector({
      instanceId: o.instanceId,
      replicaId: r.id,
      epoch,
      generation: o.generation,
      ...(o.replicaSecret === undefined ? {} : { replicaSecret: o.replicaSecret }),
      location: () => r.location.computeUrl,
      replay: () => {
        // Read when the stream opens: collections dropped (and created) since the spawn are not
        // in it, so this incarnation will never report on them either.
        const commands = forReplica(o.history.commands(), r.id, o.targetOf);
        if (this.#current(r, epoch)) o.onReplay(r.id);
        return commands;
      },
      logger: o.log.child({ replica_id: r.id, epoch }),
      ...(o.tuning !== undefined ? { tuning: o.tuning } : {}),
      onConnected: (e) => {
        if (!this.#current(r, e)) return;
        o.metrics.replicaConnectsTotal.inc(labels);
        o.metrics.replicaConnectWaitSeconds.inc(labels, (Date.now() - r.spawnedAt) / 1000);
        this.#setConnected(r, true);
        o.log.info({ replica_id: r.id, epoch: e }, "replica connected");
      },
      onResponses: (e, responses, arrivedAt) => {
        if (!this.#current(r, e)) return; // stale incarnation
        o.onResponses(r.id, responses, arrivedAt);
      },
      awaitsPeek: (uuid) => this.#current(r, epoch) && o.awaitsPeek(r.id, uuid),
      onFailed: (e, error) => {
        if (!this.#current(r, e) || o.isClosed()) return;
        this.#rehydrate(r, error);
      },
      onCommandSent: (c) => {
        this.#commandCounts.add(r.id, c.kind);
        if (this.#current(r, epoch)) o.onCommandSent(r.id, c);
      },
    });
  }

  #rehydrate(r: ReplicaState, error: Error): void {
    r.failures++;
    r.lastError = `replica task failed: ${error.message}`;
    r.refusal = helloRefusalOf(error);
    this.#setConnected(r, false);
    this.#opts.onDisconnected(r.id, error);
    if (r.rehydration !== undefined) {
      // The unified path: the task's one policy (at once, crash loops backed off with jitter).
      const failed = r.epoch;
      const delay = r.rehydration.failed(() => {
        if (this.#replicas.get(r.id) === r && !this.#opts.isClosed()) this.#spawn(r, failed + 1);
      });
      this.#opts.log.warn(
        { replica_id: r.id, epoch: failed, next_epoch: failed + 1, delay_ms: delay },
        `rehydrating replica ${r.id} after: ${r.lastError}`,
      );
      return;
    }
    // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired (the unified
    // replica task owns the rehydration policy and its crash-loop backoff, design §9 phase 3).
    // A replica that fails right after every start (e.g. it refuses a command of the replayed
    // history) is respawned with backoff instead of in a tight loop.
    r.quickFailures = Date.now() - r.spawnedAt < QUICK_FAILURE_MS ? r.quickFailures + 1 : 0;
    const delay =
      r.quickFailures <= 1 ? 0 : backoffDelayMs(r.quickFailures - 1, RESPAWN_BACKOFF, Math.random);
    this.#opts.log.warn(
      { replica_id: r.id, epoch: r.epoch, next_epoch: r.epoch + 1, delay_ms: delay },
      `rehydrating replica ${r.id} after: ${r.lastError}`,
    );
    if (delay === 0) {
      this.#spawn(r, r.epoch + 1);
      return;
    }
    const epoch = r.epoch + 1;
    r.respawn = setTimeout(() => {
      r.respawn = undefined;
      if (this.#replicas.get(r.id) === r && !this.#opts.isClosed()) this.#spawn(r, epoch);
    }, delay);
    r.respawn.unref();
  }

  #setConnected(r: ReplicaState, connected: boolean): void {
    if (r.connected === connected) return;
    r.connected = connected;
    this.#opts.onGaugesChanged();
  }
}

/**
 * The commands replica `replicaId` is sent: all but those targeted at another replica
 * (`targeted.ts`): peeks (only the target's answer counts, and every replica would otherwise
 * do — and log, in its introspection — a read nobody wants; Materialize sends a targeted peek to
 * its target only) and the commands of replica-targeted subscribes.
 */
export function forReplica(
  commands: readonly ComputeCommand[],
  replicaId: ReplicaId,
  targetOf?: TargetOf,
): readonly ComputeCommand[] {
  const other = (c: ComputeCommand) => {
    const target = commandTarget(c, targetOf);
    return target !== undefined && target !== replicaId;
  };
  return commands.some(other) ? commands.filter((c) => !other(c)) : commands;
}

/**
 * Commands sent per replica and type, added to `mz_compute_commands_total` when it is read
 * (`flush`, at a scrape): a peek and its cancel go to every replica for each API peek, and
 * a labelled `inc` hashes its labels each time (issue 16). The counter reads the same at any
 * scrape as if every command had been counted when sent.
 */
class CommandCounts {
  readonly #instanceId: string;
  readonly #metrics: ControllerMetrics;
  /** Not yet added, by replica and command type. */
  readonly #pending = new Map<ReplicaId, Map<ComputeCommand["kind"], number>>();

  constructor(instanceId: string, metrics: ControllerMetrics) {
    this.#instanceId = instanceId;
    this.#metrics = metrics;
  }

  add(replicaId: ReplicaId, kind: ComputeCommand["kind"]): void {
    let byKind = this.#pending.get(replicaId);
    if (byKind === undefined) {
      byKind = new Map();
      this.#pending.set(replicaId, byKind);
    }
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }

  flush(): void {
    for (const [replicaId, byKind] of this.#pending) {
      for (const [kind, n] of byKind) {
        this.#metrics.commandsTotal.inc(
          { instance_id: this.#instanceId, replica_id: replicaId, command_type: kind },
          n,
        );
      }
    }
    this.#pending.clear();
  }
}
