/**
 * One incarnation (epoch) of one replica, as the unified driver (`unified-cluster-controller.ts`)
 * sees it: the replica connections that carry its `ClusterCommand`s, built through the existing
 * `ReplicaConnector` seam (`../replicas/replica-connection.ts`).
 *
 * ## Layouts
 * - **two-port**: one compute and one storage connection (the unified replica tasks that
 *   compute-client's and storage-client's `connectUnified*Replica` build — passed in, since this
 *   package cannot import them). Each reads its workload's slice of the replay when its stream
 *   opens; the outbox is split by `command.kind`.
 * - **one-port** (phase 4 `client`): one connection carrying `ClusterCommand`s as they are.
 *
 * ## Contract
 * - `onConnected(epoch)` once, when every connection of the incarnation is connected.
 * - Responses are delivered as `ClusterResponse`s, in arrival order per connection.
 * - The first failure of any connection fails the whole incarnation: the others are closed,
 *   `onFailed(epoch, error)` fires exactly once, nothing is delivered afterwards (a replica whose
 *   compute stream broke is replayed on both — one health record, one epoch per replica).
 * - `close()` closes every connection without `onFailed`; no callback fires afterwards.
 */
import type {
  ClusterCommand,
  ClusterResponse,
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { invariant } from "@mzts/repr";
import type { Logger } from "pino";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionTuning,
  ReplicaConnector,
} from "../replicas/replica-connection.js";
import type { ClusterReplicaLocation } from "./cluster-controller.js";
import type { Workload } from "./collection-table.js";
import type { OutgoingCommand } from "./state-io.js";

/** The connectors a unified cluster controller takes, per layout it serves. */
export interface ClusterConnectors {
  /** Two-port layout: compute-client's `connectUnifiedComputeReplica` (or a fake). */
  readonly compute?: ReplicaConnector<ComputeCommand, ComputeResponse>;
  /** Two-port layout: storage-client's `connectUnifiedStorageReplica` (or a fake). */
  readonly storage?: ReplicaConnector<StorageCommand, StorageResponse>;
  /** One-port layout (phase 4): a `ClusterService.Control` connector. */
  readonly cluster?: ReplicaConnector<ClusterCommand, ClusterResponse>;
}

/** What an incarnation needs from its driver. */
export interface IncarnationOptions {
  readonly clusterId: string;
  readonly replicaId: string;
  readonly epoch: number;
  readonly generation: bigint;
  readonly replicaSecret?: Uint8Array;
  readonly logger: Logger;
  readonly tuning?: ReplicaConnectionTuning;
  readonly connectors: ClusterConnectors;
  /** The replica's current location (read at every connection attempt). */
  location(): ClusterReplicaLocation;
  /** The replay of this incarnation (the whole reduced history), read when a stream opens. */
  replay(): readonly ClusterCommand[];
  onConnected(epoch: number): void;
  onResponses(epoch: number, responses: readonly ClusterResponse[]): void;
  onFailed(epoch: number, error: Error): void;
  /**
   * Whether this incarnation's answer to compute peek `uuid` is still awaited; false: the
   * connection may drop it undecoded (`ReplicaConnectionOptions.awaitsPeek`, issue 16).
   */
  awaitsPeek?(uuid: string): boolean;
  /** Every command written to the replica (replayed or live), as a `ClusterCommand`. */
  onCommandSent?(epoch: number, command: ClusterCommand): void;
}

type Link =
  | { readonly kind: "compute"; readonly conn: ReplicaConnection<ComputeCommand, ComputeResponse> }
  | { readonly kind: "storage"; readonly conn: ReplicaConnection<StorageCommand, StorageResponse> }
  | { readonly kind: "cluster"; readonly conn: ReplicaConnection<ClusterCommand, ClusterResponse> };

/** One incarnation of one replica (see the file comment). */
export class ReplicaIncarnation {
  readonly epoch: number;
  readonly layout: ClusterReplicaLocation["layout"];
  readonly #links: Link[] = [];
  readonly #connected = new Set<Link["kind"]>();
  #over = false;

  constructor(opts: IncarnationOptions) {
    this.epoch = opts.epoch;
    this.layout = opts.location().layout;
    const base = {
      instanceId: opts.clusterId,
      replicaId: opts.replicaId,
      epoch: opts.epoch,
      generation: opts.generation,
      ...(opts.replicaSecret === undefined ? {} : { replicaSecret: opts.replicaSecret }),
      logger: opts.logger,
      ...(opts.tuning === undefined ? {} : { tuning: opts.tuning }),
    };
    const awaits = opts.awaitsPeek;
    const awaitsPeek =
      awaits === undefined ? {} : { awaitsPeek: (uuid: string) => !this.#over && awaits(uuid) };
    const sent = (command: ClusterCommand) => {
      if (!this.#over) opts.onCommandSent?.(this.epoch, command);
    };
    const callbacks = <R>(kind: Link["kind"], wrap: (r: R) => ClusterResponse) => ({
      onConnected: () => {
        if (this.#over) return;
        this.#connected.add(kind);
        if (this.#connected.size === this.#links.length) opts.onConnected(this.epoch);
      },
      onResponses: (_epoch: number, responses: readonly R[]) => {
        if (!this.#over) opts.onResponses(this.epoch, responses.map(wrap));
      },
      onFailed: (_epoch: number, error: Error) => {
        if (this.#over) return;
        this.#over = true;
        for (const l of this.#links) if (l.kind !== kind) void l.conn.close();
        opts.onFailed(this.epoch, error);
      },
    });
    const slice = <W extends Workload>(w: W) =>
      opts.replay().flatMap((c) => (c.kind === w ? [c.command] : [])) as W extends "compute"
        ? ComputeCommand[]
        : StorageCommand[];
    const url = (pick: (l: ClusterReplicaLocation) => string | undefined, fallback: string) => () =>
      pick(opts.location()) ?? fallback;
    const { connectors } = opts;
    if (this.layout === "one-port") {
      const connect = connectors.cluster;
      invariant(connect !== undefined, "no cluster connector (the driver checks the layout)");
      const first = clusterUrl(opts.location()) ?? "";
      const o: ReplicaConnectionOptions<ClusterCommand, ClusterResponse> = {
        ...base,
        location: url(clusterUrl, first),
        replay: () => opts.replay(),
        onCommandSent: sent,
        ...awaitsPeek,
        ...callbacks<ClusterResponse>("cluster", (r) => r),
      };
      this.#links.push({ kind: "cluster", conn: connect(o) });
      return;
    }
    const { compute, storage } = connectors;
    invariant(
      compute !== undefined && storage !== undefined,
      "no two-port connectors (the driver checks the layout)",
    );
    const loc = opts.location();
    const computeFirst = loc.layout === "two-port" ? loc.computeUrl : "";
    const storageFirst = loc.layout === "two-port" ? loc.storageUrl : "";
    // Both links are pushed before either can connect (connectors connect asynchronously).
    const c = compute({
      ...base,
      location: url((l) => (l.layout === "two-port" ? l.computeUrl : undefined), computeFirst),
      replay: () => slice("compute"),
      onCommandSent: (command: ComputeCommand) => sent({ kind: "compute", command }),
      ...awaitsPeek,
      ...callbacks<ComputeResponse>("compute", (response) => ({ kind: "compute", response })),
    });
    this.#links.push({ kind: "compute", conn: c });
    const s = storage({
      ...base,
      location: url((l) => (l.layout === "two-port" ? l.storageUrl : undefined), storageFirst),
      replay: () => slice("storage"),
      onCommandSent: (command: StorageCommand) => sent({ kind: "storage", command }),
      ...callbacks<StorageResponse>("storage", (response) => ({ kind: "storage", response })),
    });
    this.#links.push({ kind: "storage", conn: s });
  }

  /** Whether every connection is connected (and none failed). */
  get connected(): boolean {
    return !this.#over && this.#connected.size === this.#links.length;
  }

  /** Sends live commands (to the right connection per workload on two ports). */
  send(commands: readonly OutgoingCommand[]): void {
    if (this.#over || commands.length === 0) return;
    for (const link of this.#links) {
      if (link.kind === "cluster") link.conn.send(commands.map((c) => c.command));
      else if (link.kind === "compute") link.conn.send(commandsOf(commands, "compute"));
      else link.conn.send(commandsOf(commands, "storage"));
    }
  }

  /** The replica was seen (re)starting: every connection's backoff pause ends now. */
  retryNow(): void {
    for (const l of this.#links) l.conn.retryNow?.();
  }

  /** Closes every connection (no `onFailed`). */
  async close(): Promise<void> {
    this.#over = true;
    await Promise.all(this.#links.map((l) => l.conn.close()));
  }
}

function clusterUrl(l: ClusterReplicaLocation): string | undefined {
  return l.layout === "one-port" ? l.clusterUrl : undefined;
}

function commandsOf(commands: readonly OutgoingCommand[], w: "compute"): ComputeCommand[];
function commandsOf(commands: readonly OutgoingCommand[], w: "storage"): StorageCommand[];
function commandsOf(
  commands: readonly OutgoingCommand[],
  w: Workload,
): (ComputeCommand | StorageCommand)[] {
  const out: (ComputeCommand | StorageCommand)[] = [];
  for (const c of commands) if (c.command.kind === w) out.push(c.command.command);
  return out;
}
