/**
 * The compute protocol as the unified replica task needs it (design §9 phase 3): the
 * `ComputeService.Control` stream, its codecs and its hello command. The task itself — connect,
 * backoff, replay, liveness, epochs, fail-once, rehydration — is `@mzts/controller-unified`'s
 * `ReplicaTask`; what stays compute's own is here (the wire) and in the instance (the history's
 * reduction, what responses mean, hydration ordering).
 *
 * `connectUnifiedComputeReplica` is the compute `ReplicaConnector` of the unified path,
 * carrying the unified rehydration policy; environmentd selects it per cluster when
 * `cluster-unification-replicas` is in force (the legacy one is `connectLegacyComputeReplica`).
 */
import {
  createReplicaTaskConnector,
  type ReplicaProtocol,
} from "@mzts/controller-unified/replicas";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestToProto,
  computeResponsesFromProto,
} from "@mzts/protocol";
import { ComputeService, type computeV1 } from "@mzts/protocol/wire";
import type { ComputeReplicaConnector } from "./replicas.js";

/** The compute stream: commands and responses, `ComputeService.Control`, `hello` first. */
export const computeReplicaProtocol: ReplicaProtocol<
  ComputeCommand,
  ComputeResponse,
  computeV1.ControlRequest,
  computeV1.ControlResponse
> = {
  stream: "compute",
  service: ComputeService,
  encode: computeRequestToProto,
  decode: computeResponsesFromProto,
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (command) => command.kind === "hello",
};

/** Starts a unified compute replica task (the compute `ReplicaConnector` of the unified path). */
export const connectUnifiedComputeReplica: ComputeReplicaConnector =
  createReplicaTaskConnector(computeReplicaProtocol);
