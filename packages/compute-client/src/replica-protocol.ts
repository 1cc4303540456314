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
  computeRequestFrames,
  computeResponsesFromFrames,
} from "@mzts/protocol";
import { ComputeFramesService, type computeV1 } from "@mzts/protocol/wire";
import type { ComputeReplicaConnector } from "./replicas.js";

/**
 * The compute stream: commands and responses, `ComputeService.Control`, `hello` first. Framed
 * (`@mzts/protocol`'s `control-frames.ts`, issue 16), as the legacy task's: the same bytes on the
 * wire, each command encoded once for all replicas, and peek answers the instance no longer
 * waits for dropped undecoded.
 */
export const computeReplicaProtocol: ReplicaProtocol<
  ComputeCommand,
  ComputeResponse,
  computeV1.ControlRequestFrames,
  computeV1.ControlResponseFrames
> = {
  stream: "compute",
  service: ComputeFramesService,
  encode: computeRequestFrames,
  decode: computeResponsesFromFrames,
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (command) => command.kind === "hello",
};

/** Starts a unified compute replica task (the compute `ReplicaConnector` of the unified path). */
export const connectUnifiedComputeReplica: ComputeReplicaConnector =
  createReplicaTaskConnector(computeReplicaProtocol);
