/**
 * `ClusterConnection`: one incarnation of one replica for a controller that speaks
 * `ClusterCommand`s itself — the unified cluster controller (phase 5, `./state`) — on the
 * replica's ONE cluster stream (`replica-stream.ts`). It is the pair of sub-connections a compute
 * and a storage instance would attach (`SubConnection`, storage first), under one epoch and one
 * set of callbacks, so the stream machinery (hellos signed per sub-protocol, one request message
 * per join and per turn, demultiplexing, retiring) is the phase 4 one, unchanged.
 *
 * ## Contract (the `ReplicaConnection` seam over `ClusterCommand`/`ClusterResponse`)
 * - `onConnected(epoch)` once, when both sub-protocols joined the stream (one join: both hellos
 *   and both replays go in the stream's first request message).
 * - `replay()` is read once per join: each sub-protocol's slice of it goes after its hello.
 * - `send` splits the commands into runs by kind, in order; a turn's runs share one message.
 * - Responses arrive as `ClusterResponse`s in arrival order. The first failure of either
 *   sub-connection (they fail together with the stream) is `onFailed` once; the other is closed.
 * - `close()` detaches both; the last member out closes the stream.
 */
import type {
  ClusterCommand,
  ClusterResponse,
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
} from "../replicas/replica-connection.js";
import { SubConnection } from "./sub-connection.js";
import {
  computeSubProtocol,
  type SubProtocol,
  type SubProtocolKind,
  storageSubProtocol,
} from "./sub-protocol.js";

type AnySub = SubConnection<unknown, unknown>;

/** One replica incarnation carrying both sub-protocols (see the file comment). */
export class ClusterConnection implements ReplicaConnection<ClusterCommand, ClusterResponse> {
  readonly epoch: number;
  readonly #storage: SubConnection<StorageCommand, StorageResponse>;
  readonly #compute: SubConnection<ComputeCommand, ComputeResponse>;
  readonly #joined = new Set<SubProtocolKind>();
  /** The slice of the other sub-protocol, read with the first one's replay (one read per join). */
  readonly #pending = new Map<SubProtocolKind, unknown[]>();
  #failed = false;

  /** @param attach attaches a sub-connection to its replica's stream (`ClusterStreams`). */
  constructor(
    o: ReplicaConnectionOptions<ClusterCommand, ClusterResponse>,
    attach: (sub: AnySub) => void,
  ) {
    this.epoch = o.epoch;
    const sub = <C, R>(protocol: SubProtocol<C, R>): SubConnection<C, R> => {
      const kind = protocol.kind;
      return new SubConnection<C, R>(protocol, {
        ...o,
        replay: () => this.#replay(kind, o) as C[],
        onConnected: () => {
          this.#joined.add(kind);
          if (this.#joined.size === 2) o.onConnected(this.epoch);
        },
        onResponses: (_epoch, responses) =>
          o.onResponses(
            this.epoch,
            responses.map((response) => ({ kind, response }) as ClusterResponse),
          ),
        onFailed: (_epoch, error) => {
          if (this.#failed) return;
          this.#failed = true;
          void this.close();
          o.onFailed(this.epoch, error);
        },
        onCommandSent: (c) => o.onCommandSent?.(protocol.wrap(c)),
      });
    };
    this.#storage = sub(storageSubProtocol);
    this.#compute = sub(computeSubProtocol);
    // Storage first: its replay (ingestions) goes before the dataflows that read them.
    attach(this.#storage as AnySub);
    attach(this.#compute as AnySub);
  }

  get state(): ReplicaConnectionState {
    if (this.#failed) return "failed";
    const s = this.#storage.state;
    const c = this.#compute.state;
    if (s === "closed" || c === "closed") return "closed";
    return s === "connected" && c === "connected" ? "connected" : "connecting";
  }

  send(commands: readonly ClusterCommand[]): void {
    let i = 0;
    while (i < commands.length) {
      const kind = commands[i]?.kind;
      const run: unknown[] = [];
      for (; i < commands.length && commands[i]?.kind === kind; i++) {
        run.push((commands[i] as ClusterCommand).command);
      }
      if (kind === "storage") this.#storage.send(run as StorageCommand[]);
      else this.#compute.send(run as ComputeCommand[]);
    }
  }

  retryNow(): void {
    this.#storage.retryNow();
    this.#compute.retryNow();
  }

  async close(): Promise<void> {
    await Promise.all([this.#storage.close(), this.#compute.close()]);
  }

  #replay(
    kind: SubProtocolKind,
    o: ReplicaConnectionOptions<ClusterCommand, ClusterResponse>,
  ): unknown[] {
    const cached = this.#pending.get(kind);
    if (cached !== undefined) {
      this.#pending.delete(kind);
      return cached;
    }
    const slices: Record<SubProtocolKind, unknown[]> = { compute: [], storage: [] };
    for (const c of o.replay()) slices[c.kind].push(c.command);
    const other: SubProtocolKind = kind === "compute" ? "storage" : "compute";
    if (!this.#joined.has(other)) this.#pending.set(other, slices[other]);
    return slices[kind];
  }
}
