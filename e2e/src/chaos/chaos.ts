/**
 * `runChaos`: seeded kill -9 of replicas and environmentd under load, with the invariants of
 * issue 10 as its verdict. The program behind `pnpm chaos` (`main.ts`) and the e2e slice.
 *
 * 1. Boot environmentd on a fresh temporary data directory (loopback, port 0) and create the
 *    deterministic auction workload (`harness/auction-workload.ts`): its answers at T are the
 *    baseline; the catalog's objects (name → id, kind) are the catalog baseline.
 * 2. Start the load (`load.ts`: peeks at T and at the freshest time, status, a subscribe).
 * 3. Until the time is up (or, with `kills`, until that many kills and the seeded gap after the
 *    last one are done), after a seeded gap, one seeded kill:
 *    - `replica`: kill -9 of one replica (the orchestrator restarts it);
 *    - `both`: kill -9 of both replicas;
 *    - `environmentd`: kill -9 of environmentd, restarted at once on the same data directory
 *      (the next generation adopts the running replicas);
 *    - `environmentd-ddl`: the same while a CREATE INDEX or MATERIALIZED VIEW is in flight (a
 *      seeded delay of 0–40 ms after sending it). After the restart the object exists or not —
 *      if it does it must answer at T like its input (an index by a peek, a view by its shard)
 *      — and is dropped again.
 *    After each environmentd restart the catalog must still hold every baseline object.
 * 4. Stop the load; recovery: within `recoveryS` both replicas online and the answers at T equal
 *    the baseline and the reference computed straight from the persist shards; the catalog equals
 *    the baseline.
 * 5. Stop everything (environmentd, every replica pid ever recorded), then no process may still
 *    name the data directory; remove it.
 *
 * Verdict (`ChaosSummary.problems` empty): no wrong answer, no frontier, since or read time
 * moving backward, no failed request in steady state, catalog intact, recovery, persist blob
 * count ≤ `maxBlobs`, no orphan process.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diskUsage } from "@mzts/environmentd";
import {
  type AuctionWorkload,
  CLUSTER,
  createAuctionWorkload,
  T,
} from "../harness/auction-workload.js";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  isOurClusterd,
  ReplicaReaper,
  referenceAnswer,
  sleep,
  startEnvironmentd,
  waitFor,
} from "../harness/environment.js";
import { stopAll } from "../harness/processes.js";
import { Rng } from "../harness/rng.js";
import type { KillKind } from "./kinds.js";
import { causeOf, emptyLoadReport, type LoadReport, sameRows, startLoad } from "./load.js";

export { KILL_KINDS, type KillKind } from "./kinds.js";

export interface ChaosOptions {
  readonly seed: number;
  /**
   * How long to kill for (the setup and the recovery come on top). With `kills`, an upper bound
   * only: the run stops there even if fewer kills were made (the summary counts them).
   */
  readonly seconds: number;
  /**
   * Stop after this many kills and the seeded gap after the last one instead of when `seconds`
   * are up. The kinds drawn are a function of the seed alone, so a seed and a kill count name
   * the same schedule on a fast or a slow machine (the suite's slice: every kind in few kills).
   */
  readonly kills?: number;
  /** Seconds between kills: uniform in [min, max) (default 5–15: steady windows between). */
  readonly gapS?: readonly [number, number];
  /**
   * Failures within this many seconds of a disruption (a kill, environmentd down, no replica
   * running while the orchestrator backs off its restarts) are expected
   * (default 10); after that the system must answer everything again.
   */
  readonly recoveryS?: number;
  /** The largest persist blob count allowed at any sample (default 400). */
  readonly maxBlobs?: number;
  /** Which kinds to draw from (default all, weighted replica 35, both 20, environmentd 25, DDL 20). */
  readonly kinds?: readonly KillKind[];
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  /** Seconds from the load's start to the end of the kills (the setup and recovery not counted). */
  readonly seconds: number;
  readonly kills: Readonly<Record<KillKind, number>>;
  readonly load: LoadReport;
  readonly environmentdGenerations: number;
  /**
   * DDL in flight at an environmentd kill: committed (found after the restart) or not, and how
   * many of them created an index or a materialized view.
   */
  readonly ddl: { committed: number; lost: number; index: number; view: number };
  readonly blobs: { start: number; end: number; max: number };
  readonly dataMb: { start: number; end: number; max: number };
  readonly orphans: readonly string[];
  readonly problems: readonly string[];
}

/** Processes whose command line names `dir` (left-over environmentd or clusterd). */
export function processesNaming(dir: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.startsWith(dir))) out.push(`${p} ${argv.slice(0, 3).join(" ")}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** Catalog objects as `name → kind id` (the intact-catalog comparison). */
async function catalogObjects(api: EnvironmentApi): Promise<Map<string, string>> {
  const { objects } = await api.listObjects();
  return new Map(objects.map((o) => [o.name, `${o.kind} ${o.id}`]));
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rng = new Rng(opts.seed);
  const [gapMin, gapMax] = opts.gapS ?? [5, 15];
  const recoveryMs = (opts.recoveryS ?? 10) * 1000;
  const maxBlobs = opts.maxBlobs ?? 400;
  const dataDir = mkdtempSync(join(tmpdir(), "mzts-chaos-"));
  const reaper = new ReplicaReaper(dataDir);
  // Synchronous, so it also runs on process.exit (SIGINT in processes.ts, a thrown error).
  const reapOnExit = () => {
    reaper.reap();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("exit", reapOnExit);
  const problems: string[] = [];
  const kills: Record<KillKind, number> = {
    replica: 0,
    both: 0,
    environmentd: 0,
    "environmentd-ddl": 0,
  };
  const ddl = { committed: 0, lost: 0, index: 0, view: 0 };
  const disk = () => ({
    blobs: diskUsage(join(dataDir, "persist", "blob")).files,
    mb: diskUsage(dataDir).bytes / 2 ** 20,
  });
  let env: EnvironmentdHandle | undefined;
  let generations = 0;
  let lastDisruption = 0;
  let lastKill: { kind: KillKind; at: number } | undefined;
  const boot = async () => {
    env = await startEnvironmentd({ dataDir, controllerAbsentTimeoutS: 30 });
    generations++;
    return env;
  };
  const load = { stop: async () => {}, report: undefined as LoadReport | undefined };
  const blobs = { start: 0, end: 0, max: 0 };
  const dataMb = { start: 0, end: 0, max: 0 };
  let orphans: string[] = [];
  let killSeconds = 0;
  let progressTimer: NodeJS.Timeout | undefined;
  let downTimer: NodeJS.Timeout | undefined;
  try {
    const first = await boot();
    const what =
      opts.kills === undefined
        ? `${opts.seconds} s of kills`
        : `${opts.kills} kills (at most ${opts.seconds} s)`;
    log(`chaos: seed ${opts.seed}, ${what}; data directory ${dataDir}`);
    const w: AuctionWorkload = await createAuctionWorkload(first.api, 2);
    const catalog = await catalogObjects(first.api);
    const d0 = disk();
    blobs.start = blobs.max = d0.blobs;
    dataMb.start = dataMb.max = d0.mb;
    log(
      `chaos: workload hydrated (${w.bidsAtT.length} bids, ${w.winningAtT.length} auctions at T); ${d0.blobs} blobs`,
    );

    const l = startLoad(
      {
        api: () => env?.api,
        disrupted: () => env === undefined || Date.now() - lastDisruption < recoveryMs,
        lastKill: () =>
          lastKill === undefined
            ? "none"
            : `${lastKill.kind}, ${((Date.now() - lastKill.at) / 1000).toFixed(0)} s ago`,
      },
      w,
    );
    load.stop = l.stop;
    load.report = l.report;
    const r = l.report;

    const checkCatalog = async (api: EnvironmentApi, when: string) => {
      const now = await catalogObjects(api);
      for (const [name, what] of catalog) {
        if (now.get(name) !== what)
          problems.push(`catalog ${when}: ${name} is ${now.get(name) ?? "missing"}, was ${what}`);
      }
      return now;
    };
    const killEnvironmentd = async (during?: () => Promise<unknown>) => {
      const old = env as EnvironmentdHandle;
      env = undefined;
      lastDisruption = Date.now();
      const inFlight = during?.().catch(() => undefined);
      if (during !== undefined) await sleep(rng.between(0, 40));
      old.process.child.kill("SIGKILL");
      await old.process.exited;
      old.api.close();
      await inFlight;
      await boot();
      lastDisruption = Date.now();
    };
    const killReplicas = (n: number) => {
      const records = reaper.observe().filter((x) => x.clusterId === w.clusterId);
      const victims = n === 1 ? [records[Math.floor(rng.next() * records.length)]] : records;
      for (const v of victims) {
        if (v === undefined || !isOurClusterd(v.pid, dataDir)) continue;
        try {
          process.kill(v.pid, "SIGKILL");
        } catch {
          // already gone (being restarted)
        }
      }
      lastDisruption = Date.now();
    };

    const started = Date.now();
    const endAt = started + opts.seconds * 1000;
    let nextKill = started + rng.between(gapMin, gapMax) * 1000;
    const killed = () => Object.values(kills).reduce((a, b) => a + b, 0);
    let tmp = 0;
    const shown = { violations: 0, steady: 0 };
    const weights = (
      [
        ["replica", 35],
        ["both", 20],
        ["environmentd", 25],
        ["environmentd-ddl", 20],
      ] as const
    ).filter(([k]) => opts.kinds === undefined || opts.kinds.includes(k));
    if (weights.length === 0) throw new Error("no kill kinds to draw from");
    // While no replica runs at all (both killed, the orchestrator waiting out its crash-loop
    // backoff: 0.5 s doubling, reset after 60 s up), nothing can answer: the disruption lasts.
    downTimer = setInterval(() => {
      if (reaper.running(w.clusterId) === 0) lastDisruption = Date.now();
    }, 250);
    // Progress every 5 s, also while a kill or a restart is being awaited.
    progressTimer = setInterval(() => {
      const d = disk();
      blobs.max = Math.max(blobs.max, d.blobs);
      dataMb.max = Math.max(dataMb.max, d.mb);
      const failed = [...r.peeksFailed.values()].reduce((a, b) => a + b, 0);
      log(
        `chaos: t=${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  kills ${Object.entries(
          kills,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")} | peeks ok ${r.peeksOk} failed ${failed} | status ${r.statusOk} | ` +
          `subscribe batches ${r.subscribeBatches} | ${d.blobs} blobs, ${d.mb.toFixed(1)} MB | ` +
          `max lag ${r.maxLagMs} ms | violations ${r.violations.length + r.steadyFailures.length}`,
      );
      // Name what broke as soon as it is seen.
      for (const v of r.violations.slice(shown.violations)) log(`chaos: VIOLATION ${v}`);
      for (const f of r.steadyFailures.slice(shown.steady))
        log(`chaos: FAILED IN STEADY STATE ${f}`);
      shown.violations = r.violations.length;
      shown.steady = r.steadyFailures.length;
    }, 5000);
    while (Date.now() < endAt) {
      await sleep(100);
      reaper.observe();
      if (Date.now() < nextKill) continue;
      if (opts.kills !== undefined && killed() >= opts.kills) break;
      const kind = rng.weighted<KillKind>(weights);
      kills[kind]++;
      lastKill = { kind, at: Date.now() };
      log(`chaos: kill ${kind}`);
      if (kind === "replica") killReplicas(1);
      else if (kind === "both") killReplicas(2);
      else if (kind === "environmentd") {
        await killEnvironmentd();
        await checkCatalog((env as EnvironmentdHandle).api, "after an environmentd restart");
      } else {
        const name = `chaos_tmp_${++tmp}`;
        const api = (env as EnvironmentdHandle).api;
        const index = rng.next() < 0.5;
        if (index) ddl.index++;
        else ddl.view++;
        const create = index
          ? () => api.createIndex({ name, cluster: CLUSTER, on: "auction_bids", key: [0] })
          : () => api.createMaterializedView({ name, cluster: CLUSTER, plan: w.bidsPlan });
        await killEnvironmentd(create);
        const after = await checkCatalog(
          (env as EnvironmentdHandle).api,
          "after an environmentd restart during DDL",
        );
        const created = after.get(name);
        if (created !== undefined) {
          ddl.committed++;
          // Committed before the kill: the next generation builds it and it answers at T like
          // its input (an index through a peek, a materialized view through its shard).
          const api2 = (env as EnvironmentdHandle).api;
          try {
            const [kind, id] = created.split(" ") as [string, string];
            const got =
              kind === "index"
                ? (await api2.peek({ object: name, timestamp: T, timeoutMs: 20_000 })).rows
                : await referenceAnswer(dataDir, { kind: "get", id, arity: 5 }, T);
            if (!sameRows(got, w.bidsAtT))
              problems.push(`${name} (created during a kill) answers ${got.length} rows at T`);
          } catch (e) {
            problems.push(`${name} (created during a kill): ${causeOf(e)}`);
          }
          await api2.dropObject(name, true);
        } else ddl.lost++;
      }
      nextKill = Date.now() + rng.between(gapMin, gapMax) * 1000;
    }
    killSeconds = (Date.now() - started) / 1000;
    await l.stop();

    // Recovery: everything answers as before, the shards hold the same answers.
    const api = (env as EnvironmentdHandle).api;
    try {
      await waitFor(
        "both replicas online",
        async () => {
          const s = await api.status(CLUSTER);
          const online = s.clusters[0]?.replicas.filter((x) => x.health === "online").length;
          return online === 2 ? true : undefined;
        },
        Math.max(recoveryMs, 30_000),
        250,
      );
      const bids = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 20_000 });
      const winning = await api.peek({
        object: "winning_bids_idx",
        timestamp: T,
        timeoutMs: 20_000,
      });
      if (!sameRows(bids.rows, w.bidsAtT)) problems.push("bids_idx at T after recovery differs");
      if (!sameRows(winning.rows, w.winningAtT))
        problems.push("winning_bids_idx at T after recovery differs");
      if (!sameRows(await referenceAnswer(dataDir, w.bidsPlan, T), w.bidsAtT))
        problems.push("the auction_bids shard at T differs from the answers");
      if (!sameRows(await referenceAnswer(dataDir, w.winningPlan, T), w.winningAtT))
        problems.push("the reference winning bids from the shards differ from the answers");
    } catch (e) {
      problems.push(`no recovery at the end: ${(e as Error).message}`);
    }
    const final = await checkCatalog(api, "at the end");
    for (const name of final.keys())
      if (!catalog.has(name)) problems.push(`catalog at the end: unexpected object ${name}`);
    const d1 = disk();
    blobs.end = d1.blobs;
    dataMb.end = d1.mb;
    blobs.max = Math.max(blobs.max, d1.blobs);
    dataMb.max = Math.max(dataMb.max, d1.mb);
    if (blobs.max > maxBlobs) problems.push(`${blobs.max} persist blobs (bound ${maxBlobs})`);
    for (const v of r.violations.slice(0, 20)) problems.push(v);
    if (r.violations.length > 20) problems.push(`… ${r.violations.length - 20} more violations`);
    for (const f of r.steadyFailures.slice(0, 20)) problems.push(`failed in steady state: ${f}`);
    if (r.steadyFailures.length > 20)
      problems.push(`… ${r.steadyFailures.length - 20} more steady-state failures`);
    if (r.peeksOk === 0) problems.push("no peek answered");
  } catch (e) {
    problems.push(`chaos run aborted: ${(e as Error).stack ?? String(e)}`);
  } finally {
    clearInterval(progressTimer);
    clearInterval(downTimer);
    await load.stop();
    env?.api.close();
    await stopAll();
    reaper.reap();
    try {
      await waitFor(
        "no process naming the data directory",
        () => (processesNaming(dataDir).length === 0 ? true : undefined),
        5000,
      );
    } catch {
      orphans = processesNaming(dataDir);
      for (const o of orphans) problems.push(`orphan process: ${o}`);
    }
    process.removeListener("exit", reapOnExit);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    seed: opts.seed,
    seconds: killSeconds,
    kills,
    load: load.report ?? emptyLoadReport(),
    environmentdGenerations: generations,
    ddl,
    blobs,
    dataMb,
    orphans,
    problems,
  };
}

/** The end-of-run summary as text lines. */
export function formatChaosSummary(s: ChaosSummary): string[] {
  const byCause = (m: ReadonlyMap<string, number>) =>
    m.size === 0
      ? ["    (none)"]
      : [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${String(v).padStart(5)}  ${k}`);
  const failed = [...s.load.peeksFailed.values()].reduce((a, b) => a + b, 0);
  return [
    `chaos summary (seed ${s.seed}, ${s.seconds.toFixed(0)} s of kills)`,
    `  kills: ${Object.entries(s.kills)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}; environmentd generations ${s.environmentdGenerations}`,
    `  DDL in flight at a kill (${s.ddl.index} index, ${s.ddl.view} materialized view): ${s.ddl.committed} committed, ${s.ddl.lost} not`,
    `  peeks: ${s.load.peeksOk} ok, ${failed} failed; by cause:`,
    ...byCause(s.load.peeksFailed),
    `  status: ${s.load.statusOk} ok; failed by cause:`,
    ...byCause(s.load.statusFailed),
    `  subscribe: ${s.load.subscribeBatches} batches, ${s.load.subscribeUpdates} updates; streams ended by cause:`,
    ...byCause(s.load.subscribeEnded),
    `  blobs: start ${s.blobs.start}, end ${s.blobs.end}, max ${s.blobs.max}; data MB: start ${s.dataMb.start.toFixed(1)}, end ${s.dataMb.end.toFixed(1)}, max ${s.dataMb.max.toFixed(1)}`,
    `  max frontier lag: ${s.load.maxLagMs} ms`,
    `  orphans: ${s.orphans.length}`,
    s.problems.length === 0
      ? "chaos: ok"
      : `chaos: FAILED (${s.problems.length}):\n${s.problems.map((p) => `  - ${p}`).join("\n")}`,
  ];
}
