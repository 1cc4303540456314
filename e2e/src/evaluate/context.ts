/**
 * What every part of an evaluation sees: the session, and for each side (the baseline cluster
 * without the phase, the candidate cluster with it) its cluster, the phases it runs and the names
 * of its objects. Objects of the two sides differ only by the side's suffix (`_off` / `_on`), so a
 * neutral name (`winning_idx`) names the same thing on both.
 */
import type { Phase } from "@mzts/flags";
import type { ReplicaRecordView } from "../harness/environment.js";
import type { Session } from "./session.js";

export type Side = "baseline" | "candidate";
export const SIDES: readonly Side[] = ["baseline", "candidate"];

/** The suffix of each side's object names. */
export const SUFFIX: { readonly [S in Side]: "off" | "on" } = {
  baseline: "off",
  candidate: "on",
};

export interface SideInfo {
  readonly side: Side;
  /** `eval_off` / `eval_on`. */
  readonly cluster: string;
  readonly clusterId: string;
  /** Phases in force on this side. */
  readonly phases: readonly Phase[];
}

export interface EvaluationContext {
  readonly session: Session;
  readonly sides: { readonly [S in Side]: SideInfo };
  /** The side's object for a neutral name: `name("candidate", "winning_idx")` = `winning_on_idx`. */
  name(side: Side, neutral: string): string;
  /** The side of a collection name and its neutral name, or undefined for the shared objects. */
  neutral(name: string): { side: Side; neutral: string } | undefined;
  /** The side's (only) replica record now; throws when it has none. */
  replica(side: Side): ReplicaRecordView;
  /** `http://host:port` of the side's replica (its `/metrics`). */
  replicaUrl(side: Side): string;
  /**
   * How long the logging check gives the candidate's log host to show records before judging
   * (default 10 s: it reports once a second and starts empty after the recovery's kill -9).
   */
  readonly logSettleMs?: number;
}

/** `<base>_<suffix>[_<rest>]`: the suffix goes after the first word (`winning_idx` → `winning_on_idx`). */
export function sideName(side: Side, neutral: string): string {
  const i = neutral.indexOf("_");
  const s = SUFFIX[side];
  return i < 0 ? `${neutral}_${s}` : `${neutral.slice(0, i)}_${s}${neutral.slice(i)}`;
}

/** The inverse of `sideName`. */
export function neutralName(name: string): { side: Side; neutral: string } | undefined {
  const m = /^([^_]+)_(off|on)(_.*)?$/.exec(name);
  if (m === null) return undefined;
  return {
    side: m[2] === "off" ? "baseline" : "candidate",
    neutral: `${m[1]}${m[3] ?? ""}`,
  };
}

export function evaluationContext(
  session: Session,
  sides: { readonly [S in Side]: SideInfo },
): EvaluationContext {
  const replica = (side: Side) => {
    const r = session.records().find((x) => x.clusterId === sides[side].clusterId);
    if (r === undefined) throw new Error(`no replica recorded for ${sides[side].cluster}`);
    return r;
  };
  return {
    session,
    sides,
    name: sideName,
    neutral: neutralName,
    replica,
    replicaUrl(side) {
      const r = replica(side);
      if (r.ports === null) throw new Error(`the replica of ${sides[side].cluster} has no ports`);
      return `http://${r.host}:${r.ports.http}`;
    },
  };
}
