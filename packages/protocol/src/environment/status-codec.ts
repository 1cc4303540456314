/**
 * The environment API codec's status and flags sub-codec: `ClusterStatus` (replicas and their
 * health, collections with frontiers and lag — a columnar table, `collection-table-codec.ts` —
 * flag states, controller paths) and `FlagState` ⇄
 * `mz.environment.v1`, plus the object-kind and replica-health enum maps. `…FromProto` checks the
 * flag state's consistency (in force only when on, blocked only when on but not in force,
 * `flipping` whenever inForce ≠ applied; a flip's state and times) and throws `FieldError`s
 * with the field path.
 */
import { create } from "@bufbuild/protobuf";
import { decodeEnum, decodeReplicaId, fail, reverse, safeU64 } from "../codec/field.js";
import {
  type ClusterStatus as ClusterStatusProto,
  ClusterStatusSchema,
  type ControllerPath as ControllerPathProto,
  type FlagState as FlagStateProto,
  FlagStateSchema,
  type FlipStatus as FlipStatusProto,
  ObjectKind as ObjectKindProto,
  ReplicaHealth as ReplicaHealthProto,
} from "../gen/mz/environment/v1/environment_pb.js";
import { introspectionIntervalProblem } from "../introspection/interval.js";
import type {
  ClusterStatus,
  ControllerPath,
  FlagState,
  FlipStatus,
  ObjectKind,
  ReplicaHealth,
} from "./api.js";
import { collectionTableFromProto, collectionTableToProto } from "./collection-table-codec.js";
import { decodeClusterId, decodeName, positive } from "./field-codec.js";
import { migrationFromProto, migrationToProto } from "./migration-codec.js";

/** A reported introspection interval: 0 or within the valid range. */
export function checkInterval(v: number, path: string): number {
  const problem = introspectionIntervalProblem(v);
  if (problem !== undefined) fail(path, problem);
  return v;
}

export const OBJECT_KIND: Readonly<Record<ObjectKind, ObjectKindProto>> = {
  source: ObjectKindProto.SOURCE,
  subsource: ObjectKindProto.SUBSOURCE,
  index: ObjectKindProto.INDEX,
  materializedView: ObjectKindProto.MATERIALIZED_VIEW,
  introspection: ObjectKindProto.INTROSPECTION,
};
export const OBJECT_KIND_BACK = reverse(OBJECT_KIND);
const HEALTH: Readonly<Record<ReplicaHealth, ReplicaHealthProto>> = {
  online: ReplicaHealthProto.ONLINE,
  offline: ReplicaHealthProto.OFFLINE,
  restarting: ReplicaHealthProto.RESTARTING,
};
const HEALTH_BACK = reverse(HEALTH);

/** Domain values of the wire enums (for tests). */
export const OBJECT_KINDS = Object.keys(OBJECT_KIND) as ObjectKind[];
export const REPLICA_HEALTHS = Object.keys(HEALTH) as ReplicaHealth[];

const FLAG_KEY = /^[a-z0-9][a-z0-9-]*$/;
export function decodeFlagKey(v: string, path: string): string {
  if (!FLAG_KEY.test(v)) {
    fail(path, `${JSON.stringify(v)} is not a flag key (lowercase letters, digits and -)`);
  }
  return v;
}

export function flagToProto(f: FlagState): FlagStateProto {
  return create(FlagStateSchema, { ...f, blockedBy: [...f.blockedBy] });
}

export function flagFromProto(f: FlagStateProto, path: string): FlagState {
  const key = decodeFlagKey(f.key, `${path}.key`);
  const blockedBy = f.blockedBy.map((k, i) => decodeFlagKey(k, `${path}.blockedBy[${i}]`));
  if (f.inForce && !f.enabled) fail(`${path}.inForce`, "is true for a flag that is off");
  if (blockedBy.length > 0 && (f.inForce || !f.enabled)) {
    fail(`${path}.blockedBy`, "is set for a flag that is not on-but-blocked");
  }
  if (!f.flipping && f.inForce !== f.applied) {
    fail(`${path}.flipping`, "is false, but inForce != applied: what runs differs from the flags");
  }
  return {
    key,
    enabled: f.enabled,
    inForce: f.inForce,
    blockedBy,
    applied: f.applied,
    flipping: f.flipping,
  };
}

export function clusterStatusToProto(c: ClusterStatus): ClusterStatusProto {
  return create(ClusterStatusSchema, {
    id: c.id,
    name: c.name,
    replicas: c.replicas.map((r) => ({ ...r, health: HEALTH[r.health] })),
    collections: collectionTableToProto(c.collections),
    flags: c.flags.map(flagToProto),
    controllers: (c.controllers ?? []).map((p) => ({ ...p })),
    introspectionIntervalMs: c.introspectionIntervalMs,
    ...(c.flip === undefined
      ? {}
      : {
          flip: {
            ...c.flip,
            stepSinceMs: BigInt(c.flip.stepSinceMs),
            startedMs: BigInt(c.flip.startedMs),
          },
        }),
    migrations: (c.migrations ?? []).map(migrationToProto),
  });
}

export function clusterStatusFromProto(c: ClusterStatusProto, path: string): ClusterStatus {
  return {
    id: decodeClusterId(c.id, `${path}.id`),
    name: decodeName(c.name, `${path}.name`),
    replicas: c.replicas.map((r, i) => {
      const at = `${path}.replicas[${i}]`;
      return {
        id: decodeReplicaId(r.id, `${at}.id`),
        name: decodeName(r.name, `${at}.name`),
        size: positive(r.size, `${at}.size`, "a replica size (workers)"),
        health: decodeEnum(r.health, HEALTH_BACK, `${at}.health`, "replica health"),
        reason: r.reason,
      };
    }),
    collections: collectionTableFromProto(c.collections, `${path}.collections`),
    flags: c.flags.map((f, i) => flagFromProto(f, `${path}.flags[${i}]`)),
    introspectionIntervalMs: checkInterval(
      c.introspectionIntervalMs,
      `${path}.introspectionIntervalMs`,
    ),
    ...(c.controllers.length === 0
      ? {}
      : {
          controllers: c.controllers.map((p, i) => pathFromProto(p, `${path}.controllers[${i}]`)),
        }),
    ...(c.flip === undefined ? {} : { flip: flipFromProto(c.flip, `${path}.flip`) }),
    ...(c.migrations.length === 0
      ? {}
      : {
          migrations: c.migrations.map((m, i) => migrationFromProto(m, `${path}.migrations[${i}]`)),
        }),
  };
}

const FLIP_STATES: readonly string[] = ["rolling", "reseating", "rebuilding", "failed"];

function flipFromProto(f: FlipStatusProto, path: string): FlipStatus {
  if (!FLIP_STATES.includes(f.state)) {
    fail(
      `${path}.state`,
      `${JSON.stringify(f.state)} is not a flip state (${FLIP_STATES.join(", ")})`,
    );
  }
  if ((f.state === "failed") !== (f.error !== "")) {
    fail(`${path}.error`, "must be set exactly when the state is failed");
  }
  return {
    state: f.state as FlipStatus["state"],
    step: f.step,
    ...(f.replica === "" ? {} : { replica: f.replica }),
    stepSinceMs: safeU64(f.stepSinceMs, `${path}.stepSinceMs`),
    startedMs: safeU64(f.startedMs, `${path}.startedMs`),
    target: f.target,
    ...(f.error === "" ? {} : { error: f.error }),
  };
}

function pathFromProto(p: ControllerPathProto, path: string): ControllerPath {
  if (p.path !== "legacy" && p.path !== "unified") {
    fail(`${path}.path`, `${JSON.stringify(p.path)} is not a controller path (legacy or unified)`);
  }
  return { seam: p.seam, flag: decodeFlagKey(p.flag, `${path}.flag`), path: p.path, note: p.note };
}
