/**
 * The status sub-codec of migration stages (docs/design/20261207_migration_stages.md):
 * `MigrationStatus` ⇄ `mz.environment.v1.MigrationStatus`. `migrationFromProto` checks the
 * stage is a middle one, paths are `legacy`/`unified`, counts are safe integers and latencies
 * finite and non-negative, and throws `FieldError`s with the field path.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { fail, safeU64 } from "../codec/field.js";
import type {
  MigrationStatus as MigrationStatusProto,
  MigrationStatusSchema,
} from "../gen/mz/environment/v1/environment_pb.js";
import type { MigrationPath, MigrationStatus, PathLatency } from "./api.js";
import { decodeName } from "./field-codec.js";
import { decodeFlagKey } from "./status-codec.js";

const MIDDLE_STAGES: readonly string[] = ["dualwrite", "shadow", "live", "rampdown"];

export function migrationToProto(
  m: MigrationStatus,
): MessageInitShape<typeof MigrationStatusSchema> {
  return {
    flag: m.flag,
    stage: m.stage,
    authoritative: m.authoritative,
    compares: m.compares,
    slots: m.slots.map((s) => ({ replica: s.replica, slot: s.slot ?? "" })),
    consistent: BigInt(m.consistent),
    inconsistent: BigInt(m.inconsistent),
    timeout: BigInt(m.timeout),
    fallback: BigInt(m.fallback),
    lastInconsistency: m.lastInconsistency ?? "",
    paths: m.paths.map((p) => ({ ...p, answers: BigInt(p.answers), errors: BigInt(p.errors) })),
    note: m.note ?? "",
  };
}

function pathOf(v: string, path: string): MigrationPath {
  if (v !== "legacy" && v !== "unified") {
    fail(path, `${JSON.stringify(v)} is not a path (legacy or unified)`);
  }
  return v;
}

function millis(v: number, path: string): number {
  if (!Number.isFinite(v) || v < 0) fail(path, `${v} is not a duration in ms`);
  return v;
}

export function migrationFromProto(m: MigrationStatusProto, path: string): MigrationStatus {
  if (!MIDDLE_STAGES.includes(m.stage)) {
    fail(
      `${path}.stage`,
      `${JSON.stringify(m.stage)} is not a middle stage (${MIDDLE_STAGES.join(", ")})`,
    );
  }
  const paths = m.paths.map((p, i): PathLatency => {
    const at = `${path}.paths[${i}]`;
    return {
      path: pathOf(p.path, `${at}.path`),
      answers: safeU64(p.answers, `${at}.answers`),
      p50Ms: millis(p.p50Ms, `${at}.p50Ms`),
      p99Ms: millis(p.p99Ms, `${at}.p99Ms`),
      errors: safeU64(p.errors, `${at}.errors`),
    };
  });
  return {
    flag: decodeFlagKey(m.flag, `${path}.flag`),
    stage: m.stage,
    authoritative: pathOf(m.authoritative, `${path}.authoritative`),
    compares: m.compares,
    slots: m.slots.map((s, i) => ({
      replica: decodeName(s.replica, `${path}.slots[${i}].replica`),
      ...(s.slot === "" ? {} : { slot: pathOf(s.slot, `${path}.slots[${i}].slot`) }),
    })),
    consistent: safeU64(m.consistent, `${path}.consistent`),
    inconsistent: safeU64(m.inconsistent, `${path}.inconsistent`),
    timeout: safeU64(m.timeout, `${path}.timeout`),
    fallback: safeU64(m.fallback, `${path}.fallback`),
    ...(m.lastInconsistency === "" ? {} : { lastInconsistency: m.lastInconsistency }),
    paths,
    ...(m.note === "" ? {} : { note: m.note }),
  };
}
