/**
 * Fake compute replicas for controller tests: a connector whose incarnations connect at once and
 * record every command they are sent (live; the replay is `opts.replay()`). Tests answer through
 * `opts.onResponses` and fail an incarnation through `opts.onFailed`.
 */
import type { ComputeCommand } from "@mzts/protocol";
import type { ComputeReplicaConnector } from "../src/index.js";

export type ConnectorOptions = Parameters<ComputeReplicaConnector>[0];

/** One incarnation: what it was built with and what it was sent. */
export interface FakeIncarnation {
  readonly opts: ConnectorOptions;
  readonly sent: ComputeCommand[];
}

export interface FakeReplicas {
  /** Every incarnation, in creation order. */
  readonly incarnations: FakeIncarnation[];
  readonly connector: ComputeReplicaConnector;
  /** The current incarnation of a replica. @throws Error when it has none. */
  of(replicaId: string): FakeIncarnation;
}

export function fakeReplicas(): FakeReplicas {
  const incarnations: FakeIncarnation[] = [];
  const connector: ComputeReplicaConnector = (opts) => {
    const inc = { opts, sent: [] as ComputeCommand[] };
    incarnations.push(inc);
    queueMicrotask(() => opts.onConnected(opts.epoch));
    return {
      epoch: opts.epoch,
      state: "connected",
      send: (cs) => inc.sent.push(...cs),
      close: async () => {},
    };
  };
  const of = (replicaId: string) => {
    const inc = [...incarnations].reverse().find((i) => i.opts.replicaId === replicaId);
    if (inc === undefined) throw new Error(`no incarnation of ${replicaId}`);
    return inc;
  };
  return { incarnations, connector, of };
}
