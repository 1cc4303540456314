/**
 * Reconciliation (materialize §1.7, compute): when a new controller connection replays its
 * history to a running replica, keep the dataflows the history describes unchanged.
 *
 * ## Rules
 * A running dataflow is **reused** for a new `createDataflow` iff
 * (a) both export the same set of ids and their descriptions are equal ignoring `asOf` and the
 *     source imports' `upper` (refreshed before every replay), with old asOf ≤ new asOf;
 * (b) no export was compacted beyond the new asOf (reads at the new asOf are still possible);
 * (c) it exports no subscribe (a subscribe's stream belongs to its connection);
 * (d) every index it imports is itself reused (or was kept earlier in this reconciliation).
 * Everything else is **replaced**: running dataflows not reused are dropped silently (no empty
 * frontiers: the new controller never heard of them), new ones are built from scratch.
 *
 * `compatibility()` returns the first reason for a mismatch (logged), or `undefined`;
 * `planReconciliation()` applies the rules to a whole replay (the worker applies its plan).
 */
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { Frontier, type GlobalId } from "@mzts/repr";
import { exportIds } from "./render/dataflow.js";

/** Structural equality over plain data (bigint, Uint8Array, Map, arrays, objects). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length)
      return false;
    return a.every((x, i) => x === b[i]);
  }
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** The description without the fields reconciliation ignores. */
function normalized(d: DataflowDescription): unknown {
  return {
    ...d,
    asOf: undefined,
    sourceImports: d.sourceImports.map((s) => ({ ...s, upper: undefined })),
  };
}

/** The key that pairs an old dataflow with a new one: its sorted export ids. */
export function exportKey(d: DataflowDescription): string {
  return [...d.indexExports.map((e) => e.id), ...d.sinkExports.map((s) => s.id)].sort().join(",");
}

/** What reconciliation knows of a running dataflow. */
export interface RunningDataflow {
  readonly desc: DataflowDescription;
  /** The current compaction frontier of each export (index since; sinks: the as-of). */
  readonly sinces: ReadonlyMap<GlobalId, Frontier>;
}

/**
 * Why `old` cannot serve `neu`, or `undefined` when it can (rules a–c; d is checked by the
 * caller, which knows which imports are kept).
 */
export function compatibility(old: RunningDataflow, neu: DataflowDescription): string | undefined {
  if (exportKey(old.desc) !== exportKey(neu)) return "different exports";
  if (neu.sinkExports.some((s) => s.connection.kind === "subscribe")) return "exports a subscribe";
  if (!deepEqual(normalized(old.desc), normalized(neu))) return "description changed";
  if (!Frontier.lessEqual(old.desc.asOf, neu.asOf)) {
    return `as-of went back from ${Frontier.format(old.desc.asOf)} to ${Frontier.format(neu.asOf)}`;
  }
  for (const [id, since] of old.sinces) {
    if (!Frontier.lessEqual(since, neu.asOf)) {
      return `${id} is compacted to ${Frontier.format(since)}, beyond the new as-of ${Frontier.format(neu.asOf)}`;
    }
  }
  return undefined;
}

/** A running dataflow as `planReconciliation` pairs it (the worker's own dataflow objects). */
export interface LiveDataflow {
  readonly desc: DataflowDescription;
  /** Exports not dropped yet. */
  readonly liveExports: ReadonlySet<GlobalId>;
}

/** What a replayed history means for the running dataflows (`planReconciliation`). */
export interface ReconciliationPlan<D extends LiveDataflow> {
  /** The replay's instance configs, in order (the last one is in force). */
  readonly instances: readonly Extract<ComputeCommand, { kind: "createInstance" }>[];
  /** Running dataflows reused, each with the description the new controller sent for it. */
  readonly reuse: ReadonlyMap<D, DataflowDescription>;
  /** Dataflows replaced (built anew), with the reason logged. */
  readonly replaced: readonly { readonly debugName: string; readonly reason: string }[];
  /** Commands to apply as new, in order (replaced dataflows and every other command). */
  readonly todo: readonly ComputeCommand[];
}

/**
 * Pairs a replayed history with the running dataflows by rules a–d (file comment); `sinceOf`
 * is an export's current compaction frontier. Pure: the worker applies the plan.
 */
export function planReconciliation<D extends LiveDataflow>(
  cmds: readonly ComputeCommand[],
  running: Iterable<D>,
  sinceOf: (id: GlobalId) => Frontier,
): ReconciliationPlan<D> {
  const byKey = new Map<string, D>();
  for (const df of running) byKey.set(exportKey(df.desc), df);
  const instances: Extract<ComputeCommand, { kind: "createInstance" }>[] = [];
  const reuse = new Map<D, DataflowDescription>();
  const replaced: { debugName: string; reason: string }[] = [];
  const keptExports = new Set<GlobalId>();
  const todo: ComputeCommand[] = [];
  for (const cmd of cmds) {
    if (cmd.kind === "createInstance") {
      instances.push(cmd);
      continue;
    }
    if (cmd.kind !== "createDataflow") {
      todo.push(cmd);
      continue;
    }
    const desc = cmd.dataflow;
    const old = byKey.get(exportKey(desc));
    let reason = old
      ? compatibility(
          { desc: old.desc, sinces: new Map([...old.liveExports].map((id) => [id, sinceOf(id)])) },
          desc,
        )
      : "no running dataflow exports the same ids";
    if (reason === undefined && old && old.liveExports.size !== exportIds(desc).length) {
      reason = "some of its exports were dropped";
    }
    if (reason === undefined) {
      const missing = desc.indexImports.find((i) => !keptExports.has(i.id));
      if (missing) reason = `imported index ${missing.id} is not kept`;
    }
    if (reason === undefined && old) {
      reuse.set(old, desc);
      for (const id of old.liveExports) keptExports.add(id);
    } else {
      replaced.push({ debugName: desc.debugName, reason: reason ?? "" });
      todo.push(cmd);
    }
  }
  return { instances, reuse, replaced, todo };
}
