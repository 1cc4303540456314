/**
 * Ids of catalog objects and replicas, as Materialize spells them.
 *
 * `GlobalId`: `u<n>` (user), `s<n>` (system) or `t<n>` (transient: peeks, subscribes).
 * `ReplicaId`: `u<n>` or `s<n>`. Both are plain strings on the wire; `parse` checks the shape.
 */
import { InvalidId } from "./errors.js";

export type GlobalId = string;
export type ReplicaId = string;

const GLOBAL = /^[ust][0-9]{1,19}$/;
const REPLICA = /^[us][0-9]{1,19}$/;

export const GlobalId = {
  /** True when `v` is `u<n>`, `s<n>` or `t<n>`. */
  is(v: unknown): v is GlobalId {
    return typeof v === "string" && GLOBAL.test(v);
  },
  /** @throws InvalidId */
  parse(v: unknown): GlobalId {
    if (!GlobalId.is(v)) throw new InvalidId("GlobalId", v, "u<n>, s<n> or t<n> (e.g. u12)");
    return v;
  },
} as const;

export const ReplicaId = {
  is(v: unknown): v is ReplicaId {
    return typeof v === "string" && REPLICA.test(v);
  },
  /** @throws InvalidId */
  parse(v: unknown): ReplicaId {
    if (!ReplicaId.is(v)) throw new InvalidId("ReplicaId", v, "u<n> or s<n> (e.g. u1)");
    return v;
  },
  /** Numeric order of replica ids of one kind (u2 < u10), used to pick "the smallest replica". */
  compare(a: ReplicaId, b: ReplicaId): number {
    if (a[0] !== b[0]) return a < b ? -1 : 1;
    const x = BigInt(a.slice(1));
    const y = BigInt(b.slice(1));
    return x < y ? -1 : x > y ? 1 : 0;
  },
} as const;
