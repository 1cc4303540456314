/**
 * A reference interpreter for compute command sequences (test-only): the target state a replica
 * reaches after applying every command, in order, with no reduction.
 *
 * Two command sequences are *equivalent* when they yield equal target states:
 * - the live dataflows (in creation order) with their description minus the as-of, and per export
 *   its effective as-of `join(asOf, every compaction of the export)`; a dataflow is live while one
 *   of its exports is not compacted to the empty frontier;
 * - the scheduled and writable ids among the exports of live dataflows;
 * - the live peeks (not cancelled, not retired) by uuid;
 * - the folded configuration (later set fields win, dyncfg merged), the latest hello, the
 *   instance config and whether initialization completed.
 * Compactions of unknown ids are ignored (a benign race on a replica).
 */
import { Frontier, type GlobalId } from "@mzts/repr";
import type { Hello } from "../cluster/hello.js";
import type {
  ComputeCommand,
  DataflowDescription,
  InstanceConfig,
  Peek,
} from "../compute/command.js";
import { dataflowExportIds } from "../compute/command-history.js";

/** A command, or the controller retiring an answered peek (`ComputeCommandHistory.retirePeek`). */
export type HistoryEvent = ComputeCommand | { readonly kind: "retirePeek"; readonly uuid: string };

/** The target state of a replica; compared with `toEqual`. */
export interface TargetState {
  readonly hello: Hello | undefined;
  readonly instance: InstanceConfig | undefined;
  readonly config: {
    maxResultSize: bigint | undefined;
    workloadClass: string | undefined;
    dyncfg: Map<string, string>;
  };
  readonly dataflows: ReadonlyArray<{
    readonly description: Omit<DataflowDescription, "asOf">;
    readonly exports: ReadonlyArray<readonly [GlobalId, Frontier]>;
  }>;
  readonly scheduled: readonly GlobalId[];
  readonly writable: readonly GlobalId[];
  readonly peeks: ReadonlyArray<readonly [string, Peek]>;
  readonly initialized: boolean;
}

interface DataflowState {
  readonly description: Omit<DataflowDescription, "asOf">;
  /** Effective as-of per export, in export order. */
  readonly since: Map<GlobalId, Frontier>;
}

/** Applies `events` in order to an empty replica and returns its target state. */
export function interpret(events: Iterable<HistoryEvent>): TargetState {
  let hello: Hello | undefined;
  let instance: InstanceConfig | undefined;
  let initialized = false;
  const config: TargetState["config"] = {
    maxResultSize: undefined,
    workloadClass: undefined,
    dyncfg: new Map(),
  };
  const dataflows: DataflowState[] = [];
  const owner = new Map<GlobalId, DataflowState>();
  const scheduled = new Set<GlobalId>();
  const writable = new Set<GlobalId>();
  const peeks = new Map<string, Peek>();

  for (const event of events) {
    switch (event.kind) {
      case "hello":
        hello = event.hello;
        break;
      case "createInstance":
        instance = event.config;
        break;
      case "initializationComplete":
        initialized = true;
        break;
      case "updateConfiguration": {
        const p = event.params;
        if (p.maxResultSize !== undefined) config.maxResultSize = p.maxResultSize;
        if (p.workloadClass !== undefined) config.workloadClass = p.workloadClass;
        for (const [k, v] of p.dyncfgUpdates) config.dyncfg.set(k, v);
        break;
      }
      case "createDataflow": {
        const { asOf, ...description } = event.dataflow;
        const state: DataflowState = { description, since: new Map() };
        for (const id of dataflowExportIds(event.dataflow)) {
          state.since.set(id, asOf);
          owner.set(id, state);
        }
        dataflows.push(state);
        break;
      }
      case "allowCompaction": {
        const state = owner.get(event.id);
        const current = state?.since.get(event.id);
        if (state === undefined || current === undefined) break;
        state.since.set(event.id, Frontier.join(current, event.frontier));
        break;
      }
      case "schedule":
        scheduled.add(event.id);
        break;
      case "allowWrites":
        writable.add(event.id);
        break;
      case "peek":
        peeks.set(event.peek.uuid, event.peek);
        break;
      case "cancelPeek":
      case "retirePeek":
        peeks.delete(event.uuid);
        break;
    }
  }

  const live = dataflows.filter((d) => [...d.since.values()].some((f) => f !== null));
  const liveExports = new Set(live.flatMap((d) => [...d.since.keys()]));
  return {
    hello,
    instance,
    config,
    dataflows: live.map((d) => ({ description: d.description, exports: [...d.since] })),
    scheduled: [...scheduled].filter((id) => liveExports.has(id)).sort(),
    writable: [...writable].filter((id) => liveExports.has(id)).sort(),
    peeks: [...peeks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    initialized,
  };
}
