/**
 * Migration stages in environmentd (`replica-slots.ts`, `replica-tasks.ts`,
 * `cluster-stages.ts`), without processes: which phases split a cluster's replicas and which
 * path answers; a replica's path from its slot and what it was started with; the per-replica
 * task of a `replicas` migration; the comparisons counted per stage, the LaunchDarkly tracking
 * and status's notes (a one-replica cluster needs a second replica).
 */
import type { ComparisonRecord } from "@mzts/compute-client";
import type { ReplicaConnector } from "@mzts/controller-unified";
import { PhaseSet } from "@mzts/flags";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { ReplicaSlot } from "../../catalog/catalog.js";
import { ClusterStages } from "./cluster-stages.js";
import { replicaPhases, slotOfReplica, slotSplit, tieSlot } from "./replica-slots.js";
import { perReplicaTask } from "./replica-tasks.js";

const of = (flags: Parameters<typeof PhaseSet.of>[1]) => PhaseSet.of("u1", flags);

describe("replica slots", () => {
  it("split on the migrating built replica-side phases and replicas; the stage names who answers", () => {
    expect(slotSplit(of({ servers: true }))).toBeUndefined();
    expect(slotSplit(of({ servers: "shadow" }))).toEqual({
      phases: ["servers"],
      authoritative: "legacy",
      compare: true,
    });
    expect(slotSplit(of({ servers: true, logging: "live" }))).toMatchObject({
      phases: ["logging"],
      authoritative: "unified",
    });
    expect(slotSplit(of({ replicas: "dualwrite" }))).toMatchObject({ compare: false });
    // Disagreeing stages: legacy answers, and status says why.
    expect(slotSplit(of({ servers: "shadow", replicas: "live" }))).toMatchObject({
      authoritative: "legacy",
      conflict: expect.stringMatching(/migrate one phase at a time/),
    });
    // A blocked middle stage splits nothing (logging needs servers complete).
    expect(slotSplit(of({ logging: "shadow" }))).toBeUndefined();
    expect(tieSlot(of({ client: "live", servers: true, replicas: true }))).toBe("unified");
    expect(tieSlot(of({}))).toBe("legacy");
  });

  it("a replica runs its slot's PhaseSet, and runs its slot only when started with it", () => {
    const live = of({ servers: "live" });
    const unified = replicaPhases(live, "unified");
    const legacy = replicaPhases(live, "legacy");
    expect(unified.inForce.servers).toBe(true);
    expect(legacy.inForce.servers).toBe(false);
    expect(slotOfReplica(["servers"], "unified", unified)).toBe("unified");
    expect(slotOfReplica(["servers"], "legacy", legacy)).toBe("legacy");
    // Started before the stage changed with the other slot's phases: neither path.
    expect(slotOfReplica(["servers"], "unified", legacy)).toBeUndefined();
    // The controller-side split follows the slot alone (the controllers choose per replica now).
    expect(slotOfReplica(["replicas"], "unified", of({}))).toBe("unified");
    expect(slotOfReplica(["servers"], undefined, unified)).toBeUndefined();
  });

  it("a replicas migration connects each replica through its slot's task", () => {
    const calls: string[] = [];
    const task = (name: string): ReplicaConnector<unknown, unknown> =>
      ((o: { replicaId: string }) => {
        calls.push(`${o.replicaId}:${name}`);
        return {} as never;
      }) as never;
    const slots = new Map<string, ReplicaSlot>([
      ["u2", "legacy"],
      ["u3", "unified"],
    ]);
    const choose = (p: PhaseSet) => task(p.takesEffect("replicas") ? "unified" : "legacy");
    const connect = perReplicaTask(of({ replicas: "shadow" }), (r) => slots.get(r), choose);
    for (const replicaId of ["u2", "u3", "u9"]) connect({ replicaId } as never);
    // u9 has no known slot: the authoritative (legacy in shadow) task.
    expect(calls).toEqual(["u2:legacy", "u3:unified", "u9:legacy"]);
    // Not migrating: the cluster's own choice for everyone.
    calls.length = 0;
    perReplicaTask(
      of({ replicas: true }),
      (r) => slots.get(r),
      choose,
    )({
      replicaId: "u2",
    } as never);
    expect(calls).toEqual(["u2:unified"]);
  });
});

describe("ClusterStages", () => {
  function setup(initial: PhaseSet) {
    let phases = initial;
    const slots = new Map<string, ReplicaSlot>([
      ["u2", "legacy"],
      ["u3", "unified"],
    ]);
    const tracked: unknown[] = [];
    /** What a replica was started with, when not its slot's phases. */
    const started = new Map<string, PhaseSet>();
    const stages = new ClusterStages({
      clusterPhases: () => phases,
      replicaPhases: (r) => {
        const s = slots.get(r);
        return started.get(r) ?? (s === undefined ? undefined : phases.forSlot(s));
      },
      replicaSlot: (r) => slots.get(r),
      tracker: {
        trackComparison: async (...args) => {
          tracked.push(args);
          return undefined;
        },
      },
      log: pino({ level: "silent" }),
    });
    return {
      stages,
      slots,
      started,
      tracked,
      set: (p: PhaseSet) => {
        phases = p;
      },
    };
  }
  const record = (result: ComparisonRecord["result"], extra = {}): ComparisonRecord => ({
    uuid: "x",
    phase: "servers",
    result,
    servedBy: "legacy",
    latencyMs: { legacy: 2, unified: 3 },
    errors: [],
    ...extra,
  });
  const replicas = [
    { id: "u2", name: "r1" },
    { id: "u3", name: "r2" },
  ];

  it("hands compute-client the split and counts its comparisons per stage", () => {
    const s = setup(of({ servers: "shadow" }));
    const split = s.stages.pathSplit("u1");
    expect(split).toMatchObject({ phase: "servers", authoritative: "legacy", compare: true });
    expect([split?.slotOf("u2"), split?.slotOf("u3"), split?.slotOf("u9")]).toEqual([
      "legacy",
      "unified",
      undefined,
    ]);
    s.stages.compared("u1", record("consistent"));
    s.stages.compared("u1", record("inconsistent", { difference: "1 row(s) differ" }));
    const [m] = s.stages.migrations("u1", replicas);
    expect(m).toMatchObject({
      flag: "cluster-unification-servers",
      stage: "shadow",
      authoritative: "legacy",
      slots: [
        { replica: "r1", slot: "legacy" },
        { replica: "r2", slot: "unified" },
      ],
      consistent: 1,
      inconsistent: 1,
      lastInconsistency: "1 row(s) differ",
      paths: [
        { path: "legacy", answers: 2, p50Ms: 2 },
        { path: "unified", answers: 2, p50Ms: 3 },
      ],
    });
    expect(m?.note).toBeUndefined();
    expect(s.tracked).toEqual([
      ["u1", "servers", { latencyMs: { legacy: 2, unified: 3 }, consistent: true, errors: [] }],
      ["u1", "servers", { latencyMs: { legacy: 2, unified: 3 }, consistent: false, errors: [] }],
    ]);
    // shadow → live: the unified path answers, counted afresh.
    s.set(of({ servers: "live" }));
    expect(s.stages.pathSplit("u1")?.authoritative).toBe("unified");
    expect(s.stages.migrations("u1", replicas)[0]).toMatchObject({ stage: "live", consistent: 0 });
    s.set(of({ servers: true }));
    expect(s.stages.pathSplit("u1")).toBeUndefined();
    expect(s.stages.migrations("u1", replicas)).toEqual([]);
  });

  it("says a one-replica cluster needs a second replica to compare", () => {
    const s = setup(of({ servers: "shadow" }));
    const [m] = s.stages.migrations("u1", [{ id: "u2", name: "r1" }]);
    expect(m?.note).toMatch(/^needs a second replica to compare: only the legacy path runs/);
    expect(s.stages.migrations("u1", [])[0]?.note).toMatch(/^needs two replicas to compare/);
    // A replica that runs neither path (started before the stage) does not count.
    s.slots.set("u9", "unified");
    s.started.set("u9", of({})); // started before servers went to shadow: servers off
    const stale = s.stages.migrations("u1", [{ id: "u9", name: "old" }])[0];
    expect(stale?.slots).toEqual([{ replica: "old" }]);
    expect(stale?.note).toBe(
      "needs two replicas to compare: no replica runs either path; add two; 1 replica(s) run neither path's phases (a flip rolls them)",
    );
  });
});
