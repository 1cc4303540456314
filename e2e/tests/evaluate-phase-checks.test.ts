/**
 * The logging and replicas checks of `pnpm evaluate` can fail (a check that cannot fail is no
 * check): from two sides shaped like a real run's (ids, names and rows as environmentd and the
 * replicas answered them), each comparison passes as is and reports each injected difference.
 * No processes.
 */
import {
  type ControllerPath,
  introspectionObjectName,
  LOG_RELATIONS,
  type ObjectInfo,
  type StatusResponse,
} from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import type { Outcome } from "../src/evaluate/compare.js";
import type { EvaluationContext } from "../src/evaluate/context.js";
import { diffControllerPaths, diffReplicaTasks, STATE_SEAMS } from "../src/evaluate/controllers.js";
import {
  diffComputeRelations,
  diffIntrospectionSchema,
  diffStorageRelations,
  type IntrospectionView,
  sideMaps,
} from "../src/evaluate/introspection.js";
import { parseMetrics, type Rows } from "../src/harness/environment.js";

/** A side's catalog objects (the shared sources on u1, the side's on its own cluster). */
function objects(): ObjectInfo[] {
  const out: ObjectInfo[] = [
    { id: "u12", name: "auction_bids", kind: "subsource", cluster: "eval_src", arity: 5, key: [] },
    {
      id: "u14",
      name: "ticker_counter",
      kind: "subsource",
      cluster: "eval_src",
      arity: 1,
      key: [],
    },
  ];
  const side = (suffix: "off" | "on", cluster: string, base: number, clusterN: number) => {
    const o = (n: number, name: string, kind: ObjectInfo["kind"]) =>
      out.push({ id: `u${base + n}`, name, kind, cluster, arity: 5, key: [] });
    o(0, `bids_${suffix}`, "index");
    o(1, `winning_${suffix}`, "materializedView");
    o(2, `winning_${suffix}_idx`, "index");
    o(3, `fixed_${suffix}`, "source");
    o(4, `fixed_${suffix}_bids`, "subsource");
    o(5, `fixed_${suffix}_bids_idx`, "index");
    for (const [i, r] of LOG_RELATIONS.entries()) {
      out.push({
        id: `s${clusterN * 1000 + i}`,
        name: introspectionObjectName(r.name),
        kind: "introspection",
        cluster,
        arity: r.columns.length,
        key: r.key,
        columns: r.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
        description: r.description,
      });
    }
  };
  side("off", "eval_off", 15, 2);
  side("on", "eval_on", 28, 3);
  return out;
}

const ok = (...rs: Row[]): Outcome => ({ ok: true, rows: rs.map((r) => [r, 1] as const) });
const refused: Outcome = { ok: false, code: "Unavailable", message: "not an index" };

/** The rows one side's replica answers (ids `u<base + n>`, as `objects()` numbers them). */
function answers(
  base: number,
  side: "baseline" | "candidate",
  extra?: string,
): Map<string, Outcome> {
  const id = (n: number) => `u${base + n}`;
  const suffix = side === "baseline" ? "off" : "on";
  const m = new Map<string, Outcome>([
    [
      "dataflows",
      ok(
        [0n, 0n, `bids_${suffix}`],
        [1n, 0n, `winning_${suffix}`],
        [2n, 0n, `winning_${suffix}_idx`],
        [3n, 0n, `fixed_${suffix}_bids_idx`],
      ),
    ],
    [
      "dataflow_exports",
      ok(
        [id(0), 0n, 0n, "index"],
        [id(1), 0n, 1n, "persistSink"],
        [id(2), 0n, 2n, "index"],
        [id(5), 0n, 3n, "index"],
      ),
    ],
    [
      "operators",
      ok(
        [0n, 0n, 0n, "source u12"],
        [0n, 2n, 0n, `index ${id(0)}`],
        [2n, 0n, 0n, `source ${id(1)}`],
      ),
    ],
    ["scheduling_elapsed", ok([0n, 0n, 0n, 1234n], [2n, 0n, 0n, side === "baseline" ? 99n : 7n])],
    [
      "compute_frontiers",
      ok([id(0), 0n, 5000n], [id(1), 0n, 5000n], [id(2), 0n, side === "baseline" ? 5000n : 6000n]),
    ],
    ["compute_import_frontiers", ok([id(0), "u12", 0n, 5000n], [id(2), id(1), 0n, 5000n])],
    [
      "arrangement_sizes",
      // The live bids index holds what its replica read by then; the closed one is complete.
      ok([id(0), 0n, side === "baseline" ? 20n : 21n, 1n, 100n], [id(5), 0n, 70n, 30n, 3000n]),
    ],
    ["active_peeks", ok()],
    ["peek_durations", ok([0n, side === "baseline" ? 262144n : 131072n, 3n])],
    ["hydration_times", ok([id(0), 0n, 10n], [id(1), 0n, 20n], [id(2), 0n, 30n], [id(5), 0n, 40n])],
    ["error_counts", ok()],
  ]);
  if (side === "candidate") {
    m.set("ingestion_frontiers", ok());
    m.set(
      "ingestion_statistics",
      ok([id(3), 0n, 156n, 3341n, 156n, true], [id(4), 0n, 70n, 1314n, 70n, true]),
    );
    m.set("source_status", ok([id(3), 0n, "running", null]));
  } else {
    for (const r of ["ingestion_frontiers", "ingestion_statistics", "source_status"])
      m.set(r, refused);
  }
  if (extra !== undefined) m.set("dataflows", ok([9n, 0n, extra]));
  return m;
}

function views(): { baseline: IntrospectionView; candidate: IntrospectionView } {
  const all = objects();
  return {
    baseline: { ...sideMaps(all, "baseline", "eval_off"), answers: answers(15, "baseline") },
    candidate: { ...sideMaps(all, "candidate", "eval_on"), answers: answers(28, "candidate") },
  };
}

/** `view` with `relation` answering `outcome` instead. */
function replaced(view: IntrospectionView, relation: string, outcome: Outcome): IntrospectionView {
  const answers = new Map(view.answers);
  answers.set(relation, outcome);
  return { ...view, answers };
}

const rowsOf = (o: Outcome | undefined): Rows => (o?.ok === true ? o.rows : []);

describe("logging: the introspection schema", () => {
  it("the same listing passes; a changed column, a missing relation or an empty listing is found", () => {
    const { baseline, candidate } = views();
    expect(diffIntrospectionSchema(baseline, candidate)).toEqual([]);
    const changed = candidate.listed.map((o) =>
      o.name === "mz_introspection.operators"
        ? {
            ...o,
            columns: (o.columns ?? []).map((c) =>
              c.name === "name" ? { ...c, nullable: true } : c,
            ),
          }
        : o,
    );
    const d = diffIntrospectionSchema(baseline, { ...candidate, listed: changed });
    expect(d.map((x) => x.subject)).toEqual(["introspection schema: mz_introspection.operators"]);
    expect(d[0]?.diff[1]).toContain("name text?");
    const fewer = candidate.listed.filter((o) => o.name !== "mz_introspection.source_status");
    expect(diffIntrospectionSchema(baseline, { ...candidate, listed: fewer })[0]?.diff).toEqual([
      expect.stringMatching(/^- /),
    ]);
    const rekeyed = candidate.listed.map((o) =>
      o.name === "mz_introspection.dataflows" ? { ...o, key: [0] } : o,
    );
    expect(diffIntrospectionSchema(baseline, { ...candidate, listed: rekeyed })).toHaveLength(1);
    expect(
      diffIntrospectionSchema({ ...baseline, listed: [] }, { ...candidate, listed: [] }),
    ).toHaveLength(1);
  });
});

describe("logging: storage relations", () => {
  it("served by the candidate only, naming its own sources", () => {
    const { baseline, candidate } = views();
    expect(diffStorageRelations(baseline, candidate)).toEqual([]);
    // The baseline answers a storage relation (legacy storage has none).
    const d1 = diffStorageRelations(replaced(baseline, "source_status", ok()), candidate);
    expect(d1.map((x) => x.subject)).toEqual(["storage relation source_status"]);
    expect(d1[0]?.diff[0]).toMatch(/^- the baseline answered 0 rows/);
    // The candidate refuses one.
    const d2 = diffStorageRelations(baseline, replaced(candidate, "ingestion_frontiers", refused));
    expect(d2[0]?.diff[0]).toMatch(/^\+ the candidate refused: Unavailable/);
    // A row about a source the candidate does not ingest (the baseline's twin).
    const foreign = ok(...rowsOf(candidate.answers.get("source_status")).map(([r]) => r), [
      "u18",
      0n,
      "running",
      null,
    ]);
    const d3 = diffStorageRelations(baseline, replaced(candidate, "source_status", foreign));
    expect(d3[0]?.diff).toEqual([expect.stringContaining('names "u18"')]);
  });
});

describe("logging: compute relations", () => {
  it("deterministic columns agree, ids mapped by name; timings, live records and peeks' own ids are not compared", () => {
    const { baseline, candidate } = views();
    // The fixtures differ in scheduling time, a live frontier, a live index's records and a
    // peek-duration bucket: none of them is deterministic.
    expect(diffComputeRelations(baseline, candidate)).toEqual([]);
  });

  it("finds a missing dataflow, a renamed operator, a closed index's records, a lost import, an error count", () => {
    const { baseline, candidate } = views();
    const without = (relation: string, drop: (r: Row) => boolean) =>
      replaced(
        candidate,
        relation,
        ok(
          ...rowsOf(candidate.answers.get(relation))
            .map(([r]) => r)
            .filter((r) => !drop(r)),
        ),
      );
    const subjects = (v: IntrospectionView) =>
      diffComputeRelations(baseline, v).map((d) => d.subject);
    expect(subjects(without("dataflows", (r) => r[2] === "winning_on"))).toContain(
      "compute relation dataflows",
    );
    const ops = ok(
      [0n, 0n, 0n, "source u12"],
      [0n, 2n, 0n, "index u28"],
      [2n, 0n, 0n, "source u12"],
    );
    const d = diffComputeRelations(baseline, replaced(candidate, "operators", ops));
    expect(d[0]?.diff).toEqual([
      '+ ["winning_idx",0,0,"source auction_bids"] ×1',
      '- ["winning_idx",0,0,"source winning"] ×1',
    ]);
    const sizes = ok([`u28`, 0n, 21n, 1n, 100n], [`u33`, 0n, 71n, 30n, 3000n]);
    expect(
      diffComputeRelations(baseline, replaced(candidate, "arrangement_sizes", sizes))[0]?.diff,
    ).toEqual(['- ["fixed_bids_idx",0,70] ×1', '+ ["fixed_bids_idx",0,71] ×1']);
    expect(subjects(without("compute_import_frontiers", (r) => r[1] === "u12"))).toEqual([
      "compute relation compute_import_frontiers",
    ]);
    expect(subjects(replaced(candidate, "error_counts", ok(["u30", 0n, 2n])))).toEqual([
      "compute relation error_counts",
    ]);
    // A live export whose frontier went empty on one side only.
    expect(subjects(without("compute_frontiers", (r) => r[0] === "u28"))).toEqual([
      "compute relation compute_frontiers",
      "compute relation arrangement_sizes",
    ]);
    // A refused peek of a compute relation.
    expect(
      diffComputeRelations(baseline, replaced(candidate, "active_peeks", refused))[0]?.diff,
    ).toEqual(["+ refused: Unavailable not an index"]);
    // A peek left pending on one side (its object mapped; uuid and time are the peek's own).
    expect(subjects(replaced(candidate, "active_peeks", ok(["uuid-1", 0n, "u28", 5000n])))).toEqual(
      ["compute relation active_peeks"],
    );
  });

  it("an export not hydrated on either side is found; the sides' own transient dataflows are left out", () => {
    const { baseline, candidate } = views();
    const unhydrated = ok(
      ...rowsOf(candidate.answers.get("hydration_times")).map(([r]) =>
        r[0] === "u30" ? ([r[0], r[1], null] as Row) : r,
      ),
    );
    expect(
      diffComputeRelations(baseline, replaced(candidate, "hydration_times", unhydrated)),
    ).toEqual([
      { check: "logging", subject: "hydration_times", diff: ["+ winning_idx (u30) not hydrated"] },
    ]);
    // A subscribe's dataflow (transient id, its own name) on one side only is no difference.
    const withSubscribe = ok(...rowsOf(candidate.answers.get("dataflows")).map(([r]) => r), [
      9n,
      0n,
      "subscribe-t7",
    ]);
    const exports = ok(...rowsOf(candidate.answers.get("dataflow_exports")).map(([r]) => r), [
      "t7",
      0n,
      9n,
      "subscribe",
    ]);
    expect(
      diffComputeRelations(
        baseline,
        replaced(replaced(candidate, "dataflows", withSubscribe), "dataflow_exports", exports),
      ),
    ).toEqual([]);
  });
});

describe("replicas: controller paths", () => {
  const ctx = {
    sides: {
      baseline: { side: "baseline", cluster: "eval_off", clusterId: "u2", phases: [] },
      candidate: { side: "candidate", cluster: "eval_on", clusterId: "u3", phases: ["replicas"] },
    },
  } as unknown as EvaluationContext;
  const status = (off: string, on: string, candidateSeams = true): StatusResponse => {
    const cluster = (id: string, name: string, path: string, seams: boolean) => ({
      id,
      name,
      replicas: [],
      collections: [],
      flags: [],
      introspectionIntervalMs: 1000,
      ...(seams
        ? {
            controllers: ["compute-replicas", "storage-replicas"].map((seam) => ({
              seam,
              flag: "cluster-unification-replicas",
              path: path as "legacy" | "unified",
              note: path,
            })),
          }
        : {}),
    });
    return {
      clusters: [
        cluster("u2", "eval_off", off, true),
        cluster("u3", "eval_on", on, candidateSeams),
      ],
    };
  };
  it("unified on the candidate and legacy on the baseline passes; anything else is found", () => {
    expect(diffControllerPaths(ctx, status("legacy", "unified"))).toEqual([]);
    const d = diffControllerPaths(ctx, status("legacy", "legacy"));
    expect(d.map((x) => x.subject)).toEqual(["eval_on: controller paths"]);
    expect(d[0]?.diff[0]).toMatch(/^compute-replicas: runs legacy .* needs unified$/);
    expect(diffControllerPaths(ctx, status("unified", "unified"))[0]?.subject).toBe(
      "eval_off: controller paths",
    );
    expect(diffControllerPaths(ctx, status("legacy", "unified", false))[0]?.diff).toEqual([
      "compute-replicas: not reported (status has no controller paths)",
      "storage-replicas: not reported (status has no controller paths)",
    ]);
  });
});

describe("replicas: replica tasks", () => {
  const ctx = (candidate: string[]) =>
    ({
      sides: {
        baseline: { side: "baseline", cluster: "eval_off", clusterId: "u2", phases: [] },
        candidate: { side: "candidate", cluster: "eval_on", clusterId: "u3", phases: candidate },
      },
      replica: (side: string) => ({ replicaId: side === "baseline" ? "u5" : "u6" }),
    }) as unknown as EvaluationContext;
  const series = (cluster: string, replica: string, task: string, value = 1) =>
    ["compute", "storage"].map(
      (workload) =>
        `mz_controller_replica_task{instance_id="${cluster}",replica_id="${replica}",workload="${workload}",task="${task}"} ${value}`,
    );
  const metrics = (...lines: string[][]) => parseMetrics(lines.flat().join("\n"));
  it("each side's replica connected through its task passes; what else runs is found", () => {
    const off = series("u2", "u5", "legacy");
    expect(
      diffReplicaTasks(ctx(["replicas"]), metrics(off, series("u3", "u6", "unified"))),
    ).toEqual([]);
    // The candidate's replica connected through the legacy task (the choice not applied).
    const d = diffReplicaTasks(ctx(["replicas"]), metrics(off, series("u3", "u6", "legacy")));
    expect(d.map((x) => x.subject)).toEqual([
      "eval_on: replica tasks (mz_controller_replica_task)",
    ]);
    expect(d[0]?.diff).toEqual([
      "- u6 compute unified, u6 storage unified",
      "+ u6 compute legacy, u6 storage legacy",
    ]);
    // Not connected (the series at 0) is found too.
    expect(
      diffReplicaTasks(ctx(["replicas"]), metrics(off, series("u3", "u6", "unified", 0)))[0]?.diff,
    ).toEqual(["- u6 compute unified, u6 storage unified", "+ none"]);
    // A one-port replica (client) has no per-workload connection.
    expect(diffReplicaTasks(ctx(["replicas", "client"]), metrics(off))).toEqual([]);
    expect(
      diffReplicaTasks(ctx(["replicas", "client"]), metrics(off, series("u3", "u6", "unified"))),
    ).toHaveLength(1);
  });
});

describe("state: controller paths", () => {
  const ctx = {
    sides: {
      baseline: { side: "baseline", cluster: "eval_off", clusterId: "u2", phases: ["client"] },
      candidate: {
        side: "candidate",
        cluster: "eval_on",
        clusterId: "u3",
        phases: ["client", "state"],
      },
    },
  } as unknown as EvaluationContext;
  const status = (off: string, on: string): StatusResponse => {
    const cluster = (id: string, name: string, path: string) => ({
      id,
      name,
      replicas: [],
      collections: [],
      flags: [],
      introspectionIntervalMs: 1000,
      controllers: [
        { seam: "state", flag: "cluster-unification-state", path, note: path },
      ] as ControllerPath[],
    });
    return { clusters: [cluster("u2", "eval_off", off), cluster("u3", "eval_on", on)] };
  };
  it("one unified state on the candidate and the legacy pair on the baseline passes; else found", () => {
    expect(diffControllerPaths(ctx, status("legacy", "unified"), STATE_SEAMS, "state")).toEqual([]);
    const d = diffControllerPaths(ctx, status("legacy", "legacy"), STATE_SEAMS, "state");
    expect(d.map((x) => [x.check, x.subject])).toEqual([["state", "eval_on: controller paths"]]);
    expect(d[0]?.diff[0]).toMatch(/^state: runs legacy .* needs unified$/);
  });
});
