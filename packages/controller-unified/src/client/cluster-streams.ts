/**
 * `ClusterStreams`: the per-cluster registry of replicas' shared cluster streams (design §9
 * phase 4), keyed by replica id. It hands out the `ReplicaConnector`s of the one-port layout
 * whose connections ride the replica's ONE `ClusterService.Control` stream (`ReplicaStream`):
 * - `compute` and `storage` (the legacy instances, phase 4): one `SubConnection` each, so an
 *   instance cannot tell one stream from two;
 * - `cluster` (the unified cluster controller, phase 5): one `ClusterConnection` carrying both
 *   sub-protocols under one epoch (`cluster-connection.ts`).
 *
 * ## Invariants
 * - One `ReplicaStream` per replica id while any of its sub-connections is attached or its stream
 *   is live; it is forgotten when idle.
 * - Both connectors carry the same unified rehydration policy (`createRehydrationPolicy`): both
 *   instances respawn a failed replica at once, so their new epochs meet on one new stream.
 */
import type {
  ClusterCommand,
  ClusterResponse,
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { createRehydrationPolicy, type RehydrationPolicy } from "../replicas/rehydration.js";
import type { ReplicaConnectionOptions, ReplicaConnector } from "../replicas/replica-connection.js";
import { ClusterConnection } from "./cluster-connection.js";
import { ReplicaStream } from "./replica-stream.js";
import { SubConnection } from "./sub-connection.js";
import { computeSubProtocol, type SubProtocol, storageSubProtocol } from "./sub-protocol.js";

/** Options of `createClusterStreams`. */
export interface ClusterStreamsOptions {
  /** The rehydration policy both connectors carry (default: the unified one). */
  readonly rehydration?: RehydrationPolicy;
}

/** A cluster's shared replica streams and the two connectors riding them. */
export interface ClusterStreams {
  /** The compute instance's connector (one-port layout). */
  readonly compute: ReplicaConnector<ComputeCommand, ComputeResponse>;
  /** The storage instance's connector (one-port layout). */
  readonly storage: ReplicaConnector<StorageCommand, StorageResponse>;
  /** The unified cluster controller's connector (one-port layout, both sub-protocols). */
  readonly cluster: ReplicaConnector<ClusterCommand, ClusterResponse>;
  /** Replicas with a live stream or an attached sub-connection. */
  replicaIds(): string[];
  /** Stream incarnations started so far, over every replica (one per shared reconnect). */
  readonly streamsStarted: number;
}

/** Creates a cluster's registry of shared replica streams (see the file comment). */
export function createClusterStreams(options: ClusterStreamsOptions = {}): ClusterStreams {
  const streams = new Map<string, ReplicaStream>();
  let started = 0;
  const rehydration = options.rehydration ?? createRehydrationPolicy();
  const streamOf = (replicaId: string): ReplicaStream => {
    let s = streams.get(replicaId);
    if (s === undefined) {
      s = new ReplicaStream(replicaId, {
        onIdle: (idle) => {
          if (streams.get(idle.replicaId) === idle) streams.delete(idle.replicaId);
        },
      });
      streams.set(replicaId, s);
    }
    return s;
  };
  const attach = (sub: SubConnection<unknown, unknown>) => {
    const stream = streamOf(sub.options.replicaId);
    const before = stream.streamsStarted;
    stream.attach(sub);
    started += stream.streamsStarted - before;
  };
  const connector = <C, R>(protocol: SubProtocol<C, R>): ReplicaConnector<C, R> => {
    const connect = (o: ReplicaConnectionOptions<C, R>) => {
      const sub = new SubConnection(protocol, o);
      attach(sub as SubConnection<unknown, unknown>);
      return sub;
    };
    return Object.assign(connect, { rehydration });
  };
  const cluster = (o: ReplicaConnectionOptions<ClusterCommand, ClusterResponse>) =>
    new ClusterConnection(o, attach);
  return {
    compute: connector(computeSubProtocol),
    storage: connector(storageSubProtocol),
    cluster: Object.assign(cluster, { rehydration }),
    replicaIds: () => [...streams.keys()],
    get streamsStarted() {
      return started;
    },
  };
}
