/**
 * environmentd end to end, with real processes on loopback: environmentd (started from its
 * `dist/main.js`) drives two clusterd replicas through its orchestrator; the test talks to the
 * API over gRPC (h2c) like `mzctl`, reads the orchestrator's `replicas.json`, scrapes `/metrics`
 * of environmentd and of each replica, and computes reference answers from the persist shards.
 *
 * ## The setup every scenario shares (`setUp`: `src/harness/auction-workload.ts`, shared with `pnpm chaos`)
 * Cluster `c` with replicas `r1`, `r2` (size 1; the machine has 2 cores) and:
 * - `auction`: a deterministic AUCTION load generator (seed 42, logical ticks of 1 s from START,
 *   TICKS ticks, then its shards close), so every answer at `T = END - 1` is a pure function of
 *   the seed; index `bids_idx` on `auction_bids`; materialized view `winning_bids` (auction id,
 *   max bid, bid count — the demo's view) with index `winning_bids_idx`;
 * - `ticker`: a real-time COUNTER (a tick every 100 ms) with index `ticker_idx`, so frontiers keep
 *   moving and "frontiers never go backward" is not checked on closed collections only.
 * Four dataflows: bids_idx, winning_bids, winning_bids_idx, ticker_idx.
 *
 * ## Scenarios
 * 1. Replica failure: `kill -9` of r1 under a peek workload; no peek fails, r1 is restarted, and
 *    (r2 stopped so only r1 can answer) answers as before; status frontiers never go backward.
 * 2. environmentd restart: `kill -9` of environmentd, restart on the same data directory; next
 *    generation, replicas adopted (same pids) and reconciled (every dataflow reused), answers equal
 *    the reference from the shards, frontiers not behind; a third boot fences the second.
 * 3. History bound: 400 peeks and 100 create/drop index cycles leave the controller's command
 *    history bounded by the live objects.
 * 4. Dead replica detection: SIGSTOP of r2; the compute controller and the status must notice.
 * 5. Hostile requests (issue 10): key rows that do not fit the index, a view and a peek nesting
 *    47 `not`s — each gets InvalidArgument, nothing reaches the catalog, the replicas stay up
 *    (same pids, no reconnect, always online) and good peeks keep answering; a finishing with
 *    orderBy + limit and no project returns every column.
 *
 * Cleanup (afterEach, also on failure): `stopAll()` kills environmentd(s), then every clusterd pid
 * ever recorded for the data directory is SIGCONT+SIGKILLed, and the directory is removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Expr } from "@mzts/expr";
import type { Frontier, Row } from "@mzts/repr";
import { afterAll, afterEach, expect, it } from "vitest";
import {
  COMPUTE_CONNECTED as CONNECTED,
  healthByName,
  isMonotone,
  peekWorkload,
  pidOf,
  replicaAnswersAtT,
  waitForConnected,
} from "../src/harness/auction-peeks.js";
import {
  type AuctionWorkload,
  CLUSTER,
  createAuctionWorkload,
  DATAFLOWS,
  T,
} from "../src/harness/auction-workload.js";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  frontierLessEqual,
  hasMetric,
  metricSum,
  ReplicaReaper,
  reconciledSince,
  reconciliationCounts,
  recordedPid,
  referenceAnswer,
  type Sample,
  scrape,
  sleep,
  startEnvironmentd,
  waitFor,
  watchStatus,
} from "../src/harness/environment.js";
import { liveCount, stopAll } from "../src/harness/processes.js";

const HISTORY = "mz_compute_controller_history_command_count";

interface Ctx {
  readonly dataDir: string;
  readonly reaper: ReplicaReaper;
  /** Pids this test SIGSTOPped (SIGCONT in cleanup, before the reaper kills them). */
  readonly stopped: Set<number>;
  /** Every environmentd started, to report one that died on its own. */
  readonly envs: EnvironmentdHandle[];
  /** environmentds the test killed on purpose. */
  readonly killed: Set<EnvironmentdHandle>;
}
let ctx: Ctx | undefined;

afterEach(async () => {
  if (ctx !== undefined) {
    for (const env of ctx.envs) {
      await Promise.race([env.process.exited, sleep(200)]);
      const { exitCode, signalCode } = env.process.child;
      if ((exitCode !== null || signalCode !== null) && !ctx.killed.has(env)) {
        console.error(
          `environmentd (generation ${env.generation}) exited on its own (code ${exitCode}, ` +
            `signal ${signalCode}); stderr:\n${env.process.stderr().slice(-4000)}`,
        );
      }
      env.api.close();
    }
  }
  await stopAll();
  if (ctx === undefined) return;
  for (const pid of ctx.stopped) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone
    }
  }
  ctx.reaper.reap();
  rmSync(ctx.dataDir, { recursive: true, force: true });
  ctx = undefined;
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

function newCtx(): Ctx {
  const dataDir = mkdtempSync(join(tmpdir(), "mzts-e2e-env-"));
  ctx = {
    dataDir,
    reaper: new ReplicaReaper(dataDir),
    stopped: new Set(),
    envs: [],
    killed: new Set(),
  };
  return ctx;
}

/** Starts environmentd on the test's data directory and remembers it. */
async function boot(c: Ctx): Promise<EnvironmentdHandle> {
  const env = await startEnvironmentd({ dataDir: c.dataDir });
  c.envs.push(env);
  return env;
}

interface Setup extends AuctionWorkload {
  readonly env: EnvironmentdHandle;
}

async function setUp(c: Ctx, replicas: number): Promise<Setup> {
  const env = await boot(c);
  const w = await createAuctionWorkload(env.api, replicas);
  await waitForConnected(env, w.clusterId, replicas);
  return { env, ...w };
}

/** Write frontier per collection name. */
async function writeFrontiers(api: EnvironmentApi): Promise<Map<string, Frontier>> {
  const s = await api.status(CLUSTER);
  return new Map(s.clusters[0]?.collections.map((c) => [c.name, c.writeFrontier]) ?? []);
}

// ---------------------------------------------------------------------------------------------

it("survives kill -9 of a replica under a peek workload", async () => {
  const c = newCtx();
  const s = await setUp(c, 2);
  const api = s.env.api;
  const r1 = s.replicaIds.get("r1") as string;
  const r2 = s.replicaIds.get("r2") as string;
  const before = c.reaper.observe();
  const oldPid = pidOf(before, r1);

  const watch = watchStatus(api, CLUSTER, 100);
  let outage = false;
  const workload = peekWorkload(api, s, () => outage);
  await workload.settled(60); // a baseline of peeks before the kill (~0.5 s on the CI machine)
  const killedAt = Date.now();
  outage = true;
  process.kill(oldPid, "SIGKILL");
  const newPid = await c.reaper.waitForRestart(r1, oldPid);
  await waitFor(
    "status to report r1 online again",
    async () => ((await healthByName(api)).get("r1") === "online" ? true : undefined),
    20_000,
  );
  outage = false;
  const restartMs = Date.now() - killedAt;
  await waitForConnected(s.env, s.clusterId, 2);
  await workload.settled(90); // keep peeking against the rehydrated replica
  const w = await workload.stop();
  const seen = await watch.stop();
  console.log(
    `replica failure: r1 restarted (pid ${oldPid} → ${newPid}) and online after ${restartMs} ms; ` +
      `${w.ok} peeks answered (${w.okDuringOutage} during the outage), ${seen.samples} status samples`,
  );

  expect(w.errors).toEqual([]);
  expect(w.mismatches).toEqual([]);
  expect(w.okDuringOutage).toBeGreaterThan(0);
  expect(isMonotone(w.freshTimes), `freshest read times ${w.freshTimes.join(",")}`).toBe(true);
  // Status saw the failure, never a frontier moving backward, and the ticker did move.
  expect(
    seen.health.some((h) => h.replica === "r1" && h.health !== "online" && h.atMs >= killedAt),
  ).toBe(true);
  expect(seen.errors).toEqual([]);
  expect(seen.regressions).toEqual([]);
  expect(seen.samples).toBeGreaterThan(10);
  const first = seen.firstWrite.get("ticker_idx");
  const max = seen.maxWrite.get("ticker_idx");
  expect(typeof first).toBe("bigint");
  expect(typeof max === "bigint" && max > (first as bigint)).toBe(true);

  // The restarted replica answers exactly as before: by itself (a targeted peek, which also
  // waits until it rehydrated), and alone while r2 hangs (SIGSTOP), where a peek to every replica
  // must not wait for the stopped one. A stop inside r2's consensus commit holds the write lock of
  // every shard: r1 must have hydrated before it (`replicaAnswersAtT`).
  const r1AtT = await replicaAnswersAtT(api, "r1");
  expect(r1AtT).toEqual({ bids: s.bidsAtT, winning: s.winningAtT });
  const r2Pid = pidOf(c.reaper.observe(), r2);
  c.stopped.add(r2Pid);
  process.kill(r2Pid, "SIGSTOP");
  try {
    const bids = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 4000 });
    const winning = await api.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs: 4000 });
    expect(bids.rows).toEqual(s.bidsAtT);
    expect(winning.rows).toEqual(s.winningAtT);
  } finally {
    process.kill(r2Pid, "SIGCONT");
    c.stopped.delete(r2Pid);
  }
}, 90_000);

it("restarts environmentd: next generation, adopted and reconciled replicas, fencing", async () => {
  const c = newCtx();
  const s = await setUp(c, 2);
  const records = c.reaper.observe();
  const pids = new Map(records.map((r) => [r.replicaId, r.pid]));
  expect(pids.size).toBe(2);
  const frontiersBefore = await writeFrontiers(s.env.api);
  const freshBefore = (await s.env.api.peek({ object: "ticker_counter", timeoutMs: 10_000 }))
    .timestamp;
  const before = await reconciliationCounts(records);

  c.killed.add(s.env);
  s.env.process.child.kill("SIGKILL");
  await s.env.process.exited;

  const env2 = await boot(c);
  expect(env2.generation).toBe(s.env.generation + 1n);
  // Watch from the first answer on: no collection may be reported behind where it was.
  const watch = watchStatus(env2.api, CLUSTER, 100);
  // Reads stay monotonic across the restart: the first freshest read is not before the last one.
  const freshAfter = (await env2.api.peek({ object: "ticker_counter", timeoutMs: 20_000 }))
    .timestamp;
  expect(
    freshAfter >= freshBefore,
    `freshest read ${freshAfter} after < ${freshBefore} before`,
  ).toBe(true);
  await waitFor(
    "both replicas online",
    async () => {
      const h = await healthByName(env2.api);
      return h.get("r1") === "online" && h.get("r2") === "online" ? true : undefined;
    },
    20_000,
  );
  await waitForConnected(env2, s.clusterId, 2);
  // Adopted: the same processes, now claimed by the new generation.
  const after = c.reaper.observe();
  for (const [id, pid] of pids) {
    expect(recordedPid(after, id), `replica ${id}`).toBe(pid);
    expect(after.find((r) => r.replicaId === id)?.generation).toBe(Number(env2.generation));
  }
  // Reconciled: every dataflow kept on every replica, none rebuilt.
  const expected = DATAFLOWS * pids.size;
  const { reused, replaced } = await reconciledSince(after, before, expected);
  // Answers at T: as before, and equal to the reference from the shards.
  const bids = await env2.api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 20_000 });
  const winning = await env2.api.peek({
    object: "winning_bids_idx",
    timestamp: T,
    timeoutMs: 20_000,
  });
  await sleep(1000);
  const seen = await watch.stop();
  const frontiersAfter = await writeFrontiers(env2.api);
  console.log(
    `environmentd restart: generation ${s.env.generation} → ${env2.generation}; reconciliation ` +
      `reused ${reused}, replaced ${replaced} (expected ${expected} reused); ` +
      `frontiers before ${fmt(frontiersBefore)}; first after ${fmt(seen.firstWrite)}`,
  );
  // The rebuild installs the dataflows before it adds the replicas, so the replay an adopted
  // replica reconciles against holds them all.
  expect({ reused, replaced }, "reconciliation after the restart").toEqual({
    reused: expected,
    replaced: 0,
  });
  expect(bids.rows).toEqual(s.bidsAtT);
  expect(winning.rows).toEqual(s.winningAtT);
  const refBids = await referenceAnswer(c.dataDir, s.bidsPlan, T);
  const refWinning = await referenceAnswer(c.dataDir, s.winningPlan, T);
  expect(refBids.length).toBeGreaterThan(0);
  expect(bids.rows).toEqual(refBids);
  expect(winning.rows).toEqual(refWinning);
  // The view's own shard holds the same answer.
  expect(await referenceAnswer(c.dataDir, { kind: "get", id: s.winningId, arity: 3 }, T)).toEqual(
    refWinning,
  );
  // Frontiers: never behind the last ones seen before the crash, from the first status on.
  expect(seen.errors).toEqual([]);
  expect(seen.regressions).toEqual([]);
  for (const [name, f] of frontiersBefore) {
    const first = seen.firstWrite.get(name);
    expect(first, `${name} reported after the restart`).not.toBeUndefined();
    expect(
      frontierLessEqual(f, first as Frontier),
      `${name}: first write frontier after the restart ${String(first)} < ${String(f)} before`,
    ).toBe(true);
    expect(
      frontierLessEqual(f, frontiersAfter.get(name) as Frontier),
      `${name}: write frontier ${String(frontiersAfter.get(name))} once settled < ${String(f)} before`,
    ).toBe(true);
  }

  // Fencing: a third boot on the same data directory fences the second one: its writes are
  // refused (Aborted, naming the generations) until it notices and exits with code 3.
  const env3 = await boot(c);
  expect(env3.generation).toBe(env2.generation + 1n);
  c.killed.add(env2); // it exits on its own, on purpose
  const fenced = await env2.api.createCluster("fence_probe").then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(fenced).toBeInstanceOf(ConnectError);
  const code = (fenced as ConnectError).code;
  // Aborted while it has not noticed yet; Unavailable once it has closed its API — also for a
  // request racing that close: the server refuses it unprocessed (HTTP/2 REFUSED_STREAM), which
  // connect-node reported as Internal; the harness client maps it (`refusedStreamIsUnavailable`).
  expect(
    [Code.Aborted, Code.Unavailable],
    `${Code[code]}: ${(fenced as ConnectError).rawMessage}; environmentd's stderr:\n${env2.process.stderr().slice(-3000)}`,
  ).toContain(code);
  if (code === Code.Aborted) expect((fenced as ConnectError).rawMessage).toMatch(/generation/i);
  const exit = await Promise.race([env2.process.exited, sleep(10_000).then(() => undefined)]);
  expect(exit?.code, "the fenced environmentd exits with code 3").toBe(3);
  expect(env2.process.lines.some((l) => l.includes("fenced by a newer environmentd"))).toBe(true);
  await expect(env3.api.createCluster("fence_probe")).resolves.toMatch(/^u\d+$/);
  // The replicas stayed up: the newer environmentd keeps them.
  for (const [id, pid] of pids) expect(recordedPid(c.reaper.observe(), id), id).toBe(pid);
  c.reaper.observe();
}, 120_000);

function fmt(m: ReadonlyMap<string, Frontier>): string {
  return [...m].map(([k, v]) => `${k}=${v === null ? "[]" : v}`).join(" ");
}

it("keeps the command history bounded by the live objects", async () => {
  const c = newCtx();
  const s = await setUp(c, 1);
  const api = s.env.api;
  const history = (m: readonly Sample[], type?: string) =>
    metricSum(m, HISTORY, {
      instance_id: s.clusterId,
      ...(type === undefined ? {} : { command_type: type }),
    });
  const peeksBefore = metricSum(await scrape(s.env.httpUrl), "mz_compute_peeks_total", {
    instance_id: s.clusterId,
    result: "rows",
  });
  for (let i = 0; i < 400; i++) {
    const object = i % 2 === 0 ? "winning_bids_idx" : "ticker_counter";
    await api.peek({ object, timeoutMs: 10_000 });
  }
  const afterPeeks = await scrape(s.env.httpUrl);
  expect(hasMetric(afterPeeks, HISTORY)).toBe(true);
  expect(
    metricSum(afterPeeks, "mz_compute_peeks_total", { instance_id: s.clusterId, result: "rows" }) -
      peeksBefore,
  ).toBeGreaterThanOrEqual(400);
  const afterPeeksCount = history(afterPeeks);
  expect(afterPeeksCount).toBeGreaterThan(0);
  expect(afterPeeksCount).toBeLessThan(100);

  const createdBefore = metricSum(afterPeeks, "mz_compute_commands_total", {
    instance_id: s.clusterId,
    command_type: "createDataflow",
  });
  const CYCLES = 100;
  const samples: number[] = [];
  for (let i = 1; i <= CYCLES; i++) {
    await api.createIndex({ name: "tmp_idx", cluster: CLUSTER, on: "auction_bids", key: [0] });
    if (i % 25 === 0) {
      // The temporary index is real: it answers.
      const r = await api.peek({ object: "tmp_idx", timestamp: T, timeoutMs: 20_000 });
      expect(r.rows.length).toBe(s.bidsAtT.length);
    }
    await api.dropObject("tmp_idx");
    if (i % 10 === 0) samples.push(history(await scrape(s.env.httpUrl)));
  }
  const end = await scrape(s.env.httpUrl);
  const created =
    metricSum(end, "mz_compute_commands_total", {
      instance_id: s.clusterId,
      command_type: "createDataflow",
    }) - createdBefore;
  console.log(
    `history: ${afterPeeksCount} commands after 400 peeks; every 10 of ${CYCLES} create/drop ` +
      `cycles: ${samples.join(", ")}; ${created} createDataflow commands sent`,
  );
  expect(created).toBeGreaterThanOrEqual(CYCLES);
  expect(Math.max(...samples)).toBeLessThan(100);
  // Not growing with the cycle count: a leak of even one command per cycle would add ≥ 50 here.
  const half = samples.length / 2;
  expect(Math.max(...samples.slice(half))).toBeLessThanOrEqual(
    Math.max(...samples.slice(0, half)) + 10,
  );
  // The live objects' dataflows (under 10), plus environmentd's persisted introspection
  // subscribes (one per relation — hydration_times, compute_frontiers, error_counts — on the one
  // replica). The history reduces when it has doubled since its last reduction, so between two
  // reductions it may hold up to as many again (a drop not yet reduced away): 13 was measured
  // with 11 live. A leak is what the samples above catch (≥ 50 over the cycles).
  expect(
    metricSum(end, "mz_compute_controller_history_dataflow_count", { instance_id: s.clusterId }),
  ).toBeLessThan(2 * (10 + 3));
}, 120_000);

it("notices a stopped replica (SIGSTOP) within 10 s: controller and status", async () => {
  const c = newCtx();
  const s = await setUp(c, 2);
  const api = s.env.api;
  const r2 = s.replicaIds.get("r2") as string;
  const pid = pidOf(c.reaper.observe(), r2);
  const alive = () =>
    s.env.process.child.exitCode === null && s.env.process.child.signalCode === null;
  // r1 must answer alone while r2 is stopped: it has hydrated first (the workload's answers may
  // have come from r2; a stop inside r2's consensus commit would hold r1's hydration).
  await replicaAnswersAtT(api, "r1");
  c.stopped.add(pid);
  const stoppedAt = Date.now();
  process.kill(pid, "SIGSTOP");
  let controllerMs: number | undefined;
  let statusMs: number | undefined;
  let peeksWhileStopped = 0;
  const DEADLINE_MS = 12_000;
  while (
    alive() &&
    Date.now() - stoppedAt < DEADLINE_MS &&
    (controllerMs === undefined || statusMs === undefined || peeksWhileStopped < 3)
  ) {
    try {
      const connected = metricSum(await scrape(s.env.httpUrl), CONNECTED, {
        instance_id: s.clusterId,
      });
      if (controllerMs === undefined && connected < 2) controllerMs = Date.now() - stoppedAt;
      const health = (await healthByName(api)).get("r2");
      if (statusMs === undefined && health !== "online") statusMs = Date.now() - stoppedAt;
      if (peeksWhileStopped < 3) {
        // r1 alone answers meanwhile.
        const r = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 10_000 });
        expect(r.rows).toEqual(s.bidsAtT);
        peeksWhileStopped++;
      }
    } catch (e) {
      // A connection reset can come before the exit event: give it a moment to tell.
      await Promise.race([s.env.process.exited, sleep(1000)]);
      if (alive()) throw e;
    }
    await sleep(100);
  }
  const diedAfterMs = alive() ? undefined : Date.now() - stoppedAt;
  process.kill(pid, "SIGCONT");
  c.stopped.delete(pid);
  console.log(
    `dead replica detection: compute controller after ${controllerMs === undefined ? "never" : `${controllerMs} ms`} ` +
      `(${CONNECTED} < 2); status after ${statusMs === undefined ? "never (still online)" : `${statusMs} ms`}; ` +
      (diedAfterMs === undefined
        ? "environmentd stayed up"
        : `environmentd DIED ${diedAfterMs} ms after the SIGSTOP`),
  );
  // environmentd must survive the hang (the storage task once crashed it on connect-node's own
  // PING timeout) and Status must report it (the compute task's probe feeds replica health).
  expect(
    diedAfterMs,
    `environmentd exited while a replica was stopped; stderr:\n${s.env.process.stderr().slice(-1500)}`,
  ).toBeUndefined();
  expect(peeksWhileStopped).toBe(3);
  expect(controllerMs, "the compute controller never noticed").toBeLessThanOrEqual(10_000);
  expect(statusMs, "Status never reported the stopped replica as not online").toBeLessThanOrEqual(
    10_000,
  );
  // The resumed replica is reconnected.
  await waitForConnected(s.env, s.clusterId, 2, 20_000);
}, 90_000);

it("refuses hostile requests with InvalidArgument; the replicas stay up and keep answering", async () => {
  const c = newCtx();
  const s = await setUp(c, 2);
  const api = s.env.api;
  const pids = new Map([...s.replicaIds.values()].map((id) => [id, pidOf(c.reaper.observe(), id)]));
  const connects = async () =>
    metricSum(await scrape(s.env.httpUrl), "mz_compute_controller_replica_connects_total", {
      instance_id: s.clusterId,
    });
  const connectsBefore = await connects();
  const watch = watchStatus(api, CLUSTER, 100);
  const refusal = async (what: string, p: Promise<unknown>): Promise<string> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, `${what}: expected a refusal`).toBeInstanceOf(ConnectError);
    expect(Code[(e as ConnectError).code], what).toBe("InvalidArgument");
    return (e as ConnectError).rawMessage;
  };
  const nots = (n: number) => {
    let e: Expr = { kind: "column", index: 0 };
    for (let i = 0; i < n; i++) e = { kind: "unary", op: "not", arg: e };
    return e;
  };
  const good = async () => {
    const r = await api.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs: 10_000 });
    expect(r.rows).toEqual(s.winningAtT);
  };

  // Each bad input, and what it gets (used to: crash every replica / truncate / match nothing).
  const peekKeys = (rows: Row[]) =>
    api.peek({
      object: "winning_bids_idx",
      timestamp: T,
      literalConstraints: rows,
      timeoutMs: 10_000,
    });
  expect(await refusal("empty key row", peekKeys([[]]))).toMatch(
    /^invalid request at literalConstraints.rows\[0\]: has 0 datums; the key of winning_bids_idx has 1/,
  );
  await good();
  expect(await refusal("wide key row", peekKeys([[1n, 2n]]))).toMatch(
    /has 2 datums; the key of winning_bids_idx has 1/,
  );
  expect(await refusal("text key datum", peekKeys([["1"]]))).toMatch(
    /rows\[0\].datums\[0\]: is text; key column 0 of winning_bids_idx is int64/,
  );
  const before = (await api.status(CLUSTER)).clusters[0]?.collections.length;
  expect(
    await refusal(
      "view nesting 47 nots",
      api.createMaterializedView({
        name: "deep",
        cluster: CLUSTER,
        plan: { kind: "filter", input: s.bidsPlan, predicates: [nots(47)] },
      }),
    ),
  ).toMatch(/exceeds MAX_NESTING_DEPTH = 40/);
  expect(
    await refusal(
      "peek filter nesting 47 nots",
      api.peek({
        object: "winning_bids_idx",
        timestamp: T,
        mapFilterProject: { exprs: [], predicates: [nots(47)], projection: [0, 1, 2] },
        timeoutMs: 10_000,
      }),
    ),
  ).toMatch(/MAX_NESTING_DEPTH = 40/);
  const after = (await api.status(CLUSTER)).clusters[0]!;
  expect(after.collections.length).toBe(before);
  expect(after.collections.map((x) => x.name)).not.toContain("deep");

  // Good peeks keep answering: all rows, one key, and a finishing without a projection.
  await good();
  const [row] = s.winningAtT[0]!;
  const one = await peekKeys([[row[0]!]]);
  expect(one.rows).toEqual([s.winningAtT[0]]);
  const top = await api.peek({
    object: "winning_bids_idx",
    timestamp: T,
    finishing: {
      orderBy: [{ column: 1, desc: true, nullsLast: true }],
      offset: 0,
      limit: 3,
      project: [],
    },
    timeoutMs: 10_000,
  });
  expect(top.rows.length).toBeGreaterThan(0);
  for (const [r] of top.rows) expect(r).toHaveLength(3);

  // The replicas never went down: same pids, no reconnect, online in every status sample.
  const seen = await watch.stop();
  for (const [id, pid] of pids) expect(pidOf(c.reaper.observe(), id), id).toBe(pid);
  expect(await connects()).toBe(connectsBefore);
  expect(seen.health.filter((h) => h.health !== "online")).toEqual([]);
  expect(seen.errors).toEqual([]);
}, 90_000);
