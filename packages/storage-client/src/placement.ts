/**
 * Which replicas of a storage instance run each ingestion and sink: the rule lives in
 * `@mzts/controller-unified/state` (`ingestion-placement.ts`, shared with the unified cluster
 * state; see there for the rules and the flow); this binds it to storage-client's errors.
 */
import {
  type PlacementErrors,
  IngestionPlacement as SharedIngestionPlacement,
} from "@mzts/controller-unified/state";
import type { ReplicaId } from "@mzts/repr";
import {
  CollectionExists,
  InvalidReplicaId,
  PlacementConflict,
  ReplicaExists,
  ReplicaMissing,
} from "./errors.js";

export {
  ingestionPreference,
  objectIdOf,
  type PlacedObject,
  type PlacementMove,
  placedObjectOf,
  type ReplicaPreference,
  SINK_PREFERENCE,
} from "@mzts/controller-unified/state";

const STORAGE_ERRORS: PlacementErrors = {
  invalidReplicaId: (value) => new InvalidReplicaId(value),
  replicaExists: (replicaId) => new ReplicaExists(replicaId),
  replicaMissing: (replicaId, operation) => new ReplicaMissing(replicaId, operation),
  collectionExists: (c, owner, claimant) => new CollectionExists(c, owner, claimant),
  placementConflict: (id, current, requested) => new PlacementConflict(id, current, requested),
};

/** The shared placement, refusing with storage-client's error classes. */
export class IngestionPlacement extends SharedIngestionPlacement {
  /** @throws InvalidReplicaId, ReplicaExists */
  constructor(replicas: Iterable<ReplicaId> = []) {
    super(STORAGE_ERRORS, replicas);
  }
}
