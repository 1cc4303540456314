/**
 * logging's introspection comparisons (`PHASE_CHECKS.logging`): what the baseline cluster (legacy
 * logging) and the candidate cluster (unified logging) show of `mz_introspection.<relation>`.
 *
 * ## What is read (`readIntrospection`)
 * For each side: the relations ListObjects lists for its cluster (kind `introspection`), and a
 * peek of every relation on the side's replica at one log time `t` for both sides — the time the
 * baseline's first (untimed) peek answered at, which the candidate then reads too (a log time is
 * the replica's wall clock rounded up to the interval, so at `t` both replicas show their state
 * at the same instant). Ids are mapped to the name both sides share: a side's object to its
 * neutral name (`bids_off` → `bids`) when the other side has its twin, a log index to
 * `mz_introspection.<relation>`, a shared object (the sources of `eval_src`) to its own name.
 * An id that maps to nothing (a subscribe's transient id) is the side's own: its rows are left
 * out ("objects that exist on both").
 *
 * ## The comparisons (each a pure function of two `IntrospectionView`s)
 * - `diffIntrospectionSchema`: the same relations with the same columns (name, type, nullable),
 *   key, arity and description.
 * - `diffStorageRelations`: the storage relations are served by the candidate only: its replica
 *   answers each of them and every row names a source the candidate's cluster ingests; the
 *   baseline's (legacy storage has no introspection) refuses each peek.
 * - `diffComputeRelations`: every compute relation projected onto its `deterministic` columns
 *   (`@mzts/protocol`'s `LOG_RELATIONS`), ids mapped, compared as sets of rows, with these rules:
 *   `dataflow_id` is compared through the dataflow's name (a build counter per replica, and a
 *   subscribe's dataflow takes one on one side at its own moment); `active_peeks.uuid` and
 *   `.time` are the peek's own random id and timestamp, never equal across two clusters;
 *   `arrangement_sizes.records` only of an export whose input is complete (absent from
 *   `compute_frontiers`: its frontier is empty), since a live index holds what its replica read
 *   by `t`. And every export of both sides must be hydrated (`hydration_times.time_ns` non-null
 *   on both).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import {
  INTROSPECTION_SCHEMA,
  LOG_RELATIONS,
  type LogRelation,
  type ObjectInfo,
} from "@mzts/protocol";
import type { Datum, Row } from "@mzts/repr";
import type { Rows } from "../harness/environment.js";
import { cap, type Difference, diffRowLines, type Outcome, show } from "./compare.js";
import { type EvaluationContext, neutralName, SIDES, type Side, sideName } from "./context.js";
import { REPLICA } from "./workload.js";

/** What one side shows of its introspection (see the file comment). */
export interface IntrospectionView {
  /** The relations ListObjects lists for the side's cluster. */
  readonly listed: readonly ObjectInfo[];
  /** Each relation's answer (by bare name) from the side's replica at the common time. */
  readonly answers: ReadonlyMap<string, Outcome>;
  /** Id → the name both sides share; an id absent is the side's own (left out). */
  readonly ids: ReadonlyMap<string, string>;
  /** Object name → the name both sides share (dataflows are named after their object). */
  readonly names: ReadonlyMap<string, string>;
  /** Ids of the sources and subsources the side's cluster ingests. */
  readonly ingestions: ReadonlySet<string>;
}

const OTHER: { readonly [S in Side]: Side } = { baseline: "candidate", candidate: "baseline" };

/** The id and name maps of `side` from a ListObjects answer (every cluster's objects). */
export function sideMaps(
  objects: readonly ObjectInfo[],
  side: Side,
  cluster: string,
): Pick<IntrospectionView, "ids" | "names" | "ingestions" | "listed"> {
  const names = new Set(objects.map((o) => o.name));
  const ids = new Map<string, string>();
  const byName = new Map<string, string>();
  const ingestions = new Set<string>();
  const listed: ObjectInfo[] = [];
  for (const o of objects) {
    if (o.kind === "introspection") {
      if (o.cluster !== cluster) continue;
      ids.set(o.id, o.name);
      listed.push(o);
      continue;
    }
    const n = neutralName(o.name);
    if (n === undefined) {
      ids.set(o.id, o.name);
      byName.set(o.name, o.name);
    } else if (n.side === side && names.has(sideName(OTHER[side], n.neutral))) {
      ids.set(o.id, n.neutral);
      byName.set(o.name, n.neutral);
    }
    if (o.cluster === cluster && (o.kind === "source" || o.kind === "subsource")) {
      ingestions.add(o.id);
    }
  }
  return { ids, names: byName, ingestions, listed };
}

const relationsOf = (workload: LogRelation["workload"]) =>
  LOG_RELATIONS.filter((r) => r.workload === workload);

/** Same relations, columns, keys, arity and descriptions on both clusters. */
export function diffIntrospectionSchema(
  baseline: IntrospectionView,
  candidate: IntrospectionView,
): Difference[] {
  const shape = (o: ObjectInfo) =>
    show({
      arity: o.arity,
      key: o.key,
      columns: (o.columns ?? []).map((c) => `${c.name} ${c.type}${c.nullable ? "?" : ""}`),
      description: o.description ?? "",
    });
  const a = new Map(baseline.listed.map((o) => [o.name, shape(o)]));
  const b = new Map(candidate.listed.map((o) => [o.name, shape(o)]));
  const out: Difference[] = [];
  if (a.size === 0) {
    out.push({
      check: "logging",
      subject: "introspection schema",
      diff: ["the baseline cluster lists no mz_introspection relation (nothing to compare)"],
    });
  }
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x === y) continue;
    out.push({
      check: "logging",
      subject: `introspection schema: ${name}`,
      diff: [...(x === undefined ? [] : [`- ${x}`]), ...(y === undefined ? [] : [`+ ${y}`])],
    });
  }
  return out;
}

/** The column of `relation` named `name` in `row`. */
function col(relation: LogRelation, row: Row, name: string): Datum | undefined {
  const i = relation.columns.findIndex((c) => c.name === name);
  return i < 0 ? undefined : row[i];
}

/** Storage relations: answered by the candidate only, naming only its own sources. */
export function diffStorageRelations(
  baseline: IntrospectionView,
  candidate: IntrospectionView,
): Difference[] {
  const out: Difference[] = [];
  for (const r of relationsOf("storage")) {
    const lines: string[] = [];
    const a = baseline.answers.get(r.name);
    const b = candidate.answers.get(r.name);
    if (a === undefined || a.ok) {
      lines.push(
        `- the baseline ${a === undefined ? "was not asked" : `answered ${a.rows.length} rows`} (legacy storage has no introspection: its peek must be refused)`,
      );
    }
    if (b === undefined || !b.ok) {
      lines.push(
        `+ the candidate ${b === undefined ? "was not asked" : `refused: ${b.code} ${b.message}`} (unified logging serves storage relations)`,
      );
    } else {
      for (const [row] of b.rows) {
        const source = col(r, row, "source_id");
        if (typeof source !== "string" || !candidate.ingestions.has(source)) {
          lines.push(`+ ${show(row)} names ${show(source)}, not a source the candidate ingests`);
        }
      }
    }
    if (lines.length > 0) {
      out.push({ check: "logging", subject: `storage relation ${r.name}`, diff: cap(lines) });
    }
  }
  return out;
}

/** Columns of `deterministic` two clusters cannot share, by relation (see the file comment). */
const PER_PEEK: { readonly [relation: string]: readonly string[] } = {
  active_peeks: ["uuid", "time"],
};
const ID_COLUMNS = new Set(["export_id", "import_id", "object_id", "source_id"]);

/** `relation`'s rows of one side projected for comparison (undefined rows left out). */
function project(view: IntrospectionView, relation: LogRelation): Map<string, Row> | string {
  const answer = view.answers.get(relation.name);
  if (answer === undefined) return "not asked";
  if (!answer.ok) return `refused: ${answer.code} ${answer.message}`;
  const dataflowNames = dataflowNamesOf(view);
  const complete = completeExports(view);
  const skip = PER_PEEK[relation.name] ?? [];
  const out = new Map<string, Row>();
  for (const [row, diff] of answer.rows) {
    if (diff <= 0) continue;
    const values: Datum[] = [];
    let own = false;
    for (const i of relation.deterministic) {
      const c = relation.columns[i];
      if (c === undefined || skip.includes(c.name)) continue;
      const v = row[i] ?? null;
      if (c.name === "dataflow_id") {
        const name = dataflowNames.get(`${v}`);
        if (name === undefined) own = true;
        values.push(name ?? null);
      } else if (ID_COLUMNS.has(c.name)) {
        const id = typeof v === "string" ? view.ids.get(v) : undefined;
        if (id === undefined) own = true;
        values.push(id ?? null);
      } else if (relation.name === "dataflows" && c.name === "name") {
        values.push(typeof v === "string" ? (view.names.get(v) ?? v) : v);
      } else if (relation.name === "operators" && c.name === "name" && typeof v === "string") {
        values.push(v.replace(/\b[us]\d+\b/g, (id) => view.ids.get(id) ?? id));
      } else if (relation.name === "arrangement_sizes" && c.name === "records") {
        const exp = col(relation, row, "export_id");
        values.push(typeof exp === "string" && complete.has(exp) ? v : "live");
      } else {
        values.push(v);
      }
    }
    // Text throughout, so rows of any shape order alike (`compareRows`).
    const text = values.map((v) => (v === null ? "null" : `${v}`));
    if (!own) out.set(show(text), text);
  }
  return out;
}

/** dataflow_id → the shared name of its dataflow (objects of both sides only). */
function dataflowNamesOf(view: IntrospectionView): Map<string, string> {
  const out = new Map<string, string>();
  const rel = LOG_RELATIONS.find((r) => r.name === "dataflows") as LogRelation;
  const answer = view.answers.get("dataflows");
  if (answer === undefined || !answer.ok) return out;
  for (const [row, diff] of answer.rows) {
    const name = col(rel, row, "name");
    const shared = typeof name === "string" ? view.names.get(name) : undefined;
    if (diff > 0 && shared !== undefined) out.set(`${col(rel, row, "dataflow_id")}`, shared);
  }
  return out;
}

/** Exports installed whose write frontier is empty (absent from compute_frontiers). */
function completeExports(view: IntrospectionView): Set<string> {
  const ids = (relation: string) => {
    const a = view.answers.get(relation);
    return new Set(
      a === undefined || !a.ok ? [] : a.rows.filter(([, d]) => d > 0).map(([row]) => `${row[0]}`),
    );
  };
  const live = ids("compute_frontiers");
  return new Set([...ids("dataflow_exports")].filter((e) => !live.has(e)));
}

/** Compute relations' deterministic columns agree; every shared export hydrated on both. */
export function diffComputeRelations(
  baseline: IntrospectionView,
  candidate: IntrospectionView,
): Difference[] {
  const out: Difference[] = [];
  const asRows = (s: Map<string, Row>): Rows => [...s.values()].map((x) => [x, 1] as const);
  for (const r of relationsOf("compute")) {
    const a = project(baseline, r);
    const b = project(candidate, r);
    const lines =
      typeof a === "string" || typeof b === "string"
        ? [
            ...(typeof a === "string" ? [`- ${a}`] : []),
            ...(typeof b === "string" ? [`+ ${b}`] : []),
          ]
        : diffRowLines(asRows(a), asRows(b));
    if (lines.length > 0) {
      out.push({ check: "logging", subject: `compute relation ${r.name}`, diff: cap(lines) });
    }
  }
  const hydration = LOG_RELATIONS.find((r) => r.name === "hydration_times") as LogRelation;
  const lines: string[] = [];
  for (const side of SIDES) {
    const view = side === "baseline" ? baseline : candidate;
    const answer = view.answers.get(hydration.name);
    if (answer === undefined || !answer.ok) continue;
    for (const [row, diff] of answer.rows) {
      const exp = col(hydration, row, "export_id");
      const shared = typeof exp === "string" ? view.ids.get(exp) : undefined;
      if (diff > 0 && shared !== undefined && col(hydration, row, "time_ns") === null) {
        lines.push(`${side === "baseline" ? "-" : "+"} ${shared} (${exp}) not hydrated`);
      }
    }
  }
  if (lines.length > 0) {
    out.push({ check: "logging", subject: "hydration_times", diff: cap(lines) });
  }
  return out;
}

/** Both sides' views at one log time (see the file comment). */
export async function readIntrospection(
  ctx: EvaluationContext,
): Promise<{ readonly [S in Side]: IntrospectionView } & { readonly at: bigint }> {
  const api = ctx.session.api;
  const { objects } = await api.listObjects();
  let at: bigint | undefined;
  const views = {} as Record<Side, IntrospectionView>;
  for (const side of SIDES) {
    const cluster = ctx.sides[side].cluster;
    const answers = new Map<string, Outcome>();
    for (const r of LOG_RELATIONS) {
      try {
        const res = await api.peek({
          object: `${INTROSPECTION_SCHEMA}.${r.name}`,
          cluster,
          replica: REPLICA,
          ...(at === undefined ? {} : { timestamp: at }),
          timeoutMs: 15_000,
        });
        at ??= res.timestamp;
        answers.set(r.name, { ok: true, rows: res.rows });
      } catch (e) {
        answers.set(
          r.name,
          e instanceof ConnectError
            ? { ok: false, code: Code[e.code], message: e.rawMessage }
            : { ok: false, code: "not a ConnectError", message: String(e) },
        );
      }
    }
    views[side] = { ...sideMaps(objects, side, cluster), answers };
  }
  if (at === undefined) throw new Error("no introspection relation answered on the baseline");
  return { ...views, at };
}
