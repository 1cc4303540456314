/**
 * The command history of one cluster: every `ClusterCommand` the cluster state sent its replicas,
 * compute and storage in one log, with one reduction (design.md §9 phase 5) — so a cluster keeps
 * one history bounded by its live objects, not two.
 *
 * ## Flow
 * 1. `push` appends; when the log has doubled since the last reduction it reduces (amortised
 *    O(1) per command; the first push reduces).
 * 2. `retirePeek(uuid)`: an answered peek is left out of every later reduction.
 * 3. `commands()` reduces and returns the log: what a new replica incarnation is replayed.
 *
 * ## Reduction
 * One pass splits the log by workload, keeping each workload's order, applies that workload's
 * rule (`reduction-rules.ts`: the protocol's own `ComputeCommandHistory` /
 * `StorageCommandHistory` rules), and concatenates storage then compute. The order *within* each
 * workload is the protocol's replay order; the cluster stream lets the two interleave freely
 * (`@mzts/protocol` `cluster-command.ts`), and storage first puts the ingestions before the
 * dataflows that read them.
 */
import {
  type ClusterCommand,
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type ComputeHistoryMetrics,
  createHello,
  type LoggingConfig,
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
  type StorageHistoryMetrics,
} from "@mzts/protocol";
import { computeReduction, type ReductionRule, storageReduction } from "./reduction-rules.js";

/** The rules the history applies (tests may inject a wrong one to see it caught). */
export interface ClusterReductionRules {
  readonly compute: ReductionRule<ComputeCommand>;
  readonly storage: ReductionRule<StorageCommand>;
}

/** The protocol's rules. */
export const PROTOCOL_RULES: ClusterReductionRules = {
  compute: computeReduction,
  storage: storageReduction,
};

/**
 * Where the history mirrors its per-kind counts: the legacy histories' series
 * (`mz_compute_controller_history_{command,dataflow}_count`,
 * `mz_storage_controller_history_command_count`), so dashboards read the same either way.
 */
export interface ClusterHistoryMetrics {
  readonly compute: ComputeHistoryMetrics;
  readonly storage: StorageHistoryMetrics;
}

/** The one reducing history of a cluster. */
export class ClusterCommandHistory {
  readonly #rules: ClusterReductionRules;
  /** The log, oldest first; replaced wholesale by each reduction. */
  #log: ClusterCommand[] = [];
  /** Length right after the last reduction (0 before the first): the doubling trigger. */
  #reducedCount = 0;
  /** Peeks answered since the last reduction (the next one leaves them out, then forgets them). */
  readonly #retired = new Set<string>();
  /** Reductions so far (a metric and a test hook). */
  #reductions = 0;
  /** Where the counts are mirrored (`attachMetrics`). */
  #metrics: ClusterHistoryMetrics | undefined;
  /** `<workload>:<kind>` → commands held, while metrics are attached. */
  readonly #counts = new Map<string, number>();

  constructor(rules: ClusterReductionRules = PROTOCOL_RULES) {
    this.#rules = rules;
  }

  /** Appends a command; reduces when the log doubled since the last reduction. */
  push(command: ClusterCommand): void {
    this.#log.push(command);
    if (this.#log.length > 2 * this.#reducedCount) this.reduce();
    else if (this.#metrics !== undefined) this.#mirrorOne(command);
  }

  /**
   * Mirrors the per-kind counts into `sink` from now on (set at every reduction, incremented in
   * between; every kind's series is set, 0 when absent). Returns the detach function, which
   * removes the compute series (the storage ones go with `forgetInstance`).
   */
  attachMetrics(sink: ClusterHistoryMetrics): () => void {
    this.#metrics = sink;
    this.#mirrorAll();
    return () => {
      if (this.#metrics !== sink) return;
      this.#metrics = undefined;
      sink.compute.remove();
    };
  }

  /** One pushed command: its kind's count (kept per workload, so O(1)) goes to the sink. */
  #mirrorOne(c: ClusterCommand): void {
    const m = this.#metrics;
    if (m === undefined) return;
    const key = `${c.kind}:${c.command.kind}`;
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    if (c.kind === "storage") {
      m.storage.inc(c.command.kind);
      return;
    }
    m.compute.setCommandCount(c.command.kind, n);
    if (c.command.kind === "createDataflow") m.compute.setDataflowCount(n);
  }

  /** Recounts the log (at a reduction, already O(n)) and sets every kind's series. */
  #mirrorAll(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    this.#counts.clear();
    for (const c of this.#log) {
      const key = `${c.kind}:${c.command.kind}`;
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    }
    const count = (key: string) => this.#counts.get(key) ?? 0;
    for (const k of COMPUTE_COMMAND_KINDS) m.compute.setCommandCount(k, count(`compute:${k}`));
    m.compute.setDataflowCount(count("compute:createDataflow"));
    for (const k of STORAGE_COMMAND_KINDS) m.storage.set(k, count(`storage:${k}`));
  }

  /** Marks an answered peek: no later reduction keeps it. */
  retirePeek(uuid: string): void {
    this.#retired.add(uuid);
  }

  /** Reduces the log in place (see the file comment). */
  reduce(): void {
    const compute: ComputeCommand[] = [];
    const storage: StorageCommand[] = [];
    for (const c of this.#log) {
      if (c.kind === "compute") compute.push(c.command);
      else storage.push(c.command);
    }
    const reduced: ClusterCommand[] = [];
    for (const command of this.#rules.storage.reduce(storage, this.#retired))
      reduced.push({ kind: "storage", command });
    for (const command of this.#rules.compute.reduce(compute, this.#retired))
      reduced.push({ kind: "compute", command });
    this.#log = reduced;
    this.#reducedCount = reduced.length;
    this.#retired.clear();
    this.#reductions++;
    this.#mirrorAll();
  }

  /** The reduced log, oldest first (reduces first). A snapshot array. */
  commands(): readonly ClusterCommand[] {
    this.reduce();
    return this.#log.slice();
  }

  /** Commands held (reduced or not). */
  get size(): number {
    return this.#log.length;
  }

  /** Reductions so far. */
  get reductions(): number {
    return this.#reductions;
  }

  /** Commands held per workload. */
  sizes(): { readonly compute: number; readonly storage: number } {
    let compute = 0;
    for (const c of this.#log) if (c.kind === "compute") compute++;
    return { compute, storage: this.#log.length - compute };
  }
}

/**
 * The commands a cluster's history starts with: the compute `hello` (placeholder nonce; each
 * stream sends a fresh one), `createInstance` with the logging config, `initializationComplete`,
 * and the storage `hello`, `initializationComplete` and — unless read-only (0dt) — `allowWrites`.
 */
export function clusterPreamble(opts: {
  readonly generation: bigint;
  readonly logging: LoggingConfig;
  readonly readOnly?: boolean;
}): ClusterCommand[] {
  const hello = createHello(opts.generation);
  const out: ClusterCommand[] = [
    { kind: "compute", command: { kind: "hello", hello } },
    { kind: "compute", command: { kind: "createInstance", config: { logging: opts.logging } } },
    { kind: "compute", command: { kind: "initializationComplete" } },
    { kind: "storage", command: { kind: "hello", hello } },
    { kind: "storage", command: { kind: "initializationComplete" } },
  ];
  if (opts.readOnly !== true) out.push({ kind: "storage", command: { kind: "allowWrites" } });
  return out;
}
