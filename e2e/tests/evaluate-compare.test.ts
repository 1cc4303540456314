/**
 * The comparisons of `pnpm evaluate` can fail (a check that cannot fail is no check): each gets a
 * difference injected and must report it, and a report holding it must fail its verdict. No
 * processes: a scripted API stands in for environmentd where a round of peeks is exercised.
 * Also: the evaluation's flags file turns the phase on for the candidate cluster only, as the
 * flags service itself evaluates it, and the sides of each target.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createPhaseFlags, PHASES } from "@mzts/flags";
import type { PeekRequest, StatusResponse } from "@mzts/protocol";
import type { Row, Update } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import {
  diffOutcomes,
  diffRows,
  diffStatuses,
  diffStreams,
  FrontierTrack,
  type Stream,
} from "../src/evaluate/compare.js";
import {
  type EvaluationContext,
  evaluationContext,
  neutralName,
  sideName,
} from "../src/evaluate/context.js";
import { evaluationFlags } from "../src/evaluate/flags-file.js";
import { PLOT_IDS, renderHtml } from "../src/evaluate/html.js";
import { compareRound, emptyPeekLog } from "../src/evaluate/peeks.js";
import { PHASE_CHECKS, sidesOf } from "../src/evaluate/phases.js";
import { assembleReport, emptySide, verdictOf } from "../src/evaluate/report.js";
import type { Session } from "../src/evaluate/session.js";
import { summarise } from "../src/evaluate/stats.js";
import { FIXED_INDEXES, LIVE_INDEXES } from "../src/evaluate/workload.js";
import { T } from "../src/harness/auction-workload.js";
import type { EnvironmentApi, Rows } from "../src/harness/environment.js";

const rows = (...rs: Array<[number, number]>): Rows =>
  rs.map(([a, n]) => [[BigInt(a), "x"] as Row, n] as const);

describe("row comparison", () => {
  it("equal answers (in any order) are no difference", () => {
    expect(diffRows("s", rows([1, 1], [2, 3]), rows([2, 3], [1, 1]))).toBeUndefined();
  });
  it("finds a changed count, a missing row and an extra row", () => {
    const base = rows([1, 1], [2, 3], [4, 1]);
    expect(diffRows("s", base, rows([1, 1], [2, 2], [4, 1]))?.diff).toEqual([
      "3 rows vs 3 rows",
      '- [2,"x"] ×3',
      '+ [2,"x"] ×2',
    ]);
    expect(diffRows("s", base, rows([1, 1], [2, 3]))?.diff).toContain('- [4,"x"] ×1');
    expect(diffRows("s", base, rows([1, 1], [2, 3], [4, 1], [5, 1]))?.diff).toContain(
      '+ [5,"x"] ×1',
    );
  });
  it("an error against rows is a difference; the same error code is not", () => {
    const err = { ok: false as const, code: "FailedPrecondition", message: "a" };
    expect(diffOutcomes("s", { ok: true, rows: rows([1, 1]) }, err)).toBeDefined();
    expect(diffOutcomes("s", err, { ...err, message: "b" })).toBeUndefined();
    expect(diffOutcomes("s", err, { ...err, code: "InvalidArgument" })).toBeDefined();
  });
});

describe("subscribe streams", () => {
  const u = (a: number, t: bigint, d = 1): Update => [[BigInt(a)], t, d];
  const stream = (updates: Update[], uppers: Array<bigint | null>): Stream => ({
    updates,
    uppers,
  });
  it("the same updates below the common upper are no difference", () => {
    const a = stream([u(1, 10n), u(2, 11n)], [11n, 12n, 13n]);
    const b = stream([u(2, 11n), u(1, 10n), u(3, 15n)], [12n, 16n]);
    expect(diffStreams("s", 10n, a, b)).toEqual([]);
  });
  it("finds a changed diff, a missing update and a broken stream", () => {
    const a = stream([u(1, 10n), u(2, 11n)], [12n]);
    expect(diffStreams("s", 10n, a, stream([u(1, 10n), u(2, 11n, 2)], [12n]))).toHaveLength(1);
    expect(diffStreams("s", 10n, a, stream([u(1, 10n)], [12n]))[0]?.diff).toContain("- 11 [2] 1");
    const back = diffStreams("s", 10n, a, stream([u(1, 10n), u(2, 11n)], [12n, 11n]));
    expect(back.some((d) => d.diff.some((l) => l.includes("went back")))).toBe(true);
    const failed = { ...stream([], [11n]), error: "Unavailable: gone" };
    expect(diffStreams("s", 10n, a, failed).length).toBeGreaterThan(0);
    expect(diffStreams("s", 10n, a, stream([], []))[0]?.diff).toEqual([
      "no batch from the candidate",
    ]);
  });
});

describe("latency summaries", () => {
  it("percentiles by nearest rank and a histogram on the fixed buckets", () => {
    const s = summarise([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 6000]);
    expect([s.count, s.p50Ms, s.p90Ms, s.p99Ms, s.maxMs]).toEqual([11, 6, 10, 6000, 6000]);
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(11);
    expect(s.histogram[0]).toBe(1); // ≤ 1 ms
    expect(s.histogram.at(-1)).toBe(1); // above the last bucket
    expect(summarise([]).p99Ms).toBe(0);
  });
});

describe("frontiers and statuses", () => {
  it("a frontier moving back is a difference; forward and to [] are not", () => {
    const t = new FrontierTrack();
    expect(t.observe("c", "write", 5n, 0)).toBeUndefined();
    expect(t.observe("c", "write", 7n, 1)).toBeUndefined();
    expect(t.observe("c", "write", 6n, 2)?.diff).toEqual(["went back from 7 to 6 at +2 ms"]);
    expect(t.observe("c", "write", null, 3)).toBeUndefined();
    expect(t.observe("c", "write", 9n, 4)).toBeDefined();
  });
  it("twin collections must exist, close and fail alike", () => {
    const ok = new Map([["fixed_bids", { closed: true }]]);
    expect(diffStatuses(ok, new Map(ok))).toEqual([]);
    expect(diffStatuses(ok, new Map([["fixed_bids", { closed: false }]]))).toHaveLength(1);
    expect(diffStatuses(ok, new Map())).toHaveLength(1);
    const failed = new Map([["fixed_bids", { closed: true, failed: "boom" }]]);
    expect(diffStatuses(ok, failed)[0]?.diff).toEqual(["- closed", "+ closed, failed: boom"]);
  });
});

/** A scripted environmentd: both sides answer `answer(object)`, frontiers at 2000. */
function scriptedContext(answer: (object: string, timestamp?: bigint) => Rows) {
  const collections = (suffix: string) =>
    [...LIVE_INDEXES, ...FIXED_INDEXES].map((n) => ({
      id: n,
      name: sideName(suffix === "off" ? "baseline" : "candidate", n),
      writeFrontier: 2000n,
      since: 1000n,
    }));
  const status: StatusResponse = {
    clusters: [
      {
        id: "u2",
        name: "eval_off",
        replicas: [],
        collections: collections("off"),
        flags: [],
        introspectionIntervalMs: 1000,
      },
      {
        id: "u3",
        name: "eval_on",
        replicas: [],
        collections: collections("on"),
        flags: [],
        introspectionIntervalMs: 1000,
      },
    ],
  };
  const peeked: PeekRequest[] = [];
  const api = {
    status: async () => status,
    peek: async (req: PeekRequest) => {
      peeked.push(req);
      return { rows: answer(req.object, req.timestamp), timestamp: req.timestamp ?? 0n };
    },
  } as unknown as EnvironmentApi;
  const session = { api, records: () => [] } as unknown as Session;
  const ctx = evaluationContext(session, {
    baseline: { side: "baseline", cluster: "eval_off", clusterId: "u2", phases: [] },
    candidate: { side: "candidate", cluster: "eval_on", clusterId: "u3", phases: ["servers"] },
  });
  return { ctx, peeked };
}

describe("a round of fixed-time peeks", () => {
  it("peeks both sides at one time and passes when they agree", async () => {
    const { ctx, peeked } = scriptedContext(() => rows([1, 1]));
    const log = emptyPeekLog();
    expect(await compareRound(ctx, log)).toBe(true);
    expect(log.differences).toEqual([]);
    expect(log.compared).toBe(LIVE_INDEXES.length + FIXED_INDEXES.length);
    const live = peeked.filter((p) => p.timestamp !== T);
    expect(new Set(live.map((p) => p.timestamp))).toEqual(new Set([1999n]));
    expect(peeked.map((p) => p.object)).toContain("winning_on_idx");
  });

  it("an injected difference on the candidate fails the verdict", async () => {
    const { ctx } = scriptedContext((object) =>
      object === "winning_on_idx" ? rows([1, 1], [2, 1]) : rows([1, 1]),
    );
    const log = emptyPeekLog();
    await compareRound(ctx, log);
    expect(log.differences).toHaveLength(1);
    expect(log.differences[0]?.subject).toBe("winning_idx at 1999");
    expect(log.differences[0]?.diff).toContain('+ [2,"x"] ×1');
    const report = assembleReport({
      target: "servers",
      started: new Date(),
      seconds: 1,
      elapsedSeconds: 1,
      skipped: [],
      checks: [],
      differences: log.differences,
      errors: [],
      environmentdRssMb: [],
      sides: { baseline: emptySide([]), candidate: emptySide(["servers"]) },
    });
    expect(report.verdict).toBe("fail");
    expect(verdictOf({ ...report, differences: [] })).toBe("pass");
    expect(verdictOf({ ...report, differences: [], errors: ["boom"] })).toBe("fail");
    expect(
      verdictOf({
        ...report,
        differences: [],
        checks: [{ name: "c", describe: "", compared: 1, differences: 1 }],
      }),
    ).toBe("fail");
    const html = renderHtml(report, "/* chart.js */");
    expect(html).toContain("FAIL");
    expect(html).toContain("winning_idx at 1999");
    for (const id of PLOT_IDS) expect(html).toContain(`<canvas id="${id}">`);
  });
});

describe("compaction races", () => {
  const compacted = () => {
    throw new ConnectError(
      "cannot read ticker_on: it is compacted up to since 2000",
      Code.FailedPrecondition,
    );
  };
  it("a side that compacted past the time is read again, both sides, and then compared", async () => {
    let raced = false;
    const { ctx, peeked } = scriptedContext((object) => {
      if (object === "ticker_on" && !raced) {
        raced = true;
        compacted();
      }
      return rows([1, 1]);
    });
    const log = emptyPeekLog();
    await compareRound(ctx, log);
    expect(log.retried).toBe(1);
    expect(log.unreadable).toBe(0);
    expect(log.differences).toEqual([]);
    expect(peeked.filter((p) => p.object === "ticker_off")).toHaveLength(2);
  });
  it("a pair never readable on both is counted, not compared, and is no difference", async () => {
    const { ctx } = scriptedContext((object) =>
      object === "ticker_on" ? compacted() : rows([1, 1]),
    );
    const log = emptyPeekLog();
    await compareRound(ctx, log);
    expect(log.unreadable).toBe(1);
    expect(log.compared).toBe(LIVE_INDEXES.length + FIXED_INDEXES.length - 1);
    expect(log.differences).toEqual([]);
  });
  it("any other error against rows is a difference", async () => {
    const { ctx } = scriptedContext((object) => {
      if (object === "top_on_idx") throw new ConnectError("boom", Code.Internal);
      return rows([1, 1]);
    });
    const log = emptyPeekLog();
    await compareRound(ctx, log);
    expect(log.differences.map((d) => d.subject)).toEqual(["top_idx at 1999"]);
    expect(log.failed.candidate).toBe(1);
  });
});

describe("the phases' own checks", () => {
  it("servers: a lost metric family; logging: a log host idle on the candidate or busy on the baseline", async () => {
    const metrics: Record<string, string> = {
      "/baseline/metrics":
        "# TYPE mz_compute_dataflows gauge\n# TYPE mz_storage_ingestions gauge\n",
      "/candidate/metrics": "# TYPE mz_compute_dataflows gauge\n# TYPE mz_cluster_extra gauge\n",
    };
    const server = createServer((req, res) => {
      const body = metrics[req.url ?? ""];
      res.writeHead(body === undefined ? 404 : 200).end(body ?? "");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    try {
      const ctx = {
        replicaUrl: (side: string) => `http://127.0.0.1:${port}/${side}`,
        // The idle-storage case below is judged only after this (the run's default is 10 s).
        logSettleMs: 300,
      } as unknown as EvaluationContext;
      const [check] = PHASE_CHECKS.servers;
      expect(await check?.run(ctx)).toEqual([
        { check: "servers", subject: "replica metric families", diff: ["- mz_storage_ingestions"] },
      ]);
      metrics["/candidate/metrics"] += "# TYPE mz_storage_ingestions gauge\n";
      const counted: number[] = [];
      expect(await check?.run(ctx, (n) => counted.push(n))).toEqual([]);
      expect(counted).toEqual([2]); // the baseline's two families
      // logging: the candidate's unified log host must log, the baseline's stay idle.
      const [logging] = PHASE_CHECKS.logging;
      const host = (compute: number, storage: number, records: number) =>
        `mz_cluster_introspection_events_total{workload="compute"} ${compute}\nmz_cluster_introspection_events_total{workload="storage"} ${storage}\nmz_cluster_introspection_log_records ${records}\n`;
      metrics["/baseline/metrics"] = host(0, 0, 0);
      metrics["/candidate/metrics"] = host(120, 7, 40);
      expect(await logging?.run(ctx)).toEqual([]);
      metrics["/candidate/metrics"] = host(120, 0, 40);
      expect((await logging?.run(ctx))?.[0]?.diff).toEqual([
        expect.stringContaining('+ mz_cluster_introspection_events_total{workload="storage"} 0'),
      ]);
      metrics["/baseline/metrics"] = host(3, 0, 0);
      metrics["/candidate/metrics"] = host(120, 7, 40);
      expect((await logging?.run(ctx))?.[0]?.diff[0]).toMatch(/^- .*compute.* 3/);
    } finally {
      server.close();
    }
  });
});

describe("sides and flags", () => {
  it("names map between sides", () => {
    expect(sideName("candidate", "winning_idx")).toBe("winning_on_idx");
    expect(sideName("baseline", "ticker")).toBe("ticker_off");
    expect(neutralName("fixed_on_bids_idx")).toEqual({
      side: "candidate",
      neutral: "fixed_bids_idx",
    });
    expect(neutralName("auction_bids")).toBeUndefined();
  });

  it("each target's sides; a phase not built is skipped with the reason", () => {
    expect(sidesOf("servers", ["servers"])).toMatchObject({
      baseline: [],
      candidate: ["servers"],
    });
    expect(sidesOf("logging", ["servers"]).skipped[0]?.reason).toMatch(/not built/);
    expect(sidesOf("logging", ["servers", "logging"])).toMatchObject({
      baseline: ["servers"],
      candidate: ["servers", "logging"],
    });
    expect(sidesOf("all", ["servers"]).skipped.map((s) => s.phase)).toEqual(
      PHASES.filter((p) => p !== "servers"),
    );
  });

  it("the flags file turns the phase on for the candidate cluster only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "evaluate-flags-"));
    try {
      const file = join(dir, "flags.json");
      writeFileSync(
        file,
        evaluationFlags({
          candidateClusterId: "u3",
          baseline: ["servers"],
          candidate: ["servers", "logging"],
        }),
      );
      const flags = createPhaseFlags({
        environmentId: "evaluate",
        flagsFile: file,
        builtPhases: PHASES,
      });
      try {
        await flags.ready();
        expect((await flags.phases("u3")).phases).toEqual(["servers", "logging"]);
        expect((await flags.phases("u2")).phases).toEqual(["servers"]);
        expect((await flags.phases("u1")).phases).toEqual(["servers"]);
      } finally {
        await flags.close();
      }
      // --stage: the candidate's phase is served as the migration stage, the rest unchanged.
      writeFileSync(
        file,
        evaluationFlags({
          candidateClusterId: "u3",
          baseline: ["servers"],
          candidate: ["servers", "logging"],
          stage: "shadow",
        }),
      );
      const staged = createPhaseFlags({ environmentId: "evaluate", flagsFile: file });
      try {
        await staged.ready();
        const u3 = await staged.phases("u3");
        expect([u3.phases, u3.migrating, u3.stage("logging")]).toEqual([
          ["servers"],
          ["logging"],
          "shadow",
        ]);
        expect((await staged.phases("u2")).migrating).toEqual([]);
      } finally {
        await staged.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
