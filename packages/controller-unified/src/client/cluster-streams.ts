/**
 * `ClusterStreams`: the per-cluster registry of replicas' shared cluster streams (design §9
 * phase 4), keyed by replica id. It hands out the two `ReplicaConnector`s of the one-port layout
 * — `compute` and `storage` — whose connections (`SubConnection`) ride the replica's ONE
 * `ClusterService.Control` stream (`ReplicaStream`): an instance cannot tell one stream from two.
 *
 * ## Invariants
 * - One `ReplicaStream` per replica id while any of its sub-connections is attached or its stream
 *   is live; it is forgotten when idle.
 * - Both connectors carry the same unified rehydration policy (`createRehydrationPolicy`): both
 *   instances respawn a failed replica at once, so their new epochs meet on one new stream.
 */
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { createRehydrationPolicy, type RehydrationPolicy } from "../replicas/rehydration.js";
import type { ReplicaConnectionOptions, ReplicaConnector } from "../replicas/replica-connection.js";
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
  const connector = <C, R>(protocol: SubProtocol<C, R>): ReplicaConnector<C, R> => {
    const connect = (o: ReplicaConnectionOptions<C, R>) => {
      const sub = new SubConnection(protocol, o);
      const stream = streamOf(o.replicaId);
      const before = stream.streamsStarted;
      stream.attach(sub as SubConnection<unknown, unknown>);
      started += stream.streamsStarted - before;
      return sub;
    };
    return Object.assign(connect, { rehydration });
  };
  return {
    compute: connector(computeSubProtocol),
    storage: connector(storageSubProtocol),
    replicaIds: () => [...streams.keys()],
    get streamsStarted() {
      return started;
    },
  };
}
