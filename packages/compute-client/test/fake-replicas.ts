/**
 * Fake compute replicas for controller tests: a connector whose incarnations connect at once and
 * record every command they are sent (live; the replay is `opts.replay()`). Tests answer through
 * `opts.onResponses` (`respond`) and fail an incarnation through `opts.onFailed`. Also: a
 * constant index dataflow to peek (`CONSTANT_INDEX`, u31) and the last peek sent (`lastPeek`).
 */
import type { ComputeCommand, ComputeResponse, DataflowDescription } from "@mzts/protocol";
import type { ComputeController, ComputeReplicaConnector } from "../src/index.js";

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

/** A dataflow exporting index u31 of one constant row (1). */
export const CONSTANT_INDEX: DataflowDescription = {
  debugName: "constant",
  sourceImports: [],
  indexImports: [],
  objectsToBuild: [{ id: "u30", plan: { kind: "constant", rows: [[[1n], 1]], arity: 1 } }],
  indexExports: [{ id: "u31", objectId: "u30", key: [0] }],
  sinkExports: [],
  asOf: 0n,
  until: null,
};

/** Delivers `responses` from `replicaId`'s current incarnation. */
export function respond(fake: FakeReplicas, replicaId: string, responses: ComputeResponse[]): void {
  const inc = fake.of(replicaId);
  inc.opts.onResponses(inc.opts.epoch, responses);
}

/** The uuid of the last peek sent to `replicaId`. */
export function lastPeek(fake: FakeReplicas, replicaId: string): string {
  const peeks = fake
    .of(replicaId)
    .sent.filter((c): c is Extract<ComputeCommand, { kind: "peek" }> => c.kind === "peek");
  return peeks[peeks.length - 1]!.peek.uuid;
}

/**
 * Instance c1 of `c` (built on `fake`'s connector) gets replicas u1 and u2 and `CONSTANT_INDEX`,
 * readable at 5 on both (each reported frontiers 5).
 */
export async function withIndexOnTwoReplicas(
  c: ComputeController,
  fake: FakeReplicas,
): Promise<void> {
  c.addReplica("c1", "u1", { computeUrl: "http://127.0.0.1:1" });
  c.addReplica("c1", "u2", { computeUrl: "http://127.0.0.1:2" });
  c.createDataflow("c1", CONSTANT_INDEX);
  await new Promise((r) => setTimeout(r, 0)); // the fake incarnations connect
  for (const r of ["u1", "u2"]) {
    respond(fake, r, [
      { kind: "frontiers", id: "u31", frontiers: { write: 5n, input: 5n, output: 5n } },
    ]);
  }
}
