/**
 * The two sub-protocols of a cluster stream (design §9 phase 4, `proto/mz/cluster/v1/cluster.proto`):
 * how a compute or storage command rides a `ClusterCommand`, how its hello is built and
 * recognised, and which hello-proof stream name it signs for (its responses arrive as the
 * `response` of a `ClusterResponse` of its kind). The cluster stream
 * (`replica-stream.ts`) is the same for both; this is the only difference.
 */
import type {
  ClusterCommand,
  ComputeCommand,
  ComputeResponse,
  Hello,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";

/** A sub-protocol of the cluster stream. */
export type SubProtocolKind = ClusterCommand["kind"];

/** What the cluster stream needs to know of one sub-protocol. */
// biome-ignore lint/correctness/noUnusedVariables: R pairs the sub-protocol with its responses.
export interface SubProtocol<C, R> {
  /** The `ClusterCommand` case, and the stream name its hello is signed for. */
  readonly kind: SubProtocolKind;
  /** The command as a cluster command. */
  wrap(command: C): ClusterCommand;
  hello(hello: Hello): C;
  isHello(command: C): boolean;
}

/** Compute commands on the cluster stream. */
export const computeSubProtocol: SubProtocol<ComputeCommand, ComputeResponse> = {
  kind: "compute",
  wrap: (command) => ({ kind: "compute", command }),
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (command) => command.kind === "hello",
};

/** Storage commands on the cluster stream. */
export const storageSubProtocol: SubProtocol<StorageCommand, StorageResponse> = {
  kind: "storage",
  wrap: (command) => ({ kind: "storage", command }),
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (command) => command.kind === "hello",
};
