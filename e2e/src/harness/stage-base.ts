/**
 * What the migration-stage e2e tests (`tests/migration-stages*.e2e.test.ts`) share:
 * - `createStageBase`: the all-off cluster — cluster `base` with one replica, the deterministic
 *   auction (`auction-workload.ts`), the materialized view `winning_bids` and indexes
 *   `bids_base` / `winning_base` on it. Its answers at `T` are the baseline every stage must
 *   give (`bids`, `winning`).
 * - `stageEnvironment`: one environmentd per test file on its own data dir, flags per cluster
 *   id (`flagsById`, else `pending`: what the next created cluster gets), the base cluster
 *   created before the tests and everything stopped after them (the replicas reaped even when
 *   a test failed); `boot()` again after `env.close({ keepReplicas: true })` adopts them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEnvironment, type Environment, type EnvironmentOptions } from "@mzts/environmentd";
import { type Phase, type PhaseFlagValue, PhaseSet } from "@mzts/flags";
import pino from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, expect } from "vitest";
import { deterministicAuction, T } from "./auction-workload.js";
import { ReplicaReaper, type Rows, sortRows } from "./environment.js";

export type StageFlags = { [P in Phase]?: PhaseFlagValue };

/** environmentd's options beside the ones every stage test sets. */
export type StageBootOptions = Omit<
  EnvironmentOptions,
  "dataDir" | "phaseFlags" | "logger" | "registry"
>;

/** A stage test file's environment (`stageEnvironment`). */
export class StageEnvironment {
  readonly flagsById = new Map<string, StageFlags>();
  /** The flags of a cluster not in `flagsById` (set it before creating one). */
  pending: StageFlags = {};
  readonly baseline = new Map<string, Rows>();
  #dataDir = "";
  #reaper: ReplicaReaper | undefined;
  #env: Environment | undefined;
  #registry = new Registry();

  constructor(
    private readonly prefix: string,
    private readonly options: StageBootOptions,
  ) {}

  get env(): Environment {
    if (this.#env === undefined) throw new Error("the stage environment is not booted");
    return this.#env;
  }

  /** The running environmentd's metrics registry (what its `/metrics` serves). */
  get registry(): Registry {
    return this.#registry;
  }

  /** Records the replica processes running now (to reap them at the end). */
  observe(): void {
    this.#reaper?.observe();
  }

  /** Boots environmentd on the data dir (again: adopting the replicas a previous one left). */
  async boot(): Promise<Environment> {
    this.#registry = new Registry();
    this.#env = await createEnvironment({
      dataDir: this.#dataDir,
      phaseFlags: (id) => PhaseSet.of(id, this.flagsById.get(id) ?? this.pending),
      logger: pino({ level: "warn" }),
      registry: this.#registry,
      ...this.options,
    });
    return this.#env;
  }

  async start(): Promise<void> {
    this.#dataDir = mkdtempSync(join(tmpdir(), this.prefix));
    this.#reaper = new ReplicaReaper(this.#dataDir);
    const env = await this.boot();
    const base = await createStageBase(env);
    this.flagsById.set(base.baseId, {});
    for (const [k, v] of base.baseline) this.baseline.set(k, v);
    this.observe();
  }

  async stop(): Promise<void> {
    this.observe();
    await this.#env?.close();
    this.#reaper?.reap();
    if (this.#dataDir !== "") rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** A stage test file's environment, started before its tests and stopped after them. */
export function stageEnvironment(prefix: string, options: StageBootOptions): StageEnvironment {
  const s = new StageEnvironment(prefix, options);
  beforeAll(() => s.start(), 90_000);
  afterAll(() => s.stop());
  return s;
}

/** Creates the base cluster (run it while the flags give new clusters no phase). */
export async function createStageBase(
  env: Environment,
): Promise<{ readonly baseId: string; readonly baseline: ReadonlyMap<string, Rows> }> {
  const base = await env.createCluster({ name: "base" });
  await env.createReplica({ cluster: "base", name: "r1", size: 1 });
  await env.createSource({
    name: "auction",
    cluster: "base",
    loadGenerator: deterministicAuction(42n),
  });
  const bids = (await env.listObjects({})).objects.find((o) => o.name === "auction_bids");
  if (bids === undefined) throw new Error("auction has no auction_bids subsource");
  await env.createMaterializedView({
    name: "winning_bids",
    cluster: "base",
    plan: {
      kind: "reduce",
      input: { kind: "get", id: bids.id, arity: 5 },
      groupKey: [2],
      aggregates: [{ func: "max", column: 3 }, { func: "count" }],
    },
  });
  await env.createIndex({ name: "bids_base", cluster: "base", on: "auction_bids", key: [2] });
  await env.createIndex({ name: "winning_base", cluster: "base", on: "winning_bids", key: [0] });
  const baseline = new Map<string, Rows>();
  for (const object of ["bids", "winning"]) {
    const res = await env.peek({ object: `${object}_base`, timestamp: T, timeoutMs: 30_000 });
    expect(res.rows.length, `${object} at T`).toBeGreaterThan(0);
    baseline.set(object, sortRows(res.rows));
  }
  return { baseId: base.id, baseline };
}
