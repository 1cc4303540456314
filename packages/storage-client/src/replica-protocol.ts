/**
 * The storage protocol as the unified replica task needs it (design §9 phase 3): the
 * `StorageService.Control` stream, its codecs and its hello command. The task itself — connect,
 * backoff, replay, liveness, epochs, fail-once, rehydration — is `@mzts/controller-unified`'s
 * `ReplicaTask`; what stays storage's own is here (the wire) and in the controller (the history's
 * reduction and placement filter, what responses mean).
 *
 * `connectUnifiedStorageReplica` is the storage `ReplicaConnector` of the unified path,
 * carrying the unified rehydration policy (at once, crash loops backed off — instead of the
 * legacy 1 s maintenance tick); environmentd selects it per cluster when
 * `cluster-unification-replicas` is in force (the legacy one is `connectLegacyStorageReplica`).
 */
import {
  createReplicaTaskConnector,
  type ReplicaProtocol,
} from "@mzts/controller-unified/replicas";
import {
  type StorageCommand,
  type StorageResponse,
  storageRequestToProto,
  storageResponsesFromProto,
} from "@mzts/protocol";
import { StorageService, type storageV1 } from "@mzts/protocol/wire";
import type { StorageReplicaConnector } from "./controller.js";

/** The storage stream: commands and responses, `StorageService.Control`, `hello` first. */
export const storageReplicaProtocol: ReplicaProtocol<
  StorageCommand,
  StorageResponse,
  storageV1.ControlRequest,
  storageV1.ControlResponse
> = {
  stream: "storage",
  service: StorageService,
  encode: storageRequestToProto,
  decode: storageResponsesFromProto,
  hello: (hello) => ({ kind: "hello", hello }),
  isHello: (command) => command.kind === "hello",
};

/** Starts a unified storage replica task (the storage `ReplicaConnector` of the unified path). */
export const connectUnifiedStorageReplica: StorageReplicaConnector =
  createReplicaTaskConnector(storageReplicaProtocol);
